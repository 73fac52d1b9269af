/**
 * Socket errors as POSIX names them: a socket call that fails rejects (or
 * throws) a {@link SocketError} whose `code` is the errno name a C programmer
 * would test (`ECONNREFUSED`, `ETIMEDOUT`, ...), as Node's own `net` errors do.
 *
 * @example
 * ```ts
 * import { SocketError } from "./errors.ts";
 * try { await sock.connect("10.0.0.9", 80); } catch (e) { if (e instanceof SocketError && e.code === "ECONNREFUSED") ... }
 * ```
 *
 * @module
 */

/** The errno names the stack reports. */
export type SocketErrorCode =
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ECONNABORTED"
  | "ETIMEDOUT"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "EADDRINUSE"
  | "EADDRNOTAVAIL"
  | "EAFNOSUPPORT"
  | "EINVAL"
  | "EISCONN"
  | "ENOTCONN"
  | "EPIPE"
  | "EMSGSIZE"
  | "EOPNOTSUPP"
  | "EALREADY"
  | "EBADF"
  | "EDESTADDRREQ"
  | "EACCES"
  | "ENOBUFS";

const TEXT: Record<SocketErrorCode, string> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ECONNABORTED: "Software caused connection abort",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  EADDRINUSE: "Address already in use",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EAFNOSUPPORT: "Address family not supported by protocol",
  EINVAL: "Invalid argument",
  EISCONN: "Transport endpoint is already connected",
  ENOTCONN: "Transport endpoint is not connected",
  EPIPE: "Broken pipe",
  EMSGSIZE: "Message too long",
  EOPNOTSUPP: "Operation not supported",
  EALREADY: "Operation already in progress",
  EBADF: "Bad file descriptor",
  EDESTADDRREQ: "Destination address required",
  EACCES: "Permission denied",
  ENOBUFS: "No buffer space available",
};

/** A failed socket call: `code` is the POSIX errno name, `syscall` the call. */
export class SocketError extends Error {
  override name = "SocketError";
  readonly code: SocketErrorCode;
  readonly syscall: string;

  constructor(code: SocketErrorCode, syscall: string, detail?: string) {
    super(`${syscall}: ${TEXT[code]} (${code})${detail === undefined ? "" : `: ${detail}`}`);
    this.code = code;
    this.syscall = syscall;
  }
}

/** The strerror text of a code. */
export function errorText(code: SocketErrorCode): string {
  return TEXT[code];
}
