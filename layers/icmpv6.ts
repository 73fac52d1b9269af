/**
 * ICMPv6 (RFC 4443) with Neighbor Discovery (RFC 4861) and the RDNSS option
 * (RFC 8106): the decoded value {@link Icmpv6}, {@link decodeIcmpv6},
 * {@link icmpv6Codec}, and the NDP option list ({@link NdpOption},
 * {@link parseNdpOptions}, {@link writeNdpOptions}).
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
import { checksumStatusAt, finishChecksum, onesSum, pseudoHeaderSum } from "./checksum.ts";
import { IP_PROTOCOL_ICMPV6 } from "./dispatch.ts";
import { formatHexColon, formatIpv6, formatMac, parseIpv6 } from "./addr.ts";

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

/** NDP option types (RFC 4861 §4.6, RFC 8106 §5.1). */
export const NDP_OPTION = {
  SOURCE_LINK_LAYER_ADDRESS: 1,
  TARGET_LINK_LAYER_ADDRESS: 2,
  PREFIX_INFORMATION: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
  RDNSS: 25,
} as const;

/** One NDP option as a plain value. Lengths on the wire are in units of 8 bytes. */
export type NdpOption =
  /**
   * Link-layer address: a MAC (`aa:bb:cc:dd:ee:ff`) when the option is 8 bytes,
   * else every byte of the option after its length, in colon hex.
   */
  | { kind: "sourceLinkLayerAddress"; address: string }
  | { kind: "targetLinkLayerAddress"; address: string }
  | {
      kind: "prefixInformation";
      prefixLength: number;
      /** L flag: the prefix is on-link */
      onLink: boolean;
      /** A flag: usable for stateless address autoconfiguration */
      autonomous: boolean;
      /** seconds; 0xffffffff is infinity */
      validLifetime: number;
      preferredLifetime: number;
      prefix: string;
    }
  /** the start of the redirected packet (after 6 reserved bytes), copied */
  | { kind: "redirectedHeader"; data: Uint8Array }
  | { kind: "mtu"; mtu: number }
  /** recursive DNS servers (RFC 8106): lifetime in seconds */
  | { kind: "rdnss"; lifetime: number; servers: string[] }
  /**
   * Any other option, or a known one whose length does not fit its format: the
   * bytes after the length byte, copied. `length` is only for crafting: the
   * length byte (in 8-byte units) to write instead of the one `data` needs.
   */
  | { kind: "unknown"; code: number; data: Uint8Array; length?: number };

/** Layers decoded from the packet an ICMPv6 error quotes, with their own issues. */
export interface Icmpv6Quote {
  layers: LayerBase[];
  issues: Issue[];
}

/**
 * A decoded ICMPv6 message. `type`, `code` and the checksum are always there;
 * the other fields appear for the types that carry them.
 */
