/**
 * The control protocols of the stack's interface: ARP (RFC 826) answering
 * for our IPv4 addresses and learning neighbors; ICMP (RFC 792) and ICMPv6
 * (RFC 4443) echo replies, errors out (port unreachable for a closed UDP
 * port, protocol unreachable) and in (handed to the connection or endpoint
 * they quote); IPv6 neighbor discovery (RFC 4861: solicitations answered,
 * advertisements learnt, router advertisements taken as the default router,
 * a router solicitation at start); and ping's echo requests and replies.
 *
 * ICMP errors out go through {@link IcmpErrorSender} (icmp_errors.ts): rate
 * limited, and never about broadcasts, multicasts or ICMP errors.
 *
 * Our own addresses are never learnt from the link: an ARP packet that
 * claims one from another MAC is a conflict (RFC 5227 §2.4), noted in the
 * trace and answered with one announcement at most every
 * {@link DEFEND_INTERVAL_MS}; a neighbor advertisement for one is a duplicate
 * (RFC 4862 §5.4.4), noted. Advertisements follow RFC 4861 §7.2.5: they update
 * entries that exist and never create one, and without the Override flag they
 * never replace a cached link-layer address.
 *
 * @module
 */
import { addressAt, formatIp, formatMac, sameAddress } from "../../layers/addr.ts";
import { ArpView } from "../../layers/arp.ts";
import { ARPHRD_ETHER, ETHERTYPE_ARP, ETHERTYPE_IPV4, IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6, IP_PROTOCOL_TCP, IP_PROTOCOL_UDP } from "../../layers/dispatch.ts";
import { EthernetView } from "../../layers/ethernet.ts";
import { ICMP_TYPE, IcmpView, isIcmpError } from "../../layers/icmp.ts";
import { ICMPV6_TYPE, Icmpv6View, isIcmpv6Error } from "../../layers/icmpv6.ts";
import { Ipv4View } from "../../layers/ipv4.ts";
import { Ipv6View } from "../../layers/ipv6.ts";
import { NDP_OPTION } from "../../layers/ndp.ts";
import { findLinkLayerAddress, writeLinkLayerAddress } from "../../layers/ndp_link_option.ts";
import { TcpView } from "../../layers/tcp.ts";
import { UdpView } from "../../layers/udp.ts";
import type { SocketErrorCode } from "./errors.ts";
import { IcmpErrorSender } from "./icmp_errors.ts";
import { ALL_ROUTERS, BROADCAST_MAC, multicastMac, solicitedNode, type InterfaceConfig } from "./interface.ts";
import type { IpSender } from "./ip_out.ts";
import { LINK_HEADER } from "./ip_out.ts";
import type { NeighborTable } from "./neighbors.ts";
import type { TcpLayer, Waker } from "./tcp_layer.ts";
import type { TraceSink } from "./trace.ts";
import type { UdpLayer } from "./udp_layer.ts";

const ARP_REQUEST = 1;
const ARP_REPLY = 2;
/** RFC 4861 §7.1: neighbor discovery is sent and taken only with hop limit 255 (it never crossed a router). */
const ND_HOP_LIMIT = 255;
/** RFC 5227 §1.1 DEFEND_INTERVAL: at most one announcement defending an address per 10 s. */
export const DEFEND_INTERVAL_MS = 10_000;

/** An echo reply that came back for a ping. */
export interface EchoReply {
  from: Uint8Array;
  sequence: number;
  /** the data, echoed */
  data: Uint8Array;
  ttl: number;
  /** the stack's time when it arrived */
  at: number;
}

/** Echo replies for one identifier (a `ping`). */
export class PingEndpoint {
  readonly identifier: number;
  readonly replies: EchoReply[] = [];
  owner: Waker | null = null;

  constructor(identifier: number) {
    this.identifier = identifier;
  }
}

