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
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { findTool } from "./doctor.ts";
import { findPackageRoot } from "./version.ts";
import { flag, formatHelp, parseArgs, refuse, stringOption, type OptionSpec } from "./args.ts";
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
  { name: "force", help: "replace an --out or --wrapper file that 'stackts setcap' did not make" },
];

export const help = formatHelp(
  "stackts setcap [--node PATH] [--out PATH] [--wrapper PATH] [--group NAME] [--force] [--undo]",
  "Run once as root so that ordinary users can capture without sudo: copies node\n" +
    `to ${SETCAP_DEFAULTS.node}, gives the copy ${SETCAP_DEFAULTS.capabilities}\n` +
    `with setcap, and writes ${SETCAP_DEFAULTS.wrapper}, which runs stackts with it:\n` +
    "  stackts-cap capture eth0\n" +
    "The system's node is left alone. Re-run after upgrading node (the addon must\n" +
    "match it). Anyone allowed to run the copy can open raw sockets from any\n" +
    "script: use --group to limit who can. Nothing is written unless all of it\n" +
    "can be: an --out that is not an earlier copy (getcap shows other\n" +
    "capabilities) or a --wrapper it did not write is refused unless --force.",
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

/** Whether `path` is a copy an earlier `stackts setcap` made: getcap shows exactly our capabilities. */
function isEarlierCopy(path: string): boolean {
  const getcap = findTool("getcap");
  if (getcap === null) return false;
  try {
    const out = execFileSync(getcap, [path], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    // getcap prints "PATH cap_net_admin,cap_net_raw=eip" (older versions: " = cap_...+eip").
    return /cap_net_admin,cap_net_raw[=+]eip\s*$/.test(out.trim());
  } catch {
    return false;
  }
}

/** Node's file error codes in the CLI's words. */
const FILE_ERRORS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EEXIST: "exists",
};

/** The directories `mkdir -p` would create for `dir`, outermost first. */
function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    out.unshift(d);
    if (dirname(d) === d) break;
  }
  return out;
}

