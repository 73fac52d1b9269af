/**
 * `stackts devices`: the interfaces libpcap can capture on, numbered, in the
 * style of `tcpdump -D`, with flags, and each address on its own line below:
 *
 * ```text
 * 1.eth0 [Up, Running] 02:42:ac:11:00:02 mtu 1500
 *     inet 172.17.0.2/16
 *     inet6 fe80::42:acff:fe11:2/64
 * 2.any (Pseudo-device that captures on all interfaces) [Up, Running]
 * 3.lo [Up, Running, Loopback] mtu 65536
 *     inet 127.0.0.1/8
 * ```
 *
 * @module
 */
import { parseIp } from "../../layers/addr.ts";
import { listDevices, type Device, type DeviceAddress } from "../devices.ts";
import { Output } from "../format/output.ts";
import { maskPrefixLength } from "../send/route.ts";
import { flag, formatHelp, parseArgs, stringOption, type OptionSpec } from "./args.ts";
import { EXIT, UsageError } from "./errors.ts";

const SPEC: OptionSpec[] = [
  { name: "netns", value: "NAME", help: "list the devices of network namespace NAME (/run/netns/NAME)" },
  { name: "json", help: "one JSON object per device" },
];

export const help = formatHelp(
  "stackts devices [--netns NAME] [--json]",
  "List the interfaces that can be captured on, like 'tcpdump -D', with their\n" +
    "flags [Up, Running, Loopback, Wireless], link-layer address, MTU and addresses.",
  SPEC,
);

/** Prefix length of a netmask in text form ("255.255.255.0" → 24, "ffff:ffff::" → 32); null if not contiguous or not an address. */
export function prefixLength(netmask: string): number | null {
  let mask: Uint8Array;
  try {
    mask = parseIp(netmask);
  } catch {
    return null;
  }
  return maskPrefixLength(mask);
}

function flagList(d: Device): string {
  const f: string[] = [];
  if (d.flags.up) f.push("Up");
  if (d.flags.running) f.push("Running");
  if (d.flags.wireless) f.push("Wireless");
  if (d.flags.loopback) f.push("Loopback");
  return f.length > 0 ? " [" + f.join(", ") + "]" : "";
}

function addressLine(a: DeviceAddress): string {
  const plen = a.netmask === null ? null : prefixLength(a.netmask);
  let s = (a.family === "ipv4" ? "inet " : "inet6 ") + a.address;
  if (plen !== null) s += "/" + plen;
  else if (a.netmask !== null) s += " netmask " + a.netmask;
  if (a.broadcast !== null) s += " brd " + a.broadcast;
  if (a.destination !== null) s += " peer " + a.destination;
  return s;
}

/** The text of the device list (what `stackts devices` prints). */
export function formatDevices(devices: readonly Device[]): string {
  let out = "";
  devices.forEach((d, i) => {
    out += `${i + 1}.${d.name}`;
    if (d.description !== null && d.description !== "") out += ` (${d.description})`;
    out += flagList(d);
    if (d.mac !== null) out += " " + d.mac;
    if (d.mtu !== null) out += " mtu " + d.mtu;
    out += "\n";
    for (const a of d.addresses) out += "    " + addressLine(a) + "\n";
  });
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "unexpected argument (stackts devices takes no arguments)");
  const netns = stringOption(args, "netns");
  const devices = listDevices(netns === undefined ? {} : { netns });
  const out = new Output(1);
  if (flag(args, "json")) {
    for (const d of devices) out.line(JSON.stringify(d));
  } else {
    out.text(formatDevices(devices));
  }
  out.flush();
  return EXIT.ok;
}
