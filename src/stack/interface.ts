/**
 * The stack's interface: its MAC, its IPv4 and IPv6 addresses with their
 * prefixes, gateways and MTU, and the questions routing asks of them (is an
 * address ours, is it on the link, which next hop, which source address).
 * IPv6 always has a link-local address made from the MAC (RFC 4291 §2.5.1,
 * Appendix A modified EUI-64), which neighbor discovery speaks from.
 *
 * @example
 * ```ts
 * import { InterfaceConfig } from "./interface.ts";
 * const i = InterfaceConfig.parse({ mac: "02:00:00:00:00:07", ipv4: ["10.77.0.3/24"], gateway4: "10.77.0.1" });
 * i.nextHop(parseIp("8.8.8.8")); // the gateway's bytes
 * ```
 *
 * @module
 */
import { addressAt, formatIp, ipFamily, macBytes, parseIp, parseIpv6, sameAddress, type AddressInput } from "../../layers/addr.ts";
import { randomBelow, type Random } from "./random.ts";

/** An address and its prefix length. */
export interface AddressWithPrefix {
  address: Uint8Array;
  prefixLength: number;
}

/** What a user gives: text like "10.77.0.3/24", or bytes and a prefix. */
export type AddressSpec = string | { address: AddressInput; prefixLength: number };

/** Options of an interface. */
export interface InterfaceOptions {
  /** our MAC; default: a random locally administered unicast address */
  mac?: AddressInput | undefined;
  ipv4?: readonly AddressSpec[] | undefined;
  ipv6?: readonly AddressSpec[] | undefined;
  gateway4?: AddressInput | undefined;
  gateway6?: AddressInput | undefined;
  /** IP MTU (default 1500) */
  mtu?: number | undefined;
}

/** Parse "a.b.c.d/n" or "x::y/n" (or an object) into bytes and a prefix length; throws RangeError. */
export function parseAddressSpec(spec: AddressSpec, family: 4 | 6): AddressWithPrefix {
  let address: Uint8Array;
  let prefixLength: number;
  if (typeof spec === "string") {
    const slash = spec.indexOf("/");
    const text = slash < 0 ? spec : spec.slice(0, slash);
    if (ipFamily(text) !== family) throw new RangeError(`${spec} is not an IPv${family} address`);
    address = parseIp(text);
    const bits = family === 4 ? 32 : 128;
    prefixLength = slash < 0 ? bits : Number(spec.slice(slash + 1));
    if (!/^\d+$/.test(slash < 0 ? String(bits) : spec.slice(slash + 1)) || prefixLength > bits) {
      throw new RangeError(`${spec}: the prefix length must be 0 to ${bits}`);
    }
  } else {
    address = typeof spec.address === "string" ? parseIp(spec.address) : spec.address;
    prefixLength = spec.prefixLength;
  }
  if (address.length !== (family === 4 ? 4 : 16)) throw new RangeError(`Not an IPv${family} address: ${formatIp(address)}`);
  return { address: address.slice(), prefixLength };
}

/** Whether `a` and `b` share their first `bits` bits. */
export function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[i]! & mask) === (b[i]! & mask);
}

/** A random locally administered unicast MAC (RFC 7042 §2.1: bit 1 of the first octet set, bit 0 clear). */
export function randomMac(random: Random): Uint8Array {
  const mac = new Uint8Array(6);
  for (let i = 0; i < 6; i++) mac[i] = randomBelow(random, 256);
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}

/** fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291 Appendix A). */
export function linkLocalFromMac(mac: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a[8] = mac[0]! ^ 0x02;
  a[9] = mac[1]!;
  a[10] = mac[2]!;
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = mac[3]!;
  a[14] = mac[4]!;
  a[15] = mac[5]!;
  return a;
}

/** The solicited-node multicast address of `address` (RFC 4291 §2.7.1): ff02::1:ffXX:XXXX. */
export function solicitedNode(address: Uint8Array): Uint8Array {
  const a = parseIpv6("ff02::1:ff00:0");
  a[13] = address[13]!;
  a[14] = address[14]!;
  a[15] = address[15]!;
  return a;
}

/** The Ethernet address an IPv6 multicast group maps to: 33:33 and its low 32 bits (RFC 2464 §7). */
export function multicastMac(group: Uint8Array): Uint8Array {
  return Uint8Array.of(0x33, 0x33, group[12]!, group[13]!, group[14]!, group[15]!);
}

/** The all-nodes group ff02::1 (RFC 4291 §2.7.1). */
export const ALL_NODES = parseIpv6("ff02::1");
/** The all-routers group ff02::2. */
export const ALL_ROUTERS = parseIpv6("ff02::2");
/** The Ethernet broadcast address. */
export const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** The interface as the stack uses it. */
export class InterfaceConfig {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly ipv4: AddressWithPrefix[];
  readonly ipv6: AddressWithPrefix[];
  readonly linkLocal: Uint8Array;
  gateway4: Uint8Array | null;
  gateway6: Uint8Array | null;

  constructor(mac: Uint8Array, mtu: number, ipv4: AddressWithPrefix[], ipv6: AddressWithPrefix[], gateway4: Uint8Array | null, gateway6: Uint8Array | null) {
    this.mac = mac;
    this.mtu = mtu;
    this.ipv4 = ipv4;
    this.ipv6 = ipv6;
    this.linkLocal = linkLocalFromMac(mac);
    this.gateway4 = gateway4;
    this.gateway6 = gateway6;
  }

