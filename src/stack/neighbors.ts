/**
 * Who is at an address on the link: the ARP cache (RFC 826) and the IPv6
 * neighbor cache (RFC 4861 §5.1), in one table keyed by address bytes.
 * Frames for an address not yet resolved wait in a small queue per
 * neighbor while requests go out (RFC 1122 §2.3.2.2: at least one datagram
 * SHOULD be kept; RFC 4861 §7.2.2: queue while resolving), a few times a
 * second apart; when every try failed, the waiting frames are dropped and
 * the caller is told, so a connect fails with EHOSTUNREACH instead of timing
 * out silently.
 *
 * The table is bounded, against a link full of liars: at most `maxEntries`
 * entries (Linux's gc_thresh3 default, 1024), and at most `maxPendingBytes`
 * of frames waiting in all. The map keeps entries in the order they were last
 * used or confirmed (a lookup for a frame sent, an answer learnt, a solicited
 * advertisement), so when a new neighbor needs room the least recently used
 * entry goes: one nobody sends to and nobody confirmed for longest, STALE
 * before REACHABLE as a rule. An entry with frames waiting is never evicted;
 * when every entry has some, the new neighbor is not added (Linux fails the
 * same way: "neighbour table overflow").
 *
 * Advertisements (RFC 4861 §7.2.5) go through {@link NeighborTable.advertised}:
 * they never create an entry, and without the Override flag never replace a
 * cached link-layer address.
 *
 * @example
 * ```ts
 * import { NeighborTable } from "./neighbors.ts";
 * const t = new NeighborTable();
 * t.learn(ip, mac, now); t.lookup(ip, now); // mac
 * ```
 *
 * @module
 */
import { formatIp } from "../../layers/addr.ts";

/** How the table behaves. */
export interface NeighborOptions {
  /** how long an answer is used, ms (RFC 4861 REACHABLE_TIME is 30 s; Linux keeps ARP answers about a minute) */
  ttlMs: number;
  /** time between requests, ms (RFC 4861 RETRANS_TIMER: 1 s) */
  retryMs: number;
  /** requests before giving up (RFC 4861 MAX_MULTICAST_SOLICIT: 3) */
  tries: number;
  /** frames kept per unresolved neighbor */
  maxPending: number;
  /** entries at most (Linux gc_thresh3: 1024) */
  maxEntries: number;
  /** bytes of frames waiting for resolution, in all neighbors (1 MiB: some 700 full Ethernet frames) */
  maxPendingBytes: number;
}

export const DEFAULT_NEIGHBOR_OPTIONS: Readonly<NeighborOptions> = { ttlMs: 60_000, retryMs: 1000, tries: 3, maxPending: 64, maxEntries: 1024, maxPendingBytes: 1 << 20 };

interface Entry {
  address: Uint8Array;
  mac: Uint8Array | null;
  /** an expired answer still in use while unicast requests check it (RFC 4861 §7.3.3 STALE -> PROBE) */
  probing: boolean;
  /** when the answer stops being used */
  expires: number;
  /** requests sent for the current resolution */
  tries: number;
  /** when the next request is due (resolving), or Infinity */
  nextTry: number;
  /** frames waiting, whole, their destination MAC to be filled in */
  pending: Uint8Array[];
  /** when it last moved to the end of the table's order */
  touched: number;
}

/** What {@link NeighborTable.poll} asks the stack to do. */
export interface NeighborActions {
  /** send a request for `address` (ARP request / neighbor solicitation); `unicastTo` refreshes a known entry */
  request(address: Uint8Array, unicastTo: Uint8Array | null): void;
  /** resolution failed: these frames are dropped */
  unreachable(address: Uint8Array, dropped: number): void;
}

/** The neighbor cache of one interface. */
export class NeighborTable {
  readonly options: NeighborOptions;
  /** least recently used or confirmed first */
  readonly #entries = new Map<string, Entry>();
  #pendingBytes = 0;
  /** entries evicted for room, neighbors not added for want of it, waiting frames dropped (a full queue, the byte limit) */
  readonly stats = { evicted: 0, refused: 0, pendingDropped: 0 };

