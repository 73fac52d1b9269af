#!/usr/bin/env node
// Writes test/fixtures/sample.pcap: a small capture made with our own builder
// (encodePacket + the pcap writer) that shows off what `stackts read` decodes:
// ARP, ICMP echo, DNS query/answer, a TCP handshake with an HTTP GET and its
// answer, plain UDP, IPv6 with ICMPv6 neighbor discovery and echo, an
// 802.1Q-tagged frame, an ICMP port unreachable quoting a UDP datagram, and a
// UDP datagram with a wrong checksum.
//
// Usage: npm run build:ts && node scripts/make_sample.js [OUT]
import { encodePacket } from "../dist/layers/encode.js";
import { openCaptureWriter } from "../dist/src/capture_file.js";

const out = process.argv[2] ?? new URL("../test/fixtures/sample.pcap", import.meta.url).pathname;

const A = { mac: "02:00:00:00:00:01", ip: "10.0.0.1", ip6: "fd00::1", ll6: "fe80::1" };
const B = { mac: "02:00:00:00:00:02", ip: "10.0.0.2", ip6: "fd00::2" };
const text = (s) => new TextEncoder().encode(s);
const eth = (src, dst) => ({ layer: "ethernet", src: src.mac ?? src, dst: dst.mac ?? dst });
const ip4 = (src, dst, extra = {}) => ({ layer: "ipv4", src: src.ip, dst: dst.ip, id: 0x1c46, dontFragment: true, ...extra });
const ip6 = (src, dst, extra = {}) => ({ layer: "ipv6", src, dst, ...extra });
const pingData = Uint8Array.from({ length: 56 }, (_, i) => i);

// TCP handshake numbers, chosen by hand.
const ISN_A = 1000;
const ISN_B = 5000;
const GET = text("GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: stackts\r\n\r\n");
const OK = text("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n");
const tcp = (src, dst, sport, dport, flags, seq, ack, extra = {}) => ({ layer: "tcp", srcPort: sport, dstPort: dport, flags, seq, ack, window: 64240, ...extra });
const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;

const udpInner = encodePacket([ip4(A, B, { id: 7, dontFragment: false }), { layer: "udp", srcPort: 43210, dstPort: 9 }, { layer: "payload", data: text("ping?") }]);

