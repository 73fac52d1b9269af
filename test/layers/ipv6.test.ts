import { describe, expect, it } from "vitest";
import { decodeAs } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { ipv6Codec, MAX_IPV6_EXTENSIONS, type Ipv6 } from "../../layers/ipv6.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const ctx = { inner: undefined, outer: undefined, ip: undefined };

const SRC = "fd770000000000000000000000000001"; // fd77::1
const DST = "fd770000000000000000000000000002"; // fd77::2
// Fixed header: 6 | traffic class 0x12 | flow label 0x34567 → 61 23 45 67
// payload length 52 = 0x34 (8 + 24 + 8 + 8 extension bytes + 4 payload), next header 0 (hop-by-hop), hop limit 255
const FIXED = "61234567 0034 00ff" + SRC + DST;
// Hop-by-hop: next 43, len 0 (8 bytes): router alert 05 02 0000, PadN 01 00
const HBH = "2b00 05020000 0100";
// Routing: next 44, len 2 (24 bytes), type 0, segments left 1, reserved 00000000, 2001:db8::9
const RH = "2c02 0001 00000000 20010db8000000000000000000000009";
// Fragment: next 60, reserved, offset 0 with M = 1 (0x0001), identification 0x12345678
const FH = "3c00 0001 12345678";
// Destination options: next 253, len 0: Pad1 00, PadN 01 03 000000
const DOH = "fd00 00 0103000000";
const DATAGRAM = hex(FIXED + HBH + RH + FH + DOH + "cafebabe");

const expected: Ipv6 = {
  layer: "ipv6",
  version: 6,
  trafficClass: 0x12,
  flowLabel: 0x34567,
  payloadLength: 52,
  nextHeader: 0,
  hopLimit: 255,
  src: "fd77::1",
  dst: "fd77::2",
  extensions: [
    {
      type: "hopByHop",
      nextHeader: 43,
      headerLength: 8,
      options: [
        { type: 5, name: "routerAlert", data: hex("0000") },
        { type: 1, name: "padN", data: new Uint8Array(0) },
      ],
    },
    { type: "routing", nextHeader: 44, headerLength: 24, routingType: 0, segmentsLeft: 1, data: hex("00000000 20010db8000000000000000000000009"), addresses: ["2001:db8::9"] },
    { type: "fragment", nextHeader: 60, headerLength: 8, fragmentOffset: 0, moreFragments: true, identification: 0x12345678 },
    {
      type: "destination",
      nextHeader: 253,
      headerLength: 8,
      options: [
        { type: 0, name: "pad1", data: new Uint8Array(0) },
        { type: 1, name: "padN", data: hex("000000") },
      ],
    },
  ],
};

