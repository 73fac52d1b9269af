/**
 * Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113): the 16-byte pseudo-header
 * libpcap writes when capturing on "any" or on links without a usable link
 * header. https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
 * A zero-copy {@link SllView}, the decoded value {@link Sll}, {@link decodeSll}
 * and {@link sllCodec}; the link-address helpers SLL2 shares.
 *
 * ```text
 *  0         2          4          6                        14         16
 * +---------+----------+----------+------------------------+----------+---------
 * | packet  | address  | address  | address (8 bytes, the  | protocol | payload
 * | type    | type     | length   | first `length` used)   |          |
 * +---------+----------+----------+------------------------+----------+---------
 * ```
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
import { put16, u16 } from "./bytes.ts";
import type { Codec, DecodeState, Decoder, EncodeContext, Input, LayerBase, LayerName, Protocol } from "./core.ts";
import { ARPHRD_ETHER, ETH_P_802_2, LINKTYPE } from "./dispatch.ts";
import { ethertypeFor } from "./ethernet.ts";
import { ByteView } from "./view.ts";

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


/** Bytes in the SLL header. */
export const SLL_HEADER_LENGTH = 16;

/** Byte offsets of the SLL header's fields, from the header's start. */
export const SLL_FIELD = { PACKET_TYPE: 0, ADDRESS_TYPE: 2, ADDRESS_LENGTH: 4, ADDRESS: 6, PROTOCOL: 14 } as const;

/** Bytes in a cooked capture's address field (SLL and SLL2): longer addresses are cut to it. */
export const LINK_ADDRESS_FIELD_LENGTH = 8;

/**
 * The bytes of a colon-hex link-layer address (`02:77:00:00:00:01`, `-` also
 * separates; one or two hex digits per byte, at most 8 bytes); "" gives none.
 * Throws `RangeError` on anything else.
 *
 * @example
 * ```ts
 * parseLinkAddress("01:02:0a"); // Uint8Array [1, 2, 10]
 * ```
 */
