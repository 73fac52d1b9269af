/**
 * An HTTP/1.0 and HTTP/1.1 client over our own TCP (RFC 9110, 9112): one
 * request per connection, the response's head read with a bound on its
 * size, its body framed by Content-Length, chunked coding (with trailers) or
 * the end of the connection, and handed out in pieces as it arrives, so a
 * body of any size passes through in bounded memory. Redirects are followed
 * when asked, up to a count.
 *
 * Host names: an IPv4 literal or an IPv6 one in brackets is used as is; a
 * name goes through the `resolve` hook (a resolver over our own UDP, for
 * instance). With no hook a name is an {@link HttpError}.
 *
 * What it deliberately does not do: TLS (https is refused), keeping a
 * connection for a second request, compression (bodies are passed as sent,
 * as curl does without --compressed), and `Expect: 100-continue`.
 *
 * @example
 * ```ts
 * import { httpRequest } from "./http_client.ts";
 * const r = await httpRequest(host.sockets, "http://10.77.0.1/index.html", {
 *   onData: (chunk) => void process.stdout.write(chunk),
 * });
 * r.head.status; // 200
 * ```
 *
 * @module
 */
import { formatIp, ipFamily, parseIp } from "../../layers/addr.ts";
import { header, type HttpHeader } from "../../layers/http.ts";
import type { Socket, Sockets } from "../stack/sockets.ts";
import { BodyDecoder, HttpError, MAX_HEAD_LENGTH, bodyFraming, findHeadEnd, parseResponseHead, type BodyFraming, type HttpResponseHead } from "./http_message.ts";

export { HttpError } from "./http_message.ts";
export type { BodyFraming, HttpResponseHead } from "./http_message.ts";

/** An `http:` URL taken apart. */
export interface HttpTarget {
  /** the URL, normalized */
  url: string;
  /** the host as written, without IPv6 brackets */
  host: string;
  /** the address when the host is an IP literal (normalized), else null */
  address: string | null;
  port: number;
  /** path and query, at least `/` */
  path: string;
  /** the Host field's value: host (bracketed for IPv6) and `:port` unless 80 */
  hostField: string;
}

/** Take an `http://` URL apart (a URL with no scheme is taken as http, as curl does). Throws {@link HttpError}. */
export function parseHttpUrl(text: string): HttpTarget {
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `http://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new HttpError(`not a URL: ${JSON.stringify(text)}`);
  }
  if (u.protocol === "https:") throw new HttpError("https is not supported (no TLS over our stack): use http://");
  if (u.protocol !== "http:") throw new HttpError(`unsupported scheme '${u.protocol.slice(0, -1)}' (only http://)`);
  if (u.hostname === "") throw new HttpError(`no host in ${JSON.stringify(text)}`);
  const bracketed = u.hostname.startsWith("[");
  const host = bracketed ? u.hostname.slice(1, -1) : u.hostname;
  let address: string | null = null;
  if (bracketed || /^[\d.]+$/.test(host)) {
    try {
      address = formatIp(parseIp(host));
    } catch {
      throw new HttpError(`bad IP address '${host}' in ${JSON.stringify(text)}`);
    }
  }
  const port = u.port === "" ? 80 : Number(u.port);
  return { url: u.href, host, address, port, path: `${u.pathname || "/"}${u.search}`, hostField: u.port === "" ? u.hostname : `${u.hostname}:${u.port}` };
}

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  /** default GET, or POST when there is a body */
  method?: string | undefined;
  /** added to (or replacing, by name) Host, User-Agent, Accept and Content-Length; an empty value removes the field */
  headers?: readonly HttpHeader[] | undefined;
  body?: Uint8Array | string | undefined;
  /** default "1.1" */
  version?: "1.0" | "1.1" | undefined;
  /** redirects (301, 302, 303, 307, 308 with a Location) to follow; default 0: the 3xx is the answer */
  maxRedirects?: number | undefined;
  /** give up a connect, or a response that sends nothing, after this long (default 30000 ms) */
  timeoutMs?: number | undefined;
  /** bound on a response head and on a trailer section (default 65536 bytes) */
  maxHeadLength?: number | undefined;
  /** a host name to an address (IPv4 or IPv6 text) */
  resolve?: ((host: string) => Promise<string>) | undefined;
  /** each response head as it is read (redirects included), with the URL it answered */
  onResponse?: ((head: HttpResponseHead, url: string) => void) | undefined;
  /** the final response's body, piece by piece; a promise returned is waited for (backpressure) */
  onData?: ((chunk: Uint8Array) => void | Promise<void>) | undefined;
  /**
   * read into one buffer the client keeps, instead of a new array per read:
   * a chunk given to onData is then valid only until onData returns (or its
   * promise settles). For a caller that writes each chunk out at once (the
   * `stackts http` command); saves an allocation and a copy per read.
   */
  reuseChunks?: boolean | undefined;
  /** each connection as it comes up (redirects make more than one) */
  onConnected?: ((address: string, port: number) => void) | undefined;
  /** one line per step (connect, request, response, body end, redirect), for a trace */
  log?: ((text: string) => void) | undefined;
}

