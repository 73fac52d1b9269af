// TFTP: 50 MB from tftpd-hpa, `stackts tftp get` (our own stack) beside
// kernel-socket clients on the same veth, from one run. Prints; asserts
// nothing. Needs root (network namespaces), in.tftpd, tftp (tftp-hpa) and
// busybox.
//
//   node bench/tftp.js [--mb N] [--runs N]
//
// Two namespaces joined by one veth pair, offloads off on both ends: A runs
// tftpd-hpa (10.77.0.1); B is the client side: its kernel (10.77.0.2) for
// tftp-hpa's and busybox's clients, and our stack on B's end of the veth
// with an address and MAC of its own. tftp-hpa's client has no RFC 2347
// options (512-byte blocks only), so at blksize 1468 and 65464 the kernel
// side is busybox's client (`busybox tftp -b N`). Runs alternate (ours,
// theirs, ours, ...); the median of each is printed, and the best run (a
// shared machine's other work only ever slows a run down).
//
// Our figure is the transfer's own time (`-v`: from the request to the last
// ACK); the command's whole time adds Node's start, the host coming up and
// the dally after the last ACK (RFC 1350 §6, one timeout). The kernel
// client's figure is its whole run (its start is a millisecond).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "stackts.js");

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const MB = Number(arg("--mb", 50));
const RUNS = Number(arg("--runs", 5));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sh = (argv) => execFileSync(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

/** Run argv to the end; resolves with wall seconds and stderr (rejects on a non-zero exit). */
function timed(argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("exit", (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code === 0) resolve({ s, err });
      else reject(new Error(`${argv.join(" ")}: exit ${code}: ${err.trim().split("\n").pop()}`));
    });
  });
}

export async function runTftpBench() {
  if (process.getuid?.() !== 0) return console.log("tftp: skipped (needs root for network namespaces)");
  const missing = ["in.tftpd", "tftp", "busybox", "ip"].find((c) => !has(c));
  if (missing !== undefined) return console.log(`tftp: skipped (needs ${missing}; ./setup installs it)`);
  const p = `stb${process.pid % 100000}`;
  const [nsA, nsB, ifA, ifB] = [`${p}a`, `${p}b`, `${p}a0`, `${p}b0`];
  const dir = mkdtempSync(join(tmpdir(), "stackts-bench-tftp-"));
  let server = null;
  try {
    sh(["ip", "netns", "add", nsA]);
    sh(["ip", "netns", "add", nsB]);
    sh(["ip", "-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
    sh(["ip", "-n", nsA, "addr", "add", "10.77.0.1/24", "dev", ifA]);
    sh(["ip", "-n", nsB, "addr", "add", "10.77.0.2/24", "dev", ifB]);
    for (const [ns, i] of [[nsA, ifA], [nsB, ifB]]) {
      sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
      sh(["ip", "netns", "exec", ns, "ethtool", "-K", i, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off"]);
      sh(["ip", "-n", ns, "link", "set", i, "up"]);
      sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    const file = join(dir, "big.bin");
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
    writeFileSync(file, Buffer.concat(Array.from({ length: MB }, () => chunk)));
    server = spawn("ip", ["netns", "exec", nsA, "in.tftpd", "-L", "-s", dir, "-a", "10.77.0.1:69", "-u", "root"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 500));
    const bytes = statSync(file).size;
    const out = join(dir, "got.bin");
    const ours = (bs) => [process.execPath, BIN, "tftp", "--netns", nsB, "--iface", ifB, "--ip", "10.77.0.3/24", "get", "10.77.0.1", "big.bin", "-o", out, "-v", "--blksize", String(bs)];
    const kernel = (bs) =>
      bs === 512
        ? ["ip", "netns", "exec", nsB, "tftp", "-m", "binary", "10.77.0.1", "-c", "get", "big.bin", out]
        : ["ip", "netns", "exec", nsB, "busybox", "tftp", "-g", "-r", "big.bin", "-l", out, "-b", String(bs), "10.77.0.1"];
    console.log(`${MB} MB from tftpd-hpa over a veth pair, ${RUNS} runs each, median (best) in MB/s (10^6 bytes/s)`);
    console.log(`${"blksize".padEnd(8)} ${"stackts tftp get".padStart(18)} ${"(whole command)".padStart(18)} ${"kernel client".padStart(18)}  ratio  kernel client`);
    for (const bs of [512, 1468, 65464]) {
      const mine = [];
      const whole = [];
      const theirs = [];
      for (let r = 0; r < RUNS; r++) {
        const a = await timed(ours(bs));
        const m = /in ([\d.]+) s/.exec(a.err);
        mine.push(bytes / Number(m[1]) / 1e6);
        whole.push(bytes / a.s / 1e6);
        const b = await timed(kernel(bs));
        if (statSync(out).size !== bytes) throw new Error(`the kernel client got ${statSync(out).size} bytes`);
        theirs.push(bytes / b.s / 1e6);
      }
      const [x, w, y] = [median(mine), median(whole), median(theirs)];
      const cell = (m, xs) => `${m.toFixed(1)} (${Math.max(...xs).toFixed(1)})`.padStart(18);
      console.log(`${String(bs).padEnd(8)} ${cell(x, mine)} ${cell(w, whole)} ${cell(y, theirs)}  ${(x / y).toFixed(2).padStart(5)}  ${bs === 512 ? "tftp-hpa" : "busybox tftp"}`);
    }
    console.log("One block per round trip (tftpd-hpa has no windowsize): the rate is blksize / RTT. Ours pays, per block, the");
    console.log("capture's wake-up, the stack and engine in JavaScript and one sendmmsg; the kernel client one recvfrom and one sendto.");
  } finally {
    server?.kill("SIGKILL");
    for (const ns of [nsA, nsB]) {
      try {
        for (const pid of sh(["ip", "netns", "pids", ns]).split(/\s+/).filter(Boolean)) process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
      spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runTftpBench();