/** ARP, ICMP, ICMPv6 and NDP for one interface. */
export class ControlLayer {
  now = 0;
  trace: TraceSink | null = null;
  readonly #iface: InterfaceConfig;
  readonly #neighbors: NeighborTable;
  readonly #sender: IpSender;
  readonly #transmitFrame: (frame: Uint8Array) => void;
  readonly #frame = new Uint8Array(LINK_HEADER + 1280);
  readonly #eth = new EthernetView(new Uint8Array(0));
  readonly #arp = new ArpView(new Uint8Array(0));
  readonly #icmp = new IcmpView(new Uint8Array(0));
  readonly #icmp6 = new Icmpv6View(new Uint8Array(0));
  readonly #v4 = new Ipv4View(new Uint8Array(0));
  readonly #v6 = new Ipv6View(new Uint8Array(0));
  readonly #quotedTcp = new TcpView(new Uint8Array(0));
  readonly #quotedUdp = new UdpView(new Uint8Array(0));
  readonly #pings = new Map<number, PingEndpoint>();
  tcp: TcpLayer | null = null;
  udp: UdpLayer | null = null;
  readonly stats = { echoReplies: 0, errorsSent: 0, errorsLimited: 0, badChecksum: 0, arpReplies: 0, neighborAdverts: 0, addressConflicts: 0 };
  /** the ICMP and ICMPv6 errors this interface sends */
  readonly errors: IcmpErrorSender;
  /** when we last defended an IPv4 address (RFC 5227 §2.4 (b)) */
  #defendedAt = -Infinity;

  constructor(iface: InterfaceConfig, neighbors: NeighborTable, sender: IpSender, transmitFrame: (frame: Uint8Array) => void) {
    this.#iface = iface;
    this.#neighbors = neighbors;
    this.#sender = sender;
    this.#transmitFrame = transmitFrame;
    this.errors = new IcmpErrorSender(iface, sender, () => this.now, this.stats);
  }

  /** the most ICMP errors sent per second */
  get errorLimit(): number {
    return this.errors.limit;
  }
  set errorLimit(n: number) {
    this.errors.limit = n;
  }

  // ---- ARP (RFC 826) ----

  /** An ARP packet `bytes[at, end)` arrived. */
  arpInput(bytes: Uint8Array, at: number, end: number): Uint8Array[] {
    const a = this.#arp.reset(bytes, at, end);
    if (a.check() !== null || a.hardwareType !== ARPHRD_ETHER || a.protocolType !== ETHERTYPE_IPV4) return [];
    if (a.hardwareLength !== 6 || a.protocolLength !== 4) return [];
    const senderIp = a.senderIp;
    const senderMac = a.senderMac;
    if (this.#iface.isOurs(senderIp)) {
      // RFC 5227 §2.4: another host claims our address (our own frames never get here). Never cache
      // it; (b): defend with one announcement, at most every DEFEND_INTERVAL. Not answered otherwise.
      this.#conflict(senderIp, `ARP from ${formatMac(senderMac)}`);
      if (this.now - this.#defendedAt >= DEFEND_INTERVAL_MS) {
        this.#defendedAt = this.now;
        const ours = senderIp.slice();
        this.#arpSend(ARP_REQUEST, BROADCAST_MAC, ours, new Uint8Array(6), ours);
      }
      return [];
    }
    const forUs = this.#iface.isOurs(a.targetIp);
    let released: Uint8Array[] = [];
    // RFC 826 "Packet reception": update an entry we have; add one when the packet is for us.
    const known = this.#neighbors.has(senderIp);
    if ((known || forUs) && !(senderIp[0] === 0 && senderIp[1] === 0 && senderIp[2] === 0 && senderIp[3] === 0)) {
      released = this.#neighbors.learn(senderIp, senderMac, this.now);
    }
    if (forUs && a.op === ARP_REQUEST) {
      this.#arpSend(ARP_REPLY, senderMac, a.targetIp.slice(), senderMac.slice(), senderIp.slice());
      this.stats.arpReplies++;
    }
    return released;
  }

