/**
 * TFTP packets (RFC 1350) with option extension (RFC 2347): RRQ, WRQ, DATA, ACK,
 * ERROR and OACK; options such as `blksize` (RFC 2348), `timeout` and `tsize`
 * (RFC 2349) are kept as name/value text pairs in the order sent.
 *
 * Only the request goes to port 69; the transfer runs between two new ports
 * (RFC 1350 §4), so the UDP port table alone finds only requests. Tracking the
 * conversation is state, and lives in `src/tftp_tracker.ts`, which hands UDP a
 * hint.
 *
 * Building writes the packet once, straight into the caller's buffer
 * (`tftpCodec.append`); {@link tftpSummary} is tcpdump's line for a packet.
 *
 * @example
 * ```ts
 * import { encodeTftp } from "./tftp.ts";
 * const rrq = encodeTftp({ layer: "tftp", opcode: "RRQ", filename: "file.bin", options: [{ name: "blksize", value: "1024" }] });
 * ```
 *
 * @module
 */
import type { Decoder, LayerBase, Protocol } from "./core.ts";
import { appendCodec, type AppendCodec, ByteWriter, textOf, utf8Length } from "./byte_writer.ts";
import { PORT_TFTP } from "./dispatch.ts";

/** Opcodes (RFC 1350 §5, RFC 2347 OACK). */
export const TFTP_OPCODE = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** Error codes and their RFC 1350 / RFC 2347 texts. */
export const TFTP_ERROR: ReadonlyMap<number, string> = new Map([
  [0, "Not defined"],
  [1, "File not found"],
  [2, "Access violation"],
  [3, "Disk full or allocation exceeded"],
  [4, "Illegal TFTP operation"],
  [5, "Unknown transfer ID"],
  [6, "File already exists"],
  [7, "No such user"],
  [8, "Option negotiation refused"],
]);

const OPCODE_NAMES = new Map<number, string>(Object.entries(TFTP_OPCODE).map(([k, v]) => [v, k]));

/** `RRQ`, `DATA`, ... or `OPCODE<n>`. */
export function tftpOpcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? `OPCODE${opcode}`;
}

/** One option of a request or an OACK, as text. */
export interface TftpOption {
  name: string;
  value: string;
}

/**
 * A decoded TFTP packet. Which fields are present depends on the opcode:
 * RRQ/WRQ `filename mode options`; DATA `block data dataLength`; ACK `block`;
 * ERROR `errorCode errorMessage`; OACK `options`.
 */
export interface Tftp extends LayerBase {
  layer: "tftp";
  opcode: number;
  opcodeName: string;
  filename?: string;
  /** `netascii`, `octet` or `mail`, as sent (the RFC compares without case) */
  mode?: string;
  options?: TftpOption[];
  block?: number;
  /** DATA payload: a view into the frame */
  data?: Uint8Array;
  dataLength?: number;
  errorCode?: number;
  errorMessage?: string;
}

const textDecoder = new TextDecoder("utf-8");

/** Decode a TFTP packet. Consumes all bytes (none when the opcode is cut: they stay as payload); returns null. */
export const decodeTftp: Decoder = (frame, state) => {
  // Off the hot path: one view of the message keeps the offsets below relative.
  const bytes = frame.subarray(state.offset, state.end);
  if (bytes.length < 2) {
    // Nothing decoded: the bytes stay as payload.
    state.issues.push({ layer: "tftp", kind: "truncated", reason: `opcode needs 2 bytes, got ${bytes.length}` });
    return null;
  }
  state.offset = state.end;
  const opcode = (bytes[0]! << 8) | bytes[1]!;
  const tftp: Tftp = { layer: "tftp", opcode, opcodeName: tftpOpcodeName(opcode) };
  state.layers.push(tftp);
  let pos = 2;
  /** The NUL-terminated string at `pos`, or null (and an issue) when no NUL ends it. */
  const text = (what: string): string | null => {
    const nul = bytes.indexOf(0, pos);
    if (nul < 0) {
      state.issues.push({ layer: "tftp", kind: "truncated", reason: `${what} has no terminating zero byte` });
      return null;
    }
    const s = textDecoder.decode(bytes.subarray(pos, nul));
    pos = nul + 1;
    return s;
  };
  const readOptions = (): void => {
    const options: TftpOption[] = [];
    tftp.options = options;
    while (pos < bytes.length) {
      const name = text(`option ${options.length + 1} name`);
      if (name === null) return;
      if (pos >= bytes.length) {
        state.issues.push({ layer: "tftp", kind: "malformed", reason: `option "${name}" has no value` });
        return;
      }
      const value = text(`option "${name}" value`);
      if (value === null) return;
      options.push({ name, value });
    }
  };
  switch (opcode) {
    case TFTP_OPCODE.RRQ:
    case TFTP_OPCODE.WRQ: {
      const filename = text("filename");
      if (filename === null) return null;
      tftp.filename = filename;
      const mode = text("mode");
      if (mode === null) return null;
      tftp.mode = mode;
      readOptions();
      return null;
    }
    case TFTP_OPCODE.OACK:
      readOptions();
      return null;
    case TFTP_OPCODE.DATA:
    case TFTP_OPCODE.ACK:
      if (bytes.length < 4) {
        state.issues.push({ layer: "tftp", kind: "truncated", reason: `block number needs 4 bytes, got ${bytes.length}` });
        return null;
      }
      tftp.block = (bytes[2]! << 8) | bytes[3]!;
      if (opcode === TFTP_OPCODE.DATA) {
        tftp.data = bytes.subarray(4);
        tftp.dataLength = bytes.length - 4;
      } else if (bytes.length > 4) {
        state.issues.push({ layer: "tftp", kind: "malformed", reason: `ACK carries ${bytes.length - 4} extra bytes` });
      }
      return null;
    case TFTP_OPCODE.ERROR: {
      if (bytes.length < 4) {
        state.issues.push({ layer: "tftp", kind: "truncated", reason: `error code needs 4 bytes, got ${bytes.length}` });
        return null;
      }
      tftp.errorCode = (bytes[2]! << 8) | bytes[3]!;
      pos = 4;
      const message = text("error message");
      // Keep a message cut short by the capture: it is still what the server said.
      tftp.errorMessage = message ?? textDecoder.decode(bytes.subarray(4));
      return null;
    }
    default:
      state.issues.push({ layer: "tftp", kind: "malformed", reason: `unknown opcode ${opcode}` });
      return null;
  }
};

