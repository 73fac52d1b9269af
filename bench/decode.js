// Decode benchmark: packets/s of our zero-copy port extraction (peek), our full
// decode (PacketDecoder: the copy read `decode` and the zero-copy read
// `decodeReused`), `stackts read FILE > /dev/null` and
// `TZ=UTC tcpdump -n -r FILE > /dev/null`, measured in one run on one file,
// printed with ratios. Prints figures; asserts nothing.
//
//   npm run build:ts && node bench/decode.js [--packets N] [--keep]
//
// The file (~1 M packets by default) is built with our own builder
// (encodePacket) and pcap writer into .bench/: a mix of TCP conversations with
// options, UDP, DNS queries and answers, ICMP echo, IPv6 TCP/UDP/ICMPv6, ARP
// and 802.1Q-tagged frames. Peek and decode run over frames already in memory
// (the file reader is measured by bench/files.js), so they show the cost of the
// decoding itself; the two commands are measured end to end, file to /dev/null.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, "..");
const DIST = path.join(ROOT, "dist");

async function load() {
  const { encodePacket } = await import(path.join(DIST, "layers/encode.js"));
  const { PacketDecoder } = await import(path.join(DIST, "layers/decode.js"));
  const { PortPeek, peekPorts } = await import(path.join(DIST, "layers/peek.js"));
  const { PcapWriter } = await import(path.join(DIST, "src/pcap.js"));
  const { openCaptureFile } = await import(path.join(DIST, "src/capture_file.js"));
  return { encodePacket, PacketDecoder, PortPeek, peekPorts, PcapWriter, openCaptureFile };
}

const te = new TextEncoder();
const mac = (n) => `02:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, "0")}:${(n & 0xff).toString(16).padStart(2, "0")}`;
const ip4 = (n) => `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`;
const ip6 = (n) => `fd00::${(n & 0xffff).toString(16)}`;
const PAYLOADS = [0, 1, 40, 120, 200, 536].map((n) => Uint8Array.from({ length: n }, (_, i) => 0x20 + (i % 90)));
const HTTP = te.encode("GET /index.html HTTP/1.1\r\nHost: bench.example\r\nAccept: */*\r\n\r\n");
const ACK = 0x10;
const PSH = 0x08;

/**
 * The layers of packet `i`: 1000 conversations, each kind in a fixed share.
 * Returns the build input for encodePacket.
 */
