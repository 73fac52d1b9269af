/**
 * Buffered text output for the CLI: lines are appended to a string and written
 * to the file descriptor in one system call per batch (or when the buffer passes
 * a threshold), never one write per line. That is most of what makes printing
 * fast.
 *
 * Writes are synchronous (`fs.writeSync`): the order of stdout and stderr is then
 * what the user expects, and nothing is lost when the process exits. A reader that
 * goes away (`stackts read big.pcap | head`) makes the write fail with EPIPE;
 * the output then marks itself {@link Output.closed} and drops everything after,
 * so the command can stop quietly instead of printing an error.
 *
 * @example
 * ```ts
 * import { Output } from "./output.ts";
 * const out = new Output(1);
 * out.line("hello");
 * out.flush();
 * ```
 *
 * @module
 */
import { writeSync } from "node:fs";

/** Flush when the pending text passes this many UTF-16 code units. */
const FLUSH_AT = 1 << 16;

// For a non-blocking descriptor (a pipe someone else set O_NONBLOCK on) a full
// pipe answers EAGAIN: wait a little, synchronously, and try again.
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Buffered, EPIPE-aware writer over a file descriptor. */
export class Output {
  /** the descriptor written to (1 for stdout) */
  readonly fd: number;
  /** true once the reader went away (EPIPE): further text is dropped */
  closed = false;
  #pending = "";

  constructor(fd = 1) {
    this.fd = fd;
  }

  /** Append one line (a newline is added). */
  line(text: string): void {
    this.#pending += text + "\n";
    if (this.#pending.length >= FLUSH_AT) this.flush();
  }

  /** Append text as given (no newline added). */
  text(text: string): void {
    this.#pending += text;
    if (this.#pending.length >= FLUSH_AT) this.flush();
  }

  /**
   * Write everything pending in one call (a few more if the kernel takes it in
   * parts). Errors other than EPIPE are thrown.
   */
  flush(): void {
    const text = this.#pending;
    this.#pending = "";
    if (this.closed || text.length === 0) return;
    // Hand the string to writeSync, which encodes it as UTF-8 straight into
    // the kernel's buffer: no Buffer to allocate and copy per flush (measured
    // ~10% less time spent on output). Only when the kernel took part of it, or
    // refused it (EAGAIN), are the bytes made, to write the rest in order.
    let written = 0;
    try {
      written = writeSync(this.fd, text);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPIPE" || code === "ECONNRESET") {
        this.closed = true;
        return;
      }
      if (code !== "EAGAIN") throw err;
    }
    if (written < Buffer.byteLength(text, "utf8")) writeAll(this, Buffer.from(text, "utf8"), written);
  }

  /** Write raw bytes now (after whatever text is pending). */
  bytes(data: Uint8Array): void {
    this.flush();
    if (this.closed || data.length === 0) return;
    writeAll(this, data);
  }
}

function writeAll(out: Output, data: Uint8Array, from = 0): void {
  let off = from;
  let waits = 0;
  while (off < data.length) {
    try {
      off += writeSync(out.fd, data, off, data.length - off);
      waits = 0;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPIPE" || code === "ECONNRESET") {
        out.closed = true;
        return;
      }
      if (code === "EAGAIN") {
        pause(waits < 10 ? 1 : 10);
        waits++;
        continue;
      }
      throw err;
    }
  }
}

/** Whether an error is the "reader went away" kind that should end output quietly. */
export function isBrokenPipe(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ERR_STREAM_DESTROYED";
}
