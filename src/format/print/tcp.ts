/**
 * The TCP part of a line, as tcpdump prints it: `Flags [S.], seq 1, ack 2,
 * win 65535, options [mss 1460,nop,wscale 7], length 0` (or `tcp 0` when
 * quiet), with relative sequence numbers unless told otherwise; from a
 * decoded {@link Tcp} ({@link tcpText}) or from the header's numbers
 * ({@link writeTcp}, which the fast path in fast.ts also calls).
 *
 * @example
 * ```ts
 * import { tcpFlags } from "./tcp.ts";
 * tcpFlags(0x012); // "S."
 * ```
 *
 * @module
 */
import type { LayerBase, Payload } from "../../../layers/core.ts";
import { tcpPortKind } from "../../../layers/registry.ts";
import { TCP_FLAGS, type Tcp } from "../../../layers/tcp.ts";
import type { TcpOption } from "../../../layers/tcp_options.ts";
import type { TextBuffer } from "../text_buffer.ts";
import { appOr } from "./app.ts";
import { badChecksum } from "./issues.ts";
import { cutReason, isCut, type LineState } from "./state.ts";
import { tcpOptions, writeCommonOptions } from "./tcp_options.ts";

// Module-local names: V8 folds these, where it loads an imported binding at every use.
const FIN = TCP_FLAGS.FIN;
const SYN = TCP_FLAGS.SYN;
const RST = TCP_FLAGS.RST;
const PSH = TCP_FLAGS.PSH;
const ACK = TCP_FLAGS.ACK;
const URG = TCP_FLAGS.URG;
const ECE = TCP_FLAGS.ECE;
const CWR = TCP_FLAGS.CWR;
/** AE, the bit RFC 3540 called NS, now AccECN's (RFC 9768) */
const AE = TCP_FLAGS.NS;

/** tcpdump's flag letters, in its order: F S R P . U E W, plus e for AE (RFC 9768 / AccECN). */
export function tcpFlags(flags: number): string {
  let s = "";
  if (flags & FIN) s += "F";
  if (flags & SYN) s += "S";
  if (flags & RST) s += "R";
  if (flags & PSH) s += "P";
  if (flags & ACK) s += ".";
  if (flags & URG) s += "U";
  if (flags & ECE) s += "E";
  if (flags & CWR) s += "W";
  if (flags & AE) s += "e";
  return s === "" ? "none" : s;
}

