/**
 * stackts layers: pure protocol code, bytes ↔ plain values, for Node, Deno,
 * Bun and browsers. One line per module; the protocols themselves, and the
 * `Kind`, `AnyLayer` and `AnyInput` types assembled from them, are listed in
 * `registry.ts`.
 *
 * @example
 * ```ts
 * import { decodePacket, encodePacket, LINKTYPE } from "stackts/layers";
 * const bytes = encodePacket([{ layer: "ethernet" }, { layer: "ipv4", dst: "10.0.0.2" }, { layer: "udp", dstPort: 53 }]);
 * decodePacket(bytes, LINKTYPE.ETHERNET).layers.map((l) => l.layer); // ["ethernet", "ipv4", "udp"]
 * ```
 *
 * @module
 */
export * from "./core.ts";
export * from "./addr.ts";
export * from "./checksum.ts";
export * from "./bytes.ts";
export * from "./view.ts";
export { appendCodec, ByteWriter, utf8Length, type AppendCodec } from "./byte_writer.ts";
export * from "./dispatch.ts";
export * from "./registry.ts";
export * from "./decode.ts";
export * from "./encode.ts";
export * from "./peek.ts";
export * from "./payload.ts";
export * from "./ethernet.ts";
export * from "./llc.ts";
export * from "./vlan.ts";
export * from "./sll.ts";
export * from "./sll2.ts";
export * from "./loopback.ts";
export * from "./arp.ts";
export * from "./ipv4.ts";
export * from "./ipv6.ts";
export * from "./icmp_header.ts";
export * from "./icmp.ts";
export * from "./icmpv6.ts";
export * from "./ndp.ts";
export * from "./udp.ts";
export * from "./tcp.ts";
export * from "./tcp_options.ts";
export * from "./dns.ts";
export * from "./dhcp.ts";
export * from "./tftp.ts";
export * from "./http.ts";
