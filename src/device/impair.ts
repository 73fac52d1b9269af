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
import { randomBelow, randomFraction, seededRandom, type Random } from "../stack/random.ts";
import { clockStamp } from "./clock.ts";
import type { Clock, Device } from "./device.ts";

/** The Ethernet header the MTU does not count (RFC 894). */
const ETHERNET_HEADER = 14;
/** errno EMSGSIZE on Linux, so the error reads as a device's would. */
const EMSGSIZE = 90;
/** Clock slack when comparing due times (a timer set for `due - now` may land a rounding error early). */
const EPSILON_MS = 1e-6;

/** What happens to frames in one direction. Every field is optional and off (0) by default. */
export interface Impairment {
  /** probability, 0..1, that a frame is lost */
  drop?: number | undefined;
  /** probability, 0..1, that a frame is sent twice */
  duplicate?: number | undefined;
  /** probability, 0..1, that a frame has one random bit flipped */
  corrupt?: number | undefined;
  /** probability, 0..1, that a frame is held back (see `reorderFrames`, `reorderMs`) */
  reorder?: number | undefined;
  /** a held-back frame waits until this many later frames have left (default 3; 0: by time only) */
  reorderFrames?: number | undefined;
  /** ... or this many ms, whichever comes first (default 50; with `reorderFrames: 0` the hold time) */
  reorderMs?: number | undefined;
  /** fixed one-way delay, ms */
  delayMs?: number | undefined;
  /** the delay varies uniformly by ± this many ms (without reordering) */
  jitterMs?: number | undefined;
  /** link rate, bits per second (0: unlimited, no queue) */
  rateBps?: number | undefined;
  /** with a rate: most frames queued or being serialized before tail drop (default 1000, Linux's txqueuelen) */
  queueFrames?: number | undefined;
  /** with a rate: most bytes queued or being serialized before tail drop (default unlimited) */
  queueBytes?: number | undefined;
}

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

/** What one direction of an {@link ImpairedDevice} did, counted in frames. */
export interface ImpairStats {
  /** frames offered (before any impairment) */
  frames: number;
  /** bytes offered */
  bytes: number;
  /** lost by `drop` */
  dropped: number;
  /** frames that got a second copy */
  duplicated: number;
  /** copies with a flipped bit */
  corrupted: number;
  /** copies held back by `reorder` */
  reordered: number;
  /** copies tail-dropped by a full rate queue */
  queueDropped: number;
  /** copies handed on (sent on the wrapped device, or to the receive handlers) */
  delivered: number;
  /** delayed frames the wrapped device refused when their time came (e.g. it was closed) */
  sendErrors: number;
}

/** Every knob of one direction, resolved and checked. */
interface LaneSettings {
  drop: number;
  duplicate: number;
  corrupt: number;
  reorder: number;
  reorderFrames: number;
  reorderMs: number;
  delayMs: number;
  jitterMs: number;
  rateBps: number;
  queueFrames: number;
  queueBytes: number;
}

/** A frame waiting in a lane. */
interface Pending {
  due: number;
  /** order offered: ties on `due` leave in this order, and reorder counts frames offered after */
  seq: number;
  frame: Uint8Array;
  /** 0: in order; 1: held back until `remaining` later frames left (or `due`); 2: held back by time */
  kind: 0 | 1 | 2;
  remaining: number;
  done: boolean;
}

