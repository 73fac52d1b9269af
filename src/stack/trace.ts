/**
 * Watching the stack work (`--trace`): every frame in and out, each
 * connection's state changes, and the sender's state (cwnd, ssthresh, RTO,
 * SACK holes) whenever loss recovery or a timeout changes it. The stack calls
 * a {@link TraceSink}; {@link TextTrace} prints one line per event, frames as
 * `stackts read` prints them, so a trace reads like a capture with TCP's
 * machinery written in between.
 *
 * @example
 * ```ts
 * import { TextTrace } from "./trace.ts";
 * const stack = new Stack({ ..., trace: new TextTrace((line) => console.error(line)) });
 * ```
 *
 * @module
 */
import { formatIp } from "../../layers/addr.ts";
import { PacketDecoder } from "../../layers/decode.ts";
import { LINKTYPE } from "../../layers/dispatch.ts";
import { appSummary } from "../format/app_summary.ts";
import { SummaryFormatter } from "../format/summary.ts";
import type { TcpState } from "./tcp/config.ts";
import type { Tcb } from "./tcp/tcb.ts";

/** What the stack reports. Times are the stack's clock, ms. */
export interface TraceSink {
  frame(now: number, direction: "in" | "out", bytes: Uint8Array, start: number, end: number): void;
  state(now: number, tcb: Tcb, from: TcpState, to: TcpState): void;
  sender(now: number, tcb: Tcb, why: string): void;
  drop(now: number, reason: string): void;
  note(now: number, text: string): void;
}

/** The sender's numbers as one line: `cwnd 14480 ssthresh 7240 rto 212 srtt 3.1 flight 2896 holes [1449:2897]`. */
export function senderState(tcb: Tcb): string {
  const cc = tcb.cc;
  const ss = cc.ssthresh >= 0x7fffffff ? "inf" : String(cc.ssthresh);
  let holes = "";
  const sb = tcb.scoreboard;
  if (!sb.empty) {
    const parts: string[] = [];
    let at = tcb.sndUna;
    for (let i = 0; i < sb.count; i++) {
      parts.push(`${(at - tcb.iss) >>> 0}:${(sb.left(i) - tcb.iss) >>> 0}`);
      at = sb.right(i);
    }
    holes = ` holes [${parts.join(" ")}]`;
  }
  const recovery = tcb.inRecovery ? " recovery" : "";
  return `cwnd ${cc.cwnd} ssthresh ${ss} rto ${Math.round(tcb.rtt.rto)} srtt ${tcb.rtt.srtt.toFixed(1)} flight ${tcb.flight}${recovery}${holes}`;
}

/** Prints each event as a line. */
export class TextTrace implements TraceSink {
  readonly #write: (line: string) => void;
  readonly #decoder = new PacketDecoder();
  readonly #summary = new SummaryFormatter({ app: appSummary, absoluteSeq: true });
  readonly #start: number;

  /** `write` gets each line; `start` is the clock value shown as 0. */
  constructor(write: (line: string) => void, start = 0) {
    this.#write = write;
    this.#start = start;
  }

  #time(now: number): string {
    return ((now - this.#start) / 1000).toFixed(6).padStart(11);
  }

  frame(now: number, direction: "in" | "out", bytes: Uint8Array, start: number, end: number): void {
    const p = this.#decoder.decode(bytes, LINKTYPE.ETHERNET, end - start, start, end);
    this.#write(`${this.#time(now)} ${direction === "in" ? "<" : ">"} ${this.#summary.format(p.layers, p.issues, end - start)}`);
  }

  state(now: number, tcb: Tcb, from: TcpState, to: TcpState): void {
    this.#write(`${this.#time(now)} # conn ${tcb.id} ${tcb.describe(formatIp)} ${from} -> ${to}`);
  }

  sender(now: number, tcb: Tcb, why: string): void {
    this.#write(`${this.#time(now)} # conn ${tcb.id} ${why}: ${senderState(tcb)}`);
  }

  drop(now: number, reason: string): void {
    this.#write(`${this.#time(now)} # drop: ${reason}`);
  }

  note(now: number, text: string): void {
    this.#write(`${this.#time(now)} # ${text}`);
  }
}
