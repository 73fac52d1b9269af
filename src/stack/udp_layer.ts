/**
 * UDP in the stack (RFC 768): endpoints bound to ports, datagrams queued for
 * `recvfrom` up to a byte limit (more are dropped, as a socket buffer drops
 * them; each datagram counts {@link DATAGRAM_OVERHEAD} bytes besides its
 * data, so the limit bounds their number too), `sendto` through IP (fragmented when larger than the MTU), broadcast
 * only when asked for (SO_BROADCAST), and the ICMP errors a connected
 * endpoint is told about (ECONNREFUSED after a port unreachable, as Linux
 * reports it on the next call).
 *
 * @module
 */
import { sameAddress } from "../../layers/addr.ts";
import { IP_PROTOCOL_UDP } from "../../layers/dispatch.ts";
import { UdpView } from "../../layers/udp.ts";
import type { SocketErrorCode } from "./errors.ts";
import { SocketError } from "./errors.ts";
import type { IpSender, SendFailure } from "./ip_out.ts";
import { isPartialChecksum } from "./offload.ts";
import { randomBelow, type Random } from "./random.ts";
import type { Waker } from "./tcp_layer.ts";
import type { TraceSink } from "./trace.ts";

/**
 * Bytes a queued datagram is charged beyond its data, as Linux charges each
 * skb's truesize (some 768 bytes and more for a small datagram) against
 * SO_RCVBUF: what one queued entry costs here (measured at ~450 bytes of V8
 * heap on Node 20 for an empty one: the entry and two small typed arrays),
 * rounded up. The default buffer, 212 992 bytes, then holds at most 416
 * datagrams, however small.
 */
export const DATAGRAM_OVERHEAD = 512;

/** Whether `dst` is 255.255.255.255. */
function isLimitedBroadcast(dst: Uint8Array): boolean {
  return dst.length === 4 && dst[0] === 255 && dst[1] === 255 && dst[2] === 255 && dst[3] === 255;
}

/** One received datagram. */
export interface Datagram {
  data: Uint8Array;
  /** the sender */
  address: Uint8Array;
  port: number;
}

/** A bound UDP port. */
export class UdpEndpoint {
  readonly family: 4 | 6;
  readonly address: Uint8Array | null;
  readonly port: number;
  readonly queue: Datagram[] = [];
  /** data bytes queued (a reader that takes a datagram off subtracts its data's length) */
  queuedBytes = 0;
  /** SO_RCVBUF: a datagram that would take {@link charged} past this is dropped */
  receiveBuffer = 212_992;
  /** SO_BROADCAST */
  broadcast = false;
  /** connect()ed peer: only its datagrams are taken, and it is the default destination */
  peer: { address: Uint8Array; port: number } | null = null;
  error: SocketErrorCode | null = null;
  owner: Waker | null = null;
  closed = false;
  /** datagrams dropped for a full buffer */
  dropped = 0;

  constructor(family: 4 | 6, address: Uint8Array | null, port: number) {
    this.family = family;
    this.address = address;
    this.port = port;
  }

  /** What the queue counts against {@link receiveBuffer}: its data and {@link DATAGRAM_OVERHEAD} for each datagram. */
  get charged(): number {
    return this.queuedBytes + this.queue.length * DATAGRAM_OVERHEAD;
  }
}

/** The UDP layer of one stack. */
export class UdpLayer {
  readonly #sender: IpSender;
  readonly #random: Random;
  readonly #source: (dst: Uint8Array) => Uint8Array | null;
  readonly #isBroadcast: (dst: Uint8Array) => boolean;
  readonly #ports = new Map<number, UdpEndpoint[]>();
  readonly #view = new UdpView(new Uint8Array(0));
  trace: TraceSink | null = null;
  now = 0;
  readonly stats = { badChecksum: 0, partialChecksum: 0, malformed: 0, noPort: 0, delivered: 0 };
  /** take a checksum left for offload (see offload.ts) as good */
  acceptPartialChecksums = false;

  constructor(sender: IpSender, random: Random, source: (dst: Uint8Array) => Uint8Array | null, isBroadcast: (dst: Uint8Array) => boolean) {
    this.#sender = sender;
    this.#random = random;
    this.#source = source;
    this.#isBroadcast = isBroadcast;
  }

  /** Bind `port` (0: an ephemeral one). Throws EADDRINUSE. */
  bind(family: 4 | 6, address: Uint8Array | null, port: number): UdpEndpoint {
    if (port === 0) port = this.#ephemeral(family);
    const list = this.#ports.get(port) ?? [];
    for (const e of list) {
      if (e.family === family && (e.address === null || address === null || sameAddress(e.address, address))) {
        throw new SocketError("EADDRINUSE", "bind", `UDP port ${port}`);
      }
    }
    const e = new UdpEndpoint(family, address, port);
    list.push(e);
    this.#ports.set(port, list);
    return e;
  }

