// Paired A/B of the decoder between two builds, per traffic class: for the
// first frame of each class in a capture (TCP/443 over IPv4, DNS, ARP, ...),
// `decodeReused` on that frame in a loop, the two builds' passes alternating
// in one process so the host's noise falls on both alike. Prints ns per
// packet for each and the ratio. For finding which layer a change slowed
// (the decode bench gives the mix only); prints, asserts nothing.
//
//   node bench/ab_decode.js ROOT_A ROOT_B [FILE] [--only TEXT] [--max-layers N]
//
// ROOT_A/ROOT_B: checkouts with `dist/` built (e.g. `git worktree add /tmp/a
// <rev>` then `npx tsc -p tsconfig.build.json` there). FILE: a capture,
// by default the decode bench's (`node bench/decode.js --keep` leaves it in
// .bench/). --max-layers stops the decode after N layers (1: the link
// layer only), to take one layer's cost as a difference.
import path from "node:path";
import { abArgs } from "./ab_args.js";

const { options, roots, file } = abArgs("node bench/ab_decode.js ROOT_A ROOT_B [FILE] [--only TEXT] [--max-layers N]", [], ["--only", "--max-layers"]);
const only = options["--only"];
const maxLayers = Number(options["--max-layers"] ?? 0) || undefined;
const mods = await Promise.all(roots.map((r) => import(path.join(r, "dist/layers/decode.js"))));
const { openCaptureFile } = await import(path.join(roots[0], "dist/src/capture_file.js"));
const { PortPeek, peekPorts } = await import(path.join(roots[0], "dist/layers/peek.js"));

// The first frame of each class: IP version, protocol, the lower port when a well-known one, VLAN.
const classes = new Map();
const peek = new PortPeek();
const reader = openCaptureFile(file);
let seen = 0;
reader.readBatchesSync((b) => {
  if (seen > 20000) return;
  for (let i = 0; i < b.count; i++, seen++) {
    const data = b.buffer.slice(b.offset[i], b.offset[i] + b.caplen[i]);
    peekPorts(data, b.linkType[i], peek);
    const low = Math.min(peek.srcPort, peek.dstPort);
    const key = `${data[12] === 0x81 ? "vlan " : ""}v${peek.ipVersion} p${peek.protocol} ${low < 1024 ? low : "hi"}`;
    if (!classes.has(key)) classes.set(key, { data, linkType: b.linkType[i], length: b.length[i] });
  }
});
reader.close();

const N = 300_000;
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
console.log(`A ${roots[0]}\nB ${roots[1]}\n${N} decodes a pass, 9 passes each, alternating; ns per packet (median)`);
for (const [key, f] of classes) {
  if (only !== undefined && !key.includes(only)) continue;
  const decoders = mods.map((m) => new m.PacketDecoder(maxLayers ? { maxLayers } : {}));
  const times = [[], []];
  const pass = (d) => {
    let c = 0;
    const t0 = performance.now();
    for (let k = 0; k < N; k++) c += d.decodeReused(f.data, f.linkType, f.length).layers.length;
    if (c < 0) console.log(c);
    return performance.now() - t0;
  };
  for (let p = 0; p < 12; p++) {
    for (let k = 0; k < 2; k++) {
      const which = (p + k) % 2;
      const t = pass(decoders[which]);
      if (p > 2) times[which].push(t);
    }
  }
  const a = (median(times[0]) * 1e6) / N;
  const b = (median(times[1]) * 1e6) / N;
  console.log(`${key.padEnd(18)} A ${a.toFixed(1).padStart(6)}  B ${b.toFixed(1).padStart(6)}  B/A ${(b / a).toFixed(3)}`);
}
