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
import { put16, put32, u16, u32 } from "./bytes.ts";
import { IP_PROTOCOL_TCP, PORT_FTP_DATA, PORT_HTTP } from "./dispatch.ts";
import { parseTcpOptions, tcpOptionsLength, writeTcpOptions, type TcpOption } from "./tcp_options.ts";
import { ByteView } from "./view.ts";

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
export const TCP_DEFAULT_SRC_PORT = PORT_FTP_DATA;
export const TCP_DEFAULT_DST_PORT = PORT_HTTP;
/** Window a {@link tcpCodec} writes when none is set: the largest unscaled value. */
export const TCP_DEFAULT_WINDOW = 65535;

/** A decoded TCP header. */
/** The fixed header's fields of a decoded {@link Tcp}: what {@link TcpView.readInto} fills. */
export type TcpFields = Pick<Tcp, "srcPort" | "dstPort" | "seq" | "ack" | "headerLength" | "flags" | "window" | "checksum" | "urgentPointer">;

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
 * Byte offsets of the TCP header's fields (RFC 9293 §3.1), from the header's
 * start. The data offset is the high nibble of byte 12; the flags are its low
 * nibble and byte 13 (12 bits, see {@link TCP_FLAGS}).
 */
export const TCP_FIELD = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  DATA_OFFSET: 12,
  FLAGS: 12,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT_POINTER: 18,
  OPTIONS: 20,
} as const;

/** The flag bits (low 12) of the 16-bit word at `b[i]`: out of `TcpView.flags` to keep that getter small enough to inline. */
function flagsAt(b: Uint8Array, i: number): number {
  return ((b[i]! & 0x0f) << 8) | b[i + 1]!;
}

/**
 * A TCP header over bytes, without copying: the header starts at `at` in
 * `bytes`, and the segment (header and data, as the IP layer left it) ends at
 * `end` (exclusive; default: the end of `bytes`). The constructor checks
 * nothing; call {@link TcpView.check} once before trusting `optionBytes`,
 * `payload` and the checksum methods. Setters write only their own bits:
 * `headerLength` the high nibble of byte 12, `flags` its low nibble and byte
 * 13, so either may be set first. `seq` and `ack` take any integer and write
 * it modulo 2^32 (sequence arithmetic may hand them a sum past 2^32 or a
 * negative `| 0` result).
 *
 * The accessors spell {@link TCP_FIELD}'s offsets as literals, each naming
 * its field in a comment (the tests pin every one to the table). V8 always
 * inlines a function of at most 27 bytes of bytecode; a getter that loads
 * `TCP_FIELD.SRC_PORT` takes 36, and in `decodeTcp` such getters waited for
 * an inlining budget the checksum and dispatch calls had spent. Measured on
 * Node 20 (callgrind, one thread): 3262 instructions per decode with the
 * table loads, 2880 with literals.
 *
 * @example
 * ```ts
 * import { TcpView, TCP_FLAGS } from "./tcp.ts";
 * const segment = new Uint8Array(20);
 * const view = new TcpView(segment);
 * view.srcPort = 40000;
 * view.dstPort = 80;
 * view.seq = 0xfffffff0 + 0x20; // written as 0x10
 * view.headerLength = 20;
 * view.flags = TCP_FLAGS.SYN;
 * view.window = 65535;
 * view.fillChecksum(Uint8Array.of(10, 0, 0, 1), Uint8Array.of(10, 0, 0, 2));
 * ```
 */
export class TcpView extends ByteView {
  /** null when the fixed header fits and 20 <= headerLength <= (end - at), else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    if (n < TCP_HEADER_LENGTH) return `header needs 20 bytes, have ${n}`;
    const h = this.headerLength;
    if (h < TCP_HEADER_LENGTH) return `data offset ${h >>> 2} is less than 5`;
    if (h > n) return `header length ${h} exceeds ${n} bytes`;
    return null;
  }

  /**
   * Every fixed field of the header at `bytes[at]` into `out` (ports,
   * numbers, data offset, flags, window, checksum, urgent pointer): the
   * decoder's one read. Written out byte by byte with no call inside, so V8
   * compiles it whole into the decoder; a call per field used up its
   * inlining budget and left the checksum loop a call (~25 ns a segment).
   */
  static readInto(bytes: Uint8Array, at: number, out: TcpFields): void {
    out.srcPort = (bytes[at]! << 8) | bytes[at + 1]!; // TCP_FIELD.SRC_PORT
    out.dstPort = (bytes[at + 2]! << 8) | bytes[at + 3]!; // TCP_FIELD.DST_PORT
    out.seq = ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0; // TCP_FIELD.SEQ
    out.ack = ((bytes[at + 8]! << 24) | (bytes[at + 9]! << 16) | (bytes[at + 10]! << 8) | bytes[at + 11]!) >>> 0; // TCP_FIELD.ACK
    out.headerLength = (bytes[at + 12]! >>> 4) << 2; // TCP_FIELD.DATA_OFFSET
    out.flags = ((bytes[at + 12]! & 0x0f) << 8) | bytes[at + 13]!; // TCP_FIELD.FLAGS
    out.window = (bytes[at + 14]! << 8) | bytes[at + 15]!; // TCP_FIELD.WINDOW
    out.checksum = (bytes[at + 16]! << 8) | bytes[at + 17]!; // TCP_FIELD.CHECKSUM
    out.urgentPointer = (bytes[at + 18]! << 8) | bytes[at + 19]!; // TCP_FIELD.URGENT_POINTER
  }

