/**
 * The analysis of one TCP connection for the report: which segments are
 * retransmissions, duplicate ACKs, out of order or keep-alives, and the series
 * the time-sequence graph draws (data segments, the ACK line, the receive
 * window's right edge, SACK blocks, RTT samples).
 *
 * The classification follows the rules Wireshark documents for its TCP
 * analysis ("TCP Analysis" in the Wireshark User's Guide, 7.5), so the counts
 * agree with `tcp.analysis.retransmission`: a segment that carries data (or
 * SYN/FIN) and starts below the highest sequence number seen in its direction
 * is a *fast retransmission* when the other side sent two or more duplicate
 * ACKs for exactly its sequence number within the last 20 ms; else *out of
 * order* when it came within the connection's first RTT (3 ms when unknown) of
 * that highest segment and does not end there; else a *retransmission*. A
 * segment wholly below what the other side already acknowledged is a
 * *spurious retransmission*; Wireshark flags all three kinds
 * `tcp.analysis.retransmission`, and so does the count here. A duplicate
 * ACK carries no data, no SYN/FIN/RST, and repeats the sequence, ACK and
 * window of the last segment in its direction. Sequence numbers are relative
 * to each direction's first (its SYN when seen), in 32-bit modular arithmetic.
 *
 * State is a few numbers per direction plus the stored series, whose points
 * are merged two into one (marked points kept) whenever a series outgrows
 * {@link SERIES_CAP}, so a long connection keeps a bounded memory.
 *
 * @example
 * ```ts
 * import { TcpAnalysis } from "./tcp_analysis.ts";
 * const c = new TcpAnalysis("a", "b");
 * c.segment(0, 0.0, 1000, 0, 0x002, 64240, 0, null, null); // SYN
 * c.retransmissions; // 0
 * ```
 *
 * @module
 */
import { TCP_FLAGS } from "../../layers/tcp.ts";
import { seqLt as lt } from "../stack/seq.ts";
import { TCP_MARK, type TcpDirectionSeries, type TcpSeries } from "./model.ts";

/**
 * Whether time span `d` is shorter than `limit` (both in seconds), compared in
 * whole nanoseconds as Wireshark compares its nstime values: a capture's time
 * stamps are whole micro- or nanoseconds, and their differences as doubles
 * are not (0.001455 - 0.001415 is not 0.00004), so a segment that came
 * exactly one handshake RTT after the highest one was taken now for out of
 * order, now for a retransmission.
 */
function shorter(d: number, limit: number): boolean {
  return Math.round(d * 1e9) < Math.round(limit * 1e9);
}

// Module-local copies of the flag bits: an imported binding is a load and a check at every use.
const SYN = TCP_FLAGS.SYN;
const FIN = TCP_FLAGS.FIN;
const RST = TCP_FLAGS.RST;
const ACK = TCP_FLAGS.ACK;

/** A series longer than this is halved (adjacent unmarked points merged). */
export const SERIES_CAP = 16384;
/** Unacknowledged segments remembered per direction for RTT samples. */
const RTT_QUEUE = 4096;


class Direction {
  baseSet = false;
  base = 0;
  /** highest relative sequence number + length seen (0: unknown, as Wireshark) */
  nextseq = 0;
  nextseqTime = 0;
  /** last relative ACK sent in this direction (0: none) */
  lastack = 0;
  lastackTime = 0;
  /** last raw window sent in this direction (-1: none) */
  window = -1;
  dupacks = 0;
  /** window scale shift from this side's SYN (-1: not seen) */
  scale = -1;
  lastWasKeepAlive = false;
  readonly series: TcpDirectionSeries;
  /** unacknowledged segments: relative end, time, retransmitted */
  readonly pendingEnd: number[] = [];
  readonly pendingTime: number[] = [];
  readonly pendingRetx: boolean[] = [];
  constructor(label: string) {
    this.series = {
      label,
      dataT: [],
      dataSeq: [],
      dataEnd: [],
      dataMark: [],
      dataBytes: [],
      ackT: [],
      ack: [],
      win: [],
      ackMark: [],
      sackT: [],
      sackLeft: [],
      sackRight: [],
      rttT: [],
      rtt: [],
      retransmissions: 0,
      dupAcks: 0,
      downsampled: false,
    };
  }
}

