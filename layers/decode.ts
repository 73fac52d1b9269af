/**
 * The decode pipeline: bytes of one frame → a list of plain layer values,
 * outermost first, plus the issues met on the way.
 *
 * `DECODERS` maps each layer name to its module's decoder; a layer without an
 * entry (or a decoder that returns null) ends the walk, and the bytes left
 * over become one `payload` layer (a view, not a copy). Decoders get the whole
 * frame and the current layer's range in `state.offset`/`state.end`, so the
 * walk makes no view per layer: the `payload` view is the only one. The walk
 * is bounded (`MAX_LAYERS`), and datagrams quoted in ICMP errors are decoded
 * one level deep through `state.nest`, never deeper.
 *
 * When the caller passes the frame's original length and it equals the
 * captured length, the frame was not cut by the capture, so any "truncated"
 * issue really means a length field that lies: it is reported as "malformed".
 *
 * @example
 * ```ts
 * import { PacketDecoder } from "./decode.ts";
 * const decoder = new PacketDecoder();
 * for (const frame of frames) {
 *   const { layers, issues } = decoder.decode(frame.data, frame.linkType, frame.length);
 * }
 * ```
 *
 * @module
 */
import { decodeArp } from "./arp.ts";
import { IpHeaderContext } from "./checksum.ts";
import type { DecodeOptions, DecodeState, Decoder, Issue, IpContext, Kind, LayerBase, Payload } from "./core.ts";
import { decodeDhcp } from "./dhcp.ts";
import { decodeDns } from "./dns.ts";
import { decodeEthernet, decodeLlc } from "./ethernet.ts";
import { decodeIcmp } from "./icmp.ts";
import { decodeIcmpv6 } from "./icmpv6.ts";
import { decodeIpv4 } from "./ipv4.ts";
import { decodeIpv6 } from "./ipv6.ts";
import { firstKind } from "./link_type.ts";
import { decodeLoopback } from "./loopback.ts";
import type { AnyLayer } from "./mod.ts";
import { decodeSll } from "./sll.ts";
import { decodeSll2 } from "./sll2.ts";
import { decodeTcp } from "./tcp.ts";
import { decodeHttp } from "./http.ts";
import { decodeTftp } from "./tftp.ts";
import { decodeUdp } from "./udp.ts";
import { decodeVlan } from "./vlan.ts";

/** Layer name → decoder. One line per protocol module. */
export const DECODERS: { readonly [K in Kind]?: Decoder } = {
  ethernet: decodeEthernet,
  llc: decodeLlc,
  vlan: decodeVlan,
  sll: decodeSll,
  sll2: decodeSll2,
  loopback: decodeLoopback,
  arp: decodeArp,
  ipv4: decodeIpv4,
  ipv6: decodeIpv6,
  icmp: decodeIcmp,
  icmpv6: decodeIcmpv6,
  udp: decodeUdp,
  tcp: decodeTcp,
  dns: decodeDns,
  dhcp: decodeDhcp,
  tftp: decodeTftp,
  http: decodeHttp,
};

/** The result of decoding one frame. */
export interface DecodedPacket {
  layers: AnyLayer[];
  issues: Issue[];
}

/** Options of {@link decodePacket}: the decode options plus the frame's original length. */
export interface PacketDecodeOptions extends DecodeOptions {
  /**
   * Original length on the wire (pcap `orig_len`). When it equals the captured
   * length, missing bytes are the sender's fault: "truncated" becomes "malformed".
   */
  length?: number;
}

/** No frame decodes to more layers than this (IP-in-IP chains, VLAN stacks): a bound on the walk. */
export const MAX_LAYERS = 32;
/** Quoted datagrams nest at most this deep (an ICMP error inside an ICMP error is not decoded). */
export const MAX_NEST_DEPTH = 1;

const EMPTY = new Uint8Array(0);
/** What a state's lists hold between decodes: frozen, so a stray push throws rather than leaks. */
const RETIRED: never[] = Object.freeze([]) as never[];

class State implements DecodeState {
  layers: LayerBase[] = [];
  issues: Issue[] = [];
  offset = 0;
  end = 0;
  ip: IpContext | null = null;
  readonly spareIp = new IpHeaderContext(4, EMPTY, 0, 0, false, false);
  depth: number;
  options: DecodeOptions;

