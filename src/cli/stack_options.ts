/**
 * What `stackts host`, `stackts nc` and `stackts ping` share: the options that
 * put a virtual host on an interface (`--iface`, `--netns`, `--ip`, `--ip6`,
 * `--gw`, `--gw6`, `--mac`, `--mtu`, `--trace`, `--dhcp`), checked here so bad input is
 * one line and exit 2 before any device is opened; opening that host
 * ({@link openHost}) with its trace on stderr, and with `--dhcp` its lease
 * ({@link startCliHost}); and Ctrl-C/SIGTERM.
 *
 * The trace is the stack's {@link TextTrace} (every frame as `stackts read`
 * prints it, each state change) with the sender's numbers written in as they
 * change ({@link SenderWatch}), buffered and flushed once per event-loop turn:
 * on stderr, so `nc`'s stdout stays the data.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { STACK_SPEC, openCliHost } from "./stack_options.ts";
 * const args = parseArgs(["--iface", "eth0", "--ip", "10.77.0.3/24", "--trace"], STACK_SPEC);
 * const session = openCliHost(args);
 * session.host.sockets.socket("inet", "stream");
 * session.close();
 * ```
 *
 * @module
 */
import { formatIp, formatMac, ipFamily, parseIp, parseMac } from "../../layers/addr.ts";
import { DhcpClient, DhcpError } from "../apps/dhcp.ts";
import { findDevice } from "../devices.ts";
import { CaptureError } from "../errors.ts";
import { LiveDevice } from "../device/live_device.ts";
import { Output } from "../format/output.ts";
import { openHost, type Host, type HostOptions } from "../stack/host.ts";
import { parseAddressSpec } from "../stack/interface.ts";
import type { TcpState } from "../stack/tcp/config.ts";
import type { Tcb } from "../stack/tcp/tcb.ts";
import { TextTrace, senderState, type TraceSink } from "../stack/trace.ts";
import { flag, intOption, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError, stderrLine } from "./errors.ts";

/** The options every stack command takes. `--iface` has no short form: ping's `-i` is its interval, as in iputils. */
export const STACK_SPEC: OptionSpec[] = [
  { name: "iface", value: "IF", help: "the interface our host lives on (required)" },
  { name: "netns", value: "NAME", help: "the interface lives in network namespace NAME (/run/netns/NAME)" },
  { name: "ip", value: "ADDR/PREFIX", help: "our IPv4 address (an IPv6 one is taken too); prefix default /24 (/64 for IPv6)" },
  { name: "ip6", value: "ADDR/PREFIX", help: "our IPv6 address (default prefix /64); fe80:: from the MAC is always there" },
  { name: "gw", value: "IP", help: "default gateway (IPv4, or IPv6 by its form); IPv6 also learns one from router advertisements" },
  { name: "gw6", value: "IP", help: "IPv6 default gateway, when --gw is the IPv4 one" },
  { name: "mac", value: "MAC", help: "our MAC (default: 02:53 and the last 4 bytes of our first address, e.g. 02:53:0a:4d:00:03)" },
  { name: "mtu", value: "N", help: "IP MTU (default: the interface's)" },
  { name: "trace", help: "print every frame in and out, state changes and the sender's cwnd/ssthresh/RTO/SACK holes on stderr" },
  { name: "dhcp", help: "take our IPv4 address, mask, router and DNS server by DHCP instead of --ip; renew at T1, release on exit" },
];

/** The paragraph the three commands' help shares. */
export const STACK_HELP = `Our host is a TCP/IP stack of our own (src/stack/), not the kernel's: it
needs an address no other host on the link has, and has its own MAC, so the
kernel of the machine it runs on ignores its frames (they are for another
MAC) and neither answers nor resets them. It answers ARP, neighbor
solicitations and echo requests for its addresses, and resets TCP
connections to closed ports, as a host does. Needs capture and injection
rights (root, or see 'stackts setcap').

--trace prints on stderr, one line each: every frame in (<) and out (>) as
'stackts read' prints it (sequence numbers absolute), each connection's state
changes ('# conn 1 10.77.0.3:40000 > 10.77.0.1:80 SYN-SENT -> ESTABLISHED'),
and the sender's cwnd, ssthresh, RTO and SACK holes whenever they change.
Times are seconds since the host came up.

--dhcp (instead of an IPv4 --ip): the host first takes a lease from a DHCP
server on the link (DISCOVER, OFFER, REQUEST, ACK from our own MAC, a random
one unless --mac), uses its address, mask and router, renews it at T1 and
releases it on exit; --trace shows the exchange.`;

