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
import { LINKTYPE } from "./link_type.ts";

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

function hasPorts(p: number): boolean {
  // TCP, UDP, DCCP, SCTP, UDP-Lite: the first 4 bytes are source and destination port.
  return p === 6 || p === 17 || p === 33 || p === 132 || p === 136;
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
      if (len < 14) return false;
      off = 14;
      type = (data[12]! << 8) | data[13]!;
      break;
    case LINKTYPE.LINUX_SLL:
      if (len < 16) return false;
      off = 16;
      type = (data[14]! << 8) | data[15]!;
      break;
    case LINKTYPE.LINUX_SLL2:
      if (len < 20) return false;
      off = 20;
      type = (data[0]! << 8) | data[1]!;
      break;
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (len < 4) return false;
      off = 4;
      const family = data[0] === 0 && data[1] === 0 ? data[3]! : data[0]!;
      type = family === 2 ? 0x0800 : family === 10 || family === 24 || family === 28 || family === 30 ? 0x86dd : 0;
      break;
    }
    case LINKTYPE.IPV4:
      off = 0;
      type = 0x0800;
      break;
    case LINKTYPE.IPV6:
      off = 0;
      type = 0x86dd;
      break;
    case LINKTYPE.RAW:
    case 12:
    case 14:
      if (len < 1) return false;
      off = 0;
      type = data[0]! >> 4 === 6 ? 0x86dd : 0x0800;
      break;
    default:
      return false;
  }
  for (let tags = 0; (type === 0x8100 || type === 0x88a8 || type === 0x9100) && tags < MAX_TAGS; tags++) {
    if (off + 4 > len) return false;
    type = (data[off + 2]! << 8) | data[off + 3]!;
    off += 4;
  }
  let t: number;
  let protocol: number;
  if (type === 0x0800) {
    if (off + 20 > len || data[off]! >> 4 !== 4) return false;
    const ihl = (data[off]! & 15) << 2;
    if (ihl < 20) return false;
    out.ipVersion = 4;
    out.ipOffset = off;
    protocol = data[off + 9]!;
    out.protocol = protocol;
    if ((((data[off + 6]! << 8) | data[off + 7]!) & 0x1fff) !== 0) return false; // later fragment
    t = off + ihl;
  } else if (type === 0x86dd) {
    if (off + 40 > len || data[off]! >> 4 !== 6) return false;
    out.ipVersion = 6;
    out.ipOffset = off;
    protocol = data[off + 6]!;
    t = off + 40;
    for (let n = 0; n < MAX_EXTENSIONS; n++) {
      if (protocol === 0 || protocol === 43 || protocol === 60) {
        if (t + 2 > len) break;
        protocol = data[t]!;
        t += (data[t + 1]! + 1) << 3;
      } else if (protocol === 44) {
        if (t + 8 > len) break;
        if ((((data[t + 2]! << 8) | data[t + 3]!) & 0xfff8) !== 0) {
          out.protocol = data[t]!;
          return false; // later fragment
        }
        protocol = data[t]!;
        t += 8;
      } else {
        break;
      }
    }
    out.protocol = protocol;
  } else {
    return false;
  }
  if (!hasPorts(protocol) || t + 4 > len) return false;
  out.transportOffset = t;
  out.srcPort = (data[t]! << 8) | data[t + 1]!;
  out.dstPort = (data[t + 2]! << 8) | data[t + 3]!;
  return true;
}
