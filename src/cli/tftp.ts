/**
 * `stackts tftp`: TFTP over our own stack. `get` and `put` are the client
 * (`stackts tftp get HOST FILE [-o LOCAL]`), `serve DIR` the server, with
 * RFC 2347 options from the command line (`--blksize`, `--windowsize`,
 * `--timeout`, `--tsize`) and `--mode octet|netascii`. Every action is a
 * call of src/apps/tftp/; this module parses and reports.
 *
 * @module
 */
import { unlinkSync, writeSync } from "node:fs";
import { basename } from "node:path";
import { formatIp, ipFamily, parseIp } from "../../layers/addr.ts";
import { tftpGet, tftpPut, TftpServer, type ServedRequest } from "../apps/tftp/driver.ts";
import { directoryFiles, fileSink, fileSource } from "../apps/tftp/files.ts";
import { MAX_BLKSIZE, MIN_BLKSIZE, type ClientOptions } from "../apps/tftp/options.ts";
import { TftpTrace } from "../apps/tftp/trace.ts";
import type { BlockSink, TftpMode, TransferResult } from "../apps/tftp/transfer.ts";
import { flag, formatHelp, intOption, parseArgs, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError, stderrLine } from "./errors.ts";
import { DNS_SERVER_OPTION, dnsServerOption, nameResolver, needServerFor } from "./names.ts";
import { STACK_HELP, STACK_SPEC, hasFamily, hostOptions, onStopSignal, startCliHost, type CliHost } from "./stack_options.ts";

const SPEC: OptionSpec[] = [
  ...STACK_SPEC,
  { name: "output", short: "o", value: "LOCAL", help: "get: write to LOCAL ('-': standard output; default: FILE's base name); put: send LOCAL as FILE" },
  { name: "blksize", value: "N", help: `ask for N-byte blocks (RFC 2348, ${MIN_BLKSIZE}..${MAX_BLKSIZE}; default 512, no option sent)` },
  { name: "windowsize", value: "N", help: "ask for N blocks per ACK (RFC 7440; get 1..65535, put 1..64)" },
  { name: "timeout", value: "S", help: "retransmission timeout in seconds, asked of the server too (RFC 2349, 1..255; default 1, not asked)" },
  { name: "tsize", help: "ask for the file's size (get) or announce it (put) (RFC 2349)" },
  { name: "mode", value: "MODE", help: "octet (default) or netascii (LF here, CR LF on the wire)" },
  { name: "port", short: "p", value: "PORT", help: "the server's port (get/put) or ours (serve); default 69" },
  { name: "write", help: "serve: take uploads (WRQ) into DIR; without it they get ERROR 2" },
  DNS_SERVER_OPTION,
  { name: "verbose", short: "v", help: "get/put: a line with the size, time and rate on stderr" },
];

export const help = formatHelp(
  "stackts tftp --iface IF --ip ADDR/PREFIX [options] get|put HOST FILE\n       stackts tftp --iface IF --ip ADDR/PREFIX [options] serve DIR",
  `TFTP (RFC 1350) over our own TCP/IP stack, with options (RFC 2347): blksize
(RFC 2348), timeout and tsize (RFC 2349), windowsize (RFC 7440).

'get HOST FILE' fetches FILE from the server at HOST (an IPv4 or IPv6
address, or a name asked of --server, the lease's DNS server or --gw) into
LOCAL (-o; default FILE's base name). 'put HOST FILE' sends LOCAL (-o;
default FILE) as FILE. A packet that is not answered within the timeout is
sent again (8 times at most); a duplicate ACK is never answered with DATA
(the Sorcerer's Apprentice bug); block numbers wrap from 65535 to 0 as
tftpd-hpa does. An error from the server ends the command with its code:
'stackts: tftp get 10.77.0.1 nofile : the peer sent error 1 (File not
found): File not found', exit 1; a failed get removes the partial LOCAL.

'serve DIR' answers requests on port 69 (-p) with the files under DIR
(nothing outside it: '..' gets ERROR 2, access violation), each transfer
from a port of its own; with --write it takes uploads (written under a
temporary name, renamed when complete). One line per request on stdout.
Runs until Ctrl-C or SIGTERM.

With --trace, each frame in (<) and out (>) is printed as 'stackts read'
prints it, the transfer's datagrams as TFTP (RRQ, OACK, DATA block N, ACK
block N, ERROR) though only the request goes to port 69, and '#' lines say
what the engine did: the options agreed, each timeout and what was sent
again, packets from another port answered with ERROR 5.

${STACK_HELP}`,
  SPEC,
);

