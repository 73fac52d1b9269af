/**
 * The same UDP datagram as {@link sendUdp}, handed to the kernel through a raw IP
 * socket (the `raw-socket` package) instead of injected as a frame: the kernel
 * routes it and resolves the next hop. For interfaces where frames cannot be
 * injected (tunnels, some virtual NICs), `stackts send udp --l3`.
 *
 * - IPv4: an `IPPROTO_UDP` raw socket with `IP_HDRINCL` (raw(7)), so the IPv4
 *   header our layers build goes out as written (Linux still fills the header
 *   checksum and total length, and the identification when it is 0).
 * - IPv6: no header-include on Linux (raw(7), RFC 3542 §3): the kernel writes the
 *   IPv6 header, we hand it UDP header + payload with our checksum over the
 *   pseudo-header of the source the kernel will pick (the interface's address on
 *   the route), and set the hop limit with `IPV6_UNICAST_HOPS`.
 *
 * The socket is bound to the interface (`SO_BINDTODEVICE`). A raw socket lives in
 * the namespace of the process that opens it: to send from another namespace, run
 * the process there (`ip netns exec NAME ...`; the CLI does so for `--netns`).
 *
 * @example
 * ```ts
 * import { sendUdpL3 } from "./l3.ts";
 * await sendUdpL3({ iface: "eth0", dst: "192.0.2.7", dstPort: 9999, payload: new Uint8Array([1, 2]) });
 * ```
 *
 * @module
 */
import { formatIp, ipBytes, type AddressInput } from "../../layers/addr.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { AnyInput } from "../../layers/mod.ts";
import { openRawIpSocket, RawIpError, type RawIpSocket } from "./raw_ip.ts";
import { planUdp, SendError, wallClock, type SentFrame, type UdpSendOptions } from "./udp.ts";

/** What {@link sendUdpL3} did. */
export interface UdpL3Result {
  /**
   * The IP datagrams as sent, each from its IP header (LINKTYPE_RAW): for IPv6
   * with the header the kernel writes as we expect it (addresses, hop limit).
   */
  packets: Uint8Array[];
  /** the bytes handed to the socket: the whole datagram (IPv4) or UDP header + payload (IPv6) */
  written: Uint8Array[];
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
}

/** Options of {@link sendUdpL3}: those of sendUdp, without link-layer ones. */
export type UdpL3Options = Omit<UdpSendOptions, "dstMac" | "resolveTimeoutMs" | "resolveTries" | "cache" | "netns" | "onSent"> & {
  /** called with each IP datagram sent (from its IP header), e.g. to write a file */
  onSent?: ((packet: SentFrame) => void) | undefined;
};

/**
 * The IP datagram (IPv4 or IPv6 header + UDP + payload) as build inputs; IPv6
 * when the destination is an IPv6 address.
 *
 * @example
 * ```ts
 * udpPacketLayers({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 40000, dstPort: 9, payload: new Uint8Array(0) }).map((l) => l.layer);
 * // ["ipv4", "udp", "payload"]
 * ```
 */
export function udpPacketLayers(spec: { src: AddressInput; dst: AddressInput; srcPort: number; dstPort: number; payload: Uint8Array; ttl?: number | undefined }): AnyInput[] {
  const ttl = spec.ttl ?? 64;
  const dst = ipBytes(spec.dst);
  // The IP build inputs take text until they take bytes too.
  const srcText = formatIp(ipBytes(spec.src));
  const dstText = formatIp(dst);
  return [
    dst.length === 16 ? { layer: "ipv6", src: srcText, dst: dstText, hopLimit: ttl } : { layer: "ipv4", src: srcText, dst: dstText, ttl },
    { layer: "udp", srcPort: spec.srcPort, dstPort: spec.dstPort },
    { layer: "payload", data: spec.payload },
  ];
}

/**
 * Send `count` UDP datagrams through a raw IP socket bound to `iface`, in the
 * current network namespace. Needs CAP_NET_RAW. Throws {@link SendError} on bad
 * input; the socket's own error (e.g. "Operation not permitted") otherwise.
 */
export async function sendUdpL3(options: UdpL3Options): Promise<UdpL3Result> {
  const plan = planUdp(options, false);
  const v6 = plan.bytes.dst.length === 16;
  const packet = encodePacket(udpPacketLayers({ ...plan.bytes, srcPort: plan.srcPort, payload: plan.payload, dstPort: options.dstPort, ttl: options.ttl }));
  // IPv6: the kernel writes the 40-byte header; we write from UDP on.
  const written = v6 ? packet.subarray(40) : packet;
  const result: UdpL3Result = { packets: [], written: [], src: plan.src, dst: plan.dst, srcPort: plan.srcPort, dstPort: options.dstPort };
  if (options.dryRun === true) {
    result.packets.push(packet);
    return result;
  }
  let socket: RawIpSocket;
  try {
    socket = openRawIpSocket({ iface: options.iface, version: v6 ? 6 : 4, hopLimit: options.ttl });
  } catch (err) {
    if (err instanceof RawIpError) throw new SendError("--l3", err.message);
    throw err;
  }
  try {
    const count = options.count ?? 1;
    for (let i = 0; i < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
      await socket.send(written, plan.dst);
      result.packets.push(packet);
      result.written.push(written);
      options.onSent?.({ data: packet, ...wallClock() });
    }
  } finally {
    socket.close();
  }
  return result;
}
