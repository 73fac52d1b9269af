/**
 * The IPv4 and IPv6 part of a line: `IP 10.0.0.1 > 10.0.0.2: ` (`IP6` for
 * IPv6), the ports going after the addresses for TCP and UDP, fragments and
 * IPv6 extension headers as tcpdump shows them, then the transport's part;
 * tunnels nest. From decoded layers ({@link ipText}), or from the frame's
 * bytes through an {@link Ipv4View} or {@link Ipv6View} ({@link writeIpv4Frame},
 * {@link writeIpv6Frame}, the fast path) for a datagram without options,
 * fragmentation or extension headers carrying TCP, UDP or an ICMP echo.
 *
 * @example
 * ```ts
 * import { ipText } from "./ip.ts";
 * ipText(state, decoded.layers, 1); // "IP 10.0.0.1.40000 > 10.0.0.2.53: UDP, length 20"
 * ```
 *
 * @module
 */
import { formatIpv4, formatIpv6 } from "../../../layers/addr.ts";
import { IpHeaderContext } from "../../../layers/checksum.ts";
import { u16 } from "../../../layers/bytes.ts";
import type { LayerBase, Payload } from "../../../layers/core.ts";
import { IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6, IP_PROTOCOL_TCP, IP_PROTOCOL_UDP } from "../../../layers/dispatch.ts";
import type { Icmp } from "../../../layers/icmp.ts";
import type { Icmpv6 } from "../../../layers/icmpv6.ts";
import { IPV4_FIELD, IPV4_HEADER_LENGTH, Ipv4View, type Ipv4, type Ipv4Fields } from "../../../layers/ipv4.ts";
import { IPV6_FIELD, IPV6_HEADER_LENGTH, Ipv6View, type Ipv6, type Ipv6Fields } from "../../../layers/ipv6.ts";
import type { Tcp } from "../../../layers/tcp.ts";
import type { Udp } from "../../../layers/udp.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { appOr } from "./app.ts";
import { icmpText, icmpv6CutText, icmpv6Text, writeEchoFrame } from "./icmp.ts";
import { EXT_NAME, protoName } from "./ip_names.ts";
import { badChecksum } from "./issues.ts";
import { isCut, type LineState } from "./state.ts";
import { tcpText, writeTcpFrame } from "./tcp.ts";
import { udpText, writeUdpFrame } from "./udp.ts";

// Module-local names: V8 folds these, where it loads an imported binding at every use.
const TCP = IP_PROTOCOL_TCP;
const UDP = IP_PROTOCOL_UDP;
const ICMP = IP_PROTOCOL_ICMP;
const ICMPV6 = IP_PROTOCOL_ICMPV6;
const V4_HEADER_LENGTH = IPV4_HEADER_LENGTH;
const V6_HEADER_LENGTH = IPV6_HEADER_LENGTH;

/** "IP a > b: ..." or "IP6 a > b: ..." for the IP layer `layers[i]` and what it carries, recursing into tunnels. */
export function ipText(state: LineState, layers: readonly LayerBase[], i: number): string {
  const l = layers[i]!;
  let head: string;
  let src: string;
  let dst: string;
  let protocol: number;
  let laterFragment = false;
  let fragment = "";
  if (l.layer === "ipv4") {
    const ip = l as Ipv4;
    // tcpdump -e names the protocol in the link header instead, at every level
    head = state.linkHeaders ? "" : "IP ";
    src = ip.src;
    dst = ip.dst;
    protocol = ip.protocol;
    state.ipUpper = ip.totalLength - ip.headerLength;
    if (ip.checksumValid === false) state.flags += badChecksum("ip", ip.checksum);
    if (ip.fragmentOffset > 0 || ip.moreFragments) {
      // tcpdump -v's form: (frag id:size@offset[+])
      fragment = " (frag " + ip.id + ":" + state.ipUpper + "@" + ip.fragmentOffset + (ip.moreFragments ? "+)" : ")");
      laterFragment = ip.fragmentOffset > 0;
    }
  } else {
    const ip = l as Ipv6;
    head = state.linkHeaders ? "" : "IP6 ";
    src = ip.src;
    dst = ip.dst;
    protocol = ip.nextHeader;
    let upper = ip.payloadLength;
    const exts = ip.extensions;
    for (let k = 0; k < exts.length; k++) {
      const x = exts[k]!;
      upper -= x.headerLength;
      protocol = x.nextHeader;
      // tcpdump prints the extension headers between the addresses and the payload.
      if (x.type === "fragment") {
        const off = x.fragmentOffset ?? 0;
        fragment += " frag (" + off + "|" + upper + ")";
        if (off > 0) laterFragment = true;
      } else {
        fragment += " " + EXT_NAME[x.type];
      }
    }
    state.ipUpper = upper;
  }
  state.ipSrc = src;
  state.ipDst = dst;
  const next = layers[i + 1];
  const upper = state.ipUpper;
  if (laterFragment || next === undefined || next.layer === "payload") {
    if (!laterFragment && state.cut.length > 0) {
      const text = cutTransportText(state, protocol, next as Payload | undefined, fragment === "" ? "" : fragment.slice(1) + " ");
      if (text !== null) return head + text;
    }
    return head + src + " > " + dst + ":" + fragment + " " + protoName(protocol) + (upper >= 0 ? ", length " + upper : "");
  }
  const lead = fragment === "" ? "" : fragment.slice(1) + " ";
  switch (next.layer) {
    case "udp": {
      const u = next as Udp;
      const text = udpText(state, u, layers[i + 2]);
      return head + src + "." + u.srcPort + " > " + dst + "." + u.dstPort + ": " + lead + text;
    }
    case "tcp": {
      const t = next as Tcp;
      return head + src + "." + t.srcPort + " > " + dst + "." + t.dstPort + ": " + lead + tcpText(state, t, layers[i + 2]);
    }
    case "icmp":
      return head + src + " > " + dst + ": " + lead + icmpText(state, next as Icmp);
    case "icmpv6":
      return head + src + " > " + dst + ": " + lead + icmpv6Text(state, next as Icmpv6, layers[i + 2]);
    case "ipv4":
    case "ipv6":
      return head + src + " > " + dst + ": " + lead + ipText(state, layers, i + 1);
    default:
      return head + src + " > " + dst + ": " + lead + appOr(state, next, protoName(protocol) + ", length " + upper);
  }
}

