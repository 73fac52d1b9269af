/**
 * The packet printer behind `stackts read`, `stackts capture` and `stackts
 * send`: decodes the frames of a batch and writes each as a tcpdump-style
 * line (a tree with `verbose`, a hex dump with `hex`) or as NDJSON.
 *
 * Speed comes from the shape of the loop: the BPF mask is applied per batch,
 * common clean frames go as text straight from their bytes into the output
 * buffer, the rest through one decoder whose zero-copy read (`decodeReused`)
 * reuses its values from packet to packet, and the output is flushed once per
 * batch.
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "../capture_file.ts";
 * import { Output } from "./output.ts";
 * import { PacketPrinter } from "./printer.ts";
 * const out = new Output(1);
 * const printer = new PacketPrinter(out, { quiet: true, limit: 10 });
 * const reader = openCaptureFile("trace.pcap");
 * reader.readBatchesSync((batch) => printer.printBatch(batch));
 * out.flush();
 * ```
 *
 * @module
 */
import { PacketDecoder } from "../../layers/decode.ts";
import { firstKind } from "../../layers/registry.ts";
import type { FrameBatch } from "../frame.ts";
import { TftpTracker } from "../tftp_tracker.ts";
import { appSummary } from "./app_summary.ts";
import { hexDump, toHex } from "./hex.ts";
import { packetJson } from "./json.ts";
import type { Output } from "./output.ts";
import { SummaryFormatter } from "./summary.ts";
import { writeClockTime } from "./time.ts";
import { packetTree } from "./tree.ts";

/** How {@link PacketPrinter} prints. */
export interface PrinterOptions {
  /** NDJSON in the documented schema instead of text */
  json?: boolean;
  /** tree of every field under each summary line */
  verbose?: boolean;
  /** hex dump of the frame under each summary line */
  hex?: boolean;
  /** shorter transport summaries (tcpdump -q) */
  quiet?: boolean;
  /** the link-level header on each line (tcpdump -e) */
  linkHeaders?: boolean;
  /** TCP sequence numbers as on the wire (tcpdump -S) */
  absoluteSeq?: boolean;
  /** fraction digits of the time stamp: 6 (µs) or 9 (ns) */
  timeDigits?: 6 | 9;
  /** stop after this many packets */
  limit?: number;
  /**
   * Called once per link type the decoders do not know, before its first
   * frame prints (as `link-type N (not decoded), length L: <hex of the first 16 bytes>`).
   */
  onUndecodedLinkType?: (linkType: number) => void;
  /** interface names by index for LINUX_SLL2 frames' `ifname In/Out` (default: "?") */
  interfaceName?: (index: number) => string | null;
}

/** Bytes of an undecoded frame shown in hex on its line. */
const UNDECODED_HEX_BYTES = 16;

/**
 * Decodes and prints frames of batches to an {@link Output}. The JSON `index`
 * is the frame's number in the stream from 1, counting every frame handed to
 * {@link printBatch} whether the mask keeps it or not: for a file, the frame
 * number Wireshark shows. One decoder, one TCP-sequence state and one TFTP
 * tracker per printer, so use one printer per stream of packets.
 */
export class PacketPrinter {
  /** packets printed so far */
  count = 0;
  /** frames handed to the printer so far, printed or not (the last frame number) */
  frames = 0;
  readonly #onUndecoded: ((linkType: number) => void) | undefined;
  readonly #undecodedSeen = new Set<number>();
  #decodedLinkType = -1;
  readonly #out: Output;
  readonly #json: boolean;
  readonly #verbose: boolean;
  readonly #hex: boolean;
  readonly #digits: 6 | 9;
  readonly #limit: number;
  /** one line of text per packet, starting with the time stamp (neither JSON nor -v) */
  readonly #timed: boolean;
  readonly #decoder: PacketDecoder;
  readonly #summary: SummaryFormatter;
  readonly #tftp: TftpTracker;

