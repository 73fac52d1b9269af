import { describe, expect, it } from "vitest";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { LINKTYPE } from "../../layers/link_type.ts";
import { loopbackCodec } from "../../layers/loopback.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

// Minimal IPv4 header, protocol 59, 10.0.0.1 → 10.0.0.2, total length 20.
// Checksum: 4500 + 0014 + 0000 + 0000 + 403b + 0a00 + 0001 + 0a00 + 0002 = 0x9952 → ~ = 0x66ad
const IPV4 = "4500 0014 0000 0000 403b 66ad 0a000001 0a000002";
// Minimal IPv6 header: payload length 0, next header 59, hop limit 64, :: → ::1
const IPV6 = "6000 0000 0000 3b40" + "00".repeat(16) + "00".repeat(15) + "01";

describe("BSD loopback", () => {
  it("DLT_NULL little-endian AF_INET", () => {
    const { layers, issues } = decodePacket(hex("02000000" + IPV4), LINKTYPE.NULL);
    expect(issues).toEqual([]);
    expect(layers[0]).toEqual({ layer: "loopback", family: 2, byteOrder: "little" });
    expect(layers[1]).toMatchObject({ layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", checksumValid: true });
  });
  it.each([
    [LINKTYPE.NULL, "0a000000", 10, "little"], // Linux AF_INET6, little-endian host
    [LINKTYPE.NULL, "1e000000", 30, "little"], // macOS
    [LINKTYPE.NULL, "0000001c", 28, "big"], // FreeBSD on a big-endian host
    [LINKTYPE.LOOP, "00000018", 24, "big"], // OpenBSD DLT_LOOP: network order
  ] as const)("link type %i, header %s: AF_INET6 = %i", (lt, head, family, order) => {
    const { layers, issues } = decodePacket(hex(head + IPV6), lt);
    expect(issues).toEqual([]);
    expect(layers[0]).toEqual({ layer: "loopback", family, byteOrder: order });
    expect(layers[1]).toMatchObject({ layer: "ipv6", src: "::", dst: "::1", nextHeader: 59 });
  });
  it("an unknown family leaves the rest as payload", () => {
    expect(decodePacket(hex("07000000 0102"), LINKTYPE.NULL).layers).toEqual([
      { layer: "loopback", family: 7, byteOrder: "little" },
      { layer: "payload", data: hex("0102") },
    ]);
  });
  it("encodes: network order by default, little on request, family from the inner layer", () => {
    expect(encodePacket([{ layer: "loopback" }, { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", protocol: 59 }])).toEqual(hex("00000002" + IPV4));
    expect(encodePacket([{ layer: "loopback", byteOrder: "little" }, { layer: "ipv6", dst: "::1" }])).toEqual(hex("18000000" + IPV6));
    const out = new Uint8Array(6).fill(0xa5);
    loopbackCodec.write({ layer: "loopback", family: 30, byteOrder: "little" }, out, { inner: undefined, outer: undefined, ip: undefined });
    expect(out).toEqual(hex("1e000000 a5a5"));
  });
  it("hostile: short header", () => {
    expect(decodePacket(hex("020000"), LINKTYPE.NULL).issues).toEqual([{ layer: "loopback", kind: "truncated", reason: "header needs 4 bytes, got 3" }]);
  });
});
