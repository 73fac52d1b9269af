/**
 * Our own neighbour resolver: the link-layer address of an on-link IP address,
 * found by the stack itself rather than the kernel's neighbour table.
 *
 * - IPv4 (RFC 826): an ARP request broadcast to ff:ff:ff:ff:ff:ff, answered by a
 *   reply whose sender protocol address is the target.
 * - IPv6 (RFC 4861 §7.2.2): a neighbor solicitation to the target's
 *   solicited-node multicast address (ff02::1:ffXX:XXXX, link address
 *   33:33:ff:XX:XX:XX), hop limit 255, with our source link-layer address option;
 *   answered by a neighbor advertisement for that target, whose target
 *   link-layer address option (or, failing that, Ethernet source) is the answer.
 *
 * The capture handle is opened, with a tight BPF filter, before the first request
 * goes out, so a fast reply cannot slip past. Each try waits `timeoutMs`; after
 * `tries` tries it fails with a {@link NeighborError}. Answers are kept in a
 * {@link NeighborCache} until they expire.
 *
 * @example
 * ```ts
 * import { resolveNeighbor } from "./neighbor.ts";
 * const mac = await resolveNeighbor("10.77.0.2", {
 *   iface: "laba0", netns: "laba", srcMac: "02:77:00:00:00:01", srcIp: "10.77.0.1",
 * }); // "02:77:00:00:00:02"
 * ```
 *
 * @module
 */
import { formatIpv6, formatMac, parseIp, parseIpv6 } from "../../layers/addr.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput } from "../../layers/mod.ts";
import { decodePacket } from "../../layers/decode.ts";
import type { Frame } from "../frame.ts";
import { openLive, type LiveCapture } from "../live.ts";

/** The Ethernet broadcast address. */
export const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";

/** ARP opcodes (RFC 826). */
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
/** ICMPv6 neighbor discovery types and options (RFC 4861 §4.3, §4.4, §4.6.1). */
const ND_NEIGHBOR_SOLICITATION = 135;
const ND_NEIGHBOR_ADVERTISEMENT = 136;

/** A resolution that got no answer, or could not be started. */
export class NeighborError extends Error {
  override name = "NeighborError";
}

/** Resolved link-layer addresses with an expiry, keyed by interface and IP address. */
export class NeighborCache {
  /** how long an answer stays valid, in milliseconds */
  readonly ttlMs: number;
  #entries = new Map<string, { mac: string; expires: number }>();

  constructor(ttlMs = 30_000) {
    this.ttlMs = ttlMs;
  }

  #key(iface: string, ip: string, netns: string | undefined): string {
    return `${netns ?? ""}\0${iface}\0${ip}`;
  }

  /** The cached MAC for `ip` on `iface`, or undefined when absent or expired. */
  get(iface: string, ip: string, netns?: string, now = Date.now()): string | undefined {
    const key = this.#key(iface, ip, netns);
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.mac;
  }

  /** Remember `mac` for `ip` on `iface` for `ttlMs`. */
  set(iface: string, ip: string, mac: string, netns?: string, now = Date.now()): void {
    this.#entries.set(this.#key(iface, ip, netns), { mac, expires: now + this.ttlMs });
  }

  /** Forget everything. */
  clear(): void {
    this.#entries.clear();
  }
}

/** The cache {@link resolveNeighbor} uses unless told otherwise. */
export const defaultNeighborCache = new NeighborCache();

/** Options for {@link resolveNeighbor}. */
export interface NeighborOptions {
  /** interface to ask on */
  iface: string;
  /** network namespace of the interface (`ip netns` name) */
  netns?: string | undefined;
  /** our link-layer address, the request's source */
  srcMac: string;
  /** our IP address (same family as the target), the request's sender / source */
  srcIp: string;
  /** how long each try waits for the answer, ms (default 1000) */
  timeoutMs?: number | undefined;
  /** how many requests before giving up (default 3) */
  tries?: number | undefined;
  /** where answers are kept; null for none (default {@link defaultNeighborCache}) */
  cache?: NeighborCache | null | undefined;
  /**
   * An open handle on `iface` to use instead of opening one. Its filter must let
   * the replies through (see {@link neighborFilter}).
   */
  capture?: LiveCapture | undefined;
  /** called with each request frame just before it is injected (for logging / -w) */
  onRequest?: ((frame: Uint8Array) => void) | undefined;
}

/** The solicited-node multicast address of an IPv6 address (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(target: string): string {
  const t = parseIpv6(target);
  const a = parseIpv6("ff02::1:ff00:0");
  a[13] = t[13]!;
  a[14] = t[14]!;
  a[15] = t[15]!;
  return formatIpv6(a);
}

/** The Ethernet address an IPv6 multicast address maps to: 33:33 + its low 32 bits (RFC 2464 §7). */
export function ipv6MulticastMac(group: string): string {
  const g = parseIpv6(group);
  return formatMac(Uint8Array.of(0x33, 0x33, g[12]!, g[13]!, g[14]!, g[15]!));
}

/** The request that asks for `target`'s link-layer address: an ARP request or an NDP solicitation. */
export function buildNeighborRequest(target: string, srcMac: string, srcIp: string): Uint8Array {
  return encodePacket(neighborRequestLayers(target, srcMac, srcIp));
}

