/**
 * A segment arrives for a connection: RFC 9293 §3.10.7 "SEGMENT ARRIVES",
 * step by step, with the hardening of RFC 5961 (RST and SYN acceptance by
 * challenge ACK, ACK acceptability), PAWS and timestamp bookkeeping (RFC
 * 7323 §4, §5), SACK blocks into the scoreboard (RFC 2018), duplicate-ACK
 * counting, fast retransmit and recovery (RFC 5681 §3.2, RFC 6582 NewReno,
 * RFC 6675 with SACK), limited transmit (RFC 3042), RTT samples (RFC 6298,
 * RFC 7323 §4) and data placed in order or held out of order. Segments for
 * a listening socket (a new SYN) are the stack's: see `passiveOpen` in
 * user.ts.
 *
 * @module
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "../seq.ts";
import { ACK, FIN, PSH, RST, SYN } from "./config.ts";
import { answerTurnedDown, challenge, processAck, synAcknowledged } from "./ack.ts";
import { tcpOutput } from "./output.ts";
import type { InSegment } from "./segment.ts";
import { fail, setState } from "./state.ts";
import { OFF, type Tcb, type TcpHost } from "./tcb.ts";

/** RFC 7323 §5.5: a TS.Recent older than 24 days is no longer trusted for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;
/**
 * In-order segments acknowledged at once after data arrived out of order or
 * filled a hole (Linux enters quick-ACK mode for up to 16).
 */
const QUICK_ACKS = 8;

/** The window shift we offer for a receive buffer: the smallest that fits it in 16 bits, at most 14 (RFC 7323 §2.3). */
export function windowShiftFor(buffer: number): number {
  let shift = 0;
  while (shift < 14 && buffer >>> shift > 0xffff) shift++;
  return shift;
}

/**
 * Take the options of the peer's SYN (RFC 9293 §3.7.1 MSS; RFC 7323 §1.3
 * scaling and timestamps only when both sides sent them; RFC 2018 §2 SACK).
 */
export function takeSynOptions(tcb: Tcb, seg: InSegment, now: number): void {
  if (seg.mss >= 0) {
    // A tiny MSS would let a peer make us send one byte per segment: 64 at least (Linux keeps 48+ of data).
    tcb.sndMss = Math.max(64, Math.min(tcb.ourMss, seg.mss));
  }
  if (tcb.config.windowScaling && seg.windowScale >= 0 && tcb.offeredScale >= 0) {
    // RFC 7323 §2.3: a shift over 14 is taken as 14.
    tcb.sndScale = Math.min(seg.windowScale, 14);
    tcb.rcvScale = tcb.offeredScale;
  } else {
    tcb.sndScale = 0;
    tcb.rcvScale = 0;
    tcb.offeredScale = -1;
  }
  tcb.sackOk = tcb.config.sack && seg.sackPermitted;
  tcb.tsOk = tcb.config.timestamps && seg.hasTimestamps;
  if (tcb.tsOk) {
    tcb.tsRecent = seg.tsval;
    tcb.tsRecentAt = now;
  }
}

/** Handle one arriving segment for `tcb` (any state but LISTEN and CLOSED). */
export function tcpInput(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  const now = host.now;
  tcb.lastHeard = now;
  if (tcb.state === "SYN-SENT") {
    synSent(tcb, seg, host);
  } else if (predicted(tcb, seg)) {
    nextInOrder(tcb, seg, host);
  } else {
    synchronizedInput(tcb, seg, host);
  }
  // RFC 1122 §4.2.3.6: keep-alives only after an interval with nothing received. Armed after
  // the segment is processed, so that the ACK which completes a handshake starts the idle time.
  if (tcb.config.keepAlive && tcb.synchronized && tcb.state !== "TIME-WAIT") {
    tcb.keepAliveProbes = 0;
    tcb.keepAliveAt = now + tcb.config.keepAliveIdleMs;
  }
  // In a batch of frames (a capture wake-up, like a GRO aggregate), the ACK every second
  // full-sized segment calls for, and any data the segment lets us send, go out once at the
  // batch's end: every frame sent in a batch leaves at its end anyway, so the per-segment ACKs
  // before the last only cost the peer work. Held out-of-order data keeps its duplicate ACK
  // per segment (a peer without SACK counts them, RFC 5681 §3.2).
  if (tcb.state !== "CLOSED" && !(tcb.assembler.empty && host.deferOutput?.(tcb) === true)) tcpOutput(tcb, host);
}

