// HTTP/1.x heads written out by hand from RFC 9112 §3 (request line), §4 (status
// line), §5 (fields), §6 (body framing), and heads that never end or are too big.
import { newState, type TestState } from "../helpers/decode_state.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { LINKTYPE } from "../../layers/link_type.ts";
import { decodeHttp, encodeHttp, header, headerValues, httpCodec, HTTP_MAX_HEAD_LENGTH, type Http } from "../../layers/http.ts";

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
