/**
 * The DNS resolver over our own stack (src/apps/dns.ts, `stackts dns`) in a
 * two-namespace lab, against:
 *
 * - dnsmasq in A (`-k --conf-file=/dev/null`, its records, hosts file, log
 *   and pid file in the test's folder): A, AAAA, MX and TXT answers equal
 *   to `dig`'s from B's kernel against the same server, `-v`'s answer
 *   section equal to dig's line for line (tabs included); a name with 120
 *   A records whose UDP answer is truncated (dig +ignore shows `tc`), so we
 *   must ask again over our TCP: the full answer equals `dig +tcp`'s and the
 *   trace shows the fallback; loss made by nftables (`numgen inc`: the first
 *   two copies of the query dropped, the third answered); the lease's DNS
 *   server used with `--dhcp`;
 * - a lying server in A written in Python: answers with another id and for
 *   another question (ignored), a compression pointer that loops (a clear
 *   error at once, asked once), and silence (the timeout, after the retries
 *   the server counted);
 * - in-process, `resolveHost` through the stack's impairment wrapper (40 %
 *   of received frames lost): the addresses dig gets, CNAMEs followed.
 *
 * Needs root; skips with the reason otherwise.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsError, dnsQuery, resolveHost } from "../src/apps/dns.ts";
import { impair } from "../src/device/impair.ts";
import { openHost } from "../src/stack/host.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const built = existsSync(join(ROOT, "dist/src/cli/main.js"));
const missing = ["dnsmasq", "dig", "python3", "nft", "ethtool"].find((c) => !hasCommand(c));
const skip = labSkipReason ?? (!built ? "dist/ missing: run npm run build:ts (npm test does)" : null) ?? (missing !== undefined ? `needs ${missing} (./setup installs it)` : null);

async function stackts(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout: out, stderr: err };
}

async function waitFor(get: () => string, re: RegExp, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(get())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in:\n${get()}`);
    await sleep(25);
  }
}

const sorted = (text: string): string[] => text.split("\n").filter((l) => l !== "").sort();

/** The lines of one of dig's sections ("ANSWER"), as printed. */
function section(text: string, name: string): string[] {
  const lines = text.split("\n");
  const at = lines.indexOf(`;; ${name} SECTION:`);
  if (at < 0) return [];
  const end = lines.indexOf("", at);
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

/**
 * A lying DNS server, from RFC 1035 §4.1 by hand. Logs `<qname> <id>` for
 * each query. liar.test: an answer with another id, one for another
 * question, then the real one (10.66.0.3). loop.test: the answer's owner
 * name is a compression pointer to itself. Anything else: no answer.
 */
const LIAR = String.raw`
import socket, struct, sys
port, log = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.1", port))
out = open(log, "a", buffering=1)
out.write("ready\n")
def a(ip):
    return b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
def resp(qid, question, answer):
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer
while True:
    data, src = s.recvfrom(4096)
    qid = struct.unpack("!H", data[:2])[0]
    i, labels = 12, []
    while data[i]:
        labels.append(data[i + 1:i + 1 + data[i]].decode())
        i += 1 + data[i]
    q = data[12:i + 5]
    name = ".".join(labels)
    out.write("%s %d\n" % (name, qid))
    if name == "liar.test":
        s.sendto(resp(qid ^ 0x0101, q, a("10.66.0.1")), src)
        s.sendto(resp(qid, b"\x05other\x04test\x00" + q[-4:], a("10.66.0.2")), src)
        s.sendto(resp(qid, q, a("10.66.0.3")), src)
    elif name == "loop.test":
        at = 12 + len(q)
        s.sendto(resp(qid, q, struct.pack("!H", 0xC000 | at) + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4)), src)
`;

describe.skipIf(skip !== null)("DNS over our stack (lab)", () => {
  let lab: Lab;
  let dir = "";
  let dnsmasq: ChildProcess | null = null;
  /** our stack's options: on B's end, as 10.77.0.3 (B's kernel is 10.77.0.2, where dig runs) */
  let on: string[] = [];
  const SERVER = "10.77.0.1";

  beforeAll(async () => {
    lab = makeLab({ ipv6: true });
    dir = mkdtempSync(join(tmpdir(), "stackts-dns-"));
    on = ["--netns", lab.b.ns, "--iface", lab.b.iface, "--ip", "10.77.0.3/24"];
    for (const h of [lab.a, lab.b]) await h.run(["ethtool", "-K", h.iface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"]);
    // dnsmasq reads the hosts file after dropping root: the folder must be open to it.
    chmodSync(dir, 0o755);
    const hosts = ["10.77.0.9 www.example.test", "10.77.0.10 www.example.test", "fd77::9 v6.example.test", "fd77::10 v6.example.test"];
    // 120 A records: 1218 bytes fit the 1232 we (and dig) offer over UDP, so the UDP answer is cut (TC).
    for (let i = 1; i <= 120; i++) hosts.push(`10.77.1.${i} big.example.test`);
    writeFileSync(join(dir, "hosts"), hosts.join("\n") + "\n");
    writeFileSync(join(dir, "leases"), "");
    dnsmasq = lab.a.spawn([
      "dnsmasq", "-k", "--conf-file=/dev/null", `--interface=${lab.a.iface}`, "--bind-interfaces", "--no-resolv", "--no-hosts",
      `--addn-hosts=${join(dir, "hosts")}`, "--local=/example.test/", "--mx-host=example.test,mail.example.test,10",
      "--mx-host=example.test,backup.example.test,20", '--txt-record=example.test,"v=spf1 -all","second string"',
      "--txt-record=example.test,another", "--cname=alias.example.test,www.example.test",
      "--dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,2m", "--dhcp-option=option:dns-server,10.77.0.1", `--dhcp-leasefile=${join(dir, "leases")}`,
      "--no-ping", `--log-facility=${join(dir, "dnsmasq.log")}`, `--pid-file=${join(dir, "dnsmasq.pid")}`,
    ]);
    const end = Date.now() + 5000;
    while ((await lab.a.run(["ss", "-Hlnt", "sport = :53"])).stdout.trim() === "") {
      if (Date.now() > end) throw new Error("dnsmasq did not start");
      await sleep(30);
    }
  });
  afterAll(() => {
    dnsmasq?.kill("SIGKILL");
    lab?.down();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  const dig = async (...args: string[]): Promise<string> => {
    const r = await lab.b.run(["dig", `@${SERVER}`, ...args]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  it("A, AAAA, MX, TXT: the records dig gets from the same dnsmasq (+short), and -v's answer section as dig prints it", async () => {
    for (const [type, name] of [["A", "www.example.test"], ["AAAA", "v6.example.test"], ["MX", "example.test"], ["TXT", "example.test"], ["A", "alias.example.test"]] as const) {
      const ours = await stackts(["dns", ...on, "--server", SERVER, "-t", type, name]);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stderr).toBe("");
      const theirs = await dig("+short", "-t", type, name);
      expect(sorted(ours.stdout), `${type} ${name}`).toEqual(sorted(theirs));
      expect(sorted(ours.stdout).length).toBeGreaterThanOrEqual(2);
      const v = await stackts(["dns", ...on, "--server", SERVER, "-v", "-t", type, name]);
      expect(v.code, v.stderr).toBe(0);
      const full = await dig("-t", type, name);
      expect(section(v.stdout, "ANSWER").sort(), `${type} ${name}`).toEqual(section(full, "ANSWER").sort());
      expect(section(v.stdout, "QUESTION")).toEqual(section(full, "QUESTION"));
      expect(v.stdout).toMatch(/^;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+$/m);
      expect(v.stdout).toContain(`;; SERVER: ${SERVER}#53(${SERVER}) (UDP)\n`);
    }
    // A name dnsmasq does not have, in a domain it is local for: NXDOMAIN, as dig reports it; +short prints nothing.
    const nx = await stackts(["dns", ...on, "--server", SERVER, "-v", "nothing.example.test"]);
    expect(nx.code).toBe(0);
    expect(/status: (\w+)/.exec(nx.stdout)?.[1]).toBe(/status: (\w+)/.exec(await dig("nothing.example.test"))?.[1]);
    expect(nx.stdout).toContain("status: NXDOMAIN");
    expect((await stackts(["dns", ...on, "--server", SERVER, "nothing.example.test"])).stdout).toBe("");
  });

  it("over IPv6: the question from our IPv6 address to dnsmasq's, the answer dig gets over IPv6", async () => {
    const ours = await stackts(["dns", "--netns", lab.b.ns, "--iface", lab.b.iface, "--ip6", "fd77::3/64", "--server", "fd77::1", "--trace", "-t", "AAAA", "v6.example.test"]);
    expect(ours.code, ours.stderr).toBe(0);
    const r = await lab.b.run(["dig", "@fd77::1", "+short", "-t", "AAAA", "v6.example.test"]);
    expect(sorted(ours.stdout)).toEqual(sorted(r.stdout));
    expect(sorted(ours.stdout)).toEqual(["fd77::10", "fd77::9"]);
    expect(ours.stderr).toMatch(/> IP6 fd77::3\.\d+ > fd77::1\.53: \d+\+ \[1au\] AAAA\? v6\.example\.test\./);
  });

  it("a truncated UDP answer (TC) is asked again over our TCP: the full answer equals dig +tcp's", async () => {
    // The independent word that UDP cannot carry it: dig's own UDP answer has the tc flag.
    expect(await dig("+ignore", "big.example.test")).toMatch(/^;; flags: qr aa tc rd ra;/m);
    const ours = await stackts(["dns", ...on, "--server", SERVER, "--trace", "big.example.test"]);
    expect(ours.code, ours.stderr).toBe(0);
    const theirs = await dig("+tcp", "+short", "big.example.test");
    expect(sorted(ours.stdout)).toEqual(sorted(theirs));
    expect(sorted(ours.stdout).length).toBe(120);
    // The trace: the UDP answer flagged truncated ('|' as tcpdump marks TC), our note, a SYN to port 53, the question over TCP.
    expect(ours.stderr).toMatch(/< IP 10\.77\.0\.1\.53 > 10\.77\.0\.3\.\d+: \d+\*\| \d+\/0\/\d+ A /);
    expect(ours.stderr).toMatch(/# dns: answer \d+ truncated \(TC\) in \d+ bytes: asking again over TCP/);
    expect(ours.stderr).toMatch(/> IP 10\.77\.0\.3\.\d+ > 10\.77\.0\.1\.53: Flags \[S\]/);
    expect(ours.stderr).toMatch(/> IP 10\.77\.0\.3\.\d+ > 10\.77\.0\.1\.53: Flags \[P\.\], .* A\? big\.example\.test\./);
    const v = await stackts(["dns", ...on, "--server", SERVER, "-v", "big.example.test"]);
    expect(v.stdout).toContain(";; Truncated, retrying in TCP mode.\n");
    expect(v.stdout).toContain(`;; SERVER: ${SERVER}#53(${SERVER}) (TCP)\n`);
    expect(section(v.stdout, "ANSWER").sort()).toEqual(section(await dig("+tcp", "big.example.test"), "ANSWER").sort());
  });

  it("loss (nftables drops the first two copies of the query): the third try is answered", async () => {
    const table = "stackts_dns_loss";
    const theirs = await dig("+short", "www.example.test");
    try {
      const nft = await lab.a.run(["nft", "-f", "-"], {
        input: `table inet ${table} {\n chain in {\n type filter hook input priority -300;\n ip saddr 10.77.0.3 udp dport 53 numgen inc mod 3 < 2 counter drop\n }\n}\n`,
      });
      expect(nft.code, nft.stderr).toBe(0);
      const ours = await stackts(["dns", ...on, "--server", SERVER, "--tries", "3", "--timeout", "3", "--trace", "www.example.test"]);
      expect(ours.code, ours.stderr).toBe(0);
      expect(sorted(ours.stdout)).toEqual(sorted(theirs));
      expect(ours.stderr).toMatch(/# dns: no answer to (\d+) yet: sending it again \(try 3 of 3\)/);
      // One id for all three copies (a late answer to an earlier one would count too).
      const ids = [...ours.stderr.matchAll(/> IP 10\.77\.0\.3\.\d+ > 10\.77\.0\.1\.53: (\d+)\+ /g)].map((m) => m[1]);
      expect(ids.length).toBe(3);
      expect(new Set(ids).size).toBe(1);
      expect((await lab.a.run(["nft", "list", "table", "inet", table])).stdout).toMatch(/counter packets 2 bytes \d+ drop/);
    } finally {
      await lab.a.run(["nft", "delete", "table", "inet", table]);
    }
  });

  it("--dhcp: the lease's DNS server is asked", async () => {
    const ours = await stackts(["dns", "--netns", lab.b.ns, "--iface", lab.b.iface, "--dhcp", "--trace", "www.example.test"]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(sorted(ours.stdout)).toEqual(sorted(await dig("+short", "www.example.test")));
    expect(ours.stderr).toMatch(/> IP 10\.77\.0\.1\d\d\.\d+ > 10\.77\.0\.1\.53: \d+\+ \[1au\] A\? www\.example\.test\./);
    await waitFor(() => readFileSync(join(dir, "leases"), "utf8"), /^$/, 3000); // and released
  });

  describe("a lying server", () => {
    let liar: ChildProcess;
    const log = (): string => readFileSync(join(dir, "liar.log"), "utf8");
    const asked = (name: string): string[] => log().split("\n").filter((l) => l.startsWith(`${name} `));
    const at = ["--server", SERVER, "--port", "5300"];

    beforeAll(async () => {
      writeFileSync(join(dir, "liar.py"), LIAR);
      writeFileSync(join(dir, "liar.log"), "");
      liar = lab.a.spawn(["python3", join(dir, "liar.py"), "5300", join(dir, "liar.log")]);
      await waitFor(log, /^ready$/m);
    });
    afterAll(() => liar?.kill("SIGKILL"));

    it("answers with another id or for another question are ignored; the real one is taken", async () => {
      const r = await stackts(["dns", ...on, ...at, "--trace", "liar.test"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("10.66.0.3\n");
      expect(r.stderr).toMatch(/# dns: ignored a datagram: id \d+ is not ours \(\d+\)/);
      expect(r.stderr).toMatch(/# dns: ignored a datagram: answers another question \(other\.test A\)/);
      expect(asked("liar.test").length).toBe(1);
    });

    it("a compression pointer loop: one clear line at once (asked once), exit 1", async () => {
      const r = await stackts(["dns", ...on, ...at, "--timeout", "5", "loop.test"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^stackts: dns : Malformed answer from 10\.77\.0\.1: answer 1 of 1: compression pointer at offset \d+ points forward or into a loop \(to \d+\)\n$/);
      expect(asked("loop.test").length).toBe(1);
    });

    it("a port nobody holds: the kernel's port unreachable ends it at once (Connection refused), exit 1", async () => {
      const r = await stackts(["dns", ...on, "--server", SERVER, "--port", "5399", "--timeout", "5", "refused.test"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("stackts: dns : 10.77.0.1 port 5399 (udp): Connection refused\n");
    });

    it("silence: the retries the server counted (one id), then one line at the timeout, exit 1", async () => {
      const r = await stackts(["dns", ...on, ...at, "--timeout", "1.5", "--tries", "3", "silent.test"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("stackts: dns : No answer from 10.77.0.1 port 5300 in 1.5 s (3 tries)\n");
      const seen = asked("silent.test");
      expect(seen.length).toBe(3);
      expect(new Set(seen).size).toBe(1);
    });
  });

  it("resolveHost in-process, 40% of received frames lost (the stack's impairment wrapper): dig's addresses, CNAMEs followed, clear errors", async () => {
    const host = openHost({ iface: lab.b.iface, netns: lab.b.ns, mac: "02:53:0a:4d:00:05", ipv4: ["10.77.0.5/24"], wrap: (d) => impair(d, { seed: 7, receive: { drop: 0.4 } }) });
    try {
      const www = sorted(await dig("+short", "www.example.test"));
      // The first lookup also finds the server's MAC (an ARP reply can be lost too): a longer bound.
      expect((await resolveHost(host, "www.example.test", { server: SERVER, family: 4, timeoutMs: 10_000, tries: 20 })).sort()).toEqual(www);
      expect((await resolveHost(host, "alias.example.test", { server: SERVER, family: 4, timeoutMs: 5000, tries: 10 })).sort()).toEqual(www);
      expect((await resolveHost(host, "v6.example.test", { server: SERVER, family: 6, timeoutMs: 5000, tries: 10 })).sort()).toEqual(sorted(await dig("+short", "AAAA", "v6.example.test")));
      expect(await resolveHost(host, "10.1.2.3", { server: SERVER })).toEqual(["10.1.2.3"]);
      const nx = await resolveHost(host, "nothing.example.test", { server: SERVER, family: 4, timeoutMs: 5000, tries: 10 }).catch((e: unknown) => e);
      expect(nx).toBeInstanceOf(DnsError);
      expect((nx as DnsError).code).toBe("nxdomain");
      // Retries did the work: over ten questions (each answer lost with p = 0.4: all ten kept has p < 0.7 %),
      // more sends than questions, every answer right.
      let sends = 0;
      for (let i = 0; i < 10; i++) {
        const r = await dnsQuery(host, "www.example.test", { server: SERVER, tries: 16, timeoutMs: 4000 });
        expect(r.response.answers.map((a) => a.data as string).sort()).toEqual(www);
        sends += r.tries;
      }
      expect(sends).toBeGreaterThan(10);
      const bad = await dnsQuery(host, "x".repeat(64) + ".test", { server: SERVER }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(DnsError);
      expect((bad as DnsError).code).toBe("name");
    } finally {
      host.close();
    }
  });
});
