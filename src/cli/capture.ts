/**
 * `stackts capture [IFACE] [BPF filter...]`: live capture with tcpdump's habits.
 * Prints one line per packet (or a tree, hex, NDJSON), or writes a pcap/pcapng
 * file with `-w`. Ctrl-C, SIGTERM or the count (`-c`) end it cleanly: what was
 * captured is written and flushed, then the three counters go to stderr.
 *
 * @module
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import { CaptureFileError, openCaptureWriter, type CaptureWriter } from "../capture_file.ts";
import { captureFileSystemError } from "../errors.ts";
import { listDevices, defaultDevice } from "../devices.ts";
import { CaptureError } from "../errors.ts";
import type { FrameBatch } from "../frame.ts";
import { Output } from "../format/output.ts";
import { PacketPrinter } from "../format/printer.ts";
import { openLive, type Direction, type LiveCapture, type LiveOptions } from "../live.ts";
import { checkDropPrivileges, dropPrivileges, PrivilegeError } from "../privileges.ts";
import { flag, flagCount, formatHelp, intOption, parseArgs, refuse, stringOption, type OptionSpec } from "./args.ts";
import { CliError, EXIT, UsageError, reportError, stderrLine } from "./errors.ts";
import { ProgressLine } from "./progress.ts";
import { startLiveView } from "../report/live_view.ts";
import { HEXDUMP_NOTE, HEXDUMP_OPTION, NUMERIC_OPTION, refuseWithJson, refuseWithWrite } from "./print_options.ts";

const SPEC: OptionSpec[] = [
  { name: "interface", short: "i", value: "IFACE", help: "capture on IFACE (also the first argument)" },
  { name: "count", short: "c", value: "N", help: "stop after N packets" },
  { name: "write", short: "w", value: "FILE", help: "write the frames to FILE (pcapng if it ends in .pcapng, else pcap; '-' is stdout)" },
  { name: "packet-buffered", short: "U", help: "with -w: each frame goes to FILE as soon as it is captured (immediate delivery, see below)" },
  { name: "snaplen", short: "s", value: "BYTES", aliases: ["snapshot-length"], help: "keep at most BYTES of each frame (default 262144; 0 means the default, as in tcpdump)" },
  { name: "buffer-size", short: "B", value: "KIB", help: "kernel buffer size in KiB (default 16384 buffered; immediate: 2048 slots of the snaplen, 2048-65536)" },
  { name: "no-promiscuous-mode", short: "p", help: "do not put the interface into promiscuous mode" },
  { name: "direction", short: "Q", value: "in|out|inout", help: "which frames: received, sent or both (default inout)" },
  { name: "verbose", short: "v", help: "a tree of every decoded field under each line" },
  HEXDUMP_OPTION,
  { name: "quiet", short: "q", help: "shorter protocol summaries" },
  { name: "link-headers", short: "e", help: "print the link-level header on each line (like tcpdump -e)" },
  { name: "absolute-seq", short: "S", help: "TCP sequence numbers as they are, not relative" },
  { name: "json", help: "one JSON object per packet (the schema of 'stackts read --json'; index counts delivered frames)" },
  { name: "netns", value: "NAME", help: "capture inside network namespace NAME (/run/netns/NAME)" },
  { name: "immediate", aliases: ["immediate-mode"], help: "deliver each frame at once (the default, except with -w)" },
  { name: "no-immediate", help: "buffered delivery (TPACKET_V3 blocks): no drops at high rates, up to --timeout ms late (the default with -w)" },
  { name: "timeout", value: "MS", help: "with --no-immediate: the longest a frame waits (default 100)" },
  { name: "nano", help: "with -w: nanosecond time stamps in a .pcap file (pcapng files always have them)" },
  { name: "view", help: "also serve a live report page on 127.0.0.1 (the page of 'stackts view'), updating as frames arrive" },
  { name: "relinquish-privileges", short: "Z", value: "USER", help: "after opening the device, become USER and drop all privileges" },
  NUMERIC_OPTION,
  { name: "line-buffered", short: "l", help: "accepted for tcpdump habits: printed lines are written after each batch of frames anyway" },
  { name: "list-interfaces", short: "D", help: "list the interfaces, as 'stackts devices' (tcpdump -D), and exit" },
];

export const help = formatHelp(
  "stackts capture [options] [IFACE] [BPF filter...]",
  `Capture live packets, like tcpdump. Without IFACE: the first interface that is
up and not loopback. The filter is in pcap-filter syntax (e.g. 'udp port 53').
Output is the one-line form of 'stackts read' (time of day in UTC), or with -w
the frames go to a file (pcapng records the interface name and the filter).

When printing, delivery is immediate (each frame as soon as it arrives; libpcap
then uses TPACKET_V2 and the kernel ring is sized from the snaplen). With -w it is
buffered, as in tcpdump: TPACKET_V3 blocks, frames up to --timeout ms late, no
drops at high rates. --immediate / --no-immediate force either; the "listening
on" line says which mode is on.

The kernel buffer is mapped into the process and counts in its memory from the
start. Buffered, 16 MiB kept zero drops at 1.2 M frames/s in the capture bench.
Immediate (printing), libpcap's ring has one slot per frame as large as the
snaplen (64 KiB at the default), and the ring is what one wakeup hands over:
64 MiB (~1000 slots) printed twice the lines of 16 MiB at high rates, so it
stays, and an idle printing capture holds ~190 MB (tcpdump, buffered, ~8 MB).
For less, give -B KIB, a smaller -s, or --no-immediate (which also keeps up
best at high rates, each line up to --timeout ms late).

With -w, what the capture delivers is written at once (one write per batch of
frames; tcpdump without -U keeps frames in its stdio buffer until it fills,
64 KiB for a file here), so a file or pipe has every frame at most --timeout
ms after it was captured, and a kill -9 loses none delivered so far. -U (tcpdump's
packet-buffered -w) also turns on immediate delivery unless --no-immediate is
given: each frame is written as it arrives ('capture -U -w - | stackts read -').

Ctrl-C, SIGTERM or -c end the capture: everything captured is written and
flushed, then stderr gets 'N packets captured', 'N packets received by filter'
and 'N packets dropped by kernel'.

${HEXDUMP_NOTE}

Options that would do nothing together are refused: -v, -x, -q, -S or --json
with -w (nothing is printed), -v, -x, -q or -S with --json, -S with -q, --nano
without a .pcap file to write, --timeout in immediate mode.`,
  SPEC,
);

/** Words that start a BPF expression: an argument like these is a filter, not an interface. */
const FILTER_WORDS = new Set([
  "ether", "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "sctp", "host", "net", "port", "portrange",
  "src", "dst", "not", "!", "(", "vlan", "mpls", "less", "greater", "broadcast", "multicast", "proto", "gateway",
  "inbound", "outbound", "len", "igmp", "pim", "vrrp", "stp", "llc", "ifname", "on",
]);

