/**
 * Neighbor Discovery (RFC 4861 §4) inside ICMPv6 types 133-137 (router
 * solicitation and advertisement, neighbor solicitation and advertisement,
 * redirect): the fields of those message bodies ({@link NDP_FIELD},
 * {@link NdpFields}, and {@link NdpMessageView}, which `Icmpv6View` in
 * `icmpv6.ts` extends), and the option list that follows them
 * ({@link NdpOption}, {@link parseNdpOptions}, {@link writeNdpOptions}; RDNSS
 * from RFC 8106 §5.1). Kept apart from `icmpv6.ts` so each file stays one
 * readable size, as smoltcp keeps its NDISC accessors in `ndisc.rs`; this
 * module imports nothing of ICMPv6's.
 *
 * Each option is `type`, `length` (in units of 8 bytes, the type and length
 * bytes included), then its data; the walk over them is the option format
 * itself, so it reads the bytes directly rather than through a header view.
 *
 * @example
 * ```ts
 * import { parseNdpOptions, type NdpOption } from "./ndp.ts";
 * const out: NdpOption[] = [];
 * parseNdpOptions(Uint8Array.of(1, 1, 0x02, 0x77, 0, 0, 0, 1), 0, 8, out); // null
 * out; // [{ kind: "sourceLinkLayerAddress", address: "02:77:00:00:00:01" }]
 * ```
 *
 * @module
 */
import { formatHexColon, formatIpv6, formatMac, parseIpv6 } from "./addr.ts";
import { put16, put32, u16, u32 } from "./bytes.ts";
import { IcmpHeaderView } from "./icmp_header.ts";

/**
 * Byte offsets of the NDP message fields (RFC 4861 §4.2-4.5) from the ICMPv6
 * message's start (its type byte); `ICMPV6_FIELD` includes them.
 */
export const NDP_FIELD = {
  /** router advertisement (§4.2): hop limit, M/O flags, lifetime (s), reachable time and retrans timer (ms) */
  CUR_HOP_LIMIT: 4,
  RA_FLAGS: 5,
  ROUTER_LIFETIME: 6,
  REACHABLE_TIME: 8,
  RETRANS_TIMER: 12,
  /** neighbor advertisement (§4.4): R/S/O flags */
  NA_FLAGS: 4,
  /** neighbor solicitation / advertisement, redirect (§4.3-4.5): 16 bytes */
  TARGET_ADDRESS: 8,
  /** redirect (§4.5): 16 bytes */
  DESTINATION_ADDRESS: 24,
} as const;

/** Flag bits: `MANAGED` and `OTHER` in {@link NDP_FIELD}.RA_FLAGS (§4.2), the others in NA_FLAGS (§4.4). */
export const NDP_FLAG = {
  MANAGED: 0x80,
  OTHER: 0x40,
  ROUTER: 0x80,
  SOLICITED: 0x40,
  OVERRIDE: 0x20,
} as const;

/** The NDP message fields of a decoded (or to be built) ICMPv6 message; each appears for the types that carry it. */
export interface NdpFields {
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
}

/**
 * The NDP body fields over an ICMPv6 message's bytes (the message starts at
 * `at`, ends at `end`): the part of `Icmpv6View` that RFC 4861 defines. Use
 * `Icmpv6View`, which adds the ICMPv6 header, `check()`, the option and
 * payload ranges and the checksum. Which getters mean anything depends on the
 * type; flag setters change only their own bit. The accessors spell
 * {@link NDP_FIELD}'s offsets and {@link NDP_FLAG}'s bits as literals, each
 * named in a comment, so V8 always inlines them (see `TcpView`).
 *
 * @example
 * ```ts
 * import { Icmpv6View } from "./icmpv6.ts";
 * const view = new Icmpv6View(message); // a router advertisement
 * if (view.check() === null) console.log(view.curHopLimit, view.managed, view.routerLifetime);
 * ```
 */
