// The forward writer the one-pass codecs (DNS, DHCP, TFTP, HTTP) write with:
// every write checked against the end of the buffer, text lengths against
// TextEncoder itself.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appendCodec, ByteWriter, textBound, textOf, utf8Length } from "../../layers/byte_writer.ts";
import { encodeContext } from "../../layers/encode.ts";

const encoder = new TextEncoder();

describe("utf8Length", () => {
  it("counts what TextEncoder makes: 1, 2, 3 bytes a unit, 4 a pair, 3 a lone surrogate", () => {
    expect(utf8Length("")).toBe(0);
    expect(utf8Length("a")).toBe(1);
    expect(utf8Length("é")).toBe(2); // U+00E9
    expect(utf8Length("€")).toBe(3); // U+20AC
    expect(utf8Length("😀")).toBe(4); // U+1F600, a surrogate pair
    expect(utf8Length("\ud800")).toBe(3); // lone high surrogate: U+FFFD
    expect(utf8Length("\udc00\ud800")).toBe(6); // low then high: two lone ones
  });

  it("agrees with TextEncoder on random strings, lone surrogates included", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.array(fc.nat(0xffff), { maxLength: 40 }).map((u) => String.fromCharCode(...u))),
        (s) => {
          expect(utf8Length(s)).toBe(encoder.encode(s).length);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("takes any value as TextEncoder does: undefined is empty, the rest its String form", () => {
    expect([textOf(undefined), textOf(1024), textOf(null), textOf("x")]).toEqual(["", "1024", "null", "x"]);
    expect(textBound(1024)).toBe(4);
    expect(textBound(Object.create(null))).toBe(0); // no text form: writing it throws
  });
});

describe("ByteWriter", () => {
  it("writes each width big-endian, forward, and nothing outside", () => {
    const b = new Uint8Array(24).fill(0xa5);
    const w = new ByteWriter("x", b.subarray(0, 22), 1);
    w.u8(0x1ff); // low 8 bits
    w.u16(0x12345); // low 16 bits
    w.u32(0x1_8badf00d); // low 32 bits
    w.bytes(Uint8Array.of(1, 2));
    w.zeros(2);
    w.utf8("é");
    w.latin1("\u00ffA", () => "unused");
    expect(w.pos).toBe(1 + 1 + 2 + 4 + 2 + 2 + 2 + 2);
    expect([...b]).toEqual([0xa5, 0xff, 0x23, 0x45, 0x8b, 0xad, 0xf0, 0x0d, 1, 2, 0, 0, 0xc3, 0xa9, 0xff, 0x41, ...new Array(8).fill(0xa5)]);
  });

  it("throws a RangeError naming the layer, before writing, when a write does not fit", () => {
    const b = new Uint8Array(6).fill(0xa5);
    const w = new ByteWriter("tftp", b.subarray(0, 4), 2);
    expect(() => w.u32(0)).toThrow("Cannot encode tftp: 4 bytes do not fit in the 2 left");
    expect(() => w.utf8("abc")).toThrow(RangeError);
    expect(() => new ByteWriter("dns", b, 9).u8(0)).toThrow("Cannot encode dns: 1 bytes do not fit in the 0 left");
    expect([...b]).toEqual(new Array(6).fill(0xa5));
  });

  it("refuses a character over 0xff in Latin-1 text with the caller's words", () => {
    const w = new ByteWriter("http", new Uint8Array(4), 0);
    expect(() => w.latin1("a\u0100", () => "not Latin-1")).toThrow(new RangeError("not Latin-1"));
  });
});

describe("appendCodec", () => {
  it("gives headerLength and write from the one append", () => {
    type V = { layer: "x"; text?: string };
    let calls = 0;
    const codec = appendCodec<V>(
      (v, out, at) => {
        calls++;
        const w = new ByteWriter("x", out, at);
        w.utf8(v.text ?? "");
        w.u8(0);
        return w.pos;
      },
      (v) => 3 * (v.text ?? "").length + 1,
    );
    const ctx = encodeContext();
    expect(codec.headerLength({ layer: "x", text: "é!" }, ctx)).toBe(4); // 2 + 1 + the zero byte
    const out = new Uint8Array(5).fill(0xa5);
    codec.write({ layer: "x", text: "é!" }, out, ctx);
    expect([...out]).toEqual([0xc3, 0xa9, 0x21, 0, 0xa5]);
    expect(calls).toBe(2);
  });
});
