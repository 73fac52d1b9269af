/**
 * `stackts host`, `stackts ping` and `stackts nc` (our own TCP/IP stack) against
 * Linux peers, through bin/stackts.js, in a two-namespace lab.
 *
 * The kernel owns 10.77.0.1 / fd77::1 in namespace A. Our stack runs on B's
 * end of the veth (--netns B) as 10.77.0.3 / fd77::3 with its own MAC, so B's
 * kernel sees our frames as PACKET_OTHERHOST and neither answers nor resets
 * them. Oracles are the kernel's side: its ping and its counters
 * (/proc/net/snmp), its neighbor table, socat, OpenBSD nc and curl moving
 * bytes that are compared with cmp's rules (byte for byte), tcpdump printing
 * the same frames our --trace printed, iputils' ping printing the loss line.
 * Needs root; skips with the reason otherwise.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const built = existsSync(join(ROOT, "dist/src/cli/main.js"));
const missing = ["socat", "nc", "curl", "tcpdump", "ping", "ss", "nft"].find((c) => !hasCommand(c));
const skip =
  labSkipReason ??
  (!built ? "dist/ missing: run npm run build:ts (npm test does)" : null) ??
  (missing !== undefined ? `needs ${missing} (./setup installs it)` : null);

/** Our host's addresses, and the MAC the CLI derives from the first one (02:53 + 10.77.0.3). */
const OUR4 = "10.77.0.3";
const OUR6 = "fd77::3";
const OUR_MAC = "02:53:0a:4d:00:03";

