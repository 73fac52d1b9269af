/**
 * The DHCP client over our own stack (src/apps/dhcp.ts, `stackts dhcp`,
 * `--dhcp` on the stack commands) in a two-namespace lab, against:
 *
 * - dnsmasq in A (DHCP only, `-k --conf-file=/dev/null`, its lease file,
 *   log and pid file in the test's folder): the lease it grants is the one we
 *   print, the address then carries a TCP transfer to socat in A (bytes and
 *   the peer address socat saw compared), and our RELEASE empties its lease
 *   file; loss made by nftables in A (`numgen inc`: every other broadcast
 *   dropped, so DISCOVER and REQUEST must each be sent again);
 * - a fake server in A written in Python from RFC 2131 (not from our layers):
 *   OFFERs for another xid and another MAC first (ignored), a 6 s lease with
 *   T1 = 2 s and T2 = 4 s that it will not renew by unicast, so our client
 *   must rebind by broadcast at T2; it logs what it got, with the datagram's
 *   destination address (IP_PKTINFO).
 *
 * Needs root; skips with the reason otherwise.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeAs } from "../layers/decode.ts";
import { dhcpOption, encodeDhcp, type Dhcp } from "../layers/dhcp.ts";
import { DhcpClient } from "../src/apps/dhcp.ts";
import { VirtualClock } from "../src/device/clock.ts";
import { memoryPair } from "../src/device/memory.ts";
import { StackDriver } from "../src/stack/driver.ts";
import { Host as StackHost } from "../src/stack/host.ts";
import { seededRandom } from "../src/stack/random.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const built = existsSync(join(ROOT, "dist/src/cli/main.js"));
const missing = ["dnsmasq", "socat", "python3", "nft", "ethtool"].find((c) => !hasCommand(c));
const skip = labSkipReason ?? (!built ? "dist/ missing: run npm run build:ts (npm test does)" : null) ?? (missing !== undefined ? `needs ${missing} (./setup installs it)` : null);

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function stackts(args: string[], stdin?: string | Buffer): Running {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  if (stdin !== undefined) child.stdin!.end(stdin);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("latin1").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  void exited.then(() => clearTimeout(timer));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function done(args: string[], stdin?: string | Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = stackts(args, stdin);
  const code = await r.exited;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

async function waitFor(get: () => string, re: RegExp, ms = 10_000): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(get());
    if (m !== null) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in:\n${get()}`);
    await sleep(25);
  }
}

/**
 * A DHCP server from RFC 2131 by hand: BOOTP replies packed with struct,
 * broadcast on the interface (SO_BINDTODEVICE). Logs one line per message
 * received: `<seconds> <TYPE> xid=<hex> ciaddr=<ip> req=<ip> dst=<ip>`.
 */
