/**
 * The builder refuses values that do not fit their field (RangeError) or have
 * the wrong type (TypeError), naming the layer and the field, for every field
 * of every layer's build input (table-driven over the registry's rules); the
 * largest value a rule allows survives a round trip through the decoder (so
 * a rule is never looser than the wire field); values that fit but are wrong
 * on purpose (a bad checksum, a lying length) are still written. Also: text
 * payloads are UTF-8, and the decode entry points refuse what is not bytes.
 */
import { describe, expect, it } from "vitest";
import type { FieldRule, FieldRules } from "../../layers/core.ts";
import { decodeAs, decodePacket, PacketDecoder } from "../../layers/decode.ts";
import { encodeInto, encodePacket } from "../../layers/encode.ts";
import { checkInput } from "../../layers/input_check.ts";
import { internetChecksum, peekPorts, PortPeek, type AnyInput, type Kind } from "../../layers/mod.ts";
import { INPUT_RULES, PROTOCOLS } from "../../layers/registry.ts";

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Encode one layer alone with `field` set to `v`. */
function one(layer: string, field: string, v: unknown): Uint8Array {
  return encodePacket([{ layer, [field]: v } as unknown as AnyInput]);
}

/** A value of the wrong type for a rule, and what it is. */
function wrongTypeFor(rule: FieldRule): unknown {
  if (typeof rule === "number" || rule === "int") return "7";
  if (typeof rule === "object" && "multipleOf" in rule) return "8";
  if (typeof rule === "object" && "orName" in rule) return true;
  if (rule === "bool") return "yes";
  if (rule === "text") return 5;
  if (rule === "bytes") return "abc";
  if (rule === "data") return 5;
  if (typeof rule === "string") return 42; // an address
  if (Array.isArray(rule)) return "no-such-choice";
  return "not a list"; // { list } / { each }
}

const withRules = PROTOCOLS.filter((p) => INPUT_RULES[p.kind as Kind] !== undefined);

describe("every layer's build input has rules", () => {
  it("each protocol with a codec declares them, and every rule is well formed", () => {
    expect(withRules.map((p) => p.kind).sort()).toEqual(PROTOCOLS.map((p) => p.kind).sort());
  });
});

describe.each(withRules.map((p) => [p.kind, INPUT_RULES[p.kind as Kind]!] as const))("%s", (kind, rules: FieldRules) => {
  const fields = Object.entries(rules);

  it.each(fields)("%s: the wrong type is a TypeError naming the layer and field", (field, rule) => {
    expect(() => one(kind, field, wrongTypeFor(rule))).toThrow(TypeError);
    expect(() => one(kind, field, wrongTypeFor(rule))).toThrow(`Cannot encode ${kind} ${field}: expected`);
  });

  const numeric = fields.filter(([, r]) => typeof r === "number" || (typeof r === "object" && ("multipleOf" in r || "orName" in r)));
  if (numeric.length > 0) {
    it.each(numeric)("%s: past its largest value, negative or fractional is a RangeError", (field, rule) => {
      const max = typeof rule === "number" ? rule : "multipleOf" in (rule as object) ? (rule as { max: number }).max : (rule as { orName: number }).orName;
      const step = typeof rule === "object" && "multipleOf" in rule ? rule.multipleOf : 1;
      for (const bad of [max + step, -step, 0.5, Number.NaN, Infinity]) {
        expect(() => one(kind, field, bad), `${field}: ${bad}`).toThrow(RangeError);
        expect(() => one(kind, field, bad)).toThrow(`Cannot encode ${kind} ${field}: `);
      }
      if (step > 1) expect(() => one(kind, field, step + 1)).toThrow(`is not a multiple of ${step}`);
    });

    it.each(numeric)("%s: its largest value is written and decodes back as itself", (field, rule) => {
      const max = typeof rule === "number" ? rule : "multipleOf" in (rule as object) ? (rule as { max: number }).max : (rule as { orName: number }).orName;
      const bytes = one(kind, field, max);
      if (kind === "payload") return;
      // The decoder reads the field back where it has one of the same name (an
      // independent reader of the same bits: a rule looser than the field wraps).
      const decoded = decodeAs(kind as Kind, bytes).layers[0] as unknown as Record<string, unknown> | undefined;
      if (decoded !== undefined && decoded.layer === kind && typeof decoded[field] === "number" && !DERIVED.has(`${kind}.${field}`)) {
        expect(decoded[field], `${kind}.${field}`).toBe(max);
      }
    });
  }

  const lists = fields.filter(([, r]) => typeof r === "object" && "list" in r) as [string, { list: FieldRules }][];
  if (lists.length > 0) {
    it.each(lists)("%s: an entry's field is checked and named with its index", (field, rule) => {
      const [sub, subRule] = Object.entries(rule.list)[0]!;
      expect(() => one(kind, field, [{}, { [sub]: wrongTypeFor(subRule) }])).toThrow(`Cannot encode ${kind} ${field}[1] ${sub}: expected`);
      expect(() => one(kind, field, [7])).toThrow(`Cannot encode ${kind} ${field}[0]: expected an object, got 7`);
    });
  }
});

