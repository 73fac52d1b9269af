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
 * {@link resolveNeighborOn} asks on any {@link Device} (a live interface, one
 * end of a memory pair) and waits on the device's clock; {@link resolveNeighbor}
 * opens a live device on an interface for one resolution. Either way the wait
 * for the answer starts before the request goes out, so a fast reply cannot
 * slip past. Each try waits `timeoutMs`; after `tries` tries it fails with a
 * {@link NeighborError}. Answers are kept in a {@link NeighborCache} until they
 * expire. Addresses are bytes inside (text is parsed once, on the way in); the
 * answer is MAC text, as the decoder writes it.
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
import { formatIp, formatIpv6, formatMac, ipBytes, ipv6Bytes, macBytes, type AddressInput } from "../../layers/addr.ts";
import { ARP_OP_REPLY, ARP_OP_REQUEST } from "../../layers/arp.ts";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput } from "../../layers/mod.ts";
import { systemClock } from "../device/clock.ts";
import type { Device } from "../device/device.ts";
import { LiveDevice } from "../device/live_device.ts";
import { waitForFrame } from "../device/wait.ts";
import type { LiveCapture } from "../live.ts";

// The waiting helpers moved to the device module; exported here too, where they were.
export { nextFrame, startReading } from "../device/wait.ts";

/** The Ethernet broadcast address. */
export const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";

const BROADCAST = macBytes(BROADCAST_MAC);
/** RFC 826: the target hardware address of a request is unknown, sent as zeros. */
const UNKNOWN_MAC = new Uint8Array(6);
/** ICMPv6 neighbor discovery types (RFC 4861 §4.3, §4.4). */
const ND_NEIGHBOR_SOLICITATION = 135;
const ND_NEIGHBOR_ADVERTISEMENT = 136;
/** The solicited-node prefix ff02::1:ff00:0/104 (RFC 4291 §2.7.1). */
const SOLICITED_NODE_PREFIX = ipv6Bytes("ff02::1:ff00:0");

/** A resolution that got no answer, or could not be started. */
export class NeighborError extends Error {
  override name = "NeighborError";
}

/**
 * Resolved link-layer addresses with an expiry, keyed by interface (and
 * namespace) and IP address. Addresses are given as text or bytes and kept
 * as bytes: "FD77::0002", "fd77::2" and its 16 bytes are one key. Times are
 * milliseconds of the clock the resolver runs on (default {@link systemClock}).
 *
 * @example
 * ```ts
 * const cache = new NeighborCache(60_000);
 * cache.set("eth0", "10.0.0.1", "02:00:00:00:00:01");
 * cache.get("eth0", Uint8Array.of(10, 0, 0, 1)); // "02:00:00:00:00:01"
 * ```
 */
export class NeighborCache {
  /** how long an answer stays valid, in milliseconds */
  readonly ttlMs: number;
  #entries = new Map<string, { mac: string; expires: number }>();

  constructor(ttlMs = 30_000) {
    this.ttlMs = ttlMs;
  }

  /** The key: namespace, interface, then the address's bytes one character each (no text form made). */
  #key(iface: string, ip: AddressInput, netns: string | undefined): string {
    return `${netns ?? ""}\0${iface}\0${String.fromCharCode(...ipBytes(ip))}`;
  }

  /** The cached MAC for `ip` on `iface`, or undefined when absent or expired. */
  get(iface: string, ip: AddressInput, netns?: string, now = systemClock.now()): string | undefined {
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
  set(iface: string, ip: AddressInput, mac: string, netns?: string, now = systemClock.now()): void {
    this.#entries.set(this.#key(iface, ip, netns), { mac, expires: now + this.ttlMs });
  }

  /** Forget everything. */
  clear(): void {
    this.#entries.clear();
  }
}

/** The cache {@link resolveNeighbor} uses unless told otherwise. */
export const defaultNeighborCache = new NeighborCache();

/** Options of {@link resolveNeighborOn}: who asks, how long, where answers go. */
export interface NeighborRequestOptions {
  /** our link-layer address, the request's source */
  srcMac: AddressInput;
  /** our IP address (same family as the target), the request's sender / source */
  srcIp: AddressInput;
  /** how long each try waits for the answer, ms of the device's clock (default 1000) */
  timeoutMs?: number | undefined;
  /** how many requests before giving up (default 3) */
  tries?: number | undefined;
  /** called with each request frame just before it is sent (for logging / -w) */
  onRequest?: ((frame: Uint8Array) => void) | undefined;
}

/** Options of {@link resolveNeighborOn}. */
export interface NeighborOnOptions extends NeighborRequestOptions {
  /** where answers are kept, keyed by the device's name; default none (null) */
  cache?: NeighborCache | null | undefined;
  /** the device's network namespace, as part of the cache key */
  netns?: string | undefined;
}

