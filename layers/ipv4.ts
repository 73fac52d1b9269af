/**
 * IPv4 (RFC 791) with options, header checksum, and fragment marking.
 *
 * Decoding sets `state.ip` for the transport layer and trims the payload to
 * the total length (dropping link padding). A total length past the captured
 * bytes is reported as `truncated` and decoding goes on (the transport checksum
 * is then unverified); a later fragment (offset > 0) ends with its bytes as
 * `payload`; the first fragment decodes on, marked incomplete. Inside an ICMP
 * error (`state.depth > 0`) a cut datagram is normal and not reported.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { layer: "payload", data: new Uint8Array(4) }]);
 * // 24 bytes: IHL 5, total length 24, TTL 64, id 0, DF off, protocol 0, checksum filled
 * ```
 *
 * @module
 */
import { formatIpv4, parseIpv4 } from "./addr.ts";
import { foldSum, internetChecksum, IpHeaderContext, onesSum } from "./checksum.ts";
import { pooledValue, type Codec, type Decoder, type Dispatch, type Input, type LayerBase, type Protocol } from "./core.ts";
import { AF_INET, ETHERTYPE_IPV4, IP_PROTOCOL_IPV4, LINKTYPE } from "./dispatch.ts";

/**
 * One IPv4 option. `type` is the whole option-type octet (copied flag, class,
 * number). `length` is the option's length octet (1 for EOL and NOP, which have
 * none) and `data` the bytes after it. Known options also get parsed fields.
 */
export interface Ipv4Option {
  type: number;
  /** IANA name in camelCase ("recordRoute", "routerAlert", ...) or "unknown" */
  name: string;
  length: number;
  data: Uint8Array;
  /** record route, loose/strict source route, timestamp: the pointer octet (RFC 791) */
  pointer?: number;
  /** route addresses (RR, LSRR, SSRR), or timestamp addresses (TS flag 1 and 3) */
  addresses?: string[];
  /** timestamp: overflow count (4 bits) */
  overflow?: number;
  /** timestamp: 0 timestamps only, 1 address + timestamp, 3 prespecified addresses */
  flag?: number;
  /** timestamp: the timestamps, ms since midnight UT */
  timestamps?: number[];
  /** router alert (RFC 2113): 0 = routers examine the packet */
  value?: number;
}

/**
 * Build input for an option. `data` is written as given; without it the
 * parsed fields are encoded (route `pointer` 4 + `addresses`; router alert
 * `value`; timestamp `pointer`/`overflow`/`flag`/`timestamps`/`addresses`).
 * EOL (0) and NOP (1) without data are one byte. `length` overrides the length octet.
 */
export type Ipv4OptionInput = { type: number } & { [K in Exclude<keyof Ipv4Option, "type" | "name">]?: Ipv4Option[K] };

/** A decoded IPv4 header. */
export interface Ipv4 extends LayerBase {
  layer: "ipv4";
  version: number;
  /** header length in bytes (IHL × 4) */
  headerLength: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  id: number;
  /** the reserved flag bit (RFC 3514's "evil bit") */
  reservedFlag: boolean;
  dontFragment: boolean;
  moreFragments: boolean;
  /** fragment offset in bytes (the field × 8) */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  /** header checksum verified: null when the header is cut short or verification is off */
  checksumValid: boolean | null;
  src: string;
  dst: string;
  options: Ipv4Option[];
}

/**
 * Build input. Unset: version 4, header length from the options (padded with
 * EOL to a multiple of 4), DSCP/ECN 0, total length from the payload, id 0,
 * all flags off (DF is NOT set by default), offset 0, TTL 64, protocol from the
 * layer inside (0 when unknown), checksum computed, addresses 0.0.0.0.
 */
export type Ipv4Input = Omit<Input<Ipv4>, "options" | "checksumValid"> & { options?: Ipv4OptionInput[] };

const OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "eol"],
  [1, "nop"],
  [7, "recordRoute"],
  [11, "mtuProbe"],
  [12, "mtuReply"],
  [25, "quickStart"],
  [68, "timestamp"],
  [82, "traceroute"],
  [130, "security"],
  [131, "looseSourceRoute"],
  [133, "extendedSecurity"],
  [134, "commercialSecurity"],
  [136, "streamId"],
  [137, "strictSourceRoute"],
  [145, "extendedInternetProtocol"],
  [148, "routerAlert"],
  [149, "selectiveDirectedBroadcast"],
  [151, "dynamicPacketState"],
  [152, "upstreamMulticast"],
]);

const EMPTY = new Uint8Array(0);

function addressList(b: Uint8Array, start: number, end: number, step: number): string[] {
  const out: string[] = [];
  for (let i = start; i + 4 <= end; i += step) out.push(formatIpv4(b, i));
  return out;
}

function parseOption(b: Uint8Array, at: number, length: number): Ipv4Option {
  const type = b[at]!;
  const data = b.subarray(at + 2, at + length);
  const o: Ipv4Option = { type, name: OPTION_NAMES.get(type) ?? "unknown", length, data };
  if ((type === 7 || type === 131 || type === 137) && data.length >= 1) {
    o.pointer = data[0]!;
    o.addresses = addressList(data, 1, data.length, 4);
  } else if (type === 68 && data.length >= 2) {
    o.pointer = data[0]!;
    o.overflow = data[1]! >> 4;
    o.flag = data[1]! & 15;
    const paired = o.flag === 1 || o.flag === 3;
    const step = paired ? 8 : 4;
    o.timestamps = [];
    if (paired) o.addresses = [];
    for (let i = 2; i + step <= data.length; i += step) {
      if (paired) o.addresses!.push(formatIpv4(data, i));
      const t = i + step - 4;
      o.timestamps.push(((data[t]! << 24) | (data[t + 1]! << 16) | (data[t + 2]! << 8) | data[t + 3]!) >>> 0);
    }
  } else if (type === 148 && data.length === 2) {
    o.value = (data[0]! << 8) | data[1]!;
  }
  return o;
}

/**
 * Parse options in `b[start, end)` into `out`; returns an error reason or null.
 * Every option advances by at least one byte, so the loop ends.
 */
function parseOptions(b: Uint8Array, start: number, end: number, out: Ipv4Option[]): string | null {
  let i = start;
  while (i < end) {
    const type = b[i]!;
    if (type === 0 || type === 1) {
      out.push({ type, name: type === 0 ? "eol" : "nop", length: 1, data: EMPTY });
      i++;
      if (type === 0) break; // RFC 791: end of option list; the rest is padding
      continue;
    }
    if (i + 1 >= end) return `option ${type} has no length octet`;
    const length = b[i + 1]!;
    if (length < 2) return `option ${type} length ${length} is less than 2`;
    if (i + length > end) return `option ${type} length ${length} exceeds the ${end - i} bytes left in the header`;
    out.push(parseOption(b, i, length));
    i += length;
  }
  return null;
}

function newIpv4(): Ipv4 {
  return {
    layer: "ipv4",
    version: 0,
    headerLength: 0,
    dscp: 0,
    ecn: 0,
    totalLength: 0,
    id: 0,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 0,
    protocol: 0,
    checksum: 0,
    checksumValid: null,
    src: "",
    dst: "",
    options: [],
  };
}

