/**
 * DNS record data (RDATA) by type, both ways: A, AAAA, CNAME, NS, PTR, MX,
 * TXT, SOA, SRV, CAA and OPT (EDNS0, RFC 6891) are read into values and
 * written from them; other types keep their record data raw. Used by the
 * decoder and the builder in `dns.ts`.
 *
 * @example
 * ```ts
 * import { decodeRdata } from "./dns_rdata.ts";
 * decodeRdata(Uint8Array.of(10, 0, 0, 1), 1, 1, 0, 0, 4); // "10.0.0.1"
 * ```
 *
 * @module
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "./addr.ts";
import { u16, u32 } from "./bytes.ts";
import { textBound, textOf, utf8Length } from "./byte_writer.ts";
import { DNS_TYPE, dnsTypeName } from "./dns_header.ts";
import type { DnsCaa, DnsData, DnsEdnsOption, DnsMx, DnsOpt, DnsRecordInput, DnsSoa, DnsSrv } from "./dns_message.ts";
import { dnsNameBound, lastName, readName, writeName, type DnsWriter } from "./dns_name.ts";

const textDecoder = new TextDecoder("utf-8");

function readCharacterString(msg: Uint8Array, pos: number, end: number): { text: string; next: number } | null {
  if (pos >= end) return null;
  const len = msg[pos]!;
  if (pos + 1 + len > end) return null;
  return { text: textDecoder.decode(msg.subarray(pos + 1, pos + 1 + len)), next: pos + 1 + len };
}

/**
 * Read a name that must end inside the record data `[start, end)` (its text
 * then is `lastName()`); returns the offset after it, or -1 when it runs past `end`.
 */
function rdataName(msg: Uint8Array, start: number, end: number): number {
  const after = readName(msg, start);
  return after > end ? -1 : after;
}

/**
 * Decode one record's data `msg[start, end)`. Returns null when the data does
 * not fit its type (the caller keeps it raw and notes why). May throw
 * `DnsStop` from a bad name.
 */
export function decodeRdata(msg: Uint8Array, type: number, cls: number, ttl: number, start: number, end: number): DnsData | null {
  const len = end - start;
  switch (type) {
    case DNS_TYPE.A:
      return len === 4 ? formatIpv4(msg, start) : null;
    case DNS_TYPE.AAAA:
      return len === 16 ? formatIpv6(msg, start) : null;
    case DNS_TYPE.CNAME:
    case DNS_TYPE.NS:
    case DNS_TYPE.PTR:
      return rdataName(msg, start, end) === end ? lastName() : null;
    case DNS_TYPE.MX: {
      if (len < 3) return null;
      return rdataName(msg, start + 2, end) === end ? { preference: u16(msg, start), exchange: lastName() } : null;
    }
    case DNS_TYPE.TXT: {
      const strings: string[] = [];
      let pos = start;
      while (pos < end) {
        const s = readCharacterString(msg, pos, end);
        if (!s) return null;
        strings.push(s.text);
        pos = s.next;
      }
      return strings;
    }
    case DNS_TYPE.SOA: {
      const afterM = rdataName(msg, start, end);
      if (afterM < 0) return null;
      const mname = lastName();
      const p = rdataName(msg, afterM, end);
      if (p < 0 || p + 20 !== end) return null;
      return {
        mname,
        rname: lastName(),
        serial: u32(msg, p),
        refresh: u32(msg, p + 4),
        retry: u32(msg, p + 8),
        expire: u32(msg, p + 12),
        minimum: u32(msg, p + 16),
      };
    }
    case DNS_TYPE.SRV: {
      if (len < 7) return null;
      if (rdataName(msg, start + 6, end) !== end) return null;
      return { priority: u16(msg, start), weight: u16(msg, start + 2), port: u16(msg, start + 4), target: lastName() };
    }
    case DNS_TYPE.CAA: {
      if (len < 2) return null;
      const tagLength = msg[start + 1]!;
      if (2 + tagLength > len) return null;
      return {
        flags: msg[start]!,
        tag: textDecoder.decode(msg.subarray(start + 2, start + 2 + tagLength)),
        value: textDecoder.decode(msg.subarray(start + 2 + tagLength, end)),
      };
    }
    case DNS_TYPE.OPT: {
      const options: DnsEdnsOption[] = [];
      let pos = start;
      while (pos < end) {
        if (pos + 4 > end) return null;
        const optLength = u16(msg, pos + 2);
        if (pos + 4 + optLength > end) return null;
        options.push({ code: u16(msg, pos), data: msg.subarray(pos + 4, pos + 4 + optLength) });
        pos += 4 + optLength;
      }
      // RFC 6891 §6.1.3: TTL = extended RCODE (8) | VERSION (8) | DO (1) | Z (15)
      return {
        udpPayloadSize: cls,
        extendedRcode: ttl >>> 24,
        version: (ttl >>> 16) & 0xff,
        dnssecOk: (ttl & 0x8000) !== 0,
        z: ttl & 0x7fff,
        options,
      };
    }
    default:
      return msg.subarray(start, end);
  }
}

