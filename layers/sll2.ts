/**
 * Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276): 20 bytes, with the
 * interface index. https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(frame, 276).layers[0]; // { layer: "sll2", protocol: 2048, interfaceIndex: 2, ... }
 * ```
 *
 * @module
 */
import type { Codec, Decoder, Input, LayerBase, Protocol } from "./core.ts";
import { LINKTYPE } from "./dispatch.ts";
import { formatLinkAddress, sllNext, sllProtocolFor, writeLinkAddress } from "./sll.ts";

/** A decoded SLL2 header. */
export interface Sll2 extends LayerBase {
  layer: "sll2";
  /** ethertype, or a Linux ETH_P_* value below 0x0600 (4 = 802.2 LLC frames) */
  protocol: number;
  interfaceIndex: number;
  /** ARPHRD_* link-layer address type (1 = Ethernet) */
  addressType: number;
  /** 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us */
  packetType: number;
  /** link-layer address length as stated */
  addressLength: number;
  address: string;
}

/** Build input. Unset: numbers 0 except `addressType` 1, `protocol` from the layer inside, `address` empty. */
export type Sll2Input = Input<Sll2>;

export const decodeSll2: Decoder = (bytes, state) => {
  const at = state.offset;
  const n = state.end - at;
  if (n < 20) {
    state.issues.push({ layer: "sll2", kind: "truncated", reason: `header needs 20 bytes, got ${n}` });
    return null;
  }
  const protocol = (bytes[at]! << 8) | bytes[at + 1]!;
  const addressLength = bytes[at + 11]!;
  const value: Sll2 = {
    layer: "sll2",
    protocol,
    interfaceIndex: ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0,
    addressType: (bytes[at + 8]! << 8) | bytes[at + 9]!,
    packetType: bytes[at + 10]!,
    addressLength,
    address: formatLinkAddress(bytes, at + 12, addressLength),
  };
  state.layers.push(value);
  return sllNext(protocol, at + 20, state);
};

export const sll2Codec: Codec<Sll2Input> = {
  headerLength: () => 20,
  write(v, out, ctx) {
    out.fill(0, 0, 20);
    const protocol = v.protocol ?? sllProtocolFor(ctx);
    out[0] = protocol >> 8;
    out[1] = protocol & 0xff;
    const index = v.interfaceIndex ?? 0;
    out[4] = (index >>> 24) & 0xff;
    out[5] = (index >>> 16) & 0xff;
    out[6] = (index >>> 8) & 0xff;
    out[7] = index & 0xff;
    const addressType = v.addressType ?? 1;
    out[8] = addressType >> 8;
    out[9] = addressType & 0xff;
    out[10] = v.packetType ?? 0;
    const n = writeLinkAddress(out, 12, v.address);
    out[11] = v.addressLength ?? n;
  },
};

/** SLL2 in the registry: the first layer of LINKTYPE_LINUX_SLL2 frames. */
export const sll2Protocol: Protocol<"sll2", Sll2, Sll2Input> = {
  kind: "sll2",
  decode: decodeSll2,
  codec: sll2Codec,
  claims: { linkTypes: [LINKTYPE.LINUX_SLL2] },
};
