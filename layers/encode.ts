/**
 * The builder: a list of plain layer inputs, outermost first → the bytes of one
 * packet.
 *
 * Every header length is computed first, the buffer is allocated once, and the
 * headers are written innermost first, so each one sees its finished payload
 * when it fills lengths and checksums. Each layer gets an `EncodeContext`: the
 * input just inside and just outside it, and the nearest enclosing IPv4/IPv6
 * layer's addresses (with defaults applied) for pseudo-headers. Fields left
 * unset are derived or defaulted (see each module's `XInput`); fields set are
 * written as given, even when invalid.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * const frame = encodePacket([
 *   { layer: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" },
 *   { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
 *   { layer: "udp", srcPort: 1234, dstPort: 53 },
 *   { layer: "payload", data: new Uint8Array(4) },
 * ]); // type 0x0800, protocol 17, lengths and checksums filled
 * ```
 *
 * @module
 */
import { parseIpv4, parseIpv6 } from "./addr.ts";
import { arpCodec } from "./arp.ts";
import type { Codec, EncodeContext, Input, LayerBase, Payload } from "./core.ts";
import { dhcpCodec } from "./dhcp.ts";
import { dnsCodec } from "./dns.ts";
import { ethernetCodec, llcCodec } from "./ethernet.ts";
import { icmpCodec } from "./icmp.ts";
import { icmpv6Codec } from "./icmpv6.ts";
import { ipv4Codec } from "./ipv4.ts";
import { ipv6Codec } from "./ipv6.ts";
import { loopbackCodec } from "./loopback.ts";
import type { AnyInput } from "./mod.ts";
import { sllCodec } from "./sll.ts";
import { sll2Codec } from "./sll2.ts";
import { tcpCodec } from "./tcp.ts";
import { httpCodec } from "./http.ts";
import { tftpCodec } from "./tftp.ts";
import { udpCodec } from "./udp.ts";
import { vlanCodec } from "./vlan.ts";

/** Build input for raw bytes: `data` (default empty) written as is. */
export type PayloadInput = Input<Payload>;

export const payloadCodec: Codec<PayloadInput> = {
  headerLength: (v) => v.data?.length ?? 0,
  write(v, out) {
    if (v.data !== undefined) out.set(v.data, 0);
  },
};

type CodecTable = { readonly [K in AnyInput["layer"]]?: Codec<Extract<AnyInput, { layer: K }>> };

/** Layer name → codec. One line per protocol module. */
export const CODECS: CodecTable = {
  ethernet: ethernetCodec,
  llc: llcCodec,
  vlan: vlanCodec,
  sll: sllCodec,
  sll2: sll2Codec,
  loopback: loopbackCodec,
  arp: arpCodec,
  ipv4: ipv4Codec,
  ipv6: ipv6Codec,
  icmp: icmpCodec,
  icmpv6: icmpv6Codec,
  udp: udpCodec,
  tcp: tcpCodec,
  dns: dnsCodec,
  dhcp: dhcpCodec,
  tftp: tftpCodec,
  http: httpCodec,
  payload: payloadCodec,
};

type IpAddresses = NonNullable<EncodeContext["ip"]>;

function ipOf(v: AnyInput): IpAddresses | undefined {
  if (v.layer === "ipv4") {
    return {
      version: 4,
      src: v.src === undefined ? new Uint8Array(4) : parseIpv4(v.src),
      dst: v.dst === undefined ? new Uint8Array(4) : parseIpv4(v.dst),
    };
  }
  if (v.layer === "ipv6") {
    // RFC 8200 §8.1: with a Routing header, the pseudo-header carries the final destination.
    let dst = v.dst;
    for (const e of v.extensions ?? []) {
      if (e.type !== "routing" || e.addresses === undefined || e.addresses.length === 0) continue;
      if ((e.segmentsLeft ?? e.addresses.length) === 0) continue;
      dst = (e.routingType ?? 0) === 4 ? e.addresses[0] : e.addresses[e.addresses.length - 1];
    }
    return {
      version: 6,
      src: v.src === undefined ? new Uint8Array(16) : parseIpv6(v.src),
      dst: dst === undefined ? new Uint8Array(16) : parseIpv6(dst),
    };
  }
  return undefined;
}

/**
 * Build one packet from `layers`, outermost first. Throws `TypeError` for a
 * layer name without a codec and `RangeError` for unparsable address text
 * (programmer errors); never for values that make an invalid packet.
 */
export function encodePacket(layers: readonly AnyInput[]): Uint8Array {
  const n = layers.length;
  const contexts: EncodeContext[] = new Array<EncodeContext>(n);
  const codecs: Codec<AnyInput>[] = new Array<Codec<AnyInput>>(n);
  const offsets = new Array<number>(n + 1);
  let ip: IpAddresses | undefined;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = layers[i]!;
    const codec = CODECS[v.layer] as Codec<AnyInput> | undefined;
    if (codec === undefined) throw new TypeError(`Cannot encode ${v.layer}: no codec for this layer`);
    codecs[i] = codec;
    const ctx: EncodeContext = { inner: layers[i + 1] as LayerBase | undefined, outer: layers[i - 1] as LayerBase | undefined, ip };
    contexts[i] = ctx;
    offsets[i] = total;
    total += codec.headerLength(v, ctx);
    ip = ipOf(v) ?? ip; // layers inside this one see it as their nearest IP layer
  }
  offsets[n] = total;
  const out = new Uint8Array(total);
  for (let i = n - 1; i >= 0; i--) codecs[i]!.write(layers[i]!, out.subarray(offsets[i]!), contexts[i]!);
  return out;
}
