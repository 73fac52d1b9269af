/**
 * layers/ runs unchanged in Node, Deno, Bun and a browser: the same literal
 * cases (test/portable/cases.ts: every protocol decoded field by field and
 * built byte for byte, checksums, address text) run here in Node, then in Deno
 * and Bun straight from the .ts sources (both from their npm packages, pinned
 * in package.json), then in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) over a server on 127.0.0.1 started here. Any failed case
 * fails its runtime's test, and every runtime must run every case.
 *
 * The browser cannot run TypeScript, so the server strips the types of each
 * .ts file it serves (TypeScript's transpileModule, nothing else: layers/ has
 * no enums or namespaces, so that is all a .ts-importing runtime does too);
 * the import graph, `.ts` specifiers included, is the one Deno and Bun load.
 *
 * Nothing here is skipped in CI: Deno and Bun come with `npm install`, and
 * Chromium with ./setup. Outside CI, a machine without /usr/bin/chromium
 * skips the browser test and says why, unless it runs as root (then ./setup
 * could have installed it, and its absence is a failure).
 */
import { execFile, type ExecFileException } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cases } from "./portable/cases.ts";
import { REPORT_PREFIX, type Report } from "./portable/run.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "node_modules", ".bin");
const NAMES = cases.map((c) => c.name);
const CHROMIUM = "/usr/bin/chromium";

describe(`portable cases in Node ${process.versions.node}`, () => {
  for (const c of cases) it(c.name, () => c.run());
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a runtime's binary from node_modules/.bin with a quiet, offline-friendly environment. */
function run(binary: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  const file = join(BIN, binary);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm install (${binary} is a devDependency)`);
  const env = {
    ...process.env,
    NO_COLOR: "1",
    // No update checks, prompts or crash reports: this machine has no network but the registries.
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    DO_NOT_TRACK: "1",
  };
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error: ExecFileException | null, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

/** The report a runner printed, or a failure that shows everything it printed. */
function reportOf(r: Run): Report {
  const line = r.stdout.split("\n").find((l) => l.startsWith(REPORT_PREFIX));
  if (line === undefined) throw new Error(`no report (exit ${r.code})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return JSON.parse(line.slice(REPORT_PREFIX.length)) as Report;
}

/** Every case ran and none failed; the failures (name and message) show in the diff when not. */
function expectAllPassed(report: Report): void {
  console.log(`${report.runtime}: ${report.passed} of ${NAMES.length} cases passed, ${report.failed} failed`);
  expect(report.failures).toEqual([]);
  expect(report.names).toEqual(NAMES);
  expect([report.passed, report.failed]).toEqual([NAMES.length, 0]);
}

describe("Deno (npm package deno)", () => {
  it(`runs all ${NAMES.length} cases from the .ts sources`, async () => {
    const r = await run("deno", ["run", "--no-prompt", "--no-remote", "--no-npm", "test/portable/deno.ts"]);
    const report = reportOf(r);
    expect(report.runtime).toMatch(/^deno \d+\.\d+\.\d+/);
    expectAllPassed(report);
    expect(r.code).toBe(0);
  });

  it("type-checks layers/ and the cases (deno check, deno.json's compiler options)", async () => {
    const r = await run("deno", ["check", "--no-remote", "--no-npm", "test/portable/deno.ts", "test/portable/browser.ts", "test/portable/bun.ts"], 60_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  });

  it("layers/ publishes to JSR as it stands: deno publish --dry-run finds no slow types and lists every module", { timeout: 120_000 }, async () => {
    const r = await run("deno", ["publish", "--dry-run", "--allow-dirty"], 110_000);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/Success.*Dry run complete/);
    expect(out).toContain("@stackts/layers");
    for (const module of ["mod.ts", "decode.ts", "encode.ts", "registry.ts", "tcp.ts", "ipv6_extensions.ts"]) expect(out).toContain(`layers/${module}`);
  });
});

describe("Bun (npm package bun)", () => {
  it(`runs all ${NAMES.length} cases from the .ts sources`, async () => {
    const r = await run("bun", ["test/portable/bun.ts"]);
    const report = reportOf(r);
    expect(report.runtime).toMatch(/^bun \d+\.\d+\.\d+/);
    expectAllPassed(report);
    expect(r.code).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// The browser

const isRoot = process.getuid?.() === 0;
const chromiumSkip = existsSync(CHROMIUM) || process.env.CI || isRoot ? null : `needs ${CHROMIUM} (./setup installs Debian's chromium)`;

const SERVED = ["layers", join("test", "portable")];

/** The .ts sources with their types stripped, the page as it is; only layers/ and test/portable/. */
function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const file = normalize(join(ROOT, path));
    const inside = SERVED.some((dir) => file.startsWith(join(ROOT, dir) + sep));
    if (req.method !== "GET" || !inside || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}`);
      return;
    }
    if (file.endsWith(".ts")) {
      const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
        fileName: file,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
      });
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" }).end(outputText);
    } else if (file.endsWith(".html")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(readFileSync(file));
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not served: ${path}`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

describe.skipIf(chromiumSkip !== null)(`headless Chromium (playwright-core)${chromiumSkip ? ` (skipped: ${chromiumSkip})` : ""}`, () => {
  let server: Server | undefined;
  let profile: string | undefined;
  beforeAll(async () => {
    server = await serve();
    profile = mkdtempSync(join(tmpdir(), "stackts-chromium-"));
  });
  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it(`runs all ${NAMES.length} cases from the .ts sources (types stripped by the test's server)`, async () => {
    const { port } = server!.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    const context = await chromium.launchPersistentContext(profile!, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      // Root needs --no-sandbox; the rest keep Chromium from reaching out (this machine refuses outside connections).
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      // The page may load from the test's server only.
      await context.route("**/*", (route) => (route.request().url().startsWith(origin + "/") ? route.continue() : route.abort()));
      const page = context.pages()[0] ?? (await context.newPage());
      // A module that fails to load (a node:* import, a missing file) leaves no report: stop at the first problem.
      const problems: string[] = [];
      let stop: (e: Error) => void = () => {};
      const stopped = new Promise<never>((_, reject) => (stop = reject));
      stopped.catch(() => undefined); // a problem may come before the race below: not an unhandled rejection
      const problem = (text: string): void => {
        problems.push(text);
        stop(new Error(`the page did not load: ${text}`));
      };
      page.on("pageerror", (e) => problem(`page error: ${e.message}`));
      page.on("console", (m) => void (m.type() === "error" && problem(`console: ${m.text()}`)));
      page.on("response", (r) => void (r.status() >= 400 && !r.url().endsWith("/favicon.ico") && problem(`HTTP ${r.status()} ${r.url()}`)));
      await page.goto(`${origin}/test/portable/browser.html`);
      const ready = page.waitForFunction(() => (globalThis as { portableReport?: unknown }).portableReport, undefined, { timeout: 20_000 });
      const report = (await (await Promise.race([ready, stopped])).jsonValue()) as Report;
      const agent = await page.evaluate(() => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent);
      console.log(`chromium ${context.browser()?.version() ?? "(version unknown)"}: ${agent}`);
      expect(problems).toEqual([]);
      expect(report.runtime).toMatch(/^browser HeadlessChrome\//);
      expectAllPassed(report);
    } finally {
      await context.close();
    }
  });
});
