/**
 * A DNS stub resolver over our own stack (RFC 1035, RFC 7766, RFC 5452): the
 * question goes out on one of our UDP sockets and is sent again while no
 * answer comes (the same id, so a late answer to an earlier try still
 * counts), an answer is taken only from the server's address and port with
 * our id and our question (anything else is ignored and noted on the trace),
 * a truncated answer (TC=1) is asked again over our own TCP (RFC 7766 §5),
 * and the whole thing is bounded by one deadline: a silent server, or one
 * that sends nothing but lies, ends in a {@link DnsError} at the timeout. An
 * answer with our id that does not decode (a compression pointer loop, a
 * count past the end, a record cut short) ends it at once with the
 * decoder's reason.
 *
 * {@link resolveHost} is the small call an application makes: a name to its
 * addresses.
 *
 * @example
 * ```ts
 * import { dnsQuery, resolveHost } from "./dns.ts";
 * const r = await dnsQuery(host, "www.example.test", { server: "10.77.0.1", type: "MX" });
 * r.response.answers; // the records, decoded by layers/dns.ts
 * await resolveHost(host, "www.example.test", { server: "10.77.0.1", family: 4 }); // ["10.77.0.9"]
 * ```
 *
 * @module
 */
import { formatIp, ipFamily, parseIp } from "../../layers/addr.ts";
import { u16 } from "../../layers/bytes.ts";
import { decodeAs } from "../../layers/decode.ts";
import { DNS_RCODE, DNS_TYPE, dnsNameToLabels, dnsTypeName, dnsTypeOf, encodeDns, type Dns, type DnsRecordInput } from "../../layers/dns.ts";
import { SocketError } from "../stack/errors.ts";
import { randomBelow } from "../stack/random.ts";
import type { Socket } from "../stack/sockets.ts";
import { TIMEOUT, race, type AppHost } from "./app.ts";

export type { AppHost } from "./app.ts";

/** The DNS port (RFC 1035 §4.2). */
export const DNS_PORT = 53;
/** What we offer with EDNS0 (RFC 6891): DNS Flag Day 2020's size, as dig offers. */
const EDNS_UDP_SIZE = 1232;
/** The most a DNS message over TCP can be: its length prefix is 16 bits (RFC 1035 §4.2.2). */
const TCP_MAX = 65535;

/** Why a query failed. */
export type DnsErrorCode = "timeout" | "malformed" | "refused" | "network" | "name" | "nxdomain" | "nodata" | "server";

/** A failed query or lookup, with a sentence-case message naming the server. */
export class DnsError extends Error {
  readonly code: DnsErrorCode;
  constructor(code: DnsErrorCode, message: string) {
    super(message);
    this.name = "DnsError";
    this.code = code;
  }
}

/** Options of {@link dnsQuery}. */
export interface DnsResolverOptions {
  /** the server's address, IPv4 or IPv6 */
  server: string;
  /** default 53 */
  port?: number | undefined;
  /** type by name or number (default A) */
  type?: string | number | undefined;
  /** the whole query, retries and TCP fallback included, ends by then (default 5000 ms) */
  timeoutMs?: number | undefined;
  /** UDP sends, spread evenly over the timeout (default 3) */
  tries?: number | undefined;
  /** "fallback" (default): TCP when the UDP answer is truncated; "always": TCP only; "never": keep the truncated answer */
  tcp?: "fallback" | "always" | "never" | undefined;
  /** offer EDNS0 with this UDP size (default 1232); false: a plain RFC 1035 query (answers of at most 512 bytes) */
  edns?: number | false | undefined;
  /** RD (default true) */
  recursionDesired?: boolean | undefined;
}

/** A query's outcome. */
export interface DnsResult {
  response: Dns;
  /** the answer's bytes (without the TCP prefix) */
  bytes: Uint8Array;
  transport: "udp" | "tcp";
  server: string;
  port: number;
  /** UDP sends made */
  tries: number;
  /** whether a truncated UDP answer was asked again over TCP */
  fellBack: boolean;
  /** from the first send to the answer, ms */
  rttMs: number;
}

/** The question as it must come back. */
interface Question {
  name: string;
  type: number;
  id: number;
}

