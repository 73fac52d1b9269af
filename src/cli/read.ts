/**
 * `stackts read FILE [BPF filter...]`: print the packets of a pcap or pcapng file
 * (`-` is stdin), one line each in the style of `tcpdump -n`, or as a tree of
 * fields (`-v`), with a hex dump (`-x`), or as NDJSON (`--json`).
 *
 * Also exports {@link PacketPrinter}, the batch printer `stackts capture` shares.
 *
 * Speed comes from the shape of the loop: frames arrive in zero-copy batches, the
 * BPF filter runs once per batch in native code, common clean frames written
 * as text straight from their bytes into the output buffer, one decoder whose
 * zero-copy read (`decodeReused`) reuses its values from packet to packet for
 * the rest, and one `write` per batch.
 *
 * @module
 */
import { PacketDecoder } from "../../layers/decode.ts";
import { BpfFilter } from "../bpf.ts";
import { CaptureFileError, openCaptureFile, type CaptureFileReader } from "../capture_file.ts";
import { CaptureError } from "../errors.ts";
import type { FrameBatch } from "../frame.ts";
import { hexDump } from "../format/hex.ts";
import { packetJson } from "../format/json.ts";
import { Output } from "../format/output.ts";
import { SummaryFormatter } from "../format/summary.ts";
import { writeClockTime } from "../format/time.ts";
import { packetTree } from "../format/tree.ts";
import { TftpTracker } from "../tftp_tracker.ts";
import { appSummary } from "../format/app_summary.ts";
import { flag, flagCount, formatHelp, intOption, parseArgs, type OptionSpec } from "./args.ts";
import { CliError, EXIT, UsageError, reportError } from "./errors.ts";

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
  /** TCP sequence numbers as on the wire (tcpdump -S) */
  absoluteSeq?: boolean;
  /** fraction digits of the time stamp: 6 (µs) or 9 (ns) */
  timeDigits?: 6 | 9;
  /** stop after this many packets */
  limit?: number;
}

/**
 * Decodes and prints frames of batches to an {@link Output}, numbering them from 1.
 * One decoder, one TCP-sequence state and one TFTP tracker per printer, so use one
 * printer per stream of packets.
 */