/**
 * Header prediction (Van Jacobson's, as BSD and Linux have it): the next
 * in-order data segment of an established connection that changes nothing
 * else. Its ACK is the one we had, for nothing outstanding, with the same
 * window and no SACK; its timestamp is not old (PAWS); it fits the window
 * and the buffer, and nothing is held out of order. For such a segment
 * every step of {@link synchronizedInput} but the data and the timestamp is
 * a no-op, so {@link nextInOrder} does only those: a bulk download is almost
 * all such segments.
 */
function predicted(tcb: Tcb, seg: InSegment): boolean {
  const len = seg.dataEnd - seg.dataStart;
  return (
    tcb.state === "ESTABLISHED" &&
    (seg.flags & ~PSH) === ACK &&
    seg.seq === tcb.rcvNxt &&
    seg.ack === tcb.sndUna &&
    tcb.sndMax === tcb.sndUna &&
    seg.sackCount === 0 &&
    seg.window << tcb.sndScale === tcb.sndWnd &&
    len > 0 &&
    len <= seqDiff(tcb.rcvAdv, tcb.rcvNxt) &&
    len <= tcb.recvBuffer.free &&
    tcb.assembler.empty &&
    tcb.peerFinSeq < 0 &&
    !tcb.readClosed &&
    tcb.rackAt === OFF &&
    (!tcb.tsOk || (seg.hasTimestamps && seqGe(seg.tsval, tcb.tsRecent)))
  );
}

/** A {@link predicted} segment: what {@link synchronizedInput} would do with it, and only that. */
function nextInOrder(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  // RFC 7323 §4.3: TS.Recent from the segment the next ACK acknowledges.
  if (tcb.tsOk && seqLe(seg.seq, tcb.lastAckSent)) {
    tcb.tsRecent = seg.tsval;
    tcb.tsRecentAt = host.now;
  }
  // RFC 9293 §3.10.7.4: the send window comes from the newest segment (same window, newer mark).
  if (seqLt(tcb.sndWl1, seg.seq) || (tcb.sndWl1 === seg.seq && seqLe(tcb.sndWl2, seg.ack))) {
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = seg.ack;
  }
  placeData(tcb, seg, host);
}

/** RFC 9293 §3.10.7.3: SYN-SENT. */
function synSent(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  const flags = seg.flags;
  let ackOk = false;
  if ((flags & ACK) !== 0) {
    // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set)"
    if (seqLe(seg.ack, tcb.iss) || seqGt(seg.ack, tcb.sndMax)) {
      if ((flags & RST) === 0) host.transmitControl(tcb, seg.ack, 0, RST);
      return;
    }
    ackOk = seqLt(tcb.sndUna, seg.ack) && seqLe(seg.ack, tcb.sndMax);
  }
  if ((flags & RST) !== 0) {
    // RFC 5961 §3.2 keeps RFC 793 here: a RST is taken when its ACK acknowledges our SYN.
    if (ackOk) fail(tcb, host, "ECONNREFUSED");
    return;
  }
  if ((flags & SYN) === 0) return;
  tcb.irs = seg.seq;
  tcb.rcvNxt = seqAdd(seg.seq, 1);
  // The window our SYN offered (unscaled, RFC 7323 §2.2) now has a place in the peer's sequence space.
  tcb.rcvAdv = seqAdd(tcb.rcvNxt, Math.min(tcb.receiveSpace(), 0xffff));
  takeSynOptions(tcb, seg, host.now);
  if (!ackOk) {
    // Simultaneous open (RFC 9293 Figure 7): SYN-RECEIVED, and our SYN goes again as a SYN-ACK.
    setState(tcb, host, "SYN-RECEIVED");
    tcb.ackNow = true;
    return;
  }
  tcb.sndWnd = seg.window; // RFC 7323 §2.2: a SYN's window is not scaled
  tcb.maxSndWnd = tcb.sndWnd;
  tcb.sndWl1 = seg.seq;
  tcb.sndWl2 = seg.ack;
  synAcknowledged(tcb, seg, host);
  setState(tcb, host, "ESTABLISHED");
  tcb.ackNow = true;
  if (seg.length > 0 || (flags & FIN) !== 0) {
    // Data on a SYN-ACK: everything after the SYN is processed as in ESTABLISHED.
    seg.seq = seqAdd(seg.seq, 1);
    receiveData(tcb, seg, host, (flags & FIN) !== 0);
  }
}

