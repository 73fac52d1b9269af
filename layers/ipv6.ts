/**
 * IPv6 (RFC 8200) with its extension headers: hop-by-hop options, routing,
 * fragment and destination options, in any order. AH (51), ESP (50) and "no
 * next header" (59) end the chain; so does any next header that is not an
 * extension we know, which then goes through the IP protocol table (unknown →
 * `payload`).
 *
 * Decoding sets `state.ip` (upper-layer length = payload length minus the
 * extension headers) and trims the payload to the payload length. A fragment
 * with offset > 0 ends with its bytes as `payload`; the first fragment decodes
 * on, marked incomplete.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "ipv6", src: "fd77::1", dst: "fd77::2", extensions: [{ type: "fragment", identification: 7 }] }, { layer: "payload", data: new Uint8Array(8) }]);
 * ```
 *
 * @module
 */
import { formatIpv6, parseIpv6 } from "./addr.ts";
import { IpHeaderContext } from "./checksum.ts";
import { pooledValue, type Codec, type Decoder, type Dispatch, type Input, type LayerBase, type Protocol } from "./core.ts";
import {
  AF_INET6_BSD, AF_INET6_DARWIN, AF_INET6_FREEBSD, AF_INET6_LINUX, ETHERTYPE_IPV6, IP_PROTOCOL_HOPOPT, IP_PROTOCOL_IPV6,
  IP_PROTOCOL_IPV6_FRAG, IP_PROTOCOL_IPV6_NONXT, IP_PROTOCOL_IPV6_OPTS, IP_PROTOCOL_IPV6_ROUTE, LINKTYPE,
} from "./dispatch.ts";

/** One option of a hop-by-hop or destination options header (RFC 8200 §4.2). */
export interface Ipv6Option {
  /** option type octet */
  type: number;
  /** "pad1", "padN", "routerAlert", "jumboPayload", ... or "unknown" */
  name: string;
  /** option data (empty for Pad1) */
  data: Uint8Array;
}

export type Ipv6ExtensionType = "hopByHop" | "routing" | "fragment" | "destination";

/** One extension header. Fields beyond the first three depend on `type`. */
export interface Ipv6Extension {
  type: Ipv6ExtensionType;
  nextHeader: number;
  /** header length in bytes (8 for a fragment header; (Hdr Ext Len + 1) × 8 otherwise) */
  headerLength: number;
  /** hop-by-hop and destination options */
  options?: Ipv6Option[];
  /** routing: routing type (0 deprecated, 2 Mobile IPv6, 3 RPL, 4 segment routing) */
  routingType?: number;
  segmentsLeft?: number;
  /** routing types 0, 2 and 4: the addresses carried */
  addresses?: string[];
  /** routing: the type-specific bytes after the first four */
  data?: Uint8Array;
  /** fragment: offset in bytes (the field × 8) */
  fragmentOffset?: number;
  moreFragments?: boolean;
  identification?: number;
}

/** A decoded IPv6 header with its extension headers. */
export interface Ipv6 extends LayerBase {
  layer: "ipv6";
  version: number;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
  extensions: Ipv6Extension[];
}

/** Build input for an option: `data` defaults to empty. */
export type Ipv6OptionInput = { type: number; data?: Uint8Array };

/**
 * Build input for an extension header. Unset: `nextHeader` from what follows,
 * `headerLength` from the content (options padded with Pad1/PadN to a multiple
 * of 8), routing type 0 with `segmentsLeft` = number of addresses and `data`
 * = 4 reserved zero bytes + addresses, fragment offset 0, M off, id 0.
 */
export type Ipv6ExtensionInput = { type: Ipv6ExtensionType } & {
  [K in Exclude<keyof Ipv6Extension, "type" | "options">]?: Ipv6Extension[K];
} & { options?: Ipv6OptionInput[] };

/**
 * Build input. Unset: version 6, traffic class and flow label 0, payload length
 * from the payload, next header from the first extension or the layer inside
 * (59, no next header, when unknown), hop limit 64, addresses `::`.
 */
export type Ipv6Input = Omit<Input<Ipv6>, "extensions"> & { extensions?: Ipv6ExtensionInput[] };

/** Next-header value → extension type. */
export const IPV6_EXTENSION: ReadonlyMap<number, Ipv6ExtensionType> = new Map<number, Ipv6ExtensionType>([
  [IP_PROTOCOL_HOPOPT, "hopByHop"],
  [IP_PROTOCOL_IPV6_ROUTE, "routing"],
  [IP_PROTOCOL_IPV6_FRAG, "fragment"],
  [IP_PROTOCOL_IPV6_OPTS, "destination"],
]);

