/**
 * Dispatch tables: which layer follows a given wire value (ethertype, IP
 * protocol, port), and the reverse lookups the builder uses to fill those
 * values from the layer inside. Plain `Map`s, built once; add a line to add a
 * protocol.
 *
 * @example
 * ```ts
 * import { ETHERTYPE, udpPortKind } from "./dispatch.ts";
 * ETHERTYPE.get(0x0800); // "ipv4"
 * udpPortKind(40000, 53); // "dns"
 * ```
 *
 * @module
 */
import type { Kind } from "./core.ts";

/** Ethertype → next layer (IEEE 802 numbers). */
export const ETHERTYPE: ReadonlyMap<number, Kind> = new Map<number, Kind>([
  [0x0800, "ipv4"],
  [0x86dd, "ipv6"],
  [0x0806, "arp"],
  [0x8100, "vlan"], // IEEE 802.1Q customer tag
  [0x88a8, "vlan"], // IEEE 802.1ad service tag (QinQ)
  [0x9100, "vlan"], // pre-standard QinQ
]);

/** IP protocol / IPv6 next header → next layer (IANA protocol numbers). */
export const IP_PROTOCOL: ReadonlyMap<number, Kind> = new Map<number, Kind>([
  [1, "icmp"],
  [58, "icmpv6"],
  [6, "tcp"],
  [17, "udp"],
  [4, "ipv4"], // IP in IP (RFC 2003)
  [41, "ipv6"], // IPv6 in IP (RFC 4213)
]);

/** Well-known UDP port → application layer. */
export const UDP_PORT: ReadonlyMap<number, Kind> = new Map<number, Kind>([
  [53, "dns"],
  [5353, "dns"], // mDNS (RFC 6762) uses the DNS message format
  [67, "dhcp"],
  [68, "dhcp"],
  [69, "tftp"],
]);

/** Well-known TCP port → application layer. */
export const TCP_PORT: ReadonlyMap<number, Kind> = new Map<number, Kind>([
  [53, "dns"],
  [80, "http"],
  [8080, "http"],
  [8000, "http"],
]);

/** Layer → ethertype, for filling an outer Ethernet/VLAN/SLL type field. */
export const ETHERTYPE_OF: ReadonlyMap<Kind, number> = new Map<Kind, number>([
  ["ipv4", 0x0800],
  ["ipv6", 0x86dd],
  ["arp", 0x0806],
  ["vlan", 0x8100],
]);

/** Layer → IP protocol number, for filling IPv4 protocol / IPv6 next header. */
export const IP_PROTOCOL_OF: ReadonlyMap<Kind, number> = new Map<Kind, number>([
  ["icmp", 1],
  ["icmpv6", 58],
  ["tcp", 6],
  ["udp", 17],
  ["ipv4", 4],
  ["ipv6", 41],
]);

/**
 * The decode walk's form of a 16-bit-keyed table above: one byte per key,
 * indexing the table's distinct kinds, so a lookup is two array loads rather
 * than a Map's hashing (which showed as ~10% of a full decode). Built once from
 * the Map at load; the Maps stay the one place a protocol is added.
 */
class DenseKindTable {
  readonly #index = new Uint8Array(0x10000);
  readonly #kinds: (Kind | null)[] = [null];

  constructor(table: ReadonlyMap<number, Kind>) {
    for (const [key, kind] of table) {
      let i = this.#kinds.indexOf(kind);
      if (i < 0) i = this.#kinds.push(kind) - 1;
      this.#index[key] = i;
    }
  }

  /** The kind for `key` (0..0xffff), or null. */
  get(key: number): Kind | null {
    return this.#kinds[this.#index[key & 0xffff]!]!;
  }
}

const ETHERTYPE_DENSE = new DenseKindTable(ETHERTYPE);
const IP_PROTOCOL_DENSE = new DenseKindTable(IP_PROTOCOL);
const UDP_PORT_DENSE = new DenseKindTable(UDP_PORT);
const TCP_PORT_DENSE = new DenseKindTable(TCP_PORT);

/** The layer after an ethertype (`ETHERTYPE`), or null. */
export function ethertypeKind(type: number): Kind | null {
  return ETHERTYPE_DENSE.get(type);
}

/** The layer after an IP protocol / IPv6 next header (`IP_PROTOCOL`), or null. */
export function ipProtocolKind(protocol: number): Kind | null {
  return IP_PROTOCOL_DENSE.get(protocol);
}

/** Application layer for a UDP datagram: destination port first, then source. */
export function udpPortKind(srcPort: number, dstPort: number): Kind | null {
  return UDP_PORT_DENSE.get(dstPort) ?? UDP_PORT_DENSE.get(srcPort);
}

/** Application layer for a TCP segment by port: destination port first, then source. */
export function tcpPortKind(srcPort: number, dstPort: number): Kind | null {
  return TCP_PORT_DENSE.get(dstPort) ?? TCP_PORT_DENSE.get(srcPort);
}

// HTTP/1.x request methods (RFC 9110 §9, RFC 5789 PATCH), each followed by a space.
const METHODS: readonly Uint8Array[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"].map(
  (m) => Uint8Array.from(m + " ", (c) => c.charCodeAt(0)),
);
const HTTP_VERSION = Uint8Array.from("HTTP/1.", (c) => c.charCodeAt(0));

function startsWith(b: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[start + i] !== prefix[i]) return false;
  return true;
}

/**
 * Guess the protocol of a TCP payload `payload[start, end)` from its first
 * bytes: `"http"` when it starts with an HTTP/1.x method and a space, or with
 * `HTTP/1.` (a response).
 */
export function sniffTcp(payload: Uint8Array, start = 0, end = payload.length): Kind | null {
  if (end - start < 4) return null;
  // Every method and "HTTP/1." starts with an upper-case letter: most payloads stop here.
  const first = payload[start]!;
  if (first < 0x41 || first > 0x5a) return null;
  if (startsWith(payload, start, end, HTTP_VERSION)) return "http";
  for (const m of METHODS) if (startsWith(payload, start, end, m)) return "http";
  return null;
}
