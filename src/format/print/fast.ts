/**
 * The fast path of `stackts read`'s one-line output: the line of a common
 * clean frame written straight from its bytes into the output buffer, with no
 * layer value and no string made for it. Ethernet (with 802.1Q tags) carrying
 * ARP, IPv4 without options or fragmentation, or IPv6 without extension
 * headers, carrying TCP, UDP or an ICMP/ICMPv6 echo, every checksum right (or
 * left to offload, or absent on UDP over IPv4), and no application layer but
 * HTTP over TCP or DNS over UDP. Anything else is turned down (false) and goes
 * to the full decode and `formatLine`, which prints the same text for the
 * frames this path takes (test/format.test.ts checks that).
 *
 * Why one function from the link header to the transport's numbers: this is
 * the loop `stackts read` spends its time in, and issue #11 keeps it as fast
 * as tcpdump relative to it. Split over one function per layer (each with its
 * own checks, fields object and checksum context) it was 5-10% slower: V8's
 * inlining budget ran out before the calls that write the line. So each
 * header is read here in place, at its view's field offsets (the tables in
 * layers/), with the byte reads written out rather than called: the first
 * ten thousands of frames run before V8 optimizes anything, and there each
 * call costs. Every check that can turn the frame down comes before any text
 * is written, and the pseudo-header is summed once, from the bytes the IPv4
 * header checksum already summed. What is shared with the layered line (the
 * TCP part after the ports, the TCP options, the app layer's text) and ARP
 * (arp.ts) are called.
 *
 * @example
 * ```ts
 * import { writeFastLine } from "./fast.ts";
 * if (!writeFastLine(state, out, frame, 1, frame.length, false, 0, frame.length)) {
 *   // decode the frame and use formatLine
 * }
 * ```
 *
 * @module
 */
import { formatIpv4, formatIpv6 } from "../../../layers/addr.ts";
import { foldSum, onesSum, prepareWords } from "../../../layers/checksum.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_QINQ_OLD, ETHERTYPE_VLAN, IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6, IP_PROTOCOL_TCP, IP_PROTOCOL_UDP, LINKTYPE } from "../../../layers/dispatch.ts";
import { ETHERNET_FIELD, ETHERNET_HEADER_LENGTH } from "../../../layers/ethernet.ts";
import { ICMP_TYPE } from "../../../layers/icmp.ts";
import { ICMP_HEADER_FIELD } from "../../../layers/icmp_header.ts";
import { ICMPV6_TYPE } from "../../../layers/icmpv6.ts";
import { IPV4_FIELD, IPV4_HEADER_LENGTH, IPV6_FIELD, IPV6_HEADER_LENGTH } from "../../../layers/ip_fields.ts";
import { sniffTcp, tcpPortKind, udpPortKind, type Kind } from "../../../layers/registry.ts";
import { TCP_FIELD, TCP_HEADER_LENGTH } from "../../../layers/tcp.ts";
import { parseTcpOptions, type TcpOption } from "../../../layers/tcp_options.ts";
import { UDP_FIELD, UDP_HEADER_LENGTH } from "../../../layers/udp.ts";
import { VLAN_FIELD, VLAN_HEADER_LENGTH } from "../../../layers/vlan.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { appText } from "./app.ts";
import { writeArpFrame } from "./arp.ts";
import type { LineState } from "./state.ts";
import { writeTcp } from "./tcp.ts";
import { commonOptions } from "./tcp_options.ts";

