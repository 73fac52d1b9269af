/**
 * One TFTP transfer as a deterministic state machine: no sockets, no clock,
 * no files. {@link TftpTransfer.input} takes a packet, who sent it and the
 * time; {@link TftpTransfer.poll} takes the time, runs a timeout that is due
 * and says when to be called next; packets leave through `send`, file bytes
 * come from a {@link BlockSource} and go to a {@link BlockSink}. A test
 * drives two of them over a lossy wire of its own with a made-up clock and
 * replays a loss pattern exactly; `driver.ts` ties one to a UDP socket and a
 * real clock.
 *
 * The four roles: a client's get (RRQ, then receive) and put (WRQ, then
 * send), a server's read (send) and write (receive). The rules, with the
 * RFC for each:
 *
 * - the peer's transfer ID (address and port) is fixed by its first answer;
 *   a packet from any other gets ERROR 5 and the transfer goes on (RFC 1350
 *   §4);
 * - a sender sends a window of blocks (1 without RFC 7440's windowsize) and
 *   keeps them until acknowledged: that is the memory a transfer holds;
 *   a timeout resends from the first unacknowledged block; a duplicate ACK
 *   is never answered with DATA (RFC 1123 §4.2.3.1, the Sorcerer's
 *   Apprentice bug); with a window, an ACK that stops short of the window's
 *   end says where the receiver's gap is and the window restarts there, once
 *   per gap (RFC 7440 §4);
 * - a receiver writes blocks in order, acknowledges every `windowsize`th and
 *   the last, answers a duplicate DATA with the ACK it had sent (the sender
 *   only resends on its timeout, so this cannot double the traffic), and
 *   after twice the timeout with nothing new sends the ACK again;
 * - block numbers wrap from 65535 to 0 (tftpd-hpa's `rollover=0`, tftp-hpa
 *   and busybox do the same): they are kept as whole numbers here and only
 *   the wire has 16 bits ({@link unwrapBlock});
 * - the side that sends the last ACK stays a while (`dallyMs`) to answer
 *   the last DATA again if that ACK was lost (RFC 1350 §6);
 * - an ERROR ends the transfer with its code, is not acknowledged and not
 *   resent (RFC 1350 §7).
 *
 * Size: past 500 lines because the four roles are one state machine: the
 * peer check, the timer, the ends and the client's first answer (which
 * turns a get into a receiver and a put into a sender) are shared, and a
 * sender or receiver apart would reach into those fields from outside.
 *
 * @example
 * ```ts
 * const t = TftpTransfer.clientGet({ server: { address: "10.0.0.1", port: 69 }, filename: "f", sink, send: (p, to) => wire(p, to) });
 * t.start(0);
 * t.input(packetFromServer, { address: "10.0.0.1", port: 40000 }, 3);
 * const next = t.poll(1003); // a timeout due then runs; returns the next deadline
 * ```
 *
 * @module
 */
import { NetasciiDecoder, NetasciiEncoder } from "./netascii.ts";
import { acceptOack, defaults, requestOptions, type Agreed, type ClientOptions, DEFAULT_TIMEOUT_MS } from "./options.ts";
import {
  ackPacket,
  decodePacket,
  errorPacket,
  requestPacket,
  TFTP_ERR,
  TFTP_OPCODE,
  TftpError,
  TftpTimeout,
  type TftpOption,
  unwrapBlock,
  writeDataHeader,
} from "./packet.ts";

/** An address and port (a TFTP transfer ID is the port; the address comes with it). */
export interface Peer {
  address: string;
  port: number;
}

/** Where a sender's bytes come from: `read` fills `into` and returns the count (fewer only at the end, 0 after it). */
export interface BlockSource {
  read(into: Uint8Array): number;
}

/** Where a receiver's bytes go, in order. `write` must not keep `bytes` after it returns. */
export interface BlockSink {
  write(bytes: Uint8Array): void;
  /** the last block was written */
  end?(): void;
}

/** Transfer modes (RFC 1350 §5; "mail" is obsolete and refused). */
export type TftpMode = "octet" | "netascii";

/** Counters of one transfer. */
export interface TransferStats {
  /** file bytes sent or received (netascii: as on the wire) */
  bytes: number;
  /** DATA packets first sent or taken in order */
  blocks: number;
  /** packets sent again after a timeout (or a gap a windowed receiver reported) */
  retransmits: number;
  /** timeouts that expired */
  timeouts: number;
  /** duplicate DATA or ACK packets received */
  duplicates: number;
  /** packets from another transfer ID, each answered with ERROR 5 */
  strangers: number;
}