/**
 * A transport header the capture cut, as tcpdump prints it after "IP ":
 * `a.1 > b.2:  [|tcp]` with the ports when their 4 bytes are there (`a > b:
 * [|tcp]` without), `a.1 > b.2:  [|udp]` (`a > b:  [|udp]`), `a > b:
 * [|icmp]`, `a > b:  [|icmp6]`; null for a transport that was not cut.
 * `rest` holds the header's captured bytes; `lead` names the IPv6 extension
 * headers before it.
 */
function cutTransportText(state: LineState, protocol: number, rest: Payload | undefined, lead: string): string | null {
  const text = cutTransport(state, protocol, rest);
  if (text === null) return null;
  // IPv6 extension headers go after the addresses, as on a whole line
  const colon = text.indexOf(": ");
  return lead === "" || colon < 0 ? text : text.slice(0, colon + 2) + lead + text.slice(colon + 2).replace(/^ /, "");
}

function cutTransport(state: LineState, protocol: number, rest: Payload | undefined): string | null {
  const src = state.ipSrc;
  const dst = state.ipDst;
  const data = rest?.data;
  const ports = data !== undefined && data.length >= 4;
  if (protocol === TCP && isCut(state, "tcp")) {
    return ports ? src + "." + u16(data, 0) + " > " + dst + "." + u16(data, 2) + ":  [|tcp]" : src + " > " + dst + ": [|tcp]";
  }
  if (protocol === UDP && isCut(state, "udp")) {
    return ports ? src + "." + u16(data, 0) + " > " + dst + "." + u16(data, 2) + ":  [|udp]" : src + " > " + dst + ":  [|udp]";
  }
  if (protocol === ICMP && isCut(state, "icmp")) return src + " > " + dst + ":  [|icmp]";
  // an IPv6 extension header the capture cut: tcpdump's name for it
  const ext = EXT_CUT_NAME[protocol];
  if (ext !== undefined && isCut(state, "ipv6")) return src + " > " + dst + ":  [|" + ext + "]";
  if (protocol === ICMPV6 && isCut(state, "icmpv6")) {
    // tcpdump names the type once its byte is there
    return data !== undefined && data.length >= 1 ? src + " > " + dst + ": " + icmpv6CutText(state, data[0]!) : src + " > " + dst + ":  [|icmp6]";
  }
  return null;
}

/** tcpdump's names of IPv6 extension headers in a cut mark (hop-by-hop, routing, fragment, destination options). */
const EXT_CUT_NAME: { readonly [nextHeader: number]: string } = { 0: "hbhopt", 43: "srcrt", 44: "frag", 60: "dstopt" };

