/**
 * Congestion control: how much may be in flight (`cwnd`) and where slow
 * start ends (`ssthresh`), in bytes. Two controllers share one interface:
 * NewReno's window growth (RFC 5681 §3.1) and CUBIC's (RFC 9438). Loss
 * recovery itself (fast retransmit, NewReno's partial ACKs, SACK's pipe) is
 * the connection's; it tells the controller when a loss episode starts,
 * when it ends, and when the retransmission timer fired.
 *
 * @example
 * ```ts
 * import { newController } from "./congestion.ts";
 * const cc = newController("cubic", 1448, 10);
 * cc.onAck(1448, 1448 * 10, 0, 30); // slow start: cwnd grows by one segment
 * ```
 *
 * @module
 */
import type { CongestionControl } from "./config.ts";

/** A congestion controller. All sizes in bytes, times in ms. */
export interface Controller {
  readonly name: CongestionControl;
  cwnd: number;
  ssthresh: number;
  /** `acked` new bytes were acknowledged outside recovery; `flight` were in flight before; `srtt` is the RTT estimate */
  onAck(acked: number, flight: number, now: number, srtt: number): void;
  /** a loss was detected (fast retransmit): set ssthresh and the window recovery starts from */
  onLoss(flight: number, now: number): void;
  /**
   * recovery ended: the window to continue with. `flight` is RFC 6582 §3.2
   * (3)'s max(FlightSize, SMSS): the caller raises a FlightSize under one
   * segment to one, so that NewReno's min(ssthresh, flight + SMSS) is the RFC's
   */
  onRecoveryEnd(flight: number): void;
  /** the retransmission timer fired (RFC 5681 (4), RFC 6298 (5.5)) */
  onTimeout(flight: number, now: number): void;
}

/** Initial window, RFC 6928 §2: min(10·MSS, max(2·MSS, 14600)), scaled by the configured segment count. */
export function initialWindow(mss: number, segments: number): number {
  if (segments === 10) return Math.min(10 * mss, Math.max(2 * mss, 14600));
  return segments * mss;
}

/** RFC 5681's window growth. */
export class NewReno implements Controller {
  readonly name = "newreno";
  cwnd: number;
  ssthresh = 0x7fffffff;
  readonly mss: number;
  /** bytes acknowledged in congestion avoidance since cwnd last grew */
  #counted = 0;

  constructor(mss: number, initialSegments: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss, initialSegments);
  }

  onAck(acked: number): void {
    if (this.cwnd < this.ssthresh) {
      // RFC 5681 (2): slow start, at most one SMSS per ACK
      this.cwnd += Math.min(acked, this.mss);
      return;
    }
    // RFC 5681 §3.1 (3) by byte counting (RFC 3465): one SMSS per cwnd acknowledged
    this.#counted += acked;
    if (this.#counted >= this.cwnd) {
      this.#counted -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  onLoss(flight: number): void {
    // RFC 5681 (4): ssthresh = max(FlightSize / 2, 2·SMSS)
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.#counted = 0;
  }

  onRecoveryEnd(flight: number): void {
    // RFC 6582 §3.2 (3) full acknowledgment, option (1): min(ssthresh, FlightSize + SMSS)
    this.cwnd = Math.max(this.mss, Math.min(this.ssthresh, flight + this.mss));
  }

  onTimeout(flight: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    // RFC 5681 §3.1: the loss window is one segment
    this.cwnd = this.mss;
    this.#counted = 0;
  }
}

/** CUBIC's constants (RFC 9438 §4.1, §4.6). */
const C = 0.4;
const BETA = 0.7;
/** Reno-friendly additive increase for this beta (RFC 9438 §4.3) */
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

/** RFC 9438's window growth (windows computed in segments, kept in bytes). */
export class Cubic implements Controller {
  readonly name = "cubic";
  cwnd: number;
  ssthresh = 0x7fffffff;
  readonly mss: number;
  /** W_max, segments: the window before the last reduction */
  #wMax = 0;
  /** the last W_max, for fast convergence (§4.7) */
  #wLastMax = 0;
  /** start of the current congestion-avoidance epoch, ms, or -1 */
  #epoch = -1;
  /** K, seconds (§4.2) */
  #k = 0;
  /** W_est, segments: the Reno-friendly estimate (§4.3) */
  #wEst = 0;

  constructor(mss: number, initialSegments: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss, initialSegments);
  }

  onAck(acked: number, _flight: number, now: number, srtt: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, this.mss);
      return;
    }
    const seg = this.mss;
    const cwnd = this.cwnd / seg;
    if (this.#epoch < 0) {
      // §4.2: a new epoch; with no W_max yet (no loss seen), grow from here
      this.#epoch = now;
      if (this.#wMax <= cwnd) {
        this.#k = 0;
        this.#wMax = cwnd;
      } else {
        this.#k = Math.cbrt((this.#wMax - cwnd) / C);
      }
      this.#wEst = cwnd;
    }
    const t = (now - this.#epoch) / 1000;
    const rtt = Math.max(srtt, 1) / 1000;
    // §4.2 (1): W_cubic(t + RTT), the target one RTT ahead
    const target = C * (t + rtt - this.#k) ** 3 + this.#wMax;
    // §4.3: W_est grows like Reno with alpha_cubic
    this.#wEst += (ALPHA * (acked / seg)) / cwnd;
    let next: number;
    if (this.#wEst > target) {
      next = this.#wEst; // Reno-friendly region
    } else if (target > cwnd) {
      // §4.4, §4.5: concave and convex regions, (target - cwnd) / cwnd per segment acked, at most 1.5x per RTT
      next = cwnd + Math.min(target - cwnd, cwnd / 2) * (acked / seg) / cwnd;
    } else {
      next = cwnd; // at the plateau: hold
    }
    this.cwnd = Math.max(this.cwnd, Math.round(next * seg));
  }

  onLoss(flight: number): void {
    const seg = this.mss;
    const cwnd = Math.max(this.cwnd, flight) / seg;
    // §4.7 fast convergence: release bandwidth when the plateau dropped
    this.#wMax = cwnd < this.#wLastMax ? (cwnd * (1 + BETA)) / 2 : cwnd;
    this.#wLastMax = cwnd;
    // §4.6: multiplicative decrease by beta, never below 2 segments
    this.ssthresh = Math.max(Math.floor(cwnd * BETA * seg), 2 * seg);
    this.cwnd = this.ssthresh;
    this.#epoch = -1;
  }

  onRecoveryEnd(): void {
    this.cwnd = Math.max(this.mss, this.ssthresh);
  }

  onTimeout(flight: number): void {
    this.onLoss(flight);
    // §4.8: after a timeout, slow start from one segment up to the new ssthresh
    this.cwnd = this.mss;
    this.#epoch = -1;
  }
}

/** A controller by name. */
export function newController(name: CongestionControl, mss: number, initialSegments: number): Controller {
  return name === "cubic" ? new Cubic(mss, initialSegments) : new NewReno(mss, initialSegments);
}
