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
 *
 * @example
 * ```ts
 * import { encodeHttp, header } from "./http.ts";
 * const get = encodeHttp({ layer: "http", method: "GET", uri: "/index.html", headers: [{ name: "Host", value: "a.test" }] });
 * ```
 *
 * @module
 */
import type { Codec, Decoder, LayerBase } from "./core.ts";

/** A header field as sent: name with its case, value without surrounding whitespace. */
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
  /** those bytes: a view into the frame */
  body: Uint8Array;
}

/** Bounds on one head: more is an {@link Issue}, never a buffer that grows. */
export const HTTP_MAX_HEAD_LENGTH = 65536;
export const HTTP_MAX_HEADERS = 100;

// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP\/\d\.\d)$/;
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/;

function latin1(b: Uint8Array, start: number, end: number): string {
  // Each byte is one UTF-16 code unit (Latin-1). Not TextDecoder("latin1"):
  // WHATWG maps that label to windows-1252, which changes 0x80-0x9f. `apply`
  // rather than a spread: V8 spreads a typed array through the iterator
  // protocol, several times slower on short header lines. Chunks of 4096 keep
  // the argument count far below engine limits.
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}

/** Line end at or after `pos`: index of the LF, or -1. A CR before it is trimmed by the caller. */
function lineEnd(b: Uint8Array, pos: number, limit: number): number {
  const i = b.indexOf(0x0a, pos);
  return i < 0 || i >= limit ? -1 : i;
}

function lineText(b: Uint8Array, start: number, lf: number): string {
  // RFC 9112 §2.2: a recipient may take a bare LF as a line end.
  const end = lf > start && b[lf - 1] === 0x0d ? lf - 1 : lf;
  return latin1(b, start, end);
}

/** Decode one HTTP/1.x head at the start of a segment. Consumes all bytes; returns null or `"payload"`. */
export const decodeHttp: Decoder = (frame, state) => {
  // Off the hot path: one view of the message keeps the offsets below relative.
  const bytes = frame.subarray(state.offset, state.end);
  const limit = Math.min(bytes.length, HTTP_MAX_HEAD_LENGTH);
  const firstLf = lineEnd(bytes, 0, limit);
  // Only a complete first line is trusted to be a start line. A start line that
  // does not end in the segment is left as payload as well: nothing to show yet.
  const first = firstLf < 0 ? null : lineText(bytes, 0, firstLf);
  const req = first === null ? null : REQUEST_LINE.exec(first);
  const res = first === null || req ? null : STATUS_LINE.exec(first);
  if (!req && !res) {
    return "payload";
  }
  const http: Http = req
    ? { layer: "http", type: "request", method: req[1]!, uri: req[2]!, version: req[3]!, headers: [], headLength: 0, headComplete: false, chunked: false, bodyLength: 0, body: bytes.subarray(0, 0) }
    : { layer: "http", type: "response", version: res![1]!, status: Number(res![2]!), reason: res![3] ?? "", headers: [], headLength: 0, headComplete: false, chunked: false, bodyLength: 0, body: bytes.subarray(0, 0) };
  state.layers.push(http);
  let pos = firstLf + 1;
  for (;;) {
    const lf = lineEnd(bytes, pos, limit);
    if (lf < 0) {
      if (bytes.length >= HTTP_MAX_HEAD_LENGTH) {
        state.issues.push({ layer: "http", kind: "malformed", reason: `head exceeds ${HTTP_MAX_HEAD_LENGTH} bytes` });
      } else {
        state.issues.push({ layer: "http", kind: "truncated", reason: "head does not end in this segment" });
      }
      break;
    }
    const line = lineText(bytes, pos, lf);
    pos = lf + 1;
    if (line === "") {
      http.headComplete = true;
      break;
    }
    if (line[0] === " " || line[0] === "\t") {
      // RFC 9112 §5.2 obsolete line folding: join to the previous value with a space.
      const last = http.headers[http.headers.length - 1];
      if (last) last.value = (last.value + " " + line.trim()).trim();
      else state.issues.push({ layer: "http", kind: "malformed", reason: "folded line before any header field" });
      continue;
    }
    if (http.headers.length >= HTTP_MAX_HEADERS) {
      state.issues.push({ layer: "http", kind: "malformed", reason: `more than ${HTTP_MAX_HEADERS} header fields` });
      break;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    if (!TOKEN.test(name)) {
      state.issues.push({ layer: "http", kind: "malformed", reason: `header line ${http.headers.length + 1} is not a field` });
      continue;
    }
    http.headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  http.headLength = pos;
  const cl = header(http, "content-length");
  if (cl !== undefined) {
    // RFC 9110 §8.6: digits only; a list of equal values is tolerated.
    const values = cl.split(",").map((v) => v.trim());
    if (values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) http.contentLength = Number(values[0]);
    else state.issues.push({ layer: "http", kind: "malformed", reason: `Content-Length "${cl}" is not a number` });
  }
  const te = headerValues(http, "transfer-encoding").join(",");
  http.chunked = te !== "" && te.split(",").pop()!.trim().toLowerCase() === "chunked";
  if (http.headComplete) {
    http.body = bytes.subarray(pos);
    http.bodyLength = bytes.length - pos;
  }
  state.offset = state.end;
  return null;
};

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

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`HTTP head text must be Latin-1: "${s}"`);
    out[i] = c;
  }
  return out;
}

/** Build an HTTP message (head and body). */
export function encodeHttp(input: HttpInput): Uint8Array {
  const version = input.version ?? "HTTP/1.1";
  const body = typeof input.body === "string" ? new TextEncoder().encode(input.body) : (input.body ?? new Uint8Array(0));
  const headers = [...(input.headers ?? [])];
  if (body.length > 0 && header({ headers }, "content-length") === undefined && header({ headers }, "transfer-encoding") === undefined) {
    headers.push({ name: "Content-Length", value: String(body.length) });
  }
  let head =
    input.status !== undefined
      ? `${version} ${input.status} ${input.reason ?? HTTP_REASON.get(input.status) ?? ""}\r\n`
      : `${input.method ?? "GET"} ${input.uri ?? "/"} ${version}\r\n`;
  for (const h of headers) head += `${h.name}: ${h.value}\r\n`;
  head += "\r\n";
  const headBytes = latin1Bytes(head);
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}

/** HTTP codec: head and body are this layer's header. */
export const httpCodec: Codec<HttpInput> = {
  headerLength(value) {
    return encodeHttp(value).length;
  },
  write(value, out) {
    out.set(encodeHttp(value), 0);
  },
};