function packetLayers(i) {
  const flow = i % 1000;
  const client = { mac: mac(flow + 1), ip: ip4(flow + 1), ip6: ip6(flow + 1) };
  const server = { mac: mac(0xfffe), ip: ip4(0xfffe), ip6: ip6(0xfffe) };
  const up = (i >> 1) & 1; // direction alternates in pairs
  const [s, d] = up ? [client, server] : [server, client];
  const eth = { layer: "ethernet", src: s.mac, dst: d.mac };
  const round = Math.floor(i / 1000);
  const cport = 20000 + flow;
  switch (i % 20) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: {
      // TCP data (and bare ACKs) with timestamps, seq advancing per round
      const data = PAYLOADS[i % PAYLOADS.length];
      const ts = { kind: "timestamps", tsval: i >>> 0, tsecr: (i >>> 1) >>> 0 };
      return [eth, { layer: "ipv4", src: s.ip, dst: d.ip, id: i & 0xffff, dontFragment: true },
        { layer: "tcp", srcPort: up ? cport : 443, dstPort: up ? 443 : cport, seq: (1000 + round * 600) >>> 0, ack: (5000 + round * 600) >>> 0, flags: data.length ? PSH | ACK : ACK, window: 502, options: [{ kind: "nop" }, { kind: "nop" }, ts] },
        ...(data.length ? [{ layer: "payload", data }] : [])];
    }
    case 7:
      return [eth, { layer: "ipv4", src: s.ip, dst: d.ip, id: i & 0xffff },
        { layer: "tcp", srcPort: up ? cport : 80, dstPort: up ? 80 : cport, seq: round * 100, ack: 1, flags: PSH | ACK, window: 1024 }, { layer: "payload", data: HTTP }];
    case 8: case 9: case 10:
      return [eth, { layer: "ipv4", src: s.ip, dst: d.ip, id: i & 0xffff }, { layer: "udp", srcPort: up ? cport : 4500, dstPort: up ? 4500 : cport }, { layer: "payload", data: PAYLOADS[2 + (i % 3)] }];
    case 11:
      return [eth, { layer: "ipv4", src: client.ip, dst: server.ip }, { layer: "udp", srcPort: cport, dstPort: 53 },
        { layer: "dns", id: i & 0xffff, questions: [{ name: `host${flow}.bench.example`, type: "A" }] }];
    case 12:
      return [{ layer: "ethernet", src: server.mac, dst: client.mac }, { layer: "ipv4", src: server.ip, dst: client.ip }, { layer: "udp", srcPort: 53, dstPort: cport },
        { layer: "dns", id: (i - 1) & 0xffff, response: true, recursionAvailable: true, questions: [{ name: `host${flow}.bench.example`, type: "A" }], answers: [{ name: `host${flow}.bench.example`, type: "A", ttl: 60, data: ip4(flow + 7) }] }];
    case 13:
      return [eth, { layer: "ipv4", src: s.ip, dst: d.ip }, { layer: "icmp", type: up ? 8 : 0, identifier: flow, sequence: round & 0xffff }, { layer: "payload", data: PAYLOADS[3].subarray(0, 56) }];
    case 14: case 15:
      return [eth, { layer: "ipv6", src: s.ip6, dst: d.ip6 },
        { layer: "tcp", srcPort: up ? cport : 443, dstPort: up ? 443 : cport, seq: round * 200, ack: 7, flags: PSH | ACK, window: 300 }, { layer: "payload", data: PAYLOADS[i % PAYLOADS.length] }];
    case 16:
      return [eth, { layer: "ipv6", src: s.ip6, dst: d.ip6 }, { layer: "udp", srcPort: cport, dstPort: 4500 }, { layer: "payload", data: PAYLOADS[2] }];
    case 17:
      return [eth, { layer: "ipv6", src: s.ip6, dst: d.ip6 }, { layer: "icmpv6", type: up ? 128 : 129, identifier: flow, sequence: round & 0xffff }, { layer: "payload", data: PAYLOADS[2] }];
    case 18:
      return [{ layer: "ethernet", src: client.mac, dst: "ff:ff:ff:ff:ff:ff" }, { layer: "arp", op: 1, senderMac: client.mac, senderIp: client.ip, targetMac: "00:00:00:00:00:00", targetIp: server.ip }];
    default:
      return [eth, { layer: "vlan", id: 100 + (flow % 10) }, { layer: "ipv4", src: s.ip, dst: d.ip }, { layer: "udp", srcPort: cport, dstPort: 5000 }, { layer: "payload", data: PAYLOADS[2] }];
  }
}

/** Build the file with encodePacket and the pcap writer; returns seconds spent. */
export async function makeDecodeBenchFile(file, count) {
  const { encodePacket, PcapWriter } = await load();
  const t0 = performance.now();
  const w = new PcapWriter(file, { linkType: 1, bufferSize: 8 << 20 });
  const base = 1_795_576_851;
  for (let i = 0; i < count; i++) {
    const data = encodePacket(packetLayers(i));
    w.write({ data, length: data.length, sec: base + Math.floor(i / 100_000), nsec: (i % 100_000) * 10_000, linkType: 1, interfaceId: 0 });
  }
  w.close();
  return (performance.now() - t0) / 1000;
}

/** Every frame of the file, in memory (one buffer per batch, copied once). */
function loadFrames(openCaptureFile, file) {
  const frames = [];
  const r = openCaptureFile(file);
  r.readBatchesSync((b) => {
    const end = b.offset[b.count - 1] + b.caplen[b.count - 1];
    const buf = b.buffer.slice(b.offset[0], end);
    for (let i = 0; i < b.count; i++) {
      const start = b.offset[i] - b.offset[0];
      frames.push({ data: buf.subarray(start, start + b.caplen[i]), length: b.length[i], linkType: b.linkType[i] });
    }
  });
  r.close();
  return frames;
}

const FRESH_ROW = "full decode, fresh values (decode)";
const REUSED_ROW = "full decode, values reused (decodeReused)";

