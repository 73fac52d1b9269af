/**
 * Zero-copy, allocation-free port extraction: from a raw frame straight to
 * the IP version, protocol and transport ports, without building any layer
 * values. For flow tables, sampling and filters that only need the 5-tuple.
 *
 * Follows Ethernet (with up to 8 VLAN tags), SLL, SLL2, loopback and raw IP;
 * IPv4 and IPv6 (walking hop-by-hop, routing, destination and fragment
 * headers). Ports are read for TCP, UDP, SCTP, UDP-Lite and DCCP, which all
 * start with source and destination port. Later fragments have no ports.
 *
 * @example
 * ```ts
 * import { PortPeek, peekPorts } from "./peek.ts";
 * const peek = new PortPeek(); // reuse for every frame
 * if (peekPorts(frame, 1, peek)) count(peek.protocol, peek.srcPort, peek.dstPort);
 * ```
 *
 * @module
 */
import {
  AF_INET, AF_INET6_BSD, AF_INET6_DARWIN, AF_INET6_FREEBSD, AF_INET6_LINUX, ETHERTYPE_IPV4, ETHERTYPE_IPV6, hasPorts,
  IP_PROTOCOL_IPV6_FRAG, isIpv6OptionsHeader, isRawIpLinkType, isVlanTpid, LINKTYPE,
} from "./dispatch.ts";
import { ETHERNET_HEADER_LENGTH, EthernetView } from "./ethernet.ts";
import { IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH } from "./ip_fields.ts";
import { Ipv4View } from "./ipv4.ts";
import { Ipv6View } from "./ipv6.ts";
import { IPV6_FRAGMENT_HEADER_LENGTH, Ipv6ExtensionView, Ipv6FragmentView } from "./ipv6_extensions.ts";
import { LOOPBACK_HEADER_LENGTH, LoopbackView } from "./loopback.ts";
import { SLL_HEADER_LENGTH, SllView } from "./sll.ts";
import { SLL2_HEADER_LENGTH, Sll2View } from "./sll2.ts";
import { UdpView } from "./udp.ts";
import { VLAN_HEADER_LENGTH, VlanView } from "./vlan.ts";

/** Caller-owned result of {@link peekPorts}; reuse one for every frame. */
export class PortPeek {
  /** 4 or 6; 0 when no IP header was found */
  ipVersion = 0;
  /** IP protocol / final IPv6 next header; -1 when no IP header was found */
  protocol = -1;
  srcPort = 0;
  dstPort = 0;
  /** where the IP header starts in the frame; -1 when not found */
  ipOffset = -1;
  /** where the transport header starts in the frame; -1 when not found */
  transportOffset = -1;
}

const MAX_TAGS = 8;
const MAX_EXTENSIONS = 8;
/** bytes of an extension header that give its next header and length */
const EXTENSION_FIXED = 2;
/** the ports every transport of {@link hasPorts} starts with */
const PORTS_LENGTH = 4;

// Fields are read with the views' static readers (`EthernetView.typeAt`, ...):
// the same offsets as the views' getters, without re-pointing a view object
// per header (which cost this loop a sixth of its speed). The loopback family,
// rare and told by its byte order, goes through its view.
const loopback = new LoopbackView(new Uint8Array(0));

function isInet6(family: number): boolean {
  return family === AF_INET6_LINUX || family === AF_INET6_BSD || family === AF_INET6_FREEBSD || family === AF_INET6_DARWIN;
}

/**
 * Find the ports of the transport header in `data` (a frame of link type
 * `linkType`) and store them in `out`. Returns true when ports were found;
 * otherwise `out` holds what was found (e.g. IP version and protocol of an
 * ICMP packet or a later fragment). Never throws, never allocates.
 */