const FAKE_DHCP = String.raw`
import socket, struct, sys, time
iface, log = sys.argv[1], sys.argv[2]
SERVER = socket.inet_aton("10.77.0.1")
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value; some Python builds lack the name
NAMES = {1: "DISCOVER", 3: "REQUEST", 7: "RELEASE", 4: "DECLINE", 8: "INFORM"}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.bind(("0.0.0.0", 67))
out = open(log, "a", buffering=1)
out.write("ready\n")
start = time.time()

def options(b):
    o, i = {}, 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        o[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    return o

def reply(kind, xid, chaddr, yiaddr, flags):
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", 2, 1, 6, 0, xid, 0, flags, bytes(4), socket.inet_aton(yiaddr), SERVER, bytes(4), chaddr, bytes(64), bytes(128), 0x63825363)
    opts = bytes([53, 1, kind, 54, 4]) + SERVER
    opts += bytes([51, 4]) + struct.pack("!I", 6) + bytes([58, 4]) + struct.pack("!I", 2) + bytes([59, 4]) + struct.pack("!I", 4)
    opts += bytes([1, 4, 255, 255, 255, 0, 3, 4]) + SERVER + bytes([6, 4]) + SERVER + bytes([255])
    m = head + opts
    return m + bytes(max(0, 300 - len(m)))

while True:
    data, anc, _, src = s.recvmsg(2048, 1024)
    dst = "?"
    for level, kind, value in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            dst = socket.inet_ntoa(value[8:12])
    if len(data) < 240 or data[0] != 1:
        continue
    xid = struct.unpack("!I", data[4:8])[0]
    ciaddr = socket.inet_ntoa(data[12:16])
    chaddr = data[28:44]
    o = options(data)
    t = o.get(53, b"\0")[0]
    req = socket.inet_ntoa(o[50]) if 50 in o else "-"
    out.write("%.3f %s xid=%08x ciaddr=%s req=%s dst=%s\n" % (time.time() - start, NAMES.get(t, str(t)), xid, ciaddr, req, dst))
    if t == 1:
        # Lies first: an OFFER for another transaction, then one for another MAC; then the real one.
        s.sendto(reply(2, xid ^ 0x5a5a5a5a, chaddr, "10.77.0.66", 0x8000), ("255.255.255.255", 68))
        s.sendto(reply(2, xid, bytes([0x02, 0x99, 0x99, 0x99, 0x99, 0x99]) + chaddr[6:], "10.77.0.67", 0x8000), ("255.255.255.255", 68))
        if sys.argv[3] != "lies-only":
            s.sendto(reply(2, xid, chaddr, "10.77.0.77", 0x8000), ("255.255.255.255", 68))
    elif t == 3:
        if ciaddr != "0.0.0.0" and dst != "255.255.255.255":
            continue  # RENEWING: not answered, so the client must rebind at T2
        s.sendto(reply(5, xid, chaddr, "10.77.0.77", 0x8000), ("255.255.255.255", 68))
`;

