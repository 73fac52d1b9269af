/**
 * Where the fields of the IPv4 (RFC 791 §3.1) and IPv6 (RFC 8200 §3) fixed
 * headers sit: the one table per header that `Ipv4View` (ipv4.ts),
 * `Ipv6View` (ipv6.ts) and the transport checksums' `IpHeaderContext`
 * (checksum.ts) all read through.
 *
 * The tables live in this module of their own, importing nothing, rather than
 * in ipv4.ts and ipv6.ts: the views use the checksum primitives, and the IP
 * context in checksum.ts reads the addresses at these offsets, so either home
 * would make an import circle. ipv4.ts and ipv6.ts re-export their table.
 *
 * @example
 * ```ts
 * import { IPV4_FIELD, IPV6_FIELD } from "./ip_fields.ts";
 * const protocol = datagram[IPV4_FIELD.PROTOCOL];
 * const src = datagram.subarray(IPV6_FIELD.SRC, IPV6_FIELD.SRC + 16);
 * ```
 *
 * @module
 */

/**
 * Byte offsets of the IPv4 header's fields, from the header's start (RFC 791 §3.1).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |  0
 * |         Identification        |Flags|     Fragment Offset     |  4
 * |  Time to Live |    Protocol   |         Header Checksum       |  8
 * |                       Source Address                          | 12
 * |                    Destination Address                        | 16
 * |                    Options                    |    Padding    | 20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
export const IPV4_FIELD = {
  VER_IHL: 0,
  DSCP_ECN: 1,
  TOTAL_LENGTH: 2,
  ID: 4,
  FLAGS_FRAGMENT: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
} as const;

/** Bytes in the IPv4 header without options (IHL 5). */
export const IPV4_HEADER_LENGTH = 20;

/** Bytes in an IPv4 address. */
export const IPV4_ADDRESS_LENGTH = 4;

/**
 * Byte offsets of the IPv6 fixed header's fields, from the header's start (RFC 8200 §3).
 *
 * ```text
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |  0
 * |         Payload Length        |  Next Header  |   Hop Limit   |  4
 * |                    Source Address (16 bytes)                  |  8
 * |                 Destination Address (16 bytes)                | 24
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
export const IPV6_FIELD = {
  VER_TC_FL: 0,
  PAYLOAD_LENGTH: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
} as const;

/** Bytes in the IPv6 fixed header. */
export const IPV6_HEADER_LENGTH = 40;

/** Bytes in an IPv6 address. */
export const IPV6_ADDRESS_LENGTH = 16;
