/**
 * BPF filters for frames that do not come from a live capture (files, crafted
 * frames): compiled by libpcap's own compiler for a link type, so an
 * expression means exactly what it means to tcpdump and to a live capture.
 *
 * ```ts
 * import { BpfFilter } from "./bpf.ts";
 * const f = new BpfFilter("udp port 53", 1); // 1 = LINKTYPE_ETHERNET
 * f.matches(frameBytes);                    // true or false
 * const keep = f.matchBatch(batch);          // Uint8Array of 0/1, one per frame
 * ```
 *
 * A pcapng file may mix link types (an Ethernet interface and a raw-IP one):
 * {@link BpfFilterSet} compiles the expression once per link type it meets and
 * runs each frame through the program of its own link type, as tshark does.
 *
 * @module
 */
import { toCaptureError } from "./errors.ts";
import type { FrameBatch } from "./frame.ts";
import { loadAddon, type NativeBpfProgram } from "./native.ts";

/**
 * The DLT_* value libpcap compiles for, for a LINKTYPE_* value of a file. They
 * are the same number except for the few that differ between systems
 * (tcpdump.org's link-layer header types list; Linux's DLT numbers).
 */
export function dltOfLinkType(linkType: number): number {
  switch (linkType) {
    case 100: // LINKTYPE_ATM_RFC1483
      return 11;
    case 101: // LINKTYPE_RAW
    case 14: // DLT_RAW as OpenBSD numbers it, found in old files
      return 12;
    case 102: // LINKTYPE_SLIP_BSDOS
      return 15;
    case 103: // LINKTYPE_PPP_BSDOS
      return 16;
    case 106: // LINKTYPE_ATM_CLIP
      return 19;
    default:
      return linkType;
  }
}

/**
 * The LINKTYPE_* value a file records for a DLT_* value libpcap reports for a
 * device (the inverse of {@link dltOfLinkType}): a tun device is DLT_RAW (12)
 * on Linux, written as LINKTYPE_RAW (101) as tcpdump -w writes it.
 */
export function linkTypeOfDlt(dlt: number): number {
  switch (dlt) {
    case 11: // DLT_ATM_RFC1483
      return 100;
    case 12: // DLT_RAW (Linux)
      return 101;
    case 15: // DLT_SLIP_BSDOS
      return 102;
    case 16: // DLT_PPP_BSDOS
      return 103;
    case 19: // DLT_ATM_CLIP (Linux)
      return 106;
    default:
      return dlt;
  }
}

export class BpfFilter {
  readonly expression: string;
  /** LINKTYPE_* the filter was compiled for */
  readonly linkType: number;
  readonly snaplen: number;
  #program: NativeBpfProgram | null;

  /**
   * Compile `expression` for frames of `linkType`. Throws {@link CaptureError}
   * EFILTER with libpcap's text when it does not compile.
   */
  constructor(expression: string, linkType: number, snaplen = 262144) {
    if (typeof expression !== "string") throw new TypeError("expression must be a string");
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new RangeError("linkType must be a LINKTYPE_* value (0..65535)");
    }
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 262144) throw new RangeError("snaplen must be in 1..262144");
    this.expression = expression;
    this.linkType = linkType;
    this.snaplen = snaplen;
    try {
      this.#program = new (loadAddon().BpfProgram)(expression, linkType, snaplen, dltOfLinkType(linkType));
    } catch (err) {
      throw toCaptureError(err, { action: "compile filter", filter: expression });
    }
  }

  #prog(): NativeBpfProgram {
    if (this.#program === null) throw new Error(`Cannot use filter "${this.expression}": it is closed`);
    return this.#program;
  }

  /** Whether one frame passes. `length` is its original length on the wire (default: its captured length). */
  matches(data: Uint8Array, length: number = data.length): boolean {
    return this.#prog().matches(data, length);
  }

  /**
   * Run the filter over a whole batch in one native call. Returns `out`
   * (allocated when not given) cut to `batch.count`: 1 where the frame
   * passes, 0 where not. Frames of another link type than the filter's never pass.
   */
  matchBatch(batch: FrameBatch, out?: Uint8Array): Uint8Array {
    const mask = out ?? new Uint8Array(batch.count);
    if (mask.length < batch.count) throw new RangeError("out is shorter than the batch");
    this.#prog().matchBatch(batch.buffer, batch.offset, batch.caplen, batch.length, batch.linkType, batch.count, mask);
    return mask.subarray(0, batch.count);
  }

  /** The indexes of the frames of `batch` that pass, in order. */
  matchingIndexes(batch: FrameBatch): number[] {
    const mask = this.matchBatch(batch);
    const out: number[] = [];
    for (let i = 0; i < mask.length; i++) if (mask[i] === 1) out.push(i);
    return out;
  }

  /** Free the compiled program; safe to call more than once. */
  close(): void {
    this.#program?.close();
    this.#program = null;
  }
}