  #ephemeral(family: 4 | 6): number {
    const count = 65536 - 49152;
    const start = randomBelow(this.#random, count);
    for (let i = 0; i < count; i++) {
      const port = 49152 + ((start + i) % count);
      if (!(this.#ports.get(port) ?? []).some((e) => e.family === family)) return port;
    }
    throw new SocketError("EADDRINUSE", "bind", "no ephemeral UDP port left");
  }

  /** Unbind. */
  close(e: UdpEndpoint): void {
    e.closed = true;
    const list = this.#ports.get(e.port);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== e);
    if (rest.length === 0) this.#ports.delete(e.port);
    else this.#ports.set(e.port, rest);
  }

  /**
   * A UDP datagram `bytes[at, end)` arrived from `src` to `dst`. Returns
   * false when no endpoint holds its port (the stack answers with a port
   * unreachable); true when it was taken or dropped for a reason of its own.
   */
  input(src: Uint8Array, dst: Uint8Array, bytes: Uint8Array, at: number, end: number): boolean {
    const v = this.#view.reset(bytes, at, end);
    const problem = v.check();
    if (problem !== null) {
      this.stats.malformed++;
      this.trace?.drop(this.now, `udp: ${problem}`);
      return true;
    }
    // RFC 768: a zero checksum over IPv4 means none was computed; over IPv6 it is invalid (RFC 8200 §8.1).
    if (!(src.length === 4 && v.checksum === 0) && !v.verifyChecksum(src, dst)) {
      if (!this.acceptPartialChecksums || !isPartialChecksum(v.checksum, src, dst, IP_PROTOCOL_UDP, end - at)) {
        this.stats.badChecksum++;
        this.trace?.drop(this.now, "udp: bad checksum");
        return true;
      }
      this.stats.partialChecksum++;
    }
    const family = src.length === 4 ? 4 : 6;
    const list = this.#ports.get(v.dstPort);
    const srcPort = v.srcPort;
    const e = list?.find(
      (x) =>
        x.family === family &&
        (x.address === null || sameAddress(x.address, dst) || this.#isBroadcast(dst)) &&
        (x.peer === null || (sameAddress(x.peer.address, src) && x.peer.port === srcPort)),
    );
    if (e === undefined) {
      this.stats.noPort++;
      return false;
    }
    const len = v.payloadEnd - v.payloadStart;
    if (e.charged + len + DATAGRAM_OVERHEAD > e.receiveBuffer) {
      e.dropped++;
      this.trace?.drop(this.now, `udp: receive buffer of port ${e.port} full`);
      return true;
    }
    e.queue.push({ data: bytes.slice(v.payloadStart, v.payloadEnd), address: src.slice(), port: srcPort });
    e.queuedBytes += len;
    this.stats.delivered++;
    e.owner?.wake();
    return true;
  }

  /** Send `data` from `e` to `dst:port`. Throws SocketError for what the caller got wrong. */
  sendTo(e: UdpEndpoint, dst: Uint8Array, port: number, data: Uint8Array): void {
    if (dst.length !== (e.family === 4 ? 4 : 16)) throw new SocketError("EAFNOSUPPORT", "sendto");
    if (port <= 0 || port > 65535) throw new SocketError("EINVAL", "sendto", `port ${port}`);
    if (this.#isBroadcast(dst) && !e.broadcast) throw new SocketError("EACCES", "sendto", "broadcast needs SO_BROADCAST");
    // RFC 2131 §4.1, RFC 1122 §3.2.1.3: a host still without an IPv4 address (a DHCP client) sends
    // to the limited broadcast from 0.0.0.0.
    const src = e.address ?? this.#source(dst) ?? (isLimitedBroadcast(dst) ? new Uint8Array(4) : null);
    if (src === null) throw new SocketError("ENETUNREACH", "sendto", `no IPv${e.family} address to send from`);
    const length = 8 + data.length;
    if (length > 65535 - (e.family === 4 ? 20 : 0)) throw new SocketError("EMSGSIZE", "sendto");
    const s = this.#sender;
    const at = s.upperStart(e.family);
    s.buffer.set(data, at + 8);
    const v = this.#view.reset(s.buffer, at, at + length);
    v.srcPort = e.port;
    v.dstPort = port;
    v.length = length;
    v.fillChecksum(src, dst);
    const failed: SendFailure | null = s.send(src, dst, IP_PROTOCOL_UDP, length);
    if (failed === "no-route") throw new SocketError("ENETUNREACH", "sendto");
    if (failed !== null) throw new SocketError("EMSGSIZE", "sendto");
  }

  /** An ICMP error about a datagram we sent from `localPort` to `remote:remotePort`: connected endpoints hear of it. */
  icmpError(localPort: number, remote: Uint8Array, remotePort: number, code: SocketErrorCode): void {
    for (const e of this.#ports.get(localPort) ?? []) {
      if (e.peer !== null && sameAddress(e.peer.address, remote) && e.peer.port === remotePort) {
        e.error = code;
        e.owner?.wake();
      }
    }
  }
}
