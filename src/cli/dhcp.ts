/**
 * `stackts dhcp --iface IF`: take a DHCP lease from our own MAC, through our
 * own stack (src/apps/dhcp.ts), and print it: address, mask, router, DNS
 * servers, lease time, server. The lease is then released (a RELEASE to the
 * server) unless `--keep`.
 *
 * @module
 */
import { DhcpClient, DhcpError, describeLease } from "../apps/dhcp.ts";
import { Output } from "../format/output.ts";
import { flag, formatHelp, intOption, parseArgs, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { STACK_HELP, STACK_SPEC, hostOptions, onStopSignal, openCliHost } from "./stack_options.ts";

/** Of the host options: where to live, which MAC, and the trace (the address is what we ask for). */
const HOST_NAMES = new Set(["iface", "netns", "mac", "mtu", "trace"]);

const SPEC: OptionSpec[] = [
  ...STACK_SPEC.filter((s) => HOST_NAMES.has(s.name)),
  { name: "timeout", value: "SECS", help: "give up when no lease came in SECS (default 30)" },
  { name: "retransmit", value: "MS", help: "the first retransmission interval, doubled each time up to 64 s (default 4000, RFC 2131)" },
  { name: "keep", help: "keep the lease (no RELEASE): the server holds the address for our MAC until it ends" },
  { name: "hostname", value: "NAME", help: "send NAME as our host name (option 12)" },
];

export const help = formatHelp(
  "stackts dhcp --iface IF [--mac MAC] [--keep] [options]",
  `Take a DHCP lease from our own TCP/IP stack: DISCOVER (broadcast, from
0.0.0.0 and our own MAC), the first OFFER for our transaction, REQUEST, ACK;
print the lease, one 'key value' a line (address/prefix, mask, router, dns,
domain when given, lease and its T1/T2 times, server), then release it.
Replies for another transaction id or another MAC are ignored (noted with
--trace). Messages are sent again after 4, 8, 16... s (RFC 2131 §4.1).

The MAC is a random locally administered one unless --mac: give the same
--mac to be offered the same address again. Exit code 1 when no lease came
in --timeout seconds, 2 for bad options.

${STACK_HELP.split("\n\n--dhcp")[0]}`,
  SPEC,
);

function seconds(args: ParsedArgs, name: string, fallback: number): number {
  const v = stringOption(args, name);
  if (v === undefined) return fallback;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v) || Number(v) <= 0 || Number(v) > 86400) throw new UsageError(args.spelled.get(name) ?? `--${name}`, `expected seconds, got '${v}'`);
  return Number(v) * 1000;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "unexpected argument (see 'stackts dhcp --help')");
  args.options.set("dhcp", 1);
  const options = hostOptions(args);
  const timeoutMs = seconds(args, "timeout", 30_000);
  const retransmitMs = intOption(args, "retransmit", 100, 64_000);
  const cli = openCliHost(args, options);
  const dhcp = new DhcpClient(cli.host, { timeoutMs, retransmitMs, hostname: stringOption(args, "hostname") });
  const unhook = onStopSignal(() => dhcp.close());
  let failure: CliError | null = null;
  cli.onFailure((err) => {
    failure ??= err;
    dhcp.close();
  });
  try {
    const lease = await dhcp.acquire();
    const out = new Output(1);
    for (const line of describeLease(lease)) out.line(line);
    out.flush();
    if (!flag(args, "keep")) await dhcp.release();
  } catch (err) {
    if (failure !== null) throw failure;
    if (err instanceof DhcpError) throw new CliError("dhcp", err.message, EXIT.failure, { cause: err });
    throw err;
  } finally {
    unhook();
    dhcp.close();
    await cli.close();
  }
  return EXIT.ok;
}