/** How a transfer ended. */
export type TransferResult =
  | { ok: true; bytes: number; agreed: Agreed; stats: TransferStats; startedAt: number; endedAt: number }
  | { ok: false; error: TftpError | TftpTimeout; stats: TransferStats; startedAt: number; endedAt: number };

/** What every transfer is built with. */
export interface TransferBase {
  /** send `packet` to `to` (the bytes may be reused once this returns) */
  send(packet: Uint8Array, to: Peer): void;
  /** told about timeouts, gaps and the agreed options, for a trace */
  note?: ((now: number, text: string) => void) | undefined;
  /** called once, when the result is known */
  done?: ((result: TransferResult) => void) | undefined;
  /** timeouts in a row after which the transfer is given up (default 8) */
  maxRetries?: number | undefined;
  /** how long the side that sent the last ACK stays to answer a repeated last DATA (default: the timeout) */
  dallyMs?: number | undefined;
}

/** A client's get or put. */
export interface ClientTransfer extends TransferBase {
  server: Peer;
  filename: string;
  mode?: TftpMode | undefined;
  options?: ClientOptions | undefined;
  /** the local retransmission timeout before any is agreed (default: `options.timeout` seconds, else 1 s) */
  timeoutMs?: number | undefined;
}

/** A server's side of a request it took (see server.ts). */
export interface ServerTransfer extends TransferBase {
  client: Peer;
  mode: TftpMode;
  agreed: Agreed;
}

type Phase = "request" | "send" | "receive" | "dally" | "closed";

const DEFAULT_RETRIES = 8;

/** One transfer. Build it with a static factory, then {@link start}. */
export class TftpTransfer {
  readonly role: "get" | "put" | "read" | "write";
  readonly stats: TransferStats = { bytes: 0, blocks: 0, retransmits: 0, timeouts: 0, duplicates: 0, strangers: 0 };
  /** set once the transfer has succeeded or failed */
  result: TransferResult | null = null;
  agreed: Agreed;

  readonly #base: TransferBase;
  readonly #maxRetries: number;
  /** the peer: its port is unknown (null) until a client hears the first answer */
  readonly #peerAddress: string;
  #peerPort: number | null;
  #phase: Phase = "request";
  #deadline = Infinity;
  #retries = 0;
  #startedAt = 0;
  #dallyMs: number | null;

  // client request
  #request: Uint8Array | null = null;
  #asked: TftpOption[] = [];
  #requestPort = 69;

  // sender
  #source: BlockSource | null = null;
  /** first unacknowledged block (0: the OACK a server waits on) */
  #sendBase = 1;
  /** next block to send */
  #sendNext = 1;
  /** the last block's number once read (Infinity before) */
  #lastBlock = Infinity;
  /** packets of blocks sendBase, sendBase+1, ... already read */
  #held: Uint8Array[] = [];
  /** the highest block sent so far (-1: none) */
  #highestSent = -1;
  /** the base a gap was last answered for (once per gap) */
  #rewoundFor = -1;

  // receiver
  #sink: BlockSink | null = null;
  #expect = 1;
  #sinceAck = 0;
  #burstAnswered = false;
  /** sent again on a timeout before block 1 arrives: ACK 0 or the server's OACK */
  #firstAnswer: Uint8Array | null = null;
  #lastAckBlock = -1;

  private constructor(role: TftpTransfer["role"], base: TransferBase, peer: Peer, peerKnown: boolean, agreed: Agreed) {
    this.role = role;
    this.#base = base;
    this.#maxRetries = base.maxRetries ?? DEFAULT_RETRIES;
    this.#peerAddress = peer.address;
    this.#peerPort = peerKnown ? peer.port : null;
    this.#requestPort = peer.port;
    this.agreed = agreed;
    this.#dallyMs = base.dallyMs ?? null;
  }

  /** A client's RRQ: the file goes to `sink`. */
  static clientGet(o: ClientTransfer & { sink: BlockSink }): TftpTransfer {
    const t = new TftpTransfer("get", o, o.server, false, defaults(clientTimeout(o)));
    const mode = o.mode ?? "octet";
    t.#sink = mode === "netascii" ? netasciiSink(o.sink) : o.sink;
    t.#asked = requestOptions(o.options ?? {}, "get");
    t.#request = requestPacket("RRQ", o.filename, mode, t.#asked);
    return t;
  }

