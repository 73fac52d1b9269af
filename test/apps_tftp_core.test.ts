/**
 * The TFTP engine's core (src/apps/tftp/transfer.ts, server.ts, options.ts,
 * netascii.ts) driven packet by packet on a made-up clock: a client and a
 * server over a wire of the test's own with 1 ms each way and a loss pattern
 * chosen per packet, so each run is exact and the expected packets and times
 * are worked out by hand below. No sockets, no files (memory sources and
 * sinks); the real network is test/apps_tftp_lab.test.ts's.
 */
import { describe, expect, it } from "vitest";
import { NetasciiDecoder, netasciiLength, toNetascii } from "../src/apps/tftp/netascii.ts";
import { acceptOack, serverOptions } from "../src/apps/tftp/options.ts";
import { ackPacket, decodePacket, readHeader, TFTP_ERR, TftpError, TftpTimeout, unwrapBlock } from "../src/apps/tftp/packet.ts";
import { checkName, takeRequest, type ServerConfig, type ServerFiles } from "../src/apps/tftp/server.ts";
import { TftpTransfer, type BlockSource, type ClientTransfer, type Peer, type TransferResult } from "../src/apps/tftp/transfer.ts";

const CLIENT: Peer = { address: "10.0.0.2", port: 40000 };
const SERVER69: Peer = { address: "10.0.0.1", port: 69 };
const SERVER_TID = 50000;

/** Bytes that are not all one value (a misplaced block shows). */
function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function memorySource(data: Uint8Array): BlockSource {
  let at = 0;
  return {
    read(into) {
      const n = Math.min(into.length, data.length - at);
      into.set(data.subarray(at, at + n));
      at += n;
      return n;
    },
  };
}

