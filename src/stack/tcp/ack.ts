/**
 * The ACK field of an arriving segment (RFC 9293 §3.10.7.4 fifth), split out
 * of `input.ts`: RFC 5961 §5.2 acceptability, SND.UNA and the send window,
 * RTT samples (RFC 6298, RFC 7323 §4), duplicate ACKs and fast retransmit
 * (RFC 5681 §3.2, RFC 6582, RFC 6675 §5), RACK-TLP's deliveries and loss
 * marks (RFC 8985), and the close states our FIN's acknowledgment moves.
 *
 * @module
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "../seq.ts";
import { FIN, RST, SYN } from "./config.ts";
import { newController } from "./congestion.ts";
import { retransmitFirst, retransmitFirstLost, sendAck, startRecovery } from "./output.ts";
import { DUP_THRESH } from "./scoreboard.ts";
import type { InSegment } from "./segment.ts";
import { setState } from "./state.ts";
import { OFF, type Tcb, type TcpHost } from "./tcb.ts";

/** Our SYN is acknowledged (SYN-SENT's SYN-ACK, or the ACK that ends SYN-RECEIVED). */
export function synAcknowledged(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  const synLost = tcb.retries > 0;
  tcb.sndUna = seg.ack;
  tcb.synAcked = true;
  if (seqLt(tcb.sndNxt, tcb.sndUna)) tcb.sndNxt = tcb.sndUna;
  if (!synLost) {
    // Karn's rule: only a SYN sent once gives a sample.
    if (tcb.tsOk && seg.hasTimestamps && seg.tsecr !== 0) rttSample(tcb, seqDiff(tcb.tsNow(host.now), seg.tsecr));
    else if (tcb.rttSeq >= 0) rttSample(tcb, host.now - tcb.rttSentAt);
  } else {
    // RFC 6298 (5.7): after a lost SYN or SYN-ACK, an RTO of at least 3 s until a sample comes.
    tcb.rtt.atLeast(3000);
  }
  tcb.rttSeq = -1;
  tcb.retries = 0;
  tcb.rtoAt = seqLt(tcb.sndUna, tcb.sndMax) ? host.now + tcb.rtt.rto : OFF;
  // The congestion controller counts in the SMSS now agreed on (RFC 5681 §2: the peer's MSS less
  // our options, not our own MSS): RFC 6928 §2's initial window, or RFC 5681 §3.1's one segment
  // when the SYN or SYN-ACK was lost.
  tcb.cc = newController(tcb.config.congestion, tcb.smss, tcb.config.initialWindowSegments);
  if (synLost) tcb.cc.cwnd = tcb.smss;
  tcb.recoveryPoint = tcb.iss;
}

function takeTsRecent(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  tcb.tsRecent = seg.tsval;
  tcb.tsRecentAt = host.now;
}

function rttSample(tcb: Tcb, ms: number): void {
  // A sample of a day or more is a bogus echo, not a path.
  if (ms < 0 || ms > 86_400_000) return;
  tcb.rtt.sample(ms);
  // RACK's minimum RTT (RFC 8985 §5.2) takes every valid sample, the handshake's included.
  if (ms < tcb.tx.minRtt) tcb.tx.minRtt = ms;
}

/**
 * May this connection answer a segment it turned down now? At most one
 * answer per `invalidAckIntervalMs` (Linux's per-socket limit on
 * out-of-window, PAWS and challenge ACKs): two stacks that disagree about a
 * connection (a forged RST or SYN, an accepted forged segment) would
 * otherwise answer each other's answers for ever.
 */
export function invalidAckAllowed(tcb: Tcb, host: TcpHost): boolean {
  if (host.now - tcb.lastInvalidAckAt < tcb.config.invalidAckIntervalMs) {
    tcb.invalidAcksSkipped++;
    return false;
  }
  tcb.lastInvalidAckAt = host.now;
  return true;
}

/**
 * Answer a segment turned down by the sequence or PAWS test with an ACK
 * (RFC 9293 §3.10.7.4 first, RFC 7323 §5.3): at once when it carried data
 * (its sender is waiting for our ACK, and data cannot loop), else within
 * the per-connection limit.
 */
