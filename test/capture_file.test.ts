// The reader's streaming behaviour (chunks, batches, iterators, stdin, flat
// memory) and the writers' I/O paths (stdout, pipes, FIFOs, /dev/null, flush
// on SIGTERM), each checked with tcpdump/tshark/capinfos.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureFileError, openCaptureFile, openCaptureWriter } from "../src/capture_file.ts";
import { batchData, type Frame } from "../src/frame.ts";
import { PcapWriter } from "../src/pcap.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const CORPUS = path.resolve(ROOT, "../shared/corpus/tcpdump");
const haveCorpus = fs.existsSync(CORPUS);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stackts-capfile-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Row {
  time: string;
  len: number;
  caplen: number;
  md5: string;
}
function tshark(file: string): Row[] {
  const out = execFileSync(
    "tshark",
    ["-r", file, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields", "-E", "separator=/t",
      "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.md5_hash"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 28 },
  );
  return out.split("\n").filter((l) => l !== "").map((l) => {
    const [time, len, caplen, md5] = l.split("\t");
    return { time: time!, len: Number(len), caplen: Number(caplen), md5: md5! };
  });
}
const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");
function ours(f: Frame): Row {
  return { time: `${f.sec}.${String(f.nsec).padStart(9, "0")}`, len: f.length, caplen: f.data.length, md5: md5(f.data) };
}
const capinfosCount = (file: string): string => execFileSync("capinfos", ["-c", "-M", "-T", "-r", file], { encoding: "utf8" }).trim().split("\t")[1]!;

function frameOf(i: number, n: number): Frame {
  const data = new Uint8Array(n);
  for (let j = 0; j < n; j++) data[j] = (i * 31 + j) & 0xff;
  data[12] = 0x88;
  data[13] = 0xb5;
  return { data, length: n, sec: 1_700_000_000 + Math.floor(i / 1000), nsec: (i % 1000) * 1_000_003, linkType: 1, interfaceId: 0 };
}

/** A pcap file of our own making with records of many sizes, some bigger than a small chunk. */
function sampleFile(nanoseconds: boolean): { file: string; frames: Frame[] } {
  const file = path.join(tmp, `sample_${nanoseconds}.pcap`);
  const frames = Array.from({ length: 500 }, (_, i) => frameOf(i, 14 + ((i * 97) % 3000)));
  const w = new PcapWriter(file, { linkType: 1, nanoseconds });
  for (const f of frames) w.write(f);
  w.close();
  return { file, frames };
}

