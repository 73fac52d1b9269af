/**
 * DHCPv4 / BOOTP messages (RFC 951, RFC 2131, options RFC 2132).
 *
 * Decoding reads the 236-byte fixed part (offsets in {@link DHCP_FIELD}), the
 * magic cookie and the options (`dhcp_options.ts`), each option decoded by its
 * name into a plain value (addresses as text, times and sizes as numbers,
 * lists as arrays); unknown options keep their bytes. Option overload (option
 * 52, RFC 2132 §9.3) continues the options in the `file` and then the `sname`
 * field (RFC 2131 §4.1); such options carry `from`. An option whose length
 * runs past the data ends the option list with an {@link Issue}.
 *
 * Building fills what a user leaves out: `op` from the message type, Ethernet
 * hardware type and length, the magic cookie, option 53 first, the end option, and
 * zero padding up to 300 bytes (the BOOTP minimum, RFC 1542 §3.2.1). It writes
 * the message once, straight into the caller's buffer (`dhcpCodec.append`).
 * {@link dhcpSummary} is tcpdump's line for a message.
 *
 * @example
 * ```ts
import { encodeDhcp } from "./dhcp.ts";
 * const discover = encodeDhcp({
 *   layer: "dhcp", messageType: "DISCOVER", xid: 0x3903f326, clientMac: "02:77:00:00:00:02",
 *   options: [{ name: "parameterRequestList", value: [1, 3, 6] }],
 * });
 * ```
 *
 * @module
 */
import { checkInput } from "./input_check.ts";
import type { Decoder, Issue, LayerBase, Protocol } from "./core.ts";
import { formatHexColon, formatIpv4, formatMac, parseIpv4 } from "./addr.ts";
import { put16, put32, u16, u32 } from "./bytes.ts";
import { appendCodec, type AppendCodec, ByteWriter, textOf, utf8Length } from "./byte_writer.ts";
import { PORT_DHCP_CLIENT, PORT_DHCP_SERVER } from "./dispatch.ts";
import {
  DHCP_OPTION,
  dhcpOptionCode,
  dhcpOptionsBound,
  readDhcpOptions,
  writeDhcpOptions,
  type DhcpOption,
  type DhcpOptionInput,
  type DhcpOptionValue,
} from "./dhcp_options.ts";

export {
  DHCP_OPTION,
  dhcpOptionCode,
  dhcpOptionName,
  type DhcpOption,
  type DhcpOptionInput,
  type DhcpOptionValue,
} from "./dhcp_options.ts";

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

/** `DISCOVER`, `ACK`, ... or `TYPE<n>`; e.g. `dhcpMessageTypeName(5)` is `"ACK"`. */
export function dhcpMessageTypeName(type: number): string {
  return MESSAGE_TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/**
 * Byte offsets of the fixed part's fields (RFC 2131 §2, Figure 1), by the
 * decoded value's names: ciaddr is `CLIENT_IP`, yiaddr `YOUR_IP`, siaddr
 * `SERVER_IP`, giaddr `RELAY_IP`, chaddr `CLIENT_MAC`; the options field
 * starts with the magic cookie.
 */
export const DHCP_FIELD = {
  OP: 0,
  HTYPE: 1,
  HLEN: 2,
  HOPS: 3,
  XID: 4,
  SECS: 8,
  FLAGS: 10,
  CLIENT_IP: 12,
  YOUR_IP: 16,
  SERVER_IP: 20,
  RELAY_IP: 24,
  CLIENT_MAC: 28,
  SNAME: 44,
  FILE: 108,
  MAGIC_COOKIE: 236,
  OPTIONS: 240,
} as const;

/** Bytes of the fixed part, before the options field (RFC 2131 §2). */
export const DHCP_FIXED_LENGTH = DHCP_FIELD.MAGIC_COOKIE;
/** Sizes of the fixed part's variable-text fields: chaddr, sname, file (RFC 2131 §2). */
const CLIENT_MAC_SIZE = 16;
const SNAME_SIZE = 64;
const FILE_SIZE = 128;
/** RFC 1542 §3.2.1: a BOOTP message is at least 300 bytes; builders pad to it. */
const BOOTP_MIN_LENGTH = 300;
/** RFC 2131 §2: the broadcast bit, the leftmost of `flags`. */
const FLAG_BROADCAST = 0x8000;
/** RFC 2132 §9.3: option 52's value says which fields carry options. */
const OVERLOAD_FILE = 1;
const OVERLOAD_SNAME = 2;
/** The hardware type of Ethernet (ARP hardware types, RFC 1700). */
const HTYPE_ETHERNET = 1;

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

const textDecoder = new TextDecoder("utf-8");

function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return textDecoder.decode(nul < 0 ? b : b.subarray(0, nul));
}

