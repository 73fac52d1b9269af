/**
 * The `stackts` command: `stackts <command> [options]`. A table of subcommands,
 * each a module loaded on demand that exports `run(argv)` (resolving to the exit
 * code) and `help` (its `--help` text). To add a command, add one line to
 * {@link COMMANDS}.
 *
 * Every failure ends in one line on stderr (`stackts: <what> : <why>`) and a
 * non-zero exit code; see errors.ts.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * await main(["read", "test/fixtures/sample.pcap", "-c", "3"]);
 * ```
 *
 * @module
 */
import { EXIT, UsageError, reportError, stderrLine } from "./errors.ts";
import { writeSync } from "node:fs";

/** What a subcommand module exports. */
export interface CommandModule {
  /** run the command with the arguments after its name; resolves to the exit code */
  run(argv: string[]): Promise<number>;
  /** the text `--help` prints */
  help: string;
}

/** One row of the command table. */
export interface CommandEntry {
  /** one line for `stackts --help` */
  summary: string;
  load(): Promise<CommandModule>;
}

/** The subcommands. One line each. */
export const COMMANDS: Record<string, CommandEntry> = {
  read: { summary: "print the packets of a pcap/pcapng file", load: () => import("./read.ts") },
  capture: { summary: "capture live packets from a network interface", load: () => import("./capture.ts") },
  devices: { summary: "list the interfaces that can be captured on", load: () => import("./devices.ts") },
  send: { summary: "craft and send UDP datagrams, raw frames and DNS queries", load: () => import("./send.ts") },
  doctor: { summary: "check whether capture can work here, and say how to fix it", load: () => import("./doctor.ts") },
  setcap: { summary: "let ordinary users capture: a node copy with cap_net_raw (run once as root)", load: () => import("./setcap.ts") },
  host: { summary: "bring our own TCP/IP stack up as a host on an interface (answers ARP, NDP, ping)", load: () => import("./host.ts") },
  nc: { summary: "netcat over our own TCP/IP stack: connect, listen, TCP or UDP", load: () => import("./nc.ts") },
  ping: { summary: "ping from our own TCP/IP stack's address, as iputils prints it", load: () => import("./ping.ts") },
  http: { summary: "an HTTP/1.0 and 1.1 client over our own TCP/IP stack (curl's -o -i -I -X -d -H -L)", load: () => import("./http.ts") },
  dhcp: { summary: "take a DHCP lease from our own TCP/IP stack's MAC and print it", load: () => import("./dhcp.ts") },
  dns: { summary: "ask a DNS server from our own TCP/IP stack (UDP, TCP on truncation), as dig prints it", load: () => import("./dns.ts") },
  report: { summary: "write one self-contained HTML page of a capture: conversations, graphs, flows, packets", load: () => import("./report.ts") },
  view: { summary: "serve the report page of a capture on 127.0.0.1", load: () => import("./view.ts") },
  tftp: { summary: "TFTP client (get, put) and server over our own TCP/IP stack", load: () => import("./tftp.ts") },
};

function topHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = [
    "usage: stackts <command> [options]",
    "",
    "A layered network protocol stack: decode, capture and craft packets.",
    "",
    "commands:",
    ...names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n]!.summary}`),
    "",
    "'stackts <command> --help' describes each command; 'stackts --version' (-V)",
    "prints the versions of stackts, libpcap and node.",
    "Errors end in one line on stderr and exit code 2 (usage) or 1 (failure);",
    "set STACKTS_DEBUG=1 for a stack trace.",
  ];
  return lines.join("\n") + "\n";
}

/**
 * Run the CLI with `argv` (the arguments after `stackts`). Sets
 * `process.exitCode` and also resolves to it.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const code = await dispatch(argv);
  process.exitCode = code;
  return code;
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      if (name === "help" && rest[0] !== undefined) return await dispatch([rest[0], "--help"]);
      // Asked for: help on stdout, exit 0. No command at all: usage on stderr, exit 2.
      if (name === undefined) {
        stderrLine(topHelp().trimEnd());
        return EXIT.usage;
      }
      writeOut(topHelp());
      return EXIT.ok;
    }
    // tcpdump --version; -V too at the top (inside a command -V stays free for its own use).
    if (name === "--version" || name === "-V" || name === "version") {
      if (rest.length > 0) throw new UsageError(rest[0]!, `unexpected argument after ${name}`);
      writeOut((await import("./version.ts")).versionText());
      return EXIT.ok;
    }
    const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (entry === undefined) throw new UsageError(name, "unknown command (try 'stackts --help')");
    const mod = await entry.load();
    if (rest.includes("--help") || rest.includes("-h")) {
      writeOut(mod.help);
      return EXIT.ok;
    }
    if (rest.includes("--version")) {
      writeOut((await import("./version.ts")).versionText());
      return EXIT.ok;
    }
    return await mod.run(rest);
  } catch (err) {
    return reportError(err, name ?? "stackts");
  }
}

function writeOut(text: string): void {
  try {
    writeSync(1, text);
  } catch {
    stderrLine(text.trimEnd());
  }
}
