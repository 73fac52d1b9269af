// Capture benchmark: blast frames across a veth pair and compare, in one run,
// how many each receiver takes and how many the kernel drops for it.
//
//   npm run build:ts && node bench/capture.js [--seconds N] [--only NAME,...]
//
// Needs root (network namespaces). A lab of two namespaces joined by a veth
// pair is made for the run and removed afterwards. The sender (our
// openInjector: sendmmsg with PACKET_QDISC_BYPASS) runs in namespace b at full
// speed; each receiver runs alone, in turn, as its own process in namespace a,
// is stopped with SIGINT after the blast, and reports tcpdump's three summary
// lines ("N packets captured / received by filter / dropped by kernel").
//
// A receiver is just a command line: adding one is one line in RECEIVERS
// ({iface} is replaced by the capture interface).
import { execFileSync, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const SELF = fileURLToPath(import.meta.url);
const NODE = process.execPath;

/** Receivers compared, in order. `argv` runs inside the capturing namespace. */
export const RECEIVERS = [
  { name: "stackts onBatch (immediate, default buffer)", argv: [NODE, SELF, "--receive", "ours", "{iface}"] },
  { name: "stackts onBatch (immediate, snaplen 2048)", argv: [NODE, SELF, "--receive", "ours-small", "{iface}"] },
  { name: "stackts onBatch (immediate off, 32 MiB)", argv: [NODE, SELF, "--receive", "ours-block", "{iface}"] },
  { name: "tcpdump -w /dev/null", argv: ["tcpdump", "-i", "{iface}", "-n", "-w", "/dev/null"] },
  { name: "tcpdump -n > /dev/null (printing)", argv: ["tcpdump", "-i", "{iface}", "-n", "-l"], stdout: "ignore" },
  { name: "cap (one JS call per packet)", argv: [NODE, SELF, "--receive", "cap", "{iface}"] },
  // { name: "stackts capture -w /dev/null", argv: [NODE, join(ROOT, "bin", "stackts.js"), "capture", "-w", "/dev/null", "{iface}"] },
];

const MAC_A = "02:77:00:00:00:01";
const MAC_B = "02:77:00:00:00:02";
// Frames go to a MAC nobody has: a's kernel ignores them (no ICMP replies to
// skew the counts) while every capture on a0 still sees them (veth does not
// filter by destination).
const MAC_NOBODY = "02:77:00:00:00:99";

function sh(argv, allowFail = false) {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    if (allowFail) return "";
    throw new Error(`bench: ${argv.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/** Two namespaces joined by a veth pair; `down()` removes them. */
export function makeBenchLab() {
  const p = `stbench${process.pid % 100000}`;
  const lab = { a: { ns: `${p}a`, iface: `${p}a0` }, b: { ns: `${p}b`, iface: `${p}b0` } };
  let isDown = false;
  lab.down = () => {
    if (isDown) return;
    isDown = true;
    for (const h of [lab.a, lab.b]) {
      for (const pid of sh(["ip", "netns", "pids", h.ns], true).split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone already
        }
      }
      sh(["ip", "netns", "del", h.ns], true);
    }
  };
  process.on("exit", lab.down);
  try {
    sh(["ip", "netns", "add", lab.a.ns]);
    sh(["ip", "netns", "add", lab.b.ns]);
    sh(["ip", "-n", lab.a.ns, "link", "add", lab.a.iface, "address", MAC_A, "type", "veth", "peer", "name", lab.b.iface, "netns", lab.b.ns, "address", MAC_B]);
    for (const [h, ip] of [[lab.a, "10.77.0.1/24"], [lab.b, "10.77.0.2/24"]]) {
      sh(["ip", "netns", "exec", h.ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], true);
      sh(["ip", "netns", "exec", h.ns, "sysctl", "-qw", `net.ipv6.conf.${h.iface}.disable_ipv6=1`], true);
      sh(["ip", "-n", h.ns, "addr", "add", ip, "dev", h.iface]);
      sh(["ip", "-n", h.ns, "link", "set", h.iface, "up"]);
    }
    for (let i = 0; i < 100; i++) {
      if ([lab.a, lab.b].every((h) => /state UP/.test(sh(["ip", "-n", h.ns, "link", "show", h.iface], true)))) break;
      execFileSync("sleep", ["0.05"]);
    }
  } catch (err) {
    lab.down();
    throw err;
  }
  return lab;
}

function parseSummary(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  };
  const counts = [...text.matchAll(/^count (\d+)$/gm)];
  const lastCount = counts.length > 0 ? Number(counts[counts.length - 1][1]) : null;
  return {
    captured: num(/(\d+) packets? captured/) ?? lastCount,
    crashed: num(/(\d+) packets? captured/) === null && lastCount !== null,
    received: num(/(\d+) packets? received by filter/),
    dropped: num(/(\d+) packets? dropped by kernel/),
  };
}

/**
 * Run one receiver command line in namespace a while the sender blasts from b
 * for `seconds`; returns its counts and the sender's.
 */
export async function measure(lab, receiver, seconds) {
  const argv = receiver.argv.map((x) => x.replaceAll("{iface}", lab.a.iface));
  const child = spawn("ip", ["netns", "exec", lab.a.ns, ...argv], {
    stdio: ["ignore", receiver.stdout === "ignore" ? "ignore" : "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (out += d));
  const closed = new Promise((r) => child.on("close", r));
  // Ready when it says so (tcpdump: "listening on"; ours: "ready"), or after 3 s.
  for (let i = 0; i < 150 && !/listening on|ready/.test(out) && child.exitCode === null; i++) await sleep(20);
  await sleep(200);
  const sender = await send(lab, seconds);
  await sleep(700);
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await closed;
  clearTimeout(timer);
  return { name: receiver.name, ...parseSummary(out), sent: sender.sent, seconds: sender.seconds, output: out };
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function send(lab, seconds) {
  const child = spawn("ip", ["netns", "exec", lab.b.ns, NODE, SELF, "--send", lab.b.iface, String(seconds)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
  await new Promise((r) => child.on("close", r));
  return JSON.parse(out);
}

function fmtRate(n, s) {
  return n === null ? "n/a" : `${(n / s / 1e6).toFixed(3)} M/s`;
}

/** Run every receiver in turn against the same blast; print a table; return the rows. */
export async function runCaptureBench({ seconds = 3, receivers = RECEIVERS, log = console.log } = {}) {
  if (process.getuid?.() !== 0) {
    log("bench capture: skipped (needs root for network namespaces)");
    return [];
  }
  const lab = makeBenchLab();
  const rows = [];
  try {
    for (const r of receivers) rows.push(await measure(lab, r, seconds));
  } finally {
    lab.down();
  }
  log(`\ncapture: ${seconds} s blasts of 60-byte frames across a veth pair (sender: openInjector, sendmmsg + qdisc bypass)`);
  log(
    ["receiver".padEnd(46), "offered".padStart(11), "captured".padStart(11), "kernel drops".padStart(13), "missing".padStart(9)].join(" "),
  );
  for (const r of rows) {
    const missing = r.captured === null ? null : r.sent - r.captured;
    log(
      [
        r.name.padEnd(46),
        fmtRate(r.sent, r.seconds).padStart(11),
        fmtRate(r.captured, r.seconds).padStart(11),
        (r.dropped === null ? "n/a" : String(r.dropped)).padStart(13),
        (missing === null ? "n/a" : `${((100 * missing) / r.sent).toFixed(1)}%`).padStart(9),
      ].join(" "),
    );
    if (r.captured === null || r.crashed) {
      const last = r.output.trim().split("\n").filter((l) => !/^count \d+$/.test(l)).slice(-1)[0] ?? "";
      log(`  (${r.name} ended without its summary${r.crashed ? "; captured = its last count before that" : ""}: ${last})`);
    }
  }
  log("missing = sent - captured: kernel drops plus anything never counted (cap reports no drops).");
  return rows;
}

// ---- child roles -------------------------------------------------------------

async function sender(iface, seconds) {
  const { openInjector } = await import(pathToFileURL(join(ROOT, "dist", "src", "live.js")).href);
  const inj = openInjector(iface);
  const mac = (s) => s.split(":").map((h) => parseInt(h, 16));
  const frames = [];
  for (let i = 0; i < 256; i++) {
    const f = new Uint8Array(60);
    f.set([...mac(MAC_NOBODY), ...mac(MAC_B), 0x08, 0x00]);
    // IPv4 10.77.0.2 -> 10.77.0.99, UDP 12345 -> 9; checksums are not checked by anyone here.
    f.set([0x45, 0, 0, 46, 0, i, 0x40, 0, 64, 17, 0, 0, 10, 77, 0, 2, 10, 77, 0, 99, 0x30, 0x39, 0, 9, 0, 26, 0, 0], 14);
    frames.push(f);
  }
  let sent = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < end) {
    for (let k = 0; k < 16; k++) sent += inj.injectMany(frames);
  }
  const took = Number(process.hrtime.bigint() - t0) / 1e9;
  inj.close();
  process.stdout.write(JSON.stringify({ sent, seconds: took }));
}

function summary(captured, received, dropped) {
  process.stderr.write(
    `${captured} packets captured\n${received ?? "?"} packets received by filter\n${dropped ?? "?"} packets dropped by kernel\n`,
  );
}

async function receiveOurs(iface, options) {
  const { openLive } = await import(pathToFileURL(join(ROOT, "dist", "src", "live.js")).href);
  const cap = openLive(iface, options);
  let n = 0;
  cap.onBatch((b) => {
    n += b.count;
  });
  const stop = () => {
    const s = cap.stats();
    cap.close();
    summary(n, s.received, s.dropped);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stderr.write(`ready: ${iface}, buffer ${cap.config.bufferSize} bytes, immediate ${cap.config.immediate}\n`);
}

function receiveCap(iface) {
  // The minimal cap program from its README: one 'packet' event per frame.
  const { Cap } = createRequire(import.meta.url)("cap");
  const c = new Cap();
  const buffer = Buffer.alloc(65535);
  c.open(iface, "", 10 * 1024 * 1024, buffer);
  let n = 0;
  c.on("packet", () => {
    n++;
  });
  // cap 0.2.1 has been seen to die of heap corruption under load on Node 20:
  // report the count as we go so a crash still leaves a figure.
  setInterval(() => process.stderr.write(`count ${n}\n`), 100).unref();
  const stop = () => {
    // Not c.close(): cap 0.2.1 has been seen to corrupt the heap closing from a signal handler.
    summary(n, null, null);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stderr.write(`ready: ${iface}\n`);
}

async function main(args) {
  if (args[0] === "--send") return sender(args[1], Number(args[2]));
  if (args[0] === "--receive") {
    if (args[1] === "ours") return receiveOurs(args[2], {});
    if (args[1] === "ours-block") return receiveOurs(args[2], { immediate: false });
    if (args[1] === "ours-small") return receiveOurs(args[2], { snaplen: 2048 });
    if (args[1] === "cap") return receiveCap(args[2]);
    throw new Error(`unknown receiver ${args[1]}`);
  }
  let seconds = 3;
  let receivers = RECEIVERS;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--seconds") seconds = Number(args[++i]);
    else if (args[i] === "--only") {
      const names = args[++i].split(",");
      receivers = RECEIVERS.filter((r) => names.some((n) => r.name.includes(n)));
    }
  }
  await runCaptureBench({ seconds, receivers });
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(1);
  });
}
