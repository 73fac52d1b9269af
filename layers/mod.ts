/**
 * stackts layers: pure protocol code, bytes ↔ plain values, for Node, Deno,
 * Bun and browsers. One line per protocol module; `AnyLayer` and `AnyInput`
 * list every module's value and input types.
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
import type { Payload } from "./core.ts";
import type { Arp, ArpInput } from "./arp.ts";
import type { Dhcp, DhcpInput } from "./dhcp.ts";
import type { Dns, DnsInput } from "./dns.ts";
import type { PayloadInput } from "./encode.ts";
import type { Ethernet, EthernetInput, Llc, LlcInput } from "./ethernet.ts";
import type { Icmp, IcmpInput } from "./icmp.ts";
import type { Icmpv6, Icmpv6Input } from "./icmpv6.ts";
import type { Ipv4, Ipv4Input } from "./ipv4.ts";
import type { Ipv6, Ipv6Input } from "./ipv6.ts";
import type { Loopback, LoopbackInput } from "./loopback.ts";
import type { Sll, SllInput } from "./sll.ts";
import type { Sll2, Sll2Input } from "./sll2.ts";
import type { Tcp, TcpInput } from "./tcp.ts";
import type { Http, HttpInput } from "./http.ts";
import type { Tftp, TftpInput } from "./tftp.ts";
import type { Udp, UdpInput } from "./udp.ts";
import type { Vlan, VlanInput } from "./vlan.ts";

export * from "./core.ts";
export * from "./addr.ts";
export * from "./checksum.ts";
export * from "./link_type.ts";
export * from "./dispatch.ts";
export * from "./decode.ts";
export * from "./encode.ts";
export * from "./peek.ts";
export * from "./ethernet.ts";
export * from "./vlan.ts";
export * from "./sll.ts";
export * from "./sll2.ts";
export * from "./loopback.ts";
export * from "./arp.ts";
export * from "./ipv4.ts";
export * from "./ipv6.ts";
export * from "./icmp.ts";
export * from "./icmpv6.ts";
export * from "./udp.ts";
export * from "./tcp.ts";
export * from "./tcp_options.ts";
export * from "./dns.ts";
export * from "./dhcp.ts";
export * from "./tftp.ts";
export * from "./http.ts";

/** Every decoded layer value. */
export type AnyLayer =
  | Ethernet
  | Llc
  | Vlan
  | Sll
  | Sll2
  | Loopback
  | Arp
  | Ipv4
  | Ipv6
  | Icmp
  | Icmpv6
  | Udp
  | Tcp
  | Dns
  | Dhcp
  | Tftp
  | Http
  | Payload;

/** Every build input. */
export type AnyInput =
  | EthernetInput
  | LlcInput
  | VlanInput
  | SllInput
  | Sll2Input
  | LoopbackInput
  | ArpInput
  | Ipv4Input
  | Ipv6Input
  | IcmpInput
  | Icmpv6Input
  | UdpInput
  | TcpInput
  | DnsInput
  | DhcpInput
  | TftpInput
  | HttpInput
  | PayloadInput;
