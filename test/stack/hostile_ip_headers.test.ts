/**
 * Hostile input in IP headers (issue #12): IPv4 options with lying lengths,
 * and IPv6 extension headers (RFC 8200 §4) as a host must take them: chains
 * of any depth, hop-by-hop options only first, unrecognized options acting by
 * their type's high bits (§4.2), routing headers (§4.4, RFC 5095), headers
 * after a fragment header walked in the reassembled packet (§4.5), and the
 * Parameter Problem (RFC 4443 §3.4) pointing at the field at fault.
 */
import { describe, expect, it } from "vitest";
import { formatIp } from "../../layers/addr.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { Ipv6ExtensionInput } from "../../layers/ipv6_extensions.ts";
import { fixChecksums, inspectFrame, IP, Lab, MAC, patternByte } from "./hostile_lab.ts";

const eth = { layer: "ethernet" as const, src: MAC.b, dst: MAC.a };

/** The UDP header and data of a datagram from B to A (checksum right for that pair). */
function udpBytes(family: 4 | 6, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const ip = family === 4 ? { layer: "ipv4" as const, src: IP.b4, dst: IP.a4 } : { layer: "ipv6" as const, src: IP.b6, dst: IP.a6 };
  return encodePacket([eth, ip, { layer: "udp", srcPort, dstPort }, { layer: "payload", data: payload }]).slice(family === 4 ? 34 : 54);
}

/** An IPv6 fragment from B (a Fragment header, RFC 8200 §4.5), after the extension headers `before`. */
function frag6(payload: Uint8Array, offset: number, more: boolean, id: number, nextHeader = 17, before: Ipv6ExtensionInput[] = []): Uint8Array {
  return encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: [...before, { type: "fragment", nextHeader, fragmentOffset: offset, moreFragments: more, identification: id }] }, { layer: "payload", data: payload }]);
}

const data = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => patternByte(seed, i));

/** The datagrams queued on a UDP endpoint, as data. */
const queued = (e: { queue: { data: Uint8Array }[] }): Uint8Array[] => e.queue.map((d) => d.data);

/** The ICMPv6 Parameter Problems among A's frames: [code, pointer], read from the bytes. */
function problems(frames: Uint8Array[]): [number, number][] {
  return frames
    .filter((f) => inspectFrame(f).protocol === 58 && f[inspectFrame(f).l4Start] === 4)
    .map((f) => {
      const at = inspectFrame(f).l4Start;
      return [f[at + 1]!, ((f[at + 4]! << 24) | (f[at + 5]! << 16) | (f[at + 6]! << 8) | f[at + 7]!) >>> 0];
    });
}

describe("IPv4 options", () => {
  it("options well formed or with lying lengths are passed over by the header length: no throw, and well-formed ones do not stop delivery (RFC 1122 §3.2.1.8)", () => {
    const lab = new Lab({ seed: 65 });
    const e4 = lab.a.udpBind(4, 5353, lab.now);
    const udp = udpBytes(4, 7, 5353, data(20, 15));
    const withOptions = (options: number[]): Uint8Array => {
      const padded = [...options, ...new Array((4 - (options.length % 4)) % 4).fill(0)];
      const plain = encodePacket([eth, { layer: "ipv4", src: IP.b4, dst: IP.a4, protocol: 17 }, { layer: "payload", data: udp }]);
      const f = Uint8Array.from([...plain.subarray(0, 34), ...padded, ...plain.subarray(34)]);
      f[14] = 0x40 | ((20 + padded.length) / 4);
      const total = 20 + padded.length + udp.length;
      f[16] = total >> 8;
      f[17] = total & 0xff;
      fixChecksums(f);
      return f;
    };
    const good = [
      [1, 1, 1, 0], // NOPs and EOL
      [7, 7, 4, 0, 0, 0, 0], // record route with room for one address
      [68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], // timestamp
      [148, 4, 0, 0], // router alert
      [0x99, 6, 1, 2, 3, 4], // unknown, skipped by its length
    ];
    const lying = [
      [130, 0, 1, 2], // length 0
      [131, 1, 0, 0], // length 1
      [137, 255, 4, 0, 1, 2, 3, 4], // length past the header
      [68, 2], // timestamp too short for its fields
      new Array(40).fill(1), // 40 NOPs: the longest header
    ];
    for (const o of good) lab.inject(withOptions(o), `options ${o.join(",")}`);
    expect(queued(e4).length).toBe(good.length);
    for (const o of lying) lab.inject(withOptions(o), `options ${o.join(",")}`);
    expect(queued(e4).length).toBeLessThanOrEqual(good.length + lying.length);
    lab.inject(encodePacket([eth, { layer: "ipv4", src: IP.b4, dst: IP.a4, protocol: 17 }, { layer: "payload", data: udp }]));
    expect(queued(e4).at(-1)).toEqual(data(20, 15));
  });
});

