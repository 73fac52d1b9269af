/**
 * DNS messages (RFC 1035), over UDP and over TCP (RFC 1035 §4.2.2, RFC 7766):
 * the decoder, the builder, the codec and the protocol descriptor. The parts
 * live beside this module, and everything public of them is exported from
 * here as well:
 *
 * - `dns_header.ts`: type/class/opcode/rcode numbers and names, the 12-byte
 *   header ({@link DnsHeaderView}, {@link DNS_FIELD});
 * - `dns_message.ts`: the decoded value {@link Dns} and the input {@link DnsInput};
 * - `dns_name.ts`: names on the wire, compression both ways;
 * - `dns_rdata.ts`: record data by type;
 * - `dns_summary.ts`: the tcpdump-style line ({@link dnsSummary}).
 *
 * Decoding reads the header, every section, and record data for A, AAAA, CNAME,
 * NS, PTR, MX, TXT, SOA, SRV, CAA and OPT (EDNS0, RFC 6891); other types keep
 * their record data raw. Loops and forward compression pointers, labels over 63
 * bytes, names over 255 bytes and section counts that claim more records than
 * the bytes hold end in an {@link Issue} instead of a hang.
 *
 * Over TCP each message carries a two-byte length prefix and one segment may hold
 * several messages: the decoder pushes **one `dns` value per message** (each with
 * its `tcpLength`), in order. Whether the layer below is TCP is read from
 * `state.layers`; the builder writes the prefix when the layer outside is TCP.
 *
 * Building writes the message forward, once, straight into the caller's
 * buffer (`dnsCodec.append`), compressing names as it goes; the TCP prefix is
 * filled in when the message is down.
 *
 * @example
 * ```ts
import { dnsCodec, encodeDns } from "./dns.ts";
 * const query = encodeDns({ layer: "dns", id: 0x1234, questions: [{ name: "www.example.test", type: "A" }] });
 * ```
 *
 * @module
 */
import { checkInput } from "./input_check.ts";
import type { Decoder, DecodeState, EncodeContext, Issue, LayerBase, Protocol } from "./core.ts";
import { put16, u16, u32 } from "./bytes.ts";
import { appendCodec, type AppendCodec, ByteWriter } from "./byte_writer.ts";
import { rangeView } from "./checksum.ts";
import { PORT_DNS, PORT_MDNS } from "./dispatch.ts";
import {
  DNS_CLASS,
  DNS_FLAG,
  DNS_HEADER_LENGTH,
  DNS_OPCODE_SHIFT,
  DNS_RCODE_MASK,
  DNS_TYPE,
  DnsHeaderView,
  dnsOpcodeName,
  dnsRcodeName,
  dnsTypeName,
  dnsTypeOf,
} from "./dns_header.ts";
import type { Dns, DnsCut, DnsData, DnsInput, DnsQuestion, DnsRecord, DnsRecordInput } from "./dns_message.ts";
import { DnsStop, DnsWriter, dnsNameBound, lastName, readName, writeName } from "./dns_name.ts";
import { decodeRdata, isOpt, rdataBound, writeRdata } from "./dns_rdata.ts";
import { dnsSummary } from "./dns_summary.ts";

export {
  DNS_CLASS,
  DNS_FIELD,
  DNS_FLAG,
  DNS_HEADER_LENGTH,
  DNS_OPCODE,
  DNS_OPCODE_SHIFT,
  DNS_RCODE,
  DNS_RCODE_MASK,
  DNS_TYPE,
  DnsHeaderView,
  dnsClassName,
  dnsOpcodeName,
  dnsRcodeName,
  dnsTypeName,
  dnsTypeOf,
} from "./dns_header.ts";
export type {
  Dns,
  DnsCaa,
  DnsCut,
  DnsData,
  DnsEdnsOption,
  DnsInput,
  DnsMx,
  DnsOpt,
  DnsQuestion,
  DnsQuestionInput,
  DnsRecord,
  DnsRecordInput,
  DnsSoa,
  DnsSrv,
} from "./dns_message.ts";
export { DNS_MAX_LABEL_LENGTH, DNS_MAX_NAME_LENGTH, dnsNameToLabels } from "./dns_name.ts";
export { dnsSummary } from "./dns_summary.ts";

