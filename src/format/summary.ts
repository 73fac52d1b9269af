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
 * off, as `tcpdump -S`); that is the only state kept, so use one
 * {@link SummaryFormatter} per packet stream.
 *
 * Unlike tcpdump without `-e`, an 802.1Q/802.1ad tag is shown (`vlan 100, p 0, `
 * before the rest). Problems are flagged at the end of the line: a checksum that
 * is verified wrong as `[bad udp cksum 0x1234]` (a checksum left to offload, the
 * pseudo-header-only partial sum, is not flagged), and each decode issue as
 * `[truncated: tcp: ...]` or `[malformed: ipv4: ...]`.
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
import type { Issue, LayerBase, Payload } from "../../layers/core.ts";
import { PacketDecoder } from "../../layers/decode.ts";
import type { Arp } from "../../layers/arp.ts";
import type { Ethernet } from "../../layers/ethernet.ts";
import type { Icmp } from "../../layers/icmp.ts";
import type { Icmpv6 } from "../../layers/icmpv6.ts";
import type { Ipv4 } from "../../layers/ipv4.ts";
import type { Ipv6, Ipv6ExtensionType } from "../../layers/ipv6.ts";
import type { Sll } from "../../layers/sll.ts";
import type { Sll2 } from "../../layers/sll2.ts";
import type { Tcp } from "../../layers/tcp.ts";
import { parseTcpOptions, type TcpOption } from "../../layers/tcp_options.ts";
import { foldSum, onesSum, prepareWords } from "../../layers/checksum.ts";
import { formatIpv4, formatIpv6, formatMac } from "../../layers/addr.ts";
import { sniffTcp, tcpPortKind, udpPortKind, type Kind } from "../../layers/registry.ts";
import type { Udp } from "../../layers/udp.ts";
import type { Vlan } from "../../layers/vlan.ts";
import { HEX2, toHex } from "./hex.ts";
import { TextBuffer } from "./text_buffer.ts";

/** Options of {@link SummaryFormatter}. */
export interface SummaryOptions {
  /** print TCP sequence numbers as they are on the wire (tcpdump -S) */
  absoluteSeq?: boolean;
  /** shorter transport summaries, as tcpdump -q: `tcp 0`, `UDP, length 20`, no app layer */
  quiet?: boolean;
  /**
   * One-line text for an application layer (DNS, DHCP, TFTP, HTTP), or null to
   * fall back to the transport summary. Usually `appSummary` from app_summary.ts.
   */
  app?: (layer: LayerBase) => string | null;
}

/** Per-connection bases for relative TCP sequence numbers (tcpdump's tcp_seq_hash). */
interface SeqBase {
  /** the port pair: the lower (or first) port times 65536 plus the other */
  ports: number;
  /** address of the side with the lower port (the first in the key) */
  a: string;
  /** address of the other side */
  b: string;
  /** base of the sequence numbers sent from the side with the lower port */
  seq: number;
  /** base of the sequence numbers sent from the other side */
  ack: number;
}

/**
 * A TCP/UDP checksum over `data[t, end)` with pseudo-header sum `pseudo` is good,
 * or is the pseudo-header-only partial sum left for offload (see
 * transportChecksumStatus in layers/checksum.ts: neither is flagged).
 */
function transportOk(data: Uint8Array, t: number, end: number, pseudo: number, at: number): boolean {
  if (foldSum(onesSum(data, t, end, pseudo)) === 0xffff) return true;
  const stored = (data[t + at]! << 8) | data[t + at + 1]!;
  const partial = foldSum(pseudo);
  return stored === partial || (partial === 0xffff && stored === 0);
}

const NO_OPTIONS: readonly TcpOption[] = [];

/**
 * Whether the option bytes hold only the everyday kinds, well formed: NOP, MSS,
 * window scale, SACK-permitted and timestamps, and EOL only as the last nonzero
 * byte (padding after it). Those {@link writeCommonOptions} prints straight from
 * the bytes; anything else goes through parseTcpOptions.
 */
function commonOptions(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === 1) {
      i++;
      continue;
    }
    if (kind === 0) return false;
    if (i + 1 >= end) return false;
    const len = b[i + 1]!;
    if (!((kind === 2 && len === 4) || (kind === 3 && len === 3) || (kind === 4 && len === 2) || (kind === 8 && len === 10))) return false;
    if (i + len > end) return false;
    i += len;
  }
  return true;
}

