// pcapng files: our writer against bytes worked out by hand and against
// tshark/capinfos/tcpdump; our reader against tshark on files made by
// editcap/mergecap, by concatenating sections, and built by hand byte by byte
// (big-endian, power-of-two resolution, SPB/PB/NRB/ISB/custom blocks).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureFileError, openCaptureFile } from "../src/capture_file.ts";
import type { Frame } from "../src/frame.ts";
import { PcapngWriter } from "../src/pcapng.ts";

const CORPUS = path.resolve(import.meta.dirname, "../../shared/corpus/tcpdump");
const haveCorpus = fs.existsSync(CORPUS);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stackts-pcapng-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Row {
  iface: number;
  time: string;
  len: number;
  caplen: number;
  md5: string;
}

/** tshark's frames (those printed before an error too) and its stderr. */
function tshark(file: string): { rows: Row[]; stderr: string } {
  const r = spawnSync(
    "tshark",
    ["-r", file, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields", "-E", "separator=/t",
      "-e", "frame.interface_id", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.md5_hash"],
    { encoding: "utf8", maxBuffer: 1 << 28 },
  );
  const rows = r.stdout.split("\n").filter((l) => l !== "").map((l) => {
    const [iface, time, len, caplen, md5] = l.split("\t");
    return { iface: Number(iface), time: time!, len: Number(len), caplen: Number(caplen), md5: md5! };
  });
  return { rows, stderr: r.stderr.replace(/Running as user "root".*\n/, "") };
}

function ours(f: Frame): Row {
  return {
    iface: f.interfaceId,
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

// --- hand-made blocks -------------------------------------------------------

function u16(le: boolean, v: number): number[] {
  return le ? [v & 0xff, v >>> 8] : [v >>> 8, v & 0xff];
}
function u32(le: boolean, v: number): number[] {
  const b = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return le ? b.reverse() : b;
}
function pad4(b: number[]): number[] {
  return [...b, ...new Array((4 - (b.length % 4)) % 4).fill(0)];
}
function opt(le: boolean, code: number, value: number[]): number[] {
  return [...u16(le, code), ...u16(le, value.length), ...pad4(value)];
}
function block(le: boolean, type: number, body: number[]): number[] {
  const len = 12 + body.length;
  return [...u32(le, type), ...u32(le, len), ...body, ...u32(le, len)];
}
const ascii = (s: string): number[] => [...Buffer.from(s, "latin1")];
function shb(le: boolean): number[] {
  return block(le, 0x0a0d0d0a, [...u32(le, 0x1a2b3c4d), ...u16(le, 1), ...u16(le, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}
function idb(le: boolean, linkType: number, snaplen: number, options: number[][] = []): number[] {
  const opts = options.length > 0 ? [...options.flat(), 0, 0, 0, 0] : [];
  return block(le, 1, [...u16(le, linkType), 0, 0, ...u32(le, snaplen), ...opts]);
}
function epb(le: boolean, ifid: number, hi: number, lo: number, data: number[], origlen = data.length): number[] {
  return block(le, 6, [...u32(le, ifid), ...u32(le, hi), ...u32(le, lo), ...u32(le, data.length), ...u32(le, origlen), ...pad4(data)]);
}
const payload = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe("PcapngWriter", () => {
  it("writes SHB, IDB and EPB byte for byte", () => {
    const file = path.join(tmp, "hand.pcapng");
    const w = new PcapngWriter(file, { interfaces: [{ linkType: 1, name: "eth0" }] });
    w.write({ data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef), length: 60, sec: 1_600_000_000, nsec: 123_456_789, linkType: 1, interfaceId: 0 });
    w.close();
    // SHB: 12 + 16 fixed + shb_userappl (4 + "stackts" padded to 8) + opt_endofopt 4 = 44 = 0x2c
    // IDB: 12 + 8 fixed + if_name (4 + "eth0") + opt_endofopt 4 = 32 = 0x20; snaplen 262144 = 0x00040000
    // EPB: 32 + 4 data = 36 = 0x24; µs timestamp 1600000000123456 = 0x0005af31_07a5e240
    expect([...fs.readFileSync(file)]).toEqual([
      0x0a, 0x0d, 0x0d, 0x0a, 0x2c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      4, 0, 7, 0, 0x73, 0x74, 0x61, 0x63, 0x6b, 0x74, 0x73, 0, 0, 0, 0, 0, 0x2c, 0, 0, 0,
      1, 0, 0, 0, 0x20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0,
      2, 0, 4, 0, 0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0, 0x20, 0, 0, 0,
      6, 0, 0, 0, 0x24, 0, 0, 0, 0, 0, 0, 0, 0x31, 0xaf, 0x05, 0, 0x40, 0xe2, 0xa5, 0x07,
      4, 0, 0, 0, 0x3c, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x24, 0, 0, 0,
    ]);
  });

  for (const nanoseconds of [false, true]) {
    it(`writes interfaces and packets that tshark and capinfos read back (${nanoseconds ? "ns" : "µs"})`, () => {
      const file = path.join(tmp, `w_${nanoseconds}.pcapng`);
      const w = new PcapngWriter(file, {
        nanoseconds,
        bufferSize: 1024,
        interfaces: [
          { linkType: 1, name: "eth0", description: "veth end a", filter: "udp port 53 or icmp" },
          { linkType: 101, name: "tun0", snaplen: 1500 },
        ],
      });
      const frames: Frame[] = [];
      for (let i = 0; i < 200; i++) {
        const n = 20 + ((i * 37) % 1400);
        const data = Uint8Array.from(payload(n, i));
        data[12] = 0x88;
        data[13] = 0xb5;
        // today and the year 2100 (still below 2^32 s), nanoseconds spread over the second
        const sec = i % 2 === 0 ? 1_700_000_000 + i : 4_102_444_800 + i;
        const nsec = nanoseconds ? (i * 123_456_789 + 999_999_000) % 1_000_000_000 : ((i * 12_345) % 1_000_000) * 1000;
        frames.push({ data, length: n + (i % 3), sec, nsec, linkType: i % 5 === 0 ? 101 : 1, interfaceId: i % 5 === 0 ? 1 : 0 });
      }
      for (const f of frames) w.write(f);
      w.close();
      const t = tshark(file);
      expect(t.stderr).toBe("");
      expect(t.rows).toEqual(frames.map(ours));
      const info = spawnSync("capinfos", [file], { encoding: "utf8" }).stdout;
      expect(info).toMatch(/Capture application: stackts\n/);
      expect(info).toMatch(/Number of interfaces in file: 2\n/);
      // capinfos shows if_tsresol only when the file has the option (we write it for ns only)
      const res = nanoseconds ? "Time resolution = 0x09\\s+" : "";
      expect(info).toMatch(
        new RegExp(`Interface #0 info:\\s+Name = eth0\\s+Description = veth end a\\s+Encapsulation = Ethernet \\(1 - ether\\)\\s+Capture length = 262144\\s+Time precision = \\S+ \\(${nanoseconds ? 9 : 6}\\)\\s+Time ticks per second = \\d+\\s+${res}Filter string = udp port 53 or icmp\\s`),
      );
      expect(info).toMatch(/Interface #1 info:\s+Name = tun0\s+Encapsulation = Raw IP \(7 - rawip\)\s+Capture length = 1500\s/);
      // and our reader gives back what we wrote, interfaces included
      const r = openCaptureFile(file);
      expect(r.interfaces.map((i) => [i.linkType, i.name, i.description, i.filter, i.snaplen, i.tsresol])).toEqual([
        [1, "eth0", "veth end a", "udp port 53 or icmp", 262144, nanoseconds ? 9 : 6],
        [101, "tun0", null, null, 1500, nanoseconds ? 9 : 6],
      ]);
      r.close();
    });
  }

  it("a single-link-type file is read by tcpdump (libpcap) too", () => {
    const file = path.join(tmp, "one.pcapng");
    const w = new PcapngWriter(file, { nanoseconds: true });
    // no interfaces given: described from the first frame
    w.write({ data: Uint8Array.from(payload(60, 1)), length: 60, sec: 1_700_000_000, nsec: 1, linkType: 1, interfaceId: 0 });
    w.write({ data: Uint8Array.from(payload(61, 2)), length: 61, sec: 1_700_000_001, nsec: 999_999_999, linkType: 1, interfaceId: 0 });
    w.close();
    const out = spawnSync("tcpdump", ["-n", "-tt", "--time-stamp-precision=nano", "-r", file], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } });
    const times = out.stdout.split("\n").filter((l) => /^\d+\.\d+ /.test(l)).map((l) => l.split(" ")[0]);
    expect(times).toEqual(["1700000000.000000001", "1700000001.999999999"]);
  });
});

describe("reading hand-built pcapng files", () => {
  it("big-endian section with 2^-20 s resolution and if_tsoffset, SPB, obsolete PB and skipped blocks; then a little-endian ns section", () => {
    const BE = false;
    const LE = true;
    const d1 = payload(45, 1);
    const d2 = payload(30, 2);
    const d3 = payload(33, 3);
    const d4 = payload(64, 4);
    const bytes = [
      ...shb(BE),
      // IDB 0: Ethernet, snaplen 40, if_name "be0", if_tsresol 0x94 (2^-20 s), if_tsoffset 1000 s
      ...idb(BE, 1, 40, [opt(BE, 2, ascii("be0")), opt(BE, 9, [0x94]), opt(BE, 14, [0, 0, 0, 0, 0, 0, 0x03, 0xe8])]),
      // EPB: ts = 5.5 s in units of 2^-20 = 5.5 * 1048576 = 5767168 = 0x00580000
      ...epb(BE, 0, 0, 0x00580000, d1, 100),
      // Name Resolution Block, Interface Statistics Block, custom block: skipped
      ...block(BE, 4, [...u16(BE, 1), ...u16(BE, 9), 10, 0, 0, 1, ...ascii("host"), 0, 0, 0, 0, 0, 0, 0, 0]),
      ...block(BE, 5, [...u32(BE, 0), ...u32(BE, 0), ...u32(BE, 1), 0, 0, 0, 0]),
      ...block(BE, 0x00000bad, [...u32(BE, 32473), 1, 2, 3, 4]),
      // SPB: original length 50, bounded by IDB 0's snaplen 40; the block holds 40 bytes
      ...block(BE, 3, [...u32(BE, 50), ...pad4(payload(40, 9))]),
      // obsolete Packet Block: ifid 0, drops 0, ts = 2^32 + 2^19 units = 4096.5 s
      ...block(BE, 2, [...u16(BE, 0), ...u16(BE, 0), ...u32(BE, 1), ...u32(BE, 0x00080000), ...u32(BE, d2.length), ...u32(BE, 70), ...pad4(d2)]),
      // section 2, little-endian: interface ids start again at 0
      ...shb(LE),
      ...idb(LE, 101, 0, [opt(LE, 2, ascii("le0")), opt(LE, 9, [9]), opt(LE, 11, [0, ...ascii("ip")])]),
      ...idb(LE, 1, 0, [opt(LE, 9, [3])]),
      // ns: 1700000000123456789 = 0x17979cfe_3d85cd15
      ...epb(LE, 0, 0x17979cfe, 0x3d85cd15, d3),
      // ms: 1700000000999 = 0x18b_cfe56be7
      ...epb(LE, 1, 0x18b, 0xcfe56be7, d4),
    ];
    const file = path.join(tmp, "hand_mixed.pcapng");
    fs.writeFileSync(file, Uint8Array.from(bytes));
    const { frames, error } = readAll(file);
    expect(error).toBeNull();
    // values worked out above
    expect(frames.map((f) => [f.interfaceId, f.linkType, f.sec, f.nsec, f.data.length, f.length])).toEqual([
      [0, 1, 1005, 500_000_000, 45, 100],
      [0, 1, 0, 0, 40, 50],
      [0, 1, 5096, 500_000_000, 30, 70],
      [1, 101, 1_700_000_000, 123_456_789, 33, 33],
      [2, 1, 1_700_000_000, 999_000_000, 64, 64],
    ]);
    const r = openCaptureFile(file);
    expect(r.linkType).toBe(1);
    for (const _ of r.frames());
    expect(r.sections.map((s) => s.littleEndian)).toEqual([false, true]);
    expect(r.interfaces.map((i) => [i.id, i.section, i.name, i.tsresol, i.tsoffset, i.filter])).toEqual([
      [0, 0, "be0", 0x94, 1000, null],
      [1, 1, "le0", 9, 0, "ip"],
      [2, 1, null, 3, 0, null],
    ]);
    r.close();
    // tshark agrees, given three differences of presentation: it lists the
    // custom block as a record of its own (we skip it: not a packet), it shows no
    // time for the SPB (none in the block; we give 0), and its interface ids count
    // from 0 again in each section (ours index the reader's interface list).
    const t = tshark(file).rows;
    expect(t.length).toBe(6);
    expect(t[1]!.len).toBe(4); // the custom block's 4 bytes after its enterprise number
    const local = [0, 0, 0, 0, 1];
    expect(frames.map((f, i) => ({ ...ours(f), iface: local[i], time: i === 1 ? "" : ours(f).time }))).toEqual(
      t.filter((_, i) => i !== 1),
    );
  });
});

describe.skipIf(!haveCorpus)(`reading pcapng files made by editcap and mergecap${haveCorpus ? "" : " (skipped: ../shared/corpus absent)"}`, () => {
  it("several interfaces with different link types and resolutions, and several sections, as tshark reads them", () => {
    // Ethernet at ns resolution, Linux cooked at µs, raw IP at µs
    const ethNs = path.join(tmp, "eth_ns.pcap");
    spawnSync("tcpdump", ["-r", path.join(CORPUS, "3560_CDP.pcap"), "--time-stamp-precision=nano", "-w", ethNs]);
    const inputs = [ethNs, path.join(CORPUS, "bgp-enhanced-route-refresh-subtype.pcapng")];
    const sll = fs.readdirSync(CORPUS).find((f) => f.endsWith(".pcap") && fs.readFileSync(path.join(CORPUS, f)).readUInt32LE(20) === 113);
    if (sll) inputs.push(path.join(CORPUS, sll));
    const ng = inputs.map((f, i) => {
      const out = path.join(tmp, `in${i}.pcapng`);
      expect(spawnSync("editcap", ["-F", "pcapng", f, out]).status).toBe(0);
      return out;
    });
    const merged = path.join(tmp, "merged.pcapng");
    expect(spawnSync("mergecap", ["-F", "pcapng", "-w", merged, ...ng]).status).toBe(0);
    const sections = path.join(tmp, "sections.pcapng");
    fs.writeFileSync(sections, Buffer.concat([...ng, merged].map((f) => fs.readFileSync(f))));
    for (const file of [...ng, merged, sections]) {
      const { frames, error } = readAll(file);
      expect(error).toBeNull();
      const t = tshark(file);
      expect(t.stderr).toBe("");
      // tshark numbers interfaces from 0 in each section; ours index the whole list
      const r = openCaptureFile(file);
      for (const _ of r.frames());
      const first = r.interfaces.map((i) => r.interfaces.findIndex((j) => j.section === i.section));
      r.close();
      expect(frames.map((f) => ({ ...ours(f), iface: f.interfaceId - first[f.interfaceId]! }))).toEqual(t.rows);
    }
    const r = openCaptureFile(merged);
    expect(new Set(r.interfaces.map((i) => i.linkType))).toEqual(new Set(sll ? [1, 113] : [1]));
    expect(new Set(r.interfaces.map((i) => i.tsresol))).toEqual(new Set([6, 9]));
    r.close();
  });
});

describe("damaged pcapng files", () => {
  // A file of our own whose layout is known: SHB 44 bytes (the hand-checked
  // test above), IDB with no options 20 bytes, then EPBs of 32 + caplen (caplen
  // a multiple of 4 here).
  const sizes = [60, 64, 100, 120, 40, 80];
  const make = (): { bytes: Buffer; frames: Frame[]; offsets: number[] } => {
    const file = path.join(tmp, "base.pcapng");
    const w = new PcapngWriter(file, { interfaces: [{ linkType: 1 }] });
    const frames = sizes.map((n, i) => ({ data: Uint8Array.from(payload(n, i)), length: n, sec: 1_700_000_000 + i, nsec: i * 1000, linkType: 1, interfaceId: 0 }));
    for (const f of frames) w.write(f);
    w.close();
    const offsets: number[] = [];
    let at = 44 + 20;
    for (const n of sizes) {
      offsets.push(at);
      at += 32 + n;
    }
    return { bytes: Buffer.from(fs.readFileSync(file)), frames, offsets };
  };
  const { frames: good, offsets } = make();
  // block numbers: SHB 1, IDB 2, EPB k is block k + 2

  function expectDamage(name: string, mutate: (b: Buffer) => Buffer, frames: number, message: string): void {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, mutate(make().bytes));
    const { frames: got, error } = readAll(file);
    expect(got.map(ours)).toEqual(good.slice(0, frames).map(ours));
    expect(error).toBeInstanceOf(CaptureFileError);
    expect((error as Error).message).toBe(`Cannot read ${file}: ${message}`);
    // tshark too stops after the same frames, with an error
    const t = tshark(file);
    expect(t.rows.length).toBe(frames);
    expect(t.stderr).not.toBe("");
  }

  it("the file is sane, and tshark reads it whole", () => {
    const file = path.join(tmp, "base.pcapng");
    expect(tshark(file).rows).toEqual(good.map(ours));
    expect(fs.statSync(file).size).toBe(offsets[5]! + 32 + 80);
  });

  it("truncated in a block header and in a block body", () => {
    expectDamage("t1.pcapng", (b) => b.subarray(0, offsets[3]! + 6), 3, `file ends in the middle of block 6 at byte ${offsets[3]} (6 of 12 bytes)`);
    expectDamage("t2.pcapng", (b) => b.subarray(0, offsets[4]! + 50), 4, `file ends in the middle of block 7 at byte ${offsets[4]} (50 of 72 bytes)`);
  });

  it("block lengths that lie: < 12, zero, not a multiple of 4, header and trailer disagree, giant", () => {
    const setLen = (k: number, v: number) => (b: Buffer): Buffer => {
      b.writeUInt32LE(v, offsets[k]! + 4);
      return b;
    };
    expectDamage("l8.pcapng", setLen(2, 8), 2, `block 5 at byte ${offsets[2]}: block length 8 is less than the minimum of 12`);
    expectDamage("l0.pcapng", setLen(2, 0), 2, `block 5 at byte ${offsets[2]}: block length 0 is less than the minimum of 12`);
    expectDamage("l4.pcapng", setLen(1, 98), 1, `block 4 at byte ${offsets[1]}: block length 98 is not a multiple of 4`);
    // with 100 the trailer is looked for at byte 96 of the block: the next block's type, 6
    expectDamage("lt.pcapng", setLen(1, 100), 1, `block 4 at byte ${offsets[1]}: block length 100 at the start disagrees with 6 at the end`);
    expectDamage("lg.pcapng", setLen(3, 0x7ffffffc), 3, `block 6 at byte ${offsets[3]}: block length 2147483644 exceeds the limit of 16777216 bytes`);
    // a length within the limit but past the end of the file: truncation, found without reading 16 MiB
    expectDamage("lp.pcapng", setLen(5, 1 << 20), 5, `file ends in the middle of block 8 at byte ${offsets[5]} (112 of 1048576 bytes)`);
  });

  it("an EPB on an interface that does not exist, and a caplen past its block", () => {
    expectDamage("if.pcapng", (b) => {
      b.writeUInt32LE(3, offsets[2]! + 8);
      return b;
    }, 2, `block 5 at byte ${offsets[2]}: packet on interface 3, but the section describes 1 interface(s)`);
    expectDamage("cl.pcapng", (b) => {
      b.writeUInt32LE(101, offsets[2]! + 20);
      return b;
    }, 2, `block 5 at byte ${offsets[2]}: caplen 101 exceeds the 100 bytes of packet data in the block`);
  });

  it("a header-only pcapng file has no frames and no error", () => {
    const file = path.join(tmp, "shb_only.pcapng");
    fs.writeFileSync(file, make().bytes.subarray(0, 44 + 20));
    const { frames, error } = readAll(file);
    expect(error).toBeNull();
    expect(frames).toEqual([]);
    expect(tshark(file).rows).toEqual([]);
  });
});
