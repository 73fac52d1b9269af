import { describe, expect, it } from "vitest";
import { decodeAs } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { IPV6_FIELD, Ipv6FragmentView, Ipv6View, type Ipv6 } from "../../layers/ipv6.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const a5 = (n: number): Uint8Array => new Uint8Array(n).fill(0xa5);
const rest = (n: number): string => "a5".repeat(n);

const SRC = "fd770000000000000000000000000001"; // fd77::1
const DST = "fd770000000000000000000000000002"; // fd77::2
// 6 | traffic class 0x12 | flow label 0x34567 → 61 23 45 67; payload length 8; next header 17; hop limit 255
const FIXED = "61234567 0008 11ff" + SRC + DST;
// 4 bytes before it, 8 bytes of payload, 2 of link padding
const FRAME = hex("eeeeeeee" + FIXED + "0102030405060708" + "0000");
const AT = 4;

describe("Ipv6View getters", () => {
  const v = new Ipv6View(FRAME, AT);

  it("reads every field at its offset", () => {
    expect(v.version).toBe(6);
    expect(v.trafficClass).toBe(0x12); // low nibble of 0x61, high nibble of 0x23
    expect(v.flowLabel).toBe(0x34567); // low nibble of 0x23, then 45 67
    expect(v.payloadLength).toBe(8);
    expect(v.nextHeader).toBe(17);
    expect(v.hopLimit).toBe(255);
  });

  it("addresses as views of the frame, and their offsets", () => {
    expect(v.srcOffset).toBe(AT + 8);
    expect(v.dstOffset).toBe(AT + 24);
    expect(v.src).toEqual(hex(SRC));
    expect(v.dst).toEqual(hex(DST));
    expect(v.dst.buffer).toBe(FRAME.buffer);
  });

  it("payload: the payload length after the 40 bytes, link padding dropped", () => {
    expect(v.payloadStart).toBe(AT + 40);
    expect(v.payloadEnd).toBe(AT + 48);
    expect(v.payload).toEqual(hex("0102030405060708"));
  });

  it("the field table is the one the getters read", () => {
    const b = a5(40);
    b[IPV6_FIELD.HOP_LIMIT] = 3;
    b[IPV6_FIELD.NEXT_HEADER] = 58;
    b[IPV6_FIELD.PAYLOAD_LENGTH + 1] = 9;
    const w = new Ipv6View(b);
    expect([w.hopLimit, w.nextHeader, w.payloadLength]).toEqual([3, 58, 0xa509]);
  });
});

describe("Ipv6View setters write their bits and nothing else", () => {
  const write = (set: (v: Ipv6View) => void, at = 0): Uint8Array => {
    const b = a5(at + 40);
    set(new Ipv6View(b, at));
    return b;
  };

  it("version, traffic class and flow label share the first word", () => {
    expect(write((v) => (v.version = 6))).toEqual(hex("65" + rest(39)));
    // traffic class 0x12: 1 into the low nibble of byte 0, 2 into the high nibble of byte 1
    expect(write((v) => (v.trafficClass = 0x12))).toEqual(hex("a1 25" + rest(38)));
    // flow label 0x34567: 3 into the low nibble of byte 1, then 45 67
    expect(write((v) => (v.flowLabel = 0x34567))).toEqual(hex("a5 a3 4567" + rest(36)));
    expect(write((v) => (v.flowLabel = 0xf34567))).toEqual(hex("a5 a3 4567" + rest(36))); // 20 bits kept
  });

  it("payload length, next header, hop limit", () => {
    expect(write((v) => (v.payloadLength = 0x0102))).toEqual(hex(rest(4) + "0102" + rest(34)));
    expect(write((v) => (v.nextHeader = 17))).toEqual(hex(rest(6) + "11" + rest(33)));
    expect(write((v) => (v.hopLimit = 1))).toEqual(hex(rest(7) + "01" + rest(32)));
  });

  it("addresses are copied in, 16 bytes exactly", () => {
    expect(write((v) => ((v.src = hex(SRC)), (v.dst = hex(DST))), 1)).toEqual(hex(rest(9) + SRC + DST));
    expect(() => write((v) => (v.src = hex("0a000001")))).toThrow(RangeError);
  });
});

describe("Ipv6View.check", () => {
  it("short, wrong version, cut payload", () => {
    expect(new Ipv6View(FRAME, AT, AT + 39).check()).toBe("header needs 40 bytes, got 39");
    expect(new Ipv6View(hex("40000000 0000 3b40" + SRC + DST)).check()).toBe("version 4 is not 6");
    expect(new Ipv6View(FRAME, AT).check()).toBeNull();
    // payload length 8, only 3 bytes captured: passes, payloadEnd stops at the capture's end
    const cut = new Ipv6View(FRAME, AT, AT + 43);
    expect(cut.check()).toBeNull();
    expect(cut.payload).toEqual(hex("010203"));
  });

  it("reset", () => {
    const v = new Ipv6View(FRAME, AT);
    const fixed = hex(FIXED);
    expect(v.reset(fixed, 0, fixed.length).check()).toBeNull();
    expect([v.at, v.end, v.flowLabel]).toEqual([0, 40, 0x34567]);
  });
});

