/**
 * The contract every protocol module in `layers/` follows. Pure TypeScript: no
 * `node:*`, no `Buffer`, no I/O, no clocks. Imports only `layers/`.
 *
 * Decoding walks the frame outermost first, without copying and without making
 * a view per layer. Each protocol module exports a {@link Decoder}, called as
 * `decoder(bytes, state)` where `bytes` holds the frame (the frame itself, a
 * capture batch's buffer of which the frame is a range, or the quoted datagram,
 * for `state.nest`) and the layer's own bytes are
 * `bytes[state.offset, state.end)`. The decoder reads its header at
 * `state.offset`, never reads outside that range, pushes one plain value onto
 * `state.layers`, narrows `state.offset`/`state.end` to its payload (link
 * padding dropped: `end` only ever moves down, `offset` only up, and
 * `offset <= end` holds on return) and returns the name of the layer that
 * comes next (looked up through `state.dispatch`), or `null` to stop. Bad bytes never throw: the decoder pushes what it
 * could read (or nothing), records an {@link Issue} and returns `null`. When
 * the walk stops, the pipeline turns a non-empty `[offset, end)` into the one
 * `payload` layer, as a `subarray` (a view, never a copy); values a decoder
 * pushes may hold views of `bytes` too, never copies it did not need.
 *
 * A decoder pushes a new value on every call unless `state.pool` is set (the
 * zero-copy read, `PacketDecoder.decodeReused`): then a fixed-shape decoder
 * overwrites, field by field, the value it pushed at the same position for an
 * earlier packet ({@link LayerPool}, {@link pooledValue}).
 *
 * Encoding goes the other way, innermost first, so each header sees its finished
 * payload when it fills lengths and checksums. Each module exports a
 * {@link Codec} with `headerLength` and `write` (and `append` for the layers
 * whose length is known only once written).
 *
 * Each protocol module also exports one {@link Protocol} descriptor that
 * names its decoder, codec and the wire values it claims; `registry.ts`
 * assembles every table from those. This module knows no protocol and
 * imports nothing.
 *
 * @module
 */

/**
 * A layer's name as it appears in a decoded value's `layer` field and in a
 * build list ("ethernet", "ipv4", "udp", ...). The closed union of the names
 * the package knows is `Kind`, assembled in `registry.ts` from the protocol
 * descriptors; this contract module knows no protocol, so it speaks of names.
 */
export type LayerName = string;

/** What kind of problem stopped or marked a decode. */
export type IssueKind = "truncated" | "malformed";

/**
 * One problem met while decoding. `reason` is a sentence-case phrase without the
 * layer name, e.g. "header length 60 exceeds 34 bytes".
 */
export interface Issue {
  layer: LayerName;
  kind: IssueKind;
  reason: string;
}

/** What a transport-layer checksum check found. */
export type ChecksumStatus =
  /** verified correct */
  | "good"
  /** verified wrong */
  | "bad"
  /**
   * Equals the pseudo-header-only partial sum that a NIC with checksum offload
   * would complete: what the kernel hands to libpcap for locally sent packets.
   */
  | "partial"
  /** cannot be verified: bytes missing (truncated capture), fragment, ICMP quote */
  | "unverified"
  /** checksum field is 0 on UDP over IPv4: the sender computed none (RFC 768) */
  | "none";

/** `checksumValid` as the JSON schema shows it: true, false, or null when unknown. */
export function checksumValidOf(status: ChecksumStatus): boolean | null {
  return status === "good" ? true : status === "bad" ? false : null;
}

/**
 * What the nearest enclosing IP layer tells the transport layer above it. Set by
 * the IPv4/IPv6 decoders before they return, read by UDP/TCP/ICMPv6 for the
 * pseudo-header (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1). The decoders set an
 * `IpHeaderContext` (`checksum.ts`), which reads the addresses straight from
 * the frame and makes `src`/`dst` views only when they are read; any plain
 * object of this shape works as well (tests, callers of the checksum functions).
 */
export interface IpContext {
  version: 4 | 6;
  /** source and destination addresses: 4 or 16 bytes (views of the frame when the decoder set them) */
  src: Uint8Array;
  dst: Uint8Array;
  /**
   * Upper-layer length as the IP header states it (IPv4 total length minus header
   * length; IPv6 payload length minus extension headers).
   */
  upperLength: number;
  /**
   * False when the captured bytes hold less than `upperLength` (snaplen cut) or
   * this is a fragment: the transport checksum cannot be verified.
   */
  complete: boolean;
  /** true when this datagram is a fragment with offset > 0: no transport header in it */
  laterFragment: boolean;
}

