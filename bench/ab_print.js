// Paired A/B of `stackts read`'s printer between two builds: the bench
// capture's batches are read once into memory, then each build's
// PacketPrinter prints them to /dev/null, the two builds' passes alternating
// in one process so the host's noise falls on both alike. Prints ns per
// packet for the whole mix and for each traffic class (a mask per class over
// the same batches), and the ratio. Time is the process's CPU time
// (user + system), which a busy host disturbs less than the clock. For finding which path a change slowed
// (`npm run bench` gives the mix only); prints, asserts nothing.
//
//   node bench/ab_print.js ROOT_A ROOT_B [FILE] [--passes N] [--classes]
//
// ROOT_A/ROOT_B: checkouts with `dist/` built. The printer is
// dist/src/format/printer.js, or dist/src/cli/read.js in builds before it
// moved there.
import { existsSync, openSync } from "node:fs";
import path from "node:path";
import { abArgs } from "./ab_args.js";

const { flags, options, roots, file } = abArgs("node bench/ab_print.js ROOT_A ROOT_B [FILE] [--passes N] [--classes]", ["--classes"], ["--passes"]);
const perClass = flags["--classes"];
const passes = Number(options["--passes"] ?? 7);
const load = async (root) => {
  const moved = path.join(root, "dist/src/format/printer.js");
  const { PacketPrinter } = await import(existsSync(moved) ? moved : path.join(root, "dist/src/cli/read.js"));
  const { Output } = await import(path.join(root, "dist/src/format/output.js"));
  return { PacketPrinter, Output };
};
const builds = await Promise.all(roots.map(load));
const { openCaptureFile } = await import(path.join(roots[0], "dist/src/capture_file.js"));
const { PortPeek, peekPorts } = await import(path.join(roots[0], "dist/layers/peek.js"));

// Every batch, its arrays copied (the reader reuses its buffers), and each frame's class.
const batches = [];
const classOf = [];
const names = new Map();
const peek = new PortPeek();
const reader = openCaptureFile(file);
let total = 0;
reader.readBatchesSync((b) => {
  const copy = {
    count: b.count,
    buffer: b.buffer.slice(),
    offset: b.offset.slice(),
    caplen: b.caplen.slice(),
    length: b.length.slice(),
    sec: b.sec.slice(),
    nsec: b.nsec.slice(),
    linkType: b.linkType.slice(),
  };
  const cls = new Uint8Array(b.count);
  for (let i = 0; i < b.count; i++) {
    const s = b.offset[i];
    peekPorts(b.buffer.subarray(s, s + b.caplen[i]), b.linkType[i], peek);
    const low = Math.min(peek.srcPort, peek.dstPort);
    const key = `${b.buffer[s + 12] === 0x81 ? "vlan " : ""}v${peek.ipVersion} p${peek.protocol} ${low < 1024 ? low : "hi"}`;
    if (!names.has(key)) names.set(key, names.size + 1);
    cls[i] = names.get(key);
  }
  batches.push(copy);
  classOf.push(cls);
  total += b.count;
});
reader.close();

const sink = openSync("/dev/null", "w");
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
/** One build's pass over every batch (with a class's masks, or all). */
const pass = (build, masks) => {
  const out = new build.Output(sink);
  const printer = new build.PacketPrinter(out, {});
  const t0 = process.cpuUsage();
  for (let k = 0; k < batches.length; k++) printer.printBatch(batches[k], masks?.[k]);
  out.flush();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
};
const compare = (label, masks, count) => {
  const times = [[], []];
  for (let p = 0; p < passes + 2; p++) {
    for (let k = 0; k < 2; k++) {
      const which = (p + k) % 2;
      const t = pass(builds[which], masks);
      if (p >= 2) times[which].push(t);
    }
  }
  const a = (median(times[0]) * 1e6) / count;
  const b = (median(times[1]) * 1e6) / count;
  console.log(`${label.padEnd(18)} A ${a.toFixed(1).padStart(7)}  B ${b.toFixed(1).padStart(7)}  B/A ${(b / a).toFixed(3)}  (${count} frames)`);
};
console.log(`A ${roots[0]}\nB ${roots[1]}\n${passes} passes each after 2 warm-up, alternating; CPU ns per packet (median)`);
compare("all", undefined, total);
if (perClass) {
  for (const [key, id] of names) {
    let count = 0;
    const masks = classOf.map((cls) => {
      const m = new Uint8Array(cls.length);
      for (let i = 0; i < cls.length; i++) if (cls[i] === id) (m[i] = 1), count++;
      return m;
    });
    if (count < total / 200) continue;
    compare(key, masks, count);
  }
}
