/**
 * A lab for hostile-input tests on the stack's deterministic core: stack A
 * (the victim: 10.9.0.1, fd09::1) and stack B (an honest peer: .2, ::2) joined
 * by an in-memory wire with 1 ms of latency on one virtual timeline, plus a
 * silent host C (.3, ::3) whose MAC A knows but whose frames go nowhere (so
 * SYN-SENT and SYN-RECEIVED connections stay that way). Test code injects
 * frames straight into A with {@link Lab.inject}, which returns what A sent
 * in reply during that call, and rethrows anything that escapes `input`
 * with the frame in hex.
 *
 * Applications on both stacks are {@link Flow}s: each side writes a
 * pattern-derived byte stream at a chosen rate and the other side reads and
 * checks every byte against the pattern (byte-exact), so a connection that
 * hostile input damaged shows up as a wrong byte, a missing end of stream or
 * a state that does not finish.
 *
 * Independent of the stack's own parsing, {@link inspectFrame} works out from
 * the bytes (its own ones'-complement arithmetic, no layers/ views) whether a
 * frame is one the stack must ignore entirely: not addressed to A, a bad IPv4
 * header, a bad transport checksum. For those frames the tests require that
 * nothing observable changed and nothing was sent.
 */
import { formatIp, parseIp } from "../../layers/addr.ts";
import { decodePacket } from "../../layers/decode.ts";
import { LINKTYPE } from "../../layers/dispatch.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { TcpOption } from "../../layers/tcp_options.ts";
import { seededRandom } from "../../src/stack/random.ts";
import { seqDiff, seqLe } from "../../src/stack/seq.ts";
import { Stack, type StackOptions } from "../../src/stack/stack.ts";
import type { TcpConfig, TcpState } from "../../src/stack/tcp/config.ts";
import type { Tcb } from "../../src/stack/tcp/tcb.ts";
import { userReceive, userSend, userShutdown } from "../../src/stack/tcp/user.ts";
import type { Listener } from "../../src/stack/tcp_layer.ts";

export const MAC = { a: "02:00:00:00:00:0a", b: "02:00:00:00:00:0b", c: "02:00:00:00:00:0c", x: "02:00:00:00:00:0e" } as const;
/** `bLL`: B's link-local address (RFC 4291 Appendix A, from its MAC), which B answers for. */
export const IP = { a4: "10.9.0.1", b4: "10.9.0.2", c4: "10.9.0.3", a6: "fd09::1", b6: "fd09::2", c6: "fd09::3", bLL: "fe80::ff:fe00:b" } as const;
const macOf = (s: string): Uint8Array => Uint8Array.from(s.split(":").map((x) => parseInt(x, 16)));

export const hex = (b: Uint8Array, max = 256): string =>
  Array.from(b.subarray(0, max), (x) => x.toString(16).padStart(2, "0")).join("") + (b.length > max ? `…(${b.length} bytes)` : "");

// ---- an independent checksum oracle ----

const rd16 = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);

