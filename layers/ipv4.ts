/**
 * IPv4 (RFC 791): a zero-copy {@link Ipv4View}, the decoded value
 * {@link Ipv4}, {@link decodeIpv4} and {@link ipv4Codec}. Options are parsed
 * and built in `ipv4_options.ts` (re-exported here).
 *
 * Decoding sets `state.ip` for the transport layer and trims the payload to
 * the total length (dropping link padding). A total length past the captured
 * bytes is reported as `truncated` and decoding goes on (the transport checksum
 * is then unverified); a later fragment (offset > 0) ends with its bytes as
 * `payload`; the first fragment decodes on, marked incomplete. Inside an ICMP
 * error (`state.depth > 0`) a cut datagram is normal and not reported.
 *
 * Size: past 500 lines because the view, a getter and a setter for every
 * field, sits beside the decoder and codec that read and write through it
 * (the options, the other large part, have a file of their own).
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * import { Ipv4View } from "./ipv4.ts";
 * const datagram = encodePacket([{ layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { layer: "payload", data: new Uint8Array(4) }]);
 * // 24 bytes: IHL 5, total length 24, TTL 64, id 0, DF off, protocol 0, checksum filled
 * const view = new Ipv4View(datagram);
 * if (view.check() === null && view.verifyChecksum()) console.log(view.ttl, view.payload.length); // 64 4
 * ```
 *
 * @module
 */
import { formatIpv4, ipv4Bytes, type AddressInput } from "./addr.ts";
import * as wire from "./bytes.ts";
import { foldSum, internetChecksum, IpHeaderContext, onesSum } from "./checksum.ts";
import { pooledValue, type Codec, type Decoder, type Dispatch, type Input, type LayerBase, type Protocol } from "./core.ts";
import { AF_INET, ETHERTYPE_IPV4, IP_PROTOCOL_IPV4, LINKTYPE } from "./dispatch.ts";
import { IPV4_ADDRESS_LENGTH, IPV4_FIELD, IPV4_HEADER_LENGTH } from "./ip_fields.ts";
import { encodeIpv4OptionsInto, IPV4_OPTION_RULES, ipv4OptionsLength, parseIpv4Options, type Ipv4Option, type Ipv4OptionInput } from "./ipv4_options.ts";

export { IPV4_ADDRESS_LENGTH, IPV4_FIELD, IPV4_HEADER_LENGTH } from "./ip_fields.ts";
export {
  encodeIpv4Options, encodeIpv4OptionsInto, IPV4_OPTION, ipv4OptionsLength, parseIpv4Options, type Ipv4Option, type Ipv4OptionInput,
} from "./ipv4_options.ts";
import { ByteView } from "./view.ts";

/** The flag bits of the 16-bit flags + fragment offset word at {@link IPV4_FIELD}`.FLAGS_FRAGMENT` (RFC 791 §3.1). */
export const IPV4_FLAG = {
  /** bit 0, reserved, must be zero (RFC 3514's "evil bit") */
  RESERVED: 0x8000,
  /** DF: don't fragment */
  DONT_FRAGMENT: 0x4000,
  /** MF: more fragments */
  MORE_FRAGMENTS: 0x2000,
} as const;

/** The fragment offset's 13 bits in that word, in units of 8 bytes. */
const FRAGMENT_OFFSET_MASK = 0x1fff;

// Module-local names for what the view reads at every field. V8 (Node 20)
// keeps a module's imported and exported bindings in cells and loads them at
// every use (a cell load, a hole check, a map check: up to ~8 instructions
// per table read or helper call, callgrind), where it folds a module-local
// `const` to its value; through the imported and exported names the
// Ethernet/IPv4/UDP decode took ~2% more instructions.
const FIELD = IPV4_FIELD;
const FLAG = IPV4_FLAG;
const HEADER_LENGTH = IPV4_HEADER_LENGTH;
const ADDRESS_LENGTH = IPV4_ADDRESS_LENGTH;
const u16 = wire.u16;
const put16 = wire.put16;

/**
 * An IPv4 header over bytes, without copying: the header starts at `at` in
 * `bytes`, and the view may read up to `end` (exclusive; default: the end of
 * `bytes`). The constructor checks nothing; call {@link Ipv4View.check} once
 * before trusting the options, `payload` and the checksum methods (the fixed
 * fields need only the first 20 bytes). Getters read and setters write at
 * {@link IPV4_FIELD}'s offsets; lengths and offsets are in bytes, and setters
 * keep only the bits their field has.
 *
 * @example
 * ```ts
 * const view = new Ipv4View(frame, 14); // after an Ethernet header
 * if (view.check() === null) {
 *   view.ttl -= 1;
 *   view.fillChecksum();
 * }
 * ```
 */
