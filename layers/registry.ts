/**
 * The one registry of protocols: every protocol module exports one descriptor
 * ({@link Protocol}: its name, decoder, codec, the wire values it claims and,
 * for application layers, its one-line summary), and this module lists them
 * in {@link PROTOCOLS}. Everything else is assembled from that list: the
 * {@link Kind} union, {@link AnyLayer} and {@link AnyInput}, the decoder and
 * codec tables, the dispatch tables (ethertype, IP protocol, port, address
 * family, link type → layer, and back) and the pools of the zero-copy read.
 *
 * Adding a protocol: write its module (view, value, decoder, codec,
 * descriptor) and add its descriptor to {@link PROTOCOLS}. The checklist is in
 * docs/architecture.md.
 *
 * Protocol modules never import this one (it imports them): decoders receive
 * the tables as `state.dispatch`, codecs as `ctx.dispatch`.
 *
 * @example
 * ```ts
 * import { DISPATCH, protocolOf } from "./registry.ts";
 * DISPATCH.ethertype(0x86dd); // "ipv6"
 * protocolOf("udp")?.claims?.ipProtocols; // [17]
 * ```
 *
 * @module
 */
import type { Codec, Decoder, Dispatch, FieldRules, LayerBase, LayerName, LayerPool, Protocol } from "./core.ts";
import { DenseKindTable, isRawIpLinkType } from "./dispatch.ts";
import { compileRules, type Compiled } from "./input_check.ts";
import { arpProtocol } from "./arp.ts";
import { dhcpProtocol } from "./dhcp.ts";
import { dnsProtocol } from "./dns.ts";
import { ethernetProtocol } from "./ethernet.ts";
import { httpProtocol } from "./http.ts";
import { icmpProtocol } from "./icmp.ts";
import { icmpv6Protocol } from "./icmpv6.ts";
import { ipv4Protocol } from "./ipv4.ts";
import { ipv6Protocol } from "./ipv6.ts";
import { llcProtocol } from "./llc.ts";
import { loopbackProtocol } from "./loopback.ts";
import { payloadProtocol } from "./payload.ts";
import { sllProtocol } from "./sll.ts";
import { sll2Protocol } from "./sll2.ts";
import { tcpProtocol } from "./tcp.ts";
import { tftpProtocol } from "./tftp.ts";
import { udpProtocol } from "./udp.ts";
import { vlanProtocol } from "./vlan.ts";

/** Every protocol the package knows, one line each. */
export const PROTOCOLS = [
  ethernetProtocol,
  llcProtocol,
  vlanProtocol,
  sllProtocol,
  sll2Protocol,
  loopbackProtocol,
  arpProtocol,
  ipv4Protocol,
  ipv6Protocol,
  icmpProtocol,
  icmpv6Protocol,
  udpProtocol,
  tcpProtocol,
  dnsProtocol,
  dhcpProtocol,
  tftpProtocol,
  httpProtocol,
  payloadProtocol,
] as const;

/** One of the descriptors in {@link PROTOCOLS}. */
export type AnyProtocol = (typeof PROTOCOLS)[number];

/** Every layer name that can appear in a decoded packet or a build list. */
export type Kind = AnyProtocol["kind"];

type ValueOf<P> = P extends Protocol<LayerName, infer V, infer _I> ? V : never;
type InputOf<P> = P extends Protocol<LayerName, infer _V, infer I> ? I : never;

/** Every decoded layer value. */
export type AnyLayer = ValueOf<AnyProtocol>;

/** Every build input. */
export type AnyInput = InputOf<AnyProtocol>;

const BY_KIND = new Map<string, AnyProtocol>(PROTOCOLS.map((p) => [p.kind, p]));

/** The descriptor of a layer name, or undefined for a name no protocol has. */
export function protocolOf(kind: string): AnyProtocol | undefined {
  return BY_KIND.get(kind);
}

/**
 * The one-line summary of an application layer (DNS, DHCP, TFTP, HTTP) that
 * its descriptor gives, or null when it has none.
 */
export function summaryOf(layer: LayerBase): string | null {
  const summary = (BY_KIND.get(layer.layer) as Protocol | undefined)?.summary;
  return summary === undefined ? null : summary(layer);
}

/** Layer name → decoder, for every protocol that has one. */
export const DECODERS: { readonly [K in Kind]?: Decoder } = Object.fromEntries(
  PROTOCOLS.filter((p) => (p as Protocol).decode !== undefined).map((p) => [p.kind, (p as Protocol).decode]),
);