/** Decode a DHCP/BOOTP message. Consumes all bytes (none when the fixed part is cut: they stay as payload); returns null. */
export const decodeDhcp: Decoder = (frame, state) => {
  // Off the hot path: one view of the message keeps the offsets below relative.
  const bytes = frame.subarray(state.offset, state.end);
  if (bytes.length < DHCP_FIXED_LENGTH) {
    // Nothing decoded: the bytes stay as payload.
    state.issues.push({ layer: "dhcp", kind: "truncated", reason: `fixed part needs ${DHCP_FIXED_LENGTH} bytes, got ${bytes.length}` });
    return null;
  }
  state.offset = state.end;
  const hlen = bytes[DHCP_FIELD.HLEN]!;
  const flags = u16(bytes, DHCP_FIELD.FLAGS);
  const macLength = Math.min(hlen, CLIENT_MAC_SIZE);
  const dhcp: Dhcp = {
    layer: "dhcp",
    op: bytes[DHCP_FIELD.OP]!,
    htype: bytes[DHCP_FIELD.HTYPE]!,
    hlen,
    hops: bytes[DHCP_FIELD.HOPS]!,
    xid: u32(bytes, DHCP_FIELD.XID),
    secs: u16(bytes, DHCP_FIELD.SECS),
    flags,
    broadcast: (flags & FLAG_BROADCAST) !== 0,
    clientIp: formatIpv4(bytes, DHCP_FIELD.CLIENT_IP),
    yourIp: formatIpv4(bytes, DHCP_FIELD.YOUR_IP),
    serverIp: formatIpv4(bytes, DHCP_FIELD.SERVER_IP),
    relayIp: formatIpv4(bytes, DHCP_FIELD.RELAY_IP),
    clientMac: macLength === 6 ? formatMac(bytes, DHCP_FIELD.CLIENT_MAC) : formatHexColon(bytes, DHCP_FIELD.CLIENT_MAC, macLength),
    sname: "",
    file: "",
    options: [],
    length: bytes.length,
  };
  state.layers.push(dhcp);
  const sname = bytes.subarray(DHCP_FIELD.SNAME, DHCP_FIELD.SNAME + SNAME_SIZE);
  const file = bytes.subarray(DHCP_FIELD.FILE, DHCP_FIELD.FILE + FILE_SIZE);
  let overload = 0;
  if (bytes.length >= DHCP_FIELD.OPTIONS) {
    const cookie = u32(bytes, DHCP_FIELD.MAGIC_COOKIE);
    dhcp.magicCookie = cookie;
    if (cookie !== DHCP_MAGIC_COOKIE) {
      state.issues.push({
        layer: "dhcp",
        kind: "malformed",
        reason: `magic cookie 0x${cookie.toString(16).padStart(8, "0")} is not 0x63825363`,
      });
    } else {
      const ended = readDhcpOptions(bytes.subarray(DHCP_FIELD.OPTIONS), dhcp.options, undefined, state);
      if (!ended) state.issues.push({ layer: "dhcp", kind: "malformed", reason: "options end without an end option" });
      const o = dhcp.options.find((x) => x.code === DHCP_OPTION.OVERLOAD);
      if (o && typeof o.value === "number") overload = o.value;
      // RFC 2131 §4.1: the options field first, then `file`, then `sname`.
      if (overload & OVERLOAD_FILE) readDhcpOptions(file, dhcp.options, "file", state);
      if (overload & OVERLOAD_SNAME) readDhcpOptions(sname, dhcp.options, "sname", state);
    }
  }
  if (!(overload & OVERLOAD_SNAME)) dhcp.sname = cString(sname);
  if (!(overload & OVERLOAD_FILE)) dhcp.file = cString(file);
  const type = dhcp.options.find((x) => x.code === DHCP_OPTION.MESSAGE_TYPE);
  if (type && typeof type.value === "number") {
    dhcp.messageType = type.value;
    dhcp.messageTypeName = dhcpMessageTypeName(type.value);
  }
  return null;
};

