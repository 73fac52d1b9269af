import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { Arp } from "../../layers/arp.ts";
import { decodeAs, decodePacket, PacketDecoder } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { Ethernet } from "../../layers/ethernet.ts";
import type { Ipv4 } from "../../layers/ipv4.ts";
import type { Ipv6 } from "../../layers/ipv6.ts";
import { ETHERTYPE, ETHERTYPE_OF, firstKind, IP_PROTOCOL, IP_PROTOCOL_OF, sniffTcp, tcpPortKind, udpPortKind } from "../../layers/registry.ts";
import { LINKTYPE } from "../../layers/link_type.ts";
import type { AnyLayer } from "../../layers/mod.ts";
import { hasCommand, labSkipReason, makeLab, type Host, type Lab } from "../helpers/lab.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
// IPv4, protocol 59, 10.0.0.1 → 10.0.0.2; checksum: 4500+0018+403b+0a00+0001+0a00+0002 = 0x9956 → ~ = 0x66a9
const IPV4_59 = "4500 0018 0000 0000 403b 66a9 0a000001 0a000002 01020304";

describe("dispatch tables and link types", () => {
  it("map wire values to layers and back", () => {
    expect([0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x9100, 0x88b5].map((t) => ETHERTYPE.get(t))).toEqual(["ipv4", "ipv6", "arp", "vlan", "vlan", "vlan", undefined]);
    expect([1, 58, 6, 17, 4, 41, 132].map((p) => IP_PROTOCOL.get(p))).toEqual(["icmp", "icmpv6", "tcp", "udp", "ipv4", "ipv6", undefined]);
    expect([ETHERTYPE_OF.get("ipv6"), ETHERTYPE_OF.get("vlan"), IP_PROTOCOL_OF.get("icmpv6"), IP_PROTOCOL_OF.get("ipv6")]).toEqual([0x86dd, 0x8100, 58, 41]);
  });
  it("ports: destination first, then source", () => {
    expect(udpPortKind(53, 69)).toBe("tftp");
    expect(udpPortKind(68, 40000)).toBe("dhcp");
    expect(udpPortKind(40000, 5353)).toBe("dns");
    expect(udpPortKind(40000, 40001)).toBeNull();
    expect(tcpPortKind(80, 53)).toBe("dns");
    expect(tcpPortKind(8080, 50000)).toBe("http");
  });
  it("sniffTcp recognises HTTP/1.x requests and responses only", () => {
    const t = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
    expect(["GET / HTTP/1.1", "POST /x", "OPTIONS * HTTP/1.1", "HTTP/1.0 200 OK", "PATCH /a"].map((s) => sniffTcp(t(s)))).toEqual(["http", "http", "http", "http", "http"]);
    expect(["GETX /", "get / HTTP/1.1", "HTTP/2 200", "SSH-2.0", "GE", ""].map((s) => sniffTcp(t(s)))).toEqual([null, null, null, null, null, null]);
  });
  it("first layer per link type", () => {
    const v4 = hex("45"), v6 = hex("60");
    expect([0, 1, 101, 108, 113, 228, 229, 276, 12, 14, 147].map((lt) => firstKind(lt, v4))).toEqual([
      "loopback", "ethernet", "ipv4", "loopback", "sll", "ipv4", "ipv6", "sll2", "ipv4", "ipv4", null,
    ]);
    expect([101, 12, 14, 228].map((lt) => firstKind(lt, v6))).toEqual(["ipv6", "ipv6", "ipv6", "ipv4"]);
  });
});