export const decodeIpv4: Decoder = (bytes, state) => {
  const at = state.offset;
  const len = state.end - at;
  if (len < 20) {
    state.issues.push({ layer: "ipv4", kind: "truncated", reason: `header needs 20 bytes, got ${len}` });
    return null;
  }
  const b0 = bytes[at]!;
  const version = b0 >> 4;
  if (version !== 4) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: `version ${version} is not 4` });
    return null;
  }
  const headerLength = (b0 & 15) * 4;
  if (headerLength < 20) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: `header length ${headerLength} is less than 20` });
    return null;
  }
  const totalLength = (bytes[at + 2]! << 8) | bytes[at + 3]!;
  const flags = (bytes[at + 6]! << 8) | bytes[at + 7]!;
  const fragmentOffset = (flags & 0x1fff) * 8;
  const moreFragments = (flags & 0x2000) !== 0;
  const protocol = bytes[at + 9]!;
  const whole = headerLength <= len;
  const value = pooledValue(state.pool?.ipv4, state.layers.length, newIpv4);
  const options = value.options;
  while (options.length > 0) options.pop(); // a pooled value's list: its option objects are new each time
  const optionError = whole && headerLength > 20 ? parseOptions(bytes, at + 20, at + headerLength, options) : null;
  value.version = version;
  value.headerLength = headerLength;
  value.dscp = bytes[at + 1]! >> 2;
  value.ecn = bytes[at + 1]! & 3;
  value.totalLength = totalLength;
  value.id = (bytes[at + 4]! << 8) | bytes[at + 5]!;
  value.reservedFlag = (flags & 0x8000) !== 0;
  value.dontFragment = (flags & 0x4000) !== 0;
  value.moreFragments = moreFragments;
  value.fragmentOffset = fragmentOffset;
  value.ttl = bytes[at + 8]!;
  value.protocol = protocol;
  value.checksum = (bytes[at + 10]! << 8) | bytes[at + 11]!;
  // The fixed header's ten words summed in place; the addresses' part is kept
  // for the transport pseudo-header.
  const addressSum =
    ((bytes[at + 12]! << 8) | bytes[at + 13]!) + ((bytes[at + 14]! << 8) | bytes[at + 15]!) +
    ((bytes[at + 16]! << 8) | bytes[at + 17]!) + ((bytes[at + 18]! << 8) | bytes[at + 19]!);
  if (whole && state.options.verifyChecksums !== false) {
    const fixedSum =
      ((b0 << 8) | bytes[at + 1]!) + totalLength + ((bytes[at + 4]! << 8) | bytes[at + 5]!) + flags +
      ((bytes[at + 8]! << 8) | protocol) + ((bytes[at + 10]! << 8) | bytes[at + 11]!) + addressSum;
    value.checksumValid = foldSum(headerLength > 20 ? onesSum(bytes, at + 20, at + headerLength, fixedSum) : fixedSum) === 0xffff;
  } else {
    value.checksumValid = null;
  }
  value.src = formatIpv4(bytes, at + 12);
  value.dst = formatIpv4(bytes, at + 16);
  state.layers.push(value);
  if (!whole) {
    state.issues.push({ layer: "ipv4", kind: "truncated", reason: `header length ${headerLength} exceeds ${len} bytes` });
    state.offset = state.end;
    return null;
  }
  if (totalLength < headerLength) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: `total length ${totalLength} is less than header length ${headerLength}` });
    state.offset = at + headerLength;
    return null;
  }
  const cut = totalLength > len;
  if (cut && state.depth === 0) {
    state.issues.push({ layer: "ipv4", kind: "truncated", reason: `total length ${totalLength} exceeds ${len} bytes` });
  }
  const complete = !cut && !moreFragments && fragmentOffset === 0;
  const upperLength = totalLength - headerLength;
  const spare = state.spareIp;
  state.ip =
    spare === undefined
      ? new IpHeaderContext(4, bytes, at, upperLength, complete, fragmentOffset > 0)
      : spare.reset(4, bytes, at, upperLength, complete, fragmentOffset > 0, addressSum);
  state.offset = at + headerLength;
  if (!cut) state.end = at + totalLength; // drops link padding
  if (optionError !== null) {
    state.issues.push({ layer: "ipv4", kind: "malformed", reason: optionError });
    return null;
  }
  if (fragmentOffset > 0) return null; // RFC 791: only the first fragment holds the transport header
  return state.dispatch.ipProtocol(protocol);
};

