/**
 * TCP in the stack: the connection table (demultiplexing by ports and
 * addresses), listeners with their SYN and accept queues, ephemeral ports
 * (RFC 6056), answers for segments no connection owns (RFC 9293 §3.10.7.1:
 * RST), and the {@link TcpHost} every connection talks to: it writes a
 * segment's TCP header and options through the layers' `TcpView`, copies the
 * data straight from the send buffer into the frame, fills the checksum, and
 * hands the datagram to IP.
 *
 * Size: over 500 lines: the table, the listeners, the host callbacks and the
 * batch hold all work on the connection table's private state, which a split
 * would have to expose.
 *
 * @module
 */
import { addressAt, formatIp, sameAddress } from "../../layers/addr.ts";
import { IP_PROTOCOL_TCP } from "../../layers/dispatch.ts";
import { TcpView } from "../../layers/tcp.ts";
import { readTcpOptionFields, writeTcpOptionFields } from "../../layers/tcp_option_fields.ts";
import { SocketError } from "./errors.ts";
import type { IpSender } from "./ip_out.ts";
import type { IsnGenerator } from "./isn.ts";
import { isPartialChecksum } from "./offload.ts";
import { randomBelow, type Random } from "./random.ts";
import { seqAdd, seqGt, seqLe, seqLt } from "./seq.ts";
import { ACK, DEFAULT_TCP_CONFIG, RST, SYN, FIN, type TcpConfig, type TcpState } from "./tcp/config.ts";
import { tcpInput } from "./tcp/input.ts";
import { nextDeadline, tcpOutput } from "./tcp/output.ts";
import { InSegment, OutSegment } from "./tcp/segment.ts";
import { Tcb, type TcpHost } from "./tcp/tcb.ts";
import { tcpTimers } from "./tcp/timers.ts";
import { activeOpen, passiveOpen } from "./tcp/user.ts";
import type { TraceSink } from "./trace.ts";
import { Listener, reopensTimeWait, type Waker } from "./tcp_listener.ts";

export { Listener, type Waker };

/** The TCP layer of one stack. */
export class TcpLayer implements TcpHost {
  now = 0;
  readonly #sender: IpSender;
  readonly #random: Random;
  readonly #isn: IsnGenerator;
  readonly #source: (dst: Uint8Array) => Uint8Array | null;
  readonly #isOurs: (a: Uint8Array) => boolean;
  readonly config: TcpConfig;
  trace: TraceSink | null = null;
  /** connections by port pair (local · 65536 + remote) */
  readonly #conns = new Map<number, Tcb[]>();
  readonly #listeners = new Map<number, Listener[]>();
  /** live connections, TIME-WAIT ones apart (below) */
  readonly #all = new Set<Tcb>();
  /**
   * Connections in TIME-WAIT, oldest first. Their only timer is 2MSL, and a
   * server that closes first gathers thousands of them: they are kept out
   * of the scan every poll makes, and expire from the front of this queue.
   */
  #timeWait: Tcb[] = [];
  #timeWaitHead = 0;
  #nextId = 1;
  readonly #in = new InSegment();
  readonly #view = new TcpView(new Uint8Array(0));
  #challengeWindowStart = 0;
  #challengeCount = 0;
  /** counters (bad checksums, resets sent, ...) */
  readonly stats = { badChecksum: 0, partialChecksum: 0, malformed: 0, resetsSent: 0, noListener: 0 };
  /** take a checksum left for offload (see offload.ts) as good */
  acceptPartialChecksums = false;
  /** a batch of frames is being processed: connections' output waits for its end */
  #batching = false;
  readonly #deferred: Tcb[] = [];

  constructor(
    sender: IpSender,
    random: Random,
    isn: IsnGenerator,
    source: (dst: Uint8Array) => Uint8Array | null,
    isOurs: (a: Uint8Array) => boolean,
    config: Partial<TcpConfig> = {},
  ) {
    this.#sender = sender;
    this.#random = random;
    this.#isn = isn;
    this.#source = source;
    this.#isOurs = isOurs;
    this.config = { ...DEFAULT_TCP_CONFIG, ...config };
  }