  /**
   * Announce our IPv4 addresses (RFC 5227 §2.3): an ARP request with our
   * address as both sender and target, broadcast, so neighbors that cached
   * another MAC for it (a host that had it before) take ours at once.
   */
  arpAnnounce(): void {
    for (const a of this.#iface.ipv4) this.#arpSend(ARP_REQUEST, BROADCAST_MAC, a.address, new Uint8Array(6), a.address);
  }

  /** Broadcast a request for `ip` (or unicast it to `mac` to refresh). */
  arpRequest(ip: Uint8Array, mac: Uint8Array | null = null): void {
    const src = this.#iface.sourceFor(ip);
    if (src === null) return;
    this.#arpSend(ARP_REQUEST, mac ?? BROADCAST_MAC, src, new Uint8Array(6), ip);
  }

  #arpSend(op: number, ethDst: Uint8Array, senderIp: Uint8Array, targetMac: Uint8Array, targetIp: Uint8Array): void {
    const b = this.#frame;
    const eth = this.#eth.reset(b, 0, LINK_HEADER + 28);
    eth.dst = ethDst;
    eth.src = this.#iface.mac;
    eth.type = ETHERTYPE_ARP;
    const a = this.#arp.reset(b, LINK_HEADER, LINK_HEADER + 28);
    a.hardwareType = ARPHRD_ETHER;
    a.protocolType = ETHERTYPE_IPV4;
    a.hardwareLength = 6;
    a.protocolLength = 4;
    a.op = op;
    a.senderMac = this.#iface.mac;
    a.senderIp = senderIp;
    a.targetMac = targetMac;
    a.targetIp = targetIp;
    this.#transmitFrame(b.subarray(0, LINK_HEADER + 28));
  }

  // ---- ICMP (RFC 792) ----

  /** An ICMP message `bytes[at, end)` arrived in a datagram from `src` to `dst`, its IP header at `ipAt`. */
  icmpInput(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, at: number, end: number, ttl: number): void {
    const m = this.#icmp.reset(bytes, at, end);
    if (m.check() !== null) return;
    if (!m.verifyChecksum()) {
      this.stats.badChecksum++;
      this.trace?.drop(this.now, "icmp: bad checksum");
      return;
    }
    const type = m.type;
    if (type === ICMP_TYPE.ECHO_REQUEST) {
      // RFC 1122 §3.2.2.6: answer echo requests to our unicast address (not broadcasts).
      if (!this.#iface.isOurs(dst)) return;
      const len = end - at;
      const s = this.#sender;
      if (len > s.maxPayload(4)) return; // the reassembler lets no such request through; never write past the buffer
      const out = s.upperStart(4);
      s.buffer.set(bytes.subarray(at, end), out);
      const r = this.#icmp.reset(s.buffer, out, out + len);
      r.type = ICMP_TYPE.ECHO_REPLY;
      r.code = 0;
      r.fillChecksum();
      s.send(dst, src, IP_PROTOCOL_ICMP, len);
      this.stats.echoReplies++;
      return;
    }
    if (type === ICMP_TYPE.ECHO_REPLY) {
      this.#echoReply(src, m.identifier, m.sequence, bytes.slice(m.payloadStart, end), ttl);
      return;
    }
    if (type === ICMP_TYPE.DESTINATION_UNREACHABLE || type === ICMP_TYPE.TIME_EXCEEDED) {
      const code = m.code;
      let error: SocketErrorCode = "EHOSTUNREACH";
      let hard = false;
      if (type === ICMP_TYPE.DESTINATION_UNREACHABLE) {
        // RFC 1122 §4.2.3.9: port and protocol unreachable are hard; net/host are soft.
        if (code === 2 || code === 3) {
          error = "ECONNREFUSED";
          hard = true;
        } else if (code === 0 || code === 6) {
          error = "ENETUNREACH";
        }
      }
      this.#quoted4(bytes, m.payloadStart, end, error, hard);
    }
  }

  /** The datagram an ICMP error quotes (its header and at least 8 bytes): tell whoever sent it. */
  #quoted4(bytes: Uint8Array, at: number, end: number, error: SocketErrorCode, hard: boolean): void {
    const q = this.#v4.reset(bytes, at, end);
    if (end - at < 20 || q.version !== 4 || q.headerLength < 20 || at + q.headerLength + 8 > end) return;
    this.#quotedTransport(q.protocol, q.src, q.dst, bytes, at + q.headerLength, error, hard);
  }

  #quotedTransport(protocol: number, local: Uint8Array, remote: Uint8Array, bytes: Uint8Array, t: number, error: SocketErrorCode, hard: boolean): void {
    if (!this.#iface.isOurs(local)) return;
    // The quote holds at least the transport header's first 8 bytes (RFC 792, RFC 4443 §2.4):
    // the ports, and TCP's sequence number; the views read no further.
    if (protocol === IP_PROTOCOL_TCP) {
      const q = this.#quotedTcp.reset(bytes, t, t + 8);
      this.tcp?.icmpError(local, q.srcPort, remote, q.dstPort, q.seq, error as "ECONNREFUSED", hard);
    } else if (protocol === IP_PROTOCOL_UDP) {
      const q = this.#quotedUdp.reset(bytes, t, t + 8);
      this.udp?.icmpError(q.srcPort, remote, q.dstPort, error);
    }
  }

