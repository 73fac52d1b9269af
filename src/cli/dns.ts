/**
 * `stackts dns NAME [--type T] [--server IP]`: a DNS question asked from our
 * own stack's address, over our UDP socket (and our TCP when the answer is
 * truncated), by the resolver in src/apps/dns.ts. The answer is printed as
 * `dig +short` prints it; with `-v` as dig prints its sections.
 *
 * @module
 */
import { formatIp, ipFamily, parseIp } from "../../layers/addr.ts";
import { dnsTypeOf } from "../../layers/dns.ts";
import { DnsError, dnsQuery, type DnsResult } from "../apps/dns.ts";
import { Output } from "../format/output.ts";
import { digSections } from "./dig.ts";
import { formatRdata } from "../send/dns_query.ts";
import { flag, formatHelp, intOption, parseArgs, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { STACK_HELP, STACK_SPEC, defaultDnsServer, hasFamily, hostOptions, onStopSignal, startCliHost, type CliHostOptions } from "./stack_options.ts";

const SPEC: OptionSpec[] = [
  ...STACK_SPEC,
  { name: "type", short: "t", value: "TYPE", help: "the record type: A (default), AAAA, MX, TXT, NS, CNAME, SOA, SRV, PTR, CAA, ANY or a number" },
  { name: "server", short: "s", value: "IP", help: "the DNS server (default: the lease's with --dhcp, else --gw)" },
  { name: "port", short: "p", value: "PORT", help: "the server's port (default 53)" },
  { name: "timeout", value: "SECS", help: "give up after SECS in all, retries and TCP included (default 5)" },
  { name: "tries", value: "N", help: "UDP sends, spread over the timeout (default 3)" },
  { name: "tcp", help: "ask over TCP only (as dig +tcp)" },
  { name: "ignore", help: "keep a truncated UDP answer, do not ask again over TCP (as dig +ignore)" },
  { name: "noedns", help: "no EDNS0 OPT record: a plain RFC 1035 query (UDP answers of at most 512 bytes)" },
  { name: "verbose", short: "v", help: "print the whole answer as dig does (header, sections, query time, server)" },
];

export const help = formatHelp(
  "stackts dns --iface IF (--ip ADDR/PREFIX | --dhcp) [--server IP] [--type TYPE] [options] NAME",
  `Ask a DNS server about NAME from our own TCP/IP stack's address: the
question leaves on our UDP socket and is sent again (same id) while no answer
comes; only an answer from the server's address and port with our id and
our question counts (others are ignored, and noted with --trace); a
truncated answer (TC) is asked again over our own TCP. An answer that does
not decode (a compression pointer loop, counts past the end) is an error at
once; no answer in --timeout seconds is an error too.

Prints the answer section's data one record a line, as 'dig +short'; with
-v, the header, the sections, the query time and the server, as dig. The
server: --server, else the first DNS server of the lease (--dhcp), else the
gateway (--gw). Exit code 0 when an answer came (whatever its status, as
dig), 1 when none did or it was malformed, 2 for bad options.

${STACK_HELP}`,
  SPEC,
);

function secondsOption(args: ParsedArgs, name: string): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v) || Number(v) <= 0 || Number(v) > 3600) throw new UsageError(args.spelled.get(name) ?? `--${name}`, `expected seconds (up to 3600), got '${v}'`);
  return Number(v) * 1000;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length !== 1) {
    throw new UsageError("dns", args.positionals.length === 0 ? "no NAME to ask about (see 'stackts dns --help')" : `one NAME only, got ${args.positionals.length}`);
  }
  const name = args.positionals[0]!;
  const typeText = stringOption(args, "type") ?? "A";
  let type: number;
  try {
    type = dnsTypeOf(/^\d+$/.test(typeText) ? Number(typeText) : typeText.toUpperCase());
  } catch (err) {
    throw new UsageError(args.spelled.get("type") ?? "--type", err instanceof Error ? err.message : String(err));
  }
  const options = hostOptions(args);
  let server = stringOption(args, "server");
  if (server !== undefined) server = checkServer(args.spelled.get("server") ?? "--server", server, options);
  else if (options.dhcp !== true && options.gateway4 === undefined && options.gateway6 === undefined) {
    throw new UsageError("--server", "which server? give --server (or --gw, or --dhcp for the lease's)");
  }
  const port = intOption(args, "port", 1, 65535) ?? 53;
  const timeoutMs = secondsOption(args, "timeout") ?? 5000;
  const tries = intOption(args, "tries", 1, 100) ?? 3;
  if (flag(args, "tcp") && flag(args, "ignore")) throw new UsageError("--tcp", "cannot be used with --ignore");

  const cli = await startCliHost(args, options);
  let result: DnsResult;
  const unhook = onStopSignal(() => void cli.close().then(() => process.exit(EXIT.ok)));
  try {
    if (server === undefined) {
      server = defaultDnsServer(cli, options) ?? undefined;
      if (server === undefined) throw new UsageError("--server", "the lease names no DNS server and no router: give --server");
    }
    result = await dnsQuery(cli.host, name, {
      server,
      port,
      type,
      timeoutMs,
      tries,
      tcp: flag(args, "tcp") ? "always" : flag(args, "ignore") ? "never" : "fallback",
      edns: flag(args, "noedns") ? false : undefined,
    });
  } catch (err) {
    if (err instanceof DnsError) throw new CliError(err.code === "name" ? name : "dns", err.message, err.code === "name" ? EXIT.usage : EXIT.failure, { cause: err });
    throw err;
  } finally {
    unhook();
    await cli.close();
  }
  const out = new Output(1);
  if (flag(args, "verbose")) printDig(out, result);
  else for (const a of result.response.answers) out.line(formatRdata(a));
  out.flush();
  return EXIT.ok;
}

function checkServer(what: string, text: string, options: CliHostOptions): string {
  let family: 4 | 6;
  try {
    parseIp(text);
    family = ipFamily(text);
  } catch {
    throw new UsageError(what, `${text} is not an IP address`);
  }
  if (!hasFamily(options, family)) throw new UsageError(family === 4 ? "--ip" : "--ip6", `an IPv${family} address of ours is needed to ask ${text}`);
  return formatIp(parseIp(text));
}

function printDig(out: Output, r: DnsResult): void {
  if (r.fellBack) out.line(";; Truncated, retrying in TCP mode.");
  out.line(";; Got answer:");
  for (const line of digSections(r.response)) out.line(line);
  out.line("");
  out.line(`;; Query time: ${Math.round(r.rttMs)} msec`);
  out.line(`;; SERVER: ${r.server}#${r.port}(${r.server}) (${r.transport.toUpperCase()})`);
  out.line(`;; MSG SIZE  rcvd: ${r.bytes.length}`);
  out.line("");
}
