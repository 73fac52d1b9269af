/**
 * IPv6 extension headers (RFC 8200 §4): zero-copy views over them, the
 * decoded {@link Ipv6Extension} value and its build input, and the option
 * parser. The IPv6 decoder (ipv6.ts) walks the chain through these views;
 * `ipv6_extensions_encode.ts` builds a chain through them.
 *
 * - {@link Ipv6ExtensionView}: the shape hop-by-hop options (§4.3), routing
 *   (§4.4) and destination options (§4.6) share: next header, length in
 *   8-byte units not counting the first 8, then a body.
 * - {@link Ipv6RoutingView}: adds the routing type, segments left and, for
 *   the types that carry them, the 16-byte addresses (type 0 RFC 5095 /
 *   RFC 2460, type 2 RFC 6275 §6.4, type 4 RFC 8754 §2).
 * - {@link Ipv6FragmentView}: the fixed 8-byte fragment header (§4.5).
 *
 * Size: past 500 lines because the three views share one set of field tables,
 * and each has a getter and a setter for every field plus the static readers
 * of the fields a per-packet loop needs (`nextHeaderAt`, ...).
 *
 * ```text
 * generic (hop-by-hop, routing, destination)     fragment
 * +--------+--------+----------------+           +--------+--------+------------------+-+-+
 * |  next  | hdrlen |  body ...      |           |  next  |reserved| fragment offset  |R|M|
 * +--------+--------+----------------+           +--------+--------+------------------+-+-+
 * routing body: type, segments left, data        |          identification               |
 *                                                +---------------------------------------+
 * ```
 *
 * @example
 * ```ts
 * import { Ipv6FragmentView } from "./ipv6_extensions.ts";
 * const fragment = new Ipv6FragmentView(datagram, 40);
 * if (fragment.check() === null) console.log(fragment.identification, fragment.fragmentOffset, fragment.moreFragments);
 * ```
 *
 * @module
 */
import { formatIpv6, type AddressInput } from "./addr.ts";
import * as wire from "./bytes.ts";
import { IP_PROTOCOL_HOPOPT, IP_PROTOCOL_IPV6_FRAG, IP_PROTOCOL_IPV6_OPTS, IP_PROTOCOL_IPV6_ROUTE } from "./dispatch.ts";
import { IPV6_ADDRESS_LENGTH } from "./ip_fields.ts";
import { ByteView } from "./view.ts";

// Module-local names for what the views read at every field: V8 (Node 20)
// loads a module's imported and exported bindings through cells at every use
// (~8 instructions per table read or helper call, callgrind) and folds a
// module-local `const` (see ipv4.ts). The tables below are defined under
// local names and exported under their public ones.
const u16 = wire.u16;
const u32 = wire.u32;
const put16 = wire.put16;
const put32 = wire.put32;
const ADDRESS_LENGTH = IPV6_ADDRESS_LENGTH;

/** One option of a hop-by-hop or destination options header (RFC 8200 §4.2). */
export interface Ipv6Option {
  /** option type octet */
  type: number;
  /** "pad1", "padN", "routerAlert", "jumboPayload", ... or "unknown" */
  name: string;
  /** option data (empty for Pad1) */
  data: Uint8Array;
}

export type Ipv6ExtensionType = "hopByHop" | "routing" | "fragment" | "destination";

/** One extension header. Fields beyond the first three depend on `type`. */
export interface Ipv6Extension {
  type: Ipv6ExtensionType;
  nextHeader: number;
  /** header length in bytes (8 for a fragment header; (Hdr Ext Len + 1) × 8 otherwise) */
  headerLength: number;
  /** hop-by-hop and destination options */
  options?: Ipv6Option[];
  /** routing: routing type (0 deprecated, 2 Mobile IPv6, 3 RPL, 4 segment routing) */
  routingType?: number;
  segmentsLeft?: number;
  /** routing types 0, 2 and 4: the addresses carried */
  addresses?: string[];
  /** routing: the type-specific bytes after the first four */
  data?: Uint8Array;
  /** fragment: offset in bytes (the field × 8) */
  fragmentOffset?: number;
  moreFragments?: boolean;
  identification?: number;
}

/** Build input for an option: `data` defaults to empty. */
export type Ipv6OptionInput = { type: number; data?: Uint8Array };

/**
 * Build input for an extension header. Unset: `nextHeader` from what follows,
 * `headerLength` from the content (options padded with Pad1/PadN to a multiple
 * of 8), routing type 0 with `segmentsLeft` = number of addresses and `data`
 * = 4 reserved zero bytes + addresses (text or 16 bytes each), fragment offset
 * 0, M off, id 0.
 */
