// pcap files: our writer checked against bytes worked out by hand and against
// tshark/tcpdump/capinfos reading what it wrote; our reader checked against
// tshark's view of files written by libpcap (tcpdump -w) and editcap.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureFileError, openCaptureFile } from "../src/capture_file.ts";
import type { Frame } from "../src/frame.ts";
import { PcapWriter } from "../src/pcap.ts";

const CORPUS = path.resolve(import.meta.dirname, "../../shared/corpus/tcpdump");
const haveCorpus = fs.existsSync(CORPUS);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stackts-pcap-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface OracleRow {
  time: string;
  len: number;
  caplen: number;
  md5: string;
}

/** tshark's view of every frame: epoch time (9 digits), lengths, MD5 of the bytes. */
function tshark(file: string): OracleRow[] {
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

function ours(f: Frame): OracleRow {
  return {
    time: `${f.sec}.${String(f.nsec).padStart(9, "0")}`,
    len: f.length,
    caplen: f.data.length,
    md5: createHash("md5").update(f.data).digest("hex"),
  };
}

function readAll(file: string): { frames: Frame[]; error: unknown } {
  const r = openCaptureFile(file);
  const frames: Frame[] = [];
  let error: unknown = null;
  try {
    for (const f of r.frames()) frames.push(f);
  } catch (e) {
    error = e;
  }
  r.close();
  return { frames, error };
}

/** Deterministic pseudo-random bytes (xorshift), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function makeFrames(count: number, seed: number, nanoseconds: boolean): Frame[] {
  const r = rng(seed);
  const frames: Frame[] = [];
  let sec = 1_700_000_000;
  for (let i = 0; i < count; i++) {
    const caplen = 14 + (r() % 1500);
    const data = new Uint8Array(caplen);
    for (let j = 0; j < caplen; j++) data[j] = r() & 0xff;
    // Ethernet with a local experimental ethertype so no printer reads the random bytes as IP
    data[12] = 0x88;
    data[13] = 0xb5;
    sec += r() % 3;
    const nsec = nanoseconds ? r() % 1_000_000_000 : (r() % 1_000_000) * 1000;
    frames.push({ data, length: caplen + (r() % 2) * 100, sec, nsec, linkType: 1, interfaceId: 0 });
  }
  return frames;
}

describe("PcapWriter", () => {
  const frame: Frame = {
    data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
    length: 60,
    sec: 1_600_000_000,
    nsec: 123_456_789,
    linkType: 1,
    interfaceId: 0,
  };

  it("writes the header and a record byte for byte (microseconds)", () => {
    const file = path.join(tmp, "hand_us.pcap");
    const w = new PcapWriter(file, { linkType: 1 });
    w.write(frame);
    w.close();
    // magic a1b2c3d4 LE, version 2.4, thiszone 0, sigfigs 0, snaplen 262144 = 0x00040000, linktype 1;
    // ts_sec 1600000000 = 0x5f5e1000, ts_usec 123456 = 0x0001e240, caplen 4, len 60 = 0x3c
    expect([...fs.readFileSync(file)]).toEqual([
      0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
      0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00, 0x10, 0x5e, 0x5f, 0x40, 0xe2, 0x01, 0x00, 0x04, 0, 0, 0, 0x3c, 0, 0, 0,
      0xde, 0xad, 0xbe, 0xef,
    ]);
  });

  it("writes magic a1b23c4d and the nanoseconds as given with the nanoseconds option", () => {
    const file = path.join(tmp, "hand_ns.pcap");
    const w = new PcapWriter(file, { linkType: 1, nanoseconds: true, snaplen: 65535 });
    w.write(frame);
    w.close();
    // 123456789 = 0x075bcd15; snaplen 65535 = 0xffff
    expect([...fs.readFileSync(file)]).toEqual([
      0x4d, 0x3c, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
      0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00, 0x10, 0x5e, 0x5f, 0x15, 0xcd, 0x5b, 0x07, 0x04, 0, 0, 0, 0x3c, 0, 0, 0,
      0xde, 0xad, 0xbe, 0xef,
    ]);
  });

  it("refuses a frame of another link type (one link type per pcap file)", () => {
    const w = new PcapWriter(path.join(tmp, "lt.pcap"), { linkType: 1 });
    expect(() => w.write({ ...frame, linkType: 113 })).toThrow(/link type 1, the frame has 113/);
    w.close();
  });

  for (const nanoseconds of [false, true]) {
    it(`writes what tshark, tcpdump and capinfos read back (${nanoseconds ? "ns" : "µs"})`, () => {
      const frames = makeFrames(300, nanoseconds ? 7 : 8, nanoseconds);
      const file = path.join(tmp, `rt_${nanoseconds}.pcap`);
      const w = new PcapWriter(file, { linkType: 1, nanoseconds, bufferSize: 4096 });
      // a 4 KiB buffer: many flushes, and frames larger than what is left in the buffer
      for (const f of frames) w.write(f);
      w.close();
      expect(tshark(file)).toEqual(frames.map(ours));
      const count = execFileSync("tcpdump", ["--count", "-r", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      expect(count.trim()).toBe(`${frames.length} packets`);
      const cap = execFileSync("capinfos", ["-c", "-M", "-T", "-r", file], { encoding: "utf8" });
      expect(cap.trim()).toBe(`${file}\t${frames.length}`);
      // tcpdump's own timestamps at the file's precision
      const lines = execFileSync(
        "tcpdump",
        ["-n", "-tt", `--time-stamp-precision=${nanoseconds ? "nano" : "micro"}`, "-r", file],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, TZ: "UTC" } },
      ).split("\n").filter((l) => /^\d+\.\d+ /.test(l));
      expect(lines.map((l) => l.split(" ")[0])).toEqual(
        frames.map((f) => (nanoseconds ? `${f.sec}.${String(f.nsec).padStart(9, "0")}` : `${f.sec}.${String(f.nsec / 1000).padStart(6, "0")}`)),
      );
    });
  }
});

describe.skipIf(!haveCorpus)(`reading pcap files${haveCorpus ? "" : " (skipped: ../shared/corpus absent)"}`, () => {
  const sources = ["3560_CDP.pcap", "dhcpv6-ntp-server.pcap", "ipv6-routing-header.pcap", "EIGRP_subnet_down.pcap"].filter(
    (f) => fs.existsSync(path.join(CORPUS, f)),
  );

  it("reads files libpcap wrote (tcpdump -w, µs and --time-stamp-precision nano) as tshark does", () => {
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      for (const prec of ["micro", "nano"]) {
        const out = path.join(tmp, `${src}.${prec}.pcap`);
        execFileSync("tcpdump", ["-r", path.join(CORPUS, src), `--time-stamp-precision=${prec}`, "-w", out], { stdio: "ignore" });
        const magic = fs.readFileSync(out).readUInt32LE(0);
        expect(magic).toBe(prec === "nano" ? 0xa1b23c4d : 0xa1b2c3d4);
        const { frames, error } = readAll(out);
        expect(error).toBeNull();
        expect(frames.map(ours)).toEqual(tshark(out));
      }
    }
  });

  it("reads big-endian pcap files (written on big-endian hosts) as tshark does", () => {
    const be = fs.readdirSync(CORPUS).filter((f) => {
      const b = fs.readFileSync(path.join(CORPUS, f)).subarray(0, 4);
      return b.length === 4 && b.readUInt32BE(0) === 0xa1b2c3d4;
    });
    expect(be.length).toBeGreaterThan(0);
    for (const f of be) {
      const file = path.join(CORPUS, f);
      const { frames, error } = readAll(file);
      expect(error).toBeNull();
      expect(frames.map(ours)).toEqual(tshark(file));
    }
  });

  it("reads the modified (Kuznetsov, a1b2cd34) format that editcap writes", () => {
    const out = path.join(tmp, "modified.pcap");
    execFileSync("editcap", ["-F", "modpcap", path.join(CORPUS, sources[0]!), out]);
    expect(fs.readFileSync(out).readUInt32LE(0)).toBe(0xa1b2cd34);
    const { frames, error } = readAll(out);
    expect(error).toBeNull();
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.map(ours)).toEqual(tshark(out));
  });
});

describe.skipIf(!haveCorpus)(`damaged pcap files${haveCorpus ? "" : " (skipped: ../shared/corpus absent)"}`, () => {
  const src = path.join(CORPUS, "EIGRP_subnet_down.pcap");
  const good = haveCorpus ? tshark(src) : [];
  /** byte offset of record i (1-based), from tshark's caplens: 24 + sum of (16 + caplen) before it */
  const offsetOf = (i: number): number => 24 + good.slice(0, i - 1).reduce((s, r) => s + 16 + r.caplen, 0);

  it("delivers every record before a truncation, then one error naming the record and byte", () => {
    expect(good.length).toBeGreaterThanOrEqual(5);
    const bytes = fs.readFileSync(src);
    for (const [k, cut] of [[4, 10], [4, 3], [5, 16 + 7]] as const) {
      // cut `cut` bytes into record k
      const at = offsetOf(k);
      const file = path.join(tmp, `trunc_${k}_${cut}.pcap`);
      fs.writeFileSync(file, bytes.subarray(0, at + cut));
      const { frames, error } = readAll(file);
      expect(frames.map(ours)).toEqual(good.slice(0, k - 1));
      expect(error).toBeInstanceOf(CaptureFileError);
      const need = cut < 16 ? 16 : 16 + good[k - 1]!.caplen;
      expect((error as Error).message).toBe(
        `Cannot read ${file}: file ends in the middle of record ${k} at byte ${at} (${cut} of ${need} bytes)`,
      );
      // tcpdump agrees that the file is cut short
      const t = spawnSync("tcpdump", ["-r", file], { encoding: "utf8" });
      expect(t.stderr).toMatch(/truncated dump file/);
    }
  });

  it("stops at a giant caplen with the snaplen bound in the message, after the good records", () => {
    const bytes = Buffer.from(fs.readFileSync(src));
    const at = offsetOf(3);
    bytes.writeUInt32LE(262145, at + 8);
    const file = path.join(tmp, "giant.pcap");
    fs.writeFileSync(file, bytes);
    const { frames, error } = readAll(file);
    expect(frames.map(ours)).toEqual(good.slice(0, 2));
    expect((error as Error).message).toBe(
      `Cannot read ${file}: record 3 at byte ${at}: caplen 262145 exceeds the snaplen bound (262144)`,
    );
    // libpcap refuses the same record
    const t = spawnSync("tcpdump", ["--count", "-r", file], { encoding: "utf8" });
    expect(t.stderr).toMatch(/bigger than/);
    // a caplen near 4 GiB: the same, no allocation, no hang
    bytes.writeUInt32LE(0xfffffff0, at + 8);
    fs.writeFileSync(file, bytes);
    expect((readAll(file).error as Error).message).toMatch(/record 3 at byte \d+: caplen 4294967280 exceeds/);
  });

  it("keeps a record whose caplen exceeds its original length, as libpcap and tshark do", () => {
    const bytes = Buffer.from(fs.readFileSync(src));
    const at = offsetOf(2);
    bytes.writeUInt32LE(good[1]!.caplen - 10, at + 12);
    const file = path.join(tmp, "caplen_gt_len.pcap");
    fs.writeFileSync(file, bytes);
    const { frames, error } = readAll(file);
    expect(error).toBeNull();
    expect(frames.map(ours)).toEqual(tshark(file));
    expect(frames[1]!.length).toBe(good[1]!.caplen - 10);
  });

  it("handles empty, short, header-only and non-capture files", () => {
    const empty = path.join(tmp, "empty.pcap");
    fs.writeFileSync(empty, "");
    expect(() => openCaptureFile(empty)).toThrow(new CaptureFileError(empty, "the file is empty (not a pcap or pcapng file)"));

    const header = fs.readFileSync(src).subarray(0, 24);
    const only = path.join(tmp, "header_only.pcap");
    fs.writeFileSync(only, header);
    const r = readAll(only);
    expect(r.error).toBeNull();
    expect(r.frames).toEqual([]);
    expect(execFileSync("capinfos", ["-c", "-M", "-T", "-r", only], { encoding: "utf8" }).trim()).toBe(`${only}\t0`);

    const short = path.join(tmp, "short.pcap");
    fs.writeFileSync(short, header.subarray(0, 10));
    expect(() => openCaptureFile(short)).toThrow(`Cannot read ${short}: file ends in the middle of the file header (10 of 24 bytes)`);

    const html = path.join(tmp, "page.pcap");
    fs.writeFileSync(html, "<html><body>not a capture</body></html>\n");
    expect(() => openCaptureFile(html)).toThrow(`Cannot read ${html}: not a pcap or pcapng file (magic 0x3c68746d)`);
  });
});
