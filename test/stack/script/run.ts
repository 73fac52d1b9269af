/**
 * Runs a TCP script (see parse.ts) against the stack's deterministic core:
 * one {@link Stack} on a virtual timeline, the script playing the remote
 * peer (or several, by port). Inbound segments are built by the layers
 * (`encodePacket`), outbound ones decoded by them (`decodePacket`, checksums
 * verified), so the script checks the stack's bytes, not its intentions.
 * Data carries a pattern (the byte at relative sequence number s is
 * `(s - 1) & 0xff`), so reads and retransmissions are checked byte for byte
 * too.
 *
 * A segment the stack sends that the script did not expect, or one it sends
 * at another time (±`tolerance` ms), fails the script with the line and both
 * texts. Frames other than TCP (the stack's own IPv6 neighbor announcements)
 * are not the script's business and are set aside; an ICMP error would be
 * reported as unexpected.
 */
import { parseIp } from "../../../layers/addr.ts";
import { decodePacket } from "../../../layers/decode.ts";
import { encodePacket } from "../../../layers/encode.ts";
import type { Tcp } from "../../../layers/tcp.ts";
import type { TcpOption } from "../../../layers/tcp_options.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, IP_PROTOCOL_ICMPV6, LINKTYPE } from "../../../layers/dispatch.ts";
import { seededRandom } from "../../../src/stack/random.ts";
import { Stack } from "../../../src/stack/stack.ts";
import { DEFAULT_TCP_CONFIG, type TcpConfig } from "../../../src/stack/tcp/config.ts";
import type { Tcb } from "../../../src/stack/tcp/tcb.ts";
import { userAbort, userClose, userReceive, userSend, userShutdown } from "../../../src/stack/tcp/user.ts";
import type { Listener } from "../../../src/stack/tcp_layer.ts";
import { parseScript, type ScriptLine, type ScriptOption, type ScriptSegment } from "./parse.ts";

const ADDRESSES = {
  4: { remote: "192.0.2.1", stack: "192.0.2.2", prefix: 24 },
  6: { remote: "2001:db8::1", stack: "2001:db8::2", prefix: 64 },
} as const;
const REMOTE_MAC = "02:00:00:00:00:01";
const STACK_MAC = "02:00:00:00:00:02";
/** The remote peer's ISN: inbound sequence numbers are relative to it. */
const REMOTE_ISN = 1_000_000;
/** Keys of `%` lines that are the runner's, not the stack's. */
const RUNNER_KEYS = ["tolerance", "remotePort", "localPort", "family", "mtu"];

interface Sent {
  at: number;
  frame: Uint8Array;
}

/** One remote peer (by its port): the stack's ISN and timestamp offset towards it. */
interface Peer {
  isn: number | null;
  tsOffset: number | null;
  /** the stack's last TSval to this peer, as sent */
  lastTsval: number;
}

/** What a finished script leaves, for assertions after it. */
export interface ScriptResult {
  stack: Stack;
  tcb: Tcb | null;
  /** frames the stack sent, all of them */
  sent: number;
}

const FLAG_TEXT = (f: number): string =>
  ["F", "S", "R", "P", ".", "U", "E", "W"].filter((_, i) => (f >> i) & 1).join("") || "none";

/** The stack's TCP configuration from a script's `%` lines: each value typed as the default it replaces. */
function tcpConfigOf(cfg: Record<string, string>): Partial<TcpConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (RUNNER_KEYS.includes(k)) continue;
    if (!(k in DEFAULT_TCP_CONFIG)) throw new Error(`% ${k}: no such TCP setting`);
    const d = (DEFAULT_TCP_CONFIG as unknown as Record<string, unknown>)[k];
    if (typeof d === "boolean") {
      if (!["0", "1", "true", "false"].includes(v)) throw new Error(`% ${k}=${v}: 0 or 1`);
      out[k] = v === "1" || v === "true";
    } else if (typeof d === "number") {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`% ${k}=${v}: not a number`);
      out[k] = n;
    } else {
      out[k] = v;
    }
  }
  return out as Partial<TcpConfig>;
}