/** A prefix default when none is written: /24 for IPv4, /64 for IPv6 (the usual LAN and SLAAC prefixes). */
function withPrefix(text: string, family: 4 | 6): string {
  return text.includes("/") ? text : `${text}/${family === 4 ? 24 : 64}`;
}

function address(option: string, text: string, family: 4 | 6 | null): { family: 4 | 6; spec: string } {
  const bare = text.split("/")[0]!;
  const f = family ?? ipFamily(bare);
  if (ipFamily(bare) !== f) throw new UsageError(option, `${text} is not an IPv${f} address`);
  const spec = withPrefix(text, f);
  try {
    parseAddressSpec(spec, f);
  } catch (err) {
    throw new UsageError(option, err instanceof Error ? err.message : String(err));
  }
  return { family: f, spec };
}

function gateway(option: string, text: string, family: 4 | 6 | null): Uint8Array {
  let b: Uint8Array;
  try {
    b = parseIp(text);
  } catch (err) {
    throw new UsageError(option, err instanceof Error ? err.message : String(err));
  }
  if (family !== null && b.length !== (family === 4 ? 4 : 16)) throw new UsageError(option, `${text} is not an IPv${family} address`);
  return b;
}

/**
 * The host the options describe, checked: throws {@link UsageError} (exit 2)
 * on a missing interface or address, or one that does not parse.
 *
 * @example
 * ```ts
 * const o = hostOptions(parseArgs(["--iface", "eth0", "--ip", "10.77.0.3"], STACK_SPEC));
 * o.ipv4; // ["10.77.0.3/24"]
 * o.mac;  // 02:53:0a:4d:00:03 as bytes
 * ```
 */
export function hostOptions(args: ParsedArgs): CliHostOptions {
  const iface = stringOption(args, "iface");
  if (iface === undefined || iface === "") throw new UsageError("--iface", "is required (the interface our host lives on)");
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  const ip = stringOption(args, "ip");
  if (ip !== undefined) {
    const a = address("--ip", ip, null);
    (a.family === 4 ? ipv4 : ipv6).push(a.spec);
  }
  const ip6 = stringOption(args, "ip6");
  if (ip6 !== undefined) ipv6.push(address("--ip6", ip6, 6).spec);
  const dhcp = flag(args, "dhcp");
  if (dhcp && ipv4.length > 0) throw new UsageError("--dhcp", "cannot be used with an IPv4 --ip (DHCP gives the address)");
  if (!dhcp && ipv4.length === 0 && ipv6.length === 0) throw new UsageError("--ip", "is required (our address, e.g. --ip 10.77.0.3/24 or --ip6 fd77::3/64, or --dhcp)");
  const options: CliHostOptions = { iface, ipv4, ipv6 };
  if (dhcp) options.dhcp = true;
  const netns = stringOption(args, "netns");
  if (netns !== undefined) options.netns = netns;
  const gw = stringOption(args, "gw");
  if (gw !== undefined) {
    const b = gateway("--gw", gw, null);
    if (b.length === 4) options.gateway4 = b;
    else options.gateway6 = b;
  }
  const gw6 = stringOption(args, "gw6");
  if (gw6 !== undefined) options.gateway6 = gateway("--gw6", gw6, 6);
  const mac = stringOption(args, "mac");
  if (mac !== undefined) {
    let b: Uint8Array;
    try {
      b = parseMac(mac);
    } catch (err) {
      throw new UsageError("--mac", err instanceof Error ? err.message : String(err));
    }
    // IEEE 802: the I/G bit (the low bit of the first octet) marks a group address, never a host's source.
    if ((b[0]! & 1) !== 0) throw new UsageError("--mac", `${mac} is a multicast address`);
    options.mac = b;
  }
  // With --dhcp and no address, the MAC is a random one (openHost's default): a lease is released on exit,
  // and two hosts on one link must not share a MAC. --mac keeps one across runs.
  const first = ipv4[0] ?? ipv6[0];
  if (first !== undefined) options.mac ??= addressMac(parseAddressSpec(first, ipv4.length > 0 ? 4 : 6).address);
  const mtu = intOption(args, "mtu", 576, 65535);
  if (mtu !== undefined) options.mtu = mtu;
  return options;
}

