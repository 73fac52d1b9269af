/**
 * Writing pcapng files (draft-ietf-opsawg-pcapng): little-endian, one section,
 * an SHB, one IDB per interface, one EPB per frame.
 *
 * @example
 * ```ts
 * import { PcapngWriter } from "./pcapng_writer.ts";
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
import { type CaptureWriter, DEFAULT_SNAPLEN, FileSink } from "./pcap.ts";
import { PCAPNG_BLOCK, PCAPNG_BYTE_ORDER_MAGIC, PCAPNG_OPTION } from "./pcapng_blocks.ts";

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

/** Interface ids a writer describes at most: what the reader keeps per section (PCAPNG_LIMITS.interfaces). */
const MAX_WRITTEN_INTERFACES = 65536;

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

  private packet(ifid: number, linkType: number, data: Uint8Array, length: number, sec: number, nsec: number, flags?: number): void {
    if (!Number.isInteger(ifid) || ifid < 0 || ifid >= MAX_WRITTEN_INTERFACES) {
      // one IDB is written per id up to it: a stray 4e9 would fill the disk
      throw new RangeError(`Cannot write pcapng: interface id ${ifid} is not in 0..${MAX_WRITTEN_INTERFACES - 1}`);
    }
    while (ifid >= this.linkTypes.length) this.addInterface({ linkType });
    if (this.linkTypes[ifid] !== linkType) {
      throw new Error(
        `Cannot write pcapng: interface ${ifid} has link type ${this.linkTypes[ifid]}, the frame has ${linkType}`,
      );
    }
    const caplen = data.length;
    const padded = (caplen + 3) & ~3;
    // with flags: the epb_flags option (4 + 4 bytes) and opt_endofopt (4)
    const len = 32 + padded + (flags === undefined ? 0 : 12);
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
    if (flags !== undefined) {
      s.reserve(12);
      s.dv.setUint16(s.pos, PCAPNG_OPTION.EPB_FLAGS, true);
      s.dv.setUint16(s.pos + 2, 4, true);
      s.dv.setUint32(s.pos + 4, flags >>> 0, true);
      s.dv.setUint32(s.pos + 8, PCAPNG_OPTION.END_OF_OPT, true);
      s.pos += 12;
    }
    s.reserve(4);
    s.dv.setUint32(s.pos, len, true);
    s.pos += 4;
  }

  /**
   * Write one frame as an EPB; with `epbFlags`, the block carries that
   * epb_flags word (bits 0-1: the direction, `PCAPNG_EPB_DIRECTION` in pcapng_blocks.ts).
   */
  write(frame: Frame, epbFlags?: number): void {
    this.packet(frame.interfaceId, frame.linkType, frame.data, frame.length, frame.sec, frame.nsec, epbFlags);
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