export class Ipv4View extends ByteView {
  /**
   * null when the fixed header fits, the version is 4, IHL is at least 5, the
   * header (options included) fits, and the total length covers the header;
   * else the first reason. A total length past `end` passes: the capture was
   * cut, and {@link payloadEnd} stops at `end`.
   */
  check(): string | null {
    const n = this.end - this.at;
    if (n < HEADER_LENGTH) return `header needs ${HEADER_LENGTH} bytes, got ${n}`;
    const version = this.version;
    if (version !== 4) return `version ${version} is not 4`;
    const headerLength = this.headerLength;
    if (headerLength < HEADER_LENGTH) return `header length ${headerLength} is less than ${HEADER_LENGTH}`;
    if (headerLength > n) return `header length ${headerLength} exceeds ${n} bytes`;
    const totalLength = this.totalLength;
    if (totalLength < headerLength) return `total length ${totalLength} is less than header length ${headerLength}`;
    return null;
  }

  get version(): number {
    return this.bytes[this.at]! >> 4; // IPV4_FIELD.VER_IHL
  }
  /** `version` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static versionAt(bytes: Uint8Array, at: number): number {
    return bytes[at]! >> 4; // IPV4_FIELD.VER_IHL
  }
  set version(v: number) {
    const at = this.at; // IPV4_FIELD.VER_IHL
    this.bytes[at] = ((v & 15) << 4) | (this.bytes[at]! & 15);
  }
  /** header length in bytes: IHL × 4 (the setter writes `v / 4`, rounded down, in 4 bits) */
  get headerLength(): number {
    return (this.bytes[this.at]! & 15) << 2; // IPV4_FIELD.VER_IHL
  }
  /** `headerLength` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static headerLengthAt(bytes: Uint8Array, at: number): number {
    return (bytes[at]! & 15) << 2; // IPV4_FIELD.VER_IHL
  }
  set headerLength(v: number) {
    const at = this.at; // IPV4_FIELD.VER_IHL
    this.bytes[at] = (this.bytes[at]! & 0xf0) | ((v >> 2) & 15);
  }
  /** differentiated services code point (RFC 2474): the high 6 bits of the old TOS octet */
  get dscp(): number {
    return this.bytes[this.at + 1]! >> 2; // IPV4_FIELD.DSCP_ECN
  }
  set dscp(v: number) {
    const at = this.at + 1; // IPV4_FIELD.DSCP_ECN
    this.bytes[at] = ((v & 63) << 2) | (this.bytes[at]! & 3);
  }
  /** explicit congestion notification (RFC 3168): the low 2 bits */
  get ecn(): number {
    return this.bytes[this.at + 1]! & 3; // IPV4_FIELD.DSCP_ECN
  }
  set ecn(v: number) {
    const at = this.at + 1; // IPV4_FIELD.DSCP_ECN
    this.bytes[at] = (this.bytes[at]! & 0xfc) | (v & 3);
  }
  /** header plus data, in bytes */
  get totalLength(): number {
    return u16(this.bytes, this.at + 2); // IPV4_FIELD.TOTAL_LENGTH
  }
  set totalLength(v: number) {
    put16(this.bytes, this.at + 2, v); // IPV4_FIELD.TOTAL_LENGTH
  }
  /** identification, shared by a datagram's fragments */
  get id(): number {
    return u16(this.bytes, this.at + 4); // IPV4_FIELD.ID
  }
  set id(v: number) {
    put16(this.bytes, this.at + 4, v); // IPV4_FIELD.ID
  }
  get reservedFlag(): boolean {
    return flagOf(this, FLAG.RESERVED);
  }
  set reservedFlag(v: boolean) {
    setFlagOf(this, FLAG.RESERVED, v);
  }
  get dontFragment(): boolean {
    return flagOf(this, FLAG.DONT_FRAGMENT);
  }
  set dontFragment(v: boolean) {
    setFlagOf(this, FLAG.DONT_FRAGMENT, v);
  }
  get moreFragments(): boolean {
    return flagOf(this, FLAG.MORE_FRAGMENTS);
  }
  set moreFragments(v: boolean) {
    setFlagOf(this, FLAG.MORE_FRAGMENTS, v);
  }
  /** fragment offset in bytes: the 13-bit field × 8 (the setter writes `v / 8`, rounded down) */
  get fragmentOffset(): number {
    return (u16(this.bytes, this.at + 6) & 0x1fff) << 3; // IPV4_FIELD.FLAGS_FRAGMENT, the offset bits
  }
  /** `fragmentOffset` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static fragmentOffsetAt(bytes: Uint8Array, at: number): number {
    return (u16(bytes, at + 6) & 0x1fff) << 3; // IPV4_FIELD.FLAGS_FRAGMENT, the offset bits
  }
  set fragmentOffset(v: number) {
    const at = this.at + 6; // IPV4_FIELD.FLAGS_FRAGMENT
    put16(this.bytes, at, (u16(this.bytes, at) & ~FRAGMENT_OFFSET_MASK) | ((v >> 3) & FRAGMENT_OFFSET_MASK));
  }
  get ttl(): number {
    return this.bytes[this.at + 8]!; // IPV4_FIELD.TTL
  }
  set ttl(v: number) {
    this.bytes[this.at + 8] = v; // IPV4_FIELD.TTL
  }
  /** the protocol of the data (IANA IP protocol numbers, `IP_PROTOCOL_*` in dispatch.ts) */
  get protocol(): number {
    return this.bytes[this.at + 9]!; // IPV4_FIELD.PROTOCOL
  }
  /** `protocol` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static protocolAt(bytes: Uint8Array, at: number): number {
    return bytes[at + 9]!; // IPV4_FIELD.PROTOCOL
  }
  set protocol(v: number) {
    this.bytes[this.at + 9] = v; // IPV4_FIELD.PROTOCOL
  }
  /** the header checksum field as stored */
  get checksum(): number {
    return u16(this.bytes, this.at + 10); // IPV4_FIELD.CHECKSUM
  }
  set checksum(v: number) {
    put16(this.bytes, this.at + 10, v); // IPV4_FIELD.CHECKSUM
  }