/** The layers of {@link buildNeighborRequest}, outermost first. */
export function neighborRequestLayers(target: string, srcMac: string, srcIp: string): AnyInput[] {
  if (!target.includes(":")) {
    return [
      { layer: "ethernet", src: srcMac, dst: BROADCAST_MAC },
      // RFC 826: the target hardware address is unknown, sent as zeros.
      { layer: "arp", op: ARP_REQUEST, senderMac: srcMac, senderIp: srcIp, targetMac: "00:00:00:00:00:00", targetIp: target },
    ];
  }
  const group = solicitedNodeAddress(target);
  return [
    { layer: "ethernet", src: srcMac, dst: ipv6MulticastMac(group) },
    // RFC 4861 §7.1.1: a receiver drops neighbor discovery with a hop limit other than 255.
    { layer: "ipv6", src: srcIp, dst: group, hopLimit: 255 },
    {
      layer: "icmpv6",
      type: ND_NEIGHBOR_SOLICITATION,
      code: 0,
      targetAddress: target,
      // RFC 4861 §7.2.2: include our link-layer address so the answer can be unicast.
      options: [{ kind: "sourceLinkLayerAddress", address: srcMac }],
    },
  ];
}

/**
 * A BPF filter that keeps only the answers: ARP replies whose sender is the
 * target, or neighbor advertisements (ICMPv6 type 136, read at the first byte
 * after a 40-byte IPv6 header: the kernel sends them without extension headers).
 */
export function neighborFilter(target: string): string {
  if (!target.includes(":")) return `arp and arp[6:2] = ${ARP_REPLY} and arp src host ${target}`;
  return `icmp6 and ip6[40] = ${ND_NEIGHBOR_ADVERTISEMENT}`;
}

/** The MAC in `frame` if it answers a request for `target`, else null. */
export function matchNeighborReply(frame: Uint8Array, linkType: number, target: string): string | null {
  const { layers } = decodePacket(frame, linkType);
  const v6 = target.includes(":");
  const want = formatAny(target);
  let etherSrc: string | null = null;
  for (const l of layers) {
    if (l.layer === "ethernet") etherSrc = l.src;
    if (!v6 && l.layer === "arp" && l.op === ARP_REPLY && l.senderIp === want) return l.senderMac;
    if (v6 && l.layer === "icmpv6" && l.type === ND_NEIGHBOR_ADVERTISEMENT && l.targetAddress !== undefined && formatAny(l.targetAddress) === want) {
      // RFC 4861 §7.2.4: the answer to a multicast solicitation carries the target link-layer address option.
      for (const o of l.options ?? []) if (o.kind === "targetLinkLayerAddress") return o.address;
      return etherSrc;
    }
  }
  return null;
}

/** Canonical text of an address (so "FD77::0002" and "fd77::2" compare equal). */
function formatAny(ip: string): string {
  const b = parseIp(ip);
  return b.length === 16 ? formatIpv6(b) : ip;
}

/**
 * The link-layer address of `target` (an on-link IPv4 or IPv6 address in text),
 * as MAC text. Throws {@link NeighborError} when no answer comes.
 */
export async function resolveNeighbor(target: string, options: NeighborOptions): Promise<string> {
  const cache = options.cache === undefined ? defaultNeighborCache : options.cache;
  const key = formatAny(target);
  const hit = cache?.get(options.iface, key, options.netns);
  if (hit !== undefined) return hit;
  const tries = options.tries ?? 3;
  const timeoutMs = options.timeoutMs ?? 1000;
  const request = buildNeighborRequest(key, options.srcMac, options.srcIp);
  const own = options.capture === undefined;
  const capture = options.capture ?? openLive(options.iface, liveOptions(options.netns, neighborFilter(key)));
  try {
    // Subscribe before the first request goes out (reading starts with the first subscriber).
    startReading(capture);
    for (let i = 0; i < tries; i++) {
      options.onRequest?.(request);
      capture.inject(request);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const frame = await nextFrame(capture, left);
        if (frame === null) break;
        const mac = matchNeighborReply(frame.data, frame.linkType, key);
        if (mac !== null) {
          cache?.set(options.iface, key, mac, options.netns);
          return mac;
        }
      }
    }
  } finally {
    if (own) capture.close();
  }
  const what = key.includes(":") ? "neighbor solicitation" : "ARP request";
  throw new NeighborError(`No answer from ${key} on ${options.iface} to ${tries} ${what}${tries === 1 ? "" : "s"} (${timeoutMs} ms each)`);
}

/**
 * One reader per handle: its iterator and the `next()` still pending when a wait
 * timed out. That promise is kept and raced again by the next wait, so a frame
 * arriving between two waits is never handed to a promise nobody awaits.
 */
interface Reader {
  it: AsyncIterator<Frame>;
  pending: Promise<IteratorResult<Frame>> | null;
}

const readers = new WeakMap<LiveCapture, Reader>();

function readerOf(capture: LiveCapture): Reader {
  let r = readers.get(capture);
  if (r === undefined) {
    r = { it: capture[Symbol.asyncIterator](), pending: null };
    readers.set(capture, r);
  }
  return r;
}

/**
 * The next frame a handle delivers within `ms`, or null when none came in time
 * or the handle closed. Reading starts with the first call (or {@link startReading}).
 */
export async function nextFrame(capture: LiveCapture, ms: number): Promise<Frame | null> {
  const reader = readerOf(capture);
  const pending = (reader.pending ??= reader.it.next());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    const r = await Promise.race([pending, timeout]);
    if (r === null) return null;
    reader.pending = null;
    return r.done === true ? null : r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Subscribe to a handle's frames now, before sending what they answer. */
export function startReading(capture: LiveCapture): void {
  readerOf(capture);
}

function liveOptions(netns: string | undefined, filter: string): Parameters<typeof openLive>[1] {
  return netns === undefined ? { filter, immediate: true } : { filter, immediate: true, netns };
}
