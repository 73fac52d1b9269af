/**
 * DHCPv4 / BOOTP messages (RFC 951, RFC 2131, options RFC 2132).
 *
 * Decoding reads the 236-byte fixed part, the magic cookie and the options, each
 * option decoded by its name into a plain value (addresses as text, times and
 * sizes as numbers, lists as arrays); unknown options keep their bytes. Option
 * overload (option 52, RFC 2132 §9.3) continues the options in the `file` and
 * then the `sname` field (RFC 2131 §4.1); such options carry `from`. An option
 * whose length runs past the data ends the option list with an {@link Issue}.
 *
 * Building fills what a user leaves out: `op` from the message type, Ethernet
 * hardware type and length, the magic cookie, option 53 first, the end option, and
 * zero padding up to 300 bytes (the BOOTP minimum, RFC 1542 §3.2.1).
 *
 * @example
 * ```ts
 * import { encodeDhcp } from "./dhcp.ts";
 * const discover = encodeDhcp({
 *   layer: "dhcp", messageType: "DISCOVER", xid: 0x3903f326, clientMac: "02:77:00:00:00:02",
 *   options: [{ name: "parameterRequestList", value: [1, 3, 6] }],
 * });
 * ```
 *
 * @module
 */
import type { Codec, DecodeState, Decoder, LayerBase, Protocol } from "./core.ts";
import { PORT_DHCP_CLIENT, PORT_DHCP_SERVER } from "./dispatch.ts";
import { formatHexColon, formatIpv4, formatMac, parseIpv4 } from "./addr.ts";

/** RFC 2131 §3: the four octets that open the options field. */
export const DHCP_MAGIC_COOKIE = 0x63825363;

/** BOOTP `op` values (RFC 951). */
export const BOOTP_OP = { REQUEST: 1, REPLY: 2 } as const;

/** DHCP message types, option 53 (RFC 2132 §9.6, RFC 4388, RFC 6926). */
export const DHCP_MESSAGE_TYPE = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
  FORCERENEW: 9,
  LEASEQUERY: 10,
  LEASEUNASSIGNED: 11,
  LEASEUNKNOWN: 12,
  LEASEACTIVE: 13,
} as const;

const MESSAGE_TYPE_NAMES = new Map<number, string>(Object.entries(DHCP_MESSAGE_TYPE).map(([k, v]) => [v, k]));

/** `DISCOVER`, `ACK`, ... or `TYPE<n>`. */
export function dhcpMessageTypeName(type: number): string {
  return MESSAGE_TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

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

/** Name of an option code: `leaseTime`, ... or `option<n>`. */
export function dhcpOptionName(code: number): string {
  return OPTION_TABLE.get(code)?.[0] ?? `option${code}`;
}

/** Code of an option name (`leaseTime`, `option<n>`) or a number passed through; throws on an unknown name. */
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

/** A decoded DHCP/BOOTP message. */
export interface Dhcp extends LayerBase {
  layer: "dhcp";
  /** 1 request (client to server), 2 reply */
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  /** the broadcast flag (RFC 2131 §2, bit 0 of `flags`) */
  broadcast: boolean;
  /** ciaddr */
  clientIp: string;
  /** yiaddr */
  yourIp: string;
  /** siaddr: the next server (e.g. for TFTP boot) */
  serverIp: string;
  /** giaddr */
  relayIp: string;
  /** the first `hlen` bytes of chaddr: colon MAC for Ethernet, colon hex otherwise */
  clientMac: string;
  /** text up to the first NUL; empty when the field carries overloaded options */
  sname: string;
  file: string;
  /** absent for a BOOTP message without options */
  magicCookie?: number;
  /** option 53, absent for plain BOOTP */
  messageType?: number;
  messageTypeName?: string;
  options: DhcpOption[];
  /** bytes in the message, padding included */
  length: number;
}

// ---------------------------------------------------------------------------
// Decoding

const FIXED_LENGTH = 236;
const SNAME_OFFSET = 44;
const FILE_OFFSET = 108;

const textDecoder = new TextDecoder("utf-8");

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}
function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return textDecoder.decode(nul < 0 ? b : b.subarray(0, nul));
}

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

