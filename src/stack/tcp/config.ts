/**
 * What a TCP connection can be told: buffer sizes, the options it offers,
 * its timers and limits. {@link DEFAULT_TCP_CONFIG} holds the defaults with
 * the reason for each; a stack takes overrides for all its connections and a
 * socket for its own (setsockopt).
 *
 * @module
 */

/** The congestion controllers on offer. */
export type CongestionControl = "newreno" | "cubic";

/** Per-connection TCP settings. */
export interface TcpConfig {
  /** send buffer, bytes (SO_SNDBUF) */
  sendBuffer: number;
  /** receive buffer, bytes (SO_RCVBUF): the most the stack will advertise */
  receiveBuffer: number;
  /** disable Nagle's algorithm (TCP_NODELAY) */
  noDelay: boolean;
  /** offer window scaling (RFC 7323 §2) */
  windowScaling: boolean;
  /** offer timestamps (RFC 7323 §3, §5: RTTM and PAWS) */
  timestamps: boolean;
  /** offer selective acknowledgments (RFC 2018) and recover with them (RFC 6675) */
  sack: boolean;
  /**
   * RACK-TLP (RFC 8985) beside RFC 6675, when SACK was agreed: losses found by
   * time (a lost retransmission within about an RTT, not at the timeout) and
   * a tail loss probe before the timer. Off: RFC 6675's duplicate-ACK
   * counting alone.
   */
  rack: boolean;
  /** congestion control: NewReno (RFC 5681, 6582) or CUBIC (RFC 9438) */
  congestion: CongestionControl;
  /** the longest an ACK is delayed, ms (RFC 1122 §4.2.3.2: under 500 ms; RFC 9293 §3.8.6.3: at most 200 ms) */
  delayedAckMs: number;
  /** lower bound of the retransmission timeout, ms (RFC 6298 (2.4) says 1 s; Linux uses 200 ms) */
  minRtoMs: number;
  /** upper bound of the retransmission timeout, ms (RFC 6298 (2.5): at least 60 s) */
  maxRtoMs: number;
  /** RTO before the first RTT sample, ms (RFC 6298 (2.1): 1 s) */
  initialRtoMs: number;
  /** SYN retransmissions before giving up with ETIMEDOUT (Linux tcp_syn_retries: 6) */
  synRetries: number;
  /** data retransmissions before giving up with ETIMEDOUT (RFC 1122 §4.2.3.5 R2; Linux tcp_retries2: 15) */
  dataRetries: number;
  /** how long TIME-WAIT lasts, ms: 2 × MSL (RFC 9293 §3.4.2; Linux: 60 s) */
  timeWaitMs: number;
  /** send keepalive probes when idle (RFC 1122 §4.2.3.6, off by default as it requires) */
  keepAlive: boolean;
  /** idle time before the first keepalive probe, ms (RFC 1122: no less than 2 hours by default) */
  keepAliveIdleMs: number;
  /** time between keepalive probes, ms */
  keepAliveIntervalMs: number;
  /** unanswered probes before the connection is dropped */
  keepAliveProbes: number;
  /** out-of-order islands kept in the receive buffer before new ones are dropped */
  maxOutOfOrderRanges: number;
  /** initial congestion window, segments (RFC 6928: 10) */
  initialWindowSegments: number;
  /** challenge ACKs sent per second at most, for the whole stack (RFC 5961 §7) */
  challengeAckLimit: number;
  /**
   * the least time between two ACKs one connection sends in answer to
   * segments it turned down (out of window, PAWS, an ACK of unsent data, a
   * challenge), ms: two ends that disagree never answer each other for ever.
   * Segments with data are always answered (their sender needs the ACK and
   * they cannot loop). Linux: tcp_invalid_ratelimit, 500 ms.
   */
  invalidAckIntervalMs: number;
  /**
   * zero-window probes an orphaned connection (its application closed it
   * with data still unsent) sends before it gives up with a RST: nobody
   * would ever read or close it, and a peer that keeps its window shut must
   * not hold its buffers for ever (RFC 9293 §3.8.6.1, after RFC 6429). A
   * connection with an application probes as long as the peer answers
   * (RFC 1122 §4.2.2.17). Linux: tcp_orphan_retries, 8.
   */
  orphanProbes: number;
}

/** The defaults (see each field). */
export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = {
  sendBuffer: 1 << 20,
  receiveBuffer: 1 << 20,
  noDelay: false,
  windowScaling: true,
  timestamps: true,
  sack: true,
  rack: true,
  congestion: "newreno",
  delayedAckMs: 40,
  minRtoMs: 200,
  maxRtoMs: 120_000,
  initialRtoMs: 1000,
  synRetries: 6,
  dataRetries: 15,
  timeWaitMs: 60_000,
  keepAlive: false,
  keepAliveIdleMs: 7_200_000,
  keepAliveIntervalMs: 75_000,
  keepAliveProbes: 9,
  maxOutOfOrderRanges: 32,
  initialWindowSegments: 10,
  challengeAckLimit: 1000,
  invalidAckIntervalMs: 500,
  orphanProbes: 8,
};

/** The TCP states of RFC 9293 §3.3.2. */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT";

/** Flag bits of the TCP header. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;