// Module-local copies: V8 folds a module-local const, where it loads an
// imported binding through its cell at every use (see layers/ipv4.ts).
const ETHERNET = LINKTYPE.ETHERNET;
const ETHER_HEADER = ETHERNET_HEADER_LENGTH;
const ETHER_TYPE = ETHERNET_FIELD.TYPE;
const TAG_HEADER = VLAN_HEADER_LENGTH;
const TAG_TYPE = VLAN_FIELD.TYPE;
const TPID = ETHERTYPE_VLAN;
const TPID_QINQ = ETHERTYPE_QINQ;
const TPID_QINQ_OLD = ETHERTYPE_QINQ_OLD;
const IPV4 = ETHERTYPE_IPV4;
const IPV6 = ETHERTYPE_IPV6;
const ARP = ETHERTYPE_ARP;
const TCP = IP_PROTOCOL_TCP;
const UDP = IP_PROTOCOL_UDP;
const ICMP = IP_PROTOCOL_ICMP;
const ICMPV6 = IP_PROTOCOL_ICMPV6;
const V4_HEADER = IPV4_HEADER_LENGTH;
const V4_TOTAL_LENGTH = IPV4_FIELD.TOTAL_LENGTH;
const V4_FLAGS_FRAGMENT = IPV4_FIELD.FLAGS_FRAGMENT;
const V4_PROTOCOL = IPV4_FIELD.PROTOCOL;
const V4_SRC = IPV4_FIELD.SRC;
const V4_DST = IPV4_FIELD.DST;
/** version 4 and a header of 20 bytes (IHL 5): the first byte of every IPv4 header this path takes */
const V4_NO_OPTIONS = 0x45;
/** the more-fragments bit and the fragment offset (RFC 791): a fragment when any is set */
const V4_FRAGMENT_BITS = 0x3fff;
const V6_HEADER = IPV6_HEADER_LENGTH;
const V6_PAYLOAD_LENGTH = IPV6_FIELD.PAYLOAD_LENGTH;
const V6_NEXT_HEADER = IPV6_FIELD.NEXT_HEADER;
const V6_SRC = IPV6_FIELD.SRC;
const V6_DST = IPV6_FIELD.DST;
const TCP_HEADER = TCP_HEADER_LENGTH;
const TCP_SEQ = TCP_FIELD.SEQ;
const TCP_ACK = TCP_FIELD.ACK;
const TCP_DATA_OFFSET = TCP_FIELD.DATA_OFFSET;
const TCP_FLAGS_AT = TCP_FIELD.FLAGS;
const TCP_WINDOW = TCP_FIELD.WINDOW;
const TCP_CHECKSUM = TCP_FIELD.CHECKSUM;
const TCP_URGENT = TCP_FIELD.URGENT_POINTER;
const UDP_HEADER = UDP_HEADER_LENGTH;
const UDP_LENGTH = UDP_FIELD.LENGTH;
const UDP_CHECKSUM = UDP_FIELD.CHECKSUM;
const ICMP_ECHO_HEADER = 8;
const ICMP_IDENTIFIER = ICMP_HEADER_FIELD.IDENTIFIER;
const ICMP_SEQUENCE = ICMP_HEADER_FIELD.SEQUENCE;
const ECHO_REQUEST = ICMP_TYPE.ECHO_REQUEST;
const ECHO_REPLY = ICMP_TYPE.ECHO_REPLY;
const ECHO6_REQUEST = ICMPV6_TYPE.ECHO_REQUEST;
const ECHO6_REPLY = ICMPV6_TYPE.ECHO_REPLY;
/** VLAN tags followed at most; a deeper stack goes to the full decode. */
const MAX_TAGS = 8;

const NO_OPTIONS: readonly TcpOption[] = [];

/**
 * Whether a transport checksum over `data[t, end)` with the pseudo-header
 * sum `pseudo` is right, or is the pseudo-header's sum alone (left to
 * offload: "partial", not flagged); the stored checksum is at `t + at`.
 */
function transportSumOk(data: Uint8Array, t: number, end: number, pseudo: number, at: number): boolean {
  if (foldSum(onesSum(data, t, end, pseudo)) === 0xffff) return true;
  const stored = (data[t + at]! << 8) | data[t + at + 1]!;
  const partial = foldSum(pseudo);
  // 0 and 0xffff are the same ones-complement number; compare both spellings.
  return stored === partial || (partial === 0xffff && stored === 0);
}

/**
 * Write the line (without time stamp) of the frame `data[start, end)` of
 * link type `linkType` into `out`, for the frames described in the module
 * comment; false for any other, with part of the line perhaps written (the
 * caller takes it back). `length` is the original length; `udpHinted` leaves
 * UDP to the full decode (a conversation tracker may claim its ports). The
 * caller checks `state.linkHeaders` (a -e line is never written here).
 */
