/**
 * IPv6 (RFC 8200): a zero-copy {@link Ipv6View} of the fixed header, the
 * decoded value {@link Ipv6}, {@link decodeIpv6} and {@link ipv6Codec}. The
 * extension headers (hop-by-hop options, routing, fragment and destination
 * options, in any order) have their views, values and builders in
 * `ipv6_extensions.ts`, re-exported here. AH (51), ESP (50) and "no next
 * header" (59) end the chain; so does any next header that is not an
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
 * import { Ipv6View } from "./ipv6.ts";
 * const datagram = encodePacket([{ layer: "ipv6", src: "fd77::1", dst: "fd77::2", extensions: [{ type: "fragment", identification: 7 }] }, { layer: "payload", data: new Uint8Array(8) }]);
 * const view = new Ipv6View(datagram);
 * if (view.check() === null) console.log(view.nextHeader, view.payloadLength); // 44 16
 * ```
 *
 * @module
 */
import { formatIpv6, ipv6Bytes, type AddressInput } from "./addr.ts";
import * as wire from "./bytes.ts";
import { IpHeaderContext } from "./checksum.ts";
import { pooledValue, type Codec, type Decoder, type Dispatch, type Input, type LayerBase, type Protocol } from "./core.ts";
import { AF_INET6_BSD, AF_INET6_DARWIN, AF_INET6_FREEBSD, AF_INET6_LINUX, ETHERTYPE_IPV6, IP_PROTOCOL_IPV6, IP_PROTOCOL_IPV6_NONXT, LINKTYPE } from "./dispatch.ts";
import { IPV6_ADDRESS_LENGTH, IPV6_FIELD, IPV6_HEADER_LENGTH } from "./ip_fields.ts";
import {
  IPV6_EXTENSION, IPV6_EXTENSION_NUMBER, IPV6_FRAGMENT_HEADER_LENGTH, Ipv6ExtensionView, Ipv6FragmentView, Ipv6RoutingView,
  parseIpv6Options, routingAddresses, type Ipv6Extension, type Ipv6ExtensionInput, type Ipv6ExtensionType,
} from "./ipv6_extensions.ts";
import { encodeIpv6ExtensionsInto, ipv6ExtensionsLength } from "./ipv6_extensions_encode.ts";

export { IPV6_ADDRESS_LENGTH, IPV6_FIELD, IPV6_HEADER_LENGTH } from "./ip_fields.ts";
export {
  IPV6_EXTENSION, IPV6_EXTENSION_FIELD, IPV6_EXTENSION_NUMBER, IPV6_FRAGMENT_FIELD, IPV6_FRAGMENT_HEADER_LENGTH, IPV6_OPTION,
  IPV6_ROUTING_FIELD, IPV6_ROUTING_TYPE, Ipv6ExtensionView, Ipv6FragmentView, Ipv6RoutingView, parseIpv6Options, routingAddresses,
  type Ipv6Extension, type Ipv6ExtensionInput, type Ipv6ExtensionType, type Ipv6Option, type Ipv6OptionInput,
} from "./ipv6_extensions.ts";
import { ByteView } from "./view.ts";
export { encodeIpv6ExtensionsInto, ipv6ExtensionsLength } from "./ipv6_extensions_encode.ts";

// Module-local names for what the view reads at every field: V8 (Node 20)
// loads a module's imported and exported bindings through cells at every use
// (up to ~8 instructions per table read or helper call, callgrind) and folds
// a module-local `const` (see ipv4.ts).
const FIELD = IPV6_FIELD;
const HEADER_LENGTH = IPV6_HEADER_LENGTH;
const ADDRESS_LENGTH = IPV6_ADDRESS_LENGTH;
const FRAGMENT_HEADER_LENGTH = IPV6_FRAGMENT_HEADER_LENGTH;
const u16 = wire.u16;
const put16 = wire.put16;

