/**
 * RACK-TLP (RFC 8985): loss detection by time. Every segment in flight has a
 * record of when it was last sent; a segment is lost once a segment sent
 * after it has been delivered (ACKed or SACKed) and a reordering window has
 * passed since it was sent. That finds what counting duplicate ACKs cannot:
 * a lost retransmission (found in about one RTT instead of a timeout) and
 * losses among few segments. The Tail Loss Probe sends a segment when an ACK
 * is overdue, so a lost tail draws SACKs instead of waiting for the timer.
 *
 * This module keeps the records ({@link TxQueue}) and the RACK state; the
 * connection calls it when it sends, when ACK and SACK arrive, and when its
 * RACK timer fires (`input.ts`, `output.ts`, `timers.ts`).
 *
 * @example
 * ```ts
 * const q = new TxQueue();
 * q.sent(1000, 2448, 10, false);     // a segment sent at 10 ms
 * q.sent(2448, 3896, 11, false);
 * q.sacked(2448, 3896, 20);          // the second is SACKed at 20 ms
 * q.detect(20 + 1);                  // the first is lost once RTT + reo_wnd passed since it left
 * ```
 *
 * @module
 */
import { seqDiff, seqGt, seqLe, seqLt } from "../seq.ts";

/** One segment in flight. */
interface Record {
  start: number;
  end: number;
  /** when it was last sent, ms */
  sentAt: number;
  retransmitted: boolean;
  sacked: boolean;
  lost: boolean;
}

/** The in-flight segments of one connection and RACK's state (RFC 8985 §5.2). */
export class TxQueue {
  #q: Record[] = [];
  #head = 0;
  /** RACK.xmit_ts and RACK.end_seq: the most recently sent segment known delivered */
  xmitTs = -1;
  endSeq = 0;
  /** RACK.rtt: the RTT of that delivery, ms */
  rtt = 0;
  /** RACK.min_RTT, ms (Infinity before a sample) */
  minRtt = Infinity;
  /** RACK.reordering_seen (§6.2 step 3): a segment was delivered before one sent ahead of it */
  reorderingSeen = false;
  /** bytes in records marked lost and not yet sent again */
  lostBytes = 0;
  /** bytes SACKed in records still held */
  sackedBytes = 0;

  /** Records held (for tests and traces). */
  get count(): number {
    return this.#q.length - this.#head;
  }

  /** Forget everything (the connection closed, or a timeout re-sends it all). */
  clear(): void {
    this.#q = [];
    this.#head = 0;
    this.lostBytes = 0;
    this.sackedBytes = 0;
  }