  /** Build from user options; throws RangeError on bad addresses or MTU. */
  static parse(options: InterfaceOptions, random: Random): InterfaceConfig {
    const mac = options.mac === undefined ? randomMac(random) : macBytes(options.mac).slice();
    const given = options.mtu ?? 1500;
    // RFC 791: every host takes 576-byte datagrams; RFC 8200 §5: IPv6 links carry at least 1280.
    if (!Number.isInteger(given) || given < 576) throw new RangeError(`MTU ${given} is below 576`);
    // No datagram is longer than its 16-bit length field allows: a larger link MTU (Linux's lo: 65536) means "anything fits".
    const mtu = Math.min(given, 65535);
    const ipv4 = (options.ipv4 ?? []).map((s) => parseAddressSpec(s, 4));
    const ipv6 = (options.ipv6 ?? []).map((s) => parseAddressSpec(s, 6));
    const gw = (a: AddressInput | undefined, family: 4 | 6): Uint8Array | null => {
      if (a === undefined) return null;
      const b = typeof a === "string" ? parseIp(a) : a;
      if (b.length !== (family === 4 ? 4 : 16)) throw new RangeError(`The IPv${family} gateway is not an IPv${family} address`);
      return b.slice();
    };
    return new InterfaceConfig(mac, mtu, ipv4, ipv6, gw(options.gateway4, 4), gw(options.gateway6, 6));
  }

  /** Our IPv4 address that `bytes[at, at + 4)` holds (compared where it lies), or null. */
  ipv4At(bytes: Uint8Array, at: number): Uint8Array | null {
    const list = this.ipv4;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!.address;
      if (addressAt(bytes, at, a)) return a;
    }
    return null;
  }

  /** Whether `address` (4 or 16 bytes) is one of ours (the IPv6 link-local one included). */
  isOurs(address: Uint8Array): boolean {
    if (address.length === 4) return this.ipv4.some((a) => sameAddress(a.address, address));
    return sameAddress(this.linkLocal, address) || this.ipv6.some((a) => sameAddress(a.address, address));
  }

  /** Whether an IPv4 destination is a broadcast we take: 255.255.255.255 or a subnet's directed broadcast. */
  isBroadcast4(address: Uint8Array): boolean {
    if (address[0] === 255 && address[1] === 255 && address[2] === 255 && address[3] === 255) return true;
    for (const a of this.ipv4) {
      if (a.prefixLength >= 31 || !samePrefix(a.address, address, a.prefixLength)) continue;
      let host = true;
      for (let bit = a.prefixLength; bit < 32; bit++) if (((address[bit >> 3]! >> (7 - (bit & 7))) & 1) === 0) host = false;
      if (host) return true;
    }
    return false;
  }

  /** Whether an IPv6 multicast destination is a group we listen to: all-nodes, or a solicited-node group of ours. */
  isOurGroup(address: Uint8Array): boolean {
    if (sameAddress(address, ALL_NODES)) return true;
    if (!(address[0] === 0xff && address[1] === 0x02 && address[11] === 0x01 && address[12] === 0xff)) return false;
    const ours = [this.linkLocal, ...this.ipv6.map((a) => a.address)];
    return ours.some((o) => o[13] === address[13] && o[14] === address[14] && o[15] === address[15]);
  }

  /** Whether `address` lies in one of our prefixes (or is IPv6 link-local). */
  isOnLink(address: Uint8Array): boolean {
    if (address.length === 4) return this.ipv4.some((a) => samePrefix(a.address, address, a.prefixLength));
    if (address[0] === 0xfe && (address[1]! & 0xc0) === 0x80) return true;
    return this.ipv6.some((a) => samePrefix(a.address, address, a.prefixLength));
  }

  /** The address to ask the link for: `dst` itself when on-link, else the gateway, else null (no route). */
  nextHop(dst: Uint8Array): Uint8Array | null {
    if (this.isOnLink(dst)) return dst;
    return dst.length === 4 ? this.gateway4 : this.gateway6;
  }

  /**
   * Our source address toward `dst`: the one on its prefix, else the first
   * of the family (IPv6: a global one for a global destination, link-local
   * for a link-local one, RFC 6724's scope rule). Null without one.
   */
  sourceFor(dst: Uint8Array): Uint8Array | null {
    if (dst.length === 4) {
      const match = this.ipv4.find((a) => samePrefix(a.address, dst, a.prefixLength));
      return (match ?? this.ipv4[0])?.address ?? null;
    }
    const linkLocalDst = dst[0] === 0xfe && (dst[1]! & 0xc0) === 0x80;
    if (linkLocalDst || (dst[0] === 0xff && (dst[1]! & 0x0f) === 0x02)) return this.linkLocal;
    const match = this.ipv6.find((a) => samePrefix(a.address, dst, a.prefixLength));
    return (match ?? this.ipv6[0])?.address ?? this.linkLocal;
  }

  /**
   * Take an IPv4 address (and its prefix) at run time, as a DHCP lease gives
   * one; a second call with the same address replaces its prefix.
   */
  addIpv4(a: AddressWithPrefix): void {
    this.removeIpv4(a.address);
    this.ipv4.push({ address: a.address.slice(), prefixLength: a.prefixLength });
  }

  /** Give up an IPv4 address (a lease released or expired); false when it was not ours. */
  removeIpv4(address: Uint8Array): boolean {
    const i = this.ipv4.findIndex((a) => sameAddress(a.address, address));
    if (i < 0) return false;
    this.ipv4.splice(i, 1);
    return true;
  }

  /** The IPv4 addresses as "a.b.c.d/n" text. */
  describe(): string {
    const parts = [...this.ipv4, ...this.ipv6].map((a) => `${formatIp(a.address)}/${a.prefixLength}`);
    return parts.join(" ");
  }
}