const EXTENSION_NUMBER: Readonly<Record<Ipv6ExtensionType, number>> = {
  hopByHop: IP_PROTOCOL_HOPOPT,
  routing: IP_PROTOCOL_IPV6_ROUTE,
  fragment: IP_PROTOCOL_IPV6_FRAG,
  destination: IP_PROTOCOL_IPV6_OPTS,
};

const OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, "pad1"],
  [0x01, "padN"],
  [0x04, "tunnelEncapsulationLimit"],
  [0x05, "routerAlert"],
  [0x07, "calipso"],
  [0x08, "smfDpd"],
  [0x26, "quickStart"],
  [0x31, "ioam"],
  [0x63, "rplOption"],
  [0x6d, "mplOption"],
  [0x8b, "ilnp"],
  [0xc2, "jumboPayload"],
  [0xc9, "homeAddress"],
  [0xee, "ipDff"],
]);

/** More extension headers than this in one datagram end the decode. */
export const MAX_IPV6_EXTENSIONS = 16;

/** {@link IPV6_EXTENSION} by next-header byte: an array load where the walk asks for every datagram. */
const EXTENSION_OF: readonly (Ipv6ExtensionType | undefined)[] = Array.from({ length: 256 }, (_, nh) => IPV6_EXTENSION.get(nh));

const EMPTY = new Uint8Array(0);

/** Parse TLV options in `b[start, end)`; returns an error reason or null. */
function parseOptions(b: Uint8Array, start: number, end: number, out: Ipv6Option[]): string | null {
  let i = start;
  while (i < end) {
    const type = b[i]!;
    if (type === 0) {
      out.push({ type, name: "pad1", data: EMPTY });
      i++;
      continue;
    }
    if (i + 1 >= end) return `option ${type} has no length octet`;
    const length = b[i + 1]!;
    if (i + 2 + length > end) return `option ${type} length ${length} exceeds the ${end - i - 2} bytes left in the header`;
    out.push({ type, name: OPTION_NAMES.get(type) ?? "unknown", data: b.subarray(i + 2, i + 2 + length) });
    i += 2 + length;
  }
  return null;
}

function newIpv6(): Ipv6 {
  return { layer: "ipv6", version: 0, trafficClass: 0, flowLabel: 0, payloadLength: 0, nextHeader: 0, hopLimit: 0, src: "", dst: "", extensions: [] };
}