type Verdict = { kind: "ok"; dns: Dns } | { kind: "ignore"; why: string } | { kind: "malformed"; why: string };

/** Names compare case-insensitively (RFC 4343), with or without the root's dot. */
function sameName(a: string, b: string): boolean {
  const strip = (s: string): string => (s.endsWith(".") && s !== "." ? s.slice(0, -1) : s).toLowerCase();
  return strip(a) === strip(b);
}

/**
 * RFC 5452 §9.1 and RFC 1035 §7.3: is `bytes` the answer to `q`? The
 * addresses and ports were checked by the connected socket.
 */
function judge(bytes: Uint8Array, q: Question): Verdict {
  if (bytes.length < 12) return { kind: "ignore", why: `${bytes.length} bytes, shorter than a DNS header` };
  const id = u16(bytes, 0);
  if (id !== q.id) return { kind: "ignore", why: `id ${id} is not ours (${q.id})` };
  if ((bytes[2]! & 0x80) === 0) return { kind: "ignore", why: "a query, not a response" };
  const p = decodeAs("dns", bytes);
  const d = p.layers[0] as Dns | undefined;
  const issue = p.issues[0];
  if (d === undefined || issue !== undefined) return { kind: "malformed", why: issue?.reason ?? "does not decode" };
  // A server that could not read the question may leave it out (FORMERR, NOTIMP, REFUSED).
  if (d.questionCount === 0 && d.rcode !== DNS_RCODE.NOERROR) return { kind: "ok", dns: d };
  const dq = d.questions[0];
  if (d.questionCount !== 1 || dq === undefined || !sameName(dq.name, q.name) || dq.type !== q.type || dq.class !== 1) {
    const what = dq === undefined ? "no question" : `${dq.name} ${dq.typeName}`;
    return { kind: "ignore", why: `answers another question (${what})` };
  }
  return { kind: "ok", dns: d };
}

function note(host: AppHost, text: string): void {
  host.driver.stack.trace?.note(host.driver.now, `dns: ${text}`);
}

function networkError(err: unknown, server: string, port: number, transport: string): DnsError {
  if (err instanceof SocketError) {
    const why = err.message.replace(/^\w+: /, "").replace(/ \([A-Z]+\)(: .*)?$/, "");
    return new DnsError(err.code === "ECONNREFUSED" ? "refused" : "network", `${server} port ${port} (${transport}): ${why}`);
  }
  return err instanceof Error ? new DnsError("network", err.message) : new DnsError("network", String(err));
}

/**
 * Ask `server` one question. Resolves with the first answer that matches
 * (whatever its RCODE: the caller reads `response.rcodeName`); rejects with a
 * {@link DnsError} on a timeout, a malformed answer, an ICMP refusal, or a
 * name or type that cannot be asked.
 */
export async function dnsQuery(host: AppHost, name: string, options: DnsResolverOptions): Promise<DnsResult> {
  const port = options.port ?? DNS_PORT;
  const timeoutMs = options.timeoutMs ?? 5000;
  const tries = Math.max(1, options.tries ?? 3);
  let type: number;
  try {
    dnsNameToLabels(name);
    type = dnsTypeOf(options.type ?? DNS_TYPE.A);
  } catch (err) {
    throw new DnsError("name", err instanceof Error ? err.message : String(err));
  }
  let server: string;
  let family: 4 | 6;
  try {
    server = formatIp(parseIp(options.server));
    family = ipFamily(options.server);
  } catch {
    throw new DnsError("network", `Not an IP address: ${options.server}`);
  }
  const driver = host.driver;
  const clock = driver.device.clock;
  const start = clock.now();
  const deadline = start + timeoutMs;
  const q: Question = { name, type, id: randomBelow(driver.stack.random, 0x10000) };
  const additionals: DnsRecordInput[] = options.edns === false ? [] : [{ type: "OPT", data: { udpPayloadSize: options.edns ?? EDNS_UDP_SIZE } }];
  const query = encodeDns({ layer: "dns", id: q.id, recursionDesired: options.recursionDesired ?? true, questions: [{ name, type }], additionals });
  const base = { server, port, rttMs: 0 };
  if (options.tcp === "always") {
    const r = await overTcp(host, q, query, server, family, port, deadline);
    return { ...base, ...r, transport: "tcp", tries: 0, fellBack: false, rttMs: clock.now() - start };
  }
  const sock = host.sockets.socket(family === 4 ? "inet" : "inet6", "dgram");
  let answer: { response: Dns; bytes: Uint8Array };
  let sent = 0;
  try {
    await sock.connect(server, port);
    answer = await overUdp(host, sock, q, query, tries, timeoutMs, deadline, () => sent++);
  } catch (err) {
    throw err instanceof DnsError ? err : networkError(err, server, port, "udp");
  } finally {
    sock.close();
  }
  if (!answer.response.truncated || options.tcp === "never") {
    return { ...base, ...answer, transport: "udp", tries: sent, fellBack: false, rttMs: clock.now() - start };
  }
  // RFC 7766 §5: a truncated answer is asked again over TCP.
  note(host, `answer ${q.id} truncated (TC) in ${answer.bytes.length} bytes: asking again over TCP`);
  const r = await overTcp(host, q, query, server, family, port, deadline);
  return { ...base, ...r, transport: "tcp", tries: sent, fellBack: true, rttMs: clock.now() - start };
}

