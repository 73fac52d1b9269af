/**
 * HTTP/1.x response reading (src/apps/http_message.ts) against byte literals
 * worked out by hand from RFC 9112: heads, the three body framings, chunked
 * coding with extensions and trailers, and the errors a lying server gets.
 * Every message is also fed one byte at a time, so no rule depends on where
 * TCP happened to cut the stream.
 */
import { describe, expect, it } from "vitest";
import { BodyDecoder, HttpError, bodyFraming, findHeadEnd, parseResponseHead, type BodyFraming } from "../src/apps/http_message.ts";
import { parseHttpUrl, requestBytes } from "../src/apps/http_client.ts";

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));
const text = (parts: Uint8Array[]): string => Buffer.concat(parts).toString("latin1");

/** Decode `body` with `framing` in pieces of `step` bytes; returns the data, or the error's message. */
function decode(framing: BodyFraming, body: string, step: number, close = true): { data: string; done: boolean; trailers: string; rest: string } | string {
  const d = new BodyDecoder(framing);
  const out: Uint8Array[] = [];
  const b = bytes(body);
  try {
    for (let i = 0; i < b.length && !d.done; i += step) d.push(b.subarray(i, Math.min(b.length, i + step)), (c) => out.push(c.slice()));
    if (close && !d.done) d.finish();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return (err as Error).message;
  }
  return { data: text(out), done: d.done, trailers: d.trailers.map((t) => `${t.name}=${t.value}`).join(";"), rest: Buffer.from(d.rest).toString("latin1") };
}

describe("response heads", () => {
  it("finds the end of a head at CRLF CRLF or LF LF, and not before", () => {
    const m = bytes("HTTP/1.1 200 OK\r\nA: b\r\n\r\nBODY");
    expect(findHeadEnd(m, 0, m.length)).toBe(25);
    expect(findHeadEnd(m, 0, 24)).toBe(-1);
    const lf = bytes("HTTP/1.0 200 OK\nA: b\n\nx");
    expect(findHeadEnd(lf, 0, lf.length)).toBe(22);
  });

  it("parses the status line and fields, folds obsolete continuation lines, keeps the raw bytes", () => {
    const raw = bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nX-Long: one\r\n  two\r\nEmpty:\r\n\r\n");
    const h = parseResponseHead(raw);
    expect(h.version).toBe("HTTP/1.1");
    expect(h.status).toBe(404);
    expect(h.reason).toBe("Not Found");
    expect(h.headers).toEqual([
      { name: "Content-Length", value: "9" },
      { name: "X-Long", value: "one two" },
      { name: "Empty", value: "" },
    ]);
    expect(h.raw).toBe(raw);
    expect(parseResponseHead(bytes("HTTP/1.0 200\r\n\r\n")).reason).toBe("");
  });

  it("refuses what is not a response", () => {
    expect(() => parseResponseHead(bytes("SSH-2.0-OpenSSH_9.2\r\n\r\n"))).toThrow('not an HTTP response: "SSH-2.0-OpenSSH_9.2"');
    expect(() => parseResponseHead(bytes("HTTP/1.1 20 OK\r\n\r\n"))).toThrow(HttpError);
    expect(() => parseResponseHead(bytes("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"))).toThrow('the response head has a line that is not a header field: "no colon here"');
    expect(() => parseResponseHead(bytes("HTTP/1.1 200 OK\r\n folded\r\n\r\n"))).toThrow("the response head begins with a folded line");
  });
});

describe("body framing (RFC 9112 §6.3)", () => {
  const head = (status: number, fields: string): ReturnType<typeof parseResponseHead> => parseResponseHead(bytes(`HTTP/1.1 ${status} X\r\n${fields}\r\n`));
  it("HEAD, 1xx, 204 and 304 have no body whatever the fields say", () => {
    expect(bodyFraming(head(200, "Content-Length: 5\r\n"), "HEAD")).toEqual({ kind: "none" });
    expect(bodyFraming(head(204, "Content-Length: 5\r\n"), "GET")).toEqual({ kind: "none" });
    expect(bodyFraming(head(304, "Transfer-Encoding: chunked\r\n"), "GET")).toEqual({ kind: "none" });
  });
  it("Transfer-Encoding wins over Content-Length; chunked only as the last coding", () => {
    expect(bodyFraming(head(200, "Content-Length: 5\r\nTransfer-Encoding: gzip, Chunked\r\n"), "GET")).toEqual({ kind: "chunked" });
    expect(bodyFraming(head(200, "Transfer-Encoding: chunked, gzip\r\n"), "GET")).toEqual({ kind: "close" });
  });
  it("Content-Length: one value, repeated values agreeing, or an error", () => {
    expect(bodyFraming(head(200, "Content-Length: 42\r\n"), "GET")).toEqual({ kind: "length", length: 42 });
    expect(bodyFraming(head(200, "Content-Length: 7, 7\r\nContent-Length: 7\r\n"), "POST")).toEqual({ kind: "length", length: 7 });
    expect(() => bodyFraming(head(200, "Content-Length: 7\r\nContent-Length: 8\r\n"), "GET")).toThrow('bad Content-Length "7, 8"');
    expect(() => bodyFraming(head(200, "Content-Length: -1\r\n"), "GET")).toThrow('bad Content-Length "-1"');
    expect(() => bodyFraming(head(200, "Content-Length: 0x10\r\n"), "GET")).toThrow(HttpError);
  });
  it("neither: to the end of the connection", () => {
    expect(bodyFraming(head(200, ""), "GET")).toEqual({ kind: "close" });
  });
});

