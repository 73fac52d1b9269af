/**
 * A raw IP socket (the `raw-socket` package) bound to one interface, for
 * datagrams the kernel should route and deliver itself: `send udp --l3`, and
 * IPv4 over loopback.
 *
 * Why loopback IPv4 needs it: a frame injected on `lo` through a packet socket
 * enters the kernel's input path without a route attached, and the input
 * route lookup drops it as a martian (counted in /proc/net/stat/rt_cache):
 * a 127.0.0.0/8 destination unless `route_localnet` is set, and a source that
 * is one of this host's addresses (every source a loopback datagram can have)
 * unless `accept_local` is set. IPv6 has no such check, so its frames are
 * injected like on any interface. Written with IP_HDRINCL (raw(7)), our IPv4
 * header goes out as built and the kernel's output path hands it to `lo` with
 * its route, as its own loopback traffic.
 *
 * A raw socket lives in the namespace of the process that opens it.
 *
 * @example
 * ```ts
 * import { openRawIpSocket } from "./raw_ip.ts";
 * const s = openRawIpSocket({ iface: "lo", version: 4 });
 * await s.send(ipv4Datagram, "127.0.0.1");
 * s.close();
 * ```
 *
 * @module
 */
import { createRequire } from "node:module";
import { formatIp } from "../../layers/addr.ts";
import type { Device } from "../device/device.ts";
import type { LiveDevice } from "../device/live_device.ts";
import type { LiveCapture } from "../live.ts";

/** The part of raw-socket's API used here (it ships no types). */
interface RawSocket {
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    beforeCallback: (() => void) | null,
    afterCallback: (error: Error | null, bytes: number) => void,
  ): void;
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  pauseRecv(): void;
  close(): void;
  on(event: "error", listener: (err: Error) => void): void;
}

interface RawSocketModule {
  createSocket(options: { addressFamily: number; protocol: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  Protocol: { UDP: number };
  SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number; IPPROTO_IPV6: number };
  SocketOption: { IP_HDRINCL: number; IPV6_UNICAST_HOPS: number; SO_BINDTODEVICE: number };
}

/** The raw socket cannot be loaded or opened (no package, no CAP_NET_RAW). */
export class RawIpError extends Error {
  override name = "RawIpError";
}

let rawModule: RawSocketModule | undefined;

function loadRawSocket(): RawSocketModule {
  if (rawModule === undefined) {
    try {
      rawModule = createRequire(import.meta.url)("raw-socket") as RawSocketModule;
    } catch (err) {
      throw new RawIpError(`Cannot load the raw-socket package (npm install raw-socket): ${(err as Error).message}`);
    }
  }
  return rawModule;
}

/** Options of {@link openRawIpSocket}. */
export interface RawIpOptions {
  /** the interface to bind to (SO_BINDTODEVICE) */
  iface: string;
  /**
   * 4: whole IPv4 datagrams, our header as built (IP_HDRINCL); 6: UDP header and
   * payload, the kernel writes the IPv6 header (no header-include for IPv6 on Linux)
   */
  version: 4 | 6;
  /** IPv6 hop limit (IPV6_UNICAST_HOPS); default 64 */
  hopLimit?: number | undefined;
}

/** An open raw IP socket. */
export interface RawIpSocket {
  /** Send one datagram to `dst`; resolves when the kernel took it. */
  send(data: Uint8Array, dst: string): Promise<number>;
  /** Send without waiting; {@link flush} waits for every datagram posted so far (and throws the first error). */
  post(data: Uint8Array, dst: string): void;
  flush(): Promise<void>;
  close(): void;
}

function sendOnce(socket: RawSocket, data: Uint8Array, dst: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // raw-socket queues the datagram until its poll handle reports the socket
    // writable, and that handle alone does not keep Node's event loop running:
    // without a handle of our own the process could end (exit code 0) with the
    // datagram still queued, as it did under `ip netns exec` with stdout a pipe.
    const keepAlive = setInterval(() => {}, 1 << 30);
    socket.send(buf, 0, buf.length, dst, null, (error, bytes) => {
      clearInterval(keepAlive);
      if (error) reject(error);
      else resolve(bytes);
    });
  });
}

