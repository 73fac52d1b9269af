/**
 * Receive coalescing in the native capture (`LiveOptions.gro`, native/gro.cc):
 * hand-built TCP/IPv4 segments go in on one end of a veth pair, and what the
 * other end's capture hands over is checked against literals worked out here
 * (lengths, flags, the concatenated data, an IPv4 header checksum summed by
 * this file's own RFC 1071 code, the pseudo-header sum as TCP checksum).
 * The frames wait in the kernel's ring until the capture reads, so they come
 * in one batch: merging never crosses a batch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openInjector, openLive, type CaptureStats } from "../src/live.ts";
import { labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const SRC_IP = [10, 77, 0, 2];
/** An address no kernel in the lab owns: the receiving host drops the segments unanswered. */
const DST_IP = [10, 77, 0, 99];

const bytes = (s: string): number[] => s.split(":").map((h) => parseInt(h, 16));

/** RFC 1071: the ones-complement sum of `b` as 16-bit big-endian words, folded (not complemented). */
function sum16(b: Uint8Array | number[], initial = 0): number {
  let s = initial;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The pseudo-header sum for a TCP segment of `length` bytes from SRC_IP to DST_IP. */
const pseudo = (length: number): number => sum16([...SRC_IP, ...DST_IP], 6 + length);

interface Seg {
  seq: number;
  data: Uint8Array;
  flags?: number;
  ack?: number;
  tsval?: number;
  badChecksum?: boolean;
  /** bytes of Ethernet trailer after the datagram (not in its lengths), as a short frame's padding */
  trailer?: number;
}

/** The TCP header at `f[t]` (ports 80 -> 40000, options NOP NOP TS: 32 bytes) and the data after it; checksum 0. */
function writeTcp(f: Uint8Array, t: number, s: Seg): void {
  const dv = new DataView(f.buffer, f.byteOffset);
  dv.setUint16(t, 80);
  dv.setUint16(t + 2, 40000);
  dv.setUint32(t + 4, s.seq >>> 0);
  dv.setUint32(t + 8, s.ack ?? 7777);
  f[t + 12] = 8 << 4;
  f[t + 13] = s.flags ?? ACK;
  dv.setUint16(t + 14, 502);
  f.set([1, 1, 8, 10], t + 20);
  dv.setUint32(t + 24, s.tsval ?? 1000);
  dv.setUint32(t + 28, 555);
  f.set(s.data, t + 32);
}

/** An Ethernet/IPv4/TCP frame (TCP options: NOP NOP TS, 32-byte header) with right checksums unless asked. */
function frame(lab: Lab, s: Seg): Uint8Array {
  const tcpLen = 32 + s.data.length;
  const f = new Uint8Array(14 + 20 + tcpLen + (s.trailer ?? 0));
  const dv = new DataView(f.buffer);
  f.set([...bytes(lab.a.mac), ...bytes(lab.b.mac), 0x08, 0x00]);
  f.set([0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, ...SRC_IP, ...DST_IP], 14);
  dv.setUint16(16, 20 + tcpLen);
  dv.setUint16(24, ~sum16(f.subarray(14, 34)) & 0xffff);
  const t = 34;
  writeTcp(f, t, s);
  let check = ~sum16(f.subarray(t, t + tcpLen), pseudo(tcpLen)) & 0xffff;
  if (s.badChecksum) check ^= 0x0101;
  dv.setUint16(t + 16, check);
  return f;
}

const SRC_IP6 = [0xfd, 0x77, ...new Array<number>(13).fill(0), 2];
const DST_IP6 = [0xfd, 0x77, ...new Array<number>(13).fill(0), 0x99];

/** The IPv6 pseudo-header sum (RFC 8200 §8.1) for a TCP segment of `length` bytes from SRC_IP6 to DST_IP6. */
const pseudo6 = (length: number): number => sum16([...SRC_IP6, ...DST_IP6], 6 + length);

/** The IPv6 version of {@link frame}: traffic class 0, this flow label and hop limit. */
function frame6(lab: Lab, s: Seg & { flow?: number; hops?: number }): Uint8Array {
  const tcpLen = 32 + s.data.length;
  const f = new Uint8Array(14 + 40 + tcpLen);
  const dv = new DataView(f.buffer);
  f.set([...bytes(lab.a.mac), ...bytes(lab.b.mac), 0x86, 0xdd]);
  dv.setUint32(14, (6 << 28) | (s.flow ?? 0x12345));
  dv.setUint16(18, tcpLen);
  f[20] = 6;
  f[21] = s.hops ?? 64;
  f.set([...SRC_IP6, ...DST_IP6], 22);
  const t = 54;
  writeTcp(f, t, s);
  dv.setUint16(t + 16, ~sum16(f.subarray(t), pseudo6(tcpLen)) & 0xffff);
  return f;
}

/** `n` bytes counting from `from` (so merged data shows where each piece came from). */
const data = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/**
 * Send `wire` from b to a, all of it into the kernel's ring before the
 * capture's first read (`gro` as given, or the default; the frames `filter`
 * takes), and return what that read hands over: every frame of its batches (copied), how many batches, and
 * the capture's counters.
 */
async function sendAndRead(lab: Lab, wire: Uint8Array[], gro?: boolean, filter = "tcp port 40000"): Promise<{ frames: Uint8Array[]; batches: number; stats: CaptureStats }> {
  const cap = openLive(lab.a.iface, { netns: lab.a.ns, direction: "in", filter, ...(gro === undefined ? {} : { gro }) });
  try {
    const inj = openInjector(lab.b.iface, { netns: lab.b.ns });
    inj.injectMany(wire);
    inj.close();
    await sleep(100);
    const frames: Uint8Array[] = [];
    let batches = 0;
    const stop = cap.onBatch((b) => {
      batches++;
      for (let i = 0; i < b.count; i++) frames.push(b.buffer.slice(b.offset[i]!, b.offset[i]! + b.caplen[i]!));
    });
    await sleep(300);
    stop();
    return { frames, batches, stats: cap.stats() };
  } finally {
    cap.close();
  }
}

describe.skipIf(labSkipReason !== null)(`software GRO in the capture${labSkipReason ? ` (skipped: ${labSkipReason})` : ""}`, () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab();
  });
  afterAll(() => lab?.down());

  /** The segments of the test, in order: each comment says what the capture must make of it. */
  function segments(): Seg[] {
    const run: Seg[] = Array.from({ length: 50 }, (_, k) => ({ seq: 20_000 + 1400 * k, data: data(1400, k), tsval: 2000 }));
    return [
      { seq: 1000, data: data(1000, 1) }, // frame 0 starts
      { seq: 2000, data: data(1000, 2) }, // joins 0
      { seq: 3000, data: data(500, 3), flags: ACK | PSH }, // joins 0, and ends it (PSH)
      { seq: 3500, data: data(1000, 4) }, // frame 1
      { seq: 4600, data: data(1000, 5) }, // frame 2: 100 bytes missing before it
      { seq: 5600, data: data(1000, 6), badChecksum: true }, // frame 3, as it came (bad checksum)
      { seq: 6600, data: data(1000, 7) }, // frame 4: the segment before it was no start
      { seq: 7600, data: data(1000, 8), tsval: 1001 }, // frame 5: another timestamp
      { seq: 8600, data: data(1000, 9), tsval: 1001, ack: 8888 }, // frame 6: another ACK number
      { seq: 9600, data: data(1000, 10), tsval: 1001, ack: 8888 }, // joins 6
      { seq: 10_600, data: new Uint8Array(0), tsval: 1001, ack: 8888, flags: ACK | FIN }, // frame 7: FIN
      ...run, // frames 8 and 9: 46 segments fill an IPv4 datagram (52 + 46 * 1400 = 64452 <= 65535), 4 more
      { seq: 90_000, data: data(100, 11), tsval: 2000, trailer: 4 }, // frame 10: 4 bytes after the datagram
      { seq: 90_100, data: data(100, 12), tsval: 2000 }, // frame 11: the segment before it was no start
    ];
  }

  it("merges each run of in-order segments that differ only in sequence number and data, and nothing else, verifying every checksum", async () => {
    const segs = segments();
    const { frames, batches, stats } = await sendAndRead(lab, segs.map((s) => frame(lab, s)), true);
    expect(batches).toBe(1);
    expect(frames).toHaveLength(12);
    expect(stats.merged).toBe(2 + 1 + 45 + 3);
    expect(stats.delivered).toBe(12);

    /** Frame `i` must be segments [from, to) merged: the first one's headers, the data of all, these lengths and flags. */
    const expectMerged = (i: number, from: number, to: number, flags: number): void => {
      const f = frames[i]!;
      const dv = new DataView(f.buffer, f.byteOffset);
      const first = frame(lab, segs[from]!);
      const payload = segs.slice(from, to).flatMap((s) => [...s.data]);
      expect(f.length).toBe(14 + 20 + 32 + payload.length);
      expect(dv.getUint16(16)).toBe(20 + 32 + payload.length); // IPv4 total length
      expect(sum16(f.subarray(14, 34))).toBe(0xffff); // the header checksum, made again
      expect(dv.getUint32(38)).toBe(segs[from]!.seq >>> 0);
      expect(f[47]).toBe(flags);
      expect(dv.getUint16(50)).toBe(pseudo(32 + payload.length)); // partial: the pseudo-header sum
      // Everything else of the headers is the first segment's.
      expect([...f.subarray(0, 16)]).toEqual([...first.subarray(0, 16)]);
      expect([...f.subarray(18, 24)]).toEqual([...first.subarray(18, 24)]);
      expect([...f.subarray(26, 47)]).toEqual([...first.subarray(26, 47)]);
      expect([...f.subarray(48, 50)]).toEqual([...first.subarray(48, 50)]);
      expect([...f.subarray(52, 66)]).toEqual([...first.subarray(52, 66)]);
      expect([...f.subarray(66)]).toEqual(payload);
    };
    const expectAsSent = (i: number, k: number): void => {
      expect([...frames[i]!]).toEqual([...frame(lab, segs[k]!)]);
    };
    expectMerged(0, 0, 3, ACK | PSH);
    expectAsSent(1, 3);
    expectAsSent(2, 4);
    expectAsSent(3, 5);
    expectAsSent(4, 6);
    expectAsSent(5, 7);
    expectMerged(6, 8, 10, ACK);
    expectAsSent(7, 10);
    expectMerged(8, 11, 11 + 46, ACK);
    expect(frames[8]!.length).toBe(14 + 64452);
    expectMerged(9, 11 + 46, 11 + 50, ACK);
    expectAsSent(10, 61);
    expectAsSent(11, 62);
  });

  it("IPv6: a run merged (payload length, the IPv6 pseudo-header sum); another flow label or hop limit starts a new segment", async () => {
    const segs = [
      { seq: 1000, data: data(1000, 1) }, // frame 0
      { seq: 2000, data: data(1000, 2) }, // joins 0
      { seq: 3000, data: data(1000, 3), flow: 0x54321 }, // frame 1: another flow label
      { seq: 4000, data: data(1000, 4), flow: 0x54321 }, // joins 1
      { seq: 5000, data: data(500, 5), flow: 0x54321, hops: 63 }, // frame 2: another hop limit
    ];
    const { frames, stats } = await sendAndRead(lab, segs.map((s) => frame6(lab, s)), true);
    expect(frames).toHaveLength(3);
    expect(stats.merged).toBe(2);
    for (const [i, from] of [[0, 0], [1, 2]] as const) {
      const f = frames[i]!;
      const dv = new DataView(f.buffer, f.byteOffset);
      const first = frame6(lab, segs[from]!);
      expect(f.length).toBe(14 + 40 + 32 + 2000);
      expect(dv.getUint16(18)).toBe(32 + 2000); // IPv6 payload length
      expect(dv.getUint16(54 + 16)).toBe(pseudo6(32 + 2000));
      expect([...f.subarray(0, 18)]).toEqual([...first.subarray(0, 18)]);
      expect([...f.subarray(20, 54 + 16)]).toEqual([...first.subarray(20, 54 + 16)]);
      expect([...f.subarray(54 + 18, 54 + 32)]).toEqual([...first.subarray(54 + 18, 54 + 32)]);
      expect([...f.subarray(54 + 32)]).toEqual([...segs[from]!.data, ...segs[from + 1]!.data]);
    }
    expect([...frames[2]!]).toEqual([...frame6(lab, segs[4]!)]);
  });

  it("is off unless asked: the same segments come one frame each, as sent", async () => {
    const segs = segments();
    const { frames, stats } = await sendAndRead(lab, segs.map((s) => frame(lab, s)));
    expect(stats.merged).toBe(0);
    expect(frames.map((f) => [...f])).toEqual(segs.map((s) => [...frame(lab, s)]));
  });

  it("hostile frames (a header byte set at random in a third of them) are merged only when whole and right, and each one is accounted for", async () => {
    // Checksums made again over what the (bent) headers claim: a lying sender's frame that checks out.
    const reseal = (f: Uint8Array): void => {
      const dv = new DataView(f.buffer, f.byteOffset);
      const v6 = f[12] === 0x86;
      const t = v6 ? 54 : 34;
      if (!v6) {
        dv.setUint16(24, 0);
        dv.setUint16(24, ~sum16(f.subarray(14, 34)) & 0xffff);
      }
      const claimed = v6 ? dv.getUint16(18) : dv.getUint16(16) - 20;
      const tcpLen = Math.max(0, Math.min(claimed, f.length - t));
      dv.setUint16(t + 16, 0);
      const addresses = v6 ? f.subarray(22, 54) : f.subarray(26, 34);
      dv.setUint16(t + 16, ~sum16(f.subarray(t, t + tcpLen), sum16(addresses, 6 + tcpLen)) & 0xffff);
    };
    // Seeded (xorshift32), so a failure replays.
    let x = 0x9e3779b9;
    const rand = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const wire: Uint8Array[] = [];
    let seq = 1000;
    // 1000: what the kernel's ring holds at once (slots of 64 KB in its 64 MiB), all sent before the read.
    for (let i = 0; i < 1000; i++) {
      const len = 1 + rand(1400);
      const v6 = Math.floor(i / 10) % 2 === 1; // runs of ten of each IP version
      const f = v6 ? frame6(lab, { seq, data: data(len, i) }) : frame(lab, { seq, data: data(len, i) });
      seq += len;
      if (rand(3) === 0) {
        f[12 + rand(v6 ? 74 : 54)] = rand(256); // a byte of the headers after the MACs
        if (rand(2) === 0) reseal(f); // and, half the time, checksums that agree with what the headers now say
      }
      wire.push(f);
    }
    const { frames, stats } = await sendAndRead(lab, wire, true, `ether src ${lab.b.mac} and ether dst ${lab.a.mac}`);
    expect(stats.dropped).toBe(0);
    expect(frames.length + stats.merged).toBe(wire.length);
    expect(stats.merged).toBeGreaterThan(100);
    // Walk both: each frame handed over is one sent frame as it was, or a run of them merged.
    const headerOf = (f: Uint8Array): number => (f[12] === 0x86 ? 14 + 40 + 32 : 14 + 20 + 32);
    let k = 0;
    for (const f of frames) {
      if (k < wire.length && f.length === wire[k]!.length && f.every((b, i) => b === wire[k]![i])) {
        k++;
        continue;
      }
      const h = headerOf(f);
      const v6 = f[12] === 0x86;
      const dv = new DataView(f.buffer, f.byteOffset);
      expect(dv.getUint16(h - 32 + 16)).toBe(v6 ? pseudo6(f.length - h + 32) : pseudo(f.length - h + 32));
      if (!v6) expect(sum16(f.subarray(14, 34))).toBe(0xffff);
      const from = k;
      const payload: number[] = [];
      while (k < wire.length && payload.length < f.length - h) payload.push(...wire[k++]!.subarray(h));
      expect(k - from, `frame at ${from}`).toBeGreaterThan(1);
      expect([...f.subarray(h)]).toEqual(payload);
    }
    expect(k).toBe(wire.length);
  });
});
