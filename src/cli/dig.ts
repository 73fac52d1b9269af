/**
 * A DNS message as `dig` prints it, for `stackts dns -v` and `stackts send dns`:
 * the header and flags, EDNS's pseudo-section, the question, and the answer,
 * authority and additional sections, each record laid out in BIND's columns
 * (tabs to stops 24, 32, 40, 48). The callers add their own first and last
 * lines (query time, server, transport).
 *
 * @example
 * ```ts
 * for (const line of digSections(response)) out.line(line);
 * ```
 *
 * @module
 */
import type { Dns, DnsOpt, DnsRecord } from "../../layers/dns.ts";
import { formatRdata } from "../send/dns_query.ts";

/** Text from column to column as BIND's masterdump lays a record out: tabs to each stop, one space past it. */
function columns(parts: string[], stops: readonly number[]): string {
  let line = parts[0]!;
  let col = line.length;
  for (let i = 1; i < parts.length; i++) {
    const to = stops[i - 1]!;
    if (col >= to) {
      line += " ";
      col += 1;
    } else {
      const tabs = Math.floor(to / 8) - Math.floor(col / 8);
      line += tabs > 0 ? "\t".repeat(tabs) : " ".repeat(to - col);
      col = to;
    }
    line += parts[i]!;
    col += parts[i]!.length;
  }
  return line;
}

const STOPS = [24, 32, 40, 48] as const;

function fqdn(name: string): string {
  return name === "." || name.endsWith(".") ? name : name + ".";
}

function className(c: number): string {
  return c === 1 ? "IN" : c === 3 ? "CH" : c === 4 ? "HS" : `CLASS${c}`;
}

/** One record as dig prints it. */
function digRecord(r: DnsRecord): string {
  return columns([fqdn(r.name), String(r.ttl), className(r.class), r.typeName, formatRdata(r)], STOPS);
}

/** The lines of `d` from `;; ->>HEADER<<-` to the last section, as dig prints them. */
export function digSections(d: Dns): string[] {
  const lines: string[] = [];
  const flags = [d.response && "qr", d.authoritative && "aa", d.truncated && "tc", d.recursionDesired && "rd", d.recursionAvailable && "ra", d.authenticData && "ad", d.checkingDisabled && "cd"].filter(Boolean);
  lines.push(`;; ->>HEADER<<- opcode: ${d.opcodeName}, status: ${d.rcodeName}, id: ${d.id}`);
  lines.push(`;; flags: ${flags.join(" ")}; QUERY: ${d.questionCount}, ANSWER: ${d.answerCount}, AUTHORITY: ${d.authorityCount}, ADDITIONAL: ${d.additionalCount}`);
  lines.push("");
  const opt = d.additionals.find((a) => a.typeName === "OPT");
  if (opt !== undefined && typeof opt.data === "object" && "udpPayloadSize" in opt.data) {
    const o = opt.data as DnsOpt;
    lines.push(";; OPT PSEUDOSECTION:");
    lines.push(`; EDNS: version: ${o.version}, flags:${o.dnssecOk ? " do" : ""}; udp: ${o.udpPayloadSize}`);
  }
  lines.push(";; QUESTION SECTION:");
  for (const q of d.questions) lines.push(columns([`;${fqdn(q.name)}`, "", className(q.class), q.typeName], STOPS));
  for (const [title, records] of [
    ["ANSWER", d.answers],
    ["AUTHORITY", d.authorities],
    ["ADDITIONAL", d.additionals.filter((a) => a.typeName !== "OPT")],
  ] as const) {
    if (records.length === 0) continue;
    lines.push("");
    lines.push(`;; ${title} SECTION:`);
    for (const a of records) lines.push(digRecord(a));
  }
  return lines;
}
