/**
 * A byte ring of fixed capacity: what a TCP socket keeps between the
 * application and the wire. The send side appends what the application
 * writes and drops what the peer acknowledged; segments copy out of it at an
 * offset from the oldest byte, retransmissions included. The receive side
 * holds in-order data for the application and, past it, out-of-order data
 * written at its offset ahead of time (an {@link Assembler} remembers which
 * ranges are there), so reassembly never needs more memory than the window
 * the stack advertised.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * const r = new Ring(8);
 * r.append(Uint8Array.of(1, 2, 3));
 * r.consume(1);
 * r.copyOut(0, 2, out, 0); // 2, 3
 * ```
 *
 * @module
 */

/** A fixed-capacity byte ring; `length` bytes from `head` are live. */
export class Ring {
  readonly capacity: number;
  readonly #data: Uint8Array;
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`Ring capacity must be a positive integer, not ${capacity}`);
    this.capacity = capacity;
    this.#data = new Uint8Array(capacity);
  }

  /** Live bytes. */
  get length(): number {
    return this.#length;
  }

  /** Room left. */
  get free(): number {
    return this.capacity - this.#length;
  }

  /** Append as much of `src[start, end)` as fits; returns how many bytes were taken. */
  append(src: Uint8Array, start = 0, end = src.length): number {
    const n = Math.max(0, Math.min(end - start, this.free));
    if (n > 0) this.writeAt(this.#length, src, start, start + n);
    this.#length += n;
    return n;
  }

  /**
   * Write `src[start, end)` at `offset` bytes past the oldest live byte,
   * without changing `length` (the receive side's out-of-order data, placed
   * ahead of the in-order bytes). The caller keeps `offset + n <= capacity`.
   */
  writeAt(offset: number, src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (offset < 0 || offset + n > this.capacity) throw new RangeError(`Ring write of ${n} bytes at ${offset} exceeds the capacity ${this.capacity}`);
    const at = (this.#head + offset) % this.capacity;
    const first = Math.min(n, this.capacity - at);
    this.#data.set(src.subarray(start, start + first), at);
    if (first < n) this.#data.set(src.subarray(start + first, end), 0);
  }

  /** Count `n` bytes written with {@link writeAt} just past the live ones as live. */
  extend(n: number): void {
    if (n < 0 || this.#length + n > this.capacity) throw new RangeError(`Ring cannot extend by ${n}`);
    this.#length += n;
  }

  /** Copy `n` live bytes starting `offset` past the oldest into `dst` at `dstAt`. */
  copyOut(offset: number, n: number, dst: Uint8Array, dstAt: number): void {
    if (offset < 0 || n < 0 || offset + n > this.#length) throw new RangeError(`Ring read of ${n} bytes at ${offset} exceeds the ${this.#length} live`);
    const at = (this.#head + offset) % this.capacity;
    const first = Math.min(n, this.capacity - at);
    dst.set(this.#data.subarray(at, at + first), dstAt);
    if (first < n) dst.set(this.#data.subarray(0, n - first), dstAt + first);
  }

  /** Drop the `n` oldest live bytes. */
  consume(n: number): void {
    if (n < 0 || n > this.#length) throw new RangeError(`Ring cannot consume ${n} of ${this.#length} bytes`);
    this.#head = (this.#head + n) % this.capacity;
    this.#length -= n;
    // The head never jumps back to 0 when the ring empties: the receive side keeps
    // out-of-order bytes ahead of the live ones, at their place relative to the head.
  }

  /** Take up to `max` of the oldest live bytes out as a new array. */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.#length);
    const out = new Uint8Array(n);
    this.copyOut(0, n, out, 0);
    this.consume(n);
    return out;
  }
}
