/**
 * The Internet checksum (RFC 1071) as composable pieces: sum a byte range, add a
 * pseudo-header sum, fold, complement. Sums are plain numbers that are folded
 * only at the end, so they can be added together (`a + b`) freely; JavaScript
 * numbers stay exact far beyond any packet size.
 *
 * Transport checksums (UDP, TCP, ICMPv6) are classified with
 * {@link transportChecksumStatus}, which also recognises the checksum-offload
 * case: a locally sent packet captured before the NIC (or veth) completed its
 * checksum carries only the pseudo-header sum.
 *
 * The sums read a frame's buffer as 32-bit words and keep that word view of
 * the last frame (or capture batch buffer) summed. {@link rangeView} lives here
 * for that reason: the decoders' views of the same bytes reuse the buffer and
 * offset the sums already paid for.
 *
 * @example
 * ```ts
 * import { onesSum, finishChecksum } from "./checksum.ts";
 * const header = new Uint8Array(20); // ... an IPv4 header with its checksum field zeroed
 * const checksum = finishChecksum(onesSum(header, 0, 20));
 * ```
 *
 * @module
 */
import { checkBytes } from "./bytes.ts";
import type { ChecksumStatus, IpContext, ReusableIpContext } from "./core.ts";
import { IP_PROTOCOL_UDP } from "./dispatch.ts";
import { IPV4_ADDRESS_LENGTH, IPV4_FIELD, IPV6_ADDRESS_LENGTH, IPV6_FIELD } from "./ip_fields.ts";

/**
 * Unfolded ones-complement sum of the big-endian 16-bit words of `b[start, end)`,
 * plus `initial`. An odd final byte is padded with a zero byte (RFC 1071 §4.1).
 *
 * Two loops: bytes, or four bytes per load ({@link wordSum}). Reaching the
 * words of `b` costs its `buffer` and `byteOffset` getters (~15-30 ns together,
 * by Node version), paid once per distinct view: the word view of the last `b`
 * is kept, so the decoders' several sums over one frame, or over one batch
 * buffer decoded by ranges, pay it once. The word loop has a fixed cost
 * (masks, a fold) and then costs about a third of the byte loop per byte:
 * words win from ~32 bytes on the kept view and from ~128 on a new one
 * (measured on Node 20, whose getters are the slower).
 */
export function onesSum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  const n = end - start;
  if (b === wordsOf ? n >= 32 : n >= 128) {
    const sum = wordSum(b, start, end);
    if (sum >= 0) return initial + sum;
  }
  let sum = initial;
  let i = start;
  const even = end - (n & 1);
  // RFC 1071 §2(B) byte order independence: the high bytes and the low bytes
  // of the words can be added up separately and combined once, as hi * 256 + lo.
  // Four words per step; both partial sums stay small integers.
  let hi = 0;
  let lo = 0;
  for (; i + 8 <= even; i += 8) {
    hi += b[i]! + b[i + 2]! + b[i + 4]! + b[i + 6]!;
    lo += b[i + 1]! + b[i + 3]! + b[i + 5]! + b[i + 7]!;
  }
  for (; i < even; i += 2) {
    hi += b[i]!;
    lo += b[i + 1]!;
  }
  sum += hi * 256 + lo;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

/** Whether this machine stores multi-byte integers low byte first (what a Uint32Array reads). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/**
 * The view whose words were last summed, its `byteOffset`, and a Uint32Array
 * over its whole buffer. Kept between calls (holding that buffer until another
 * view is summed) so a frame's several sums pay for the getters once.
 */
let wordsOf: Uint8Array | null = null;
let wordsBase = 0;
let wordsBuffer: ArrayBufferLike | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
/** whether `wordsOf` is a plain Uint8Array (not a subclass such as Node's Buffer) */
let wordsPlain = false;

/**
 * Let the next sums over `b` read its words from 32 bytes on, paying the
 * getters now. For a caller that sums many ranges of one buffer: a decoder
 * given a capture batch's buffer and a frame's range calls it per frame, and
 * after the first frame of the batch it costs one compare.
 */
export function prepareWords(b: Uint8Array): void {
  if (b !== wordsOf) wordsView(b);
}

