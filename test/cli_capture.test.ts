/**
 * `stackts capture` and `stackts devices` end to end in a two-namespace lab
 * (`--netns`), through bin/stackts.js. Oracles: the kernel (what ping sends and
 * answers), tcpdump and tshark reading the files we write, `ip` for the device list.
 * Needs root; skips with the reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const skip =
  labSkipReason ??
  (!existsSync(join(ROOT, "dist/src/cli/main.js")) ? "dist/ missing: run npm run build:ts (npm test does)" : null) ??
  (!hasCommand("tcpdump") ? "needs tcpdump (./setup installs it)" : null);

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Start `stackts capture ...` and resolve once it says "listening on". */
function startCapture(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [BIN, "capture", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`capture did not start: ${err}`));
    }, 15_000);
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      if (err.includes("listening on")) {
        clearTimeout(timer);
        resolve({ child, stdout: () => out, stderr: () => err, exited });
      }
    });
    child.on("close", () => {
      clearTimeout(timer);
      resolve({ child, stdout: () => out, stderr: () => err, exited });
    });
  });
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

function counters(stderr: string): { captured: number; received: number; dropped: number } {
  const m = /(\d+) packets? captured\n(\d+) packets? received by filter\n(\d+) packets? dropped by kernel\n/.exec(stderr);
  if (m === null) throw new Error(`no counters in: ${stderr}`);
  return { captured: Number(m[1]), received: Number(m[2]), dropped: Number(m[3]) };
}

function tcpdumpRead(file: string, extra: string[] = []): string[] {
  const r = spawnSync("tcpdump", ["-n", "-r", file, ...extra], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } });
  return lines(r.stdout);
}

