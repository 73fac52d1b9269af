/**
 * DNS messages (RFC 1035), over UDP and over TCP (RFC 1035 §4.2.2, RFC 7766).
 *
 * Decoding reads the header, every section, and record data for A, AAAA, CNAME,
 * NS, PTR, MX, TXT, SOA, SRV, CAA and OPT (EDNS0, RFC 6891); other types keep
 * their record data raw. Name compression is followed safely: every pointer must
 * point strictly before the labels that led to it, so loops and forward pointers
 * end in an {@link Issue} instead of a hang, as do labels over 63 bytes, names over
 * 255 bytes and section counts that claim more records than the bytes hold.
 *
 * Over TCP each message carries a two-byte length prefix and one segment may hold
 * several messages: the decoder pushes **one `dns` value per message** (each with
 * its `tcpLength`), in order. Whether the layer below is TCP is read from
 * `state.layers`.
 *
 * Names are in presentation form without the trailing dot (`www.example.test`), the
 * root is `"."`; bytes outside printable ASCII, `.` and `\` inside a label are
 * escaped as `\DDD` / `\.` / `\\` (RFC 4343 §2.1), and the builder reads the same
 * escapes back.
 *
 * @example
 * ```ts
 * import { dnsCodec, encodeDns } from "./dns.ts";
 * const query = encodeDns({ layer: "dns", id: 0x1234, questions: [{ name: "www.example.test", type: "A" }] });
 * ```
 *
 * @module
 */
import type { Codec, DecodeState, Decoder, EncodeContext, IssueKind, LayerBase, Protocol } from "./core.ts";
import { PORT_DNS, PORT_MDNS } from "./dispatch.ts";
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "./addr.ts";
import { rangeView } from "./checksum.ts";

/** Record types with a name (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891, RFC 8659, ...). */
export const DNS_TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  SVCB: 64,
  HTTPS: 65,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

/** Classes (RFC 1035 §3.2.4, RFC 2136). */
export const DNS_CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

/** Opcodes (RFC 1035 §4.1.1, RFC 1996, RFC 2136, RFC 8490). */
export const DNS_OPCODE = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5, DSO: 6 } as const;

/** Response codes of the header's 4-bit field (RFC 1035 §4.1.1, RFC 2136). */
export const DNS_RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
} as const;

function invert(table: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}
const TYPE_NAMES = invert(DNS_TYPE);
const OPCODE_NAMES = invert(DNS_OPCODE);
const RCODE_NAMES = invert(DNS_RCODE);

/** `A`, `AAAA`, ... or `TYPE<n>` for an unnamed type (RFC 3597 §5). */
export function dnsTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** `IN`, `CH`, ... or `CLASS<n>` (RFC 3597 §5). */
export function dnsClassName(cls: number): string {
  for (const [k, v] of Object.entries(DNS_CLASS)) if (v === cls) return k;
  return `CLASS${cls}`;
}

/** `QUERY`, `NOTIFY`, ... or `OPCODE<n>`. */
export function dnsOpcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? `OPCODE${opcode}`;
}