/** What a user gives to build a TFTP packet; `opcode` by number or name. */
export interface TftpInput {
  layer: "tftp";
  /** default: RRQ when `filename` is set, else DATA with `data`, ERROR with an error field, OACK with `options`, else ACK */
  opcode?: number | string;
  filename?: string;
  /** default `octet` */
  mode?: string;
  options?: { name: string; value: string | number }[];
  /** default 1 for DATA, 0 for ACK */
  block?: number;
  data?: Uint8Array | string;
  errorCode?: number;
  /** default: the RFC text of `errorCode` */
  errorMessage?: string;
}

function opcodeOf(input: TftpInput): number {
  const op = input.opcode;
  if (typeof op === "number") return op;
  if (typeof op === "string") {
    const v = (TFTP_OPCODE as Record<string, number>)[op.toUpperCase()];
    if (v === undefined) throw new RangeError(`Unknown TFTP opcode "${op}"`);
    return v;
  }
  if (input.filename !== undefined) return TFTP_OPCODE.RRQ;
  if (input.data !== undefined) return TFTP_OPCODE.DATA;
  if (input.errorCode !== undefined || input.errorMessage !== undefined) return TFTP_OPCODE.ERROR;
  if (input.options !== undefined) return TFTP_OPCODE.OACK;
  return TFTP_OPCODE.ACK;
}

/** Write the packet at `out[at, …)`; returns where it ends. */
function appendTftp(input: TftpInput, out: Uint8Array, at: number): number {
  const w = new ByteWriter("tftp", out, at);
  const opcode = opcodeOf(input);
  w.u16(opcode);
  /** RFC 1350 §5: strings are netascii (here UTF-8, as sent) ended by a zero byte. */
  const z = (v: unknown): void => {
    w.utf8(textOf(v));
    w.u8(0);
  };
  const opts = (): void => {
    for (const o of input.options ?? []) {
      z(o.name);
      z(String(o.value));
    }
  };
  switch (opcode) {
    case TFTP_OPCODE.RRQ:
    case TFTP_OPCODE.WRQ:
      z(input.filename ?? "");
      z(input.mode ?? "octet");
      opts();
      break;
    case TFTP_OPCODE.OACK:
      opts();
      break;
    case TFTP_OPCODE.DATA:
      w.u16(input.block ?? 1);
      writeData(w, input.data);
      break;
    case TFTP_OPCODE.ACK:
      w.u16(input.block ?? 0);
      break;
    case TFTP_OPCODE.ERROR: {
      const code = input.errorCode ?? 0;
      w.u16(code);
      z(input.errorMessage ?? TFTP_ERROR.get(code) ?? "");
      break;
    }
    default:
      writeData(w, input.data);
  }
  return w.pos;
}

function writeData(w: ByteWriter, data: Uint8Array | string | undefined): void {
  if (typeof data === "string") w.utf8(data);
  else if (data !== undefined) w.bytes(data);
}

/** Bytes of a zero-ended string. */
function zLength(v: unknown): number {
  return utf8Length(textOf(v)) + 1;
}

function dataLength(data: Uint8Array | string | undefined): number {
  return typeof data === "string" ? utf8Length(data) : (data?.length ?? 0);
}

