/**
 * DHCP options (RFC 2132 and later RFCs where noted), both ways: a table of
 * the options this package names, reading an option list into plain values
 * (addresses as text, times and sizes as numbers, lists as arrays; unknown
 * options keep their bytes) and writing one from them. Used by `dhcp.ts`,
 * which re-exports the public names.
 *
 * @example
 * ```ts
 * import { dhcpOptionCode, dhcpOptionName } from "./dhcp_options.ts";
 * dhcpOptionCode("leaseTime"); // 51
 * dhcpOptionName(51); // "leaseTime"
 * ```
 *
 * @module
 */
import type { DecodeState } from "./core.ts";
import { formatIpv4, parseIpv4 } from "./addr.ts";
import { u16, u32 } from "./bytes.ts";
import { ByteWriter, utf8Length } from "./byte_writer.ts";

/** Option codes the message itself depends on (RFC 2132 §3.1, §3.2, §9.3, §9.6). */
export const DHCP_OPTION = { PAD: 0, OVERLOAD: 52, MESSAGE_TYPE: 53, END: 255 } as const;

/** How an option's bytes read as a value. */
type ValueKind = "ip" | "ips" | "u8" | "u16" | "u32" | "i32" | "text" | "u8list" | "bytes";

// RFC 2132 (and later RFCs where noted): code → [name, value kind].
const OPTION_TABLE: ReadonlyMap<number, readonly [string, ValueKind]> = new Map<number, readonly [string, ValueKind]>([
  [1, ["subnetMask", "ip"]],
  [2, ["timeOffset", "i32"]],
  [3, ["router", "ips"]],
  [4, ["timeServer", "ips"]],
  [5, ["nameServer", "ips"]],
  [6, ["dnsServers", "ips"]],
  [7, ["logServer", "ips"]],
  [12, ["hostname", "text"]],
  [13, ["bootFileSize", "u16"]],
  [15, ["domainName", "text"]],
  [17, ["rootPath", "text"]],
  [19, ["ipForwarding", "u8"]],
  [23, ["defaultTtl", "u8"]],
  [26, ["interfaceMtu", "u16"]],
  [28, ["broadcastAddress", "ip"]],
  [33, ["staticRoute", "bytes"]],
  [40, ["nisDomain", "text"]],
  [42, ["ntpServers", "ips"]],
  [43, ["vendorSpecific", "bytes"]],
  [44, ["netbiosNameServers", "ips"]],
  [46, ["netbiosNodeType", "u8"]],
  [47, ["netbiosScope", "text"]],
  [50, ["requestedIp", "ip"]],
  [51, ["leaseTime", "u32"]],
  [52, ["overload", "u8"]],
  [53, ["messageType", "u8"]],
  [54, ["serverId", "ip"]],
  [55, ["parameterRequestList", "u8list"]],
  [56, ["message", "text"]],
  [57, ["maxMessageSize", "u16"]],
  [58, ["renewalTime", "u32"]],
  [59, ["rebindingTime", "u32"]],
  [60, ["vendorClass", "text"]],
  [61, ["clientId", "bytes"]],
  [66, ["tftpServerName", "text"]],
  [67, ["bootfileName", "text"]],
  [77, ["userClass", "bytes"]],
  [80, ["rapidCommit", "bytes"]], // RFC 4039
  [81, ["clientFqdn", "bytes"]], // RFC 4702
  [82, ["relayAgentInformation", "bytes"]], // RFC 3046
  [93, ["clientArchitecture", "bytes"]], // RFC 4578
  [116, ["autoConfigure", "u8"]], // RFC 2563
  [118, ["subnetSelection", "ip"]], // RFC 3011
  [119, ["domainSearch", "bytes"]], // RFC 3397 (DNS wire names)
  [121, ["classlessStaticRoute", "bytes"]], // RFC 3442
  [252, ["wpad", "text"]],
]);
const OPTION_BY_NAME = new Map<string, number>([...OPTION_TABLE].map(([code, [name]]) => [name, code]));

