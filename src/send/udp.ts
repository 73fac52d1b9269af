/**
 * UDP datagrams crafted by the stack and put on the wire as whole Ethernet
 * frames: Ethernet + IPv4 (or IPv6 when the destination is IPv6) + UDP, every
 * length and checksum filled in by the layers. The source MAC and address come
 * from the interface, the destination MAC from our own resolver (ARP / NDP),
 * asking for the gateway when the routing table says the destination is
 * off-link.
 *
 * @example
 * ```ts
 * import { sendUdp } from "./udp.ts";
 * const sent = await sendUdp({
 *   iface: "laba0", netns: "laba", dst: "10.77.0.2", dstPort: 9999,
 *   payload: new TextEncoder().encode("hello"),
 * });
 * sent.frames.length; // 1
 * ```
 *
 * @module
 */
import { parseIp, parseMac, formatIpv4, formatIpv6, formatMac } from "../../layers/addr.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput } from "../../layers/mod.ts";
import { findDevice, type Device } from "../devices.ts";
import { openInjector, openLive, type LiveCapture } from "../live.ts";
import { NeighborCache, defaultNeighborCache, neighborFilter, resolveNeighbor } from "./neighbor.ts";
import { lookupRoute, pickSource, type InterfaceAddress, type Route } from "./route.ts";

/** Bad input to a sender (unknown interface, bad address, payload over the MTU, ...). */
export class SendError extends Error {
  override name = "SendError";
  /** what the error is about: an option name or an interface */
  readonly what: string;
  /** whether the caller's input was wrong (a usage error) rather than the system */
  readonly usage: boolean;
  constructor(what: string, message: string, usage = what.startsWith("--")) {
    super(message);
    this.what = what;
    this.usage = usage;
  }
}

/** What {@link buildUdpFrame} needs: everything already resolved. */
export interface UdpFrameSpec {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /** IPv4 TTL or IPv6 hop limit (default 64) */
  ttl?: number | undefined;
}

/** Ethernet + IP + UDP + payload as build inputs, outermost first. */
export function udpFrameLayers(spec: UdpFrameSpec): AnyInput[] {
  const v6 = spec.dst.includes(":");
  const ttl = spec.ttl ?? 64;
  return [
    { layer: "ethernet", src: spec.srcMac, dst: spec.dstMac },
    v6 ? { layer: "ipv6", src: spec.src, dst: spec.dst, hopLimit: ttl } : { layer: "ipv4", src: spec.src, dst: spec.dst, ttl },
    { layer: "udp", srcPort: spec.srcPort, dstPort: spec.dstPort },
    { layer: "payload", data: spec.payload },
  ];
}

/** The frame of one UDP datagram, lengths and checksums filled in. */
export function buildUdpFrame(spec: UdpFrameSpec): Uint8Array {
  return encodePacket(udpFrameLayers(spec));
}

/** Options for {@link sendUdp}. */
export interface UdpSendOptions {
  iface: string;
  /** network namespace the interface lives in (`ip netns` name) */
  netns?: string | undefined;
  /** destination address (IPv4 or IPv6 text) */
  dst: string;
  dstPort: number;
  /** source address; default: the interface's address on the route (IPv6: global, else link-local) */
  src?: string | undefined;
  /** source port; default: a random port in 49152..65535 (RFC 6335 dynamic range) */
  srcPort?: number | undefined;
  payload?: Uint8Array | undefined;
  /** how many datagrams (default 1) */
  count?: number | undefined;
  /** pause between datagrams in ms (default 1000, like ping) */
  intervalMs?: number | undefined;
  ttl?: number | undefined;
  /** skip resolution and send to this MAC */
  dstMac?: string | undefined;
  /** resolver: ms per try (default 1000), tries (default 3), cache */
  resolveTimeoutMs?: number | undefined;
  resolveTries?: number | undefined;
  cache?: NeighborCache | null | undefined;
  /** build everything (resolution included) but inject nothing */
  dryRun?: boolean | undefined;
  /** called with every frame put on the wire (resolver requests too), e.g. to write a file */
  onSent?: ((frame: SentFrame) => void) | undefined;
}

/** A frame put on the wire, with the time it went. */
export interface SentFrame {
  data: Uint8Array;
  sec: number;
  nsec: number;
}

/** What {@link sendUdp} did. */
export interface UdpSendResult {
  /** the datagram frames, in the order sent (built but not sent on a dry run) */
  frames: Uint8Array[];
  spec: UdpFrameSpec;
  /** the route used, or null when --dst-mac skipped it */
  route: Route | null;
  /** the address whose MAC was resolved (the destination or its gateway), or null */
  resolved: string | null;
}

