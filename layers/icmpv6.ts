/**
 * ICMPv6 (RFC 4443) with the Neighbor Discovery messages (RFC 4861 §4): a
 * zero-copy {@link Icmpv6View}, the decoded value {@link Icmpv6},
 * {@link decodeIcmpv6} and {@link icmpv6Codec}. The NDP body fields and
 * option list live in `ndp.ts` (the option list is re-exported here).
 *
 * ```text
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |  type  |  code  |    checksum     |
 * +--------+--------+--------+--------+
 * |  message body (by type): fixed    |
 * |  fields, then NDP options or data |
 * ```
 *
 * The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1,
 * next header 58) and the whole message. Error messages (destination
 * unreachable, packet too big, time exceeded, parameter problem) quote the
 * offending packet, which is decoded as its own layers into `quoted`.
 *
 * @example
 * ```ts
 * // A neighbor solicitation for fd77::2 from 02:77:00:00:00:01.
 * const input = {
 *   layer: "icmpv6", type: 135, targetAddress: "fd77::2",
 *   options: [{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }],
 * } as const;
 * ```
 *
 * @module
 */
import { checksumValidOf, type ChecksumStatus, type Codec, type Decoder, type Issue, type IssueKind, type LayerBase, type Protocol } from "./core.ts";
import { checksumStatusAt, finishChecksum, foldSum, onesSum, pseudoHeaderSum } from "./checksum.ts";
import { IP_PROTOCOL_ICMPV6 } from "./dispatch.ts";
import { formatIpv6, parseIpv6 } from "./addr.ts";
import { put32, u32 } from "./bytes.ts";
import { NDP_FIELD, NdpMessageView, ndpOptionsLength, parseNdpOptions, writeNdpOptions, type NdpFields, type NdpOption } from "./ndp.ts";

// The option list was first defined here: importers of this module keep working.
export { NDP_OPTION, ndpOptionsLength, parseNdpOptions, writeNdpOptions, type NdpOption, type NdpOptionProblem } from "./ndp.ts";

/** ICMPv6 message types (IANA "ICMPv6 Parameters"). */
export const ICMPV6_TYPE = {
  DESTINATION_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
} as const;

/** Layers decoded from the packet an ICMPv6 error quotes, with their own issues. */
export interface Icmpv6Quote {
  layers: LayerBase[];
  issues: Issue[];
}

/**
 * A decoded ICMPv6 message. `type`, `code` and the checksum are always there;
 * the other fields (the NDP ones from {@link NdpFields}) appear for the types
 * that carry them.
 */
export interface Icmpv6 extends LayerBase, NdpFields {
  layer: "icmpv6";
  type: number;
  code: number;
  checksum: number;
  /** true / false, or null when it could not be verified (see `checksumStatus`) */
  checksumValid: boolean | null;
  checksumStatus: ChecksumStatus;
  /** echo request / reply */
  identifier?: number;
  sequence?: number;
  /** packet too big */
  mtu?: number;
  /** parameter problem: byte offset of the error in the quoted packet */
  pointer?: number;
  /** NDP messages (133-137) */
  options?: NdpOption[];
  /** error messages: the quoted packet, decoded from its IPv6 header on */
  quoted?: Icmpv6Quote;
}

/**
 * What a user sets to build an ICMPv6 message; everything is optional.
 *
 * Defaults: `type` 128 (echo request), `code` 0, numbers 0 except a router
 * advertisement's `curHopLimit` 64 and `routerLifetime` 1800 s (RFC 4861
 * §6.2.1's AdvCurHopLimit and AdvDefaultLifetime), flags false, addresses
 * `::`, no options. `checksum` is computed with the enclosing IPv6 layer's
 * pseudo-header over the whole message (0 when there is none). Options are
 * written for NDP types (133-137) only.
 */
export interface Icmpv6Input extends NdpFields {
  layer: "icmpv6";
  type?: number;
  code?: number;
  checksum?: number;
  identifier?: number;
  sequence?: number;
  mtu?: number;
  pointer?: number;
  options?: readonly NdpOption[];
}

/** Whether a type is an error message that quotes a packet (RFC 4443 §2.1: types below 128). */
export function isIcmpv6Error(type: number): boolean {
  return type >= ICMPV6_TYPE.DESTINATION_UNREACHABLE && type <= ICMPV6_TYPE.PARAMETER_PROBLEM;
}

/** Bytes every message has: type, code and checksum. */
const COMMON_BYTES = 4;

