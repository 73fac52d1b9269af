/**
 * Runs the portable cases and reports in one shape for every runtime: each
 * runner (deno.ts, bun.ts, browser.ts) calls {@link runCases}, prints
 * {@link reportLines} and hands the report back to test/portable.test.ts,
 * which fails on any failed case and checks that every case ran.
 *
 * @example
 * ```ts
 * import { cases } from "./cases.ts";
 * import { reportLines, runCases } from "./run.ts";
 * for (const line of reportLines(runCases(cases, "deno 2.9.6"))) console.log(line);
 * ```
 *
 * @module
 */
import type { Case } from "./cases.ts";

/** What one runtime made of the cases. */
export interface Report {
  /** runtime and version, e.g. "deno 2.9.6" */
  runtime: string;
  passed: number;
  failed: number;
  /** the name of every case run, in order */
  names: string[];
  failures: { name: string; message: string }[];
}

/** The prefix of the one stdout line that carries the report as JSON. */
export const REPORT_PREFIX = "portable-report ";

/**
 * Run every case; a case fails when it throws (an assertion or anything else).
 *
 * @example
 * ```ts
 * const report = runCases(cases, "bun 1.4.5");
 * ```
 */
export function runCases(cases: readonly Case[], runtime: string): Report {
  const report: Report = { runtime, passed: 0, failed: 0, names: [], failures: [] };
  for (const c of cases) {
    report.names.push(c.name);
    try {
      c.run();
      report.passed++;
    } catch (e) {
      report.failed++;
      const message = e instanceof Error ? `${e.name}: ${e.message}${e.name === "AssertionError" ? "" : `\n${e.stack ?? ""}`}` : String(e);
      report.failures.push({ name: c.name, message });
    }
  }
  return report;
}

/**
 * The report as text: one line per failure, a closing count, then the JSON line.
 *
 * @example
 * ```ts
 * reportLines(report).at(-2) // "deno 2.9.6: 61 passed, 0 failed"
 * ```
 */
export function reportLines(report: Report): string[] {
  const lines = report.failures.map((f) => `FAIL ${f.name}\n  ${f.message.replace(/\n/g, "\n  ")}`);
  lines.push(`${report.runtime}: ${report.passed} passed, ${report.failed} failed`);
  lines.push(REPORT_PREFIX + JSON.stringify(report));
  return lines;
}
