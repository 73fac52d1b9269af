/**
 * The userspace TCP/IP stack's deterministic core: one interface (its own
 * MAC, IPv4 and IPv6 addresses, gateways, MTU) with ARP, neighbor discovery,
 * ICMP, IPv4 and IPv6 (fragments reassembled and made; extension headers
 * walked as RFC 8200 §4 asks of a host, see ipv6_chain.ts), UDP and TCP,
 * driven from outside:
 *
 * - {@link Stack.input} takes each frame that arrived, with the time;
 * - {@link Stack.poll} runs what is due at a time (retransmissions, delayed
 *   ACKs, neighbor retries, reassembly timeouts) and returns when to call it
 *   next;
 * - frames to send leave through the `transmit` function it was given.
 *
 * It never reads a clock, sleeps or draws randomness of its own: time comes
 * with every call and randomness from the {@link Random} it was given. So the
 * same code runs on a live interface (`driver.ts`), between two stacks in
 * memory, and under a virtual clock in tests, where a loss pattern replays
 * exactly.
 *
 * @example
 * ```ts
 * import { Stack } from "./stack.ts";
 * import { seededRandom } from "./random.ts";
 * const frames: Uint8Array[] = [];
 * const stack = new Stack({ ipv4: ["10.0.0.2/24"], random: seededRandom(1), transmit: (f) => frames.push(f.slice()) });
 * const conn = stack.tcpConnect(parseIp("10.0.0.1"), 80, 0); // a SYN (after ARP) goes out
 * ```
 *
 * @module
 */
import { addressAt, formatIp, sameAddress } from "../../layers/addr.ts";
import { IPV6_FIELD, IPV6_HEADER_LENGTH } from "../../layers/ip_fields.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6, IP_PROTOCOL_TCP, IP_PROTOCOL_UDP } from "../../layers/dispatch.ts";
import { EthernetView } from "../../layers/ethernet.ts";
import { Ipv4View } from "../../layers/ipv4.ts";
import { IPV6_FRAGMENT_HEADER_LENGTH, Ipv6FragmentView } from "../../layers/ipv6_extensions.ts";
import { Ipv6View } from "../../layers/ipv6.ts";
import { ControlLayer, type PingEndpoint } from "./control.ts";
import { PARAMETER_PROBLEM } from "./icmp_errors.ts";
import { InterfaceConfig, type AddressWithPrefix, type InterfaceOptions } from "./interface.ts";
import { IpSender } from "./ip_out.ts";
import { CHAIN, Ipv6Chain } from "./ipv6_chain.ts";
import { IsnGenerator } from "./isn.ts";
import { NeighborTable, type NeighborOptions } from "./neighbors.ts";
import type { Random } from "./random.ts";
import { Reassembler, type ReassemblyOptions } from "./reassembly.ts";
import { DEFAULT_TCP_CONFIG, type TcpConfig } from "./tcp/config.ts";
import type { Tcb } from "./tcp/tcb.ts";
import { TcpLayer, type Listener, type Waker } from "./tcp_layer.ts";
import type { TraceSink } from "./trace.ts";
import { UdpLayer, type UdpEndpoint } from "./udp_layer.ts";

/** How to build a {@link Stack}. */
export interface StackOptions extends InterfaceOptions {
  /** every random number the stack draws */
  random: Random;
  /** a frame to put on the link: copy or send it before returning (the stack reuses the bytes) */
  transmit: (frame: Uint8Array) => void;
  /** defaults for every TCP connection */
  tcp?: Partial<TcpConfig> | undefined;
  neighbors?: Partial<NeighborOptions> | undefined;
  reassembly?: Partial<ReassemblyOptions> | undefined;
  /** watch every frame, state change and sender change */
  trace?: TraceSink | undefined;
  /** ask for a router advertisement at start (IPv6); default true when IPv6 is configured */
  solicitRouter?: boolean | undefined;
  /**
   * take TCP and UDP checksums left for offload (the pseudo-header sum only,
   * as a veth peer sends them; see offload.ts) as good. Default false; a
   * host on a live interface turns it on.
   */
  acceptPartialChecksums?: boolean | undefined;
}

/** Counters of what the stack saw and did. */
export interface StackStats {
  framesIn: number;
  framesOut: number;
  notForUs: number;
  badIpChecksum: number;
  malformed: number;
}

