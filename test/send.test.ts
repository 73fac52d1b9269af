/**
 * Sending through the stack, checked against the kernel of the other host:
 * `stackts send udp|raw` and the library under it (route lookup, our own
 * ARP/NDP resolver, frames built by the layers) in a two-namespace lab. The
 * oracles are the receiving kernel (a UDP socket gets the payload, its
 * checksum counters, its echo replies, its neighbour answers) and tcpdump.
 * Needs root (network namespaces); CI runs as root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePacket } from "../layers/encode.ts";
import { decodePacket } from "../layers/decode.ts";
import { openLive } from "../src/live.ts";
import { lookupRoute, parseIpv4Routes, parseIpv6Routes, longestPrefixMatch } from "../src/send/route.ts";
import { NeighborCache, resolveNeighbor, solicitedNodeAddress, ipv6MulticastMac } from "../src/send/neighbor.ts";
import { sendUdp } from "../src/send/udp.ts";
import { labSkipReason, makeLab, sleep, type Host, type Lab } from "./helpers/lab.ts";

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
  const child = host.spawn(["tcpdump", "-t", "-l", "-n", "-e", "-i", host.iface, filter]);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  for (let i = 0; i < 100 && !err.includes("listening on"); i++) await sleep(50);
  // An empty capture must mean "nothing was sent", never "tcpdump was not listening yet".
  if (!err.includes("listening on")) throw new Error(`tcpdump did not start: ${err}`);
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

  it("neighbour cache entries expire after their time to live", () => {
    const cache = new NeighborCache(1000);
    cache.set("eth0", "10.0.0.1", "02:00:00:00:00:01", undefined, 5000);
    expect(cache.get("eth0", "10.0.0.1", undefined, 5999)).toBe("02:00:00:00:00:01");
    expect(cache.get("eth0", "10.0.0.1", "other-ns", 5999)).toBeUndefined();
    expect(cache.get("eth1", "10.0.0.1", undefined, 5999)).toBeUndefined();
    expect(cache.get("eth0", "10.0.0.1", undefined, 6000)).toBeUndefined();
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

  it("an off-link destination goes to the gateway's MAC, found by ARP for the gateway", async () => {
    // The route test above added 10.88.0.0/16 via b.
    await lab.b.run(["ip", "neigh", "flush", "all"]);
    const dump = await tcpdump(lab.b, "arp or udp port 7010");
    const sent = await sendUdp({ iface: lab.a.iface, netns: lab.a.ns, dst: "10.88.1.1", dstPort: 7010, srcPort: 40010, payload: enc.encode("via gw"), cache: null });
    const lines = await dump.stop();
    expect(sent.route?.gateway).toBe(lab.b.ip4);
    expect(sent.resolved).toBe(lab.b.ip4);
    expect(lines.some((x) => x.includes(`Request who-has ${lab.b.ip4} tell ${lab.a.ip4}`))).toBe(true);
    expect(lines.some((x) => x.startsWith(`${lab.a.mac} > ${lab.b.mac}`) && x.includes(`${lab.a.ip4}.40010 > 10.88.1.1.7010: UDP, length 6`))).toBe(true);
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

  describe("stackts send (built CLI)", () => {
    beforeAll(() => {
      if (!built) throw new Error("the CLI is not built: run 'npm run build:ts' first (npm test does)");
    });

    it("send udp: ARP with empty neighbour tables, then the exact payload reaches a socket in b", async () => {
      await lab.a.run(["ip", "neigh", "flush", "all"]);
      await lab.b.run(["ip", "neigh", "flush", "all"]);
      const l = udpListener(lab.b, 7100);
      await l.ready;
      const dump = await tcpdump(lab.b, "arp or udp port 7100");
      const dir = mkdtempSync(join(tmpdir(), "stackts-send-"));
      try {
        const file = join(dir, "sent.pcap");
        const r = stackts(["send", "udp", "--iface", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip4, "--dport", "7100", "--sport", "40100", "--hex", "00 01 fe ff 41", "-w", file]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`ARP, Request who-has ${lab.b.ip4} tell ${lab.a.ip4}`));
        expect(r.stdout).toMatch(new RegExp(`IP ${lab.a.ip4}\.40100 > ${lab.b.ip4}\.7100: UDP, length 5`));
        const line = await waitFor(() => l.lines()[0]);
        expect(line).toBe(`0001feff41 ${lab.a.ip4} 40100`);
        const lines = await dump.stop();
        // Our request went out broadcast from a's MAC, b's kernel answered it, then the datagram came to b's MAC.
        expect(lines.some((x) => x.startsWith(`${lab.a.mac} > ff:ff:ff:ff:ff:ff`) && x.includes(`Request who-has ${lab.b.ip4} tell ${lab.a.ip4}`))).toBe(true);
        expect(lines.some((x) => x.startsWith(`${lab.b.mac} > ${lab.a.mac}`) && x.includes(`Reply ${lab.b.ip4} is-at ${lab.b.mac}`))).toBe(true);
        expect(lines.some((x) => x.startsWith(`${lab.a.mac} > ${lab.b.mac}`) && x.includes(`${lab.a.ip4}.40100 > ${lab.b.ip4}.7100: UDP, length 5`))).toBe(true);
        // -w: tcpdump reads what we wrote: the ARP request and the datagram.
        const read = execFileSync("tcpdump", ["-n", "-r", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, TZ: "UTC" } });
        const rl = read.trim().split("\n");
        expect(rl).toHaveLength(2);
        expect(rl[0]).toContain(`Request who-has ${lab.b.ip4} tell ${lab.a.ip4}`);
        expect(rl[1]).toContain(`${lab.a.ip4}.40100 > ${lab.b.ip4}.7100: UDP, length 5`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("--count and --interval send that many datagrams", async () => {
      const l = udpListener(lab.b, 7101);
      await l.ready;
      const r = stackts(["send", "udp", "-i", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip4, "--dport", "7101", "--data", "n", "-c", "3", "--interval", "50"]);
      expect(r.code).toBe(0);
      expect(await waitFor(() => (l.lines().length >= 3 ? l.lines() : undefined))).toHaveLength(3);
      await sleep(200);
      expect(l.lines()).toHaveLength(3);
    });

    it("a datagram with a wrong UDP checksum, injected with send raw, is dropped and counted by b's kernel", async () => {
      const l = udpListener(lab.b, 7102);
      await l.ready;
      const layers = (checksum?: number) =>
        [
          { layer: "ethernet", src: lab.a.mac, dst: lab.b.mac },
          { layer: "ipv4", src: lab.a.ip4, dst: lab.b.ip4, ttl: 64 },
          checksum === undefined ? { layer: "udp", srcPort: 40102, dstPort: 7102 } : { layer: "udp", srcPort: 40102, dstPort: 7102, checksum },
          { layer: "payload", data: enc.encode("bad sum") },
        ] as Parameters<typeof encodePacket>[0];
      const good = encodePacket(layers());
      const right = (good[14 + 20 + 6]! << 8) | good[14 + 20 + 7]!;
      // Any other non-zero value is wrong (0 would mean "no checksum" over IPv4, RFC 768).
      const wrong = right === 0x1234 ? 0x4321 : 0x1234;
      const bad = encodePacket(layers(wrong));
      expect((bad[40]! << 8) | bad[41]!).toBe(wrong);
      const before = await udpInCsumErrors(lab.b);
      const r = stackts(["send", "raw", "--iface", lab.a.iface, "--netns", lab.a.ns, Buffer.from(bad).toString("hex")]);
      expect(r.code).toBe(0);
      await sleep(300);
      expect(await udpInCsumErrors(lab.b)).toBe(before + 1);
      expect(l.lines()).toEqual([]);
      // The same datagram with the checksum the layers computed gets through.
      const ok = stackts(["send", "raw", "--iface", lab.a.iface, "--netns", lab.a.ns, Buffer.from(good).toString("hex")]);
      expect(ok.code).toBe(0);
      expect(await waitFor(() => l.lines()[0])).toBe(`${Buffer.from("bad sum").toString("hex")} ${lab.a.ip4} 40102`);
      expect(await udpInCsumErrors(lab.b)).toBe(before + 1);
    });

    it("an ICMP echo request injected with send raw gets the kernel's echo reply", async () => {
      const frame = encodePacket([
        { layer: "ethernet", src: lab.a.mac, dst: lab.b.mac },
        { layer: "ipv4", src: lab.a.ip4, dst: lab.b.ip4, ttl: 64 },
        { layer: "icmp", type: 8, code: 0, identifier: 0x5a5a, sequence: 7 },
        { layer: "payload", data: enc.encode("ping through the stack") },
      ]);
      const capture = openLive(lab.a.iface, { netns: lab.a.ns, filter: `icmp and src host ${lab.b.ip4}` });
      try {
        const it = capture[Symbol.asyncIterator]();
        const r = stackts(["send", "raw", "--iface", lab.a.iface, "--netns", lab.a.ns, Buffer.from(frame).toString("hex")]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`IP ${lab.a.ip4} > ${lab.b.ip4}: ICMP echo request, id ${0x5a5a}, seq 7`));
        const next = await Promise.race([it.next(), sleep(3000).then(() => null)]);
        expect(next).not.toBeNull();
        const got = decodePacket(next!.value!.data, next!.value!.linkType);
        const icmp = got.layers.find((x) => x.layer === "icmp");
        const ip = got.layers.find((x) => x.layer === "ipv4");
        const payload = got.layers.find((x) => x.layer === "payload");
        expect(ip).toMatchObject({ src: lab.b.ip4, dst: lab.a.ip4 });
        expect(icmp).toMatchObject({ type: 0, code: 0, identifier: 0x5a5a, sequence: 7, checksumValid: true });
        expect(payload && Buffer.from(payload.data).toString()).toBe("ping through the stack");
      } finally {
        capture.close();
      }
    });

    it("--dry-run prints summary, tree and hex, and nothing reaches the wire", async () => {
      const dump = await tcpdump(lab.b, "");
      const r = stackts(["send", "udp", "--iface", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip4, "--dport", "7103", "--data", "dry", "--dry-run", "--dst-mac", lab.b.mac, "--sport", "40103"]);
      const lines = await dump.stop();
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`IP ${lab.a.ip4}\.40103 > ${lab.b.ip4}\.7103: UDP, length 3`));
      expect(r.stdout).toMatch(/^ {4}udp$/m);
      expect(r.stdout).toMatch(/^ {6}checksumValid: true$/m);
      // hex dump of the frame, first line: dst MAC, src MAC, ethertype, IPv4 header start.
      expect(r.stdout).toMatch(/0x0000: {2}0277 0000 0002 0277 0000 0001 0800 4500/);
      expect(lines).toEqual([]);
      // Without --dst-mac a dry run does not even ARP.
      const dump2 = await tcpdump(lab.b, "");
      const r2 = stackts(["send", "udp", "--iface", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip4, "--dport", "7103", "--dry-run"]);
      expect(r2.code).toBe(0);
      expect(await dump2.stop()).toEqual([]);
    });

    it("--l3 delivers through a raw IP socket (the kernel routes and resolves)", async () => {
      const l = udpListener(lab.b, 7104);
      await l.ready;
      const r = stackts(["send", "udp", "--l3", "--iface", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip4, "--dport", "7104", "--sport", "40104", "--data", "via l3", "--ttl", "9"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(await waitFor(() => l.lines()[0])).toBe(`${Buffer.from("via l3").toString("hex")} ${lab.a.ip4} 40104`);
    });

    it("bad input ends in one line on stderr and a non-zero exit code", () => {
      const base = ["send", "udp", "--netns", lab.a.ns, "--dport", "9"];
      const cases: [string[], number, RegExp][] = [
        [[...base, "--iface", "nosuch0", "--dst", lab.b.ip4], 1, /^stackts: nosuch0 : No such interface/],
        [[...base, "--iface", lab.a.iface, "--dst", "10.77.0.256"], 2, /^stackts: --dst : Not an IPv4 or IPv6 address/],
        [[...base, "--iface", lab.a.iface, "--dst", lab.b.ip4, "--src", "fd77::1"], 2, /^stackts: --src : /],
        [[...base, "--iface", lab.a.iface, "--dst", lab.b.ip4, "--dst-mac", "02:77"], 2, /^stackts: --dst-mac : Not a MAC address/],
        [[...base, "--iface", lab.a.iface, "--dst", lab.b.ip4, "--hex", "00".repeat(1473)], 1, /^stackts: payload : 1473 bytes make a 1501-byte IP datagram, over the MTU/],
        [[...base, "--iface", lab.a.iface, "--dst", "192.0.2.1"], 1, /^stackts: route : No route to 192\.0\.2\.1/],
        [["send", "udp", "--iface", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip4], 2, /^stackts: --dport : is required/],
        [["send", "raw", "--iface", lab.a.iface, "--netns", lab.a.ns, "0x12g4"], 2, /^stackts: HEX : expected hex digits/],
        [["send", "raw", "--iface", lab.a.iface, "--netns", lab.a.ns, "00".repeat(1515)], 1, /^stackts: send raw : 1515-byte frame is over the MTU/],
        [["send", "bogus"], 2, /^stackts: send bogus : unknown kind/],
      ];
      for (const [args, code, re] of cases) {
        const r = stackts(args);
        expect(r.stderr, args.join(" ")).toMatch(re);
        expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
        expect(r.code, args.join(" ")).toBe(code);
      }
    });
  });
});

describe.skipIf(labSkipReason !== null)(`sending IPv6 in a lab${labSkipReason ? ` (skipped: ${labSkipReason})` : ""}`, () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab({ ipv6: true });
  });
  afterAll(() => lab?.down());

  it("send udp to fd77::2: our neighbor solicitation, b's advertisement, the payload in b's socket", async () => {
    if (!built) throw new Error("the CLI is not built: run 'npm run build:ts' first (npm test does)");
    await lab.a.run(["ip", "-6", "neigh", "flush", "all"]);
    await lab.b.run(["ip", "-6", "neigh", "flush", "all"]);
    const l = udpListener(lab.b, 7200, 6);
    await l.ready;
    const dump = await tcpdump(lab.b, "icmp6 and (ip6[40] = 135 or ip6[40] = 136) or udp port 7200");
    const r = stackts(["send", "udp", "--iface", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip6, "--dport", "7200", "--sport", "40200", "--data", "over v6"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await waitFor(() => l.lines()[0])).toBe(`${Buffer.from("over v6").toString("hex")} ${lab.a.ip6} 40200`);
    const lines = await dump.stop();
    // RFC 4861: solicitation to the solicited-node group's MAC, answered by an advertisement for the target.
    expect(lines.some((x) => x.startsWith(`${lab.a.mac} > 33:33:ff:00:00:02`) && x.includes(`neighbor solicitation, who has ${lab.b.ip6}`))).toBe(true);
    expect(lines.some((x) => x.startsWith(`${lab.b.mac} > ${lab.a.mac}`) && x.includes(`neighbor advertisement, tgt is ${lab.b.ip6}`))).toBe(true);
    expect(lines.some((x) => x.startsWith(`${lab.a.mac} > ${lab.b.mac}`) && x.includes(`${lab.a.ip6}.40200 > ${lab.b.ip6}.7200: UDP, length 7`))).toBe(true);
  });

  it("--l3 over IPv6: the kernel writes the header, our UDP checksum is accepted", async () => {
    const l = udpListener(lab.b, 7201, 6);
    await l.ready;
    const r = stackts(["send", "udp", "--l3", "--iface", lab.a.iface, "--netns", lab.a.ns, "--dst", lab.b.ip6, "--dport", "7201", "--sport", "40201", "--data", "l3 v6"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await waitFor(() => l.lines()[0])).toBe(`${Buffer.from("l3 v6").toString("hex")} ${lab.a.ip6} 40201`);
  });
});
