/**
 * Reading capture files (pcap or pcapng, told apart by their first 4 bytes)
 * as a stream with flat memory, and opening a writer by file extension.
 *
 * The reader reads through a file descriptor in large chunks (8 MiB; a
 * record larger than that grows the buffer up to the format's hard limit)
 * and hands out frames in three ways:
 *
 * - {@link CaptureFileReader.readBatches}: zero-copy batches, each valid only
 *   during its callback (the fast path);
 * - `for await (const f of reader)`: one {@link Frame} per packet, copied, safe to keep;
 * - {@link CaptureFileReader.frames}: the same, synchronously.
 *
 * A damaged file yields every good frame before the damage, then exactly one
 * {@link CaptureFileError}. Memory stays bounded whatever blocks a file
 * repeats: see {@link PCAPNG_LIMITS}; a cap that is hit is a warning
 * (`warnings`, `onWarning`), not an error.
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "./capture_file.ts";
 * const r = openCaptureFile("trace.pcapng");
 * let bytes = 0;
 * await r.readBatches((b) => { for (let i = 0; i < b.count; i++) bytes += b.caplen[i]!; });
 * r.close();
 * ```
 *
 * @module
 */
import * as fs from "node:fs";
import { CaptureFileError, captureFileSystemError } from "./errors.ts";
import { frameAt, type Frame, type FrameBatch } from "./frame.ts";
import {
  BatchBuilder,
  type CaptureWriter,
  type Chunk,
  decodePcapHeader,
  PcapParser,
  PcapWriter,
  type RecordParser,
} from "./pcap.ts";
import {
  type CaptureInterface,
  type CaptureSection,
  type InterfaceSpec,
  PcapngParser,
  type PcapngLimits,
  PcapngWriter,
} from "./pcapng.ts";

export type { CaptureInterface, CaptureSection, InterfaceSpec, PcapngLimits } from "./pcapng.ts";
export { PCAPNG_LIMITS } from "./pcapng.ts";
export type { CaptureWriter } from "./pcap.ts";

// The error class lives in errors.ts (the writers in pcap.ts throw it too); exported here where it always was.
export { CaptureFileError };

/** Options of {@link openCaptureFile}. */
export interface CaptureFileOptions {
  /** bytes per read (default 8 MiB) */
  chunkSize?: number;
  /** most frames per batch (default 16384) */
  batchSize?: number;
  /** pcapng: lower (or raise) the caps on what the reader keeps (default {@link PCAPNG_LIMITS}) */
  limits?: Partial<PcapngLimits>;
  /**
   * Called once per cap that is hit, with one line saying which (also kept in
   * {@link CaptureFileReader.warnings}); reading goes on.
   */
  onWarning?: (message: string) => void;
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A capture file opened for reading. See the module documentation. */
export class CaptureFileReader implements AsyncIterable<Frame> {
  /** the path as given ("-" for stdin) */
  readonly path: string;
  /** "pcap" or "pcapng" */
  readonly format: "pcap" | "pcapng";
  private fd: number;
  private readonly ownsFd: boolean;
  /** size of a regular file (bounds buffer growth for lying lengths), else null */
  private readonly fileSize: number | null;
  private readonly chunk: Chunk;
  private pos = 0;
  private eof = false;
  private finished = false;
  private pendingError: CaptureFileError | null = null;
  private readonly parser: RecordParser;
  private readonly pcapParser: PcapParser | null;
  private readonly pcapngParser: PcapngParser | null;
  private readonly batch: BatchBuilder;
  private readonly chunkSize: number;