/** Read options from `b` into `out`; true when an end option closed them. */
function readOptions(b: Uint8Array, out: DhcpOption[], from: DhcpOption["from"], state: DecodeState): boolean {
  const where = from === undefined ? "options" : `options in the ${from} field`;
  let pos = 0;
  while (pos < b.length) {
    const code = b[pos]!;
    if (code === 0) {
      pos++; // pad (RFC 2132 §3.1)
      continue;
    }
    if (code === 255) return true; // end (RFC 2132 §3.2)
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

/** Decode a DHCP/BOOTP message. Consumes all bytes; returns null. */
export const decodeDhcp: Decoder = (frame, state) => {
  // Off the hot path: one view of the message keeps the offsets below relative.
  const bytes = frame.subarray(state.offset, state.end);
  state.offset = state.end;
  if (bytes.length < FIXED_LENGTH) {
    state.issues.push({ layer: "dhcp", kind: "truncated", reason: `fixed part needs ${FIXED_LENGTH} bytes, got ${bytes.length}` });
    return null;
  }
  const hlen = bytes[2]!;
  const flags = u16(bytes, 10);
  const macLength = Math.min(hlen, 16);
  const dhcp: Dhcp = {
    layer: "dhcp",
    op: bytes[0]!,
    htype: bytes[1]!,
    hlen,
    hops: bytes[3]!,
    xid: u32(bytes, 4),
    secs: u16(bytes, 8),
    flags,
    broadcast: (flags & 0x8000) !== 0,
    clientIp: formatIpv4(bytes, 12),
    yourIp: formatIpv4(bytes, 16),
    serverIp: formatIpv4(bytes, 20),
    relayIp: formatIpv4(bytes, 24),
    clientMac: macLength === 6 ? formatMac(bytes, 28) : formatHexColon(bytes, 28, macLength),
    sname: "",
    file: "",
    options: [],
    length: bytes.length,
  };
  state.layers.push(dhcp);
  const sname = bytes.subarray(SNAME_OFFSET, SNAME_OFFSET + 64);
  const file = bytes.subarray(FILE_OFFSET, FILE_OFFSET + 128);
  let overload = 0;
  if (bytes.length >= FIXED_LENGTH + 4) {
    const cookie = u32(bytes, FIXED_LENGTH);
    dhcp.magicCookie = cookie;
    if (cookie !== DHCP_MAGIC_COOKIE) {
      state.issues.push({
        layer: "dhcp",
        kind: "malformed",
        reason: `magic cookie 0x${cookie.toString(16).padStart(8, "0")} is not 0x63825363`,
      });
    } else {
      const ended = readOptions(bytes.subarray(FIXED_LENGTH + 4), dhcp.options, undefined, state);
      if (!ended) state.issues.push({ layer: "dhcp", kind: "malformed", reason: "options end without an end option" });
      const o = dhcp.options.find((x) => x.code === 52);
      if (o && typeof o.value === "number") overload = o.value;
      // RFC 2131 §4.1: the options field first, then `file`, then `sname`.
      if (overload & 1) readOptions(file, dhcp.options, "file", state);
      if (overload & 2) readOptions(sname, dhcp.options, "sname", state);
    }
  }
  if (!(overload & 2)) dhcp.sname = cString(sname);
  if (!(overload & 1)) dhcp.file = cString(file);
  const type = dhcp.options.find((x) => x.code === 53);
  if (type && typeof type.value === "number") {
    dhcp.messageType = type.value;
    dhcp.messageTypeName = dhcpMessageTypeName(type.value);
  }
  return null;
};

// ---------------------------------------------------------------------------
// Encoding

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

/** What a user gives to build a DHCP message; every field has a default. */
export interface DhcpInput {
  layer: "dhcp";
  /** default: 2 for OFFER/ACK/NAK, else 1 */
  op?: number;
  htype?: number;
  hlen?: number;
  hops?: number;
  xid?: number;
  secs?: number;
  /** written verbatim when set; otherwise from `broadcast` */
  flags?: number;
  broadcast?: boolean;
  clientIp?: string;
  yourIp?: string;
  serverIp?: string;
  relayIp?: string;
  /** default 00:00:00:00:00:00 */
  clientMac?: string;
  sname?: string;
  file?: string;
  /** default 0x63825363 */
  magicCookie?: number;
  /** by number or name (`"DISCOVER"`); adds option 53 first unless the options hold it */
  messageType?: number | string;
  options?: DhcpOptionInput[];
  /** write the end option (default true) */
  end?: boolean;
  /** pad with zeros to at least this many bytes (default 300) */
  length?: number;
}

function messageTypeOf(t: number | string): number {
  if (typeof t === "number") return t;
  const v = (DHCP_MESSAGE_TYPE as Record<string, number>)[t.toUpperCase()];
  if (v === undefined) throw new RangeError(`Unknown DHCP message type "${t}"`);
  return v;
}

function macBytes(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length > 16 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`Invalid hardware address: "${text}"`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

function optionBytes(code: number, value: DhcpOptionValue | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  const kind = OPTION_TABLE.get(code)?.[1] ?? "bytes";
  const bad = (): never => {
    throw new TypeError(`DHCP option ${code} (${dhcpOptionName(code)}) value has the wrong shape`);
  };
  switch (kind) {
    case "ip":
      return typeof value === "string" ? parseIpv4(value) : bad();
    case "ips": {
      const list = typeof value === "string" ? [value] : Array.isArray(value) ? value : bad();
      const out = new Uint8Array(list.length * 4);
      list.forEach((a, i) => out.set(parseIpv4(String(a)), i * 4));
      return out;
    }
    case "u8":
      return typeof value === "number" ? Uint8Array.of(value) : bad();
    case "u16":
      return typeof value === "number" ? Uint8Array.of(value >>> 8, value) : bad();
    case "u32":
    case "i32":
      return typeof value === "number" ? Uint8Array.of(value >>> 24, value >>> 16, value >>> 8, value) : bad();
    case "text":
      return typeof value === "string" ? new TextEncoder().encode(value) : bad();
    case "u8list":
      return Array.isArray(value) ? Uint8Array.from(value as number[]) : bad();
    case "bytes":
      return bad();
  }
}

function writeOptions(list: DhcpOptionInput[], end: boolean): number[] {
  const out: number[] = [];
  for (const o of list) {
    const code = o.code ?? (o.name !== undefined ? dhcpOptionCode(o.name) : bad());
    if (code === 0 || code === 255) {
      out.push(code); // pad and end have no length byte
      continue;
    }
    const data = optionBytes(code, o.value);
    if (data.length > 255 && o.length === undefined) throw new RangeError(`DHCP option ${code} value of ${data.length} bytes exceeds 255`);
    out.push(code, (o.length ?? data.length) & 0xff, ...data);
  }
  if (end) out.push(255);
  return out;
  function bad(): never {
    throw new TypeError("A DHCP option needs a code or a name");
  }
}

/** Build a DHCP message. Throws on values that cannot be written (a bad address, an unknown name). */
export function encodeDhcp(input: DhcpInput): Uint8Array {
  const options = [...(input.options ?? [])];
  const type = input.messageType === undefined ? undefined : messageTypeOf(input.messageType);
  if (type !== undefined && !options.some((o) => (o.code ?? (o.name !== undefined ? dhcpOptionCode(o.name) : -1)) === 53)) {
    options.unshift({ code: 53, value: type });
  }
  const end = input.end ?? true;
  const main = writeOptions(
    options.filter((o) => o.from === undefined),
    end,
  );
  const fileOpts = options.filter((o) => o.from === "file");
  const snameOpts = options.filter((o) => o.from === "sname");
  const total = Math.max(FIXED_LENGTH + 4 + main.length, input.length ?? 300);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const serverType = type === 2 || type === 5 || type === 6;
  out[0] = input.op ?? (serverType ? BOOTP_OP.REPLY : BOOTP_OP.REQUEST);
  const mac = macBytes(input.clientMac ?? "00:00:00:00:00:00");
  out[1] = input.htype ?? 1;
  out[2] = input.hlen ?? mac.length;
  out[3] = input.hops ?? 0;
  dv.setUint32(4, (input.xid ?? 0) >>> 0);
  dv.setUint16(8, input.secs ?? 0);
  dv.setUint16(10, input.flags ?? (input.broadcast ? 0x8000 : 0));
  out.set(parseIpv4(input.clientIp ?? "0.0.0.0"), 12);
  out.set(parseIpv4(input.yourIp ?? "0.0.0.0"), 16);
  out.set(parseIpv4(input.serverIp ?? "0.0.0.0"), 20);
  out.set(parseIpv4(input.relayIp ?? "0.0.0.0"), 24);
  out.set(mac.subarray(0, 16), 28);
  const field = (text: string | undefined, opts: DhcpOptionInput[], at: number, size: number, what: string): void => {
    const b = opts.length > 0 ? Uint8Array.from(writeOptions(opts, true)) : new TextEncoder().encode(text ?? "");
    if (b.length > size) throw new RangeError(`DHCP ${what} of ${b.length} bytes exceeds ${size}`);
    out.set(b, at);
  };
  field(input.sname, snameOpts, SNAME_OFFSET, 64, "sname");
  field(input.file, fileOpts, FILE_OFFSET, 128, "file");
  dv.setUint32(FIXED_LENGTH, (input.magicCookie ?? DHCP_MAGIC_COOKIE) >>> 0);
  out.set(main, FIXED_LENGTH + 4);
  return out;
}

/** The value of the first option with this code or name, or undefined. */
export function dhcpOption(dhcp: Dhcp, codeOrName: number | string): DhcpOptionValue | undefined {
  const code = dhcpOptionCode(codeOrName);
  return dhcp.options.find((o) => o.code === code)?.value;
}

/** DHCP codec: the whole message is this layer's header. */
export const dhcpCodec: Codec<DhcpInput> = {
  headerLength(value) {
    return encodeDhcp(value).length;
  },
  write(value, out) {
    out.set(encodeDhcp(value), 0);
  },
};

/** DHCP (BOOTP) in the registry: UDP 67 (server) and 68 (client). */
export const dhcpProtocol: Protocol<"dhcp", Dhcp, DhcpInput> = {
  kind: "dhcp",
  decode: decodeDhcp,
  codec: dhcpCodec,
  claims: { udpPorts: [PORT_DHCP_SERVER, PORT_DHCP_CLIENT] },
};