type CodecTable = { readonly [K in Kind]: Codec<Extract<AnyInput, { layer: K }>> };

/** Layer name → codec. */
export const CODECS: CodecTable = Object.fromEntries(PROTOCOLS.map((p) => [p.kind, p.codec])) as unknown as CodecTable;

/** Layer name → the rules its build input's fields follow (`Protocol.inputRules`). */
export const INPUT_RULES: { readonly [K in Kind]?: FieldRules } = Object.fromEntries(
  PROTOCOLS.filter((p) => (p as Protocol).inputRules !== undefined).map((p) => [p.kind, (p as Protocol).inputRules]),
);

/** {@link INPUT_RULES} compiled once for the builder's per-packet check. */
export const INPUT_CHECKS: { readonly [name: string]: Compiled | undefined } = Object.fromEntries(
  Object.entries(INPUT_RULES).map(([kind, rules]) => [kind, compileRules(rules as FieldRules)]),
);

type ClaimList = "linkTypes" | "ethertypes" | "ipProtocols" | "udpPorts" | "tcpPorts" | "addressFamilies";

/** value → layer for one kind of claim, in the order of {@link PROTOCOLS}; a value claimed twice keeps its first claimant. */
function forward(list: ClaimList): ReadonlyMap<number, Kind> {
  const map = new Map<number, Kind>();
  for (const p of PROTOCOLS) {
    for (const value of (p as Protocol).claims?.[list] ?? []) if (!map.has(value)) map.set(value, p.kind);
  }
  return map;
}

/** layer → the first value it claims, for builders. */
function reverse(list: ClaimList): ReadonlyMap<Kind, number> {
  const map = new Map<Kind, number>();
  for (const p of PROTOCOLS) {
    const first = (p as Protocol).claims?.[list]?.[0];
    if (first !== undefined) map.set(p.kind, first);
  }
  return map;
}

/** Ethertype → next layer. */
export const ETHERTYPE: ReadonlyMap<number, Kind> = forward("ethertypes");
/** IP protocol / IPv6 next header → next layer. */
export const IP_PROTOCOL: ReadonlyMap<number, Kind> = forward("ipProtocols");
/** Well-known UDP port → application layer. */
export const UDP_PORT: ReadonlyMap<number, Kind> = forward("udpPorts");
/** Well-known TCP port → application layer. */
export const TCP_PORT: ReadonlyMap<number, Kind> = forward("tcpPorts");
/** Loopback address family → next layer. */
export const LOOPBACK_FAMILY: ReadonlyMap<number, Kind> = forward("addressFamilies");
/** Link type → first layer (raw IP, told by its version nibble, is {@link firstKind}'s own case). */
export const LINK_TYPE_KIND: ReadonlyMap<number, Kind> = forward("linkTypes");
/** Layer → ethertype, for filling an outer Ethernet/VLAN/SLL type field. */
export const ETHERTYPE_OF: ReadonlyMap<Kind, number> = reverse("ethertypes");
/** Layer → IP protocol number, for filling IPv4 protocol / IPv6 next header. */
export const IP_PROTOCOL_OF: ReadonlyMap<Kind, number> = reverse("ipProtocols");
/** Application layer → its well-known UDP port. */
export const UDP_PORT_OF: ReadonlyMap<Kind, number> = reverse("udpPorts");
/** Application layer → its well-known TCP port. */
export const TCP_PORT_OF: ReadonlyMap<Kind, number> = reverse("tcpPorts");
/** Layer → loopback address family. */
export const LOOPBACK_FAMILY_OF: ReadonlyMap<Kind, number> = reverse("addressFamilies");

const SNIFFERS: readonly { kind: Kind; sniff: (bytes: Uint8Array, start: number, end: number) => boolean }[] = PROTOCOLS.flatMap((p) => {
  const sniff = (p as Protocol).claims?.sniffTcp;
  return sniff === undefined ? [] : [{ kind: p.kind, sniff }];
});

/** The tables as the decode walk and the builders read them (see {@link Dispatch}). */
// The walk's lookups, as dense tables (module constants, not fields: each
// lookup stays small enough for V8 to inline into the decoder asking).
const ETHERTYPE_TABLE = new DenseKindTable(ETHERTYPE);
const IP_PROTOCOL_TABLE = new DenseKindTable(IP_PROTOCOL);
const UDP_PORT_TABLE = new DenseKindTable(UDP_PORT);
const TCP_PORT_TABLE = new DenseKindTable(TCP_PORT);
const FAMILY_TABLE = new DenseKindTable(LOOPBACK_FAMILY);

class Tables implements Dispatch {