/**
 * Open a UDP raw socket bound to `iface` in this process's namespace. Needs
 * CAP_NET_RAW; throws {@link RawIpError} when it cannot be opened.
 */
export function openRawIpSocket(options: RawIpOptions): RawIpSocket {
  const raw = loadRawSocket();
  const v6 = options.version === 6;
  let socket: RawSocket;
  try {
    socket = raw.createSocket({ addressFamily: v6 ? raw.AddressFamily.IPv6 : raw.AddressFamily.IPv4, protocol: raw.Protocol.UDP });
  } catch (err) {
    throw new RawIpError(`Cannot open a raw IP socket: ${(err as Error).message} (needs root or CAP_NET_RAW)`);
  }
  // A raw UDP socket also receives every UDP datagram: we only send.
  socket.pauseRecv();
  socket.on("error", () => {});
  try {
    const name = Buffer.from(options.iface + "\0", "utf8");
    socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
    if (v6) socket.setOption(raw.SocketLevel.IPPROTO_IPV6, raw.SocketOption.IPV6_UNICAST_HOPS, options.hopLimit ?? 64);
    else socket.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
  } catch (err) {
    socket.close();
    throw new RawIpError(`Cannot bind a raw IP socket to ${options.iface}: ${(err as Error).message}`);
  }
  let pending: Promise<unknown>[] = [];
  return {
    send: (data, dst) => sendOnce(socket, data, dst),
    post(data, dst) {
      const p = sendOnce(socket, data, dst);
      p.catch(() => {}); // reported by flush
      pending.push(p);
    },
    async flush() {
      const all = pending;
      pending = [];
      await Promise.all(all);
    },
    close: () => socket.close(),
  };
}

/** Ethernet header length: the frames sent here carry no VLAN tag. */
const ETHERNET_HEADER = 14;

/** The IPv4 destination of an Ethernet frame, as text. */
function ipv4DestinationOf(frame: Uint8Array): string {
  return formatIp(frame.subarray(ETHERNET_HEADER + 16, ETHERNET_HEADER + 20));
}

/**
 * A frame sender over `socket`: each Ethernet frame's IPv4 datagram goes to
 * the kernel (the link header is the one the kernel writes on loopback anyway).
 */
export function kernelPathSender(socket: RawIpSocket): { inject(frame: Uint8Array): void; flush(): Promise<void>; close(): void } {
  return {
    inject: (f) => socket.post(f.slice(ETHERNET_HEADER), ipv4DestinationOf(f)),
    flush: () => socket.flush(),
    close: () => socket.close(),
  };
}

/**
 * A device whose frames are received by capture and sent through the kernel
 * (IPv4 on loopback): a live device for the frames that arrive, `socket` for
 * the ones that leave.
 */
export class KernelPathDevice implements Device {
  readonly #live: LiveDevice;
  readonly #sender: ReturnType<typeof kernelPathSender>;
  constructor(live: LiveDevice, socket: RawIpSocket) {
    this.#live = live;
    this.#sender = kernelPathSender(socket);
  }
  get name(): string {
    return this.#live.name;
  }
  get linkType(): number {
    return this.#live.linkType;
  }
  get mtu(): number {
    return this.#live.mtu;
  }
  get clock(): Device["clock"] {
    return this.#live.clock;
  }
  get capture(): LiveCapture {
    return this.#live.capture;
  }
  send(frame: Uint8Array): void {
    this.#sender.inject(frame);
  }
  sendMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.send(f);
  }
  onFrames(handler: Parameters<Device["onFrames"]>[0]): () => void {
    return this.#live.onFrames(handler);
  }
  close(): void {
    this.#sender.close();
    this.#live.close();
  }
}
