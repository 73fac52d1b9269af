/**
 * Property tests (fast-check): build → decode round-trips for random valid
 * Ethernet / IPv4 / IPv6 / UDP / TCP (with options) / ICMP / ICMPv6 values,
 * and decoding random and mutated bytes never throws and always ends, for
 * every link type. Run counts are bounded so the file runs in seconds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIpv4, formatIpv6, formatMac } from "../../layers/addr.ts";
import type { LayerBase } from "../../layers/core.ts";
import { decodePacket, PacketDecoder } from "../../layers/decode.ts";
import { TCP_PORT, UDP_PORT } from "../../layers/registry.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput } from "../../layers/mod.ts";
import type { TcpOption } from "../../layers/tcp_options.ts";

const RUNS = { numRuns: 300 } as const;

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const mac = bytes(6).map((b) => formatMac(b));
const ip4 = bytes(4).map((b) => formatIpv4(b));
const ip6 = bytes(16).map((b) => formatIpv6(b));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
// Ports off the application tables, so the payload stays raw bytes.
const port = fc.integer({ min: 1024, max: 0xffff }).filter((p) => !UDP_PORT.has(p) && !TCP_PORT.has(p));
// Data that no sniffer takes for HTTP (methods and "HTTP/1." start with a capital letter).
const data = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((d) => {
  d[0] = d[0]! & 0x3f;
  return d;
});

/** Bytes an option takes on the wire (RFC 9293 §3.1, RFC 7323, RFC 2018), worked out here, not asked of the code. */
function wireLength(o: TcpOption): number {
  switch (o.kind) {
    case "eol":
    case "nop":
      return 1;
    case "mss":
      return 4;
    case "windowScale":
      return 3;
    case "sackPermitted":
      return 2;
    case "sack":
      return 2 + 8 * o.blocks.length;
    case "timestamps":
      return 10;
    case "unknown":
      return 2 + o.data.length;
  }
}

const tcpOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: "nop" }),
  u16.map<TcpOption>((mss) => ({ kind: "mss", mss })),
  fc.integer({ min: 0, max: 14 }).map<TcpOption>((shift) => ({ kind: "windowScale", shift })),
  fc.constant<TcpOption>({ kind: "sackPermitted" }),
  fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 3 }).map<TcpOption>((blocks) => ({ kind: "sack", blocks })),
  fc.record({ tsval: u32, tsecr: u32 }).map<TcpOption>((t) => ({ kind: "timestamps", ...t })),
  fc
    .record({ code: fc.integer({ min: 9, max: 253 }), data: fc.uint8Array({ maxLength: 6 }) })
    .map<TcpOption>((o) => ({ kind: "unknown", ...o })),
);
// At most 40 bytes of options (data offset 15).
const tcpOptions = fc.array(tcpOption, { maxLength: 6 }).filter((os) => os.reduce((n, o) => n + wireLength(o), 0) <= 40);

const udp = fc.record({ srcPort: port, dstPort: port, payload: data }).map(({ srcPort, dstPort, payload }): AnyInput[] => [
  { layer: "udp", srcPort, dstPort },
  { layer: "payload", data: payload },
]);
const tcp = fc
  .record({ srcPort: port, dstPort: port, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 0x1ff }), window: u16, urgentPointer: u16, options: tcpOptions, payload: fc.option(data, { nil: undefined }) })
  .map(({ payload, ...t }): AnyInput[] => (payload === undefined ? [{ layer: "tcp", ...t }] : [{ layer: "tcp", ...t }, { layer: "payload", data: payload }]));
const echo = (layer: "icmp" | "icmpv6", types: [number, number]) =>
  fc.record({ type: fc.constantFrom(...types), identifier: u16, sequence: u16, payload: data }).map(({ payload, ...e }): AnyInput[] => [
    { layer, ...e } as AnyInput,
    { layer: "payload", data: payload },
  ]);

const packet: fc.Arbitrary<AnyInput[]> = fc
  .oneof(
    fc.tuple(fc.constant(false), fc.oneof(udp, tcp, echo("icmp", [0, 8]))),
    fc.tuple(fc.constant(true), fc.oneof(udp, tcp, echo("icmpv6", [128, 129]))),
  )
  .chain(([v6, inner]) =>
    fc.record({ src: mac, dst: mac, ipSrc: v6 ? ip6 : ip4, ipDst: v6 ? ip6 : ip4, ttl: fc.integer({ min: 1, max: 255 }), id: u16 }).map(
      ({ src, dst, ipSrc, ipDst, ttl, id }): AnyInput[] => [
        { layer: "ethernet", src, dst },
        v6 ? { layer: "ipv6", src: ipSrc, dst: ipDst, hopLimit: ttl } : { layer: "ipv4", src: ipSrc, dst: ipDst, ttl, id },
        ...inner,
      ],
    ),
  );

/** Options as they come back: padding to 4 bytes shows up as one EOL. */
function padded(options: readonly TcpOption[]): TcpOption[] {
  const n = options.reduce((sum, o) => sum + wireLength(o), 0);
  return n % 4 === 0 ? [...options] : [...options, { kind: "eol" }];
}