/** The 16-bit ones'-complement sum of `b[start, end)` (odd tail padded with zero), added to `sum`. */
export function onesSum(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** What the bytes of a frame say, worked out here without the stack's or the layers' code. */
export interface FrameFacts {
  /** Ethernet destination is A's MAC, broadcast, or an IPv6 multicast MAC */
  toA: boolean;
  ethertype: number;
  ip: 4 | 6 | null;
  /** IPv4: version, IHL, total length and header checksum all good; IPv6: version and payload length fit */
  ipValid: boolean;
  /** destination address (text), when an IP header is there */
  dst: string | null;
  fragment: boolean;
  /** transport protocol number after any IPv6 extension headers this walk understands, or -1 */
  protocol: number;
  /** where the transport header starts and the datagram ends */
  l4Start: number;
  l4End: number;
  /** checksum over the pseudo-header (TCP, UDP, ICMPv6) or the message (ICMP); null when not computed */
  l4Valid: boolean | null;
}

/** Work out {@link FrameFacts} for `f` (an Ethernet frame). */
export function inspectFrame(f: Uint8Array): FrameFacts {
  const facts: FrameFacts = { toA: false, ethertype: -1, ip: null, ipValid: false, dst: null, fragment: false, protocol: -1, l4Start: -1, l4End: -1, l4Valid: null };
  if (f.length < 14) return facts;
  const a = macOf(MAC.a);
  const dstMac = f.subarray(0, 6);
  facts.toA = dstMac.every((x, i) => x === a[i]) || dstMac.every((x) => x === 0xff) || (f[0] === 0x33 && f[1] === 0x33);
  facts.ethertype = rd16(f, 12);
  if (facts.ethertype === 0x0800 && f.length >= 34) {
    facts.ip = 4;
    const ihl = (f[14]! & 15) * 4;
    const total = rd16(f, 16);
    facts.ipValid = f[14]! >> 4 === 4 && ihl >= 20 && total >= ihl && 14 + total <= f.length && onesSum(f, 14, 14 + ihl) === 0xffff;
    facts.dst = formatIp(f.subarray(30, 34));
    facts.fragment = (f[20]! & 0x20) !== 0 || (rd16(f, 20) & 0x1fff) !== 0;
    if (!facts.ipValid) return facts;
    facts.protocol = f[23]!;
    facts.l4Start = 14 + ihl;
    facts.l4End = 14 + total;
    if (facts.fragment) return facts;
    const len = facts.l4End - facts.l4Start;
    if (facts.protocol === 1) {
      facts.l4Valid = len >= 4 && onesSum(f, facts.l4Start, facts.l4End) === 0xffff;
    } else if (facts.protocol === 6 || facts.protocol === 17) {
      const pseudo = onesSum(f, 26, 34, facts.protocol + len);
      const zeroUdp = facts.protocol === 17 && len >= 8 && rd16(f, facts.l4Start + 6) === 0;
      facts.l4Valid = len >= (facts.protocol === 6 ? 20 : 8) && (zeroUdp || onesSum(f, facts.l4Start, facts.l4End, pseudo) === 0xffff);
    }
    return facts;
  }
  if (facts.ethertype === 0x86dd && f.length >= 54) {
    facts.ip = 6;
    const plen = rd16(f, 18);
    facts.ipValid = f[14]! >> 4 === 6 && 54 + plen <= f.length;
    facts.dst = formatIp(f.subarray(38, 54));
    if (!facts.ipValid) return facts;
    facts.l4End = 54 + plen;
    let nh = f[20]!;
    let at = 54;
    for (let n = 0; n < 8; n++) {
      if (nh === 0 || nh === 60) {
        if (at + 8 > facts.l4End) return facts;
        nh = f[at]!;
        at += (f[at + 1]! + 1) * 8;
        continue;
      }
      if (nh === 44) {
        if (at + 8 > facts.l4End) return facts;
        const offMore = rd16(f, at + 2);
        if ((offMore & 0xfff9) !== 0) {
          facts.fragment = true;
          return facts;
        }
        nh = f[at]!;
        at += 8;
        continue;
      }
      break;
    }
    if (at > facts.l4End) return facts;
    facts.protocol = nh;
    facts.l4Start = at;
    const len = facts.l4End - at;
    if (nh === 6 || nh === 17 || nh === 58) {
      const pseudo = onesSum(f, 22, 54, nh + (len >>> 16) + (len & 0xffff));
      const min = nh === 6 ? 20 : nh === 17 ? 8 : 4;
      facts.l4Valid = len >= min && onesSum(f, at, facts.l4End, pseudo) === 0xffff;
    }
    return facts;
  }
  return facts;
}

/** Whether the stack must take no notice at all of `f`: not for A, a broken IPv4 header, or a bad transport checksum. */
export function mustBeIgnored(f: Uint8Array): boolean {
  const x = inspectFrame(f);
  if (!x.toA) return true;
  if (x.ip === 4 && !x.ipValid) return true;
  if (x.ip === 4 && x.dst !== IP.a4 && x.dst !== "255.255.255.255" && x.dst !== "10.9.0.255") return true;
  if (x.ip === 6 && x.ipValid && x.dst !== null && !x.dst.startsWith("ff") && x.dst !== IP.a6 && !x.dst.startsWith("fe80")) return true;
  if (x.l4Valid === false && (x.protocol === 6 || x.protocol === 17 || x.protocol === 1 || x.protocol === 58)) return true;
  return false;
}

/** Recompute the IPv4 header checksum and the transport checksum of `f` in place (as far as the headers let it be found). */
export function fixChecksums(f: Uint8Array): void {
  if (f.length < 34) return;
  const type = rd16(f, 12);
  const put16 = (i: number, v: number): void => {
    if (i + 1 < f.length) {
      f[i] = v >>> 8;
      f[i + 1] = v & 0xff;
    }
  };
  let l4 = -1;
  let end = -1;
  let proto = -1;
  let pseudo = 0;
  if (type === 0x0800) {
    const ihl = (f[14]! & 15) * 4;
    if (ihl < 20 || 14 + ihl > f.length) return;
    put16(24, 0);
    put16(24, ~onesSum(f, 14, 14 + ihl) & 0xffff);
    if ((f[20]! & 0x20) !== 0 || (rd16(f, 20) & 0x1fff) !== 0) return;
    l4 = 14 + ihl;
    end = Math.min(f.length, 14 + rd16(f, 16));
    proto = f[23]!;
    if (end < l4) return;
    pseudo = proto === 1 ? 0 : onesSum(f, 26, 34, proto + (end - l4));
  } else if (type === 0x86dd && f.length >= 54) {
    end = Math.min(f.length, 54 + rd16(f, 18));
    let nh = f[20]!;
    let at = 54;
    for (let n = 0; n < 8 && at + 8 <= end; n++) {
      if (nh === 0 || nh === 60 || nh === 43) {
        nh = f[at]!;
        at += (f[at + 1]! + 1) * 8;
      } else if (nh === 44) {
        if ((rd16(f, at + 2) & 0xfff9) !== 0) return;
        nh = f[at]!;
        at += 8;
      } else {
        break;
      }
    }
    if (at > end) return;
    l4 = at;
    proto = nh;
    const len = end - l4;
    pseudo = onesSum(f, 22, 54, proto + (len >>> 16) + (len & 0xffff));
  } else {
    return;
  }
  const at = proto === 6 ? 16 : proto === 17 ? 6 : proto === 1 || proto === 58 ? 2 : -1;
  if (at < 0 || l4 + at + 2 > end) return;
  put16(l4 + at, 0);
  let c = ~onesSum(f, l4, end, pseudo) & 0xffff;
  if (proto === 17 && c === 0) c = 0xffff;
  put16(l4 + at, c);
}

// ---- frame builders (through the layers' encoder) ----

/** A TCP segment to A, built by the layers (checksums right unless `checksum` is given). */
export interface TcpSpec {
  family?: 4 | 6;
  src?: string;
  dst?: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOption[];
  data?: Uint8Array;
  checksum?: number;
  headerLength?: number;
  urgentPointer?: number;
  ethSrc?: string;
}

export function tcpFrame(s: TcpSpec): Uint8Array {
  const family = s.family ?? 4;
  const ip =
    family === 4
      ? { layer: "ipv4" as const, src: s.src ?? IP.b4, dst: s.dst ?? IP.a4, ttl: 64 }
      : { layer: "ipv6" as const, src: s.src ?? IP.b6, dst: s.dst ?? IP.a6, hopLimit: 64 };
  return encodePacket([
    { layer: "ethernet", src: s.ethSrc ?? MAC.b, dst: MAC.a },
    ip,
    {
      layer: "tcp",
      srcPort: s.srcPort,
      dstPort: s.dstPort,
      seq: s.seq >>> 0,
      ack: (s.ack ?? 0) >>> 0,
      flags: s.flags,
      window: s.window ?? 65535,
      options: s.options ?? [],
      ...(s.checksum !== undefined ? { checksum: s.checksum } : {}),
      ...(s.headerLength !== undefined ? { headerLength: s.headerLength } : {}),
      ...(s.urgentPointer !== undefined ? { urgentPointer: s.urgentPointer } : {}),
    },
    { layer: "payload", data: s.data ?? new Uint8Array(0) },
  ]);
}

/** The peer's side of `t` (a connection of A): a segment from its remote end to it. */
export function segmentFor(t: Tcb, s: Omit<TcpSpec, "srcPort" | "dstPort" | "family" | "src" | "dst">): Uint8Array {
  return tcpFrame({ ...s, family: t.family, src: formatIp(t.remoteAddress), dst: formatIp(t.localAddress), srcPort: t.remotePort, dstPort: t.localPort });
}

/** A decoded TCP segment A sent (read with plain byte offsets). */
export interface OutTcp {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  dataLength: number;
}

/** The TCP segment in one of A's frames, or null. */
export function readTcp(f: Uint8Array): OutTcp | null {
  const x = inspectFrame(f);
  if (x.protocol !== 6 || x.l4Start < 0 || x.fragment) return null;
  const at = x.l4Start;
  const src = x.ip === 4 ? formatIp(f.subarray(26, 30)) : formatIp(f.subarray(22, 38));
  const hl = (f[at + 12]! >> 4) * 4;
  return {
    src,
    dst: x.dst!,
    srcPort: rd16(f, at),
    dstPort: rd16(f, at + 2),
    seq: ((rd16(f, at + 4) << 16) | rd16(f, at + 6)) >>> 0,
    ack: ((rd16(f, at + 8) << 16) | rd16(f, at + 10)) >>> 0,
    flags: f[at + 13]! | ((f[at + 12]! & 1) << 8),
    window: rd16(f, at + 14),
    dataLength: x.l4End - at - hl,
  };
}

// ---- flows: applications that write and check byte streams ----

/** The byte at offset `i` of stream `seed`: varied enough that a shifted or mixed-up stream shows. */
export function patternByte(seed: number, i: number): number {
  return (Math.imul((i ^ (seed << 20)) + seed, 0x9e3779b1) >>> 24) & 0xff;
}

/** One application end of a connection. */
export interface End {
  stack: Stack;
  tcb: Tcb;
  /** bytes this end writes in all */
  total: number;
  written: number;
  /** bytes per ms (Infinity: as fast as the buffer takes) */
  rate: number;
  budget: number;
  /** shutdown (SHUT_WR) once everything is written */
  shutdownWhenWritten: boolean;
  shut: boolean;
  /** whether the application reads now */
  reading: boolean;
  read: number;
  eof: boolean;
  /** the stream this end writes */
  seed: number;
}

/** A connection between two applications (A's end first). */
export class Flow {
  readonly name: string;
  readonly a: End;
  readonly b: End;
  /** check every byte read against the stream (off where hostile segments with the right numbers may write into it) */
  verify = true;

  constructor(name: string, a: End, b: End) {
    this.name = name;
    this.a = a;
    this.b = b;
  }

  /** Everything written was read, byte-exact, and each end saw the other's end of stream where one was sent. */
  get complete(): boolean {
    const side = (w: End, r: End): boolean => r.read === w.total && (!w.shutdownWhenWritten || r.eof);
    return side(this.a, this.b) && side(this.b, this.a);
  }

  describe(): string {
    const e = (x: End): string => `${x.tcb.state} wrote ${x.written}/${x.total}${x.shut ? " shut" : ""} read ${x.read}${x.eof ? " eof" : ""}${x.tcb.error ? ` error ${x.tcb.error}` : ""}`;
    return `${this.name}: A [${e(this.a)}] B [${e(this.b)}]`;
  }
}

function end(stack: Stack, tcb: Tcb, seed: number): End {
  return { stack, tcb, total: 0, written: 0, rate: Infinity, budget: 0, shutdownWhenWritten: false, shut: false, reading: true, read: 0, eof: false, seed };
}

// ---- the lab ----

export interface LabOptions {
  seed?: number;
  /** TCP defaults of A (B uses the stack defaults unless `tcpB`) */
  tcp?: Partial<TcpConfig>;
  tcpB?: Partial<TcpConfig>;
  a?: Partial<Omit<StackOptions, "transmit" | "random">>;
}

interface InFlight {
  at: number;
  to: "a" | "b";
  frame: Uint8Array;
}

/** Two stacks on a wire (see the module documentation). */
export class Lab {
  now = 0;
  readonly a: Stack;
  readonly b: Stack;
  readonly latency = 1;
  readonly flows: Flow[] = [];
  /** recent frames B sent to A, for mutation (the last 512) */
  readonly toA: Uint8Array[] = [];
  #toAAt = 0;
  #queue: InFlight[] = [];
  #head = 0;
  #capture: Uint8Array[] | null = null;
  #lastPump = 0;
  #seeds = 1;
  /** frames A addressed to C (the silent host), dropped */
  toC = 0;
  /** frames from B to A this returns true for are lost on the wire */
  loseToA: ((frame: Uint8Array) => boolean) | null = null;
  /**
   * Frames the wire carries in one virtual second at most before the lab
   * calls it a storm and throws (the zoo's own traffic stays far below).
   */
  stormLimit = 5000;
  #second = 0;
  #inSecond = 0;

  constructor(options: LabOptions = {}) {
    const seed = options.seed ?? 1;
    this.a = new Stack({
      mac: MAC.a,
      ipv4: [`${IP.a4}/24`],
      ipv6: [`${IP.a6}/64`],
      solicitRouter: false,
      random: seededRandom(seed),
      neighbors: { ttlMs: 3_600_000 },
      tcp: { sendBuffer: 64 << 10, receiveBuffer: 128 << 10, ...options.tcp },
      ...options.a,
      transmit: (f) => this.#fromA(f),
    });
    this.b = new Stack({
      mac: MAC.b,
      ipv4: [`${IP.b4}/24`],
      ipv6: [`${IP.b6}/64`],
      solicitRouter: false,
      random: seededRandom(seed + 1000),
      neighbors: { ttlMs: 3_600_000 },
      tcp: { sendBuffer: 64 << 10, receiveBuffer: 128 << 10, ...options.tcpB },
      transmit: (f) => this.#send("a", f),
    });
    for (const [ip, mac] of [[IP.b4, MAC.b], [IP.b6, MAC.b], [IP.c4, MAC.c], [IP.c6, MAC.c]] as const) this.a.neighbors.learn(parseIp(ip), macOf(mac), 0);
    for (const ip of [IP.a4, IP.a6]) this.b.neighbors.learn(parseIp(ip), macOf(MAC.a), 0);
    this.a.poll(0);
    this.b.poll(0);
  }

  /** when set, every frame A sends is copied here too */
  tapA: Uint8Array[] | null = null;

  #fromA(f: Uint8Array): void {
    if (this.#capture !== null) this.#capture.push(f.slice());
    this.tapA?.push(f.slice());
    const c = macOf(MAC.c);
    if (f.subarray(0, 6).every((x, i) => x === c[i])) {
      this.toC++;
      return;
    }
    this.#send("b", f);
  }

  #send(to: "a" | "b", f: Uint8Array): void {
    if (to === "a" && this.loseToA?.(f) === true) return;
    const second = Math.floor(this.now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#inSecond = 0;
    }
    if (++this.#inSecond > this.stormLimit) {
      const t = readTcp(f);
      throw new Error(`a packet storm: over ${this.stormLimit} frames on the wire in the second from ${second * 1000} ms (now ${to === "a" ? "B to A" : "A to B"}: ${t === null ? hex(f, 64) : JSON.stringify(t)})`);
    }
    const frame = f.slice();
    this.#queue.push({ at: this.now + this.latency, to, frame });
    if (to === "a") {
      if (this.toA.length < 512) this.toA.push(frame);
      else this.toA[this.#toAAt++ % 512] = frame;
    }
  }

  /** Feed `frame` to A now; returns the frames A sent during the call. Anything thrown is rethrown with the frame. */
  inject(frame: Uint8Array, what = "frame"): Uint8Array[] {
    this.#capture = [];
    try {
      this.a.input(frame, 0, frame.length, this.now);
    } catch (e) {
      this.#capture = null;
      throw new Error(`${what}: Stack.input threw ${String(e)} at ${this.now} ms for ${hex(frame)}`, { cause: e });
    }
    const out = this.#capture;
    this.#capture = null;
    return out;
  }

  /** Feed `bytes[start, end)` to A now (a frame inside a larger buffer, as a capture batch hands it); as {@link inject}. */
  injectAt(bytes: Uint8Array, start: number, end: number, what = "frame"): Uint8Array[] {
    this.#capture = [];
    try {
      this.a.input(bytes, start, end, this.now);
    } catch (e) {
      this.#capture = null;
      throw new Error(`${what}: Stack.input threw ${String(e)} at ${this.now} ms for ${hex(bytes.subarray(start, end))}`, { cause: e });
    }
    const out = this.#capture;
    this.#capture = null;
    return out;
  }

  /** Run the timeline for `ms`. */
  run(ms: number): void {
    this.#loop(this.now + ms, null);
  }

  /** Run until `done()` (checked at every step) or `limitMs`; returns whether it became true. */
  runUntil(done: () => boolean, limitMs = 60_000): boolean {
    return this.#loop(this.now + limitMs, done);
  }

  #loop(until: number, done: (() => boolean) | null): boolean {
    let stuck = 0;
    for (;;) {
      this.#deliver();
      this.#pumpAll();
      if (done?.()) return true;
      const na = this.a.poll(this.now);
      const nb = this.b.poll(this.now);
      if (Number.isNaN(na) || Number.isNaN(nb)) throw new Error(`poll returned NaN at ${this.now} ms`);
      const q = this.#head < this.#queue.length ? this.#queue[this.#head]!.at : Infinity;
      const pacing = this.flows.some((f) => [f.a, f.b].some((e) => e.rate !== Infinity && e.written < e.total)) ? this.now + 1 : Infinity;
      const next = Math.min(na, nb, q, pacing);
      if (next > until) break;
      if (next <= this.now) {
        if (++stuck > 1000) throw new Error(`the timeline does not advance at ${this.now} ms (poll keeps returning ${Math.min(na, nb)})`);
      } else {
        stuck = 0;
        this.now = next;
      }
    }
    this.now = until;
    this.#deliver();
    this.#pumpAll();
    this.a.poll(this.now);
    this.b.poll(this.now);
    return done?.() ?? false;
  }

  #deliver(): void {
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.at <= this.now) {
      const m = this.#queue[this.#head++]!;
      const s = m.to === "a" ? this.a : this.b;
      s.input(m.frame, 0, m.frame.length, this.now);
    }
    if (this.#head > 4096) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #pumpAll(): void {
    const dt = Math.max(0, this.now - this.#lastPump);
    this.#lastPump = this.now;
    for (const f of this.flows) {
      this.#pump(f, f.a, f.b, dt);
      this.#pump(f, f.b, f.a, dt);
    }
  }

  #pump(f: Flow, me: End, peer: End, dt: number): void {
    const s = me.stack;
    const t = me.tcb;
    if (me.written < me.total && !me.shut && t.state !== "CLOSED") {
      me.budget = me.rate === Infinity ? Infinity : Math.min(me.budget + me.rate * dt, 1 << 20);
      const n = Math.min(me.total - me.written, me.budget, t.sendBuffer.free);
      if (n >= 1) {
        const chunk = new Uint8Array(Math.floor(n));
        for (let i = 0; i < chunk.length; i++) chunk[i] = patternByte(me.seed, me.written + i);
        const took = s.at(this.now, () => userSend(t, s.tcp, chunk));
        me.written += took;
        if (me.budget !== Infinity) me.budget -= took;
      }
    }
    if (me.shutdownWhenWritten && !me.shut && me.written === me.total && t.state !== "CLOSED") {
      me.shut = true;
      s.at(this.now, () => userShutdown(t, s.tcp));
    }
    if (me.reading && t.recvBuffer.length > 0) {
      const got = s.at(this.now, () => userReceive(t, s.tcp, 1 << 20));
      for (let i = 0; i < got.length && f.verify; i++) {
        const want = patternByte(peer.seed, me.read + i);
        if (got[i] !== want) throw new Error(`${f.name}: byte ${me.read + i} read by ${me === f.a ? "A" : "B"} is ${got[i]}, the stream has ${want} there`);
      }
      me.read += got.length;
      if (me.read > peer.total && f.verify) throw new Error(`${f.name}: ${me.read} bytes read, only ${peer.total} were written`);
    }
    if (me.reading && t.recvBuffer.length === 0 && t.peerClosed) me.eof = true;
  }

  /** A flow over existing connections `a` (A's) and `b` (B's). */
  flow(name: string, a: Tcb, b: Tcb): Flow {
    const f = new Flow(name, end(this.a, a, this.#seeds++), end(this.b, b, this.#seeds++));
    this.flows.push(f);
    return f;
  }

  /** B connects to A's listener `l` (port `port`); the connection is accepted at once. */
  connectBA(l: Listener, config: Partial<TcpConfig> = {}): { a: Tcb; b: Tcb } {
    const remote = parseIp(l.family === 4 ? IP.a4 : IP.a6);
    const b = this.b.tcpConnect(remote, l.port, 0, this.now, { config });
    let a: Tcb | undefined;
    const ok = this.runUntil(() => {
      const i = l.acceptQueue.findIndex((t) => t.remotePort === b.localPort);
      if (i >= 0) {
        a = l.acceptQueue.splice(i, 1)[0]!;
        a.listener = null;
      }
      return a !== undefined && b.state === "ESTABLISHED";
    }, 10_000);
    if (!ok || a === undefined) throw new Error(`B could not connect to A's port ${l.port} (B ${b.state})`);
    return { a, b };
  }

  /** A connects to B's listener `l`; B accepts at once. */
  connectAB(l: Listener, config: Partial<TcpConfig> = {}): { a: Tcb; b: Tcb } {
    const remote = parseIp(l.family === 4 ? IP.b4 : IP.b6);
    const a = this.a.tcpConnect(remote, l.port, 0, this.now, { config });
    let b: Tcb | undefined;
    const ok = this.runUntil(() => {
      const i = l.acceptQueue.findIndex((t) => t.remotePort === a.localPort);
      if (i >= 0) {
        b = l.acceptQueue.splice(i, 1)[0]!;
        b.listener = null;
      }
      return b !== undefined && a.state === "ESTABLISHED";
    }, 10_000);
    if (!ok || b === undefined) throw new Error(`A could not connect to B's port ${l.port} (A ${a.state})`);
    return { a, b };
  }
}

// ---- snapshots and invariants ----

/** Everything observable about a connection that a segment could change. */
export function tcbSnapshot(t: Tcb): Record<string, unknown> {
  return {
    state: t.state,
    sndUna: t.sndUna,
    sndNxt: t.sndNxt,
    sndMax: t.sndMax,
    sndWnd: t.sndWnd,
    sndWl1: t.sndWl1,
    maxSndWnd: t.maxSndWnd,
    rcvNxt: t.rcvNxt,
    rcvAdv: t.rcvAdv,
    tsRecent: t.tsRecent,
    recv: t.recvBuffer.length,
    send: t.sendBuffer.length,
    islands: t.assembler.count,
    sacked: t.scoreboard.count,
    dupAcks: t.dupAcks,
    inRecovery: t.inRecovery,
    cwnd: t.cc.cwnd,
    error: t.error,
    softError: t.softError,
    peerClosed: t.peerClosed,
    peerFinSeq: t.peerFinSeq,
    rtoAt: t.rtoAt,
    retries: t.retries,
    closeAt: t.closeAt,
  };
}

/** The stack-wide tables and counters a frame could change. */
export function stackSnapshot(s: Stack, tcbs: readonly Tcb[], listeners: readonly Listener[] = []): Record<string, unknown> {
  return {
    connections: s.tcp.connections.size,
    timeWait: s.tcp.timeWaitCount,
    neighbors: s.neighbors.size,
    reassembly4: [s.reassembly4.size, s.reassembly4.bytes],
    reassembly6: [s.reassembly6.size, s.reassembly6.bytes],
    udpDelivered: s.udp.stats.delivered,
    echoReplies: s.control.stats.echoReplies,
    listeners: listeners.map((l) => [l.halfOpen.length, l.acceptQueue.length]),
    gateway6: s.iface.gateway6 === null ? null : formatIp(s.iface.gateway6),
    tcbs: tcbs.map(tcbSnapshot),
  };
}

/** What must hold of any connection at any time; returns the first violation, or null. */
export function tcbProblem(t: Tcb): string | null {
  const timers = [t.rtoAt, t.persistAt, t.delayedAckAt, t.keepAliveAt, t.closeAt];
  if (timers.some((x) => Number.isNaN(x))) return `a timer is NaN (${timers.join(", ")})`;
  if (t.state === "CLOSED") return null;
  if (!seqLe(t.sndUna, t.sndNxt)) return `SND.UNA ${t.sndUna} is past SND.NXT ${t.sndNxt}`;
  if (!seqLe(t.sndNxt, t.sndMax)) return `SND.NXT ${t.sndNxt} is past SND.MAX ${t.sndMax}`;
  if (seqDiff(t.sndMax, t.sndUna) > t.sendBuffer.length + 2) return `${seqDiff(t.sndMax, t.sndUna)} bytes outstanding, ${t.sendBuffer.length} in the send buffer`;
  if (t.recvBuffer.length > t.recvBuffer.capacity) return "receive buffer over capacity";
  if (t.assembler.count > t.config.maxOutOfOrderRanges) return `${t.assembler.count} out-of-order islands`;
  if (t.synchronized && t.state !== "TIME-WAIT") {
    const wnd = seqDiff(t.rcvAdv, t.rcvNxt);
    if (wnd < 0 && t.recvBuffer.free > 0 && !t.readClosed) return `RCV.NXT ${t.rcvNxt} is past the advertised edge ${t.rcvAdv}`;
    if (wnd > t.recvBuffer.capacity) return `the advertised window ${wnd} is larger than the buffer`;
    for (let i = 0; i < t.scoreboard.count; i++) {
      if (!seqLe(t.sndUna, t.scoreboard.left(i)) || !seqLe(t.scoreboard.right(i), t.sndMax)) return `SACK range ${t.scoreboard.left(i)}-${t.scoreboard.right(i)} outside ${t.sndUna}-${t.sndMax}`;
    }
  }
  if (!(t.cc.cwnd >= 1) || !Number.isFinite(t.cc.cwnd)) return `cwnd ${t.cc.cwnd}`;
  if (!(t.rtt.rto > 0) || !Number.isFinite(t.rtt.rto)) return `RTO ${t.rtt.rto}`;
  return null;
}

/** Limits a stack's tables must stay within. */
export interface Bounds {
  connections: number;
  neighbors: number;
}

/** What must hold of a stack at any time; returns the first violation, or null. */
export function stackProblem(s: Stack, tcbs: readonly Tcb[], bounds: Bounds): string | null {
  for (const t of [...tcbs, ...s.tcp.connections]) {
    const p = tcbProblem(t);
    if (p !== null) return `${t.describe(formatIp)} (${t.state}): ${p}`;
  }
  for (const t of s.tcp.connections) if (t.state === "CLOSED" || t.state === "TIME-WAIT") return `a ${t.state} connection is in the live table`;
  if (s.tcp.connections.size > bounds.connections) return `${s.tcp.connections.size} connections (bound ${bounds.connections})`;
  if (s.neighbors.size > bounds.neighbors) return `${s.neighbors.size} neighbor entries (bound ${bounds.neighbors})`;
  for (const r of [s.reassembly4, s.reassembly6]) {
    if (r.size > r.options.maxDatagrams) return `${r.size} datagrams in reassembly`;
    if (r.bytes > r.options.maxBytes || r.bytes < 0) return `${r.bytes} bytes in reassembly`;
  }
  return null;
}

/** Throw with `what` when {@link stackProblem} finds something. */
export function assertSound(s: Stack, tcbs: readonly Tcb[], bounds: Bounds, what: string): void {
  const p = stackProblem(s, tcbs, bounds);
  if (p !== null) throw new Error(`${what}: ${p}`);
}

/** The states a connection of A may be found in, by flow name, once everything finished. */
export type StateSet = readonly TcpState[];

// ---- a scripted peer ----

/**
 * A TCP end played by the test from the silent host C (frames A sends it are
 * taken from {@link Lab.tapA}): it sends a SYN with whatever options it is
 * given, completes the handshake, and then takes A's data in order, byte by
 * byte, answering each segment with an ACK that offers `window` (the field)
 * and echoes timestamps when they were agreed. Enough to play a peer that
 * lies about its MSS or window; not a TCP.
 */
export class RawPeer {
  readonly lab: Lab;
  readonly family: 4 | 6;
  readonly port: number;
  readonly toPort: number;
  /** A's sequence numbers: the next one expected */
  rcvNxt = 0;
  /** ours */
  sndNxt: number;
  tsOk = false;
  tsRecent = 0;
  /** the window field each ACK carries */
  window = 65535;
  readonly received: number[] = [];
  /** A's segments to us, decoded, in arrival order */
  readonly segments: (OutTcp & { options: TcpOption[] })[] = [];
  finReceived = false;

  constructor(lab: Lab, family: 4 | 6, port: number, toPort: number, isn = 1_000_000) {
    this.lab = lab;
    this.family = family;
    this.port = port;
    this.toPort = toPort;
    this.sndNxt = isn;
    lab.tapA ??= [];
  }

  #send(seq: number, flags: number, options: TcpOption[], data?: Uint8Array, ack?: number): Uint8Array[] {
    const src = this.family === 4 ? IP.c4 : IP.c6;
    const frame = tcpFrame({ family: this.family, src, ethSrc: MAC.c, srcPort: this.port, dstPort: this.toPort, seq, ack: ack ?? this.rcvNxt, flags, window: this.window, options, ...(data !== undefined ? { data } : {}) });
    return this.lab.inject(frame, `the raw peer's segment (flags ${flags})`);
  }

  #ts(): TcpOption[] {
    return this.tsOk ? [{ kind: "nop" }, { kind: "nop" }, { kind: "timestamps", tsval: (this.lab.now + 5000) >>> 0, tsecr: this.tsRecent }] : [];
  }

  /** Send our SYN with `options` (and `flags` beside SYN); returns A's SYN-ACK, decoded, or null. */
  syn(options: TcpOption[], flags = 0x02, data?: Uint8Array): (OutTcp & { options: TcpOption[] }) | null {
    this.#send(this.sndNxt, flags, options, data, 0);
    this.sndNxt = (this.sndNxt + 1) >>> 0;
    this.pull();
    const synAck = this.segments.find((s) => (s.flags & 0x12) === 0x12) ?? null;
    if (synAck !== null) {
      this.rcvNxt = (synAck.seq + 1) >>> 0;
      const ts = synAck.options.find((o) => o.kind === "timestamps");
      this.tsOk = ts !== undefined && options.some((o) => o.kind === "timestamps");
      if (ts?.kind === "timestamps") this.tsRecent = ts.tsval;
    }
    return synAck;
  }

  /** The ACK that completes the handshake (or any pure ACK now). */
  ack(): void {
    this.#send(this.sndNxt, 0x10, this.#ts());
  }

  /** Take what A sent us (in order; out-of-order data is left for A to send again), answering data with ACKs. */
  pull(): void {
    const tap = this.lab.tapA!;
    const mine = tap.splice(0, tap.length);
    let answer = false;
    for (const f of mine) {
      const t = readTcp(f);
      if (t === null || t.dstPort !== this.port || t.srcPort !== this.toPort) continue;
      const decoded = decodePacket(f, LINKTYPE.ETHERNET);
      const tcp = decoded.layers.find((l) => l.layer === "tcp") as { options?: TcpOption[] } | undefined;
      const seg = { ...t, options: tcp?.options ?? [] };
      this.segments.push(seg);
      const ts = seg.options.find((o) => o.kind === "timestamps");
      if (ts?.kind === "timestamps" && this.tsOk) this.tsRecent = ts.tsval;
      if ((t.flags & 0x02) !== 0) continue;
      if (t.seq === this.rcvNxt && t.dataLength > 0 && this.window > 0) {
        const x = inspectFrame(f);
        const at = x.l4End - t.dataLength;
        for (let i = 0; i < t.dataLength; i++) this.received.push(f[at + i]!);
        this.rcvNxt = (this.rcvNxt + t.dataLength) >>> 0;
      }
      if ((t.flags & 0x01) !== 0 && ((t.seq + t.dataLength) >>> 0) === this.rcvNxt) {
        this.rcvNxt = (this.rcvNxt + 1) >>> 0;
        this.finReceived = true;
      }
      if (t.dataLength > 0 || (t.flags & 0x01) !== 0) answer = true;
    }
    if (answer) this.ack();
  }

  /** Run the lab `ms` in 1 ms steps, pulling and answering after each. */
  run(ms: number): void {
    for (let i = 0; i < ms; i++) {
      this.lab.run(1);
      this.pull();
    }
  }
}
