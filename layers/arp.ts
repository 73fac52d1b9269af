/**
 * ARP (RFC 826): a zero-copy {@link ArpView}, the decoded value {@link Arp},
 * {@link decodeArp} and {@link arpCodec}. Ethernet/IPv4 is the common case
 * (hardware length 6, protocol length 4); other sizes decode too, with
 * addresses in colon hex. Ethernet padding after the message is dropped.
 *
 * ```text
 *  0        2        4    5    6      8        8+h      8+h+p    8+2h+p   8+2h+2p
 * +--------+--------+----+----+------+--------+--------+--------+--------+
 * | hw type| pr type| h  | p  |  op  | sender | sender | target | target |
 * |        |        |    |    |      | hw (h) | pr (p) | hw (h) | pr (p) |
 * +--------+--------+----+----+------+--------+--------+--------+--------+
 * ```
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "ethernet", dst: "ff:ff:ff:ff:ff:ff" }, { layer: "arp", op: 1, senderIp: "10.0.0.1", targetIp: "10.0.0.2" }]);
 * ```
 *
 * @module
 */
import { formatHexColon, formatIpv4, formatIpv6, formatMac, ipBytes, parseMac, type AddressInput } from "./addr.ts";
import { put16, u16 } from "./bytes.ts";
import { pooledValue, type Codec, type Decoder, type LayerBase, type Protocol } from "./core.ts";
import { ARPHRD_ETHER, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "./dispatch.ts";
import { parseLinkAddress } from "./sll.ts";
import { ByteView } from "./view.ts";

/** A decoded ARP message. */
export interface Arp extends LayerBase {
  layer: "arp";
  /** 1 = Ethernet */
  hardwareType: number;
  /** an ethertype: 0x0800 for IPv4 */
  protocolType: number;
  hardwareLength: number;
  protocolLength: number;
  /** 1 request, 2 reply (RFC 826); 3/4 RARP */
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/**
 * Build input. Unset: hardware type 1, protocol type 0x0800, op 1 (request),
 * MACs 00:00:00:00:00:00, IPs 0.0.0.0, lengths from the address sizes (the
 * sender's, else the target's). Addresses are text or bytes: MACs as
 * `aa:bb:cc:dd:ee:ff` or any colon hex, IPs as IPv4 or IPv6 text; bytes of
 * any length are written as they are.
 *
 * @example
 * ```ts
 * const input: ArpInput = { layer: "arp", op: 2, senderMac: Uint8Array.of(2, 0, 0, 0, 0, 1), senderIp: "10.0.0.1" };
 * ```
 */
export interface ArpInput {
  layer: "arp";
  hardwareType?: number;
  protocolType?: number;
  /** written as given, even when it disagrees with the addresses (which are placed by their own sizes) */
  hardwareLength?: number;
  protocolLength?: number;
  op?: number;
  senderMac?: AddressInput;
  senderIp?: AddressInput;
  targetMac?: AddressInput;
  targetIp?: AddressInput;
}

/** ARP operation codes (RFC 826; 3 and 4 are RARP's, RFC 903). */
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

/** Bytes in the fixed part of an ARP message, before the addresses. */
export const ARP_FIXED_LENGTH = 8;

/**
 * Byte offsets of ARP's fixed fields (RFC 826), from the message's start. The
 * four addresses follow at offsets that depend on the two length octets
 * (`ArpView.senderMacOffset` and the others).
 */
export const ARP_FIELD = { HARDWARE_TYPE: 0, PROTOCOL_TYPE: 2, HARDWARE_LENGTH: 4, PROTOCOL_LENGTH: 5, OP: 6, SENDER_MAC: 8 } as const;

function putAddress(bytes: Uint8Array, offset: number, address: Uint8Array, stated: number, what: string): void {
  if (address.length !== stated) throw new RangeError(`The ${what} has ${address.length} bytes; the message states ${stated}`);
  bytes.set(address, offset);
}

/**
 * An ARP message over bytes, without copying: it starts at `at` in `bytes`,
 * and the view may read up to `end` (exclusive; default: the end of `bytes`).
 * The addresses sit where `hardwareLength` and `protocolLength` put them and
 * read as `subarray`s of that many bytes; their setters copy exactly that
 * many bytes in, so set the two lengths first. The constructor checks
 * nothing; call {@link ArpView.check} once before trusting the addresses.
 *
 * @example
 * ```ts
 * const arp = new ArpView(frame, 14);
 * if (arp.check() === null && arp.op === 1) console.log(formatIpv4(frame, arp.targetIpOffset)); // who has this?
 * ```
 */
export class ArpView extends ByteView {
  /** null when the fixed part and the addresses its lengths state fit, else the reason. */
  check(): string | null {
    const n = this.end - this.at;
    const need = n < ARP_FIXED_LENGTH ? ARP_FIXED_LENGTH : this.messageLength;
    return n < need ? `message needs ${need} bytes, got ${n}` : null;
  }

  /**
   * The message at `bytes[at, end)` into `out` (every field, addresses as
   * text), or the reason it does not fit, as {@link check} gives it: the
   * decoder's one read, with no view object to point and every offset
   * worked out once.
   */
  static readInto(bytes: Uint8Array, at: number, end: number, out: Omit<Arp, "layer">): string | null {
    const n = end - at;
    const h = bytes[at + 4]!; // ARP_FIELD.HARDWARE_LENGTH
    const p = bytes[at + 5]!; // ARP_FIELD.PROTOCOL_LENGTH
    const need = n < 8 ? 8 : 8 + 2 * h + 2 * p; // ARP_FIXED_LENGTH, the message length
    if (n < need) return `message needs ${need} bytes, got ${n}`;
    out.hardwareType = (bytes[at]! << 8) | bytes[at + 1]!; // ARP_FIELD.HARDWARE_TYPE
    out.protocolType = (bytes[at + 2]! << 8) | bytes[at + 3]!; // ARP_FIELD.PROTOCOL_TYPE
    out.hardwareLength = h;
    out.protocolLength = p;
    out.op = (bytes[at + 6]! << 8) | bytes[at + 7]!; // ARP_FIELD.OP
    out.senderMac = formatHardware(bytes, at + 8, h); // ARP_FIELD.SENDER_MAC
    out.senderIp = formatProtocol(bytes, at + 8 + h, p);
    out.targetMac = formatHardware(bytes, at + 8 + h + p, h);
    out.targetIp = formatProtocol(bytes, at + 8 + 2 * h + p, p);
    return null;
  }

  /** 1 = Ethernet */
  get hardwareType(): number {
    return u16(this.bytes, this.at); // ARP_FIELD.HARDWARE_TYPE
  }
  set hardwareType(v: number) {
    put16(this.bytes, this.at, v); // ARP_FIELD.HARDWARE_TYPE
  }
  /** an ethertype: 0x0800 for IPv4 */
  get protocolType(): number {
    return u16(this.bytes, this.at + 2); // ARP_FIELD.PROTOCOL_TYPE
  }
  set protocolType(v: number) {
    put16(this.bytes, this.at + 2, v); // ARP_FIELD.PROTOCOL_TYPE
  }
  /** bytes in each hardware address */
  get hardwareLength(): number {
    return this.bytes[this.at + 4]!; // ARP_FIELD.HARDWARE_LENGTH
  }
  set hardwareLength(v: number) {
    this.bytes[this.at + 4] = v; // ARP_FIELD.HARDWARE_LENGTH
  }
  /** bytes in each protocol address */
  get protocolLength(): number {
    return this.bytes[this.at + 5]!; // ARP_FIELD.PROTOCOL_LENGTH
  }
  set protocolLength(v: number) {
    this.bytes[this.at + 5] = v; // ARP_FIELD.PROTOCOL_LENGTH
  }
  /** 1 request, 2 reply (RFC 826); 3/4 RARP */
  get op(): number {
    return u16(this.bytes, this.at + 6); // ARP_FIELD.OP
  }
  set op(v: number) {
    put16(this.bytes, this.at + 6, v); // ARP_FIELD.OP
  }
  /** Bytes in the whole message: 8 and two addresses of each kind. */
  get messageLength(): number {
    return ARP_FIXED_LENGTH + 2 * this.hardwareLength + 2 * this.protocolLength;
  }

  /** Where the sender's hardware address starts in `bytes`. */
  get senderMacOffset(): number {
    return this.at + 8; // ARP_FIELD.SENDER_MAC
  }
  /** Where the sender's protocol address starts: after `hardwareLength` bytes of hardware address. */
  get senderIpOffset(): number {
    return this.at + 8 + this.hardwareLength; // ARP_FIELD.SENDER_MAC
  }
  /** Where the target's hardware address starts. */
  get targetMacOffset(): number {
    return this.at + 8 + this.hardwareLength + this.protocolLength; // ARP_FIELD.SENDER_MAC
  }
  /** Where the target's protocol address starts. */
  get targetIpOffset(): number {
    return this.at + 8 + 2 * this.hardwareLength + this.protocolLength; // ARP_FIELD.SENDER_MAC
  }

  /** The sender's hardware address: `hardwareLength` bytes, a view of `bytes`. The setter copies exactly that many in. */
  get senderMac(): Uint8Array {
    const at = this.senderMacOffset;
    return this.bytes.subarray(at, at + this.hardwareLength);
  }
  set senderMac(address: Uint8Array) {
    putAddress(this.bytes, this.senderMacOffset, address, this.hardwareLength, "sender hardware address");
  }
  /** The sender's protocol address: `protocolLength` bytes. */
  get senderIp(): Uint8Array {
    const at = this.senderIpOffset;
    return this.bytes.subarray(at, at + this.protocolLength);
  }
  set senderIp(address: Uint8Array) {
    putAddress(this.bytes, this.senderIpOffset, address, this.protocolLength, "sender protocol address");
  }
  /** The target's hardware address: `hardwareLength` bytes. */
  get targetMac(): Uint8Array {
    const at = this.targetMacOffset;
    return this.bytes.subarray(at, at + this.hardwareLength);
  }
  set targetMac(address: Uint8Array) {
    putAddress(this.bytes, this.targetMacOffset, address, this.hardwareLength, "target hardware address");
  }
  /** The target's protocol address: `protocolLength` bytes. */
  get targetIp(): Uint8Array {
    const at = this.targetIpOffset;
    return this.bytes.subarray(at, at + this.protocolLength);
  }
  set targetIp(address: Uint8Array) {
    putAddress(this.bytes, this.targetIpOffset, address, this.protocolLength, "target protocol address");
  }

  /** ARP carries no payload: this is where the message ends and link padding (if any) begins. */
  get payloadStart(): number {
    return this.at + this.messageLength;
  }
  /** The same as `payloadStart`: the padding after the message is not ARP's payload. */
  get payloadEnd(): number {
    return this.payloadStart;
  }
  /** Always empty (a view of `bytes` at `payloadStart`). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }
}

function formatHardware(b: Uint8Array, at: number, n: number): string {
  return n === 6 ? formatMac(b, at) : formatHexColon(b, at, n);
}

function formatProtocol(b: Uint8Array, at: number, n: number): string {
  return n === 4 ? formatIpv4(b, at) : n === 16 ? formatIpv6(b, at) : formatHexColon(b, at, n);
}

function newArp(): Arp {
  return {
    layer: "arp",
    hardwareType: 0,
    protocolType: 0,
    hardwareLength: 0,
    protocolLength: 0,
    op: 0,
    senderMac: "",
    senderIp: "",
    targetMac: "",
    targetIp: "",
  };
}

/**
 * Decode an ARP message (pooled value) and drop the link padding after it.
 *
 * @example
 * ```ts
 * import { decodeAs } from "./decode.ts";
 * decodeAs("arp", message).layers[0]; // { layer: "arp", op: 1, senderIp: "10.77.0.1", targetIp: "10.77.0.2", ... }
 * ```
 */
export const decodeArp: Decoder = (bytes, state) => {
  const at = state.offset;
  const value = pooledValue(state.pool?.arp, state.layers.length, newArp);
  const reason = ArpView.readInto(bytes, at, state.end, value);
  if (reason !== null) {
    state.issues.push({ layer: "arp", kind: "truncated", reason });
    return null;
  }
  state.layers.push(value);
  // The rest is link padding.
  state.offset = state.end = at + 8 + 2 * value.hardwareLength + 2 * value.protocolLength;
  return null;
};

const ZERO_MAC = new Uint8Array(6);
const ZERO_IPV4 = new Uint8Array(4);

/** A hardware address's bytes: a MAC's 6 from its text, other colon hex as many as it has, bytes as given. */
function hardware(address: AddressInput | undefined): Uint8Array {
  if (address === undefined) return ZERO_MAC;
  if (typeof address !== "string") return address;
  if (/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(address)) return parseMac(address);
  return parseLinkAddress(address);
}

function protocol(address: AddressInput | undefined): Uint8Array {
  return address === undefined ? ZERO_IPV4 : ipBytes(address);
}

/** `address` cut or zero-padded to `n` bytes (a new array only when its size differs). */
function sized(address: Uint8Array, n: number): Uint8Array {
  if (address.length === n) return address;
  const out = new Uint8Array(n);
  out.set(address.subarray(0, n));
  return out;
}

/**
 * Builds an ARP message: see {@link ArpInput} for the defaults.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "arp", op: 1, senderIp: "10.0.0.1", targetIp: "10.0.0.2" }]).length; // 28
 * ```
 */
export const arpCodec: Codec<ArpInput> = {
  headerLength(v) {
    return ARP_FIXED_LENGTH + 2 * hardware(v.senderMac ?? v.targetMac).length + 2 * protocol(v.senderIp ?? v.targetIp).length;
  },
  write(v, out) {
    const senderMac = hardware(v.senderMac);
    const senderIp = protocol(v.senderIp);
    const targetMac = hardware(v.targetMac);
    const targetIp = protocol(v.targetIp);
    // The sizes come from the sender's addresses, else the target's; each address is cut or padded to them.
    const h = (v.senderMac === undefined ? targetMac : senderMac).length;
    const p = (v.senderIp === undefined ? targetIp : senderIp).length;
    const view = new ArpView(out);
    view.hardwareType = v.hardwareType ?? ARPHRD_ETHER;
    view.protocolType = v.protocolType ?? ETHERTYPE_IPV4;
    view.op = v.op ?? ARP_OP_REQUEST;
    // Place the addresses by their real sizes, then write the stated lengths,
    // which may differ on purpose.
    view.hardwareLength = h;
    view.protocolLength = p;
    view.senderMac = sized(senderMac, h);
    view.senderIp = sized(senderIp, p);
    view.targetMac = sized(targetMac, h);
    view.targetIp = sized(targetIp, p);
    view.hardwareLength = v.hardwareLength ?? h;
    view.protocolLength = v.protocolLength ?? p;
  },
};

/** ARP in the registry. */
export const arpProtocol: Protocol<"arp", Arp, ArpInput> = {
  kind: "arp",
  decode: decodeArp,
  codec: arpCodec,
  pooled: true,
  claims: { ethertypes: [ETHERTYPE_ARP] },
  inputRules: { hardwareType: 0xffff, protocolType: 0xffff, hardwareLength: 0xff, protocolLength: 0xff, op: 0xffff, senderMac: "address", senderIp: "address", targetMac: "address", targetIp: "address" },
};
