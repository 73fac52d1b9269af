/**
 * Capturing without root, for real, inside a lab namespace:
 *
 * - as uid 65534 the plain node fails with the documented one-line EPERM error;
 * - `stackts setcap` makes a capable node copy and a wrapper; as uid 65534 the
 *   wrapper captures pings from the other namespace (getpcaps is the oracle
 *   for the process's capabilities), and `doctor` through it passes;
 * - a capable node ignores NODE_OPTIONS, which is why the wrapper exists;
 * - as root with `-Z nobody`, capture goes on after the process has become
 *   nobody with no capabilities (read from /proc while it runs).
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliForOthers } from "./helpers/image.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BUILT = existsSync(join(ROOT, "dist", "src", "cli", "setcap.js"));
const AS_NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"];

const skip =
  labSkipReason ??
  (!hasCommand("setpriv")
    ? "needs setpriv (util-linux)"
    : !existsSync("/usr/sbin/setcap") && !hasCommand("setcap")
      ? "needs setcap (libcap2-bin): run ./setup"
      : !BUILT
        ? "needs 'npm run build:ts' first"
        : null);

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function collect(child: ChildProcess): Running {
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitFor(what: () => boolean, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(50);
  }
}

/** The ICMP lines of a capture's output. */
function icmpLines(text: string): string[] {
  return text.split("\n").filter((l) => /ICMP echo (request|reply)/.test(l));
}

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const i = l.indexOf(":");
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

describe.skipIf(skip !== null)(`running without root${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let lab: Lab;
  let dir: string;
  // the built CLI where uid 65534 can read it (a copy when the checkout is private)
  let CLI: string;
  let cleanupCli = (): void => {};
  let capNode: string;
  let wrapper: string;
  beforeAll(() => {
    ({ cli: CLI, cleanup: cleanupCli } = cliForOthers(ROOT));
    lab = makeLab();
    // setpriv's user must reach the files: a world-searchable temporary directory
    dir = mkdtempSync(join(tmpdir(), "stackts-setcap-"));
    chmodSync(dir, 0o755);
    capNode = join(dir, "lib", "node");
    wrapper = join(dir, "bin", "stackts-cap");
  });
  afterAll(() => {
    lab?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
    cleanupCli();
  });

  it("as uid 65534 the plain node fails with the one-line EPERM error", async () => {
    const r = await lab.a.run([...AS_NOBODY, "node", CLI, "capture", lab.a.iface, "-c", "1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^stackts: ${lab.a.iface} : Cannot capture on "${lab.a.iface}": no permission \\(.*Operation not permitted\\); run as root, .*setcap`),
    );
  });

  it("stackts setcap makes a capable copy (getpcaps/getcap agree) and a wrapper", async () => {
    const r = await lab.a.run(["node", CLI, "setcap", "--out", capNode, "--wrapper", wrapper]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`setcap cap_net_raw,cap_net_admin+eip ${capNode}`);
    expect(r.stdout).toMatch(/undo with: stackts setcap --undo/);
    const getcap = execFileSync(existsSync("/usr/sbin/getcap") ? "/usr/sbin/getcap" : "getcap", [capNode], { encoding: "utf8" });
    expect(getcap).toMatch(/cap_net_admin,cap_net_raw[=+]eip/);
    // the system's node was copied, not changed
    const plain = execFileSync(existsSync("/usr/sbin/getcap") ? "/usr/sbin/getcap" : "getcap", [process.execPath], { encoding: "utf8" });
    expect(plain.trim()).toBe("");
    expect(readFileSync(wrapper, "utf8")).toContain(`exec '${capNode}' '${CLI}' "$@"`);
  });

  it("as uid 65534 the wrapper captures pings from the other namespace", async () => {
    const run = collect(lab.a.spawn([...AS_NOBODY, wrapper, "capture", lab.a.iface, "-c", "4", "icmp"]));
    await waitFor(() => run.stderr().includes("listening on"), 15_000, `capture to start (stderr: ${run.stderr()})`);
    const pid = run.child.pid!;
    // setpriv and ip netns exec exec() in place: this pid is the capable node now
    const st = status(pid);
    expect(st["Uid"]).toBe("65534\t65534\t65534\t65534");
    const pcaps = execFileSync(existsSync("/usr/sbin/getpcaps") ? "/usr/sbin/getpcaps" : "getpcaps", [String(pid)], { encoding: "utf8" });
    expect(pcaps).toMatch(/cap_net_admin,cap_net_raw[=+]ep/);
    const ping = await lab.b.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", lab.a.ip4]);
    expect(ping.stdout).toMatch(/2 received/);
    expect(await run.exit).toBe(0);
    const lines = icmpLines(run.stdout());
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.includes(`${lab.b.ip4} > ${lab.a.ip4}: ICMP echo request`))).toHaveLength(2);
    expect(lines.filter((l) => l.includes(`${lab.a.ip4} > ${lab.b.ip4}: ICMP echo reply`))).toHaveLength(2);
  });

  it("as uid 65534 doctor through the wrapper passes, naming file capabilities", async () => {
    const r = await lab.a.run([...AS_NOBODY, wrapper, "doctor", lab.a.iface]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+capabilities: uid 65534 \(file capabilities\): NET_RAW yes, NET_ADMIN yes$/m);
    expect(r.stdout).toMatch(new RegExp(`^ok\\s+node: v[\\d.]+ at ${capNode.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} `, "m"));
  });

  it("a capable node ignores NODE_OPTIONS; the plain one does not", async () => {
    const env = { ...process.env, NODE_OPTIONS: "--require /nonexistent/stackts-preload.cjs" };
    const plain = await lab.a.run([...AS_NOBODY, process.execPath, "-e", "0"], { env });
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/Cannot find module/);
    const capable = await lab.a.run([...AS_NOBODY, capNode, "-e", "0"], { env });
    expect(capable.stderr).toBe("");
    expect(capable.code).toBe(0);
  });

  it("setcap --undo removes the copy and the wrapper", async () => {
    const r = await lab.a.run(["node", CLI, "setcap", "--undo", "--out", capNode, "--wrapper", wrapper]);
    expect(r.code).toBe(0);
    expect(existsSync(capNode)).toBe(false);
    expect(existsSync(wrapper)).toBe(false);
  });

  it("as root with -Z nobody: capture goes on as uid nobody with no capabilities", async () => {
    const run = collect(lab.a.spawn(["node", CLI, "capture", lab.a.iface, "-c", "4", "-Z", "nobody", "icmp"]));
    await waitFor(() => run.stderr().includes("listening on"), 15_000, `capture to start (stderr: ${run.stderr()})`);
    const st = status(run.child.pid!);
    const nobody = execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim();
    const nogroup = execFileSync("id", ["-g", "nobody"], { encoding: "utf8" }).trim();
    expect(st["Uid"]).toBe([nobody, nobody, nobody, nobody].join("\t"));
    expect(st["Gid"]).toBe([nogroup, nogroup, nogroup, nogroup].join("\t"));
    expect(st["CapEff"]).toBe("0000000000000000");
    expect(st["CapPrm"]).toBe("0000000000000000");
    const ping = await lab.b.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", lab.a.ip4]);
    expect(ping.stdout).toMatch(/2 received/);
    expect(await run.exit).toBe(0);
    expect(icmpLines(run.stdout())).toHaveLength(4);
  });

  it("-Z with an unknown user stops before capturing, in one line", async () => {
    const r = await lab.a.run(["node", CLI, "capture", lab.a.iface, "-c", "1", "-Z", "no-such-user-stackts"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^stackts: .* : Cannot drop privileges: no user "no-such-user-stackts"$/)]);
  });
});
