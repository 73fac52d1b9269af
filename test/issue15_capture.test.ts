/**
 * Issue 15, live capture: `capture any` as LINUX_SLL2 with tcpdump's
 * `ifname In/Out` lines, `-U` and the flush of `-w` (a pipe sees a frame while
 * the capture runs; a kill -9 loses nothing written), and `-w` errors before
 * "listening on". In a two-namespace lab; oracles: tcpdump capturing the same
 * traffic beside us, tcpdump reading what we wrote, the kernel's ping.
 * Needs root; skips with the reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

interface Watched {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function watch(child: ChildProcess): Watched {
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** Wait until `test()` holds, up to `ms`; false when it never did. */
async function until(test: () => boolean, ms = 10_000): Promise<boolean> {
  for (let t = 0; t < ms; t += 50) {
    if (test()) return true;
    await sleep(50);
  }
  return test();
}

function tcpdumpRead(file: string): string[] {
  return lines(spawnSync("tcpdump", ["-n", "-r", file], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } }).stdout);
}

describe.skipIf(skip !== null)("live capture (lab): any as SLL2, -U, -w errors", () => {
  let lab: Lab;
  let dir = "";
  const children: ChildProcess[] = [];
  beforeAll(() => {
    lab = makeLab();
    dir = mkdtempSync(join(tmpdir(), "stackts-i15c-"));
    mkdirSync(join(dir, "folder"));
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    lab?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  function capture(args: string[], stdio: "pipe" | "ignore" = "pipe"): Watched {
    const child = spawn(process.execPath, [BIN, "capture", ...args], { stdio: ["ignore", stdio, "pipe"], env: { ...process.env, TZ: "UTC" } });
    children.push(child);
    return watch(child);
  }

  it("capture any opens LINUX_SLL2 and prints `ifname In/Out` as tcpdump -i any does", async () => {
    const td = watch(lab.a.spawn(["tcpdump", "-i", "any", "-n", "-c", "4", "icmp"], { env: { ...process.env, TZ: "UTC" } }));
    const ours = capture(["--netns", lab.a.ns, "-c", "4", "any", "icmp"]);
    expect(await until(() => td.err().includes("listening on") && ours.err().includes("listening on"))).toBe(true);
    expect(ours.err()).toMatch(/^listening on any, link-type LINUX_SLL2 \(Linux cooked v2\), snapshot length/);
    const ping = await lab.a.run(["ping", "-c", "2", "-i", "0.2", lab.b.ip4]);
    expect(ping.code).toBe(0);
    expect(await ours.exited).toBe(0);
    expect(await td.exited).toBe(0);
    const theirs = lines(td.out());
    expect(theirs).toHaveLength(4);
    // e.g. "12:00:00.000001 stk123a0 Out IP 10.77.0.1 > 10.77.0.2: ICMP echo request, ..."
    expect(theirs[0]).toContain(` ${lab.a.iface} Out IP 10.77.0.1 > 10.77.0.2: ICMP echo request`);
    // the same kernel time stamps and the same text
    expect(lines(ours.out())).toEqual(theirs);
  });

  it("-U -w - piped into stackts read - shows a frame while the capture still runs", async () => {
    const cap = spawn(process.execPath, [BIN, "capture", "--netns", lab.b.ns, "-U", "-w", "-", lab.b.iface, "icmp"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(cap);
    const read = spawn(process.execPath, [BIN, "read", "-"], { stdio: [cap.stdout!, "pipe", "pipe"], env: { ...process.env, TZ: "UTC" } });
    children.push(read);
    const r = watch(read);
    let capErr = "";
    cap.stderr!.setEncoding("utf8").on("data", (d: string) => (capErr += d));
    expect(await until(() => capErr.includes("listening on"))).toBe(true);
    expect(capErr).toMatch(/immediate mode/);
    await lab.a.run(["ping", "-c", "1", lab.b.ip4]);
    expect(await until(() => r.out().includes("ICMP echo reply"))).toBe(true);
    expect(cap.exitCode).toBe(null); // still capturing: the frames came through the pipe, not at exit
    expect(lines(r.out())[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{6} IP 10\.77\.0\.1 > 10\.77\.0\.2: ICMP echo request/);
    cap.kill("SIGINT");
    expect(await r.exited).toBe(0);
  });

  it("without -U, -w writes each delivered batch: after kill -9 the file holds every frame captured before", async () => {
    const file = join(dir, "killed.pcap");
    const cap = capture(["--netns", lab.b.ns, "-w", file, lab.b.iface, "icmp"], "ignore");
    expect(await until(() => cap.err().includes("listening on"))).toBe(true);
    expect(cap.err()).toMatch(/buffered mode/);
    const ping = await lab.a.run(["ping", "-c", "3", "-i", "0.2", lab.b.ip4]);
    expect(ping.code).toBe(0);
    // Within the block timeout (100 ms) the six frames are in the file, not in a buffer.
    expect(await until(() => tcpdumpRead(file).length === 6, 5000)).toBe(true);
    cap.child.kill("SIGKILL");
    await cap.exited;
    const l = tcpdumpRead(file);
    expect(l).toHaveLength(6);
    expect(l.filter((x) => x.includes("ICMP echo request"))).toHaveLength(3);
  });

  it.skipIf(!existsSync("/dev/net/tun") || !hasCommand("python3"))("-w on a tun device writes LINKTYPE_RAW (101), as tcpdump -w does, not libpcap's DLT_RAW (12)", async () => {
    // A tun device with its file held open by a helper (else it has no carrier).
    const holder = lab.a.spawn([
      "python3",
      "-c",
      "import fcntl,struct,os,sys,time\n" +
        "fd=os.open('/dev/net/tun',os.O_RDWR)\n" +
        "fcntl.ioctl(fd,0x400454ca,struct.pack('16sH',b'stktun15',0x1001))\n" + // TUNSETIFF, IFF_TUN|IFF_NO_PI
        "print('up',flush=True)\ntime.sleep(30)",
    ]);
    children.push(holder);
    const h = watch(holder);
    expect(await until(() => h.out().includes("up"))).toBe(true);
    for (const argv of [["addr", "add", "10.88.0.1/24", "dev", "stktun15"], ["link", "set", "stktun15", "up"]]) {
      expect(spawnSync("ip", ["-n", lab.a.ns, ...argv]).status).toBe(0);
    }
    const ours = join(dir, "tun.pcap");
    const theirs = join(dir, "tun-tcpdump.pcap");
    const td = watch(lab.a.spawn(["tcpdump", "-i", "stktun15", "-c", "2", "-w", theirs, "icmp"]));
    const cap = capture(["--netns", lab.a.ns, "-c", "2", "-w", ours, "stktun15", "icmp"]);
    expect(await until(() => td.err().includes("listening on") && cap.err().includes("listening on"))).toBe(true);
    await lab.a.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.88.0.2"]);
    expect(await cap.exited).toBe(0);
    expect(await td.exited).toBe(0);
    const linkType = (f: string): number => readFileSync(f).readUInt32LE(20);
    expect(linkType(theirs)).toBe(101);
    expect(linkType(ours)).toBe(linkType(theirs));
    expect(tcpdumpRead(ours)).toEqual(tcpdumpRead(theirs));
    holder.kill("SIGKILL");
  });

  it("-w to a path that cannot be written fails before 'listening on', in the one-line form", async () => {
    const missing = join(dir, "no", "x.pcap");
    const r = capture(["--netns", lab.b.ns, "-w", missing, lab.b.iface]);
    expect(await r.exited).toBe(1);
    expect(r.err()).toBe(`stackts: ${missing} : no such file or directory\n`);
    const d = capture(["--netns", lab.b.ns, "-w", join(dir, "folder"), lab.b.iface]);
    expect(await d.exited).toBe(1);
    expect(d.err()).toBe(`stackts: ${join(dir, "folder")} : is a directory\n`);
    // a write that fails (the header, flushed before "listening on")
    const full = capture(["--netns", lab.b.ns, "-w", "/dev/full", lab.b.iface]);
    expect(await full.exited).toBe(1);
    expect(full.err()).toBe("stackts: /dev/full : no space left on device\n");
    const u = capture(["--netns", lab.b.ns, "-U", lab.b.iface]);
    expect(await u.exited).toBe(2);
    expect(u.err()).toBe("stackts: -U : only means something with -w FILE\n");
  });
});

if (skip !== null) console.warn(`issue15_capture skipped: ${skip}`);
