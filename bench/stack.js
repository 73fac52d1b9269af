// The userspace stack's figures next to the Linux kernel's, from one run.
// Prints; asserts nothing. Needs root (network namespaces).
//
//   node bench/stack.js [--mb N] [--runs N] [--only bulk|memory|loss|cps|ping]
//
// A lab of three namespaces (test/helpers/bridged_lab.js): A holds the kernel
// peer (10.77.0.1); R is a switch (a Linux bridge); B holds both our stack
// (10.77.0.3, its own MAC, on B's link) and, for the kernel-to-kernel
// figures, B's kernel (10.77.0.2). Offloads are off on every port (whole
// segments, full checksums).
//
//   bulk:   MB/s each way, stackts <-> kernel beside kernel <-> kernel (socat)
//   memory: two stackts stacks over the in-memory link (MTU 1500 and 65535)
//   loss:   1/5/10% of the frames the switch forwards to the receiver dropped
//           (nftables numgen in R: a loss on the wire for any sender), both
//           directions, beside kernel <-> kernel with the same rule
//   cps:    connections per second accepted from a kernel client (ab), our
//           minimal HTTP responder beside nginx on B's kernel
//   ping:   round-trip time through our stack beside the kernel's
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { bridgedLab } from "../test/helpers/bridged_lab.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(join(ROOT, "dist", p));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** The lab, made in main() once root is known. */
let lab;
let NS_A = "";
let NS_B = "";
const KERNEL_A = "10.77.0.1";
const KERNEL_B = "10.77.0.2";
const OURS = "10.77.0.3";
const OUR_MAC = "02:77:00:00:00:33";

