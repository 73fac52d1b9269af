/**
 * TCP and its options: hand-worked bytes decoded field by field and built back
 * byte for byte, every option kind, hostile options and data offsets, and the
 * zero-copy view.
 */
import { describe, expect, it } from "vitest";
import type { DecodeOptions, DecodeState, EncodeContext, IpContext } from "../../layers/core.ts";
import { decodeTcp, tcpCodec, TcpView, TCP_FLAGS, type Tcp, type TcpInput } from "../../layers/tcp.ts";
import { parseTcpOptions, writeTcpOptions, tcpOptionsLength, type TcpOption } from "../../layers/tcp_options.ts";

const A4 = Uint8Array.of(10, 77, 0, 1);
const B4 = Uint8Array.of(10, 77, 0, 2);

function ip4(upperLength: number, complete = true): IpContext {
  return { version: 4, src: A4, dst: B4, upperLength, complete, laterFragment: false };
}

function newState(ip: IpContext | null, options: DecodeOptions = {}): DecodeState {
  return {
    layers: [],
    issues: [],
    rest: new Uint8Array(0),
    ip,
    depth: 0,
    options,
    nest() {
      throw new Error("TCP never nests");
    },
  };
}

function decode(bytes: Uint8Array, ip: IpContext | null) {
  const state = newState(ip);
  const next = decodeTcp(bytes, state);
  return { next, state, tcp: state.layers[0] as Tcp | undefined };
}

// A Linux-style SYN, 10.77.0.1:40000 -> 10.77.0.2:80, seq 0x01020304, window 64240,
// options MSS 1460, SACK-permitted, timestamps (1, 0), NOP, window scale 7.
//   data offset 10 words = 40 bytes -> byte 12 = a0; flags SYN = 02
//   pseudo-header: 0a4d+0001 + 0a4d+0002 + 0006 + 0028 (length 40) = 14cb
//   header words: 9c40+0050+0102+0304+0000+0000+a002+faf0+0000(cksum)+0000 = 23b88
//   option words: 0204+05b4+0402+080a+0000+0001+0000+0000+0103+0307 = 17cf
//   14cb + 23b88 + 17cf = 26822 -> fold 6822+2 = 6824 -> complement 97db
const SYN = Uint8Array.of(
  0x9c, 0x40, 0x00, 0x50, // ports 40000, 80
  0x01, 0x02, 0x03, 0x04, // seq
  0x00, 0x00, 0x00, 0x00, // ack
  0xa0, 0x02, 0xfa, 0xf0, // data offset 10, SYN, window 64240
  0x97, 0xdb, 0x00, 0x00, // checksum, urgent pointer
  0x02, 0x04, 0x05, 0xb4, // MSS 1460
  0x04, 0x02, // SACK permitted
  0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // timestamps 1, 0
  0x01, // NOP
  0x03, 0x03, 0x07, // window scale 7
);

const SYN_OPTIONS: TcpOption[] = [
  { kind: "mss", mss: 1460 },
  { kind: "sackPermitted" },
  { kind: "timestamps", tsval: 1, tsecr: 0 },
  { kind: "nop" },
  { kind: "windowScale", shift: 7 },
];

