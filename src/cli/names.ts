/**
 * Host names on the command line of the commands that speak over our stack
 * (`http`, `tftp`): asked of a DNS server through our own resolver
 * (src/apps/dns.ts, UDP with TCP on truncation), as `stackts dns` asks. The
 * server is `--server`, else the DHCP lease's (with `--dhcp`), else the
 * gateway (`--gw`); the first address of a family we have is taken (A before
 * AAAA).
 *
 * @example
 * ```ts
 * const server = dnsServerOption(args, options); // checked before the device opens
 * needServerFor(target, server, options);
 * const cli = await startCliHost(args, options);
 * const address = await nameResolver(cli, options, server)("www.example.test");
 * ```
 *
 * @module
 */
import { formatIp, ipFamily, parseIp } from "../../layers/addr.ts";
import { DnsError, resolveHost } from "../apps/dns.ts";
import { stringOption, type OptionSpec, type ParsedArgs } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import { defaultDnsServer, hasFamily, type CliHost, type CliHostOptions } from "./stack_options.ts";

/** `--server IP`, for the commands that take a host name. */
export const DNS_SERVER_OPTION: OptionSpec = {
  name: "server",
  value: "IP",
  help: "the DNS server for a host name (default: the lease's with --dhcp, else --gw)",
};

/** `--server` checked (an address of a family we have), or undefined when not given. */
export function dnsServerOption(args: ParsedArgs, options: CliHostOptions): string | undefined {
  const text = stringOption(args, "server");
  if (text === undefined) return undefined;
  let server: string;
  try {
    server = formatIp(parseIp(text));
  } catch {
    throw new UsageError("--server", `${text} is not an IP address`);
  }
  const family = ipFamily(server);
  if (!hasFamily(options, family)) throw new UsageError("--server", `an IPv${family} address of ours is needed to ask ${server}`);
  return server;
}

/** A usage error, before any device opens, when `name` will need a DNS server and nothing names one. */
export function needServerFor(name: string, server: string | undefined, options: CliHostOptions): void {
  if (server !== undefined || options.dhcp === true || options.gateway4 !== undefined || options.gateway6 !== undefined) return;
  throw new UsageError("--server", `which DNS server for ${name}? give --server (or --gw, or --dhcp for the lease's)`);
}

/**
 * A resolver for names, `(name) => Promise<address>`: asks `server` (or the
 * lease's server or the gateway, known once the host is up) for A and AAAA
 * records and takes the first address of a family we have. Failures are one
 * line: `stackts: NAME : <why>`.
 */
export function nameResolver(cli: CliHost, options: CliHostOptions, server: string | undefined, timeoutMs = 10_000): (name: string) => Promise<string> {
  return async (name) => {
    const ask = server ?? defaultDnsServer(cli, options);
    if (ask === null) throw new UsageError("--server", `which DNS server for ${name}? give --server (or --gw, or --dhcp for the lease's)`);
    let addresses: string[];
    try {
      addresses = await resolveHost(cli.host, name, { server: ask, timeoutMs });
    } catch (err) {
      if (err instanceof DnsError) throw new CliError(name, err.message, EXIT.failure, { cause: err });
      throw err;
    }
    const usable = addresses.find((a) => hasFamily(options, ipFamily(a)));
    if (usable === undefined) throw new CliError(name, `no address of a family we have (${addresses.join(", ")})`);
    return usable;
  };
}