/** The stack: see the module documentation. */
export class Stack {
  readonly iface: InterfaceConfig;
  readonly random: Random;
  readonly tcpDefaults: TcpConfig;
  readonly neighbors: NeighborTable;
  readonly sender: IpSender;
  readonly tcp: TcpLayer;
  readonly udp: UdpLayer;
  readonly control: ControlLayer;
  readonly reassembly4: Reassembler;
  readonly reassembly6: Reassembler;
  readonly stats: StackStats = { framesIn: 0, framesOut: 0, notForUs: 0, badIpChecksum: 0, malformed: 0 };
  #now = 0;
  #trace: TraceSink | null;
  readonly #transmit: (frame: Uint8Array) => void;
  readonly #eth = new EthernetView(new Uint8Array(0));
  readonly #v4 = new Ipv4View(new Uint8Array(0));
  readonly #v6 = new Ipv6View(new Uint8Array(0));
  readonly #chain = new Ipv6Chain();
  readonly #frag = new Ipv6FragmentView(new Uint8Array(0));
  #started = false;
  readonly #solicitRouter: boolean;

  constructor(options: StackOptions) {
    this.random = options.random;
    this.iface = InterfaceConfig.parse(options, options.random);
    this.#transmit = options.transmit;
    this.#trace = options.trace ?? null;
    this.tcpDefaults = { ...DEFAULT_TCP_CONFIG, ...options.tcp };
    this.neighbors = new NeighborTable(options.neighbors);
    const clock = (): number => this.#now;
    this.sender = new IpSender(this.iface, this.neighbors, {
      get now() {
        return clock();
      },
      transmitFrame: (frame) => this.#send(frame),
      requestNeighbor: (address) => this.#requestNeighbor(address, null),
    }, this.random);
    this.reassembly4 = new Reassembler({ ...options.reassembly });
    this.reassembly6 = new Reassembler({ timeoutMs: 60_000, ...options.reassembly });
    const iface = this.iface;
    this.tcp = new TcpLayer(this.sender, this.random, new IsnGenerator(this.random), (dst) => iface.sourceFor(dst), (a) => iface.isOurs(a), this.tcpDefaults);
    this.udp = new UdpLayer(this.sender, this.random, (dst) => iface.sourceFor(dst), (dst) => dst.length === 4 && iface.isBroadcast4(dst));
    this.control = new ControlLayer(this.iface, this.neighbors, this.sender, (frame) => this.#send(frame));
    this.tcp.acceptPartialChecksums = this.udp.acceptPartialChecksums = options.acceptPartialChecksums ?? false;
    this.control.tcp = this.tcp;
    this.control.udp = this.udp;
    this.#solicitRouter = options.solicitRouter ?? this.iface.ipv6.length > 0;
    this.#setTrace(this.#trace);
  }

  /** The time of the last call in, ms. */
  get now(): number {
    return this.#now;
  }

  /** Replace the trace sink (null: none). */
  set trace(sink: TraceSink | null) {
    this.#setTrace(sink);
  }
  get trace(): TraceSink | null {
    return this.#trace;
  }

  #setTrace(sink: TraceSink | null): void {
    this.#trace = sink;
    this.tcp.trace = sink;
    this.udp.trace = sink;
    this.control.trace = sink;
  }

  #tick(now: number): void {
    if (now > this.#now) this.#now = now;
    this.tcp.now = this.#now;
    this.udp.now = this.#now;
    this.control.now = this.#now;
    if (!this.#started) {
      this.#started = true;
      // RFC 5227 §2.3, RFC 4861 §7.2.6 / §6.3.7: say who we are, and ask for a router.
      if (this.iface.ipv4.length > 0) this.control.arpAnnounce();
      if (this.iface.ipv6.length > 0 || this.#solicitRouter) this.control.announce();
      if (this.#solicitRouter) this.control.routerSolicit();
    }
  }

  #send(frame: Uint8Array): void {
    this.stats.framesOut++;
    this.#trace?.frame(this.#now, "out", frame, 0, frame.length);
    this.#transmit(frame);
  }

  #requestNeighbor(address: Uint8Array, mac: Uint8Array | null): void {
    if (address.length === 4) this.control.arpRequest(address, mac);
    else this.control.neighborSolicit(address, mac);
  }

