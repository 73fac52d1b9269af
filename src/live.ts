/**
 * Live capture through libpcap, and injection on the capture's own handle
 * (`inject`, pcap_inject) or the fast injector (`injectMany`, injector.ts).
 *
 * Frames arrive in batches: one call from the native side per readable event,
 * carrying every frame that was ready. Two ways to consume them:
 *
 * - {@link LiveCapture.onBatch}: zero-copy {@link FrameBatch}, valid only
 *   during the callback (fastest; copy what you keep);
 * - `for await (const frame of capture)`: {@link Frame}s that own their bytes.
 *   The queue behind the iterator is bounded; when it is full the capture stops
 *   reading, the kernel's ring fills and the kernel counts what it drops
 *   (`stats().dropped`). Frames already delivered are never dropped.
 *
 * ```ts
 * import { openLive } from "./live.ts";
 * const cap = openLive("eth0", { filter: "icmp" });
 * for await (const f of cap) {
 *   console.log(f.sec, f.nsec, f.data.length);
 *   break;
 * }
 * cap.close();
 * ```
 *
 * @module
 */
import { linkTypeOfDlt } from "./bpf.ts";
import { CaptureError, sendManyError, toCaptureError, type FailureContext } from "./errors.ts";
import type { Frame, FrameBatch } from "./frame.ts";
import { openInjector, type Injector } from "./injector.ts";
import { defaultBufferSize, ringSlotSize } from "./live_buffer.ts";
import type { CaptureStats, LiveConfig, LiveOptions } from "./live_options.ts";
import { loadAddon, type NativeBuffers, type NativeLiveHandle } from "./native.ts";

// The injector, the buffer sizes and the option and counter types have their own
// modules; exported here too, where they always were.
export { Injector, openInjector, type InjectorOptions } from "./injector.ts";
export { defaultBufferSize } from "./live_buffer.ts";
export type { CaptureStats, Direction, LiveConfig, LiveOptions } from "./live_options.ts";

const DLT_LINUX_SLL2 = 276; // = LINKTYPE_LINUX_SLL2

const DEFAULT_SNAPLEN = 262144;
const MIB = 1 << 20;

/** A bounded queue of copied frames for one async iterator. */
class FrameQueue {
  frames: Frame[] = [];
  head = 0;
  error: Error | null = null;
  ended = false;
  waiter: { resolve: (r: IteratorResult<Frame>) => void; reject: (e: Error) => void } | null = null;

  get size(): number {
    return this.frames.length - this.head;
  }

  push(f: Frame): void {
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: f, done: false });
      return;
    }
    this.frames.push(f);
  }

  shift(): Frame | undefined {
    if (this.head >= this.frames.length) return undefined;
    const f = this.frames[this.head++];
    // Compact now and then so the array does not grow without bound.
    if (this.head >= 4096 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return f;
  }

  finish(error: Error | null): void {
    if (this.error === null && !this.ended) {
      this.error = error;
      this.ended = true;
    }
    if (this.waiter !== null && this.size === 0) {
      const w = this.waiter;
      this.waiter = null;
      if (this.error !== null) w.reject(this.error);
      else w.resolve({ value: undefined, done: true });
    }
  }
}

/**
 * An open live capture. Create it with {@link openLive}. Reading starts when a
 * consumer subscribes (onBatch or iteration) and stops when none is left;
 * close it when done (it is also closed on garbage collection and at exit).
 */
export class LiveCapture implements AsyncIterable<Frame> {
  readonly device: string;
  /** LINKTYPE_* of the device (1 = Ethernet) */
  readonly linkType: number;
  /** libpcap's name of the link type, e.g. "EN10MB" */
  readonly linkTypeName: string | null;
  /** warnings from activation (e.g. promiscuous mode not supported), never printed by us */
  readonly warnings: readonly string[];
  readonly config: Readonly<LiveConfig>;

