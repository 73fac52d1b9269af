/**
 * The ICMP (RFC 792) and ICMPv6 (RFC 4443) errors the stack sends about
 * datagrams it received: destination unreachable (a closed UDP port, an
 * unknown IPv4 protocol), time exceeded in reassembly (RFC 1122 §3.3.2,
 * RFC 8200 §4.5) and IPv6 parameter problem (RFC 4443 §3.4), whose pointer is
 * the offset of the offending field in the packet quoted.
 *
 * One place keeps the rules of when not to answer: never about a datagram to
 * a broadcast or multicast address (RFC 1122 §3.2.2; RFC 4443 §2.4 (e), but
 * for a parameter problem about an unrecognized option whose type asks for
 * one, (e.3)), nor from an address that names no single host (zero,
 * loopback, broadcast, multicast, class E; IPv6 unspecified or multicast),
 * and at most {@link IcmpErrorSender.limit} a second (RFC 1812 §4.3.2.8,
 * RFC 4443 §2.4 (f)). Callers never ask about an ICMP error.
 *
 * @example
 * ```ts
 * const errors = new IcmpErrorSender(iface, sender, () => now, stats);
 * errors.portUnreachable(src, dst, datagram, 0, datagram.length); // type 3 code 3 (IPv4)
 * ```
 *
 * @module
 */
import { IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6 } from "../../layers/dispatch.ts";
import { ICMP_TYPE, IcmpView } from "../../layers/icmp.ts";
import { ICMPV6_TYPE, Icmpv6View } from "../../layers/icmpv6.ts";
import { IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH } from "../../layers/ip_fields.ts";
import { Ipv4View } from "../../layers/ipv4.ts";
import { Ipv6View } from "../../layers/ipv6.ts";
import type { InterfaceConfig } from "./interface.ts";
import type { IpSender } from "./ip_out.ts";

/** RFC 1812 §4.3.2.3: an IPv4 error quotes at most what keeps it within 576 bytes (header 20, ICMP 8). */
const QUOTE4 = 576 - 20 - 8;
/** RFC 4443 §3.1: as much of the invoking packet as fits in the minimum IPv6 MTU, 1280 (header 40, ICMPv6 8). */
const QUOTE6 = 1280 - 40 - 8;

/** RFC 4443 §3.4: Parameter Problem codes. */
export const PARAMETER_PROBLEM = { ERRONEOUS_HEADER_FIELD: 0, UNRECOGNIZED_NEXT_HEADER: 1, UNRECOGNIZED_OPTION: 2 } as const;

/** The counters an {@link IcmpErrorSender} adds to. */
export interface IcmpErrorStats {
  errorsSent: number;
  errorsLimited: number;
}

/** Sends ICMP and ICMPv6 errors for one interface, rate-limited. */
export class IcmpErrorSender {
  /** the most errors sent in one second */
  limit = 100;
  readonly #iface: InterfaceConfig;
  readonly #sender: IpSender;
  readonly #now: () => number;
  readonly #stats: IcmpErrorStats;
  readonly #icmp = new IcmpView(new Uint8Array(0));
  readonly #icmp6 = new Icmpv6View(new Uint8Array(0));
  /** errors sent in the current second, and that second */
  #sent = 0;
  #second = -1;

  constructor(iface: InterfaceConfig, sender: IpSender, now: () => number, stats: IcmpErrorStats) {
    this.#iface = iface;
    this.#sender = sender;
    this.#now = now;
    this.#stats = stats;
  }

  /** RFC 1122 §4.1.3.1: a UDP datagram `bytes[ipAt, ipEnd)` from `src` to our `dst` for a port nobody holds. */
  portUnreachable(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, ipAt: number, ipEnd: number): void {
    if (src.length === 4) this.#send4(ICMP_TYPE.DESTINATION_UNREACHABLE, 3, src, dst, bytes, ipAt, ipEnd);
    else this.#send6(ICMPV6_TYPE.DESTINATION_UNREACHABLE, 4, 0, src, dst, bytes, ipAt, ipEnd, false);
  }