/** Name of an option code: `leaseTime`, ... or `option<n>`; e.g. `dhcpOptionName(3)` is `"router"`. */
export function dhcpOptionName(code: number): string {
  return OPTION_TABLE.get(code)?.[0] ?? `option${code}`;
}

/**
 * Code of an option name (`leaseTime`, `option<n>`) or a number passed through; throws on an unknown name.
 *
 * @example
 * ```ts
 * dhcpOptionCode("router"); // 3
 * dhcpOptionCode("option200"); // 200
 * ```
 */
export function dhcpOptionCode(name: number | string): number {
  if (typeof name === "number") return name;
  const code = OPTION_BY_NAME.get(name) ?? (/^option(\d{1,3})$/.exec(name) ? Number(name.slice(6)) : undefined);
  if (code === undefined || code > 255) throw new RangeError(`Unknown DHCP option name "${name}"`);
  return code;
}

/**
 * A decoded option value: addresses as dotted quads (`ips` as a list), numbers,
 * text, a list of codes (parameter request list), or raw bytes for options
 * without a decoder or whose length does not fit their type.
 */
export type DhcpOptionValue = number | string | string[] | number[] | Uint8Array;

/** One option as it was on the wire, in order. */
export interface DhcpOption {
  code: number;
  /** `messageType`, `leaseTime`, ... or `option<n>` */
  name: string;
  /** the option's length byte */
  length: number;
  value: DhcpOptionValue;
  /** set when the option came from an overloaded `file` or `sname` field */
  from?: "file" | "sname";
}

/**
 * One option to build: by `code` or `name`; `value` in the decoded shapes (raw
 * bytes for any option); `length` overrides the length byte (to build a lie);
 * `from` puts it into an overloaded field (set option 52 yourself).
 */
export interface DhcpOptionInput {
  code?: number;
  name?: string;
  value?: DhcpOptionValue;
  length?: number;
  from?: "file" | "sname";
}

// ---------------------------------------------------------------------------
// Reading

const textDecoder = new TextDecoder("utf-8");

/** Value of an option's bytes, or null when the length does not fit the kind. */
function optionValue(kind: ValueKind, b: Uint8Array): DhcpOptionValue | null {
  switch (kind) {
    case "ip":
      return b.length === 4 ? formatIpv4(b, 0) : null;
    case "ips": {
      if (b.length === 0 || b.length % 4 !== 0) return null;
      const list: string[] = [];
      for (let i = 0; i < b.length; i += 4) list.push(formatIpv4(b, i));
      return list;
    }
    case "u8":
      return b.length === 1 ? b[0]! : null;
    case "u16":
      return b.length === 2 ? u16(b, 0) : null;
    case "u32":
      return b.length === 4 ? u32(b, 0) : null;
    case "i32":
      return b.length === 4 ? u32(b, 0) | 0 : null;
    case "text":
      return textDecoder.decode(b);
    case "u8list":
      return Array.from(b);
    case "bytes":
      return b;
  }
}

/**
 * Read the options in `b` into `out` (each with `from` when given); true when
 * an end option closed them. A bad option ends the list with an issue.
 */
