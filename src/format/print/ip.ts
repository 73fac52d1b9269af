/**
 * The IPv4 and IPv6 part of a line: `IP 10.0.0.1 > 10.0.0.2: ` (`IP6` for
 * IPv6), the ports going after the addresses for TCP and UDP, fragments and
 * IPv6 extension headers as tcpdump shows them, then the transport's part;
 * tunnels nest; from decoded layers ({@link ipText}). (The fast path,
 * straight from a frame's bytes, is fast.ts.)
 *
 * @example
 * ```ts
 * import { ipText } from "./ip.ts";
 * ipText(state, decoded.layers, 1); // "IP 10.0.0.1.40000 > 10.0.0.2.53: UDP, length 20"
 * ```
 *
 * @module
 */
import { u16 } from "../../../layers/bytes.ts";
import type { LayerBase, Payload } from "../../../layers/core.ts";
import { IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6, IP_PROTOCOL_TCP, IP_PROTOCOL_UDP } from "../../../layers/dispatch.ts";
import type { Icmp } from "../../../layers/icmp.ts";
import type { Icmpv6 } from "../../../layers/icmpv6.ts";
import type { Ipv4 } from "../../../layers/ipv4.ts";
import type { Ipv6 } from "../../../layers/ipv6.ts";
import type { Tcp } from "../../../layers/tcp.ts";
import type { Udp } from "../../../layers/udp.ts";
import { appOr } from "./app.ts";
import { icmpText, icmpv6CutText, icmpv6Text } from "./icmp.ts";
import { EXT_NAME, protoName } from "./ip_names.ts";
import { badChecksum } from "./issues.ts";
import { isCut, type LineState } from "./state.ts";
import { tcpText } from "./tcp.ts";
import { udpText } from "./udp.ts";

// Module-local names: V8 folds these, where it loads an imported binding at every use.
const TCP = IP_PROTOCOL_TCP;
const UDP = IP_PROTOCOL_UDP;
const ICMP = IP_PROTOCOL_ICMP;
const ICMPV6 = IP_PROTOCOL_ICMPV6;

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