/** A port from the command line. */
function port(args: ParsedArgs): number {
  return intOption(args, "port", 1, 65535) ?? 69;
}

function mode(args: ParsedArgs): TftpMode {
  const m = stringOption(args, "mode");
  if (m === undefined) return "octet";
  const lower = m.toLowerCase();
  if (lower !== "octet" && lower !== "netascii") throw new UsageError(args.spelled.get("mode") ?? "--mode", `expected octet or netascii, got '${m}'`);
  return lower;
}

function clientOptions(args: ParsedArgs, put: boolean): ClientOptions {
  const o: ClientOptions = {};
  const b = intOption(args, "blksize", MIN_BLKSIZE, MAX_BLKSIZE);
  if (b !== undefined) o.blksize = b;
  // A sender holds one window of blocks until it is acknowledged: a put's window stays small.
  const w = intOption(args, "windowsize", 1, put ? 64 : 65535);
  if (w !== undefined) o.windowsize = w;
  const t = intOption(args, "timeout", 1, 255);
  if (t !== undefined) o.timeout = t;
  if (flag(args, "tsize")) o.tsize = true;
  return o;
}

/** The trace of a TFTP command: frames with TFTP followed past port 69, and the engine's notes. */
function tftpTrace(cli: CliHost, serverPort: number): ((now: number, text: string) => void) | undefined {
  if (cli.trace === null) return undefined;
  const trace = new TftpTrace(cli.trace.line, cli.host.driver.now, serverPort);
  cli.host.stack.trace = trace;
  return (now, text) => trace.note(now, `tftp: ${text}`);
}

function rate(r: TransferResult & { ok: true }): string {
  const s = Math.max(r.endedAt - r.startedAt, 0.001) / 1000;
  return `${r.bytes} bytes in ${s.toFixed(3)} s (${(r.bytes / s / 1e6).toFixed(2)} MB/s), blksize ${r.agreed.blksize}, windowsize ${r.agreed.windowsize}, ${r.stats.retransmits} sent again`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const [verb, ...rest] = args.positionals;
  if (verb === "serve") return serve(args, rest);
  if (verb !== "get" && verb !== "put") throw new UsageError("tftp", verb === undefined ? "get, put or serve? (see 'stackts tftp --help')" : `unknown action '${verb}' (get, put or serve)`);
  if (rest.length !== 2) throw new UsageError(`tftp ${verb}`, rest.length < 2 ? "HOST and FILE are needed" : `unexpected argument '${rest[2]}'`);
  const [hostText, file] = rest as [string, string];
  let address: string | null = null;
  try {
    address = formatIp(parseIp(hostText));
  } catch {
    // a name: asked of the DNS server once the host is up
  }
  const options = hostOptions(args);
  const dnsServer = dnsServerOption(args, options);
  if (address !== null) {
    const family = ipFamily(address);
    if (!hasFamily(options, family)) throw new UsageError(family === 4 ? "--ip" : "--ip6", `an IPv${family} address of ours is needed to reach ${address}`);
  } else {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(hostText)) throw new UsageError(hostText, "not an IP address or a host name");
    needServerFor(hostText, dnsServer, options);
  }
  const put = verb === "put";
  const opts = clientOptions(args, put);
  const m = mode(args);
  const serverPort = port(args);
  const local = stringOption(args, "output") ?? (put ? file : basename(file));
  const what = `tftp ${verb} ${hostText} ${file}`;

  // Open the local side first: a missing file to put or a folder we cannot write fails before any packet.
  let sink: (BlockSink & { close(): void }) | null = null;
  let source: ReturnType<typeof fileSource> | null = null;
  try {
    if (put) source = local === "-" ? null : fileSource(local);
    else sink = local === "-" ? stdoutSink() : fileSink(local);
  } catch (err) {
    throw new CliError(local, (err as Error).message.replace(/^\w+: /, ""));
  }
  if (put && source === null) throw new UsageError("-o", "put reads a file ('-' is not supported)");

  const cli = await startCliHost(args, options);
  const note = tftpTrace(cli, serverPort);
  let failure: unknown = null;
  let result: TransferResult | null = null;
  // Ctrl-C, SIGTERM or the device failing: the transfer is cancelled (ERROR 0 to the server) and the command ends.
  const stop = new AbortController();
  const unhook = onStopSignal(() => {
    failure ??= new CliError(what, "interrupted");
    stop.abort();
  });
  cli.onFailure((err) => {
    failure ??= err;
    stop.abort();
  });
  try {
    if (address === null) {
      try {
        address = await nameResolver(cli, options, dnsServer)(hostText);
      } catch (err) {
        failure ??= err; // the partial LOCAL goes below, as for a failed transfer
      }
    }
    if (address !== null && failure === null) {
      const server = { address, port: serverPort };
      const base = { server, filename: file, mode: m, options: opts, note, signal: stop.signal };
      result = await (put ? tftpPut(cli.host, { ...base, source: source!.source, size: source!.size }) : tftpGet(cli.host, { ...base, sink: sink! }));
    }
  } finally {
    unhook();
    source?.close();
    sink?.close();
    await cli.close();
  }
  // A signal during the dally after the last ACK leaves a whole file: that is a success.
  if (result === null || !result.ok) {
    if (!put && local !== "-") {
      try {
        unlinkSync(local);
      } catch {
        // nothing to remove
      }
    }
    if (failure !== null) throw failure;
    throw new CliError(what, result!.ok ? "failed" : result!.error.message);
  }
  if (flag(args, "verbose")) stderrLine(`${put ? "sent" : "received"} ${rate(result)}`);
  return EXIT.ok;
}

