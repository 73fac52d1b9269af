/**
 * The classic pcap file format (draft-ietf-opsawg-pcap): a 24-byte file header,
 * then one 16-byte record header plus the captured bytes per frame.
 *
 * This module holds the pcap record parser used by {@link openCaptureFile}
 * (capture_file.ts), {@link PcapWriter}, and the pieces the pcapng module
 * shares with it (the batch builder, the parser contract, the buffered
 * synchronous file sink).
 *
 * @example
 * ```ts
 * import { PcapWriter } from "./pcap.ts";
 * const w = new PcapWriter("out.pcap", { linkType: 1, nanoseconds: true });
 * w.write({ data: new Uint8Array(60), length: 60, sec: 1, nsec: 5, linkType: 1, interfaceId: 0 });
 * w.close();
 * ```
 *
 * @module
 */
import * as fs from "node:fs";
import { captureFileSystemError } from "./errors.ts";
import type { Frame, FrameBatch } from "./frame.ts";

/** Magic numbers as read in the file's own byte order. */
export const PCAP_MAGIC = {
  /** seconds + microseconds */
  MICROSECONDS: 0xa1b2c3d4,
  /** seconds + nanoseconds */
  NANOSECONDS: 0xa1b23c4d,
  /** Alexey Kuznetsov's patched libpcap: 8 more bytes per record header */
  MODIFIED: 0xa1b2cd34,
} as const;

/** The snaplen tcpdump and libpcap use by default, and their sanity bound for most link types. */
export const DEFAULT_SNAPLEN = 262144;

/**
 * The largest caplen a reader accepts for a link type. Mirrors the bounds
 * libpcap's readers use (pcap-common.c max_snaplen_for_dlt): a few link types
 * carry bigger frames than the usual 256 KiB.
 */
export function maxSnaplenForLinkType(linkType: number): number {
  switch (linkType) {
    case 231: // LINKTYPE_DBUS: messages up to 128 MiB
      return 128 * 1024 * 1024;
    case 279: // LINKTYPE_EBHSCR
      return 8 * 1024 * 1024;
    case 249: // LINKTYPE_USBPCAP
      return 1024 * 1024;
    default:
      return DEFAULT_SNAPLEN;
  }
}

// ---------------------------------------------------------------------------
// Shared with pcapng.ts and capture_file.ts (internal).

/** A window of file bytes: `buf[0]` is at absolute file offset `base`; bytes up to `end` are valid. @internal */
export interface Chunk {
  buf: Uint8Array;
  dv: DataView;
  base: number;
  end: number;
}

/** A {@link FrameBatch} with room for `capacity` frames, refilled in place. @internal */
export class BatchBuilder implements FrameBatch {
  count = 0;
  buffer: Uint8Array = new Uint8Array(0);
  readonly capacity: number;
  readonly offset: Uint32Array;
  readonly caplen: Uint32Array;
  readonly length: Uint32Array;
  readonly sec: Float64Array;
  readonly nsec: Uint32Array;
  readonly linkType: Uint32Array;
  readonly interfaceId: Uint32Array;
  constructor(capacity: number) {
    this.capacity = capacity;
    this.offset = new Uint32Array(capacity);
    this.caplen = new Uint32Array(capacity);
    this.length = new Uint32Array(capacity);
    this.sec = new Float64Array(capacity);
    this.nsec = new Uint32Array(capacity);
    this.linkType = new Uint32Array(capacity);
    this.interfaceId = new Uint32Array(capacity);
  }
}

/**
 * What capture_file.ts asks of a format parser. `parse` consumes whole
 * records from `chunk.buf[pos..chunk.end)` into `batch` (at most `limit`
 * frames in it) and returns the position after the last record it consumed.
 * It stops early when the next record is incomplete (then `need` is that
 * record's full size in bytes, or its header size when even that is
 * missing) or wrong (then `problem` says why; `problemAt` is where).
 * @internal
 */
export interface RecordParser {
  problem: string | null;
  problemAt: number;
  need: number;
  /** "record" or "block" */
  readonly unit: string;
  /** number (1-based) of the record `parse` will read next */
  readonly nextIndex: number;
  parse(chunk: Chunk, pos: number, batch: BatchBuilder, limit: number): number;
  /** the largest record the parser may ask for (the buffer grows up to this) */
  readonly maxRecord: number;
}

/** Sleep without an event loop (for EAGAIN on non-blocking pipes in synchronous code). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A buffered, synchronous byte sink over a file descriptor. Synchronous on
 * purpose: a SIGINT handler can `flush()` and know everything is written.
 * "-" is stdout.
 * @internal
 */
export class FileSink {
  readonly fd: number;
  private readonly path: string;
  private readonly ownsFd: boolean;
  private buf: Uint8Array;
  readonly dv: DataView;
  pos = 0;
  private closed = false;

