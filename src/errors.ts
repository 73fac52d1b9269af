/**
 * Errors of live capture, injection and BPF filters. Each has a stable `code`
 * to branch on and a one-line message: what happened, libpcap's (or the
 * system's) own text, and what to do about it.
 *
 * ```ts
 * import { openLive } from "./live.ts";
 * import { CaptureError } from "./errors.ts";
 * try {
 *   openLive("eth9");
 * } catch (err) {
 *   if (err instanceof CaptureError && err.code === "ENODEV") console.error(err.message);
 * }
 * ```
 *
 * @module
 */

/** Every code a {@link CaptureError} can carry. */
export const CAPTURE_ERROR_CODES = [
  /** no interface by that name */
  "ENODEV",
  /** the interface is down */
  "ENETDOWN",
  /** not allowed to capture, send or enter the namespace */
  "EPERM",
  /** the BPF filter does not compile */
  "EFILTER",
  /** a frame is longer than the interface takes (MTU + link header) */
  "EMSGSIZE",
  /** the named network namespace does not exist */
  "ENONETNS",
  /** the capture or socket was already closed */
  "ECLOSED",
  /** anything else libpcap or the system reported */
  "EIO",
] as const;

export type CaptureErrorCode = (typeof CAPTURE_ERROR_CODES)[number];

/** What to do without permission; shared with the CLI's messages. */
export const PERMISSION_HINT =
  "run as root, or give a node binary cap_net_raw,cap_net_admin with setcap (see 'stackts setcap'), or --cap-add NET_RAW in a container";

/** A failure of capture, injection or filter compilation. */
export class CaptureError extends Error {
  override readonly name = "CaptureError";
  /** stable code to branch on */
  readonly code: CaptureErrorCode;
  /** libpcap's or the system's own text, unchanged */
  readonly detail: string;
  /** the interface involved, if any */
  readonly device: string | null;

  constructor(code: CaptureErrorCode, message: string, detail: string, device: string | null = null, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.detail = detail;
    this.device = device;
  }
}

/** The native addon is missing or cannot be loaded; the message says how to build it. */
export class NativeAddonError extends Error {
  override readonly name = "NativeAddonError";
  readonly code = "ENOADDON";
}

/** What we were doing when the native call failed (for the message). */
export interface FailureContext {
  /** "capture on", "send on", "list devices in", "compile filter" ... */
  action: string;
  device?: string;
  netns?: string;
  filter?: string;
  /** frame length, for EMSGSIZE */
  frameLength?: number;
}

// PCAP_ERROR_* values from <pcap/pcap.h>.
const PCAP_ERROR_NO_SUCH_DEVICE = -5;
const PCAP_ERROR_PERM_DENIED = -8;
const PCAP_ERROR_IFACE_NOT_UP = -9;
const PCAP_ERROR_PROMISC_PERM_DENIED = -11;
// errno values on Linux.
const EPERM = 1;
const ENOENT = 2;
const EBADF = 9;
const EACCES = 13;
const ENODEV = 19;
const ENXIO = 6;
const EMSGSIZE = 90;
const ENETDOWN = 100;

interface NativeFailure {
  message: string;
  op?: string;
  pcapStatus?: number;
  errno?: number;
  syscall?: string;
}

function asFailure(err: unknown): NativeFailure {
  if (typeof err === "object" && err !== null && "message" in err) {
    const e = err as Record<string, unknown>;
    const f: NativeFailure = { message: String(e["message"]) };
    if (typeof e["op"] === "string") f.op = e["op"];
    if (typeof e["pcapStatus"] === "number") f.pcapStatus = e["pcapStatus"];
    if (typeof e["errno"] === "number") f.errno = e["errno"];
    if (typeof e["syscall"] === "string") f.syscall = e["syscall"];
    return f;
  }
  return { message: String(err) };
}

function classify(f: NativeFailure): CaptureErrorCode {
  if (f.op === "closed" || f.syscall === "closed" || f.errno === EBADF) return "ECLOSED";
  if (f.syscall === "netns" && f.errno === ENOENT) return "ENONETNS";
  if (f.op === "pcap_compile") return "EFILTER";
  switch (f.pcapStatus) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return "ENODEV";
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return "EPERM";
    case PCAP_ERROR_IFACE_NOT_UP:
      return "ENETDOWN";
  }
  switch (f.errno) {
    case EPERM:
    case EACCES:
      return "EPERM";
    case ENODEV:
    case ENXIO:
      return "ENODEV";
    case ENETDOWN:
      return "ENETDOWN";
    case EMSGSIZE:
      return "EMSGSIZE";
  }
  // libpcap reports a few of these only in its text (pcap_dispatch, pcap_inject).
  if (/went down|is not up/i.test(f.message)) return "ENETDOWN";
  if (/disappeared|no such device/i.test(f.message)) return "ENODEV";
  if (/message too long/i.test(f.message)) return "EMSGSIZE";
  if (/operation not permitted|permission/i.test(f.message)) return "EPERM";
  return "EIO";
}

function where(ctx: FailureContext): string {
  const dev = ctx.device === undefined ? "" : ` "${ctx.device}"`;
  const ns = ctx.netns === undefined ? "" : ` in network namespace "${ctx.netns}"`;
  return `${ctx.action}${dev}${ns}`;
}

/**
 * {@link toCaptureError} for a failed `sendMany` of `frames` (the addon's
 * error carries `sent`: the frames that went before the one that failed): the
 * message names that frame and the count sent, its length goes to the context.
 */
