/**
 * `stackts ping [options] HOST`: ICMP (ICMPv6 for an IPv6 HOST) echo requests
 * from our own stack's address, printed the way iputils' `ping` prints
 * them: a header line, a line per reply (`64 bytes from 10.77.0.1:
 * icmp_seq=1 ttl=64 time=0.412 ms`), and the statistics block (`N packets
 * transmitted, M received, X% packet loss, time Tms` and `rtt
 * min/avg/max/mdev = ...`). Exit code as iputils: 0 when replies came, 1
 * when none did (or, with -c and -w both, fewer than -c by the deadline).
 *
 * @module
 */
import { formatIp, ipFamily, parseIp } from "../../layers/addr.ts";
import type { EchoReply } from "../stack/control.ts";
import { systemRandom } from "../stack/random.ts";
import { Output } from "../format/output.ts";
import { flag, formatHelp, intOption, parseArgs, refuse, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { STACK_HELP, STACK_SPEC, hasFamily, hostOptions, onStopSignal, startCliHost } from "./stack_options.ts";

const SPEC: OptionSpec[] = [
  ...STACK_SPEC,
  { name: "count", short: "c", value: "N", help: "send N requests, then stop once all are answered or after -W (default: until Ctrl-C)" },
  { name: "interval", short: "i", value: "SECS", help: "wait SECS between requests (default 1; fractions allowed, at least 0.01)" },
  { name: "timeout", short: "W", value: "SECS", help: "with no reply at all, wait SECS for one after the last request (default 10); else twice the longest RTT (at least 0.1 s)" },
  { name: "deadline", short: "w", value: "SECS", help: "stop after SECS in all, however many were sent" },
  { name: "size", short: "s", value: "BYTES", help: "data bytes per request (default 56: 64 with the ICMP header)" },
  { name: "quiet", short: "q", help: "print only the header and the statistics" },
];

export const help = formatHelp(
  "stackts ping --iface IF --ip ADDR/PREFIX [options] HOST",
  `Send echo requests to HOST (an IPv4 or IPv6 address; no name lookup) from our
own host's address, one a second, and print each reply as iputils' ping
does, then the statistics when -c replies came, at -w, or at Ctrl-C/SIGTERM.
Exit code 0 when a reply came, 1 when none did (with -c and -w both: fewer
than -c by the deadline), 2 for bad options.

${STACK_HELP}`,
  SPEC,
);

/** Seconds as a decimal (iputils takes fractions for -i, -W and -w), in ms. */
function secondsOption(args: ParsedArgs, name: string, minMs: number): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const spec = args.spelled.get(name) ?? `--${name}`;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v)) throw new UsageError(spec, `expected seconds, got '${v}'`);
  const ms = Number(v) * 1000;
  if (ms < minMs || ms > 2_147_483) throw new UsageError(spec, `${v} is out of range (${minMs / 1000}..2147 seconds)`);
  return ms;
}

/**
 * iputils' RTT text (ping.c print_timing): three decimals under 1 ms, two
 * under 10, one under 100, none above; from whole microseconds.
 *
 * @example
 * ```ts
 * rttText(412);   // "0.412"
 * rttText(12345); // "12.3"
 * ```
 */
export function rttText(us: number): string {
  if (us >= 100000 - 50) return `${Math.floor((us + 500) / 1000)}`;
  if (us >= 10000 - 5) return `${Math.floor((us + 50) / 1000)}.${Math.floor(((us + 50) % 1000) / 100)}`;
  if (us >= 1000) return `${Math.floor((us + 5) / 1000)}.${String(Math.floor(((us + 5) % 1000) / 10)).padStart(2, "0")}`;
  return `${Math.floor(us / 1000)}.${String(us % 1000).padStart(3, "0")}`;
}

/** `%ld.%03ld` of microseconds, as the summary writes each figure. */
function msText(us: number): string {
  return `${Math.floor(us / 1000)}.${String(us % 1000).padStart(3, "0")}`;
}

/** C's `%g` of a float: six significant digits, trailing zeros dropped. */
function percentText(x: number): string {
  return String(Number(Math.fround(x).toPrecision(6)));
}

/**
 * What ping counted, and its summary in iputils' words (ping.c finish()).
 *
 * @example
 * ```ts
 * const s = new PingStats();
 * s.transmitted = 2;
 * s.reply(412, false);
 * s.summary(1003); // ["2 packets transmitted, 1 received, 50% packet loss, time 1003ms", "rtt min/avg/max/mdev = 0.412/0.412/0.412/0.000 ms"]
 * ```
 */
export class PingStats {
  transmitted = 0;
  received = 0;
  duplicates = 0;
  #min = Infinity;
  #max = 0;
  #sum = 0;
  #sum2 = 0;

  /** Count a reply that took `us` microseconds (a duplicate counts in the times too, as in iputils). */
  reply(us: number, duplicate: boolean): void {
    if (duplicate) this.duplicates++;
    else this.received++;
    this.#min = Math.min(this.#min, us);
    this.#max = Math.max(this.#max, us);
    this.#sum += us;
    this.#sum2 += us * us;
  }

  /** The longest round trip so far, µs. */
  get max(): number {
    return this.#max;
  }

