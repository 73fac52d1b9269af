/**
 * `stackts setcap`: let ordinary users capture without sudo. Run once as root:
 *
 * 1. copies the node binary running stackts to a path of its own (default
 *    /usr/local/lib/stackts/node), so the system's node keeps no privileges;
 * 2. gives that copy `cap_net_raw,cap_net_admin+eip` with setcap(8);
 * 3. writes a wrapper (default /usr/local/bin/stackts-cap) that runs the copy
 *    directly on this package's bin/stackts.js.
 *
 * The wrapper is needed because npm's `stackts` shim starts whatever `node` is
 * first on PATH (the plain one), and a binary with file capabilities ignores
 * NODE_OPTIONS and the other environment a wrapper could pass through it.
 *
 * Anyone who can execute the copy can open raw sockets with any script, so
 * `--group NAME` limits it to one group (mode 0750), as Debian does for
 * Wireshark's dumpcap. `--undo` removes both files.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { findTool } from "./doctor.ts";
import { findPackageRoot } from "./version.ts";
import { flag, formatHelp, parseArgs, stringOption, type OptionSpec } from "./args.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";

/** Defaults of `stackts setcap`. */
export const SETCAP_DEFAULTS = {
  node: "/usr/local/lib/stackts/node",
  wrapper: "/usr/local/bin/stackts-cap",
  capabilities: "cap_net_raw,cap_net_admin+eip",
} as const;

const MARK = "# written by 'stackts setcap'";

const SPEC: OptionSpec[] = [
  { name: "node", value: "PATH", help: "the node binary to copy (default: the one running now)" },
  { name: "out", value: "PATH", help: `where the capable copy goes (default ${SETCAP_DEFAULTS.node})` },
  { name: "wrapper", value: "PATH", help: `the wrapper script to write (default ${SETCAP_DEFAULTS.wrapper})` },
  { name: "group", value: "NAME", help: "only members of group NAME may run the copy (mode 0750); default: every user" },
  { name: "undo", help: "remove the copy and the wrapper" },
];

export const help = formatHelp(
  "stackts setcap [--node PATH] [--out PATH] [--wrapper PATH] [--group NAME] [--undo]",
  "Run once as root so that ordinary users can capture without sudo: copies node\n" +
    `to ${SETCAP_DEFAULTS.node}, gives the copy ${SETCAP_DEFAULTS.capabilities}\n` +
    `with setcap, and writes ${SETCAP_DEFAULTS.wrapper}, which runs stackts with it:\n` +
    "  stackts-cap capture eth0\n" +
    "The system's node is left alone. Re-run after upgrading node (the addon must\n" +
    "match it). Anyone allowed to run the copy can open raw sockets from any\n" +
    "script: use --group to limit who can.",
  SPEC,
);

