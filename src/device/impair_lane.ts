/**
 * One direction of an {@link impair} wrapper (impair.ts): the settings it
 * takes ({@link Impairment}), what it counts ({@link ImpairStats}) and the
 * {@link Lane} that applies them in order (drop, duplicate, corrupt, rate,
 * delay, reorder) and hands the frames on, at once or on the clock. Split
 * from impair.ts, which documents each knob, to keep the device apart from
 * the engine.
 *
 * @example
 * ```ts
 * import { Lane, resolveLane } from "./impair_lane.ts";
 * const lane = new Lane(resolveLane({ drop: 0.1 }, undefined), 1, 0, clock, (frames) => device.sendMany(frames));
 * lane.offer(frame, false);
 * lane.flush();
 * ```
 *
 * @module
 */
import { randomBelow, randomFraction, seededRandom, type Random } from "../stack/random.ts";
import type { Clock } from "./device.ts";
import { DueHeap } from "./due_heap.ts";

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

/** What one direction of an impair wrapper did, counted in frames. */
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
export interface LaneSettings {
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

function isDone(e: Pending): boolean {
  return e.done;
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
export function resolveLane(shared: Impairment, own: Impairment | undefined): LaneSettings {
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
export class Lane {
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
  /** waiting frames by (due, seq); entries marked done are skipped */
  readonly #heap = new DueHeap<Pending>();
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
    for (const e of this.#heap.items) if (!e.done) n++;
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
      this.#heap.push(e);
      this.#arm();
      return;
    }
    if (due <= now && this.#waiting === 0) {
      this.#pass(frame, seq);
      return;
    }
    this.#heap.push({ due, seq, frame: owned ? frame : frame.slice(), kind: 0, remaining: 0, done: false });
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
      this.#heap.pop();
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

  /** Stop: what waits is dropped, no timer stays set. */
  close(): void {
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#heap.clear();
    this.#held = [];
    this.#out = [];
  }

  /** The earliest entry not yet done (done ones are dropped from the top). */
  #top(): Pending | undefined {
    return this.#heap.topWhere(isDone);
  }
}

