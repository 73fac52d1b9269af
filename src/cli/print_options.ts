/**
 * The printing options `stackts read`, `capture` and `send` share, spelled the
 * same in each (tcpdump's letters), and the combinations that print nothing
 * different and are refused as usage errors.
 *
 * - `-x` is the hex dump everywhere (`--hexdump`; `--hex` is its old long
 *   name in read and capture). `-X`, `-xx`, `-XX` are taken too and give the
 *   same dump: see {@link HEXDUMP_NOTE} for how it differs from tcpdump's.
 * - `-n`/`-nn` are accepted and change nothing: stackts never resolves names
 *   or ports.
 *
 * @module
 */
import { flag, refuse, type OptionSpec, type ParsedArgs } from "./args.ts";

/** `-x` (also `-X`, `-xx`, `-XX`): hex and ASCII of the whole frame. */
export const HEXDUMP_OPTION: OptionSpec = {
  name: "hexdump",
  short: "x",
  aliases: ["X", "hex"],
  help: "hex and ASCII of each frame under its line, link header included (tcpdump -XX; see above)",
};

/** `-n`, `-nn`: numeric is all stackts prints. */
export const NUMERIC_OPTION: OptionSpec = {
  name: "numeric",
  short: "n",
  help: "accepted for tcpdump habits (-n, -nn): addresses and ports are always printed as numbers",
};

/** What the help says about -x and its tcpdump siblings. */
export const HEXDUMP_NOTE = `-x, -X, -xx and -XX all print the dump of tcpdump -XX: hex and ASCII of the
whole frame, link-layer header included. tcpdump's -x and -xx have no ASCII
column, and its -x and -X leave the link-layer header out.`;

/** The options that shape the text output and mean nothing in JSON, which has every field. */
const TEXT_ONLY = ["verbose", "hexdump", "quiet", "absolute-seq", "link-headers"] as const;

/**
 * `--json` with a text-only option (-v, -x, -q, -S) is a usage error: the JSON
 * ignores them; so is -S with -q (quiet TCP lines carry no sequence numbers).
 */
export function refuseWithJson(args: ParsedArgs): void {
  const json = flag(args, "json");
  for (const name of TEXT_ONLY) refuse(args, name, json, "does nothing with --json (the JSON has every field, in one form)");
  refuse(args, "absolute-seq", flag(args, "quiet"), "does nothing with -q (its TCP lines carry no sequence numbers)");
}

/** With `-w` nothing is printed: the printing options (-v, -x, -q, -S, --json) are a usage error. */
export function refuseWithWrite(args: ParsedArgs, writing: boolean): void {
  for (const name of [...TEXT_ONLY, "json"] as const) refuse(args, name, writing, "does nothing with -w (the frames go to the file, nothing is printed)");
}
