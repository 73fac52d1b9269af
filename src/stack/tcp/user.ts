/**
 * The calls an application makes on a connection (RFC 9293 §3.10.1-§3.10.6:
 * OPEN, SEND, RECEIVE, CLOSE, ABORT) and the passive open a listener makes
 * when a SYN arrives. The socket layer turns these into Beej's calls and
 * Node streams; here they only change the connection and ask for output.
 *
 * @module
 */
import { seqAdd, seqDiff } from "../seq.ts";

import { takeSynOptions, windowShiftFor } from "./input.ts";
import { sendReset, sendSyn, tcpOutput } from "./output.ts";
import type { InSegment } from "./segment.ts";
import { setState } from "./state.ts";
import { OFF, type Tcb, type TcpHost } from "./tcb.ts";

/** Active OPEN (RFC 9293 §3.10.1): send our SYN. `iss` and `tsOffset` come from the stack's random source. */
export function activeOpen(tcb: Tcb, host: TcpHost, iss: number, tsOffset: number): void {
  tcb.iss = iss;
  tcb.sndUna = iss;
  tcb.sndNxt = iss;
  tcb.sndMax = iss;
  tcb.recoveryPoint = iss;
  tcb.tsOffset = tsOffset;
  tcb.offeredScale = tcb.config.windowScaling ? windowShiftFor(tcb.config.receiveBuffer) : -1;
  setState(tcb, host, "SYN-SENT");
  tcb.rttSeq = seqAdd(iss, 1);
  tcb.rttSentAt = host.now;
  sendSyn(tcb, host);
}

/**
 * A SYN reached a listener: the new connection `tcb` (addresses and ports
 * set) answers it with a SYN-ACK from SYN-RECEIVED (RFC 9293 §3.10.7.2).
 */
export function passiveOpen(tcb: Tcb, seg: InSegment, host: TcpHost, iss: number, tsOffset: number): void {
  tcb.iss = iss;
  tcb.sndUna = iss;
  tcb.sndNxt = iss;
  tcb.sndMax = iss;
  tcb.recoveryPoint = iss;
  tcb.tsOffset = tsOffset;
  tcb.irs = seg.seq;
  tcb.rcvNxt = seqAdd(seg.seq, 1);
  // Scale only when the peer offered it (RFC 7323 §1.3): we answer with our shift then.
  tcb.offeredScale = tcb.config.windowScaling && seg.windowScale >= 0 ? windowShiftFor(tcb.config.receiveBuffer) : -1;
  takeSynOptions(tcb, seg, host.now);
  tcb.sndWnd = seg.window;
  tcb.maxSndWnd = seg.window;
  tcb.sndWl1 = seg.seq;
  tcb.state = "SYN-RECEIVED";
  host.stateChanged(tcb, "LISTEN", "SYN-RECEIVED");
  tcb.rttSeq = seqAdd(iss, 1);
  tcb.rttSentAt = host.now;
  sendSyn(tcb, host);
}

/**
 * SEND (RFC 9293 §3.10.2): queue as much of `data[start, end)` as the send
 * buffer takes and send what may go. Returns the bytes queued (0 when the
 * buffer is full: the caller waits for `wake`).
 */
export function userSend(tcb: Tcb, host: TcpHost, data: Uint8Array, start = 0, end = data.length): number {
  const n = tcb.sendBuffer.append(data, start, end);
  if (n > 0 && tcb.synchronized) tcpOutput(tcb, host);
  return n;
}

/**
 * RECEIVE (RFC 9293 §3.10.3): take up to `max` bytes in order. When reading
 * opens the window by enough to matter (RFC 9293 §3.8.6.2.2: half the buffer
 * or one MSS), a window update goes out.
 */
export function userReceive(tcb: Tcb, host: TcpHost, max: number): Uint8Array {
  const data = new Uint8Array(Math.min(max, tcb.recvBuffer.length));
  userReceiveInto(tcb, host, data, 0, data.length);
  return data;
}

/** {@link userReceive} into the caller's `dst[at, at + max)`; returns the bytes moved. */
export function userReceiveInto(tcb: Tcb, host: TcpHost, dst: Uint8Array, at: number, max: number): number {
  const before = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  const n = tcb.recvBuffer.takeInto(dst, at, max);
  if (n > 0 && tcb.synchronized && !tcb.peerClosed) {
    const space = tcb.receiveSpace();
    const threshold = Math.min(tcb.recvBuffer.capacity >> 1, tcb.ourMss);
    // Advertised little or nothing, and the space is now worth offering: tell the peer.
    if (space - before >= threshold && before < threshold * 2) {
      tcb.ackNow = true;
      tcpOutput(tcb, host);
    }
  }
  return n;
}

/**
 * Half-close (shutdown SHUT_WR): a FIN follows the queued data (RFC 9293
 * §3.10.4 CLOSE on the sending side).
 */
export function userShutdown(tcb: Tcb, host: TcpHost): void {
  switch (tcb.state) {
    case "SYN-SENT":
    case "LISTEN":
      setState(tcb, host, "CLOSED");
      return;
    case "SYN-RECEIVED":
      // RFC 9293 §3.10.4: the FIN goes once established.
      tcb.finQueued = true;
      return;
    case "ESTABLISHED":
      tcb.finQueued = true;
      setState(tcb, host, "FIN-WAIT-1");
      break;
    case "CLOSE-WAIT":
      tcb.finQueued = true;
      setState(tcb, host, "LAST-ACK");
      break;
    default:
      return; // already closing
  }
  tcpOutput(tcb, host);
}

/**
 * CLOSE (RFC 9293 §3.10.4): no more sending or receiving by the
 * application. With unread data, or data arriving later, the connection is
 * reset instead (RFC 2525 §2.17, as Linux does): the peer must not believe
 * it was read.
 */
export function userClose(tcb: Tcb, host: TcpHost): void {
  tcb.orphan = true;
  tcb.readClosed = true;
  if (tcb.recvBuffer.length > 0 && tcb.synchronized) {
    userAbort(tcb, host);
    return;
  }
  userShutdown(tcb, host);
  if (tcb.state === "FIN-WAIT-2") tcb.closeAt = host.now + tcb.config.timeWaitMs;
}

/** ABORT (RFC 9293 §3.10.5): RST to the peer if it knows us, and CLOSED. */
export function userAbort(tcb: Tcb, host: TcpHost): void {
  const s = tcb.state;
  if (s === "SYN-RECEIVED" || tcb.synchronized) {
    if (s !== "TIME-WAIT") sendReset(tcb, host);
  }
  tcb.closeAt = OFF;
  setState(tcb, host, "CLOSED");
}

