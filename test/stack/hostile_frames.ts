/**
 * Hostile frames as data, for fast-check: a {@link Mutation} of a frame B
 * really sent to A (bit flips, bytes set, truncation, extra bytes, length
 * and type fields set to lies, optionally with the checksums made right
 * again), or a {@link RandomFrame}: random bytes under a chosen depth of
 * valid headers (none, Ethernet, IPv4, IPv6 with a chosen next header, TCP
 * with random option bytes, UDP, ICMP, ICMPv6, ARP). {@link materialize}
 * turns one into bytes against the lab's recent traffic; {@link describe}
 * names it for a failure message.
 */
import fc from "fast-check";
import { encodePacket } from "../../layers/encode.ts";
import { fixChecksums, IP, MAC, tcpFrame, type Lab } from "./hostile_lab.ts";

/** Header fields a mutation may set to a lie (offsets found from the frame's own headers). */
export const FIELDS = [
  "eth.type",
  "ip4.verIhl",
  "ip4.total",
  "ip4.fragment",
  "ip4.protocol",
  "ip6.payloadLength",
  "ip6.nextHeader",
  "tcp.dataOffset",
  "tcp.flags",
  "tcp.window",
  "tcp.seq",
  "tcp.ack",
  "tcp.option0Length",
  "tcp.option1Length",
  "udp.length",
  "icmp.type",
  "arp.lengths",
] as const;
export type Field = (typeof FIELDS)[number];

export type Op =
  | { k: "flip"; at: number; bit: number }
  | { k: "set"; at: number; value: number }
  | { k: "truncate"; at: number }
  | { k: "extend"; bytes: Uint8Array }
  | { k: "field"; field: Field; value: number };

export interface Mutation {
  kind: "mutate";
  /** which recent frame (modulo the pool) */
  base: number;
  ops: Op[];
  /** recompute the IPv4 header and transport checksums after the ops */
  fix: boolean;
}

export const LAYERS = ["raw", "eth", "ipv4", "ipv6", "tcp4", "tcp6", "udp4", "udp6", "icmp4", "icmp6", "arp"] as const;

export interface RandomFrame {
  kind: "random";
  layer: (typeof LAYERS)[number];
  /** protocol numbers, ports, types: drawn here, used as each layer needs */
  n: number[];
  fill: Uint8Array;
  fix: boolean;
}

export type Hostile = Mutation | RandomFrame;

const boundary = fc.constantFrom(0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("flip" as const), at: fc.nat(0xffff), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("set" as const), at: fc.nat(0xffff), value: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("truncate" as const), at: fc.nat(0xffff) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("extend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("field" as const), field: fc.constantFrom(...FIELDS), value: fc.oneof(boundary, fc.nat(), fc.nat(0xffffffff)) }) },
);

/** A mutation; `fix` says whether checksums may be made right again (false: they stay as the ops leave them). */
export function mutationArb(fix: fc.Arbitrary<boolean>): fc.Arbitrary<Mutation> {
  return fc.record({ kind: fc.constant("mutate" as const), base: fc.nat(), ops: fc.array(opArb, { minLength: 1, maxLength: 4 }), fix });
}

export const randomFrameArb: fc.Arbitrary<RandomFrame> = fc.record({
  kind: fc.constant("random" as const),
  layer: fc.constantFrom(...LAYERS),
  n: fc.array(fc.nat(0xffffffff), { minLength: 8, maxLength: 8 }),
  fill: fc.uint8Array({ maxLength: 200 }),
  fix: fc.boolean(),
});

export function describe(h: Hostile): string {
  if (h.kind === "random") return `random ${h.layer} [${h.n.join(",")}] ${h.fill.length} bytes${h.fix ? " fixed" : ""}`;
  const op = (o: Op): string => (o.k === "field" ? `${o.field}=${o.value}` : o.k === "extend" ? `extend ${o.bytes.length}` : `${o.k}@${o.at}${o.k === "flip" ? `.${o.bit}` : o.k === "set" ? `=${o.value}` : ""}`);
  return `mutate #${h.base} ${h.ops.map(op).join(" ")}${h.fix ? " fixed" : ""}`;
}

const u16 = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);

