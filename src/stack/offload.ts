/**
 * Checksums a sender left to offload. A Linux host that offloads transmit
 * checksums writes only the folded pseudo-header sum into a TCP or UDP
 * header (CHECKSUM_PARTIAL) and leaves the rest to the NIC; on a veth pair
 * there is no NIC, and the frame reaches the peer, and our capture of it, in
 * that state. The kernel on the far end trusts it (the skb says so); a stack
 * reading frames from a capture sees only the bytes, so it takes a field
 * that equals the pseudo-header sum as "left for offload". The chance that a
 * corrupted segment passes is the same one in 65536 as for a right checksum.
 *
 * @example
 * ```ts
 * import { isPartialChecksum } from "./offload.ts";
 * isPartialChecksum(view.checksum, src, dst, 6, end - at); // true for a veth peer's segment
 * ```
 *
 * @module
 */
import { foldSum, pseudoHeaderSum } from "../../layers/checksum.ts";

/** Whether `stored` is the pseudo-header-only sum of a segment of `length` bytes from `src` to `dst`. */
export function isPartialChecksum(stored: number, src: Uint8Array, dst: Uint8Array, protocol: number, length: number): boolean {
  const partial = foldSum(pseudoHeaderSum(src, dst, protocol, length));
  // 0 and 0xffff are the same ones-complement number.
  return stored === partial || (partial === 0xffff && stored === 0);
}
