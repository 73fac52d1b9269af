/**
 * What every header view is: a window `bytes[at, end)` onto a packet, read
 * and written in place. Each protocol's view (`EthernetView`, `TcpView`, ...)
 * extends this with its fields' getters and setters, its `check()` and its
 * payload range.
 *
 * @example
 * ```ts
 * import { ByteView } from "./view.ts";
 * const v = new ByteView(Uint8Array.of(1, 2, 3), 1);
 * [v.at, v.end]; // [1, 3]
 * ```
 *
 * @module
 */

/** A window onto bytes, the base of every header view (see the module comment). */
export class ByteView {
  bytes: Uint8Array;
  /** where the header starts in `bytes` */
  at: number;
  /** end (exclusive) of the bytes the view may read */
  end: number;

  constructor(bytes: Uint8Array, at = 0, end = bytes.length) {
    this.bytes = bytes;
    this.at = at;
    this.end = end;
  }

  /** Point this view at `bytes[at, end)`, so one view serves a whole capture (no defaults: a per-packet call stays small enough for V8 to inline). */
  reset(bytes: Uint8Array, at: number, end: number): this {
    this.bytes = bytes;
    this.at = at;
    this.end = end;
    return this;
  }
}