  /** Where the source address starts in `bytes` (for zero-copy formatting). */
  get srcOffset(): number {
    return this.at + 12; // IPV4_FIELD.SRC
  }
  /** Where the destination address starts in `bytes`. */
  get dstOffset(): number {
    return this.at + 16; // IPV4_FIELD.DST
  }
  /** The source address: a view of its 4 bytes; the setter copies 4 bytes in. */
  get src(): Uint8Array {
    const at = this.srcOffset;
    return this.bytes.subarray(at, at + ADDRESS_LENGTH);
  }
  set src(v: Uint8Array) {
    this.bytes.set(address(v), this.srcOffset);
  }
  /** The destination address: a view of its 4 bytes; the setter copies 4 bytes in. */
  get dst(): Uint8Array {
    const at = this.dstOffset;
    return this.bytes.subarray(at, at + ADDRESS_LENGTH);
  }
  set dst(v: Uint8Array) {
    this.bytes.set(address(v), this.dstOffset);
  }
  /**
   * Unfolded sum of the four 16-bit words of the two addresses: the part of
   * the header checksum that the transport pseudo-header (RFC 768, RFC 9293
   * §3.1) shares, so a decoder sums it once for both.
   */
  get addressSum(): number {
    const b = this.bytes;
    const src = this.at + 12; // IPV4_FIELD.SRC
    const dst = this.at + 16; // IPV4_FIELD.DST
    return u16(b, src) + u16(b, src + 2) + u16(b, dst) + u16(b, dst + 2);
  }