const DIRECTIONS: readonly Direction[] = ["in", "out", "inout"];

/** Link type names tcpdump shows in "listening on" for the common ones. */
const LINK_DESCRIPTION: Record<string, string> = {
  EN10MB: "Ethernet",
  LINUX_SLL: "Linux cooked v1",
  LINUX_SLL2: "Linux cooked v2",
  RAW: "Raw IP",
  NULL: "BSD loopback",
  IEEE802_11_RADIO: "802.11 plus radiotap header",
};

/** Whether `-w PATH` writes pcapng (by its extension, as the writer decides). */
function isPcapng(path: string): boolean {
  return /\.(pcapng|ntar)$/i.test(path);
}

function parseDirection(v: string | undefined): Direction | undefined {
  if (v === undefined) return undefined;
  if (!(DIRECTIONS as readonly string[]).includes(v)) throw new UsageError("-Q", `expected in, out or inout, got '${v}'`);
  return v as Direction;
}

/** Pick the interface and the filter words from the positional arguments. */
function interfaceAndFilter(positionals: readonly string[], explicit: string | undefined, netns: string | undefined): [string, string] {
  if (explicit !== undefined) return [explicit, positionals.join(" ")];
  const [first, ...rest] = positionals;
  const listOptions = netns === undefined ? {} : { netns };
  if (first !== undefined && !(FILTER_WORDS.has(first) && !listDevices(listOptions).some((d) => d.name === first))) {
    return [first, rest.join(" ")];
  }
  const dev = defaultDevice(listOptions);
  if (dev === null) throw new CliError("capture", "no non-loopback interface is up (name one, e.g. lo; see 'stackts devices')");
  return [dev.name, positionals.join(" ")];
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const netns = stringOption(args, "netns");
  if (flag(args, "list-interfaces")) {
    // tcpdump -D: the list, nothing captured; anything else given would do nothing.
    const other = [...args.options.keys()].find((k) => k !== "list-interfaces" && k !== "netns");
    if (other !== undefined) throw new UsageError(args.spelled.get(other) ?? `--${other}`, "does nothing with -D (it only lists the interfaces)");
    if (args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "unexpected argument with -D (it only lists the interfaces)");
    const { formatDevices } = await import("./devices.ts");
    process.stdout.write(formatDevices(listDevices(netns === undefined ? {} : { netns })));
    return EXIT.ok;
  }
  const limit = intOption(args, "count", 1);
  // tcpdump: -s 0 is the default snapshot length.
  const snaplen = intOption(args, "snaplen", 0, 262144) || undefined;
  const bufferKiB = intOption(args, "buffer-size", 1, 4 * 1024 * 1024);
  const timeoutMs = intOption(args, "timeout", 1, 60_000);
  const direction = parseDirection(stringOption(args, "direction"));
  const writePath = stringOption(args, "write");
  const user = stringOption(args, "relinquish-privileges");
  // Like tcpdump: immediate delivery when printing, buffered blocks when writing a
  // file (at high rates immediate mode's TPACKET_V2 ring drops; a file does not
  // need each frame at once). Either can be forced.
  if (flag(args, "immediate") && flag(args, "no-immediate")) throw new UsageError("--immediate", "cannot be used with --no-immediate");
  const packetBuffered = flag(args, "packet-buffered");
  if (packetBuffered && writePath === undefined) throw new UsageError("-U", "only means something with -w FILE");
  const immediate = flag(args, "immediate") || (!flag(args, "no-immediate") && (writePath === undefined || packetBuffered));
  // Options that would do nothing in this combination: say so rather than ignore them.
  refuseWithJson(args);
  refuseWithWrite(args, writePath !== undefined);
  refuse(args, "timeout", immediate, "does nothing in immediate mode (each frame is delivered at once); add --no-immediate");
  refuse(args, "nano", writePath === undefined, "does nothing without -w (printed times have microseconds)");
  refuse(args, "nano", writePath !== undefined && isPcapng(writePath), "does nothing with a pcapng file (it keeps nanoseconds anyway)");
  // -Z: an unknown user or a non-root process is known before any device opens.
  if (user !== undefined) {
    try {
      checkDropPrivileges(user);
    } catch (err) {
      // Exit 1, as tcpdump's "Couldn't find user".
      if (err instanceof PrivilegeError) throw new CliError(args.spelled.get("relinquish-privileges") ?? "-Z", err.message, EXIT.failure, { cause: err });
      throw err;
    }
  }
  const [iface, expression] = interfaceAndFilter(args.positionals, stringOption(args, "interface"), netns);
  const filter = expression.trim();

  const options: LiveOptions = {
    immediate,
    ...(snaplen === undefined ? {} : { snaplen }),
    ...(bufferKiB === undefined ? {} : { bufferSize: bufferKiB * 1024 }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(direction === undefined ? {} : { direction }),
    ...(flag(args, "no-promiscuous-mode") ? { promisc: false } : {}),
    ...(filter === "" ? {} : { filter }),
    ...(netns === undefined ? {} : { netns }),
  };
  if (writePath !== undefined) checkWritable(writePath);
  let cap: LiveCapture;
  try {
    cap = openLive(iface, options);
  } catch (err) {
    throw captureFailure(err, iface, filter);
  }
  let writer: CaptureWriter | null = null;
  try {
    const c = cap.config;
    // The file is opened before "listening on" (and before dropping privileges,
    // as tcpdump does), so a bad path is the one line the user sees.
    if (writePath !== undefined) {
      writer = openCaptureWriter(writePath, {
        // Like tcpdump, a .pcap file gets microseconds (what every reader takes) unless
        // asked; pcapng states its resolution per interface, so it keeps what the kernel gave.
        nanoseconds: c.precision === "nano" && (isPcapng(writePath) || flag(args, "nano")),
        interfaces: [{ linkType: cap.linkType, snaplen: c.snaplen, name: iface, ...(filter === "" ? {} : { filter }) }],
      });
      // the file header now, so a reader of the pipe or file knows the format at once
      writer.flush();
    }
    if (user !== undefined) dropPrivileges(user);
    for (const w of cap.warnings) stderrLine(`stackts: warning : ${w}`);
    const name = cap.linkTypeName ?? `LINKTYPE_${cap.linkType}`;
    const desc = LINK_DESCRIPTION[name];
    const mode = c.immediate ? "immediate mode" : `buffered mode (up to ${c.timeoutMs} ms late)`;
    stderrLine(
      `listening on ${iface}, link-type ${name}${desc === undefined ? "" : ` (${desc})`}, snapshot length ${c.snaplen} bytes, ${mode}, buffer ${Math.round(c.bufferSize / 1024)} KiB`,
    );
  } catch (err) {
    cap.close();
    try {
      writer?.close();
    } catch {
      // the first failure is the one to report
    }
    throw fileFailure(err);
  }
  return await loop(cap, writer, args, limit, cap.config.immediate ? 0 : cap.config.timeoutMs + 50);
}

/**
 * What can be known of `-w FILE` before the device opens: its folder exists
 * and may be written, and it is not a folder itself. Creates nothing.
 */
function checkWritable(path: string): void {
  if (path === "-") return;
  try {
    accessSync(dirname(path), constants.W_OK | constants.X_OK);
    if (statSync(dirname(path)).isDirectory() === false) throw Object.assign(new Error("ENOTDIR"), { code: "ENOTDIR" });
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // does not exist yet: it will be made
    }
    if (isDir) throw Object.assign(new Error("EISDIR"), { code: "EISDIR" });
  } catch (err) {
    throw fileFailure(captureFileSystemError(err, path, "write"));
  }
}

