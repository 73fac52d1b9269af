import { describe, expect, it } from "vitest";
import { arpCodec } from "../../layers/arp.ts";
import { decodeAs, decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

// Who has 10.77.0.2? Tell 10.77.0.1 — Ethernet broadcast, 28-byte ARP, 18 bytes of padding to 60.
// ARP: htype 0001, ptype 0800, hlen 06, plen 04, op 0001, sha 02:77:00:00:00:01, spa 0a4d0001 (10.77.0.1),
//      tha 00:00:00:00:00:00, tpa 0a4d0002 (10.77.0.2)
const ARP = "0001 0800 06 04 0001 027700000001 0a4d0001 000000000000 0a4d0002";
const FRAME = hex("ffffffffffff 027700000001 0806 " + ARP + "00".repeat(18));

describe("ARP", () => {
  it("decodes field by field and drops the padding", () => {
    const { layers, issues } = decodePacket(FRAME, 1);
    expect(issues).toEqual([]);
    expect(layers).toEqual([
      { layer: "ethernet", src: "02:77:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff", type: 0x0806 },
      {
        layer: "arp",
        hardwareType: 1,
        protocolType: 0x0800,
        hardwareLength: 6,
        protocolLength: 4,
        op: 1,
        senderMac: "02:77:00:00:00:01",
        senderIp: "10.77.0.1",
        targetMac: "00:00:00:00:00:00",
        targetIp: "10.77.0.2",
      },
    ]);
  });
  it("encodes back byte for byte; unwritten bytes stay", () => {
    const v = { layer: "arp", op: 1, senderMac: "02:77:00:00:00:01", senderIp: "10.77.0.1", targetIp: "10.77.0.2" } as const;
    expect(encodePacket([{ layer: "ethernet", src: "02:77:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" }, v])).toEqual(FRAME.subarray(0, 42));
    const out = new Uint8Array(30).fill(0xa5);
    arpCodec.write(v, out, { inner: undefined, outer: undefined, ip: undefined });
    expect(out).toEqual(hex(ARP + "a5a5"));
    // a reply, and explicit nonsense lengths written as given
    const reply = encodePacket([{ layer: "arp", op: 2, hardwareLength: 9, senderMac: "02:77:00:00:00:02", senderIp: "10.77.0.2", targetMac: "02:77:00:00:00:01", targetIp: "10.77.0.1" }]);
    expect(reply).toEqual(hex("0001 0800 09 04 0002 027700000002 0a4d0002 027700000001 0a4d0001"));
  });
  it("other address sizes decode in colon hex", () => {
    // hlen 8, plen 4 (e.g. EUI-64 hardware): 8 + 2×8 + 2×4 = 32 bytes
    const m = hex("0006 0800 08 04 0002 0102030405060708 0a000001 1112131415161718 0a000002");
    expect(decodeAs("arp", m).layers[0]).toMatchObject({ senderMac: "01:02:03:04:05:06:07:08", senderIp: "10.0.0.1", targetMac: "11:12:13:14:15:16:17:18" });
  });
  it("hostile: cut message, huge stated lengths", () => {
    expect(decodeAs("arp", hex(ARP).subarray(0, 20)).issues).toEqual([{ layer: "arp", kind: "truncated", reason: "message needs 28 bytes, got 20" }]);
    expect(decodeAs("arp", hex("0001 0800 ff ff 0001")).issues[0]!.reason).toBe("message needs 1028 bytes, got 8");
    expect(decodeAs("arp", hex("0001")).issues[0]!.reason).toBe("message needs 8 bytes, got 2");
  });
});