/** Fixed header bytes (before NDP options or quoted/echo data) for a type. */
function fixedBytes(type: number): number {
  switch (type) {
    case ICMPV6_TYPE.ROUTER_ADVERTISEMENT:
      return 16;
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
      return 24;
    case ICMPV6_TYPE.REDIRECT:
      return 40;
    case ICMPV6_TYPE.DESTINATION_UNREACHABLE:
    case ICMPV6_TYPE.PACKET_TOO_BIG:
    case ICMPV6_TYPE.TIME_EXCEEDED:
    case ICMPV6_TYPE.PARAMETER_PROBLEM:
    case ICMPV6_TYPE.ECHO_REQUEST:
    case ICMPV6_TYPE.ECHO_REPLY:
    case ICMPV6_TYPE.ROUTER_SOLICITATION:
      return 8;
    default:
      return 4; // RFC 4443 §2.1: the body of other types is their own business
  }
}

function isNdp(type: number): boolean {
  return type >= ICMPV6_TYPE.ROUTER_SOLICITATION && type <= ICMPV6_TYPE.REDIRECT;
}

/**
 * Byte offsets of the ICMPv6 fields (RFC 4443 §2.1, §3, §4; the NDP ones from
 * {@link NDP_FIELD}), from the message's start; which apply after `CHECKSUM`
 * depends on the type.
 */
export const ICMPV6_FIELD = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  /** echo request / reply (RFC 4443 §4) */
  IDENTIFIER: 4,
  SEQUENCE: 6,
  /** packet too big (RFC 4443 §3.2): 32 bits */
  MTU: 4,
  /** parameter problem (RFC 4443 §3.4): 32 bits */
  POINTER: 4,
  ...NDP_FIELD,
} as const;

/**
 * An ICMPv6 message over bytes, without copying: the message starts at `at`
 * in `bytes` and ends at `end` (exclusive; default: the end of `bytes`). The
 * constructor checks nothing; call {@link Icmpv6View.check} once before
 * reading past the first 4 bytes or trusting `payload`. The type decides which
 * getters past `checksum` mean anything (see {@link ICMPV6_FIELD}). The NDP
 * fields (`curHopLimit`, `managed`, `other`, `routerLifetime`,
 * `reachableTime`, `retransTimer`, `router`, `solicited`, `override`,
 * `targetAddress`, `destinationAddress` and their `...Offset`s) come from
 * {@link NdpMessageView} in `ndp.ts`; flag setters change only their own bit.
 * As in `TcpView` (whose comment gives the measurement), the accessors spell
 * the table's offsets as literals, each naming its field, so V8 always
 * inlines them.
 *
 * @example
 * ```ts
 * import { Icmpv6View, ICMPV6_TYPE } from "./icmpv6.ts";
 * import { parseIpv6 } from "./addr.ts";
 * const src = parseIpv6("fd77::2"), dst = parseIpv6("fd77::1");
 * const view = new Icmpv6View(new Uint8Array(24)); // a neighbor advertisement, no options
 * view.type = ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT;
 * view.solicited = true;
 * view.targetAddress = src;
 * view.fillChecksum(src, dst);
 * view.verifyChecksum(src, dst); // true
 * ```
 */
export class Icmpv6View extends NdpMessageView {
  // type, code, checksum, identifier and sequence (echo request / reply),
  // check() and the payload range: IcmpHeaderView's (icmp_header.ts).
  /** packet too big: the next hop's MTU */
  get mtu(): number {
    return u32(this.bytes, this.at + 4); // ICMPV6_FIELD.MTU
  }
  set mtu(v: number) {
    put32(this.bytes, this.at + 4, v); // ICMPV6_FIELD.MTU
  }
  /** parameter problem: byte offset of the error in the quoted packet */
  get pointer(): number {
    return u32(this.bytes, this.at + 4); // ICMPV6_FIELD.POINTER
  }
  set pointer(v: number) {
    put32(this.bytes, this.at + 4, v); // ICMPV6_FIELD.POINTER
  }

  /** Bytes of the type's fixed part: 8, 16 (RA), 24 (NS, NA), 40 (redirect), or 4 for types not named here. */
  override get headerLength(): number {
    return fixedBytes(this.type);
  }
  /** Where the NDP options start in `bytes` (types 133-137): after the fixed part. */
  get optionsStart(): number {
    return this.at + fixedBytes(this.type);
  }
  /** Where the NDP options end: `end` for NDP types; `optionsStart` (none) for the others. */
  get optionsEnd(): number {
    return isNdp(this.type) ? this.end : this.optionsStart;
  }
  /** Whether `bytes[at, end)` sums right with the IPv6 pseudo-header of these addresses (RFC 8200 §8.1, RFC 4443 §2.3). */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const n = this.end - this.at;
    return foldSum(onesSum(this.bytes, this.at, this.end, pseudoHeaderSum(src, dst, IP_PROTOCOL_ICMPV6, n))) === 0xffff;
  }

  /** Compute and store the checksum over `bytes[at, end)` with the IPv6 pseudo-header of these addresses. */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    this.checksum = 0;
    const n = this.end - this.at;
    this.checksum = finishChecksum(onesSum(this.bytes, this.at, this.end, pseudoHeaderSum(src, dst, IP_PROTOCOL_ICMPV6, n)));
  }
}

