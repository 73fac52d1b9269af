/**
 * `--trace` for TFTP: a {@link TraceSink} that prints every frame in (`<`)
 * and out (`>`) as the stack's own trace does, but decodes the datagrams of
 * a transfer as TFTP even though only the request goes to port 69 (the
 * {@link TftpTracker} follows the conversation, as `stackts read` does), so
 * each DATA and ACK shows with its block number. The engine's notes
 * (timeouts, gaps, the options agreed) come in between as `# tftp: ...`.
 *
 * @example
 * ```ts
 * host.stack.trace = new TftpTrace((line) => console.error(line), host.driver.now);
 * ```
 *
 * @module
 */
import { PacketDecoder } from "../../../layers/decode.ts";
import { LINKTYPE } from "../../../layers/dispatch.ts";
import { appSummary } from "../../format/app_summary.ts";
import { SummaryFormatter } from "../../format/summary.ts";
import type { TcpState } from "../../stack/tcp/config.ts";
import type { Tcb } from "../../stack/tcp/tcb.ts";
import type { TraceSink } from "../../stack/trace.ts";
import { TftpTracker } from "../../tftp_tracker.ts";

/** Prints frames with TFTP followed past port 69, and the engine's notes. */
export class TftpTrace implements TraceSink {
  readonly #write: (line: string) => void;
  readonly #tracker = new TftpTracker();
  readonly #decoder: PacketDecoder;
  readonly #summary = new SummaryFormatter({ app: appSummary, absoluteSeq: true });
  readonly #start: number;

  /** `write` gets each line; `start` is the clock value shown as 0. */
  constructor(write: (line: string) => void, start = 0) {
    this.#write = write;
    this.#start = start;
    this.#decoder = new PacketDecoder({ udpHint: this.#tracker.udpHint });
  }

  #time(now: number): string {
    return ((now - this.#start) / 1000).toFixed(6).padStart(11);
  }

  frame(now: number, direction: "in" | "out", bytes: Uint8Array, start: number, end: number): void {
    const p = this.#decoder.decode(bytes, LINKTYPE.ETHERNET, end - start, start, end);
    this.#write(`${this.#time(now)} ${direction === "in" ? "<" : ">"} ${this.#summary.format(p.layers, p.issues, end - start)}`);
    this.#tracker.observe(p, now / 1000);
  }

  state(_now: number, _tcb: Tcb, _from: TcpState, _to: TcpState): void {}

  sender(_now: number, _tcb: Tcb, _why: string): void {}

  drop(now: number, reason: string): void {
    this.#write(`${this.#time(now)} # drop: ${reason}`);
  }

  note(now: number, text: string): void {
    this.#write(`${this.#time(now)} # ${text}`);
  }
}
