/**
 * Differential test against tshark: real traffic between two network namespaces
 * (ping, UDP to an open and to a closed port, a TCP exchange, ARP / NDP on the
 * way), captured by tcpdump -w, then `stackts read --json` and `tshark -T fields`
 * of the same file must agree on every field of the JSON schema, packet by packet.
 * Needs root (namespaces), tcpdump, tshark and python3; skips with the reason
 * otherwise.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasCommand, labSkipReason, makeLab, sleep, type Host, type Lab } from "./helpers/lab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");

const skip =
  labSkipReason ??
  (!existsSync(join(ROOT, "dist/src/cli/main.js")) ? "dist/ missing: run npm run build:ts (npm test does)" : null) ??
  (["tcpdump", "tshark", "python3"].find((c) => !hasCommand(c)) !== undefined
    ? `needs ${["tcpdump", "tshark", "python3"].filter((c) => !hasCommand(c)).join(", ")} (./setup installs them)`
    : null);

type Json = Record<string, unknown>;
type Getter = (layer: Json) => unknown;

/** One compared field: tshark's name, our layer and how to read the value from it. */
interface FieldSpec {
  tshark: string;
  layer: string;
  get: Getter;
  /** compare only the outermost occurrence (checksum statuses: tshark also verifies quoted datagrams) */
  outerOnly?: boolean;
}

const key =
  (k: string): Getter =>
  (l) =>
    l[k];
const status: Getter = (l) => (l["checksumValid"] === true ? 1 : l["checksumValid"] === false ? 0 : 2);
const OPTION_KIND: Record<string, number> = { eol: 0, nop: 1, mss: 2, windowScale: 3, sackPermitted: 4, sack: 5, timestamps: 8 };
const options = (l: Json): Json[] => (l["options"] as Json[] | undefined) ?? [];
const option = (kind: string, field: string): Getter => (l) => options(l).find((o) => o["kind"] === kind)?.[field];

const FIELDS: FieldSpec[] = [
  { tshark: "eth.src", layer: "ethernet", get: key("src") },
  { tshark: "eth.dst", layer: "ethernet", get: key("dst") },
  { tshark: "eth.type", layer: "ethernet", get: key("type") },
  { tshark: "vlan.id", layer: "vlan", get: key("id") },
  { tshark: "vlan.priority", layer: "vlan", get: key("pcp") },
  { tshark: "vlan.etype", layer: "vlan", get: key("type") },
  { tshark: "arp.opcode", layer: "arp", get: key("op") },
  { tshark: "arp.src.hw_mac", layer: "arp", get: key("senderMac") },
  { tshark: "arp.src.proto_ipv4", layer: "arp", get: key("senderIp") },
  { tshark: "arp.dst.hw_mac", layer: "arp", get: key("targetMac") },
  { tshark: "arp.dst.proto_ipv4", layer: "arp", get: key("targetIp") },
  { tshark: "ip.src", layer: "ipv4", get: key("src") },
  { tshark: "ip.dst", layer: "ipv4", get: key("dst") },
  { tshark: "ip.ttl", layer: "ipv4", get: key("ttl") },
  { tshark: "ip.proto", layer: "ipv4", get: key("protocol") },
  { tshark: "ip.id", layer: "ipv4", get: key("id") },
  { tshark: "ip.len", layer: "ipv4", get: key("totalLength") },
  { tshark: "ip.hdr_len", layer: "ipv4", get: key("headerLength") },
  { tshark: "ip.flags.df", layer: "ipv4", get: key("dontFragment") },
  { tshark: "ip.flags.mf", layer: "ipv4", get: key("moreFragments") },
  { tshark: "ip.frag_offset", layer: "ipv4", get: key("fragmentOffset") },
  { tshark: "ip.checksum", layer: "ipv4", get: key("checksum") },
  { tshark: "ip.checksum.status", layer: "ipv4", get: status, outerOnly: true },
  { tshark: "ipv6.src", layer: "ipv6", get: key("src") },
  { tshark: "ipv6.dst", layer: "ipv6", get: key("dst") },
  { tshark: "ipv6.nxt", layer: "ipv6", get: key("nextHeader") },
  { tshark: "ipv6.hlim", layer: "ipv6", get: key("hopLimit") },
  { tshark: "ipv6.plen", layer: "ipv6", get: key("payloadLength") },
  { tshark: "ipv6.flow", layer: "ipv6", get: key("flowLabel") },
  { tshark: "ipv6.tclass", layer: "ipv6", get: key("trafficClass") },
  { tshark: "icmp.type", layer: "icmp", get: key("type") },
  { tshark: "icmp.code", layer: "icmp", get: key("code") },
  { tshark: "icmp.checksum.status", layer: "icmp", get: status, outerOnly: true },
  { tshark: "icmpv6.type", layer: "icmpv6", get: key("type") },
  { tshark: "icmpv6.code", layer: "icmpv6", get: key("code") },
  { tshark: "icmpv6.checksum.status", layer: "icmpv6", get: status, outerOnly: true },
  { tshark: "udp.srcport", layer: "udp", get: key("srcPort") },
  { tshark: "udp.dstport", layer: "udp", get: key("dstPort") },
  { tshark: "udp.length", layer: "udp", get: key("length") },
  { tshark: "udp.checksum.status", layer: "udp", get: status, outerOnly: true },
  { tshark: "tcp.srcport", layer: "tcp", get: key("srcPort") },
  { tshark: "tcp.dstport", layer: "tcp", get: key("dstPort") },
  { tshark: "tcp.seq_raw", layer: "tcp", get: key("seq") },
  { tshark: "tcp.ack_raw", layer: "tcp", get: key("ack") },
  { tshark: "tcp.flags", layer: "tcp", get: key("flags") },
  { tshark: "tcp.window_size_value", layer: "tcp", get: key("window") },
  { tshark: "tcp.hdr_len", layer: "tcp", get: key("headerLength") },
  { tshark: "tcp.checksum.status", layer: "tcp", get: status, outerOnly: true },
  { tshark: "tcp.options.mss_val", layer: "tcp", get: option("mss", "mss") },
  { tshark: "tcp.options.wscale.shift", layer: "tcp", get: option("windowScale", "shift") },
  { tshark: "tcp.options.timestamp.tsval", layer: "tcp", get: option("timestamps", "tsval") },
  { tshark: "tcp.options.timestamp.tsecr", layer: "tcp", get: option("timestamps", "tsecr") },
];

