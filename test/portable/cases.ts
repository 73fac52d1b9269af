/**
 * The layer tests' literal cases in runtime-neutral TypeScript: every protocol
 * decoded field by field from bytes worked out by hand, built back byte for
 * byte, the checksum primitives and the address text forms (RFC 5952). They
 * import only the public API of layers/mod.ts and use only web-standard
 * JavaScript, so one file proves that layers/ runs unchanged in Node (vitest),
 * Deno, Bun and a browser (see test/portable.test.ts and the runners beside
 * this file).
 *
 * The literals and their arithmetic come from test/layers/*.test.ts (worked by
 * hand there); the few new frames carry their arithmetic in a comment.
 *
 * @module
 */
import {
  checksumOk,
  decodeAs,
  decodePacket,
  encodeInto,
  encodePacket,
  finishChecksum,
  foldSum,
  formatHexColon,
  formatIp,
  formatIpv4,
  formatIpv6,
  formatMac,
  internetChecksum,
  ipFamily,
  LINKTYPE,
  onesSum,
  parseIp,
  parseIpv4,
  parseIpv6,
  parseMac,
  pseudoHeaderSum,
  transportChecksum,
  type AnyInput,
  type AnyLayer,
  type DecodedPacket,
} from "../../layers/mod.ts";
import { ascii, equal, hex, match, ok, throws } from "./assert.ts";

/** One portable case: a name and a function that throws when something is wrong. */
export interface Case {
  name: string;
  run: () => void;
}

/** Every case, in order. */
export const cases: Case[] = [];

function add(name: string, run: () => void): void {
  cases.push({ name, run });
}

/** The input type of one layer kind, e.g. `InputOf<"tcp">`. */
type InputOf<K extends AnyInput["layer"]> = Extract<AnyInput, { layer: K }>;

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const layerNames = (r: DecodedPacket): string[] => r.layers.map((l: AnyLayer) => l.layer);

// ---------------------------------------------------------------------------
// Addresses (layers/addr.ts)

add("addr: MAC formats lower-case colon form at an offset and parses colon and dash forms", () => {
  equal(formatMac(hex("ff02770000000a0b"), 1), "02:77:00:00:00:0a", "formatMac at 1");
  equal(formatMac(hex("ffffffffffff")), "ff:ff:ff:ff:ff:ff", "formatMac broadcast");
  equal(formatHexColon(hex("0102ab")), "01:02:ab", "formatHexColon");
  equal(parseMac("02:77:00:00:00:0A"), hex("02770000000a"), "parseMac colon");
  equal(parseMac("aa-bb-cc-dd-ee-ff"), hex("aabbccddeeff"), "parseMac dash");
  for (const s of ["", "02:77:00:00:00", "02:77:00:00:00:0g", "02:77-00:00:00:00", "002:77:00:00:00:00"]) {
    throws(() => parseMac(s), RangeError, `Invalid MAC address: "${s}"`, `parseMac(${JSON.stringify(s)})`);
  }
});

add("addr: IPv4 formats and parses dotted quads, rejects bad text", () => {
  equal(formatIpv4(hex("00c0a800ff"), 1), "192.168.0.255", "formatIpv4 at 1");
  equal(parseIpv4("10.77.0.2"), hex("0a4d0002"), "parseIpv4");
  equal(parseIpv4("0.0.0.0"), hex("00000000"), "parseIpv4 zero");
  for (const s of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3", " 1.2.3.4"]) {
    throws(() => parseIpv4(s), RangeError, `Invalid IPv4 address: "${s}"`, `parseIpv4(${JSON.stringify(s)})`);
  }
});

