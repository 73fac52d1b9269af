/**
 * The project's Dockerfile, built unchanged with podman and run for real inside
 * a lab namespace (`--network ns:/run/netns/<lab a>`):
 *
 * - least privilege (`--cap-add NET_RAW --cap-add NET_ADMIN`) and `--privileged`:
 *   `capture` sees pings sent from the other namespace;
 * - `send udp` from inside the container reaches a listener in the other namespace;
 * - without NET_RAW (`--cap-drop NET_RAW`): capture fails in one line, and
 *   `doctor` says which flag to add;
 * - the final image carries the runtime only (no compilers, no dev dependencies)
 *   and adds little to the base image.
 *
 * No registry is reachable: test/helpers/image.ts makes a local stand-in for
 * node:22-bookworm-slim first (cached under /var/cache/stackts-test/). Slow on
 * a cold machine (about 2 minutes here); the timings are printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildProjectImage,
  ensureNodeBaseImage,
  imageSkipReason,
  podman,
  podmanEnv,
  removeImage,
  type ProjectImage,
} from "./helpers/image.ts";
import { labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TAG = `localhost/stackts-test:${process.pid}`;
const skip = labSkipReason ?? imageSkipReason;
const MB = 1_000_000;

interface Container {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const started = new Set<string>();
let serial = 0;

/** Start `podman run --rm --name ... <flags> IMAGE <args>`; output collected. */
function startContainer(flags: string[], args: string[]): Container {
  const name = `stackts-test-${process.pid}-${serial++}`;
  started.add(name);
  const child = spawn("podman", ["run", "--rm", "--name", name, ...flags, TAG, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: podmanEnv(),
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitFor(what: () => boolean, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(100);
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${label}`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(skip !== null)(`Docker image (podman)${skip ? ` (skipped: ${skip})` : ""}`, { timeout: 120_000 }, () => {
  let lab: Lab;
  let image: ProjectImage;
  let netns: string;

  beforeAll(async () => {
    const t0 = Date.now();
    const base = await ensureNodeBaseImage();
    image = await buildProjectImage(ROOT, TAG);
    console.log(
      `[docker.test] base image ${base.state} (${JSON.stringify(base.steps)}; node ${base.nodeVersion}, npm ${base.npmVersion}); ` +
        `project image built in ${image.seconds.toFixed(1)} s: ${(image.sizeBytes / MB).toFixed(1)} MB ` +
        `(base ${(image.baseSizeBytes / MB).toFixed(1)} MB, stackts adds ${((image.sizeBytes - image.baseSizeBytes) / MB).toFixed(1)} MB); ` +
        `setup ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    lab = makeLab();
    netns = `ns:/run/netns/${lab.a.ns}`;
  }, 3_600_000);

  afterAll(async () => {
    for (const name of started) await podman(["rm", "-f", "--ignore", name]);
    lab?.down();
    if (image) await removeImage(TAG);
  }, 120_000);

  it("the final image holds the runtime only and adds little to node:22-bookworm-slim", async () => {
    const r = await podman([
      "run", "--rm", "--network", "none", "--entrypoint", "sh", TAG, "-c",
      "for t in g++ gcc make python3 tsc; do command -v $t; done; ls /opt/stackts /opt/stackts/node_modules; ls /usr/lib/x86_64-linux-gnu/ | grep -c '^libpcap.so.0.8$'",
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.some((l) => /\/(g\+\+|gcc|make|python3|tsc)$/.test(l))).toBe(false);
    expect(lines).not.toContain("typescript");
    expect(lines).not.toContain("vitest");
    expect(lines).toContain("dist");
    expect(lines.at(-1)).toBe("1");
    // multi-stage: the build stage's compilers and dev dependencies stay behind
    expect(image.sizeBytes - image.baseSizeBytes).toBeLessThan(30 * MB);
    const help = await podman(["run", "--rm", "--network", "none", TAG]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: stackts <command>/);
  });

  for (const [label, flags] of [
    ["--cap-add NET_RAW --cap-add NET_ADMIN", ["--cap-add", "NET_RAW", "--cap-add", "NET_ADMIN"]],
    ["--privileged", ["--privileged"]],
  ] as const) {
    it(`${label}: capture in the container sees pings from the other namespace`, async () => {
      const t0 = Date.now();
      const c = startContainer(["--network", netns, ...flags], ["capture", lab.a.iface, "-c", "4", "icmp"]);
      await waitFor(() => c.stderr().includes("listening on"), 60_000, `capture in the container (stderr: ${c.stderr()})`);
      const ping = await lab.b.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", lab.a.ip4]);
      expect(ping.stdout).toMatch(/2 received/);
      expect(await withTimeout(c.exit, 30_000, "capture to end")).toBe(0);
      const lines = c.stdout().split("\n").filter((l) => /ICMP echo/.test(l));
      expect(lines.filter((l) => l.includes(`${lab.b.ip4} > ${lab.a.ip4}: ICMP echo request`))).toHaveLength(2);
      expect(lines.filter((l) => l.includes(`${lab.a.ip4} > ${lab.b.ip4}: ICMP echo reply`))).toHaveLength(2);
      expect(c.stderr()).toMatch(/^4 packets captured$/m);
      console.log(`[docker.test] capture ${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });
  }

  it("send udp from inside the container reaches a listener in the other namespace", async () => {
    const port = 40000 + (process.pid % 20000);
    const listener = lab.b.spawn([
      process.execPath,
      "-e",
      `const s = require("node:dgram").createSocket("udp4");
       s.on("message", (m, r) => { process.stdout.write(r.address + " " + m.toString() + "\\n"); s.close(); });
       s.bind(${port}, "${lab.b.ip4}", () => process.stdout.write("bound\\n"));`,
    ]);
    let heard = "";
    listener.stdout!.setEncoding("utf8").on("data", (d: string) => (heard += d));
    const done = new Promise<number | null>((resolve) => listener.on("close", resolve));
    await waitFor(() => heard.includes("bound"), 10_000, "the UDP listener");
    const payload = `hello from the container ${process.pid}`;
    const c = startContainer(
      ["--network", netns, "--cap-add", "NET_RAW", "--cap-add", "NET_ADMIN"],
      ["send", "udp", "--iface", lab.a.iface, "--dst", lab.b.ip4, "--dport", String(port), "--data", payload],
    );
    expect(await withTimeout(c.exit, 60_000, "send to end"), c.stderr()).toBe(0);
    expect(await withTimeout(done, 10_000, "the datagram")).toBe(0);
    expect(heard).toContain(`${lab.a.ip4} ${payload}\n`);
  });

  // Whether an engine grants NET_RAW by default varies (Docker and podman's
  // built-in list do, Debian's containers.conf does not): drop it explicitly.
  it("without NET_RAW (--cap-drop NET_RAW) capture fails in one line and doctor names the flag", async () => {
    const c = startContainer(["--network", netns, "--cap-drop", "NET_RAW"], ["capture", lab.a.iface, "-c", "1"]);
    expect(await withTimeout(c.exit, 30_000, "capture to fail")).toBe(1);
    expect(c.stderr().trimEnd().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^stackts: ${lab.a.iface} : Cannot capture on "${lab.a.iface}": no permission .*--cap-add NET_RAW`)),
    ]);
    const d = startContainer(["--network", netns, "--cap-drop", "NET_RAW"], ["doctor"]);
    expect(await withTimeout(d.exit, 30_000, "doctor")).toBe(1);
    expect(d.stdout()).toMatch(/^FAIL\s+capabilities: uid 0 \(root\): NET_RAW no.*; fix: start the container with --cap-add NET_RAW/m);
    expect(d.stdout()).toMatch(/^ok\s+container: podman \(\/run\/\.containerenv\)$/m);
  });

  it("doctor in the container with NET_RAW passes and sees the lab interface", async () => {
    const d = startContainer(["--network", netns, "--cap-add", "NET_RAW", "--cap-add", "NET_ADMIN"], ["doctor"]);
    expect(await withTimeout(d.exit, 60_000, "doctor"), d.stdout()).toBe(0);
    expect(d.stdout()).toMatch(new RegExp(`^ok\\s+interfaces: up: ${lab.a.iface} `, "m"));
    expect(d.stdout()).toMatch(/^ok\s+capture: should work here$/m);
    // the image carries ethtool, so the offload line is there; the oracle is
    // ethtool -k run on the host side of the same namespace
    const host = await lab.a.run(["ethtool", "-k", lab.a.iface]);
    const tx = /^tx-checksumming: (on|off)/m.exec(host.stdout)?.[1];
    expect(tx).toBeDefined();
    expect(d.stdout()).toMatch(new RegExp(`^\\S+\\s+offload ${lab.a.iface}: tx-checksumming ${tx},`, "m"));
  });
});
