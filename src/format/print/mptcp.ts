/**
 * The text of the TCP options tcpdump names beyond the everyday ones:
 * Multipath TCP (kind 30; RFC 6824 version 0, RFC 8684 version 1), e.g.
 * `mptcp 12 capable v1 {0x29a6c86981ad933c}`, `mptcp 26 dss ack 1 seq 2
 * subseq 1 len 16`, and TCP Fast Open, as its own kind 34 (RFC 7413, `tfo
 * cookiereq`) or as the experimental kind 254 with magic 0xf989 (RFC 6994,
 * `exp-tfo cookie 090909090000`). The words and layout are tcpdump's
 * (print-mptcp.c, print-tcp.c), so lines read the same in both tools; the
 * fields are read from the option's data as RFC 8684 §3 lays them out.
 *
 * @example
 * ```ts
 * import { mptcpText } from "./mptcp.ts";
 * mptcpText(Uint8Array.of(0x01, 0x01), 0x002); // "mptcp 4 capable v1"
 * ```
 *
 * @module
 */
import { formatIpv4, formatIpv6 } from "../../../layers/addr.ts";
import { u16, u32 } from "../../../layers/bytes.ts";
import { TCP_FLAGS } from "../../../layers/tcp.ts";
import { toHex } from "../hex.ts";

const SYN = TCP_FLAGS.SYN;
const ACK = TCP_FLAGS.ACK;

/** The subtypes' names (RFC 8684 §3, the high nibble of the option's third byte); 8 and up tcpdump calls unknown. */
const SUBTYPE = ["capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close"];

/** An unsigned 64-bit big-endian number at `b[at]`, in decimal. */
function u64(b: Uint8Array, at: number): bigint {
  return (BigInt(u32(b, at)) << 32n) | BigInt(u32(b, at + 4));
}

/** `0x` and the 64-bit number at `b[at]` in hex without leading zeros (C's %PRIx64). */
function hex64(b: Uint8Array, at: number): string {
  return "0x" + u64(b, at).toString(16);
}

/**
 * The text of an MPTCP option whose bytes after kind and length are `data`
 * (so its length is `data.length + 2`), in a segment with TCP `flags`:
 * `mptcp LEN SUBTYPE ...`, ending in `[bad opt]` when the option's length
 * does not fit its subtype (then tcpdump prints no more options).
 */
export function mptcpText(data: Uint8Array, flags: number): { text: string; bad: boolean } {
  const len = data.length + 2;
  if (len < 3) return { text: "mptcp " + len, bad: true };
  const subtype = data[0]! >> 4;
  const head = "mptcp " + len + " " + (SUBTYPE[subtype] ?? "unknown");
  const rest = subtype < SUBTYPE.length ? fields(subtype, data, len, flags) : "";
  return rest === null ? { text: head + "[bad opt]", bad: true } : { text: head + rest, bad: false };
}