/** Find `iface` among the devices (of `netns`), or throw a {@link SendError}. */
export function requireDevice(iface: string, netns?: string): Device {
  const device = findDevice(iface, netns === undefined ? {} : { netns });
  if (device === undefined) {
    throw new SendError(iface, `No such interface${netns === undefined ? "" : ` in namespace ${netns}`} (see 'stackts devices')`);
  }
  return device;
}

/** Whether text is an address of the given family (4 or 16 bytes). */
export function checkAddress(what: string, text: string): Uint8Array {
  try {
    return parseIp(text);
  } catch (err) {
    throw new SendError(what, `Not an IPv4 or IPv6 address: '${text}'`);
  }
}

/** Canonical text of an address. */
function canonical(b: Uint8Array): string {
  return b.length === 4 ? formatIpv4(b) : formatIpv6(b);
}

/** Time now as seconds and nanoseconds. */
export function wallClock(): { sec: number; nsec: number } {
  // timeOrigin + now() gives the wall clock with sub-millisecond digits (Date.now() has none).
  const ms = performance.timeOrigin + performance.now();
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)) };
}

/** How the interface's addresses look to the route module. */
export function addressesOf(device: Device): InterfaceAddress[] {
  return device.addresses.map((a) => ({ address: a.address, prefixLength: a.netmask === null ? undefined : maskLength(a.netmask) }));
}

/** Prefix length of a netmask in text ("255.255.255.0" → 24, "ffff:ffff:ffff:ffff::" → 64). */
function maskLength(mask: string): number | undefined {
  let bytes: Uint8Array;
  try {
    bytes = parseIp(mask);
  } catch {
    return undefined;
  }
  let n = 0;
  for (const b of bytes) for (let bit = 7; bit >= 0; bit--) if (b & (1 << bit)) n++;
  return n;
}

/** Everything about a datagram but the next hop's MAC. */
export interface UdpPlan {
  device: Device;
  srcMac: string;
  src: string;
  dst: string;
  srcPort: number;
  payload: Uint8Array;
  /** the route used, or null when a destination MAC was given */
  route: Route | null;
  /** the address whose MAC is needed (the destination, or its gateway), or null when given */
  nextHop: string | null;
  /** our address on the next hop's subnet (the resolver's sender address) */
  nextHopSrc: string;
  /** the given destination MAC, canonical, or null */
  dstMac: string | null;
}

/**
 * Check the options and work out everything a datagram needs but the next hop's
 * MAC: the interface, source address and port, route and next hop. Sends nothing.
 * With `linkLayer` false (the kernel sends, `--l3`) no route or MAC is needed.
 */
export function planUdp(options: UdpSendOptions, linkLayer = true): UdpPlan {
  const device = requireDevice(options.iface, options.netns);
  const srcMac = device.mac ?? (linkLayer ? null : UNRESOLVED_MAC);
  if (srcMac === null) throw new SendError(options.iface, "Interface has no Ethernet address (use --l3)");
  const dstBytes = checkAddress("--dst", options.dst);
  const dst = canonical(dstBytes);
  const family = dstBytes.length === 4 ? "IPv4" : "IPv6";
  const addresses = addressesOf(device);
  let src: string | null = null;
  if (options.src !== undefined) {
    const s = checkAddress("--src", options.src);
    if (s.length !== dstBytes.length) throw new SendError("--src", `${options.src} is not ${family} like --dst ${options.dst}`);
    src = canonical(s);
  }
  const payload = options.payload ?? new Uint8Array(0);
  const ipHeader = dstBytes.length === 4 ? 20 : 40;
  const mtu = device.mtu ?? 1500;
  if (ipHeader + 8 + payload.length > mtu) {
    throw new SendError("payload", `${payload.length} bytes make a ${ipHeader + 8 + payload.length}-byte IP datagram, over the MTU of ${options.iface} (${mtu})`);
  }
  if (options.ttl !== undefined && (!Number.isInteger(options.ttl) || options.ttl < 0 || options.ttl > 255)) {
    throw new SendError("--ttl", `${options.ttl} is out of range (0..255)`);
  }
  if (!Number.isInteger(options.dstPort) || options.dstPort < 0 || options.dstPort > 65535) {
    throw new SendError("--dport", `${options.dstPort} is out of range (0..65535)`);
  }
  // RFC 6335 §6: ephemeral ports come from the dynamic range 49152..65535.
  const srcPort = options.srcPort ?? 49152 + Math.floor(Math.random() * 16384);
  let route: Route | null = null;
  let nextHop: string | null = null;
  let dstMac: string | null = null;
  if (!linkLayer) {
    // The kernel routes and resolves (--l3): nothing to look up here.
  } else if (options.dstMac !== undefined) {
    try {
      dstMac = formatMac(parseMac(options.dstMac));
    } catch {
      throw new SendError("--dst-mac", `Not a MAC address: '${options.dstMac}'`);
    }
  } else {
    route = lookupRoute(dst, { netns: options.netns, iface: options.iface, addresses });
    nextHop = route.gateway ?? dst;
  }
  const nextHopSrc = src ?? pickSource(addresses, nextHop === null ? dstBytes : checkAddress("gateway", nextHop));
  if (nextHopSrc === null) throw new SendError(options.iface, `Interface has no ${family} address to send from (give --src)`);
  return { device, srcMac, src: src ?? nextHopSrc, dst, srcPort, payload, route, nextHop, nextHopSrc, dstMac };
}

