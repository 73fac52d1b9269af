/**
 * What a connection sends, and when: the output half of TCP. Called after a
 * segment arrived, after a socket call and when a timer fired, it sends what
 * the windows allow (RFC 9293 §3.8.6, the usable window; RFC 5681 cwnd),
 * holds back small segments (Nagle, RFC 9293 §3.7.4; sender silly-window
 * avoidance, §3.8.6.2.1), retransmits by SACK's rules during recovery (RFC
 * 6675 §4 NextSeg), and otherwise acknowledges when an ACK is due (RFC 1122
 * §4.2.3.2). Every segment carries the current ACK, window (receiver SWS
 * avoidance, RFC 9293 §3.8.6.2.2), timestamps (RFC 7323 §3) and SACK blocks
 * (RFC 2018 §4).
 *
 * @module
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLt, seqMax } from "../seq.ts";
import { ACK, FIN, PSH, RST, SYN } from "./config.ts";
import { DUP_THRESH } from "./scoreboard.ts";
import { MAX_SACK_BLOCKS } from "./segment.ts";
import { OFF, type Tcb, type TcpHost } from "./tcb.ts";

/** The most data one segment carries (SMSS: the send MSS less the timestamp option, RFC 6691). */
export function segmentSize(tcb: Tcb): number {
  return tcb.smss;
}

/**
 * The window field to send, and the right edge it promises (never moved left,
 * moved right only by at least min(half the buffer, one MSS): RFC 9293
 * §3.8.6.2.2 receiver silly-window avoidance).
 */
function windowField(tcb: Tcb, syn: boolean): number {
  const space = tcb.receiveSpace();
  if (syn) {
    // RFC 7323 §2.2: the window in a SYN is never scaled
    const w = Math.min(space, 0xffff);
    tcb.rcvAdv = seqAdd(tcb.rcvNxt, w);
    return w;
  }
  // The field says at most 0xffff << scale: the edge held is never past what was said
  // (RFC 7323 §2.3; RFC 5961 §3.2's window is the advertised one).
  const edge = seqAdd(tcb.rcvNxt, Math.min(space, 0xffff * 2 ** tcb.rcvScale));
  if (seqGt(edge, tcb.rcvAdv) && seqDiff(edge, tcb.rcvAdv) >= Math.min(tcb.recvBuffer.capacity >> 1, tcb.ourMss)) tcb.rcvAdv = edge;
  // RFC 7323 §2.3: the field is the window shifted right; what the shift drops is not offered
  return Math.min(0xffff, Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt)) >>> tcb.rcvScale);
}

/** Fill the fields every segment carries: ACK, window, timestamps, SACK blocks. Clears the pending-ACK state. */
function fillCommon(tcb: Tcb, host: TcpHost, flags: number): void {
  const seg = tcb.out;
  const syn = (flags & SYN) !== 0;
  seg.flags = flags;
  if ((flags & ACK) !== 0) {
    seg.ack = tcb.rcvNxt;
    tcb.lastAckSent = tcb.rcvNxt;
    tcb.ackNow = false;
    tcb.unackedBytes = 0;
    tcb.delayedAckAt = OFF;
  }
  seg.window = windowField(tcb, syn);
  // A SYN offers timestamps when configured; a SYN-ACK and everything after only when both sides agreed (RFC 7323 §3.2).
  const ts = syn && tcb.state === "SYN-SENT" ? tcb.config.timestamps : tcb.tsOk;
  if (ts) {
    seg.hasTimestamps = true;
    seg.tsval = tcb.tsNow(host.now);
    seg.tsecr = (flags & ACK) !== 0 ? tcb.tsRecent : 0;
  }
  if (tcb.sackOk && !syn && (flags & ACK) !== 0 && !tcb.assembler.empty) fillSackBlocks(tcb);
}

/**
 * SACK blocks for the out-of-order data held (RFC 2018 §4): the range that
 * holds the most recent arrival first, then the others from the highest down;
 * as many as fit (three beside timestamps).
 */
