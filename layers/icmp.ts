/**
 * ICMP for IPv4 (RFC 792, RFC 1191 for the next-hop MTU, RFC 950 for address
 * masks): the decoded value {@link Icmp}, {@link decodeIcmp} and
 * {@link icmpCodec}.
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

/** Header bytes for a type: 20 for timestamps, 12 for address masks, else 8. */
function headerBytes(type: number): number {
  if (type === ICMP_TYPE.TIMESTAMP || type === ICMP_TYPE.TIMESTAMP_REPLY) return 20;
  if (type === ICMP_TYPE.ADDRESS_MASK_REQUEST || type === ICMP_TYPE.ADDRESS_MASK_REPLY) return 12;
  return 8;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function putU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** The checksum of the message `frame[base, end)`. */
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
  if (ip !== null && ip.laterFragment) {
    return end === base ? null : "payload";
  }
  // The message is frame[base, end): offsets below are from base.
  const n = end - base;
  const shortKind = ip !== null && ip.complete ? "malformed" : "truncated";
  if (n < 4) {
    state.issues.push({ layer: "icmp", kind: shortKind, reason: `header needs 4 bytes, have ${n}` });
    state.offset = end;
    return null;
  }
  const type = frame[base]!;
  const code = frame[base + 1]!;
  const checksumStatus = icmpChecksumStatus(frame, base, end, state);
  const icmp: Icmp = {
    layer: "icmp",
    type,
    code,
    checksum: (frame[base + 2]! << 8) | frame[base + 3]!,
    checksumValid: checksumValidOf(checksumStatus),
    checksumStatus,
  };
  state.layers.push(icmp);
  const need = headerBytes(type);
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
      icmp.identifier = (frame[base + 4]! << 8) | frame[base + 5]!;
      icmp.sequence = (frame[base + 6]! << 8) | frame[base + 7]!;
      break;
    case ICMP_TYPE.TIMESTAMP:
    case ICMP_TYPE.TIMESTAMP_REPLY:
      icmp.identifier = (frame[base + 4]! << 8) | frame[base + 5]!;
      icmp.sequence = (frame[base + 6]! << 8) | frame[base + 7]!;
      icmp.originate = u32(frame, base + 8);
      icmp.receive = u32(frame, base + 12);
      icmp.transmit = u32(frame, base + 16);
      break;
    case ICMP_TYPE.ADDRESS_MASK_REQUEST:
    case ICMP_TYPE.ADDRESS_MASK_REPLY:
      icmp.identifier = (frame[base + 4]! << 8) | frame[base + 5]!;
      icmp.sequence = (frame[base + 6]! << 8) | frame[base + 7]!;
      icmp.addressMask = formatIpv4(frame, base + 8);
      break;
    case ICMP_TYPE.DESTINATION_UNREACHABLE:
      if (code === ICMP_CODE_FRAGMENTATION_NEEDED) icmp.nextHopMtu = (frame[base + 6]! << 8) | frame[base + 7]!;
      break;
    case ICMP_TYPE.REDIRECT:
      icmp.gateway = formatIpv4(frame, base + 4);
      break;
    case ICMP_TYPE.PARAMETER_PROBLEM:
      icmp.pointer = frame[base + 4]!;
      break;
    case ICMP_TYPE.SOURCE_QUENCH:
    case ICMP_TYPE.TIME_EXCEEDED:
      break; // bytes 4-7 unused (RFC 792)
    default:
      icmp.restOfHeader = u32(frame, base + 4);
  }
  const bodyStart = base + need;
  if (isIcmpError(type) && end > bodyStart && state.depth < MAX_QUOTE_DEPTH) {
    icmp.quoted = state.nest("ipv4", frame.subarray(bodyStart, end));
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
    const type = value.type ?? ICMP_TYPE.ECHO_REQUEST;
    out[0] = type;
    out[1] = value.code ?? 0;
    out[2] = 0;
    out[3] = 0;
    out.fill(0, 4, headerBytes(type));
    switch (type) {
      case ICMP_TYPE.TIMESTAMP:
      case ICMP_TYPE.TIMESTAMP_REPLY:
        putU32(out, 8, value.originate ?? 0);
        putU32(out, 12, value.receive ?? 0);
        putU32(out, 16, value.transmit ?? 0);
        writeIdSeq(value, out);
        break;
      case ICMP_TYPE.ADDRESS_MASK_REQUEST:
      case ICMP_TYPE.ADDRESS_MASK_REPLY:
        out.set(parseIpv4(value.addressMask ?? "0.0.0.0"), 8);
        writeIdSeq(value, out);
        break;
      case ICMP_TYPE.ECHO_REPLY:
      case ICMP_TYPE.ECHO_REQUEST:
      case ICMP_TYPE.INFORMATION_REQUEST:
      case ICMP_TYPE.INFORMATION_REPLY:
        writeIdSeq(value, out);
        break;
      case ICMP_TYPE.DESTINATION_UNREACHABLE:
        out[6] = (value.nextHopMtu ?? 0) >>> 8;
        out[7] = value.nextHopMtu ?? 0;
        break;
      case ICMP_TYPE.REDIRECT:
        out.set(parseIpv4(value.gateway ?? "0.0.0.0"), 4);
        break;
      case ICMP_TYPE.PARAMETER_PROBLEM:
        out[4] = value.pointer ?? 0;
        break;
    }
    if (value.restOfHeader !== undefined) putU32(out, 4, value.restOfHeader);
    const checksum = value.checksum ?? internetChecksum(out);
    out[2] = checksum >>> 8;
    out[3] = checksum;
  },
};

function writeIdSeq(value: IcmpInput, out: Uint8Array): void {
  const id = value.identifier ?? 0;
  const seq = value.sequence ?? 0;
  out[4] = id >>> 8;
  out[5] = id;
  out[6] = seq >>> 8;
  out[7] = seq;
}

/** ICMP in the registry. */
export const icmpProtocol: Protocol<"icmp", Icmp, IcmpInput> = {
  kind: "icmp",
  decode: decodeIcmp,
  codec: icmpCodec,
  claims: { ipProtocols: [IP_PROTOCOL_ICMP] },
};
