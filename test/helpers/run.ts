/**
 * Small pieces the lab tests share: a sha256 in hex, deterministic bytes
 * that are not all one value (a misplaced segment or block shows), and a
 * command run to its end with its output as bytes (killed after a limit).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";

export function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** `n` deterministic bytes from a linear congruential generator seeded with `seed`. */
export function payload(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** How a command ended, and what it wrote. */
export interface Done {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Run `argv` to its end (SIGKILL after `ms`); stdout as bytes, stderr as text. */
export function runToEnd(argv: string[], ms = 60_000): Promise<Done> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}
