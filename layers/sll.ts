/**
 * Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113): the 16-byte pseudo-header
 * libpcap writes when capturing on "any" or on links without a usable link
 * header. https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(frame, 113).layers[0]; // { layer: "sll", packetType: 4, addressType: 1, ... }
 * ```
 *
 * @module
 */
import { formatHexColon, formatMac } from "./addr.ts";
import type { Codec, DecodeState, Decoder, EncodeContext, Input, LayerBase, LayerName, Protocol } from "./core.ts";
import { ETH_P_802_2, LINKTYPE } from "./dispatch.ts";
import { ethertypeFor } from "./ethernet.ts";

/** A decoded SLL header. Numbers stay numbers (packet type 0 host .. 4 outgoing; ARPHRD_* address types). */
export interface Sll extends LayerBase {
  layer: "sll";
  /** 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us */
  packetType: number;
  /** ARPHRD_* link-layer address type (1 = Ethernet) */
  addressType: number;
  /** link-layer address length as stated (only the first 8 bytes are stored) */
  addressLength: number;
  /** link-layer address: MAC form for 6 bytes, otherwise colon hex of up to 8 bytes */
  address: string;
  /** ethertype, or a Linux ETH_P_* value below 0x0600 (4 = 802.2 LLC frames) */
  protocol: number;
}

/**
 * Build input. Unset: `packetType` 0, `addressType` 1 (Ethernet), `address`
 * empty, `addressLength` from `address`, `protocol` from the layer inside
 * (4, ETH_P_802_2, for `llc`).
 */
export type SllInput = Input<Sll>;


/** Text form of a link-layer address field (shared with SLL2). */
export function formatLinkAddress(b: Uint8Array, offset: number, stated: number): string {
  const n = Math.min(stated, 8);
  return n === 6 ? formatMac(b, offset) : formatHexColon(b, offset, n);
}

/** Write a colon-hex address (up to 8 bytes) and return its length. */
export function writeLinkAddress(out: Uint8Array, offset: number, text: string | undefined): number {
  if (text === undefined || text === "") return 0;
  const parts = text.split(/[:-]/);
  if (parts.length > 8 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`Invalid link-layer address: "${text}"`);
  }
  parts.forEach((p, i) => (out[offset + i] = parseInt(p, 16)));
  return parts.length;
}

/** The layer after a cooked-capture protocol field; the payload starts at `start`. */
export function sllNext(protocol: number, start: number, state: DecodeState): LayerName | null {
  state.offset = start;
  if (protocol === ETH_P_802_2) return "llc";
  return state.dispatch.ethertype(protocol);
}

/** Protocol field to write for the layer inside. */
export function sllProtocolFor(ctx: EncodeContext, inner: LayerBase | undefined = ctx.inner): number {
  return inner?.layer === "llc" ? ETH_P_802_2 : ethertypeFor(inner, ctx.dispatch);
}

export const decodeSll: Decoder = (bytes, state) => {
  const at = state.offset;
  const n = state.end - at;
  if (n < 16) {
    state.issues.push({ layer: "sll", kind: "truncated", reason: `header needs 16 bytes, got ${n}` });
    return null;
  }
  const addressLength = (bytes[at + 4]! << 8) | bytes[at + 5]!;
  const protocol = (bytes[at + 14]! << 8) | bytes[at + 15]!;
  const value: Sll = {
    layer: "sll",
    packetType: (bytes[at]! << 8) | bytes[at + 1]!,
    addressType: (bytes[at + 2]! << 8) | bytes[at + 3]!,
    addressLength,
    address: formatLinkAddress(bytes, at + 6, addressLength),
    protocol,
  };
  state.layers.push(value);
  return sllNext(protocol, at + 16, state);
};

export const sllCodec: Codec<SllInput> = {
  headerLength: () => 16,
  write(v, out, ctx) {
    const packetType = v.packetType ?? 0;
    const addressType = v.addressType ?? 1;
    out.fill(0, 0, 16);
    out[0] = packetType >> 8;
    out[1] = packetType & 0xff;
    out[2] = addressType >> 8;
    out[3] = addressType & 0xff;
    const n = writeLinkAddress(out, 6, v.address);
    const addressLength = v.addressLength ?? n;
    out[4] = addressLength >> 8;
    out[5] = addressLength & 0xff;
    const protocol = v.protocol ?? sllProtocolFor(ctx);
    out[14] = protocol >> 8;
    out[15] = protocol & 0xff;
  },
};

/** SLL in the registry: the first layer of LINKTYPE_LINUX_SLL frames. */
export const sllProtocol: Protocol<"sll", Sll, SllInput> = {
  kind: "sll",
  decode: decodeSll,
  codec: sllCodec,
  claims: { linkTypes: [LINKTYPE.LINUX_SLL] },
};
