import { describe, expect, it } from "vitest";
import {
  encodeIpv6Extensions,
  encodeIpv6ExtensionsInto,
  IPV6_ROUTING_FIELD,
  ipv6Codec,
  Ipv6ExtensionView,
  ipv6ExtensionsLength,
  Ipv6FragmentView,
  Ipv6RoutingView,
  parseIpv6Options,
  routingAddresses,
  type Ipv6Option,
} from "../../layers/ipv6.ts";
import { encodeContext } from "../../layers/encode.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const a5 = (n: number): Uint8Array => new Uint8Array(n).fill(0xa5);
const rest = (n: number): string => "a5".repeat(n);

const A9 = "20010db8000000000000000000000009"; // 2001:db8::9
const A1 = "20010db8000000000000000000000001";
const A2 = "20010db8000000000000000000000002";

describe("Ipv6ExtensionView (hop-by-hop, destination, the routing header's generic part)", () => {
  // hop-by-hop: next 43, Hdr Ext Len 0 → (0 + 1) × 8 = 8 bytes: router alert 05 02 0000, PadN 01 00
  const b = hex("eeee 2b00 05020000 0100 ff");
  const v = new Ipv6ExtensionView(b, 2, 10);

  it("getters", () => {
    expect(v.check()).toBeNull();
    expect(v.nextHeader).toBe(43);
    expect(v.headerLength).toBe(8);
    expect(v.bodyStart).toBe(4);
    expect(v.bodyEnd).toBe(10);
    expect(v.body).toEqual(hex("05020000 0100"));
    expect(v.payloadStart).toBe(10);
    const options: Ipv6Option[] = [];
    expect(parseIpv6Options(b, v.bodyStart, v.bodyEnd, options)).toBeNull();
    expect(options).toEqual([
      { type: 5, name: "routerAlert", data: hex("0000") },
      { type: 1, name: "padN", data: new Uint8Array(0) },
    ]);
  });

  it("headerLength in bytes: Hdr Ext Len 2 is 24", () => {
    expect(new Ipv6ExtensionView(hex("3b02" + "00".repeat(22))).headerLength).toBe(24);
  });

  it("check: the length octet, then the whole header", () => {
    expect(new Ipv6ExtensionView(b, 2, 3).check()).toBe("header needs 2 bytes, have 1");
    expect(new Ipv6ExtensionView(hex("3b02 0000 00000000")).check()).toBe("header length 24 exceeds 8 bytes");
  });

  it("setters", () => {
    const w = (set: (v: Ipv6ExtensionView) => void): Uint8Array => {
      const out = a5(8);
      set(new Ipv6ExtensionView(out));
      return out;
    };
    expect(w((v) => (v.nextHeader = 6))).toEqual(hex("06" + rest(7)));
    expect(w((v) => (v.headerLength = 24))).toEqual(hex("a5 02" + rest(6))); // 24 / 8 - 1
    expect(w((v) => (v.headerLength = 8))).toEqual(hex("a5 00" + rest(6)));
    expect(w((v) => (v.headerLength = 0))).toEqual(hex("a5 ff" + rest(6))); // a deliberately wrong length wraps
  });
});

