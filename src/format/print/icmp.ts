/**
 * The ICMP and ICMPv6 part of a line, in tcpdump's words (print-icmp.c,
 * print-icmp6.c): `ICMP echo request, id 1, seq 1, length 64`, `ICMP
 * 10.0.0.2 udp port 53 unreachable, length 36`, `ICMP6, neighbor
 * solicitation, who has fd77::2, length 32`; from a decoded {@link Icmp} or
 * {@link Icmpv6}. (The fast path's echo lines, from their bytes, are fast.ts's.)
 *
 * @example
 * ```ts
 * import { icmpText } from "./icmp.ts";
 * icmpText(state, { layer: "icmp", type: 8, code: 0, identifier: 1, sequence: 1, ... }); // "ICMP echo request, id 1, seq 1, length 64"
 * ```
 *
 * @module
 */
import { formatIpv6 } from "../../../layers/addr.ts";
import { u16 } from "../../../layers/bytes.ts";
import type { LayerBase, Payload } from "../../../layers/core.ts";
import { ICMP_TYPE, type Icmp } from "../../../layers/icmp.ts";
import { ICMPV6_TYPE, type Icmpv6 } from "../../../layers/icmpv6.ts";
import type { Ipv4 } from "../../../layers/ipv4.ts";
import type { Ipv6 } from "../../../layers/ipv6.ts";
import type { Tcp } from "../../../layers/tcp.ts";
import { UdpView, type Udp } from "../../../layers/udp.ts";
import { protoName } from "./ip_names.ts";
import { badChecksum } from "./issues.ts";
import { isCut, type LineState } from "./state.ts";

const EMPTY = new Uint8Array(0);

/** The ICMP part of a layered line; `state.ipUpper` is set. */
export function icmpText(state: LineState, m: Icmp): string {
  // tcpdump builds the whole text before printing it: a message the capture
  // cut short, or an error whose quoted header it cut, prints as the mark alone.
  if (state.cut.length > 0 && (isCut(state, "icmp") || quoteCut(m))) return " [|icmp]";
  if (m.checksumStatus === "bad") state.flags += badChecksum("icmp", m.checksum);
  const len = ", length " + state.ipUpper;
  switch (m.type) {
    case ICMP_TYPE.ECHO_REPLY:
      return "ICMP echo reply, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0) + len;
    case ICMP_TYPE.ECHO_REQUEST:
      return "ICMP echo request, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0) + len;
    case ICMP_TYPE.DESTINATION_UNREACHABLE:
      return "ICMP " + unreachable(m) + len;
    case ICMP_TYPE.SOURCE_QUENCH:
      return "ICMP source quench" + len;
    case ICMP_TYPE.REDIRECT: {
      const q = quotedIp(m.quoted?.layers);
      const what = ["redirect", "redirect", "tos redirect", "tos redirect"][m.code] ?? "redirect";
      return "ICMP " + what + " " + (q?.dst ?? "?") + " to " + (m.code & 1 ? "host " : "net ") + (m.gateway ?? "?") + len;
    }
    case ICMP_TYPE.TIME_EXCEEDED:
      return (m.code === 1 ? "ICMP ip reassembly time exceeded" : "ICMP time exceeded in-transit") + len;
    case ICMP_TYPE.PARAMETER_PROBLEM:
      return "ICMP parameter problem - octet " + (m.pointer ?? 0) + len;
    case ICMP_TYPE.TIMESTAMP:
      return "ICMP time stamp query id " + (m.identifier ?? 0) + " seq " + (m.sequence ?? 0) + len;
    case ICMP_TYPE.TIMESTAMP_REPLY:
      return "ICMP time stamp reply id " + (m.identifier ?? 0) + " seq " + (m.sequence ?? 0) + len;
    case ICMP_TYPE.ADDRESS_MASK_REQUEST:
      return "ICMP address mask request" + len;
    case ICMP_TYPE.ADDRESS_MASK_REPLY:
      return "ICMP address mask is " + (m.addressMask ?? "?") + len;
    default:
      return "ICMP type-#" + m.type + len;
  }
}

