/**
 * A growable byte buffer that text is written into as UTF-8: the line writer of
 * the one-line output. The `stackts read` fast path writes each line's pieces
 * (numbers, addresses, fixed words) straight into it, so a line costs no string
 * and no garbage, and the buffer goes to the file descriptor as it is, with no
 * string to flatten or encode when it is written.
 *
 * Every method makes room for what it writes (the buffer doubles when full), so
 * no write can fall outside it.
 *
 * The bytes are a Node `Buffer` for its native UTF-8 write and read of a
 * range: {@link TextBuffer.take} makes its string in about a quarter of the
 * time `String.fromCharCode` over a view takes, and {@link TextBuffer.text}
 * writes a long string in about two thirds of a JavaScript loop's time, with
 * no new view per call as `TextEncoder.encodeInto` needs.
 *
 * @example
 * ```ts
 * import { TextBuffer } from "./text_buffer.ts";
 * const t = new TextBuffer();
 * t.ascii("win ");
 * t.uint(502);
 * t.take(0); // "win 502"
 * ```
 *
 * @module
 */

/** The ASCII codes of the tens and units digits of 0..99. */
const HIGH_DIGIT = Uint8Array.from({ length: 100 }, (_, i) => 48 + Math.floor(i / 10));
const LOW_DIGIT = Uint8Array.from({ length: 100 }, (_, i) => 48 + (i % 10));
/** 10^k for k = 0..9 (as doubles, so a compare with them expects any number from the start). */
const POWER_OF_TEN = Float64Array.from({ length: 10 }, (_, k) => 10 ** k);

/** UTF-8 text in a byte buffer, written at {@link pos}. */
export class TextBuffer {
  /**
   * the bytes; `[0, pos)` is the text written so far. A Node `Buffer`, left out
   * of the published types (@internal) so they stand without `@types/node`.
   * @internal
   */
  bytes: Buffer;
  /** where the next byte goes */
  pos = 0;

  constructor(capacity = 1 << 12) {
    this.bytes = Buffer.alloc(Math.max(16, capacity));
  }

  /** Make room for `n` more bytes after {@link pos}, keeping what is written. */
  reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = Buffer.alloc(size);
    this.bytes.copy(bigger, 0, 0, this.pos);
    this.bytes = bigger;
  }

  /** One byte (an ASCII character code). */
  byte(c: number): void {
    if (this.pos >= this.bytes.length) this.reserve(1);
    this.bytes[this.pos++] = c;
  }

  /**
   * A string known to be ASCII (every code unit below 0x80): numbers, addresses,
   * protocol words. Anything else would be written wrong, so use {@link text}.
   */
  ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.bytes.length) this.reserve(n);
    const b = this.bytes;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any string, as UTF-8 (a lone surrogate becomes U+FFFD, as TextEncoder does). */
  text(s: string): void {
    const n = s.length;
    // ASCII text up to a line's length is copied by the loop (a native call
    // costs more than ~200 characters copied here); anything longer, or with
    // other characters, by Buffer's UTF-8 writer, which needs at most 3 bytes
    // per UTF-16 code unit.
    if (n <= 256) {
      if (this.pos + n > this.bytes.length) this.reserve(n);
      const b = this.bytes;
      const p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p + i] = c;
      }
      if (i === n) {
        this.pos = p + n;
        return;
      }
    }
    this.reserve(n * 3);
    this.pos += this.bytes.write(s, this.pos, "utf8");
  }

  /** A non-negative integer in decimal; anything else as `String(n)` gives it. */
  uint(n: number): void {
    if (!(n >= 0 && n <= 0xffffffff && n === Math.floor(n))) {
      this.ascii(String(n));
      return;
    }
    // One compare for every width, not one per width: a chain of compares
    // would have some V8 never saw run when it optimized a caller, and the
    // first number of a new width would throw that code away.
    let width = 1;
    while (width < 10 && n >= POWER_OF_TEN[width]!) width++;
    if (n > 0x7fffffff) {
      this.digits(n, width);
      return;
    }
    // Nearly every number of a line: its digits written here, two per
    // division from the right, in int32 arithmetic (no call to digits).
    if (this.pos + width > this.bytes.length) this.reserve(width);
    const b = this.bytes;
    let p = this.pos + width;
    this.pos = p;
    let m = n | 0;
    while (m >= 100) {
      const q = (m / 100) | 0;
      const r = m - q * 100;
      b[--p] = LOW_DIGIT[r]!;
      b[--p] = HIGH_DIGIT[r]!;
      m = q;
    }
    if (m >= 10) {
      b[--p] = LOW_DIGIT[m]!;
      b[--p] = HIGH_DIGIT[m]!;
    } else {
      b[--p] = 48 + m;
    }
  }

  /**
   * `n` (an integer, 0 <= n < 2^32 and n < 10^width) as exactly `width`
   * decimal digits, zero-padded on the left: fractions of a second, and the
   * digits of {@link uint}.
   */
  digits(n: number, width: number): void {
    if (this.pos + width > this.bytes.length) this.reserve(width);
    const b = this.bytes;
    let p = this.pos + width;
    this.pos = p;
    let k = width;
    // Two digits per division, from the right; after at most one step in
    // floating point the rest fits int32 arithmetic, which is cheaper.
    if (n > 0x7fffffff && k >= 2) {
      const q = Math.floor(n / 100);
      const r = n - q * 100;
      b[--p] = LOW_DIGIT[r]!;
      b[--p] = HIGH_DIGIT[r]!;
      n = q;
      k -= 2;
    }
    let m = n | 0;
    for (; k >= 2; k -= 2) {
      const q = (m / 100) | 0;
      const r = m - q * 100;
      b[--p] = LOW_DIGIT[r]!;
      b[--p] = HIGH_DIGIT[r]!;
      m = q;
    }
    if (k === 1) b[--p] = 48 + m - ((m / 10) | 0) * 10;
  }

  /** The text written since `from` as a string; {@link pos} goes back to `from`. */
  take(from: number): string {
    const end = this.pos;
    this.pos = from;
    return this.bytes.toString("utf8", from, end);
  }
}
