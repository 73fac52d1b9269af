/**
 * Icmpv6View (with the NDP body fields of NdpMessageView) over (bytes, at,
 * end): hand-worked messages of every layout read field by field, every
 * setter written into 0xa5 bytes at ICMPV6_FIELD's offset (flag setters
 * change one bit), the option and payload ranges by type, check() on short
 * messages, and the checksum with the IPv6 pseudo-header (RFC 8200 §8.1).
 */
import { describe, expect, it } from "vitest";
import { parseIpv6 } from "../../layers/addr.ts";
import { Icmpv6View, ICMPV6_FIELD, ICMPV6_TYPE } from "../../layers/icmpv6.ts";
import { NdpMessageView, NDP_FIELD, NDP_FLAG } from "../../layers/ndp.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** `message` at offset 3 of a buffer, with 3 bytes (0xee) before it and 1 after. */
function framed(message: Uint8Array): { buffer: Uint8Array; view: Icmpv6View } {
  const buffer = Uint8Array.of(0xee, 0xee, 0xee, ...message, 0xee);
  return { buffer, view: new Icmpv6View(buffer, 3, 3 + message.length) };
}

const FD1 = parseIpv6("fd77::1");
const FD2 = parseIpv6("fd77::2");

// The messages of icmpv6.test.ts, whose comments work out their checksums:
// echo request fd77::1 -> fd77::2, id 0x1234, seq 1.
const ECHO = hex("8000 7295 1234 0001");
// Neighbor solicitation fd77::1 -> ff02::1:ff00:2 for fd77::2, source link-layer address option.
const NS = hex("8700 7c32 0000 0000  fd77 0000 0000 0000 0000 0000 0000 0002  0101 0277 0000 0001");
// Neighbor advertisement fd77::2 -> fd77::1: solicited + override (0x60), target fd77::2.
const NA = hex("8800 1abe 6000 0000  fd77 0000 0000 0000 0000 0000 0000 0002  0201 0277 0000 0002");
// Router advertisement fe80::1 -> ff02::1: hop limit 64, M+O (c0), lifetime 1800, reachable
// 30000 ms, retrans 1000 ms, then four options (72 bytes).
const RA = hex(`
  8600 c88c 40c0 0708 0000 7530 0000 03e8
  0101 0277 0000 0001
  0501 0000 0000 05dc
  0304 40c0 0001 5180 0000 3840 0000 0000  fd77 0000 0000 0000 0000 0000 0000 0000
  1903 0000 0000 0258  fd77 0000 0000 0000 0000 0000 0000 0053`);

// Redirect fe80::1 -> fd77::2: target fe80::1, destination fd77::99, no options. Length 40.
//   pseudo: fe80+0001 + fd77+0002 + 0028 + 003a = 1fc5c
//   message: 8900 + fe80+0001 (target) + fd77+0099 (destination) = 28591
//   1fc5c + 28591 = 481ed -> fold 81ed+4 = 81f1 -> complement 7e0e
const REDIRECT = hex("8900 7e0e 0000 0000  fe80 0000 0000 0000 0000 0000 0000 0001  fd77 0000 0000 0000 0000 0000 0000 0099");

// Packet too big fd77::1 -> fd77::2, MTU 1280 (00000500), nothing quoted. Length 8.
//   pseudo: fd77+0001 + fd77+0002 + 0008 + 003a = 1fb33; message 0200 + 0500 = 0700
//   1fb33 + 0700 = 20233 -> fold 0233+2 = 0235 -> complement fdca
const TOO_BIG = hex("0200 fdca 0000 0500");

// Parameter problem fd77::1 -> fd77::2, pointer 0x80000006 (past 2^31). Length 8.
//   1fb33 + 0400 + 8000 + 0006 = 27f39 -> fold 7f39+2 = 7f3b -> complement 80c4
const PARAMETER_PROBLEM = hex("0400 80c4 8000 0006");