/** The ICMPv6 part of a layered line; `state.ipUpper` is set. */
export function icmpv6Text(state: LineState, m: Icmpv6, rest?: LayerBase): string {
  if (state.cut.length > 0 && isCut(state, "icmpv6") && !hasLineFields(m)) {
    // tcpdump prints the type's name, then the mark where the fields were cut.
    const state2 = state.flags;
    const full = icmpv6Full(state, m, rest);
    state.flags = state2;
    const comma = full.indexOf(",", 7); // after "ICMP6, "
    return (comma < 0 ? full.slice(0, full.lastIndexOf(", length")) : full.slice(0, comma)) + " [|icmp6]";
  }
  return icmpv6Full(state, m, rest);
}

/** Whether a cut ICMPv6 message still holds the fields its line shows (tcpdump prints its options only with -v). */
function hasLineFields(m: Icmpv6): boolean {
  switch (m.type) {
    case ICMPV6_TYPE.ECHO_REQUEST:
    case ICMPV6_TYPE.ECHO_REPLY:
      return m.identifier !== undefined;
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
      return m.targetAddress !== undefined;
    case ICMPV6_TYPE.REDIRECT:
      return m.destinationAddress !== undefined;
    case ICMPV6_TYPE.PACKET_TOO_BIG:
      return m.mtu !== undefined;
    case ICMPV6_TYPE.PARAMETER_PROBLEM:
      return m.pointer !== undefined;
    default:
      // a type tcpdump prints by its name alone (MLD's fields mark their own cut)
      return ICMP6_NAME[m.type] !== undefined;
  }
}

/**
 * The line of an ICMPv6 message the capture cut inside its first 4 bytes,
 * its type byte there: tcpdump's name and mark (`ICMP6, echo request
 * [|icmp6]`), or the whole line for a type it prints by name alone (router
 * solicitation and advertisement).
 */
export function icmpv6CutText(state: LineState, type: number): string {
  if (type === ICMPV6_TYPE.ROUTER_SOLICITATION || type === ICMPV6_TYPE.ROUTER_ADVERTISEMENT) return "ICMP6, " + ICMP6_NAME[type]! + ", length " + state.ipUpper;
  return "ICMP6, " + icmpv6Name(state, type) + " [|icmp6]";
}

/** tcpdump's name of an ICMPv6 type as its line starts (`echo request`), for a message cut after its type byte. */
function icmpv6Name(state: LineState, type: number): string {
  const name = ICMP6_NAME[type];
  // an MLD query of 28 bytes or more is version 2 (RFC 3810 §8.1), which tcpdump says before reading on
  if (name !== undefined) return type === MLD_QUERY && state.ipUpper >= 28 ? name + " v2" : name;
  const flags = state.flags;
  const full = icmpv6Full(state, { layer: "icmpv6", type, code: 0, checksum: 0, checksumValid: null, checksumStatus: "unverified" }, undefined);
  state.flags = flags;
  const comma = full.indexOf(",", 7); // after "ICMP6, "
  return full.slice(7, comma < 0 ? full.length : comma);
}

