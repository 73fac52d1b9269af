/**
 * A virtual host on a real interface: our stack with its own MAC and
 * addresses, on a live device (promiscuous capture with an inbound-only
 * filter for our MAC, broadcast and IPv6 multicast; the fast injector), and
 * the socket API over it. Frames for our MAC are PACKET_OTHERHOST to the
 * kernel, so it neither answers nor resets our connections: the stack is a
 * host of its own on the link.
 *
 * @example
 * ```ts
 * import { openHost } from "./host.ts";
 * const host = openHost({ iface: "eth0", ipv4: ["10.77.0.3/24"], gateway4: "10.77.0.1" });
 * const s = host.sockets.socket("inet", "stream");
 * await s.connect("10.77.0.1", 80);
 * ```
 *
 * @module
 */
import { formatMac, macBytes } from "../../layers/addr.ts";
import type { Device } from "../device/device.ts";
import { openLiveDevice } from "../device/live_device.ts";
import { StackDriver } from "./driver.ts";
import { randomMac, type InterfaceOptions } from "./interface.ts";
import { systemRandom, type Random } from "./random.ts";
import { Sockets } from "./sockets.ts";
import type { Stack } from "./stack.ts";
import type { TcpConfig, TcpState } from "./tcp/config.ts";
import { userAbort } from "./tcp/user.ts";
import type { TraceSink } from "./trace.ts";

/** Options of {@link openHost}. */
export interface HostOptions extends InterfaceOptions {
  /** the interface to live on */
  iface: string;
  /** its network namespace (/run/netns/NAME) */
  netns?: string | undefined;
  tcp?: Partial<TcpConfig> | undefined;
  trace?: TraceSink | undefined;
  /** default: the platform's cryptographic generator */
  random?: Random | undefined;
  /** take TCP/UDP checksums a veth peer left for offload as good (default true; see offload.ts) */
  acceptPartialChecksums?: boolean | undefined;
  /**
   * merge runs of in-order TCP segments in the capture before the stack sees
   * them (`LiveOptions.gro`). A bulk download then costs the stack one segment
   * per burst instead of one per wire frame. Default: on, but off with a
   * `trace` or a `wrap`, which then see each frame as the wire carried it (a
   * trace prints what tcpdump prints, a tap records the wire, an impairment
   * drops or corrupts wire frames), and always off without
   * acceptPartialChecksums (a merged segment carries a partial checksum).
   */
  gro?: boolean | undefined;
  /** wrap the device (an impairment, a tap) before the stack gets it */
  wrap?: ((device: Device) => Device) | undefined;
}

/** A running virtual host. */
export class Host {
  readonly device: Device;
  readonly driver: StackDriver;
  readonly sockets: Sockets;

  constructor(device: Device, driver: StackDriver) {
    this.device = device;
    this.driver = driver;
    this.sockets = new Sockets(driver);
  }

  get stack(): Stack {
    return this.driver.stack;
  }

  /** Stop the stack and close the device (a process that ends calls {@link endConnections} first). */
  close(): void {
    this.driver.close();
    this.device.close();
  }

  /**
   * End the connections as an ending process ends its sockets: those its
   * sockets closed get up to `lingerMs` to finish their FIN exchange (our FIN
   * acknowledged, the peer's acknowledged), then every connection still open
   * is reset, so no peer is left retransmitting to an address that no longer
   * answers. Call it while the addresses are still ours (before a DHCP
   * release), then {@link close}.
   */
  async endConnections(lingerMs = 500): Promise<void> {
    const tcp = this.driver.stack.tcp;
    const until = Date.now() + lingerMs;
    while (Date.now() < until && [...tcp.connections].some((t) => CLOSING.has(t.state))) await new Promise((r) => setTimeout(r, 5));
    if (tcp.connections.size === 0) return;
    this.driver.run(() => {
      for (const t of [...tcp.connections]) userAbort(t, tcp);
    });
  }
}

/** The states of a connection whose socket is closed and whose FIN exchange is under way. */
const CLOSING: ReadonlySet<TcpState> = new Set<TcpState>(["FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "LAST-ACK"]);

/** The capture filter of a host: frames to its MAC, broadcasts, and IPv6 multicast. */
export function hostFilter(mac: Uint8Array): string {
  return `ether dst ${formatMac(mac)} or ether broadcast or (ether multicast and ip6)`;
}

/** Bring a virtual host up on a live interface. Throws CaptureError / RangeError on bad input. */
export function openHost(options: HostOptions): Host {
  const random = options.random ?? systemRandom();
  // The MAC is in the capture filter, so it is settled before the stack exists.
  const mac = options.mac === undefined ? randomMac(random) : macBytes(options.mac);
  // Through the traffic-control path, not past it: a capture beside the host (tcpdump) sees what it sends.
  const acceptPartialChecksums = options.acceptPartialChecksums ?? true;
  const gro = acceptPartialChecksums && (options.gro ?? (options.trace === undefined && options.wrap === undefined));
  const live = openLiveDevice(options.iface, { netns: options.netns, filter: hostFilter(mac), qdiscBypass: false, gro, ...(options.mtu === undefined ? {} : { mtu: options.mtu }) });
  const device = options.wrap === undefined ? live : options.wrap(live);
  try {
    return new Host(device, new StackDriver(device, { ...options, random, mac, acceptPartialChecksums }));
  } catch (err) {
    device.close();
    throw err;
  }
}
