/**
 * Which interface and next hop the kernel's routing table gives a destination:
 * the `main` table read from `/proc/net/route` (IPv4) and `/proc/net/ipv6_route`
 * (IPv6), longest prefix first, then the lowest metric.
 *
 * A loopback interface has no routes of its own in `main`: what it reaches is
 * the kernel's `local` table (127.0.0.0/8, ::1 and every address of this host),
 * read from `/proc/net/fib_trie` (its `host LOCAL` entries) and the RTF_LOCAL
 * lines of `/proc/net/ipv6_route`; {@link findRoute} with `loopback` routes by it.
 *
 * The tables are per network namespace. Without `netns` the current namespace's
 * files are read directly; with `netns` the same files are read by `cat` run
 * inside that namespace (`ip netns exec NAME cat ...`), so one parser and one
 * matcher serve both paths and the answer does not depend on a process already
 * living there (`/proc/<pid>/net/...` would need one).
 *
 * @example
 * ```ts
 * import { lookupRoute } from "./route.ts";
 * const r = lookupRoute("10.77.0.2", { netns: "laba" });
 * // { iface: "laba0", gateway: null, srcHint: null, prefixLength: 24, metric: 0, version: 4 }
 * ```
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { formatIp, ipBytes, parseIp, type AddressInput } from "../../layers/addr.ts";

/** One usable route from the table. */
export interface RouteEntry {
  version: 4 | 6;
  iface: string;
  /** network address, 4 or 16 bytes */
  destination: Uint8Array;
  prefixLength: number;
  /** next hop, or null for an on-link route */
  gateway: Uint8Array | null;
  metric: number;
}

/** An interface address a source can be picked from (as listDevices reports them). */
export interface InterfaceAddress {
  address: string;
  /** prefix length in bits, when known */
  prefixLength?: number | undefined;
}

/** The answer of {@link lookupRoute}. */
export interface Route {
  version: 4 | 6;
  iface: string;
  /** the next hop to resolve when the destination is off-link; null when on-link */
  gateway: string | null;
  /**
   * A source address for the datagram: the interface address on the next hop's
   * subnet (from `addresses`), or null when none was given or none fits.
   */
  srcHint: string | null;
  prefixLength: number;
  metric: number;
}

/** Options for {@link lookupRoute}. */
export interface RouteOptions {
  /** read the tables of this named network namespace (`ip netns`) */
  netns?: string | undefined;
  /** only consider routes through this interface */
  iface?: string | undefined;
  /** the chosen interface's addresses, to fill `srcHint` */
  addresses?: readonly InterfaceAddress[] | undefined;
  /**
   * the interface is a loopback one: route by the `local` table (the
   * destination must be an address of this host), not by `main`
   */
  loopback?: boolean | undefined;
}

/** A prefix of the kernel's `local` table: addresses of this host. */
export interface LocalRoute {
  version: 4 | 6;
  destination: Uint8Array;
  prefixLength: number;
}

/** A destination with no route (or a table that cannot be read). */
export class RouteError extends Error {
  override name = "RouteError";
}

// Linux route flags (include/uapi/linux/route.h, ipv6_route.h).
const RTF_UP = 0x0001;
const RTF_GATEWAY = 0x0002;
const RTF_REJECT = 0x0200;
const RTF_LOCAL = 0x80000000;