/** `NOERROR`, `NXDOMAIN`, ... or `RCODE<n>`. */
export function dnsRcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/** Type number of a name (`"AAAA"`, `"TYPE65"`) or a number passed through. Throws on an unknown name. */
export function dnsTypeOf(type: number | string): number {
  if (typeof type === "number") return type;
  const upper = type.toUpperCase();
  const known = (DNS_TYPE as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new RangeError(`Unknown DNS type name "${type}"`);
}

/** One entry of the question section. */
export interface DnsQuestion {
  name: string;
  type: number;
  /** `A`, `AAAA`, ..., `TYPE<n>` */
  typeName: string;
  class: number;
}

/** MX record data (RFC 1035 §3.3.9). */
export interface DnsMx {
  preference: number;
  exchange: string;
}

/** SOA record data (RFC 1035 §3.3.13). */
export interface DnsSoa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** SRV record data (RFC 2782). */
export interface DnsSrv {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** CAA record data (RFC 8659 §4.1). */
export interface DnsCaa {
  flags: number;
  tag: string;
  value: string;
}

/** One EDNS0 option (RFC 6891 §6.1.2): code and raw data. */
export interface DnsEdnsOption {
  code: number;
  data: Uint8Array;
}

/**
 * OPT pseudo-record data (RFC 6891 §6.1.3): what the record's class and TTL fields
 * mean for OPT, plus its options. The record's `class` and `ttl` keep the raw values.
 */
export interface DnsOpt {
  udpPayloadSize: number;
  /** upper 8 bits of the 12-bit rcode */
  extendedRcode: number;
  version: number;
  /** the DO bit (RFC 3225) */
  dnssecOk: boolean;
  /** the 15 remaining flag bits */
  z: number;
  options: DnsEdnsOption[];
}

/**
 * Record data by type: A/AAAA an address string; CNAME/NS/PTR a name; TXT the
 * list of character-strings; MX/SOA/SRV/CAA/OPT an object; anything else (or data
 * that does not fit its type) the raw bytes.
 */
export type DnsData = string | string[] | DnsMx | DnsSoa | DnsSrv | DnsCaa | DnsOpt | Uint8Array;

/** One resource record. For OPT, `class` is the UDP payload size and `ttl` the packed flags. */
export interface DnsRecord {
  name: string;
  type: number;
  typeName: string;
  class: number;
  ttl: number;
  /** RDLENGTH as it was on the wire */
  rdLength: number;
  data: DnsData;
}

/** A decoded DNS message. */
export interface Dns extends LayerBase {
  layer: "dns";
  /** over TCP only: the two-byte length prefix */
  tcpLength?: number;
  id: number;
  response: boolean;
  opcode: number;
  opcodeName: string;
  /** the header's 4-bit RCODE; EDNS0 extends it through the OPT record's `extendedRcode` */
  rcode: number;
  rcodeName: string;
  /** the whole 16-bit flags word, as tshark's `dns.flags` */
  flags: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  /** the reserved Z bit (0x0040) */
  z: boolean;
  authenticData: boolean;
  checkingDisabled: boolean;
  questionCount: number;
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  /** length of the message in bytes (without the TCP prefix) */
  length: number;
}

// ---------------------------------------------------------------------------
// Decoding

const HEADER_LENGTH = 12;
const MAX_NAME_LENGTH = 255; // RFC 1035 §2.3.4, wire form including length octets
const MAX_LABEL_LENGTH = 63;
const MAX_POINTERS = 127;

/** Thrown inside this module only, caught by the decoder: never escapes. */
class DnsStop {
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
const nameChars = new Uint16Array(MAX_NAME_LENGTH * 4);

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

/**
 * Read a possibly compressed name at `start` into {@link nameText}; returns the
 * offset just after it in the original (unjumped) byte run. A module variable
 * rather than a result object: a message reads a name per question and per
 * record.
 */
function readName(msg: Uint8Array, start: number): number {
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
      throw new DnsStop("malformed", `label length ${len} at offset ${pos} exceeds ${MAX_LABEL_LENGTH}`);
    }
    wireLength += len + 1;
    if (wireLength > MAX_NAME_LENGTH) {
      throw new DnsStop("malformed", `name at offset ${start} is longer than ${MAX_NAME_LENGTH} bytes`);
    }
    if (pos + 1 + len > msg.length) throw new DnsStop("truncated", `label at offset ${pos} runs past the end of the message`);
    if (chars > 0) nameChars[chars++] = 0x2e;
    chars = appendLabel(msg, pos + 1, len, chars);
    pos += 1 + len;
  }
  nameText = chars === 0 ? "." : nameString(chars);
  return end;
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

const textDecoder = new TextDecoder("utf-8");

function readCharacterString(msg: Uint8Array, pos: number, end: number): { text: string; next: number } | null {
  if (pos >= end) return null;
  const len = msg[pos]!;
  if (pos + 1 + len > end) return null;
  return { text: textDecoder.decode(msg.subarray(pos + 1, pos + 1 + len)), next: pos + 1 + len };
}

/**
 * Read a name that must end inside the record data `[start, end)` (into
 * {@link nameText}); returns the offset after it, or -1 when it runs past `end`.
 */
function rdataName(msg: Uint8Array, start: number, end: number): number {
  const after = readName(msg, start);
  return after > end ? -1 : after;
}

/**
 * Decode one record's data. Returns null when the data does not fit its type (the
 * caller keeps it raw and notes why). May throw DnsStop from a bad name.
 */
function decodeRdata(msg: Uint8Array, type: number, cls: number, ttl: number, start: number, end: number): DnsData | null {
  const len = end - start;
  switch (type) {
    case DNS_TYPE.A:
      return len === 4 ? formatIpv4(msg, start) : null;
    case DNS_TYPE.AAAA:
      return len === 16 ? formatIpv6(msg, start) : null;
    case DNS_TYPE.CNAME:
    case DNS_TYPE.NS:
    case DNS_TYPE.PTR:
      return rdataName(msg, start, end) === end ? nameText : null;
    case DNS_TYPE.MX: {
      if (len < 3) return null;
      return rdataName(msg, start + 2, end) === end ? { preference: u16(msg, start), exchange: nameText } : null;
    }
    case DNS_TYPE.TXT: {
      const strings: string[] = [];
      let pos = start;
      while (pos < end) {
        const s = readCharacterString(msg, pos, end);
        if (!s) return null;
        strings.push(s.text);
        pos = s.next;
      }
      return strings;
    }
    case DNS_TYPE.SOA: {
      const afterM = rdataName(msg, start, end);
      if (afterM < 0) return null;
      const mname = nameText;
      const p = rdataName(msg, afterM, end);
      if (p < 0 || p + 20 !== end) return null;
      return {
        mname,
        rname: nameText,
        serial: u32(msg, p),
        refresh: u32(msg, p + 4),
        retry: u32(msg, p + 8),
        expire: u32(msg, p + 12),
        minimum: u32(msg, p + 16),
      };
    }
    case DNS_TYPE.SRV: {
      if (len < 7) return null;
      if (rdataName(msg, start + 6, end) !== end) return null;
      return { priority: u16(msg, start), weight: u16(msg, start + 2), port: u16(msg, start + 4), target: nameText };
    }
    case DNS_TYPE.CAA: {
      if (len < 2) return null;
      const tagLength = msg[start + 1]!;
      if (2 + tagLength > len) return null;
      return {
        flags: msg[start]!,
        tag: textDecoder.decode(msg.subarray(start + 2, start + 2 + tagLength)),
        value: textDecoder.decode(msg.subarray(start + 2 + tagLength, end)),
      };
    }
    case DNS_TYPE.OPT: {
      const options: DnsEdnsOption[] = [];
      let pos = start;
      while (pos < end) {
        if (pos + 4 > end) return null;
        const optLength = u16(msg, pos + 2);
        if (pos + 4 + optLength > end) return null;
        options.push({ code: u16(msg, pos), data: msg.subarray(pos + 4, pos + 4 + optLength) });
        pos += 4 + optLength;
      }
      // RFC 6891 §6.1.3: TTL = extended RCODE (8) | VERSION (8) | DO (1) | Z (15)
      return {
        udpPayloadSize: cls,
        extendedRcode: ttl >>> 24,
        version: (ttl >>> 16) & 0xff,
        dnssecOk: (ttl & 0x8000) !== 0,
        z: ttl & 0x7fff,
        options,
      };
    }
    default:
      return msg.subarray(start, end);
  }
}

function decodeMessage(msg: Uint8Array, state: DecodeState, tcpLength: number | undefined): void {
  if (msg.length < HEADER_LENGTH) {
    state.issues.push({ layer: "dns", kind: "truncated", reason: `header needs ${HEADER_LENGTH} bytes, got ${msg.length}` });
    return;
  }
  const flags = u16(msg, 2);
  const opcode = (flags >> 11) & 0xf;
  const rcode = flags & 0xf;
  const id = u16(msg, 0);
  const questionCount = u16(msg, 4);
  const answerCount = u16(msg, 6);
  const authorityCount = u16(msg, 8);
  const additionalCount = u16(msg, 10);
  const questions: DnsQuestion[] = [];
  const answers: DnsRecord[] = [];
  const authorities: DnsRecord[] = [];
  const additionals: DnsRecord[] = [];
  const dns: Dns = {
    layer: "dns",
    id,
    response: (flags & 0x8000) !== 0,
    opcode,
    opcodeName: dnsOpcodeName(opcode),
    rcode,
    rcodeName: dnsRcodeName(rcode),
    flags,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    authenticData: (flags & 0x0020) !== 0,
    checkingDisabled: (flags & 0x0010) !== 0,
    questionCount,
    answerCount,
    authorityCount,
    additionalCount,
    questions,
    answers,
    authorities,
    additionals,
    length: msg.length,
  };
  // Over TCP only, added after the rest (an object spread into the literal
  // made a slower dictionary-like object of every message).
  if (tcpLength !== undefined) dns.tcpLength = tcpLength;
  state.layers.push(dns);
  let pos = HEADER_LENGTH;
  // Where a problem was met, as "answer 2 of 3": kept as parts, put into words
  // only when an issue is reported (no string building per record).
  let section = 0;
  let index = 0;
  try {
    // Records are only appended while the bytes last, so a count that lies
    // (65535 questions in 40 bytes) costs nothing before the stop.
    for (; index < questionCount; index++) {
      const after = readName(msg, pos);
      if (after + 4 > msg.length) throw new DnsStop("truncated", "type and class are cut off");
      const type = u16(msg, after);
      questions.push({ name: nameText, type, typeName: dnsTypeName(type), class: u16(msg, after + 2) });
      pos = after + 4;
    }
    for (section = 1; section < 4; section++) {
      const list = section === 1 ? answers : section === 2 ? authorities : additionals;
      const count = section === 1 ? answerCount : section === 2 ? authorityCount : additionalCount;
      for (index = 0; index < count; index++) {
        const p = readName(msg, pos);
        const name = nameText;
        if (p + 10 > msg.length) throw new DnsStop("truncated", "record header is cut off");
        const type = u16(msg, p);
        const cls = u16(msg, p + 2);
        const ttl = u32(msg, p + 4);
        const rdLength = u16(msg, p + 8);
        const start = p + 10;
        const end = start + rdLength;
        if (end > msg.length) throw new DnsStop("truncated", `data length ${rdLength} exceeds ${msg.length - start} bytes`);
        let data: DnsData | null;
        let why = "does not fit its type";
        try {
          data = decodeRdata(msg, type, cls, ttl, start, end);
        } catch (err) {
          if (!(err instanceof DnsStop)) throw err;
          why = `has a bad name: ${err.reason}`;
          data = null;
        }
        if (data === null) {
          // The record is framed by RDLENGTH, so the next one can still be read.
          state.issues.push({
            layer: "dns",
            kind: "malformed",
            reason: `${where(section, index, dns)}: ${dnsTypeName(type)} data of ${rdLength} bytes ${why}`,
          });
          data = msg.subarray(start, end);
        }
        list.push({ name, type, typeName: dnsTypeName(type), class: cls, ttl, rdLength, data });
        pos = end;
      }
    }
  } catch (err) {
    if (!(err instanceof DnsStop)) throw err;
    state.issues.push({ layer: "dns", kind: err.kind, reason: `${where(section, index, dns)}: ${err.reason}` });
  }
}

const SECTION_NAMES = ["question", "answer", "authority", "additional"] as const;

/** "answer 2 of 3": the record of section `section` (0 question .. 3 additional) at `index`. */
function where(section: number, index: number, dns: Dns): string {
  const count = [dns.questionCount, dns.answerCount, dns.authorityCount, dns.additionalCount][section]!;
  return `${SECTION_NAMES[section]!} ${index + 1} of ${count}`;
}

/**
 * Decode one DNS message (UDP) or the length-prefixed messages of one TCP segment.
 * Consumes all bytes; returns null.
 */
export const decodeDns: Decoder = (frame, state) => {
  // One view of the message keeps the offsets below relative.
  const bytes = rangeView(frame, state.offset, state.end);
  const below = state.layers[state.layers.length - 1];
  if (below !== undefined && below.layer === "tcp") {
    let pos = 0;
    while (pos < bytes.length) {
      if (pos + 2 > bytes.length) {
        state.issues.push({ layer: "dns", kind: "truncated", reason: "TCP length prefix is cut off" });
        break;
      }
      const length = u16(bytes, pos);
      const available = bytes.length - pos - 2;
      if (length > available) {
        // The rest of the message is in a later segment (no reassembly here):
        // decode what this one holds and say so.
        state.issues.push({
          layer: "dns",
          kind: "truncated",
          reason: `TCP length prefix ${length} exceeds ${available} bytes`,
        });
      }
      decodeMessage(bytes.subarray(pos + 2, pos + 2 + Math.min(length, available)), state, length);
      pos += 2 + length;
    }
  } else {
    decodeMessage(bytes, state, undefined);
  }
  state.offset = state.end;
  return null;
};

// ---------------------------------------------------------------------------
// Encoding

/** A question to build: type by number or name (default A), class default IN. */
export interface DnsQuestionInput {
  name: string;
  type?: number | string;
  class?: number;
}

/**
 * A record to build. `data` takes the decoded shapes ({@link DnsData}); raw bytes
 * are written as given for any type. For OPT, `data` may be a partial
 * {@link DnsOpt} and then sets `class`/`ttl` unless those are given.
 */
export interface DnsRecordInput {
  name?: string;
  type?: number | string;
  class?: number;
  ttl?: number;
  /** written instead of the real data length (to build a lying record) */
  rdLength?: number;
  data?: DnsData | Partial<DnsOpt>;
}

/**
 * What a user gives to build a DNS message. Everything has a default; the counts
 * follow the lists unless set; `flags`, when set, is written verbatim instead of
 * the flag fields.
 */
export interface DnsInput {
  layer: "dns";
  /** over TCP: the length prefix to write instead of the real length */
  tcpLength?: number;
  id?: number;
  response?: boolean;
  opcode?: number;
  rcode?: number;
  flags?: number;
  authoritative?: boolean;
  truncated?: boolean;
  /** default true for queries (like dig), false for responses unless set */
  recursionDesired?: boolean;
  recursionAvailable?: boolean;
  z?: boolean;
  authenticData?: boolean;
  checkingDisabled?: boolean;
  questionCount?: number;
  answerCount?: number;
  authorityCount?: number;
  additionalCount?: number;
  questions?: DnsQuestionInput[];
  answers?: DnsRecordInput[];
  authorities?: DnsRecordInput[];
  additionals?: DnsRecordInput[];
  /** compress names (default true) */
  compress?: boolean;
}

class Writer {
  buf = new Uint8Array(512);
  length = 0;
  ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
  }
  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
}

/** Split a presentation-form name into wire labels, reading `\.`, `\\` and `\DDD`. */
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
        for (const b of new TextEncoder().encode(ch)) cur.push(b);
      } else cur.push(code);
    }
  }
  if (cur.length > 0) labels.push(Uint8Array.from(cur));
  let total = 1;
  for (const l of labels) {
    if (l.length > MAX_LABEL_LENGTH) throw new RangeError(`DNS label of ${l.length} bytes exceeds ${MAX_LABEL_LENGTH} in "${name}"`);
    total += l.length + 1;
  }
  if (total > MAX_NAME_LENGTH) throw new RangeError(`DNS name "${name}" is longer than ${MAX_NAME_LENGTH} bytes`);
  return labels;
}