  /** @internal use {@link openCaptureFile} */
  constructor(path: string, options: CaptureFileOptions = {}) {
    this.path = path;
    this.chunkSize = Math.max(options.chunkSize ?? DEFAULT_CHUNK, 64);
    this.batch = new BatchBuilder(options.batchSize ?? 16384);
    if (path === "-") {
      this.fd = 0;
      this.ownsFd = false;
    } else {
      try {
        this.fd = fs.openSync(path, "r");
      } catch (e) {
        throw captureFileSystemError(e, path, "read");
      }
      this.ownsFd = true;
    }
    try {
      const st = fs.fstatSync(this.fd);
      this.fileSize = st.isFile() ? st.size : null;
      // a small regular file gets a buffer of its own size, not 8 MiB
      const size = this.fileSize !== null ? Math.max(64, Math.min(this.chunkSize, this.fileSize)) : this.chunkSize;
      const buf = new Uint8Array(size);
      this.chunk = { buf, dv: new DataView(buf.buffer), base: 0, end: 0 };
      // The header must be here before the reader can say what it is.
      while (this.chunk.end < 24 && !this.eof) this.fillSync();
      const { buf: b, end } = this.chunk;
      if (end === 0) throw this.error("the file is empty (not a pcap or pcapng file)");
      if (end < 4) throw this.error(`file ends in the middle of the file header (${end} of 4 magic bytes)`);
      const magic = this.chunk.dv.getUint32(0, false);
      if (magic === 0x0a0d0d0a) {
        this.format = "pcapng";
        this.pcapngParser = new PcapngParser(options.limits);
        if (options.onWarning !== undefined) this.pcapngParser.onWarning = options.onWarning;
        this.pcapParser = null;
        this.parser = this.pcapngParser;
        // Read the section header and the interface descriptions ahead of the first packet.
        this.advance(0);
      } else {
        const header = decodePcapHeader(b.subarray(0, end));
        if (header === null) {
          if (end >= 24 || !isPcapPrefix(magic)) {
            throw this.error(`not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, "0")})`);
          }
          throw this.error(`file ends in the middle of the file header (${end} of 24 bytes)`);
        }
        this.format = "pcap";
        this.pcapParser = new PcapParser(header);
        this.pcapngParser = null;
        this.parser = this.pcapParser;
        this.pos = 24;
      }
    } catch (e) {
      this.close();
      throw captureFileSystemError(e, path, "read");
    }
  }

  /** LINKTYPE_* of the first interface (null: a pcapng file that describes none before its first packet or end). */
  get linkType(): number | null {
    if (this.pcapParser !== null) return this.pcapParser.header.linkType;
    return this.pcapngParser!.interfaces[0]?.linkType ?? null;
  }

  /**
   * The interfaces seen so far: for pcapng every IDB up to the first packet
   * after opening, growing while reading; for pcap the single one the header
   * describes.
   */
  get interfaces(): readonly CaptureInterface[] {
    if (this.pcapParser !== null) {
      const h = this.pcapParser.header;
      return [
        {
          id: 0,
          section: 0,
          linkType: h.linkType,
          snaplen: h.snaplen,
          name: null,
          description: null,
          filter: null,
          tsresol: h.nanoseconds ? 9 : 6,
          tsoffset: 0,
        },
      ];
    }
    return this.pcapngParser!.interfaces;
  }

  /** Byte offset in the file of the next record to read (for progress lines). */
  get position(): number {
    return this.chunk.base + this.pos;
  }

  /** The file's size when it is a regular file, else null (stdin, a pipe). */
  get size(): number | null {
    return this.fileSize;
  }

  /** The caps hit so far, one line each (see {@link CaptureFileOptions.onWarning}). */
  get warnings(): readonly string[] {
    return this.pcapngParser?.warnings ?? [];
  }

  /** pcapng: what each Section Header Block said so far; pcap: empty. */
  get sections(): readonly CaptureSection[] {
    return this.pcapngParser?.sections ?? [];
  }

  /** pcap: whether timestamps are nanoseconds (magic a1b23c4d); pcapng: whether the first interface's resolution is finer than µs. */
  get nanoseconds(): boolean {
    if (this.pcapParser !== null) return this.pcapParser.header.nanoseconds;
    const r = this.pcapngParser!.interfaces[0]?.tsresol ?? 6;
    return (r & 0x80) !== 0 ? (r & 0x7f) >= 20 : r > 6;
  }

  private error(what: string, offset: number | null = null): CaptureFileError {
    return new CaptureFileError(this.path, what, offset);
  }

