/**
 * The pcapng file format (draft-ietf-opsawg-pcapng): a stream of blocks, each
 * `type, total length, body, total length`. A Section Header Block (SHB)
 * starts a section and fixes its byte order; Interface Description Blocks
 * (IDB) describe the interfaces of that section; packets come in Enhanced
 * (EPB), Simple (SPB) or obsolete (PB) packet blocks. Every other block is
 * skipped by its length.
 *
 * Memory is bounded whatever a file repeats: the parser keeps only the
 * interfaces and sections it lists (at most {@link PCAPNG_LIMITS} of each,
 * and at most `metadataBytes` of their text options in all); name
 * resolution, statistics, custom and unknown blocks and every other option
 * are skipped, never kept. When a cap is hit the parser says so once per
 * kind in `warnings` (one line each) and goes on; only a packet on an
 * interface it did not keep stops the file, with an error.
 *
 * This module holds the block parser used by openCaptureFile
 * (capture_file.ts). The block and option codes are in pcapng_blocks.ts and
 * {@link PcapngWriter} in pcapng_writer.ts; both are exported here too, so
 * `import { PcapngWriter } from "./pcapng.ts"` keeps working.
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
import type { BatchBuilder, Chunk, RecordParser } from "./pcap.ts";
import { PCAPNG_BLOCK, PCAPNG_BYTE_ORDER_MAGIC, PCAPNG_OPTION } from "./pcapng_blocks.ts";

export { PCAPNG_BLOCK, PCAPNG_BYTE_ORDER_MAGIC, PCAPNG_OPTION } from "./pcapng_blocks.ts";
export { PcapngWriter, type InterfaceSpec, type PcapngWriterOptions } from "./pcapng_writer.ts";

/** Blocks larger than this are refused (libpcap's own reader starts from the same limit). */
const MAX_BLOCK = 16 * 1024 * 1024;
/** ... unless an interface carries D-Bus messages (up to 128 MiB each). */
const MAX_BLOCK_DBUS = 128 * 1024 * 1024 + 4096;

/** What one pcapng file may make the reader keep (see {@link PCAPNG_LIMITS}). */
export interface PcapngLimits {
  /** interface descriptions kept per section, and listed per file */
  interfaces: number;
  /** section headers listed per file (every section is still read) */
  sections: number;
  /** bytes of text options (names, descriptions, filters, hardware, OS, application) kept per file */
  metadataBytes: number;
}

/**
 * The default caps: far above what real captures hold (tcpdump and dumpcap
 * write one section and one interface per capture device), low enough that a
 * file of millions of tiny blocks costs a few tens of MiB at most.
 */
export const PCAPNG_LIMITS: Readonly<PcapngLimits> = Object.freeze({
  interfaces: 65536,
  sections: 65536,
  metadataBytes: 16 * 1024 * 1024,
});

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
  /** interface descriptions of the current section, kept or not */
  private sectionIfaces = 0;
  /** interface descriptions of the file, kept or not (the next interface's id) */
  private fileIfaces = 0;
  private sectionCount = 0;
  private metadataLeft: number;
  private readonly limits: PcapngLimits;
  private readonly warned = new Set<string>();
  maxRecord = MAX_BLOCK;
  /** every interface met so far, over all sections (at most `limits.interfaces`) */
  readonly interfaces: CaptureInterface[] = [];
  /** every section header met so far (at most `limits.sections`) */
  readonly sections: CaptureSection[] = [];
  /** one line per cap that was hit, each at most once */
  readonly warnings: string[] = [];
  /** called with each new warning as it happens */
  onWarning: ((message: string) => void) | null = null;

  constructor(limits: Partial<PcapngLimits> = {}) {
    this.limits = { ...PCAPNG_LIMITS, ...limits };
    this.metadataLeft = this.limits.metadataBytes;
  }

  get nextIndex(): number {
    return this.blocks + 1;
  }

  private warn(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.warnings.push(message);
    this.onWarning?.(message);
  }

  /** A text option, kept while the file's metadata budget lasts. */
  private text(b: Uint8Array): string | null {
    if (b.length > this.metadataLeft) {
      this.warn(
        "metadata",
        `block ${this.nextIndex}: more than ${this.limits.metadataBytes} bytes of interface and section text options: the rest are not kept`,
      );
      return null;
    }
    this.metadataLeft -= b.length;
    return optString(b);
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
      } else if (this.sectionCount === 0) {
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
          this.fail(
            pos,
            ifid < this.sectionIfaces
              ? `packet on interface ${ifid}, beyond the ${this.limits.interfaces} interfaces kept per section`
              : `packet on interface ${ifid}, but the section describes ${this.sectionIfaces} interface(s)`,
          );
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
    const keep = this.sections.length < this.limits.sections;
    const ok = this.options(chunk, pos, pos + 24, pos + len - 4, le, (code, v) => {
      if (!keep) return null;
      if (code === PCAPNG_OPTION.SHB_HARDWARE) section.hardware = this.text(v);
      else if (code === PCAPNG_OPTION.SHB_OS) section.os = this.text(v);
      else if (code === PCAPNG_OPTION.SHB_USERAPPL) section.userAppl = this.text(v);
      return null;
    });
    if (!ok) return false;
    this.sectionCount++;
    if (keep) this.sections.push(section);
    else this.warn("sections", `block ${this.nextIndex}: more than ${this.limits.sections} sections: the rest are read but not listed`);
    // draft-ietf-opsawg-pcapng 4.1: interface ids are local to a section
    this.ifaces = [];
    this.sectionIfaces = 0;
    return true;
  }

  private interfaceDescription(chunk: Chunk, pos: number, len: number, le: boolean): boolean {
    if (len < 20) {
      this.fail(pos, `interface description block length ${len} is less than the minimum of 20`);
      return false;
    }
    const { dv } = chunk;
    // Past the cap an interface is still counted (ids stay right for those kept) but not kept.
    const keepInSection = this.sectionIfaces < this.limits.interfaces;
    const list = this.interfaces.length < this.limits.interfaces;
    const info: CaptureInterface = {
      id: this.fileIfaces,
      section: this.sectionCount - 1,
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
          if (keepInSection) info.name = this.text(v);
          break;
        case PCAPNG_OPTION.IF_DESCRIPTION:
          if (keepInSection) info.description = this.text(v);
          break;
        case PCAPNG_OPTION.IF_FILTER:
          // first byte: 0 = libpcap filter string; other kinds (BPF code, ...) are not kept
          if (keepInSection && v.length >= 1 && v[0] === 0) info.filter = this.text(v.subarray(1));
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
    this.sectionIfaces++;
    this.fileIfaces++;
    if (keepInSection) this.ifaces.push(iface);
    else {
      this.warn(
        "interfaces",
        `block ${this.nextIndex}: more than ${this.limits.interfaces} interfaces in one section: the rest are not kept (a packet on one ends the file)`,
      );
    }
    if (list) this.interfaces.push(info);
    else if (keepInSection) {
      this.warn("interface list", `block ${this.nextIndex}: more than ${this.limits.interfaces} interfaces in the file: the rest are read but not listed`);
    }
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
