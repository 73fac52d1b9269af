/**
 * The interfaces libpcap can capture on, with their addresses, flags, link-layer
 * address and MTU.
 *
 * ```ts
 * import { listDevices } from "./devices.ts";
 * for (const d of listDevices()) console.log(d.name, d.mac, d.mtu, d.addresses.map((a) => a.address));
 * ```
 *
 * @module
 */
import { toCaptureError } from "./errors.ts";
import { loadAddon } from "./native.ts";

export interface DeviceAddress {
  family: "ipv4" | "ipv6";
  address: string;
  netmask: string | null;
  /**
   * the broadcast address the interface was given, or null when it has none
   * (`ip addr` shows no `brd`)
   */
  broadcast: string | null;
  /** the other end of a point-to-point link */
  destination: string | null;
}

export interface DeviceFlags {
  up: boolean;
  running: boolean;
  loopback: boolean;
  wireless: boolean;
}

export interface Device {
  name: string;
  description: string | null;
  addresses: DeviceAddress[];
  flags: DeviceFlags;
  /** link-layer address as lowercase hex pairs ("02:77:00:00:00:01"); null for pseudo-devices such as "any" */
  mac: string | null;
  /** MTU in bytes; null when the system does not report one */
  mtu: number | null;
}

export interface ListDevicesOptions {
  /** list the devices of network namespace /run/netns/NAME (needs root) */
  netns?: string;
}

/**
 * Every device libpcap can open, in libpcap's order (up and running first).
 * Throws {@link CaptureError} (EPERM, ENONETNS, EIO) when it cannot list them.
 */
export function listDevices(options: ListDevicesOptions = {}): Device[] {
  const addon = loadAddon();
  let raw;
  try {
    raw = addon.listDevices(options.netns);
  } catch (err) {
    throw toCaptureError(err, { action: "list devices", ...(options.netns === undefined ? {} : { netns: options.netns }) });
  }
  return raw.map((d) => ({
    name: d.name,
    description: d.description,
    addresses: d.addresses.flatMap((a) =>
      a.address === null
        ? []
        : [{ family: a.family, address: a.address, netmask: a.netmask, broadcast: realBroadcast(a.address, a.broadcast), destination: a.destination }],
    ),
    flags: { up: d.flags.up, running: d.flags.running, loopback: d.flags.loopback, wireless: d.flags.wireless },
    mac: d.mac,
    mtu: d.mtu,
  }));
}

/**
 * The broadcast address as the kernel has it. An IPv4 address given without
 * one (`ip addr add 10.0.0.1/24 dev veth0`: no IFA_BROADCAST attribute) comes
 * out of getifaddrs(3) with the address itself in its broadcast slot (glibc
 * copies IFA_ADDRESS there), which `ip addr` does not show: a broadcast equal
 * to the address is that artifact, never a broadcast address (RFC 919), so it
 * is none.
 */
function realBroadcast(address: string, broadcast: string | null): string | null {
  return broadcast === address ? null : broadcast;
}

/** The device named `name`, or undefined. */
export function findDevice(name: string, options: ListDevicesOptions = {}): Device | undefined {
  return listDevices(options).find((d) => d.name === name);
}

/**
 * The device to capture on when none is named (tcpdump's habit): the first one
 * that is up, not loopback, and a real interface (has a link-layer address,
 * unlike "any", "nflog" or "dbus-system"). Null when there is none.
 */
export function defaultDevice(options: ListDevicesOptions = {}): Device | null {
  const devices = listDevices(options);
  return (
    devices.find((d) => d.flags.up && d.flags.running && !d.flags.loopback && d.mac !== null) ??
    devices.find((d) => d.flags.up && !d.flags.loopback && d.mac !== null) ??
    null
  );
}
