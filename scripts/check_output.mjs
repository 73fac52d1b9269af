#!/usr/bin/env node
// `npm run check:output -- --ref REF`: is what stackts prints byte-identical to
// what the build at git revision REF prints? For refactors that must not change
// output.
//
// Compared, stdout and stderr and exit code of each run:
//   - `stackts read` with no flag, -q, -S, -v, -x, --json and -x -q on every
//     file of ../shared/corpus/tcpdump (when present) and of test/fixtures;
//   - the same flags on the decode bench capture (.bench/decode-1000000.pcap,
//     built by `npm run bench` first; skipped with a note when absent, or with
//     --no-bench);
//   - `stackts send udp|raw ... --dry-run` (IPv4 and IPv6, -v, -x) inside a
//     namespace pair the script makes and removes (root only; else a note).
//
// REF is exported with `git archive` into a cache folder (.check-output/<sha>)
// that shares this checkout's node_modules and native build, and compiled
// there with tsc. Outputs are hashed as they stream; only a mismatch writes
// both sides to .check-output/diff/ and shows the first differing line.
//
//   node scripts/check_output.mjs --ref main~3 [--no-bench] [--no-send] [--only-corpus]
//
// Exit code 0 when everything matched, 1 on any difference, 2 on bad usage.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync, createWriteStream } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = join(ROOT, ".check-output");
const CORPUS = resolve(ROOT, "..", "shared", "corpus", "tcpdump");
const BENCH_FILE = join(ROOT, ".bench", "decode-1000000.pcap");
const FLAG_SETS = [[], ["-q"], ["-S"], ["-v"], ["-x"], ["--json"], ["-x", "-q"]];

function arg(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const has = (name) => process.argv.includes(name);

const ref = arg("--ref");
if (ref === undefined) {
  console.error("check_output: usage: node scripts/check_output.mjs --ref REF [--no-bench] [--no-send]");
  process.exit(2);
}

function git(...args) {
  return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
}

/** The compiled tree of REF, made once per commit. */
function refTree(rev) {
  const sha = git("rev-parse", "--verify", `${rev}^{commit}`);
  const dir = join(CACHE, sha);
  if (existsSync(join(dir, "dist", "src", "cli", "main.js"))) return { sha, dir };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("sh", ["-c", `git archive ${sha} | tar -x -C "${dir}"`], { cwd: ROOT, stdio: "inherit" });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  symlinkSync(join(ROOT, "build"), join(dir, "build"));
  execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: dir, stdio: "inherit" });
  return { sha, dir };
}

// The child: runs `stackts read FLAGS FILE` for every file in-process (one Node
// start per flag set, not per file), a separator line with the exit code on
// both streams after each.
const CHILD = `
import { writeSync } from "node:fs";
// The pipes this script reads are non-blocking: a full one answers EAGAIN
// (seen on a busy host), so wait a little and write again.
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function writeAll(fd, text) {
  const data = Buffer.from(text);
  for (let off = 0; off < data.length; ) {
    try {
      off += writeSync(fd, data, off);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}
const [mainPath, flagsJson, filesJson] = process.argv.slice(2);
const { main } = await import(mainPath);
const flags = JSON.parse(flagsJson);
for (const file of JSON.parse(filesJson)) {
  const code = await main(["read", ...flags, file]);
  const sep = "=== " + file.split("/").pop() + " exit " + code + "\\n";
  writeAll(1, sep);
  writeAll(2, sep);
}
process.exitCode = 0;
`;

/**
 * Run a command, hash its stdout and stderr as they stream; optionally keep
 * them. With `untimed`, the output is held whole and each line's leading time
 * of day is masked first (for commands that print the time they ran).
 */
