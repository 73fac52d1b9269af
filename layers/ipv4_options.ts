/**
 * IPv4 options (RFC 791 §3.1; router alert RFC 2113): the decoded
 * {@link Ipv4Option}, {@link parseIpv4Options} for the bytes between the fixed
 * header and the header length, and the build side, which sizes a list of
 * {@link Ipv4OptionInput} without building it ({@link ipv4OptionsLength}) and
 * writes it straight into the caller's buffer ({@link encodeIpv4OptionsInto}).
 *
 * @example
 * ```ts
 * import { encodeIpv4OptionsInto, ipv4OptionsLength } from "./ipv4_options.ts";
 * const options = [{ type: 148, value: 0 }, { type: 1 }];
 * const out = new Uint8Array(ipv4OptionsLength(options)); // 8: 4 + 1, padded to a multiple of 4
 * encodeIpv4OptionsInto(options, out, 0); // 94 04 00 00 01 00 00 00
 * ```
 *
 * @module
 */
import type { FieldRules } from "./core.ts";
import { checkInput } from "./input_check.ts";
import { formatIpv4, ipv4Bytes, type AddressInput } from "./addr.ts";
import { put16, put32, u16, u32 } from "./bytes.ts";

// `OPTION` is the table under a module-local name: V8 loads an exported
// binding through its cell at every use, and folds a local `const` (see ipv4.ts).

const OPTION = {
  /** end of option list (RFC 791): one byte, the rest of the header is padding */
  EOL: 0,
  /** no operation (RFC 791): one byte */
  NOP: 1,
  RECORD_ROUTE: 7,
  TIMESTAMP: 68,
  LOOSE_SOURCE_ROUTE: 131,
  STRICT_SOURCE_ROUTE: 137,
  /** RFC 2113 */
  ROUTER_ALERT: 148,
} as const;
/** Option-type octets this module parses and builds (the whole octet: copied flag, class, number). */
export const IPV4_OPTION = OPTION;

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
 * EOL (0) and NOP (1) without data are one byte. `length` overrides the length
 * octet. Addresses are text or 4 bytes each.
 */
export type Ipv4OptionInput = { type: number } & {
  [K in Exclude<keyof Ipv4Option, "type" | "name" | "addresses">]?: Ipv4Option[K];
} & { addresses?: readonly AddressInput[] };

const OPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [OPTION.EOL, "eol"],
  [OPTION.NOP, "nop"],
  [OPTION.RECORD_ROUTE, "recordRoute"],
  [11, "mtuProbe"],
  [12, "mtuReply"],
  [25, "quickStart"],
  [OPTION.TIMESTAMP, "timestamp"],
  [82, "traceroute"],
  [130, "security"],
  [OPTION.LOOSE_SOURCE_ROUTE, "looseSourceRoute"],
  [133, "extendedSecurity"],
  [134, "commercialSecurity"],
  [136, "streamId"],
  [OPTION.STRICT_SOURCE_ROUTE, "strictSourceRoute"],
  [145, "extendedInternetProtocol"],
  [OPTION.ROUTER_ALERT, "routerAlert"],
  [149, "selectiveDirectedBroadcast"],
  [151, "dynamicPacketState"],
  [152, "upstreamMulticast"],
]);

const EMPTY = new Uint8Array(0);
const NO_ADDRESS = new Uint8Array(4);

function isRoute(type: number): boolean {
  return type === OPTION.RECORD_ROUTE || type === OPTION.LOOSE_SOURCE_ROUTE || type === OPTION.STRICT_SOURCE_ROUTE;
}

/** Timestamp flags 1 and 3 pair each timestamp with an address (RFC 791, Internet Timestamp). */
function isPaired(flag: number | undefined): boolean {
  return flag === 1 || flag === 3;
}

function addressList(b: Uint8Array, start: number, end: number, step: number): string[] {
  const out: string[] = [];
  for (let i = start; i + 4 <= end; i += step) out.push(formatIpv4(b, i));
  return out;
}

function parseOption(b: Uint8Array, at: number, length: number): Ipv4Option {
  const type = b[at]!;
  const data = b.subarray(at + 2, at + length);
  const o: Ipv4Option = { type, name: OPTION_NAMES.get(type) ?? "unknown", length, data };
  if (isRoute(type) && data.length >= 1) {
    o.pointer = data[0]!;
    o.addresses = addressList(data, 1, data.length, 4);
  } else if (type === OPTION.TIMESTAMP && data.length >= 2) {
    o.pointer = data[0]!;
    o.overflow = data[1]! >> 4;
    o.flag = data[1]! & 15;
    const paired = isPaired(o.flag);
    const step = paired ? 8 : 4;
    o.timestamps = [];
    if (paired) o.addresses = [];
    for (let i = 2; i + step <= data.length; i += step) {
      if (paired) o.addresses!.push(formatIpv4(data, i));
      o.timestamps.push(u32(data, i + step - 4));
    }
  } else if (type === OPTION.ROUTER_ALERT && data.length === 2) {
    o.value = u16(data, 0);
  }
  return o;
}

/**
 * Parse the options in `b[start, end)` (the bytes between an IPv4 header's
 * fixed part and its header length) into `out`; returns the reason they are
 * malformed, or null. Every option advances by at least one byte, so the loop
 * ends; an EOL ends the list (RFC 791: what follows is padding).
 *
 * @example
 * ```ts
 * const options: Ipv4Option[] = [];
 * parseIpv4Options(header, 20, 24, options); // null: [{ type: 1, name: "nop", ... }, ...]
 * ```
 */
