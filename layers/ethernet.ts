/**
 * Ethernet II and IEEE 802.3 frames, and the 802.2 LLC header (with SNAP) that
 * follows an 802.3 length field.
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
import { pooledValue, type Codec, type DecodeState, type Decoder, type EncodeContext, type Input, type Kind, type LayerBase } from "./core.ts";
import { ETHERTYPE_OF, ethertypeKind } from "./dispatch.ts";

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

/** An IEEE 802.2 LLC header, with the SNAP extension when DSAP = SSAP = 0xaa. */
export interface Llc extends LayerBase {
  layer: "llc";
  dsap: number;
  ssap: number;
  /** one byte for U-format PDUs (low bits 11), two bytes for I/S formats */
  control: number;
  /** SNAP organisation code (24 bits) */
  oui?: number;
  /** SNAP protocol id: an ethertype when `oui` is 0 */
  type?: number;
}

/**
 * Build input. Unset: with a layer inside that has an ethertype, SNAP
 * (`aa aa 03`, oui 0, its ethertype); otherwise DSAP/SSAP 0 and control 3 (UI).
 */
export type LlcInput = Input<Llc>;

export const ETHERNET_HEADER_LENGTH = 14;
const ZERO_MAC = new Uint8Array(6);

/**
 * What follows a 16-bit type/length field (Ethernet, VLAN) whose payload starts
 * at `start` in the decoder's bytes: an ethertype goes through `ETHERTYPE`; a
 * length (<= 1500) means LLC over exactly that many bytes. Sets
 * `state.offset`/`state.end` to the payload. Shared by the link decoders.
 */
export function nextAfterTypeField(typeOrLength: number, start: number, state: DecodeState, layer: Kind): Kind | null {
  state.offset = start;
  if (typeOrLength > 1500) return ethertypeKind(typeOrLength);
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
  if (t > 1500) {
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

/** The ethertype to write for the layer inside, 0 when it has none. */
export function ethertypeFor(inner: LayerBase | undefined): number {
  if (inner === undefined) return 0;
  if (inner.layer === "vlan") return (inner as { tpid?: number }).tpid ?? 0x8100;
  return ETHERTYPE_OF.get(inner.layer) ?? 0;
}

function writeMac(out: Uint8Array, offset: number, text: string | undefined): void {
  out.set(text === undefined ? ZERO_MAC : parseMac(text), offset);
}

/** The type/length field to write: explicit values first, then 802.3 for LLC, then the ethertype. */
export function typeFieldFor(type: number | undefined, length: number | undefined, payloadLength: number, ctx: EncodeContext): number {
  if (type !== undefined) return type;
  if (length !== undefined) return length;
  if (ctx.inner?.layer === "llc") return payloadLength;
  return ethertypeFor(ctx.inner);
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

function llc(dsap: number, ssap: number, control: number): Llc {
  return { layer: "llc", dsap, ssap, control };
}

export const decodeLlc: Decoder = (bytes, state) => {
  const at = state.offset;
  const n = state.end - at;
  if (n < 3) {
    state.issues.push({ layer: "llc", kind: "truncated", reason: `header needs 3 bytes, got ${n}` });
    return null;
  }
  const dsap = bytes[at]!;
  const ssap = bytes[at + 1]!;
  // IEEE 802.2 §5.3: U-format control is one byte (low bits 11), I and S formats two.
  const oneByte = (bytes[at + 2]! & 3) === 3;
  if (!oneByte && n < 4) {
    state.issues.push({ layer: "llc", kind: "truncated", reason: `header needs 4 bytes, got ${n}` });
    return null;
  }
  const control = oneByte ? bytes[at + 2]! : (bytes[at + 2]! << 8) | bytes[at + 3]!;
  if (dsap === 0xaa && ssap === 0xaa && control === 3) {
    // RFC 1042 SNAP: 3-byte OUI and 2-byte protocol id.
    if (n < 8) {
      state.layers.push(llc(dsap, ssap, control));
      state.issues.push({ layer: "llc", kind: "truncated", reason: `SNAP header needs 8 bytes, got ${n}` });
      state.offset = at + 3;
      return null;
    }
    const oui = (bytes[at + 3]! << 16) | (bytes[at + 4]! << 8) | bytes[at + 5]!;
    const type = (bytes[at + 6]! << 8) | bytes[at + 7]!;
    const value: Llc = { layer: "llc", dsap, ssap, control, oui, type };
    state.layers.push(value);
    state.offset = at + 8;
    return oui === 0 ? ethertypeKind(type) : null;
  }
  state.layers.push(llc(dsap, ssap, control));
  state.offset = at + (oneByte ? 3 : 4);
  return null;
};

function llcSnap(v: LlcInput, ctx: EncodeContext): boolean {
  if (v.oui !== undefined || v.type !== undefined) return true;
  if (v.dsap !== undefined || v.ssap !== undefined || v.control !== undefined) {
    return v.dsap === 0xaa && v.ssap === 0xaa && (v.control ?? 3) === 3;
  }
  return ctx.inner !== undefined && ETHERTYPE_OF.has(ctx.inner.layer);
}

export const llcCodec: Codec<LlcInput> = {
  headerLength(v, ctx) {
    const control = v.control ?? 3;
    return ((control & 3) === 3 && control <= 0xff ? 3 : 4) + (llcSnap(v, ctx) ? 5 : 0);
  },
  write(v, out, ctx) {
    const snap = llcSnap(v, ctx);
    out[0] = v.dsap ?? (snap ? 0xaa : 0);
    out[1] = v.ssap ?? (snap ? 0xaa : 0);
    const control = v.control ?? 3;
    let at = 3;
    if ((control & 3) === 3 && control <= 0xff) {
      out[2] = control;
    } else {
      out[2] = (control >> 8) & 0xff;
      out[3] = control & 0xff;
      at = 4;
    }
    if (snap) {
      const oui = v.oui ?? 0;
      const type = v.type ?? ethertypeFor(ctx.inner);
      out[at] = (oui >> 16) & 0xff;
      out[at + 1] = (oui >> 8) & 0xff;
      out[at + 2] = oui & 0xff;
      out[at + 3] = type >> 8;
      out[at + 4] = type & 0xff;
    }
  },
};
