/**
 * One TCP connection's state, all in one place: the transmission control
 * block of RFC 9293 §3.3.1, with the RFC's names for its fields (`sndUna`,
 * `sndNxt`, `rcvNxt`, `cwnd`, ...), the buffers, the negotiated options, the
 * congestion and loss-recovery state and the timers as absolute deadlines on
 * the stack's clock. The rules that change it live beside it: `output.ts`
 * (what to send), `input.ts` (a segment arrives), `timers.ts` and
 * `user.ts` (the socket calls). This module only holds the data and the
 * small derived values every rule reads, and imports none of them.
 *
 * @module
 */
import type { SocketErrorCode } from "../errors.ts";
import { Assembler } from "../assembler.ts";
import { Ring } from "../ring.ts";
import { seqDiff } from "../seq.ts";
import { newController, type Controller } from "./congestion.ts";
import type { TcpConfig, TcpState } from "./config.ts";
import { RttEstimator } from "./rtt.ts";
import { TxQueue } from "./rack.ts";
import { Scoreboard } from "./scoreboard.ts";
import { OutSegment } from "./segment.ts";

/** What a connection needs from the stack it lives in. */
export interface TcpHost {
  /** the stack's time, ms (set before any call into a connection) */
  readonly now: number;
  /**
   * Send `seg` for `tcb`: the stack writes the IP and TCP headers (addresses
   * and ports from the TCB), copies the data from `tcb.sendBuffer` at
   * `seg.dataOffset`, fills the checksums and queues the frame.
   */
  transmit(tcb: Tcb, seg: OutSegment): void;
  /** A segment that answers one the connection refused: RST or ACK with exactly these numbers. */
  transmitControl(tcb: Tcb, seq: number, ack: number, flags: number): void;
  /** the state changed (for traces and for the socket layer) */
  stateChanged(tcb: Tcb, from: TcpState, to: TcpState): void;
  /** the connection reached CLOSED: forget it */
  released(tcb: Tcb): void;
  /** a passive connection completed its handshake (SYN-RECEIVED → ESTABLISHED) */
  accepted(tcb: Tcb): void;
  /** something a socket may wait on changed: readable, writable, connected, closed, an error */
  wake(tcb: Tcb): void;
  /** whether one more challenge ACK may go out now (RFC 5961 §7 rate limit) */
  challengeAckAllowed(): boolean;
  /** the sender's state changed (cwnd, ssthresh, RTO, recovery): for `--trace` */
  senderChanged?(tcb: Tcb, why: string): void;
  /**
   * While a batch of arriving frames is processed (see `TcpLayer.beginBatch`):
   * take `tcb`'s output to the batch's end and return true; else false (output now).
   */
  deferOutput?(tcb: Tcb): boolean;
}

/** A timer that is off. */
export const OFF = Number.POSITIVE_INFINITY;

/** The transmission control block. Fields are public to the rule modules of this folder. */
export class Tcb {
  state: TcpState = "CLOSED";
  readonly config: TcpConfig;
  readonly family: 4 | 6;
  localAddress: Uint8Array;
  localPort: number;
  remoteAddress: Uint8Array;
  remotePort: number;
  /** the connection's number, for traces ("conn 3") */
  readonly id: number;

  // Send sequence variables (RFC 9293 §3.3.1).
  iss = 0;
  /** our SYN has been acknowledged (SND.UNA passed ISS) */
  synAcked = false;
  sndUna = 0;
  sndNxt = 0;
  /** one past the highest sequence number ever sent (RFC 6675 HighData + 1): SND.NXT goes back to SND.UNA after a timeout */
  sndMax = 0;
  /** the peer's window, scaled, bytes */
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** the largest window the peer ever offered (RFC 5961 §5.2 MAX.SND.WND; sender SWS avoidance) */
  maxSndWnd = 0;

  // Receive sequence variables.
  irs = 0;
  rcvNxt = 0;
  /** the right edge of the window last advertised: RCV.NXT + RCV.WND when it was sent (never moves left, RFC 9293 §3.8.6.2.2) */
  rcvAdv = 0;
  /** the ACK number last sent (RFC 7323 §4.3 Last.ACK.sent) */
  lastAckSent = 0;
  /** when we last answered a segment we turned down (see TcpConfig.invalidAckIntervalMs) */
  lastInvalidAckAt = -Infinity;
  /** answers to turned-down segments held back by that limit */
  invalidAcksSkipped = 0;

