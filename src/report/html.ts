/**
 * The report page as one self-contained HTML file: the page's script and
 * style (built from src/report/page/ by esbuild into `dist/report-page/` at
 * `npm run build:ts`, uPlot included) and the report's data, all inline, so
 * the file opens from disk with no network.
 *
 * The data goes in a `<script type="application/json">` element with every
 * `<` written as `\u003c`, so no string in a capture (a DNS name, an HTTP
 * header) can end the element early.
 *
 * @example
 * ```ts
 * import { reportHtml } from "./html.ts";
 * import { writeFileSync } from "node:fs";
 * writeFileSync("report.html", reportHtml(data));
 * ```
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ReportData } from "./model.ts";

/** The built page: its script and style. */
export interface PageAssets {
  script: string;
  style: string;
}

let cached: PageAssets | null = null;

/**
 * The page's script and style, read once. Looked for beside the compiled
 * module (dist/src/report → dist/report-page; from the command's bundle,
 * dist/cli → dist/report-page) and, when this module runs from source, in
 * dist/ of the checkout. Throws when the page was never built.
 */
export function pageAssets(): PageAssets {
  if (cached !== null) return cached;
  const candidates = [
    new URL("../../report-page/", import.meta.url),
    new URL("../report-page/", import.meta.url),
    new URL("../../dist/report-page/", import.meta.url),
  ];
  for (const dir of candidates) {
    const js = fileURLToPath(new URL("page.js", dir));
    const css = fileURLToPath(new URL("page.css", dir));
    if (existsSync(js) && existsSync(css)) {
      cached = { script: readFileSync(js, "utf8"), style: readFileSync(css, "utf8") };
      return cached;
    }
  }
  throw new Error("Cannot find the report page (dist/report-page/page.js): run 'npm run build:ts'");
}

function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The data as JSON safe inside a script element. */
export function dataJson(data: ReportData): string {
  return JSON.stringify(data).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** The whole page for `data`. */
export function reportHtml(data: ReportData, assets: PageAssets = pageAssets()): string {
  // A "</script" or "</style" inside the bundle would end its element: break it.
  const script = assets.script.replace(/<\/(script)/gi, "<\\/$1");
  const style = assets.style.replace(/<\/(style)/gi, "<\\/$1");
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No icon to fetch: a served page would otherwise ask for /favicon.ico.
    '<link rel="icon" href="data:,">',
    `<title>stackts report: ${escapeText(data.file)}</title>`,
    `<style>${style}</style>`,
    "</head>",
    "<body>",
    '<div id="app"></div>',
    `<script type="application/json" id="stackts-data">${dataJson(data)}</script>`,
    `<script>${script}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
