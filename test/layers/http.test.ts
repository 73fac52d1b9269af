// HTTP/1.x heads written out by hand from RFC 9112 §3 (request line), §4 (status
// line), §5 (fields), §6 (body framing), and heads that never end or are too big.
import { newState, type TestState } from "../helpers/decode_state.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { LINKTYPE } from "../../layers/link_type.ts";
import { decodeHttp, encodeHttp, header, headerValues, httpCodec, httpProtocol, httpSummary, HTTP_MAX_HEAD_LENGTH, type Http } from "../../layers/http.ts";
import { encodeContext } from "../../layers/encode.ts";
import { appSummary } from "../../src/format/app_summary.ts";

const enc = new TextEncoder();
function decode(text: string | Uint8Array): { http: Http | undefined; state: TestState; next: string | null } {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  const state = newState(bytes);
  const next = decodeHttp(bytes, state);
  return { http: state.layers[0] as Http | undefined, state, next };
}

const GET = "GET /index.html HTTP/1.1\r\nHost: 10.77.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
const RESPONSE = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";

describe("http: hand-written heads", () => {
  it("decodes a request line and fields, keeping case", () => {
    const { http, state, next } = decode(GET);
    expect(next).toBeNull();
    expect(state.rest.length).toBe(0);
    expect(state.issues).toEqual([]);
    expect(http).toMatchObject({
      layer: "http",
      type: "request",
      method: "GET",
      uri: "/index.html",
      version: "HTTP/1.1",
      headers: [
        { name: "Host", value: "10.77.0.1" },
        { name: "User-Agent", value: "curl/7.88.1" },
        { name: "Accept", value: "*/*" },
      ],
      headLength: GET.length,
      headComplete: true,
      chunked: false,
      bodyLength: 0,
    });
    expect(http!.status).toBeUndefined();
    expect(http!.contentLength).toBeUndefined();
    expect(header(http!, "user-agent")).toBe("curl/7.88.1");
    expect(header(http!, "HOST")).toBe("10.77.0.1");
    expect(header(http!, "cookie")).toBeUndefined();
  });

  it("decodes a status line, Content-Length and the body bytes in the segment", () => {
    const { http, state } = decode(RESPONSE);
    expect(state.issues).toEqual([]);
    expect(http).toMatchObject({ type: "response", version: "HTTP/1.1", status: 200, reason: "OK", contentLength: 5, bodyLength: 5, chunked: false });
    expect(new TextDecoder().decode(http!.body)).toBe("hello");
    expect(http!.method).toBeUndefined();
  });

  it("reads chunked framing, bare LF line ends, folded lines and repeated fields", () => {
    const { http, state } = decode(
      "HTTP/1.0 404 Not Found\nTransfer-Encoding: gzip\nTransfer-Encoding:  chunked \nX-Long: a\n  b\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n5\r\nhello\r\n",
    );
    expect(state.issues).toEqual([]);
    expect(http).toMatchObject({ version: "HTTP/1.0", status: 404, reason: "Not Found", chunked: true, bodyLength: 10 }) // "5\r\nhello\r\n";
    expect(header(http!, "x-long")).toBe("a b");
    expect(headerValues(http!, "set-cookie")).toEqual(["a=1", "b=2"]);
  });

  it("takes an empty reason phrase and any token as a method", () => {
    expect(decode("HTTP/1.1 204 \r\n\r\n").http).toMatchObject({ status: 204, reason: "" });
    expect(decode("HTTP/1.1 204\r\n\r\n").http).toMatchObject({ status: 204, reason: "" });
    expect(decode("PROPFIND /dav HTTP/1.1\r\n\r\n").http).toMatchObject({ method: "PROPFIND", uri: "/dav" });
  });

  it("builds a request and a response byte for byte", () => {
    const get = encodeHttp({
      layer: "http",
      uri: "/index.html",
      headers: [
        { name: "Host", value: "10.77.0.1" },
        { name: "User-Agent", value: "curl/7.88.1" },
        { name: "Accept", value: "*/*" },
      ],
    });
    expect(new TextDecoder().decode(get)).toBe(GET);
    const res = encodeHttp({ layer: "http", status: 200, headers: [{ name: "Server", value: "nginx" }, { name: "Content-Type", value: "text/html" }], body: "hello" });
    expect(new TextDecoder().decode(res)).toBe(RESPONSE);
    expect(httpCodec.headerLength({ layer: "http", status: 404 }, { inner: undefined, outer: undefined, ip: undefined })).toBe("HTTP/1.1 404 Not Found\r\n\r\n".length);
  });

  it("round-trips decoded values", () => {
    for (const m of [GET, RESPONSE]) expect(new TextDecoder().decode(encodeHttp(decode(m).http!))).toBe(m);
  });
});

