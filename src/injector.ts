/**
 * Sending whole frames without capturing: an AF_PACKET socket with
 * PACKET_QDISC_BYPASS (frames go straight to the driver, past the traffic
 * control queue) and sendmmsg in batches of 256. `LiveCapture.injectMany`
 * opens one on its device; open one yourself when you only send.
 *
 * @example
 * ```ts
 * import { openInjector } from "./injector.ts";
 * const inj = openInjector("eth0");
 * inj.injectMany([frameA, frameB]); // 2
 * inj.close();
 * ```
 *
 * @module
 */
import { CaptureError, sendManyError, toCaptureError, type FailureContext } from "./errors.ts";
import { loadAddon, type NativePacketSocket } from "./native.ts";

/** Options of {@link openInjector}. */
export interface InjectorOptions {
  /** open the socket inside network namespace /run/netns/NAME (needs root) */
  netns?: string;
  /**
   * hand frames straight to the driver, past the traffic-control queue
   * (PACKET_QDISC_BYPASS; default true: fastest). Frames sent so also skip
   * the kernel's taps, so no capture on the interface (tcpdump, another
   * stackts) sees them; false lets captures see what this socket sends.
   */
  qdiscBypass?: boolean;
}

/**
 * A socket for sending whole frames on one interface, without capturing:
 * AF_PACKET with PACKET_QDISC_BYPASS, sendmmsg in batches of 256.
 */
export class Injector {
  readonly device: string;
  /** whether the kernel accepted PACKET_QDISC_BYPASS (frames go straight to the driver) */
  readonly qdiscBypass: boolean;
  #socket: NativePacketSocket | null;
  #netns: string | undefined;

  /** Prefer {@link openInjector}. */
  constructor(device: string, options: InjectorOptions = {}) {
    if (typeof device !== "string" || device === "") throw new TypeError("device must be a non-empty string");
    this.device = device;
    this.#netns = options.netns;
    try {
      this.#socket = new (loadAddon().PacketSocket)(device, options.netns, options.qdiscBypass ?? true);
    } catch (err) {
      throw toCaptureError(err, this.#ctx());
    }
    this.qdiscBypass = this.#socket.info().qdiscBypass;
  }

  #ctx(frameLength?: number): FailureContext {
    return {
      action: "send on",
      device: this.device,
      ...(this.#netns === undefined ? {} : { netns: this.#netns }),
      ...(frameLength === undefined ? {} : { frameLength }),
    };
  }

  #open(): NativePacketSocket {
    if (this.#socket === null) {
      throw new CaptureError("ECLOSED", `Cannot send on "${this.device}": the injector is closed`, "closed", this.device);
    }
    return this.#socket;
  }

  /** Send one frame. Throws {@link CaptureError} (EMSGSIZE, ENETDOWN, ECLOSED...). */
  inject(frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array) || frame.length === 0) throw new TypeError("frame must be a non-empty Uint8Array");
    const s = this.#open();
    try {
      s.send(frame);
    } catch (err) {
      throw toCaptureError(err, this.#ctx(frame.length));
    }
  }

  /**
   * Send every frame, in order; returns the count. When one fails the error's
   * message says which (`sent` frames before it went out).
   */
  injectMany(frames: readonly Uint8Array[]): number {
    if (!Array.isArray(frames)) throw new TypeError("frames must be an array of Uint8Array");
    const s = this.#open();
    try {
      return s.sendMany(frames);
    } catch (err) {
      throw sendManyError(err, frames, this.#ctx());
    }
  }

  /** Close the socket; safe to call more than once. */
  close(): void {
    this.#socket?.close();
    this.#socket = null;
  }
}

/** Open a fast frame sender on `device`. Throws {@link CaptureError} (ENODEV, EPERM, ENONETNS...). */
export function openInjector(device: string, options: InjectorOptions = {}): Injector {
  return new Injector(device, options);
}
