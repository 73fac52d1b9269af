/**
 * The TFTP engine on our own stack: a {@link TftpTransfer} tied to a UDP
 * socket (`recvfrom` feeds `input`, `send` is `sendto`) and to the host's
 * clock (one timer, re-armed only when the deadline comes sooner, runs
 * `poll`). {@link tftpGet} and {@link tftpPut} are the client;
 * {@link TftpServer} listens on port 69 and runs each request on a socket
 * of its own (a new transfer ID, RFC 1350 §4).
 *
 * @example
 * ```ts
 * import { openHost } from "../../stack/host.ts";
 * import { tftpGet } from "./driver.ts";
 * import { fileSink } from "./files.ts";
 * const host = openHost({ iface: "eth0", ipv4: ["10.77.0.3/24"] });
 * const sink = fileSink("boot.img");
 * const r = await tftpGet(host, { server: { address: "10.77.0.1", port: 69 }, filename: "boot.img", sink, options: { blksize: 1468 } });
 * sink.close();
 * ```
 *
 * @module
 */
import { ipFamily } from "../../../layers/addr.ts";
import type { Clock } from "../../device/device.ts";
import type { AbortSignalLike } from "../../device/wait.ts";
import type { Socket, Sockets } from "../../stack/sockets.ts";
import { errorPacket, TFTP_ERR } from "./packet.ts";
import { takeRequest, type ServerConfig } from "./server.ts";
import { TftpTransfer, type BlockSink, type BlockSource, type ClientTransfer, type Peer, type TransferResult } from "./transfer.ts";

/** What the engine needs of a host: its sockets and its clock (a `Host` from `openHost` has both). */
export interface TftpHost {
  sockets: Sockets;
  device: { clock: Clock };
}

/** A client transfer's options, less what the driver supplies; `signal` cancels it. */
export type ClientRun = Omit<ClientTransfer, "send"> & { signal?: AbortSignalLike | undefined };

/** The largest datagram a transfer reads (a 65464-byte block and its 4-byte header, with room to spare). */
const MAX_DATAGRAM = 65536;

/**
 * Run `t` on `sock` until it is closed (result known and any dally over);
 * resolves with the result. The socket is closed at the end. `signal`
 * cancels it: ERROR 0 to the peer, and the result is that failure.
 */
export function runTransfer(sock: Socket, clock: Clock, t: TftpTransfer, signal?: AbortSignalLike): Promise<TransferResult> {
  return new Promise((resolve) => {
    let timerDue = Infinity;
    let cancel: () => void = () => {};
    let ended = false;
    const onAbort = (): void => {
      t.cancel(clock.now(), "transfer cancelled");
      end();
    };
    const end = (): void => {
      if (ended) return;
      ended = true;
      cancel();
      signal?.removeEventListener("abort", onAbort);
      sock.close();
      resolve(t.result!);
    };
    const arm = (): void => {
      if (t.closed) return end();
      const due = t.deadline;
      if (due >= timerDue) return; // the timer that is set comes first; it re-arms when it fires
      cancel();
      timerDue = due;
      if (due === Infinity) return;
      cancel = clock.setTimer(due - clock.now(), () => {
        timerDue = Infinity;
        cancel = () => {};
        t.poll(clock.now());
        arm();
      });
    };
    void (async () => {
      while (!t.closed) {
        let d: Awaited<ReturnType<Socket["recvfrom"]>>;
        try {
          d = await sock.recvfrom(MAX_DATAGRAM);
        } catch {
          // An ICMP error (port unreachable) is reported on the next call; the timeout decides.
          if (ended) return;
          continue;
        }
        if (ended) return;
        t.input(d.data, d.from, clock.now());
        arm();
      }
    })();
    t.start(clock.now());
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener("abort", onAbort);
    arm();
  });
}

/** A `send` for a transfer: sendto on `sock` (a failure, e.g. no route, is left to the timeout). */
function sender(sock: Socket): (p: Uint8Array, to: Peer) => void {
  return (p, to) => {
    sock.sendto(p, to.address, to.port).catch(() => {});
  };
}

function familyOf(address: string): "inet" | "inet6" {
  return ipFamily(address) === 4 ? "inet" : "inet6";
}

