/**
 * UDP (RFC 768; over IPv6 RFC 8200 §8.1): a zero-copy {@link UdpView}, the
 * decoded value {@link Udp}, {@link decodeUdp} and {@link udpCodec}.
 *
 * ```text
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |   source port   |  dest. port     |
 * +--------+--------+--------+--------+
 * |     length      |    checksum     |
 * +--------+--------+--------+--------+
 * ```
 *
 * @example
 * ```ts
 * import { UdpView } from "./udp.ts";
 * const view = new UdpView(segment);
 * if (view.check() === null) console.log(view.srcPort, view.dstPort, view.payload.length);
 * ```
 *
 * @module
 */
import { checksumValidOf, pooledValue, type ChecksumStatus, type Codec, type Decoder, type DecodeState, type IpContext, type IssueKind, type LayerBase, type Protocol } from "./core.ts";
import { checksumStatusAt, finishChecksum, foldSum, onesSum, pseudoHeaderSum } from "./checksum.ts";
import { put16, u16 } from "./bytes.ts";
import { IP_PROTOCOL_UDP } from "./dispatch.ts";
import { ByteView } from "./view.ts";

/** Bytes in the UDP header. */
export const UDP_HEADER_LENGTH = 8;

/** Port a {@link udpCodec} writes when none is set and the inner layer names none (scapy's choice). */
export const UDP_DEFAULT_PORT = 53;

/** A decoded UDP header. */
/** The header's fields of a decoded {@link Udp}: what {@link UdpView.readInto} fills. */
export type UdpFields = Pick<Udp, "srcPort" | "dstPort" | "length" | "checksum">;

export interface Udp extends LayerBase {
  layer: "udp";
  srcPort: number;
  dstPort: number;
  /** the length field: header plus data, in bytes */
  length: number;
  checksum: number;
  /** true / false, or null when it could not be verified (see `checksumStatus`) */
  checksumValid: boolean | null;
  checksumStatus: ChecksumStatus;
}

/**
 * What a user sets to build a UDP header; everything is optional.
 *
 * - `dstPort`: the well-known port of the layer inside (dns 53, dhcp 67,
 *   tftp 69), else 53. `srcPort`: 53. (scapy's defaults, for familiarity.)
 * - `length`: header plus payload.
 * - `checksum`: computed with the enclosing IP layer's pseudo-header; a computed
 *   0 is written as 0xffff (RFC 768). Without an enclosing IP layer: 0, "no
 *   checksum" (only legal over IPv4).
 *
 * Anything set is written as given, even when wrong.
 */
export interface UdpInput {
  layer: "udp";
  srcPort?: number;
  dstPort?: number;
  length?: number;
  checksum?: number;
}

/** Byte offsets of the UDP header's fields (RFC 768), from the header's start. */
export const UDP_FIELD = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6 } as const;

/**
 * A UDP header over bytes, without copying: the header starts at `at` in
 * `bytes`, and the view may read up to `end` (exclusive; default: the end of
 * `bytes`). The constructor does not check anything; call
 * {@link UdpView.check} once before trusting `payload` and the checksum
 * methods. The field getters read, and the setters write, two bytes each at
 * {@link UDP_FIELD}'s offsets, spelled as literals (the tests pin them to the
 * table): a getter that loads an exported table's entry is too big for V8 to
 * inline always (see `TcpView`).
 */
export class UdpView extends ByteView {
  /** null when the header fits and its length field is within 8..(end - at), else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    if (n < UDP_HEADER_LENGTH) return `header needs 8 bytes, have ${n}`;
    const length = this.length;
    if (length < UDP_HEADER_LENGTH) return `length field ${length} is less than the 8-byte header`;
    if (length > n) return `length field ${length} exceeds ${n} bytes`;
    return null;
  }

  /**
   * The header at `bytes[at]` into `out` (ports, length, checksum): the
   * decoder's one read, with no view object to point (see `TcpView.readInto`).
   */
  static readInto(bytes: Uint8Array, at: number, out: UdpFields): void {
    out.srcPort = (bytes[at]! << 8) | bytes[at + 1]!; // UDP_FIELD.SRC_PORT
    out.dstPort = (bytes[at + 2]! << 8) | bytes[at + 3]!; // UDP_FIELD.DST_PORT
    out.length = (bytes[at + 4]! << 8) | bytes[at + 5]!; // UDP_FIELD.LENGTH
    out.checksum = (bytes[at + 6]! << 8) | bytes[at + 7]!; // UDP_FIELD.CHECKSUM
  }