  constructor(path: string, bufferSize = 1 << 20) {
    this.path = path;
    if (path === "-") {
      this.fd = 1;
      this.ownsFd = false;
    } else {
      try {
        this.fd = fs.openSync(path, "w");
      } catch (e) {
        throw captureFileSystemError(e, path, "write");
      }
      this.ownsFd = true;
    }
    this.buf = new Uint8Array(bufferSize);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Make room for `n` contiguous bytes at `this.pos` in `this.bytes`; returns false if `n` exceeds the buffer. */
  reserve(n: number): boolean {
    if (this.closed) throw new Error("Cannot write: the capture file writer is closed");
    if (this.pos + n <= this.buf.length) return true;
    this.flush();
    return n <= this.buf.length;
  }

  get bytes(): Uint8Array {
    return this.buf;
  }

  /** Append bytes (copied into the buffer, or written straight through when large). */
  put(data: Uint8Array): void {
    if (this.reserve(data.length)) {
      this.buf.set(data, this.pos);
      this.pos += data.length;
    } else {
      this.writeAll(data);
    }
  }

  /** Append `n` zero bytes (padding, n < 8). */
  pad(n: number): void {
    if (n === 0) return;
    this.reserve(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  flush(): void {
    if (this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        // stdout may be a non-blocking pipe; wait for the reader instead of losing bytes
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
          sleepSync(1);
          continue;
        }
        throw captureFileSystemError(e, this.path, "write");
      }
    }
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      if (this.ownsFd) {
        try {
          fs.closeSync(this.fd);
        } catch (e) {
          // eslint-disable-next-line no-unsafe-finally -- a failed close loses data: say so
          throw captureFileSystemError(e, this.path, "write");
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Reading

/** What the 24-byte pcap file header says. */
export interface PcapHeader {
  littleEndian: boolean;
  nanoseconds: boolean;
  /** Kuznetsov's modified format (24-byte record headers) */
  modified: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  /** LINKTYPE_* (the low 16 bits of the header field) */
  linkType: number;
  /** FCS length in bytes when the header records it (bits 28-31 with bit 26 set), else null */
  fcsLength: number | null;
}

/** True if the first 4 bytes (as a 32-bit number read big-endian) are a pcap magic in either byte order. */
export function isPcapMagic(be32: number): boolean {
  return pcapMagicInfo(be32) !== null;
}

function swap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

function pcapMagicInfo(be32: number): { littleEndian: boolean; magic: number } | null {
  for (const m of [PCAP_MAGIC.MICROSECONDS, PCAP_MAGIC.NANOSECONDS, PCAP_MAGIC.MODIFIED]) {
    if (be32 === m) return { littleEndian: false, magic: m };
    if (be32 === swap32(m)) return { littleEndian: true, magic: m };
  }
  return null;
}

/** Decode a pcap file header from at least 24 bytes; null when the magic is not pcap's. */
export function decodePcapHeader(b: Uint8Array): PcapHeader | null {
  if (b.length < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const info = pcapMagicInfo(dv.getUint32(0, false));
  if (info === null) return null;
  const le = info.littleEndian;
  const lt = dv.getUint32(20, le);
  return {
    littleEndian: le,
    nanoseconds: info.magic === PCAP_MAGIC.NANOSECONDS,
    modified: info.magic === PCAP_MAGIC.MODIFIED,
    versionMajor: dv.getUint16(4, le),
    versionMinor: dv.getUint16(6, le),
    snaplen: dv.getUint32(16, le),
    linkType: lt & 0xffff,
    // draft-ietf-opsawg-pcap: the FCS length (in 16-bit units) is meaningful only with the F bit
    fcsLength: (lt & 0x04000000) !== 0 ? ((lt >>> 28) & 0xf) * 2 : null,
  };
}

/** Parses pcap records after the file header. @internal */
export class PcapParser implements RecordParser {
  problem: string | null = null;
  problemAt = 0;
  need = 0;
  readonly unit = "record";
  private records = 0;
  readonly header: PcapHeader;
  private readonly le: boolean;
  private readonly hdrLen: number;
  private readonly fracScale: number;
  private readonly fracLimit: number;
  private readonly bound: number;
  readonly maxRecord: number;

  constructor(header: PcapHeader) {
    this.header = header;
    this.le = header.littleEndian;
    this.hdrLen = header.modified ? 24 : 16;
    this.fracScale = header.nanoseconds ? 1 : 1000;
    this.fracLimit = header.nanoseconds ? 1_000_000_000 : 1_000_000;
    this.bound = maxSnaplenForLinkType(header.linkType);
    this.maxRecord = this.bound + this.hdrLen;
  }

  get nextIndex(): number {
    return this.records + 1;
  }

  parse(chunk: Chunk, pos: number, batch: BatchBuilder, limit: number): number {
    const { dv, end } = chunk;
    const le = this.le;
    const hdrLen = this.hdrLen;
    const bound = this.bound;
    const scale = this.fracScale;
    const fracLimit = this.fracLimit;
    const linkType = this.header.linkType;
    let n = batch.count;
    while (n < limit) {
      if (end - pos < hdrLen) {
        this.need = hdrLen;
        break;
      }
      const caplen = dv.getUint32(pos + 8, le);
      if (caplen > bound) {
        this.problem = `caplen ${caplen} exceeds the snaplen bound (${bound})`;
        this.problemAt = pos;
        break;
      }
      if (end - pos < hdrLen + caplen) {
        this.need = hdrLen + caplen;
        break;
      }
      let sec = dv.getUint32(pos, le);
      let frac = dv.getUint32(pos + 4, le);
      if (frac >= fracLimit) {
        // a damaged or odd writer: carry whole seconds so nsec stays below 1e9
        sec += Math.floor(frac / fracLimit);
        frac %= fracLimit;
      }
      batch.offset[n] = pos + hdrLen;
      batch.caplen[n] = caplen;
      batch.length[n] = dv.getUint32(pos + 12, le);
      batch.sec[n] = sec;
      batch.nsec[n] = frac * scale;
      batch.linkType[n] = linkType;
      batch.interfaceId[n] = 0;
      n++;
      this.records++;
      pos += hdrLen + caplen;
    }
    batch.count = n;
    return pos;
  }
}

// ---------------------------------------------------------------------------
// Writing

/** Options of {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** LINKTYPE_* of every frame; when absent, taken from the first frame (1, Ethernet, if none is written) */
  linkType?: number;
  /** snaplen recorded in the header (default 262144) */
  snaplen?: number;
  /** nanosecond timestamps (magic a1b23c4d); default microseconds */
  nanoseconds?: boolean;
  /** bytes buffered before a write system call (default 1 MiB) */
  bufferSize?: number;
}

/** The common face of {@link PcapWriter} and PcapngWriter. */
export interface CaptureWriter {
  write(frame: Frame): void;
  writeBatch(batch: FrameBatch): void;
  /** Write everything buffered, synchronously. */
  flush(): void;
  /** Flush and close (idempotent). */
  close(): void;
}

/**
 * Writes a pcap file in the host's byte order (little-endian here), buffered,
 * with synchronous `flush`/`close`. Path "-" is stdout.
 *
 * @example
 * ```ts
 * const w = new PcapWriter("-", { linkType: 1 });
 * w.write(frame);
 * process.on("SIGINT", () => { w.close(); process.exit(0); });
 * ```
 */
export class PcapWriter implements CaptureWriter {
  private readonly sink: FileSink;
  private linkType: number | null;
  private readonly snaplen: number;
  private readonly nanoseconds: boolean;
  private headerWritten = false;

  constructor(path: string, options: PcapWriterOptions = {}) {
    this.linkType = options.linkType ?? null;
    this.snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    this.nanoseconds = options.nanoseconds ?? false;
    this.sink = new FileSink(path, options.bufferSize);
    if (this.linkType !== null) this.writeHeader(this.linkType);
  }

  private writeHeader(linkType: number): void {
    const s = this.sink;
    s.reserve(24);
    const dv = s.dv;
    const p = s.pos;
    dv.setUint32(p, this.nanoseconds ? PCAP_MAGIC.NANOSECONDS : PCAP_MAGIC.MICROSECONDS, true);
    dv.setUint16(p + 4, 2, true);
    dv.setUint16(p + 6, 4, true);
    dv.setUint32(p + 8, 0, true);
    dv.setUint32(p + 12, 0, true);
    dv.setUint32(p + 16, this.snaplen, true);
    dv.setUint32(p + 20, linkType, true);
    s.pos = p + 24;
    this.headerWritten = true;
    this.linkType = linkType;
  }

  private checkLinkType(linkType: number): void {
    if (!this.headerWritten) this.writeHeader(linkType);
    else if (linkType !== this.linkType) {
      throw new Error(
        `Cannot write pcap: the file holds link type ${this.linkType}, the frame has ${linkType} (use pcapng for mixed link types)`,
      );
    }
  }

  private record(data: Uint8Array, length: number, sec: number, nsec: number): void {
    const s = this.sink;
    s.reserve(16);
    const dv = s.dv;
    const p = s.pos;
    dv.setUint32(p, sec >>> 0, true);
    dv.setUint32(p + 4, this.nanoseconds ? nsec : Math.floor(nsec / 1000), true);
    dv.setUint32(p + 8, data.length, true);
    dv.setUint32(p + 12, length, true);
    s.pos = p + 16;
    s.put(data);
  }

  write(frame: Frame): void {
    this.checkLinkType(frame.linkType);
    this.record(frame.data, frame.length, frame.sec, frame.nsec);
  }

  writeBatch(batch: FrameBatch): void {
    for (let i = 0; i < batch.count; i++) {
      this.checkLinkType(batch.linkType[i]!);
      const off = batch.offset[i]!;
      this.record(batch.buffer.subarray(off, off + batch.caplen[i]!), batch.length[i]!, batch.sec[i]!, batch.nsec[i]!);
    }
  }

  flush(): void {
    if (!this.headerWritten) this.writeHeader(this.linkType ?? 1);
    this.sink.flush();
  }

  close(): void {
    if (!this.headerWritten) this.writeHeader(this.linkType ?? 1);
    this.sink.close();
  }
}
