/**
 * TCP options as tcpdump prints them (`mss 1460,nop,wscale 7,sackOK,TS val
 * 1 ecr 0`): from the parsed list ({@link tcpOptions}), and for the fast path
 * straight from the option bytes when they hold only the everyday kinds
 * ({@link commonOptions}, {@link writeCommonOptions}).
 *
 * @example
 * ```ts
 * import { tcpOptions } from "./tcp_options.ts";
 * tcpOptions([{ kind: "mss", mss: 1460 }, { kind: "nop" }, { kind: "windowScale", shift: 7 }]); // "mss 1460,nop,wscale 7"
 * ```
 *
 * @module
 */
import { u16, u32 } from "../../../layers/bytes.ts";
import { TCP_OPTION, type TcpOption } from "../../../layers/tcp_options.ts";
import { toHex } from "../hex.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { mptcpText, tfoText } from "./mptcp.ts";

// The kinds under module-local names: V8 folds a module-local const, where it
// loads an imported binding through its cell at every use (see layers/ipv4.ts).
const EOL = TCP_OPTION.EOL;
const NOP = TCP_OPTION.NOP;
const MSS = TCP_OPTION.MSS;
const WINDOW_SCALE = TCP_OPTION.WINDOW_SCALE;
const SACK_PERMITTED = TCP_OPTION.SACK_PERMITTED;
const TIMESTAMPS = TCP_OPTION.TIMESTAMPS;
/** Multipath TCP (RFC 8684), TCP Fast Open (RFC 7413), the experimental kinds (RFC 4727) */
const MPTCP = 30;
const TFO = 34;
/** the experimental kind tcpdump reads (RFC 6994's magic after the length) */
const EXPERIMENT = 254;
// An option's layout (RFC 9293 §3.1): kind, length (kind and length bytes
// included), then its data.
const LENGTH = 1;
const DATA = 2;
// The whole length of each everyday kind (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
const MSS_LENGTH = 4;
const WINDOW_SCALE_LENGTH = 3;
const SACK_PERMITTED_LENGTH = 2;
const TIMESTAMPS_LENGTH = 10;
/** Where a timestamps option's echo reply (TSecr) starts: after TSval. */
const TSECR = DATA + 4;
const NOP_NOP_TIMESTAMPS_LENGTH = 2 + TIMESTAMPS_LENGTH;

/**
 * tcpdump's option list text (without the brackets). SACK edges are made
 * relative to `sackBase`; `flags` (the segment's TCP flags) tells which
 * MPTCP forms are valid. An MPTCP option whose length does not fit its
 * subtype ends the list with `[bad opt]`, as tcpdump ends it.
 */
export function tcpOptions(options: readonly TcpOption[], sackBase = 0, flags = 0): string {
  let s = "";
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    if (i > 0) s += ",";
    switch (o.kind) {
      case "nop":
        s += "nop";
        break;
      case "eol":
        s += "eol";
        break;
      case "mss":
        s += "mss " + o.mss;
        break;
      case "windowScale":
        s += "wscale " + o.shift;
        break;
      case "sackPermitted":
        s += "sackOK";
        break;
      case "timestamps":
        s += "TS val " + o.tsval + " ecr " + o.tsecr;
        break;
      case "sack":
        s += "sack " + o.blocks.length;
        for (const b of o.blocks) s += " {" + ((b.left - sackBase) >>> 0) + ":" + ((b.right - sackBase) >>> 0) + "}";
        break;
      case "unknown": {
        if (o.code === MPTCP) {
          const m = mptcpText(o.data, flags);
          s += m.text;
          if (m.bad) return s;
          break;
        }
        const tfo = o.code === TFO || o.code === EXPERIMENT ? tfoText(o.code, o.data) : null;
        s += tfo ?? "unknown-" + o.code + (o.data.length > 0 ? " 0x" + toHex(o.data) : "");
        break;
      }
    }
  }
  return s;
}

/**
 * Whether the option bytes hold only the everyday kinds, well formed: NOP, MSS,
 * window scale, SACK-permitted and timestamps, and no EOL (the list then ends
 * in padding, which the parsed list shows). Those {@link writeCommonOptions}
 * prints straight from the bytes; anything else goes through parseTcpOptions.
 */
export function commonOptions(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === NOP) {
      i++;
      continue;
    }
    if (kind === EOL || i + LENGTH >= end) return false;
    const len = b[i + LENGTH]!;
    if (
      !(
        (kind === MSS && len === MSS_LENGTH) ||
        (kind === WINDOW_SCALE && len === WINDOW_SCALE_LENGTH) ||
        (kind === SACK_PERMITTED && len === SACK_PERMITTED_LENGTH) ||
        (kind === TIMESTAMPS && len === TIMESTAMPS_LENGTH)
      )
    ) {
      return false;
    }
    if (i + len > end) return false;
    i += len;
  }
  return true;
}

/** tcpdump's text for the options in `b[start, end)`, which {@link commonOptions} accepted. */
export function writeCommonOptions(out: TextBuffer, b: Uint8Array, start: number, end: number): void {
  // Two NOPs and the timestamps (RFC 7323 Appendix A's layout): what nearly
  // every segment after a handshake carries, in three writes.
  if (end - start === NOP_NOP_TIMESTAMPS_LENGTH && b[start] === NOP && b[start + 1] === NOP && b[start + 2] === TIMESTAMPS) {
    out.ascii("nop,nop,TS val ");
    out.uint(u32(b, start + 2 + DATA));
    out.ascii(" ecr ");
    out.uint(u32(b, start + 2 + TSECR));
    return;
  }
  let i = start;
  while (i < end) {
    if (i > start) out.byte(0x2c); // ","
    switch (b[i]!) {
      case NOP:
        out.ascii("nop");
        i++;
        continue;
      case MSS:
        out.ascii("mss ");
        out.uint(u16(b, i + DATA));
        break;
      case WINDOW_SCALE:
        out.ascii("wscale ");
        out.uint(b[i + DATA]!);
        break;
      case SACK_PERMITTED:
        out.ascii("sackOK");
        break;
      default: // TIMESTAMPS
        out.ascii("TS val ");
        out.uint(u32(b, i + DATA));
        out.ascii(" ecr ");
        out.uint(u32(b, i + TSECR));
    }
    i += b[i + LENGTH]!;
  }
}