/** RFC 9293 §3.10.7.4: the other states. */
function synchronizedInput(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  if (tcb.state === "SYN-RECEIVED" && tcb.listener === null && (seg.flags & (SYN | ACK | RST)) === (SYN | ACK) && seg.seq === tcb.irs) {
    // RFC 9293 Figure 7 (simultaneous open, line 6): the peer's SYN-ACK repeats the SYN we
    // hold (SEG.SEQ = IRS) and its ACK covers ours: it completes the handshake. The SYN is
    // taken off so that what follows sees an ACK at RCV.NXT (Linux does the same); else the
    // sequence check would drop it, and the SYN check answer it with a challenge ACK.
    seg.flags &= ~SYN;
    seg.seq = seqAdd(seg.seq, 1);
  }
  const flags = seg.flags;
  const now = host.now;
  // RFC 7323 §3.2: once both SYNs carried timestamps, "If a non-<RST> segment is received
  // without a TSopt, a TCP SHOULD silently drop the segment"; a RST is not dropped for it.
  if (tcb.tsOk && !seg.hasTimestamps && (flags & RST) === 0) return;
  // RFC 7323 §5.3 R1: PAWS. An old timestamp marks a duplicate from an earlier wrap.
  if (tcb.tsOk && seg.hasTimestamps && (flags & RST) === 0 && seqLt(seg.tsval, tcb.tsRecent) && now - tcb.tsRecentAt < PAWS_IDLE_MS) {
    answerTurnedDown(tcb, host, seg);
    return;
  }
  // First: is the sequence number acceptable?
  const window = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  let dataLen = seg.length;
  const span = dataLen + ((flags & SYN) !== 0 ? 1 : 0) + ((flags & FIN) !== 0 ? 1 : 0);
  let acceptable: boolean;
  const rcvNxt = tcb.rcvNxt;
  const edge = seqAdd(rcvNxt, window);
  if (span === 0) {
    acceptable = window === 0 ? seg.seq === rcvNxt : seqLe(rcvNxt, seg.seq) && seqLt(seg.seq, edge);
  } else if (window === 0) {
    // RFC 9293: a zero window takes no data, "but special allowance should be made to accept valid ACKs, URGs, and RSTs"
    acceptable = false;
  } else {
    const last = seqAdd(seg.seq, span - 1);
    acceptable = (seqLe(rcvNxt, seg.seq) && seqLt(seg.seq, edge)) || (seqLe(rcvNxt, last) && seqLt(last, edge));
  }
  let fin = (flags & FIN) !== 0;
  let seq = seg.seq;
  if (!acceptable) {
    // A probe into a zero window (or any segment at RCV.NXT): its control bits and ACK still count, its data does not.
    const probe = window === 0 && seg.seq === rcvNxt;
    if ((flags & RST) === 0) answerTurnedDown(tcb, host, seg);
    if (tcb.state === "TIME-WAIT" && fin && (flags & RST) === 0 && seqAdd(seg.seq, dataLen + 1) === rcvNxt) {
      // RFC 9293 §3.10.7.4 TIME-WAIT: "The only thing that can arrive in this state is a
      // retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout."
      // It lies below RCV.NXT, so the sequence check turns it down before the FIN step.
      tcb.closeAt = now + tcb.config.timeWaitMs;
    }
    if (!probe) return;
    dataLen = 0;
    fin = false;
  }
  // RFC 5961 §3.2: a RST resets only at exactly RCV.NXT; elsewhere in the window it draws a challenge ACK.
  if ((flags & RST) !== 0) {
    if (seg.seq === rcvNxt) reset(tcb, host);
    else challenge(tcb, host);
    return;
  }
  // RFC 9293 §3.10.7.4 fourth, check the SYN bit.
  if ((flags & SYN) !== 0) {
    if (tcb.state === "SYN-RECEIVED" && tcb.listener !== null) {
      // "If the connection was initiated with a passive OPEN, then return this connection to
      // the LISTEN state and return": the half-open connection goes, the listener stays.
      setState(tcb, host, "CLOSED");
      return;
    }
    // RFC 5961 §4.2: in the synchronized states any SYN draws a challenge ACK.
    challenge(tcb, host);
    return;
  }
  if ((flags & ACK) === 0) return;
  // Timestamps (RFC 7323 §4.3): keep the peer's TSval of the segment that the next ACK will
  // acknowledge, once its ACK was found acceptable (RFC 5961 §5.2: a segment with an unacceptable
  // ACK "MUST be discarded", TS.Recent included; Linux updates it only then).
  // processAck takes it in before it sends anything.
  const tsRecent = tcb.tsOk && seg.hasTimestamps && seqLe(seq, tcb.lastAckSent) && seqGe(seg.tsval, tcb.tsRecent);
  if (!processAck(tcb, seg, host, tsRecent)) return;
  if (tcb.state === "CLOSED" || tcb.state === "TIME-WAIT") {
    if (tcb.state === "TIME-WAIT" && fin) tcb.ackNow = true;
    return;
  }
  // Trim the data to what the window holds.
  let start = seg.dataStart;
  if (seqLt(seq, tcb.rcvNxt)) {
    const cut = seqDiff(tcb.rcvNxt, seq);
    if (cut >= dataLen) {
      // Entirely old data (a duplicate): its FIN may still be new.
      if (fin && seqAdd(seq, dataLen) !== tcb.rcvNxt) fin = false;
      start += dataLen;
      dataLen = 0;
    } else {
      start += cut;
      dataLen -= cut;
    }
    seq = tcb.rcvNxt;
  }
  const room = seqDiff(seqAdd(tcb.rcvNxt, Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt))), seq);
  if (dataLen > room) {
    dataLen = Math.max(0, room);
    fin = false; // the FIN lies beyond the window
    tcb.ackNow = true;
  }
  seg.seq = seq;
  seg.dataStart = start;
  seg.dataEnd = start + dataLen;
  receiveData(tcb, seg, host, fin);
}

