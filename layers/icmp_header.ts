/**
 * What ICMP (RFC 792) and ICMPv6 (RFC 4443 §2.1) messages share on the wire:
 * type, code and checksum in the first four bytes, and for the echo messages
 * an identifier and a sequence number in the next four. {@link IcmpView}
 * (icmp.ts) and, through the NDP fields, `Icmpv6View` (icmpv6.ts) build on
 * this view; each gives its types' header lengths and its checksum (ICMPv6's
 * covers a pseudo-header, ICMP's does not).
 *
 * ```text
 * +--------+--------+-----------------+
 * |  type  |  code  |    checksum     |  0
 * |   identifier    |    sequence     |  4   (echo request / reply)
 * +--------+--------+-----------------+
 * ```
 *
 * @example
 * ```ts
 * import { IcmpHeaderView } from "./icmp_header.ts";
 * const view = new IcmpHeaderView(Uint8Array.of(8, 0, 0xf7, 0xfe, 0, 1, 0, 1));
 * [view.type, view.identifier, view.sequence]; // [8, 1, 1]
 * ```
 *
 * @module
 */
import { put16, u16 } from "./bytes.ts";
import { ByteView } from "./view.ts";

/** Byte offsets of the fields every ICMP and ICMPv6 message has, and the echo messages' two. */
export const ICMP_HEADER_FIELD = { TYPE: 0, CODE: 1, CHECKSUM: 2, IDENTIFIER: 4, SEQUENCE: 6 } as const;

/** Bytes of type, code and checksum: what every message has. */
export const ICMP_COMMON_BYTES = 4;

/**
 * A view of an ICMP or ICMPv6 message's common header (see the module
 * comment). The accessors spell {@link ICMP_HEADER_FIELD}'s offsets as
 * literals, each named in a comment, so V8 always inlines them.
 */
export class IcmpHeaderView extends ByteView {
  /** Bytes of the type's header: 4 here (type, code, checksum); the ICMP and ICMPv6 views know their types'. */
  get headerLength(): number {
    return ICMP_COMMON_BYTES;
  }

  /** null when type, code and checksum fit and so does the type's header ({@link headerLength}), else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    if (n < ICMP_COMMON_BYTES) return `header needs 4 bytes, have ${n}`;
    const need = this.headerLength;
    if (n < need) return `type ${this.type} needs ${need} bytes, have ${n}`;
    return null;
  }

  get type(): number {
    return this.bytes[this.at]!; // ICMP_HEADER_FIELD.TYPE
  }
  set type(v: number) {
    this.bytes[this.at] = v; // ICMP_HEADER_FIELD.TYPE
  }
  get code(): number {
    return this.bytes[this.at + 1]!; // ICMP_HEADER_FIELD.CODE
  }
  set code(v: number) {
    this.bytes[this.at + 1] = v; // ICMP_HEADER_FIELD.CODE
  }
  get checksum(): number {
    return u16(this.bytes, this.at + 2); // ICMP_HEADER_FIELD.CHECKSUM
  }
  set checksum(v: number) {
    put16(this.bytes, this.at + 2, v); // ICMP_HEADER_FIELD.CHECKSUM
  }
  /** echo request / reply: the identifier */
  get identifier(): number {
    return u16(this.bytes, this.at + 4); // ICMP_HEADER_FIELD.IDENTIFIER
  }
  set identifier(v: number) {
    put16(this.bytes, this.at + 4, v); // ICMP_HEADER_FIELD.IDENTIFIER
  }
  /** echo request / reply: the sequence number */
  get sequence(): number {
    return u16(this.bytes, this.at + 6); // ICMP_HEADER_FIELD.SEQUENCE
  }
  set sequence(v: number) {
    put16(this.bytes, this.at + 6, v); // ICMP_HEADER_FIELD.SEQUENCE
  }

  /** Where the data (echo data, an error's quoted datagram, NDP options) starts in `bytes`: after the type's header. */
  get payloadStart(): number {
    return this.at + this.headerLength;
  }
  /** `end`: neither has a length field (the IP layer bounds the message). */
  get payloadEnd(): number {
    return this.end;
  }
  /** The data, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.end);
  }
}
