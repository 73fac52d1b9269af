/**
 * TCP (RFC 9293 §3.1): a zero-copy {@link TcpView}, the decoded value
 * {@link Tcp}, {@link decodeTcp} and {@link tcpCodec}. Options live in
 * `tcp_options.ts`.
 *
 * ```text
 *  0                   1                   2                   3
 * +-------------------------------+-------------------------------+
 * |          Source Port          |       Destination Port        |
 * +---------------------------------------------------------------+
 * |                        Sequence Number                        |
 * +---------------------------------------------------------------+
 * |                    Acknowledgment Number                      |
 * +-------+-------+---------------+-------------------------------+
 * |  Data | Rsrvd |N C E U A P R S F|           Window            |
 * |Offset |       |S W C R C S S Y I|                             |
 * +-------+-------+---------------+-------------------------------+
 * |           Checksum            |         Urgent Pointer        |
 * +---------------------------------------------------------------+
 * |                    Options (data offset - 5 words)            |
 * ```
 *
 * @example
 * ```ts
 * import { TcpView, TCP_FLAGS } from "./tcp.ts";
 * const view = new TcpView(segment);
 * if (view.check() === null && (view.flags & TCP_FLAGS.SYN) !== 0) console.log("SYN to", view.dstPort);
 * ```
 *
 * @module
 */
import { checksumValidOf, pooledValue, type ChecksumStatus, type Codec, type Decoder, type IpContext, type IssueKind, type LayerBase, type Protocol } from "./core.ts";
import { checksumStatusAt, finishChecksum, foldSum, onesSum, pseudoHeaderSum } from "./checksum.ts";
import { IP_PROTOCOL_TCP } from "./dispatch.ts";
import { parseTcpOptions, tcpOptionsLength, writeTcpOptions, type TcpOption } from "./tcp_options.ts";

/** Bytes in the TCP header without options. */
export const TCP_HEADER_LENGTH = 20;

/**
 * Flag bits as they appear in {@link Tcp.flags}: the low 12 bits of header
 * bytes 12-13. Bits 9-11 are reserved (RFC 9293) and normally 0; NS (RFC 3540,
 * now historic) is bit 8.
 */
export const TCP_FLAGS = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
} as const;

/** Ports a {@link tcpCodec} writes when none is set (scapy's choice): source 20, destination 80. */
export const TCP_DEFAULT_SRC_PORT = 20;
export const TCP_DEFAULT_DST_PORT = 80;
/** Window a {@link tcpCodec} writes when none is set: the largest unscaled value. */
export const TCP_DEFAULT_WINDOW = 65535;

/** A decoded TCP header. */
export interface Tcp extends LayerBase {
  layer: "tcp";
  srcPort: number;
  dstPort: number;
  /** sequence number, unsigned 32-bit */
  seq: number;
  /** acknowledgment number, unsigned 32-bit (meaningful when ACK is set) */
  ack: number;
  /** data offset in bytes (the field times 4) */
  headerLength: number;
  /** flag bits, see {@link TCP_FLAGS}: e.g. 0x012 for SYN+ACK */
  flags: number;
  window: number;
  checksum: number;
  /** true / false, or null when it could not be verified (see `checksumStatus`) */
  checksumValid: boolean | null;
  checksumStatus: ChecksumStatus;
  urgentPointer: number;
  /** options in wire order, EOL included when present */
  options: TcpOption[];
}

/**
 * What a user sets to build a TCP header; everything is optional.
 *
 * Defaults: `srcPort` 20; `dstPort` the well-known port of the layer inside
 * (http 80, dns 53), else 80; `seq`/`ack`/`urgentPointer` 0; `flags` SYN
 * (0x002, as scapy); `window` 65535; `options` none. `headerLength` is
 * derived from the options, padded with EOL (zero) bytes to a multiple of 4;
 * set it to write a different data offset (`headerLength >>> 2`), e.g. a lying
 * one. `checksum` is computed with the enclosing IP layer's pseudo-header (0
 * when there is none).
 */
export interface TcpInput {
  layer: "tcp";
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  ack?: number;
  headerLength?: number;
  flags?: number;
  window?: number;
  checksum?: number;
  urgentPointer?: number;
  options?: readonly TcpOption[];
}

/**
 * A TCP header over bytes, without copying. The constructor checks nothing;
 * call {@link TcpView.check} once before trusting `options`, `payload` and the
 * checksum methods.
 */
export class TcpView {
  bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Point this view at other bytes, so one view serves a whole capture. */
  reset(bytes: Uint8Array): this {
    this.bytes = bytes;
    return this;
  }

  /** null when the fixed header fits and 20 <= headerLength <= bytes.length, else the reason. */
  check(): string | null {
    const n = this.bytes.length;
    if (n < TCP_HEADER_LENGTH) return `header needs 20 bytes, have ${n}`;
    const h = this.headerLength;
    if (h < TCP_HEADER_LENGTH) return `data offset ${h >>> 2} is less than 5`;
    if (h > n) return `header length ${h} exceeds ${n} bytes`;
    return null;
  }

