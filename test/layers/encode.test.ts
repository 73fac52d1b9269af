import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { Ipv4 } from "../../layers/ipv4.ts";
import type { AnyInput } from "../../layers/mod.ts";
import { hasCommand } from "../helpers/lab.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

/** Minimal pcap writer (microsecond, little-endian), for handing frames to tshark. */
function writePcap(frames: Uint8Array[], linkType = 1): string {
  const file = join(mkdtempSync(join(tmpdir(), "stackts-enc-")), "built.pcap");
  const parts: Uint8Array[] = [];
  const g = new DataView(new ArrayBuffer(24));
  g.setUint32(0, 0xa1b2c3d4, true);
  g.setUint16(4, 2, true);
  g.setUint16(6, 4, true);
  g.setUint32(16, 65535, true);
  g.setUint32(20, linkType, true);
  parts.push(new Uint8Array(g.buffer));
  frames.forEach((f, i) => {
    const h = new DataView(new ArrayBuffer(16));
    h.setUint32(0, 1_700_000_000 + i, true);
    h.setUint32(8, f.length, true);
    h.setUint32(12, f.length, true);
    parts.push(new Uint8Array(h.buffer), f);
  });
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

function tshark(file: string, fields: string[]): string[][] {
  const out = execFileSync(
    "tshark",
    ["-r", file, "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", ...fields.flatMap((f) => ["-e", f])],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t"));
}

const ETH = { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02" } as const;
const DATA = { layer: "payload", data: hex("68656c6c6f") } as const; // "hello"

describe("encodePacket", () => {
  it("gives the transport layer the nearest enclosing IP layer, defaults applied", () => {
    // IPv6 carrying IPv4 (src 10.0.0.1, dst unset → 0.0.0.0) carrying UDP 1 → 2, no payload.
    // Pseudo-header from the IPv4 layer: 0a00 + 0001 + 0000 + 0000 + 0011 + 0008 = 0x0a1a
    // UDP header: 0001 + 0002 + 0008 + [0000] = 0x000b; total 0x0a25 → checksum ~ = 0xf5da
    const b = encodePacket([{ layer: "ipv6", src: "fd77::1", dst: "fd77::2" }, { layer: "ipv4", src: "10.0.0.1" }, { layer: "udp", srcPort: 1, dstPort: 2 }]);
    expect(b[6]).toBe(4); // IPv6 next header: IPv4
    expect(b[40 + 9]).toBe(17); // IPv4 protocol: UDP
    expect(b.subarray(60)).toEqual(hex("0001 0002 0008 f5da"));
  });

  it("writes innermost first: outer lengths count everything inside", () => {
    const b = encodePacket([ETH, { layer: "vlan", id: 9 }, { layer: "ipv4" }, { layer: "udp", srcPort: 1, dstPort: 2 }, DATA]);
    // 14 + 4 + 20 + 8 + 5 = 51 bytes; IPv4 total length 33 = 0x21; UDP length 13 = 0x0d
    expect(b.length).toBe(51);
    expect(b.subarray(18 + 2, 18 + 4)).toEqual(hex("0021"));
    expect(b.subarray(38 + 4, 38 + 6)).toEqual(hex("000d"));
  });

  it("throws TypeError for a layer without a codec (programmer error)", () => {
    expect(() => encodePacket([{ layer: "nope" } as unknown as AnyInput])).toThrow(new TypeError("Cannot encode nope: no codec for this layer"));
    expect(() => encodePacket([{ layer: "ipv4", src: "10.0.0" }])).toThrow(new RangeError('Invalid IPv4 address: "10.0.0"'));
  });

  it("build → decode round-trips random IPv4 headers", () => {
    fc.assert(
      fc.property(
        fc.record({
          dscp: fc.integer({ min: 0, max: 63 }),
          ecn: fc.integer({ min: 0, max: 3 }),
          id: fc.integer({ min: 0, max: 0xffff }),
          dontFragment: fc.boolean(),
          ttl: fc.integer({ min: 0, max: 255 }),
          protocol: fc.constantFrom(59, 253, 254),
          src: fc.ipV4(),
          dst: fc.ipV4(),
        }),
        fc.uint8Array({ maxLength: 40 }),
        (v, data) => {
          const b = encodePacket([{ layer: "ipv4", ...v }, { layer: "payload", data }]);
          const { layers, issues } = decodePacket(b, 228, { length: b.length });
          expect(issues).toEqual([]);
          expect(layers[0]).toMatchObject({ ...v, totalLength: 20 + data.length, checksumValid: true, headerLength: 20 });
          if (data.length > 0) expect(layers[1]).toEqual({ layer: "payload", data });
        },
      ),
    );
  });
});

const skip = hasCommand("tshark") ? null : "needs tshark";
describe.skipIf(skip !== null)(`built packets as tshark reads them${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("fills ethertypes, protocols, lengths and every checksum correctly", () => {
    const frames = [
      encodePacket([ETH, { layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2" }, { layer: "udp", srcPort: 40000, dstPort: 9999 }, DATA]),
      encodePacket([ETH, { layer: "ipv6", src: "fd77::1", dst: "fd77::2" }, { layer: "udp", srcPort: 40000, dstPort: 9999 }, DATA]),
      encodePacket([
        ETH,
        { layer: "ipv6", src: "fd77::1", dst: "fd77::2", extensions: [{ type: "hopByHop", options: [{ type: 5, data: hex("0000") }] }, { type: "destination" }] },
        { layer: "udp", srcPort: 1, dstPort: 2 },
        DATA,
      ]),
      encodePacket([ETH, { layer: "vlan", id: 42, pcp: 5 }, { layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2", options: [{ type: 148, value: 0 }] }, { layer: "tcp", srcPort: 1234, dstPort: 80 }, DATA]),
      encodePacket([ETH, { layer: "ipv6", src: "fd77::1", dst: "fd77::2" }, { layer: "ipv4", src: "192.0.2.1", dst: "192.0.2.2" }, { layer: "udp", srcPort: 7, dstPort: 7 }, DATA]),
      encodePacket([ETH, { layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2", dontFragment: true }, { layer: "icmp", type: 8, identifier: 1, sequence: 1 }, DATA]),
      // Mobile IPv6 type 2 routing header: the UDP pseudo-header uses the final destination (RFC 8200 §8.1)
      encodePacket([ETH, { layer: "ipv6", src: "fd77::1", dst: "fd77::2", extensions: [{ type: "routing", routingType: 2, addresses: ["2001:db8::77"] }] }, { layer: "udp", srcPort: 1, dstPort: 2 }, DATA]),
    ];
    const rows = tshark(writePcap(frames), [
      "eth.type", "ip.proto", "ipv6.nxt", "ip.len", "ipv6.plen", "ip.ttl", "ipv6.hlim", "ip.checksum.status", "udp.length", "udp.checksum.status", "tcp.checksum.status", "icmp.checksum_bad", "frame.protocols", "vlan.id", "ip.opt.type",
    ]);
    expect(rows.length).toBe(7);
    const [r0, r1, r2, r3, r4, r5, r6] = rows as [string[], string[], string[], string[], string[], string[], string[]];
    // 0: IPv4/UDP, 20 + 8 + 5 = 33; UDP 13; checksums good (status 1)
    expect([r0[0], r0[1], r0[3], r0[5], r0[7], r0[8], r0[9]]).toEqual(["0x0800", "17", "33", "64", "1", "13", "1"]);
    // 1: IPv6/UDP, payload length 13, hop limit 64
    expect([r1[0], r1[2], r1[4], r1[6], r1[9]]).toEqual(["0x86dd", "17", "13", "64", "1"]);
    // 2: IPv6 + HBH + dest options (8 each) + UDP 13 = 29; tshark's ipv6.nxt is the fixed header's: 0
    expect([r2[2], r2[4], r2[9]]).toEqual(["0", "29", "1"]);
    expect(r2[12]).toBe("eth:ethertype:ipv6:ipv6.hopopts:ipv6.dstopts:udp:data");
    // 3: VLAN 42 → IPv4 with router alert (IHL 6) → TCP; checksums good
    expect([r3[0], r3[1], r3[7], r3[10], r3[13], r3[14]]).toEqual(["0x8100", "6", "1", "1", "42", "148"]);
    // 4: IPv6 (next header 4) carrying IPv4 carrying UDP: UDP checksum over the inner IPv4 pseudo-header
    expect([r4[2], r4[1], r4[7], r4[9]]).toEqual(["4", "17", "1", "1"]);
    // 5: ICMP echo: checksum not flagged bad
    expect([r5[1], r5[11]]).toEqual(["1", ""]);
    // 6: tshark verifies the UDP checksum against the final destination, and so does our decoder
    expect([r6[2], r6[9]]).toEqual(["43", "1"]);
    expect(decodePacket(frames[6]!, 1).layers[2]).toMatchObject({ layer: "udp", checksumValid: true });
  });

  it("explicit wrong values are written as given", () => {
    const f = encodePacket([ETH, { layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2", checksum: 0x1234, ttl: 1 }, { layer: "udp", srcPort: 1, dstPort: 2, checksum: 0x1234 }, DATA]);
    const [row] = tshark(writePcap([f]), ["ip.checksum", "ip.checksum.status", "udp.checksum", "udp.checksum.status", "ip.ttl"]);
    expect(row).toEqual(["0x1234", "0", "0x1234", "0", "1"]);
    // our own decoder agrees that the header checksum is wrong
    expect((decodePacket(f, 1).layers[1] as Ipv4).checksumValid).toBe(false);
  });
});
