/**
 * The script language of the TCP tests, after packetdrill's: one event per
 * line, with a time (`0.100` seconds absolute, or `+0.1` after the previous
 * line), then one of
 *
 * - `< FLAGS seq:end(len) [ack N] [win N] [port P] [<options>]`: a segment
 *   the remote peer sends to the stack under test (win defaults to 65535,
 *   no `<...>` means no options);
 * - `> FLAGS seq:end(len) [ack N] win N [port P] [<options>]`: a segment the
 *   stack must send at that time. Every field is checked: `ack` must be
 *   written when the ACK flag is (and must not be when it is not), `win`
 *   always, and no `<...>` means the segment carries no options. `*` is a
 *   wildcard for any number, `<*>` for the whole option list; ports and
 *   addresses are always checked, the data byte for byte;
 * - a call on the stack: `listen PORT [BACKLOG]`, `connect PORT`,
 *   `accept [= EAGAIN]`, `use PORT` (make the connection with remote port
 *   PORT the current one), `write N|"text" [= ACCEPTED]`,
 *   `read N [= GOT]|EOF`, `shutdown`, `close`, `abort`, `state NAME`,
 *   `error CODE|none`, `assert FIELD OP VALUE` (see run.ts for the fields),
 *   `nothing` (no segment may leave up to this line's time).
 *
 * Inbound sequence numbers are relative to the remote's ISN (chosen by the
 * runner) and inbound ACKs and SACK blocks to the stack's ISN (learnt from its
 * SYN or SYN-ACK); outbound ones the other way round, as packetdrill does.
 * `port P` names the remote's port when a script plays several peers
 * (default `% remotePort`); each has its own ISNs.
 * FLAGS are tcpdump's letters: S F R P and `.` for ACK. Options: `mss N`,
 * `sackOK`, `nop`, `eol`, `wscale N`, `TS val N ecr N`, `sack A:B C:D`.
 * Timestamps are relative too: an outbound `TS val N` means the stack's
 * clock read N ms (its random per-connection offset taken off), an inbound
 * `ecr N` echoes the stack's clock at N ms (`ecr *`: the stack's last TSval
 * on that connection); the remote's own TSvals are written as they go.
 * Lines starting with `%` set the stack's TCP configuration
 * (`% timestamps=0 sack=0 delayedAckMs=200`) or the runner's (`tolerance`,
 * `remotePort`, `localPort`, `family=6`, `mtu`); `#` starts a comment.
 *
 * @module
 */

/** One option of a scripted segment. `*` values are null. */
export type ScriptOption =
  | { kind: "mss"; value: number | null }
  | { kind: "wscale"; value: number | null }
  | { kind: "sackOK" }
  | { kind: "nop" }
  | { kind: "eol" }
  | { kind: "ts"; val: number | null; ecr: number | null }
  | { kind: "sack"; blocks: [number, number][] };

/** A scripted segment. Null fields are wildcards. */
export interface ScriptSegment {
  flags: number;
  seq: number | null;
  length: number | null;
  ack: number | null;
  window: number | null;
  /** the remote's port, or null for the script's default */
  port: number | null;
  /** null: `<*>`, not checked (outbound only); [] when the line has no `<...>` */
  options: ScriptOption[] | null;
}

/** One line of a script. */
export type ScriptEvent =
  | { kind: "in"; segment: ScriptSegment }
  | { kind: "out"; segment: ScriptSegment }
  | { kind: "call"; name: string; args: string[] };

export interface ScriptLine {
  /** time, ms */
  at: number;
  line: number;
  text: string;
  event: ScriptEvent;
}

export interface Script {
  config: Record<string, string>;
  lines: ScriptLine[];
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, ".": 0x10, U: 0x20, E: 0x40, W: 0x80 };

function num(text: string, what: string, line: number): number | null {
  if (text === "*") return null;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`line ${line}: ${what} "${text}" is not a number`);
  return n;
}

function parseOptions(text: string, line: number): ScriptOption[] {
  const out: ScriptOption[] = [];
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const w = part.split(/\s+/);
    switch (w[0]) {
      case "mss":
        out.push({ kind: "mss", value: num(w[1] ?? "", "mss", line) });
        break;
      case "wscale":
        out.push({ kind: "wscale", value: num(w[1] ?? "", "wscale", line) });
        break;
      case "sackOK":
        out.push({ kind: "sackOK" });
        break;
      case "nop":
        out.push({ kind: "nop" });
        break;
      case "eol":
        out.push({ kind: "eol" });
        break;
      case "TS":
        if (w[1] !== "val" || w[3] !== "ecr") throw new Error(`line ${line}: write timestamps as "TS val N ecr N"`);
        out.push({ kind: "ts", val: num(w[2] ?? "", "TS val", line), ecr: num(w[4] ?? "", "TS ecr", line) });
        break;
      case "sack": {
        const blocks: [number, number][] = [];
        for (const b of w.slice(1)) {
          const m = /^(\d+):(\d+)$/.exec(b);
          if (m === null) throw new Error(`line ${line}: sack block "${b}" is not A:B`);
          blocks.push([Number(m[1]), Number(m[2])]);
        }
        out.push({ kind: "sack", blocks });
        break;
      }
      default:
        throw new Error(`line ${line}: unknown option "${part}"`);
    }
  }
  return out;
}

