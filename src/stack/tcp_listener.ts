/**
 * A listening socket's queues (RFC 9293 §3.10.1 passive OPEN): half-open
 * connections a SYN flood may evict, completed ones waiting for accept();
 * and the rule for a SYN that meets a connection in TIME-WAIT. The
 * {@link TcpLayer} (tcp_layer.ts) fills and drains them.
 *
 * @module
 */
import { seqGt } from "./seq.ts";
import type { TcpConfig } from "./tcp/config.ts";
import type { InSegment } from "./tcp/segment.ts";
import type { Tcb } from "./tcp/tcb.ts";

/** Something waiting on a connection or a listener (the socket layer). */
export interface Waker {
  wake(): void;
}

/** A listening socket's queues (RFC 9293 §3.10.1 passive OPEN). */
export class Listener {
  readonly family: 4 | 6;
  /** the local address, or null for any of ours */
  readonly address: Uint8Array | null;
  readonly port: number;
  /** completed connections waiting for accept() at most */
  backlog: number;
  readonly config: TcpConfig;
  /** half-open connections (SYN-RECEIVED) at most: a SYN flood evicts the oldest */
  readonly maxHalfOpen: number;
  readonly halfOpen: Tcb[] = [];
  readonly acceptQueue: Tcb[] = [];
  owner: Waker | null = null;
  closed = false;
  /** SYNs dropped because the accept queue was full, half-open connections evicted */
  readonly stats = { droppedFull: 0, evicted: 0 };

  constructor(family: 4 | 6, address: Uint8Array | null, port: number, backlog: number, config: TcpConfig) {
    this.family = family;
    this.address = address;
    this.port = port;
    this.backlog = Math.max(1, backlog);
    this.config = config;
    this.maxHalfOpen = Math.max(16, 2 * this.backlog);
  }
}

/**
 * Whether a SYN may reopen a connection in TIME-WAIT. With timestamps on both
 * incarnations, RFC 6191 §2: a newer TSval, or an equal one and a higher
 * sequence number; timestamps on the old one but not in this SYN: yes (the
 * third case of §2). Without timestamps, RFC 1122 §4.2.2.13: only a sequence
 * number beyond the old connection's. All compared in sequence space.
 */
export function reopensTimeWait(t: Tcb, seg: InSegment): boolean {
  if (t.tsOk && seg.hasTimestamps) return seqGt(seg.tsval, t.tsRecent) || (seg.tsval === t.tsRecent && seqGt(seg.seq, t.rcvNxt));
  if (t.tsOk) return true;
  return seqGt(seg.seq, t.rcvNxt);
}
