/**
 * The byte-level line writer and the output built on it. Oracles: the
 * platform's own number-to-string and UTF-8 encoder (String, TextEncoder), and
 * the bytes a real file descriptor received.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Output } from "../src/format/output.ts";
import { TextBuffer } from "../src/format/text_buffer.ts";
import { clockTime, writeClockTime } from "../src/format/time.ts";

const utf8 = new TextEncoder();
// a plain Uint8Array copy of what was written (bytes is a Buffer, whose slice is a view)
const written = (t: TextBuffer): Uint8Array => Uint8Array.from(t.bytes.subarray(0, t.pos));

describe("TextBuffer", () => {
  it("uint writes what String writes, at every digit count and for non-integers", () => {
    const t = new TextBuffer(16);
    const edges = [0, 9, 10, 99, 100, 65535, 99999, 100000, 999999999, 1000000000, 2147483647, 2147483648, 4294967295];
    const odd = [4294967296, 2 ** 53, -1, -0.5, 1.5, NaN, Infinity, -Infinity, 1e21];
    for (const n of [...edges, ...odd]) {
      const from = t.pos;
      t.uint(n);
      expect(t.take(from)).toBe(String(n));
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        t.uint(n);
        return t.take(0) === String(n);
      }),
    );
  });

  it("digits pads on the left to the width", () => {
    const t = new TextBuffer();
    t.digits(0, 6);
    t.byte(0x20);
    t.digits(42, 6);
    t.byte(0x20);
    t.digits(999999999, 9);
    t.byte(0x20);
    t.digits(7, 1);
    expect(t.take(0)).toBe("000000 000042 999999999 7");
  });

  it("text is UTF-8 as TextEncoder makes it, short or long, and take gives the string back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 3000 }), fc.string({ maxLength: 40 }), (s, head) => {
        const t = new TextBuffer(16);
        t.ascii("x");
        t.text(s);
        t.text(head);
        expect(written(t)).toEqual(utf8.encode("x" + s + head));
        const back = t.take(1);
        expect(t.pos).toBe(1);
        // take decodes UTF-8: a lone surrogate comes back as U+FFFD, as it was written
        expect(back).toBe(new TextDecoder().decode(utf8.encode(s + head)));
      }),
    );
    const t = new TextBuffer(16);
    t.text("é ünïcode ✓ \u{1f600} and a lone \ud800 surrogate");
    expect(written(t)).toEqual(utf8.encode("é ünïcode ✓ \u{1f600} and a lone \ufffd surrogate"));
  });

  it("grows by doubling and keeps what was written", () => {
    const t = new TextBuffer(16);
    let want = "";
    for (let i = 0; i < 2000; i++) {
      t.ascii("ab");
      t.uint(i);
      want += "ab" + i;
    }
    expect(t.bytes.length).toBeGreaterThanOrEqual(want.length);
    expect(t.take(0)).toBe(want);
  });

  it("writeClockTime writes clockTime's text", () => {
    const t = new TextBuffer();
    for (const [sec, nsec] of [[1_795_576_851, 123_456_789], [0, 0], [86_399, 999_999_999], [1_795_576_851, 999]] as const) {
      for (const d of [6, 9] as const) {
        writeClockTime(t, sec, nsec, d);
        expect(t.take(0)).toBe(clockTime(sec, nsec, d));
      }
    }
    writeClockTime(t, 1_795_576_851, 5_000, 6);
    expect(t.take(0)).toBe("03:20:51.000005");
  });
});

describe("Output", () => {
  it("a file receives every line in order: short, non-ASCII, and one larger than the buffer", () => {
    const dir = mkdtempSync(join(tmpdir(), "stackts-out-"));
    try {
      const path = join(dir, "out.txt");
      const fd = openSync(path, "w");
      const out = new Output(fd);
      const big = "0123456789".repeat(300_000); // 3 MB: past the flush threshold and the kept size
      let want = "";
      for (let i = 0; i < 20_000; i++) {
        out.buffer.ascii("line ");
        out.buffer.uint(i);
        out.endLine();
        want += `line ${i}\n`;
        if (i === 7) {
          out.line("naïve ✓");
          want += "naïve ✓\n";
        }
        if (i === 10_000) {
          out.line(big);
          want += big + "\n";
        }
      }
      out.text("no newline");
      want += "no newline";
      out.flush();
      closeSync(fd);
      expect(readFileSync(path, "utf8")).toBe(want);
      // a buffer grown by the big line was let go after its flush
      expect(out.buffer.bytes.length).toBeLessThan(1 << 20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