export function answerTurnedDown(tcb: Tcb, host: TcpHost, seg: InSegment): void {
  if ((seg.length > 0 && (seg.flags & SYN) === 0) || invalidAckAllowed(tcb, host)) tcb.ackNow = true;
}

/** A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), within the connection's limit and the stack's (§7). */
export function challenge(tcb: Tcb, host: TcpHost): void {
  if (invalidAckAllowed(tcb, host) && host.challengeAckAllowed()) sendAck(tcb, host);
}

/**
 * RFC 9293 §3.10.7.4 fifth: the ACK field. Returns false when the segment
 * must be dropped here. `tsRecent`: the segment's TSval becomes TS.Recent
 * once its ACK is found acceptable (RFC 7323 §4.3, RFC 5961 §5.2), before
 * anything is sent in answer.
 */
export function processAck(tcb: Tcb, seg: InSegment, host: TcpHost, tsRecent: boolean): boolean {
  const ack = seg.ack;
  if (tcb.state === "SYN-RECEIVED") {
    if (!(seqLt(tcb.sndUna, ack) && seqLe(ack, tcb.sndMax))) {
      // "form a reset segment <SEQ=SEG.ACK><CTL=RST>"
      host.transmitControl(tcb, ack, 0, RST);
      return false;
    }
    if (tsRecent) takeTsRecent(tcb, seg, host);
    tcb.sndWnd = seg.window << tcb.sndScale;
    tcb.maxSndWnd = Math.max(tcb.maxSndWnd, tcb.sndWnd);
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = ack;
    synAcknowledged(tcb, seg, host);
    setState(tcb, host, tcb.finQueued ? "FIN-WAIT-1" : "ESTABLISHED");
    if (tcb.listener !== null) host.accepted(tcb);
    if (tcb.finSeq >= 0 && seqGt(ack, tcb.finSeq)) finAcknowledged(tcb, host);
    return true;
  }
  // RFC 5961 §5.2: an ACK of what was never sent, or older than the largest window, is answered and dropped.
  if (seqGt(ack, tcb.sndMax)) {
    challenge(tcb, host);
    return false;
  }
  if (seqLt(ack, seqAdd(tcb.sndUna, -tcb.maxSndWnd))) {
    challenge(tcb, host);
    return false;
  }
  if (tsRecent) takeTsRecent(tcb, seg, host);
  const oldWindow = tcb.sndWnd;
  const newWindow = seg.window << tcb.sndScale;
  let sackGrew = false;
  if (tcb.sackOk && seg.sackCount > 0) {
    const una = seqGt(ack, tcb.sndUna) ? ack : tcb.sndUna;
    for (let i = 0; i < seg.sackCount; i++) {
      if (tcb.scoreboard.add(seg.sackLeft[i]!, seg.sackRight[i]!, una, tcb.sndMax)) sackGrew = true;
    }
  }
  if (seqGt(ack, tcb.sndUna)) {
    newAck(tcb, seg, host);
  } else if (ack === tcb.sndUna && seqGt(tcb.sndNxt, tcb.sndUna)) {
    // RFC 5681 §2 duplicate ACK: nothing new acknowledged, outstanding data, no data or SYN/FIN, same window;
    // RFC 6675 §2: or, with SACK, one that SACKs something new. Outstanding means sent within
    // the window (below SND.NXT): a zero-window probe's octet is not, and the replies to
    // probes must not start a fast retransmit.
    const plain = seg.length === 0 && (seg.flags & (SYN | FIN)) === 0 && newWindow === oldWindow;
    if (tcb.sackOk ? sackGrew : plain) duplicateAck(tcb, host);
  }
  if (tcb.rackOn) {
    // RFC 8985 §6.2: what this ACK delivered (cumulatively and by SACK) moves RACK; then look for losses.
    const now = host.now;
    for (let i = 0; i < seg.sackCount; i++) tcb.tx.sacked(seg.sackLeft[i]!, seg.sackRight[i]!, now);
    tcb.tx.acked(tcb.sndUna, now);
    rackDetect(tcb, host);
  }
  // RFC 9293 §3.10.7.4: update the send window from the newest segment.
  if (seqLt(tcb.sndWl1, seg.seq) || (tcb.sndWl1 === seg.seq && seqLe(tcb.sndWl2, ack))) {
    tcb.sndWnd = newWindow;
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = ack;
    if (newWindow > tcb.maxSndWnd) tcb.maxSndWnd = newWindow;
    if (newWindow > oldWindow) host.wake(tcb);
  }
  return true;
}

