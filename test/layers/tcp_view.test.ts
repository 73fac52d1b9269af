/**
 * TcpView over (bytes, at, end): a hand-worked segment inside a larger buffer
 * read field by field, every setter written into 0xa5 bytes (so a byte a
 * setter should not touch shows), each accessor pinned to TCP_FIELD's offset,
 * unsigned 32-bit sequence numbers, check() on short and lying headers, and
 * the checksum over [at, end) with IPv4 and IPv6 pseudo-headers.
 */
import { describe, expect, it } from "vitest";
import { TcpView, TCP_FIELD, TCP_FLAGS } from "../../layers/tcp.ts";

const A4 = Uint8Array.of(10, 77, 0, 1);
const B4 = Uint8Array.of(10, 77, 0, 2);
const A6 = Uint8Array.of(0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const B6 = Uint8Array.of(0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

// 10.77.0.1:443 -> 10.77.0.2:51000, seq 0xfffffffe, ack 0x80000001 (both past 2^31),
// data offset 6 (24 bytes: MSS 1460), flags NS|ECE|ACK|PSH = 0x158 (byte 12 = 0x61,
// byte 13 = 0x58), window 0x1234, urgent pointer 7, data "hi!" (odd length). 27 bytes.
//   pseudo-header: 0a4d+0001 + 0a4d+0002 + 0006 + 001b (length 27) = 14be
//   header: 01bb+c738+ffff+fffe+8000+0001+6158+1234+0000(cksum)+0007 = 3bc84
//   option: 0204+05b4 = 07b8; data: 6869+2100 (odd byte padded with 0) = 8969
//   14be + 3bc84 + 07b8 + 8969 = 46263 -> fold 6263+4 = 6267 -> complement 9d98
const SEGMENT = Uint8Array.of(
  0x01, 0xbb, 0xc7, 0x38, // ports 443, 51000
  0xff, 0xff, 0xff, 0xfe, // seq
  0x80, 0x00, 0x00, 0x01, // ack
  0x61, 0x58, 0x12, 0x34, // data offset 6 + NS, ECE|ACK|PSH, window
  0x9d, 0x98, 0x00, 0x07, // checksum, urgent pointer
  0x02, 0x04, 0x05, 0xb4, // MSS 1460
  0x68, 0x69, 0x21, // "hi!"
);
// Over IPv6 fd77::1 -> fd77::2 the same bytes need another checksum:
//   pseudo-header: fd77+0001 + fd77+0002 + 001b + 0006 = 1fb12
//   1fb12 + 3bc84 + 07b8 + 8969 = 648b7 -> fold 48b7+6 = 48bd -> complement b742

/** SEGMENT at offset 3 of a buffer with 3 bytes before it and 2 of link padding after. */
function framed(): { buffer: Uint8Array; view: TcpView } {
  const buffer = Uint8Array.of(0xee, 0xee, 0xee, ...SEGMENT, 0x00, 0x00);
  return { buffer, view: new TcpView(buffer, 3, 3 + SEGMENT.length) };
}

describe("TcpView over (bytes, at, end)", () => {
  it("reads every field of the hand-worked segment at its offset", () => {
    const { view } = framed();
    expect(view.check()).toBeNull();
    expect(view.srcPort).toBe(443);
    expect(view.dstPort).toBe(51000);
    expect(view.seq).toBe(0xfffffffe);
    expect(view.ack).toBe(0x80000001);
    expect(view.headerLength).toBe(24);
    expect(view.flags).toBe(TCP_FLAGS.NS | TCP_FLAGS.ECE | TCP_FLAGS.ACK | TCP_FLAGS.PSH);
    expect(view.window).toBe(0x1234);
    expect(view.checksum).toBe(0x9d98);
    expect(view.urgentPointer).toBe(7);
  });

  it("gives the option and data ranges in the buffer, without the link padding", () => {
    const { buffer, view } = framed();
    expect([view.optionsStart, view.optionsEnd]).toEqual([3 + 20, 3 + 24]);
    expect([...view.optionBytes]).toEqual([0x02, 0x04, 0x05, 0xb4]);
    expect([view.payloadStart, view.payloadEnd]).toEqual([3 + 24, 3 + 27]);
    expect([...view.payload]).toEqual([0x68, 0x69, 0x21]);
    // Views of the buffer, not copies.
    expect(view.payload.buffer).toBe(buffer.buffer);
    expect(view.payload.byteOffset).toBe(27);
  });

  it("verifies the checksum over [at, end) with the right pseudo-header only", () => {
    const { view } = framed();
    expect(view.verifyChecksum(A4, B4)).toBe(true);
    expect(view.verifyChecksum(B4, B4)).toBe(false);
    // The same bytes over IPv6 carry the wrong checksum until it is filled.
    expect(view.verifyChecksum(A6, B6)).toBe(false);
    view.fillChecksum(A6, B6);
    expect(view.checksum).toBe(0xb742);
    expect(view.verifyChecksum(A6, B6)).toBe(true);
    view.fillChecksum(A4, B4);
    expect(view.checksum).toBe(0x9d98);
  });

  it("fills the checksum without touching a byte outside [at, end)", () => {
    const { buffer, view } = framed();
    view.checksum = 0;
    view.fillChecksum(A4, B4);
    expect([...buffer]).toEqual([0xee, 0xee, 0xee, ...SEGMENT, 0x00, 0x00]);
  });

  it("keeps the old form: new TcpView(segment) and reset(bytes) cover all of the bytes", () => {
    const view = new TcpView(SEGMENT);
    expect([view.at, view.end]).toEqual([0, 27]);
    expect(view.srcPort).toBe(443);
    expect(view.payload.length).toBe(3);
    const { buffer } = framed();
    expect(view.reset(buffer, 3, 30)).toBe(view);
    expect([view.bytes, view.at, view.end]).toEqual([buffer, 3, 30]);
    expect(view.reset(SEGMENT, 0, SEGMENT.length).end).toBe(27);
    expect(view.at).toBe(0);
  });
});

describe("TcpView setters", () => {
  it("build the hand-worked segment byte for byte inside 0xa5 bytes", () => {
    const buffer = new Uint8Array(3 + 27 + 2).fill(0xa5);
    const view = new TcpView(buffer, 3, 30);
    view.srcPort = 443;
    view.dstPort = 51000;
    view.seq = 0xfffffffe;
    view.ack = 0x80000001;
    view.headerLength = 24;
    view.flags = 0x158;
    view.window = 0x1234;
    view.urgentPointer = 7;
    buffer.set([0x02, 0x04, 0x05, 0xb4, 0x68, 0x69, 0x21], 3 + 20);
    view.fillChecksum(A4, B4);
    expect([...buffer]).toEqual([0xa5, 0xa5, 0xa5, ...SEGMENT, 0xa5, 0xa5]);
  });

  it("each writes only its own bytes, at TCP_FIELD's offset", () => {
    const cases: [string, (v: TcpView) => void, number, number[]][] = [
      ["srcPort", (v) => (v.srcPort = 0x0102), TCP_FIELD.SRC_PORT, [0x01, 0x02]],
      ["dstPort", (v) => (v.dstPort = 0x0304), TCP_FIELD.DST_PORT, [0x03, 0x04]],
      ["seq", (v) => (v.seq = 0x05060708), TCP_FIELD.SEQ, [0x05, 0x06, 0x07, 0x08]],
      ["ack", (v) => (v.ack = 0x090a0b0c), TCP_FIELD.ACK, [0x09, 0x0a, 0x0b, 0x0c]],
      ["window", (v) => (v.window = 0x0d0e), TCP_FIELD.WINDOW, [0x0d, 0x0e]],
      ["checksum", (v) => (v.checksum = 0x0f10), TCP_FIELD.CHECKSUM, [0x0f, 0x10]],
      ["urgentPointer", (v) => (v.urgentPointer = 0x1112), TCP_FIELD.URGENT_POINTER, [0x11, 0x12]],
      // headerLength 32 = 8 words: the high nibble of byte 12, the low nibble (0x5) kept.
      ["headerLength", (v) => (v.headerLength = 32), TCP_FIELD.DATA_OFFSET, [0x85]],
      // flags CWR|ECE|SYN|FIN = 0x080|0x040|0x002|0x001 = 0x0c3: byte 12's low nibble 0 (its high 0xa kept), byte 13 c3.
      ["flags", (v) => (v.flags = 0x0c3), TCP_FIELD.FLAGS, [0xa0, 0xc3]],
    ];
    for (const [name, set, offset, written] of cases) {
      const buffer = new Uint8Array(2 + 20 + 2).fill(0xa5);
      set(new TcpView(buffer, 2, 22));
      const expected = new Uint8Array(24).fill(0xa5);
      expected.set(written, 2 + offset);
      expect([...buffer], name).toEqual([...expected]);
    }
  });

  it("read back what they wrote, at the same offsets", () => {
    const view = new TcpView(new Uint8Array(20).fill(0xa5));
    view.srcPort = 1;
    view.dstPort = 2;
    view.seq = 3;
    view.ack = 4;
    view.window = 5;
    view.checksum = 6;
    view.urgentPointer = 7;
    expect([view.srcPort, view.dstPort, view.seq, view.ack, view.window, view.checksum, view.urgentPointer]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // 0xa5 = data offset 10 (40 bytes), flag bits 0x5a5 before they are set.
    expect([view.headerLength, view.flags]).toEqual([40, 0x5a5]);
    view.flags = TCP_FLAGS.RST;
    view.headerLength = 20;
    expect([view.headerLength, view.flags]).toEqual([20, TCP_FLAGS.RST]);
  });

  it("write sequence numbers modulo 2^32, as sequence arithmetic hands them over", () => {
    const view = new TcpView(new Uint8Array(20));
    view.seq = 0xfffffff0 + 0x20; // wrapped: 0x10
    expect(view.seq).toBe(0x10);
    view.ack = -1; // (x | 0) arithmetic: 0xffffffff
    expect(view.ack).toBe(0xffffffff);
    expect([...view.bytes.subarray(4, 12)]).toEqual([0, 0, 0, 0x10, 0xff, 0xff, 0xff, 0xff]);
  });

  it("keep the low 12 bits of flags and 4 bits of the data offset", () => {
    const view = new TcpView(new Uint8Array(20));
    view.flags = 0xfff12;
    expect(view.flags).toBe(0xf12);
    expect(view.bytes[12]).toBe(0x0f);
    view.headerLength = 64; // 16 words do not fit the nibble: 0
    expect(view.headerLength).toBe(0);
    expect(view.bytes[12]).toBe(0x0f);
  });
});

describe("TcpView.check", () => {
  it("needs the fixed header within [at, end)", () => {
    const { buffer } = framed();
    expect(new TcpView(buffer, 3, 3 + 19).check()).toBe("header needs 20 bytes, have 19");
    expect(new TcpView(buffer, 30, 32).check()).toBe("header needs 20 bytes, have 2");
  });

  it("rejects a data offset below 5 words or past end", () => {
    const low = SEGMENT.slice();
    low[12] = 0x41; // 4 words, NS kept
    expect(new TcpView(low).check()).toBe("data offset 4 is less than 5");
    const { buffer } = framed();
    // Data offset 6 (24 bytes) with only 23 in range.
    expect(new TcpView(buffer, 3, 3 + 23).check()).toBe("header length 24 exceeds 23 bytes");
    expect(new TcpView(buffer, 3, 3 + 24).check()).toBeNull();
  });
});
