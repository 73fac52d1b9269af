/**
 * IP fragment reassembly, for IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200
 * §4.5), with bounded memory: at most `maxDatagrams` datagrams in progress,
 * `maxBytes` held (fragment data and each datagram's first headers),
 * `maxFragments` fragments held in all and `maxFragmentsPerDatagram` in one
 * datagram (the oldest datagram goes first when a new fragment would pass a
 * table-wide limit; a datagram past its own fragment limit is discarded), each
 * abandoned after `timeoutMs`. Overlapping fragments discard the whole
 * datagram (RFC 5722 for IPv6, and what Linux does for IPv4 since overlaps
 * were used to slip past filters); an exact duplicate is ignored; a fragment
 * without data that is not the last one is dropped (it adds nothing, and
 * nothing would bound how many such fragments one datagram collects).
 *
 * The first fragment's headers (everything before its data) are kept: the
 * whole datagram comes back as those headers followed by the reassembled
 * payload, so the caller can rebuild the datagram the source meant (and quote
 * it in an ICMP error); a datagram abandoned at the timeout after its first
 * fragment arrived is handed to {@link Reassembler.poll}'s callback, headers
 * and first data, for the Time Exceeded RFC 8200 §4.5 and RFC 1122 §3.3.2 ask
 * of the host.
 *
 * @example
 * ```ts
 * import { Reassembler } from "./reassembly.ts";
 * const r = new Reassembler();
 * r.add("k", 0, true, first, 0, 20, first.length, 0);     // null (first: a 20-byte header, then data)
 * r.add("k", 8, false, last, 0, 20, last.length, 1);      // the first header, then the whole payload
 * r.headLength; // 20
 * ```
 *
 * @module
 */

/** Limits of a {@link Reassembler}. */
export interface ReassemblyOptions {
  maxDatagrams: number;
  /** fragment data and first headers held, in all */
  maxBytes: number;
  /** fragments held, in all */
  maxFragments: number;
  /** fragments held for one datagram; one more discards it */
  maxFragmentsPerDatagram: number;
  /** RFC 8200 §4.5: 60 s for IPv6; Linux uses 30 s for IPv4 */
  timeoutMs: number;
}

/**
 * The defaults. 128 fragments hold the largest IPv4 datagram over the
 * smallest MTU a host must take (65515 bytes in 552-byte pieces over a
 * 576-byte MTU: 119 fragments); the largest over Ethernet needs 45. 4096 in
 * all is 64 such datagrams: with `maxDatagrams` 64 and `maxBytes` 1 MiB, a
 * flood of tiny fragments holds at most 4096 small arrays and 1 MiB.
 */
export const DEFAULT_REASSEMBLY: Readonly<ReassemblyOptions> = { maxDatagrams: 64, maxBytes: 1 << 20, maxFragments: 4096, maxFragmentsPerDatagram: 128, timeoutMs: 30_000 };

/** The most payload a datagram can have: an IPv6 payload length; an IPv4 caller passes 65535 less its header. */
const MAX_PAYLOAD = 65535;

interface Pending {
  started: number;
  /** fragments sorted by offset, none empty: [offset, data] */
  parts: { offset: number; data: Uint8Array }[];
  /** payload length, once the last fragment (MF clear) arrived; -1 before */
  total: number;
  /** the first fragment's headers (the bytes before its data), once it arrived */
  head: Uint8Array | null;
  /** the most payload the first fragment's headers allow */
  limit: number;
  /** data and head bytes held */
  bytes: number;
}

/** What happened to a fragment, for counters and traces. */
export type FragmentOutcome = "held" | "complete" | "duplicate" | "overlap" | "too-big" | "misaligned" | "empty" | "too-many" | "evicted";

/** Datagrams being put back together. */
export class Reassembler {
  readonly options: ReassemblyOptions;
  readonly #pending = new Map<string, Pending>();
  #bytes = 0;
  #fragments = 0;
  /** what the last {@link add} did */
  outcome: FragmentOutcome = "held";
  /** when the last {@link add} completed a datagram: the length of the first fragment's headers at its start */
  headLength = 0;
  /** counters, for tests and traces */
  readonly stats = { complete: 0, overlaps: 0, timeouts: 0, evicted: 0, tooBig: 0, misaligned: 0, empty: 0, tooMany: 0 };

  constructor(options: Partial<ReassemblyOptions> = {}) {
    this.options = { ...DEFAULT_REASSEMBLY, ...options };
  }

  /** Datagrams in progress. */
  get size(): number {
    return this.#pending.size;
  }

  /** Bytes held: fragment data and the first fragments' headers. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Fragments held, in all. */
  get fragments(): number {
    return this.#fragments;
  }

