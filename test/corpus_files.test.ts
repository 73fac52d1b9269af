// Every capture of tcpdump's own regression suite (../shared/corpus/tcpdump)
// read to the end by our reader, frame counts compared with tcpdump (libpcap)
// and capinfos (Wireshark's wiretap).
//
// Findings when this was written (tcpdump 4.99.3 / libpcap 1.10.3, capinfos 4.0.17):
// - all 830 files (785 pcap, 45 pcapng) read to the end with no error, by us
//   and by tcpdump; our frame counts equal tcpdump's for every file. The
//   corpus's damage is inside packets (for the printers), not in the file
//   structure; damaged structure is covered by pcap/pcapng tests.
// - capinfos gives no count for 14 files whose link type wiretap does not
//   support (brcm-tag*.pcap, dsa*.pcap, edsa*.pcap: 282/284/285; juniper*,
//   frf16_magic_ie-oobr, kday6, vtp_asan*: "contains record data that
//   capinfos doesn't support"); for those only tcpdump's count is compared.
//   Everywhere capinfos gives a count, it equals ours.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CaptureFileError, openCaptureFile } from "../src/capture_file.ts";

const CORPUS = path.resolve(import.meta.dirname, "../../shared/corpus/tcpdump");
const haveCorpus = fs.existsSync(CORPUS);
const run = promisify(execFile);

/** Per-file time limit. Every loop of the reader advances at least 12 bytes or stops, so this is generous. */
const PER_FILE_MS = 5000;

interface Result {
  file: string;
  count: number;
  error: string | null;
  ms: number;
}

async function readOne(file: string): Promise<Result> {
  const t0 = performance.now();
  let count = 0;
  let error: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = openCaptureFile(path.join(CORPUS, file));
    try {
      const reading = r.readBatches((b) => {
        count += b.count;
      });
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${file}: not finished after ${PER_FILE_MS} ms`)), PER_FILE_MS);
      });
      await Promise.race([reading, limit]);
    } finally {
      clearTimeout(timer);
      r.close();
    }
  } catch (e) {
    // anything but a CaptureFileError is a bug: let it fail the test
    if (!(e instanceof CaptureFileError)) throw e;
    error = e.message;
  }
  return { file, count, error, ms: performance.now() - t0 };
}

/** tcpdump --count for each file, two at a time; null where tcpdump fails. */
async function tcpdumpCounts(files: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const f = files[next++]!;
      try {
        const { stdout } = await run("tcpdump", ["--count", "-r", path.join(CORPUS, f)], { maxBuffer: 1 << 20 });
        const m = /^(\d+) packets?$/m.exec(stdout);
        out.set(f, m ? Number(m[1]) : null);
      } catch {
        out.set(f, null);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

/** capinfos -c for all files at once; files it cannot read are absent. */
function capinfosCounts(files: string[]): Map<string, number> {
  let stdout: string;
  try {
    stdout = execFileSync("capinfos", ["-c", "-M", "-T", "-r", "-B", ...files], {
      cwd: CORPUS,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 1 << 24,
    });
  } catch (e) {
    // exit status 2 when some files were unreadable; the table of the others is still there
    stdout = (e as { stdout: string }).stdout;
  }
  const out = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    const [f, c] = line.split("\t");
    if (f && c && /^\d+$/.test(c)) out.set(f, Number(c));
  }
  return out;
}

describe.skipIf(!haveCorpus)(`tcpdump corpus${haveCorpus ? "" : " (skipped: ../shared/corpus/tcpdump absent)"}`, () => {
  const files = haveCorpus ? fs.readdirSync(CORPUS).filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort() : [];

  it("every file reads to the end or ends in one CaptureFileError, within the time limit, with tcpdump's and capinfos' counts", async () => {
    expect(files.length).toBe(830);
    const results: Result[] = [];
    for (const f of files) results.push(await readOne(f));
    for (const r of results) expect(r.ms, r.file).toBeLessThan(PER_FILE_MS);

    const tcpdump = await tcpdumpCounts(files);
    const capinfos = capinfosCounts(files);
    const disagreements: string[] = [];
    for (const r of results) {
      const t = tcpdump.get(r.file);
      const c = capinfos.get(r.file);
      // where a tool reads the whole file, we must too, with its count
      if (t !== null && t !== undefined && (r.error !== null || r.count !== t)) {
        disagreements.push(`${r.file}: ours ${r.count}${r.error ? ` (${r.error})` : ""}, tcpdump ${t}`);
      }
      if (c !== undefined && (r.error !== null || r.count !== c)) {
        disagreements.push(`${r.file}: ours ${r.count}${r.error ? ` (${r.error})` : ""}, capinfos ${c}`);
      }
    }
    expect(disagreements).toEqual([]);
    // the tools themselves: tcpdump reads all, capinfos all but the 14 unsupported link types (see the top)
    expect([...tcpdump.values()].filter((v) => v === null)).toEqual([]);
    expect(capinfos.size).toBe(files.length - 14);
  }, 180_000);
});
