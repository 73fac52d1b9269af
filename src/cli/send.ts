/**
 * `stackts send udp|raw|dns`: craft frames with the layers and put them on the
 * wire; a thin shell over src/send/.
 *
 * - `send udp`: Ethernet + IPv4/IPv6 + UDP, the next hop resolved by our own
 *   ARP/NDP (or, with `--l3`, a raw IP socket and the kernel's routing).
 * - `send raw`: any frame, as given in hex or a file.
 * - `send dns`: one query through the stack, the answer printed like dig.
 *
 * Each frame sent is printed as a summary line (a tree with `-v`, a hex dump
 * with `-x`) by the same printer as `stackts read`; `--dry-run` prints the frame
 * with tree and hex and sends nothing at all (no ARP either).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ipBytes } from "../../layers/addr.ts";
import { LINKTYPE } from "../../layers/link_type.ts";
import { openCaptureWriter, type CaptureWriter } from "../capture_file.ts";
import { CaptureError } from "../errors.ts";
import type { FrameBatch } from "../frame.ts";
import { Output } from "../format/output.ts";
import { PacketPrinter } from "../format/printer.ts";
import { openInjector } from "../live.ts";
import { DnsTimeoutError, formatRdata, queryDns, type DnsQueryResult } from "../send/dns_query.ts";
import { sendUdpL3 } from "../send/l3.ts";
import { NeighborError } from "../send/neighbor.ts";
import { RouteError } from "../send/route.ts";
import { requireDevice, SendError, sendUdp, wallClock, type SentFrame } from "../send/udp.ts";
import { flag, flagCount, formatHelp, intOption, parseArgs, refuse, spelling, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { digSections } from "./dig.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";

const COMMON: OptionSpec[] = [
  { name: "iface", short: "i", value: "IF", help: "interface to send on (required)" },
  { name: "netns", value: "NAME", help: "the interface lives in network namespace NAME (/run/netns/NAME)" },
  { name: "verbose", short: "v", help: "a tree of every field under each line" },
  // -x is the hex dump in every command (read, capture, send); -X as in tcpdump.
  { name: "hexdump", short: "x", aliases: ["X"], help: "hex and ASCII of each frame under its line (as 'stackts read -x')" },
  { name: "write", short: "w", value: "FILE", help: "also write what was sent to FILE (pcap, or pcapng by extension)" },
];

const UDP_SPEC: OptionSpec[] = [
  ...COMMON,
  { name: "dst", value: "IP", help: "destination address, IPv4 or IPv6 (required)" },
  { name: "dport", value: "N", help: "destination port (required)" },
  { name: "src", value: "IP", help: "source address (default: the interface's on the route)" },
  { name: "sport", value: "N", help: "source port (default: random in 49152..65535)" },
  { name: "data", value: "TEXT", empty: true, help: "payload as UTF-8 text" },
  { name: "data-hex", value: "HEX", aliases: ["hex"], empty: true, help: "payload as hex digits (spaces and colons allowed)" },
  { name: "file", value: "F", help: "payload from a file" },
  { name: "count", short: "c", value: "N", help: "send N datagrams (default 1)" },
  { name: "interval", value: "MS", help: "pause between datagrams, ms (default 1000)" },
  { name: "ttl", value: "N", help: "IPv4 TTL / IPv6 hop limit (default 64)" },
  { name: "dst-mac", value: "MAC", help: "send to this MAC, skip ARP/NDP" },
  { name: "dry-run", help: "print the frame (summary, tree, hex) and send nothing" },
  { name: "l3", help: "send through a raw IP socket: the kernel routes and resolves" },
];

const RAW_SPEC: OptionSpec[] = [
  ...COMMON,
  { name: "file", value: "F", help: "the frame from a file (bytes as they go on the wire)" },
  { name: "count", short: "c", value: "N", help: "send it N times (default 1)" },
  { name: "interval", value: "MS", help: "pause between copies, ms (default 1000)" },
  { name: "dry-run", help: "print the frame (summary, tree, hex) and send nothing" },
];

const DNS_SPEC: OptionSpec[] = [
  ...COMMON,
  { name: "server", value: "IP", help: "the DNS server to ask (required)" },
  { name: "type", short: "t", value: "TYPE", help: "record type: A (default), AAAA, MX, TXT, ... or a number" },
  { name: "timeout", value: "MS", help: "wait this long for the answer (default 3000)" },
  { name: "port", value: "N", help: "server port (default 53)" },
  { name: "src", value: "IP", help: "source address (default: the interface's)" },
  { name: "sport", value: "N", help: "source port (default: random in 49152..65535)" },
  { name: "dst-mac", value: "MAC", help: "send to this MAC, skip ARP/NDP" },
  { name: "short", help: "print only the answers' data, like dig +short" },
];

export const help =
  formatHelp(
    "stackts send udp --iface IF --dst IP --dport N [options]",
    `Build Ethernet + IPv4 (IPv6 when --dst is IPv6) + UDP with the layers, every
length and checksum filled in, and inject it on IF. Source MAC and address come
from the interface; the destination MAC from our own ARP request (NDP neighbor
solicitation for IPv6), asking for the gateway when the routing table says the
destination is off-link. One line per frame sent, as 'stackts read' prints it.`,
    UDP_SPEC,
  ) +
  "\n" +
  formatHelp(
    "stackts send raw --iface IF (HEX | --file F) [options]",
    `Inject one frame exactly as given (link-layer header included). On lo the
kernel drops injected IPv4 to 127.0.0.0/8 or from its own addresses (martians);
'send udp --iface lo' sends those through the kernel instead.`,
    RAW_SPEC,
  ) +
  "\n" +
  formatHelp(
    "stackts send dns --iface IF --server IP [options] NAME",
    `Send one DNS query through the stack (Ethernet/IP/UDP built by the layers, the
server's MAC resolved by ARP/NDP), capture the answer matched by id, addresses
and ports, and print it like dig; -v prints every layer of query and answer.`,
    DNS_SPEC,
  );

/** Run `stackts send ...`. */
export async function run(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  try {
    switch (kind) {
      case "udp":
        return await runUdp(rest);
      case "raw":
        return await runRaw(rest);
      case "dns":
        return await runDns(rest);
      case undefined:
        throw new UsageError("send", "what to send? udp, raw or dns (see 'stackts send --help')");
      default:
        throw new UsageError(`send ${kind}`, "unknown kind (udp, raw or dns)");
    }
  } catch (err) {
    throw toCliError(err);
  }
}