describe.skipIf(skip !== null)("DHCP over our stack (lab)", () => {
  let lab: Lab;
  let dir = "";
  let on: string[] = [];
  const leases = (): string => join(dir, "leases");

  beforeAll(async () => {
    lab = makeLab();
    dir = mkdtempSync(join(tmpdir(), "stackts-dhcp-"));
    on = ["--netns", lab.b.ns, "--iface", lab.b.iface];
    for (const h of [lab.a, lab.b]) await h.run(["ethtool", "-K", h.iface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"]);
  });
  afterAll(() => {
    lab?.down();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  /** dnsmasq as a DHCP server only (--port=0), lease file and log here; --no-ping so an offer is not held 3 s. */
  async function startDnsmasq(): Promise<ChildProcess> {
    writeFileSync(leases(), "");
    const d = lab.a.spawn([
      "dnsmasq", "-k", "--conf-file=/dev/null", "--port=0", `--interface=${lab.a.iface}`, "--bind-interfaces",
      "--dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,2m", "--dhcp-option=option:dns-server,10.77.0.1",
      "--dhcp-option=option:domain-name,lab.test", `--dhcp-leasefile=${leases()}`, "--no-ping", "--log-dhcp",
      `--log-facility=${join(dir, "dnsmasq.log")}`, `--pid-file=${join(dir, "dnsmasq.pid")}`,
    ]);
    // Ready once it holds UDP port 67 in A.
    const end = Date.now() + 5000;
    while ((await lab.a.run(["ss", "-Hlnu", "sport = :67"])).stdout.trim() === "") {
      if (Date.now() > end) throw new Error("dnsmasq did not start");
      await sleep(30);
    }
    return d;
  }

  /** The lying DHCP server (FAKE_DHCP) in A, in `mode`, once it says it is ready; `log` is what it saw. */
  async function fakeServer(mode: "full" | "lies-only", logName: string): Promise<{ fake: ChildProcess; log: string }> {
    const script = join(dir, "fake_dhcp.py");
    const log = join(dir, logName);
    writeFileSync(script, FAKE_DHCP);
    writeFileSync(log, "");
    const fake = lab.a.spawn(["python3", script, lab.a.iface, log, mode]);
    try {
      await waitFor(() => readFileSync(log, "utf8"), /^ready$/m);
    } catch (err) {
      fake.kill("SIGKILL");
      throw err;
    }
    return { fake, log };
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null) return;
    const gone = new Promise((r) => child.on("exit", r));
    child.kill("SIGTERM");
    await gone;
  }

  it("stackts dhcp: dnsmasq's lease printed; --keep leaves it in its lease file, a second run from the same MAC gets it again and releases it", async () => {
    const d = await startDnsmasq();
    try {
      const mac = "02:53:00:00:00:42";
      const first = await done(["dhcp", ...on, "--mac", mac, "--keep"]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toBe("");
      const address = /^address (10\.77\.0\.(\d+))\/24$/m.exec(first.stdout);
      expect(address, first.stdout).not.toBeNull();
      const n = Number(address![2]);
      expect(n >= 100 && n <= 150).toBe(true);
      // Everything else is dnsmasq's configuration, worked out by hand: 2 minutes, T1 half, T2 7/8.
      expect(first.stdout).toBe(
        [
          `address ${address![1]}/24`,
          "mask 255.255.255.0",
          "router 10.77.0.1",
          "dns 10.77.0.1",
          "domain lab.test",
          "lease 120 s (renew at 60 s, rebind at 105 s)",
          "server 10.77.0.1",
          "",
        ].join("\n"),
      );
      // dnsmasq's own record of the lease: `<expiry> <mac> <ip> <hostname> <client id>`, client id 01:<mac>.
      const line = readFileSync(leases(), "utf8").trim();
      expect(line).toMatch(new RegExp(`^\\d+ ${mac} ${address![1]!.replace(/\./g, "\\.")} \\* 01:${mac}$`));

      const second = await done(["dhcp", ...on, "--mac", mac, "--trace"]);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain(`address ${address![1]}/24\n`);
      // The exchange, as the trace prints it: DISCOVER from 0.0.0.0 to the broadcast, OFFER, REQUEST, ACK, RELEASE by unicast.
      const order = [
        new RegExp(`> IP 0\\.0\\.0\\.0\\.68 > 255\\.255\\.255\\.255\\.67: BOOTP/DHCP, Request from ${mac}, length \\d+, DHCP Discover`),
        /< IP 10\.77\.0\.1\.67 > 255\.255\.255\.255\.68: BOOTP\/DHCP, Reply, length \d+, DHCP Offer/,
        new RegExp(`> IP 0\\.0\\.0\\.0\\.68 > 255\\.255\\.255\\.255\\.67: BOOTP/DHCP, Request from ${mac}, length \\d+, DHCP Request`),
        /< IP 10\.77\.0\.1\.67 > 255\.255\.255\.255\.68: BOOTP\/DHCP, Reply, length \d+, DHCP ACK/,
        /# dhcp: bound to 10\.77\.0\.\d+\/24 from 10\.77\.0\.1 for 120 s/,
        new RegExp(`> IP ${address![1]!.replace(/\./g, "\\.")}\\.68 > 10\\.77\\.0\\.1\\.67: BOOTP/DHCP, Request from ${mac}, length \\d+, DHCP Release`),
      ];
      let at = 0;
      for (const re of order) {
        const m = re.exec(second.stderr.slice(at));
        expect(m, `${re} after offset ${at} in:\n${second.stderr}`).not.toBeNull();
        at += m!.index + m![0].length;
      }
      // The release reached dnsmasq: the lease is gone from its file.
      await waitFor(() => readFileSync(leases(), "utf8"), /^$/, 3000);
    } finally {
      await stop(d);
    }
  });

  it("nc --dhcp: the leased address carries a TCP transfer to socat (bytes and peer address compared), released on exit", async () => {
    const d = await startDnsmasq();
    try {
      const data = randomBytes(200_000);
      writeFileSync(join(dir, "up"), data);
      lab.a.spawn(["socat", "-u", "TCP-LISTEN:7100,reuseaddr", `SYSTEM:echo $SOCAT_PEERADDR > ${join(dir, "peer")}; cat > ${join(dir, "up.got")}`]);
      const end = Date.now() + 5000;
      while ((await lab.a.run(["ss", "-Hlnt", "sport = :7100"])).stdout.trim() === "") {
        if (Date.now() > end) throw new Error("socat did not listen");
        await sleep(30);
      }
      const mac = "02:53:00:00:00:43";
      const nc = stackts(["nc", ...on, "--dhcp", "--mac", mac, "10.77.0.1", "7100"], data);
      expect(await nc.exited, nc.stderr()).toBe(0);
      // dnsmasq leased an address to our MAC (its log; the lease file holds it only while nc runs,
      // which a 200 kB transfer can end between two looks at the file).
      const log = (): string => (existsSync(join(dir, "dnsmasq.log")) ? readFileSync(join(dir, "dnsmasq.log"), "utf8") : "");
      const held = await waitFor(log, new RegExp(`DHCPACK\\(${lab.a.iface}\\) (10\\.77\\.0\\.\\d+) ${mac}`));
      await waitFor(() => (existsSync(join(dir, "up.got")) ? String(readFileSync(join(dir, "up.got")).length) : ""), new RegExp(`^${data.length}$`));
      expect(readFileSync(join(dir, "up.got")).equals(data)).toBe(true);
      expect(readFileSync(join(dir, "peer"), "utf8").trim()).toBe(held[1]);
      await waitFor(() => readFileSync(leases(), "utf8"), /^$/, 3000);
      expect(readFileSync(join(dir, "dnsmasq.log"), "utf8")).toMatch(new RegExp(`DHCPRELEASE\\(${lab.a.iface}\\) ${held[1]!.replace(/\./g, "\\.")} ${mac}`));
    } finally {
      await stop(d);
    }
  });

  it("loss (nftables drops every other broadcast to port 67): DISCOVER and REQUEST are sent again, the lease comes", async () => {
    const d = await startDnsmasq();
    const table = "stackts_dhcp_loss";
    try {
      const nft = await lab.a.run(["nft", "-f", "-"], {
        input: `table inet ${table} {\n chain in {\n type filter hook input priority -300;\n udp dport 67 ip daddr 255.255.255.255 numgen inc mod 2 == 0 counter drop\n }\n}\n`,
      });
      expect(nft.code, nft.stderr).toBe(0);
      // 1 s between tries: dnsmasq answers in milliseconds, so no answer is ever overtaken by a retransmission.
      const r = await done(["dhcp", ...on, "--retransmit", "1000", "--trace"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^address 10\.77\.0\.\d+\/24$/m);
      expect(r.stderr).toMatch(/# dhcp: no answer: DISCOVER again/);
      expect(r.stderr).toMatch(/# dhcp: no answer: REQUEST again/);
      // The kernel's count: the first DISCOVER and the first REQUEST dropped (packets 0 and 2 of 4).
      const counted = await lab.a.run(["nft", "list", "table", "inet", table]);
      expect(counted.stdout).toMatch(/counter packets 2 bytes \d+ drop/);
      expect((r.stderr.match(/> IP 0\.0\.0\.0\.68 > 255\.255\.255\.255\.67: .*DHCP Discover/g) ?? []).length).toBe(2);
      expect((r.stderr.match(/> IP 0\.0\.0\.0\.68 > 255\.255\.255\.255\.67: .*DHCP Request/g) ?? []).length).toBe(2);
    } finally {
      await lab.a.run(["nft", "delete", "table", "inet", table]);
      await stop(d);
    }
  });

  it("a lying server: OFFERs for another xid and another MAC ignored; T1 renewal (unanswered), T2 rebinding by broadcast, release on exit", async () => {
    const { fake, log } = await fakeServer("full", "fake.log");
    try {
      const host = stackts(["host", ...on, "--dhcp", "--mac", "02:53:00:00:00:44", "--trace"]);
      await waitFor(() => host.stdout(), /\n/, 10_000);
      expect(host.stdout()).toMatch(/^host up on \S+: 02:53:00:00:00:44 10\.77\.0\.77\/24 /);
      expect(host.stderr()).toMatch(/# dhcp: ignored a datagram from 10\.77\.0\.1: OFFER for xid 0x[0-9a-f]{8}, not ours \(0x[0-9a-f]{8}\)/);
      expect(host.stderr()).toMatch(/# dhcp: ignored a datagram from 10\.77\.0\.1: OFFER for 02:99:99:99:99:99, not our MAC/);
      expect(host.stderr()).not.toMatch(/10\.77\.0\.6[67]\/24/);
      // The address is in use: the kernel in A reaches it.
      const ping = await lab.a.run(["ping", "-c", "1", "-W", "2", "10.77.0.77"]);
      expect(ping.code, ping.stdout).toBe(0);
      await waitFor(() => host.stderr(), /# dhcp: bound to 10\.77\.0\.77\/24 .*\n(.*\n)*.*# dhcp: bound to 10\.77\.0\.77\/24/, 8000);
      host.child.kill("SIGTERM");
      expect(await host.exited).toBe(0);
      await sleep(200);
      const lines = readFileSync(log, "utf8").trim().split("\n").slice(1).map((l) => l.split(" "));
      const kinds = lines.map((l) => `${l[1]} ${l[3]} ${l[4]} ${l[5]}`);
      // RFC 2131 §4.3.2 table 5 and §4.4.5: SELECTING asks for the offer (req), RENEWING is unicast with
      // ciaddr, REBINDING broadcast with ciaddr, RELEASE unicast with ciaddr.
      expect(kinds.slice(0, 4)).toEqual([
        "DISCOVER ciaddr=0.0.0.0 req=- dst=255.255.255.255",
        "REQUEST ciaddr=0.0.0.0 req=10.77.0.77 dst=255.255.255.255",
        "REQUEST ciaddr=10.77.0.77 req=- dst=10.77.0.1",
        "REQUEST ciaddr=10.77.0.77 req=- dst=255.255.255.255",
      ]);
      // On a slow machine SIGTERM may land after the next T1 (2 s after the rebinding): another unicast renewal.
      for (const k of kinds.slice(4, -1)) expect(k).toBe("REQUEST ciaddr=10.77.0.77 req=- dst=10.77.0.1");
      expect(kinds[kinds.length - 1]).toBe("RELEASE ciaddr=10.77.0.77 req=- dst=10.77.0.1");
      // T1 = 2 s and T2 = 4 s from the REQUEST that got the lease: neither early (the server's clock reads
      // on receipt, and a loaded machine may hand it the first REQUEST late: half a second of slack).
      const t = lines.map((l) => Number(l[0]));
      expect(t[2]! - t[1]!).toBeGreaterThanOrEqual(1.5);
      expect(t[3]! - t[1]!).toBeGreaterThanOrEqual(3.5);
      expect(t[3]! - t[2]!).toBeGreaterThanOrEqual(1.5);
      expect(lines[1]![2]).toBe(lines[0]![2]); // one transaction from DISCOVER to ACK
    } finally {
      fake.kill("SIGKILL");
    }
  });

  it("only lies (OFFERs for another xid or MAC): no lease, one clear line at the timeout, exit 1", async () => {
    const { fake, log } = await fakeServer("lies-only", "fake2.log");
    try {
      const t0 = Date.now();
      const r = await done(["dhcp", ...on, "--timeout", "2", "--retransmit", "500"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^stackts: dhcp : No lease in 2 s \(\d+ DISCOVERs, 0 REQUESTs sent\)\n$/);
      // Bounded: it gave up at its timeout, not later (a generous margin for a loaded machine).
      expect(Date.now() - t0).toBeLessThan(10_000);
      // Every DISCOVER we counted reached the server (the last may still be on its way when we stop).
      const discovers = readFileSync(log, "utf8").split("\n").filter((l) => l.includes(" DISCOVER ")).length;
      const ours = Number(/\((\d+) DISCOVERs/.exec(r.stderr)![1]);
      expect(ours).toBeGreaterThanOrEqual(3);
      expect(discovers === ours || discovers === ours - 1).toBe(true);
    } finally {
      fake.kill("SIGKILL");
    }
  });
});

/**
 * The client's timers on a virtual clock, between two stacks over a wire in
 * memory (no kernel, no real time): the server (a UDP socket of the second
 * stack, replies built with our layers) records when each message came, so
 * RFC 2131's numbers are checked exactly: retransmissions after 4, 8, 16 s
 * (each ±1 s, §4.1), T1 and T2 at 0.5 and 0.875 of the lease when the server
 * names neither (§4.4.5), a NAK or the lease's end giving the address up.
 */
describe("DHCP client timers (virtual clock, two stacks in memory)", () => {
  const SERVER_MAC = "02:00:00:00:00:05";
  const CLIENT_MAC = "02:00:00:00:00:0c";

  interface Seen {
    at: number;
    type: string;
    ciaddr: string;
    requested: unknown;
  }

  /** A server that answers as `decide` says: null ignores the message. */
  function setup(decide: (m: Dhcp, seen: Seen[]) => "OFFER" | "ACK" | "NAK" | null, leaseSeconds: number) {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const client = new StackHost(a, new StackDriver(a, { random: seededRandom(1), mac: CLIENT_MAC }));
    const server = new StackHost(b, new StackDriver(b, { random: seededRandom(2), mac: SERVER_MAC, ipv4: ["10.9.0.1/24"] }));
    const seen: Seen[] = [];
    const sock = server.sockets.socket("inet", "dgram");
    sock.bind("", 67);
    sock.setsockopt("SO_BROADCAST", true);
    void (async () => {
      for (;;) {
        const { data } = await sock.recvfrom();
        const m = decodeAs("dhcp", data).layers[0] as Dhcp;
        seen.push({ at: clock.now(), type: m.messageTypeName ?? "?", ciaddr: m.clientIp, requested: dhcpOption(m, 50) });
        const kind = decide(m, seen);
        if (kind === null) continue;
        const reply = encodeDhcp({
          layer: "dhcp", messageType: kind, xid: m.xid, broadcast: true, clientMac: m.clientMac, yourIp: kind === "NAK" ? "0.0.0.0" : "10.9.0.7",
          options: kind === "NAK" ? [{ code: 54, value: "10.9.0.1" }] : [{ code: 54, value: "10.9.0.1" }, { code: 51, value: leaseSeconds }, { code: 1, value: "255.255.255.0" }, { code: 3, value: ["10.9.0.1"] }],
        });
        // RFC 2131 §4.1: a client with an address (ciaddr) is answered by unicast.
        await sock.sendto(reply, m.clientIp === "0.0.0.0" ? "255.255.255.255" : m.clientIp, 68);
      }
    })().catch(() => {});
    return { clock, client, server, seen };
  }

  it("DISCOVER again after 4, 8 and 16 s (each ±1 s); T1 at half the lease, unicast with ciaddr; a NAK gives the address up", async () => {
    const { clock, client, seen } = setup((m, s) => {
      if (m.messageTypeName === "DISCOVER") return s.filter((x) => x.type === "DISCOVER").length > 3 ? "OFFER" : null;
      if (m.messageTypeName === "REQUEST") return m.clientIp === "0.0.0.0" ? "ACK" : "NAK";
      return null;
    }, 100);
    const dhcp = new DhcpClient(client);
    const events: string[] = [];
    dhcp.onEvent = (e) => events.push(e);
    const got = dhcp.acquire();
    await clock.runUntilIdle(40_000);
    const lease = await got;
    expect(lease).toMatchObject({ address: "10.9.0.7", prefixLength: 24, router: "10.9.0.1", server: "10.9.0.1", leaseSeconds: 100, renewSeconds: 50, rebindSeconds: 87.5 });
    expect(client.stack.iface.describe()).toBe("10.9.0.7/24");
    const discovers = seen.filter((x) => x.type === "DISCOVER").map((x) => x.at);
    expect(discovers.length).toBe(4);
    for (const [i, base] of [4000, 8000, 16000].entries()) {
      const gap = discovers[i + 1]! - discovers[i]!;
      expect(gap, `retransmission ${i + 1}`).toBeGreaterThanOrEqual(base - 1000);
      expect(gap, `retransmission ${i + 1}`).toBeLessThanOrEqual(base + 1000);
    }
    const request = seen.find((x) => x.type === "REQUEST")!;
    expect(request.requested).toBe("10.9.0.7");
    await clock.runUntilIdle(60_000);
    const renew = seen.filter((x) => x.type === "REQUEST")[1]!;
    // RFC 2131 §4.4.5: T1 counts from the REQUEST that got the lease.
    expect(renew.at - request.at).toBe(50_000);
    expect(renew.ciaddr).toBe("10.9.0.7");
    expect(events).toEqual(["refused"]);
    expect(client.stack.iface.describe()).toBe("");
    expect(dhcp.lease).toBeNull();
    dhcp.close();
  });

  it("RENEWING answered by unicast to our new address: the lease goes on, T1 counted again from the renewal", async () => {
    const { clock, client, seen } = setup((m) => (m.messageTypeName === "DISCOVER" ? "OFFER" : m.messageTypeName === "REQUEST" ? "ACK" : null), 30);
    const dhcp = new DhcpClient(client);
    const events: string[] = [];
    dhcp.onEvent = (e) => events.push(e);
    const got = dhcp.acquire();
    await clock.runUntilIdle(1000);
    await got;
    await clock.runUntilIdle(50_000);
    const requests = seen.filter((x) => x.type === "REQUEST").map((x) => x.at);
    // The ACK at 0 s, renewals at 15 s and 30 s (each ACKed, each starting the next T1), 45 s.
    expect(requests.map((t) => t - requests[0]!)).toEqual([0, 15_000, 30_000, 45_000]);
    expect(seen.filter((x) => x.type === "REQUEST").slice(1).every((x) => x.ciaddr === "10.9.0.7")).toBe(true);
    expect(events).toEqual(["renewed", "renewed", "renewed"]);
    expect(client.stack.iface.describe()).toBe("10.9.0.7/24");
    dhcp.close();
  });

  it("no answer to RENEWING or REBINDING: REQUESTs at T1 and T2 (0.5 and 0.875 of a 40 s lease), the address given up at its end", async () => {
    const { clock, client, seen } = setup((m) => {
      if (m.messageTypeName === "DISCOVER") return "OFFER";
      if (m.messageTypeName === "REQUEST" && m.clientIp === "0.0.0.0") return "ACK";
      return null;
    }, 40);
    const dhcp = new DhcpClient(client);
    const events: string[] = [];
    dhcp.onEvent = (e) => events.push(e);
    const got = dhcp.acquire();
    await clock.runUntilIdle(1000);
    await got;
    const start = seen.find((x) => x.type === "REQUEST")!.at;
    await clock.runUntilIdle(60_000);
    const later = seen.filter((x) => x.type === "REQUEST").slice(1).map((x) => x.at - start);
    // RENEWING at T1 = 20 s, unicast; sent again after half the time left but at least 60 s (RFC 2131 §4.4.5),
    // so not before T2 = 35 s, when REBINDING broadcasts once more; at 40 s the lease is over.
    expect(later[0]).toBe(20_000);
    expect(later.filter((t) => t < 35_000).length).toBe(1);
    expect(later.some((t) => t === 35_000)).toBe(true);
    expect(later.every((t) => t < 40_000)).toBe(true);
    expect(events).toEqual(["expired"]);
    expect(client.stack.iface.describe()).toBe("");
    dhcp.close();
  });
});