describe("http: continuation and hostile segments", () => {
  it("leaves a segment that is not a head as payload", () => {
    for (const text of ["hello world, the rest of a body", "<html>\r\n</html>\r\n", "GET /no-version\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", ""]) {
      const bytes = enc.encode(text);
      const { http, state, next } = decode(bytes);
      expect(http).toBeUndefined();
      expect(next).toBe("payload");
      // All of the segment is left as it came: the range is still the whole of `bytes`.
      expect([state.offset, state.end]).toEqual([0, bytes.length]);
      expect(state.issues).toEqual([]);
    }
  });

  it("marks a head that does not end in the segment", () => {
    const { http, state } = decode("GET / HTTP/1.1\r\nHost: a\r\nAccept: */");
    expect(http).toMatchObject({ method: "GET", headComplete: false, bodyLength: 0, headers: [{ name: "Host", value: "a" }] });
    expect(state.issues).toEqual([{ layer: "http", kind: "truncated", reason: "head does not end in this segment" }]);
  });

  it("stops a head larger than 64 KiB", () => {
    const big = "GET / HTTP/1.1\r\n" + "X-Pad: " + "a".repeat(HTTP_MAX_HEAD_LENGTH) + "\r\n\r\n";
    const { http, state } = decode(big);
    expect(http!.headComplete).toBe(false);
    expect(state.issues).toEqual([{ layer: "http", kind: "malformed", reason: "head exceeds 65536 bytes" }]);
  });

  it("stops after 100 header fields", () => {
    let text = "GET / HTTP/1.1\r\n";
    for (let i = 0; i < 150; i++) text += `X-${i}: ${i}\r\n`;
    const { http, state } = decode(text + "\r\n");
    expect(http!.headers).toHaveLength(100);
    expect(http!.headComplete).toBe(false);
    expect(state.issues).toEqual([{ layer: "http", kind: "malformed", reason: "more than 100 header fields" }]);
  });

  it("notes a bad Content-Length and a line that is not a field", () => {
    const { http, state } = decode("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\nnot a field\r\n\r\n");
    expect(http!.contentLength).toBeUndefined();
    expect(state.issues.map((i) => i.reason)).toEqual(["header line 2 is not a field", 'Content-Length "12x" is not a number']);
  });
});

