/**
 * The DNS header (RFC 1035 §4.1.1) and the numbers a message is made of:
 * record types, classes, opcodes, response codes and their names; the fixed
 * 12-byte header as a zero-copy {@link DnsHeaderView}, which the decoder and
 * the builder in `dns.ts` read and write it through.
 *
 * ```text
 *  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 * |                    QDCOUNT                    |
 * |                    ANCOUNT                    |
 * |                    NSCOUNT                    |
 * |                    ARCOUNT                    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * ```
 *
 * @example
 * ```ts
 * import { DnsHeaderView } from "./dns_header.ts";
 * const h = new DnsHeaderView(message);
 * if (h.check() === null) console.log(h.id, h.response, h.questionCount);
 * ```
 *
 * @module
 */
import { put16, u16 } from "./bytes.ts";
import { ByteView } from "./view.ts";

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

/**
 * `A`, `AAAA`, ... or `TYPE<n>` for an unnamed type (RFC 3597 §5).
 *
 * @example
 * ```ts
 * dnsTypeName(28); // "AAAA"
 * dnsTypeName(99); // "TYPE99"
 * ```
 */
export function dnsTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** `IN`, `CH`, ... or `CLASS<n>` (RFC 3597 §5), e.g. `dnsClassName(3)` is `"CH"`. */
export function dnsClassName(cls: number): string {
  for (const [k, v] of Object.entries(DNS_CLASS)) if (v === cls) return k;
  return `CLASS${cls}`;
}

/** `QUERY`, `NOTIFY`, ... or `OPCODE<n>`, e.g. `dnsOpcodeName(4)` is `"NOTIFY"`. */
export function dnsOpcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? `OPCODE${opcode}`;
}

/** `NOERROR`, `NXDOMAIN`, ... or `RCODE<n>`, e.g. `dnsRcodeName(3)` is `"NXDOMAIN"`. */
export function dnsRcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/**
 * Type number of a name (`"AAAA"`, `"TYPE65"`) or a number passed through. Throws on an unknown name.
 *
 * @example
 * ```ts
 * dnsTypeOf("aaaa"); // 28
 * dnsTypeOf("TYPE65"); // 65
 * ```
 */