// ---------------------------------------------------------------------------
// Decoding

/** One header view for every message decoded: decoding never nests. */
const header = new DnsHeaderView(new Uint8Array(0));

const SECTION_NAMES = ["question", "answer", "authority", "additional"] as const;

/** "answer 2 of 3": the record of section `section` (0 question .. 3 additional) at `index`. */
function where(section: number, index: number, dns: Dns): string {
  const count = [dns.questionCount, dns.answerCount, dns.authorityCount, dns.additionalCount][section]!;
  return `${SECTION_NAMES[section]!} ${index + 1} of ${count}`;
}

function decodeMessage(msg: Uint8Array, state: DecodeState, tcpLength: number | undefined, wireLength: number): void {
  const h = header.reset(msg, 0, msg.length);
  const short = h.check();
  if (short !== null) {
    state.issues.push({ layer: "dns", kind: "truncated", reason: short });
    return;
  }
  const flags = h.flags;
  const opcode = (flags >> DNS_OPCODE_SHIFT) & 0xf;
  const rcode = flags & DNS_RCODE_MASK;
  const questionCount = h.questionCount;
  const answerCount = h.answerCount;
  const authorityCount = h.authorityCount;
  const additionalCount = h.additionalCount;
  const questions: DnsQuestion[] = [];
  const answers: DnsRecord[] = [];
  const authorities: DnsRecord[] = [];
  const additionals: DnsRecord[] = [];
  const dns: Dns = {
    layer: "dns",
    id: h.id,
    response: (flags & DNS_FLAG.RESPONSE) !== 0,
    opcode,
    opcodeName: dnsOpcodeName(opcode),
    rcode,
    rcodeName: dnsRcodeName(rcode),
    flags,
    authoritative: (flags & DNS_FLAG.AUTHORITATIVE) !== 0,
    truncated: (flags & DNS_FLAG.TRUNCATED) !== 0,
    recursionDesired: (flags & DNS_FLAG.RECURSION_DESIRED) !== 0,
    recursionAvailable: (flags & DNS_FLAG.RECURSION_AVAILABLE) !== 0,
    z: (flags & DNS_FLAG.Z) !== 0,
    authenticData: (flags & DNS_FLAG.AUTHENTIC_DATA) !== 0,
    checkingDisabled: (flags & DNS_FLAG.CHECKING_DISABLED) !== 0,
    questionCount,
    answerCount,
    authorityCount,
    additionalCount,
    questions,
    answers,
    authorities,
    additionals,
    length: wireLength,
  };
  // Over TCP only, added after the rest (an object spread into the literal
  // made a slower dictionary-like object of every message).
  if (tcpLength !== undefined) dns.tcpLength = tcpLength;
  state.layers.push(dns);
  let pos = h.payloadStart;
  // Where a problem was met, as "answer 2 of 3": kept as parts, put into words
  // only when an issue is reported (no string building per record).
  let section = 0;
  let index = 0;
  // How far the record being read got, and its type once its fixed part is in (for `cut`).
  let part: DnsCut["part"] = "name";
  let cutType = -1;
  try {
    // Records are only appended while the bytes last, so a count that lies
    // (65535 questions in 40 bytes) costs nothing before the stop.
    for (; index < questionCount; index++) {
      part = pos >= msg.length ? "start" : "name";
      const after = readName(msg, pos);
      part = "fixed";
      if (after + 4 > msg.length) throw new DnsStop("truncated", "type and class are cut off");
      const type = u16(msg, after);
      questions.push({ name: lastName(), type, typeName: dnsTypeName(type), class: u16(msg, after + 2) });
      pos = after + 4;
    }
    for (section = 1; section < 4; section++) {
      const list = section === 1 ? answers : section === 2 ? authorities : additionals;
      const count = section === 1 ? answerCount : section === 2 ? authorityCount : additionalCount;
      for (index = 0; index < count; index++) {
        part = pos >= msg.length ? "start" : "name";
        const p = readName(msg, pos);
        part = "fixed";
        const name = lastName();
        // RFC 1035 §4.1.3: TYPE, CLASS, TTL, RDLENGTH, then RDATA.
        if (p + 10 > msg.length) throw new DnsStop("truncated", "record header is cut off");
        const type = u16(msg, p);
        part = "data";
        cutType = type;
        const cls = u16(msg, p + 2);
        const ttl = u32(msg, p + 4);
        const rdLength = u16(msg, p + 8);
        const start = p + 10;
        const end = start + rdLength;
        if (end > msg.length) throw new DnsStop("truncated", `data length ${rdLength} exceeds ${msg.length - start} bytes`);
        let data: DnsData | null;
        let why = "does not fit its type";
        try {
          data = decodeRdata(msg, type, cls, ttl, start, end);
        } catch (err) {
          if (!(err instanceof DnsStop)) throw err;
          why = `has a bad name: ${err.reason}`;
          data = null;
        }
        if (data === null) {
          // The record is framed by RDLENGTH, so the next one can still be read.
          state.issues.push({
            layer: "dns",
            kind: "malformed",
            reason: `${where(section, index, dns)}: ${dnsTypeName(type)} data of ${rdLength} bytes ${why}`,
          });
          data = msg.subarray(start, end);
        }
        list.push({ name, type, typeName: dnsTypeName(type), class: cls, ttl, rdLength, data });
        pos = end;
        cutType = -1;
      }
    }
  } catch (err) {
    if (!(err instanceof DnsStop)) throw err;
    state.issues.push({ layer: "dns", kind: err.kind, reason: `${where(section, index, dns)}: ${err.reason}` });
    if (err.kind === "truncated") {
      // Where the bytes ran out, for a printer's tcpdump-style "[|domain]".
      const cut: DnsCut = { section: SECTION_NAMES[section]!, index, part };
      if (part === "data") cut.type = cutType;
      dns.cut = cut;
    }
  }
}