describe("reading in chunks", () => {
  const { file, frames } = sampleFile(true);
  const oracle = tshark(file);

  it("the sample file is what tshark sees", () => {
    expect(oracle.length).toBe(500);
  });

  for (const chunkSize of [64, 1000, 4096, 65536, 8 << 20]) {
    it(`gives the same frames with ${chunkSize}-byte chunks through batches, async and sync iterators`, async () => {
      const viaBatches: Row[] = [];
      const r1 = openCaptureFile(file, { chunkSize, batchSize: 7 });
      await r1.readBatches((b) => {
        expect(b.count).toBeLessThanOrEqual(7);
        for (let i = 0; i < b.count; i++) {
          const d = batchData(b, i);
          viaBatches.push({ time: `${b.sec[i]}.${String(b.nsec[i]).padStart(9, "0")}`, len: b.length[i]!, caplen: d.length, md5: md5(d) });
          expect(b.linkType[i]).toBe(1);
        }
      });
      r1.close();
      expect(viaBatches).toEqual(oracle);

      const r2 = openCaptureFile(file, { chunkSize });
      const kept: Frame[] = [];
      for await (const f of r2) kept.push(f);
      r2.close();
      // copies: still right after the buffer was reused many times
      expect(kept.map(ours)).toEqual(oracle);

      const r3 = openCaptureFile(file, { chunkSize });
      expect([...r3.frames()].map(ours)).toEqual(oracle);
      r3.close();
    });
  }

  it("copies from the async iterator stay valid; batch views are the read buffer", async () => {
    const r = openCaptureFile(file, { chunkSize: 4096 });
    let first: Frame | undefined;
    for await (const f of r) first ??= f;
    expect(md5(first!.data)).toBe(md5(frames[0]!.data));
    r.close();
  });

  it("writeBatch of the zero-copy batches copies a file that tshark reads the same", async () => {
    const out = path.join(tmp, "copy.pcapng");
    const w = openCaptureWriter(out, { nanoseconds: true, interfaces: [{ linkType: 1, name: "copy" }] });
    const r = openCaptureFile(file, { chunkSize: 65536 });
    await r.readBatches((b) => w.writeBatch(b));
    r.close();
    w.close();
    expect(fs.readFileSync(out).readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(tshark(out)).toEqual(oracle);
  });
});

describe("openCaptureWriter", () => {
  it("picks pcapng for .pcapng and .ntar, pcap otherwise, and writes the interface's link type", () => {
    const cases: [string, number][] = [["a.pcapng", 0x0a0d0d0a], ["b.NTAR", 0x0a0d0d0a], ["c.pcap", 0xa1b2c3d4], ["d.cap", 0xa1b2c3d4], ["e", 0xa1b2c3d4]];
    for (const [name, magic] of cases) {
      const file = path.join(tmp, name);
      const w = openCaptureWriter(file, { interfaces: [{ linkType: 113, snaplen: 9000 }] });
      w.close();
      expect(fs.readFileSync(file).readUInt32LE(0)).toBe(magic);
      const r = openCaptureFile(file);
      expect(r.linkType).toBe(113);
      r.close();
    }
    const ns = path.join(tmp, "ns.pcap");
    openCaptureWriter(ns, { nanoseconds: true, interfaces: [{ linkType: 1 }] }).close();
    expect(fs.readFileSync(ns).readUInt32LE(0)).toBe(0xa1b23c4d);
    // capinfos agrees on the link type and snaplen of the pcap one
    const info = execFileSync("capinfos", [path.join(tmp, "c.pcap")], { encoding: "utf8" });
    expect(info).toMatch(/File encapsulation:\s+Linux cooked-mode capture v1/);
    expect(info).toMatch(/Packet size limit:\s+file hdr: 9000 bytes/);
  });

  it("writes to /dev/null", () => {
    const w = openCaptureWriter("/dev/null", { interfaces: [{ linkType: 1 }] });
    for (let i = 0; i < 1000; i++) w.write(frameOf(i, 100));
    w.close();
    w.close(); // idempotent
    expect(() => w.write(frameOf(0, 10))).toThrow(/closed/);
  });
});

// Processes that read stdin, write stdout or get a signal: our modules
// transpiled to plain JavaScript in a temporary folder, run by node.
describe("stdin, stdout, pipes and signals", () => {
  const js = path.join(tmp, "js");
  beforeAll(() => {
    fs.mkdirSync(path.join(js, "src"), { recursive: true });
    fs.writeFileSync(path.join(js, "package.json"), '{"type":"module"}');
    for (const f of ["errors.ts", "frame.ts", "pcap.ts", "pcapng.ts", "pcapng_blocks.ts", "pcapng_writer.ts", "capture_file.ts"]) {
      const src = fs.readFileSync(path.join(ROOT, "src", f), "utf8");
      const out = ts.transpileModule(src, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, rewriteRelativeImportExtensions: true, verbatimModuleSyntax: true },
      });
      fs.writeFileSync(path.join(js, "src", f.replace(/\.ts$/, ".js")), out.outputText);
    }
    fs.writeFileSync(
      path.join(js, "read.mjs"),
      `import { openCaptureFile } from "./src/capture_file.js";
const r = openCaptureFile(process.argv[2]);
const lines = [];
try { for await (const f of r) lines.push(f.sec + "." + String(f.nsec).padStart(9, "0") + " " + f.length + " " + f.data.length); }
catch (e) { lines.push("ERROR " + e.message); }
process.stdout.write(lines.join("\\n") + "\\n");`,
    );
    fs.writeFileSync(
      path.join(js, "write.mjs"),
      // writes N frames, then (with "wait") waits for SIGTERM without flushing first
      `import { openCaptureWriter } from "./src/capture_file.js";
const [, , out, n, mode] = process.argv;
const w = openCaptureWriter(out, { nanoseconds: true, interfaces: [{ linkType: 1 }] });
for (let i = 0; i < Number(n); i++) {
  const data = new Uint8Array(60 + (i % 40)); data[12] = 0x88; data[13] = 0xb5; data[20] = i & 0xff;
  w.write({ data, length: data.length, sec: 1700000000 + i, nsec: i, linkType: 1, interfaceId: 0 });
}
if (mode === "wait") {
  process.on("SIGTERM", () => { w.close(); process.exit(0); });
  process.stderr.write("ready\\n");
  setInterval(() => {}, 1000);
} else w.close();`,
    );
  });

  it.skipIf(!haveCorpus)("reads a pcap from stdin (tcpdump -w - | reader -)", () => {
    const src = path.join(CORPUS, "3560_CDP.pcap");
    const r = spawnSync("sh", ["-c", `tcpdump -r '${src}' --time-stamp-precision=nano -w - 2>/dev/null | node read.mjs -`], { cwd: js, encoding: "utf8" });
    const want = tshark(src).map((x) => `${x.time} ${x.len} ${x.caplen}`);
    expect(r.stdout.trim().split("\n")).toEqual(want);
  });

  it("reports a truncated stream on stdin as one error after the good frames", () => {
    const { file } = sampleFile(false);
    const oracle = tshark(file).slice(0, 3).map((x) => `${x.time} ${x.len} ${x.caplen}`);
    // 24-byte header + three records, then 5 bytes of the fourth
    const cut = 24 + [0, 1, 2].reduce((s, i) => s + 16 + tshark(file)[i]!.caplen, 0);
    const r = spawnSync("sh", ["-c", `head -c ${cut + 5} '${file}' | node read.mjs -`], { cwd: js, encoding: "utf8" });
    expect(r.stdout.trim().split("\n")).toEqual([...oracle, `ERROR Cannot read stdin: file ends in the middle of record 4 at byte ${cut} (5 of 16 bytes)`]);
  });

  it("writes to stdout into a pipe that tcpdump reads", () => {
    const r = spawnSync("sh", ["-c", "node write.mjs - 20000 | tcpdump --count -r - 2>/dev/null"], { cwd: js, encoding: "utf8" });
    expect(r.stdout.trim()).toBe("20000 packets");
  });

  it("writes into a FIFO that tshark reads", async () => {
    const fifo = path.join(tmp, "fifo.pcapng");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("capinfos", ["-c", "-M", "-T", "-r", fifo], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    reader.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise((res) => reader.on("close", res));
    const w = spawnSync("node", ["write.mjs", fifo, "3000"], { cwd: js });
    expect(w.status).toBe(0);
    await done;
    expect(out.trim()).toBe(`${fifo}\t3000`);
  });

  it("SIGTERM handler flushes everything written before it (close is synchronous)", async () => {
    const file = path.join(tmp, "sigterm.pcap");
    // 5000 small frames fit in the 1 MiB buffer: nothing reaches the file before the signal
    const child = spawn("node", ["write.mjs", file, "5000", "wait"], { cwd: js, stdio: ["ignore", "ignore", "pipe"] });
    await new Promise<void>((res) => child.stderr.once("data", () => res()));
    expect(fs.statSync(file).size).toBe(0);
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(capinfosCount(file)).toBe("5000");
  });
});