  constructor(options: Partial<NeighborOptions> = {}) {
    this.options = { ...DEFAULT_NEIGHBOR_OPTIONS, ...options };
  }

  #key(address: Uint8Array): string {
    return formatIp(address);
  }

  /**
   * The MAC of `address` if known, else null. An answer past its time is
   * still used while unicast requests confirm it (RFC 4861 §7.3.3: STALE,
   * then PROBE; RFC 1122 §2.3.2.1 asks the same of ARP): a connection in
   * full flow does not stall while its neighbor is asked again.
   */
  lookup(address: Uint8Array, now: number): Uint8Array | null {
    const key = this.#key(address);
    const e = this.#entries.get(key);
    if (e === undefined || e.mac === null) return null;
    this.#touch(key, e, now);
    if (e.expires <= now && !e.probing) {
      e.probing = true;
      e.tries = 0;
      e.nextTry = now;
    }
    return e.mac;
  }

  /** Number of entries (resolved or resolving). */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of frames waiting for resolution, in all. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Room for one more entry: evict the least recently used one that has no
   * frames waiting. False when every entry has frames waiting.
   */
  #makeRoom(): boolean {
    if (this.#entries.size < this.options.maxEntries) return true;
    for (const [key, e] of this.#entries) {
      if (e.pending.length > 0) continue;
      this.#entries.delete(key);
      this.stats.evicted++;
      return true;
    }
    this.stats.refused++;
    return false;
  }

  /** Used or confirmed at `now`: the entry moves to the end of the map's order (once per ms, for a burst of frames). */
  #touch(key: string, e: Entry, now: number): void {
    if (e.touched === now) return;
    e.touched = now;
    this.#entries.delete(key);
    this.#entries.set(key, e);
  }

  /** The frames that waited for `e`, their destination MAC written, and the queue emptied. */
  #release(e: Entry): Uint8Array[] {
    const out = e.pending;
    e.pending = [];
    for (const frame of out) {
      this.#pendingBytes -= frame.length;
      frame.set(e.mac!, 0);
    }
    return out;
  }

  #drop(key: string, e: Entry): void {
    for (const frame of e.pending) this.#pendingBytes -= frame.length;
    this.#entries.delete(key);
  }

  /**
   * `address` is at `mac` (an answer, or a request from it). Returns the frames
   * that waited for it, their destination MAC now written.
   */
  learn(address: Uint8Array, mac: Uint8Array, now: number): Uint8Array[] {
    const key = this.#key(address);
    let e = this.#entries.get(key);
    if (e === undefined) {
      if (!this.#makeRoom()) return [];
      e = { address: address.slice(), mac: null, probing: false, expires: 0, tries: 0, nextTry: Infinity, pending: [], touched: now };
      this.#entries.set(key, e);
    } else {
      this.#touch(key, e, now);
    }
    e.mac = mac.slice();
    this.#confirm(e, now + this.options.ttlMs);
    return this.#release(e);
  }

  /** The answer is good until `expires` (now: STALE); no request is due. */
  #confirm(e: Entry, expires: number): void {
    e.probing = false;
    e.expires = expires;
    e.tries = 0;
    e.nextTry = Infinity;
  }

  /**
   * A neighbor advertisement for `address` (RFC 4861 §7.2.5), with its
   * target link-layer address (null: none) and flags. Returns the frames that
   * waited for it.
   *
   * - No entry: discarded ("SHOULD be silently discarded"); none is created.
   * - Resolving (INCOMPLETE): needs the link-layer address; then REACHABLE
   *   if solicited, else STALE, and the waiting frames go.
   * - Override clear and a link-layer address other than the cached one: a
   *   REACHABLE entry becomes STALE, nothing else changes (the cached address
   *   MUST NOT be updated).
   * - Otherwise the address is taken; solicited confirms the entry
   *   (REACHABLE), an unsolicited new address leaves it STALE.
   */
  advertised(address: Uint8Array, mac: Uint8Array | null, solicited: boolean, override: boolean, now: number): Uint8Array[] {
    const key = this.#key(address);
    const e = this.#entries.get(key);
    if (e === undefined) return [];
    const reachable = now + this.options.ttlMs;
    if (e.mac === null) {
      if (mac === null) return [];
      e.mac = mac.slice();
      this.#confirm(e, solicited ? reachable : now);
      if (solicited) this.#touch(key, e, now);
      return this.#release(e);
    }
    const differs = mac !== null && !mac.every((x, i) => x === e.mac![i]);
    if (!override && differs) {
      if (!e.probing && e.expires > now) e.expires = now;
      return [];
    }
    if (differs) e.mac = mac.slice();
    if (solicited) {
      this.#confirm(e, reachable);
      this.#touch(key, e, now);
    } else if (differs) {
      this.#confirm(e, now);
    }
    return [];
  }

  /** Whether `address` has an entry, resolved or resolving (RFC 826: only known senders are updated by a request). */
  has(address: Uint8Array): boolean {
    return this.#entries.has(this.#key(address));
  }

  /**
   * Queue a copy of `frame` until `address` resolves. Returns true when a
   * request should go out now (a new resolution); a full queue drops its
   * oldest frame.
   */
  enqueue(address: Uint8Array, frame: Uint8Array, now: number): boolean {
    const key = this.#key(address);
    let e = this.#entries.get(key);
    let start = false;
    if (e === undefined || (e.mac === null && e.nextTry === Infinity)) {
      if (e === undefined) {
        if (!this.#makeRoom()) return false;
        e = { address: address.slice(), mac: null, probing: false, expires: 0, tries: 0, nextTry: Infinity, pending: [], touched: now };
        this.#entries.set(key, e);
      }
      e.mac = null;
      e.tries = 1;
      e.nextTry = now + this.options.retryMs;
      start = true;
    }
    const q = e.pending;
    // Full: this neighbor's oldest frames make way; past the table's byte limit the new frame is dropped.
    while (q.length > 0 && (q.length >= this.options.maxPending || this.#pendingBytes + frame.length > this.options.maxPendingBytes)) {
      this.#pendingBytes -= q.shift()!.length;
      this.stats.pendingDropped++;
    }
    if (this.#pendingBytes + frame.length > this.options.maxPendingBytes) {
      this.stats.pendingDropped++;
      return start;
    }
    q.push(frame.slice());
    this.#pendingBytes += frame.length;
    return start;
  }

  /** Retries and give-ups due at `now`; returns the next time something is due. */
  poll(now: number, actions: NeighborActions): number {
    let next = Infinity;
    for (const [key, e] of this.#entries) {
      if (e.mac !== null && e.probing) {
        if (e.nextTry <= now) {
          if (e.tries >= this.options.tries) {
            // No answer to the unicast probes: the neighbor is gone (RFC 4861 §7.3.3: the entry is deleted).
            this.#drop(key, e);
            actions.unreachable(e.address, 0);
            continue;
          }
          e.tries++;
          e.nextTry = now + this.options.retryMs;
          actions.request(e.address, e.mac);
        }
        next = Math.min(next, e.nextTry);
        continue;
      }
      if (e.mac !== null) {
        // Expired and unused for another lifetime: forget it.
        if (e.expires + this.options.ttlMs <= now && e.pending.length === 0) this.#drop(key, e);
        continue;
      }
      if (e.nextTry <= now) {
        if (e.tries >= this.options.tries) {
          const dropped = e.pending.length;
          this.#drop(key, e);
          actions.unreachable(e.address, dropped);
          continue;
        }
        e.tries++;
        e.nextTry = now + this.options.retryMs;
        actions.request(e.address, null);
      }
      next = Math.min(next, e.nextTry);
    }
    return next;
  }
}
