/**
 * The decode pipeline: bytes of one frame → a list of plain layer values,
 * outermost first, plus the issues met on the way.
 *
 * The registry's `DECODERS` maps each layer name to its module's decoder; a
 * layer without an entry (or a decoder that returns null) ends the walk, and the bytes left
 * over become one `payload` layer (a view, not a copy). Decoders get the whole
 * frame and the current layer's range in `state.offset`/`state.end`, so the
 * walk makes no view per layer: the `payload` view is the only one. The walk
 * is bounded (`MAX_LAYERS`), and datagrams quoted in ICMP errors are decoded
 * one level deep through `state.nest`, never deeper.
 *
 * Two reads, as gopacket has: {@link PacketDecoder.decode} (the copy read)
 * returns new values the caller may keep; {@link PacketDecoder.decodeReused}
 * (the zero-copy read) returns the decoder's own arrays and, for the
 * fixed-shape layers, its own values, overwritten by the next call: for a loop
 * that formats or counts each packet at once and keeps nothing.
 *
 * When the caller passes the frame's original length and it equals the
 * captured length, the frame was not cut by the capture, so any "truncated"
 * issue really means a length field that lies: it is reported as "malformed".
 *
 * @example
 * ```ts
 * import { PacketDecoder } from "./decode.ts";
 * const decoder = new PacketDecoder();
 * for (const frame of frames) {
 *   const { layers, issues } = decoder.decode(frame.data, frame.linkType, frame.length);
 * }
 * ```
 *
 * @module
 */
import { checkBytes } from "./bytes.ts";
import { IpHeaderContext, prepareWords, rangeView } from "./checksum.ts";
import { pooledValue, type DecodeOptions, type DecodeState, type Decoder, type Dispatch, type Issue, type IpContext, type LayerBase, type LayerPool, type Payload } from "./core.ts";
import { DECODERS, DISPATCH, firstKind, newLayerPool, type AnyLayer, type Kind } from "./registry.ts";

/**
 * DECODERS as the walk reads it: an open-addressing table keyed by a hash of
 * the name's first and last characters and its length. The walk looks up a
 * different name at every step; the names are constant strings, so this costs
 * a few loads and one compare, where `Map.get` (and a keyed property load, more
 * so) showed as 5% of a full decode.
 */
class DecoderTable {
  static readonly SIZE = 64;
  readonly #names: (string | undefined)[] = new Array<string | undefined>(DecoderTable.SIZE).fill(undefined);
  readonly #decoders: (Decoder | undefined)[] = new Array<Decoder | undefined>(DecoderTable.SIZE).fill(undefined);

  constructor(table: { readonly [name: string]: Decoder | undefined }) {
    for (const [name, decoder] of Object.entries(table) as [string, Decoder][]) {
      let i = DecoderTable.slot(name);
      while (this.#names[i] !== undefined) i = (i + 1) & (DecoderTable.SIZE - 1);
      this.#names[i] = name;
      this.#decoders[i] = decoder;
    }
  }

  static slot(name: string): number {
    // Collision-free for today's names (a collision only costs a probe).
    return (name.charCodeAt(0) + name.charCodeAt(name.length - 1) * 2 + name.length * 5) & (DecoderTable.SIZE - 1);
  }

  get(name: string): Decoder | undefined {
    let i = DecoderTable.slot(name);
    for (;;) {
      const at = this.#names[i];
      if (at === name) return this.#decoders[i];
      if (at === undefined) return undefined;
      i = (i + 1) & (DecoderTable.SIZE - 1);
    }
  }
}

const DECODER_OF = new DecoderTable(DECODERS);

/** `linkType` must be a LINKTYPE_* number: a name such as "ethernet" would decode as an unknown link type. */
function checkLinkType(linkType: unknown, what: string): void {
  if (typeof linkType !== "number") throw new TypeError(`${what}: expected the link type as a number (LINKTYPE.ETHERNET is 1), got ${typeof linkType}`);
}

/** The TypeError of a decode call given something other than bytes and a link type number (cold). */
function badArguments(data: unknown, linkType: unknown, what: string): never {
  checkBytes(data, what);
  checkLinkType(linkType, what);
  throw new TypeError(what);
}

/** The result of decoding one frame. */
export interface DecodedPacket {
  layers: AnyLayer[];
  issues: Issue[];
}

/** Options of {@link decodePacket}: the decode options plus the frame's original length. */
export interface PacketDecodeOptions extends DecodeOptions {
  /**
   * Original length on the wire (pcap `orig_len`). When it equals the captured
   * length, missing bytes are the sender's fault: "truncated" becomes "malformed".
   */
  length?: number;
}

/**
 * A backstop on the walk: no frame decodes to more layers than this. Every
 * decoder that hands on to another consumes at least 4 bytes (a VLAN tag), so
 * real frames, however deep their VLAN stacks or IP-in-IP chains, stay far
 * below it; a frame of more than 64 KiB of stacked headers ends here with a
 * reason.
 */
export const MAX_LAYERS = 16384;
/** Quoted datagrams nest at most this deep (an ICMP error inside an ICMP error is not decoded). */
export const MAX_NEST_DEPTH = 1;

const EMPTY = new Uint8Array(0);
/** What a state's lists hold between decodes: frozen, so a stray push throws rather than leaks. */
const RETIRED: never[] = Object.freeze([]) as never[];

class State implements DecodeState {
  layers: LayerBase[] = [];
  issues: Issue[] = [];
  offset = 0;
  end = 0;
  ip: IpContext | null = null;
  pool: LayerPool | undefined = undefined;
  readonly spareIp = new IpHeaderContext(4, EMPTY, 0, 0, false, false);
  readonly dispatch: Dispatch = DISPATCH;
  depth: number;
  options: DecodeOptions;