/** Bytes of an address in text, or null when it is neither IPv4 nor IPv6. */
function tryParseIp(text: string): Uint8Array | null {
  try {
    return parseIp(text);
  } catch {
    return null;
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Parse the text of `/proc/net/route`. Its addresses are 32-bit words printed in
 * host byte order, so on a little-endian host "0100000A" is 10.0.0.1.
 */
export function parseIpv4Routes(text: string, littleEndian = endianness() === "LE"): RouteEntry[] {
  const routes: RouteEntry[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dst, gw, flagsHex, , , metric, mask] = f as [string, string, string, string, string, string, string, string];
    const flags = parseInt(flagsHex, 16);
    if (!(flags & RTF_UP) || flags & RTF_REJECT) continue;
    const word = (h: string): Uint8Array => {
      const b = hexBytes(h.padStart(8, "0"));
      return littleEndian ? b.reverse() : b;
    };
    const maskBytes = word(mask);
    let prefixLength = 0;
    for (const byte of maskBytes) for (let bit = 7; bit >= 0; bit--) if (byte & (1 << bit)) prefixLength++;
    routes.push({
      version: 4,
      iface,
      destination: word(dst),
      prefixLength,
      gateway: flags & RTF_GATEWAY ? word(gw) : null,
      metric: parseInt(metric, 10),
    });
  }
  return routes;
}

/**
 * Parse the text of `/proc/net/ipv6_route`: destination, prefix length, source,
 * source prefix length, next hop, metric, refcnt, use, flags, interface. Routes
 * to our own addresses (RTF_LOCAL) and reject routes are left out: neither is a
 * way out of an interface.
 */
export function parseIpv6Routes(text: string): RouteEntry[] {
  const routes: RouteEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dst, plen, , , nextHop, metric, , , flagsHex, iface] = f as [string, string, string, string, string, string, string, string, string, string];
    const flags = parseInt(flagsHex, 16) >>> 0;
    if (!(flags & RTF_UP) || flags & RTF_REJECT || (flags & RTF_LOCAL) >>> 0) continue;
    routes.push({
      version: 6,
      iface,
      destination: hexBytes(dst),
      prefixLength: parseInt(plen, 16),
      gateway: flags & RTF_GATEWAY ? hexBytes(nextHop) : null,
      metric: parseInt(metric, 16) >>> 0,
    });
  }
  return routes;
}

/**
 * The `host LOCAL` prefixes of `/proc/net/fib_trie`: each leaf line
 * `|-- ADDRESS` is followed by one line per prefix on it, `/LEN SCOPE TYPE`.
 * The file shows the local and main tries (or one merged trie); LOCAL entries
 * are the same in each, so duplicates are dropped.
 *
 * @example
 * ```ts
 * parseLocalIpv4Routes("Local:\n  +-- 127.0.0.0/8 2 0 2\n     |-- 127.0.0.0\n        /8 host LOCAL\n");
 * // [{ version: 4, destination: Uint8Array [127, 0, 0, 0], prefixLength: 8 }]
 * ```
 */
