/**
 * tcpdump's names for what an IP header carries: IP protocols it prints
 * without decoding them (`GREv0, length 24`), and the IPv6 extension headers
 * it shows between the addresses and the payload (`HBH`, `frag`).
 *
 * @example
 * ```ts
 * import { protoName } from "./ip_names.ts";
 * protoName(47); // "GREv0"
 * protoName(253); // "ip-proto-253"
 * ```
 *
 * @module
 */
import {
  IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6, IP_PROTOCOL_IPV4, IP_PROTOCOL_IPV6, IP_PROTOCOL_IPV6_NONXT, IP_PROTOCOL_SCTP, IP_PROTOCOL_TCP,
  IP_PROTOCOL_UDP,
} from "../../../layers/dispatch.ts";
import type { Ipv6ExtensionType } from "../../../layers/ipv6.ts";

/** IP protocol names tcpdump uses (print-ip.c), by protocol number; the rest are `ip-proto-N`. */
const PROTO: Readonly<Record<number, string>> = {
  [IP_PROTOCOL_ICMP]: "ICMP",
  2: "IGMP",
  [IP_PROTOCOL_IPV4]: "IP",
  [IP_PROTOCOL_TCP]: "tcp",
  [IP_PROTOCOL_UDP]: "UDP",
  [IP_PROTOCOL_IPV6]: "IP6",
  47: "GREv0",
  50: "ESP",
  51: "AH",
  [IP_PROTOCOL_ICMPV6]: "ICMP6",
  [IP_PROTOCOL_IPV6_NONXT]: "no next header",
  89: "OSPFv2",
  103: "PIMv2",
  112: "VRRPv2",
  [IP_PROTOCOL_SCTP]: "sctp",
};

/** tcpdump's name for IP protocol `p`. */
export function protoName(p: number): string {
  return PROTO[p] ?? "ip-proto-" + p;
}

/** tcpdump's word for each IPv6 extension header, printed between the addresses and the payload. */
export const EXT_NAME: Readonly<Record<Ipv6ExtensionType, string>> = {
  hopByHop: "HBH",
  routing: "srcrt",
  fragment: "frag",
  destination: "DSTOPT",
};
