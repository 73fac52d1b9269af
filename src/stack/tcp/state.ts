/**
 * State changes of a connection, in one place so that every change is
 * reported (traces, the socket layer) and CLOSED always releases the
 * connection and stops its timers.
 *
 * @module
 */
import type { SocketErrorCode } from "../errors.ts";
import type { TcpState } from "./config.ts";
import { OFF, type Tcb, type TcpHost } from "./tcb.ts";

/** Move `tcb` to `to`, telling the host; CLOSED releases it. */
export function setState(tcb: Tcb, host: TcpHost, to: TcpState): void {
  const from = tcb.state;
  if (from === to) return;
  tcb.state = to;
  host.stateChanged(tcb, from, to);
  if (to === "TIME-WAIT") {
    // RFC 9293 §3.10.7.4: only the 2MSL timer runs in TIME-WAIT.
    stopTimers(tcb);
    tcb.closeAt = host.now + tcb.config.timeWaitMs;
  }
  if (to === "CLOSED") {
    stopTimers(tcb);
    host.released(tcb);
  }
  host.wake(tcb);
}

/** End the connection with an error the socket reports (ECONNRESET, ETIMEDOUT, ...). */
export function fail(tcb: Tcb, host: TcpHost, code: SocketErrorCode): void {
  if (tcb.error === null) tcb.error = code;
  setState(tcb, host, "CLOSED");
}

/** Stop every timer. */
export function stopTimers(tcb: Tcb): void {
  tcb.rtoAt = OFF;
  tcb.persistAt = OFF;
  tcb.rackAt = OFF;
  tcb.tlpAt = OFF;
  tcb.delayedAckAt = OFF;
  tcb.keepAliveAt = OFF;
  tcb.closeAt = OFF;
}
