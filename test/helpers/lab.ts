/**
 * A two-host lab for tests: two network namespaces joined by one veth pair,
 * created fresh with names unique to this run and removed afterwards, even when
 * a test fails (afterAll, and a process-exit hook as a last resort).
 *
 *   host a: namespace <p>a, interface <p>a0, 10.77.0.1/24, fd77::1/64, 02:77:00:00:00:01
 *   host b: namespace <p>b, interface <p>b0, 10.77.0.2/24, fd77::2/64, 02:77:00:00:00:02
 *
 * Nothing is attached to the root namespace and there is no default route, so
 * no test traffic can leave the lab. Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN):
 * `labSkipReason` says why a lab cannot be made, for `describe.skipIf`.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync } from "node:fs";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface Host {
  ns: string;
  iface: string;
  ip4: string;
  ip6: string;
  mac: string;
  /** Run a command inside this host's namespace and wait for it (timeout in ms, default 30 s). */
  run(argv: string[], opts?: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** Start a command inside this host's namespace; the lab kills it on teardown. */
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
}

export interface Lab {
  a: Host;
  b: Host;
  /** Remove both namespaces and everything still running in them (idempotent). */
  down(): void;
}

export interface LabOptions {
  /** keep IPv6 on (addresses fd77::1/2 plus link-local). Default false: no ND/MLD chatter. */
  ipv6?: boolean;
  /** "off" (default): tx/rx checksum offload off on both ends, so captures carry real checksums. */
  offload?: "off" | "keep";
}

function which(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why no lab can be made here, or null when it can. */
export const labSkipReason: string | null =
  process.platform !== "linux"
    ? "network namespaces need Linux"
    : process.getuid?.() !== 0
      ? "needs root to create network namespaces (CI runs as root)"
      : !which("ip")
        ? "needs iproute2 (ip): run ./setup"
        : null;

let counter = 0;
const live = new Set<Lab>();
let hooked = false;

function sh(argv: string[], allowFail = false): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    if (allowFail) return "";
    const e = err as { stderr?: string; message: string };
    throw new Error(`lab: ${argv.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function makeHost(ns: string, iface: string, ip4: string, ip6: string, mac: string, children: Set<ChildProcess>): Host {
  return {
    ns,
    iface,
    ip4,
    ip6,
    mac,
    spawn(argv, opts = {}) {
      const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"], ...opts });
      children.add(child);
      child.on("exit", () => children.delete(child));
      return child;
    },
    run(argv, opts = {}) {
      return new Promise((resolve) => {
        const child = spawn("ip", ["netns", "exec", ns, ...argv], {
          stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
          env: opts.env ?? process.env,
        });
        children.add(child);
        let stdout = "";
        let stderr = "";
        child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        if (opts.input !== undefined) child.stdin!.end(opts.input);
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
        child.on("close", (code) => {
          clearTimeout(timer);
          children.delete(child);
          resolve({ stdout, stderr, code });
        });
      });
    },
  };
}

/** Create a fresh lab. Call `lab.down()` in afterAll. */
export function makeLab(opts: LabOptions = {}): Lab {
  if (labSkipReason) throw new Error(`lab: ${labSkipReason}`);
  // Interface names are limited to 15 bytes: "stk" + pid (≤7) + counter + "a0".
  const prefix = `stk${process.pid}${String.fromCharCode(97 + (counter++ % 26))}`;
  const nsA = `${prefix}a`;
  const nsB = `${prefix}b`;
  const ifA = `${prefix}a0`;
  const ifB = `${prefix}b0`;
  const children = new Set<ChildProcess>();
  const a = makeHost(nsA, ifA, "10.77.0.1", "fd77::1", "02:77:00:00:00:01", children);
  const b = makeHost(nsB, ifB, "10.77.0.2", "fd77::2", "02:77:00:00:00:02", children);
  let isDown = false;
  const lab: Lab = {
    a,
    b,
    down() {
      if (isDown) return;
      isDown = true;
      live.delete(lab);
      for (const c of children) c.kill("SIGKILL");
      for (const ns of [nsA, nsB]) {
        const pids = sh(["ip", "netns", "pids", ns], true).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {
            // already gone
          }
        }
        sh(["ip", "netns", "del", ns], true);
      }
    },
  };
  live.add(lab);
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const l of [...live]) l.down();
    });
  }
  try {
    sh(["ip", "netns", "add", nsA]);
    sh(["ip", "netns", "add", nsB]);
    sh(["ip", "-n", nsA, "link", "add", ifA, "address", a.mac, "type", "veth", "peer", "name", ifB, "netns", nsB, "address", b.mac]);
    for (const h of [a, b]) {
      if (!opts.ipv6) {
        sh(["ip", "netns", "exec", h.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], true);
        sh(["ip", "netns", "exec", h.ns, "sysctl", "-qw", `net.ipv6.conf.${h.iface}.disable_ipv6=1`], true);
      }
      sh(["ip", "-n", h.ns, "addr", "add", `${h.ip4}/24`, "dev", h.iface]);
      if (opts.ipv6) sh(["ip", "-n", h.ns, "addr", "add", `${h.ip6}/64`, "dev", h.iface, "nodad"]);
      sh(["ip", "-n", h.ns, "link", "set", "lo", "up"]);
      if ((opts.offload ?? "off") === "off") {
        sh(["ip", "netns", "exec", h.ns, "ethtool", "-K", h.iface, "tx", "off", "rx", "off"], !existsSync("/usr/sbin/ethtool") && !which("ethtool"));
      }
      sh(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
    }
    // Wait for carrier on both ends: a capture opened earlier fails ("That device is not up").
    for (let i = 0; i < 100; i++) {
      const up = [a, b].every((h) => /state UP/.test(sh(["ip", "-n", h.ns, "link", "show", h.iface], true)));
      if (up) break;
      execFileSync("sleep", ["0.05"]);
    }
  } catch (err) {
    lab.down();
    throw err;
  }
  return lab;
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Run `body` while tcpdump writes `host`'s interface to `file` (whole frames,
 * each written as it comes): tcpdump is listening before `body` starts, and
 * has written everything when this resolves.
 */
export async function tcpdumpWhile(host: Host, file: string, body: () => Promise<void>): Promise<void> {
  const td = host.spawn(["tcpdump", "-i", host.iface, "-n", "--immediate-mode", "-U", "-s", "0", "-Z", "root", "-w", file]);
  let err = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    td.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    await body();
    await sleep(300);
  } finally {
    const exited = new Promise((r) => td.once("exit", r));
    td.kill("SIGINT");
    await exited;
  }
}

/** Whether a command is on PATH (for tests that need tshark, tcpdump, dnsmasq, ...). */
export function hasCommand(cmd: string): boolean {
  return which(cmd);
}

/**
 * Resolve once a TCP socket listens on `port` in namespace `ns` (as `ss -ltn`
 * shows it), so a test connects after a server it spawned is ready rather
 * than after a guessed sleep, which a busy machine outlasts. Rejects after
 * `timeoutMs`.
 */
export async function waitListening(ns: string, port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let out = "";
    try {
      out = execFileSync("ip", ["netns", "exec", ns, "ss", "-Hltn", `sport = :${port}`], { encoding: "utf8" });
    } catch {
      // the namespace is still being made, or ss failed once: try again
    }
    if (out.trim() !== "") return;
    if (Date.now() > until) throw new Error(`lab: nothing listens on TCP port ${port} in ${ns} after ${timeoutMs} ms`);
    await sleep(20);
  }
}