const frames = [
  [eth(A, "ff:ff:ff:ff:ff:ff"), { layer: "arp", op: 1, senderMac: A.mac, senderIp: A.ip, targetMac: "00:00:00:00:00:00", targetIp: B.ip }],
  [eth(B, A), { layer: "arp", op: 2, senderMac: B.mac, senderIp: B.ip, targetMac: A.mac, targetIp: A.ip }],
  [eth(A, B), ip4(A, B), { layer: "icmp", type: 8, identifier: 1, sequence: 1 }, { layer: "payload", data: pingData }],
  [eth(B, A), ip4(B, A, { id: 0x2d01, dontFragment: false }), { layer: "icmp", type: 0, identifier: 1, sequence: 1 }, { layer: "payload", data: pingData }],
  [eth(A, B), ip4(A, B), { layer: "udp", srcPort: 40000, dstPort: 53 }, { layer: "dns", id: 0x1234, questions: [{ name: "example.com", type: "A" }] }],
  [
    eth(B, A),
    ip4(B, A),
    { layer: "udp", srcPort: 53, dstPort: 40000 },
    { layer: "dns", id: 0x1234, response: true, recursionDesired: true, recursionAvailable: true, questions: [{ name: "example.com", type: "A" }], answers: [{ name: "example.com", type: "A", ttl: 300, data: "93.184.216.34" }] },
  ],
  [eth(A, B), ip4(A, B), tcp(A, B, 40001, 80, SYN, ISN_A, 0, { options: [{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }, { kind: "timestamps", tsval: 100, tsecr: 0 }, { kind: "nop" }, { kind: "windowScale", shift: 7 }] })],
  [eth(B, A), ip4(B, A), tcp(B, A, 80, 40001, SYN | ACK, ISN_B, ISN_A + 1, { options: [{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }, { kind: "timestamps", tsval: 200, tsecr: 100 }, { kind: "nop" }, { kind: "windowScale", shift: 7 }] })],
  [eth(A, B), ip4(A, B), tcp(A, B, 40001, 80, ACK, ISN_A + 1, ISN_B + 1, { window: 502 })],
  [eth(A, B), ip4(A, B), tcp(A, B, 40001, 80, PSH | ACK, ISN_A + 1, ISN_B + 1, { window: 502 }), { layer: "payload", data: GET }],
  [eth(B, A), ip4(B, A), tcp(B, A, 80, 40001, ACK, ISN_B + 1, ISN_A + 1 + GET.length, { window: 509 })],
  [eth(B, A), ip4(B, A), tcp(B, A, 80, 40001, PSH | ACK, ISN_B + 1, ISN_A + 1 + GET.length, { window: 509 }), { layer: "payload", data: OK }],
  [eth(A, B), ip4(A, B), tcp(A, B, 40001, 80, FIN | ACK, ISN_A + 1 + GET.length, ISN_B + 1 + OK.length, { window: 501 })],
  [eth(A, B), ip4(A, B), { layer: "udp", srcPort: 5000, dstPort: 6000 }, { layer: "payload", data: text("hello, world\n") }],
  [eth(A, B), ip4(A, B, { id: 7, dontFragment: false }), { layer: "udp", srcPort: 43210, dstPort: 9 }, { layer: "payload", data: text("ping?") }],
  [eth(B, A), ip4(B, A, { id: 0x2d02, dontFragment: false }), { layer: "icmp", type: 3, code: 3 }, { layer: "payload", data: udpInner }],
  [eth(A, B), ip4(A, B), { layer: "udp", srcPort: 5001, dstPort: 6001, checksum: 0x1234 }, { layer: "payload", data: text("corrupted") }],
  [
    eth(A, "33:33:ff:00:00:02"),
    ip6(A.ll6, "ff02::1:ff00:2", { hopLimit: 255 }),
    { layer: "icmpv6", type: 135, targetAddress: B.ip6, options: [{ kind: "sourceLinkLayerAddress", address: A.mac }] },
  ],
  [
    eth(B, A),
    ip6(B.ip6, A.ll6, { hopLimit: 255 }),
    { layer: "icmpv6", type: 136, solicited: true, override: true, targetAddress: B.ip6, options: [{ kind: "targetLinkLayerAddress", address: B.mac }] },
  ],
  [eth(A, B), ip6(A.ip6, B.ip6), { layer: "icmpv6", type: 128, identifier: 2, sequence: 1 }, { layer: "payload", data: pingData }],
  [eth(B, A), ip6(B.ip6, A.ip6), { layer: "icmpv6", type: 129, identifier: 2, sequence: 1 }, { layer: "payload", data: pingData }],
  [eth(A, B), ip6(A.ip6, B.ip6), { layer: "udp", srcPort: 40002, dstPort: 53 }, { layer: "dns", id: 0x4321, questions: [{ name: "stackts.example", type: "AAAA" }] }],
  [eth(A, B), { layer: "vlan", id: 100, pcp: 3 }, ip4(A, B), { layer: "icmp", type: 8, identifier: 3, sequence: 1 }, { layer: "payload", data: pingData }],
];

// 2026-11-25T03:20:51.123456Z, then a few milliseconds apart.
const base = Date.UTC(2026, 10, 25, 3, 20, 51) / 1000;
const writer = openCaptureWriter(out, { interfaces: [{ linkType: 1, snaplen: 262144 }] });
frames.forEach((layers, i) => {
  const data = encodePacket(layers);
  const usec = 123456 + i * 1731;
  writer.write({ data, length: data.length, sec: base + Math.floor(usec / 1e6), nsec: (usec % 1e6) * 1000, linkType: 1, interfaceId: 0 });
});
writer.close();
process.stderr.write(`wrote ${frames.length} packets to ${out}\n`);
