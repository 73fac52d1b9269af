/**
 * The shape of the code, checked: no import circles anywhere in layers/ or
 * src/ (type-only imports count: a circle of types still ties two modules
 * together), layers/ imports only layers/ and nothing of Node, src/ reaches
 * the native addon only through its one loader module, and no module is over
 * ~500 lines unless its header says why (a paragraph that starts "Size:").
 *
 * The import graph is read from the sources with a regular expression over
 * `import`/`export ... from` statements and dynamic `import("...")`: every
 * relative specifier is resolved to a file, so a circle cannot hide behind a
 * re-export.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_LINES = 500;

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const FILES = [...walk(join(ROOT, "layers")), ...walk(join(ROOT, "src"))].map((f) => relative(ROOT, f)).sort();

/** Every module specifier a file names: static imports and re-exports (type-only included) and dynamic imports. */
export function specifiers(source: string): string[] {
  const found: string[] = [];
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const statement = /(?:^|[;\n])\s*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']/g;
  const bare = /(?:^|[;\n])\s*import\s*["']([^"']+)["']/g;
  const dynamic = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const re of [statement, bare, dynamic]) for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of FILES) {
    const deps: string[] = [];
    for (const spec of specifiers(readFileSync(join(ROOT, file), "utf8"))) {
      if (!spec.startsWith(".")) continue;
      let target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (target.endsWith(".js")) target = target.slice(0, -3) + ".ts";
      deps.push(target);
    }
    edges.set(file, deps);
  }
  return edges;
}

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function circles(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe("architecture", () => {
  it("reads the import graph (a sanity check of the parser on known edges)", () => {
    const edges = graph();
    expect(edges.get("layers/decode.ts")).toContain("layers/registry.ts");
    expect(edges.get("layers/registry.ts")).toContain("layers/udp.ts");
    expect(specifiers('import type { A } from "./a.ts";\nexport * from "./b.ts";\nconst m = import("./c.ts");')).toEqual(["./a.ts", "./b.ts", "./c.ts"]);
  });

  it("has no import circles in layers/ or src/", () => {
    expect(circles(graph())).toEqual([]);
  });

  it("finds a circle when there is one (the checker itself)", () => {
    const edges = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
    expect(circles(edges)).toEqual([["a", "b", "c"]]);
  });

  it("keeps layers/ pure: it imports only layers/, nothing of Node", () => {
    const bad: string[] = [];
    for (const file of FILES.filter((f) => f.startsWith("layers/"))) {
      for (const spec of specifiers(readFileSync(join(ROOT, file), "utf8"))) {
        const target = spec.startsWith(".") ? relative(ROOT, resolve(ROOT, dirname(file), spec)) : spec;
        if (!target.startsWith("layers/")) bad.push(`${file} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("reaches the native addon through one loader module", () => {
    const code = (f: string): string => readFileSync(join(ROOT, f), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    const loaders = FILES.filter((f) => /\.node["'`]/.test(code(f)));
    expect(loaders).toEqual(["src/native.ts"]);
  });

  it(`has no module over ${MAX_LINES} lines unless its header says why ("Size:")`, () => {
    const long: string[] = [];
    for (const file of FILES) {
      const text = readFileSync(join(ROOT, file), "utf8");
      const lines = text.split("\n").length;
      const header = /^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? "";
      if (lines > MAX_LINES && !/^\s*\*\s*Size:/m.test(header)) long.push(`${file} (${lines})`);
    }
    expect(long).toEqual([]);
  });
});
