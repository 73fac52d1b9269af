// Build the report page (src/report/page/main.ts, uPlot and the styles) into
// dist/report-page/page.js and page.css with esbuild: one script and one
// style that src/report/html.ts inlines into every report. Run by
// `npm run build:ts` after tsc.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

await build({
  entryPoints: [join(ROOT, "src/report/page/main.ts")],
  outfile: join(ROOT, "dist/report-page/page.js"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  platform: "browser",
  legalComments: "none",
  logLevel: "warning",
});
