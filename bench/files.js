// Capture-file reader speed: frames/s of our reader (zero-copy batches, sync
// batches, copying async iterator) next to libpcap's reader (`tcpdump --count
// -r`, which reads every record and prints nothing) on the same file.
//
// Library use (after `npm run build:ts`):
//   import { benchFiles } from "./files.js";
//   const rows = await benchFiles("/tmp/x.pcap");   // [{ name, frames, seconds, fps }]
// Standalone: node bench/files.js [FILE]  (without FILE, makes a 1 M frame pcap in /tmp)
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/src");

async function time(name, fn) {
  const t0 = process.hrtime.bigint();
  const frames = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, frames, seconds, fps: frames / seconds };
}

/** Measure our reader and libpcap's on `file`; returns one row per reader. */
export async function benchFiles(file) {
  const { openCaptureFile } = await import(path.join(dist, "capture_file.js"));
  const rows = [];
  // one untimed pass: JIT warm-up and the file into the page cache, so all readers start equal
  {
    const r = openCaptureFile(file);
    r.readBatchesSync(() => {});
    r.close();
  }
  rows.push(
    await time("stackts readBatches (zero-copy)", async () => {
      const r = openCaptureFile(file);
      let n = 0;
      await r.readBatches((b) => {
        n += b.count;
      });
      r.close();
      return n;
    }),
  );
  rows.push(
    await time("stackts readBatchesSync", () => {
      const r = openCaptureFile(file);
      let n = 0;
      r.readBatchesSync((b) => {
        n += b.count;
      });
      r.close();
      return n;
    }),
  );
  rows.push(
    await time("stackts async iterator (copies)", async () => {
      const r = openCaptureFile(file);
      let n = 0;
      for await (const _ of r) n++;
      r.close();
      return n;
    }),
  );
  rows.push(
    await time("tcpdump --count -r (libpcap)", () => {
      const out = execFileSync("tcpdump", ["--count", "-r", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      return Number(/(\d+) packets/.exec(out)?.[1] ?? 0);
    }),
  );
  return rows;
}

/** Write a pcap of `count` frames of mixed sizes (60..1514 bytes) with our writer. */
export async function makeBenchFile(file, count = 1_000_000) {
  const { PcapWriter } = await import(path.join(dist, "pcap.js"));
  const w = new PcapWriter(file, { linkType: 1, bufferSize: 8 << 20 });
  const sizes = [60, 590, 1514, 74, 1200, 60, 342, 1514];
  const bufs = sizes.map((n) => new Uint8Array(n).fill(0x5a));
  for (let i = 0; i < count; i++) {
    const data = bufs[i % bufs.length];
    w.write({ data, length: data.length, sec: 1_700_000_000 + (i >> 10), nsec: (i & 1023) * 1000, linkType: 1, interfaceId: 0 });
  }
  w.close();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let file = process.argv[2];
  let made = false;
  if (!file) {
    file = path.join(os.tmpdir(), `stackts-bench-${process.pid}.pcap`);
    await makeBenchFile(file);
    made = true;
  }
  try {
    const rows = await benchFiles(file);
    const peer = rows[rows.length - 1].fps;
    for (const r of rows) {
      console.log(`${r.name.padEnd(36)} ${String(r.frames).padStart(9)} frames  ${(r.fps / 1e6).toFixed(2)} M frames/s  (x${(r.fps / peer).toFixed(2)} libpcap)`);
    }
  } finally {
    if (made) fs.rmSync(file, { force: true });
  }
}
