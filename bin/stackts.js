#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli, compiled to dist/ by `npm run build`:
// dist/cli/ is its bundle (scripts/build_cli.mjs), loaded when it is at least as
// new as tsc's dist/src/cli/main.js, so a `tsc` run alone is never shadowed by a
// stale bundle.
import { statSync } from "node:fs";
import module from "node:module";

// Node 22.1+ keeps compiled code between runs (a no-op where it is absent).
module.enableCompileCache?.();
const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = mtime("../dist/cli/main.js");
const entry = bundle >= 0 && bundle >= mtime("../dist/src/cli/main.js") ? "../dist/cli/main.js" : "../dist/src/cli/main.js";
import(entry).then(
  (m) => m.main(process.argv.slice(2)),
  (err) => {
    process.stderr.write(`stackts: cannot start : ${err && err.message ? err.message : err} (run 'npm run build' first)\n`);
    process.exitCode = 1;
  },
);