  ethertype(type: number): Kind | null {
    return ETHERTYPE_TABLE.get(type) as Kind | null;
  }
  ipProtocol(protocol: number): Kind | null {
    return IP_PROTOCOL_TABLE.get(protocol) as Kind | null;
  }
  udpPort(srcPort: number, dstPort: number): Kind | null {
    return (UDP_PORT_TABLE.get(dstPort) ?? UDP_PORT_TABLE.get(srcPort)) as Kind | null;
  }
  tcpPort(srcPort: number, dstPort: number): Kind | null {
    return (TCP_PORT_TABLE.get(dstPort) ?? TCP_PORT_TABLE.get(srcPort)) as Kind | null;
  }
  sniffTcp(bytes: Uint8Array, start: number, end: number): Kind | null {
    for (let i = 0; i < SNIFFERS.length; i++) if (SNIFFERS[i]!.sniff(bytes, start, end)) return SNIFFERS[i]!.kind;
    return null;
  }
  addressFamily(family: number): Kind | null {
    // Families are 32-bit numbers; only small ones are claimed.
    return family > 0xffff ? null : (FAMILY_TABLE.get(family) as Kind | null);
  }
  ethertypeOf(kind: string): number | undefined {
    return ETHERTYPE_OF.get(kind as Kind);
  }
  ipProtocolOf(kind: string): number | undefined {
    return IP_PROTOCOL_OF.get(kind as Kind);
  }
  udpPortOf(kind: string): number | undefined {
    return UDP_PORT_OF.get(kind as Kind);
  }
  tcpPortOf(kind: string): number | undefined {
    return TCP_PORT_OF.get(kind as Kind);
  }
  addressFamilyOf(kind: string): number | undefined {
    return LOOPBACK_FAMILY_OF.get(kind as Kind);
  }
}

/** The registry's {@link Dispatch}: what the pipeline hands to every decoder and codec. */
export const DISPATCH: Dispatch = new Tables();

/** The layer after an ethertype (`ETHERTYPE`), or null. */
export function ethertypeKind(type: number): Kind | null {
  return DISPATCH.ethertype(type) as Kind | null;
}

/** The layer after an IP protocol / IPv6 next header (`IP_PROTOCOL`), or null. */
export function ipProtocolKind(protocol: number): Kind | null {
  return DISPATCH.ipProtocol(protocol) as Kind | null;
}

/** Application layer for a UDP datagram: destination port first, then source. */
export function udpPortKind(srcPort: number, dstPort: number): Kind | null {
  return DISPATCH.udpPort(srcPort, dstPort) as Kind | null;
}

/** Application layer for a TCP segment by port: destination port first, then source. */
export function tcpPortKind(srcPort: number, dstPort: number): Kind | null {
  return DISPATCH.tcpPort(srcPort, dstPort) as Kind | null;
}

/**
 * Guess the protocol of a TCP payload `payload[start, end)` from its first
 * bytes (each protocol's `sniffTcp` claim): `"http"` when it starts with an
 * HTTP/1.x method and a space, or with `HTTP/1.` (a response).
 */
export function sniffTcp(payload: Uint8Array, start = 0, end = payload.length): Kind | null {
  return DISPATCH.sniffTcp(payload, start, end) as Kind | null;
}

/**
 * The first layer of a frame of this link type, or null when the link type is
 * not one we decode (the whole frame is then payload). The frame is
 * `data[start, end)`. Raw IP looks at the version nibble: 6 is IPv6, anything
 * else is handed to IPv4, which reports a bad version.
 */
export function firstKind(linkType: number, data: Uint8Array, start = 0, end = data.length): Kind | null {
  // Every frame asks: a dense table, not the Map (its hashing was ~2% of a full decode).
  const kind = (linkType & 0xffff) === linkType ? (LINK_TYPE_TABLE.get(linkType) as Kind | null) : null;
  if (kind !== null) return kind;
  if (isRawIpLinkType(linkType)) return end > start && data[start]! >> 4 === 6 ? "ipv6" : "ipv4";
  return null;
}

const LINK_TYPE_TABLE = new DenseKindTable(LINK_TYPE_KIND);

const POOLED: readonly string[] = [...PROTOCOLS.filter((p) => (p as Protocol).pooled === true).map((p) => p.kind), "payload"];

/** An empty {@link LayerPool}: a list for each pooled protocol and the payload slots, in one fixed shape. */
export function newLayerPool(): LayerPool {
  const pool: Record<string, LayerBase[]> = {};
  for (const kind of POOLED) pool[kind] = [];
  return pool;
}
