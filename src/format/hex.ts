/**
 * Bytes as text: a lower-case hex string (JSON, tree output) and a hex dump
 * with offsets and ASCII, in the layout of `tcpdump -X`:
 *
 * ```text
 * 	0x0000:  4500 0054 1c46 4000 4001 0a4e 0a4d 0001  E..T.F@.@..N.M..
 * ```
 *
 * @example
 * ```ts
 * import { hexDump, toHex } from "./hex.ts";
 * toHex(new Uint8Array([0xde, 0xad])); // "dead"
 * hexDump(new Uint8Array([0x45, 0x00]), "\t"); // "\t0x0000:  4500                                     E."
 * ```
 *
 * @module
 */

/** "00".."ff" by byte value. */
export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

// Graphic ASCII (0x21-0x7e) as itself, everything else (space too) as '.' (as tcpdump does).
const ASCII: readonly string[] = Array.from({ length: 256 }, (_, i) => (i > 0x20 && i < 0x7f ? String.fromCharCode(i) : "."));

/** Lower-case hex of `data`, two digits per byte, no separators. */
export function toHex(data: Uint8Array): string {
  if (data.length > 32) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex");
  let s = "";
  for (let i = 0; i < data.length; i++) s += HEX2[data[i]!]!;
  return s;
}

/** 16 bytes per line: 8 groups of "xxxx " = 40 characters of hex. */
const HEX_WIDTH = 40;

/**
 * A hex dump, 16 bytes per line: `<indent>0x<offset>:  <hex groups>  <ascii>`.
 * Lines are joined with "\n"; no trailing newline. Empty input gives "".
 */
export function hexDump(data: Uint8Array, indent = "\t"): string {
  let out = "";
  for (let base = 0; base < data.length; base += 16) {
    const end = Math.min(base + 16, data.length);
    let hex = "";
    let ascii = "";
    for (let i = base; i < end; i++) {
      const b = data[i]!;
      hex += HEX2[b]!;
      if ((i - base) & 1) hex += " ";
      ascii += ASCII[b]!;
    }
    if (hex.length < HEX_WIDTH) hex += " ".repeat(HEX_WIDTH - hex.length);
    if (base > 0) out += "\n";
    const offset = base < 0x10000 ? HEX2[base >>> 8]! + HEX2[base & 0xff]! : base.toString(16);
    out += indent + "0x" + offset + ":  " + hex + " " + ascii;
  }
  return out;
}