/** tcpdump's text for the options in `b[start, end)`, which {@link commonOptions} accepted. */
function writeCommonOptions(out: TextBuffer, b: Uint8Array, start: number, end: number): void {
  let i = start;
  while (i < end) {
    if (i > start) out.byte(0x2c); // ","
    switch (b[i]!) {
      case 1:
        out.ascii("nop");
        i++;
        continue;
      case 2:
        out.ascii("mss ");
        out.uint((b[i + 2]! << 8) | b[i + 3]!);
        break;
      case 3:
        out.ascii("wscale ");
        out.uint(b[i + 2]!);
        break;
      case 4:
        out.ascii("sackOK");
        break;
      default:
        out.ascii("TS val ");
        out.uint(((b[i + 2]! << 24) | (b[i + 3]! << 16) | (b[i + 4]! << 8) | b[i + 5]!) >>> 0);
        out.ascii(" ecr ");
        out.uint(((b[i + 6]! << 24) | (b[i + 7]! << 16) | (b[i + 8]! << 8) | b[i + 9]!) >>> 0);
    }
    i += b[i + 1]!;
  }
}

const HEX4 = (n: number): string => HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;

/** Makes one-line summaries; keeps the TCP sequence state of one stream. */
export class SummaryFormatter {
  readonly #absoluteSeq: boolean;
  readonly #quiet: boolean;
  readonly #app: ((layer: LayerBase) => string | null) | undefined;
  readonly #seq = new Map<number, SeqBase[]>();
  // Scratch filled by the network layer for the transport layer of the same packet.
  #ipUpper = 0;
  #ipSrc = "";
  #ipDst = "";
  #flags = "";
  // Scratch for text made by the writers below when a string is wanted.
  readonly #scratch = new TextBuffer();

  constructor(options: SummaryOptions = {}) {
    this.#absoluteSeq = options.absoluteSeq ?? false;
    this.#quiet = options.quiet ?? false;
    this.#app = this.#quiet ? undefined : options.app;
  }

  /**
   * The summary of one packet (without time stamp). `length` is the frame's
   * original length on the wire.
   */
  format(layers: readonly LayerBase[], issues: readonly Issue[], length: number): string {
    this.#flags = "";
    let prefix = "";
    let linkHeader = 0;
    let i = 0;
    let linkType = -1;
    let text: string | null = null;
    for (; i < layers.length; i++) {
      const l = layers[i]!;
      const kind = l.layer;
      if (kind === "ethernet") {
        linkHeader += 14;
        const e = l as Ethernet;
        linkType = e.type ?? -1;
        if (e.type === undefined) {
          text = `802.3, length ${e.length ?? 0}`;
        }
      } else if (kind === "vlan") {
        linkHeader += 4;
        const v = l as Vlan;
        linkType = v.type;
        prefix += "vlan " + v.id + ", p " + v.pcp + (v.dei ? ", DEI" : "") + ", ";
      } else if (kind === "sll") {
        linkHeader += 16;
        linkType = (l as Sll).protocol;
      } else if (kind === "sll2") {
        linkHeader += 20;
        linkType = (l as Sll2).protocol;
      } else if (kind === "loopback") {
        linkHeader += 4;
      } else {
        break;
      }
    }
    const net = layers[i];
    if (net !== undefined) {
      switch (net.layer) {
        case "arp":
          text = arpText(net as Arp, length - linkHeader);
          break;
        case "ipv4":
        case "ipv6":
          text = this.#ip(layers, i);
          break;
        case "llc":
          text = `LLC, length ${length - linkHeader}`;
          break;
        case "payload":
          text = linkType >= 0 ? `ethertype 0x${HEX4(linkType)}, length ${length - linkHeader}` : `length ${length - linkHeader}`;
          break;
        default:
          text = this.#appOr(net, `${net.layer}, length ${length - linkHeader}`);
      }
    } else if (text === null) {
      text = linkType >= 0 ? `ethertype 0x${HEX4(linkType)}, length ${length - linkHeader}` : `length ${length}`;
    }
    let line = prefix + text + this.#flags;
    for (let k = 0; k < issues.length; k++) line += issueFlag(issues[k]!);
    return line;
  }

  #appOr(layer: LayerBase | undefined, fallback: string): string {
    if (layer === undefined || this.#app === undefined) return fallback;
    return this.#app(layer) ?? fallback;
  }

