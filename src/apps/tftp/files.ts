/**
 * Files for the TFTP engine, read and written a block at a time (never the
 * whole file in memory): {@link fileSource} and {@link fileSink} for a
 * client, {@link directoryFiles} for a server serving one folder. A server's
 * names are checked twice: `..` is refused by `checkName` before anything is
 * opened, and here the real path (symbolic links followed) must still be
 * inside the folder. An upload goes to a temporary name beside the target
 * and takes the target's name only when complete, so a failed transfer
 * leaves no half file.
 *
 * @example
 * ```ts
 * import { directoryFiles } from "./files.ts";
 * const files = directoryFiles("/srv/tftp");
 * const f = files.openRead("pxelinux.0"); // { source, size, close }
 * ```
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { TFTP_ERR, TftpError } from "./packet.ts";
import type { ReadFile, ServerFiles, WriteFile } from "./server.ts";
import type { BlockSink, BlockSource } from "./transfer.ts";

/** A file read in order; its size from fstat. Throws the open's error (ENOENT, EACCES, EISDIR). */
export function fileSource(path: string): ReadFile {
  const fd = openSync(path, "r");
  let size: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: "EISDIR" });
    size = st.size;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let open = true;
  const source: BlockSource = { read: (into) => readSync(fd, into, 0, into.length, null) };
  return {
    source,
    size,
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** A sink that writes to an open descriptor (all of each block). */
function fdSink(fd: number): BlockSink {
  return {
    write(bytes) {
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    },
  };
}

/** A file written in order: created or truncated now. `close` once done. */
export function fileSink(path: string): BlockSink & { close(): void } {
  const fd = openSync(path, "w");
  let open = true;
  return {
    ...fdSink(fd),
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Whether `path` is `root` or inside it. */
function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The files of the folder `root` for a server; `openWrite` writes through a temporary name. */
export function directoryFiles(root: string): ServerFiles {
  const top = realpathSync(root);
  const escape = (name: string): TftpError => new TftpError(TFTP_ERR.accessViolation, `"${name}" leaves the served folder`, false);
  return {
    openRead(name) {
      const real = realpathSync(join(top, name));
      if (!inside(top, real)) throw escape(name);
      return fileSource(real);
    },
    openWrite(name) {
      const target = join(top, name);
      const dir = realpathSync(dirname(target));
      if (!inside(top, dir)) throw escape(name);
      const final = join(dir, basename(target));
      try {
        if (!statSync(final).isFile()) throw new TftpError(TFTP_ERR.accessViolation, `"${name}" is not a regular file`, false);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      const temp = join(dir, `.${basename(target)}.tftp-${randomBytes(4).toString("hex")}`);
      const fd = openSync(temp, "wx", 0o644);
      let open = true;
      const close = (): void => {
        if (open) closeSync(fd);
        open = false;
      };
      const file: WriteFile = {
        sink: fdSink(fd),
        commit() {
          close();
          renameSync(temp, final);
        },
        discard() {
          close();
          try {
            unlinkSync(temp);
          } catch {
            // already gone
          }
        },
      };
      return file;
    },
  };
}
