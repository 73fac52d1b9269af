// DHCP decode/encode against messages worked out by hand from RFC 2131 §2 (fixed
// part) and RFC 2132 (options), plus hostile option lists.
import { newState, type TestState } from "../helpers/decode_state.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DHCP_FIELD, decodeDhcp, dhcpCodec, dhcpOption, dhcpProtocol, dhcpSummary, encodeDhcp, type Dhcp, type DhcpInput } from "../../layers/dhcp.ts";
import { encodeContext } from "../../layers/encode.ts";
import { appSummary } from "../../src/format/app_summary.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}
function ascii(s: string): string {
  return [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}
function decode(bytes: Uint8Array): { dhcp: Dhcp | undefined; state: TestState } {
  const state = newState(bytes);
  expect(decodeDhcp(bytes, state)).toBeNull();
  // all bytes consumed once a value is decoded; none when nothing could be (they stay as payload)
  if (state.layers.some((l) => l.layer === "dhcp")) expect(state.rest.length).toBe(0);
  else expect(state.rest).toEqual(bytes);
  return { dhcp: state.layers[0] as Dhcp | undefined, state };
}
const zeros = (n: number): string => "00".repeat(n);

/** The 236-byte fixed part: op, xid, flags, yiaddr, siaddr, chaddr 02:77:00:00:00:02. */
function fixed(op: string, flags: string, yiaddr: string, siaddr: string, sname = zeros(64), file = zeros(128)): string {
  return op + "01 06 00" + "3903f326" + "0000" + flags + "00000000" + yiaddr + siaddr + "00000000" + "027700000002" + zeros(10) + sname + file;
}
const COOKIE = "63825363";
// DISCOVER, broadcast: 53=1, 61=01 02:77:00:00:00:02, 55=[1,3,6], 12="host", end; 24 option bytes, padded to 300.
const DISCOVER_OPTIONS = "350101" + "3d0701027700000002" + "3703010306" + "0c04" + ascii("host") + "ff";
const DISCOVER = hex(fixed("01", "8000", "00000000", "00000000") + COOKIE + DISCOVER_OPTIONS + zeros(300 - 240 - 24));
// OFFER: yiaddr 10.77.0.50, siaddr 10.77.0.1; 53=2, 54=10.77.0.1, 51=3600, 1=255.255.255.0,
// 3=10.77.0.1, 6=[10.77.0.1, 8.8.8.8], 15="test", end.
const OFFER_OPTIONS =
  "350102" + "36040a4d0001" + "330400000e10" + "0104ffffff00" + "03040a4d0001" + "06080a4d000108080808" + "0f04" + ascii("test") + "ff";
const OFFER = hex(fixed("02", "0000", "0a4d0032", "0a4d0001") + COOKIE + OFFER_OPTIONS + zeros(300 - 240 - OFFER_OPTIONS.length / 2));

describe("dhcp: hand-worked messages", () => {
  it("decodes a DISCOVER field by field", () => {
    expect(DISCOVER.length).toBe(300);
    const { dhcp, state } = decode(DISCOVER);
    expect(state.issues).toEqual([]);
    expect(dhcp).toMatchObject({
      layer: "dhcp",
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0x3903f326,
      secs: 0,
      flags: 0x8000,
      broadcast: true,
      clientIp: "0.0.0.0",
      yourIp: "0.0.0.0",
      serverIp: "0.0.0.0",
      relayIp: "0.0.0.0",
      clientMac: "02:77:00:00:00:02",
      sname: "",
      file: "",
      magicCookie: 0x63825363,
      messageType: 1,
      messageTypeName: "DISCOVER",
      length: 300,
    });
    expect(dhcp!.options).toEqual([
      { code: 53, name: "messageType", length: 1, value: 1 },
      { code: 61, name: "clientId", length: 7, value: hex("01027700000002") },
      { code: 55, name: "parameterRequestList", length: 3, value: [1, 3, 6] },
      { code: 12, name: "hostname", length: 4, value: "host" },
    ]);
  });

  it("builds the DISCOVER byte for byte from plain input", () => {
    const built = encodeDhcp({
      layer: "dhcp",
      messageType: "DISCOVER",
      xid: 0x3903f326,
      broadcast: true,
      clientMac: "02:77:00:00:00:02",
      options: [
        { name: "clientId", value: hex("01027700000002") },
        { name: "parameterRequestList", value: [1, 3, 6] },
        { code: 12, value: "host" },
      ],
    });
    expect(built).toEqual(DISCOVER);
    expect(dhcpCodec.headerLength({ layer: "dhcp", messageType: 1 }, { inner: undefined, outer: undefined, ip: undefined })).toBe(300);
  });

  it("decodes an OFFER and builds it back", () => {
    const { dhcp, state } = decode(OFFER);
    expect(state.issues).toEqual([]);
    expect(dhcp).toMatchObject({ op: 2, yourIp: "10.77.0.50", serverIp: "10.77.0.1", messageType: 2, messageTypeName: "OFFER" });
    expect(dhcp!.options.map((o) => [o.name, o.value])).toEqual([
      ["messageType", 2],
      ["serverId", "10.77.0.1"],
      ["leaseTime", 3600],
      ["subnetMask", "255.255.255.0"],
      ["router", ["10.77.0.1"]],
      ["dnsServers", ["10.77.0.1", "8.8.8.8"]],
      ["domainName", "test"],
    ]);
    expect(dhcpOption(dhcp!, "leaseTime")).toBe(3600);
    expect(dhcpOption(dhcp!, 6)).toEqual(["10.77.0.1", "8.8.8.8"]);
    const built = encodeDhcp({
      layer: "dhcp",
      messageType: "OFFER",
      xid: 0x3903f326,
      yourIp: "10.77.0.50",
      serverIp: "10.77.0.1",
      clientMac: "02:77:00:00:00:02",
      options: [
        { name: "serverId", value: "10.77.0.1" },
        { name: "leaseTime", value: 3600 },
        { name: "subnetMask", value: "255.255.255.0" },
        { name: "router", value: ["10.77.0.1"] },
        { name: "dnsServers", value: ["10.77.0.1", "8.8.8.8"] },
        { name: "domainName", value: "test" },
      ],
    });
    expect(built).toEqual(OFFER);
  });

  it("round-trips decoded values", () => {
    for (const m of [DISCOVER, OFFER]) expect(encodeDhcp(decode(m).dhcp!)).toEqual(m);
  });

  it("reads options overloaded into file and sname, in RFC 2131 order", () => {
    // 52=3 (both), file: 12 "fx" end, sname: 15 "sn" end.
    const file = "0c02" + ascii("fx") + "ff" + zeros(128 - 5);
    const sname = "0f02" + ascii("sn") + "ff" + zeros(64 - 5);
    const msg = hex(fixed("02", "0000", "00000000", "00000000", sname, file) + COOKIE + "350105" + "340103" + "ff");
    const { dhcp, state } = decode(msg);
    expect(state.issues).toEqual([]);
    expect(dhcp!.sname).toBe("");
    expect(dhcp!.file).toBe("");
    expect(dhcp!.options).toEqual([
      { code: 53, name: "messageType", length: 1, value: 5 },
      { code: 52, name: "overload", length: 1, value: 3 },
      { code: 12, name: "hostname", length: 2, value: "fx", from: "file" },
      { code: 15, name: "domainName", length: 2, value: "sn", from: "sname" },
    ]);
    expect(encodeDhcp({ ...dhcp!, length: 0 })).toEqual(msg);
  });

  it("reads sname and file as text when not overloaded", () => {
    const msg = hex(fixed("02", "0000", "00000000", "00000000", ascii("srv") + zeros(61), ascii("boot.bin") + zeros(120)) + COOKIE + "ff");
    const { dhcp } = decode(msg);
    expect([dhcp!.sname, dhcp!.file, dhcp!.messageType]).toEqual(["srv", "boot.bin", undefined]);
  });
});

describe("dhcp: hostile input", () => {
  const base = fixed("01", "0000", "00000000", "00000000") + COOKIE;
  const cases: [string, string, string, RegExp][] = [
    ["option length past the data", "350101 3304 0000", "malformed", /option 51 length 4 runs past the end \(2 bytes left\)/],
    ["option without a length byte", "350101 33", "truncated", /option 51 has no length byte/],
    ["missing end option", "350101", "malformed", /without an end option/],
    ["zero-length subnet mask", "0100 ff", "malformed", /option 1 \(subnetMask\) length 0 does not fit/],
    ["3-byte lease time", "3303 000000 ff", "malformed", /option 51 \(leaseTime\) length 3/],
    ["router list not a multiple of 4", "0305 0a000001 02 ff", "malformed", /option 3 \(router\) length 5/],
  ];
  for (const [what, opts, kind, reason] of cases) {
    it(what, () => {
      const { dhcp, state } = decode(hex(base + opts));
      expect(dhcp).toBeDefined();
      expect(state.issues).toHaveLength(1);
      expect(state.issues[0]).toMatchObject({ layer: "dhcp", kind });
      expect(state.issues[0]!.reason).toMatch(reason);
    });
  }

  it("keeps the options read before a bad one", () => {
    const { dhcp } = decode(hex(base + "350101 0c02" + ascii("hi") + "33ff 00"));
    expect(dhcp!.options.map((o) => o.code)).toEqual([53, 12]);
    expect(dhcp!.messageType).toBe(1);
  });

  it("stops at a wrong magic cookie", () => {
    const { dhcp, state } = decode(hex(fixed("01", "0000", "00000000", "00000000") + "01020304" + "350101ff"));
    expect(dhcp!.options).toEqual([]);
    expect(state.issues[0]!.reason).toBe("magic cookie 0x01020304 is not 0x63825363");
  });

  it("reports a short fixed part and keeps no value", () => {
    const { dhcp, state } = decode(hex(zeros(100)));
    expect(dhcp).toBeUndefined();
    expect(state.issues).toEqual([{ layer: "dhcp", kind: "truncated", reason: "fixed part needs 236 bytes, got 100" }]);
  });

  it("reads plain BOOTP without a cookie", () => {
    const { dhcp, state } = decode(hex(fixed("01", "0000", "00000000", "00000000")));
    expect(state.issues).toEqual([]);
    expect(dhcp!.magicCookie).toBeUndefined();
  });

  it("walks a long run of pad options", () => {
    const { dhcp, state } = decode(hex(base + zeros(5000) + "350103 ff"));
    expect(state.issues).toEqual([]);
    expect(dhcp!.messageTypeName).toBe("REQUEST");
  });

  it("builds a lying option length on request", () => {
    const b = encodeDhcp({ layer: "dhcp", options: [{ code: 51, value: 60, length: 200 }], end: false, length: 0 });
    expect([...b.subarray(240)]).toEqual([51, 200, 0, 0, 0, 60]);
  });
});

describe("dhcp: random bytes", () => {
  it("never throws and reports issues only for dhcp", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 700 }), fc.uint8Array({ minLength: 240, maxLength: 700 })), (bytes) => {
        const state = newState(bytes);
        const next = decodeDhcp(bytes, state);
        expect(next === null || next === "payload").toBe(true);
        for (const i of state.issues) expect(i.layer).toBe("dhcp");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("dhcp: the fixed part's offsets and one-pass writing", () => {
  const discover: DhcpInput = {
    layer: "dhcp",
    messageType: "DISCOVER",
    xid: 0x3903f326,
    broadcast: true,
    clientMac: "02:77:00:00:00:02",
    options: [
      { name: "clientId", value: hex("01027700000002") },
      { name: "parameterRequestList", value: [1, 3, 6] },
      { code: 12, value: "host" },
    ],
  };
  const ctx = encodeContext({ outer: { layer: "udp" } });

  it("has RFC 2131 §2's offsets", () => {
    // op 1, htype 1, hlen 1, hops 1, xid 4, secs 2, flags 2, ciaddr 4, yiaddr 4, siaddr 4,
    // giaddr 4, chaddr 16, sname 64, file 128: each field starts where the one before ends.
    expect(DHCP_FIELD).toEqual({
      OP: 0, HTYPE: 1, HLEN: 2, HOPS: 3, XID: 4, SECS: 8, FLAGS: 10, CLIENT_IP: 12, YOUR_IP: 16, SERVER_IP: 20,
      RELAY_IP: 24, CLIENT_MAC: 28, SNAME: 28 + 16, FILE: 44 + 64, MAGIC_COOKIE: 108 + 128, OPTIONS: 236 + 4,
    });
  });

  it("appends at an offset of a dirty buffer: every byte of the 300 written, padding zeroed, nothing outside touched", () => {
    const b = new Uint8Array(320).fill(0xa5);
    expect(dhcpCodec.append!(discover, b, 9, ctx)).toBe(309);
    expect(b.subarray(9, 309)).toEqual(DISCOVER);
    expect(b.subarray(0, 9)).toEqual(new Uint8Array(9).fill(0xa5));
    expect(b.subarray(309)).toEqual(new Uint8Array(11).fill(0xa5));
  });

  it("bounds its length from the options' value lengths", () => {
    // 53: 3; clientId: 2 + 7; parameterRequestList: 2 + 4 * 3 (a list counts 4 an item); "host": 2 + 4; end 1.
    // 240 + 33 = 273, under the 300 it pads to.
    expect(dhcpCodec.maxLength!(discover, ctx)).toBe(300);
    expect(dhcpCodec.maxLength!({ ...discover, length: 0 }, ctx)).toBe(273);
    // Without padding: 240 + the 24 option bytes of DISCOVER_OPTIONS.
    expect(encodeDhcp({ ...discover, length: 0 })).toEqual(DISCOVER.subarray(0, 264));
  });

  it("throws a RangeError when the buffer is short, and writes nothing past its end", () => {
    const b = new Uint8Array(310).fill(0xa5);
    expect(() => dhcpCodec.append!(discover, b.subarray(0, 299), 0, ctx)).toThrow(RangeError);
    expect(b.subarray(299)).toEqual(new Uint8Array(11).fill(0xa5));
    expect(() => dhcpCodec.append!(discover, b.subarray(0, 250), 0, ctx)).toThrow(/Cannot encode dhcp/);
  });

  it("puts options overloaded into sname and file at their offsets", () => {
    const b = encodeDhcp({ layer: "dhcp", options: [{ code: 52, value: 3 }, { code: 51, value: 60, from: "file" }, { code: 12, value: "h", from: "sname" }], length: 0 });
    expect([...b.subarray(44, 48)]).toEqual([12, 1, 0x68, 0xff]); // hostname "h", end
    expect([...b.subarray(108, 115)]).toEqual([51, 4, 0, 0, 0, 60, 0xff]); // leaseTime 60, end
    expect([...b.subarray(240)]).toEqual([52, 1, 3, 0xff]);
    expect(() => encodeDhcp({ layer: "dhcp", options: [{ code: 12, value: "x".repeat(70), from: "sname" }] })).toThrow("DHCP sname of 73 bytes exceeds 64");
  });
});

describe("dhcp: the summary in the descriptor", () => {
  it("is tcpdump's line plus the message type", () => {
    // print-bootp.c: "Request from <chaddr>" for an Ethernet request, the UDP payload length.
    expect(dhcpSummary(decode(DISCOVER).dhcp!)).toBe("BOOTP/DHCP, Request from 02:77:00:00:00:02, length 300, DHCP Discover");
    expect(appSummary(decode(OFFER).dhcp!)).toBe("BOOTP/DHCP, Reply, length 300, DHCP Offer");
    expect(dhcpProtocol.summary).toBe(dhcpSummary);
  });
});
