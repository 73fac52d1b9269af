/**
 * Address text forms: MAC (lower-case colon), IPv4 dotted quad, IPv6 in RFC 5952
 * form. Formatters take `(bytes, offset)` and run on the decode hot path, so they
 * build strings from precomputed tables; parsers are for user input and throw a
 * `RangeError` on bad text.
 *
 * @example
 * ```ts
 * import { formatIpv6, parseIpv6 } from "./addr.ts";
 * formatIpv6(parseIpv6("2001:DB8:0:0:1:0:0:1"), 0); // "2001:db8::1:0:0:1"
 * ```
 *
 * @module
 */

/** "00".."ff": two lower-case hex digits per byte value. */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** "0".."ff": hex without leading zero, for the high byte of an IPv6 group. */
const HEX1: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
/** "0".."255" */
const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

// Direct-mapped caches of recent address strings: real traffic repeats a few
// addresses, and reusing the string saves building it (and the garbage) per packet.
const CACHE_SIZE = 4096;
// MAC: the first two bytes (-1 for an empty slot) and the last four, as int32.
const macHi = new Int32Array(CACHE_SIZE).fill(-1);
const macLo = new Int32Array(CACHE_SIZE);
const macText: string[] = new Array<string>(CACHE_SIZE).fill("");
const ipv4Keys = new Float64Array(CACHE_SIZE).fill(-1);
const ipv4Text: string[] = new Array<string>(CACHE_SIZE).fill("");
// IPv6: the four 32-bit words of each cached address; "" marks an empty slot.
const ipv6Keys = new Int32Array(CACHE_SIZE * 4);
const ipv6Text: string[] = new Array<string>(CACHE_SIZE).fill("");

/** `aa:bb:cc:dd:ee:ff` from 6 bytes at `offset`. */
export function formatMac(b: Uint8Array, offset = 0): string {
  const hi = (b[offset]! << 8) | b[offset + 1]!;
  const lo = (b[offset + 2]! << 24) | (b[offset + 3]! << 16) | (b[offset + 4]! << 8) | b[offset + 5]!;
  const slot = (lo ^ (lo >>> 12) ^ (hi << 4)) & (CACHE_SIZE - 1);
  if (macLo[slot] === lo && macHi[slot] === hi) return macText[slot]!;
  const text =
    HEX2[b[offset]!]! + ":" + HEX2[b[offset + 1]!]! + ":" + HEX2[b[offset + 2]!]! + ":" +
    HEX2[b[offset + 3]!]! + ":" + HEX2[b[offset + 4]!]! + ":" + HEX2[b[offset + 5]!]!;
  macHi[slot] = hi;
  macLo[slot] = lo;
  macText[slot] = text;
  return text;
}

/** Lower-case colon hex of any length (for non-Ethernet link addresses): `01:02:0a`. */
export function formatHexColon(b: Uint8Array, offset: number = 0, length: number = b.length - offset): string {
  let s = "";
  for (let i = 0; i < length; i++) s += (i === 0 ? "" : ":") + HEX2[b[offset + i]!]!;
  return s;
}

/** Dotted quad from 4 bytes at `offset`. */
export function formatIpv4(b: Uint8Array, offset = 0): string {
  const key = ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
  const slot = (key ^ (key >>> 12) ^ (key >>> 24)) & (CACHE_SIZE - 1);
  if (ipv4Keys[slot] === key) return ipv4Text[slot]!;
  const text = DEC[b[offset]!]! + "." + DEC[b[offset + 1]!]! + "." + DEC[b[offset + 2]!]! + "." + DEC[b[offset + 3]!]!;
  ipv4Keys[slot] = key;
  ipv4Text[slot] = text;
  return text;
}

function group(b: Uint8Array, at: number): string {
  const hi = b[at]!;
  return hi === 0 ? HEX1[b[at + 1]!]! : HEX1[hi]! + HEX2[b[at + 1]!]!;
}

