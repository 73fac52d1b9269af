/**
 * Two {@link Device}s joined by a wire in memory: what one sends, the other
 * receives. Delivery goes through the shared clock: the frames sent on one end
 * are handed to the other end's handlers as one batch on the clock's next
 * timer tick, never inside `send` (a handler that answers at once cannot
 * re-enter the sender's code). With a {@link VirtualClock} (the default) two
 * stacks, or a stack and a responder, talk without a kernel, a namespace or
 * real time; with {@link systemClock}, in real time within one process.
 *
 * The wire is lossless and keeps order. Like an Ethernet link it refuses a
 * frame longer than the MTU plus the 14-byte header, with the error a live
 * device gives (`CaptureError` EMSGSIZE). Frames arriving while the receiving
 * end has no handler, or after it closed, are dropped, as a NIC nobody reads
 * from drops them.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { VirtualClock } from "./clock.ts";
 * const clock = new VirtualClock();
 * const [a, b] = memoryPair({ clock });
 * b.onFrames((batch) => console.log(batch.count)); // 2
 * a.sendMany([frame1, frame2]);
 * clock.advance(0);
 * ```
 *
 * @module
 */
import { LINKTYPE } from "../../layers/link_type.ts";
import { CaptureError, toCaptureError } from "../errors.ts";
import type { FrameBatch } from "../frame.ts";
import { VirtualClock, clockStamp } from "./clock.ts";
import { subscribe, type Clock, type Device } from "./device.ts";

/** The Ethernet header the MTU does not count (RFC 894: the MTU is the IP datagram's). */
const ETHERNET_HEADER = 14;
/** errno EMSGSIZE on Linux, so the error reads as the kernel's would. */
const EMSGSIZE = 90;

/** Options of {@link memoryPair}. */
export interface MemoryPairOptions {
  /** the clock both ends share and deliver on (default: a new {@link VirtualClock} at 0) */
  clock?: Clock | undefined;
  /** the link's IP MTU (default 1500) */
  mtu?: number | undefined;
  /** the two ends' names (default "mem0", "mem1") */
  names?: readonly [string, string] | undefined;
}

/**
 * One end of a {@link memoryPair}.
 *
 * @example
 * ```ts
 * const [a, b] = memoryPair();
 * a.send(frame);
 * a.sent; // 1
 * ```
 */
export class MemoryDevice implements Device {
  readonly name: string;
  readonly linkType: number = LINKTYPE.ETHERNET;
  readonly mtu: number;
  readonly clock: Clock;
  /** frames this end has sent so far */
  sent = 0;
  /** frames handed to this end's handlers so far */
  received = 0;
  #peer: MemoryDevice | null = null;
  #handlers = new Set<(batch: FrameBatch) => void>();
  #inbox = new Inbox();
  #spare = new Inbox();
  #tick: (() => void) | null = null;
  #closed = false;

  /** Prefer {@link memoryPair}: an end alone has nobody to talk to. */
  constructor(name: string, clock: Clock, mtu: number) {
    if (!Number.isInteger(mtu) || mtu < 1) throw new RangeError(`An MTU is a positive integer, not ${mtu}`);
    this.name = name;
    this.clock = clock;
    this.mtu = mtu;
  }

  /** Join two ends (what {@link memoryPair} does). */
  static connect(a: MemoryDevice, b: MemoryDevice): void {
    if (a.clock !== b.clock) throw new TypeError("The two ends of a memory link must share one clock");
    a.#peer = b;
    b.#peer = a;
  }

  /** Whether {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Send one frame: copied now, delivered to the other end on the clock's next tick. */
  send(frame: Uint8Array): void {
    this.#check(frame);
    const peer = this.#peer;
    if (peer !== null) peer.#enqueue(frame);
    this.sent++;
  }

  /** Send frames in order; either all are accepted or (a bad frame) none is. */
  sendMany(frames: readonly Uint8Array[]): void {
    if (!Array.isArray(frames)) throw new TypeError("frames must be an array of Uint8Array");
    for (const f of frames) this.#check(f);
    const peer = this.#peer;
    if (peer !== null) for (const f of frames) peer.#enqueue(f);
    this.sent += frames.length;
  }

