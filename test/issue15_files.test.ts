/**
 * Issue 15, file readers and filters: bounded memory on pcapng files that repeat
 * blocks (caps, one warning per cap), BPF per link type in mixed pcapng files,
 * the JSON `index` as the frame number, tcpdump's [Invalid header] for a record
 * whose length is below its caplen, undecoded link types said once and printed
 * as hex, and file errors as CaptureFileError / `stackts: FILE : why`.
 *
 * Oracles: tshark (frame numbers of a display filter), tcpdump (its lines for
 * the same files), and byte layouts and lines worked out by hand.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureFileError, openCaptureFile, openCaptureWriter } from "../src/capture_file.ts";
import { PcapWriter } from "../src/pcap.ts";
import { PcapngWriter } from "../src/pcapng.ts";
import { TcpSeqTracker } from "../src/tcp_seq_tracker.ts";
import { hasCommand } from "./helpers/lab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const CORPUS = join(ROOT, "../shared/corpus/tcpdump");
const built = existsSync(join(ROOT, "dist/src/cli/main.js"));

/**
 * Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, IPv4 10.0.0.1 > 10.0.0.2
 * (id 1, ttl 64, checksum 0x66de), ICMP echo request id 0x1234 seq 1
 * (checksum 0xe5ca): 42 bytes, every checksum worked out by hand.
 */
const ICMP_FRAME = Uint8Array.from(
  Buffer.from("020000000002020000000001" + "0800" + "4500001c000100004001" + "66de" + "0a0000010a000002" + "0800e5ca12340001", "hex"),
);
const ICMP_LINE = "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 1, length 8";
/** The same IP packet as UDP (protocol 17): not ICMP to any filter. */
const UDP_FRAME = ICMP_FRAME.slice();
UDP_FRAME[23] = 17;

function stackts(args: string[], opts: { preload?: string } = {}): { stdout: string; stderr: string; code: number | null } {
  const pre = opts.preload === undefined ? [] : ["--import", opts.preload];
  const r = spawnSync(process.execPath, [...pre, BIN, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    env: { ...process.env, STACKTS_DEBUG: "", TZ: "UTC" },
  });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

// --- pcapng blocks by hand (little-endian), draft-ietf-opsawg-pcapng ------------

function block(type: number, body: Uint8Array): Buffer {
  const pad = (4 - (body.length % 4)) % 4;
  const len = 12 + body.length + pad;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  Buffer.from(body).copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

function option(code: number, value: Uint8Array): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  Buffer.from(value).copy(b, 4);
  return b;
}

const END_OF_OPTIONS = Buffer.alloc(4);

function shb(options: Buffer[] = []): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(0x1a2b3c4d, 0);
  fixed.writeUInt16LE(1, 4);
  fixed.writeBigInt64LE(-1n, 8);
  return block(0x0a0d0d0a, Buffer.concat([fixed, ...(options.length > 0 ? [...options, END_OF_OPTIONS] : [])]));
}

function idb(linkType: number, name?: string): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(linkType, 0);
  const opts = name === undefined ? [] : [option(2, Buffer.from(name)), END_OF_OPTIONS];
  return block(1, Buffer.concat([fixed, ...opts]));
}

function epb(ifid: number, data: Uint8Array, sec = 1): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(ifid, 0);
  const ts = BigInt(sec) * 1_000_000n;
  fixed.writeUInt32LE(Number(ts >> 32n), 4);
  fixed.writeUInt32LE(Number(ts & 0xffffffffn), 8);
  fixed.writeUInt32LE(data.length, 12);
  fixed.writeUInt32LE(data.length, 16);
  return block(6, Buffer.concat([fixed, Buffer.from(data)]));
}

/** `count` copies of `unit`, filled in one go. */
function repeat(unit: Buffer, count: number): Buffer {
  const b = Buffer.alloc(unit.length * count);
  b.fill(unit);
  return b;
}

/**
 * A hostile pcapng file: one section with an Ethernet interface, then `ifaces`
 * minimal IDBs, `others` name resolution blocks and as many custom blocks, a
 * packet on interface 0; then `sections` more sections of one IDB each, and a
 * packet in the last.
 */
function hostileFile(ifaces: number, others: number, sections: number): Buffer {
  const nrb = block(4, Buffer.alloc(4)); // nrb_record_end only
  const custom = block(0x00000bad, Buffer.from([0, 0, 0x7f, 0xff])); // a PEN, no data
  return Buffer.concat([
    shb(),
    idb(1),
    repeat(idb(1), ifaces),
    repeat(nrb, others),
    repeat(custom, others),
    epb(0, ICMP_FRAME, 1),
    repeat(Buffer.concat([shb(), idb(1)]), sections),
    epb(0, ICMP_FRAME, 2),
  ]);
}