/** What {@link httpRequest} resolves to. */
export interface HttpResult {
  /** the final response's head */
  head: HttpResponseHead;
  /** the URL that gave it (after redirects) */
  url: string;
  framing: BodyFraming;
  /** body bytes passed to onData */
  bodyLength: number;
  /** a chunked body's trailer fields */
  trailers: HttpHeader[];
  /** redirects followed */
  redirects: number;
}

const encoder = new TextEncoder();
const USER_AGENT = "stackts/0.1";

/** Status codes whose Location is followed, and whether the method and body are kept (RFC 9110 §15.4). */
const REDIRECTS: ReadonlyMap<number, boolean> = new Map([
  [301, false],
  [302, false],
  [303, false],
  [307, true],
  [308, true],
]);

/**
 * Make a request and read its response (following redirects when asked).
 * Resolves once the final body has ended; rejects with {@link HttpError}
 * (bad response, timeout, name without a resolver) or a `SocketError`
 * (refused, reset, unreachable).
 */
export async function httpRequest(sockets: Sockets, url: string, options: HttpRequestOptions = {}): Promise<HttpResult> {
  let target = parseHttpUrl(url);
  let body = typeof options.body === "string" ? encoder.encode(options.body) : options.body;
  let method = options.method ?? (body === undefined ? "GET" : "POST");
  let headers = [...(options.headers ?? [])];
  const maxRedirects = options.maxRedirects ?? 0;
  for (let redirects = 0; ; redirects++) {
    let next: string | null = null;
    const result = await exchange(sockets, target, method, headers, body, options, (head) => {
      options.onResponse?.(head, target.url);
      const location = header(head, "location");
      if (maxRedirects > 0 && location !== undefined && REDIRECTS.has(head.status)) {
        if (redirects >= maxRedirects) throw new HttpError(`more than ${maxRedirects} redirects (the last to ${location})`);
        next = location;
        return false;
      }
      return true;
    });
    if (next === null) return { ...result, url: target.url, redirects };
    const from = target;
    try {
      target = parseHttpUrl(new URL(next, from.url).href);
    } catch (err) {
      throw new HttpError(`redirect to ${JSON.stringify(next)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    options.log?.(`http redirect ${result.head.status} to ${target.url}`);
    // RFC 9110 §15.4.2-4: user agents change POST to GET for 301 and 302 (as curl does), any method but HEAD for 303.
    if (!REDIRECTS.get(result.head.status) && method !== "HEAD" && (result.head.status === 303 || method === "POST")) {
      method = "GET";
      body = undefined;
      headers = headers.filter((h) => !/^content-(type|length)$/i.test(h.name));
    }
    // Credentials are not sent on to another host (curl's rule).
    if (target.host !== from.host || target.port !== from.port) headers = headers.filter((h) => !/^(authorization|cookie)$/i.test(h.name));
  }
}

/** The request's bytes: the request line, the fields (ours, then the caller's by name), the body. */
export function requestBytes(target: HttpTarget, method: string, version: "1.0" | "1.1", extra: readonly HttpHeader[], body: Uint8Array | undefined): Uint8Array {
  const fields: HttpHeader[] = [
    { name: "Host", value: target.hostField },
    { name: "User-Agent", value: USER_AGENT },
    { name: "Accept", value: "*/*" },
  ];
  if (body !== undefined) fields.push({ name: "Content-Length", value: String(body.length) });
  for (const h of extra) {
    const i = fields.findIndex((f) => f.name.toLowerCase() === h.name.toLowerCase());
    if (i >= 0) fields.splice(i, 1);
    if (h.value !== "") fields.push(h);
  }
  const head = `${method} ${target.path} HTTP/${version}\r\n${fields.map((f) => `${f.name}: ${f.value}\r\n`).join("")}\r\n`;
  for (const f of fields) if (/[\r\n]/.test(f.name + f.value)) throw new HttpError(`header field ${JSON.stringify(f.name)} contains a line break`);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) throw new HttpError(`bad method ${JSON.stringify(method)}`);
  const h = encoder.encode(head);
  if (body === undefined || body.length === 0) return h;
  const all = new Uint8Array(h.length + body.length);
  all.set(h);
  all.set(body, h.length);
  return all;
}

/**
 * An inactivity timeout over many calls: each {@link guard}ed call restarts
 * the clock, and one timer per period (not one per call: a large body is
 * thousands of reads) checks it. When it runs out, `onExpire` runs (the
 * caller aborts the socket) and the call waiting rejects with an
 * {@link HttpError} naming what it waited for.
 */
class Watchdog {
  readonly #ms: number;
  readonly #onExpire: () => void;
  #last = 0;
  #what = "";
  #timer: ReturnType<typeof setTimeout> | null = null;
  #expired: HttpError | null = null;
  /** the reject of the call waiting now (calls come one at a time) */
  #waiting: ((err: HttpError) => void) | null = null;

  constructor(ms: number, onExpire: () => void) {
    this.#ms = ms;
    this.#onExpire = onExpire;
  }

  /** Wait for `p`, restarting the clock now and naming `what` in the timeout's message. */
  guard<T>(p: Promise<T>, what: string): Promise<T> {
    if (this.#expired !== null) return Promise.reject(this.#expired);
    this.#last = performance.now();
    this.#what = what;
    if (this.#timer === null) this.#arm(this.#ms);
    // Not Promise.race with one long-lived promise: each race would leave a reaction on it holding its result
    // (here, a piece of the body) for as long as that promise lives.
    return new Promise<T>((resolve, reject) => {
      this.#waiting = reject;
      p.then(
        (v) => {
          this.#waiting = null;
          resolve(v);
        },
        (err: unknown) => {
          this.#waiting = null;
          reject(this.#expired ?? err);
        },
      );
    });
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), ms);
    // The stack's driver keeps the process alive while a request runs; this timer alone must not.
    this.#timer.unref?.();
  }

  #check(): void {
    const idle = performance.now() - this.#last;
    if (idle < this.#ms) return this.#arm(this.#ms - idle);
    this.#timer = null;
    this.#expired = new HttpError(`${this.#what}: timed out after ${this.#ms / 1000} s`);
    this.#waiting?.(this.#expired);
    this.#waiting = null;
    this.#onExpire();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Where to connect: the literal, or what the resolver says. */
async function addressOf(target: HttpTarget, options: HttpRequestOptions): Promise<string> {
  if (target.address !== null) return target.address;
  if (options.resolve === undefined) throw new HttpError(`cannot resolve host name '${target.host}' (no resolver given; use an IP address)`);
  const a = await options.resolve(target.host);
  try {
    return formatIp(parseIp(a));
  } catch {
    throw new HttpError(`the resolver answered '${a}' for '${target.host}', not an address`);
  }
}

/**
 * One request on one connection. `onHead` sees each final head and says
 * whether its body is wanted (false: read and dropped, a redirect).
 */
async function exchange(
  sockets: Sockets,
  target: HttpTarget,
  method: string,
  headers: readonly HttpHeader[],
  body: Uint8Array | undefined,
  options: HttpRequestOptions,
  onHead: (head: HttpResponseHead) => boolean,
): Promise<Omit<HttpResult, "url" | "redirects">> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxHead = options.maxHeadLength ?? MAX_HEAD_LENGTH;
  const log = options.log;
  const request = requestBytes(target, method, options.version ?? "1.1", headers, body);
  const address = await addressOf(target, options);
  const s: Socket = sockets.socket(ipFamily(address) === 6 ? "inet6" : "inet", "stream");
  let clean = false;
  const dog = new Watchdog(timeoutMs, () => s.abort());
  try {
    log?.(`http connect ${address} port ${target.port}`);
    await dog.guard(s.connect(address, target.port), `connect to ${address} port ${target.port}`);
    options.onConnected?.(address, target.port);
    const requestLine = new TextDecoder().decode(request.subarray(0, request.indexOf(13)));
    log?.(`http > ${requestLine} (${request.length} bytes)`);
    // In pieces, so a large body that is moving never looks idle to the watchdog.
    for (let at = 0; at < request.length; at += 1 << 20) {
      await dog.guard(s.send(request.subarray(at, at + (1 << 20))), `sending the request to ${address} port ${target.port}`);
    }
    const waiting = `waiting for ${address} port ${target.port}`;
    const buffer = options.reuseChunks === true ? new Uint8Array(1 << 20) : null;
    const recv = async (): Promise<Uint8Array> => (buffer === null ? dog.guard(s.recv(1 << 20), waiting) : buffer.subarray(0, await dog.guard(s.recvInto(buffer), waiting)));

    // The head (interim 1xx responses skipped, RFC 9110 §15.2), bounded.
    let pending = new Uint8Array(0);
    let head: HttpResponseHead;
    for (;;) {
      let end = findHeadEnd(pending, 0, pending.length);
      while (end === -1) {
        if (pending.length > maxHead) throw new HttpError(`response head longer than ${maxHead} bytes`);
        const d = await recv();
        if (d.length === 0) throw new HttpError(pending.length === 0 ? "connection closed with no response" : "connection closed in the response head");
        const joined = new Uint8Array(pending.length + d.length);
        joined.set(pending);
        joined.set(d, pending.length);
        const from = Math.max(0, pending.length - 3);
        pending = joined;
        end = findHeadEnd(pending, from, pending.length);
      }
      if (end > maxHead) throw new HttpError(`response head longer than ${maxHead} bytes`);
      head = parseResponseHead(pending.slice(0, end));
      pending = pending.subarray(end);
      if (head.status >= 200 || head.status === 101) break;
      log?.(`http < ${head.version} ${head.status} ${head.reason} (interim, skipped)`);
    }
    const framing = bodyFraming(head, method);
    const describe = framing.kind === "length" ? `Content-Length ${framing.length}` : framing.kind === "chunked" ? "chunked" : framing.kind === "close" ? "to the end of the connection" : "no body";
    log?.(`http < ${head.version} ${head.status} ${head.reason} (body: ${describe})`);
    const wanted = onHead(head);
    const decoder = new BodyDecoder(framing, maxHead);
    const out: Uint8Array[] = [];
    const take = (c: Uint8Array): void => {
      if (wanted) out.push(c);
    };
    const deliver = async (): Promise<void> => {
      if (options.onData === undefined) return void (out.length = 0);
      for (const c of out) {
        const r = options.onData(c);
        if (r !== undefined) await r;
      }
      out.length = 0;
    };
    // What came before a framing error is handed on first: the caller sees the good bytes, then the error.
    const feed = async (d: Uint8Array): Promise<void> => {
      let failure: unknown = null;
      try {
        decoder.push(d, take);
      } catch (err) {
        failure = err;
      }
      await deliver();
      if (failure !== null) throw failure;
    };
    await feed(pending);
    while (!decoder.done) {
      const d = await recv();
      if (d.length === 0) {
        decoder.finish();
        break;
      }
      await feed(d);
    }
    log?.(`http body ended: ${decoder.received} bytes${decoder.trailers.length > 0 ? `, ${decoder.trailers.length} trailer fields` : ""}`);
    clean = true;
    return { head, framing, bodyLength: decoder.received, trailers: decoder.trailers };
  } finally {
    dog.stop();
    // Done with the connection: close it (a FIN), or reset it after a failure (nothing more is read).
    if (clean) s.close();
    else s.abort();
  }
}