function fillSackBlocks(tcb: Tcb): void {
  const seg = tcb.out;
  const a = tcb.assembler;
  const max = tcb.tsOk ? MAX_SACK_BLOCKS - 1 : MAX_SACK_BLOCKS;
  let n = 0;
  const recent = a.recent;
  if (recent >= 0) {
    seg.sackLeft[n] = seqAdd(tcb.rcvNxt, a.start(recent));
    seg.sackRight[n] = seqAdd(tcb.rcvNxt, a.end(recent));
    n++;
  }
  for (let i = a.count - 1; i >= 0 && n < max; i--) {
    if (i === recent) continue;
    seg.sackLeft[n] = seqAdd(tcb.rcvNxt, a.start(i));
    seg.sackRight[n] = seqAdd(tcb.rcvNxt, a.end(i));
    n++;
  }
  seg.sackCount = n;
}

/** Arm the retransmission timer if it is not running (RFC 6298 (5.1)). */
function armRto(tcb: Tcb, now: number): void {
  if (tcb.rtoAt === OFF) tcb.rtoAt = now + tcb.rtt.rto;
}

/** Send our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), with the options we offer. */
export function sendSyn(tcb: Tcb, host: TcpHost): void {
  const seg = tcb.out.clear();
  const synAck = tcb.state === "SYN-RECEIVED";
  seg.seq = tcb.iss;
  seg.mss = tcb.ourMss;
  // Offer scaling, SACK and timestamps in a SYN; in a SYN-ACK only what the peer offered (RFC 7323 §1.3, RFC 2018 §2).
  if (synAck ? tcb.offeredScale >= 0 : tcb.config.windowScaling) seg.windowScale = tcb.offeredScale >= 0 ? tcb.offeredScale : 0;
  seg.sackPermitted = synAck ? tcb.sackOk : tcb.config.sack;
  fillCommon(tcb, host, synAck ? SYN | ACK : SYN);
  host.transmit(tcb, seg);
  if (seqGt(seqAdd(tcb.iss, 1), tcb.sndNxt)) tcb.sndNxt = seqAdd(tcb.iss, 1);
  if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
  armRto(tcb, host.now);
}

/** Send a bare ACK (also a window update, a duplicate ACK, a challenge ACK). */
export function sendAck(tcb: Tcb, host: TcpHost): void {
  const seg = tcb.out.clear();
  seg.seq = tcb.sndNxt;
  fillCommon(tcb, host, ACK);
  host.transmit(tcb, seg);
}

/** Send RST for this connection: `<SEQ=SND.NXT><CTL=RST>` (an abort, RFC 9293 §3.10.5). */
export function sendReset(tcb: Tcb, host: TcpHost): void {
  host.transmitControl(tcb, tcb.sndNxt, tcb.rcvNxt, RST | ACK);
}

/**
 * How a range goes out: `new` data (SND.NXT moves, the segment may be timed
 * for an RTT sample), `resend` after a timeout (SND.NXT moves back over data
 * sent before: never timed), `again`, a retransmission beside SND.NXT
 * (fast retransmit, SACK recovery: never timed, HighRxt moves), or `rescue`,
 * RFC 6675's rescue retransmission (as `again`, but "HighRxt MUST NOT be
 * updated", NextSeg (4)).
 */
type SendMode = "new" | "resend" | "again" | "rescue";

/**
 * Send `len` data bytes starting at sequence number `seq`, with FIN when the
 * range ends where the FIN goes and the application closed.
 */