export function parseLocalIpv4Routes(text: string): LocalRoute[] {
  const routes: LocalRoute[] = [];
  const seen = new Set<string>();
  let leaf: string | null = null;
  for (const line of text.split("\n")) {
    const l = /^\s*\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (l) {
      leaf = l[1]!;
      continue;
    }
    const p = /^\s*\/(\d+) \S+ LOCAL\s*$/.exec(line);
    if (p === null || leaf === null) continue;
    const key = `${leaf}/${p[1]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routes.push({ version: 4, destination: parseIp(leaf), prefixLength: Number(p[1]) });
  }
  return routes;
}

/** The RTF_LOCAL lines of `/proc/net/ipv6_route` (::1 and this host's IPv6 addresses). */
export function parseLocalIpv6Routes(text: string): LocalRoute[] {
  const routes: LocalRoute[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const flags = parseInt(f[8]!, 16) >>> 0;
    if (!(flags & RTF_UP) || !((flags & RTF_LOCAL) >>> 0)) continue;
    routes.push({ version: 6, destination: hexBytes(f[0]!), prefixLength: parseInt(f[1]!, 16) });
  }
  return routes;
}

/**
 * The `local` table's prefix holding `dst` (an address of this host, or in
 * 127.0.0.0/8), or null when `dst` is not local. Reads the namespace's tables.
 */
export function findLocalRoute(dst: Uint8Array, netns?: string): LocalRoute | null {
  const version = dst.length === 4 ? 4 : 6;
  const text = readProcNet(version === 4 ? "/proc/net/fib_trie" : "/proc/net/ipv6_route", netns, version === 6);
  const routes = version === 4 ? parseLocalIpv4Routes(text) : parseLocalIpv6Routes(text);
  let best: LocalRoute | null = null;
  for (const r of routes) {
    if (r.destination.length === dst.length && samePrefix(r.destination, dst, r.prefixLength) && (best === null || r.prefixLength > best.prefixLength)) best = r;
  }
  return best;
}

/** Whether the first `prefixLength` bits of `a` and `b` agree. */
export function samePrefix(a: Uint8Array, b: Uint8Array, prefixLength: number): boolean {
  if (a.length !== b.length) return false;
  const whole = prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & mask) === 0;
}

/** The longest-prefix, then lowest-metric, route for `dst` among `routes`, or null. */
export function longestPrefixMatch(routes: readonly RouteEntry[], dst: Uint8Array, iface?: string): RouteEntry | null {
  let best: RouteEntry | null = null;
  for (const r of routes) {
    if (r.destination.length !== dst.length) continue;
    if (iface !== undefined && r.iface !== iface) continue;
    if (!samePrefix(r.destination, dst, r.prefixLength)) continue;
    if (best === null || r.prefixLength > best.prefixLength || (r.prefixLength === best.prefixLength && r.metric < best.metric)) best = r;
  }
  return best;
}

/** Read the raw table text for one family, in the current or a named namespace. */
export function readRouteTable(version: 4 | 6, netns?: string): string {
  return readProcNet(version === 4 ? "/proc/net/route" : "/proc/net/ipv6_route", netns, version === 6);
}

/** A /proc/net file of this or a named namespace; `optional`: a missing file (IPv6 off) reads as "". */
function readProcNet(file: string, netns: string | undefined, optional: boolean): string {
  try {
    if (netns === undefined) return readFileSync(file, "utf8");
    return execFileSync("ip", ["netns", "exec", netns, "cat", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: unknown };
    // IPv6 disabled in the kernel: no file, hence no IPv6 routes.
    if (optional && (e.code === "ENOENT" || /No such file/.test(e.stderr ?? e.message))) return "";
    throw new RouteError(`Cannot read the routing table${netns === undefined ? "" : ` of namespace ${netns}`}: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * Pick a source for a datagram towards `nextHop` among an interface's addresses:
 * one whose subnet holds the next hop; else, for IPv6, a global address before a
 * link-local one (a link-local source only for a link-local destination). The
 * address as bytes, or null when the interface has none of the family.
 *
 * @example
 * ```ts
 * pickSourceAddress([{ address: "10.0.0.1", prefixLength: 24 }], Uint8Array.of(10, 0, 0, 7)); // Uint8Array [10, 0, 0, 1]
 * ```
 */
export function pickSourceAddress(addresses: readonly InterfaceAddress[], nextHop: Uint8Array): Uint8Array | null {
  const candidates: { bytes: Uint8Array; prefixLength: number | undefined }[] = [];
  for (const a of addresses) {
    // A scoped address ("fe80::1%eth0") without its zone.
    const bytes = tryParseIp(a.address.replace(/%.*$/, ""));
    if (bytes !== null && bytes.length === nextHop.length) candidates.push({ bytes, prefixLength: a.prefixLength });
  }
  const onLink = candidates.find((c) => c.prefixLength !== undefined && samePrefix(c.bytes, nextHop, c.prefixLength));
  if (onLink) return onLink.bytes;
  // RFC 4291 §2.5.6: fe80::/10 is link-local.
  const linkLocal = (b: Uint8Array): boolean => b.length === 16 && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
  if (nextHop.length === 16 && !linkLocal(nextHop)) {
    const global = candidates.find((c) => !linkLocal(c.bytes));
    if (global) return global.bytes;
  }
  return candidates[0]?.bytes ?? null;
}

/**
 * {@link pickSourceAddress} as text.
 *
 * @example
 * ```ts
 * pickSource([{ address: "10.0.0.1", prefixLength: 24 }], Uint8Array.of(10, 0, 0, 7)); // "10.0.0.1"
 * ```
 */
export function pickSource(addresses: readonly InterfaceAddress[], nextHop: Uint8Array): string | null {
  const b = pickSourceAddress(addresses, nextHop);
  return b === null ? null : formatIp(b);
}

/**
 * The prefix length of a netmask given as bytes (255.255.255.0 → 24), or null
 * when its one bits do not come first.
 *
 * @example
 * ```ts
 * maskPrefixLength(Uint8Array.of(255, 255, 240, 0)); // 20
 * ```
 */
export function maskPrefixLength(mask: Uint8Array): number | null {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = ((byte >> bit) & 1) === 1;
      if (set && ended) return null;
      if (set) bits++;
      else ended = true;
    }
  }
  return bits;
}

