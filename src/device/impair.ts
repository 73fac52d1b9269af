/**
 * A bad link around any {@link Device}: {@link impair} wraps a device and
 * loses, duplicates, corrupts, reorders, delays and rate-limits the frames
 * crossing it, in either direction or both, deterministically from a seed and
 * on the wrapped device's own clock. Two stacks over a `memoryPair` with an
 * impaired end and a `VirtualClock` replay a 5 % loss run bit for bit, in
 * virtual time (smoltcp's `FaultInjector` and Linux netem are the models).
 *
 * Each frame goes through the stages in this order (each knob is off at 0):
 *
 * 1. **drop** — lost with probability `drop`;
 * 2. **duplicate** — with probability `duplicate` a second copy follows it;
 *    each copy goes through the remaining stages on its own;
 * 3. **corrupt** — with probability `corrupt` one random bit of one random
 *    byte is flipped (the Internet checksum detects every single-bit error,
 *    RFC 1071, so IP, TCP, UDP and ICMP reject such a frame; a flip in the
 *    Ethernet header or padding goes unseen, as on a real wire);
 * 4. **rate** — `rateBps` bits per second: the frame waits for the frames
 *    ahead of it and is then serialized for `8 × length / rateBps` seconds;
 *    the queue (frames waiting or being serialized) holds at most
 *    `queueFrames` frames and `queueBytes` bytes, and a frame that does not
 *    fit is tail-dropped, as a router's FIFO drops it;
 * 5. **delay** — `delayMs` plus a uniform jitter in ±`jitterMs` (never below
 *    0): propagation. Jitter does not reorder: a frame never leaves before
 *    one offered ahead of it (reordering is its own knob);
 * 6. **reorder** — with probability `reorder` a frame is held back until
 *    `reorderFrames` frames offered after it have left, or `reorderMs` ms
 *    have passed, whichever comes first (`reorderFrames: 0`: by time only).
 *
 * Every knob draws from its own seeded stream per direction, so turning one
 * on leaves the others' patterns as they were. Frames that wait are copied
 * (a caller's buffer or a receive batch is never kept past the call); frames
 * that need no waiting pass through at once, in the caller's call, so with
 * nothing turned on the wrapper is transparent.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./clock.ts";
 * import { memoryPair } from "./memory.ts";
 * import { impair } from "./impair.ts";
 * const clock = new VirtualClock();
 * const [a, b] = memoryPair({ clock });
 * // 5 % loss and 5 ms each way, 1 % of frames held back by 3 frames; A's sends and receives both suffer
 * const lossy = impair(a, { seed: 7, drop: 0.05, delayMs: 5, reorder: 0.01, reorderFrames: 3 });
 * lossy.stats.send.dropped; // how many of A's frames were lost so far
 * ```
 *
 * @module
 */
import type { FrameBatch } from "../frame.ts";
import { CaptureError, toCaptureError } from "../errors.ts";
import { clockStamp } from "./clock.ts";
import { subscribe, type Clock, type Device } from "./device.ts";
import { Lane, resolveLane, type Impairment, type ImpairStats } from "./impair_lane.ts";

export type { Impairment, ImpairStats } from "./impair_lane.ts";

/** The Ethernet header the MTU does not count (RFC 894). */
const ETHERNET_HEADER = 14;
/** errno EMSGSIZE on Linux, so the error reads as a device's would. */
const EMSGSIZE = 90;

/** Options of {@link impair}: an {@link Impairment} for both directions, and overrides per direction. */
export interface ImpairOptions extends Impairment {
  /** seed of every random choice (default 1): the same seed and traffic give the same run */
  seed?: number | undefined;
  /** for frames sent through the wrapper (overrides the shared fields one by one) */
  send?: Impairment | undefined;
  /** for frames the wrapped device receives (overrides the shared fields one by one) */
  receive?: Impairment | undefined;
  /** the wrapper's name (default: the wrapped device's) */
  name?: string | undefined;
}

/**
 * A {@link Device} that impairs the frames crossing another; made by
 * {@link impair}. It owns the wrapped device: {@link close} closes it.
 *
 * @example
 * ```ts
 * const lossy = impair(device, { drop: 0.01, send: { rateBps: 10e6, queueFrames: 50 } });
 * lossy.stats.send; // { frames, bytes, dropped, duplicated, corrupted, reordered, queueDropped, delivered, sendErrors }
 * ```
 */
export class ImpairedDevice implements Device {
  readonly name: string;
  readonly linkType: number;
  readonly mtu: number;
  readonly clock: Clock;
  /** the device underneath */
  readonly inner: Device;
  /** counters per direction */
  readonly stats: { readonly send: ImpairStats; readonly receive: ImpairStats };
  readonly #send: Lane;
  readonly #receive: Lane;
  readonly #handlers = new Set<(batch: FrameBatch) => void>();
  readonly #unsubscribe: () => void;
  #closed = false;