/** The frame spec of a plan once the next hop's MAC is known. */
export function specOf(plan: UdpPlan, dstMac: string, options: Pick<UdpSendOptions, "dstPort" | "ttl">): UdpFrameSpec {
  return {
    srcMac: plan.srcMac,
    dstMac,
    src: plan.src,
    dst: plan.dst,
    srcPort: plan.srcPort,
    dstPort: options.dstPort,
    payload: plan.payload,
    ttl: options.ttl,
  };
}

/** What frames go out through: a live capture or a bare injector. */
export interface FrameSender {
  inject(frame: Uint8Array): void;
  close(): void;
}

/** MAC shown for an unresolved next hop on a dry run (nothing may go on the wire, ARP included). */
export const UNRESOLVED_MAC = "00:00:00:00:00:00";

/**
 * Open a handle on the plan's interface that lets the next hop's answers through
 * and resolve its MAC; with the MAC given, just an injector, unless `listen` (a
 * BPF filter for frames the caller wants to receive on the same handle) asks for
 * a capture. The caller closes what it gets.
 */
export async function openAndResolve(
  plan: UdpPlan,
  options: Pick<UdpSendOptions, "iface" | "netns" | "resolveTimeoutMs" | "resolveTries" | "cache" | "onSent">,
  listen?: string,
): Promise<{ sender: FrameSender; capture: LiveCapture | null; dstMac: string }> {
  const ns = options.netns === undefined ? {} : { netns: options.netns };
  if (plan.dstMac !== null && listen === undefined) return { sender: openInjector(options.iface, ns), capture: null, dstMac: plan.dstMac };
  const target = plan.nextHop ?? plan.dst;
  const parts = [...(plan.dstMac === null ? [neighborFilter(target)] : []), ...(listen === undefined ? [] : [listen])];
  const capture = openLive(options.iface, { filter: parts.map((p) => `(${p})`).join(" or "), ...ns });
  try {
    const dstMac =
      plan.dstMac ??
      (await resolveNeighbor(target, {
        iface: options.iface,
        netns: options.netns,
        srcMac: plan.srcMac,
        srcIp: plan.nextHopSrc,
        timeoutMs: options.resolveTimeoutMs,
        tries: options.resolveTries,
        cache: options.cache,
        capture,
        onRequest: (data) => options.onSent?.({ data, ...wallClock() }),
      }));
    return { sender: capture, capture, dstMac };
  } catch (err) {
    capture.close();
    throw err;
  }
}

/**
 * Send `count` UDP datagrams as Ethernet frames on `iface`, `intervalMs` apart.
 * Resolves to what was sent. Throws {@link SendError} on bad input,
 * `NeighborError` when the next hop does not answer, and the capture module's
 * errors when the interface cannot be opened. A dry run sends nothing at all (no
 * ARP either): the destination MAC is then the given or cached one, else
 * {@link UNRESOLVED_MAC}.
 */
export async function sendUdp(options: UdpSendOptions): Promise<UdpSendResult> {
  const count = options.count ?? 1;
  const plan = planUdp(options);
  if (options.dryRun === true) {
    const cached = plan.nextHop === null ? undefined : (options.cache === undefined ? defaultNeighborCache : options.cache)?.get(options.iface, plan.nextHop, options.netns);
    const spec = specOf(plan, plan.dstMac ?? cached ?? UNRESOLVED_MAC, options);
    return { frames: [buildUdpFrame(spec)], spec, route: plan.route, resolved: null };
  }
  const { sender, dstMac } = await openAndResolve(plan, options);
  const spec = specOf(plan, dstMac, options);
  const frame = buildUdpFrame(spec);
  const frames: Uint8Array[] = [];
  try {
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
      sender.inject(frame);
      frames.push(frame);
      options.onSent?.({ data: frame, ...wallClock() });
    }
  } finally {
    sender.close();
  }
  return { frames, spec, route: plan.route, resolved: plan.nextHop };
}
