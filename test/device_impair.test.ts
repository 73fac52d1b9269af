/**
 * The impairment wrapper and the capture tap, in virtual time over a memory
 * pair. Each knob is measured over many frames against its configured rate;
 * the tolerance is the binomial one: a count of n independent trials with
 * probability p has standard deviation sqrt(n p (1 - p)), and a correct
 * implementation lands within 5 of them of n p but for a chance below 1e-6
 * (normal tail). The bound is what each check can tell apart: drop 10 % over
 * 20000 frames allows ±212 frames (a rate off by more than ~1.1 points fails),
 * corrupt 2 % allows ±99 (~0.5 points). Each is run on three seeds. Timing knobs (delay, jitter, rate, reorder by time) are checked to
 * the exact virtual millisecond. The tap's file is read back by our reader
 * and by tshark; the direction of each frame is checked against its source
 * MAC address, which the tap never looks at.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openCaptureFile } from "../src/capture_file.ts";
import { VirtualClock } from "../src/device/clock.ts";
import type { Clock, Device } from "../src/device/device.ts";
import { impair, type ImpairOptions } from "../src/device/impair.ts";
import { memoryPair } from "../src/device/memory.ts";
import { openTap, tap } from "../src/device/tap.ts";
import { CaptureError } from "../src/errors.ts";
import { batchData, type FrameBatch } from "../src/frame.ts";
import { StackDriver } from "../src/stack/driver.ts";
import { seededRandom } from "../src/stack/random.ts";
import { Sockets } from "../src/stack/sockets.ts";
import { hasCommand } from "./helpers/lab.ts";
import { settle, sleep } from "./stack/helpers.ts";

const SEEDS = [1, 2, 3];

/** Frame `i`: Ethernet to B from A, ethertype 0x88b5 (local experimental), `i` at byte 14, a pattern after. */
function frame(i: number, length = 100): Uint8Array {
  const f = new Uint8Array(length);
  f.set([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x88, 0xb5]);
  new DataView(f.buffer).setUint32(14, i);
  for (let k = 18; k < length; k++) f[k] = (i * 7 + k) & 0xff;
  return f;
}

/** Whether `got` holds frame `i`'s bytes (one expect per run, not per frame: 20000 deep compares are slow). */
function isFrame(got: Uint8Array, i: number): boolean {
  const want = frame(i, got.length);
  for (let k = 0; k < want.length; k++) if (want[k] !== got[k]) return false;
  return true;
}

function indexOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(14);
}

/** |count - n p| within 5 binomial standard deviations (see the module comment). */
function expectBinomial(count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThanOrEqual(5 * sd);
}

interface Arrival {
  i: number;
  at: number;
  data: Uint8Array;
}

/** A memory pair on a virtual clock, A's end wrapped, B's arrivals recorded. */
function lab(options: ImpairOptions) {
  const clock = new VirtualClock();
  const [a, b] = memoryPair({ clock });
  const wa = impair(a, options);
  const got: Arrival[] = [];
  b.onFrames((batch) => {
    for (let i = 0; i < batch.count; i++) {
      const data = batchData(batch, i).slice();
      got.push({ i: indexOf(data), at: clock.now(), data });
    }
  });
  return { clock, a, b, wa, got };
}

/** Send frames 0..n-1 through `dev`, all at once (in sendMany calls of 1000). */
function sendAll(dev: Device, n: number, length = 100): void {
  for (let i = 0; i < n; i += 1000) {
    const group: Uint8Array[] = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) group.push(frame(k, length));
    dev.sendMany(group);
  }
}

/** Send frames 0..n-1 one every `spacing` ms; returns the send time of each. */
function sendSpaced(clock: VirtualClock, dev: Device, n: number, spacing: number): number[] {
  const sentAt: number[] = [];
  for (let i = 0; i < n; i++) {
    sentAt.push(clock.now());
    dev.send(frame(i));
    clock.advance(spacing);
  }
  return sentAt;
}

