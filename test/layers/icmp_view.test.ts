/**
 * IcmpView over (bytes, at, end): hand-worked messages of each layout read
 * field by field, every setter written into 0xa5 bytes at ICMP_FIELD's offset,
 * the type's header length and payload range, check() on short messages, and
 * the RFC 792 checksum (no pseudo-header) over [at, end).
 */
import { describe, expect, it } from "vitest";
import { IcmpView, ICMP_FIELD, ICMP_TYPE } from "../../layers/icmp.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** `message` at offset 2 of a buffer, with 2 bytes (0xee) before it and 2 after. */
function framed(message: Uint8Array): { buffer: Uint8Array; view: IcmpView } {
  const buffer = Uint8Array.of(0xee, 0xee, ...message, 0xee, 0xee);
  return { buffer, view: new IcmpView(buffer, 2, 2 + message.length) };
}

// Echo request, id 0x1234, seq 1, data "abcd" (as in icmp.test.ts).
//   0800 + 0000 + 1234 + 0001 + 6162 + 6364 = defb -> complement 2104
const ECHO = hex("0800 2104 1234 0001 6162 6364");

// Timestamp reply, id 7, seq 2, originate 0x80000001 (past 2^31), receive 123456
// (0001e240), transmit 123457 (0001e241):
//   0e00+0007+0002+8000+0001+0001+e240+0001+e241 = 2528d -> fold 528d+2 = 528f -> complement ad70
const TIMESTAMP_REPLY = hex("0e00 ad70 0007 0002 8000 0001 0001 e240 0001 e241");

describe("IcmpView over (bytes, at, end)", () => {
  it("reads an echo request: type, code, checksum, identifier, sequence, data", () => {
    const { buffer, view } = framed(ECHO);
    expect(view.check()).toBeNull();
    expect([view.type, view.code, view.checksum]).toEqual([ICMP_TYPE.ECHO_REQUEST, 0, 0x2104]);
    expect([view.identifier, view.sequence]).toEqual([0x1234, 1]);
    expect(view.restOfHeader).toBe(0x12340001);
    expect(view.headerLength).toBe(8);
    expect([view.payloadStart, view.payloadEnd]).toEqual([2 + 8, 2 + 12]);
    expect([...view.payload]).toEqual([0x61, 0x62, 0x63, 0x64]);
    expect(view.payload.buffer).toBe(buffer.buffer);
    expect(view.verifyChecksum()).toBe(true);
  });

  it("reads a timestamp reply's three times as unsigned 32-bit, after a 20-byte header", () => {
    const { view } = framed(TIMESTAMP_REPLY);
    expect(view.check()).toBeNull();
    expect([view.type, view.identifier, view.sequence]).toEqual([ICMP_TYPE.TIMESTAMP_REPLY, 7, 2]);
    expect([view.originate, view.receive, view.transmit]).toEqual([0x80000001, 123456, 123457]);
    expect(view.headerLength).toBe(20);
    expect(view.payloadStart).toBe(2 + 20);
    expect(view.payload.length).toBe(0);
    expect(view.verifyChecksum()).toBe(true);
  });

  it("reads the other layouts of bytes 4-7 and on (the messages of icmp.test.ts)", () => {
    // Fragmentation needed, next-hop MTU 1500: 0304 + 05dc = 08e0 -> f71f
    const mtu = framed(hex("0304 f71f 0000 05dc")).view;
    expect([mtu.type, mtu.code, mtu.nextHopMtu]).toEqual([3, 4, 1500]);
    // Redirect to 10.77.0.254: 0501 + 0a4d + 00fe = 104c -> efb3
    const redirect = framed(hex("0501 efb3 0a4d 00fe")).view;
    expect([...redirect.gateway]).toEqual([10, 77, 0, 254]);
    expect(redirect.gatewayOffset).toBe(2 + 4);
    expect(redirect.gateway.buffer).toBe(redirect.bytes.buffer);
    // Parameter problem, pointer 20: 0c00 + 1400 = 2000 -> dfff
    expect(framed(hex("0c00 dfff 1400 0000")).view.pointer).toBe(20);
    // Address mask reply 255.255.255.0: 1200+0001+0002+ffff+ff00 = 21102 -> 1104 -> eefb
    const mask = framed(hex("1200 eefb 0001 0002 ffff ff00")).view;
    expect([...mask.addressMask]).toEqual([255, 255, 255, 0]);
    expect(mask.addressMaskOffset).toBe(2 + 8);
    expect([mask.headerLength, mask.payloadStart]).toEqual([12, 2 + 12]);
    // Type 42, rest of header deadbeef: 2a01 + dead + beef = 1c79d -> c79e -> 3861
    const other = framed(hex("2a01 3861 dead beef")).view;
    expect(other.restOfHeader).toBe(0xdeadbeef);
    for (const v of [mtu, redirect, mask, other]) expect(v.verifyChecksum()).toBe(true);
  });

  it("fills the checksum over [at, end) only, and finds a changed byte", () => {
    const { buffer, view } = framed(TIMESTAMP_REPLY);
    view.checksum = 0xffff;
    view.fillChecksum();
    expect(view.checksum).toBe(0xad70);
    expect([...buffer]).toEqual([0xee, 0xee, ...TIMESTAMP_REPLY, 0xee, 0xee]);
    buffer[2 + 19] = 0x42;
    expect(view.verifyChecksum()).toBe(false);
  });

  it("keeps the one-argument form and reset", () => {
    const view = new IcmpView(ECHO);
    expect([view.at, view.end, view.sequence]).toEqual([0, 12, 1]);
    const { buffer } = framed(TIMESTAMP_REPLY);
    expect(view.reset(buffer, 2, 22)).toBe(view);
    expect([view.type, view.transmit]).toEqual([14, 123457]);
  });
});