/**
 * Decode one DNS message (UDP) or the length-prefixed messages of one TCP segment.
 * Consumes all bytes (none when no message could be read: they stay as payload); returns null.
 */
export const decodeDns: Decoder = (frame, state) => {
  // One view of the message keeps the offsets below relative.
  const bytes = rangeView(frame, state.offset, state.end);
  const below = state.layers[state.layers.length - 1];
  const before = state.layers.length;
  if (below !== undefined && below.layer === "tcp") {
    let pos = 0;
    while (pos < bytes.length) {
      if (pos + 2 > bytes.length) {
        state.issues.push({ layer: "dns", kind: "truncated", reason: "TCP length prefix is cut off" });
        break;
      }
      const length = u16(bytes, pos);
      const available = bytes.length - pos - 2;
      if (length > available) {
        // The rest of the message is in a later segment (no reassembly here):
        // decode what this one holds and say so.
        state.issues.push({
          layer: "dns",
          kind: "truncated",
          reason: `TCP length prefix ${length} exceeds ${available} bytes`,
        });
      }
      const part = bytes.subarray(pos + 2, pos + 2 + Math.min(length, available));
      // Its length is the prefix's, also when the capture cut it short.
      decodeMessage(part, state, length, length);
      pos += 2 + length;
    }
  } else {
    // Over UDP cut by the capture, the message's length is what the UDP
    // header states (tcpdump prints that one); its captured part is decoded.
    let length = bytes.length;
    if (below !== undefined && below.layer === "udp") {
      const stated = (below as LayerBase & { length: number }).length - 8; // UDP_HEADER_LENGTH
      if (stated > length) length = stated;
    }
    decodeMessage(bytes, state, undefined, length);
  }
  // Nothing decoded (a header or prefix too short to read): the bytes stay as payload.
  if (state.layers.length === before) return null;
  state.offset = state.end;
  return null;
};

