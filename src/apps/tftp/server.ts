/**
 * The server's decisions, without sockets: what to do with a request that
 * came to port 69. {@link takeRequest} checks the packet, the mode, the
 * file name (no way out of the served folder: a `..` component is an
 * access violation, ERROR 2), asks the {@link ServerFiles} for the file,
 * negotiates the options (RFC 2347) and returns the transfer to run on a new
 * port, or the ERROR to send back (RFC 1350 §7: 1 not found, 2 access
 * violation, 4 illegal operation, 6 exists...).
 *
 * @example
 * ```ts
 * const r = takeRequest(packet, { address: "10.0.0.2", port: 40000 }, config, send);
 * if ("error" in r) socket69.sendto(r.error, ...); else r.transfer.start(now);
 * ```
 *
 * @module
 */
import { MAX_BLKSIZE, serverOptions } from "./options.ts";
import { decodePacket, errorPacket, oackPacket, TFTP_ERR, TFTP_OPCODE, TftpError } from "./packet.ts";
import { TftpTransfer, type BlockSink, type BlockSource, type Peer, type TftpMode, type TransferResult } from "./transfer.ts";

/** A file opened for reading. */
export interface ReadFile {
  source: BlockSource;
  size: number;
  close(): void;
}

/** A file opened for writing: {@link commit} once all of it came, {@link discard} otherwise. */
export interface WriteFile {
  sink: BlockSink;
  commit(): void;
  discard(): void;
}

/**
 * The files a server serves. Both calls take a name already checked by
 * {@link checkName} and throw a {@link TftpError} (not found, access
 * violation, disk full, exists) when they cannot.
 */
export interface ServerFiles {
  openRead(name: string): ReadFile;
  /** `size`: what the client announced with tsize, when it did */
  openWrite(name: string, size: number | null): WriteFile;
}

/** How a server runs its transfers. */
export interface ServerConfig {
  files: ServerFiles;
  /** take WRQs (default: refuse them, ERROR 2) */
  allowWrite?: boolean | undefined;
  /** the largest window answered (default 64: a window of blocks is what a sending transfer holds) */
  maxWindow?: number | undefined;
  maxBlksize?: number | undefined;
  /** retransmission timeout when the client asks for none (default 1000 ms) */
  timeoutMs?: number | undefined;
  maxRetries?: number | undefined;
  dallyMs?: number | undefined;
}

/**
 * A file name from a request as a path under the served folder, or the
 * ERROR 2 refusing it: an empty name, a `..` component (with `/` or `\` as
 * the separator, as Windows clients write them), a NUL. A leading `/` means
 * the folder's root (tftpd-hpa's `-s`).
 *
 * @example
 * ```ts
 * checkName("/boot/pxelinux.0"); // "boot/pxelinux.0"
 * checkName("../etc/passwd");    // TftpError 2
 * ```
 */
export function checkName(filename: string): string | TftpError {
  const parts = filename.split(/[/\\]+/).filter((p) => p !== "" && p !== ".");
  if (parts.length === 0) return new TftpError(TFTP_ERR.accessViolation, "no file name", false);
  if (parts.some((p) => p === "..")) return new TftpError(TFTP_ERR.accessViolation, `"${filename}" leaves the served folder`, false);
  if (filename.includes("\0")) return new TftpError(TFTP_ERR.accessViolation, "a NUL in the file name", false);
  return parts.join("/");
}

/** What the server answers a request with. */
export type RequestOutcome =
  | { transfer: TftpTransfer; filename: string; write: boolean; mode: TftpMode }
  | { error: Uint8Array; failure: TftpError };

function refuse(failure: TftpError): RequestOutcome {
  return { error: errorPacket(failure.code, failure.text), failure };
}

/**
 * Take the request `packet` from `from`. `send` and `note` are the new
 * transfer's (it sends from its own port); `done` runs when it ends (the
 * file is closed, committed or discarded before).
 */
export function takeRequest(
  packet: Uint8Array,
  from: Peer,
  config: ServerConfig,
  send: (packet: Uint8Array, to: Peer) => void,
  note?: (now: number, text: string) => void,
  done?: (result: TransferResult) => void,
): RequestOutcome {
  const op = packet.length >= 2 ? (packet[0]! << 8) | packet[1]! : 0;
  if (op !== TFTP_OPCODE.RRQ && op !== TFTP_OPCODE.WRQ) return refuse(new TftpError(TFTP_ERR.illegalOperation, "not a request", false));
  const { tftp, problem } = decodePacket(packet);
  if (tftp === null || problem !== null || tftp.filename === undefined || tftp.mode === undefined) {
    return refuse(new TftpError(TFTP_ERR.illegalOperation, `malformed request: ${problem ?? "no file name"}`, false));
  }
  const modeText = tftp.mode.toLowerCase();
  if (modeText !== "octet" && modeText !== "netascii") return refuse(new TftpError(TFTP_ERR.illegalOperation, `mode "${tftp.mode}" is not supported`, false));
  const mode: TftpMode = modeText;
  const name = checkName(tftp.filename);
  if (name instanceof TftpError) return refuse(name);
  const write = op === TFTP_OPCODE.WRQ;
  const limits = {
    maxWindow: config.maxWindow ?? 64,
    maxBlksize: config.maxBlksize ?? MAX_BLKSIZE,
    timeoutMs: config.timeoutMs ?? 1000,
  };
  const base = { send, note, maxRetries: config.maxRetries, dallyMs: config.dallyMs, client: from, mode };
  if (!write) {
    let file: ReadFile;
    try {
      file = config.files.openRead(name);
    } catch (err) {
      return refuse(asTftpError(err));
    }
    // tsize in netascii would be the converted length, unknown without reading the file: left out (tftpd-hpa too).
    const { reply, agreed } = serverOptions(tftp.options ?? [], { ...limits, fileSize: mode === "octet" ? file.size : null });
    const transfer = TftpTransfer.serverRead({
      ...base,
      agreed,
      source: file.source,
      oack: reply.length > 0 ? oackPacket(reply) : null,
      done: (r) => {
        file.close();
        done?.(r);
      },
    });
    return { transfer, filename: name, write, mode };
  }
  if (config.allowWrite !== true) return refuse(new TftpError(TFTP_ERR.accessViolation, "writing is not allowed here", false));
  const { reply, agreed } = serverOptions(tftp.options ?? [], limits);
  let file: WriteFile;
  try {
    file = config.files.openWrite(name, agreed.tsize);
  } catch (err) {
    return refuse(asTftpError(err));
  }
  const transfer = TftpTransfer.serverWrite({
    ...base,
    agreed,
    sink: file.sink,
    oack: reply.length > 0 ? oackPacket(reply) : null,
    done: (r) => {
      if (r.ok) file.commit();
      else file.discard();
      done?.(r);
    },
  });
  return { transfer, filename: name, write, mode };
}

/** A file system error as the TFTP error a client is told. */
export function asTftpError(err: unknown): TftpError {
  if (err instanceof TftpError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
    case "ENOTDIR":
      return new TftpError(TFTP_ERR.fileNotFound, "File not found", false);
    case "EACCES":
    case "EPERM":
    case "EISDIR":
    case "EROFS":
      return new TftpError(TFTP_ERR.accessViolation, "Access violation", false);
    case "ENOSPC":
    case "EDQUOT":
      return new TftpError(TFTP_ERR.diskFull, "Disk full or allocation exceeded", false);
    case "EEXIST":
      return new TftpError(TFTP_ERR.fileExists, "File already exists", false);
    default:
      return new TftpError(TFTP_ERR.notDefined, e.message ?? String(err), false);
  }
}