export function dnsTypeOf(type: number | string): number {
  if (typeof type === "number") return type;
  const upper = type.toUpperCase();
  const known = (DNS_TYPE as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new RangeError(`Unknown DNS type name "${type}"`);
}

/** Bytes in the DNS header (RFC 1035 §4.1.1). */
export const DNS_HEADER_LENGTH = 12;

/** Byte offsets of the header's fields, from the message's start (RFC 1035 §4.1.1). */
export const DNS_FIELD = {
  ID: 0,
  FLAGS: 2,
  QUESTION_COUNT: 4,
  ANSWER_COUNT: 6,
  AUTHORITY_COUNT: 8,
  ADDITIONAL_COUNT: 10,
} as const;

/**
 * The one-bit flags of the 16-bit flags word (RFC 1035 §4.1.1; AD and CD
 * RFC 4035 §3.2). The opcode is the 4 bits
 * at {@link DNS_OPCODE_SHIFT}, the RCODE the low 4 bits ({@link DNS_RCODE_MASK}).
 */
export const DNS_FLAG = {
  RESPONSE: 0x8000,
  AUTHORITATIVE: 0x0400,
  TRUNCATED: 0x0200,
  RECURSION_DESIRED: 0x0100,
  RECURSION_AVAILABLE: 0x0080,
  /** the reserved bit, zero on the wire (RFC 1035 §4.1.1) */
  Z: 0x0040,
  AUTHENTIC_DATA: 0x0020,
  CHECKING_DISABLED: 0x0010,
} as const;

/** Where the 4-bit opcode sits in the flags word. */
export const DNS_OPCODE_SHIFT = 11;
/** The 4-bit RCODE in the flags word. */
export const DNS_RCODE_MASK = 0x000f;

/**
 * The 12-byte DNS header over bytes, without copying: the message starts at
 * `at` in `bytes` and the view may read up to `end` (exclusive). Unchecked:
 * call {@link DnsHeaderView.check} once before trusting the getters. Each
 * count, the id and the flags word are two bytes at {@link DNS_FIELD}'s
 * offsets; the flag getters and setters read and rewrite the flags word.
 */
export class DnsHeaderView extends ByteView {
  /** null when the 12-byte header fits in `[at, end)`, else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    return n < DNS_HEADER_LENGTH ? `header needs ${DNS_HEADER_LENGTH} bytes, got ${n}` : null;
  }

  get id(): number {
    return u16(this.bytes, this.at); // DNS_FIELD.ID
  }
  set id(v: number) {
    put16(this.bytes, this.at, v); // DNS_FIELD.ID
  }
  /** the whole 16-bit flags word */
  get flags(): number {
    return u16(this.bytes, this.at + 2); // DNS_FIELD.FLAGS
  }
  set flags(v: number) {
    put16(this.bytes, this.at + 2, v); // DNS_FIELD.FLAGS
  }
  get response(): boolean {
    return (this.flags & DNS_FLAG.RESPONSE) !== 0;
  }
  set response(v: boolean) {
    this.#flag(DNS_FLAG.RESPONSE, v);
  }
  get opcode(): number {
    return (this.flags >> DNS_OPCODE_SHIFT) & 0xf;
  }
  set opcode(v: number) {
    this.flags = (this.flags & ~(0xf << DNS_OPCODE_SHIFT)) | ((v & 0xf) << DNS_OPCODE_SHIFT);
  }
  get authoritative(): boolean {
    return (this.flags & DNS_FLAG.AUTHORITATIVE) !== 0;
  }
  set authoritative(v: boolean) {
    this.#flag(DNS_FLAG.AUTHORITATIVE, v);
  }
  get truncated(): boolean {
    return (this.flags & DNS_FLAG.TRUNCATED) !== 0;
  }
  set truncated(v: boolean) {
    this.#flag(DNS_FLAG.TRUNCATED, v);
  }
  get recursionDesired(): boolean {
    return (this.flags & DNS_FLAG.RECURSION_DESIRED) !== 0;
  }
  set recursionDesired(v: boolean) {
    this.#flag(DNS_FLAG.RECURSION_DESIRED, v);
  }
  get recursionAvailable(): boolean {
    return (this.flags & DNS_FLAG.RECURSION_AVAILABLE) !== 0;
  }
  set recursionAvailable(v: boolean) {
    this.#flag(DNS_FLAG.RECURSION_AVAILABLE, v);
  }
  get z(): boolean {
    return (this.flags & DNS_FLAG.Z) !== 0;
  }
  set z(v: boolean) {
    this.#flag(DNS_FLAG.Z, v);
  }
  get authenticData(): boolean {
    return (this.flags & DNS_FLAG.AUTHENTIC_DATA) !== 0;
  }
  set authenticData(v: boolean) {
    this.#flag(DNS_FLAG.AUTHENTIC_DATA, v);
  }
  get checkingDisabled(): boolean {
    return (this.flags & DNS_FLAG.CHECKING_DISABLED) !== 0;
  }
  set checkingDisabled(v: boolean) {
    this.#flag(DNS_FLAG.CHECKING_DISABLED, v);
  }
  /** the header's 4-bit RCODE (EDNS0 extends it in the OPT record, RFC 6891 §6.1.3) */
  get rcode(): number {
    return this.flags & DNS_RCODE_MASK;
  }
  set rcode(v: number) {
    this.flags = (this.flags & ~DNS_RCODE_MASK) | (v & DNS_RCODE_MASK);
  }
  get questionCount(): number {
    return u16(this.bytes, this.at + 4); // DNS_FIELD.QUESTION_COUNT
  }
  set questionCount(v: number) {
    put16(this.bytes, this.at + 4, v); // DNS_FIELD.QUESTION_COUNT
  }
  get answerCount(): number {
    return u16(this.bytes, this.at + 6); // DNS_FIELD.ANSWER_COUNT
  }
  set answerCount(v: number) {
    put16(this.bytes, this.at + 6, v); // DNS_FIELD.ANSWER_COUNT
  }
  get authorityCount(): number {
    return u16(this.bytes, this.at + 8); // DNS_FIELD.AUTHORITY_COUNT
  }
  set authorityCount(v: number) {
    put16(this.bytes, this.at + 8, v); // DNS_FIELD.AUTHORITY_COUNT
  }
  get additionalCount(): number {
    return u16(this.bytes, this.at + 10); // DNS_FIELD.ADDITIONAL_COUNT
  }
  set additionalCount(v: number) {
    put16(this.bytes, this.at + 10, v); // DNS_FIELD.ADDITIONAL_COUNT
  }

  /** Where the question section starts in `bytes`. */
  get payloadStart(): number {
    return this.at + DNS_HEADER_LENGTH;
  }
  /** Where the message ends in `bytes`. */
  get payloadEnd(): number {
    return this.end;
  }
  /** The sections after the header: a view, not a copy. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }

  #flag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }
}