class MemorySink {
  parts: Uint8Array[] = [];
  ended = false;
  write(b: Uint8Array): void {
    this.parts.push(b.slice());
  }
  end(): void {
    this.ended = true;
  }
  get bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** A server's files in memory. */
function memoryFiles(files: Record<string, Uint8Array>, written: Record<string, Uint8Array> = {}): ServerFiles {
  return {
    openRead(name) {
      const f = files[name];
      if (f === undefined) throw new TftpError(TFTP_ERR.fileNotFound, "File not found", false);
      return { source: memorySource(f), size: f.length, close() {} };
    },
    openWrite(name) {
      const sink = new MemorySink();
      return { sink, commit: () => void (written[name] = sink.bytes), discard() {} };
    },
  };
}

/** A short name for a packet: `RRQ f`, `DATA 3 (512)`, `ACK 3`, `OACK blksize=8`, `ERROR 5`. */
function describe_(p: Uint8Array): string {
  const { opcode, block } = readHeader(p);
  if (opcode === 3) return `DATA ${block} (${p.length - 4})`;
  if (opcode === 4) return `ACK ${block}`;
  const d = decodePacket(p).tftp!;
  if (opcode === 5) return `ERROR ${d.errorCode}`;
  const o = (d.options ?? []).map((x) => `${x.name}=${x.value}`).join(" ");
  if (opcode === 6) return `OACK ${o}`;
  return `${d.opcodeName} ${d.filename} ${d.mode}${o === "" ? "" : ` ${o}`}`;
}

interface Run {
  client: TftpTransfer;
  server: TftpTransfer | null;
  /** `time side>side packet [lost]` for every packet put on the wire */
  log: string[];
  clientResult: TransferResult;
  serverResult: TransferResult | null;
  /** wire block numbers of the DATA packets the server sent, in order */
  dataBlocks: number[];
}

/**
 * Run `client` against a server built by `takeRequest` with `config`, 1 ms
 * each way, `lose(n, text)` deciding whether the n-th packet on the wire
 * (from 0) is lost. Packets that arrive at a time are delivered before the
 * timers due then. A repeated request from the client's port while the
 * transfer runs is ignored, as the driver's server does.
 */
function run(makeClient: (send: (p: Uint8Array, to: Peer) => void) => TftpTransfer, config: ServerConfig, lose: (n: number, text: string) => boolean = () => false, logData = true): Run {
  let now = 0;
  let n = 0;
  const log: string[] = [];
  const dataBlocks: number[] = [];
  const queue: { at: number; to: "server" | "client"; p: Uint8Array; from: Peer; toPort: number }[] = [];
  let server: TftpTransfer | null = null;
  let serverResult: TransferResult | null = null;
  const put = (side: "c>s" | "s>c", p: Uint8Array, from: Peer, to: Peer): void => {
    const text = describe_(p);
    const lost = lose(n++, text);
    if (side === "s>c" && p[1] === 3) dataBlocks.push(readHeader(p).block);
    if (logData || !(p[1] === 3 || p[1] === 4) || lost) log.push(`${now} ${side} ${to.port === 69 ? "69" : ""}${text}${lost ? " lost" : ""}`);
    if (!lost) queue.push({ at: now + 1, to: side === "c>s" ? "server" : "client", p: p.slice(), from, toPort: to.port });
  };
  const client = makeClient((p, to) => put("c>s", p, CLIENT, to));
  client.start(0);
  for (let guard = 0; guard < 5_000_000; guard++) {
    if (client.closed && (server === null || server.closed) && queue.length === 0) break;
    const nextArrival = queue[0]?.at ?? Infinity;
    const nextTimer = Math.min(client.deadline, server?.deadline ?? Infinity);
    if (nextArrival === Infinity && nextTimer === Infinity) break;
    if (nextArrival <= nextTimer) {
      const m = queue.shift()!;
      now = m.at;
      if (m.to === "client") client.input(m.p, m.from, now);
      else if (m.toPort === 69) {
        if (server !== null) continue;
        const r = takeRequest(m.p, m.from, config, (p, to) => put("s>c", p, { address: SERVER69.address, port: SERVER_TID }, to), undefined, (res) => (serverResult = res));
        if ("error" in r) put("s>c", r.error, { address: SERVER69.address, port: SERVER_TID }, m.from);
        else {
          server = r.transfer;
          server.start(now);
        }
      } else server?.input(m.p, m.from, now);
    } else {
      now = nextTimer;
      client.poll(now);
      server?.poll(now);
    }
  }
  return { client, server, log, clientResult: client.result!, serverResult, dataBlocks };
}

const get = (filename: string, extra: Partial<ClientTransfer> = {}, sink = new MemorySink()) => (send: (p: Uint8Array, to: Peer) => void) =>
  TftpTransfer.clientGet({ server: SERVER69, filename, sink, send, ...extra });

describe("TFTP core: a get, packet by packet", () => {
  it("600 bytes with no options: RRQ, DATA 1 (512), ACK 1, DATA 2 (88), ACK 2; the last ACK's side dallies one timeout", () => {
    const sink = new MemorySink();
    const data = pattern(600);
    const r = run(get("f", {}, sink), { files: memoryFiles({ f: data }) });
    expect(r.log).toEqual(["0 c>s 69RRQ f octet", "1 s>c DATA 1 (512)", "2 c>s ACK 1", "3 s>c DATA 2 (88)", "4 c>s ACK 2"]);
    expect(sink.bytes).toEqual(data);
    expect(sink.ended).toBe(true);
    expect(r.clientResult).toMatchObject({ ok: true, bytes: 600, startedAt: 0, endedAt: 4 });
    expect(r.serverResult).toMatchObject({ ok: true, bytes: 600, endedAt: 5 });
    // RFC 1350 §6: the side that sent the last ACK stays to answer a repeated last DATA.
    expect(r.client.closed).toBe(true);
  });

  it("0, 511, 512 and 513 bytes: a file that fills its last block ends with an empty DATA", () => {
    const blocks = (size: number): string[] => {
      const r = run(get("f"), { files: memoryFiles({ f: pattern(size) }) });
      expect(r.clientResult.ok).toBe(true);
      return r.log.filter((l) => l.includes("DATA")).map((l) => l.replace(/^\d+ s>c /, ""));
    };
    expect(blocks(0)).toEqual(["DATA 1 (0)"]);
    expect(blocks(511)).toEqual(["DATA 1 (511)"]);
    expect(blocks(512)).toEqual(["DATA 1 (512)", "DATA 2 (0)"]);
    expect(blocks(513)).toEqual(["DATA 1 (512)", "DATA 2 (1)"]);
  });

  it("a lost DATA 1: the request is sent again at 1000 (ignored: the transfer runs), the server resends DATA 1 at its timeout", () => {
    const sink = new MemorySink();
    const data = pattern(600);
    const r = run(get("f", {}, sink), { files: memoryFiles({ f: data }) }, (n) => n === 1);
    expect(r.log).toEqual([
      "0 c>s 69RRQ f octet",
      "1 s>c DATA 1 (512) lost",
      "1000 c>s 69RRQ f octet",
      "1001 s>c DATA 1 (512)",
      "1002 c>s ACK 1",
      "1003 s>c DATA 2 (88)",
      "1004 c>s ACK 2",
    ]);
    expect(sink.bytes).toEqual(data);
    expect(r.serverResult).toMatchObject({ ok: true, stats: { retransmits: 1, timeouts: 1 } });
  });

  it("a lost ACK: the server's timeout resends the DATA, the duplicate is answered with the ACK again; the receiver's own timer (twice as long) never fires", () => {
    const sink = new MemorySink();
    const data = pattern(1100);
    // packets: 0 RRQ, 1 DATA 1, 2 ACK 1, 3 DATA 2, 4 ACK 2 (lost)
    const r = run(get("f", {}, sink), { files: memoryFiles({ f: data }) }, (n) => n === 4);
    expect(r.log).toEqual([
      "0 c>s 69RRQ f octet",
      "1 s>c DATA 1 (512)",
      "2 c>s ACK 1",
      "3 s>c DATA 2 (512)",
      "4 c>s ACK 2 lost",
      // the server's timer was armed when it sent DATA 2 at 3; the client's when it sent ACK 2 at 4
      "1003 s>c DATA 2 (512)",
      "1004 c>s ACK 2", // the duplicate DATA 2 (arrived 1004) is answered with the ACK it had sent
      "1005 s>c DATA 3 (76)",
      "1006 c>s ACK 3",
    ]);
    expect(sink.bytes).toEqual(data);
    expect(r.clientResult).toMatchObject({ ok: true, stats: { duplicates: 1, timeouts: 0 } });
    expect(r.serverResult).toMatchObject({ ok: true, stats: { duplicates: 0, timeouts: 1, retransmits: 1 } });
  });

  it("the same loss pattern replays the same packets at the same times", () => {
    const lose = (n: number): boolean => n % 7 === 3 || n % 11 === 5;
    const a = run(get("f", { options: { blksize: 100 } }), { files: memoryFiles({ f: pattern(5000) }) }, lose);
    const b = run(get("f", { options: { blksize: 100 } }), { files: memoryFiles({ f: pattern(5000) }) }, lose);
    expect(a.clientResult.ok).toBe(true);
    expect(a.log.length).toBeGreaterThan(100);
    expect(a.log).toEqual(b.log);
  });

  it("20% loss both ways, by a seeded pattern: the file arrives whole", () => {
    let x = 12345;
    const lose = (): boolean => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16) % 100 < 20;
    const sink = new MemorySink();
    const data = pattern(20_000, 3);
    const r = run(get("f", { options: { blksize: 256 }, maxRetries: 30 }, sink), { files: memoryFiles({ f: data }), maxRetries: 30 }, lose, false);
    expect(r.clientResult.ok).toBe(true);
    expect(sink.bytes).toEqual(data);
    expect(r.log.filter((l) => l.endsWith("lost")).length).toBeGreaterThan(20);
  });
});