describe("IPv6 extension headers", () => {
  // RFC 8200 §4.1: any number of extension headers in any order, hop-by-hop options only right after
  // the IPv6 header (§4.3); §4: "the same action [Parameter Problem, code 1] should be taken if a node
  // encounters a Next Header value of zero in any header other than an IPv6 header". The walk is
  // linear in the packet's length, so there is no depth limit (the stack had one, at 8).
  it("chains of hop-by-hop and destination options, twenty deep, empty, or running past the packet: no throw, hop-by-hop only first, and a good datagram still arrives", () => {
    const lab = new Lab({ seed: 61 });
    lab.tapA = [];
    const e6 = lab.a.udpBind(6, 5353, lab.now);
    const udp = udpBytes(6, 7, 5353, data(20, 11));
    const opts = (n: number): Ipv6ExtensionInput[] =>
      Array.from({ length: n }, (_, k) => ({ type: k % 2 === 0 ? "hopByHop" : "destination", options: [{ type: 1, data: new Uint8Array(4) }], ...(k === n - 1 ? { nextHeader: 17 } : {}) }));
    for (const n of [1, 2, 7, 8, 9, 20]) lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: opts(n) }, { layer: "payload", data: udp }]));
    // an extension header claiming more than the packet holds; one with next header 59 (nothing follows)
    const lying = encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, nextHeader: 60 }, { layer: "payload", data: Uint8Array.of(17, 200, 1, 4, 0, 0, 0, 0, ...udp) }]);
    lab.inject(lying);
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: [{ type: "destination", nextHeader: 59, options: [] }] }, { layer: "payload", data: udp }]));
    // Chains of 1 and 2 are delivered; from 7 on the third header is a hop-by-hop one, named by the
    // destination options header at 48 (each header here is 8 bytes: an 8-byte option area).
    expect(queued(e6)).toEqual([data(20, 11), data(20, 11)]);
    expect(problems(lab.tapA)).toEqual([[1, 48], [1, 48], [1, 48], [1, 48]]);
    const deep: Ipv6ExtensionInput[] = Array.from({ length: 20 }, (_, k) => ({ type: "destination", options: [{ type: 1, data: new Uint8Array(4) }], ...(k === 19 ? { nextHeader: 17 } : {}) }));
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: deep }, { layer: "payload", data: udp }]));
    expect(queued(e6).length).toBe(3);
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6 }, { layer: "payload", data: udp }]));
    expect(queued(e6).at(-1)).toEqual(data(20, 11));
  });

  // RFC 8200 §4.4: "If Segments Left is zero, the node must ignore the Routing header and proceed to
  // process the next header in the packet." Found here: Stack.#ipv6 did not know the Routing header
  // (43) at all: the datagram went to #upper as protocol 43 and drew a Parameter Problem
  // (unrecognized next header), its UDP never delivered. Now the walk (ipv6_chain.ts) passes over it.
  it("a Routing header with Segments Left 0 is skipped and the datagram delivered", () => {
    const lab = new Lab({ seed: 62 });
    const e6 = lab.a.udpBind(6, 5353, lab.now);
    const udp = udpBytes(6, 7, 5353, data(20, 12));
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: [{ type: "routing", nextHeader: 17, routingType: 4, segmentsLeft: 0, data: new Uint8Array(4) }] }, { layer: "payload", data: udp }]));
    expect(queued(e6)).toEqual([data(20, 12)]);
  });

  // RFC 8200 §4.2: an unrecognized option's two high bits say what to do: 01 "discard the packet",
  // 10 "discard the packet and ... send an ICMP Parameter Problem, Code 2". Found here: Stack.#ipv6
  // skipped options headers by their length without looking at the options, so both datagrams were
  // delivered. Now every option is read: Pad1 and PadN are known, the others act by their type.
  it("an unrecognized destination option of type 01xxxxxx or 10xxxxxx discards the datagram (the second with a Parameter Problem, code 2)", () => {
    const lab = new Lab({ seed: 63 });
    lab.tapA = [];
    const e6 = lab.a.udpBind(6, 5353, lab.now);
    const udp = udpBytes(6, 7, 5353, data(20, 13));
    for (const type of [0x41, 0x81]) lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: [{ type: "destination", nextHeader: 17, options: [{ type, data: new Uint8Array(4) }] }] }, { layer: "payload", data: udp }]));
    expect(queued(e6)).toEqual([]);
    // The pointer: the option's type byte, after the IPv6 header (40) and the options header's two bytes.
    expect(problems(lab.tapA)).toEqual([[2, 42]]);
  });

  // RFC 8200 §4 and RFC 4443 §3.4: the Parameter Problem for an unrecognized next header carries "the
  // offset of the unrecognized value within the original packet". Found here: ControlLayer.unreachable
  // always wrote 6 (the IPv6 header's own Next Header field), also when the unknown value sat in an
  // extension header further on (here at 40: the destination options header's first byte). Now the
  // walk keeps where the field that named each header sits.
  it("the Parameter Problem for an unknown next header points at the field that holds it", () => {
    const lab = new Lab({ seed: 64 });
    lab.tapA = [];
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: [{ type: "destination", nextHeader: 253, options: [] }] }, { layer: "payload", data: new Uint8Array(16) }]));
    expect(problems(lab.tapA)).toEqual([[1, 40]]);
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, nextHeader: 253 }, { layer: "payload", data: new Uint8Array(16) }]));
    expect(problems(lab.tapA).at(-1)).toEqual([1, 6]);
  });

  // RFC 8200 §4.4: with Segments Left non-zero and a routing type the node does not recognize, "the
  // node must discard the packet and send an ICMP Parameter Problem, Code 0, message to the packet's
  // Source Address, pointing to the unrecognized Routing Type". RFC 5095 §3: a type 0 header is
  // treated the same way. This host forwards nothing, so every type with segments left is that case.
  it("a Routing header with segments left (type 0, or one unknown) discards the datagram with a Parameter Problem at the Routing Type; about a multicast destination, silently", () => {
    const lab = new Lab({ seed: 68 });
    lab.tapA = [];
    const e6 = lab.a.udpBind(6, 5353, lab.now);
    const udp = udpBytes(6, 7, 5353, data(20, 17));
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: [{ type: "routing", nextHeader: 17, addresses: ["fd09::5"] }] }, { layer: "payload", data: udp }]));
    lab.inject(encodePacket([eth, { layer: "ipv6", src: IP.b6, dst: IP.a6, extensions: [{ type: "destination", options: [] }, { type: "routing", nextHeader: 17, routingType: 253, segmentsLeft: 1, data: new Uint8Array(4) }] }, { layer: "payload", data: udp }]));
    lab.inject(encodePacket([{ ...eth, dst: "33:33:00:00:00:01" }, { layer: "ipv6", src: IP.b6, dst: "ff02::1", extensions: [{ type: "routing", nextHeader: 17, routingType: 253, segmentsLeft: 1, data: new Uint8Array(4) }] }, { layer: "payload", data: udp }]));
    expect(queued(e6)).toEqual([]);
    // 40 + 2; then after an 8-byte destination options header, 48 + 2.
    expect(problems(lab.tapA)).toEqual([[0, 42], [0, 50]]);
    expect(lab.tapA.map((f) => inspectFrame(f).dst)).toEqual([IP.b6, IP.b6]);
  });

  // RFC 8200 §4.2: 00 skip the option; 11 "discard the packet and, only if the packet's Destination
  // Address was not a multicast address, send an ICMP Parameter Problem, Code 2"; 10 sends it even
  // about a multicast destination (RFC 4443 §2.4 (e.3)), from our own unicast address.
  it("unrecognized options: 00xxxxxx skipped, 11xxxxxx answered only about a unicast destination, 10xxxxxx about a multicast one too", () => {
    const lab = new Lab({ seed: 69 });
    lab.tapA = [];
    const e6 = lab.a.udpBind(6, 5353, lab.now);
    const udp = (dst: string): Uint8Array => encodePacket([eth, { layer: "ipv6", src: IP.b6, dst }, { layer: "udp", srcPort: 7, dstPort: 5353 }, { layer: "payload", data: data(20, 18) }]).slice(54);
    const send = (dst: string, type: number, hopByHop = false): void => {
      const mac = dst === IP.a6 ? MAC.a : "33:33:00:00:00:01";
      // Pad1, then the option: its type byte sits at 40 + 2 + 1.
      const options = [{ type: 0 }, { type, data: new Uint8Array(3) }];
      lab.inject(encodePacket([{ ...eth, dst: mac }, { layer: "ipv6", src: IP.b6, dst, extensions: [{ type: hopByHop ? "hopByHop" : "destination", nextHeader: 17, options }] }, { layer: "payload", data: udp(dst) }]));
    };
    send(IP.a6, 0x3e);
    send("ff02::1", 0x3e, true);
    expect(queued(e6)).toEqual([data(20, 18), data(20, 18)]);
    send(IP.a6, 0xc3);
    send("ff02::1", 0xc3);
    send("ff02::1", 0x83, true);
    expect(queued(e6).length).toBe(2);
    expect(problems(lab.tapA)).toEqual([[2, 43], [2, 43]]);
    // Both to B from A's own address: the second, about ff02::1, not from the group (RFC 4443 §2.2).
    expect(lab.tapA.map((f) => [inspectFrame(f).dst, formatIp(f.subarray(22, 38))])).toEqual([[IP.b6, IP.a6], [IP.b6, IP.a6]]);
  });

  // RFC 8200 §4.5: the reassembled packet is the first fragment's headers without the Fragment header
  // (the Next Header that named it now naming what it carried), then the fragmentable part, which may
  // begin with more extension headers. Errors about it quote it and point into it.
  it("extension headers after the fragment header are walked in the reassembled packet: a destination options header passed over, an unknown next header pointed at", () => {
    const lab = new Lab({ seed: 76 });
    lab.tapA = [];
    const e6 = lab.a.udpBind(6, 5353, lab.now);
    // Fragmentable part: a destination options header (8 bytes: next header, length 0, PadN of 4), then UDP.
    const part = (nh: number): Uint8Array => Uint8Array.from([nh, 0, 1, 4, 0, 0, 0, 0, ...udpBytes(6, 7, 5353, data(40, 19))]);
    for (const [nh, id] of [[17, 600], [253, 601]] as const) {
      const whole = part(nh);
      lab.inject(frag6(whole.slice(0, 24), 0, true, id, 60));
      lab.inject(frag6(whole.slice(24), 24, false, id, 60));
    }
    expect(queued(e6)).toEqual([data(40, 19)]);
    expect(problems(lab.tapA)).toEqual([[1, 40]]);
    const f = lab.tapA[0]!;
    const at = inspectFrame(f).l4Start;
    // The quote: payload length 8 + 48 = 56, next header 60 (the destination options header), no fragment header.
    expect([(f[at + 12]! << 8) | f[at + 13]!, f[at + 14], f.length - at - 8]).toEqual([56, 60, 96]);
    expect(f.subarray(at + 48)).toEqual(part(253));
  });

  // RFC 8200 §4.5: a fragment whose length is not a multiple of 8 with M set draws a Parameter Problem,
  // code 0, pointing at the Payload Length; one that would make the reassembled payload length pass
  // 65535, one pointing at the Fragment Offset field.
  it("a misaligned fragment and one past 65535 draw a Parameter Problem, code 0, at the Payload Length and the Fragment Offset", () => {
    const lab = new Lab({ seed: 77 });
    lab.tapA = [];
    lab.inject(frag6(new Uint8Array(12), 0, true, 610));
    lab.inject(frag6(new Uint8Array(16), 65528, false, 611));
    // With an 8-byte destination options header before the fragment header: 65535 - 8 is the limit.
    lab.inject(frag6(new Uint8Array(8), 65520, false, 612, 17, [{ type: "destination", options: [] }]));
    expect(problems(lab.tapA)).toEqual([[0, 4], [0, 42], [0, 50]]);
  });
});