describe("tcp decode", () => {
  it("reads every field and option of a hand-made SYN and verifies its checksum", () => {
    const { next, state, tcp } = decode(SYN, ip4(40));
    expect(tcp).toEqual({
      layer: "tcp",
      srcPort: 40000,
      dstPort: 80,
      seq: 0x01020304,
      ack: 0,
      headerLength: 40,
      flags: TCP_FLAGS.SYN,
      window: 64240,
      checksum: 0x97db,
      checksumValid: true,
      checksumStatus: "good",
      urgentPointer: 0,
      options: SYN_OPTIONS,
    });
    expect(state.issues).toEqual([]);
    expect(next).toBeNull(); // no data
  });

  it("reads 32-bit numbers unsigned and all 12 flag bits (NS is bit 8)", () => {
    const b = SYN.slice();
    b.set([0xff, 0xff, 0xff, 0xfe], 4); // seq 4294967294
    b.set([0x80, 0x00, 0x00, 0x01], 8); // ack 2147483649
    b[12] = 0xa1; // NS
    b[13] = 0xd2; // CWR ECE ACK SYN = 80+40+10+02
    const { tcp } = decode(b, ip4(40));
    expect(tcp?.seq).toBe(4294967294);
    expect(tcp?.ack).toBe(2147483649);
    expect(tcp?.flags).toBe(0x1d2);
    expect(tcp?.checksumStatus).toBe("bad");
  });

  it("recognises the offload case: the field holds the pseudo-header sum (0x14cb)", () => {
    const b = SYN.slice();
    b[16] = 0x14;
    b[17] = 0xcb;
    expect(decode(b, ip4(40)).tcp).toMatchObject({ checksumValid: null, checksumStatus: "partial" });
  });

  it("hands data on by port, then by sniffing, else as payload", () => {
    // SYN with the data "GET " appended and its data offset kept: port 80 -> http.
    const withData = Uint8Array.of(...SYN, 0x47, 0x45, 0x54, 0x20);
    const http = decode(withData, ip4(44));
    expect(http.next).toBe("http");
    expect([...http.state.rest]).toEqual([0x47, 0x45, 0x54, 0x20]);
    expect(http.tcp?.checksumStatus).toBe("bad"); // the data is not covered by 97db
    const other = withData.slice();
    other[2] = 0x1f; // destination port 0x1f91 = 8081, not in the port table
    other[3] = 0x91;
    expect(decode(other, ip4(44)).next).toBe("http"); // sniffed from "GET "
    other[40] = 0x58; // "XET "
    expect(decode(other, ip4(44)).next).toBe("payload");
  });
});

describe("tcp options", () => {
  function parse(bytes: number[]) {
    const out: TcpOption[] = [];
    const problem = parseTcpOptions(Uint8Array.from(bytes), 0, bytes.length, out);
    return { out, problem };
  }

  it("reads SACK blocks, unknown kinds raw, and stops at EOL", () => {
    const { out, problem } = parse([
      0x05, 0x12, // SACK, 2 + 2*8 = 18 bytes
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, // block 1..5
      0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff, 0xff, // block 4294967280..4294967295
      0x1e, 0x04, 0x10, 0x01, // kind 30 (MPTCP), 2 data bytes
      0x00, // EOL
      0x02, 0x00, // after EOL: padding, never read (a zero length here would be an error)
    ]);
    expect(problem).toBeNull();
    expect(out).toEqual([
      { kind: "sack", blocks: [{ left: 1, right: 5 }, { left: 4294967280, right: 4294967295 }] },
      { kind: "unknown", code: 30, data: Uint8Array.of(0x10, 0x01) },
      { kind: "eol" },
    ]);
  });

  it("zero and one length options stop the walk and keep what was read", () => {
    expect(parse([0x01, 0x02, 0x04, 0x05, 0xb4, 0x08, 0x00, 0x00])).toEqual({
      out: [{ kind: "nop" }, { kind: "mss", mss: 1460 }],
      problem: "option kind 8 has length 0",
    });
    expect(parse([0x1e, 0x01, 0x01, 0x01]).problem).toBe("option kind 30 has length 1");
  });

  it("an option past the end, or without its length byte, is reported", () => {
    expect(parse([0x01, 0x08, 0x0a, 0x00, 0x00])).toEqual({
      out: [{ kind: "nop" }],
      problem: "option kind 8 length 10 exceeds the 4 bytes left in the header",
    });
    expect(parse([0x01, 0x01, 0x01, 0x02]).problem).toBe("option kind 2 at offset 3 has no length byte");
  });

  it("a known kind with the wrong length is kept raw, reported, and the walk goes on", () => {
    expect(parse([0x02, 0x03, 0x05, 0x03, 0x03, 0x07])).toEqual({
      out: [{ kind: "unknown", code: 2, data: Uint8Array.of(0x05) }, { kind: "windowScale", shift: 7 }],
      problem: "option kind 2 has length 3",
    });
    expect(parse([0x05, 0x02]).problem).toBe("option kind 5 has length 2"); // SACK without blocks
  });

  it("writes every kind back as it was read", () => {
    const options: TcpOption[] = [
      ...SYN_OPTIONS,
      { kind: "sack", blocks: [{ left: 0xdeadbeef, right: 0xfeedface }] },
      { kind: "unknown", code: 30, data: Uint8Array.of(0x10, 0x01) },
      { kind: "eol" },
    ];
    const bytes = new Uint8Array(tcpOptionsLength(options)).fill(0xa5);
    expect(bytes.length).toBe(20 + 10 + 4 + 1);
    expect(writeTcpOptions(options, bytes, 0)).toBe(35);
    expect([...bytes.subarray(0, 20)]).toEqual([...SYN.subarray(20)]);
    expect([...bytes.subarray(20)]).toEqual([0x05, 0x0a, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed, 0xfa, 0xce, 0x1e, 0x04, 0x10, 0x01, 0x00]);
  });
});