/** The route to `dst` found by {@link findRoute}, addresses as bytes. */
export interface RouteMatch {
  version: 4 | 6;
  iface: string;
  /** the next hop when the destination is off-link; null when on-link */
  gateway: Uint8Array | null;
  /** the address to resolve: the gateway, or the destination itself */
  nextHop: Uint8Array;
  /** our address on the next hop's subnet (from `addresses`), or null */
  srcHint: Uint8Array | null;
  prefixLength: number;
  metric: number;
}

/**
 * Route `dst` (4 or 16 bytes) with the kernel's main table. Throws
 * {@link RouteError} when no route matches or the table cannot be read.
 *
 * @example
 * ```ts
 * findRoute(Uint8Array.of(10, 77, 0, 2), { netns: "laba" }).iface; // "laba0"
 * ```
 */
export function findRoute(dst: Uint8Array, options: RouteOptions = {}): RouteMatch {
  const version = dst.length === 4 ? 4 : 6;
  if (options.loopback === true) {
    // Loopback reaches this host's own addresses, as the kernel's local table says.
    const local = findLocalRoute(dst, options.netns);
    if (local === null) {
      throw new RouteError(
        `No route to ${formatIp(dst)}${options.iface === undefined ? "" : ` through ${options.iface}`}: loopback reaches only this host's own addresses`,
      );
    }
    return {
      version,
      iface: options.iface ?? "lo",
      gateway: null,
      nextHop: dst,
      srcHint: options.addresses === undefined ? null : pickSourceAddress(options.addresses, dst),
      prefixLength: local.prefixLength,
      metric: 0,
    };
  }
  const text = readRouteTable(version, options.netns);
  const routes = version === 4 ? parseIpv4Routes(text) : parseIpv6Routes(text);
  const best = longestPrefixMatch(routes, dst, options.iface);
  if (best === null) {
    throw new RouteError(`No route to ${formatIp(dst)}${options.iface === undefined ? "" : ` through ${options.iface}`}`);
  }
  const nextHop = best.gateway ?? dst;
  return {
    version,
    iface: best.iface,
    gateway: best.gateway,
    nextHop,
    srcHint: options.addresses === undefined ? null : pickSourceAddress(options.addresses, nextHop),
    prefixLength: best.prefixLength,
    metric: best.metric,
  };
}

/**
 * The public (text) form of a {@link RouteMatch}.
 *
 * @example
 * ```ts
 * routeText(findRoute(Uint8Array.of(10, 77, 0, 2))).gateway; // null
 * ```
 */
export function routeText(m: RouteMatch): Route {
  return {
    version: m.version,
    iface: m.iface,
    gateway: m.gateway === null ? null : formatIp(m.gateway),
    srcHint: m.srcHint === null ? null : formatIp(m.srcHint),
    prefixLength: m.prefixLength,
    metric: m.metric,
  };
}

/**
 * Route `dst` (an IPv4 or IPv6 address, text or bytes) with the kernel's main
 * table. Throws {@link RouteError} when the address is bad or no route matches.
 *
 * @example
 * ```ts
 * lookupRoute("10.88.1.1", { netns: "laba" }).gateway; // "10.77.0.2"
 * ```
 */
export function lookupRoute(dst: AddressInput, options: RouteOptions = {}): Route {
  let bytes: Uint8Array;
  try {
    bytes = ipBytes(dst);
  } catch {
    throw new RouteError(`Cannot route ${JSON.stringify(dst)}: not an IPv4 or IPv6 address`);
  }
  if (bytes.length !== 4 && bytes.length !== 16) throw new RouteError(`Cannot route an address of ${bytes.length} bytes`);
  return routeText(findRoute(bytes, options));
}
