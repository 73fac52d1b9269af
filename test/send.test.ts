/**
 * Sending through the stack, checked against the kernel of the other host:
 * `stackts send udp|raw` and the library under it (route lookup, our own
 * ARP/NDP resolver, frames built by the layers) in a two-namespace lab. The
 * oracles are the receiving kernel (a UDP socket gets the payload, its
 * checksum counters, its echo replies, its neighbour answers) and tcpdump.
 * Needs root (network namespaces); CI runs as root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePacket } from "../layers/encode.ts";
import { decodePacket } from "../layers/decode.ts";
import { openLive } from "../src/live.ts";
import { lookupRoute, parseIpv4Routes, parseIpv6Routes, longestPrefixMatch } from "../src/send/route.ts";
import { NeighborCache, resolveNeighbor, solicitedNodeAddress, ipv6MulticastMac } from "../src/send/neighbor.ts";
import { buildUdpFrame, sendUdp } from "../src/send/udp.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Host, type Lab } from "./helpers/lab.ts";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "bin", "stackts.js");
const built = existsSync(join(ROOT, "dist", "src", "cli", "send.js"));
const enc = new TextEncoder();

/** Run the built CLI; resolves with its output and exit code. */
function stackts(args: string[], timeoutMs = 20_000): { stdout: string; stderr: string; code: number | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: timeoutMs });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

/** A UDP listener in `host` that prints each datagram's payload as hex, one line each. */
function udpListener(host: Host, port: number, family: 4 | 6 = 4): { lines: () => string[]; ready: Promise<void> } {
  const code = [
    "import socket,sys",
    `s=socket.socket(socket.AF_INET${family === 6 ? "6" : ""},socket.SOCK_DGRAM)`,
    `s.bind(("${family === 6 ? "::" : "0.0.0.0"}",${port}))`,
    "print('ready',flush=True)",
    "while True:",
    "  d,a=s.recvfrom(65535)",
    "  print(d.hex()+' '+a[0]+' '+str(a[1]),flush=True)",
  ].join("\n");
  const child = host.spawn(["python3", "-u", "-c", code]);
  let out = "";
  let resolveReady: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    if (out.includes("ready\n")) resolveReady();
  });
  return { lines: () => out.split("\n").filter((l) => l !== "" && l !== "ready"), ready };
}

/** Start tcpdump in `host` writing lines to a string; stop() ends it and returns the lines. */
async function tcpdump(host: Host, filter: string): Promise<{ stop: () => Promise<string[]> }> {
  const child = host.spawn(["tcpdump", "-l", "-n", "-e", "-i", host.iface, filter]);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  for (let i = 0; i < 100 && !err.includes("listening on"); i++) await sleep(50);
  return {
    async stop() {
      await sleep(300);
      const done = new Promise((r) => child.on("exit", r));
      child.kill("SIGINT");
      await done;
      return out.split("\n").filter((l) => l !== "");
    },
  };
}

async function udpInCsumErrors(host: Host): Promise<number> {
  const r = await host.run(["cat", "/proc/net/snmp"]);
  const lines = r.stdout.split("\n").filter((l) => l.startsWith("Udp:"));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf("InCsumErrors")]);
}

async function waitFor<T>(get: () => T | undefined, ms = 3000): Promise<T | undefined> {
  for (let t = 0; t < ms; t += 50) {
    const v = get();
    if (v !== undefined) return v;
    await sleep(50);
  }
  return get();
}

