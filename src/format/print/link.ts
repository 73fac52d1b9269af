/**
 * The start of every line: the link layer, then what it carries. From
 * decoded layers ({@link formatLine}): Ethernet (II and 802.3), VLAN tags
 * (`vlan 100, p 0, ` before the rest, unlike tcpdump without `-e`), Linux
 * cooked captures and loopback, then ARP, IP, LLC or an unknown ethertype.
 * From a frame's bytes ({@link writeFrameLine}, the fast path): Ethernet with
 * its VLAN tags through {@link EthernetView} and {@link VlanView}, carrying
 * IPv4, IPv6 or ARP.
 *
 * @example
 * ```ts
 * import { formatLine } from "./link.ts";
 * formatLine(state, decoded.layers, decoded.issues, frame.length); // "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, ..."
 * ```
 *
 * @module
 */
import { prepareWords } from "../../../layers/checksum.ts";
import type { Issue, LayerBase } from "../../../layers/core.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, isVlanTpid, LINKTYPE } from "../../../layers/dispatch.ts";
import { ETHERNET_HEADER_LENGTH, EthernetView, type Ethernet } from "../../../layers/ethernet.ts";
import { LOOPBACK_HEADER_LENGTH } from "../../../layers/loopback.ts";
import { SLL_HEADER_LENGTH, type Sll } from "../../../layers/sll.ts";
import { SLL2_HEADER_LENGTH, type Sll2 } from "../../../layers/sll2.ts";
import { VLAN_HEADER_LENGTH, VlanView, type Vlan } from "../../../layers/vlan.ts";
import type { Arp } from "../../../layers/arp.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { appOr } from "./app.ts";
import { arpText, writeArpFrame } from "./arp.ts";
import { ipText, writeIpv4Frame, writeIpv6Frame } from "./ip.ts";
import { hex4, issueFlag } from "./issues.ts";
import type { LineState } from "./state.ts";

/**
 * The line of a decoded packet (without time stamp): `length` is the frame's
 * original length on the wire. Problems flagged by the layers and the
 * packet's issues go at the end.
 */
export function formatLine(state: LineState, layers: readonly LayerBase[], issues: readonly Issue[], length: number): string {
  state.flags = "";
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
      prefix += "vlan " + v.id + ", p " + v.pcp + (v.dei ? ", DEI" : "") + ", ";
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
  if (net !== undefined) {
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
  let line = prefix + text + state.flags;
  for (let k = 0; k < issues.length; k++) line += issueFlag(issues[k]!);
  return line;
}

/** A cooked header's packet type as tcpdump names it (Linux PACKET_HOST ... PACKET_OUTGOING). */
const SLL_PACKET_TYPE_TEXT: readonly string[] = ["In", "B", "M", "P", "Out"];

/** VLAN tags the fast path follows at most; a deeper stack goes to the full decode. */
const MAX_TAGS = 8;
// Module-local copies: an imported binding is a load and a check at every use.
const ETHERNET = LINKTYPE.ETHERNET;
const ETHER_HEADER = ETHERNET_HEADER_LENGTH;
const TAG_HEADER = VLAN_HEADER_LENGTH;
const IPV4 = ETHERTYPE_IPV4;
const IPV6 = ETHERTYPE_IPV6;
const ARP = ETHERTYPE_ARP;
const etherTypeAt = EthernetView.typeAt;
const readTag = VlanView.readInto;
/** The fast path's fields of a tag, read once per tag by the view's bulk reader. */
const TAG: Omit<Vlan, "layer" | "tpid"> = { id: 0, pcp: 0, dei: false, type: 0 };

/**
 * The line of the frame `data[start, end)` of link type `linkType` straight
 * from its bytes, written into `out`, for the clean common cases (see
 * `SummaryFormatter.writeFrame`); false for any other, with part of the line
 * perhaps written (the caller takes it back). `length` is the original
 * length; `udpHinted` leaves UDP to the full decode (a conversation tracker
 * may claim its ports).
 */
export function writeFrameLine(
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
  let type = etherTypeAt(data, start);
  let at = start + ETHER_HEADER; // the view's payloadStart
  for (let tags = 0; isVlanTpid(type); tags++) {
    if (tags === MAX_TAGS || end - at < TAG_HEADER) return false;
    const tag = TAG;
    readTag(data, at, end, tag);
    out.ascii("vlan ");
    out.uint(tag.id);
    out.ascii(", p ");
    out.uint(tag.pcp);
    out.ascii(tag.dei ? ", DEI, " : ", ");
    type = tag.type;
    at += TAG_HEADER; // the view's payloadStart
  }
  if (type === IPV4) return writeIpv4Frame(state, out, data, at, end, udpHinted);
  if (type === IPV6) return writeIpv6Frame(state, out, data, at, end, udpHinted);
  if (type === ARP) return writeArpFrame(out, data, at, end, length - (at - start));
  return false;
}
