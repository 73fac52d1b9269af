/**
 * The data of a capture report: what the aggregation in Node
 * (`ReportBuilder`, aggregate.ts) hands to the page (page/*.ts), as plain
 * JSON. Types only, no code: the page imports them too, so this module must
 * not import anything of Node.
 *
 * Times are seconds relative to the first packet (`summary.start` is the
 * absolute time of that packet, seconds since the Unix epoch). Byte counts are
 * the frames' original lengths on the wire, as capinfos' "Data size" and
 * tshark's conversation tables count them.
 *
 * @module
 */

/** The whole report. */
export interface ReportData {
  /** format version of this object */
  version: 1;
  /** the file name as given */
  file: string;
  /** the BPF filter applied ("" for none) */
  filter: string;
  /** true for a page served live (`capture --view`): the page polls `data.json` */
  live: boolean;
  summary: ReportSummary;
  /** protocol hierarchy: one row per layer path, parents before children */
  hierarchy: HierarchyRow[];
  conversations: Conversation[];
  io: IoGraph;
  /** per TCP connection (by conversation id): the series of its graphs */
  tcp: Record<string, TcpSeries>;
  /** flow-diagram rows per conversation id */
  flows: Record<string, FlowRow[]>;
  packets: PacketRow[];
  /** what was left out to keep the page small, in words (empty when nothing) */
  limits: string[];
}

export interface ReportSummary {
  packets: number;
  /** sum of the original lengths */
  bytes: number;
  /** sum of the captured lengths */
  capturedBytes: number;
  /** absolute time of the first packet (s since the epoch), null when none */
  start: number | null;
  /** seconds from the first packet to the last */
  duration: number;
  /** "pcap" or "pcapng" (or "live") */
  format: string;
  /** link type name or number → packets */
  linkTypes: Record<string, number>;
  /** e.g. "bad tcp checksum" → count and the first packet numbers */
  checksumProblems: ProblemCount[];
  /** e.g. "truncated: tcp" → count and the first packet numbers */
  issues: ProblemCount[];
  /** where reading stopped early (a damaged file), else null */
  stopped: string | null;
}

export interface ProblemCount {
  what: string;
  count: number;
  /** packet numbers (from 1), the first few */
  packets: number[];
}

export interface HierarchyRow {
  /** e.g. "ethernet/ipv4/udp/dns" */
  path: string;
  packets: number;
  bytes: number;
}

export type ConversationKind = "ipv4" | "ipv6" | "tcp" | "udp";

export interface Conversation {
  /** stable id: "c" + a number */
  id: string;
  kind: ConversationKind;
  /** address A: the source of the first packet seen */
  a: string;
  b: string;
  /** ports (tcp/udp), else null */
  aPort: number | null;
  bPort: number | null;
  packetsAB: number;
  bytesAB: number;
  packetsBA: number;
  bytesBA: number;
  /** relative start and duration, seconds */
  start: number;
  duration: number;
  /** TCP: segments tshark would flag tcp.analysis.retransmission; else 0 */
  retransmissions: number;
  /** TCP: duplicate ACKs; else 0 */
  dupAcks: number;
}

export interface IoGraph {
  /** width of one bin in seconds */
  binSeconds: number;
  /** protocol names of the series (the top ones, then "other") */
  protocols: string[];
  /** packets per bin, one array per protocol */
  packets: number[][];
  /** bytes per bin, one array per protocol */
  bytes: number[][];
}

/** The series of one direction of a TCP connection (sequence numbers relative to its first). */
export interface TcpDirectionSeries {
  /** "A→B" or "B→A" in words, e.g. "10.0.0.1:5000 → 10.0.0.2:80" */
  label: string;
  /** data segments: time, first and last relative sequence number, mark bits (TCP_MARK) */
  dataT: number[];
  dataSeq: number[];
  dataEnd: number[];
  dataMark: number[];
  /** bytes each kept point stands for (merged points add up) */
  dataBytes: number[];
  /** the other side's ACKs: time, relative ack, right window edge, mark bits */
  ackT: number[];
  ack: number[];
  win: number[];
  ackMark: number[];
  /** SACK blocks sent by the other side */
  sackT: number[];
  sackLeft: number[];
  sackRight: number[];
  /** round-trip samples: time, seconds */
  rttT: number[];
  rtt: number[];
  retransmissions: number;
  dupAcks: number;
  /** true when points were merged to keep the page small */
  downsampled: boolean;
}

export interface TcpSeries {
  ab: TcpDirectionSeries;
  ba: TcpDirectionSeries;
}

/** Mark bits of TCP segments (the page draws each differently). */
export const TCP_MARK = {
  retransmission: 1,
  fastRetransmission: 2,
  spuriousRetransmission: 4,
  outOfOrder: 8,
  dupAck: 16,
  keepAlive: 32,
} as const;

export interface FlowRow {
  /** packet number (from 1) */
  n: number;
  t: number;
  /** 0: A→B, 1: B→A */
  dir: 0 | 1;
  /** the one-line summary `stackts read` prints */
  text: string;
}

export interface PacketRow {
  n: number;
  t: number;
  length: number;
  caplen: number;
  /** the `stackts read` line without the time */
  summary: string;
  /** the `stackts read -v` tree */
  tree: string;
  /** the frame's bytes, base64 (the first `HEX_LIMIT` bytes) */
  bytes: string;
  /** ids of the conversations it belongs to */
  conv: string[];
}
