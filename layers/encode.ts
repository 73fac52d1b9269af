/**
 * The builder: a list of plain layer inputs, outermost first → the bytes of one
 * packet, written in one pass into a caller's buffer ({@link encodeInto}) or a
 * new one ({@link encodePacket}).
 *
 * The layers at the end of the list whose codec can `append` (DNS, DHCP,
 * TFTP, HTTP, payload: their size is known only once written) are written
 * forward first, at the offset the headers before them take; then the other
 * headers are written innermost first, each seeing its finished payload when
 * it fills lengths and checksums (gopacket's `PrependBytes` order). No layer
 * is encoded twice. Each layer gets an `EncodeContext`: the input just inside
 * and just outside it, the nearest enclosing IPv4/IPv6 layer's addresses (with
 * defaults applied) for pseudo-headers, and the registry's dispatch tables.
 * Fields left unset are derived or defaulted (see each module's `XInput`);
 * fields set are written as given, even when invalid.
 *
 * @example
 * ```ts
 * import { encodeInto, encodePacket } from "./encode.ts";
 * const layers = [
 *   { layer: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" },
 *   { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
 *   { layer: "udp", srcPort: 1234, dstPort: 53 },
 *   { layer: "payload", data: new Uint8Array(4) },
 * ] as const;
 * const frame = encodePacket(layers); // type 0x0800, protocol 17, lengths and checksums filled
 * const ring = new Uint8Array(2048);
 * const n = encodeInto(layers, ring, 16); // the same 46 bytes at ring[16, 62)
 * ```
 *
 * @module
 */
import { ipv4Bytes, ipv6Bytes, type AddressInput } from "./addr.ts";
import { checkBytes } from "./bytes.ts";
import type { Codec, EncodeContext, LayerBase } from "./core.ts";
import { checkCompiled } from "./input_check.ts";
import { CODECS, DISPATCH, INPUT_CHECKS, type AnyInput } from "./registry.ts";

export { payloadCodec, type PayloadInput } from "./payload.ts";

type IpAddresses = NonNullable<EncodeContext["ip"]>;

function ipOf(v: AnyInput): IpAddresses | undefined {
  if (v.layer === "ipv4") {
    return {
      version: 4,
      src: v.src === undefined ? new Uint8Array(4) : ipv4Bytes(v.src),
      dst: v.dst === undefined ? new Uint8Array(4) : ipv4Bytes(v.dst),
    };
  }
  if (v.layer === "ipv6") {
    // RFC 8200 §8.1: with a Routing header, the pseudo-header carries the final destination.
    let dst: AddressInput | undefined = v.dst;
    for (const e of v.extensions ?? []) {
      if (e.type !== "routing" || e.addresses === undefined || e.addresses.length === 0) continue;
      if ((e.segmentsLeft ?? e.addresses.length) === 0) continue;
      dst = (e.routingType ?? 0) === 4 ? e.addresses[0] : e.addresses[e.addresses.length - 1];
    }
    return {
      version: 6,
      src: v.src === undefined ? new Uint8Array(16) : ipv6Bytes(v.src),
      dst: dst === undefined ? new Uint8Array(16) : ipv6Bytes(dst),
    };
  }
  return undefined;
}

/**
 * A complete {@link EncodeContext} for calling one codec by hand: the given
 * neighbours and IP addresses, and the registry's tables (so the codec fills
 * the numbers that announce the layer inside, as the pipeline's contexts do).
 */
export function encodeContext(parts: Partial<Pick<EncodeContext, "inner" | "outer" | "ip">> = {}): EncodeContext {
  return { inner: parts.inner, outer: parts.outer, ip: parts.ip, dispatch: DISPATCH };
}

/** What both entry points work out before writing: codecs, contexts, the fixed headers' lengths, the appended tail. */
interface Plan {
  codecs: Codec<AnyInput>[];
  contexts: EncodeContext[];
  /** header length of each layer before `tail` */
  lengths: number[];
  /** sum of `lengths` */
  headers: number;
  /** index of the first layer of the trailing run written with `append` (the list's length when none) */
  tail: number;
}