/** Run `stackts setcap`. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length > 0) throw new UsageError(args.positionals[0]!, "setcap takes no arguments");
  const out = resolve(stringOption(args, "out") ?? SETCAP_DEFAULTS.node);
  const wrapper = resolve(stringOption(args, "wrapper") ?? SETCAP_DEFAULTS.wrapper);
  const say = (line: string): void => void process.stdout.write(line + "\n");

  if (flag(args, "undo")) {
    // --undo removes; what would shape a copy means nothing to it.
    for (const name of ["node", "group", "force"]) refuse(args, name, true, "does nothing with --undo");
    if (existsSync(wrapper) && !readFileSync(wrapper, "utf8").includes(MARK)) {
      throw new CliError(wrapper, "not a wrapper written by 'stackts setcap'; not removing it");
    }
    if (existsSync(out) && !isEarlierCopy(out)) {
      throw new CliError(out, "not a copy made by 'stackts setcap' (getcap shows other capabilities); not removing it");
    }
    for (const p of [wrapper, out]) {
      if (existsSync(p)) {
        rmSync(p);
        say(`removed ${p}`);
      } else {
        say(`${p}: not there`);
      }
    }
    return EXIT.ok;
  }

  // Every refusal comes before anything is written.
  if (process.geteuid?.() !== 0) {
    throw new CliError("setcap", "needs root to give a binary capabilities (run it once with sudo)");
  }
  const setcap = findTool("setcap");
  if (setcap === null) throw new CliError("setcap", "setcap(8) not found (install libcap2-bin)");
  const source = resolve(stringOption(args, "node") ?? process.execPath);
  if (!existsSync(source)) throw new UsageError("--node", `${source}: no such file`);
  if (source === out) throw new UsageError("--out", "must differ from the node being copied (the system's node should stay unprivileged)");
  if (wrapper === out || wrapper === source) throw new UsageError("--wrapper", `must differ from ${wrapper === out ? "--out" : "the node being copied"}`);
  const groupName = stringOption(args, "group");
  const gid = groupName === undefined ? null : groupId(groupName);
  const entry = join(packageRoot(), "bin", "stackts.js");
  if (!existsSync(entry)) throw new CliError(entry, "missing (is stackts built? npm run build:ts)");
  for (const [what, p] of [["--out", out], ["--wrapper", wrapper]] as const) {
    const dirs = missingDirs(dirname(p));
    const existing = dirs.length === 0 ? dirname(p) : dirname(dirs[0]!);
    if (!statSync(existing).isDirectory()) throw new UsageError(what, `${existing} is not a directory`);
    if (existsSync(p) && statSync(p).isDirectory()) throw new UsageError(what, `${p} is a directory`);
  }
  const force = flag(args, "force");
  if (existsSync(wrapper) && !force && !readFileSync(wrapper, "utf8").includes(MARK)) {
    throw new CliError(wrapper, "exists and was not written by 'stackts setcap'; pick another --wrapper (or --force to replace it)");
  }
  // Re-running after a node upgrade replaces the earlier copy; anything else at --out stays.
  if (existsSync(out) && !force && !isEarlierCopy(out)) {
    throw new CliError(out, "exists and is not a copy made by 'stackts setcap'; pick another --out (or --force to replace it)");
  }

  // Both files are made beside their final names, then renamed into place (a
  // running stackts-cap never sees half a binary); on any failure, whatever was
  // made is removed again, directories included.
  const made: string[] = [];
  const madeDirs: string[] = [];
  const tmp = `${out}.tmp${process.pid}`;
  const wrapperTmp = `${wrapper}.tmp${process.pid}`;
  const outExisted = existsSync(out);
  let renamedOut = false;
  try {
    for (const d of [...missingDirs(dirname(out)), ...missingDirs(dirname(wrapper))]) {
      if (existsSync(d)) continue;
      mkdirSync(d, { mode: 0o755 });
      madeDirs.push(d);
    }
    // 1. The copy.
    copyFileSync(source, tmp);
    made.push(tmp);
    chownSync(tmp, 0, gid ?? 0);
    chmodSync(tmp, gid === null ? 0o755 : 0o750);
    // 2. File capabilities (set after chown: changing the owner clears them).
    try {
      execFileSync(setcap, [SETCAP_DEFAULTS.capabilities, tmp], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      const e = err as { stderr?: Buffer | string; message: string };
      const why = (e.stderr ? String(e.stderr) : e.message).trim();
      throw new CliError(`setcap ${out}`, `${why}${/not supported|Operation not supported/i.test(why) ? " (the file system does not keep file capabilities; pick another --out)" : ""}`);
    }
    // 3. The wrapper.
    writeFileSync(wrapperTmp, wrapperScript(out, entry), { mode: 0o755 });
    made.push(wrapperTmp);
    renameSync(tmp, out);
    renamedOut = true;
    renameSync(wrapperTmp, wrapper);
  } catch (err) {
    if (renamedOut && !outExisted) rmSync(out, { force: true });
    for (const p of made) rmSync(p, { force: true });
    for (const d of madeDirs.reverse()) rmdirSync(d);
    if (err instanceof CliError) throw err;
    const e = err as { code?: unknown; path?: unknown; message: string };
    const path = typeof e.path === "string" ? e.path.replace(/\.tmp\d+$/, "") : "setcap";
    const why = typeof e.code === "string" ? FILE_ERRORS[e.code] : undefined;
    throw new CliError(path, `${why ?? e.message}; nothing was left behind`, EXIT.failure, { cause: err });
  }
  say(`copied ${source} to ${out} (owner root${groupName === undefined ? ", mode 0755: every user may run it" : `:${groupName}, mode 0750: members of ${groupName} only`})`);
  say(`setcap ${SETCAP_DEFAULTS.capabilities} ${out}`);
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
