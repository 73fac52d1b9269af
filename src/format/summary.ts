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
import type { Issue, LayerBase } from "../../layers/core.ts";
import type { Arp } from "../../layers/arp.ts";
import type { Ethernet } from "../../layers/ethernet.ts";
import type { Icmp } from "../../layers/icmp.ts";
import type { Icmpv6 } from "../../layers/icmpv6.ts";
import type { Ipv4 } from "../../layers/ipv4.ts";
import type { Ipv6, Ipv6ExtensionType } from "../../layers/ipv6.ts";
import type { Sll } from "../../layers/sll.ts";
import type { Sll2 } from "../../layers/sll2.ts";
import type { Tcp } from "../../layers/tcp.ts";
import type { TcpOption } from "../../layers/tcp_options.ts";
import type { Udp } from "../../layers/udp.ts";
import type { Vlan } from "../../layers/vlan.ts";
import { HEX2, toHex } from "./hex.ts";

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
  /** base for the direction whose key is `fwd` */
  seq: number;
  /** base for the opposite direction */
  ack: number;
}

const HEX4 = (n: number): string => HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;

/** Makes one-line summaries; keeps the TCP sequence state of one stream. */
export class SummaryFormatter {
  readonly #absoluteSeq: boolean;
  readonly #quiet: boolean;
  readonly #app: ((layer: LayerBase) => string | null) | undefined;
  readonly #seq = new Map<string, SeqBase>();
  // Scratch filled by the network layer for the transport layer of the same packet.
  #ipUpper = 0;
  #ipSrc = "";
  #ipDst = "";
  #flags = "";

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
    const flags = t.flags;
    const payload = this.#ipUpper - t.headerLength;
    if (this.#quiet) return "tcp " + (payload >= 0 ? payload : 0);
    let seq = t.seq;
    let ack = t.ack;
    let sackBase = 0;
    if (!this.#absoluteSeq && flags & ACK) {
      // tcpdump's rule (print-tcp.c): relative numbers once a connection is known;
      // an ACK-carrying segment of an unknown connection, or any SYN, sets the bases.
      const fwdKey = this.#ipSrc + " " + t.srcPort + " " + this.#ipDst + " " + t.dstPort;
      const revKey = this.#ipDst + " " + t.dstPort + " " + this.#ipSrc + " " + t.srcPort;
      const fwd = this.#seq.get(fwdKey);
      const rev = fwd === undefined ? this.#seq.get(revKey) : undefined;
      if ((fwd === undefined && rev === undefined) || flags & SYN) {
        const base = fwd ?? rev;
        if (base !== undefined && rev !== undefined) {
          base.ack = seq;
          base.seq = (ack - 1) >>> 0;
        } else if (base !== undefined) {
          base.seq = seq;
          base.ack = (ack - 1) >>> 0;
        } else {
          this.#seq.set(fwdKey, { seq, ack: (ack - 1) >>> 0 });
        }
      } else if (fwd !== undefined) {
        seq = (seq - fwd.seq) >>> 0;
        ack = (ack - fwd.ack) >>> 0;
        sackBase = fwd.ack;
      } else if (rev !== undefined) {
        seq = (seq - rev.ack) >>> 0;
        ack = (ack - rev.seq) >>> 0;
        sackBase = rev.seq;
      }
    }
    let s = "Flags [" + tcpFlags(flags) + "]";
    if (payload > 0 || flags & (SYN | FIN | RST)) {
      s += ", seq " + seq;
      if (payload > 0) s += ":" + ((seq + payload) >>> 0);
    }
    if (flags & ACK) s += ", ack " + ack;
    s += ", win " + t.window;
    if (flags & URG) s += ", urg " + t.urgentPointer;
    if (t.options.length > 0) s += ", options [" + tcpOptions(t.options, sackBase) + "]";
    s += ", length " + (payload >= 0 ? payload : 0);
    if (app !== undefined && app.layer !== "payload" && payload > 0) {
      const text = this.#appOr(app, "");
      // tcpdump: "length 58 17177+ A? ..." for DNS, "length 58: HTTP: GET ..." for text protocols.
      if (text !== "") s += (app.layer === "dns" ? " " : ": ") + text;
    }
    return s;
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

/** What an ICMP error quotes: destination and, for UDP/TCP, the destination port. */
function quotedIp(layers: readonly LayerBase[] | undefined): { dst: string; protocol: number; proto: string; port?: number } | null {
  if (layers === undefined) return null;
  const ip = layers.find((l) => l.layer === "ipv4" || l.layer === "ipv6");
  if (ip === undefined) return null;
  const dst = (ip as Ipv4 | Ipv6).dst;
  const protocol = ip.layer === "ipv4" ? (ip as Ipv4).protocol : (ip as Ipv6).nextHeader;
  const t = layers.find((l) => l.layer === "udp" || l.layer === "tcp") as Udp | Tcp | undefined;
  return t === undefined ? { dst, protocol, proto: protoName(protocol) } : { dst, protocol, proto: t.layer, port: t.dstPort };
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
      return q?.port !== undefined ? dst + " " + q.proto + " port " + q.port + " unreachable" : dst + " port unreachable";
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
