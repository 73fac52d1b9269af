/**
 * A DNS query sent through the whole stack, like `dig` with every layer
 * visible: the question is built by the DNS layer, wrapped in UDP, IP and
 * Ethernet by the layers below, the server (or its gateway) resolved by our own
 * ARP/NDP, the frame injected, and the answer captured on the same handle,
 * matched by DNS id and ports (RFC 5452 §9.1: id, addresses and ports must all
 * agree), within a timeout.
 *
 * {@link queryDnsOn} asks on any {@link Device} with the addresses given and
 * waits on the device's clock; {@link queryDns} works out the addresses from
 * the interface and the routing table, opens a live device and asks on it.
 *
 * @example
 * ```ts
 * import { queryDns } from "./dns_query.ts";
 * const r = await queryDns({ iface: "laba0", netns: "laba", server: "10.77.0.2", name: "www.example.test" });
 * r.response.answers.map((a) => a.data); // ["10.77.0.9"]
 * ```
 *
 * @module
 */
import { DNS_TYPE, dnsTypeOf, encodeDns, type Dns, type DnsInput, type DnsRecord } from "../../layers/dns.ts";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput, AnyLayer } from "../../layers/mod.ts";
import type { Issue } from "../../layers/core.ts";
import { formatIp, macBytes, type AddressInput } from "../../layers/addr.ts";
import { clockStamp } from "../device/clock.ts";
import type { Device } from "../device/device.ts";
import { waitForFrame } from "../device/wait.ts";
import { resolveNeighborOn, type NeighborCache } from "./neighbor.ts";
import { checkAddress, openPlanDevice, planUdp, resolvePlan, SendError, udpFrameLayers, type SentFrame, type UdpFrameInput } from "./udp.ts";

/** Options of {@link queryDns}. */
export interface DnsQueryOptions {
  iface: string;
  netns?: string | undefined;
  /** the server's address (IPv4 or IPv6) */
  server: string;
  /** the name asked about */
  name: string;
  /** record type by name or number (default A) */
  type?: string | number | undefined;
  /** server port (default 53) */
  port?: number | undefined;
  /** our source port (default random in 49152..65535) */
  srcPort?: number | undefined;
  /** our source address (default the interface's) */
  src?: string | undefined;
  /** DNS id (default random) */
  id?: number | undefined;
  /** ask for recursion (default true, like dig) */
  recursionDesired?: boolean | undefined;
  /** how long to wait for the answer after the query is sent, ms (default 3000) */
  timeoutMs?: number | undefined;
  /** skip resolution: the server's (or gateway's) MAC */
  dstMac?: string | undefined;
  cache?: NeighborCache | null | undefined;
  /** called with every frame sent (ARP/NDP requests, the query) */
  onSent?: ((frame: SentFrame) => void) | undefined;
}

/** A captured frame with its decode. */
export interface DecodedFrame {
  data: Uint8Array;
  sec: number;
  nsec: number;
  layers: AnyLayer[];
  issues: Issue[];
}

/** Options of {@link queryDnsOn}: the question, and the addresses {@link queryDns} would work out. */
export interface DnsQueryOnOptions {
  /** our link-layer address */
  srcMac: AddressInput;
  /** our IP address (the family of the server's) */
  src: AddressInput;
  /** the server's IP address */
  server: AddressInput;
  /** the name asked about */
  name: string;
  /** record type by name or number (default A) */
  type?: string | number | undefined;
  /** server port (default 53) */
  port?: number | undefined;
  /** our source port (default random in 49152..65535) */
  srcPort?: number | undefined;
  /** DNS id (default random) */
  id?: number | undefined;
  /** ask for recursion (default true, like dig) */
  recursionDesired?: boolean | undefined;
  /** how long to wait for the answer after the query is sent, ms of the device's clock (default 3000) */
  timeoutMs?: number | undefined;
  /** the MAC the query goes to (the server's or its gateway's); default: asked for with ARP/NDP */
  dstMac?: AddressInput | undefined;
  /** whose MAC to ask for: the gateway when the server is off-link (default the server) */
  nextHop?: AddressInput | undefined;
  /** our address on the next hop's subnet, the ARP/NDP sender (default `src`) */
  nextHopSrc?: AddressInput | undefined;
  /** resolver: ms per try (default 1000), tries (default 3) */
  resolveTimeoutMs?: number | undefined;
  resolveTries?: number | undefined;
  /** where resolved MACs are kept (default none) */
  cache?: NeighborCache | null | undefined;
  /** the device's network namespace, as part of the cache key */
  netns?: string | undefined;
  /** called with every frame sent (ARP/NDP requests, the query) */
  onSent?: ((frame: SentFrame) => void) | undefined;
}