export interface Icmpv6 extends LayerBase {
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
  /** router advertisement (RFC 4861 §4.2) */
  curHopLimit?: number;
  /** M flag: addresses via DHCPv6 */
  managed?: boolean;
  /** O flag: other configuration via DHCPv6 */
  other?: boolean;
  /** seconds */
  routerLifetime?: number;
  /** milliseconds */
  reachableTime?: number;
  /** milliseconds */
  retransTimer?: number;
  /** neighbor solicitation / advertisement, redirect */
  targetAddress?: string;
  /** redirect */
  destinationAddress?: string;
  /** neighbor advertisement flags (RFC 4861 §4.4) */
  router?: boolean;
  solicited?: boolean;
  override?: boolean;
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
export interface Icmpv6Input {
  layer: "icmpv6";
  type?: number;
  code?: number;
  checksum?: number;
  identifier?: number;
  sequence?: number;
  mtu?: number;
  pointer?: number;
  curHopLimit?: number;
  managed?: boolean;
  other?: boolean;
  routerLifetime?: number;
  reachableTime?: number;
  retransTimer?: number;
  targetAddress?: string;
  destinationAddress?: string;
  router?: boolean;
  solicited?: boolean;
  override?: boolean;
  options?: readonly NdpOption[];
}

/** Whether a type is an error message that quotes a packet (RFC 4443 §2.1: types below 128). */
export function isIcmpv6Error(type: number): boolean {
  return type >= ICMPV6_TYPE.DESTINATION_UNREACHABLE && type <= ICMPV6_TYPE.PARAMETER_PROBLEM;
}

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

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function putU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** A problem {@link parseNdpOptions} met: `cut` when an option runs past the bytes. */
export interface NdpOptionProblem {
  reason: string;
  cut: boolean;
}

/**
 * Parse the NDP options in `b[start, end)` and append them to `out`. Returns
 * null, or the first problem. A length of 0 (RFC 4861 §4.6: the packet must
 * be discarded), a missing length byte or an option past `end` stops the walk,
 * keeping the options before it; a known type with a length that does not fit
 * its format is kept as `unknown` and the walk goes on.
 */
export function parseNdpOptions(b: Uint8Array, start: number, end: number, out: NdpOption[]): NdpOptionProblem | null {
  let problem: NdpOptionProblem | null = null;
  let i = start;
  while (i < end) {
    const code = b[i]!;
    if (i + 1 >= end) return problem ?? { reason: `option type ${code} at offset ${i} has no length byte`, cut: true };
    const units = b[i + 1]!;
    if (units === 0) return problem ?? { reason: `option type ${code} has length 0`, cut: false };
    const length = units * 8;
    if (i + length > end) {
      return problem ?? { reason: `option type ${code} length ${length} exceeds the ${end - i} bytes left`, cut: true };
    }
    const option = readOption(b, i, code, units);
    if (option === null) {
      problem ??= { reason: `option type ${code} has length ${units}`, cut: false };
      out.push({ kind: "unknown", code, data: b.slice(i + 2, i + length) });
    } else {
      out.push(option);
    }
    i += length;
  }
  return problem;
}

/** One known option at `b[i]` with `units * 8` bytes available, or null when its length does not fit. */
function readOption(b: Uint8Array, i: number, code: number, units: number): NdpOption | null {
  const length = units * 8;
  switch (code) {
    case NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS:
    case NDP_OPTION.TARGET_LINK_LAYER_ADDRESS: {
      // An 8-byte option holds an Ethernet MAC; longer ones other link types' addresses.
      const address = units === 1 ? formatMac(b, i + 2) : formatHexColon(b, i + 2, length - 2);
      return code === NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS
        ? { kind: "sourceLinkLayerAddress", address }
        : { kind: "targetLinkLayerAddress", address };
    }
    case NDP_OPTION.PREFIX_INFORMATION:
      if (units !== 4) return null;
      return {
        kind: "prefixInformation",
        prefixLength: b[i + 2]!,
        onLink: (b[i + 3]! & 0x80) !== 0,
        autonomous: (b[i + 3]! & 0x40) !== 0,
        validLifetime: u32(b, i + 4),
        preferredLifetime: u32(b, i + 8),
        prefix: formatIpv6(b, i + 16),
      };
    case NDP_OPTION.REDIRECTED_HEADER:
      return { kind: "redirectedHeader", data: b.slice(i + 8, i + length) };
    case NDP_OPTION.MTU:
      if (units !== 1) return null;
      return { kind: "mtu", mtu: u32(b, i + 4) };
    case NDP_OPTION.RDNSS: {
      // RFC 8106 §5.1: 3 + 2n units for n >= 1 addresses.
      if (units < 3 || units % 2 === 0) return null;
      const servers: string[] = [];
      for (let j = i + 8; j < i + length; j += 16) servers.push(formatIpv6(b, j));
      return { kind: "rdnss", lifetime: u32(b, i + 4), servers };
    }
    default:
      return { kind: "unknown", code, data: b.slice(i + 2, i + length) };
  }
}

/** Bytes of a colon-hex link-layer address ("02:77:00:00:00:01"); throws RangeError on bad text. */
function parseHexColon(text: string): Uint8Array {
  const parts = text.split(":");
  const out = new Uint8Array(parts.length);
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (!/^[0-9a-fA-F]{2}$/.test(p)) throw new RangeError(`Invalid link-layer address: "${text}"`);
    out[k] = parseInt(p, 16);
  }
  return out;
}

