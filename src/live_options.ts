/**
 * What a live capture takes and reports (live.ts): its options, the settings
 * it runs with, and its counters. Types only.
 *
 * @example
 * ```ts
 * import type { LiveOptions } from "./live_options.ts";
 * const options: LiveOptions = { filter: "tcp port 80", immediate: true };
 * ```
 *
 * @module
 */

export type Direction = "in" | "out" | "inout";
export interface LiveOptions {
  /** bytes kept of each frame; default 262144 (whole frames) */
  snaplen?: number;
  /** promiscuous mode; default true */
  promisc?: boolean;
  /** kernel buffer in bytes; default sized from the snaplen (see {@link defaultBufferSize}) */
  bufferSize?: number;
  /**
   * deliver each frame as soon as it arrives; default true. Off, libpcap uses
   * TPACKET_V3 blocks: fewer drops at high rates, but frames wait until a block
   * fills or `timeoutMs` passes.
   */
  immediate?: boolean;
  /** with immediate off: the longest a frame waits in a block, ms; default 100 */
  timeoutMs?: number;
  /** time stamp precision asked of the kernel; default "nano" (falls back to micro, with a warning) */
  precision?: "nano" | "micro";
  /** which frames: received ("in"), sent ("out") or both; default "inout" */
  direction?: Direction;
  /** BPF filter expression (pcap-filter syntax) */
  filter?: string;
  /** open the device inside network namespace /run/netns/NAME (needs root) */
  netns?: string;
  /** frames the async iterator may hold before reading pauses; default 65536 */
  queueFrames?: number;
  /**
   * DLT_* to capture as (pcap_set_datalink if offered, else a warning). Default: the
   * device's own; on "any", LINUX_SLL2 (276) as tcpdump 4.99: it names each frame's interface.
   */
  linkType?: number;
  /**
   * receive coalescing (software GRO, as Linux does for a NIC; default false):
   * within a batch, consecutive in-order TCP segments of one connection (over
   * IPv4 without options, or IPv6 without extension headers) that differ only
   * in sequence number and data become one segment of up to 64 KB, each
   * checksum verified first and the merged one carrying the pseudo-header sum
   * (a partial checksum, as a Linux GRO packet). For a userspace stack, which
   * then handles a burst once; never for a capture that shows the wire.
   * Ethernet only.
   */
  gro?: boolean;
}

/** The settings a capture actually runs with, for display (`stackts capture -v`). */
export interface LiveConfig {
  device: string;
  netns: string | null;
  snaplen: number;
  promisc: boolean;
  bufferSize: number;
  immediate: boolean;
  timeoutMs: number;
  precision: "nano" | "micro";
  direction: Direction;
  filter: string | null;
  /** immediate mode only: about how many frames the kernel ring holds (TPACKET_V2 slots are snaplen-sized) */
  ringFrames: number | null;
  /** most frames / bytes one batch carries */
  batchFrames: number;
  batchBytes: number;
  queueFrames: number;
}

export interface CaptureStats {
  /** frames the kernel handed to this capture's socket (after the filter), including those it dropped */
  received: number;
  /** frames the kernel dropped because the ring was full */
  dropped: number;
  /** frames the interface dropped (from /sys of the calling process; 0 inside a namespace) */
  ifDropped: number;
  /** frames delivered to JavaScript so far */
  delivered: number;
  /** with `gro`: wire frames merged into the frame before them (so not counted in `delivered`) */
  merged: number;
}
