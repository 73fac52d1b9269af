/**
 * The application layer on a line: the formatter's `app` text for a decoded
 * layer, and for the fast path the one app layer it prints itself (HTTP over
 * TCP, DNS over UDP), decoded on its own from the payload's bytes.
 *
 * @example
 * ```ts
 * import { appOr } from "./app.ts";
 * appOr(state, layers[3], "UDP, length 20"); // the DNS line, or the fallback
 * ```
 *
 * @module
 */
import type { LayerBase } from "../../../layers/core.ts";
import { PacketDecoder } from "../../../layers/decode.ts";
import type { Kind } from "../../../layers/registry.ts";
import type { LineState } from "./state.ts";

/** The `app` text of `layer`, or `fallback` when there is no layer, no `app`, or it has no text for it. */
export function appOr(state: LineState, layer: LayerBase | undefined, fallback: string): string {
  if (layer === undefined || state.app === undefined) return fallback;
  return state.app(layer) ?? fallback;
}

/**
 * The app summary of `data[start, end)` decoded as `kind` (the formatter's
 * `app` is set): "" when it is not that protocol after all (the full decode
 * then keeps it as payload and prints the transport line alone), null when
 * decoding it found a problem, which the full decode flags on the line.
 */
export function appText(state: LineState, kind: Kind, data: Uint8Array, start: number, end: number): string | null {
  state.appDecoder ??= new PacketDecoder();
  const p = state.appDecoder.decodeAs(kind, data, undefined, start, end);
  if (p.issues.length > 0) return null;
  const layer = p.layers[0];
  if (layer === undefined || layer.layer === "payload") return "";
  return state.app!(layer) ?? "";
}
