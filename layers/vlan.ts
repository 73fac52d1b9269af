/**
 * IEEE 802.1Q VLAN tags (TPID 0x8100), 802.1ad service tags (0x88a8) and the
 * pre-standard 0x9100, stacked to any depth. Each tag is its own layer; the
 * TPID is the type field of the layer outside it, repeated here for reading.
 * A zero-copy {@link VlanView} over the 4 tag bytes, the decoded value
 * {@link Vlan}, {@link decodeVlan} and {@link vlanCodec}.
 *
 * ```text
 *  0     3   4           16       32 (bits)
 * +-----+---+-----------+--------+---------
 * | PCP |DEI|  VLAN id  |  type  | payload
 * +-----+---+-----------+--------+---------
 *  \_________ TCI _______/
 * ```
 *
 * @example
 * ```ts
 * // [ethernet type 0x88a8] [vlan tpid 0x88a8 id 100 type 0x8100] [vlan tpid 0x8100 id 7 type 0x0800] [ipv4]
 * ```
 *
 * @module
 */
import { put16, u16 } from "./bytes.ts";
import { pooledValue, type Codec, type Decoder, type Input, type LayerBase, type Protocol } from "./core.ts";
import { ETHERNET_MAX_LENGTH, ETHERTYPE_VLAN, VLAN_TPIDS } from "./dispatch.ts";
import { nextAfterTypeField, typeFieldFor } from "./ethernet.ts";
import { ByteView } from "./view.ts";

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

/** Bytes in one VLAN tag after its TPID: the TCI and the type. */
export const VLAN_HEADER_LENGTH = 4;

/** Byte offsets of a VLAN tag's fields (IEEE 802.1Q §9.6), from the tag's start (just after the TPID). */
export const VLAN_FIELD = { TCI: 0, TYPE: 2 } as const;

// Bits of the tag control information (IEEE 802.1Q §9.6): PCP 3, DEI 1, VID 12.
const PCP_SHIFT = 13;
const DEI_BIT = 0x1000;
const ID_MASK = 0x0fff;

/**
 * A VLAN tag over bytes, without copying: the 4 bytes after the TPID start at
 * `at` in `bytes`, and the view may read up to `end` (exclusive; default: the
 * end of `bytes`). The constructor checks nothing; call {@link VlanView.check}
 * once. `pcp`, `dei` and `id` read and write their bits of the TCI and leave
 * the other bits as they are.
 *
 * @example
 * ```ts
 * const tag = new VlanView(frame, 14);
 * if (tag.check() === null) console.log(tag.id, tag.pcp, tag.type.toString(16));
 * tag.id = 100; // the PCP and DEI bits stay
 * ```
 */
export class VlanView extends ByteView {
  /** null when the 4-byte tag fits, else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    return n < VLAN_HEADER_LENGTH ? `tag needs 4 bytes, got ${n}` : null;
  }

  /**
   * The tag at `bytes[at, end)` into `out` (id, pcp, dei, type), or the
   * reason it does not fit, as {@link check} gives it: the decoder's one
   * read, with no view object to point (see `TcpView.readInto`).
   */
  static readInto(bytes: Uint8Array, at: number, end: number, out: Omit<Vlan, "layer" | "tpid">): string | null {
    const n = end - at;
    if (n < 4) return `tag needs 4 bytes, got ${n}`; // VLAN_HEADER_LENGTH
    const tci = (bytes[at]! << 8) | bytes[at + 1]!; // VLAN_FIELD.TCI
    out.id = tci & 0x0fff;
    out.pcp = tci >> 13;
    out.dei = (tci & 0x1000) !== 0;
    out.type = (bytes[at + 2]! << 8) | bytes[at + 3]!; // VLAN_FIELD.TYPE
    return null;
  }