export class PacketPrinter {
  /** packets printed so far (the last `index`) */
  count = 0;
  readonly #out: Output;
  readonly #json: boolean;
  readonly #verbose: boolean;
  readonly #hex: boolean;
  readonly #digits: 6 | 9;
  readonly #limit: number;
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
    this.#tftp = new TftpTracker();
    this.#decoder = new PacketDecoder({ udpHint: this.#tftp.udpHint });
    this.#summary = new SummaryFormatter({
      absoluteSeq: options.absoluteSeq ?? false,
      quiet: options.quiet ?? false,
      app: appSummary,
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
    const out = this.#out;
    const { buffer, offset, caplen, length, sec, nsec, linkType } = batch;
    for (let i = 0; i < batch.count; i++) {
      if (mask !== undefined && mask[i] === 0) continue;
      if (this.count >= this.#limit || out.closed) break;
      // Frames are decoded as ranges of the batch buffer: no view per frame,
      // and the checksum sums reach the buffer's words once per batch.
      const start = offset[i]!;
      const end = start + caplen[i]!;
      const len = length[i]!;
      // The one-line text starts with the time stamp, written once.
      const timed = !this.#json && !this.#verbose;
      if (timed) {
        // Common clean frames go straight from bytes to the output's bytes, no
        // string made; the rest is decoded, after the time already written (a
        // frame the fast path turns down leaves nothing more).
        const text = out.buffer;
        writeClockTime(text, sec[i]!, nsec[i]!, this.#digits);
        text.byte(0x20);
        if (this.#summary.writeFrame(text, buffer, linkType[i]!, len, this.#tftp.size > 0, start, end)) {
          this.count++;
          out.endLine();
          if (this.#hex && end > start) out.line(hexDump(buffer.subarray(start, end), "\t"));
          continue;
        }
      }
      // The zero-copy read: every use below formats the packet at once, and the
      // tracker keeps only strings and numbers copied out of the layers.
      const p = this.#decoder.decodeReused(buffer, linkType[i]!, len, start, end);
      this.#tftp.observe(p.layers, sec[i]! + nsec[i]! / 1e9);
      const index = ++this.count;
      if (this.#json) {
        out.line(packetJson({ index, sec: sec[i]!, nsec: nsec[i]!, caplen: end - start, length: len, layers: p.layers, issues: p.issues }));
        continue;
      }
      if (!timed) {
        writeClockTime(out.buffer, sec[i]!, nsec[i]!, this.#digits);
        out.buffer.byte(0x20);
      }
      out.line(this.#summary.format(p.layers, p.issues, len));
      if (this.#verbose) out.line(packetTree(p.layers, p.issues, "    "));
      if (this.#hex && end > start) out.line(hexDump(buffer.subarray(start, end), "\t"));
    }
    out.flush();
  }
}

const SPEC: OptionSpec[] = [
  { name: "count", short: "c", value: "N", help: "stop after N packets (after the filter)" },
  { name: "verbose", short: "v", help: "a tree of every decoded field under each line" },
  { name: "hex", short: "x", help: "a hex dump of each frame (offset, hex, ASCII) under each line" },
  { name: "json", help: "one JSON object per packet (NDJSON), schema below" },
  { name: "absolute-seq", short: "S", help: "print TCP sequence numbers as they are, not relative (like tcpdump -S)" },
  { name: "quiet", short: "q", help: "shorter protocol summaries (like tcpdump -q)" },
];

export const help = formatHelp(
  "stackts read [options] FILE [BPF filter...]",
  `Print the packets of a pcap or pcapng file ('-' reads standard input), one line
each in the style of 'tcpdump -n': time of day in UTC (HH:MM:SS.ffffff, nine
digits for nanosecond files), then addresses, ports and a protocol summary.
Checksums verified wrong and decode problems are flagged at the end of the line,
e.g. [bad udp cksum 0x1234] or [truncated: tcp: ...].

A BPF filter after the file (pcap-filter syntax, e.g. 'tcp port 80') keeps only
the packets it matches, compiled by libpcap as tcpdump does.

--json prints one object per packet:
  {"index": 1, "time": "2026-11-25T03:20:51.123456789Z", "caplen": 98,
   "length": 98, "layers": [{"layer": "ethernet", "src": ..., "dst": ...,
   "type": 2048}, ...], "errors": [{"layer", "kind", "reason"}]}
index counts from 1; time is ISO-8601 UTC with nine fraction digits; layer
names are ethernet sll sll2 loopback vlan llc arp ipv4 ipv6 icmp icmpv6 udp tcp
dns dhcp tftp http, and payload for undecoded bytes (lower-case hex); MACs are
lower-case with colons, IPv6 addresses in RFC 5952 form.

A damaged file prints every good packet, then one error line, exit code 1.`,
  SPEC,
);

function openFile(path: string): CaptureFileReader {
  try {
    return openCaptureFile(path);
  } catch (err) {
    throw fileError(path, err);
  }
}

function fileError(path: string, err: unknown): CliError {
  const what = path === "-" ? "stdin" : path;
  if (err instanceof CaptureFileError) {
    // The library's message is "Cannot read <path>: <why>": keep the why.
    const prefix = `Cannot read ${what}: `;
    const why = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    return new CliError(what, why, EXIT.failure, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return new CliError(what, "no such file", EXIT.failure, { cause: err });
  if (code === "EACCES" || code === "EPERM") return new CliError(what, "permission denied", EXIT.failure, { cause: err });
  if (code === "EISDIR") return new CliError(what, "is a directory", EXIT.failure, { cause: err });
  return new CliError(what, err instanceof Error ? err.message : String(err), EXIT.failure, { cause: err });
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const [path, ...filterWords] = args.positionals;
  if (path === undefined) throw new UsageError("read", "missing FILE (see 'stackts read --help')");
  const limit = intOption(args, "count", 1);
  const expression = filterWords.join(" ").trim();

  const reader = openFile(path);
  const out = new Output(1);
  let filter: BpfFilter | null = null;
  let filterFailure: unknown = null;
  const printer = new PacketPrinter(out, {
    json: flag(args, "json"),
    verbose: flagCount(args, "verbose") > 0,
    hex: flag(args, "hex"),
    quiet: flag(args, "quiet"),
    absoluteSeq: flag(args, "absolute-seq"),
    timeDigits: reader.nanoseconds ? 9 : 6,
    ...(limit === undefined ? {} : { limit }),
  });
  const compile = (linkType: number): BpfFilter => {
    try {
      return new BpfFilter(expression, linkType);
    } catch (err) {
      if (err instanceof CaptureError && err.code === "EFILTER") throw new UsageError(`filter '${expression}'`, err.detail || err.message);
      throw err;
    }
  };
  if (expression !== "" && reader.linkType !== null) filter = compile(reader.linkType);
  try {
    reader.readBatchesSync((batch) => {
      if (expression !== "" && filter === null) filter = compile(batch.linkType[0]!);
      printer.printBatch(batch, filter === null ? undefined : filter.matchBatch(batch));
      // Nothing more to print: stop reading (the reader ends at its next step).
      if (printer.done) reader.close();
    });
  } catch (err) {
    if (err instanceof CliError) filterFailure = err;
    else if (err instanceof CaptureFileError) filterFailure = fileError(path, err);
    else throw err;
  } finally {
    out.flush();
    reader.close();
    filter?.close();
  }
  if (filterFailure !== null) return reportError(filterFailure);
  return EXIT.ok;
}
