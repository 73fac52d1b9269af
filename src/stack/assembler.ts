/**
 * Which byte ranges past the next expected one have arrived: the receive
 * side's out-of-order bookkeeping (the data itself sits in the receive
 * {@link Ring} at its offset). Ranges are kept sorted, merged when they touch,
 * and capped in number, so a peer that sends one byte in every other slot
 * cannot make the stack keep unbounded state: past the cap a new island is
 * refused (the segment is dropped and will be sent again).
 *
 * The most recently extended range is remembered too: RFC 2018 §4 wants the
 * first SACK block to report the segment that triggered the ACK.
 *
 * @example
 * ```ts
 * import { Assembler } from "./assembler.ts";
 * const a = new Assembler(8);
 * a.add(10, 20); a.add(0, 10);
 * a.takeFront(); // 20: bytes 0..20 are now in order
 * ```
 *
 * @module
 */

/** Offsets are relative to the next in-order byte; {@link takeFront} moves that base. */
export class Assembler {
  /** the most islands kept */
  readonly maxRanges: number;
  /** start, end pairs, sorted, disjoint and not touching */
  #ranges: number[] = [];
  /** index (in ranges) of the range last grown, or -1 */
  #recent = -1;

  constructor(maxRanges = 32) {
    this.maxRanges = maxRanges;
  }

  /** Number of separate ranges held. */
  get count(): number {
    return this.#ranges.length >> 1;
  }

  /** Whether nothing is held. */
  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Start of range `i` (relative to the base). */
  start(i: number): number {
    return this.#ranges[2 * i]!;
  }

  /** End (exclusive) of range `i`. */
  end(i: number): number {
    return this.#ranges[2 * i + 1]!;
  }

  /** The index of the range last grown by {@link add}, or -1. */
  get recent(): number {
    return this.#recent;
  }

  /**
   * Record that `[start, end)` arrived (start >= 0). Returns false, changing
   * nothing, when it would be a new island beyond `maxRanges`.
   */
  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const r = this.#ranges;
    // First range whose end reaches start (touching counts: they merge).
    let i = 0;
    while (i < r.length && r[i + 1]! < start) i += 2;
    // Ranges from i that begin at or before end overlap or touch the new one.
    let j = i;
    while (j < r.length && r[j]! <= end) j += 2;
    if (i === j) {
      if (r.length >> 1 >= this.maxRanges) return false;
      r.splice(i, 0, start, end);
    } else {
      const s = Math.min(start, r[i]!);
      const e = Math.max(end, r[j - 1]!);
      r.splice(i, j - i, s, e);
    }
    this.#recent = i >> 1;
    return true;
  }

  /**
   * If a range starts at 0, remove it and return its length (that many bytes
   * are now in order), moving every offset down by it; else 0.
   */
  takeFront(): number {
    const r = this.#ranges;
    if (r.length === 0 || r[0]! !== 0) return 0;
    const n = r[1]!;
    r.splice(0, 2);
    for (let k = 0; k < r.length; k++) r[k] = r[k]! - n;
    this.#recent = this.#recent <= 0 ? -1 : this.#recent - 1;
    return n;
  }

  /**
   * The in-order data grew by `n` bytes that arrived on their own (the base
   * moves up by n): ranges that now start at or below 0 are trimmed.
   */
  advance(n: number): void {
    const r = this.#ranges;
    for (let k = 0; k < r.length; k++) r[k] = r[k]! - n;
    while (r.length > 0 && r[1]! <= 0) {
      r.splice(0, 2);
      this.#recent--;
    }
    if (r.length > 0 && r[0]! < 0) r[0] = 0;
    if (this.#recent < 0 || this.#recent >= r.length >> 1) this.#recent = -1;
  }

  /** Forget everything. */
  clear(): void {
    this.#ranges = [];
    this.#recent = -1;
  }
}