const sh = (argv, quiet = false) => execFileSync(argv[0], argv.slice(1), { stdio: quiet ? "ignore" : "pipe", encoding: "utf8" });
/** Run a command without blocking the event loop (our stack runs in this process and must keep answering). */
const run = (argv) =>
  new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(" ")}: exit ${code}: ${err.trim()}`))));
  });
const inA = (argv) => ["ip", "netns", "exec", NS_A, ...argv];
const inB = (argv) => ["ip", "netns", "exec", NS_B, ...argv];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const row = (name, value, unit, extra = "") => console.log(`${name.padEnd(46)} ${value.padStart(9)} ${unit.padEnd(8)} ${extra}`);

/** One socat sink in namespace `ns` on `port`; resolves with the bytes/s it measured by wall time of the sender. */
async function kernelSink(ns, port) {
  const p = spawn("ip", ["netns", "exec", ns, "socat", "-u", `TCP-LISTEN:${port},reuseaddr`, "OPEN:/dev/null"], { stdio: "ignore" });
  await sleep(150);
  return p;
}

/** Kernel to kernel: socat in B sends `bytes` to a socat sink in A (or the other way); MB/s. */
async function kernelToKernel(fromNs, toNs, toAddress, port, bytes, file) {
  const sink = await kernelSink(toNs, port);
  const done = new Promise((r) => sink.on("exit", r));
  const t0 = performance.now();
  await run(["ip", "netns", "exec", fromNs, "socat", "-u", `OPEN:${file}`, `TCP:${toAddress}:${port}`]);
  await done;
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}

async function stackToKernel(host, port, data) {
  const sink = await kernelSink(NS_A, port);
  const done = new Promise((r) => sink.on("exit", r));
  const s = host.sockets.socket("inet", "stream");
  await s.connect(KERNEL_A, port);
  const t0 = performance.now();
  await s.send(data);
  s.close();
  await done;
  return data.length / 1e6 / ((performance.now() - t0) / 1000);
}

async function kernelToStack(host, port, file, bytes) {
  const src = spawn("ip", ["netns", "exec", NS_A, "socat", "-u", `OPEN:${file}`, `TCP-LISTEN:${port},reuseaddr`], { stdio: "ignore" });
  await sleep(150);
  const s = host.sockets.socket("inet", "stream");
  await s.connect(KERNEL_A, port);
  const t0 = performance.now();
  let n = 0;
  for (let d = await s.recv(1 << 22); d.length > 0; d = await s.recv(1 << 22)) n += d.length;
  const mbs = n / 1e6 / ((performance.now() - t0) / 1000);
  s.close();
  src.kill();
  if (n !== bytes) throw new Error(`kernel -> stackts: got ${n} of ${bytes} bytes`);
  return mbs;
}

async function main() {
  if (process.getuid?.() !== 0) {
    console.log("bench/stack.js: needs root for its namespaces; skipped");
    return;
  }
  const only = arg("--only", null);
  const mb = Number(arg("--mb", 50));
  const runs = Number(arg("--runs", 3));
  const { openHost } = await dist("src/stack/host.js");
  const dir = mkdtempSync(join(tmpdir(), "stackts-bench-"));
  const bytes = mb * 1_000_000;
  const file = join(dir, "data.bin");
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 131) >>> 3;
  writeFileSync(file, data);
  console.log(`Node ${process.version}, one JavaScript thread for the stack; veth pairs through a bridge, MTU 1500, offloads off; ${mb} MB per transfer, median of ${runs}`);
  lab = bridgedLab(`bst${process.pid % 100000}`);
  NS_A = lab.ns.a;
  NS_B = lab.ns.b;
  const host = openHost({ iface: lab.ifs.b, netns: NS_B, ipv4: [`${OURS}/24`], mac: OUR_MAC, tcp: { sendBuffer: 4 << 20, receiveBuffer: 4 << 20 } });
  await sleep(200);
  let port = 5100;
  try {
    if (only === null || only === "bulk") {
      console.log("\n== bulk TCP over the veth pair");
      const up = [], down = [], kk = [], kk2 = [];
      for (let r = 0; r < runs; r++) {
        up.push(await stackToKernel(host, port++, data));
        down.push(await kernelToStack(host, port++, file, bytes));
        kk.push(await kernelToKernel(NS_B, NS_A, KERNEL_A, port++, bytes, file));
        kk2.push(await kernelToKernel(NS_A, NS_B, KERNEL_B, port++, bytes, file));
      }
      const k = median(kk), k2 = median(kk2);
      row("stackts -> kernel", fmt(median(up)), "MB/s", `${fmt((median(up) * 8) / 1000, 2)} Gbit/s  x${fmt(median(up) / k, 2)} kernel`);
      row("kernel -> stackts", fmt(median(down)), "MB/s", `${fmt((median(down) * 8) / 1000, 2)} Gbit/s  x${fmt(median(down) / k2, 2)} kernel`);
      row("kernel -> kernel, same veth (B to A)", fmt(k), "MB/s", `${fmt((k * 8) / 1000, 2)} Gbit/s (the ceiling)`);
      row("kernel -> kernel, same veth (A to B)", fmt(k2), "MB/s", `${fmt((k2 * 8) / 1000, 2)} Gbit/s`);
    }
    if (only === null || only === "memory") {
      console.log("\n== two stackts stacks over the in-memory link");
      const { memoryThroughput } = await import("./stack_memory.js");
      for (const mtu of [1500, 65535]) {
        const figures = [];
        for (let r = 0; r < runs; r++) figures.push(await memoryThroughput(mtu, 200));
        const mbs = median(figures);
        row(`stackts -> stackts, MTU ${mtu}`, fmt(mbs), "MB/s", `${fmt((mbs * 8) / 1000, 2)} Gbit/s`);
      }
    }
    if (only === null || only === "loss") {
      console.log("\n== under random loss on the wire (the switch drops frames to the receiver), SACK on both sides");
      const lossBytes = Math.min(bytes, 10_000_000);
      const lossFile = join(dir, "loss.bin");
      writeFileSync(lossFile, data.subarray(0, lossBytes));
      console.log(`${"loss".padEnd(6)} ${"stackts->kernel".padStart(16)} ${"kernel->kernel".padStart(16)} ${"kernel->stackts".padStart(16)} ${"kernel->kernel".padStart(16)}  (MB/s, ${lossBytes / 1e6} MB)`);
      for (const pct of [1, 5, 10]) {
        // Toward A (data from us or from B's kernel), then toward B (to us, or to B's kernel).
        lab.loss(lab.macA, pct);
        const up = await stackToKernel(host, port++, data.subarray(0, lossBytes));
        const kkUp = await kernelToKernel(NS_B, NS_A, KERNEL_A, port++, lossBytes, lossFile);
        lab.loss(lab.macA, 0);
        lab.loss(OUR_MAC, pct);
        const down = await kernelToStack(host, port++, lossFile, lossBytes);
        lab.loss(OUR_MAC, 0);
        lab.loss(lab.macB, pct);
        const kkDown = await kernelToKernel(NS_A, NS_B, KERNEL_B, port++, lossBytes, lossFile);
        lab.loss(lab.macB, 0);
        console.log(`${(pct + "%").padEnd(6)} ${fmt(up).padStart(16)} ${fmt(kkUp).padStart(16)} ${fmt(down).padStart(16)} ${fmt(kkDown).padStart(16)}`);
      }
    }
    if (only === null || only === "cps") {
      console.log("\n== connections per second from a kernel client (ab -n 2000 -c 8, one GET each)");
      const listener = host.sockets.socket("inet", "stream");
      listener.bind(OURS, 8081);
      listener.listen(128);
      let serving = true;
      const response = new TextEncoder().encode("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
      const serve = (async () => {
        while (serving) {
          let c;
          try {
            c = await listener.accept();
          } catch {
            break;
          }
          (async () => {
            try {
              let req = "";
              while (!req.includes("\r\n\r\n")) {
                const d = await c.recv();
                if (d.length === 0) break;
                req += new TextDecoder().decode(d);
              }
              await c.send(response);
            } catch {}
            c.close();
          })();
        }
      })();
      const ab = async (url) => {
        const out = await run(inA(["ab", "-q", "-n", "2000", "-c", "8", url]));
        return Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
      };
      // One round first, not counted: V8 compiles the paths a connection takes (nginx needs no warm-up).
      await ab(`http://${OURS}:8081/`);
      const ours = await ab(`http://${OURS}:8081/`);
      const www = join(dir, "www");
      sh(["mkdir", "-p", www]);
      writeFileSync(join(www, "index.html"), "ok");
      const conf = join(dir, "nginx.conf");
      writeFileSync(conf, `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err; events { worker_connections 256; } http { access_log off; client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s; server { listen ${KERNEL_B}:8082; root ${www}; } }\n`);
      const nginx = spawn("ip", inB(["nginx", "-c", conf, "-p", dir]).slice(1), { stdio: "ignore" });
      await sleep(500);
      const theirs = await ab(`http://${KERNEL_B}:8082/index.html`);
      nginx.kill("SIGKILL");
      serving = false;
      listener.close();
      await serve.catch(() => {});
      row("stackts (our sockets, one JS thread)", fmt(ours, 0), "conn/s", `x${fmt(ours / theirs, 2)} nginx`);
      row("kernel + nginx (one worker)", fmt(theirs, 0), "conn/s");
    }
    if (only === null || only === "ping") {
      console.log("\n== ping round-trip time (100 echoes, 10 ms apart)");
      const rtt = async (address) => {
        const out = await run(inA(["ping", "-q", "-c", "100", "-i", "0.01", address]));
        const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(out);
        return m === null ? [NaN, NaN] : [Number(m[2]), Number(m[1])];
      };
      const [oursAvg, oursMin] = await rtt(OURS);
      const [kAvg, kMin] = await rtt(KERNEL_B);
      row("kernel ping -> stackts", fmt(oursAvg, 3), "ms avg", `min ${fmt(oursMin, 3)} ms`);
      row("kernel ping -> kernel (same veth)", fmt(kAvg, 3), "ms avg", `min ${fmt(kMin, 3)} ms`);
    }
  } finally {
    host.close();
    lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