describe("TFTP core: the sender never answers a duplicate ACK with DATA (Sorcerer's Apprentice)", () => {
  it("a late ACK after a timeout, then the ACK of the repeated DATA: one DATA 2, not two", () => {
    const sent: string[] = [];
    const t = TftpTransfer.serverRead({
      client: CLIENT,
      mode: "octet",
      agreed: { blksize: 512, windowsize: 1, timeoutMs: 1000, tsize: null, options: [] },
      source: memorySource(pattern(2000)),
      oack: null,
      send: (p) => sent.push(describe_(p)),
    });
    t.start(0);
    expect(sent).toEqual(["DATA 1 (512)"]);
    t.poll(1000); // no ACK yet: timeout
    expect(sent).toEqual(["DATA 1 (512)", "DATA 1 (512)"]);
    t.input(ackPacket(1), CLIENT, 1001); // the first ACK 1, late
    expect(sent.slice(2)).toEqual(["DATA 2 (512)"]);
    t.input(ackPacket(1), CLIENT, 1002); // the ACK for the repeated DATA 1
    expect(sent.slice(3)).toEqual([]); // the bug would send DATA 2 again here, and every block after twice
    t.input(ackPacket(0), CLIENT, 1003); // older still: ignored too
    expect(sent.length).toBe(3);
    expect(t.stats.duplicates).toBe(2);
    t.input(ackPacket(2), CLIENT, 1004);
    expect(sent.slice(3)).toEqual(["DATA 3 (512)"]);
  });
});

