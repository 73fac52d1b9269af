/**
 * A forward writer into a caller's buffer, for the codecs whose layer is
 * written whole in one pass (`Codec.append`: DNS, DHCP, TFTP, HTTP). Every
 * write checks its room first and throws a `RangeError` rather than write
 * past `out.length`, so a codec never needs to know its exact length before
 * it starts; a length field written before its contents is back-filled with
 * `put16` once the contents are down.
 *
 * Text goes in as UTF-8 through `TextEncoder.encodeInto`, straight into the
 * buffer; {@link utf8Length} gives the same byte count without writing, for
 * length bytes and `maxLength` bounds. {@link appendCodec} makes a whole codec
 * (`headerLength`, `write`) from one `append`, so each of those layers has one
 * encoder.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "./byte_writer.ts";
 * const w = new ByteWriter("tftp", new Uint8Array(16), 0);
 * w.u16(1);
 * w.utf8("a.bin");
 * w.u8(0);
 * w.pos; // 8
 * ```
 *
 * @module
 */
import { put16, put32 } from "./bytes.ts";
import type { Codec, EncodeContext } from "./core.ts";

const encoder = new TextEncoder();

/**
 * The number of bytes `TextEncoder` makes of `s`: 1 to 3 per UTF-16 code unit,
 * 4 per surrogate pair; a lone surrogate becomes U+FFFD (3 bytes), as the
 * WHATWG Encoding standard says.
 *
 * @example
 * ```ts
 * utf8Length("é€"); // 5
 * ```
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The text `TextEncoder.encode(v)` would encode: `undefined` is the empty
 * string (its default argument), anything else its `String` form. Builders
 * have always taken a number where text is meant (`{ value: 1024 }`).
 */
export function textOf(v: unknown): string {
  return v === undefined ? "" : String(v);
}

/**
 * The UTF-8 length of {@link textOf}(v) for a bound, 0 for a value that has
 * no text form (writing it throws before a byte of it is down).
 */
export function textBound(v: unknown): number {
  try {
    return utf8Length(textOf(v));
  } catch {
    return 0;
  }
}

/**
 * Writes forward at `pos` into `out`, never past `out.length`. One per
 * `append` call; `layer` names the layer in the `RangeError` a write that
 * does not fit throws.
 */
export class ByteWriter {
  constructor(
    readonly layer: string,
    readonly out: Uint8Array,
    public pos: number,
  ) {}

  /** Throw unless `n` more bytes fit. */
  room(n: number): void {
    const left = this.out.length - this.pos;
    if (n > left) throw new RangeError(`Cannot encode ${this.layer}: ${n} bytes do not fit in the ${Math.max(left, 0)} left`);
  }

  /** The low 8 bits of `v`. */
  u8(v: number): void {
    this.room(1);
    this.out[this.pos++] = v;
  }

  /** The low 16 bits of `v`, big-endian. */
  u16(v: number): void {
    this.room(2);
    put16(this.out, this.pos, v);
    this.pos += 2;
  }

  /** The low 32 bits of `v`, big-endian. */
  u32(v: number): void {
    this.room(4);
    put32(this.out, this.pos, v);
    this.pos += 4;
  }

  /** `b` as it is. */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.out.set(b, this.pos);
    this.pos += b.length;
  }

  /** `n` zero bytes. */
  zeros(n: number): void {
    this.room(n);
    this.out.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** `s` as UTF-8; `length` is its {@link utf8Length} when the caller has it already. */
  utf8(s: string, length: number = utf8Length(s)): void {
    this.room(length);
    if (length > 0) encoder.encodeInto(s, this.out.subarray(this.pos, this.pos + length));
    this.pos += length;
  }

  /**
   * `s` one byte per character (ISO-8859-1, the octets of an HTTP/1.x head,
   * RFC 9112 §2.2); `what` names the text in the error a character over 0xff throws.
   */
  latin1(s: string, what: () => string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw new RangeError(what());
      this.out[this.pos + i] = c;
    }
    this.pos += s.length;
  }
}

/** A {@link Codec} whose `append` and `maxLength` are there for certain. */
export type AppendCodec<V> = Codec<V> & Required<Pick<Codec<V>, "append" | "maxLength">>;

/**
 * A whole {@link Codec} from a codec's `append` and `maxLength`: `write`
 * appends at the start of `out`, and `headerLength` (for callers that ask the
 * size first) appends into a scratch buffer of `maxLength` bytes and
 * measures. The encoder is the one `append`; nothing is written twice on the
 * `encodeInto` path, which calls `append` alone.
 *
 * @example
 * ```ts
 * const codec = appendCodec<{ layer: "x"; text?: string }>(
 *   (v, out, at) => { const w = new ByteWriter("x", out, at); w.utf8(v.text ?? ""); return w.pos; },
 *   (v) => utf8Length(v.text ?? ""),
 * );
 * ```
 */
export function appendCodec<V>(
  append: (value: V, out: Uint8Array, at: number, ctx: EncodeContext) => number,
  maxLength: (value: V, ctx: EncodeContext) => number,
): AppendCodec<V> {
  return {
    headerLength: (value, ctx) => append(value, new Uint8Array(maxLength(value, ctx)), 0, ctx),
    write(value, out, ctx) {
      append(value, out, 0, ctx);
    },
    append,
    maxLength,
  };
}