const skipNoBuild = built ? false : "dist/ missing: run npm run build:ts (npm test does)";

describe("pcapng caps: bounded memory whatever a file repeats", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "stackts-i15-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(skipNoBuild !== false)(
    "stackts read of ~2.7 M blocks grows by less than 64 MB over a tenth of them, prints both packets and one line per cap",
    () => {
      // Peak resident memory of the child, printed at its exit.
      const preload = join(dir, "maxrss.mjs");
      writeFileSync(preload, 'process.on("exit", () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`));\n');
      const small = join(dir, "small.pcapng");
      const big = join(dir, "big.pcapng");
      writeFileSync(small, hostileFile(200_000, 30_000, 10_000));
      writeFileSync(big, hostileFile(2_000_000, 300_000, 100_000));
      const rss = (r: { stderr: string }): number => Number(/maxrss (\d+)/.exec(r.stderr)?.[1] ?? NaN) * 1024;
      const a = stackts(["read", small], { preload });
      const b = stackts(["read", big], { preload });
      for (const r of [a, b]) {
        expect(r.code).toBe(0);
        expect(lines(r.stdout)).toEqual([`00:00:01.000000 ${ICMP_LINE}`, `00:00:02.000000 ${ICMP_LINE}`]);
      }
      const warnings = lines(b.stderr).filter((l) => !l.startsWith("maxrss"));
      expect(warnings).toHaveLength(3);
      expect(warnings.filter((l) => /^stackts: warning : .*big\.pcapng: block \d+: more than 65536 interfaces in one section/.test(l))).toHaveLength(1);
      expect(warnings.filter((l) => /more than 65536 sections: the rest are read but not listed/.test(l))).toHaveLength(1);
      expect(warnings.filter((l) => /more than 65536 interfaces in the file: the rest are read but not listed/.test(l))).toHaveLength(1);
      // Before the caps: 595 MB for 2 M interfaces, ~270 bytes per block kept.
      expect(rss(b) - rss(a)).toBeLessThan(64 * 1024 * 1024);
      expect(rss(b)).toBeLessThan(300 * 1024 * 1024);
    },
    120_000,
  );

  it("caps can be lowered: interfaces, sections and text kept, a warning each, a packet on an interface not kept ends the file", () => {
    const path = join(dir, "caps.pcapng");
    const names = ["if0", "if1", "if2", "if3", "if4"];
    writeFileSync(
      path,
      Buffer.concat([
        shb([option(2, Buffer.from("hw"))]),
        ...names.map((n) => idb(1, n)),
        epb(2, ICMP_FRAME, 1),
        shb(),
        idb(101),
        epb(0, ICMP_FRAME.subarray(14), 2),
        shb(),
        idb(1),
        epb(0, ICMP_FRAME, 3),
        epb(4, ICMP_FRAME, 4), // section 3 has one interface
      ]),
    );
    const seen: string[] = [];
    const r = openCaptureFile(path, { limits: { interfaces: 3, sections: 2, metadataBytes: 10 }, onWarning: (m) => seen.push(m) });
    const frames: number[] = [];
    let error: unknown = null;
    try {
      for (const f of r.frames()) frames.push(f.sec);
    } catch (err) {
      error = err;
    }
    r.close();
    expect(frames).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(CaptureFileError);
    expect((error as Error).message).toMatch(/packet on interface 4, but the section describes 1 interface/);
    // "hw" (2) + if0, if1 (3 each) = 8 bytes kept; "if2" would pass 10
    expect(r.sections.map((s) => s.hardware)).toEqual(["hw", null]);
    expect(r.interfaces.map((i) => [i.id, i.section, i.name])).toEqual([
      [0, 0, "if0"],
      [1, 0, "if1"],
      [2, 0, null],
    ]);
    expect(seen).toEqual(r.warnings);
    expect(seen).toHaveLength(4);
    expect(seen[0]).toMatch(/^block 4: more than 10 bytes of interface and section text options: the rest are not kept$/);
    expect(seen[1]).toMatch(/^block 5: more than 3 interfaces in one section: the rest are not kept/);
    expect(seen[2]).toMatch(/^block 9: more than 3 interfaces in the file: the rest are read but not listed$/);
    expect(seen[3]).toMatch(/^block 11: more than 2 sections: the rest are read but not listed$/);
  });

  it("a packet on an interface past the cap is an error that says so", () => {
    const path = join(dir, "past.pcapng");
    writeFileSync(path, Buffer.concat([shb(), idb(1), idb(1), idb(1), epb(2, ICMP_FRAME)]));
    const r = openCaptureFile(path, { limits: { interfaces: 2 } });
    expect(() => [...r.frames()]).toThrow(/block 5 at byte \d+: packet on interface 2, beyond the 2 interfaces kept per section/);
    r.close();
  });
});

