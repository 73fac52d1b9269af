/**
 * The seam between code that speaks on a link and the link itself: a
 * {@link Device} sends frames, hands over the frames that arrive, and tells
 * the time on its own {@link Clock}. The live device (a libpcap capture handle
 * and an AF_PACKET injector), an in-memory pair and an impairment wrapper all
 * implement it, so the same code (neighbor resolution, a DNS query, the
 * userspace stack's driver) runs on a wire, between two stacks in one
 * process, and under a virtual clock in tests.
 *
 * Implementations: `LiveDevice` (live_device.ts), `MemoryDevice` from
 * `memoryPair()` (memory.ts); clocks: `systemClock`, `VirtualClock` (clock.ts);
 * waiting for an answer: `waitForFrame` (wait.ts).
 *
 * @example
 * ```ts
 * import type { Device } from "./device.ts";
 * import { batchData } from "../frame.ts";
 * function echo(device: Device): () => void {
 *   return device.onFrames((batch) => {
 *     for (let i = 0; i < batch.count; i++) device.send(batchData(batch, i).slice());
 *   });
 * }
 * ```
 *
 * @module
 */
import type { FrameBatch } from "../frame.ts";

/**
 * A source of time and timers, in milliseconds. The system clock is real time;
 * a virtual clock moves only when a test advances it, so a loss pattern or a
 * retransmission timeout replays exactly.
 */
export interface Clock {
  /**
   * monotonic milliseconds (not wall time: only differences mean anything;
   * `systemClock`'s count from the Unix epoch, so `clockStamp(now())` reads as
   * a time stamp, and a `VirtualClock` starts where it is told, 0 by default)
   */
  now(): number;
  /**
   * Call `fn` once, `ms` milliseconds from now (0 or less: as soon as the
   * clock runs timers). Returns a function that cancels it (safe to call late
   * or twice).
   */
  setTimer(ms: number, fn: () => void): () => void;
}

/** One link-layer interface as code that talks on it sees it. */
export interface Device {
  /** a name for messages and traces (the interface name for a live device) */
  readonly name: string;
  /** LINKTYPE_* of the frames sent and received (1, Ethernet, for every device here) */
  readonly linkType: number;
  /** the IP MTU of the link: a frame carries at most this many bytes after its link header */
  readonly mtu: number;
  /** the device's clock: real for a live device, virtual or real for the others */
  readonly clock: Clock;
  /**
   * Put one whole frame (link header included) on the link. The bytes are
   * sent or copied before this returns: the caller may reuse them. Throws on
   * a closed device or a frame the link refuses (e.g. over the MTU).
   */
  send(frame: Uint8Array): void;
  /** Put several frames on the link in order (one system call on the live device). */
  sendMany(frames: readonly Uint8Array[]): void;
  /**
   * Receive: `handler` is called with each batch of frames that arrive, in
   * order. A batch is valid during the call only (copy what you keep). Returns
   * a function that unsubscribes. Frames this device sent are not delivered
   * back to it.
   */
  onFrames(handler: (batch: FrameBatch) => void): () => void;
  /** Stop sending and receiving; safe to call more than once. */
  close(): void;
}

/**
 * A device's `onFrames`: check `handler`, add it to `handlers` (none once the
 * device is `closed`), and return the function that takes it out again.
 */
export function subscribe(handlers: Set<(batch: FrameBatch) => void>, closed: boolean, handler: (batch: FrameBatch) => void): () => void {
  if (typeof handler !== "function") throw new TypeError("handler must be a function");
  if (closed) return () => {};
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
  };
}