interface Running {
  child: ChildProcess;
  stdout: () => Buffer;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Start `stackts ARGS`; stdin from a file, a string, or nothing (/dev/null). */
function stackts(args: string[], stdin: { file?: string; text?: string } = {}): Running {
  const fd = stdin.file === undefined ? null : openSync(stdin.file, "r");
  const child = spawn(process.execPath, [BIN, ...args], { stdio: [fd ?? (stdin.text === undefined ? "ignore" : "pipe"), "pipe", "pipe"] });
  if (fd !== null) closeSync(fd);
  if (stdin.text !== undefined) child.stdin!.end(stdin.text);
  const out: Buffer[] = [];
  let err = "";
  child.stdout!.on("data", (d: Buffer) => out.push(d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  void exited.then(() => clearTimeout(timer));
  return { child, stdout: () => Buffer.concat(out), stderr: () => err, exited };
}

/** Run `stackts ARGS` to the end. */
async function stacktsDone(args: string[], stdin: { file?: string; text?: string } = {}): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const r = stackts(args, stdin);
  const code = await r.exited;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

/** Resolve once `get()` matches `re` (or fail after `ms`). */
async function waitFor(get: () => string, re: RegExp, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(get())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in:\n${get()}`);
    await sleep(20);
  }
}

describe.skipIf(skip !== null)("stackts host, ping and nc against the kernel (lab)", () => {
  let lab: Lab;
  let dir = "";
  /** our stack's options: on B's end of the veth, inside B's namespace */
  let on: string[] = [];

  beforeAll(async () => {
    lab = makeLab({ ipv6: true });
    dir = mkdtempSync(join(tmpdir(), "stackts-stack-"));
    on = ["--netns", lab.b.ns, "--iface", lab.b.iface];
    // The lab turns checksum offload off; segmentation offloads too, so the kernel sends MTU-sized
    // frames with full checksums (a stack on veth otherwise sees 64 KB GSO segments).
    for (const h of [lab.a, lab.b]) await h.run(["ethtool", "-K", h.iface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"]);
  });
  afterAll(() => {
    lab?.down();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, bytes: number): string => {
    const path = join(dir, name);
    writeFileSync(path, randomBytes(bytes));
    return path;
  };
  const path = (name: string): string => join(dir, name);

  /** Wait until a kernel socket in A listens on `port` (tcp or udp). */
  async function listening(port: number, proto: "tcp" | "udp"): Promise<void> {
    const end = Date.now() + 5000;
    for (;;) {
      const r = await lab.a.run(["ss", "-Hln", proto === "tcp" ? "-t" : "-u", `sport = :${port}`]);
      if (r.stdout.trim() !== "") return;
      if (Date.now() > end) throw new Error(`nothing listens on ${proto} port ${port} in A`);
      await sleep(30);
    }
  }

  /** A's kernel counter from /proc/net/snmp (or snmp6), e.g. ("Icmp", "OutEchoReps"). */
  async function counter(table: "Icmp" | "Icmp6", name: string): Promise<number> {
    if (table === "Icmp6") {
      const r = await lab.a.run(["cat", "/proc/net/snmp6"]);
      const m = new RegExp(`^Icmp6${name}\\s+(\\d+)$`, "m").exec(r.stdout);
      return Number(m![1]);
    }
    const r = await lab.a.run(["cat", "/proc/net/snmp"]);
    const [head, values] = r.stdout.split("\n").filter((l) => l.startsWith(`${table}: `));
    const i = head!.split(" ").indexOf(name);
    return Number(values!.split(" ")[i]);
  }

  it("host: answers the kernel's ARP, NDP and ping (IPv4 and IPv6), resets a closed port, exits 0 on SIGTERM", async () => {
    const host = stackts(["host", ...on, "--ip", `${OUR4}/24`, "--ip6", `${OUR6}/64`]);
    await waitFor(() => host.stdout().toString(), /\n/);
    expect(host.stdout().toString()).toBe(`host up on ${lab.b.iface}: ${OUR_MAC} ${OUR4}/24 ${OUR6}/64 fe80::53:aff:fe4d:3/64\n`);

    const v4 = await lab.a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", OUR4]);
    expect(v4.code, v4.stdout + v4.stderr).toBe(0);
    expect(v4.stdout).toMatch(/^3 packets transmitted, 3 received, 0% packet loss/m);
    const v6 = await lab.a.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", OUR6]);
    expect(v6.code, v6.stdout + v6.stderr).toBe(0);
    expect(v6.stdout).toMatch(/^3 packets transmitted, 3 received, 0% packet loss/m);
    // The kernel learnt our MAC from our ARP reply and our neighbor advertisement.
    expect((await lab.a.run(["ip", "neigh", "show", OUR4])).stdout).toContain(`lladdr ${OUR_MAC}`);
    expect((await lab.a.run(["ip", "-6", "neigh", "show", OUR6])).stdout).toContain(`lladdr ${OUR_MAC}`);
    // A SYN to a port nobody listens on is reset at once (a timeout would take 2 s here).
    const t0 = Date.now();
    const z = await lab.a.run(["nc", "-z", "-w", "2", OUR4, "81"]);
    expect(z.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1500);

    host.child.kill("SIGTERM");
    expect(await host.exited).toBe(0);
    expect(host.stderr()).toMatch(/^\d+ frames in, \d+ out; sent [1-9]\d* ARP replies, [1-9]\d* neighbor advertisements, 6 echo replies\n$/);
  });

  it("host: its interface going away ends it with one line naming it, exit 1", async () => {
    // A veth pair of its own inside B, so the lab's link stays.
    const x = `${lab.b.iface.slice(0, -2)}x0`;
    expect((await lab.b.run(["ip", "link", "add", x, "type", "veth", "peer", "name", `${x.slice(0, -1)}1`])).code).toBe(0);
    await lab.b.run(["ip", "link", "set", x, "up"]);
    await lab.b.run(["ip", "link", "set", `${x.slice(0, -1)}1`, "up"]);
    const host = stackts(["host", "--netns", lab.b.ns, "--iface", x, "--ip", "10.5.0.3/24"]);
    await waitFor(() => host.stdout().toString(), /host up/);
    await lab.b.run(["ip", "link", "del", x]);
    expect(await host.exited).toBe(1);
    expect(host.stderr()).toMatch(new RegExp(`^stackts: ${x} : .*no such interface.*\n$`));
  });

  it("ping: the kernel answers; lines and summary as iputils prints them; the kernel counted the same", async () => {
    const before = await counter("Icmp", "OutEchoReps");
    const r = await stacktsDone(["ping", ...on, "--ip", `${OUR4}/24`, "-c", "3", "-i", "0.2", "10.77.0.1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.toString().split("\n");
    expect(lines[0]).toBe("PING 10.77.0.1 (10.77.0.1) 56(84) bytes of data.");
    for (let i = 1; i <= 3; i++) expect(lines[i]).toMatch(new RegExp(`^64 bytes from 10\\.77\\.0\\.1: icmp_seq=${i} ttl=64 time=\\d+(\\.\\d+)? ms$`));
    expect(lines[4]).toBe("");
    expect(lines[5]).toBe("--- 10.77.0.1 ping statistics ---");
    expect(lines[6]).toMatch(/^3 packets transmitted, 3 received, 0% packet loss, time \d+ms$/);
    const m = /^rtt min\/avg\/max\/mdev = (\d+\.\d{3})\/(\d+\.\d{3})\/(\d+\.\d{3})\/(\d+\.\d{3}) ms$/.exec(lines[7]!);
    expect(m, lines[7]).not.toBeNull();
    const [min, avg, max] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(min).toBeLessThanOrEqual(avg);
    expect(avg).toBeLessThanOrEqual(max);
    expect(lines.length).toBe(9); // and the final newline
    expect((await counter("Icmp", "OutEchoReps")) - before).toBe(3);
  });

  it("ping -6 -s 3000 --trace: the kernel answers ICMPv6 echo (fragmented both ways), iputils' IPv6 header, the trace on stderr", async () => {
    const before = await counter("Icmp6", "OutEchoReplies");
    const r = await stacktsDone(["ping", ...on, "--ip6", `${OUR6}/64`, "-c", "2", "-i", "0.2", "-s", "3000", "--trace", "fd77::1"]);
    expect(r.code, r.stderr).toBe(0);
    // --trace on stderr: our neighbor solicitation, and the reply in fragments (3008 bytes over a 1500 MTU).
    expect(r.stderr).toMatch(/^ +\d+\.\d{6} > IP6 fd77::3 > ff02::1:ff00:1: ICMP6, neighbor solicitation, who has fd77::1, length 32$/m);
    expect(r.stderr).toMatch(/^ +\d+\.\d{6} < IP6 fd77::1 > fd77::3: frag \(0\|1448\) ICMP6, echo reply, id \d+, seq 2, length 1448$/m);
    const text = r.stdout.toString();
    expect(text.split("\n")[0]).toBe("PING fd77::1(fd77::1) 3000 data bytes");
    expect(text).toMatch(/^3008 bytes from fd77::1: icmp_seq=1 ttl=64 time=/m);
    expect(text).toMatch(/^3008 bytes from fd77::1: icmp_seq=2 ttl=64 time=/m);
    expect(text).toMatch(/^2 packets transmitted, 2 received, 0% packet loss, time \d+ms$/m);
    expect(text).not.toMatch(/ICMP6|frag/); // the trace stays on stderr
    expect((await counter("Icmp6", "OutEchoReplies")) - before).toBe(2);
  });

  it("ping: a lost reply counts as iputils counts it (its own loss line is the oracle)", async () => {
    // A drops its echo reply with sequence 2, whoever asks.
    const rules = "table inet stackts_drop {\n chain out {\n  type filter hook output priority 0;\n  icmp type echo-reply icmp sequence 2 drop\n }\n}\n";
    const nft = await lab.a.run(["nft", "-f", "-"], { input: rules });
    expect(nft.code, nft.stderr).toBe(0);
    try {
      const kernel = await lab.b.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.77.0.1"]);
      const theirs = /^(3 packets transmitted, 2 received, .*% packet loss), time/m.exec(kernel.stdout);
      expect(theirs, kernel.stdout).not.toBeNull();
      const r = await stacktsDone(["ping", ...on, "--ip", `${OUR4}/24`, "-c", "3", "-i", "0.2", "-W", "1", "10.77.0.1"]);
      expect(r.code).toBe(0); // some replies came
      const text = r.stdout.toString();
      expect(text).not.toMatch(/icmp_seq=2 /);
      expect(text).toContain(`\n${theirs![1]}, time `); // "3 packets transmitted, 2 received, 33.3333% packet loss"
    } finally {
      await lab.a.run(["nft", "delete", "table", "inet", "stackts_drop"]);
    }
  });

  it("ping: an address nobody has: 100% packet loss, no rtt line, exit 1", async () => {
    const t0 = Date.now();
    const r = await stacktsDone(["ping", ...on, "--ip", `${OUR4}/24`, "-c", "2", "-i", "0.2", "-W", "1", "10.77.0.9"]);
    expect(r.code).toBe(1);
    const text = r.stdout.toString();
    expect(text).toMatch(/^2 packets transmitted, 0 received, 100% packet loss, time \d+ms\n$/m);
    expect(text).not.toContain("rtt");
    expect(text).not.toContain("bytes from");
    expect(Date.now() - t0).toBeLessThan(5000); // -W 1 after the last request, not 10 s
  });

  it("ping until SIGINT: the statistics, exit 0 (replies came)", async () => {
    const p = stackts(["ping", ...on, "--ip", `${OUR4}/24`, "-i", "0.2", "10.77.0.1"]);
    await waitFor(() => p.stdout().toString(), /icmp_seq=2 /);
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(0);
    const text = p.stdout().toString();
    expect(text).toMatch(/\n\n--- 10\.77\.0\.1 ping statistics ---\n(\d+) packets transmitted, \1 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = [\d.\/]+ ms\n$/);
    expect(p.stderr()).toBe("");
  });

  it("nc -l and SIGTERM: the connection is reset (gone from the kernel's table at once), exit 0", async () => {
    const nc = stackts(["nc", ...on, "--ip", `${OUR4}/24`, "-l", "9004", "-v"]);
    await waitFor(nc.stderr, /Listening on/);
    const client = lab.a.spawn(["sh", "-c", `(echo hello; sleep 5) | nc ${OUR4} 9004`]);
    await waitFor(() => nc.stdout().toString(), /hello\n/);
    const table = async (): Promise<string> => (await lab.a.run(["ss", "-Htn", "dport = :9004"])).stdout.trim();
    expect(await table()).not.toBe(""); // the kernel's client holds its side (our stdin was empty: we sent a FIN)
    nc.child.kill("SIGTERM");
    expect(await nc.exited).toBe(0);
    await sleep(100);
    expect(await table()).toBe(""); // our RST removed it; a FIN alone would leave it until the client's stdin ends
    client.kill();
  });

  it("nc HOST PORT: a file to a kernel server (socat) byte for byte, and one back from it; exit 0", async () => {
    const up = file("up.bin", 1_000_000);
    const server = lab.a.spawn(["socat", "-u", "TCP-LISTEN:9000,reuseaddr", `OPEN:${path("up.got")},creat,trunc`]);
    await listening(9000, "tcp");
    const r = await stacktsDone(["nc", ...on, "--ip", `${OUR4}/24`, "10.77.0.1", "9000"], { file: up });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.on("exit", resolve)));
    expect(readFileSync(path("up.got")).equals(readFileSync(up))).toBe(true);

    const down = file("down.bin", 1_000_000);
    lab.a.spawn(["socat", "-u", `OPEN:${down}`, "TCP-LISTEN:9001,reuseaddr"]);
    await listening(9001, "tcp");
    const d = await stacktsDone(["nc", ...on, "--ip", `${OUR4}/24`, "10.77.0.1", "9001"]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.length).toBe(1_000_000);
    expect(d.stdout.equals(readFileSync(down))).toBe(true);
  });

  it("nc: when stdout's reader goes away the connection is reset (the kernel's sender learns at once), exit 0", async () => {
    const big = file("big.bin", 20_000_000);
    const sender = lab.a.run(["socat", "-u", `OPEN:${big}`, "TCP-LISTEN:9005,reuseaddr"]);
    await listening(9005, "tcp");
    const nc = stackts(["nc", ...on, "--ip", `${OUR4}/24`, "10.77.0.1", "9005"]);
    nc.child.stdout!.once("data", () => nc.child.stdout!.destroy()); // `| head -c 1`
    expect(await nc.exited).toBe(0);
    const r = await sender; // without our RST it would retransmit for minutes
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Connection reset by peer|Broken pipe/); // the RST: reported on the write it hit
  });

  it("nc -w: bounds the handshake only; a quiet connection outlives it", async () => {
    // -t 3: socat keeps the answer coming after our FIN (our stdin is empty).
    lab.a.spawn(["socat", "-t", "3", "TCP-LISTEN:9003,reuseaddr", "SYSTEM:sleep 1.2; echo late"]);
    await listening(9003, "tcp");
    const r = await stacktsDone(["nc", ...on, "--ip", `${OUR4}/24`, "-w", "0.5", "10.77.0.1", "9003"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe("late\n");
  });

  it("nc -l: curl gets the HTTP response we serve from stdin; our stdout has its request", async () => {
    const body = "hello from our own stack\n";
    const response = `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    writeFileSync(path("response"), response);
    const nc = stackts(["nc", ...on, "--ip", `${OUR4}/24`, "-l", "8080", "-v"], { file: path("response") });
    await waitFor(nc.stderr, /Listening on 0\.0\.0\.0 8080/);
    const curl = await lab.a.run(["curl", "-sS", "-m", "5", "-D", "-", `http://${OUR4}:8080/some/path`]);
    expect(curl.code, curl.stderr).toBe(0);
    expect(curl.stdout).toBe(response);
    expect(await nc.exited).toBe(0);
    const request = nc.stdout().toString();
    expect(request).toMatch(/^GET \/some\/path HTTP\/1\.1\r\n/);
    expect(request).toContain(`\r\nHost: ${OUR4}:8080\r\n`);
    expect(request.endsWith("\r\n\r\n")).toBe(true);
    expect(nc.stderr()).toMatch(/^Listening on 0\.0\.0\.0 8080\nConnection received on 10\.77\.0\.1 \d+\n$/);
  });

  it("nc -l: a file from the kernel's nc, byte for byte; a second connection is refused", async () => {
    const up = file("kup.bin", 500_000);
    const nc = stackts(["nc", ...on, "--ip", `${OUR4}/24`, "-l", "9002", "-v"]);
    await waitFor(nc.stderr, /Listening on/);
    // The client holds its side open a while after the file, so a second client comes while the first is served.
    const client = lab.a.run(["sh", "-c", `(cat ${up}; sleep 0.6) | nc -N ${OUR4} 9002`]);
    await waitFor(nc.stderr, /Connection received/);
    const t0 = Date.now();
    const second = await lab.a.run(["nc", "-z", "-w", "2", OUR4, "9002"]);
    expect(second.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1500); // refused (a reset), not timed out
    expect((await client).code).toBe(0);
    expect(await nc.exited).toBe(0);
    expect(nc.stdout().equals(readFileSync(up))).toBe(true);
  });

  it("nc -u: datagrams to a kernel UDP socket and from one; a listener answers its first sender", async () => {
    const up = file("udp.bin", 20_000);
    const recv = lab.a.spawn(["socat", "-u", "UDP-RECV:9100", `OPEN:${path("udp.got")},creat,trunc`]);
    await listening(9100, "udp");
    const r = await stacktsDone(["nc", ...on, "--ip", `${OUR4}/24`, "-u", "-q", "0.3", "10.77.0.1", "9100"], { file: up });
    expect(r.code, r.stderr).toBe(0);
    await sleep(200);
    recv.kill();
    // 20000 bytes in datagrams of at most 1472 (one frame each), in order on a veth.
    expect(readFileSync(path("udp.got")).equals(readFileSync(up))).toBe(true);

    // The kernel sends (8192-byte datagrams: fragmented, which our stack reassembles); we listen.
    const nc = stackts(["nc", ...on, "--ip", `${OUR4}/24`, "-u", "-l", "9101", "-q", "0.5", "-v"]);
    await waitFor(nc.stderr, /Bound on 0\.0\.0\.0 9101/);
    const send = await lab.a.run(["socat", "-u", `OPEN:${up}`, `UDP:${OUR4}:9101`]);
    expect(send.code, send.stderr).toBe(0);
    expect(await nc.exited).toBe(0);
    expect(nc.stdout().equals(readFileSync(up))).toBe(true);

    // A question and its answer: the listener sends its stdin to whoever spoke first.
    const echo = stackts(["nc", ...on, "--ip", `${OUR4}/24`, "-u", "-l", "9102", "-q", "1", "-v"], { text: "pong\n" });
    await waitFor(echo.stderr, /Bound on/);
    const ask = await lab.a.run(["socat", "-t", "0.5", "-", `UDP:${OUR4}:9102`], { input: "ping\n" });
    expect(ask.stdout).toBe("pong\n");
    expect(await echo.exited).toBe(0);
    expect(echo.stdout().toString()).toBe("ping\n");
  });

  it("nc over IPv6: a file both ways with the kernel (TCP), and UDP", async () => {
    const up = file("up6.bin", 400_000);
    const server = lab.a.spawn(["socat", "-u", "TCP6-LISTEN:9200,reuseaddr", `OPEN:${path("up6.got")},creat,trunc`]);
    await listening(9200, "tcp");
    const r = await stacktsDone(["nc", ...on, "--ip6", `${OUR6}/64`, "fd77::1", "9200"], { file: up });
    expect(r.code, r.stderr).toBe(0);
    await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.on("exit", resolve)));
    expect(readFileSync(path("up6.got")).equals(readFileSync(up))).toBe(true);

    const nc = stackts(["nc", ...on, "--ip", `${OUR4}/24`, "--ip6", `${OUR6}/64`, "-l", "9201", "-v"]);
    await waitFor(nc.stderr, /Listening on :: 9201/);
    const send = await lab.a.run(["socat", "-u", `OPEN:${up}`, `TCP6:[${OUR6}]:9201`]);
    expect(send.code, send.stderr).toBe(0);
    expect(await nc.exited).toBe(0);
    expect(nc.stdout().equals(readFileSync(up))).toBe(true);
    expect(nc.stderr()).toMatch(/Connection received on fd77::1 \d+/);

    const recv = lab.a.spawn(["socat", "-u", "UDP6-RECV:9202", `OPEN:${path("udp6.got")},creat,trunc`]);
    await listening(9202, "udp");
    const u = await stacktsDone(["nc", ...on, "--ip6", `${OUR6}/64`, "-u", "-q", "0.3", "fd77::1", "9202"], { text: "six over udp\n" });
    expect(u.code, u.stderr).toBe(0);
    await sleep(200);
    recv.kill();
    expect(readFileSync(path("udp6.got"), "utf8")).toBe("six over udp\n");
  });

  it("--trace: every TCP frame printed as tcpdump prints it, the state changes and the sender's numbers; stdout stays the data", async () => {
    // A pattern no protocol sniffer takes for a header of its own.
    const data = path("echo.bin");
    writeFileSync(data, Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    // An echo server in A, and tcpdump in A printing the connection (-S: absolute sequence numbers, as the trace).
    lab.a.spawn(["socat", "TCP-LISTEN:9300,reuseaddr", "PIPE"]);
    await listening(9300, "tcp");
    const dump = lab.a.spawn(["tcpdump", "-n", "-S", "-l", "-i", lab.a.iface, "tcp port 9300"]);
    let dumped = "";
    let dumpErr = "";
    dump.stdout!.setEncoding("utf8").on("data", (d: string) => (dumped += d));
    dump.stderr!.setEncoding("utf8").on("data", (d: string) => (dumpErr += d));
    await waitFor(() => dumpErr, /listening on/);
    const r = await stacktsDone(["nc", ...on, "--ip", `${OUR4}/24`, "--trace", "10.77.0.1", "9300"], { file: data });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.equals(readFileSync(data))).toBe(true); // the echo, and nothing of the trace
    await sleep(300);
    dump.kill("SIGINT");

    const trace = r.stderr.split("\n").filter((l) => l !== "");
    for (const l of trace) expect(l).toMatch(/^ {0,3}\d+\.\d{6} [<>#] /);
    // Frames of the connection, as tcpdump prints them, in the order each side saw them.
    const ours = trace.filter((l) => / [<>] IP 10\.77\.0\.[13]\.\d+ > /.test(l)).map((l) => l.replace(/^\s*\S+ [<>] /, ""));
    const theirs = dumped.split("\n").filter((l) => l !== "").map((l) => l.replace(/^\S+ /, ""));
    expect(ours.length).toBeGreaterThanOrEqual(8); // SYN, SYN-ACK, ACK, data both ways, FINs
    expect([...ours].sort()).toEqual([...theirs].sort());
    const syn = ours[0]!;
    expect(syn).toMatch(/^IP 10\.77\.0\.3\.\d+ > 10\.77\.0\.1\.9300: Flags \[S\], seq \d+, win \d+, options \[mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale \d+\], length 0$/);
    expect(syn).toBe(theirs[0]);
    expect(ours.some((l) => /Flags \[P?\.\], seq \d+:\d+, ack \d+, .*length \d+$/.test(l) && l.startsWith("IP 10.77.0.3."))).toBe(true);
    const text = r.stderr;
    expect(text).toMatch(/# conn 1 10\.77\.0\.3:\d+ > 10\.77\.0\.1:9300 SYN-SENT -> ESTABLISHED\n/);
    expect(text).toMatch(/# conn 1 cwnd \d+ ssthresh inf rto \d+ srtt [\d.]+ flight \d+\n/);
    expect(text).toMatch(/ESTABLISHED -> FIN-WAIT-1\n/);
    expect(text).toMatch(/-> TIME-WAIT\n/);
    // In order: the state change comes after the SYN-ACK that made it.
    expect(text.indexOf("SYN-SENT -> ESTABLISHED")).toBeGreaterThan(text.indexOf("Flags [S.]"));
  });

  it("bad input: one line and exit 2; an unknown interface or a refused connection: one line and exit 1", async () => {
    const cases: [string[], number, RegExp][] = [
      [["nc", ...on, "--ip", "10.77.0.300/24", "10.77.0.1", "9"], 2, /^stackts: --ip : Invalid IPv4 address: "10\.77\.0\.300"\n$/],
      [["nc", ...on, "--ip", "10.77.0.3/33", "10.77.0.1", "9"], 2, /^stackts: --ip : 10\.77\.0\.3\/33: the prefix length must be 0 to 32\n$/],
      [["nc", ...on, "--ip", `${OUR4}/24`, "10.77.0.1", "99999"], 2, /^stackts: PORT : port 99999 is out of range \(1\.\.65535\)\n$/],
      [["nc", ...on, "--ip", `${OUR4}/24`, "10.77.0.1", "http"], 2, /^stackts: PORT : expected a port number \(1\.\.65535\), got 'http'\n$/],
      [["nc", ...on, "--ip", `${OUR4}/24`, "-l"], 2, /^stackts: -l : which PORT to listen on\? .*\n$/],
      [["ping", ...on, "--ip", `${OUR4}/24`, "fd77::1"], 2, /^stackts: --ip6 : an IPv6 address of ours is needed to ping fd77::1\n$/],
      [["ping", ...on, "--ip", `${OUR4}/24`, "-c", "x", "10.77.0.1"], 2, /^stackts: -c : expected an integer, got 'x'\n$/],
      [["host", ...on], 2, /^stackts: --ip : is required .*\n$/],
      [["host", ...on, "--ip", OUR4, "--mac", "01:00:5e:00:00:01"], 2, /^stackts: --mac : 01:00:5e:00:00:01 is a multicast address\n$/],
      [["host", "--netns", lab.b.ns, "--iface", "nope0", "--ip", `${OUR4}/24`], 1, /^stackts: nope0 : no such interface \(see 'stackts devices'\)\n$/],
      // (These three open the device: each its own address, as they run side by side.)
      [["ping", ...on, "--ip", "10.77.0.11/24", "192.0.2.1"], 1, /^stackts: ping 192\.0\.2\.1 : Network is unreachable .*\n$/],
      [["nc", ...on, "--ip", "10.77.0.12/24", "10.77.0.1", "9"], 1, /^stackts: connect to 10\.77\.0\.1 port 9 \(tcp\) : Connection refused\n$/],
      [["nc", ...on, "--ip", "10.77.0.13/24", "-w", "0.5", "10.77.0.9", "9"], 1, /^stackts: connect to 10\.77\.0\.9 port 9 \(tcp\) : Connection timed out\n$/],
    ];
    const results = await Promise.all(cases.map(([args]) => stacktsDone(args)));
    results.forEach((r, i) => {
      const [args, code, re] = cases[i]!;
      expect(r.stderr, args.join(" ")).toMatch(re);
      expect(r.code, args.join(" ")).toBe(code);
      if (code === 2 || args[0] !== "ping") expect(r.stdout.length, args.join(" ")).toBe(0);
    });
  });
});
