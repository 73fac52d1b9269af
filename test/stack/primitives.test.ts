/**
 * The stack's pure building blocks against hand-worked values: sequence
 * arithmetic across the wrap, the seeded generator's determinism, the
 * HalfSipHash-2-4 reference vectors (RFC 6528's F), the byte ring, the
 * out-of-order assembler, the SACK scoreboard's RFC 6675 questions, the RFC
 * 6298 estimator and the two congestion controllers' growth and decrease.
 */
import { describe, expect, it } from "vitest";
import { Assembler } from "../../src/stack/assembler.ts";
import { halfSipHash24, IsnGenerator } from "../../src/stack/isn.ts";
import { randomBelow, seededRandom } from "../../src/stack/random.ts";
import { NeighborTable } from "../../src/stack/neighbors.ts";
import { Ring } from "../../src/stack/ring.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax } from "../../src/stack/seq.ts";
import { Cubic, initialWindow, NewReno } from "../../src/stack/tcp/congestion.ts";
import { RttEstimator } from "../../src/stack/tcp/rtt.ts";
import { Scoreboard } from "../../src/stack/tcp/scoreboard.ts";

describe("sequence arithmetic (RFC 9293 §3.4)", () => {
  it("compares across the 2^32 wrap", () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqLe(5, 5)).toBe(true);
    expect(seqGe(5, 6)).toBe(false);
    expect(seqAdd(0xffffffff, 2)).toBe(1);
    expect(seqAdd(1, -2)).toBe(0xffffffff);
    expect(seqDiff(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqDiff(0xfffffff0, 0x10)).toBe(-0x20);
    expect(seqMax(0xfffffff0, 3)).toBe(3);
    expect(seqInWindow(2, 0xffffffff, 5)).toBe(true);
    expect(seqInWindow(5, 0xffffffff, 5)).toBe(false);
  });
});

describe("randomness", () => {
  it("a seeded generator replays exactly, and different seeds differ", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const xs = Array.from({ length: 5 }, () => a.u32());
    expect(Array.from({ length: 5 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.u32())).not.toEqual(xs);
    for (const x of xs) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
  });

  it("randomBelow stays in range and covers it", () => {
    const r = seededRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = randomBelow(r, 7);
      expect(x >= 0 && x < 7).toBe(true);
      seen.add(x);
    }
    expect(seen.size).toBe(7);
  });
});

describe("RFC 6528 ISNs", () => {
  it("HalfSipHash-2-4 matches the reference vectors (key 00..07, messages 00.., lengths 0-4)", () => {
    // From the SipHash reference implementation's vectors_hsip32 (output bytes read little-endian).
    const expected = [0x5b9f35a9, 0xb85a4727, 0x03a662fa, 0x04e7fe8a, 0x89466e2a];
    const got = expected.map((_, n) => halfSipHash24(0x03020100, 0x07060504, Uint8Array.from({ length: n }, (_, i) => i)));
    expect(got).toEqual(expected);
  });

  it("advances with the 4 µs clock and differs between connections", () => {
    const isn = new IsnGenerator(seededRandom(3));
    const a = Uint8Array.of(10, 0, 0, 1);
    const b = Uint8Array.of(10, 0, 0, 2);
    const x = isn.next(1000, a, 40000, b, 80);
    // 1 ms later: M grew by 250 ticks, F is the same.
    expect(seqDiff(isn.next(1001, a, 40000, b, 80), x)).toBe(250);
    expect(isn.next(1000, a, 40001, b, 80)).not.toBe(x);
    // Another stack (another secret) gives another number.
    expect(new IsnGenerator(seededRandom(4)).next(1000, a, 40000, b, 80)).not.toBe(x);
  });
});