  /** Prefer {@link impair}. */
  constructor(device: Device, options: ImpairOptions = {}) {
    const seed = options.seed ?? 1;
    this.inner = device;
    this.name = options.name ?? device.name;
    this.linkType = device.linkType;
    this.mtu = device.mtu;
    this.clock = device.clock;
    this.#send = new Lane(resolveLane(options, options.send), seed, 0, device.clock, (frames, fromTimer) => this.#sendOut(frames, fromTimer));
    this.#receive = new Lane(resolveLane(options, options.receive), seed, 1, device.clock, (frames) => this.#hand(batchOf(frames, this.clock.now(), this.linkType)));
    this.stats = { send: this.#send.stats, receive: this.#receive.stats };
    this.#unsubscribe = device.onFrames((batch) => this.#arrived(batch));
  }

  /** Frames waiting in each direction (delayed, queued or held back). */
  get pending(): { send: number; receive: number } {
    return { send: this.#send.pending, receive: this.#receive.pending };
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Send one frame through the impairments (a frame that waits is copied first). */
  send(frame: Uint8Array): void {
    this.#check(frame);
    this.#send.offer(frame, false);
    this.#send.flush();
  }

  /** Send frames in order through the impairments; a bad frame refuses them all. */
  sendMany(frames: readonly Uint8Array[]): void {
    if (!Array.isArray(frames)) throw new TypeError("frames must be an array of Uint8Array");
    for (const f of frames) this.#check(f);
    for (const f of frames) this.#send.offer(f, false);
    this.#send.flush();
  }

  /** Call `handler` with each batch that gets through; returns a function that unsubscribes. */
  onFrames(handler: (batch: FrameBatch) => void): () => void {
    return subscribe(this.#handlers, this.#closed, handler);
  }

  /** Stop: frames still waiting are dropped, and the wrapped device is closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#send.close();
    this.#receive.close();
    this.#handlers.clear();
    this.#unsubscribe();
    this.inner.close();
  }

  #check(frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array) || frame.length === 0) throw new TypeError("frame must be a non-empty Uint8Array");
    if (this.#closed) throw new CaptureError("ECLOSED", `Cannot send on "${this.name}": it is already closed`, "closed", this.name);
    // Refused now, not when a delay ends: the caller is the one to hear of it.
    if (frame.length > this.mtu + ETHERNET_HEADER) {
      throw toCaptureError({ message: "Message too long", errno: EMSGSIZE }, { action: "send on", device: this.name, frameLength: frame.length });
    }
  }

  #sendOut(frames: Uint8Array[], fromTimer: boolean): void {
    if (!fromTimer) {
      this.inner.sendMany(frames);
      return;
    }
    // A delayed frame has no caller left to tell: count it, as a link loses it.
    try {
      this.inner.sendMany(frames);
    } catch {
      this.#send.stats.sendErrors += frames.length;
    }
  }

  #arrived(batch: FrameBatch): void {
    if (this.#closed) return;
    const lane = this.#receive;
    if (lane.transparent) {
      lane.stats.frames += batch.count;
      for (let i = 0; i < batch.count; i++) lane.stats.bytes += batch.caplen[i]!;
      lane.stats.delivered += batch.count;
      this.#hand(batch);
      return;
    }
    const { buffer, offset, caplen } = batch;
    for (let i = 0; i < batch.count; i++) {
      const start = offset[i]!;
      // A view into the batch: the lane copies what it keeps past this call.
      lane.offer(buffer.subarray(start, start + caplen[i]!), false);
    }
    lane.flush();
  }

  #hand(batch: FrameBatch): void {
    if (this.#handlers.size === 0) return;
    // A snapshot: a handler may unsubscribe itself or another while the batch is handed round.
    for (const h of [...this.#handlers]) if (this.#handlers.has(h)) h(batch);
  }
}

/** Frames in one buffer with a batch's struct-of-arrays metadata, all stamped `now`. */
function batchOf(frames: readonly Uint8Array[], now: number, linkType: number): FrameBatch {
  const n = frames.length;
  let bytes = 0;
  for (const f of frames) bytes += f.length;
  const buffer = new Uint8Array(bytes);
  const offset = new Uint32Array(n);
  const caplen = new Uint32Array(n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const f = frames[i]!;
    buffer.set(f, o);
    offset[i] = o;
    caplen[i] = f.length;
    o += f.length;
  }
  const at = clockStamp(now);
  return {
    count: n,
    buffer,
    offset,
    caplen,
    length: caplen.slice(),
    sec: new Float64Array(n).fill(at.sec),
    nsec: new Uint32Array(n).fill(at.nsec),
    linkType: new Uint32Array(n).fill(linkType),
    interfaceId: new Uint32Array(n),
  };
}

/**
 * Wrap `device` in a bad link: see the module comment for each knob and the
 * order they act in. Top-level knobs apply to both directions; `send` and
 * `receive` override them field by field. Deterministic for a given `seed`
 * and traffic, on `device`'s clock.
 *
 * @example
 * ```ts
 * // 1 % loss both ways, 5 ms ± 1 ms each way; only what A sends is also duplicated 1 % of the time
 * const lossy = impair(a, { seed: 42, drop: 0.01, delayMs: 5, jitterMs: 1, send: { duplicate: 0.01 } });
 * // a 10 Mbit/s bottleneck with a 64 kB router queue, outbound only
 * const slow = impair(b, { send: { rateBps: 10_000_000, queueBytes: 65_536 } });
 * ```
 */
export function impair(device: Device, options: ImpairOptions = {}): ImpairedDevice {
  return new ImpairedDevice(device, options);
}
