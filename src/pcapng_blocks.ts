/**
 * The pcapng wire codes shared by the reader (pcapng.ts) and the writer
 * (pcapng_writer.ts): block types, the byte-order magic, option codes
 * (draft-ietf-opsawg-pcapng).
 *
 * @example
 * ```ts
 * import { PCAPNG_BLOCK } from "./pcapng_blocks.ts";
 * PCAPNG_BLOCK.ENHANCED_PACKET; // 6
 * ```
 *
 * @module
 */

/** Block type codes (draft-ietf-opsawg-pcapng section 10.1). */
export const PCAPNG_BLOCK = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  /** obsolete Packet Block */
  PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
  DECRYPTION_SECRETS: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NO_COPY: 0x40000bad,
} as const;

/** The SHB byte-order magic, as written in the section's own byte order. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes used here (draft-ietf-opsawg-pcapng sections 4.1, 4.2, 4.3). */
export const PCAPNG_OPTION = {
  END_OF_OPT: 0,
  SHB_HARDWARE: 2,
  SHB_OS: 3,
  SHB_USERAPPL: 4,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_FILTER: 11,
  IF_TSOFFSET: 14,
  /** EPB: a 32-bit flags word (direction, reception type, link-layer errors) */
  EPB_FLAGS: 2,
} as const;

/**
 * The direction bits (0-1) of epb_flags (draft-ietf-opsawg-pcapng 4.3.1):
 * tshark shows them as `frame.packet_flags_direction`.
 */
export const PCAPNG_EPB_DIRECTION = {
  UNKNOWN: 0,
  INBOUND: 1,
  OUTBOUND: 2,
} as const;
