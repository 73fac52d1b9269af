/**
 * The extension headers of an arriving IPv6 packet, walked as a host must
 * (RFC 8200 §4): to the upper-layer header, to a fragment header (the caller
 * reassembles, then walks on from there), or to a reason to discard the
 * packet, with or without an ICMPv6 Parameter Problem (RFC 4443 §3.4) whose
 * pointer is the offset of the offending field in the packet.
 *
 * - Hop-by-hop options only right after the IPv6 header (§4.3): a Next Header
 *   of 0 anywhere else is an unrecognized next header (§4).
 * - Options (§4.2): Pad1 and PadN are all this host knows; an unrecognized
 *   option acts by its type's two high bits: 00 skip it, 01 discard the
 *   packet, 10 discard and send a Parameter Problem code 2 pointing at the
 *   option's type (even about a multicast destination), 11 the same unless
 *   the destination was multicast. An option running past its header
 *   discards the packet (Linux does the same).
 * - Routing (§4.4): with Segments Left 0 the header is ignored; otherwise this
 *   host (which forwards nothing, and treats the deprecated type 0 as
 *   unrecognized, RFC 5095 §3) discards the packet with a Parameter Problem
 *   code 0 pointing at the Routing Type.
 * - Fragment (§4.5): an atomic fragment (offset 0, M clear, RFC 6946) is
 *   passed over; any other ends the walk.
 * - No next header (59) ends it: nothing to deliver.
 *
 * The walk is linear in the packet's length (each header is at least 8
 * bytes, each option at least 1), so it needs no limit on the number of
 * headers.
 *
 * @example
 * ```ts
 * const chain = new Ipv6Chain();
 * if (chain.walk(packet, 0, packet.length, false, 40, packet[6]!, 6) === CHAIN.UPPER) deliver(chain.nextHeader, chain.offset);
 * ```
 *
 * @module
 */
import { IP_PROTOCOL_HOPOPT, IP_PROTOCOL_IPV6_FRAG, IP_PROTOCOL_IPV6_NONXT, IP_PROTOCOL_IPV6_OPTS, IP_PROTOCOL_IPV6_ROUTE } from "../../layers/dispatch.ts";
import { IPV6_OPTION, Ipv6ExtensionView, Ipv6FragmentView, Ipv6RoutingView } from "../../layers/ipv6_extensions.ts";
import { PARAMETER_PROBLEM } from "./icmp_errors.ts";

/** How a walk ended. */
export const CHAIN = {
  /** at the upper-layer header: {@link Ipv6Chain.nextHeader} at {@link Ipv6Chain.offset} */
  UPPER: 0,
  /** at a fragment header (not atomic) at {@link Ipv6Chain.offset} */
  FRAGMENT: 1,
  /** at "no next header" (59): nothing follows */
  NONE: 2,
  /** discard silently (malformed, or an option of type 01xxxxxx) */
  DROP: 3,
  /** discard and answer with a Parameter Problem ({@link Ipv6Chain.problemCode}, {@link Ipv6Chain.problemAt}) */
  PROBLEM: 4,
} as const;
export type ChainOutcome = (typeof CHAIN)[keyof typeof CHAIN];

/** The offset of the Routing Type field in a routing header (RFC 8200 §4.4). */
const ROUTING_TYPE_FIELD = 2;

/** Walks extension headers; one instance serves every packet (its views are reused). */
export class Ipv6Chain {
  /** UPPER: the upper-layer protocol; FRAGMENT: 44 */
  nextHeader = 0;
  /** where in the bytes the field holding {@link nextHeader} sits (for a pointer at it) */
  nextHeaderAt = 0;
  /** where the upper-layer header (UPPER) or the fragment header (FRAGMENT) starts */
  offset = 0;
  /** PROBLEM: the Parameter Problem code (RFC 4443 §3.4) */
  problemCode = 0;
  /** PROBLEM: where in the bytes the offending field sits */
  problemAt = 0;
  /** PROBLEM: reported even about a multicast destination (an option of type 10xxxxxx, RFC 4443 §2.4 (e.3)) */
  problemEvenMulticast = false;
  readonly #ext = new Ipv6ExtensionView(new Uint8Array(0));
  readonly #routing = new Ipv6RoutingView(new Uint8Array(0));
  readonly #frag = new Ipv6FragmentView(new Uint8Array(0));

