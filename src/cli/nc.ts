/**
 * `stackts nc`: netcat over our own TCP/IP stack. `stackts nc HOST PORT`
 * connects; `stackts nc -l PORT` listens and serves one connection; `-u`
 * speaks UDP. Standard input goes to the peer, what the peer sends goes to
 * standard output, untouched.
 *
 * TCP, as the issue asks and netcat does: at EOF on stdin the write side is
 * shut down (a FIN), and nc exits once the peer has closed its side and what
 * we sent is acknowledged. UDP has no close: each read of stdin leaves as
 * datagrams of at most one frame, and nc quits `-q` seconds after EOF on
 * stdin (a client by default after 1 s; a listener runs until Ctrl-C).
 *
 * Written with the socket calls of src/stack/sockets.ts (`socket`, `bind`,
 * `listen`, `accept`, `connect`, `send`, `recv`, `shutdown`, `close`), as a
 * reader of Beej's guide would write netcat.
 *
 * @module
 */
import { formatIp, ipFamily, parseIp } from "../../layers/addr.ts";
import { Output } from "../format/output.ts";
import { SocketError } from "../stack/errors.ts";
import type { Host } from "../stack/host.ts";
import type { Family, Socket } from "../stack/sockets.ts";
import type { TcpState } from "../stack/tcp/config.ts";
import { flag, formatHelp, intOption, parseArgs, refuse, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError, stderrLine } from "./errors.ts";
import { STACK_HELP, STACK_SPEC, hasFamily, hostOptions, onStopSignal, startCliHost } from "./stack_options.ts";

const SPEC: OptionSpec[] = [
  ...STACK_SPEC,
  { name: "listen", short: "l", help: "listen on PORT (or -p) and serve one connection (UDP: the first sender)" },
  { name: "udp", short: "u", help: "UDP instead of TCP" },
  { name: "source-port", short: "p", value: "PORT", help: "our port (default: an ephemeral one; with -l the port to listen on)" },
  { name: "wait", short: "w", value: "SECS", help: "give up a connection not established in SECS (default 10)" },
  { name: "quit", short: "q", value: "SECS", help: "after EOF on stdin, quit after SECS (UDP client default 1; otherwise wait for the peer)" },
  { name: "ipv4", short: "4", help: "with -l: listen on IPv4 only" },
  { name: "ipv6", short: "6", help: "with -l: listen on IPv6 only" },
  { name: "verbose", short: "v", help: "say on stderr when listening, connected and accepted" },
];

export const help = formatHelp(
  "stackts nc --iface IF --ip ADDR/PREFIX [options] HOST PORT\n       stackts nc --iface IF --ip ADDR/PREFIX -l [options] PORT",
  `netcat over our own TCP/IP stack. 'stackts nc HOST PORT' connects to HOST
(an IPv4 or IPv6 address; no name lookup); '-l PORT' listens on our
addresses (IPv4 and IPv6 as given) and serves one connection. Standard
input is sent to the peer, what the peer sends is written to standard
output, byte for byte.

TCP: at EOF on standard input our side is shut down (FIN), and nc exits once
the peer has closed its side and everything we sent is acknowledged (at
most 5 s more). A connection not up after -w seconds (default 10) fails. With
-q, nc quits SECS after EOF on standard input whatever the peer does.

UDP (-u): each read of standard input leaves as datagrams of at most one
frame (the MTU less the IP and UDP headers); received datagrams go to
standard output. A client quits -q seconds (default 1) after EOF on standard
input; a listener answers the first sender and runs until Ctrl-C or SIGTERM
(or -q).

Ctrl-C or SIGTERM: a connection still open is reset (nothing would be left
to finish closing it), standard output is flushed, exit code 0. Exit code 1
when the connection fails (refused, timed out, reset), 2 for bad options.

${STACK_HELP}`,
  SPEC,
);

/** How long we wait, at the end, for the peer to acknowledge what we sent and our FIN. */
const LINGER_MS = 5000;

/** A port from the command line: 1..65535 (0 only means "any" to bind, never to a peer). */
function parsePort(what: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(what, `expected a port number (1..65535), got '${text}'`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new UsageError(what, `port ${text} is out of range (1..65535)`);
  return n;
}

function secondsMs(args: ParsedArgs, name: string): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const spec = args.spelled.get(name) ?? `--${name}`;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v)) throw new UsageError(spec, `expected seconds, got '${v}'`);
  const ms = Number(v) * 1000;
  if (ms > 2_147_483_647) throw new UsageError(spec, `${v} is out of range`);
  return ms;
}

