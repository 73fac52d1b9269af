/**
 * `stackts capture [IFACE] [BPF filter...]`: live capture with tcpdump's habits.
 * Prints one line per packet (or a tree, hex, NDJSON), or writes a pcap/pcapng
 * file with `-w`. Ctrl-C, SIGTERM or the count (`-c`) end it cleanly: what was
 * captured is written and flushed, then the three counters go to stderr.
 *
 * @module
 */
import { openCaptureWriter, type CaptureWriter } from "../capture_file.ts";
import { listDevices, defaultDevice } from "../devices.ts";
import { CaptureError } from "../errors.ts";
import type { FrameBatch } from "../frame.ts";
import { Output } from "../format/output.ts";
import { PacketPrinter } from "../format/printer.ts";
import { openLive, type Direction, type LiveCapture, type LiveOptions } from "../live.ts";
import { dropPrivileges } from "../privileges.ts";
import { flag, flagCount, formatHelp, intOption, parseArgs, stringOption, type OptionSpec } from "./args.ts";
import { CliError, EXIT, UsageError, reportError, stderrLine } from "./errors.ts";

const SPEC: OptionSpec[] = [
  { name: "interface", short: "i", value: "IFACE", help: "capture on IFACE (also the first argument)" },
  { name: "count", short: "c", value: "N", help: "stop after N packets" },
  { name: "write", short: "w", value: "FILE", help: "write the frames to FILE (pcapng if it ends in .pcapng, else pcap; '-' is stdout)" },
  { name: "snaplen", short: "s", value: "BYTES", help: "keep at most BYTES of each frame (default 262144)" },
  { name: "buffer-size", short: "B", value: "KIB", help: "kernel buffer size in KiB (default: sized from the snaplen)" },
  { name: "no-promiscuous-mode", short: "p", help: "do not put the interface into promiscuous mode" },
  { name: "direction", short: "Q", value: "in|out|inout", help: "which frames: received, sent or both (default inout)" },
  { name: "verbose", short: "v", help: "a tree of every decoded field under each line" },
  { name: "hex", short: "x", help: "a hex dump of each frame under each line" },
  { name: "quiet", short: "q", help: "shorter protocol summaries" },
  { name: "link-headers", short: "e", help: "print the link-level header on each line (like tcpdump -e)" },
  { name: "absolute-seq", short: "S", help: "TCP sequence numbers as they are, not relative" },
  { name: "json", help: "one JSON object per packet (the schema of 'stackts read --json')" },
  { name: "netns", value: "NAME", help: "capture inside network namespace NAME (/run/netns/NAME)" },
  { name: "immediate", help: "deliver each frame at once (the default, except with -w)" },
  { name: "no-immediate", help: "buffered delivery (TPACKET_V3 blocks): no drops at high rates, up to --timeout ms late (the default with -w)" },
  { name: "timeout", value: "MS", help: "with --no-immediate: the longest a frame waits (default 100)" },
  { name: "nano", help: "with -w: nanosecond time stamps in a .pcap file (pcapng files always have them)" },
  { name: "relinquish-privileges", short: "Z", value: "USER", help: "after opening the device, become USER and drop all privileges" },
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

Ctrl-C, SIGTERM or -c end the capture: everything captured is written and
flushed, then stderr gets 'N packets captured', 'N packets received by filter'
and 'N packets dropped by kernel'.`,
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
  if (dev === null) throw new CliError("capture", "no interface is up (name one, see 'stackts devices')");
  return [dev.name, positionals.join(" ")];
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const netns = stringOption(args, "netns");
  const limit = intOption(args, "count", 1);
  const snaplen = intOption(args, "snaplen", 1, 262144);
  const bufferKiB = intOption(args, "buffer-size", 1, 4 * 1024 * 1024);
  const timeoutMs = intOption(args, "timeout", 1, 60_000);
  const direction = parseDirection(stringOption(args, "direction"));
  const writePath = stringOption(args, "write");
  const user = stringOption(args, "relinquish-privileges");
  // Like tcpdump: immediate delivery when printing, buffered blocks when writing a
  // file (at high rates immediate mode's TPACKET_V2 ring drops; a file does not
  // need each frame at once). Either can be forced.
  if (flag(args, "immediate") && flag(args, "no-immediate")) throw new UsageError("--immediate", "cannot be used with --no-immediate");
  const immediate = flag(args, "immediate") || (!flag(args, "no-immediate") && writePath === undefined);
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
  let cap: LiveCapture;
  try {
    cap = openLive(iface, options);
  } catch (err) {
    throw captureFailure(err, iface, filter);
  }
  let writer: CaptureWriter | null = null;
  try {
    if (user !== undefined) dropPrivileges(user);
    for (const w of cap.warnings) stderrLine(`stackts: warning : ${w}`);
    const c = cap.config;
    const name = cap.linkTypeName ?? `LINKTYPE_${cap.linkType}`;
    const desc = LINK_DESCRIPTION[name];
    const mode = c.immediate ? "immediate mode" : `buffered mode (up to ${c.timeoutMs} ms late)`;
    stderrLine(
      `listening on ${iface}, link-type ${name}${desc === undefined ? "" : ` (${desc})`}, snapshot length ${c.snaplen} bytes, ${mode}, buffer ${Math.round(c.bufferSize / 1024)} KiB`,
    );
    if (writePath !== undefined) {
      writer = openCaptureWriter(writePath, {
        // Like tcpdump, a .pcap file gets microseconds (what every reader takes) unless
        // asked; pcapng states its resolution per interface, so it keeps what the kernel gave.
        nanoseconds: c.precision === "nano" && (/\.(pcapng|ntar)$/i.test(writePath) || flag(args, "nano")),
        interfaces: [{ linkType: cap.linkType, snaplen: c.snaplen, name: iface, ...(filter === "" ? {} : { filter }) }],
      });
    }
  } catch (err) {
    cap.close();
    writer?.close();
    throw err;
  }
  return await loop(cap, writer, args, limit, cap.config.immediate ? 0 : cap.config.timeoutMs + 50);
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
          hex: flag(args, "hex"),
          quiet: flag(args, "quiet"),
          linkHeaders: flag(args, "link-headers"),
          absoluteSeq: flag(args, "absolute-seq"),
          timeDigits: 6,
        })
      : null;
  let captured = 0;
  const max = limit ?? Infinity;
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
      if (writer !== null) writer.writeBatch(batch);
      else printer!.printBatch(batch);
      captured += batch.count;
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
  stderrLine(`${captured} packet${captured === 1 ? "" : "s"} captured`);
  if (stats !== null) {
    stderrLine(`${stats.received} packet${stats.received === 1 ? "" : "s"} received by filter`);
    stderrLine(`${stats.dropped} packet${stats.dropped === 1 ? "" : "s"} dropped by kernel`);
  }
  if (failure !== null) return reportError(failure, cap.device);
  return EXIT.ok;
}