describe("Icmpv6View over (bytes, at, end)", () => {
  it("reads an echo request and verifies its pseudo-header checksum", () => {
    const { view } = framed(ECHO);
    expect(view.check()).toBeNull();
    expect([view.type, view.code, view.checksum]).toEqual([ICMPV6_TYPE.ECHO_REQUEST, 0, 0x7295]);
    expect([view.identifier, view.sequence]).toEqual([0x1234, 1]);
    expect([view.headerLength, view.payloadStart, view.payloadEnd]).toEqual([8, 3 + 8, 3 + 8]);
    // Not an NDP type: no options.
    expect([view.optionsStart, view.optionsEnd]).toEqual([3 + 8, 3 + 8]);
    expect(view.verifyChecksum(FD1, FD2)).toBe(true);
    expect(view.verifyChecksum(parseIpv6("fd77::3"), FD2)).toBe(false);
  });

  it("reads packet too big and parameter problem as unsigned 32-bit", () => {
    const big = framed(TOO_BIG).view;
    expect([big.type, big.mtu]).toEqual([ICMPV6_TYPE.PACKET_TOO_BIG, 1280]);
    expect(big.verifyChecksum(FD1, FD2)).toBe(true);
    const problem = framed(PARAMETER_PROBLEM).view;
    expect([problem.type, problem.pointer]).toEqual([ICMPV6_TYPE.PARAMETER_PROBLEM, 0x80000006]);
    expect(problem.verifyChecksum(FD1, FD2)).toBe(true);
  });

  it("reads a neighbor solicitation: target, options after 24 bytes", () => {
    const { buffer, view } = framed(NS);
    expect(view.check()).toBeNull();
    expect(view.type).toBe(ICMPV6_TYPE.NEIGHBOR_SOLICITATION);
    expect([...view.targetAddress]).toEqual([...FD2]);
    expect(view.targetAddress.buffer).toBe(buffer.buffer);
    expect(view.targetAddressOffset).toBe(3 + 8);
    expect([view.headerLength, view.optionsStart, view.optionsEnd]).toEqual([24, 3 + 24, 3 + 32]);
    expect([...view.payload]).toEqual([...hex("0101 0277 0000 0001")]);
    expect(view.verifyChecksum(FD1, parseIpv6("ff02::1:ff00:2"))).toBe(true);
  });

  it("reads a neighbor advertisement's R, S and O flags", () => {
    const { view } = framed(NA);
    expect([view.router, view.solicited, view.override]).toEqual([false, true, true]);
    expect([...view.targetAddress]).toEqual([...FD2]);
    expect(view.verifyChecksum(FD2, FD1)).toBe(true);
  });

  it("reads a router advertisement's fixed part, options after 16 bytes", () => {
    const { view } = framed(RA);
    expect(view.check()).toBeNull();
    expect(view.curHopLimit).toBe(64);
    expect([view.managed, view.other]).toEqual([true, true]);
    expect([view.routerLifetime, view.reachableTime, view.retransTimer]).toEqual([1800, 30000, 1000]);
    expect([view.headerLength, view.optionsStart, view.optionsEnd]).toEqual([16, 3 + 16, 3 + 88]);
    expect(view.verifyChecksum(parseIpv6("fe80::1"), parseIpv6("ff02::1"))).toBe(true);
  });

  it("reads a redirect's target and destination", () => {
    const { view } = framed(REDIRECT);
    expect(view.check()).toBeNull();
    expect([...view.targetAddress]).toEqual([...parseIpv6("fe80::1")]);
    expect([...view.destinationAddress]).toEqual([...parseIpv6("fd77::99")]);
    expect(view.destinationAddressOffset).toBe(3 + 24);
    expect([view.headerLength, view.optionsStart, view.optionsEnd]).toEqual([40, 3 + 40, 3 + 40]);
    expect(view.verifyChecksum(parseIpv6("fe80::1"), FD2)).toBe(true);
  });

  it("fills the checksum over [at, end) only", () => {
    const { buffer, view } = framed(REDIRECT);
    view.checksum = 0x1234;
    view.fillChecksum(parseIpv6("fe80::1"), FD2);
    expect(view.checksum).toBe(0x7e0e);
    expect([...buffer]).toEqual([0xee, 0xee, 0xee, ...REDIRECT, 0xee]);
  });

  it("keeps the one-argument form and reset; NdpMessageView reads the same body fields", () => {
    const view = new Icmpv6View(RA);
    expect([view.at, view.end, view.routerLifetime]).toEqual([0, 88, 1800]);
    expect(view.reset(framed(NA).buffer, 3, 35)).toBe(view);
    expect(view.solicited).toBe(true);
    expect(view).toBeInstanceOf(NdpMessageView);
    const ndp = new NdpMessageView(RA);
    expect([ndp.curHopLimit, ndp.reachableTime]).toEqual([64, 30000]);
  });
});