export const decodeIpv6: Decoder = (bytes, state) => {
  const start = state.offset;
  const len = state.end - start;
  if (len < 40) {
    state.issues.push({ layer: "ipv6", kind: "truncated", reason: `header needs 40 bytes, got ${len}` });
    return null;
  }
  const version = bytes[start]! >> 4;
  if (version !== 6) {
    state.issues.push({ layer: "ipv6", kind: "malformed", reason: `version ${version} is not 6` });
    return null;
  }
  const payloadLength = (bytes[start + 4]! << 8) | bytes[start + 5]!;
  const nextHeader = bytes[start + 6]!;
  const value = pooledValue(state.pool?.ipv6, state.layers.length, newIpv6);
  const extensions = value.extensions;
  while (extensions.length > 0) extensions.pop(); // a pooled value's list: its extension objects are new each time
  value.version = version;
  value.trafficClass = ((bytes[start]! & 15) << 4) | (bytes[start + 1]! >> 4);
  value.flowLabel = ((bytes[start + 1]! & 15) << 16) | (bytes[start + 2]! << 8) | bytes[start + 3]!;
  value.payloadLength = payloadLength;
  value.nextHeader = nextHeader;
  value.hopLimit = bytes[start + 7]!;
  value.src = formatIpv6(bytes, start + 8);
  value.dst = formatIpv6(bytes, start + 24);
  state.layers.push(value);
  const cut = 40 + payloadLength > len;
  if (cut && state.depth === 0) {
    state.issues.push({ layer: "ipv6", kind: "truncated", reason: `payload length ${payloadLength} exceeds ${len - 40} bytes` });
  }
  const end = start + (cut ? len : 40 + payloadLength);
  let nh = nextHeader;
  let at = start + 40;
  let fragmented = false;
  let laterFragment = false;
  let finalDestination = -1;
  let error: string | null = null;
  let errorKind: "truncated" | "malformed" = "malformed";
  for (let type = EXTENSION_OF[nh]; type !== undefined; type = EXTENSION_OF[nh]) {
    if (extensions.length >= MAX_IPV6_EXTENSIONS) {
      error = `more than ${MAX_IPV6_EXTENSIONS} extension headers`;
      break;
    }
    // A header past the end is "truncated" when the capture was cut there,
    // "malformed" when it runs past the stated payload length.
    const headerLength = at + 2 > end ? (type === "fragment" ? 8 : 2) : type === "fragment" ? 8 : (bytes[at + 1]! + 1) * 8;
    if (at + headerLength > end) {
      error = `${type} header needs ${headerLength} bytes, ${end - at} left`;
      if (cut) errorKind = "truncated";
      break;
    }
    const next = bytes[at]!;
    const ext: Ipv6Extension = { type, nextHeader: next, headerLength };
    if (type === "fragment") {
      const f = (bytes[at + 2]! << 8) | bytes[at + 3]!;
      ext.fragmentOffset = f & 0xfff8; // 13-bit field in units of 8 bytes, already shifted by 3
      ext.moreFragments = (f & 1) !== 0;
      ext.identification = ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0;
      // RFC 8200 §4.5: offset 0 and M clear is an atomic fragment: a whole datagram.
      if (ext.fragmentOffset !== 0 || ext.moreFragments) fragmented = true;
      if (ext.fragmentOffset !== 0) laterFragment = true;
    } else if (type === "routing") {
      ext.routingType = bytes[at + 2]!;
      ext.segmentsLeft = bytes[at + 3]!;
      ext.data = bytes.subarray(at + 4, at + headerLength);
      if (ext.routingType === 0 || ext.routingType === 2) {
        ext.addresses = [];
        for (let i = at + 8; i + 16 <= at + headerLength; i += 16) {
          ext.addresses.push(formatIpv6(bytes, i));
          if (ext.segmentsLeft > 0) finalDestination = i; // the last address is the final destination
        }
      } else if (ext.routingType === 4) {
        // RFC 8754 §2: Last Entry + 1 segments after 8 fixed bytes (TLVs may follow)
        ext.addresses = [];
        const count = bytes[at + 4]! + 1;
        for (let k = 0, i = at + 8; k < count && i + 16 <= at + headerLength; k++, i += 16) ext.addresses.push(formatIpv6(bytes, i));
        // Segment List[0] is the last segment of the path (RFC 8754 §2)
        if (ext.segmentsLeft > 0 && ext.addresses.length > 0) finalDestination = at + 8;
      }
    } else {
      ext.options = [];
      error = parseOptions(bytes, at + 2, at + headerLength, ext.options);
    }
    extensions.push(ext);
    nh = next;
    at += headerLength;
    if (error !== null) break;
  }
  const upperLength = Math.max(0, payloadLength - (at - start - 40));
  const spare = state.spareIp;
  const ip =
    spare === undefined
      ? new IpHeaderContext(6, bytes, start, upperLength, !cut && !fragmented, laterFragment)
      : spare.reset(6, bytes, start, upperLength, !cut && !fragmented, laterFragment);
  // RFC 8200 §8.1: with a Routing header not yet at its end, the transport
  // pseudo-header uses the final destination, carried in the Routing header.
  if (finalDestination >= 0) ip.dst = bytes.subarray(finalDestination, finalDestination + 16);
  state.ip = ip;
  state.offset = at;
  state.end = end; // drops link padding
  if (error !== null) {
    state.issues.push({ layer: "ipv6", kind: errorKind, reason: error });
    return null;
  }
  if (laterFragment) return null;
  // 59 (no next header), 50 (ESP), 51 (AH) and anything unknown: the rest is payload.
  return nh === IP_PROTOCOL_IPV6_NONXT ? null : state.dispatch.ipProtocol(nh);
};

// ---- encoding ----

function nextHeaderFor(inner: LayerBase | undefined, dispatch: Dispatch | undefined): number {
  return inner === undefined ? IP_PROTOCOL_IPV6_NONXT : (dispatch?.ipProtocolOf(inner.layer) ?? IP_PROTOCOL_IPV6_NONXT);
}

