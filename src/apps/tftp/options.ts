/**
 * Option negotiation (RFC 2347): the client lists options in its request,
 * the server answers the ones it takes in an OACK (with the value it
 * chose), and the client refuses an OACK it did not ask for or cannot live
 * with (ERROR 8). The options: `blksize` (RFC 2348, 8..65464), `timeout`
 * and `tsize` (RFC 2349: 1..255 seconds; the file's size), `windowsize`
 * (RFC 7440, 1..65535) and tftpd-hpa's `rollover` (0 only: block 65535 is
 * followed by block 0, what every implementation here does).
 *
 * @example
 * ```ts
 * import { requestOptions, serverOptions } from "./options.ts";
 * const asked = requestOptions({ blksize: 1468, windowsize: 4 }, "get");
 * serverOptions(asked, { fileSize: 1000, maxWindow: 64 }).reply; // blksize 1468, windowsize 4
 * ```
 *
 * @module
 */
import { DEFAULT_BLKSIZE, type TftpOption } from "./packet.ts";

export const MIN_BLKSIZE = 8;
/** RFC 2348: the largest block (65535 less the IP and UDP headers and TFTP's 4 bytes, as the RFC counts). */
export const MAX_BLKSIZE = 65464;
export const MAX_WINDOWSIZE = 65535;
/** The default retransmission timeout (tftpd-hpa's: one second). */
export const DEFAULT_TIMEOUT_MS = 1000;

/** What a client asks for. */
export interface ClientOptions {
  blksize?: number | undefined;
  windowsize?: number | undefined;
  /** the retransmission timeout to ask the server for, in whole seconds (1..255) */
  timeout?: number | undefined;
  /** ask for the size (get) or announce it (put, with the size to send) */
  tsize?: boolean | undefined;
}

/** What a transfer runs with once negotiated. */
export interface Agreed {
  blksize: number;
  windowsize: number;
  /** the retransmission timeout (ms) */
  timeoutMs: number;
  /** the transfer size, when an OACK named it */
  tsize: number | null;
  /** the options the OACK carried (empty without one) */
  options: TftpOption[];
}

/** RFC 1350's defaults: 512-byte blocks, one block at a time. */
export function defaults(timeoutMs: number): Agreed {
  return { blksize: DEFAULT_BLKSIZE, windowsize: 1, timeoutMs, tsize: null, options: [] };
}

/** The options a request carries for `asked` (`putSize`: the size a put announces with tsize). */
export function requestOptions(asked: ClientOptions, kind: "get" | "put", putSize = 0): TftpOption[] {
  const o: TftpOption[] = [];
  if (asked.blksize !== undefined) o.push({ name: "blksize", value: String(asked.blksize) });
  if (asked.timeout !== undefined) o.push({ name: "timeout", value: String(asked.timeout) });
  if (asked.tsize === true) o.push({ name: "tsize", value: kind === "get" ? "0" : String(putSize) });
  if (asked.windowsize !== undefined) o.push({ name: "windowsize", value: String(asked.windowsize) });
  return o;
}

/** A decimal option value, or NaN. */
function decimal(v: string): number {
  return /^\d{1,10}$/.test(v) ? Number(v) : NaN;
}

/**
 * Check an OACK against what was asked (RFC 2347: the server may only
 * answer options the client sent; RFC 2348/7440: a block or window no
 * larger than asked; RFC 2349: the same timeout). Returns what the transfer
 * runs with, or why the OACK is refused (then ERROR 8 goes back).
 */
export function acceptOack(asked: TftpOption[], oack: TftpOption[], timeoutMs: number): Agreed | string {
  const a = defaults(timeoutMs);
  a.options = oack;
  const askedValue = (name: string): string | undefined => asked.find((o) => o.name === name)?.value;
  for (const { name: raw, value } of oack) {
    const name = raw.toLowerCase();
    const mine = askedValue(name);
    if (mine === undefined) return `the server answered option "${raw}", which was not asked for`;
    const n = decimal(value);
    switch (name) {
      case "blksize":
        if (!(n >= MIN_BLKSIZE && n <= Number(mine))) return `blksize ${value} is not in ${MIN_BLKSIZE}..${mine}`;
        a.blksize = n;
        break;
      case "windowsize":
        if (!(n >= 1 && n <= Number(mine))) return `windowsize ${value} is not in 1..${mine}`;
        a.windowsize = n;
        break;
      case "timeout":
        if (n !== Number(mine)) return `timeout ${value} is not the ${mine} asked for`;
        a.timeoutMs = n * 1000;
        break;
      case "tsize":
        if (!(n >= 0)) return `tsize ${value} is not a size`;
        if (mine !== "0" && n !== Number(mine)) return `tsize ${value} is not the ${mine} announced`;
        a.tsize = n;
        break;
      default:
        return `the server answered option "${raw}", which was not asked for`;
    }
  }
  return a;
}

/** What a server allows. */
export interface ServerLimits {
  /** RRQ: the file's size, for tsize (null: not answered, e.g. in netascii mode) */
  fileSize?: number | null | undefined;
  /** the largest window answered (a sender holds a window of blocks) */
  maxWindow: number;
  /** the largest block answered (default 65464) */
  maxBlksize?: number | undefined;
  /** the retransmission timeout when the client asks for none */
  timeoutMs: number;
}

/**
 * The server's side of RFC 2347: the options it takes, with its values, in
 * the client's order, and what the transfer runs with. Unknown options and
 * values out of range are left out of the OACK (RFC 2347: the server
 * ignores what it does not take); an empty reply means no OACK at all.
 */
export function serverOptions(asked: TftpOption[], limits: ServerLimits): { reply: TftpOption[]; agreed: Agreed } {
  const agreed = defaults(limits.timeoutMs);
  const reply: TftpOption[] = [];
  const seen = new Set<string>();
  for (const { name: raw, value } of asked) {
    const name = raw.toLowerCase();
    if (seen.has(name)) continue;
    seen.add(name);
    const n = decimal(value);
    switch (name) {
      case "blksize":
        if (n >= MIN_BLKSIZE) {
          agreed.blksize = Math.min(n, limits.maxBlksize ?? MAX_BLKSIZE, MAX_BLKSIZE);
          reply.push({ name: raw, value: String(agreed.blksize) });
        }
        break;
      case "windowsize":
        if (n >= 1 && n <= MAX_WINDOWSIZE) {
          agreed.windowsize = Math.min(n, limits.maxWindow);
          reply.push({ name: raw, value: String(agreed.windowsize) });
        }
        break;
      case "timeout":
        if (n >= 1 && n <= 255) {
          agreed.timeoutMs = n * 1000;
          reply.push({ name: raw, value });
        }
        break;
      case "tsize":
        if (limits.fileSize !== undefined) {
          // RRQ: answer the size (0 was sent); without one to give, leave the option out.
          if (limits.fileSize !== null && n === 0) {
            agreed.tsize = limits.fileSize;
            reply.push({ name: raw, value: String(limits.fileSize) });
          }
        } else if (n >= 0) {
          agreed.tsize = n; // WRQ: the size that is coming, echoed
          reply.push({ name: raw, value: String(n) });
        }
        break;
      case "rollover":
        if (value === "0") reply.push({ name: raw, value });
        break;
      default:
        break;
    }
  }
  agreed.options = reply;
  return { reply, agreed };
}
