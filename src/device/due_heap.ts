/**
 * A binary min-heap of things due at a time: ordered by `due`, then by `seq`
 * (the order they were added), so two due at the same time come out in the
 * order they went in. The virtual clock keeps its timers in one and the
 * impairment wrapper its delayed frames; both drop cancelled entries lazily,
 * when they reach the top ({@link DueHeap.topWhere}).
 *
 * @example
 * ```ts
 * import { DueHeap } from "./due_heap.ts";
 * const h = new DueHeap<{ due: number; seq: number; name: string }>();
 * h.push({ due: 5, seq: 0, name: "b" });
 * h.push({ due: 1, seq: 1, name: "a" });
 * h.top()?.name; // "a"
 * ```
 *
 * @module
 */

/** What a {@link DueHeap} orders by. */
export interface Due {
  /** when it is due (the caller's time unit) */
  due: number;
  /** order of adding: ties on `due` go first in, first out */
  seq: number;
}

function before(a: Due, b: Due): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** A min-heap of {@link Due} entries (see the module comment). */
export class DueHeap<T extends Due> {
  /** the entries in heap order (`items[0]` is the earliest); read, do not reorder */
  items: T[] = [];

  /** Add `e`. */
  push(e: T): void {
    const h = this.items;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (before(p, e)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = e;
  }

  /** The earliest entry, or undefined when empty. */
  top(): T | undefined {
    return this.items[0];
  }

  /** The earliest entry for which `skip` is false, after removing the ones at the top it is true for. */
  topWhere(skip: (e: T) => boolean): T | undefined {
    const h = this.items;
    while (h.length > 0 && skip(h[0]!)) this.pop();
    return h[0];
  }

  /** Remove the earliest entry (nothing when empty). */
  pop(): void {
    const h = this.items;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      const x = h[c]!;
      if (!before(x, last)) break;
      h[i] = x;
      i = c;
    }
    h[i] = last;
  }

  /** Forget every entry. */
  clear(): void {
    this.items = [];
  }
}
