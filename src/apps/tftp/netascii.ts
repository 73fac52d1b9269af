/**
 * netascii (RFC 1350 §5, after RFC 764): lines end in CR LF on the wire, and
 * a bare CR travels as CR NUL. Converting here means a local file with Unix
 * line ends (LF) becomes CR LF when sent and LF again when received. Both
 * directions stream: a CR at the end of one block waits for the next
 * block's first byte, and memory is one block's worth.
 *
 * @example
 * ```ts
 * import { NetasciiDecoder, toNetascii } from "./netascii.ts";
 * toNetascii(new TextEncoder().encode("a\nb\r")); // "a\r\nb\r\0"
 * const out: Uint8Array[] = [];
 * const d = new NetasciiDecoder((b) => out.push(b.slice()));
 * d.write(Uint8Array.of(0x61, 0x0d)); d.write(Uint8Array.of(0x0a)); d.end(); // out: "a\n"
 * ```
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

/** Local bytes to netascii (LF → CR LF, CR → CR NUL), all at once. */
export function toNetascii(local: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of local) if (b === LF || b === CR) extra++;
  const out = new Uint8Array(local.length + extra);
  let j = 0;
  for (const b of local) {
    if (b === LF) {
      out[j++] = CR;
      out[j++] = LF;
    } else if (b === CR) {
      out[j++] = CR;
      out[j++] = NUL;
    } else out[j++] = b;
  }
  return out;
}

/** The netascii length of local bytes (for tsize). */
export function netasciiLength(local: Uint8Array): number {
  let n = local.length;
  for (const b of local) if (b === LF || b === CR) n++;
  return n;
}

/**
 * A sequential reader (`read(into)` fills `into` and returns the count, 0 at
 * the end) turned into one that reads netascii.
 */
export class NetasciiEncoder {
  readonly #read: (into: Uint8Array) => number;
  readonly #raw: Uint8Array;
  #rawAt = 0;
  #rawEnd = 0;
  /** the second byte of a pair that did not fit the last call's buffer */
  #pending = -1;
  #eof = false;

  constructor(read: (into: Uint8Array) => number, chunk = 65536) {
    this.#read = read;
    this.#raw = new Uint8Array(chunk);
  }

  /** Fill `into` with netascii; fewer bytes only at the end. */
  read(into: Uint8Array): number {
    let j = 0;
    if (this.#pending >= 0 && j < into.length) {
      into[j++] = this.#pending;
      this.#pending = -1;
    }
    while (j < into.length) {
      if (this.#rawAt === this.#rawEnd) {
        if (this.#eof) break;
        this.#rawEnd = this.#read(this.#raw);
        this.#rawAt = 0;
        if (this.#rawEnd === 0) {
          this.#eof = true;
          break;
        }
      }
      const b = this.#raw[this.#rawAt++]!;
      if (b === LF || b === CR) {
        into[j++] = CR;
        const second = b === LF ? LF : NUL;
        if (j < into.length) into[j++] = second;
        else this.#pending = second;
      } else into[j++] = b;
    }
    return j;
  }
}

/**
 * A writer of local bytes fed netascii: CR LF → LF, CR NUL → CR; a CR
 * followed by anything else is kept as it came (a sender that does not
 * follow the rule loses nothing). {@link end} writes a CR left at the end.
 */
export class NetasciiDecoder {
  readonly #write: (bytes: Uint8Array) => void;
  #cr = false;
  #buf = new Uint8Array(0);

  /** `write` gets converted bytes; the array is reused after the call returns. */
  constructor(write: (bytes: Uint8Array) => void) {
    this.#write = write;
  }

  write(net: Uint8Array): void {
    if (this.#buf.length < net.length + 1) this.#buf = new Uint8Array(net.length + 1);
    const out = this.#buf;
    let j = 0;
    for (let i = 0; i < net.length; i++) {
      const b = net[i]!;
      if (this.#cr) {
        this.#cr = false;
        if (b === LF) {
          out[j++] = LF;
          continue;
        }
        out[j++] = CR;
        if (b === NUL) continue;
      }
      if (b === CR) this.#cr = true;
      else out[j++] = b;
    }
    if (j > 0) this.#write(out.subarray(0, j));
  }

  /** The end of the transfer: a CR still held is written. */
  end(): void {
    if (this.#cr) {
      this.#cr = false;
      this.#write(Uint8Array.of(CR));
    }
  }
}