/** Extension body bytes after the first two octets, before padding. */
function extensionBody(e: Ipv6ExtensionInput): number[] {
  if (e.type === "fragment") {
    const f = ((e.fragmentOffset ?? 0) & 0xfff8) | (e.moreFragments === true ? 1 : 0);
    const id = e.identification ?? 0;
    return [f >> 8, f & 0xff, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff];
  }
  if (e.type === "routing") {
    const body = [e.routingType ?? 0, e.segmentsLeft ?? e.addresses?.length ?? 0];
    if (e.data !== undefined) body.push(...e.data);
    else {
      body.push(0, 0, 0, 0);
      for (const a of e.addresses ?? []) body.push(...parseIpv6(a));
    }
    return body;
  }
  const body: number[] = [];
  for (const o of e.options ?? []) {
    if (o.type === 0 && (o.data === undefined || o.data.length === 0)) body.push(0);
    else body.push(o.type, o.data?.length ?? 0, ...(o.data ?? []));
  }
  return body;
}

/** One extension header, padded to a multiple of 8 bytes (RFC 8200 §4.2: Pad1 / PadN). */
function extensionBytes(e: Ipv6ExtensionInput, nextHeader: number): number[] {
  const body = extensionBody(e);
  const bytes = [e.nextHeader ?? nextHeader, 0, ...body];
  const pad = (8 - (bytes.length % 8)) % 8;
  if (pad === 1) bytes.push(0);
  else if (pad > 1) {
    if (e.type === "hopByHop" || e.type === "destination") bytes.push(1, pad - 2);
    else bytes.push(0, 0);
    for (let i = 2; i < pad; i++) bytes.push(0);
  }
  const headerLength = e.headerLength ?? bytes.length;
  bytes[1] = e.type === "fragment" ? 0 : ((headerLength >> 3) - 1) & 0xff;
  return bytes;
}

/** All extension headers in order, each pointing at the next. */
export function encodeIpv6Extensions(exts: readonly Ipv6ExtensionInput[] | undefined, inner: LayerBase | undefined, dispatch?: Dispatch): Uint8Array {
  if (exts === undefined || exts.length === 0) return EMPTY;
  const bytes: number[] = [];
  for (let i = 0; i < exts.length; i++) {
    const following = exts[i + 1];
    bytes.push(...extensionBytes(exts[i]!, following === undefined ? nextHeaderFor(inner, dispatch) : EXTENSION_NUMBER[following.type]));
  }
  return Uint8Array.from(bytes);
}

export const ipv6Codec: Codec<Ipv6Input> = {
  headerLength: (v, ctx) => 40 + encodeIpv6Extensions(v.extensions, ctx.inner, ctx.dispatch).length,
  write(v, out, ctx) {
    const exts = encodeIpv6Extensions(v.extensions, ctx.inner, ctx.dispatch);
    const first = v.extensions?.[0];
    const trafficClass = v.trafficClass ?? 0;
    const flowLabel = v.flowLabel ?? 0;
    const payloadLength = v.payloadLength ?? out.length - 40;
    out[0] = (((v.version ?? 6) & 15) << 4) | ((trafficClass >> 4) & 15);
    out[1] = ((trafficClass & 15) << 4) | ((flowLabel >> 16) & 15);
    out[2] = (flowLabel >> 8) & 0xff;
    out[3] = flowLabel & 0xff;
    out[4] = (payloadLength >> 8) & 0xff;
    out[5] = payloadLength & 0xff;
    out[6] = v.nextHeader ?? (first === undefined ? nextHeaderFor(ctx.inner, ctx.dispatch) : EXTENSION_NUMBER[first.type]);
    out[7] = v.hopLimit ?? 64;
    out.set(v.src === undefined ? new Uint8Array(16) : parseIpv6(v.src), 8);
    out.set(v.dst === undefined ? new Uint8Array(16) : parseIpv6(v.dst), 24);
    out.set(exts, 40);
  },
};

/**
 * IPv6 in the registry: after ethertype 0x86dd, IP protocol 41 (IPv6 in IP),
 * the AF_INET6 values of the BSDs, Linux and macOS (24, the first libpcap
 * documents, is what a builder writes), LINKTYPE_IPV6.
 */
export const ipv6Protocol: Protocol<"ipv6", Ipv6, Ipv6Input> = {
  kind: "ipv6",
  decode: decodeIpv6,
  codec: ipv6Codec,
  pooled: true,
  claims: {
    ethertypes: [ETHERTYPE_IPV6],
    ipProtocols: [IP_PROTOCOL_IPV6],
    addressFamilies: [AF_INET6_BSD, AF_INET6_LINUX, AF_INET6_FREEBSD, AF_INET6_DARWIN],
    linkTypes: [LINKTYPE.IPV6],
  },
};
