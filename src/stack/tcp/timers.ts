/**
 * A connection's timers firing: retransmission (RFC 6298 §5, with the loss
 * response of RFC 5681 §3.1 and RFC 6582 §4), persist (RFC 9293 §3.8.6.1),
 * keepalive (RFC 1122 §4.2.3.6), delayed ACK (RFC 1122 §4.2.3.2, sent by the
 * output that follows) and TIME-WAIT's 2MSL (RFC 9293 §3.4.2). The stack
 * calls {@link tcpTimers} when `nextDeadline(tcb)` has passed.
 *
 * @module
 */
import { seqLt } from "../seq.ts";
import { rackDetect } from "./ack.ts";
import { ACK, RST } from "./config.ts";
import { nextDeadline, sendKeepAlive, sendSyn, sendTailLossProbe, sendWindowFill, sendWindowProbe, tcpOutput } from "./output.ts";
import { fail, setState } from "./state.ts";
import { OFF, type Tcb, type TcpHost } from "./tcb.ts";

export { nextDeadline };

/** Run every timer of `tcb` that is due at `host.now`, then output. */
export function tcpTimers(tcb: Tcb, host: TcpHost): void {
  const now = host.now;
  if (tcb.closeAt <= now) {
    tcb.closeAt = OFF;
    setState(tcb, host, "CLOSED");
    return;
  }
  if (tcb.rtoAt <= now) {
    tcb.rtoAt = OFF;
    retransmitTimeout(tcb, host);
    if (tcb.state === "CLOSED") return;
  }
  if (tcb.rackAt <= now) {
    // RACK's reordering timer (RFC 8985 §6.2 step 6): look for losses again now that time passed.
    tcb.rackAt = OFF;
    rackDetect(tcb, host);
  }
  if (tcb.tlpAt <= now) sendTailLossProbe(tcb, host);
  if (tcb.persistAt <= now) {
    tcb.persistAt = OFF;
    if (tcb.unsent > 0 && tcb.flight === 0) {
      if (tcb.sndWnd > 0) {
        // RFC 9293 §3.8.6.2.1 (4): a window too small for the SWS rules, and the
        // override timeout passed: send what fits (the output then waits for its ACK).
        sendWindowFill(tcb, host);
      } else if (tcb.orphan && tcb.persistBackoff >= tcb.config.orphanProbes) {
        host.transmitControl(tcb, tcb.sndNxt, tcb.rcvNxt, RST | ACK);
        fail(tcb, host, "ETIMEDOUT");
        return;
      } else {
        sendWindowProbe(tcb, host);
        tcb.persistBackoff++;
        tcb.persistAt = now + Math.min(tcb.config.maxRtoMs, tcb.rtt.rto * 2 ** tcb.persistBackoff);
      }
    }
  }
  if (tcb.keepAliveAt <= now) {
    tcb.keepAliveAt = OFF;
    if (tcb.config.keepAlive && tcb.synchronized && tcb.state !== "TIME-WAIT") {
      if (tcb.keepAliveProbes >= tcb.config.keepAliveProbes) {
        fail(tcb, host, "ETIMEDOUT");
        return;
      }
      sendKeepAlive(tcb, host);
      tcb.keepAliveProbes++;
      tcb.keepAliveAt = now + tcb.config.keepAliveIntervalMs;
    }
  }
  // A due delayed ACK goes out with whatever output sends.
  tcpOutput(tcb, host);
}

/** RFC 6298 (5.4)-(5.7): the retransmission timer expired. */
function retransmitTimeout(tcb: Tcb, host: TcpHost): void {
  const s = tcb.state;
  tcb.retries++;
  if (s === "SYN-SENT" || s === "SYN-RECEIVED") {
    if (tcb.retries > tcb.config.synRetries) {
      // A passive connection that never completed just goes; an active one fails.
      if (tcb.listener !== null) setState(tcb, host, "CLOSED");
      else fail(tcb, host, "ETIMEDOUT");
      return;
    }
    tcb.rtt.expired();
    tcb.rttSeq = -1;
    sendSyn(tcb, host);
    host.senderChanged?.(tcb, "syn timeout");
    return;
  }
  if (!seqLt(tcb.sndUna, tcb.sndMax)) return; // nothing outstanding
  if (tcb.retries > tcb.config.dataRetries) {
    fail(tcb, host, "ETIMEDOUT");
    return;
  }
  // RFC 5681 (4): ssthresh from the flight, cwnd to one segment; RFC 6298 (5.5): back off.
  tcb.cc.onTimeout(Math.max(tcb.flight, tcb.smss), host.now);
  tcb.rtt.expired();
  if (tcb.retries >= 4) tcb.rtt.reset(); // (5.7 note) the path may have changed: start the estimate over
  // RFC 2018 §8: after a timeout, SACK information is not trusted (the receiver may renege);
  // RFC 8985 §6.3: everything in flight is taken as lost and resent in order.
  tcb.scoreboard.clear();
  tcb.tx.clear();
  tcb.rackAt = OFF;
  tcb.tlpAt = OFF;
  tcb.tlpPending = false;
  tcb.rtoTsval = tcb.tsNow(host.now);
  tcb.inRecovery = false;
  tcb.dupAcks = 0;
  tcb.limitedSent = 0;
  // RFC 6582 §4: no fast retransmit until everything sent before the timeout is acknowledged.
  tcb.recoveryPoint = tcb.sndMax;
  tcb.rtoRecoveryPoint = tcb.sndMax;
  // Go back: the output that follows resends from SND.UNA, one segment now (cwnd), the rest
  // as ACKs open the window in slow start (RFC 5681 §3.1, RFC 6298 (5.4)).
  tcb.sndNxt = tcb.sndUna;
  tcb.rttSeq = -1;
  host.senderChanged?.(tcb, "rto");
}