  get srcPort(): number {
    return u16(this.bytes, this.at); // UDP_FIELD.SRC_PORT
  }
  /** `srcPort` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static srcPortAt(bytes: Uint8Array, at: number): number {
    return u16(bytes, at); // UDP_FIELD.SRC_PORT
  }
  set srcPort(v: number) {
    put16(this.bytes, this.at, v); // UDP_FIELD.SRC_PORT
  }
  get dstPort(): number {
    return u16(this.bytes, this.at + 2); // UDP_FIELD.DST_PORT
  }
  /** `dstPort` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static dstPortAt(bytes: Uint8Array, at: number): number {
    return u16(bytes, at + 2); // UDP_FIELD.DST_PORT
  }
  set dstPort(v: number) {
    put16(this.bytes, this.at + 2, v); // UDP_FIELD.DST_PORT
  }
  /** the length field: header plus data, in bytes */
  get length(): number {
    return u16(this.bytes, this.at + 4); // UDP_FIELD.LENGTH
  }
  set length(v: number) {
    put16(this.bytes, this.at + 4, v); // UDP_FIELD.LENGTH
  }
  get checksum(): number {
    return u16(this.bytes, this.at + 6); // UDP_FIELD.CHECKSUM
  }
  set checksum(v: number) {
    put16(this.bytes, this.at + 6, v); // UDP_FIELD.CHECKSUM
  }

  /** Where the data starts in `bytes`. */
  get payloadStart(): number {
    return this.at + UDP_HEADER_LENGTH;
  }
  /** Where the data ends in `bytes`: `length` bytes after the header's start (link padding dropped). Needs a passing `check()`. */
  get payloadEnd(): number {
    return this.at + this.length;
  }
  /** The data, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }

  /**
   * Whether the checksum is right for these addresses (4 or 16 bytes each). A
   * zero field over IPv4 means "none" and counts as right (RFC 768). Needs a
   * passing `check()`.
   */
  verifyChecksum(src: Uint8Array, dst: Uint8Array): boolean {
    if (src.length === 4 && this.checksum === 0) return true;
    const length = this.length;
    return foldSum(onesSum(this.bytes, this.at, this.at + length, pseudoHeaderSum(src, dst, IP_PROTOCOL_UDP, length))) === 0xffff;
  }

  /** Compute and store the checksum over `length` bytes (0 is sent as 0xffff, RFC 768). */
  fillChecksum(src: Uint8Array, dst: Uint8Array): void {
    this.checksum = 0;
    const length = this.length;
    const sum = finishChecksum(onesSum(this.bytes, this.at, this.at + length, pseudoHeaderSum(src, dst, IP_PROTOCOL_UDP, length)));
    this.checksum = sum === 0 ? 0xffff : sum;
  }
}

/** Short bytes are "truncated" unless the IP layer says it holds everything it promised. */
function shortKind(ip: IpContext | null): IssueKind {
  return ip !== null && ip.complete ? "malformed" : "truncated";
}

function udpChecksumStatus(bytes: Uint8Array, start: number, end: number, length: number, state: DecodeState): ChecksumStatus {
  const ip = state.ip;
  // A quote inside an ICMP error is verified too when it is whole (as tshark
  // does); a cut quote leaves its IP layer incomplete, hence "unverified".
  if (state.options.verifyChecksums === false || ip === null) return "unverified";
  // Receivers check over the UDP length (Linux trims the datagram to it first),
  // which may be shorter than what the IP header states.
  const covered = ip.complete && length < ip.upperLength ? length : ip.upperLength;
  return checksumStatusAt(bytes, start, end, 6, IP_PROTOCOL_UDP, ip, covered); // UDP_FIELD.CHECKSUM
}

function newUdp(): Udp {
  return { layer: "udp", srcPort: 0, dstPort: 0, length: 0, checksum: 0, checksumValid: null, checksumStatus: "unverified" };
}

/**
 * Decode a UDP header. The payload is exactly `length - 8` bytes. The next
 * layer comes from `state.options.udpHint`, then the UDP port table
 * (destination port first), else `"payload"`; an empty payload ends the decode.
 */
