/**
 * TFTP conversation tracking. A TFTP transfer starts with a request to port 69,
 * then runs between the client's port and a new port the server picks (RFC 1350
 * §4), so the UDP port table alone recognises only the request. The tracker
 * remembers each request's client address and port and the server address, and
 * names later datagrams between them `tftp` through the decode option `udpHint`.
 *
 * Feed it every decoded packet, in capture order, with the packet's time:
 * `observe` learns from requests and refreshes conversations; `udpHint` answers
 * during the next decodes. State is bounded: at most `maxConversations`
 * (least recently seen dropped first), and a conversation idle for longer than
 * `idleTimeout` seconds of packet time is forgotten. Time comes from the packets,
 * never from a clock, so a file decodes the same way every time, and live
 * capture works alike.
 *
 * Conversations are keyed by address bytes: `udpHint`, asked about every UDP
 * datagram while a transfer is followed, builds its key from the IP header's
 * address bytes without making their text; `observe` parses a request's
 * address text once, when the conversation starts.
 *
 * @example
 * ```ts
 * import { PacketDecoder } from "../layers/decode.ts";
 * import { TftpTracker } from "./tftp_tracker.ts";
 * const tracker = new TftpTracker();
 * const decoder = new PacketDecoder({ udpHint: tracker.udpHint });
 * for await (const frame of openCaptureFile("tftp.pcap")) {
 *   const packet = decoder.decode(frame.data, frame.linkType, frame.length);
 *   tracker.observe(packet, frame.sec + frame.nsec / 1e9);
 * }
 * ```
 *
 * @module
 */
import { parseIp } from "../layers/addr.ts";
import type { IpContext, LayerBase } from "../layers/core.ts";
import type { Kind } from "../layers/registry.ts";
import type { Tftp } from "../layers/tftp.ts";

/** The well-known TFTP server port (RFC 1350 §4). */
export const TFTP_PORT = 69;

export interface TftpTrackerOptions {
  /** conversations kept at most (default 1024); the least recently seen goes first */
  maxConversations?: number;
  /** seconds of packet time without a packet after which a conversation is dropped (default 60) */
  idleTimeout?: number;
}

/** One transfer the tracker follows. */
export interface TftpConversation {
  client: string;
  clientPort: number;
  server: string;
  /** packet time of the request */
  started: number;
  /** packet time of the last packet seen in it */
  lastSeen: number;
}

interface AddressLayer extends LayerBase {
  src: string;
  dst: string;
}
interface PortLayer extends LayerBase {
  srcPort: number;
  dstPort: number;
}

/**
 * The key of a conversation: client port, client address, server address, one
 * character per byte (an IPv4 key is 10 characters, an IPv6 one 34, so the
 * families never meet). Measured faster than joining the addresses' text,
 * cached as that text is.
 */
function key(client: Uint8Array, clientPort: number, server: Uint8Array): string {
  let k = String.fromCharCode(clientPort >> 8, clientPort & 0xff);
  for (let i = 0; i < client.length; i++) k += String.fromCharCode(client[i]!);
  for (let i = 0; i < server.length; i++) k += String.fromCharCode(server[i]!);
  return k;
}

/** Follows TFTP transfers from their requests; see the module comment. */
export class TftpTracker {
  readonly #max: number;
  readonly #idle: number;
  /** insertion order = least recently seen first */
  readonly #conversations = new Map<string, TftpConversation>();
  #now = -Infinity;

  constructor(options: TftpTrackerOptions = {}) {
    this.#max = Math.max(1, options.maxConversations ?? 1024);
    this.#idle = options.idleTimeout ?? 60;
  }

  /** How many conversations are followed now. */
  get size(): number {
    return this.#conversations.size;
  }

  /** The conversations followed now, least recently seen first. */
  conversations(): TftpConversation[] {
    return [...this.#conversations.values()].map((c) => ({ ...c }));
  }

  /** Forget everything. */
  clear(): void {
    this.#conversations.clear();
    this.#now = -Infinity;
  }

  /**
   * For `DecodeOptions.udpHint`: `"tftp"` for a datagram between a tracked
   * client address and port and its server address (any server port), in
   * either direction. A bound function: pass it as it is.
   */
  readonly udpHint = (srcPort: number, dstPort: number, ip: IpContext | null): Kind | undefined => {
    if (this.#conversations.size === 0 || ip === null) return undefined;
    const c = this.#conversations.get(key(ip.src, srcPort, ip.dst)) ?? this.#conversations.get(key(ip.dst, dstPort, ip.src));
    if (c === undefined || c.lastSeen + this.#idle < this.#now) return undefined;
    return "tftp";
  };

  /**
   * Learn from one decoded packet (its outer layers, as `decode` returns them).
   * `time` is the packet's time in seconds (e.g. `sec + nsec / 1e9`); without
   * it the tracker's clock stays where it was.
   */
  observe(packet: { layers: readonly LayerBase[] } | readonly LayerBase[], time?: number): void {
    const layers = "layers" in packet ? packet.layers : packet;
    if (time !== undefined && time > this.#now) {
      this.#now = time;
      this.#expire();
    }
    const now = time ?? this.#now;
    let ip: AddressLayer | undefined;
    let udp: PortLayer | undefined;
    let tftp: Tftp | undefined;
    for (const l of layers) {
      if (l.layer === "ipv4" || l.layer === "ipv6") ip = l as AddressLayer;
      else if (l.layer === "udp") udp = l as PortLayer;
      else if (l.layer === "tftp") tftp = l as Tftp;
    }
    if (ip === undefined || udp === undefined || tftp === undefined) return;
    // The decoded layers carry addresses as text; the keys are their bytes.
    let src: Uint8Array;
    let dst: Uint8Array;
    try {
      src = parseIp(ip.src);
      dst = parseIp(ip.dst);
    } catch {
      return; // a hand-made layer whose address is no address: nothing to follow
    }
    if ((tftp.opcode === 1 || tftp.opcode === 2) && udp.dstPort === TFTP_PORT) {
      // A request (or its retransmission): start or restart the conversation.
      const k = key(src, udp.srcPort, dst);
      this.#conversations.delete(k);
      this.#conversations.set(k, { client: ip.src, clientPort: udp.srcPort, server: ip.dst, started: now, lastSeen: now });
      while (this.#conversations.size > this.#max) {
        const oldest = this.#conversations.keys().next().value;
        if (oldest === undefined) break;
        this.#conversations.delete(oldest);
      }
      return;
    }
    const k1 = key(src, udp.srcPort, dst);
    const k2 = key(dst, udp.dstPort, src);
    const k = this.#conversations.has(k1) ? k1 : this.#conversations.has(k2) ? k2 : undefined;
    if (k === undefined) return;
    const c = this.#conversations.get(k)!;
    c.lastSeen = now;
    this.#conversations.delete(k);
    this.#conversations.set(k, c);
  }

  #expire(): void {
    for (const [k, c] of this.#conversations) {
      if (c.lastSeen + this.#idle >= this.#now) break; // the rest were seen later
      this.#conversations.delete(k);
    }
  }
}