/** Send `query` `tries` times, evenly over the time left, until an answer matches. */
async function overUdp(host: AppHost, sock: Socket, q: Question, query: Uint8Array, tries: number, timeoutMs: number, deadline: number, onSend: () => void): Promise<{ response: Dns; bytes: Uint8Array }> {
  const clock = host.driver.device.clock;
  const step = (deadline - clock.now()) / tries;
  let pending: Promise<{ data: Uint8Array }> | null = null;
  for (let i = 0; i < tries; i++) {
    if (i > 0) note(host, `no answer to ${q.id} yet: sending it again (try ${i + 1} of ${tries})`);
    await sock.send(query);
    onSend();
    const tryEnd = i === tries - 1 ? deadline : Math.min(deadline, clock.now() + step);
    for (;;) {
      pending ??= sock.recvfrom(TCP_MAX);
      const got = await race(clock, tryEnd - clock.now(), pending);
      if (got === TIMEOUT) break;
      pending = null;
      const v = judge(got.data, q);
      if (v.kind === "ok") return { response: v.dns, bytes: got.data };
      if (v.kind === "malformed") throw new DnsError("malformed", `Malformed answer from ${sock.getpeername().address}: ${v.why}`);
      note(host, `ignored a datagram: ${v.why}`);
    }
  }
  const peer = sock.getpeername();
  throw new DnsError("timeout", `No answer from ${peer.address} port ${peer.port} in ${Number((timeoutMs / 1000).toFixed(3))} s (${tries} ${tries === 1 ? "try" : "tries"})`);
}

