/**
 * Ethernet II and IEEE 802.3 frames (the 802.2 LLC header that follows an
 * 802.3 length field is `llc.ts`): a zero-copy {@link EthernetView}, the
 * decoded value {@link Ethernet}, {@link decodeEthernet} and
 * {@link ethernetCodec}.
 *
 * ```text
 *  0                   6                  12      14
 * +-------------------+-------------------+-------+---------
 * | destination MAC   | source MAC        | type  | payload
 * +-------------------+-------------------+-------+---------
 * ```
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
import { formatMac, macBytes, type AddressInput } from "./addr.ts";
import { put16, u16 } from "./bytes.ts";
import { pooledValue, type Codec, type DecodeState, type Decoder, type Dispatch, type EncodeContext, type LayerBase, type LayerName, type Protocol } from "./core.ts";
import { ETHERNET_MAX_LENGTH, ETHERTYPE_VLAN, LINKTYPE } from "./dispatch.ts";
import { ByteView } from "./view.ts";

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
 * instead, derived from the payload size unless given. Addresses are text or
 * their 6 bytes.
 *
 * @example
 * ```ts
 * const input: EthernetInput = { layer: "ethernet", dst: "ff:ff:ff:ff:ff:ff", src: Uint8Array.of(2, 0, 0, 0, 0, 1) };
 * ```
 */
export interface EthernetInput {
  layer: "ethernet";
  src?: AddressInput;
  dst?: AddressInput;
  type?: number;
  length?: number;
}

/** Bytes in the Ethernet header (no 802.1Q tag, no FCS: captures hold neither FCS nor preamble). */
export const ETHERNET_HEADER_LENGTH = 14;

/** Byte offsets of the Ethernet header's fields (IEEE 802.3 §3.1.1), from the header's start. */
export const ETHERNET_FIELD = { DST: 0, SRC: 6, TYPE: 12 } as const;

const MAC_LENGTH = 6;
const ZERO_MAC = new Uint8Array(MAC_LENGTH);

function putMac(bytes: Uint8Array, offset: number, mac: Uint8Array): void {
  if (mac.length !== MAC_LENGTH) throw new RangeError(`A MAC address has 6 bytes, not ${mac.length}`);
  bytes.set(mac, offset);
}

/**
 * An Ethernet header over bytes, without copying: the header starts at `at`
 * in `bytes`, and the view may read up to `end` (exclusive; default: the end
 * of `bytes`). The constructor checks nothing; call {@link EthernetView.check}
 * once before trusting the fields. Addresses read as 6-byte `subarray`s of
 * `bytes` (a later write to the frame shows through) and are set by copying
 * 6 bytes in.
 *
 * @example
 * ```ts
 * const eth = new EthernetView(frame);
 * if (eth.check() === null && eth.type === ETHERTYPE_IPV4) decodeIpv4At(frame, eth.payloadStart);
 * eth.dst = macBytes("ff:ff:ff:ff:ff:ff"); // writes frame[0, 6)
 * ```
 */
export class EthernetView extends ByteView {
  /**
   * null when the 14-byte header fits, else the reason. An 802.3 length
   * larger than the bytes is not a reason here: the header itself is whole
   * (`payloadEnd` then keeps `end`).
   */
  check(): string | null {
    const n = this.end - this.at;
    return n < ETHERNET_HEADER_LENGTH ? `header needs 14 bytes, got ${n}` : null;
  }

  /** The destination MAC: a 6-byte view of `bytes`. The setter copies 6 bytes in. */
  get dst(): Uint8Array {
    return this.bytes.subarray(this.at, this.at + MAC_LENGTH); // ETHERNET_FIELD.DST
  }
  set dst(mac: Uint8Array) {
    putMac(this.bytes, this.at, mac); // ETHERNET_FIELD.DST
  }
  /** Where the destination MAC starts in `bytes` (for formatting it without a view). */
  get dstOffset(): number {
    return this.at; // ETHERNET_FIELD.DST
  }
  /** The source MAC: a 6-byte view of `bytes`. The setter copies 6 bytes in. */
  get src(): Uint8Array {
    return this.bytes.subarray(this.at + 6, this.at + 6 + MAC_LENGTH); // ETHERNET_FIELD.SRC
  }
  set src(mac: Uint8Array) {
    putMac(this.bytes, this.at + 6, mac); // ETHERNET_FIELD.SRC
  }
  /** Where the source MAC starts in `bytes`. */
  get srcOffset(): number {
    return this.at + 6; // ETHERNET_FIELD.SRC
  }
  /** The 16-bit type/length field: an ethertype above 1500, an 802.3 payload length up to it. */
  get type(): number {
    return u16(this.bytes, this.at + 12); // ETHERNET_FIELD.TYPE
  }
  /** `type` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static typeAt(bytes: Uint8Array, at: number): number {
    return u16(bytes, at + 12); // ETHERNET_FIELD.TYPE
  }
  set type(v: number) {
    put16(this.bytes, this.at + 12, v); // ETHERNET_FIELD.TYPE
  }
  /** Whether `type` is an 802.3 length (<= 1500, IEEE 802.3 §3.2.6): an LLC header follows. */
  get isLength(): boolean {
    return this.type <= ETHERNET_MAX_LENGTH;
  }