describe("decode pipeline", () => {
  it("raw IP link types pick the version from the first nibble", () => {
    for (const lt of [LINKTYPE.RAW, 12, 14, LINKTYPE.IPV4]) {
      expect(decodePacket(hex(IPV4_59), lt).layers.map((l) => l.layer)).toEqual(["ipv4", "payload"]);
    }
    const v6 = hex("60000000 0000 3b40" + "00".repeat(32));
    for (const lt of [LINKTYPE.RAW, LINKTYPE.IPV6]) expect(decodePacket(v6, lt).layers.map((l) => l.layer)).toEqual(["ipv6"]);
  });

  it("an unknown link type is all payload", () => {
    expect(decodePacket(hex("0102"), 147)).toEqual({ layers: [{ layer: "payload", data: hex("0102") }], issues: [] });
  });

  it("maxLayers stops early without a payload layer", () => {
    const f = hex("027700000002 027700000001 0800" + IPV4_59);
    expect(decodePacket(f, 1, { maxLayers: 1 }).layers.map((l) => l.layer)).toEqual(["ethernet"]);
    expect(decodePacket(f, 1, { maxLayers: 2 }).layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4"]);
    expect(decodePacket(f, 1).layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "payload"]);
  });

  it("verifyChecksums: false leaves checksumValid null", () => {
    expect((decodeAs("ipv4", hex(IPV4_59), { verifyChecksums: false }).layers[0] as Ipv4).checksumValid).toBeNull();
    expect((decodeAs("ipv4", hex(IPV4_59)).layers[0] as Ipv4).checksumValid).toBe(true);
  });

  it("decodes a long IP-in-IP chain to its end", () => {
    // 40 nested IPv4 headers, protocol 4 each; lengths consistent
    const n = 40;
    let parts = "";
    for (let i = 0; i < n; i++) {
      const total = (n - i) * 20;
      parts += "4500" + total.toString(16).padStart(4, "0") + "0000 0000 4004 0000 0a000001 0a000002";
    }
    const r = decodeAs("ipv4", hex(parts));
    expect(r.layers.length).toBe(n);
    expect((r.layers as Ipv4[]).map((l) => l.totalLength)).toEqual(Array.from({ length: n }, (_, i) => (n - i) * 20));
    // the innermost says protocol 4 but holds no bytes for it
    expect(r.issues).toEqual([{ layer: "ipv4", kind: "truncated", reason: "header needs 20 bytes, got 0" }]);
  });

  it("PacketDecoder reuses its state but results stay the caller's", () => {
    const d = new PacketDecoder();
    const a = d.decode(hex("027700000002 027700000001 88b5 01"), 1);
    const b = d.decode(hex("ffffffffffff 027700000003 0806 00"), 1);
    expect(a.layers).toEqual([
      { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: 0x88b5 },
      { layer: "payload", data: hex("01") },
    ]);
    expect(a.issues).toEqual([]);
    expect(b.issues).toEqual([{ layer: "arp", kind: "truncated", reason: "message needs 8 bytes, got 1" }]);
  });

  it("an ICMP error's quoted datagram is decoded one level deep, no deeper", () => {
    // ICMP port unreachable quoting an ICMP port unreachable quoting a UDP datagram
    const udp = encodePacket([{ layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.1" }, { layer: "udp", srcPort: 5, dstPort: 6 }]);
    const inner = encodePacket([{ layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { layer: "icmp", type: 3, code: 3 }, { layer: "payload", data: udp }]);
    const outer = encodePacket([{ layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.1" }, { layer: "icmp", type: 3, code: 3 }, { layer: "payload", data: inner }]);
    const r = decodeAs("ipv4", outer);
    expect(r.issues).toEqual([]);
    const icmp = r.layers[1] as { layer: string; quoted?: { layers: AnyLayer[] } };
    expect(icmp.layer).toBe("icmp");
    const quoted = icmp.quoted!.layers;
    // ipv4 + icmp, then (as the ICMP module chooses) its body raw: never a third level of layers
    expect(quoted.slice(0, 2).map((l) => l.layer)).toEqual(["ipv4", "icmp"]);
    expect(quoted.some((l) => l.layer === "udp")).toBe(false);
    // the second-level quote is not decoded as layers
    const second = (quoted[1] as { quoted?: { layers: AnyLayer[] } }).quoted;
    expect(second === undefined || second.layers.every((l) => l.layer === "payload")).toBe(true);
  });
});

describe("decoding random and mutated bytes never throws and always ends", () => {
  const seeds = [
    { lt: 1, f: hex("027700000002 027700000001 8100 0005 0800" + IPV4_59) },
    { lt: 1, f: encodePacket([{ layer: "ethernet" }, { layer: "ipv6", extensions: [{ type: "hopByHop", options: [{ type: 5, data: hex("0000") }] }, { type: "routing", addresses: ["::1"] }, { type: "fragment" }] }, { layer: "udp", dstPort: 53 }, { layer: "payload", data: hex("0001 0100 0001 0000 0000 0000 0161 0000 0100 01") }]) },
    { lt: 113, f: hex("0004 0001 0006 027700000001 0000 0806 0001 0800 06 04 0001 027700000001 0a4d0001 000000000000 0a4d0002") },
    { lt: 276, f: hex("0800 0000 00000002 0001 00 06 027700000002 0000" + "4600 001c 0000 0000 403b 0000 0a000001 0a000002 07070400000000") },
    { lt: 0, f: hex("1e000000 60000000 0008 3c40" + "00".repeat(32) + "3a00 0102 0000 0000") },
  ];
  const linkTypes = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];
  it("random bytes on every link type", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...linkTypes), (bytes, lt) => {
        const r = decodePacket(bytes, lt);
        expect(Array.isArray(r.layers)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
  it("mutated and cut valid frames", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        ({ lt, f }, flips, cut) => {
          const b = f.slice(0, f.length - (cut % (f.length + 1)));
          for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
          const r = decodePacket(b, lt, { length: f.length });
          // every byte is accounted for: no layer reads outside the frame
          for (const l of r.layers) if (l.layer === "payload") expect(l.data.buffer).toBe(b.buffer);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

// ---- differential against tshark on real traffic ----

/** Test-local pcap reader (classic format, either byte order). */
function readPcap(file: string): { linkType: number; frames: { data: Uint8Array; length: number }[] } {
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const frames: { data: Uint8Array; length: number }[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const caplen = v.getUint32(off + 8, le);
    frames.push({ data: new Uint8Array(b.subarray(off + 16, off + 16 + caplen)), length: v.getUint32(off + 12, le) });
    off += 16 + caplen;
  }
  return { linkType: v.getUint32(20, le), frames };
}

async function capture(host: Host, args: string[], action: () => Promise<unknown>): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "stackts-dec-")), "c.pcap");
  const td = host.spawn(["tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n", ...args, "-w", file]);
  await new Promise<void>((resolve, reject) => {
    let err = "";
    td.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("listening on")) resolve();
    });
    td.on("exit", () => reject(new Error(`tcpdump exited: ${err}`)));
  });
  await action();
  await new Promise((r) => setTimeout(r, 300));
  const done = new Promise((r) => td.on("exit", r));
  td.kill("SIGINT");
  await done;
  return file;
}

const FIELDS = [
  "frame.protocols",
  "eth.src", "eth.dst", "eth.type",
  "arp.hw.type", "arp.proto.type", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4",
  "ip.version", "ip.hdr_len", "ip.dsfield.dscp", "ip.dsfield.ecn", "ip.len", "ip.id", "ip.flags.df", "ip.flags.mf", "ip.frag_offset",
  "ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst",
  "ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst", "ipv6.hopopts.nxt", "ipv6.hopopts.len_oct",
  "sll.pkttype", "sll.hatype", "sll.etype",
] as const;

function tsharkRows(file: string): Record<(typeof FIELDS)[number], string>[] {
  const out = execFileSync(
    "tshark",
    ["-r", file, "-o", "ip.check_checksum:TRUE", "-o", "ip.defragment:FALSE", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f", ...FIELDS.flatMap((f) => ["-e", f])],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out
    .split("\n")
    .filter((l) => l.length > 0)
    .map((line) => {
      const cols = line.split("\t");
      return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ?? ""])) as Record<(typeof FIELDS)[number], string>;
    });
}

const num = (s: string): number => Number(s); // tshark prints hex as 0x.., decimals plain: Number reads both
const bool = (s: string): boolean => s === "1" || s === "True";

function compare(layers: AnyLayer[], t: Record<(typeof FIELDS)[number], string>): number {
  let checked = 0;
  const protos = t["frame.protocols"].split(":");
  const eth = layers.find((l): l is Ethernet => l.layer === "ethernet");
  if (protos.includes("eth")) {
    expect(eth).toBeDefined();
    expect([eth!.src, eth!.dst, eth!.type]).toEqual([t["eth.src"], t["eth.dst"], num(t["eth.type"])]);
    checked++;
  }
  if (protos.includes("sll")) {
    const sll = layers[0] as { layer: string; packetType: number; addressType: number; protocol: number };
    expect(sll.layer).toBe("sll");
    expect([sll.packetType, sll.addressType, sll.protocol]).toEqual([num(t["sll.pkttype"]), num(t["sll.hatype"]), num(t["sll.etype"])]);
    checked++;
  }
  const arp = layers.find((l): l is Arp => l.layer === "arp");
  expect(arp !== undefined).toBe(protos.includes("arp"));
  if (arp) {
    expect([arp.hardwareType, arp.protocolType, arp.op, arp.senderMac, arp.senderIp, arp.targetMac, arp.targetIp]).toEqual([
      num(t["arp.hw.type"]), num(t["arp.proto.type"]), num(t["arp.opcode"]), t["arp.src.hw_mac"], t["arp.src.proto_ipv4"], t["arp.dst.hw_mac"], t["arp.dst.proto_ipv4"],
    ]);
    checked++;
  }
  const ip = layers.find((l): l is Ipv4 => l.layer === "ipv4");
  expect(ip !== undefined).toBe(protos.includes("ip"));
  if (ip) {
    expect([ip.version, ip.headerLength, ip.dscp, ip.ecn, ip.totalLength, ip.id, ip.dontFragment, ip.moreFragments, ip.fragmentOffset, ip.ttl, ip.protocol, ip.checksum, ip.checksumValid, ip.src, ip.dst]).toEqual([
      num(t["ip.version"]), num(t["ip.hdr_len"]), num(t["ip.dsfield.dscp"]), num(t["ip.dsfield.ecn"]), num(t["ip.len"]), num(t["ip.id"]),
      bool(t["ip.flags.df"]), bool(t["ip.flags.mf"]), num(t["ip.frag_offset"]) * 8, num(t["ip.ttl"]), num(t["ip.proto"]), num(t["ip.checksum"]),
      t["ip.checksum.status"] === "1" ? true : t["ip.checksum.status"] === "0" ? false : null, t["ip.src"], t["ip.dst"],
    ]);
    checked++;
  }
  const ip6 = layers.find((l): l is Ipv6 => l.layer === "ipv6");
  expect(ip6 !== undefined).toBe(protos.includes("ipv6"));
  if (ip6) {
    expect([ip6.version, ip6.trafficClass, ip6.flowLabel, ip6.payloadLength, ip6.nextHeader, ip6.hopLimit, ip6.src, ip6.dst]).toEqual([
      num(t["ipv6.version"]), num(t["ipv6.tclass"]), num(t["ipv6.flow"]), num(t["ipv6.plen"]), num(t["ipv6.nxt"]), num(t["ipv6.hlim"]), t["ipv6.src"], t["ipv6.dst"],
    ]);
    const hbh = ip6.extensions.find((e) => e.type === "hopByHop");
    expect(hbh !== undefined).toBe(t["ipv6.hopopts.nxt"] !== "");
    if (hbh) expect([hbh.nextHeader, hbh.headerLength]).toEqual([num(t["ipv6.hopopts.nxt"]), num(t["ipv6.hopopts.len_oct"])]);
    checked++;
  }
  return checked;
}

const skip = labSkipReason ?? (hasCommand("tcpdump") && hasCommand("tshark") ? null : "needs tcpdump and tshark");
describe.skipIf(skip !== null)(`differential against tshark on captured traffic${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let lab: Lab | undefined;
  afterAll(() => lab?.down());

  it("ARP, ping (with fragments) and ping6: every ethernet/arp/ipv4/ipv6 field agrees with tshark", async () => {
    lab = makeLab({ ipv6: true });
    const l = lab;
    const file = await capture(l.a, ["-i", l.a.iface], async () => {
      await l.a.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", l.b.ip4]); // ARP first, then echo
      await l.a.run(["ping", "-c", "1", "-W", "2", "-s", "3000", "-Q", "0xb9", l.b.ip4]); // 3 fragments each way, DSCP 46 ECN 1
      await l.a.run(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", l.b.ip6]); // ND, echo
    });
    const { linkType, frames } = readPcap(file);
    expect(linkType).toBe(LINKTYPE.ETHERNET);
    const rows = tsharkRows(file);
    expect(rows.length).toBe(frames.length);
    const decoder = new PacketDecoder();
    const seen = { arp: 0, ipv4: 0, ipv6: 0, fragments: 0 };
    frames.forEach((f, i) => {
      const { layers, issues } = decoder.decode(f.data, linkType, f.length);
      expect(issues).toEqual([]);
      expect(compare(layers, rows[i]!)).toBeGreaterThan(0);
      for (const l of layers) {
        if (l.layer === "arp") seen.arp++;
        if (l.layer === "ipv4") {
          seen.ipv4++;
          if (l.moreFragments || l.fragmentOffset > 0) seen.fragments++;
        }
        if (l.layer === "ipv6") seen.ipv6++;
      }
    });
    expect(seen.arp).toBeGreaterThanOrEqual(2);
    expect(seen.ipv4).toBeGreaterThanOrEqual(4 + 6);
    expect(seen.fragments).toBeGreaterThanOrEqual(6);
    expect(seen.ipv6).toBeGreaterThanOrEqual(4);
  });

  it("Linux cooked capture (tcpdump -i any) agrees with tshark", async () => {
    const l = lab ?? (lab = makeLab({ ipv6: true }));
    const file = await capture(l.a, ["-i", "any", "-y", "LINUX_SLL"], () => l.a.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", l.b.ip4]));
    const { linkType, frames } = readPcap(file);
    expect(linkType).toBe(LINKTYPE.LINUX_SLL);
    const rows = tsharkRows(file);
    expect(frames.length).toBeGreaterThanOrEqual(4);
    frames.forEach((f, i) => {
      const { layers, issues } = decodePacket(f.data, linkType, { length: f.length });
      expect(issues).toEqual([]);
      expect(compare(layers, rows[i]!)).toBeGreaterThanOrEqual(2);
    });
  });
});
