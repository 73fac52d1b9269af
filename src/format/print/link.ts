/**
 * The start of every line: the link layer, then what it carries. From
 * decoded layers ({@link formatLine}): Ethernet (II and 802.3), VLAN tags,
 * Linux cooked captures and loopback, printed as tcpdump -e prints them when
 * the formatter's `linkHeaders` is set (nothing of them otherwise, as tcpdump
 * without -e), then ARP, IP, LLC or an unknown ethertype; tcpdump's
 * `[|ether]`, `[|ip]`, ... where the capture cut a header short. (The
 * fast path, straight from a frame's bytes, is fast.ts.)
 *
 * @example
 * ```ts
 * import { formatLine } from "./link.ts";
 * formatLine(state, decoded.layers, decoded.issues, frame.length); // "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, ..."
 * ```
 *
 * @module
 */
import type { Issue, LayerBase } from "../../../layers/core.ts";
import { ETHERNET_HEADER_LENGTH, type Ethernet } from "../../../layers/ethernet.ts";
import { LOOPBACK_HEADER_LENGTH, type Loopback } from "../../../layers/loopback.ts";
import { SLL_HEADER_LENGTH, type Sll } from "../../../layers/sll.ts";
import { SLL2_HEADER_LENGTH, type Sll2 } from "../../../layers/sll2.ts";
import { VLAN_HEADER_LENGTH, type Vlan } from "../../../layers/vlan.ts";
import type { Arp } from "../../../layers/arp.ts";
import { appOr } from "./app.ts";
import { arpText } from "./arp.ts";
import { ipText } from "./ip.ts";
import { hex4, issueFlag } from "./issues.ts";
import { cutReason, isCut, type LineState } from "./state.ts";

/**
 * The line of a decoded packet (without time stamp): `length` is the frame's
 * original length on the wire. Problems flagged by the layers and the
 * packet's issues go at the end.
 */
export function formatLine(state: LineState, layers: readonly LayerBase[], issues: readonly Issue[], length: number): string {
  state.flags = "";
  state.cut = NOT_CUT;
  state.cutReasons = NOT_CUT;
  if (issues.length > 0) {
    // A frame cut by the capture (its issues stay "truncated" only then): the
    // cut layers get tcpdump's [|proto] where they stop, not flags.
    const cut: string[] = [];
    const reasons: string[] = [];
    for (const e of issues) {
      if (e.kind === "truncated") {
        cut.push(e.layer);
        reasons.push(e.reason);
      }
    }
    if (cut.length > 0) {
      state.cut = cut;
      state.cutReasons = reasons;
    }
  }
  let prefix = "";
  let linkHeader = 0;
  let i = 0;
  let linkType = -1;
  let text: string | null = null;
  for (; i < layers.length; i++) {
    const l = layers[i]!;
    const kind = l.layer;
    if (kind === "ethernet") {
      linkHeader += ETHERNET_HEADER_LENGTH;
      const e = l as Ethernet;
      linkType = e.type ?? -1;
      if (e.type === undefined) {
        text = `802.3, length ${e.length ?? 0}`;
      }
    } else if (kind === "vlan") {
      linkHeader += VLAN_HEADER_LENGTH;
      const v = l as Vlan;
      linkType = v.type;
    } else if (kind === "sll") {
      linkHeader += SLL_HEADER_LENGTH;
      linkType = (l as Sll).protocol;
    } else if (kind === "sll2") {
      linkHeader += SLL2_HEADER_LENGTH;
      const c = l as Sll2;
      linkType = c.protocol;
      // tcpdump 4.99: the interface (by its index, named on this host) and the direction
      const name = state.interfaceName?.(c.interfaceIndex) ?? "?";
      prefix += name.padEnd(5) + " " + (SLL_PACKET_TYPE_TEXT[c.packetType] ?? "?").padEnd(3) + " ";
    } else if (kind === "loopback") {
      linkHeader += LOOPBACK_HEADER_LENGTH;
    } else {
      break;
    }
  }
  const net = layers[i];
  const linkCut = cutLinkText(state, layers, net);
  if (linkCut !== null) {
    text = linkCut;
  } else if (net !== undefined) {
    switch (net.layer) {
      case "arp":
        text = arpText(net as Arp, length - linkHeader);
        break;
      case "ipv4":
      case "ipv6":
        text = ipText(state, layers, i);
        break;
      case "llc":
        text = `LLC, length ${length - linkHeader}`;
        break;
      case "payload":
        text = linkType >= 0 ? `ethertype 0x${hex4(linkType)}, length ${length - linkHeader}` : `length ${length - linkHeader}`;
        break;
      default:
        text = appOr(state, net, `${net.layer}, length ${length - linkHeader}`);
    }
  } else if (text === null) {
    text = linkType >= 0 ? `ethertype 0x${hex4(linkType)}, length ${length - linkHeader}` : `length ${length}`;
  }
  if (state.linkHeaders) {
    prefix = linkHeaderText(state, layers, i, length);
    // tcpdump -e: the link header names the protocol, the ARP line does not
    if (text.startsWith("ARP, ") && layers[i]?.layer === "arp") text = text.slice(5);
  }
  let line = prefix + text + state.flags;
  for (let k = 0; k < issues.length; k++) if (issues[k]!.kind !== "truncated") line += issueFlag(issues[k]!);
  return line;
}