/** What the command was asked to do, checked. */
interface Plan {
  listen: boolean;
  udp: boolean;
  /** the peer (connect) */
  remote: { address: string; family: 4 | 6; port: number } | null;
  /** our port: the listening port, or the source port (0: ephemeral) */
  localPort: number;
  families: (4 | 6)[];
  waitMs: number;
  quitMs: number | undefined;
  verbose: boolean;
}

function plan(args: ParsedArgs): Plan {
  const listen = flag(args, "listen");
  const udp = flag(args, "udp");
  const sport = stringOption(args, "source-port");
  let localPort = sport === undefined ? 0 : parsePort(args.spelled.get("source-port") ?? "-p", sport);
  const pos = args.positionals;
  let remote: Plan["remote"] = null;
  if (listen) {
    if (pos.length > 1 || (pos.length === 1 && sport !== undefined)) throw new UsageError(pos[pos.length - 1]!, "unexpected argument (listen: 'stackts nc -l PORT')");
    if (pos.length === 1) localPort = parsePort("PORT", pos[0]!);
    if (localPort === 0) throw new UsageError("-l", "which PORT to listen on? ('stackts nc -l PORT')");
  } else {
    if (pos.length !== 2) throw new UsageError("nc", pos.length < 2 ? "HOST and PORT are needed (see 'stackts nc --help')" : `unexpected argument '${pos[2]}'`);
    const host = pos[0]!;
    try {
      parseIp(host);
    } catch {
      throw new UsageError(host, "not an IP address (stackts nc does no name lookup)");
    }
    remote = { address: formatIp(parseIp(host)), family: ipFamily(host), port: parsePort("PORT", pos[1]!) };
  }
  const only4 = flag(args, "ipv4");
  const only6 = flag(args, "ipv6");
  if (only4 && only6) throw new UsageError("-4", "cannot be used with -6");
  // Options that would do nothing here are refused, not ignored.
  for (const f of ["ipv4", "ipv6"]) refuse(args, f, !listen, "does nothing without -l (a client's family is its HOST's)");
  refuse(args, "wait", listen || udp, `does nothing with ${listen ? "-l" : "-u"} (it limits a TCP client's handshake)`);
  const families: (4 | 6)[] = only4 ? [4] : only6 ? [6] : [4, 6];
  return {
    listen,
    udp,
    remote,
    localPort,
    families,
    waitMs: secondsMs(args, "wait") ?? 10_000,
    quitMs: secondsMs(args, "quit") ?? (udp && !listen ? 1000 : undefined),
    verbose: flag(args, "verbose"),
  };
}

function familyName(f: 4 | 6): Family {
  return f === 4 ? "inet" : "inet6";
}

/** A socket call's failure in the one-line form: `stackts: <what> : Connection refused`. */
function socketFailure(what: string, err: unknown): unknown {
  if (err instanceof SocketError) {
    const why = err.message.replace(/^\w+: /, "").replace(/ \([A-Z]+\)(: .*)?$/, "");
    return new CliError(what, why, EXIT.failure, { cause: err });
  }
  return err;
}

/** Standard input, chunk by chunk, with a way to stop reading it. */
class Stdin {
  #stopped = false;