export type Ipv6ExtensionInput = { type: Ipv6ExtensionType } & {
  [K in Exclude<keyof Ipv6Extension, "type" | "options" | "addresses">]?: Ipv6Extension[K];
} & { options?: Ipv6OptionInput[]; addresses?: readonly AddressInput[] };

/** Next-header value → extension type. */
export const IPV6_EXTENSION: ReadonlyMap<number, Ipv6ExtensionType> = new Map<number, Ipv6ExtensionType>([
  [IP_PROTOCOL_HOPOPT, "hopByHop"],
  [IP_PROTOCOL_IPV6_ROUTE, "routing"],
  [IP_PROTOCOL_IPV6_FRAG, "fragment"],
  [IP_PROTOCOL_IPV6_OPTS, "destination"],
]);

/** Extension type → the next-header value that announces it (the reverse of {@link IPV6_EXTENSION}). */
export const IPV6_EXTENSION_NUMBER: Readonly<Record<Ipv6ExtensionType, number>> = {
  hopByHop: IP_PROTOCOL_HOPOPT,
  routing: IP_PROTOCOL_IPV6_ROUTE,
  fragment: IP_PROTOCOL_IPV6_FRAG,
  destination: IP_PROTOCOL_IPV6_OPTS,
};

const OPTION = {
  /** one zero byte of padding, no length octet */
  PAD1: 0x00,
  /** N bytes of padding: type, length N - 2, N - 2 zero bytes */
  PADN: 0x01,
} as const;
/** Option types with a meaning to the options' own layout (RFC 8200 §4.2). */
export const IPV6_OPTION = OPTION;

const ROUTING_TYPE = {
  /** RFC 2460 source route, deprecated by RFC 5095: reserved 4 bytes, then addresses */
  SOURCE_ROUTE: 0,
  /** Mobile IPv6 type 2 (RFC 6275 §6.4): reserved 4 bytes, one home address */
  MOBILE_IPV6: 2,
  /** RPL source route (RFC 6554): compressed addresses, left as data */
  RPL: 3,
  /** segment routing header (RFC 8754 §2): last entry, flags, tag, then the segment list */
  SEGMENT_ROUTING: 4,
} as const;
/** Routing types whose bytes the views and the decoder interpret (IANA "Routing Types"). */
export const IPV6_ROUTING_TYPE = ROUTING_TYPE;

const OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [OPTION.PAD1, "pad1"],
  [OPTION.PADN, "padN"],
  [0x04, "tunnelEncapsulationLimit"],
  [0x05, "routerAlert"],
  [0x07, "calipso"],
  [0x08, "smfDpd"],
  [0x26, "quickStart"],
  [0x31, "ioam"],
  [0x63, "rplOption"],
  [0x6d, "mplOption"],
  [0x8b, "ilnp"],
  [0xc2, "jumboPayload"],
  [0xc9, "homeAddress"],
  [0xee, "ipDff"],
]);

const EMPTY = new Uint8Array(0);

const EXTENSION_FIELD = { NEXT_HEADER: 0, HEADER_LENGTH: 1, BODY: 2 } as const;
/** Byte offsets of the fields every non-fragment extension header has (RFC 8200 §4.3, §4.4, §4.6). */
export const IPV6_EXTENSION_FIELD = EXTENSION_FIELD;

const ROUTING_FIELD = {
  NEXT_HEADER: 0,
  HEADER_LENGTH: 1,
  ROUTING_TYPE: 2,
  SEGMENTS_LEFT: 3,
  /** type-specific data: reserved (types 0, 2), or SRH last entry, flags, tag (type 4) */
  DATA: 4,
  /** segment routing (type 4): index of the last element of the segment list */
  LAST_ENTRY: 4,
  /** types 0, 2 and 4: the first 16-byte address */
  ADDRESSES: 8,
} as const;
/** Byte offsets of the routing header's fields (RFC 8200 §4.4; the address list: RFC 5095, RFC 6275 §6.4, RFC 8754 §2). */
export const IPV6_ROUTING_FIELD = ROUTING_FIELD;

const FRAGMENT_FIELD = { NEXT_HEADER: 0, RESERVED: 1, OFFSET_FLAGS: 2, IDENTIFICATION: 4 } as const;
/** Byte offsets of the fragment header's fields (RFC 8200 §4.5). */
export const IPV6_FRAGMENT_FIELD = FRAGMENT_FIELD;