function labelKey(labels: Uint8Array[], from: number): string {
  let key = "";
  for (let i = from; i < labels.length; i++) key += String.fromCharCode(...labels[i]!) + "\u0000";
  return key;
}

function writeName(w: Writer, name: string, table: Map<string, number> | null): void {
  const labels = dnsNameToLabels(name);
  for (let i = 0; i < labels.length; i++) {
    if (table) {
      // Compression matches exact bytes, so a name keeps the case it was given.
      const key = labelKey(labels, i);
      const at = table.get(key);
      if (at !== undefined) {
        w.u16(0xc000 | at);
        return;
      }
      if (w.length < 0x4000) table.set(key, w.length);
    }
    const label = labels[i]!;
    w.u8(label.length);
    w.bytes(label);
  }
  w.u8(0);
}

function writeCharacterString(w: Writer, text: string): void {
  const b = new TextEncoder().encode(text);
  if (b.length > 255) throw new RangeError(`DNS character-string of ${b.length} bytes exceeds 255`);
  w.u8(b.length);
  w.bytes(b);
}

function isOpt(v: unknown): v is Partial<DnsOpt> {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v) && !("exchange" in v);
}

function writeRdata(w: Writer, type: number, data: DnsRecordInput["data"], table: Map<string, number> | null): void {
  if (data === undefined) return;
  if (data instanceof Uint8Array) {
    w.bytes(data);
    return;
  }
  const bad = (): never => {
    throw new TypeError(`DNS ${dnsTypeName(type)} record data has the wrong shape`);
  };
  switch (type) {
    case DNS_TYPE.A:
      return typeof data === "string" ? w.bytes(parseIpv4(data)) : bad();
    case DNS_TYPE.AAAA:
      return typeof data === "string" ? w.bytes(parseIpv6(data)) : bad();
    // RFC 3597 §4: compression only in the RDATA of the RFC 1035 well-known types.
    case DNS_TYPE.CNAME:
    case DNS_TYPE.NS:
    case DNS_TYPE.PTR:
      return typeof data === "string" ? writeName(w, data, table) : bad();
    case DNS_TYPE.MX: {
      const mx = data as DnsMx;
      if (typeof mx.exchange !== "string") bad();
      w.u16(mx.preference ?? 0);
      return writeName(w, mx.exchange, table);
    }
    case DNS_TYPE.TXT:
      if (typeof data === "string") return writeCharacterString(w, data);
      if (!Array.isArray(data)) bad();
      for (const s of data as string[]) writeCharacterString(w, s);
      return;
    case DNS_TYPE.SOA: {
      const soa = data as DnsSoa;
      if (typeof soa.mname !== "string" || typeof soa.rname !== "string") bad();
      writeName(w, soa.mname, table);
      writeName(w, soa.rname, table);
      for (const v of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum]) w.u32(v ?? 0);
      return;
    }
    case DNS_TYPE.SRV: {
      const srv = data as DnsSrv;
      if (typeof srv.target !== "string") bad();
      w.u16(srv.priority ?? 0);
      w.u16(srv.weight ?? 0);
      w.u16(srv.port ?? 0);
      // RFC 2782: the target is not compressed.
      return writeName(w, srv.target, null);
    }
    case DNS_TYPE.CAA: {
      const caa = data as DnsCaa;
      if (typeof caa.tag !== "string") bad();
      const tag = new TextEncoder().encode(caa.tag);
      w.u8(caa.flags ?? 0);
      w.u8(tag.length);
      w.bytes(tag);
      w.bytes(new TextEncoder().encode(caa.value ?? ""));
      return;
    }
    case DNS_TYPE.OPT: {
      if (!isOpt(data)) bad();
      for (const o of (data as Partial<DnsOpt>).options ?? []) {
        w.u16(o.code);
        w.u16(o.data.length);
        w.bytes(o.data);
      }
      return;
    }
    default:
      return bad();
  }
}

