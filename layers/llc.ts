/**
 * The IEEE 802.2 LLC header (with the RFC 1042 SNAP extension) that follows an
 * 802.3 length field (Ethernet, VLAN) or a cooked capture's ETH_P_802_2
 * protocol. A SNAP header with OUI 0 carries an ethertype, and decoding goes
 * on with the layer it names.
 *
 * @example
 * ```ts
 * import { decodeAs } from "./decode.ts";
 * decodeAs("llc", Uint8Array.of(0x42, 0x42, 0x03)).layers[0]; // { layer: "llc", dsap: 0x42, ssap: 0x42, control: 3 }
 * ```
 *
 * @module
 */
import type { Codec, Decoder, EncodeContext, Input, LayerBase, Protocol } from "./core.ts";
import { ethertypeFor } from "./ethernet.ts";

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
    return oui === 0 ? state.dispatch.ethertype(type) : null;
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
  return ctx.inner !== undefined && ctx.dispatch?.ethertypeOf(ctx.inner.layer) !== undefined;
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
      const type = v.type ?? ethertypeFor(ctx.inner, ctx.dispatch);
      out[at] = (oui >> 16) & 0xff;
      out[at + 1] = (oui >> 8) & 0xff;
      out[at + 2] = oui & 0xff;
      out[at + 3] = type >> 8;
      out[at + 4] = type & 0xff;
    }
  },
};

/** LLC in the registry: named by an 802.3 length field or ETH_P_802_2, never by a wire value of its own. */
export const llcProtocol: Protocol<"llc", Llc, LlcInput> = {
  kind: "llc",
  decode: decodeLlc,
  codec: llcCodec,
};
