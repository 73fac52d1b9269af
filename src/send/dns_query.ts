/**
 * A DNS query sent through the whole stack, like `dig` with every layer
 * visible: the question is built by the DNS layer, wrapped in UDP, IP and
 * Ethernet by the layers below, the server (or its gateway) resolved by our own
 * ARP/NDP, the frame injected, and the answer captured on the same handle,
 * matched by DNS id and ports (RFC 5452 §9.1: id, addresses and ports must all
 * agree), within a timeout.
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
import { formatIpv4, formatIpv6, parseIp } from "../../layers/addr.ts";
import { nextFrame, startReading } from "./neighbor.ts";
import { openAndResolve, planUdp, SendError, udpFrameLayers, wallClock, type SentFrame } from "./udp.ts";
import type { NeighborCache } from "./neighbor.ts";

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

function canonical(text: string): string {
  const b = parseIp(text);
  return b.length === 4 ? formatIpv4(b) : formatIpv6(b);
}

/** The layers of the query frame, outermost first: Ethernet, IP, UDP, DNS. */
export function dnsQueryLayers(frame: Parameters<typeof udpFrameLayers>[0], dns: DnsInput): AnyInput[] {
  const layers = udpFrameLayers(frame);
  layers[layers.length - 1] = dns;
  return layers;
}

/**
 * Whether `layers` (a decoded frame) are the answer to our query: a DNS response
 * with our id, from the server's address and port, to our address and port.
 */
export function isAnswer(layers: readonly AnyLayer[], want: { id: number; server: string; port: number; src: string; srcPort: number }): Dns | null {
  let ipOk = false;
  let portsOk = false;
  for (const l of layers) {
    if (l.layer === "ipv4" || l.layer === "ipv6") ipOk = canonical(l.src) === want.server && canonical(l.dst) === want.src;
    if (l.layer === "udp") portsOk = l.srcPort === want.port && l.dstPort === want.srcPort;
    if (l.layer === "dns" && ipOk && portsOk && l.response && l.id === want.id) return l;
  }
  return null;
}

/**
 * Send one DNS query over UDP from `iface` and wait for its answer. Throws
 * {@link SendError} on bad input, `NeighborError` when the server's next hop
 * does not answer ARP/NDP, {@link DnsTimeoutError} when the server does not
 * answer within `timeoutMs`.
 */
export async function queryDns(options: DnsQueryOptions): Promise<DnsQueryResult> {
  const port = options.port ?? 53;
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
  // The DNS layer alone, to size the datagram for the MTU check before anything is opened.
  let message: Uint8Array;
  try {
    message = encodeDns(dns);
  } catch (err) {
    throw new SendError("NAME", `Cannot put '${options.name}' in a query: ${(err as Error).message}`, true);
  }
  const plan = withWhat("--dst", "--server", () => planUdp({
    iface: options.iface,
    netns: options.netns,
    dst: options.server,
    dstPort: port,
    src: options.src,
    srcPort: options.srcPort,
    payload: message,
    dstMac: options.dstMac,
  }));
  const { capture, dstMac } = await openAndResolve(
    plan,
    { iface: options.iface, netns: options.netns, cache: options.cache, onSent: options.onSent },
    answerFilter(plan.dst, port, plan.srcPort),
  );
  if (capture === null) throw new Error("internal: openAndResolve gave no capture to listen on");
  try {
    const frame = encodePacket(
      dnsQueryLayers({ srcMac: plan.srcMac, dstMac, src: plan.src, dst: plan.dst, srcPort: plan.srcPort, dstPort: port, payload: message }, dns),
    );
    const want = { id, server: plan.dst, port, src: plan.src, srcPort: plan.srcPort };
    startReading(capture);
    const sentAt = wallClock();
    const started = performance.now();
    capture.inject(frame);
    options.onSent?.({ data: frame, ...sentAt });
    const decodedQuery = decodePacket(frame, capture.linkType);
    const deadline = started + (options.timeoutMs ?? 3000);
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const f = await nextFrame(capture, left);
      if (f === null) break;
      const decoded = decodePacket(f.data, f.linkType);
      const response = isAnswer(decoded.layers, want);
      if (response !== null) {
        return {
          query: { data: frame, ...sentAt, layers: decodedQuery.layers, issues: decodedQuery.issues },
          reply: { data: f.data, sec: f.sec, nsec: f.nsec, layers: decoded.layers, issues: decoded.issues },
          response,
          rttMs: performance.now() - started,
          server: plan.dst,
          port,
          srcPort: plan.srcPort,
        };
      }
    }
  } finally {
    capture.close();
  }
  throw new DnsTimeoutError(`No answer from ${plan.dst} port ${port} within ${options.timeoutMs ?? 3000} ms`);
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

/** BPF for the answer: UDP from the server's port to ours. */
export function answerFilter(server: string, port: number, srcPort: number): string {
  return `udp and src host ${server} and src port ${port} and dst port ${srcPort}`;
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
