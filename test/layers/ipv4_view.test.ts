import { describe, expect, it } from "vitest";
import { decodeAs } from "../../layers/decode.ts";
import { encodeContext, encodePacket } from "../../layers/encode.ts";
import {
  encodeIpv4Options,
  encodeIpv4OptionsInto,
  IPV4_FIELD,
  ipv4Codec,
  ipv4OptionsLength,
  Ipv4View,
  type Ipv4,
  type Ipv4Fields,
} from "../../layers/ipv4.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const a5 = (n: number): Uint8Array => new Uint8Array(n).fill(0xa5);

// The header of ipv4.test.ts (IHL 8, 12 option bytes, checksum f1a8 worked out there):
//   48 b9 | 0028 | 1c46 | 4000 | 40 fd | f1a8 | c0a80001 | c0a800c7 | 94040000 01 0707040a000009
const HEADER = "48b9 0028 1c46 4000 40fd f1a8 c0a80001 c0a800c7 94040000 01 0707040a000009";
// 14 bytes before it (an Ethernet header's room), 8 bytes of data, 6 of link padding.
const FRAME = hex("ee".repeat(14) + HEADER + "0102030405060708" + "000000000000");
const AT = 14;

describe("Ipv4View getters", () => {
  const v = new Ipv4View(FRAME, AT);

  it("reads every fixed field at its offset", () => {
    expect(v.version).toBe(4); // 0x48 >> 4
    expect(v.headerLength).toBe(32); // IHL 8 × 4
    expect(v.dscp).toBe(46); // 0xb9 >> 2
    expect(v.ecn).toBe(1); // 0xb9 & 3
    expect(v.totalLength).toBe(40);
    expect(v.id).toBe(0x1c46);
    expect(v.reservedFlag).toBe(false); // 0x4000: DF only
    expect(v.dontFragment).toBe(true);
    expect(v.moreFragments).toBe(false);
    expect(v.fragmentOffset).toBe(0);
    expect(v.ttl).toBe(64);
    expect(v.protocol).toBe(253);
    expect(v.checksum).toBe(0xf1a8);
  });

  it("addresses as views of the frame, their offsets and word sum", () => {
    expect(v.srcOffset).toBe(AT + 12);
    expect(v.dstOffset).toBe(AT + 16);
    expect(v.src).toEqual(hex("c0a80001"));
    expect(v.dst).toEqual(hex("c0a800c7"));
    expect(v.src.buffer).toBe(FRAME.buffer); // a view, not a copy
    // c0a8 + 0001 + c0a8 + 00c7 = 0x18150 + 0xc8
    expect(v.addressSum).toBe(0x18218);
  });

  it("options, payload trimmed to the total length", () => {
    expect(v.optionsStart).toBe(AT + 20);
    expect(v.optionsEnd).toBe(AT + 32);
    expect(v.options).toEqual(hex("94040000 01 0707040a000009"));
    expect(v.payloadStart).toBe(AT + 32);
    expect(v.payloadEnd).toBe(AT + 40); // the 6 padding bytes after it are not payload
    expect(v.payload).toEqual(hex("0102030405060708"));
  });

  it("a fragment's flags and offset: evil bit, MF, offset 1480", () => {
    // flags word a0b9: 0x8000 reserved, 0x2000 MF, offset 0xb9 = 185 → × 8 = 1480
    const f = new Ipv4View(hex("4500 0014 abcd a0b9 0111 0000 0a000001 0a000002"));
    expect([f.reservedFlag, f.dontFragment, f.moreFragments, f.fragmentOffset]).toEqual([true, false, true, 1480]);
    expect([f.ttl, f.protocol, f.id]).toEqual([1, 17, 0xabcd]);
  });

  it("verifyChecksum: the literal's checksum is right, one flipped option bit is not", () => {
    expect(v.verifyChecksum()).toBe(true);
    const bad = FRAME.slice();
    bad[AT + 25] = bad[AT + 25]! ^ 1; // inside the record-route address
    expect(new Ipv4View(bad, AT).verifyChecksum()).toBe(false);
  });

  it("readInto fills every fixed field, verifies the checksum and returns the address sum", () => {
    const out = {} as Ipv4Fields;
    expect(v.readInto(out, true)).toBe(0x18218);
    expect(out).toEqual({
      version: 4, headerLength: 32, dscp: 46, ecn: 1, totalLength: 40, id: 0x1c46, reservedFlag: false, dontFragment: true,
      moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: 253, checksum: 0xf1a8, checksumValid: true,
    });
    v.readInto(out, false);
    expect(out.checksumValid).toBeNull(); // not asked
    const bad = FRAME.slice();
    bad[AT + 8] = 63; // TTL
    new Ipv4View(bad, AT).readInto(out, true);
    expect([out.ttl, out.checksumValid]).toEqual([63, false]);
    // the options cut off by `end`: the header is not whole, nothing verified
    new Ipv4View(FRAME, AT, AT + 24).readInto(out, true);
    expect(out.checksumValid).toBeNull();
  });

  it("the field table is the one the getters read", () => {
    const b = a5(20);
    b[IPV4_FIELD.TTL] = 7;
    b[IPV4_FIELD.PROTOCOL] = 6;
    b[IPV4_FIELD.TOTAL_LENGTH] = 0x01;
    b[IPV4_FIELD.TOTAL_LENGTH + 1] = 0x02;
    const w = new Ipv4View(b);
    expect([w.ttl, w.protocol, w.totalLength]).toEqual([7, 6, 0x0102]);
  });
});