/** The request methods tcpdump's HTTP printer knows (print-http.c: RFC 2616, 2518, 3253, 3648, 3744, 5323, 5789). */
const HTTP_METHODS: ReadonlySet<string> = new Set(["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "VERSION-CONTROL", "REPORT", "CHECKOUT", "CHECKIN", "UNCHECKOUT", "MKWORKSPACE", "UPDATE", "LABEL", "MERGE", "BASELINE-CONTROL", "MKACTIVITY", "ORDERPATCH", "ACL", "SEARCH", "PATCH"]);

/**
 * Whether tcpdump, given the first bytes of data on an HTTP port that the
 * capture cut before its first line ended, goes on to mark the cut: once it
 * has read a request method it knows, or a response's status code (a second
 * token of three digits), each with the space after it. Other data (the rest
 * of a body) is "HTTP" alone.
 */
function httpStarted(data: Uint8Array): boolean {
  const sp = data.indexOf(0x20);
  if (sp <= 0) return false;
  if (HTTP_METHODS.has(String.fromCharCode(...data.subarray(0, sp)))) return true;
  const code = data.subarray(sp + 1, sp + 5);
  return code.length === 4 && code[3] === 0x20 && code.subarray(0, 3).every((c) => c >= 0x30 && c <= 0x39);
}

/** tcpdump's names of the options it names before reading their data (print-tcp.c's table). */
const OPTION_NAME: { readonly [kind: number]: string } = { 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 8: "TS", 19: "md5", 28: "utoToTo", 29: "tcp-ao", 30: "mptcp", 34: "tfo", 254: "exp" };

/** `Flags [S.]`: {@link tcpFlags} of every 9-bit flags value, as a line has it (one write). */
const FLAG_TEXT: readonly string[] = Array.from({ length: 512 }, (_, f) => "Flags [" + tcpFlags(f) + "]");

/**
 * Write the TCP part of a line from the header's numbers; `state.ipSrc` and
 * `state.ipDst` are set. Options are the parsed list, or when that is empty
 * the option bytes `optionData[optionStart, optionEnd)` that `commonOptions`
 * accepted.
 */
export function writeTcp(
  state: LineState,
  out: TextBuffer,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  urgent: number,
  options: readonly TcpOption[],
  payload: number,
  optionData?: Uint8Array,
  optionStart = 0,
  optionEnd = 0,
  cutOptions = false,
): void {
  if (state.quiet) {
    out.ascii("tcp ");
    out.uint(payload >= 0 ? payload : 0);
    return;
  }
  let sackBase = 0;
  if (!state.absoluteSeq) {
    const s = state.seq;
    s.relative(state.ipSrc, state.ipDst, srcPort, dstPort, seq, ack, flags);
    seq = s.seq;
    ack = s.ack;
    sackBase = s.sackBase;
  }
  out.ascii(FLAG_TEXT[flags & 0x1ff]!);
  if (payload > 0 || flags & (SYN | FIN | RST)) {
    out.ascii(", seq ");
    out.uint(seq);
    if (payload > 0) {
      out.byte(0x3a); // ":"
      out.uint((seq + payload) >>> 0);
    }
  }
  if (flags & ACK) {
    out.ascii(", ack ");
    out.uint(ack);
  }
  out.ascii(", win ");
  out.uint(window);
  if (flags & URG) {
    out.ascii(", urg ");
    out.uint(urgent);
  }
  if (cutOptions) {
    // The capture cut the options: the whole ones, then tcpdump's mark (it
    // prints the comma before reading the next option's kind).
    out.ascii(", options [");
    if (options.length > 0) {
      out.text(tcpOptions(options, sackBase, flags));
      out.byte(0x2c);
    }
    out.ascii(" [|tcp]");
    return;
  }
  if (options.length > 0) {
    out.ascii(", options [");
    const text = tcpOptions(options, sackBase, flags);
    out.text(text);
    out.byte(0x5d);
    // tcpdump ends the line after an option it calls bad
    if (text.endsWith("[bad opt]")) return;
  } else if (optionData !== undefined && optionEnd > optionStart) {
    out.ascii(", options [");
    writeCommonOptions(out, optionData, optionStart, optionEnd);
    out.byte(0x5d);
  }
  out.ascii(", length ");
  out.uint(payload >= 0 ? payload : 0);
}

/** The TCP part of a layered line (after the ports), the app layer's text after it; `state.ipUpper` is set. */
export function tcpText(state: LineState, t: Tcp, app: LayerBase | undefined): string {
  if (t.checksumStatus === "bad") state.flags += badChecksum("tcp", t.checksum);
  const payload = state.ipUpper - t.headerLength;
  const scratch = state.scratch;
  const from = scratch.pos;
  const cut = state.cut.length > 0 && isCut(state, "tcp");
  writeTcp(state, scratch, t.srcPort, t.dstPort, t.seq, t.ack, t.flags, t.window, t.urgentPointer, t.options, payload, undefined, 0, 0, cut);
  let s = scratch.take(from);
  if (cut) {
    // The option the capture cut (its bytes are the payload): tcpdump names
    // it once its kind and length are there (with a stray ">" after it when
    // options came before, as tcpdump 4.99 prints).
    const rest = app?.layer === "payload" ? (app as Payload).data : undefined;
    if (rest !== undefined && rest.length >= 2 && !state.quiet) s = s.slice(0, -" [|tcp]".length) + (OPTION_NAME[rest[0]!] ?? "unknown-" + rest[0]!) + (t.options.length > 0 ? " [|tcp]>" : " [|tcp]");
    return s;
  }
  if (!state.quiet && app !== undefined && app.layer !== "payload" && payload > 0) {
    const text = appOr(state, app, "");
    // tcpdump: "length 58 17177+ A? ..." for DNS, "length 58: HTTP: GET ..." for text protocols.
    if (text !== "") s += (app.layer === "dns" ? " " : ": ") + text;
  } else if (state.cut.length > 0 && !state.quiet && state.app !== undefined && payload > 0) {
    const kind = tcpPortKind(t.srcPort, t.dstPort);
    // HTTP the capture cut before its first line ended: tcpdump's "HTTP", and
    // its mark when some of the line is there; DNS cut before its header
    // was whole: the mark alone.
    if (kind === "http") s += app !== undefined && httpStarted((app as Payload).data) ? ": HTTP [|http]" : ": HTTP";
    else if (kind === "dns") s += isCut(state, "dns") && !cutReason(state, "dns").startsWith("TCP length prefix is cut") ? "  [|domain]" : " [|domain]";
  } else if (!state.quiet && state.app !== undefined && payload > 0 && app?.layer === "payload" && tcpPortKind(t.srcPort, t.dstPort) === "http") {
    // On an HTTP port, data that does not start a message (the rest of a body): tcpdump's "length 1448: HTTP".
    s += ": HTTP";
  }
  return s;
}
