/**
 * The build side of the IPv6 extension headers (RFC 8200 §4): a chain of
 * {@link Ipv6ExtensionInput} sized without building it
 * ({@link ipv6ExtensionsLength}) and written once, straight into the caller's
 * buffer through the extension views ({@link encodeIpv6ExtensionsInto}). The
 * IPv6 codec (ipv6.ts) calls both; ipv6.ts re-exports them.
 *
 * @example
 * ```ts
 * import { encodeIpv6ExtensionsInto, ipv6ExtensionsLength } from "./ipv6_extensions_encode.ts";
 * const exts = [{ type: "hopByHop", options: [{ type: 5, data: new Uint8Array(2) }] }] as const;
 * const out = new Uint8Array(ipv6ExtensionsLength(exts)); // 8: 2 + 4, padded with PadN
 * encodeIpv6ExtensionsInto(exts, 58, out, 0); // 3a 00 05 02 0000 01 00
 * ```
 *
 * @module
 */
import { ipv6Bytes } from "./addr.ts";
import { IPV6_ADDRESS_LENGTH } from "./ip_fields.ts";
import {
  IPV6_EXTENSION_FIELD, IPV6_EXTENSION_NUMBER, IPV6_FRAGMENT_HEADER_LENGTH, IPV6_OPTION, IPV6_ROUTING_FIELD, IPV6_ROUTING_TYPE,
  Ipv6ExtensionView, Ipv6FragmentView, Ipv6RoutingView, type Ipv6ExtensionInput, type Ipv6OptionInput,
} from "./ipv6_extensions.ts";

const EMPTY = new Uint8Array(0);

/** Whether an option is written as the one-byte Pad1. */
function isPad1(o: Ipv6OptionInput): boolean {
  return o.type === IPV6_OPTION.PAD1 && (o.data === undefined || o.data.length === 0);
}

/** Bytes of an extension header before padding: the two fixed octets and the body. */
function unpaddedLength(e: Ipv6ExtensionInput): number {
  if (e.type === "fragment") return IPV6_FRAGMENT_HEADER_LENGTH;
  if (e.type === "routing") {
    const data = e.data !== undefined ? e.data.length : IPV6_ROUTING_FIELD.ADDRESSES - IPV6_ROUTING_FIELD.DATA + IPV6_ADDRESS_LENGTH * (e.addresses?.length ?? 0);
    return IPV6_ROUTING_FIELD.DATA + data;
  }
  let n = IPV6_EXTENSION_FIELD.BODY;
  for (const o of e.options ?? []) n += isPad1(o) ? 1 : 2 + (o.data?.length ?? 0);
  return n;
}

/** Bytes one extension header takes: padded to a multiple of 8 (RFC 8200 §4: each is a whole number of 8-byte units). */
function extensionLength(e: Ipv6ExtensionInput): number {
  return (unpaddedLength(e) + 7) & ~7;
}

/** Bytes a chain of extension headers takes. Builds nothing. */
export function ipv6ExtensionsLength(exts: readonly Ipv6ExtensionInput[] | undefined): number {
  if (exts === undefined) return 0;
  let n = 0;
  for (const e of exts) n += extensionLength(e);
  return n;
}

/** Write one extension header at `out[at]`, announcing `nextHeader` unless it sets its own; returns where it ends. */
function writeExtension(e: Ipv6ExtensionInput, nextHeader: number, out: Uint8Array, at: number): number {
  const length = extensionLength(e);
  if (e.type === "fragment") {
    const f = new Ipv6FragmentView(out, at);
    f.nextHeader = e.nextHeader ?? nextHeader;
    f.reserved = 0;
    f.res = 0;
    f.fragmentOffset = e.fragmentOffset ?? 0;
    f.moreFragments = e.moreFragments === true;
    f.identification = e.identification ?? 0;
    return at + length;
  }
  const routing = e.type === "routing";
  const view = routing ? new Ipv6RoutingView(out, at) : new Ipv6ExtensionView(out, at);
  view.nextHeader = e.nextHeader ?? nextHeader;
  view.headerLength = e.headerLength ?? length;
  let i: number;
  if (view instanceof Ipv6RoutingView) {
    const addresses = e.addresses ?? [];
    view.routingType = e.routingType ?? IPV6_ROUTING_TYPE.SOURCE_ROUTE;
    view.segmentsLeft = e.segmentsLeft ?? addresses.length;
    if (e.data !== undefined) {
      out.set(e.data, view.dataStart);
      i = view.dataStart + e.data.length;
    } else {
      // RFC 5095 / RFC 6275 §6.4: 4 reserved bytes, then the addresses
      out.fill(0, view.dataStart, view.addressOffset(0));
      for (let k = 0; k < addresses.length; k++) view.setAddress(k, ipv6Bytes(addresses[k]!));
      i = view.addressOffset(addresses.length);
    }
  } else {
    i = view.bodyStart;
    for (const o of e.options ?? []) {
      if (isPad1(o)) {
        out[i++] = IPV6_OPTION.PAD1;
        continue;
      }
      const data = o.data ?? EMPTY;
      out[i] = o.type;
      out[i + 1] = data.length;
      out.set(data, i + 2);
      i += 2 + data.length;
    }
  }
  // RFC 8200 §4.2: options headers pad with Pad1 or PadN; a routing header's
  // padding is zeros (one zero byte is Pad1 either way).
  const pad = at + length - i;
  if (pad >= 2 && !routing) {
    out[i] = IPV6_OPTION.PADN;
    out[i + 1] = pad - 2;
    out.fill(0, i + 2, at + length);
  } else {
    out.fill(0, i, at + length);
  }
  return at + length;
}

/**
 * Write a chain of extension headers at `out[at]`, each announcing the next
 * (the last announcing `lastNextHeader`) unless it sets its own `nextHeader`,
 * and return where the chain ends: `at` + {@link ipv6ExtensionsLength}.
 * Throws a `RangeError` for unparsable address text.
 *
 * @example
 * ```ts
 * const exts = [{ type: "fragment", identification: 7 }] as const;
 * const out = new Uint8Array(ipv6ExtensionsLength(exts));
 * encodeIpv6ExtensionsInto(exts, 17, out, 0); // 11 00 0000 00000007
 * ```
 */
export function encodeIpv6ExtensionsInto(exts: readonly Ipv6ExtensionInput[] | undefined, lastNextHeader: number, out: Uint8Array, at: number): number {
  if (exts === undefined) return at;
  let i = at;
  for (let k = 0; k < exts.length; k++) {
    const following = exts[k + 1];
    i = writeExtension(exts[k]!, following === undefined ? lastNextHeader : IPV6_EXTENSION_NUMBER[following.type], out, i);
  }
  return i;
}