/**
 * The lookups a decoder or a builder makes by wire value: which layer an
 * ethertype, an IP protocol, a port or an address family announces, and the
 * reverse, the value that announces a layer. Built once by `registry.ts` from
 * the protocol descriptors' {@link Claims} and handed to decoders in the
 * {@link DecodeState} and to codecs in the {@link EncodeContext}: protocol
 * modules never import the registry (which imports them).
 */
export interface Dispatch {
  /** the layer an ethertype (> 1500) announces, or null */
  ethertype(type: number): LayerName | null;
  /** the layer an IP protocol / IPv6 next header announces, or null */
  ipProtocol(protocol: number): LayerName | null;
  /** the application layer of a UDP datagram by port: destination first, then source */
  udpPort(srcPort: number, dstPort: number): LayerName | null;
  /** the application layer of a TCP segment by port: destination first, then source */
  tcpPort(srcPort: number, dstPort: number): LayerName | null;
  /** the application layer a TCP payload `bytes[start, end)` looks like from its first bytes, or null */
  sniffTcp(bytes: Uint8Array, start: number, end: number): LayerName | null;
  /** the layer a loopback address family announces, or null */
  addressFamily(family: number): LayerName | null;
  /** the ethertype a builder writes for a layer inside (its first claimed), or undefined */
  ethertypeOf(kind: LayerName): number | undefined;
  /** the IP protocol number a builder writes for a layer inside, or undefined */
  ipProtocolOf(kind: LayerName): number | undefined;
  /** the well-known UDP port of an application layer, or undefined */
  udpPortOf(kind: LayerName): number | undefined;
  /** the well-known TCP port of an application layer, or undefined */
  tcpPortOf(kind: LayerName): number | undefined;
  /** the loopback address family a builder writes for a layer inside, or undefined */
  addressFamilyOf(kind: LayerName): number | undefined;
}

/** Options a caller passes to {@link DecodeState}. */
export interface DecodeOptions {
  /** Stop after this many layers (e.g. 2 for link + network). Default: no limit. */
  maxLayers?: number;
  /** Verify checksums (default true). */
  verifyChecksums?: boolean;
  /**
   * Consulted by UDP before its port table: lets conversation state in `src/`
   * (e.g. the TFTP tracker) name the protocol of a datagram on ephemeral ports.
   * `ip` is valid during the call only (the pipeline reuses it for the next
   * datagram); its `src`/`dst` views stay valid, a hint may keep those.
   */
  udpHint?: (srcPort: number, dstPort: number, ip: IpContext | null) => LayerName | undefined;
}

/**
 * An {@link IpContext} the IP decoders can point at the next header instead
 * of allocating one per datagram (`IpHeaderContext` in `checksum.ts`).
 * `addressSum`, when the caller has it, is the unfolded sum of the header's
 * two addresses.
 */
export interface ReusableIpContext extends IpContext {
  reset(version: 4 | 6, bytes: Uint8Array, headerOffset: number, upperLength: number, complete: boolean, laterFragment: boolean, addressSum?: number): this;
}

/**
 * Mutable state threaded through one decode. Reused between packets by the
 * pipeline: decoders must not keep references to it.
 */
export interface DecodeState {
  layers: LayerBase[];
  issues: Issue[];
  /**
   * Index in the decoder's `bytes` where the current layer starts. On return a
   * decoder sets it to where its payload starts (`<= end`).
   */
  offset: number;
  /**
   * Index in the decoder's `bytes` just past the current layer (exclusive: the
   * captured bytes, or less once an outer layer dropped link padding). On return
   * a decoder sets it to just past its payload; it never grows.
   */
  end: number;
  /** set by IPv4/IPv6; null outside an IP datagram */
  ip: IpContext | null;
  /**
   * When present, the IP decoders `reset` this context and set it as `ip`
   * instead of allocating one per datagram. The pipeline gives each state one,
   * so an `ip` it hands out (e.g. to `udpHint`) is only valid during that
   * decode call.
   */
  spareIp?: ReusableIpContext;
  /**
   * Present only during a zero-copy read (`PacketDecoder.decodeReused`): the
   * values this state's earlier decodes pushed, which a fixed-shape decoder
   * overwrites instead of allocating (see {@link LayerPool}). Absent (the
   * copy read, tests, nested quotes): every value is new.
   */
  pool?: LayerPool | undefined;
  /** nesting depth: 0 for the frame, 1 inside an ICMP error's quoted datagram */
  depth: number;
  options: DecodeOptions;
  /** the wire-value lookups (the registry's tables) */
  dispatch: Dispatch;
  /**
   * Decode `bytes` (a view of just the quoted datagram: it is decoded from
   * offset 0 to its end) as `kind` and everything inside it, one level deeper,
   * into separate lists: for the datagram quoted in an ICMP/ICMPv6 error.
   * Provided by the pipeline, so protocol modules never import it.
   */
  nest(kind: LayerName, bytes: Uint8Array): { layers: LayerBase[]; issues: Issue[] };
}