describe("TFTP core: hostile input", () => {
  it("garbage on port 69 gets ERROR 4 (or 2 for a bad name), never a throw", () => {
    const files = memoryFiles({ f: pattern(10) });
    const enc = (t: string): number[] => [...new TextEncoder().encode(t)];
    const cases: [number[], number][] = [
      [[], 4],
      [[0], 4],
      [[0, 3, 0, 1], 4], // DATA to port 69
      [[0, 1, ...enc("f")], 4], // no zero after the name
      [[0, 1, ...enc("f\0octet")], 4], // no zero after the mode
      [[0, 1, ...enc("f\0mail\0")], 4],
      [[0, 1, ...enc("f\0octet\0blksize\0")], 4], // an option without its value's zero: malformed
      [[0, 1, ...enc("\0octet\0")], 2],
      [[0, 9, 1, 2, 3], 4],
    ];
    for (const [bytes, code] of cases) {
      const r = takeRequest(Uint8Array.from(bytes), CLIENT, { files }, () => {});
      expect("error" in r, JSON.stringify(bytes)).toBe(true);
      expect(readHeader((r as { error: Uint8Array }).error), JSON.stringify(bytes)).toEqual({ opcode: 5, block: code });
    }
  });

  it("random packets into every kind of transfer: no throw, and from a stranger always ERROR 5", () => {
    let x = 99;
    const rnd = (n: number): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 300; round++) {
      const sent: [number, number][] = [];
      const send = (p: Uint8Array, to: Peer): void => void sent.push([readHeader(p).opcode, to.port]);
      const agreed = { blksize: 8 + rnd(600), windowsize: 1 + rnd(4), timeoutMs: 1000, tsize: null, options: [] };
      const kind = round % 4;
      const t =
        kind === 0
          ? TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink: new MemorySink(), send, options: { blksize: 512, windowsize: 4 } })
          : kind === 1
            ? TftpTransfer.clientPut({ server: SERVER69, filename: "f", source: memorySource(pattern(3000)), send })
            : kind === 2
              ? TftpTransfer.serverRead({ client: CLIENT, mode: "netascii", agreed, source: memorySource(pattern(3000)), oack: null, send })
              : TftpTransfer.serverWrite({ client: CLIENT, mode: "netascii", agreed, sink: new MemorySink(), oack: null, send });
      t.start(0);
      const peer = kind >= 2 ? CLIENT : { address: SERVER69.address, port: 50000 };
      for (let i = 0; i < 40 && !t.closed; i++) {
        const len = rnd(3) === 0 ? rnd(5) : 4 + rnd(700);
        const p = Uint8Array.from({ length: len }, () => rnd(256));
        if (len >= 2 && rnd(2) === 0) p[1] = 1 + rnd(6);
        if (len >= 1) p[0] = 0;
        const before = sent.length;
        const stranger = rnd(5) === 0;
        // (a client takes the first answer's port as the server's, whatever it is)
        const known = t.peer !== null && !t.closed;
        t.input(p, stranger ? { address: peer.address, port: 1234 } : peer, i);
        if (stranger && known) expect(sent.slice(before)).toEqual([[5, 1234]]);
        t.poll(i * 700);
      }
    }
  });
});

