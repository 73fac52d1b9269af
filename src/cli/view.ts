/**
 * `stackts view FILE [BPF filter...]`: make the report page of a capture (the
 * page `stackts report` writes) and serve it on 127.0.0.1 only, on the port
 * given with `-p` or one the system picks; prints the URL on stdout, opens it
 * in a browser when one is at hand (`xdg-open`, unless `--no-open`), and
 * serves until interrupted. `/` is the page, `/data.json` its data.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { reportHtml } from "../report/html.ts";
import { serveReport } from "../report/serve.ts";
import { flag, formatHelp, intOption, parseArgs, type OptionSpec } from "./args.ts";
import { EXIT, UsageError, reportError, stderrLine } from "./errors.ts";
import { fileError } from "./read.ts";
import { reportOf } from "./report.ts";

const SPEC: OptionSpec[] = [
  { name: "port", short: "p", value: "PORT", help: "port on 127.0.0.1 (default: one the system picks)" },
  { name: "no-open", help: "do not try to open a browser" },
];

export const help = formatHelp(
  "stackts view [options] FILE [BPF filter...]",
  `Serve the report page of a pcap or pcapng file (the page 'stackts report'
writes) on 127.0.0.1 only, print its URL, and open it in a browser when one is
at hand. Serves until interrupted (Ctrl-C).`,
  SPEC,
);

/** Try to open `url` in the desktop's browser; silently nothing when there is none. */
export function openBrowser(url: string): void {
  if (process.env["DISPLAY"] === undefined && process.env["WAYLAND_DISPLAY"] === undefined) return;
  try {
    const child = spawn("xdg-open", [url], { stdio: "ignore", detached: true });
    child.on("error", () => undefined);
    child.unref();
  } catch {
    // no opener: the URL printed is enough
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const [path, ...filterWords] = args.positionals;
  if (path === undefined) throw new UsageError("view", "missing FILE (see 'stackts view --help')");
  const port = intOption(args, "port", 0, 65535) ?? 0;
  const filter = filterWords.join(" ").trim();
  const result = reportOf("view", path, filter);
  if (result.error !== null) reportError(fileError(path, result.error));
  const data = result.data;
  const server = await serveReport({ port, page: () => reportHtml(data), data: () => data });
  process.stdout.write(`serving the report of ${path} on ${server.url} (port ${server.port}); Ctrl-C stops\n`);
  if (!flag(args, "no-open")) openBrowser(server.url);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      stderrLine("stackts view: stopped");
      server.close().then(resolve, resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return EXIT.ok;
}