function wordsView(b: Uint8Array): void {
  const buffer = b.buffer;
  wordsBase = b.byteOffset;
  // A new Uint32Array only for a new buffer (or one that grew): the views of
  // one capture batch share theirs.
  if (buffer !== wordsBuffer || words.length * 4 < wordsBase + b.length) {
    wordsBuffer = buffer;
    words = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  wordsOf = b;
  wordsPlain = b.constructor === Uint8Array;
}

/**
 * `b.subarray(start, end)`, made faster when the checksum sums have already
 * paid for `b`'s buffer and offset (the frame, or the capture batch buffer,
 * being decoded): V8's `subarray` takes twice as long as the constructor, as
 * it looks up the species constructor and re-reads both getters. The result
 * is the same: a view of the same bytes, of `b`'s own class (a subclass such
 * as Node's Buffer always goes through its `subarray`).
 */
export function rangeView(b: Uint8Array, start: number, end: number): Uint8Array {
  // A range outside the view goes to subarray too, which clamps it where the constructor would throw.
  if (b === wordsOf && wordsPlain && 0 <= start && start <= end && end <= b.length) {
    return new Uint8Array(wordsBuffer!, wordsBase + start, end - start);
  }
  return b.subarray(start, end);
}

/**
 * {@link onesSum} four bytes per load: the words of `b`'s buffer that hold the
 * range are read as native 32-bit words through a Uint32Array, the first and
 * last masked to the range's bytes, and added whole into a float accumulator.
 * Modulo 0xffff, which is all the ones-complement sum keeps, 2^16 is 1, so a
 * 32-bit word counts as the sum of its two 16-bit halves (RFC 1071 §2(C): sums
 * may be taken in wider words and folded at the end): one add per four bytes,
 * no byte loop at either end. In such a sum a byte's weight is 256 or 1 by the
 * parity of its address (by the machine's byte order), where the checksum
 * wants it by the parity of its distance from `start`: when the two disagree
 * the folded sum is the byte-swapped one (RFC 1071 §2(B)) and is swapped back.
 * Returns -1 when the range's last word lies past the Uint32Array (a buffer
 * whose length is not a multiple of 4, in its last 3 bytes): the byte loop
 * sums those ranges.
 */
function wordSum(b: Uint8Array, start: number, end: number): number {
  if (b !== wordsOf) wordsView(b);
  const ws = words;
  const s = wordsBase + start;
  const e = wordsBase + end;
  const first = s >>> 2;
  const last = (e - 1) >>> 2; // the word that holds the last byte
  if (last >= ws.length) return -1;
  // Keep the bytes from `s` on in the first word, those before `e` in the last.
  const headMask = LITTLE_ENDIAN ? -1 << ((s & 3) << 3) : -1 >>> ((s & 3) << 3);
  const tailBits = (e & 3) << 3;
  const tailMask = tailBits === 0 ? -1 : LITTLE_ENDIAN ? (1 << tailBits) - 1 : ~(-1 >>> tailBits);
  let wide: number;
  if (first === last) {
    wide = (ws[first]! & headMask & tailMask) >>> 0;
  } else {
    wide = ((ws[first]! & headMask) >>> 0) + ((ws[last]! & tailMask) >>> 0);
    // Exact in a double up to 2^53: 2^21 words of 2^32, far beyond any frame.
    let w = first + 1;
    for (; w + 4 <= last; w += 4) wide += ws[w]! + ws[w + 1]! + ws[w + 2]! + ws[w + 3]!;
    for (; w < last; w++) wide += ws[w]!;
  }
  // 2^32 is 1 modulo 0xffff too: the part above 32 bits adds to the low 32,
  // whose halves then add as integers.
  const high = Math.floor(wide / 4294967296);
  const low = wide - high * 4294967296;
  const sum = foldSum((low >>> 16) + (low & 0xffff) + high);
  // Little-endian words weigh a byte at an even address 1 and the checksum
  // wants 256 for the byte at `start`: swapped when `s` is even; big-endian
  // words, when `s` is odd.
  return (s & 1) === (LITTLE_ENDIAN ? 0 : 1) ? ((sum << 8) | (sum >>> 8)) & 0xffff : sum;
}

/** Fold a sum to 16 bits with end-around carry. Returns 0..0xffff (0 only for a zero sum). */
export function foldSum(sum: number): number {
  // Sums past 32 bits (megabytes of data) first shrink with float arithmetic.
  while (sum > 0xffffffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  // Then two 32-bit integer rounds: 0x1fffe at most after the first, 0xffff after the second.
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/** The checksum to store: the ones complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** RFC 1071 checksum of `b[start, end)` (for an IPv4 header or an ICMPv4 message). */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length): number {
  checkBytes(b, "internetChecksum");
  return finishChecksum(onesSum(b, start, end));
}

/**
 * Whether `b[start, end)`, checksum field included, sums to 0xffff: the
 * receiver's check (RFC 1071 §2). Add a pseudo-header sum through `initial`.
 */
export function checksumOk(b: Uint8Array, start = 0, end = b.length, initial = 0): boolean {
  checkBytes(b, "checksumOk");
  return foldSum(onesSum(b, start, end, initial)) === 0xffff;
}

/**
 * Unfolded sum of the transport pseudo-header: for IPv4 (RFC 768, RFC 9293 §3.1)
 * src, dst, zero+protocol, 16-bit length; for IPv6 (RFC 8200 §8.1) src, dst,
 * 32-bit length, zeros+next header. Both give the same word sum for lengths
 * under 64 KiB; the IPv6 form also carries the high half of a jumbo length.
 * `src` and `dst` must both be 4 or both 16 bytes.
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number): number {
  return (
    onesSum(src, 0, src.length) +
    onesSum(dst, 0, dst.length) +
    protocol +
    (upperLength & 0xffff) +
    Math.floor(upperLength / 0x10000)
  );
}

// The IP header fields the context reads, under module-local names: V8
// (Node 20) loads an imported binding through its module cell at every use,
// and folds a module-local `const` (see ipv4.ts).
const V4_SRC = IPV4_FIELD.SRC;
const V4_DST = IPV4_FIELD.DST;
const V6_SRC = IPV6_FIELD.SRC;
const V6_DST = IPV6_FIELD.DST;
const V4_ADDRESS_LENGTH = IPV4_ADDRESS_LENGTH;
const V6_ADDRESS_LENGTH = IPV6_ADDRESS_LENGTH;

function addressLength(version: 4 | 6): number {
  return version === 4 ? V4_ADDRESS_LENGTH : V6_ADDRESS_LENGTH;
}

/**
 * Unfolded sum of the source and destination addresses of the IPv4 or IPv6
 * header at `bytes[headerOffset]`, read at the views' field offsets. Both
 * headers keep the two addresses side by side (RFC 791 §3.1, RFC 8200 §3),
 * so one range covers them: for IPv6 a 32-byte sum, which takes the word loop.
 */
function headerAddressSum(version: 4 | 6, bytes: Uint8Array, headerOffset: number): number {
  const src = headerOffset + (version === 4 ? V4_SRC : V6_SRC);
  return onesSum(bytes, src, src + 2 * addressLength(version));
}

/**
 * The {@link IpContext} the IPv4/IPv6 decoders set. It records where the IP
 * header sits in the frame (`bytes`, `headerOffset`): the pseudo-header sum is
 * taken straight from the frame, and `src`/`dst` are made (as subarrays of the
 * frame) only when read, which keeps the decode hot path free of typed-array
 * allocations.
 */
export class IpHeaderContext implements ReusableIpContext {
  version: 4 | 6;
  upperLength: number;
  complete: boolean;
  laterFragment: boolean;
  /** the frame holding the IP header (at least up to the end of its destination address) */
  bytes: Uint8Array;
  /** where the IP header starts in `bytes` */
  headerOffset: number;
  #src: Uint8Array | undefined = undefined;
  #dst: Uint8Array | undefined = undefined;
  /** unfolded sum of the two addresses in the frame, -1 until known */
  #addressSum = -1;

  constructor(version: 4 | 6, bytes: Uint8Array, headerOffset: number, upperLength: number, complete: boolean, laterFragment: boolean) {
    this.version = version;
    this.bytes = bytes;
    this.headerOffset = headerOffset;
    this.upperLength = upperLength;
    this.complete = complete;
    this.laterFragment = laterFragment;
  }

  /**
   * Point this context at another IP header (as the constructor does), forgetting
   * any `src`/`dst` set. `addressSum`, when the caller already has it (the IPv4
   * decoder sums the addresses for the header checksum), is the unfolded sum of
   * the header's two addresses; the pseudo-header sum then reads no bytes.
   */
  reset(version: 4 | 6, bytes: Uint8Array, headerOffset: number, upperLength: number, complete: boolean, laterFragment: boolean, addressSum = -1): this {
    this.version = version;
    this.bytes = bytes;
    this.headerOffset = headerOffset;
    this.upperLength = upperLength;
    this.complete = complete;
    this.laterFragment = laterFragment;
    this.#src = undefined;
    this.#dst = undefined;
    this.#addressSum = addressSum;
    return this;
  }

  get src(): Uint8Array {
    const at = this.headerOffset + (this.version === 4 ? V4_SRC : V6_SRC);
    return (this.#src ??= this.bytes.subarray(at, at + addressLength(this.version)));
  }
  set src(v: Uint8Array) {
    this.#src = v;
  }
  get dst(): Uint8Array {
    const at = this.headerOffset + (this.version === 4 ? V4_DST : V6_DST);
    return (this.#dst ??= this.bytes.subarray(at, at + addressLength(this.version)));
  }
  set dst(v: Uint8Array) {
    this.#dst = v;
  }

  /** {@link pseudoHeaderSum} for this header's addresses. */
  pseudoSum(protocol: number, upperLength: number): number {
    let addresses: number;
    if (this.#src === undefined && this.#dst === undefined) {
      addresses = this.#addressSum;
      if (addresses < 0) {
        addresses = headerAddressSum(this.version, this.bytes, this.headerOffset);
        this.#addressSum = addresses;
      }
    } else {
      const src = this.src;
      const dst = this.dst;
      addresses = onesSum(src, 0, src.length) + onesSum(dst, 0, dst.length);
    }
    return addresses + protocol + (upperLength & 0xffff) + Math.floor(upperLength / 0x10000);
  }
}

/**
 * {@link pseudoHeaderSum} for an IP context. Also accepts a plain copy of an
 * {@link IpHeaderContext} (`{ ...ip }` keeps `bytes` and `headerOffset` but not
 * the `src`/`dst` getters).
 */
export function ipPseudoHeaderSum(ip: IpContext, protocol: number, upperLength: number): number {
  if (ip instanceof IpHeaderContext) return ip.pseudoSum(protocol, upperLength);
  const { bytes, headerOffset } = ip as { bytes?: unknown; headerOffset?: unknown };
  if ((ip.src === undefined || ip.dst === undefined) && bytes instanceof Uint8Array && typeof headerOffset === "number") {
    const addresses = headerAddressSum(ip.version, bytes, headerOffset);
    return addresses + protocol + (upperLength & 0xffff) + Math.floor(upperLength / 0x10000);
  }
  return pseudoHeaderSum(ip.src, ip.dst, protocol, upperLength);
}


/**
 * Classify the checksum of a transport segment (UDP, TCP, ICMPv6).
 *
 * `segment` holds the transport header and payload as the IP layer left it
 * (trimmed to the stated length), `checksumOffset` is where the 16-bit field
 * sits in it (UDP 6, TCP 16, ICMPv6 2), `protocol` the IP protocol number that
 * goes into the pseudo-header, `ip` the enclosing IP context, `upperLength`
 * the length the checksum covers when it is not `ip.upperLength` (UDP's own
 * length field).
 *
 * - `"unverified"`: no IP context, a fragment, or fewer bytes than the length.
 * - `"none"`: UDP over IPv4 with a zero field: no checksum was computed (RFC 768).
 * - `"good"`: header + payload + pseudo-header sum to 0xffff.
 * - `"partial"`: the field holds the folded pseudo-header sum, not complemented:
 *   Linux leaves this for CHECKSUM_PARTIAL (`~csum_tcpudp_magic(...)`) when the
 *   device offloads transmit checksums, and captures on the sender see it.
 * - `"bad"`: anything else.
 *
 * @example
 * ```ts
 * const status = transportChecksumStatus(segment, 6, 17, ip);
 * ```
 */
export function transportChecksumStatus(
  segment: Uint8Array,
  checksumOffset: number,
  protocol: number,
  ip: IpContext | null,
  upperLength?: number,
): ChecksumStatus {
  return checksumStatusAt(segment, 0, segment.length, checksumOffset, protocol, ip, upperLength ?? (ip === null ? 0 : ip.upperLength));
}

/**
 * {@link transportChecksumStatus} for the segment `bytes[start, end)` of a
 * larger buffer (the decoders' form: no view is made). `checksumOffset` is
 * relative to `start`; `length` is the length the checksum covers.
 */
export function checksumStatusAt(
  bytes: Uint8Array,
  start: number,
  end: number,
  checksumOffset: number,
  protocol: number,
  ip: IpContext | null,
  length: number,
): ChecksumStatus {
  if (ip === null || !ip.complete || ip.laterFragment) return "unverified";
  if (end - start < length || checksumOffset + 2 > length) return "unverified";
  const at = start + checksumOffset;
  const stored = (bytes[at]! << 8) | bytes[at + 1]!;
  if (stored === 0 && protocol === IP_PROTOCOL_UDP && ip.version === 4) return "none";
  const pseudo = ipPseudoHeaderSum(ip, protocol, length);
  if (foldSum(onesSum(bytes, start, start + length, pseudo)) === 0xffff) return "good";
  // 0 and 0xffff are the same ones-complement number; compare both spellings.
  const partial = foldSum(pseudo);
  if (stored === partial || (partial === 0xffff && stored === 0)) return "partial";
  return "bad";
}

/**
 * The checksum to write into a transport header whose field is zero in
 * `segment[0, length)`: complemented sum of segment and pseudo-header. For UDP
 * the caller maps a result of 0 to 0xffff (RFC 768).
 */
export function transportChecksum(
  segment: Uint8Array,
  length: number,
  protocol: number,
  src: Uint8Array,
  dst: Uint8Array,
): number {
  return finishChecksum(onesSum(segment, 0, length, pseudoHeaderSum(src, dst, protocol, length)));
}