  /** A client's WRQ: the file comes from `source`; `size` is announced with tsize when asked for. */
  static clientPut(o: ClientTransfer & { source: BlockSource; size?: number | undefined }): TftpTransfer {
    const t = new TftpTransfer("put", o, o.server, false, defaults(clientTimeout(o)));
    const mode = o.mode ?? "octet";
    t.#source = mode === "netascii" ? new NetasciiEncoder((b) => o.source.read(b)) : o.source;
    t.#asked = requestOptions(o.options ?? {}, "put", o.size ?? 0);
    t.#request = requestPacket("WRQ", o.filename, mode, t.#asked);
    return t;
  }

  /** A server sending a file (an RRQ it took); `oack` when options were agreed (block 0 then waits for ACK 0). */
  static serverRead(o: ServerTransfer & { source: BlockSource; oack: Uint8Array | null }): TftpTransfer {
    const t = new TftpTransfer("read", o, o.client, true, o.agreed);
    t.#source = o.mode === "netascii" ? new NetasciiEncoder((b) => o.source.read(b)) : o.source;
    t.#phase = "send";
    if (o.oack !== null) {
      t.#sendBase = 0;
      t.#sendNext = 0;
      t.#held = [o.oack];
    }
    return t;
  }

  /** A server receiving a file (a WRQ it took); `oack` when options were agreed (it stands for ACK 0). */
  static serverWrite(o: ServerTransfer & { sink: BlockSink; oack: Uint8Array | null }): TftpTransfer {
    const t = new TftpTransfer("write", o, o.client, true, o.agreed);
    t.#sink = o.mode === "netascii" ? netasciiSink(o.sink) : o.sink;
    t.#phase = "receive";
    t.#firstAnswer = o.oack ?? ackPacket(0);
    return t;
  }

  /** The peer's transfer ID, once known. */
  get peer(): Peer | null {
    return this.#peerPort === null ? null : { address: this.#peerAddress, port: this.#peerPort };
  }

  /** Whether nothing is left to do (the result is known and any dally is over). */
  get closed(): boolean {
    return this.#phase === "closed";
  }

  /** When {@link poll} next has something to do (Infinity: never). */
  get deadline(): number {
    return this.#deadline;
  }

  /** Send the first packet (the request, the first DATA or OACK, ACK 0 or OACK). */
  start(now: number): void {
    this.#startedAt = now;
    if (this.#phase === "request") {
      this.#toPeer(this.#request!, this.#requestPort);
      this.#deadline = now + this.agreed.timeoutMs;
    } else if (this.#phase === "send") {
      this.#fill(now);
    } else {
      this.#toPeer(this.#firstAnswer!);
      this.#deadline = now + this.agreed.timeoutMs;
    }
  }