/**
 * RFC 5952 text of 16 bytes at `offset`: lower case, no leading zeros, the
 * longest run of two or more zero groups shown as `::` (the first on a tie,
 * §4.2.3), and IPv4-mapped addresses as `::ffff:a.b.c.d` (§5).
 */
export function formatIpv6(b: Uint8Array, offset = 0): string {
  const w0 = (b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!;
  const w1 = (b[offset + 4]! << 24) | (b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!;
  const w2 = (b[offset + 8]! << 24) | (b[offset + 9]! << 16) | (b[offset + 10]! << 8) | b[offset + 11]!;
  const w3 = (b[offset + 12]! << 24) | (b[offset + 13]! << 16) | (b[offset + 14]! << 8) | b[offset + 15]!;
  let h = w0 ^ w1 ^ w2 ^ w3;
  h ^= (h >>> 12) ^ (h >>> 24);
  const slot = h & (CACHE_SIZE - 1);
  const k = slot * 4;
  if (ipv6Keys[k] === w0 && ipv6Keys[k + 1] === w1 && ipv6Keys[k + 2] === w2 && ipv6Keys[k + 3] === w3 && ipv6Text[slot] !== "") {
    return ipv6Text[slot]!;
  }
  const text = formatIpv6Uncached(b, offset);
  ipv6Keys[k] = w0;
  ipv6Keys[k + 1] = w1;
  ipv6Keys[k + 2] = w2;
  ipv6Keys[k + 3] = w3;
  ipv6Text[slot] = text;
  return text;
}

function formatIpv6Uncached(b: Uint8Array, offset: number): string {
  // Find the longest run of zero groups (length >= 2).
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = b[offset + 2 * g] === 0 && b[offset + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  // RFC 5952 §5: IPv4-mapped addresses (::ffff:0:0/96) use dotted-quad for the last 32 bits.
  if (bestStart === 0 && bestLen === 5 && b[offset + 10] === 0xff && b[offset + 11] === 0xff) {
    return "::ffff:" + formatIpv4(b, offset + 12);
  }
  if (bestLen < 2) {
    let s = group(b, offset);
    for (let g = 1; g < 8; g++) s += ":" + group(b, offset + 2 * g);
    return s;
  }
  let s = "";
  for (let g = 0; g < bestStart; g++) s += (g === 0 ? "" : ":") + group(b, offset + 2 * g);
  s += "::";
  for (let g = bestStart + bestLen; g < 8; g++) s += (g === bestStart + bestLen ? "" : ":") + group(b, offset + 2 * g);
  return s;
}

/** 6 bytes from `aa:bb:cc:dd:ee:ff` (also `-` separators, either case). */
export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/.exec(text);
  if (m === null) throw new RangeError(`Invalid MAC address: "${text}"`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(m[i === 0 ? 1 : i + 2]!, 16);
  return out;
}

/** Parse a dotted quad into `out` at `offset`; false when the text is not one. */
function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Decimal only, no leading zeros (they read as octal in inet_aton: ambiguous).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[offset + i] = v;
  }
  return true;
}

/** 4 bytes from a dotted quad; throws `RangeError` on anything else. */
export function parseIpv4(text: string): Uint8Array {
  const out = new Uint8Array(4);
  if (!parseIpv4Into(text, out, 0)) throw new RangeError(`Invalid IPv4 address: "${text}"`);
  return out;
}

/** 16 bytes from any RFC 4291 §2.2 text form (with `::` and a trailing dotted quad); throws `RangeError`. */
export function parseIpv6(text: string): Uint8Array {
  const bad = (): RangeError => new RangeError(`Invalid IPv6 address: "${text}"`);
  const out = new Uint8Array(16);
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const parseSide = (side: string, allowV4: boolean): number[] | null => {
    if (side === "") return [];
    const words: number[] = [];
    const parts = side.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4 && i === parts.length - 1 && p.includes(".")) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4Into(p, v4, 0)) return null;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        words.push(parseInt(p, 16));
      }
    }
    return words;
  };
  const head = parseSide(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? parseSide(halves[1]!, true) : [];
  if (head === null || tail === null) throw bad();
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) throw bad();
  for (let i = 0; i < head.length; i++) {
    out[2 * i] = head[i]! >> 8;
    out[2 * i + 1] = head[i]! & 0xff;
  }
  const base = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    out[2 * (base + i)] = tail[i]! >> 8;
    out[2 * (base + i) + 1] = tail[i]! & 0xff;
  }
  return out;
}

