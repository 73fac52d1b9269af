/**
 * Big-endian (network order) reads and writes of 8-, 16- and 32-bit fields at
 * a byte offset: the primitives every header view is built from. Reads of
 * 32 bits return unsigned numbers (`>>> 0`); writes keep the low bits of the
 * value. No bounds checks: a view checks its range once (`check()`), and a
 * read past the end of a Uint8Array gives `undefined`, which these turn into 0.
 *
 * @example
 * ```ts
 * import { put16, u16 } from "./bytes.ts";
 * const b = new Uint8Array(4);
 * put16(b, 1, 0xbeef);
 * u16(b, 1); // 0xbeef
 * ```
 *
 * @module
 */

/** The 16-bit big-endian value at `b[at]`. */
export function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** The unsigned 32-bit big-endian value at `b[at]`. */
export function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Write the low 16 bits of `v` big-endian at `b[at]`. */
export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v;
}

/** Write the low 32 bits of `v` big-endian at `b[at]`. */
export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/**
 * Throw a `TypeError` unless `data` is a `Uint8Array` (a Node `Buffer` is one):
 * a number, a string or an `ArrayBuffer` would otherwise read as an empty frame.
 * A programmer error, so it throws, where bad bytes never do.
 */
export function checkBytes(data: unknown, what: string): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`${what}: expected the frame as a Uint8Array, got ${data === null ? "null" : Array.isArray(data) ? "an array" : typeof data === "object" ? (data as object).constructor?.name ?? "an object" : typeof data}`);
  }
}
