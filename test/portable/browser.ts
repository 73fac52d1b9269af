/**
 * Runs the portable cases in a browser page (browser.html): the report goes
 * into the page as text and into `globalThis.portableReport`, where
 * test/portable.test.ts reads it through the DevTools protocol.
 *
 * @module
 */
import { cases } from "./cases.ts";
import { reportLines, runCases, type Report } from "./run.ts";

// The page's globals, typed here: the project's tsconfig has no DOM library.
const page = globalThis as unknown as {
  navigator: { userAgent: string };
  document: { getElementById(id: string): { textContent: string | null } | null };
  portableReport?: Report;
};
const browser = /(?:HeadlessChrome|Chrome|Firefox|Version)\/[\d.]+/.exec(page.navigator.userAgent);
const report = runCases(cases, `browser ${browser?.[0] ?? page.navigator.userAgent}`);
const out = page.document.getElementById("report");
if (out !== null) out.textContent = reportLines(report).slice(0, -1).join("\n");
page.portableReport = report;