function icmpv6Full(state: LineState, m: Icmpv6, rest: LayerBase | undefined): string {
  if (m.checksumStatus === "bad") state.flags += badChecksum("icmp6", m.checksum);
  const len = ", length " + state.ipUpper;
  let s: string;
  switch (m.type) {
    case ICMPV6_TYPE.DESTINATION_UNREACHABLE: {
      const q = quotedIp(m.quoted?.layers);
      const dst = q?.dst ?? "?";
      s =
        m.code === 4 && q?.port !== undefined
          ? "destination unreachable, unreachable port, " + dst + " " + q.proto + " port " + q.port
          : "destination unreachable, " + (UNREACH6[m.code] ?? "code " + m.code) + " " + dst;
      break;
    }
    case ICMPV6_TYPE.PACKET_TOO_BIG:
      s = "packet too big, mtu " + (m.mtu ?? 0);
      break;
    case ICMPV6_TYPE.TIME_EXCEEDED:
      s = m.code === 1 ? "time exceeded in-transit, reassembly" : "time exceeded in-transit";
      break;
    case ICMPV6_TYPE.PARAMETER_PROBLEM:
      s = "parameter problem, pointer " + (m.pointer ?? 0);
      break;
    case ICMPV6_TYPE.ECHO_REQUEST:
      s = "echo request, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0);
      break;
    case ICMPV6_TYPE.ECHO_REPLY:
      s = "echo reply, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0);
      break;
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
      s = "neighbor solicitation, who has " + (m.targetAddress ?? "?");
      break;
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
      s = "neighbor advertisement, tgt is " + (m.targetAddress ?? "?");
      break;
    case ICMPV6_TYPE.REDIRECT:
      s = "redirect, " + (m.targetAddress ?? "?") + " to " + (m.destinationAddress ?? "?");
      break;
    case MLD_QUERY:
    case MLD_REPORT:
    case MLD_DONE:
    case MLD2_REPORT: {
      const text = mldText(m.type, rest, state.ipUpper);
      // cut before the fields the line shows: tcpdump's mark, no length
      if (text === null) return "ICMP6, " + ICMP6_NAME[m.type]! + (m.type === MLD_QUERY && state.ipUpper >= 28 ? " v2" : "") + " [|icmp6]";
      s = ICMP6_NAME[m.type]! + text;
      break;
    }
    default:
      s = ICMP6_NAME[m.type] ?? "type " + m.type;
  }
  return "ICMP6, " + s + len;
}

// Multicast Listener Discovery (RFC 2710; version 2, RFC 3810)
const MLD_QUERY = 130;
const MLD_REPORT = 131;
const MLD_DONE = 132;
const MLD2_REPORT = 143;

/**
 * What tcpdump prints after an MLD message's name, from the bytes after the
 * ICMPv6 header's first 4 (`rest`, the payload layer), `length` the whole
 * message: version 1 (24 bytes) `max resp delay: D addr: A` (straight after
 * the name, as tcpdump has it); a version 2 query (28 or more) ` v2 [gaddr A]`
 * with `, N source(s)` inside the brackets when there are any; a version 2
 * report `, N group record(s)`.
 */
function mldText(type: number, rest: LayerBase | undefined, length: number): string | null {
  const p = rest?.layer === "payload" ? (rest as Payload).data : EMPTY;
  if (type === MLD2_REPORT) {
    if (length < 8) return "";
    return p.length >= 4 ? ", " + u16(p, 2) + " group record(s)" : null;
  }
  if (length === 24) return p.length >= 20 ? "max resp delay: " + u16(p, 0) + " addr: " + formatIpv6(p, 4) : null;
  if (type === MLD_QUERY && length >= 28) {
    if (p.length < 24) return null;
    const sources = u16(p, 22);
    return " v2 [gaddr " + formatIpv6(p, 4) + (sources > 0 ? ", " + sources + " source(s)" : "") + "]";
  }
  return "";
}

/** Reads a quoted payload's first bytes as a UDP header, where the port tcpdump prints sits. */
const QUOTED_PORTS = new UdpView(EMPTY);

/**
 * What an ICMP error's quoted datagram says: its destination and protocol, the
 * destination port of a quoted UDP or TCP header (`port`), and for any other
 * protocol the 16 bits where a UDP header keeps that port, bytes 2-3 after the
 * IP header (`otherPort`), which tcpdump prints for a port unreachable all
 * the same (print-icmp.c). Those bytes are a quoted ICMP message's checksum,
 * or come from the quote's undecoded payload; otherwise they are not known.
 */
