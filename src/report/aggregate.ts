/**
 * The aggregation behind `stackts report` and `stackts view`: one pass over
 * the frames of a capture (batches from a file or a live capture), decoded by
 * the same decoder `stackts read` runs (its zero-copy read, with the TFTP
 * tracker's hint), into the numbers a {@link ReportData} holds: summary,
 * protocol hierarchy, conversations (IP host pairs and TCP/UDP 5-tuples with
 * bytes each way and TCP retransmissions), the I/O graph, per-connection TCP
 * series, flow-diagram rows and the first packets with their `-v` tree and
 * bytes.
 *
 * Everything kept is bounded: per-packet text (summary lines, trees) is made
 * only for the packets the page will show (the first `packetLimit`, the first
 * `flowRows` of each conversation up to a total, packets with problems), the
 * I/O bins merge as the capture grows, and TCP series halve their points
 * past a cap. What {@link ReportBuilder.finish} leaves out to keep the page a
 * few MB is said in `limits`.
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "../capture_file.ts";
 * import { ReportBuilder } from "./aggregate.ts";
 * const reader = openCaptureFile("trace.pcap");
 * const builder = new ReportBuilder({ file: "trace.pcap", format: reader.format });
 * reader.readBatchesSync((batch) => builder.addBatch(batch));
 * const data = builder.finish(null);
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { LayerBase } from "../../layers/core.ts";
import { PacketDecoder } from "../../layers/decode.ts";
import { LINKTYPE } from "../../layers/dispatch.ts";
import type { Icmp } from "../../layers/icmp.ts";
import type { Icmpv6 } from "../../layers/icmpv6.ts";
import type { Ipv4 } from "../../layers/ipv4.ts";
import type { Ipv6 } from "../../layers/ipv6.ts";
import type { Tcp } from "../../layers/tcp.ts";
import type { Udp } from "../../layers/udp.ts";
import { appSummary } from "../format/app_summary.ts";
import { SummaryFormatter } from "../format/summary.ts";
import { packetTree } from "../format/tree.ts";
import type { FrameBatch } from "../frame.ts";
import { TftpTracker } from "../tftp_tracker.ts";
import { IoBins } from "./io_bins.ts";
import type { Conversation, ConversationKind, FlowRow, HierarchyRow, PacketRow, ProblemCount, ReportData, TcpSeries } from "./model.ts";
import { TcpAnalysis, thinSeries } from "./tcp_analysis.ts";

/** Options of {@link ReportBuilder}. */
export interface ReportOptions {
  /** the file name shown */
  file: string;
  /** "pcap", "pcapng" or "live" */
  format?: string;
  /** the BPF filter applied, shown */
  filter?: string;
  /** packets listed with tree and bytes (default 500) */
  packetLimit?: number;
  /** flow-diagram rows per conversation (default 40) */
  flowRows?: number;
  /** flow-diagram rows in all (default 6000) */
  flowTotal?: number;
  /** conversations in the page (default 1000, the largest by bytes) */
  conversationLimit?: number;
  /** TCP connections with graphs (default 50, the largest by bytes) */
  tcpLimit?: number;
  /** points of all TCP graphs together (default 5000) */
  tcpPoints?: number;
  /** protocols with their own I/O series (default 6) */
  ioProtocols?: number;
}

/** Bytes of a frame kept for its hex dump. */
export const HEX_LIMIT = 2048;
/** Packets with problems listed beyond the packet limit. */
const PROBLEM_PACKETS = 200;
/** Packet numbers kept per problem kind. */
const PROBLEM_NUMBERS = 50;
/** Conversations tracked; packets of new ones past this count only in the totals. */
const CONVERSATION_CAP = 500_000;

interface ConvState {
  conv: Conversation;
  firstT: number;
  lastT: number;
  rows: FlowRow[];
  tcp: TcpAnalysis | null;
}

const LINK_NAMES = new Map<number, string>(Object.entries(LINKTYPE).map(([k, v]) => [v, k.toLowerCase()]));

