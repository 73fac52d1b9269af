/**
 * The userspace TCP/IP stack's deterministic core: one interface (its own
 * MAC, IPv4 and IPv6 addresses, gateways, MTU) with ARP, neighbor discovery,
 * ICMP, IPv4 and IPv6 (fragments reassembled and made), UDP and TCP, driven
 * from outside:
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
import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IP_PROTOCOL_HOPOPT, IP_PROTOCOL_ICMP, IP_PROTOCOL_ICMPV6,
  IP_PROTOCOL_IPV6_FRAG, IP_PROTOCOL_IPV6_NONXT, IP_PROTOCOL_IPV6_OPTS, IP_PROTOCOL_TCP, IP_PROTOCOL_UDP,
} from "../../layers/dispatch.ts";
import { EthernetView } from "../../layers/ethernet.ts";
import { Ipv4View } from "../../layers/ipv4.ts";
import { Ipv6ExtensionView, Ipv6FragmentView } from "../../layers/ipv6_extensions.ts";
import { Ipv6View } from "../../layers/ipv6.ts";
import { ControlLayer, type PingEndpoint } from "./control.ts";
import { InterfaceConfig, type InterfaceOptions } from "./interface.ts";
import { IpSender } from "./ip_out.ts";
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
  readonly #ext = new Ipv6ExtensionView(new Uint8Array(0));
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
    const dst = ip.dst;
    if (!this.iface.isOurs(dst) && !this.iface.isBroadcast4(dst)) {
      this.stats.notForUs++;
      return;
    }
    const src = ip.src.slice();
    const protocol = ip.protocol;
    let payload = bytes;
    let pStart = ip.payloadStart;
    let pEnd = ip.payloadEnd;
    if (ip.moreFragments || ip.fragmentOffset > 0) {
      const key = `${formatIp(src)} ${formatIp(dst)} ${ip.id} ${protocol}`;
      const whole = this.reassembly4.add(key, ip.fragmentOffset, ip.moreFragments, bytes, pStart, pEnd, this.#now);
      if (whole === null) return;
      payload = whole;
      pStart = 0;
      pEnd = whole.length;
    }
    this.#upper(protocol, src, dst.slice(), payload, pStart, pEnd, ip.ttl, bytes, at, end, true, -1);
  }

  #ipv6(bytes: Uint8Array, at: number, end: number, ethSrcAt: number): void {
    const ip = this.#v6.reset(bytes, at, end);
    if (ip.check() !== null || 40 + ip.payloadLength > end - at) {
      this.stats.malformed++;
      return;
    }
    const dst = ip.dst;
    if (!this.iface.isOurs(dst) && !this.iface.isOurGroup(dst)) {
      this.stats.notForUs++;
      return;
    }
    const src = ip.src.slice();
    const pEndAll = ip.payloadEnd;
    let nh = ip.nextHeader;
    let t = ip.payloadStart;
    // RFC 8200 §4.1: hop-by-hop first, destination options anywhere; a routing header with segments left is not for a host to forward.
    for (let n = 0; n < 8; n++) {
      if (nh === IP_PROTOCOL_HOPOPT || nh === IP_PROTOCOL_IPV6_OPTS) {
        const x = this.#ext.reset(bytes, t, pEndAll);
        if (x.check() !== null) return;
        nh = x.nextHeader;
        t += x.headerLength;
        continue;
      }
      if (nh === IP_PROTOCOL_IPV6_FRAG) {
        const f = this.#frag.reset(bytes, t, pEndAll);
        if (f.check() !== null) return;
        const next = f.nextHeader;
        if (!f.isFragment) {
          // An atomic fragment (RFC 6946): the whole datagram.
          nh = next;
          t += 8;
          continue;
        }
        const key = `${formatIp(src)} ${formatIp(dst)} ${f.identification}`;
        const whole = this.reassembly6.add(key, f.fragmentOffset, f.moreFragments, bytes, t + 8, pEndAll, this.#now);
        if (whole === null) return;
        this.#upper(next, src, dst.slice(), whole, 0, whole.length, ip.hopLimit, bytes, at, end, false, ethSrcAt);
        return;
      }
      break;
    }
    if (nh === IP_PROTOCOL_IPV6_NONXT) return;
    this.#upper(nh, src, dst.slice(), bytes, t, pEndAll, ip.hopLimit, bytes, at, end, false, ethSrcAt);
  }

  /** The transport (or ICMP) part of a datagram: `payload[start, end)`; the datagram itself is `ipBytes[ipAt, ipEnd)`. */
  #upper(protocol: number, src: Uint8Array, dst: Uint8Array, payload: Uint8Array, start: number, end: number, ttl: number, ipBytes: Uint8Array, ipAt: number, ipEnd: number, v4: boolean, ethSrcAt: number): void {
    if (protocol === IP_PROTOCOL_TCP) {
      if (!this.iface.isOurs(dst)) return; // TCP is unicast only
      this.tcp.input(src, dst, payload, start, end);
    } else if (protocol === IP_PROTOCOL_UDP) {
      // RFC 1122 §4.1.3.1: a datagram for a port nobody holds gets a port unreachable.
      if (!this.udp.input(src, dst, payload, start, end)) this.control.unreachable(src, dst, ipBytes, ipAt, ipEnd, true);
    } else if (v4 && protocol === IP_PROTOCOL_ICMP) {
      this.control.icmpInput(src, dst, payload, start, end, ttl);
    } else if (!v4 && protocol === IP_PROTOCOL_ICMPV6) {
      this.#sendReleased(this.control.icmpv6Input(src, dst, payload, start, end, ttl, ethSrcAt));
    } else {
      // RFC 1122 §3.2.2.1: an unknown protocol SHOULD get a protocol unreachable.
      this.control.unreachable(src, dst, ipBytes, ipAt, ipEnd, false);
    }
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
    next = Math.min(next, this.reassembly4.poll(this.#now), this.reassembly6.poll(this.#now));
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
