/**
 * The IEEE 802.2 LLC header (with the RFC 1042 SNAP extension) that follows an
 * 802.3 length field (Ethernet, VLAN) or a cooked capture's ETH_P_802_2
 * protocol. A SNAP header with OUI 0 carries an ethertype, and decoding goes
 * on with the layer it names. A zero-copy {@link LlcView}, the decoded value
 * {@link Llc}, {@link decodeLlc} and {@link llcCodec}.
 *
 * ```text
 *  0      1      2           3 or 4
 * +------+------+-----------+---------
 * | DSAP | SSAP | control   | payload          control: 1 byte (U format) or 2 (I, S)
 * +------+------+-----------+---------
 *
 *  0      1      2      3            6        8
 * +------+------+------+------------+--------+---------
 * | 0xaa | 0xaa | 0x03 | OUI        | type   | payload   SNAP (RFC 1042)
 * +------+------+------+------------+--------+---------
 * ```
 *
 * @example
 * ```ts
 * import { decodeAs } from "./decode.ts";
 * decodeAs("llc", Uint8Array.of(0x42, 0x42, 0x03)).layers[0]; // { layer: "llc", dsap: 0x42, ssap: 0x42, control: 3 }
 * ```
 *
 * @module
 */
import { put16, u16 } from "./bytes.ts";
import type { Codec, Decoder, EncodeContext, Input, LayerBase, Protocol } from "./core.ts";
import { LLC_SAP_SNAP, SNAP_OUI_ETHERTYPE } from "./dispatch.ts";
import { ethertypeFor } from "./ethernet.ts";
import { ByteView } from "./view.ts";

/** An IEEE 802.2 LLC header, with the SNAP extension when DSAP = SSAP = 0xaa. */
export interface Llc extends LayerBase {
  layer: "llc";
  dsap: number;
  ssap: number;
  /** one byte for U-format PDUs (low bits 11), two bytes for I/S formats */
  control: number;
  /** SNAP organisation code (24 bits) */
  oui?: number;
  /** SNAP protocol id: an ethertype when `oui` is 0 */
  type?: number;
}

/**
 * Build input. Unset: with a layer inside that has an ethertype, SNAP
 * (`aa aa 03`, oui 0, its ethertype); otherwise DSAP/SSAP 0 and control 3 (UI).
 */
export type LlcInput = Input<Llc>;

/** Byte offsets of the LLC header's fields (IEEE 802.2 §3.2; SNAP: RFC 1042), from the header's start. */
export const LLC_FIELD = {
  DSAP: 0,
  SSAP: 1,
  CONTROL: 2,
  /** SNAP only, after a one-byte (UI) control field as RFC 1042 has it */
  OUI: 3,
  /** SNAP only: the protocol id */
  TYPE: 6,
} as const;

/** Bytes in the shortest LLC header (one-byte control). */
export const LLC_MIN_HEADER_LENGTH = 3;
/** Bytes in an LLC header with the SNAP extension (RFC 1042). */
export const LLC_SNAP_HEADER_LENGTH = 8;
/** Bytes of the SNAP extension after the control field: OUI (3) and protocol id (2). */
const SNAP_LENGTH = LLC_SNAP_HEADER_LENGTH - LLC_FIELD.OUI;
/** Unnumbered Information: the U-format control SNAP travels in (RFC 1042). */
const CONTROL_UI = 3;

/** IEEE 802.2 §5.3: a control field whose low two bits are 11 is U format, one byte; I and S formats take two. */
function isOneByteControl(firstByte: number): boolean {
  return (firstByte & 3) === 3;
}

/** The control field's length when writing `control`: one byte for a U-format value that fits, else two. */
function controlLengthOf(control: number): 1 | 2 {
  return isOneByteControl(control) && control <= 0xff ? 1 : 2;
}

/**
 * An LLC header over bytes, without copying: it starts at `at` in `bytes`, and
 * the view may read up to `end` (exclusive; default: the end of `bytes`). The
 * control field is one or two bytes as its first byte says; `oui` and `type`
 * are SNAP's, at RFC 1042's fixed offsets. The constructor checks nothing;
 * call {@link LlcView.check} once before trusting the fields.
 *
 * @example
 * ```ts
 * const llc = new LlcView(Uint8Array.of(0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06));
 * llc.check(); // null
 * llc.isSnap && llc.oui === 0; // true: llc.type (0x0806) is an ethertype
 * ```
 */
