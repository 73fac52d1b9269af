/**
 * ARP lines as tcpdump prints them (print-arp.c): `ARP, Request who-has
 * 10.0.0.2 tell 10.0.0.1, length 28`, `ARP, Reply 10.0.0.2 is-at
 * 02:00:00:00:00:02, length 28`; from a decoded {@link Arp} ({@link arpText})
 * or, for Ethernet/IPv4 requests and replies, from the message's bytes at
 * {@link ArpView}'s offsets ({@link writeArpFrame}, the fast path's). The
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
import { ARP_FIELD, ARP_FIXED_LENGTH, ARP_OP_REPLY, ARP_OP_REQUEST, type Arp, type ArpView } from "../../../layers/arp.ts";
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

// The fields the fast path reads, at their offsets in layers/arp.ts's table
// (module-local names: V8 folds these).
const HARDWARE_TYPE = ARP_FIELD.HARDWARE_TYPE;
const PROTOCOL_TYPE = ARP_FIELD.PROTOCOL_TYPE;
const HARDWARE_LENGTH = ARP_FIELD.HARDWARE_LENGTH;
const PROTOCOL_LENGTH = ARP_FIELD.PROTOCOL_LENGTH;
const OP = ARP_FIELD.OP;
const SENDER_MAC = ARP_FIELD.SENDER_MAC;
const ETHER = ARPHRD_ETHER;
const IPV4 = ETHERTYPE_IPV4;
const IPV4_LENGTH = IPV4_ADDRESS_LENGTH;
const REQUEST = ARP_OP_REQUEST;
const REPLY = ARP_OP_REPLY;
/** An Ethernet/IPv4 message: the fixed part and two MAC and two IPv4 addresses. */
const ETHER_IPV4_LENGTH = ARP_FIXED_LENGTH + 2 * MAC_LENGTH + 2 * IPV4_ADDRESS_LENGTH;

/**
 * The fast path's ARP: the line of an Ethernet/IPv4 request or reply
 * `data[at, end)` (`length`: the bytes after the link header, padding
 * included), or false for any other, left to the full decode. The fields
 * are read in place, at {@link ArpView}'s offsets: no view to point, no
 * getter to call while the code is still interpreted.
 */
export function writeArpFrame(out: TextBuffer, data: Uint8Array, at: number, end: number, length: number): boolean {
  if (end - at < ETHER_IPV4_LENGTH) return false;
  if (((data[at + HARDWARE_TYPE]! << 8) | data[at + HARDWARE_TYPE + 1]!) !== ETHER || ((data[at + PROTOCOL_TYPE]! << 8) | data[at + PROTOCOL_TYPE + 1]!) !== IPV4) return false;
  if (data[at + HARDWARE_LENGTH] !== MAC_LENGTH || data[at + PROTOCOL_LENGTH] !== IPV4_LENGTH) return false;
  const op = (data[at + OP]! << 8) | data[at + OP + 1]!;
  const senderMac = at + SENDER_MAC;
  const senderIp = senderMac + MAC_LENGTH;
  const targetMac = senderIp + IPV4_LENGTH;
  const targetIp = targetMac + MAC_LENGTH;
  if (op === REQUEST) {
    let zero = true;
    for (let k = targetMac; k < targetMac + MAC_LENGTH; k++) if (data[k] !== 0) zero = false;
    out.ascii("ARP, Request who-has ");
    out.ascii(formatIpv4(data, targetIp));
    if (!zero) {
      out.ascii(" (");
      out.ascii(formatMac(data, targetMac));
      out.byte(0x29); // ")"
    }
    out.ascii(" tell ");
    out.ascii(formatIpv4(data, senderIp));
  } else if (op === REPLY) {
    out.ascii("ARP, Reply ");
    out.ascii(formatIpv4(data, senderIp));
    out.ascii(" is-at ");
    out.ascii(formatMac(data, senderMac));
  } else {
    return false;
  }
  out.ascii(", length ");
  out.uint(length);
  return true;
}