// ---------------------------------------------------------------------------
// Encoding

/** What a record to build may hold (`inputRules`); its `data` is checked by the type's writer. */
const DNS_RECORD_RULES = { name: "text", type: { orName: 0xffff }, class: 0xffff, ttl: 0xffffffff, rdLength: 0xffff } as const;

/** RFC 6891 §6.2.5 lets the sender choose; 1232 is the size DNS Flag Day 2020 settled on (no IPv6 fragments). */
const EDNS_DEFAULT_UDP_PAYLOAD_SIZE = 1232;
/** Bytes of a record before its data: TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3). */
const RECORD_FIXED_LENGTH = 10;
/** Bytes of a question after its name: QTYPE, QCLASS (RFC 1035 §4.1.2). */
const QUESTION_FIXED_LENGTH = 4;
/** DNS over TCP: the two-byte length before each message (RFC 1035 §4.2.2). */
const TCP_PREFIX_LENGTH = 2;

function writeRecord(w: DnsWriter, r: DnsRecordInput): void {
  const type = dnsTypeOf(r.type ?? DNS_TYPE.A);
  writeName(w, r.name ?? ".");
  w.u16(type);
  let cls = r.class;
  let ttl = r.ttl;
  if (type === DNS_TYPE.OPT && isOpt(r.data)) {
    // RFC 6891 §6.1.3: for OPT, CLASS is the UDP payload size and TTL packs the extended RCODE, version and flags.
    const o = r.data;
    cls ??= o.udpPayloadSize ?? EDNS_DEFAULT_UDP_PAYLOAD_SIZE;
    ttl ??=
      (((o.extendedRcode ?? 0) & 0xff) << 24) | (((o.version ?? 0) & 0xff) << 16) | (o.dnssecOk ? 0x8000 : 0) | ((o.z ?? 0) & 0x7fff);
  }
  w.u16(cls ?? DNS_CLASS.IN);
  w.u32((ttl ?? 0) >>> 0);
  const lengthAt = w.pos;
  w.u16(0);
  writeRdata(w, type, r.data);
  put16(w.out, lengthAt, r.rdLength ?? w.pos - lengthAt - 2);
}

/** Write one message (no TCP prefix) at `out[at, …)`; returns where it ends. */
function appendMessage(input: DnsInput, out: Uint8Array, at: number): number {
  const w = new DnsWriter(out, at, input.compress !== false);
  const questions = input.questions ?? [];
  const answers = input.answers ?? [];
  const authorities = input.authorities ?? [];
  const additionals = input.additionals ?? [];
  w.room(DNS_HEADER_LENGTH);
  const h = new DnsHeaderView(out, at, at + DNS_HEADER_LENGTH);
  h.id = input.id ?? 0;
  if (input.flags !== undefined) h.flags = input.flags;
  else {
    const response = input.response ?? false;
    h.flags = 0;
    h.response = response;
    h.opcode = input.opcode ?? 0;
    h.authoritative = input.authoritative ?? false;
    h.truncated = input.truncated ?? false;
    h.recursionDesired = input.recursionDesired ?? !response;
    h.recursionAvailable = input.recursionAvailable ?? false;
    h.z = input.z ?? false;
    h.authenticData = input.authenticData ?? false;
    h.checkingDisabled = input.checkingDisabled ?? false;
    h.rcode = input.rcode ?? 0;
  }
  h.questionCount = input.questionCount ?? questions.length;
  h.answerCount = input.answerCount ?? answers.length;
  h.authorityCount = input.authorityCount ?? authorities.length;
  h.additionalCount = input.additionalCount ?? additionals.length;
  w.pos = h.payloadStart;
  for (const q of questions) {
    writeName(w, q.name);
    w.u16(dnsTypeOf(q.type ?? DNS_TYPE.A));
    w.u16(q.class ?? DNS_CLASS.IN);
  }
  for (const list of [answers, authorities, additionals]) for (const r of list) writeRecord(w, r);
  return w.pos;
}

