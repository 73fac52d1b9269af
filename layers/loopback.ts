/**
 * BSD loopback encapsulation: a 4-byte address family before the IP packet.
 * LINKTYPE_NULL stores it in the capturing host's byte order, LINKTYPE_LOOP in
 * network order; the decoder tells them apart by which end holds the zeros (a
 * family is a small number). AF_INET6 differs by OS: 10 Linux, 24
 * NetBSD/OpenBSD, 28 FreeBSD, 30 macOS. https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html
 * A zero-copy {@link LoopbackView}, the decoded value {@link Loopback},
 * {@link decodeLoopback} and {@link loopbackCodec}.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(Uint8Array.of(2, 0, 0, 0, ...ipv4), 0).layers[0]; // { layer: "loopback", family: 2, byteOrder: "little" }
 * ```
 *
 * @module
 */
import { put32, u32 } from "./bytes.ts";
import type { Codec, Decoder, Dispatch, Input, LayerBase, Protocol } from "./core.ts";
import { LINKTYPE } from "./dispatch.ts";
import { ByteView } from "./view.ts";

/** A decoded loopback header. */
export interface Loopback extends LayerBase {
  layer: "loopback";
  /** address family (2 = IPv4; 10, 24, 28, 30 = IPv6) */
  family: number;
  /** the byte order the family was stored in */
  byteOrder: "big" | "little";
}

/**
 * Build input. Unset: `family` 2 for IPv4 inside and 24 for IPv6 (the BSD
 * value libpcap documents first), `byteOrder` "big" (right for LINKTYPE_LOOP;
 * readers of LINKTYPE_NULL detect either order).
 */
export type LoopbackInput = Input<Loopback>;

/** Bytes in the loopback header. */
export const LOOPBACK_HEADER_LENGTH = 4;

/** Byte offsets of the loopback header's one field, from the header's start. */
export const LOOPBACK_FIELD = { FAMILY: 0 } as const;

/** The unsigned 32-bit little-endian value at `b[at]` (LINKTYPE_NULL from a little-endian host). */
function u32Little(b: Uint8Array, at: number): number {
  return ((b[at + 3]! << 24) | (b[at + 2]! << 16) | (b[at + 1]! << 8) | b[at]!) >>> 0;
}

/** Write the low 32 bits of `v` little-endian at `b[at]`. */
function put32Little(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/**
 * A loopback header over bytes, without copying: the 4-byte family starts at
 * `at` in `bytes`, and the view may read up to `end` (exclusive; default: the
 * end of `bytes`). The constructor checks nothing; call
 * {@link LoopbackView.check} once. The byte order is not a field of its own
 * but how the one field is stored, so `family` reads in the order
 * `byteOrder` detects, and {@link LoopbackView.setFamily} writes both.
 *
 * @example
 * ```ts
 * const lo = new LoopbackView(Uint8Array.of(30, 0, 0, 0));
 * lo.family; // 30 (macOS AF_INET6), lo.byteOrder "little"
 * lo.setFamily(2, "big"); // bytes 00 00 00 02
 * ```
 */
export class LoopbackView extends ByteView {
  /** null when the 4-byte header fits, else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    return n < LOOPBACK_HEADER_LENGTH ? `header needs 4 bytes, got ${n}` : null;
  }

  /**
   * The order the family is stored in: "big" when its first two bytes are
   * zero (a family is a small number, so its zeros are at the high end).
   */
  get byteOrder(): "big" | "little" {
    const at = this.at; // LOOPBACK_FIELD.FAMILY
    return this.bytes[at] === 0 && this.bytes[at + 1] === 0 ? "big" : "little";
  }
  /** address family (2 = IPv4; 10, 24, 28, 30 = IPv6), read in `byteOrder` */
  get family(): number {
    const at = this.at; // LOOPBACK_FIELD.FAMILY
    return this.byteOrder === "big" ? u32(this.bytes, at) : u32Little(this.bytes, at);
  }
  /** Write `family` (unsigned 32 bits) in `byteOrder`: "big" for LINKTYPE_LOOP, the host's for LINKTYPE_NULL. */
  setFamily(family: number, byteOrder: "big" | "little"): void {
    const at = this.at; // LOOPBACK_FIELD.FAMILY
    if (byteOrder === "big") put32(this.bytes, at, family);
    else put32Little(this.bytes, at, family);
  }

  /** Where the payload starts in `bytes`. */
  get payloadStart(): number {
    return this.at + LOOPBACK_HEADER_LENGTH;
  }
  /** Where the payload ends: `end` (the IP layer inside drops any padding). */
  get payloadEnd(): number {
    return this.end;
  }
  /** The payload, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }
}

// One view for every call, reset each time: a view made per call is not
// optimised away (measured on decodeEthernet: ~6 ns a call, a tenth of its
// time). The decoder never runs inside itself, so one is enough; like a
// pooled value, it holds the last frame's bytes until the next call.
const decodeView = new LoopbackView(new Uint8Array(0));

/**
 * Decode a loopback header (either byte order) and go on with the layer its family names.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(Uint8Array.of(0, 0, 0, 24, ...ipv6), 108).layers[0]; // { layer: "loopback", family: 24, byteOrder: "big" }
 * ```
 */
export const decodeLoopback: Decoder = (bytes, state) => {
  const view = decodeView.reset(bytes, state.offset, state.end);
  const reason = view.check();
  if (reason !== null) {
    state.issues.push({ layer: "loopback", kind: "truncated", reason });
    return null;
  }
  const family = view.family;
  const value: Loopback = { layer: "loopback", family, byteOrder: view.byteOrder };
  state.layers.push(value);
  state.offset = view.payloadStart;
  return state.dispatch.addressFamily(family);
};

function familyFor(inner: LayerBase | undefined, dispatch: Dispatch | undefined): number {
  return inner === undefined ? 0 : (dispatch?.addressFamilyOf(inner.layer) ?? 0);
}

/**
 * Builds a loopback header: see {@link LoopbackInput} for the defaults.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "loopback", byteOrder: "little" }, { layer: "ipv4" }]).subarray(0, 4); // 02 00 00 00
 * ```
 */
export const loopbackCodec: Codec<LoopbackInput> = {
  headerLength: () => LOOPBACK_HEADER_LENGTH,
  write(v, out, ctx) {
    new LoopbackView(out).setFamily(v.family ?? familyFor(ctx.inner, ctx.dispatch), v.byteOrder === "little" ? "little" : "big");
  },
};

/** Loopback in the registry: the first layer of LINKTYPE_NULL and LINKTYPE_LOOP frames. */
export const loopbackProtocol: Protocol<"loopback", Loopback, LoopbackInput> = {
  kind: "loopback",
  decode: decodeLoopback,
  codec: loopbackCodec,
  claims: { linkTypes: [LINKTYPE.NULL, LINKTYPE.LOOP] },
  inputRules: { family: 0xffffffff, byteOrder: ["big", "little"] },
};