function sendRange(tcb: Tcb, host: TcpHost, seq: number, len: number, mode: SendMode): void {
  const seg = tcb.out.clear();
  seg.seq = seq;
  seg.dataOffset = tcb.dataOffset(seq);
  seg.dataLength = len;
  let flags = ACK;
  const end = seqAdd(seq, len);
  const finAt = tcb.finPosition;
  if (len > 0 && end === finAt) flags |= PSH;
  const beside = mode === "again" || mode === "rescue";
  if (tcb.finQueued && end === finAt && (!beside || tcb.finSeq >= 0)) flags |= FIN;
  fillCommon(tcb, host, flags);
  host.transmit(tcb, seg);
  if (len > 0 && tcb.rackOn) tcb.tx.sent(seq, end, host.now, mode !== "new");
  const next = seqAdd(end, (flags & FIN) !== 0 ? 1 : 0);
  if ((flags & FIN) !== 0) tcb.finSeq = end;
  if (mode === "again") {
    if (seqGt(next, tcb.highRxt)) tcb.highRxt = next;
  } else if (mode !== "rescue") {
    tcb.sndNxt = next;
  }
  if (mode !== "new") {
    // Karn's rule (RFC 6298 §3): a retransmitted segment is never timed.
    tcb.rttSeq = -1;
  } else if (tcb.rttSeq < 0 && !tcb.tsOk) {
    tcb.rttSeq = next;
    tcb.rttSentAt = host.now;
  }
  if (seqGt(next, tcb.sndMax)) tcb.sndMax = next;
  armRto(tcb, host.now);
}

/** Retransmit the first unacknowledged segment (fast retransmit, RFC 5681 §3.2; the timer, RFC 6298 (5.4)). */
export function retransmitFirst(tcb: Tcb, host: TcpHost): void {
  if (!tcb.synAcked) {
    sendSyn(tcb, host);
    return;
  }
  const outstanding = seqDiff(tcb.sndMax, tcb.sndUna);
  if (outstanding <= 0) return;
  const len = Math.min(segmentSize(tcb), tcb.sendBuffer.length, outstanding);
  sendRange(tcb, host, tcb.sndUna, len, "again");
}

/**
 * Send what the windows and the rules allow, then an ACK if one is still
 * due. Returns whether anything was sent.
 */
export function tcpOutput(tcb: Tcb, host: TcpHost): boolean {
  const s = tcb.state;
  if (s === "CLOSED" || s === "LISTEN") return false;
  if (s === "SYN-SENT" || s === "SYN-RECEIVED") {
    // A duplicate SYN (our SYN-ACK was lost) asks for the SYN-ACK again.
    if (tcb.ackNow && s === "SYN-RECEIVED") {
      sendSyn(tcb, host);
      return true;
    }
    return false;
  }
  let sent = false;
  if (s === "ESTABLISHED" || s === "CLOSE-WAIT" || s === "FIN-WAIT-1" || s === "CLOSING" || s === "LAST-ACK") {
    if (tcb.inRecovery && tcb.sackOk) sent = tcb.rackOn ? rackRecoverySend(tcb, host) : sackRecoverySend(tcb, host);
    else sent = sendNewData(tcb, host);
    managePersist(tcb, host.now);
    if (tcb.rackOn) armTlp(tcb, host.now);
  }
  if (tcb.ackNow || tcb.delayedAckAt <= host.now) {
    sendAck(tcb, host);
    sent = true;
  }
  return sent;
}

/**
 * Usable window (RFC 9293 §3.8.6.2.1 with RFC 5681's cwnd): what may still be
 * sent past SND.NXT. On the first two duplicate ACKs, limited transmit (RFC
 * 3042 §2) lets one new segment go for each, "the amount of outstanding data
 * would remain less than or equal to the congestion window plus 2*SMSS", cwnd
 * itself unchanged; the peer's window still bounds it.
 */
function usableWindow(tcb: Tcb): number {
  let cwnd = tcb.cc.cwnd;
  // Only "previously unsent data" (RFC 3042 §2): not the resends that follow a timeout.
  if (!tcb.inRecovery && tcb.dupAcks > 0 && tcb.dupAcks < DUP_THRESH && tcb.sndNxt === tcb.sndMax) cwnd += tcb.dupAcks * tcb.smss;
  return Math.min(tcb.sndWnd, cwnd) - tcb.flight;
}

