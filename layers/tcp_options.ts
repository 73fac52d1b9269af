/**
 * TCP options (RFC 9293 §3.1, §3.2): parse the option bytes between the fixed
 * 20-byte header and the data offset into a list, and write such a list back.
 *
 * Named kinds: EOL (0), NOP (1), MSS (2, RFC 9293 §3.7.1), window scale (3,
 * RFC 7323 §2), SACK-permitted (4) and SACK (5, RFC 2018), timestamps (8,
 * RFC 7323 §3). Every other kind, and a named kind whose length does not fit
 * its format, is kept raw as `{ kind: "unknown", code, data }`.
 *
 * @example
 * ```ts
 * import { parseTcpOptions, type TcpOption } from "./tcp_options.ts";
 * const out: TcpOption[] = [];
 * parseTcpOptions(Uint8Array.of(2, 4, 0x05, 0xb4), 0, 4, out); // null
 * out; // [{ kind: "mss", mss: 1460 }]
 * ```
 *
 * @module
 */
import { put16, put32, u16, u32 } from "./bytes.ts";

/** TCP option kind numbers (IANA "TCP Option Kind Numbers"). */
export const TCP_OPTION = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
} as const;

/** One SACK block (RFC 2018 §3): the left and right edges, 32-bit sequence numbers. */
export interface TcpSackBlock {
  left: number;
  right: number;
}

/** One TCP option as a plain value. */
export type TcpOption =
  /** End of option list: parsing stops here; the bytes after it are padding. */
  | { kind: "eol" }
  | { kind: "nop" }
  | { kind: "mss"; mss: number }
  | { kind: "windowScale"; shift: number }
  | { kind: "sackPermitted" }
  | { kind: "sack"; blocks: TcpSackBlock[] }
  | { kind: "timestamps"; tsval: number; tsecr: number }
  /**
   * Any other option, kept raw. `data` is a copy of the bytes after the length
   * byte. `length` is only for crafting: the length byte to write instead of
   * `2 + data.length` (e.g. 0 to build a malformed option).
   */
  | { kind: "unknown"; code: number; data: Uint8Array; length?: number };

/**
 * Fixed length of a named multi-byte option (kind byte and length byte
 * included), or -1 when the kind has none. A switch: this runs for every
 * option of every segment, where a Map lookup showed.
 */
function fixedLength(code: number): number {
  switch (code) {
    case TCP_OPTION.MSS:
      return 4;
    case TCP_OPTION.WINDOW_SCALE:
      return 3;
    case TCP_OPTION.SACK_PERMITTED:
      return 2;
    case TCP_OPTION.TIMESTAMPS:
      return 10;
    default:
      return -1;
  }
}

/**
 * Parse the options in `b[start, end)` and append them to `out`.
 *
 * Returns `null` when every option was well formed, else the reason for the
 * first problem met. A length byte below 2, a missing length byte or an option
 * running past `end` stops the walk (the options before it stay in `out`); a
 * named kind with the wrong length is kept as `unknown` and the walk goes on.
 * Always terminates: every step advances by at least one byte. Offsets in the
 * reasons count from `origin` (the TCP header's start in `b`).
 *
 * With `reuse` (the zero-copy read), `out` holds earlier options that this call
 * replaces instead of appending to: it ends holding exactly the options parsed,
 * and an earlier EOL, NOP, MSS, window scale, SACK-permitted or timestamps
 * value at the same index as one of the same kind is overwritten in place
 * rather than allocated again (SACK and unknown options are always new).
 */
