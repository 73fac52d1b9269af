/**
 * Waiting for an answer: the first frame that matches, within a time limit.
 *
 * - {@link waitForFrame} works on any {@link Device} and its clock (live, in
 *   memory, virtual time). It subscribes when called, so call it before
 *   sending what the frame answers: a reply faster than the `await` is not
 *   lost.
 * - {@link nextFrame} / {@link startReading} are the older helpers over a
 *   {@link LiveCapture}'s async iterator, in real time (kept for their users).
 *
 * @example
 * ```ts
 * import { waitForFrame } from "./wait.ts";
 * const answer = waitForFrame(device, (frame) => frame[12] === 0x08 && frame[13] === 0x06, 1000);
 * device.send(arpRequest);
 * const frame = await answer; // a Frame (own copy), or null after 1000 ms of device time
 * ```
 *
 * @module
 */
import { batchData, frameAt, type Frame } from "../frame.ts";
import type { LiveCapture } from "../live.ts";
import type { Device } from "./device.ts";

/**
 * The first frame arriving on `device` for which `match` is true, copied out
 * of its batch; null when `timeoutMs` of the device's clock pass first, or when
 * `signal` aborts. `match` sees the frame's bytes as a view valid during the
 * call only. An exception from `match` rejects the promise. The subscription
 * and the timer end with the promise, whichever way it settles.
 *
 * @example
 * ```ts
 * const reply = waitForFrame(device, (f, linkType) => isMyReply(f, linkType), 500);
 * device.send(request);
 * if ((await reply) === null) console.log("no answer within 500 ms");
 * ```
 */
export function waitForFrame(
  device: Device,
  match: (frame: Uint8Array, linkType: number) => boolean,
  timeoutMs: number,
  signal?: AbortSignalLike,
): Promise<Frame | null> {
  return new Promise<Frame | null>((resolve, reject) => {
    let done = false;
    let unsubscribe: (() => void) | null = null;
    let cancelTimer: (() => void) | null = null;
    const end = (): boolean => {
      if (done) return false;
      done = true;
      unsubscribe?.();
      cancelTimer?.();
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (end()) resolve(null);
    };
    if (signal?.aborted === true) {
      resolve(null);
      return;
    }
    unsubscribe = device.onFrames((batch) => {
      if (done) return;
      for (let i = 0; i < batch.count; i++) {
        let hit: boolean;
        try {
          hit = match(batchData(batch, i), batch.linkType[i]!);
        } catch (err) {
          if (end()) reject(err);
          return;
        }
        if (hit) {
          const frame = frameAt(batch, i);
          if (end()) resolve(frame);
          return;
        }
      }
    });
    cancelTimer = device.clock.setTimer(timeoutMs, () => {
      if (end()) resolve(null);
    });
    signal?.addEventListener("abort", onAbort);
  });
}

/**
 * The part of an `AbortSignal` {@link waitForFrame} uses. Named structurally so
 * the published types need neither the DOM library nor `@types/node`; any
 * `AbortSignal` (`new AbortController().signal`) fits.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * One reader per handle: its iterator and the `next()` still pending when a wait
 * timed out. That promise is kept and raced again by the next wait, so a frame
 * arriving between two waits is never handed to a promise nobody awaits.
 */
interface Reader {
  it: AsyncIterator<Frame>;
  pending: Promise<IteratorResult<Frame>> | null;
}

const readers = new WeakMap<LiveCapture, Reader>();

function readerOf(capture: LiveCapture): Reader {
  let r = readers.get(capture);
  if (r === undefined) {
    r = { it: capture[Symbol.asyncIterator](), pending: null };
    readers.set(capture, r);
  }
  return r;
}

/**
 * The next frame a handle delivers within `ms` (real time), or null when none
 * came in time or the handle closed. Reading starts with the first call (or
 * {@link startReading}).
 *
 * @example
 * ```ts
 * startReading(capture);
 * capture.inject(request);
 * const frame = await nextFrame(capture, 1000);
 * ```
 */
export async function nextFrame(capture: LiveCapture, ms: number): Promise<Frame | null> {
  const reader = readerOf(capture);
  const pending = (reader.pending ??= reader.it.next());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    const r = await Promise.race([pending, timeout]);
    if (r === null) return null;
    reader.pending = null;
    return r.done === true ? null : r.value;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Subscribe to a handle's frames now, before sending what they answer.
 *
 * @example
 * ```ts
 * startReading(capture); // frames from here on wait for nextFrame
 * ```
 */
export function startReading(capture: LiveCapture): void {
  readerOf(capture);
}