  async *chunks(): AsyncGenerator<Uint8Array> {
    const input = process.stdin;
    try {
      for await (const chunk of input) {
        if (this.#stopped) return;
        const b = chunk as Buffer;
        yield new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
    } catch (err) {
      if (!this.#stopped) throw err;
    }
  }

  /** Stop reading (the process may then exit with stdin still open). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    process.stdin.destroy();
  }
}

/** Everything one run holds, and how it ends. */
class Session {
  readonly host: Host;
  readonly out = new Output(1);
  readonly stdin = new Stdin();
  readonly plan: Plan;
  #finish: () => void = () => {};
  readonly finished = new Promise<void>((resolve) => (this.#finish = resolve));
  done = false;
  /** the first failure, reported when it ends */
  failure: unknown = null;
  /** reset what is still open rather than close it (a signal, or stdout's reader gone) */
  reset = false;
  readonly #timers: (() => void)[] = [];

  constructor(host: Host, plan: Plan) {
    this.host = host;
    this.plan = plan;
  }

  end(failure: unknown = null): void {
    if (failure !== null && this.failure === null && !this.done) this.failure = failure;
    if (this.done) return;
    this.done = true;
    this.#finish();
  }

  /** Run `fn` in `ms` (unless it ended first); returns the cancel. */
  after(ms: number, fn: () => void): () => void {
    const cancel = this.host.device.clock.setTimer(ms, fn);
    this.#timers.push(cancel);
    return cancel;
  }

  say(text: string): void {
    if (this.plan.verbose) stderrLine(text);
  }

  cancelTimers(): void {
    for (const c of this.#timers) c();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const p = plan(args);
  const options = hostOptions(args);
  if (p.remote !== null && !hasFamily(options, p.remote.family)) {
    throw new UsageError(p.remote.family === 4 ? "--ip" : "--ip6", `an IPv${p.remote.family} address of ours is needed to reach ${p.remote.address}`);
  }
  if (p.listen) {
    p.families = p.families.filter((f) => hasFamily(options, f));
    if (p.families.length === 0) throw new UsageError(flag(args, "ipv4") ? "-4" : "-6", "no address of ours in that family (give --ip or --ip6)");
  }
  const cli = await startCliHost(args, options);
  const s = new Session(cli.host, p);
  const sockets: Socket[] = [];
  const unhook = onStopSignal(() => {
    s.reset = true;
    s.end();
  });
  cli.onFailure((err) => s.end(err));
  try {
    const work = p.udp ? udp(s, sockets) : tcp(s, sockets);
    work.catch((err: unknown) => s.end(err));
    await s.finished;
    // A signal, or an error: whatever is still open is reset, not left half-closed behind a stack that is going away.
    for (const sock of sockets) {
      if (s.reset || s.failure !== null) sock.abort();
      else sock.close();
    }
  } finally {
    unhook();
    s.stdin.stop();
    s.cancelTimers();
    s.out.flush();
    await cli.close();
  }
  if (s.failure !== null) throw s.failure;
  return EXIT.ok;
}

// ---- TCP ----

async function tcp(s: Session, sockets: Socket[]): Promise<void> {
  const p = s.plan;
  let sock: Socket;
  let what: string;
  if (p.remote !== null) {
    const r = p.remote;
    what = `connect to ${r.address} port ${r.port} (tcp)`;
    sock = s.host.sockets.socket(familyName(r.family), "stream");
    sockets.push(sock);
    if (p.localPort !== 0) sock.bind("", p.localPort);
    // -w: the stack's own SYN retries take minutes (RFC 6298 backoff), netcat users expect seconds.
    const timeout = s.after(p.waitMs, () => s.end(new CliError(what, "Connection timed out")));
    try {
      await sock.connect(r.address, r.port);
    } catch (err) {
      throw socketFailure(what, err);
    } finally {
      timeout(); // -w is for the handshake only: a connection may then be quiet as long as it likes
    }
    if (s.done) return;
    s.say(`Connection to ${r.address} ${r.port} port [tcp/*] succeeded!`);
    what = `${r.address} port ${r.port} (tcp)`;
  } else {
    const listeners: Socket[] = [];
    try {
      // Every bind before any listen: Socket.bind refuses a port another family already listens on
      // (the stack's listeners themselves are per family; see the report on test/cli_stack.test.ts).
      for (const f of p.families) {
        const l = s.host.sockets.socket(familyName(f), "stream");
        sockets.push(l);
        l.bind("", p.localPort);
        listeners.push(l);
      }
      for (const l of listeners) l.listen(1);
    } catch (err) {
      throw socketFailure(`listen on port ${p.localPort}`, err);
    }
    for (const l of listeners) s.say(`Listening on ${l.family === "inet" ? "0.0.0.0" : "::"} ${p.localPort}`);
    const accepts = listeners.map((l) => l.accept());
    for (const a of accepts) a.catch(() => {}); // the loser's accept fails when its listener closes
    sock = await Promise.race(accepts);
    // One connection: stop listening (a later SYN is refused, as netcat without -k does).
    for (const l of listeners) {
      l.close();
      sockets.splice(sockets.indexOf(l), 1);
    }
    sockets.push(sock);
    const peer = sock.getpeername();
    s.say(`Connection received on ${peer.address} ${peer.port}`);
    what = `${peer.address} port ${peer.port} (tcp)`;
  }
  await transfer(s, sock, what);
}

/** Both directions of one TCP connection until the peer closes (or -q, or a failure). */
async function transfer(s: Session, sock: Socket, what: string): Promise<void> {
  let wroteEof = false;
  const sending = (async () => {
    for await (const chunk of s.stdin.chunks()) {
      if (s.done) return;
      await sock.send(chunk);
    }
    if (s.done) return;
    sock.shutdown("write");
    wroteEof = true;
    if (s.plan.quitMs !== undefined) s.after(s.plan.quitMs, () => s.end());
  })();
  // A send fails only when the connection did (the receive side reports the same error); stop reading stdin then.
  sending.catch((err: unknown) => {
    s.stdin.stop();
    if (!(err instanceof SocketError)) s.end(err);
  });
  try {
    for (;;) {
      const data = await sock.recv(65536);
      if (s.done) return;
      if (data.length === 0) break;
      s.out.bytes(data);
      // stdout's reader went away (EPIPE): what the peer still sends has nowhere to go, so reset (a kernel
      // resets when a socket closes with data unread, and this data would arrive after our close).
      if (s.out.closed) return void ((s.reset = true), s.end());
    }
  } catch (err) {
    throw socketFailure(what, err);
  }
  // The peer closed. Stop reading stdin, close our side if it is open, and let what we sent be acknowledged.
  s.out.flush();
  s.stdin.stop();
  const tcb = sock.connection;
  if (!wroteEof) sock.close();
  if (tcb !== null) await linger(s, () => tcb.state);
  s.end();
}

/** Until our data and FIN are acknowledged (or the connection is gone), at most {@link LINGER_MS}. */
function linger(s: Session, state: () => TcpState): Promise<void> {
  const settled = (): boolean => {
    const st = state();
    return st === "CLOSED" || st === "TIME-WAIT" || st === "FIN-WAIT-2";
  };
  return new Promise((resolve) => {
    const clock = s.host.device.clock;
    const limit = clock.now() + LINGER_MS;
    const check = (): void => {
      if (s.done || settled() || clock.now() >= limit) resolve();
      else s.after(10, check);
    };
    check();
  });
}

// ---- UDP ----

/** The largest datagram that fits one frame: MTU less the IP and UDP headers. */
function maxDatagram(s: Session, family: 4 | 6): number {
  return s.host.stack.iface.mtu - (family === 4 ? 20 : 40) - 8;
}

async function udp(s: Session, sockets: Socket[]): Promise<void> {
  const p = s.plan;
  let sock: Socket;
  let family: 4 | 6;
  let what: string;
  if (p.remote !== null) {
    const r = p.remote;
    family = r.family;
    what = `${r.address} port ${r.port} (udp)`;
    sock = s.host.sockets.socket(familyName(r.family), "dgram");
    sockets.push(sock);
    try {
      sock.bind("", p.localPort);
      await sock.connect(r.address, r.port);
    } catch (err) {
      throw socketFailure(what, err);
    }
  } else {
    const bound: { sock: Socket; family: 4 | 6 }[] = [];
    for (const f of p.families) {
      const b = s.host.sockets.socket(familyName(f), "dgram");
      sockets.push(b);
      try {
        b.bind("", p.localPort);
      } catch (err) {
        throw socketFailure(`listen on port ${p.localPort} (udp)`, err);
      }
      bound.push({ sock: b, family: f });
      s.say(`Bound on ${f === 4 ? "0.0.0.0" : "::"} ${p.localPort}`);
    }
    // The first datagram names the peer (netcat connects its UDP socket to it).
    const firsts = bound.map((b) => b.sock.recvfrom(65536).then((d) => ({ ...d, ...b })));
    for (const f of firsts) f.catch(() => {});
    const first = await Promise.race(firsts);
    if (s.done) return;
    for (const b of bound) {
      if (b.sock === first.sock) continue;
      b.sock.close();
      sockets.splice(sockets.indexOf(b.sock), 1);
    }
    sock = first.sock;
    family = first.family;
    s.say(`Connection received on ${first.from.address} ${first.from.port}`);
    what = `${first.from.address} port ${first.from.port} (udp)`;
    s.out.bytes(first.data);
    await sock.connect(first.from.address, first.from.port);
  }
  const max = maxDatagram(s, family);
  const sending = (async () => {
    for await (const chunk of s.stdin.chunks()) {
      if (s.done) return;
      for (let at = 0; at < chunk.length; at += max) await sock.send(chunk.subarray(at, Math.min(chunk.length, at + max)));
    }
    if (s.done) return;
    if (p.quitMs !== undefined) s.after(p.quitMs, () => s.end());
  })();
  sending.catch((err: unknown) => s.end(socketFailure(what, err)));
  try {
    for (;;) {
      const data = await sock.recv(65536);
      if (s.done) return;
      s.out.bytes(data);
      if (s.out.closed) return void ((s.reset = true), s.end());
    }
  } catch (err) {
    if (!s.done) throw socketFailure(what, err);
  }
}
