/**
 * Sending IP datagrams from the stack: the link and IP headers written
 * through the layers' views into one scratch buffer, the next hop chosen
 * (on-link, or the gateway), its MAC looked up or the frame queued while ARP
 * or neighbor discovery asks, and a datagram larger than the MTU split into
 * fragments (IPv4, RFC 791 §3.2, when DF is clear; IPv6 with a Fragment
 * header, RFC 8200 §4.5). TCP never needs that: its segments fit the MSS.
 *
 * A caller writes its upper-layer bytes at {@link IpSender.upperStart} in
 * {@link IpSender.buffer}, then calls {@link IpSender.send} with their length.
 *
 * @module
 */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, IP_PROTOCOL_IPV6_FRAG } from "../../layers/dispatch.ts";
import { EthernetView } from "../../layers/ethernet.ts";
import { Ipv4View } from "../../layers/ipv4.ts";
import { Ipv6FragmentView } from "../../layers/ipv6_extensions.ts";
import { Ipv6View } from "../../layers/ipv6.ts";
import type { InterfaceConfig } from "./interface.ts";
import { BROADCAST_MAC, multicastMac } from "./interface.ts";
import type { NeighborTable } from "./neighbors.ts";
import { randomBelow, type Random } from "./random.ts";

/** Ethernet header bytes. */
export const LINK_HEADER = 14;
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const FRAGMENT_HEADER = 8;
/** The largest IPv6 payload length and IPv4 total length (16-bit fields). */
const MAX_PAYLOAD = 65535;

/** Why a datagram did not leave. */
export type SendFailure = "no-route" | "no-source" | "too-big";

/** What the sender needs from its stack. */
export interface IpSenderHost {
  /** the stack's time, ms */
  readonly now: number;
  /** put a whole frame on the link (copied or sent before this returns) */
  transmitFrame(frame: Uint8Array): void;
  /** ask the link for `address` (ARP request / neighbor solicitation) */
  requestNeighbor(address: Uint8Array): void;
}

/** Writes and routes IP datagrams. */
export class IpSender {
  /**
   * one datagram at a time is built here: the link header and the largest IP
   * datagram, an IPv6 one (its header and a payload length of 65535; an IPv4
   * datagram is at most 65535 in all)
   */
  readonly buffer = new Uint8Array(LINK_HEADER + IPV6_HEADER + MAX_PAYLOAD);
  readonly #iface: InterfaceConfig;
  readonly #neighbors: NeighborTable;
  readonly #host: IpSenderHost;
  readonly #random: Random;
  readonly #eth = new EthernetView(new Uint8Array(0));
  readonly #v4 = new Ipv4View(new Uint8Array(0));
  readonly #v6 = new Ipv6View(new Uint8Array(0));
  readonly #frag = new Ipv6FragmentView(new Uint8Array(0));
  /** IPv4 identification and IPv6 fragment identification counters, started at random (RFC 6864, RFC 7739) */
  #id4: number;
  #id6: number;
  readonly #fragment = new Uint8Array(LINK_HEADER + 65535);

  constructor(iface: InterfaceConfig, neighbors: NeighborTable, host: IpSenderHost, random: Random) {
    this.#iface = iface;
    this.#neighbors = neighbors;
    this.#host = host;
    this.#random = random;
    this.#id4 = randomBelow(random, 0x10000);
    this.#id6 = random.u32();
  }

  /** Where the upper layer starts in {@link buffer} for a datagram to an address of this family. */
  upperStart(family: 4 | 6): number {
    return LINK_HEADER + (family === 4 ? IPV4_HEADER : IPV6_HEADER);
  }

  /**
   * The most upper-layer bytes one datagram of this family carries, fragmented
   * or not: 65535 less the IPv4 header (RFC 791 §3.1), or the whole IPv6
   * payload length (RFC 8200 §3). {@link send} refuses more.
   */
  maxPayload(family: 4 | 6): number {
    return family === 4 ? MAX_PAYLOAD - IPV4_HEADER : MAX_PAYLOAD;
  }

  /** The most upper-layer bytes one unfragmented datagram of this family carries. */
  maxUpper(family: 4 | 6): number {
    return this.#iface.mtu - (family === 4 ? IPV4_HEADER : IPV6_HEADER);
  }

  /**
   * Send the `upperLength` bytes at `upperStart(family)` from `src` to `dst`
   * as IP protocol `protocol`. Fragments when it does not fit the MTU and
   * `mayFragment`. Returns null when it left (or waits for the neighbor),
   * else why not.
   */
  send(src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number, ttl = 64, mayFragment = true): SendFailure | null {
    const v4 = dst.length === 4;
    const start = this.upperStart(v4 ? 4 : 6);
    if (upperLength > this.maxPayload(v4 ? 4 : 6)) return "too-big";
    if (upperLength > this.maxUpper(v4 ? 4 : 6)) {
      if (!mayFragment) return "too-big";
      return v4 ? this.#fragment4(src, dst, protocol, upperLength, ttl) : this.#fragment6(src, dst, protocol, upperLength, ttl);
    }
    const b = this.buffer;
    if (v4) this.#writeIpv4(b, LINK_HEADER, src, dst, protocol, upperLength, ttl, this.#nextId4(), 0, false, true);
    else this.#writeIpv6(b, LINK_HEADER, src, dst, protocol, upperLength, ttl);
    return this.#route(b, start + upperLength, dst, v4);
  }

