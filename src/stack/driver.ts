/**
 * The thin driver that ties a {@link Stack} to a {@link Device}: frames the
 * device delivers go to `stack.input` (zero-copy, straight from the capture
 * batch, bracketed by `Stack.beginBatch`/`endBatch`: TCP answers a batch
 * once), then `stack.poll` runs; the frames the stack transmits during that
 * turn are copied into a pool and sent in one `sendMany` (one `sendmmsg` on
 * a live interface); a single timer on the device's clock wakes the stack
 * at its next deadline. Socket calls ask for a turn with {@link StackDriver.kick}.
 *
 * Time is the device clock's: real on a live interface, virtual in tests.
 *
 * @example
 * ```ts
 * import { StackDriver } from "./driver.ts";
 * const driver = new StackDriver(device, { ipv4: ["10.77.0.3/24"], random: systemRandom() });
 * const sock = new Sockets(driver).socket("inet", "stream");
 * ```
 *
 * @module
 */
import type { Device } from "../device/device.ts";
import type { FrameBatch } from "../frame.ts";
import { Stack, type StackOptions } from "./stack.ts";

/** Frames queued per turn before they are flushed early. */
const BATCH = 256;

/** A stack running on a device. */
export class StackDriver {
  readonly stack: Stack;
  readonly device: Device;
  /** frames the stack sent this turn, copied (the stack reuses its buffer) */
  readonly #pool: Uint8Array[] = [];
  readonly #out: Uint8Array[] = [];
  #cancelTimer: (() => void) | null = null;
  #timerAt = Infinity;
  #kicked = false;
  #closed = false;
  readonly #unsubscribe: () => void;
  /** frames the device refused (e.g. the link went down), and the last reason */
  sendErrors = 0;
  lastSendError: string | null = null;

  constructor(device: Device, options: Omit<StackOptions, "transmit" | "mtu"> & { mtu?: number | undefined }) {
    this.device = device;
    this.stack = new Stack({ ...options, mtu: options.mtu ?? device.mtu, transmit: (frame) => this.#queue(frame) });
    this.#unsubscribe = device.onFrames((batch) => this.#frames(batch));
    this.kick();
  }

  /** The device clock's time. */
  get now(): number {
    return this.device.clock.now();
  }

  #queue(frame: Uint8Array): void {
    const i = this.#out.length;
    let slot = this.#pool[i];
    if (slot === undefined || slot.length < frame.length) {
      slot = new Uint8Array(Math.max(2048, frame.length));
      this.#pool[i] = slot;
    }
    slot.set(frame);
    this.#out.push(slot.subarray(0, frame.length));
    if (this.#out.length >= BATCH) this.#flush();
  }

  #flush(): void {
    if (this.#out.length === 0) return;
    try {
      if (!this.#closed) this.device.sendMany(this.#out);
    } catch (err) {
      this.sendErrors++;
      this.lastSendError = err instanceof Error ? err.message : String(err);
    }
    this.#out.length = 0;
  }

  #frames(batch: FrameBatch): void {
    if (this.#closed) return;
    const now = this.now;
    const { buffer, offset, caplen } = batch;
    this.stack.beginBatch();
    try {
      for (let i = 0; i < batch.count; i++) {
        const start = offset[i]!;
        this.stack.input(buffer, start, start + caplen[i]!, now);
      }
    } finally {
      this.stack.endBatch();
    }
    this.#turn();
  }

  /** Run the stack now: poll, send what it queued, re-arm the timer. */
  #turn(): void {
    if (this.#closed) return;
    this.#kicked = false;
    const next = this.stack.poll(this.now);
    this.#flush();
    this.#arm(next);
  }

  #arm(at: number): void {
    if (at === this.#timerAt) return;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#cancelTimer = this.device.clock.setTimer(Math.max(0, at - this.now), () => {
      this.#cancelTimer = null;
      this.#timerAt = Infinity;
      this.#turn();
    });
  }

  /**
   * Give the stack a turn soon (after a socket call changed something):
   * once per tick however many calls ask, on the device's clock.
   */
  kick(): void {
    if (this.#kicked || this.#closed) return;
    this.#kicked = true;
    this.device.clock.setTimer(0, () => this.#turn());
  }

  /** Run `fn` (a socket call) at the device's time, then send what it queued. */
  run<T>(fn: (now: number) => T): T {
    const result = this.stack.at(this.now, () => fn(this.now));
    this.#flush();
    this.kick();
    return result;
  }

  /** Stop: no more frames in or out (connections are not closed first; close sockets before). */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#cancelTimer?.();
    this.#unsubscribe();
  }
}
