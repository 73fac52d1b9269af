/**
 * ICMPv6 and NDP: hand-worked messages (echo, NS, NA, RA with every option
 * kind) decoded field by field and built back byte for byte, quoted packets
 * decoded as real layers, hostile NDP options, and tshark as a second opinion
 * on the same bytes, and the kernel's own echo replies to requests we build.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncodeContext } from "../../layers/core.ts";
import { decodeAs } from "../../layers/decode.ts";
import { icmpv6Codec, parseNdpOptions, type Icmpv6, type Icmpv6Input, type NdpOption } from "../../layers/icmpv6.ts";
import { parseIpv6 } from "../../layers/addr.ts";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { Frame } from "../../src/frame.ts";
import { openCaptureFile } from "../../src/capture_file.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Host, type Lab } from "../helpers/lab.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** An IPv6 header (RFC 8200 §3) for `payload`: next header 58, hop limit 255, then the payload. */
function ipv6(src: string, dst: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(40 + payload.length);
  out.set([0x60, 0, 0, 0, payload.length >> 8, payload.length & 0xff, 58, 255]);
  out.set(parseIpv6(src), 8);
  out.set(parseIpv6(dst), 24);
  out.set(payload, 40);
  return out;
}

function ctx(src: string, dst: string): EncodeContext {
  return { inner: undefined, outer: undefined, ip: { version: 6, src: parseIpv6(src), dst: parseIpv6(dst) } };
}

function build(value: Icmpv6Input, c: EncodeContext, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = icmpv6Codec.headerLength(value, c);
  const out = new Uint8Array(header + payload.length).fill(0xa5);
  out.set(payload, header);
  icmpv6Codec.write(value, out, c);
  return out;
}

function asInput(icmp: Icmpv6): Icmpv6Input {
  const { checksumValid: _v, checksumStatus: _s, quoted: _q, checksum: _c, ...rest } = icmp;
  return rest;
}

// Echo request fd77::1 -> fd77::2, id 0x1234, seq 1, no data (length 8).
//   pseudo-header: fd77+0001 + fd77+0002 + 0008 (length) + 003a (next header 58) = 1fb33
//   message: 8000 + 1234 + 0001 = 9235
//   1fb33 + 9235 = 28d68 -> fold 8d68+2 = 8d6a -> complement 7295
const ECHO = hex("8000 7295 1234 0001");

// Neighbor solicitation fd77::1 -> ff02::1:ff00:2 for target fd77::2, source link-layer
// address option 02:77:00:00:00:01 (type 1, length 1 unit). Length 32.
//   pseudo: fd77+0001 + ff02+0001+ff00+0002 + 0020 + 003a = 2fbd7
//   message: 8700 + fd77+0002 (target) + 0101+0277+0000+0001 (option) = 187f2
//   2fbd7 + 187f2 = 483c9 -> fold 83c9+4 = 83cd -> complement 7c32
const NS = hex("8700 7c32 0000 0000  fd77 0000 0000 0000 0000 0000 0000 0002  0101 0277 0000 0001");

// Neighbor advertisement fd77::2 -> fd77::1: solicited + override (0x60), target fd77::2,
// target link-layer address 02:77:00:00:00:02. Length 32.
//   pseudo: fd77+0002 + fd77+0001 + 0020 + 003a = 1fb4b
//   message: 8800 + 6000 + fd77+0002 + 0201+0277+0000+0002 = 1e9f3
//   1fb4b + 1e9f3 = 3e53e -> fold e53e+3 = e541 -> complement 1abe
const NA = hex("8800 1abe 6000 0000  fd77 0000 0000 0000 0000 0000 0000 0002  0201 0277 0000 0002");