describe("tcp hostile headers", () => {
  it("a bad option is an Issue, but the header and the payload still decode", () => {
    // 24-byte header: options NOP, then kind 8 with length 0, then 2 bytes; data "GET ".
    const b = Uint8Array.of(...SYN.subarray(0, 20), 0x01, 0x08, 0x00, 0x00, 0x47, 0x45, 0x54, 0x20);
    b[12] = 0x60;
    const { next, state, tcp } = decode(b, ip4(28));
    expect(tcp?.options).toEqual([{ kind: "nop" }]);
    expect(tcp?.headerLength).toBe(24);
    expect(state.issues).toEqual([{ layer: "tcp", kind: "malformed", reason: "option kind 8 has length 0" }]);
    expect(next).toBe("http");
    expect(state.rest.length).toBe(4);
  });

  it("a data offset below 5 is malformed", () => {
    const b = SYN.slice();
    b[12] = 0x40;
    const { next, state, tcp } = decode(b, ip4(40));
    expect(next).toBeNull();
    expect(tcp?.headerLength).toBe(16);
    expect(state.issues).toEqual([{ layer: "tcp", kind: "malformed", reason: "data offset 4 is less than 5" }]);
  });

  it("a data offset past the bytes: truncated when the capture was cut, malformed otherwise", () => {
    const cut = SYN.subarray(0, 30);
    const t = decode(cut, ip4(40, false));
    expect(t.state.issues).toEqual([{ layer: "tcp", kind: "truncated", reason: "header length 40 exceeds 30 bytes" }]);
    expect(t.tcp?.options).toEqual([{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }]);
    expect(t.tcp?.checksumStatus).toBe("unverified");
    const lying = SYN.slice();
    lying[12] = 0xf0; // 60 bytes claimed, 40 there, and IP says 40 is all
    expect(decode(lying, ip4(40)).state.issues).toEqual([{ layer: "tcp", kind: "malformed", reason: "header length 60 exceeds 40 bytes" }]);
  });

  it("fewer than 20 bytes reports nothing but the Issue", () => {
    const { state } = decode(SYN.subarray(0, 19), null);
    expect(state.layers).toEqual([]);
    expect(state.issues).toEqual([{ layer: "tcp", kind: "truncated", reason: "header needs 20 bytes, have 19" }]);
  });
});

