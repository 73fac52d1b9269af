// TFTP decode/encode against packets worked out by hand from RFC 1350 §5 and
// RFC 2347 (options), plus packets that are cut short or lie.
import { newState, type TestState } from "../helpers/decode_state.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { IpContext, LayerBase } from "../../layers/core.ts";
import { parseIpv4 } from "../../layers/addr.ts";
import { TftpTracker } from "../../src/tftp_tracker.ts";
import { decodeTftp, encodeTftp, tftpCodec, tftpOption, tftpProtocol, tftpSummary, type Tftp } from "../../layers/tftp.ts";
import { encodeContext } from "../../layers/encode.ts";
import { appSummary } from "../../src/format/app_summary.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}
function z(s: string): string {
  return [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("") + "00";
}
function decode(bytes: Uint8Array): { tftp: Tftp | undefined; state: TestState } {
  const state = newState(bytes);
  expect(decodeTftp(bytes, state)).toBeNull();
  // all bytes consumed once a value is decoded; none when nothing could be (they stay as payload)
  if (state.layers.some((l) => l.layer === "tftp")) expect(state.rest.length).toBe(0);
  else expect(state.rest).toEqual(bytes);
  return { tftp: state.layers[0] as Tftp | undefined, state };
}

const RRQ = hex("0001" + z("file.bin") + z("octet") + z("blksize") + z("1024") + z("tsize") + z("0"));
const WRQ = hex("0002" + z("up.txt") + z("netascii"));
const DATA = hex("0003 0001 68656c6c6f"); // block 1, "hello"
const ACK = hex("0004 0001");
const ERROR = hex("0005 0001" + z("File not found"));
const OACK = hex("0006" + z("blksize") + z("1024"));

describe("tftp: hand-worked packets", () => {
  it("decodes an RRQ with options", () => {
    const { tftp, state } = decode(RRQ);
    expect(state.issues).toEqual([]);
    expect(tftp).toEqual({
      layer: "tftp",
      opcode: 1,
      opcodeName: "RRQ",
      filename: "file.bin",
      mode: "octet",
      options: [
        { name: "blksize", value: "1024" },
        { name: "tsize", value: "0" },
      ],
    });
    expect(tftpOption(tftp!, "BLKSIZE")).toBe("1024");
    expect(tftpOption(tftp!, "timeout")).toBeUndefined();
  });

  it("decodes WRQ, DATA, ACK, ERROR and OACK", () => {
    expect(decode(WRQ).tftp).toEqual({ layer: "tftp", opcode: 2, opcodeName: "WRQ", filename: "up.txt", mode: "netascii", options: [] });
    const d = decode(DATA).tftp!;
    expect([d.opcodeName, d.block, d.dataLength, [...d.data!]]).toEqual(["DATA", 1, 5, [0x68, 0x65, 0x6c, 0x6c, 0x6f]]);
    expect(decode(ACK).tftp).toEqual({ layer: "tftp", opcode: 4, opcodeName: "ACK", block: 1 });
    expect(decode(ERROR).tftp).toEqual({ layer: "tftp", opcode: 5, opcodeName: "ERROR", errorCode: 1, errorMessage: "File not found" });
    expect(decode(OACK).tftp).toEqual({ layer: "tftp", opcode: 6, opcodeName: "OACK", options: [{ name: "blksize", value: "1024" }] });
    for (const p of [WRQ, DATA, ACK, ERROR, OACK]) expect(decode(p).state.issues).toEqual([]);
  });

  it("builds each packet byte for byte", () => {
    expect(encodeTftp({ layer: "tftp", opcode: "RRQ", filename: "file.bin", options: [{ name: "blksize", value: 1024 }, { name: "tsize", value: 0 }] })).toEqual(RRQ);
    expect(encodeTftp({ layer: "tftp", opcode: 2, filename: "up.txt", mode: "netascii" })).toEqual(WRQ);
    expect(encodeTftp({ layer: "tftp", block: 1, data: "hello" })).toEqual(DATA);
    expect(encodeTftp({ layer: "tftp", opcode: "ACK", block: 1 })).toEqual(ACK);
    expect(encodeTftp({ layer: "tftp", errorCode: 1 })).toEqual(ERROR);
    expect(encodeTftp({ layer: "tftp", opcode: "OACK", options: [{ name: "blksize", value: "1024" }] })).toEqual(OACK);
    expect(tftpCodec.headerLength({ layer: "tftp", opcode: "ACK" }, { inner: undefined, outer: undefined, ip: undefined })).toBe(4);
  });

  it("round-trips decoded values", () => {
    for (const p of [RRQ, WRQ, DATA, ACK, ERROR, OACK]) expect(encodeTftp(decode(p).tftp!)).toEqual(p);
  });
});

describe("tftp: hostile input", () => {
  const cases: [string, string, string, RegExp][] = [
    ["one byte", "00", "truncated", /opcode needs 2 bytes, got 1/],
    ["filename without a zero byte", "0001" + "66696c65", "truncated", /filename has no terminating zero byte/],
    ["mode without a zero byte", "0001" + z("f") + "6f63", "truncated", /mode has no terminating/],
    ["option without a value", "0001" + z("f") + z("octet") + z("blksize"), "malformed", /option "blksize" has no value/],
    ["option value without a zero byte", "0006" + z("blksize") + "3130", "truncated", /option "blksize" value/],
    ["short DATA", "0003 00", "truncated", /block number needs 4 bytes, got 3/],
    ["ACK with extra bytes", "0004 0001 ff", "malformed", /ACK carries 1 extra bytes/],
    ["error message without a zero byte", "0005 0002 6e6f", "truncated", /error message has no terminating/],
    ["unknown opcode", "0009 0000", "malformed", /unknown opcode 9/],
  ];
  for (const [what, bytes, kind, reason] of cases) {
    it(what, () => {
      const { state } = decode(hex(bytes));
      expect(state.issues).toHaveLength(1);
      expect(state.issues[0]).toMatchObject({ layer: "tftp", kind });
      expect(state.issues[0]!.reason).toMatch(reason);
    });
  }

  it("keeps what was read before the cut", () => {
    expect(decode(hex("0001" + z("f") + z("octet") + z("blksize") + z("512") + z("tsize"))).tftp!.options).toEqual([{ name: "blksize", value: "512" }]);
    expect(decode(hex("0005 0002 6e6f")).tftp!.errorMessage).toBe("no");
  });

  it("decodes a DATA packet with an empty payload (end of a file that is a multiple of the block size)", () => {
    const d = decode(hex("0003 0007")).tftp!;
    expect([d.block, d.dataLength]).toEqual([7, 0]);
  });
});

describe("tftp tracker: bounded conversation state", () => {
  // Layer lists shaped as the decoder returns them (only the fields the tracker reads).
  const request = (client: string, port: number, server: string): LayerBase[] => [
    { layer: "ipv4", src: client, dst: server } as LayerBase,
    { layer: "udp", srcPort: port, dstPort: 69 } as LayerBase,
    { layer: "tftp", opcode: 1, opcodeName: "RRQ", filename: "f", mode: "octet", options: [] } as Tftp,
  ];
  const ip = (src: string, dst: string): IpContext => ({
    version: 4, src: parseIpv4(src), dst: parseIpv4(dst), upperLength: 0, complete: true, laterFragment: false,
  });

  it("names the transfer on any server port, in both directions, and nothing else", () => {
    const t = new TftpTracker();
    expect(t.udpHint(40000, 50000, ip("10.0.0.2", "10.0.0.1"))).toBeUndefined();
    t.observe(request("10.0.0.2", 40000, "10.0.0.1"), 100);
    expect(t.udpHint(50000, 40000, ip("10.0.0.1", "10.0.0.2"))).toBe("tftp"); // DATA from the new port
    expect(t.udpHint(40000, 50000, ip("10.0.0.2", "10.0.0.1"))).toBe("tftp"); // ACK back
    expect(t.udpHint(40001, 50000, ip("10.0.0.2", "10.0.0.1"))).toBeUndefined(); // another client port
    expect(t.udpHint(50000, 40000, ip("10.0.0.3", "10.0.0.2"))).toBeUndefined(); // another server
    expect(t.udpHint(50000, 40000, null)).toBeUndefined();
  });

  it("forgets a conversation idle longer than the timeout, by packet time", () => {
    const t = new TftpTracker({ idleTimeout: 10 });
    t.observe(request("10.0.0.2", 40000, "10.0.0.1"), 100);
    t.observe([], 109);
    expect(t.udpHint(50000, 40000, ip("10.0.0.1", "10.0.0.2"))).toBe("tftp");
    t.observe([], 111);
    expect(t.udpHint(50000, 40000, ip("10.0.0.1", "10.0.0.2"))).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it("keeps at most maxConversations, dropping the least recently seen", () => {
    const t = new TftpTracker({ maxConversations: 3 });
    for (let i = 0; i < 1000; i++) t.observe(request("10.0.0.2", 1024 + i, "10.0.0.1"), i);
    expect(t.size).toBe(3);
    expect(t.conversations().map((c) => c.clientPort)).toEqual([2021, 2022, 2023]);
    expect(t.udpHint(50000, 1024, ip("10.0.0.1", "10.0.0.2"))).toBeUndefined();
    expect(t.udpHint(50000, 2023, ip("10.0.0.1", "10.0.0.2"))).toBe("tftp");
  });
});

describe("tftp: random bytes", () => {
  it("never throws and reports issues only for tftp", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 700 }), fc.uint8Array({ minLength: 240, maxLength: 700 })), (bytes) => {
        const state = newState(bytes);
        const next = decodeTftp(bytes, state);
        expect(next === null || next === "payload").toBe(true);
        for (const i of state.issues) expect(i.layer).toBe("tftp");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("tftp: written once into the caller's buffer", () => {
  const rrq = { layer: "tftp" as const, opcode: "RRQ", filename: "file.bin", options: [{ name: "blksize", value: 1024 }, { name: "tsize", value: "0" }] };
  const ctx = encodeContext({ outer: { layer: "udp" } });

  it("appends at an offset and touches nothing else; its bound is its length", () => {
    // 2 + "file.bin\0" 9 + "octet\0" 6 + "blksize\0" 8 + "1024\0" 5 + "tsize\0" 6 + "0\0" 2 = 38
    expect(tftpCodec.maxLength!(rrq, ctx)).toBe(38);
    const b = new Uint8Array(45).fill(0xa5);
    expect(tftpCodec.append!(rrq, b, 4, ctx)).toBe(42);
    expect(b.subarray(4, 42)).toEqual(RRQ);
    expect([...b.subarray(0, 4), ...b.subarray(42)]).toEqual(new Array(7).fill(0xa5));
    // "é€" is 2 + 3 UTF-8 bytes: DATA 4 + 5.
    expect(tftpCodec.maxLength!({ layer: "tftp", data: "é€" }, ctx)).toBe(9);
    expect(encodeTftp({ layer: "tftp", data: "é€" })).toEqual(hex("0003 0001 c3a9 e282ac"));
  });

  it("throws a RangeError when the buffer is short, and writes nothing past its end", () => {
    const b = new Uint8Array(40).fill(0xa5);
    expect(() => tftpCodec.append!(rrq, b.subarray(0, 37), 0, ctx)).toThrow(RangeError);
    expect(b.subarray(37)).toEqual(new Uint8Array(3).fill(0xa5));
    expect(() => tftpCodec.append!({ layer: "tftp", opcode: "ACK" }, b.subarray(0, 3), 0, ctx)).toThrow(/Cannot encode tftp/);
  });
});

describe("tftp: the summary in the descriptor", () => {
  it("is tcpdump's line (print-tftp.c)", () => {
    const line = (b: Uint8Array): string | null => appSummary(decode(b).tftp!);
    expect(line(RRQ)).toBe('TFTP, length 38, RRQ "file.bin" octet blksize 1024 tsize 0');
    expect(line(WRQ)).toBe('TFTP, length 18, WRQ "up.txt" netascii'); // 2 + 7 + 9
    expect(line(DATA)).toBe("TFTP, length 9, DATA block 1");
    expect(line(ACK)).toBe("TFTP, length 4, ACK block 1");
    expect(line(ERROR)).toBe('TFTP, length 19, ERROR ENOTFOUND "File not found"'); // 4 + 15
    expect(line(OACK)).toBe("TFTP, length 15, OACK blksize 1024"); // 2 + 8 + 5
    expect(tftpSummary(decode(hex("0009")).tftp!)).toBe("TFTP, length 2, tftp-#9");
    expect(tftpProtocol.summary).toBe(tftpSummary);
  });
});