  /** Call `handler` with each batch that arrives; returns a function that unsubscribes. */
  onFrames(handler: (batch: FrameBatch) => void): () => void {
    return subscribe(this.#handlers, this.#closed, handler);
  }

  /** Stop sending and receiving; frames still on the way to this end are dropped. */
  close(): void {
    this.#closed = true;
    this.#handlers.clear();
    this.#inbox = new Inbox();
    this.#tick?.();
    this.#tick = null;
  }

  #check(frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array) || frame.length === 0) throw new TypeError("frame must be a non-empty Uint8Array");
    if (this.#closed) throw new CaptureError("ECLOSED", `Cannot send on "${this.name}": it is already closed`, "closed", this.name);
    if (frame.length > this.mtu + ETHERNET_HEADER) {
      throw toCaptureError({ message: "Message too long", errno: EMSGSIZE }, { action: "send on", device: this.name, frameLength: frame.length });
    }
  }

  #enqueue(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#inbox.add(frame);
    this.#tick ??= this.clock.setTimer(0, () => this.#deliver());
  }

  #deliver(): void {
    this.#tick = null;
    // Two inboxes taken in turn: frames sent while this batch is handed round start the next one.
    const inbox = this.#inbox;
    this.#inbox = this.#spare;
    this.#spare = inbox;
    if (inbox.count === 0 || this.#handlers.size === 0) {
      inbox.clear();
      return;
    }
    this.received += inbox.count;
    const batch = inbox.batch(clockStamp(this.clock.now()));
    // A snapshot: a handler may unsubscribe itself or another while the batch is handed round.
    for (const h of [...this.#handlers]) if (this.#handlers.has(h)) h(batch);
    inbox.clear();
  }
}

/**
 * Frames waiting for delivery, copied once into one growing buffer that the
 * batch then views (a batch is valid during its callback only, so the buffer
 * is reused for a later batch).
 */
class Inbox {
  buffer = new Uint8Array(1 << 16);
  used = 0;
  count = 0;
  offset = new Uint32Array(64);
  caplen = new Uint32Array(64);

  add(frame: Uint8Array): void {
    const n = frame.length;
    if (this.used + n > this.buffer.length) {
      const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.used + n));
      bigger.set(this.buffer.subarray(0, this.used));
      this.buffer = bigger;
    }
    if (this.count === this.offset.length) {
      const o = new Uint32Array(this.count * 2);
      o.set(this.offset);
      this.offset = o;
      const c = new Uint32Array(this.count * 2);
      c.set(this.caplen);
      this.caplen = c;
    }
    this.buffer.set(frame, this.used);
    this.offset[this.count] = this.used;
    this.caplen[this.count] = n;
    this.used += n;
    this.count++;
  }

  batch(at: { sec: number; nsec: number }): FrameBatch {
    const n = this.count;
    const caplen = this.caplen.subarray(0, n);
    return {
      count: n,
      buffer: this.buffer,
      offset: this.offset.subarray(0, n),
      caplen,
      length: caplen,
      sec: new Float64Array(n).fill(at.sec),
      nsec: new Uint32Array(n).fill(at.nsec),
      linkType: new Uint32Array(n).fill(LINKTYPE.ETHERNET),
      interfaceId: new Uint32Array(n),
    };
  }

  clear(): void {
    this.used = 0;
    this.count = 0;
  }
}

/**
 * Two Ethernet {@link Device}s joined in memory, on one clock: a frame sent on
 * one is delivered to the other as part of a batch on the clock's next timer
 * tick. See the module comment.
 *
 * @example
 * ```ts
 * const [a, b] = memoryPair({ mtu: 9000, names: ["left", "right"] });
 * a.clock === b.clock; // true (a VirtualClock)
 * ```
 */
export function memoryPair(options: MemoryPairOptions = {}): [MemoryDevice, MemoryDevice] {
  const clock = options.clock ?? new VirtualClock();
  const mtu = options.mtu ?? 1500;
  const [n0, n1] = options.names ?? ["mem0", "mem1"];
  const a = new MemoryDevice(n0, clock, mtu);
  const b = new MemoryDevice(n1, clock, mtu);
  MemoryDevice.connect(a, b);
  return [a, b];
}