  #sendReleased(frames: Uint8Array[]): void {
    for (const f of frames) this.#send(f);
  }

  /** A frame arrived: `bytes[start, end)` (a view of a capture batch is fine: nothing is kept). */
  input(bytes: Uint8Array, start: number, end: number, now: number): void {
    this.#tick(now);
    this.stats.framesIn++;
    const eth = this.#eth.reset(bytes, start, end);
    if (eth.check() !== null) {
      this.stats.malformed++;
      return;
    }
    // Ours: our MAC, broadcast, or a multicast group we joined (the capture is promiscuous).
    const dstAt = eth.dstOffset;
    const mine = addressAt(bytes, dstAt, this.iface.mac) || (bytes[dstAt] === 0xff && addressAt(bytes, dstAt, Uint8Array.of(255, 255, 255, 255, 255, 255))) || this.control.listensTo(bytes, dstAt);
    if (!mine || addressAt(bytes, eth.srcOffset, this.iface.mac)) {
      this.stats.notForUs++;
      return;
    }
    this.#trace?.frame(now, "in", bytes, start, end);
    const type = eth.type;
    const at = eth.payloadStart;
    if (type === ETHERTYPE_IPV4) this.#ipv4(bytes, at, end);
    else if (type === ETHERTYPE_IPV6) this.#ipv6(bytes, at, end, eth.srcOffset);
    else if (type === ETHERTYPE_ARP) this.#sendReleased(this.control.arpInput(bytes, at, end));
  }

  #ipv4(bytes: Uint8Array, at: number, end: number): void {
    const ip = this.#v4.reset(bytes, at, end);
    if (ip.check() !== null || ip.totalLength > end - at) {
      this.stats.malformed++;
      return;
    }
    if (!ip.verifyChecksum()) {
      this.stats.badIpChecksum++;
      this.#trace?.drop(this.#now, "ipv4: bad header checksum");
      return;
    }
    const protocol = ip.protocol;
    if (protocol === IP_PROTOCOL_TCP && !ip.moreFragments && ip.fragmentOffset === 0) {
      // TCP, the bulk of what arrives: its addresses are read where they lie (TCP is unicast only).
      const ours = this.iface.ipv4At(bytes, ip.dstOffset);
      if (ours !== null) this.tcp.input4(bytes, ip.srcOffset, ours, ip.payloadStart, ip.payloadEnd);
      else if (!this.iface.isBroadcast4(ip.dst)) this.stats.notForUs++;
      return;
    }
    const dst = ip.dst;
    if (!this.iface.isOurs(dst) && !this.iface.isBroadcast4(dst)) {
      this.stats.notForUs++;
      return;
    }
    const src = ip.src.slice();
    const ttl = ip.ttl;
    const ipEnd = ip.payloadEnd;
    if (ip.moreFragments || ip.fragmentOffset > 0) {
      const key = `${formatIp(src)} ${formatIp(dst)} ${ip.id} ${protocol}`;
      // RFC 791 §3.1: the whole datagram, header included, is at most 65535 bytes ("ping of death").
      const whole = this.reassembly4.add(key, ip.fragmentOffset, ip.moreFragments, bytes, at, ip.payloadStart, ipEnd, this.#now, 65535 - ip.headerLength);
      if (whole === null) return;
      // The datagram the source sent: the first fragment's header, its lengths and flags made whole.
      const w = this.#v4.reset(whole, 0, whole.length);
      w.totalLength = whole.length;
      w.moreFragments = false;
      w.fragmentOffset = 0;
      w.fillChecksum();
      this.#upper(protocol, src, dst.slice(), whole, this.reassembly4.headLength, whole.length, ttl, whole, 0, whole.length, true, -1, -1);
      return;
    }
    this.#upper(protocol, src, dst.slice(), bytes, ip.payloadStart, ipEnd, ttl, bytes, at, ipEnd, true, -1, -1);
  }

  #ipv6(bytes: Uint8Array, at: number, end: number, ethSrcAt: number): void {
    const ip = this.#v6.reset(bytes, at, end);
    if (ip.check() !== null || IPV6_HEADER_LENGTH + ip.payloadLength > end - at) {
      this.stats.malformed++;
      return;
    }
    const dst = ip.dst;
    if (!this.iface.isOurs(dst) && !this.iface.isOurGroup(dst)) {
      this.stats.notForUs++;
      return;
    }
    const src = ip.src.slice();
    const to = dst.slice();
    const hopLimit = ip.hopLimit;
    const multicast = to[0] === 0xff;
    const c = this.#chain;
    let packet = bytes;
    let ipAt = at;
    let ipEnd = ip.payloadEnd;
    let outcome = c.walk(bytes, at, ipEnd, multicast, ip.payloadStart, ip.nextHeader, at + IPV6_FIELD.NEXT_HEADER);
    if (outcome === CHAIN.FRAGMENT) {
      const fragAt = c.offset;
      const f = this.#frag.reset(bytes, fragAt, ipEnd);
      const r = this.reassembly6;
      const key = `${formatIp(src)} ${formatIp(to)} ${f.identification}`;
      // RFC 8200 §4.5: the reassembled payload length (the headers before the fragment header
      // included) is at most 65535.
      const whole = r.add(key, f.fragmentOffset, f.moreFragments, bytes, at, f.payloadStart, ipEnd, this.#now, 65535 - (fragAt - at - IPV6_HEADER_LENGTH));
      if (whole === null) {
        // RFC 8200 §4.5: a Parameter Problem, code 0, at the Payload Length (not a multiple of 8)
        // or at the Fragment Offset (past 65535).
        if (r.outcome === "misaligned" || r.outcome === "too-big") {
          this.control.errors.parameterProblem(src, to, bytes, at, ipEnd, PARAMETER_PROBLEM.ERRONEOUS_HEADER_FIELD, r.outcome === "misaligned" ? 4 : fragAt + 2 - at);
        }
        return;
      }
      // The packet the source sent (RFC 8200 §4.5): the first fragment's headers without the
      // fragment header, the Next Header that named it now naming what it carried, then the payload.
      const head = r.headLength;
      const outer = this.#v6.reset(whole, 0, whole.length);
      if (c.walk(whole, 0, head, multicast, IPV6_HEADER_LENGTH, outer.nextHeader, IPV6_FIELD.NEXT_HEADER) !== CHAIN.FRAGMENT) return; // it stopped there when the first fragment came
      const firstFragAt = c.offset;
      const nh = this.#frag.reset(whole, firstFragAt, whole.length).nextHeader;
      whole[c.nextHeaderAt] = nh;
      whole.copyWithin(IPV6_FRAGMENT_HEADER_LENGTH, 0, firstFragAt);
      packet = whole.subarray(IPV6_FRAGMENT_HEADER_LENGTH);
      this.#v6.reset(packet, 0, packet.length).payloadLength = packet.length - IPV6_HEADER_LENGTH;
      ipAt = 0;
      ipEnd = packet.length;
      outcome = c.walk(packet, 0, ipEnd, multicast, firstFragAt, nh, c.nextHeaderAt);
      if (outcome === CHAIN.FRAGMENT) return; // a fragment inside a fragment: nothing this host expects
    }
    if (outcome === CHAIN.PROBLEM) {
      this.control.errors.parameterProblem(src, to, packet, ipAt, ipEnd, c.problemCode, c.problemAt - ipAt, c.problemEvenMulticast);
      return;
    }
    if (outcome !== CHAIN.UPPER) return;
    this.#upper(c.nextHeader, src, to, packet, c.offset, ipEnd, hopLimit, packet, ipAt, ipEnd, false, ethSrcAt, c.nextHeaderAt - ipAt);
  }

  /**
   * The transport (or ICMP) part of a datagram: `payload[start, end)`; the
   * datagram itself is `ipBytes[ipAt, ipEnd)`, and for IPv6 the field naming
   * the protocol sits `nextHeaderPointer` bytes into it.
   */
  #upper(protocol: number, src: Uint8Array, dst: Uint8Array, payload: Uint8Array, start: number, end: number, ttl: number, ipBytes: Uint8Array, ipAt: number, ipEnd: number, v4: boolean, ethSrcAt: number, nextHeaderPointer: number): void {
    if (protocol === IP_PROTOCOL_TCP) {
      if (!this.iface.isOurs(dst)) return; // TCP is unicast only
      this.tcp.input(src, dst, payload, start, end);
    } else if (protocol === IP_PROTOCOL_UDP) {
      // RFC 1122 §4.1.3.1: a datagram for a port nobody holds gets a port unreachable.
      if (!this.udp.input(src, dst, payload, start, end)) this.control.errors.portUnreachable(src, dst, ipBytes, ipAt, ipEnd);
    } else if (v4 && protocol === IP_PROTOCOL_ICMP) {
      this.control.icmpInput(src, dst, payload, start, end, ttl);
    } else if (!v4 && protocol === IP_PROTOCOL_ICMPV6) {
      this.#sendReleased(this.control.icmpv6Input(src, dst, payload, start, end, ttl, ethSrcAt));
    } else if (v4) {
      // RFC 1122 §3.2.2.1: an unknown protocol SHOULD get a protocol unreachable.
      this.control.errors.protocolUnreachable(src, dst, ipBytes, ipAt, ipEnd);
    } else {
      // RFC 8200 §4, RFC 4443 §3.4: an unrecognized next header, the pointer at the field that holds it.
      this.control.errors.parameterProblem(src, dst, ipBytes, ipAt, ipEnd, PARAMETER_PROBLEM.UNRECOGNIZED_NEXT_HEADER, nextHeaderPointer);
    }
  }

  /**
   * Frames that arrived together (one capture wake-up) follow as {@link input}
   * calls: until {@link endBatch}, TCP holds each connection's answer (its ACK
   * and the data that ACK lets go) and sends it once at the end, as a kernel
   * does for a GRO aggregate.
   */
  beginBatch(): void {
    this.tcp.beginBatch();
  }

  /** The batch is done: connections send what they held. */
  endBatch(): void {
    this.tcp.endBatch();
  }

  /** Run what is due at `now`; returns the time the next thing is due (Infinity: nothing). */
  poll(now: number): number {
    this.#tick(now);
    let next = this.tcp.poll(this.#now);
    next = Math.min(next, this.neighbors.poll(this.#now, {
      request: (address, mac) => this.#requestNeighbor(address, mac),
      unreachable: (address, dropped) => {
        this.#trace?.drop(this.#now, `no answer from ${formatIp(address)}: ${dropped} frame(s) dropped`);
        const iface = this.iface;
        this.tcp.unreachable((remote) => {
          const hop = iface.nextHop(remote);
          return hop !== null && sameAddress(hop, address);
        });
      },
    }));
    // RFC 1122 §3.3.2, RFC 8200 §4.5: a datagram abandoned with its first fragment draws a Time Exceeded.
    const expired = (first: Uint8Array): void => this.control.errors.reassemblyTimeExceeded(first);
    next = Math.min(next, this.reassembly4.poll(this.#now, expired), this.reassembly6.poll(this.#now, expired));
    return next;
  }

  // ---- sockets (the socket layer calls these; each takes the time) ----

  /** Open a TCP connection to `remote:port` (local port 0: ephemeral). */
  tcpConnect(remote: Uint8Array, port: number, localPort: number, now: number, options: { localAddress?: Uint8Array | null; config?: Partial<TcpConfig>; owner?: Waker | null } = {}): Tcb {
    this.#tick(now);
    return this.tcp.connect(remote, port, options.localAddress ?? null, localPort, { ...this.tcpDefaults, ...options.config }, options.owner ?? null);
  }

  /** Listen on TCP `port` for one family. */
  tcpListen(family: 4 | 6, port: number, backlog: number, now: number, options: { address?: Uint8Array | null; config?: Partial<TcpConfig> } = {}): Listener {
    this.#tick(now);
    return this.tcp.listen(family, options.address ?? null, port, backlog, { ...this.tcpDefaults, ...options.config });
  }

  /** Bind a UDP port (0: ephemeral). */
  udpBind(family: 4 | 6, port: number, now: number, address: Uint8Array | null = null): UdpEndpoint {
    this.#tick(now);
    return this.udp.bind(family, address, port);
  }

  /** Send a UDP datagram. Throws SocketError. */
  udpSend(e: UdpEndpoint, dst: Uint8Array, port: number, data: Uint8Array, now: number): void {
    this.#tick(now);
    this.udp.sendTo(e, dst, port, data);
  }

  /**
   * Take an IPv4 address at run time (a DHCP lease): the address, its prefix
   * and, when given, the default gateway; announced at once with a
   * gratuitous ARP (RFC 5227 §2.3), as at start.
   */
  addIpv4(address: AddressWithPrefix, gateway: Uint8Array | null, now: number): void {
    this.#tick(now);
    this.iface.addIpv4(address);
    if (gateway !== null) this.iface.gateway4 = gateway.slice();
    this.control.arpAnnounce();
  }

  /** Give up an IPv4 address (a lease ended); the gateway goes with the last one. */
  removeIpv4(address: Uint8Array, now: number): void {
    this.#tick(now);
    this.iface.removeIpv4(address);
    if (this.iface.ipv4.length === 0) this.iface.gateway4 = null;
  }

  /** Open a ping endpoint for echo replies with `identifier`. */
  openPing(identifier: number): PingEndpoint {
    return this.control.openPing(identifier);
  }

  /** Send an echo request; false when there is no route. */
  ping(dst: Uint8Array, identifier: number, sequence: number, data: Uint8Array, now: number): boolean {
    this.#tick(now);
    return this.control.echoRequest(dst, identifier, sequence, data);
  }

  /** Run `fn` at `now` (a socket call that may send): the clock moves first. */
  at<T>(now: number, fn: () => T): T {
    this.#tick(now);
    return fn();
  }
}
