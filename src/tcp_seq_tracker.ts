/**
 * Relative TCP sequence numbers, as `tcpdump` prints them by default: each
 * connection's numbers count from the first segment of it seen, once an ACK
 * has been seen (print-tcp.c, its `tcp_seq_hash`). This module keeps those
 * bases, one {@link SeqBase} per connection, for a stream of packets; the
 * summary printer asks it for every segment unless told to print the numbers
 * as they are (`tcpdump -S`).
 *
 * tcpdump's rule: a segment without ACK is printed as it is and changes
 * nothing; an ACK-carrying segment of a connection not seen before, or any
 * SYN, sets the bases (its own numbers, printed as they are); any other
 * segment is printed relative to them. The bases of the side with the lower
 * port (the lower address for equal ports) are kept as `seq`, the other's as
 * `ack`, so one entry serves both directions.
 *
 * State grows with the connections seen, up to {@link MAX_TCP_CONNECTIONS}
 * (~35 MB): one more and every connection is forgotten at once (cheaper than
 * forgetting the oldest one by one), so a file of millions of connections
 * holds bounded memory (tcpdump's table grows without end); a forgotten
 * connection seen again starts anew, as if first seen. Use
 * one tracker per packet stream, as one `SummaryFormatter` does.
 *
 * @example
 * ```ts
 * import { TcpSeqTracker } from "./tcp_seq_tracker.ts";
 * const t = new TcpSeqTracker();
 * t.relative("10.0.0.2", "10.0.0.1", 80, 40000, 5000, 1001, 0x12); // SYN-ACK: sets the bases
 * t.relative("10.0.0.1", "10.0.0.2", 40000, 80, 1001, 5001, 0x10); // the ACK
 * [t.seq, t.ack]; // [1, 1]
 * ```
 *
 * @module
 */
import { TCP_FLAGS } from "../layers/tcp.ts";

// Module-local copies: an imported binding is a load and a check at every use.
const ACK = TCP_FLAGS.ACK;
const SYN = TCP_FLAGS.SYN;

/** Slots of a tracker's cache of recent connections (a power of two). */
const RECENT_SLOTS = 1024;

/** Connections a tracker keeps bases for at most (see the module comment). */
export const MAX_TCP_CONNECTIONS = 262144;

/** The relative-number bases of one connection (tcpdump's tcp_seq_hash entry). */
export interface SeqBase {
  /** the port pair: the lower (or first) port times 65536 plus the other */
  ports: number;
  /** address of the side with the lower port (the first in the key) */
  a: string;
  /** address of the other side */
  b: string;
  /** base of the sequence numbers sent from the side with the lower port */
  seq: number;
  /** base of the sequence numbers sent from the other side */
  ack: number;
}

/**
 * The bases of the connections seen, and the numbers of the last segment
 * asked about: {@link relative} leaves its answer in {@link seq}, {@link ack}
 * and {@link sackBase} rather than returning an object, so a printer asks
 * for every segment without allocating.
 */
export class TcpSeqTracker {
  /** the last segment's sequence number, relative when its connection is known */
  seq = 0;
  /** the last segment's acknowledgment number, relative when its connection is known */
  ack = 0;
  /**
   * what to subtract from the last segment's SACK edges (they acknowledge the
   * other side's numbers): that side's base, or 0 when the numbers are absolute
   */
  sackBase = 0;
  /**
   * Port pair first, then the few connections under it. The map's key is the
   * pair folded to 30 bits, a small integer V8 hashes without allocating (the
   * 32-bit pair is often past that range); the entries keep the whole pair,
   * so pairs that fold alike stay apart.
   */
  readonly #bases = new Map<number, SeqBase[]>();
  /**
   * The entry last found under each slot of the key's low bits: a capture's
   * segments come in flows, and most find their connection here without
   * the map's hashing.
   */
  readonly #recent: (SeqBase | null)[] = new Array<SeqBase | null>(RECENT_SLOTS).fill(null);
  #size = 0;
  readonly #max: number;

  /** `max`: connections kept at most (default {@link MAX_TCP_CONNECTIONS}). */
  constructor(max: number = MAX_TCP_CONNECTIONS) {
    this.#max = max;
  }

  /** How many connections have bases. */
  get size(): number {
    return this.#size;
  }

  /** Forget every connection. */
  clear(): void {
    this.#bases.clear();
    this.#recent.fill(null);
    this.#size = 0;
  }

  /**
   * The numbers to print for a segment from `src` port `srcPort` to `dst`
   * port `dstPort` (addresses as text, either family) with these `seq`,
   * `ack` and `flags` (the header's flag bits, see `TCP_FLAGS`), left in
   * {@link seq}, {@link ack} and {@link sackBase}; learns the connection's
   * bases by tcpdump's rule (see the module comment).
   */
  relative(src: string, dst: string, srcPort: number, dstPort: number, seq: number, ack: number, flags: number): void {
    this.seq = seq;
    this.ack = ack;
    this.sackBase = 0;
    if ((flags & ACK) === 0) return;
    // One entry per connection under a key that is the same in both
    // directions; `rev` tells which side this segment comes from.
    const rev = srcPort > dstPort || (srcPort === dstPort && src > dst);
    const a = rev ? dst : src;
    const b = rev ? src : dst;
    const ports = rev ? dstPort * 65536 + srcPort : srcPort * 65536 + dstPort;
    const key = (ports ^ (ports >>> 30)) & 0x3fffffff;
    const slot = key & (RECENT_SLOTS - 1);
    let base: SeqBase | null = this.#recent[slot] ?? null;
    if (base !== null && !(base.ports === ports && base.a === a && base.b === b)) base = null;
    let list: SeqBase[] | undefined;
    if (base === null) {
      list = this.#bases.get(key);
      if (list === undefined) {
        list = [];
        this.#bases.set(key, list);
      }
      for (let k = 0; k < list.length; k++) {
        const e = list[k]!;
        if (e.ports === ports && e.a === a && e.b === b) {
          base = e;
          this.#recent[slot] = e;
          break;
        }
      }
    }
    if (base === null || (flags & SYN) !== 0) {
      // tcpdump keeps ack - 1 as the other side's base: the ACK of a SYN
      // acknowledges the SYN's own number, which then prints as 0.
      const e = base ?? { ports, a, b, seq: 0, ack: 0 };
      if (rev) {
        e.ack = seq;
        e.seq = (ack - 1) >>> 0;
      } else {
        e.seq = seq;
        e.ack = (ack - 1) >>> 0;
      }
      if (base === null) {
        if (this.#size >= this.#max) {
          this.#bases.clear();
          this.#recent.fill(null);
          this.#bases.set(key, (list = []));
          this.#size = 0;
        }
        list!.push(e);
        this.#size++;
      }
      this.#recent[slot] = e;
    } else if (rev) {
      this.seq = (seq - base.ack) >>> 0;
      this.ack = (ack - base.seq) >>> 0;
      this.sackBase = base.seq;
    } else {
      this.seq = (seq - base.seq) >>> 0;
      this.ack = (ack - base.ack) >>> 0;
      this.sackBase = base.ack;
    }
  }
}