/** Options for {@link resolveNeighbor}. */
export interface NeighborOptions extends NeighborRequestOptions {
  /** interface to ask on */
  iface: string;
  /** network namespace of the interface (`ip netns` name) */
  netns?: string | undefined;
  /** where answers are kept; null for none (default {@link defaultNeighborCache}) */
  cache?: NeighborCache | null | undefined;
  /**
   * An open handle on `iface` to use instead of opening one. Its filter must let
   * the replies through (see {@link neighborFilter}).
   */
  capture?: LiveCapture | undefined;
}

/** The solicited-node multicast group of an IPv6 address, as bytes (RFC 4291 §2.7.1: prefix + its low 24 bits). */
function solicitedNode(target: Uint8Array): Uint8Array {
  const a = SOLICITED_NODE_PREFIX.slice();
  a.set(target.subarray(13, 16), 13);
  return a;
}

/** The Ethernet address of an IPv6 multicast group: 33:33 + its low 32 bits (RFC 2464 §7). */
function multicastMac(group: Uint8Array): Uint8Array {
  return Uint8Array.of(0x33, 0x33, group[12]!, group[13]!, group[14]!, group[15]!);
}

/**
 * The solicited-node multicast address of an IPv6 address (RFC 4291 §2.7.1).
 *
 * @example
 * ```ts
 * solicitedNodeAddress("fd77::1:2:abcd:ef01"); // "ff02::1:ffcd:ef01"
 * ```
 */
export function solicitedNodeAddress(target: AddressInput): string {
  return formatIpv6(solicitedNode(ipv6Bytes(target)));
}

/**
 * The Ethernet address an IPv6 multicast address maps to: 33:33 + its low 32 bits (RFC 2464 §7).
 *
 * @example
 * ```ts
 * ipv6MulticastMac("ff02::1:ffcd:ef01"); // "33:33:ff:cd:ef:01"
 * ```
 */
export function ipv6MulticastMac(group: AddressInput): string {
  return formatMac(multicastMac(ipv6Bytes(group)));
}

/**
 * The request that asks for `target`'s link-layer address: an ARP request or an NDP solicitation.
 *
 * @example
 * ```ts
 * buildNeighborRequest("10.0.0.2", "02:00:00:00:00:01", "10.0.0.1").length; // 42
 * ```
 */
export function buildNeighborRequest(target: AddressInput, srcMac: AddressInput, srcIp: AddressInput): Uint8Array {
  return encodePacket(neighborRequestLayers(target, srcMac, srcIp));
}

/**
 * The layers of {@link buildNeighborRequest}, outermost first.
 *
 * @example
 * ```ts
 * neighborRequestLayers("fd77::2", "02:00:00:00:00:01", "fd77::1").map((l) => l.layer); // ["ethernet", "ipv6", "icmpv6"]
 * ```
 */
export function neighborRequestLayers(target: AddressInput, srcMac: AddressInput, srcIp: AddressInput): AnyInput[] {
  const t = ipBytes(target);
  const mac = macBytes(srcMac);
  if (t.length === 4) {
    return [
      { layer: "ethernet", src: mac, dst: BROADCAST },
      { layer: "arp", op: ARP_OP_REQUEST, senderMac: mac, senderIp: ipBytes(srcIp), targetMac: UNKNOWN_MAC, targetIp: t },
    ];
  }
  const group = solicitedNode(t);
  // The IPv6 and ICMPv6 build inputs take text until they take bytes too.
  return [
    { layer: "ethernet", src: mac, dst: multicastMac(group) },
    // RFC 4861 §7.1.1: a receiver drops neighbor discovery with a hop limit other than 255.
    { layer: "ipv6", src: formatIp(ipBytes(srcIp)), dst: formatIpv6(group), hopLimit: 255 },
    {
      layer: "icmpv6",
      type: ND_NEIGHBOR_SOLICITATION,
      code: 0,
      targetAddress: formatIpv6(t),
      // RFC 4861 §7.2.2: include our link-layer address so the answer can be unicast.
      options: [{ kind: "sourceLinkLayerAddress", address: formatMac(mac) }],
    },
  ];
}

/**
 * A BPF filter that keeps only the answers: ARP replies whose sender is the
 * target, or neighbor advertisements (ICMPv6 type 136, read at the first byte
 * after a 40-byte IPv6 header: the kernel sends them without extension headers).
 *
 * @example
 * ```ts
 * neighborFilter("10.0.0.2"); // "arp and arp[6:2] = 2 and arp src host 10.0.0.2"
 * ```
 */
export function neighborFilter(target: AddressInput): string {
  const t = ipBytes(target);
  if (t.length === 4) return `arp and arp[6:2] = ${ARP_OP_REPLY} and arp src host ${formatIp(t)}`;
  return `icmp6 and ip6[40] = ${ND_NEIGHBOR_ADVERTISEMENT}`;
}

/**
 * The MAC in `frame` if it answers a request for `target`, else null.
 *
 * @example
 * ```ts
 * matchNeighborReply(frame, 1, "10.0.0.2"); // "02:00:00:00:00:02" for b's ARP reply
 * ```
 */
export function matchNeighborReply(frame: Uint8Array, linkType: number, target: AddressInput): string | null {
  return replyMatcher(ipBytes(target))(frame, linkType);
}