/** Round seconds to microseconds (shorter JSON). */
function us(t: number): number {
  return Math.round(t * 1e6) / 1e6;
}

/** Accumulates frames; {@link finish} gives the report. See the module documentation. */
export class ReportBuilder {
  readonly #opt: Required<ReportOptions>;
  readonly #tftp = new TftpTracker();
  readonly #decoder: PacketDecoder;
  readonly #summary = new SummaryFormatter({ app: appSummary });
  readonly #io = new IoBins();
  /** the protocol hierarchy as a tree of layer names: no path string per packet */
  readonly #hierarchy = new HierarchyNode("");
  /** IP host pairs: A's address, then B's */
  readonly #ipConvs = new Map<string, Map<string, ConvState>>();
  /** TCP/UDP: the port pair folded to a small integer, then the few conversations under it */
  readonly #portConvs = new Map<number, ConvState[]>();
  readonly #convList: ConvState[] = [];
  readonly #linkTypes = new Map<string, number>();
  readonly #checksums = new Map<string, ProblemCount>();
  readonly #issues = new Map<string, ProblemCount>();
  readonly #packets: PacketRow[] = [];
  #problemRows = 0;
  #flowRows = 0;
  #convOverflow = 0;
  #n = 0;
  #bytes = 0;
  #captured = 0;
  #sec0 = 0;
  #nsec0 = 0;
  #lastT = 0;

