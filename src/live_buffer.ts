/**
 * The kernel buffer a live capture asks for by default (live.ts), and why:
 * figures from the capture bench (bench/capture.js) on this project's hosts.
 *
 * @example
 * ```ts
 * import { defaultBufferSize } from "./live_buffer.ts";
 * defaultBufferSize(262144, false); // 16 MiB: buffered (TPACKET_V3) capture
 * ```
 *
 * @module
 */

const MIB = 1 << 20;

/**
 * The kernel buffer we ask for by default. It is mapped into the process and
 * counts in its memory (RSS) from the start, so it is sized for the rates the
 * capture bench (bench/capture.js) shows we can take, not more:
 *
 * - without immediate mode, TPACKET_V3 packs frames into blocks: on this
 *   shared 2-core host 8 MiB and 16 MiB kept zero drops with `capture -w` at
 *   every rate the bench offered (0.3-0.57 M frames/s of 60 bytes), as 32 MiB
 *   did; 16 MiB holds ~110 ms of the 1.4 M/s a quiet host offers (the README's
 *   row), a margin for a busy event loop, for 16 MiB less memory;
 * - with immediate mode libpcap 1.10 uses TPACKET_V2, whose ring slots are as
 *   large as the snaplen (capped near 64 KiB plus headers when offloads make
 *   large frames possible): about 2048 slots, between 2 MiB and 16 MiB. What
 *   drops in immediate mode at high rates is the per-frame work (printing
 *   keeps ~0.1-0.14 M lines/s here), which no ring size fixes; 64 MiB held an
 *   idle `stackts capture` at 188 MB of memory for a burst of ~1000 frames more.
 */
export function defaultBufferSize(snaplen: number, immediate: boolean): number {
  if (!immediate) return 16 * MIB;
  return Math.min(16 * MIB, Math.max(2 * MIB, 2048 * ringSlotSize(snaplen)));
}

/** Bytes of one TPACKET_V2 ring slot for a snaplen (frame header and alignment included). */
export function ringSlotSize(snaplen: number): number {
  const data = Math.min(snaplen, 65535 + 18);
  return (data + 96 + 15) & ~15;
}

