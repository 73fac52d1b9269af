/**
 * Timestamps as text, always in UTC: `HH:MM:SS.ffffff` for the one-line output
 * (tcpdump's default form, which tcpdump prints in local time: stackts prints UTC
 * so output does not depend on the machine, like `TZ=UTC tcpdump`), and ISO-8601
 * with nine fraction digits for JSON.
 *
 * The date part of the last second seen is cached: consecutive packets almost
 * always share it, so formatting a timestamp costs a number-to-string and a pad.
 *
 * @example
 * ```ts
 * import { clockTime, isoTime } from "./time.ts";
 * clockTime(1795576851, 123456789, 6); // "03:20:51.123456"
 * isoTime(1795576851, 123456789);      // "2026-11-25T03:20:51.123456789Z"
 * ```
 *
 * @module
 */

import type { TextBuffer } from "./text_buffer.ts";

const ZEROS = "000000000";

/** `n` (a non-negative integer) as exactly `width` digits, zero-padded on the left. */
export function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : ZEROS.slice(0, width - s.length) + s;
}

// Largest |seconds| a Date can hold (±8.64e15 ms).
const MAX_SEC = 8.64e12;

let clockSec = -1;
let clockPrefix = "";

/**
 * Time of day in UTC with 6 (microsecond) or 9 (nanosecond) fraction digits.
 * `sec` is whole seconds since the Unix epoch, `nsec` 0..999_999_999.
 */
export function clockTime(sec: number, nsec: number, digits: 6 | 9 = 6): string {
  // One number-to-string with a leading 1 to keep the zeros, then drop the 1.
  return clockPrefixFor(sec) + (digits === 6 ? String(1_000_000 + Math.floor(nsec / 1000)).slice(1) : String(1_000_000_000 + nsec).slice(1));
}

/** {@link clockTime}'s text, written into `out`. */
export function writeClockTime(out: TextBuffer, sec: number, nsec: number, digits: 6 | 9 = 6): void {
  out.ascii(clockPrefixFor(sec));
  if (digits === 6) out.digits(Math.floor(nsec / 1000), 6);
  else out.digits(nsec, 9);
}

/** "HH:MM:SS." of `sec`, kept for the next call with the same second. */
function clockPrefixFor(sec: number): string {
  if (sec !== clockSec) {
    clockPrefix = clockPrefixOf(sec);
    clockSec = sec;
  }
  return clockPrefix;
}

function clockPrefixOf(sec: number): string {
  if (!Number.isFinite(sec) || Math.abs(sec) > MAX_SEC) return `${sec}.`;
  const s = ((sec % 86400) + 86400) % 86400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s % 60, 2)}.`;
}

let isoSec = -1;
let isoPrefix = "";

/** ISO-8601 UTC with nine fraction digits, e.g. `2026-11-25T03:20:51.123456789Z`. */
export function isoTime(sec: number, nsec: number): string {
  if (sec !== isoSec) {
    isoPrefix = isoPrefixOf(sec);
    isoSec = sec;
  }
  return isoPrefix + pad(nsec, 9) + "Z";
}

function isoPrefixOf(sec: number): string {
  if (!Number.isFinite(sec) || Math.abs(sec) > MAX_SEC) return `${sec}.`;
  // toISOString gives "YYYY-MM-DDTHH:MM:SS.000Z" (or ±YYYYYY for far years): keep up to the dot.
  const iso = new Date(sec * 1000).toISOString();
  return iso.slice(0, iso.lastIndexOf(".") + 1);
}