/** New data (and the FIN) by the windows, Nagle and silly-window avoidance. */
function sendNewData(tcb: Tcb, host: TcpHost): boolean {
  let sent = false;
  const mss = segmentSize(tcb);
  for (;;) {
    const unsent = tcb.unsent;
    if (unsent > 0) {
      const usable = usableWindow(tcb);
      let len = Math.min(unsent, mss);
      if (len > usable) len = Math.max(0, usable);
      if (len === 0) break;
      if (len < mss) {
        const all = len === unsent;
        // RFC 9293 §3.7.4 Nagle: a small segment only when nothing is in flight (or no-delay);
        // a closing connection pushes its last bytes.
        const nagleOk = tcb.config.noDelay || tcb.flight === 0 || tcb.finQueued;
        // §3.8.6.2.1: or at least half the largest window the peer offered.
        const swsOk = len >= tcb.maxSndWnd / 2;
        if (!((all && nagleOk) || (swsOk && nagleOk))) break;
      }
      if (!tcb.inRecovery && tcb.dupAcks > 0 && tcb.sndNxt === tcb.sndMax) tcb.limitedSent += len;
      sendRange(tcb, host, tcb.sndNxt, len, seqLt(tcb.sndNxt, tcb.sndMax) ? "resend" : "new");
      sent = true;
      continue;
    }
    // All data sent: the FIN, which needs no window (again after a timeout took SND.NXT back).
    if (tcb.finQueued && tcb.sndNxt === tcb.finPosition) {
      sendRange(tcb, host, tcb.sndNxt, 0, tcb.finSeq >= 0 ? "resend" : "new");
      sent = true;
    }
    break;
  }
  return sent;
}

/**
 * A recovery's new data: one segment past everything sent, within the peer's
 * window, full-sized or the last of the data (no runt while more waits).
 * Returns whether it sent.
 */
function sendNewInRecovery(tcb: Tcb, host: TcpHost, mss: number): boolean {
  const unsent = tcb.unsent;
  if (unsent === 0 || tcb.sndNxt !== tcb.sndMax) return false;
  const room = tcb.sndWnd - seqDiff(tcb.sndNxt, tcb.sndUna);
  const len = Math.min(unsent, mss, room);
  if (len <= 0 || (len !== mss && len !== unsent)) return false;
  sendRange(tcb, host, tcb.sndNxt, len, "new");
  return true;
}

/**
 * During SACK recovery: while the pipe leaves room for a segment, send by
 * RFC 6675 §4 NextSeg: (1) a lost hole past HighRxt, (2) new data, (3) any
 * hole past HighRxt below the highest SACKed byte, (4) one rescue
 * retransmission of the last segment.
 */
function sackRecoverySend(tcb: Tcb, host: TcpHost): boolean {
  const mss = segmentSize(tcb);
  const hole = { start: 0, end: 0 };
  let sent = false;
  for (let guard = 0; guard < 1024; guard++) {
    const sb = tcb.scoreboard;
    const pipe = sb.pipe(tcb.sndUna, tcb.sndMax, tcb.highRxt, mss);
    if (tcb.cc.cwnd - pipe < mss) break;
    const highest = sb.highest;
    const from = seqMax(tcb.highRxt, tcb.sndUna);
    const lost = sb.lostBelow(tcb.sndUna, mss);
    // (1)
    if (highest !== undefined && sb.nextHole(from, highest, hole) && seqLt(hole.start, lost)) {
      retransmitHole(tcb, host, hole.start, Math.min(mss, seqDiff(hole.end, hole.start)));
      sent = true;
      continue;
    }
    // (2) new data within the peer's window
    if (sendNewInRecovery(tcb, host, mss)) {
      sent = true;
      continue;
    }
    // (3)
    if (highest !== undefined && sb.nextHole(from, highest, hole)) {
      retransmitHole(tcb, host, hole.start, Math.min(mss, seqDiff(hole.end, hole.start)));
      sent = true;
      continue;
    }
    // (4) rescue: one segment ending at HighData, once per recovery
    if (tcb.rescueRxt < 0 || seqLt(tcb.rescueRxt, tcb.sndUna)) {
      const end = tcb.finSeq >= 0 && tcb.sndMax === seqAdd(tcb.finSeq, 1) ? tcb.finSeq : tcb.sndMax;
      const len = Math.min(mss, seqDiff(end, tcb.sndUna));
      if (len > 0 && !sb.isSacked(seqAdd(end, -1))) {
        retransmitHole(tcb, host, seqAdd(end, -len), len, "rescue");
        tcb.rescueRxt = tcb.recoveryPoint;
        sent = true;
        continue;
      }
    }
    break;
  }
  return sent;
}