// Router advertisement fe80::1 -> ff02::1: cur hop limit 64, M and O set (c0), router
// lifetime 1800 (0708), reachable time 30000 ms (7530), retrans timer 1000 ms (03e8),
// then options: source link-layer address, MTU 1500, prefix fd77::/64 (L+A, valid 86400
// = 0x15180, preferred 14400 = 0x3840), RDNSS fd77::53 with lifetime 600 (0258). Length 88.
//   pseudo: fe80+0001 + ff02+0001 + 0058 + 003a = 1fe16
//   fixed part: 8600+40c0+0708+0000+7530+0000+03e8 = 146e0
//   source link-layer option: 0101+0277+0000+0001 = 0379
//   MTU option: 0501+0000+0000+05dc = 0add
//   prefix option: 0304+40c0+0001+5180+0000+3840+0000+0000+fd77 = 1cafc
//   RDNSS option: 1903+0000+0000+0258+fd77+0053 = 11925
//   total 6376d -> fold 376d+6 = 3773 -> complement c88c
const RA = hex(`
  8600 c88c 40c0 0708 0000 7530 0000 03e8
  0101 0277 0000 0001
  0501 0000 0000 05dc
  0304 40c0 0001 5180 0000 3840 0000 0000  fd77 0000 0000 0000 0000 0000 0000 0000
  1903 0000 0000 0258  fd77 0000 0000 0000 0000 0000 0000 0053`);

