/**
 * ICMP for IPv4 (RFC 792, RFC 1191 for the next-hop MTU, RFC 950 for address
 * masks): a zero-copy {@link IcmpView}, the decoded value {@link Icmp},
 * {@link decodeIcmp} and {@link icmpCodec}.
 *
 * ```text
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |  type  |  code  |    checksum     |
 * +--------+--------+--------+--------+
 * |  rest of header (by type)         |
 * +--------+--------+--------+--------+
 * |  timestamps / address mask / data |
 * ```
 *
 * Every message starts with type, code and a checksum over the whole message;
 * the next four bytes depend on the type. Error messages (destination
 * unreachable, source quench, redirect, time exceeded, parameter problem) quote
 * the offending datagram, which is decoded as its own layers into `quoted`.
 *
 * @example
 * ```ts
 * import { icmpCodec } from "./icmp.ts";
 * // An echo request: type 8 is the default.
 * const input = { layer: "icmp", identifier: 1, sequence: 1 } as const;
 * ```
 *
 * @module
 */
import { checksumValidOf, type ChecksumStatus, type Codec, type Decoder, type DecodeState, type Issue, type LayerBase, type Protocol } from "./core.ts";
import { IP_PROTOCOL_ICMP } from "./dispatch.ts";
import { checksumOk, internetChecksum } from "./checksum.ts";
import { formatIpv4, parseIpv4 } from "./addr.ts";
import { put16, put32, u16, u32 } from "./bytes.ts";
import { IcmpHeaderView } from "./icmp_header.ts";

/** ICMP message types (IANA "ICMP Type Numbers"). */
export const ICMP_TYPE = {
  ECHO_REPLY: 0,
  DESTINATION_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
  INFORMATION_REQUEST: 15,
  INFORMATION_REPLY: 16,
  ADDRESS_MASK_REQUEST: 17,
  ADDRESS_MASK_REPLY: 18,
} as const;

/** Destination unreachable code 4: fragmentation needed and DF set (carries `nextHopMtu`). */
export const ICMP_CODE_FRAGMENTATION_NEEDED = 4;

/** Layers decoded from the datagram an ICMP error quotes, with their own issues. */
export interface IcmpQuote {
  layers: LayerBase[];
  issues: Issue[];
}

/**
 * A decoded ICMP message. `type`, `code` and the checksum are always there;
 * the other fields appear for the types that carry them.
 */
export interface Icmp extends LayerBase {
  layer: "icmp";
  type: number;
  code: number;
  checksum: number;
  /** true / false, or null when the message is not all there (see `checksumStatus`) */
  checksumValid: boolean | null;
  /** "good", "bad" or "unverified" (no pseudo-header, so never "partial" or "none") */
  checksumStatus: ChecksumStatus;
  /** echo, timestamp, information and address-mask messages */
  identifier?: number;
  sequence?: number;
  /** destination unreachable code 4 (RFC 1191) */
  nextHopMtu?: number;
  /** parameter problem: the byte offset of the error in the quoted datagram */
  pointer?: number;
  /** redirect: the router to use instead */
  gateway?: string;
  /** timestamp and timestamp reply: milliseconds since midnight UT */
  originate?: number;
  receive?: number;
  transmit?: number;
  /** address mask reply (RFC 950) */
  addressMask?: string;
  /** the four bytes after the checksum, for types this module does not name */
  restOfHeader?: number;
  /** error messages: the quoted datagram, decoded from its IPv4 header on */
  quoted?: IcmpQuote;
}

/**
 * What a user sets to build an ICMP message; everything is optional.
 *
 * Defaults: `type` 8 (echo request), `code` 0, every number 0, `gateway` and
 * `addressMask` 0.0.0.0. `checksum` is computed over the whole message (the
 * header and every layer after it, e.g. a quoted IPv4 datagram built as the
 * following layers). `restOfHeader`, when set, is written to bytes 4-7
 * instead of the type's own fields.
 */
export interface IcmpInput {
  layer: "icmp";
  type?: number;
  code?: number;
  checksum?: number;
  identifier?: number;
  sequence?: number;
  nextHopMtu?: number;
  pointer?: number;
  gateway?: string;
  originate?: number;
  receive?: number;
  transmit?: number;
  addressMask?: string;
  restOfHeader?: number;
}

/** Whether a type is an error message that quotes a datagram (RFC 792). */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_TYPE.DESTINATION_UNREACHABLE ||
    type === ICMP_TYPE.SOURCE_QUENCH ||
    type === ICMP_TYPE.REDIRECT ||
    type === ICMP_TYPE.TIME_EXCEEDED ||
    type === ICMP_TYPE.PARAMETER_PROBLEM
  );
}