/** Run a script; throws an Error naming the line on the first mismatch. */
export function runScript(text: string): ScriptResult {
  const script = parseScript(text);
  const cfg = script.config;
  const tolerance = Number(cfg["tolerance"] ?? 2);
  const defaultRemotePort = Number(cfg["remotePort"] ?? 40000);
  const localPort = Number(cfg["localPort"] ?? 50000);
  const family = Number(cfg["family"] ?? 4) as 4 | 6;
  if (family !== 4 && family !== 6) throw new Error("% family is 4 or 6");
  const addr = ADDRESSES[family];
  const sent: Sent[] = [];
  let sentCount = 0;
  const stack = new Stack({
    mac: STACK_MAC,
    ...(family === 4 ? { ipv4: [`${addr.stack}/${addr.prefix}`] } : { ipv6: [`${addr.stack}/${addr.prefix}`] }),
    ...(cfg["mtu"] !== undefined ? { mtu: Number(cfg["mtu"]) } : {}),
    solicitRouter: false,
    random: seededRandom(7),
    tcp: tcpConfigOf(cfg),
    transmit: (frame) => {
      // The scripts speak TCP: the stack's link chatter (ARP and neighbor-discovery announcements
      // when it comes up) is not theirs to check.
      const type = (frame[12]! << 8) | frame[13]!;
      if (type === ETHERTYPE_ARP || (type === ETHERTYPE_IPV6 && frame[14 + 6] === IP_PROTOCOL_ICMPV6)) return;
      sent.push({ at: stack.now, frame: frame.slice() });
      sentCount++;
    },
  });
  const remote = parseIp(addr.remote);
  stack.neighbors.learn(remote, Uint8Array.from([2, 0, 0, 0, 0, 1]), 0);
  let now = 0;
  const peers = new Map<number, Peer>();
  const peer = (port: number): Peer => {
    let p = peers.get(port);
    if (p === undefined) {
      p = { isn: null, tsOffset: null, lastTsval: 0 };
      peers.set(port, p);
    }
    return p;
  };
  let listener: Listener | null = null;
  let tcb: Tcb | null = null;
  let readPos = 1; // relative sequence number of the next byte to read
  let writePos = 1; // relative sequence number of the next byte written
  const stackPort = localPort;
  let listenPort = localPort;

  const fail = (l: ScriptLine, why: string): never => {
    throw new Error(`line ${l.line} (${(l.at / 1000).toFixed(3)} s: ${l.text}): ${why}`);
  };

  /** The connection to remote port `port`, if the stack has one (for its timestamp offset). */
  const tcbFor = (port: number): Tcb | undefined => {
    for (const t of stack.tcp.connections) if (t.remotePort === port) return t;
    return undefined;
  };

  /** The stack's segment, decoded; null when it is not TCP. */
  const decode = (frame: Uint8Array): { tcp: Tcp; payload: Uint8Array; src: string; dst: string; issues: string[]; ipOk: boolean } | null => {
    const p = decodePacket(frame, LINKTYPE.ETHERNET);
    const ip = p.layers[1];
    const t = p.layers[2];
    if (t?.layer !== "tcp" || (ip?.layer !== "ipv4" && ip?.layer !== "ipv6")) return null;
    const payload = (p.layers[3] as { layer: string; data?: Uint8Array } | undefined)?.data ?? new Uint8Array(0);
    const ipOk = ip.layer === "ipv6" || ip.checksumValid === true;
    return { tcp: t, payload, src: ip.src, dst: ip.dst, issues: p.issues.map((i) => i.reason), ipOk };
  };

  const optionText = (o: TcpOption, p: Peer): string => {
    switch (o.kind) {
      case "mss":
        return `mss ${o.mss}`;
      case "windowScale":
        return `wscale ${o.shift}`;
      case "sackPermitted":
        return "sackOK";
      case "timestamps":
        return `TS val ${p.tsOffset === null ? o.tsval : (o.tsval - p.tsOffset) | 0} ecr ${o.tsecr}`;
      case "sack":
        return `sack ${o.blocks.map((b) => `${(b.left - REMOTE_ISN) >>> 0}:${(b.right - REMOTE_ISN) >>> 0}`).join(" ")}`;
      default:
        return o.kind;
    }
  };

  const describe = (frame: Uint8Array): string => {
    const d = decode(frame);
    if (d === null) {
      const p = decodePacket(frame, LINKTYPE.ETHERNET);
      return `a non-TCP frame (${p.layers.map((x) => x.layer).join(" ")})`;
    }
    const t = d.tcp;
    const p = peer(t.dstPort);
    const seq = p.isn === null ? t.seq : (t.seq - p.isn) >>> 0;
    const len = d.payload.length;
    const ack = (t.flags & 0x10) !== 0 ? ` ack ${(t.ack - REMOTE_ISN) >>> 0}` : "";
    const port = t.dstPort !== defaultRemotePort ? ` port ${t.dstPort}` : "";
    return `${FLAG_TEXT(t.flags)} ${seq}:${seq + len}(${len})${ack} win ${t.window}${port} <${t.options.map((o) => optionText(o, p)).join(",")}>`;
  };

  /** Run the stack's timers up to `t` (inclusive). */
  const runUntil = (t: number): void => {
    for (let guard = 0; guard < 100_000; guard++) {
      const next = stack.poll(now);
      if (next > t) break;
      now = Math.max(now, next);
    }
    now = Math.max(now, t);
    stack.poll(now);
  };

  /** Set aside what is not TCP: the IPv6 neighbor discovery a stack does on its own. */
  const dropNonTcp = (): void => {
    for (let i = 0; i < sent.length; ) {
      const d = decode(sent[i]!.frame);
      const p = d === null ? decodePacket(sent[i]!.frame, LINKTYPE.ETHERNET) : null;
      const icmp6 = p?.layers[2] as { layer: string; type?: number } | undefined;
      if (d === null && icmp6?.layer === "icmpv6" && icmp6.type !== undefined && icmp6.type >= 133 && icmp6.type <= 137) sent.splice(i, 1);
      else i++;
    }
  };

  const noUnexpected = (l: ScriptLine): void => {
    dropNonTcp();
    const s = sent[0];
    if (s !== undefined) fail(l, `the stack sent ${describe(s.frame)} at ${(s.at / 1000).toFixed(3)} s, which the script did not expect before this line`);
  };

  const pattern = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i - 1) & 0xff);

  const checkOut = (l: ScriptLine, want: ScriptSegment): void => {
    dropNonTcp();
    const s = sent.shift();
    if (s === undefined) fail(l, "nothing was sent");
    const got = s!;
    const d = decode(got.frame);
    if (d === null) fail(l, `not a TCP segment: ${describe(got.frame)}`);
    const { tcp: t, payload } = d!;
    const port = want.port ?? defaultRemotePort;
    const p = peer(port);
    if (Math.abs(got.at - l.at) > tolerance) fail(l, `sent at ${(got.at / 1000).toFixed(3)} s, not ${(l.at / 1000).toFixed(3)} s: ${describe(got.frame)}`);
    if (d!.issues.length > 0) fail(l, `the frame has issues: ${d!.issues.join("; ")}`);
    if (!d!.ipOk || t.checksumStatus !== "good") fail(l, "bad checksum in the stack's frame");
    if (d!.src !== addr.stack || d!.dst !== addr.remote) fail(l, `sent from ${d!.src} to ${d!.dst}`);
    if (t.srcPort !== stackPort && t.srcPort !== listenPort) fail(l, `sent from port ${t.srcPort}`);
    if (t.dstPort !== port) fail(l, `sent to port ${t.dstPort}, not ${port}: ${describe(got.frame)}`);
    if ((t.flags & 0x02) !== 0 && p.isn !== t.seq) {
      // A SYN: the stack's ISN towards this peer (a new one after TIME-WAIT gave way to a new SYN)
      p.isn = t.seq;
      p.tsOffset = null;
    }
    if (p.tsOffset === null) {
      const c = tcbFor(port);
      if (c !== undefined) p.tsOffset = c.tsOffset;
    }
    const seq = (t.seq - (p.isn ?? 0)) >>> 0;
    const mismatch: string[] = [];
    if (t.flags !== want.flags) mismatch.push(`flags ${FLAG_TEXT(t.flags)}`);
    if (want.seq !== null && seq !== want.seq) mismatch.push(`seq ${seq}`);
    if (want.length !== null && payload.length !== want.length) mismatch.push(`length ${payload.length}`);
    if ((t.flags & 0x10) !== 0 && want.ack !== null && ((t.ack - REMOTE_ISN) >>> 0) !== want.ack) mismatch.push(`ack ${(t.ack - REMOTE_ISN) >>> 0}`);
    if ((t.flags & 0x10) === 0 && t.ack !== 0) mismatch.push(`an ACK field of ${t.ack} without the ACK flag`);
    if (want.window !== null && t.window !== want.window) mismatch.push(`win ${t.window}`);
    if (t.urgentPointer !== 0) mismatch.push(`urgent pointer ${t.urgentPointer}`);
    if (want.options !== null && !sameOptions(t.options, want.options, p)) mismatch.push(`options <${t.options.map((o) => optionText(o, p)).join(",")}>`);
    if (payload.length > 0) {
      const expect = pattern(seq, payload.length);
      if (!expect.every((b, i) => payload[i] === b)) mismatch.push("data not the bytes written at that sequence number");
    }
    if (mismatch.length > 0) fail(l, `got ${describe(got.frame)}: ${mismatch.join(", ")} differ`);
    for (const o of t.options) if (o.kind === "timestamps") p.lastTsval = o.tsval;
  };

  const sendIn = (seg: ScriptSegment): void => {
    const port = seg.port ?? defaultRemotePort;
    const p = peer(port);
    const base = p.isn ?? 0;
    const options: TcpOption[] = [];
    for (const o of seg.options ?? []) {
      switch (o.kind) {
        case "mss":
          options.push({ kind: "mss", mss: o.value ?? 1460 });
          break;
        case "wscale":
          options.push({ kind: "windowScale", shift: o.value ?? 0 });
          break;
        case "sackOK":
          options.push({ kind: "sackPermitted" });
          break;
        case "nop":
          options.push({ kind: "nop" });
          break;
        case "eol":
          options.push({ kind: "eol" });
          break;
        case "ts": {
          const ecr = o.ecr === null ? p.lastTsval : ((p.tsOffset ?? 0) + o.ecr) >>> 0;
          options.push({ kind: "timestamps", tsval: o.val ?? 0, tsecr: ecr });
          break;
        }
        case "sack":
          options.push({ kind: "sack", blocks: o.blocks.map(([a, b]) => ({ left: (base + a) >>> 0, right: (base + b) >>> 0 })) });
          break;
      }
    }
    const relSeq = seg.seq!;
    const len = seg.length!;
    const ack = seg.ack === null ? 0 : (base + seg.ack) >>> 0;
    const ip = family === 4 ? { layer: "ipv4" as const, src: addr.remote, dst: addr.stack, ttl: 64 } : { layer: "ipv6" as const, src: addr.remote, dst: addr.stack, hopLimit: 64 };
    const frame = encodePacket([
      { layer: "ethernet", src: REMOTE_MAC, dst: STACK_MAC },
      ip,
      { layer: "tcp", srcPort: port, dstPort: listenPort, seq: (REMOTE_ISN + relSeq) >>> 0, ack, flags: seg.flags, window: seg.window ?? 65535, options },
      // a SYN takes the first sequence number: its data starts one later
      { layer: "payload", data: pattern(relSeq + ((seg.flags & 0x02) !== 0 ? 1 : 0), len) },
    ]);
    stack.input(frame, 0, frame.length, now);
  };

  const call = (l: ScriptLine, name: string, args: string[]): void => {
    const need = (): Tcb => {
      if (tcb === null) fail(l, "no connection yet (connect, accept or use first)");
      return tcb!;
    };
    switch (name) {
      case "listen":
        listenPort = Number(args[0]);
        listener = stack.tcpListen(family, listenPort, Number(args[1] ?? 128), now);
        return;
      case "connect": {
        // `connect PORT`: the remote's port; ours is `localPort`.
        const port = Number(args[0] ?? defaultRemotePort);
        tcb = stack.tcpConnect(remote, port, localPort, now);
        return;
      }
      case "accept": {
        if (listener === null) fail(l, "accept without listen");
        const next = listener!.acceptQueue.shift();
        if (args[0] === "=" && args[1] === "EAGAIN") {
          if (next !== undefined) fail(l, "a connection was ready");
          return;
        }
        if (next === undefined) fail(l, `nothing to accept (${listener!.halfOpen.length} half-open)`);
        next!.listener = null;
        tcb = next!;
        return;
      }
      case "use": {
        const t = tcbFor(Number(args[0]));
        if (t === undefined) fail(l, `no connection with remote port ${args[0]}`);
        tcb = t!;
        return;
      }
      case "write": {
        const t = need();
        const text = args[0]!;
        const n = text.startsWith('"') ? text.length - 2 : Number(text);
        const data = pattern(writePos, n);
        const accepted = stack.at(now, () => userSend(t, stack.tcp, data));
        const want = args[1] === "=" ? Number(args[2]) : n;
        if (accepted !== want) fail(l, `write took ${accepted} bytes, not ${want}`);
        writePos += accepted;
        return;
      }
      case "read": {
        const t = need();
        if (args[0] === "EOF") {
          if (t.recvBuffer.length > 0) fail(l, `${t.recvBuffer.length} bytes are readable, not end of stream`);
          if (!t.peerClosed) fail(l, "the peer has not closed");
          return;
        }
        const n = Number(args[0]);
        const want = args[1] === "=" ? Number(args[2]) : n;
        const got = stack.at(now, () => userReceive(t, stack.tcp, n));
        if (got.length !== want) fail(l, `read ${got.length} bytes, not ${want}`);
        const expect = pattern(readPos, got.length);
        if (!expect.every((b, i) => got[i] === b)) fail(l, "the bytes read are not the bytes sent, in order");
        readPos += got.length;
        return;
      }
      case "shutdown":
        stack.at(now, () => userShutdown(need(), stack.tcp));
        return;
      case "close":
        stack.at(now, () => userClose(need(), stack.tcp));
        return;
      case "abort":
        stack.at(now, () => userAbort(need(), stack.tcp));
        return;
      case "state":
        if (need().state !== args[0]) fail(l, `state is ${need().state}`);
        return;
      case "error": {
        const e = need().error ?? "none";
        if (e !== args[0]) fail(l, `error is ${e}`);
        return;
      }
      case "assert": {
        const [field, op, value] = args;
        if (field === undefined || op === undefined || value === undefined) fail(l, "assert FIELD OP VALUE");
        const v = fieldValue(field!, listener, stack, now, peers, defaultRemotePort, () => need());
        const w = value === "true" ? true : value === "false" ? false : Number(value);
        const ok = op === "==" ? v === w : op === "!=" ? v !== w : op === ">=" ? Number(v) >= Number(w) : op === "<=" ? Number(v) <= Number(w) : op === ">" ? Number(v) > Number(w) : op === "<" ? Number(v) < Number(w) : fail(l, `unknown operator ${op}`);
        if (!ok) fail(l, `${field} is ${String(v)}`);
        return;
      }
      case "nothing":
        return;
      default:
        fail(l, `unknown call "${name}"`);
    }
  };

  for (const l of script.lines) {
    runUntil(l.at);
    const e = l.event;
    if (e.kind === "out") {
      checkOut(l, e.segment);
      continue;
    }
    noUnexpected(l);
    if (e.kind === "in") sendIn(e.segment);
    else call(l, e.name, e.args);
  }
  const last = script.lines[script.lines.length - 1];
  if (last !== undefined) noUnexpected(last);
  return { stack, tcb, sent: sentCount };
}