/** SND.UNA advances to `seg.ack`. */
function newAck(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  const now = host.now;
  const ack = seg.ack;
  const flightBefore = tcb.flight;
  const acked = seqDiff(ack, tcb.sndUna);
  const finAcked = tcb.finSeq >= 0 && seqGt(ack, tcb.finSeq);
  const data = Math.min(tcb.sendBuffer.length, acked - (finAcked && seqGe(tcb.finSeq, tcb.sndUna) ? 1 : 0));
  if (data > 0) tcb.sendBuffer.consume(data);
  tcb.sndUna = ack;
  if (seqLt(tcb.sndNxt, ack)) tcb.sndNxt = ack; // a probe's byte, or data resent after a timeout, was taken
  tcb.scoreboard.advance(ack);
  // RTT (RFC 7323 §4.1: the echo of an ACK that advances SND.UNA; else Karn's timed segment).
  // An echo older than the last timeout's retransmission acknowledges a segment sent before the
  // timeout: its age includes the wait, not the path (the estimate would feed on its own backoff).
  if (tcb.tsOk && seg.hasTimestamps && seg.tsecr !== 0) {
    if (tcb.rtoTsval < 0 || seqGe(seg.tsecr, tcb.rtoTsval)) rttSample(tcb, seqDiff(tcb.tsNow(now), seg.tsecr));
  } else if (tcb.rttSeq >= 0 && seqGe(ack, tcb.rttSeq)) {
    rttSample(tcb, now - tcb.rttSentAt);
    tcb.rttSeq = -1;
  }
  tcb.retries = 0;
  // RFC 6298 (5.2), (5.3); RFC 8985 §7.2: the probe timer starts over with the next output.
  tcb.rtoAt = seqLt(tcb.sndUna, tcb.sndMax) ? now + tcb.rtt.rto : OFF;
  tcb.tlpAt = OFF;
  tcb.tlpPending = false;
  if (tcb.inRecovery) {
    if (seqGe(ack, tcb.recoveryPoint)) {
      // Full acknowledgment: recovery ends (RFC 6582 §3.2 (3), RFC 6675 §5).
      tcb.inRecovery = false;
      tcb.dupAcks = 0;
      // RFC 6582 §3.2 (3) option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)
      tcb.cc.onRecoveryEnd(Math.max(tcb.flight, tcb.smss));
      host.senderChanged?.(tcb, "recovery end");
    } else if (!tcb.sackOk) {
      // RFC 6582 §3.2 (5) partial acknowledgment: retransmit the next hole, deflate the window.
      retransmitFirst(tcb, host);
      tcb.cc.cwnd = Math.max(tcb.smss, tcb.cc.cwnd - acked + (acked >= tcb.smss ? tcb.smss : 0));
      host.senderChanged?.(tcb, "partial ack");
    }
  } else {
    tcb.dupAcks = 0;
    tcb.limitedSent = 0;
    // Slow start after a timeout retransmits the rest in order; growth as usual otherwise.
    tcb.cc.onAck(acked, flightBefore, now, tcb.rtt.srtt);
    if (tcb.rtoRecoveryPoint >= 0 && seqGe(ack, tcb.rtoRecoveryPoint)) tcb.rtoRecoveryPoint = -1;
  }
  if (finAcked) finAcknowledged(tcb, host);
  host.wake(tcb);
}

