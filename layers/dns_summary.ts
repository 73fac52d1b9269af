/**
 * The one-line summary of a DNS message in the words of `tcpdump -n`
 * (print-domain.c, ns_print without -v), so a line reads the same in both tools:
 *
 * ```text
 * 4660+ [1au] A? www.example.test. (45)
 * 4660* 1/0/1 A 10.77.0.9 (61)
 * ```
 *
 * It is the `summary` of the DNS protocol descriptor (`dns.ts`).
 *
 * @example
 * ```ts
 * import { dnsSummary } from "./dns_summary.ts";
 * dnsSummary(decoded); // "4660+ A? www.example.test. (34)"
 * ```
 *
 * @module
 */
import { DNS_CLASS, DNS_FLAG, DNS_OPCODE, DNS_RCODE_MASK, DNS_TYPE } from "./dns_header.ts";
import type { Dns, DnsMx, DnsQuestion, DnsRecord, DnsSrv } from "./dns_message.ts";

const OPS = ["", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8", " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef"];
const RCODES = ["", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet", " NXRRSet", " NotAuth", " NotZone"];
const CLASSES = new Map([
  [1, "IN"],
  [3, "CHAOS"],
  [4, "HS"],
  [255, "ANY"],
]);

/** Header bits a query should not have, which tcpdump shows as `[b2&3=0x..]`: AA TC RA Z and the RCODE. */
const QUERY_ODD_BITS = DNS_FLAG.AUTHORITATIVE | DNS_FLAG.TRUNCATED | DNS_FLAG.RECURSION_AVAILABLE | DNS_FLAG.Z | DNS_RCODE_MASK;

function fqdn(name: string): string {
  return name === "." ? "." : name + ".";
}

function typeText(r: { type: number; typeName: string }): string {
  return r.typeName.startsWith("TYPE") ? `Type${r.type}` : r.typeName;
}

function classText(cls: number): string {
  return CLASSES.get(cls) ?? `(Class ${cls})`;
}

function question(q: DnsQuestion): string {
  // ns_qprint: " TYPE? name." or " TYPE CLASS? name."
  return " " + typeText(q) + (q.class === DNS_CLASS.IN ? "?" : " " + classText(q.class) + "?") + " " + fqdn(q.name);
}

function record(r: DnsRecord): string {
  let s = "";
  if (r.class !== DNS_CLASS.IN && r.type !== DNS_TYPE.OPT) s += " " + classText(r.class);
  s += " " + typeText(r);
  const d = r.data;
  if (d instanceof Uint8Array) return s;
  switch (r.type) {
    case DNS_TYPE.A:
    case DNS_TYPE.AAAA:
      return s + " " + String(d);
    case DNS_TYPE.NS:
    case DNS_TYPE.CNAME:
    case DNS_TYPE.PTR:
      return s + " " + fqdn(String(d));
    case DNS_TYPE.MX:
      return s + " " + fqdn((d as DnsMx).exchange) + " " + (d as DnsMx).preference;
    case DNS_TYPE.TXT:
      return s + (d as string[]).map((t) => ` "${t}"`).join("");
    case DNS_TYPE.SRV: {
      const srv = d as DnsSrv;
      return s + " " + fqdn(srv.target) + ":" + srv.port + " " + srv.priority + " " + srv.weight;
    }
    default:
      return s;
  }
}

/**
 * tcpdump's line for a DNS message: id, opcode, flags, counts, then the
 * answers of a response or the questions of a query, and the length. Loops
 * and concatenation rather than map/join: this runs once per DNS packet that
 * `stackts read` prints.
 */
export function dnsSummary(d: Dns): string {
  let s = d.id + (OPS[d.opcode] ?? "");
  if (d.response) {
    s +=
      (RCODES[d.rcode] ?? ` Resp${d.rcode}`) +
      (d.authoritative ? "*" : "") +
      (d.recursionAvailable ? "" : "-") +
      (d.truncated ? "|" : "") +
      (d.authenticData ? "$" : "");
    if (d.questionCount !== 1) s += ` [${d.questionCount}q]`;
    s += " " + d.answerCount + "/" + d.authorityCount + "/" + d.additionalCount;
    const answers = d.answers;
    for (let i = 0; i < answers.length; i++) s += (i === 0 ? "" : ",") + record(answers[i]!);
  } else {
    s += (d.recursionDesired ? "+" : "") + (d.checkingDisabled ? "%" : "");
    if (d.flags & QUERY_ODD_BITS) s += ` [b2&3=0x${d.flags.toString(16)}]`;
    if (d.opcode === DNS_OPCODE.IQUERY) {
      if (d.questionCount) s += ` [${d.questionCount}q]`;
      if (d.answerCount !== 1) s += ` [${d.answerCount}a]`;
    } else {
      if (d.answerCount) s += ` [${d.answerCount}a]`;
      if (d.questionCount !== 1) s += ` [${d.questionCount}q]`;
    }
    if (d.authorityCount) s += ` [${d.authorityCount}n]`;
    if (d.additionalCount) s += ` [${d.additionalCount}au]`;
    const questions = d.questions;
    for (let i = 0; i < questions.length; i++) s += question(questions[i]!);
  }
  return s + " (" + d.length + ")";
}