  get srcPort(): number {
    return (this.bytes[0]! << 8) | this.bytes[1]!;
  }
  set srcPort(v: number) {
    this.bytes[0] = v >>> 8;
    this.bytes[1] = v;
  }
  get dstPort(): number {
    return (this.bytes[2]! << 8) | this.bytes[3]!;
  }
  set dstPort(v: number) {
    this.bytes[2] = v >>> 8;
    this.bytes[3] = v;
  }
  get seq(): number {
    const b = this.bytes;
    return ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
  }
  set seq(v: number) {
    const b = this.bytes;
    b[4] = v >>> 24;
    b[5] = v >>> 16;
    b[6] = v >>> 8;
    b[7] = v;
  }
  get ack(): number {
    const b = this.bytes;
    return ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0;
  }
  set ack(v: number) {
    const b = this.bytes;
    b[8] = v >>> 24;
    b[9] = v >>> 16;
    b[10] = v >>> 8;
    b[11] = v;
  }
  /** data offset in bytes */
  get headerLength(): number {
    return (this.bytes[12]! >>> 4) * 4;
  }
  /** sets the data offset to `v >>> 2` words, keeping the low nibble of byte 12 */
  set headerLength(v: number) {
    this.bytes[12] = (((v >>> 2) & 0x0f) << 4) | (this.bytes[12]! & 0x0f);
  }
  get flags(): number {
    return ((this.bytes[12]! & 0x0f) << 8) | this.bytes[13]!;
  }
  /** sets the 12 flag bits, keeping the data offset */
  set flags(v: number) {
    this.bytes[12] = (this.bytes[12]! & 0xf0) | ((v >>> 8) & 0x0f);
    this.bytes[13] = v;
  }
  get window(): number {
    return (this.bytes[14]! << 8) | this.bytes[15]!;
  }
  set window(v: number) {
    this.bytes[14] = v >>> 8;
    this.bytes[15] = v;
  }
  get checksum(): number {
    return (this.bytes[16]! << 8) | this.bytes[17]!;
  }
  set checksum(v: number) {
    this.bytes[16] = v >>> 8;
    this.bytes[17] = v;
  }
  get urgentPointer(): number {
    return (this.bytes[18]! << 8) | this.bytes[19]!;
  }
  set urgentPointer(v: number) {
    this.bytes[18] = v >>> 8;
    this.bytes[19] = v;
  }

  /** The raw option bytes (between the fixed header and the data offset). */
  get optionBytes(): Uint8Array {
    return this.bytes.subarray(TCP_HEADER_LENGTH, this.headerLength);
  }

  /** The data after the header, to the end of the bytes (the IP layer trims padding). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }

  /** Whether header + data sum right with these addresses' pseudo-header (4 or 16 bytes each). */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const n = this.bytes.length;
    return foldSum(onesSum(this.bytes, 0, n, pseudoHeaderSum(src, dst, IP_PROTOCOL_TCP, n))) === 0xffff;
  }

  /** Compute and store the checksum over all the bytes. */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    this.checksum = 0;
    const n = this.bytes.length;
    this.checksum = finishChecksum(onesSum(this.bytes, 0, n, pseudoHeaderSum(src, dst, IP_PROTOCOL_TCP, n)));
  }
}

function newTcp(): Tcp {
  return {
    layer: "tcp",
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    headerLength: 0,
    flags: 0,
    window: 0,
    checksum: 0,
    checksumValid: null,
    checksumStatus: "unverified",
    urgentPointer: 0,
    options: [],
  };
}

function shortKind(ip: IpContext | null): IssueKind {
  return ip !== null && ip.complete ? "malformed" : "truncated";
}

/**
 * Decode a TCP header with its options. A data offset below 5 or past the
 * bytes ends the decode with an Issue; a bad option is an Issue too, but the
 * options before it are kept and the payload is still decoded. The next layer
 * comes from the TCP port table (destination first), then a look at the
 * payload's first bytes, else `"payload"`; an empty payload ends the decode.
 */