describe("Ipv6RoutingView", () => {
  // type 0: next 44, len 2 (24 bytes), type 0, segments left 1, reserved 00000000, 2001:db8::9
  const rh = hex("ee 2c02 0001 00000000" + A9);
  const v = new Ipv6RoutingView(rh, 1);

  it("getters, addresses, final destination", () => {
    expect(v.check()).toBeNull();
    expect([v.nextHeader, v.headerLength, v.routingType, v.segmentsLeft]).toEqual([44, 24, 0, 1]);
    expect(v.dataStart).toBe(5);
    expect(v.data).toEqual(hex("00000000" + A9));
    expect(v.carriesAddresses).toBe(true);
    expect(v.addressCount).toBe(1); // (24 - 8) / 16
    expect(v.addressOffset(0)).toBe(9);
    expect(v.address(0)).toEqual(hex(A9));
    expect(routingAddresses(v)).toEqual(["2001:db8::9"]);
    expect(v.finalDestinationOffset).toBe(9);
  });

  it("type 0 with two addresses: the last is the final destination; none once segments left is 0", () => {
    const two = hex("3b04 0002 00000000" + A1 + A2); // len 4: 40 bytes
    const r = new Ipv6RoutingView(two);
    expect(r.addressCount).toBe(2);
    expect(r.finalDestinationOffset).toBe(8 + 16);
    expect(routingAddresses(r)).toEqual(["2001:db8::1", "2001:db8::2"]);
    two[IPV6_ROUTING_FIELD.SEGMENTS_LEFT] = 0;
    expect(r.finalDestinationOffset).toBe(-1);
  });

  it("segment routing (type 4, RFC 8754): last entry + 1 segments, Segment List[0] is the final one", () => {
    // next 59, len 4 (40 bytes), type 4, segments left 1, last entry 1, flags 0, tag 0000, two segments
    const srh = hex("3b04 0401 01000000" + A1 + A2);
    const r = new Ipv6RoutingView(srh);
    expect([r.routingType, r.segmentsLeft, r.lastEntry, r.addressCount]).toEqual([4, 1, 1, 2]);
    expect(r.finalDestinationOffset).toBe(8);
    srh[IPV6_ROUTING_FIELD.LAST_ENTRY] = 0;
    expect(r.addressCount).toBe(1); // the list says one entry
    srh[IPV6_ROUTING_FIELD.LAST_ENTRY] = 5;
    expect(r.addressCount).toBe(2); // it says six: only two fit
  });

  it("RPL (type 3) carries compressed addresses: none listed", () => {
    const r = new Ipv6RoutingView(hex("3b01 0301 00000000 0000000000000000"));
    expect([r.carriesAddresses, r.addressCount, r.finalDestinationOffset]).toEqual([false, 0, -1]);
    expect(routingAddresses(r)).toEqual([]);
  });

  it("setters", () => {
    const out = a5(40);
    const r = new Ipv6RoutingView(out);
    r.routingType = 4;
    expect(out).toEqual(hex("a5a5 04" + rest(37)));
    r.segmentsLeft = 2;
    r.lastEntry = 1;
    expect(out.subarray(0, 8)).toEqual(hex("a5a5 0402 01a5a5a5"));
    r.setAddress(1, hex(A2));
    expect(out).toEqual(hex("a5a5 0402 01a5a5a5" + rest(16) + A2));
    expect(() => r.setAddress(0, hex("0a000001"))).toThrow(RangeError);
  });
});

describe("Ipv6FragmentView", () => {
  // next 17, reserved, offset 1448 (181 × 8 = 0x05a8) | M → 05a9, identification 12345678
  const f = new Ipv6FragmentView(hex("ff 1100 05a9 12345678"), 1);

  it("getters", () => {
    expect(f.check()).toBeNull();
    expect([f.nextHeader, f.reserved, f.fragmentOffset, f.res, f.moreFragments, f.identification]).toEqual([17, 0, 1448, 0, true, 0x12345678]);
    expect([f.headerLength, f.payloadStart, f.isFragment]).toEqual([8, 9, true]);
  });

  it("an atomic fragment (offset 0, M clear) is not a fragment; Res bits do not make one", () => {
    expect(new Ipv6FragmentView(hex("1100 0000 12345678")).isFragment).toBe(false);
    const odd = new Ipv6FragmentView(hex("11ff 0006 00000001"));
    expect([odd.reserved, odd.res, odd.moreFragments, odd.fragmentOffset, odd.isFragment]).toEqual([255, 3, false, 0, false]);
    expect(new Ipv6FragmentView(hex("1100 0008 00000001")).isFragment).toBe(true); // offset 8
  });

  it("check", () => {
    expect(new Ipv6FragmentView(hex("1100 0000 123456")).check()).toBe("header needs 8 bytes, have 7");
  });

  it("setters keep the neighbouring bits", () => {
    const w = (set: (v: Ipv6FragmentView) => void): Uint8Array => {
      const out = a5(8);
      set(new Ipv6FragmentView(out));
      return out;
    };
    expect(w((v) => (v.nextHeader = 6))).toEqual(hex("06" + rest(7)));
    expect(w((v) => (v.reserved = 0))).toEqual(hex("a5 00" + rest(6)));
    // 0x05a8 | (a5a5 & 7 = 5: Res 2, M 1)
    expect(w((v) => (v.fragmentOffset = 1448))).toEqual(hex("a5a5 05ad" + rest(4)));
    expect(w((v) => (v.fragmentOffset = 1451))).toEqual(hex("a5a5 05ad" + rest(4))); // rounded down to 8
    expect(w((v) => (v.res = 0))).toEqual(hex("a5a5 a5a1" + rest(4)));
    expect(w((v) => (v.moreFragments = false))).toEqual(hex("a5a5 a5a4" + rest(4)));
    expect(w((v) => (v.identification = 0xdeadbeef))).toEqual(hex(rest(4) + "deadbeef"));
    const zero = new Uint8Array(8);
    new Ipv6FragmentView(zero).res = 3;
    expect(zero).toEqual(hex("0000 0006 00000000"));
  });
});

