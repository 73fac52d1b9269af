/**
 * What the protocol printers of one {@link SummaryFormatter} share: its
 * options, the state it keeps over a packet stream (TCP's relative sequence
 * numbers, the decoder of the fast path's application layers) and the
 * scratch one line is built with (the IP layer's addresses and upper length
 * for the transport layer below it, the problem flags for the end of the
 * line). One per formatter; every printer takes it as its first argument.
 *
 * @example
 * ```ts
 * import { LineState } from "./state.ts";
 * const state = new LineState({ absoluteSeq: true });
 * state.seq.size; // 0: no connection seen yet
 * ```
 *
 * @module
 */
import type { LayerBase } from "../../../layers/core.ts";
import type { PacketDecoder } from "../../../layers/decode.ts";
import type { TcpOption } from "../../../layers/tcp_options.ts";
import { TcpSeqTracker } from "../../tcp_seq_tracker.ts";
import { TextBuffer } from "../text_buffer.ts";

/** Options of a `SummaryFormatter` (summary.ts re-exports this type). */
export interface SummaryOptions {
  /** print TCP sequence numbers as they are on the wire (tcpdump -S) */
  absoluteSeq?: boolean;
  /** shorter transport summaries, as tcpdump -q: `tcp 0`, `UDP, length 20`, no app layer */
  quiet?: boolean;
  /**
   * the link-level header on each line, as tcpdump -e: `src > dst, ethertype
   * IPv4 (0x0800), length 98: ` (and VLAN tags, Linux cooked and loopback
   * headers); without it, like tcpdump, no link-level field is printed
   */
  linkHeaders?: boolean;
  /**
   * One-line text for an application layer (DNS, DHCP, TFTP, HTTP), or null to
   * fall back to the transport summary. Usually `appSummary` from app_summary.ts.
   */
  app?: (layer: LayerBase) => string | null;
  /**
   * The name of an interface by index, for a LINUX_SLL2 frame's `ifname In/Out`
   * prefix (as tcpdump 4.99 prints it); null or absent: "?".
   */
  interfaceName?: (index: number) => string | null;
}

const NOT_CUT: readonly string[] = [];

/** Whether layer `kind` of the packet being printed ran out of captured bytes. */
export function isCut(state: LineState, kind: string): boolean {
  return state.cut.length > 0 && state.cut.includes(kind);
}

/** The reason of `kind`'s cut ("" when it is not cut). */
export function cutReason(state: LineState, kind: string): string {
  const i = state.cut.indexOf(kind);
  return i < 0 ? "" : state.cutReasons[i]!;
}

/** The options, stream state and line scratch the printers share (see the module comment). */
export class LineState {
  readonly absoluteSeq: boolean;
  readonly quiet: boolean;
  readonly linkHeaders: boolean;
  /** the app-layer formatter; never set when `quiet` */
  readonly app: ((layer: LayerBase) => string | null) | undefined;
  /** interface names for LINUX_SLL2 frames */
  readonly interfaceName: ((index: number) => string | null) | undefined;
  /** relative TCP sequence numbers (tcpdump's tcp_seq_hash) */
  readonly seq = new TcpSeqTracker();
  /** text for a string wanted from the writers (a layered line's TCP part, formatFrame) */
  readonly scratch = new TextBuffer();
  /** the fast path's list for TCP options it has to parse */
  readonly options: TcpOption[] = [];
  /** decodes the fast path's application layers, made on first use */
  appDecoder: PacketDecoder | undefined = undefined;
  // Set by the network layer for the transport layer of the same packet.
  /** bytes after the IP header(s): what the transport layer's length counts from */
  ipUpper = 0;
  ipSrc = "";
  ipDst = "";
  /** problem flags (a bad checksum) gathered for the end of a layered line */
  flags = "";
  /**
   * The layers of this packet that ran out of captured bytes (the frame was
   * cut by a snaplen: their issues are "truncated"): the printers write
   * tcpdump's `[|proto]` there instead of flags at the end of the line.
   */
  cut: readonly string[] = NOT_CUT;
  /** the reason of each cut layer's issue, in the order of {@link cut} */
  cutReasons: readonly string[] = NOT_CUT;

  constructor(options: SummaryOptions = {}) {
    this.absoluteSeq = options.absoluteSeq ?? false;
    this.quiet = options.quiet ?? false;
    this.linkHeaders = options.linkHeaders ?? false;
    this.app = this.quiet ? undefined : options.app;
    this.interfaceName = options.interfaceName;
  }
}