export function readDhcpOptions(b: Uint8Array, out: DhcpOption[], from: DhcpOption["from"], state: DecodeState): boolean {
  const where = from === undefined ? "options" : `options in the ${from} field`;
  let pos = 0;
  while (pos < b.length) {
    const code = b[pos]!;
    if (code === DHCP_OPTION.PAD) {
      pos++; // RFC 2132 §3.1: pad has no length byte
      continue;
    }
    if (code === DHCP_OPTION.END) return true; // RFC 2132 §3.2
    if (pos + 1 >= b.length) {
      state.issues.push({ layer: "dhcp", kind: "truncated", reason: `${where}: option ${code} has no length byte` });
      return true;
    }
    const length = b[pos + 1]!;
    if (pos + 2 + length > b.length) {
      state.issues.push({
        layer: "dhcp",
        kind: "malformed",
        reason: `${where}: option ${code} length ${length} runs past the end (${b.length - pos - 2} bytes left)`,
      });
      return true;
    }
    const data = b.subarray(pos + 2, pos + 2 + length);
    const known = OPTION_TABLE.get(code);
    let value: DhcpOptionValue | null = data;
    if (known) {
      value = optionValue(known[1], data);
      if (value === null) {
        state.issues.push({
          layer: "dhcp",
          kind: "malformed",
          reason: `${where}: option ${code} (${known[0]}) length ${length} does not fit its type`,
        });
        value = data;
      }
    }
    const option: DhcpOption = { code, name: known?.[0] ?? `option${code}`, length, value };
    if (from !== undefined) option.from = from;
    out.push(option);
    pos += 2 + length;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Writing

/** The code of an option to build, from `code` or `name`. */
function optionCodeOf(o: DhcpOptionInput): number {
  if (o.code !== undefined) return o.code;
  if (o.name !== undefined) return dhcpOptionCode(o.name);
  throw new TypeError("A DHCP option needs a code or a name");
}

/** Write an option's value in the shape its code's kind takes (raw bytes for any code). */
function writeValue(w: ByteWriter, code: number, value: DhcpOptionValue | undefined): void {
  if (value === undefined) return;
  if (value instanceof Uint8Array) return w.bytes(value);
  const kind = OPTION_TABLE.get(code)?.[1] ?? "bytes";
  const bad = (): never => {
    throw new TypeError(`DHCP option ${code} (${dhcpOptionName(code)}) value has the wrong shape`);
  };
  switch (kind) {
    case "ip":
      return typeof value === "string" ? w.bytes(parseIpv4(value)) : bad();
    case "ips": {
      const list = typeof value === "string" ? [value] : Array.isArray(value) ? value : bad();
      const base = w.pos;
      w.zeros(list.length * 4);
      list.forEach((a, i) => w.out.set(parseIpv4(String(a)), base + i * 4));
      return;
    }
    case "u8":
      return typeof value === "number" ? w.u8(value) : bad();
    case "u16":
      return typeof value === "number" ? w.u16(value) : bad();
    case "u32":
    case "i32":
      return typeof value === "number" ? w.u32(value) : bad();
    case "text":
      return typeof value === "string" ? w.utf8(value) : bad();
    case "u8list":
      if (!Array.isArray(value)) return bad();
      for (const v of value as number[]) w.u8(v);
      return;
    case "bytes":
      return bad();
  }
}

/**
 * Write `list` in order, then an end option when `end` is set. Pad and end
 * have no length byte (RFC 2132 §3.1, §3.2); any other option's length byte
 * is its value's length unless `length` overrides it.
 */
export function writeDhcpOptions(w: ByteWriter, list: readonly DhcpOptionInput[], end: boolean): void {
  for (const o of list) {
    const code = optionCodeOf(o);
    if (code === DHCP_OPTION.PAD || code === DHCP_OPTION.END) {
      w.u8(code);
      continue;
    }
    w.u8(code);
    const lengthAt = w.pos;
    w.u8(0);
    writeValue(w, code, o.value);
    const length = w.pos - lengthAt - 1;
    if (length > 255 && o.length === undefined) throw new RangeError(`DHCP option ${code} value of ${length} bytes exceeds 255`);
    w.out[lengthAt] = o.length ?? length;
  }
  if (end) w.u8(DHCP_OPTION.END);
}

/** At least the bytes a value of any option kind takes: a number 4 at most, an address 4, a list 4 per item. */
function valueBound(value: unknown): number {
  if (value === undefined) return 0;
  if (value instanceof Uint8Array) return value.length;
  if (typeof value === "string") return Math.max(4, utf8Length(value));
  if (Array.isArray(value)) return 4 * value.length;
  return 4;
}

/** At least as many bytes as {@link writeDhcpOptions} writes for `list` and `end`, from lengths alone. */
export function dhcpOptionsBound(list: readonly DhcpOptionInput[], end: boolean): number {
  let n = end ? 1 : 0;
  for (const o of list) n += 2 + valueBound(o.value);
  return n;
}