/** Library errors in the CLI's one-line form. */
function toCliError(err: unknown): unknown {
  if (err instanceof SendError) return err.usage ? new UsageError(err.what, err.message) : new CliError(err.what, err.message);
  if (err instanceof RouteError) return new CliError("route", err.message);
  if (err instanceof NeighborError) return new CliError("resolve", err.message);
  if (err instanceof DnsTimeoutError) return new CliError("dns", err.message);
  if (err instanceof CaptureError) return new CliError(err.device ?? "send", err.message);
  return err;
}

function required(args: ParsedArgs, name: string): string {
  const v = stringOption(args, name);
  if (v === undefined || v === "") throw new UsageError(`--${name}`, "is required");
  return v;
}

/** Bytes from hex text; whitespace, colons and a leading 0x are allowed. */
export function parseHex(what: string, text: string): Uint8Array {
  const clean = text.replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (!/^[0-9a-fA-F]*$/.test(clean) || clean.length % 2 !== 0) {
    throw new UsageError(what, "expected hex digits, two per byte");
  }
  return Uint8Array.from(Buffer.from(clean, "hex"));
}

/** Node's file error codes in the CLI's words. */
const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "file name too long",
};

/** A file error as `<path> : <why>`, without Node's "ENOENT: ..., open '...'" text. */
export function fileError(path: string, err: unknown, writing = false): CliError {
  const code = (err as { code?: unknown } | null)?.code;
  // Writing, a missing file is a missing directory: the file would be made.
  const why = writing && code === "ENOENT" ? "no such directory" : typeof code === "string" ? FILE_ERRORS[code] : undefined;
  return new CliError(path, why ?? (err instanceof Error ? err.message.replace(/^[A-Z]+: /, "") : String(err)), EXIT.failure, { cause: err });
}

function readBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw fileError(path, err);
  }
}

function payloadOf(args: ParsedArgs): Uint8Array {
  const given = ["data", "data-hex", "file"].filter((n) => stringOption(args, n) !== undefined);
  if (given.length > 1) throw new UsageError(spelling(args, given[1]!), `give only one of --data, --data-hex, --file`);
  const data = stringOption(args, "data");
  if (data !== undefined) return new TextEncoder().encode(data);
  const hex = stringOption(args, "data-hex");
  if (hex !== undefined) return parseHex(spelling(args, "data-hex"), hex);
  const file = stringOption(args, "file");
  if (file !== undefined) return readBytes(file);
  return new Uint8Array(0);
}

/** Prints sent frames with the read command's printer, and writes them to -w. */
class SentLog {
  readonly out = new Output(1);
  readonly printer: PacketPrinter;
  readonly writer: CaptureWriter | null;
  readonly linkType: number;
  /** print each frame (else only write it to -w) */
  readonly print: boolean;

