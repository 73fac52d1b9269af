/**
 * ARP (RFC 826). Ethernet/IPv4 is the common case (hardware length 6,
 * protocol length 4); other sizes decode too, with addresses in colon hex.
 * Ethernet padding after the message is dropped.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "ethernet", dst: "ff:ff:ff:ff:ff:ff" }, { layer: "arp", op: 1, senderIp: "10.0.0.1", targetIp: "10.0.0.2" }]);
 * ```
 *
 * @module
 */
import { formatHexColon, formatIpv4, formatIpv6, formatMac, parseIp, parseMac } from "./addr.ts";
import { pooledValue, type Codec, type Decoder, type Input, type LayerBase, type Protocol } from "./core.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "./dispatch.ts";
import { writeLinkAddress } from "./sll.ts";

/** A decoded ARP message. */
export interface Arp extends LayerBase {
  layer: "arp";
  /** 1 = Ethernet */
  hardwareType: number;
  /** an ethertype: 0x0800 for IPv4 */
  protocolType: number;
  hardwareLength: number;
  protocolLength: number;
  /** 1 request, 2 reply (RFC 826); 3/4 RARP */
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/**
 * Build input. Unset: hardware type 1, protocol type 0x0800, op 1 (request),
 * MACs 00:00:00:00:00:00, IPs 0.0.0.0, lengths from the address sizes.
 */
export type ArpInput = Input<Arp>;

function formatHardware(b: Uint8Array, at: number, n: number): string {
  return n === 6 ? formatMac(b, at) : formatHexColon(b, at, n);
}

function formatProtocol(b: Uint8Array, at: number, n: number): string {
  return n === 4 ? formatIpv4(b, at) : n === 16 ? formatIpv6(b, at) : formatHexColon(b, at, n);
}

function newArp(): Arp {
  return {
    layer: "arp",
    hardwareType: 0,
    protocolType: 0,
    hardwareLength: 0,
    protocolLength: 0,
    op: 0,
    senderMac: "",
    senderIp: "",
    targetMac: "",
    targetIp: "",
  };
}

export const decodeArp: Decoder = (bytes, state) => {
  const at = state.offset;
  const n = state.end - at;
  const need = n < 8 ? 8 : 8 + 2 * bytes[at + 4]! + 2 * bytes[at + 5]!;
  if (n < need) {
    state.issues.push({ layer: "arp", kind: "truncated", reason: `message needs ${need} bytes, got ${n}` });
    return null;
  }
  const h = bytes[at + 4]!;
  const p = bytes[at + 5]!;
  const value = pooledValue(state.pool?.arp, state.layers.length, newArp);
  value.hardwareType = (bytes[at]! << 8) | bytes[at + 1]!;
  value.protocolType = (bytes[at + 2]! << 8) | bytes[at + 3]!;
  value.hardwareLength = h;
  value.protocolLength = p;
  value.op = (bytes[at + 6]! << 8) | bytes[at + 7]!;
  value.senderMac = formatHardware(bytes, at + 8, h);
  value.senderIp = formatProtocol(bytes, at + 8 + h, p);
  value.targetMac = formatHardware(bytes, at + 8 + h + p, h);
  value.targetIp = formatProtocol(bytes, at + 8 + 2 * h + p, p);
  state.layers.push(value);
  state.offset = state.end = at + need; // the rest is link padding
  return null;
};

function hardware(text: string | undefined): Uint8Array {
  if (text === undefined) return new Uint8Array(6);
  if (/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) return parseMac(text);
  const b = new Uint8Array(8);
  return b.subarray(0, writeLinkAddress(b, 0, text));
}

function protocol(text: string | undefined): Uint8Array {
  return text === undefined ? new Uint8Array(4) : parseIp(text);
}

function sizes(v: ArpInput): { h: number; p: number } {
  return { h: hardware(v.senderMac ?? v.targetMac).length, p: protocol(v.senderIp ?? v.targetIp).length };
}

export const arpCodec: Codec<ArpInput> = {
  headerLength(v) {
    const { h, p } = sizes(v);
    return 8 + 2 * h + 2 * p;
  },
  write(v, out) {
    const { h, p } = sizes(v);
    const hardwareType = v.hardwareType ?? 1;
    const protocolType = v.protocolType ?? ETHERTYPE_IPV4;
    const op = v.op ?? 1;
    out[0] = hardwareType >> 8;
    out[1] = hardwareType & 0xff;
    out[2] = protocolType >> 8;
    out[3] = protocolType & 0xff;
    out[4] = v.hardwareLength ?? h;
    out[5] = v.protocolLength ?? p;
    out[6] = op >> 8;
    out[7] = op & 0xff;
    out.fill(0, 8, 8 + 2 * h + 2 * p);
    out.set(hardware(v.senderMac).subarray(0, h), 8);
    out.set(protocol(v.senderIp).subarray(0, p), 8 + h);
    out.set(hardware(v.targetMac).subarray(0, h), 8 + h + p);
    out.set(protocol(v.targetIp).subarray(0, p), 8 + 2 * h + p);
  },
};

/** ARP in the registry. */
export const arpProtocol: Protocol<"arp", Arp, ArpInput> = {
  kind: "arp",
  decode: decodeArp,
  codec: arpCodec,
  pooled: true,
  claims: { ethertypes: [ETHERTYPE_ARP] },
};