  /** RFC 1122 §3.2.2.1: an IPv4 datagram for a protocol we do not speak (IPv6 says so with {@link parameterProblem}). */
  protocolUnreachable(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, ipAt: number, ipEnd: number): void {
    this.#send4(ICMP_TYPE.DESTINATION_UNREACHABLE, 2, src, dst, bytes, ipAt, ipEnd);
  }

  /**
   * RFC 4443 §3.4: the IPv6 packet `bytes[ipAt, ipEnd)` was discarded for
   * the field at `pointer` bytes into it. `evenMulticast`: an unrecognized
   * option of type 10xxxxxx is reported even about a multicast destination
   * (RFC 8200 §4.2, RFC 4443 §2.4 (e.3)).
   */
  parameterProblem(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, ipAt: number, ipEnd: number, code: number, pointer: number, evenMulticast = false): void {
    this.#send6(ICMPV6_TYPE.PARAMETER_PROBLEM, code, pointer, src, dst, bytes, ipAt, ipEnd, evenMulticast);
  }

  /**
   * A datagram was abandoned at the reassembly timeout after its first
   * fragment arrived: Time Exceeded, code 1, to that fragment's source,
   * quoting it (`first`: the fragment as it came). RFC 1122 §3.3.2 for IPv4,
   * RFC 8200 §4.5 for IPv6.
   */
  reassemblyTimeExceeded(first: Uint8Array): void {
    const v4 = new Ipv4View(first);
    if (first.length >= IPV4_HEADER_LENGTH && v4.version === 4) {
      this.#send4(ICMP_TYPE.TIME_EXCEEDED, 1, v4.src, v4.dst, first, 0, first.length);
      return;
    }
    const v6 = new Ipv6View(first);
    if (first.length >= IPV6_HEADER_LENGTH && v6.version === 6) {
      this.#send6(ICMPV6_TYPE.TIME_EXCEEDED, 1, 0, v6.src, v6.dst, first, 0, first.length, false);
    }
  }

  #allowed(): boolean {
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#sent = 0;
    }
    if (this.#sent >= this.limit) {
      this.#stats.errorsLimited++;
      return false;
    }
    this.#sent++;
    this.#stats.errorsSent++;
    return true;
  }

  #send4(type: number, code: number, src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, ipAt: number, ipEnd: number): void {
    const iface = this.#iface;
    // RFC 1122 §3.2.2: not about a broadcast or multicast, nor to a source that names no single host.
    const s0 = src[0]!;
    if (!iface.isOurs(dst) || s0 === 0 || s0 === 127 || s0 >= 224 || iface.isBroadcast4(src) || !this.#allowed()) return;
    const s = this.#sender;
    const quote = Math.min(ipEnd - ipAt, QUOTE4);
    const out = s.upperStart(4);
    s.buffer.set(bytes.subarray(ipAt, ipAt + quote), out + 8);
    const m = this.#icmp.reset(s.buffer, out, out + 8 + quote);
    m.type = type;
    m.code = code;
    m.restOfHeader = 0;
    m.fillChecksum();
    s.send(dst.slice(), src.slice(), IP_PROTOCOL_ICMP, 8 + quote);
  }

  #send6(type: number, code: number, pointer: number, src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, ipAt: number, ipEnd: number, evenMulticast: boolean): void {
    const iface = this.#iface;
    const multicast = dst[0] === 0xff;
    // RFC 4443 §2.4 (e): not about a multicast destination (but (e.3)), nor to an unspecified or multicast source.
    if (src[0] === 0xff || src.every((x) => x === 0)) return;
    if (multicast ? !evenMulticast : !iface.isOurs(dst)) return;
    const from = multicast ? iface.sourceFor(src) : dst.slice();
    if (from === null || !this.#allowed()) return;
    const s = this.#sender;
    const quote = Math.min(ipEnd - ipAt, QUOTE6);
    const out = s.upperStart(6);
    s.buffer.set(bytes.subarray(ipAt, ipAt + quote), out + 8);
    const m = this.#icmp6.reset(s.buffer, out, out + 8 + quote);
    m.type = type;
    m.code = code;
    m.pointer = pointer; // RFC 4443 §3.1, §3.3: unused (zero) but for a parameter problem
    const to = src.slice();
    m.fillChecksum(from, to);
    s.send(from, to, IP_PROTOCOL_ICMPV6, 8 + quote);
  }
}
