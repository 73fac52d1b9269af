/**
 * `stackts http -w FORMAT`: curl's `--write-out` for the figures a script or a
 * benchmark wants after a transfer. FORMAT is text with `%{variable}`,
 * `%%` for a percent sign and the escapes `\n`, `\r`, `\t`, `\\`; it is
 * written to standard output after the body. The variables are curl's names,
 * measured the same way: times in seconds (six decimals) from the start of
 * the request (the host already up: name lookup, connect and the transfer
 * counted, Node's start and the capture's opening not), sizes in bytes,
 * `speed_download` in bytes per second over `time_total`.
 *
 * @example
 * ```ts
 * import { parseWriteOut, writeOut } from "./write_out.ts";
 * const f = parseWriteOut("%{http_code} %{time_total}\\n");
 * writeOut(f, values); // "200 0.081234\n", values from the transfer
 * ```
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** What one transfer measured. */
export interface WriteOutValues {
  http_code: number;
  size_download: number;
  size_header: number;
  speed_download: number;
  time_connect: number;
  time_starttransfer: number;
  time_total: number;
  url_effective: string;
  num_redirects: number;
  remote_ip: string;
  remote_port: number;
}

const VARIABLES: ReadonlySet<string> = new Set<keyof WriteOutValues>([
  "http_code",
  "size_download",
  "size_header",
  "speed_download",
  "time_connect",
  "time_starttransfer",
  "time_total",
  "url_effective",
  "num_redirects",
  "remote_ip",
  "remote_port",
]);

/** A piece of a parsed FORMAT: literal text, or a variable's name. */
export type WriteOutPart = { text: string } | { variable: keyof WriteOutValues };
/** A parsed FORMAT, in order. */
export type WriteOutFormat = readonly WriteOutPart[];

const ESCAPES: Readonly<Record<string, string>> = { n: "\n", r: "\r", t: "\t", "\\": "\\" };

/** Parse FORMAT; an unknown variable or an unclosed `%{` is a usage error naming it. */
export function parseWriteOut(format: string): WriteOutFormat {
  const out: WriteOutPart[] = [];
  let text = "";
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === "%" && format[i + 1] === "%") {
      text += "%";
      i++;
    } else if (c === "%" && format[i + 1] === "{") {
      const close = format.indexOf("}", i + 2);
      if (close < 0) throw new UsageError("-w", `'%{' without its '}' in '${format}'`);
      const name = format.slice(i + 2, close);
      if (!VARIABLES.has(name)) throw new UsageError("-w", `unknown variable '%{${name}}' (known: ${[...VARIABLES].join(", ")})`);
      if (text !== "") out.push({ text });
      text = "";
      out.push({ variable: name as keyof WriteOutValues });
      i = close;
    } else if (c === "\\" && format[i + 1] !== undefined && ESCAPES[format[i + 1]!] !== undefined) {
      text += ESCAPES[format[i + 1]!];
      i++;
    } else text += c;
  }
  if (text !== "") out.push({ text });
  return out;
}

/** The text FORMAT makes of `values` (curl's number forms: whole bytes, seconds with six decimals). */
export function writeOut(format: WriteOutFormat, values: WriteOutValues): string {
  let s = "";
  for (const part of format) {
    if ("text" in part) {
      s += part.text;
      continue;
    }
    const v = values[part.variable];
    if (typeof v === "string") s += v;
    else if (part.variable.startsWith("time_")) s += v.toFixed(6);
    else s += String(Math.round(v));
  }
  return s;
}
