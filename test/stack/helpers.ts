/**
 * Test helpers for the stack: a pair of stacks over an in-memory link on one
 * virtual clock, and `settle`, which runs that clock until a promise settles,
 * letting promise continuations (socket calls awaiting the stack) run
 * between timers.
 */
import { VirtualClock } from "../../src/device/clock.ts";
import { memoryPair } from "../../src/device/memory.ts";
import { StackDriver } from "../../src/stack/driver.ts";
import { seededRandom } from "../../src/stack/random.ts";
import { Sockets } from "../../src/stack/sockets.ts";
import type { StackOptions } from "../../src/stack/stack.ts";

/** Let ready promise continuations run (a few microtask turns, then one macrotask turn now and then). */
async function drain(turn: number): Promise<void> {
  for (let k = 0; k < 6; k++) await Promise.resolve();
  if (turn % 64 === 0) await new Promise((r) => setImmediate(r));
}

/**
 * Run `clock` until `p` settles, at most `limitMs` of virtual time; returns
 * its value or throws its error (or a timeout error).
 */
export async function settle<T>(clock: VirtualClock, p: Promise<T>, limitMs = 600_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let failed = false;
  let error: unknown;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      failed = true;
      error = e;
    },
  );
  const end = clock.now() + limitMs;
  for (let turn = 1; ; turn++) {
    await drain(turn);
    if (done) break;
    const due = clock.nextDue();
    if (due === null) {
      await new Promise((r) => setImmediate(r));
      if (done) break;
      throw new Error(`nothing left to run at ${clock.now()} ms and the promise is still pending`);
    }
    if (due > end) throw new Error(`did not settle within ${limitMs} ms of virtual time`);
    clock.advance(Math.max(0, due - clock.now()));
  }
  if (failed) throw error;
  return value as T;
}

/** Advance the virtual clock by `ms`, letting continuations run. */
export function sleep(clock: VirtualClock, ms: number): Promise<null> {
  return settle(clock, new Promise<null>((r) => clock.setTimer(ms, () => r(null))));
}

/** Two stacks, A (10.9.0.1, fd09::1) and B (.2, ::2), over memory. */
export function memoryLab(seed = 1, options: Partial<Omit<StackOptions, "transmit" | "random">> = {}, mtu = 1500) {
  const clock = new VirtualClock();
  const [d0, d1] = memoryPair({ clock, mtu });
  const a = new StackDriver(d0, { mac: "02:00:00:00:00:0a", ipv4: ["10.9.0.1/24"], ipv6: ["fd09::1/64"], random: seededRandom(seed), ...options });
  const b = new StackDriver(d1, { mac: "02:00:00:00:00:0b", ipv4: ["10.9.0.2/24"], ipv6: ["fd09::2/64"], random: seededRandom(seed + 1000), ...options });
  return { clock, a, b, sa: new Sockets(a), sb: new Sockets(b), d0, d1 };
}
