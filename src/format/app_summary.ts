/**
 * One-line summaries of the application layers, in the words `tcpdump -n` uses
 * (print-domain.c, print-bootp.c, print-tftp.c, txtproto_print for HTTP), so a
 * line reads the same in both tools:
 *
 * ```text
 * 4660+ [1au] A? www.example.test. (45)
 * 4660* 1/0/1 A 10.77.0.9 (61)
 * BOOTP/DHCP, Request from 02:77:00:00:00:02, length 300, DHCP Discover
 * TFTP, length 19, RRQ "file.bin" octet blksize 1024
 * TFTP, length 516, DATA block 1
 * TFTP, length 20, ERROR ENOTFOUND "File not found"
 * HTTP: GET /index.html HTTP/1.1
 * HTTP: HTTP/1.1 200 OK
 * ```
 *
 * The one addition to tcpdump's default line is the DHCP message type at the end
 * (tcpdump shows it only with `-v`).
 *
 * @example
 * ```ts
 * import { SummaryFormatter } from "./summary.ts";
 * import { appSummary } from "./app_summary.ts";
 * const f = new SummaryFormatter({ app: appSummary });
 * ```
 *
 * @module
 */
import type { LayerBase } from "../../layers/core.ts";
import type { Dhcp } from "../../layers/dhcp.ts";
import type { Dns, DnsMx, DnsQuestion, DnsRecord, DnsSrv } from "../../layers/dns.ts";
import type { Http } from "../../layers/http.ts";
import type { Tftp } from "../../layers/tftp.ts";

/** The summary of a `dns`, `dhcp`, `tftp` or `http` layer; null for any other layer. */
export function appSummary(layer: LayerBase): string | null {
  switch (layer.layer) {
    case "dns":
      return dnsSummary(layer as Dns);
    case "dhcp":
      return dhcpSummary(layer as Dhcp);
    case "tftp":
      return tftpSummary(layer as Tftp);
    case "http":
      return httpSummary(layer as Http);
    default:
      return null;
  }
}

// --- DNS (tcpdump print-domain.c, ns_print without -v) ---------------------

const OPS = ["", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8", " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef"];
const RCODES = ["", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet", " NXRRSet", " NotAuth", " NotZone"];
const CLASSES = new Map([
  [1, "IN"],
  [3, "CHAOS"],
  [4, "HS"],
  [255, "ANY"],
]);

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
  return " " + typeText(q) + (q.class === 1 ? "?" : " " + classText(q.class) + "?") + " " + fqdn(q.name);
}

function record(r: DnsRecord): string {
  let s = "";
  if (r.class !== 1 && r.type !== 41) s += " " + classText(r.class);
  s += " " + typeText(r);
  const d = r.data;
  if (d instanceof Uint8Array) return s;
  switch (r.type) {
    case 1:
    case 28:
      return s + " " + String(d);
    case 2:
    case 5:
    case 12:
      return s + " " + fqdn(String(d));
    case 15:
      return s + " " + fqdn((d as DnsMx).exchange) + " " + (d as DnsMx).preference;
    case 16:
      return s + (d as string[]).map((t) => ` "${t}"`).join("");
    case 33: {
      const srv = d as DnsSrv;
      return s + " " + fqdn(srv.target) + ":" + srv.port + " " + srv.priority + " " + srv.weight;
    }
    default:
      return s;
  }
}

// Loops and concatenation rather than map/join: this runs once per DNS packet
// that `stackts read` prints.
function dnsSummary(d: Dns): string {
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
    // tcpdump flags query bits a query should not have (AA TC RA Z RCODE).
    if (d.flags & 0x6cf) s += ` [b2&3=0x${d.flags.toString(16)}]`;
    if (d.opcode === 1) {
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

// --- DHCP (tcpdump print-bootp.c without -v, plus the message type) --------

const DHCP_TYPE_TEXT = ["", "Discover", "Offer", "Request", "Decline", "ACK", "NACK", "Release", "Inform"];

function dhcpSummary(d: Dhcp): string {
  let s = "BOOTP/DHCP, " + (d.op === 1 ? "Request" : d.op === 2 ? "Reply" : `unknown (0x${d.op.toString(16).padStart(2, "0")})`);
  if (d.htype === 1 && d.hlen === 6 && d.op === 1) s += " from " + d.clientMac;
  s += ", length " + d.length;
  if (d.messageType !== undefined) s += ", DHCP " + (DHCP_TYPE_TEXT[d.messageType] ?? d.messageTypeName ?? String(d.messageType));
  return s;
}

// --- TFTP (tcpdump print-tftp.c) --------------------------------------------

const TFTP_ERROR_TEXT = ["EUNDEF", "ENOTFOUND", "EACCESS", "ENOSPACE", "EBADOP", "EBADID", "EEXISTS", "ENOUSER", "EOPTNEG"];
const encoder = new TextEncoder();

function zlen(s: string | undefined): number {
  return s === undefined ? 0 : encoder.encode(s).length + 1;
}

function tftpLength(t: Tftp): number {
  switch (t.opcode) {
    case 1:
    case 2:
    case 6: {
      let n = 2 + zlen(t.filename) + zlen(t.mode);
      for (const o of t.options ?? []) n += zlen(o.name) + zlen(o.value);
      return n;
    }
    case 3:
      return 4 + (t.dataLength ?? 0);
    case 5:
      return 4 + zlen(t.errorMessage);
    default:
      return t.block === undefined ? 2 : 4;
  }
}

function tftpSummary(t: Tftp): string {
  let s = `TFTP, length ${tftpLength(t)}, `;
  switch (t.opcode) {
    case 1:
    case 2:
    case 6:
      s += t.opcodeName;
      if (t.opcode !== 6) s += ` "${t.filename ?? ""}" ${t.mode ?? ""}`;
      for (const o of t.options ?? []) s += ` ${o.name} ${o.value}`;
      return s;
    case 3:
    case 4:
      return s + `${t.opcodeName} block ${t.block ?? 0}`;
    case 5: {
      const code = t.errorCode ?? 0;
      return s + `ERROR ${TFTP_ERROR_TEXT[code] ?? `tftp-err-#${code} "`} "${t.errorMessage ?? ""}"`;
    }
    default:
      return s + `tftp-#${t.opcode}`;
  }
}

// --- HTTP (tcpdump txtproto_print: the first line) -------------------------

function httpSummary(h: Http): string {
  return h.type === "request" ? `HTTP: ${h.method} ${h.uri} ${h.version}` : `HTTP: ${h.version} ${h.status} ${h.reason ?? ""}`.trimEnd();
}