  /** Where the payload starts in `bytes`. */
  get payloadStart(): number {
    return this.at + ETHERNET_HEADER_LENGTH;
  }
  /**
   * Where the payload ends in `bytes`: for 802.3, `length` bytes after the
   * header when they are there (the padding dropped); else `end` (an Ethernet
   * II payload's own length drops the padding, one layer up).
   */
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

/**
 * What follows a 16-bit type/length field (Ethernet, VLAN) whose payload starts
 * at `start` in the decoder's bytes: an ethertype goes through `ETHERTYPE`; a
 * length (<= 1500) means LLC over exactly that many bytes. Sets
 * `state.offset`/`state.end` to the payload. Shared by the link decoders.
 *
 * @example
 * ```ts
 * return nextAfterTypeField(view.type, view.payloadStart, state, "vlan");
 * ```
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

/**
 * Decode an Ethernet header: an Ethernet II value (pooled) for a type above
 * 1500, else an 802.3 value with `length`, followed by `llc`.
 *
 * @example
 * ```ts
 * import { decodeAs } from "./decode.ts";
 * decodeAs("ethernet", frame).layers[0]; // { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02", type: 34997 }
 * ```
 */
export const decodeEthernet: Decoder = (bytes, state) => {
  // EthernetView's offsets spelled as literals, as its getters spell them:
  // every frame runs this, and a module constant (a named offset, even the
  // view's static reader) is a load and a check V8 does not fold away
  // (measured: ~5 ns of this decoder's ~15). The length test is check()'s.
  const at = state.offset;
  const n = state.end - at;
  if (n < 14) {
    // ETHERNET_HEADER_LENGTH
    state.issues.push({ layer: "ethernet", kind: "truncated", reason: `header needs 14 bytes, got ${n}` });
    return null;
  }
  const t = (bytes[at + 12]! << 8) | bytes[at + 13]!; // ETHERNET_FIELD.TYPE
  const src = formatMac(bytes, at + 6); // ETHERNET_FIELD.SRC
  const dst = formatMac(bytes, at); // ETHERNET_FIELD.DST
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
  return nextAfterTypeField(t, at + 14, state, "ethernet"); // ETHERNET_HEADER_LENGTH
};

/**
 * The ethertype to write for the layer inside (a VLAN tag's own `tpid`), 0 when it has none.
 *
 * @example
 * ```ts
 * ethertypeFor({ layer: "vlan", tpid: 0x88a8 }, dispatch); // 0x88a8
 * ```
 */
export function ethertypeFor(inner: LayerBase | undefined, dispatch: Dispatch | undefined): number {
  if (inner === undefined) return 0;
  if (inner.layer === "vlan") return (inner as { tpid?: number }).tpid ?? ETHERTYPE_VLAN;
  return dispatch?.ethertypeOf(inner.layer) ?? 0;
}

/**
 * The type/length field to write: explicit values first, then 802.3 for LLC, then the ethertype.
 *
 * @example
 * ```ts
 * typeFieldFor(undefined, undefined, 7, { ...ctx, inner: { layer: "llc" } }); // 7, an 802.3 length
 * ```
 */
export function typeFieldFor(type: number | undefined, length: number | undefined, payloadLength: number, ctx: EncodeContext): number {
  if (type !== undefined) return type;
  if (length !== undefined) return length;
  if (ctx.inner?.layer === "llc") return payloadLength;
  return ethertypeFor(ctx.inner, ctx.dispatch);
}

/**
 * Builds an Ethernet header: see {@link EthernetInput} for the defaults.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "ethernet", dst: "ff:ff:ff:ff:ff:ff" }, { layer: "arp" }]); // type 0x0806 filled in
 * ```
 */
export const ethernetCodec: Codec<EthernetInput> = {
  headerLength: () => ETHERNET_HEADER_LENGTH,
  write(v, out, ctx) {
    const view = new EthernetView(out);
    view.dst = v.dst === undefined ? ZERO_MAC : macBytes(v.dst);
    view.src = v.src === undefined ? ZERO_MAC : macBytes(v.src);
    view.type = typeFieldFor(v.type, v.length, out.length - ETHERNET_HEADER_LENGTH, ctx);
  },
};

/** Ethernet in the registry: the first layer of LINKTYPE_ETHERNET frames. */
export const ethernetProtocol: Protocol<"ethernet", Ethernet, EthernetInput> = {
  kind: "ethernet",
  decode: decodeEthernet,
  codec: ethernetCodec,
  pooled: true,
  claims: { linkTypes: [LINKTYPE.ETHERNET] },
  inputRules: { src: "mac", dst: "mac", type: 0xffff, length: 0xffff },
};
