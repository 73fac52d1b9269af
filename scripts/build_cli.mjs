#!/usr/bin/env node
// The `stackts` command as one bundle (dist/cli/): src/cli/main.ts and what it
// imports, put together by esbuild, each subcommand a chunk loaded on demand.
// Node loads ~75 modules for `stackts read` from dist/src/; resolving,
// reading and linking them was a third of the command's start-up time
// (100 ms vs 70 ms bundled, Node 20 on the bench machine). bin/stackts.js
// runs the bundle when it is at least as new as dist/src/cli/main.js (what
// `tsc -p tsconfig.build.json` alone makes), else dist/src/. The library
// (`import "stackts"`) is dist/src/ as compiled by tsc: only the command is
// bundled. Run by `npm run build:ts` after tsc.
import { build } from "esbuild";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constAgain } from "./bundle_consts.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "cli");
rmSync(outdir, { recursive: true, force: true });
try {
  await build({
    entryPoints: [join(root, "src", "cli", "main.ts")],
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Loaded at run time through createRequire, not bundled.
    external: ["raw-socket"],
    sourcemap: "linked",
    logLevel: "warning",
  });
} catch (err) {
  process.stderr.write(`build_cli: ${err instanceof Error ? err.message.split("\n")[0] : err}\n`);
  process.exit(1);
}
// esbuild declares the top-level constants as `var`: they become `const`
// again, as V8 folds them only then (see bundle_consts.mjs).
for (const name of readdirSync(outdir)) {
  if (!name.endsWith(".js")) continue;
  const path = join(outdir, name);
  writeFileSync(path, constAgain(readFileSync(path, "utf8"), name).code);
}