  constructor(args: ParsedArgs, linkType: number, iface: string, forceDetail = false, print = true) {
    this.linkType = linkType;
    this.print = print;
    this.printer = new PacketPrinter(this.out, {
      verbose: forceDetail || flag(args, "verbose"),
      hex: forceDetail || flag(args, "hexdump"),
      timeDigits: 6,
    });
    const path = stringOption(args, "write");
    this.writer = path === undefined ? null : openWriter(path, linkType, iface);
  }

  log(frame: SentFrame): void {
    if (this.print) this.printer.printBatch(batchOf(frame, this.linkType));
    this.writer?.write({ data: frame.data, length: frame.data.length, sec: frame.sec, nsec: frame.nsec, linkType: this.linkType, interfaceId: 0 });
  }

  close(): void {
    this.out.flush();
    this.writer?.close();
  }
}

function openWriter(path: string, linkType: number, iface: string): CaptureWriter {
  try {
    return openCaptureWriter(path, { interfaces: [{ linkType, name: iface }], nanoseconds: true });
  } catch (err) {
    throw fileError(path, err, true);
  }
}

/**
 * Options that do nothing with what else was given: --interval with one frame,
 * -c on a dry run (it builds one frame and sends nothing).
 */
function refuseRepeats(args: ParsedArgs, count: number, dryRun: boolean): void {
  refuse(args, "count", dryRun, "does nothing with --dry-run (one frame is built, nothing is sent)");
  refuse(args, "interval", dryRun || count <= 1, dryRun ? "does nothing with --dry-run (nothing is sent)" : "does nothing with one frame (give -c N)");
}

/** One frame as a batch, for the shared printer. */
function batchOf(frame: SentFrame, linkType: number): FrameBatch {
  return {
    count: 1,
    buffer: frame.data,
    offset: Uint32Array.of(0),
    caplen: Uint32Array.of(frame.data.length),
    length: Uint32Array.of(frame.data.length),
    sec: Float64Array.of(frame.sec),
    nsec: Uint32Array.of(frame.nsec),
    linkType: Uint32Array.of(linkType),
    interfaceId: Uint32Array.of(0),
  };
}

/**
 * Whether sending to `dst` on `iface` takes a raw IP socket (IPv4 over
 * loopback, see src/send/raw_ip.ts), which must be opened inside the namespace.
 */
function kernelPath(iface: string, netns: string, dst: string): boolean {
  let v4 = false;
  try {
    v4 = ipBytes(dst).length === 4;
  } catch {
    return false; // a bad address: the sender says so
  }
  return v4 && requireDevice(iface, netns).flags.loopback;
}

/**
 * Raw IP sockets cannot enter another namespace from this process: run this very
 * command again inside it, without --netns, and pass its exit code on.
 */
function rerunInNetns(netns: string, kind: "udp" | "dns", argv: readonly string[]): number {
  const script = process.argv[1];
  if (script === undefined) throw new CliError("--netns", "cannot find the stackts script to run inside the namespace");
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--netns") i++;
    else if (!a.startsWith("--netns=")) args.push(a);
  }
  const r = spawnSync("ip", ["netns", "exec", netns, process.execPath, script, "send", kind, ...args], { stdio: "inherit" });
  if (r.error) {
    const missing = (r.error as { code?: unknown }).code === "ENOENT";
    throw new CliError("--netns", missing ? "cannot run 'ip' to enter the namespace (install iproute2)" : r.error.message);
  }
  return r.status ?? EXIT.failure;
}

async function runUdp(argv: string[]): Promise<number> {
  const args = parseArgs(argv, UDP_SPEC);
  if (args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "unexpected argument (the payload goes in --data, --hex or --file)");
  const iface = required(args, "iface");
  const dst = required(args, "dst");
  const dport = intOption(args, "dport", 0, 65535);
  if (dport === undefined) throw new UsageError("--dport", "is required");
  const netns = stringOption(args, "netns");
  const l3 = flag(args, "l3");
  if (netns !== undefined && (l3 || kernelPath(iface, netns, dst))) return rerunInNetns(netns, "udp", argv);
  const dryRun = flag(args, "dry-run");
  refuseRepeats(args, intOption(args, "count", 1) ?? 1, dryRun);
  const options = {
    iface,
    netns,
    dst,
    dstPort: dport,
    src: stringOption(args, "src"),
    srcPort: intOption(args, "sport", 0, 65535),
    payload: payloadOf(args),
    count: intOption(args, "count", 1),
    intervalMs: intOption(args, "interval", 0),
    ttl: intOption(args, "ttl", 0, 255),
    dryRun,
  };
  if (l3) {
    if (stringOption(args, "dst-mac") !== undefined) throw new UsageError("--dst-mac", "does not go with --l3 (the kernel resolves)");
    const log = new SentLog(args, LINKTYPE.RAW, iface, dryRun);
    try {
      const r = await sendUdpL3({ ...options, onSent: (p) => log.log(p) });
      if (dryRun) log.log({ data: r.packets[0]!, ...wallClock() });
    } finally {
      log.close();
    }
    return EXIT.ok;
  }
  const log = new SentLog(args, LINKTYPE.ETHERNET, iface, dryRun);
  try {
    const r = await sendUdp({ ...options, dstMac: stringOption(args, "dst-mac"), onSent: (f) => log.log(f) });
    if (dryRun) {
      log.log({ data: r.frames[0]!, ...wallClock() });
      if (r.unresolved === true) process.stderr.write(`stackts: dry run: destination MAC not resolved (nothing is sent; give --dst-mac to set it)\n`);
    }
  } finally {
    log.close();
  }
  return EXIT.ok;
}

