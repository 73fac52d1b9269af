/**
 * The ICMP and ICMPv6 part of a line, in tcpdump's words (print-icmp.c,
 * print-icmp6.c): `ICMP echo request, id 1, seq 1, length 64`, `ICMP
 * 10.0.0.2 udp port 53 unreachable, length 36`, `ICMP6, neighbor
 * solicitation, who has fd77::2, length 32`; from a decoded {@link Icmp} or
 * {@link Icmpv6}, and for echo messages from their bytes through an
 * {@link IcmpView} or {@link Icmpv6View} ({@link writeEchoFrame}, the fast path).
 *
 * @example
 * ```ts
 * import { icmpText } from "./icmp.ts";
 * icmpText(state, { layer: "icmp", type: 8, code: 0, identifier: 1, sequence: 1, ... }); // "ICMP echo request, id 1, seq 1, length 64"
 * ```
 *
 * @module
 */
import { checksumStatusAt, type IpHeaderContext } from "../../../layers/checksum.ts";
import type { LayerBase, Payload } from "../../../layers/core.ts";
import { IP_PROTOCOL_ICMPV6 } from "../../../layers/dispatch.ts";
import { ICMP_TYPE, IcmpView, type Icmp } from "../../../layers/icmp.ts";
import { ICMPV6_FIELD, ICMPV6_TYPE, Icmpv6View, type Icmpv6 } from "../../../layers/icmpv6.ts";
import type { Ipv4 } from "../../../layers/ipv4.ts";
import type { Ipv6 } from "../../../layers/ipv6.ts";
import type { Tcp } from "../../../layers/tcp.ts";
import { UdpView, type Udp } from "../../../layers/udp.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { protoName } from "./ip_names.ts";
import { badChecksum } from "./issues.ts";
import type { LineState } from "./state.ts";

const EMPTY = new Uint8Array(0);

/** The ICMP part of a layered line; `state.ipUpper` is set. */
export function icmpText(state: LineState, m: Icmp): string {
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
export function icmpv6Text(state: LineState, m: Icmpv6): string {
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
    default:
      s = ICMP6_NAME[m.type] ?? "type " + m.type;
  }
  return "ICMP6, " + s + len;
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
      return { dst, protocol, proto: protoName(protocol), otherPort };
    }
  }
  return { dst, protocol, proto: protoName(protocol) };
}

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

// The fast path's views, pointed at each message (they hold the last one's bytes until the next).
const ICMP = new IcmpView(EMPTY);
const ICMPV6 = new Icmpv6View(EMPTY);

/**
 * The fast path's ICMP: `src > dst: ICMP echo request, id 1, seq 2, length
 * 64` (`ICMP6, echo request, ...` over IPv6) for an echo request or reply
 * `data[t, end)` whose checksum is right (ICMPv6's with its pseudo-header),
 * its IP layer `ip` and its addresses in `state`; false for anything else,
 * left to the full decode.
 */
export function writeEchoFrame(state: LineState, out: TextBuffer, data: Uint8Array, t: number, end: number, ip: IpHeaderContext): boolean {
  if (end <= t) return false;
  const v4 = ip.version === 4;
  let request: boolean;
  let identifier: number;
  let sequence: number;
  if (v4) {
    const m = ICMP.reset(data, t, end);
    const type = m.type;
    request = type === ICMP_TYPE.ECHO_REQUEST;
    if ((!request && type !== ICMP_TYPE.ECHO_REPLY) || end - t < m.headerLength) return false;
    if (!m.verifyChecksum()) return false;
    identifier = m.identifier;
    sequence = m.sequence;
  } else {
    const m = ICMPV6.reset(data, t, end);
    const type = m.type;
    request = type === ICMPV6_TYPE.ECHO_REQUEST;
    if ((!request && type !== ICMPV6_TYPE.ECHO_REPLY) || end - t < m.headerLength) return false;
    if (checksumStatusAt(data, t, end, ICMPV6_FIELD.CHECKSUM, IP_PROTOCOL_ICMPV6, ip, end - t) !== "good") return false;
    identifier = m.identifier;
    sequence = m.sequence;
  }
  out.ascii(state.ipSrc);
  out.ascii(" > ");
  out.ascii(state.ipDst);
  out.ascii(v4 ? ": ICMP echo " : ": ICMP6, echo ");
  out.ascii(request ? "request" : "reply");
  out.ascii(", id ");
  out.uint(identifier);
  out.ascii(", seq ");
  out.uint(sequence);
  out.ascii(", length ");
  out.uint(end - t);
  return true;
}
