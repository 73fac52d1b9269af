/**
 * The retransmission timer's estimate (RFC 6298): a smoothed round-trip
 * time and its variation from samples, the timeout derived from them, and
 * exponential backoff after a timeout.
 *
 * Samples come from the caller: with timestamps, every ACK that advances
 * SND.UNA echoes the send time of a specific transmission (RFC 7323 §4), so
 * retransmissions do not blur them; without timestamps the caller times one
 * segment at a time and never a retransmitted one (Karn's rule, RFC 6298 §3).
 *
 * @example
 * ```ts
 * import { RttEstimator } from "./rtt.ts";
 * const rtt = new RttEstimator(1000, 200, 120000);
 * rtt.sample(30); // srtt 30, rttvar 15, rto max(200, 30 + 4*15)
 * ```
 *
 * @module
 */

/** Clock granularity G of RFC 6298 (2.2), ms: our timers tick in milliseconds. */
const GRANULARITY_MS = 1;

/** RFC 6298's estimator. */
export class RttEstimator {
  /** smoothed RTT, ms (0 before the first sample) */
  srtt = 0;
  /** RTT variation, ms */
  rttvar = 0;
  /** whether a sample has been taken */
  measured = false;
  /** consecutive timeouts since the last new sample (the backoff exponent) */
  backoff = 0;
  readonly #min: number;
  readonly #max: number;
  #base: number;

  constructor(initialRtoMs: number, minRtoMs: number, maxRtoMs: number) {
    this.#min = minRtoMs;
    this.#max = maxRtoMs;
    this.#base = initialRtoMs;
  }

  /** The current timeout, backoff included, ms. */
  get rto(): number {
    return Math.min(this.#max, this.#base * 2 ** this.backoff);
  }

  /** Take one RTT measurement `r` ms (RFC 6298 (2.2), (2.3)). */
  sample(r: number): void {
    if (r < 0) return;
    if (!this.measured) {
      // (2.2) first measurement
      this.srtt = r;
      this.rttvar = r / 2;
      this.measured = true;
    } else {
      // (2.3) beta = 1/4, alpha = 1/8; RTTVAR first, with the old SRTT
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    // (2.4) rounded up to the minimum, (2.5) capped
    this.#base = Math.min(this.#max, Math.max(this.#min, this.srtt + Math.max(GRANULARITY_MS, 4 * this.rttvar)));
    // (5.7) a new sample after a backoff: the timer starts over from the estimate
    this.backoff = 0;
  }

  /** The timer expired: double the timeout (RFC 6298 (5.5)). */
  expired(): void {
    if (this.#base * 2 ** this.backoff < this.#max) this.backoff++;
  }

  /**
   * Start data transmission with a timeout of `ms` or more and no backoff
   * (RFC 6298 (5.7): after a SYN or SYN-ACK timed out, "the RTO MUST be
   * re-initialized to 3 seconds when data transmission begins"; the backoff
   * of the handshake is not carried over).
   */
  atLeast(ms: number): void {
    if (this.#base < ms) this.#base = Math.min(this.#max, ms);
    this.backoff = 0;
  }

  /**
   * Forget the estimate after repeated timeouts (RFC 6298 §5 note: "a TCP
   * implementation MAY clear SRTT and RTTVAR after backing off the timer
   * multiple times"; the next sample is then taken as a first one (2.2)).
   * The timer itself keeps its backed-off value: (5.5) goes on doubling it.
   */
  reset(): void {
    this.measured = false;
    this.srtt = 0;
    this.rttvar = 0;
  }
}