  /** Run the timeout if it is due; returns the next deadline. */
  poll(now: number): number {
    if (now < this.#deadline) return this.#deadline;
    if (this.#phase === "closed") return Infinity;
    if (this.#phase === "dally") {
      this.#close();
      return Infinity;
    }
    this.stats.timeouts++;
    if (++this.#retries > this.#maxRetries) {
      this.#fail(now, new TftpTimeout(`no answer after ${this.#maxRetries + 1} tries of ${this.agreed.timeoutMs / 1000} s`));
      return Infinity;
    }
    if (this.#phase !== "send") this.stats.retransmits++;
    if (this.#phase === "request") {
      this.#note(now, `timeout: request sent again (try ${this.#retries + 1})`);
      this.#toPeer(this.#request!, this.#requestPort);
    } else if (this.#phase === "send") {
      this.#note(now, `timeout: ${this.#sendBase === 0 ? "OACK" : `block ${this.#sendBase}`} sent again (try ${this.#retries + 1})`);
      this.#sendNext = this.#sendBase;
      this.#fill(now);
      return this.#deadline;
    } else {
      const ack = this.#expect === 1 ? this.#firstAnswer! : ackPacket(this.#expect - 1);
      this.#note(now, `timeout: ${this.#expect === 1 && this.#firstAnswer !== null && ack[1] === TFTP_OPCODE.OACK ? "OACK" : `ACK ${this.#expect - 1}`} sent again (try ${this.#retries + 1})`);
      this.#burstAnswered = false;
      this.#toPeer(ack);
      this.#deadline = now + this.#ackTimeout();
      return this.#deadline;
    }
    this.#deadline = now + this.agreed.timeoutMs;
    return this.#deadline;
  }

  /** A packet arrived from `from`. */
  input(packet: Uint8Array, from: Peer, now: number): void {
    if (this.#phase === "closed") return;
    // RFC 1350 §4: the transfer IDs are fixed once the first answer came; anyone else gets ERROR 5.
    if (from.address !== this.#peerAddress || (this.#peerPort !== null && from.port !== this.#peerPort)) {
      this.stats.strangers++;
      this.#note(now, `packet from ${from.address}:${from.port}, not our peer: ERROR 5 sent to it`);
      this.#base.send(errorPacket(TFTP_ERR.unknownTid), from);
      return;
    }
    if (packet.length < 4 && !(packet.length >= 2 && ((packet[0]! << 8) | packet[1]!) === TFTP_OPCODE.OACK)) {
      if (this.#phase !== "dally") this.#illegal(now, `a packet of ${packet.length} bytes`, from);
      return;
    }
    const opcode = (packet[0]! << 8) | packet[1]!;
    const block = packet.length >= 4 ? (packet[2]! << 8) | packet[3]! : 0;
    if (opcode === TFTP_OPCODE.ERROR) {
      if (this.#phase === "dally") return this.#close();
      const d = decodePacket(packet).tftp;
      this.#fail(now, new TftpError(block, d?.errorMessage ?? "", true));
      return;
    }
    switch (this.#phase) {
      case "request":
        this.#peerPort = from.port;
        return this.#answer(opcode, block, packet, now);
      case "send":
        if (opcode === TFTP_OPCODE.ACK) return this.#onAck(block, now);
        // A repeated OACK to our put: it stands for ACK 0, already taken (never answered with DATA).
        if (opcode === TFTP_OPCODE.OACK && this.role === "put") return void this.stats.duplicates++;
        return this.#illegal(now, `${opcodeName(opcode)} while sending`, from);
      case "receive":
      case "dally":
        if (opcode === TFTP_OPCODE.DATA) return this.#onData(block, packet.subarray(4), now);
        // A repeated OACK to our get: our ACK 0 was lost.
        if (opcode === TFTP_OPCODE.OACK && this.role === "get" && this.#expect === 1) {
          this.stats.duplicates++;
          return this.#toPeer(ackPacket(0));
        }
        if (this.#phase === "dally") return;
        return this.#illegal(now, `${opcodeName(opcode)} while receiving`, from);
    }
  }

  /**
   * End the transfer now (the user interrupted, the server is stopping):
   * the peer, when known, is told with ERROR 0 and `text` (RFC 1350 §7:
   * an ERROR ends a transfer and is not acknowledged).
   */
  cancel(now: number, text: string): void {
    if (this.#phase === "closed") return;
    if (this.result !== null) return this.#close(); // done, only dallying: nothing to tell
    const peer = this.peer;
    if (peer !== null) this.#base.send(errorPacket(TFTP_ERR.notDefined, text), peer);
    this.#fail(now, new TftpError(TFTP_ERR.notDefined, text, false));
  }

  // ---- the client's first answer

  #answer(opcode: number, block: number, packet: Uint8Array, now: number): void {
    this.#retries = 0;
    if (opcode === TFTP_OPCODE.OACK) {
      const d = decodePacket(packet);
      const agreed = d.tftp === null || d.problem !== null ? (d.problem ?? "malformed OACK") : acceptOack(this.#asked, d.tftp.options ?? [], this.agreed.timeoutMs);
      if (typeof agreed === "string") {
        // RFC 2347: the client refuses an OACK with ERROR 8 and ends the transfer.
        this.#base.send(errorPacket(TFTP_ERR.optionRefused, agreed), this.peer!);
        this.#fail(now, new TftpError(TFTP_ERR.optionRefused, agreed, false));
        return;
      }
      this.agreed = agreed;
      this.#note(now, `options agreed: ${agreed.options.map((o) => `${o.name} ${o.value}`).join(", ")}`);
      if (this.role === "get") {
        this.#phase = "receive";
        this.#firstAnswer = ackPacket(0);
        this.#toPeer(this.#firstAnswer);
        this.#deadline = now + this.#ackTimeout();
      } else {
        this.#phase = "send";
        this.#fill(now);
      }
      return;
    }
    if (this.role === "get" && opcode === TFTP_OPCODE.DATA) {
      // No OACK: the server took none of the options (RFC 2347), RFC 1350's defaults hold.
      if (this.#asked.length > 0) this.#note(now, "no OACK: 512-byte blocks, one at a time");
      this.#phase = "receive";
      this.#firstAnswer = ackPacket(0);
      return this.#onData(block, packet.subarray(4), now);
    }
    if (this.role === "put" && opcode === TFTP_OPCODE.ACK && block === 0) {
      if (this.#asked.length > 0) this.#note(now, "no OACK: 512-byte blocks, one at a time");
      this.#phase = "send";
      this.#fill(now);
      return;
    }
    this.#illegal(now, `${opcodeName(opcode)} in answer to the request`, this.peer!);
  }

  // ---- sending

  #onAck(wire: number, now: number): void {
    const a = unwrapBlock(wire, this.#sendBase);
    if (a >= this.#sendBase && a < this.#sendNext) {
      const k = a - this.#sendBase + 1;
      this.#held.splice(0, k);
      this.#sendBase = a + 1;
      this.#retries = 0;
      if (this.#sendBase > this.#lastBlock) return this.#succeed(now, false);
      if (a < this.#sendNext - 1) {
        // RFC 7440 §4: the receiver acknowledged part of the window: the block after is lost; go back to it.
        this.#note(now, `ACK ${a} stops short of block ${this.#sendNext - 1}: window restarts at block ${this.#sendBase}`);
        this.#rewoundFor = this.#sendBase;
        this.#sendNext = this.#sendBase;
      }
      this.#fill(now);
      return;
    }
    this.stats.duplicates++;
    // A windowed receiver repeats its last ACK when the block after it was lost: restart the window there, once.
    if (a === this.#sendBase - 1 && this.agreed.windowsize > 1 && this.#sendBase > 0 && this.#sendNext > this.#sendBase && this.#rewoundFor !== this.#sendBase) {
      this.#note(now, `ACK ${a} again: window restarts at block ${this.#sendBase}`);
      this.#rewoundFor = this.#sendBase;
      this.#sendNext = this.#sendBase;
      this.#fill(now);
    }
    // Otherwise a duplicate or late ACK: ignored. Answering it with DATA is the Sorcerer's Apprentice bug.
  }

  /** Send blocks from sendNext to the window's end, reading new ones as needed; (re)arm the timer. */
  #fill(now: number): void {
    const window = this.#sendBase === 0 ? 1 : this.agreed.windowsize;
    while (this.#sendNext <= this.#lastBlock && this.#sendNext < this.#sendBase + window) {
      const i = this.#sendNext - this.#sendBase;
      let p = this.#held[i];
      if (p === undefined) {
        const read = this.#readBlock(this.#sendNext, now);
        if (read === null) return;
        p = read;
        this.#held.push(p);
        this.stats.blocks++;
      }
      if (this.#sendNext <= this.#highestSent) this.stats.retransmits++;
      else this.#highestSent = this.#sendNext;
      this.#toPeer(p);
      this.#sendNext++;
    }
    this.#deadline = now + this.agreed.timeoutMs;
  }

  /** Block `n`'s packet, read from the source; null when reading failed (the transfer has ended). */
  #readBlock(n: number, now: number): Uint8Array | null {
    const size = this.agreed.blksize;
    const p = new Uint8Array(4 + size);
    writeDataHeader(p, n);
    let got = 0;
    try {
      const body = p.subarray(4);
      while (got < size) {
        const r = this.#source!.read(body.subarray(got));
        if (r <= 0) break;
        got += r;
      }
    } catch (err) {
      const text = `read failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#base.send(errorPacket(TFTP_ERR.notDefined, text), this.peer!);
      this.#fail(now, new TftpError(TFTP_ERR.notDefined, text, false));
      return null;
    }
    this.stats.bytes += got;
    if (got < size) this.#lastBlock = n;
    return got < size ? p.subarray(0, 4 + got) : p;
  }

  // ---- receiving

  #onData(wire: number, data: Uint8Array, now: number): void {
    if (data.length > this.agreed.blksize) {
      if (this.#phase !== "dally") this.#illegal(now, `DATA of ${data.length} bytes, more than blksize ${this.agreed.blksize}`, this.peer!);
      return;
    }
    const b = unwrapBlock(wire, this.#expect);
    if (b === this.#expect && this.#phase === "receive") {
      const last = data.length < this.agreed.blksize;
      this.#expect++;
      this.#sinceAck++;
      this.#retries = 0;
      this.#burstAnswered = false;
      // Write-behind (as tftp-hpa's client): a block is acknowledged before it is written, so the next one
      // travels while this one goes to the file. The last is written first: a failure is then still reported
      // before the sender takes the transfer for done.
      if (!last && this.#sinceAck >= this.agreed.windowsize) this.#ack(b);
      try {
        this.#sink!.write(data);
        if (last) this.#sink!.end?.();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const code = e.code === "ENOSPC" || e.code === "EDQUOT" || e.code === "EFBIG" ? TFTP_ERR.diskFull : TFTP_ERR.notDefined;
        const text = `write failed: ${e.message ?? String(err)}`;
        this.#base.send(errorPacket(code, text), this.peer!);
        this.#fail(now, new TftpError(code, text, false));
        return;
      }
      this.stats.bytes += data.length;
      this.stats.blocks++;
      if (last) {
        this.#ack(b);
        this.#succeed(now, true);
      } else {
        this.#deadline = now + this.#ackTimeout();
      }
      return;
    }
    if (b < this.#expect) {
      // A duplicate: the sender timed out, so our ACK was lost; send it again (once per burst with a window).
      this.stats.duplicates++;
      if (this.agreed.windowsize === 1 || !this.#burstAnswered || this.#phase === "dally") {
        this.#burstAnswered = true;
        this.#ack(this.#expect - 1);
      }
      return;
    }
    // A block beyond the next: the next was lost (with a window). Say where we are, once.
    if (this.#phase === "receive" && !this.#burstAnswered) {
      this.#burstAnswered = true;
      this.#note(now, `block ${b} before block ${this.#expect}: ACK ${this.#expect - 1}`);
      this.#ack(this.#expect - 1);
    }
  }

  #ack(block: number): void {
    this.#sinceAck = 0;
    this.#lastAckBlock = block;
    this.#toPeer(block === 0 && this.#firstAnswer !== null ? this.#firstAnswer : ackPacket(block));
  }

  /**
   * How long a receiver waits before sending its last ACK again: twice the
   * sender's timeout, except for a server's first answer to a WRQ (ACK 0 or
   * OACK: nobody else would resend anything). Resending the ACK is only the
   * backup: the sender resends a DATA on its own timeout and the duplicate
   * is answered. A receiver as quick as the sender keeps tftpd-hpa from
   * ever timing out: it restarts its wait on every packet it reads, the
   * duplicate ACK included, so a lost DATA was never sent again.
   */
  #ackTimeout(): number {
    return this.role === "write" && this.#expect === 1 ? this.agreed.timeoutMs : 2 * this.agreed.timeoutMs;
  }

  // ---- ends

  #succeed(now: number, dally: boolean): void {
    this.result = { ok: true, bytes: this.stats.bytes, agreed: this.agreed, stats: this.stats, startedAt: this.#startedAt, endedAt: now };
    if (dally) {
      this.#phase = "dally";
      this.#deadline = now + (this.#dallyMs ?? this.agreed.timeoutMs);
    } else {
      this.#close();
    }
    this.#base.done?.(this.result);
  }

  #fail(now: number, error: TftpError | TftpTimeout): void {
    this.result = { ok: false, error, stats: this.stats, startedAt: this.#startedAt, endedAt: now };
    this.#close();
    this.#base.done?.(this.result);
  }

  #close(): void {
    this.#phase = "closed";
    this.#deadline = Infinity;
    this.#held = [];
  }

  /** RFC 1350 §7: a packet that makes no sense here ends the transfer with ERROR 4. */
  #illegal(now: number, what: string, to: Peer): void {
    const text = `unexpected ${what}`;
    this.#base.send(errorPacket(TFTP_ERR.illegalOperation, text), to);
    this.#fail(now, new TftpError(TFTP_ERR.illegalOperation, text, false));
  }

  #toPeer(p: Uint8Array, port: number | null = this.#peerPort): void {
    this.#base.send(p, { address: this.#peerAddress, port: port ?? this.#requestPort });
  }

  #note(now: number, text: string): void {
    this.#base.note?.(now, text);
  }

  /** The block last acknowledged by this receiver (-1 before any). */
  get lastAcknowledged(): number {
    return this.#lastAckBlock;
  }
}

function clientTimeout(o: ClientTransfer): number {
  return o.timeoutMs ?? (o.options?.timeout !== undefined ? o.options.timeout * 1000 : DEFAULT_TIMEOUT_MS);
}

function netasciiSink(sink: BlockSink): BlockSink {
  const d = new NetasciiDecoder((b) => sink.write(b));
  return {
    write: (b) => d.write(b),
    end: () => {
      d.end();
      sink.end?.();
    },
  };
}

function opcodeName(op: number): string {
  const names = ["", "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"];
  return names[op] ?? `opcode ${op}`;
}