describe("Ipv4View setters write their bits and nothing else (0xa5 shows every unwritten byte)", () => {
  const rest = (n: number) => "a5".repeat(n);
  const write = (set: (v: Ipv4View) => void, at = 0): Uint8Array => {
    const b = a5(at + 20);
    set(new Ipv4View(b, at));
    return b;
  };

  it("version, header length (IHL), DSCP, ECN", () => {
    expect(write((v) => (v.version = 4))).toEqual(hex("45" + rest(19))); // IHL nibble 5 kept
    expect(write((v) => (v.headerLength = 24))).toEqual(hex("a6" + rest(19))); // 24 / 4 = 6
    expect(write((v) => (v.headerLength = 61))).toEqual(hex("af" + rest(19))); // 61 / 4 rounded down = 15
    expect(write((v) => (v.dscp = 46))).toEqual(hex("a5 b9" + rest(18))); // 46 << 2 = b8, ECN bits 01 kept
    expect(write((v) => (v.ecn = 2))).toEqual(hex("a5 a6" + rest(18))); // a4 | 2
  });

  it("16-bit fields", () => {
    expect(write((v) => (v.totalLength = 0x1234))).toEqual(hex("a5a5 1234" + rest(16)));
    expect(write((v) => (v.id = 0xbeef))).toEqual(hex(rest(4) + "beef" + rest(14)));
    expect(write((v) => (v.checksum = 0xabcd))).toEqual(hex(rest(10) + "abcd" + rest(8)));
  });

  it("each flag alone, both ways, and the fragment offset in bytes", () => {
    // the flags word starts as a5a5: 1010 0101 ...: reserved set, DF clear, MF set
    expect(write((v) => (v.reservedFlag = false))).toEqual(hex(rest(6) + "25a5" + rest(12)));
    expect(write((v) => ((v.reservedFlag = false), (v.reservedFlag = true)))).toEqual(hex(rest(20)));
    expect(write((v) => (v.dontFragment = true))).toEqual(hex(rest(6) + "e5a5" + rest(12)));
    expect(write((v) => ((v.dontFragment = true), (v.dontFragment = false)))).toEqual(hex(rest(20)));
    expect(write((v) => (v.moreFragments = false))).toEqual(hex(rest(6) + "85a5" + rest(12)));
    expect(write((v) => ((v.moreFragments = false), (v.moreFragments = true)))).toEqual(hex(rest(20)));
    // 1480 / 8 = 185 = 0x0b9 in the low 13 bits; the flag bits (a000) kept
    expect(write((v) => (v.fragmentOffset = 1480))).toEqual(hex(rest(6) + "a0b9" + rest(12)));
    expect(write((v) => (v.fragmentOffset = 1487))).toEqual(hex(rest(6) + "a0b9" + rest(12))); // rounded down to 8
  });

  it("TTL, protocol, addresses (copied in), at an offset", () => {
    expect(write((v) => (v.ttl = 1), 2)).toEqual(hex(rest(10) + "01" + rest(11)));
    expect(write((v) => (v.protocol = 17), 2)).toEqual(hex(rest(11) + "11" + rest(10)));
    const src = hex("0a000001");
    const b = write((v) => ((v.src = src), (v.dst = hex("0a000002"))), 2);
    expect(b).toEqual(hex(rest(14) + "0a000001 0a000002"));
    src[0] = 0xff;
    expect(b[14]).toBe(0x0a); // a copy, not the caller's array
    expect(() => write((v) => (v.src = new Uint8Array(16)))).toThrow(RangeError);
    expect(() => write((v) => (v.dst = new Uint8Array(3)))).toThrow(RangeError);
  });

  it("fillChecksum: RFC 1071 over the header; over the bytes given when IHL lies", () => {
    // 4500+0073+0000+4000+4011+c0a8+0001+c0a8+00c7 = 0x2479c → 0x479e → ~ = 0xb861 (checksum.test.ts)
    const b = hex("4500 0073 0000 4000 4011 a5a5 c0a80001 c0a800c7");
    new Ipv4View(b).fillChecksum();
    expect(b.subarray(10, 12)).toEqual(hex("b861"));
    // IHL 15 (60 bytes) over a 20-byte header: 4f00 + 0014 + 4000 = 0x8f14 → ~ = 0x70eb
    const lying = hex("4f00 0014 0000 4000 0000 a5a5 00000000 00000000");
    new Ipv4View(lying).fillChecksum(20);
    expect(lying.subarray(10, 12)).toEqual(hex("70eb"));
  });
});