describe.skipIf(skipNoBuild !== false)("stackts read: filters, index, lengths, link types", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "stackts-i15r-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasCommand("tshark"))("compiles the filter per link type: Ethernet and raw-IP frames of one pcapng, as tshark counts and numbers them", () => {
    const path = join(dir, "mixed.pcapng");
    const w = new PcapngWriter(path, { interfaces: [{ linkType: 1, name: "eth0" }, { linkType: 101, name: "tun0" }] });
    const raw = (d: Uint8Array): Uint8Array => d.subarray(14);
    const frames: [number, Uint8Array][] = [
      [0, ICMP_FRAME],
      [1, raw(UDP_FRAME)],
      [1, raw(ICMP_FRAME)],
      [0, UDP_FRAME],
      [0, ICMP_FRAME],
      [1, raw(ICMP_FRAME)],
    ];
    frames.forEach(([ifid, data], i) => w.write({ data, length: data.length, sec: i + 1, nsec: 0, linkType: ifid === 0 ? 1 : 101, interfaceId: ifid }));
    w.close();
    const tshark = spawnSync("tshark", ["-r", path, "-Y", "icmp", "-T", "fields", "-e", "frame.number"], { encoding: "utf8" });
    const numbers = lines(tshark.stdout).map(Number);
    expect(numbers).toEqual([1, 3, 5, 6]);
    const json = stackts(["read", "--json", path, "icmp"]);
    expect(json.code).toBe(0);
    expect(json.stderr).toBe("");
    expect(lines(json.stdout).map((l) => (JSON.parse(l) as { index: number }).index)).toEqual(numbers);
    const text = stackts(["read", path, "icmp"]);
    expect(lines(text.stdout)).toEqual(numbers.map((n) => `00:00:0${n}.000000 ${ICMP_LINE}`));
    // without a filter the index is still the frame number: 1..6
    expect(lines(stackts(["read", "--json", path]).stdout).map((l) => (JSON.parse(l) as { index: number }).index)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it.skipIf(!hasCommand("tshark"))("a filter that does not apply to the first interface's link type skips its frames, with one warning", () => {
    const path = join(dir, "first-undecoded.pcapng");
    const w = new PcapngWriter(path, { interfaces: [{ linkType: 4242 }, { linkType: 1 }] });
    w.write({ data: ICMP_FRAME, length: 42, sec: 1, nsec: 0, linkType: 4242, interfaceId: 0 });
    w.write({ data: ICMP_FRAME, length: 42, sec: 2, nsec: 0, linkType: 1, interfaceId: 1 });
    w.close();
    const numbers = lines(spawnSync("tshark", ["-r", path, "-Y", "icmp", "-T", "fields", "-e", "frame.number"], { encoding: "utf8" }).stdout).map(Number);
    expect(numbers).toEqual([2]);
    const r = stackts(["read", "--json", path, "icmp"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => (JSON.parse(l) as { index: number }).index)).toEqual(numbers);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^stackts: warning : filter 'icmp' does not apply to link type 4242 \(.*\): its frames are skipped\n$/);
    // a wrong expression is still a usage error, with libpcap's reason for it
    const bad = stackts(["read", path, "icmp and"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("stackts: filter 'icmp and' : can't parse filter expression: syntax error\n");
  });

  it.skipIf(!hasCommand("tcpdump"))("LINUX_SLL2 frames print `ifname In/Out` as tcpdump -r does, with -e too (interface 1 is lo here; 99999 is none: ?)", () => {
    const path = join(dir, "sll2.pcap");
    const w = new PcapWriter(path, { linkType: 276 });
    const ip = ICMP_FRAME.subarray(14);
    for (const [pkttype, sec, ifindex] of [[0, 1, 1], [4, 2, 1], [1, 3, 1], [0, 4, 99999]] as const) {
      // protocol 0x0800, reserved, ifindex, ARPHRD_ETHER, packet type, address length 6, address
      const head = Buffer.from("08000000" + ifindex.toString(16).padStart(8, "0") + "0001" + pkttype.toString(16).padStart(2, "0") + "06" + "0200000000010000", "hex");
      const data = Buffer.concat([head, ip]);
      w.write({ data, length: data.length, sec, nsec: 0, linkType: 276, interfaceId: 0 });
    }
    w.close();
    const tcpdump = (args: string[]): string[] => lines(spawnSync("tcpdump", ["-n", ...args, "-r", path], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } }).stdout);
    const theirs = tcpdump([]);
    expect(theirs[0]).toBe(`00:00:01.000000 lo    In  ${ICMP_LINE}`);
    expect(theirs[3]).toBe(`00:00:04.000000 ?     In  ${ICMP_LINE}`);
    expect(lines(stackts(["read", path]).stdout)).toEqual(theirs);
    const theirsE = tcpdump(["-e"]);
    expect(theirsE[0]).toMatch(/^00:00:01\.000000 lo {4}In {2}ifindex 1 02:00:00:00:00:01 ethertype IPv4 \(0x0800\), length \d+: /);
    expect(lines(stackts(["read", "-e", path]).stdout)).toEqual(theirsE);
  });

  it.skipIf(!hasCommand("tcpdump"))("a record with length below caplen prints tcpdump's [Invalid header] line", () => {
    const path = join(dir, "badlen.pcap");
    const w = new PcapWriter(path, { linkType: 1 });
    w.write({ data: ICMP_FRAME, length: 10, sec: 1, nsec: 0, linkType: 1, interfaceId: 0 });
    w.write({ data: UDP_FRAME, length: 10, sec: 2, nsec: 0, linkType: 1, interfaceId: 0 });
    w.write({ data: ICMP_FRAME, length: 42, sec: 3, nsec: 0, linkType: 1, interfaceId: 0 });
    w.close();
    const theirs = lines(spawnSync("tcpdump", ["-n", "-r", path], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } }).stdout);
    expect(theirs).toEqual(["[Invalid header: len(10) < caplen(42)]", "[Invalid header: len(10) < caplen(42)]", `00:00:03.000000 ${ICMP_LINE}`]);
    const ours = stackts(["read", path]);
    expect(ours.code).toBe(0);
    expect(lines(ours.stdout)).toEqual(theirs);
    const rows = lines(stackts(["read", "--json", path]).stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows[0]).toMatchObject({ index: 1, caplen: 42, length: 10, layers: [], errors: [{ layer: "frame", kind: "malformed", reason: "invalid header: len(10) < caplen(42)" }] });
    expect(rows[2]).toMatchObject({ index: 3, caplen: 42, length: 42 });
  });

  it("an undecoded link type is said once on stderr and its frames print as hex (JSON: payload and undecodedLinkType)", () => {
    const path = join(dir, "lt4242.pcap");
    const w = new PcapWriter(path, { linkType: 4242 });
    for (let i = 1; i <= 3; i++) w.write({ data: ICMP_FRAME, length: 42, sec: i, nsec: 0, linkType: 4242, interfaceId: 0 });
    w.write({ data: ICMP_FRAME.subarray(0, 5), length: 5, sec: 4, nsec: 0, linkType: 4242, interfaceId: 0 });
    w.close();
    const r = stackts(["read", path]);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toEqual(["stackts: warning : link type 4242 is not decoded: its frames print as their first 16 bytes in hex (-x for all)"]);
    const first16 = "02000000000202000000000108004500";
    expect(lines(r.stdout)).toEqual([
      `00:00:01.000000 link-type 4242 (not decoded), length 42: ${first16}...`,
      `00:00:02.000000 link-type 4242 (not decoded), length 42: ${first16}...`,
      `00:00:03.000000 link-type 4242 (not decoded), length 42: ${first16}...`,
      "00:00:04.000000 link-type 4242 (not decoded), length 5: 0200000000",
    ]);
    const row = JSON.parse(lines(stackts(["read", "--json", "-c", "1", path]).stdout)[0]!) as Record<string, unknown>;
    expect(row).toMatchObject({ undecodedLinkType: 4242, index: 1, caplen: 42, length: 42, errors: [] });
    expect(row["layers"]).toEqual([{ layer: "payload", data: Buffer.from(ICMP_FRAME).toString("hex") }]);
  });

  it.skipIf(!existsSync(CORPUS) || !hasCommand("tcpdump"))("radiotap corpus files: one note, one line per frame tcpdump prints", () => {
    const files = readdirSync(CORPUS).filter((f) => /^ieee802\.11_/.test(f)).slice(0, 3);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const path = join(CORPUS, f);
      const theirs = lines(spawnSync("tcpdump", ["-n", "-r", path], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } }).stdout);
      const ours = stackts(["read", path]);
      expect(lines(ours.stderr), f).toEqual(["stackts: warning : link type 127 is not decoded: its frames print as their first 16 bytes in hex (-x for all)"]);
      const out = lines(ours.stdout);
      expect(out.length, f).toBe(theirs.length);
      for (const l of out) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{6} link-type 127 \(not decoded\), length \d+: [0-9a-f]+/);
    }
  });
});