export const decodeTcp: Decoder = (bytes, state) => {
  const ip = state.ip;
  const at = state.offset;
  const n = state.end - at;
  if (ip !== null && ip.laterFragment) {
    return n === 0 ? null : "payload";
  }
  if (n < TCP_HEADER_LENGTH) {
    state.issues.push({ layer: "tcp", kind: shortKind(ip), reason: `header needs 20 bytes, have ${n}` });
    state.offset = state.end;
    return null;
  }
  const headerLength = (bytes[at + 12]! >>> 4) * 4;
  const pool = state.pool;
  const tcp = pooledValue(pool?.tcp, state.layers.length, newTcp);
  // A pooled value's list holds the last packet's options: parsing overwrites
  // and truncates it (an empty range empties it).
  const options = tcp.options;
  const reuse = pool !== undefined;
  const optionsStart = at + TCP_HEADER_LENGTH;
  let issueKind: IssueKind | null = null;
  let reason = "";
  let stop = false;
  if (headerLength < TCP_HEADER_LENGTH) {
    issueKind = "malformed";
    reason = `data offset ${headerLength >>> 2} is less than 5`;
    stop = true;
    while (options.length > 0) options.pop();
  } else if (headerLength > n) {
    issueKind = shortKind(ip);
    reason = `header length ${headerLength} exceeds ${n} bytes`;
    stop = true;
    // Keep what the captured part of the options says; their own problem is secondary.
    parseTcpOptions(bytes, optionsStart, at + n, options, at, reuse);
  } else {
    const problem = parseTcpOptions(bytes, optionsStart, at + headerLength, options, at, reuse);
    if (problem !== null) {
      issueKind = "malformed";
      reason = problem;
    }
  }
  const checksumStatus: ChecksumStatus =
    state.options.verifyChecksums === false || ip === null
      ? "unverified"
      : checksumStatusAt(bytes, at, at + n, 16, IP_PROTOCOL_TCP, ip, ip.upperLength);
  const srcPort = (bytes[at]! << 8) | bytes[at + 1]!;
  const dstPort = (bytes[at + 2]! << 8) | bytes[at + 3]!;
  tcp.srcPort = srcPort;
  tcp.dstPort = dstPort;
  tcp.seq = ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0;
  tcp.ack = ((bytes[at + 8]! << 24) | (bytes[at + 9]! << 16) | (bytes[at + 10]! << 8) | bytes[at + 11]!) >>> 0;
  tcp.headerLength = headerLength;
  tcp.flags = ((bytes[at + 12]! & 0x0f) << 8) | bytes[at + 13]!;
  tcp.window = (bytes[at + 14]! << 8) | bytes[at + 15]!;
  tcp.checksum = (bytes[at + 16]! << 8) | bytes[at + 17]!;
  tcp.checksumValid = checksumValidOf(checksumStatus);
  tcp.checksumStatus = checksumStatus;
  tcp.urgentPointer = (bytes[at + 18]! << 8) | bytes[at + 19]!;
  state.layers.push(tcp);
  if (issueKind !== null) state.issues.push({ layer: "tcp", kind: issueKind, reason });
  if (stop) {
    state.offset = at + Math.min(Math.max(headerLength, TCP_HEADER_LENGTH), n);
    return null;
  }
  state.offset = at + headerLength;
  if (headerLength === n) return null;
  return state.dispatch.tcpPort(srcPort, dstPort) ?? state.dispatch.sniffTcp(bytes, at + headerLength, state.end) ?? "payload";
};

/** Header bytes for these options: 20 plus the options padded to a multiple of 4. */
function headerBytes(options: readonly TcpOption[] | undefined): number {
  return TCP_HEADER_LENGTH + ((tcpOptionsLength(options ?? []) + 3) & ~3);
}

/** Builds a TCP header: see {@link TcpInput} for the defaults. */
export const tcpCodec: Codec<TcpInput> = {
  headerLength: (value) => headerBytes(value.options),
  write(value, out, ctx) {
    const length = headerBytes(value.options);
    const view = new TcpView(out);
    view.srcPort = value.srcPort ?? TCP_DEFAULT_SRC_PORT;
    view.dstPort = value.dstPort ?? (ctx.inner === undefined ? undefined : ctx.dispatch?.tcpPortOf(ctx.inner.layer)) ?? TCP_DEFAULT_DST_PORT;
    view.seq = value.seq ?? 0;
    view.ack = value.ack ?? 0;
    out[12] = 0;
    view.headerLength = value.headerLength ?? length;
    view.flags = value.flags ?? TCP_FLAGS.SYN;
    view.window = value.window ?? TCP_DEFAULT_WINDOW;
    view.urgentPointer = value.urgentPointer ?? 0;
    const end = writeTcpOptions(value.options ?? [], out, TCP_HEADER_LENGTH);
    out.fill(0, end, length); // RFC 9293 §3.1: pad with zeros (EOL)
    if (value.checksum !== undefined) view.checksum = value.checksum;
    else if (ctx.ip === undefined) view.checksum = 0;
    else view.fillChecksum(ctx.ip.src, ctx.ip.dst);
  },
};

/** TCP in the registry. */
export const tcpProtocol: Protocol<"tcp", Tcp, TcpInput> = {
  kind: "tcp",
  decode: decodeTcp,
  codec: tcpCodec,
  pooled: true,
  claims: { ipProtocols: [IP_PROTOCOL_TCP] },
};