describe("Ipv4View.check", () => {
  const cases: [string, string, string | null][] = [
    ["19 bytes", "4500 0014 0000 0000 40fd 0000 0a000001 0a0000", "header needs 20 bytes, got 19"],
    ["version 6", "6500 0014 0000 0000 40fd 0000 0a000001 0a000002", "version 6 is not 4"],
    ["IHL 4", "4400 0014 0000 0000 40fd 0000 0a000001 0a000002", "header length 16 is less than 20"],
    ["IHL past the bytes", "4f00 003c 0000 0000 40fd 0000 0a000001 0a000002 01010101", "header length 60 exceeds 24 bytes"],
    ["total length below the header", "4500 000a 0000 0000 40fd 0000 0a000001 0a000002", "total length 10 is less than header length 20"],
    ["total length past the bytes (a cut capture)", "4500 05dc 0000 0000 40fd 0000 0a000001 0a000002 01020304", null],
    ["a whole datagram", HEADER + "0102030405060708", null],
  ];
  it.each(cases)("%s", (_name, bytes, reason) => {
    expect(new Ipv4View(hex(bytes)).check()).toBe(reason);
  });

  it("respects `end`, and payloadEnd stops there when the capture was cut", () => {
    expect(new Ipv4View(FRAME, AT, AT + 19).check()).toBe("header needs 20 bytes, got 19");
    expect(new Ipv4View(FRAME, AT, AT + 31).check()).toBe("header length 32 exceeds 31 bytes");
    const cut = new Ipv4View(FRAME, AT, AT + 36);
    expect(cut.check()).toBeNull();
    expect(cut.payloadEnd).toBe(AT + 36);
    expect(cut.payload).toEqual(hex("01020304"));
  });

  it("reset points one view at other bytes", () => {
    const v = new Ipv4View(FRAME, AT);
    const other = hex("ffff 4500 0014 abcd a0b9 0111 0000 0a000001 0a000002");
    expect(v.reset(other, 2, other.length)).toBe(v);
    expect([v.at, v.end, v.id, v.check()]).toEqual([2, 22, 0xabcd, null]);
  });
});