  /**
   * The decoder's read: every field of the fixed header into `out` at once,
   * each byte read once, and `out.checksumValid`: the header checksum
   * verified when `verify` is set and the whole header lies within `end`,
   * else null. Returns {@link addressSum}, which the transport pseudo-header
   * shares. One call where the decoder would otherwise call a getter per
   * field: V8 inlines getters of their size only while the calling
   * function's inlining budget lasts, the decoder's runs out on the address
   * formatting, and a call per field measured ~6% more instructions for a
   * whole Ethernet/IPv4/UDP decode (this one call, ~2.5%). Needs the 20-byte
   * fixed header.
   */
  readInto(out: Ipv4Fields, verify: boolean): number {
    return Ipv4View.readInto(this.bytes, this.at, this.end, out, verify);
  }
  /** {@link readInto} for the header at `b[at, end)`, without a view object: the decoder's one read. */
  static readInto(b: Uint8Array, at: number, end: number, out: Ipv4Fields, verify: boolean): number {
    // Each field stored as soon as it is read, its word added to the header
    // sum as it goes (RFC 1071 §2): few values stay live across the reads.
    const verIhl = b[at]!; // IPV4_FIELD.VER_IHL
    const headerLength = (verIhl & 15) << 2;
    out.version = verIhl >> 4;
    out.headerLength = headerLength;
    const dscpEcn = b[at + 1]!; // IPV4_FIELD.DSCP_ECN
    out.dscp = dscpEcn >> 2;
    out.ecn = dscpEcn & 3;
    let sum = (verIhl << 8) | dscpEcn;
    const totalLength = u16(b, at + 2); // IPV4_FIELD.TOTAL_LENGTH
    out.totalLength = totalLength;
    sum += totalLength;
    const id = u16(b, at + 4); // IPV4_FIELD.ID
    out.id = id;
    sum += id;
    const flags = u16(b, at + 6); // IPV4_FIELD.FLAGS_FRAGMENT
    out.reservedFlag = (flags & 0x8000) !== 0; // IPV4_FLAG.RESERVED
    out.dontFragment = (flags & 0x4000) !== 0; // IPV4_FLAG.DONT_FRAGMENT
    out.moreFragments = (flags & 0x2000) !== 0; // IPV4_FLAG.MORE_FRAGMENTS
    out.fragmentOffset = (flags & 0x1fff) << 3; // the offset bits, in 8-byte units
    sum += flags;
    const ttl = b[at + 8]!; // IPV4_FIELD.TTL
    const protocol = b[at + 9]!; // IPV4_FIELD.PROTOCOL
    out.ttl = ttl;
    out.protocol = protocol;
    sum += (ttl << 8) | protocol;
    const checksum = u16(b, at + 10); // IPV4_FIELD.CHECKSUM
    out.checksum = checksum;
    sum += checksum;
    const src = at + 12; // IPV4_FIELD.SRC
    const dst = at + 16; // IPV4_FIELD.DST
    const addressSum = u16(b, src) + u16(b, src + 2) + u16(b, dst) + u16(b, dst + 2);
    if (verify === true && headerLength <= end - at) {
      sum += addressSum;
      out.checksumValid = foldSum(headerLength > 20 ? onesSum(b, at + 20, at + headerLength, sum) : sum) === 0xffff;
    } else {
      out.checksumValid = null;
    }
    return addressSum;
  }

  /** Where the options start in `bytes`: just after the fixed header. */
  get optionsStart(): number {
    return this.at + HEADER_LENGTH;
  }
  /** Where the options (and their padding) end: {@link headerLength} bytes after the header's start. Needs a passing `check()`. */
  get optionsEnd(): number {
    return this.at + this.headerLength;
  }
  /** The option bytes, padding included, `bytes[optionsStart, optionsEnd)`. Needs a passing `check()`. */
  get options(): Uint8Array {
    return this.bytes.subarray(this.optionsStart, this.optionsEnd);
  }

  /** Where the data starts in `bytes`: {@link headerLength} bytes after the header's start. */
  get payloadStart(): number {
    return this.at + this.headerLength;
  }
  /**
   * Where the data ends in `bytes`: {@link totalLength} bytes after the
   * header's start (link padding dropped), or `end` when the capture stops
   * sooner. Needs a passing `check()`.
   */
  get payloadEnd(): number {
    const stated = this.at + this.totalLength;
    return stated < this.end ? stated : this.end;
  }
  /** The data, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }

  /**
   * Whether the header checksum is right: the header's 16-bit words, options
   * and checksum field included, sum to 0xffff (RFC 791 §3.1, RFC 1071 §2).
   * Needs a passing `check()`.
   */
  verifyChecksum(): boolean {
    return foldSum(onesSum(this.bytes, this.at, this.at + this.headerLength)) === 0xffff;
  }

  /**
   * Compute and store the header checksum over `headerLength` bytes (default
   * {@link headerLength}; a builder that writes a lying IHL on purpose passes
   * the bytes it really wrote). Needs those bytes present.
   */
  fillChecksum(headerLength = this.headerLength): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.bytes, this.at, this.at + headerLength);
  }
}

/** Whether `bit` of the flags + fragment offset word is set. */
function flagOf(view: Ipv4View, bit: number): boolean {
  return (u16(view.bytes, view.at + FIELD.FLAGS_FRAGMENT) & bit) !== 0;
}