  /** The statistics block's lines (without the header line). */
  summary(elapsedMs: number): string[] {
    let line = `${this.transmitted} packets transmitted, ${this.received} received`;
    if (this.duplicates > 0) line += `, +${this.duplicates} duplicates`;
    if (this.transmitted > 0) {
      line += `, ${percentText(((this.transmitted - this.received) * 100) / this.transmitted)}% packet loss`;
      line += `, time ${Math.round(elapsedMs)}ms`;
    }
    const lines = [line];
    const n = this.received + this.duplicates;
    if (n > 0) {
      const avg = Math.floor(this.#sum / n);
      const mdev = Math.floor(Math.sqrt(Math.max(0, Math.floor(this.#sum2 / n) - avg * avg)));
      lines.push(`rtt min/avg/max/mdev = ${msText(this.#min)}/${msText(avg)}/${msText(this.#max)}/${msText(mdev)} ms`);
    }
    return lines;
  }
}

/** The data of every request: a count up from 0x10 as iputils fills past its timestamp (the time is kept here, not in the packet). */
function payload(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i + 16) & 0xff;
  return data;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length !== 1) {
    throw new UsageError("ping", args.positionals.length === 0 ? "which HOST? (see 'stackts ping --help')" : `one HOST only, got ${args.positionals.length}`);
  }
  const target = args.positionals[0]!;
  let dst: Uint8Array;
  try {
    dst = parseIp(target);
  } catch {
    throw new UsageError(target, "not an IP address (stackts ping does no name lookup)");
  }
  const family = ipFamily(target);
  const options = hostOptions(args);
  if (!hasFamily(options, family)) throw new UsageError(family === 4 ? "--ip" : "--ip6", `an IPv${family} address of ours is needed to ping ${target}`);
  const count = intOption(args, "count", 1);
  const intervalMs = secondsOption(args, "interval", 10) ?? 1000;
  const timeoutMs = secondsOption(args, "timeout", 1) ?? 10_000;
  const deadlineMs = secondsOption(args, "deadline", 1);
  // Options that would do nothing here are refused, not ignored.
  refuse(args, "timeout", count === undefined, "does nothing without -c (it is the wait after the last of -c requests)");
  refuse(args, "interval", count === 1, "does nothing with -c 1 (one request)");
  const size = intOption(args, "size", 0, family === 4 ? 65507 : 65527) ?? 56;
  const quiet = flag(args, "quiet");
  const data = payload(size);
  const name = formatIp(dst);

  const session = await startCliHost(args, options);
  const { host } = session;
  const unreachable = new CliError(`ping ${name}`, `Network is unreachable (no route: ${name} is off our prefixes and there is no gateway; give --gw)`);
  // As iputils: no route is an error before the first line (it fails at connect()).
  if (host.stack.iface.nextHop(dst) === null) {
    await session.close();
    throw unreachable;
  }
  const clock = host.device.clock;
  const out = new Output(1);
  const stats = new PingStats();
  const identifier = systemRandom().u32() & 0xffff;
  const endpoint = host.sockets.openPing(identifier);
  /** send time of each sequence number, and whether it was answered */
  const sentAt = new Map<number, number>();
  const answered = new Set<number>();
  const start = clock.now();
  let sequence = 0;
  let failure: CliError | null = null;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let done = false;
  const cancels: (() => void)[] = [];
  const end = (): void => {
    if (done) return;
    done = true;
    finish();
  };

  out.line(family === 4 ? `PING ${name} (${name}) ${size}(${size + 28}) bytes of data.` : `PING ${name}(${name}) ${size} data bytes`);
  out.flush();

  const onReply = (r: EchoReply): void => {
    const t = sentAt.get(r.sequence);
    if (t === undefined) return; // not one of ours (an old run's, or a sequence number we never sent)
    const us = Math.max(0, Math.round((r.at - t) * 1000));
    const duplicate = answered.has(r.sequence);
    answered.add(r.sequence);
    stats.reply(us, duplicate);
    if (!quiet) {
      out.line(`${8 + r.data.length} bytes from ${formatIp(r.from)}: icmp_seq=${r.sequence} ttl=${r.ttl} time=${rttText(us)} ms${duplicate ? " (DUP!)" : ""}`);
      out.flush();
    }
    // iputils ends as soon as the count is answered.
    if (count !== undefined && stats.received >= count) end();
  };
  endpoint.owner = {
    wake() {
      for (let r = endpoint.replies.shift(); r !== undefined; r = endpoint.replies.shift()) onReply(r);
    },
  };

  const send = (): void => {
    if (done) return;
    sequence++;
    const seq = sequence & 0xffff;
    const routed = host.driver.run((now) => {
      sentAt.set(seq, now);
      return host.stack.ping(dst, identifier, seq, data, now);
    });
    if (!routed) {
      failure = unreachable;
      end();
      return;
    }
    stats.transmitted++;
    if (count !== undefined && stats.transmitted >= count) {
      // The last request: wait for its reply, twice the longest round trip seen, or -W with none seen yet.
      // (At least 100 ms: our round trips run through JavaScript's event loop, and one slower than the rest is no loss.)
      const wait = stats.received > 0 ? Math.max(2 * (stats.max / 1000), 100) : timeoutMs;
      cancels.push(clock.setTimer(wait, end));
      return;
    }
    cancels.push(clock.setTimer(intervalMs, send));
  };

  const unhook = onStopSignal(end);
  session.onFailure((err) => {
    failure ??= err;
    end();
  });
  if (deadlineMs !== undefined) cancels.push(clock.setTimer(deadlineMs, end));
  try {
    send();
    await finished;
  } finally {
    unhook();
    for (const c of cancels) c();
    host.stack.control.closePing(endpoint);
    await session.close();
  }
  if (failure !== null) throw failure;
  out.line("");
  out.line(`--- ${name} ping statistics ---`);
  for (const l of stats.summary(clock.now() - start)) out.line(l);
  out.flush();
  // iputils: 1 when nothing came back, or with -c and -w both, fewer than -c by the deadline.
  if (stats.received === 0) return EXIT.failure;
  if (count !== undefined && deadlineMs !== undefined && stats.received < count) return EXIT.failure;
  return EXIT.ok;
}
