/**
 * `stackts read FILE [BPF filter...]`: print the packets of a pcap or pcapng file
 * (`-` is stdin), one line each in the style of `tcpdump -n`, or as a tree of
 * fields (`-v`), with a hex dump (`-x`), or as NDJSON (`--json`).
 *
 * Frames arrive in zero-copy batches, the BPF filter runs once per batch in
 * native code, and {@link PacketPrinter} (src/format/printer.ts, re-exported
 * here for old imports) prints them with one `write` per batch.
 *
 * @module
 */
import { BpfFilter } from "../bpf.ts";
import { CaptureFileError, openCaptureFile, type CaptureFileReader } from "../capture_file.ts";
import { CaptureError } from "../errors.ts";
import { Output } from "../format/output.ts";
import { PacketPrinter } from "../format/printer.ts";
import { flag, flagCount, formatHelp, intOption, parseArgs, type OptionSpec } from "./args.ts";
import { CliError, EXIT, UsageError, reportError } from "./errors.ts";

// The printer lives in src/format/printer.ts; exported here too so old imports keep working.
export { PacketPrinter };
export type { PrinterOptions } from "../format/printer.ts";

const SPEC: OptionSpec[] = [
  { name: "count", short: "c", value: "N", help: "stop after N packets (after the filter)" },
  { name: "verbose", short: "v", help: "a tree of every decoded field under each line" },
  { name: "hex", short: "x", help: "a hex dump of each frame (offset, hex, ASCII) under each line" },
  { name: "json", help: "one JSON object per packet (NDJSON), schema below" },
  { name: "absolute-seq", short: "S", help: "print TCP sequence numbers as they are, not relative (like tcpdump -S)" },
  { name: "quiet", short: "q", help: "shorter protocol summaries (like tcpdump -q)" },
  { name: "link-headers", short: "e", help: "print the link-level header on each line (like tcpdump -e)" },
];

export const help = formatHelp(
  "stackts read [options] FILE [BPF filter...]",
  `Print the packets of a pcap or pcapng file ('-' reads standard input), one line
each in the style of 'tcpdump -n': time of day in UTC (HH:MM:SS.ffffff, nine
digits for nanosecond files), then addresses, ports and a protocol summary.
Checksums verified wrong and decode problems are flagged at the end of the line,
e.g. [bad udp cksum 0x1234] or [malformed: udp: ...]; a frame a snaplen cut
short prints what its bytes hold and tcpdump's [|proto] where they end.

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
    linkHeaders: flag(args, "link-headers"),
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
