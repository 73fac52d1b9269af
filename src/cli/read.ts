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
import { readdirSync, readFileSync } from "node:fs";
import { BpfFilterSet } from "../bpf.ts";
import { CaptureFileError, openCaptureFile, type CaptureFileReader } from "../capture_file.ts";
import { CaptureError } from "../errors.ts";
import { Output } from "../format/output.ts";
import { PacketPrinter } from "../format/printer.ts";
import { flag, flagCount, formatHelp, intOption, parseArgs, stringOption, type OptionSpec } from "./args.ts";
import { CliError, EXIT, UsageError, reportError, stderrLine } from "./errors.ts";
import { ProgressLine } from "./progress.ts";
import { HEXDUMP_NOTE, HEXDUMP_OPTION, NUMERIC_OPTION, refuseWithJson } from "./print_options.ts";

// The printer lives in src/format/printer.ts; exported here too so old imports keep working.
export { PacketPrinter };
export type { PrinterOptions } from "../format/printer.ts";

const SPEC: OptionSpec[] = [
  { name: "file", short: "r", value: "FILE", help: "the file to read, as tcpdump -r (then every argument is filter)" },
  { name: "count", short: "c", value: "N", help: "stop after N packets (after the filter)" },
  { name: "verbose", short: "v", help: "a tree of every decoded field under each line" },
  HEXDUMP_OPTION,
  { name: "json", help: "one JSON object per packet (NDJSON), schema below" },
  { name: "absolute-seq", short: "S", help: "print TCP sequence numbers as they are, not relative (like tcpdump -S)" },
  { name: "quiet", short: "q", help: "shorter protocol summaries (like tcpdump -q)" },
  NUMERIC_OPTION,
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
the packets it matches, compiled by libpcap as tcpdump does: once per link type,
so in a pcapng file with several (Ethernet and raw IP, say) each frame meets the
program of its own interface.

--json prints one object per packet:
  {"index": 1, "time": "2026-11-25T03:20:51.123456789Z", "caplen": 98,
   "length": 98, "layers": [{"layer": "ethernet", "src": ..., "dst": ...,
   "type": 2048}, ...], "errors": [{"layer", "kind", "reason"}]}
index is the frame's number in the file, counting from 1 and counting the frames
a filter skips (Wireshark's frame number, tshark's frame.number); time is
ISO-8601 UTC with nine fraction digits; layer names are ethernet sll sll2
loopback vlan llc arp ipv4 ipv6 icmp icmpv6 udp tcp dns dhcp tftp http, and
payload for undecoded bytes (lower-case hex); MACs are lower-case with colons,
IPv6 addresses in RFC 5952 form.

${HEXDUMP_NOTE}

A frame of a link type stackts does not decode (radiotap, 4242, ...) prints
as 'link-type N (not decoded), length L: ' and its first 16 bytes in hex (-x
dumps them all; JSON: the whole frame as one payload layer and
"undecodedLinkType": N), after one warning on stderr per link type. A record
whose original length is below its captured length prints as tcpdump does:
[Invalid header: len(L) < caplen(C)] (JSON: no layers, one malformed error).

A damaged file prints every good packet, then one error line, exit code 1. A
pcapng file that repeats blocks past the reader's caps (65536 interfaces or
sections, 16 MiB of their text) prints one warning line per cap and goes on.`,
  SPEC,
);

/**
 * Interface names by index on this host (/sys/class/net), for LINUX_SLL2
 * frames: what tcpdump -r shows too (it asks if_indextoname). Read once.
 */
function hostInterfaceNames(): (index: number) => string | null {
  let names: Map<number, string> | null = null;
  return (index) => {
    if (names === null) {
      names = new Map();
      try {
        for (const name of readdirSync("/sys/class/net")) {
          const n = Number(readFileSync(`/sys/class/net/${name}/ifindex`, "utf8").trim());
          if (Number.isInteger(n)) names.set(n, name);
        }
      } catch {
        // no sysfs: every name is "?"
      }
    }
    return names.get(index) ?? null;
  };
}

function openFile(path: string): CaptureFileReader {
  const what = path === "-" ? "stdin" : path;
  try {
    return openCaptureFile(path, { onWarning: (message) => stderrLine(`stackts: warning : ${what}: ${message}`) });
  } catch (err) {
    throw fileError(path, err);
  }
}

export function fileError(path: string, err: unknown): CliError {
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
  refuseWithJson(args);
  const named = stringOption(args, "file");
  const [path, ...filterWords] = named === undefined ? args.positionals : [named, ...args.positionals];
  if (path === undefined) throw new UsageError("read", "missing FILE (see 'stackts read --help')");
  const limit = intOption(args, "count", 1);
  const expression = filterWords.join(" ").trim();

  const reader = openFile(path);
  const out = new Output(1);
  let filterFailure: unknown = null;
  const printer = new PacketPrinter(out, {
    json: flag(args, "json"),
    verbose: flagCount(args, "verbose") > 0,
    hex: flag(args, "hexdump"),
    quiet: flag(args, "quiet"),
    linkHeaders: flag(args, "link-headers"),
    absoluteSeq: flag(args, "absolute-seq"),
    timeDigits: reader.nanoseconds ? 9 : 6,
    ...(limit === undefined ? {} : { limit }),
    interfaceName: hostInterfaceNames(),
    onUndecodedLinkType: (lt) => {
      out.flush();
      stderrLine(`stackts: warning : link type ${lt} is not decoded: its frames print as their first 16 bytes in hex (-x for all)`);
    },
  });
  // Compiled per link type as frames of each appear (a pcapng file may mix them).
  const filter =
    expression === ""
      ? null
      : new BpfFilterSet(expression, {
          onSkip: (lt, err) => {
            const why = err instanceof CaptureError ? err.detail || err.message : String(err);
            stderrLine(`stackts: warning : filter '${expression}' does not apply to link type ${lt} (${why}): its frames are skipped`);
          },
        });
  const compile = (linkType: number): void => {
    try {
      filter?.forLinkType(linkType);
    } catch (err) {
      if (err instanceof CaptureError && err.code === "EFILTER") throw new UsageError(`filter '${expression}'`, err.detail || err.message);
      throw err;
    }
  };
  try {
    // A filter that does not compile is a usage error before any output.
    if (reader.linkType !== null) compile(reader.linkType);
  } catch (err) {
    reader.close();
    filter?.close();
    throw err;
  }
  const progress = process.stdout.isTTY ? null : ProgressLine.forStderr("read", { total: reader.size, delayMs: 1000 });
  try {
    reader.readBatchesSync((batch) => {
      if (filter !== null && batch.count > 0) compile(batch.linkType[0]!);
      printer.printBatch(batch, filter === null ? undefined : filter.matchBatch(batch));
      // A long read into a file or pipe, with a terminal on stderr: a progress line there.
      progress?.update(printer.count, reader.position, reader.position);
      // Nothing more to print: stop reading (the reader ends at its next step).
      if (printer.done) reader.close();
    });
  } catch (err) {
    if (err instanceof CliError) filterFailure = err;
    else if (err instanceof CaptureFileError) filterFailure = fileError(path, err);
    else throw err;
  } finally {
    progress?.end();
    out.flush();
    reader.close();
    filter?.close();
  }
  if (filterFailure !== null) return reportError(filterFailure);
  return EXIT.ok;
}
