/**
 * How the CLI ends on bad input or a failure: one line on stderr,
 * `stackts: <what> : <why>`, and an exit code (2 for usage errors, 1 for
 * runtime failures). No stack trace unless `STACKTS_DEBUG=1`.
 *
 * Errors from the library (capture files, live capture, BPF) carry their own
 * sentence-case message; {@link reportError} puts it in the one-line form.
 *
 * @example
 * ```ts
 * import { UsageError, reportError } from "./errors.ts";
 * const code = reportError(new UsageError("-c", "expected a positive integer, got 'x'"));
 * // stderr: "stackts: -c : expected a positive integer, got 'x'", code 2
 * ```
 *
 * @module
 */
import { writeSync } from "node:fs";

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

/** A failure the CLI reports in one line: `stackts: <what> : <why>`. */
export class CliError extends Error {
  /** what was being done or looked at (a file, an option, an interface) */
  readonly what: string;
  /** why it failed */
  readonly why: string;
  /** process exit code */
  readonly exitCode: number;

  constructor(what: string, why: string, exitCode: number = EXIT.failure, options?: { cause?: unknown }) {
    super(`${what} : ${why}`, options);
    this.name = "CliError";
    this.what = what;
    this.why = why;
    this.exitCode = exitCode;
  }
}

/** Bad command-line input: exit code 2. */
export class UsageError extends CliError {
  constructor(what: string, why: string) {
    super(what, why, EXIT.usage);
    this.name = "UsageError";
  }
}

/** Whether stack traces were asked for. */
export function debugEnabled(): boolean {
  const v = process.env["STACKTS_DEBUG"];
  return v !== undefined && v !== "" && v !== "0";
}

/** Write one line to stderr, ignoring a closed stderr. */
export function stderrLine(text: string): void {
  try {
    writeSync(2, text + "\n");
  } catch {
    // stderr gone: nothing left to tell
  }
}

/** Collapse a message to one line (libpcap texts sometimes end in a newline). */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, "; ").trim();
}

/**
 * Report `err` in the one-line form and return the exit code to use.
 * `what` names the subject when the error does not (e.g. the file being read).
 */
export function reportError(err: unknown, what = "error"): number {
  if (debugEnabled() && err instanceof Error && err.stack) stderrLine(err.stack);
  if (err instanceof CliError) {
    stderrLine(`stackts: ${oneLine(err.what)} : ${oneLine(err.why)}`);
    return err.exitCode;
  }
  const e = err as { message?: unknown; code?: unknown } | null;
  const message = e && typeof e.message === "string" ? e.message : String(err);
  stderrLine(`stackts: ${oneLine(what)} : ${oneLine(message)}`);
  return EXIT.failure;
}