describe("TFTP core: the ends", () => {
  const dataPacket = (block: number, body: Uint8Array): Uint8Array => Uint8Array.from([0, 3, block >> 8, block & 255, ...body]);
  const from = { address: SERVER69.address, port: 50000 };

  it("after the last ACK the receiver stays one timeout: a repeated last DATA gets the ACK again, then it closes", () => {
    const out: string[] = [];
    const t = TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink: new MemorySink(), send: (p) => out.push(describe_(p)) });
    t.start(0);
    t.input(dataPacket(1, pattern(5)), from, 10);
    expect(t.result).toMatchObject({ ok: true, bytes: 5, endedAt: 10 });
    expect(t.closed).toBe(false);
    expect(t.deadline).toBe(1010);
    t.input(dataPacket(1, pattern(5)), from, 500); // our ACK was lost: the server sent the block again
    expect(out).toEqual(["RRQ f octet", "ACK 1", "ACK 1"]);
    t.poll(1010);
    expect(t.closed).toBe(true);
    t.input(dataPacket(1, pattern(5)), from, 1500);
    expect(out.length).toBe(3);
  });

  it("cancel: ERROR 0 to the peer, the result is that failure; before any answer nothing is sent", () => {
    const out: [string, number][] = [];
    const t = TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink: new MemorySink(), send: (p, to) => out.push([describe_(p), to.port]) });
    t.start(0);
    t.input(dataPacket(1, pattern(512)), from, 1);
    t.cancel(2, "interrupted");
    expect(out).toEqual([
      ["RRQ f octet", 69],
      ["ACK 1", 50000],
      ["ERROR 0", 50000],
    ]);
    expect(t.closed).toBe(true);
    expect((t.result as { error: TftpError }).error.message).toBe("error 0 (Not defined): interrupted");
    const early: string[] = [];
    const u = TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink: new MemorySink(), send: (p) => early.push(describe_(p)) });
    u.start(0);
    u.cancel(1, "interrupted");
    expect(early).toEqual(["RRQ f octet"]);
  });

  it("a packet that makes no sense here (an ACK to a get, a RRQ on a transfer port) ends the transfer with ERROR 4", () => {
    const out: string[] = [];
    const t = TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink: new MemorySink(), send: (p) => out.push(describe_(p)) });
    t.start(0);
    t.input(dataPacket(1, pattern(512)), from, 1);
    t.input(ackPacket(1), from, 2);
    expect(out).toEqual(["RRQ f octet", "ACK 1", "ERROR 4"]);
    expect((t.result as { error: TftpError }).error.code).toBe(4);
  });
});