/** Values of `layer` in depth-first order, the datagram quoted by an ICMP error after its ICMP layer. */
function collect(layers: Json[], name: string, get: Getter, out: unknown[]): unknown[] {
  for (const l of layers) {
    if (l["layer"] === name) {
      const v = get(l);
      if (v !== undefined) out.push(v);
    }
    const q = l["quoted"] as { layers?: Json[] } | undefined;
    if (q?.layers) collect(q.layers, name, get, out);
  }
  return out;
}

/** tshark's text and our JSON values in one comparable form. */
function norm(v: unknown): string {
  if (typeof v === "boolean") return v ? "1" : "0";
  if (typeof v === "number") return String(v);
  const s = String(v);
  if (/^0x[0-9a-f]+$/i.test(s)) return String(parseInt(s, 16));
  if (s === "True" || s === "Set") return "1";
  if (s === "False" || s === "Not set") return "0";
  return s.toLowerCase();
}

function tcpdumpStart(host: Host, file: string): Promise<() => Promise<void>> {
  const child = host.spawn(["tcpdump", "-i", host.iface, "-U", "--immediate-mode", "-w", file]);
  return new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      if (err.includes("listening on")) {
        clearTimeout(timer);
        resolve(
          () =>
            new Promise<void>((done) => {
              child.on("exit", () => done());
              child.kill("SIGINT");
            }),
        );
      }
    });
  });
}

const SERVER = `
import socket, sys
addr = sys.argv[1]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
t = socket.socket(fam, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, 8080)); t.listen(1)
u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((addr, 5000))
print("ready", flush=True)
data, peer = u.recvfrom(100)
u.sendto(b"got " + data, peer)
c, _ = t.accept()
x = c.recv(100)
c.sendall(b"pong " + x)
c.close()
`;

const CLIENT = `
import socket, sys, time
addr = sys.argv[1]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM)
u.settimeout(5)
u.sendto(b"hello udp", (addr, 5000))
u.recvfrom(100)
u.sendto(b"to a closed port", (addr, 5001))
time.sleep(0.2)
c = socket.create_connection((addr, 8080), timeout=5)
c.sendall(b"ping over tcp")
c.recv(100)
c.close()
time.sleep(0.3)
`;