/**
 * A matcher for answers about `target`. The decoded values carry addresses as
 * text in one canonical form (dotted quad, RFC 5952), so the target is
 * formatted once and compared as text, with no parse per frame.
 */
function replyMatcher(target: Uint8Array): (frame: Uint8Array, linkType: number) => string | null {
  const v6 = target.length === 16;
  const want = formatIp(target);
  return (frame, linkType) => {
    const { layers } = decodePacket(frame, linkType);
    let etherSrc: string | null = null;
    for (const l of layers) {
      if (l.layer === "ethernet") etherSrc = l.src;
      if (!v6 && l.layer === "arp" && l.op === ARP_OP_REPLY && l.senderIp === want) return l.senderMac;
      if (v6 && l.layer === "icmpv6" && l.type === ND_NEIGHBOR_ADVERTISEMENT && l.targetAddress === want) {
        // RFC 4861 §7.2.4: the answer to a multicast solicitation carries the target link-layer address option.
        for (const o of l.options ?? []) if (o.kind === "targetLinkLayerAddress") return o.address;
        return etherSrc;
      }
    }
    return null;
  };
}

/** Ask up to `tries` times on `device`; the answer's MAC, or null. */
async function ask(device: Device, target: Uint8Array, request: Uint8Array, options: NeighborRequestOptions): Promise<string | null> {
  const tries = options.tries ?? 3;
  const timeoutMs = options.timeoutMs ?? 1000;
  const match = replyMatcher(target);
  for (let i = 0; i < tries; i++) {
    // Wait first, then send: the wait is subscribed before the request leaves.
    const stop = new AbortController();
    const answer = waitForFrame(device, (f, linkType) => match(f, linkType) !== null, timeoutMs, stop.signal);
    try {
      options.onRequest?.(request);
      device.send(request);
    } catch (err) {
      stop.abort();
      throw err;
    }
    const frame = await answer;
    if (frame !== null) return match(frame.data, frame.linkType);
  }
  return null;
}

function noAnswer(target: Uint8Array, iface: string, options: NeighborRequestOptions): NeighborError {
  const tries = options.tries ?? 3;
  const what = target.length === 16 ? "neighbor solicitation" : "ARP request";
  return new NeighborError(
    `No answer from ${formatIp(target)} on ${iface} to ${tries} ${what}${tries === 1 ? "" : "s"} (${options.timeoutMs ?? 1000} ms each)`,
  );
}

/**
 * The link-layer address of `target` (an on-link IPv4 or IPv6 address, text or
 * bytes) asked for on `device`, as MAC text. Waits on the device's clock.
 * Throws {@link NeighborError} when no answer comes, `RangeError` for an
 * address that is not one, and what the device throws when it cannot send.
 *
 * @example
 * ```ts
 * import { memoryPair } from "../device/memory.ts";
 * const [a, b] = memoryPair();
 * // ... a responder on b answers ARP for 10.0.0.2 ...
 * const mac = resolveNeighborOn(a, "10.0.0.2", { srcMac: "02:00:00:00:00:01", srcIp: "10.0.0.1" });
 * await a.clock.runUntilIdle(10_000);
 * await mac; // "02:00:00:00:00:02"
 * ```
 */
export async function resolveNeighborOn(device: Device, target: AddressInput, options: NeighborOnOptions): Promise<string> {
  const t = ipBytes(target);
  const cache = options.cache ?? null;
  const hit = cache?.get(device.name, t, options.netns, device.clock.now());
  if (hit !== undefined) return hit;
  const mac = await ask(device, t, buildNeighborRequest(t, options.srcMac, options.srcIp), options);
  if (mac === null) throw noAnswer(t, device.name, options);
  cache?.set(device.name, t, mac, options.netns, device.clock.now());
  return mac;
}

/**
 * The link-layer address of `target` (an on-link IPv4 or IPv6 address, text or
 * bytes) on interface `options.iface`, as MAC text: a live device is opened
 * for the question (or `options.capture` used) and closed after. Throws
 * {@link NeighborError} when no answer comes.
 *
 * @example
 * ```ts
 * const mac = await resolveNeighbor("10.77.0.2", { iface: "laba0", netns: "laba", srcMac: "02:77:00:00:00:01", srcIp: "10.77.0.1" });
 * ```
 */
export async function resolveNeighbor(target: AddressInput, options: NeighborOptions): Promise<string> {
  const t = ipBytes(target);
  const cache = options.cache === undefined ? defaultNeighborCache : options.cache;
  const hit = cache?.get(options.iface, t, options.netns);
  if (hit !== undefined) return hit;
  // Built before anything is opened: bad addresses fail here.
  const request = buildNeighborRequest(t, options.srcMac, options.srcIp);
  const device =
    options.capture !== undefined
      ? new LiveDevice(options.capture)
      : new LiveDevice(options.iface, { netns: options.netns, filter: neighborFilter(t) });
  try {
    const mac = await ask(device, t, request, options);
    if (mac === null) throw noAnswer(t, options.iface, options);
    cache?.set(options.iface, t, mac, options.netns);
    return mac;
  } finally {
    device.close();
  }
}