/**
 * Decoder-owned values of the fixed-shape layers, by kind and by position in
 * `layers` (the position a decoder pushes at is `state.layers.length`), for the
 * zero-copy read: one list per protocol whose descriptor says `pooled`, plus
 * the pipeline's `payload` slots, in an object of fixed shape made by the
 * registry (`newLayerPool`). A decoder that uses it gets its value from
 * {@link pooledValue} and assigns every field every time, so nothing of an
 * earlier packet shows; a list it owns (IPv4 options, IPv6 extensions, TCP
 * options) it empties and refills. Layers whose shape varies by message (ICMP,
 * DNS, DHCP, TFTP, HTTP, LLC, SLL, ...) and conditionally present fields (an
 * 802.3 Ethernet `length`) are not pooled: those values are new on every decode.
 */
export type LayerPool = { readonly [kind: LayerName]: LayerBase[] | undefined };

/**
 * The value a decoder fills for the layer at `position`: from `list` (one kind's
 * {@link LayerPool} list) when the state has a pool, else `make()`, which
 * returns a new value with every field present. The caller assigns every field.
 */
export function pooledValue<T extends LayerBase>(list: LayerBase[] | undefined, position: number, make: () => T): T {
  if (list === undefined) return make();
  let value = list[position] as T | undefined;
  if (value === undefined) {
    value = make();
    list[position] = value;
  }
  return value;
}

/**
 * A protocol decoder: reads `bytes[state.offset, state.end)` and narrows that
 * range to its payload (see the module comment).
 */
export type Decoder = (bytes: Uint8Array, state: DecodeState) => LayerName | null;

/**
 * What an encoder can know about its surroundings. Built by the pipeline from the
 * user's values before any bytes are written.
 */
export interface EncodeContext {
  /** the value just inside this one (the next in the list), for type/protocol fill */
  inner: LayerBase | undefined;
  /** the value just outside this one (the previous in the list) */
  outer: LayerBase | undefined;
  /** the nearest enclosing IP layer's addresses, for transport pseudo-headers */
  ip: { version: 4 | 6; src: Uint8Array; dst: Uint8Array } | undefined;
  /**
   * The registry's lookups, for the values that announce the layer inside
   * (ethertype, protocol, port). The pipeline always sets it; a context made
   * by hand without it (`encodeContext` in `encode.ts` makes complete ones)
   * derives none of those numbers: they are written as 0, or the codec's own
   * default.
   */
  dispatch?: Dispatch | undefined;
}

/**
 * A protocol encoder. A fixed-size header is written in two steps: the
 * pipeline asks its `headerLength`, writes the payload, then calls `write`.
 * A layer whose size is known only once written (DNS, DHCP, TFTP, HTTP, the
 * payload) also has `append`, which writes the whole layer forward in one
 * pass: `encodeInto` uses it for the layers at the end of a packet, so none
 * is encoded twice.
 */
export interface Codec<V> {
  /** Bytes this layer writes before its payload. */
  headerLength(value: V, ctx: EncodeContext): number;
  /**
   * Write the header into `out[0, headerLength)`. `out` runs to the end of this
   * layer's payload, which is already written at `out[headerLength, …)`, so
   * lengths and checksums can be computed over it. Fields the user set are
   * written as given, even when invalid; unset ones are derived.
   */
  write(value: V, out: Uint8Array, ctx: EncodeContext): void;
  /**
   * Write the whole layer at `out[at, …)` and return where it ends. Throws a
   * `RangeError` when `out` has too little room (nothing past `out.length` is
   * ever written).
   */
  append?(value: V, out: Uint8Array, at: number, ctx: EncodeContext): number;
  /** With `append`: at most this many bytes are written (sizes a new buffer). */
  maxLength?(value: V, ctx: EncodeContext): number;
}

