/**
 * `stackts report FILE [-o report.html] [BPF filter...]`: one self-contained
 * HTML page of a capture (summary, protocol hierarchy, conversations, I/O
 * graph, TCP time-sequence graphs, flow diagrams, the packet list with trees
 * and hex), made by src/report/ from the same decoder `stackts read` runs.
 *
 * The page goes to the file named by `-o` (default: FILE's name with
 * `.html`), never to stdout unless `-o -` asks for it; the progress line goes
 * to stderr. A damaged file gives the report of every good packet, then the
 * one-line error and exit code 1, as `read` does.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { CaptureError } from "../errors.ts";
import { reportFile } from "../report/from_file.ts";
import { reportHtml } from "../report/html.ts";
import { flag, formatHelp, intOption, parseArgs, stringOption, type OptionSpec } from "./args.ts";
import { CliError, EXIT, UsageError, reportError, stderrLine } from "./errors.ts";
import { ProgressLine } from "./progress.ts";
import { fileError } from "./read.ts";

const SPEC: OptionSpec[] = [
  { name: "output", short: "o", value: "FILE", help: "write the page here ('-': stdout); default FILE with .html" },
  { name: "packets", value: "N", help: "packets listed with tree and hex (default 500)" },
  { name: "progress", help: "show the progress line on stderr even when it is not a terminal" },
];

export const help = formatHelp(
  "stackts report [options] FILE [BPF filter...]",
  `Write one HTML page about a pcap or pcapng file, with its scripts, styles and
data inline (it opens from disk with no network): a summary (time span,
packets, bytes, link types, checksum problems and decode issues), the protocol
hierarchy, conversations (IPv4/IPv6 host pairs, TCP/UDP 5-tuples; bytes each
way, duration, TCP retransmissions), an I/O graph by protocol, for each TCP
connection its time-sequence graph (data, ACK line, window, SACK,
retransmissions and duplicate ACKs marked), throughput and RTT, a flow diagram
of each conversation, and the packet list with each packet's tree and hex.

A BPF filter after the file keeps only the packets it matches. Large captures
stay light: the page holds the largest conversations and connections, merged
points and the first packets; what was left out is listed on the page.
A damaged file gives the report of every good packet, says where it stopped,
and exits with code 1.`,
  SPEC,
);

function defaultOutput(path: string): string {
  if (path === "-") return "report.html";
  return basename(path).replace(/\.(pcapng|pcap|cap)$/i, "") + ".html";
}

/**
 * The report data of the capture at `path` (only the frames `filter`
 * matches), with a progress line on stderr while it reads: what `report`
 * and `view` both start with. A bad filter is a usage error, an unreadable
 * file one line; a damaged file gives what came before the damage and the
 * error, for the caller to report after its output.
 */
export function reportOf(
  command: string,
  path: string,
  filter: string,
  options: { packetLimit?: number; forceProgress?: boolean } = {},
): ReturnType<typeof reportFile> {
  // undefined until the first batch; null when there is no line to show.
  let progress: ProgressLine | null | undefined;
  let result: ReturnType<typeof reportFile>;
  try {
    result = reportFile(path, {
      filter,
      ...(options.packetLimit === undefined ? {} : { packetLimit: options.packetLimit }),
      onProgress: (packets, bytes, position, size) => {
        if (progress === undefined) progress = ProgressLine.forStderr(command, { total: size, force: options.forceProgress ?? false });
        progress?.update(packets, bytes, position);
      },
    });
  } catch (err) {
    if (err instanceof CaptureError && err.code === "EFILTER") throw new UsageError(`filter '${filter}'`, err.detail || err.message);
    throw fileError(path, err);
  }
  (progress as ProgressLine | null | undefined)?.end(result.data.summary.packets, result.data.summary.bytes, null);
  return result;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const [path, ...filterWords] = args.positionals;
  if (path === undefined) throw new UsageError("report", "missing FILE (see 'stackts report --help')");
  const output = stringOption(args, "output") ?? defaultOutput(path);
  const packetLimit = intOption(args, "packets", 0, 1_000_000);
  const filter = filterWords.join(" ").trim();
  const { data, error } = reportOf("report", path, filter, { ...(packetLimit === undefined ? {} : { packetLimit }), forceProgress: flag(args, "progress") });
  const html = reportHtml(data);
  try {
    if (output === "-") writeFileSync(1, html);
    else writeFileSync(output, html);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const why =
      code === "ENOENT" ? "cannot write: no such directory" : code === "EACCES" || code === "EPERM" ? "cannot write: permission denied" : code === "EISDIR" ? "cannot write: is a directory" : err instanceof Error ? err.message : String(err);
    throw new CliError(output, why, EXIT.failure, { cause: err });
  }
  if (output !== "-") stderrLine(`stackts report: ${data.summary.packets} packets, ${data.conversations.length} conversations: ${output} (${Buffer.byteLength(html)} bytes)`);
  if (error !== null) return reportError(fileError(path, error));
  return EXIT.ok;
}