describe("Ring", () => {
  it("appends up to its capacity, wraps, copies out at an offset, consumes", () => {
    const r = new Ring(8);
    expect(r.append(Uint8Array.of(1, 2, 3, 4, 5, 6))).toBe(6);
    r.consume(4);
    expect(r.append(Uint8Array.of(7, 8, 9, 10, 11, 12, 13))).toBe(6); // 2 live + 6 = full
    expect(r.length).toBe(8);
    const out = new Uint8Array(8);
    r.copyOut(0, 8, out, 0);
    expect([...out]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    r.copyOut(3, 2, out, 0);
    expect([out[0], out[1]]).toEqual([8, 9]);
    expect([...r.take(3)]).toEqual([5, 6, 7]);
    expect(() => r.copyOut(4, 2, out, 0)).toThrow(RangeError);
  });

  it("holds bytes written ahead of the live ones until they are counted in", () => {
    const r = new Ring(8);
    r.append(Uint8Array.of(1));
    r.writeAt(3, Uint8Array.of(4, 5), 0, 2); // offsets 3, 4
    r.writeAt(1, Uint8Array.of(2, 3), 0, 2);
    r.extend(4);
    expect([...r.take(8)]).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("Assembler", () => {
  it("merges touching and overlapping ranges and hands over the front", () => {
    const a = new Assembler(4);
    expect(a.add(10, 20)).toBe(true);
    expect(a.add(30, 40)).toBe(true);
    expect(a.add(20, 30)).toBe(true); // touches both: one range 10..40
    expect(a.count).toBe(1);
    expect(a.takeFront()).toBe(0);
    expect(a.add(0, 12)).toBe(true);
    expect(a.takeFront()).toBe(40);
    expect(a.empty).toBe(true);
  });

  it("refuses a new island past its cap, but still grows existing ones", () => {
    const a = new Assembler(2);
    a.add(10, 11);
    a.add(20, 21);
    expect(a.add(30, 31)).toBe(false);
    expect(a.add(11, 15)).toBe(true);
    expect([a.start(0), a.end(0), a.start(1), a.end(1)]).toEqual([10, 15, 20, 21]);
  });

  it("remembers the range last grown (RFC 2018 §4's first block) and trims on advance", () => {
    const a = new Assembler(8);
    a.add(50, 60);
    a.add(10, 20);
    expect(a.recent).toBe(0);
    a.add(60, 70);
    expect([a.start(a.recent), a.end(a.recent)]).toEqual([50, 70]);
    a.advance(15); // 5 in-order bytes arrived past 10: offsets move down by 15
    expect([a.start(0), a.end(0)]).toEqual([0, 5]);
    expect([a.start(1), a.end(1)]).toEqual([35, 55]);
  });
});

describe("Scoreboard (RFC 6675)", () => {
  const MSS = 100;
  it("clips blocks to what is outstanding and merges them", () => {
    const sb = new Scoreboard();
    expect(sb.add(50, 150, 100, 1000)).toBe(true); // below SND.UNA part clipped
    expect(sb.add(900, 1200, 100, 1000)).toBe(true);
    expect([sb.left(0), sb.right(0), sb.left(1), sb.right(1)]).toEqual([100, 150, 900, 1000]);
    expect(sb.add(120, 130, 100, 1000)).toBe(false); // nothing new
    expect(sb.highest).toBe(1000);
    expect(sb.sackedBytes).toBe(150);
  });

  it("IsLost: more than (DupThresh-1)·SMSS bytes SACKed above", () => {
    const sb = new Scoreboard();
    // una 0; SACKed 100..350 (250 bytes: more than 2·100 above anything below 149)
    sb.add(100, 350, 0, 1000);
    // bytes above s exceed 200 for s < 150: everything unSACKed below 150 counts as lost, i.e. [0,100)
    expect(sb.lostBelow(0, MSS)).toBe(149);
    const sb2 = new Scoreboard();
    sb2.add(100, 200, 0, 1000);
    expect(sb2.lostBelow(0, MSS)).toBe(0); // 100 bytes SACKed: nothing lost yet
  });

  it("IsLost: DupThresh separate SACKed ranges above", () => {
    const sb = new Scoreboard();
    for (const l of [100, 300, 500]) sb.add(l, l + 10, 0, 1000);
    expect(sb.lostBelow(0, MSS)).toBe(100);
  });

  it("SetPipe counts unSACKed bytes not lost, plus retransmitted ones", () => {
    const sb = new Scoreboard();
    // una 0, max 1000. SACKed [300,600). Lost below 599-? : 300 bytes above [0,300) -> lost below 399 → holes [0,300) lost.
    sb.add(300, 600, 0, 1000);
    expect(sb.lostBelow(0, MSS)).toBe(399);
    // pipe: hole [0,300) lost (0), hole [600,1000) not lost (400); nothing retransmitted.
    expect(sb.pipe(0, 1000, 0, MSS)).toBe(400);
    // After retransmitting [0,100): those 100 bytes count again.
    expect(sb.pipe(0, 1000, 100, MSS)).toBe(500);
  });

  it("NextSeg's holes: the first unSACKed range at or after a point", () => {
    const sb = new Scoreboard();
    sb.add(100, 200, 0, 1000);
    sb.add(300, 400, 0, 1000);
    const h = { start: 0, end: 0 };
    expect(sb.nextHole(0, 400, h)).toBe(true);
    expect([h.start, h.end]).toEqual([0, 100]);
    expect(sb.nextHole(150, 400, h)).toBe(true);
    expect([h.start, h.end]).toEqual([200, 300]);
    expect(sb.nextHole(300, 400, h)).toBe(false);
    sb.advance(250);
    expect([sb.left(0), sb.right(0)]).toEqual([300, 400]);
  });
});

describe("RTT estimator (RFC 6298)", () => {
  it("first sample, later samples, the floor and backoff", () => {
    const r = new RttEstimator(1000, 200, 60_000);
    expect(r.rto).toBe(1000);
    r.sample(100); // srtt 100, rttvar 50, rto = 100 + 4*50 = 300
    expect([r.srtt, r.rttvar, r.rto]).toEqual([100, 50, 300]);
    r.sample(60); // rttvar = .75*50 + .25*40 = 47.5; srtt = .875*100 + .125*60 = 95; rto = 95 + 190 = 285
    expect([r.srtt, r.rttvar, r.rto]).toEqual([95, 47.5, 285]);
    r.expired();
    expect(r.rto).toBe(570);
    r.expired();
    expect(r.rto).toBe(1140);
    // A new sample ends the backoff (5.7): rttvar = .75*47.5 + .25*94 = 59.125, srtt = .875*95 + .125 = 83.25
    r.sample(1);
    expect(r.rto).toBe(83.25 + 4 * 59.125);
    // A tiny RTT: the floor (2.4).
    const f = new RttEstimator(1000, 200, 60_000);
    f.sample(1);
    expect(f.rto).toBe(200);
  });

  it("caps the backoff at the maximum", () => {
    const r = new RttEstimator(1000, 200, 5000);
    for (let i = 0; i < 10; i++) r.expired();
    expect(r.rto).toBe(5000);
  });
});

describe("congestion control", () => {
  it("RFC 6928's initial window", () => {
    expect(initialWindow(1460, 10)).toBe(14600);
    expect(initialWindow(536, 10)).toBe(5360);
    expect(initialWindow(9000, 10)).toBe(18000);
  });

  it("NewReno: slow start by one SMSS per ACK, then one SMSS per window, halving on loss", () => {
    const c = new NewReno(1000, 10);
    expect(c.cwnd).toBe(10000);
    c.onAck(3000);
    expect(c.cwnd).toBe(11000); // at most one SMSS per ACK (RFC 5681 (2))
    c.onLoss(20000);
    expect([c.ssthresh, c.cwnd]).toEqual([10000, 10000]);
    for (let i = 0; i < 10; i++) c.onAck(1000); // one window acknowledged
    expect(c.cwnd).toBe(11000);
    c.onTimeout(3000);
    expect([c.ssthresh, c.cwnd]).toEqual([2000, 1000]); // max(flight/2, 2·SMSS); loss window 1 SMSS
    c.onRecoveryEnd(500);
    expect(c.cwnd).toBe(1500); // min(ssthresh, flight + SMSS)
  });

  it("CUBIC: beta 0.7 on loss, and growth back toward W_max", () => {
    const c = new Cubic(1000, 10);
    c.cwnd = 100_000;
    c.ssthresh = 50_000;
    c.onLoss(100_000);
    expect(c.cwnd).toBe(70_000);
    expect(c.ssthresh).toBe(70_000);
    let now = 0;
    let last = c.cwnd;
    // 2 s of ACKs, 100 ms RTT: the window grows, never shrinks.
    for (let i = 0; i < 2000; i++) {
      now += 1;
      c.onAck(1000, c.cwnd, now, 100);
      expect(c.cwnd).toBeGreaterThanOrEqual(last);
      last = c.cwnd;
    }
    expect(c.cwnd).toBeGreaterThan(70_000);
    // K = cbrt(100*(1-0.7)/0.4) = cbrt(75) ≈ 4.2 s: after 2 s it is still below W_max (concave region).
    expect(c.cwnd).toBeLessThan(100_000);
  });
});

describe("Ring keeps data written ahead when it empties", () => {
  it("bytes placed past a hole stay where they were put after every live byte is taken", () => {
    const r = new Ring(16);
    r.append(Uint8Array.of(1, 2, 3, 4));
    r.writeAt(6, Uint8Array.of(7, 8), 0, 2); // out of order: offsets 6, 7 (a hole at 4, 5)
    expect([...r.take(4)]).toEqual([1, 2, 3, 4]); // the ring is empty now; the held bytes are at offsets 2, 3
    r.writeAt(0, Uint8Array.of(5, 6), 0, 2); // the hole is filled
    r.extend(4);
    expect([...r.take(4)]).toEqual([5, 6, 7, 8]);
  });
});

describe("Ring grows as it is used", () => {
  it("holds nothing until written, then grows (4 KiB, doubling) to its capacity, keeping live and ahead bytes across a wrap", () => {
    const r = new Ring(20_000);
    expect(r.allocated).toBe(0);
    const bytes = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);
    r.append(bytes(0, 3000));
    expect(r.allocated).toBe(4096);
    r.consume(2500); // head at 2500 of 4096: the next appends wrap
    r.append(bytes(3000, 1500)); // live 500 + 1500 = 2000, wrapped at 4096
    r.writeAt(6000, bytes(8500, 1000), 0, 1000); // out of order: offsets 6000..6999 from the head, past the storage: grows
    expect(r.allocated).toBe(8192);
    r.writeAt(2000, bytes(3000 + 1500, 4000), 0, 4000); // the hole: offsets 2000..5999
    r.extend(5000);
    const out = r.take(7000);
    expect(out).toEqual(bytes(2500, 7000));
    r.append(bytes(0, 15_000)); // past 8192: doubles, then capped at the capacity
    expect(r.allocated).toBe(16_384);
    r.append(bytes(0, 5000));
    expect([r.allocated, r.length, r.free]).toEqual([20_000, 20_000, 0]);
  });
});

describe("NeighborTable", () => {
  const ip = Uint8Array.of(10, 0, 0, 9);
  const mac = Uint8Array.of(2, 0, 0, 0, 0, 9);
  it("queues frames while resolving, releases them with the MAC written, gives up after its tries", () => {
    const t = new NeighborTable({ ttlMs: 1000, retryMs: 100, tries: 3 });
    expect(t.enqueue(ip, new Uint8Array(20), 0)).toBe(true); // start resolving: one request now
    expect(t.enqueue(ip, new Uint8Array(20), 10)).toBe(false); // already resolving
    const requests: number[] = [];
    const gone: number[] = [];
    const actions = { request: () => requests.push(1), unreachable: (_a: Uint8Array, n: number) => gone.push(n) };
    t.poll(100, actions);
    t.poll(200, actions);
    expect(requests.length).toBe(2); // tries 2 and 3
    t.poll(300, actions);
    expect(gone).toEqual([2]); // the two frames are dropped
    expect(t.enqueue(ip, new Uint8Array(20), 400)).toBe(true);
    const released = t.learn(ip, mac, 410);
    expect(released.length).toBe(1);
    expect([...released[0]!.subarray(0, 6)]).toEqual([...mac]);
    expect(t.lookup(ip, 500)).toEqual(mac);
  });

  it("keeps using an expired answer while unicast probes confirm it (RFC 4861 STALE/PROBE)", () => {
    const t = new NeighborTable({ ttlMs: 1000, retryMs: 100, tries: 2 });
    t.learn(ip, mac, 0);
    const requests: (Uint8Array | null)[] = [];
    const gone: number[] = [];
    const actions = { request: (_a: Uint8Array, to: Uint8Array | null) => requests.push(to), unreachable: (_a: Uint8Array, n: number) => gone.push(n) };
    expect(t.lookup(ip, 1500)).toEqual(mac); // stale: still answered
    t.poll(1500, actions);
    expect(requests).toEqual([mac]); // a unicast probe to the known MAC
    t.learn(ip, mac, 1550); // confirmed
    t.poll(1700, actions);
    expect(requests.length).toBe(1);
    expect(t.lookup(ip, 3000)).toEqual(mac); // stale again
    t.poll(3000, actions);
    t.poll(3100, actions);
    t.poll(3200, actions);
    expect(gone).toEqual([0]); // two probes unanswered: deleted
    expect(t.lookup(ip, 3300)).toBe(null);
  });
});