describe("extension headers built once, into the caller's buffer", () => {
  it("lengths without building: each padded to 8", () => {
    expect(ipv6ExtensionsLength(undefined)).toBe(0);
    expect(ipv6ExtensionsLength([{ type: "fragment" }])).toBe(8);
    // 2 + router alert (2 + 2) = 6 → 8
    expect(ipv6ExtensionsLength([{ type: "hopByHop", options: [{ type: 5, data: hex("0000") }] }])).toBe(8);
    // 4 + 4 reserved + 2 × 16 = 40
    expect(ipv6ExtensionsLength([{ type: "routing", addresses: ["2001:db8::1", "2001:db8::2"] }])).toBe(40);
    // 4 + 5 bytes of data = 9 → 16
    expect(ipv6ExtensionsLength([{ type: "routing", data: hex("0102030405") }])).toBe(16);
    // 2 + 7 bytes of options (2 + 5) = 9 → 16, + a fragment header 8
    expect(ipv6ExtensionsLength([{ type: "destination", options: [{ type: 0x1e, data: hex("0102030405") }] }, { type: "fragment" }])).toBe(24);
    expect(ipv6Codec.headerLength({ layer: "ipv6", extensions: [{ type: "fragment" }, { type: "destination" }] }, encodeContext())).toBe(56);
  });

  it("written at an offset, each announcing the next, nothing outside touched", () => {
    const out = a5(20);
    const end = encodeIpv6ExtensionsInto(
      [{ type: "fragment", fragmentOffset: 1448, moreFragments: true, identification: 7 }, { type: "destination", options: [{ type: 0 }] }],
      17,
      out,
      2,
    );
    expect(end).toBe(18);
    // fragment: next 60 (destination), 0, 05a9, 00000007 | destination: next 17, len 0, Pad1, PadN of 5 (01 03 000000)
    expect(out).toEqual(hex("a5a5 3c00 05a9 00000007 1100 00 0103000000 a5a5"));
  });

  it("routing: given data padded with zeros; a routing header's padding is never PadN", () => {
    // next 59 (no layer inside), len 1 (16 bytes), type 0, left 0, data 0102030405, then 7 zero bytes
    expect(encodeIpv6Extensions([{ type: "routing", segmentsLeft: 0, data: hex("0102030405") }], undefined)).toEqual(hex("3b01 0000 0102030405 00000000000000"));
  });

  it("a stated headerLength is written as given, the bytes stay as built", () => {
    // Hdr Ext Len for 24 bytes is 2, though only 8 are written
    expect(encodeIpv6Extensions([{ type: "destination", headerLength: 24 }], undefined)).toEqual(hex("3b02 0104 00000000"));
  });
});