  get srcPort(): number {
    return u16(this.bytes, this.at); // TCP_FIELD.SRC_PORT
  }
  set srcPort(v: number) {
    put16(this.bytes, this.at, v); // TCP_FIELD.SRC_PORT
  }
  get dstPort(): number {
    return u16(this.bytes, this.at + 2); // TCP_FIELD.DST_PORT
  }
  set dstPort(v: number) {
    put16(this.bytes, this.at + 2, v); // TCP_FIELD.DST_PORT
  }
  /** sequence number, unsigned 32-bit */
  get seq(): number {
    return u32(this.bytes, this.at + 4); // TCP_FIELD.SEQ
  }
  /** writes `v` modulo 2^32 */
  set seq(v: number) {
    put32(this.bytes, this.at + 4, v); // TCP_FIELD.SEQ
  }
  /** acknowledgment number, unsigned 32-bit (meaningful when ACK is set) */
  get ack(): number {
    return u32(this.bytes, this.at + 8); // TCP_FIELD.ACK
  }
  /** writes `v` modulo 2^32 */
  set ack(v: number) {
    put32(this.bytes, this.at + 8, v); // TCP_FIELD.ACK
  }
  /** data offset in bytes (the field times 4) */
  get headerLength(): number {
    return (this.bytes[this.at + 12]! >>> 4) << 2; // TCP_FIELD.DATA_OFFSET
  }
  /** sets the data offset to `v >>> 2` words (low 4 bits), keeping the flag bits in the low nibble of byte 12 */
  set headerLength(v: number) {
    const i = this.at + 12; // TCP_FIELD.DATA_OFFSET
    this.bytes[i] = (((v >>> 2) & 0x0f) << 4) | (this.bytes[i]! & 0x0f);
  }
  /** the 12 flag bits, see {@link TCP_FLAGS} */
  get flags(): number {
    return flagsAt(this.bytes, this.at + 12); // TCP_FIELD.FLAGS
  }
  /** sets the 12 flag bits (the low 12 of `v`), keeping the data offset */
  set flags(v: number) {
    const i = this.at + 12; // TCP_FIELD.FLAGS
    this.bytes[i] = (this.bytes[i]! & 0xf0) | ((v >>> 8) & 0x0f);
    this.bytes[i + 1] = v;
  }
  get window(): number {
    return u16(this.bytes, this.at + 14); // TCP_FIELD.WINDOW
  }
  set window(v: number) {
    put16(this.bytes, this.at + 14, v); // TCP_FIELD.WINDOW
  }
  get checksum(): number {
    return u16(this.bytes, this.at + 16); // TCP_FIELD.CHECKSUM
  }
  set checksum(v: number) {
    put16(this.bytes, this.at + 16, v); // TCP_FIELD.CHECKSUM
  }
  get urgentPointer(): number {
    return u16(this.bytes, this.at + 18); // TCP_FIELD.URGENT_POINTER
  }
  set urgentPointer(v: number) {
    put16(this.bytes, this.at + 18, v); // TCP_FIELD.URGENT_POINTER
  }

  /** Where the options start in `bytes`: just after the fixed 20-byte header. */
  get optionsStart(): number {
    return this.at + 20; // TCP_FIELD.OPTIONS
  }
  /** Where the options end in `bytes`: `headerLength` bytes after the header's start. Needs a passing `check()`. */
  get optionsEnd(): number {
    return this.at + this.headerLength;
  }
  /** The raw option bytes, `bytes[optionsStart, optionsEnd)` (parse them with `parseTcpOptions`). Needs a passing `check()`. */
  get optionBytes(): Uint8Array {
    return this.bytes.subarray(this.optionsStart, this.optionsEnd);
  }

