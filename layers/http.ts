/**
 * HTTP/1.x message heads (RFC 9112): the request line or status line and the
 * header fields, read from one TCP segment without reassembly.
 *
 * - Header names keep their case; {@link header} looks them up without case.
 * - The body is not parsed: `bodyLength` is what follows the head in this
 *   segment, with `contentLength` and `chunked` from the framing headers
 *   (RFC 9112 §6).
 * - Bounded: a head that does not end within 64 KiB, or has more than 100
 *   fields, stops with an {@link Issue}; one that does not end within the
 *   segment is kept as read, marked `headComplete: false`. Nothing is buffered.
 * - A segment that does not begin with a request or status line (a body, the
 *   rest of a long head) is not HTTP to this decoder: it is left as `payload`.
 * - Building writes head and body once, straight into the caller's buffer
 *   (`httpCodec.append`); {@link httpSummary} is tcpdump's line for a message.
 *
 * @example
 * ```ts
import { encodeHttp, header } from "./http.ts";
 * const get = encodeHttp({ layer: "http", method: "GET", uri: "/index.html", headers: [{ name: "Host", value: "a.test" }] });
 * ```
 *
 * @module
 */
import { checkInput } from "./input_check.ts";
import type { Decoder, LayerBase, Protocol } from "./core.ts";
import { appendCodec, type AppendCodec, ByteWriter, utf8Length } from "./byte_writer.ts";
import { PORT_HTTP, PORT_HTTP_ALT, PORT_HTTP_ALT2 } from "./dispatch.ts";
import { rangeView } from "./checksum.ts";

/** A header field as sent: name with its case, value without the SP and HTAB around it. */
export interface HttpHeader {
  name: string;
  value: string;
}

/** A decoded HTTP/1.x message head. */
export interface Http extends LayerBase {
  layer: "http";
  type: "request" | "response";
  /** request only */
  method?: string;
  uri?: string;
  /** `HTTP/1.1`, `HTTP/1.0` */
  version: string;
  /** response only */
  status?: number;
  reason?: string;
  headers: HttpHeader[];
  /** bytes of the start line, the fields and the empty line (as far as read) */
  headLength: number;
  /** false when the head did not end within this segment (or the bounds) */
  headComplete: boolean;
  /** from Content-Length, when present and valid */
  contentLength?: number;
  /** Transfer-Encoding ends in `chunked` */
  chunked: boolean;
  /** body bytes that follow the head in this segment */
  bodyLength: number;
  /** those bytes: a view into the frame (a shared empty array when there are none) */
  body: Uint8Array;
}

/** Bounds on one head: more is an {@link Issue}, never a buffer that grows. */
export const HTTP_MAX_HEAD_LENGTH = 65536;
export const HTTP_MAX_HEADERS = 100;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

// RFC 9110 §5.6.2 tchar, by byte value: methods and field names are checked on
// the bytes, before any string is made.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

// White space that ends a request target: RFC 9112 §3 lets a recipient take
// HTAB, VT, FF and CR as SP; LF ends the line; 0xa0 as well, as in JS `\s`
// (the start-line regex this decoder used before).
const SPACE = new Uint8Array(256);
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]) SPACE[c] = 1;