export function parseLinkAddress(text: string): Uint8Array {
  if (text === "") return new Uint8Array(0);
  const parts = text.split(/[:-]/);
  if (parts.length > LINK_ADDRESS_FIELD_LENGTH || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`Invalid link-layer address: "${text}"`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/**
 * Text form of a link-layer address field (shared with SLL2): MAC form for 6
 * bytes, else colon hex of the first `stated` bytes, at most 8.
 *
 * @example
 * ```ts
 * formatLinkAddress(frame, view.addressOffset, view.addressLength); // "02:77:00:00:00:01"
 * ```
 */
export function formatLinkAddress(b: Uint8Array, offset: number, stated: number): string {
  const n = Math.min(stated, LINK_ADDRESS_FIELD_LENGTH);
  return n === 6 ? formatMac(b, offset) : formatHexColon(b, offset, n);
}

/**
 * Write a colon-hex address (up to 8 bytes) and return its length.
 *
 * @example
 * ```ts
 * writeLinkAddress(out, 6, "02:77:00:00:00:01"); // 6
 * ```
 */
export function writeLinkAddress(out: Uint8Array, offset: number, text: string | undefined): number {
  if (text === undefined) return 0;
  const address = parseLinkAddress(text);
  out.set(address, offset);
  return address.length;
}

/**
 * Copy a link-layer address (at most 8 bytes; `RangeError` for more) into a
 * cooked capture's 8-byte address field at `offset`, zero-filling the rest of
 * the field. The address setters of {@link SllView} and `Sll2View`.
 *
 * @example
 * ```ts
 * putLinkAddress(out, 6, Uint8Array.of(2, 0x77, 0, 0, 0, 1)); // out[6, 14) = 02 77 00 00 00 01 00 00
 * ```
 */
export function putLinkAddress(bytes: Uint8Array, offset: number, address: Uint8Array): void {
  if (address.length > LINK_ADDRESS_FIELD_LENGTH) {
    throw new RangeError(`A cooked-capture address field holds 8 bytes, not ${address.length}`);
  }
  bytes.set(address, offset);
  bytes.fill(0, offset + address.length, offset + LINK_ADDRESS_FIELD_LENGTH);
}

/**
 * The stored part of a cooked capture's 8-byte address field at `offset`: the
 * first `stated` bytes, at most 8, as a view of `bytes`. The address getters
 * of {@link SllView} and `Sll2View`.
 *
 * @example
 * ```ts
 * linkAddressAt(frame, 6, 20).length; // 8: a lying length shows the stored bytes only
 * ```
 */
export function linkAddressAt(bytes: Uint8Array, offset: number, stated: number): Uint8Array {
  return bytes.subarray(offset, offset + Math.min(stated, LINK_ADDRESS_FIELD_LENGTH));
}

/**
 * A Linux cooked capture v1 header over bytes, without copying: it starts at
 * `at` in `bytes`, and the view may read up to `end` (exclusive; default: the
 * end of `bytes`). The constructor checks nothing; call {@link SllView.check}
 * once. `address` reads the stored part of the 8-byte address field (the
 * first `addressLength` bytes, at most 8); its setter fills the whole field
 * (the given bytes, then zeros) and leaves `addressLength` to be set apart.
 *
 * @example
 * ```ts
 * const sll = new SllView(frame);
 * if (sll.check() === null) console.log(sll.packetType, sll.protocol.toString(16), sll.address);
 * ```
 */
export class SllView extends ByteView {
  /** null when the 16-byte header fits, else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    return n < SLL_HEADER_LENGTH ? `header needs 16 bytes, got ${n}` : null;
  }

  /** 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us */
  get packetType(): number {
    return u16(this.bytes, this.at); // SLL_FIELD.PACKET_TYPE
  }
  set packetType(v: number) {
    put16(this.bytes, this.at, v); // SLL_FIELD.PACKET_TYPE
  }
  /** ARPHRD_* link-layer address type (1 = Ethernet) */
  get addressType(): number {
    return u16(this.bytes, this.at + 2); // SLL_FIELD.ADDRESS_TYPE
  }
  set addressType(v: number) {
    put16(this.bytes, this.at + 2, v); // SLL_FIELD.ADDRESS_TYPE
  }
  /** link-layer address length as stated (may exceed the 8 bytes stored) */
  get addressLength(): number {
    return u16(this.bytes, this.at + 4); // SLL_FIELD.ADDRESS_LENGTH
  }
  set addressLength(v: number) {
    put16(this.bytes, this.at + 4, v); // SLL_FIELD.ADDRESS_LENGTH
  }
  /** Where the address field starts in `bytes`. */
  get addressOffset(): number {
    return this.at + 6; // SLL_FIELD.ADDRESS
  }
  /** The stored address: the first `addressLength` bytes of the field (at most 8), a view of `bytes`. */
  get address(): Uint8Array {
    return linkAddressAt(this.bytes, this.addressOffset, this.addressLength);
  }
  /** Copies up to 8 bytes in and zero-fills the rest of the field; `addressLength` is not touched. */
  set address(address: Uint8Array) {
    putLinkAddress(this.bytes, this.addressOffset, address);
  }
  /** ethertype, or a Linux ETH_P_* value below 0x0600 (4 = 802.2 LLC frames) */
  get protocol(): number {
    return u16(this.bytes, this.at + 14); // SLL_FIELD.PROTOCOL
  }
  /** `protocol` of the header at `bytes[at]`, read without a view object, for per-packet loops (the same offset as the getter). */
  static protocolAt(bytes: Uint8Array, at: number): number {
    return u16(bytes, at + 14); // SLL_FIELD.PROTOCOL
  }
  set protocol(v: number) {
    put16(this.bytes, this.at + 14, v); // SLL_FIELD.PROTOCOL
  }

  /** Where the payload starts in `bytes`. */
  get payloadStart(): number {
    return this.at + SLL_HEADER_LENGTH;
  }
  /** Where the payload ends: `end` (the layer inside drops any padding). */
  get payloadEnd(): number {
    return this.end;
  }
  /** The payload, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }
}

/**
 * The layer after a cooked-capture protocol field; the payload starts at `start`.
 *
 * @example
 * ```ts
 * return sllNext(view.protocol, view.payloadStart, state); // "llc" for ETH_P_802_2, else by ethertype
 * ```
 */
export function sllNext(protocol: number, start: number, state: DecodeState): LayerName | null {
  state.offset = start;
  if (protocol === ETH_P_802_2) return "llc";
  return state.dispatch.ethertype(protocol);
}

/**
 * Protocol field to write for the layer inside.
 *
 * @example
 * ```ts
 * sllProtocolFor(ctx, { layer: "llc" }); // 4, ETH_P_802_2
 * ```
 */
export function sllProtocolFor(ctx: EncodeContext, inner: LayerBase | undefined = ctx.inner): number {
  return inner?.layer === "llc" ? ETH_P_802_2 : ethertypeFor(inner, ctx.dispatch);
}

const NO_ADDRESS = new Uint8Array(0);

/**
 * The address bytes to write for an SLL/SLL2 build input (none when unset).
 *
 * @example
 * ```ts
 * linkAddressBytes("02:77:00:00:00:01").length; // 6
 * ```
 */
export function linkAddressBytes(text: string | undefined): Uint8Array {
  return text === undefined ? NO_ADDRESS : parseLinkAddress(text);
}

// One view for every call, reset each time: a view made per call is not
// optimised away (measured on decodeEthernet: ~6 ns a call, a tenth of its
// time). The decoder never runs inside itself, so one is enough; like a
// pooled value, it holds the last frame's bytes until the next call.
const decodeView = new SllView(new Uint8Array(0));

/**
 * Decode an SLL header and go on with the layer its protocol field names.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * decodePacket(frame, 113).layers[0]; // { layer: "sll", packetType: 4, addressType: 1, addressLength: 6, ... }
 * ```
 */
export const decodeSll: Decoder = (bytes, state) => {
  const view = decodeView.reset(bytes, state.offset, state.end);
  const reason = view.check();
  if (reason !== null) {
    state.issues.push({ layer: "sll", kind: "truncated", reason });
    return null;
  }
  const addressLength = view.addressLength;
  const protocol = view.protocol;
  const value: Sll = {
    layer: "sll",
    packetType: view.packetType,
    addressType: view.addressType,
    addressLength,
    address: formatLinkAddress(bytes, view.addressOffset, addressLength),
    protocol,
  };
  state.layers.push(value);
  return sllNext(protocol, view.payloadStart, state);
};

/**
 * Builds an SLL header: see {@link SllInput} for the defaults.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "sll", packetType: 4, address: "02:77:00:00:00:01" }, { layer: "ipv4" }]).subarray(14, 16); // 08 00
 * ```
 */
export const sllCodec: Codec<SllInput> = {
  headerLength: () => SLL_HEADER_LENGTH,
  write(v, out, ctx) {
    const view = new SllView(out);
    const address = linkAddressBytes(v.address);
    view.packetType = v.packetType ?? 0;
    view.addressType = v.addressType ?? ARPHRD_ETHER;
    view.addressLength = v.addressLength ?? address.length;
    view.address = address;
    view.protocol = v.protocol ?? sllProtocolFor(ctx);
  },
};

/** SLL in the registry: the first layer of LINKTYPE_LINUX_SLL frames. */
export const sllProtocol: Protocol<"sll", Sll, SllInput> = {
  kind: "sll",
  decode: decodeSll,
  codec: sllCodec,
  claims: { linkTypes: [LINKTYPE.LINUX_SLL] },
  inputRules: { packetType: 0xffff, addressType: 0xffff, addressLength: 0xffff, address: "text", protocol: 0xffff },
};
