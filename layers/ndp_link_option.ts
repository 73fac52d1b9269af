/**
 * The NDP link-layer address options (RFC 4861 §4.6.1: type 1 source, type 2
 * target; over Ethernet 8 bytes: type, length 1 (× 8 bytes), the 6-byte MAC)
 * read and written without allocating, for a stack that answers neighbor
 * solicitations on every packet path. `ndp.ts` has every option as values.
 *
 * @example
 * ```ts
 * import { findLinkLayerAddress, writeLinkLayerAddress } from "./ndp_link_option.ts";
 * const at = findLinkLayerAddress(bytes, optionsStart, optionsEnd, NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS);
 * if (at >= 0) mac = bytes.subarray(at, at + 6);
 * ```
 *
 * @module
 */
import { NDP_OPTION } from "./ndp.ts";

/** Bytes of a link-layer address option carrying a MAC. */
export const LINK_LAYER_OPTION_LENGTH = 8;

/**
 * Where the 6-byte MAC of the first option of `type` (source or target
 * link-layer address) in `b[start, end)` starts, or -1. A zero-length option
 * makes the list invalid (RFC 4861 §4.6: the message is then discarded): -2.
 */
export function findLinkLayerAddress(b: Uint8Array, start: number, end: number, type: number): number {
  let i = start;
  while (i + 2 <= end) {
    const len = b[i + 1]! * 8;
    if (len === 0) return -2;
    if (i + len > end) return -2;
    if (b[i] === type && len >= LINK_LAYER_OPTION_LENGTH) return i + 2;
    i += len;
  }
  return -1;
}

/** Write a link-layer address option of `type` carrying `mac` at `b[at]`; returns the offset after it. */
export function writeLinkLayerAddress(type: number, mac: Uint8Array, b: Uint8Array, at: number): number {
  b[at] = type;
  b[at + 1] = 1;
  b.set(mac.subarray(0, 6), at + 2);
  return at + LINK_LAYER_OPTION_LENGTH;
}

