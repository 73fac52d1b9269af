/**
 * Runs the portable cases in Deno, straight from the .ts sources as a Deno user
 * imports them: `deno run test/portable/deno.ts` (no permissions needed: the
 * cases do no I/O). Prints one line per failure, the count, then the report as
 * JSON for test/portable.test.ts; exits 1 when a case failed.
 *
 * @module
 */
import { cases } from "./cases.ts";
import { reportLines, runCases } from "./run.ts";

// Reached through globalThis so that tsc (Node's types) and deno check both accept it.
const deno = (globalThis as unknown as { Deno: { version: { deno: string }; exit(code: number): never } }).Deno;
const report = runCases(cases, `deno ${deno.version.deno}`);
for (const line of reportLines(report)) console.log(line);
deno.exit(report.failed === 0 ? 0 : 1);