  // Options (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
  /** the MSS we offer: what fits our MTU */
  ourMss: number;
  /** the most data per segment we send: min(the peer's MSS, what fits our MTU) */
  sndMss: number;
  /** the peer's window scale shift (applied to its window field); 0 without scaling */
  sndScale = 0;
  /** our shift (applied to the windows we advertise) */
  rcvScale = 0;
  /** the shift we offer in our SYN, or -1 for none */
  offeredScale = -1;
  tsOk = false;
  /** TS.Recent (RFC 7323 §4.3) and when it was set (§5.5: 24 days) */
  tsRecent = 0;
  tsRecentAt = 0;
  /** added to the clock for our TSval: a random offset per connection */
  tsOffset = 0;
  sackOk = false;

  // Buffers.
  readonly sendBuffer: Ring;
  readonly recvBuffer: Ring;
  readonly assembler: Assembler;
  /** the application closed its sending side: a FIN follows the data */
  finQueued = false;
  /** the FIN's sequence number once it has been sent, else -1 */
  finSeq = -1;
  /** a FIN arrived ahead of missing data: its sequence number, else -1 */
  peerFinSeq = -1;
  /** the peer's FIN was received in order: no more data will come */
  peerClosed = false;
  /** the application will not read any more (shutdown(SHUT_RD) or close) */
  readClosed = false;

  // Congestion control and loss recovery.
  cc: Controller;
  readonly rtt: RttEstimator;
  readonly scoreboard = new Scoreboard();
  /** RACK-TLP's records of what is in flight (RFC 8985), kept when SACK and `config.rack` are on */
  readonly tx = new TxQueue();
  /** TSval sent with the last timeout's retransmission: an echo older than it times the wait, not the path */
  rtoTsval = -1;
  /** a tail loss probe is out and unanswered (RFC 8985 §7.3: one at a time) */
  tlpPending = false;
  dupAcks = 0;
  /** new data sent by limited transmit (RFC 3042) since the last new ACK: not part of FlightSize for ssthresh (RFC 5681 §3.2 (2)) */
  limitedSent = 0;
  /** in fast recovery (RFC 6582 / RFC 6675) */
  inRecovery = false;
  /** RFC 6582 "recover" / RFC 6675 RecoveryPoint */
  recoveryPoint = 0;
  /** RFC 6675 HighRxt: one past the highest retransmitted byte in this recovery */
  highRxt = 0;
  /** RFC 6675 RescueRxt, or -1 */
  rescueRxt = -1;
  /** after a timeout, retransmissions in slow start until this sequence number */
  rtoRecoveryPoint = -1;
  /** Karn's rule timing without timestamps: the sequence number timed and when it was sent, or -1 */
  rttSeq = -1;
  rttSentAt = 0;

  // Timers (absolute ms on the stack's clock; OFF when not running).
  rtoAt = OFF;
  persistAt = OFF;
  /** RACK's reordering timer (RFC 8985 §6.2 step 6) */
  rackAt = OFF;
  /** the tail loss probe timer (RFC 8985 §7.2) */
  tlpAt = OFF;
  delayedAckAt = OFF;
  keepAliveAt = OFF;
  /** TIME-WAIT's 2MSL, or an orphaned FIN-WAIT-2's limit */
  closeAt = OFF;
  /** retransmissions of the current segment (SYN, data or FIN) */
  retries = 0;
  persistBackoff = 0;
  keepAliveProbes = 0;
  /** when a segment last arrived (keepalive idleness) */
  lastHeard = 0;

  // ACK bookkeeping.
  /** send an ACK at the next output, whatever the delayed-ACK rule says */
  ackNow = false;
  /** its output waits for the end of the batch of frames being processed (TcpLayer.beginBatch) */
  outputDeferred = false;
  /** in-order data bytes received since our last ACK (RFC 1122 §4.2.3.2: ACK at least every second full segment) */
  unackedBytes = 0;
  /**
   * in-order segments still to be acknowledged at once, not delayed: set when
   * data arrives out of order or fills a hole (see input.ts placeData)
   */
  quickAcks = 0;

