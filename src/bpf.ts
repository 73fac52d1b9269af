/**
 * BPF filters for frames that do not come from a live capture (files, crafted
 * frames): compiled by libpcap's own compiler for a link type, so an
 * expression means exactly what it means to tcpdump and to a live capture.
 *
 * ```ts
 * import { BpfFilter } from "./bpf.ts";
 * const f = new BpfFilter("udp port 53", 1); // 1 = LINKTYPE_ETHERNET
 * f.matches(frameBytes);                    // true or false
 * const keep = f.matchBatch(batch);          // Uint8Array of 0/1, one per frame
 * ```
 *
 * @module
 */
import { toCaptureError } from "./errors.ts";
import type { FrameBatch } from "./frame.ts";
import { loadAddon, type NativeBpfProgram } from "./native.ts";

export class BpfFilter {
  readonly expression: string;
  /** LINKTYPE_* the filter was compiled for */
  readonly linkType: number;
  readonly snaplen: number;
  #program: NativeBpfProgram | null;

  /**
   * Compile `expression` for frames of `linkType`. Throws {@link CaptureError}
   * EFILTER with libpcap's text when it does not compile.
   */
  constructor(expression: string, linkType: number, snaplen = 262144) {
    if (typeof expression !== "string") throw new TypeError("expression must be a string");
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new RangeError("linkType must be a LINKTYPE_* value (0..65535)");
    }
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 262144) throw new RangeError("snaplen must be in 1..262144");
    this.expression = expression;
    this.linkType = linkType;
    this.snaplen = snaplen;
    try {
      this.#program = new (loadAddon().BpfProgram)(expression, linkType, snaplen);
    } catch (err) {
      throw toCaptureError(err, { action: "compile filter", filter: expression });
    }
  }

  #prog(): NativeBpfProgram {
    if (this.#program === null) throw new Error(`Cannot use filter "${this.expression}": it is closed`);
    return this.#program;
  }

  /** Whether one frame passes. `length` is its original length on the wire (default: its captured length). */
  matches(data: Uint8Array, length: number = data.length): boolean {
    return this.#prog().matches(data, length);
  }

  /**
   * Run the filter over a whole batch in one native call. Returns `out`
   * (allocated when not given) cut to `batch.count`: 1 where the frame
   * passes, 0 where not. Frames of another link type than the filter's never pass.
   */
  matchBatch(batch: FrameBatch, out?: Uint8Array): Uint8Array {
    const mask = out ?? new Uint8Array(batch.count);
    if (mask.length < batch.count) throw new RangeError("out is shorter than the batch");
    this.#prog().matchBatch(batch.buffer, batch.offset, batch.caplen, batch.length, batch.linkType, batch.count, mask);
    return mask.subarray(0, batch.count);
  }

  /** The indexes of the frames of `batch` that pass, in order. */
  matchingIndexes(batch: FrameBatch): number[] {
    const mask = this.matchBatch(batch);
    const out: number[] = [];
    for (let i = 0; i < mask.length; i++) if (mask[i] === 1) out.push(i);
    return out;
  }

  /** Free the compiled program; safe to call more than once. */
  close(): void {
    this.#program?.close();
    this.#program = null;
  }
}
