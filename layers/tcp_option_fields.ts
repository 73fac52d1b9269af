/**
 * TCP options as the fields a TCP implementation negotiates and uses, read
 * and written without allocating: MSS (RFC 9293 §3.7.1), window scale and
 * timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018). A
 * userspace TCP parses every arriving segment's options into one reused
 * {@link TcpOptionFields} and writes every departing segment's from one;
 * `tcp_options.ts` has the general form (a list of option values, every kind
 * kept) for decoding and crafting.
 *
 * The layout written is the one Linux sends, so captures compare easily:
 * SYN `mss, sackOK, TS, nop, wscale` (or `mss, nop, nop, sackOK, nop,
 * wscale` without timestamps), data `nop, nop, TS`, then `nop, nop, sack`.
 *
 * @example
 * ```ts
 * import { readTcpOptionFields, writeTcpOptionFields, newTcpOptionFields } from "./tcp_option_fields.ts";
 * const f = newTcpOptionFields();
 * readTcpOptionFields(segment, 20, headerLength, f); // f.mss, f.windowScale, f.hasTimestamps, ...
 * ```
 *
 * @module
 */
import { put16, put32, u16, u32 } from "./bytes.ts";
import { TCP_OPTION } from "./tcp_options.ts";

/** The negotiated TCP options of one segment. -1 marks an absent MSS or window scale. */
export interface TcpOptionFields {
  mss: number;
  windowScale: number;
  sackPermitted: boolean;
  hasTimestamps: boolean;
  tsval: number;
  tsecr: number;
  /** SACK blocks in `sackLeft/sackRight[0, sackCount)` */
  sackCount: number;
  sackLeft: Uint32Array;
  sackRight: Uint32Array;
}

/** The most SACK blocks an option carries (RFC 2018 §3: 40 option bytes hold four). */
export const MAX_SACK_BLOCKS = 4;

/** Empty fields. */
export function newTcpOptionFields(): TcpOptionFields {
  return {
    mss: -1,
    windowScale: -1,
    sackPermitted: false,
    hasTimestamps: false,
    tsval: 0,
    tsecr: 0,
    sackCount: 0,
    sackLeft: new Uint32Array(MAX_SACK_BLOCKS),
    sackRight: new Uint32Array(MAX_SACK_BLOCKS),
  };
}

/**
 * Read the options in `b[start, end)` into `out` (reset first). Unknown kinds
 * are skipped by their length; a malformed list (a length under 2 or past
 * the end) stops the walk and returns the reason, keeping what came before.
 * A known kind with the wrong length is ignored, as RFC 9293 §3.1 asks of
 * options a receiver does not understand in that form.
 */
export function readTcpOptionFields(b: Uint8Array, start: number, end: number, out: TcpOptionFields): string | null {
  out.mss = -1;
  out.windowScale = -1;
  out.sackPermitted = false;
  out.hasTimestamps = false;
  out.tsval = 0;
  out.tsecr = 0;
  out.sackCount = 0;
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TCP_OPTION.EOL) return null;
    if (kind === TCP_OPTION.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return `option ${kind} has no length byte`;
    const len = b[i + 1]!;
    if (len < 2) return `option ${kind} length ${len} is less than 2`;
    if (i + len > end) return `option ${kind} length ${len} runs past the header`;
    switch (kind) {
      case TCP_OPTION.MSS:
        if (len === 4) out.mss = u16(b, i + 2);
        break;
      case TCP_OPTION.WINDOW_SCALE:
        if (len === 3) out.windowScale = b[i + 2]!;
        break;
      case TCP_OPTION.SACK_PERMITTED:
        if (len === 2) out.sackPermitted = true;
        break;
      case TCP_OPTION.TIMESTAMPS:
        if (len === 10) {
          out.hasTimestamps = true;
          out.tsval = u32(b, i + 2);
          out.tsecr = u32(b, i + 6);
        }
        break;
      case TCP_OPTION.SACK:
        if ((len - 2) % 8 === 0) {
          for (let k = i + 2; k + 8 <= i + len && out.sackCount < MAX_SACK_BLOCKS; k += 8) {
            out.sackLeft[out.sackCount] = u32(b, k);
            out.sackRight[out.sackCount] = u32(b, k + 4);
            out.sackCount++;
          }
        }
        break;
      default:
    }
    i += len;
  }
  return null;
}

/** Bytes {@link writeTcpOptionFields} writes for `f`: always a multiple of 4. */
export function tcpOptionFieldsLength(f: TcpOptionFields): number {
  let n = f.mss >= 0 ? 4 : 0;
  if (f.sackPermitted && f.hasTimestamps) n += 12;
  else n += (f.sackPermitted ? 4 : 0) + (f.hasTimestamps ? 12 : 0);
  if (f.windowScale >= 0) n += 4;
  if (f.sackCount > 0) n += 4 + 8 * f.sackCount;
  return n;
}

/** Write `f` at `b[at]` in Linux's layout; returns the offset after it. */
export function writeTcpOptionFields(f: TcpOptionFields, b: Uint8Array, at: number): number {
  const NOP = TCP_OPTION.NOP;
  if (f.mss >= 0) {
    b[at] = TCP_OPTION.MSS;
    b[at + 1] = 4;
    put16(b, at + 2, f.mss);
    at += 4;
  }
  if (f.sackPermitted && f.hasTimestamps) {
    b[at] = TCP_OPTION.SACK_PERMITTED;
    b[at + 1] = 2;
    at = writeTimestamps(f, b, at + 2);
  } else {
    if (f.sackPermitted) {
      b[at] = NOP;
      b[at + 1] = NOP;
      b[at + 2] = TCP_OPTION.SACK_PERMITTED;
      b[at + 3] = 2;
      at += 4;
    }
    if (f.hasTimestamps) {
      b[at] = NOP;
      b[at + 1] = NOP;
      at = writeTimestamps(f, b, at + 2);
    }
  }
  if (f.windowScale >= 0) {
    b[at] = NOP;
    b[at + 1] = TCP_OPTION.WINDOW_SCALE;
    b[at + 2] = 3;
    b[at + 3] = f.windowScale;
    at += 4;
  }
  if (f.sackCount > 0) {
    b[at] = NOP;
    b[at + 1] = NOP;
    b[at + 2] = TCP_OPTION.SACK;
    b[at + 3] = 2 + 8 * f.sackCount;
    at += 4;
    for (let k = 0; k < f.sackCount; k++) {
      put32(b, at, f.sackLeft[k]!);
      put32(b, at + 4, f.sackRight[k]!);
      at += 8;
    }
  }
  return at;
}

function writeTimestamps(f: TcpOptionFields, b: Uint8Array, at: number): number {
  b[at] = TCP_OPTION.TIMESTAMPS;
  b[at + 1] = 10;
  put32(b, at + 2, f.tsval);
  put32(b, at + 6, f.tsecr);
  return at + 10;
}