function writeRecord(w: Writer, r: DnsRecordInput, table: Map<string, number> | null): void {
  const type = dnsTypeOf(r.type ?? DNS_TYPE.A);
  writeName(w, r.name ?? ".", table);
  w.u16(type);
  let cls = r.class;
  let ttl = r.ttl;
  if (type === DNS_TYPE.OPT && isOpt(r.data)) {
    const o = r.data;
    cls ??= o.udpPayloadSize ?? 1232;
    ttl ??=
      (((o.extendedRcode ?? 0) & 0xff) << 24) | (((o.version ?? 0) & 0xff) << 16) | (o.dnssecOk ? 0x8000 : 0) | ((o.z ?? 0) & 0x7fff);
  }
  w.u16(cls ?? DNS_CLASS.IN);
  w.u32((ttl ?? 0) >>> 0);
  const lengthAt = w.length;
  w.u16(0);
  writeRdata(w, type, r.data, table);
  const length = r.rdLength ?? w.length - lengthAt - 2;
  w.buf[lengthAt] = (length >>> 8) & 0xff;
  w.buf[lengthAt + 1] = length & 0xff;
}

/**
 * Build one DNS message (without any TCP length prefix). Throws a RangeError or
 * TypeError on input that cannot be written (a label over 63 bytes, an A record
 * whose data is not an IPv4 address, ...).
 */