describe("tcp encode", () => {
  const ctx: EncodeContext = { inner: undefined, outer: undefined, ip: { version: 4, src: A4, dst: B4 } };

  function build(value: TcpInput, payload: number[] = [], c: EncodeContext = ctx): Uint8Array {
    const header = tcpCodec.headerLength(value, c);
    const out = new Uint8Array(header + payload.length).fill(0xa5);
    out.set(payload, header);
    tcpCodec.write(value, out, c);
    return out;
  }

  it("builds the hand-made SYN byte for byte (SYN is the default flag)", () => {
    const value: TcpInput = { layer: "tcp", srcPort: 40000, dstPort: 80, seq: 0x01020304, window: 64240, options: SYN_OPTIONS };
    expect(tcpCodec.headerLength(value, ctx)).toBe(40);
    expect([...build(value)]).toEqual([...SYN]);
  });

  it("pads options with EOL to a 4-byte boundary and derives the data offset", () => {
    // MSS (4) + window scale (3) = 7 -> one zero byte -> 28-byte header, offset 7 -> 0x70
    const out = build({ layer: "tcp", options: [{ kind: "mss", mss: 1460 }, { kind: "windowScale", shift: 7 }], checksum: 0 });
    expect(out.length).toBe(28);
    expect(out[12]).toBe(0x70);
    expect([...out.subarray(20)]).toEqual([0x02, 0x04, 0x05, 0xb4, 0x03, 0x03, 0x07, 0x00]);
  });

  it("defaults: ports 20 -> 80, seq/ack 0, SYN, window 65535, checksum 0 without IP", () => {
    const out = build({ layer: "tcp" }, [], { inner: undefined, outer: undefined, ip: undefined });
    // 0014 0050 | 00000000 | 00000000 | 50 02 ffff | 0000 0000
    expect([...out]).toEqual([0, 0x14, 0, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    // The destination port follows the inner layer: dns -> 53.
    const dns = build({ layer: "tcp" }, [], { inner: { layer: "dns" }, outer: undefined, ip: undefined });
    expect([dns[2], dns[3]]).toEqual([0, 53]);
  });

  it("writes explicit fields as given: a lying data offset, all flag bits, a wrong checksum", () => {
    const out = build({ layer: "tcp", headerLength: 60, flags: 0x1ff, checksum: 0xbeef, urgentPointer: 7 });
    expect(out.length).toBe(20); // the header written is still 20 bytes
    expect([out[12], out[13], out[16], out[17], out[18], out[19]]).toEqual([0xf1, 0xff, 0xbe, 0xef, 0x00, 0x07]);
  });

  it("fills a checksum that the decoder finds good, data included", () => {
    const out = build({ layer: "tcp", flags: TCP_FLAGS.ACK | TCP_FLAGS.PSH }, [1, 2, 3]);
    expect(decode(out, ip4(23)).tcp?.checksumStatus).toBe("good");
  });
});

describe("TcpView", () => {
  it("reads every field at its offset", () => {
    const v = new TcpView(SYN);
    expect(v.check()).toBeNull();
    expect([v.srcPort, v.dstPort, v.seq, v.ack, v.headerLength, v.flags, v.window, v.checksum, v.urgentPointer]).toEqual([
      40000, 80, 0x01020304, 0, 40, 2, 64240, 0x97db, 0,
    ]);
    expect([...v.optionBytes]).toEqual([...SYN.subarray(20)]);
    expect(v.payload.length).toBe(0);
    expect(v.verifyChecksum(A4, B4)).toBe(true);
    expect(new TcpView(SYN.subarray(0, 39)).check()).toBe("header length 40 exceeds 39 bytes");
    expect(new TcpView(SYN.subarray(0, 10)).check()).toBe("header needs 20 bytes, have 10");
  });

  it("setters write exactly their bytes (buffer pre-filled with 0xa5)", () => {
    const b = new Uint8Array(40).fill(0xa5);
    const v = new TcpView(b);
    v.srcPort = 40000;
    v.dstPort = 80;
    v.seq = 0x01020304;
    v.ack = 0;
    b[12] = 0;
    v.headerLength = 40;
    v.flags = TCP_FLAGS.SYN;
    v.window = 64240;
    v.urgentPointer = 0;
    b.set(SYN.subarray(20), 20);
    v.fillChecksum(A4, B4);
    expect([...b]).toEqual([...SYN]);
    // Each setter leaves the other half of byte 12 alone.
    v.flags = 0x1ff;
    expect(b[12]).toBe(0xa1);
    v.headerLength = 20;
    expect(b[12]).toBe(0x51);
  });
});
