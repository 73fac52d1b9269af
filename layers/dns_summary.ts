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
import { u16 } from "./bytes.ts";
import { DNS_CLASS, DNS_FLAG, DNS_OPCODE, DNS_RCODE_MASK, DNS_TYPE } from "./dns_header.ts";
import type { Dns, DnsMx, DnsOpt, DnsQuestion, DnsRecord, DnsSrv } from "./dns_message.ts";

const OPS = ["", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8", " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef"];
/**
 * tcpdump's words for an RCODE, extended by EDNS0 (RFC 6891 §6.1.3: the OPT
 * record's 8 bits above the header's 4); the others it prints as ` RespN`.
 */
const RCODES = [
  "", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet",
  " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12", " Resp13", " Resp14", " NoChange",
  " BadVers",
];
/** RFC 7873 §8: BADCOOKIE (23), the one named extended RCODE past BADVERS that tcpdump prints by name */
const BAD_COOKIE = 23;

/** The whole RCODE: the header's 4 bits, and the OPT record's extended bits when it has one. */
function fullRcode(d: Dns): number {
  const additionals = d.additionals;
  for (let i = 0; i < additionals.length; i++) {
    const r = additionals[i]!;
    if (r.type === DNS_TYPE.OPT && !(r.data instanceof Uint8Array)) return ((r.data as DnsOpt).extendedRcode << 4) | d.rcode;
  }
  return d.rcode;
}

function rcodeText(rcode: number): string {
  return RCODES[rcode] ?? (rcode === BAD_COOKIE ? " BadCookie" : " Resp" + rcode);
}

/**
 * tcpdump's names of record types (print-domain.c's table, as `tcpdump -n`
 * prints them for queries of every type): index = type. Types it does not
 * name print as `TypeN`, also those RFCs named later (NSEC3, SVCB, CAA, ...).
 */
const TYPE_NAMES: readonly (string | undefined)[] = (() => {
  const names: (string | undefined)[] = [];
  const first = "A NS MD MF CNAME SOA MB MG MR NULL WKS PTR HINFO MINFO MX TXT RP AFSDB X25 ISDN RT NSAP NSAP_PTR SIG KEY PX GPOS AAAA LOC NXT EID NIMLOC SRV ATMA NAPTR KX CERT A6 DNAME SINK OPT APL DS SSHFP IPSECKEY RRSIG NSEC DNSKEY";
  first.split(" ").forEach((n, i) => (names[i + 1] = n));
  "SPF UINFO UID GID UNSPEC UNSPECA".split(" ").forEach((n, i) => (names[99 + i] = n));
  "TKEY TSIG IXFR AXFR MAILB MAILA ANY URI".split(" ").forEach((n, i) => (names[249 + i] = n));
  return names;
})();
/** RFC 7553: the URI record's type */
const TYPE_URI = 256;
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

function typeText(r: { type: number }): string {
  return TYPE_NAMES[r.type] ?? `Type${r.type}`;
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
  if (d instanceof Uint8Array) {
    // RFC 7553 §4.5: priority, weight, then the target URI to the end
    if (r.type === TYPE_URI && d.length >= 4) return s + " " + u16(d, 0) + " " + u16(d, 2) + " " + latin1(d.subarray(4));
    return s;
  }
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

/** The bytes as text one byte per character (tcpdump prints a URI's bytes as they are). */
function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** tcpdump's mark where a message ran out of bytes (nd_print_trunc in print-domain.c). */
const CUT = " [|domain]";

/**
 * tcpdump's line for a DNS message: id, opcode, flags, counts, then the
 * answers of a response or the questions of a query, and the length. Loops
 * and concatenation rather than map/join: this runs once per DNS packet that
 * `stackts read` prints.
 *
 * A message that ran out of bytes (`d.cut`: a snaplen cut it) reads as
 * tcpdump's: what it could print, then `[|domain]` where the part it prints
 * was cut. tcpdump only prints the questions of a query and the answers of a
 * response without -v, so a cut further on shows nothing but the length;
 * and, as tcpdump does, an answer cut before its type ends the list quietly
 * after a comma unless it is the first.
 */
export function dnsSummary(d: Dns): string {
  let s = d.id + (OPS[d.opcode] ?? "");
  const cut = d.cut;
  if (d.response) {
    s +=
      rcodeText(fullRcode(d)) +
      (d.authoritative ? "*" : "") +
      (d.recursionAvailable ? "" : "-") +
      (d.truncated ? "|" : "") +
      (d.authenticData ? "$" : "");
    if (d.questionCount !== 1) s += ` [${d.questionCount}q]`;
    // tcpdump skips the questions' names and steps over their type and class
    // unchecked: only a name cut marks the line; the last question's type
    // and class cut reads as the first answer cut before its type.
    let answerCut = cut?.section === "answer" ? cut : undefined;
    if (cut?.section === "question") {
      if (cut.part !== "fixed" || cut.index < d.questionCount - 1) return s + CUT;
      answerCut = { section: "answer", index: 0, part: "name" };
    }
    s += " " + d.answerCount + "/" + d.authorityCount + "/" + d.additionalCount;
    const answers = d.answers;
    for (let i = 0; i < answers.length; i++) s += (i === 0 ? "" : ",") + record(answers[i]!);
    if (answerCut !== undefined && d.answerCount > 0) {
      const i = answerCut.index;
      // Cut in its data: the type is printed, then the mark. Cut before its
      // type: the list ends there quietly (after a comma unless first), and
      // the mark follows only when more answers were announced.
      if (answerCut.type !== undefined) return s + (i === 0 ? "" : ",") + " " + typeText({ type: answerCut.type }) + CUT;
      // Not a byte of it: tcpdump's loop stops before it (no comma, and it is still owed).
      if (i > 0 && answerCut.part === "start") return s + CUT;
      if (i > 0) s += ",";
      if (d.answerCount - (i + 1) > 0) return s + CUT;
    }
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
    if (cut?.section === "question") return s + CUT;
  }
  return s + " (" + d.length + ")";
}