describe("route table parsing (text from a real namespace)", () => {
  it("reads host-order IPv4 words and picks the longest prefix, then the lowest metric", () => {
    // Little-endian /proc/net/route as seen on x86 (worked by hand: 0A09000A = 10.0.9.10).
    const text = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "d0\t00000000\tFE00090A\t0003\t0\t0\t0\t00000000\t0\t0\t0",
      "d0\t0000090A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
      "d0\t00000A0A\t0700090A\t0003\t0\t0\t5\t00FFFFFF\t0\t0\t0",
      "d1\t00000A0A\t0800090A\t0003\t0\t0\t1\t00FFFFFF\t0\t0\t0",
    ].join("\n");
    const routes = parseIpv4Routes(text, true);
    expect(routes).toHaveLength(4);
    expect([...routes[0]!.gateway!]).toEqual([10, 9, 0, 254]);
    expect(routes[1]!.prefixLength).toBe(24);
    const on = longestPrefixMatch(routes, Uint8Array.of(10, 9, 0, 77));
    expect(on?.gateway).toBeNull();
    const via = longestPrefixMatch(routes, Uint8Array.of(10, 10, 0, 1));
    expect(via?.iface).toBe("d1"); // metric 1 beats metric 5
    expect(longestPrefixMatch(routes, Uint8Array.of(10, 10, 0, 1), "d0")?.metric).toBe(5);
    expect([...longestPrefixMatch(routes, Uint8Array.of(192, 0, 2, 1))!.gateway!]).toEqual([10, 9, 0, 254]);
  });

  it("skips local and reject IPv6 routes", () => {
    const text = [
      "fd990000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001       d0",
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd9900000000000000000000000000fe 00000400 00000001 00000000 00000003       d0",
      "fd990000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       d0",
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo",
    ].join("\n");
    const routes = parseIpv6Routes(text);
    expect(routes.map((r) => r.prefixLength)).toEqual([64, 0]);
    const own = new Uint8Array(16);
    own.set([0xfd, 0x99]);
    own[15] = 1;
    expect(longestPrefixMatch(routes, own)?.gateway).toBeNull();
  });

  it("solicited-node group and its MAC (RFC 4291 §2.7.1, RFC 2464 §7)", () => {
    expect(solicitedNodeAddress("fd77::1:2:abcd:ef01")).toBe("ff02::1:ffcd:ef01");
    expect(ipv6MulticastMac("ff02::1:ffcd:ef01")).toBe("33:33:ff:cd:ef:01");
  });
});

describe.skipIf(labSkipReason !== null)(`sending in a lab${labSkipReason ? ` (skipped: ${labSkipReason})` : ""}`, () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab();
  });
  afterAll(() => lab?.down());

  it("routes with the namespace's own table (kernel's `ip route get` agrees)", async () => {
    await lab.a.run(["ip", "route", "add", "10.88.0.0/16", "via", "10.77.0.2"]);
    await lab.a.run(["ip", "route", "add", "10.88.5.0/24", "via", "10.77.0.3", "metric", "7"]);
    for (const dst of ["10.77.0.2", "10.88.1.1", "10.88.5.9"]) {
      const ours = lookupRoute(dst, { netns: lab.a.ns });
      const kernel = JSON.parse((await lab.a.run(["ip", "-j", "route", "get", dst])).stdout) as { dev: string; gateway?: string }[];
      expect(ours.iface).toBe(kernel[0]!.dev);
      expect(ours.gateway).toBe(kernel[0]!.gateway ?? null);
    }
    expect(() => lookupRoute("192.0.2.1", { netns: lab.a.ns })).toThrow(/No route to 192\.0\.2\.1/);
  });

  it("resolves b's MAC with our own ARP request, seen by tcpdump in b", async () => {
    await lab.b.run(["ip", "neigh", "flush", "all"]);
    const dump = await tcpdump(lab.b, "arp");
    const cache = new NeighborCache(60_000);
    const mac = await resolveNeighbor(lab.b.ip4, { iface: lab.a.iface, netns: lab.a.ns, srcMac: lab.a.mac, srcIp: lab.a.ip4, cache });
    const lines = await dump.stop();
    expect(mac).toBe(lab.b.mac);
    expect(lines.some((l) => l.includes(`Request who-has ${lab.b.ip4} tell ${lab.a.ip4}`) && l.includes("ff:ff:ff:ff:ff:ff"))).toBe(true);
    expect(lines.some((l) => l.includes(`Reply ${lab.b.ip4} is-at ${lab.b.mac}`))).toBe(true);
    expect(cache.get(lab.a.iface, lab.b.ip4, lab.a.ns)).toBe(lab.b.mac);
  });

  it("times out on an address nobody has", async () => {
    const t0 = Date.now();
    await expect(
      resolveNeighbor("10.77.0.99", { iface: lab.a.iface, netns: lab.a.ns, srcMac: lab.a.mac, srcIp: lab.a.ip4, cache: null, timeoutMs: 200, tries: 2 }),
    ).rejects.toThrow(/No answer from 10\.77\.0\.99 .* 2 ARP requests/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });

  it("sendUdp delivers the exact payload to a socket in b", async () => {
    const l = udpListener(lab.b, 7001);
    await l.ready;
    const payload = enc.encode("hello from the stack \u00e9");
    const sent = await sendUdp({ iface: lab.a.iface, netns: lab.a.ns, dst: lab.b.ip4, dstPort: 7001, srcPort: 40001, payload, cache: null });
    const line = await waitFor(() => l.lines()[0]);
    expect(line).toBe(`${Buffer.from(payload).toString("hex")} ${lab.a.ip4} 40001`);
    expect(sent.spec.dstMac).toBe(lab.b.mac);
    expect(sent.frames).toHaveLength(1);
  });
});
