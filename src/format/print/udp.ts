/**
 * The UDP part of a line: the app layer's text (`4660+ A? example.com. (29)`)
 * or tcpdump's `UDP, length 20`; from a decoded {@link Udp} ({@link udpText})
 * or from the datagram's bytes through a {@link UdpView} ({@link writeUdpFrame},
 * the fast path).
 *
 * @example
 * ```ts
 * import { udpText } from "./udp.ts";
 * udpText(state, udp, undefined); // "UDP, length 20"
 * ```
 *
 * @module
 */
import { checksumStatusAt, type IpHeaderContext } from "../../../layers/checksum.ts";
import type { LayerBase } from "../../../layers/core.ts";
import { IP_PROTOCOL_UDP } from "../../../layers/dispatch.ts";
import { udpPortKind, type Kind } from "../../../layers/registry.ts";
import { UDP_FIELD, UDP_HEADER_LENGTH, UdpView, type Udp, type UdpFields } from "../../../layers/udp.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { appOr, appText } from "./app.ts";
import { badChecksum } from "./issues.ts";
import { isCut, writeEndpoints, type LineState } from "./state.ts";

const HEADER_LENGTH = UDP_HEADER_LENGTH;
const CHECKSUM = UDP_FIELD.CHECKSUM;
const PROTOCOL = IP_PROTOCOL_UDP;

/** The UDP part of a layered line (after the ports): `app`'s text, else `UDP, length N`. */
export function udpText(state: LineState, u: Udp, app: LayerBase | undefined): string {
  if (u.checksumStatus === "bad") state.flags += badChecksum("udp", u.checksum);
  const text = app !== undefined && app.layer !== "payload" ? appOr(state, app, "") : "";
  if (text !== "") return text;
  // A DNS datagram the capture cut before its header was whole: tcpdump's
  // mark alone (the message's own line shows its cuts further on).
  if (state.cut.length > 0 && state.app !== undefined && (isCut(state, "udp") || isCut(state, "dns")) && udpPortKind(u.srcPort, u.dstPort) === "dns") {
    return " [|domain]";
  }
  return "UDP, length " + (u.length - HEADER_LENGTH);
}

/** The fast path's fields of a datagram, read once per datagram by the view's bulk reader. */
const FIELDS: UdpFields = { srcPort: 0, dstPort: 0, length: 0, checksum: 0 };
const readUdp = UdpView.readInto;

/**
 * The fast path's UDP: `src.port > dst.port: UDP, length N` (or the DNS
 * line) for the datagram `data[t, end)` (its IP layer is `ip`, whose
 * addresses are in `state`), or false, leaving it to the full decode, when
 * its length is not the IP layer's, the checksum is wrong (a zero one over
 * IPv4, "none", and one left to offload pass), or the payload is an app layer
 * other than DNS (when the formatter prints app layers) or one that decodes
 * with a problem.
 */
export function writeUdpFrame(state: LineState, out: TextBuffer, data: Uint8Array, t: number, end: number, ip: IpHeaderContext): boolean {
  const upper = end - t;
  if (upper < HEADER_LENGTH) return false;
  const udp = FIELDS;
  readUdp(data, t, udp);
  const srcPort = udp.srcPort;
  const dstPort = udp.dstPort;
  // The application layer, chosen as the full decode chooses it (udp.ts): of
  // those, only DNS is decoded here; TFTP (which a conversation tracker
  // follows), DHCP and the rest go to the full decode.
  let app: Kind | null = null;
  if (upper > HEADER_LENGTH) app = udpPortKind(srcPort, dstPort);
  if (app !== null && (app !== "dns" || state.app === undefined)) return false;
  const length = udp.length;
  if (length !== upper) return false;
  const status = checksumStatusAt(data, t, end, CHECKSUM, PROTOCOL, ip, length);
  if (status !== "good" && status !== "partial" && status !== "none") return false;
  let text = "";
  if (app !== null) {
    const decoded = appText(state, app, data, t + HEADER_LENGTH, end);
    if (decoded === null) return false;
    text = decoded;
  }
  writeEndpoints(state, out, srcPort, dstPort);
  if (text !== "") {
    out.text(text);
  } else {
    out.ascii("UDP, length ");
    out.uint(length - HEADER_LENGTH);
  }
  return true;
}