  constructor(options: DecodeOptions, depth: number) {
    this.options = options;
    this.depth = depth;
  }

  nest(kind: string, bytes: Uint8Array): { layers: LayerBase[]; issues: Issue[] } {
    if (this.depth >= MAX_NEST_DEPTH) {
      const payload: Payload = { layer: "payload", data: bytes };
      return { layers: [payload], issues: [] };
    }
    const inner = new State(this.options, this.depth + 1);
    run(kind, bytes, inner);
    return { layers: inner.layers, issues: inner.issues };
  }
}

/** Walk from `kind` over `bytes[start, end)`, appending to `s.layers` and `s.issues`. */
function run(kind: string | null, bytes: Uint8Array, s: State, start = 0, end = bytes.length): void {
  const userMax = s.options.maxLayers;
  s.offset = start;
  s.end = end;
  while (kind !== null) {
    const decoder = DECODER_OF.get(kind);
    if (decoder === undefined) break;
    // The caller asked for the first `maxLayers` layers only: stop, no payload.
    if (userMax !== undefined && s.layers.length >= userMax) return;
    if (s.layers.length >= MAX_LAYERS) {
      s.issues.push({ layer: kind, kind: "malformed", reason: `more than ${MAX_LAYERS} layers` });
      break;
    }
    kind = decoder(bytes, s);
  }
  const rest = s.offset;
  const restEnd = s.end;
  if (restEnd > rest && (userMax === undefined || s.layers.length < userMax)) {
    if (s.pool === undefined) {
      const payload: Payload = { layer: "payload", data: rangeView(bytes, rest, restEnd) };
      s.layers.push(payload);
    } else {
      const slot = pooledValue(s.pool["payload"], s.layers.length, newLazyPayload);
      slot.point(bytes, rest, restEnd);
      s.layers.push(slot.value);
    }
  }
}

/**
 * The zero-copy read's `payload` value: its `data` is an own enumerable
 * accessor that makes the view of the frame when first read. A view costs
 * as much as decoding a header, and a loop that formats or counts packets
 * mostly never looks at the payload bytes. To every reader (property access,
 * spread, `Object.keys`, `JSON.stringify`, deep equality) the value is the
 * plain `{ layer: "payload", data }` that {@link PacketDecoder.decode} returns.
 */
class LazyPayload implements LayerBase {
  readonly layer = "payload";
  readonly value: Payload;
  #bytes: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  #view: Uint8Array | null = null;

  constructor() {
    const view = (): Uint8Array => (this.#view ??= rangeView(this.#bytes, this.#start, this.#end));
    const value = { layer: "payload" } as Payload;
    Object.defineProperty(value, "data", {
      enumerable: true,
      get: view,
      set: (data: Uint8Array) => {
        this.#view = data;
      },
    });
    this.value = value;
  }

  /** Make `value.data` stand for `bytes[start, end)`. */
  point(bytes: Uint8Array, start: number, end: number): void {
    this.#bytes = bytes;
    this.#start = start;
    this.#end = end;
    this.#view = null;
  }
}

function newLazyPayload(): LazyPayload {
  return new LazyPayload();
}

function finish(s: State, captured: number, length: number | undefined): void {
  if (s.issues.length !== 0 && length !== undefined && length <= captured) {
    // The whole frame was captured: running out of bytes is the sender's doing.
    for (const issue of s.issues) if (issue.kind === "truncated") issue.kind = "malformed";
  }
}

/**
 * Drop the state's references to the packet just decoded, without allocating:
 * its arrays and the frame (through the IP context). The rest (offsets, the
 * decoder's own pool and IP context) is reset by the next decode.
 */
function retire(s: State): void {
  s.layers = RETIRED;
  s.issues = RETIRED;
  s.spareIp.bytes = EMPTY;
}

/**
 * Decode many frames with one reused state: the hot path. Two reads:
 *
 * - {@link PacketDecoder.decode} (copy read): fresh `layers`/`issues` arrays
 *   and fresh values the caller may keep.
 * - {@link PacketDecoder.decodeReused} (zero-copy read): the same values,
 *   deep-equal, but in arrays and (for the fixed-shape layers) objects the
 *   decoder owns and overwrites on its next `decodeReused` call. No
 *   per-packet allocation for those: faster, less garbage.
 *
 * @example
 * ```ts
 * import { PacketDecoder } from "./decode.ts";
 * const decoder = new PacketDecoder();
 * let tcp = 0;
 * for (const frame of frames) {
 *   // Read what you need now; keep nothing from `layers` past this iteration.
 *   for (const l of decoder.decodeReused(frame.data, frame.linkType, frame.length).layers) if (l.layer === "tcp") tcp++;
 * }
 * ```
 */
export class PacketDecoder {
  readonly #state: State;
  /** the zero-copy read's result, arrays and pooled values, overwritten call after call */
  readonly #reused: DecodedPacket = { layers: [], issues: [] };
  #pool: LayerPool | undefined;