export function encodeDns(input: DnsInput): Uint8Array {
  const w = new Writer();
  const questions = input.questions ?? [];
  const answers = input.answers ?? [];
  const authorities = input.authorities ?? [];
  const additionals = input.additionals ?? [];
  const response = input.response ?? false;
  const flags =
    input.flags ??
    ((response ? 0x8000 : 0) |
      (((input.opcode ?? 0) & 0xf) << 11) |
      (input.authoritative ? 0x0400 : 0) |
      (input.truncated ? 0x0200 : 0) |
      ((input.recursionDesired ?? !response) ? 0x0100 : 0) |
      (input.recursionAvailable ? 0x0080 : 0) |
      (input.z ? 0x0040 : 0) |
      (input.authenticData ? 0x0020 : 0) |
      (input.checkingDisabled ? 0x0010 : 0) |
      ((input.rcode ?? 0) & 0xf));
  w.u16(input.id ?? 0);
  w.u16(flags);
  w.u16(input.questionCount ?? questions.length);
  w.u16(input.answerCount ?? answers.length);
  w.u16(input.authorityCount ?? authorities.length);
  w.u16(input.additionalCount ?? additionals.length);
  const table = input.compress === false ? null : new Map<string, number>();
  for (const q of questions) {
    writeName(w, q.name, table);
    w.u16(dnsTypeOf(q.type ?? DNS_TYPE.A));
    w.u16(q.class ?? DNS_CLASS.IN);
  }
  for (const list of [answers, authorities, additionals]) for (const r of list) writeRecord(w, r, table);
  return w.buf.slice(0, w.length);
}

function overTcp(ctx: EncodeContext): boolean {
  return ctx.outer?.layer === "tcp";
}

/** DNS codec: the whole message, with the two-byte length prefix when the layer outside is TCP. */
export const dnsCodec: Codec<DnsInput> = {
  headerLength(value, ctx) {
    return encodeDns(value).length + (overTcp(ctx) ? 2 : 0);
  },
  write(value, out, ctx) {
    const msg = encodeDns(value);
    if (overTcp(ctx)) {
      const length = value.tcpLength ?? msg.length;
      out[0] = (length >>> 8) & 0xff;
      out[1] = length & 0xff;
      out.set(msg, 2);
    } else out.set(msg, 0);
  },
};

/** DNS in the registry: UDP 53 and 5353 (mDNS), TCP 53. */
export const dnsProtocol: Protocol<"dns", Dns, DnsInput> = {
  kind: "dns",
  decode: decodeDns,
  codec: dnsCodec,
  claims: { udpPorts: [PORT_DNS, PORT_MDNS], tcpPorts: [PORT_DNS] },
};