async function traffic(lab: Lab, v6: boolean): Promise<void> {
  const dst = v6 ? lab.b.ip6 : lab.b.ip4;
  const server = lab.b.spawn(["python3", "-c", SERVER, dst]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start")), 10_000);
    server.stdout!.setEncoding("utf8").on("data", (d: string) => {
      if (d.includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const ping = await lab.a.run(v6 ? ["ping", "-6", "-c", "3", "-i", "0.2", dst] : ["ping", "-c", "3", "-i", "0.2", dst]);
  expect(ping.code, ping.stderr).toBe(0);
  const client = await lab.a.run(["python3", "-c", CLIENT, dst], { timeoutMs: 20_000 });
  expect(client.code, client.stderr).toBe(0);
}

async function compare(lab: Lab, dir: string, name: string, v6: boolean): Promise<void> {
  const file = join(dir, `${name}.pcap`);
  const stop = await tcpdumpStart(lab.b, file);
  await sleep(300);
  await traffic(lab, v6);
  await sleep(300);
  await stop();

  const ours = spawnSync(process.execPath, [BIN, "read", "--json", file], { encoding: "utf8", maxBuffer: 1 << 26 });
  expect(ours.status, ours.stderr).toBe(0);
  const rows = ours.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Json);
  const args = ["-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=a", "-E", "separator=\t", "-E", "aggregator=,"];
  args.push("-e", "frame.number", "-e", "frame.cap_len", "-e", "frame.len", "-e", "tcp.option_kind");
  for (const f of FIELDS) args.push("-e", f.tshark);
  const ts = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 1 << 26 });
  expect(ts.status, ts.stderr).toBe(0);
  const theirs = ts.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t"));

  expect(rows.length).toBeGreaterThan(15);
  expect(rows.length).toBe(theirs.length);
  const seen = new Set<string>();
  let compared = 0;
  rows.forEach((row, i) => {
    const t = theirs[i]!;
    const where = `${name} packet ${i + 1}`;
    expect(row["index"], where).toBe(Number(t[0]));
    expect(row["caplen"], where).toBe(Number(t[1]));
    expect(row["length"], where).toBe(Number(t[2]));
    expect(row["errors"], where).toEqual([]);
    const layers = row["layers"] as Json[];
    for (const l of layers) seen.add(l["layer"] as string);
    // TCP option kinds, in wire order.
    const tcp = layers.find((l) => l["layer"] === "tcp");
    const kinds = tcp === undefined ? "" : options(tcp).map((o) => OPTION_KIND[o["kind"] as string] ?? o["code"]).join(",");
    expect(kinds, `${where} tcp.option_kind`).toBe(t[3] ?? "");
    FIELDS.forEach((f, k) => {
      const text = t[k + 4] ?? "";
      let want = text === "" ? [] : text.split(",").map(norm);
      let got = collect(layers, f.layer, f.get, []).map(norm);
      if (f.outerOnly) {
        want = want.slice(0, 1);
        got = got.slice(0, 1);
      }
      expect(got, `${where} ${f.tshark}`).toEqual(want);
      compared += want.length;
    });
  });
  expect(compared).toBeGreaterThan(rows.length * 10);
  const want = v6 ? ["ethernet", "ipv6", "icmpv6", "udp", "tcp"] : ["ethernet", "arp", "ipv4", "icmp", "udp", "tcp"];
  for (const l of want) expect(seen.has(l), `${name}: no ${l} packet captured`).toBe(true);
}

describe.skipIf(skip !== null)("stackts read --json agrees with tshark on real traffic", () => {
  const labs: Lab[] = [];
  const dir = mkdtempSync(join(tmpdir(), "stackts-tshark-"));
  afterAll(() => {
    for (const l of labs) l.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it("IPv4: ARP, ping, UDP (open and closed port: ICMP error with its quote), TCP", async () => {
    const lab = makeLab();
    labs.push(lab);
    await compare(lab, dir, "ipv4", false);
  });

  it("IPv6: NDP, ping6, UDP (and ICMPv6 unreachable), TCP, MLD", async () => {
    const lab = makeLab({ ipv6: true });
    labs.push(lab);
    await compare(lab, dir, "ipv6", true);
  });
});

if (skip !== null) console.warn(`tshark_diff skipped: ${skip}`);