describe("IcmpView setters", () => {
  it("build the echo request byte for byte inside 0xa5 bytes", () => {
    const buffer = new Uint8Array(2 + 12 + 2).fill(0xa5);
    const view = new IcmpView(buffer, 2, 14);
    view.type = ICMP_TYPE.ECHO_REQUEST;
    view.code = 0;
    view.identifier = 0x1234;
    view.sequence = 1;
    buffer.set(hex("6162 6364"), 2 + 8);
    view.fillChecksum();
    expect([...buffer]).toEqual([0xa5, 0xa5, ...ECHO, 0xa5, 0xa5]);
  });

  it("each writes only its own bytes, at ICMP_FIELD's offset", () => {
    const cases: [string, (v: IcmpView) => void, number, number[]][] = [
      ["type", (v) => (v.type = 0x01), ICMP_FIELD.TYPE, [0x01]],
      ["code", (v) => (v.code = 0x02), ICMP_FIELD.CODE, [0x02]],
      ["checksum", (v) => (v.checksum = 0x0304), ICMP_FIELD.CHECKSUM, [0x03, 0x04]],
      ["restOfHeader", (v) => (v.restOfHeader = 0x05060708), ICMP_FIELD.REST_OF_HEADER, [0x05, 0x06, 0x07, 0x08]],
      ["identifier", (v) => (v.identifier = 0x090a), ICMP_FIELD.IDENTIFIER, [0x09, 0x0a]],
      ["sequence", (v) => (v.sequence = 0x0b0c), ICMP_FIELD.SEQUENCE, [0x0b, 0x0c]],
      ["gateway", (v) => (v.gateway = Uint8Array.of(10, 0, 0, 1)), ICMP_FIELD.GATEWAY, [10, 0, 0, 1]],
      ["pointer", (v) => (v.pointer = 0x0d), ICMP_FIELD.POINTER, [0x0d]],
      ["nextHopMtu", (v) => (v.nextHopMtu = 0x0e0f), ICMP_FIELD.NEXT_HOP_MTU, [0x0e, 0x0f]],
      ["originate", (v) => (v.originate = 0x10111213), ICMP_FIELD.ORIGINATE, [0x10, 0x11, 0x12, 0x13]],
      ["receive", (v) => (v.receive = 0x14151617), ICMP_FIELD.RECEIVE, [0x14, 0x15, 0x16, 0x17]],
      ["transmit", (v) => (v.transmit = 0x18191a1b), ICMP_FIELD.TRANSMIT, [0x18, 0x19, 0x1a, 0x1b]],
      ["addressMask", (v) => (v.addressMask = Uint8Array.of(255, 255, 0, 0)), ICMP_FIELD.ADDRESS_MASK, [255, 255, 0, 0]],
    ];
    for (const [name, set, offset, written] of cases) {
      const buffer = new Uint8Array(2 + 20 + 2).fill(0xa5);
      set(new IcmpView(buffer, 2, 22));
      const expected = new Uint8Array(24).fill(0xa5);
      expected.set(written, 2 + offset);
      expect([...buffer], name).toEqual([...expected]);
    }
  });

  it("copy at most 4 address bytes, and write 32-bit values modulo 2^32", () => {
    const buffer = new Uint8Array(12).fill(0xa5);
    const view = new IcmpView(buffer);
    view.gateway = Uint8Array.of(1, 2, 3, 4, 5, 6);
    expect([...buffer.subarray(4, 9)]).toEqual([1, 2, 3, 4, 0xa5]);
    view.restOfHeader = -2;
    expect(view.restOfHeader).toBe(0xfffffffe);
  });
});

describe("IcmpView.check", () => {
  it("needs type, code and checksum, then the type's whole header", () => {
    expect(framed(hex("0800 21")).view.check()).toBe("header needs 4 bytes, have 3");
    expect(framed(TIMESTAMP_REPLY.subarray(0, 19)).view.check()).toBe("type 14 needs 20 bytes, have 19");
    expect(framed(hex("1200 eefb 0001 0002 ffff ff")).view.check()).toBe("type 18 needs 12 bytes, have 11");
    expect(framed(ECHO.subarray(0, 7)).view.check()).toBe("type 8 needs 8 bytes, have 7");
    expect(framed(ECHO.subarray(0, 8)).view.check()).toBeNull();
  });
});