  /** the segment being built (one per connection, reused) */
  readonly out = new OutSegment();

  /** the error the next socket call reports, once */
  error: SocketErrorCode | null = null;
  /** an ICMP error seen while opening (RFC 1122 §4.2.3.9): reported if the open then times out */
  softError: SocketErrorCode | null = null;
  /** whether the application closed the socket (an orphan finishing its close) */
  orphan = false;
  /** the listener this connection came from, until accepted */
  listener: unknown = null;
  /** the socket layer's handle */
  owner: unknown = null;

  constructor(
    id: number,
    config: TcpConfig,
    family: 4 | 6,
    localAddress: Uint8Array,
    localPort: number,
    remoteAddress: Uint8Array,
    remotePort: number,
    mss: number,
  ) {
    this.id = id;
    this.config = config;
    this.family = family;
    this.localAddress = localAddress;
    this.localPort = localPort;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.ourMss = mss;
    // RFC 9293 §3.7.1: without an MSS option the peer takes 536 (IPv4) / 1220 (IPv6, RFC 8200 §5 minus headers)
    this.sndMss = Math.min(mss, family === 4 ? 536 : 1220);
    this.sendBuffer = new Ring(config.sendBuffer);
    this.recvBuffer = new Ring(config.receiveBuffer);
    this.assembler = new Assembler(config.maxOutOfOrderRanges);
    this.cc = newController(config.congestion, mss, config.initialWindowSegments);
    this.rtt = new RttEstimator(config.initialRtoMs, config.minRtoMs, config.maxRtoMs);
  }

  /**
   * SMSS of RFC 5681 §2: the most data one segment carries, which "does not
   * include the TCP/IP headers and options": the send MSS less the 12 bytes
   * of the timestamp option every segment carries once agreed (RFC 6691 §3).
   * Congestion and loss-recovery arithmetic counts in it.
   */
  get smss(): number {
    return Math.max(1, this.sndMss - (this.tsOk ? 12 : 0));
  }

  /** Whether the handshake completed (RFC 9293's synchronized states). */
  get synchronized(): boolean {
    const s = this.state;
    return s !== "CLOSED" && s !== "LISTEN" && s !== "SYN-SENT" && s !== "SYN-RECEIVED";
  }

  /** Sequence space sent and not yet acknowledged (RFC 5681 FlightSize; a SYN or FIN counts as one). */
  get flight(): number {
    return Math.max(0, seqDiff(this.sndNxt, this.sndUna));
  }

  /** The data bytes in the send buffer not yet sent (from SND.NXT on). */
  get unsent(): number {
    return Math.max(0, this.sendBuffer.length - this.dataOffset(this.sndNxt));
  }

  /**
   * The send-buffer offset of sequence number `seq` (the buffer starts at the
   * first unacknowledged data byte; a SYN not yet acknowledged sits before it).
   */
  dataOffset(seq: number): number {
    return Math.max(0, seqDiff(seq, this.dataStart));
  }

  /** The sequence number of the first byte in the send buffer: after the SYN. */
  get dataStart(): number {
    return this.synAcked ? this.sndUna : (this.iss + 1) >>> 0;
  }

  /** The sequence number a FIN takes (or took): just past the last byte of data. */
  get finPosition(): number {
    return (this.dataStart + this.sendBuffer.length) >>> 0;
  }

  /** Whether RACK-TLP runs on this connection: configured, and SACK agreed (RFC 8985 §3: it needs SACK). */
  get rackOn(): boolean {
    return this.config.rack && this.sackOk;
  }

  /** Our TSval now (RFC 7323 §5.4: a clock of about 1 ms, plus a per-connection offset). */
  tsNow(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  /** The receive window we can offer now: free space in the receive buffer. */
  receiveSpace(): number {
    return this.readClosed ? 0 : this.recvBuffer.free;
  }

  /** "a.b.c.d:p > e.f.g.h:q" for traces and messages. */
  describe(format: (a: Uint8Array) => string): string {
    return `${format(this.localAddress)}:${this.localPort} > ${format(this.remoteAddress)}:${this.remotePort}`;
  }
}