  /**
   * Walk `bytes[from, end)` whose first header is `nextHeader`, named by the
   * field at `nextHeaderAt`; `ipAt` is where the IPv6 header starts (a Next
   * Header of 0 is hop-by-hop only in it), `multicast` whether the
   * destination is a multicast address.
   */
  walk(bytes: Uint8Array, ipAt: number, end: number, multicast: boolean, from: number, nextHeader: number, nextHeaderAt: number): ChainOutcome {
    let nh = nextHeader;
    let nhAt = nextHeaderAt;
    let t = from;
    for (;;) {
      if (nh === IP_PROTOCOL_HOPOPT || nh === IP_PROTOCOL_IPV6_OPTS) {
        // RFC 8200 §4: "the same action [unrecognized Next Header] ... if a node encounters a Next
        // Header value of zero in any header other than an IPv6 header".
        if (nh === IP_PROTOCOL_HOPOPT && nhAt !== ipAt + 6) return this.#problem(PARAMETER_PROBLEM.UNRECOGNIZED_NEXT_HEADER, nhAt, false);
        const x = this.#ext.reset(bytes, t, end);
        if (x.check() !== null) return CHAIN.DROP;
        const options = this.#options(bytes, x.bodyStart, x.bodyEnd, multicast);
        if (options !== null) return options;
        nh = x.nextHeader;
        nhAt = t;
        t = x.bodyEnd;
        continue;
      }
      if (nh === IP_PROTOCOL_IPV6_ROUTE) {
        const r = this.#routing.reset(bytes, t, end);
        if (r.check() !== null) return CHAIN.DROP;
        // RFC 8200 §4.4: Segments Left 0: ignore the header. Otherwise the type is one this host
        // does not process (type 0 included, RFC 5095 §3): Parameter Problem at the Routing Type.
        if (r.segmentsLeft !== 0) return this.#problem(PARAMETER_PROBLEM.ERRONEOUS_HEADER_FIELD, t + ROUTING_TYPE_FIELD, false);
        nh = r.nextHeader;
        nhAt = t;
        t = r.bodyEnd;
        continue;
      }
      if (nh === IP_PROTOCOL_IPV6_FRAG) {
        const f = this.#frag.reset(bytes, t, end);
        if (f.check() !== null) return CHAIN.DROP;
        if (!f.isFragment) {
          // An atomic fragment (RFC 6946): the whole datagram.
          nh = f.nextHeader;
          nhAt = t;
          t = f.payloadStart;
          continue;
        }
        this.nextHeader = nh;
        this.nextHeaderAt = nhAt;
        this.offset = t;
        return CHAIN.FRAGMENT;
      }
      if (nh === IP_PROTOCOL_IPV6_NONXT) return CHAIN.NONE;
      this.nextHeader = nh;
      this.nextHeaderAt = nhAt;
      this.offset = t;
      return CHAIN.UPPER;
    }
  }

  /** RFC 8200 §4.2: act on the options in `bytes[start, end)`; null to go on. */
  #options(bytes: Uint8Array, start: number, end: number, multicast: boolean): ChainOutcome | null {
    let i = start;
    while (i < end) {
      const type = bytes[i]!;
      if (type === IPV6_OPTION.PAD1) {
        i++;
        continue;
      }
      if (i + 2 > end || i + 2 + bytes[i + 1]! > end) return CHAIN.DROP;
      if (type !== IPV6_OPTION.PADN) {
        const action = type >> 6;
        if (action === 1) return CHAIN.DROP;
        if (action === 2) return this.#problem(PARAMETER_PROBLEM.UNRECOGNIZED_OPTION, i, true);
        if (action === 3) return multicast ? CHAIN.DROP : this.#problem(PARAMETER_PROBLEM.UNRECOGNIZED_OPTION, i, false);
      }
      i += 2 + bytes[i + 1]!;
    }
    return null;
  }

  #problem(code: number, at: number, evenMulticast: boolean): ChainOutcome {
    this.problemCode = code;
    this.problemAt = at;
    this.problemEvenMulticast = evenMulticast;
    return CHAIN.PROBLEM;
  }
}
