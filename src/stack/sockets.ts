/**
 * Beej's socket calls over our own stack, as a TypeScript API a student of
 * his guide recognises: `socket`, `bind`, `listen`, `accept`, `connect`,
 * `send`, `recv`, `sendto`, `recvfrom`, `shutdown`, `close`, `getsockname`,
 * `getpeername`, `setsockopt`. Calls that block in C return promises here;
 * errors are {@link SocketError}s named as POSIX names them (ECONNREFUSED,
 * ETIMEDOUT, ECONNRESET, EADDRINUSE, ...).
 *
 * Size: just over 500 lines: the calls are one class, as they are one API
 * (stream and datagram sockets share most of them).
 *
 * @example
 * ```ts
 * const s = new Sockets(driver).socket("inet", "stream");
 * await s.connect("10.77.0.1", 80);
 * await s.send("GET / HTTP/1.0\r\n\r\n");
 * for (let d = await s.recv(); d.length > 0; d = await s.recv()) process.stdout.write(d);
 * s.close();
 * ```
 *
 * @module
 */
import { formatIp, ipFamily, parseIp, type AddressInput } from "../../layers/addr.ts";
import type { PingEndpoint } from "./control.ts";
import type { StackDriver } from "./driver.ts";
import { SocketError } from "./errors.ts";
import type { TcpConfig } from "./tcp/config.ts";
import type { Tcb } from "./tcp/tcb.ts";
import { userAbort, userClose, userReceive, userReceiveInto, userSend, userShutdown } from "./tcp/user.ts";
import type { Listener, TcpLayer, Waker } from "./tcp_layer.ts";
import type { UdpEndpoint } from "./udp_layer.ts";

/** Address families: AF_INET and AF_INET6. */
export type Family = "inet" | "inet6";
/** Socket types: SOCK_STREAM (TCP) and SOCK_DGRAM (UDP). */
export type SocketType = "stream" | "dgram";
/** shutdown's `how`: SHUT_RD, SHUT_WR, SHUT_RDWR. */
export type ShutdownHow = "read" | "write" | "both";

/** Options setsockopt knows. */
export type SocketOption =
  | "TCP_NODELAY"
  | "SO_KEEPALIVE"
  | "SO_SNDBUF"
  | "SO_RCVBUF"
  | "SO_BROADCAST"
  | "TCP_KEEPIDLE"
  | "TCP_KEEPINTVL"
  | "TCP_KEEPCNT"
  | "TCP_CONGESTION";

/** An address and port, as getsockname/getpeername/recvfrom give them. */
export interface SocketAddress {
  family: Family;
  address: string;
  port: number;
}

/** Where sockets come from: one per driver. */
export class Sockets {
  readonly driver: StackDriver;

  constructor(driver: StackDriver) {
    this.driver = driver;
  }

  /** socket(2): a new, unbound socket. */
  socket(family: Family, type: SocketType): Socket {
    if (family !== "inet" && family !== "inet6") throw new SocketError("EAFNOSUPPORT", "socket", String(family));
    if (type !== "stream" && type !== "dgram") throw new SocketError("EINVAL", "socket", String(type));
    return new Socket(this.driver, family, type);
  }

  /** A ping endpoint for echo replies with `identifier`. */
  openPing(identifier: number): PingEndpoint {
    return this.driver.stack.openPing(identifier);
  }
}

function familyNumber(f: Family): 4 | 6 {
  return f === "inet" ? 4 : 6;
}

function addressBytes(address: AddressInput, family: Family, call: string): Uint8Array {
  let b: Uint8Array;
  try {
    b = typeof address === "string" ? parseIp(address) : address;
  } catch {
    throw new SocketError("EINVAL", call, `not an address: ${String(address)}`);
  }
  if (typeof address === "string" && ipFamily(address) !== familyNumber(family)) throw new SocketError("EAFNOSUPPORT", call, `${address} is not an ${family} address`);
  if (b.length !== (family === "inet" ? 4 : 16)) throw new SocketError("EAFNOSUPPORT", call);
  return b;
}

function checkPort(port: number, call: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SocketError("EINVAL", call, `port ${port}`);
}

const ENCODER = new TextEncoder();

