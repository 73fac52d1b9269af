import { describe, expect, it } from "vitest";
import { decodeAs, decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { ipv4Codec, type Ipv4 } from "../../layers/ipv4.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const ctx = { inner: undefined, outer: undefined, ip: undefined };

// IPv4 with 12 option bytes (IHL 8 = 32 bytes), 8 bytes of payload, protocol 253 (experimental).
//   48    version 4, IHL 8
//   b9    DSCP 46 (0xb8 >> 2), ECN 1
//   0028  total length 40 = 32 + 8
//   1c46  id
//   4000  DF, offset 0
//   40fd  TTL 64, protocol 253
//   f1a8  checksum: words 48b9+0028+1c46+4000+40fd+c0a8+0001+c0a8+00c7+9404+0000+0107+0704+0a00+0009
//         = 0x30e54 → fold 0x0e54 + 3 = 0x0e57 → ~ = 0xf1a8
//   c0a80001 → c0a800c7   192.168.0.1 → 192.168.0.199
//   options: 94 04 0000 (router alert, value 0) | 01 (NOP) | 07 07 04 0a000009 (record route, ptr 4, 10.0.0.9)
const HEADER = "48b9 0028 1c46 4000 40fd f1a8 c0a80001 c0a800c7 94040000 01 0707040a000009";
const DATAGRAM = hex(HEADER + "0102030405060708");

const expected: Ipv4 = {
  layer: "ipv4",
  version: 4,
  headerLength: 32,
  dscp: 46,
  ecn: 1,
  totalLength: 40,
  id: 0x1c46,
  reservedFlag: false,
  dontFragment: true,
  moreFragments: false,
  fragmentOffset: 0,
  ttl: 64,
  protocol: 253,
  checksum: 0xf1a8,
  checksumValid: true,
  src: "192.168.0.1",
  dst: "192.168.0.199",
  options: [
    { type: 148, name: "routerAlert", length: 4, data: hex("0000"), value: 0 },
    { type: 1, name: "nop", length: 1, data: new Uint8Array(0) },
    { type: 7, name: "recordRoute", length: 7, data: hex("040a000009"), pointer: 4, addresses: ["10.0.0.9"] },
  ],
};

describe("IPv4", () => {
  it("decodes field by field, options named, padding dropped", () => {
    // 6 bytes of link padding after the datagram must not reach the payload
    const { layers, issues } = decodeAs("ipv4", hex(HEADER + "0102030405060708 000000000000"));
    expect(issues).toEqual([]);
    expect(layers).toEqual([expected, { layer: "payload", data: hex("0102030405060708") }]);
  });

  it("encodes back byte for byte: explicit fields, parsed options, computed checksum", () => {
    const { layer: _l, checksum: _c, checksumValid: _v, options: _o, ...fields } = expected;
    const built = encodePacket([
      {
        layer: "ipv4",
        ...fields,
        options: [{ type: 148, value: 0 }, { type: 1 }, { type: 7, pointer: 4, addresses: ["10.0.0.9"] }],
      },
      { layer: "payload", data: hex("0102030405060708") },
    ]);
    expect(built).toEqual(DATAGRAM);
    // one header written into a 0xa5 buffer: the payload area stays untouched
    const out = new Uint8Array(40).fill(0xa5);
    ipv4Codec.write({ layer: "ipv4", ...fields, options: [{ type: 148, data: hex("0000") }, { type: 1 }, { type: 7, data: hex("040a000009") }] }, out, ctx);
    expect(out).toEqual(hex(HEADER + "a5".repeat(8)));
  });

  it("defaults: IHL 5, TTL 64, id 0, DF off, protocol from the inner layer, checksum filled", () => {
    // 4500 0014 0000 0000 4000 [ck] 0 0: sum 0x4500 + 0x0014 + 0x4000 = 0x8514 → ~ = 0x7aeb
    expect(encodePacket([{ layer: "ipv4" }])).toEqual(hex("4500 0014 0000 0000 4000 7aeb 00000000 00000000"));
    // protocol 17 for UDP inside, 6 for TCP, 1 for ICMP, 4 for IPv4-in-IPv4
    expect(encodePacket([{ layer: "ipv4" }, { layer: "udp" }])[9]).toBe(17);
    expect(encodePacket([{ layer: "ipv4" }, { layer: "tcp" }])[9]).toBe(6);
    expect(encodePacket([{ layer: "ipv4" }, { layer: "icmp" }])[9]).toBe(1);
    expect(encodePacket([{ layer: "ipv4" }, { layer: "ipv4" }])[9]).toBe(4);
    // options padded with EOL to a multiple of 4: NOP → 01 000000, IHL 6
    expect(encodePacket([{ layer: "ipv4", options: [{ type: 1 }] }]).subarray(0, 1)).toEqual(hex("46"));
    expect(encodePacket([{ layer: "ipv4", options: [{ type: 1 }] }]).subarray(20)).toEqual(hex("01000000"));
  });

  it("explicit fields are written as given, even when wrong", () => {
    const b = encodePacket([{ layer: "ipv4", checksum: 0x1234, totalLength: 999, headerLength: 60, version: 5, ttl: 0, fragmentOffset: 8, moreFragments: true }]);
    // version 5, IHL 15 (60/4), total 999 = 0x03e7, MF + offset 1 = 0x2001, ttl 0, checksum 1234 — only 20 bytes exist
    expect(b).toEqual(hex("5f00 03e7 0000 2001 0000 1234 00000000 00000000"));
  });

  it("timestamp options: flag 0 and flag 1", () => {
    // IHL 9: TS type 0x44, len 12, ptr 13 (full), oflw 0 flg 0, two timestamps 1 and 0x01020304; then
    // TS len 12 ptr 5 flg 1: (10.0.0.1, 7) ; header = 20 + 24 = 44 → IHL 11
    const opts = "440c0d00 00000001 01020304 440c0501 0a000001 00000007";
    const h = hex("4b00 002c 0000 0000 40fd 0000 0a000001 0a000002" + opts);
    const v = decodeAs("ipv4", h).layers[0] as Ipv4;
    expect(v.checksumValid).toBe(false); // the zero checksum field is wrong
    expect(v.options).toEqual([
      { type: 68, name: "timestamp", length: 12, data: hex("0d00 00000001 01020304"), pointer: 13, overflow: 0, flag: 0, timestamps: [1, 0x01020304] },
      { type: 68, name: "timestamp", length: 12, data: hex("0501 0a000001 00000007"), pointer: 5, overflow: 0, flag: 1, timestamps: [7], addresses: ["10.0.0.1"] },
    ]);
    // unknown options are kept raw and named "unknown"; EOL ends the list
    const u = decodeAs("ipv4", hex("4700 001c 0000 0000 40fd 0000 0a000001 0a000002 9e03ff 00 ffffffff")).layers[0] as Ipv4;
    expect(u.options).toEqual([
      { type: 0x9e, name: "unknown", length: 3, data: hex("ff") },
      { type: 0, name: "eol", length: 1, data: new Uint8Array(0) },
    ]);
  });

  describe("hostile input ends in an issue", () => {
    const cases: [string, string, string, number][] = [
      ["short header", "4500 0014 0000 0000 40fd 0000 0a000001 0a0000", "truncated: header needs 20 bytes, got 19", 0],
      ["version 6", "6500 0014 0000 0000 40fd 0000 0a000001 0a000002", "malformed: version 6 is not 4", 0],
      ["IHL 4", "4400 0014 0000 0000 40fd 0000 0a000001 0a000002", "malformed: header length 16 is less than 20", 0],
      ["IHL past the data", "4f00 003c 0000 0000 40fd 0000 0a000001 0a000002 01010101", "truncated: header length 60 exceeds 24 bytes", 1],
      ["total length below IHL", "4500 000a 0000 0000 40fd 0000 0a000001 0a000002", "malformed: total length 10 is less than header length 20", 1],
      ["zero-length option", "4600 0018 0000 0000 40fd 0000 0a000001 0a000002 07000000", "malformed: option 7 length 0 is less than 2", 1],
      ["one-length option", "4600 0018 0000 0000 40fd 0000 0a000001 0a000002 07010000", "malformed: option 7 length 1 is less than 2", 1],
      ["overlong option", "4600 0018 0000 0000 40fd 0000 0a000001 0a000002 07280000", "malformed: option 7 length 40 exceeds the 4 bytes left in the header", 1],
      ["option without its length", "4600 0018 0000 0000 40fd 0000 0a000001 0a000002 01010183", "malformed: option 131 has no length octet", 1],
    ];
    it.each(cases)("%s", (_name, bytes, issue, ipv4Layers) => {
      const r = decodeAs("ipv4", hex(bytes));
      expect(r.issues.map((i) => `${i.kind}: ${i.reason}`)).toEqual([issue]);
      expect(r.issues[0]!.layer).toBe("ipv4");
      expect(r.layers.filter((l) => l.layer === "ipv4").length).toBe(ipv4Layers);
    });

    it("a cut header reports checksumValid null", () => {
      const v = decodeAs("ipv4", hex("4f00 003c 0000 0000 40fd 0000 0a000001 0a000002 01010101")).layers[0] as Ipv4;
      expect(v.checksumValid).toBeNull();
      expect(v.options).toEqual([]);
    });

    it("total length past the data: truncated capture vs a lying header", () => {
      // Ethernet + IPv4 total length 1500, only 20 + 4 bytes present
      const frame = hex("027700000002 027700000001 0800 4500 05dc 0000 0000 40fd 0000 0a000001 0a000002 01020304");
      const cut = decodePacket(frame, 1, { length: 1514 });
      expect(cut.issues).toEqual([{ layer: "ipv4", kind: "truncated", reason: "total length 1500 exceeds 24 bytes" }]);
      expect(cut.layers.at(-1)).toEqual({ layer: "payload", data: hex("01020304") });
      const lying = decodePacket(frame, 1, { length: frame.length });
      expect(lying.issues).toEqual([{ layer: "ipv4", kind: "malformed", reason: "total length 1500 exceeds 24 bytes" }]);
    });
  });

  describe("fragments", () => {
    // UDP 1→2, length 12, checksum 0xffff (wrong on purpose: a first fragment must not be judged)
    const udp = "0001 0002 000c ffff 01020304";
    it("a first fragment decodes on, its transport checksum unverified", () => {
      // MF set (0x2000), offset 0
      const d = encodePacket([{ layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", moreFragments: true, protocol: 17 }, { layer: "payload", data: hex(udp) }]);
      const { layers } = decodeAs("ipv4", d);
      expect(layers[0]).toMatchObject({ moreFragments: true, fragmentOffset: 0 });
      expect(layers[1]).toMatchObject({ layer: "udp", srcPort: 1, dstPort: 2, checksumValid: null });
    });
    it("a later fragment stops at IPv4 with the rest as payload", () => {
      const d = encodePacket([{ layer: "ipv4", protocol: 17, fragmentOffset: 1480 }, { layer: "payload", data: hex(udp) }]);
      expect(d.subarray(6, 8)).toEqual(hex("00b9")); // 1480 / 8 = 185 = 0xb9
      const { layers, issues } = decodeAs("ipv4", d);
      expect(issues).toEqual([]);
      expect(layers.map((l) => l.layer)).toEqual(["ipv4", "payload"]);
      expect(layers[0]).toMatchObject({ fragmentOffset: 1480, moreFragments: false });
    });
  });
});