  constructor(out: Output, options: PrinterOptions = {}) {
    this.#out = out;
    this.#json = options.json ?? false;
    this.#verbose = options.verbose ?? false;
    this.#hex = options.hex ?? false;
    this.#digits = options.timeDigits ?? 6;
    this.#limit = options.limit ?? Infinity;
    this.#onUndecoded = options.onUndecodedLinkType;
    this.#timed = !this.#json && !this.#verbose;
    this.#tftp = new TftpTracker();
    this.#decoder = new PacketDecoder({ udpHint: this.#tftp.udpHint });
    this.#summary = new SummaryFormatter({
      absoluteSeq: options.absoluteSeq ?? false,
      quiet: options.quiet ?? false,
      linkHeaders: options.linkHeaders ?? false,
      app: appSummary,
      ...(options.interfaceName === undefined ? {} : { interfaceName: options.interfaceName }),
    });
  }

  /** True once the limit is reached or the reader of the output went away. */
  get done(): boolean {
    return this.count >= this.#limit || this.#out.closed;
  }

  /**
   * Print the frames of `batch` whose `mask` entry is 1 (all when no mask), up
   * to the limit, then flush the output once.
   */
  printBatch(batch: FrameBatch, mask?: Uint8Array): void {
    this.#printFrames(batch, mask);
    this.#out.flush();
  }

  /**
   * The loop of {@link printBatch}, alone in its function: V8 optimizes it
   * while it runs (on-stack replacement), before anything after it ever
   * ran, and code after the loop would throw that optimized code away at the
   * end of each batch.
   */
  #printFrames(batch: FrameBatch, mask: Uint8Array | undefined): void {
    const out = this.#out;
    const { buffer, offset, caplen, length, sec, nsec, linkType } = batch;
    const base = this.frames;
    const count = batch.count;
    this.frames += count;
    // the options, constant for the whole run, read once per batch
    const timed = this.#timed;
    const digits = this.#digits;
    const hex = this.#hex;
    const summary = this.#summary;
    for (let i = 0; i < count; i++) {
      if (mask !== undefined && mask[i] === 0) continue;
      if (this.count >= this.#limit || out.closed) break;
      const number = base + i + 1;
      // Frames are decoded as ranges of the batch buffer: no view per frame,
      // and the checksum sums reach the buffer's words once per batch.
      const start = offset[i]!;
      const end = start + caplen[i]!;
      const len = length[i]!;
      if (len < end - start) {
        // Lengths that contradict each other: tcpdump's line, no time, nothing decoded.
        this.count++;
        this.#invalidHeader(number, sec[i]!, nsec[i]!, end - start, len);
        continue;
      }
      const lt = linkType[i]!;
      // the registry is asked once per run of a decoded link type, not per frame
      if (lt !== this.#decodedLinkType && firstKind(lt, buffer, start, end) === null) {
        this.count++;
        this.#undecoded(number, buffer, start, end, sec[i]!, nsec[i]!, len, lt);
        continue;
      }
      this.#decodedLinkType = lt;
      // The one-line text starts with the time stamp, written once.
      if (timed) {
        // Common clean frames go straight from bytes to the output's bytes, no
        // string made; the rest is decoded, after the time already written (a
        // frame the fast path turns down leaves nothing more).
        const text = out.buffer;
        writeClockTime(text, sec[i]!, nsec[i]!, digits);
        text.byte(0x20);
        if (summary.writeFrame(text, buffer, lt, len, this.#tftp.size > 0, start, end)) {
          this.count++;
          out.endLine();
          if (hex && end > start) out.line(hexDump(buffer.subarray(start, end), "\t"));
          continue;
        }
      }
      this.#printDecoded(number, buffer, start, end, sec[i]!, nsec[i]!, len, lt);
    }
  }

  /**
   * A frame through the full decode: its JSON, or its line (after the time
   * stamp the fast path already wrote, when `timed`), tree and hex dump. Out
   * of {@link printBatch}'s loop, which then stays small: V8 optimizes that
   * loop while it runs (on-stack replacement), before the first frame comes
   * here, and a bigger loop cost more to compile and to leave.
   */
  #printDecoded(index: number, buffer: Uint8Array, start: number, end: number, sec: number, nsec: number, len: number, lt: number): void {
    const out = this.#out;
    // The zero-copy read: every use below formats the packet at once, and the
    // tracker keeps only strings and numbers copied out of the layers.
    const p = this.#decoder.decodeReused(buffer, lt, len, start, end);
    this.#tftp.observe(p.layers, sec + nsec / 1e9);
    this.count++;
    if (this.#json) {
      out.line(packetJson({ index, sec, nsec, caplen: end - start, length: len, layers: p.layers, issues: p.issues }));
      return;
    }
    if (!this.#timed) {
      writeClockTime(out.buffer, sec, nsec, this.#digits);
      out.buffer.byte(0x20);
    }
    out.line(this.#summary.format(p.layers, p.issues, len));
    if (this.#verbose) out.line(packetTree(p.layers, p.issues, "    "));
    if (this.#hex && end > start) out.line(hexDump(buffer.subarray(start, end), "\t"));
  }

  /** A record whose original length is below its captured length (as tcpdump prints it). */
  #invalidHeader(index: number, sec: number, nsec: number, caplen: number, length: number): void {
    const why = `len(${length}) < caplen(${caplen})`;
    if (this.#json) {
      const issues = [{ layer: "frame", kind: "malformed" as const, reason: `invalid header: ${why}` }];
      this.#out.line(packetJson({ index, sec, nsec, caplen, length, layers: [], issues }));
      return;
    }
    this.#out.line(`[Invalid header: ${why}]`);
  }

  /** A frame of a link type no decoder knows: its first bytes in hex, the whole frame as payload in JSON. */
  #undecoded(index: number, buffer: Uint8Array, start: number, end: number, sec: number, nsec: number, length: number, lt: number): void {
    if (!this.#undecodedSeen.has(lt)) {
      this.#undecodedSeen.add(lt);
      this.#onUndecoded?.(lt);
    }
    const out = this.#out;
    const data = buffer.subarray(start, end);
    if (this.#json) {
      const layers = data.length > 0 ? [{ layer: "payload", data }] : [];
      const line = packetJson({ index, sec, nsec, caplen: end - start, length, layers, issues: [] });
      // the one key only these frames have, before the rest
      out.line(`{"undecodedLinkType":${lt},` + line.slice(1));
      return;
    }
    writeClockTime(out.buffer, sec, nsec, this.#digits);
    const shown = toHex(data.subarray(0, UNDECODED_HEX_BYTES)) + (data.length > UNDECODED_HEX_BYTES ? "..." : "");
    out.line(` link-type ${lt} (not decoded), length ${length}${shown === "" ? "" : ": " + shown}`);
    if (this.#verbose) out.line(`    payload: ${data.length} bytes`);
    if (this.#hex && end > start) out.line(hexDump(data, "\t"));
  }
}
