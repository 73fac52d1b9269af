/**
 * A small command-line parser with tcpdump's habits: short options that can be
 * bundled (`-vx`) or take a value attached or separate (`-c5`, `-c 5`), long
 * options (`--count 5`, `--count=5`), `--` to end options, `-` as a plain
 * argument (stdin). Options may come before or after the positional arguments.
 * Anything it does not know is a {@link UsageError}, and so is an empty value
 * (`--netns ''`) unless the option says an empty one means something.
 *
 * @example
 * ```ts
 * import { parseArgs, intOption } from "./args.ts";
 * const spec = [{ name: "count", short: "c", value: "N", help: "stop after N packets" }];
 * const args = parseArgs(["-c", "3", "file.pcap"], spec);
 * intOption(args, "count", 1); // 3
 * args.positionals;            // ["file.pcap"]
 * ```
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** One option a command accepts. */
export interface OptionSpec {
  /** long name without dashes, e.g. "count"; also the key in {@link ParsedArgs.options} */
  name: string;
  /** one-letter short form, e.g. "c" */
  short?: string;
  /** when set, the option takes a value; this is its placeholder in help ("N", "FILE") */
  value?: string;
  /** one line of help */
  help: string;
  /**
   * Other spellings of the same option: a single letter is a short form
   * (`-X` beside `-x`), anything longer a long one (`--hex` beside
   * `--hexdump`, an old name kept working). Shown in help.
   */
  aliases?: readonly string[];
  /** whether an empty value (`--data ''`) means something; otherwise it is a usage error */
  empty?: boolean;
}

/** What {@link parseArgs} found. */
export interface ParsedArgs {
  /** value options as their last given string; flags as the number of times given */
  options: Map<string, string | number>;
  /** how each option was last spelled on the command line ("-c", "--count"), for messages */
  spelled: Map<string, string>;
  positionals: string[];
}

/** Parse `argv` (without the command name) against `spec`. Always accepts `-h`/`--help` as "help". */
export function parseArgs(argv: readonly string[], spec: readonly OptionSpec[]): ParsedArgs {
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const s of [...spec, HELP]) {
    byLong.set(s.name, s);
    if (s.short !== undefined) byShort.set(s.short, s);
    for (const a of s.aliases ?? []) (a.length === 1 ? byShort : byLong).set(a, s);
  }
  const options = new Map<string, string | number>();
  const spelled = new Map<string, string>();
  const positionals: string[] = [];
  const setValue = (s: OptionSpec, spelling: string, v: string): void => {
    if (v === "" && s.empty !== true) throw new UsageError(spelling, `is empty (needs ${s.value})`);
    options.set(s.name, v);
  };
  const setFlag = (s: OptionSpec): void => {
    const prev = options.get(s.name);
    options.set(s.name, typeof prev === "number" ? prev + 1 : 1);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const s = byLong.get(name);
      if (s === undefined) throw new UsageError(`--${name}`, "unknown option (see --help)");
      spelled.set(s.name, `--${name}`);
      if (s.value === undefined) {
        if (eq >= 0) throw new UsageError(`--${name}`, "takes no value");
        setFlag(s);
      } else if (eq >= 0) {
        setValue(s, `--${name}`, arg.slice(eq + 1));
      } else {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`--${name}`, `needs a value (${s.value})`);
        setValue(s, `--${name}`, v);
      }
      continue;
    }
    if (arg.length > 1 && arg.startsWith("-")) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const s = byShort.get(letter);
        if (s === undefined) throw new UsageError(`-${letter}`, "unknown option (see --help)");
        spelled.set(s.name, `-${letter}`);
        if (s.value === undefined) {
          setFlag(s);
          continue;
        }
        let v: string | undefined = arg.slice(j + 1);
        if (v === "") v = argv[++i];
        if (v === undefined) throw new UsageError(`-${letter}`, `needs a value (${s.value})`);
        setValue(s, `-${letter}`, v);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { options, spelled, positionals };
}

const HELP: OptionSpec = { name: "help", short: "h", help: "show this help" };

/**
 * How an option was spelled on the command line, for messages (`-x`,
 * `--hexdump`); its long form when it was not given.
 */
export function spelling(args: ParsedArgs, name: string): string {
  return args.spelled.get(name) ?? `--${name}`;
}

/** Whether an option was given at all (a flag, or a value option). */
export function given(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}

/**
 * Options that do nothing together are a usage error, not silently ignored:
 * when `name` was given and `unless` holds, fail with `why`.
 *
 * @example
 * ```ts
 * refuse(args, "verbose", flag(args, "json"), "does nothing with --json (the JSON has every field)");
 * ```
 */
export function refuse(args: ParsedArgs, name: string, when: boolean, why: string): void {
  if (when && given(args, name)) throw new UsageError(spelling(args, name), why);
}

/** Whether a flag was given (at least once). */
export function flag(args: ParsedArgs, name: string): boolean {
  return typeof args.options.get(name) === "number";
}

/** How many times a flag was given (`-vv` → 2). */
export function flagCount(args: ParsedArgs, name: string): number {
  const v = args.options.get(name);
  return typeof v === "number" ? v : 0;
}

/** A string option's value, or undefined when not given. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === "string" ? v : undefined;
}

/**
 * An integer option in `[min, max]`, or undefined when not given. Accepts
 * decimal only, with an optional k/m suffix (×1024, ×1048576) when `sizes` is set.
 */
export function intOption(args: ParsedArgs, name: string, min: number, max = Number.MAX_SAFE_INTEGER, sizes = false): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const m = /^(\d+)([kKmM]?)$/.exec(v);
  const spec = args.spelled.get(name) ?? `--${name}`;
  if (m === null || (!sizes && m[2] !== "")) throw new UsageError(spec, `expected an integer, got '${v}'`);
  let n = Number(m[1]);
  if (m[2] === "k" || m[2] === "K") n *= 1024;
  if (m[2] === "m" || m[2] === "M") n *= 1024 * 1024;
  if (n < min || n > max) throw new UsageError(spec, max === Number.MAX_SAFE_INTEGER ? `${n} is out of range (at least ${min})` : `${n} is out of range (${min}..${max})`);
  return n;
}

/** Help text: usage line, description, then one line per option. */
export function formatHelp(usage: string, description: string, spec: readonly OptionSpec[]): string {
  const rows = [...spec, HELP].map((s) => {
    const extraShort = (s.aliases ?? []).filter((a) => a.length === 1).map((a) => `-${a}, `).join("");
    const extraLong = (s.aliases ?? []).filter((a) => a.length > 1).map((a) => `--${a}`);
    const names =
      (s.short !== undefined ? `-${s.short}, ${extraShort}` : extraShort || "    ") + `--${s.name}` + (s.value !== undefined ? ` ${s.value}` : "");
    return [names, s.help + (extraLong.length > 0 ? ` (also ${extraLong.join(", ")})` : "")] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  const lines = [`usage: ${usage}`, "", description.trimEnd(), "", "options:"];
  for (const [n, h] of rows) lines.push(`  ${n.padEnd(width)}${h}`);
  return lines.join("\n") + "\n";
}