/**
 * The family of an address text: 6 for any text with a colon (the only form
 * an IPv6 address can take), else 4. Says which parser to use, not whether
 * the text parses.
 */
export function ipFamily(text: string): 4 | 6 {
  return text.includes(":") ? 6 : 4;
}

/** 4 bytes for an IPv4 text, 16 for IPv6 (by {@link ipFamily}); throws `RangeError`. */
export function parseIp(text: string): Uint8Array {
  return ipFamily(text) === 6 ? parseIpv6(text) : parseIpv4(text);
}

/**
 * The text of an IP address held as bytes: dotted quad for 4 bytes, RFC 5952
 * for 16. Throws `RangeError` for any other length.
 */
export function formatIp(b: Uint8Array, offset: number = 0, length: number = b.length - offset): string {
  if (length === 4) return formatIpv4(b, offset);
  if (length === 16) return formatIpv6(b, offset);
  throw new RangeError(`Cannot format an IP address of ${length} bytes`);
}

/**
 * An address a builder or a sender takes: the text users write, or the bytes
 * the stack keeps (4 or 16 for IP, 6 for a MAC). Bytes are used as they are.
 */
export type AddressInput = string | Uint8Array;

/** A `TypeError` unless an address given as other than text is bytes. */
function checkAddress(address: unknown): asserts address is Uint8Array {
  if (!(address instanceof Uint8Array)) throw new TypeError(`An address is text or a Uint8Array, not ${address === null ? "null" : typeof address}`);
}

/** The bytes of an IP address given as text or bytes (text parsed by its family). */
export function ipBytes(address: AddressInput): Uint8Array {
  if (typeof address === "string") return parseIp(address);
  checkAddress(address);
  return address;
}

/** The 4 bytes of an IPv4 address given as text or bytes; throws `RangeError` for bad text or another length. */
export function ipv4Bytes(address: AddressInput): Uint8Array {
  if (typeof address === "string") return parseIpv4(address);
  checkAddress(address);
  if (address.length !== 4) throw new RangeError(`An IPv4 address has 4 bytes, not ${address.length}`);
  return address;
}

/** The 16 bytes of an IPv6 address given as text or bytes; throws `RangeError` for bad text or another length. */
export function ipv6Bytes(address: AddressInput): Uint8Array {
  if (typeof address === "string") return parseIpv6(address);
  checkAddress(address);
  if (address.length !== 16) throw new RangeError(`An IPv6 address has 16 bytes, not ${address.length}`);
  return address;
}

/** The 6 bytes of a MAC address given as text or bytes; throws `RangeError` for bad text or another length. */
export function macBytes(address: AddressInput): Uint8Array {
  if (typeof address === "string") return parseMac(address);
  checkAddress(address);
  if (address.length !== 6) throw new RangeError(`A MAC address has 6 bytes, not ${address.length}`);
  return address;
}

/** Whether two addresses held as bytes are the same (same length, same bytes). */
export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `frame` holds `address` at `offset` (e.g. a header's destination field). */
export function addressAt(frame: Uint8Array, offset: number, address: Uint8Array): boolean {
  if (offset < 0 || offset + address.length > frame.length) return false;
  for (let i = 0; i < address.length; i++) if (frame[offset + i] !== address[i]) return false;
  return true;
}