/**
 * Fields whose decoded value is not the raw field: lengths and counts the
 * decoder reports from what it found, the header's checksum re-verified, a
 * TPID written by the layer outside.
 */
const DERIVED = new Set([
  "vlan.tpid",
  "ipv4.headerLength",
  "ipv6.payloadLength",
  "tcp.headerLength",
  "dns.questionCount",
  "dns.answerCount",
  "dns.authorityCount",
  "dns.additionalCount",
  "dns.flags",
  "dns.tcpLength",
  "sll.addressLength",
  "sll2.addressLength",
  "arp.hardwareLength",
  "arp.protocolLength",
  "dhcp.flags",
  // 0xffff is written as two bytes on purpose, but its low bits say U-format,
  // which a reader takes as one byte (0xff): crafting, not a round trip.
  "llc.control",
]);

describe("the issue's four examples, worked by hand", () => {
  it("text payload is UTF-8: 'hello' is 68 65 6c 6c 6f, 'é' two bytes", () => {
    const b = encodePacket([{ layer: "ipv4" }, { layer: "payload", data: "hello" }]);
    expect(hex(b.subarray(20))).toBe("68656c6c6f");
    expect(b[3]).toBe(25); // total length 20 + 5
    expect(hex(encodePacket([{ layer: "payload", data: "hé" }]))).toBe("68c3a9");
    // mid-list too (a payload followed by another layer is written with `write`)
    expect(hex(encodePacket([{ layer: "payload", data: "ab" }, { layer: "payload", data: new Uint8Array([1]) }]))).toBe("616201");
  });

  it("udp srcPort 70000, ipv4 ttl 999, tcp flags {syn: true}", () => {
    expect(() => encodePacket([{ layer: "udp", srcPort: 70000 }])).toThrow(new RangeError("Cannot encode udp srcPort: 70000 does not fit in 0..65535"));
    expect(() => encodePacket([{ layer: "ipv4", ttl: 999 }])).toThrow(new RangeError("Cannot encode ipv4 ttl: 999 does not fit in 0..255"));
    expect(() => encodePacket([{ layer: "tcp", flags: { syn: true } as unknown as number }])).toThrow(
      new TypeError("Cannot encode tcp flags: expected an integer 0..4095, got an object"),
    );
  });

  it("nothing is written when a check fails", () => {
    const buf = new Uint8Array(64).fill(0xa5);
    expect(() => encodeInto([{ layer: "ipv4" }, { layer: "udp", dstPort: 65536 }], buf)).toThrow(RangeError);
    expect(buf.every((b) => b === 0xa5)).toBe(true);
  });

  it("wrong-but-representable values stay allowed: a bad checksum, a lying length, reserved bits", () => {
    const b = encodePacket([{ layer: "ipv4", checksum: 0xdead, totalLength: 9, reservedFlag: true }, { layer: "udp", length: 3, checksum: 0 }]);
    expect(hex(b.subarray(0, 4))).toBe("45000009");
    expect(hex(b.subarray(6, 7))).toBe("80");
    expect(hex(b.subarray(10, 12))).toBe("dead");
    expect(hex(b.subarray(24, 28))).toBe("00030000");
  });

  it("nested lists name their path: tcp options[0] mss", () => {
    expect(() => encodePacket([{ layer: "tcp", options: [{ kind: "mss", mss: 65536 }] }])).toThrow("Cannot encode tcp options[0] mss: 65536 does not fit in 0..65535");
    expect(() => encodePacket([{ layer: "ipv6", extensions: [{ type: "fragment", fragmentOffset: 12 }] }])).toThrow(
      "Cannot encode ipv6 extensions[0] fragmentOffset: 12 is not a multiple of 8",
    );
    expect(() => encodePacket([{ layer: "ipv4", options: [{ type: 68, timestamps: [1, -1] }] }])).toThrow("Cannot encode ipv4 options[0] timestamps[1]: -1 does not fit");
  });

  it("addresses: text or bytes of the family's length", () => {
    expect(() => encodePacket([{ layer: "ipv4", src: new Uint8Array(16) }])).toThrow("Cannot encode ipv4 src: an address of 16 bytes (expected 4)");
    expect(() => encodePacket([{ layer: "ethernet", dst: 5 as unknown as string }])).toThrow(TypeError);
    expect(hex(encodePacket([{ layer: "ipv4", src: new Uint8Array([1, 2, 3, 4]) }]).subarray(12, 16))).toBe("01020304");
  });

  it("a list that is not an array of objects, or a layer that is not an object", () => {
    expect(() => encodePacket("udp" as unknown as AnyInput[])).toThrow(TypeError);
    expect(() => encodePacket([null as unknown as AnyInput])).toThrow("Cannot encode layer 0: expected an object");
    expect(() => checkInput("x", { a: 1.5 }, { a: 3 })).toThrow(RangeError);
  });
});