/** One socket. */
export class Socket implements Waker {
  readonly family: Family;
  readonly type: SocketType;
  readonly #driver: StackDriver;
  #boundAddress: Uint8Array | null = null;
  #boundPort = 0;
  #tcb: Tcb | null = null;
  #listener: Listener | null = null;
  #udp: UdpEndpoint | null = null;
  #closed = false;
  #connecting = false;
  readonly #config: Partial<TcpConfig> = {};
  /** callers waiting for a change (readable, writable, connected, closed) */
  #waiters: (() => void)[] = [];
  #wakeQueued = false;
  /** for the Node stream face: called on every wake */
  onWake: (() => void) | null = null;

  /** @internal use {@link Sockets.socket} */
  constructor(driver: StackDriver, family: Family, type: SocketType, tcb: Tcb | null = null) {
    this.#driver = driver;
    this.family = family;
    this.type = type;
    if (tcb !== null) {
      this.#tcb = tcb;
      tcb.owner = this;
    }
  }

  /** The connection under a stream socket (for traces and the stream face). */
  get connection(): Tcb | null {
    return this.#tcb;
  }

  /**
   * Something changed (the stack calls this while it processes a frame or a
   * timer). The waiting calls re-check after the stack's turn, in a
   * microtask, never inside it: a call that reads or sends from here would
   * otherwise run inside the connection's own segment processing.
   */
  wake(): void {
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
      this.onWake?.();
    });
  }

  /** Wait until `ready()` says done (re-checked on every wake). */
  #until<T>(ready: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        try {
          const v = ready();
          if (v !== undefined) resolve(v);
          else this.#waiters.push(check);
        } catch (err) {
          reject(err);
        }
      };
      check();
    });
  }

  #open(call: string): void {
    if (this.#closed) throw new SocketError("EBADF", call);
  }

  /** bind(2). Port 0 picks an ephemeral port (at listen/connect for TCP). */
  bind(address: AddressInput, port: number): void {
    this.#open("bind");
    checkPort(port, "bind");
    if (this.#boundPort !== 0 || this.#tcb !== null || this.#udp !== null) throw new SocketError("EINVAL", "bind", "already bound");
    const any = address === "" || address === "0.0.0.0" || address === "::";
    const a = any ? null : addressBytes(address, this.family, "bind");
    if (a !== null && !this.#driver.stack.iface.isOurs(a)) throw new SocketError("EADDRNOTAVAIL", "bind", formatIp(a));
    if (this.type === "dgram") {
      this.#udp = this.#driver.run((now) => this.#driver.stack.udpBind(familyNumber(this.family), port, now, a));
      this.#udp.owner = this;
      this.#boundPort = this.#udp.port;
    } else {
      if (port !== 0 && this.#driver.stack.tcp.portInUse(port, familyNumber(this.family))) throw new SocketError("EADDRINUSE", "bind", `port ${port}`);
      this.#boundPort = port;
    }
    this.#boundAddress = a;
  }

  /** listen(2). */
  listen(backlog = 128): void {
    this.#open("listen");
    if (this.type !== "stream") throw new SocketError("EOPNOTSUPP", "listen");
    if (this.#tcb !== null) throw new SocketError("EISCONN", "listen");
    if (this.#listener !== null) {
      this.#listener.backlog = Math.max(1, backlog);
      return;
    }
    let port = this.#boundPort;
    if (port === 0) port = this.#driver.stack.tcp.ephemeralPort(new Uint8Array(familyNumber(this.family) === 4 ? 4 : 16), new Uint8Array(0), 0);
    this.#listener = this.#driver.run((now) =>
      this.#driver.stack.tcpListen(familyNumber(this.family), port, backlog, now, { address: this.#boundAddress, config: this.#config }),
    );
    this.#listener.owner = this;
    this.#boundPort = port;
  }

  /** accept(2): the next completed connection. */
  accept(): Promise<Socket> {
    this.#open("accept");
    const l = this.#listener;
    if (l === null) return Promise.reject(new SocketError("EINVAL", "accept", "not listening"));
    return this.#until(() => {
      if (this.#closed) throw new SocketError("EBADF", "accept");
      const t = l.acceptQueue.shift();
      if (t === undefined) return undefined;
      t.listener = null;
      return new Socket(this.#driver, this.family, "stream", t);
    });
  }

  /** connect(2). TCP: the handshake; UDP: the default peer (and a filter on what is received). */
  async connect(address: AddressInput, port: number): Promise<void> {
    this.#open("connect");
    checkPort(port, "connect");
    const remote = addressBytes(address, this.family, "connect");
    if (this.type === "dgram") {
      if (this.#udp === null) this.bind("", 0);
      this.#udp!.peer = { address: remote.slice(), port };
      return;
    }
    if (this.#tcb !== null) throw new SocketError(this.#connecting ? "EALREADY" : "EISCONN", "connect");
    if (this.#listener !== null) throw new SocketError("EINVAL", "connect", "listening");
    if (port === 0) throw new SocketError("EINVAL", "connect", "port 0");
    const tcb = this.#driver.run((now) =>
      this.#driver.stack.tcpConnect(remote, port, this.#boundPort, now, { localAddress: this.#boundAddress, config: this.#config, owner: this }),
    );
    this.#tcb = tcb;
    this.#connecting = true;
    try {
      await this.#until(() => {
        if (tcb.error !== null) throw new SocketError(tcb.error === "ETIMEDOUT" && tcb.softError !== null ? tcb.softError : tcb.error, "connect");
        if (tcb.state === "SYN-SENT" || tcb.state === "SYN-RECEIVED") return undefined;
        if (tcb.state === "CLOSED") throw new SocketError("ECONNREFUSED", "connect");
        return true;
      });
    } finally {
      this.#connecting = false;
    }
  }

  /** The error a connection ended with, reported once, as a thrown SocketError. */
  #failIf(tcb: Tcb, call: string): void {
    if (tcb.error !== null) {
      const code = tcb.error;
      throw new SocketError(code, call);
    }
  }

  /**
   * send(2) on a connected stream: resolves with the byte count once all of
   * `data` is in the send buffer (waiting for room, as a blocking send does).
   */
  async send(data: Uint8Array | string): Promise<number> {
    this.#open("send");
    const bytes = typeof data === "string" ? ENCODER.encode(data) : data;
    if (this.type === "dgram") {
      const peer = this.#udp?.peer;
      if (peer === undefined || peer === null) throw new SocketError("EDESTADDRREQ", "send");
      return this.sendto(bytes, peer.address, peer.port);
    }
    const tcb = this.#tcb;
    if (tcb === null) throw new SocketError("ENOTCONN", "send");
    let sent = 0;
    await this.#until(() => {
      this.#failIf(tcb, "send");
      const s = tcb.state;
      if (tcb.finQueued || s === "CLOSED" || s === "TIME-WAIT" || s === "CLOSING" || s === "LAST-ACK") throw new SocketError("EPIPE", "send");
      if (s === "SYN-SENT" || s === "SYN-RECEIVED") return undefined;
      if (sent < bytes.length) sent += this.#driver.run(() => userSend(tcb, this.#driver.stack.tcp, bytes, sent));
      return sent === bytes.length ? true : undefined;
    });
    return sent;
  }

  /**
   * Non-blocking send (MSG_DONTWAIT) on a connected stream: queue what fits
   * of `data[start, …)`; returns the bytes taken (0 when the send buffer is
   * full). Throws the connection's error, or EPIPE after a shutdown.
   */
  trySend(data: Uint8Array, start = 0): number {
    const tcb = this.#tcb;
    if (tcb === null) throw new SocketError("ENOTCONN", "send");
    this.#failIf(tcb, "send");
    if (tcb.finQueued || tcb.state === "CLOSED") throw new SocketError("EPIPE", "send");
    if (tcb.state === "SYN-SENT" || tcb.state === "SYN-RECEIVED") return 0;
    return this.#driver.run(() => userSend(tcb, this.#driver.stack.tcp, data, start));
  }

  /**
   * Non-blocking recv (MSG_DONTWAIT): up to `max` bytes in order, or an
   * empty array when none are there (see {@link ended} for end of stream).
   */
  tryRecv(max = 65536): Uint8Array {
    const tcb = this.#tcb;
    if (tcb === null || tcb.recvBuffer.length === 0) return new Uint8Array(0);
    return this.#driver.run(() => userReceive(tcb, this.#driver.stack.tcp, max));
  }

  /** Bytes ready to read without waiting. */
  get readable(): number {
    return this.#tcb?.recvBuffer.length ?? 0;
  }

  /** Whether the peer's FIN was read past (nothing more will come), or the connection is gone. */
  get ended(): boolean {
    const t = this.#tcb;
    return t !== null && t.recvBuffer.length === 0 && (t.peerClosed || t.state === "CLOSED");
  }

  /** The connection's error, if it ended with one. */
  get failure(): SocketError | null {
    const t = this.#tcb;
    return t === null || t.error === null ? null : new SocketError(t.error, "recv");
  }

  /** recv(2): at least one byte, at most `max`; an empty array at end of stream. */
  recv(max = 65536): Promise<Uint8Array> {
    this.#open("recv");
    if (this.type === "dgram") return this.recvfrom(max).then((d) => d.data);
    return this.#receive((tcb, tcp) => userReceive(tcb, tcp, max), () => new Uint8Array(0));
  }

  /** A stream's recv: `take` once bytes are there, `ended` at the end of the stream. */
  #receive<T>(take: (tcb: Tcb, tcp: TcpLayer) => T, ended: () => T): Promise<T> {
    const tcb = this.#tcb;
    if (tcb === null) return Promise.reject(new SocketError("ENOTCONN", "recv"));
    return this.#until(() => {
      if (tcb.recvBuffer.length > 0) return this.#driver.run(() => take(tcb, this.#driver.stack.tcp));
      this.#failIf(tcb, "recv");
      if (tcb.peerClosed || tcb.readClosed || tcb.state === "CLOSED") return ended();
      return undefined;
    });
  }

  /**
   * recv(2) with the caller's buffer, as in C: waits for at least one byte,
   * moves at most `length` into `buffer` at `offset`, and resolves with how
   * many (0 at end of stream). No array is allocated per call, so a reader
   * that reuses one buffer moves a stream without garbage. A datagram socket
   * gets the next datagram, cut to fit (the rest is lost, as recv(2) does).
   */
  recvInto(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Promise<number> {
    this.#open("recv");
    if (!(buffer instanceof Uint8Array)) throw new TypeError("recvInto: buffer must be a Uint8Array");
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 1 || offset + length > buffer.length) {
      throw new RangeError(`recvInto: offset ${offset} and length ${length} do not fit a buffer of ${buffer.length} bytes`);
    }
    if (this.type === "dgram") return this.recvfrom(65536).then(({ data }) => (buffer.set(data.subarray(0, length), offset), Math.min(length, data.length)));
    return this.#receive((tcb, tcp) => userReceiveInto(tcb, tcp, buffer, offset, length), () => 0);
  }

  /** sendto(2) on a datagram socket (binds an ephemeral port first if needed). */
  async sendto(data: Uint8Array | string, address: AddressInput, port: number): Promise<number> {
    this.#open("sendto");
    if (this.type !== "dgram") throw new SocketError("EISCONN", "sendto");
    checkPort(port, "sendto");
    const bytes = typeof data === "string" ? ENCODER.encode(data) : data;
    const dst = addressBytes(address, this.family, "sendto");
    if (this.#udp === null) this.bind("", 0);
    const e = this.#udp!;
    this.#driver.run((now) => this.#driver.stack.udpSend(e, dst, port, bytes, now));
    return bytes.length;
  }

  /** recvfrom(2): the next datagram and who sent it. */
  recvfrom(max = 65536): Promise<{ data: Uint8Array; from: SocketAddress }> {
    this.#open("recvfrom");
    if (this.type !== "dgram") return Promise.reject(new SocketError("EOPNOTSUPP", "recvfrom"));
    if (this.#udp === null) return Promise.reject(new SocketError("EINVAL", "recvfrom", "not bound"));
    const e = this.#udp;
    return this.#until(() => {
      if (this.#closed) throw new SocketError("EBADF", "recvfrom");
      if (e.error !== null) {
        const code = e.error;
        e.error = null;
        throw new SocketError(code, "recvfrom");
      }
      const d = e.queue.shift();
      if (d === undefined) return undefined;
      e.queuedBytes -= d.data.length;
      // A datagram longer than the buffer is cut (POSIX MSG_TRUNC semantics without the flag).
      const data = d.data.length > max ? d.data.subarray(0, max) : d.data;
      return { data, from: { family: this.family, address: formatIp(d.address), port: d.port } };
    });
  }

  /** shutdown(2). */
  shutdown(how: ShutdownHow): void {
    this.#open("shutdown");
    const tcb = this.#tcb;
    if (tcb === null) throw new SocketError("ENOTCONN", "shutdown");
    if (how === "read" || how === "both") {
      tcb.readClosed = true;
      tcb.recvBuffer.consume(tcb.recvBuffer.length);
    }
    if (how === "write" || how === "both") this.#driver.run(() => userShutdown(tcb, this.#driver.stack.tcp));
    this.wake();
  }

  /** close(2). A stream closes gracefully (FIN after the queued data), or with RST if unread data remains. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const d = this.#driver;
    if (this.#tcb !== null) {
      const tcb = this.#tcb;
      tcb.owner = null;
      d.run(() => userClose(tcb, d.stack.tcp));
    }
    if (this.#listener !== null) {
      const l = this.#listener;
      d.run(() => d.stack.tcp.closeListener(l));
    }
    if (this.#udp !== null) d.stack.udp.close(this.#udp);
    this.wake();
  }

  /** Abort a connection at once: RST to the peer (SO_LINGER with a zero timeout). */
  abort(): void {
    if (this.#tcb !== null && !this.#closed) {
      const tcb = this.#tcb;
      this.#driver.run(() => userAbort(tcb, this.#driver.stack.tcp));
    }
    this.close();
  }

  /** getsockname(2). */
  getsockname(): SocketAddress {
    const t = this.#tcb;
    if (t !== null) return { family: this.family, address: formatIp(t.localAddress), port: t.localPort };
    const port = this.#udp?.port ?? this.#listener?.port ?? this.#boundPort;
    const a = this.#boundAddress;
    return { family: this.family, address: a === null ? (this.family === "inet" ? "0.0.0.0" : "::") : formatIp(a), port };
  }

  /** getpeername(2). */
  getpeername(): SocketAddress {
    const t = this.#tcb;
    if (t !== null && t.state !== "SYN-SENT" && t.state !== "CLOSED") return { family: this.family, address: formatIp(t.remoteAddress), port: t.remotePort };
    const p = this.#udp?.peer;
    if (p !== undefined && p !== null) return { family: this.family, address: formatIp(p.address), port: p.port };
    throw new SocketError("ENOTCONN", "getpeername");
  }

  /** setsockopt(2) for the options the stack has. */
  setsockopt(option: SocketOption, value: number | boolean | string): void {
    this.#open("setsockopt");
    const t = this.#tcb;
    const set = (patch: Partial<TcpConfig>): void => {
      Object.assign(this.#config, patch);
      if (t !== null) Object.assign(t.config, patch);
    };
    const n = Number(value);
    switch (option) {
      case "TCP_NODELAY":
        set({ noDelay: Boolean(value) });
        if (t !== null && Boolean(value)) this.#driver.kick();
        return;
      case "SO_KEEPALIVE":
        set({ keepAlive: Boolean(value) });
        if (t !== null && Boolean(value)) t.keepAliveAt = this.#driver.now + t.config.keepAliveIdleMs;
        return;
      case "TCP_KEEPIDLE":
        set({ keepAliveIdleMs: n * 1000 });
        return;
      case "TCP_KEEPINTVL":
        set({ keepAliveIntervalMs: n * 1000 });
        return;
      case "TCP_KEEPCNT":
        set({ keepAliveProbes: n });
        return;
      case "SO_SNDBUF":
      case "SO_RCVBUF":
        if (!Number.isInteger(n) || n < 2048) throw new SocketError("EINVAL", "setsockopt", `${option} ${value}`);
        // Buffers are sized when the connection is made (before connect/listen), as window scaling is negotiated then.
        if (t !== null) throw new SocketError("EISCONN", "setsockopt", `${option} must be set before connect or listen`);
        set(option === "SO_SNDBUF" ? { sendBuffer: n } : { receiveBuffer: n });
        if (this.#udp !== null && option === "SO_RCVBUF") this.#udp.receiveBuffer = n;
        return;
      case "SO_BROADCAST":
        if (this.type !== "dgram") throw new SocketError("EOPNOTSUPP", "setsockopt", option);
        if (this.#udp === null) this.bind("", 0);
        this.#udp!.broadcast = Boolean(value);
        return;
      case "TCP_CONGESTION":
        if (value !== "newreno" && value !== "cubic") throw new SocketError("EINVAL", "setsockopt", `congestion control ${String(value)}`);
        if (t !== null) throw new SocketError("EISCONN", "setsockopt", "TCP_CONGESTION must be set before connect or listen");
        set({ congestion: value });
        return;
      default:
        throw new SocketError("EINVAL", "setsockopt", String(option));
    }
  }
}