describe("Icmpv6View setters", () => {
  it("build the neighbor advertisement byte for byte inside 0xa5 bytes", () => {
    const buffer = new Uint8Array(3 + 32 + 1).fill(0xa5);
    const view = new Icmpv6View(buffer, 3, 35);
    view.type = ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT;
    view.code = 0;
    buffer.fill(0, 3 + 4, 3 + 8); // flags and reserved: the builder zeroes them, the flag setters keep other bits
    view.router = false;
    view.solicited = true;
    view.override = true;
    view.targetAddress = FD2;
    buffer.set(hex("0201 0277 0000 0002"), 3 + 24);
    view.fillChecksum(FD2, FD1);
    expect([...buffer]).toEqual([0xa5, 0xa5, 0xa5, ...NA, 0xa5]);
  });

  it("build the router advertisement's fixed part byte for byte", () => {
    const buffer = new Uint8Array(3 + 88 + 1).fill(0xa5);
    buffer.set(RA.subarray(16), 3 + 16); // the options as they are
    const view = new Icmpv6View(buffer, 3, 91);
    view.type = ICMPV6_TYPE.ROUTER_ADVERTISEMENT;
    view.code = 0;
    view.curHopLimit = 64;
    buffer[3 + 5] = 0; // reserved bits
    view.managed = true;
    view.other = true;
    view.routerLifetime = 1800;
    view.reachableTime = 30000;
    view.retransTimer = 1000;
    view.fillChecksum(parseIpv6("fe80::1"), parseIpv6("ff02::1"));
    expect([...buffer]).toEqual([0xa5, 0xa5, 0xa5, ...RA, 0xa5]);
  });

  it("each writes only its own bytes, at ICMPV6_FIELD's offset", () => {
    const target = parseIpv6("2001:db8::1");
    const cases: [string, (v: Icmpv6View) => void, number, number[]][] = [
      ["type", (v) => (v.type = 0x01), ICMPV6_FIELD.TYPE, [0x01]],
      ["code", (v) => (v.code = 0x02), ICMPV6_FIELD.CODE, [0x02]],
      ["checksum", (v) => (v.checksum = 0x0304), ICMPV6_FIELD.CHECKSUM, [0x03, 0x04]],
      ["identifier", (v) => (v.identifier = 0x0506), ICMPV6_FIELD.IDENTIFIER, [0x05, 0x06]],
      ["sequence", (v) => (v.sequence = 0x0708), ICMPV6_FIELD.SEQUENCE, [0x07, 0x08]],
      ["mtu", (v) => (v.mtu = 0x090a0b0c), ICMPV6_FIELD.MTU, [0x09, 0x0a, 0x0b, 0x0c]],
      ["pointer", (v) => (v.pointer = 0x0d0e0f10), ICMPV6_FIELD.POINTER, [0x0d, 0x0e, 0x0f, 0x10]],
      ["curHopLimit", (v) => (v.curHopLimit = 0x11), ICMPV6_FIELD.CUR_HOP_LIMIT, [0x11]],
      ["routerLifetime", (v) => (v.routerLifetime = 0x1213), ICMPV6_FIELD.ROUTER_LIFETIME, [0x12, 0x13]],
      ["reachableTime", (v) => (v.reachableTime = 0x14151617), ICMPV6_FIELD.REACHABLE_TIME, [0x14, 0x15, 0x16, 0x17]],
      ["retransTimer", (v) => (v.retransTimer = 0x18191a1b), ICMPV6_FIELD.RETRANS_TIMER, [0x18, 0x19, 0x1a, 0x1b]],
      ["targetAddress", (v) => (v.targetAddress = target), ICMPV6_FIELD.TARGET_ADDRESS, [...target]],
      ["destinationAddress", (v) => (v.destinationAddress = target), ICMPV6_FIELD.DESTINATION_ADDRESS, [...target]],
      // 0xa5 is 1010 0101: M/R (0x80) and O (0x20 in NA) set, O in RA (0x40) and S (0x40) clear.
      ["managed", (v) => (v.managed = false), NDP_FIELD.RA_FLAGS, [0xa5 & ~NDP_FLAG.MANAGED]],
      ["other", (v) => (v.other = true), NDP_FIELD.RA_FLAGS, [0xa5 | NDP_FLAG.OTHER]],
      ["router", (v) => (v.router = false), NDP_FIELD.NA_FLAGS, [0x25]],
      ["solicited", (v) => (v.solicited = true), NDP_FIELD.NA_FLAGS, [0xe5]],
      ["override", (v) => (v.override = false), NDP_FIELD.NA_FLAGS, [0x85]],
    ];
    for (const [name, set, offset, written] of cases) {
      const buffer = new Uint8Array(3 + 40 + 1).fill(0xa5);
      set(new Icmpv6View(buffer, 3, 43));
      const expected = new Uint8Array(44).fill(0xa5);
      expected.set(written, 3 + offset);
      expect([...buffer], name).toEqual([...expected]);
    }
  });

  it("flag getters read one bit each, and setting a set bit keeps it", () => {
    const view = new Icmpv6View(new Uint8Array(8).fill(0xa5));
    expect([view.managed, view.other]).toEqual([true, false]); // byte 5 = 0xa5
    expect([view.router, view.solicited, view.override]).toEqual([true, false, true]); // byte 4 = 0xa5
    view.router = true;
    view.override = true;
    expect(view.bytes[4]).toBe(0xa5);
  });
});

describe("Icmpv6View.check", () => {
  it("needs type, code and checksum, then the type's fixed part", () => {
    expect(framed(hex("8000")).view.check()).toBe("header needs 4 bytes, have 2");
    expect(framed(ECHO.subarray(0, 7)).view.check()).toBe("type 128 needs 8 bytes, have 7");
    expect(framed(RA.subarray(0, 15)).view.check()).toBe("type 134 needs 16 bytes, have 15");
    expect(framed(NS.subarray(0, 23)).view.check()).toBe("type 135 needs 24 bytes, have 23");
    expect(framed(REDIRECT.subarray(0, 39)).view.check()).toBe("type 137 needs 40 bytes, have 39");
    // A type not named here has only the 4 common bytes; the rest is its payload.
    const other = framed(hex("c800 0000 0102")).view;
    expect([other.check(), other.headerLength, other.payload.length]).toEqual([null, 4, 2]);
  });
});