function timeCommand(cmd, args, env) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${String(r.stderr).slice(0, 300)}`);
  return seconds;
}

/**
 * Measure everything on one file. Returns rows { name, packets, seconds, pps }.
 * `log` gets progress lines.
 */
export async function runDecodeBench({ packets = 1_000_000, keep = false, log = console.log } = {}) {
  const mods = await load();
  const dir = path.join(ROOT, ".bench");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `decode-${packets}.pcap`);
  if (!fs.existsSync(file)) {
    const s = await makeDecodeBenchFile(file, packets);
    log(`built ${packets} packets with encodePacket + PcapWriter in ${s.toFixed(1)} s (${(packets / s / 1e6).toFixed(2)} M packets/s): ${file} (${(fs.statSync(file).size / 1e6).toFixed(0)} MB)`);
  } else {
    log(`using ${file}`);
  }
  const frames = loadFrames(mods.openCaptureFile, file);
  const n = frames.length;
  const rows = [];

  // Zero-copy ports: two passes, the second timed.
  const peek = new mods.PortPeek();
  let withPorts = 0;
  for (let pass = 0; pass < 2; pass++) {
    withPorts = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const f = frames[i];
      if (mods.peekPorts(f.data, f.linkType, peek)) withPorts++;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (pass === 1) rows.push({ name: "zero-copy ports (peekPorts)", packets: n, seconds });
  }

  // Full decode: every layer as a plain value, checksums verified. The copy
  // read (decode: fresh values, safe to keep) and the zero-copy read
  // (decodeReused: arrays and fixed-shape values owned by the decoder,
  // overwritten by the next call). One warm-up pass, then the median of three.
  let layers = 0;
  for (const [name, method] of [[FRESH_ROW, "decode"], [REUSED_ROW, "decodeReused"]]) {
    const decoder = new mods.PacketDecoder();
    const times = [];
    for (let pass = 0; pass < 4; pass++) {
      layers = 0;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const f = frames[i];
        layers += decoder[method](f.data, f.linkType, f.length).layers.length;
      }
      if (pass > 0) times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    rows.push({ name, packets: n, seconds: times[1] });
  }
  frames.length = 0;

  const bin = path.join(ROOT, "bin/stackts.js");
  timeCommand(process.execPath, [bin, "read", "-c", "1000", file]); // warm the page cache and the disk
  rows.push({ name: "stackts read FILE > /dev/null", packets: n, seconds: timeCommand(process.execPath, [bin, "read", file], {}) });
  rows.push({ name: "stackts read --json FILE > /dev/null", packets: n, seconds: timeCommand(process.execPath, [bin, "read", "--json", file], {}) });
  let tcpdump = null;
  try {
    tcpdump = timeCommand("tcpdump", ["-n", "-r", file], { TZ: "UTC" });
    rows.push({ name: "TZ=UTC tcpdump -n -r FILE > /dev/null", packets: n, seconds: tcpdump });
  } catch (err) {
    log(`tcpdump not measured: ${err.message}`);
  }
  for (const r of rows) r.pps = r.packets / r.seconds;
  log(`${n} packets, ${withPorts} with ports, ${(layers / n).toFixed(2)} layers per packet`);
  if (!keep) fs.rmSync(file, { force: true });
  return rows;
}

/** Print rows with ratios to the first row named like `peerName`. */
export function printDecodeRows(rows, log = console.log) {
  const peer = rows.find((r) => r.name.includes("tcpdump"));
  const targets = { "zero-copy ports (peekPorts)": 10e6, [FRESH_ROW]: 3e6, [REUSED_ROW]: 3e6 };
  for (const r of rows) {
    let note = "";
    if (peer && r !== peer) note += `  x${(r.pps / peer.pps).toFixed(2)} tcpdump`;
    if (targets[r.name]) note += `  (target ${targets[r.name] / 1e6} M/s: ${r.pps >= targets[r.name] ? "met" : "not met"})`;
    if (peer && r.name === "stackts read FILE > /dev/null") note += `  (target: no slower than tcpdump: ${r.pps >= peer.pps ? "met" : "not met"})`;
    log(`${r.name.padEnd(42)} ${(r.pps / 1e6).toFixed(2).padStart(6)} M packets/s  ${r.seconds.toFixed(2).padStart(6)} s${note}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--packets");
  const packets = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
  const rows = await runDecodeBench({ packets, keep: process.argv.includes("--keep") });
  printDecodeRows(rows);
}