/** Set or clear `bit` of the flags + fragment offset word. */
function setFlagOf(view: Ipv4View, bit: number, on: boolean): void {
  const at = view.at + FIELD.FLAGS_FRAGMENT;
  const word = u16(view.bytes, at);
  put16(view.bytes, at, on ? word | bit : word & ~bit);
}

/** An address for a view's setter: exactly 4 bytes (a programmer error otherwise). */
function address(v: Uint8Array): Uint8Array {
  if (v.length !== ADDRESS_LENGTH) throw new RangeError(`An IPv4 address has 4 bytes, not ${v.length}`);
  return v;
}

/** A decoded IPv4 header. */
export interface Ipv4 extends LayerBase {
  layer: "ipv4";
  version: number;
  /** header length in bytes (IHL × 4) */
  headerLength: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  /** the reserved flag bit (RFC 3514's "evil bit") */
  reservedFlag: boolean;
  dontFragment: boolean;
  moreFragments: boolean;
  /** fragment offset in bytes (the field × 8) */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  /** header checksum verified: null when the header is cut short or verification is off */
  checksumValid: boolean | null;
  src: string;
  dst: string;
  options: Ipv4Option[];
}

/** The fixed header's fields of a decoded {@link Ipv4} (all but the addresses and options): what {@link Ipv4View.readInto} fills. */
export type Ipv4Fields = Omit<Ipv4, "layer" | "src" | "dst" | "options">;

/**
 * Build input. Unset: version 4, header length from the options (padded with
 * EOL to a multiple of 4), DSCP/ECN 0, total length from the payload, id 0,
 * all flags off (DF is NOT set by default), offset 0, TTL 64, protocol from the
 * layer inside (0 when unknown), checksum computed, addresses 0.0.0.0.
 * Addresses are text or 4 bytes.
 */
export type Ipv4Input = Omit<Input<Ipv4>, "options" | "checksumValid" | "src" | "dst"> & {
  options?: Ipv4OptionInput[];
  src?: AddressInput;
  dst?: AddressInput;
};

function newIpv4(): Ipv4 {
  return {
    layer: "ipv4",
    version: 0,
    headerLength: 0,
    dscp: 0,
    ecn: 0,
    totalLength: 0,
    id: 0,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 0,
    protocol: 0,
    checksum: 0,
    checksumValid: null,
    src: "",
    dst: "",
    options: [],
  };
}

/**
 * Decode an IPv4 header and its options; the next layer comes from the
 * protocol field (the IP protocol table), none for a later fragment.
 */
export const decodeIpv4: Decoder = (bytes, state) => {
  const at = state.offset;
  const len = state.end - at;
  if (len < 20) {
    // IPV4_HEADER_LENGTH
    state.issues.push({ layer: "ipv4", kind: "truncated", reason: `header needs ${HEADER_LENGTH} bytes, got ${len}` });
    return null;
  }
  // The checks of Ipv4View.check, one at a time: each failure has its own
  // issue kind, and whether the value is pushed differs. The value is filled
  // first (a pooled one is only pushed once the header is IPv4). The
  // addresses' part of the header sum is summed once: for the header
  // checksum and the transport pseudo-header (handed to the IP context).
  const value = pooledValue(state.pool?.ipv4, state.layers.length, newIpv4);
  const addressSum = Ipv4View.readInto(bytes, at, state.end, value, state.options.verifyChecksums !== false);
  const version = value.version;
  if (version !== 4) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: `version ${version} is not 4` });
    return null;
  }
  const headerLength = value.headerLength;
  if (headerLength < 20) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: `header length ${headerLength} is less than ${HEADER_LENGTH}` });
    return null;
  }
  const totalLength = value.totalLength;
  const fragmentOffset = value.fragmentOffset;
  const whole = headerLength <= len;
  const options = value.options;
  while (options.length > 0) options.pop(); // a pooled value's list: its option objects are new each time
  // The view's optionsStart/optionsEnd and address offsets as literals (see decodeEthernet).
  const optionError = whole && headerLength > 20 ? parseIpv4Options(bytes, at + 20, at + headerLength, options) : null;
  value.src = formatIpv4(bytes, at + 12); // IPV4_FIELD.SRC
  value.dst = formatIpv4(bytes, at + 16); // IPV4_FIELD.DST
  state.layers.push(value);
  if (!whole) {
    state.issues.push({ layer: "ipv4", kind: "truncated", reason: `header length ${headerLength} exceeds ${len} bytes` });
    state.offset = state.end;
    return null;
  }
  if (totalLength < headerLength) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: `total length ${totalLength} is less than header length ${headerLength}` });
    state.offset = at + headerLength;
    return null;
  }
  const cut = totalLength > len;
  if (cut && state.depth === 0) {
    state.issues.push({ layer: "ipv4", kind: "truncated", reason: `total length ${totalLength} exceeds ${len} bytes` });
  }
  const complete = !cut && !value.moreFragments && fragmentOffset === 0;
  const upperLength = totalLength - headerLength;
  const spare = state.spareIp;
  state.ip =
    spare === undefined
      ? new IpHeaderContext(4, bytes, at, upperLength, complete, fragmentOffset > 0)
      : spare.reset(4, bytes, at, upperLength, complete, fragmentOffset > 0, addressSum);
  // The view's payloadStart and payloadEnd, from the lengths already read.
  state.offset = at + headerLength;
  if (!cut) state.end = at + totalLength; // drops link padding
  if (optionError !== null) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: optionError });
    return null;
  }
  if (fragmentOffset > 0) return null; // RFC 791: only the first fragment holds the transport header
  return state.dispatch.ipProtocol(value.protocol);
};

