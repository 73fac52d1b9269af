/**
 * IEEE 802.1Q VLAN tags (TPID 0x8100), 802.1ad service tags (0x88a8) and the
 * pre-standard 0x9100, stacked to any depth. Each tag is its own layer; the
 * TPID is the type field of the layer outside it, repeated here for reading.
 *
 * @example
 * ```ts
 * // [ethernet type 0x88a8] [vlan tpid 0x88a8 id 100 type 0x8100] [vlan tpid 0x8100 id 7 type 0x0800] [ipv4]
 * ```
 *
 * @module
 */
import { pooledValue, type Codec, type Decoder, type Input, type LayerBase, type Protocol } from "./core.ts";
import { ETHERTYPE_VLAN, VLAN_TPIDS } from "./dispatch.ts";
import { nextAfterTypeField, typeFieldFor } from "./ethernet.ts";

/** One VLAN tag: TPID (from the outer type field), then the 4 tag bytes. */
export interface Vlan extends LayerBase {
  layer: "vlan";
  /** the tag protocol identifier that announced this tag (0x8100, 0x88a8, 0x9100) */
  tpid: number;
  /** VLAN identifier, 12 bits */
  id: number;
  /** priority code point, 3 bits */
  pcp: number;
  /** drop eligible indicator (formerly CFI) */
  dei: boolean;
  /** type (or 802.3 length, <= 1500) of what follows the tag */
  type: number;
}

/**
 * Build input. Unset: `id`, `pcp` 0, `dei` false, `type` from the layer inside
 * (an 802.3 length when it is `llc`), `tpid` 0x8100 (it is written by the
 * layer outside: Ethernet, SLL, or the VLAN tag before).
 */
export type VlanInput = Input<Vlan>;

function outerType(layer: LayerBase | undefined): number {
  const o = layer as { type?: number; protocol?: number } | undefined;
  return o?.type ?? o?.protocol ?? ETHERTYPE_VLAN;
}

function newVlan(): Vlan {
  return { layer: "vlan", tpid: 0, id: 0, pcp: 0, dei: false, type: 0 };
}

export const decodeVlan: Decoder = (bytes, state) => {
  // Any depth: each tag consumes 4 bytes, so the frame's length bounds the
  // stack (and the walk's MAX_LAYERS backstop bounds the rest).
  const layers = state.layers;
  const at = state.offset;
  const n = state.end - at;
  if (n < 4) {
    state.issues.push({ layer: "vlan", kind: "truncated", reason: `tag needs 4 bytes, got ${n}` });
    return null;
  }
  const tci = (bytes[at]! << 8) | bytes[at + 1]!;
  const type = (bytes[at + 2]! << 8) | bytes[at + 3]!;
  const value = pooledValue(state.pool?.vlan, layers.length, newVlan);
  value.tpid = outerType(layers[layers.length - 1]);
  value.id = tci & 0x0fff;
  value.pcp = tci >> 13;
  value.dei = (tci & 0x1000) !== 0;
  value.type = type;
  layers.push(value);
  return nextAfterTypeField(type, at + 4, state, "vlan");
};

export const vlanCodec: Codec<VlanInput> = {
  headerLength: () => 4,
  write(v, out, ctx) {
    const tci = (((v.pcp ?? 0) & 7) << 13) | (v.dei === true ? 0x1000 : 0) | ((v.id ?? 0) & 0x0fff);
    out[0] = tci >> 8;
    out[1] = tci & 0xff;
    const t = typeFieldFor(v.type, undefined, out.length - 4, ctx);
    out[2] = t >> 8;
    out[3] = t & 0xff;
  },
};

/** A VLAN tag in the registry: announced by any of the TPIDs, 0x8100 written by default. */
export const vlanProtocol: Protocol<"vlan", Vlan, VlanInput> = {
  kind: "vlan",
  decode: decodeVlan,
  codec: vlanCodec,
  pooled: true,
  claims: { ethertypes: VLAN_TPIDS },
};