describe("IPv6", () => {
  it("decodes the fixed header and a chain of four extension headers", () => {
    const { layers, issues } = decodeAs("ipv6", hex(FIXED + HBH + RH + FH + DOH + "cafebabe" + "0000")); // + link padding
    expect(issues).toEqual([]);
    expect(layers).toEqual([expected, { layer: "payload", data: hex("cafebabe") }]);
  });

  it("encodes back byte for byte: next headers chained, options padded with Pad1/PadN", () => {
    const built = encodePacket([
      {
        layer: "ipv6",
        trafficClass: 0x12,
        flowLabel: 0x34567,
        hopLimit: 255,
        src: "fd77::1",
        dst: "fd77::2",
        extensions: [
          { type: "hopByHop", options: [{ type: 5, data: hex("0000") }] },
          { type: "routing", segmentsLeft: 1, addresses: ["2001:db8::9"] },
          { type: "fragment", moreFragments: true, identification: 0x12345678 },
          { type: "destination", nextHeader: 253, options: [{ type: 0 }] },
        ],
      },
      { layer: "payload", data: hex("cafebabe") },
    ]);
    expect(built).toEqual(DATAGRAM);
    const out = new Uint8Array(42).fill(0xa5);
    ipv6Codec.write({ layer: "ipv6", trafficClass: 0x12, flowLabel: 0x34567, hopLimit: 255, nextHeader: 0, payloadLength: 52, src: "fd77::1", dst: "fd77::2" }, out, ctx);
    expect(out).toEqual(hex(FIXED + "a5a5"));
  });

  it("defaults: hop limit 64, next header from the inner layer (59 when none), addresses ::", () => {
    expect(encodePacket([{ layer: "ipv6" }])).toEqual(hex("60000000 0000 3b40" + "00".repeat(32)));
    expect(encodePacket([{ layer: "ipv6" }, { layer: "udp" }])[6]).toBe(17);
    expect(encodePacket([{ layer: "ipv6" }, { layer: "icmpv6" }])[6]).toBe(58);
    expect(encodePacket([{ layer: "ipv6", extensions: [{ type: "fragment" }] }, { layer: "tcp" }]).subarray(6, 7)).toEqual(hex("2c"));
    expect(encodePacket([{ layer: "ipv6", extensions: [{ type: "fragment" }] }, { layer: "tcp" }])[40]).toBe(6);
  });

  it("ends the chain cleanly at no-next-header, AH, ESP and unknown values", () => {
    for (const nh of [59, 50, 51, 99]) {
      const d = hex(`60000000 0004 ${nh.toString(16).padStart(2, "0")}40` + SRC + DST + "01020304");
      const r = decodeAs("ipv6", d);
      expect(r.issues).toEqual([]);
      expect(r.layers.map((l) => l.layer)).toEqual(["ipv6", "payload"]);
    }
  });

  it("a later fragment stops with the rest as payload", () => {
    // fragment header, offset 1448 (0x5a8 = 181 × 8; field 181 << 3 = 0x05a8), M = 0, next header 17
    const d = hex("60000000 000c 2c40" + SRC + DST + "1100 05a8 00000001" + "01020304");
    const r = decodeAs("ipv6", d);
    expect(r.issues).toEqual([]);
    expect(r.layers.map((l) => l.layer)).toEqual(["ipv6", "payload"]);
    expect((r.layers[0] as Ipv6).extensions[0]).toMatchObject({ fragmentOffset: 1448, moreFragments: false, identification: 1 });
  });

  describe("hostile input ends in an issue", () => {
    it("short header, wrong version", () => {
      expect(decodeAs("ipv6", hex("60000000 0000 3b40")).issues).toEqual([{ layer: "ipv6", kind: "truncated", reason: "header needs 40 bytes, got 8" }]);
      expect(decodeAs("ipv6", hex("40000000 0000 3b40" + SRC + DST)).issues).toEqual([{ layer: "ipv6", kind: "malformed", reason: "version 4 is not 6" }]);
    });
    it("an extension header longer than the payload length is malformed", () => {
      // payload length 8, hop-by-hop says len 1 (16 bytes); 16 bytes are there but beyond the stated length
      const d = hex("60000000 0008 0040" + SRC + DST + "3b01 0000 00000000 00000000 00000000");
      const r = decodeAs("ipv6", d);
      expect(r.issues).toEqual([{ layer: "ipv6", kind: "malformed", reason: "hopByHop header needs 16 bytes, 8 left" }]);
      expect(r.layers[0]).toMatchObject({ layer: "ipv6", extensions: [] });
    });
    it("an extension header cut by the capture is truncated", () => {
      const cut = DATAGRAM.subarray(0, 40 + 8 + 10);
      const r = decodeAs("ipv6", cut);
      expect(r.issues).toEqual([
        { layer: "ipv6", kind: "truncated", reason: "payload length 52 exceeds 18 bytes" },
        { layer: "ipv6", kind: "truncated", reason: "routing header needs 24 bytes, 10 left" },
      ]);
      expect((r.layers[0] as Ipv6).extensions.map((e) => e.type)).toEqual(["hopByHop"]);
    });
    it("an option longer than its header", () => {
      const d = hex("60000000 0008 0040" + SRC + DST + "3b00 0509 00000000");
      expect(decodeAs("ipv6", d).issues).toEqual([{ layer: "ipv6", kind: "malformed", reason: "option 5 length 9 exceeds the 4 bytes left in the header" }]);
    });
    it(`more than ${MAX_IPV6_EXTENSIONS} extension headers`, () => {
      const n = 40;
      const d = hex(`60000000 ${(n * 8).toString(16).padStart(4, "0")} 3c40` + SRC + DST + "3c00 01040000 0000".repeat(n));
      const r = decodeAs("ipv6", d);
      expect(r.issues).toEqual([{ layer: "ipv6", kind: "malformed", reason: `more than ${MAX_IPV6_EXTENSIONS} extension headers` }]);
      expect((r.layers[0] as Ipv6).extensions.length).toBe(MAX_IPV6_EXTENSIONS);
    });
    it("payload length past the data", () => {
      const d = hex("60000000 0100 3b40" + SRC + DST + "0102");
      const r = decodeAs("ipv6", d);
      expect(r.issues).toEqual([{ layer: "ipv6", kind: "truncated", reason: "payload length 256 exceeds 2 bytes" }]);
      expect(r.layers.at(-1)).toEqual({ layer: "payload", data: hex("0102") });
    });
  });
});
