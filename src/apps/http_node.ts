/**
 * Node's own HTTP clients over our TCP: one function that is both the
 * `createConnection` of `http.request` (and of an `http.Agent`) and the
 * `connect` of undici's `Agent`/`Client`. Both call it with the host and port
 * and a callback; it opens a connection through our stack's sockets and
 * gives back a {@link TcpStream}, the `stream.Duplex` with the `net.Socket`
 * calls those clients make.
 *
 * This module does not import undici: undici's connector contract is
 * `(options: { hostname, port, protocol, ... }, callback(err, socket))`, which
 * the function below keeps (the callback runs once the connection is up, or
 * with the error). `http.request` uses the returned stream at once; undici
 * waits for the callback. Only `http:` (no TLS).
 *
 * @example
 * ```ts
 * import http from "node:http";
 * import { Agent } from "undici";
 * const connect = stackConnector(host);
 * http.get({ host: "10.77.0.1", path: "/", createConnection: connect }, (res) => res.pipe(process.stdout));
 * const agent = new Agent({ connect });
 * const r = await fetch("http://10.77.0.1/", { dispatcher: agent });
 * ```
 *
 * @module
 */
import { formatIp, parseIp } from "../../layers/addr.ts";
import { SocketError } from "../stack/errors.ts";
import type { Sockets } from "../stack/sockets.ts";
import { TcpStream, connectStream } from "../stack/stream.ts";

/** The parts of Node's and undici's connection options that are read. */
export interface StackConnectOptions {
  host?: string | null | undefined;
  hostname?: string | null | undefined;
  port?: number | string | null | undefined;
  protocol?: string | null | undefined;
}

/** Options of {@link stackConnector}. */
export interface StackConnectorOptions {
  /** a host name to an address; without it only IP literals connect */
  resolve?: ((host: string) => Promise<string>) | undefined;
  /** fail a connection not up after this long (default 10000 ms; the stack's own SYN retries take minutes) */
  timeoutMs?: number | undefined;
}

/**
 * The connection factory: `(options, callback) => TcpStream | undefined`.
 * The callback's parameter types are left open (`never`) so the one function
 * is accepted where Node's http and undici each type their own callback; it
 * is called as `callback(error, null)` or `callback(null, stream)`.
 */
export type StackConnect = (options: StackConnectOptions, callback?: (err: never, socket: never) => void) => TcpStream | undefined;

/** What connections are made through: a host (`openHost`'s) or its sockets. */
export type SocketsOwner = Sockets | { readonly sockets: Sockets };

function socketsOf(owner: SocketsOwner): Sockets {
  return "sockets" in owner ? owner.sockets : owner;
}

/** The host an options object names, without IPv6 brackets; undici's `host` may carry `:port`. */
function hostOf(options: StackConnectOptions): string {
  let h = options.hostname ?? options.host ?? "localhost";
  if (h.startsWith("[")) h = h.slice(1, h.indexOf("]"));
  return h;
}

function portOf(options: StackConnectOptions): number {
  const p = options.port;
  if (p === undefined || p === null || p === "") return options.protocol === "https:" ? 443 : 80;
  const n = typeof p === "number" ? p : Number(p);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new RangeError(`Cannot connect: port ${String(p)} is not 1..65535`);
  return n;
}

/** An IP literal in canonical form, or null for a name. */
function literal(host: string): string | null {
  try {
    return formatIp(parseIp(host));
  } catch {
    return null;
  }
}

/**
 * Open a connection to an IP literal now (`net.createConnection` style):
 * writes queue until the handshake is done. Throws RangeError for a name
 * (use {@link stackConnector} with a resolver) or a bad port.
 *
 * @example
 * ```ts
 * const s = createConnection(host, { host: "10.77.0.1", port: 80 });
 * s.end("GET / HTTP/1.0\r\n\r\n");
 * ```
 */
export function createConnection(owner: SocketsOwner, options: StackConnectOptions): TcpStream {
  const host = hostOf(options);
  const address = literal(host);
  if (address === null) throw new RangeError(`Cannot connect to '${host}': not an IP address (give stackConnector a resolver for names)`);
  if (options.protocol === "https:") throw new RangeError("Cannot connect: https needs TLS, which this connection does not do");
  return connectStream(socketsOf(owner), address, portOf(options));
}

/**
 * The `createConnection` for `http.request`/`http.Agent` and the `connect`
 * for undici, over our stack. See the module's example.
 */
export function stackConnector(owner: SocketsOwner, config: StackConnectorOptions = {}): StackConnect {
  const sockets = socketsOf(owner);
  const timeoutMs = config.timeoutMs ?? 10_000;
  return (options, callback) => {
    const done = callback as ((err: Error | null, socket: TcpStream | null) => void) | undefined;
    const open = (address: string, port: number): TcpStream => {
      const stream = connectStream(sockets, address, port);
      const timer = setTimeout(() => stream.destroy(new SocketError("ETIMEDOUT", "connect", `${address} port ${port}`)), timeoutMs);
      timer.unref?.();
      const failed = (err: Error): void => {
        clearTimeout(timer);
        done?.(err, null);
      };
      stream.once("error", failed);
      stream.once("connect", () => {
        clearTimeout(timer);
        stream.off("error", failed);
        done?.(null, stream);
      });
      stream.once("close", () => clearTimeout(timer));
      return stream;
    };
    let host: string;
    let port: number;
    try {
      if (options.protocol === "https:") throw new RangeError("Cannot connect: https needs TLS, which this connection does not do");
      host = hostOf(options);
      port = portOf(options);
    } catch (err) {
      if (done === undefined) throw err;
      queueMicrotask(() => done(err as Error, null));
      return undefined;
    }
    const address = literal(host);
    if (address !== null) return open(address, port);
    const resolve = config.resolve;
    if (resolve === undefined || done === undefined) {
      const err = new RangeError(`Cannot connect to '${host}': not an IP address and ${resolve === undefined ? "no resolver was given" : "no callback to hand the connection to"}`);
      if (done === undefined) throw err;
      queueMicrotask(() => done(err, null));
      return undefined;
    }
    const fail = (err: Error): void => done(err, null);
    resolve(host).then(
      (a) => {
        const resolved = literal(a);
        if (resolved === null) fail(new RangeError(`Cannot connect to '${host}': the resolver answered '${a}', not an address`));
        else open(resolved, port);
      },
      (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
    );
    return undefined;
  };
}
