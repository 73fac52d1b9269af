/**
 * UDP datagrams crafted by the stack and put on the wire as whole Ethernet
 * frames: Ethernet + IPv4 (or IPv6 when the destination is IPv6) + UDP, every
 * length and checksum filled in by the layers. The source MAC and address come
 * from the interface, the destination MAC from our own resolver (ARP / NDP),
 * asking for the gateway when the routing table says the destination is
 * off-link.
 *
 * On loopback (Linux's `lo`: Ethernet, all-zero MACs) nothing is resolved: the
 * destination must be this host's (the `local` table), the frame goes to lo's
 * own MAC; IPv4 goes through a raw IP socket on lo (injected, it is a martian).
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
import { formatIp, formatMac, ipBytes, macBytes, parseIp, parseMac, type AddressInput } from "../../layers/addr.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput } from "../../layers/mod.ts";
import { clockStamp, systemClock } from "../device/clock.ts";
import type { Device as LinkDevice } from "../device/device.ts";
import { LiveDevice } from "../device/live_device.ts";
import { findDevice, type Device } from "../devices.ts";
import { openInjector } from "../injector.ts";
import type { LiveCapture } from "../live.ts";
import { NeighborCache, defaultNeighborCache, neighborFilter, resolveNeighborOn } from "./neighbor.ts";
import { KernelPathDevice, kernelPathSender, openRawIpSocket, RawIpError, type RawIpSocket } from "./raw_ip.ts";
import { findRoute, maskPrefixLength, pickSourceAddress, routeText, type InterfaceAddress, type Route } from "./route.ts";

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

/** What {@link buildUdpFrame} needs: everything already resolved, addresses as text or bytes. */
export interface UdpFrameInput {
  srcMac: AddressInput;
  dstMac: AddressInput;
  src: AddressInput;
  dst: AddressInput;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /** IPv4 TTL or IPv6 hop limit (default 64) */
  ttl?: number | undefined;
}

/** A datagram's frame as {@link sendUdp} reports it: {@link UdpFrameInput} with addresses as text. */
export interface UdpFrameSpec extends UdpFrameInput {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
}

/**
 * Ethernet + IP + UDP + payload as build inputs, outermost first; IPv6 when
 * the destination is an IPv6 address.
 *
 * @example
 * ```ts
 * udpFrameLayers({ srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02", src: "fd00::1", dst: "fd00::2", srcPort: 1, dstPort: 2, payload: new Uint8Array(0) })
 *   .map((l) => l.layer); // ["ethernet", "ipv6", "udp", "payload"]
 * ```
 */
export function udpFrameLayers(spec: UdpFrameInput): AnyInput[] {
  const src = ipBytes(spec.src);
  const dst = ipBytes(spec.dst);
  const ttl = spec.ttl ?? 64;
  // The IP build inputs take text until they take bytes too.
  const srcText = formatIp(src);
  const dstText = formatIp(dst);
  return [
    { layer: "ethernet", src: macBytes(spec.srcMac), dst: macBytes(spec.dstMac) },
    dst.length === 16 ? { layer: "ipv6", src: srcText, dst: dstText, hopLimit: ttl } : { layer: "ipv4", src: srcText, dst: dstText, ttl },
    { layer: "udp", srcPort: spec.srcPort, dstPort: spec.dstPort },
    { layer: "payload", data: spec.payload },
  ];
}

/**
 * The frame of one UDP datagram, lengths and checksums filled in.
 *
 * @example
 * ```ts
 * buildUdpFrame({ srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02", src: "10.0.0.1", dst: "10.0.0.2", srcPort: 40000, dstPort: 9, payload: new Uint8Array(3) }).length; // 45
 * ```
 */
export function buildUdpFrame(spec: UdpFrameInput): Uint8Array {
  return encodePacket(udpFrameLayers(spec));
}

/** Options for {@link sendUdp}. */
export interface UdpSendOptions {
  iface: string;
  /** network namespace the interface lives in (`ip netns` name) */
  netns?: string | undefined;
  /** destination address (IPv4 or IPv6, text or bytes) */
  dst: AddressInput;
  dstPort: number;
  /** source address; default: the interface's address on the route (IPv6: global, else link-local) */
  src?: AddressInput | undefined;
  /** source port; default: a random port in 49152..65535 (RFC 6335 dynamic range) */
  srcPort?: number | undefined;
  payload?: Uint8Array | undefined;
  /** how many datagrams (default 1) */
  count?: number | undefined;
  /** pause between datagrams in ms (default 1000, like ping) */
  intervalMs?: number | undefined;
  ttl?: number | undefined;
  /** skip resolution and send to this MAC (text or 6 bytes) */
  dstMac?: AddressInput | undefined;
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
  unresolved?: boolean; // a dry run did not know the next hop's MAC (the frame shows zeros)
}