async function runRaw(argv: string[]): Promise<number> {
  const args = parseArgs(argv, RAW_SPEC);
  const iface = required(args, "iface");
  const netns = stringOption(args, "netns");
  const file = stringOption(args, "file");
  if (file !== undefined && args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "give the frame as HEX or --file, not both");
  if (file === undefined && args.positionals.length === 0) throw new UsageError("send raw", "no frame: give HEX or --file F");
  const frame = file !== undefined ? readBytes(file) : parseHex("HEX", args.positionals.join(""));
  if (frame.length === 0) throw new UsageError("send raw", "the frame is empty");
  const device = requireDevice(iface, netns);
  // Ethernet: the MTU counts the IP datagram, the 14-byte header comes on top.
  if (device.mtu !== null && frame.length > device.mtu + 14) {
    throw new CliError("send raw", `${frame.length}-byte frame is over the MTU of ${iface} (${device.mtu} + 14)`);
  }
  const dryRun = flag(args, "dry-run");
  const count = intOption(args, "count", 1) ?? 1;
  refuseRepeats(args, count, dryRun);
  const log = new SentLog(args, LINKTYPE.ETHERNET, iface, dryRun);
  try {
    if (dryRun) {
      log.log({ data: frame, ...wallClock() });
      return EXIT.ok;
    }
    const injector = openInjector(iface, netns === undefined ? {} : { netns });
    try {
      for (let i = 0; i < count; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, intOption(args, "interval", 0) ?? 1000));
        injector.inject(frame);
        log.log({ data: frame, ...wallClock() });
      }
    } finally {
      injector.close();
    }
  } finally {
    log.close();
  }
  return EXIT.ok;
}

function printDnsAnswer(out: Output, r: DnsQueryResult, short: boolean): void {
  const d = r.response;
  if (short) {
    for (const a of d.answers) out.line(formatRdata(a));
    return;
  }
  for (const line of digSections(d)) out.line(line);
  out.line("");
  out.line(`;; Query time: ${Math.round(r.rttMs)} msec`);
  out.line(`;; SERVER: ${r.server}#${r.port}(${r.server}) (UDP)`);
}

async function runDns(argv: string[]): Promise<number> {
  const args = parseArgs(argv, DNS_SPEC);
  const iface = required(args, "iface");
  const server = required(args, "server");
  if (args.positionals.length !== 1) {
    throw new UsageError("send dns", args.positionals.length === 0 ? "no NAME to ask about" : `one NAME only, got ${args.positionals.length}`);
  }
  const name = args.positionals[0]!;
  const netns = stringOption(args, "netns");
  if (netns !== undefined && kernelPath(iface, netns, server)) return rerunInNetns(netns, "dns", argv);
  const verbose = flagCount(args, "verbose") > 0;
  const detail = verbose || flag(args, "hexdump");
  // Frames are printed only with -v/-x; -w gets the query, any ARP/NDP and the answer.
  const log = new SentLog(args, LINKTYPE.ETHERNET, iface, false, detail);
  const out = log.out;
  try {
    const r = await queryDns({
      iface,
      netns,
      server,
      name,
      type: stringOption(args, "type"),
      port: intOption(args, "port", 0, 65535),
      src: stringOption(args, "src"),
      srcPort: intOption(args, "sport", 0, 65535),
      dstMac: stringOption(args, "dst-mac"),
      timeoutMs: intOption(args, "timeout", 1),
      onSent: (f) => log.log(f),
    });
    log.log({ data: r.reply.data, sec: r.reply.sec, nsec: r.reply.nsec });
    if (detail) out.line("");
    printDnsAnswer(out, r, flag(args, "short"));
    // Like dig: an answer came, whatever its status (printed in the header line).
    return EXIT.ok;
  } finally {
    log.close();
  }
}