/**
 * Recovery with RACK-TLP's marks (RFC 8985 §6.2 with RFC 6675's pipe):
 * while the pipe leaves room for a segment, resend the first segment marked
 * lost (a lost retransmission too, which RFC 6675's HighRxt would leave to
 * the timer), else send new data.
 */
function rackRecoverySend(tcb: Tcb, host: TcpHost): boolean {
  const mss = segmentSize(tcb);
  const lost = { start: 0, end: 0 };
  let sent = false;
  for (let guard = 0; guard < 4096; guard++) {
    const pipe = tcb.tx.pipe(tcb.sndUna, tcb.sndMax);
    if (tcb.cc.cwnd - pipe < mss) break;
    if (tcb.tx.firstLost(lost)) {
      retransmitHole(tcb, host, lost.start, Math.min(mss, seqDiff(lost.end, lost.start)));
      sent = true;
      continue;
    }
    if (sendNewInRecovery(tcb, host, mss)) {
      sent = true;
      continue;
    }
    break;
  }
  return sent;
}

/** Resend the first segment RACK-TLP marked lost, if any (a recovery's first retransmission). */
export function retransmitFirstLost(tcb: Tcb, host: TcpHost): void {
  const lost = { start: 0, end: 0 };
  if (!tcb.tx.firstLost(lost)) return;
  retransmitHole(tcb, host, lost.start, Math.min(segmentSize(tcb), seqDiff(lost.end, lost.start)));
}

/**
 * Arm the tail loss probe (RFC 8985 §7.2): data in flight, not in recovery,
 * no probe out: PTO = 2·SRTT, plus the worst delayed ACK (200 ms) when one
 * segment alone is out, never past the retransmission timer.
 */
function armTlp(tcb: Tcb, now: number): void {
  if (tcb.inRecovery || tcb.tlpPending || tcb.flight === 0 || tcb.state === "TIME-WAIT") {
    tcb.tlpAt = OFF;
    return;
  }
  if (tcb.tlpAt !== OFF) return;
  const srtt = tcb.rtt.measured ? tcb.rtt.srtt : tcb.config.initialRtoMs / 2;
  let pto = Math.max(2 * srtt, 10);
  if (tcb.flight <= segmentSize(tcb)) pto += 200;
  tcb.tlpAt = Math.min(now + pto, tcb.rtoAt);
}

/**
 * The tail loss probe fired (RFC 8985 §7.3): send one new segment if the
 * windows allow, else the last segment again, so that an ACK (with SACK
 * blocks) comes back and RACK can see what the tail lost. The retransmission
 * timer then runs from now.
 */
export function sendTailLossProbe(tcb: Tcb, host: TcpHost): void {
  tcb.tlpAt = OFF;
  if (tcb.flight === 0 || tcb.inRecovery) return;
  const mss = segmentSize(tcb);
  const unsent = tcb.unsent;
  const room = Math.min(tcb.sndWnd, tcb.cc.cwnd + mss) - tcb.flight;
  if (unsent > 0 && tcb.sndNxt === tcb.sndMax && room > 0) {
    sendRange(tcb, host, tcb.sndNxt, Math.min(unsent, mss, room), "new");
  } else {
    const last = { start: 0, end: 0 };
    if (!tcb.tx.lastUnsacked(last)) return;
    const len = Math.min(mss, seqDiff(last.end, last.start));
    retransmitHole(tcb, host, seqAdd(last.end, -len), len, "rescue");
  }
  tcb.tlpPending = true;
  tcb.rtoAt = host.now + tcb.rtt.rto;
  host.senderChanged?.(tcb, "tail loss probe");
}

