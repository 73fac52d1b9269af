/**
 * BpfFilter for frames from files: the same verdicts as tcpdump reading the
 * same frames from a pcap file with the same expression (tcpdump is the oracle).
 * Needs no privileges.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BpfFilter } from "../src/bpf.ts";
import { CaptureError } from "../src/errors.ts";
import type { FrameBatch } from "../src/frame.ts";
import { hasCommand } from "./helpers/lab.ts";

const A = [0x02, 0x77, 0, 0, 0, 1];
const B = [0x02, 0x77, 0, 0, 0, 2];
const IP_A = [10, 77, 0, 1];
const IP_B = [10, 77, 0, 2];

function ipv4(proto: number, l4: number[], src = IP_A, dst = IP_B): number[] {
  const total = 20 + l4.length;
  // Checksum left 0: BPF filters do not look at it, and neither does tcpdump's matcher.
  return [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, ...src, ...dst, ...l4];
}
const udp = (sport: number, dport: number, data: number[]): number[] => [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8 + data.length, 0, 0, ...data];
const tcpSyn = (sport: number, dport: number): number[] => [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
const eth = (type: number, payload: number[], dst = B, src = A): number[] => [...dst, ...src, type >> 8, type & 0xff, ...payload];

interface TestFrame {
  bytes: number[];
  /** original length on the wire; default bytes.length */
  wire?: number;
}

// A mix to filter: each line names what the frame is.
const FRAMES: TestFrame[] = [
  { bytes: eth(0x0800, ipv4(1, [8, 0, 0, 0, 0, 1, 0, 1])) }, // 0 ICMP echo request a -> b
  { bytes: eth(0x0800, ipv4(17, udp(40000, 53, [1, 2, 3, 4]))) }, // 1 UDP to port 53
  { bytes: eth(0x0800, ipv4(6, tcpSyn(40001, 80))) }, // 2 TCP SYN to port 80
  { bytes: eth(0x0800, ipv4(6, tcpSyn(80, 40001), IP_B, IP_A), A, B) }, // 3 TCP from port 80, b -> a
  { bytes: eth(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...A, ...IP_A, 0, 0, 0, 0, 0, 0, ...IP_B], [255, 255, 255, 255, 255, 255]) }, // 4 ARP who-has
  { bytes: eth(0x8100, [0, 5, 0x08, 0x00, ...ipv4(17, udp(1000, 2000, []))]) }, // 5 VLAN 5, UDP
  { bytes: eth(0x0800, ipv4(17, udp(5353, 5353, new Array<number>(300).fill(0x61)))).slice(0, 60), wire: 14 + 20 + 8 + 300 }, // 6 UDP truncated to 60 of 342 bytes
  { bytes: eth(0x86dd, [0x60, 0, 0, 0, 0, 8, 17, 64, ...new Array<number>(15).fill(0), 1, ...new Array<number>(15).fill(0), 2, ...udp(7, 9, [])]) }, // 7 IPv6 UDP ::1 -> ::2
  { bytes: [0x01] }, // 8 a one-byte runt: no filter may read past it
];

const EXPRESSIONS = [
  "icmp",
  "udp",
  "tcp port 80",
  "src port 80",
  "arp",
  "udp port 53",
  "vlan 5 and udp",
  "greater 200",
  "less 64",
  "ip6",
  "ip6 and udp dst port 9",
  "ether src 02:77:00:00:00:01",
  "host 10.77.0.2 and not icmp",
  "tcp[tcpflags] & tcp-syn != 0",
  "udp[8:4] = 0x01020304",
  "",
];

/** A pcap file (microsecond, LINKTYPE_ETHERNET) where frame i has time stamp i+1 seconds. */
function pcapFile(frames: TestFrame[]): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const u16 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff);
  u32(0xa1b2c3d4);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(262144);
  u32(1);
  frames.forEach((f, i) => {
    u32(i + 1);
    u32(0);
    u32(f.bytes.length);
    u32(f.wire ?? f.bytes.length);
    parts.push(...f.bytes);
  });
  return new Uint8Array(parts);
}

function batchOf(frames: TestFrame[], linkType = 1): FrameBatch {
  const total = frames.reduce((n, f) => n + f.bytes.length, 0);
  const b: FrameBatch = {
    count: frames.length,
    buffer: new Uint8Array(total + 7),
    offset: new Uint32Array(frames.length),
    caplen: new Uint32Array(frames.length),
    length: new Uint32Array(frames.length),
    sec: new Float64Array(frames.length),
    nsec: new Uint32Array(frames.length),
    linkType: new Uint32Array(frames.length).fill(linkType),
    interfaceId: new Uint32Array(frames.length),
  };
  // Start at 7 so no frame is aligned by accident.
  let off = 7;
  frames.forEach((f, i) => {
    b.buffer.set(f.bytes, off);
    b.offset[i] = off;
    b.caplen[i] = f.bytes.length;
    b.length[i] = f.wire ?? f.bytes.length;
    off += f.bytes.length;
  });
  return b;
}

