/**
 * Node's face of a connection over our stack: a `stream.Duplex` with the
 * parts of `net.Socket` that Node's own clients use (`setNoDelay`,
 * `setKeepAlive`, `setTimeout`, `ref`/`unref`, `remoteAddress`, ...), so
 * `http.request({ createConnection })` runs over it. Backpressure both ways:
 * writes complete only when the send buffer took them, and reading stops
 * taking data from the connection while the stream's buffer is full, so the
 * receive window closes as a kernel's would.
 *
 * @example
 * ```ts
 * import http from "node:http";
 * const req = http.request({ host: "10.77.0.1", port: 80, path: "/", createConnection: () => connectStream(sockets, "10.77.0.1", 80) });
 * ```
 *
 * @module
 */
import { Duplex } from "node:stream";
import { ipFamily } from "../../layers/addr.ts";
import { SocketError } from "./errors.ts";
import type { Socket, Sockets } from "./sockets.ts";

/** A connected (or connecting) stream socket as a Duplex. */
export class TcpStream extends Duplex {
  readonly socket: Socket;
  #connected = false;
  #timeoutMs = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #pendingWrite: { data: Uint8Array; sent: number; callback: (error?: Error | null) => void } | null = null;
  #reading = false;
  #ended = false;
  #bytesRead = 0;
  #bytesWritten = 0;

  /** Wrap `socket` (connected, or with `connecting` the promise of its connect). */
  constructor(socket: Socket, connecting: Promise<void> | null = null) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    socket.onWake = () => this.#pump();
    if (connecting === null) {
      this.#connected = true;
      queueMicrotask(() => this.emit("connect"));
    } else {
      connecting.then(
        () => {
          this.#connected = true;
          this.emit("connect");
          this.emit("ready");
          this.#pump();
        },
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    }
  }

  /** Whether the handshake is still running (`net.Socket#connecting`). */
  get connecting(): boolean {
    return !this.#connected && !this.destroyed;
  }
  get pending(): boolean {
    return this.connecting;
  }
  get remoteAddress(): string | undefined {
    try {
      return this.socket.getpeername().address;
    } catch {
      return undefined;
    }
  }
  get remotePort(): number | undefined {
    try {
      return this.socket.getpeername().port;
    } catch {
      return undefined;
    }
  }
  get remoteFamily(): string {
    return this.socket.family === "inet" ? "IPv4" : "IPv6";
  }
  get localAddress(): string {
    return this.socket.getsockname().address;
  }
  get localPort(): number {
    return this.socket.getsockname().port;
  }

  /** `net.Socket#address()`. */
  address(): { address: string; family: string; port: number } {
    const a = this.socket.getsockname();
    return { address: a.address, family: this.remoteFamily, port: a.port };
  }

  setNoDelay(noDelay = true): this {
    this.socket.setsockopt("TCP_NODELAY", noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    if (initialDelayMs > 0) this.socket.setsockopt("TCP_KEEPIDLE", Math.max(1, Math.round(initialDelayMs / 1000)));
    this.socket.setsockopt("SO_KEEPALIVE", enable);
    return this;
  }

  /** Emit `timeout` after `ms` of inactivity, as `net.Socket#setTimeout` does (0: off). */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeoutMs = ms;
    if (callback !== undefined) this.once("timeout", callback);
    this.#touch();
    return this;
  }

  /** The inactivity timeout set by {@link setTimeout} (`net.Socket#timeout`; http.Agent reads it). */
  get timeout(): number {
    return this.#timeoutMs;
  }
  /** Bytes received and handed to the readable side (`net.Socket#bytesRead`). */
  get bytesRead(): number {
    return this.#bytesRead;
  }
  /** Bytes the connection's send buffer took (`net.Socket#bytesWritten`). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }
  /** `net.Socket#readyState`: opening, open, readOnly, writeOnly or closed. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.destroyed) return "closed";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    return this.writable ? "writeOnly" : "closed";
  }

  /** Abort the connection with a RST and destroy the stream (`net.Socket#resetAndDestroy`). */
  resetAndDestroy(): this {
    this.socket.abort();
    return this.destroy();
  }

  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  #touch(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#timeoutMs > 0 && !this.destroyed) this.#timer = setTimeout(() => this.emit("timeout"), this.#timeoutMs);
  }

  /** Move data both ways as far as the buffers allow. */
  #pump(): void {
    if (this.destroyed) return;
    const s = this.socket;
    // Writing: finish a write the send buffer had no room for.
    const w = this.#pendingWrite;
    if (w !== null && this.#connected) {
      try {
        const n = s.trySend(w.data, w.sent);
        w.sent += n;
        this.#bytesWritten += n;
      } catch (err) {
        this.#pendingWrite = null;
        w.callback(err as Error);
        return;
      }
      if (w.sent === w.data.length) {
        this.#pendingWrite = null;
        this.#touch();
        w.callback();
      }
    }
    // Reading: push while the readable side wants more (the window stays closed while it does not).
    while (this.#reading && s.readable > 0) {
      const data = s.tryRecv(65536);
      this.#bytesRead += data.length;
      this.#touch();
      if (!this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) this.#reading = false;
    }
    if (s.readable === 0 && !this.#ended) {
      const failure = s.failure;
      if (failure !== null) {
        this.destroy(failure);
        return;
      }
      if (s.ended && this.#connected) {
        this.#ended = true;
        this.push(null);
      }
    }
  }

  override _read(): void {
    this.#reading = true;
    this.#pump();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#pendingWrite = { data, sent: 0, callback };
    if (this.#connected) this.#pump();
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      if (!this.socket.connection || this.socket.connection.state === "CLOSED") callback();
      else {
        this.socket.shutdown("write");
        callback();
      }
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.socket.onWake = null;
    const w = this.#pendingWrite;
    this.#pendingWrite = null;
    w?.callback(error ?? new SocketError("EPIPE", "write"));
    if (error !== null) this.socket.abort();
    else this.socket.close();
    callback(error);
  }
}

/** Open a connection and wrap it at once (`net.connect` style): writes queue until it is up. */
export function connectStream(sockets: Sockets, address: string, port: number): TcpStream {
  const s = sockets.socket(ipFamily(address) === 6 ? "inet6" : "inet", "stream");
  const connecting = s.connect(address, port);
  return new TcpStream(s, connecting);
}
