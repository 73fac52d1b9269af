import { describe, expect, it } from "vitest";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { sllCodec } from "../../layers/sll.ts";
import { sll2Codec } from "../../layers/sll2.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const ctx = { inner: undefined, outer: undefined, ip: undefined };

// SLL v1: packet type 4 (outgoing), ARPHRD_ETHER 1, address length 6, address (8-byte field), protocol 0x88b5
const SLL = hex("0004 0001 0006 027700000001 0000 88b5 cafe");
// SLL2: protocol 0x88b5, reserved, ifindex 2, ARPHRD_ETHER 1, packet type 0 (host), length 6, address
const SLL2 = hex("88b5 0000 00000002 0001 00 06 027700000002 0000 cafe");

describe("Linux cooked capture v1", () => {
  it("decodes field by field", () => {
    const { layers, issues } = decodePacket(SLL, 113);
    expect(issues).toEqual([]);
    expect(layers).toEqual([
      { layer: "sll", packetType: 4, addressType: 1, addressLength: 6, address: "02:77:00:00:00:01", protocol: 0x88b5 },
      { layer: "payload", data: hex("cafe") },
    ]);
  });
  it("encodes back; unwritten bytes stay", () => {
    const v = { layer: "sll", packetType: 4, addressType: 1, address: "02:77:00:00:00:01", protocol: 0x88b5 } as const;
    expect(encodePacket([v, { layer: "payload", data: hex("cafe") }])).toEqual(SLL);
    const out = new Uint8Array(18).fill(0xa5);
    sllCodec.write(v, out, ctx);
    expect(out).toEqual(hex("0004 0001 0006 027700000001 0000 88b5 a5a5"));
    // protocol from the layer inside; ETH_P_802_2 (4) for LLC
    expect(encodePacket([{ layer: "sll" }, { layer: "ipv6" }]).subarray(14, 16)).toEqual(hex("86dd"));
    expect(encodePacket([{ layer: "sll" }, { layer: "llc" }]).subarray(14, 16)).toEqual(hex("0004"));
  });
  it("non-Ethernet addresses in colon hex; protocol 4 is LLC", () => {
    // ARPHRD_IEEE80211 801, address length 8 → colon hex of all 8 bytes
    const f = hex("0000 0321 0008 0102030405060708 0004 424203");
    expect(decodePacket(f, 113).layers).toEqual([
      { layer: "sll", packetType: 0, addressType: 801, addressLength: 8, address: "01:02:03:04:05:06:07:08", protocol: 4 },
      { layer: "llc", dsap: 0x42, ssap: 0x42, control: 3 },
    ]);
    // a lying address length (20) shows at most the 8 stored bytes
    const lying = hex("0000 0001 0014 0102030405060708 88b5");
    expect((decodePacket(lying, 113).layers[0] as { address: string }).address).toBe("01:02:03:04:05:06:07:08");
  });
  it("hostile: short header", () => {
    expect(decodePacket(SLL.subarray(0, 15), 113).issues).toEqual([{ layer: "sll", kind: "truncated", reason: "header needs 16 bytes, got 15" }]);
  });
});

describe("Linux cooked capture v2", () => {
  it("decodes field by field", () => {
    const { layers, issues } = decodePacket(SLL2, 276);
    expect(issues).toEqual([]);
    expect(layers).toEqual([
      { layer: "sll2", protocol: 0x88b5, interfaceIndex: 2, addressType: 1, packetType: 0, addressLength: 6, address: "02:77:00:00:00:02" },
      { layer: "payload", data: hex("cafe") },
    ]);
  });
  it("encodes back; unwritten bytes stay", () => {
    const v = { layer: "sll2", protocol: 0x88b5, interfaceIndex: 2, address: "02:77:00:00:00:02" } as const;
    expect(encodePacket([v, { layer: "payload", data: hex("cafe") }])).toEqual(SLL2);
    const out = new Uint8Array(22).fill(0xa5);
    sll2Codec.write(v, out, ctx);
    expect(out).toEqual(hex("88b5 0000 00000002 0001 00 06 027700000002 0000 a5a5"));
    // a 32-bit interface index above 2^31 stays unsigned
    expect((decodePacket(hex("0800 0000 ffffffff 0001 00 00 0000000000000000"), 276).layers[0] as { interfaceIndex: number }).interfaceIndex).toBe(0xffffffff);
  });
  it("hostile: short header", () => {
    expect(decodePacket(SLL2.subarray(0, 19), 276).issues).toEqual([{ layer: "sll2", kind: "truncated", reason: "header needs 20 bytes, got 19" }]);
  });
});
