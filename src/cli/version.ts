/**
 * `stackts --version` (also `-V` and `stackts version`, and `--version` after any
 * command): the package's version, then the libpcap and Node it runs with, in
 * the shape of `tcpdump --version`:
 *
 * ```text
 * stackts version 0.1.0
 * libpcap version 1.10.3 (with TPACKET_V3)
 * node v20.19.2
 * ```
 *
 * The package directory is found from this module's own place (src/cli or
 * dist/src/cli), so the answer is the one of the code that runs.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { libpcapVersion } from "../native.ts";

/** The stackts package directory: the nearest one up with a package.json named "stackts", or null. */
export function findPackageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: unknown }).name === "stackts") return dir;
      } catch {
        // not ours, keep going up
      }
    }
    dir = dirname(dir);
  }
  return null;
}

/** The version in the package's package.json, or "unknown". */
export function packageVersion(): string {
  const root = findPackageRoot();
  if (root === null) return "unknown";
  try {
    const v = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: unknown }).version;
    return typeof v === "string" ? v : "unknown";
  } catch {
    return "unknown";
  }
}

/** The text `stackts --version` prints (three lines, newline-terminated). */
export function versionText(): string {
  let pcap: string;
  try {
    pcap = libpcapVersion();
  } catch (err) {
    // The version still answers without the addon; doctor says how to fix it.
    pcap = `libpcap: not loaded (${(err instanceof Error ? err.message : String(err)).split("\n")[0]}; see 'stackts doctor')`;
  }
  return `stackts version ${packageVersion()}\n${pcap}\nnode ${process.version}\n`;
}