  /**
   * Add a fragment of datagram `key`: its packet is `packet[headStart,
   * dataEnd)`, its data `packet[dataStart, dataEnd)` at payload `offset`;
   * `more` is the more-fragments flag, `limit` the most payload this
   * fragment's headers allow a whole datagram (IPv4: 65535 less the header;
   * IPv6: 65535 less the extension headers before the fragment header).
   * Returns the whole datagram, a new array, when this completes it: the first
   * fragment's headers ({@link headLength} bytes, as they came) followed by
   * the payload. Else null, and {@link outcome} says why.
   */
  add(key: string, offset: number, more: boolean, packet: Uint8Array, headStart: number, dataStart: number, dataEnd: number, now: number, limit = MAX_PAYLOAD): Uint8Array | null {
    const len = dataEnd - dataStart;
    if (len < 0 || offset + len > limit) {
      // RFC 791 §3.1, RFC 8200 §4.5: past 65535 in all it can never be whole ("ping of death").
      return this.#discard(key, "too-big");
    }
    if (more && len % 8 !== 0) {
      // RFC 791 §3.2, RFC 8200 §4.5: every fragment but the last carries a multiple of 8 bytes.
      return this.#discard(key, "misaligned");
    }
    if (more && len === 0) {
      // Adds nothing and ends nothing: dropped alone (the datagram it names goes on).
      this.stats.empty++;
      this.outcome = "empty";
      return null;
    }
    let p = this.#pending.get(key);
    if (p === undefined) {
      while (this.#pending.size >= this.options.maxDatagrams) this.#evictOldest();
      p = { started: now, parts: [], total: -1, head: null, limit: MAX_PAYLOAD, bytes: 0 };
      this.#pending.set(key, p);
    }
    // Place it; any overlap but an exact duplicate discards the datagram.
    const parts = p.parts;
    let i = 0;
    while (i < parts.length && parts[i]!.offset + parts[i]!.data.length <= offset) i++;
    const next = parts[i];
    if (len > 0 && next !== undefined && next.offset < offset + len) {
      if (next.offset === offset && next.data.length === len) {
        this.outcome = "duplicate";
        return null;
      }
      return this.#discard(key, "overlap");
    }
    if (!more) {
      const last = parts[parts.length - 1];
      if ((p.total >= 0 && p.total !== offset + len) || (last !== undefined && last.offset + last.data.length > offset + len)) return this.#discard(key, "overlap");
      p.total = offset + len;
    }
    if (p.total >= 0 && offset + len > p.total) return this.#discard(key, "overlap");
    if (len > 0) {
      if (parts.length >= this.options.maxFragmentsPerDatagram) return this.#discard(key, "too-many");
      const head = offset === 0 ? dataStart - headStart : 0;
      while ((this.#bytes + len + head > this.options.maxBytes || this.#fragments >= this.options.maxFragments) && this.#pending.size > 1) this.#evictOldest(key);
      if (this.#bytes + len + head > this.options.maxBytes || this.#fragments >= this.options.maxFragments) return this.#discard(key, "evicted");
      parts.splice(i, 0, { offset, data: packet.slice(dataStart, dataEnd) });
      this.#fragments++;
      p.bytes += len + head;
      this.#bytes += len + head;
      if (offset === 0) {
        p.head = packet.slice(headStart, dataStart);
        p.limit = limit;
      }
    }
    if (p.total > p.limit) return this.#discard(key, "too-big");
    if (p.total < 0 || p.head === null) {
      this.outcome = "held";
      return null;
    }
    // Complete when the parts cover [0, total) without a gap.
    let at = 0;
    for (const part of parts) {
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
    const head = p.head;
    const whole = new Uint8Array(head.length + p.total);
    whole.set(head, 0);
    for (const part of parts) whole.set(part.data, head.length + part.offset);
    this.#drop(key);
    this.stats.complete++;
    this.outcome = "complete";
    this.headLength = head.length;
    return whole;
  }

  /**
   * Abandon datagrams older than the timeout; returns the next time one
   * expires. `expired` hears of each abandoned datagram whose first fragment
   * arrived: that fragment as it came (its headers, then its data).
   */
  poll(now: number, expired?: (first: Uint8Array) => void): number {
    let next = Infinity;
    for (const [key, p] of this.#pending) {
      const due = p.started + this.options.timeoutMs;
      if (due <= now) {
        this.#drop(key);
        this.stats.timeouts++;
        const data = p.parts[0]?.offset === 0 ? p.parts[0].data : new Uint8Array(0);
        if (p.head !== null && expired !== undefined) {
          const first = new Uint8Array(p.head.length + data.length);
          first.set(p.head, 0);
          first.set(data, p.head.length);
          expired(first);
        }
      } else {
        next = Math.min(next, due);
      }
    }
    return next;
  }

  #discard(key: string, why: "too-big" | "misaligned" | "overlap" | "too-many" | "evicted"): null {
    this.#drop(key);
    if (why === "too-big") this.stats.tooBig++;
    else if (why === "misaligned") this.stats.misaligned++;
    else if (why === "overlap") this.stats.overlaps++;
    else if (why === "too-many") this.stats.tooMany++;
    else this.stats.evicted++;
    this.outcome = why;
    return null;
  }

  #drop(key: string): void {
    const p = this.#pending.get(key);
    if (p === undefined) return;
    this.#bytes -= p.bytes;
    this.#fragments -= p.parts.length;
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