/** Bytes every message has: type, code and checksum. */
const COMMON_BYTES = 4;

/** Header bytes for a type: 20 for timestamps, 12 for address masks, else 8. */
function headerBytes(type: number): number {
  if (type === ICMP_TYPE.TIMESTAMP || type === ICMP_TYPE.TIMESTAMP_REPLY) return 20;
  if (type === ICMP_TYPE.ADDRESS_MASK_REQUEST || type === ICMP_TYPE.ADDRESS_MASK_REPLY) return 12;
  return 8;
}

/**
 * Byte offsets of the ICMP fields (RFC 792, RFC 950, RFC 1191) from the
 * message's start; which apply from 4 on depends on the type.
 */
export const ICMP_FIELD = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  REST_OF_HEADER: 4,
  IDENTIFIER: 4,
  SEQUENCE: 6,
  GATEWAY: 4,
  POINTER: 4,
  NEXT_HOP_MTU: 6,
  /** timestamp and timestamp reply: three 32-bit times */
  ORIGINATE: 8,
  RECEIVE: 12,
  TRANSMIT: 16,
  /** address mask request and reply: 4 bytes */
  ADDRESS_MASK: 8,
} as const;

/**
 * An ICMP message over bytes, without copying: the message starts at `at` in
 * `bytes` and ends at `end` (exclusive; default: the end of `bytes`). The
 * constructor checks nothing; call {@link IcmpView.check} once before reading
 * past the first 4 bytes or trusting `payload`. The type decides which of the
 * getters past `checksum` mean anything (see {@link ICMP_FIELD}; the accessors
 * spell its offsets as literals so V8 always inlines them, see `TcpView`).
 *
 * @example
 * ```ts
 * import { IcmpView, ICMP_TYPE } from "./icmp.ts";
 * const message = new Uint8Array(8 + 4);
 * const view = new IcmpView(message);
 * view.type = ICMP_TYPE.ECHO_REQUEST; // code 0
 * view.identifier = 0x1234;
 * view.sequence = 1;
 * view.fillChecksum();
 * view.check(); // null
 * ```
 */
export class IcmpView extends IcmpHeaderView {
  /** bytes 4-7 as one unsigned 32-bit word, whatever the type */
  get restOfHeader(): number {
    return u32(this.bytes, this.at + 4); // ICMP_FIELD.REST_OF_HEADER
  }
  set restOfHeader(v: number) {
    put32(this.bytes, this.at + 4, v); // ICMP_FIELD.REST_OF_HEADER
  }
  // type, code, checksum, identifier and sequence (echo, timestamp,
  // information and address-mask messages), check() and the payload range:
  // IcmpHeaderView's (icmp_header.ts).
  /** redirect: the router to use instead, the 4 address bytes themselves (a subarray) */
  get gateway(): Uint8Array {
    const i = this.at + 4; // ICMP_FIELD.GATEWAY
    return this.bytes.subarray(i, i + 4);
  }
  /** copies the first 4 bytes of `v` in */
  set gateway(v: Uint8Array) {
    this.bytes.set(v.subarray(0, 4), this.at + 4); // ICMP_FIELD.GATEWAY
  }
  /** where the gateway address starts in `bytes`, for formatting it without a subarray */
  get gatewayOffset(): number {
    return this.at + 4; // ICMP_FIELD.GATEWAY
  }
  /** parameter problem: the byte offset of the error in the quoted datagram */
  get pointer(): number {
    return this.bytes[this.at + 4]!; // ICMP_FIELD.POINTER
  }
  set pointer(v: number) {
    this.bytes[this.at + 4] = v; // ICMP_FIELD.POINTER
  }
  /** destination unreachable, fragmentation needed (RFC 1191) */
  get nextHopMtu(): number {
    return u16(this.bytes, this.at + 6); // ICMP_FIELD.NEXT_HOP_MTU
  }
  set nextHopMtu(v: number) {
    put16(this.bytes, this.at + 6, v); // ICMP_FIELD.NEXT_HOP_MTU
  }
  /** timestamp and timestamp reply: milliseconds since midnight UT */
  get originate(): number {
    return u32(this.bytes, this.at + 8); // ICMP_FIELD.ORIGINATE
  }
  set originate(v: number) {
    put32(this.bytes, this.at + 8, v); // ICMP_FIELD.ORIGINATE
  }
  get receive(): number {
    return u32(this.bytes, this.at + 12); // ICMP_FIELD.RECEIVE
  }
  set receive(v: number) {
    put32(this.bytes, this.at + 12, v); // ICMP_FIELD.RECEIVE
  }
  get transmit(): number {
    return u32(this.bytes, this.at + 16); // ICMP_FIELD.TRANSMIT
  }
  set transmit(v: number) {
    put32(this.bytes, this.at + 16, v); // ICMP_FIELD.TRANSMIT
  }
  /** address mask request and reply (RFC 950): the 4 mask bytes (a subarray) */
  get addressMask(): Uint8Array {
    const i = this.at + 8; // ICMP_FIELD.ADDRESS_MASK
    return this.bytes.subarray(i, i + 4);
  }
  /** copies the first 4 bytes of `v` in */
  set addressMask(v: Uint8Array) {
    this.bytes.set(v.subarray(0, 4), this.at + 8); // ICMP_FIELD.ADDRESS_MASK
  }
  /** where the address mask starts in `bytes` */
  get addressMaskOffset(): number {
    return this.at + 8; // ICMP_FIELD.ADDRESS_MASK
  }

