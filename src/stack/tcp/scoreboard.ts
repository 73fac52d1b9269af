/**
 * The sender's record of what the receiver has selectively acknowledged
 * (RFC 2018) and the questions RFC 6675 asks of it: is a sequence number
 * lost (`IsLost`), how much is in the network (`SetPipe`), what to send next
 * (`NextSeg`). Blocks are kept as sorted, merged ranges of absolute sequence
 * numbers between SND.UNA and the highest byte sent; a block outside that
 * (a D-SACK below SND.UNA, a lie above what was sent) is ignored.
 *
 * @example
 * ```ts
 * import { Scoreboard } from "./scoreboard.ts";
 * const sb = new Scoreboard();
 * sb.add(1000, 2000, 0, 5000); sb.add(3000, 4000, 0, 5000);
 * sb.holes(0, 5000); // [0,1000) [2000,3000) [4000,5000)
 * ```
 *
 * @module
 */
import { seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "../seq.ts";

/** DupThresh of RFC 6675 §2 / RFC 5681: three duplicate ACKs. */
export const DUP_THRESH = 3;

/** SACKed ranges above SND.UNA. */
export class Scoreboard {
  /** left, right pairs (right exclusive), sorted, disjoint, not touching */
  #ranges: number[] = [];
  /** the highest SACKed sequence number + 1, or undefined when nothing is SACKed */
  #highest: number | undefined = undefined;

  /** Number of separate SACKed ranges. */
  get count(): number {
    return this.#ranges.length >> 1;
  }

  /** Whether nothing is SACKed. */
  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Left edge of range `i`. */
  left(i: number): number {
    return this.#ranges[2 * i]!;
  }

  /** Right edge (exclusive) of range `i`. */
  right(i: number): number {
    return this.#ranges[2 * i + 1]!;
  }

  /** One past the highest SACKed byte (RFC 6675's "highest octet covered by any received SACK" + 1), or undefined. */
  get highest(): number | undefined {
    return this.#highest;
  }

  /** SACKed bytes in all. */
  get sackedBytes(): number {
    let n = 0;
    for (let k = 0; k < this.#ranges.length; k += 2) n += seqDiff(this.#ranges[k + 1]!, this.#ranges[k]!);
    return n;
  }

  /**
   * Record a SACK block `[left, right)`, clipped to `(una, max]` (what is
   * outstanding). Returns whether anything new was SACKed.
   */
  add(left: number, right: number, una: number, max: number): boolean {
    if (!seqLt(left, right)) return false;
    left = seqMax(left, una);
    right = seqMin(right, max);
    if (!seqLt(left, right)) return false;
    const r = this.#ranges;
    let i = 0;
    while (i < r.length && seqLt(r[i + 1]!, left)) i += 2;
    let j = i;
    while (j < r.length && seqLe(r[j]!, right)) j += 2;
    let grew: boolean;
    if (i === j) {
      r.splice(i, 0, left, right);
      grew = true;
    } else {
      const l = seqMin(left, r[i]!);
      const e = seqMax(right, r[j - 1]!);
      grew = j - i > 2 || seqLt(l, r[i]!) || seqGt(e, r[i + 1]!);
      r.splice(i, j - i, l, e);
    }
    const top = r[r.length - 1]!;
    this.#highest = top;
    return grew;
  }

  /** SND.UNA moved to `una`: forget what it covers. */
  advance(una: number): void {
    const r = this.#ranges;
    let drop = 0;
    while (drop < r.length && seqLe(r[drop + 1]!, una)) drop += 2;
    if (drop > 0) r.splice(0, drop);
    if (r.length > 0 && seqLt(r[0]!, una)) r[0] = una;
    this.#highest = r.length === 0 ? undefined : r[r.length - 1]!;
  }

  /** Forget everything (after a retransmission timeout: RFC 2018 §8, the receiver may renege). */
  clear(): void {
    this.#ranges = [];
    this.#highest = undefined;
  }

  /** Whether byte `seq` is SACKed. */
  isSacked(seq: number): boolean {
    const r = this.#ranges;
    for (let k = 0; k < r.length; k += 2) {
      if (seqLt(seq, r[k]!)) return false;
      if (seqLt(seq, r[k + 1]!)) return true;
    }
    return false;
  }

  /**
   * The lowest sequence number at or above which nothing is considered lost:
   * every unSACKed byte below it is (RFC 6675 §4 IsLost: more than
   * (DupThresh - 1)·SMSS bytes SACKed above it, or DupThresh separate SACKed
   * ranges above it). IsLost(s) holds exactly for unSACKed s below this.
   * Returns `una` when nothing is lost.
   */
  lostBelow(una: number, smss: number): number {
    const r = this.#ranges;
    let bytes = 0;
    let ranges = 0;
    for (let k = r.length - 2; k >= 0; k -= 2) {
      const left = r[k]!;
      const right = r[k + 1]!;
      const size = seqDiff(right, left);
      ranges++;
      if (ranges >= DUP_THRESH) return left;
      // Bytes of this range above s, for s inside it, push the total past the limit at s = right - need.
      const need = (DUP_THRESH - 1) * smss + 1 - bytes;
      if (size >= need) return seqGe(right - need, una) ? ((right - need) >>> 0) : una;
      bytes += size;
    }
    return una;
  }

  /**
   * RFC 6675 §4 SetPipe, in bytes: for each unSACKed byte between `una` and
   * `max`, one if it is not lost, and one more if it was retransmitted (at or
   * below `highRxt`).
   */
  pipe(una: number, max: number, highRxt: number, smss: number): number {
    const lost = this.lostBelow(una, smss);
    let pipe = 0;
    let at = una;
    const r = this.#ranges;
    for (let k = 0; k <= r.length; k += 2) {
      const holeEnd = k < r.length ? r[k]! : max;
      if (seqLt(at, holeEnd)) pipe += this.#holePipe(at, holeEnd, lost, highRxt);
      if (k < r.length) at = r[k + 1]!;
    }
    return pipe;
  }

  #holePipe(a: number, b: number, lost: number, highRxt: number): number {
    // not lost: the part at or above `lost`
    const notLost = seqGt(b, lost) ? seqDiff(b, seqMax(a, lost)) : 0;
    // retransmitted: the part below highRxt
    const rxt = seqGt(highRxt, a) ? seqDiff(seqMin(b, highRxt), a) : 0;
    return notLost + rxt;
  }

  /**
   * The first unSACKed range that starts at or after `from` and below
   * `limit`: `[start, end)` through `out`, or false. For NextSeg's rules
   * (1) and (3), which look for the first hole past HighRxt.
   */
  nextHole(from: number, limit: number, out: { start: number; end: number }): boolean {
    const r = this.#ranges;
    let at = from;
    for (let k = 0; k < r.length; k += 2) {
      const left = r[k]!;
      const right = r[k + 1]!;
      if (seqLe(right, at)) continue; // entirely below
      if (seqLt(at, left)) {
        // the hole [at, left)
        const end = seqMin(left, limit);
        if (!seqLt(at, end)) return false;
        out.start = at;
        out.end = end;
        return true;
      }
      at = right; // inside a SACKed range: skip past it
    }
    if (!seqLt(at, limit)) return false;
    out.start = at;
    out.end = limit;
    return true;
  }
}
