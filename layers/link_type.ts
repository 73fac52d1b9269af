/**
 * Link-layer header types (LINKTYPE_*, as pcap and pcapng files store them) and
 * the first layer to decode for each.
 *
 * @example
 * ```ts
 * import { LINKTYPE, firstKind } from "./link_type.ts";
 * firstKind(LINKTYPE.ETHERNET, frame); // "ethernet"
 * ```
 *
 * @module
 */
import type { Kind } from "./core.ts";

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

/**
 * The first layer of a frame of this link type, or null when the link type is
 * not one we decode (the whole frame is then payload). The frame is
 * `data[start, end)`. Raw IP looks at the version nibble: 6 is IPv6, anything
 * else is handed to IPv4, which reports a bad version.
 */
export function firstKind(linkType: number, data: Uint8Array, start = 0, end = data.length): Kind | null {
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      return "ethernet";
    case LINKTYPE.LINUX_SLL:
      return "sll";
    case LINKTYPE.LINUX_SLL2:
      return "sll2";
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP:
      return "loopback";
    case LINKTYPE.IPV4:
      return "ipv4";
    case LINKTYPE.IPV6:
      return "ipv6";
    case LINKTYPE.RAW:
    case 12:
    case 14:
      return end > start && data[start]! >> 4 === 6 ? "ipv6" : "ipv4";
    default:
      return null;
  }
}