function quotedIp(layers: readonly LayerBase[] | undefined): { dst: string; protocol: number; proto: string; port?: number; otherPort?: number } | null {
  if (layers === undefined) return null;
  const at = layers.findIndex((l) => l.layer === "ipv4" || l.layer === "ipv6");
  if (at < 0) return null;
  const ip = layers[at]!;
  const dst = (ip as Ipv4 | Ipv6).dst;
  const protocol = ip.layer === "ipv4" ? (ip as Ipv4).protocol : (ip as Ipv6).nextHeader;
  const t = layers.find((l) => l.layer === "udp" || l.layer === "tcp") as Udp | Tcp | undefined;
  if (t !== undefined) return { dst, protocol, proto: t.layer, port: t.dstPort };
  const next = layers[at + 1];
  if (next?.layer === "icmp" || next?.layer === "icmpv6") return { dst, protocol, proto: protoName(protocol), otherPort: (next as Icmp | Icmpv6).checksum };
  if (next?.layer === "payload") {
    const data = (next as Payload).data;
    if (data.length >= 4) {
      const otherPort = QUOTED_PORTS.reset(data, 0, data.length).dstPort;
      QUOTED_PORTS.reset(EMPTY, 0, 0); // hold no packet
      // A TCP or UDP header cut after its ports: those are all tcpdump reads.
      if (protocol === 6 || protocol === 17) return { dst, protocol, proto: protocol === 6 ? "tcp" : "udp", port: otherPort };
      return { dst, protocol, proto: protoName(protocol), otherPort };
    }
  }
  return { dst, protocol, proto: protoName(protocol) };
}

/**
 * Whether tcpdump would run out of the quote of this (cut) error: it needs
 * the quoted IP header, and for a port unreachable of TCP or UDP their ports.
 */
function quoteCut(m: Icmp): boolean {
  if (!QUOTE_NEEDED.has(m.type)) return false;
  const q = quotedIp(m.quoted?.layers);
  if (q === null) return true;
  return m.type === ICMP_TYPE.DESTINATION_UNREACHABLE && m.code === 3 && (q.protocol === 6 || q.protocol === 17) && q.port === undefined;
}

/** ICMP errors whose line names the quoted datagram's destination: tcpdump needs its header. */
const QUOTE_NEEDED: ReadonlySet<number> = new Set([ICMP_TYPE.DESTINATION_UNREACHABLE, ICMP_TYPE.REDIRECT]);

function unreachable(m: Icmp): string {
  const q = quotedIp(m.quoted?.layers);
  const dst = q?.dst ?? "?";
  switch (m.code) {
    case 0:
      return "net " + dst + " unreachable";
    case 1:
      return "host " + dst + " unreachable";
    case 2:
      return dst + " protocol " + (q?.protocol ?? "?") + " unreachable";
    case 3:
      if (q?.port !== undefined) return dst + " " + q.proto + " port " + q.port + " unreachable";
      if (q?.otherPort !== undefined) return dst + " protocol " + q.protocol + " port " + q.otherPort + " unreachable";
      return dst + " port unreachable";
    case 4:
      return dst + " unreachable - need to frag (mtu " + (m.nextHopMtu ?? 0) + ")";
    case 5:
      return dst + " unreachable - source route failed";
    case 9:
      return "net " + dst + " unreachable - admin prohibited";
    case 10:
      return "host " + dst + " unreachable - admin prohibited";
    case 13:
      return "host " + dst + " unreachable - admin prohibited filter";
    default:
      return dst + " unreachable - code " + m.code;
  }
}

/** tcpdump's words for the ICMPv6 destination unreachable codes (RFC 4443 §3.1). */
const UNREACH6: Record<number, string> = {
  0: "unreachable route",
  1: "unreachable prohibited",
  2: "beyond scope",
  3: "unreachable address",
  4: "unreachable port",
  5: "source address failed ingress/egress policy",
  6: "reject route",
};

/** tcpdump's names of the ICMPv6 types it prints by name alone. */
const ICMP6_NAME: Record<number, string> = {
  130: "multicast listener query",
  131: "multicast listener report",
  132: "multicast listener done",
  [ICMPV6_TYPE.ROUTER_SOLICITATION]: "router solicitation",
  [ICMPV6_TYPE.ROUTER_ADVERTISEMENT]: "router advertisement",
  143: "multicast listener report v2",
};