/** Our FIN is acknowledged: the close advances (RFC 9293 §3.10.7.4 fifth, per state). */
function finAcknowledged(tcb: Tcb, host: TcpHost): void {
  switch (tcb.state) {
    case "FIN-WAIT-1":
      setState(tcb, host, "FIN-WAIT-2");
      // An orphaned connection does not wait for the peer's FIN for ever (Linux tcp_fin_timeout).
      if (tcb.orphan) tcb.closeAt = host.now + tcb.config.timeWaitMs;
      break;
    case "CLOSING":
      setState(tcb, host, "TIME-WAIT");
      break;
    case "LAST-ACK":
      setState(tcb, host, "CLOSED");
      break;
    default:
  }
}

/** A duplicate ACK: count it, and start or feed loss recovery. */
function duplicateAck(tcb: Tcb, host: TcpHost): void {
  tcb.dupAcks++;
  if (tcb.inRecovery) {
    // RFC 6582 §3.2 (4): each further duplicate inflates the window by one segment (NewReno);
    // with SACK the pipe does that accounting.
    if (!tcb.sackOk) tcb.cc.cwnd += tcb.smss;
    return;
  }
  // With RACK-TLP, losses are RACK's to find (rackDetect, after this): while no reordering was
  // seen its reordering window is zero once DupThresh segments are SACKed, which finds the
  // same loss at the same ACK; once reordering was seen, counting duplicates would resend
  // what is merely late (RFC 8985 §6.2 step 4, as Linux's RACK does).
  if (tcb.rackOn) return;
  const lost = tcb.sackOk && seqGt(tcb.scoreboard.lostBelow(tcb.sndUna, tcb.smss), tcb.sndUna);
  if (tcb.dupAcks < DUP_THRESH && !lost) return; // limited transmit (RFC 3042) is output's: usableWindow
  // RFC 6582 §3.2 (2): a new recovery only once the cumulative ACK covers the last one's
  // "recover" (the highest byte sent when it began, or when the timer last fired: §4).
  if (seqLt(tcb.sndUna, tcb.recoveryPoint)) return;
  // RFC 5681 §3.2 (2): ssthresh from FlightSize, where "additional data sent in limited
  // transmit MUST NOT be included in this calculation".
  tcb.cc.onLoss(Math.max(0, tcb.flight - tcb.limitedSent), host.now);
  tcb.limitedSent = 0;
  startRecovery(tcb);
  if (!tcb.sackOk) tcb.cc.cwnd = tcb.cc.ssthresh + DUP_THRESH * tcb.smss; // RFC 6582 §3.2 (2)
  // Fast retransmit: the first unacknowledged segment.
  retransmitFirst(tcb, host);
  host.senderChanged?.(tcb, "fast retransmit");
}

/**
 * Start a loss-recovery episode (RFC 6675 §5, RFC 5681 §3.2 (2)): the
 * controller's response once, the recovery point at the highest byte sent.
 */
function enterRecovery(tcb: Tcb, host: TcpHost, why: string): void {
  tcb.cc.onLoss(Math.max(0, tcb.flight - tcb.limitedSent), host.now);
  tcb.limitedSent = 0;
  startRecovery(tcb);
  tcb.tlpAt = OFF;
  // RFC 6675 §5 (4.3), RFC 5681 §3.2 (2): the first segment taken as lost goes at once,
  // whatever the pipe says; the recovery output sends the rest as the pipe drains.
  retransmitFirstLost(tcb, host);
  host.senderChanged?.(tcb, why);
}

/**
 * RACK's loss detection (RFC 8985 §6.2 step 5) and its reordering timer:
 * segments found lost start a recovery if none runs (and RFC 6582's rule
 * allows one: SND.UNA past the last recovery point).
 */
export function rackDetect(tcb: Tcb, host: TcpHost): void {
  const out = { timer: Infinity };
  const newly = tcb.tx.detect(host.now, tcb.rtt.srtt, tcb.inRecovery, tcb.smss, out);
  tcb.rackAt = out.timer === Infinity ? OFF : out.timer;
  if (newly > 0 && !tcb.inRecovery && !seqLt(tcb.sndUna, tcb.recoveryPoint)) enterRecovery(tcb, host, "rack: lost");
}
