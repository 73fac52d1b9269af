/**
 * BSD loopback encapsulation: a 4-byte address family before the IP packet.
 * LINKTYPE_NULL stores it in the capturing host's byte order, LINKTYPE_LOOP in
 * network order; the decoder tells them apart by which end holds the zeros (a
 * family is a small number). AF_INET6 differs by OS: 10 Linux, 24
 * NetBSD/OpenBSD, 28 FreeBSD, 30 macOS. https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(Uint8Array.of(2, 0, 0, 0, ...ipv4), 0).layers[0]; // { layer: "loopback", family: 2, byteOrder: "little" }
 * ```
 *
 * @module
 */
import type { Codec, Decoder, Dispatch, Input, LayerBase, Protocol } from "./core.ts";
import { LINKTYPE } from "./dispatch.ts";

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

export const decodeLoopback: Decoder = (bytes, state) => {
  const at = state.offset;
  const n = state.end - at;
  if (n < 4) {
    state.issues.push({ layer: "loopback", kind: "truncated", reason: `header needs 4 bytes, got ${n}` });
    return null;
  }
  const b0 = bytes[at]!;
  const b1 = bytes[at + 1]!;
  const b2 = bytes[at + 2]!;
  const b3 = bytes[at + 3]!;
  const big = b0 === 0 && b1 === 0;
  const family = big ? ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0 : ((b3 << 24) | (b2 << 16) | (b1 << 8) | b0) >>> 0;
  const value: Loopback = { layer: "loopback", family, byteOrder: big ? "big" : "little" };
  state.layers.push(value);
  state.offset = at + 4;
  return state.dispatch.addressFamily(family);
};

function familyFor(inner: LayerBase | undefined, dispatch: Dispatch | undefined): number {
  return inner === undefined ? 0 : (dispatch?.addressFamilyOf(inner.layer) ?? 0);
}

export const loopbackCodec: Codec<LoopbackInput> = {
  headerLength: () => 4,
  write(v, out, ctx) {
    const f = (v.family ?? familyFor(ctx.inner, ctx.dispatch)) >>> 0;
    const b = [(f >>> 24) & 0xff, (f >>> 16) & 0xff, (f >>> 8) & 0xff, f & 0xff];
    if (v.byteOrder === "little") b.reverse();
    out.set(b, 0);
  },
};

/** Loopback in the registry: the first layer of LINKTYPE_NULL and LINKTYPE_LOOP frames. */
export const loopbackProtocol: Protocol<"loopback", Loopback, LoopbackInput> = {
  kind: "loopback",
  decode: decodeLoopback,
  codec: loopbackCodec,
  claims: { linkTypes: [LINKTYPE.NULL, LINKTYPE.LOOP] },
};
