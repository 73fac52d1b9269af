/**
 * A packet as a layered tree of every decoded field (`stackts read -v`), one
 * field per line, indented by layer, then the decode issues:
 *
 * ```text
 *   ethernet
 *     src: 02:77:00:00:00:01
 *     dst: 02:77:00:00:00:02
 *     type: 0x0800 (2048)
 *   ipv4
 *     ...
 *   errors
 *     truncated: udp: 8 bytes needed, 4 left
 * ```
 *
 * Byte fields print as hex, type/protocol/checksum fields as hex and decimal, TCP
 * flags with tcpdump's letters, lists of values one item per line, and the datagram
 * quoted by an ICMP error as its own nested layers.
 *
 * @example
 * ```ts
 * import { packetTree } from "./tree.ts";
 * packetTree([{ layer: "payload", data: new Uint8Array([1]) }], [], "  ");
 * // "  payload\n    data: 01 (1 byte)"
 * ```
 *
 * @module
 */
import type { Issue, LayerBase } from "../../layers/core.ts";
import { toHex } from "./hex.ts";
import { tcpFlags } from "./summary.ts";

/** Fields shown as hex first (with the decimal in parentheses). */
const HEX_FIELDS = new Set(["type", "tpid", "protocol", "protocolType", "checksum", "flowLabel"]);
/** ... except in these layers, where `type` is a small code, not an ethertype. */
const DECIMAL_TYPE_LAYERS = new Set(["icmp", "icmpv6", "dns", "dhcp"]);

/** The tree of one packet's layers and issues; lines joined with "\n", each starting with `indent`. */
export function packetTree(layers: readonly LayerBase[], issues: readonly Issue[], indent = "  "): string {
  const out: string[] = [];
  layersTree(layers, issues, indent, out);
  return out.join("\n");
}

function layersTree(layers: readonly LayerBase[], issues: readonly Issue[], indent: string, out: string[]): void {
  for (const l of layers) {
    out.push(indent + l.layer);
    const rec = l as unknown as Record<string, unknown>;
    for (const key in rec) {
      if (key === "layer") continue;
      field(l.layer, key, rec[key], indent + "  ", out);
    }
  }
  if (issues.length > 0) {
    out.push(indent + "errors");
    for (const e of issues) out.push(indent + "  " + e.kind + ": " + e.layer + ": " + e.reason);
  }
}

function field(layer: string, key: string, v: unknown, indent: string, out: string[]): void {
  if (v === undefined || typeof v === "function") return;
  if (key === "quoted" && v !== null && typeof v === "object" && Array.isArray((v as { layers?: unknown }).layers)) {
    const q = v as { layers: LayerBase[]; issues?: Issue[] };
    out.push(indent + "quoted:");
    layersTree(q.layers, q.issues ?? [], indent + "  ", out);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(indent + key + ": (none)");
      return;
    }
    if (v.every((x) => typeof x !== "object" || x === null || x instanceof Uint8Array)) {
      out.push(indent + key + ": " + v.map(scalar).join(", "));
      return;
    }
    out.push(indent + key + ":");
    for (const item of v) {
      if (item !== null && typeof item === "object" && !(item instanceof Uint8Array)) {
        if ("layer" in item) {
          layersTree([item as LayerBase], [], indent + "  ", out);
        } else {
          out.push(indent + "  - " + inline(item as Record<string, unknown>));
        }
      } else {
        out.push(indent + "  - " + scalar(item));
      }
    }
    return;
  }
  if (v instanceof Uint8Array) {
    out.push(indent + key + ": " + (v.length === 0 ? "(empty)" : toHex(v)) + " (" + v.length + (v.length === 1 ? " byte)" : " bytes)"));
    return;
  }
  if (v !== null && typeof v === "object") {
    out.push(indent + key + ":");
    const rec = v as Record<string, unknown>;
    for (const k in rec) field(layer, k, rec[k], indent + "  ", out);
    return;
  }
  if (typeof v === "number") {
    if (layer === "tcp" && key === "flags") {
      out.push(indent + "flags: 0x" + v.toString(16).padStart(3, "0") + " [" + tcpFlags(v) + "]");
      return;
    }
    if (HEX_FIELDS.has(key) && !(key === "type" && DECIMAL_TYPE_LAYERS.has(layer)) && Number.isInteger(v) && v >= 0) {
      out.push(indent + key + ": 0x" + v.toString(16).padStart(key === "flowLabel" ? 5 : 4, "0") + " (" + v + ")");
      return;
    }
  }
  out.push(indent + key + ": " + scalar(v));
}

function scalar(v: unknown): string {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === "string") return v;
  if (v === null) return "null";
  if (typeof v === "object") return inline(v as Record<string, unknown>);
  return String(v);
}

/** A small object on one line: `kind=mss mss=1460`. */
function inline(rec: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k in rec) {
    const x = rec[k];
    if (x === undefined) continue;
    if (Array.isArray(x)) parts.push(k + "=[" + x.map(scalar).join(", ") + "]");
    else parts.push(k + "=" + (typeof x === "string" && x.includes(" ") ? JSON.stringify(x) : scalar(x)));
  }
  return parts.join(" ");
}
