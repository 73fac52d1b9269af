/**
 * The UDP part of a line: the app layer's text (`4660+ A? example.com. (29)`)
 * or tcpdump's `UDP, length 20`; from a decoded {@link Udp} ({@link udpText}).
 * (The fast path, straight from a frame's bytes, is fast.ts.)
 *
 * @example
 * ```ts
 * import { udpText } from "./udp.ts";
 * udpText(state, udp, undefined); // "UDP, length 20"
 * ```
 *
 * @module
 */
import type { LayerBase } from "../../../layers/core.ts";
import { udpPortKind } from "../../../layers/registry.ts";
import { UDP_HEADER_LENGTH, type Udp } from "../../../layers/udp.ts";
import { appOr } from "./app.ts";
import { badChecksum } from "./issues.ts";
import { isCut, type LineState } from "./state.ts";

const HEADER_LENGTH = UDP_HEADER_LENGTH;

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
