/**
 * Runs a TCP script (see parse.ts) against the stack's deterministic core:
 * one {@link Stack} on a virtual timeline, the script playing the remote
 * peer. Inbound segments are built by the layers (`encodePacket`), outbound
 * ones decoded by them (`decodePacket`, checksums verified), so the script
 * checks the stack's bytes, not its intentions. Data carries a pattern (the
 * byte at relative sequence number s is `(s - 1) & 0xff`), so reads and
 * retransmissions are checked byte for byte too.
 *
 * A segment the stack sends that the script did not expect, or one it sends
 * at another time (±`tolerance` ms), fails the script with the line and both
 * texts.
 */
import { parseIp } from "../../../layers/addr.ts";
import { decodePacket } from "../../../layers/decode.ts";
import { LINKTYPE } from "../../../layers/dispatch.ts";
import { encodePacket } from "../../../layers/encode.ts";
import type { Ipv4 } from "../../../layers/ipv4.ts";
import type { Tcp } from "../../../layers/tcp.ts";
import type { TcpOption } from "../../../layers/tcp_options.ts";
import { seededRandom } from "../../../src/stack/random.ts";
import { Stack } from "../../../src/stack/stack.ts";
import type { TcpConfig } from "../../../src/stack/tcp/config.ts";
import type { Tcb } from "../../../src/stack/tcp/tcb.ts";
import { userAbort, userClose, userReceive, userSend, userShutdown } from "../../../src/stack/tcp/user.ts";
import type { Listener } from "../../../src/stack/tcp_layer.ts";
import { parseScript, type ScriptLine, type ScriptOption, type ScriptSegment } from "./parse.ts";

const REMOTE_IP = "192.0.2.1";
const STACK_IP = "192.0.2.2";
const REMOTE_MAC = "02:00:00:00:00:01";
const STACK_MAC = "02:00:00:00:00:02";
/** The remote peer's ISN: inbound sequence numbers are relative to it. */
const REMOTE_ISN = 1_000_000;

interface Sent {
  at: number;
  frame: Uint8Array;
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

/** Run a script; throws an Error naming the line on the first mismatch. */
export function runScript(text: string): ScriptResult {
  const script = parseScript(text);
  const cfg = script.config;
  const tolerance = Number(cfg["tolerance"] ?? 2);
  const remotePort = Number(cfg["remotePort"] ?? 40000);
  const localPort = Number(cfg["localPort"] ?? 50000);
  const tcp: Partial<TcpConfig> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (["tolerance", "remotePort", "localPort"].includes(k)) continue;
    (tcp as Record<string, unknown>)[k] = v === "true" || v === "1" ? (typeof (DEFAULTS as Record<string, unknown>)[k] === "boolean" ? true : Number(v)) : v === "false" || v === "0" ? (typeof (DEFAULTS as Record<string, unknown>)[k] === "boolean" ? false : 0) : /^\d+$/.test(v) ? Number(v) : v;
  }
  const sent: Sent[] = [];
  let sentCount = 0;
  const stack = new Stack({
    mac: STACK_MAC,
    ipv4: [`${STACK_IP}/24`],
    random: seededRandom(7),
    tcp,
    transmit: (frame) => {
      sent.push({ at: stack.now, frame: frame.slice() });
      sentCount++;
    },
  });
  const remote = parseIp(REMOTE_IP);
  stack.neighbors.learn(remote, Uint8Array.from([2, 0, 0, 0, 0, 1]), 0);
  let now = 0;
  let stackIsn: number | null = null;
  let lastTsval = 0;
  let listener: Listener | null = null;
  let tcb: Tcb | null = null;
  let readPos = 1; // relative sequence number of the next byte to read
  let writePos = 1; // relative sequence number of the next byte written
  let stackPort = localPort;

  const fail = (l: ScriptLine, why: string): never => {
    throw new Error(`line ${l.line} (${(l.at / 1000).toFixed(3)} s: ${l.text}): ${why}`);
  };

  const describe = (frame: Uint8Array): string => {
    const p = decodePacket(frame, LINKTYPE.ETHERNET);
    const t = p.layers.find((x) => x.layer === "tcp") as Tcp | undefined;
    if (t === undefined) return `non-TCP frame (${p.layers.map((x) => x.layer).join(" ")})`;
    const rel = (n: number, base: number | null): number => (base === null ? n : (n - base) >>> 0);
    const len = (p.layers.find((x) => x.layer === "payload") as { data?: Uint8Array } | undefined)?.data?.length ?? 0;
    const seq = rel(t.seq, stackIsn);
    return `${FLAG_TEXT(t.flags)} ${seq}:${seq + len}(${len}) ack ${rel(t.ack, REMOTE_ISN)} win ${t.window} <${t.options.map(optionText).join(",")}>`;
  };

