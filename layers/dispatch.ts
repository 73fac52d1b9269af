/**
 * The wire values the layers dispatch on, each written down once: link types,
 * ethertypes (VLAN TPIDs among them), IP protocol numbers, well-known ports and
 * loopback address families. Protocol modules claim these values in their
 * descriptors, and `registry.ts` turns the claims into the lookup tables the
 * decoder and the builder use; the printer and `peek.ts` test against the same
 * names. No other file in `layers/` or `src/` spells one of these numbers.
 *
 * This module imports nothing: every other module may import it.
 *
 * @example
 * ```ts
 * import { ETHERTYPE_IPV4, isVlanTpid, IP_PROTOCOL_UDP } from "./dispatch.ts";
 * isVlanTpid(0x88a8); // true
 * ```
 *
 * @module
 */

/** LINKTYPE_* values (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order */
  NULL: 0,
  ETHERNET: 1,
  /** raw IPv4 or IPv6, told apart by the version nibble */
  RAW: 101,
  /** OpenBSD loopback: 4-byte address family in network byte order */
  LOOP: 108,
  /** Linux cooked capture v1 */
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  /** Linux cooked capture v2 */
  LINUX_SLL2: 276,
} as const;

/**
 * DLT_RAW as some systems wrote it into pcap files before LINKTYPE_RAW existed:
 * 12 (most BSDs, Linux) and 14 (OpenBSD). Both mean raw IP.
 */
export const DLT_RAW_ALIASES: readonly number[] = [12, 14];

/** Whether a link type is raw IP (LINKTYPE_RAW or one of its DLT aliases): IPv4 or IPv6 by the version nibble. */
export function isRawIpLinkType(linkType: number): boolean {
  return linkType === LINKTYPE.RAW || linkType === 12 || linkType === 14;
}

// Ethertypes (IEEE 802 numbers).
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
/** IEEE 802.1Q customer tag */
export const ETHERTYPE_VLAN = 0x8100;
/** IEEE 802.1ad service tag (QinQ) */
export const ETHERTYPE_QINQ = 0x88a8;
/** pre-standard QinQ */
export const ETHERTYPE_QINQ_OLD = 0x9100;
/** The tag protocol identifiers that announce a VLAN tag, the one a builder writes first. */
export const VLAN_TPIDS: readonly number[] = [ETHERTYPE_VLAN, ETHERTYPE_QINQ, ETHERTYPE_QINQ_OLD];

/** Whether an ethertype announces a VLAN tag (802.1Q, 802.1ad, pre-standard QinQ). */
export function isVlanTpid(type: number): boolean {
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD;
}

/** IEEE 802.3: a type field up to this value is a length, and an LLC header follows. */
export const ETHERNET_MAX_LENGTH = 1500;
/** Linux ETH_P_802_2: in a cooked-capture protocol field, the payload is an 802.2 LLC frame. */
export const ETH_P_802_2 = 4;
/** IEEE 802.2 SAP of SNAP (RFC 1042): as DSAP and SSAP, an OUI and a protocol id follow the LLC header. */
export const LLC_SAP_SNAP = 0xaa;
/** RFC 1042: a SNAP OUI of 0 says the protocol id is an ethertype. */
export const SNAP_OUI_ETHERTYPE = 0;
/** Hardware type Ethernet: ARP's `hardwareType` (RFC 826) and a cooked capture's ARPHRD_* address type. */
export const ARPHRD_ETHER = 1;

// IP protocol numbers / IPv6 next headers (IANA).
export const IP_PROTOCOL_HOPOPT = 0;
export const IP_PROTOCOL_ICMP = 1;
/** IP in IP (RFC 2003) */
export const IP_PROTOCOL_IPV4 = 4;
export const IP_PROTOCOL_TCP = 6;
export const IP_PROTOCOL_UDP = 17;
/** IPv6 in IP (RFC 4213) */
export const IP_PROTOCOL_IPV6 = 41;
export const IP_PROTOCOL_IPV6_ROUTE = 43;
export const IP_PROTOCOL_IPV6_FRAG = 44;
export const IP_PROTOCOL_ICMPV6 = 58;
export const IP_PROTOCOL_IPV6_NONXT = 59;
export const IP_PROTOCOL_IPV6_OPTS = 60;
export const IP_PROTOCOL_DCCP = 33;
export const IP_PROTOCOL_SCTP = 132;
export const IP_PROTOCOL_UDPLITE = 136;

/** Transport protocols whose first four bytes are the source and destination port. */
export function hasPorts(protocol: number): boolean {
  return (
    protocol === IP_PROTOCOL_TCP || protocol === IP_PROTOCOL_UDP || protocol === IP_PROTOCOL_DCCP ||
    protocol === IP_PROTOCOL_SCTP || protocol === IP_PROTOCOL_UDPLITE
  );
}

/** IPv6 extension headers with the generic shape (next header, length in 8-byte units, RFC 8200 §4). */
export function isIpv6OptionsHeader(nextHeader: number): boolean {
  return nextHeader === IP_PROTOCOL_HOPOPT || nextHeader === IP_PROTOCOL_IPV6_ROUTE || nextHeader === IP_PROTOCOL_IPV6_OPTS;
}

// Well-known ports.
/** FTP data: the source port scapy (and `tcpCodec`) writes by default */
export const PORT_FTP_DATA = 20;
export const PORT_DNS = 53;
export const PORT_DHCP_SERVER = 67;
export const PORT_DHCP_CLIENT = 68;
export const PORT_TFTP = 69;
export const PORT_HTTP = 80;
export const PORT_HTTP_ALT = 8080;
export const PORT_HTTP_ALT2 = 8000;
/** mDNS (RFC 6762) uses the DNS message format */
export const PORT_MDNS = 5353;

// Loopback address families (LINKTYPE_NULL / LINKTYPE_LOOP).
export const AF_INET = 2;
/** AF_INET6 differs by OS: 10 Linux, 24 NetBSD/OpenBSD/BSD/OS, 28 FreeBSD/DragonFly, 30 macOS/iOS. */
export const AF_INET6_LINUX = 10;
export const AF_INET6_BSD = 24;
export const AF_INET6_FREEBSD = 28;
export const AF_INET6_DARWIN = 30;

/**
 * A 16-bit-keyed table of layer names in the decode walk's form: one byte per
 * key indexing the table's distinct names, so a lookup is two array loads
 * rather than a Map's hashing (which showed as ~10% of a full decode).
 */
export class DenseKindTable {
  // Plain fields, not #private ones: a lookup is on every layer of every
  // packet, and a private field's brand check made it too big for V8 to
  // always inline.
  readonly index: Uint8Array = new Uint8Array(0x10000);
  readonly kinds: (string | null)[] = [null];

  constructor(table: ReadonlyMap<number, string>) {
    for (const [key, kind] of table) {
      let i = this.kinds.indexOf(kind);
      if (i < 0) i = this.kinds.push(kind) - 1;
      this.index[key & 0xffff] = i;
    }
  }

  /** The name for `key` (0..0xffff), or null. */
  get(key: number): string | null {
    return this.kinds[this.index[key & 0xffff]!]!;
  }
}