  #at(i: number): Record {
    return this.#q[this.#head + i]!;
  }

  /** Index of the first record that ends after `seq`. */
  #find(seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqLe(this.#at(mid).end, seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Split the record holding `seq` (start < seq < end) in two at `seq`. */
  #split(seq: number): void {
    const i = this.#find(seq);
    if (i >= this.count) return;
    const r = this.#at(i);
    if (!seqLt(r.start, seq) || !seqLt(seq, r.end)) return;
    const tail: Record = { ...r, start: seq };
    r.end = seq;
    this.#q.splice(this.#head + i + 1, 0, tail);
  }

  /**
   * `[start, end)` was sent at `now`: a new record for new data, or the
   * records it covers marked as sent again (RFC 8985 §6.1: "the transmission
   * time of a retransmitted segment is the time of its latest transmission").
   */
  sent(start: number, end: number, now: number, again: boolean): void {
    if (!seqLt(start, end)) return;
    const n = this.count;
    if (!again && (n === 0 || seqLe(this.#at(n - 1).end, start))) {
      this.#q.push({ start, end, sentAt: now, retransmitted: false, sacked: false, lost: false });
      return;
    }
    this.#split(start);
    this.#split(end);
    for (let i = this.#find(start); i < this.count; i++) {
      const r = this.#at(i);
      if (!seqLt(r.start, end)) break;
      if (r.lost) this.lostBytes -= seqDiff(r.end, r.start);
      r.lost = false;
      r.sentAt = now;
      r.retransmitted = true;
    }
    // Sent past the last record (data resent after a timeout took SND.NXT back over less than was recorded).
    const last = this.count === 0 ? undefined : this.#at(this.count - 1);
    if (last === undefined || seqLt(last.end, end)) {
      const from = last === undefined || seqLt(last.end, start) ? start : last.end;
      this.#q.push({ start: from, end, sentAt: now, retransmitted: again, sacked: false, lost: false });
    }
  }

  /** SND.UNA moved to `una` at `now`: the records it covers are delivered. */
  acked(una: number, now: number): void {
    while (this.#head < this.#q.length && seqLe(this.#q[this.#head]!.end, una)) {
      const r = this.#q[this.#head++]!;
      const len = seqDiff(r.end, r.start);
      if (r.lost) this.lostBytes -= len;
      if (r.sacked) this.sackedBytes -= len;
      else this.#delivered(r, now);
    }
    if (this.#head < this.#q.length && seqLt(this.#q[this.#head]!.start, una)) {
      // A partly acknowledged record (a segment split by the peer): keep the rest.
      const r = this.#q[this.#head]!;
      const cut = seqDiff(una, r.start);
      if (r.lost) this.lostBytes -= cut;
      if (r.sacked) this.sackedBytes -= cut;
      r.start = una;
    }
    if (this.#head > 256 && this.#head * 2 > this.#q.length) {
      this.#q = this.#q.slice(this.#head);
      this.#head = 0;
    }
  }

  /** A SACK block `[left, right)` arrived at `now`: the records it covers whole are delivered. */
  sacked(left: number, right: number, now: number): void {
    for (let i = this.#find(left); i < this.count; i++) {
      const r = this.#at(i);
      if (!seqLe(r.end, right)) break;
      if (seqLt(r.start, left) || r.sacked) continue;
      r.sacked = true;
      const len = seqDiff(r.end, r.start);
      this.sackedBytes += len;
      if (r.lost) {
        r.lost = false;
        this.lostBytes -= len;
      }
      this.#delivered(r, now);
    }
  }

  /** RFC 8985 §6.2 step 2: update RACK from a delivered segment. */
  #delivered(r: Record, now: number): void {
    const rtt = now - r.sentAt;
    // "If the segment was retransmitted and the RTT is less than the min RTT, the ACK was likely for the
    // original transmission": it says nothing about the retransmission's delivery.
    if (r.retransmitted && rtt < this.minRtt) return;
    if (rtt < this.minRtt) this.minRtt = rtt;
    // Step 3: delivered out of order (sent before the latest delivered one)?
    if (this.xmitTs >= 0 && (r.sentAt < this.xmitTs || (r.sentAt === this.xmitTs && seqLt(r.end, this.endSeq)))) this.reorderingSeen = true;
    if (this.xmitTs < 0 || r.sentAt > this.xmitTs || (r.sentAt === this.xmitTs && seqGt(r.end, this.endSeq))) {
      this.rtt = rtt;
      this.xmitTs = r.sentAt;
      this.endSeq = r.end;
    }
  }

  /**
   * RFC 8985 §6.2 step 4: the reordering window. Zero while no reordering
   * was seen and the connection is in recovery or DupThresh segments are
   * SACKed (a loss is then plain); else a quarter of the minimum RTT, never
   * above the smoothed RTT.
   */
  reoWnd(srtt: number, inRecovery: boolean, smss: number): number {
    if (!this.reorderingSeen && (inRecovery || this.sackedBytes >= 3 * smss)) return 0;
    if (this.minRtt === Infinity) return 0;
    return Math.min(this.minRtt / 4, srtt);
  }

  /**
   * RFC 8985 §6.2 step 5: mark lost every segment sent before the latest
   * delivered one whose time (RACK.rtt + reo_wnd after it left) is up.
   * Returns the bytes newly marked lost and, through `out.timer`, when the
   * next one would be (the RACK reordering timer), or Infinity.
   */
  detect(now: number, srtt: number, inRecovery: boolean, smss: number, out: { timer: number }): number {
    out.timer = Infinity;
    if (this.xmitTs < 0) return 0;
    const reo = this.reoWnd(srtt, inRecovery, smss);
    let newly = 0;
    for (let i = 0; i < this.count; i++) {
      const r = this.#at(i);
      const before = r.sentAt < this.xmitTs || (r.sentAt === this.xmitTs && seqLt(r.end, this.endSeq));
      if (!before) {
        // New data leaves in sequence order, so a segment sent once was sent no later than any
        // segment after it (sent once or again): past the first such one sent after RACK's
        // segment, none can be. The scan stops there: an ACK costs the few segments before it,
        // not the whole window.
        if (!r.retransmitted) break;
        continue;
      }
      if (r.sacked || r.lost) continue;
      const remaining = r.sentAt + this.rtt + reo - now;
      if (remaining <= 0) {
        r.lost = true;
        const len = seqDiff(r.end, r.start);
        this.lostBytes += len;
        newly += len;
      } else {
        out.timer = Math.min(out.timer, now + remaining);
      }
    }
    return newly;
  }

  /** After a timeout every segment not SACKed is lost (RFC 8985 §6.3). */
  markAllLost(): void {
    for (let i = 0; i < this.count; i++) {
      const r = this.#at(i);
      if (r.sacked || r.lost) continue;
      r.lost = true;
      this.lostBytes += seqDiff(r.end, r.start);
    }
  }

  /** The first segment marked lost: `[start, end)` through `out`, or false. */
  firstLost(out: { start: number; end: number }): boolean {
    if (this.lostBytes <= 0) return false;
    for (let i = 0; i < this.count; i++) {
      const r = this.#at(i);
      if (r.lost) {
        out.start = r.start;
        out.end = r.end;
        return true;
      }
    }
    return false;
  }

  /** The last segment not SACKed (what a tail loss probe sends again): `[start, end)`, or false. */
  lastUnsacked(out: { start: number; end: number }): boolean {
    for (let i = this.count - 1; i >= 0; i--) {
      const r = this.#at(i);
      if (!r.sacked) {
        out.start = r.start;
        out.end = r.end;
        return true;
      }
    }
    return false;
  }

  /** Bytes in flight (RFC 6675's pipe, RACK's way): sent, neither SACKed nor lost. */
  pipe(una: number, max: number): number {
    return Math.max(0, seqDiff(max, una) - this.sackedBytes - this.lostBytes);
  }

  /** The end of the last record, or `fallback`. */
  lastEnd(fallback: number): number {
    return this.count === 0 ? fallback : this.#at(this.count - 1).end;
  }
}