/**
 * The wire values a protocol claims: the layer before it names it with one of
 * these. The first value of a list is the one a builder writes.
 */
export interface Claims {
  /** pcap link types whose frames start with this layer */
  linkTypes?: readonly number[];
  ethertypes?: readonly number[];
  ipProtocols?: readonly number[];
  udpPorts?: readonly number[];
  tcpPorts?: readonly number[];
  /** loopback (LINKTYPE_NULL / LOOP) address families */
  addressFamilies?: readonly number[];
  /** a TCP payload `bytes[start, end)` that starts like this protocol (consulted when no port claims it) */
  sniffTcp?: (bytes: Uint8Array, start: number, end: number) => boolean;
}

/**
 * One protocol, as the registry sees it: its name, decoder, codec, the wire
 * values it claims and, for application layers, the one-line summary a
 * printer shows (tcpdump's text after the ports). `V` and `I` are its decoded
 * value and build input types, from which the registry assembles `AnyLayer`
 * and `AnyInput`.
 *
 * @example
 * ```ts
 * export const udpProtocol: Protocol<"udp", Udp, UdpInput> = {
 *   kind: "udp", decode: decodeUdp, codec: udpCodec, pooled: true, claims: { ipProtocols: [IP_PROTOCOL_UDP] },
 * };
 * ```
 */
export interface Protocol<K extends LayerName = LayerName, V extends LayerBase = LayerBase, I extends { layer: K } = { layer: K }> {
  readonly kind: K;
  /** absent for a layer the pipeline makes itself (`payload`) */
  readonly decode?: Decoder;
  readonly codec: Codec<I>;
  readonly claims?: Claims;
  /** whether the decoder reuses its values in the zero-copy read (a {@link LayerPool} list) */
  readonly pooled?: boolean;
  /** one line for a printer, or null to fall back to the transport summary (application layers) */
  readonly summary?: (value: V) => string | null;
  /**
   * What each field of the build input may hold (`input_check.ts`): a builder
   * throws a `RangeError`/`TypeError` naming the layer and field for a value
   * that does not fit, instead of writing its low bits.
   */
  readonly inputRules?: FieldRules;
}

/**
 * One build-input field's rule (checked by `input_check.ts`):
 * - a number `max`: an integer in `0..max`;
 * - `{ max, multipleOf }`: an integer in `0..max` that is a multiple (a
 *   length in bytes written in 4- or 8-byte units);
 * - `"int"`: any safe integer (written as text, or checked by its codec);
 * - `"bool"`, `"text"` (a string), `"bytes"` (a Uint8Array);
 * - `"data"`: bytes, or text written as UTF-8;
 * - `"ipv4"`, `"ipv6"`, `"ip"`, `"mac"`: an address as text, or bytes of the
 *   family's length; `"address"` text or bytes of any length;
 * - `{ orName: max }`: an integer in `0..max`, or a name the codec looks up;
 * - a list of strings: one of them;
 * - `{ list: rules }`: an array of objects, each with its own rules;
 * - `{ each: rule }`: an array whose every entry follows `rule`.
 */
export type FieldRule =
  | number
  | "int"
  | "bool"
  | "text"
  | "bytes"
  | "data"
  | "ipv4"
  | "ipv6"
  | "ip"
  | "mac"
  | "address"
  | readonly string[]
  | { readonly max: number; readonly multipleOf: number }
  | { readonly orName: number }
  | { readonly list: FieldRules }
  | { readonly each: FieldRule };

/** A layer's (or a list entry's) field rules, by field name. */
export type FieldRules = { readonly [field: string]: FieldRule };

/** The plain decoded value of a layer. Each module defines its own, tagged by `layer`. */
export interface LayerBase {
  layer: LayerName;
}

// Modules define their own value interfaces (`Ethernet`, `Ipv4`, ...) extending
// LayerBase; the closed union of all of them is `AnyLayer` in `registry.ts`,
// and the union of their build inputs is `AnyInput` there.

/** Build-input form of a decoded value type: `layer` required, every other field optional. */
export type Input<T extends LayerBase> = { layer: T["layer"] } & { [K in Exclude<keyof T, "layer">]?: T[K] };

/** Undecoded bytes after the last layer that could be decoded. */
export interface Payload extends LayerBase {
  layer: "payload";
  data: Uint8Array;
}