add("addr: IPv6 text is RFC 5952 (longest zero run, leftmost on a tie, no single-group ::, mapped IPv4)", () => {
  const table: [string, string][] = [
    ["20010db8000000000000000000000001", "2001:db8::1"], // §4.2.1 longest run
    ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"], // §4.2.3 tie: leftmost
    ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"], // §4.2.2 one zero group not compressed
    ["20010db8000000000001000000000000", "2001:db8:0:0:1::"], // longer run wins over the first
    ["00000000000000000000000000000000", "::"],
    ["00000000000000000000000000000001", "::1"],
    ["fe800000000000000000000000000000", "fe80::"],
    ["00000000000000000000ffffc0000201", "::ffff:192.0.2.1"], // §5 IPv4-mapped
    ["fd770000000000000000000000000002", "fd77::2"],
    ["20010db8aaaabbbbccccddddeeeeffff", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"],
    ["0001000000000000000000000000ffff", "1::ffff"],
  ];
  for (const [h, t] of table) {
    equal(formatIpv6(hex(h)), t, `formatIpv6(${h})`);
    equal(formatIpv6(hex("ee" + h), 1), t, `formatIpv6(ee${h}, 1)`);
    equal(parseIpv6(t), hex(h), `parseIpv6(${t})`);
  }
});

add("addr: IPv6 parses long forms, upper case and embedded IPv4, rejects bad text", () => {
  equal(formatIpv6(parseIpv6("2001:0DB8:0000:0000:0000:0000:0000:0001")), "2001:db8::1", "long form");
  equal(formatIpv6(parseIpv6("::192.0.2.1")), "::c000:201", "IPv4-compatible");
  equal(parseIpv6("1:2:3:4:5:6:1.2.3.4"), hex("0001000200030004000500060102 0304"), "embedded IPv4");
  for (const s of ["", ":", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7::8", ":1::", "::1.2.3", "fe80::1%eth0"]) {
    throws(() => parseIpv6(s), RangeError, `Invalid IPv6 address: "${s}"`, `parseIpv6(${JSON.stringify(s)})`);
  }
});

add("addr: parseIp, ipFamily and formatIp pick the family", () => {
  equal(parseIp("10.0.0.1"), hex("0a000001"), "parseIp v4");
  equal(parseIp("::1"), hex("00000000000000000000000000000001"), "parseIp v6");
  equal([ipFamily("10.0.0.1"), ipFamily("fd77::1")], [4, 6], "ipFamily");
  equal(formatIp(hex("0a4d0001")), "10.77.0.1", "formatIp v4");
  equal(formatIp(hex("ff fd770000000000000000000000000001"), 1), "fd77::1", "formatIp v6 at 1");
  throws(() => parseIp("1.2.3"), RangeError, 'Invalid IPv4 address: "1.2.3"', "parseIp(1.2.3)");
});

// ---------------------------------------------------------------------------
// Checksums (layers/checksum.ts)

add("checksum: RFC 1071 §3 example 0001 f203 f4f5 f6f7", () => {
  // 0x0001 + 0xf203 + 0xf4f5 + 0xf6f7 = 0x2ddf0; fold: 0xddf0 + 0x2 = 0xddf2; ~ = 0x220d
  equal(onesSum(hex("0001f203f4f5f6f7")), 0x2ddf0, "onesSum");
  equal(foldSum(0x2ddf0), 0xddf2, "foldSum");
  equal(finishChecksum(0x2ddf0), 0x220d, "finishChecksum");
  equal(internetChecksum(hex("0001f203f4f5f6f7")), 0x220d, "internetChecksum");
});

add("checksum: an odd final byte is padded with zero; ranges sum only their bytes", () => {
  // 0x0102 + 0x0300 = 0x0402
  equal(onesSum(hex("010203")), 0x0402, "onesSum odd");
  equal(onesSum(hex("ff010203ff"), 1, 4), 0x0402, "onesSum range");
  // the sum is not folded: 0x0102 + an initial 0xfffe = 0x10100, folded 0x0100 + 1 = 0x0101
  equal(onesSum(hex("0102"), 0, 2, 0xfffe), 0x10100, "onesSum with an initial sum");
  equal(foldSum(0x10100), 0x0101, "foldSum of it");
});

add("checksum: IPv4 header 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7", () => {
  const h = hex("450000730000400040110000c0a80001c0a800c7");
  // 4500+0073+0000+4000+4011+c0a8+0001+c0a8+00c7 = 0x2479c → 0x479e → ~ = 0xb861
  equal(internetChecksum(h), 0xb861, "internetChecksum");
  h[10] = 0xb8;
  h[11] = 0x61;
  equal(checksumOk(h), true, "checksumOk with the checksum in place");
  h[19] = h[19]! ^ 1;
  equal(checksumOk(h), false, "checksumOk after a flipped bit");
});

add("checksum: sums beyond 32 bits fold to 0xffff", () => {
  // 2^19 words of 0xffff: every fold of k × 0xffff is 0xffff.
  equal(foldSum(onesSum(new Uint8Array(1 << 20).fill(0xff))), 0xffff, "foldSum");
});

add("checksum: pseudo-header sums (IPv4 and IPv6) and the transport checksum to write", () => {
  // 10.0.0.1 → 10.0.0.2, UDP, length 10: 0a00+0001+0a00+0002 + 0011 + 000a = 0x141e
  equal(foldSum(pseudoHeaderSum(hex("0a000001"), hex("0a000002"), 17, 10)), 0x141e, "IPv4 pseudo-header");
  // ::1 → ::2, next header 58, length 0x10008 (jumbo): 1 + 2 + 58 + 0x0008 + 0x0001 = 0x46
  const v6a = hex("00000000000000000000000000000001");
  const v6b = hex("00000000000000000000000000000002");
  equal(pseudoHeaderSum(v6a, v6b, 58, 0x10008), 0x46, "IPv6 pseudo-header");
  // UDP 1 → 2 "hi": 0x141e + 0001+0002+000a+0000+6869 = 0x141e + 0x6876 = 0x7c94 → ~ = 0x836b
  equal(transportChecksum(hex("00010002000a00006869"), 10, 17, hex("0a000001"), hex("0a000002")), 0x836b, "transportChecksum");
});

// ---------------------------------------------------------------------------
// Ethernet, 802.3/LLC, VLAN (layers/ethernet.ts, llc.ts, vlan.ts)

// dst 02:77:00:00:00:02, src 02:77:00:00:00:01, type 0x88b5 (local experimental), payload de ad be ef
const ETH2 = hex("027700000002 027700000001 88b5 deadbeef");

add("ethernet: Ethernet II decodes field by field in field order; unknown type leaves payload", () => {
  const r = decodePacket(ETH2, LINKTYPE.ETHERNET);
  equal(r.issues, [], "issues");
  equal(r.layers, [
    { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: 0x88b5 },
    { layer: "payload", data: hex("deadbeef") },
  ], "layers");
  equal(Object.keys(r.layers[0]!), ["layer", "src", "dst", "type"], "ethernet key order");
});

add("ethernet: encodes back byte for byte; type from the inner layer, explicit type wins", () => {
  const built = encodePacket([
    { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: 0x88b5 },
    { layer: "payload", data: hex("deadbeef") },
  ]);
  equal(built, ETH2, "Ethernet II");
  equal(encodePacket([{ layer: "ethernet" }, { layer: "arp" }]).subarray(0, 14), hex("000000000000 000000000000 0806"), "ARP inside");
  equal(encodePacket([{ layer: "ethernet" }, { layer: "ipv4" }]).subarray(12, 14), hex("0800"), "IPv4 inside");
  equal(encodePacket([{ layer: "ethernet" }, { layer: "ipv6" }]).subarray(12, 14), hex("86dd"), "IPv6 inside");
  equal(encodePacket([{ layer: "ethernet" }, { layer: "vlan", tpid: 0x88a8 }]).subarray(12, 14), hex("88a8"), "S-tag inside");
  equal(encodePacket([{ layer: "ethernet", type: 0x1234 }, { layer: "ipv4" }]).subarray(12, 14), hex("1234"), "explicit type");
});

add("ethernet: a runt frame is an issue, not a throw; whole-frame length makes it malformed", () => {
  const runt = ETH2.subarray(0, 13);
  const r = decodePacket(runt, LINKTYPE.ETHERNET);
  equal(r.issues, [{ layer: "ethernet", kind: "truncated", reason: "header needs 14 bytes, got 13" }], "issues");
  equal(r.layers, [{ layer: "payload", data: runt }], "layers");
  equal(decodePacket(runt, LINKTYPE.ETHERNET, { length: 13 }).issues[0]?.kind, "malformed", "kind with length 13");
  equal(decodePacket(new Uint8Array(0), LINKTYPE.ETHERNET).layers, [], "empty frame");
});

add("llc: 802.3 length, LLC header, padding dropped; built back with the length derived", () => {
  // length 7 = LLC 3 + 4 data; then 3 bytes of padding. DSAP 42 SSAP 42 (STP), control 03 (UI)
  const frame = hex("0180c2000000 020000000001 0007 424203 00000000 000000");
  const r = decodePacket(frame, LINKTYPE.ETHERNET);
  equal(r.issues, [], "issues");
  equal(r.layers, [
    { layer: "ethernet", src: "02:00:00:00:00:01", dst: "01:80:c2:00:00:00", length: 7 },
    { layer: "llc", dsap: 0x42, ssap: 0x42, control: 3 },
    { layer: "payload", data: hex("00000000") },
  ], "layers");
  const built = encodePacket([
    { layer: "ethernet", src: "02:00:00:00:00:01", dst: "01:80:c2:00:00:00" },
    { layer: "llc", dsap: 0x42, ssap: 0x42 },
    { layer: "payload", data: hex("00000000") },
  ]);
  equal(built, frame.subarray(0, 21), "built");
});

add("llc: SNAP with OUI 0 carries ARP (RFC 1042), decoded and built", () => {
  // length 0x24 = 36 = LLC aa aa 03 + OUI 000000 + type 0806 (8) + ARP (28)
  const frame = hex("ffffffffffff 020000000001 0024 aaaa03 000000 0806 0001080006040001 020000000001 0a000001 000000000000 0a000002");
  const r = decodePacket(frame, LINKTYPE.ETHERNET);
  equal(layerNames(r), ["ethernet", "llc", "arp"], "layers");
  equal(r.layers[1], { layer: "llc", dsap: 0xaa, ssap: 0xaa, control: 3, oui: 0, type: 0x0806 }, "llc");
  const built = encodePacket([
    { layer: "ethernet", src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" },
    { layer: "llc" },
    { layer: "arp", senderMac: "02:00:00:00:00:01", senderIp: "10.0.0.1", targetIp: "10.0.0.2" },
  ]);
  equal(built, frame, "built");
});

// 802.1ad QinQ: S-tag (TPID 0x88a8) TCI pcp 3 → 0x6000, dei → 0x1000, id 100 = 0x064: 0x7064;
// C-tag (0x8100) TCI 0x0007; then type 0x88b5.
const QINQ = hex("027700000002 027700000001 88a8 7064 8100 0007 88b5 0102");

add("vlan: stacked tags decode field by field in field order", () => {
  const r = decodePacket(QINQ, LINKTYPE.ETHERNET);
  equal(r.issues, [], "issues");
  equal(r.layers.slice(1), [
    { layer: "vlan", tpid: 0x88a8, id: 100, pcp: 3, dei: true, type: 0x8100 },
    { layer: "vlan", tpid: 0x8100, id: 7, pcp: 0, dei: false, type: 0x88b5 },
    { layer: "payload", data: hex("0102") },
  ], "layers");
  equal(Object.keys(r.layers[1]!), ["layer", "tpid", "id", "pcp", "dei", "type"], "vlan key order");
  equal(decodePacket(hex("027700000002 027700000001 9100 0fff 0800"), 1).layers[1], { layer: "vlan", tpid: 0x9100, id: 4095, pcp: 0, dei: false, type: 0x0800 }, "0x9100 tag");
});

add("vlan: encodes back byte for byte, types derived from the tags", () => {
  const built = encodePacket([
    { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02" },
    { layer: "vlan", tpid: 0x88a8, id: 100, pcp: 3, dei: true },
    { layer: "vlan", id: 7, type: 0x88b5 },
    { layer: "payload", data: hex("0102") },
  ]);
  equal(built, QINQ, "QinQ");
  equal(encodePacket([{ layer: "vlan", id: 1 }, { layer: "ipv4" }]).subarray(0, 4), hex("0001 0800"), "tag over IPv4");
});

add("vlan: a cut tag and 400 stacked tags end with a reason (16 tags decoded, the rest payload)", () => {
  equal(decodePacket(hex("027700000002 027700000001 8100 00"), 1).issues, [{ layer: "vlan", kind: "truncated", reason: "tag needs 4 bytes, got 1" }], "cut tag");
  let parts = "027700000002 027700000001 8100";
  for (let i = 0; i < 400; i++) parts += (i + 1).toString(16).padStart(4, "0") + "8100";
  const r = decodePacket(hex(parts), 1);
  // Ethernet, 16 tags, then the 384 tags left (4 bytes each) as one payload.
  equal(r.layers.length, 18, "layers");
  equal(r.layers[16], { layer: "vlan", tpid: 0x8100, id: 16, pcp: 0, dei: false, type: 0x8100 }, "last tag decoded");
  equal(r.layers[17]!.layer, "payload", "the rest");
  equal((r.layers[17] as { data: Uint8Array }).data.length, 384 * 4, "the rest's length");
  equal(r.issues, [{ layer: "vlan", kind: "malformed", reason: "more than 16 stacked tags" }], "issues");
});

// ---------------------------------------------------------------------------
// ARP (layers/arp.ts)

// Who has 10.77.0.2? Tell 10.77.0.1: htype 1, ptype 0800, hlen 6, plen 4, op 1, sha 02:77:00:00:00:01,
// spa 0a4d0001, tha 0, tpa 0a4d0002; Ethernet broadcast, 18 bytes of padding to 60.
const ARP = "0001 0800 06 04 0001 027700000001 0a4d0001 000000000000 0a4d0002";
const ARP_FRAME = hex("ffffffffffff 027700000001 0806 " + ARP + "00".repeat(18));

add("arp: decodes field by field and drops the padding", () => {
  const r = decodePacket(ARP_FRAME, LINKTYPE.ETHERNET);
  equal(r.issues, [], "issues");
  equal(r.layers, [
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
  ], "layers");
});

add("arp: encodes back byte for byte; explicit nonsense lengths are written as given", () => {
  const request = encodePacket([
    { layer: "ethernet", src: "02:77:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" },
    { layer: "arp", op: 1, senderMac: "02:77:00:00:00:01", senderIp: "10.77.0.1", targetIp: "10.77.0.2" },
  ]);
  equal(request, ARP_FRAME.subarray(0, 42), "request");
  const reply = encodePacket([{ layer: "arp", op: 2, hardwareLength: 9, senderMac: "02:77:00:00:00:02", senderIp: "10.77.0.2", targetMac: "02:77:00:00:00:01", targetIp: "10.77.0.1" }]);
  equal(reply, hex("0001 0800 09 04 0002 027700000002 0a4d0002 027700000001 0a4d0001"), "reply");
});

add("arp: 8-byte hardware addresses in colon hex; cut messages are issues", () => {
  const m = hex("0006 0800 08 04 0002 0102030405060708 0a000001 1112131415161718 0a000002");
  match(decodeAs("arp", m).layers[0], { senderMac: "01:02:03:04:05:06:07:08", senderIp: "10.0.0.1", targetMac: "11:12:13:14:15:16:17:18" }, "arp");
  equal(decodeAs("arp", hex(ARP).subarray(0, 20)).issues, [{ layer: "arp", kind: "truncated", reason: "message needs 28 bytes, got 20" }], "cut");
  equal(decodeAs("arp", hex("0001 0800 ff ff 0001")).issues[0]?.reason, "message needs 1028 bytes, got 8", "huge lengths");
});

// ---------------------------------------------------------------------------
// IPv4 (layers/ipv4.ts)

// IHL 8 (12 option bytes), DSCP 46 ECN 1, total 40, id 1c46, DF, TTL 64, protocol 253.
// checksum: 48b9+0028+1c46+4000+40fd+c0a8+0001+c0a8+00c7+9404+0000+0107+0704+0a00+0009
//   = 0x30e54 → 0x0e54 + 3 = 0x0e57 → ~ = 0xf1a8
// options: 94 04 0000 (router alert) | 01 (NOP) | 07 07 04 0a000009 (record route, ptr 4, 10.0.0.9)
const IPV4_HEADER = "48b9 0028 1c46 4000 40fd f1a8 c0a80001 c0a800c7 94040000 01 0707040a000009";
const IPV4_FIELDS = {
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
  src: "192.168.0.1",
  dst: "192.168.0.199",
} as const;

add("ipv4: decodes field by field, options named, link padding dropped", () => {
  const r = decodeAs("ipv4", hex(IPV4_HEADER + "0102030405060708 000000000000"));
  equal(r.issues, [], "issues");
  equal(r.layers, [
    {
      layer: "ipv4",
      ...IPV4_FIELDS,
      checksum: 0xf1a8,
      checksumValid: true,
      options: [
        { type: 148, name: "routerAlert", length: 4, data: hex("0000"), value: 0 },
        { type: 1, name: "nop", length: 1, data: new Uint8Array(0) },
        { type: 7, name: "recordRoute", length: 7, data: hex("040a000009"), pointer: 4, addresses: ["10.0.0.9"] },
      ],
    },
    { layer: "payload", data: hex("0102030405060708") },
  ], "layers");
});

add("ipv4: encodes back byte for byte from fields and parsed options, checksum computed", () => {
  const built = encodePacket([
    { layer: "ipv4", ...IPV4_FIELDS, options: [{ type: 148, value: 0 }, { type: 1 }, { type: 7, pointer: 4, addresses: ["10.0.0.9"] }] },
    { layer: "payload", data: hex("0102030405060708") },
  ]);
  equal(built, hex(IPV4_HEADER + "0102030405060708"), "datagram");
});

add("ipv4: defaults, protocol from the inner layer, options padded; explicit wrong fields as given", () => {
  // 4500 0014 0000 0000 4000 [ck] 0 0: 0x4500 + 0x0014 + 0x4000 = 0x8514 → ~ = 0x7aeb
  equal(encodePacket([{ layer: "ipv4" }]), hex("4500 0014 0000 0000 4000 7aeb 00000000 00000000"), "defaults");
  equal([encodePacket([{ layer: "ipv4" }, { layer: "udp" }])[9], encodePacket([{ layer: "ipv4" }, { layer: "tcp" }])[9], encodePacket([{ layer: "ipv4" }, { layer: "icmp" }])[9], encodePacket([{ layer: "ipv4" }, { layer: "ipv4" }])[9]], [17, 6, 1, 4], "protocols");
  // NOP padded with EOL to 4 bytes: IHL 6
  const nop = encodePacket([{ layer: "ipv4", options: [{ type: 1 }] }]);
  equal([nop[0], nop.subarray(20)], [0x46, hex("01000000")], "NOP option");
  // version 5, IHL 15, total 999 = 03e7, MF + offset 1 = 2001, TTL 0, checksum 1234
  const wrong = encodePacket([{ layer: "ipv4", checksum: 0x1234, totalLength: 999, headerLength: 60, version: 5, ttl: 0, fragmentOffset: 8, moreFragments: true }]);
  equal(wrong, hex("5f00 03e7 0000 2001 0000 1234 00000000 00000000"), "explicit fields");
});

add("ipv4: timestamp options (flag 0 and 1), unknown options raw, EOL ends the list", () => {
  const opts = "440c0d00 00000001 01020304 440c0501 0a000001 00000007";
  const v = decodeAs("ipv4", hex("4b00 002c 0000 0000 40fd 0000 0a000001 0a000002" + opts)).layers[0];
  match(v, {
    checksumValid: false, // the zero checksum field is wrong
    options: [
      { type: 68, name: "timestamp", length: 12, data: hex("0d00 00000001 01020304"), pointer: 13, overflow: 0, flag: 0, timestamps: [1, 0x01020304] },
      { type: 68, name: "timestamp", length: 12, data: hex("0501 0a000001 00000007"), pointer: 5, overflow: 0, flag: 1, timestamps: [7], addresses: ["10.0.0.1"] },
    ],
  }, "timestamps");
  const u = decodeAs("ipv4", hex("4700 001c 0000 0000 40fd 0000 0a000001 0a000002 9e03ff 00 ffffffff")).layers[0];
  match(u, { options: [{ type: 0x9e, name: "unknown", length: 3, data: hex("ff") }, { type: 0, name: "eol", length: 1, data: new Uint8Array(0) }] }, "unknown and EOL");
});

add("ipv4: hostile headers end in an issue", () => {
  const table: [string, string][] = [
    ["4500 0014 0000 0000 40fd 0000 0a000001 0a0000", "truncated: header needs 20 bytes, got 19"],
    ["6500 0014 0000 0000 40fd 0000 0a000001 0a000002", "malformed: version 6 is not 4"],
    ["4400 0014 0000 0000 40fd 0000 0a000001 0a000002", "malformed: header length 16 is less than 20"],
    ["4500 000a 0000 0000 40fd 0000 0a000001 0a000002", "malformed: total length 10 is less than header length 20"],
    ["4600 0018 0000 0000 40fd 0000 0a000001 0a000002 07000000", "malformed: option 7 length 0 is less than 2"],
    ["4600 0018 0000 0000 40fd 0000 0a000001 0a000002 07280000", "malformed: option 7 length 40 exceeds the 4 bytes left in the header"],
    ["4600 0018 0000 0000 40fd 0000 0a000001 0a000002 01010183", "malformed: option 131 has no length octet"],
  ];
  for (const [bytes, issue] of table) {
    const r = decodeAs("ipv4", hex(bytes));
    equal(r.issues.map((i) => `${i.kind}: ${i.reason}`), [issue], `issues of ${bytes}`);
  }
});

// ---------------------------------------------------------------------------
// IPv6 and its extension headers (layers/ipv6.ts)

const SRC6 = "fd770000000000000000000000000001"; // fd77::1
const DST6 = "fd770000000000000000000000000002"; // fd77::2
// 6 | traffic class 0x12 | flow label 0x34567; payload length 52 = 8 + 24 + 8 + 8 + 4; next header 0; hop limit 255
const FIXED6 = "61234567 0034 00ff" + SRC6 + DST6;
const HBH = "2b00 05020000 0100"; // next 43, len 0: router alert 05 02 0000, PadN 01 00
const RH = "2c02 0001 00000000 20010db8000000000000000000000009"; // next 44, len 2, type 0, segments left 1, 2001:db8::9
const FH = "3c00 0001 12345678"; // next 60, offset 0, M = 1, identification 0x12345678
const DOH = "fd00 00 0103000000"; // next 253, len 0: Pad1, PadN 01 03 000000
const IPV6_DATAGRAM = hex(FIXED6 + HBH + RH + FH + DOH + "cafebabe");

add("ipv6: decodes the fixed header and a chain of four extension headers", () => {
  const r = decodeAs("ipv6", hex(FIXED6 + HBH + RH + FH + DOH + "cafebabe" + "0000"));
  equal(r.issues, [], "issues");
  equal(r.layers, [
    {
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
        { type: "hopByHop", nextHeader: 43, headerLength: 8, options: [{ type: 5, name: "routerAlert", data: hex("0000") }, { type: 1, name: "padN", data: new Uint8Array(0) }] },
        { type: "routing", nextHeader: 44, headerLength: 24, routingType: 0, segmentsLeft: 1, data: hex("00000000 20010db8000000000000000000000009"), addresses: ["2001:db8::9"] },
        { type: "fragment", nextHeader: 60, headerLength: 8, fragmentOffset: 0, moreFragments: true, identification: 0x12345678 },
        { type: "destination", nextHeader: 253, headerLength: 8, options: [{ type: 0, name: "pad1", data: new Uint8Array(0) }, { type: 1, name: "padN", data: hex("000000") }] },
      ],
    },
    { layer: "payload", data: hex("cafebabe") },
  ], "layers");
});

add("ipv6: encodes back byte for byte, next headers chained, options padded with Pad1/PadN", () => {
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
  equal(built, IPV6_DATAGRAM, "datagram");
  equal(encodePacket([{ layer: "ipv6" }]), hex("60000000 0000 3b40" + "00".repeat(32)), "defaults");
  equal([encodePacket([{ layer: "ipv6" }, { layer: "udp" }])[6], encodePacket([{ layer: "ipv6" }, { layer: "icmpv6" }])[6]], [17, 58], "next header from the inner layer");
});

add("ipv6: later fragments stop with the rest as payload; hostile chains end in an issue", () => {
  // fragment header, offset 1448 (181 << 3 = 0x05a8), M = 0, next header 17
  const later = decodeAs("ipv6", hex("60000000 000c 2c40" + SRC6 + DST6 + "1100 05a8 00000001" + "01020304"));
  equal(later.issues, [], "later fragment issues");
  equal(layerNames(later), ["ipv6", "payload"], "later fragment layers");
  match(later.layers[0], { extensions: [{ fragmentOffset: 1448, moreFragments: false, identification: 1 }] }, "fragment header");
  equal(decodeAs("ipv6", hex("40000000 0000 3b40" + SRC6 + DST6)).issues, [{ layer: "ipv6", kind: "malformed", reason: "version 4 is not 6" }], "version 4");
  // payload length 8, hop-by-hop len 1 (16 bytes) beyond it
  const long = decodeAs("ipv6", hex("60000000 0008 0040" + SRC6 + DST6 + "3b01 0000 00000000 00000000 00000000"));
  equal(long.issues, [{ layer: "ipv6", kind: "malformed", reason: "hopByHop header needs 16 bytes, 8 left" }], "extension past the payload length");
  const many = decodeAs("ipv6", hex("60000000 0140 3c40" + SRC6 + DST6 + "3c00 01040000 0000".repeat(40)));
  equal(many.issues, [{ layer: "ipv6", kind: "malformed", reason: "more than 16 extension headers" }], "40 destination option headers");
});

// ---------------------------------------------------------------------------
// ICMP (layers/icmp.ts)

// Echo request, id 0x1234, seq 1, "abcd": 0800 + 1234 + 0001 + 6162 + 6364 = defb → ~ = 2104
const ECHO = hex("0800 2104 1234 0001 6162 6364");
// 10.77.0.1:40000 → 10.77.0.2:9999 "hi" (UDP checksum bf84, see the UDP case) in IPv4: total 30, id 1, DF, TTL 64.
//   4500+001e+0001+4000+4011+0a4d+0001+0a4d+0002 = d9cd → ~ = 2632
const UDP4 = hex("4500 001e 0001 4000 4011 2632 0a4d 0001 0a4d 0002  9c40 270f 000a bf84 6869");
// Port unreachable quoting it: 0303 + ffff (quoted IPv4 header with its checksum) + 1eb46 (quoted UDP)
//   = 2ee48 → ee4a → ~ = 11b5
const UNREACHABLE = hex("0303 11b5 0000 0000" + "4500 001e 0001 4000 4011 2632 0a4d 0001 0a4d 0002  9c40 270f 000a bf84 6869");

add("icmp: an echo request decodes field by field and is built back byte for byte", () => {
  const r = decodeAs("icmp", ECHO);
  equal(r.issues, [], "issues");
  equal(r.layers, [
    { layer: "icmp", type: 8, code: 0, checksum: 0x2104, checksumValid: true, checksumStatus: "good", identifier: 0x1234, sequence: 1 },
    { layer: "payload", data: hex("6162 6364") },
  ], "layers");
  equal(encodePacket([{ layer: "icmp", identifier: 0x1234, sequence: 1 }, { layer: "payload", data: hex("61626364") }]), ECHO, "built");
  const bad = ECHO.slice();
  bad[8] = 0x62;
  match(decodeAs("icmp", bad).layers[0], { checksumValid: false, checksumStatus: "bad" }, "flipped data");
});

add("icmp: an error's quoted datagram decodes as IPv4 and UDP layers; built over its quote", () => {
  const r = decodeAs("icmp", UNREACHABLE);
  equal(r.issues, [], "issues");
  equal(r.layers.length, 1, "layer count");
  const icmp = r.layers[0] as { quoted?: DecodedPacket; nextHopMtu?: number };
  match(icmp, { layer: "icmp", type: 3, code: 3, checksum: 0x11b5, checksumValid: true }, "icmp");
  equal(icmp.nextHopMtu, undefined, "nextHopMtu");
  equal(icmp.quoted?.issues, [], "quoted issues");
  match(icmp.quoted?.layers, [
    { layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2", protocol: 17, totalLength: 30, checksumValid: true },
    { layer: "udp", srcPort: 40000, dstPort: 9999, length: 10, checksumStatus: "good" },
    { layer: "payload", data: hex("6869") },
  ], "quoted layers");
  equal(encodePacket([{ layer: "icmp", type: 3, code: 3 }, { layer: "payload", data: UDP4 }]), UNREACHABLE, "built");
});

add("icmp: inside IPv4, decoded and built byte for byte", () => {
  // 10.77.0.2 → 10.77.0.1, total 20 + 38 = 58 (003a), id 2, TTL 64, protocol 1
  //   4500+003a+0002+0000+4001+0a4d+0002+0a4d+0001 = 99da → ~ = 6625
  const datagram = hex("4500 003a 0002 0000 4001 6625 0a4d 0002 0a4d 0001" + "0303 11b5 0000 0000" + "4500 001e 0001 4000 4011 2632 0a4d 0001 0a4d 0002  9c40 270f 000a bf84 6869");
  const r = decodeAs("ipv4", datagram);
  equal(r.issues, [], "issues");
  equal(layerNames(r), ["ipv4", "icmp"], "layers");
  match(r.layers[0], { checksum: 0x6625, checksumValid: true, protocol: 1 }, "ipv4");
  match(r.layers[1], { type: 3, code: 3, checksumStatus: "good" }, "icmp");
  const built = encodePacket([{ layer: "ipv4", id: 2, src: "10.77.0.2", dst: "10.77.0.1" }, { layer: "icmp", type: 3, code: 3 }, { layer: "payload", data: UDP4 }]);
  equal(built, datagram, "built");
});

add("icmp: the fields of every other named type, decoded and built back", () => {
  const table: [string, InputOf<"icmp">][] = [
    // 0d00 + 0007 + 0001 + 03e8 = 10f0 → ef0f
    ["0d00 ef0f 0007 0001 0000 03e8 0000 0000 0000 0000", { layer: "icmp", type: 13, identifier: 7, sequence: 1, originate: 1000, receive: 0, transmit: 0 }],
    // 0304 + 05dc = 08e0 → f71f
    ["0304 f71f 0000 05dc", { layer: "icmp", type: 3, code: 4, nextHopMtu: 1500 }],
    // 0501 + 0a4d + 00fe = 104c → efb3
    ["0501 efb3 0a4d 00fe", { layer: "icmp", type: 5, code: 1, gateway: "10.77.0.254" }],
    // 0c00 + 1400 = 2000 → dfff
    ["0c00 dfff 1400 0000", { layer: "icmp", type: 12, pointer: 20 }],
    // 1200 + 0001 + 0002 + ffff + ff00 = 21102 → 1104 → eefb
    ["1200 eefb 0001 0002 ffff ff00", { layer: "icmp", type: 18, identifier: 1, sequence: 2, addressMask: "255.255.255.0" }],
    // unknown type 42: 2a01 + dead + beef = 1c79d → c79e → 3861
    ["2a01 3861 dead beef", { layer: "icmp", type: 42, code: 1, restOfHeader: 0xdeadbeef }],
  ];
  for (const [bytes, fields] of table) {
    const r = decodeAs("icmp", hex(bytes));
    equal(r.issues, [], `issues of ${bytes}`);
    equal(r.layers.length, 1, `layers of ${bytes}`);
    match(r.layers[0], { ...fields, checksumValid: true }, `fields of ${bytes}`);
    equal(encodePacket([fields]), hex(bytes), `built ${bytes}`);
  }
  equal(decodeAs("icmp", hex("0800 21")).issues, [{ layer: "icmp", kind: "truncated", reason: "header needs 4 bytes, have 3" }], "3 bytes");
});

// ---------------------------------------------------------------------------
// ICMPv6 and NDP (layers/icmpv6.ts)

/** An IPv6 header, next header 58 and hop limit 255, over `message`. */
function icmpv6Datagram(src: string, dst: string, message: Uint8Array): Uint8Array {
  return hex("6000 0000" + message.length.toString(16).padStart(4, "0") + "3aff" + src + dst + Array.from(message, (b) => b.toString(16).padStart(2, "0")).join(""));
}
const FE80_1 = "fe800000000000000000000000000001";
const FF02_1 = "ff020000000000000000000000000001";
const SOLICITED_2 = "ff0200000000000000000001ff000002"; // ff02::1:ff00:2

// Echo request fd77::1 → fd77::2, id 0x1234, seq 1:
//   pseudo fd77+0001 + fd77+0002 + 0008 + 003a = 1fb33; message 8000 + 1234 + 0001 = 9235
//   1fb33 + 9235 = 28d68 → 8d6a → ~ = 7295
const ECHO6 = hex("8000 7295 1234 0001");
// NS fd77::1 → ff02::1:ff00:2, target fd77::2, source link-layer option 02:77:00:00:00:01:
//   pseudo fd77+0001 + ff02+0001+ff00+0002 + 0020 + 003a = 2fbd7; message 8700 + fd77+0002 + 0101+0277+0000+0001 = 187f2
//   483c9 → 83cd → ~ = 7c32
const NS = hex("8700 7c32 0000 0000  fd77 0000 0000 0000 0000 0000 0000 0002  0101 0277 0000 0001");
// NA fd77::2 → fd77::1, solicited + override, target fd77::2, target link-layer option 02:77:00:00:00:02:
//   pseudo 1fb4b; message 8800 + 6000 + fd77+0002 + 0201+0277+0000+0002 = 1e9f3; 3e53e → e541 → ~ = 1abe
const NA = hex("8800 1abe 6000 0000  fd77 0000 0000 0000 0000 0000 0000 0002  0201 0277 0000 0002");
// RA fe80::1 → ff02::1: hop limit 64, M and O, lifetime 1800, reachable 30000, retrans 1000, then
// source link-layer, MTU 1500, prefix fd77::/64 (L+A, valid 86400, preferred 14400), RDNSS fd77::53 (600 s).
//   pseudo 1fe16 + fixed 146e0 + 0379 + 0add + 1cafc + 11925 = 6376d → 3773 → ~ = c88c
const RA = hex(`
  8600 c88c 40c0 0708 0000 7530 0000 03e8
  0101 0277 0000 0001
  0501 0000 0000 05dc
  0304 40c0 0001 5180 0000 3840 0000 0000  fd77 0000 0000 0000 0000 0000 0000 0000
  1903 0000 0000 0258  fd77 0000 0000 0000 0000 0000 0000 0053`);
const RA_OPTIONS: NonNullable<InputOf<"icmpv6">["options"]> = [
  { kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" },
  { kind: "mtu", mtu: 1500 },
  { kind: "prefixInformation", prefixLength: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: "fd77::" },
  { kind: "rdnss", lifetime: 600, servers: ["fd77::53"] },
];

add("icmpv6: an echo request verifies its pseudo-header checksum and is built back", () => {
  const r = decodeAs("ipv6", icmpv6Datagram(SRC6, DST6, ECHO6));
  equal(r.issues, [], "issues");
  equal(r.layers[1], { layer: "icmpv6", type: 128, code: 0, checksum: 0x7295, checksumValid: true, checksumStatus: "good", identifier: 0x1234, sequence: 1 }, "icmpv6");
  match(decodeAs("ipv6", icmpv6Datagram("fd770000000000000000000000000003", DST6, ECHO6)).layers[1], { checksumValid: false, checksumStatus: "bad" }, "other source");
  const built = encodePacket([{ layer: "ipv6", src: "fd77::1", dst: "fd77::2", hopLimit: 255 }, { layer: "icmpv6", identifier: 0x1234, sequence: 1 }]);
  equal(built, icmpv6Datagram(SRC6, DST6, ECHO6), "built");
});

add("icmpv6: neighbor solicitation and advertisement, decoded and built", () => {
  const ns = decodeAs("ipv6", icmpv6Datagram(SRC6, SOLICITED_2, NS));
  equal(ns.issues, [], "NS issues");
  equal(ns.layers[1], {
    layer: "icmpv6", type: 135, code: 0, checksum: 0x7c32, checksumValid: true, checksumStatus: "good",
    targetAddress: "fd77::2", options: [{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }],
  }, "NS");
  const na = decodeAs("ipv6", icmpv6Datagram(DST6, SRC6, NA));
  equal(na.issues, [], "NA issues");
  match(na.layers[1], {
    type: 136, checksum: 0x1abe, checksumStatus: "good", router: false, solicited: true, override: true,
    targetAddress: "fd77::2", options: [{ kind: "targetLinkLayerAddress", address: "02:77:00:00:00:02" }],
  }, "NA");
  const builtNs = encodePacket([
    { layer: "ipv6", src: "fd77::1", dst: "ff02::1:ff00:2", hopLimit: 255 },
    { layer: "icmpv6", type: 135, targetAddress: "fd77::2", options: [{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }] },
  ]);
  equal(builtNs, icmpv6Datagram(SRC6, SOLICITED_2, NS), "built NS");
  const builtNa = encodePacket([
    { layer: "ipv6", src: "fd77::2", dst: "fd77::1", hopLimit: 255 },
    { layer: "icmpv6", type: 136, solicited: true, override: true, targetAddress: "fd77::2", options: [{ kind: "targetLinkLayerAddress", address: "02:77:00:00:00:02" }] },
  ]);
  equal(builtNa, icmpv6Datagram(DST6, SRC6, NA), "built NA");
});

add("icmpv6: a router advertisement with every named NDP option, decoded and built", () => {
  const r = decodeAs("ipv6", icmpv6Datagram(FE80_1, FF02_1, RA));
  equal(r.issues, [], "issues");
  equal(r.layers[1], {
    layer: "icmpv6", type: 134, code: 0, checksum: 0xc88c, checksumValid: true, checksumStatus: "good",
    curHopLimit: 64, managed: true, other: true, routerLifetime: 1800, reachableTime: 30000, retransTimer: 1000, options: RA_OPTIONS,
  }, "RA");
  // curHopLimit 64 and router lifetime 1800 are the defaults
  const built = encodePacket([
    { layer: "ipv6", src: "fe80::1", dst: "ff02::1", hopLimit: 255 },
    { layer: "icmpv6", type: 134, managed: true, other: true, reachableTime: 30000, retransTimer: 1000, options: RA_OPTIONS },
  ]);
  equal(built, icmpv6Datagram(FE80_1, FF02_1, RA), "built");
});

add("icmpv6: parameter problem and redirect fields; a zero-length NDP option is an issue", () => {
  match(decodeAs("icmpv6", hex("0400 0000 0000 0006")).layers[0], { type: 4, pointer: 6, checksumStatus: "unverified" }, "parameter problem");
  const redirect = hex("8900 0000 0000 0000  fe80 0000 0000 0000 0000 0000 0000 0001  fd77 0000 0000 0000 0000 0000 0000 0099  0401 0000 0000 0000");
  match(decodeAs("icmpv6", redirect).layers[0], { type: 137, targetAddress: "fe80::1", destinationAddress: "fd77::99", options: [{ kind: "redirectedHeader", data: new Uint8Array(0) }] }, "redirect");
  const zero = decodeAs("icmpv6", hex("8700 7c32 0000 0000  fd77 0000 0000 0000 0000 0000 0000 0002  0101 0277 0000 0001  0e00 0000 0000 0000"));
  equal(zero.issues, [{ layer: "icmpv6", kind: "malformed", reason: "option type 14 has length 0" }], "issues");
  match(zero.layers[0], { options: [{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }] }, "options before it");
});

// ---------------------------------------------------------------------------
// UDP (layers/udp.ts)

add("udp: over IPv4, every field decoded, checksum verified (bf84), built back byte for byte", () => {
  // pseudo 0a4d+0001 + 0a4d+0002 + 0011 + 000a = 14b8; 9c40+270f+000a+6869 = 12bc2;
  // 14b8 + 12bc2 = 1407a → 407b → ~ = bf84
  const r = decodeAs("ipv4", UDP4);
  equal(r.issues, [], "issues");
  match(r.layers[0], { layer: "ipv4", totalLength: 30, id: 1, dontFragment: true, protocol: 17, checksum: 0x2632, checksumValid: true }, "ipv4");
  equal(r.layers.slice(1), [
    { layer: "udp", srcPort: 40000, dstPort: 9999, length: 10, checksum: 0xbf84, checksumValid: true, checksumStatus: "good" },
    { layer: "payload", data: text("hi") },
  ], "udp and payload");
  const built = encodePacket([{ layer: "ipv4", id: 1, dontFragment: true, src: "10.77.0.1", dst: "10.77.0.2" }, { layer: "udp", srcPort: 40000, dstPort: 9999 }, { layer: "payload", data: text("hi") }]);
  equal(built, UDP4, "built");
});

add("udp: over IPv6, the pseudo-header checksum (d92e); a computed 0 is sent as 0xffff (RFC 768)", () => {
  // pseudo fd77+0001 + fd77+0002 + 000a + 0011 = 1fb0c; + 12bc2 = 326ce → 26d1 → ~ = d92e
  const datagram = hex("6000 0000 000a 1140" + SRC6 + DST6 + "9c40 270f 000a d92e 6869");
  const r = decodeAs("ipv6", datagram);
  equal(r.issues, [], "issues");
  equal(r.layers[1], { layer: "udp", srcPort: 40000, dstPort: 9999, length: 10, checksum: 0xd92e, checksumValid: true, checksumStatus: "good" }, "udp");
  equal(encodePacket([{ layer: "ipv6", src: "fd77::1", dst: "fd77::2" }, { layer: "udp", srcPort: 40000, dstPort: 9999 }, { layer: "payload", data: text("hi") }]), datagram, "built");
  // 14b8 + 9c40+270f+000a = d811; data 27ee brings the sum to ffff, whose complement is 0
  const zero = encodePacket([{ layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2" }, { layer: "udp", srcPort: 40000, dstPort: 9999 }, { layer: "payload", data: hex("27ee") }]);
  equal(zero.subarray(26, 28), hex("ffff"), "checksum field");
  match(decodeAs("ipv4", zero).layers[1], { checksumStatus: "good" }, "decoded");
});

add("udp: checksum 0 over IPv4 is none, a wrong one bad, explicit fields written as given, short headers are issues", () => {
  const none = UDP4.slice();
  none[26] = 0;
  none[27] = 0;
  match(decodeAs("ipv4", none).layers[1], { checksum: 0, checksumValid: null, checksumStatus: "none" }, "zero checksum");
  const bad = UDP4.slice();
  bad[29] = 0x6a; // "hj"
  match(decodeAs("ipv4", bad).layers[1], { checksumValid: false, checksumStatus: "bad" }, "changed data");
  equal(encodePacket([{ layer: "udp", srcPort: 1, dstPort: 2, length: 300, checksum: 0xdead }, { layer: "payload", data: hex("68") }]), hex("0001 0002 012c dead 68"), "explicit fields");
  equal(decodeAs("udp", hex("9c40 270f 00")).issues, [{ layer: "udp", kind: "truncated", reason: "header needs 8 bytes, have 5" }], "5 bytes");
});

// ---------------------------------------------------------------------------
// TCP and its options (layers/tcp.ts, tcp_options.ts)

// A Linux-style SYN 10.77.0.1:40000 → 10.77.0.2:80, seq 0x01020304, window 64240, data offset 10,
// options MSS 1460, SACK-permitted, timestamps (1, 0), NOP, window scale 7.
//   pseudo 0a4d+0001 + 0a4d+0002 + 0006 + 0028 = 14cb; header 23b88; options 17cf
//   14cb + 23b88 + 17cf = 26822 → 6824 → ~ = 97db
const SYN = "9c40 0050 01020304 00000000 a002 faf0 97db 0000  0204 05b4 0402 080a 00000001 00000000 01 030307";
const SYN_OPTIONS: NonNullable<InputOf<"tcp">["options"]> = [
  { kind: "mss", mss: 1460 },
  { kind: "sackPermitted" },
  { kind: "timestamps", tsval: 1, tsecr: 0 },
  { kind: "nop" },
  { kind: "windowScale", shift: 7 },
];
// The SYN in IPv4: total length 60, id 0, DF, TTL 64, protocol 6 (new here):
//   4500+003c+0000+4000+4006+0a4d+0001+0a4d+0002 = d9df → ~ = 2620
const SYN4 = hex("4500 003c 0000 4000 4006 2620 0a4d 0001 0a4d 0002" + SYN);

add("tcp: a SYN with every common option decodes field by field, checksum verified", () => {
  const r = decodeAs("ipv4", SYN4);
  equal(r.issues, [], "issues");
  equal(layerNames(r), ["ipv4", "tcp"], "layers");
  match(r.layers[0], { totalLength: 60, dontFragment: true, protocol: 6, checksum: 0x2620, checksumValid: true, options: [] }, "ipv4");
  equal(r.layers[1], {
    layer: "tcp", srcPort: 40000, dstPort: 80, seq: 0x01020304, ack: 0, headerLength: 40, flags: 0x002, window: 64240,
    checksum: 0x97db, checksumValid: true, checksumStatus: "good", urgentPointer: 0, options: SYN_OPTIONS,
  }, "tcp");
});

add("tcp: the SYN is built back byte for byte (SYN is the default flag)", () => {
  const built = encodePacket([
    { layer: "ipv4", dontFragment: true, src: "10.77.0.1", dst: "10.77.0.2" },
    { layer: "tcp", srcPort: 40000, dstPort: 80, seq: 0x01020304, window: 64240, options: SYN_OPTIONS },
  ]);
  equal(built, SYN4, "built");
  // MSS (4) + window scale (3) = 7 → one EOL byte → 28-byte header, data offset 7 → 0x70
  const padded = encodePacket([{ layer: "tcp", options: [{ kind: "mss", mss: 1460 }, { kind: "windowScale", shift: 7 }], checksum: 0 }]);
  equal([padded.length, padded[12], padded.subarray(20)], [28, 0x70, hex("0204 05b4 030307 00")], "options padded");
  // defaults without IP: 0014 0050 | 0 | 0 | 50 02 ffff | 0000 0000
  equal(encodePacket([{ layer: "tcp" }]), hex("0014 0050 00000000 00000000 5002 ffff 0000 0000"), "defaults");
});

add("tcp: 32-bit numbers unsigned, all 12 flag bits; SACK, unknown options and EOL", () => {
  const b = hex(SYN);
  b.set(hex("fffffffe 80000001 a1d2"), 4); // seq 4294967294, ack 2147483649, NS + CWR ECE ACK SYN
  match(decodeAs("tcp", b).layers[0], { seq: 4294967294, ack: 2147483649, flags: 0x1d2, checksumStatus: "unverified" }, "numbers and flags");
  // data offset 11 (44 bytes): SACK with 2 blocks (18), kind 30 (MPTCP) with 2 data bytes (4), EOL, 1 byte of padding
  const sack = hex("0001 0002 00000000 00000000 b010 ffff 0000 0000" + "0512 00000001 00000005 fffffff0 ffffffff 1e04 1001 00 00");
  const r = decodeAs("tcp", sack);
  equal(r.issues, [], "issues");
  match(r.layers[0], {
    headerLength: 44,
    options: [{ kind: "sack", blocks: [{ left: 1, right: 5 }, { left: 4294967280, right: 4294967295 }] }, { kind: "unknown", code: 30, data: hex("1001") }, { kind: "eol" }],
  }, "options");
});

add("tcp: hostile headers end in an issue", () => {
  const low = hex(SYN);
  low[12] = 0x40;
  equal(decodeAs("tcp", low).issues, [{ layer: "tcp", kind: "malformed", reason: "data offset 4 is less than 5" }], "data offset 4");
  const zero = hex("0001 0002 00000000 00000000 6002 ffff 0000 0000 01080000");
  const r = decodeAs("tcp", zero);
  equal(r.issues, [{ layer: "tcp", kind: "malformed", reason: "option kind 8 has length 0" }], "zero-length option");
  match(r.layers[0], { headerLength: 24, options: [{ kind: "nop" }] }, "options before it");
  equal(decodeAs("tcp", hex(SYN).subarray(0, 19)).issues, [{ layer: "tcp", kind: "truncated", reason: "header needs 20 bytes, have 19" }], "19 bytes");
});

// ---------------------------------------------------------------------------
// DNS (layers/dns.ts)

const NAME_WWW = "03" + ascii("www") + "07" + ascii("example") + "04" + ascii("test") + "00";
// id 0x1234, flags 0x0100 (RD), 1 question www.example.test A IN: 12 + 18 + 4 = 34 bytes
const QUERY = hex("1234 0100 0001 0000 0000 0000" + NAME_WWW + "0001 0001");
// flags 0x8580 (QR AA RD RA), 1 question, 2 answers, 1 additional:
//   34: c00c CNAME IN 3600 rdlen 6: 03 "web" c010 (→ "example.test" at 16)
//   52: c02e (→ "web" at 46) A IN 60 rdlen 4: 10.0.0.1
//   68: OPT root, class 1232, ttl 0x00008000 (DO), rdlen 8: option 10 length 4 deadbeef
const RESPONSE = hex(
  "1234 8580 0001 0002 0000 0001" + NAME_WWW + "0001 0001" +
    "c00c 0005 0001 00000e10 0006 03" + ascii("web") + "c010" +
    "c02e 0001 0001 0000003c 0004 0a000001" +
    "00 0029 04d0 00008000 0008 000a 0004 deadbeef",
);

add("dns: a query decodes field by field and is built back byte for byte", () => {
  const r = decodeAs("dns", QUERY);
  equal(r.issues, [], "issues");
  equal(r.layers.length, 1, "layer count");
  match(r.layers[0], {
    layer: "dns", id: 0x1234, response: false, opcode: 0, opcodeName: "QUERY", rcode: 0, rcodeName: "NOERROR", flags: 0x0100,
    recursionDesired: true, recursionAvailable: false, authoritative: false, truncated: false,
    questionCount: 1, answerCount: 0, authorityCount: 0, additionalCount: 0, length: 34,
    questions: [{ name: "www.example.test", type: 1, typeName: "A", class: 1 }], answers: [], authorities: [], additionals: [],
  }, "dns");
  equal(encodePacket([{ layer: "dns", id: 0x1234, questions: [{ name: "www.example.test", type: "A" }] }]), QUERY, "built");
});

add("dns: a compressed response with CNAME, A and OPT, decoded and built with compression", () => {
  const r = decodeAs("dns", RESPONSE);
  equal(r.issues, [], "issues");
  const d = r.layers[0] as { answers: unknown; additionals: { data: unknown }[] };
  match(d, { id: 0x1234, response: true, authoritative: true, recursionAvailable: true, flags: 0x8580, length: 87 }, "header");
  equal(d.answers, [
    { name: "www.example.test", type: 5, typeName: "CNAME", class: 1, ttl: 3600, rdLength: 6, data: "web.example.test" },
    { name: "web.example.test", type: 1, typeName: "A", class: 1, ttl: 60, rdLength: 4, data: "10.0.0.1" },
  ], "answers");
  match(d.additionals[0], { name: ".", type: 41, typeName: "OPT", class: 1232, ttl: 0x8000, rdLength: 8 }, "OPT record");
  match(d.additionals[0]?.data, { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true, z: 0, options: [{ code: 10, data: hex("deadbeef") }] }, "OPT data");
  const built = encodePacket([{
    layer: "dns", id: 0x1234, response: true, authoritative: true, recursionDesired: true, recursionAvailable: true,
    questions: [{ name: "www.example.test", type: "A" }],
    answers: [
      { name: "www.example.test", type: "CNAME", ttl: 3600, data: "web.example.test" },
      { name: "web.example.test", type: "A", ttl: 60, data: "10.0.0.1" },
    ],
    additionals: [{ type: "OPT", data: { udpPayloadSize: 1232, dnssecOk: true, options: [{ code: 10, data: hex("deadbeef") }] } }],
  }]);
  equal(built, RESPONSE, "built");
});

add("dns: MX, TXT, SOA, SRV, CAA, AAAA, PTR, NS and an unknown type; built back uncompressed", () => {
  const a = "0161 00"; // the name "a"
  const rr = (type: string, rdata: string): string => a + type + "0001 00000001" + (rdata.replace(/\s+/g, "").length / 2).toString(16).padStart(4, "0") + rdata;
  const msg = hex(
    "0001 8400 0000 0009 0000 0000" +
      rr("000f", "000a 026d78 00") + // MX 10 mx
      rr("0010", "02" + ascii("hi") + "00" + "03" + ascii("a b")) + // TXT "hi" "" "a b"
      rr("0006", "026e73 00 02686d 00 00000007 00000e10 00000384 00093a80 0000003c") + // SOA ns hm 7 3600 900 604800 60
      rr("0021", "0001 0002 0035 03737276 00") + // SRV 1 2 53 srv
      rr("0101", "80 05" + ascii("issue") + ascii("ca.test")) + // CAA 128 issue "ca.test"
      rr("001c", "fd770000000000000000000000000001") + // AAAA fd77::1
      rr("000c", "0170 00") + // PTR p
      rr("0002", "026e73 00") + // NS ns
      rr("ff00", "0102"), // TYPE65280 raw
  );
  const r = decodeAs("dns", msg);
  equal(r.issues, [], "issues");
  const d = r.layers[0] as Extract<AnyLayer, { layer: "dns" }>;
  equal(d.answers.map((x) => [x.typeName, x.data]), [
    ["MX", { preference: 10, exchange: "mx" }],
    ["TXT", ["hi", "", "a b"]],
    ["SOA", { mname: "ns", rname: "hm", serial: 7, refresh: 3600, retry: 900, expire: 604800, minimum: 60 }],
    ["SRV", { priority: 1, weight: 2, port: 53, target: "srv" }],
    ["CAA", { flags: 128, tag: "issue", value: "ca.test" }],
    ["AAAA", "fd77::1"],
    ["PTR", "p"],
    ["NS", "ns"],
    ["TYPE65280", hex("0102")],
  ], "answers");
  equal(encodePacket([{ ...d, compress: false }]), msg, "built uncompressed");
});

add("dns: over Ethernet/IPv4/UDP port 53, found by the port table", () => {
  // IPv4 10.77.0.1 → 10.77.0.2, total 20 + 8 + 34 = 62 (003e), id 0, TTL 64, UDP (new here):
  //   4500+003e+0000+0000+4011+0a4d+0001+0a4d+0002 = 99ec → ~ = 6613
  // UDP 50000 (c350) → 53, length 42 (002a), checksum 0 (none, RFC 768)
  const frame = hex("027700000002 027700000001 0800  4500 003e 0000 0000 4011 6613 0a4d0001 0a4d0002  c350 0035 002a 0000");
  const whole = new Uint8Array(frame.length + QUERY.length);
  whole.set(frame);
  whole.set(QUERY, frame.length);
  const r = decodePacket(whole, LINKTYPE.ETHERNET);
  equal(r.issues, [], "issues");
  equal(layerNames(r), ["ethernet", "ipv4", "udp", "dns"], "layers");
  match(r.layers[1], { checksumValid: true, totalLength: 62 }, "ipv4");
  match(r.layers[2], { srcPort: 50000, dstPort: 53, length: 42, checksumStatus: "none" }, "udp");
  match(r.layers[3], { id: 0x1234, questions: [{ name: "www.example.test", type: 1 }] }, "dns");
  const built = encodePacket([
    { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02" },
    { layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2" },
    { layer: "udp", srcPort: 50000, checksum: 0 },
    { layer: "dns", id: 0x1234, questions: [{ name: "www.example.test", type: "A" }] },
  ]);
  equal(built, whole, "built (destination port 53 from the DNS layer)");
});

add("dns: hostile names end in an issue with the header kept", () => {
  const header = "abcd 0100 0001 0000 0000 0000";
  const table: [string, string][] = [
    ["c00c 0001 0001", "points forward or into a loop"], // pointer to itself
    ["0161 c00c 0001 0001", "points forward or into a loop"], // label, then a pointer to its own start
    ["c0ff 0001 0001", "past the end"],
    ["40" + "61".repeat(64) + "00 0001 0001", "exceeds 63"],
  ];
  for (const [question, reason] of table) {
    const r = decodeAs("dns", hex(header + question));
    equal(r.layers.filter((l) => l.layer === "dns").length, 1, `dns layers for ${question}`);
    equal(r.issues.length, 1, `issue count for ${question}`);
    match(r.issues[0], { layer: "dns", kind: "malformed" }, `issue for ${question}`);
    ok(r.issues[0]!.reason.includes(reason), `reason "${r.issues[0]!.reason}" mentions "${reason}"`);
  }
});

// ---------------------------------------------------------------------------
// DHCP (layers/dhcp.ts)

const zeros = (n: number): string => "00".repeat(n);
/** The 236-byte fixed part: op, htype 1, hlen 6, xid 3903f326, flags, yiaddr, siaddr, chaddr 02:77:00:00:00:02. */
const dhcpFixed = (op: string, flags: string, yiaddr: string, siaddr: string): string =>
  op + "01 06 00" + "3903f326" + "0000" + flags + "00000000" + yiaddr + siaddr + "00000000" + "027700000002" + zeros(10) + zeros(64) + zeros(128);
// DISCOVER, broadcast: 53=1, 61=01 02:77:00:00:00:02, 55=[1,3,6], 12="host", end: 24 option bytes, padded to 300
const DISCOVER = hex(dhcpFixed("01", "8000", "00000000", "00000000") + "63825363" + "350101 3d0701027700000002 3703010306 0c04" + ascii("host") + "ff" + zeros(300 - 240 - 24));
// OFFER 10.77.0.50 from 10.77.0.1: 53=2, 54, 51=3600, 1, 3, 6=[10.77.0.1, 8.8.8.8], 15="test", end (44 bytes)
const OFFER = hex(
  dhcpFixed("02", "0000", "0a4d0032", "0a4d0001") + "63825363" +
    "350102 36040a4d0001 330400000e10 0104ffffff00 03040a4d0001 06080a4d000108080808 0f04" + ascii("test") + "ff" + zeros(300 - 240 - 44),
);

add("dhcp: a DISCOVER decodes field by field and is built back byte for byte", () => {
  equal(DISCOVER.length, 300, "literal length");
  const r = decodeAs("dhcp", DISCOVER);
  equal(r.issues, [], "issues");
  equal(r.layers.length, 1, "layer count");
  match(r.layers[0], {
    layer: "dhcp", op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x3903f326, secs: 0, flags: 0x8000, broadcast: true,
    clientIp: "0.0.0.0", yourIp: "0.0.0.0", serverIp: "0.0.0.0", relayIp: "0.0.0.0", clientMac: "02:77:00:00:00:02",
    sname: "", file: "", magicCookie: 0x63825363, messageType: 1, messageTypeName: "DISCOVER", length: 300,
    options: [
      { code: 53, name: "messageType", length: 1, value: 1 },
      { code: 61, name: "clientId", length: 7, value: hex("01027700000002") },
      { code: 55, name: "parameterRequestList", length: 3, value: [1, 3, 6] },
      { code: 12, name: "hostname", length: 4, value: "host" },
    ],
  }, "dhcp");
  const built = encodePacket([{
    layer: "dhcp", messageType: "DISCOVER", xid: 0x3903f326, broadcast: true, clientMac: "02:77:00:00:00:02",
    options: [{ name: "clientId", value: hex("01027700000002") }, { name: "parameterRequestList", value: [1, 3, 6] }, { code: 12, value: "host" }],
  }]);
  equal(built, DISCOVER, "built");
});

add("dhcp: an OFFER's options decode to typed values and build back", () => {
  const r = decodeAs("dhcp", OFFER);
  equal(r.issues, [], "issues");
  const d = r.layers[0] as { options: { name: string; value: unknown }[] };
  match(d, { op: 2, yourIp: "10.77.0.50", serverIp: "10.77.0.1", messageType: 2, messageTypeName: "OFFER" }, "dhcp");
  equal(d.options.map((o) => [o.name, o.value]), [
    ["messageType", 2],
    ["serverId", "10.77.0.1"],
    ["leaseTime", 3600],
    ["subnetMask", "255.255.255.0"],
    ["router", ["10.77.0.1"]],
    ["dnsServers", ["10.77.0.1", "8.8.8.8"]],
    ["domainName", "test"],
  ], "options");
  const built = encodePacket([{
    layer: "dhcp", messageType: "OFFER", xid: 0x3903f326, yourIp: "10.77.0.50", serverIp: "10.77.0.1", clientMac: "02:77:00:00:00:02",
    options: [
      { name: "serverId", value: "10.77.0.1" },
      { name: "leaseTime", value: 3600 },
      { name: "subnetMask", value: "255.255.255.0" },
      { name: "router", value: ["10.77.0.1"] },
      { name: "dnsServers", value: ["10.77.0.1", "8.8.8.8"] },
      { name: "domainName", value: "test" },
    ],
  }]);
  equal(built, OFFER, "built");
});

// ---------------------------------------------------------------------------
// TFTP (layers/tftp.ts)

const z = (s: string): string => ascii(s) + "00";
const RRQ = hex("0001" + z("file.bin") + z("octet") + z("blksize") + z("1024") + z("tsize") + z("0"));
const WRQ = hex("0002" + z("up.txt") + z("netascii"));
const DATA = hex("0003 0001 68656c6c6f"); // block 1, "hello"
const ACK = hex("0004 0001");
const ERROR = hex("0005 0001" + z("File not found"));
const OACK = hex("0006" + z("blksize") + z("1024"));

add("tftp: RRQ, WRQ, DATA, ACK, ERROR and OACK decode field by field", () => {
  for (const [name, p] of Object.entries({ RRQ, WRQ, DATA, ACK, ERROR, OACK })) equal(decodeAs("tftp", p).issues, [], `issues of ${name}`);
  equal(decodeAs("tftp", RRQ).layers, [{ layer: "tftp", opcode: 1, opcodeName: "RRQ", filename: "file.bin", mode: "octet", options: [{ name: "blksize", value: "1024" }, { name: "tsize", value: "0" }] }], "RRQ");
  equal(decodeAs("tftp", WRQ).layers, [{ layer: "tftp", opcode: 2, opcodeName: "WRQ", filename: "up.txt", mode: "netascii", options: [] }], "WRQ");
  match(decodeAs("tftp", DATA).layers, [{ layer: "tftp", opcode: 3, opcodeName: "DATA", block: 1, dataLength: 5, data: text("hello") }], "DATA");
  equal(decodeAs("tftp", ACK).layers, [{ layer: "tftp", opcode: 4, opcodeName: "ACK", block: 1 }], "ACK");
  equal(decodeAs("tftp", ERROR).layers, [{ layer: "tftp", opcode: 5, opcodeName: "ERROR", errorCode: 1, errorMessage: "File not found" }], "ERROR");
  equal(decodeAs("tftp", OACK).layers, [{ layer: "tftp", opcode: 6, opcodeName: "OACK", options: [{ name: "blksize", value: "1024" }] }], "OACK");
});

add("tftp: each packet is built byte for byte; an unknown opcode is an issue", () => {
  equal(encodePacket([{ layer: "tftp", opcode: "RRQ", filename: "file.bin", options: [{ name: "blksize", value: 1024 }, { name: "tsize", value: 0 }] }]), RRQ, "RRQ");
  equal(encodePacket([{ layer: "tftp", opcode: 2, filename: "up.txt", mode: "netascii" }]), WRQ, "WRQ");
  equal(encodePacket([{ layer: "tftp", block: 1, data: "hello" }]), DATA, "DATA");
  equal(encodePacket([{ layer: "tftp", opcode: "ACK", block: 1 }]), ACK, "ACK");
  equal(encodePacket([{ layer: "tftp", errorCode: 1 }]), ERROR, "ERROR");
  equal(encodePacket([{ layer: "tftp", opcode: "OACK", options: [{ name: "blksize", value: "1024" }] }]), OACK, "OACK");
  const r = decodeAs("tftp", hex("0009 0000"));
  equal(r.issues.length, 1, "issue count");
  match(r.issues[0], { layer: "tftp", kind: "malformed" }, "issue");
  ok(r.issues[0]!.reason.includes("unknown opcode 9"), `reason "${r.issues[0]!.reason}" mentions the opcode`);
});

// ---------------------------------------------------------------------------
// HTTP (layers/http.ts)

const GET = "GET /index.html HTTP/1.1\r\nHost: 10.77.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
const HTTP_RESPONSE = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";

add("http: a request head decodes field by field, names keeping their case", () => {
  const r = decodeAs("http", text(GET));
  equal(r.issues, [], "issues");
  equal(r.layers.length, 1, "layer count");
  match(r.layers[0], {
    layer: "http", type: "request", method: "GET", uri: "/index.html", version: "HTTP/1.1",
    headers: [{ name: "Host", value: "10.77.0.1" }, { name: "User-Agent", value: "curl/7.88.1" }, { name: "Accept", value: "*/*" }],
    headLength: GET.length, headComplete: true, chunked: false, bodyLength: 0,
  }, "http");
  const h = r.layers[0] as { status?: number; contentLength?: number };
  equal([h.status, h.contentLength], [undefined, undefined], "status and contentLength");
});

add("http: a response with Content-Length and body; request and response built byte for byte", () => {
  const r = decodeAs("http", text(HTTP_RESPONSE));
  equal(r.issues, [], "issues");
  match(r.layers[0], { type: "response", version: "HTTP/1.1", status: 200, reason: "OK", contentLength: 5, bodyLength: 5, chunked: false, body: text("hello") }, "http");
  const get = encodePacket([{ layer: "http", uri: "/index.html", headers: [{ name: "Host", value: "10.77.0.1" }, { name: "User-Agent", value: "curl/7.88.1" }, { name: "Accept", value: "*/*" }] }]);
  equal(get, text(GET), "request");
  const res = encodePacket([{ layer: "http", status: 200, headers: [{ name: "Server", value: "nginx" }, { name: "Content-Type", value: "text/html" }], body: "hello" }]);
  equal(res, text(HTTP_RESPONSE), "response");
});

add("http: reached over TCP port 80; a head that does not end is an issue", () => {
  // TCP 50000 → 80, seq 1, data offset 5, PSH ACK, no IP layer (checksum not verified)
  const tcp = hex("c350 0050 00000001 00000000 5018 ffff 0000 0000");
  const seg = new Uint8Array(tcp.length + GET.length);
  seg.set(tcp);
  seg.set(text(GET), tcp.length);
  const r = decodeAs("tcp", seg);
  equal(r.issues, [], "issues");
  equal(layerNames(r), ["tcp", "http"], "layers");
  match(r.layers[1], { method: "GET", uri: "/index.html" }, "http");
  const cut = decodeAs("http", text("GET / HTTP/1.1\r\nHost: a\r\nAccept: */"));
  match(cut.layers[0], { method: "GET", headComplete: false, bodyLength: 0, headers: [{ name: "Host", value: "a" }] }, "cut head");
  equal(cut.issues, [{ layer: "http", kind: "truncated", reason: "head does not end in this segment" }], "cut issues");
});

// ---------------------------------------------------------------------------
// Linux cooked capture (layers/sll.ts, sll2.ts) and BSD loopback (layers/loopback.ts)

// SLL v1: packet type 4 (outgoing), ARPHRD_ETHER 1, address length 6, address (8-byte field), protocol 0x88b5
const SLL = hex("0004 0001 0006 027700000001 0000 88b5 cafe");
// SLL2: protocol 0x88b5, reserved, ifindex 2, ARPHRD_ETHER 1, packet type 0, length 6, address
const SLL2 = hex("88b5 0000 00000002 0001 00 06 027700000002 0000 cafe");

add("sll: v1 and v2 decode field by field and are built back byte for byte", () => {
  const v1 = decodePacket(SLL, LINKTYPE.LINUX_SLL);
  equal(v1.issues, [], "v1 issues");
  equal(v1.layers, [
    { layer: "sll", packetType: 4, addressType: 1, addressLength: 6, address: "02:77:00:00:00:01", protocol: 0x88b5 },
    { layer: "payload", data: hex("cafe") },
  ], "v1 layers");
  equal(encodePacket([{ layer: "sll", packetType: 4, addressType: 1, address: "02:77:00:00:00:01", protocol: 0x88b5 }, { layer: "payload", data: hex("cafe") }]), SLL, "v1 built");
  equal(encodePacket([{ layer: "sll" }, { layer: "ipv6" }]).subarray(14, 16), hex("86dd"), "v1 protocol from the inner layer");
  const v2 = decodePacket(SLL2, LINKTYPE.LINUX_SLL2);
  equal(v2.issues, [], "v2 issues");
  equal(v2.layers, [
    { layer: "sll2", protocol: 0x88b5, interfaceIndex: 2, addressType: 1, packetType: 0, addressLength: 6, address: "02:77:00:00:00:02" },
    { layer: "payload", data: hex("cafe") },
  ], "v2 layers");
  equal(encodePacket([{ layer: "sll2", protocol: 0x88b5, interfaceIndex: 2, address: "02:77:00:00:00:02" }, { layer: "payload", data: hex("cafe") }]), SLL2, "v2 built");
});

add("sll: non-Ethernet addresses, LLC inside, unsigned interface index, short headers", () => {
  // ARPHRD_IEEE80211 801 (0321), address length 8, protocol 4 (802.2 LLC)
  equal(decodePacket(hex("0000 0321 0008 0102030405060708 0004 424203"), LINKTYPE.LINUX_SLL).layers, [
    { layer: "sll", packetType: 0, addressType: 801, addressLength: 8, address: "01:02:03:04:05:06:07:08", protocol: 4 },
    { layer: "llc", dsap: 0x42, ssap: 0x42, control: 3 },
  ], "802.11 address and LLC");
  match(decodePacket(hex("0800 0000 ffffffff 0001 00 00 0000000000000000"), LINKTYPE.LINUX_SLL2).layers[0], { interfaceIndex: 0xffffffff }, "interface index above 2^31");
  equal(decodePacket(SLL.subarray(0, 15), LINKTYPE.LINUX_SLL).issues, [{ layer: "sll", kind: "truncated", reason: "header needs 16 bytes, got 15" }], "v1 short");
  equal(decodePacket(SLL2.subarray(0, 19), LINKTYPE.LINUX_SLL2).issues, [{ layer: "sll2", kind: "truncated", reason: "header needs 20 bytes, got 19" }], "v2 short");
});

// IPv4 protocol 59, 10.0.0.1 → 10.0.0.2, total 20: 4500+0014+0000+0000+403b+0a00+0001+0a00+0002 = 0x9952 → ~ = 0x66ad
const LOOP_IPV4 = "4500 0014 0000 0000 403b 66ad 0a000001 0a000002";
// IPv6 payload length 0, next header 59, hop limit 64, :: → ::1
const LOOP_IPV6 = "6000 0000 0000 3b40" + "00".repeat(16) + "00".repeat(15) + "01";

add("loopback: DLT_NULL and DLT_LOOP families in either byte order", () => {
  const v4 = decodePacket(hex("02000000" + LOOP_IPV4), LINKTYPE.NULL);
  equal(v4.issues, [], "AF_INET issues");
  equal(v4.layers[0], { layer: "loopback", family: 2, byteOrder: "little" }, "AF_INET little-endian");
  match(v4.layers[1], { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", checksumValid: true }, "ipv4");
  const table: [number, string, number, string][] = [
    [LINKTYPE.NULL, "0a000000", 10, "little"], // Linux AF_INET6
    [LINKTYPE.NULL, "1e000000", 30, "little"], // macOS
    [LINKTYPE.NULL, "0000001c", 28, "big"], // FreeBSD on a big-endian host
    [LINKTYPE.LOOP, "00000018", 24, "big"], // OpenBSD DLT_LOOP: network order
  ];
  for (const [linkType, head, family, byteOrder] of table) {
    const r = decodePacket(hex(head + LOOP_IPV6), linkType);
    equal(r.issues, [], `issues of ${head}`);
    equal(r.layers[0], { layer: "loopback", family, byteOrder }, `loopback ${head}`);
    match(r.layers[1], { layer: "ipv6", src: "::", dst: "::1", nextHeader: 59 }, `ipv6 after ${head}`);
  }
  equal(decodePacket(hex("07000000 0102"), LINKTYPE.NULL).layers, [{ layer: "loopback", family: 7, byteOrder: "little" }, { layer: "payload", data: hex("0102") }], "unknown family");
  equal(decodePacket(hex("020000"), LINKTYPE.NULL).issues, [{ layer: "loopback", kind: "truncated", reason: "header needs 4 bytes, got 3" }], "short");
});

add("loopback: built in network order by default, little-endian on request, family from the inner layer", () => {
  equal(encodePacket([{ layer: "loopback" }, { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", protocol: 59 }]), hex("00000002" + LOOP_IPV4), "AF_INET");
  equal(encodePacket([{ layer: "loopback", byteOrder: "little" }, { layer: "ipv6", dst: "::1" }]), hex("18000000" + LOOP_IPV6), "AF_INET6 little-endian");
});

// ---------------------------------------------------------------------------
// The pipeline as a whole (layers/decode.ts, encode.ts)

add("pipeline: raw IP link types pick the version from the first nibble", () => {
  // IPv4 protocol 59 with 4 bytes: 4500+0018+403b+0a00+0001+0a00+0002 = 0x9956 → ~ = 0x66a9
  const v4 = hex("4500 0018 0000 0000 403b 66a9 0a000001 0a000002 01020304");
  for (const linkType of [LINKTYPE.RAW, 12, 14, LINKTYPE.IPV4]) equal(layerNames(decodePacket(v4, linkType)), ["ipv4", "payload"], `link type ${linkType}`);
  const v6 = hex("60000000 0000 3b40" + "00".repeat(32));
  for (const linkType of [LINKTYPE.RAW, LINKTYPE.IPV6]) equal(layerNames(decodePacket(v6, linkType)), ["ipv6"], `link type ${linkType}`);
  equal(decodePacket(hex("0102"), 147), { layers: [{ layer: "payload", data: hex("0102") }], issues: [] }, "unknown link type");
  equal(layerNames(decodePacket(concat(hex("027700000002 027700000001 0800"), v4), LINKTYPE.ETHERNET, { maxLayers: 2 })), ["ethernet", "ipv4"], "maxLayers");
  equal((decodeAs("ipv4", v4, { verifyChecksums: false }).layers[0] as { checksumValid: unknown }).checksumValid, null, "verifyChecksums false");
});

add("pipeline: encodeInto writes one packet at an offset and nothing outside it", () => {
  const buffer = new Uint8Array(40).fill(0xa5);
  const n = encodeInto([{ layer: "ipv4", id: 1, dontFragment: true, src: "10.77.0.1", dst: "10.77.0.2" }, { layer: "udp", srcPort: 40000, dstPort: 9999 }, { layer: "payload", data: text("hi") }], buffer, 3);
  equal(n, 30, "length");
  equal(buffer, concat(hex("a5a5a5"), UDP4, hex("a5".repeat(7))), "buffer");
  throws(() => encodeInto([{ layer: "ipv4" }], new Uint8Array(19)), RangeError, "Cannot encode: the headers need 20 bytes at offset 0, the buffer has 19", "too small");
});

add("pipeline: programmer errors throw TypeError and RangeError with sentence-case messages", () => {
  throws(() => encodePacket([{ layer: "nope" } as unknown as AnyInput]), TypeError, "Cannot encode nope: no codec for this layer", "unknown layer");
  throws(() => encodePacket([{ layer: "ipv4", src: "10.0.0" }]), RangeError, 'Invalid IPv4 address: "10.0.0"', "bad address");
});

add("pipeline: 3000 seeded random frames on every link type decode without a throw", () => {
  // xorshift32: the same frames in every runtime
  let state = 0x2545f491;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const linkTypes = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];
  const seeds = [ETH2, QINQ, ARP_FRAME, SYN4, UDP4, IPV6_DATAGRAM, SLL, SLL2];
  for (let i = 0; i < 3000; i++) {
    let frame: Uint8Array;
    if (i % 2 === 0) {
      frame = new Uint8Array(next() % 120);
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff;
    } else {
      // a valid frame, cut and with a few bytes changed
      const seed = seeds[next() % seeds.length]!;
      frame = seed.slice(0, seed.length - (next() % (seed.length + 1)));
      for (let k = next() % 4; k > 0 && frame.length > 0; k--) frame[next() % frame.length] = next() & 0xff;
    }
    const linkType = linkTypes[next() % linkTypes.length]!;
    const r = decodePacket(frame, linkType);
    ok(Array.isArray(r.layers) && Array.isArray(r.issues), `frame ${i} on link type ${linkType}`);
  }
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
