// DNS decode/encode against messages worked out by hand from RFC 1035 §4.1 and
// RFC 6891 §6.1, plus hostile inputs that must end in an Issue (never a hang).
import { newState, type TestState } from "../helpers/decode_state.ts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LayerBase } from "../../layers/core.ts";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { LINKTYPE } from "../../layers/link_type.ts";
import { decodeDns, dnsCodec, encodeDns, dnsNameToLabels, DnsHeaderView, dnsProtocol, dnsSummary, type Dns, type DnsOpt } from "../../layers/dns.ts";
import { encodeContext } from "../../layers/encode.ts";
import { appSummary } from "../../src/format/app_summary.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}
function ascii(s: string): string {
  return [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}
function decode(bytes: Uint8Array, below: LayerBase[] = []): { dns: Dns[]; state: TestState } {
  const state = newState(bytes, null, {}, below);
  expect(decodeDns(bytes, state)).toBeNull();
  // all bytes consumed once a value is decoded; none when nothing could be (they stay as payload)
  if (state.layers.some((l) => l.layer === "dns")) expect(state.rest.length).toBe(0);
  else expect(state.rest).toEqual(bytes);
  return { dns: state.layers.filter((l): l is Dns => l.layer === "dns"), state };
}

// www.example.test: 03 www 07 example 04 test 00 = 18 bytes, starting at offset 12.
const NAME_WWW = "03" + ascii("www") + "07" + ascii("example") + "04" + ascii("test") + "00";
// id 0x1234, flags 0x0100 (RD), 1 question, A IN: 12 + 18 + 4 = 34 bytes.
const QUERY = hex("1234 0100 0001 0000 0000 0000" + NAME_WWW + "0001 0001");
// Response: flags 0x8580 (QR AA RD RA), 1 question, 2 answers, 1 additional.
//  offset 34: answer 1  c00c CNAME IN ttl 3600 rdlen 6  03 "web" c010 (-> "example.test" at 16)
//  offset 52: answer 2  c02e (-> "web" at 46) A IN ttl 60 rdlen 4  10.0.0.1
//  offset 68: OPT  root, type 41, class 1232, ttl 0x00008000 (DO), rdlen 8: option 10 len 4 deadbeef
const RESPONSE = hex(
  "1234 8580 0001 0002 0000 0001" +
    NAME_WWW +
    "0001 0001" +
    "c00c 0005 0001 00000e10 0006 03" +
    ascii("web") +
    "c010" +
    "c02e 0001 0001 0000003c 0004 0a000001" +
    "00 0029 04d0 00008000 0008 000a 0004 deadbeef",
);

describe("dns: hand-worked messages", () => {
  it("decodes a query field by field", () => {
    expect(QUERY.length).toBe(34);
    const { dns, state } = decode(QUERY);
    expect(state.issues).toEqual([]);
    expect(dns).toHaveLength(1);
    const d = dns[0]!;
    expect(d).toMatchObject({
      id: 0x1234,
      response: false,
      opcode: 0,
      opcodeName: "QUERY",
      rcode: 0,
      rcodeName: "NOERROR",
      flags: 0x0100,
      recursionDesired: true,
      recursionAvailable: false,
      authoritative: false,
      truncated: false,
      questionCount: 1,
      answerCount: 0,
      authorityCount: 0,
      additionalCount: 0,
      length: 34,
    });
    expect(d.tcpLength).toBeUndefined();
    expect(d.questions).toEqual([{ name: "www.example.test", type: 1, typeName: "A", class: 1 }]);
  });

  it("builds the same query byte for byte", () => {
    expect(encodeDns({ layer: "dns", id: 0x1234, questions: [{ name: "www.example.test", type: "A" }] })).toEqual(QUERY);
    expect(encodeDns({ layer: "dns", id: 0x1234, questions: [{ name: "www.example.test.", type: 1 }] })).toEqual(QUERY);
  });

  it("decodes a compressed response with CNAME, A and OPT", () => {
    expect(RESPONSE.length).toBe(87);
    const { dns, state } = decode(RESPONSE);
    expect(state.issues).toEqual([]);
    const d = dns[0]!;
    expect(d).toMatchObject({ id: 0x1234, response: true, authoritative: true, recursionAvailable: true, flags: 0x8580 });
    expect(d.answers).toEqual([
      { name: "www.example.test", type: 5, typeName: "CNAME", class: 1, ttl: 3600, rdLength: 6, data: "web.example.test" },
      { name: "web.example.test", type: 1, typeName: "A", class: 1, ttl: 60, rdLength: 4, data: "10.0.0.1" },
    ]);
    const opt = d.additionals[0]!;
    expect(opt).toMatchObject({ name: ".", type: 41, typeName: "OPT", class: 1232, ttl: 0x8000, rdLength: 8 });
    const o = opt.data as DnsOpt;
    expect(o).toMatchObject({ udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true, z: 0 });
    expect(o.options).toHaveLength(1);
    expect(o.options[0]!.code).toBe(10);
    expect([...o.options[0]!.data]).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });

  it("builds the same response with compression, from plain input", () => {
    const built = encodeDns({
      layer: "dns",
      id: 0x1234,
      response: true,
      authoritative: true,
      recursionDesired: true,
      recursionAvailable: true,
      questions: [{ name: "www.example.test", type: "A" }],
      answers: [
        { name: "www.example.test", type: "CNAME", ttl: 3600, data: "web.example.test" },
        { name: "web.example.test", type: "A", ttl: 60, data: "10.0.0.1" },
      ],
      additionals: [{ type: "OPT", data: { udpPayloadSize: 1232, dnssecOk: true, options: [{ code: 10, data: hex("deadbeef") }] } }],
    });
    expect(built).toEqual(RESPONSE);
  });

  it("round-trips the decoded value", () => {
    for (const msg of [QUERY, RESPONSE]) {
      const d = decode(msg).dns[0]!;
      expect(encodeDns(d)).toEqual(msg);
    }
  });

  it("decodes MX, TXT, SOA, SRV, CAA, AAAA, PTR, NS and an unknown type", () => {
    // Header: response, 0 questions, 9 answers. All names uncompressed: "a" = 01 61 00.
    const a = "0161 00";
    const rr = (type: string, rdata: string): string => a + type + "0001 00000001" + (rdata.replace(/\s+/g, "").length / 2).toString(16).padStart(4, "0") + rdata;
    const msg = hex(
      "0001 8400 0000 0009 0000 0000" +
        rr("000f", "000a" + "026d78 00") + // MX 10 mx
        rr("0010", "02" + ascii("hi") + "00" + "03" + ascii("a b")) + // TXT "hi" "" "a b"
        rr("0006", "026e73 00" + "02686d 00" + "00000007 00000e10 00000384 00093a80 0000003c") + // SOA ns hm 7 3600 900 604800 60
        rr("0021", "0001 0002 0035" + "03737276 00") + // SRV 1 2 53 srv
        rr("0101", "80 05" + ascii("issue") + ascii("ca.test")) + // CAA 128 issue "ca.test"
        rr("001c", "fd770000000000000000000000000001") + // AAAA fd77::1
        rr("000c", "0170 00") + // PTR p
        rr("0002", "026e73 00") + // NS ns
        rr("ff00", "0102"), // TYPE65280 raw
    );
    const { dns, state } = decode(msg);
    expect(state.issues).toEqual([]);
    expect(dns[0]!.answers.map((r) => [r.typeName, r.data])).toEqual([
      ["MX", { preference: 10, exchange: "mx" }],
      ["TXT", ["hi", "", "a b"]],
      ["SOA", { mname: "ns", rname: "hm", serial: 7, refresh: 3600, retry: 900, expire: 604800, minimum: 60 }],
      ["SRV", { priority: 1, weight: 2, port: 53, target: "srv" }],
      ["CAA", { flags: 128, tag: "issue", value: "ca.test" }],
      ["AAAA", "fd77::1"],
      ["PTR", "p"],
      ["NS", "ns"],
      ["TYPE65280", hex("0102")],
    ]);
    // Built back without compression, byte for byte (rebuilding with compression
    // would shrink it: "ns" repeats).
    expect(encodeDns({ ...dns[0]!, compress: false })).toEqual(msg);
  });

  it("escapes odd label bytes and reads the escapes back", () => {
    const msg = hex("0000 0000 0001 0000 0000 0000" + "04 612e5c00" + "00" + "0010 0001");
    const d = decode(msg).dns[0]!;
    expect(d.questions[0]!.name).toBe("a\\.\\\\\\000");
    expect(dnsNameToLabels(d.questions[0]!.name)).toEqual([hex("612e5c00")]);
    expect(encodeDns({ ...d })).toEqual(msg);
  });

  it("names come back right through the decoder's name cache: many names, repeats, near misses, escapes", () => {
    // 3000 distinct names fill the cache's 1024 slots several times over, so
    // names share slots; each question must still decode to exactly its own
    // name, the first time and when it comes again in another order. Near
    // misses (one character, case, an escaped byte, a longer name with the
    // same start) sit beside each other.
    const names: string[] = [];
    for (let i = 0; i < 1000; i++) names.push(`host${i}.example`, `Host${i}.example`, `host${i}.example.test`);
    names.push("a\\\\.b", "a\\..b", "a.b", "\\000.x", "\\001.x", "\\255.x", "x".repeat(63) + "." + "y".repeat(63), ".");
    const query = (name: string): Uint8Array => encodeDns({ layer: "dns", id: 1, questions: [{ name, type: "A" }] });
    const messages = names.map(query);
    for (const order of [names.keys(), [...names.keys()].reverse().values()]) {
      for (const i of order) expect(decode(messages[i]!).dns[0]!.questions[0]!.name).toBe(names[i]);
    }
  });
});

describe("dns over TCP", () => {
  const tcp: LayerBase = { layer: "tcp" };
  it("decodes two length-prefixed messages in one segment as two dns values", () => {
    const seg = new Uint8Array(2 + QUERY.length + 2 + RESPONSE.length);
    seg.set(hex("0022"), 0);
    seg.set(QUERY, 2);
    seg.set(hex("0057"), 36);
    seg.set(RESPONSE, 38);
    const { dns, state } = decode(seg, [tcp]);
    expect(state.issues).toEqual([]);
    expect(dns.map((d) => [d.tcpLength, d.response, d.length])).toEqual([
      [34, false, 34],
      [87, true, 87],
    ]);
  });

  it("marks a message cut short by the segment and a lone prefix byte", () => {
    const seg = new Uint8Array(2 + 20);
    seg.set(hex("0022"), 0);
    seg.set(QUERY.subarray(0, 20), 2);
    const { dns, state } = decode(seg, [tcp]);
    expect(dns).toHaveLength(1);
    expect(state.issues[0]).toMatchObject({ layer: "dns", kind: "truncated", reason: "TCP length prefix 34 exceeds 20 bytes" });
    const one = decode(hex("00"), [tcp]);
    expect(one.dns).toHaveLength(0);
    expect(one.state.issues[0]!.reason).toBe("TCP length prefix is cut off");
  });

  it("writes the length prefix when built under TCP", () => {
    const ctx = { inner: undefined, outer: tcp, ip: undefined };
    const input = { layer: "dns" as const, id: 0x1234, questions: [{ name: "www.example.test" }] };
    expect(dnsCodec.headerLength(input, ctx)).toBe(36);
    const out = new Uint8Array(36);
    dnsCodec.write(input, out, ctx);
    expect(out.subarray(0, 2)).toEqual(hex("0022"));
    expect(out.subarray(2)).toEqual(QUERY);
    const udp = { inner: undefined, outer: { layer: "udp" as const }, ip: undefined };
    expect(dnsCodec.headerLength(input, udp)).toBe(34);
  });
});

describe("dns: hostile input ends in an issue", () => {
  const header = (qd: string, an = "0000"): string => "abcd 0100 " + qd + an + "0000 0000";
  const cases: [string, string, string, RegExp][] = [
    ["pointer to itself", header("0001") + "c00c 0001 0001", "malformed", /points forward or into a loop/],
    ["label then pointer back to its own start", header("0001") + "0161 c00c 0001 0001", "malformed", /points forward or into a loop/],
    ["forward pointer", header("0001") + "c00e 0161 00 0001 0001", "malformed", /points forward/],
    ["pointer out of range", header("0001") + "c0ff 0001 0001", "malformed", /past the end/],
    ["label length 64", header("0001") + "40" + "61".repeat(64) + "00 0001 0001", "malformed", /label length 64 .* exceeds 63/],
    ["extended label type 0x80", header("0001") + "80 00 0001 0001", "malformed", /label length 128/],
    ["name over 255 bytes", header("0001") + ("3f" + "61".repeat(63)).repeat(5) + "00 0001 0001", "malformed", /longer than 255/],
    ["label past the end", header("0001") + "0561", "truncated", /runs past the end/],
    ["cut pointer", header("0001") + "c0", "truncated", /cut off/],
    ["question count that lies", header("ffff") + NAME_WWW + "0001 0001", "truncated", /question 2 of 65535/],
    ["answer count that lies", header("0000", "ffff"), "truncated", /answer 1 of 65535: name at offset 12/],
    ["record data longer than the message", header("0000", "0001") + "00 0001 0001 00000000 0010 0a00", "truncated", /data length 16 exceeds 2/],
  ];
  for (const [what, bytes, kind, reason] of cases) {
    it(what, () => {
      const { dns, state } = decode(hex(bytes));
      expect(dns).toHaveLength(1); // the header is still there
      expect(state.issues).toHaveLength(1);
      expect(state.issues[0]!.layer).toBe("dns");
      expect(state.issues[0]!.kind).toBe(kind);
      expect(state.issues[0]!.reason).toMatch(reason);
    });
  }

  it("keeps the one real question when the count lies", () => {
    const { dns } = decode(hex(header("ffff") + NAME_WWW + "0001 0001"));
    expect(dns[0]!.questionCount).toBe(65535);
    expect(dns[0]!.questions).toHaveLength(1);
  });

  it("bounds a long chain of pointers to pointers", () => {
    // Answer 1 (offset 12): root name, TYPE65280, rdata at 23 = a root label then
    // 200 pointers, pointer i (at 24 + 2i) pointing to the one before it (the
    // first to the root at 23). Answer 2's name (at 424) points to the last one
    // (at 422): 201 jumps, each strictly backwards, more than the 127 allowed.
    let chain = "00";
    for (let i = 0; i < 200; i++) chain += (0xc000 | (i === 0 ? 23 : 24 + 2 * (i - 1))).toString(16);
    const msg = hex(
      "0000 8000 0000 0002 0000 0000" + "00 ff00 0001 00000000 0191" + chain + "c1a6 0001 0001 00000000 0004 0a000001",
    );
    const { dns, state } = decode(msg);
    expect(dns[0]!.answers).toHaveLength(1);
    expect(state.issues).toEqual([
      { layer: "dns", kind: "malformed", reason: "answer 2 of 2: name at offset 424 follows more than 127 compression pointers" },
    ]);
  });

  it("marks record data that does not fit its type and goes on to the next record", () => {
    // A with 3 bytes, then a good A.
    const msg = hex("0000 8000 0000 0002 0000 0000" + "00 0001 0001 00000000 0003 0a0000" + "00 0001 0001 00000000 0004 0a000002");
    const { dns, state } = decode(msg);
    expect(state.issues).toEqual([{ layer: "dns", kind: "malformed", reason: "answer 1 of 2: A data of 3 bytes does not fit its type" }]);
    expect(dns[0]!.answers.map((r) => r.data)).toEqual([hex("0a0000"), "10.0.0.2"]);
  });

  it("rejects a CNAME whose name leaves the record data", () => {
    // rdlen 2 but the name inside is 3 bytes (01 61 00).
    const msg = hex("0000 8000 0000 0001 0000 0000" + "00 0005 0001 00000000 0002 0161 00");
    const { state } = decode(msg);
    expect(state.issues[0]).toMatchObject({ kind: "malformed" });
  });

  it("reports a short header", () => {
    const { dns, state } = decode(hex("1234 0100 00"));
    expect(dns).toHaveLength(0);
    expect(state.issues).toEqual([{ layer: "dns", kind: "truncated", reason: "header needs 12 bytes, got 5" }]);
  });

  it("refuses to build a label over 63 bytes", () => {
    expect(() => encodeDns({ layer: "dns", questions: [{ name: "a".repeat(64) + ".test" }] })).toThrow(RangeError);
  });
});

describe("dns through the whole pipeline", () => {
  const query = { layer: "dns" as const, id: 0x1234, questions: [{ name: "www.example.test" }] };
  it("builds under UDP and decodes back by port 53", () => {
    const frame = encodePacket([
      { layer: "ethernet" },
      { layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.1" },
      { layer: "udp", srcPort: 40000, dstPort: 53 },
      query,
    ]);
    // 14 Ethernet + 20 IPv4 + 8 UDP, then the hand-worked query.
    expect(frame.subarray(42)).toEqual(QUERY);
    const p = decodePacket(frame, LINKTYPE.ETHERNET);
    expect(p.issues).toEqual([]);
    expect(p.layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "udp", "dns"]);
  });
  it("builds under TCP with the length prefix and decodes back", () => {
    const frame = encodePacket([
      { layer: "ethernet" },
      { layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.1" },
      { layer: "tcp", srcPort: 40000, dstPort: 53 },
      query,
    ]);
    expect(frame.subarray(frame.length - 36)).toEqual(new Uint8Array([0x00, 0x22, ...QUERY]));
    const p = decodePacket(frame, LINKTYPE.ETHERNET);
    expect(p.issues).toEqual([]);
    const d = p.layers.find((l) => l.layer === "dns") as Dns;
    expect([d.tcpLength, d.id, d.questions[0]!.name]).toEqual([34, 0x1234, "www.example.test"]);
  });
});

describe("dns: random and mutated bytes", () => {
  it("never throws and always stops, over UDP and TCP", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          // the hand-worked response with a few bytes overwritten
          fc.array(fc.tuple(fc.nat({ max: RESPONSE.length - 1 }), fc.nat({ max: 255 })), { maxLength: 6 }).map((edits) => {
            const b = RESPONSE.slice();
            for (const [i, v] of edits) b[i] = v;
            return b;
          }),
        ),
        fc.boolean(),
        (bytes, overTcp) => {
          const state = newState(bytes, null, {}, overTcp ? [{ layer: "tcp" }] : []);
          expect(decodeDns(bytes, state)).toBeNull();
          for (const i of state.issues) expect(i.layer).toBe("dns");
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("dns: the header view (RFC 1035 §4.1.1)", () => {
  // RESPONSE's header: id 1234, flags 8580 = 1000 0101 1000 0000: QR, opcode 0, AA, RD, RA,
  // rcode 0; counts 1, 2, 0, 1.
  it("reads every field of a hand-worked response header", () => {
    const h = new DnsHeaderView(RESPONSE);
    expect(h.check()).toBeNull();
    expect([h.id, h.flags, h.response, h.opcode, h.rcode]).toEqual([0x1234, 0x8580, true, 0, 0]);
    expect([h.authoritative, h.truncated, h.recursionDesired, h.recursionAvailable]).toEqual([true, false, true, true]);
    expect([h.z, h.authenticData, h.checkingDisabled]).toEqual([false, false, false]);
    expect([h.questionCount, h.answerCount, h.authorityCount, h.additionalCount]).toEqual([1, 2, 0, 1]);
    expect([h.payloadStart, h.payloadEnd]).toEqual([12, RESPONSE.length]);
    expect(h.payload).toEqual(RESPONSE.subarray(12));
  });

  it("reads the other flag bits and a 4-bit opcode and rcode", () => {
    // flags 2a3b = 0 0101 0 1 0 0 0 1 1 1011: opcode 5 (UPDATE), TC, AD, CD, rcode 11; at offset 2 of a larger array.
    const h = new DnsHeaderView(hex("ffff 0007 2a3b 0000 ffff 0100 8000 eeee"), 2, 14);
    expect(h.check()).toBeNull();
    expect([h.id, h.flags, h.response, h.opcode, h.rcode]).toEqual([7, 0x2a3b, false, 5, 11]);
    expect([h.authoritative, h.truncated, h.recursionDesired, h.recursionAvailable]).toEqual([false, true, false, false]);
    expect([h.z, h.authenticData, h.checkingDisabled]).toEqual([false, true, true]);
    expect([h.questionCount, h.answerCount, h.authorityCount, h.additionalCount]).toEqual([0, 0xffff, 0x0100, 0x8000]);
    expect(h.payload).toEqual(new Uint8Array(0));
  });

  it("writes every field at its offset and nothing else", () => {
    const b = new Uint8Array(18).fill(0xa5);
    const h = new DnsHeaderView(b, 3, 15);
    h.id = 0xbeef;
    h.flags = 0;
    h.response = true; // 8000
    h.opcode = 0xf; // 8000 | 7800 = f800
    h.opcode = 4; // the old bits go: 8000 | 2000 = a000
    h.authoritative = true; // a400
    h.truncated = true; // a600
    h.recursionDesired = true; // a700
    h.recursionAvailable = true; // a780
    h.z = true; // a7c0
    h.authenticData = true; // a7e0
    h.checkingDisabled = true; // a7f0
    h.rcode = 0xf; // a7ff
    h.rcode = 3; // a7f3
    h.response = false; // 27f3
    h.truncated = false; // 25f3
    h.questionCount = 1;
    h.answerCount = 2;
    h.authorityCount = 3;
    h.additionalCount = 0x1234;
    expect(b).toEqual(hex("a5a5a5 beef 25f3 0001 0002 0003 1234 a5a5a5"));
    expect([h.response, h.opcode, h.truncated, h.rcode]).toEqual([false, 4, false, 3]);
  });

  it("checks that the 12 bytes are there", () => {
    expect(new DnsHeaderView(QUERY, 0, 11).check()).toBe("header needs 12 bytes, got 11");
    expect(new DnsHeaderView(QUERY, 30).check()).toBe("header needs 12 bytes, got 4");
    expect(new DnsHeaderView(QUERY, 22).check()).toBeNull();
    const v = new DnsHeaderView(new Uint8Array(3));
    expect(v.reset(QUERY, 0, 12).check()).toBeNull();
    expect(v.id).toBe(0x1234);
  });
});

describe("dns: written once into the caller's buffer", () => {
  const query = { layer: "dns" as const, id: 0x1234, questions: [{ name: "www.example.test" }] };
  const tcp = encodeContext({ outer: { layer: "tcp" } });
  const udp = encodeContext({ outer: { layer: "udp" } });

  it("appends at an offset, back-fills the TCP prefix, and touches nothing else", () => {
    const b = new Uint8Array(50).fill(0xa5);
    expect(dnsCodec.append!(query, b, 5, tcp)).toBe(5 + 36);
    expect(b.subarray(0, 5)).toEqual(new Uint8Array(5).fill(0xa5));
    expect(b.subarray(5, 7)).toEqual(hex("0022"));
    expect(b.subarray(7, 41)).toEqual(QUERY);
    expect(b.subarray(41)).toEqual(new Uint8Array(9).fill(0xa5));
    // A prefix set by hand is written as given.
    dnsCodec.append!({ ...query, tcpLength: 7 }, b, 5, tcp);
    expect(b.subarray(5, 7)).toEqual(hex("0007"));
  });

  it("bounds the length from uncompressed names: exact for a query, loose once names compress", () => {
    // 12 + (1 + 3 + 1 + 7 + 1 + 4 + 1 = 18) + 4 = 34; over TCP 2 more.
    expect(dnsCodec.maxLength!(query, udp)).toBe(34);
    expect(dnsCodec.maxLength!(query, tcp)).toBe(36);
    // RESPONSE: 87 bytes with its names compressed; the uncompressed names bound it above:
    // 12 + 22 + (18 + 10 + 18) + (18 + 10 + 4) + (1 + 10 + 8) = 131.
    const response = encodeDns({
      layer: "dns", id: 0x1234, response: true, authoritative: true, recursionAvailable: true, recursionDesired: true,
      questions: [{ name: "www.example.test" }],
      answers: [{ name: "www.example.test", type: "CNAME", ttl: 3600, data: "web.example.test" }, { name: "web.example.test", type: "A", ttl: 60, data: "10.0.0.1" }],
      additionals: [{ type: "OPT", data: { dnssecOk: true, options: [{ code: 10, data: hex("deadbeef") }] } }],
    });
    expect(response).toEqual(RESPONSE);
    expect(response.buffer.byteLength).toBe(87);
    expect(dnsCodec.maxLength!({ layer: "dns", id: 0x1234, response: true, authoritative: true, recursionAvailable: true, recursionDesired: true,
      questions: [{ name: "www.example.test" }],
      answers: [{ name: "www.example.test", type: "CNAME", ttl: 3600, data: "web.example.test" }, { name: "web.example.test", type: "A", ttl: 60, data: "10.0.0.1" }],
      additionals: [{ type: "OPT", data: { dnssecOk: true, options: [{ code: 10, data: hex("deadbeef") }] } }] }, udp)).toBe(131);
  });

  it("throws a RangeError when the buffer is short, and writes nothing past its end", () => {
    const b = new Uint8Array(40).fill(0xa5);
    expect(() => dnsCodec.append!(query, b.subarray(0, 33), 0, udp)).toThrow(RangeError);
    expect(b.subarray(33)).toEqual(new Uint8Array(7).fill(0xa5));
    expect(() => dnsCodec.append!(query, b.subarray(0, 1), 0, tcp)).toThrow(RangeError);
    expect(() => dnsCodec.append!(query, b.subarray(0, 12), 0, udp)).toThrow(/Cannot encode dns/);
  });
});

describe("dns: the summary in the descriptor", () => {
  it("is tcpdump's line, through the descriptor and appSummary", () => {
    const { dns } = decode(QUERY);
    // print-domain.c: id, "+" for RD, " A? name." and the length in parentheses.
    expect(dnsSummary(dns[0]!)).toBe("4660+ A? www.example.test. (34)");
    expect(dnsProtocol.summary).toBe(dnsSummary);
    // 4660, AA "*", 1 question, 2/0/1 counts, the answers: CNAME then A; 68 + OPT (1 + 10 + 8) = 87 bytes.
    expect(appSummary(decode(RESPONSE).dns[0]!)).toBe("4660* 2/0/1 CNAME web.example.test., A 10.0.0.1 (87)");
    expect(appSummary({ layer: "udp" })).toBeNull();
  });
});