function runHashed(argv, cwd, keep, untimed = false) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TZ: "UTC" } });
    const out = createHash("sha256");
    const err = createHash("sha256");
    const files = keep === undefined ? null : [createWriteStream(keep + ".stdout"), createWriteStream(keep + ".stderr")];
    const held = [];
    child.stdout.on("data", (d) => {
      if (untimed) held.push(d);
      else out.update(d);
      files?.[0].write(d);
    });
    child.stderr.on("data", (d) => {
      err.update(d);
      files?.[1].write(d);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      files?.forEach((f) => f.end());
      if (untimed) out.update(Buffer.concat(held).toString("utf8").replace(/^\d\d:\d\d:\d\d\.\d+ /gm, "HH:MM:SS "));
      resolvePromise({ code, out: out.digest("hex"), err: err.digest("hex") });
    });
  });
}

/** Run jobs with at most `n` at a time. */
async function pool(jobs, n) {
  const results = new Array(jobs.length);
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return results;
}

function firstDifference(a, b) {
  const r = spawnSync("sh", ["-c", `cmp "${a}" "${b}" | head -1; diff "${a}" "${b}" | head -8`], { encoding: "utf8" });
  return (r.stdout + r.stderr).trim();
}

let failures = 0;

async function compareRead(label, files, refDir) {
  const childFile = join(CACHE, "child.mjs");
  writeFileSync(childFile, CHILD);
  const sides = [
    { name: "ref", main: join(refDir, "dist", "src", "cli", "main.js") },
    { name: "now", main: join(ROOT, "dist", "src", "cli", "main.js") },
  ];
  const jobs = [];
  for (const flags of FLAG_SETS) {
    for (const side of sides) {
      jobs.push(() => runHashed([process.execPath, childFile, side.main, JSON.stringify(flags), JSON.stringify(files)], ROOT));
    }
  }
  const t0 = Date.now();
  const results = await pool(jobs, Math.max(2, cpus().length));
  for (let k = 0; k < FLAG_SETS.length; k++) {
    const flags = FLAG_SETS[k];
    const a = results[2 * k];
    const b = results[2 * k + 1];
    const name = `read ${flags.join(" ") || "(no flag)"} on ${label}`;
    if (a.out === b.out && a.err === b.err && a.code === b.code) {
      console.log(`same       ${name}`);
      continue;
    }
    failures++;
    console.log(`DIFFERENT  ${name}`);
    const dir = join(CACHE, "diff", label.replace(/\W+/g, "_") + "_" + (flags.join("_").replace(/\W+/g, "") || "plain"));
    mkdirSync(dir, { recursive: true });
    await runHashed([process.execPath, childFile, sides[0].main, JSON.stringify(flags), JSON.stringify(files)], ROOT, join(dir, "ref"));
    await runHashed([process.execPath, childFile, sides[1].main, JSON.stringify(flags), JSON.stringify(files)], ROOT, join(dir, "now"));
    await new Promise((r) => setTimeout(r, 200)); // let the write streams finish
    for (const stream of ["stdout", "stderr"]) {
      const d = firstDifference(join(dir, "ref." + stream), join(dir, "now." + stream));
      if (d !== "") console.log(`  ${stream}: ${d.replace(/\n/g, "\n    ")}`);
    }
  }
  console.log(`  (${label}: ${files.length} files, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

function sh(cmd) {
  return spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
}

async function compareSend(refDir) {
  if (process.getuid?.() !== 0) {
    console.log("note       send --dry-run not compared: needs root for its namespace pair");
    return;
  }
  const ns = "chko-a";
  const peer = "chko-b";
  const down = () => sh(`ip netns del ${ns} 2>/dev/null; ip netns del ${peer} 2>/dev/null; true`);
  down();
  const setup = [
    `ip netns add ${ns}`,
    `ip netns add ${peer}`,
    `ip -n ${ns} link add chko-a0 address 02:99:00:00:00:01 type veth peer name chko-b0 netns ${peer} address 02:99:00:00:00:02`,
    `ip -n ${ns} addr add 10.99.0.1/24 dev chko-a0`,
    `ip -n ${peer} addr add 10.99.0.2/24 dev chko-b0`,
    `ip -n ${ns} addr add fd99::1/64 dev chko-a0 nodad`,
    `ip -n ${peer} addr add fd99::2/64 dev chko-b0 nodad`,
    `ip -n ${ns} link set chko-a0 up`,
    `ip -n ${peer} link set chko-b0 up`,
    `ip -n ${ns} link set lo up`,
    `ip -n ${peer} link set lo up`,
  ];
  for (const c of setup) {
    const r = sh(c);
    if (r.status !== 0) {
      console.log(`note       send --dry-run not compared: ${c}: ${r.stderr.trim()}`);
      down();
      return;
    }
  }
  const common = ["--netns", ns, "--iface", "chko-a0", "--dry-run"];
  const cases = [
    ["send", "udp", ...common, "--dst", "10.99.0.2", "--dport", "9999", "--sport", "40000", "--data", "hello"],
    ["send", "udp", ...common, "--dst", "10.99.0.2", "--dport", "53", "--sport", "40001", "--hex", "12 34 01 00 00 01 00 00 00 00 00 00 01 61 00 00 01 00 01", "-v", "-x"],
    ["send", "udp", ...common, "--dst", "fd99::2", "--dport", "9999", "--sport", "40002", "--data", "hi6", "-v"],
    ["send", "udp", ...common, "--dst", "10.99.0.2", "--dport", "9", "--sport", "40003", "--data", "x", "--ttl", "3", "--dst-mac", "02:99:00:00:00:02"],
    ["send", "udp", ...common, "--dst", "10.99.0.2", "--src", "10.99.0.7", "--dport", "9", "--sport", "40004", "--data", "y", "-x"],
    ["send", "raw", ...common, "02990000000202990000000108060001080006040001029900000001" + "0a630001000000000000" + "0a630002", "-v"],
    ["send", "udp", ...common, "--dst", "10.99.0.250", "--dport", "9", "--sport", "40005", "--data", "z"],
    ["send", "udp", ...common, "--dst", "not-an-address", "--dport", "9"],
  ];
  try {
    for (const argv of cases) {
      const a = await runHashed([process.execPath, join(refDir, "bin", "stackts.js"), ...argv], ROOT, undefined, true);
      const b = await runHashed([process.execPath, join(ROOT, "bin", "stackts.js"), ...argv], ROOT, undefined, true);
      const name = argv.filter((w) => !common.includes(w)).join(" ");
      if (a.out === b.out && a.err === b.err && a.code === b.code) {
        console.log(`same       ${name}`);
      } else {
        failures++;
        console.log(`DIFFERENT  ${name} (exit ${a.code} vs ${b.code})`);
      }
    }
  } finally {
    down();
  }
}

const { sha, dir } = refTree(ref);
console.log(`check_output: this checkout's build against ${ref} (${sha.slice(0, 10)})`);
const fixtures = readdirSync(join(ROOT, "test", "fixtures")).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(ROOT, "test", "fixtures", f));
await compareRead("fixtures", fixtures, dir);
if (existsSync(CORPUS)) {
  const corpus = readdirSync(CORPUS).sort().map((f) => join(CORPUS, f));
  await compareRead("corpus", corpus, dir);
} else {
  console.log(`note       corpus not compared: ${CORPUS} is absent`);
}
if (!has("--only-corpus") && !has("--no-bench")) {
  if (existsSync(BENCH_FILE)) await compareRead("bench capture", [BENCH_FILE], dir);
  else console.log(`note       bench capture not compared: ${BENCH_FILE} is absent (run 'npm run bench' once)`);
}
if (!has("--only-corpus") && !has("--no-send")) await compareSend(dir);
console.log(failures === 0 ? "check_output: every output is byte-identical" : `check_output: ${failures} difference(s)`);
process.exitCode = failures === 0 ? 0 : 1;