export function parseIpv4Options(b: Uint8Array, start: number, end: number, out: Ipv4Option[]): string | null {
  let i = start;
  while (i < end) {
    const type = b[i]!;
    if (type === OPTION.EOL || type === OPTION.NOP) {
      out.push({ type, name: type === OPTION.EOL ? "eol" : "nop", length: 1, data: EMPTY });
      i++;
      if (type === OPTION.EOL) break;
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

// ---- encoding ----

/** Entries of a timestamp option: one per timestamp, or per address when the flag pairs them and there are more. */
function timestampCount(o: Ipv4OptionInput): number {
  return Math.max(o.timestamps?.length ?? 0, isPaired(o.flag) ? (o.addresses?.length ?? 0) : 0);
}

/** Bytes after the type and length octets, for an option without `data`. */
function bodyLength(o: Ipv4OptionInput): number {
  if (isRoute(o.type)) return 1 + 4 * (o.addresses?.length ?? 0);
  if (o.type === OPTION.TIMESTAMP) return 2 + timestampCount(o) * (isPaired(o.flag) ? 8 : 4);
  if (o.type === OPTION.ROUTER_ALERT) return 2;
  return 0;
}

/** Bytes one option takes, unpadded. */
function optionLength(o: Ipv4OptionInput): number {
  if (o.data !== undefined) return 2 + o.data.length;
  if (o.type === OPTION.EOL || o.type === OPTION.NOP) return o.length === undefined ? 1 : 2;
  return 2 + bodyLength(o);
}

/**
 * Bytes a list of options takes in the header: their lengths, padded to a
 * multiple of 4 (RFC 791: the header ends on a 32-bit boundary). Builds
 * nothing.
 */
export function ipv4OptionsLength(options: readonly Ipv4OptionInput[] | undefined): number {
  if (options === undefined) return 0;
  let n = 0;
  for (const o of options) n += optionLength(o);
  return (n + 3) & ~3;
}

/** Write one option at `out[at]`; returns where it ends. */
function writeOption(o: Ipv4OptionInput, out: Uint8Array, at: number): number {
  out[at] = o.type;
  if (o.data !== undefined) {
    out[at + 1] = o.length ?? o.data.length + 2;
    out.set(o.data, at + 2);
    return at + 2 + o.data.length;
  }
  if (o.type === OPTION.EOL || o.type === OPTION.NOP) {
    if (o.length === undefined) return at + 1;
    out[at + 1] = o.length;
    return at + 2;
  }
  const body = bodyLength(o);
  out[at + 1] = o.length ?? body + 2;
  let i = at + 2;
  if (isRoute(o.type)) {
    out[i++] = o.pointer ?? 4; // RFC 791: the pointer's smallest legal value, the first address slot
    for (const a of o.addresses ?? []) {
      out.set(ipv4Bytes(a), i);
      i += 4;
    }
  } else if (o.type === OPTION.TIMESTAMP) {
    const paired = isPaired(o.flag);
    out[i++] = o.pointer ?? 5; // RFC 791: the first timestamp slot
    out[i++] = (((o.overflow ?? 0) & 15) << 4) | ((o.flag ?? 0) & 15);
    const n = timestampCount(o);
    for (let k = 0; k < n; k++) {
      if (paired) {
        const a = o.addresses?.[k];
        out.set(a === undefined ? NO_ADDRESS : ipv4Bytes(a), i);
        i += 4;
      }
      put32(out, i, o.timestamps?.[k] ?? 0);
      i += 4;
    }
  } else if (o.type === OPTION.ROUTER_ALERT) {
    put16(out, i, o.value ?? 0);
    i += 2;
  }
  return i;
}

/** What an option to build may hold (`ipv4Protocol.inputRules`, {@link encodeIpv4Options}). */
export const IPV4_OPTION_RULES = {
  type: 0xff,
  length: 0xff,
  data: "bytes",
  pointer: 0xff,
  overflow: 15,
  flag: 15,
  value: 0xffff,
  addresses: { each: "ipv4" },
  timestamps: { each: 0xffffffff },
} as const satisfies FieldRules;

/**
 * Write `options` at `out[at]`, zero (EOL) padded to a multiple of 4 bytes,
 * and return where they end: `at` + {@link ipv4OptionsLength}. Throws a
 * `RangeError` for unparsable address text.
 */
export function encodeIpv4OptionsInto(options: readonly Ipv4OptionInput[] | undefined, out: Uint8Array, at: number): number {
  if (options === undefined) return at;
  let i = at;
  for (const o of options) i = writeOption(o, out, i);
  const end = at + ((i - at + 3) & ~3);
  out.fill(0, i, end);
  return end;
}

/**
 * Encoded options, zero (EOL) padded to a multiple of 4 bytes, in a new array
 * ({@link encodeIpv4OptionsInto} writes them into a buffer of the caller's).
 *
 * @example
 * ```ts
 * encodeIpv4Options([{ type: 1 }]); // Uint8Array [1, 0, 0, 0]
 * ```
 */
export function encodeIpv4Options(options: readonly Ipv4OptionInput[] | undefined): Uint8Array {
  if (options !== undefined) checkInput("ipv4", { options }, { options: { list: IPV4_OPTION_RULES } });
  const n = ipv4OptionsLength(options);
  if (n === 0) return EMPTY;
  const out = new Uint8Array(n);
  encodeIpv4OptionsInto(options, out, 0);
  return out;
}