describe("memory stays flat on a big file", () => {
  it("reads a ~400 MB file with RSS growth far below the file size", async () => {
    const file = path.join(tmp, "big.pcap");
    const w = new PcapWriter(file, { linkType: 1, bufferSize: 8 << 20 });
    const frame = frameOf(1, 1500);
    const count = 260_000; // 260000 * 1516 + 24 bytes ≈ 394 MB
    for (let i = 0; i < count; i++) {
      frame.sec = 1_700_000_000 + i;
      w.write(frame);
    }
    w.close();
    expect(fs.statSync(file).size).toBe(24 + count * 1516);
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    let n = 0;
    let bytes = 0;
    const r = openCaptureFile(file);
    await r.readBatches((b) => {
      n += b.count;
      for (let i = 0; i < b.count; i++) bytes += b.caplen[i]!;
      const rss = process.memoryUsage().rss;
      if (rss > peak) peak = rss;
    });
    r.close();
    expect(n).toBe(count);
    expect(bytes).toBe(count * 1500);
    // one 8 MiB buffer and the batch arrays; allow for allocator noise
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    expect(capinfosCount(file)).toBe(String(count));
    fs.rmSync(file);
  }, 60_000);
});

describe("errors", () => {
  // Issue 15: was "the system's error, not a CaptureFileError"; now a CaptureFileError that keeps the code.
  it("a missing file is a CaptureFileError with the system's code (ENOENT)", () => {
    const where = path.join(tmp, "nope.pcap");
    expect(() => openCaptureFile(where)).toThrow(`Cannot read ${where}: no such file or directory`);
    try {
      openCaptureFile(where);
    } catch (err) {
      expect(err).toBeInstanceOf(CaptureFileError);
      expect((err as CaptureFileError).code).toBe("ENOENT");
    }
  });

  it("every error is reported once: a second read after the error ends quietly", async () => {
    const { file } = sampleFile(false);
    const cut = path.join(tmp, "cut.pcap");
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 1000));
    const r = openCaptureFile(cut);
    let n = 0;
    await expect(r.readBatches((b) => (n += b.count))).rejects.toBeInstanceOf(CaptureFileError);
    await expect(r.readBatches((b) => (n += b.count))).resolves.toBeUndefined();
    r.close();
    // tshark sees the same number of whole frames before the cut
    const t = spawnSync("tshark", ["-r", cut, "-T", "fields", "-e", "frame.number"], { encoding: "utf8" });
    expect(n).toBe(t.stdout.trim().split("\n").length);
  });
});

