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
}

export const DEFAULT_NEIGHBOR_OPTIONS: Readonly<NeighborOptions> = { ttlMs: 60_000, retryMs: 1000, tries: 3, maxPending: 64 };

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
  readonly #entries = new Map<string, Entry>();

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
    const e = this.#entries.get(this.#key(address));
    if (e === undefined || e.mac === null) return null;
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

  /**
   * `address` is at `mac` (an answer, or a request from it). Returns the frames
   * that waited for it, their destination MAC now written.
   */
  learn(address: Uint8Array, mac: Uint8Array, now: number): Uint8Array[] {
    const key = this.#key(address);
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = { address: address.slice(), mac: null, probing: false, expires: 0, tries: 0, nextTry: Infinity, pending: [] };
      this.#entries.set(key, e);
    }
    e.mac = mac.slice();
    e.probing = false;
    e.expires = now + this.options.ttlMs;
    e.tries = 0;
    e.nextTry = Infinity;
    const out = e.pending;
    e.pending = [];
    for (const frame of out) frame.set(e.mac, 0);
    return out;
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
        e = { address: address.slice(), mac: null, probing: false, expires: 0, tries: 0, nextTry: Infinity, pending: [] };
        this.#entries.set(key, e);
      }
      e.mac = null;
      e.tries = 1;
      e.nextTry = now + this.options.retryMs;
      start = true;
    }
    if (e.pending.length >= this.options.maxPending) e.pending.shift();
    e.pending.push(frame.slice());
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
            this.#entries.delete(key);
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
        if (e.expires + this.options.ttlMs <= now && e.pending.length === 0) this.#entries.delete(key);
        continue;
      }
      if (e.nextTry <= now) {
        if (e.tries >= this.options.tries) {
          const dropped = e.pending.length;
          this.#entries.delete(key);
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