/**
 * The fields `assert` reads. Sequence numbers are relative as in segments:
 * `sndUna`, `sndNxt`, `sndMax` to the stack's ISN, `rcvNxt` to the remote's.
 * Times: `rtoIn`, `persistIn`, `delackIn`, `closeIn`, `keepAliveIn` (ms
 * from now until the timer fires; -1 when it is off).
 */
function fieldValue(
  field: string,
  l: Listener | null,
  stack: Stack,
  now: number,
  peers: Map<number, Peer>,
  port: number,
  need: () => Tcb,
): unknown {
  const until = (at: number): number => (at === Number.POSITIVE_INFINITY ? -1 : at - now);
  switch (field) {
    case "acceptQueue":
      return l?.acceptQueue.length ?? 0;
    case "halfOpen":
      return l?.halfOpen.length ?? 0;
    case "droppedFull":
      return l?.stats.droppedFull ?? 0;
    case "evicted":
      return l?.stats.evicted ?? 0;
    case "connections":
      return stack.tcp.connections.size;
    case "resetsSent":
      return stack.tcp.stats.resetsSent;
    default:
  }
  const t = need();
  const isn = peers.get(t.remotePort)?.isn ?? peers.get(port)?.isn ?? 0;
  switch (field) {
    case "cwnd":
      return t.cc.cwnd;
    case "ssthresh":
      return t.cc.ssthresh;
    case "rto":
      return Math.round(t.rtt.rto);
    case "srtt":
      return t.rtt.srtt;
    case "rttvar":
      return t.rtt.rttvar;
    case "backoff":
      return t.rtt.backoff;
    case "sndWnd":
      return t.sndWnd;
    case "rcvWnd":
      return Math.max(0, (t.rcvAdv - t.rcvNxt) | 0);
    case "mss":
      return t.sndMss;
    case "ourMss":
      return t.ourMss;
    case "sndScale":
      return t.sndScale;
    case "rcvScale":
      return t.rcvScale;
    case "sackOk":
      return t.sackOk;
    case "tsOk":
      return t.tsOk;
    case "tsRecent":
      return t.tsRecent;
    case "dupAcks":
      return t.dupAcks;
    case "inRecovery":
      return t.inRecovery;
    case "retries":
      return t.retries;
    case "persistBackoff":
      return t.persistBackoff;
    case "invalidAcksSkipped":
      return t.invalidAcksSkipped;
    case "flight":
      return t.flight;
    case "readable":
      return t.recvBuffer.length;
    case "unsent":
      return t.unsent;
    case "sndUna":
      return (t.sndUna - isn) >>> 0;
    case "sndNxt":
      return (t.sndNxt - isn) >>> 0;
    case "sndMax":
      return (t.sndMax - isn) >>> 0;
    case "rcvNxt":
      return (t.rcvNxt - REMOTE_ISN) >>> 0;
    case "rtoIn":
      return until(t.rtoAt);
    case "persistIn":
      return until(t.persistAt);
    case "delackIn":
      return until(t.delayedAckAt);
    case "closeIn":
      return until(t.closeAt);
    case "keepAliveIn":
      return until(t.keepAliveAt);
    default:
      throw new Error(`unknown field ${field}`);
  }
}

function sameOptions(got: TcpOption[], want: ScriptOption[], p: Peer): boolean {
  if (got.length !== want.length) return false;
  const sackBase = p.isn ?? 0;
  return want.every((w, i) => {
    const g = got[i]!;
    switch (w.kind) {
      case "mss":
        return g.kind === "mss" && (w.value === null || g.mss === w.value);
      case "wscale":
        return g.kind === "windowScale" && (w.value === null || g.shift === w.value);
      case "sackOK":
        return g.kind === "sackPermitted";
      case "nop":
        return g.kind === "nop";
      case "eol":
        return g.kind === "eol";
      case "ts":
        return (
          g.kind === "timestamps" &&
          (w.val === null || ((g.tsval - (p.tsOffset ?? 0)) >>> 0) === w.val >>> 0) &&
          (w.ecr === null || g.tsecr === w.ecr)
        );
      case "sack":
        return (
          g.kind === "sack" &&
          g.blocks.length === w.blocks.length &&
          w.blocks.every(([a, b], k) => g.blocks[k]!.left === (REMOTE_ISN + a) >>> 0 && g.blocks[k]!.right === (REMOTE_ISN + b) >>> 0)
        );
    }
  });
}