function plan(layers: readonly AnyInput[]): Plan {
  if (!Array.isArray(layers)) throw new TypeError(`Cannot encode: expected an array of layers, got ${typeof layers}`);
  const n = layers.length;
  const contexts: EncodeContext[] = new Array<EncodeContext>(n);
  const codecs: Codec<AnyInput>[] = new Array<Codec<AnyInput>>(n);
  let ip: IpAddresses | undefined;
  for (let i = 0; i < n; i++) {
    const v = layers[i]!;
    if (typeof v !== "object" || v === null) throw new TypeError(`Cannot encode layer ${i}: expected an object such as { layer: "udp" }, got ${v === null ? "null" : typeof v}`);
    const codec = (CODECS as Partial<Record<string, Codec<AnyInput>>>)[v.layer];
    if (codec === undefined) throw new TypeError(`Cannot encode ${v.layer}: no codec for this layer`);
    // A value that does not fit its field throws here, before any byte is written.
    const check = INPUT_CHECKS[v.layer];
    if (check !== undefined) checkCompiled(v.layer, v, check);
    codecs[i] = codec;
    contexts[i] = { inner: layers[i + 1] as LayerBase | undefined, outer: layers[i - 1] as LayerBase | undefined, ip, dispatch: DISPATCH };
    ip = ipOf(v) ?? ip; // layers inside this one see it as their nearest IP layer
  }
  let tail = n;
  while (tail > 0 && codecs[tail - 1]!.append !== undefined) tail--;
  const lengths = new Array<number>(tail);
  let headers = 0;
  for (let i = 0; i < tail; i++) {
    const h = codecs[i]!.headerLength(layers[i]!, contexts[i]!);
    lengths[i] = h;
    headers += h;
  }
  return { codecs, contexts, lengths, headers, tail };
}

function write(layers: readonly AnyInput[], p: Plan, buffer: Uint8Array, offset: number): number {
  if (offset < 0 || offset + p.headers > buffer.length) {
    throw new RangeError(`Cannot encode: the headers need ${p.headers} bytes at offset ${offset}, the buffer has ${buffer.length}`);
  }
  let end = offset + p.headers;
  for (let i = p.tail; i < layers.length; i++) end = p.codecs[i]!.append!(layers[i]!, buffer, end, p.contexts[i]!);
  let start = offset + p.headers;
  for (let i = p.tail - 1; i >= 0; i--) {
    start -= p.lengths[i]!;
    p.codecs[i]!.write(layers[i]!, buffer.subarray(start, end), p.contexts[i]!);
  }
  return end - offset;
}

/**
 * Build one packet from `layers` (outermost first) into `buffer` at `offset`,
 * in one pass, and return its length. Throws `RangeError` when it does not fit
 * (bytes past `buffer.length` are never written), `TypeError` for a layer name
 * without a codec and `RangeError` for unparsable address text (programmer
 * errors); never for values that make an invalid packet.
 */
export function encodeInto(layers: readonly AnyInput[], buffer: Uint8Array, offset = 0): number {
  checkBytes(buffer, "encodeInto");
  return write(layers, plan(layers), buffer, offset);
}

/**
 * Build one packet from `layers`, outermost first, into a new buffer of its
 * size. Throws as {@link encodeInto} does.
 */
export function encodePacket(layers: readonly AnyInput[]): Uint8Array {
  const p = plan(layers);
  let bound = p.headers;
  for (let i = p.tail; i < layers.length; i++) bound += p.codecs[i]!.maxLength!(layers[i]!, p.contexts[i]!);
  const out = new Uint8Array(bound);
  const n = write(layers, p, out, 0);
  // An appended layer's bound may be loose (a DNS name compresses): then the
  // packet is the first n bytes, copied once into a buffer of its own size.
  return n === bound ? out : out.slice(0, n);
}
