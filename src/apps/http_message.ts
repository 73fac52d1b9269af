/**
 * HTTP/1.x responses read from a byte stream (RFC 9112): the status line and
 * header fields, bounded, and the body's framing (§6.3): Content-Length,
 * chunked with trailers, or to the end of the connection. The client
 * (http_client.ts) feeds it the bytes as TCP delivers them; nothing here does
 * I/O, and nothing is copied: body bytes come out as views of the input.
 *
 * Bounds, so a server that lies costs at most a fixed amount of memory: a
 * head (or a trailer section) longer than `maxHeadLength`, a chunk-size line
 * longer than 4 KiB or a chunk size over 2^53 ends with an {@link HttpError}.
 * Every error has a message that says what was wrong with what bytes.
 *
 * @example
 * ```ts
 * import { BodyDecoder, bodyFraming, findHeadEnd, parseResponseHead } from "./http_message.ts";
 * const bytes = new TextEncoder().encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
 * const end = findHeadEnd(bytes, 0, bytes.length);
 * const head = parseResponseHead(bytes.subarray(0, end));
 * const body = new BodyDecoder(bodyFraming(head, "GET"));
 * body.push(bytes.subarray(end), (chunk) => console.log(chunk.length)); // 3
 * body.done; // true
 * ```
 *
 * @module
 */
import { header, type HttpHeader } from "../../layers/http.ts";

/** A response that cannot be read: a bad status line, a bad chunk size, a body cut short. */
export class HttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** A response's status line and header fields. */
export interface HttpResponseHead {
  /** `HTTP/1.1`, `HTTP/1.0` */
  version: string;
  status: number;
  reason: string;
  /** in order, names with their case */
  headers: HttpHeader[];
  /** the head's bytes as received, up to and including the empty line */
  raw: Uint8Array;
}

/** How a response's body ends (RFC 9112 §6.3). */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** The default bound on a head and on a trailer section, as layers/http.ts decodes. */
export const MAX_HEAD_LENGTH = 65536;
/** A chunk-size line (size and extensions) longer than this is refused. */
const MAX_CHUNK_LINE = 4096;

const LF = 0x0a;
const CR = 0x0d;
const latin1 = new TextDecoder("latin1");

/**
 * Where the head in `b[from, to)` ends: the index after its empty line
 * (CRLF CRLF, or bare LF LF as RFC 9112 §2.2 lets a recipient accept), or
 * -1 when it has not ended yet.
 */
export function findHeadEnd(b: Uint8Array, from: number, to: number): number {
  let i = b.indexOf(LF, from);
  while (i !== -1 && i < to) {
    const next = i + 1;
    if (next < to && b[next] === LF) return next + 1;
    if (next + 1 < to && b[next] === CR && b[next + 1] === LF) return next + 2;
    i = b.indexOf(LF, next);
  }
  return -1;
}

// RFC 9110 §5.6.2: a field name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Split a head's text into lines (CRLF or LF), without the final empty ones. */
function lines(text: string): string[] {
  const out = text.split(/\r?\n/);
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out;
}

/** Header field lines (a head after its status line, or a trailer section), RFC 9112 §5. */
function parseFields(fieldLines: string[], where: string): HttpHeader[] {
  const headers: HttpHeader[] = [];
  for (const line of fieldLines) {
    // RFC 9112 §5.2: obsolete line folding; a client may replace it with SP.
    if (/^[ \t]/.test(line)) {
      const last = headers[headers.length - 1];
      if (last === undefined) throw new HttpError(`${where} begins with a folded line`);
      const more = line.trim();
      if (more !== "") last.value = last.value === "" ? more : `${last.value} ${more}`;
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpError(`${where} has a line that is not a header field: ${JSON.stringify(line.slice(0, 60))}`);
    headers.push({ name, value: line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "") });
  }
  return headers;
}

