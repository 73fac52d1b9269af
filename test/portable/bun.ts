/**
 * Runs the portable cases in Bun, straight from the .ts sources:
 * `bun test/portable/bun.ts`. Prints one line per failure, the count, then the
 * report as JSON for test/portable.test.ts; exits 1 when a case failed.
 *
 * @module
 */
import { cases } from "./cases.ts";
import { reportLines, runCases } from "./run.ts";

// Reached through globalThis so that tsc (Node's types) accepts it without Bun's types.
const bun = (globalThis as unknown as { Bun: { version: string } }).Bun;
const report = runCases(cases, `bun ${bun.version}`);
for (const line of reportLines(report)) console.log(line);
(globalThis as unknown as { process: { exitCode: number } }).process.exitCode = report.failed === 0 ? 0 : 1;