/** A RST at exactly RCV.NXT (RFC 9293 §3.10.7.4 second, per state). */
function reset(tcb: Tcb, host: TcpHost): void {
  switch (tcb.state) {
    case "SYN-RECEIVED":
      // From a passive open the connection just goes away (its listener never saw it);
      // from a simultaneous open the user is told the connection was refused.
      if (tcb.listener !== null) setState(tcb, host, "CLOSED");
      else fail(tcb, host, "ECONNREFUSED");
      return;
    case "ESTABLISHED":
    case "FIN-WAIT-1":
    case "FIN-WAIT-2":
    case "CLOSE-WAIT":
      fail(tcb, host, "ECONNRESET");
      return;
    default:
      // CLOSING, LAST-ACK, TIME-WAIT
      setState(tcb, host, "CLOSED");
  }
}

/**
 * RFC 9293 §3.10.7.4 seventh and eighth: the segment's data (already trimmed
 * to the window) and its FIN.
 */
function receiveData(tcb: Tcb, seg: InSegment, host: TcpHost, fin: boolean): void {
  const s = tcb.state;
  const len = seg.length;
  const open = s === "ESTABLISHED" || s === "FIN-WAIT-1" || s === "FIN-WAIT-2" || s === "SYN-RECEIVED";
  if (len > 0 && open) {
    if (tcb.readClosed) {
      // Data for an application that closed: it can never be read (RFC 2525 §2.17; Linux resets).
      host.transmitControl(tcb, tcb.sndNxt, tcb.rcvNxt, RST | ACK);
      fail(tcb, host, "ECONNRESET");
      return;
    }
    placeData(tcb, seg, host);
  }
  const end = seqAdd(seg.seq, len);
  if (fin && open) {
    if (end === tcb.rcvNxt) receiveFin(tcb, host);
    else if (seqGt(end, tcb.rcvNxt)) tcb.peerFinSeq = end; // ahead of missing data: taken when the data is
  } else if (tcb.peerFinSeq >= 0 && tcb.rcvNxt === tcb.peerFinSeq && open) {
    receiveFin(tcb, host);
  } else if (fin && (s === "CLOSE-WAIT" || s === "CLOSING" || s === "LAST-ACK" || s === "TIME-WAIT")) {
    // A retransmitted FIN: acknowledge again; TIME-WAIT starts its 2MSL over.
    tcb.ackNow = true;
    if (s === "TIME-WAIT") tcb.closeAt = host.now + tcb.config.timeWaitMs;
  }
}

