/**
 * One decoded packet as one line of JSON (NDJSON), in the schema of
 * `stackts read --json`:
 *
 * ```json
 * {"index":1,"time":"2026-11-25T03:20:51.123456789Z","caplen":98,"length":98,
 *  "layers":[{"layer":"ethernet","src":"02:77:00:00:00:01",...},...],"errors":[]}
 * ```
 *
 * - `index` counts from 1 in file (or capture) order, `time` is ISO-8601 UTC with
 *   nine fraction digits, `caplen`/`length` are the captured and original lengths.
 * - `layers` holds each decoded layer's value with its `layer` name first; byte
 *   fields (`Uint8Array`) become lower-case hex strings; addresses are already text
 *   in the decoded values (MACs lower-case colon form, IPv6 RFC 5952).
 * - An ICMP/ICMPv6 error's quoted datagram (`quoted: {layers, issues}`) becomes
 *   `quoted: {layers: [...], errors: [...]}`.
 * - `errors` lists the decode issues as `{"layer", "kind", "reason"}`, where `kind`
 *   is `truncated` or `malformed`.
 *
 * No replacer function (one call per value is slow): {@link plain} swaps byte
 * arrays for hex strings, copying only the objects that hold them, and V8's
 * native JSON.stringify prints the rest.
 *
 * @example
 * ```ts
 * import { packetJson } from "./json.ts";
 * packetJson({ index: 1, sec: 0, nsec: 0, caplen: 1, length: 1,
 *   layers: [{ layer: "payload", data: new Uint8Array([0xff]) }], issues: [] });
 * // '{"index":1,"time":"1970-01-01T00:00:00.000000000Z","caplen":1,"length":1,"layers":[{"layer":"payload","data":"ff"}],"errors":[]}'
 * ```
 *
 * @module
 */
import type { Issue, LayerBase } from "../../layers/core.ts";
import { toHex } from "./hex.ts";
import { isoTime } from "./time.ts";

/** What {@link packetJson} needs to know about one packet. */
export interface JsonPacket {
  index: number;
  sec: number;
  nsec: number;
  caplen: number;
  length: number;
  layers: readonly LayerBase[];
  issues: readonly Issue[];
}

/** One NDJSON line (without the newline). */
export function packetJson(p: JsonPacket): string {
  return (
    '{"index":' + p.index +
    ',"time":"' + isoTime(p.sec, p.nsec) +
    '","caplen":' + p.caplen +
    ',"length":' + p.length +
    ',"layers":' + layersJson(p.layers) +
    ',"errors":' + issuesJson(p.issues) + "}"
  );
}

/** The `layers` array as JSON text. */
export function layersJson(layers: readonly LayerBase[]): string {
  return JSON.stringify(plain(layers));
}

/** The `errors` array as JSON text: each issue as `{"layer", "kind", "reason"}`. */
export function issuesJson(issues: readonly Issue[]): string {
  return issues.length === 0 ? "[]" : JSON.stringify(issues.map((e) => ({ layer: e.layer, kind: e.kind, reason: e.reason })));
}

/** Any decoded field value as JSON text: bytes as hex, nested values recursively. */
export function valueJson(v: unknown): string {
  return JSON.stringify(plain(v)) ?? "null";
}

/**
 * `v` in the form JSON.stringify prints as the schema wants: byte arrays as hex
 * strings, an ICMP quote's `issues` as `errors`. Objects and arrays that hold
 * neither are returned as they are (no copy), so the common case costs one walk
 * and V8's native JSON.stringify does the printing.
 */
function plain(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x !== "object" || x === null) continue;
      const y = plain(x);
      if (y !== x) {
        out ??= v.slice();
        out[i] = y;
      }
    }
    return out ?? v;
  }
  const rec = v as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  for (const key in rec) {
    const x = rec[key];
    if (typeof x !== "object" || x === null) continue;
    const y = key === "quoted" ? quoted(x) : plain(x);
    if (y !== x) {
      out ??= { ...rec };
      out[key] = y;
    }
  }
  return out ?? v;
}

function quoted(v: object): unknown {
  const q = v as { layers?: unknown; issues?: unknown };
  if (!Array.isArray(q.layers)) return plain(v);
  const issues = Array.isArray(q.issues) ? (q.issues as Issue[]) : [];
  return { layers: plain(q.layers), errors: issues.map((e) => ({ layer: e.layer, kind: e.kind, reason: e.reason })) };
}
