/**
 * The pcapng file format (draft-ietf-opsawg-pcapng): a stream of blocks, each
 * `type, total length, body, total length`. A Section Header Block (SHB)
 * starts a section and fixes its byte order; Interface Description Blocks
 * (IDB) describe the interfaces of that section; packets come in Enhanced
 * (EPB), Simple (SPB) or obsolete (PB) packet blocks. Every other block is
 * skipped by its length.
 *
 * This module holds the block parser used by openCaptureFile
 * (capture_file.ts) and {@link PcapngWriter}.
 *
 * @example
 * ```ts
 * import { PcapngWriter } from "./pcapng.ts";
 * const w = new PcapngWriter("out.pcapng", {
 *   interfaces: [{ linkType: 1, name: "eth0", filter: "udp port 53" }],
 *   nanoseconds: true,
 * });
 * w.write({ data: new Uint8Array(60), length: 60, sec: 1, nsec: 5, linkType: 1, interfaceId: 0 });
 * w.close();
 * ```
 *
 * @module
 */
import type { Frame, FrameBatch } from "./frame.ts";
import {
  type BatchBuilder,
  type CaptureWriter,
  type Chunk,
  DEFAULT_SNAPLEN,
  FileSink,
  type RecordParser,
} from "./pcap.ts";

/** Block type codes (draft-ietf-opsawg-pcapng section 10.1). */
export const PCAPNG_BLOCK = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  /** obsolete Packet Block */
  PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
  DECRYPTION_SECRETS: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NO_COPY: 0x40000bad,
} as const;

/** The SHB byte-order magic, as written in the section's own byte order. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes used here (draft-ietf-opsawg-pcapng sections 4.1, 4.2). */
export const PCAPNG_OPTION = {
  END_OF_OPT: 0,
  SHB_HARDWARE: 2,
  SHB_OS: 3,
  SHB_USERAPPL: 4,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_FILTER: 11,
  IF_TSOFFSET: 14,
} as const;

/** Blocks larger than this are refused (libpcap's own reader starts from the same limit). */
const MAX_BLOCK = 16 * 1024 * 1024;
/** ... unless an interface carries D-Bus messages (up to 128 MiB each). */
const MAX_BLOCK_DBUS = 128 * 1024 * 1024 + 4096;

/** One interface of a pcapng file (or the single one of a pcap file). */
export interface CaptureInterface {
  /** index in the reader's interface list: the `interfaceId` of its frames */
  id: number;
  /** 0-based number of the section that described it */
  section: number;
  linkType: number;
  /** 0 means no limit */
  snaplen: number;
  name: string | null;
  description: string | null;
  /** the capture filter in libpcap syntax (if_filter type 0), when recorded */
  filter: string | null;
  /**
   * if_tsresol as in the file: n means units of 10^-n s; with the high bit set,
   * 2^-(n & 0x7f) s. 6 (microseconds) when absent.
   */
  tsresol: number;
  /** if_tsoffset in seconds, added to every timestamp */
  tsoffset: number;
}

/** What the Section Header Blocks said, one entry per section. */
export interface CaptureSection {
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  hardware: string | null;
  os: string | null;
  userAppl: string | null;
}

/** Per-interface state of the parser: the public description plus timestamp arithmetic. */
interface Iface {
  info: CaptureInterface;
  /** units per second when a power of ten <= 1e9 (fast path), else 0 */
  div: number;
  /** nanoseconds per unit on the fast path */
  mult: number;
  /** units per second, for the general path */
  bigDiv: bigint;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

function optString(b: Uint8Array): string {
  // Some writers include a terminating NUL in the option length.
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return utf8.decode(b.subarray(0, n));
}

/** Parses pcapng blocks, one section after another. @internal */
export class PcapngParser implements RecordParser {
  problem: string | null = null;
  problemAt = 0;
  need = 0;
  readonly unit = "block";
  private blocks = 0;
  private le = true;
  private ifaces: Iface[] = [];
  maxRecord = MAX_BLOCK;
  /** every interface met so far, over all sections */
  readonly interfaces: CaptureInterface[] = [];
  readonly sections: CaptureSection[] = [];

  get nextIndex(): number {
    return this.blocks + 1;
  }

  private fail(pos: number, why: string): void {
    this.problem = why;
    this.problemAt = pos;
  }