describe("impair: each knob against its rate", () => {
  const N = 20_000;

  for (const seed of SEEDS) it(`drop 10 % (seed ${seed}): the count is binomial, the rest arrive once and in order`, () => {
    const { clock, wa, got } = lab({ seed, drop: 0.1 });
    sendAll(wa, N);
    clock.advance(1);
    expectBinomial(wa.stats.send.dropped, N, 0.1);
    expect(wa.stats.send.frames).toBe(N);
    expect(got.length).toBe(N - wa.stats.send.dropped);
    expect(wa.stats.send.delivered).toBe(got.length);
    expect(got.filter((g, k) => k > 0 && g.i <= got[k - 1]!.i)).toEqual([]);
    expect(got.filter((g) => !isFrame(g.data, g.i))).toEqual([]);
  });

  for (const seed of SEEDS) it(`duplicate 5 % (seed ${seed}): each copy right behind its original, byte for byte`, () => {
    const { clock, wa, got } = lab({ seed, duplicate: 0.05 });
    sendAll(wa, N);
    clock.advance(1);
    const dups = wa.stats.send.duplicated;
    expectBinomial(dups, N, 0.05);
    expect(got.length).toBe(N + dups);
    expect(got.filter((g) => !isFrame(g.data, g.i))).toEqual([]);
    let seen = 0;
    let outOfPlace = 0;
    for (let k = 0; k < got.length; k++) {
      const g = got[k]!;
      if (k > 0 && got[k - 1]!.i === g.i) seen++;
      else if (g.i !== k - seen) outOfPlace++; // every index, in order, once before its copy
    }
    expect(outOfPlace).toBe(0);
    expect(seen).toBe(dups);
  });

  for (const seed of SEEDS) it(`corrupt 2 % (seed ${seed}): exactly one bit flipped in each corrupted frame`, () => {
    const { clock, wa, got } = lab({ seed, corrupt: 0.02 });
    sendAll(wa, N);
    clock.advance(1);
    expect(got.length).toBe(N);
    let changed = 0;
    const positions = new Set<number>();
    // nothing lost or reordered: arrival k is frame k (a flip may hit the index bytes themselves)
    for (const [k, g] of got.entries()) {
      const want = frame(k);
      let bits = 0;
      for (let k = 0; k < want.length; k++) {
        let x = want[k]! ^ g.data[k]!;
        if (x !== 0) positions.add(k);
        for (; x !== 0; x &= x - 1) bits++;
      }
      if (bits > 0) {
        expect(bits).toBe(1);
        changed++;
      }
    }
    expect(changed).toBe(wa.stats.send.corrupted);
    expectBinomial(changed, N, 0.02);
    // A random byte: over ~400 flips of 100-byte frames, most positions get hit.
    expect(positions.size).toBeGreaterThan(80);
  });

  for (const seed of SEEDS) it(`reorder 5 % by 3 frames (seed ${seed}): held frames arrive 3 places late, nothing lost`, () => {
    const { clock, wa, got } = lab({ seed, reorder: 0.05, reorderFrames: 3, reorderMs: 50 });
    sendAll(wa, N);
    clock.advance(100);
    expect(got.length).toBe(N);
    expect(new Set(got.map((g) => g.i)).size).toBe(N);
    expectBinomial(wa.stats.send.reordered, N, 0.05);
    // A frame is late when a higher index arrived before it: exactly the held ones.
    const position = new Map<number, number>();
    got.forEach((g, k) => position.set(g.i, k));
    let late = 0;
    let max = -1;
    const isLate = new Set<number>();
    for (const g of got) {
      if (g.i < max) {
        late++;
        isLate.add(g.i);
      }
      max = Math.max(max, g.i);
    }
    expect(late).toBe(wa.stats.send.reordered);
    // A held frame whose 3 followers were not held itself arrives right after them.
    let checked = 0;
    for (const i of isLate) {
      if ([1, 2, 3, 4].some((d) => isLate.has(i + d) || isLate.has(i - d)) || i + 3 >= N) continue;
      expect(position.get(i)).toBe(position.get(i + 3)! + 1);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("reorder by time: a held frame arrives reorderMs late, the others on time", () => {
    const { clock, wa, got } = lab({ seed: 4, reorder: 0.1, reorderFrames: 0, reorderMs: 10 });
    const sentAt = sendSpaced(clock, wa, 2000, 1);
    clock.advance(20);
    expect(got.length).toBe(2000);
    let held = 0;
    for (const g of got) {
      const latency = g.at - sentAt[g.i]!;
      if (latency === 10) held++;
      else expect(latency).toBe(0);
    }
    expect(held).toBe(wa.stats.send.reordered);
    expectBinomial(held, 2000, 0.1);
    // reordered for real: some frame arrives after one sent later
    expect(got.some((g, k) => k > 0 && g.i < got[k - 1]!.i)).toBe(true);
  });

  it("delay 5 ms ± 2 ms: each latency in [3, 7], the mean 5, the spread used", () => {
    const { clock, wa, got } = lab({ seed: 5, delayMs: 5, jitterMs: 2 });
    const n = 2000;
    // 10 ms apart: jitter (at most 4 ms of spread) never meets the no-overtaking rule
    const sentAt = sendSpaced(clock, wa, n, 10);
    clock.advance(20);
    expect(got.length).toBe(n);
    const latencies = got.map((g) => g.at - sentAt[g.i]!);
    for (const l of latencies) {
      expect(l).toBeGreaterThanOrEqual(3);
      expect(l).toBeLessThanOrEqual(7);
    }
    // uniform on [3, 7]: variance 4²/12; the mean of n within 5 sd of 5
    const mean = latencies.reduce((s, l) => s + l, 0) / n;
    expect(Math.abs(mean - 5)).toBeLessThanOrEqual(5 * Math.sqrt(16 / 12 / n));
    expect(Math.min(...latencies)).toBeLessThan(3.2);
    expect(Math.max(...latencies)).toBeGreaterThan(6.8);
  });

  it("jitter does not reorder: frames 1 ms apart with ± 2 ms arrive in order", () => {
    const { clock, wa, got } = lab({ seed: 6, delayMs: 5, jitterMs: 2 });
    sendSpaced(clock, wa, 2000, 1);
    clock.advance(20);
    expect(got.map((g) => g.i)).toEqual([...Array(2000).keys()]);
    for (let k = 1; k < got.length; k++) expect(got[k]!.at).toBeGreaterThanOrEqual(got[k - 1]!.at);
  });

  it("rate: frames leave 8 × length / rate apart, then the delay", () => {
    // 1 Mbit/s: a 1250-byte frame takes 10 ms, a 125-byte one 1 ms
    const { clock, wa, got } = lab({ rateBps: 1_000_000, delayMs: 5 });
    wa.sendMany([frame(0, 1250), frame(1, 1250), frame(2, 125), frame(3, 1250)]);
    clock.advance(200);
    expect(got.map((g) => [g.i, g.at])).toEqual([[0, 15], [1, 25], [2, 26], [3, 36]]);
    // the link idle again: the next frame starts at once
    const t = clock.now();
    wa.send(frame(4, 1250));
    clock.advance(100);
    expect(got[4]!.at - t).toBe(15);
    expect(wa.stats.send.queueDropped).toBe(0);
  });

  it("rate: a full queue tail-drops (by frames, then by bytes), and takes frames again as it drains", () => {
    const { clock, wa, got } = lab({ rateBps: 1_000_000, queueFrames: 4 });
    sendAll(wa, 10, 1250);
    expect(wa.stats.send.queueDropped).toBe(6);
    clock.advance(20); // two have gone: room for two
    wa.sendMany([frame(10, 1250), frame(11, 1250), frame(12, 1250)]);
    expect(wa.stats.send.queueDropped).toBe(7);
    clock.advance(1000);
    expect(got.map((g) => g.i)).toEqual([0, 1, 2, 3, 10, 11]);
    // 6 frames back to back from 0 ms: the last leaves at 60 ms
    expect(got[5]!.at).toBe(60);

    const bytes = lab({ rateBps: 1_000_000, queueBytes: 3000 });
    sendAll(bytes.wa, 3, 1250); // 2500 bytes fit, 3750 do not
    expect(bytes.wa.stats.send.queueDropped).toBe(1);
    bytes.wa.send(frame(3, 400)); // 2900
    expect(bytes.wa.stats.send.queueDropped).toBe(1);
    bytes.clock.advance(100);
    expect(bytes.got.map((g) => g.i)).toEqual([0, 1, 3]);
  });

  for (const seed of SEEDS) it(`rate: offered 2× the link rate for long, about half is tail-dropped (seed ${seed})`, () => {
    // 10 Mbit/s link, 1000-byte frames every 0.4 ms (20 Mbit/s offered) for 2 s
    const { clock, wa, got } = lab({ seed, rateBps: 10_000_000, queueFrames: 20, jitterMs: 0 });
    for (let i = 0; i < 5000; i++) {
      wa.send(frame(i, 1000));
      clock.advance(0.4);
    }
    clock.advance(100);
    // the link carries 0.8 ms per frame: 2500 frames in 2 s, plus the queue's 20
    expect(got.length).toBeGreaterThanOrEqual(2500);
    expect(got.length).toBeLessThanOrEqual(2521);
    expect(wa.stats.send.queueDropped).toBe(5000 - got.length);
    for (let k = 1; k < got.length; k++) expect(got[k]!.at - got[k - 1]!.at).toBeGreaterThanOrEqual(0.8 - 1e-9);
  });
});

describe("impair: determinism, directions, ownership, errors", () => {
  const ALL: ImpairOptions = {
    drop: 0.05, duplicate: 0.03, corrupt: 0.02, reorder: 0.04, reorderFrames: 2, delayMs: 3, jitterMs: 1, rateBps: 50_000_000, queueFrames: 30,
  };

  function run(seed: number): Arrival[] {
    const { clock, wa, got } = lab({ ...ALL, seed });
    sendSpaced(clock, wa, 3000, 0.1);
    clock.advance(200);
    return got;
  }

  it("the same seed and traffic give the same run; another seed another", () => {
    const one = run(9);
    const two = run(9);
    expect(two.length).toBe(one.length);
    expect(two).toEqual(one);
    const other = run(10);
    expect(other.map((g) => g.i)).not.toEqual(one.map((g) => g.i));
  });

  it("knobs draw from their own streams: the drop pattern is the same with duplicate and reorder on", () => {
    const delivered = (options: ImpairOptions): number[] => {
      const { clock, wa, got } = lab({ seed: 11, drop: 0.1, ...options });
      sendAll(wa, 5000);
      clock.advance(1);
      return [...new Set(got.map((g) => g.i))];
    };
    const plain = delivered({});
    expect(plain.length).toBeLessThan(5000);
    const mixed = delivered({ duplicate: 0.2, reorder: 0.1, reorderFrames: 2 });
    expect(mixed.sort((x, y) => x - y)).toEqual(plain);
  });

  it("per direction: receive-only loss leaves sending alone; a direction's field overrides the shared one", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const wb = impair(b, { seed: 3, drop: 0.5, send: { drop: 0 } });
    let atB = 0;
    let atA = 0;
    wb.onFrames((batch) => (atB += batch.count));
    a.onFrames((batch) => (atA += batch.count));
    sendAll(a, 4000);
    sendAll(wb, 4000);
    clock.advance(1);
    expect(atA).toBe(4000);
    expect(wb.stats.send.dropped).toBe(0);
    expect(atB).toBe(4000 - wb.stats.receive.dropped);
    expectBinomial(wb.stats.receive.dropped, 4000, 0.5);
  });

  it("with nothing turned on the wrapper is transparent: same tick, same bytes", () => {
    const { clock, wa, got } = lab({});
    wa.send(frame(1));
    clock.advance(0);
    expect(got).toEqual([{ i: 1, at: 0, data: frame(1) }]);
  });

  it("keeps no reference to a caller's buffer or a receive batch (waiting frames are copies)", () => {
    const { clock, wa, got } = lab({ delayMs: 5 });
    const buf = frame(7);
    wa.send(buf);
    buf.fill(0xee);
    clock.advance(10);
    expect(got[0]!.data).toEqual(frame(7));

    // A device that reuses its batch buffer after each callback, as a capture ring does.
    const fake = new VirtualClock();
    let deliver: ((batch: FrameBatch) => void) | null = null;
    const dev: Device = {
      name: "fake", linkType: 1, mtu: 1500, clock: fake as Clock,
      send() {}, sendMany() {}, close() {},
      onFrames(h) {
        deliver = h;
        return () => (deliver = null);
      },
    };
    const w = impair(dev, { receive: { delayMs: 5 } });
    const seen: Uint8Array[] = [];
    w.onFrames((batch) => seen.push(batchData(batch, 0).slice()));
    const ring = frame(8);
    const batch: FrameBatch = {
      count: 1, buffer: ring, offset: Uint32Array.of(0), caplen: Uint32Array.of(ring.length), length: Uint32Array.of(ring.length),
      sec: new Float64Array(1), nsec: new Uint32Array(1), linkType: Uint32Array.of(1), interfaceId: new Uint32Array(1),
    };
    deliver!(batch);
    ring.fill(0);
    fake.advance(5);
    expect(seen).toEqual([frame(8)]);
  });

  it("refuses at once what the link would refuse, and bad settings", () => {
    const { wa } = lab({ delayMs: 5 });
    expect(() => wa.send(new Uint8Array(1515))).toThrow(CaptureError);
    expect(() => impair(memoryPair()[0], { drop: 1.5 })).toThrow(RangeError);
    expect(() => impair(memoryPair()[0], { delayMs: -1 })).toThrow(RangeError);
    expect(() => impair(memoryPair()[0], { reorder: 0.1, reorderFrames: 0, reorderMs: 0 })).toThrow(RangeError);
    wa.close();
    expect(() => wa.send(frame(1))).toThrow(CaptureError);
  });

  it("close drops what waits and closes the wrapped device", () => {
    const { clock, a, wa, got } = lab({ delayMs: 5 });
    sendAll(wa, 10);
    expect(wa.pending.send).toBe(10);
    wa.close();
    clock.advance(10);
    expect(got).toEqual([]);
    expect(a.closed).toBe(true);
  });
});

describe("tap: every frame in and out, with its direction", () => {
  const dir = mkdtempSync(join(tmpdir(), "stackts-tap-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const A_MAC = "02:00:00:00:00:0a";

  /** Two stacks over memory, A's end tapped (under a lossy wrapper: the tap sees what A really sent and got). */
  async function tappedRun(path: string) {
    const clock = new VirtualClock();
    const [d0, d1] = memoryPair({ clock });
    const tapped = openTap(d0, path);
    const a = new StackDriver(impair(tapped, { seed: 2, delayMs: 1, receive: { drop: 0.05 } }), { mac: A_MAC, ipv4: ["10.9.0.1/24"], random: seededRandom(1) });
    const b = new StackDriver(d1, { mac: "02:00:00:00:00:0b", ipv4: ["10.9.0.2/24"], random: seededRandom(2) });
    const sa = new Sockets(a);
    const sb = new Sockets(b);
    const server = sb.socket("inet", "stream");
    server.bind("0.0.0.0", 7);
    server.listen();
    const accepted = server.accept();
    const client = sa.socket("inet", "stream");
    await settle(clock, client.connect("10.9.0.2", 7));
    const conn = await settle(clock, accepted);
    const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
    let got = 0;
    const reading = (async () => {
      while (got < data.length) got += (await conn.recv(65536)).length;
    })();
    await settle(clock, Promise.all([client.send(data), reading]));
    client.close();
    conn.close();
    await sleep(clock, 2000);
    a.close();
    b.close();
    tapped.close();
    return { framesIn: tapped.framesIn, framesOut: tapped.framesOut };
  }

  it("a memory pair run, read back by our reader: every frame, outbound ones from A's MAC, times from the clock", async () => {
    const path = join(dir, "run.pcapng");
    const { framesIn, framesOut } = await tappedRun(path);
    // 100 kB from A: about 70 full segments out, their ACKs in
    expect(framesOut).toBeGreaterThan(70);
    expect(framesIn).toBeGreaterThan(10);
    const reader = openCaptureFile(path);
    let n = 0;
    let fromA = 0;
    let last = -1;
    let first = -1;
    let firstSrc = "";
    for await (const f of reader) {
      n++;
      if (first < 0) {
        first = f.sec * 1e3 + f.nsec / 1e6;
        firstSrc = [...f.data.subarray(6, 12)].map((x) => x.toString(16).padStart(2, "0")).join(":");
      }
      const src = [...f.data.subarray(6, 12)].map((x) => x.toString(16).padStart(2, "0")).join(":");
      if (src === A_MAC) fromA++;
      const t = f.sec * 1e3 + f.nsec / 1e6;
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
      expect(f.length).toBe(f.data.length);
    }
    expect(n).toBe(framesIn + framesOut);
    expect(fromA).toBe(framesOut);
    // virtual time, not Unix time: both stacks announce their address at 0 (RFC 5227); B's
    // announcement reaches A's tap at 0, A's own frames pass the tap after the 1 ms delay
    expect([first, firstSrc]).toEqual([0, "02:00:00:00:00:0b"]);
    expect(last).toBeGreaterThan(5);
    expect(last).toBeLessThan(10_000);
  });

  it.skipIf(!hasCommand("tshark"))("tshark reads the same frames with the direction in epb_flags", async () => {
    const path = join(dir, "tshark.pcapng");
    const { framesIn, framesOut } = await tappedRun(path);
    const r = spawnSync("tshark", ["-r", path, "-T", "fields", "-e", "eth.src", "-e", "frame.packet_flags_direction"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split("\n").map((l) => l.split("\t"));
    expect(rows.length).toBe(framesIn + framesOut);
    let inbound = 0;
    let outbound = 0;
    for (const [src, direction] of rows) {
      // tshark: 1 inbound, 2 outbound (printed as hex on some versions)
      const d = Number(direction);
      if (src === A_MAC) {
        expect(d).toBe(2);
        outbound++;
      } else {
        expect(d).toBe(1);
        inbound++;
      }
    }
    expect([inbound, outbound]).toEqual([framesIn, framesOut]);
  });

  it("a pcap file gets the frames without directions; a closed tap closes its device", () => {
    const path = join(dir, "plain.pcap");
    const [d0, d1] = memoryPair();
    const t = openTap(d0, path);
    t.send(frame(1));
    t.close();
    expect(d0.closed).toBe(true);
    expect(d1.closed).toBe(false);
    const r = spawnSync("tshark", ["-r", path, "-T", "fields", "-e", "frame.len"], { encoding: "utf8" });
    if (r.status === 0) expect(r.stdout.trim()).toBe("100");
    // tap over a writer the caller keeps open
    const writes: number[] = [];
    const t2 = tap(d1, { write: (_f, flags) => writes.push(flags ?? -1), flush() {}, close: () => writes.push(99) }, { closeWriter: false });
    t2.send(frame(2));
    t2.close();
    expect(writes).toEqual([2]);
  });
});