/** Bytes an option takes on the wire (a multiple of 8). */
function optionBytes(o: NdpOption): number {
  switch (o.kind) {
    case "sourceLinkLayerAddress":
    case "targetLinkLayerAddress":
      return (2 + parseHexColon(o.address).length + 7) & ~7;
    case "prefixInformation":
      return 32;
    case "redirectedHeader":
      return (8 + o.data.length + 7) & ~7;
    case "mtu":
      return 8;
    case "rdnss":
      return 8 + 16 * o.servers.length;
    case "unknown":
      return (2 + o.data.length + 7) & ~7;
  }
}

/** Bytes the options take on the wire. */
export function ndpOptionsLength(options: readonly NdpOption[]): number {
  let n = 0;
  for (const o of options) n += optionBytes(o);
  return n;
}

/** Write `options` at `out[offset]`, zero-padded to 8-byte units; returns the offset after them. */
export function writeNdpOptions(options: readonly NdpOption[], out: Uint8Array, offset: number): number {
  let i = offset;
  for (const o of options) {
    const length = optionBytes(o);
    out.fill(0, i, i + length);
    out[i + 1] = length / 8;
    switch (o.kind) {
      case "sourceLinkLayerAddress":
      case "targetLinkLayerAddress":
        out[i] = o.kind === "sourceLinkLayerAddress" ? NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS : NDP_OPTION.TARGET_LINK_LAYER_ADDRESS;
        out.set(parseHexColon(o.address), i + 2);
        break;
      case "prefixInformation":
        out[i] = NDP_OPTION.PREFIX_INFORMATION;
        out[i + 2] = o.prefixLength;
        out[i + 3] = (o.onLink ? 0x80 : 0) | (o.autonomous ? 0x40 : 0);
        putU32(out, i + 4, o.validLifetime);
        putU32(out, i + 8, o.preferredLifetime);
        out.set(parseIpv6(o.prefix), i + 16);
        break;
      case "redirectedHeader":
        out[i] = NDP_OPTION.REDIRECTED_HEADER;
        out.set(o.data, i + 8);
        break;
      case "mtu":
        out[i] = NDP_OPTION.MTU;
        putU32(out, i + 4, o.mtu);
        break;
      case "rdnss":
        out[i] = NDP_OPTION.RDNSS;
        putU32(out, i + 4, o.lifetime);
        for (let k = 0; k < o.servers.length; k++) out.set(parseIpv6(o.servers[k]!), i + 8 + 16 * k);
        break;
      case "unknown":
        out[i] = o.code;
        if (o.length !== undefined) out[i + 1] = o.length;
        out.set(o.data, i + 2);
        break;
    }
    i += length;
  }
  return i;
}

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
  // The message is frame[base, end): offsets below are from base.
  const n = end - base;
  const shortKind: IssueKind = ip !== null && ip.complete ? "malformed" : "truncated";
  if (n < 4) {
    state.issues.push({ layer: "icmpv6", kind: shortKind, reason: `header needs 4 bytes, have ${n}` });
    state.offset = end;
    return null;
  }
  const type = frame[base]!;
  const code = frame[base + 1]!;
  const checksumStatus: ChecksumStatus =
    state.options.verifyChecksums === false
      ? "unverified"
      : checksumStatusAt(frame, base, end, 2, IP_PROTOCOL_ICMPV6, ip, ip === null ? 0 : ip.upperLength);
  const icmp: Icmpv6 = {
    layer: "icmpv6",
    type,
    code,
    checksum: (frame[base + 2]! << 8) | frame[base + 3]!,
    checksumValid: checksumValidOf(checksumStatus),
    checksumStatus,
  };
  state.layers.push(icmp);
  const need = fixedBytes(type);
  if (n < need) {
    state.issues.push({ layer: "icmpv6", kind: shortKind, reason: `type ${type} needs ${need} bytes, have ${n}` });
    state.offset = end;
    return null;
  }
  switch (type) {
    case ICMPV6_TYPE.ECHO_REQUEST:
    case ICMPV6_TYPE.ECHO_REPLY:
      icmp.identifier = (frame[base + 4]! << 8) | frame[base + 5]!;
      icmp.sequence = (frame[base + 6]! << 8) | frame[base + 7]!;
      break;
    case ICMPV6_TYPE.PACKET_TOO_BIG:
      icmp.mtu = u32(frame, base + 4);
      break;
    case ICMPV6_TYPE.PARAMETER_PROBLEM:
      icmp.pointer = u32(frame, base + 4);
      break;
    case ICMPV6_TYPE.ROUTER_ADVERTISEMENT:
      icmp.curHopLimit = frame[base + 4]!;
      icmp.managed = (frame[base + 5]! & 0x80) !== 0;
      icmp.other = (frame[base + 5]! & 0x40) !== 0;
      icmp.routerLifetime = (frame[base + 6]! << 8) | frame[base + 7]!;
      icmp.reachableTime = u32(frame, base + 8);
      icmp.retransTimer = u32(frame, base + 12);
      break;
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
      icmp.router = (frame[base + 4]! & 0x80) !== 0;
      icmp.solicited = (frame[base + 4]! & 0x40) !== 0;
      icmp.override = (frame[base + 4]! & 0x20) !== 0;
      icmp.targetAddress = formatIpv6(frame, base + 8);
      break;
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
      icmp.targetAddress = formatIpv6(frame, base + 8);
      break;
    case ICMPV6_TYPE.REDIRECT:
      icmp.targetAddress = formatIpv6(frame, base + 8);
      icmp.destinationAddress = formatIpv6(frame, base + 24);
      break;
  }
  const bodyStart = base + need;
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
  if (isIcmpv6Error(type) && end > bodyStart && state.depth < MAX_QUOTE_DEPTH) {
    icmp.quoted = state.nest("ipv6", frame.subarray(bodyStart, end));
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
    const type = value.type ?? ICMPV6_TYPE.ECHO_REQUEST;
    const fixed = fixedBytes(type);
    out[0] = type;
    out[1] = value.code ?? 0;
    out.fill(0, 2, fixed);
    switch (type) {
      case ICMPV6_TYPE.ECHO_REQUEST:
      case ICMPV6_TYPE.ECHO_REPLY: {
        const id = value.identifier ?? 0;
        const seq = value.sequence ?? 0;
        out[4] = id >>> 8;
        out[5] = id;
        out[6] = seq >>> 8;
        out[7] = seq;
        break;
      }
      case ICMPV6_TYPE.PACKET_TOO_BIG:
        putU32(out, 4, value.mtu ?? 0);
        break;
      case ICMPV6_TYPE.PARAMETER_PROBLEM:
        putU32(out, 4, value.pointer ?? 0);
        break;
      case ICMPV6_TYPE.ROUTER_ADVERTISEMENT: {
        out[4] = value.curHopLimit ?? 64;
        out[5] = (value.managed === true ? 0x80 : 0) | (value.other === true ? 0x40 : 0);
        const lifetime = value.routerLifetime ?? 1800;
        out[6] = lifetime >>> 8;
        out[7] = lifetime;
        putU32(out, 8, value.reachableTime ?? 0);
        putU32(out, 12, value.retransTimer ?? 0);
        break;
      }
      case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
        out[4] = (value.router === true ? 0x80 : 0) | (value.solicited === true ? 0x40 : 0) | (value.override === true ? 0x20 : 0);
        out.set(parseIpv6(value.targetAddress ?? "::"), 8);
        break;
      case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
        out.set(parseIpv6(value.targetAddress ?? "::"), 8);
        break;
      case ICMPV6_TYPE.REDIRECT:
        out.set(parseIpv6(value.targetAddress ?? "::"), 8);
        out.set(parseIpv6(value.destinationAddress ?? "::"), 24);
        break;
    }
    if (isNdp(type)) writeNdpOptions(value.options ?? [], out, fixed);
    let checksum = value.checksum;
    if (checksum === undefined) {
      checksum = ctx.ip === undefined
        ? 0
        : finishChecksum(onesSum(out, 0, out.length, pseudoHeaderSum(ctx.ip.src, ctx.ip.dst, IP_PROTOCOL_ICMPV6, out.length)));
    }
    out[2] = checksum >>> 8;
    out[3] = checksum;
  },
};

/** ICMPv6 in the registry. */
export const icmpv6Protocol: Protocol<"icmpv6", Icmpv6, Icmpv6Input> = {
  kind: "icmpv6",
  decode: decodeIcmpv6,
  codec: icmpv6Codec,
  claims: { ipProtocols: [IP_PROTOCOL_ICMPV6] },
};