describe("BpfFilter", () => {
  const dir = mkdtempSync(join(tmpdir(), "stackts-bpf-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasCommand("tcpdump"))("gives tcpdump's verdict for every frame and expression (tcpdump -r as oracle)", () => {
    const file = join(dir, "mix.pcap");
    writeFileSync(file, pcapFile(FRAMES));
    const batch = batchOf(FRAMES);
    let anyMatch = 0;
    for (const expr of EXPRESSIONS) {
      const out = execFileSync("tcpdump", ["-r", file, "-n", "-tt", ...(expr === "" ? [] : [expr])], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, TZ: "UTC" },
      });
      const expected = out
        .split("\n")
        .filter((l) => /^\d+\.\d+ /.test(l))
        .map((l) => Number(l.split(".")[0]) - 1);
      const f = new BpfFilter(expr, 1);
      const mask = f.matchBatch(batch);
      expect(mask.length).toBe(FRAMES.length);
      const got = [...mask].flatMap((m, i) => (m === 1 ? [i] : []));
      expect(got, `filter "${expr}"`).toEqual(expected);
      expect(f.matchingIndexes(batch)).toEqual(expected);
      // The one-frame form agrees with the batch form.
      expect(FRAMES.flatMap((fr, i) => (f.matches(new Uint8Array(fr.bytes), fr.wire ?? fr.bytes.length) ? [i] : []))).toEqual(expected);
      anyMatch += expected.length;
      f.close();
      f.close();
    }
    // The expressions above are not all trivially empty or full.
    expect(anyMatch).toBeGreaterThan(EXPRESSIONS.length);
  });

  it("uses the wire length, not the captured length, for 'greater'", () => {
    const f = new BpfFilter("greater 200", 1);
    const truncated = new Uint8Array(FRAMES[6]!.bytes);
    expect(f.matches(truncated, 342)).toBe(true);
    expect(f.matches(truncated)).toBe(false);
    expect(() => f.matches(truncated, 10)).toThrow(RangeError);
  });

  it("compiles for other link types (raw IPv4) and never passes frames of another link type", () => {
    const raw = new BpfFilter("udp port 53", 228); // LINKTYPE_IPV4
    const ipOnly = FRAMES[1]!.bytes.slice(14);
    expect(raw.matches(new Uint8Array(ipOnly))).toBe(true);
    expect(raw.matches(new Uint8Array(FRAMES[2]!.bytes.slice(14)))).toBe(false);
    // A batch of Ethernet frames: the raw-IP filter must not judge them.
    const mask = raw.matchBatch(batchOf(FRAMES, 1));
    expect([...mask]).toEqual(new Array<number>(FRAMES.length).fill(0));
    const eth = new BpfFilter("udp port 53", 1);
    expect([...eth.matchBatch(batchOf(FRAMES, 1))][1]).toBe(1);
  });

  it("bad expressions: EFILTER quoting the expression and libpcap's text", () => {
    const cases: [string, number, RegExp][] = [
      ["tcp port", 1, /syntax error/],
      ["udp port 70000", 1, /port .*70000|70000/],
      ["ether host 02:77:00:00:00:01", 228, /ethernet|link/i],
    ];
    for (const [expr, lt, text] of cases) {
      let err: unknown;
      try {
        new BpfFilter(expr, lt);
      } catch (e) {
        err = e;
      }
      expect(err, expr).toBeInstanceOf(CaptureError);
      const e = err as CaptureError;
      expect(e.code).toBe("EFILTER");
      expect(e.message.startsWith(`Bad filter "${expr}": `)).toBe(true);
      expect(e.message).not.toContain("\n");
      expect(e.detail).toMatch(text);
      expect(e.message).toContain(e.detail);
    }
  });

  it("checks a batch's bounds before reading (a frame outside the buffer is a RangeError)", () => {
    const f = new BpfFilter("udp", 1);
    const b = batchOf(FRAMES);
    b.caplen[2] = b.buffer.length; // runs past the end
    expect(() => f.matchBatch(b)).toThrow(RangeError);
    const c = batchOf(FRAMES);
    expect(() => f.matchBatch(c, new Uint8Array(2))).toThrow(RangeError);
    expect(() => new BpfFilter("udp", -1)).toThrow(RangeError);
  });
});