export function parseTcpOptions(b: Uint8Array, start: number, end: number, out: TcpOption[], origin = 0, reuse = false): string | null {
  let problem: string | null = null;
  let n = reuse ? 0 : out.length; // where the next option goes
  let i = start;
  while (i < end) {
    const code = b[i]!;
    const old = reuse ? out[n] : undefined;
    if (code === TCP_OPTION.EOL) {
      if (old?.kind !== "eol") out[n] = { kind: "eol" };
      n++;
      break;
    }
    if (code === TCP_OPTION.NOP) {
      if (old?.kind !== "nop") out[n] = { kind: "nop" };
      n++;
      i++;
      continue;
    }
    if (i + 1 >= end) {
      problem ??= `option kind ${code} at offset ${i - origin} has no length byte`;
      break;
    }
    const length = b[i + 1]!;
    // RFC 9293 §3.1: the length counts the kind and length bytes, so anything
    // below 2 cannot advance the walk.
    if (length < 2) {
      problem ??= `option kind ${code} has length ${length}`;
      break;
    }
    if (i + length > end) {
      problem ??= `option kind ${code} length ${length} exceeds the ${end - i} bytes left in the header`;
      break;
    }
    const fixed = fixedLength(code);
    if (code === TCP_OPTION.SACK ? length < 10 || (length - 2) % 8 !== 0 : fixed >= 0 && length !== fixed) {
      problem ??= `option kind ${code} has length ${length}`;
      out[n] = { kind: "unknown", code, data: b.slice(i + 2, i + length) };
    } else if (code === TCP_OPTION.MSS) {
      const mss = u16(b, i + 2);
      if (old?.kind === "mss") old.mss = mss;
      else out[n] = { kind: "mss", mss };
    } else if (code === TCP_OPTION.WINDOW_SCALE) {
      const shift = b[i + 2]!;
      if (old?.kind === "windowScale") old.shift = shift;
      else out[n] = { kind: "windowScale", shift };
    } else if (code === TCP_OPTION.SACK_PERMITTED) {
      if (old?.kind !== "sackPermitted") out[n] = { kind: "sackPermitted" };
    } else if (code === TCP_OPTION.TIMESTAMPS) {
      const tsval = u32(b, i + 2);
      const tsecr = u32(b, i + 6);
      if (old?.kind === "timestamps") {
        old.tsval = tsval;
        old.tsecr = tsecr;
      } else {
        out[n] = { kind: "timestamps", tsval, tsecr };
      }
    } else if (code === TCP_OPTION.SACK) {
      const blocks: TcpSackBlock[] = [];
      for (let j = i + 2; j < i + length; j += 8) blocks.push({ left: u32(b, j), right: u32(b, j + 4) });
      out[n] = { kind: "sack", blocks };
    } else {
      out[n] = { kind: "unknown", code, data: b.slice(i + 2, i + length) };
    }
    n++;
    i += length;
  }
  // pop, not `length = n`: V8 sets an array's length through a slow runtime call.
  while (out.length > n) out.pop();
  return problem;
}

/** Bytes one option takes on the wire. */
function optionLength(o: TcpOption): number {
  switch (o.kind) {
    case "eol":
    case "nop":
      return 1;
    case "mss":
      return 4;
    case "windowScale":
      return 3;
    case "sackPermitted":
      return 2;
    case "sack":
      return 2 + 8 * o.blocks.length;
    case "timestamps":
      return 10;
    case "unknown":
      return 2 + o.data.length;
  }
}

/** Bytes the options take on the wire, before padding to a multiple of 4. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += optionLength(o);
  return n;
}

/**
 * Write `options` into `out` at `offset`; returns the offset after the last
 * one. Padding to a 4-byte boundary is the caller's (zero bytes: EOL).
 */
export function writeTcpOptions(options: readonly TcpOption[], out: Uint8Array, offset: number): number {
  let i = offset;
  for (const o of options) {
    switch (o.kind) {
      case "eol":
        out[i++] = TCP_OPTION.EOL;
        break;
      case "nop":
        out[i++] = TCP_OPTION.NOP;
        break;
      case "mss":
        out[i] = TCP_OPTION.MSS;
        out[i + 1] = 4;
        put16(out, i + 2, o.mss);
        i += 4;
        break;
      case "windowScale":
        out[i] = TCP_OPTION.WINDOW_SCALE;
        out[i + 1] = 3;
        out[i + 2] = o.shift;
        i += 3;
        break;
      case "sackPermitted":
        out[i] = TCP_OPTION.SACK_PERMITTED;
        out[i + 1] = 2;
        i += 2;
        break;
      case "sack":
        out[i] = TCP_OPTION.SACK;
        out[i + 1] = 2 + 8 * o.blocks.length;
        i += 2;
        for (const block of o.blocks) {
          put32(out, i, block.left);
          put32(out, i + 4, block.right);
          i += 8;
        }
        break;
      case "timestamps":
        out[i] = TCP_OPTION.TIMESTAMPS;
        out[i + 1] = 10;
        put32(out, i + 2, o.tsval);
        put32(out, i + 6, o.tsecr);
        i += 10;
        break;
      case "unknown":
        out[i] = o.code;
        out[i + 1] = o.length ?? 2 + o.data.length;
        out.set(o.data, i + 2);
        i += 2 + o.data.length;
        break;
    }
  }
  return i;
}