/**
 * The MAC a host gets when none is given: locally administered (RFC 7042
 * §2.1), 02:53 and the last four bytes of its first address (the way Docker
 * makes 02:42 + IPv4, with another second byte). The same address then has
 * the same MAC on every run, so a neighbor's ARP or NDP cache entry left
 * from the last run (kept for tens of seconds) still points at us.
 *
 * @example
 * ```ts
 * formatMac(addressMac(parseIp("10.77.0.3"))); // "02:53:0a:4d:00:03"
 * ```
 */
export function addressMac(address: Uint8Array): Uint8Array {
  const n = address.length;
  return Uint8Array.of(0x02, 0x53, address[n - 4]!, address[n - 3]!, address[n - 2]!, address[n - 1]!);
}

/** A host's options from the command line: {@link HostOptions} and whether its IPv4 address comes by DHCP. */
export interface CliHostOptions extends HostOptions {
  /** --dhcp: take the IPv4 address from a lease ({@link startCliHost}) */
  dhcp?: boolean | undefined;
}

/** Whether the options give us an address of `family` (an IPv4 one by DHCP counts). */
export function hasFamily(options: CliHostOptions, family: 4 | 6): boolean {
  if (family === 4 && options.dhcp === true) return true;
  return ((family === 4 ? options.ipv4 : options.ipv6) ?? []).length > 0;
}

/**
 * Trace lines on stderr: buffered, written once per event-loop turn (a busy
 * transfer prints thousands of lines a second) and at {@link flush}.
 */
export class TraceOutput {
  readonly #out = new Output(2);
  #scheduled = false;

  /** Take one line. */
  readonly line = (text: string): void => {
    this.#out.line(text);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  };

  /** Write what is pending now. */
  flush(): void {
    this.#scheduled = false;
    this.#out.flush();
  }
}

/** The part of the sender's state a line is printed for when it changes (srtt and flight move on every ACK). */
function senderKey(tcb: Tcb): string {
  return senderState(tcb).replace(/ srtt \S+ flight \d+/, "");
}

/**
 * A {@link TraceSink} that passes every event to `inner` and writes the
 * sender's numbers (cwnd, ssthresh, RTO, recovery, SACK holes) of each open
 * connection whenever they changed since last shown: checked before each
 * event, so the line lands between the ACK that grew the window and the
 * segments it let out. The stack itself reports the changes loss recovery
 * and timeouts make, with their reason; this shows slow start and
 * congestion avoidance too.
 *
 * @example
 * ```ts
 * const trace = new SenderWatch(new TextTrace((l) => console.error(l)), (l) => console.error(l));
 * ```
 */
export class SenderWatch implements TraceSink {
  readonly #inner: TextTrace;
  readonly #write: (line: string) => void;
  readonly #start: number;
  readonly #shown = new Map<Tcb, string>();
  #checkQueued = false;

  /** `write` takes the sender lines (the same place `inner` writes); `start` as for {@link TextTrace}. */
  constructor(inner: TextTrace, write: (line: string) => void, start = 0) {
    this.#inner = inner;
    this.#write = write;
    this.#start = start;
  }

  /** Write a line for each connection whose sender state changed. */
  check(now: number): void {
    for (const [tcb, last] of this.#shown) {
      const key = senderKey(tcb);
      if (key === last) continue;
      this.#shown.set(tcb, key);
      this.#write(`${((now - this.#start) / 1000).toFixed(6).padStart(11)} # conn ${tcb.id} ${senderState(tcb)}`);
    }
  }