export class LlcView extends ByteView {
  /**
   * null when the header fits (3 or 4 bytes by the control field, 8 with the
   * SNAP extension), else the reason. With a reason, only a SNAP header's
   * first 3 bytes may be trusted (`isSnap` says which it is once 3 bytes fit).
   */
  check(): string | null {
    const n = this.end - this.at;
    if (n < LLC_MIN_HEADER_LENGTH) return `header needs 3 bytes, got ${n}`;
    // The control field's length first: a two-byte control must fit before it is read
    // (IEEE 802.2 §5.3: U format is one byte, low bits 11; I and S formats two).
    const basic = this.basicLength;
    if (n < basic) return `header needs ${basic} bytes, got ${n}`;
    if (this.isSnap && n < LLC_SNAP_HEADER_LENGTH) return `SNAP header needs 8 bytes, got ${n}`;
    return null;
  }

  get dsap(): number {
    return this.bytes[this.at]!; // LLC_FIELD.DSAP
  }
  set dsap(v: number) {
    this.bytes[this.at] = v; // LLC_FIELD.DSAP
  }
  get ssap(): number {
    return this.bytes[this.at + 1]!; // LLC_FIELD.SSAP
  }
  set ssap(v: number) {
    this.bytes[this.at + 1] = v; // LLC_FIELD.SSAP
  }
  /** 1 for a U-format control field (its low bits 11), 2 for I and S formats (IEEE 802.2 §5.3). */
  get controlLength(): 1 | 2 {
    return isOneByteControl(this.bytes[this.at + 2]!) ? 1 : 2; // LLC_FIELD.CONTROL
  }
  /** The control field, one or two bytes by `controlLength`. */
  get control(): number {
    const at = this.at + 2; // LLC_FIELD.CONTROL
    return this.controlLength === 1 ? this.bytes[at]! : u16(this.bytes, at);
  }
  /** Writes one byte for a U-format value up to 0xff, else two (the low 16 bits). */
  set control(v: number) {
    const at = this.at + 2; // LLC_FIELD.CONTROL
    if (controlLengthOf(v) === 1) this.bytes[at] = v;
    else put16(this.bytes, at, v);
  }
  /** Whether the SNAP extension follows: DSAP and SSAP 0xaa and a control of 3 (UI, RFC 1042). */
  get isSnap(): boolean {
    return this.dsap === LLC_SAP_SNAP && this.ssap === LLC_SAP_SNAP && this.control === CONTROL_UI;
  }
  /** Where the SNAP OUI starts in `bytes` (also where a plain one-byte-control header ends). */
  get ouiOffset(): number {
    return this.at + 3; // LLC_FIELD.OUI
  }
  /** SNAP organisation code (24 bits); an ethertype follows when it is 0. */
  get oui(): number {
    const at = this.at + 3; // LLC_FIELD.OUI
    return (this.bytes[at]! << 16) | u16(this.bytes, at + 1);
  }
  set oui(v: number) {
    const at = this.at + 3; // LLC_FIELD.OUI
    this.bytes[at] = v >>> 16;
    put16(this.bytes, at + 1, v);
  }
  /** SNAP protocol id: an ethertype when `oui` is 0. */
  get type(): number {
    return u16(this.bytes, this.at + 6); // LLC_FIELD.TYPE
  }
  set type(v: number) {
    put16(this.bytes, this.at + 6, v); // LLC_FIELD.TYPE
  }
  /** Bytes in the 802.2 header proper, DSAP to control: 3 or 4 (a SNAP extension not counted). */
  get basicLength(): number {
    return LLC_FIELD.CONTROL + this.controlLength;
  }
  /** Bytes in the header: 8 with SNAP, else `basicLength`. */
  get headerLength(): number {
    return this.isSnap ? LLC_SNAP_HEADER_LENGTH : this.basicLength;
  }

