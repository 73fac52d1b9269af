/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4): reading a possibly
 * compressed name safely, and writing one with compression.
 *
 * Reading follows pointers only backwards: every pointer must point strictly
 * before the labels that led to it, so loops and forward pointers end in a
 * {@link DnsStop} instead of a hang, as do labels over 63 bytes and names over
 * 255 bytes. Names are in presentation form without the trailing dot
 * (`www.example.test`), the root is `"."`; bytes outside printable ASCII, `.`
 * and `\` inside a label are escaped as `\DDD` / `\.` / `\\` (RFC 4343 §2.1),
 * and the builder reads the same escapes back.
 *
 * @example
 * ```ts
 * import { dnsNameToLabels } from "./dns_name.ts";
 * dnsNameToLabels("a\\.b.test").map((l) => l.length); // [3, 4]
 * ```
 *
 * @module
 */
import type { IssueKind } from "./core.ts";
import { ByteWriter } from "./byte_writer.ts";

/** RFC 1035 §2.3.4: a name's wire form, length octets included, is at most 255 bytes. */
export const DNS_MAX_NAME_LENGTH = 255;
/** RFC 1035 §2.3.4: a label is at most 63 bytes. */
export const DNS_MAX_LABEL_LENGTH = 63;
const MAX_POINTERS = 127;

/** Thrown by the readers of `dns*.ts` and caught by the decoder: never escapes it. */
export class DnsStop {
  constructor(
    readonly kind: IssueKind,
    readonly reason: string,
  ) {}
}

/**
 * Scratch for the text of the name being read: its character codes, turned into
 * one string at the end instead of one string per character. A name has at most
 * 255 wire bytes (RFC 1035 §2.3.4) and a byte escapes to at most 4 characters.
 */
const nameChars = new Uint16Array(DNS_MAX_NAME_LENGTH * 4);

/**
 * Append the label `msg[start, start + len)` to `nameChars` at `n` in
 * presentation form (RFC 4343 §2.1: `.` and `\` escaped with a backslash,
 * other non-printing bytes as `\ddd`); returns the new length.
 */
function appendLabel(msg: Uint8Array, start: number, len: number, n: number): number {
  for (let i = start; i < start + len; i++) {
    const c = msg[i]!;
    if (c === 0x2e || c === 0x5c) {
      nameChars[n++] = 0x5c;
      nameChars[n++] = c;
    } else if (c < 0x21 || c > 0x7e) {
      nameChars[n++] = 0x5c;
      nameChars[n++] = 0x30 + Math.floor(c / 100);
      nameChars[n++] = 0x30 + (Math.floor(c / 10) % 10);
      nameChars[n++] = 0x30 + (c % 10);
    } else {
      nameChars[n++] = c;
    }
  }
  return n;
}

/**
 * Recent names by their text, so a name that comes again (a response repeats
 * its query's name; answers point back at the question; real traffic asks for
 * the same few names) costs a compare of its characters instead of a new
 * string. Direct-mapped, {@link NAME_SLOTS} slots of names up to
 * {@link NAME_CACHED_CHARS} characters: bounded memory, and a slot is only
 * used when every character matches, so the cache never changes a result.
 */
const NAME_SLOTS = 1024;
const NAME_CACHED_CHARS = 64;
const nameSlotChars = new Uint16Array(NAME_SLOTS * NAME_CACHED_CHARS);
const nameSlotLength = new Int32Array(NAME_SLOTS).fill(-1);
const nameSlotText: string[] = new Array<string>(NAME_SLOTS).fill("");
/** Code units of the name being made, for `String.fromCharCode.apply` (an Array is ~2x faster there than a typed array). */
const nameUnits: number[] = [];

/** The string of `nameChars[0, chars)`, from the cache when it holds it. */
function nameString(chars: number): string {
  if (chars > NAME_CACHED_CHARS) return String.fromCharCode.apply(null, nameChars.subarray(0, chars) as unknown as number[]);
  let h = chars;
  for (let i = 0; i < chars; i++) h = Math.imul(h ^ nameChars[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (NAME_SLOTS - 1);
  const base = slot * NAME_CACHED_CHARS;
  if (nameSlotLength[slot] === chars) {
    let same = true;
    for (let i = 0; i < chars; i++) {
      if (nameSlotChars[base + i] !== nameChars[i]) {
        same = false;
        break;
      }
    }
    if (same) return nameSlotText[slot]!;
  }
  while (nameUnits.length > chars) nameUnits.pop();
  for (let i = 0; i < chars; i++) {
    nameUnits[i] = nameChars[i]!;
    nameSlotChars[base + i] = nameChars[i]!;
  }
  const text = String.fromCharCode.apply(null, nameUnits);
  nameSlotLength[slot] = chars;
  nameSlotText[slot] = text;
  return text;
}

/** The name the last {@link readName} read. */
let nameText = "";

/** The text of the name the last {@link readName} read. */
export function lastName(): string {
  return nameText;
}

/**
 * Read a possibly compressed name at `start` (its text then is
 * {@link lastName}); returns the offset just after it in the original
 * (unjumped) byte run. Throws {@link DnsStop} on a bad name. A module variable
 * rather than a result object: a message reads a name per question and per record.
 */
export function readName(msg: Uint8Array, start: number): number {
  let pos = start;
  // Every pointer must point strictly before the start of the label run that
  // reached it: offsets strictly decrease, so following pointers always ends.
  let runStart = start;
  let end = -1;
  let jumps = 0;
  let wireLength = 1; // the final root label
  let chars = 0;
  for (;;) {
    if (pos >= msg.length) throw new DnsStop("truncated", `name at offset ${start} runs past the end of the message`);
    const len = msg[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const top = len & 0xc0;
    if (top === 0xc0) {
      if (pos + 1 >= msg.length) throw new DnsStop("truncated", `compression pointer at offset ${pos} is cut off`);
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (target >= msg.length) {
        throw new DnsStop("malformed", `compression pointer at offset ${pos} points to ${target}, past the end (${msg.length})`);
      }
      if (target >= runStart) {
        throw new DnsStop("malformed", `compression pointer at offset ${pos} points forward or into a loop (to ${target})`);
      }
      // Strictly decreasing offsets already rule out loops; the cap also bounds
      // the work of a long chain of pointers to pointers (a name has at most
      // 127 labels, so a real one never needs more jumps).
      if (++jumps > MAX_POINTERS) {
        throw new DnsStop("malformed", `name at offset ${start} follows more than ${MAX_POINTERS} compression pointers`);
      }
      if (end < 0) end = pos + 2;
      pos = target;
      runStart = target;
      continue;
    }
    if (top !== 0) {
      // 0x40 and 0x80: extended and reserved label types (RFC 6891 §5), or a
      // length byte over 63 read as one.
      throw new DnsStop("malformed", `label length ${len} at offset ${pos} exceeds ${DNS_MAX_LABEL_LENGTH}`);
    }
    wireLength += len + 1;
    if (wireLength > DNS_MAX_NAME_LENGTH) {
      throw new DnsStop("malformed", `name at offset ${start} is longer than ${DNS_MAX_NAME_LENGTH} bytes`);
    }
    if (pos + 1 + len > msg.length) throw new DnsStop("truncated", `label at offset ${pos} runs past the end of the message`);
    if (chars > 0) nameChars[chars++] = 0x2e;
    chars = appendLabel(msg, pos + 1, len, chars);
    pos += 1 + len;
  }
  nameText = chars === 0 ? "." : nameString(chars);
  return end;
}

// ---------------------------------------------------------------------------
// Writing

const encoder = new TextEncoder();

/**
 * Split a presentation-form name into wire labels, reading `\.`, `\\` and `\DDD`.
 * Throws a RangeError on an empty label, a label over 63 bytes or a name over 255.
 *
 * @example
 * ```ts
 * dnsNameToLabels("www.example.test").length; // 3
 * dnsNameToLabels("."); // []
 * ```
 */
export function dnsNameToLabels(name: string): Uint8Array[] {
  if (name === "" || name === ".") return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    if (ch === "\\") {
      const digits = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(digits)) {
        const v = Number(digits);
        if (v > 255) throw new RangeError(`Invalid escape \\${digits} in DNS name "${name}"`);
        cur.push(v);
        i += 3;
      } else if (i + 1 < name.length) {
        cur.push(name.charCodeAt(++i) & 0xff);
      } else {
        throw new RangeError(`DNS name "${name}" ends in a lone backslash`);
      }
    } else if (ch === ".") {
      if (cur.length === 0) throw new RangeError(`DNS name "${name}" has an empty label`);
      labels.push(Uint8Array.from(cur));
      cur = [];
    } else {
      const code = name.charCodeAt(i);
      if (code > 0x7f) {
        // Non-ASCII: its UTF-8 bytes (an IDN should be given in its A-label form).
        for (const b of encoder.encode(ch)) cur.push(b);
      } else cur.push(code);
    }
  }
  if (cur.length > 0) labels.push(Uint8Array.from(cur));
  let total = 1;
  for (const l of labels) {
    if (l.length > DNS_MAX_LABEL_LENGTH) throw new RangeError(`DNS label of ${l.length} bytes exceeds ${DNS_MAX_LABEL_LENGTH} in "${name}"`);
    total += l.length + 1;
  }
  if (total > DNS_MAX_NAME_LENGTH) throw new RangeError(`DNS name "${name}" is longer than ${DNS_MAX_NAME_LENGTH} bytes`);
  return labels;
}

/**
 * At least as many bytes as `name` takes uncompressed on the wire, counted
 * from its text without parsing it: a label byte per ASCII character (an
 * escape is longer than its byte; a dot becomes the next label's length
 * byte), at most 3 per other UTF-16 unit (each is encoded alone, a lone
 * surrogate as U+FFFD), plus the first length byte and the root; the root
 * alone is 1. Never over 255: a longer name is refused when written.
 */
export function dnsNameBound(name: unknown): number {
  if (typeof name !== "string") return DNS_MAX_NAME_LENGTH;
  if (name === "" || name === ".") return 1; // the root: one zero byte
  let n = 2;
  for (let i = 0; i < name.length; i++) n += name.charCodeAt(i) < 0x80 ? 1 : 3;
  return Math.min(n, DNS_MAX_NAME_LENGTH);
}

/**
 * A {@link ByteWriter} for one DNS message: it knows where the message starts,
 * since compression pointers are offsets from there (RFC 1035 §4.1.4), and the
 * names written so far (null: compression off).
 */
export class DnsWriter extends ByteWriter {
  /** where the message (its ID) starts in `out` */
  readonly start: number;
  /** label sequence (as a key) → its offset in the message */
  readonly names: Map<string, number> | null;

  constructor(out: Uint8Array, at: number, compress: boolean) {
    super("dns", out, at);
    this.start = at;
    this.names = compress ? new Map<string, number>() : null;
  }
}

function labelKey(labels: Uint8Array[], from: number): string {
  let key = "";
  for (let i = from; i < labels.length; i++) key += String.fromCharCode(...labels[i]!) + "\u0000";
  return key;
}

/**
 * Write `name`, ending in a pointer to an earlier copy of its tail when the
 * writer compresses and `compress` allows it here (RFC 3597 §4: only in the
 * RDATA of RFC 1035's own types; RFC 2782: never an SRV target).
 */
export function writeName(w: DnsWriter, name: string, compress = true): void {
  const labels = dnsNameToLabels(name);
  const table = compress ? w.names : null;
  for (let i = 0; i < labels.length; i++) {
    if (table) {
      // Compression matches exact bytes, so a name keeps the case it was given.
      const key = labelKey(labels, i);
      const at = table.get(key);
      if (at !== undefined) {
        w.u16(0xc000 | at);
        return;
      }
      // A pointer has 14 bits: a tail further in cannot be pointed at.
      const offset = w.pos - w.start;
      if (offset < 0x4000) table.set(key, offset);
    }
    const label = labels[i]!;
    w.u8(label.length);
    w.bytes(label);
  }
  w.u8(0);
}