// ---------------------------------------------------------------------------
// Writing

/** Whether record data is an OPT value (an object none of the other shapes). */
export function isOpt(v: unknown): v is Partial<DnsOpt> {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v) && !("exchange" in v);
}

/** RFC 1035 §3.3: a length byte and up to 255 bytes of text. */
function writeCharacterString(w: DnsWriter, v: unknown): void {
  const text = textOf(v);
  const length = utf8Length(text);
  if (length > 255) throw new RangeError(`DNS character-string of ${length} bytes exceeds 255`);
  w.u8(length);
  w.utf8(text, length);
}

/** Write the record data of `type` from `data` (raw bytes as given for any type). */
export function writeRdata(w: DnsWriter, type: number, data: DnsRecordInput["data"]): void {
  if (data === undefined) return;
  if (data instanceof Uint8Array) {
    w.bytes(data);
    return;
  }
  const bad = (): never => {
    throw new TypeError(`DNS ${dnsTypeName(type)} record data has the wrong shape`);
  };
  switch (type) {
    case DNS_TYPE.A:
      return typeof data === "string" ? w.bytes(parseIpv4(data)) : bad();
    case DNS_TYPE.AAAA:
      return typeof data === "string" ? w.bytes(parseIpv6(data)) : bad();
    // RFC 3597 §4: compression only in the RDATA of the RFC 1035 well-known types.
    case DNS_TYPE.CNAME:
    case DNS_TYPE.NS:
    case DNS_TYPE.PTR:
      return typeof data === "string" ? writeName(w, data) : bad();
    case DNS_TYPE.MX: {
      const mx = data as DnsMx;
      if (typeof mx.exchange !== "string") bad();
      w.u16(mx.preference ?? 0);
      return writeName(w, mx.exchange);
    }
    case DNS_TYPE.TXT:
      if (typeof data === "string") return writeCharacterString(w, data);
      if (!Array.isArray(data)) bad();
      for (const s of data as unknown[]) writeCharacterString(w, s);
      return;
    case DNS_TYPE.SOA: {
      const soa = data as DnsSoa;
      if (typeof soa.mname !== "string" || typeof soa.rname !== "string") bad();
      writeName(w, soa.mname);
      writeName(w, soa.rname);
      for (const v of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum]) w.u32(v ?? 0);
      return;
    }
    case DNS_TYPE.SRV: {
      const srv = data as DnsSrv;
      if (typeof srv.target !== "string") bad();
      w.u16(srv.priority ?? 0);
      w.u16(srv.weight ?? 0);
      w.u16(srv.port ?? 0);
      // RFC 2782: the target is not compressed.
      return writeName(w, srv.target, false);
    }
    case DNS_TYPE.CAA: {
      const caa = data as DnsCaa;
      if (typeof caa.tag !== "string") bad();
      const tagLength = utf8Length(caa.tag);
      w.u8(caa.flags ?? 0);
      w.u8(tagLength);
      w.utf8(caa.tag, tagLength);
      w.utf8(textOf(caa.value ?? ""));
      return;
    }
    case DNS_TYPE.OPT: {
      if (!isOpt(data)) bad();
      for (const o of (data as Partial<DnsOpt>).options ?? []) {
        w.u16(o.code);
        w.u16(o.data.length);
        w.bytes(o.data);
      }
      return;
    }
    default:
      return bad();
  }
}

/**
 * At least as many bytes as {@link writeRdata} writes for `type` and `data`,
 * from lengths alone (names uncompressed). Data of the wrong shape counts 0:
 * writing it throws before a byte of it is written.
 */
export function rdataBound(type: number, data: DnsRecordInput["data"]): number {
  if (data === undefined) return 0;
  if (data instanceof Uint8Array) return data.length;
  const o = data as Partial<DnsMx & DnsSoa & DnsSrv & DnsCaa & DnsOpt>;
  switch (type) {
    case DNS_TYPE.A:
      return 4;
    case DNS_TYPE.AAAA:
      return 16;
    case DNS_TYPE.CNAME:
    case DNS_TYPE.NS:
    case DNS_TYPE.PTR:
      return dnsNameBound(data);
    case DNS_TYPE.MX:
      return 2 + dnsNameBound(o.exchange);
    case DNS_TYPE.TXT: {
      if (typeof data === "string") return 1 + utf8Length(data);
      if (!Array.isArray(data)) return 0;
      let n = 0;
      for (const s of data as unknown[]) n += 1 + textBound(s);
      return n;
    }
    case DNS_TYPE.SOA:
      return dnsNameBound(o.mname) + dnsNameBound(o.rname) + 20;
    case DNS_TYPE.SRV:
      return 6 + dnsNameBound(o.target);
    case DNS_TYPE.CAA:
      return 2 + textBound(o.tag) + textBound(o.value ?? "");
    case DNS_TYPE.OPT: {
      let n = 0;
      for (const option of o.options ?? []) n += 4 + option.data.length;
      return n;
    }
    default:
      return 0;
  }
}