  /** Where the payload starts in `bytes`. */
  get payloadStart(): number {
    return this.at + this.headerLength;
  }
  /** Where the payload ends: `end` (the 802.3 length outside already dropped the padding). */
  get payloadEnd(): number {
    return this.end;
  }
  /** The payload, `bytes[payloadStart, payloadEnd)`. Needs a passing `check()`. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }
}

function llc(dsap: number, ssap: number, control: number): Llc {
  return { layer: "llc", dsap, ssap, control };
}

// One view for every call, reset each time: a view made per call is not
// optimised away (measured on decodeEthernet: ~6 ns a call, a tenth of its
// time). The decoder never runs inside itself, so one is enough; like a
// pooled value, it holds the last frame's bytes until the next call.
const decodeView = new LlcView(new Uint8Array(0));

/**
 * Decode an LLC header; with SNAP and OUI 0, go on with the layer its ethertype names.
 *
 * @example
 * ```ts
 * import { decodeAs } from "./decode.ts";
 * decodeAs("llc", Uint8Array.of(0xf0, 0xf0, 0x00, 0x02)).layers[0]; // { layer: "llc", dsap: 0xf0, ssap: 0xf0, control: 2 }
 * ```
 */
export const decodeLlc: Decoder = (bytes, state) => {
  const at = state.offset;
  const view = decodeView.reset(bytes, at, state.end);
  const reason = view.check();
  if (reason !== null) {
    // A cut SNAP extension still shows the LLC header before it.
    const n = state.end - at;
    if (n >= LLC_MIN_HEADER_LENGTH && n >= view.basicLength && view.isSnap) {
      state.layers.push(llc(view.dsap, view.ssap, view.control));
      state.offset = view.ouiOffset;
    }
    state.issues.push({ layer: "llc", kind: "truncated", reason });
    return null;
  }
  const dsap = view.dsap;
  const ssap = view.ssap;
  const control = view.control;
  state.offset = view.payloadStart;
  if (view.isSnap) {
    const oui = view.oui;
    const type = view.type;
    const value: Llc = { layer: "llc", dsap, ssap, control, oui, type };
    state.layers.push(value);
    return oui === SNAP_OUI_ETHERTYPE ? state.dispatch.ethertype(type) : null;
  }
  state.layers.push(llc(dsap, ssap, control));
  return null;
};

function llcSnap(v: LlcInput, ctx: EncodeContext): boolean {
  if (v.oui !== undefined || v.type !== undefined) return true;
  if (v.dsap !== undefined || v.ssap !== undefined || v.control !== undefined) {
    return v.dsap === LLC_SAP_SNAP && v.ssap === LLC_SAP_SNAP && (v.control ?? CONTROL_UI) === CONTROL_UI;
  }
  return ctx.inner !== undefined && ctx.dispatch?.ethertypeOf(ctx.inner.layer) !== undefined;
}

/**
 * Builds an LLC header: see {@link LlcInput} for the defaults.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./encode.ts";
 * encodePacket([{ layer: "llc" }, { layer: "arp" }]).subarray(0, 8); // aa aa 03 00 00 00 08 06
 * ```
 */
export const llcCodec: Codec<LlcInput> = {
  headerLength(v, ctx) {
    return LLC_FIELD.CONTROL + controlLengthOf(v.control ?? CONTROL_UI) + (llcSnap(v, ctx) ? SNAP_LENGTH : 0);
  },
  write(v, out, ctx) {
    const snap = llcSnap(v, ctx);
    const view = new LlcView(out);
    view.dsap = v.dsap ?? (snap ? LLC_SAP_SNAP : 0);
    view.ssap = v.ssap ?? (snap ? LLC_SAP_SNAP : 0);
    const control = v.control ?? CONTROL_UI;
    view.control = control;
    if (snap) {
      // SNAP fields set on purpose after a two-byte control follow it as
      // written, one byte past RFC 1042's place (which assumes a UI control).
      const snapView = controlLengthOf(control) === 1 ? view : new LlcView(out, 1);
      snapView.oui = v.oui ?? SNAP_OUI_ETHERTYPE;
      snapView.type = v.type ?? ethertypeFor(ctx.inner, ctx.dispatch);
    }
  },
};

/** LLC in the registry: named by an 802.3 length field or ETH_P_802_2, never by a wire value of its own. */
export const llcProtocol: Protocol<"llc", Llc, LlcInput> = {
  kind: "llc",
  decode: decodeLlc,
  codec: llcCodec,
  inputRules: { dsap: 0xff, ssap: 0xff, control: 0xffff, oui: 0xffffff, type: 0xffff },
};
