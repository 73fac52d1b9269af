/**
 * `stackts http URL`: an HTTP/1.0 and 1.1 client over our own TCP/IP stack,
 * with curl's options for the common cases (`-o`, `-i`, `-I`, `-X`, `-d`,
 * `-H`, `-L`, `--http1.0`, `-w`). The body goes to standard output or `-o FILE`
 * byte for byte, as it arrives (any size, in bounded memory); `-i` puts the
 * response head before it as received, as `curl -i` does.
 *
 * A thin shell over {@link httpRequest} (src/apps/http_client.ts).
 *
 * @module
 */
import { openSync, readFileSync } from "node:fs";
import type { HttpHeader } from "../../layers/http.ts";
import { ipFamily } from "../../layers/addr.ts";
import { HttpError, httpRequest, parseHttpUrl, type HttpTarget } from "../apps/http_client.ts";
import { Output } from "../format/output.ts";
import { SocketError } from "../stack/errors.ts";
import { flag, formatHelp, intOption, parseArgs, stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { DNS_SERVER_OPTION, dnsServerOption, nameResolver, needServerFor } from "./names.ts";
import { STACK_HELP, STACK_SPEC, hasFamily, hostOptions, onStopSignal, startCliHost } from "./stack_options.ts";
import { parseWriteOut, writeOut, type WriteOutFormat, type WriteOutValues } from "./write_out.ts";

const SPEC: OptionSpec[] = [
  ...STACK_SPEC,
  { name: "output", short: "o", value: "FILE", help: "write the body to FILE instead of standard output" },
  { name: "include", short: "i", help: "write the response head (status line and fields, as received) before the body" },
  { name: "head", short: "I", help: "send HEAD and write the response head" },
  { name: "request", short: "X", value: "METHOD", help: "the request method (default GET, or POST with -d)" },
  { name: "data", short: "d", value: "DATA", help: "send DATA as the body (POST unless -X); @FILE sends FILE's bytes" },
  { name: "header", short: "H", value: "'K: V'", help: "add a request header field, or replace ours ('K:' removes it); may repeat" },
  { name: "location", short: "L", help: "follow redirects (301, 302, 303, 307, 308)" },
  { name: "max-redirs", value: "N", help: "with -L, fail after N redirects (default 10)" },
  { name: "http1.0", help: "speak HTTP/1.0 (default HTTP/1.1)" },
  DNS_SERVER_OPTION,
  { name: "timeout", value: "SECS", help: "fail when the connection is not up, or the server sends nothing, for SECS (default 30)" },
  { name: "write-out", short: "w", value: "FORMAT", help: "after the body, write FORMAT with curl's %{variables} (see below)" },
];

export const help = formatHelp(
  "stackts http --iface IF --ip ADDR/PREFIX [options] URL",
  `An HTTP client over our own TCP/IP stack. URL is http://HOST[:PORT]/PATH
with HOST a name, an IPv4 address or an IPv6 one in brackets
(http://[fd77::1]/). A name (in the URL or a redirect) is asked of the DNS
server over our own UDP (TCP when the answer is truncated), as 'stackts dns'
asks: --server, else the lease's with --dhcp, else the gateway (--gw); the
first address of a family we have is used (A before AAAA).

The body of the response goes to standard output (or -o FILE) byte for
byte as it arrives, however large, framed by Content-Length, chunked
transfer coding (trailers are read and dropped) or the end of the
connection (RFC 9112 §6.3). It is not decompressed. Any response is
success (exit 0, as curl without -f); exit 1 when there is no complete
response: refused, reset, a timeout, a response that breaks HTTP's framing
(a bad chunk size, a body cut short, a head over 64 KiB), too many
redirects; 2 for bad options.

-w FORMAT writes text after the body, as curl's --write-out: %{http_code},
%{size_download}, %{size_header}, %{speed_download} (bytes/s),
%{time_connect}, %{time_starttransfer}, %{time_total} (seconds from the
start of the request: the host is up by then, so Node's start and the
capture's opening are not counted, name lookup and connect are),
%{url_effective}, %{num_redirects}, %{remote_ip}, %{remote_port}; %% is a
percent sign; \n, \r, \t and \\ are escapes.

--trace adds, among the frames, a '# http' line for each step: the
connection, the request line, the status line with how the body is framed,
the body's end (its length), and each redirect followed.

${STACK_HELP}`,
  SPEC,
);

/** The value options, for finding every -H (parseArgs keeps only an option's last value). */
const VALUE_SHORT = new Set(SPEC.filter((s) => s.value !== undefined && s.short !== undefined).map((s) => s.short!));
const VALUE_LONG = new Set(SPEC.filter((s) => s.value !== undefined).map((s) => s.name));

/** Every `-H V`, `-HV`, `--header V` and `--header=V` in order. */
function headerArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a === "-H" || a === "--header") {
      if (i + 1 < argv.length) out.push(argv[++i]!);
    } else if (a.startsWith("--header=")) out.push(a.slice(9));
    else if (a.startsWith("--")) {
      if (!a.includes("=") && VALUE_LONG.has(a.slice(2))) i++;
    } else if (a.startsWith("-") && a.length > 1) {
      // A bundle of short flags: the first one that takes a value takes the rest (or the next argument).
      for (let k = 1; k < a.length; k++) {
        const c = a[k]!;
        if (!VALUE_SHORT.has(c)) continue;
        if (c === "H") out.push(k + 1 < a.length ? a.slice(k + 1) : (argv[++i] ?? ""));
        else if (k + 1 === a.length) i++;
        break;
      }
    }
  }
  return out;
}

