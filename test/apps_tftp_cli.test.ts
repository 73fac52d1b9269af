/**
 * `stackts tftp`'s bad input: one line on stderr in the CLI's form and exit
 * 2 (usage) or 1 (a local file that cannot be opened), before any device is
 * opened, so no root is needed. The lines are written out by hand here;
 * test/apps_tftp_lab.test.ts has the runs that talk to real servers.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const built = existsSync(join(ROOT, "dist/src/cli/main.js"));

function stackts(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

const ON = ["--iface", "nope0", "--ip", "10.77.0.3/24"];

describe.skipIf(!built)("stackts tftp: bad input", () => {
  it("each mistake is one line and the right exit code; nothing on stdout", { timeout: 60_000 }, async () => {
    const cases: [string[], number, string][] = [
      [["tftp"], 2, "stackts: tftp : get, put or serve? (see 'stackts tftp --help')\n"],
      [["tftp", ...ON, "fetch"], 2, "stackts: tftp : unknown action 'fetch' (get, put or serve)\n"],
      [["tftp", ...ON, "get"], 2, "stackts: tftp get : HOST and FILE are needed\n"],
      [["tftp", ...ON, "get", "10.77.0.1", "a", "b"], 2, "stackts: tftp get : unexpected argument 'b'\n"],
      [["tftp", ...ON, "get", "tftp.example.com", "f"], 2, "stackts: --server : which DNS server for tftp.example.com? give --server (or --gw, or --dhcp for the lease's)\n"],
      [["tftp", ...ON, "get", "10.77.0.1", "f", "--blksize", "7"], 2, "stackts: --blksize : 7 is out of range (8..65464)\n"],
      [["tftp", ...ON, "get", "10.77.0.1", "f", "--blksize", "65465"], 2, "stackts: --blksize : 65465 is out of range (8..65464)\n"],
      [["tftp", ...ON, "get", "10.77.0.1", "f", "--mode", "mail"], 2, "stackts: --mode : expected octet or netascii, got 'mail'\n"],
      [["tftp", ...ON, "put", "10.77.0.1", "f", "--windowsize", "65"], 2, "stackts: --windowsize : 65 is out of range (1..64)\n"],
      [["tftp", ...ON, "get", "10.77.0.1", "f", "--windowsize", "0"], 2, "stackts: --windowsize : 0 is out of range (1..65535)\n"],
      [["tftp", ...ON, "get", "10.77.0.1", "f", "--timeout", "256"], 2, "stackts: --timeout : 256 is out of range (1..255)\n"],
      [["tftp", ...ON, "get", "fd77::1", "f"], 2, "stackts: --ip6 : an IPv6 address of ours is needed to reach fd77::1\n"],
      [["tftp", "--ip", "10.77.0.3", "get", "10.77.0.1", "f"], 2, "stackts: --iface : is required (the interface our host lives on)\n"],
      [["tftp", ...ON, "serve"], 2, "stackts: tftp serve : which DIR to serve?\n"],
      [["tftp", ...ON, "serve", "/nonexistent-stackts"], 1, "stackts: /nonexistent-stackts : no such file or directory, lstat '/nonexistent-stackts'\n"],
      [["tftp", ...ON, "put", "10.77.0.1", "f", "-o", "/nonexistent-stackts/f"], 1, "stackts: /nonexistent-stackts/f : no such file or directory, open '/nonexistent-stackts/f'\n"],
    ];
    const results = await Promise.all(cases.map(([args]) => stackts(args)));
    results.forEach((r, i) => {
      const [args, code, line] = cases[i]!;
      expect(r.stderr, args.join(" ")).toBe(line);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stdout, args.join(" ")).toBe("");
    });
  });

  it("--help names every option", async () => {
    const r = await stackts(["tftp", "--help"]);
    expect(r.code).toBe(0);
    for (const o of ["--blksize", "--windowsize", "--timeout", "--tsize", "--mode", "--write", "--port", "--trace", "-o, --output"]) expect(r.stdout).toContain(o);
  });
});
