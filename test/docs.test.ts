/**
 * The TypeScript examples in README.md and docs/*.md compile against the
 * package as a user imports it (`from "stackts"`, resolved through
 * package.json's exports to dist/ and its .d.ts files, which `npm test`
 * builds first): each ```ts block is written to a module of its own in the
 * repository's root and type-checked by tsc, strict. A renamed export, a
 * changed signature or a wrong option in an example fails here.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];

/** The ```ts blocks of a Markdown file. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

const written: string[] = [];
afterAll(() => {
  for (const f of written) rmSync(f, { force: true });
});

describe("documentation examples", () => {
  it("finds the blocks it checks (the extractor itself)", () => {
    expect(tsBlocks("a\n```ts\nconst x = 1;\n```\nb\n```sh\nls\n```\n```ts\nlet y;\n```\n")).toEqual(["const x = 1;\n", "let y;\n"]);
    expect(tsBlocks(readFileSync(join(ROOT, "README.md"), "utf8")).length).toBeGreaterThanOrEqual(2);
  });

  it("every TypeScript example in README.md and docs/ type-checks against the built package", { timeout: 120_000 }, async () => {
    expect(existsSync(join(ROOT, "dist", "src", "mod.d.ts")), "dist/ is built by npm test (npm run build:ts)").toBe(true);
    for (const doc of DOCS) {
      tsBlocks(readFileSync(join(ROOT, doc), "utf8")).forEach((code, i) => {
        const file = join(ROOT, `.doc-example-${doc.replace(/[/.]/g, "-")}-${i}.mts`);
        writeFileSync(file, `// ${doc}, example ${i + 1}\n${code}\nexport {};\n`);
        written.push(file);
      });
    }
    const tsc = join(ROOT, "node_modules", ".bin", "tsc");
    const args = ["--noEmit", "--strict", "--skipLibCheck", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--types", "node", ...written];
    const result = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(tsc, args, { cwd: ROOT, timeout: 110_000 }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : 1, out: stdout + stderr }));
    });
    expect(result.out).toBe("");
    expect(result.code).toBe(0);
  });
});