/** The length {@link appendTftp} writes, from lengths alone. */
function tftpBound(input: TftpInput): number {
  let n = 2;
  const opts = (): void => {
    for (const o of input.options ?? []) n += zLength(o.name) + zLength(String(o.value));
  };
  const opcode = opcodeOf(input);
  switch (opcode) {
    case TFTP_OPCODE.RRQ:
    case TFTP_OPCODE.WRQ:
      n += zLength(input.filename ?? "") + zLength(input.mode ?? "octet");
      opts();
      return n;
    case TFTP_OPCODE.OACK:
      opts();
      return n;
    case TFTP_OPCODE.DATA:
      return n + 2 + dataLength(input.data);
    case TFTP_OPCODE.ACK:
      return n + 2;
    case TFTP_OPCODE.ERROR: {
      const code = input.errorCode ?? 0;
      return n + 2 + zLength(input.errorMessage ?? TFTP_ERROR.get(code) ?? "");
    }
    default:
      return n + dataLength(input.data);
  }
}

/** Build a TFTP packet. Throws a RangeError on an unknown opcode name. */
export function encodeTftp(input: TftpInput): Uint8Array {
  const out = new Uint8Array(tftpBound(input));
  const n = appendTftp(input, out, 0);
  return n === out.length ? out : out.slice(0, n);
}

/** The value of an option by name, compared without case (RFC 2347), or undefined. */
export function tftpOption(tftp: Tftp, name: string): string | undefined {
  const lower = name.toLowerCase();
  return tftp.options?.find((o) => o.name.toLowerCase() === lower)?.value;
}

/** TFTP codec: the whole packet is this layer, written once by `append`. */
export const tftpCodec: AppendCodec<TftpInput> = appendCodec<TftpInput>(
  (value, out, at) => appendTftp(value, out, at),
  (value) => tftpBound(value),
);

// --- the one-line summary (tcpdump print-tftp.c)

const TFTP_ERROR_TEXT = ["EUNDEF", "ENOTFOUND", "EACCESS", "ENOSPACE", "EBADOP", "EBADID", "EEXISTS", "ENOUSER", "EOPTNEG"];

/** Bytes of a decoded zero-ended string, 0 when absent. */
function zlen(s: string | undefined): number {
  return s === undefined ? 0 : utf8Length(s) + 1;
}

/** The packet's length as tcpdump prints it, from the decoded fields. */
function tftpLength(t: Tftp): number {
  switch (t.opcode) {
    case TFTP_OPCODE.RRQ:
    case TFTP_OPCODE.WRQ:
    case TFTP_OPCODE.OACK: {
      let n = 2 + zlen(t.filename) + zlen(t.mode);
      for (const o of t.options ?? []) n += zlen(o.name) + zlen(o.value);
      return n;
    }
    case TFTP_OPCODE.DATA:
      return 4 + (t.dataLength ?? 0);
    case TFTP_OPCODE.ERROR:
      return 4 + zlen(t.errorMessage);
    default:
      return t.block === undefined ? 2 : 4;
  }
}

/**
 * tcpdump's line for a TFTP packet:
 * `TFTP, length 19, RRQ "file.bin" octet blksize 1024`, `TFTP, length 516, DATA block 1`,
 * `TFTP, length 20, ERROR ENOTFOUND "File not found"`.
 */
export function tftpSummary(t: Tftp): string {
  let s = `TFTP, length ${tftpLength(t)}, `;
  switch (t.opcode) {
    case TFTP_OPCODE.RRQ:
    case TFTP_OPCODE.WRQ:
    case TFTP_OPCODE.OACK:
      s += t.opcodeName;
      if (t.opcode !== TFTP_OPCODE.OACK) s += ` "${t.filename ?? ""}" ${t.mode ?? ""}`;
      for (const o of t.options ?? []) s += ` ${o.name} ${o.value}`;
      return s;
    case TFTP_OPCODE.DATA:
    case TFTP_OPCODE.ACK:
      return s + `${t.opcodeName} block ${t.block ?? 0}`;
    case TFTP_OPCODE.ERROR: {
      const code = t.errorCode ?? 0;
      return s + `ERROR ${TFTP_ERROR_TEXT[code] ?? `tftp-err-#${code} "`} "${t.errorMessage ?? ""}"`;
    }
    default:
      return s + `tftp-#${t.opcode}`;
  }
}

/** TFTP in the registry: UDP 69 (the rest of a transfer runs on ports a conversation tracker names); its line is tcpdump's. */
export const tftpProtocol: Protocol<"tftp", Tftp, TftpInput> = {
  kind: "tftp",
  decode: decodeTftp,
  codec: tftpCodec,
  claims: { udpPorts: [PORT_TFTP] },
  summary: tftpSummary,
  inputRules: {
    opcode: { orName: 0xffff },
    filename: "text",
    mode: "text",
    options: { list: { name: "text" } },
    block: 0xffff,
    data: "data",
    errorCode: 0xffff,
    errorMessage: "text",
  },
};