describe("TFTP core: transfer IDs, errors and options", () => {
  it("a DATA from another port gets ERROR 5 sent to that port; the transfer goes on and completes", () => {
    const out: [string, number][] = [];
    const sink = new MemorySink();
    const t = TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink, send: (p, to) => out.push([describe_(p), to.port]) });
    t.start(0);
    const data = pattern(700);
    const dataPacket = (block: number, body: Uint8Array): Uint8Array => Uint8Array.from([0, 3, block >> 8, block & 255, ...body]);
    t.input(dataPacket(1, data.subarray(0, 512)), { address: SERVER69.address, port: 50000 }, 1);
    t.input(dataPacket(2, pattern(188, 9)), { address: SERVER69.address, port: 50001 }, 2); // a stranger's block 2
    t.input(dataPacket(2, pattern(10, 9)), { address: "10.0.0.9", port: 50000 }, 3); // another host, same port
    expect(t.result).toBeNull();
    t.input(dataPacket(2, data.subarray(512)), { address: SERVER69.address, port: 50000 }, 4);
    expect(out).toEqual([
      ["RRQ f octet", 69],
      ["ACK 1", 50000],
      ["ERROR 5", 50001],
      ["ERROR 5", 50000],
      ["ACK 2", 50000],
    ]);
    expect(sink.bytes).toEqual(data);
    expect(t.result).toMatchObject({ ok: true, stats: { strangers: 2 } });
  });

  it("a missing file: ERROR 1 from the server, reported with its code", () => {
    const r = run(get("nope"), { files: memoryFiles({}) });
    expect(r.log).toEqual(["0 c>s 69RRQ nope octet", "1 s>c ERROR 1"]);
    expect(r.clientResult.ok).toBe(false);
    const err = (r.clientResult as { error: TftpError }).error;
    expect(err).toBeInstanceOf(TftpError);
    expect([err.code, err.remote, err.message]).toEqual([1, true, "the peer sent error 1 (File not found): File not found"]);
  });

  it("path traversal is ERROR 2; a write without --write is ERROR 2", () => {
    for (const bad of ["../etc/passwd", "a/../../x", "..\\..\\boot.ini", "/..", ""]) expect((checkName(bad) as TftpError).code, bad).toBe(2);
    expect(checkName("/boot//pxelinux.0")).toBe("boot/pxelinux.0");
    expect(checkName("./a/./b")).toBe("a/b");
    const r = run(get("../secret"), { files: memoryFiles({ secret: pattern(10) }) });
    expect(r.log[1]).toBe("1 s>c ERROR 2");
    const put = run((send) => TftpTransfer.clientPut({ server: SERVER69, filename: "up", source: memorySource(pattern(10)), send }), { files: memoryFiles({}) });
    expect(put.log).toEqual(["0 c>s 69WRQ up octet", "1 s>c ERROR 2"]);
  });

  it("nobody answers: the request is sent 9 times, a second apart, then the transfer fails at 9 s", () => {
    const sent: number[] = [];
    const t = TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink: new MemorySink(), send: () => sent.push(0) });
    t.start(0);
    for (let now = t.deadline; now !== Infinity; now = t.poll(now));
    expect(sent.length).toBe(9);
    expect(t.result).toMatchObject({ ok: false, endedAt: 9000 });
    expect((t.result as { error: Error }).error).toBeInstanceOf(TftpTimeout);
  });

  it("options: OACK with the server's values; the client takes smaller blocks and windows and refuses larger ones or unasked options (ERROR 8)", () => {
    const asked = [
      { name: "blksize", value: "70000" },
      { name: "timeout", value: "0" },
      { name: "tsize", value: "0" },
      { name: "windowsize", value: "100" },
      { name: "color", value: "blue" },
    ];
    const s = serverOptions(asked, { fileSize: 1234, maxWindow: 64, timeoutMs: 1000 });
    expect(s.reply).toEqual([
      { name: "blksize", value: "65464" },
      { name: "tsize", value: "1234" },
      { name: "windowsize", value: "64" },
    ]);
    const mine = [
      { name: "blksize", value: "1468" },
      { name: "windowsize", value: "8" },
    ];
    expect(acceptOack(mine, [{ name: "BLKSIZE", value: "1024" }], 1000)).toMatchObject({ blksize: 1024, windowsize: 1 });
    expect(acceptOack(mine, [{ name: "blksize", value: "2000" }], 1000)).toBe("blksize 2000 is not in 8..1468");
    expect(acceptOack(mine, [{ name: "tsize", value: "5" }], 1000)).toBe('the server answered option "tsize", which was not asked for');
    // A server limited to 16 blocks per window answers a client that asked for 100 with 16, which it takes.
    const r = run(get("f", { options: { windowsize: 100 } }), { files: memoryFiles({ f: pattern(10) }), maxWindow: 16 });
    expect(r.log[1]).toBe("1 s>c OACK windowsize=16");
    expect(r.clientResult).toMatchObject({ ok: true, agreed: { windowsize: 16 } });
  });

  it("an OACK the client refuses: ERROR 8 to the server, which stops", () => {
    const sent: string[] = [];
    const t = TftpTransfer.clientGet({ server: SERVER69, filename: "f", sink: new MemorySink(), options: { blksize: 512 }, send: (p) => sent.push(describe_(p)) });
    t.start(0);
    t.input(Uint8Array.from([0, 6, ...new TextEncoder().encode("blksize\0" + "1024\0")]), { address: SERVER69.address, port: 50000 }, 1);
    expect(sent).toEqual(["RRQ f octet blksize=512", "ERROR 8"]);
    expect((t.result as { error: TftpError }).error.code).toBe(8);
  });
});