export function peekPorts(data: Uint8Array, linkType: number, out: PortPeek): boolean {
  out.ipVersion = 0;
  out.protocol = -1;
  out.srcPort = 0;
  out.dstPort = 0;
  out.ipOffset = -1;
  out.transportOffset = -1;
  const len = data.length;
  let off: number;
  let type: number; // ethertype of what is at `off`
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      if (len < ETHERNET_HEADER_LENGTH) return false;
      off = ETHERNET_HEADER_LENGTH;
      type = EthernetView.typeAt(data, 0);
      break;
    case LINKTYPE.LINUX_SLL:
      if (len < SLL_HEADER_LENGTH) return false;
      off = SLL_HEADER_LENGTH;
      type = SllView.protocolAt(data, 0);
      break;
    case LINKTYPE.LINUX_SLL2:
      if (len < SLL2_HEADER_LENGTH) return false;
      off = SLL2_HEADER_LENGTH;
      type = Sll2View.protocolAt(data, 0);
      break;
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (len < LOOPBACK_HEADER_LENGTH) return false;
      off = LOOPBACK_HEADER_LENGTH;
      const family = loopback.reset(data, 0, len).family;
      type = family === AF_INET ? ETHERTYPE_IPV4 : isInet6(family) ? ETHERTYPE_IPV6 : 0;
      break;
    }
    case LINKTYPE.IPV4:
      off = 0;
      type = ETHERTYPE_IPV4;
      break;
    case LINKTYPE.IPV6:
      off = 0;
      type = ETHERTYPE_IPV6;
      break;
    default:
      if (!isRawIpLinkType(linkType) || len < 1) return false;
      off = 0;
      // Raw IP: the version nibble says which (IPv4's view reads it for either).
      type = Ipv4View.versionAt(data, 0) === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  }
  for (let tags = 0; isVlanTpid(type) && tags < MAX_TAGS; tags++) {
    if (off + VLAN_HEADER_LENGTH > len) return false;
    type = VlanView.typeAt(data, off);
    off += VLAN_HEADER_LENGTH;
  }
  let t: number;
  let protocol: number;
  if (type === ETHERTYPE_IPV4) {
    if (off + IPV4_HEADER_LENGTH > len) return false;
    if (Ipv4View.versionAt(data, off) !== 4) return false;
    const ihl = Ipv4View.headerLengthAt(data, off);
    if (ihl < IPV4_HEADER_LENGTH) return false;
    out.ipVersion = 4;
    out.ipOffset = off;
    protocol = Ipv4View.protocolAt(data, off);
    out.protocol = protocol;
    if (Ipv4View.fragmentOffsetAt(data, off) !== 0) return false; // later fragment
    t = off + ihl;
  } else if (type === ETHERTYPE_IPV6) {
    if (off + IPV6_HEADER_LENGTH > len) return false;
    if (Ipv6View.versionAt(data, off) !== 6) return false;
    out.ipVersion = 6;
    out.ipOffset = off;
    protocol = Ipv6View.nextHeaderAt(data, off);
    t = off + IPV6_HEADER_LENGTH;
    for (let n = 0; n < MAX_EXTENSIONS; n++) {
      if (isIpv6OptionsHeader(protocol)) {
        if (t + EXTENSION_FIXED > len) break;
        protocol = Ipv6ExtensionView.nextHeaderAt(data, t);
        t += Ipv6ExtensionView.headerLengthAt(data, t);
      } else if (protocol === IP_PROTOCOL_IPV6_FRAG) {
        if (t + IPV6_FRAGMENT_HEADER_LENGTH > len) break;
        protocol = Ipv6FragmentView.nextHeaderAt(data, t);
        if (Ipv6FragmentView.fragmentOffsetAt(data, t) !== 0) {
          out.protocol = protocol;
          return false; // later fragment
        }
        t += IPV6_FRAGMENT_HEADER_LENGTH;
      } else {
        break;
      }
    }
    out.protocol = protocol;
  } else {
    return false;
  }
  if (!hasPorts(protocol) || t + PORTS_LENGTH > len) return false;
  out.transportOffset = t;
  // TCP, UDP, DCCP, SCTP and UDP-Lite share the first four bytes, so UDP's readers read the ports of all.
  out.srcPort = UdpView.srcPortAt(data, t);
  out.dstPort = UdpView.dstPortAt(data, t);
  return true;
}