function retransmitHole(tcb: Tcb, host: TcpHost, seq: number, len: number, mode: "again" | "rescue" = "again"): void {
  if (tcb.finSeq >= 0 && seq === tcb.finSeq) len = 0;
  else len = Math.min(len, seqDiff(tcb.finPosition, seq));
  sendRange(tcb, host, seq, Math.max(0, len), mode);
  host.senderChanged?.(tcb, "retransmit");
}

/**
 * The persist timer (RFC 9293 §3.8.6.1): data waits, the peer's window is
 * closed and nothing is in flight to bring an ACK: probe, backing off.
 */
function managePersist(tcb: Tcb, now: number): void {
  const blocked = tcb.unsent > 0 && tcb.flight === 0 && tcb.sndWnd < Math.min(segmentSize(tcb), tcb.unsent);
  if (!blocked) {
    tcb.persistAt = OFF;
    tcb.persistBackoff = 0;
    return;
  }
  if (tcb.persistAt === OFF) tcb.persistAt = now + Math.min(tcb.config.maxRtoMs, tcb.rtt.rto * 2 ** tcb.persistBackoff);
}

/**
 * The sender's silly-window override (RFC 9293 §3.8.6.2.1 (4)): the peer's
 * window is open but smaller than the rules let a segment be, and the
 * override timeout (the persist timer) passed: send as much as the window
 * takes, at most one segment.
 */
export function sendWindowFill(tcb: Tcb, host: TcpHost): void {
  const len = Math.min(tcb.sndWnd - tcb.flight, tcb.unsent, segmentSize(tcb));
  if (len <= 0) return;
  sendRange(tcb, host, tcb.sndNxt, len, seqLt(tcb.sndNxt, tcb.sndMax) ? "resend" : "new");
}

/**
 * A window probe: one byte of the waiting data sent at SND.NXT whatever the
 * window says (RFC 9293 §3.8.6.1). SND.NXT does not move: if the peer takes
 * the byte, its ACK moves it.
 */
export function sendWindowProbe(tcb: Tcb, host: TcpHost): void {
  const seg = tcb.out.clear();
  seg.seq = tcb.sndNxt;
  seg.dataOffset = tcb.dataOffset(tcb.sndNxt);
  seg.dataLength = Math.min(1, tcb.unsent);
  fillCommon(tcb, host, ACK);
  host.transmit(tcb, seg);
  const end = seqAdd(tcb.sndNxt, seg.dataLength);
  if (seqGt(end, tcb.sndMax)) tcb.sndMax = end;
}

/** A keepalive probe: `<SEQ=SND.UNA-1>` with no data (RFC 1122 §4.2.3.6), which the peer must ACK. */
export function sendKeepAlive(tcb: Tcb, host: TcpHost): void {
  const seg = tcb.out.clear();
  seg.seq = seqAdd(tcb.sndUna, -1);
  fillCommon(tcb, host, ACK);
  host.transmit(tcb, seg);
}

/** The earliest of the connection's timers. */
export function nextDeadline(tcb: Tcb): number {
  return Math.min(tcb.rtoAt, tcb.persistAt, tcb.delayedAckAt, tcb.keepAliveAt, tcb.closeAt, tcb.rackAt, tcb.tlpAt);
}

/** Start the sender's loss-recovery bookkeeping afresh (a new recovery episode). */
export function startRecovery(tcb: Tcb): void {
  tcb.inRecovery = true;
  tcb.recoveryPoint = tcb.sndMax;
  tcb.highRxt = tcb.sndUna;
  tcb.rescueRxt = -1;
}