export function sendManyError(err: unknown, frames: readonly Uint8Array[], ctx: FailureContext): Error {
  const sent = typeof err === "object" && err !== null && "sent" in err ? Number((err as { sent: unknown }).sent) : NaN;
  const length = Number.isNaN(sent) ? undefined : frames[sent]?.length;
  const mapped = toCaptureError(err, length === undefined ? ctx : { ...ctx, frameLength: length });
  if (mapped instanceof CaptureError && !Number.isNaN(sent)) {
    return new CaptureError(mapped.code, `${mapped.message} (frame ${sent}; ${sent} sent before it)`, mapped.detail, ctx.device ?? null, err);
  }
  return mapped;
}

/**
 * Turn an error thrown by the addon into a {@link CaptureError} with a code and
 * a one-line message. Errors that are not native failures (TypeError,
 * RangeError: programmer errors) are returned unchanged.
 */
export function toCaptureError(err: unknown, ctx: FailureContext): Error {
  if (err instanceof CaptureError) return err;
  if (err instanceof TypeError || err instanceof RangeError) return err;
  const f = asFailure(err);
  const code = classify(f);
  const text = f.syscall !== undefined && f.op === undefined ? `${f.syscall}: ${f.message}` : f.message;
  const dev = ctx.device ?? null;
  let msg: string;
  switch (code) {
    case "ENODEV":
      msg = `Cannot ${where(ctx)}: no such interface (${text}); run 'stackts devices${
        ctx.netns === undefined ? "" : ` --netns ${ctx.netns}`
      }' to list them`;
      break;
    case "ENETDOWN":
      msg = `Cannot ${where(ctx)}: the interface is down (${text}); bring it up first, e.g. 'ip link set ${ctx.device ?? "IFACE"} up'`;
      break;
    case "EPERM":
      msg =
        f.syscall === "setns"
          ? `Cannot ${where(ctx)}: no permission to enter the namespace (${text}); entering a network namespace needs root (CAP_SYS_ADMIN)`
          : `Cannot ${where(ctx)}: no permission (${text}); ${PERMISSION_HINT}`;
      break;
    case "EFILTER":
      msg = `Bad filter "${ctx.filter ?? ""}": ${text}; see 'man pcap-filter' for the syntax`;
      break;
    case "EMSGSIZE":
      msg = `Cannot ${where(ctx)}: frame${
        ctx.frameLength === undefined ? "" : ` of ${ctx.frameLength} bytes`
      } too long for the interface (${text}); frames may be at most the MTU plus the link header (14 bytes on Ethernet)`;
      break;
    case "ENONETNS":
      msg = `Cannot ${where(ctx)}: no such network namespace (/run/netns/${ctx.netns ?? ""}: ${f.message}); list them with 'ip netns list'`;
      break;
    case "ECLOSED":
      msg = `Cannot ${where(ctx)}: it is already closed`;
      break;
    default:
      msg = `Cannot ${where(ctx)}: ${text}`;
  }
  return new CaptureError(code, msg, text, dev, err);
}

/**
 * A capture file that cannot be read (further) or written. The message is one
 * line naming the file and the place: "Cannot read trace.pcap: ..." or
 * "Cannot write out.pcap: ...". System errors keep their code (`code`:
 * "ENOENT", "EIO", ...) and read as words, not as Node's raw text.
 */
export class CaptureFileError extends Error {
  override name = "CaptureFileError";
  /** the path as given ("-" for stdin or stdout) */
  readonly path: string;
  /** absolute byte offset of the damage, when there is one */
  readonly offset: number | null;
  /** the system error code (ENOENT, EACCES, EIO, ENOSPC, ...) when a system call failed, else null */
  readonly code: string | null;
  /** "read" or "write" */
  readonly operation: "read" | "write";
  constructor(
    path: string,
    what: string,
    offset: number | null = null,
    options: { operation?: "read" | "write"; code?: string | null; cause?: unknown } = {},
  ) {
    const operation = options.operation ?? "read";
    const subject = path === "-" ? (operation === "read" ? "stdin" : "stdout") : path;
    super(`Cannot ${operation} ${subject}: ${what}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = path;
    this.offset = offset;
    this.operation = operation;
    this.code = options.code ?? null;
  }
}

/** Words for the system errors a file meets; others keep the system's own text. */
const SYSTEM_ERROR_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
  EIO: "input/output error",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  ENAMETOOLONG: "file name too long",
  ELOOP: "too many symbolic links",
  EFBIG: "file too large",
  EPIPE: "the reader went away (broken pipe)",
  EBADF: "not open",
};

/**
 * A Node system error (from `fs`) on capture file `path` as a
 * {@link CaptureFileError}; anything else is returned unchanged.
 */
export function captureFileSystemError(err: unknown, path: string, operation: "read" | "write"): unknown {
  if (err instanceof CaptureFileError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== "object" || typeof e.code !== "string" || !/^E[A-Z0-9]+$/.test(e.code)) return err;
  const code = e.code;
  // Node's text is "ENOENT: no such file or directory, open '/x'": keep the words.
  const raw = typeof e.message === "string" ? e.message : "";
  const words = SYSTEM_ERROR_TEXT[code] ?? (raw.replace(/^E[A-Z0-9]+: /, "").replace(/, \w+( '.*')?$/, "") || code);
  return new CaptureFileError(path, words, null, { operation, code, cause: err });
}