  constructor(options: DecodeOptions, depth: number) {
    this.options = options;
    this.depth = depth;
  }

  nest(kind: Kind, bytes: Uint8Array): { layers: LayerBase[]; issues: Issue[] } {
    if (this.depth >= MAX_NEST_DEPTH) {
      const payload: Payload = { layer: "payload", data: bytes };
      return { layers: [payload], issues: [] };
    }
    const inner = new State(this.options, this.depth + 1);
    run(kind, bytes, inner);
    return { layers: inner.layers, issues: inner.issues };
  }
}

/** Walk from `kind` over all of `bytes`, appending to `s.layers` and `s.issues`. */
function run(kind: Kind | null, bytes: Uint8Array, s: State): void {
  const userMax = s.options.maxLayers;
  s.offset = 0;
  s.end = bytes.length;
  while (kind !== null) {
    const decoder = DECODERS[kind];
    if (decoder === undefined) break;
    // The caller asked for the first `maxLayers` layers only: stop, no payload.
    if (userMax !== undefined && s.layers.length >= userMax) return;
    if (s.layers.length >= MAX_LAYERS) {
      s.issues.push({ layer: kind, kind: "malformed", reason: `more than ${MAX_LAYERS} layers` });
      break;
    }
    kind = decoder(bytes, s);
  }
  const { offset, end } = s;
  if (end > offset && (userMax === undefined || s.layers.length < userMax)) {
    const payload: Payload = { layer: "payload", data: bytes.subarray(offset, end) };
    s.layers.push(payload);
  }
}

function finish(s: State, captured: number, length: number | undefined): DecodedPacket {
  if (length !== undefined && length <= captured) {
    // The whole frame was captured: running out of bytes is the sender's doing.
    for (const issue of s.issues) if (issue.kind === "truncated") issue.kind = "malformed";
  }
  return { layers: s.layers as AnyLayer[], issues: s.issues };
}

/**
 * Decode many frames with one reused state: the hot path. Each call returns
 * fresh `layers`/`issues` arrays the caller may keep.
 */
export class PacketDecoder {
  readonly #state: State;

  constructor(options: DecodeOptions = {}) {
    this.#state = new State(options, 0);
  }

  /** Decode a frame of link type `linkType` (LINKTYPE_*); `length` is its original length when known. */
  decode(data: Uint8Array, linkType: number, length?: number): DecodedPacket {
    return this.decodeAs(firstKind(linkType, data), data, length);
  }

  /** Decode `bytes` starting at layer `kind` (null: all payload). */
  decodeAs(kind: Kind | null, bytes: Uint8Array, length?: number): DecodedPacket {
    const s = this.#state;
    s.layers = [];
    s.issues = [];
    s.ip = null;
    run(kind, bytes, s);
    const result = finish(s, bytes.length, length);
    // Drop every reference to this packet (its arrays are the caller's now, and
    // the frame may be a view of a large capture buffer) without allocating:
    // the next call starts with fresh arrays anyway.
    s.layers = RETIRED;
    s.issues = RETIRED;
    s.ip = null;
    s.spareIp.bytes = EMPTY;
    s.offset = 0;
    s.end = 0;
    return result;
  }
}

/**
 * Decode one frame. Never throws on bad bytes: problems are in `issues`.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * const { layers, issues } = decodePacket(frame.data, frame.linkType, { length: frame.length });
 * ```
 */
export function decodePacket(data: Uint8Array, linkType: number, options: PacketDecodeOptions = {}): DecodedPacket {
  return new PacketDecoder(options).decode(data, linkType, options.length);
}

/**
 * Decode `bytes` as layer `kind` and what it contains (e.g. `decodeAs("ipv4", datagram)`).
 *
 * @example
 * ```ts
 * import { decodeAs } from "./decode.ts";
 * decodeAs("ipv6", bytes).layers[0]; // { layer: "ipv6", ... }
 * ```
 */
export function decodeAs(kind: Kind, bytes: Uint8Array, options: PacketDecodeOptions = {}): DecodedPacket {
  return new PacketDecoder(options).decodeAs(kind, bytes, options.length);
}