// ---------------------------------------------------------------------------
// Encoding

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

/** chaddr as text: up to 16 octets of two hex digits, split by `:` or `-`. */
function hardwareAddress(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length > 16 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`Invalid hardware address: "${text}"`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** The options to write: the user's, with option 53 first when `messageType` is set and they lack it. */
function optionsOf(input: DhcpInput, type: number | undefined): DhcpOptionInput[] {
  const options = [...(input.options ?? [])];
  if (type !== undefined && !options.some((o) => (o.code ?? (o.name !== undefined ? dhcpOptionCode(o.name) : -1)) === DHCP_OPTION.MESSAGE_TYPE)) {
    options.unshift({ code: DHCP_OPTION.MESSAGE_TYPE, value: type });
  }
  return options;
}

/**
 * Fill sname or file (zeros already) at `w.out[at, at + size)`: the options
 * overloaded into it, or its text.
 */
function writeField(w: ByteWriter, at: number, size: number, text: string | undefined, opts: DhcpOptionInput[], what: string): void {
  let b: Uint8Array;
  if (opts.length > 0) {
    // Written apart first: the error for too many says how many bytes they take.
    const scratch = new ByteWriter("dhcp", new Uint8Array(dhcpOptionsBound(opts, true)), 0);
    writeDhcpOptions(scratch, opts, true);
    b = scratch.out.subarray(0, scratch.pos);
  } else {
    const s = textOf(text ?? "");
    const length = utf8Length(s);
    if (length > size) throw new RangeError(`DHCP ${what} of ${length} bytes exceeds ${size}`);
    new ByteWriter("dhcp", w.out, at).utf8(s, length);
    return;
  }
  if (b.length > size) throw new RangeError(`DHCP ${what} of ${b.length} bytes exceeds ${size}`);
  w.out.set(b, at);
}

/**
 * Write the message at `out[at, …)`; returns where it ends. The options are
 * written first, at their offset, so that a bad option is reported before a
 * bad address, as it always was; then the padding and the fixed part.
 */
function appendDhcp(input: DhcpInput, out: Uint8Array, at: number): number {
  const type = input.messageType === undefined ? undefined : messageTypeOf(input.messageType);
  const options = optionsOf(input, type);
  const w = new ByteWriter("dhcp", out, at);
  w.room(DHCP_FIELD.OPTIONS);
  w.pos = at + DHCP_FIELD.OPTIONS;
  writeDhcpOptions(
    w,
    options.filter((o) => o.from === undefined),
    input.end ?? true,
  );
  const end = at + Math.max(w.pos - at, input.length ?? BOOTP_MIN_LENGTH);
  w.zeros(end - w.pos);
  out.fill(0, at, at + DHCP_FIELD.OPTIONS);
  const serverType = type === DHCP_MESSAGE_TYPE.OFFER || type === DHCP_MESSAGE_TYPE.ACK || type === DHCP_MESSAGE_TYPE.NAK;
  out[at + DHCP_FIELD.OP] = input.op ?? (serverType ? BOOTP_OP.REPLY : BOOTP_OP.REQUEST);
  const mac = hardwareAddress(input.clientMac ?? "00:00:00:00:00:00");
  out[at + DHCP_FIELD.HTYPE] = input.htype ?? HTYPE_ETHERNET;
  out[at + DHCP_FIELD.HLEN] = input.hlen ?? mac.length;
  out[at + DHCP_FIELD.HOPS] = input.hops ?? 0;
  put32(out, at + DHCP_FIELD.XID, input.xid ?? 0);
  put16(out, at + DHCP_FIELD.SECS, input.secs ?? 0);
  put16(out, at + DHCP_FIELD.FLAGS, input.flags ?? (input.broadcast ? FLAG_BROADCAST : 0));
  out.set(parseIpv4(input.clientIp ?? "0.0.0.0"), at + DHCP_FIELD.CLIENT_IP);
  out.set(parseIpv4(input.yourIp ?? "0.0.0.0"), at + DHCP_FIELD.YOUR_IP);
  out.set(parseIpv4(input.serverIp ?? "0.0.0.0"), at + DHCP_FIELD.SERVER_IP);
  out.set(parseIpv4(input.relayIp ?? "0.0.0.0"), at + DHCP_FIELD.RELAY_IP);
  out.set(mac.subarray(0, CLIENT_MAC_SIZE), at + DHCP_FIELD.CLIENT_MAC);
  writeField(w, at + DHCP_FIELD.SNAME, SNAME_SIZE, input.sname, options.filter((o) => o.from === "sname"), "sname");
  writeField(w, at + DHCP_FIELD.FILE, FILE_SIZE, input.file, options.filter((o) => o.from === "file"), "file");
  put32(out, at + DHCP_FIELD.MAGIC_COOKIE, input.magicCookie ?? DHCP_MAGIC_COOKIE);
  return end;
}

/** At least the length {@link appendDhcp} writes, from lengths alone. */
function dhcpBound(input: DhcpInput): number {
  const main = (input.options ?? []).filter((o) => o.from === undefined);
  // Option 53 added first takes 3 bytes.
  const typeOption = input.messageType === undefined ? 0 : 3;
  return Math.max(DHCP_FIELD.OPTIONS + typeOption + dhcpOptionsBound(main, input.end ?? true), input.length ?? BOOTP_MIN_LENGTH);
}

/** Build a DHCP message. Throws on values that cannot be written (a bad address, an unknown name). */
export function encodeDhcp(input: DhcpInput): Uint8Array {
  checkInput("dhcp", input, dhcpProtocol.inputRules!);
  const out = new Uint8Array(dhcpBound(input));
  const n = appendDhcp(input, out, 0);
  return n === out.length ? out : out.slice(0, n);
}

/**
 * The value of the first option with this code or name, or undefined.
 *
 * @example
 * ```ts
 * dhcpOption(decoded, "leaseTime"); // 3600
 * ```
 */
export function dhcpOption(dhcp: Dhcp, codeOrName: number | string): DhcpOptionValue | undefined {
  const code = dhcpOptionCode(codeOrName);
  return dhcp.options.find((o) => o.code === code)?.value;
}

/** DHCP codec: the whole message is this layer, written once by `append`. */
export const dhcpCodec: AppendCodec<DhcpInput> = appendCodec<DhcpInput>(
  (value, out, at) => appendDhcp(value, out, at),
  (value) => dhcpBound(value),
);

// --- the one-line summary (tcpdump print-bootp.c without -v, plus the message type)

const DHCP_TYPE_TEXT = ["", "Discover", "Offer", "Request", "Decline", "ACK", "NACK", "Release", "Inform"];

/**
 * tcpdump's line for a BOOTP/DHCP message, plus the DHCP message type at the
 * end (tcpdump shows it only with `-v`):
 * `BOOTP/DHCP, Request from 02:77:00:00:00:02, length 300, DHCP Discover`.
 */
export function dhcpSummary(d: Dhcp): string {
  let s = "BOOTP/DHCP, " + (d.op === BOOTP_OP.REQUEST ? "Request" : d.op === BOOTP_OP.REPLY ? "Reply" : `unknown (0x${d.op.toString(16).padStart(2, "0")})`);
  if (d.htype === HTYPE_ETHERNET && d.hlen === 6 && d.op === BOOTP_OP.REQUEST) s += " from " + d.clientMac;
  s += ", length " + d.length;
  if (d.messageType !== undefined) s += ", DHCP " + (DHCP_TYPE_TEXT[d.messageType] ?? d.messageTypeName ?? String(d.messageType));
  return s;
}

/** DHCP (BOOTP) in the registry: UDP 67 (server) and 68 (client). */
export const dhcpProtocol: Protocol<"dhcp", Dhcp, DhcpInput> = {
  kind: "dhcp",
  decode: decodeDhcp,
  codec: dhcpCodec,
  claims: { udpPorts: [PORT_DHCP_SERVER, PORT_DHCP_CLIENT] },
  summary: dhcpSummary,
  inputRules: {
    op: 0xff,
    htype: 0xff,
    hlen: 0xff,
    hops: 0xff,
    xid: 0xffffffff,
    secs: 0xffff,
    flags: 0xffff,
    broadcast: "bool",
    clientIp: "ipv4",
    yourIp: "ipv4",
    serverIp: "ipv4",
    relayIp: "ipv4",
    clientMac: "text",
    sname: "text",
    file: "text",
    magicCookie: 0xffffffff,
    messageType: { orName: 0xff },
    options: { list: { code: 0xff, name: "text", length: 0xff, from: ["file", "sname"] } },
    end: "bool",
    length: "int",
  },
};
