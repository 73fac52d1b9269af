/**
 * The zero-copy read (`PacketDecoder.decodeReused`) against the copy read
 * (`decode`): for every frame, deep-equal values (same keys, no stale or
 * missing field), checked right after each call since the reused values change
 * on the next one. Frames are interleaved so a field left over from the
 * previous packet at the same position would show: IPv4 with options then
 * without, TCP with then without options, IPv4 then IPv6 at one position, VLAN
 * depth changing, 802.3 then Ethernet II, issues then none.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PacketDecoder, type DecodedPacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput } from "../../layers/mod.ts";
import { openCaptureFile } from "../../src/capture_file.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CORPUS = join(ROOT, "../shared/corpus/tcpdump");

interface TestFrame {
  name: string;
  data: Uint8Array;
  linkType: number;
  length: number;
}

/** The copy read of a frame, from a decoder of its own, and the reused read: deep-equal. */
function expectSame(reused: PacketDecoder, frame: TestFrame, fresh = new PacketDecoder()): DecodedPacket {
  const got = reused.decodeReused(frame.data, frame.linkType, frame.length);
  const want = fresh.decode(frame.data, frame.linkType, frame.length);
  expect(got, frame.name).toStrictEqual(want);
  return got;
}

const te = new TextEncoder();
const eth = { layer: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" } as const;
const v4 = { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", id: 7, dontFragment: true } as const;
const v6 = { layer: "ipv6", src: "fd00::1", dst: "fd00::2", flowLabel: 5 } as const;
const data = (n: number): AnyInput => ({ layer: "payload", data: Uint8Array.from({ length: n }, (_, i) => i) });

const BUILT: [string, AnyInput[]][] = [
  ["ipv4 options, tcp options", [eth, { ...v4, options: [{ type: 148, value: 0 }, { type: 7, pointer: 4, addresses: ["1.2.3.4"] }, { type: 1 }] }, { layer: "tcp", srcPort: 1, dstPort: 2, options: [{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }, { kind: "timestamps", tsval: 1, tsecr: 2 }, { kind: "nop" }, { kind: "windowScale", shift: 7 }] }, data(10)]],
  ["ipv4, tcp, no options", [eth, v4, { layer: "tcp", srcPort: 3, dstPort: 4, flags: 0x18 }, data(3)]],
  ["ipv4 timestamp option, tcp nop nop timestamps", [eth, { ...v4, options: [{ type: 68, flag: 1, addresses: ["9.9.9.9"], timestamps: [5] }] }, { layer: "tcp", options: [{ kind: "nop" }, { kind: "nop" }, { kind: "timestamps", tsval: 9, tsecr: 8 }] }]],
  ["tcp timestamps first, sack, eol", [eth, v4, { layer: "tcp", options: [{ kind: "timestamps", tsval: 3, tsecr: 4 }, { kind: "sack", blocks: [{ left: 1, right: 2 }] }, { kind: "eol" }] }]],
  ["tcp unknown option, windowScale at index 0", [eth, v4, { layer: "tcp", options: [{ kind: "windowScale", shift: 2 }, { kind: "unknown", code: 30, data: Uint8Array.of(1, 2) }] }]],
  ["tcp bad option length", [eth, v4, { layer: "tcp", options: [{ kind: "nop" }, { kind: "unknown", code: 2, data: Uint8Array.of(1) }] }]],
  ["tcp header length past the bytes", [eth, v4, { layer: "tcp", headerLength: 60, options: [{ kind: "mss", mss: 536 }] }]],
  ["tcp data offset below 5", [eth, v4, { layer: "tcp", headerLength: 8 }]],
  ["ipv6 tcp (ipv6 where ipv4 was)", [eth, v6, { layer: "tcp", srcPort: 5, dstPort: 6, options: [{ kind: "mss", mss: 1220 }] }, data(4)]],
  ["ipv6 extensions, udp", [eth, { ...v6, extensions: [{ type: "hopByHop", options: [{ type: 5, data: Uint8Array.of(0, 0) }] }, { type: "routing", addresses: ["fd00::9"] }, { type: "fragment", identification: 3 }] }, { layer: "udp", srcPort: 7, dstPort: 8 }, data(6)]],
  ["ipv6 later fragment", [eth, { ...v6, extensions: [{ type: "fragment", fragmentOffset: 8, identification: 4 }] }, data(16)]],
  ["ipv4 udp, bad checksum", [eth, v4, { layer: "udp", srcPort: 9, dstPort: 10, checksum: 1 }, data(5)]],
  ["ipv4 udp zero checksum", [eth, v4, { layer: "udp", srcPort: 9, dstPort: 10, checksum: 0 }, data(5)]],
  ["udp length lies", [eth, v4, { layer: "udp", length: 200 }, data(5)]],
  ["udp without payload", [eth, v4, { layer: "udp", srcPort: 11, dstPort: 12 }]],
  ["dns over udp", [eth, v4, { layer: "udp", srcPort: 1000, dstPort: 53 }, { layer: "dns", id: 1, questions: [{ name: "a.example", type: "A" }] }]],
  ["http over tcp", [eth, v4, { layer: "tcp", srcPort: 1000, dstPort: 80 }, { layer: "payload", data: te.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n") }]],
  ["icmp error quoting ipv4 udp", [eth, v4, { layer: "icmp", type: 3, code: 3 }, { layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.1" }, { layer: "udp", srcPort: 1, dstPort: 2 }, data(4)]],
  ["icmpv6 echo", [eth, v6, { layer: "icmpv6", type: 128, identifier: 1, sequence: 2 }, data(8)]],
  ["vlan depth 2", [eth, { layer: "vlan", id: 10, pcp: 3, dei: true }, { layer: "vlan", id: 20 }, v4, { layer: "udp" }, data(2)]],
  ["vlan depth 1, 88a8", [{ ...eth, type: 0x88a8 }, { layer: "vlan", id: 30, type: 0x86dd }, v6, { layer: "udp" }, data(2)]],
  ["arp (where ipv4 was)", [eth, { layer: "arp", op: 2, senderMac: "02:00:00:00:00:01", senderIp: "10.0.0.1", targetMac: "02:00:00:00:00:02", targetIp: "10.0.0.2" }]],
  ["arp ipv6-sized addresses", [eth, { layer: "arp", protocolType: 0x86dd, senderIp: "fd00::1", targetIp: "fd00::2" }]],
  ["802.3 + llc (length where type was)", [eth, { layer: "llc", dsap: 0x42, ssap: 0x42, control: 3 }, data(20)]],
  ["802.3 + snap + ipv4", [eth, { layer: "llc", dsap: 0xaa, ssap: 0xaa, control: 3, oui: 0, type: 0x0800 }, v4, { layer: "udp" }, data(2)]],
  ["ipv4 in ipv4", [eth, v4, { ...v4, src: "192.168.0.1" }, { layer: "tcp" }, data(1)]],
  ["ipv4 first fragment", [eth, { ...v4, moreFragments: true, dontFragment: false }, { layer: "udp", length: 100 }, data(8)]],
  ["ipv4 later fragment", [eth, { ...v4, fragmentOffset: 64, dontFragment: false }, data(8)]],
  ["ipv4 total length below header", [eth, { ...v4, totalLength: 10 }, data(8)]],
  ["ethernet only", [eth]],
  ["ethernet, unknown type", [{ ...eth, type: 0x88b5 }, data(9)]],
];

function builtFrames(): TestFrame[] {
  const frames: TestFrame[] = BUILT.map(([name, layers]) => {
    const bytes = encodePacket(layers);
    return { name, data: bytes, linkType: 1, length: bytes.length };
  });
  // The same frames cut short by the capture, and cut with the original length equal (lying lengths).
  for (const f of frames.slice()) {
    for (const cut of [13, 20, 30, 40, 54, 60]) {
      if (cut < f.data.length) {
        frames.push({ name: `${f.name} cut at ${cut}`, data: f.data.subarray(0, cut), linkType: 1, length: f.length });
        frames.push({ name: `${f.name} cut at ${cut}, not by the capture`, data: f.data.subarray(0, cut), linkType: 1, length: cut });
      }
    }
  }
  // Link padding after a short frame.
  for (const f of frames.slice(0, BUILT.length)) {
    const padded = new Uint8Array(f.data.length + 12);
    padded.set(f.data);
    padded.fill(0xa5, f.data.length);
    frames.push({ name: `${f.name} padded`, data: padded, linkType: 1, length: padded.length });
  }
  return frames;
}

describe("decodeReused", () => {
  it("reuses its arrays and fixed-shape values; decode() returns new ones", () => {
    const d = new PacketDecoder();
    const [a, b] = builtFrames();
    const first = d.decodeReused(a!.data, 1, a!.length);
    const firstLayers = [...first.layers];
    const second = d.decodeReused(b!.data, 1, b!.length);
    expect(second).toBe(first);
    expect(second.layers).toBe(first.layers);
    for (let i = 0; i < 3; i++) expect(second.layers[i]).toBe(firstLayers[i]); // ethernet, ipv4, tcp
    const copy = d.decode(b!.data, 1, b!.length);
    expect(copy.layers).not.toBe(second.layers);
    for (let i = 0; i < copy.layers.length; i++) expect(copy.layers[i]).not.toBe(second.layers[i]);
    expect(copy).toStrictEqual(second);
  });

  it("its payload value reads like decode()'s plain one", () => {
    const d = new PacketDecoder();
    const frame = builtFrames().find((f) => new PacketDecoder().decode(f.data, 1, f.length).layers.at(-1)?.layer === "payload")!;
    const plain = new PacketDecoder().decode(frame.data, 1, frame.length).layers.at(-1) as { layer: string; data: Uint8Array };
    const reused = d.decodeReused(frame.data, 1, frame.length).layers.at(-1) as { layer: string; data: Uint8Array };
    expect(Object.keys(reused)).toEqual(["layer", "data"]);
    expect(JSON.stringify(reused)).toBe(JSON.stringify(plain));
    expect({ ...reused }).toStrictEqual(plain);
    // A view of the frame, not a copy.
    expect(reused.data.buffer).toBe(frame.data.buffer);
    expect(reused.data.byteOffset).toBe(plain.data.byteOffset);
    expect(reused.data).toBe(reused.data);
    const mine = new Uint8Array([1, 2, 3]);
    reused.data = mine;
    expect(reused.data).toBe(mine);
  });

  it("decode() between two zero-copy reads leaves the last one alone", () => {
    const d = new PacketDecoder();
    const frames = builtFrames();
    for (let i = 0; i + 1 < frames.length; i++) {
      const got = d.decodeReused(frames[i]!.data, 1, frames[i]!.length);
      d.decode(frames[i + 1]!.data, 1, frames[i + 1]!.length);
      expect(got, frames[i]!.name).toStrictEqual(new PacketDecoder().decode(frames[i]!.data, 1, frames[i]!.length));
    }
  });

  it("equals decode() for every built frame after every other (no stale field)", () => {
    const frames = builtFrames();
    const fresh = new PacketDecoder();
    for (const before of frames) {
      const d = new PacketDecoder();
      for (const after of frames) {
        expectSame(d, before, fresh);
        expectSame(d, after, fresh);
      }
    }
  });

  it("equals decode() over a shuffled stream, checksums off and a layer limit", () => {
    const frames = builtFrames();
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (const options of [{}, { verifyChecksums: false }, { maxLayers: 2 }]) {
      const d = new PacketDecoder(options);
      const fresh = new PacketDecoder(options);
      for (let i = 0; i < 5000; i++) expectSame(d, frames[next() % frames.length]!, fresh);
    }
  });

  it.skipIf(!existsSync(CORPUS))(`equals decode() for every frame of every file in ${CORPUS}`, () => {
    const d = new PacketDecoder();
    const fresh = new PacketDecoder();
    let files = 0;
    let count = 0;
    for (const name of readdirSync(CORPUS).sort()) {
      if (!/\.(pcap|pcapng|cap)(\.gz)?$/i.test(name)) continue;
      const frames: TestFrame[] = [];
      try {
        const reader = openCaptureFile(join(CORPUS, name));
        try {
          for (const f of reader.frames()) frames.push({ name: `${name} #${frames.length + 1}`, data: f.data, linkType: f.linkType, length: f.length });
        } finally {
          reader.close();
        }
      } catch {
        // A damaged file: the frames before the damage are tested.
      }
      files++;
      for (const f of frames) {
        expectSame(d, f, fresh);
        count++;
      }
    }
    expect(files).toBeGreaterThan(100);
    expect(count).toBeGreaterThan(1000);
  });
});

if (!existsSync(CORPUS)) {
  describe("decodeReused over the tcpdump corpus", () => {
    it.skip(`skipped: no corpus at ${CORPUS} (it sits beside the repository in the team's workspace)`, () => {});
  });
}