  parse(chunk: Chunk, pos: number, batch: BatchBuilder, limit: number): number {
    const { dv, end } = chunk;
    let n = batch.count;
    let le = this.le;
    for (;;) {
      if (end - pos < 12) {
        this.need = 12;
        break;
      }
      const type = dv.getUint32(pos, le);
      const isPacket =
        type === PCAPNG_BLOCK.ENHANCED_PACKET || type === PCAPNG_BLOCK.SIMPLE_PACKET || type === PCAPNG_BLOCK.PACKET;
      if (isPacket && n >= limit) break;
      let blockLe = le;
      if (type === PCAPNG_BLOCK.SECTION_HEADER) {
        // The SHB type reads the same in both byte orders; its byte-order magic says which one follows.
        const bom = dv.getUint32(pos + 8, true);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) blockLe = true;
        else if (bom === 0x4d3c2b1a) blockLe = false;
        else {
          this.fail(pos, `section header has a bad byte-order magic 0x${bom.toString(16).padStart(8, "0")}`);
          break;
        }
      } else if (this.sections.length === 0) {
        this.fail(pos, "the file does not start with a section header block");
        break;
      }
      const len = dv.getUint32(pos + 4, blockLe);
      if (len < 12) {
        this.fail(pos, `block length ${len} is less than the minimum of 12`);
        break;
      }
      if (len % 4 !== 0) {
        this.fail(pos, `block length ${len} is not a multiple of 4`);
        break;
      }
      if (len > this.maxRecord) {
        this.fail(pos, `block length ${len} exceeds the limit of ${this.maxRecord} bytes`);
        break;
      }
      if (end - pos < len) {
        this.need = len;
        break;
      }
      const trailer = dv.getUint32(pos + len - 4, blockLe);
      if (trailer !== len) {
        this.fail(pos, `block length ${len} at the start disagrees with ${trailer} at the end`);
        break;
      }
      if (type === PCAPNG_BLOCK.ENHANCED_PACKET || type === PCAPNG_BLOCK.PACKET) {
        // The obsolete Packet Block has the EPB's layout, but for a 16-bit
        // interface id followed by a 16-bit drops count where the EPB has a
        // 32-bit interface id (draft-ietf-opsawg-pcapng, Appendix A).
        const enhanced = type === PCAPNG_BLOCK.ENHANCED_PACKET;
        if (len < 32) {
          this.fail(pos, `${enhanced ? "enhanced packet" : "packet"} block length ${len} is less than the minimum of 32`);
          break;
        }
        const ifid = enhanced ? dv.getUint32(pos + 8, le) : dv.getUint16(pos + 8, le);
        const iface = this.ifaces[ifid];
        if (iface === undefined) {
          this.fail(pos, `packet on interface ${ifid}, but the section describes ${this.ifaces.length} interface(s)`);
          break;
        }
        const caplen = dv.getUint32(pos + 20, le);
        if (caplen > len - 32) {
          this.fail(pos, `caplen ${caplen} exceeds the ${len - 32} bytes of packet data in the block`);
          break;
        }
        batch.offset[n] = pos + 28;
        batch.caplen[n] = caplen;
        batch.length[n] = dv.getUint32(pos + 24, le);
        setTime(batch, n, iface, dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le));
        batch.linkType[n] = iface.info.linkType;
        batch.interfaceId[n] = iface.info.id;
        n++;
      } else if (type === PCAPNG_BLOCK.SIMPLE_PACKET) {
        if (len < 16) {
          this.fail(pos, `simple packet block length ${len} is less than the minimum of 16`);
          break;
        }
        const iface = this.ifaces[0];
        if (iface === undefined) {
          this.fail(pos, "simple packet block, but the section describes no interface");
          break;
        }
        // draft-ietf-opsawg-pcapng 4.4: the captured length is the original length
        // bounded by IDB 0's snaplen (and, in a damaged file, by the block itself)
        const origlen = dv.getUint32(pos + 8, le);
        let caplen = Math.min(origlen, len - 16);
        if (iface.info.snaplen !== 0 && caplen > iface.info.snaplen) caplen = iface.info.snaplen;
        batch.offset[n] = pos + 12;
        batch.caplen[n] = caplen;
        batch.length[n] = origlen;
        // no timestamp in an SPB
        batch.sec[n] = 0;
        batch.nsec[n] = 0;
        batch.linkType[n] = iface.info.linkType;
        batch.interfaceId[n] = iface.info.id;
        n++;
      } else if (type === PCAPNG_BLOCK.SECTION_HEADER) {
        if (!this.sectionHeader(chunk, pos, len, blockLe)) break;
        le = blockLe;
        this.le = le;
      } else if (type === PCAPNG_BLOCK.INTERFACE_DESCRIPTION) {
        if (!this.interfaceDescription(chunk, pos, len, le)) break;
      }
      // anything else (NRB, ISB, DSB, custom, unknown) is skipped by its length
      this.blocks++;
      pos += len;
    }
    batch.count = n;
    return pos;
  }

  /** Walk the options of a block body; false (and `problem` set) when one runs past the end. */
  private options(
    chunk: Chunk,
    pos: number,
    start: number,
    stop: number,
    le: boolean,
    each: (code: number, value: Uint8Array) => string | null,
  ): boolean {
    const { dv, buf } = chunk;
    let p = start;
    while (stop - p >= 4) {
      const code = dv.getUint16(p, le);
      const olen = dv.getUint16(p + 2, le);
      if (code === PCAPNG_OPTION.END_OF_OPT) break;
      if (p + 4 + olen > stop) {
        this.fail(pos, `option ${code} (${olen} bytes) runs past the end of the block`);
        return false;
      }
      const why = each(code, buf.subarray(p + 4, p + 4 + olen));
      if (why !== null) {
        this.fail(pos, why);
        return false;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    return true;
  }

  private sectionHeader(chunk: Chunk, pos: number, len: number, le: boolean): boolean {
    if (len < 28) {
      this.fail(pos, `section header block length ${len} is less than the minimum of 28`);
      return false;
    }
    const { dv } = chunk;
    const major = dv.getUint16(pos + 12, le);
    const minor = dv.getUint16(pos + 14, le);
    if (major !== 1) {
      this.fail(pos, `unsupported pcapng version ${major}.${minor}`);
      return false;
    }
    const section: CaptureSection = {
      littleEndian: le,
      versionMajor: major,
      versionMinor: minor,
      hardware: null,
      os: null,
      userAppl: null,
    };
    const ok = this.options(chunk, pos, pos + 24, pos + len - 4, le, (code, v) => {
      if (code === PCAPNG_OPTION.SHB_HARDWARE) section.hardware = optString(v);
      else if (code === PCAPNG_OPTION.SHB_OS) section.os = optString(v);
      else if (code === PCAPNG_OPTION.SHB_USERAPPL) section.userAppl = optString(v);
      return null;
    });
    if (!ok) return false;
    this.sections.push(section);
    // draft-ietf-opsawg-pcapng 4.1: interface ids are local to a section
    this.ifaces = [];
    return true;
  }

  private interfaceDescription(chunk: Chunk, pos: number, len: number, le: boolean): boolean {
    if (len < 20) {
      this.fail(pos, `interface description block length ${len} is less than the minimum of 20`);
      return false;
    }
    const { dv } = chunk;
    const info: CaptureInterface = {
      id: this.interfaces.length,
      section: this.sections.length - 1,
      linkType: dv.getUint16(pos + 8, le),
      snaplen: dv.getUint32(pos + 12, le),
      name: null,
      description: null,
      filter: null,
      tsresol: 6,
      tsoffset: 0,
    };
    const ok = this.options(chunk, pos, pos + 16, pos + len - 4, le, (code, v) => {
      switch (code) {
        case PCAPNG_OPTION.IF_NAME:
          info.name = optString(v);
          break;
        case PCAPNG_OPTION.IF_DESCRIPTION:
          info.description = optString(v);
          break;
        case PCAPNG_OPTION.IF_FILTER:
          // first byte: 0 = libpcap filter string; other kinds (BPF code, ...) are not kept
          if (v.length >= 1 && v[0] === 0) info.filter = optString(v.subarray(1));
          break;
        case PCAPNG_OPTION.IF_TSRESOL:
          if (v.length !== 1) return `if_tsresol option has length ${v.length}, not 1`;
          info.tsresol = v[0]!;
          break;
        case PCAPNG_OPTION.IF_TSOFFSET: {
          if (v.length !== 8) return `if_tsoffset option has length ${v.length}, not 8`;
          const ov = new DataView(v.buffer, v.byteOffset, 8);
          info.tsoffset = Number(ov.getBigInt64(0, le));
          break;
        }
      }
      return null;
    });
    if (!ok) return false;
    const iface = makeIface(info);
    if (iface === null) {
      this.fail(pos, `if_tsresol 0x${info.tsresol.toString(16)} is finer than 2^-64 s, not supported`);
      return false;
    }
    if (info.linkType === 231) this.maxRecord = MAX_BLOCK_DBUS;
    this.ifaces.push(iface);
    this.interfaces.push(info);
    return true;
  }
}

function makeIface(info: CaptureInterface): Iface | null {
  const r = info.tsresol;
  const pow2 = (r & 0x80) !== 0;
  const e = r & 0x7f;
  // More than 2^64 units per second cannot come from a 64-bit timestamp counter worth reading.
  if ((pow2 && e > 63) || (!pow2 && e > 19)) return null;
  if (!pow2 && e <= 9) {
    const div = 10 ** e;
    return { info, div, mult: 1_000_000_000 / div, bigDiv: BigInt(div) };
  }
  return { info, div: 0, mult: 0, bigDiv: pow2 ? 1n << BigInt(e) : 10n ** BigInt(e) };
}

/**
 * The 64-bit timestamp `hi:lo` in units of 1/div s, as exact (sec, nsec).
 * Numbers are exact below 2^53; nanosecond counts of today (~1.7e18) are
 * not, so those are divided in 32+16+16-bit steps, each exact.
 */
function setTime(batch: BatchBuilder, n: number, iface: Iface, hi: number, lo: number): void {
  const d = iface.div;
  let s: number;
  let f: number;
  if (d !== 0) {
    if (hi < 0x200000) {
      const ts = hi * 4294967296 + lo;
      s = Math.floor(ts / d);
      f = ts - s * d;
      // the quotient was rounded to a double: correct a floor that is off by one
      if (f < 0) {
        s--;
        f += d;
      } else if (f >= d) {
        s++;
        f -= d;
      }
    } else {
      const qh = Math.floor(hi / d);
      let r = hi - qh * d;
      let v = r * 65536 + (lo >>> 16);
      const q1 = Math.floor(v / d);
      r = v - q1 * d;
      v = r * 65536 + (lo & 0xffff);
      const q0 = Math.floor(v / d);
      f = v - q0 * d;
      s = qh * 4294967296 + q1 * 65536 + q0;
    }
    f *= iface.mult;
  } else {
    const ts = (BigInt(hi) << 32n) | BigInt(lo);
    const bd = iface.bigDiv;
    s = Number(ts / bd);
    f = Number(((ts % bd) * 1_000_000_000n) / bd);
  }
  batch.sec[n] = s + iface.info.tsoffset;
  batch.nsec[n] = f;
}

// ---------------------------------------------------------------------------
// Writing

/** An interface to describe in a written pcapng file. */
export interface InterfaceSpec {
  linkType: number;
  /** default 262144 */
  snaplen?: number;
  name?: string;
  description?: string;
  /** the BPF filter of a live capture, in libpcap syntax */
  filter?: string;
}

/** Options of {@link PcapngWriter}. */
export interface PcapngWriterOptions {
  /**
   * The interfaces, in `interfaceId` order. A frame whose `interfaceId` is not
   * described yet gets an IDB made from its link type before it is written.
   */
  interfaces?: readonly InterfaceSpec[];
  /** nanosecond timestamps (if_tsresol 9); default microseconds */
  nanoseconds?: boolean;
  /** shb_userappl (default "stackts") */
  userAppl?: string;
  /** bytes buffered before a write system call (default 1 MiB) */
  bufferSize?: number;
}

const utf8Encoder = new TextEncoder();

/**
 * Writes a pcapng file (little-endian, one section): an SHB with
 * shb_userappl, one IDB per interface, then one EPB per frame. Buffered, with
 * synchronous `flush`/`close`. Path "-" is stdout.
 */
export class PcapngWriter implements CaptureWriter {
  private readonly sink: FileSink;
  private readonly nanoseconds: boolean;
  private readonly linkTypes: number[] = [];

  constructor(path: string, options: PcapngWriterOptions = {}) {
    this.nanoseconds = options.nanoseconds ?? false;
    this.sink = new FileSink(path, options.bufferSize);
    this.block(PCAPNG_BLOCK.SECTION_HEADER, shbBody(options.userAppl ?? "stackts"));
    for (const spec of options.interfaces ?? []) this.addInterface(spec);
  }

  /** Describe one more interface; returns its id. */
  addInterface(spec: InterfaceSpec): number {
    const fixed = new Uint8Array(8);
    const fdv = new DataView(fixed.buffer);
    fdv.setUint16(0, spec.linkType, true);
    fdv.setUint32(4, spec.snaplen ?? DEFAULT_SNAPLEN, true);
    const opts: Uint8Array[] = [fixed];
    if (spec.name !== undefined) opts.push(option(PCAPNG_OPTION.IF_NAME, utf8Encoder.encode(spec.name)));
    if (spec.description !== undefined) {
      opts.push(option(PCAPNG_OPTION.IF_DESCRIPTION, utf8Encoder.encode(spec.description)));
    }
    if (spec.filter !== undefined) {
      const f = utf8Encoder.encode(spec.filter);
      const v = new Uint8Array(1 + f.length); // v[0] = 0: a libpcap filter string
      v.set(f, 1);
      opts.push(option(PCAPNG_OPTION.IF_FILTER, v));
    }
    if (this.nanoseconds) opts.push(option(PCAPNG_OPTION.IF_TSRESOL, Uint8Array.of(9)));
    if (opts.length > 1) opts.push(new Uint8Array(4)); // opt_endofopt
    this.block(PCAPNG_BLOCK.INTERFACE_DESCRIPTION, concat(opts));
    this.linkTypes.push(spec.linkType);
    return this.linkTypes.length - 1;
  }

  private block(type: number, body: Uint8Array): void {
    const len = 12 + body.length;
    const s = this.sink;
    s.reserve(8);
    s.dv.setUint32(s.pos, type, true);
    s.dv.setUint32(s.pos + 4, len, true);
    s.pos += 8;
    s.put(body);
    s.reserve(4);
    s.dv.setUint32(s.pos, len, true);
    s.pos += 4;
  }

  private packet(ifid: number, linkType: number, data: Uint8Array, length: number, sec: number, nsec: number): void {
    while (ifid >= this.linkTypes.length) this.addInterface({ linkType });
    if (this.linkTypes[ifid] !== linkType) {
      throw new Error(
        `Cannot write pcapng: interface ${ifid} has link type ${this.linkTypes[ifid]}, the frame has ${linkType}`,
      );
    }
    const caplen = data.length;
    const padded = (caplen + 3) & ~3;
    const len = 32 + padded;
    let hi: number;
    let lo: number;
    if (this.nanoseconds) {
      // sec * 1e9 + nsec exceeds 2^53: multiply in 16-bit halves of sec, each product exact
      if (sec < 4294967296) {
        const x = Math.floor(sec / 65536) * 1_000_000_000;
        const y = (sec % 65536) * 1_000_000_000 + nsec;
        const xhi = Math.floor(x / 65536);
        const z = (x - xhi * 65536) * 65536 + y;
        const carry = Math.floor(z / 4294967296);
        hi = xhi + carry;
        lo = z - carry * 4294967296;
      } else {
        const ts = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
        hi = Number(ts >> 32n);
        lo = Number(ts & 0xffffffffn);
      }
    } else {
      const ts = sec * 1_000_000 + Math.floor(nsec / 1000);
      hi = Math.floor(ts / 4294967296);
      lo = ts - hi * 4294967296;
    }
    const s = this.sink;
    s.reserve(28);
    const dv = s.dv;
    const p = s.pos;
    dv.setUint32(p, PCAPNG_BLOCK.ENHANCED_PACKET, true);
    dv.setUint32(p + 4, len, true);
    dv.setUint32(p + 8, ifid, true);
    dv.setUint32(p + 12, hi, true);
    dv.setUint32(p + 16, lo, true);
    dv.setUint32(p + 20, caplen, true);
    dv.setUint32(p + 24, length, true);
    s.pos = p + 28;
    s.put(data);
    s.pad(padded - caplen);
    s.reserve(4);
    s.dv.setUint32(s.pos, len, true);
    s.pos += 4;
  }

  write(frame: Frame): void {
    this.packet(frame.interfaceId, frame.linkType, frame.data, frame.length, frame.sec, frame.nsec);
  }

  writeBatch(batch: FrameBatch): void {
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offset[i]!;
      this.packet(
        batch.interfaceId[i]!,
        batch.linkType[i]!,
        batch.buffer.subarray(off, off + batch.caplen[i]!),
        batch.length[i]!,
        batch.sec[i]!,
        batch.nsec[i]!,
      );
    }
  }

  flush(): void {
    this.sink.flush();
  }

  close(): void {
    this.sink.close();
  }
}

function option(code: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + ((value.length + 3) & ~3));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, code, true);
  dv.setUint16(2, value.length, true);
  out.set(value, 4);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function shbBody(userAppl: string): Uint8Array {
  const fixed = new Uint8Array(16);
  const dv = new DataView(fixed.buffer);
  dv.setUint32(0, PCAPNG_BYTE_ORDER_MAGIC, true);
  dv.setUint16(4, 1, true);
  dv.setUint16(6, 0, true);
  // section length -1: not specified (draft-ietf-opsawg-pcapng 4.1)
  dv.setUint32(8, 0xffffffff, true);
  dv.setUint32(12, 0xffffffff, true);
  return concat([fixed, option(PCAPNG_OPTION.SHB_USERAPPL, utf8Encoder.encode(userAppl)), new Uint8Array(4)]);
}