  /** Header bytes for this message's type: 20 for timestamps, 12 for address masks, else 8. */
  override get headerLength(): number {
    return headerBytes(this.type);
  }

  /** Whether the message `bytes[at, end)`, checksum included, sums right (RFC 792: no pseudo-header). */
  verifyChecksum(): boolean {
    return checksumOk(this.bytes, this.at, this.end);
  }

  /** Compute and store the checksum over `bytes[at, end)` (RFC 792: the field counts as 0). */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.bytes, this.at, this.end);
  }
}

/** The checksum status of the message `frame[base, end)`. */
function icmpChecksumStatus(frame: Uint8Array, base: number, end: number, state: DecodeState): ChecksumStatus {
  if (state.options.verifyChecksums === false) return "unverified";
  const ip = state.ip;
  // No IP layer (decoded on its own): the bytes are all there is.
  if (ip === null) return checksumOk(frame, base, end) ? "good" : "bad";
  // RFC 792: the checksum covers the whole message, so a cut capture, a
  // fragment or a quote (8 bytes of it) cannot be checked.
  if (!ip.complete || ip.laterFragment || end - base < ip.upperLength) return "unverified";
  return checksumOk(frame, base, base + ip.upperLength) ? "good" : "bad";
}

/** The view `decodeIcmp` resets per message; a quote may hold ICMP again, so all is read before nesting. */
const DECODE_VIEW = new IcmpView(new Uint8Array(0));

/** How deep quotes are decoded: an error quoted inside an error is left raw. */
const MAX_QUOTE_DEPTH = 1;

/**
 * Decode an ICMP message. Echo data goes on as `"payload"`; an error's quoted
 * datagram is decoded into `quoted` through `state.nest("ipv4", …)` and the
 * decode ends there.
 */
export const decodeIcmp: Decoder = (frame, state) => {
  const ip = state.ip;
  const base = state.offset;
  const end = state.end;
  if (ip !== null && ip.laterFragment) return end === base ? null : "payload";
  const n = end - base;
  const shortKind = ip !== null && ip.complete ? "malformed" : "truncated";
  if (n < COMMON_BYTES) {
    state.issues.push({ layer: "icmp", kind: shortKind, reason: `header needs 4 bytes, have ${n}` });
    state.offset = end;
    return null;
  }
  const view = DECODE_VIEW.reset(frame, base, end);
  const type = view.type;
  const code = view.code;
  const checksumStatus = icmpChecksumStatus(frame, base, end, state);
  const icmp: Icmp = {
    layer: "icmp",
    type,
    code,
    checksum: view.checksum,
    checksumValid: checksumValidOf(checksumStatus),
    checksumStatus,
  };
  state.layers.push(icmp);
  const need = headerBytes(type); // view.headerLength, without reading the type again
  if (n < need) {
    state.issues.push({ layer: "icmp", kind: shortKind, reason: `type ${type} needs ${need} bytes, have ${n}` });
    state.offset = end;
    return null;
  }
  switch (type) {
    case ICMP_TYPE.ECHO_REPLY:
    case ICMP_TYPE.ECHO_REQUEST:
    case ICMP_TYPE.INFORMATION_REQUEST:
    case ICMP_TYPE.INFORMATION_REPLY:
      icmp.identifier = view.identifier;
      icmp.sequence = view.sequence;
      break;
    case ICMP_TYPE.TIMESTAMP:
    case ICMP_TYPE.TIMESTAMP_REPLY:
      icmp.identifier = view.identifier;
      icmp.sequence = view.sequence;
      icmp.originate = view.originate;
      icmp.receive = view.receive;
      icmp.transmit = view.transmit;
      break;
    case ICMP_TYPE.ADDRESS_MASK_REQUEST:
    case ICMP_TYPE.ADDRESS_MASK_REPLY:
      icmp.identifier = view.identifier;
      icmp.sequence = view.sequence;
      icmp.addressMask = formatIpv4(frame, view.addressMaskOffset);
      break;
    case ICMP_TYPE.DESTINATION_UNREACHABLE:
      if (code === ICMP_CODE_FRAGMENTATION_NEEDED) icmp.nextHopMtu = view.nextHopMtu;
      break;
    case ICMP_TYPE.REDIRECT:
      icmp.gateway = formatIpv4(frame, view.gatewayOffset);
      break;
    case ICMP_TYPE.PARAMETER_PROBLEM:
      icmp.pointer = view.pointer;
      break;
    case ICMP_TYPE.SOURCE_QUENCH:
    case ICMP_TYPE.TIME_EXCEEDED:
      break; // bytes 4-7 unused (RFC 792)
    default:
      icmp.restOfHeader = view.restOfHeader;
  }
  const bodyStart = base + need; // view.payloadStart
  if (isIcmpError(type) && end > bodyStart && state.depth < MAX_QUOTE_DEPTH) {
    // Everything needed is read: the nested decode may decode ICMP again.
    icmp.quoted = state.nest("ipv4", view.payload);
    state.offset = end;
    return null;
  }
  state.offset = bodyStart;
  return end === bodyStart ? null : "payload";
};