/** What {@link queryDns} got. */
export interface DnsQueryResult {
  /** the query frame as sent */
  query: DecodedFrame;
  /** the answer frame as captured */
  reply: DecodedFrame;
  /** the answer's DNS layer */
  response: Dns;
  /** time from sending the query to capturing the answer, ms */
  rttMs: number;
  server: string;
  /** the server's port */
  port: number;
  srcPort: number;
}

/** No answer came in time. */
export class DnsTimeoutError extends Error {
  override name = "DnsTimeoutError";
}

/**
 * The layers of the query frame, outermost first: Ethernet, IP, UDP, DNS.
 *
 * @example
 * ```ts
 * dnsQueryLayers(frame, { layer: "dns", id: 1, questions: [{ name: "example.test", type: 1 }] }).map((l) => l.layer);
 * // ["ethernet", "ipv4", "udp", "dns"]
 * ```
 */
export function dnsQueryLayers(frame: UdpFrameInput, dns: DnsInput): AnyInput[] {
  const layers = udpFrameLayers(frame);
  layers[layers.length - 1] = dns;
  return layers;
}

/** What an answer to our query carries: our id, the server's address and port, ours. */
export interface DnsAnswerKey {
  id: number;
  server: AddressInput;
  port: number;
  src: AddressInput;
  srcPort: number;
}

/**
 * A test for the answer to one query. Decoded values carry addresses as text
 * in one canonical form (dotted quad, RFC 5952), so the two addresses are
 * formatted once here and compared as text, with no parse per frame.
 */
function answerMatcher(want: DnsAnswerKey): (layers: readonly AnyLayer[]) => Dns | null {
  const server = formatIp(checkAddress("server", want.server));
  const src = formatIp(checkAddress("src", want.src));
  return (layers) => {
    let ipOk = false;
    let portsOk = false;
    for (const l of layers) {
      if (l.layer === "ipv4" || l.layer === "ipv6") ipOk = l.src === server && l.dst === src;
      if (l.layer === "udp") portsOk = l.srcPort === want.port && l.dstPort === want.srcPort;
      if (l.layer === "dns" && ipOk && portsOk && l.response && l.id === want.id) return l;
    }
    return null;
  };
}

/**
 * Whether `layers` (a decoded frame) are the answer to our query: a DNS response
 * with our id, from the server's address and port, to our address and port.
 *
 * @example
 * ```ts
 * isAnswer(decodePacket(frame, 1).layers, { id: 7, server: "10.0.0.53", port: 53, src: "10.0.0.1", srcPort: 40000 }); // the Dns layer, or null
 * ```
 */
export function isAnswer(layers: readonly AnyLayer[], want: DnsAnswerKey): Dns | null {
  return answerMatcher(want)(layers);
}

/** A query ready to go: the DNS layer, its bytes, its id. */
interface PreparedQuery {
  dns: DnsInput;
  message: Uint8Array;
  id: number;
}

/** Check the question and encode it (to size the datagram before anything is opened). */
function prepareQuery(options: Pick<DnsQueryOptions, "name" | "type" | "id" | "recursionDesired">): PreparedQuery {
  const id = options.id ?? Math.floor(Math.random() * 0x10000);
  let qtype: number;
  try {
    qtype = dnsTypeOf(options.type ?? DNS_TYPE.A);
  } catch {
    throw new SendError("--type", `Unknown DNS record type '${String(options.type)}'`);
  }
  const dns: DnsInput = {
    layer: "dns",
    id,
    recursionDesired: options.recursionDesired ?? true,
    questions: [{ name: options.name, type: qtype }],
  };
  let message: Uint8Array;
  try {
    message = encodeDns(dns);
  } catch (err) {
    throw new SendError("NAME", `Cannot put '${options.name}' in a query: ${(err as Error).message}`, true);
  }
  return { dns, message, id };
}