  /** Where the data starts in `bytes`: `headerLength` bytes after the header's start. Needs a passing `check()`. */
  get payloadStart(): number {
    return this.at + this.headerLength;
  }
  /** Where the data ends in `bytes`: `end` (TCP has no length field; the IP layer drops link padding). */
  get payloadEnd(): number {
    return this.end;
  }
  /** The data, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.end);
  }

  /** Whether header + data (`bytes[at, end)`) sum right with these addresses' pseudo-header (4 or 16 bytes each). */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    const n = this.end - this.at;
    return foldSum(onesSum(this.bytes, this.at, this.end, pseudoHeaderSum(src, dst, IP_PROTOCOL_TCP, n))) === 0xffff;
  }

  /** Compute and store the checksum over `bytes[at, end)` with these addresses' pseudo-header (RFC 9293 §3.1). */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    this.checksum = 0;
    const n = this.end - this.at;
    this.checksum = finishChecksum(onesSum(this.bytes, this.at, this.end, pseudoHeaderSum(src, dst, IP_PROTOCOL_TCP, n)));
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
  // TcpView's offsets as literals, as its getters spell them (see decodeEthernet).
  if (n < 20) {
    // TCP_HEADER_LENGTH
    const kind = shortKind(ip);
    state.issues.push({ layer: "tcp", kind, reason: `header needs 20 bytes, have ${n}` });
    // Cut by the capture: the bytes there are stay as payload (a printer
    // shows the ports when they are in it, as tcpdump does).
    if (kind === "malformed") state.offset = state.end;
    return null;
  }
  const headerLength = (bytes[at + 12]! >>> 4) << 2; // TCP_FIELD.DATA_OFFSET
  const optionsStart = at + 20; // TCP_FIELD.OPTIONS
  // The options end where the data starts: headerLength bytes from the header's start.
  const payloadStart = at + headerLength;
  const pool = state.pool;
  const tcp = pooledValue(pool?.tcp, state.layers.length, newTcp);
  // A pooled value's list holds the last packet's options: parsing overwrites
  // and truncates it (an empty range empties it).
  const options = tcp.options;
  const reuse = pool !== undefined;
  let issueKind: IssueKind | null = null;
  let reason = "";
  let stop = false;
  if (headerLength < 20) {
    issueKind = "malformed";
    reason = `data offset ${headerLength >>> 2} is less than 5`;
    stop = true;
    while (options.length > 0) options.pop();
  } else if (headerLength > n) {
    issueKind = shortKind(ip);
    reason = `header length ${headerLength} exceeds ${n} bytes`;
    stop = true;
    // Keep what the captured part of the options says; their own problem is secondary.
    parseTcpOptions(bytes, optionsStart, state.end, options, at, reuse);
  } else {
    const problem = parseTcpOptions(bytes, optionsStart, payloadStart, options, at, reuse);
    if (problem !== null) {
      issueKind = "malformed";
      reason = problem;
    }
  }
  const checksumStatus: ChecksumStatus =
    state.options.verifyChecksums === false || ip === null
      ? "unverified"
      : checksumStatusAt(bytes, at, state.end, 16, IP_PROTOCOL_TCP, ip, ip.upperLength); // TCP_FIELD.CHECKSUM
  TcpView.readInto(bytes, at, tcp);
  tcp.checksumValid = checksumValidOf(checksumStatus);
  tcp.checksumStatus = checksumStatus;
  state.layers.push(tcp);
  if (issueKind !== null) state.issues.push({ layer: "tcp", kind: issueKind, reason });
  if (stop) {
    // Options cut by the capture: the bytes of the option it cut stay as
    // payload (a printer names it, as tcpdump does).
    state.offset = headerLength > n && issueKind === "truncated" ? optionsStart + optionBytes(options) : at + Math.min(Math.max(headerLength, 20), n);
    return null;
  }
  state.offset = payloadStart;
  if (headerLength === n) return null;
  return state.dispatch.tcpPort(tcp.srcPort, tcp.dstPort) ?? state.dispatch.sniffTcp(bytes, payloadStart, state.end) ?? "payload";
};

/** Bytes the options of a parsed list take on the wire (their kinds' lengths). */
function optionBytes(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) {
    switch (o.kind) {
      case "eol":
      case "nop":
        n += 1;
        break;
      case "mss":
        n += 4;
        break;
      case "windowScale":
        n += 3;
        break;
      case "sackPermitted":
        n += 2;
        break;
      case "timestamps":
        n += 10;
        break;
      case "sack":
        n += 2 + 8 * o.blocks.length;
        break;
      default:
        n += 2 + o.data.length;
    }
  }
  return n;
}

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
    // The two setters share byte 12 and each writes all of its own bits: no stale bit survives.
    view.headerLength = value.headerLength ?? length;
    view.flags = value.flags ?? TCP_FLAGS.SYN;
    view.window = value.window ?? TCP_DEFAULT_WINDOW;
    view.urgentPointer = value.urgentPointer ?? 0;
    const end = writeTcpOptions(value.options ?? [], out, view.optionsStart);
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
  inputRules: {
    srcPort: 0xffff,
    dstPort: 0xffff,
    seq: 0xffffffff,
    ack: 0xffffffff,
    headerLength: { max: 60, multipleOf: 4 }, // data offset, in 4-byte words
    flags: 0xfff, // the 12 bits after the data offset (TCP_FLAGS), e.g. TCP_FLAGS.SYN | TCP_FLAGS.ACK
    window: 0xffff,
    checksum: 0xffff,
    urgentPointer: 0xffff,
    options: {
      list: {
        kind: ["eol", "nop", "mss", "windowScale", "sackPermitted", "sack", "timestamps", "unknown"],
        mss: 0xffff,
        shift: 0xff,
        blocks: { list: { left: 0xffffffff, right: 0xffffffff } },
        tsval: 0xffffffff,
        tsecr: 0xffffffff,
        code: 0xff,
        data: "bytes",
        length: 0xff,
      },
    },
  },
};