const FRAGMENT_HEADER_LENGTH = 8;
/** Bytes in a fragment header, which has no length field. */
export const IPV6_FRAGMENT_HEADER_LENGTH = FRAGMENT_HEADER_LENGTH;

/** Bytes every non-fragment extension header has at least: next header and length (one 8-byte unit in all). */
const GENERIC_FIXED = 2;

/**
 * A hop-by-hop, routing or destination options header over bytes, without
 * copying (RFC 8200 §4): the header starts at `at` in `bytes`, and the view
 * may read up to `end` (exclusive). The constructor checks nothing; call
 * {@link Ipv6ExtensionView.check} before trusting the body.
 *
 * @example
 * ```ts
 * const hbh = new Ipv6ExtensionView(datagram, 40, datagram.length);
 * if (hbh.check() === null) console.log(hbh.nextHeader, hbh.headerLength, hbh.body);
 * ```
 */
export class Ipv6ExtensionView extends ByteView {
  /** null when the length octet and the whole header ({@link headerLength} bytes) fit, else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    if (n < GENERIC_FIXED) return `header needs ${GENERIC_FIXED} bytes, have ${n}`;
    const headerLength = this.headerLength;
    if (headerLength > n) return `header length ${headerLength} exceeds ${n} bytes`;
    return null;
  }

  /** the header that follows (an IP protocol number or another extension) */
  get nextHeader(): number {
    return this.bytes[this.at]!; // EXTENSION_FIELD.NEXT_HEADER
  }
  /** `nextHeader` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static nextHeaderAt(bytes: Uint8Array, at: number): number {
    return bytes[at]!; // EXTENSION_FIELD.NEXT_HEADER
  }
  set nextHeader(v: number) {
    this.bytes[this.at] = v; // EXTENSION_FIELD.NEXT_HEADER
  }
  /**
   * header length in bytes: (Hdr Ext Len + 1) × 8, as the field counts 8-byte
   * units after the first 8. The setter writes `v / 8 - 1`, rounded down, in
   * one byte (a `v` under 8 wraps, as a deliberately wrong value may).
   */
  get headerLength(): number {
    return (this.bytes[this.at + 1]! + 1) << 3; // EXTENSION_FIELD.HEADER_LENGTH
  }
  /** `headerLength` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static headerLengthAt(bytes: Uint8Array, at: number): number {
    return (bytes[at + 1]! + 1) << 3; // EXTENSION_FIELD.HEADER_LENGTH
  }
  set headerLength(v: number) {
    this.bytes[this.at + 1] = (v >> 3) - 1; // EXTENSION_FIELD.HEADER_LENGTH
  }

  /** Where the body (options, or the routing fields) starts in `bytes`: after the two fixed octets. */
  get bodyStart(): number {
    return this.at + 2; // EXTENSION_FIELD.BODY
  }
  /** Where the body ends: {@link headerLength} bytes after the header's start. Needs a passing `check()`. */
  get bodyEnd(): number {
    return this.at + this.headerLength;
  }
  /** The body, `bytes[bodyStart, bodyEnd)`. Needs a passing `check()`. */
  get body(): Uint8Array {
    return this.bytes.subarray(this.bodyStart, this.bodyEnd);
  }
  /** Where the next header starts in `bytes` (= {@link bodyEnd}). */
  get payloadStart(): number {
    return this.bodyEnd;
  }
}

/**
 * A routing header over bytes (RFC 8200 §4.4): the generic fields plus the
 * routing type, segments left, the type-specific data, and for types 0, 2
 * and 4 the list of 16-byte addresses from byte 8 on.
 *
 * @example
 * ```ts
 * const rh = new Ipv6RoutingView(datagram, 40, datagram.length);
 * if (rh.check() === null && rh.finalDestinationOffset >= 0) {
 *   // RFC 8200 §8.1: the pseudo-header's destination is this address
 *   const dst = datagram.subarray(rh.finalDestinationOffset, rh.finalDestinationOffset + 16);
 * }
 * ```
 */
