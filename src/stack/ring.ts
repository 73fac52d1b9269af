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
 * The memory comes as it is used: none until the first write, then doubling
 * (from 4 KiB) up to the capacity, so a connection that moves little, or a
 * half-open one a SYN flood made, holds little (RFC 4987 §3.1).
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

/** The first allocation of a ring that is written to. */
const FIRST_SIZE = 4096;

/** A fixed-capacity byte ring; `length` bytes from `head` are live. */
export class Ring {
  readonly capacity: number;
  /** the storage: grows to `capacity`; positions are taken modulo its length */
  #data = new Uint8Array(0);
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`Ring capacity must be a positive integer, not ${capacity}`);
    this.capacity = capacity;
  }

  /** Bytes of storage held now (at most `capacity`). */
  get allocated(): number {
    return this.#data.length;
  }

  /** Make the storage hold at least `upTo` bytes from the head. */
  #grow(upTo: number): void {
    const old = this.#data;
    const size = Math.min(this.capacity, Math.max(upTo, old.length * 2, FIRST_SIZE));
    const data = new Uint8Array(size);
    // Unwrap: everything the old storage held, from the head on, goes to 0.. (out-of-order
    // bytes ahead of the live ones included).
    const first = old.length - this.#head;
    data.set(old.subarray(this.#head), 0);
    data.set(old.subarray(0, this.#head), first);
    this.#data = data;
    this.#head = 0;
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
    if (offset + n > this.#data.length) this.#grow(offset + n);
    const size = this.#data.length;
    const at = (this.#head + offset) % size;
    const first = Math.min(n, size - at);
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
    if (n === 0) return;
    const size = this.#data.length;
    const at = (this.#head + offset) % size;
    const first = Math.min(n, size - at);
    dst.set(this.#data.subarray(at, at + first), dstAt);
    if (first < n) dst.set(this.#data.subarray(0, n - first), dstAt + first);
  }

  /** Drop the `n` oldest live bytes. */
  consume(n: number): void {
    if (n < 0 || n > this.#length) throw new RangeError(`Ring cannot consume ${n} of ${this.#length} bytes`);
    if (n > 0) this.#head = (this.#head + n) % this.#data.length;
    this.#length -= n;
    // The head never jumps back to 0 when the ring empties: the receive side keeps
    // out-of-order bytes ahead of the live ones, at their place relative to the head.
  }

  /** Take up to `max` of the oldest live bytes out as a new array. */
  take(max: number): Uint8Array {
    const out = new Uint8Array(Math.min(max, this.#length));
    this.takeInto(out, 0, out.length);
    return out;
  }

  /** Move up to `max` of the oldest live bytes into `dst` at `at`; returns how many. */
  takeInto(dst: Uint8Array, at: number, max: number): number {
    const n = Math.min(max, this.#length);
    this.copyOut(0, n, dst, at);
    this.consume(n);
    return n;
  }
}