  const optionText = (o: TcpOption): string => {
    switch (o.kind) {
      case "mss":
        return `mss ${o.mss}`;
      case "windowScale":
        return `wscale ${o.shift}`;
      case "sackPermitted":
        return "sackOK";
      case "timestamps":
        return `TS val ${o.tsval} ecr ${o.tsecr}`;
      case "sack":
        return `sack ${o.blocks.map((b) => `${(b.left - REMOTE_ISN) >>> 0}:${(b.right - REMOTE_ISN) >>> 0}`).join(" ")}`;
      default:
        return o.kind;
    }
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

  const noUnexpected = (l: ScriptLine): void => {
    const s = sent[0];
    if (s !== undefined) fail(l, `the stack sent ${describe(s.frame)} at ${(s.at / 1000).toFixed(3)} s, which the script did not expect before this line`);
  };

  const pattern = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i - 1) & 0xff);

  const checkOut = (l: ScriptLine, want: ScriptSegment): void => {
    const s = sent.shift();
    if (s === undefined) fail(l, "nothing was sent");
    const got = s!;
    if (Math.abs(got.at - l.at) > tolerance) fail(l, `sent at ${(got.at / 1000).toFixed(3)} s, not ${(l.at / 1000).toFixed(3)} s: ${describe(got.frame)}`);
    const p = decodePacket(got.frame, LINKTYPE.ETHERNET);
    if (p.issues.length > 0) fail(l, `the frame has issues: ${p.issues.map((i) => i.reason).join("; ")}`);
    const ip = p.layers[1] as Ipv4 | undefined;
    const t = p.layers[2] as Tcp | undefined;
    if (ip?.layer !== "ipv4" || t?.layer !== "tcp") fail(l, `not a TCP/IPv4 frame: ${describe(got.frame)}`);
    if (ip!.checksumValid !== true || t!.checksumStatus !== "good") fail(l, "bad checksum in the stack's frame");
    const tcpv = t!;
    if ((tcpv.flags & 0x02) !== 0 && stackIsn === null) stackIsn = tcpv.seq;
    const seq = (tcpv.seq - (stackIsn ?? 0)) >>> 0;
    const payload = (p.layers[3] as { layer: string; data?: Uint8Array } | undefined)?.data ?? new Uint8Array(0);
    const mismatch: string[] = [];
    if (tcpv.flags !== want.flags) mismatch.push(`flags ${FLAG_TEXT(tcpv.flags)}`);
    if (want.seq !== null && seq !== want.seq) mismatch.push(`seq ${seq}`);
    if (want.length !== null && payload.length !== want.length) mismatch.push(`length ${payload.length}`);
    if (want.ack !== null && ((tcpv.ack - REMOTE_ISN) >>> 0) !== want.ack) mismatch.push(`ack ${(tcpv.ack - REMOTE_ISN) >>> 0}`);
    if (want.ack === null && (want.flags & 0x10) === 0 && (tcpv.flags & 0x10) !== 0) mismatch.push("an ACK");
    if (want.window !== null && tcpv.window !== want.window) mismatch.push(`win ${tcpv.window}`);
    if (want.options !== null && !sameOptions(tcpv.options, want.options, (n) => n + REMOTE_ISN)) mismatch.push(`options <${tcpv.options.map(optionText).join(",")}>`);
    if (payload.length > 0) {
      const expect = pattern(seq, payload.length);
      if (!expect.every((b, i) => payload[i] === b)) mismatch.push("data not the bytes written at that sequence number");
    }
    if (mismatch.length > 0) fail(l, `got ${describe(got.frame)}: ${mismatch.join(", ")} differ`);
    for (const o of tcpv.options) if (o.kind === "timestamps") lastTsval = o.tsval;
  };

  const sendIn = (l: ScriptLine, seg: ScriptSegment): void => {
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
        case "ts":
          options.push({ kind: "timestamps", tsval: o.val ?? 0, tsecr: o.ecr ?? lastTsval });
          break;
        case "sack":
          options.push({ kind: "sack", blocks: o.blocks.map(([a, b]) => ({ left: ((stackIsn ?? 0) + a) >>> 0, right: ((stackIsn ?? 0) + b) >>> 0 })) });
          break;
      }
    }
    if (seg.seq === null || seg.length === null) fail(l, "an inbound segment needs its seq and length");
    const relSeq = seg.seq!;
    const len = seg.length!;
    const ack = seg.ack === null ? 0 : ((stackIsn ?? 0) + seg.ack) >>> 0;
    const frame = encodePacket([
      { layer: "ethernet", src: REMOTE_MAC, dst: STACK_MAC },
      { layer: "ipv4", src: REMOTE_IP, dst: STACK_IP, ttl: 64 },
      { layer: "tcp", srcPort: remotePort, dstPort: stackPort, seq: (REMOTE_ISN + relSeq) >>> 0, ack, flags: seg.flags, window: seg.window ?? 65535, options },
      { layer: "payload", data: pattern(relSeq, len) },
    ]);
    stack.input(frame, 0, frame.length, now);
  };

  const call = (l: ScriptLine, name: string, args: string[]): void => {
    const need = (): Tcb => {
      if (tcb === null) fail(l, "no connection yet (connect or accept first)");
      return tcb!;
    };
    switch (name) {
      case "listen":
        stackPort = Number(args[0]);
        listener = stack.tcpListen(4, stackPort, Number(args[1] ?? 128), now);
        return;
      case "connect": {
        // `connect PORT`: the remote's port; ours is `localPort`.
        const port = Number(args[0] ?? remotePort);
        if (port !== remotePort) fail(l, `connect to the remote port ${remotePort} (set % remotePort=...)`);
        tcb = stack.tcpConnect(remote, remotePort, stackPort, now);
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
        const got = stack.at(now, () => userReceive(t, stack.tcp, n));
        if (got.length !== n) fail(l, `read ${got.length} bytes, not ${n}`);
        const expect = pattern(readPos, n);
        if (!expect.every((b, i) => got[i] === b)) fail(l, "the bytes read are not the bytes sent, in order");
        readPos += n;
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
        const v = fieldValue(need(), listener, field!);
        const w = value === "true" ? true : value === "false" ? false : Number(value);
        const ok = op === "==" ? v === w : op === ">=" ? Number(v) >= Number(w) : op === "<=" ? Number(v) <= Number(w) : op === ">" ? Number(v) > Number(w) : op === "<" ? Number(v) < Number(w) : false;
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
    if (e.kind === "in") sendIn(l, e.segment);
    else call(l, e.name, e.args);
  }
  const last = script.lines[script.lines.length - 1];
  if (last !== undefined) noUnexpected(last);
  return { stack, tcb, sent: sentCount };
}

const DEFAULTS: Partial<TcpConfig> = { noDelay: false, windowScaling: true, timestamps: true, sack: true, keepAlive: false };

function fieldValue(t: Tcb, l: Listener | null, field: string): unknown {
  switch (field) {
    case "cwnd":
      return t.cc.cwnd;
    case "ssthresh":
      return t.cc.ssthresh;
    case "rto":
      return Math.round(t.rtt.rto);
    case "srtt":
      return t.rtt.srtt;
    case "sndWnd":
      return t.sndWnd;
    case "mss":
      return t.sndMss;
    case "sndScale":
      return t.sndScale;
    case "rcvScale":
      return t.rcvScale;
    case "sackOk":
      return t.sackOk;
    case "tsOk":
      return t.tsOk;
    case "dupAcks":
      return t.dupAcks;
    case "inRecovery":
      return t.inRecovery;
    case "retries":
      return t.retries;
    case "flight":
      return t.flight;
    case "readable":
      return t.recvBuffer.length;
    case "unsent":
      return t.unsent;
    case "acceptQueue":
      return l?.acceptQueue.length ?? 0;
    case "halfOpen":
      return l?.halfOpen.length ?? 0;
    default:
      throw new Error(`unknown field ${field}`);
  }
}

function sameOptions(got: TcpOption[], want: ScriptOption[], sackBase: (n: number) => number): boolean {
  if (got.length !== want.length) return false;
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
        return g.kind === "timestamps" && (w.val === null || g.tsval === w.val) && (w.ecr === null || g.tsecr === w.ecr);
      case "sack":
        return (
          g.kind === "sack" &&
          g.blocks.length === w.blocks.length &&
          w.blocks.every(([a, b], k) => g.blocks[k]!.left === sackBase(a) >>> 0 && g.blocks[k]!.right === sackBase(b) >>> 0)
        );
    }
  });
}