  /** The whole 16-bit tag control information (PCP, DEI, id). */
  get tci(): number {
    return u16(this.bytes, this.at); // VLAN_FIELD.TCI
  }
  set tci(v: number) {
    put16(this.bytes, this.at, v); // VLAN_FIELD.TCI
  }
  /** priority code point, the TCI's top 3 bits */
  get pcp(): number {
    return this.tci >> PCP_SHIFT;
  }
  set pcp(v: number) {
    this.tci = (this.tci & ~(7 << PCP_SHIFT)) | ((v & 7) << PCP_SHIFT);
  }
  /** drop eligible indicator (formerly CFI), the TCI's bit 12 */
  get dei(): boolean {
    return (this.tci & DEI_BIT) !== 0;
  }
  set dei(v: boolean) {
    this.tci = v ? this.tci | DEI_BIT : this.tci & ~DEI_BIT;
  }
  /** VLAN identifier, the TCI's low 12 bits */
  get id(): number {
    return this.tci & ID_MASK;
  }
  set id(v: number) {
    this.tci = (this.tci & ~ID_MASK) | (v & ID_MASK);
  }
  /** type (or 802.3 length, <= 1500) of what follows the tag */
  get type(): number {
    return u16(this.bytes, this.at + 2); // VLAN_FIELD.TYPE
  }
  /** `type` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static typeAt(bytes: Uint8Array, at: number): number {
    return u16(bytes, at + 2); // VLAN_FIELD.TYPE
  }
  set type(v: number) {
    put16(this.bytes, this.at + 2, v); // VLAN_FIELD.TYPE
  }

  /** Where the payload starts in `bytes`. */
  get payloadStart(): number {
    return this.at + VLAN_HEADER_LENGTH;
  }
  /** Where the payload ends in `bytes`: for an 802.3 length, that many bytes on when they are there; else `end`. */
  get payloadEnd(): number {
    const t = this.type;
    const start = this.payloadStart;
    return t <= ETHERNET_MAX_LENGTH && start + t <= this.end ? start + t : this.end;
  }
  /** The payload, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }
}

function outerType(layer: LayerBase | undefined): number {
  const o = layer as { type?: number; protocol?: number } | undefined;
  return o?.type ?? o?.protocol ?? ETHERTYPE_VLAN;
}

/** Stacked tags decoded at most; the bytes from the next tag on are left as payload, with an issue. */
export const MAX_VLAN_TAGS = 16;

function newVlan(): Vlan {
  return { layer: "vlan", tpid: 0, id: 0, pcp: 0, dei: false, type: 0 };
}


/**
 * Decode one VLAN tag (pooled value); the TPID comes from the layer outside.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(qinq, 1).layers[1]; // { layer: "vlan", tpid: 0x88a8, id: 100, pcp: 3, dei: true, type: 0x8100 }
 * ```
 */
export const decodeVlan: Decoder = (bytes, state) => {
  // The stack is capped as the IPv6 extension chain is: real frames carry one
  // tag, two for 802.1ad QinQ, rarely three; a frame of thousands of tags is
  // an attack on whatever prints or keeps them. The tags before this one are
  // counted back from the end (at most MAX_VLAN_TAGS steps).
  const layers = state.layers;
  const at = state.offset;
  let depth = 0;
  for (let k = layers.length - 1; k >= 0 && layers[k]!.layer === "vlan"; k--) {
    if (++depth >= MAX_VLAN_TAGS) {
      state.issues.push({ layer: "vlan", kind: "malformed", reason: `more than ${MAX_VLAN_TAGS} stacked tags` });
      return null;
    }
  }
  const value = pooledValue(state.pool?.vlan, layers.length, newVlan);
  const reason = VlanView.readInto(bytes, at, state.end, value);
  if (reason !== null) {
    state.issues.push({ layer: "vlan", kind: "truncated", reason });
    return null;
  }
  value.tpid = outerType(layers[layers.length - 1]);
  layers.push(value);
  return nextAfterTypeField(value.type, at + VLAN_HEADER_LENGTH, state, "vlan");
};

/**
 * Builds a VLAN tag's 4 bytes: see {@link VlanInput} for the defaults.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "vlan", id: 1 }, { layer: "ipv4" }]).subarray(0, 4); // 00 01 08 00
 * ```
 */
export const vlanCodec: Codec<VlanInput> = {
  headerLength: () => VLAN_HEADER_LENGTH,
  write(v, out, ctx) {
    const view = new VlanView(out);
    view.tci = 0;
    view.pcp = v.pcp ?? 0;
    view.dei = v.dei === true;
    view.id = v.id ?? 0;
    view.type = typeFieldFor(v.type, undefined, out.length - VLAN_HEADER_LENGTH, ctx);
  },
};

/** A VLAN tag in the registry: announced by any of the TPIDs, 0x8100 written by default. */
export const vlanProtocol: Protocol<"vlan", Vlan, VlanInput> = {
  kind: "vlan",
  decode: decodeVlan,
  codec: vlanCodec,
  pooled: true,
  claims: { ethertypes: VLAN_TPIDS },
  inputRules: { tpid: 0xffff, id: 0xfff, pcp: 7, dei: "bool", type: 0xffff },
};