// ---- encoding ----

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function optionBytes(o: Ipv4OptionInput): number[] {
  let data: number[];
  if (o.data !== undefined) {
    data = [...o.data];
  } else if (o.type === 0 || o.type === 1) {
    return o.length === undefined ? [o.type] : [o.type, o.length];
  } else if (o.type === 7 || o.type === 131 || o.type === 137) {
    data = [o.pointer ?? 4];
    for (const a of o.addresses ?? []) data.push(...parseIpv4(a));
  } else if (o.type === 68) {
    const paired = o.flag === 1 || o.flag === 3;
    data = [o.pointer ?? 5, (((o.overflow ?? 0) & 15) << 4) | ((o.flag ?? 0) & 15)];
    const ts = o.timestamps ?? [];
    const n = Math.max(ts.length, paired ? (o.addresses?.length ?? 0) : 0);
    for (let i = 0; i < n; i++) {
      if (paired) data.push(...parseIpv4(o.addresses?.[i] ?? "0.0.0.0"));
      const t = ts[i] ?? 0;
      data.push((t >>> 24) & 0xff, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff);
    }
  } else if (o.type === 148) {
    data = u16(o.value ?? 0);
  } else {
    data = [];
  }
  return [o.type, o.length ?? data.length + 2, ...data];
}

/** Encoded options, zero (EOL) padded to a multiple of 4 bytes. */
export function encodeIpv4Options(options: readonly Ipv4OptionInput[] | undefined): Uint8Array {
  if (options === undefined || options.length === 0) return EMPTY;
  const bytes: number[] = [];
  for (const o of options) bytes.push(...optionBytes(o));
  const out = new Uint8Array((bytes.length + 3) & ~3);
  out.set(bytes);
  return out;
}

/** The IPv4 protocol number for the layer inside, 0 when there is none. */
function protocolFor(inner: LayerBase | undefined, dispatch: Dispatch | undefined): number {
  return inner === undefined ? 0 : (dispatch?.ipProtocolOf(inner.layer) ?? 0);
}

export const ipv4Codec: Codec<Ipv4Input> = {
  headerLength: (v) => 20 + encodeIpv4Options(v.options).length,
  write(v, out, ctx) {
    const options = encodeIpv4Options(v.options);
    const hl = 20 + options.length;
    const ihl = ((v.headerLength ?? hl) >> 2) & 15;
    const totalLength = v.totalLength ?? out.length;
    const flags =
      (v.reservedFlag === true ? 0x8000 : 0) |
      (v.dontFragment === true ? 0x4000 : 0) |
      (v.moreFragments === true ? 0x2000 : 0) |
      (((v.fragmentOffset ?? 0) >> 3) & 0x1fff);
    out[0] = (((v.version ?? 4) & 15) << 4) | ihl;
    out[1] = (((v.dscp ?? 0) & 63) << 2) | ((v.ecn ?? 0) & 3);
    out[2] = (totalLength >> 8) & 0xff;
    out[3] = totalLength & 0xff;
    out[4] = ((v.id ?? 0) >> 8) & 0xff;
    out[5] = (v.id ?? 0) & 0xff;
    out[6] = flags >> 8;
    out[7] = flags & 0xff;
    out[8] = v.ttl ?? 64;
    out[9] = v.protocol ?? protocolFor(ctx.inner, ctx.dispatch);
    out[10] = 0;
    out[11] = 0;
    out.set(v.src === undefined ? [0, 0, 0, 0] : parseIpv4(v.src), 12);
    out.set(v.dst === undefined ? [0, 0, 0, 0] : parseIpv4(v.dst), 16);
    out.set(options, 20);
    const checksum = v.checksum ?? internetChecksum(out, 0, hl);
    out[10] = (checksum >> 8) & 0xff;
    out[11] = checksum & 0xff;
  },
};

/** IPv4 in the registry: after ethertype 0x0800, IP protocol 4 (IP in IP), AF_INET, LINKTYPE_IPV4. */
export const ipv4Protocol: Protocol<"ipv4", Ipv4, Ipv4Input> = {
  kind: "ipv4",
  decode: decodeIpv4,
  codec: ipv4Codec,
  pooled: true,
  claims: { ethertypes: [ETHERTYPE_IPV4], ipProtocols: [IP_PROTOCOL_IPV4], addressFamilies: [AF_INET], linkTypes: [LINKTYPE.IPV4] },
};
