/**
 * The views' static readers (`EthernetView.typeAt(bytes, at)`, ...) and
 * `TcpView.readInto` spell their offsets apart from the getters (a getter
 * small enough for V8 to inline has no room for a call), so each is held to
 * its getter here: over pseudo-random bytes at several offsets, every static
 * reader returns what the getter of a view at the same place returns. The
 * getters themselves are held to hand-worked literals in each view's tests.
 */
import { describe, expect, it } from "vitest";
import { ArpView, type Arp } from "../../layers/arp.ts";
import { formatMac, formatIpv4 } from "../../layers/addr.ts";
import { EthernetView } from "../../layers/ethernet.ts";
import { Ipv4View } from "../../layers/ipv4.ts";
import { Ipv6View } from "../../layers/ipv6.ts";
import { Ipv6ExtensionView, Ipv6FragmentView } from "../../layers/ipv6_extensions.ts";
import { SllView } from "../../layers/sll.ts";
import { Sll2View } from "../../layers/sll2.ts";
import { TcpView, type TcpFields } from "../../layers/tcp.ts";
import { UdpView } from "../../layers/udp.ts";
import { VlanView } from "../../layers/vlan.ts";

/** Deterministic bytes (xorshift32), so a failure replays. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

type ViewClass = { new (bytes: Uint8Array, at: number, end: number): object; name: string };

const CLASSES: [ViewClass, string[]][] = [
  [EthernetView, ["type"]],
  [VlanView, ["type"]],
  [SllView, ["protocol"]],
  [Sll2View, ["protocol"]],
  [Ipv4View, ["version", "headerLength", "protocol", "fragmentOffset"]],
  [Ipv6View, ["version", "nextHeader"]],
  [Ipv6ExtensionView, ["nextHeader", "headerLength"]],
  [Ipv6FragmentView, ["nextHeader", "fragmentOffset"]],
  [UdpView, ["srcPort", "dstPort"]],
];

describe("views' static readers", () => {
  for (const [View, fields] of CLASSES) {
    it(`${View.name}: every ${fields.map((f) => f + "At").join(", ")} equals its getter`, () => {
      const statics = View as unknown as Record<string, (b: Uint8Array, at: number) => number>;
      for (let seed = 1; seed <= 50; seed++) {
        const b = bytes(80, seed * 7919);
        for (const at of [0, 1, 3, 17]) {
          const view = new View(b, at, b.length) as Record<string, number>;
          for (const f of fields) {
            expect(typeof statics[f + "At"], `${View.name}.${f}At`).toBe("function");
            expect(statics[f + "At"]!(b, at), `${View.name}.${f}At seed ${seed} at ${at}`).toBe(view[f]);
          }
        }
      }
    });
  }

  it("TcpView.readInto fills each field as the getter reads it", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const b = bytes(40, seed * 104729);
      for (const at of [0, 5, 20]) {
        const out = {} as TcpFields;
        TcpView.readInto(b, at, out);
        const view = new TcpView(b, at, b.length);
        expect(out).toEqual({
          srcPort: view.srcPort, dstPort: view.dstPort, seq: view.seq, ack: view.ack, headerLength: view.headerLength,
          flags: view.flags, window: view.window, checksum: view.checksum, urgentPointer: view.urgentPointer,
        });
      }
    }
  });

  it("ArpView.readInto reads what the getters read, and refuses what check() refuses", () => {
    for (let seed = 1; seed <= 50; seed++) {
      for (const [at, end] of [[0, 60], [3, 40], [10, 30]] as const) {
        const b = bytes(60, seed * 15485863);
        b[at + 4] = 6; // an Ethernet/IPv4 message, for the text forms
        b[at + 5] = 4;
        const out = {} as Omit<Arp, "layer">;
        const view = new ArpView(b, at, end);
        const reason = ArpView.readInto(b, at, end, out);
        expect(reason).toBe(view.check());
        if (reason !== null) continue;
        expect(out).toEqual({
          hardwareType: view.hardwareType, protocolType: view.protocolType, hardwareLength: 6, protocolLength: 4, op: view.op,
          senderMac: formatMac(view.senderMac), senderIp: formatIpv4(view.senderIp), targetMac: formatMac(view.targetMac), targetIp: formatIpv4(view.targetIp),
        });
      }
    }
  });

  it("a hand-worked header: 0x0800 at Ethernet's offset 12, port 443 at TCP's 0, seq 0xfffffffe at 4", () => {
    const eth = new Uint8Array(14);
    eth[12] = 0x08;
    expect(EthernetView.typeAt(eth, 0)).toBe(0x0800);
    const tcp = Uint8Array.of(0x01, 0xbb, 0, 80, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1, 0x50, 0x12, 0, 0, 0, 0, 0, 0);
    const f = {} as TcpFields;
    TcpView.readInto(tcp, 0, f);
    expect([f.srcPort, f.dstPort, f.seq, f.flags]).toEqual([443, 80, 0xfffffffe, 0x012]);
  });
});
