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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 text in a byte buffer, written at {@link pos}. */
export class TextBuffer {
  /** the bytes; `[0, pos)` is the text written so far */
  bytes: Uint8Array;
  /** where the next byte goes */
  pos = 0;

  constructor(capacity = 1 << 12) {
    this.bytes = new Uint8Array(Math.max(16, capacity));
  }

  /** Make room for `n` more bytes after {@link pos}, keeping what is written. */
  reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.pos));
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
    // ASCII text is copied by the loop; the first other code unit hands the
    // rest to the encoder, which needs at most 3 bytes per code unit. Long
    // text goes to the encoder at once.
    if (n <= 1024) {
      if (this.pos + n > this.bytes.length) this.reserve(n);
      const b = this.bytes;
      const p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p + i] = c;
      }
      this.pos = p + i;
      if (i === n) return;
      s = s.slice(i);
    }
    this.reserve(s.length * 3);
    this.pos += encoder.encodeInto(s, this.bytes.subarray(this.pos)).written;
  }

  /** A non-negative integer in decimal; anything else as `String(n)` gives it. */
  uint(n: number): void {
    if (!(n >= 0 && n <= 0xffffffff && n === Math.floor(n))) {
      this.ascii(String(n));
      return;
    }
    if (this.pos + 10 > this.bytes.length) this.reserve(10);
    const b = this.bytes;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    let digits = n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
    this.pos += digits;
    let p = this.pos;
    while (digits-- > 1) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + n - q * 10;
      n = q;
    }
    b[--p] = 48 + n;
  }

  /**
   * `n` (0 <= n < 10^width, an integer) as exactly `width` decimal digits,
   * zero-padded on the left: fractions of a second.
   */
  digits(n: number, width: number): void {
    if (this.pos + width > this.bytes.length) this.reserve(width);
    const b = this.bytes;
    let p = this.pos + width;
    this.pos = p;
    for (let k = 0; k < width; k++) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + n - q * 10;
      n = q;
    }
  }

  /** The text written since `from` as a string; {@link pos} goes back to `from`. */
  take(from: number): string {
    const end = this.pos;
    this.pos = from;
    const b = this.bytes;
    // ASCII (the usual case) as char codes, in pieces the argument list can hold.
    let ascii = true;
    for (let i = from; i < end; i++) {
      if (b[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) return decoder.decode(b.subarray(from, end));
    let s = "";
    for (let i = from; i < end; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
    return s;
  }
}