/** Get `o.filename` from `o.server` into `o.sink`. Resolves with the result (also on failure: `ok: false`). */
export function tftpGet(host: TftpHost, o: ClientRun & { sink: BlockSink }): Promise<TransferResult> {
  const sock = host.sockets.socket(familyOf(o.server.address), "dgram");
  sock.bind("", 0);
  const t = TftpTransfer.clientGet({ ...o, send: sender(sock) });
  return runTransfer(sock, host.device.clock, t, o.signal);
}

/** Put `o.source` on `o.server` as `o.filename` (`size` announced with tsize when asked). */
export function tftpPut(host: TftpHost, o: ClientRun & { source: BlockSource; size?: number | undefined }): Promise<TransferResult> {
  const sock = host.sockets.socket(familyOf(o.server.address), "dgram");
  sock.bind("", 0);
  const t = TftpTransfer.clientPut({ ...o, send: sender(sock) });
  return runTransfer(sock, host.device.clock, t, o.signal);
}

/** One request the server saw, and how it ended. */
export interface ServedRequest {
  client: Peer;
  filename: string;
  write: boolean;
  /** the error sent at once (refused), or the transfer's result */
  result: TransferResult | { ok: false; refused: string; code: number };
}

/** Options of {@link TftpServer}. */
export interface TftpServerOptions extends ServerConfig {
  /** our port (default 69) */
  port?: number | undefined;
  /** transfers at once at most (default 64); more requests get ERROR 0 */
  maxTransfers?: number | undefined;
  family?: "inet" | "inet6" | undefined;
  /** told about each request as it ends */
  onRequest?: ((r: ServedRequest) => void) | undefined;
  /** the transfers' notes, for a trace */
  note?: ((now: number, text: string) => void) | undefined;
}

/**
 * A TFTP server on our stack: requests on `port`, each transfer on a new
 * ephemeral port. A repeated request from the same client port while its
 * transfer runs is ignored (the transfer's own retransmission answers it).
 */
export class TftpServer {
  readonly #host: TftpHost;
  readonly #options: TftpServerOptions;
  readonly #sock: Socket;
  readonly #running = new Map<string, Promise<TransferResult>>();
  readonly #stop = new AbortController();
  #closed = false;

  constructor(host: TftpHost, options: TftpServerOptions) {
    this.#host = host;
    this.#options = options;
    this.#sock = host.sockets.socket(options.family ?? "inet", "dgram");
    this.#sock.bind("", options.port ?? 69);
    void this.#serve();
  }

  /** Our port. */
  get port(): number {
    return this.#sock.getsockname().port;
  }

  /** Transfers still running. */
  get active(): number {
    return this.#running.size;
  }

  /** Stop: no more requests, and running transfers are cancelled (ERROR 0 to each client). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
    this.#stop.abort();
  }

  async #serve(): Promise<void> {
    const clock = this.#host.device.clock;
    while (!this.#closed) {
      let d: Awaited<ReturnType<Socket["recvfrom"]>>;
      try {
        d = await this.#sock.recvfrom(MAX_DATAGRAM);
      } catch {
        if (this.#closed) return;
        continue;
      }
      const from: Peer = { address: d.from.address, port: d.from.port };
      const key = `${from.address}|${from.port}`;
      if (this.#running.has(key)) continue;
      if (this.#running.size >= (this.#options.maxTransfers ?? 64)) {
        // A bound on what the server holds (a window of blocks per transfer): the client may try again.
        this.#sock.sendto(errorPacket(TFTP_ERR.notDefined, "too many transfers, try again later"), from.address, from.port).catch(() => {});
        continue;
      }
      const sock = this.#host.sockets.socket(this.#options.family ?? "inet", "dgram");
      sock.bind("", 0);
      const r = takeRequest(d.data, from, this.#options, sender(sock), this.#options.note);
      if ("error" in r) {
        // From the new port, as tftpd-hpa answers: the client takes the first answer's port either way.
        sender(sock)(r.error, from);
        sock.close();
        this.#options.onRequest?.({ client: from, filename: "", write: false, result: { ok: false, refused: r.failure.text, code: r.failure.code } });
        continue;
      }
      const running = runTransfer(sock, clock, r.transfer, this.#stop.signal);
      this.#running.set(key, running);
      void running.then((result) => {
        this.#running.delete(key);
        this.#options.onRequest?.({ client: from, filename: r.filename, write: r.write, result });
      });
    }
  }
}