/** Where a field lives in `f`, as [offset, width], or null when the frame has no such header. */
function fieldAt(f: Uint8Array, field: Field): [number, number] | null {
  const type = u16(f, 12);
  const v4 = type === 0x0800 && f.length >= 34;
  const v6 = type === 0x86dd && f.length >= 54;
  const l4 = v4 ? 14 + (f[14]! & 15) * 4 : v6 ? 54 : -1;
  const proto = v4 ? f[23]! : v6 ? f[20]! : -1;
  switch (field) {
    case "eth.type":
      return [12, 2];
    case "ip4.verIhl":
      return v4 ? [14, 1] : null;
    case "ip4.total":
      return v4 ? [16, 2] : null;
    case "ip4.fragment":
      return v4 ? [20, 2] : null;
    case "ip4.protocol":
      return v4 ? [23, 1] : null;
    case "ip6.payloadLength":
      return v6 ? [18, 2] : null;
    case "ip6.nextHeader":
      return v6 ? [20, 1] : null;
    case "tcp.dataOffset":
      return proto === 6 ? [l4 + 12, 1] : null;
    case "tcp.flags":
      return proto === 6 ? [l4 + 13, 1] : null;
    case "tcp.window":
      return proto === 6 ? [l4 + 14, 2] : null;
    case "tcp.seq":
      return proto === 6 ? [l4 + 4, 4] : null;
    case "tcp.ack":
      return proto === 6 ? [l4 + 8, 4] : null;
    case "tcp.option0Length":
      return proto === 6 && (f[l4 + 12]! >> 4) > 5 ? [l4 + 21, 1] : null;
    case "tcp.option1Length": {
      // the second option that is not a NOP: its length byte
      if (proto !== 6) return null;
      const end = l4 + (f[l4 + 12]! >> 4) * 4;
      let i = l4 + 20;
      let seen = 0;
      while (i + 1 < end && i + 1 < f.length) {
        const kind = f[i]!;
        if (kind === 0) return null;
        if (kind === 1) {
          i++;
          continue;
        }
        if (seen++ === 1) return [i + 1, 1];
        i += Math.max(2, f[i + 1]!);
      }
      return null;
    }
    case "udp.length":
      return proto === 17 ? [l4 + 4, 2] : null;
    case "icmp.type":
      return proto === 1 || proto === 58 ? [l4, 1] : null;
    case "arp.lengths":
      return type === 0x0806 ? [18, 2] : null;
  }
}

function applyOp(f: Uint8Array, op: Op): Uint8Array {
  switch (op.k) {
    case "flip":
      if (f.length > 0) f[op.at % f.length]! ^= 1 << op.bit;
      return f;
    case "set":
      if (f.length > 0) f[op.at % f.length] = op.value;
      return f;
    case "truncate":
      return f.slice(0, op.at % (f.length + 1));
    case "extend": {
      const g = new Uint8Array(f.length + op.bytes.length);
      g.set(f);
      g.set(op.bytes, f.length);
      return g;
    }
    case "field": {
      const where = fieldAt(f, op.field);
      if (where === null) return f;
      const [at, width] = where;
      for (let k = 0; k < width && at + k < f.length; k++) f[at + k] = (op.value / 2 ** (8 * (width - 1 - k))) & 0xff;
      return f;
    }
  }
}

/** Pick one of `xs` by the number `n`. */
const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

/** Which ports random TCP and UDP frames go to: none of the zoo's connections (those use 80 and ephemeral ports on A). */
export const JUNK_TCP_PORTS = [8080, 81, 9, 0] as const;
export const JUNK_UDP_PORTS = [5353, 81, 9, 0] as const;

/**
 * The bytes of `h`. Mutations apply to a copy of one of the lab's recent
 * frames to A (an ARP request from B when there is none yet).
 */