/** Standard output as a sink (a get with -o -). */
function stdoutSink(): BlockSink & { close(): void } {
  const chunks: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    if (size === 0) return;
    const b = Buffer.concat(chunks, size);
    chunks.length = 0;
    size = 0;
    let at = 0;
    while (at < b.length) {
      try {
        at += writeSync(1, b, at, b.length - at);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      }
    }
  };
  return {
    write(bytes) {
      chunks.push(Buffer.from(bytes));
      size += bytes.length;
      if (size >= 1 << 20) flush();
    },
    end: flush,
    close: flush,
  };
}

async function serve(args: ParsedArgs, rest: string[]): Promise<number> {
  if (rest.length !== 1) throw new UsageError("tftp serve", rest.length === 0 ? "which DIR to serve?" : `unexpected argument '${rest[1]}'`);
  const dir = rest[0]!;
  let files;
  try {
    files = directoryFiles(dir);
  } catch (err) {
    throw new CliError(dir, (err as Error).message.replace(/^\w+: /, ""));
  }
  const options = hostOptions(args);
  const cli = await startCliHost(args, options);
  const note = tftpTrace(cli, port(args));
  const log = (r: ServedRequest): void => {
    const who = `${r.client.address}:${r.client.port}`;
    let text: string;
    if ("refused" in r.result) text = `${who} refused: error ${r.result.code}: ${r.result.refused}`;
    else if (r.result.ok) text = `${who} ${r.write ? "WRQ" : "RRQ"} ${r.filename}: ${r.write ? "received" : "sent"} ${rate(r.result)}`;
    else text = `${who} ${r.write ? "WRQ" : "RRQ"} ${r.filename}: failed: ${r.result.error.message}`;
    process.stdout.write(text + "\n");
  };
  const families: ("inet" | "inet6")[] = [];
  if (hasFamily(options, 4)) families.push("inet");
  if (hasFamily(options, 6)) families.push("inet6");
  const servers: TftpServer[] = [];
  let failure: unknown = null;
  try {
    for (const family of families) servers.push(new TftpServer(cli.host, { files, allowWrite: flag(args, "write"), port: port(args), family, onRequest: log, note }));
  } catch (err) {
    await cli.close();
    throw new CliError(`port ${port(args)}`, (err as Error).message);
  }
  process.stdout.write(`serving ${dir} on port ${port(args)}${flag(args, "write") ? " (uploads taken)" : ""}\n`);
  await new Promise<void>((resolve) => {
    const unhook = onStopSignal(() => {
      unhook();
      resolve();
    });
    cli.onFailure((err) => {
      failure = err;
      unhook();
      resolve();
    });
  });
  for (const s of servers) s.close();
  await cli.close();
  if (failure !== null) throw failure;
  return EXIT.ok;
}