/**
 * One expression compiled per link type, on demand: each frame of a batch is
 * matched by the program of its own link type.
 *
 * ```ts
 * const set = new BpfFilterSet("icmp");
 * const keep = set.matchBatch(batch); // Ethernet and raw-IP frames alike
 * set.close();
 * ```
 */
export class BpfFilterSet {
  readonly expression: string;
  readonly snaplen: number;
  readonly #programs = new Map<number, BpfFilter | null>();
  readonly #onSkip: ((linkType: number, err: unknown) => void) | undefined;
  #mask = new Uint8Array(0);
  #part = new Uint8Array(0);

  /**
   * `onSkip`: when the expression is good (it compiles for Ethernet) but not
   * for some link type (e.g. `ether host` on raw IP), called once for it and
   * its frames never pass. Without it, or when the expression does not even
   * compile for Ethernet, the compile error ({@link CaptureError} EFILTER) is thrown.
   */
  constructor(expression: string, options: { snaplen?: number; onSkip?: (linkType: number, err: unknown) => void } = {}) {
    if (typeof expression !== "string") throw new TypeError("expression must be a string");
    this.expression = expression;
    this.snaplen = options.snaplen ?? 262144;
    this.#onSkip = options.onSkip;
  }

  /** The program for `linkType` (compiled on first use), or null when it does not compile and was skipped. */
  forLinkType(linkType: number): BpfFilter | null {
    const have = this.#programs.get(linkType);
    if (have !== undefined) return have;
    let f: BpfFilter | null;
    try {
      f = new BpfFilter(this.expression, linkType, this.snaplen);
    } catch (err) {
      // A wrong expression is wrong for every link type: it still throws. One that
      // compiles for Ethernet but not for this link type (`icmp` on radiotap, `ether`
      // on raw IP) only skips this link type's frames.
      if (this.#onSkip === undefined) throw err;
      if (this.#programs.size === 0) {
        const wrong = ethernetCompileError(this.expression, this.snaplen);
        if (wrong !== null) throw linkType === 1 ? err : wrong;
      }
      this.#onSkip(linkType, err);
      f = null;
    }
    this.#programs.set(linkType, f);
    return f;
  }

  /** 1 where the frame passes its own link type's program, 0 where not (a view valid until the next call). */
  matchBatch(batch: FrameBatch): Uint8Array {
    const n = batch.count;
    if (this.#mask.length < n) {
      this.#mask = new Uint8Array(n);
      this.#part = new Uint8Array(n);
    }
    const mask = this.#mask.subarray(0, n);
    if (n === 0) return mask;
    const first = batch.linkType[0]!;
    let mixed = false;
    for (let i = 1; i < n; i++) {
      if (batch.linkType[i] !== first) {
        mixed = true;
        break;
      }
    }
    if (!mixed) {
      const f = this.forLinkType(first);
      if (f === null) mask.fill(0);
      else f.matchBatch(batch, mask);
      return mask;
    }
    // Each program passes only frames of its own link type: OR the masks.
    mask.fill(0);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const lt = batch.linkType[i]!;
      if (seen.has(lt)) continue;
      seen.add(lt);
      const f = this.forLinkType(lt);
      if (f === null) continue;
      const part = f.matchBatch(batch, this.#part);
      for (let k = 0; k < n; k++) mask[k] = mask[k]! | part[k]!;
    }
    return mask;
  }

  /** Free every compiled program; safe to call more than once. */
  close(): void {
    for (const f of this.#programs.values()) f?.close();
    this.#programs.clear();
  }
}

/** Why `expression` does not compile for Ethernet, or null when it does. */
function ethernetCompileError(expression: string, snaplen: number): unknown {
  try {
    new BpfFilter(expression, 1, snaplen).close();
    return null;
  } catch (err) {
    return err;
  }
}
