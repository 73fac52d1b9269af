/**
 * ARP lines as tcpdump prints them (print-arp.c): `ARP, Request who-has
 * 10.0.0.2 tell 10.0.0.1, length 28`, `ARP, Reply 10.0.0.2 is-at
 * 02:00:00:00:00:02, length 28`; from a decoded {@link Arp} ({@link arpText})
 * or, for Ethernet/IPv4 requests and replies, from the message's bytes
 * through an {@link ArpView} ({@link writeArpFrame}, the fast path). The
 * length is the ARP packet's with any link padding.
 *
 * @example
 * ```ts
 * import { arpText } from "./arp.ts";
 * arpText(arp, 46); // "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 46"
 * ```
 *
 * @module
 */
import { formatIpv4, formatMac } from "../../../layers/addr.ts";
import { ARP_FIXED_LENGTH, ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, type Arp } from "../../../layers/arp.ts";
import { ARPHRD_ETHER, ETHERTYPE_IPV4 } from "../../../layers/dispatch.ts";
import { IPV4_ADDRESS_LENGTH } from "../../../layers/ip_fields.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { hex4 } from "./issues.ts";

/** Bytes in a MAC address: the hardware length of ARP for Ethernet. */
const MAC_LENGTH = 6;

/** The line of a decoded ARP message; `length` is the bytes after the link header. */
export function arpText(a: Arp, length: number): string {
  const len = ", length " + length;
  if (a.protocolType !== ETHERTYPE_IPV4 || a.protocolLength !== IPV4_ADDRESS_LENGTH) {
    return "ARP, hardware #" + a.hardwareType + ", protocol 0x" + hex4(a.protocolType) + ", op " + a.op + len;
  }
  switch (a.op) {
    case ARP_OP_REQUEST:
      return (
        "ARP, Request who-has " + a.targetIp +
        (/^(00:)*00$/.test(a.targetMac) || a.targetMac === "" ? "" : " (" + a.targetMac + ")") +
        " tell " + a.senderIp + len
      );
    case ARP_OP_REPLY:
      return "ARP, Reply " + a.senderIp + " is-at " + a.senderMac + len;
    case 3: // RARP (RFC 903)
      return "ARP, Reverse Request who-is " + a.targetMac + " tell " + a.senderMac + len;
    case 4:
      return "ARP, Reverse Reply " + a.targetMac + " at " + a.targetIp + len;
    default:
      return "ARP, op " + a.op + len;
  }
}

/** The fast path's view, pointed at each message (it holds the last one's bytes until the next). */
const VIEW = new ArpView(new Uint8Array(0));

/**
 * The fast path's ARP: the line of an Ethernet/IPv4 request or reply
 * `data[at, end)` (`length`: the bytes after the link header, padding
 * included), or false for any other, left to the full decode.
 */
export function writeArpFrame(out: TextBuffer, data: Uint8Array, at: number, end: number, length: number): boolean {
  if (end - at < ARP_FIXED_LENGTH) return false;
  const arp = VIEW.reset(data, at, end);
  if (arp.hardwareType !== ARPHRD_ETHER || arp.protocolType !== ETHERTYPE_IPV4) return false;
  if (arp.hardwareLength !== MAC_LENGTH || arp.protocolLength !== IPV4_ADDRESS_LENGTH || arp.payloadStart > end) return false;
  const op = arp.op;
  if (op === ARP_OP_REQUEST) {
    const targetMac = arp.targetMacOffset;
    let zero = true;
    for (let k = targetMac; k < targetMac + MAC_LENGTH; k++) if (data[k] !== 0) zero = false;
    out.ascii("ARP, Request who-has ");
    out.ascii(formatIpv4(data, arp.targetIpOffset));
    if (!zero) {
      out.ascii(" (");
      out.ascii(formatMac(data, targetMac));
      out.byte(0x29); // ")"
    }
    out.ascii(" tell ");
    out.ascii(formatIpv4(data, arp.senderIpOffset));
  } else if (op === ARP_OP_REPLY) {
    out.ascii("ARP, Reply ");
    out.ascii(formatIpv4(data, arp.senderIpOffset));
    out.ascii(" is-at ");
    out.ascii(formatMac(data, arp.senderMacOffset));
  } else {
    return false;
  }
  out.ascii(", length ");
  out.uint(length);
  return true;
}