  /**
   * Parse what is in the buffer into the batch (up to `limit` frames).
   * Returns "full" (batch full), "need" (more bytes needed), or "error"
   * (pendingError set).
   */
  private advance(limit: number): "full" | "need" | "error" {
    const p = this.parser;
    this.batch.buffer = this.chunk.buf;
    this.pos = p.parse(this.chunk, this.pos, this.batch, limit);
    if (p.problem !== null) {
      const at = this.chunk.base + p.problemAt;
      this.pendingError = this.error(`${p.unit} ${p.nextIndex} at byte ${at}: ${p.problem}`, at);
      return "error";
    }
    if (this.batch.count >= limit) return "full";
    return "need";
  }

  /** Before reading more: move the unread tail to the front, grow the buffer if one record needs it. */
  private prepareRead(): CaptureFileError | null {
    const c = this.chunk;
    const need = this.parser.need;
    const at = c.base + this.pos;
    if (need > c.buf.length) {
      if (need > this.parser.maxRecord) {
        return this.error(`${this.parser.unit} ${this.parser.nextIndex} at byte ${at}: length ${need} exceeds the limit of ${this.parser.maxRecord} bytes`, at);
      }
      if (this.fileSize !== null && at + need > this.fileSize) return this.truncated();
      const bigger = new Uint8Array(Math.max(need, c.buf.length * 2));
      bigger.set(c.buf.subarray(this.pos, c.end));
      c.buf = bigger;
      c.dv = new DataView(bigger.buffer);
    } else if (this.pos > 0) {
      c.buf.copyWithin(0, this.pos, c.end);
    }
    c.end -= this.pos;
    c.base += this.pos;
    this.pos = 0;
    return null;
  }

  private truncated(): CaptureFileError {
    const c = this.chunk;
    const at = c.base + this.pos;
    const have = c.end - this.pos;
    const need = this.parser.need;
    const haveTotal = this.fileSize !== null ? this.fileSize - at : have;
    return this.error(
      `file ends in the middle of ${this.parser.unit} ${this.parser.nextIndex} at byte ${at} (${haveTotal} of ${need} bytes)`,
      at,
    );
  }

  /** One synchronous read into the free tail of the buffer. */
  private fillSync(): void {
    const c = this.chunk;
    for (;;) {
      try {
        const n = fs.readSync(this.fd, c.buf, c.end, c.buf.length - c.end, null);
        if (n === 0) this.eof = true;
        c.end += n;
        return;
      } catch (e) {
        // stdin may be a non-blocking pipe
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
          sleepSync(2);
          continue;
        }
        throw captureFileSystemError(e, this.path, "read");
      }
    }
  }