describe("IPv6 building with byte addresses", () => {
  it("source, destination and routing addresses as bytes", () => {
    const built = encodePacket([
      { layer: "ipv6", src: hex(SRC), dst: hex(DST), extensions: [{ type: "routing", segmentsLeft: 1, addresses: [hex("20010db8000000000000000000000009")] }] },
      { layer: "payload", data: hex("cafebabe") },
    ]);
    // payload length 24 + 4 = 28; next header 43; routing: next 59 (no next header: payload), len 2, type 0, left 1
    expect(built).toEqual(hex("60000000 001c 2b40" + SRC + DST + "3b02 0001 00000000 20010db8000000000000000000000009 cafebabe"));
    expect(() => encodePacket([{ layer: "ipv6", dst: hex("0a000001") }])).toThrow(RangeError);
  });

  it("the UDP pseudo-header uses the routing header's final destination given as bytes (RFC 8200 §8.1)", () => {
    const final = hex("20010db8000000000000000000000009");
    const d = encodePacket([
      { layer: "ipv6", src: "fd77::1", dst: "fd77::2", extensions: [{ type: "routing", segmentsLeft: 1, addresses: [final] }] },
      { layer: "udp", srcPort: 1, dstPort: 2 },
    ]);
    const { layers, issues } = decodeAs("ipv6", d);
    expect(issues).toEqual([]);
    expect(layers[1]).toMatchObject({ layer: "udp", checksumValid: true });
    // with the text form the same bytes come out
    const t = encodePacket([
      { layer: "ipv6", src: "fd77::1", dst: "fd77::2", extensions: [{ type: "routing", segmentsLeft: 1, addresses: ["2001:db8::9"] }] },
      { layer: "udp", srcPort: 1, dstPort: 2 },
    ]);
    expect(d).toEqual(t);
  });
});

describe("fragmenting and walking with the views (RFC 8200 §4.5)", () => {
  // A UDP datagram (8-byte header + 16 bytes) sent as two fragments of 16 and 8 bytes:
  // the unfragmentable part is the IPv6 header; each fragment carries a fragment header.
  const original = encodePacket([{ layer: "ipv6", src: "fd77::1", dst: "fd77::2" }, { layer: "udp", srcPort: 7, dstPort: 9 }, { layer: "payload", data: hex("000102030405060708090a0b0c0d0e0f") }]);
  const fragmentable = original.subarray(40); // 24 bytes: UDP header + data

  function fragment(offset: number, length: number, more: boolean): Uint8Array {
    const out = new Uint8Array(40 + 8 + length);
    const ip = new Ipv6View(out);
    ip.version = 6;
    ip.trafficClass = 0;
    ip.flowLabel = 0;
    ip.payloadLength = 8 + length;
    ip.nextHeader = 44;
    ip.hopLimit = 64;
    ip.src = new Ipv6View(original).src;
    ip.dst = new Ipv6View(original).dst;
    const f = new Ipv6FragmentView(out, ip.payloadStart);
    f.nextHeader = 17;
    f.reserved = 0;
    f.res = 0;
    f.fragmentOffset = offset;
    f.moreFragments = more;
    f.identification = 0x01020304;
    out.set(fragmentable.subarray(offset, offset + length), f.payloadStart);
    return out;
  }

  const first = fragment(0, 16, true);
  const second = fragment(16, 8, false);

  it("the fragments are what the decoder expects", () => {
    // first fragment: IPv6 + fragment header (offset 0, M), UDP header decoded, its checksum not judged
    const a = decodeAs("ipv6", first);
    expect(a.issues).toEqual([]);
    expect((a.layers[0] as Ipv6).extensions).toEqual([
      { type: "fragment", nextHeader: 17, headerLength: 8, fragmentOffset: 0, moreFragments: true, identification: 0x01020304 },
    ]);
    expect(a.layers[1]).toMatchObject({ layer: "udp", srcPort: 7, dstPort: 9, length: 24, checksumValid: null });
    // second: offset 16 (field 2 << 3 = 0x0010), M clear, the rest is payload
    expect(second.subarray(40, 48)).toEqual(hex("1100 0010 01020304"));
    const b = decodeAs("ipv6", second);
    expect(b.issues).toEqual([]);
    expect(b.layers.map((l) => l.layer)).toEqual(["ipv6", "payload"]);
  });

  it("walking to the fragment header and reassembling from the views gives the original datagram", () => {
    const whole = new Uint8Array(24);
    let last = 0;
    for (const datagram of [second, first]) {
      const ip = new Ipv6View(datagram);
      expect(ip.check()).toBeNull();
      expect(ip.nextHeader).toBe(44);
      const f = new Ipv6FragmentView(datagram, ip.payloadStart, ip.payloadEnd);
      expect(f.check()).toBeNull();
      expect(f.identification).toBe(0x01020304);
      const data = datagram.subarray(f.payloadStart, ip.payloadEnd);
      whole.set(data, f.fragmentOffset);
      if (!f.moreFragments) last = f.fragmentOffset + data.length;
    }
    expect(last).toBe(24);
    expect(whole).toEqual(fragmentable);
  });
});
