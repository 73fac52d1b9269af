import { describe, expect, it } from "vitest";
import { decodeAs, decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { ethernetCodec } from "../../layers/ethernet.ts";
import { llcCodec } from "../../layers/llc.ts";
import type { EncodeContext } from "../../layers/core.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const ctx: EncodeContext = { inner: undefined, outer: undefined, ip: undefined };
/** A buffer pre-filled with 0xa5 so unwritten bytes show. */
const a5 = (n: number): Uint8Array => new Uint8Array(n).fill(0xa5);

// dst 02:77:00:00:00:02, src 02:77:00:00:00:01, type 0x88b5 (local experimental = 34997), payload de ad be ef
const ETH2 = hex("027700000002 027700000001 88b5 deadbeef");

describe("Ethernet II", () => {
  it("decodes field by field; unknown type leaves the rest as payload", () => {
    const { layers, issues } = decodePacket(ETH2, 1);
    expect(issues).toEqual([]);
    expect(layers).toEqual([
      { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: 0x88b5 },
      { layer: "payload", data: hex("deadbeef") },
    ]);
    expect(Object.keys(layers[0]!)).toEqual(["layer", "src", "dst", "type"]);
  });

  it("encodes back byte for byte", () => {
    expect(
      encodePacket([
        { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: 0x88b5 },
        { layer: "payload", data: hex("deadbeef") },
      ]),
    ).toEqual(ETH2);
    const out = a5(18);
    ethernetCodec.write({ layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: 0x88b5 }, out, ctx);
    expect(out).toEqual(hex("027700000002 027700000001 88b5 a5a5a5a5"));
  });

  it("fills the type from the layer inside and zero MACs by default", () => {
    const arp = encodePacket([{ layer: "ethernet" }, { layer: "arp" }]);
    expect(arp.subarray(0, 14)).toEqual(hex("000000000000 000000000000 0806"));
    expect(encodePacket([{ layer: "ethernet" }, { layer: "ipv4" }]).subarray(12, 14)).toEqual(hex("0800"));
    expect(encodePacket([{ layer: "ethernet" }, { layer: "ipv6" }]).subarray(12, 14)).toEqual(hex("86dd"));
    expect(encodePacket([{ layer: "ethernet" }, { layer: "vlan" }]).subarray(12, 14)).toEqual(hex("8100"));
    expect(encodePacket([{ layer: "ethernet" }, { layer: "vlan", tpid: 0x88a8 }]).subarray(12, 14)).toEqual(hex("88a8"));
    // an explicit type wins, even a nonsense one
    expect(encodePacket([{ layer: "ethernet", type: 0x1234 }, { layer: "ipv4" }]).subarray(12, 14)).toEqual(hex("1234"));
  });

  it("hostile: a runt frame is an issue, not a throw", () => {
    const runt = ETH2.subarray(0, 13);
    const r = decodePacket(runt, 1);
    expect(r.issues).toEqual([{ layer: "ethernet", kind: "truncated", reason: "header needs 14 bytes, got 13" }]);
    expect(r.layers).toEqual([{ layer: "payload", data: runt }]);
    // the whole frame was captured (length = caplen): the frame itself is malformed
    expect(decodePacket(runt, 1, { length: 13 }).issues[0]!.kind).toBe("malformed");
    expect(decodePacket(new Uint8Array(0), 1).layers).toEqual([]);
  });
});

describe("IEEE 802.3 with LLC", () => {
  // dst 01:80:c2:00:00:00, src 02:00:00:00:00:01, length 7 = LLC 3 + 4 data; then 3 bytes of padding
  // LLC: DSAP 0x42 SSAP 0x42 (spanning tree), control 0x03 (UI, U-format: low bits 11 → one byte)
  const FRAME = hex("0180c2000000 020000000001 0007 424203 00000000 000000");

  it("decodes length, LLC, payload; drops the padding", () => {
    const { layers, issues } = decodePacket(FRAME, 1);
    expect(issues).toEqual([]);
    expect(layers).toEqual([
      { layer: "ethernet", src: "02:00:00:00:00:01", dst: "01:80:c2:00:00:00", length: 7 },
      { layer: "llc", dsap: 0x42, ssap: 0x42, control: 3 },
      { layer: "payload", data: hex("00000000") },
    ]);
  });

  it("encodes: length derived from the payload under LLC", () => {
    const built = encodePacket([
      { layer: "ethernet", src: "02:00:00:00:00:01", dst: "01:80:c2:00:00:00" },
      { layer: "llc", dsap: 0x42, ssap: 0x42 },
      { layer: "payload", data: hex("00000000") },
    ]);
    expect(built).toEqual(FRAME.subarray(0, 21));
  });

  it("SNAP: OUI and protocol id; OUI 0 dispatches by ethertype", () => {
    // length 12 = LLC aa aa 03 + OUI 00000c (Cisco) + type 0x2000 (CDP) + 4 bytes
    const cdp = hex("01000ccccccc 020000000001 000c aaaa03 00000c 2000 01020304");
    expect(decodePacket(cdp, 1).layers.slice(1)).toEqual([
      { layer: "llc", dsap: 0xaa, ssap: 0xaa, control: 3, oui: 0x00000c, type: 0x2000 },
      { layer: "payload", data: hex("01020304") },
    ]);
    // OUI 0, type 0x0806: an ARP message follows (RFC 1042 encapsulation); 8 + 28 = 36 = 0x24
    const arp = hex("ffffffffffff 020000000001 0024 aaaa03 000000 0806 0001080006040001 020000000001 0a000001 000000000000 0a000002");
    expect(decodePacket(arp, 1).layers.map((l) => l.layer)).toEqual(["ethernet", "llc", "arp"]);
    // Builder: SNAP chosen for an inner layer that has an ethertype
    const built = encodePacket([
      { layer: "ethernet", src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" },
      { layer: "llc" },
      { layer: "arp", senderMac: "02:00:00:00:00:01", senderIp: "10.0.0.1", targetIp: "10.0.0.2" },
    ]);
    expect(built).toEqual(arp);
  });

  it("two-byte control for I-format PDUs", () => {
    // DSAP f0 SSAP f0 (NetBIOS), control 00 02: first byte's low bits are 00 → I-format, two bytes
    const f = hex("030000000001 020000000001 0006 f0f0 0002 abcd");
    expect(decodePacket(f, 1).layers.slice(1)).toEqual([
      { layer: "llc", dsap: 0xf0, ssap: 0xf0, control: 0x0002 },
      { layer: "payload", data: hex("abcd") },
    ]);
    const out = a5(6);
    llcCodec.write({ layer: "llc", dsap: 0xf0, ssap: 0xf0, control: 0x0002 }, out, ctx);
    expect(out).toEqual(hex("f0f00002a5a5"));
  });

  it("hostile: a length past the data, a cut LLC", () => {
    const lying = hex("0180c2000000 020000000001 0064 424203 00");
    const r = decodePacket(lying, 1);
    expect(r.issues).toEqual([{ layer: "ethernet", kind: "truncated", reason: "length 100 exceeds 4 bytes" }]);
    expect(r.layers.map((l) => l.layer)).toEqual(["ethernet", "llc", "payload"]);
    expect(decodePacket(lying, 1, { length: lying.length }).issues[0]!.kind).toBe("malformed");
    const cut = decodeAs("llc", hex("4242"));
    expect(cut.issues).toEqual([{ layer: "llc", kind: "truncated", reason: "header needs 3 bytes, got 2" }]);
    const snapCut = decodeAs("llc", hex("aaaa0300"));
    expect(snapCut.issues[0]!.reason).toBe("SNAP header needs 8 bytes, got 4");
  });
});