/** The type number of a record input, or -1 for a name {@link dnsTypeOf} refuses (writing it will throw). */
function typeOrNone(type: number | string | undefined): number {
  try {
    return dnsTypeOf(type ?? DNS_TYPE.A);
  } catch {
    return -1;
  }
}

/** At least the length {@link appendMessage} writes, from lengths alone (names uncompressed). */
function messageBound(input: DnsInput): number {
  let n = DNS_HEADER_LENGTH;
  for (const q of input.questions ?? []) n += dnsNameBound(q.name) + QUESTION_FIXED_LENGTH;
  for (const list of [input.answers, input.authorities, input.additionals]) {
    for (const r of list ?? []) n += dnsNameBound(r.name ?? ".") + RECORD_FIXED_LENGTH + rdataBound(typeOrNone(r.type), r.data);
  }
  return n;
}

/**
 * Build one DNS message (without any TCP length prefix). Throws a RangeError or
 * TypeError on input that cannot be written (a label over 63 bytes, an A record
 * whose data is not an IPv4 address, ...).
 */
export function encodeDns(input: DnsInput): Uint8Array {
  checkInput("dns", input, dnsProtocol.inputRules!);
  const out = new Uint8Array(messageBound(input));
  const n = appendMessage(input, out, 0);
  return n === out.length ? out : out.slice(0, n);
}

function overTcp(ctx: EncodeContext): boolean {
  return ctx.outer?.layer === "tcp";
}

/**
 * DNS codec: the whole message, with the two-byte length prefix when the layer
 * outside is TCP (back-filled once the message is written, unless `tcpLength` is set).
 */
export const dnsCodec: AppendCodec<DnsInput> = appendCodec<DnsInput>(
  (value, out, at, ctx) => {
    if (!overTcp(ctx)) return appendMessage(value, out, at);
    new ByteWriter("dns", out, at).room(TCP_PREFIX_LENGTH);
    const end = appendMessage(value, out, at + TCP_PREFIX_LENGTH);
    put16(out, at, value.tcpLength ?? end - at - TCP_PREFIX_LENGTH);
    return end;
  },
  (value, ctx) => messageBound(value) + (overTcp(ctx) ? TCP_PREFIX_LENGTH : 0),
);

/** DNS in the registry: UDP 53 and 5353 (mDNS), TCP 53; its line is tcpdump's ({@link dnsSummary}). */
export const dnsProtocol: Protocol<"dns", Dns, DnsInput> = {
  kind: "dns",
  decode: decodeDns,
  codec: dnsCodec,
  claims: { udpPorts: [PORT_DNS, PORT_MDNS], tcpPorts: [PORT_DNS] },
  summary: dnsSummary,
  inputRules: {
    tcpLength: 0xffff,
    id: 0xffff,
    response: "bool",
    opcode: 15,
    rcode: 15, // the header's 4 bits; an extended RCODE goes in the OPT record
    flags: 0xffff,
    authoritative: "bool",
    truncated: "bool",
    recursionDesired: "bool",
    recursionAvailable: "bool",
    z: "bool",
    authenticData: "bool",
    checkingDisabled: "bool",
    questionCount: 0xffff,
    answerCount: 0xffff,
    authorityCount: 0xffff,
    additionalCount: 0xffff,
    questions: { list: { name: "text", type: { orName: 0xffff }, class: 0xffff } },
    answers: { list: DNS_RECORD_RULES },
    authorities: { list: DNS_RECORD_RULES },
    additionals: { list: DNS_RECORD_RULES },
    compress: "bool",
  },
};