  constructor(options: ReportOptions) {
    this.#opt = {
      file: options.file,
      format: options.format ?? "pcap",
      filter: options.filter ?? "",
      packetLimit: options.packetLimit ?? 500,
      flowRows: options.flowRows ?? 40,
      flowTotal: options.flowTotal ?? 6000,
      conversationLimit: options.conversationLimit ?? 1000,
      tcpLimit: options.tcpLimit ?? 50,
      tcpPoints: options.tcpPoints ?? 5000,
      ioProtocols: options.ioProtocols ?? 6,
    };
    this.#decoder = new PacketDecoder({ udpHint: this.#tftp.udpHint });
  }

  /** Packets seen so far. */
  get packets(): number {
    return this.#n;
  }

  /** Bytes (original lengths) seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Add the frames of a batch whose `mask` entry is 1 (all without a mask). */
  addBatch(batch: FrameBatch, mask?: Uint8Array): void {
    for (let i = 0; i < batch.count; i++) {
      if (mask !== undefined && mask[i] === 0) continue;
      const start = batch.offset[i]!;
      this.#add(batch.buffer, start, start + batch.caplen[i]!, batch.length[i]!, batch.sec[i]!, batch.nsec[i]!, batch.linkType[i]!);
    }
  }

  #add(buffer: Uint8Array, start: number, end: number, len: number, sec: number, nsec: number, linkType: number): void {
    const n = ++this.#n;
    if (n === 1) {
      this.#sec0 = sec;
      this.#nsec0 = nsec;
    }
    const t = sec - this.#sec0 + (nsec - this.#nsec0) / 1e9;
    if (t > this.#lastT) this.#lastT = t;
    this.#bytes += len;
    this.#captured += end - start;
    const linkName = LINK_NAMES.get(linkType) ?? String(linkType);
    this.#linkTypes.set(linkName, (this.#linkTypes.get(linkName) ?? 0) + 1);

    const p = this.#decoder.decodeReused(buffer, linkType, len, start, end);
    const layers = p.layers as readonly LayerBase[];
    this.#tftp.observe(layers, sec + nsec / 1e9);

    // Walk the layers once: the path, the IP and transport layers, checksums.
    let node = this.#hierarchy;
    let ip: Ipv4 | Ipv6 | null = null;
    let tcp: Tcp | null = null;
    let udp: Udp | null = null;
    let top = "";
    let problem = false;
    for (const l of layers) {
      node = node.child(l.layer);
      node.packets++;
      node.bytes += len;
      if (l.layer !== "payload") top = l.layer;
      if (ip === null && (l.layer === "ipv4" || l.layer === "ipv6")) ip = l as Ipv4 | Ipv6;
      else if (ip !== null && tcp === null && udp === null) {
        if (l.layer === "tcp") tcp = l as Tcp;
        else if (l.layer === "udp") udp = l as Udp;
      }
      // By name, not by probing every layer for the fields: a property read
      // across a dozen layer shapes is a slow (megamorphic) load per layer.
      let bad = false;
      switch (l.layer) {
        case "ipv4":
          bad = (l as Ipv4).checksumValid === false;
          break;
        case "tcp":
        case "udp":
        case "icmp":
        case "icmpv6":
          bad = (l as Tcp | Udp | Icmp | Icmpv6).checksumStatus === "bad";
          break;
      }
      if (bad) {
        problem = true;
        count(this.#checksums, `bad ${l.layer} checksum`, n);
      }
    }
    for (const issue of p.issues) {
      problem = true;
      count(this.#issues, `${issue.kind}: ${issue.layer}`, n);
    }
    this.#io.add(t, top === "" ? "other" : top, len);

    // Conversations: the outer IP pair, and the TCP/UDP 5-tuple inside it.
    let ipConv: ConvState | null = null;
    let tConv: ConvState | null = null;
    let ipDir: 0 | 1 = 0;
    let tDir: 0 | 1 = 0;
    if (ip !== null) {
      const src = ip.src;
      const dst = ip.dst;
      ipConv = this.#ipConversation(ip.layer, src, dst, t);
      if (ipConv !== null) {
        ipDir = ipConv.conv.a === src ? 0 : 1;
        tally(ipConv, ipDir, len, t);
      }
      const tr = tcp ?? udp;
      if (tr !== null) {
        tConv = this.#portConversation(tr.layer, src, dst, tr.srcPort, tr.dstPort, t);
        if (tConv !== null) {
          tDir = tConv.conv.a === src && tConv.conv.aPort === tr.srcPort ? 0 : 1;
          tally(tConv, tDir, len, t);
          if (tcp !== null) {
            const seglen = tcpPayloadLength(ip, tcp);
            let scale: number | null = null;
            let sack: { left: number; right: number }[] | null = null;
            for (const o of tcp.options) {
              if (o.kind === "windowScale") scale = o.shift;
              else if (o.kind === "sack") sack = o.blocks;
            }
            tConv.tcp ??= new TcpAnalysis(label(tConv.conv, 0), label(tConv.conv, 1));
            tConv.tcp.segment(tDir, t, tcp.seq, tcp.ack, tcp.flags, tcp.window, seglen, scale, sack);
          }
        }
      }
    }

    // Text only for what the page shows; in packet order, so the summary's
    // relative TCP numbers start at each connection's first packet as in `read`.
    const listed = n <= this.#opt.packetLimit || (problem && this.#problemRows < PROBLEM_PACKETS);
    const flowRoom = this.#flowRows < this.#opt.flowTotal;
    const inT = tConv !== null && flowRoom && tConv.rows.length < this.#opt.flowRows;
    const inIp = ipConv !== null && flowRoom && ipConv.rows.length < this.#opt.flowRows;
    if (!listed && !inT && !inIp) return;
    const text = this.#summary.format(layers, p.issues, len);
    const rt = us(t);
    if (inT) {
      tConv!.rows.push({ n, t: rt, dir: tDir, text });
      this.#flowRows++;
    }
    if (inIp) {
      ipConv!.rows.push({ n, t: rt, dir: ipDir, text });
      this.#flowRows++;
    }
    if (listed) {
      if (n > this.#opt.packetLimit) this.#problemRows++;
      const conv: string[] = [];
      if (ipConv !== null) conv.push(ipConv.conv.id);
      if (tConv !== null) conv.push(tConv.conv.id);
      this.#packets.push({
        n,
        t: rt,
        length: len,
        caplen: end - start,
        summary: text,
        tree: packetTree(layers, p.issues, ""),
        bytes: Buffer.from(buffer.buffer, buffer.byteOffset + start, Math.min(end - start, HEX_LIMIT)).toString("base64"),
        conv,
      });
    }
  }

  #ipConversation(kind: ConversationKind, src: string, dst: string, t: number): ConvState | null {
    const have = this.#ipConvs.get(src)?.get(dst) ?? this.#ipConvs.get(dst)?.get(src);
    if (have !== undefined) return have;
    const made = this.#newConv(kind, src, dst, null, null, t);
    if (made === null) return null;
    let inner = this.#ipConvs.get(src);
    if (inner === undefined) this.#ipConvs.set(src, (inner = new Map()));
    inner.set(dst, made);
    return made;
  }

  #portConversation(kind: ConversationKind, src: string, dst: string, sport: number, dport: number, t: number): ConvState | null {
    // Both directions fold to one key: the lower port first.
    const key = (sport < dport ? sport * 65536 + dport : dport * 65536 + sport) % 1073741789;
    let list = this.#portConvs.get(key);
    if (list !== undefined) {
      for (const s of list) {
        const c = s.conv;
        if (c.kind !== kind) continue;
        if (c.aPort === sport && c.bPort === dport && c.a === src && c.b === dst) return s;
        if (c.aPort === dport && c.bPort === sport && c.a === dst && c.b === src) return s;
      }
    }
    const made = this.#newConv(kind, src, dst, sport, dport, t);
    if (made === null) return null;
    if (list === undefined) this.#portConvs.set(key, (list = []));
    list.push(made);
    return made;
  }

  #newConv(kind: ConversationKind, src: string, dst: string, sport: number | null, dport: number | null, t: number): ConvState | null {
    if (this.#convList.length >= CONVERSATION_CAP) {
      this.#convOverflow++;
      return null;
    }
    const conv: Conversation = {
      id: "c" + this.#convList.length,
      kind,
      a: src,
      b: dst,
      aPort: sport,
      bPort: dport,
      packetsAB: 0,
      bytesAB: 0,
      packetsBA: 0,
      bytesBA: 0,
      start: us(t),
      duration: 0,
      retransmissions: 0,
      dupAcks: 0,
    };
    const state: ConvState = { conv, firstT: t, lastT: t, rows: [], tcp: null };
    this.#convList.push(state);
    return state;
  }

  /** The report of everything added; `stopped` says where reading ended early (null: it did not). */
  finish(stopped: string | null): ReportData {
    const o = this.#opt;
    const limits: string[] = [];
    const states = [...this.#convList];
    for (const s of states) {
      s.conv.duration = us(s.lastT - s.firstT);
      if (s.tcp !== null) {
        s.conv.retransmissions = s.tcp.retransmissions;
        s.conv.dupAcks = s.tcp.dupAcks;
      }
    }
    const byBytes = (x: ConvState, y: ConvState): number => y.conv.bytesAB + y.conv.bytesBA - (x.conv.bytesAB + x.conv.bytesBA);
    states.sort(byBytes);
    const shown = states.slice(0, o.conversationLimit);
    if (states.length > shown.length) limits.push(`conversations: the ${shown.length} largest by bytes of ${states.length}`);
    if (this.#convOverflow > 0) limits.push(`conversations: past ${CONVERSATION_CAP}, ${this.#convOverflow} packets of new ones counted only in the totals`);

    const tcpStates = shown.filter((s) => s.tcp !== null).slice(0, o.tcpLimit);
    const tcpAll = states.filter((s) => s.tcp !== null).length;
    if (tcpAll > tcpStates.length) limits.push(`TCP graphs: the ${tcpStates.length} largest connections of ${tcpAll}`);
    const perConnection = Math.max(100, Math.floor(o.tcpPoints / Math.max(1, tcpStates.length)));
    const tcp: Record<string, TcpSeries> = {};
    for (const s of tcpStates) {
      const series = s.tcp!.series();
      tcp[s.conv.id] = { ab: thinSeries(series.ab, perConnection), ba: thinSeries(series.ba, perConnection) };
    }
    const flows: Record<string, FlowRow[]> = {};
    for (const s of shown) if (s.rows.length > 0) flows[s.conv.id] = s.rows;
    if (this.#flowRows >= o.flowTotal) limits.push(`flow diagrams: ${o.flowTotal} rows in all (the first packets of the first conversations)`);
    if (this.#n > o.packetLimit) limits.push(`packet list: the first ${o.packetLimit} packets of ${this.#n}, and up to ${PROBLEM_PACKETS} with problems`);

    const hierarchy = this.#hierarchy.rows();
    return {
      version: 1,
      file: o.file,
      filter: o.filter,
      live: false,
      summary: {
        packets: this.#n,
        bytes: this.#bytes,
        capturedBytes: this.#captured,
        start: this.#n === 0 ? null : this.#sec0 + this.#nsec0 / 1e9,
        duration: us(this.#lastT),
        format: o.format,
        linkTypes: Object.fromEntries(this.#linkTypes),
        checksumProblems: [...this.#checksums.values()],
        issues: [...this.#issues.values()],
        stopped,
      },
      hierarchy,
      conversations: shown.map((s) => s.conv),
      io: this.#io.graph(o.ioProtocols),
      tcp,
      flows,
      packets: this.#packets,
      limits,
    };
  }
}

function count(map: Map<string, ProblemCount>, what: string, n: number): void {
  let c = map.get(what);
  if (c === undefined) map.set(what, (c = { what, count: 0, packets: [] }));
  c.count++;
  if (c.packets.length < PROBLEM_NUMBERS) c.packets.push(n);
}

function tally(s: ConvState, dir: 0 | 1, len: number, t: number): void {
  if (dir === 0) {
    s.conv.packetsAB++;
    s.conv.bytesAB += len;
  } else {
    s.conv.packetsBA++;
    s.conv.bytesBA += len;
  }
  if (t > s.lastT) s.lastT = t;
}

function endpoint(addr: string, port: number | null): string {
  if (port === null) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function label(c: Conversation, dir: 0 | 1): string {
  const a = endpoint(c.a, c.aPort);
  const b = endpoint(c.b, c.bPort);
  return dir === 0 ? `${a} → ${b}` : `${b} → ${a}`;
}

/** TCP payload bytes from the IP lengths (what tshark calls tcp.len), never below 0. */
function tcpPayloadLength(ip: Ipv4 | Ipv6, tcp: Tcp): number {
  let n: number;
  if (ip.layer === "ipv4") n = ip.totalLength - ip.headerLength - tcp.headerLength;
  else {
    n = ip.payloadLength - tcp.headerLength;
    for (const e of ip.extensions) n -= e.headerLength;
  }
  return n > 0 ? n : 0;
}

/** A node of the protocol hierarchy: a layer name under its parent, with the packets and bytes that reached it. */
class HierarchyNode {
  packets = 0;
  bytes = 0;
  readonly name: string;
  readonly #children: HierarchyNode[] = [];
  constructor(name: string) {
    this.name = name;
  }

  child(name: string): HierarchyNode {
    // A handful of children at most: a scan of constant strings beats a Map.
    for (const c of this.#children) if (c.name === name) return c;
    const c = new HierarchyNode(name);
    this.#children.push(c);
    return c;
  }

  /** Rows of the nodes under this one, parents before children, siblings by packets. */
  rows(prefix = ""): HierarchyRow[] {
    const out: HierarchyRow[] = [];
    for (const c of [...this.#children].sort((x, y) => y.packets - x.packets)) {
      const path = prefix === "" ? c.name : prefix + "/" + c.name;
      out.push({ path, packets: c.packets, bytes: c.bytes }, ...c.rows(path));
    }
    return out;
  }
}
