/**
 * The addon and its library surface: loading, devices (checked against
 * iproute2), every documented error (bad interface, interface down, no
 * permission, bad filter, missing namespace, closed handle), closing twice,
 * and processes that exit with a capture open.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listDevices } from "../src/devices.ts";
import { CaptureError, PERMISSION_HINT } from "../src/errors.ts";
import { openInjector, openLive } from "../src/live.ts";
import { libpcapVersion } from "../src/native.ts";
import { hasCommand, labSkipReason, makeLab, type Lab } from "./helpers/lab.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const isRoot = process.getuid?.() === 0;
const rootSkip = isRoot ? null : "needs root to capture (CI runs as root)";

/** The thrown value of `fn`, which must throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

function captureError(fn: () => unknown): CaptureError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(CaptureError);
  const e = err as CaptureError;
  expect(e.message).not.toContain("\n");
  return e;
}

/**
 * Child processes need JavaScript: compile the library (only our modules and
 * what they import) into build/test-dist, where src/native.ts still finds the
 * addon by walking up to build/Release.
 */
let compiled: string | null = null;
function compileLibrary(): string {
  if (compiled !== null) return compiled;
  const out = join(ROOT, "build", "test-dist");
  execFileSync(
    process.execPath,
    [
      join(ROOT, "node_modules", "typescript", "bin", "tsc"),
      "--outDir", out, "--rootDir", ROOT, "--module", "nodenext", "--moduleResolution", "nodenext",
      "--target", "es2022", "--strict", "--skipLibCheck", "--types", "node",
      "--allowImportingTsExtensions", "--rewriteRelativeImportExtensions",
      join(ROOT, "src", "live.ts"), join(ROOT, "src", "devices.ts"),
    ],
    { cwd: ROOT, stdio: "pipe" },
  );
  compiled = join(out, "src", "live.js");
  if (!existsSync(compiled)) throw new Error("compiling the library for child processes failed");
  return compiled;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run an ES module script in a child node (optionally prefixed, e.g. by setpriv); kill it after `timeoutMs`. */
function runChild(script: string, prefix: string[] = [], timeoutMs = 15_000): Promise<ChildResult> {
  return new Promise((resolve) => {
    const argv = [...prefix, process.execPath, "--expose-gc", "--input-type=module", "-e", script];
    const t0 = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe("addon", () => {
  it("loads and reports libpcap's version", () => {
    // The oracle: the version of the libpcap-dev package we link against.
    const pkg = execFileSync("dpkg-query", ["-W", "-f=${Version}", "libpcap-dev"], { encoding: "utf8" });
    const upstream = pkg.replace(/^\d+:/, "").split("-")[0]!;
    expect(libpcapVersion()).toContain(`libpcap version ${upstream}`);
  });

  it("rejects wrong argument types with TypeError/RangeError, not CaptureError", () => {
    expect(() => openLive("")).toThrow(TypeError);
    expect(() => openLive("lo", { snaplen: 0 })).toThrow(RangeError);
    expect(() => openLive("lo", { snaplen: 1.5 })).toThrow(RangeError);
  });
});

describe.skipIf(rootSkip !== null)(`errors and lifecycle${rootSkip ? ` (skipped: ${rootSkip})` : ""}`, () => {
  it("unknown interface: ENODEV, libpcap's text, points to 'stackts devices'", () => {
    const e = captureError(() => openLive("stnosuch0"));
    expect(e.code).toBe("ENODEV");
    expect(e.device).toBe("stnosuch0");
    expect(e.message).toMatch(/^Cannot capture on "stnosuch0": no such interface \(.*No such device.*\); run 'stackts devices'/);
    const i = captureError(() => openInjector("stnosuch0"));
    expect(i.code).toBe("ENODEV");
    expect(i.message).toContain("stackts devices");
  });

  it("bad filter: EFILTER quoting the expression and libpcap's text", () => {
    const e = captureError(() => openLive("lo", { filter: "tcp port" }));
    expect(e.code).toBe("EFILTER");
    expect(e.message).toMatch(/^Bad filter "tcp port": .*syntax error/);
    expect(e.detail).toMatch(/syntax error/);
    const cap = openLive("lo");
    try {
      const e2 = captureError(() => cap.setFilter("udp port 99999"));
      expect(e2.code).toBe("EFILTER");
      expect(e2.message).toContain('"udp port 99999"');
      expect(e2.detail).toMatch(/port.*99999|99999/);
    } finally {
      cap.close();
    }
  });

  it("missing namespace: ENONETNS naming /run/netns and 'ip netns list'", () => {
    const e = captureError(() => openLive("lo", { netns: "stackts-no-such-ns" }));
    expect(e.code).toBe("ENONETNS");
    expect(e.message).toContain("/run/netns/stackts-no-such-ns");
    expect(e.message).toContain("ip netns list");
    expect(captureError(() => listDevices({ netns: "stackts-no-such-ns" })).code).toBe("ENONETNS");
  });

  it("close is idempotent; a closed capture says ECLOSED and keeps its last counters", async () => {
    const cap = openLive("lo", { filter: "icmp" });
    let seen = 0;
    cap.onBatch((b) => (seen += b.count));
    execFileSync("ping", ["-c", "2", "-i", "0.2", "-W", "1", "127.0.0.1"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 200));
    const before = cap.stats();
    cap.close();
    cap.close();
    expect(cap.closed).toBe(true);
    // On loopback the kernel counts each packet twice (libpcap drops the outgoing copy).
    expect(seen).toBe(4);
    expect(before.delivered).toBe(4);
    expect(cap.stats()).toEqual(before);
    expect(captureError(() => cap.inject(new Uint8Array(60))).code).toBe("ECLOSED");
    expect(captureError(() => cap.setFilter("udp")).code).toBe("ECLOSED");
    // An iterator over a closed capture ends at once.
    const it = cap[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it("no permission: EPERM with the setcap/root/container advice (run as nobody)", async () => {
    expect(hasCommand("setpriv")).toBe(true);
    const lib = compileLibrary();
    const script = `
      import { openLive, openInjector } from ${JSON.stringify(lib)};
      const out = [];
      for (const f of [() => openLive("lo"), () => openInjector("lo")]) {
        try { f(); out.push({ code: "none" }); } catch (e) { out.push({ code: e.code, name: e.name, message: e.message }); }
      }
      console.log(JSON.stringify(out));`;
    const r = await runChild(script, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
    expect(r.stderr).toBe("");
    const [live, inj] = JSON.parse(r.stdout) as { code: string; name: string; message: string }[];
    expect(live!.name).toBe("CaptureError");
    expect(live!.code).toBe("EPERM");
    expect(live!.message).toMatch(/^Cannot capture on "lo": no permission \(.*Operation not permitted.*\); /);
    expect(live!.message).toContain(PERMISSION_HINT);
    for (const advice of ["run as root", "cap_net_raw,cap_net_admin", "setcap", "--cap-add NET_RAW"]) {
      expect(PERMISSION_HINT).toContain(advice);
    }
    expect(inj!.code).toBe("EPERM");
    expect(inj!.message).toContain("setcap");
  });

  it("a process exits with captures open: unsubscribed, unref'd, or by process.exit from a batch", async () => {
    const lib = compileLibrary();
    // Open but never read: nothing keeps the loop alive.
    const idle = await runChild(`import { openLive } from ${JSON.stringify(lib)};
      const c = openLive("lo"); console.log("open", c.closed);`);
    expect(idle.signal).toBeNull();
    expect(idle.code).toBe(0);
    expect(idle.stdout.trim()).toBe("open false");
    // Reading, but unref'd: like a socket, it does not hold the process.
    const unref = await runChild(`import { openLive } from ${JSON.stringify(lib)};
      const c = openLive("lo"); c.onBatch(() => {}); c.unref(); console.log("reading");`);
    expect(unref.signal).toBeNull();
    expect(unref.code).toBe(0);
    expect(unref.stdout.trim()).toBe("reading");
    // Reading and referenced: exits from inside a batch callback, promptly.
    const exit = await runChild(`import { openLive } from ${JSON.stringify(lib)};
      import { execFile } from "node:child_process";
      const c = openLive("lo", { filter: "icmp" });
      c.onBatch((b) => { console.log("batch", b.count > 0); process.exit(7); });
      execFile("ping", ["-c", "3", "-i", "0.2", "127.0.0.1"]);`);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(7);
    expect(exit.stdout.trim()).toBe("batch true");
  });

  it("a capture dropped without close is closed by the garbage collector", async () => {
    const lib = compileLibrary();
    // Count this process's packet sockets (/proc/net/packet lists them by inode).
    const script = `import { openLive } from ${JSON.stringify(lib)};
      import { readFileSync, readdirSync, readlinkSync } from "node:fs";
      const packetInodes = () => new Set(readFileSync("/proc/net/packet", "utf8").trim().split("\\n").slice(1).map((l) => l.trim().split(/\\s+/).pop()));
      const mine = () => { const p = packetInodes(); let n = 0;
        for (const fd of readdirSync("/proc/self/fd")) { try { const m = /^socket:\\[(\\d+)\\]$/.exec(readlinkSync("/proc/self/fd/" + fd)); if (m && p.has(m[1])) n++; } catch {} }
        return n; };
      const base = mine();
      (() => { for (let i = 0; i < 20; i++) openLive("lo", { snaplen: 128 }); })();
      const opened = mine();
      for (let i = 0; i < 10 && mine() > base; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
      console.log(JSON.stringify({ base, opened, after: mine() }));`;
    const r = await runChild(script);
    expect(r.stderr).toBe("");
    const { base, opened, after } = JSON.parse(r.stdout) as { base: number; opened: number; after: number };
    expect(opened - base).toBe(20);
    expect(after).toBe(base);
  });
});

describe.skipIf(labSkipReason !== null)(`devices and errors in a lab${labSkipReason ? ` (skipped: ${labSkipReason})` : ""}`, () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab({ ipv6: true });
  });
  afterAll(() => lab?.down());

  it("listDevices in a namespace agrees with iproute2 (names, MAC, MTU, addresses, flags)", () => {
    const ns = lab.a.ns;
    execFileSync("ip", ["-n", ns, "link", "set", lab.a.iface, "mtu", "1400"]);
    const links = JSON.parse(execFileSync("ip", ["-n", ns, "-j", "addr", "show"], { encoding: "utf8" })) as {
      ifname: string;
      address?: string;
      mtu: number;
      flags: string[];
      addr_info: { family: string; local: string; prefixlen: number; broadcast?: string }[];
    }[];
    const devices = listDevices({ netns: ns });
    for (const link of links) {
      const d = devices.find((x) => x.name === link.ifname);
      expect(d, link.ifname).toBeDefined();
      expect(d!.mtu).toBe(link.mtu);
      expect(d!.mac).toBe(link.address ?? null);
      expect(d!.flags.up).toBe(link.flags.includes("UP"));
      expect(d!.flags.loopback).toBe(link.flags.includes("LOOPBACK"));
      const v4 = link.addr_info.filter((a) => a.family === "inet");
      const ours4 = d!.addresses.filter((a) => a.family === "ipv4");
      expect(ours4.map((a) => a.address).sort()).toEqual(v4.map((a) => a.local).sort());
      for (const a of v4) {
        const o = ours4.find((x) => x.address === a.local)!;
        // prefix length from the netmask, counted bit by bit
        const bits = o.netmask!.split(".").reduce((n, oct) => n + Number(oct).toString(2).replace(/0/g, "").length, 0);
        expect(bits).toBe(a.prefixlen);
        if (a.broadcast !== undefined) expect(o.broadcast).toBe(a.broadcast);
      }
      const v6 = link.addr_info.filter((a) => a.family === "inet6").map((a) => a.local);
      const ours6 = d!.addresses.filter((a) => a.family === "ipv6").map((a) => a.address);
      expect(ours6.sort()).toEqual(v6.sort());
    }
    const a0 = devices.find((x) => x.name === lab.a.iface)!;
    expect(a0.mac).toBe(lab.a.mac);
    expect(a0.mtu).toBe(1400);
    expect(a0.addresses.some((x) => x.address === lab.a.ip4 && x.netmask === "255.255.255.0")).toBe(true);
    // The root namespace does not have the lab's interface.
    expect(listDevices().some((x) => x.name === lab.a.iface)).toBe(false);
  });

  it("interface down: ENETDOWN with libpcap's text and the command to bring it up", () => {
    const ns = lab.b.ns;
    execFileSync("ip", ["-n", ns, "link", "set", lab.b.iface, "down"]);
    try {
      const e = captureError(() => openLive(lab.b.iface, { netns: ns }));
      expect(e.code).toBe("ENETDOWN");
      expect(e.message).toMatch(new RegExp(`^Cannot capture on "${lab.b.iface}" in network namespace "${ns}": the interface is down \\(.*not up.*\\); bring it up first, e.g. 'ip link set ${lab.b.iface} up'$`));
      const inj = openInjector(lab.b.iface, { netns: ns });
      try {
        const s = captureError(() => inj.inject(new Uint8Array(60)));
        expect(s.code).toBe("ENETDOWN");
      } finally {
        inj.close();
        inj.close();
      }
    } finally {
      execFileSync("ip", ["-n", ns, "link", "set", lab.b.iface, "up"]);
    }
  });
});
