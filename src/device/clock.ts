/**
 * Two {@link Clock}s: {@link systemClock}, real time and Node's timers, and
 * {@link VirtualClock}, whose time moves only when told to, so a test replays a
 * retransmission timeout or a loss pattern to the millisecond and runs in no
 * real time at all (smoltcp's and netstack3's tests work the same way: the
 * stack never reads a clock of its own).
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./clock.ts";
 * const clock = new VirtualClock();
 * const fired: number[] = [];
 * clock.setTimer(1000, () => fired.push(clock.now()));
 * clock.setTimer(200, () => fired.push(clock.now()));
 * clock.advance(1500);
 * fired; // [200, 1000]
 * clock.now(); // 1500
 * ```
 *
 * @module
 */
import type { Clock } from "./device.ts";
import { DueHeap } from "./due_heap.ts";

/**
 * Real time: `now()` is `performance.timeOrigin + performance.now()`, monotonic
 * (it never steps back when the wall clock is set) and, because it starts from
 * the process's start in Unix milliseconds, also readable as a time stamp (see
 * {@link clockStamp}). Timers are Node's `setTimeout`, except that a timer
 * due now (0 ms or less) runs on `setImmediate`: `setTimeout(fn, 0)` waits at
 * least 1 ms, which a stack that asks for a turn after every socket call
 * would pay on every send and close. A pending timer keeps the process
 * alive, as a pending socket read would.
 */
export const systemClock: Clock = {
  now(): number {
    return performance.timeOrigin + performance.now();
  },
  setTimer(ms: number, fn: () => void): () => void {
    if (ms <= 0) {
      const immediate = setImmediate(fn);
      return () => clearImmediate(immediate);
    }
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * A clock time in milliseconds as a frame time stamp: whole seconds and
 * nanoseconds. For {@link systemClock} that is Unix time; for a virtual clock,
 * time since the clock's start.
 *
 * @example
 * ```ts
 * clockStamp(1500.25); // { sec: 1, nsec: 500250000 }
 * ```
 */
export function clockStamp(ms: number): { sec: number; nsec: number } {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)) };
}

/** One pending timer of a {@link VirtualClock}. */
interface Timer {
  due: number;
  /** order of setting: timers due at the same time run in the order they were set */
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

function isCancelled(t: Timer): boolean {
  return t.cancelled;
}

/** Let every promise continuation that is ready run (a macrotask turn drains the microtask queue). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told to. Timers run in time order (same time:
 * the order they were set), each with `now()` equal to its due time; a timer
 * set while timers run, due before the target, runs in the same call.
 *
 * - {@link advance} moves time synchronously (no promise continuations run in
 *   between timers: for code that reacts inside timer callbacks only);
 * - {@link runUntilIdle} runs one timer at a time and lets promise
 *   continuations run after each, the way Node's own event loop does: for
 *   async code (`await waitForFrame(...)`) driven by this clock.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "./clock.ts";
 * const clock = new VirtualClock();
 * const slept = new Promise<number>((resolve) => clock.setTimer(3000, () => resolve(clock.now())));
 * await clock.runUntilIdle(10_000); // true: no timer left
 * await slept; // 3000
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  /** timers by (due, seq); cancelled ones are dropped when they reach the top */
  readonly #heap = new DueHeap<Timer>();
  #live = 0;

  /** A clock reading `start` ms (default 0). */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The clock's time, ms. */
  now(): number {
    return this.#now;
  }

  /**
   * Run `fn` once when the clock reaches now + `ms` (0 or less: at the next
   * {@link advance} or {@link runUntilIdle}, never inside this call). Returns
   * a function that cancels it.
   */
  setTimer(ms: number, fn: () => void): () => void {
    const t: Timer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#heap.push(t);
    this.#live++;
    return () => {
      if (t.cancelled) return;
      t.cancelled = true;
      this.#live--;
    };
  }

  /** How many timers are set and not yet run or cancelled. */
  get pending(): number {
    return this.#live;
  }

  /** When the next timer is due, or null when none is set. */
  nextDue(): number | null {
    return this.#peek()?.due ?? null;
  }

  /**
   * Move time forward by `ms`, running every timer due until then, in time
   * order; afterwards `now()` is the old time plus `ms`. A timer that throws
   * stops the call (time stays at that timer's due time; later timers wait).
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Cannot move a clock back or by ${ms} ms`);
    const target = this.#now + ms;
    for (;;) {
      const t = this.#peek();
      if (t === undefined || t.due > target) break;
      this.#runTop(t);
    }
    this.#now = target;
  }

  /**
   * Run timers one at a time, letting promise continuations run after each,
   * until none is left (resolves true) or the next one is due more than
   * `limitMs` after the start (resolves false, with `now()` at start +
   * `limitMs`). Waits for real time only as long as one turn of Node's event
   * loop per timer: no sleeping.
   */
  async runUntilIdle(limitMs = Infinity): Promise<boolean> {
    const end = this.#now + limitMs;
    for (;;) {
      await settle();
      const t = this.#peek();
      if (t === undefined) return true;
      if (t.due > end) {
        this.#now = Math.max(this.#now, end);
        return false;
      }
      this.#runTop(t);
    }
  }

  #runTop(t: Timer): void {
    this.#heap.pop();
    this.#live--;
    t.cancelled = true;
    if (t.due > this.#now) this.#now = t.due;
    t.fn();
  }

  /** The earliest live timer, after dropping cancelled ones from the top. */
  #peek(): Timer | undefined {
    return this.#heap.topWhere(isCancelled);
  }
}