/** One TCP connection's analysis; directions 0 (A→B) and 1 (B→A). */
export class TcpAnalysis {
  readonly #dir: [Direction, Direction];
  /** time of the latest SYN (without ACK), -1 before */
  #synTime = -1;
  /** the handshake's round trip (latest SYN to the first ACK after it), 0 until known */
  #firstRtt = 0;
  retransmissions = 0;
  spurious = 0;
  dupAcks = 0;

  constructor(labelAB: string, labelBA: string) {
    this.#dir = [new Direction(labelAB), new Direction(labelBA)];
  }

  /**
   * One segment in direction `d` at time `t` (seconds). `seglen` is its TCP
   * payload length; `windowScale` the shift of a window-scale option (SYN
   * only), `sack` its SACK blocks (absolute edges) or null. Returns the mark
   * bits ({@link TCP_MARK}) given to it.
   */
  segment(
    d: 0 | 1,
    t: number,
    seq: number,
    ack: number,
    flags: number,
    window: number,
    seglen: number,
    windowScale: number | null,
    sack: readonly { left: number; right: number }[] | null,
  ): number {
    const fwd = this.#dir[d];
    const rev = this.#dir[d === 0 ? 1 : 0];
    if (!fwd.baseSet) {
      fwd.baseSet = true;
      fwd.base = flags & SYN ? seq : (seq - 1) >>> 0;
    }
    if (!rev.baseSet && flags & ACK) {
      rev.baseSet = true;
      rev.base = (ack - 1) >>> 0;
    }
    if (flags & SYN) {
      fwd.scale = windowScale ?? -1;
      // The most recent SYN: a retransmitted SYN restarts the handshake's clock.
      if (!(flags & ACK)) this.#synTime = t;
    } else if (flags & ACK && this.#firstRtt === 0 && this.#synTime >= 0) {
      this.#firstRtt = t - this.#synTime;
    }
    const rseq = (seq - fwd.base) >>> 0;
    const rack = flags & ACK ? (ack - rev.base) >>> 0 : 0;
    const control = flags & (SYN | FIN | RST);
    let mark = 0;

    // Keep-alive: 0 or 1 byte one below the next expected number.
    if (seglen <= 1 && fwd.nextseq !== 0 && rseq === ((fwd.nextseq - 1) >>> 0) && control === 0) mark |= TCP_MARK.keepAlive;
    // Duplicate ACK: nothing new in sequence, ACK or window.
    if (
      seglen === 0 &&
      window !== 0 &&
      window === fwd.window &&
      rseq === fwd.nextseq &&
      rack === fwd.lastack &&
      control === 0 &&
      !(rev.lastWasKeepAlive)
    ) {
      fwd.dupacks++;
      mark |= TCP_MARK.dupAck;
    }
    if (rack !== fwd.lastack) fwd.dupacks = 0;

    if ((seglen > 0 || control & (SYN | FIN)) && !(mark & TCP_MARK.keepAlive)) {
      let notAdvanced = fwd.nextseq !== 0 && lt(rseq, fwd.nextseq);
      // A segment of new data one below nextseq follows a window probe: not a retransmission.
      if (seglen > 1 && ((fwd.nextseq - 1) >>> 0) === rseq) notAdvanced = false;
      const end = (rseq + seglen + (control & (SYN | FIN) ? 1 : 0)) >>> 0;
      if (seglen > 0 && rev.lastack !== 0 && !lt(rev.lastack, (rseq + seglen) >>> 0)) {
        mark |= TCP_MARK.spuriousRetransmission;
      } else if (notAdvanced && rev.dupacks >= 2 && rev.lastack === rseq && shorter(t - rev.lastackTime, 0.02)) {
        mark |= TCP_MARK.fastRetransmission;
      } else if (notAdvanced && shorter(t - fwd.nextseqTime, this.#firstRtt > 0 ? this.#firstRtt : 0.003) && fwd.nextseq !== end) {
        mark |= TCP_MARK.outOfOrder;
      } else if (notAdvanced) {
        mark |= TCP_MARK.retransmission;
      }
      if (fwd.nextseq === 0 || lt(fwd.nextseq, end)) {
        fwd.nextseq = end;
        fwd.nextseqTime = t;
      }
      this.#pending(fwd, rseq, end, t, (mark & (TCP_MARK.retransmission | TCP_MARK.fastRetransmission | TCP_MARK.spuriousRetransmission)) !== 0);
    }
    fwd.lastWasKeepAlive = (mark & TCP_MARK.keepAlive) !== 0;
    // Wireshark flags all three kinds `tcp.analysis.retransmission`: so are they counted here.
    if (mark & (TCP_MARK.retransmission | TCP_MARK.fastRetransmission | TCP_MARK.spuriousRetransmission)) {
      this.retransmissions++;
      fwd.series.retransmissions++;
    }
    if (mark & TCP_MARK.spuriousRetransmission) this.spurious++;
    if (mark & TCP_MARK.dupAck) {
      this.dupAcks++;
      rev.series.dupAcks++;
    }

    // The series: data in this direction's graph, the ACK in the other's.
    const s = fwd.series;
    if (seglen > 0 || control & (SYN | FIN)) {
      s.dataT.push(t);
      s.dataSeq.push(rseq);
      s.dataEnd.push((rseq + Math.max(seglen, 1)) >>> 0);
      s.dataMark.push(mark);
      s.dataBytes.push(seglen);
      if (s.dataT.length > SERIES_CAP) halveData(s);
    }
    if (flags & ACK) {
      const r = rev.series;
      // RFC 7323 §2.3: the window of a SYN is never scaled; otherwise by the sender's shift when both sides offered one.
      const shift = !(flags & SYN) && fwd.scale >= 0 && rev.scale >= 0 ? fwd.scale : 0;
      r.ackT.push(t);
      r.ack.push(rack);
      r.win.push(rack + window * 2 ** shift);
      r.ackMark.push(mark & TCP_MARK.dupAck);
      if (r.ackT.length > SERIES_CAP) halveAck(r);
      if (sack !== null) {
        for (const b of sack) {
          r.sackT.push(t);
          r.sackLeft.push((b.left - rev.base) >>> 0);
          r.sackRight.push((b.right - rev.base) >>> 0);
        }
        if (r.sackT.length > SERIES_CAP) halveSack(r);
      }
      this.#acked(rev, rack, t);
    }
    // Every segment, as Wireshark keeps them (a SYN without ACK leaves 0: none yet).
    fwd.lastack = rack;
    fwd.lastackTime = t;
    fwd.window = window;
    return mark;
  }

  #pending(fwd: Direction, start: number, end: number, t: number, retx: boolean): void {
    if (retx) {
      // Karn's rule (RFC 6298 §3): no sample from a segment sent twice. The
      // queue is in sequence order: mark from its end back to the
      // retransmission's start.
      for (let i = fwd.pendingEnd.length - 1; i >= 0 && lt(start, fwd.pendingEnd[i]!); i--) fwd.pendingRetx[i] = true;
      return;
    }
    const n = fwd.pendingEnd.length;
    if (n >= RTT_QUEUE || (n > 0 && !lt(fwd.pendingEnd[n - 1]!, end))) return;
    fwd.pendingEnd.push(end);
    fwd.pendingTime.push(t);
    fwd.pendingRetx.push(false);
  }

