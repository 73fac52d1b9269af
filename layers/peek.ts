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
import { checkBytes } from "./bytes.ts";
import {
  ETHERTYPE_IPV4, ETHERTYPE_IPV6, hasPorts,
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
import { DISPATCH } from "./registry.ts";
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

// Module-local copies of the readers and constants the loop uses per frame:
// an imported binding or a class's static costs a load and a check at every
// use, a module's own constant does not (measured: ~10% of this loop).
const ethernetTypeAt = EthernetView.typeAt;
const ipv4FragmentOffsetAt = Ipv4View.fragmentOffsetAt;
const ipv4HeaderLengthAt = Ipv4View.headerLengthAt;
const ipv4ProtocolAt = Ipv4View.protocolAt;
const ipv4VersionAt = Ipv4View.versionAt;
const ipv6ExtensionHeaderLengthAt = Ipv6ExtensionView.headerLengthAt;
const ipv6ExtensionNextHeaderAt = Ipv6ExtensionView.nextHeaderAt;
const ipv6FragmentFragmentOffsetAt = Ipv6FragmentView.fragmentOffsetAt;
const ipv6FragmentNextHeaderAt = Ipv6FragmentView.nextHeaderAt;
const ipv6NextHeaderAt = Ipv6View.nextHeaderAt;
const ipv6VersionAt = Ipv6View.versionAt;
const sll2ProtocolAt = Sll2View.protocolAt;
const sllProtocolAt = SllView.protocolAt;
const udpDstPortAt = UdpView.dstPortAt;
const udpSrcPortAt = UdpView.srcPortAt;
const vlanTypeAt = VlanView.typeAt;
const ipv4Type = ETHERTYPE_IPV4;
const ipv6Type = ETHERTYPE_IPV6;
const ethernetLength = ETHERNET_HEADER_LENGTH;
const sllLength = SLL_HEADER_LENGTH;
const sll2Length = SLL2_HEADER_LENGTH;
const loopbackLength = LOOPBACK_HEADER_LENGTH;
const vlanLength = VLAN_HEADER_LENGTH;
const ipv4Length = IPV4_HEADER_LENGTH;
const ipv6Length = IPV6_HEADER_LENGTH;
const fragmentLength = IPV6_FRAGMENT_HEADER_LENGTH;
const fragmentHeader = IP_PROTOCOL_IPV6_FRAG;
const linkEthernet = LINKTYPE.ETHERNET;
const linkSll2 = LINKTYPE.LINUX_SLL2;
const linkSll = LINKTYPE.LINUX_SLL;
const linkNull = LINKTYPE.NULL;
const linkLoop = LINKTYPE.LOOP;
const linkIpv4 = LINKTYPE.IPV4;
const linkIpv6 = LINKTYPE.IPV6;
const isTag = isVlanTpid;
const portsFollow = hasPorts;
const isOptionsHeader = isIpv6OptionsHeader;

/**
 * Find the ports of the transport header in `data` (a frame of link type
 * `linkType`) and store them in `out`. Returns true when ports were found;
 * otherwise `out` holds what was found (e.g. IP version and protocol of an
 * ICMP packet or a later fragment). Never throws, never allocates.
 */
export function peekPorts(data: Uint8Array, linkType: number, out: PortPeek): boolean {
  checkBytes(data, "peekPorts");
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
    case linkEthernet:
      if (len < ethernetLength) return false;
      off = ethernetLength;
      type = ethernetTypeAt(data, 0);
      break;
    case linkSll:
      if (len < sllLength) return false;
      off = sllLength;
      type = sllProtocolAt(data, 0);
      break;
    case linkSll2:
      if (len < sll2Length) return false;
      off = sll2Length;
      type = sll2ProtocolAt(data, 0);
      break;
    case linkNull:
    case linkLoop: {
      if (len < loopbackLength) return false;
      off = loopbackLength;
      const family = loopback.reset(data, 0, len).family;
      // The registry's family table (the loopback decoder's), then the ethertype of what it names.
      const kind = DISPATCH.addressFamily(family);
      type = kind === null ? 0 : (DISPATCH.ethertypeOf(kind) ?? 0);
      break;
    }
    case linkIpv4:
      off = 0;
      type = ipv4Type;
      break;
    case linkIpv6:
      off = 0;
      type = ipv6Type;
      break;
    default:
      if (!isRawIpLinkType(linkType) || len < 1) return false;
      off = 0;
      // Raw IP: the version nibble says which (IPv4's view reads it for either).
      type = ipv4VersionAt(data, 0) === 6 ? ipv6Type : ipv4Type;
  }
  for (let tags = 0; isTag(type) && tags < MAX_TAGS; tags++) {
    if (off + vlanLength > len) return false;
    type = vlanTypeAt(data, off);
    off += vlanLength;
  }
  let t: number;
  let protocol: number;
  if (type === ipv4Type) {
    if (off + ipv4Length > len) return false;
    if (ipv4VersionAt(data, off) !== 4) return false;
    const ihl = ipv4HeaderLengthAt(data, off);
    if (ihl < ipv4Length) return false;
    out.ipVersion = 4;
    out.ipOffset = off;
    protocol = ipv4ProtocolAt(data, off);
    out.protocol = protocol;
    if (ipv4FragmentOffsetAt(data, off) !== 0) return false; // later fragment
    t = off + ihl;
  } else if (type === ipv6Type) {
    if (off + ipv6Length > len) return false;
    if (ipv6VersionAt(data, off) !== 6) return false;
    out.ipVersion = 6;
    out.ipOffset = off;
    protocol = ipv6NextHeaderAt(data, off);
    t = off + ipv6Length;
    for (let n = 0; n < MAX_EXTENSIONS; n++) {
      if (isOptionsHeader(protocol)) {
        if (t + EXTENSION_FIXED > len) break;
        protocol = ipv6ExtensionNextHeaderAt(data, t);
        t += ipv6ExtensionHeaderLengthAt(data, t);
      } else if (protocol === fragmentHeader) {
        if (t + fragmentLength > len) break;
        protocol = ipv6FragmentNextHeaderAt(data, t);
        if (ipv6FragmentFragmentOffsetAt(data, t) !== 0) {
          out.protocol = protocol;
          return false; // later fragment
        }
        t += fragmentLength;
      } else {
        break;
      }
    }
    out.protocol = protocol;
  } else {
    return false;
  }
  if (!portsFollow(protocol) || t + PORTS_LENGTH > len) return false;
  out.transportOffset = t;
  // TCP, UDP, DCCP, SCTP and UDP-Lite share the first four bytes, so UDP's readers read the ports of all.
  out.srcPort = udpSrcPortAt(data, t);
  out.dstPort = udpDstPortAt(data, t);
  return true;
}