describe("build → decode round-trips", () => {
  it("every value set comes back, every derived field checks out, and re-encoding gives the same bytes", () => {
    fc.assert(
      fc.property(packet, (inputs) => {
        const frame = encodePacket(inputs);
        const { layers, issues } = decodePacket(frame, 1, { length: frame.length });
        expect(issues).toEqual([]);
        expect(layers.map((l) => l.layer)).toEqual(inputs.map((l) => l.layer));
        inputs.forEach((input, k) => {
          const got = layers[k] as unknown as Record<string, unknown>;
          const want = input.layer === "tcp" ? { ...input, options: padded(input.options ?? []) } : input;
          expect(got).toMatchObject(want as Record<string, unknown>);
          if ("checksumStatus" in got) expect(got["checksumStatus"]).toBe("good");
          if ("checksumValid" in got) expect(got["checksumValid"]).toBe(true);
        });
        const transport = layers[2] as LayerBase & { length?: number };
        if (transport.layer === "udp") expect(transport.length).toBe(frame.length - 14 - (inputs[1]!.layer === "ipv6" ? 40 : 20));
        // Every decoded field written back as given reproduces the frame exactly.
        expect(encodePacket(layers as unknown as AnyInput[])).toEqual(frame);
      }),
      RUNS,
    );
  });
});

// Prefixes that lead each link type into IP, so mutations reach the transport layers.
const LINK_PREFIX: Record<number, (v6: boolean) => number[]> = {
  0: (v6) => [v6 ? 10 : 2, 0, 0, 0], // DLT_NULL: AF_INET / AF_INET6 (Linux) in little-endian host order
  101: () => [],
  228: () => [],
  229: () => [],
  113: (v6) => [0, 0, 0, 1, 0, 6, 2, 0x77, 0, 0, 0, 1, 0, 0, v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00], // SLL
  276: (v6) => [v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0x77, 0, 0, 0, 1, 0, 0], // SLL2
};
const LINK_TYPES = [1, 0, 101, 113, 276, 228, 229];

type Mutation = { at: number; kind: "set" | "cut" | "grow"; value: number };
const mutations = fc.array(
  fc.record({ at: fc.nat(), kind: fc.constantFrom<Mutation["kind"]>("set", "set", "set", "cut", "grow"), value: fc.integer({ min: 0, max: 255 }) }),
  { minLength: 1, maxLength: 8 },
);

function mutate(frame: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = frame.slice();
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === "set") b[at] = m.value;
    else if (m.kind === "cut") b = b.slice(0, at);
    else b = Uint8Array.of(...b, ...new Uint8Array(m.value % 64).fill(m.value));
  }
  return b;
}

/** Decode and check the answer is sane: never a throw, a bounded number of layers, issues well formed. */
function decodesCleanly(decoder: PacketDecoder, b: Uint8Array, linkType: number): void {
  const { layers, issues } = decoder.decode(b, linkType, b.length);
  // Every layer that hands on consumes at least 4 bytes; the last may be payload.
  expect(layers.length).toBeLessThanOrEqual(2 + b.length / 4);
  for (const i of issues) {
    expect(["truncated", "malformed"]).toContain(i.kind);
    expect(typeof i.reason).toBe("string");
  }
}

describe("decoding never throws and always ends", () => {
  const decoder = new PacketDecoder();

  it.each(LINK_TYPES)("random bytes, link type %i", (linkType) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => decodesCleanly(decoder, b, linkType)),
      { numRuns: 500 },
    );
  });

  it.each(LINK_TYPES)("mutated valid frames, link type %i", (linkType) => {
    fc.assert(
      fc.property(packet, mutations, (inputs, ms) => {
        const frame = encodePacket(inputs);
        const v6 = inputs[1]!.layer === "ipv6";
        if (linkType === 228 && v6) return;
        if (linkType === 229 && !v6) return;
        const base = linkType === 1 ? frame : Uint8Array.of(...LINK_PREFIX[linkType]!(v6), ...frame.subarray(14));
        decodesCleanly(decoder, mutate(base, ms), linkType);
      }),
      RUNS,
    );
  });

  it("hostile transport headers inside valid IP: zero-length options, lying lengths", () => {
    // Valid Ethernet + IPv4/IPv6 around transport bytes that are random but start
    // with a plausible header: the decoders past IP see mostly garbage.
    fc.assert(
      fc.property(packet, fc.uint8Array({ minLength: 0, maxLength: 80 }), (inputs, garbage) => {
        const frame = encodePacket(inputs);
        const ipHeader = inputs[1]!.layer === "ipv6" ? 40 : 20;
        const head = frame.subarray(0, 14 + ipHeader);
        const b = Uint8Array.of(...head, ...garbage);
        decodesCleanly(decoder, b, 1);
      }),
      RUNS,
    );
  });
});

describe("a frame decoded as a range of a larger buffer", () => {
  // What a batch consumer does (decode(buffer, linkType, length, start, end)):
  // the same values and issues as decoding the frame's own bytes, whatever
  // surrounds it. Mutated frames too, so error paths read only their range.
  const alone = new PacketDecoder();
  const ranged = new PacketDecoder();
  it.each(LINK_TYPES)("link type %i: decode and decodeReused agree with the frame alone", (linkType) => {
    fc.assert(
      fc.property(packet, fc.option(mutations), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (inputs, ms, before, after) => {
        const frame = encodePacket(inputs);
        const v6 = inputs[1]!.layer === "ipv6";
        if ((linkType === 228 && v6) || (linkType === 229 && !v6)) return;
        const base = linkType === 1 ? frame : Uint8Array.of(...LINK_PREFIX[linkType]!(v6), ...frame.subarray(14));
        const own = ms === null ? base : mutate(base, ms);
        const buffer = Uint8Array.of(...before, ...own, ...after);
        const start = before.length;
        const end = start + own.length;
        const want = alone.decode(own, linkType, own.length);
        expect(ranged.decode(buffer, linkType, own.length, start, end)).toEqual(want);
        expect(ranged.decodeReused(buffer, linkType, own.length, start, end)).toEqual(want);
      }),
      RUNS,
    );
  });
});