/** The addresses and ports of one exchange, addresses as bytes. */
interface Endpoints {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  src: Uint8Array;
  server: Uint8Array;
  port: number;
  srcPort: number;
}

/** Send the query on `device` and wait for its answer on the device's clock. */
async function exchange(
  device: Device,
  q: PreparedQuery,
  e: Endpoints,
  timeoutMs: number,
  onSent: ((frame: SentFrame) => void) | undefined,
): Promise<DnsQueryResult> {
  const frame = encodePacket(
    dnsQueryLayers({ srcMac: e.srcMac, dstMac: e.dstMac, src: e.src, dst: e.server, srcPort: e.srcPort, dstPort: e.port, payload: q.message }, q.dns),
  );
  const isOurs = answerMatcher({ id: q.id, server: e.server, port: e.port, src: e.src, srcPort: e.srcPort });
  // Wait first, then send: the answer cannot come before the wait listens.
  const stop = new AbortController();
  const answer = waitForFrame(device, (f, linkType) => isOurs(decodePacket(f, linkType).layers) !== null, timeoutMs, stop.signal);
  const started = device.clock.now();
  const sentAt = clockStamp(started);
  try {
    device.send(frame);
  } catch (err) {
    stop.abort();
    throw err;
  }
  onSent?.({ data: frame, ...sentAt });
  const decodedQuery = decodePacket(frame, device.linkType);
  const f = await answer;
  if (f === null) throw new DnsTimeoutError(`No answer from ${formatIp(e.server)} port ${e.port} within ${timeoutMs} ms`);
  const rttMs = device.clock.now() - started;
  const decoded = decodePacket(f.data, f.linkType);
  return {
    query: { data: frame, ...sentAt, layers: decodedQuery.layers, issues: decodedQuery.issues },
    reply: { data: f.data, sec: f.sec, nsec: f.nsec, layers: decoded.layers, issues: decoded.issues },
    response: isOurs(decoded.layers)!,
    rttMs,
    server: formatIp(e.server),
    port: e.port,
    srcPort: e.srcPort,
  };
}

function checkPort(what: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SendError(what, `${port} is out of range (0..65535)`);
  return port;
}

/**
 * Send one DNS query over UDP on `device`, from and to the addresses given,
 * and wait for its answer on the device's clock. The next hop's MAC is asked
 * for with ARP/NDP on the same device unless `dstMac` is given. Throws
 * {@link SendError} on bad input, `NeighborError` when the next hop does not
 * answer, {@link DnsTimeoutError} when the server does not answer within
 * `timeoutMs`.
 *
 * @example
 * ```ts
 * const r = await queryDnsOn(device, {
 *   srcMac: "02:77:00:00:00:01", src: "10.77.0.1", server: "10.77.0.2", name: "www.example.test",
 * });
 * r.response.answers.map((a) => a.data); // ["10.77.0.9"]
 * ```
 */
export async function queryDnsOn(device: Device, options: DnsQueryOnOptions): Promise<DnsQueryResult> {
  const q = prepareQuery(options);
  const port = checkPort("port", options.port ?? 53);
  // RFC 6335 §6: ephemeral ports come from the dynamic range 49152..65535.
  const srcPort = checkPort("srcPort", options.srcPort ?? 49152 + Math.floor(Math.random() * 16384));
  const server = checkAddress("server", options.server);
  const src = checkAddress("src", options.src);
  if (src.length !== server.length) throw new SendError("src", `${formatIp(src)} is not of the family of server ${formatIp(server)}`);
  let srcMac: Uint8Array;
  try {
    srcMac = macBytes(options.srcMac);
  } catch {
    throw new SendError("srcMac", "Not a MAC address");
  }
  let dstMac: Uint8Array;
  if (options.dstMac !== undefined) {
    try {
      dstMac = macBytes(options.dstMac);
    } catch {
      throw new SendError("dstMac", "Not a MAC address");
    }
  } else {
    const mac = await resolveNeighborOn(device, options.nextHop === undefined ? server : checkAddress("nextHop", options.nextHop), {
      srcMac,
      srcIp: options.nextHopSrc === undefined ? src : checkAddress("nextHopSrc", options.nextHopSrc),
      timeoutMs: options.resolveTimeoutMs,
      tries: options.resolveTries,
      cache: options.cache,
      netns: options.netns,
      onRequest: (data) => options.onSent?.({ data, ...clockStamp(device.clock.now()) }),
    });
    dstMac = macBytes(mac);
  }
  return exchange(device, q, { srcMac, dstMac, src, server, port, srcPort }, options.timeoutMs ?? 3000, options.onSent);
}

