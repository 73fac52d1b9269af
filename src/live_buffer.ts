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
 * counts in its memory (RSS) from the start, so each default is what the
 * capture bench (bench/capture.js) showed it buys:
 *
 * - without immediate mode (`-w`, `--no-immediate`), TPACKET_V3 packs frames
 *   into blocks: 16 MiB kept zero drops with `capture -w` at 1.22 M frames/s
 *   of 60 bytes, as the former 32 MiB did (8 MiB too, at 0.3-0.57 M/s on a
 *   busy host), for 16 MiB less memory;
 * - with immediate mode libpcap 1.10 uses TPACKET_V2, whose ring slots are as
 *   large as the snaplen (capped near 64 KiB plus headers when offloads make
 *   large frames possible), so a small frame costs a 64 KiB slot: about 2048
 *   slots, between 2 MiB and 64 MiB. Here the ring is the batch: printing at
 *   0.75-0.84 M/s offered kept 0.24-0.26 M lines/s with 64 MiB, 0.19 with
 *   32 MiB and 0.13 with 16 MiB, so the 64 MiB stays, at ~190 MB resident for
 *   an idle `stackts capture`. `--no-immediate` printed 0.79 M/s (0.8% lost)
 *   with 16 MiB; `-B` or a smaller `-s` make the ring smaller.
 */
export function defaultBufferSize(snaplen: number, immediate: boolean): number {
  if (!immediate) return 16 * MIB;
  return Math.min(64 * MIB, Math.max(2 * MIB, 2048 * ringSlotSize(snaplen)));
}

/** Bytes of one TPACKET_V2 ring slot for a snaplen (frame header and alignment included). */
export function ringSlotSize(snaplen: number): number {
  const data = Math.min(snaplen, 65535 + 18);
  return (data + 96 + 15) & ~15;
}