/** Find `iface` among the devices (of `netns`), or throw a {@link SendError}. */
export function requireDevice(iface: string, netns?: string): Device {
  const device = findDevice(iface, netns === undefined ? {} : { netns });
  if (device === undefined) {
    throw new SendError(iface, `No such interface${netns === undefined ? "" : ` in namespace ${netns}`} (see 'stackts devices')`);
  }
  return device;
}

/**
 * The bytes of an IPv4 or IPv6 address given as text or bytes, or a
 * {@link SendError} about option `what`.
 *
 * @example
 * ```ts
 * checkAddress("--dst", "10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * checkAddress("--dst", "10.0.0.256"); // throws SendError "Not an IPv4 or IPv6 address: '10.0.0.256'"
 * ```
 */
export function checkAddress(what: string, address: AddressInput): Uint8Array {
  let bytes: Uint8Array | null = null;
  try {
    bytes = ipBytes(address);
  } catch {
    // reported below
  }
  if (bytes === null || (bytes.length !== 4 && bytes.length !== 16)) {
    throw new SendError(what, `Not an IPv4 or IPv6 address: '${textOf(address)}'`);
  }
  return bytes;
}

/** Time now as seconds and nanoseconds (the system clock's time as a stamp). */
export function wallClock(): { sec: number; nsec: number } {
  // timeOrigin + now() gives the wall clock with sub-millisecond digits (Date.now() has none).
  return clockStamp(systemClock.now());
}

/** How the interface's addresses look to the route module. */
export function addressesOf(device: Device): InterfaceAddress[] {
  return device.addresses.map((a) => ({ address: a.address, prefixLength: a.netmask === null ? undefined : maskLength(a.netmask) }));
}

/** Prefix length of a netmask in text ("255.255.255.0" → 24, "ffff:ffff:ffff:ffff::" → 64); undefined when it is none. */
function maskLength(mask: string): number | undefined {
  try {
    return maskPrefixLength(parseIp(mask)) ?? undefined;
  } catch {
    return undefined;
  }
}

/** A plan's addresses as bytes, parsed once: what the frames are built from and the resolver asks about. */
export interface UdpPlanAddresses {
  srcMac: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
  /** the address whose MAC is needed, or null when a destination MAC was given (or none is needed) */
  nextHop: Uint8Array | null;
  /** our address on the next hop's subnet */
  nextHopSrc: Uint8Array;
  /** the given destination MAC, or null */
  dstMac: Uint8Array | null;
}