describe("bodies, fed whole and one byte at a time", () => {
  for (const step of [1, 3, 1000]) {
    it(`Content-Length stops at the length and hands back what follows (step ${step})`, () => {
      // rest is what followed the body in the push that ended it
      expect(decode({ kind: "length", length: 5 }, "helloEXTRA", step)).toEqual({ data: "hello", done: true, trailers: "", rest: step === 1000 ? "EXTRA" : step === 3 ? "E" : "" });
      expect(decode({ kind: "length", length: 5 }, "hel", step)).toBe("connection closed after 3 of 5 body bytes");
    });

    it(`chunked: sizes in any case, extensions ignored, trailers read (step ${step})`, () => {
      const body = "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n000\r\nX-Sum: 31\r\nX-Two: a\r\n\r\n";
      expect(decode({ kind: "chunked" }, body, step)).toEqual({ data: "helloabcdefghijklmnopqrstuvwxyz", done: true, trailers: "X-Sum=31;X-Two=a", rest: "" });
      // bare LF line ends (RFC 9112 §2.2 lets a recipient take them)
      expect(decode({ kind: "chunked" }, "3\nabc\n0\n\n", step)).toMatchObject({ data: "abc", done: true });
    });

    it(`chunked: a bad size, missing CRLF, an overlong size line, a cut body are errors (step ${step})`, () => {
      expect(decode({ kind: "chunked" }, "5\r\nhello\r\nzz\r\nmore", step)).toBe('bad chunk size "zz" after 5 body bytes');
      expect(decode({ kind: "chunked" }, "-1\r\n", step)).toBe('bad chunk size "-1" after 0 body bytes');
      expect(decode({ kind: "chunked" }, "\r\n", step)).toBe('bad chunk size "" after 0 body bytes');
      expect(decode({ kind: "chunked" }, "3\r\nabcX\r\n", step)).toBe('chunk data is not followed by CRLF (found "X")');
      expect(decode({ kind: "chunked" }, "fffffffffffffff\r\n", step)).toBe("chunk size 0xfffffffffffffff is too large");
      expect(decode({ kind: "chunked" }, `1;${"x".repeat(5000)}\r\n`, step)).toBe("chunk-size line longer than 4096 bytes");
      expect(decode({ kind: "chunked" }, "5\r\nhel", step)).toBe("connection closed in a chunked body after 3 bytes (no last chunk)");
      expect(decode({ kind: "chunked" }, `0\r\nX-Big: ${"a".repeat(70000)}\r\n\r\n`, step)).toBe("trailer section longer than 65536 bytes");
    });

    it(`close-delimited: everything until the end (step ${step})`, () => {
      expect(decode({ kind: "close" }, "any bytes\r\n0\r\n", step)).toEqual({ data: "any bytes\r\n0\r\n", done: true, trailers: "", rest: "" });
    });
  }

  it("hands out views of the input, not copies", () => {
    const input = bytes("4\r\nabcd\r\n0\r\n\r\n");
    const d = new BodyDecoder({ kind: "chunked" });
    const seen: Uint8Array[] = [];
    d.push(input, (c) => seen.push(c));
    expect(seen.length).toBe(1);
    expect(seen[0]!.buffer).toBe(input.buffer);
    expect(seen[0]!.byteOffset).toBe(3);
  });
});

describe("requests", () => {
  it("takes URLs apart: IPv4, bracketed IPv6, ports, no scheme, https refused", () => {
    expect(parseHttpUrl("http://10.77.0.1:8080/a/b?c=d")).toMatchObject({ host: "10.77.0.1", address: "10.77.0.1", port: 8080, path: "/a/b?c=d", hostField: "10.77.0.1:8080" });
    expect(parseHttpUrl("http://[fd77::0:1]/")).toMatchObject({ host: "fd77::1", address: "fd77::1", port: 80, path: "/", hostField: "[fd77::1]" });
    expect(parseHttpUrl("10.77.0.1")).toMatchObject({ address: "10.77.0.1", path: "/" });
    expect(parseHttpUrl("http://example.test/x")).toMatchObject({ host: "example.test", address: null });
    expect(() => parseHttpUrl("https://10.77.0.1/")).toThrow("https is not supported (no TLS over our stack): use http://");
    expect(() => parseHttpUrl("ftp://10.77.0.1/")).toThrow("unsupported scheme 'ftp' (only http://)");
  });

  it("writes the request line, our fields, the caller's (replacing or removing ours by name), the body", () => {
    const t = parseHttpUrl("http://10.77.0.1:8080/p");
    const r = requestBytes(t, "POST", "1.0", [{ name: "accept", value: "text/plain" }, { name: "User-Agent", value: "" }, { name: "X-A", value: "1" }], bytes("a=1"));
    expect(Buffer.from(r).toString("latin1")).toBe("POST /p HTTP/1.0\r\nHost: 10.77.0.1:8080\r\nContent-Length: 3\r\naccept: text/plain\r\nX-A: 1\r\n\r\na=1");
    expect(() => requestBytes(t, "GET", "1.1", [{ name: "X", value: "a\r\nInjected: 1" }], undefined)).toThrow('header field "X" contains a line break');
    expect(() => requestBytes(t, "GE T", "1.1", [], undefined)).toThrow('bad method "GE T"');
  });
});