// ---- encoding ----

/** The IPv4 protocol number for the layer inside, 0 when there is none. */
function protocolFor(inner: LayerBase | undefined, dispatch: Dispatch | undefined): number {
  return inner === undefined ? 0 : (dispatch?.ipProtocolOf(inner.layer) ?? 0);
}

const NO_ADDRESS = new Uint8Array(ADDRESS_LENGTH);

/** Builds an IPv4 header, options written once, straight into the packet: see {@link Ipv4Input} for the defaults. */
export const ipv4Codec: Codec<Ipv4Input> = {
  headerLength: (v) => HEADER_LENGTH + ipv4OptionsLength(v.options),
  write(v, out, ctx) {
    const view = new Ipv4View(out);
    const headerLength = encodeIpv4OptionsInto(v.options, out, view.optionsStart) - view.at;
    view.version = v.version ?? 4;
    view.headerLength = v.headerLength ?? headerLength;
    view.dscp = v.dscp ?? 0;
    view.ecn = v.ecn ?? 0;
    view.totalLength = v.totalLength ?? out.length;
    view.id = v.id ?? 0;
    view.reservedFlag = v.reservedFlag === true;
    view.dontFragment = v.dontFragment === true;
    view.moreFragments = v.moreFragments === true;
    view.fragmentOffset = v.fragmentOffset ?? 0;
    view.ttl = v.ttl ?? 64;
    view.protocol = v.protocol ?? protocolFor(ctx.inner, ctx.dispatch);
    view.src = v.src === undefined ? NO_ADDRESS : ipv4Bytes(v.src);
    view.dst = v.dst === undefined ? NO_ADDRESS : ipv4Bytes(v.dst);
    // Over the bytes written, even when `headerLength` was set to something else on purpose.
    if (v.checksum === undefined) view.fillChecksum(headerLength);
    else view.checksum = v.checksum;
  },
};

/** IPv4 in the registry: after ethertype 0x0800, IP protocol 4 (IP in IP), AF_INET, LINKTYPE_IPV4. */
export const ipv4Protocol: Protocol<"ipv4", Ipv4, Ipv4Input> = {
  kind: "ipv4",
  decode: decodeIpv4,
  codec: ipv4Codec,
  pooled: true,
  claims: { ethertypes: [ETHERTYPE_IPV4], ipProtocols: [IP_PROTOCOL_IPV4], addressFamilies: [AF_INET], linkTypes: [LINKTYPE.IPV4] },
  inputRules: {
    version: 15,
    headerLength: { max: 60, multipleOf: 4 }, // IHL, in 4-byte words
    dscp: 63,
    ecn: 3,
    totalLength: 0xffff,
    id: 0xffff,
    reservedFlag: "bool",
    dontFragment: "bool",
    moreFragments: "bool",
    fragmentOffset: { max: 0x1fff * 8, multipleOf: 8 }, // in 8-byte units
    ttl: 0xff,
    protocol: 0xff,
    checksum: 0xffff,
    src: "ipv4",
    dst: "ipv4",
    options: { list: IPV4_OPTION_RULES },
  },
};
