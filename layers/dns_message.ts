/**
 * A DNS message as plain values: the decoded {@link Dns} with its questions,
 * records and record data, and the build input {@link DnsInput}. Types only:
 * the decoder, the builder and the printer's summary all speak of these, so
 * they live below all three (no import circle between them).
 *
 * @example
 * ```ts
 * import type { DnsInput } from "./dns_message.ts";
 * const query: DnsInput = { layer: "dns", id: 0x1234, questions: [{ name: "www.example.test", type: "AAAA" }] };
 * ```
 *
 * @module
 */
import type { LayerBase } from "./core.ts";

/** One entry of the question section. */
export interface DnsQuestion {
  name: string;
  type: number;
  /** `A`, `AAAA`, ..., `TYPE<n>` */
  typeName: string;
  class: number;
}

/** MX record data (RFC 1035 §3.3.9). */
export interface DnsMx {
  preference: number;
  exchange: string;
}

/** SOA record data (RFC 1035 §3.3.13). */
export interface DnsSoa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** SRV record data (RFC 2782). */
export interface DnsSrv {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** CAA record data (RFC 8659 §4.1). */
export interface DnsCaa {
  flags: number;
  tag: string;
  value: string;
}

/** One EDNS0 option (RFC 6891 §6.1.2): code and raw data. */
export interface DnsEdnsOption {
  code: number;
  data: Uint8Array;
}

/**
 * OPT pseudo-record data (RFC 6891 §6.1.3): what the record's class and TTL fields
 * mean for OPT, plus its options. The record's `class` and `ttl` keep the raw values.
 */
export interface DnsOpt {
  udpPayloadSize: number;
  /** upper 8 bits of the 12-bit rcode */
  extendedRcode: number;
  version: number;
  /** the DO bit (RFC 3225) */
  dnssecOk: boolean;
  /** the 15 remaining flag bits */
  z: number;
  options: DnsEdnsOption[];
}

/**
 * Record data by type: A/AAAA an address string; CNAME/NS/PTR a name; TXT the
 * list of character-strings; MX/SOA/SRV/CAA/OPT an object; anything else (or data
 * that does not fit its type) the raw bytes.
 */
export type DnsData = string | string[] | DnsMx | DnsSoa | DnsSrv | DnsCaa | DnsOpt | Uint8Array;

/** One resource record. For OPT, `class` is the UDP payload size and `ttl` the packed flags. */
export interface DnsRecord {
  name: string;
  type: number;
  typeName: string;
  class: number;
  ttl: number;
  /** RDLENGTH as it was on the wire */
  rdLength: number;
  data: DnsData;
}

/** A decoded DNS message. */
export interface Dns extends LayerBase {
  layer: "dns";
  /** over TCP only: the two-byte length prefix */
  tcpLength?: number;
  id: number;
  response: boolean;
  opcode: number;
  opcodeName: string;
  /** the header's 4-bit RCODE; EDNS0 extends it through the OPT record's `extendedRcode` */
  rcode: number;
  rcodeName: string;
  /** the whole 16-bit flags word, as tshark's `dns.flags` */
  flags: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  /** the reserved Z bit (0x0040) */
  z: boolean;
  authenticData: boolean;
  checkingDisabled: boolean;
  questionCount: number;
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  /**
   * length of the message in bytes (without the TCP prefix); over UDP, when
   * the capture cut the message, the length its UDP header states
   */
  length: number;
  /** present when the message ran out of bytes: where (see {@link DnsCut}) */
  cut?: DnsCut;
}

/**
 * Where a DNS message ran out of bytes (a snaplen cut it, or its counts ask
 * for more than it holds): the record of `section` at `index` (0-based) could
 * not be read whole; `part` is where in it: at its `start` (no byte of it is
 * there), in its `name`, its `fixed` part (type and class; for a record also
 * TTL and data length) or its `data`, and then `type` is the record's type.
 */
export interface DnsCut {
  section: "question" | "answer" | "authority" | "additional";
  index: number;
  part: "start" | "name" | "fixed" | "data";
  type?: number;
}

/** A question to build: type by number or name (default A), class default IN. */
export interface DnsQuestionInput {
  name: string;
  type?: number | string;
  class?: number;
}

/**
 * A record to build. `data` takes the decoded shapes ({@link DnsData}); raw bytes
 * are written as given for any type. For OPT, `data` may be a partial
 * {@link DnsOpt} and then sets `class`/`ttl` unless those are given.
 */
export interface DnsRecordInput {
  name?: string;
  type?: number | string;
  class?: number;
  ttl?: number;
  /** written instead of the real data length (to build a lying record) */
  rdLength?: number;
  data?: DnsData | Partial<DnsOpt>;
}

/**
 * What a user gives to build a DNS message. Everything has a default; the counts
 * follow the lists unless set; `flags`, when set, is written verbatim instead of
 * the flag fields.
 */
export interface DnsInput {
  layer: "dns";
  /** over TCP: the length prefix to write instead of the real length */
  tcpLength?: number;
  id?: number;
  response?: boolean;
  opcode?: number;
  rcode?: number;
  flags?: number;
  authoritative?: boolean;
  truncated?: boolean;
  /** default true for queries (like dig), false for responses unless set */
  recursionDesired?: boolean;
  recursionAvailable?: boolean;
  z?: boolean;
  authenticData?: boolean;
  checkingDisabled?: boolean;
  questionCount?: number;
  answerCount?: number;
  authorityCount?: number;
  additionalCount?: number;
  questions?: DnsQuestionInput[];
  answers?: DnsRecordInput[];
  authorities?: DnsRecordInput[];
  additionals?: DnsRecordInput[];
  /** compress names (default true) */
  compress?: boolean;
}