function parseHeader(text: string): HttpHeader {
  const colon = text.indexOf(":");
  const name = colon < 0 ? "" : text.slice(0, colon).trim();
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new UsageError("-H", `expected 'Name: value', got '${text}'`);
  const value = text.slice(colon + 1).trim();
  if (/[\r\n]/.test(value)) throw new UsageError("-H", "a header value cannot contain a line break");
  return { name, value };
}

function seconds(args: ParsedArgs, name: string, fallback: number): number {
  const v = stringOption(args, name);
  if (v === undefined) return fallback;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v) || Number(v) <= 0 || Number(v) > 2_000_000) throw new UsageError(`--${name}`, `expected seconds, got '${v}'`);
  return Number(v) * 1000;
}

/** What the command was asked to do, checked before any device is opened. */
interface Plan {
  target: HttpTarget;
  method: string;
  headers: HttpHeader[];
  body: Uint8Array | undefined;
  version: "1.0" | "1.1";
  include: boolean;
  output: string | undefined;
  maxRedirects: number;
  timeoutMs: number;
  writeOut: WriteOutFormat | undefined;
}

function plan(argv: readonly string[], args: ParsedArgs): Plan {
  const pos = args.positionals;
  if (pos.length !== 1) throw new UsageError("http", pos.length === 0 ? "a URL is needed (see 'stackts http --help')" : `unexpected argument '${pos[1]}'`);
  let target: HttpTarget;
  try {
    target = parseHttpUrl(pos[0]!);
  } catch (err) {
    throw new UsageError(pos[0]!, (err as Error).message);
  }
  const data = stringOption(args, "data");
  let body: Uint8Array | undefined;
  if (data !== undefined) {
    if (data.startsWith("@")) {
      try {
        body = readFileSync(data.slice(1));
      } catch (err) {
        throw new CliError(data.slice(1), (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message);
      }
    } else body = new TextEncoder().encode(data);
  }
  const headOnly = flag(args, "head");
  const x = stringOption(args, "request");
  if (x !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(x)) throw new UsageError("-X", `'${x}' is not a method name`);
  if (headOnly && body !== undefined) throw new UsageError("-I", "cannot be used with -d");
  const method = x ?? (headOnly ? "HEAD" : body !== undefined ? "POST" : "GET");
  const headers = headerArgs(argv).map(parseHeader);
  // curl's default for -d: a form body.
  if (body !== undefined && !headers.some((h) => h.name.toLowerCase() === "content-type")) headers.unshift({ name: "Content-Type", value: "application/x-www-form-urlencoded" });
  const location = flag(args, "location");
  return {
    target,
    method,
    headers,
    body,
    version: flag(args, "http1.0") ? "1.0" : "1.1",
    include: flag(args, "include") || headOnly,
    output: stringOption(args, "output"),
    maxRedirects: location ? (intOption(args, "max-redirs", 0, 1000) ?? 10) : 0,
    timeoutMs: seconds(args, "timeout", 30_000),
    writeOut: ((f) => (f === undefined ? undefined : parseWriteOut(f)))(stringOption(args, "write-out")),
  };
}

/** Thrown from the data callback when standard output's reader went away. */
class OutputClosed extends Error {}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const p = plan(argv, args);
  const options = hostOptions(args);
  const family = p.target.address === null ? null : ipFamily(p.target.address);
  if (family !== null && !hasFamily(options, family)) throw new UsageError(family === 4 ? "--ip" : "--ip6", `an IPv${family} address of ours is needed to reach ${p.target.address}`);
  const server = dnsServerOption(args, options);
  if (p.target.address === null) needServerFor(p.target.host, server, options);
  const cli = await startCliHost(args, options);
  const host = cli.host;
  let out: Output | null = null;
  const sink = (): Output => {
    if (out !== null) return out;
    if (p.output === undefined) return (out = new Output(1));
    try {
      return (out = new Output(openSync(p.output, "w")));
    } catch (err) {
      throw new CliError(p.output, (err as Error).message.replace(/^\w+: /, ""));
    }
  };
  let stop: (err: unknown) => void = () => {};
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  const unhook = onStopSignal(() => stop(new CliError(p.target.url, "interrupted")));
  cli.onFailure((err) => stop(err));
  const trace = cli.trace === null ? undefined : (text: string) => host.stack.trace?.note(host.driver.now, text);
  // For -w: seconds from here (the host is up), as curl counts from the start of its transfer.
  const t0 = performance.now();
  const since = (): number => (performance.now() - t0) / 1000;
  let connected = { at: 0, address: "", port: 0 };
  let headAt = 0;
  try {
    const result = await Promise.race([
      stopped,
      httpRequest(host.sockets, p.target.url, {
        method: p.method,
        headers: p.headers,
        body: p.body,
        version: p.version,
        maxRedirects: p.maxRedirects,
        timeoutMs: p.timeoutMs,
        resolve: nameResolver(cli, options, server, Math.min(p.timeoutMs, 10_000)),
        log: trace,
        onConnected: (address, port) => (connected = { at: since(), address, port }),
        onResponse: (head) => {
          headAt = since();
          if (p.include) sink().bytes(head.raw);
        },
        reuseChunks: true, // each chunk is written out before the next read
        onData: (chunk) => {
          const o = sink();
          o.bytes(chunk);
          if (o.closed) throw new OutputClosed();
        },
      }),
    ]);
    const total = since();
    sink(); // an empty body still makes the file
    if (p.writeOut !== undefined) {
      const values: WriteOutValues = {
        http_code: result.head.status,
        size_download: result.bodyLength,
        size_header: result.head.raw.length,
        speed_download: total > 0 ? result.bodyLength / total : 0,
        time_connect: connected.at,
        time_starttransfer: headAt,
        time_total: total,
        url_effective: result.url,
        num_redirects: result.redirects,
        remote_ip: connected.address,
        remote_port: connected.port,
      };
      // After the body, on standard output (as curl), whether the body went there or to -o.
      const text = new TextEncoder().encode(writeOut(p.writeOut, values));
      if (p.output === undefined) sink().bytes(text);
      else new Output(1).bytes(text);
    }
  } catch (err) {
    if (err instanceof OutputClosed) return EXIT.ok;
    throw failure(p.target.url, err);
  } finally {
    unhook();
    (out as Output | null)?.flush();
    await cli.close();
  }
  return EXIT.ok;
}

/** A library failure in the one-line form: `stackts: http://10.77.0.1/ : Connection refused`. */
function failure(url: string, err: unknown): unknown {
  if (err instanceof HttpError) return new CliError(url, err.message, EXIT.failure, { cause: err });
  if (err instanceof SocketError) {
    const why = err.message.replace(/^\w+: /, "").replace(/ \([A-Z]+\)(: .*)?$/, "");
    return new CliError(url, why, EXIT.failure, { cause: err });
  }
  return err;
}
