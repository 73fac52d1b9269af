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
 * A hand-written serializer rather than `JSON.stringify` with a replacer: it is
 * on the `--json` hot path and skips the replacer call per value.
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
  let s = "[";
  for (let i = 0; i < layers.length; i++) {
    if (i > 0) s += ",";
    s += layerJson(layers[i]!);
  }
  return s + "]";
}

/** The `errors` array as JSON text. */
export function issuesJson(issues: readonly Issue[]): string {
  let s = "[";
  for (let i = 0; i < issues.length; i++) {
    const e = issues[i]!;
    if (i > 0) s += ",";
    s += '{"layer":"' + e.layer + '","kind":"' + e.kind + '","reason":' + JSON.stringify(e.reason) + "}";
  }
  return s + "]";
}

function layerJson(layer: LayerBase): string {
  let s = '{"layer":"' + layer.layer + '"';
  const rec = layer as unknown as Record<string, unknown>;
  for (const key in rec) {
    if (key === "layer") continue;
    const v = rec[key];
    if (v === undefined || typeof v === "function") continue;
    s += "," + JSON.stringify(key) + ":" + (key === "quoted" ? quotedJson(v) : valueJson(v));
  }
  return s + "}";
}

function quotedJson(v: unknown): string {
  const q = v as { layers?: unknown; issues?: unknown } | null;
  if (q !== null && typeof q === "object" && Array.isArray(q.layers)) {
    return '{"layers":' + layersJson(q.layers as LayerBase[]) + ',"errors":' + issuesJson(Array.isArray(q.issues) ? (q.issues as Issue[]) : []) + "}";
  }
  return valueJson(v);
}

/** Any decoded field value as JSON text: bytes as hex, nested values recursively. */
export function valueJson(v: unknown): string {
  switch (typeof v) {
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "string":
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "object": {
      if (v === null) return "null";
      if (v instanceof Uint8Array) return '"' + toHex(v) + '"';
      if (Array.isArray(v)) {
        let s = "[";
        for (let i = 0; i < v.length; i++) s += (i > 0 ? "," : "") + valueJson(v[i]);
        return s + "]";
      }
      if ("layer" in v && typeof (v as { layer: unknown }).layer === "string") return layerJson(v as LayerBase);
      let s = "{";
      let first = true;
      for (const key in v) {
        const x = (v as Record<string, unknown>)[key];
        if (x === undefined || typeof x === "function") continue;
        s += (first ? "" : ",") + JSON.stringify(key) + ":" + (key === "quoted" ? quotedJson(x) : valueJson(x));
        first = false;
      }
      return s + "}";
    }
    default:
      return "null";
  }
}
