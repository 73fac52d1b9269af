/**
 * `stackts send` on loopback (issue 15): `send udp --iface lo --dst 127.0.0.1`
 * (and ::1, and `send dns --server 127.0.0.1`) reaches a real listener on the
 * same host. Each test runs inside a lab namespace (`ip netns exec`), on that
 * namespace's own `lo`, so no traffic touches the machine's loopback.
 *
 * Oracles: a Python UDP socket (what the kernel delivered), tcpdump on lo (how
 * the frame looks there), dnsmasq and dig for DNS; the local-table parsers
 * against literal /proc text and against `ip route show table local`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIp } from "../layers/addr.ts";
import { findLocalRoute, parseLocalIpv4Routes, parseLocalIpv6Routes } from "../src/send/route.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Host, type Lab } from "./helpers/lab.ts";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "bin", "stackts.js");
const built = existsSync(join(ROOT, "dist", "src", "cli", "send.js"));

describe("the local table, parsed", () => {
  it("takes the host LOCAL entries of /proc/net/fib_trie, once each", () => {
    // The shape of the file (two tries, each with the same LOCAL leaves), by hand.
    const trie = [
      "Main:",
      "  +-- 0.0.0.0/1 2 0 2",
      "     +-- 10.9.0.0/24 2 0 2",
      "        |-- 10.9.0.0",
      "           /24 link UNICAST",
      "        |-- 10.9.0.1",
      "           /32 host LOCAL",
      "        |-- 10.9.0.255",
      "           /32 link BROADCAST",
      "     +-- 127.0.0.0/8 2 0 2",
      "        +-- 127.0.0.0/31 1 0 0",
      "           |-- 127.0.0.0",
      "              /8 host LOCAL",
      "           |-- 127.0.0.1",
      "              /32 host LOCAL",
      "Local:",
      "  +-- 0.0.0.0/1 2 0 2",
      "        |-- 10.9.0.1",
      "           /32 host LOCAL",
      "           |-- 127.0.0.0",
      "              /8 host LOCAL",
      "",
    ].join("\n");
    const routes = parseLocalIpv4Routes(trie).map((r) => `${[...r.destination].join(".")}/${r.prefixLength}`);
    expect(routes).toEqual(["10.9.0.1/32", "127.0.0.0/8", "127.0.0.1/32"]);
  });

  it("takes the RTF_LOCAL lines of /proc/net/ipv6_route and leaves the others", () => {
    const text = [
      "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0",
      "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo",
      "fd770000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     eth0",
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo",
    ].join("\n");
    const routes = parseLocalIpv6Routes(text);
    expect(routes.map((r) => r.prefixLength)).toEqual([128, 128]);
    expect(routes[0]!.destination).toEqual(parseIp("::1"));
    expect(routes[1]!.destination).toEqual(parseIp("fd77::1"));
  });
});

describe.skipIf(labSkipReason !== null || !built)("send on loopback, inside a lab namespace", () => {
  let lab: Lab;
  let a: Host;
  let dir: string;
  beforeAll(() => {
    lab = makeLab({ ipv6: true });
    a = lab.a;
    dir = mkdtempSync(join(tmpdir(), "stackts-lo-"));
  });
  afterAll(() => {
    lab?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A Python UDP socket bound to `address` in `a`: resolves with "payload-hex source port" of the first datagram. */
  function listen(address: string, port: number): { ready: Promise<void>; got: Promise<string> } {
    const family = address.includes(":") ? "AF_INET6" : "AF_INET";
    const code = [
      "import socket",
      `s=socket.socket(socket.${family},socket.SOCK_DGRAM)`,
      `s.bind((${JSON.stringify(address)},${port}))`,
      "s.settimeout(10)",
      "print('ready',flush=True)",
      "d,a=s.recvfrom(65535)",
      "print(d.hex()+' '+a[0]+' '+str(a[1]),flush=True)",
    ].join("\n");
    const child = a.spawn(["python3", "-u", "-c", code]);
    let out = "";
    let ready!: () => void;
    let got!: (s: string) => void;
    const readyP = new Promise<void>((r) => (ready = r));
    const gotP = new Promise<string>((r) => (got = r));
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("ready\n")) ready();
      const lines = out.split("\n").filter((l) => l !== "" && l !== "ready");
      if (lines.length > 0) got(lines[0]!);
    });
    child.on("exit", () => got(out.split("\n").filter((l) => l !== "" && l !== "ready")[0] ?? "nothing"));
    return { ready: readyP, got: gotP };
  }

  /** tcpdump on the namespace's lo (-n, no time stamp), writing the frames to `file` too. */
  async function tcpdumpLo(filter: string, file: string): Promise<{ lines: () => Promise<string[]> }> {
    const text = a.spawn(["tcpdump", "-t", "-l", "-n", "-c", "1", "-i", "lo", filter]);
    const raw = a.spawn(["tcpdump", "-c", "1", "-i", "lo", "-w", file, filter]);
    let out = "";
    text.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    // Both print "listening on" to stderr once the capture is open.
    await Promise.all(
      [text, raw].map(
        (c) =>
          new Promise<void>((r) => {
            let err = "";
            c.stderr!.setEncoding("utf8").on("data", (d: string) => {
              err += d;
              if (err.includes("listening on")) r();
            });
          }),
      ),
    );
    const done = Promise.all([text, raw].map((c) => new Promise<void>((r) => c.on("exit", () => r()))));
    return {
      lines: async () => {
        await Promise.race([done, sleep(5000)]);
        return out.split("\n").filter(Boolean);
      },
    };
  }

  /** Our printed line without its time stamp. */
  const untimed = (line: string): string => line.replace(/^\d\d:\d\d:\d\d\.\d+ /, "");

  for (const [dst, port] of [["127.0.0.1", 9998], ["::1", 9997]] as const) {
    it(`send udp --iface lo --dst ${dst} reaches a listener there, and looks as tcpdump -i lo shows it`, { timeout: 30_000 }, async () => {
      const l = listen(dst, port);
      await l.ready;
      const pcap = join(dir, `lo-${port}.pcap`);
      const dump = await tcpdumpLo(`udp port ${port}`, pcap);
      const ours = join(dir, `ours-${port}.pcap`);
      const r = await a.run([process.execPath, CLI, "send", "udp", "--iface", "lo", "--dst", dst, "--dport", String(port), "--sport", "40001", "--data", "hello", "-w", ours]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      // The kernel delivered it: payload, source address and port.
      expect(await l.got).toBe(`68656c6c6f ${dst} 40001`);
      // tcpdump on lo saw the frame we print, line for line (time stamps aside).
      const seen = await dump.lines();
      expect(seen).toHaveLength(1);
      const family = dst.includes(":") ? "IP6" : "IP";
      expect(seen[0]).toBe(`${family} ${dst}.40001 > ${dst}.${port}: UDP, length 5`);
      expect(untimed(r.stdout.trim())).toBe(seen[0]);
      // Ethernet with all-zero MACs, as Linux frames loopback traffic (tcpdump -e).
      const e = spawnSync("tcpdump", ["-r", pcap, "-n", "-e", "-t"], { encoding: "utf8" });
      expect(e.stdout).toMatch(/^00:00:00:00:00:00 > 00:00:00:00:00:00, ethertype IPv/);
      if (family === "IP6") {
        // IPv6 is injected as built: tcpdump's bytes are ours, byte for byte (past the 24-byte pcap header).
        const frame = (f: string): Buffer => readFileSync(f).subarray(24 + 16);
        expect(frame(pcap).equals(frame(ours))).toBe(true);
      }
    });
  }

  it("send udp to another of this host's addresses through lo (the local table, not only 127/8)", { timeout: 30_000 }, async () => {
    const l = listen(a.ip4, 9996);
    await l.ready;
    const r = await a.run([process.execPath, CLI, "send", "udp", "--iface", "lo", "--dst", a.ip4, "--dport", "9996", "--sport", "40002", "--data", "x"]);
    expect(r.code).toBe(0);
    expect(await l.got).toBe(`78 127.0.0.1 40002`);
  });

  it("--netns from outside the namespace: the same datagram arrives", { timeout: 30_000 }, async () => {
    const l = listen("127.0.0.1", 9995);
    await l.ready;
    const r = spawnSync(process.execPath, [CLI, "send", "udp", "--netns", a.ns, "--iface", "lo", "--dst", "127.0.0.1", "--dport", "9995", "--sport", "40003", "--data", "ns"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(await l.got).toBe(`6e73 127.0.0.1 40003`);
  });

  it("an address that is not this host's is no route through lo (one line, exit 1)", async () => {
    const r = await a.run([process.execPath, CLI, "send", "udp", "--iface", "lo", "--dst", lab.b.ip4, "--dport", "9", "--data", "x"]);
    expect(r.stderr).toBe(`stackts: route : No route to ${lab.b.ip4} through lo: loopback reaches only this host's own addresses\n`);
    expect(r.code).toBe(1);
  });

  it("findLocalRoute agrees with 'ip route show table local' of the namespace", () => {
    const table = execFileSync("ip", ["-n", a.ns, "route", "show", "table", "local"], { encoding: "utf8" });
    const locals = [...table.matchAll(/^local (\S+)/gm)].map((m) => m[1]!);
    expect(locals).toContain("127.0.0.0/8");
    expect(locals).toContain(a.ip4);
    for (const l of locals) {
      const [addr, len] = l.split("/");
      const found = findLocalRoute(parseIp(addr!), a.ns);
      expect(found, l).not.toBeNull();
      expect(found!.prefixLength).toBe(Number(len ?? 32));
    }
    expect(findLocalRoute(parseIp(lab.b.ip4), a.ns)).toBeNull();
    expect(findLocalRoute(parseIp("::1"), a.ns)?.prefixLength).toBe(128);
  });

  it.skipIf(!hasCommand("dnsmasq") || !hasCommand("dig"))("send dns --server 127.0.0.1 and ::1 over lo get dnsmasq's answer, as dig does", { timeout: 60_000 }, async () => {
    const dns = a.spawn([
      "dnsmasq", "-k", "--conf-file=/dev/null", "--listen-address=127.0.0.1,::1", "--bind-interfaces", "--no-resolv", "--no-hosts",
      "--address=/www.example.test/10.1.2.3", "--address=/www.example.test/fd00::123", "--pid-file=", `--user=root`,
    ]);
    try {
      // Ready when dig gets an answer.
      let digA = "";
      for (let i = 0; i < 50 && digA === ""; i++) {
        digA = (await a.run(["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "www.example.test", "A"])).stdout.trim();
        if (digA === "") await sleep(100);
      }
      expect(digA).toBe("10.1.2.3");
      for (const server of ["127.0.0.1", "::1"]) {
        for (const type of ["A", "AAAA"]) {
          const dig = (await a.run(["dig", "+short", `@${server}`, "www.example.test", type])).stdout.trim();
          const r = await a.run([process.execPath, CLI, "send", "dns", "--iface", "lo", "--server", server, "--type", type, "--short", "www.example.test"]);
          expect(r.stderr, `${server} ${type}`).toBe("");
          expect(r.code).toBe(0);
          expect(r.stdout.trim()).toBe(dig);
        }
      }
    } finally {
      dns.kill("SIGTERM");
    }
  });
});
