/**
 * A capture of everything a {@link Device} sends and receives: {@link tap}
 * wraps a device and writes each frame going out and each frame coming in to
 * a capture file, as it passes, with the device clock's time. In a pcapng
 * file every block carries its direction in epb_flags (inbound 1, outbound 2;
 * draft-ietf-opsawg-pcapng 4.3.1), which Wireshark and tshark show as
 * `frame.packet_flags_direction`; a pcap file has no place for it and gets
 * the frames alone.
 *
 * Wrap where you want to look: a tap under an {@link impair} wrapper sees the
 * frames as the wire carries them (after loss); above it, as the stack sends
 * and receives them.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * import { openTap } from "./tap.ts";
 * const [a, b] = memoryPair();
 * const tapped = openTap(a, "a.pcapng"); // then run a stack on `tapped`
 * // ... later
 * tapped.close(); // closes `a` and the file
 * ```
 *
 * @module
 */
import { openCaptureWriter } from "../capture_file.ts";
import type { Frame, FrameBatch } from "../frame.ts";
import { PCAPNG_EPB_DIRECTION } from "../pcapng_blocks.ts";
import { clockStamp } from "./clock.ts";
import { subscribe, type Clock, type Device } from "./device.ts";

/**
 * Where a tap writes: any capture writer (`openCaptureWriter`'s). One whose
 * `write` takes the epb_flags word (`PcapngWriter`) records the direction.
 */
export interface TapWriter {
  write(frame: Frame, epbFlags?: number): void;
  flush(): void;
  close(): void;
}

/** Options of {@link tap}. */
export interface TapOptions {
  /** the interface id written with each frame (default 0) */
  interfaceId?: number | undefined;
  /** close the writer when the device closes (default true) */
  closeWriter?: boolean | undefined;
}

/**
 * A {@link Device} whose frames in and out are written to a capture file;
 * made by {@link tap} or {@link openTap}. It owns the tapped device:
 * {@link close} closes it (and, by default, the writer).
 *
 * @example
 * ```ts
 * const tapped = tap(device, openCaptureWriter("run.pcapng", { interfaces: [{ linkType: 1 }] }));
 * tapped.framesOut; // frames written as sent so far
 * ```
 */
export class TappedDevice implements Device {
  readonly name: string;
  readonly linkType: number;
  readonly mtu: number;
  readonly clock: Clock;
  /** the device underneath */
  readonly inner: Device;
  readonly writer: TapWriter;
  /** frames written as received */
  framesIn = 0;
  /** frames written as sent */
  framesOut = 0;
  readonly #interfaceId: number;
  readonly #closeWriter: boolean;
  readonly #handlers = new Set<(batch: FrameBatch) => void>();
  readonly #unsubscribe: () => void;
  #closed = false;

  /** Prefer {@link tap}. */
  constructor(device: Device, writer: TapWriter, options: TapOptions = {}) {
    this.inner = device;
    this.writer = writer;
    this.name = device.name;
    this.linkType = device.linkType;
    this.mtu = device.mtu;
    this.clock = device.clock;
    this.#interfaceId = options.interfaceId ?? 0;
    this.#closeWriter = options.closeWriter ?? true;
    this.#unsubscribe = device.onFrames((batch) => this.#arrived(batch));
  }

  /** Send one frame, then write it (a frame the device refuses is not written). */
  send(frame: Uint8Array): void {
    this.inner.send(frame);
    this.#write(frame, PCAPNG_EPB_DIRECTION.OUTBOUND);
    this.framesOut++;
  }

  /** Send frames in order, then write them. */
  sendMany(frames: readonly Uint8Array[]): void {
    this.inner.sendMany(frames);
    for (const f of frames) this.#write(f, PCAPNG_EPB_DIRECTION.OUTBOUND);
    this.framesOut += frames.length;
  }

  /** Call `handler` with each batch that arrives (written before the handlers see it). */
  onFrames(handler: (batch: FrameBatch) => void): () => void {
    return subscribe(this.#handlers, this.#closed, handler);
  }

  /** Write out what is buffered (the file is complete up to now). */
  flush(): void {
    this.writer.flush();
  }

  /** Close the tapped device and (unless told otherwise) the writer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#unsubscribe();
    this.inner.close();
    if (this.#closeWriter) this.writer.close();
    else this.writer.flush();
  }

  #write(data: Uint8Array, direction: number): void {
    const { sec, nsec } = clockStamp(this.clock.now());
    this.writer.write({ data, length: data.length, sec, nsec, linkType: this.linkType, interfaceId: this.#interfaceId }, direction);
  }

  #arrived(batch: FrameBatch): void {
    if (this.#closed) return;
    const { buffer, offset, caplen } = batch;
    for (let i = 0; i < batch.count; i++) {
      const start = offset[i]!;
      this.#write(buffer.subarray(start, start + caplen[i]!), PCAPNG_EPB_DIRECTION.INBOUND);
    }
    this.framesIn += batch.count;
    if (this.#handlers.size === 0) return;
    for (const h of [...this.#handlers]) if (this.#handlers.has(h)) h(batch);
  }
}

/**
 * Write every frame `device` sends and receives to `writer`, with its
 * direction (pcapng) and the device clock's time. See the module comment.
 *
 * @example
 * ```ts
 * import { openCaptureWriter } from "../capture_file.ts";
 * const w = openCaptureWriter("lab.pcapng", { interfaces: [{ linkType: 1, name: device.name }], nanoseconds: true });
 * const tapped = tap(device, w);
 * ```
 */
export function tap(device: Device, writer: TapWriter, options: TapOptions = {}): TappedDevice {
  return new TappedDevice(device, writer, options);
}

/**
 * {@link tap} into a new file at `path` (pcapng for .pcapng/.ntar names, which
 * keeps the directions; pcap otherwise), one interface named after the
 * device, nanosecond time stamps.
 *
 * @example
 * ```ts
 * const tapped = openTap(device, "/tmp/stack.pcapng");
 * // stackts read /tmp/stack.pcapng; tshark -r /tmp/stack.pcapng -T fields -e frame.packet_flags_direction
 * ```
 */
export function openTap(device: Device, path: string): TappedDevice {
  const writer = openCaptureWriter(path, { interfaces: [{ linkType: device.linkType, name: device.name }], nanoseconds: true });
  return tap(device, writer);
}
