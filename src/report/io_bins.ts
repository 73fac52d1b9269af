/**
 * The report's I/O graph: packets and bytes per time bin, one series per
 * protocol, built in one pass without knowing the capture's length. Bins start
 * 1 ms wide; when a packet falls past the last of {@link MAX_BINS} bins, the
 * width doubles and neighbouring bins merge, so memory stays bounded and the
 * final graph has between MAX_BINS/2 and MAX_BINS bins over any span.
 *
 * @example
 * ```ts
 * import { IoBins } from "./io_bins.ts";
 * const io = new IoBins();
 * io.add(0.0005, "tcp", 60);
 * io.add(2.5, "udp", 90);
 * io.graph(5).protocols; // ["udp", "tcp"] (by bytes)
 * ```
 *
 * @module
 */
import type { IoGraph } from "./model.ts";

/** Most bins kept. */
export const MAX_BINS = 2048;

export class IoBins {
  #width = 0.001;
  #used = 0;
  readonly #names: string[] = [];
  readonly #index = new Map<string, number>();
  readonly #packets: Float64Array[] = [];
  readonly #bytes: Float64Array[] = [];
  readonly #totalBytes: number[] = [];

  /** Count one packet of `bytes` at `t` seconds after the first packet, under `protocol`. */
  add(t: number, protocol: string, bytes: number): void {
    let p = this.#index.get(protocol);
    if (p === undefined) {
      p = this.#names.length;
      this.#index.set(protocol, p);
      this.#names.push(protocol);
      this.#packets.push(new Float64Array(MAX_BINS));
      this.#bytes.push(new Float64Array(MAX_BINS));
      this.#totalBytes.push(0);
    }
    let bin = Math.floor((t > 0 ? t : 0) / this.#width);
    while (bin >= MAX_BINS) {
      this.#widen();
      bin = Math.floor((t > 0 ? t : 0) / this.#width);
    }
    if (bin >= this.#used) this.#used = bin + 1;
    this.#packets[p]![bin]! += 1;
    this.#bytes[p]![bin]! += bytes;
    this.#totalBytes[p]! += bytes;
  }

  #widen(): void {
    this.#width *= 2;
    for (const arrays of [this.#packets, this.#bytes]) {
      for (const a of arrays) {
        for (let i = 0; i < MAX_BINS / 2; i++) a[i] = a[2 * i]! + a[2 * i + 1]!;
        a.fill(0, MAX_BINS / 2);
      }
    }
    this.#used = Math.ceil(this.#used / 2);
  }

  /** The graph with the `top` protocols by bytes as their own series and the rest as "other". */
  graph(top: number): IoGraph {
    const order = this.#names.map((_, i) => i).sort((x, y) => this.#totalBytes[y]! - this.#totalBytes[x]!);
    const kept = order.slice(0, top);
    const rest = order.slice(top);
    const used = Math.max(this.#used, 1);
    const take = (a: Float64Array): number[] => Array.from(a.subarray(0, used));
    const protocols = kept.map((i) => this.#names[i]!);
    const packets = kept.map((i) => take(this.#packets[i]!));
    const bytes = kept.map((i) => take(this.#bytes[i]!));
    if (rest.length > 0) {
      const op = new Array<number>(used).fill(0);
      const ob = new Array<number>(used).fill(0);
      for (const i of rest) {
        for (let k = 0; k < used; k++) {
          op[k]! += this.#packets[i]![k]!;
          ob[k]! += this.#bytes[i]![k]!;
        }
      }
      protocols.push("other");
      packets.push(op);
      bytes.push(ob);
    }
    return { binSeconds: this.#width, protocols, packets, bytes };
  }
}
