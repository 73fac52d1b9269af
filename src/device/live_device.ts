/**
 * A real interface as a {@link Device}: a libpcap capture handle for what
 * arrives (immediate mode, so an answer is handed over as soon as it lands,
 * and a BPF filter so only the frames the caller wants cross into
 * JavaScript) and, for what goes out, the fast injector (AF_PACKET,
 * PACKET_QDISC_BYPASS, sendmmsg) or, with `qdiscBypass: false`, sendmmsg on
 * the capture's own socket (through the traffic-control path, so that other
 * captures see it; one socket to open and close, not two). Time is
 * {@link systemClock}.
 *
 * The capture takes only frames coming in (direction "in"): frames this device
 * sends are not handed back to it, and neither are the host's own outgoing
 * frames, which a NIC does not receive either.
 *
 * @example
 * ```ts
 * import { openLiveDevice } from "./live_device.ts";
 * import { waitForFrame } from "./wait.ts";
 * const device = openLiveDevice("laba0", { netns: "laba", filter: "arp" });
 * try {
 *   const reply = waitForFrame(device, () => true, 1000);
 *   device.send(arpRequest);
 *   console.log(await reply);
 * } finally {
 *   device.close();
 * }
 * ```
 *
 * @module
 */
import { findDevice } from "../devices.ts";
import type { FrameBatch } from "../frame.ts";
import { openInjector, type Injector } from "../injector.ts";
import { openLive, type LiveCapture, type LiveOptions } from "../live.ts";
import { systemClock } from "./clock.ts";
import type { Clock, Device } from "./device.ts";

/** The MTU assumed when the system reports none (Ethernet's, RFC 894). */
const DEFAULT_MTU = 1500;

/** Options of {@link openLiveDevice}. */
export interface LiveDeviceOptions {
  /** the interface lives in network namespace /run/netns/NAME (needs root) */
  netns?: string | undefined;
  /** BPF filter (pcap-filter syntax): only matching frames are received */
  filter?: string | undefined;
  /** the link's IP MTU; default: the interface's, as `listDevices` reports it (1500 when none) */
  mtu?: number | undefined;
  /** bytes kept of each received frame (default: whole frames) */
  snaplen?: number | undefined;
  /** promiscuous mode (default true, as for a capture) */
  promisc?: boolean | undefined;
  /**
   * send past the traffic-control queue (default true, fastest; see
   * `InjectorOptions.qdiscBypass`): then no capture on the interface sees what
   * this device sends. A stack's host turns it off, so tcpdump beside it
   * sees both directions; its frames then leave through the capture's own
   * socket (`LiveCapture.sendMany`).
   */
  qdiscBypass?: boolean | undefined;
  /** receive coalescing of TCP runs (`LiveOptions.gro`; default false). A stack's host turns it on. */
  gro?: boolean | undefined;
}

/**
 * A live interface as a {@link Device}; see the module comment. Open one with
 * {@link openLiveDevice}, or wrap a capture you already have with
 * `new LiveDevice(capture)`: then frames go out through that capture's own
 * socket (`sendMany`, which the capture does not see coming back), and
 * {@link close} leaves the capture open for its owner.
 *
 * @example
 * ```ts
 * const capture = openLive("eth0", { filter: "arp" });
 * const device = new LiveDevice(capture); // sends with capture.sendMany
 * device.close(); // the capture stays open
 * ```
 */
export class LiveDevice implements Device {
  readonly name: string;
  readonly linkType: number;
  readonly clock: Clock = systemClock;
  /** the capture handle frames arrive on */
  readonly capture: LiveCapture;
  readonly #injector: Injector | null;
  readonly #borrowed: boolean;
  readonly #netns: string | undefined;
  #mtu: number | undefined;
  #failure: Error | null = null;

  /**
   * Open `source` (an interface name), or wrap an open capture. Throws
   * `CaptureError` (ENODEV, EPERM, EFILTER, ENONETNS, ...) when the interface
   * cannot be opened.
   */
  constructor(source: string | LiveCapture, options: LiveDeviceOptions = {}) {
    this.#mtu = options.mtu;
    if (typeof source !== "string") {
      this.capture = source;
      this.#borrowed = true;
      this.#injector = null;
      this.#netns = source.config.netns ?? undefined;
    } else {
      const live: LiveOptions = { immediate: true, direction: "in" };
      if (options.netns !== undefined) live.netns = options.netns;
      if (options.filter !== undefined) live.filter = options.filter;
      if (options.snaplen !== undefined) live.snaplen = options.snaplen;
      if (options.promisc !== undefined) live.promisc = options.promisc;
      if (options.gro !== undefined) live.gro = options.gro;
      this.capture = openLive(source, live);
      try {
        this.#injector = options.qdiscBypass === false ? null : openInjector(source, options.netns === undefined ? {} : { netns: options.netns });
      } catch (err) {
        this.capture.close();
        throw err;
      }
      this.#borrowed = false;
      this.#netns = options.netns;
      // A read failure (the interface went away) closes the capture; keep it for
      // `failure` rather than let it end the process as an uncaught exception.
      this.capture.onError((err) => (this.#failure = err));
    }
    this.name = this.capture.device;
    this.linkType = this.capture.linkType;
  }

  /** The link's IP MTU (looked up on first use unless given). */
  get mtu(): number {
    if (this.#mtu === undefined) {
      try {
        this.#mtu = findDevice(this.name, this.#netns === undefined ? {} : { netns: this.#netns })?.mtu ?? DEFAULT_MTU;
      } catch {
        this.#mtu = DEFAULT_MTU;
      }
    }
    return this.#mtu;
  }

  /** The network namespace of the interface, if any. */
  get netns(): string | undefined {
    return this.#netns;
  }

  /** The error that stopped reading (e.g. the interface went away), or null. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Whether the capture is closed (by {@link close}, its owner, or a failure). */
  get closed(): boolean {
    return this.capture.closed;
  }

  /** Send one whole frame. Throws `CaptureError` (EMSGSIZE, ENETDOWN, ECLOSED, ...). */
  send(frame: Uint8Array): void {
    if (this.#injector === null) this.capture.sendMany([frame]);
    else this.#injector.inject(frame);
  }

  /** Send frames in order, in batches of one system call (sendmmsg). */
  sendMany(frames: readonly Uint8Array[]): void {
    if (this.#injector === null) this.capture.sendMany(frames);
    else this.#injector.injectMany(frames);
  }

  /** Call `handler` with each batch received (valid during the call only). */
  onFrames(handler: (batch: FrameBatch) => void): () => void {
    return this.capture.onBatch(handler);
  }

  /** Close the injector and (unless wrapped) the capture; safe to call more than once. */
  close(): void {
    this.#injector?.close();
    if (!this.#borrowed) this.capture.close();
  }
}

/**
 * Open interface `iface` as a {@link LiveDevice}: a capture in immediate mode
 * with `options.filter`, and the fast injector (or, with `qdiscBypass:
 * false`, sending on the capture's socket). Close it when done.
 *
 * @example
 * ```ts
 * const device = openLiveDevice("eth0", { filter: "udp port 53" });
 * device.mtu; // 1500
 * device.close();
 * ```
 */
export function openLiveDevice(iface: string, options: LiveDeviceOptions = {}): LiveDevice {
  return new LiveDevice(iface, options);
}
