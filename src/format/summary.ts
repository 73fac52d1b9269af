/**
 * One line per packet, in the style of `tcpdump -n`, from decoded layers:
 *
 * ```text
 * IP 10.77.0.1.40000 > 10.77.0.2.53: UDP, length 20
 * IP 10.77.0.1 > 10.77.0.2: ICMP echo request, id 1, seq 1, length 64
 * IP 10.0.0.1.80 > 10.0.0.2.5000: Flags [S.], seq 1, ack 2, win 65535, options [mss 1460,nop,wscale 7], length 0
 * ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28
 * IP6 fd77::1 > fd77::2: ICMP6, echo request, id 1, seq 1, length 64
 * ```
 *
 * The time stamp is not part of the summary (see time.ts). Lengths are the ones
 * tcpdump prints: the UDP/TCP payload, the whole ICMP message, the ARP packet with
 * any link padding. Like tcpdump, TCP sequence numbers are relative to the first
 * segment seen of a connection once an ACK has been seen (`absoluteSeq` turns this
 * off, as `tcpdump -S`; see tcp_seq_tracker.ts); that is the only state kept, so
 * use one {@link SummaryFormatter} per packet stream.
 *
 * As in tcpdump, link-level fields (MACs, VLAN tags, cooked headers) are
 * printed only with `linkHeaders` (tcpdump -e). Problems are flagged at the
 * end of the line: a checksum that is verified wrong as `[bad udp cksum
 * 0x1234]` (a checksum left to offload, the pseudo-header-only partial sum,
 * is not flagged), and each decode issue as `[malformed: ipv4: ...]`. A frame
 * the capture cut short (a snaplen: its original length is more than its
 * captured bytes) is not malformed: its layers are printed as far as its
 * bytes go, and tcpdump's `[|proto]` marks where they stop (`54738+ [1au]
 * [|domain]`, `10.0.0.1.40001 > 10.0.0.2.80:  [|tcp]`); its issues, kind
 * "truncated", stay in the JSON `errors` and the `-v` tree, not on the line.
 *
 * The printers themselves live in `print/`, one file per protocol family
 * (link, arp, ip, tcp, udp, icmp, the app layer, the flags); this module puts
 * them together.
 *
 * @example
 * ```ts
 * import { SummaryFormatter } from "./summary.ts";
 * const f = new SummaryFormatter();
 * f.format(decoded.layers, decoded.issues, frame.length); // "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, ..."
 * ```
 *
 * @module
 */
import type { Issue, LayerBase } from "../../layers/core.ts";
import { writeFastLine } from "./print/fast.ts";
import { formatLine } from "./print/link.ts";
import { LineState, type SummaryOptions } from "./print/state.ts";
import type { TextBuffer } from "./text_buffer.ts";

export type { SummaryOptions } from "./print/state.ts";
export { tcpFlags } from "./print/tcp.ts";
export { tcpOptions } from "./print/tcp_options.ts";

/** Makes one-line summaries; keeps the TCP sequence state of one stream. */
export class SummaryFormatter {
  readonly #state: LineState;

  constructor(options: SummaryOptions = {}) {
    this.#state = new LineState(options);
  }

  /**
   * The summary of one packet (without time stamp). `length` is the frame's
   * original length on the wire.
   */
  format(layers: readonly LayerBase[], issues: readonly Issue[], length: number): string {
    return formatLine(this.#state, layers, issues, length);
  }

  /**
   * The summary straight from the frame's bytes, without building layer values,
   * for the common clean cases: Ethernet (with 802.1Q tags) carrying ARP requests
   * and replies for IPv4, IPv4 without
   * options or fragmentation, or IPv6 without extension headers, carrying TCP,
   * UDP or an ICMP/ICMPv6 echo, every checksum verified good (or left to offload,
   * or absent on UDP/IPv4), and no application layer other than HTTP over TCP or
   * DNS over UDP, decoded without problems (only that layer is decoded, when the
   * formatter has an `app` to print it). Returns null
   * for anything else: the caller then decodes the frame and calls
   * {@link format}, which gives the same text for the frames this one handles
   * (test/format.test.ts checks that). `length` is the original length;
   * `udpHinted` says a conversation tracker may claim UDP ports (TFTP), so UDP is
   * left to the full decode. The frame is `data[start, frameEnd)` (all of
   * `data` by default), as for `PacketDecoder.decode`: a batch consumer passes
   * the batch buffer and the frame's range.
   */
  formatFrame(data: Uint8Array, linkType: number, length: number, udpHinted = false, start = 0, frameEnd = data.length): string | null {
    const scratch = this.#state.scratch;
    const from = scratch.pos;
    return this.writeFrame(scratch, data, linkType, length, udpHinted, start, frameEnd) ? scratch.take(from) : null;
  }

  /**
   * {@link formatFrame}, writing the text into `out` instead of making a string:
   * the line writer of `stackts read`. Returns false, with nothing written, for
   * a frame the fast path does not handle.
   */
  writeFrame(out: TextBuffer, data: Uint8Array, linkType: number, length: number, udpHinted = false, start = 0, frameEnd = data.length): boolean {
    // a -e line is never a fast one
    if (this.#state.linkHeaders) return false;
    const mark = out.pos;
    if (writeFastLine(this.#state, out, data, linkType, length, udpHinted, start, frameEnd)) return true;
    out.pos = mark;
    return false;
  }
}