/**
 * The view the decoder points at each message (reset per call: no view is
 * allocated). A quoted datagram may hold ICMPv6 again and reset it, so the
 * decoder reads every field before it nests.
 */
const DECODE_VIEW = new Icmpv6View(new Uint8Array(0));

/** How deep quotes are decoded: an error quoted inside an error is left raw. */
const MAX_QUOTE_DEPTH = 1;

/**
 * Decode an ICMPv6 message. Echo data goes on as `"payload"`; an error's quoted
 * packet is decoded into `quoted` through `state.nest("ipv6", …)`; NDP options
 * are read into `options`. A bad option is an Issue (the options before it are
 * kept).
 */
export const decodeIcmpv6: Decoder = (frame, state) => {
  const ip = state.ip;
  const base = state.offset;
  const end = state.end;
  if (ip !== null && ip.laterFragment) {
    return end === base ? null : "payload";
  }
  // The message is frame[base, end).
  const n = end - base;
  const shortKind: IssueKind = ip !== null && ip.complete ? "malformed" : "truncated";
  if (n < COMMON_BYTES) {
    state.issues.push({ layer: "icmpv6", kind: shortKind, reason: `header needs 4 bytes, have ${n}` });
    // Cut by the capture: the bytes there are stay as payload (a printer names the type, as tcpdump does).
    if (shortKind === "malformed") state.offset = end;
    return null;
  }
  const view = DECODE_VIEW.reset(frame, base, end);
  const type = view.type;
  const checksumStatus: ChecksumStatus =
    state.options.verifyChecksums === false
      ? "unverified"
      : checksumStatusAt(frame, base, end, ICMPV6_FIELD.CHECKSUM, IP_PROTOCOL_ICMPV6, ip, ip === null ? 0 : ip.upperLength);
  const icmp: Icmpv6 = {
    layer: "icmpv6",
    type,
    code: view.code,
    checksum: view.checksum,
    checksumValid: checksumValidOf(checksumStatus),
    checksumStatus,
  };
  state.layers.push(icmp);
  const need = fixedBytes(type); // view.headerLength, without reading the type again
  if (n < need) {
    state.issues.push({ layer: "icmpv6", kind: shortKind, reason: `type ${type} needs ${need} bytes, have ${n}` });
    state.offset = end;
    return null;
  }
  switch (type) {
    case ICMPV6_TYPE.ECHO_REQUEST:
    case ICMPV6_TYPE.ECHO_REPLY:
      icmp.identifier = view.identifier;
      icmp.sequence = view.sequence;
      break;
    case ICMPV6_TYPE.PACKET_TOO_BIG:
      icmp.mtu = view.mtu;
      break;
    case ICMPV6_TYPE.PARAMETER_PROBLEM:
      icmp.pointer = view.pointer;
      break;
    case ICMPV6_TYPE.ROUTER_ADVERTISEMENT:
      icmp.curHopLimit = view.curHopLimit;
      icmp.managed = view.managed;
      icmp.other = view.other;
      icmp.routerLifetime = view.routerLifetime;
      icmp.reachableTime = view.reachableTime;
      icmp.retransTimer = view.retransTimer;
      break;
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
      icmp.router = view.router;
      icmp.solicited = view.solicited;
      icmp.override = view.override;
      icmp.targetAddress = formatIpv6(frame, view.targetAddressOffset);
      break;
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
      icmp.targetAddress = formatIpv6(frame, view.targetAddressOffset);
      break;
    case ICMPV6_TYPE.REDIRECT:
      icmp.targetAddress = formatIpv6(frame, view.targetAddressOffset);
      icmp.destinationAddress = formatIpv6(frame, view.destinationAddressOffset);
      break;
  }
  if (isNdp(type)) {
    const options: NdpOption[] = [];
    icmp.options = options;
    // Offsets in the options' reasons count from the message: a view of it.
    const problem = parseNdpOptions(frame.subarray(base, end), need, n, options);
    if (problem !== null) {
      state.issues.push({ layer: "icmpv6", kind: problem.cut ? shortKind : "malformed", reason: problem.reason });
    }
    state.offset = end;
    return null;
  }
  const bodyStart = base + need; // view.payloadStart
  if (isIcmpv6Error(type) && end > bodyStart && state.depth < MAX_QUOTE_DEPTH) {
    // Everything needed is read: the nested decode may decode ICMPv6 again.
    icmp.quoted = state.nest("ipv6", view.payload);
    state.offset = end;
    return null;
  }
  state.offset = bodyStart;
  return end === bodyStart ? null : "payload";
};