describe("random damage", () => {
  it("mutated pcap and pcapng files end normally or in one CaptureFileError, never anything else", async () => {
    const fc = await import("fast-check");
    const { file: pcapFile } = sampleFile(false);
    const ngFile = path.join(tmp, "fuzz_base.pcapng");
    const w = openCaptureWriter(ngFile, { nanoseconds: true, interfaces: [{ linkType: 1, name: "a", filter: "tcp" }, { linkType: 101 }] });
    for (let i = 0; i < 40; i++) w.write({ ...frameOf(i, 20 + i * 13), linkType: i % 3 === 0 ? 101 : 1, interfaceId: i % 3 === 0 ? 1 : 0 });
    w.close();
    const bases = [fs.readFileSync(pcapFile).subarray(0, 6000), fs.readFileSync(ngFile)];
    const target = path.join(tmp, "fuzz.bin");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (which, edits, cut) => {
          const b = Buffer.from(bases[which]!);
          // keep the magic most of the time so the damage reaches the records
          for (const [at, v] of edits) b[8 + (at % (b.length - 8))] = v;
          fs.writeFileSync(target, cut === undefined ? b : b.subarray(0, cut % b.length));
          let errors = 0;
          try {
            const r = openCaptureFile(target, { chunkSize: 256 });
            try {
              for (const _ of r.frames());
            } finally {
              r.close();
            }
          } catch (e) {
            if (!(e instanceof CaptureFileError)) throw e;
            errors++;
          }
          expect(errors).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 400, seed: 20261125 },
    );
  });
});