export function materialize(h: Hostile, lab: Lab): Uint8Array {
  if (h.kind === "mutate") {
    const pool = lab.toA;
    let f = pool.length > 0 ? pool[h.base % pool.length]!.slice() : encodePacket([{ layer: "ethernet", src: MAC.b, dst: MAC.a }, { layer: "arp", senderMac: MAC.b, senderIp: IP.b4, targetIp: IP.a4 }]);
    for (const op of h.ops) f = applyOp(f, op);
    if (h.fix) fixChecksums(f);
    return f;
  }
  const [n0 = 0, n1 = 0, n2 = 0, n3 = 0, n4 = 0, n5 = 0] = h.n;
  const eth = { layer: "ethernet" as const, src: MAC.x, dst: n5 % 5 === 0 ? "ff:ff:ff:ff:ff:ff" : MAC.a };
  const ip4 = { layer: "ipv4" as const, src: IP.b4, dst: n4 % 7 === 0 ? "10.9.0.255" : IP.a4 };
  // A link-local source B answers for: an address nobody answers for would be a test of its own (hostile_link.test.ts).
  const ip6src = n4 % 3 === 0 ? IP.bLL : IP.b6;
  const ip6dst = n3 % 5 === 0 ? "ff02::1" : IP.a6;
  let f: Uint8Array;
  switch (h.layer) {
    case "raw": {
      f = new Uint8Array(Math.max(14, h.fill.length));
      f.set(h.fill);
      f.set(Uint8Array.from(MAC.a.split(":").map((x) => parseInt(x, 16))), 0);
      return f;
    }
    case "eth":
      f = encodePacket([{ ...eth, type: pick([0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, n0 & 0xffff], n1) }, { layer: "payload", data: h.fill }]);
      return f;
    case "ipv4": {
      // Any protocol; sometimes a fragment (offset in 8-byte units, MF), sometimes options bytes.
      const frag = n2 % 4 === 0;
      f = encodePacket([
        eth,
        { ...ip4, protocol: pick([1, 6, 17, 2, 41, 58, 132, n0 & 0xff], n1), id: n3 & 0xffff, ...(frag ? { fragmentOffset: (n0 % 8192) * 8, moreFragments: (n1 & 1) === 1 } : {}) },
        { layer: "payload", data: h.fill },
      ]);
      break;
    }
    case "ipv6":
      f = encodePacket([
        eth,
        { layer: "ipv6", src: ip6src, dst: ip6dst, hopLimit: n2 % 2 === 0 ? 255 : 64, nextHeader: pick([0, 43, 44, 60, 59, 6, 17, 58, n0 & 0xff], n1) },
        { layer: "payload", data: h.fill },
      ]);
      break;
    case "tcp4":
    case "tcp6": {
      // Random option bytes: the header length covers a prefix of the fill, the rest is data.
      const optLen = Math.min(40, h.fill.length) & ~3;
      const hl = n2 % 3 === 0 ? 20 + optLen : 20 + ((n2 >>> 4) % 11) * 4;
      f = tcpFrame({
        family: h.layer === "tcp4" ? 4 : 6,
        src: h.layer === "tcp4" ? IP.b4 : IP.b6,
        ethSrc: MAC.x,
        srcPort: 1024 + (n0 % 48_000),
        dstPort: pick(JUNK_TCP_PORTS, n1),
        seq: n3,
        ack: n4,
        flags: n5 & 0x1ff,
        window: n1 >>> 16,
        headerLength: hl,
        urgentPointer: n2 & 0xffff,
        data: h.fill,
      });
      if (!h.fix) f[f.length - 1]! ^= 0x40; // the last byte is the segment's: its checksum is now wrong
      return f;
    }
    case "udp4":
    case "udp6": {
      const v4 = h.layer === "udp4";
      f = encodePacket([
        eth,
        v4 ? ip4 : { layer: "ipv6" as const, src: IP.b6, dst: IP.a6 },
        { layer: "udp", srcPort: n0 & 0xffff, dstPort: pick(JUNK_UDP_PORTS, n1), ...(n2 % 3 === 0 ? { length: n3 & 0xffff } : {}) },
        { layer: "payload", data: h.fill },
      ]);
      break;
    }
    case "icmp4":
      f = encodePacket([eth, { ...ip4, protocol: 1 }, { layer: "payload", data: Uint8Array.of(pick([0, 3, 4, 5, 8, 11, 12, 13, 17, n0 & 0xff], n1), n2 & 0xff, 0, 0, ...h.fill) }]);
      break;
    case "icmp6":
      f = encodePacket([
        eth,
        { layer: "ipv6", src: ip6src, dst: ip6dst, hopLimit: n2 % 2 === 0 ? 255 : 64, nextHeader: 58 },
        { layer: "payload", data: Uint8Array.of(pick([1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137, n0 & 0xff], n1), n3 % 4 === 0 ? n3 & 0xff : 0, 0, 0, ...h.fill) },
      ]);
      break;
    case "arp": {
      // Never a sender address the lab's hosts use: RFC 826 lets any ARP packet update a known
      // entry, so spoofing B or C would break the lab's own link, not test the stack.
      const spa = Uint8Array.of(10, 9, 0, 4 + (n0 % 250));
      const body = Uint8Array.of(
        0, n1 % 5 === 0 ? n1 & 0xff : 1,
        8, n2 % 5 === 0 ? n2 & 0xff : 0,
        n3 % 5 === 0 ? n3 & 0xff : 6, n3 % 7 === 0 ? (n3 >>> 8) & 0xff : 4,
        0, pick([1, 2, 3, 4, 0, n4 & 0xff], n4),
        2, 0, 0, 0, n0 & 0xff, 0x99,
        ...spa,
        0, 0, 0, 0, 0, 0,
        ...(n5 % 3 === 0 ? Uint8Array.of(10, 9, 0, n5 & 0xff) : Uint8Array.of(10, 9, 0, 1)),
        ...h.fill.subarray(0, n5 % 4 === 0 ? h.fill.length : 0),
      );
      f = encodePacket([{ ...eth, type: 0x0806 }, { layer: "payload", data: body }]);
      return n0 % 9 === 0 ? f.slice(0, 14 + (n1 % 28)) : f;
    }
  }
  if (h.fix) fixChecksums(f);
  return f;
}