  frame(now: number, direction: "in" | "out", bytes: Uint8Array, start: number, end: number): void {
    this.check(now);
    this.#inner.frame(now, direction, bytes, start, end);
    // The stack takes the frame after this returns; look again once it (and the answers it sent) are done,
    // so a change that nothing follows is still shown, at this frame's time.
    if (direction === "in" && !this.#checkQueued) {
      this.#checkQueued = true;
      queueMicrotask(() => {
        this.#checkQueued = false;
        this.check(now);
      });
    }
  }

  state(now: number, tcb: Tcb, from: TcpState, to: TcpState): void {
    this.check(now);
    this.#inner.state(now, tcb, from, to);
    if (to === "CLOSED" || to === "TIME-WAIT") this.#shown.delete(tcb);
    else if (!this.#shown.has(tcb) && to !== "SYN-SENT" && to !== "SYN-RECEIVED" && to !== "LISTEN") this.#shown.set(tcb, "");
    // The starting numbers, right under the line that says the connection is up.
    if (to === "ESTABLISHED") this.check(now);
  }

  sender(now: number, tcb: Tcb, why: string): void {
    this.check(now);
    this.#inner.sender(now, tcb, why);
    if (this.#shown.has(tcb)) this.#shown.set(tcb, senderKey(tcb));
  }

  drop(now: number, reason: string): void {
    this.check(now);
    this.#inner.drop(now, reason);
  }

  note(now: number, text: string): void {
    this.check(now);
    this.#inner.note(now, text);
  }
}

/** A host opened from the command line, with its trace. */
export interface CliHost {
  host: Host;
  /** the trace's output, when --trace was given */
  trace: TraceOutput | null;
  /** with --dhcp ({@link startCliHost}): the client keeping the lease */
  dhcp: DhcpClient | null;
  /** Call `handler` if the device fails (the interface went away, or went down). */
  onFailure(handler: (err: CliError) => void): void;
  /**
   * Close the host (device and stack) and flush the trace; safe to call
   * twice. With a DHCP lease, the lease is released first (the device closes
   * once the RELEASE has left, within a second): await it.
   */
  close(): Promise<void>;
}

/**
 * Open the host the options describe (see {@link hostOptions}), tracing on
 * stderr with `--trace`. Device failures (no such interface, no permission,
 * no such namespace) become one-line {@link CliError}s naming the interface.
 */
export function openCliHost(args: ParsedArgs, options: CliHostOptions = hostOptions(args)): CliHost {
  let host: Host;
  if (options.mtu === undefined) {
    // Linux's loopback has an MTU of 65536, which no IP datagram can use (its length field stops at 65535)
    // and the stack refuses: take 65535 there.
    let mtu: number | null | undefined;
    try {
      mtu = findDevice(options.iface, options.netns === undefined ? {} : { netns: options.netns })?.mtu;
    } catch {
      // no such namespace: openHost says so
    }
    if (typeof mtu === "number" && mtu > 65535) options = { ...options, mtu: 65535 };
  }
  // A trace shows each frame as the wire carried it (as tcpdump beside it does): no GRO then.
  if (flag(args, "trace")) options = { ...options, gro: false };
  try {
    host = openHost(options);
  } catch (err) {
    throw hostFailure(err, options.iface);
  }
  let out: TraceOutput | null = null;
  if (flag(args, "trace")) {
    // Set before the stack's first turn (a timer after this returns), so nothing is missed;
    // times count from now, when the host came up.
    out = new TraceOutput();
    const start = host.driver.now;
    host.stack.trace = new SenderWatch(new TextTrace(out.line, start), out.line, start);
  }
  let closing: Promise<void> | null = null;
  const device = host.device;
  const cli: CliHost = {
    host,
    trace: out,
    dhcp: null,
    onFailure(handler) {
      if (device instanceof LiveDevice) device.capture.onError((err) => handler(new CliError(device.name, err.message, EXIT.failure, { cause: err })));
    },
    close() {
      closing ??= (async () => {
        // Connections first, while the leased address is still ours to send from and receive on.
        await host.endConnections();
        const dhcp = cli.dhcp;
        if (dhcp !== null) {
          try {
            await dhcp.release();
          } finally {
            dhcp.close();
          }
        }
        host.close();
        out?.flush();
      })();
      return closing;
    },
  };
  return cli;
}

/**
 * {@link openCliHost}, then with `--dhcp` a lease first (DISCOVER, OFFER,
 * REQUEST, ACK from our MAC; {@link DhcpClient}): the stack gets its
 * address, prefix and router, renews at T1, rebinds at T2, and `close()`
 * releases it. A lease that ends while the command runs is said on stderr.
 * Without `--dhcp` it is {@link openCliHost}. Every command that takes
 * {@link STACK_SPEC} opens its host through this to get `--dhcp` for free.
 *
 * @example
 * ```ts
 * const cli = await startCliHost(args);
 * cli.dhcp?.lease?.dns; // the DNS servers the lease named
 * await cli.close(); // RELEASE, then the device closes
 * ```
 */
export async function startCliHost(args: ParsedArgs, options: CliHostOptions = hostOptions(args)): Promise<CliHost> {
  const cli = openCliHost(args, options);
  if (options.dhcp !== true) return cli;
  const dhcp = new DhcpClient(cli.host, { timeoutMs: DHCP_TIMEOUT_MS });
  try {
    await dhcp.acquire();
  } catch (err) {
    dhcp.close();
    await cli.close();
    if (err instanceof DhcpError) throw new CliError("dhcp", err.message, EXIT.failure, { cause: err });
    throw err;
  }
  dhcp.onEvent = (event, lease) => {
    if (event === "expired" || event === "refused") stderrLine(`stackts: dhcp : ${event === "expired" ? "the lease ran out" : "the server refused the renewal"}; ${lease.address} is no longer ours`);
  };
  cli.dhcp = dhcp;
  return cli;
}

/**
 * The DNS server a command asks when none is given: the lease's first DNS
 * server (with --dhcp), else the gateway (--gw, IPv4 first), else null.
 *
 * @example
 * ```ts
 * const server = defaultDnsServer(cli, options) ?? fail("give --server");
 * await resolveHost(cli.host, "www.example.test", { server });
 * ```
 */
export function defaultDnsServer(cli: CliHost, options: CliHostOptions): string | null {
  const lease = cli.dhcp?.lease;
  if (lease !== undefined && lease !== null) return lease.dns[0] ?? lease.router;
  const gw = options.gateway4 ?? options.gateway6;
  if (gw === undefined) return null;
  return typeof gw === "string" ? gw : formatIp(gw);
}

/** How long `--dhcp` waits for a lease before the command fails. */
const DHCP_TIMEOUT_MS = 30_000;

/** A failure to bring the host up, in the CLI's one-line form. */
export function hostFailure(err: unknown, iface: string): unknown {
  if (err instanceof CaptureError) {
    if (err.code === "ENODEV") return new CliError(iface, "no such interface (see 'stackts devices')", EXIT.failure, { cause: err });
    return new CliError(err.device ?? iface, err.message, EXIT.failure, { cause: err });
  }
  if (err instanceof RangeError) return new UsageError(iface, err.message);
  return err;
}

/** Our addresses as `ip addr` writes them: `10.77.0.3/24 fd77::3/64 fe80::.../64`. */
export function describeHost(host: Host): string {
  const i = host.stack.iface;
  const parts = [...i.ipv4, ...i.ipv6].map((a) => `${formatIp(a.address)}/${a.prefixLength}`);
  parts.push(`${formatIp(i.linkLocal)}/64`);
  return `${formatMac(i.mac)} ${parts.join(" ")}`;
}

/**
 * Call `handler` on SIGINT and SIGTERM until the returned function is called.
 * While it is installed the signals no longer end the process: the command
 * closes its sockets and device and exits on its own.
 */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  const fn = (signal: NodeJS.Signals): void => handler(signal);
  process.on("SIGINT", fn);
  process.on("SIGTERM", fn);
  return () => {
    process.off("SIGINT", fn);
    process.off("SIGTERM", fn);
  };
}