export class NdpMessageView extends IcmpHeaderView {
  /** router advertisement: the hop limit hosts should use */
  get curHopLimit(): number {
    return this.bytes[this.at + 4]!; // NDP_FIELD.CUR_HOP_LIMIT
  }
  set curHopLimit(v: number) {
    this.bytes[this.at + 4] = v; // NDP_FIELD.CUR_HOP_LIMIT
  }
  /** M flag: addresses via DHCPv6 */
  get managed(): boolean {
    return (this.bytes[this.at + 5]! & 0x80) !== 0; // NDP_FIELD.RA_FLAGS, NDP_FLAG.MANAGED
  }
  set managed(v: boolean) {
    this.#setBit(this.at + 5, 0x80, v); // NDP_FIELD.RA_FLAGS, NDP_FLAG.MANAGED
  }
  /** O flag: other configuration via DHCPv6 */
  get other(): boolean {
    return (this.bytes[this.at + 5]! & 0x40) !== 0; // NDP_FIELD.RA_FLAGS, NDP_FLAG.OTHER
  }
  set other(v: boolean) {
    this.#setBit(this.at + 5, 0x40, v); // NDP_FIELD.RA_FLAGS, NDP_FLAG.OTHER
  }
  /** router advertisement: seconds as a default router, 0 for none */
  get routerLifetime(): number {
    return u16(this.bytes, this.at + 6); // NDP_FIELD.ROUTER_LIFETIME
  }
  set routerLifetime(v: number) {
    put16(this.bytes, this.at + 6, v); // NDP_FIELD.ROUTER_LIFETIME
  }
  /** router advertisement: milliseconds, 0 for unspecified */
  get reachableTime(): number {
    return u32(this.bytes, this.at + 8); // NDP_FIELD.REACHABLE_TIME
  }
  set reachableTime(v: number) {
    put32(this.bytes, this.at + 8, v); // NDP_FIELD.REACHABLE_TIME
  }
  /** router advertisement: milliseconds between solicitations, 0 for unspecified */
  get retransTimer(): number {
    return u32(this.bytes, this.at + 12); // NDP_FIELD.RETRANS_TIMER
  }
  set retransTimer(v: number) {
    put32(this.bytes, this.at + 12, v); // NDP_FIELD.RETRANS_TIMER
  }
  /** R flag: the sender is a router */
  get router(): boolean {
    return (this.bytes[this.at + 4]! & 0x80) !== 0; // NDP_FIELD.NA_FLAGS, NDP_FLAG.ROUTER
  }
  set router(v: boolean) {
    this.#setBit(this.at + 4, 0x80, v); // NDP_FIELD.NA_FLAGS, NDP_FLAG.ROUTER
  }
  /** S flag: sent in response to a solicitation */
  get solicited(): boolean {
    return (this.bytes[this.at + 4]! & 0x40) !== 0; // NDP_FIELD.NA_FLAGS, NDP_FLAG.SOLICITED
  }
  set solicited(v: boolean) {
    this.#setBit(this.at + 4, 0x40, v); // NDP_FIELD.NA_FLAGS, NDP_FLAG.SOLICITED
  }
  /** O flag: override a cached link-layer address */
  get override(): boolean {
    return (this.bytes[this.at + 4]! & 0x20) !== 0; // NDP_FIELD.NA_FLAGS, NDP_FLAG.OVERRIDE
  }
  set override(v: boolean) {
    this.#setBit(this.at + 4, 0x20, v); // NDP_FIELD.NA_FLAGS, NDP_FLAG.OVERRIDE
  }
  /** neighbor solicitation / advertisement, redirect: the 16 address bytes (a subarray); the setter copies 16 bytes in */
  get targetAddress(): Uint8Array {
    const i = this.at + 8; // NDP_FIELD.TARGET_ADDRESS
    return this.bytes.subarray(i, i + 16);
  }
  set targetAddress(v: Uint8Array) {
    this.bytes.set(v.subarray(0, 16), this.at + 8); // NDP_FIELD.TARGET_ADDRESS
  }
  /** where the target address starts in `bytes` */
  get targetAddressOffset(): number {
    return this.at + 8; // NDP_FIELD.TARGET_ADDRESS
  }
  /** redirect: the 16 address bytes (a subarray); the setter copies 16 bytes in */
  get destinationAddress(): Uint8Array {
    const i = this.at + 24; // NDP_FIELD.DESTINATION_ADDRESS
    return this.bytes.subarray(i, i + 16);
  }
  set destinationAddress(v: Uint8Array) {
    this.bytes.set(v.subarray(0, 16), this.at + 24); // NDP_FIELD.DESTINATION_ADDRESS
  }
  /** where the destination address starts in `bytes` */
  get destinationAddressOffset(): number {
    return this.at + 24; // NDP_FIELD.DESTINATION_ADDRESS
  }

  /** Set or clear the bits of `mask` in `bytes[i]`, leaving the others. */
  #setBit(i: number, mask: number, on: boolean): void {
    this.bytes[i] = on ? this.bytes[i]! | mask : this.bytes[i]! & ~mask;
  }
}

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
        put32(out, i + 4, o.validLifetime);
        put32(out, i + 8, o.preferredLifetime);
        out.set(parseIpv6(o.prefix), i + 16);
        break;
      case "redirectedHeader":
        out[i] = NDP_OPTION.REDIRECTED_HEADER;
        out.set(o.data, i + 8);
        break;
      case "mtu":
        out[i] = NDP_OPTION.MTU;
        put32(out, i + 4, o.mtu);
        break;
      case "rdnss":
        out[i] = NDP_OPTION.RDNSS;
        put32(out, i + 4, o.lifetime);
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
