// `npm run bench`: every benchmark, figures side by side with peers from the
// same run. Prints; asserts nothing.
//
//   1. decode (bench/decode.js): a ~1 M packet capture built with our builder;
//      zero-copy ports, full decode, `stackts read` against `TZ=UTC tcpdump -n -r`
//      (the whole file and its first 100000 packets), `stackts read --json`
//      against `tshark -T ek`.
//   2. capture (bench/capture.js): frames blasted across a veth pair; our
//      library, `stackts capture -w /dev/null` and `stackts capture` printing,
//      next to tcpdump (writing and printing) and cap. Needs root.
//   3. stack (bench/stack.js): the userspace TCP/IP stack against the Linux
//      kernel over a veth pair (bulk each way, under loss, connections per
//      second, ping), and two stacks over the in-memory link. Needs root.
//   4. http (bench/http.js): 50 MB from nginx, `stackts http` beside curl. Needs root.
//   5. report (bench/report.js): `stackts report` of the decode capture beside
//      `stackts read` and tshark's statistics pass; the page's size and
//      Chromium's time to first render.
//   6. tftp (bench/tftp.js): 50 MB from tftpd-hpa, `stackts tftp get` beside
//      tftp-hpa's and busybox's clients. Needs root.
//
//   node bench/run.js [--packets N] [--seconds S] [--only decode|capture|stack|stack_sim|http|report|tftp]
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RECEIVERS, runCaptureBench } from "./capture.js";
import { printDecodeRows, runDecodeBench } from "./decode.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "stackts.js");
const NODE = process.execPath;

/** The stackts command lines compared with tcpdump's in the capture benchmark. */
const CLI_RECEIVERS = [
  { name: "stackts capture -w /dev/null (buffered)", argv: [NODE, BIN, "capture", "-w", "/dev/null", "{iface}"] },
  { name: "stackts capture --immediate -w /dev/null", argv: [NODE, BIN, "capture", "--immediate", "-w", "/dev/null", "{iface}"] },
  { name: "stackts capture > /dev/null (printing)", argv: [NODE, BIN, "capture", "{iface}"], stdout: "ignore" },
];

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const only = arg("--only", null);

if (only === null || only === "decode") {
  console.log("== decode: one file, built by encodePacket + PcapWriter");
  const rows = await runDecodeBench({ packets: Number(arg("--packets", 1_000_000)) });
  printDecodeRows(rows);
}

if (only === null || only === "capture") {
  console.log("\n== capture");
  // Keep the peers (tcpdump, cap, the library receivers) and add the CLI, once each.
  const receivers = [...RECEIVERS];
  for (const r of CLI_RECEIVERS) if (!receivers.some((x) => x.name === r.name)) receivers.push(r);
  await runCaptureBench({ seconds: Number(arg("--seconds", 3)), receivers });
}

if (only === null || only === "stack") {
  console.log("\n== stack");
  // Its own process: the stack and the benches above each measure one JavaScript thread.
  const r = spawnSync(process.execPath, [join(ROOT, "bench", "stack.js")], { stdio: "inherit" });
  if (r.status !== 0) console.log(`bench/stack.js exited with ${r.status}`);
}

if (only === null || only === "stack_sim") { console.log(); await (await import("./stack_sim.js")).runStackSimBench(); }

if (only === null || only === "http") {
  console.log("\n== http");
  const r = spawnSync(process.execPath, [join(ROOT, "bench", "http.js")], { stdio: "inherit" });
  if (r.status !== 0) console.log(`bench/http.js exited with ${r.status}`);
}

if (only === null || only === "report") { console.log("\n== report (bench/report.js)"); await (await import("./report.js")).runReportBench({ packets: Number(arg("--packets", 1_000_000)) }); }
if (only === null || only === "tftp") { console.log("\n== tftp"); await (await import("./tftp.js")).runTftpBench(); }
