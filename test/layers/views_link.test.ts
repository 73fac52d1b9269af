/**
 * The link-layer views (EthernetView, VlanView, LlcView, ArpView, SllView,
 * Sll2View, LoopbackView) against byte literals worked out by hand: every
 * getter read from a literal, every setter written into a buffer pre-filled
 * with 0xa5 (so a byte written where it should not be, or not written, shows),
 * and check() on short and lying inputs. Headers sit at a non-zero offset so a
 * view that forgets `at` fails.
 */
import { describe, expect, it } from "vitest";
import { ArpView, arpCodec } from "../../layers/arp.ts";
import { decodeAs, decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { ETHERNET_FIELD, EthernetView } from "../../layers/ethernet.ts";
import { LLC_FIELD, LlcView, llcCodec } from "../../layers/llc.ts";
import { LoopbackView } from "../../layers/loopback.ts";
import { linkAddressAt, parseLinkAddress, putLinkAddress, SllView } from "../../layers/sll.ts";
import { Sll2View } from "../../layers/sll2.ts";
import { VlanView } from "../../layers/vlan.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
/** A buffer pre-filled with 0xa5 so unwritten bytes show. */
const a5 = (n: number): Uint8Array => new Uint8Array(n).fill(0xa5);
const ctx = { inner: undefined, outer: undefined, ip: undefined };

/** Whether `sub` is a view of `whole` starting at `offset` (no copy). */
function isViewOf(sub: Uint8Array, whole: Uint8Array, offset: number): boolean {
  return sub.buffer === whole.buffer && sub.byteOffset === whole.byteOffset + offset;
}

describe("EthernetView", () => {
  // 2 bytes before the header (at = 2): dst 02:77:00:00:00:02, src 02:77:00:00:00:01,
  // type 0x0800, then 4 payload bytes.
  const F = hex("ffff 027700000002 027700000001 0800 45000014");

  it("reads every field at its offset", () => {
    const v = new EthernetView(F, 2);
    expect(v.check()).toBeNull();
    expect(v.dst).toEqual(hex("027700000002"));
    expect(isViewOf(v.dst, F, 2)).toBe(true);
    expect(v.dstOffset).toBe(2);
    expect(v.src).toEqual(hex("027700000001"));
    expect(isViewOf(v.src, F, 8)).toBe(true);
    expect(v.srcOffset).toBe(8);
    expect(v.type).toBe(0x0800);
    expect(v.isLength).toBe(false);
    expect(v.payloadStart).toBe(16); // 2 + 14
    expect(v.payloadEnd).toBe(20); // Ethernet II: to the end
    expect(v.payload).toEqual(hex("45000014"));
    expect(ETHERNET_FIELD).toEqual({ DST: 0, SRC: 6, TYPE: 12 });
  });

  it("802.3: the length drops the padding, a lying length keeps the end", () => {
    // length 4 of 6 bytes after the header: 2 bytes of padding
    const f = hex("0180c2000000 020000000001 0004 42420300 0000");
    const v = new EthernetView(f);
    expect(v.type).toBe(4);
    expect(v.isLength).toBe(true);
    expect(v.payloadEnd).toBe(18); // 14 + 4
    expect(v.payload).toEqual(hex("42420300"));
    // length 1500 (the largest length) with 6 bytes: the header is whole, the payload is what is there
    const lying = hex("0180c2000000 020000000001 05dc 424203000000");
    const w = new EthernetView(lying);
    expect(w.isLength).toBe(true);
    expect(w.check()).toBeNull();
    expect(w.payloadEnd).toBe(20);
    // 1501: no longer a length
    expect(new EthernetView(hex("0180c2000000 020000000001 05dd")).isLength).toBe(false);
  });

  it("check: a runt header, and `end` short of the buffer", () => {
    expect(new EthernetView(F, 2, 15).check()).toBe("header needs 14 bytes, got 13");
    expect(new EthernetView(F, 2, 16).check()).toBeNull();
    expect(new EthernetView(new Uint8Array(0)).check()).toBe("header needs 14 bytes, got 0");
  });

  it("writes every field and nothing else", () => {
    const out = a5(16);
    const v = new EthernetView(out, 1);
    v.dst = hex("027700000002");
    expect(out).toEqual(hex("a5 027700000002 a5a5a5a5a5a5 a5a5 a5"));
    v.src = hex("027700000001");
    expect(out).toEqual(hex("a5 027700000002 027700000001 a5a5 a5"));
    v.type = 0x86dd;
    expect(out).toEqual(hex("a5 027700000002 027700000001 86dd a5"));
    expect(() => (v.src = hex("0277000000"))).toThrow(RangeError);
    expect(out).toEqual(hex("a5 027700000002 027700000001 86dd a5"));
  });

  it("reset points the view at other bytes", () => {
    const v = new EthernetView(new Uint8Array(0));
    expect(v.reset(F, 2, 16)).toBe(v);
    expect(v.type).toBe(0x0800);
    expect(v.payloadEnd).toBe(16);
  });
});

describe("Ethernet and ARP build inputs take address bytes", () => {
  // The same frame as test/layers/arp.test.ts, built from bytes instead of text.
  const ARP = "0001 0800 06 04 0001 027700000001 0a4d0001 000000000000 0a4d0002";
  const FRAME = hex("ffffffffffff 027700000001 0806 " + ARP);

  it("bytes and text give the same frame", () => {
    const built = encodePacket([
      { layer: "ethernet", src: hex("027700000001"), dst: hex("ffffffffffff") },
      { layer: "arp", op: 1, senderMac: hex("027700000001"), senderIp: Uint8Array.of(10, 77, 0, 1), targetIp: Uint8Array.of(10, 77, 0, 2) },
    ]);
    expect(built).toEqual(FRAME);
    // text and bytes mixed in one value
    const mixed = encodePacket([
      { layer: "ethernet", src: "02:77:00:00:00:01", dst: hex("ffffffffffff") },
      { layer: "arp", senderMac: "02:77:00:00:00:01", senderIp: Uint8Array.of(10, 77, 0, 1), targetMac: hex("000000000000"), targetIp: "10.77.0.2" },
    ]);
    expect(mixed).toEqual(FRAME);
  });

  it("an IPv6 address as 16 bytes sets the protocol length", () => {
    const ip = hex("fd000000000000000000000000000001");
    const out = a5(8 + 2 * 6 + 2 * 16 + 1);
    arpCodec.write({ layer: "arp", senderIp: ip }, out, ctx);
    // htype 1, ptype 0x0800 (the default: set 0x86dd for IPv6), hlen 6, plen 16 (0x10), op 1;
    // zero MACs; the unset target IP, 0.0.0.0, zero-padded to the sender's 16 bytes
    expect(out).toEqual(hex("0001 0800 06 10 0001 000000000000 fd000000000000000000000000000001 000000000000" + "00".repeat(16) + "a5"));
  });

  it("a MAC of the wrong size is a RangeError", () => {
    expect(() => encodePacket([{ layer: "ethernet", dst: hex("0102030405") }])).toThrow(RangeError);
  });
});

describe("VlanView", () => {
  // at = 1: TCI 0x7064 = 011 1 000001100100: pcp 3, dei 1, id 0x064 = 100; type 0x0800; 2 payload bytes
  const T = hex("00 7064 0800 abcd");

  it("reads every field", () => {
    const v = new VlanView(T, 1);
    expect(v.check()).toBeNull();
    expect(v.tci).toBe(0x7064);
    expect(v.pcp).toBe(3);
    expect(v.dei).toBe(true);
    expect(v.id).toBe(100);
    expect(v.type).toBe(0x0800);
    expect(v.payloadStart).toBe(5);
    expect(v.payloadEnd).toBe(7);
    expect(v.payload).toEqual(hex("abcd"));
    // pcp 7, dei 0, id 4095: TCI 0xefff
    const w = new VlanView(hex("efff 88b5"));
    expect([w.pcp, w.dei, w.id]).toEqual([7, false, 4095]);
  });

  it("an 802.3 length after the tag drops the padding", () => {
    // length 4: LLC 42 42 03 + 1 byte, then 2 bytes of padding
    const v = new VlanView(hex("0005 0004 424203ff 0000"));
    expect(v.payloadEnd).toBe(8);
    expect(v.payload).toEqual(hex("424203ff"));
  });

  it("check: a cut tag", () => {
    expect(new VlanView(T, 1, 4).check()).toBe("tag needs 4 bytes, got 3");
    expect(new VlanView(T, 7).check()).toBe("tag needs 4 bytes, got 0");
  });

  it("writes each TCI field's bits and leaves the others", () => {
    const out = a5(6);
    const v = new VlanView(out, 1);
    // 0xa5a5 = 101 0 010110100101: pcp 5, dei 0, id 0x5a5
    expect([v.pcp, v.dei, v.id]).toEqual([5, false, 0x5a5]);
    v.pcp = 3; // 011 0 010110100101 = 0x65a5
    expect(out).toEqual(hex("a5 65a5 a5a5 a5"));
    v.dei = true; // 0x75a5
    expect(out).toEqual(hex("a5 75a5 a5a5 a5"));
    v.id = 100; // 011 1 000001100100 = 0x7064
    expect(out).toEqual(hex("a5 7064 a5a5 a5"));
    v.dei = false; // 0x6064
    expect(out).toEqual(hex("a5 6064 a5a5 a5"));
    v.pcp = 9; // only the low 3 bits (1): 001 0 000001100100 = 0x2064
    expect(out).toEqual(hex("a5 2064 a5a5 a5"));
    v.type = 0x8100;
    expect(out).toEqual(hex("a5 2064 8100 a5"));
    v.tci = 0xffff;
    expect(out).toEqual(hex("a5 ffff 8100 a5"));
  });
});

describe("LlcView", () => {
  it("U format: one-byte control", () => {
    // at = 2: DSAP 0x42, SSAP 0x43, control 0x03 (low bits 11: one byte), 2 data bytes
    const b = hex("ffff 424303 0102");
    const v = new LlcView(b, 2);
    expect(v.check()).toBeNull();
    expect(v.dsap).toBe(0x42);
    expect(v.ssap).toBe(0x43);
    expect(v.controlLength).toBe(1);
    expect(v.control).toBe(3);
    expect(v.isSnap).toBe(false);
    expect(v.basicLength).toBe(3);
    expect(v.headerLength).toBe(3);
    expect(v.ouiOffset).toBe(5);
    expect(v.payloadStart).toBe(5);
    expect(v.payloadEnd).toBe(7);
    expect(v.payload).toEqual(hex("0102"));
  });

  it("I format: two-byte control", () => {
    // control 00 02: the first byte's low bits are 00 → two bytes, 0x0002
    const v = new LlcView(hex("f0f0 0002 abcd"));
    expect(v.controlLength).toBe(2);
    expect(v.control).toBe(2);
    expect(v.basicLength).toBe(4);
    expect(v.headerLength).toBe(4);
    expect(v.payload).toEqual(hex("abcd"));
  });

  it("SNAP: OUI and protocol id at RFC 1042's offsets", () => {
    // aa aa 03, OUI 00000c (Cisco), type 0x2000 (CDP), 2 data bytes; at = 1
    const b = hex("00 aaaa03 00000c 2000 0102");
    const v = new LlcView(b, 1);
    expect(v.check()).toBeNull();
    expect(v.isSnap).toBe(true);
    expect(v.ouiOffset).toBe(4);
    expect(v.oui).toBe(0x00000c);
    expect(v.type).toBe(0x2000);
    expect(v.headerLength).toBe(8);
    expect(v.payload).toEqual(hex("0102"));
    expect(LLC_FIELD).toEqual({ DSAP: 0, SSAP: 1, CONTROL: 2, OUI: 3, TYPE: 6 });
  });

  it("check: short, a cut two-byte control, a cut SNAP extension", () => {
    expect(new LlcView(hex("4242")).check()).toBe("header needs 3 bytes, got 2");
    expect(new LlcView(hex("f0f000")).check()).toBe("header needs 4 bytes, got 3");
    // the byte after `end` is never read: a two-byte control cut at `end` fails, whatever follows
    expect(new LlcView(hex("f0f0 00 03"), 0, 3).check()).toBe("header needs 4 bytes, got 3");
    expect(new LlcView(hex("aaaa0300")).check()).toBe("SNAP header needs 8 bytes, got 4");
    expect(new LlcView(hex("aaaa0300000008")).check()).toBe("SNAP header needs 8 bytes, got 7");
    expect(new LlcView(hex("aaaa0300000008 06")).check()).toBeNull();
  });

  it("as before: a two-byte control of value 3 counts as UI, SNAP fields at the fixed offsets", () => {
    // aa aa, control 00 03 (two bytes, value 3): OUI from bytes 3..5 = 03 00 00, type from 6..7 = 0x0800
    const r = decodeAs("llc", hex("aaaa 0003 0000 0800 ff"));
    expect(r.layers[0]).toEqual({ layer: "llc", dsap: 0xaa, ssap: 0xaa, control: 3, oui: 0x030000, type: 0x0800 });
    expect(r.layers[1]).toEqual({ layer: "payload", data: hex("ff") });
  });

  it("writes every field", () => {
    const out = a5(10);
    const v = new LlcView(out, 1);
    v.dsap = 0xaa;
    expect(out).toEqual(hex("a5 aa a5 a5 a5a5a5 a5a5 a5"));
    v.ssap = 0xab;
    expect(out).toEqual(hex("a5 aa ab a5 a5a5a5 a5a5 a5"));
    v.control = 3; // U format, one byte: byte 3 stays
    expect(out).toEqual(hex("a5 aa ab 03 a5a5a5 a5a5 a5"));
    v.oui = 0x123456;
    expect(out).toEqual(hex("a5 aa ab 03 123456 a5a5 a5"));
    v.type = 0x0806;
    expect(out).toEqual(hex("a5 aa ab 03 123456 0806 a5"));
    v.control = 0x0102; // I format: two bytes, over the OUI's first byte
    expect(out).toEqual(hex("a5 aa ab 01 023456 0806 a5"));
    expect(v.controlLength).toBe(2);
    v.control = 0x13; // low bits 11 and one byte: U format
    expect(out).toEqual(hex("a5 aa ab 13 023456 0806 a5"));
  });

  it("the codec: SNAP fields set on purpose after a two-byte control follow it", () => {
    const v = { layer: "llc", control: 2, oui: 0x123456, type: 0x0800 } as const;
    expect(llcCodec.headerLength(v, ctx)).toBe(9);
    const out = a5(10);
    llcCodec.write(v, out, ctx);
    expect(out).toEqual(hex("aaaa 0002 123456 0800 a5"));
  });
});

describe("ArpView", () => {
  // at = 14 (after an Ethernet header): htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (request),
  // sha 02:77:00:00:00:01, spa 10.77.0.1, tha 00:00:00:00:00:00, tpa 10.77.0.2; 2 bytes of padding
  const ARP = "0001 0800 06 04 0001 027700000001 0a4d0001 000000000000 0a4d0002";
  const F = hex("ffffffffffff 027700000001 0806 " + ARP + "0000");

  it("reads every field; the addresses at offsets the lengths give", () => {
    const v = new ArpView(F, 14);
    expect(v.check()).toBeNull();
    expect(v.hardwareType).toBe(1);
    expect(v.protocolType).toBe(0x0800);
    expect(v.hardwareLength).toBe(6);
    expect(v.protocolLength).toBe(4);
    expect(v.op).toBe(1);
    expect(v.messageLength).toBe(28); // 8 + 2×6 + 2×4
    expect(v.senderMacOffset).toBe(22); // 14 + 8
    expect(v.senderIpOffset).toBe(28); // + 6
    expect(v.targetMacOffset).toBe(32); // + 4
    expect(v.targetIpOffset).toBe(38); // + 6
    expect(v.senderMac).toEqual(hex("027700000001"));
    expect(isViewOf(v.senderMac, F, 22)).toBe(true);
    expect(v.senderIp).toEqual(hex("0a4d0001"));
    expect(v.targetMac).toEqual(hex("000000000000"));
    expect(v.targetIp).toEqual(hex("0a4d0002"));
    expect(isViewOf(v.targetIp, F, 38)).toBe(true);
    // no payload: the padding after the message is not ARP's
    expect(v.payloadStart).toBe(42);
    expect(v.payloadEnd).toBe(42);
    expect(v.payload.length).toBe(0);
  });

  it("other sizes move the addresses", () => {
    // hlen 8, plen 4: addresses at 8, 16, 20, 28; 32 bytes
    const v = new ArpView(hex("0006 0800 08 04 0002 0102030405060708 0a000001 1112131415161718 0a000002"));
    expect(v.check()).toBeNull();
    expect(v.messageLength).toBe(32);
    expect([v.senderMacOffset, v.senderIpOffset, v.targetMacOffset, v.targetIpOffset]).toEqual([8, 16, 20, 28]);
    expect(v.targetMac).toEqual(hex("1112131415161718"));
    expect(v.targetIp).toEqual(hex("0a000002"));
  });

  it("check: the fixed part, then what the lengths state", () => {
    expect(new ArpView(hex("0001 0800 06")).check()).toBe("message needs 8 bytes, got 5");
    expect(new ArpView(F, 14, 41).check()).toBe("message needs 28 bytes, got 27");
    expect(new ArpView(F, 14, 42).check()).toBeNull();
    // hlen 255, plen 255: 8 + 2×255 + 2×255 = 1028
    expect(new ArpView(hex("0001 0800 ff ff 0001")).check()).toBe("message needs 1028 bytes, got 8");
  });

  it("writes every field; addresses need the stated lengths first", () => {
    const out = a5(30);
    const v = new ArpView(out, 1);
    v.hardwareType = 1;
    v.protocolType = 0x0800;
    expect(out.subarray(0, 6)).toEqual(hex("a5 0001 0800 a5"));
    v.hardwareLength = 6;
    v.protocolLength = 4;
    v.op = 2;
    expect(out.subarray(0, 10)).toEqual(hex("a5 0001 0800 06 04 0002 a5"));
    v.senderMac = hex("027700000002");
    v.senderIp = hex("0a4d0002");
    v.targetMac = hex("027700000001");
    v.targetIp = hex("0a4d0001");
    expect(out).toEqual(hex("a5 0001 0800 06 04 0002 027700000002 0a4d0002 027700000001 0a4d0001 a5"));
    expect(() => (v.senderIp = hex("0a4d00"))).toThrow(RangeError);
    expect(() => (v.targetMac = hex("0102030405060708"))).toThrow(RangeError);
    expect(out).toEqual(hex("a5 0001 0800 06 04 0002 027700000002 0a4d0002 027700000001 0a4d0001 a5"));
  });
});

describe("SllView", () => {
  // at = 1: packet type 4 (outgoing), ARPHRD_ETHER 1, address length 6, address 02:77:00:00:00:01
  // in the 8-byte field, protocol 0x0800; 2 payload bytes
  const S = hex("00 0004 0001 0006 027700000001 0000 0800 4500");

  it("reads every field", () => {
    const v = new SllView(S, 1);
    expect(v.check()).toBeNull();
    expect(v.packetType).toBe(4);
    expect(v.addressType).toBe(1);
    expect(v.addressLength).toBe(6);
    expect(v.addressOffset).toBe(7);
    expect(v.address).toEqual(hex("027700000001"));
    expect(isViewOf(v.address, S, 7)).toBe(true);
    expect(v.protocol).toBe(0x0800);
    expect(v.payloadStart).toBe(17);
    expect(v.payloadEnd).toBe(19);
    expect(v.payload).toEqual(hex("4500"));
  });

  it("a lying address length shows the 8 stored bytes only", () => {
    const v = new SllView(hex("0000 0001 0014 0102030405060708 88b5"));
    expect(v.addressLength).toBe(20);
    expect(v.address).toEqual(hex("0102030405060708"));
  });

  it("check: a short header", () => {
    expect(new SllView(S, 1, 16).check()).toBe("header needs 16 bytes, got 15");
    expect(new SllView(S, 1, 17).check()).toBeNull();
  });

  it("writes every field; the address setter fills the whole 8-byte field", () => {
    const out = a5(18);
    const v = new SllView(out, 1);
    v.packetType = 4;
    v.addressType = 0x0321;
    v.addressLength = 6;
    expect(out).toEqual(hex("a5 0004 0321 0006 a5a5a5a5a5a5a5a5 a5a5 a5"));
    v.address = hex("027700000001");
    expect(out).toEqual(hex("a5 0004 0321 0006 0277000000010000 a5a5 a5"));
    v.protocol = 0x86dd;
    expect(out).toEqual(hex("a5 0004 0321 0006 0277000000010000 86dd a5"));
    expect(() => (v.address = new Uint8Array(9))).toThrow(RangeError);
  });

  it("link-address helpers", () => {
    expect(parseLinkAddress("01:02:0a")).toEqual(hex("01020a"));
    expect(parseLinkAddress("1-2")).toEqual(hex("0102"));
    expect(parseLinkAddress("")).toEqual(new Uint8Array(0));
    expect(() => parseLinkAddress("01:02:03:04:05:06:07:08:09")).toThrow(RangeError);
    expect(() => parseLinkAddress("01:xyz")).toThrow(RangeError);
    const out = a5(10);
    putLinkAddress(out, 1, hex("0102"));
    expect(out).toEqual(hex("a5 0102000000000000 a5"));
    expect(linkAddressAt(out, 1, 3)).toEqual(hex("010200"));
    expect(linkAddressAt(out, 1, 300).length).toBe(8);
  });
});

describe("Sll2View", () => {
  // at = 2: protocol 0x86dd, reserved 0, ifindex 0x80000002 (above 2^31: stays unsigned),
  // ARPHRD_ETHER 1, packet type 3 (to another host), address length 6, address; 1 payload byte
  const S = hex("ffff 86dd 0000 80000002 0001 03 06 027700000002 0000 60");

  it("reads every field", () => {
    const v = new Sll2View(S, 2);
    expect(v.check()).toBeNull();
    expect(v.protocol).toBe(0x86dd);
    expect(v.reserved).toBe(0);
    expect(v.interfaceIndex).toBe(0x80000002);
    expect(v.addressType).toBe(1);
    expect(v.packetType).toBe(3);
    expect(v.addressLength).toBe(6);
    expect(v.addressOffset).toBe(14);
    expect(v.address).toEqual(hex("027700000002"));
    expect(isViewOf(v.address, S, 14)).toBe(true);
    expect(v.payloadStart).toBe(22);
    expect(v.payload).toEqual(hex("60"));
  });

  it("check: a short header", () => {
    expect(new Sll2View(S, 2, 21).check()).toBe("header needs 20 bytes, got 19");
    expect(new Sll2View(S, 2, 22).check()).toBeNull();
  });

  it("writes every field", () => {
    const out = a5(22);
    const v = new Sll2View(out, 1);
    v.protocol = 0x0800;
    v.reserved = 0;
    v.interfaceIndex = 0xfffffffe;
    expect(out).toEqual(hex("a5 0800 0000 fffffffe a5a5 a5 a5 a5a5a5a5a5a5a5a5 a5"));
    v.addressType = 1;
    v.packetType = 4;
    v.addressLength = 6;
    expect(out).toEqual(hex("a5 0800 0000 fffffffe 0001 04 06 a5a5a5a5a5a5a5a5 a5"));
    v.address = hex("027700000002");
    expect(out).toEqual(hex("a5 0800 0000 fffffffe 0001 04 06 0277000000020000 a5"));
  });
});

describe("LoopbackView", () => {
  it("reads the family in either byte order", () => {
    // at = 1: 1e 00 00 00 — the high end is not zero: little-endian, 30 (macOS AF_INET6)
    const little = new LoopbackView(hex("ff 1e000000 6000"), 1);
    expect(little.check()).toBeNull();
    expect(little.byteOrder).toBe("little");
    expect(little.family).toBe(30);
    expect(little.payloadStart).toBe(5);
    expect(little.payload).toEqual(hex("6000"));
    // 00 00 00 18: big-endian (LINKTYPE_LOOP), 24
    const big = new LoopbackView(hex("00000018"));
    expect(big.byteOrder).toBe("big");
    expect(big.family).toBe(24);
    // a large little-endian family stays unsigned: ff ff ff ff
    expect(new LoopbackView(hex("ffffffff")).family).toBe(0xffffffff);
  });

  it("check: a short header", () => {
    expect(new LoopbackView(hex("020000")).check()).toBe("header needs 4 bytes, got 3");
  });

  it("setFamily writes all 4 bytes in the order asked", () => {
    const out = a5(6);
    const v = new LoopbackView(out, 1);
    v.setFamily(30, "little");
    expect(out).toEqual(hex("a5 1e000000 a5"));
    expect([v.family, v.byteOrder]).toEqual([30, "little"]);
    v.setFamily(2, "big");
    expect(out).toEqual(hex("a5 00000002 a5"));
    expect([v.family, v.byteOrder]).toEqual([2, "big"]);
    v.setFamily(0x01020304, "little");
    expect(out).toEqual(hex("a5 04030201 a5"));
  });
});

describe("the decoders read what the views read", () => {
  it("Ethernet, VLAN and SLL through decodePacket agree with the views", () => {
    const f = hex("027700000002 027700000001 8100 7064 88b5 0102");
    const eth = new EthernetView(f);
    const tag = new VlanView(f, eth.payloadStart);
    const { layers } = decodePacket(f, 1);
    expect(layers[0]).toEqual({ layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: eth.type });
    expect(layers[1]).toEqual({ layer: "vlan", tpid: eth.type, id: tag.id, pcp: tag.pcp, dei: tag.dei, type: tag.type });
    expect(layers[2]).toEqual({ layer: "payload", data: tag.payload });
  });
});