/** Everything about a datagram but the next hop's MAC (addresses as text, and as bytes in `bytes`). */
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
  /** the same addresses as bytes */
  bytes: UdpPlanAddresses;
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
  const dst = checkAddress("--dst", options.dst);
  const family = dst.length === 4 ? "IPv4" : "IPv6";
  const addresses = addressesOf(device);
  let src: Uint8Array | null = null;
  if (options.src !== undefined) {
    src = checkAddress("--src", options.src);
    if (src.length !== dst.length) throw new SendError("--src", `${textOf(options.src)} is not ${family} like --dst ${textOf(options.dst)}`);
  }
  const payload = options.payload ?? new Uint8Array(0);
  const ipHeader = dst.length === 4 ? 20 : 40;
  const mtu = device.mtu ?? 1500;
  if (ipHeader + 8 + payload.length > mtu) {
    throw new SendError("payload", `${payload.length} bytes make a ${ipHeader + 8 + payload.length}-byte IP datagram, over the MTU of ${options.iface} (${mtu})`);
  }
  // lo's MTU (65536) is over what the 16-bit length fields hold (RFC 791 total length, RFC 768 length).
  const lengthField = (dst.length === 4 ? ipHeader : 0) + 8 + payload.length;
  if (lengthField > 65535) throw new SendError("payload", `${payload.length} bytes do not fit one UDP datagram (length field ${lengthField} > 65535)`);
  if (options.ttl !== undefined && (!Number.isInteger(options.ttl) || options.ttl < 0 || options.ttl > 255)) {
    throw new SendError("--ttl", `${options.ttl} is out of range (0..255)`);
  }
  if (!Number.isInteger(options.dstPort) || options.dstPort < 0 || options.dstPort > 65535) {
    throw new SendError("--dport", `${options.dstPort} is out of range (0..65535)`);
  }
  // RFC 6335 §6: ephemeral ports come from the dynamic range 49152..65535.
  const srcPort = options.srcPort ?? 49152 + Math.floor(Math.random() * 16384);
  let route: Route | null = null;
  let nextHop: Uint8Array | null = null;
  let dstMac: Uint8Array | null = null;
  if (!linkLayer) {
    // The kernel routes and resolves (--l3): nothing to look up here.
  } else if (options.dstMac !== undefined) {
    try {
      dstMac = macBytes(options.dstMac);
    } catch {
      throw new SendError("--dst-mac", `Not a MAC address: '${textOf(options.dstMac)}'`);
    }
  } else if (device.flags.loopback) {
    // Nothing to resolve on loopback: the frame goes to the interface's own MAC
    // (zeros on Linux), to one of this host's addresses.
    route = routeText(findRoute(dst, { netns: options.netns, iface: options.iface, addresses, loopback: true }));
    dstMac = parseMac(device.mac ?? UNRESOLVED_MAC);
  } else {
    const match = findRoute(dst, { netns: options.netns, iface: options.iface, addresses });
    route = routeText(match);
    nextHop = match.nextHop;
  }
  const nextHopSrc = src ?? pickSourceAddress(addresses, nextHop ?? dst);
  if (nextHopSrc === null) throw new SendError(options.iface, `Interface has no ${family} address to send from (give --src)`);
  const bytes: UdpPlanAddresses = { srcMac: parseMac(srcMac), src: src ?? nextHopSrc, dst, nextHop, nextHopSrc, dstMac };
  return {
    device,
    srcMac,
    src: formatIp(bytes.src),
    dst: formatIp(dst),
    srcPort,
    payload,
    route,
    nextHop: nextHop === null ? null : formatIp(nextHop),
    nextHopSrc: formatIp(nextHopSrc),
    dstMac: dstMac === null ? null : formatMac(dstMac),
    bytes,
  };
}

/** An address as the caller gave it, for a message: the text, or the bytes' address text. */
function textOf(a: AddressInput): string {
  if (typeof a === "string") return a;
  if (a.length === 6) return formatMac(a);
  return a.length === 4 || a.length === 16 ? formatIp(a) : `${a.length} bytes`;
}

/** The frame spec of a plan once the next hop's MAC is known (its text form, for results). */
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

/**
 * The datagram's frame once the next hop's MAC is known, built from the
 * plan's bytes.
 *
 * @example
 * ```ts
 * const frame = planFrame(planUdp(options), Uint8Array.of(2, 0, 0, 0, 0, 2), options);
 * ```
 */
export function planFrame(plan: UdpPlan, dstMac: Uint8Array, options: Pick<UdpSendOptions, "dstPort" | "ttl">): Uint8Array {
  const b = plan.bytes;
  return buildUdpFrame({ srcMac: b.srcMac, dstMac, src: b.src, dst: b.dst, srcPort: plan.srcPort, dstPort: options.dstPort, payload: plan.payload, ttl: options.ttl });
}

/** What frames go out through: a live capture or a bare injector. */
export interface FrameSender {
  inject(frame: Uint8Array): void;
  /** wait until every frame injected so far is out (senders that queue) */
  flush?(): Promise<void>;
  close(): void;
}

/** Whether the plan's frames take the kernel's output path: IPv4 on loopback (raw_ip.ts says why). */
export function throughKernel(plan: UdpPlan): boolean {
  return plan.device.flags.loopback && plan.bytes.dst.length === 4;
}

/** A raw IP socket for {@link throughKernel} plans (one lives in this process's namespace), or a SendError. */
function openKernelPath(plan: UdpPlan, options: Pick<UdpSendOptions, "iface" | "netns">): RawIpSocket {
  const ns = options.netns;
  if (ns !== undefined) throw new SendError(options.iface, `IPv4 over loopback in namespace ${ns} goes through a raw socket, which cannot enter it: run inside it (ip netns exec ${ns} ...)`, false);
  try {
    return openRawIpSocket({ iface: plan.device.name, version: 4 });
  } catch (err) {
    if (err instanceof RawIpError) throw new SendError(options.iface, err.message, false);
    throw err;
  }
}