  /** The other side acknowledged up to `rack` of `dir`: take an RTT sample from the last segment it covers. */
  #acked(dir: Direction, rack: number, t: number): void {
    let k = 0;
    while (k < dir.pendingEnd.length && !lt(rack, dir.pendingEnd[k]!)) k++;
    if (k === 0) return;
    if (!dir.pendingRetx[k - 1]) {
      const s = dir.series;
      s.rttT.push(t);
      s.rtt.push(t - dir.pendingTime[k - 1]!);
      if (s.rttT.length > SERIES_CAP) halvePairs(s.rttT, s.rtt);
    }
    dir.pendingEnd.splice(0, k);
    dir.pendingTime.splice(0, k);
    dir.pendingRetx.splice(0, k);
  }

  /** The series of both directions (the arrays themselves, not copies). */
  series(): TcpSeries {
    return { ab: this.#dir[0].series, ba: this.#dir[1].series };
  }
}

/** Merge unmarked neighbours two into one: keep the first's start, the second's end, the sum of bytes. */
function halveData(s: TcpDirectionSeries): void {
  s.downsampled = true;
  let w = 0;
  for (let i = 0; i < s.dataT.length; i++) {
    const merge = i + 1 < s.dataT.length && s.dataMark[i] === 0 && s.dataMark[i + 1] === 0;
    s.dataT[w] = s.dataT[i]!;
    s.dataSeq[w] = s.dataSeq[i]!;
    s.dataMark[w] = s.dataMark[i]!;
    if (merge) {
      s.dataEnd[w] = s.dataEnd[i + 1]!;
      s.dataBytes[w] = s.dataBytes[i]! + s.dataBytes[i + 1]!;
      i++;
    } else {
      s.dataEnd[w] = s.dataEnd[i]!;
      s.dataBytes[w] = s.dataBytes[i]!;
    }
    w++;
  }
  for (const a of [s.dataT, s.dataSeq, s.dataEnd, s.dataMark, s.dataBytes]) a.length = w;
}