describe("entry points that take bytes refuse anything else", () => {
  it("decodePacket(42, 1) and the rest are TypeErrors", () => {
    const d = new PacketDecoder();
    const bad: unknown[] = [42, "abc", null, undefined, new ArrayBuffer(8), [1, 2, 3], { length: 4 }];
    for (const v of bad) {
      expect(() => decodePacket(v as Uint8Array, 1), String(v)).toThrow(TypeError);
      expect(() => decodeAs("ipv4", v as Uint8Array)).toThrow(TypeError);
      expect(() => d.decode(v as Uint8Array, 1)).toThrow(TypeError);
      expect(() => d.decodeReused(v as Uint8Array, 1)).toThrow(TypeError);
      expect(() => d.decodeAs("udp", v as Uint8Array)).toThrow(TypeError);
      expect(() => peekPorts(v as Uint8Array, 1, new PortPeek())).toThrow(TypeError);
      expect(() => internetChecksum(v as Uint8Array)).toThrow(TypeError);
      expect(() => encodeInto([{ layer: "udp" }], v as Uint8Array)).toThrow(TypeError);
    }
    expect(() => decodePacket(42 as unknown as Uint8Array, 1)).toThrow("decodePacket: expected the frame as a Uint8Array, got number");
    expect(() => decodePacket(new Uint8Array(14), "ethernet" as unknown as number)).toThrow(TypeError);
    // A Node Buffer is a Uint8Array: accepted.
    expect(decodePacket(Buffer.alloc(14), 1).layers[0]!.layer).toBe("ethernet");
  });
});

describe("the one-layer encoders check their input too", () => {
  it("encodeDns, encodeDhcp, encodeHttp", async () => {
    const { encodeDns, encodeDhcp, encodeHttp } = await import("../../layers/mod.ts");
    expect(() => encodeDns({ layer: "dns", id: 65536 })).toThrow("Cannot encode dns id: 65536 does not fit in 0..65535");
    expect(() => encodeDhcp({ layer: "dhcp", xid: -1 })).toThrow("Cannot encode dhcp xid: -1 does not fit");
    expect(() => encodeHttp({ layer: "http", headers: [{ name: "A", value: 5 as unknown as string }] })).toThrow("Cannot encode http headers[0] value: expected a string, got 5");
    expect(encodeDns({ layer: "dns", id: 0xffff }).subarray(0, 2)).toEqual(new Uint8Array([0xff, 0xff]));
  });
});

describe("more of the same class: address inputs and the options encoder", () => {
  it("ipv4Bytes, ipv6Bytes, macBytes, ipBytes refuse an address that is neither text nor bytes (TypeError)", async () => {
    const { ipv4Bytes, ipv6Bytes, macBytes, ipBytes } = await import("../../layers/mod.ts");
    for (const f of [ipv4Bytes, ipv6Bytes, macBytes, ipBytes]) expect(() => f(42 as unknown as string)).toThrow(TypeError);
    expect(() => ipv4Bytes(new Uint8Array(3))).toThrow(RangeError);
  });

  it("encodeIpv4Options checks its options as encodePacket does", async () => {
    const { encodeIpv4Options } = await import("../../layers/mod.ts");
    expect(() => encodeIpv4Options([{ type: 300 }])).toThrow("Cannot encode ipv4 options[0] type: 300 does not fit in 0..255");
    expect(encodeIpv4Options([{ type: 1 }])).toEqual(Uint8Array.of(1, 0, 0, 0));
  });
});