describe("TFTP core: options over the wire", () => {
  it("blksize 8, tsize, timeout 2: OACK, ACK 0, 8-byte blocks; a lost ACK 0 is answered by the repeated OACK", () => {
    const sink = new MemorySink();
    const data = pattern(20);
    // packets: 0 RRQ, 1 OACK, 2 ACK 0 (lost)
    const r = run(get("f", { options: { blksize: 8, tsize: true, timeout: 2 } }, sink), { files: memoryFiles({ f: data }) }, (n) => n === 2);
    expect(r.log).toEqual([
      "0 c>s 69RRQ f octet blksize=8 timeout=2 tsize=0",
      "1 s>c OACK blksize=8 timeout=2 tsize=20",
      "2 c>s ACK 0 lost",
      "2001 s>c OACK blksize=8 timeout=2 tsize=20", // the server's timeout is the agreed 2 s
      "2002 c>s ACK 0", // the repeated OACK is answered (the client's own timer would wait 4 s)
      "2003 s>c DATA 1 (8)",
      "2004 c>s ACK 1",
      "2005 s>c DATA 2 (8)",
      "2006 c>s ACK 2",
      "2007 s>c DATA 3 (4)",
      "2008 c>s ACK 3",
    ]);
    expect(sink.bytes).toEqual(data);
    expect(r.clientResult).toMatchObject({ ok: true, agreed: { blksize: 8, tsize: 20, timeoutMs: 2000 } });
  });

  it("windowsize 4: one ACK per 4 blocks; a lost block in a window is acknowledged short and the window restarts there", () => {
    const sink = new MemorySink();
    const data = pattern(100);
    // blksize 10: blocks 1..10 (10 each) and an empty block 11. packets: 0 RRQ, 1 OACK, 2 ACK 0, 3..6 DATA 1-4, 7 ACK 4, 8..11 DATA 5-8 (9: DATA 6 lost)
    const r = run(get("f", { options: { blksize: 10, windowsize: 4 } }, sink), { files: memoryFiles({ f: data }) }, (n) => n === 9);
    expect(r.log).toEqual([
      "0 c>s 69RRQ f octet blksize=10 windowsize=4",
      "1 s>c OACK blksize=10 windowsize=4",
      "2 c>s ACK 0",
      "3 s>c DATA 1 (10)",
      "3 s>c DATA 2 (10)",
      "3 s>c DATA 3 (10)",
      "3 s>c DATA 4 (10)",
      "4 c>s ACK 4",
      "5 s>c DATA 5 (10)",
      "5 s>c DATA 6 (10) lost",
      "5 s>c DATA 7 (10)",
      "5 s>c DATA 8 (10)",
      "6 c>s ACK 5", // DATA 7 came before DATA 6: say where the gap is, once (DATA 8 says nothing more)
      "7 s>c DATA 6 (10)",
      "7 s>c DATA 7 (10)",
      "7 s>c DATA 8 (10)",
      "7 s>c DATA 9 (10)",
      "8 c>s ACK 9",
      "9 s>c DATA 10 (10)",
      "9 s>c DATA 11 (0)",
      "10 c>s ACK 11",
    ]);
    expect(sink.bytes).toEqual(data);
  });

  it("block numbers roll over from 65535 to 0 (blksize 8, 560 003 bytes: 70 001 blocks)", () => {
    const sink = new MemorySink();
    const data = pattern(8 * 70_000 + 3, 5);
    const r = run(get("f", { options: { blksize: 8 } }, sink), { files: memoryFiles({ f: data }) }, () => false, false);
    expect(r.clientResult).toMatchObject({ ok: true, bytes: data.length });
    expect(sink.bytes).toEqual(data);
    expect(r.dataBlocks.length).toBe(70_001);
    expect(r.dataBlocks.slice(65533, 65539)).toEqual([65534, 65535, 0, 1, 2, 3]);
    expect(r.dataBlocks.at(-1)).toBe(70_001 - 65_536);
    expect([unwrapBlock(0, 65535), unwrapBlock(65535, 65537), unwrapBlock(4464, 70_000)]).toEqual([65536, 65535, 70_000]);
  });

  it("a put with windowsize 4 and tsize: the server's OACK stands for ACK 0; the upload arrives whole", () => {
    const written: Record<string, Uint8Array> = {};
    const data = pattern(5000, 7);
    const r = run(
      (send) => TftpTransfer.clientPut({ server: SERVER69, filename: "up", source: memorySource(data), size: data.length, options: { blksize: 1000, windowsize: 4, tsize: true }, send }),
      { files: memoryFiles({}, written), allowWrite: true },
      (n) => n === 4,
    );
    expect(r.log.slice(0, 2)).toEqual(["0 c>s 69WRQ up octet blksize=1000 tsize=5000 windowsize=4", "1 s>c OACK blksize=1000 tsize=5000 windowsize=4"]);
    expect(r.clientResult.ok).toBe(true);
    expect(written["up"]).toEqual(data);
  });
});