/** In-order data goes to the application's buffer; data past a hole is held at its offset. */
function placeData(tcb: Tcb, seg: InSegment, host: TcpHost): void {
  const len = seg.length;
  const offset = seqDiff(seg.seq, tcb.rcvNxt);
  const ring = tcb.recvBuffer;
  if (offset === 0) {
    // The window never offers more than the buffer holds; a peer that sends past it loses the excess.
    if (len > ring.free) return;
    ring.writeAt(ring.length, seg.bytes, seg.dataStart, seg.dataEnd);
    ring.extend(len);
    tcb.rcvNxt = seqAdd(tcb.rcvNxt, len);
    const hadHoles = !tcb.assembler.empty;
    tcb.assembler.advance(len);
    const more = tcb.assembler.takeFront();
    if (more > 0) {
      ring.extend(more);
      tcb.rcvNxt = seqAdd(tcb.rcvNxt, more);
    }
    // RFC 5681 §4.2: ACK at once while out-of-order data is held or a hole was just filled;
    // RFC 1122 §4.2.3.2: else at least every second full-sized segment, or within the delay.
    // A full-sized segment from the peer carries our MSS less the options it must send
    // (timestamps: 12 bytes, RFC 6691 §3), so two of them are 2 * 1448 with timestamps.
    // After a loss (data out of order, or a hole just filled) the next segments are acknowledged
    // at once too (Linux's quick-ACK mode): the sender recovers with a small window, often a
    // single segment in flight, and a delayed ACK would hold it up for the whole delay.
    tcb.unackedBytes += len;
    const full = tcb.ourMss - (tcb.tsOk ? 12 : 0);
    if (hadHoles) tcb.quickAcks = QUICK_ACKS;
    else if (tcb.quickAcks > 0) {
      tcb.quickAcks--;
      tcb.ackNow = true;
    }
    if (hadHoles || tcb.unackedBytes >= 2 * full) tcb.ackNow = true;
    else if (tcb.delayedAckAt === OFF) tcb.delayedAckAt = host.now + tcb.config.delayedAckMs;
    if (tcb.peerFinSeq >= 0 && tcb.rcvNxt === tcb.peerFinSeq) receiveFin(tcb, host);
    host.wake(tcb);
    return;
  }
  // Out of order: hold it in the buffer at its place, if the assembler takes one more island.
  if (offset + len <= ring.capacity - ring.length && tcb.assembler.add(offset, offset + len)) {
    ring.writeAt(ring.length + offset, seg.bytes, seg.dataStart, seg.dataEnd);
  }
  tcb.ackNow = true; // a duplicate ACK, with SACK blocks, tells the sender at once
  tcb.quickAcks = QUICK_ACKS;
}

/** The peer's FIN, in order. */
function receiveFin(tcb: Tcb, host: TcpHost): void {
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, 1);
  tcb.peerFinSeq = -1;
  tcb.peerClosed = true;
  tcb.ackNow = true;
  switch (tcb.state) {
    case "SYN-RECEIVED":
    case "ESTABLISHED":
      setState(tcb, host, "CLOSE-WAIT");
      break;
    case "FIN-WAIT-1":
      setState(tcb, host, tcb.finSeq >= 0 && seqGt(tcb.sndUna, tcb.finSeq) ? "TIME-WAIT" : "CLOSING");
      break;
    case "FIN-WAIT-2":
      setState(tcb, host, "TIME-WAIT");
      break;
    default:
  }
  host.wake(tcb);
}