describe("IPv4 building: options encoded once, addresses as bytes", () => {
  it("headerLength sizes the options without building them", () => {
    // router alert 4 + NOP 1 + record route 2 + 1 + 4 = 12 → already a multiple of 4
    const options = [{ type: 148, value: 0 }, { type: 1 }, { type: 7, pointer: 4, addresses: ["10.0.0.9"] }];
    expect(ipv4Codec.headerLength({ layer: "ipv4", options }, encodeContext())).toBe(32);
    expect(ipv4OptionsLength([{ type: 1 }])).toBe(4); // 1 → padded to 4
    expect(ipv4OptionsLength([])).toBe(0);
    expect(ipv4OptionsLength(undefined)).toBe(0);
    // timestamp flag 1: max(1 timestamp, 2 addresses) = 2 entries of 8 → 2 + 2 + 16 = 20
    expect(ipv4OptionsLength([{ type: 68, flag: 1, timestamps: [5], addresses: ["10.0.0.1", "10.0.0.2"] }])).toBe(20);
    // timestamp flag 0: 3 timestamps of 4 → 2 + 2 + 12 = 16
    expect(ipv4OptionsLength([{ type: 68, timestamps: [1, 2, 3] }])).toBe(16);
    // given data wins: 2 + 3 = 5 → 8
    expect(ipv4OptionsLength([{ type: 1, data: hex("010203") }])).toBe(8);
  });

  it("encodeIpv4OptionsInto writes at an offset, pads with zeros, returns the end, touches nothing else", () => {
    const out = a5(16);
    // NOP | router alert 94 04 0102 → 5 bytes, 3 zero bytes of padding → ends at 3 + 8
    expect(encodeIpv4OptionsInto([{ type: 1 }, { type: 148, value: 0x0102 }], out, 3)).toBe(11);
    expect(out).toEqual(hex("a5a5a5 01 94040102 000000 a5a5a5a5a5"));
    expect(encodeIpv4Options([{ type: 1 }, { type: 148, value: 0x0102 }])).toEqual(hex("01 94040102 000000"));
  });

  it("timestamp with prespecified addresses (flag 3), addresses as bytes", () => {
    // 44 len 12 ptr 5 | oflw 0 flg 3 | 0a000001 00000009 → 12 bytes, no padding
    const expected = hex("440c0503 0a000001 00000009");
    expect(encodeIpv4Options([{ type: 68, flag: 3, addresses: ["10.0.0.1"], timestamps: [9] }])).toEqual(expected);
    expect(encodeIpv4Options([{ type: 68, flag: 3, addresses: [hex("0a000001")], timestamps: [9] }])).toEqual(expected);
  });

  it("source, destination and route addresses given as bytes", () => {
    // ipv4.test.ts's literal, built with every address as bytes
    const built = encodePacket([
      {
        layer: "ipv4", dscp: 46, ecn: 1, id: 0x1c46, dontFragment: true, ttl: 64, protocol: 253,
        src: hex("c0a80001"), dst: hex("c0a800c7"),
        options: [{ type: 148, value: 0 }, { type: 1 }, { type: 7, pointer: 4, addresses: [hex("0a000009")] }],
      },
      { layer: "payload", data: hex("0102030405060708") },
    ]);
    expect(built).toEqual(hex(HEADER + "0102030405060708"));
    expect(() => encodePacket([{ layer: "ipv4", src: hex("0a0000") }])).toThrow(RangeError);
  });

  it("the UDP pseudo-header takes byte addresses too", () => {
    // UDP 1 → 2, length 8, no data, 10.0.0.1 → 10.0.0.2:
    // pseudo-header 0a00+0001+0a00+0002 = 0x1403, + 0011 + 0008 = 0x141c;
    // header 0001+0002+0008 → 0x1427 → ~ = 0xebd8
    const d = encodePacket([{ layer: "ipv4", src: hex("0a000001"), dst: hex("0a000002") }, { layer: "udp", srcPort: 1, dstPort: 2 }]);
    expect(d.subarray(20)).toEqual(hex("0001 0002 0008 ebd8"));
    const { layers, issues } = decodeAs("ipv4", d);
    expect(issues).toEqual([]);
    expect((layers[0] as Ipv4).src).toBe("10.0.0.1");
    expect(layers[1]).toMatchObject({ layer: "udp", checksumValid: true });
  });

  it("the codec writes one header into a 0xa5 buffer through the view, payload untouched", () => {
    const out = a5(28);
    ipv4Codec.write({ layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, ttl: 1, options: [{ type: 1 }] }, out, encodeContext());
    // 46 00 | 001c | 0000 | 0000 | 01 11 | ck | 0a000001 | 0a000002 | 01 000000
    // 4600+001c+0111 = 0x472d, + 0a00+0001+0a00+0002 = 0x5b30, + 0100 = 0x5c30 → ~ = 0xa3cf
    expect(out).toEqual(hex("4600 001c 0000 0000 0111 a3cf 0a000001 0a000002 01000000 a5a5a5a5"));
  });
});