function probability(name: string, v: number | undefined): number {
  const p = v ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} is a probability between 0 and 1, not ${v}`);
  return p;
}

function nonNegative(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!(x >= 0)) throw new RangeError(`${name} must be 0 or more, not ${v}`);
  return x;
}

/** One direction's settings: the direction's own field, else the shared one, else the default. */
function resolve(shared: Impairment, own: Impairment | undefined): LaneSettings {
  const pick = <K extends keyof Impairment>(k: K): Impairment[K] => own?.[k] ?? shared[k];
  const s: LaneSettings = {
    drop: probability("drop", pick("drop")),
    duplicate: probability("duplicate", pick("duplicate")),
    corrupt: probability("corrupt", pick("corrupt")),
    reorder: probability("reorder", pick("reorder")),
    reorderFrames: nonNegative("reorderFrames", pick("reorderFrames"), 3),
    reorderMs: nonNegative("reorderMs", pick("reorderMs"), 50),
    delayMs: nonNegative("delayMs", pick("delayMs"), 0),
    jitterMs: nonNegative("jitterMs", pick("jitterMs"), 0),
    rateBps: nonNegative("rateBps", pick("rateBps"), 0),
    queueFrames: nonNegative("queueFrames", pick("queueFrames"), 1000),
    queueBytes: nonNegative("queueBytes", pick("queueBytes"), Infinity),
  };
  if (!Number.isInteger(s.reorderFrames)) throw new RangeError(`reorderFrames must be a whole number, not ${s.reorderFrames}`);
  if (s.reorder > 0 && s.reorderFrames === 0 && s.reorderMs === 0) {
    throw new RangeError("reorder needs reorderFrames or reorderMs above 0: a frame held back for nothing is not reordered");
  }
  return s;
}

/** Whether a direction changes nothing (its frames pass straight through). */
function transparent(s: LaneSettings): boolean {
  return s.drop === 0 && s.duplicate === 0 && s.corrupt === 0 && s.reorder === 0 && s.delayMs === 0 && s.jitterMs === 0 && s.rateBps === 0;
}

/** A seed for knob `knob` of direction `lane`: distinct streams from one user seed. */
function streamSeed(seed: number, lane: number, knob: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(lane * 8 + knob + 1, 0x85ebca6b)) >>> 0;
}

function newStats(): ImpairStats {
  return { frames: 0, bytes: 0, dropped: 0, duplicated: 0, corrupted: 0, reordered: 0, queueDropped: 0, delivered: 0, sendErrors: 0 };
}

/**
 * One direction: frames are offered, impaired, and handed to `emit` in
 * groups (at once when nothing makes them wait, else when their time comes on
 * the clock).
 */
class Lane {
  readonly stats = newStats();
  readonly #s: LaneSettings;
  readonly transparent: boolean;
  readonly #clock: Clock;
  readonly #emit: (frames: Uint8Array[], fromTimer: boolean) => void;
  readonly #rDrop: Random;
  readonly #rDuplicate: Random;
  readonly #rCorrupt: Random;
  readonly #rReorder: Random;
  readonly #rJitter: Random;
  /** waiting frames, a binary min-heap by (due, seq); entries marked done are skipped */
  #heap: Pending[] = [];
  /** frames held until later frames pass them (also in the heap, for their deadline) */
  #held: Pending[] = [];
  /** in-order frames in the heap: while any waits, a new frame may not overtake it */
  #waiting = 0;
  #seq = 0;
  /** the latest due time given to an in-order frame (FIFO under jitter) */
  #lastDue = -Infinity;
  /** rate queue: when each frame in it finishes serializing, and its length */
  #queueFinish: number[] = [];
  #queueLength: number[] = [];
  #queueHead = 0;
  #queueBytes = 0;
  #lastFinish = -Infinity;
  /** frames ready to go out in this call or timer */
  #out: Uint8Array[] = [];
  #cancelTimer: (() => void) | null = null;
  #timerAt = Infinity;
  #closed = false;

  constructor(s: LaneSettings, seed: number, lane: number, clock: Clock, emit: (frames: Uint8Array[], fromTimer: boolean) => void) {
    this.#s = s;
    this.transparent = transparent(s);
    this.#clock = clock;
    this.#emit = emit;
    this.#rDrop = seededRandom(streamSeed(seed, lane, 0));
    this.#rDuplicate = seededRandom(streamSeed(seed, lane, 1));
    this.#rCorrupt = seededRandom(streamSeed(seed, lane, 2));
    this.#rReorder = seededRandom(streamSeed(seed, lane, 3));
    this.#rJitter = seededRandom(streamSeed(seed, lane, 4));
  }

  /** Frames waiting (delayed, queued or held back). */
  get pending(): number {
    let n = 0;
    for (const e of this.#heap) if (!e.done) n++;
    return n;
  }

  /**
   * Impair one frame. `owned`: the lane may keep `frame` as it is (else it
   * copies what waits). Frames that go at once collect until {@link flush}.
   */
  offer(frame: Uint8Array, owned: boolean): void {
    const s = this.#s;
    const st = this.stats;
    st.frames++;
    st.bytes += frame.length;
    if (s.drop > 0 && randomFraction(this.#rDrop) < s.drop) {
      st.dropped++;
      return;
    }
    const twice = s.duplicate > 0 && randomFraction(this.#rDuplicate) < s.duplicate;
    // The copy after the original, each on its own way through the later stages.
    this.#one(frame, owned && !twice);
    if (twice) {
      st.duplicated++;
      this.#one(frame, false);
    }
  }

  #one(frame: Uint8Array, owned: boolean): void {
    const s = this.#s;
    const st = this.stats;
    const now = this.#clock.now();
    if (s.corrupt > 0 && randomFraction(this.#rCorrupt) < s.corrupt) {
      if (!owned) frame = frame.slice();
      owned = true;
      const at = randomBelow(this.#rCorrupt, frame.length);
      frame[at] = frame[at]! ^ (1 << randomBelow(this.#rCorrupt, 8));
      st.corrupted++;
    }
    let due = now;
    if (s.rateBps > 0) {
      // The frames whose last bit has gone have left the queue.
      const fin = this.#queueFinish;
      while (this.#queueHead < fin.length && fin[this.#queueHead]! <= now + EPSILON_MS) {
        this.#queueBytes -= this.#queueLength[this.#queueHead]!;
        this.#queueHead++;
      }
      if (this.#queueHead > 1024 && this.#queueHead * 2 > fin.length) {
        fin.splice(0, this.#queueHead);
        this.#queueLength.splice(0, this.#queueHead);
        this.#queueHead = 0;
      }
      if (fin.length - this.#queueHead >= s.queueFrames || this.#queueBytes + frame.length > s.queueBytes) {
        st.queueDropped++;
        return;
      }
      const finish = Math.max(now, this.#lastFinish) + (frame.length * 8000) / s.rateBps;
      this.#lastFinish = finish;
      fin.push(finish);
      this.#queueLength.push(frame.length);
      this.#queueBytes += frame.length;
      due = finish;
    }
    if (s.delayMs > 0 || s.jitterMs > 0) {
      const jitter = s.jitterMs > 0 ? s.jitterMs * (2 * randomFraction(this.#rJitter) - 1) : 0;
      due += Math.max(0, s.delayMs + jitter);
    }
    // Jitter never reorders: no earlier than the frame offered before this one.
    if (due < this.#lastDue) due = this.#lastDue;
    this.#lastDue = due;
    const seq = this.#seq++;
    if (s.reorder > 0 && randomFraction(this.#rReorder) < s.reorder) {
      st.reordered++;
      const e: Pending = {
        due: due + s.reorderMs,
        seq,
        frame: owned ? frame : frame.slice(),
        kind: s.reorderFrames > 0 ? 1 : 2,
        remaining: s.reorderFrames,
        done: false,
      };
      if (e.kind === 1) this.#held.push(e);
      this.#push(e);
      this.#arm();
      return;
    }
    if (due <= now && this.#waiting === 0) {
      this.#pass(frame, seq);
      return;
    }
    this.#push({ due, seq, frame: owned ? frame : frame.slice(), kind: 0, remaining: 0, done: false });
    this.#waiting++;
    this.#arm();
  }

  /** Queue a frame to go now; frames held back by count see one more frame pass them. */
  #pass(frame: Uint8Array, seq: number): void {
    this.#out.push(frame);
    this.stats.delivered++;
    const held = this.#held;
    if (held.length === 0) return;
    let released: Pending[] | null = null;
    for (let i = 0; i < held.length; ) {
      const h = held[i]!;
      if (seq > h.seq && --h.remaining <= 0) {
        held.splice(i, 1);
        h.done = true;
        (released ??= []).push(h);
      } else i++;
    }
    if (released !== null) for (const h of released) this.#pass(h.frame, h.seq);
  }

  /** Hand over the frames collected for now (errors from a send in the caller's call propagate). */
  flush(fromTimer = false): void {
    if (this.#out.length === 0) return;
    const frames = this.#out;
    this.#out = [];
    this.#emit(frames, fromTimer);
  }

  #fire(): void {
    this.#cancelTimer = null;
    this.#timerAt = Infinity;
    if (this.#closed) return;
    const now = this.#clock.now() + EPSILON_MS;
    for (;;) {
      const e = this.#top();
      if (e === undefined || e.due > now) break;
      this.#pop();
      if (e.kind === 1) {
        const i = this.#held.indexOf(e);
        if (i >= 0) this.#held.splice(i, 1);
      } else if (e.kind === 0) this.#waiting--;
      e.done = true;
      this.#pass(e.frame, e.seq);
    }
    this.flush(true);
    this.#arm();
  }

  /** One timer, at the earliest due time. */
  #arm(): void {
    const top = this.#top();
    const at = top === undefined ? Infinity : top.due;
    if (at === this.#timerAt) return;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#cancelTimer = this.#clock.setTimer(at - this.#clock.now(), () => this.#fire());
  }

  close(): void {
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#heap = [];
    this.#held = [];
    this.#out = [];
  }

  /** The earliest entry not yet done (done ones are dropped from the top). */
  #top(): Pending | undefined {
    const h = this.#heap;
    while (h.length > 0 && h[0]!.done) this.#pop();
    return h[0];
  }

  #push(e: Pending): void {
    const h = this.#heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (p.due < e.due || (p.due === e.due && p.seq < e.seq)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r]!.due < h[l]!.due || (h[r]!.due === h[l]!.due && h[r]!.seq < h[l]!.seq)) ? r : l;
      const x = h[c]!;
      if (last.due < x.due || (last.due === x.due && last.seq < x.seq)) break;
      h[i] = x;
      i = c;
    }
    h[i] = last;
  }
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
    this.#send = new Lane(resolve(options, options.send), seed, 0, device.clock, (frames, fromTimer) => this.#sendOut(frames, fromTimer));
    this.#receive = new Lane(resolve(options, options.receive), seed, 1, device.clock, (frames) => this.#hand(batchOf(frames, this.clock.now(), this.linkType)));
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
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    if (this.#closed) return () => {};
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
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