describe("capture file errors: CaptureFileError in the library, `stackts: FILE : why` in the CLI", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "stackts-i15e-"));
    mkdirSync(join(dir, "folder"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("openCaptureFile and openCaptureWriter throw CaptureFileError with the system code, in words", () => {
    const missing = join(dir, "nope.pcap");
    let e: unknown = null;
    try {
      openCaptureFile(missing);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(CaptureFileError);
    expect((e as CaptureFileError).code).toBe("ENOENT");
    expect((e as Error).message).toBe(`Cannot read ${missing}: no such file or directory`);
    expect(() => openCaptureFile(join(dir, "folder"))).toThrow(`Cannot read ${join(dir, "folder")}: is a directory`);
    let w: unknown = null;
    try {
      openCaptureWriter(join(dir, "no", "x.pcap"));
    } catch (err) {
      w = err;
    }
    expect(w).toBeInstanceOf(CaptureFileError);
    expect((w as CaptureFileError).operation).toBe("write");
    expect((w as Error).message).toBe(`Cannot write ${join(dir, "no", "x.pcap")}: no such file or directory`);
  });

  it.skipIf(!existsSync("/dev/full"))("a write that fails (ENOSPC on /dev/full) is a CaptureFileError too", () => {
    const w = openCaptureWriter("/dev/full", { interfaces: [{ linkType: 1 }] });
    w.write({ data: ICMP_FRAME, length: 42, sec: 1, nsec: 0, linkType: 1, interfaceId: 0 });
    let e: unknown = null;
    try {
      w.close();
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(CaptureFileError);
    expect((e as CaptureFileError).code).toBe("ENOSPC");
    expect((e as Error).message).toBe("Cannot write /dev/full: no space left on device");
  });

  it.skipIf(skipNoBuild !== false)("stackts read names the file and the reason, nothing raw", () => {
    const r = stackts(["read", join(dir, "nope.pcap")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`stackts: ${join(dir, "nope.pcap")} : no such file or directory\n`);
    const d = stackts(["read", join(dir, "folder")]);
    expect(d.stderr).toBe(`stackts: ${join(dir, "folder")} : is a directory\n`);
  });
});

describe("pcapng writer: bounded by the interface ids it is given", () => {
  it("a frame on interface 4e9 is a RangeError, not four billion interface blocks", () => {
    const dir = mkdtempSync(join(tmpdir(), "stackts-i15w-"));
    try {
      const w = new PcapngWriter(join(dir, "x.pcapng"));
      expect(() => w.write({ data: ICMP_FRAME, length: 42, sec: 1, nsec: 0, linkType: 1, interfaceId: 4_000_000_000 })).toThrow(RangeError);
      expect(() => w.write({ data: ICMP_FRAME, length: 42, sec: 1, nsec: 0, linkType: 1, interfaceId: -1 })).toThrow(RangeError);
      // ids up to the reader's cap still describe the interfaces before them
      w.write({ data: ICMP_FRAME, length: 42, sec: 1, nsec: 0, linkType: 1, interfaceId: 2 });
      w.close();
      const r = openCaptureFile(join(dir, "x.pcapng"));
      expect([...r.frames()].map((f) => f.interfaceId)).toEqual([2]);
      expect(r.interfaces).toHaveLength(3);
      r.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("TCP relative sequence numbers: bounded state", () => {
  it("keeps at most `max` connections; past it every one is forgotten and starts anew", () => {
    const t = new TcpSeqTracker(3);
    const ACK = 0x10;
    // First ACK of a connection sets its bases and prints as it is; the next is relative
    // (tcpdump keeps ack - 1 as the other side's base, so the same ack prints as 1).
    const ask = (port: number, seq: number): [number, number] => {
      t.relative("10.0.0.1", "10.0.0.2", port, 80, seq, 9000, ACK);
      return [t.seq, t.ack];
    };
    expect(ask(1001, 5000)).toEqual([5000, 9000]);
    expect(ask(1001, 5010)).toEqual([10, 1]);
    ask(1002, 100);
    ask(1003, 100);
    expect(t.size).toBe(3);
    expect(ask(1001, 5020)).toEqual([20, 1]); // still known
    ask(1004, 100); // a fourth: the table starts again with this one
    expect(t.size).toBe(1);
    expect(ask(1001, 5030)).toEqual([5030, 9000]); // forgotten: as if first seen
    expect(ask(1001, 5040)).toEqual([10, 1]);
    expect(t.size).toBe(2);
  });
});
