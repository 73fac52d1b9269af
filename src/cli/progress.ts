/**
 * A progress line on stderr for long work (`report` over a large file, `read`
 * and `capture -w` with a terminal on stderr): packets, bytes, the rate, and
 * for a file the share done. On a terminal the line is rewritten in place
 * (`\r`, erase to end of line) at most every {@link INTERVAL_MS} and erased at
 * the end; when asked for without a terminal (`report --progress`) each update
 * is a line of its own, and the last one is always written. Never on stdout.
 *
 * @example
 * ```ts
 * import { ProgressLine } from "./progress.ts";
 * const p = ProgressLine.forStderr("read", { total: 1_000_000 });
 * p?.update(5000, 420_000, 250_000);
 * p?.end();
 * ```
 *
 * @module
 */
import { writeSync } from "node:fs";

/** Least time between two updates, in milliseconds. */
export const INTERVAL_MS = 250;

function si(n: number, unit: string): string {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " G" + unit;
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M" + unit;
  if (n >= 1e3) return (n / 1e3).toFixed(1) + " k" + unit;
  return Math.round(n) + " " + unit;
}

/** One progress line. */
export class ProgressLine {
  readonly #label: string;
  readonly #tty: boolean;
  readonly #total: number | null;
  readonly #fd: number;
  readonly #delayMs: number;
  readonly #t0 = performance.now();
  #last = -Infinity;
  #text = "";
  #shown = false;

  /** `delayMs`: show nothing before this much time has passed (short work stays quiet) */
  constructor(label: string, options: { tty: boolean; total?: number | null; fd?: number; delayMs?: number }) {
    this.#label = label;
    this.#delayMs = options.delayMs ?? 0;
    this.#tty = options.tty;
    this.#total = options.total ?? null;
    this.#fd = options.fd ?? 2;
  }

  /**
   * A progress line for stderr: when stderr is a terminal, or always when
   * `force`; otherwise null (nothing to show). `total` is the file's size.
   */
  static forStderr(label: string, options: { total?: number | null; force?: boolean; delayMs?: number } = {}): ProgressLine | null {
    const tty = process.stderr.isTTY === true;
    if (!tty && options.force !== true) return null;
    return new ProgressLine(label, { tty, total: options.total ?? null, delayMs: options.delayMs ?? 0 });
  }

  /** The text of the line for these counts (no time check, no output). */
  format(packets: number, bytes: number, position: number | null): string {
    const seconds = Math.max((performance.now() - this.#t0) / 1000, 1e-6);
    let s = `stackts ${this.#label}: ${packets} packets, ${si(bytes, "B")}, ${si(packets / seconds, "packets/s")}`;
    if (this.#total !== null && this.#total > 0 && position !== null) s += `, ${Math.min(100, Math.floor((position / this.#total) * 100))}%`;
    return s;
  }

  /** Show the counts if the last update is old enough. */
  update(packets: number, bytes: number, position: number | null = null): void {
    const now = performance.now();
    this.#text = this.format(packets, bytes, position);
    if (now - this.#last < INTERVAL_MS || now - this.#t0 < this.#delayMs) return;
    this.#last = now;
    this.#write();
  }

  #write(): void {
    try {
      writeSync(this.#fd, this.#tty ? "\r\x1b[K" + this.#text : this.#text + "\n");
      this.#shown = true;
    } catch {
      // stderr closed: nothing to show
    }
  }

  /** End the line: on a terminal erase it; otherwise write the last counts (given, or the last update's). */
  end(packets?: number, bytes?: number, position: number | null = null): void {
    if (packets !== undefined && bytes !== undefined) this.#text = this.format(packets, bytes, position);
    try {
      if (this.#tty) {
        if (this.#shown) writeSync(this.#fd, "\r\x1b[K");
      } else if (this.#text !== "") writeSync(this.#fd, this.#text + "\n");
    } catch {
      // stderr closed
    }
  }
}