export class Ipv6RoutingView extends Ipv6ExtensionView {
  get routingType(): number {
    return this.bytes[this.at + 2]!; // ROUTING_FIELD.ROUTING_TYPE
  }
  set routingType(v: number) {
    this.bytes[this.at + 2] = v; // ROUTING_FIELD.ROUTING_TYPE
  }
  /** route segments still to visit before the final destination */
  get segmentsLeft(): number {
    return this.bytes[this.at + 3]!; // ROUTING_FIELD.SEGMENTS_LEFT
  }
  set segmentsLeft(v: number) {
    this.bytes[this.at + 3] = v; // ROUTING_FIELD.SEGMENTS_LEFT
  }
  /** segment routing (type 4, RFC 8754 §2): index of the last entry of the segment list */
  get lastEntry(): number {
    return this.bytes[this.at + 4]!; // ROUTING_FIELD.LAST_ENTRY
  }
  set lastEntry(v: number) {
    this.bytes[this.at + 4] = v; // ROUTING_FIELD.LAST_ENTRY
  }
  /** Where the type-specific data starts in `bytes` (byte 4 of the header). */
  get dataStart(): number {
    return this.at + 4; // ROUTING_FIELD.DATA
  }
  /** The type-specific data, `bytes[dataStart, bodyEnd)`. Needs a passing `check()`. */
  get data(): Uint8Array {
    return this.bytes.subarray(this.dataStart, this.bodyEnd);
  }

  /** Whether this routing type carries a list of 16-byte addresses from byte 8 on (types 0, 2 and 4). */
  get carriesAddresses(): boolean {
    const type = this.routingType;
    return type === ROUTING_TYPE.SOURCE_ROUTE || type === ROUTING_TYPE.MOBILE_IPV6 || type === ROUTING_TYPE.SEGMENT_ROUTING;
  }
  /**
   * How many addresses the header holds: for types 0 and 2 every whole 16
   * bytes after the first 8; for type 4 the segment list's `lastEntry + 1`
   * entries, as many of them as fit (TLVs may follow the list); 0 for other
   * types. Needs a passing `check()`.
   */
  get addressCount(): number {
    if (!this.carriesAddresses) return 0;
    const room = Math.max(0, this.headerLength - ROUTING_FIELD.ADDRESSES) >> 4;
    if (this.routingType !== ROUTING_TYPE.SEGMENT_ROUTING) return room;
    const listed = this.lastEntry + 1;
    return listed < room ? listed : room;
  }
  /** Where address `i` (0-based) starts in `bytes`. */
  addressOffset(i: number): number {
    return this.at + 8 + i * ADDRESS_LENGTH; // ROUTING_FIELD.ADDRESSES
  }
  /** Address `i`: a view of its 16 bytes. */
  address(i: number): Uint8Array {
    const at = this.addressOffset(i);
    return this.bytes.subarray(at, at + ADDRESS_LENGTH);
  }
  /** Copy 16 bytes in as address `i`. */
  setAddress(i: number, v: Uint8Array): void {
    if (v.length !== ADDRESS_LENGTH) throw new RangeError(`An IPv6 address has 16 bytes, not ${v.length}`);
    this.bytes.set(v, this.addressOffset(i));
  }
  /**
   * Where the final destination sits in `bytes` while segments are left, -1
   * when none are left or the header carries no address. RFC 8200 §8.1: the
   * transport pseudo-header then uses it, not the IPv6 destination. Types 0
   * and 2 list it last; type 4 first (Segment List[0] is the path's last
   * segment, RFC 8754 §2). Needs a passing `check()`.
   */
  get finalDestinationOffset(): number {
    if (this.segmentsLeft === 0) return -1;
    const count = this.addressCount;
    if (count === 0) return -1;
    return this.addressOffset(this.routingType === ROUTING_TYPE.SEGMENT_ROUTING ? 0 : count - 1);
  }
}

/**
 * A fragment header over bytes (RFC 8200 §4.5): 8 bytes, no length field.
 * The constructor checks nothing; call {@link Ipv6FragmentView.check} first.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(8);
 * const f = new Ipv6FragmentView(out);
 * f.nextHeader = 17;
 * f.fragmentOffset = 1448; // a multiple of 8
 * f.moreFragments = true;
 * f.identification = 7; // out: 11 00 05a9 00000007
 * ```
 */