const EMPTY = new Uint8Array(0);
// The fast path's views and the fixed header's fields, pointed at each
// datagram (they hold the last one's bytes until the next).
const readIpv4 = Ipv4View.readInto;
/** IPv4's address offsets, from its field table */
const V4_SRC = IPV4_FIELD.SRC;
const V4_DST = IPV4_FIELD.DST;
const V4_FIELDS: Ipv4Fields = {
  version: 0, headerLength: 0, dscp: 0, ecn: 0, totalLength: 0, id: 0, reservedFlag: false, dontFragment: false, moreFragments: false,
  fragmentOffset: 0, ttl: 0, protocol: 0, checksum: 0, checksumValid: null,
};
const readIpv6 = Ipv6View.readInto;
/** IPv6's address offsets, from its field table */
const V6_SRC = IPV6_FIELD.SRC;
const V6_DST = IPV6_FIELD.DST;
const V6_FIELDS: Ipv6Fields = { version: 0, trafficClass: 0, flowLabel: 0, payloadLength: 0, nextHeader: 0, hopLimit: 0 };
/** The transport checksums' pseudo-header, from the datagram's own bytes. */
const CONTEXT = new IpHeaderContext(4, EMPTY, 0, 0, true, false);

/**
 * The fast path's IPv4: `IP ` and the transport's part for the datagram at
 * `data[at]` (the frame ends at `end`), or false, leaving the frame to the
 * full decode, for options, a fragment, a wrong header checksum, a total
 * length past the frame, or a protocol other than TCP, UDP (not `udpHinted`)
 * or ICMP, or whatever the transport's writer turns down.
 */
export function writeIpv4Frame(state: LineState, out: TextBuffer, data: Uint8Array, at: number, end: number, udpHinted: boolean): boolean {
  if (end - at < V4_HEADER_LENGTH) return false;
  const f = V4_FIELDS;
  // Every field in one read, the header checksum summed on the way.
  const addressSum = readIpv4(data, at, end, f, true);
  if (f.version !== 4 || f.headerLength !== V4_HEADER_LENGTH || f.checksumValid !== true) return false;
  const total = f.totalLength;
  if (total < V4_HEADER_LENGTH || total > end - at || f.moreFragments || f.fragmentOffset !== 0) return false;
  const protocol = f.protocol;
  if (protocol === UDP ? udpHinted : protocol !== TCP && protocol !== ICMP) return false;
  const upper = total - V4_HEADER_LENGTH;
  const context = CONTEXT.reset(4, data, at, upper, true, false, addressSum);
  state.ipSrc = formatIpv4(data, at + V4_SRC);
  state.ipDst = formatIpv4(data, at + V4_DST);
  state.ipUpper = upper;
  out.ascii("IP ");
  // The header has no options (checked above): the payload starts after its 20 bytes.
  return writeTransport(state, out, data, protocol, at + V4_HEADER_LENGTH, at + total, context);
}

/**
 * The fast path's IPv6: `IP6 ` and the transport's part for the datagram at
 * `data[at]` (the frame ends at `end`), or false, leaving the frame to the
 * full decode, for an extension header, an empty payload or one past the
 * frame, a protocol other than TCP, UDP (not `udpHinted`) or ICMPv6, or
 * whatever the transport's writer turns down.
 */
export function writeIpv6Frame(state: LineState, out: TextBuffer, data: Uint8Array, at: number, end: number, udpHinted: boolean): boolean {
  if (end - at < V6_HEADER_LENGTH) return false;
  const ip = V6_FIELDS;
  readIpv6(data, at, ip);
  if (ip.version !== 6) return false;
  const upper = ip.payloadLength;
  const t = at + V6_HEADER_LENGTH; // the view's payloadStart
  if (upper === 0 || upper > end - t) return false;
  // An extension header is none of these: the full decode walks the chain.
  const protocol = ip.nextHeader;
  if (protocol === UDP ? udpHinted : protocol !== TCP && protocol !== ICMPV6) return false;
  // The addresses are summed for the pseudo-header when a checksum asks for them.
  const context = CONTEXT.reset(6, data, at, upper, true, false);
  state.ipSrc = formatIpv6(data, at + V6_SRC);
  state.ipDst = formatIpv6(data, at + V6_DST);
  state.ipUpper = upper;
  out.ascii("IP6 ");
  return writeTransport(state, out, data, protocol, t, t + upper, context);
}

/** The transport's part of a fast line: `data[t, end)` is TCP, UDP, or ICMP/ICMPv6 (by the IP version). */
function writeTransport(state: LineState, out: TextBuffer, data: Uint8Array, protocol: number, t: number, end: number, ip: IpHeaderContext): boolean {
  if (protocol === TCP) return writeTcpFrame(state, out, data, t, end, ip);
  if (protocol === UDP) return writeUdpFrame(state, out, data, t, end, ip);
  return writeEchoFrame(state, out, data, t, end, ip);
}