describe.skipIf(skip !== null)("stackts capture (lab, --netns)", () => {
  let lab: Lab;
  let dir = "";
  beforeAll(() => {
    lab = makeLab();
    dir = mkdtempSync(join(tmpdir(), "stackts-capture-"));
  });
  afterAll(() => {
    lab?.down();
    rmSync(dir, { recursive: true, force: true });
  });
  const where = (): string[] => ["--netns", lab.b.ns, lab.b.iface];

  it("-c N ends the capture after N packets and prints them like tcpdump", async () => {
    const cap = await startCapture([...where(), "-c", "4", "icmp"]);
    const ping = await lab.a.run(["ping", "-c", "3", "-i", "0.2", lab.b.ip4]);
    expect(ping.code).toBe(0);
    expect(await cap.exited).toBe(0);
    const l = lines(cap.stdout());
    expect(l).toHaveLength(4);
    // The kernel in b answers each request: request seq 1, reply seq 1, request seq 2, reply seq 2.
    expect(l[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{6} IP 10\.77\.0\.1 > 10\.77\.0\.2: ICMP echo request, id \d+, seq 1, length 64$/);
    expect(l[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{6} IP 10\.77\.0\.2 > 10\.77\.0\.1: ICMP echo reply, id \d+, seq 1, length 64$/);
    expect(l[2]).toMatch(/ICMP echo request, id \d+, seq 2, length 64$/);
    expect(l[3]).toMatch(/ICMP echo reply, id \d+, seq 2, length 64$/);
    expect(cap.stderr()).toMatch(/^listening on \S+, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes, immediate mode/);
    expect(counters(cap.stderr()).captured).toBe(4);
  });

  it("-w FILE then stackts read and tcpdump -r agree", async () => {
    const file = join(dir, "four.pcap");
    const cap = await startCapture([...where(), "-c", "6", "-w", file, "icmp"]);
    await lab.a.run(["ping", "-c", "3", "-i", "0.2", lab.b.ip4]);
    expect(await cap.exited).toBe(0);
    expect(cap.stdout()).toBe("");
    const theirs = tcpdumpRead(file);
    expect(theirs).toHaveLength(6);
    const ours = lines(spawnSync(process.execPath, [BIN, "read", file], { encoding: "utf8" }).stdout);
    expect(ours).toEqual(theirs);
  });

  it("-w FILE.pcapng records the interface name and the filter", async () => {
    const file = join(dir, "named.pcapng");
    const cap = await startCapture([...where(), "-c", "2", "-w", file, "icmp", "or", "arp"]);
    await lab.a.run(["ping", "-c", "2", "-i", "0.2", lab.b.ip4]);
    expect(await cap.exited).toBe(0);
    if (hasCommand("tshark")) {
      const r = spawnSync("tshark", ["-r", file, "-T", "fields", "-e", "frame.interface_name"], { encoding: "utf8" });
      expect(lines(r.stdout)).toEqual([lab.b.iface, lab.b.iface]);
    }
    if (hasCommand("capinfos")) {
      const r = spawnSync("capinfos", [file], { encoding: "utf8" });
      expect(r.stdout).toMatch(new RegExp(`Name = ${lab.b.iface}\n`));
      expect(r.stdout).toMatch(/Filter string = icmp or arp\n/);
      // pcapng keeps the kernel's nanoseconds.
      expect(r.stdout).toMatch(/Time precision = nanoseconds \(9\)/);
    }
    expect(tcpdumpRead(file)).toHaveLength(2);
  });

  it("SIGINT writes and flushes everything, then prints the three counters", async () => {
    const file = join(dir, "sigint.pcap");
    const cap = await startCapture([...where(), "-w", file, "icmp"]);
    await lab.a.run(["ping", "-c", "3", "-i", "0.2", lab.b.ip4]);
    await sleep(200);
    cap.child.kill("SIGINT");
    expect(await cap.exited).toBe(0);
    const c = counters(cap.stderr());
    expect(c.captured).toBe(6);
    expect(c.received).toBe(6);
    expect(c.dropped).toBe(0);
    expect(tcpdumpRead(file)).toHaveLength(6);
  });

  it("SIGTERM while printing flushes the lines already captured", async () => {
    const cap = await startCapture([...where(), "icmp"]);
    await lab.a.run(["ping", "-c", "2", "-i", "0.2", lab.b.ip4]);
    await sleep(200);
    cap.child.kill("SIGTERM");
    expect(await cap.exited).toBe(0);
    expect(lines(cap.stdout())).toHaveLength(4);
    expect(counters(cap.stderr()).captured).toBe(4);
  });

  it("--json prints the schema of stackts read", async () => {
    const cap = await startCapture([...where(), "--json", "-c", "2", "icmp"]);
    await lab.a.run(["ping", "-c", "1", lab.b.ip4]);
    expect(await cap.exited).toBe(0);
    const rows = lines(cap.stdout()).map((l) => JSON.parse(l) as { index: number; layers: { layer: string; src?: string }[] });
    expect(rows.map((r) => r.index)).toEqual([1, 2]);
    expect(rows[0]!.layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "icmp", "payload"]);
    expect(rows[0]!.layers[0]!.src).toBe(lab.a.mac);
    expect(rows[0]!.layers[1]!.src).toBe(lab.a.ip4);
  });

  it("-Q in keeps only received frames", async () => {
    const cap = await startCapture([...where(), "-Q", "in", "-c", "2", "icmp"]);
    await lab.a.run(["ping", "-c", "3", "-i", "0.2", lab.b.ip4]);
    expect(await cap.exited).toBe(0);
    for (const l of lines(cap.stdout())) expect(l).toMatch(/IP 10\.77\.0\.1 > 10\.77\.0\.2: ICMP echo request/);
  });

  it("a bad interface or a bad filter ends in one line and a non-zero exit", async () => {
    const bad = await startCapture(["--netns", lab.b.ns, "nosuch0"]);
    expect(await bad.exited).toBe(1);
    expect(lines(bad.stderr())).toHaveLength(1);
    expect(bad.stderr()).toMatch(/^stackts: nosuch0 : .*no such/i);

    const filter = await startCapture([...where(), "tcp", "prot", "80"]);
    expect(await filter.exited).toBe(2);
    expect(lines(filter.stderr())).toHaveLength(1);
    expect(filter.stderr()).toMatch(/^stackts: filter 'tcp prot 80' : .*syntax error/);

    const usage = await startCapture([...where(), "-Q", "sideways"]);
    expect(await usage.exited).toBe(2);
    expect(usage.stderr()).toBe("stackts: -Q : expected in, out or inout, got 'sideways'\n");
  });

  it("stackts devices lists the namespace's interfaces with flags and addresses", () => {
    const r = spawnSync(process.execPath, [BIN, "devices", "--netns", lab.b.ns], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const l = lines(r.stdout);
    // The kernel's view of the same interface, from iproute2.
    const mtu = /mtu (\d+)/.exec(spawnSync("ip", ["-n", lab.b.ns, "link", "show", lab.b.iface], { encoding: "utf8" }).stdout)![1];
    const i = l.findIndex((x) => new RegExp(`^\\d+\\.${lab.b.iface} `).test(x));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(l[i]).toContain("[Up, Running]");
    expect(l[i]).toContain(`${lab.b.mac} mtu ${mtu}`);
    expect(l[i + 1]).toMatch(new RegExp(`^    inet ${lab.b.ip4.replace(/\./g, "\\.")}/24( |$)`));
    expect(l.some((x) => /^\d+\.lo \[Up, Running, Loopback\]/.test(x))).toBe(true);
    expect(l.map((x) => /^(\d+)\./.exec(x)?.[1]).filter((x) => x !== undefined).map(Number)).toEqual(
      Array.from({ length: l.filter((x) => /^\d+\./.test(x)).length }, (_, k) => k + 1),
    );
  });
});

if (skip !== null) console.warn(`cli_capture skipped: ${skip}`);