  constructor(options: DecodeOptions = {}) {
    this.#state = new State(options, 0);
  }

  /**
   * Copy read: decode a frame of link type `linkType` (LINKTYPE_*); `length` is
   * its original length when known. The result and everything in it is the
   * caller's to keep (values may hold views of `data`, never copies).
   *
   * The frame is `data[start, end)` (all of `data` by default): a consumer of
   * capture batches passes the batch buffer and each frame's range, with no
   * view per frame, and the decoder's checksum sums reach the buffer's words
   * once per batch rather than once per frame.
   */
  decode(data: Uint8Array, linkType: number, length?: number, start = 0, end = data.length): DecodedPacket {
    checkBytes(data, "PacketDecoder.decode");
    checkLinkType(linkType, "PacketDecoder.decode");
    return this.decodeAs(firstKind(linkType, data, start, end), data, length, start, end);
  }

  /** Copy read of `bytes[start, end)` (all of `bytes` by default) starting at layer `kind` (null: all payload). */
  decodeAs(kind: Kind | null, bytes: Uint8Array, length?: number, start = 0, end = bytes.length): DecodedPacket {
    checkBytes(bytes, "PacketDecoder.decodeAs");
    const s = this.#state;
    s.layers = [];
    s.issues = [];
    s.pool = undefined;
    s.ip = null;
    if (start !== 0 || end !== bytes.length) prepareWords(bytes);
    run(kind, bytes, s, start, end);
    finish(s, end - start, length);
    const result: DecodedPacket = { layers: s.layers as AnyLayer[], issues: s.issues };
    // Drop every reference to this packet (its arrays are the caller's now, and
    // the frame may be a view of a large capture buffer): the next call starts
    // with fresh arrays anyway.
    retire(s);
    return result;
  }

  /**
   * Zero-copy read: like {@link decode}, values deep-equal to what it returns,
   * but valid only until the next `decodeReused` call on this decoder. The
   * result object, its `layers` and `issues` arrays, the values of the
   * fixed-shape layers (ethernet II, vlan, arp, ipv4, ipv6, udp, tcp, payload)
   * and their lists (IPv4 options, IPv6 extensions, TCP options and their
   * fixed-shape entries) belong to the decoder, which overwrites them; values
   * of the other layers (ICMP, DNS, ...) are new each time. Read or format the
   * packet at once; to keep anything, copy it or use {@link decode}. Until the
   * next call the decoder holds views of `data`. Calls to `decode` in between
   * leave the last result alone. `start`/`end` as for {@link decode}.
   */
  decodeReused(data: Uint8Array, linkType: number, length?: number, start = 0, end = data.length): DecodedPacket {
    // One compare on the hot path; the messages are made only when it fails.
    if (!(data instanceof Uint8Array) || typeof linkType !== "number") badArguments(data, linkType, "PacketDecoder.decodeReused");
    const s = this.#state;
    const result = this.#reused;
    const layers = result.layers;
    const issues = result.issues;
    // pop, not `length = 0`: V8 sets an array's length through a slow runtime call.
    while (layers.length > 0) layers.pop();
    while (issues.length > 0) issues.pop();
    s.layers = layers;
    s.issues = issues;
    s.pool = this.#pool ??= newLayerPool();
    s.ip = null;
    if (start !== 0 || end !== data.length) prepareWords(data);
    run(firstKind(linkType, data, start, end), data, s, start, end);
    finish(s, end - start, length);
    retire(s);
    return result;
  }
}

/**
 * Decode one frame. Never throws on bad bytes: problems are in `issues`.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./decode.ts";
 * const { layers, issues } = decodePacket(frame.data, frame.linkType, { length: frame.length });
 * ```
 */
export function decodePacket(data: Uint8Array, linkType: number, options: PacketDecodeOptions = {}): DecodedPacket {
  checkBytes(data, "decodePacket");
  checkLinkType(linkType, "decodePacket");
  return new PacketDecoder(options).decode(data, linkType, options.length);
}

/**
 * Decode `bytes` as layer `kind` and what it contains (e.g. `decodeAs("ipv4", datagram)`).
 *
 * @example
 * ```ts
 * import { decodeAs } from "./decode.ts";
 * decodeAs("ipv6", bytes).layers[0]; // { layer: "ipv6", ... }
 * ```
 */
export function decodeAs(kind: Kind, bytes: Uint8Array, options: PacketDecodeOptions = {}): DecodedPacket {
  checkBytes(bytes, "decodeAs");
  return new PacketDecoder(options).decodeAs(kind, bytes, options.length);
}