// Edge cases of the line, field and framing rules, each worked out by hand.
describe("http: line and field edge cases", () => {
  /** One byte per code unit: how a test writes 0x80-0xff bytes. */
  const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

  it("takes bare LF and CRLF line ends mixed in one head", () => {
    const text = "GET /a HTTP/1.1\nHost: x\r\nAccept: */*\n\r\nbody";
    const { http, state } = decode(text);
    expect(state.issues).toEqual([]);
    expect(http).toMatchObject({ method: "GET", uri: "/a", headers: [{ name: "Host", value: "x" }, { name: "Accept", value: "*/*" }], headComplete: true });
    expect(http!.headLength).toBe(text.length - 4);
    expect(http!.bodyLength).toBe(4);
  });

  it("joins folded lines with one space, whatever the indent", () => {
    const { http, state } = decode("HTTP/1.1 200 OK\r\nX-A: one\r\n \t two  \r\n\tthree\r\nX-B:\r\n  b\r\nX-C: c\r\n   \r\n\r\n");
    expect(state.issues).toEqual([]);
    expect(http!.headers).toEqual([
      { name: "X-A", value: "one two three" },
      { name: "X-B", value: "b" },
      { name: "X-C", value: "c" },
    ]);
  });

  it("notes a folded line before any field and goes on", () => {
    const { http, state } = decode("GET / HTTP/1.1\r\n folded\r\nHost: a\r\n\r\n");
    expect(http!.headers).toEqual([{ name: "Host", value: "a" }]);
    expect(http!.headComplete).toBe(true);
    expect(state.issues).toEqual([{ layer: "http", kind: "malformed", reason: "folded line before any header field" }]);
  });

  it("finds Content-Length in any case, as a list of equal values, and reads only the first field", () => {
    expect(decode("HTTP/1.1 200 OK\r\ncontent-LENGTH: 42\r\n\r\n").http!.contentLength).toBe(42);
    expect(decode("HTTP/1.1 200 OK\r\nContent-Length: 7 , 7,7\r\n\r\n").http!.contentLength).toBe(7);
    expect(decode("HTTP/1.1 200 OK\r\nContent-Length: 000123456789012\r\n\r\n").http!.contentLength).toBe(123456789012);
    expect(decode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCONTENT-LENGTH: 9\r\n\r\n").http!.contentLength).toBe(5);
    for (const bad of ["7, 8", "7,", "07, 7", "-1", "1234567890123456", "", "1 2", "0x10"]) {
      const { http, state } = decode(`HTTP/1.1 200 OK\r\nContent-Length: ${bad}\r\n\r\n`);
      expect(http!.contentLength).toBeUndefined();
      expect(state.issues).toEqual([{ layer: "http", kind: "malformed", reason: `Content-Length "${bad}" is not a number` }]);
    }
  });

  it("is chunked when chunked is the last transfer coding, over every Transfer-Encoding field", () => {
    const chunked = (fields: string) => decode(`HTTP/1.1 200 OK\r\n${fields}\r\n`).http!.chunked;
    expect(chunked("Transfer-Encoding: gzip, chunked\r\n")).toBe(true);
    expect(chunked("transfer-encoding: gzip,CHUNKED \r\n")).toBe(true);
    expect(chunked("Transfer-Encoding: chunked, gzip\r\n")).toBe(false);
    expect(chunked("Transfer-Encoding: chunked\r\nTRANSFER-ENCODING: gzip\r\n")).toBe(false);
    expect(chunked("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")).toBe(true);
    expect(chunked("Transfer-Encoding: chunked\r\nTransfer-Encoding:\r\n")).toBe(false);
    expect(chunked("Transfer-Encoding: xchunked\r\n")).toBe(false);
    expect(chunked("X-Transfer-Encoding: chunked\r\n")).toBe(false);
  });

  it("notes lines that are not fields: no colon, a name that is not a token, an empty name", () => {
    const { http, state } = decode("GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\nBad Name: x\r\nNa(me: x\r\n: x\r\n\r\r\nOk: y\r\n\r\n");
    expect(http!.headers).toEqual([{ name: "Host", value: "a" }, { name: "Ok", value: "y" }]);
    expect(http!.headComplete).toBe(true);
    expect(state.issues.map((i) => i.reason)).toEqual([2, 2, 2, 2, 2].map((n) => `header line ${n} is not a field`));
  });

  it("keeps every token character in a name and every byte after the colon", () => {
    const { http, state } = decode("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ:a:b: c\r\nX-Empty:   \r\nX-Tab:\tv\t\r\n\r\n");
    expect(state.issues).toEqual([]);
    expect(http!.headers).toEqual([
      { name: "!#$%&'*+-.^_`|~09azAZ", value: "a:b: c" },
      { name: "X-Empty", value: "" },
      { name: "X-Tab", value: "v" },
    ]);
  });

  it("reads bytes 0x80-0xff as the code units of the same value (Latin-1)", () => {
    const all = Array.from({ length: 128 }, (_, i) => String.fromCharCode(0x80 + i)).join("");
    const { http, state } = decode(latin1(`GET /caf\xe9 HTTP/1.1\r\nX-Bytes: ${all}\r\nX-\x85: no\r\n\r\n`));
    expect(http).toMatchObject({ method: "GET", uri: "/caf\xe9", headers: [{ name: "X-Bytes", value: all }] });
    expect(state.issues.map((i) => i.reason)).toEqual(["header line 2 is not a field"]);
    expect(decode(latin1("HTTP/1.1 200 \x80\x9f \xff\r\n\r\n")).http).toMatchObject({ status: 200, reason: "\x80\x9f \xff" });
  });

  it("trims only SP and HTAB around a value (RFC 9112 §5 OWS): other bytes are part of it", () => {
    const { http, state } = decode(
      latin1("GET / HTTP/1.1\r\nX-Nbsp: \xa0a\xa0\r\nX-Ctl:\t\x0bb\x0c \r\nX-Cr: c\r\r\nX-Fold: d\r\n \xa0e\xa0\t\r\n\r\n"),
    );
    expect(state.issues).toEqual([]);
    expect(http!.headers).toEqual([
      { name: "X-Nbsp", value: "\xa0a\xa0" },
      { name: "X-Ctl", value: "\x0bb\x0c" },
      { name: "X-Cr", value: "c\r" },
      { name: "X-Fold", value: "d \xa0e\xa0" },
    ]);
    // The same for the elements of the framing lists (RFC 9110 §5.6.1).
    const cl = decode("HTTP/1.1 200 OK\r\nContent-Length: 5 ,\t5\r\n\r\n");
    expect([cl.http!.contentLength, cl.state.issues]).toEqual([5, []]);
    const vt = decode("HTTP/1.1 200 OK\r\nContent-Length: 5,\x0b5\r\n\r\n");
    expect(vt.http!.contentLength).toBeUndefined();
    expect(vt.state.issues.map((i) => i.reason)).toEqual(['Content-Length "5,\x0b5" is not a number']);
    expect(decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\tchunked\r\n\r\n").http!.chunked).toBe(true);
    expect(decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\x0c\r\n\r\n").http!.chunked).toBe(false);
    expect(decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\r\n\r\n").http!.chunked).toBe(false);
  });

  it("reads start lines to the letter of the grammar", () => {
    expect(decode("get * HTTP/1.0\r\n\r\n").http).toMatchObject({ type: "request", method: "get", uri: "*", version: "HTTP/1.0" });
    expect(decode("M-SEARCH http://a/b?c=d#e HTTP/2.0\r\n\r\n").http).toMatchObject({ method: "M-SEARCH", uri: "http://a/b?c=d#e", version: "HTTP/2.0" });
    expect(decode("HTTP/1.1 099 A reason: with \t tabs \r\n\r\n").http).toMatchObject({ type: "response", status: 99, reason: "A reason: with \t tabs " });
    for (const text of [
      "GET  / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1 \r\n\r\n",
      "GET / HTTP/1.1\r\r\n\r\n",
      "GET / http/1.1\r\n\r\n",
      "GET / HTTP/1.10\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      " GET / HTTP/1.1\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1  200 OK\r\n\r\n",
      "HTTP/1.1 200 O\rK\r\n\r\n",
      "HTTP/1 200 OK\r\n\r\n",
      "\r\nGET / HTTP/1.1\r\n\r\n",
    ]) {
      const { http, next, state } = decode(text);
      expect([text, http, next, state.issues]).toEqual([text, undefined, "payload", []]);
    }
  });

  it("reads only its range of the frame and leaves an empty payload range", () => {
    const head = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
    const frame = enc.encode("link" + head + "abc" + "padding");
    const state = newState(frame);
    state.offset = 4;
    state.end = 4 + head.length + 3;
    expect(decodeHttp(frame, state)).toBeNull();
    const http = state.layers[0] as Http;
    expect(http).toMatchObject({ status: 200, headLength: head.length, headComplete: true, contentLength: 3, bodyLength: 3 });
    expect(new TextDecoder().decode(http.body)).toBe("abc");
    expect([state.offset, state.end]).toEqual([4 + head.length + 3, 4 + head.length + 3]);
    // A head cut by the range, not by the frame, is as far as the range goes.
    const cut = newState(frame);
    cut.offset = 4;
    cut.end = 4 + head.length - 1;
    decodeHttp(frame, cut);
    expect(cut.layers[0]).toMatchObject({ headComplete: false, headLength: head.length - 2, bodyLength: 0 });
    expect(cut.issues).toEqual([{ layer: "http", kind: "truncated", reason: "head does not end in this segment" }]);
  });

  it("counts a line that is not a field against the bound of 100 fields", () => {
    let text = "GET / HTTP/1.1\r\n";
    for (let i = 0; i < 100; i++) text += `X-${i}: ${i}\r\n`;
    const { http, state } = decode(text + " folded\r\nnot a field\r\n\r\n");
    expect(http!.headers).toHaveLength(100);
    expect(http!.headers[99]).toEqual({ name: "X-99", value: "99 folded" });
    expect(http!.headLength).toBe(text.length + " folded\r\nnot a field\r\n".length);
    expect(state.issues.map((i) => i.reason)).toEqual(["more than 100 header fields"]);
  });
});

describe("http through the whole pipeline", () => {
  it("is found on port 80 and by its first bytes on any port; a body segment stays payload", () => {
    for (const dstPort of [80, 3128]) {
      const frame = encodePacket([
        { layer: "ethernet" },
        { layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.1" },
        { layer: "tcp", srcPort: 40000, dstPort },
        { layer: "http", uri: "/index.html", headers: [{ name: "Host", value: "a" }] },
      ]);
      const p = decodePacket(frame, LINKTYPE.ETHERNET);
      expect(p.issues).toEqual([]);
      expect(p.layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "tcp", "http"]);
      expect(p.layers[3]).toMatchObject({ method: "GET", uri: "/index.html", version: "HTTP/1.1" });
    }
    const body = encodePacket([
      { layer: "ethernet" },
      { layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.1" },
      { layer: "tcp", srcPort: 40000, dstPort: 80 },
      { layer: "payload", data: enc.encode("rest of a body\r\n") },
    ]);
    expect(decodePacket(body, LINKTYPE.ETHERNET).layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "tcp", "payload"]);
  });
});

describe("http: random bytes", () => {
  it("never throws and reports issues only for http", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 700 }), fc.uint8Array({ minLength: 240, maxLength: 700 })), (bytes) => {
        const state = newState(bytes);
        const next = decodeHttp(bytes, state);
        expect(next === null || next === "payload").toBe(true);
        for (const i of state.issues) expect(i.layer).toBe("http");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("http: written once into the caller's buffer", () => {
  const response = { layer: "http" as const, status: 200, headers: [{ name: "Server", value: "nginx" }, { name: "Content-Type", value: "text/html" }], body: "hello" };
  const ctx = encodeContext({ outer: { layer: "tcp" } });

  it("appends at an offset and touches nothing else; its bound is its length", () => {
    // "HTTP/1.1 200 OK\r\n" 17 + "Server: nginx\r\n" 15 + "Content-Type: text/html\r\n" 25
    // + "Content-Length: 5\r\n" 19 + "\r\n" 2 + "hello" 5 = 83
    expect(RESPONSE.length).toBe(83);
    expect(httpCodec.maxLength!(response, ctx)).toBe(83);
    const b = new Uint8Array(90).fill(0xa5);
    expect(httpCodec.append!(response, b, 3, ctx)).toBe(86);
    expect(new TextDecoder().decode(b.subarray(3, 86))).toBe(RESPONSE);
    expect([...b.subarray(0, 3), ...b.subarray(86)]).toEqual(new Array(7).fill(0xa5));
  });

  it("counts a text body in UTF-8 bytes, in Content-Length too", () => {
    // "é€" is 2 + 3 bytes: "POST / HTTP/1.1\r\n" 17 + "Content-Length: 5\r\n" 19 + "\r\n" 2 + 5 = 43
    const post = { layer: "http" as const, method: "POST", body: "é€" };
    expect(httpCodec.maxLength!(post, ctx)).toBe(43);
    const built = encodeHttp(post);
    expect(built.length).toBe(43);
    expect(new TextDecoder().decode(built)).toBe("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\né€");
  });

  it("throws a RangeError on a short buffer or head text beyond Latin-1, and writes nothing past the end", () => {
    const b = new Uint8Array(90).fill(0xa5);
    expect(() => httpCodec.append!(response, b.subarray(0, 82), 0, ctx)).toThrow(/Cannot encode http/);
    expect(b.subarray(82)).toEqual(new Uint8Array(8).fill(0xa5));
    expect(() => encodeHttp({ layer: "http", uri: "/\u0100" })).toThrow('HTTP head text must be Latin-1: "GET /\u0100 HTTP/1.1\r\n\r\n"');
  });
});

describe("http: the summary in the descriptor", () => {
  it("is the first line, as tcpdump's txtproto_print shows it", () => {
    expect(httpSummary(decode(GET).http!)).toBe("HTTP: GET /index.html HTTP/1.1");
    expect(appSummary(decode(RESPONSE).http!)).toBe("HTTP: HTTP/1.1 200 OK");
    // An empty reason phrase leaves no trailing space.
    expect(appSummary(decode("HTTP/1.1 204 \r\n\r\n").http!)).toBe("HTTP: HTTP/1.1 204");
    expect(httpProtocol.summary).toBe(httpSummary);
  });
});