/** Whether `b[start, end)` is `lower` (lower-case letters and `-`) without regard to ASCII case. */
function equalsLower(b: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  // `| 0x20` folds A-Z onto a-z and keeps `-`; only tchar bytes reach here, and
  // no other tchar folds onto a letter or `-`.
  for (let i = 0; i < lower.length; i++) if ((b[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** `HTTP/d.d` at `at` (RFC 9112 §2.3). */
function isVersion(b: Uint8Array, at: number): boolean {
  return (
    b[at] === 0x48 && b[at + 1] === 0x54 && b[at + 2] === 0x54 && b[at + 3] === 0x50 && b[at + 4] === 0x2f &&
    isDigit(b[at + 5]!) && b[at + 6] === 0x2e && isDigit(b[at + 7]!)
  );
}

/**
 * RFC 9110 §5.6.3 OWS: SP or HTAB. Nothing else is trimmed from a value: VT,
 * FF, a bare CR or 0xa0 at its ends are part of it, as sent.
 */
function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

function trimOws(s: string): string {
  let i = 0;
  let j = s.length;
  while (i < j && isOws(s.charCodeAt(i))) i++;
  while (j > i && isOws(s.charCodeAt(j - 1))) j--;
  return s.slice(i, j);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function version(b: Uint8Array, at: number, head: string, start: number): string {
  if (b[at + 5] === 0x31 && b[at + 7] === 0x31) return "HTTP/1.1";
  if (b[at + 5] === 0x31 && b[at + 7] === 0x30) return "HTTP/1.0";
  return head.slice(at - start, at - start + 8);
}

const utf8 = new TextDecoder("utf-8");

function latin1(b: Uint8Array, start: number, end: number): string {
  // Each byte is one UTF-16 code unit (Latin-1). Not TextDecoder("latin1"):
  // WHATWG maps that label to windows-1252, which changes 0x80-0x9f. ASCII
  // reads the same in UTF-8, whose decoder is several times faster than
  // building the string in JS; any other byte makes the UTF-8 text shorter
  // (a sequence becomes one or two units) or puts a U+FFFD where it was.
  const text = utf8.decode(rangeView(b, start, end));
  if (text.length === end - start && text.indexOf("\ufffd") < 0) return text;
  // `apply` rather than a spread: V8 spreads a typed array through the
  // iterator protocol, slower still. Chunks of 4096 keep the argument count
  // far below engine limits.
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}

/**
 * For each line after the start line, where its leading run of token bytes ends
 * and where its LF is: found in one pass over the bytes before any string is
 * made. Reused by every call (decoding never re-enters); grows as needed, to at
 * most 2 entries per 2 bytes of a head (256 KiB).
 */
let marks = new Int32Array(128);

/** `body` when no body bytes follow: one empty array, not a view per message. */
const NO_BODY = new Uint8Array(0);

/** Decode one HTTP/1.x head at the start of a segment. Consumes all bytes; returns null or `"payload"`. */
export const decodeHttp: Decoder = (b, state) => {
  // Indices below are into the whole frame: the message is b[start, end).
  const start = state.offset;
  const end = state.end;
  const limit = Math.min(end, start + HTTP_MAX_HEAD_LENGTH);
  // The start line is matched as it is read, so that a segment that is not a
  // head (a body on port 80) stops within a few bytes. Only a complete first
  // line is trusted to be a start line: one that does not end in the segment
  // is left as payload as well, nothing to show yet.
  // RFC 9112 §3: method SP request-target SP HTTP-version, the target without white space.
  let methodEnd = start;
  while (methodEnd < limit && TCHAR[b[methodEnd]!] === 1) methodEnd++;
  let uriEnd = methodEnd + 1;
  if (methodEnd > start && b[methodEnd] === SP) while (uriEnd < limit && SPACE[b[uriEnd]!] === 0) uriEnd++;
  const request = uriEnd > methodEnd + 1 && b[uriEnd] === SP && uriEnd + 9 < limit && isVersion(b, uriEnd + 1);
  // Where the start line's text ends: before CR LF or a bare LF (RFC 9112 §2.2).
  let lineEnd = uriEnd + 9;
  if (!request) {
    // RFC 9112 §4: HTTP-version SP 3DIGIT [SP reason-phrase], the phrase without CR.
    if (start + 12 >= limit || !isVersion(b, start) || b[start + 8] !== SP || !isDigit(b[start + 9]!) || !isDigit(b[start + 10]!) || !isDigit(b[start + 11]!)) return "payload";
    lineEnd = start + 12;
    if (b[lineEnd] === SP) {
      lineEnd++;
      while (lineEnd < limit && b[lineEnd] !== CR && b[lineEnd] !== LF) lineEnd++;
    }
  }
  const firstLf = lineEnd < limit && b[lineEnd] === CR ? lineEnd + 1 : lineEnd;
  if (firstLf >= limit || b[firstLf] !== LF) return "payload";

  // Read every line of the head before making one string of it for every text
  // field: where it ends is where the string ends (after the empty line, or
  // before a line that does not end within the bounds). Each byte is read once:
  // the run of token bytes that may be a field name, then the rest to the LF.
  let lines = 0;
  let headEnd = firstLf + 1;
  for (;;) {
    let lf = headEnd;
    while (lf < limit && TCHAR[b[lf]!] === 1) lf++;
    const nameEnd = lf;
    while (lf < limit && b[lf] !== LF) lf++;
    if (lf >= limit) break;
    if (2 * lines === marks.length) {
      const more = new Int32Array(4 * lines);
      more.set(marks);
      marks = more;
    }
    marks[2 * lines] = nameEnd;
    marks[2 * lines + 1] = lf;
    lines++;
    const empty = lf === headEnd || (lf === headEnd + 1 && b[headEnd] === CR);
    headEnd = lf + 1;
    if (empty) break;
  }
  const head = latin1(b, start, headEnd);

  const headers: HttpHeader[] = [];
  const http: Http = request
    ? {
        layer: "http", type: "request",
        method: head.slice(0, methodEnd - start),
        uri: head.slice(methodEnd + 1 - start, uriEnd - start),
        version: version(b, uriEnd + 1, head, start),
        headers, headLength: 0, headComplete: false, chunked: false, bodyLength: 0, body: NO_BODY,
      }
    : {
        layer: "http", type: "response",
        version: version(b, start, head, start),
        status: (b[start + 9]! - 0x30) * 100 + (b[start + 10]! - 0x30) * 10 + (b[start + 11]! - 0x30),
        reason: lineEnd > start + 13 ? head.slice(13, lineEnd - start) : "",
        headers, headLength: 0, headComplete: false, chunked: false, bodyLength: 0, body: NO_BODY,
      };
  state.layers.push(http);

  // The first Content-Length field and the last Transfer-Encoding field are all
  // the framing rules below read: kept as fields, as a folded line may add to them.
  let contentLength: HttpHeader | undefined;
  let transferEncoding: HttpHeader | undefined;
  let pos = firstLf + 1;
  for (let line = 0; ; line++) {
    if (line === lines) {
      if (end - start >= HTTP_MAX_HEAD_LENGTH) {
        state.issues.push({ layer: "http", kind: "malformed", reason: `head exceeds ${HTTP_MAX_HEAD_LENGTH} bytes` });
      } else {
        state.issues.push({ layer: "http", kind: "truncated", reason: "head does not end in this segment" });
      }
      break;
    }
    const lineStart = pos;
    const nameEnd = marks[2 * line]!;
    const lf = marks[2 * line + 1]!;
    // RFC 9112 §2.2: a recipient may take a bare LF as a line end.
    const lineEnd = lf > lineStart && b[lf - 1] === CR ? lf - 1 : lf;
    pos = lf + 1;
    if (lineEnd === lineStart) {
      http.headComplete = true;
      break;
    }
    let valueEnd = lineEnd;
    while (valueEnd > lineStart && isOws(b[valueEnd - 1]!)) valueEnd--;
    if (isOws(b[lineStart]!)) {
      // RFC 9112 §5.2 obsolete line folding: the fold becomes one SP in the previous value.
      const last = headers[headers.length - 1];
      let more = lineStart;
      while (more < valueEnd && isOws(b[more]!)) more++;
      if (!last) state.issues.push({ layer: "http", kind: "malformed", reason: "folded line before any header field" });
      else if (more < valueEnd) {
        const text = head.slice(more - start, valueEnd - start);
        last.value = last.value === "" ? text : last.value + " " + text;
      }
      continue;
    }
    if (headers.length >= HTTP_MAX_HEADERS) {
      state.issues.push({ layer: "http", kind: "malformed", reason: `more than ${HTTP_MAX_HEADERS} header fields` });
      break;
    }
    if (nameEnd === lineStart || b[nameEnd] !== COLON) {
      state.issues.push({ layer: "http", kind: "malformed", reason: `header line ${headers.length + 1} is not a field` });
      continue;
    }
    // RFC 9112 §5: field-name ":" OWS field-value OWS.
    let valueStart = nameEnd + 1;
    while (valueStart < valueEnd && isOws(b[valueStart]!)) valueStart++;
    const field: HttpHeader = {
      name: head.slice(lineStart - start, nameEnd - start),
      value: valueEnd > valueStart ? head.slice(valueStart - start, valueEnd - start) : "",
    };
    headers.push(field);
    if (nameEnd - lineStart === 14 && contentLength === undefined && equalsLower(b, lineStart, nameEnd, "content-length")) contentLength = field;
    else if (nameEnd - lineStart === 17 && equalsLower(b, lineStart, nameEnd, "transfer-encoding")) transferEncoding = field;
  }
  http.headLength = pos - start;
  if (contentLength !== undefined) {
    const n = contentLengthValue(contentLength.value);
    if (n >= 0) http.contentLength = n;
    else state.issues.push({ layer: "http", kind: "malformed", reason: `Content-Length "${contentLength.value}" is not a number` });
  }
  if (transferEncoding !== undefined) http.chunked = lastCodingIsChunked(transferEncoding.value);
  if (http.headComplete && pos < end) {
    http.body = rangeView(b, pos, end);
    http.bodyLength = end - pos;
  }
  state.offset = state.end;
  return null;
};

/** RFC 9110 §8.6: 1 to 15 digits; a list of equal values is tolerated. -1 for anything else. */
function contentLengthValue(v: string): number {
  if (v.indexOf(",") >= 0) {
    // RFC 9110 §5.6.1: list elements are separated by OWS "," OWS.
    const values = v.split(",").map(trimOws);
    return values.every((s) => s === values[0]) ? contentLengthValue(values[0]!) : -1;
  }
  // `v` is a field value: no OWS around it.
  if (v.length < 1 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** RFC 9112 §6.1: whether the last transfer coding of the list is `chunked` (any case). */
function lastCodingIsChunked(v: string): boolean {
  let i = v.lastIndexOf(",") + 1;
  let j = v.length;
  while (i < j && isOws(v.charCodeAt(i))) i++;
  while (j > i && isOws(v.charCodeAt(j - 1))) j--;
  if (j - i !== 7) return false;
  // `| 0x20` folds A-Z onto a-z: only the two cases of a letter fold onto it.
  for (let k = 0; k < 7; k++) if ((v.charCodeAt(i + k) | 0x20) !== "chunked".charCodeAt(k)) return false;
  return true;
}
/** The value of the first header field with this name, compared without case, or undefined. */
export function header(http: { headers: readonly HttpHeader[] }, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const h of http.headers) if (h.name.toLowerCase() === lower) return h.value;
  return undefined;
}

/** Every value of the header fields with this name, in order. */
export function headerValues(http: { headers: readonly HttpHeader[] }, name: string): string[] {
  const lower = name.toLowerCase();
  return http.headers.filter((h) => h.name.toLowerCase() === lower).map((h) => h.value);
}

/** Reason phrases for the status codes a builder most often needs (RFC 9110 §15). */
export const HTTP_REASON: ReadonlyMap<number, string> = new Map([
  [100, "Continue"],
  [101, "Switching Protocols"],
  [200, "OK"],
  [201, "Created"],
  [204, "No Content"],
  [206, "Partial Content"],
  [301, "Moved Permanently"],
  [302, "Found"],
  [304, "Not Modified"],
  [400, "Bad Request"],
  [401, "Unauthorized"],
  [403, "Forbidden"],
  [404, "Not Found"],
  [405, "Method Not Allowed"],
  [413, "Content Too Large"],
  [500, "Internal Server Error"],
  [502, "Bad Gateway"],
  [503, "Service Unavailable"],
]);

/**
 * What a user gives to build an HTTP message: a request unless `status` is set.
 * `Content-Length` is added for a non-empty body unless a Content-Length or
 * Transfer-Encoding field is given (then the body is written as given).
 */
export interface HttpInput {
  layer: "http";
  /** default GET */
  method?: string;
  /** default `/` */
  uri?: string;
  /** default `HTTP/1.1` */
  version?: string;
  status?: number;
  /** default: the usual phrase of `status` */
  reason?: string;
  headers?: HttpHeader[];
  body?: Uint8Array | string;
}

function bodyLength(body: Uint8Array | string | undefined): number {
  return typeof body === "string" ? utf8Length(body) : (body?.length ?? 0);
}

/**
 * The head's lines as text, CR LF included: the start line, the fields, a
 * `Content-Length` for a non-empty body when no framing field is given
 * (RFC 9112 §6.2), and the empty line.
 */
function headLines(input: HttpInput, body: number): string[] {
  const version = input.version ?? "HTTP/1.1";
  const lines = [
    input.status !== undefined
      ? `${version} ${input.status} ${input.reason ?? HTTP_REASON.get(input.status) ?? ""}\r\n`
      : `${input.method ?? "GET"} ${input.uri ?? "/"} ${version}\r\n`,
  ];
  const headers = input.headers ?? [];
  for (const h of headers) lines.push(`${h.name}: ${h.value}\r\n`);
  if (body > 0 && header({ headers }, "content-length") === undefined && header({ headers }, "transfer-encoding") === undefined) {
    lines.push(`Content-Length: ${body}\r\n`);
  }
  lines.push("\r\n");
  return lines;
}

/** Write head and body at `out[at, …)`; returns where they end. */
function appendHttp(input: HttpInput, out: Uint8Array, at: number): number {
  const body = bodyLength(input.body);
  const lines = headLines(input, body);
  let head = 0;
  for (const line of lines) head += line.length;
  const w = new ByteWriter("http", out, at);
  w.room(head + body);
  // A head is octets (RFC 9112 §2.2): each character one byte, none above 0xff.
  const notLatin1 = (): string => `HTTP head text must be Latin-1: "${lines.join("")}"`;
  for (const line of lines) w.latin1(line, notLatin1);
  if (typeof input.body === "string") w.utf8(input.body, body);
  else if (input.body !== undefined) w.bytes(input.body);
  return w.pos;
}

/** The length {@link appendHttp} writes, from the lengths of its text. */
function httpLength(input: HttpInput): number {
  const body = bodyLength(input.body);
  let n = body;
  for (const line of headLines(input, body)) n += line.length;
  return n;
}

/** Build an HTTP message (head and body). Throws a RangeError on head text beyond Latin-1. */
export function encodeHttp(input: HttpInput): Uint8Array {
  checkInput("http", input, httpProtocol.inputRules!);
  const out = new Uint8Array(httpLength(input));
  appendHttp(input, out, 0);
  return out;
}

/** HTTP codec: head and body are this layer, written once by `append`. */
export const httpCodec: AppendCodec<HttpInput> = appendCodec<HttpInput>(
  (value, out, at) => appendHttp(value, out, at),
  (value) => httpLength(value),
);

/**
 * tcpdump's line for an HTTP message (txtproto_print): its first line,
 * `HTTP: GET /index.html HTTP/1.1` or `HTTP: HTTP/1.1 200 OK`.
 */
export function httpSummary(h: Http): string {
  return h.type === "request" ? `HTTP: ${h.method} ${h.uri} ${h.version}` : `HTTP: ${h.version} ${h.status} ${h.reason ?? ""}`.trimEnd();
}

// HTTP/1.x request methods (RFC 9110 §9, RFC 5789 PATCH), each followed by a space.
const METHODS: readonly Uint8Array[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"].map(
  (m) => Uint8Array.from(m + " ", (c) => c.charCodeAt(0)),
);
const HTTP_VERSION = Uint8Array.from("HTTP/1.", (c) => c.charCodeAt(0));

function startsWith(b: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[start + i] !== prefix[i]) return false;
  return true;
}

/**
 * Whether a TCP payload `payload[start, end)` starts like HTTP/1.x: a request
 * method and a space, or `HTTP/1.` (a response).
 */
export function looksLikeHttp(payload: Uint8Array, start = 0, end = payload.length): boolean {
  if (end - start < 4) return false;
  // Every method and "HTTP/1." starts with an upper-case letter: most payloads stop here.
  const first = payload[start]!;
  if (first < 0x41 || first > 0x5a) return false;
  if (startsWith(payload, start, end, HTTP_VERSION)) return true;
  for (const m of METHODS) if (startsWith(payload, start, end, m)) return true;
  return false;
}

/** HTTP in the registry: TCP 80, 8080, 8000, and any TCP payload that starts like HTTP/1.x. */
export const httpProtocol: Protocol<"http", Http, HttpInput> = {
  kind: "http",
  decode: decodeHttp,
  codec: httpCodec,
  claims: { tcpPorts: [PORT_HTTP, PORT_HTTP_ALT, PORT_HTTP_ALT2], sniffTcp: looksLikeHttp },
  summary: httpSummary,
  inputRules: { method: "text", uri: "text", version: "text", status: "int", reason: "text", headers: { list: { name: "text", value: "text" } }, body: "data" },
};