const RA_OPTIONS: NdpOption[] = [
  { kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" },
  { kind: "mtu", mtu: 1500 },
  { kind: "prefixInformation", prefixLength: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: "fd77::" },
  { kind: "rdnss", lifetime: 600, servers: ["fd77::53"] },
];

describe("icmpv6 decode", () => {
  it("reads an echo request and verifies its pseudo-header checksum", () => {
    const { layers, issues } = decodeAs("ipv6", ipv6("fd77::1", "fd77::2", ECHO));
    expect(issues).toEqual([]);
    expect(layers.map((l) => l.layer)).toEqual(["ipv6", "icmpv6"]);
    expect(layers[1]).toEqual({
      layer: "icmpv6",
      type: 128,
      code: 0,
      checksum: 0x7295,
      checksumValid: true,
      checksumStatus: "good",
      identifier: 0x1234,
      sequence: 1,
    });
    // The same bytes from another source: the pseudo-header differs, so the checksum is bad.
    expect(decodeAs("ipv6", ipv6("fd77::3", "fd77::2", ECHO)).layers[1]).toMatchObject({ checksumValid: false, checksumStatus: "bad" });
  });

  it("reads a neighbor solicitation and advertisement", () => {
    const ns = decodeAs("ipv6", ipv6("fd77::1", "ff02::1:ff00:2", NS));
    expect(ns.issues).toEqual([]);
    expect(ns.layers[1]).toEqual({
      layer: "icmpv6",
      type: 135,
      code: 0,
      checksum: 0x7c32,
      checksumValid: true,
      checksumStatus: "good",
      targetAddress: "fd77::2",
      options: [{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }],
    });
    const na = decodeAs("ipv6", ipv6("fd77::2", "fd77::1", NA));
    expect(na.issues).toEqual([]);
    expect(na.layers[1]).toMatchObject({
      type: 136,
      checksum: 0x1abe,
      checksumStatus: "good",
      router: false,
      solicited: true,
      override: true,
      targetAddress: "fd77::2",
      options: [{ kind: "targetLinkLayerAddress", address: "02:77:00:00:00:02" }],
    });
  });

  it("reads a router advertisement with every named option", () => {
    const { layers, issues } = decodeAs("ipv6", ipv6("fe80::1", "ff02::1", RA));
    expect(issues).toEqual([]);
    expect(layers[1]).toEqual({
      layer: "icmpv6",
      type: 134,
      code: 0,
      checksum: 0xc88c,
      checksumValid: true,
      checksumStatus: "good",
      curHopLimit: 64,
      managed: true,
      other: true,
      routerLifetime: 1800,
      reachableTime: 30000,
      retransTimer: 1000,
      options: RA_OPTIONS,
    });
  });

  it("decodes an error's quoted packet as real IPv6 and UDP layers", () => {
    // Packet too big (mtu 1280) quoting fd77::1:40000 -> fd77::2:9999 "hi" whole
    // (UDP checksum d92e, worked out in udp.test.ts).
    const quote = ipv6("fd77::1", "fd77::2", hex("9c40 270f 000a d92e 6869"));
    quote[6] = 17; // next header UDP
    quote[7] = 64;
    const msg = build({ layer: "icmpv6", type: 2, mtu: 1280 }, ctx("fd77::ff", "fd77::1"), quote);
    const { layers, issues } = decodeAs("ipv6", ipv6("fd77::ff", "fd77::1", msg));
    expect(issues).toEqual([]);
    const icmp = layers[1] as Icmpv6;
    expect(icmp).toMatchObject({ type: 2, code: 0, mtu: 1280, checksumStatus: "good" });
    expect(icmp.quoted?.issues).toEqual([]);
    expect(icmp.quoted?.layers).toMatchObject([
      { layer: "ipv6", src: "fd77::1", dst: "fd77::2", nextHeader: 17, payloadLength: 10 },
      { layer: "udp", srcPort: 40000, dstPort: 9999, checksumStatus: "good" }, // whole quote: verifiable
      { layer: "payload", data: hex("6869") },
    ]);
    // A quote cut to 48 bytes (IPv6 header + UDP header): the UDP length runs past it.
    const cut = build({ layer: "icmpv6", type: 1, code: 4 }, ctx("fd77::2", "fd77::1"), quote.subarray(0, 48));
    const c = decodeAs("ipv6", ipv6("fd77::2", "fd77::1", cut));
    expect(c.issues).toEqual([]);
    const q = (c.layers[1] as Icmpv6).quoted;
    expect(q?.layers.map((l) => l.layer)).toEqual(["ipv6", "udp"]);
    expect(q?.issues.some((i) => i.layer === "udp" && i.kind === "truncated")).toBe(true);
  });

  it("reads parameter problem, time exceeded and redirect", () => {
    const pp = decodeAs("icmpv6", hex("0400 0000 0000 0006")).layers[0];
    expect(pp).toMatchObject({ type: 4, pointer: 6, checksumStatus: "unverified" }); // no IPv6 layer: no pseudo-header
    const redirect = hex("8900 0000 0000 0000  fe80 0000 0000 0000 0000 0000 0000 0001  fd77 0000 0000 0000 0000 0000 0000 0099  0401 0000 0000 0000");
    expect(decodeAs("icmpv6", redirect).layers[0]).toMatchObject({
      type: 137,
      targetAddress: "fe80::1",
      destinationAddress: "fd77::99",
      options: [{ kind: "redirectedHeader", data: new Uint8Array(0) }],
    });
  });
});

describe("icmpv6 hostile NDP options", () => {
  it("length 0 is malformed (RFC 4861 §4.6): an Issue, never a loop; earlier options kept", () => {
    const b = Uint8Array.of(...NS, 0x0e, 0x00, 0, 0, 0, 0, 0, 0);
    const { layers, issues } = decodeAs("icmpv6", b);
    expect(issues).toEqual([{ layer: "icmpv6", kind: "malformed", reason: "option type 14 has length 0" }]);
    expect((layers[0] as Icmpv6).options).toEqual([{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }]);
  });

  it("an option past the end is reported; a known type with a wrong length is kept raw", () => {
    const out: NdpOption[] = [];
    expect(parseNdpOptions(hex("0101 0277 0000 0001 0304 40c0"), 0, 12, out)).toEqual({
      reason: "option type 3 length 32 exceeds the 4 bytes left",
      cut: true,
    });
    expect(out).toHaveLength(1);
    const raw: NdpOption[] = [];
    // MTU option with 2 units instead of 1, then a good MTU option.
    expect(parseNdpOptions(hex("0502 0000 0000 05dc 0000 0000 0000 0000 0501 0000 0000 0500"), 0, 24, raw)?.reason).toBe("option type 5 has length 2");
    expect(raw).toEqual([
      { kind: "unknown", code: 5, data: hex("0000 0000 05dc 0000 0000 0000 0000") },
      { kind: "mtu", mtu: 1280 },
    ]);
    expect(parseNdpOptions(hex("01"), 0, 1, [])?.reason).toBe("option type 1 at offset 0 has no length byte");
  });

  it("a short NDP message or a cut option list in a cut capture is truncated", () => {
    expect(decodeAs("icmpv6", NS.subarray(0, 20)).issues).toEqual([{ layer: "icmpv6", kind: "truncated", reason: "type 135 needs 24 bytes, have 20" }]);
    // RA cut inside its prefix option, IPv6 payload length still 88 (capture cut).
    const frame = ipv6("fe80::1", "ff02::1", RA).subarray(0, 40 + 40);
    const { layers, issues } = decodeAs("ipv6", frame);
    expect(issues.filter((i) => i.layer === "icmpv6")).toEqual([{ layer: "icmpv6", kind: "truncated", reason: "option type 3 length 32 exceeds the 8 bytes left" }]);
    expect(layers[1]).toMatchObject({ checksumStatus: "unverified", options: RA_OPTIONS.slice(0, 2) });
  });
});

describe("icmpv6 encode", () => {
  it("builds echo, NS, NA and RA byte for byte from their values", () => {
    expect([...build({ layer: "icmpv6", identifier: 0x1234, sequence: 1 }, ctx("fd77::1", "fd77::2"))]).toEqual([...ECHO]);
    const ns: Icmpv6Input = { layer: "icmpv6", type: 135, targetAddress: "fd77::2", options: [{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }] };
    expect([...build(ns, ctx("fd77::1", "ff02::1:ff00:2"))]).toEqual([...NS]);
    const na = decodeAs("icmpv6", NA).layers[0] as Icmpv6;
    expect([...build(asInput(na), ctx("fd77::2", "fd77::1"))]).toEqual([...NA]);
    const ra: Icmpv6Input = { layer: "icmpv6", type: 134, managed: true, other: true, reachableTime: 30000, retransTimer: 1000, options: RA_OPTIONS };
    expect([...build(ra, ctx("fe80::1", "ff02::1"))]).toEqual([...RA]); // curHopLimit 64 and lifetime 1800 are defaults
  });

  it("writes explicit fields as given: a wrong checksum, an option length of 0", () => {
    const out = build(
      { layer: "icmpv6", type: 133, checksum: 0xbad0, options: [{ kind: "unknown", code: 14, data: new Uint8Array(6), length: 0 }] },
      ctx("fe80::1", "ff02::2"),
    );
    expect([...out]).toEqual([0x85, 0, 0xba, 0xd0, 0, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodeAs("icmpv6", out).issues).toEqual([{ layer: "icmpv6", kind: "malformed", reason: "option type 14 has length 0" }]);
  });
});

const tsharkSkip = hasCommand("tshark") ? null : "needs tshark";

describe.skipIf(tsharkSkip !== null)("icmpv6 literals against tshark", () => {
  const dir = mkdtempSync(join(tmpdir(), "stackts-icmpv6-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("tshark reads the same fields and finds every checksum good", () => {
    const packets = [ipv6("fd77::1", "fd77::2", ECHO), ipv6("fd77::1", "ff02::1:ff00:2", NS), ipv6("fd77::2", "fd77::1", NA), ipv6("fe80::1", "ff02::1", RA)];
    // pcap, LINKTYPE_RAW (101): 24-byte file header, 16-byte record headers, little-endian.
    const parts: Uint8Array[] = [];
    const fileHeader = new DataView(new ArrayBuffer(24));
    fileHeader.setUint32(0, 0xa1b2c3d4, true);
    fileHeader.setUint16(4, 2, true);
    fileHeader.setUint16(6, 4, true);
    fileHeader.setUint32(16, 65535, true);
    fileHeader.setUint32(20, 101, true);
    parts.push(new Uint8Array(fileHeader.buffer));
    for (const p of packets) {
      const rec = new DataView(new ArrayBuffer(16));
      rec.setUint32(8, p.length, true);
      rec.setUint32(12, p.length, true);
      parts.push(new Uint8Array(rec.buffer), p);
    }
    const file = join(dir, "ndp.pcap");
    writeFileSync(file, Buffer.concat(parts));
    const fields = ["icmpv6.type", "icmpv6.checksum", "icmpv6.checksum.status", "icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address",
      "icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.router_lifetime", "icmpv6.nd.ra.reachable_time", "icmpv6.nd.ra.retrans_timer",
      "icmpv6.opt.mtu", "icmpv6.opt.prefix", "icmpv6.opt.rdnss", "icmpv6.echo.identifier"];
    const out = execFileSync("tshark", ["-n", "-r", file, "-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const rows = out.trim().split("\n").map((l) => l.split("|"));
    // checksum.status 1 is tshark's "Good".
    expect(rows).toEqual([
      ["128", "0x7295", "1", "", "", "", "", "", "", "", "", "", "0x1234"],
      ["135", "0x7c32", "1", "fd77::2", "", "", "", "", "", "", "", "", ""],
      ["136", "0x1abe", "1", "", "fd77::2", "", "", "", "", "", "", "", ""],
      ["134", "0xc88c", "1", "", "", "64", "1800", "30000", "1000", "1500", "fd77::", "fd77::53", ""],
    ]);
  });
});

// ---------------------------------------------------------------------------
// The kernel as the oracle: an echo request built by the pipeline, injected
// from host a (python3, AF_PACKET), answered by host b's kernel; the reply is
// captured with tcpdump and decoded by us. A wrong checksum gets no answer and
// is counted.

const INJECT = "import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\ns.send(bytes.fromhex(sys.argv[2]))\n";

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function inject(host: Host, frame: Uint8Array): Promise<void> {
  const r = await host.run(["python3", "-c", INJECT, host.iface, toHex(frame)]);
  if (r.code !== 0) throw new Error(`inject failed: ${r.stderr}`);
}

/** Run tcpdump on `host` with `filter` while `act` runs; the frames it saw (waits up to `ms` for `count`). */
async function captureWhile(host: Host, filter: string, count: number, ms: number, act: () => Promise<void>): Promise<Frame[]> {
  const dir = mkdtempSync(join(tmpdir(), "stackts-cap-"));
  const file = join(dir, "cap.pcap");
  try {
    const child = host.spawn(["tcpdump", "-i", host.iface, "-n", "-U", "--immediate-mode", "-c", String(count), "-w", file, filter]);
    let err = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => ((err += d.toString()), err.includes("listening on") && resolve()));
      child.on("close", () => reject(new Error(`tcpdump exited: ${err}`)));
    });
    const done = new Promise<void>((resolve) => child.on("close", () => resolve()));
    await act();
    const timer = setTimeout(() => child.kill("SIGINT"), ms);
    await done;
    clearTimeout(timer);
    const reader = openCaptureFile(file);
    const frames = [...reader.frames()];
    reader.close();
    return frames;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One counter from /proc/net/snmp ("Icmp", "InCsumErrors") or /proc/net/snmp6 ("Icmp6InCsumErrors") inside `host`. */
async function snmpCounter(host: Host, group: string, name: string): Promise<number> {
  if (group === "") {
    const text = (await host.run(["cat", "/proc/net/snmp6"])).stdout;
    return Number(new RegExp(`^${name}\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
  }
  const lines = (await host.run(["cat", "/proc/net/snmp"])).stdout.split("\n").filter((l) => l.startsWith(`${group}:`));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf(name)]);
}

const kernelSkip = labSkipReason ?? (hasCommand("tcpdump") ? null : "needs tcpdump");

describe.skipIf(kernelSkip !== null)("icmpv6 against the kernel", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = makeLab({ ipv6: true });
    await sleep(300);
  });
  afterAll(() => lab?.down());

  function echo(checksum?: number): Uint8Array {
    return encodePacket([
      { layer: "ethernet", src: lab.a.mac, dst: lab.b.mac },
      { layer: "ipv6", src: lab.a.ip6, dst: lab.b.ip6 },
      checksum === undefined ? { layer: "icmpv6", identifier: 0x4242, sequence: 7 } : { layer: "icmpv6", identifier: 0x4242, sequence: 7, checksum },
      { layer: "payload", data: new TextEncoder().encode("stackts echo6") },
    ]);
  }

  it("answers our echo request (after its own neighbor discovery); we decode its reply", async () => {
    const frames = await captureWhile(lab.a, "icmp6 and ip6[40] == 129", 1, 3000, () => inject(lab.a, echo()));
    expect(frames).toHaveLength(1);
    const { layers, issues } = decodePacket(frames[0]!.data, frames[0]!.linkType, { length: frames[0]!.length });
    expect(issues).toEqual([]);
    expect(layers.map((l) => l.layer)).toEqual(["ethernet", "ipv6", "icmpv6", "payload"]);
    expect(layers[2]).toMatchObject({ type: 129, code: 0, identifier: 0x4242, sequence: 7, checksumValid: true, checksumStatus: "good" });
    expect(new TextDecoder().decode((layers[3] as { data: Uint8Array }).data)).toBe("stackts echo6");
  });

  it("ignores and counts an echo request with a wrong checksum", async () => {
    const good = echo();
    const right = (good[14 + 40 + 2]! << 8) | good[14 + 40 + 3]!;
    const before = await snmpCounter(lab.b, "", "Icmp6InCsumErrors");
    const frames = await captureWhile(lab.a, "icmp6 and ip6[40] == 129", 1, 1500, () => inject(lab.a, echo(right ^ 0x0100)));
    expect(frames).toHaveLength(0);
    expect((await snmpCounter(lab.b, "", "Icmp6InCsumErrors")) - before).toBe(1);
  });
});
