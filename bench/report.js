// Report benchmark: `stackts report` of the ~1 M packet decode-bench capture
// (bench/decode.js builds it into .bench/), next to `stackts read > /dev/null`
// and `tshark -q -z conv,tcp -z io,phs` (tshark's statistics pass) on the same
// file; the HTML's size and its data's; and headless Chromium's time to first
// render of the page from disk (first contentful paint, and the moment the
// page says it has drawn everything: body[data-ready]). Prints; asserts nothing.
//
//   npm run build:ts && node bench/report.js [--packets N]
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { makeDecodeBenchFile } from "./decode.js";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "bin", "stackts.js");
const CHROMIUM = "/usr/bin/chromium";

function timed(cmd, args, { stdout = "ignore" } = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ["ignore", stdout, "pipe"], maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${String(r.stderr).slice(0, 300)}`);
  return seconds;
}

function has(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Chromium's first contentful paint and full render of `file` (ms since navigation), or null without Chromium. */
async function firstRender(file) {
  if (!fs.existsSync(CHROMIUM)) return null;
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto("file://" + file, { waitUntil: "load", timeout: 120_000 });
    await page.waitForSelector("body[data-ready]", { timeout: 120_000 });
    return await page.evaluate(() => ({
      ready: performance.now(),
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
    }));
  } finally {
    await browser.close();
  }
}

export async function runReportBench({ packets = 1_000_000, log = console.log } = {}) {
  const dir = path.join(ROOT, ".bench");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `decode-${packets}.pcap`);
  if (!fs.existsSync(file)) {
    const s = await makeDecodeBenchFile(file, packets);
    log(`built ${packets} packets in ${s.toFixed(1)} s: ${file}`);
  }
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stackts-report-bench-")), "report.html");
  try {
    // Alternate the three, twice; keep each one's faster run (a busy host only ever slows a run down).
    const runs = { report: [], read: [], tshark: [] };
    for (let round = 0; round < 2; round++) {
      runs.report.push(timed(process.execPath, [BIN, "report", file, "-o", out]));
      runs.read.push(timed(process.execPath, [BIN, "read", file]));
      if (has("tshark")) runs.tshark.push(timed("tshark", ["-n", "-q", "-r", file, "-z", "conv,tcp", "-z", "io,phs"]));
    }
    const best = (a) => Math.min(...a);
    const html = fs.readFileSync(out, "utf8");
    const data = /id="stackts-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    const row = (name, s, peer) => log(`${name.padEnd(44)} ${s.toFixed(2).padStart(7)} s  ${(packets / s / 1e6).toFixed(2)} M packets/s${peer ? `  (${(peer / s).toFixed(2)}x tshark)` : ""}`);
    const tshark = runs.tshark.length > 0 ? best(runs.tshark) : null;
    row("stackts report FILE -o report.html", best(runs.report), tshark);
    row("stackts read FILE > /dev/null", best(runs.read), null);
    if (tshark !== null) row("tshark -q -z conv,tcp -z io,phs", tshark, null);
    else log("tshark -q -z conv,tcp -z io,phs: (tshark not installed)");
    log(`report.html: ${(Buffer.byteLength(html) / 1e6).toFixed(2)} MB, of which data ${(Buffer.byteLength(data) / 1e6).toFixed(2)} MB`);
    const render = await firstRender(out);
    if (render === null) log(`Chromium first render: (no ${CHROMIUM})`);
    else log(`Chromium (headless) from disk: first contentful paint ${render.fcp === null ? "?" : render.fcp.toFixed(0)} ms, everything drawn ${render.ready.toFixed(0)} ms`);
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--packets");
  await runReportBench({ packets: i > 0 ? Number(process.argv[i + 1]) : 1_000_000 });
}