export class Ipv6FragmentView extends ByteView {
  /** null when the 8 bytes fit, else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    return n < FRAGMENT_HEADER_LENGTH ? `header needs ${FRAGMENT_HEADER_LENGTH} bytes, have ${n}` : null;
  }

  /** the header of the fragmentable part (the same in every fragment) */
  get nextHeader(): number {
    return this.bytes[this.at]!; // EXTENSION_FIELD.NEXT_HEADER
  }
  /** `nextHeader` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static nextHeaderAt(bytes: Uint8Array, at: number): number {
    return bytes[at]!; // FRAGMENT_FIELD.NEXT_HEADER
  }
  set nextHeader(v: number) {
    this.bytes[this.at] = v; // FRAGMENT_FIELD.NEXT_HEADER
  }
  /** the 8-bit Reserved field: sent as 0, ignored on receipt */
  get reserved(): number {
    return this.bytes[this.at + 1]!; // FRAGMENT_FIELD.RESERVED
  }
  set reserved(v: number) {
    this.bytes[this.at + 1] = v; // FRAGMENT_FIELD.RESERVED
  }
  /** always 8: the header has no length field */
  get headerLength(): number {
    return FRAGMENT_HEADER_LENGTH;
  }
  /**
   * offset of this fragment's data in the fragmentable part, in bytes: the
   * 13-bit field × 8, which sits above the 3 low bits, so the word masked
   * is the offset. The setter writes `v` rounded down to a multiple of 8.
   */
  get fragmentOffset(): number {
    return u16(this.bytes, this.at + 2) & 0xfff8; // FRAGMENT_FIELD.OFFSET_FLAGS
  }
  /** `fragmentOffset` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static fragmentOffsetAt(bytes: Uint8Array, at: number): number {
    return u16(bytes, at + 2) & 0xfff8; // FRAGMENT_FIELD.OFFSET_FLAGS
  }
  set fragmentOffset(v: number) {
    const at = this.at + 2; // FRAGMENT_FIELD.OFFSET_FLAGS
    put16(this.bytes, at, (v & 0xfff8) | (u16(this.bytes, at) & 7));
  }
  /** the 2-bit Res field between the offset and M: sent as 0, ignored on receipt */
  get res(): number {
    return (this.bytes[this.at + 2 + 1]! >> 1) & 3; // FRAGMENT_FIELD.OFFSET_FLAGS
  }
  set res(v: number) {
    const at = this.at + 2 + 1; // FRAGMENT_FIELD.OFFSET_FLAGS
    this.bytes[at] = (this.bytes[at]! & 0xf9) | ((v & 3) << 1);
  }
  /** M: more fragments follow */
  get moreFragments(): boolean {
    return (this.bytes[this.at + 2 + 1]! & 1) !== 0; // FRAGMENT_FIELD.OFFSET_FLAGS
  }
  set moreFragments(v: boolean) {
    const at = this.at + 2 + 1; // FRAGMENT_FIELD.OFFSET_FLAGS
    this.bytes[at] = (this.bytes[at]! & 0xfe) | (v ? 1 : 0);
  }
  /** identification, shared by the fragments of one datagram */
  get identification(): number {
    return u32(this.bytes, this.at + 4); // FRAGMENT_FIELD.IDENTIFICATION
  }
  set identification(v: number) {
    put32(this.bytes, this.at + 4, v); // FRAGMENT_FIELD.IDENTIFICATION
  }
  /**
   * Whether this is a fragment of a larger datagram: an offset or M. Offset 0
   * with M clear is an atomic fragment (RFC 8200 §4.5, RFC 6946): the whole
   * datagram, to be processed as such.
   */
  get isFragment(): boolean {
    return (u16(this.bytes, this.at + 2) & 0xfff9) !== 0; // FRAGMENT_FIELD.OFFSET_FLAGS
  }
  /** Where the fragment's data starts in `bytes`: 8 bytes after the header's start. */
  get payloadStart(): number {
    return this.at + FRAGMENT_HEADER_LENGTH;
  }
}

/**
 * Parse the TLV options of a hop-by-hop or destination options header in
 * `b[start, end)` (the header's body) into `out`; returns the reason they are
 * malformed, or null (RFC 8200 §4.2). Each option advances by at least one
 * byte, so the loop ends.
 */
export function parseIpv6Options(b: Uint8Array, start: number, end: number, out: Ipv6Option[]): string | null {
  let i = start;
  while (i < end) {
    const type = b[i]!;
    if (type === OPTION.PAD1) {
      out.push({ type, name: "pad1", data: EMPTY });
      i++;
      continue;
    }
    if (i + 1 >= end) return `option ${type} has no length octet`;
    const length = b[i + 1]!;
    if (i + 2 + length > end) return `option ${type} length ${length} exceeds the ${end - i - 2} bytes left in the header`;
    out.push({ type, name: OPTION_NAMES.get(type) ?? "unknown", data: b.subarray(i + 2, i + 2 + length) });
    i += 2 + length;
  }
  return null;
}

/** The route's addresses as text: what the decoded value carries. */
export function routingAddresses(view: Ipv6RoutingView): string[] {
  const out: string[] = [];
  const n = view.addressCount;
  for (let i = 0; i < n; i++) out.push(formatIpv6(view.bytes, view.addressOffset(i)));
  return out;
}
