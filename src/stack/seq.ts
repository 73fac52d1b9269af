/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4): numbers live in a space
 * of 2^32 that wraps, so `a < b` means "b is ahead of a by less than 2^31".
 * Every comparison of sequence or acknowledgment numbers in the stack goes
 * through these; a plain `<` on them is a bug that shows only after a wrap.
 *
 * @example
 * ```ts
 * import { seqAdd, seqLt } from "./seq.ts";
 * seqLt(0xfffffff0, seqAdd(0xfffffff0, 32)); // true: 0x10 is after 0xfffffff0
 * ```
 *
 * @module
 */

/** `a + n` in sequence space (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** How far `b` is ahead of `a`: `b - a` as a signed 32-bit number. */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}

/** `a < b` in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a <= b` in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a > b` in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a >= b` in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return seqGe(a, b) ? a : b;
}

/** The earlier of two sequence numbers. */
export function seqMin(a: number, b: number): number {
  return seqLe(a, b) ? a : b;
}

/** `lo <= x < hi` in sequence space (a window that starts at `lo`). */
export function seqInWindow(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