  // ---- ICMPv6 (RFC 4443) and neighbor discovery (RFC 4861) ----

  /** An ICMPv6 message `bytes[at, end)` arrived from `src` to `dst` with hop limit `hopLimit`; the frame's Ethernet source at `ethSrcAt`. */
  icmpv6Input(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, at: number, end: number, hopLimit: number, ethSrcAt: number): Uint8Array[] {
    const m = this.#icmp6.reset(bytes, at, end);
    if (m.check() !== null) return [];
    if (!m.verifyChecksum(src, dst)) {
      this.stats.badChecksum++;
      this.trace?.drop(this.now, "icmp6: bad checksum");
      return [];
    }
    const type = m.type;
    switch (type) {
      case ICMPV6_TYPE.ECHO_REQUEST: {
        // RFC 4443 §4.2: reply to unicast requests; a reply to a multicast request uses our unicast address.
        const len = end - at;
        const from = this.#iface.isOurs(dst) ? dst : this.#iface.sourceFor(src);
        const s = this.#sender;
        // A request of the largest IPv6 payload (65535, fragmented) is answered, fragmented (RFC 8200 §4.5).
        if (from === null || len > s.maxPayload(6)) return [];
        const out = s.upperStart(6);
        s.buffer.set(bytes.subarray(at, end), out);
        const r = this.#icmp6.reset(s.buffer, out, out + len);
        r.type = ICMPV6_TYPE.ECHO_REPLY;
        r.code = 0;
        r.fillChecksum(from, src);
        s.send(from, src, IP_PROTOCOL_ICMPV6, len);
        this.stats.echoReplies++;
        return [];
      }
      case ICMPV6_TYPE.ECHO_REPLY:
        this.#echoReply(src, m.identifier, m.sequence, bytes.slice(m.payloadStart, end), hopLimit);
        return [];
      case ICMPV6_TYPE.NEIGHBOR_SOLICITATION:
        return this.#solicitation(src, m, hopLimit);
      case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT:
        return this.#advertisement(dst, m, hopLimit);
      case ICMPV6_TYPE.ROUTER_ADVERTISEMENT:
        return this.#routerAdvertisement(src, m, hopLimit, bytes, ethSrcAt);
      default:
        if (isIcmpv6Error(type) && (type === ICMPV6_TYPE.DESTINATION_UNREACHABLE || type === ICMPV6_TYPE.TIME_EXCEEDED)) {
          const hard = type === ICMPV6_TYPE.DESTINATION_UNREACHABLE && m.code === 4;
          const error: SocketErrorCode = hard ? "ECONNREFUSED" : m.code === 0 ? "ENETUNREACH" : "EHOSTUNREACH";
          const q = this.#v6.reset(bytes, m.payloadStart, end);
          if (end - m.payloadStart >= 48 && q.version === 6) this.#quotedTransport(q.nextHeader, q.src, q.dst, bytes, m.payloadStart + 40, error, hard);
        }
        return [];
    }
  }

  /** RFC 4861 §7.2.3: a solicitation for one of our addresses is answered with a solicited advertisement. */
  #solicitation(src: Uint8Array, m: Icmpv6View, hopLimit: number): Uint8Array[] {
    if (hopLimit !== ND_HOP_LIMIT || m.code !== 0) return [];
    const target = m.targetAddress;
    if (!this.#iface.isOurs(target)) return [];
    const unspecified = src.every((x) => x === 0);
    if (this.#iface.isOurs(src)) {
      this.#conflict(src, "neighbor solicitation");
      return [];
    }
    const sll = findLinkLayerAddress(m.bytes, m.optionsStart, m.optionsEnd, NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS);
    if (sll === -2) return [];
    let released: Uint8Array[] = [];
    if (!unspecified && sll >= 0) released = this.#neighbors.learn(src, m.bytes.subarray(sll, sll + 6), this.now);
    // Duplicate address detection (unspecified source) is answered to all-nodes, unsolicited (§7.2.4).
    this.#advertise(target.slice(), unspecified ? null : src.slice(), !unspecified);
    return released;
  }