/** A cooked header's packet type as tcpdump names it (Linux PACKET_HOST ... PACKET_OUTGOING). */
const SLL_PACKET_TYPE_TEXT: readonly string[] = ["In", "B", "M", "P", "Out"];

const NOT_CUT: readonly string[] = [];

/**
 * tcpdump's line when the capture cut the frame inside its link or network
 * header: ` [|ether]`, ` [|vlan]`, `IP  [|ip]` (` [|ip]` when not one byte of
 * it is there), ` [|ip6]`, ` [|arp]`; null when the frame was not cut there.
 * `net` is the first layer after the link layers.
 */
function cutLinkText(state: LineState, layers: readonly LayerBase[], net: LayerBase | undefined): string | null {
  if (state.cut.length === 0) return null;
  for (const link of ["ethernet", "vlan", "sll", "sll2", "loopback"]) {
    // cut inside its own header (an 802.3 length past the capture is not that)
    if (isCut(state, link) && (link === "vlan" ? cutReason(state, link).startsWith("tag needs") : !layers.some((l) => l.layer === link))) {
      return " [|" + (LINK_CUT_NAME[link] ?? link) + "]";
    }
  }
  if (isCut(state, "ipv4") && (net === undefined || net.layer === "payload" || cutReason(state, "ipv4").startsWith("header"))) {
    return net === undefined ? " [|ip]" : "IP  [|ip]";
  }
  if (isCut(state, "ipv6") && (net === undefined || net.layer === "payload")) return " [|ip6]";
  if (isCut(state, "arp") && (net === undefined || net.layer === "payload")) return " [|arp]";
  return null;
}

/** tcpdump's names in a link layer's cut mark. */
const LINK_CUT_NAME: { readonly [layer: string]: string } = { ethernet: "ether", loopback: "null" };

/**
 * tcpdump's names of ethertypes in a `-e` header (print-ether.c's table,
 * checked against tcpdump -e); others print as `Unknown`.
 */
const ETHERTYPE_NAME: ReadonlyMap<number, string> = new Map([
  [0x0800, "IPv4"],
  [0x0806, "ARP"],
  [0x8035, "Reverse ARP"],
  [0x86dd, "IPv6"],
  [0x8100, "802.1Q"],
  [0x88a8, "802.1Q-QinQ"],
  [0x9100, "802.1Q-9100"],
  [0x88cc, "LLDP"],
  [0x888e, "EAPOL"],
  [0x8847, "MPLS unicast"],
  [0x8848, "MPLS multicast"],
  [0x8863, "PPPoE D"],
  [0x8864, "PPPoE S"],
  [0x9000, "Loopback"],
]);

function ethertypeText(type: number): string {
  return "ethertype " + (ETHERTYPE_NAME.get(type) ?? "Unknown") + " (0x" + hex4(type) + ")";
}


/** tcpdump's names of loopback address families (BSD AF_INET, AF_INET6 of NetBSD/OpenBSD, FreeBSD, Darwin). */
const FAMILY_NAME: ReadonlyMap<number, string> = new Map([
  [2, "IPv4"],
  [24, "IPv6"],
  [28, "IPv6"],
  [30, "IPv6"],
]);

/**
 * The link-level part of a `-e` line for the link layers `layers[0, end)`
 * (`length` is the frame's original length), as tcpdump -e prints it:
 * `02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 98: `,
 * each VLAN tag as `vlan 7, p 5, DEI, ethertype IPv4 (0x0800), `, Linux cooked
 * ` In 02:00:00:00:00:01 ethertype IPv4 (0x0800), length 46: ` (version 2:
 * `lo    In  ifindex 1 ...`, the interface named on this host), loopback
 * `AF IPv4 (2), length 34: `.
 */
function linkHeaderText(state: LineState, layers: readonly LayerBase[], end: number, length: number): string {
  let s = "";
  for (let k = 0; k < end; k++) {
    const l = layers[k]!;
    switch (l.layer) {
      case "ethernet": {
        const e = l as Ethernet;
        s += e.src + " > " + e.dst + ", " + (e.type === undefined ? "802.3" : ethertypeText(e.type)) + ", length " + length + ": ";
        break;
      }
      case "vlan": {
        const v = l as Vlan;
        s += "vlan " + v.id + ", p " + v.pcp + (v.dei ? ", DEI" : "") + ", " + ethertypeText(v.type) + ", ";
        break;
      }
      case "sll": {
        const c = l as Sll;
        s += (SLL_PACKET_TYPE_TEXT[c.packetType] ?? String(c.packetType)).padStart(3) + " " + (c.address === "" ? "" : c.address + " ") + ethertypeText(c.protocol) + ", length " + length + ": ";
        break;
      }
      case "sll2": {
        const c = l as Sll2;
        // tcpdump 4.99: the interface named on this host ("?" when it has none of that index), as without -e
        s += (state.interfaceName?.(c.interfaceIndex) ?? "?").padEnd(5) + " ";
        s += (SLL_PACKET_TYPE_TEXT[c.packetType] ?? String(c.packetType)).padEnd(3) + " ifindex " + c.interfaceIndex + " " + (c.address === "" ? "" : c.address + " ") + ethertypeText(c.protocol) + ", length " + length + ": ";
        break;
      }
      case "loopback": {
        const f = (l as Loopback).family;
        s += "AF " + (FAMILY_NAME.get(f) ?? "Unknown") + " (" + f + "), length " + length + ": ";
        break;
      }
    }
  }
  return s;
}
