/**
 * The TFTP packets the engine sends and reads, on top of `layers/tftp.ts`:
 * DATA and ACK (the per-block packets) are read and written here directly
 * from their four header bytes, so a transfer makes no decoded object per
 * block; requests, OACKs and errors, rare, go through the layer's decoder and
 * builder. {@link TftpError} is a failure with its RFC 1350 error code.
 *
 * @example
 * ```ts
 * import { ackPacket, readHeader } from "./packet.ts";
 * readHeader(ackPacket(7)); // { opcode: 4, block: 7 }
 * ```
 *
 * @module
 */
import { decodeTftp, encodeTftp, TFTP_ERROR, TFTP_OPCODE, type Tftp, type TftpOption } from "../../../layers/tftp.ts";

export { TFTP_ERROR, TFTP_OPCODE, type Tftp, type TftpOption };

/** RFC 1350's error codes by name, and RFC 2347's code 8. */
export const TFTP_ERR = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTid: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionRefused: 8,
} as const;

/** The default block size (RFC 1350 §2). */
export const DEFAULT_BLKSIZE = 512;

/**
 * A transfer that ended in an error, with the RFC code: sent by the peer
 * (`remote`), or found here and sent to the peer.
 */
export class TftpError extends Error {
  readonly code: number;
  /** true when the peer sent the ERROR packet */
  readonly remote: boolean;
  /** the text the ERROR packet carried (or would carry) */
  readonly text: string;

  constructor(code: number, text: string, remote: boolean) {
    const name = TFTP_ERROR.get(code) ?? "Unknown error";
    super(remote ? `the peer sent error ${code} (${name}): ${text}` : `error ${code} (${name}): ${text}`);
    this.name = "TftpError";
    this.code = code;
    this.text = text;
    this.remote = remote;
  }
}

/** A failure with no ERROR packet behind it: the peer went quiet. */
export class TftpTimeout extends Error {
  constructor(what: string) {
    super(what);
    this.name = "TftpTimeout";
  }
}

/** Opcode and block (or error code) of a packet; opcode 0 when it is shorter than 4 bytes (2 for ACK/DATA-less opcodes). */
export function readHeader(p: Uint8Array): { opcode: number; block: number } {
  if (p.length < 2) return { opcode: 0, block: 0 };
  const opcode = (p[0]! << 8) | p[1]!;
  const block = p.length >= 4 ? (p[2]! << 8) | p[3]! : -1;
  return { opcode, block };
}

/** An ACK for `block` (taken mod 65536). */
export function ackPacket(block: number): Uint8Array {
  const b = block & 0xffff;
  return Uint8Array.of(0, TFTP_OPCODE.ACK, b >> 8, b & 0xff);
}

/** Write a DATA header for `block` (mod 65536) into `p[0, 4)`. */
export function writeDataHeader(p: Uint8Array, block: number): void {
  const b = block & 0xffff;
  p[0] = 0;
  p[1] = TFTP_OPCODE.DATA;
  p[2] = b >> 8;
  p[3] = b & 0xff;
}

/** An ERROR packet. Its text defaults to the RFC's name for the code. */
export function errorPacket(code: number, text?: string): Uint8Array {
  return encodeTftp({ layer: "tftp", opcode: "ERROR", errorCode: code, errorMessage: text ?? TFTP_ERROR.get(code) ?? "" });
}

/** An RRQ or WRQ. */
export function requestPacket(opcode: "RRQ" | "WRQ", filename: string, mode: string, options: TftpOption[]): Uint8Array {
  return encodeTftp({ layer: "tftp", opcode, filename, mode, options });
}

/** An OACK. */
export function oackPacket(options: TftpOption[]): Uint8Array {
  return encodeTftp({ layer: "tftp", opcode: "OACK", options });
}

/**
 * Decode a request, OACK or ERROR with the layer's decoder. Returns the
 * value, or a reason when the packet is malformed (a string without its zero
 * byte, an option without a value).
 */
export function decodePacket(p: Uint8Array): { tftp: Tftp | null; problem: string | null } {
  const state = { layers: [] as Tftp[], issues: [] as { reason: string }[], offset: 0, end: p.length, ip: null };
  decodeTftp(p, state as unknown as Parameters<typeof decodeTftp>[1]);
  const tftp = state.layers[0] ?? null;
  const problem = state.issues[0]?.reason ?? null;
  return { tftp, problem };
}

/**
 * The 32-bit block number a 16-bit one stands for, the one nearest to
 * `expected` (RFC 1350's numbers wrap after 65535; with rollover to 0, as
 * tftpd-hpa, tftp-hpa and busybox do, block 65536 goes on the wire as 0).
 *
 * @example
 * ```ts
 * unwrapBlock(0, 65535); // 65536
 * unwrapBlock(65535, 65537); // 65535
 * ```
 */
export function unwrapBlock(wire: number, expected: number): number {
  const delta = ((wire - (expected & 0xffff) + 0x8000) & 0xffff) - 0x8000;
  return expected + delta;
}
