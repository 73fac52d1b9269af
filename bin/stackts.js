#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist/ by `npm run build`).
import("../dist/src/cli/main.js").then(
  (m) => m.main(process.argv.slice(2)),
  (err) => {
    process.stderr.write(`stackts: cannot start : ${err && err.message ? err.message : err} (run 'npm run build' first)\n`);
    process.exitCode = 1;
  },
);