/** Parse a complete response head (what {@link findHeadEnd} delimited). */
export function parseResponseHead(raw: Uint8Array): HttpResponseHead {
  const all = lines(latin1.decode(raw));
  const statusLine = all[0] ?? "";
  // RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase]; a missing SP before an empty reason is tolerated.
  const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (m === null) throw new HttpError(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 60))}`);
  return { version: m[1]!, status: Number(m[2]), reason: m[3] ?? "", headers: parseFields(all.slice(1), "the response head"), raw };
}

/**
 * How the body of `head`, the answer to a `method` request, ends: RFC 9112
 * §6.3 in its order. Throws {@link HttpError} for a Content-Length that is
 * not one number.
 */
export function bodyFraming(head: HttpResponseHead, method: string): BodyFraming {
  const s = head.status;
  // §6.3 rule 1: HEAD, 1xx, 204 and 304 have no body whatever the fields say.
  if (method === "HEAD" || (s >= 100 && s < 200) || s === 204 || s === 304) return { kind: "none" };
  const te = header(head, "transfer-encoding");
  if (te !== undefined) {
    // §6.3 rule 4: Transfer-Encoding overrides Content-Length; chunked only if it is the last coding, else to close.
    const codings = te.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
    return codings[codings.length - 1] === "chunked" ? { kind: "chunked" } : { kind: "close" };
  }
  const values = head.headers.filter((h) => h.name.toLowerCase() === "content-length").flatMap((h) => h.value.split(",").map((v) => v.trim()));
  if (values.length > 0) {
    // §6.3 rule 5: a list of one value repeated is that value; anything else is unrecoverable.
    if (!values.every((v) => /^\d{1,15}$/.test(v)) || new Set(values.map(Number)).size !== 1) {
      throw new HttpError(`bad Content-Length ${JSON.stringify(values.join(", ").slice(0, 60))}`);
    }
    return { kind: "length", length: Number(values[0]) };
  }
  return { kind: "close" };
}


/**
 * A body as it arrives: {@link push} the bytes after the head, then
 * {@link finish} at the end of the connection. Data comes out through the
 * callback as views of the input; {@link done} says when the body ended by
 * its own framing, {@link rest} what followed it in the last push.
 */
export class BodyDecoder {
  readonly framing: BodyFraming;
  /** body bytes delivered so far (chunked: the data, not the framing) */
  received = 0;
  /** the trailer fields of a chunked body */
  trailers: HttpHeader[] = [];
  /** the body ended by its framing (Content-Length reached, last chunk and trailers read, or nothing to read) */
  done: boolean;
  /** bytes after the end of the body in the last push (a server's next response, or garbage) */
  rest: Uint8Array = new Uint8Array(0);
  readonly #maxTrailer: number;
  // chunked state
  #phase: "size" | "data" | "data-crlf" | "trailer" = "size";
  #remaining = 0;
  #line: number[] = [];
  #trailerLines: string[] = [];
  #trailerBytes = 0;

  constructor(framing: BodyFraming, maxTrailerLength = MAX_HEAD_LENGTH) {
    this.framing = framing;
    this.#maxTrailer = maxTrailerLength;
    this.done = framing.kind === "none" || (framing.kind === "length" && framing.length === 0);
  }

  /** Take `b`; body data goes to `data`. Throws {@link HttpError} on bad framing. */
  push(b: Uint8Array, data: (chunk: Uint8Array) => void): void {
    if (this.done) {
      this.rest = b;
      return;
    }
    const f = this.framing;
    if (f.kind === "close") {
      this.received += b.length;
      if (b.length > 0) data(b);
    } else if (f.kind === "length") {
      const n = Math.min(b.length, f.length - this.received);
      this.received += n;
      if (n > 0) data(n === b.length ? b : b.subarray(0, n));
      if (this.received === f.length) {
        this.done = true;
        this.rest = b.subarray(n);
      }
    } else if (f.kind === "chunked") this.#chunked(b, data);
  }

  /** The connection ended: throws if the body had not (a close-delimited body ends here). */
  finish(): void {
    if (this.done) return;
    const f = this.framing;
    if (f.kind === "close") {
      this.done = true;
      return;
    }
    if (f.kind === "length") throw new HttpError(`connection closed after ${this.received} of ${f.length} body bytes`);
    throw new HttpError(`connection closed in a chunked body after ${this.received} bytes (no last chunk)`);
  }

  #chunked(b: Uint8Array, data: (chunk: Uint8Array) => void): void {
    let i = 0;
    const n = b.length;
    while (i < n && !this.done) {
      switch (this.#phase) {
        case "data": {
          const take = Math.min(this.#remaining, n - i);
          data(b.subarray(i, i + take));
          this.received += take;
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#phase = "data-crlf";
          break;
        }
        case "data-crlf": {
          // RFC 9112 §7.1: chunk-data CRLF. A bare LF is tolerated; anything else is a framing error.
          const c = b[i]!;
          if (c === CR && this.#line.length === 0) {
            this.#line.push(c);
            i++;
          } else if (c === LF) {
            this.#line = [];
            this.#phase = "size";
            i++;
          } else throw new HttpError(`chunk data is not followed by CRLF (found ${JSON.stringify(String.fromCharCode(c))})`);
          break;
        }
        case "size":
        case "trailer": {
          const lf = b.indexOf(LF, i);
          const end = lf === -1 ? n : lf;
          this.#take(b, i, end);
          i = end;
          if (lf === -1) break;
          i++;
          const text = latin1.decode(Uint8Array.from(this.#line)).replace(/\r$/, "");
          this.#line = [];
          if (this.#phase === "size") this.#sizeLine(text);
          else this.#trailerLine(text);
          break;
        }
      }
    }
    if (this.done) this.rest = b.subarray(i);
  }

  /** Keep part of a size or trailer line, bounded. */
  #take(b: Uint8Array, from: number, to: number): void {
    const limit = this.#phase === "size" ? MAX_CHUNK_LINE : this.#maxTrailer - this.#trailerBytes;
    if (this.#line.length + (to - from) > limit) {
      if (this.#phase === "size") throw new HttpError(`chunk-size line longer than ${MAX_CHUNK_LINE} bytes`);
      throw new HttpError(`trailer section longer than ${this.#maxTrailer} bytes`);
    }
    for (let k = from; k < to; k++) this.#line.push(b[k]!);
  }

  #sizeLine(text: string): void {
    // RFC 9112 §7.1: chunk-size [ chunk-ext ], chunk-size = 1*HEXDIG; extensions are ignored.
    const semi = text.indexOf(";");
    const size = (semi === -1 ? text : text.slice(0, semi)).replace(/[ \t]+$/, "");
    if (!/^[0-9A-Fa-f]+$/.test(size)) throw new HttpError(`bad chunk size ${JSON.stringify(text.slice(0, 40))} after ${this.received} body bytes`);
    const digits = size.replace(/^0+(?=.)/, "");
    if (digits.length > 13) throw new HttpError(`chunk size 0x${digits.slice(0, 20)} is too large`);
    const value = parseInt(digits, 16);
    if (value === 0) {
      this.#phase = "trailer";
      return;
    }
    this.#remaining = value;
    this.#phase = "data";
  }

  #trailerLine(text: string): void {
    this.#trailerBytes += text.length + 2;
    if (text === "") {
      this.trailers = parseFields(this.#trailerLines, "the trailer section");
      this.done = true;
      return;
    }
    this.#trailerLines.push(text);
  }
}