  #handle: NativeLiveHandle | null;
  #native: NativeBuffers;
  #batch: FrameBatch;
  #listeners = new Set<(batch: FrameBatch) => void>();
  #errorListeners = new Set<(err: Error) => void>();
  #queues = new Set<FrameQueue>();
  #reading = false;
  #delivered = 0;
  #lastStats: CaptureStats | null = null;
  #injector: Injector | null = null;
  #netns: string | undefined;
  #names = new Map<number, string | null>();
  #callback = (count: number, error?: unknown): void => this.#onNative(count, error);

  /** Prefer {@link openLive}. Throws {@link CaptureError} (ENODEV, ENETDOWN, EPERM, EFILTER, ENONETNS, EIO). */
  constructor(device: string, options: LiveOptions = {}) {
    if (typeof device !== "string" || device === "") throw new TypeError("device must be a non-empty string");
    const snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > DEFAULT_SNAPLEN) {
      throw new RangeError(`snaplen must be an integer in 1..${DEFAULT_SNAPLEN}`);
    }
    const immediate = options.immediate ?? true;
    const bufferSize = options.bufferSize ?? defaultBufferSize(snaplen, immediate);
    const timeoutMs = options.timeoutMs ?? 100;
    const queueFrames = options.queueFrames ?? 65536;
    if (!Number.isInteger(queueFrames) || queueFrames < 1) throw new RangeError("queueFrames must be a positive integer");
    const direction = options.direction ?? "inout";
    this.#netns = options.netns;
    const ctx: FailureContext = { action: "capture on", device, ...(options.netns === undefined ? {} : { netns: options.netns }) };
    const addon = loadAddon();
    const batchBytes = Math.max(4 * MIB, 8 * snaplen);
    let handle: NativeLiveHandle;
    try {
      handle = new addon.LiveHandle(
        device,
        {
          snaplen,
          promisc: options.promisc ?? true,
          bufferSize,
          immediate,
          timeoutMs,
          nano: (options.precision ?? "nano") === "nano",
          direction: options.direction ?? "",
          ...(options.netns === undefined ? {} : { netns: options.netns }),
          batchBytes,
          batchFrames: 8192,
          datalink: options.linkType ?? (device === "any" ? DLT_LINUX_SLL2 : -1),
          gro: options.gro ?? false,
        },
      );
    } catch (err) {
      throw toCaptureError(err, ctx);
    }
    if (options.filter !== undefined) {
      try {
        handle.setFilter(options.filter);
      } catch (err) {
        handle.close();
        throw toCaptureError(err, { ...ctx, filter: options.filter });
      }
    }
    const info = handle.info();
    this.#handle = handle;
    this.#native = handle.buffers();
    this.device = device;
    this.linkType = linkTypeOfDlt(info.linkType); // libpcap's DLT as the LINKTYPE files carry
    this.linkTypeName = info.linkTypeName;
    this.warnings = Object.freeze([...info.warnings]);
    this.config = Object.freeze({
      device,
      netns: options.netns ?? null,
      snaplen: info.snaplen,
      promisc: options.promisc ?? true,
      bufferSize,
      immediate,
      timeoutMs,
      precision: info.precision,
      direction,
      filter: options.filter ?? null,
      ringFrames: immediate ? Math.floor(bufferSize / ringSlotSize(info.snaplen)) : null,
      batchFrames: info.batchFrames,
      batchBytes: info.batchBytes,
      queueFrames,
    });
    const n = info.batchFrames;
    this.#batch = {
      count: 0,
      buffer: this.#native.buffer,
      offset: this.#native.offset,
      caplen: this.#native.caplen,
      length: this.#native.length,
      sec: this.#native.sec,
      nsec: this.#native.nsec,
      linkType: new Uint32Array(n).fill(this.linkType),
      interfaceId: new Uint32Array(n),
    };
  }

  /** Name of interface `index` in the capture's namespace (a LINUX_SLL2 frame's index), or null; cached. */
  interfaceName(index: number): string | null {
    const known = this.#names.get(index);
    if (known !== undefined) return known;
    let name: string | null = null;
    try {
      name = this.#handle?.interfaceName(index) ?? null;
    } catch {
      // closed or gone: no name
    }
    if (this.#names.size < 4096) this.#names.set(index, name);
    return name;
  }

  /** Whether {@link close} has run (or a fatal error closed the capture). */
  get closed(): boolean {
    return this.#handle === null;
  }

  /**
   * Call `listener` with each batch. The batch and its buffer are reused: they
   * are valid only until the listener returns. Returns a function that
   * unsubscribes. Reading starts with the first subscriber.
   */
  onBatch(listener: (batch: FrameBatch) => void): () => void {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    this.#listeners.add(listener);
    this.#updateReading();
    return () => {
      this.#listeners.delete(listener);
      this.#updateReading();
    };
  }

  /**
   * Call `listener` when reading fails (e.g. the interface went away); the
   * capture is closed by then. Without any error listener or iterator such an
   * error is thrown as an uncaught exception.
   */
  onError(listener: (err: Error) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** Replace the BPF filter. Throws {@link CaptureError} EFILTER for a bad expression. */
  setFilter(expression: string): void {
    const h = this.#open("set a filter on");
    try {
      h.setFilter(expression);
    } catch (err) {
      throw toCaptureError(err, { ...this.#ctx("capture on"), filter: expression });
    }
  }

  /** Counters from libpcap (pcap_stats) plus frames delivered; after close, the last values seen. */
  stats(): CaptureStats {
    if (this.#handle === null) {
      return this.#lastStats ?? { received: 0, dropped: 0, ifDropped: 0, delivered: this.#delivered, merged: 0 };
    }
    let s;
    try {
      s = this.#handle.stats();
    } catch (err) {
      throw toCaptureError(err, this.#ctx("read statistics of"));
    }
    // overflow counts frames libpcap gave us that did not fit a batch: by
    // construction none, but if it ever happens it is a drop and is reported as one.
    this.#lastStats = { received: s.received, dropped: s.dropped + s.overflow, ifDropped: s.ifDropped, delivered: this.#delivered, merged: s.merged };
    return this.#lastStats;
  }

  /**
   * Send one whole frame (link-layer header included) with pcap_inject. This
   * capture does not see frames it sent itself. Throws {@link CaptureError}
   * (EMSGSIZE for frames longer than MTU + link header, ENETDOWN, EPERM, ECLOSED).
   */
  inject(frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array) || frame.length === 0) throw new TypeError("frame must be a non-empty Uint8Array");
    const h = this.#open("send on");
    try {
      h.inject(frame);
    } catch (err) {
      throw toCaptureError(err, { ...this.#ctx("send on"), frameLength: frame.length });
    }
  }

  /**
   * Send frames in order on this capture's own socket (sendmmsg, 256 per
   * call), through the traffic-control path: other captures on the interface
   * see them, this one does not, and no second socket is opened or closed (a
   * packet socket's close waits out an RCU grace period, ~10 ms). A stack's
   * host sends so. Returns how many were sent: all, or it throws
   * {@link CaptureError} (EMSGSIZE, ENETDOWN, ECLOSED), the message naming the
   * frame that failed.
   */
  sendMany(frames: readonly Uint8Array[]): number {
    if (!Array.isArray(frames)) throw new TypeError("frames must be an array of Uint8Array");
    const h = this.#open("send on");
    try {
      return h.sendMany(frames);
    } catch (err) {
      throw sendManyError(err, frames, this.#ctx("send on"));
    }
  }

  /**
   * Send many frames fast (sendmmsg on an AF_PACKET socket that bypasses the
   * qdisc, opened on first use on the same device and namespace). Returns how
   * many were sent: all, or it throws.
   */
  injectMany(frames: readonly Uint8Array[]): number {
    this.#open("send on");
    if (this.#injector === null) {
      this.#injector = openInjector(this.device, this.#netns === undefined ? {} : { netns: this.#netns });
    }
    return this.#injector.injectMany(frames);
  }

  /** Keep the process alive while reading (the default), like `socket.ref()`. */
  ref(): this {
    this.#handle?.setRef(true);
    return this;
  }

  /** Let the process exit even while this capture is reading, like `socket.unref()`. */
  unref(): this {
    this.#handle?.setRef(false);
    return this;
  }

  /**
   * Stop reading and release the handle. Iterators still yield the frames they
   * hold, then end. Safe to call more than once.
   */
  close(): void {
    this.#shutdown(null);
  }

  /**
   * Copies of the frames, in order. The queue holds at most
   * `queueFrames` + one batch; while it is full the capture stops reading and
   * the kernel counts the drops. Breaking out of the loop unsubscribes but does
   * not close the capture.
   */
  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    const q = new FrameQueue();
    if (this.#handle === null) q.finish(null);
    else this.#queues.add(q);
    this.#updateReading();
    const low = Math.max(1, Math.floor(this.config.queueFrames / 2));
    return {
      next: (): Promise<IteratorResult<Frame>> => {
        const f = q.shift();
        if (f !== undefined) {
          if (!this.#reading && q.size <= low) this.#updateReading();
          return Promise.resolve({ value: f, done: false });
        }
        if (q.ended) {
          this.#queues.delete(q);
          return q.error !== null ? Promise.reject(q.error) : Promise.resolve({ value: undefined, done: true });
        }
        if (!this.#reading) this.#updateReading();
        return new Promise((resolve, reject) => {
          q.waiter = { resolve, reject };
        });
      },
      return: (): Promise<IteratorResult<Frame>> => {
        this.#queues.delete(q);
        q.finish(null);
        this.#updateReading();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #ctx(action: string): FailureContext {
    return { action, device: this.device, ...(this.#netns === undefined ? {} : { netns: this.#netns }) };
  }

  #open(action: string): NativeLiveHandle {
    if (this.#handle === null) {
      throw new CaptureError("ECLOSED", `Cannot ${action} "${this.device}": the capture is closed`, "closed", this.device);
    }
    return this.#handle;
  }

  #full(): boolean {
    for (const q of this.#queues) if (q.size >= this.config.queueFrames) return true;
    return false;
  }

  /** Read while someone listens and no iterator queue is full; otherwise let the kernel ring take the load. */
  #updateReading(): void {
    const want = this.#handle !== null && (this.#listeners.size > 0 || this.#queues.size > 0) && !this.#full();
    if (want === this.#reading || this.#handle === null) return;
    if (want) this.#handle.start(this.#callback);
    else this.#handle.stop();
    this.#reading = want;
  }

  #onNative(count: number, error: unknown): void {
    if (count >= 0) {
      const batch = this.#batch;
      batch.count = count;
      this.#delivered += count;
      if (this.#queues.size > 0) {
        const { buffer, offset, caplen, length, sec, nsec } = this.#native;
        const linkType = this.linkType;
        for (let i = 0; i < count; i++) {
          const start = offset[i]!;
          const data = buffer.slice(start, start + caplen[i]!);
          const frame: Frame = { data, length: length[i]!, sec: sec[i]!, nsec: nsec[i]!, linkType, interfaceId: 0 };
          // Each iterator owns its frames: the first gets this copy, any other its own.
          let first = true;
          for (const q of this.#queues) {
            q.push(first ? frame : { ...frame, data: data.slice() });
            first = false;
          }
        }
      }
      for (const l of this.#listeners) l(batch);
      if (this.#full()) this.#updateReading();
      return;
    }
    const err = toCaptureError(error, this.#ctx("capture on"));
    const heard = this.#queues.size > 0 || this.#errorListeners.size > 0;
    this.#shutdown(err);
    for (const l of this.#errorListeners) l(err);
    if (!heard) throw err;
  }

  #shutdown(err: Error | null): void {
    if (this.#handle !== null) {
      try {
        this.stats();
      } catch {
        // keep the last counters we had
      }
      this.#handle.close();
      this.#handle = null;
      this.#reading = false;
    }
    this.#injector?.close();
    this.#injector = null;
    this.#listeners.clear();
    for (const q of this.#queues) q.finish(err);
  }
}

/** Open a live capture on `device`. See {@link LiveOptions} for the defaults. */
export function openLive(device: string, options: LiveOptions = {}): LiveCapture {
  return new LiveCapture(device, options);
}
