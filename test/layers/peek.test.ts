import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { LINKTYPE } from "../../layers/link_type.ts";
import { PortPeek, peekPorts } from "../../layers/peek.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const ETH = "027700000002 027700000001";
// IPv4, IHL 5, protocol 17 (checksum field not checked by peek): 10.0.0.1 → 10.0.0.2
const IP4_UDP = "4500 0020 0000 0000 4011 0000 0a000001 0a000002";
const UDP = "1234 0035 000c 0000 01020304"; // ports 0x1234 = 4660 → 53
const SRC6 = "fd770000000000000000000000000001";
const DST6 = "fd770000000000000000000000000002";

function peek(frame: Uint8Array, lt: number): { found: boolean; out: PortPeek } {
  const out = new PortPeek();
  return { found: peekPorts(frame, lt, out), out };
}

describe("peekPorts", () => {
  it("Ethernet / IPv4 / UDP", () => {
    const { found, out } = peek(hex(ETH + "0800" + IP4_UDP + UDP), LINKTYPE.ETHERNET);
    expect(found).toBe(true);
    expect({ ...out }).toEqual({ ipVersion: 4, protocol: 17, srcPort: 4660, dstPort: 53, ipOffset: 14, transportOffset: 34 });
  });

  it("VLAN-tagged, IPv4 with options", () => {
    // two tags (4 bytes each), IHL 6 (one NOP + EOL padding): transport at 14 + 8 + 24 = 46
    const f = hex(ETH + "88a8 0064 8100 0007 0800" + "4600 0024 0000 0000 4006 0000 0a000001 0a000002 01000000" + "0050 c350 00000000");
    const { found, out } = peek(f, LINKTYPE.ETHERNET);
    expect(found).toBe(true);
    expect({ ...out }).toEqual({ ipVersion: 4, protocol: 6, srcPort: 80, dstPort: 50000, ipOffset: 22, transportOffset: 46 });
  });

  it("IPv6 through hop-by-hop and a first fragment to TCP", () => {
    // HBH (8 bytes, next 44), fragment (offset 0, M=1, next 6), TCP ports 443 → 1025
    const f = hex(ETH + "86dd" + "60000000 0018 0040" + SRC6 + DST6 + "2c00 01040000 0000" + "0600 0001 00000001" + "01bb 0401 00000000");
    const { found, out } = peek(f, LINKTYPE.ETHERNET);
    expect(found).toBe(true);
    expect({ ...out }).toEqual({ ipVersion: 6, protocol: 6, srcPort: 443, dstPort: 1025, ipOffset: 14, transportOffset: 14 + 40 + 16 });
  });

  it("later fragments, ICMP and cut frames have no ports", () => {
    // IPv4 offset 185 (×8 = 1480)
    const frag4 = peek(hex(ETH + "0800" + "4500 0020 0000 00b9 4011 0000 0a000001 0a000002" + UDP), 1);
    expect(frag4.found).toBe(false);
    expect([frag4.out.ipVersion, frag4.out.protocol, frag4.out.transportOffset]).toEqual([4, 17, -1]);
    // IPv6 fragment header with offset 8 (0x0008)
    const frag6 = peek(hex(ETH + "86dd" + "60000000 0014 2c40" + SRC6 + DST6 + "1100 0008 00000001" + UDP), 1);
    expect([frag6.found, frag6.out.protocol]).toEqual([false, 17]);
    const icmp = peek(hex(ETH + "0800" + "4500 001c 0000 0000 4001 0000 0a000001 0a000002 0800f7ff00000000"), 1);
    expect([icmp.found, icmp.out.protocol]).toEqual([false, 1]);
    const cut = peek(hex(ETH + "0800" + IP4_UDP + "1234"), 1);
    expect([cut.found, cut.out.ipVersion, cut.out.srcPort]).toEqual([false, 4, 0]);
    expect(peek(hex(ETH + "0806"), 1).found).toBe(false);
    expect(peek(new Uint8Array(0), 1).found).toBe(false);
  });

  it("every link type: SLL, SLL2, NULL, LOOP, raw", () => {
    const cases: [number, string, number][] = [
      [LINKTYPE.LINUX_SLL, "0000 0001 0006 027700000001 0000 0800", 16],
      [LINKTYPE.LINUX_SLL2, "0800 0000 00000002 0001 00 06 027700000001 0000", 20],
      [LINKTYPE.NULL, "02000000", 4],
      [LINKTYPE.LOOP, "00000002", 4],
      [LINKTYPE.RAW, "", 0],
      [LINKTYPE.IPV4, "", 0],
      [12, "", 0],
    ];
    for (const [lt, head, ipOffset] of cases) {
      const { found, out } = peek(hex(head + IP4_UDP + UDP), lt);
      expect([lt, found, out.ipOffset, out.srcPort, out.dstPort]).toEqual([lt, true, ipOffset, 4660, 53]);
    }
    const v6 = peek(hex("1e000000" + "60000000 000c 1140" + SRC6 + DST6 + UDP), LINKTYPE.NULL);
    expect([v6.found, v6.out.ipVersion, v6.out.transportOffset]).toEqual([true, 6, 44]);
    expect(peek(hex(IP4_UDP + UDP), 147).found).toBe(false);
  });

  it("agrees with the full decoder on built and mutated frames, never throws", () => {
    const out = new PortPeek();
    fc.assert(
      fc.property(
        fc.constantFrom<"udp" | "tcp">("udp", "tcp"),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        (transport, v6, vlan, srcPort, dstPort, flips) => {
          const f = encodePacket([
            { layer: "ethernet" },
            ...(vlan ? [{ layer: "vlan" as const, id: 3 }] : []),
            v6 ? { layer: "ipv6" as const } : { layer: "ipv4" as const },
            { layer: transport, srcPort, dstPort },
          ]);
          for (const [at, v] of flips) f[at % f.length] = v;
          const found = peekPorts(f, 1, out);
          const t = decodePacket(f, 1).layers.find((l) => l.layer === "udp" || l.layer === "tcp") as { srcPort: number; dstPort: number } | undefined;
          if (flips.length === 0) expect([found, out.srcPort, out.dstPort]).toEqual([true, srcPort, dstPort]);
          if (found && t) expect([out.srcPort, out.dstPort]).toEqual([t.srcPort, t.dstPort]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