  #nextId4(): number {
    this.#id4 = (this.#id4 + 1) & 0xffff;
    return this.#id4;
  }

  #writeIpv4(b: Uint8Array, at: number, src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number, ttl: number, id: number, offset: number, more: boolean, dontFragment: boolean): void {
    const ip = this.#v4.reset(b, at, at + IPV4_HEADER + upperLength);
    ip.version = 4;
    ip.headerLength = IPV4_HEADER;
    ip.dscp = 0;
    ip.ecn = 0;
    ip.totalLength = IPV4_HEADER + upperLength;
    ip.id = id;
    ip.reservedFlag = false;
    // RFC 6864 §4.1: an atomic datagram (DF set, unfragmented) may carry any ID.
    ip.dontFragment = dontFragment;
    ip.moreFragments = more;
    ip.fragmentOffset = offset;
    ip.ttl = ttl;
    ip.protocol = protocol;
    ip.src = src;
    ip.dst = dst;
    ip.fillChecksum();
  }

  #writeIpv6(b: Uint8Array, at: number, src: Uint8Array, dst: Uint8Array, nextHeader: number, payloadLength: number, hopLimit: number): void {
    const ip = this.#v6.reset(b, at, at + IPV6_HEADER + payloadLength);
    ip.version = 6;
    ip.trafficClass = 0;
    ip.flowLabel = 0;
    ip.payloadLength = payloadLength;
    ip.nextHeader = nextHeader;
    ip.hopLimit = hopLimit;
    ip.src = src;
    ip.dst = dst;
  }

  /** Write the Ethernet header at `b[0]` and send `b[0, end)` to `dst` (through the next hop). */
  #route(b: Uint8Array, end: number, dst: Uint8Array, v4: boolean): SendFailure | null {
    const eth = this.#eth.reset(b, 0, end);
    eth.src = this.#iface.mac;
    eth.type = v4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    const frame = b.subarray(0, end);
    if (!v4 && dst[0] === 0xff) {
      eth.dst = multicastMac(dst);
      this.#host.transmitFrame(frame);
      return null;
    }
    if (v4 && this.#iface.isBroadcast4(dst)) {
      eth.dst = BROADCAST_MAC;
      this.#host.transmitFrame(frame);
      return null;
    }
    const hop = this.#iface.nextHop(dst);
    if (hop === null) return "no-route";
    const now = this.#host.now;
    const mac = this.#neighbors.lookup(hop, now);
    if (mac !== null) {
      eth.dst = mac;
      this.#host.transmitFrame(frame);
      return null;
    }
    if (this.#neighbors.enqueue(hop, frame, now)) this.#host.requestNeighbor(hop);
    return null;
  }

  /** RFC 791 §3.2: split into fragments of at most the MTU, data in multiples of 8 bytes. */
  #fragment4(src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number, ttl: number): SendFailure | null {
    const per = (this.#iface.mtu - IPV4_HEADER) & ~7;
    const id = this.#nextId4();
    const data = this.buffer;
    const base = LINK_HEADER + IPV4_HEADER;
    const f = this.#fragment;
    for (let off = 0; off < upperLength; off += per) {
      const len = Math.min(per, upperLength - off);
      f.set(data.subarray(base + off, base + off + len), LINK_HEADER + IPV4_HEADER);
      this.#writeIpv4(f, LINK_HEADER, src, dst, protocol, len, ttl, id, off, off + len < upperLength, false);
      const failed = this.#route(f, LINK_HEADER + IPV4_HEADER + len, dst, true);
      if (failed !== null) return failed;
    }
    return null;
  }

  /** RFC 8200 §4.5: a Fragment header after the IPv6 header, fragments of 8-byte multiples. */
  #fragment6(src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number, hopLimit: number): SendFailure | null {
    const per = (this.#iface.mtu - IPV6_HEADER - FRAGMENT_HEADER) & ~7;
    this.#id6 = (this.#id6 + 1) >>> 0;
    const id = this.#id6;
    const data = this.buffer;
    const base = LINK_HEADER + IPV6_HEADER;
    const f = this.#fragment;
    const body = LINK_HEADER + IPV6_HEADER + FRAGMENT_HEADER;
    for (let off = 0; off < upperLength; off += per) {
      const len = Math.min(per, upperLength - off);
      f.set(data.subarray(base + off, base + off + len), body);
      this.#writeIpv6(f, LINK_HEADER, src, dst, IP_PROTOCOL_IPV6_FRAG, FRAGMENT_HEADER + len, hopLimit);
      const h = this.#frag.reset(f, LINK_HEADER + IPV6_HEADER, body);
      h.nextHeader = protocol;
      h.reserved = 0;
      h.fragmentOffset = off;
      h.res = 0;
      h.moreFragments = off + len < upperLength;
      h.identification = id;
      const failed = this.#route(f, body + len, dst, false);
      if (failed !== null) return failed;
    }
    return null;
  }
}