function parseSegment(text: string, line: number, outbound: boolean): ScriptSegment {
  const m = /^([FSRP.UEW]+)\s+(\*|\d+):(\*|\d+)\((\*|\d+)\)(.*)$/.exec(text.trim());
  if (m === null) throw new Error(`line ${line}: a segment is "FLAGS seq:end(len) ...", not "${text.trim()}"`);
  let flags = 0;
  for (const c of m[1]!) flags |= FLAG_BITS[c]!;
  const seq = num(m[2]!, "seq", line);
  const end = num(m[3]!, "end", line);
  const length = num(m[4]!, "length", line);
  if (seq !== null && end !== null && length !== null && end - seq !== length) throw new Error(`line ${line}: ${seq}:${end} is not ${length} bytes`);
  let rest = m[5]!;
  let options: ScriptOption[] | null = [];
  const o = /<([^>]*)>/.exec(rest);
  if (o !== null) {
    if (o[1]!.trim() === "*") {
      if (!outbound) throw new Error(`line ${line}: <*> only on an outbound segment`);
      options = null;
    } else {
      options = parseOptions(o[1]!, line);
    }
    rest = rest.replace(o[0], "");
  }
  let ack: number | null = null;
  let window: number | null = null;
  let port: number | null = null;
  let sawAck = false;
  let sawWin = false;
  const words = rest.trim().split(/\s+/).filter((x) => x !== "");
  for (let i = 0; i < words.length; i += 2) {
    const v = words[i + 1];
    if (v === undefined) throw new Error(`line ${line}: "${words[i]}" needs a value`);
    if (words[i] === "ack") {
      ack = num(v, "ack", line);
      sawAck = true;
    } else if (words[i] === "win") {
      window = num(v, "win", line);
      sawWin = true;
    } else if (words[i] === "port") {
      port = num(v, "port", line);
      if (port === null) throw new Error(`line ${line}: port cannot be *`);
    } else throw new Error(`line ${line}: unknown field "${words[i]}"`);
  }
  const hasAck = (flags & FLAG_BITS["."]!) !== 0;
  if (sawAck && !hasAck) throw new Error(`line ${line}: "ack" on a segment without the ACK flag`);
  if (outbound && hasAck && !sawAck) throw new Error(`line ${line}: an outbound ACK states its ack (or ack *)`);
  if (outbound && !sawWin) throw new Error(`line ${line}: an outbound segment states its win (or win *)`);
  if (!outbound && (seq === null || length === null)) throw new Error(`line ${line}: an inbound segment needs its seq and length`);
  return { flags, seq, length, ack, window, port, options };
}

/** Parse a script's text. Throws with the line number on anything malformed. */
export function parseScript(text: string): Script {
  const config: Record<string, string> = {};
  const lines: ScriptLine[] = [];
  let last = 0;
  text.split("\n").forEach((raw, i) => {
    const lineNo = i + 1;
    const text = raw.replace(/#.*$/, "").trim();
    if (text === "") return;
    if (text.startsWith("%")) {
      for (const kv of text.slice(1).trim().split(/\s+/)) {
        const [k, v] = kv.split("=");
        if (k === undefined || v === undefined) throw new Error(`line ${lineNo}: config is key=value, not "${kv}"`);
        config[k] = v;
      }
      return;
    }
    const m = /^(\+?)(\d+(?:\.\d+)?)\s+(.*)$/.exec(text);
    if (m === null) throw new Error(`line ${lineNo}: a line starts with a time, not "${text}"`);
    const t = Number(m[2]) * 1000;
    const at = m[1] === "+" ? last + t : t;
    if (at < last) throw new Error(`line ${lineNo}: time goes back (${at / 1000} < ${last / 1000})`);
    last = at;
    const body = m[3]!;
    let event: ScriptEvent;
    if (body.startsWith("<")) event = { kind: "in", segment: parseSegment(body.slice(1), lineNo, false) };
    else if (body.startsWith(">")) event = { kind: "out", segment: parseSegment(body.slice(1), lineNo, true) };
    else {
      const words = body.match(/"[^"]*"|\S+/g) ?? [];
      event = { kind: "call", name: words[0]!, args: words.slice(1) };
    }
    lines.push({ at, line: lineNo, text: body, event });
  });
  return { config, lines };
}
