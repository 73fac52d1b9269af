/**
 * IP fragment reassembly, for IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200
 * §4.5), with bounded memory: at most `maxDatagrams` datagrams in progress
 * and `maxBytes` of fragment data held (the oldest datagram goes first when a
 * new fragment would pass either), each abandoned after `timeoutMs`.
 * Overlapping fragments discard the whole datagram (RFC 5722 for IPv6, and
 * what Linux does for IPv4 since overlaps were used to slip past filters);
 * an exact duplicate is ignored.
 *
 * @example
 * ```ts
 * import { Reassembler } from "./reassembly.ts";
 * const r = new Reassembler();
 * r.add("k", 0, true, part1, 0, part1.length, 0);   // null
 * r.add("k", 8, false, part2, 0, part2.length, 1);  // the whole payload
 * ```
 *
 * @module
 */

/** Limits of a {@link Reassembler}. */
export interface ReassemblyOptions {
  maxDatagrams: number;
  maxBytes: number;
  /** RFC 8200 §4.5: 60 s for IPv6; Linux uses 30 s for IPv4 */
  timeoutMs: number;
}

export const DEFAULT_REASSEMBLY: Readonly<ReassemblyOptions> = { maxDatagrams: 64, maxBytes: 1 << 20, timeoutMs: 30_000 };

/** The largest datagram payload reassembled: an IPv4 total length of 65535 less its header. */
const MAX_PAYLOAD = 65535;

interface Pending {
  started: number;
  /** fragments sorted by offset: [offset, data] */
  parts: { offset: number; data: Uint8Array }[];
  /** payload length, once the last fragment (MF clear) arrived; -1 before */
  total: number;
  bytes: number;
}

/** What happened to a fragment, for counters and traces. */
export type FragmentOutcome = "held" | "complete" | "duplicate" | "overlap" | "too-big" | "evicted";

/** Datagrams being put back together. */
export class Reassembler {
  readonly options: ReassemblyOptions;
  readonly #pending = new Map<string, Pending>();
  #bytes = 0;
  /** what the last {@link add} did */
  outcome: FragmentOutcome = "held";
  /** counters, for tests and traces */
  readonly stats = { complete: 0, overlaps: 0, timeouts: 0, evicted: 0, tooBig: 0 };

  constructor(options: Partial<ReassemblyOptions> = {}) {
    this.options = { ...DEFAULT_REASSEMBLY, ...options };
  }

  /** Datagrams in progress. */
  get size(): number {
    return this.#pending.size;
  }

  /** Fragment bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Add the fragment `data[start, end)` at payload `offset` of datagram
   * `key`; `more` is the more-fragments flag. Returns the whole payload
   * (a new array) when this completes it, else null.
   */
  add(key: string, offset: number, more: boolean, data: Uint8Array, start: number, end: number, now: number): Uint8Array | null {
    const len = end - start;
    if (offset + len > MAX_PAYLOAD || (more && len % 8 !== 0) || len < 0) {
      // RFC 791: every fragment but the last carries a multiple of 8 bytes; past 65535 it can never be whole.
      this.#drop(key);
      this.stats.tooBig++;
      this.outcome = "too-big";
      return null;
    }
    let p = this.#pending.get(key);
    if (p === undefined) {
      while (this.#pending.size >= this.options.maxDatagrams) this.#evictOldest();
      p = { started: now, parts: [], total: -1, bytes: 0 };
      this.#pending.set(key, p);
    }
    // Place it; any overlap but an exact duplicate discards the datagram.
    let i = 0;
    while (i < p.parts.length && p.parts[i]!.offset + p.parts[i]!.data.length <= offset) i++;
    const next = p.parts[i];
    if (next !== undefined && next.offset < offset + len) {
      if (next.offset === offset && next.data.length === len) {
        this.outcome = "duplicate";
        return null;
      }
      this.#drop(key);
      this.stats.overlaps++;
      this.outcome = "overlap";
      return null;
    }
    if (!more) {
      if (p.total >= 0 && p.total !== offset + len) {
        this.#drop(key);
        this.stats.overlaps++;
        this.outcome = "overlap";
        return null;
      }
      p.total = offset + len;
    }
    if (p.total >= 0 && offset + len > p.total) {
      this.#drop(key);
      this.stats.overlaps++;
      this.outcome = "overlap";
      return null;
    }
    while (this.#bytes + len > this.options.maxBytes && this.#pending.size > 1) this.#evictOldest(key);
    if (this.#bytes + len > this.options.maxBytes) {
      this.#drop(key);
      this.stats.evicted++;
      this.outcome = "evicted";
      return null;
    }
    p.parts.splice(i, 0, { offset, data: data.slice(start, end) });
    p.bytes += len;
    this.#bytes += len;
    if (p.total < 0) {
      this.outcome = "held";
      return null;
    }
    // Complete when the parts cover [0, total) without a gap.
    let at = 0;
    for (const part of p.parts) {
      if (part.offset !== at) {
        this.outcome = "held";
        return null;
      }
      at += part.data.length;
    }
    if (at !== p.total) {
      this.outcome = "held";
      return null;
    }
    const whole = new Uint8Array(p.total);
    for (const part of p.parts) whole.set(part.data, part.offset);
    this.#drop(key);
    this.stats.complete++;
    this.outcome = "complete";
    return whole;
  }

  /** Abandon datagrams older than the timeout; returns the next time one expires. */
  poll(now: number): number {
    let next = Infinity;
    for (const [key, p] of this.#pending) {
      const due = p.started + this.options.timeoutMs;
      if (due <= now) {
        this.#drop(key);
        this.stats.timeouts++;
      } else {
        next = Math.min(next, due);
      }
    }
    return next;
  }

  #drop(key: string): void {
    const p = this.#pending.get(key);
    if (p === undefined) return;
    this.#bytes -= p.bytes;
    this.#pending.delete(key);
  }

  #evictOldest(except?: string): void {
    let oldest: string | undefined;
    let when = Infinity;
    for (const [key, p] of this.#pending) {
      if (key !== except && p.started < when) {
        when = p.started;
        oldest = key;
      }
    }
    if (oldest === undefined) return;
    this.#drop(oldest);
    this.stats.evicted++;
  }
}