export function writeFastLine(
  state: LineState,
  out: TextBuffer,
  data: Uint8Array,
  linkType: number,
  length: number,
  udpHinted: boolean,
  start: number,
  end: number,
): boolean {
  if (linkType !== ETHERNET || end - start < ETHER_HEADER || length !== end - start) return false;
  if (start !== 0 || end !== data.length) prepareWords(data);
  let type = (data[start + ETHER_TYPE]! << 8) | data[start + ETHER_TYPE + 1]!;
  let at = start + ETHER_HEADER;
  for (let tags = 0; type === TPID || type === TPID_QINQ || type === TPID_QINQ_OLD; tags++) {
    if (tags === MAX_TAGS || end - at < TAG_HEADER) return false;
    // Without -e tcpdump prints no tag; the line is the packet inside.
    type = (data[at + TAG_TYPE]! << 8) | data[at + TAG_TYPE + 1]!;
    at += TAG_HEADER;
  }
  let v4: boolean;
  let protocol: number;
  let t: number; // where the transport header starts
  let addressSum: number;
  if (type === IPV4) {
    if (end - at < V4_HEADER || data[at] !== V4_NO_OPTIONS) return false;
    const total = (data[at + V4_TOTAL_LENGTH]! << 8) | data[at + V4_TOTAL_LENGTH + 1]!;
    if (total < V4_HEADER || total > end - at || ((data[at + V4_FLAGS_FRAGMENT]! << 8) | data[at + V4_FLAGS_FRAGMENT + 1]!) & V4_FRAGMENT_BITS) return false;
    protocol = data[at + V4_PROTOCOL]!;
    if (protocol === UDP ? udpHinted : protocol !== TCP && protocol !== ICMP) return false;
    // The addresses, summed once: the header checksum's last 8 bytes and the pseudo-header's.
    // (RFC 1071 §2(B): the high and the low bytes of the words add up apart)
    const a = at + V4_SRC;
    addressSum = (data[a]! + data[a + 2]! + data[a + 4]! + data[a + 6]!) * 256 + data[a + 1]! + data[a + 3]! + data[a + 5]! + data[a + 7]!;
    const high = data[at]! + data[at + 2]! + data[at + 4]! + data[at + 6]! + data[at + 8]! + data[at + 10]!;
    const low = data[at + 1]! + data[at + 3]! + data[at + 5]! + data[at + 7]! + data[at + 9]! + data[at + 11]!;
    if (foldSum(addressSum + high * 256 + low) !== 0xffff) return false; // the header checksum
    v4 = true;
    t = at + V4_HEADER;
    end = at + total;
  } else if (type === IPV6) {
    if (end - at < V6_HEADER || data[at]! >> 4 !== 6) return false;
    const upper = (data[at + V6_PAYLOAD_LENGTH]! << 8) | data[at + V6_PAYLOAD_LENGTH + 1]!;
    t = at + V6_HEADER;
    if (upper === 0 || upper > end - t) return false;
    // An extension header is none of these: the full decode walks the chain.
    protocol = data[at + V6_NEXT_HEADER]!;
    if (protocol === UDP ? udpHinted : protocol !== TCP && protocol !== ICMPV6) return false;
    addressSum = onesSum(data, at + V6_SRC, at + V6_DST + 16);
    v4 = false;
    end = t + upper;
  } else if (type === ARP) {
    return writeArpFrame(out, data, at, end, length - (at - start));
  } else {
    return false;
  }
  const upper = end - t;
  const pseudo = addressSum + protocol + upper;
  // Every check that can turn the frame down comes before any text; the
  // addresses are then written in one place for every protocol.
  let srcPort = -1;
  let dstPort = -1;
  /** TCP: where the options start and the payload; the app layer's text after the line (UDP: its whole line) */
  let optionsStart = 0;
  let payloadStart = 0;
  let options: readonly TcpOption[] = NO_OPTIONS;
  let text = "";
  /** ICMP: an echo request rather than a reply */
  let request = false;
  if (protocol === TCP) {
    if (upper < TCP_HEADER) return false;
    const hl = (data[t + TCP_DATA_OFFSET]! >> 4) << 2;
    if (hl < TCP_HEADER || hl > upper) return false;
    srcPort = (data[t]! << 8) | data[t + 1]!;
    dstPort = (data[t + 2]! << 8) | data[t + 3]!;
    payloadStart = t + hl;
    // The application layer, chosen as the full decode chooses it (tcp.ts): of
    // those, only HTTP is decoded here, and only with an app formatter; DNS
    // over TCP (whose framing depends on the layer below) and the rest go to
    // the full decode, told before any checksum is summed.
    let app: Kind | null = null;
    const portKind = tcpPortKind(srcPort, dstPort);
    if (payloadStart < end) app = portKind ?? sniffTcp(data, payloadStart, end);
    if (app !== null && (app !== "http" || state.app === undefined)) return false;
    if (!transportSumOk(data, t, end, pseudo, TCP_CHECKSUM)) return false;
    optionsStart = t + TCP_HEADER;
    if (payloadStart > optionsStart && !commonOptions(data, optionsStart, payloadStart)) {
      const list = state.options;
      list.length = 0;
      if (parseTcpOptions(data, optionsStart, payloadStart, list) !== null) return false;
      options = list;
    }
    if (app !== null) {
      const appLine = appText(state, app, data, payloadStart, end);
      if (appLine === null) return false;
      // tcpdump: "length 62: HTTP: GET / HTTP/1.1"; on an HTTP port, data that
      // does not start a message (the rest of a body) is "length 1448: HTTP"
      if (appLine !== "") text = ": " + appLine;
      else if (portKind === "http") text = ": HTTP";
    }
  } else if (protocol === UDP) {
    if (upper < UDP_HEADER || ((data[t + UDP_LENGTH]! << 8) | data[t + UDP_LENGTH + 1]!) !== upper) return false;
    srcPort = (data[t]! << 8) | data[t + 1]!;
    dstPort = (data[t + 2]! << 8) | data[t + 3]!;
    // The application layer, chosen as the full decode chooses it (udp.ts): of
    // those, only DNS is decoded here; TFTP (which a conversation tracker
    // follows), DHCP and the rest go to the full decode.
    let app: Kind | null = null;
    if (upper > UDP_HEADER) app = udpPortKind(srcPort, dstPort);
    if (app !== null && (app !== "dns" || state.app === undefined)) return false;
    // no checksum (0) is allowed over IPv4 alone
    if (!(v4 && ((data[t + UDP_CHECKSUM]! << 8) | data[t + UDP_CHECKSUM + 1]!) === 0) && !transportSumOk(data, t, end, pseudo, UDP_CHECKSUM)) return false;
    if (app !== null) {
      const appLine = appText(state, app, data, t + UDP_HEADER, end);
      if (appLine === null) return false;
      text = appLine;
    }
  } else {
    // An ICMP echo over IPv4 (no pseudo-header), an ICMPv6 echo over IPv6
    // (whose checksum must be right: one left to offload is not taken).
    if (upper < ICMP_ECHO_HEADER) return false;
    const icmpType = data[t]!;
    request = icmpType === (v4 ? ECHO_REQUEST : ECHO6_REQUEST);
    if (!request && icmpType !== (v4 ? ECHO_REPLY : ECHO6_REPLY)) return false;
    if (foldSum(onesSum(data, t, end, v4 ? 0 : pseudo)) !== 0xffff) return false;
  }
  writeAddresses(state, out, data, at, v4, srcPort, dstPort);
  if (protocol === TCP) {
    const flags = ((data[t + TCP_FLAGS_AT]! << 8) | data[t + TCP_FLAGS_AT + 1]!) & 0xfff;
    const seq = ((data[t + TCP_SEQ]! << 24) | (data[t + TCP_SEQ + 1]! << 16) | (data[t + TCP_SEQ + 2]! << 8) | data[t + TCP_SEQ + 3]!) >>> 0;
    const ack = ((data[t + TCP_ACK]! << 24) | (data[t + TCP_ACK + 1]! << 16) | (data[t + TCP_ACK + 2]! << 8) | data[t + TCP_ACK + 3]!) >>> 0;
    const window = (data[t + TCP_WINDOW]! << 8) | data[t + TCP_WINDOW + 1]!;
    const urgent = (data[t + TCP_URGENT]! << 8) | data[t + TCP_URGENT + 1]!;
    const optionsEnd = options === NO_OPTIONS ? payloadStart : optionsStart;
    writeTcp(state, out, srcPort, dstPort, seq, ack, flags, window, urgent, options, end - payloadStart, data, optionsStart, optionsEnd);
    if (text !== "") out.text(text);
  } else if (protocol === UDP) {
    if (text !== "") {
      out.text(text);
    } else {
      out.ascii("UDP, length ");
      out.uint(upper - UDP_HEADER);
    }
  } else {
    out.ascii(v4 ? "ICMP echo " : "ICMP6, echo ");
    out.ascii(request ? "request" : "reply");
    out.ascii(", id ");
    out.uint((data[t + ICMP_IDENTIFIER]! << 8) | data[t + ICMP_IDENTIFIER + 1]!);
    out.ascii(", seq ");
    out.uint((data[t + ICMP_SEQUENCE]! << 8) | data[t + ICMP_SEQUENCE + 1]!);
    out.ascii(", length ");
    out.uint(upper);
  }
  return true;
}

/**
 * `IP a.1 > b.2: ` (`IP6 ` for IPv6; without ports when `srcPort` is
 * negative) for the IP header at `data[at]`, its addresses left in `state`
 * for the TCP sequence numbers.
 */
function writeAddresses(state: LineState, out: TextBuffer, data: Uint8Array, at: number, v4: boolean, srcPort: number, dstPort: number): void {
  let src: string;
  let dst: string;
  if (v4) {
    src = formatIpv4(data, at + V4_SRC);
    dst = formatIpv4(data, at + V4_DST);
    out.ascii("IP ");
  } else {
    src = formatIpv6(data, at + V6_SRC);
    dst = formatIpv6(data, at + V6_DST);
    out.ascii("IP6 ");
  }
  state.ipSrc = src;
  state.ipDst = dst;
  out.ascii(src);
  if (srcPort >= 0) {
    out.byte(0x2e); // "."
    out.uint(srcPort);
  }
  out.ascii(" > ");
  out.ascii(dst);
  if (dstPort >= 0) {
    out.byte(0x2e);
    out.uint(dstPort);
  }
  out.ascii(": ");
}