  /** Send a neighbor advertisement for our `target` to `to` (null: all-nodes). */
  #advertise(target: Uint8Array, to: Uint8Array | null, solicited: boolean): void {
    const dst = to ?? Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    const s = this.#sender;
    const out = s.upperStart(6);
    const len = 24 + 8;
    s.buffer.fill(0, out, out + len); // reserved bits are sent as zero
    const m = this.#icmp6.reset(s.buffer, out, out + len);
    m.type = ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT;
    m.solicited = solicited;
    m.override = true;
    m.targetAddress = target;
    writeLinkLayerAddress(NDP_OPTION.TARGET_LINK_LAYER_ADDRESS, this.#iface.mac, s.buffer, out + 24);
    m.fillChecksum(target, dst);
    s.send(target, dst, IP_PROTOCOL_ICMPV6, len, ND_HOP_LIMIT);
    this.stats.neighborAdverts++;
  }

  /**
   * RFC 4861 §7.2.5: an advertisement updates the entry of the neighbor it
   * names, if there is one (none is created); see {@link NeighborTable.advertised}.
   */
  #advertisement(dst: Uint8Array, m: Icmpv6View, hopLimit: number): Uint8Array[] {
    if (hopLimit !== ND_HOP_LIMIT || m.code !== 0) return [];
    const target = m.targetAddress;
    // §7.1.2: the target is not multicast; to a multicast destination the Solicited flag is clear.
    if (target[0] === 0xff || (dst[0] === 0xff && m.solicited)) return [];
    const tll = findLinkLayerAddress(m.bytes, m.optionsStart, m.optionsEnd, NDP_OPTION.TARGET_LINK_LAYER_ADDRESS);
    if (tll === -2) return [];
    if (this.#iface.isOurs(target)) {
      // RFC 4862 §5.4.4: another node claims our address.
      this.#conflict(target, "neighbor advertisement");
      return [];
    }
    return this.#neighbors.advertised(target, tll >= 0 ? m.bytes.subarray(tll, tll + 6) : null, m.solicited, m.override, this.now);
  }

  #conflict(address: Uint8Array, how: string): void {
    this.stats.addressConflicts++;
    this.trace?.note(this.now, `address conflict: ${formatIp(address)} claimed by another node (${how})`);
  }

  /** RFC 4861 §6.3.4: a router advertisement with a lifetime makes its sender our default router. */
  #routerAdvertisement(src: Uint8Array, m: Icmpv6View, hopLimit: number, bytes: Uint8Array, ethSrcAt: number): Uint8Array[] {
    // §6.1.2: only from a link-local source, hop limit 255.
    if (hopLimit !== ND_HOP_LIMIT || m.code !== 0 || !(src[0] === 0xfe && (src[1]! & 0xc0) === 0x80) || this.#iface.isOurs(src)) return [];
    if (m.routerLifetime > 0) {
      if (this.#iface.gateway6 === null || !sameAddress(this.#iface.gateway6, src)) this.trace?.note(this.now, `default router ${formatIp(src)} (router advertisement)`);
      this.#iface.gateway6 = src.slice();
    } else if (this.#iface.gateway6 !== null && sameAddress(this.#iface.gateway6, src)) {
      this.#iface.gateway6 = null;
    }
    const sll = findLinkLayerAddress(m.bytes, m.optionsStart, m.optionsEnd, NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS);
    const mac = sll >= 0 ? m.bytes.subarray(sll, sll + 6) : bytes.subarray(ethSrcAt, ethSrcAt + 6);
    return this.#neighbors.learn(src, mac, this.now);
  }

  /** RFC 4861 §7.2.2: a solicitation for `target`, multicast to its solicited-node group (or unicast to refresh). */
  neighborSolicit(target: Uint8Array, mac: Uint8Array | null = null): void {
    const src = this.#iface.sourceFor(target);
    if (src === null) return;
    const dst = mac === null ? solicitedNode(target) : target;
    const s = this.#sender;
    const out = s.upperStart(6);
    const len = 24 + 8;
    s.buffer.fill(0, out, out + len); // reserved bits are sent as zero
    const m = this.#icmp6.reset(s.buffer, out, out + len);
    m.type = ICMPV6_TYPE.NEIGHBOR_SOLICITATION;
    m.targetAddress = target;
    writeLinkLayerAddress(NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS, this.#iface.mac, s.buffer, out + 24);
    m.fillChecksum(src, dst);
    s.send(src, dst, IP_PROTOCOL_ICMPV6, len, ND_HOP_LIMIT);
  }

  /** RFC 4861 §6.3.7: ask the routers on the link to advertise. */
  routerSolicit(): void {
    const src = this.#iface.linkLocal;
    const s = this.#sender;
    const out = s.upperStart(6);
    const len = 8 + 8;
    s.buffer.fill(0, out, out + len); // reserved bits are sent as zero
    const m = this.#icmp6.reset(s.buffer, out, out + len);
    m.type = ICMPV6_TYPE.ROUTER_SOLICITATION;
    writeLinkLayerAddress(NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS, this.#iface.mac, s.buffer, out + 8);
    m.fillChecksum(src, ALL_ROUTERS);
    s.send(src, ALL_ROUTERS, IP_PROTOCOL_ICMPV6, len, ND_HOP_LIMIT);
  }

  /** Announce our addresses once up: unsolicited advertisements (RFC 4861 §7.2.6). */
  announce(): void {
    for (const a of [this.#iface.linkLocal, ...this.#iface.ipv6.map((x) => x.address)]) this.#advertise(a, null, false);
  }

  // ---- ping ----

  /** A ping endpoint for `identifier` (replies with it are queued there). */
  openPing(identifier: number): PingEndpoint {
    const p = new PingEndpoint(identifier);
    this.#pings.set(identifier, p);
    return p;
  }

  closePing(p: PingEndpoint): void {
    if (this.#pings.get(p.identifier) === p) this.#pings.delete(p.identifier);
  }

  /** Send an echo request to `dst`. Returns false when there is no route. */
  echoRequest(dst: Uint8Array, identifier: number, sequence: number, data: Uint8Array, ttl = 64): boolean {
    const v4 = dst.length === 4;
    const src = this.#iface.sourceFor(dst);
    if (src === null) return false;
    const s = this.#sender;
    const out = s.upperStart(v4 ? 4 : 6);
    const len = 8 + data.length;
    s.buffer.set(data, out + 8);
    if (v4) {
      const m = this.#icmp.reset(s.buffer, out, out + len);
      m.type = ICMP_TYPE.ECHO_REQUEST;
      m.code = 0;
      m.identifier = identifier;
      m.sequence = sequence;
      m.fillChecksum();
      return s.send(src, dst, IP_PROTOCOL_ICMP, len, ttl) === null;
    }
    const m = this.#icmp6.reset(s.buffer, out, out + len);
    m.type = ICMPV6_TYPE.ECHO_REQUEST;
    m.code = 0;
    m.identifier = identifier;
    m.sequence = sequence;
    m.fillChecksum(src, dst);
    return s.send(src, dst, IP_PROTOCOL_ICMPV6, len, ttl) === null;
  }

  #echoReply(from: Uint8Array, identifier: number, sequence: number, data: Uint8Array, ttl: number): void {
    const p = this.#pings.get(identifier);
    if (p === undefined) return;
    p.replies.push({ from: from.slice(), sequence, data, ttl, at: this.now });
    p.owner?.wake();
  }

  /** Whether an arriving ICMP (v4 or v6) type is an error (never answered with one). */
  static isError(v4: boolean, type: number): boolean {
    return v4 ? isIcmpError(type) : isIcmpv6Error(type);
  }

  /** The multicast MAC of our solicited-node group for `a` (frames to it are ours). */
  static groupMac(a: Uint8Array): Uint8Array {
    return multicastMac(solicitedNode(a));
  }

  /** Whether `frame[at, at + 6)` is one of the multicast MACs we listen on. */
  listensTo(frame: Uint8Array, at: number): boolean {
    if (frame[at] !== 0x33 || frame[at + 1] !== 0x33) return false;
    if (frame[at + 2] === 0 && frame[at + 3] === 0 && frame[at + 4] === 0 && frame[at + 5] === 1) return true; // ff02::1
    for (const a of [this.#iface.linkLocal, ...this.#iface.ipv6.map((x) => x.address)]) {
      if (addressAt(frame, at, ControlLayer.groupMac(a))) return true;
    }
    return false;
  }
}