/**
 * The fixed IPv6 header over bytes, without copying: the header starts at
 * `at` in `bytes`, and the view may read up to `end` (exclusive; default: the
 * end of `bytes`). The constructor checks nothing; call
 * {@link Ipv6View.check} once before trusting the fields. Getters read and
 * setters write at {@link IPV6_FIELD}'s offsets; setters keep only the bits
 * their field has. The extension headers after it have views of their own
 * ({@link Ipv6ExtensionView}, {@link Ipv6RoutingView}, {@link Ipv6FragmentView}),
 * starting at {@link payloadStart}.
 *
 * @example
 * ```ts
 * const view = new Ipv6View(frame, 14);
 * if (view.check() === null) view.hopLimit -= 1; // no header checksum in IPv6
 * ```
 */
export class Ipv6View extends ByteView {
  /**
   * null when the 40-byte header fits and the version is 6, else the first
   * reason. A payload length past `end` passes: the capture was cut, and
   * {@link payloadEnd} stops at `end`.
   */
  check(): string | null {
    const n = this.end - this.at;
    if (n < HEADER_LENGTH) return `header needs ${HEADER_LENGTH} bytes, got ${n}`;
    const version = this.version;
    if (version !== 6) return `version ${version} is not 6`;
    return null;
  }

  /**
   * The fixed header at `bytes[at]` into `out` (version, traffic class, flow
   * label, payload length, next header, hop limit): the decoder's one read,
   * with no view object to make per packet (see `TcpView.readInto`).
   */
  static readInto(bytes: Uint8Array, at: number, out: Ipv6Fields): void {
    const b0 = bytes[at]!; // IPV6_FIELD.VER_TC_FL
    const b1 = bytes[at + 1]!;
    out.version = b0 >> 4;
    out.trafficClass = ((b0 & 15) << 4) | (b1 >> 4);
    out.flowLabel = ((b1 & 15) << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
    out.payloadLength = (bytes[at + 4]! << 8) | bytes[at + 5]!; // IPV6_FIELD.PAYLOAD_LENGTH
    out.nextHeader = bytes[at + 6]!; // IPV6_FIELD.NEXT_HEADER
    out.hopLimit = bytes[at + 7]!; // IPV6_FIELD.HOP_LIMIT
  }

  get version(): number {
    return this.bytes[this.at]! >> 4; // IPV6_FIELD.VER_TC_FL
  }
  /** `version` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static versionAt(bytes: Uint8Array, at: number): number {
    return bytes[at]! >> 4; // IPV6_FIELD.VER_TC_FL
  }
  set version(v: number) {
    const at = this.at; // IPV6_FIELD.VER_TC_FL
    this.bytes[at] = ((v & 15) << 4) | (this.bytes[at]! & 15);
  }
  /** traffic class (DSCP and ECN, RFC 2474 / RFC 3168): 8 bits across the first two bytes */
  get trafficClass(): number {
    const at = this.at; // IPV6_FIELD.VER_TC_FL
    return ((this.bytes[at]! & 15) << 4) | (this.bytes[at + 1]! >> 4);
  }
  set trafficClass(v: number) {
    const at = this.at; // IPV6_FIELD.VER_TC_FL
    this.bytes[at] = (this.bytes[at]! & 0xf0) | ((v >> 4) & 15);
    this.bytes[at + 1] = ((v & 15) << 4) | (this.bytes[at + 1]! & 15);
  }
  /** flow label (RFC 6437): the low 20 bits of the first word */
  get flowLabel(): number {
    const at = this.at; // IPV6_FIELD.VER_TC_FL
    return ((this.bytes[at + 1]! & 15) << 16) | (this.bytes[at + 2]! << 8) | this.bytes[at + 3]!;
  }
  set flowLabel(v: number) {
    const at = this.at; // IPV6_FIELD.VER_TC_FL
    this.bytes[at + 1] = (this.bytes[at + 1]! & 0xf0) | ((v >> 16) & 15);
    put16(this.bytes, at + 2, v);
  }
  /** bytes after the fixed header, extension headers included */
  get payloadLength(): number {
    return u16(this.bytes, this.at + 4); // IPV6_FIELD.PAYLOAD_LENGTH
  }
  set payloadLength(v: number) {
    put16(this.bytes, this.at + 4, v); // IPV6_FIELD.PAYLOAD_LENGTH
  }
  /** the first extension header's type, or the upper-layer protocol (IANA IP protocol numbers) */
  get nextHeader(): number {
    return this.bytes[this.at + 6]!; // IPV6_FIELD.NEXT_HEADER
  }
  /** `nextHeader` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static nextHeaderAt(bytes: Uint8Array, at: number): number {
    return bytes[at + 6]!; // IPV6_FIELD.NEXT_HEADER
  }
  set nextHeader(v: number) {
    this.bytes[this.at + 6] = v; // IPV6_FIELD.NEXT_HEADER
  }
  get hopLimit(): number {
    return this.bytes[this.at + 7]!; // IPV6_FIELD.HOP_LIMIT
  }
  set hopLimit(v: number) {
    this.bytes[this.at + 7] = v; // IPV6_FIELD.HOP_LIMIT
  }

  /** Where the source address starts in `bytes` (for zero-copy formatting). */
  get srcOffset(): number {
    return this.at + 8; // IPV6_FIELD.SRC
  }
  /** Where the destination address starts in `bytes`. */
  get dstOffset(): number {
    return this.at + 24; // IPV6_FIELD.DST
  }
  /** The source address: a view of its 16 bytes; the setter copies 16 bytes in. */
  get src(): Uint8Array {
    const at = this.srcOffset;
    return this.bytes.subarray(at, at + ADDRESS_LENGTH);
  }
  set src(v: Uint8Array) {
    this.bytes.set(address(v), this.srcOffset);
  }
  /** The destination address: a view of its 16 bytes; the setter copies 16 bytes in. */
  get dst(): Uint8Array {
    const at = this.dstOffset;
    return this.bytes.subarray(at, at + ADDRESS_LENGTH);
  }
  set dst(v: Uint8Array) {
    this.bytes.set(address(v), this.dstOffset);
  }

  /** Where the payload (the first extension header, or the upper layer) starts in `bytes`: after the 40-byte header. */
  get payloadStart(): number {
    return this.at + HEADER_LENGTH;
  }
  /**
   * Where the payload ends in `bytes`: {@link payloadLength} bytes after the
   * fixed header (link padding dropped), or `end` when the capture stops
   * sooner. Needs a passing `check()`.
   */
  get payloadEnd(): number {
    const stated = this.at + HEADER_LENGTH + this.payloadLength;
    return stated < this.end ? stated : this.end;
  }
  /** The payload, extension headers included, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }
}

/** An address for a view's setter: exactly 16 bytes (a programmer error otherwise). */
function address(v: Uint8Array): Uint8Array {
  if (v.length !== ADDRESS_LENGTH) throw new RangeError(`An IPv6 address has 16 bytes, not ${v.length}`);
  return v;
}

/** A decoded IPv6 header with its extension headers. */
/** The fixed header's fields of a decoded {@link Ipv6} (all but the addresses and extensions): what {@link Ipv6View.readInto} fills. */
export type Ipv6Fields = Pick<Ipv6, "version" | "trafficClass" | "flowLabel" | "payloadLength" | "nextHeader" | "hopLimit">;

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

/**
 * Build input. Unset: version 6, traffic class and flow label 0, payload length
 * from the payload, next header from the first extension or the layer inside
 * (59, no next header, when unknown), hop limit 64, addresses `::`. Addresses
 * are text or 16 bytes.
 */
export type Ipv6Input = Omit<Input<Ipv6>, "extensions" | "src" | "dst"> & {
  extensions?: Ipv6ExtensionInput[];
  src?: AddressInput;
  dst?: AddressInput;
};

/** More extension headers than this in one datagram end the decode. */
export const MAX_IPV6_EXTENSIONS = 16;

/** {@link IPV6_EXTENSION} by next-header byte: an array load where the walk asks for every datagram. */
const EXTENSION_OF: readonly (Ipv6ExtensionType | undefined)[] = Array.from({ length: 256 }, (_, nh) => IPV6_EXTENSION.get(nh));

const EMPTY = new Uint8Array(0);

/**
 * The views the decoder walks the extension headers with, one per kind,
 * pointed at each header in turn: module state rather than new views per
 * datagram (the walk never calls out to code that could walk too), released
 * after each walk so they hold no frame.
 */
const WALK = { generic: new Ipv6ExtensionView(EMPTY), routing: new Ipv6RoutingView(EMPTY), fragment: new Ipv6FragmentView(EMPTY) };

function releaseWalk(): void {
  WALK.generic.reset(EMPTY, 0, 0);
  WALK.routing.reset(EMPTY, 0, 0);
  WALK.fragment.reset(EMPTY, 0, 0);
}

function newIpv6(): Ipv6 {
  return { layer: "ipv6", version: 0, trafficClass: 0, flowLabel: 0, payloadLength: 0, nextHeader: 0, hopLimit: 0, src: "", dst: "", extensions: [] };
}

/**
 * Decode an IPv6 header and walk its extension headers; the next layer comes
 * from the last next-header value (the IP protocol table), none for a later
 * fragment or "no next header".
 */
export const decodeIpv6: Decoder = (bytes, state) => {
  const start = state.offset;
  const len = state.end - start;
  if (len < HEADER_LENGTH) {
    state.issues.push({ layer: "ipv6", kind: "truncated", reason: `header needs ${HEADER_LENGTH} bytes, got ${len}` });
    return null;
  }
  const value = pooledValue(state.pool?.ipv6, state.layers.length, newIpv6);
  Ipv6View.readInto(bytes, start, value);
  const version = value.version;
  if (version !== 6) {
    state.issues.push({ layer: "ipv6", kind: "malformed", reason: `version ${version} is not 6` });
    return null;
  }
  const payloadLength = value.payloadLength;
  const nextHeader = value.nextHeader;
  // The view's payloadStart and payloadEnd (the latter drops link padding;
  // the capture's end when cut), and its address offsets, as literals.
  const payloadStart = start + 40; // IPV6_HEADER_LENGTH
  const stated = payloadStart + payloadLength;
  const end = stated < state.end ? stated : state.end;
  const extensions = value.extensions;
  while (extensions.length > 0) extensions.pop(); // a pooled value's list: its extension objects are new each time
  value.src = formatIpv6(bytes, start + 8); // IPV6_FIELD.SRC
  value.dst = formatIpv6(bytes, start + 24); // IPV6_FIELD.DST
  state.layers.push(value);
  const cut = HEADER_LENGTH + payloadLength > len;
  if (cut && state.depth === 0) {
    state.issues.push({ layer: "ipv6", kind: "truncated", reason: `payload length ${payloadLength} exceeds ${len - HEADER_LENGTH} bytes` });
  }
  let nh = nextHeader;
  let at = payloadStart;
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
    // "malformed" when it runs past the stated payload length. Without its
    // length octet, the 2 bytes that would hold it are what it needs.
    let headerLength: number;
    if (type === "fragment") {
      headerLength = FRAGMENT_HEADER_LENGTH;
    } else {
      headerLength = at + 2 > end ? 2 : WALK.generic.reset(bytes, at, end).headerLength;
    }
    if (at + headerLength > end) {
      error = `${type} header needs ${headerLength} bytes, ${end - at} left`;
      if (cut) errorKind = "truncated";
      break;
    }
    let ext: Ipv6Extension;
    if (type === "fragment") {
      const f = WALK.fragment.reset(bytes, at, end);
      ext = { type, nextHeader: f.nextHeader, headerLength, fragmentOffset: f.fragmentOffset, moreFragments: f.moreFragments, identification: f.identification };
      // RFC 8200 §4.5: offset 0 and M clear is an atomic fragment: a whole datagram.
      if (f.isFragment) fragmented = true;
      if (ext.fragmentOffset !== 0) laterFragment = true;
    } else if (type === "routing") {
      const r = WALK.routing.reset(bytes, at, end);
      ext = { type, nextHeader: r.nextHeader, headerLength, routingType: r.routingType, segmentsLeft: r.segmentsLeft, data: r.data };
      if (r.carriesAddresses) ext.addresses = routingAddresses(r);
      const fd = r.finalDestinationOffset;
      if (fd >= 0) finalDestination = fd;
    } else {
      const g = WALK.generic;
      ext = { type, nextHeader: g.nextHeader, headerLength, options: [] };
      error = parseIpv6Options(bytes, g.bodyStart, g.bodyEnd, ext.options!);
    }
    extensions.push(ext);
    nh = ext.nextHeader;
    at += headerLength;
    if (error !== null) break;
  }
  if (extensions.length > 0 || error !== null) releaseWalk(); // the walk's views keep no frame past this call
  const upperLength = Math.max(0, payloadLength - (at - payloadStart));
  const spare = state.spareIp;
  const ip =
    spare === undefined
      ? new IpHeaderContext(6, bytes, start, upperLength, !cut && !fragmented, laterFragment)
      : spare.reset(6, bytes, start, upperLength, !cut && !fragmented, laterFragment);
  // RFC 8200 §8.1: with a Routing header not yet at its end, the transport
  // pseudo-header uses the final destination, carried in the Routing header.
  if (finalDestination >= 0) ip.dst = bytes.subarray(finalDestination, finalDestination + ADDRESS_LENGTH);
  state.ip = ip;
  state.offset = at;
  state.end = end;
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

/**
 * All extension headers in order, each pointing at the next, the last at the
 * layer `inner` (59 when none), in a new array. {@link encodeIpv6ExtensionsInto}
 * writes them into a buffer of the caller's.
 *
 * @example
 * ```ts
 * encodeIpv6Extensions([{ type: "fragment", identification: 7 }], undefined); // 3b 00 0000 00000007
 * ```
 */
export function encodeIpv6Extensions(exts: readonly Ipv6ExtensionInput[] | undefined, inner: LayerBase | undefined, dispatch?: Dispatch): Uint8Array {
  const out = new Uint8Array(ipv6ExtensionsLength(exts));
  encodeIpv6ExtensionsInto(exts, nextHeaderFor(inner, dispatch), out, 0);
  return out;
}

const NO_ADDRESS = new Uint8Array(ADDRESS_LENGTH);

/** Builds an IPv6 header and its extension headers, written once, straight into the packet: see {@link Ipv6Input}. */
export const ipv6Codec: Codec<Ipv6Input> = {
  headerLength: (v) => HEADER_LENGTH + ipv6ExtensionsLength(v.extensions),
  write(v, out, ctx) {
    const view = new Ipv6View(out);
    const upper = nextHeaderFor(ctx.inner, ctx.dispatch);
    encodeIpv6ExtensionsInto(v.extensions, upper, out, view.payloadStart);
    const first = v.extensions?.[0];
    view.version = v.version ?? 6;
    view.trafficClass = v.trafficClass ?? 0;
    view.flowLabel = v.flowLabel ?? 0;
    view.payloadLength = v.payloadLength ?? out.length - HEADER_LENGTH;
    view.nextHeader = v.nextHeader ?? (first === undefined ? upper : IPV6_EXTENSION_NUMBER[first.type]);
    view.hopLimit = v.hopLimit ?? 64;
    view.src = v.src === undefined ? NO_ADDRESS : ipv6Bytes(v.src);
    view.dst = v.dst === undefined ? NO_ADDRESS : ipv6Bytes(v.dst);
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
  inputRules: {
    version: 15,
    trafficClass: 0xff,
    flowLabel: 0xfffff,
    payloadLength: 0xffff,
    nextHeader: 0xff,
    hopLimit: 0xff,
    src: "ipv6",
    dst: "ipv6",
    extensions: {
      list: {
        type: ["hopByHop", "routing", "fragment", "destination"],
        nextHeader: 0xff,
        headerLength: { max: 2048, multipleOf: 8 }, // in 8-byte units after the first 8
        options: { list: { type: 0xff, data: "bytes" } },
        routingType: 0xff,
        segmentsLeft: 0xff,
        addresses: { each: "ipv6" },
        data: "bytes",
        fragmentOffset: { max: 0x1fff * 8, multipleOf: 8 },
        moreFragments: "bool",
        identification: 0xffffffff,
      },
    },
  },
};
