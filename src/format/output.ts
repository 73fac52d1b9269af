/**
 * Buffered text output for the CLI: lines are appended as UTF-8 to a byte buffer
 * ({@link TextBuffer}) and written to the file descriptor in one system call per
 * batch (or when the buffer passes a threshold), never one write per line. That
 * is most of what makes printing fast. The `stackts read` fast path writes the
 * text of a line straight into {@link Output.buffer} and ends it with
 * {@link Output.endLine}, so such a line is never a string.
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
 * out.buffer.ascii("port ");
 * out.buffer.uint(53);
 * out.endLine();
 * out.flush();
 * ```
 *
 * @module
 */
import { writeSync } from "node:fs";
import { TextBuffer } from "./text_buffer.ts";

/** Flush when the pending text passes this many bytes. */
const FLUSH_AT = 1 << 16;
/** A buffer grown past this by one huge line is replaced by a new one once flushed. */
const KEEP_AT_MOST = 1 << 20;

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
  /** the pending text; write into it and end each line with {@link endLine} */
  buffer = new TextBuffer(FLUSH_AT + 4096);

  constructor(fd = 1) {
    this.fd = fd;
  }

  /** Append one line (a newline is added). */
  line(text: string): void {
    this.buffer.text(text);
    this.endLine();
  }

  /** Append text as given (no newline added). */
  text(text: string): void {
    this.buffer.text(text);
    if (this.buffer.pos >= FLUSH_AT) this.flush();
  }

  /** End the line written into {@link buffer} (adds the newline). */
  endLine(): void {
    const b = this.buffer;
    b.byte(10);
    if (b.pos >= FLUSH_AT) this.flush();
  }

  /**
   * Write everything pending in one call (a few more if the kernel takes it in
   * parts). Errors other than EPIPE are thrown.
   */
  flush(): void {
    const b = this.buffer;
    const n = b.pos;
    b.pos = 0;
    if (!this.closed && n > 0) writeAll(this, b.bytes, 0, n);
    if (b.bytes.length > KEEP_AT_MOST) this.buffer = new TextBuffer(FLUSH_AT + 4096);
  }

  /** Write raw bytes now (after whatever text is pending). */
  bytes(data: Uint8Array): void {
    this.flush();
    if (this.closed || data.length === 0) return;
    writeAll(this, data, 0, data.length);
  }
}

function writeAll(out: Output, data: Uint8Array, from: number, to: number): void {
  let off = from;
  let waits = 0;
  while (off < to) {
    try {
      off += writeSync(out.fd, data, off, to - off);
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
