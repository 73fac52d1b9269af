/**
 * `stackts host --iface IF --ip ADDR/PREFIX [--ip6 ADDR/PREFIX] [--gw IP] [--mac MAC]`:
 * bring our own TCP/IP stack up as a host on the link and keep it answering
 * (ARP, neighbor solicitations, echo requests; resets for closed TCP ports,
 * port unreachables for closed UDP ports) until Ctrl-C or SIGTERM. A thin
 * shell over {@link openHost}.
 *
 * Prints one line once up (the MAC and every address), and with `--trace`
 * every frame and event on stderr. On a signal it closes the device and
 * exits 0, after one line of counters on stderr.
 *
 * @module
 */
import { formatHelp, parseArgs, type OptionSpec } from "./args.ts";
import { EXIT, UsageError, stderrLine, type CliError } from "./errors.ts";
import { Output } from "../format/output.ts";
import { STACK_HELP, STACK_SPEC, describeHost, onStopSignal, startCliHost } from "./stack_options.ts";

const SPEC: OptionSpec[] = [...STACK_SPEC];

export const help = formatHelp(
  "stackts host --iface IF --ip ADDR/PREFIX [--ip6 ADDR/PREFIX] [--gw IP] [--mac MAC] [options]",
  `Bring a virtual host up on IF and keep it answering until Ctrl-C or SIGTERM:
ARP requests and IPv6 neighbor solicitations for its addresses, echo requests
(so 'ping' reaches it), and resets for TCP connections to its (closed) ports.
Once up it prints one line on stdout: the interface, our MAC and addresses.
On Ctrl-C or SIGTERM it closes the device, prints what it counted on stderr
and exits 0.

${STACK_HELP}`,
  SPEC,
);

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "unexpected argument (see 'stackts host --help')");
  const session = await startCliHost(args);
  const { host } = session;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const unhook = onStopSignal(() => stop());
  let failure: CliError | null = null;
  session.onFailure((err) => {
    failure ??= err;
    stop();
  });
  try {
    const out = new Output(1);
    out.line(`host up on ${host.device.name}: ${describeHost(host)}`);
    out.flush();
    await stopped;
  } finally {
    unhook();
    await session.close();
  }
  if (failure !== null) throw failure;
  const s = host.stack.stats;
  const c = host.stack.control.stats;
  stderrLine(`${s.framesIn} frames in, ${s.framesOut} out; sent ${c.arpReplies} ARP replies, ${c.neighborAdverts} neighbor advertisements, ${c.echoReplies} echo replies`);
  return EXIT.ok;
}
