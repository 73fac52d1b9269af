/**
 * Link-layer header types (LINKTYPE_*, as pcap and pcapng files store them).
 * The numbers live in `dispatch.ts` with the other wire values, and the first
 * layer of each in the registry (`firstKind`); this module keeps the names it
 * has always exported.
 *
 * @example
 * ```ts
 * import { LINKTYPE } from "./link_type.ts";
 * LINKTYPE.ETHERNET; // 1
 * ```
 *
 * @module
 */
export { DLT_RAW_ALIASES, LINKTYPE } from "./dispatch.ts";