/** The device {@link openPlanDevice} gives: frames in and out, and the capture handle they arrive on. */
export type PlanDevice = LinkDevice & { readonly capture: LiveCapture };

/** MAC shown for an unresolved next hop on a dry run (nothing may go on the wire, ARP included). */
export const UNRESOLVED_MAC = "00:00:00:00:00:00";

/**
 * A live device on the plan's interface whose filter lets through the next
 * hop's ARP/NDP answers (when its MAC is still to be found) and `listen` (a
 * BPF filter for frames the caller wants to receive). The caller closes it.
 *
 * @example
 * ```ts
 * const device = openPlanDevice(plan, { iface: "laba0", netns: "laba" }, "udp port 53");
 * ```
 */
export function openPlanDevice(plan: UdpPlan, options: Pick<UdpSendOptions, "iface" | "netns">, listen?: string): PlanDevice {
  const b = plan.bytes;
  const parts = [...(b.dstMac === null ? [neighborFilter(b.nextHop ?? b.dst)] : []), ...(listen === undefined ? [] : [listen])];
  const socket = throughKernel(plan) ? openKernelPath(plan, options) : null;
  let live: LiveDevice;
  try {
    live = new LiveDevice(options.iface, {
      netns: options.netns,
      filter: parts.length === 0 ? undefined : parts.map((p) => `(${p})`).join(" or "),
      mtu: plan.device.mtu ?? undefined,
    });
  } catch (err) {
    socket?.close();
    throw err;
  }
  return socket === null ? live : new KernelPathDevice(live, socket);
}

/**
 * The MAC the plan's datagrams go to: the given one, else the next hop's,
 * asked for with ARP/NDP on `device` (the resolver's requests go to `onSent`).
 *
 * @example
 * ```ts
 * const mac = await resolvePlan(device, plan, { cache: null }); // "02:77:00:00:00:02"
 * ```
 */
export async function resolvePlan(
  device: LinkDevice,
  plan: UdpPlan,
  options: Pick<UdpSendOptions, "netns" | "resolveTimeoutMs" | "resolveTries" | "cache" | "onSent">,
): Promise<string> {
  const b = plan.bytes;
  if (plan.dstMac !== null) return plan.dstMac;
  return resolveNeighborOn(device, b.nextHop ?? b.dst, {
    srcMac: b.srcMac,
    srcIp: b.nextHopSrc,
    timeoutMs: options.resolveTimeoutMs,
    tries: options.resolveTries,
    cache: options.cache === undefined ? defaultNeighborCache : options.cache,
    netns: options.netns,
    onRequest: (data) => options.onSent?.({ data, ...clockStamp(device.clock.now()) }),
  });
}

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
  if (plan.dstMac !== null && listen === undefined && throughKernel(plan)) {
    return { sender: kernelPathSender(openKernelPath(plan, options)), capture: null, dstMac: plan.dstMac };
  }
  if (plan.dstMac !== null && listen === undefined) {
    return { sender: openInjector(options.iface, options.netns === undefined ? {} : { netns: options.netns }), capture: null, dstMac: plan.dstMac };
  }
  const device = openPlanDevice(plan, options, listen);
  try {
    const dstMac = await resolvePlan(device, plan, options);
    return { sender: { inject: (f) => device.send(f), close: () => device.close() }, capture: device.capture, dstMac };
  } catch (err) {
    device.close();
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
    const nextHop = plan.bytes.nextHop;
    const cached = nextHop === null ? undefined : (options.cache === undefined ? defaultNeighborCache : options.cache)?.get(options.iface, nextHop, options.netns);
    const spec = specOf(plan, plan.dstMac ?? cached ?? UNRESOLVED_MAC, options);
    const unresolved = plan.dstMac === null && cached === undefined;
    return { frames: [planFrame(plan, macBytes(spec.dstMac), options)], spec, route: plan.route, resolved: null, unresolved };
  }
  const { sender, dstMac } = await openAndResolve(plan, options);
  const spec = specOf(plan, dstMac, options);
  const frame = planFrame(plan, macBytes(dstMac), options);
  const frames: Uint8Array[] = [];
  try {
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
      sender.inject(frame);
      frames.push(frame);
      options.onSent?.({ data: frame, ...wallClock() });
    }
    await sender.flush?.();
  } finally {
    sender.close();
  }
  return { frames, spec, route: plan.route, resolved: plan.nextHop };
}