/** Builds an ICMPv6 message: see {@link Icmpv6Input} for the defaults. */
export const icmpv6Codec: Codec<Icmpv6Input> = {
  headerLength(value) {
    const type = value.type ?? ICMPV6_TYPE.ECHO_REQUEST;
    return fixedBytes(type) + (isNdp(type) ? ndpOptionsLength(value.options ?? []) : 0);
  },
  write(value, out, ctx) {
    const view = new Icmpv6View(out);
    const type = value.type ?? ICMPV6_TYPE.ECHO_REQUEST;
    view.type = type;
    view.code = value.code ?? 0;
    // Checksum, flags and reserved bytes of the fixed part start as 0.
    out.fill(0, ICMPV6_FIELD.CHECKSUM, view.headerLength);
    switch (type) {
      case ICMPV6_TYPE.ECHO_REQUEST:
      case ICMPV6_TYPE.ECHO_REPLY:
        view.identifier = value.identifier ?? 0;
        view.sequence = value.sequence ?? 0;
        break;
      case ICMPV6_TYPE.PACKET_TOO_BIG:
        view.mtu = value.mtu ?? 0;
        break;
      case ICMPV6_TYPE.PARAMETER_PROBLEM:
        view.pointer = value.pointer ?? 0;
        break;
      case ICMPV6_TYPE.ROUTER_ADVERTISEMENT:
        view.curHopLimit = value.curHopLimit ?? 64;
        view.managed = value.managed === true;
        view.other = value.other === true;
        view.routerLifetime = value.routerLifetime ?? 1800;
        view.reachableTime = value.reachableTime ?? 0;
        view.retransTimer = value.retransTimer ?? 0;
        break;
      case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
        view.router = value.router === true;
        view.solicited = value.solicited === true;
        view.override = value.override === true;
        view.targetAddress = parseIpv6(value.targetAddress ?? "::");
        break;
      case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
        view.targetAddress = parseIpv6(value.targetAddress ?? "::");
        break;
      case ICMPV6_TYPE.REDIRECT:
        view.targetAddress = parseIpv6(value.targetAddress ?? "::");
        view.destinationAddress = parseIpv6(value.destinationAddress ?? "::");
        break;
    }
    if (isNdp(type)) writeNdpOptions(value.options ?? [], out, view.optionsStart);
    if (value.checksum !== undefined) view.checksum = value.checksum;
    else if (ctx.ip !== undefined) view.fillChecksum(ctx.ip.src, ctx.ip.dst);
  },
};

/** ICMPv6 in the registry. */
export const icmpv6Protocol: Protocol<"icmpv6", Icmpv6, Icmpv6Input> = {
  kind: "icmpv6",
  decode: decodeIcmpv6,
  codec: icmpv6Codec,
  claims: { ipProtocols: [IP_PROTOCOL_ICMPV6] },
  inputRules: {
    type: 0xff,
    code: 0xff,
    checksum: 0xffff,
    identifier: 0xffff,
    sequence: 0xffff,
    mtu: 0xffffffff,
    pointer: 0xffffffff,
    curHopLimit: 0xff,
    managed: "bool",
    other: "bool",
    routerLifetime: 0xffff,
    reachableTime: 0xffffffff,
    retransTimer: 0xffffffff,
    targetAddress: "ipv6",
    destinationAddress: "ipv6",
    router: "bool",
    solicited: "bool",
    override: "bool",
    options: {
      list: {
        kind: ["sourceLinkLayerAddress", "targetLinkLayerAddress", "prefixInformation", "redirectedHeader", "mtu", "rdnss", "unknown"],
        address: "text",
        prefixLength: 128,
        onLink: "bool",
        autonomous: "bool",
        validLifetime: 0xffffffff,
        preferredLifetime: 0xffffffff,
        prefix: "ipv6",
        data: "bytes",
        mtu: 0xffffffff,
        lifetime: 0xffffffff,
        servers: { each: "ipv6" },
        code: 0xff,
        length: 0xff,
      },
    },
  },
};
