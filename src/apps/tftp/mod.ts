/**
 * TFTP over our own stack (RFC 1350, with RFC 2347 options, RFC 2348
 * blksize, RFC 2349 timeout and tsize, RFC 7440 windowsize): a client's get
 * and put and a server, on a deterministic core (`transfer.ts`) that a test
 * can drive packet by packet on a made-up clock.
 *
 * @example
 * ```ts
 * import { TftpServer, directoryFiles } from "./mod.ts";
 * const server = new TftpServer(host, { files: directoryFiles("/srv/tftp"), allowWrite: false });
 * ```
 *
 * @module
 */
export * from "./driver.ts";
export * from "./files.ts";
export * from "./netascii.ts";
export * from "./options.ts";
export * from "./packet.ts";
export * from "./server.ts";
export * from "./transfer.ts";
export * from "./trace.ts";