/** The fields after the subtype's name, or null when the length does not fit it. `d[0]` is the subtype byte. */
function fields(subtype: number, d: Uint8Array, len: number, flags: number): string | null {
  switch (subtype) {
    case 0: {
      // MP_CAPABLE: version in the low nibble, flags (C: checksum required), keys
      const version = d[0]! & 0xf;
      if (version > 1) return " Unknown Version (" + version + ")";
      const syn = (flags & SYN) !== 0;
      const ok = version === 0 ? (len === 12 && syn) || (len === 20 && (flags & (SYN | ACK)) === ACK) : len === 4 || len === 12 || len === 20 || len === 22;
      if (!ok) return null;
      let s = " v" + version + (len >= 4 && d[1]! & 0x80 ? " csum" : "");
      if (len >= 12) s += " {" + hex64(d, 2) + (len >= 20 ? "," + hex64(d, 10) : "") + "}";
      return s;
    }
    case 1: {
      // MP_JOIN: SYN (token, nonce), SYN/ACK (truncated HMAC, nonce), ACK (HMAC)
      const syn = (flags & SYN) !== 0;
      const ack = (flags & ACK) !== 0;
      if (!(len === 12 && syn) && !(len === 16 && syn && ack) && !(len === 24 && ack)) return null;
      let s = "";
      if (len !== 24) s += (d[0]! & 1 ? " backup" : "") + " id " + d[1]!;
      if (len === 12) s += " token 0x" + u32(d, 2).toString(16) + " nonce 0x" + u32(d, 6).toString(16);
      else if (len === 16) s += " hmac " + hex64(d, 2) + " nonce 0x" + u32(d, 10).toString(16);
      else s += " hmac 0x" + toHex(d.subarray(2, 22));
      return s;
    }
    case 2: {
      // DSS: F fin, A data ACK (a: 8 bytes), M mapping (m: 8-byte DSN) with subflow seq, length, checksum
      if (len < 4 || flags & SYN) return null;
      const f = d[1]!;
      let s = f & 0x10 ? " fin" : "";
      let at = 2;
      let left = len - 4;
      if (f & 0x01) {
        const wide = (f & 0x02) !== 0;
        if (left < (wide ? 8 : 4)) return null;
        s += " ack " + (wide ? u64(d, at).toString() : String(u32(d, at)));
        at += wide ? 8 : 4;
        left -= wide ? 8 : 4;
      }
      if (f & 0x04) {
        const wide = (f & 0x08) !== 0;
        if (left < (wide ? 8 : 4) + 6) return null;
        s += " seq " + (wide ? u64(d, at).toString() : String(u32(d, at)));
        at += wide ? 8 : 4;
        s += " subseq " + u32(d, at) + " len " + u16(d, at + 4);
        at += 6;
        left -= (wide ? 8 : 4) + 6;
        if (left >= 2) {
          s += " csum 0x" + u16(d, at).toString(16);
          left -= 2;
        }
      }
      return left === 0 ? s : null;
    }
    case 3: {
      // ADD_ADDR: version 0 carries the IP version in the low nibble; version 1 the E (echo) bit and an HMAC
      const nibble = d[0]! & 0xf;
      if (nibble === 4 || nibble === 6) {
        const v6 = nibble === 6;
        if (v6 ? len !== 20 && len !== 22 : len !== 8 && len !== 10) return null;
        const port = len === 10 || len === 22 ? ":" + u16(d, v6 ? 18 : 6) : "";
        return " v0-ip" + nibble + " id " + d[1]! + " " + (v6 ? formatIpv6(d, 2) : formatIpv4(d, 2)) + port;
      }
      const echo = (nibble & 1) !== 0;
      const hmac = echo ? 0 : 8;
      let address: string;
      let port = "";
      const base = len - hmac;
      if (base === 8 || base === 10) {
        address = formatIpv4(d, 2);
        if (base === 10) port = ":" + u16(d, 6);
      } else if (base === 20 || base === 22) {
        address = formatIpv6(d, 2);
        if (base === 22) port = ":" + u16(d, 18);
      } else {
        return null;
      }
      return " v1" + (echo ? "-echo" : "") + " id " + d[1]! + " " + address + port + (echo ? "" : " hmac " + hex64(d, base - 2));
    }
    case 4: {
      // REMOVE_ADDR: the address ids
      if (len < 4) return null;
      let s = " id";
      for (let i = 1; i < len - 2; i++) s += " " + d[i]!;
      return s;
    }
    case 5:
      // MP_PRIO: B (backup), optional address id
      if (len !== 3 && len !== 4) return null;
      return (d[0]! & 1 ? " backup" : " non-backup") + (len === 4 ? " id " + d[1]! : "");
    case 6:
      // MP_FAIL: the data sequence number
      return len === 12 ? " seq " + u64(d, 2).toString() : null;
    default:
      // MP_FASTCLOSE: the receiver's key
      return len === 12 ? " key " + hex64(d, 2) : null;
  }
}

/** TCP Fast Open's magic in an experimental option (RFC 7413 §4.1.1, RFC 6994). */
const TFO_MAGIC = 0xf989;

/**
 * tcpdump's text for TCP Fast Open and the experimental option: kind 34 as
 * `tfo  cookiereq` / `tfo  cookie HEX` (two spaces, as tcpdump has it), kind
 * 254 with the TFO magic as `exp-tfo cookiereq` / `exp-tfo cookie HEX`, a
 * cookie that is not 4 to 16 bytes of even length as `(invalid)` (RFC 7413
 * §4.1.1); kind 254 with another magic as `exp-` and the magic in hex; null
 * for anything else (printed as unknown).
 */
export function tfoText(code: number, data: Uint8Array): string | null {
  let cookie: Uint8Array;
  let name: string;
  if (code === 34) {
    name = "tfo ";
    cookie = data;
  } else if (code === 254 && data.length >= 2) {
    const magic = u16(data, 0);
    if (magic !== TFO_MAGIC) return "exp-" + magic.toString(16).padStart(4, "0");
    name = "exp-tfo";
    cookie = data.subarray(2);
  } else {
    return null;
  }
  if (cookie.length === 0) return name + " cookiereq";
  if (cookie.length < 4 || cookie.length > 16 || cookie.length % 2 !== 0) return name + " (invalid)";
  return name + " cookie " + toHex(cookie);
}