/** Builds an ICMP message: see {@link IcmpInput} for the defaults. */
export const icmpCodec: Codec<IcmpInput> = {
  headerLength: (value) => headerBytes(value.type ?? ICMP_TYPE.ECHO_REQUEST),
  write(value, out) {
    const view = new IcmpView(out);
    const type = value.type ?? ICMP_TYPE.ECHO_REQUEST;
    view.type = type;
    view.code = value.code ?? 0;
    // Checksum and every field of the type's header start as 0.
    out.fill(0, ICMP_FIELD.CHECKSUM, view.headerLength);
    switch (type) {
      case ICMP_TYPE.TIMESTAMP:
      case ICMP_TYPE.TIMESTAMP_REPLY:
        view.originate = value.originate ?? 0;
        view.receive = value.receive ?? 0;
        view.transmit = value.transmit ?? 0;
        view.identifier = value.identifier ?? 0;
        view.sequence = value.sequence ?? 0;
        break;
      case ICMP_TYPE.ADDRESS_MASK_REQUEST:
      case ICMP_TYPE.ADDRESS_MASK_REPLY:
        view.addressMask = parseIpv4(value.addressMask ?? "0.0.0.0");
        view.identifier = value.identifier ?? 0;
        view.sequence = value.sequence ?? 0;
        break;
      case ICMP_TYPE.ECHO_REPLY:
      case ICMP_TYPE.ECHO_REQUEST:
      case ICMP_TYPE.INFORMATION_REQUEST:
      case ICMP_TYPE.INFORMATION_REPLY:
        view.identifier = value.identifier ?? 0;
        view.sequence = value.sequence ?? 0;
        break;
      case ICMP_TYPE.DESTINATION_UNREACHABLE:
        view.nextHopMtu = value.nextHopMtu ?? 0;
        break;
      case ICMP_TYPE.REDIRECT:
        view.gateway = parseIpv4(value.gateway ?? "0.0.0.0");
        break;
      case ICMP_TYPE.PARAMETER_PROBLEM:
        view.pointer = value.pointer ?? 0;
        break;
    }
    if (value.restOfHeader !== undefined) view.restOfHeader = value.restOfHeader;
    if (value.checksum !== undefined) view.checksum = value.checksum;
    else view.fillChecksum();
  },
};

/** ICMP in the registry. */
export const icmpProtocol: Protocol<"icmp", Icmp, IcmpInput> = {
  kind: "icmp",
  decode: decodeIcmp,
  codec: icmpCodec,
  claims: { ipProtocols: [IP_PROTOCOL_ICMP] },
  inputRules: {
    type: 0xff,
    code: 0xff,
    checksum: 0xffff,
    identifier: 0xffff,
    sequence: 0xffff,
    nextHopMtu: 0xffff,
    pointer: 0xff,
    gateway: "ipv4",
    originate: 0xffffffff,
    receive: 0xffffffff,
    transmit: 0xffffffff,
    addressMask: "ipv4",
    restOfHeader: 0xffffffff,
  },
};
