/**
 * `--trace` for TFTP: a {@link TraceSink} that prints every frame in (`<`)
 * and out (`>`) as the stack's own trace does, but decodes the datagrams of
 * a transfer as TFTP even though only the request goes to port 69 (the
 * {@link TftpTracker} follows the conversation, as `stackts read` does; for
 * a server on another port, the client ports that asked it), so each DATA
 * and ACK shows with its block number. The engine's notes
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
  readonly #port: number;
  /** with a server port other than 69: the client ports seen asking it (the last 1024) */
  readonly #clients = new Set<number>();

  /**
   * `write` gets each line; `start` is the clock value shown as 0; `port`
   * the server's port when it is not 69 (requests to it, and what the client
   * ports that sent them exchange, are then read as TFTP too).
   */
  constructor(write: (line: string) => void, start = 0, port = 69) {
    this.#write = write;
    this.#start = start;
    this.#port = port;
    const hint = this.#tracker.udpHint;
    this.#decoder = new PacketDecoder({
      udpHint:
        port === 69
          ? hint
          : (src, dst, ip) => (dst === port || src === port || this.#clients.has(src) || this.#clients.has(dst) ? "tftp" : hint(src, dst, ip)),
    });
  }

  #time(now: number): string {
    return ((now - this.#start) / 1000).toFixed(6).padStart(11);
  }

  frame(now: number, direction: "in" | "out", bytes: Uint8Array, start: number, end: number): void {
    const p = this.#decoder.decode(bytes, LINKTYPE.ETHERNET, end - start, start, end);
    this.#write(`${this.#time(now)} ${direction === "in" ? "<" : ">"} ${this.#summary.format(p.layers, p.issues, end - start)}`);
    this.#tracker.observe(p, now / 1000);
    if (this.#port !== 69) {
      const udp = p.layers.find((l) => l.layer === "udp") as { dstPort?: number; srcPort?: number } | undefined;
      const tftp = p.layers.find((l) => l.layer === "tftp") as { opcode?: number } | undefined;
      if (udp?.dstPort === this.#port && (tftp?.opcode === 1 || tftp?.opcode === 2) && udp.srcPort !== undefined) {
        this.#clients.add(udp.srcPort);
        if (this.#clients.size > 1024) this.#clients.delete(this.#clients.values().next().value!);
      }
    }
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