  private fillAsync(): Promise<void> {
    const c = this.chunk;
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        fs.read(this.fd, c.buf, c.end, c.buf.length - c.end, null, (err, n) => {
          if (err) {
            if (err.code === "EAGAIN") {
              setTimeout(attempt, 2);
              return;
            }
            reject(captureFileSystemError(err, this.path, "read"));
            return;
          }
          if (n === 0) this.eof = true;
          c.end += n;
          resolve();
        });
      };
      attempt();
    });
  }

  /**
   * The next step of the state machine. Returns "batch" when `this.batch`
   * holds frames to hand out, "read" when it needs a read, "done" at the end,
   * or throws the file's error (once).
   */
  private step(): "batch" | "read" | "done" {
    if (this.finished) return "done";
    if (this.pendingError !== null) {
      const e = this.pendingError;
      this.pendingError = null;
      this.finished = true;
      throw e;
    }
    this.batch.count = 0;
    const r = this.advance(this.batch.capacity);
    if (this.batch.count > 0) return "batch"; // an error found after them waits for the next step
    if (r === "error") return this.step();
    if (r === "full") return "batch";
    // need more bytes
    if (this.eof) {
      this.finished = this.chunk.end === this.pos;
      if (this.finished) return "done";
      this.pendingError = this.truncated();
      return this.step();
    }
    const e = this.prepareRead();
    if (e !== null) {
      this.pendingError = e;
      return this.step();
    }
    return "read";
  }

  /**
   * Zero-copy reading: `onBatch` gets the frames of each chunk (at most
   * `batchSize` at a time) as views into the read buffer, valid only until
   * it returns. Resolves at the end of the file; rejects with one
   * {@link CaptureFileError} after delivering every good frame before the damage.
   */
  async readBatches(onBatch: (batch: FrameBatch) => void): Promise<void> {
    for (;;) {
      const s = this.step();
      if (s === "done") return;
      if (s === "batch") onBatch(this.batch);
      else await this.fillAsync();
    }
  }

  /** The same as {@link readBatches}, synchronously (blocking reads). */
  readBatchesSync(onBatch: (batch: FrameBatch) => void): void {
    for (;;) {
      const s = this.step();
      if (s === "done") return;
      if (s === "batch") onBatch(this.batch);
      else this.fillSync();
    }
  }

  /** Frames one by one, each a copy that is safe to keep; synchronous reads. */
  *frames(): Generator<Frame, void, undefined> {
    for (;;) {
      const s = this.step();
      if (s === "done") return;
      if (s === "batch") {
        const b = this.batch;
        for (let i = 0; i < b.count; i++) yield frameAt(b, i);
      } else this.fillSync();
    }
  }

  /**
   * Frames one by one, each a copy that is safe to keep. A plain iterator
   * object rather than an async generator: frames already in the buffer are
   * handed out as resolved promises, without a generator's per-frame machinery.
   */
  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    let i = 0;
    let have = 0;
    const next = async (): Promise<IteratorResult<Frame>> => {
      for (;;) {
        if (i < have) return { value: frameAt(this.batch, i++), done: false };
        const s = this.step();
        if (s === "done") return { value: undefined, done: true };
        if (s === "batch") {
          i = 0;
          have = this.batch.count;
        } else {
          have = 0;
          await this.fillAsync();
        }
      }
    };
    return {
      next: (): Promise<IteratorResult<Frame>> => {
        if (i < have) return Promise.resolve({ value: frameAt(this.batch, i++), done: false });
        return next();
      },
    };
  }

  /** Close the file (idempotent; stdin is left open). */
  close(): void {
    this.finished = true;
    if (this.ownsFd && this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** Could these 4 bytes start a pcap magic (used to tell "too short" from "not pcap")? */
function isPcapPrefix(magic: number): boolean {
  return decodePcapHeader(headerWithMagic(magic)) !== null;
}

function headerWithMagic(magic: number): Uint8Array {
  const b = new Uint8Array(24);
  new DataView(b.buffer).setUint32(0, magic, false);
  return b;
}

/**
 * Open a pcap or pcapng file for reading ("-" is stdin). Reads the file
 * header (and for pcapng the blocks before the first packet) at once, so
 * `linkType` and `interfaces` are known on return.
 *
 * @throws {CaptureFileError} when the file cannot be opened (no such file, permission denied, ...), is empty, too short, or not a capture file
 */
export function openCaptureFile(path: string, options: CaptureFileOptions = {}): CaptureFileReader {
  return new CaptureFileReader(path, options);
}

/** Options of {@link openCaptureWriter}. */
export interface CaptureWriterOptions {
  /** the interfaces; a pcap file uses the first one's link type and snaplen */
  interfaces?: readonly InterfaceSpec[];
  /** nanosecond timestamps (pcap magic a1b23c4d, pcapng if_tsresol 9) */
  nanoseconds?: boolean;
}

/**
 * A writer for `path` ("-" is stdout): pcapng for names ending in .pcapng or
 * .ntar, pcap otherwise.
 *
 * @example
 * ```ts
 * const w = openCaptureWriter("live.pcapng", { interfaces: [{ linkType: 1, name: "eth0", filter: "tcp" }] });
 * w.writeBatch(batch);
 * w.close();
 * ```
 */
export function openCaptureWriter(path: string, options: CaptureWriterOptions = {}): CaptureWriter {
  try {
    return makeWriter(path, options);
  } catch (e) {
    throw captureFileSystemError(e, path, "write");
  }
}

function makeWriter(path: string, options: CaptureWriterOptions): CaptureWriter {
  const nanoseconds = options.nanoseconds ?? false;
  if (/\.(pcapng|ntar)$/i.test(path)) {
    return new PcapngWriter(path, { nanoseconds, ...(options.interfaces ? { interfaces: options.interfaces } : {}) });
  }
  const first = options.interfaces?.[0];
  return new PcapWriter(path, {
    nanoseconds,
    ...(first ? { linkType: first.linkType } : {}),
    ...(first?.snaplen !== undefined ? { snaplen: first.snaplen } : {}),
  });
}