/** A capture file failure in the one-line form: `stackts: FILE : why`. */
function fileFailure(err: unknown): unknown {
  if (!(err instanceof CaptureFileError)) return err;
  const subject = err.path === "-" ? "stdout" : err.path;
  const prefix = `Cannot ${err.operation} ${subject}: `;
  const why = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new CliError(subject, why, EXIT.failure, { cause: err });
}

function captureFailure(err: unknown, iface: string, filter: string): unknown {
  if (err instanceof CaptureError) {
    if (err.code === "EFILTER") return new UsageError(`filter '${filter}'`, err.detail || err.message);
    return new CliError(iface, err.message, EXIT.failure, { cause: err });
  }
  if (err instanceof RangeError) return new UsageError(iface, err.message);
  return err;
}

/**
 * Deliver batches until the count, a signal, the reader of stdout going away or
 * an error. `drainMs`: in buffered mode, after a signal, keep taking batches this
 * long so the kernel's last partly filled block (retired on its timeout) is not lost.
 */
async function loop(
  cap: LiveCapture,
  writer: CaptureWriter | null,
  args: ReturnType<typeof parseArgs>,
  limit: number | undefined,
  drainMs: number,
): Promise<number> {
  const out = new Output(1);
  const printer =
    writer === null
      ? new PacketPrinter(out, {
          json: flag(args, "json"),
          verbose: flagCount(args, "verbose") > 0,
          hex: flag(args, "hexdump"),
          quiet: flag(args, "quiet"),
          linkHeaders: flag(args, "link-headers"),
          absoluteSeq: flag(args, "absolute-seq"),
          timeDigits: 6,
          interfaceName: (index) => cap.interfaceName(index),
          onUndecodedLinkType: (lt) => {
            out.flush();
            stderrLine(`stackts: warning : link type ${lt} is not decoded: its frames print as their first 16 bytes in hex (-x for all)`);
          },
        })
      : null;
  let captured = 0;
  let bytes = 0;
  const max = limit ?? Infinity;
  // -w with a terminal on stderr: a progress line (the packets go to the file, not the screen).
  const progress = writer !== null ? ProgressLine.forStderr("capture", { delayMs: 1000 }) : null;
  const view = flag(args, "view") ? await startLiveView(cap.device) : null;
  if (view !== null) stderrLine(`live report on ${view.url} (port ${view.port})`);
  let failure: unknown = null;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    finish();
  };

  const onBatch = (batch: FrameBatch): void => {
    if (stopping) return;
    const room = max - captured;
    const full = batch.count;
    if (full > room) batch.count = room; // -c: only what is left
    try {
      if (writer !== null) {
        writer.writeBatch(batch);
        // what arrived together is written together: nothing waits for more frames
        writer.flush();
      } else printer!.printBatch(batch);
      view?.addBatch(batch);
      captured += batch.count;
      if (progress !== null) {
        for (let i = 0; i < batch.count; i++) bytes += batch.length[i]!;
        progress.update(captured, bytes);
      }
    } catch (err) {
      failure = err;
      stop();
    } finally {
      batch.count = full;
    }
    if (captured >= max || out.closed) stop();
  };
  cap.onError((err) => {
    failure = err;
    stop();
  });
  let signalled = false;
  const onSignal = (): void => {
    if (signalled) return stop(); // a second Ctrl-C: now
    signalled = true;
    if (drainMs > 0) setTimeout(stop, drainMs);
    else stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  cap.onBatch(onBatch);
  await finished;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);

  let stats = null;
  try {
    stats = cap.stats();
  } catch {
    // closed by an error: no counters
  }
  cap.close();
  try {
    writer?.close();
  } catch (err) {
    failure ??= err;
  }
  out.flush();
  progress?.end();
  await view?.close();
  stderrLine(`${captured} packet${captured === 1 ? "" : "s"} captured`);
  if (stats !== null) {
    stderrLine(`${stats.received} packet${stats.received === 1 ? "" : "s"} received by filter`);
    stderrLine(`${stats.dropped} packet${stats.dropped === 1 ? "" : "s"} dropped by kernel`);
  }
  // The reader of `-w -` went away: the capture ends as a printing one does when stdout closes.
  if (failure instanceof CaptureFileError && failure.code === "EPIPE" && failure.path === "-") failure = null;
  if (failure !== null) return reportError(fileFailure(failure), cap.device);
  return EXIT.ok;
}