/**
 * Send one DNS query over UDP from `iface` and wait for its answer. Throws
 * {@link SendError} on bad input, `NeighborError` when the server's next hop
 * does not answer ARP/NDP, {@link DnsTimeoutError} when the server does not
 * answer within `timeoutMs`.
 *
 * @example
 * ```ts
 * const r = await queryDns({ iface: "laba0", netns: "laba", server: "10.77.0.2", name: "www.example.test", type: "AAAA" });
 * ```
 */
export async function queryDns(options: DnsQueryOptions): Promise<DnsQueryResult> {
  const port = options.port ?? 53;
  // The DNS layer alone, to size the datagram for the MTU check before anything is opened.
  const q = prepareQuery(options);
  const plan = withWhat("--dst", "--server", () => planUdp({
    iface: options.iface,
    netns: options.netns,
    dst: options.server,
    dstPort: port,
    src: options.src,
    srcPort: options.srcPort,
    payload: q.message,
    dstMac: options.dstMac,
  }));
  const b = plan.bytes;
  const device = openPlanDevice(plan, options, answerFilter(b.dst, port, plan.srcPort));
  try {
    const dstMac = await resolvePlan(device, plan, { netns: options.netns, cache: options.cache, onSent: options.onSent });
    const endpoints = { srcMac: b.srcMac, dstMac: macBytes(dstMac), src: b.src, server: b.dst, port, srcPort: plan.srcPort };
    return await exchange(device, q, endpoints, options.timeoutMs ?? 3000, options.onSent);
  } finally {
    device.close();
  }
}

/** Run `f`, renaming the subject of its {@link SendError}s from `from` to `to` (the CLI option the user gave). */
function withWhat<T>(from: string, to: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof SendError && err.what === from) throw new SendError(to, err.message, err.usage);
    throw err;
  }
}

/**
 * BPF for the answer: UDP from the server's port to ours.
 *
 * @example
 * ```ts
 * answerFilter("10.0.0.53", 53, 40000); // "udp and src host 10.0.0.53 and src port 53 and dst port 40000"
 * ```
 */
export function answerFilter(server: AddressInput, port: number, srcPort: number): string {
  return `udp and src host ${formatIp(checkAddress("server", server))} and src port ${port} and dst port ${srcPort}`;
}

/** Record data as dig prints it (presentation form, names with a trailing dot). */
export function formatRdata(r: DnsRecord): string {
  const d = r.data;
  const fqdn = (n: string): string => (n === "." || n.endsWith(".") ? n : n + ".");
  const quote = (s: string): string => `"${s.replace(/(["\\])/g, "\\$1")}"`;
  if (d instanceof Uint8Array) {
    // RFC 3597 §5: unknown record data as \# length hex.
    return `\\# ${d.length}${d.length > 0 ? " " + Buffer.from(d).toString("hex").toUpperCase() : ""}`;
  }
  if (typeof d === "string") {
    return r.type === DNS_TYPE.A || r.type === DNS_TYPE.AAAA ? d : fqdn(d);
  }
  if (Array.isArray(d)) return d.map(quote).join(" ");
  if ("exchange" in d) return `${d.preference} ${fqdn(d.exchange)}`;
  if ("mname" in d) return `${fqdn(d.mname)} ${fqdn(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
  if ("target" in d) return `${d.priority} ${d.weight} ${d.port} ${fqdn(d.target)}`;
  if ("tag" in d) return `${d.flags} ${d.tag} ${quote(d.value)}`;
  return `udp=${d.udpPayloadSize}`;
}