  /** Every live connection outside TIME-WAIT (for polls and traces). */
  get connections(): ReadonlySet<Tcb> {
    return this.#all;
  }

  /** Connections in TIME-WAIT. */
  get timeWaitCount(): number {
    return this.#timeWait.length - this.#timeWaitHead;
  }

  #key(localPort: number, remotePort: number): number {
    return localPort * 65536 + remotePort;
  }

  #find(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): Tcb | undefined {
    const list = this.#conns.get(this.#key(localPort, remotePort));
    if (list === undefined) return undefined;
    for (const t of list) if (sameAddress(t.remoteAddress, remote) && sameAddress(t.localAddress, local)) return t;
    return undefined;
  }

  #insert(t: Tcb): void {
    const key = this.#key(t.localPort, t.remotePort);
    let list = this.#conns.get(key);
    if (list === undefined) {
      list = [];
      this.#conns.set(key, list);
    }
    list.push(t);
    this.#all.add(t);
  }

  #mss(family: 4 | 6): number {
    // MTU less the IP and TCP headers without options (RFC 9293 §3.7.1, RFC 6691).
    return this.#sender.maxUpper(family) - 20;
  }

  /** A random ephemeral port (RFC 6056 §3.3.1, the IANA range 49152-65535) free for this peer. */
  ephemeralPort(local: Uint8Array, remote: Uint8Array, remotePort: number): number {
    const count = 65536 - 49152;
    const start = randomBelow(this.#random, count);
    for (let i = 0; i < count; i++) {
      const port = 49152 + ((start + i) % count);
      if (this.#find(local, port, remote, remotePort) === undefined && !this.#listeners.has(port)) return port;
    }
    throw new SocketError("EADDRNOTAVAIL", "connect", "no ephemeral port left for this peer");
  }

  /** Active open to `remote:remotePort`; throws SocketError when no route or the 4-tuple is taken. */
  connect(remote: Uint8Array, remotePort: number, localAddress: Uint8Array | null, localPort: number, config: TcpConfig, owner: Waker | null): Tcb {
    const family = remote.length === 4 ? 4 : 6;
    const local = localAddress ?? this.#source(remote);
    if (local === null) throw new SocketError("ENETUNREACH", "connect", `no IPv${family} address to send from`);
    const port = localPort === 0 ? this.ephemeralPort(local, remote, remotePort) : localPort;
    if (this.#find(local, port, remote, remotePort) !== undefined) throw new SocketError("EADDRINUSE", "connect");
    const t = new Tcb(this.#nextId++, config, family, local.slice(), port, remote.slice(), remotePort, this.#mss(family));
    t.owner = owner;
    this.#insert(t);
    activeOpen(t, this, this.#isn.next(this.now, local, port, remote, remotePort), this.#random.u32());
    return t;
  }

  /** Passive open on `port`; throws EADDRINUSE when another listener has it. */
  listen(family: 4 | 6, address: Uint8Array | null, port: number, backlog: number, config: TcpConfig): Listener {
    const list = this.#listeners.get(port) ?? [];
    for (const l of list) {
      if (l.family === family && (l.address === null || address === null || sameAddress(l.address, address))) {
        throw new SocketError("EADDRINUSE", "listen", `port ${port}`);
      }
    }
    const l = new Listener(family, address, port, backlog, config);
    list.push(l);
    this.#listeners.set(port, list);
    return l;
  }

  /** Whether a TCP port is held by a listener (of `family`, when given: an IPv4 and an IPv6 listener may share a port). */
  portInUse(port: number, family?: 4 | 6): boolean {
    const list = this.#listeners.get(port);
    if (list === undefined) return false;
    return family === undefined || list.some((l) => l.family === family);
  }

  /** Stop listening: queued connections that were never accepted are reset. */
  closeListener(l: Listener): void {
    if (l.closed) return;
    l.closed = true;
    const list = this.#listeners.get(l.port);
    if (list !== undefined) {
      const rest = list.filter((x) => x !== l);
      if (rest.length === 0) this.#listeners.delete(l.port);
      else this.#listeners.set(l.port, rest);
    }
    for (const t of [...l.halfOpen, ...l.acceptQueue]) {
      this.transmitControl(t, t.sndNxt, t.rcvNxt, RST | ACK);
      t.state = "CLOSED";
      this.released(t);
    }
    l.halfOpen.length = 0;
    l.acceptQueue.length = 0;
  }

  #listenerFor(local: Uint8Array, port: number): Listener | null {
    const list = this.#listeners.get(port);
    if (list === undefined) return null;
    const family = local.length === 4 ? 4 : 6;
    for (const l of list) if (!l.closed && l.family === family && (l.address === null || sameAddress(l.address, local))) return l;
    return null;
  }

  /**
   * A TCP segment in an IPv4 datagram: the source address is at
   * `bytes[srcAt, srcAt + 4)`, the destination is our address `dst`. For a
   * segment of a connection we have (the run of a transfer), the addresses
   * are compared where they lie and the connection's own copies serve the
   * checksum: nothing is allocated. Anything else goes through {@link input}.
   */
  input4(bytes: Uint8Array, srcAt: number, dst: Uint8Array, at: number, end: number): void {
    const v = this.#view.reset(bytes, at, end);
    if (v.check() === null) {
      const list = this.#conns.get(this.#key(v.dstPort, v.srcPort));
      if (list !== undefined) {
        for (let i = 0; i < list.length; i++) {
          const t = list[i]!;
          if (!addressAt(bytes, srcAt, t.remoteAddress) || !sameAddress(t.localAddress, dst)) continue;
          if (t.state === "CLOSED" || t.state === "TIME-WAIT") break; // input's rules for these
          if (!this.#checksumOk(v, t.remoteAddress, t.localAddress, at, end)) return;
          tcpInput(t, this.#segment(v, bytes, end), this);
          return;
        }
      }
    }
    this.input(bytes.slice(srcAt, srcAt + 4), dst.slice(), bytes, at, end);
  }

  /** The checksum is right, or a partial one we take (counted); else the segment is counted and dropped. */
  #checksumOk(v: TcpView, src: Uint8Array, dst: Uint8Array, at: number, end: number): boolean {
    // The partial test first: it sums the pseudo-header where the full test sums the whole
    // segment, and a merged (GRO) segment of 64 KB carries one. The order changes nothing taken.
    if (this.acceptPartialChecksums && isPartialChecksum(v.checksum, src, dst, IP_PROTOCOL_TCP, end - at)) {
      this.stats.partialChecksum++;
      return true;
    }
    if (v.verifyChecksum(src, dst)) return true;
    this.stats.badChecksum++;
    this.trace?.drop(this.now, "tcp: bad checksum");
    return false;
  }

  /** The segment in `v` as the rules read it (the one reused {@link InSegment}). */
  #segment(v: TcpView, bytes: Uint8Array, end: number): InSegment {
    const seg = this.#in;
    seg.seq = v.seq;
    seg.ack = v.ack;
    seg.flags = v.flags;
    seg.window = v.window;
    seg.bytes = bytes;
    seg.dataStart = v.payloadStart;
    seg.dataEnd = end;
    if (readTcpOptionFields(bytes, v.optionsStart, v.optionsEnd, seg) !== null) {
      // RFC 9293 §3.1: a malformed option list; the segment itself is still usable without them.
      seg.resetOptions();
    }
    return seg;
  }

  /** A TCP segment arrived in an IP datagram from `src` to `dst`: `bytes[at, end)`. */
  input(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, at: number, end: number): void {
    const v = this.#view.reset(bytes, at, end);
    if (v.check() !== null) {
      this.stats.malformed++;
      this.trace?.drop(this.now, "tcp: malformed header");
      return;
    }
    if (!this.#checksumOk(v, src, dst, at, end)) return;
    const seg = this.#segment(v, bytes, end);
    const srcPort = v.srcPort;
    const dstPort = v.dstPort;
    const t = this.#find(dst, dstPort, src, srcPort);
    if (t !== undefined && t.state !== "CLOSED") {
      if (t.state === "TIME-WAIT" && (seg.flags & (SYN | ACK | RST)) === SYN) {
        // A new SYN in TIME-WAIT may open a new incarnation (RFC 9293 §3.10.7.4); when it is not
        // one, tcpInput answers it as any synchronized state does.
        const l = this.#listenerFor(dst, dstPort);
        if (l !== null && reopensTimeWait(t, seg)) {
          t.state = "CLOSED";
          this.released(t);
          this.#passive(l, src, dst, srcPort, dstPort, seg);
          return;
        }
      }
      tcpInput(t, seg, this);
      return;
    }
    const l = this.#listenerFor(dst, dstPort);
    if (l !== null) {
      this.#listen(l, src, dst, srcPort, dstPort, seg);
      return;
    }
    this.stats.noListener++;
    this.#refuse(src, dst, srcPort, dstPort, seg);
  }

  /** RFC 9293 §3.10.7.2 LISTEN. */
  #listen(l: Listener, src: Uint8Array, dst: Uint8Array, srcPort: number, dstPort: number, seg: InSegment): void {
    const flags = seg.flags;
    if ((flags & RST) !== 0) return;
    if ((flags & ACK) !== 0) {
      this.#control(dst, src, dstPort, srcPort, seg.ack, 0, RST);
      return;
    }
    if ((flags & SYN) === 0) return;
    this.#passive(l, src, dst, srcPort, dstPort, seg);
  }

  #passive(l: Listener, src: Uint8Array, dst: Uint8Array, srcPort: number, dstPort: number, seg: InSegment): void {
    // The application is not accepting: drop the SYN (the peer retries), as Linux does without SYN cookies.
    if (l.acceptQueue.length >= l.backlog) {
      l.stats.droppedFull++;
      this.trace?.drop(this.now, `tcp: accept queue of port ${l.port} full (backlog ${l.backlog}), SYN dropped`);
      return;
    }
    // A SYN flood fills the half-open queue: the oldest half-open connection makes room (bounded memory).
    if (l.halfOpen.length >= l.maxHalfOpen) {
      const oldest = l.halfOpen.shift()!;
      l.stats.evicted++;
      oldest.listener = null;
      oldest.state = "CLOSED";
      this.released(oldest);
    }
    const family = src.length === 4 ? 4 : 6;
    const t = new Tcb(this.#nextId++, l.config, family, dst.slice(), dstPort, src.slice(), srcPort, this.#mss(family));
    t.listener = l;
    this.#insert(t);
    l.halfOpen.push(t);
    passiveOpen(t, seg, this, this.#isn.next(this.now, dst, dstPort, src, srcPort), this.#random.u32());
  }

  /** RFC 9293 §3.10.7.1 CLOSED: a RST for anything but a RST. */
  #refuse(src: Uint8Array, dst: Uint8Array, srcPort: number, dstPort: number, seg: InSegment): void {
    const flags = seg.flags;
    if ((flags & RST) !== 0) return;
    if ((flags & ACK) !== 0) {
      this.#control(dst, src, dstPort, srcPort, seg.ack, 0, RST);
    } else {
      const len = seg.length + ((flags & SYN) !== 0 ? 1 : 0) + ((flags & FIN) !== 0 ? 1 : 0);
      this.#control(dst, src, dstPort, srcPort, 0, seqAdd(seg.seq, len), RST | ACK);
    }
  }

  /** Write a bare TCP header (RST or ACK) and send it. */
  #control(local: Uint8Array, remote: Uint8Array, localPort: number, remotePort: number, seq: number, ack: number, flags: number): void {
    const family = remote.length === 4 ? 4 : 6;
    const s = this.#sender;
    const at = s.upperStart(family);
    const v = this.#view.reset(s.buffer, at, at + 20);
    v.srcPort = localPort;
    v.dstPort = remotePort;
    v.seq = seq;
    v.ack = ack;
    v.headerLength = 20;
    v.flags = flags;
    v.window = 0;
    v.urgentPointer = 0;
    v.fillChecksum(local, remote);
    if ((flags & RST) !== 0) this.stats.resetsSent++;
    s.send(local, remote, IP_PROTOCOL_TCP, 20);
  }

  // ---- TcpHost ----

  transmit(tcb: Tcb, seg: OutSegment): void {
    const s = this.#sender;
    const at = s.upperStart(tcb.family);
    const header = 20 + seg.optionLength();
    const end = at + header + seg.dataLength;
    const v = this.#view.reset(s.buffer, at, end);
    v.srcPort = tcb.localPort;
    v.dstPort = tcb.remotePort;
    v.seq = seg.seq;
    v.ack = (seg.flags & ACK) !== 0 ? seg.ack : 0;
    v.headerLength = header;
    v.flags = seg.flags;
    v.window = seg.window;
    v.urgentPointer = 0;
    writeTcpOptionFields(seg, s.buffer, at + 20);
    if (seg.dataLength > 0) tcb.sendBuffer.copyOut(seg.dataOffset, seg.dataLength, s.buffer, at + header);
    v.fillChecksum(tcb.localAddress, tcb.remoteAddress);
    const failed = s.send(tcb.localAddress, tcb.remoteAddress, IP_PROTOCOL_TCP, header + seg.dataLength);
    if (failed !== null) this.trace?.drop(this.now, `tcp: cannot send to ${formatIp(tcb.remoteAddress)}: ${failed}`);
  }

  transmitControl(tcb: Tcb, seq: number, ack: number, flags: number): void {
    this.#control(tcb.localAddress, tcb.remoteAddress, tcb.localPort, tcb.remotePort, seq, ack, flags);
  }

  stateChanged(tcb: Tcb, from: TcpState, to: TcpState): void {
    this.trace?.state(this.now, tcb, from, to);
    if (to === "TIME-WAIT" && this.#all.delete(tcb)) this.#timeWait.push(tcb);
  }

  released(tcb: Tcb): void {
    const key = this.#key(tcb.localPort, tcb.remotePort);
    const list = this.#conns.get(key);
    if (list !== undefined) {
      const i = list.indexOf(tcb);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#conns.delete(key);
    }
    if (!this.#all.delete(tcb)) {
      // A TIME-WAIT connection leaving early (a new SYN took its place): out of the queue.
      const i = this.#timeWait.indexOf(tcb, this.#timeWaitHead);
      if (i >= 0) this.#timeWait.splice(i, 1);
    }
    const l = tcb.listener as Listener | null;
    if (l !== null) {
      const i = l.halfOpen.indexOf(tcb);
      if (i >= 0) l.halfOpen.splice(i, 1);
    }
  }

  accepted(tcb: Tcb): void {
    const l = tcb.listener as Listener | null;
    if (l === null) return;
    const i = l.halfOpen.indexOf(tcb);
    if (i >= 0) l.halfOpen.splice(i, 1);
    l.acceptQueue.push(tcb);
    l.owner?.wake();
  }

  /**
   * Frames that arrived together follow: until {@link endBatch}, a connection's
   * output after a segment (its ACK, data the ACK let go) waits for the end.
   */
  beginBatch(): void {
    this.#batching = true;
  }

  /** The batch is done: each connection that held its output sends it now, once. */
  endBatch(): void {
    this.#batching = false;
    const list = this.#deferred;
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      t.outputDeferred = false;
      if (t.state !== "CLOSED") tcpOutput(t, this);
    }
    list.length = 0;
  }

  deferOutput(tcb: Tcb): boolean {
    if (!this.#batching) return false;
    if (!tcb.outputDeferred) {
      tcb.outputDeferred = true;
      this.#deferred.push(tcb);
    }
    return true;
  }

  wake(tcb: Tcb): void {
    (tcb.owner as Waker | null)?.wake();
  }

  challengeAckAllowed(): boolean {
    // RFC 5961 §7: a global cap per second.
    if (this.now - this.#challengeWindowStart >= 1000) {
      this.#challengeWindowStart = this.now;
      this.#challengeCount = 0;
    }
    return this.#challengeCount++ < this.config.challengeAckLimit;
  }

  senderChanged(tcb: Tcb, why: string): void {
    this.trace?.sender(this.now, tcb, why);
  }

  // ---- timers ----

  /** Run due timers; returns the earliest deadline left. */
  poll(now: number): number {
    this.now = now;
    let next = Infinity;
    for (const t of this.#all) {
      if (nextDeadline(t) <= now) tcpTimers(t, this);
      if (t.state !== "CLOSED" && this.#all.has(t)) next = Math.min(next, nextDeadline(t));
    }
    // TIME-WAIT: expire from the front; one whose 2MSL restarted (a retransmitted FIN) goes to the back.
    const q = this.#timeWait;
    while (this.#timeWaitHead < q.length) {
      const t = q[this.#timeWaitHead]!;
      if (t.state !== "TIME-WAIT") {
        this.#timeWaitHead++;
        continue;
      }
      if (t.closeAt > now) {
        if (t.closeAt > q[q.length - 1]!.closeAt) {
          this.#timeWaitHead++;
          q.push(t);
          continue;
        }
        next = Math.min(next, t.closeAt);
        break;
      }
      this.#timeWaitHead++;
      tcpTimers(t, this);
    }
    if (this.#timeWaitHead > 1024 && this.#timeWaitHead * 2 > q.length) {
      this.#timeWait = q.slice(this.#timeWaitHead);
      this.#timeWaitHead = 0;
    }
    return next;
  }

  /**
   * An ICMP error quoted a segment we sent from `local:localPort` to
   * `remote:remotePort`: hard errors end a connection that is still opening
   * (RFC 1122 §4.2.3.9, RFC 5461 §4: as Linux, port and protocol unreachable
   * refuse a SYN-SENT connection); others are kept as a soft error.
   */
  icmpError(
    local: Uint8Array,
    localPort: number,
    remote: Uint8Array,
    remotePort: number,
    quotedSeq: number,
    code: "ECONNREFUSED" | "EHOSTUNREACH" | "ENETUNREACH",
    hard: boolean,
  ): void {
    const t = this.#find(local, localPort, remote, remotePort);
    if (t === undefined) return;
    // RFC 5927 §4.1: the quoted segment must be one we sent and that is not yet
    // acknowledged (SND.UNA <= SEG.SEQ < SND.NXT, or the SYN itself); anyone
    // who can guess the four-tuple could otherwise end the connection.
    const seq = quotedSeq >>> 0;
    if (seq !== t.iss && !(seqLe(t.sndUna, seq) && seqLt(seq, t.sndNxt))) {
      this.trace?.drop(this.now, "icmp: quoted sequence number not in flight");
      return;
    }
    if (t.state === "SYN-SENT" && hard) {
      t.error = code;
      t.state = "CLOSED";
      this.stateChanged(t, "SYN-SENT", "CLOSED");
      this.released(t);
      this.wake(t);
      return;
    }
    if (t.error === null && t.state === "SYN-SENT") t.softError = code;
  }

  /**
   * A neighbor never answered: the connections opening toward a remote that
   * `behind` says is reached through it (the remote itself, or the gateway)
   * fail with EHOSTUNREACH.
   */
  unreachable(behind: (remote: Uint8Array) => boolean): void {
    for (const t of [...this.#all]) {
      if (t.state === "SYN-SENT" && behind(t.remoteAddress)) {
        t.error = "EHOSTUNREACH";
        t.state = "CLOSED";
        this.stateChanged(t, "SYN-SENT", "CLOSED");
        this.released(t);
        this.wake(t);
      }
    }
  }
}