/** The package root: the directory with this package's package.json (dist/src/cli/ → ../../..). */
export function packageRoot(): string {
  const root = findPackageRoot();
  if (root === null) throw new CliError("setcap", "cannot find the stackts package directory");
  return root;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The wrapper script's text. */
export function wrapperScript(capableNode: string, entry: string): string {
  return [
    "#!/bin/sh",
    MARK,
    "# Runs stackts with a node binary that has cap_net_raw,cap_net_admin, so this",
    "# user can capture without sudo. Undo: stackts setcap --undo",
    `exec ${shellQuote(capableNode)} ${shellQuote(entry)} "$@"`,
    "",
  ].join("\n");
}

function groupId(name: string): number {
  try {
    const out = execFileSync("getent", ["group", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const gid = Number(out.split(":")[2]);
    if (Number.isInteger(gid)) return gid;
  } catch {
    // fall through
  }
  throw new UsageError("--group", `no group "${name}" (create it with 'groupadd ${name}' and add users with 'usermod -aG ${name} USER')`);
}

/** Run `stackts setcap`. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "setcap takes no arguments");
  const out = resolve(stringOption(args, "out") ?? SETCAP_DEFAULTS.node);
  const wrapper = resolve(stringOption(args, "wrapper") ?? SETCAP_DEFAULTS.wrapper);
  const say = (line: string): void => void process.stdout.write(line + "\n");

  if (flag(args, "undo")) {
    for (const p of [wrapper, out]) {
      if (p === wrapper && existsSync(p) && !readFileSync(p, "utf8").includes(MARK)) {
        throw new CliError(p, "not a wrapper written by 'stackts setcap'; not removing it");
      }
      if (existsSync(p)) {
        rmSync(p);
        say(`removed ${p}`);
      } else {
        say(`${p}: not there`);
      }
    }
    return EXIT.ok;
  }

  if (process.geteuid?.() !== 0) {
    throw new CliError("setcap", "needs root to give a binary capabilities (run it once with sudo)");
  }
  const setcap = findTool("setcap");
  if (setcap === null) throw new CliError("setcap", "setcap(8) not found (install libcap2-bin)");
  const source = resolve(stringOption(args, "node") ?? process.execPath);
  if (!existsSync(source)) throw new UsageError("--node", `${source}: no such file`);
  if (source === out) throw new UsageError("--out", "must differ from the node being copied (the system's node should stay unprivileged)");
  const groupName = stringOption(args, "group");
  const gid = groupName === undefined ? null : groupId(groupName);
  const entry = join(packageRoot(), "bin", "stackts.js");
  if (!existsSync(entry)) throw new CliError(entry, "missing (is stackts built? npm run build:ts)");

  // 1. The copy, written beside its final name and renamed into place so a
  // running stackts-cap never sees half a binary.
  mkdirSync(dirname(out), { recursive: true, mode: 0o755 });
  const tmp = `${out}.tmp${process.pid}`;
  copyFileSync(source, tmp);
  try {
    chownSync(tmp, 0, gid ?? 0);
    chmodSync(tmp, gid === null ? 0o755 : 0o750);
    // 2. File capabilities (set after chown: changing the owner clears them).
    execFileSync(setcap, [SETCAP_DEFAULTS.capabilities, tmp], { stdio: ["ignore", "pipe", "pipe"] });
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as { stderr?: Buffer | string; message: string };
    const why = (e.stderr ? String(e.stderr) : e.message).trim();
    throw new CliError(`setcap ${out}`, `${why}${/not supported|Operation not supported/i.test(why) ? " (the file system does not keep file capabilities; pick another --out)" : ""}`);
  }
  say(`copied ${source} to ${out} (owner root${groupName === undefined ? ", mode 0755: every user may run it" : `:${groupName}, mode 0750: members of ${groupName} only`})`);
  say(`setcap ${SETCAP_DEFAULTS.capabilities} ${out}`);

  // 3. The wrapper.
  if (existsSync(wrapper) && !readFileSync(wrapper, "utf8").includes(MARK)) {
    throw new CliError(wrapper, "exists and was not written by 'stackts setcap'; pick another --wrapper");
  }
  mkdirSync(dirname(wrapper), { recursive: true, mode: 0o755 });
  writeFileSync(`${wrapper}.tmp${process.pid}`, wrapperScript(out, entry), { mode: 0o755 });
  renameSync(`${wrapper}.tmp${process.pid}`, wrapper);
  say(`wrote ${wrapper}: runs ${entry} with ${out}`);
  say("");
  say(`now, as any ${groupName === undefined ? "user" : `member of ${groupName}`}: ${wrapper} capture IFACE`);
  say(`check with: ${wrapper} doctor`);
  say(`re-run 'stackts setcap' after upgrading node; undo with: stackts setcap --undo${
    stringOption(args, "out") === undefined && stringOption(args, "wrapper") === undefined ? "" : ` --out ${shellQuote(out)} --wrapper ${shellQuote(wrapper)}`
  }`);
  say(`(or by hand: rm ${out} ${wrapper})`);
  return EXIT.ok;
}