/** One question over a TCP connection (RFC 1035 §4.2.2: each message after a two-byte length). */
async function overTcp(host: AppHost, q: Question, query: Uint8Array, server: string, family: 4 | 6, port: number, deadline: number): Promise<{ response: Dns; bytes: Uint8Array }> {
  const clock = host.driver.device.clock;
  const sock = host.sockets.socket(family === 4 ? "inet" : "inet6", "stream");
  const late = (): DnsError => new DnsError("timeout", `No answer from ${server} port ${port} over TCP before the timeout`);
  try {
    const c = await race(clock, deadline - clock.now(), sock.connect(server, port));
    if (c === TIMEOUT) throw late();
    const framed = new Uint8Array(2 + query.length);
    framed[0] = query.length >> 8;
    framed[1] = query.length & 0xff;
    framed.set(query, 2);
    await sock.send(framed);
    const chunks: Uint8Array[] = [];
    let have = 0;
    let want = -1;
    while (want < 0 || have < want + 2) {
      const d = await race(clock, deadline - clock.now(), sock.recv(TCP_MAX + 2));
      if (d === TIMEOUT) throw late();
      if (d.length === 0) throw new DnsError("malformed", `${server} port ${port} closed the TCP connection after ${have} bytes${want < 0 ? "" : ` of ${want + 2}`}`);
      chunks.push(d);
      have += d.length;
      if (want < 0 && have >= 2) {
        const head = chunks.length === 1 ? chunks[0]! : concat(chunks, have);
        want = u16(head, 0);
      }
    }
    const all = concat(chunks, have);
    const bytes = all.slice(2, 2 + want);
    const v = judge(bytes, q);
    if (v.kind === "ok") return { response: v.dns, bytes };
    // Over TCP the one message on the connection is the answer: anything else is a lie.
    throw new DnsError("malformed", `${v.kind === "malformed" ? "Malformed answer" : "Wrong answer"} from ${server} over TCP: ${v.why}`);
  } catch (err) {
    sock.abort();
    throw err instanceof DnsError ? err : networkError(err, server, port, "tcp");
  } finally {
    sock.close();
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Options of {@link resolveHost}. */
export interface ResolveOptions {
  /** the DNS server's address */
  server: string;
  /** 4: A records, 6: AAAA, 0 or unset: both (IPv4 first) */
  family?: 0 | 4 | 6 | undefined;
  /** the bound on the whole lookup (default 5000 ms) */
  timeoutMs?: number | undefined;
  /** UDP sends of each question, spread over the timeout (default 3) */
  tries?: number | undefined;
  port?: number | undefined;
}

/**
 * The records of `type` the answer gives for `name`, following its CNAME
 * chain inside the answer (RFC 1034 §3.6.2), in the answer's order.
 */
export function answerAddresses(dns: Dns, name: string, type: number): string[] {
  const owners = [name];
  for (let changed = true, guard = 0; changed && guard < 16; guard++) {
    changed = false;
    for (const r of dns.answers) {
      if (r.type === DNS_TYPE.CNAME && typeof r.data === "string" && owners.some((o) => sameName(o, r.name)) && !owners.some((o) => sameName(o, r.data as string))) {
        owners.push(r.data);
        changed = true;
      }
    }
  }
  return dns.answers.filter((r) => r.type === type && typeof r.data === "string" && owners.some((o) => sameName(o, r.name))).map((r) => r.data as string);
}

/**
 * A host name to its addresses, through `server`: an address literal is
 * returned as it is; otherwise A and/or AAAA queries (see {@link dnsQuery}),
 * with their CNAME chains followed. Rejects with a {@link DnsError}: `nxdomain`
 * (no such name), `nodata` (no address of that family), `server` (SERVFAIL,
 * REFUSED, ...), `timeout`, `malformed`, `refused`.
 *
 * @example
 * ```ts
 * const [address] = await resolveHost(host, "www.example.test", { server: "10.77.0.1", family: 4, timeoutMs: 3000 });
 * ```
 */
export async function resolveHost(host: AppHost, name: string, options: ResolveOptions): Promise<string[]> {
  try {
    return [formatIp(parseIp(name))];
  } catch {
    // a name, not an address
  }
  const types = options.family === 4 ? [DNS_TYPE.A] : options.family === 6 ? [DNS_TYPE.AAAA] : [DNS_TYPE.A, DNS_TYPE.AAAA];
  const results = await Promise.allSettled(types.map((type) => dnsQuery(host, name, { server: options.server, port: options.port, type, timeoutMs: options.timeoutMs, tries: options.tries })));
  const addresses: string[] = [];
  let failure: DnsError | null = null;
  for (let i = 0; i < types.length; i++) {
    const r = results[i]!;
    if (r.status === "rejected") {
      failure ??= r.reason instanceof DnsError ? r.reason : new DnsError("network", String(r.reason));
      continue;
    }
    const d = r.value.response;
    if (d.rcode === DNS_RCODE.NXDOMAIN) failure = new DnsError("nxdomain", `${name}: no such name (NXDOMAIN from ${r.value.server})`);
    else if (d.rcode !== DNS_RCODE.NOERROR) failure ??= new DnsError("server", `${name}: ${r.value.server} answered ${d.rcodeName}`);
    else addresses.push(...answerAddresses(d, name, types[i]!));
  }
  if (addresses.length > 0) return addresses;
  if (failure !== null) throw failure;
  throw new DnsError("nodata", `${name} has no ${types.map(dnsTypeName).join(" or ")} record`);
}