export const decodeUdp: Decoder = (bytes, state) => {
  const ip = state.ip;
  const at = state.offset;
  const n = state.end - at;
  if (ip !== null && ip.laterFragment) {
    // No UDP header in a fragment with offset > 0.
    return n === 0 ? null : "payload";
  }
  if (n < UDP_HEADER_LENGTH) {
    const kind = shortKind(ip);
    state.issues.push({ layer: "udp", kind, reason: `header needs 8 bytes, have ${n}` });
    // Cut by the capture: the bytes there are stay as payload (a printer
    // shows the ports when they are in it, as tcpdump does).
    if (kind === "malformed") state.offset = state.end;
    return null;
  }
  const udp = pooledValue(state.pool?.["udp"], state.layers.length, newUdp);
  UdpView.readInto(bytes, at, udp);
  const length = udp.length;
  // A first fragment: the IP layer holds all it stated, but the datagram goes on elsewhere.
  const fragment = ip !== null && !ip.complete && n >= ip.upperLength;
  let issueKind: IssueKind | null = null;
  let reason = "";
  let end = length;
  let checksumStatus: ChecksumStatus;
  if (length < UDP_HEADER_LENGTH) {
    issueKind = "malformed";
    reason = `length field ${length} is less than the 8-byte header`;
    end = n;
    checksumStatus = "unverified";
  } else if (length > n) {
    if (!fragment) {
      issueKind = shortKind(ip);
      reason = `length field ${length} exceeds ${n} bytes`;
    }
    end = n;
    checksumStatus = "unverified";
  } else {
    checksumStatus = udpChecksumStatus(bytes, at, at + n, length, state);
  }
  udp.checksumValid = checksumValidOf(checksumStatus);
  udp.checksumStatus = checksumStatus;
  state.layers.push(udp);
  state.offset = at + UDP_HEADER_LENGTH;
  state.end = at + end;
  if (issueKind !== null) {
    state.issues.push({ layer: "udp", kind: issueKind, reason });
    // A datagram cut by the capture (a snaplen) is decoded as far as its
    // bytes go, as every other layer is; one whose length field lies inside a
    // whole IP datagram stops here.
    if (issueKind === "malformed") return null;
  }
  if (end === UDP_HEADER_LENGTH) return null;
  // Application decoders need the whole datagram; a first fragment stays raw.
  if (fragment) return "payload";
  return state.options.udpHint?.(udp.srcPort, udp.dstPort, ip) ?? state.dispatch.udpPort(udp.srcPort, udp.dstPort) ?? "payload";
};

/** Builds a UDP header: see {@link UdpInput} for the defaults. */
export const udpCodec: Codec<UdpInput> = {
  headerLength: () => UDP_HEADER_LENGTH,
  write(value, out, ctx) {
    const view = new UdpView(out);
    view.srcPort = value.srcPort ?? UDP_DEFAULT_PORT;
    view.dstPort = value.dstPort ?? (ctx.inner === undefined ? undefined : ctx.dispatch?.udpPortOf(ctx.inner.layer)) ?? UDP_DEFAULT_PORT;
    const length = value.length ?? out.length;
    view.length = length;
    if (value.checksum !== undefined) {
      view.checksum = value.checksum;
    } else if (ctx.ip === undefined) {
      view.checksum = 0; // RFC 768: no checksum computed
    } else {
      view.checksum = 0;
      // Sum the bytes actually written; the pseudo-header carries the length
      // field as set, so a lying length still gets a checksum that matches it.
      const sum = finishChecksum(onesSum(out, 0, out.length, pseudoHeaderSum(ctx.ip.src, ctx.ip.dst, IP_PROTOCOL_UDP, length)));
      view.checksum = sum === 0 ? 0xffff : sum; // RFC 768: a computed 0 is sent as all ones
    }
  },
};

/** UDP in the registry. */
export const udpProtocol: Protocol<"udp", Udp, UdpInput> = {
  kind: "udp",
  decode: decodeUdp,
  codec: udpCodec,
  pooled: true,
  claims: { ipProtocols: [IP_PROTOCOL_UDP] },
  inputRules: { srcPort: 0xffff, dstPort: 0xffff, length: 0xffff, checksum: 0xffff },
};