function halveAck(s: TcpDirectionSeries): void {
  s.downsampled = true;
  let w = 0;
  for (let i = 0; i < s.ackT.length; i++) {
    // Keep the later of two unmarked ACKs (the line ends where it really ends).
    if (i + 1 < s.ackT.length && s.ackMark[i] === 0 && s.ackMark[i + 1] === 0) i++;
    s.ackT[w] = s.ackT[i]!;
    s.ack[w] = s.ack[i]!;
    s.win[w] = s.win[i]!;
    s.ackMark[w] = s.ackMark[i]!;
    w++;
  }
  for (const a of [s.ackT, s.ack, s.win, s.ackMark]) a.length = w;
}

function halveSack(s: TcpDirectionSeries): void {
  s.downsampled = true;
  let w = 0;
  for (let i = 0; i < s.sackT.length; i += 2) {
    s.sackT[w] = s.sackT[i]!;
    s.sackLeft[w] = s.sackLeft[i]!;
    s.sackRight[w] = s.sackRight[i]!;
    w++;
  }
  for (const a of [s.sackT, s.sackLeft, s.sackRight]) a.length = w;
}

function halvePairs(t: number[], v: number[]): void {
  let w = 0;
  for (let i = 0; i < t.length; i += 2) {
    t[w] = t[i]!;
    v[w] = v[i]!;
    w++;
  }
  t.length = w;
  v.length = w;
}

/**
 * A copy of `s` with at most about `cap` points per series for the page: every
 * k-th unmarked point and every marked one; times rounded to microseconds.
 */
export function thinSeries(s: TcpDirectionSeries, cap: number): TcpDirectionSeries {
  const out: TcpDirectionSeries = { ...s };
  const dataStep = Math.ceil(s.dataT.length / cap);
  if (dataStep > 1) {
    out.downsampled = true;
    const keep = s.dataT.map((_, i) => s.dataMark[i] !== 0 || i % dataStep === 0);
    const pick = (a: number[]): number[] => a.filter((_, i) => keep[i]);
    out.dataT = pick(s.dataT);
    out.dataSeq = pick(s.dataSeq);
    out.dataEnd = pick(s.dataEnd);
    out.dataMark = pick(s.dataMark);
    out.dataBytes = pick(s.dataBytes);
  }
  const ackStep = Math.ceil(s.ackT.length / cap);
  if (ackStep > 1) {
    out.downsampled = true;
    const keep = s.ackT.map((_, i) => s.ackMark[i] !== 0 || i % ackStep === 0 || i === s.ackT.length - 1);
    const pick = (a: number[]): number[] => a.filter((_, i) => keep[i]);
    out.ackT = pick(s.ackT);
    out.ack = pick(s.ack);
    out.win = pick(s.win);
    out.ackMark = pick(s.ackMark);
  }
  const sackStep = Math.ceil(s.sackT.length / cap);
  if (sackStep > 1) {
    out.sackT = s.sackT.filter((_, i) => i % sackStep === 0);
    out.sackLeft = s.sackLeft.filter((_, i) => i % sackStep === 0);
    out.sackRight = s.sackRight.filter((_, i) => i % sackStep === 0);
  }
  const rttStep = Math.ceil(s.rttT.length / cap);
  if (rttStep > 1) {
    out.rttT = s.rttT.filter((_, i) => i % rttStep === 0);
    out.rtt = s.rtt.filter((_, i) => i % rttStep === 0);
  }
  const us = (t: number): number => Math.round(t * 1e6) / 1e6;
  out.dataT = out.dataT.map(us);
  out.ackT = out.ackT.map(us);
  out.sackT = out.sackT.map(us);
  out.rttT = out.rttT.map(us);
  out.rtt = out.rtt.map(us);
  return out;
}
