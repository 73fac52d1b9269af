/**
 * Ethernet II and IEEE 802.3 frames (the 802.2 LLC header that follows an
 * 802.3 length field is `llc.ts`).
 *
 * The 16-bit field after the MAC addresses is a type (Ethernet II) when it is
 * 0x0600 or more and a length when it is 1500 or less (IEEE 802.3 §3.2.6); an
 * 802.3 frame's value carries `length` instead of `type` and is followed by an
 * `llc` layer. The link padding after a short payload is dropped by the layer
 * above (IPv4/IPv6 trim to their stated length; 802.3 trims to `length`).
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(frame, 1).layers[0]; // { layer: "ethernet", src: "02:77:00:00:00:01", dst: ..., type: 2048 }
 * ```
 *
 * @module
 */
import { formatMac, parseMac } from "./addr.ts";
import { pooledValue, type Codec, type DecodeState, type Decoder, type Dispatch, type EncodeContext, type Input, type LayerBase, type LayerName, type Protocol } from "./core.ts";
import { ETHERNET_MAX_LENGTH, ETHERTYPE_VLAN, LINKTYPE } from "./dispatch.ts";

/** A decoded Ethernet header. Exactly one of `type` (Ethernet II) and `length` (802.3) is present. */
export interface Ethernet extends LayerBase {
  layer: "ethernet";
  src: string;
  dst: string;
  /** ethertype (>= 0x0600; values 1501..1535 are also kept here) */
  type?: number;
  /** 802.3 payload length (<= 1500); an `llc` layer follows */
  length?: number;
}

/**
 * Build input. Unset: `dst`/`src` 00:00:00:00:00:00; `type` from the layer
 * inside (`ETHERTYPE_OF`, a VLAN's own `tpid`), 0 when there is none; with an
 * `llc` layer inside (or `length` set) an 802.3 length field is written
 * instead, derived from the payload size unless given.
 */
export type EthernetInput = Input<Ethernet>;

export const ETHERNET_HEADER_LENGTH = 14;
const ZERO_MAC = new Uint8Array(6);

/**
 * What follows a 16-bit type/length field (Ethernet, VLAN) whose payload starts
 * at `start` in the decoder's bytes: an ethertype goes through `ETHERTYPE`; a
 * length (<= 1500) means LLC over exactly that many bytes. Sets
 * `state.offset`/`state.end` to the payload. Shared by the link decoders.
 */
export function nextAfterTypeField(typeOrLength: number, start: number, state: DecodeState, layer: LayerName): LayerName | null {
  state.offset = start;
  if (typeOrLength > ETHERNET_MAX_LENGTH) return state.dispatch.ethertype(typeOrLength);
  const available = state.end - start;
  if (typeOrLength > available) {
    state.issues.push({ layer, kind: "truncated", reason: `length ${typeOrLength} exceeds ${available} bytes` });
  } else {
    state.end = start + typeOrLength; // drops padding
  }
  return "llc";
}

function newEthernet(): Ethernet {
  return { layer: "ethernet", src: "", dst: "", type: 0 };
}

export const decodeEthernet: Decoder = (bytes, state) => {
  const at = state.offset;
  const n = state.end - at;
  if (n < 14) {
    state.issues.push({ layer: "ethernet", kind: "truncated", reason: `header needs 14 bytes, got ${n}` });
    return null;
  }
  const t = (bytes[at + 12]! << 8) | bytes[at + 13]!;
  const src = formatMac(bytes, at + 6);
  const dst = formatMac(bytes, at);
  if (t > ETHERNET_MAX_LENGTH) {
    // Ethernet II: the one shape that is pooled (an 802.3 value has `length` instead of `type`).
    const value = pooledValue(state.pool?.ethernet, state.layers.length, newEthernet);
    value.src = src;
    value.dst = dst;
    value.type = t;
    state.layers.push(value);
  } else {
    const value: Ethernet = { layer: "ethernet", src, dst, length: t };
    state.layers.push(value);
  }
  return nextAfterTypeField(t, at + 14, state, "ethernet");
};

/** The ethertype to write for the layer inside (a VLAN tag's own `tpid`), 0 when it has none. */
export function ethertypeFor(inner: LayerBase | undefined, dispatch: Dispatch | undefined): number {
  if (inner === undefined) return 0;
  if (inner.layer === "vlan") return (inner as { tpid?: number }).tpid ?? ETHERTYPE_VLAN;
  return dispatch?.ethertypeOf(inner.layer) ?? 0;
}

function writeMac(out: Uint8Array, offset: number, text: string | undefined): void {
  out.set(text === undefined ? ZERO_MAC : parseMac(text), offset);
}

/** The type/length field to write: explicit values first, then 802.3 for LLC, then the ethertype. */
export function typeFieldFor(type: number | undefined, length: number | undefined, payloadLength: number, ctx: EncodeContext): number {
  if (type !== undefined) return type;
  if (length !== undefined) return length;
  if (ctx.inner?.layer === "llc") return payloadLength;
  return ethertypeFor(ctx.inner, ctx.dispatch);
}

export const ethernetCodec: Codec<EthernetInput> = {
  headerLength: () => 14,
  write(v, out, ctx) {
    writeMac(out, 0, v.dst);
    writeMac(out, 6, v.src);
    const t = typeFieldFor(v.type, v.length, out.length - 14, ctx);
    out[12] = t >> 8;
    out[13] = t & 0xff;
  },
};


/** Ethernet in the registry: the first layer of LINKTYPE_ETHERNET frames. */
export const ethernetProtocol: Protocol<"ethernet", Ethernet, EthernetInput> = {
  kind: "ethernet",
  decode: decodeEthernet,
  codec: ethernetCodec,
  pooled: true,
  claims: { linkTypes: [LINKTYPE.ETHERNET] },
};
