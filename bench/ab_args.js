// The command line the paired A/B benches share (ab_decode.js, ab_print.js):
// two build roots, an optional capture file (default: the decode bench's),
// flags and valued options anywhere among them.
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Parse `process.argv`: `flags` are names that stand alone, `options` names
 * that take a value. Exits 2 with `usage` when a root is missing.
 * Returns { flags: {name: bool}, options: {name: string|undefined}, roots: [A, B] (absolute), file }.
 */
export function abArgs(usage, flags = [], options = []) {
  const args = process.argv.slice(2);
  const take = (name, valued) => {
    const i = args.indexOf(name);
    if (i < 0) return valued ? undefined : false;
    const v = valued ? args[i + 1] : true;
    args.splice(i, valued ? 2 : 1);
    return v;
  };
  const f = Object.fromEntries(flags.map((n) => [n, take(n, false)]));
  const o = Object.fromEntries(options.map((n) => [n, take(n, true)]));
  const [rootA, rootB, fileArg] = args;
  if (rootA === undefined || rootB === undefined) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  return {
    flags: f,
    options: o,
    roots: [path.resolve(rootA), path.resolve(rootB)],
    file: fileArg ?? path.join(here, "..", ".bench", "decode-1000000.pcap"),
  };
}