  /** "IP a > b: ..." or "IP6 a > b: ...", recursing into tunnels. */
  #ip(layers: readonly LayerBase[], i: number): string {
    const l = layers[i]!;
    let head: string;
    let src: string;
    let dst: string;
    let protocol: number;
    let laterFragment = false;
    let fragment = "";
    if (l.layer === "ipv4") {
      const ip = l as Ipv4;
      head = "IP ";
      src = ip.src;
      dst = ip.dst;
      protocol = ip.protocol;
      this.#ipUpper = ip.totalLength - ip.headerLength;
      if (ip.checksumValid === false) this.#flags += " [bad ip cksum 0x" + HEX4(ip.checksum) + "]";
      if (ip.fragmentOffset > 0 || ip.moreFragments) {
        // tcpdump -v's form: (frag id:size@offset[+])
        fragment = " (frag " + ip.id + ":" + this.#ipUpper + "@" + ip.fragmentOffset + (ip.moreFragments ? "+)" : ")");
        laterFragment = ip.fragmentOffset > 0;
      }
    } else {
      const ip = l as Ipv6;
      head = "IP6 ";
      src = ip.src;
      dst = ip.dst;
      protocol = ip.nextHeader;
      let upper = ip.payloadLength;
      const exts = ip.extensions;
      for (let k = 0; k < exts.length; k++) {
        const x = exts[k]!;
        upper -= x.headerLength;
        protocol = x.nextHeader;
        // tcpdump prints the extension headers between the addresses and the payload.
        if (x.type === "fragment") {
          const off = x.fragmentOffset ?? 0;
          fragment += " frag (" + off + "|" + upper + ")";
          if (off > 0) laterFragment = true;
        } else {
          fragment += " " + EXT_NAME[x.type];
        }
      }
      this.#ipUpper = upper;
    }
    this.#ipSrc = src;
    this.#ipDst = dst;
    const next = layers[i + 1];
    const upper = this.#ipUpper;
    if (laterFragment || next === undefined || next.layer === "payload") {
      return head + src + " > " + dst + ":" + fragment + " " + protoName(protocol) + (upper >= 0 ? ", length " + upper : "");
    }
    const lead = fragment === "" ? "" : fragment.slice(1) + " ";
    switch (next.layer) {
      case "udp": {
        const u = next as Udp;
        if (u.checksumStatus === "bad") this.#flags += " [bad udp cksum 0x" + HEX4(u.checksum) + "]";
        const app = layers[i + 2];
        const text = app !== undefined && app.layer !== "payload" ? this.#appOr(app, "") : "";
        return (
          head + src + "." + u.srcPort + " > " + dst + "." + u.dstPort + ": " + lead +
          (text !== "" ? text : "UDP, length " + (u.length - 8))
        );
      }
      case "tcp":
        return head + src + "." + (next as Tcp).srcPort + " > " + dst + "." + (next as Tcp).dstPort + ": " + lead + this.#tcp(next as Tcp, layers[i + 2]);
      case "icmp":
        return head + src + " > " + dst + ": " + lead + this.#icmp(next as Icmp);
      case "icmpv6":
        return head + src + " > " + dst + ": " + lead + this.#icmpv6(next as Icmpv6);
      case "ipv4":
      case "ipv6":
        return head + src + " > " + dst + ": " + lead + this.#ip(layers, i + 1);
      default:
        return head + src + " > " + dst + ": " + lead + this.#appOr(next, protoName(protocol) + ", length " + upper);
    }
  }

  #tcp(t: Tcp, app: LayerBase | undefined): string {
    if (t.checksumStatus === "bad") this.#flags += " [bad tcp cksum 0x" + HEX4(t.checksum) + "]";
    const payload = this.#ipUpper - t.headerLength;
    const scratch = this.#scratch;
    const from = scratch.pos;
    this.#writeTcp(scratch, t.srcPort, t.dstPort, t.seq, t.ack, t.flags, t.window, t.urgentPointer, t.options, payload);
    let s = scratch.take(from);
    if (!this.#quiet && app !== undefined && app.layer !== "payload" && payload > 0) {
      const text = this.#appOr(app, "");
      // tcpdump: "length 58 17177+ A? ..." for DNS, "length 58: HTTP: GET ..." for text protocols.
      if (text !== "") s += (app.layer === "dns" ? " " : ": ") + text;
    }
    return s;
  }

  /**
   * Write the TCP part of a line, from the header's numbers; `#ipSrc`/`#ipDst`
   * are set. Options are the parsed list, or when that is empty the option bytes
   * `optionData[optionStart, optionEnd)` that {@link commonOptions} accepted.
   */
  #writeTcp(
    out: TextBuffer,
    srcPort: number,
    dstPort: number,
    seq: number,
    ack: number,
    flags: number,
    window: number,
    urgent: number,
    options: readonly TcpOption[],
    payload: number,
    optionData?: Uint8Array,
    optionStart = 0,
    optionEnd = 0,
  ): void {
    if (this.#quiet) {
      out.ascii("tcp ");
      out.uint(payload >= 0 ? payload : 0);
      return;
    }
    let sackBase = 0;
    if (!this.#absoluteSeq && flags & ACK) {
      // tcpdump's rule (print-tcp.c): relative numbers once a connection is known;
      // an ACK-carrying segment of an unknown connection, or any SYN, sets the bases.
      // One entry per connection under a key that is the same in both directions;
      // `rev` tells which side this segment comes from.
      const src = this.#ipSrc;
      const dst = this.#ipDst;
      const rev = srcPort > dstPort || (srcPort === dstPort && src > dst);
      const a = rev ? dst : src;
      const b = rev ? src : dst;
      const ports = rev ? dstPort * 65536 + srcPort : srcPort * 65536 + dstPort;
      // Port pair first, then the few connections under it. The map's key is
      // the pair folded to 30 bits, a small integer V8 hashes without
      // allocating (the 32-bit pair is often past that range); the entries
      // keep the whole pair, so pairs that fold alike stay apart.
      const key = (ports ^ (ports >>> 30)) & 0x3fffffff;
      let list = this.#seq.get(key);
      if (list === undefined) {
        list = [];
        this.#seq.set(key, list);
      }
      let base: SeqBase | undefined;
      for (let k = 0; k < list.length; k++) {
        const e = list[k]!;
        if (e.ports === ports && e.a === a && e.b === b) {
          base = e;
          break;
        }
      }
      if (base === undefined || flags & SYN) {
        const e = base ?? { ports, a, b, seq: 0, ack: 0 };
        if (rev) {
          e.ack = seq;
          e.seq = (ack - 1) >>> 0;
        } else {
          e.seq = seq;
          e.ack = (ack - 1) >>> 0;
        }
        if (base === undefined) list.push(e);
      } else if (rev) {
        seq = (seq - base.ack) >>> 0;
        ack = (ack - base.seq) >>> 0;
        sackBase = base.seq;
      } else {
        seq = (seq - base.seq) >>> 0;
        ack = (ack - base.ack) >>> 0;
        sackBase = base.ack;
      }
    }
    out.ascii("Flags [");
    out.ascii(FLAG_TEXT[flags & 0x1ff]!);
    out.byte(0x5d); // "]"
    if (payload > 0 || flags & (SYN | FIN | RST)) {
      out.ascii(", seq ");
      out.uint(seq);
      if (payload > 0) {
        out.byte(0x3a); // ":"
        out.uint((seq + payload) >>> 0);
      }
    }
    if (flags & ACK) {
      out.ascii(", ack ");
      out.uint(ack);
    }
    out.ascii(", win ");
    out.uint(window);
    if (flags & URG) {
      out.ascii(", urg ");
      out.uint(urgent);
    }
    if (options.length > 0) {
      out.ascii(", options [");
      out.text(tcpOptions(options, sackBase));
      out.byte(0x5d);
    } else if (optionData !== undefined && optionEnd > optionStart) {
      out.ascii(", options [");
      writeCommonOptions(out, optionData, optionStart, optionEnd);
      out.byte(0x5d);
    }
    out.ascii(", length ");
    out.uint(payload >= 0 ? payload : 0);
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
    const scratch = this.#scratch;
    const from = scratch.pos;
    return this.writeFrame(scratch, data, linkType, length, udpHinted, start, frameEnd) ? scratch.take(from) : null;
  }

  /**
   * {@link formatFrame}, writing the text into `out` instead of making a string:
   * the line writer of `stackts read`. Returns false, with nothing written, for
   * a frame the fast path does not handle.
   */
  writeFrame(out: TextBuffer, data: Uint8Array, linkType: number, length: number, udpHinted = false, start = 0, frameEnd = data.length): boolean {
    const mark = out.pos;
    if (this.#writeFrame(out, data, linkType, length, udpHinted, start, frameEnd)) return true;
    out.pos = mark;
    return false;
  }

  #writeFrame(out: TextBuffer, data: Uint8Array, linkType: number, length: number, udpHinted: boolean, start: number, frameEnd: number): boolean {
    if (linkType !== 1 || frameEnd - start < 14 || length !== frameEnd - start) return false;
    if (start !== 0 || frameEnd !== data.length) prepareWords(data);
    let type = (data[start + 12]! << 8) | data[start + 13]!;
    let off = start + 14;
    for (let tags = 0; type === 0x8100 || type === 0x88a8 || type === 0x9100; tags++) {
      if (tags === 8 || frameEnd < off + 4) return false;
      const tci = (data[off]! << 8) | data[off + 1]!;
      out.ascii("vlan ");
      out.uint(tci & 0xfff);
      out.ascii(", p ");
      out.uint(tci >> 13);
      out.ascii(tci & 0x1000 ? ", DEI, " : ", ");
      type = (data[off + 2]! << 8) | data[off + 3]!;
      off += 4;
    }
    let proto: number;
    let t: number; // transport header offset
    let upper: number;
    if (type === 0x0800) {
      if (frameEnd < off + 20 || data[off] !== 0x45) return false;
      const total = (data[off + 2]! << 8) | data[off + 3]!;
      if (total < 20 || off + total > frameEnd) return false;
      if (((data[off + 6]! << 8) | data[off + 7]!) & 0x3fff) return false; // a fragment
      proto = data[off + 9]!;
      t = off + 20;
      upper = total - 20;
    } else if (type === 0x86dd) {
      if (frameEnd < off + 40 || data[off]! >> 4 !== 6) return false;
      upper = (data[off + 4]! << 8) | data[off + 5]!;
      if (upper === 0 || off + 40 + upper > frameEnd) return false;
      proto = data[off + 6]!;
      t = off + 40;
    } else if (type === 0x0806) {
      // ARP for Ethernet/IPv4 (RFC 826), request or reply
      if (frameEnd < off + 28 || data[off] !== 0 || data[off + 1] !== 1 || data[off + 2] !== 8 || data[off + 3] !== 0) return false;
      if (data[off + 4] !== 6 || data[off + 5] !== 4 || data[off + 6] !== 0) return false;
      const op = data[off + 7];
      if (op === 1) {
        let zero = true;
        for (let k = off + 18; k < off + 24; k++) if (data[k] !== 0) zero = false;
        out.ascii("ARP, Request who-has ");
        out.ascii(formatIpv4(data, off + 24));
        if (!zero) {
          out.ascii(" (");
          out.ascii(formatMac(data, off + 18));
          out.byte(0x29); // ")"
        }
        out.ascii(" tell ");
        out.ascii(formatIpv4(data, off + 14));
      } else if (op === 2) {
        out.ascii("ARP, Reply ");
        out.ascii(formatIpv4(data, off + 14));
        out.ascii(" is-at ");
        out.ascii(formatMac(data, off + 8));
      } else {
        return false;
      }
      out.ascii(", length ");
      out.uint(length - (off - start));
      return true;
    } else {
      return false;
    }
    const end = t + upper;
    let sport = 0;
    let dport = 0;
    let hl = 0;
    // The application layer of a TCP segment or UDP datagram with a payload,
    // chosen as the full decode chooses it (tcp.ts, udp.ts). Of those, HTTP
    // over TCP and DNS over UDP are decoded below, on their own; the rest
    // (TFTP, which a conversation tracker follows, DHCP, DNS over TCP, whose
    // framing depends on the layer below) and any app layer without a
    // formatter for it go to the full decode, told before any checksum is
    // summed or address text made, so they cost the fast path only these reads.
    let app: Kind | null = null;
    if (proto === 6 || proto === 17) {
      if (upper < (proto === 6 ? 20 : 8)) return false;
      sport = (data[t]! << 8) | data[t + 1]!;
      dport = (data[t + 2]! << 8) | data[t + 3]!;
      if (proto === 6) {
        hl = (data[t + 12]! >> 4) * 4;
        if (hl < 20 || hl > upper) return false;
        if (upper > hl) app = tcpPortKind(sport, dport) ?? sniffTcp(data, t + hl, end);
        if (app !== null && (app !== "http" || this.#app === undefined)) return false;
      } else {
        if (udpHinted) return false;
        if (upper > 8) app = udpPortKind(sport, dport);
        if (app !== null && (app !== "dns" || this.#app === undefined)) return false;
      }
    }
    const v4 = type === 0x0800;
    if (proto !== 6 && proto !== 17 && proto !== (v4 ? 1 : 58)) return false;
    // The addresses, summed once: for the pseudo-header, and in IPv4 as the
    // last 8 bytes of the header checksum.
    const addressSum = v4 ? onesSum(data, off + 12, off + 20) : onesSum(data, off + 8, off + 40);
    if (v4 && foldSum(onesSum(data, off, off + 12, addressSum)) !== 0xffff) return false; // header checksum
    const pseudo = addressSum + proto + upper;
    // Every check that can send the frame to the full decode is made before
    // the addresses are formatted.
    let options: readonly TcpOption[] = NO_OPTIONS;
    let ulen = 0;
    let icmpType = -1;
    let appText = "";
    if (proto === 6) {
      if (!transportOk(data, t, end, pseudo, 16)) return false;
      if (hl > 20 && !commonOptions(data, t + 20, t + hl)) {
        const list = this.#options;
        list.length = 0;
        if (parseTcpOptions(data, t + 20, t + hl, list) !== null) return false;
        options = list;
      }
      if (app !== null) {
        const text = this.#appText(app, data, t + hl, end);
        if (text === null) return false;
        // tcpdump: "length 62: HTTP: GET / HTTP/1.1"
        if (text !== "") appText = ": " + text;
      }
    } else if (proto === 17) {
      ulen = (data[t + 4]! << 8) | data[t + 5]!;
      if (ulen !== upper) return false;
      const stored = (data[t + 6]! << 8) | data[t + 7]!;
      if (!(stored === 0 && v4) && !transportOk(data, t, end, pseudo, 6)) return false;
      if (app !== null) {
        const text = this.#appText(app, data, t + 8, end);
        if (text === null) return false;
        appText = text;
      }
    } else {
      // ICMP echo (1) over IPv4, ICMPv6 echo (58) over IPv6; the pseudo-header is IPv6's alone
      icmpType = upper >= 8 ? data[t]! : -1;
      if (v4 ? icmpType !== 0 && icmpType !== 8 : icmpType !== 128 && icmpType !== 129) return false;
      if (foldSum(onesSum(data, t, end, v4 ? 0 : pseudo)) !== 0xffff) return false;
    }
    if (v4) {
      this.#ipSrc = formatIpv4(data, off + 12);
      this.#ipDst = formatIpv4(data, off + 16);
      out.ascii("IP ");
    } else {
      this.#ipSrc = formatIpv6(data, off + 8);
      this.#ipDst = formatIpv6(data, off + 24);
      out.ascii("IP6 ");
    }
    this.#ipUpper = upper;
    out.ascii(this.#ipSrc);
    if (proto === 6 || proto === 17) {
      out.byte(0x2e); // "."
      out.uint(sport);
      out.ascii(" > ");
      out.ascii(this.#ipDst);
      out.byte(0x2e);
      out.uint(dport);
      out.ascii(": ");
      if (proto === 17) {
        if (appText !== "") {
          out.text(appText);
        } else {
          out.ascii("UDP, length ");
          out.uint(ulen - 8);
        }
        return true;
      }
      this.#writeTcp(
        out,
        sport,
        dport,
        ((data[t + 4]! << 24) | (data[t + 5]! << 16) | (data[t + 6]! << 8) | data[t + 7]!) >>> 0,
        ((data[t + 8]! << 24) | (data[t + 9]! << 16) | (data[t + 10]! << 8) | data[t + 11]!) >>> 0,
        ((data[t + 12]! & 0x01) << 8) | data[t + 13]!,
        (data[t + 14]! << 8) | data[t + 15]!,
        (data[t + 18]! << 8) | data[t + 19]!,
        options,
        upper - hl,
        data,
        t + 20,
        options === NO_OPTIONS ? t + hl : t + 20,
      );
      if (appText !== "") out.text(appText);
      return true;
    }
    out.ascii(" > ");
    out.ascii(this.#ipDst);
    out.ascii(v4 ? ": ICMP echo " : ": ICMP6, echo ");
    out.ascii(icmpType === 8 || icmpType === 128 ? "request" : "reply");
    out.ascii(", id ");
    out.uint((data[t + 4]! << 8) | data[t + 5]!);
    out.ascii(", seq ");
    out.uint((data[t + 6]! << 8) | data[t + 7]!);
    out.ascii(", length ");
    out.uint(upper);
    return true;
  }

  readonly #options: TcpOption[] = [];
  #appDecoder: PacketDecoder | undefined;

  /**
   * The app summary of `data[start, end)` decoded as `kind` (the formatter's
   * `app` is set): "" when it is not that protocol after all (the full decode
   * then keeps it as payload and prints the transport line alone), null when
   * decoding it found a problem, which the full decode flags on the line.
   */
  #appText(kind: Kind, data: Uint8Array, start: number, end: number): string | null {
    this.#appDecoder ??= new PacketDecoder();
    const p = this.#appDecoder.decodeAs(kind, data, undefined, start, end);
    if (p.issues.length > 0) return null;
    const layer = p.layers[0];
    if (layer === undefined || layer.layer === "payload") return "";
    return this.#app!(layer) ?? "";
  }

  #icmp(m: Icmp): string {
    if (m.checksumStatus === "bad") this.#flags += " [bad icmp cksum 0x" + HEX4(m.checksum) + "]";
    const len = ", length " + this.#ipUpper;
    switch (m.type) {
      case 0:
        return "ICMP echo reply, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0) + len;
      case 8:
        return "ICMP echo request, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0) + len;
      case 3:
        return "ICMP " + unreachable(m) + len;
      case 4:
        return "ICMP source quench" + len;
      case 5: {
        const q = quotedIp(m.quoted?.layers);
        const what = ["redirect", "redirect", "tos redirect", "tos redirect"][m.code] ?? "redirect";
        return "ICMP " + what + " " + (q?.dst ?? "?") + " to " + (m.code & 1 ? "host " : "net ") + (m.gateway ?? "?") + len;
      }
      case 11:
        return (m.code === 1 ? "ICMP ip reassembly time exceeded" : "ICMP time exceeded in-transit") + len;
      case 12:
        return "ICMP parameter problem - octet " + (m.pointer ?? 0) + len;
      case 13:
        return "ICMP time stamp query id " + (m.identifier ?? 0) + " seq " + (m.sequence ?? 0) + len;
      case 14:
        return "ICMP time stamp reply id " + (m.identifier ?? 0) + " seq " + (m.sequence ?? 0) + len;
      case 17:
        return "ICMP address mask request" + len;
      case 18:
        return "ICMP address mask is " + (m.addressMask ?? "?") + len;
      default:
        return "ICMP type-#" + m.type + len;
    }
  }

  #icmpv6(m: Icmpv6): string {
    if (m.checksumStatus === "bad") this.#flags += " [bad icmp6 cksum 0x" + HEX4(m.checksum) + "]";
    const len = ", length " + this.#ipUpper;
    let s: string;
    switch (m.type) {
      case 1: {
        const q = quotedIp(m.quoted?.layers);
        const dst = q?.dst ?? "?";
        s =
          m.code === 4 && q?.port !== undefined
            ? "destination unreachable, unreachable port, " + dst + " " + q.proto + " port " + q.port
            : "destination unreachable, " + (UNREACH6[m.code] ?? "code " + m.code) + " " + dst;
        break;
      }
      case 2:
        s = "packet too big, mtu " + (m.mtu ?? 0);
        break;
      case 3:
        s = m.code === 1 ? "time exceeded in-transit, reassembly" : "time exceeded in-transit";
        break;
      case 4:
        s = "parameter problem, pointer " + (m.pointer ?? 0);
        break;
      case 128:
        s = "echo request, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0);
        break;
      case 129:
        s = "echo reply, id " + (m.identifier ?? 0) + ", seq " + (m.sequence ?? 0);
        break;
      case 135:
        s = "neighbor solicitation, who has " + (m.targetAddress ?? "?");
        break;
      case 136:
        s = "neighbor advertisement, tgt is " + (m.targetAddress ?? "?");
        break;
      case 137:
        s = "redirect, " + (m.targetAddress ?? "?") + " to " + (m.destinationAddress ?? "?");
        break;
      default:
        s = ICMP6_NAME[m.type] ?? "type " + m.type;
    }
    return "ICMP6, " + s + len;
  }
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;
const ECE = 0x40;
const CWR = 0x80;
const AE = 0x100;

/** tcpdump's flag letters, in its order: F S R P . U E W, plus e for AE (RFC 9768 / AccECN). */
export function tcpFlags(flags: number): string {
  let s = "";
  if (flags & FIN) s += "F";
  if (flags & SYN) s += "S";
  if (flags & RST) s += "R";
  if (flags & PSH) s += "P";
  if (flags & ACK) s += ".";
  if (flags & URG) s += "U";
  if (flags & ECE) s += "E";
  if (flags & CWR) s += "W";
  if (flags & AE) s += "e";
  return s === "" ? "none" : s;
}

/** {@link tcpFlags} of every 9-bit flags value. */
const FLAG_TEXT: readonly string[] = Array.from({ length: 512 }, (_, f) => tcpFlags(f));

/** tcpdump's option list text (without the brackets). SACK edges are made relative to `sackBase`. */
export function tcpOptions(options: readonly TcpOption[], sackBase = 0): string {
  let s = "";
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    if (i > 0) s += ",";
    switch (o.kind) {
      case "nop":
        s += "nop";
        break;
      case "eol":
        s += "eol";
        break;
      case "mss":
        s += "mss " + o.mss;
        break;
      case "windowScale":
        s += "wscale " + o.shift;
        break;
      case "sackPermitted":
        s += "sackOK";
        break;
      case "timestamps":
        s += "TS val " + o.tsval + " ecr " + o.tsecr;
        break;
      case "sack":
        s += "sack " + o.blocks.length;
        for (const b of o.blocks) s += " {" + ((b.left - sackBase) >>> 0) + ":" + ((b.right - sackBase) >>> 0) + "}";
        break;
      case "unknown":
        s += "unknown-" + o.code + (o.data.length > 0 ? " 0x" + toHex(o.data) : "");
        break;
    }
  }
  return s;
}

function arpText(a: Arp, length: number): string {
  const len = ", length " + length;
  if (a.protocolType !== 0x0800 || a.protocolLength !== 4) {
    return "ARP, hardware #" + a.hardwareType + ", protocol 0x" + HEX4(a.protocolType) + ", op " + a.op + len;
  }
  switch (a.op) {
    case 1:
      return (
        "ARP, Request who-has " + a.targetIp +
        (/^(00:)*00$/.test(a.targetMac) || a.targetMac === "" ? "" : " (" + a.targetMac + ")") +
        " tell " + a.senderIp + len
      );
    case 2:
      return "ARP, Reply " + a.senderIp + " is-at " + a.senderMac + len;
    case 3:
      return "ARP, Reverse Request who-is " + a.targetMac + " tell " + a.senderMac + len;
    case 4:
      return "ARP, Reverse Reply " + a.targetMac + " at " + a.targetIp + len;
    default:
      return "ARP, op " + a.op + len;
  }
}

/**
 * What an ICMP error's quoted datagram says: its destination and protocol, the
 * destination port of a quoted UDP or TCP header (`port`), and for any other
 * protocol the 16 bits where a UDP header keeps that port, bytes 2-3 after the
 * IP header (`otherPort`), which tcpdump prints for a port unreachable all
 * the same (print-icmp.c). Those bytes are a quoted ICMP message's checksum,
 * or come from the quote's undecoded payload; otherwise they are not known.
 */
function quotedIp(layers: readonly LayerBase[] | undefined): { dst: string; protocol: number; proto: string; port?: number; otherPort?: number } | null {
  if (layers === undefined) return null;
  const at = layers.findIndex((l) => l.layer === "ipv4" || l.layer === "ipv6");
  if (at < 0) return null;
  const ip = layers[at]!;
  const dst = (ip as Ipv4 | Ipv6).dst;
  const protocol = ip.layer === "ipv4" ? (ip as Ipv4).protocol : (ip as Ipv6).nextHeader;
  const t = layers.find((l) => l.layer === "udp" || l.layer === "tcp") as Udp | Tcp | undefined;
  if (t !== undefined) return { dst, protocol, proto: t.layer, port: t.dstPort };
  const next = layers[at + 1];
  if (next?.layer === "icmp" || next?.layer === "icmpv6") return { dst, protocol, proto: protoName(protocol), otherPort: (next as Icmp | Icmpv6).checksum };
  if (next?.layer === "payload") {
    const data = (next as Payload).data;
    if (data.length >= 4) return { dst, protocol, proto: protoName(protocol), otherPort: (data[2]! << 8) | data[3]! };
  }
  return { dst, protocol, proto: protoName(protocol) };
}

function unreachable(m: Icmp): string {
  const q = quotedIp(m.quoted?.layers);
  const dst = q?.dst ?? "?";
  switch (m.code) {
    case 0:
      return "net " + dst + " unreachable";
    case 1:
      return "host " + dst + " unreachable";
    case 2:
      return dst + " protocol " + (q?.protocol ?? "?") + " unreachable";
    case 3:
      if (q?.port !== undefined) return dst + " " + q.proto + " port " + q.port + " unreachable";
      if (q?.otherPort !== undefined) return dst + " protocol " + q.protocol + " port " + q.otherPort + " unreachable";
      return dst + " port unreachable";
    case 4:
      return dst + " unreachable - need to frag (mtu " + (m.nextHopMtu ?? 0) + ")";
    case 5:
      return dst + " unreachable - source route failed";
    case 9:
      return "net " + dst + " unreachable - admin prohibited";
    case 10:
      return "host " + dst + " unreachable - admin prohibited";
    case 13:
      return "host " + dst + " unreachable - admin prohibited filter";
    default:
      return dst + " unreachable - code " + m.code;
  }
}

const UNREACH6: Record<number, string> = {
  0: "unreachable route",
  1: "unreachable prohibited",
  2: "beyond scope",
  3: "unreachable address",
  4: "unreachable port",
  5: "source address failed ingress/egress policy",
  6: "reject route",
};

const ICMP6_NAME: Record<number, string> = {
  130: "multicast listener query",
  131: "multicast listener report",
  132: "multicast listener done",
  133: "router solicitation",
  134: "router advertisement",
  143: "multicast listener report v2",
};

const EXT_NAME: Readonly<Record<Ipv6ExtensionType, string>> = {
  hopByHop: "HBH",
  routing: "srcrt",
  fragment: "frag",
  destination: "DSTOPT",
};

/** IP protocol names tcpdump uses for protocols we do not decode. */
const PROTO: Record<number, string> = {
  1: "ICMP",
  2: "IGMP",
  4: "IP",
  6: "tcp",
  17: "UDP",
  41: "IP6",
  47: "GREv0",
  50: "ESP",
  51: "AH",
  58: "ICMP6",
  59: "no next header",
  89: "OSPFv2",
  103: "PIMv2",
  112: "VRRPv2",
  132: "sctp",
};

function protoName(p: number): string {
  return PROTO[p] ?? "ip-proto-" + p;
}

function issueFlag(e: Issue): string {
  return " [" + e.kind + ": " + e.layer + ": " + e.reason + "]";
}