describe("netascii", () => {
  it("LF → CR LF and CR → CR NUL, and back, across block boundaries", () => {
    const local = new TextEncoder().encode("one\ntwo\r\nthree\rfour\n\n");
    const wire = toNetascii(local);
    expect(new TextDecoder().decode(wire)).toBe("one\r\ntwo\r\0\r\nthree\r\0four\r\n\r\n");
    expect(netasciiLength(local)).toBe(wire.length);
    // Split the wire bytes at every point: a CR at the end of one write waits for the next.
    for (let cut = 0; cut <= wire.length; cut++) {
      const out: number[] = [];
      const d = new NetasciiDecoder((b) => out.push(...b));
      d.write(wire.subarray(0, cut));
      d.write(wire.subarray(cut));
      d.end();
      expect(Uint8Array.from(out), `cut at ${cut}`).toEqual(local);
    }
  });

  it("a netascii get with 8-byte blocks: CR LF on the wire, LF on arrival", () => {
    const sink = new MemorySink();
    const local = new TextEncoder().encode("line 1\nline 2\nbare\rcr\n".repeat(5));
    const wire: number[] = [];
    const r = run(
      (send) =>
        TftpTransfer.clientGet({
          server: SERVER69,
          filename: "t.txt",
          mode: "netascii",
          sink,
          options: { blksize: 8 },
          send,
        }),
      { files: memoryFiles({ "t.txt": local }) },
    );
    for (const l of r.log) if (l.includes("DATA")) wire.push(Number(/\((\d+)\)/.exec(l)![1]));
    expect(r.clientResult.ok).toBe(true);
    expect(sink.bytes).toEqual(local);
    expect(wire.reduce((a, b) => a + b, 0)).toBe(netasciiLength(local));
  });
});
