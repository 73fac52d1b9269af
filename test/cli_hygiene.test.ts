/**
 * CLI hygiene (issue 15): the tcpdump spellings a user types (`-n`, `-nn`,
 * `-r FILE`, `-X`/`-xx`/`-XX`, `-s 0`, `--version`), one meaning for `-x`
 * across commands, option combinations that would do nothing refused as usage
 * errors, `doctor IFACE` testing that interface only, `devices` showing the
 * broadcast address `ip addr` shows, "no non-loopback interface is up",
 * `setcap` refusing before writing anything, `./setup` linking `stackts`, and
 * the published types standing without `@types/node`.
 *
 * Oracles: tcpdump (its output for the same file, its version and snapshot
 * length lines), `ip -j addr`, getcap, the file system after each run, and
 * tsc over the built package in a project of its own.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasCommand, labSkipReason } from "./helpers/lab.ts";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "bin", "stackts.js");
const SAMPLE = join(ROOT, "test", "fixtures", "sample.pcap");
const built = existsSync(join(ROOT, "dist", "src", "cli", "main.js"));
const root = process.getuid?.() === 0;
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

function stackts(args: string[], opts: { netns?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const argv = opts.netns === undefined ? [process.execPath, CLI, ...args] : ["ip", "netns", "exec", opts.netns, process.execPath, CLI, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000, env: opts.env ?? process.env });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

function tcpdumpRead(args: string[]): string {
  return execFileSync("tcpdump", ["-r", SAMPLE, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, TZ: "UTC" } });
}

describe.skipIf(!built)("tcpdump spellings", () => {
  it("-n and -nn are accepted and change nothing (stackts prints numbers anyway)", () => {
    const plain = stackts(["read", SAMPLE]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.length).toBeGreaterThan(0);
    for (const n of ["-n", "-nn"]) {
      const r = stackts(["read", n, SAMPLE]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(plain.stdout);
    }
  });

  it.skipIf(!hasCommand("tcpdump"))("-r FILE reads the file and takes every argument as the filter, as tcpdump -r does", () => {
    const r = stackts(["read", "-r", SAMPLE, "udp"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(stackts(["read", SAMPLE, "udp"]).stdout);
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines.length).toBe(tcpdumpRead(["-n", "udp"]).split("\n").filter(Boolean).length);
    expect(lines.length).toBeGreaterThan(0);
  });

  it.skipIf(!hasCommand("tcpdump"))("-x, -X, -xx and -XX print tcpdump -XX's dump, and --help says how tcpdump's differ", () => {
    const x = stackts(["read", "-x", "-c", "2", SAMPLE]).stdout;
    for (const f of ["-X", "-xx", "-XX", "--hexdump", "--hex"]) expect(stackts(["read", f, "-c", "2", SAMPLE]).stdout, f).toBe(x);
    const dump = (text: string): string[] => text.split("\n").filter((l) => l.startsWith("\t0x"));
    expect(dump(x)).toEqual(dump(tcpdumpRead(["-n", "-XX", "-c", "2"])));
    expect(dump(x).length).toBeGreaterThan(2);
    const help = stackts(["read", "--help"]).stdout;
    expect(help).toContain("-x, -X, --hexdump");
    expect(help).toContain("tcpdump's -x and -xx have no ASCII");
  });

  it.skipIf(!hasCommand("tcpdump"))("--version, -V and 'version' print our version, then the libpcap line tcpdump prints", () => {
    const pcapLine = execFileSync("tcpdump", ["--version"], { encoding: "utf8" }).split("\n").find((l) => l.startsWith("libpcap version"));
    for (const argv of [["--version"], ["-V"], ["version"], ["read", "--version"], ["send", "--version"]]) {
      const r = stackts(argv);
      expect(r.code, argv.join(" ")).toBe(0);
      const lines = r.stdout.split("\n");
      expect(lines[0]).toBe(`stackts version ${VERSION}`);
      expect(lines[1]).toBe(pcapLine);
      expect(lines[2]).toBe(`node ${process.version}`);
    }
    expect(stackts(["--version", "extra"])).toMatchObject({ code: 2, stderr: "stackts: extra : unexpected argument after --version\n" });
  });
});

describe.skipIf(!built)("options that would do nothing are usage errors", () => {
  const cases: [string[], string][] = [
    [["read", "--json", "-v", SAMPLE], "stackts: -v : does nothing with --json (the JSON has every field, in one form)"],
    [["read", "--json", "-x", SAMPLE], "stackts: -x : does nothing with --json (the JSON has every field, in one form)"],
    [["read", "--json", "-q", SAMPLE], "stackts: -q : does nothing with --json (the JSON has every field, in one form)"],
    [["capture", "lo", "--json", "-S"], "stackts: -S : does nothing with --json (the JSON has every field, in one form)"],
    [["capture", "lo", "-w", "/tmp/x.pcap", "-x"], "stackts: -x : does nothing with -w (the frames go to the file, nothing is printed)"],
    [["capture", "lo", "-w", "/tmp/x.pcap", "--json"], "stackts: --json : does nothing with -w (the frames go to the file, nothing is printed)"],
    [["capture", "lo", "--nano"], "stackts: --nano : does nothing without -w (printed times have microseconds)"],
    [["capture", "lo", "--nano", "-w", "/tmp/x.pcapng"], "stackts: --nano : does nothing with a pcapng file (it keeps nanoseconds anyway)"],
    [["capture", "lo", "--timeout", "50"], "stackts: --timeout : does nothing in immediate mode (each frame is delivered at once); add --no-immediate"],
    [["capture", "lo", "--immediate", "-w", "/tmp/x.pcap", "--timeout", "50"], "stackts: --timeout : does nothing in immediate mode (each frame is delivered at once); add --no-immediate"],
    [["capture", "--netns", "", "lo"], "stackts: --netns : is empty (needs NAME)"],
    [["capture", "--netns=", "lo"], "stackts: --netns : is empty (needs NAME)"],
    [["devices", "--netns", ""], "stackts: --netns : is empty (needs NAME)"],
    [["send", "udp", "--iface", "", "--dst", "127.0.0.1", "--dport", "9"], "stackts: --iface : is empty (needs IF)"],
    [["send", "dns", "-i", "lo", "--netns", "", "--server", "127.0.0.1", "x"], "stackts: --netns : is empty (needs NAME)"],
    [["send", "udp", "-i", "lo", "--dst", "127.0.0.1", "--dport", "9", "--interval", "10"], "stackts: --interval : does nothing with one frame (give -c N)"],
    [["send", "udp", "-i", "lo", "--dst", "127.0.0.1", "--dport", "9", "--dry-run", "-c", "3"], "stackts: -c : does nothing with --dry-run (one frame is built, nothing is sent)"],
    [["send", "raw", "-i", "lo", "--dry-run", "-c", "2", "00112233445566778899aabb0800"], "stackts: -c : does nothing with --dry-run (one frame is built, nothing is sent)"],
    [["setcap", "--undo", "--group", "x"], "stackts: --group : does nothing with --undo"],
    [["ping", "--iface", "", "127.0.0.1"], "stackts: --iface : is empty (needs IF)"],
    [["read", "-c", "0", SAMPLE], "stackts: -c : 0 is out of range (at least 1)"],
    [["read", "-q", "-S", SAMPLE], "stackts: -S : does nothing with -q (its TCP lines carry no sequence numbers)"],
    [["capture", "-qS", "lo"], "stackts: -S : does nothing with -q (its TCP lines carry no sequence numbers)"],
    [["ping", "--iface", "lo", "--ip", "10.0.0.1/24", "-W", "1", "10.0.0.2"], "stackts: -W : does nothing without -c (it is the wait after the last of -c requests)"],
    [["ping", "--iface", "lo", "--ip", "10.0.0.1/24", "-c", "1", "-i", "0.5", "10.0.0.2"], "stackts: -i : does nothing with -c 1 (one request)"],
    [["nc", "--iface", "lo", "--ip", "10.0.0.1/24", "-4", "10.0.0.2", "80"], "stackts: -4 : does nothing without -l (a client's family is its HOST's)"],
    [["nc", "--iface", "lo", "--ip", "10.0.0.1/24", "-l", "-w", "3", "9000"], "stackts: -w : does nothing with -l (it limits a TCP client's handshake)"],
    [["nc", "--iface", "lo", "--ip", "10.0.0.1/24", "-u", "-w", "3", "10.0.0.2", "80"], "stackts: -w : does nothing with -u (it limits a TCP client's handshake)"],
  ];
  for (const [argv, line] of cases) {
    it(argv.map((a) => (a === "" ? "''" : a)).join(" "), () => {
      const r = stackts(argv);
      expect(r.stderr).toBe(line + "\n");
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
    });
  }
});

describe.skipIf(!built || labSkipReason !== null)("in a namespace of its own", () => {
  const ns = `stkh${process.pid}`;
  beforeAll(() => {
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", ns]);
  });

  it("with only lo up: capture says no non-loopback interface is up, doctor says the same", () => {
    const c = stackts(["capture", "-c", "1"], { netns: ns });
    expect(c.stderr).toBe("stackts: capture : no non-loopback interface is up (name one, e.g. lo; see 'stackts devices')\n");
    expect(c.code).toBe(1);
    const d = stackts(["doctor"], { netns: ns });
    expect(d.stdout).toMatch(/^warn {2}interfaces: up: lo \(127\.0\.0\.1\); no non-loopback interface is up; fix: /m);
  });

  it("doctor nosuch0 fails on that name and opens no other interface", () => {
    const d = stackts(["doctor", "nosuch0"], { netns: ns });
    expect(d.code).toBe(1);
    expect(d.stdout).toMatch(/^FAIL {2}interfaces: no interface "nosuch0"/m);
    expect(d.stdout).not.toMatch(/^\S+ +open:/m);
    const lo = stackts(["doctor", "lo"], { netns: ns });
    expect(lo.stdout).toMatch(/^ok {4}open: opened a capture on lo$/m);
  });

  it("-s 0 is the default snapshot length, as tcpdump's -s 0", { timeout: 20_000 }, async () => {
    const listening = (argv: string[]): Promise<string> =>
      new Promise((resolve) => {
        const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.setEncoding("utf8").on("data", (d: string) => {
          err += d;
          // Whole lines only: a chunk may end in the middle of one.
          const line = err.split("\n").slice(0, -1).find((l) => l.startsWith("listening on"));
          if (line !== undefined) {
            child.kill("SIGINT");
            resolve(line);
          }
        });
        setTimeout(() => {
          child.kill("SIGKILL");
          resolve(err);
        }, 10_000);
      });
    const ours = await listening([process.execPath, CLI, "capture", "-i", "lo", "-s", "0"]);
    const theirs = await listening(["tcpdump", "-i", "lo", "-s", "0"]);
    const snap = (line: string): string | undefined => /snapshot length (\d+) bytes/.exec(line)?.[1];
    expect(snap(ours)).toBe(snap(theirs));
    expect(snap(ours)).toBe("262144");
    // tcpdump's long spellings and -l are taken too.
    const long = await listening([process.execPath, CLI, "capture", "-l", "--interface", "lo", "--snapshot-length", "0", "--immediate-mode", "-w", join(tmpdir(), `h3-${process.pid}.pcap`)]);
    expect(snap(long)).toBe("262144");
    expect(long).toContain("immediate mode");
    rmSync(join(tmpdir(), `h3-${process.pid}.pcap`), { force: true });
  });

  it("-Z with a user it cannot become is refused before any device opens (no 'listening on')", () => {
    const r = stackts(["capture", "-Z", "no-such-user-h3", "-c", "1", "lo"], { netns: ns });
    expect(r).toMatchObject({ code: 1, stderr: 'stackts: -Z : Cannot drop privileges: no user "no-such-user-h3"\n' });
    const n = spawnSync("ip", ["netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "capture", "-Z", "root", "-c", "1", "lo"], { encoding: "utf8" });
    expect(n.stderr).toBe('stackts: -Z : Cannot drop privileges to "root": running as uid 65534, not root; -Z only works when started as root\n');
    expect(n.status).toBe(1);
  });

  it("capture -D lists what devices lists (tcpdump -D), and refuses options it would ignore", () => {
    const d = stackts(["capture", "-D"], { netns: ns });
    expect(d.code).toBe(0);
    expect(d.stdout).toBe(stackts(["devices"], { netns: ns }).stdout);
    expect(d.stdout).toMatch(/^\d+\.lo \[Up, Running, Loopback\]/m);
    expect(stackts(["capture", "-D", "-c", "3"], { netns: ns })).toMatchObject({ code: 2, stderr: "stackts: -c : does nothing with -D (it only lists the interfaces)\n" });
  });

  it("devices shows the broadcast address ip -j addr shows, and none where it shows none", () => {
    execFileSync("ip", ["-n", ns, "link", "add", "hv0", "type", "veth", "peer", "name", "hv1"]);
    execFileSync("ip", ["-n", ns, "addr", "add", "10.91.0.1/24", "dev", "hv0"]);
    execFileSync("ip", ["-n", ns, "addr", "add", "10.91.1.1/24", "brd", "+", "dev", "hv1"]);
    execFileSync("ip", ["-n", ns, "addr", "add", "10.91.2.1/32", "dev", "hv1"]);
    execFileSync("ip", ["-n", ns, "link", "set", "hv0", "up"]);
    execFileSync("ip", ["-n", ns, "link", "set", "hv1", "up"]);
    const ip = JSON.parse(execFileSync("ip", ["-n", ns, "-j", "-4", "addr"], { encoding: "utf8" })) as { ifname: string; addr_info: { local: string; broadcast?: string }[] }[];
    const r = stackts(["devices", "--json"], { netns: ns });
    expect(r.code).toBe(0);
    const ours = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { name: string; addresses: { family: string; address: string; broadcast: string | null }[] });
    let compared = 0;
    for (const i of ip) {
      for (const a of i.addr_info) {
        const d = ours.find((o) => o.name === i.ifname)?.addresses.find((x) => x.address === a.local);
        expect(d, `${i.ifname} ${a.local}`).toBeDefined();
        expect(d!.broadcast, `${i.ifname} ${a.local}`).toBe(a.broadcast ?? null);
        compared++;
      }
    }
    expect(compared).toBe(4); // lo's 127.0.0.1 and the three above
    expect(stackts(["devices"], { netns: ns }).stdout).toMatch(/^ {4}inet 10\.91\.0\.1\/24$/m);
  });
});

describe.skipIf(!built)("send's spellings", () => {
  it("--data-hex and the old --hex build the same payload; -X is -x", () => {
    const base = ["send", "udp", "-i", "lo", "--dst", "127.0.0.1", "--dport", "9", "--sport", "40000", "--dry-run"];
    const untimed = (s: string): string => s.replace(/^\d\d:\d\d:\d\d\.\d+ /gm, "");
    const a = stackts([...base, "--data-hex", "de ad be ef"]);
    expect(a.stderr).toBe("");
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/UDP, length 4/);
    expect(a.stdout).toMatch(/\t0x0020: .* dead beef/);
    expect(untimed(stackts([...base, "--hex", "de:ad:be:ef"]).stdout)).toBe(untimed(a.stdout));
    const x = stackts(["send", "udp", "-i", "lo", "--dst", "127.0.0.1", "--dport", "9", "--sport", "40000", "--data", "", "-X", "--help"]);
    expect(x.stdout).toContain("-x, -X, --hexdump");
    expect(x.stdout).toContain("--data-hex HEX");
    expect(x.stdout).toContain("(also --hex)");
    // An empty --data stays allowed: an empty payload means something.
    expect(stackts([...base, "--data", ""]).code).toBe(0);
  });

  it("file errors are one line in our words, not Node's 'ENOENT: no such file or directory, open ...'", () => {
    const w = stackts(["send", "udp", "-i", "lo", "--dst", "127.0.0.1", "--dport", "9", "--dry-run", "-w", "/nonexistent-h3/x.pcap"]);
    expect(w).toMatchObject({ code: 1, stderr: "stackts: /nonexistent-h3/x.pcap : no such directory\n" });
    const f = stackts(["send", "raw", "-i", "lo", "--dry-run", "--file", "/nonexistent-h3"]);
    expect(f).toMatchObject({ code: 1, stderr: "stackts: /nonexistent-h3 : no such file\n" });
    const d = stackts(["send", "udp", "-i", "lo", "--dst", "127.0.0.1", "--dport", "9", "--dry-run", "--file", "/"]);
    expect(d).toMatchObject({ code: 1, stderr: "stackts: / : is a directory\n" });
    // No 'spawnSync ip ENOENT' when iproute2 is missing.
    const ip = stackts(["send", "udp", "--netns", "x", "--l3", "-i", "lo", "--dst", "127.0.0.1", "--dport", "9"], { env: { ...process.env, PATH: "/nonexistent" } });
    expect(ip).toMatchObject({ code: 1, stderr: "stackts: --netns : cannot run 'ip' to enter the namespace (install iproute2)\n" });
  });
});

describe.skipIf(!built || !root || !hasCommand("getcap"))("setcap writes nothing it refuses, and leaves nothing when it fails", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "stackts-setcap-h-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("an existing --wrapper it did not write: refused, and no capable copy is left behind", () => {
    const wrapper = join(dir, "w1");
    writeFileSync(wrapper, "#!/bin/sh\necho mine\n");
    const r = stackts(["setcap", "--out", join(dir, "new", "node"), "--wrapper", wrapper]);
    expect(r.stderr).toBe(`stackts: ${wrapper} : exists and was not written by 'stackts setcap'; pick another --wrapper (or --force to replace it)\n`);
    expect(r.code).toBe(1);
    expect(readdirSync(dir)).toEqual(["w1"]);
    expect(readFileSync(wrapper, "utf8")).toBe("#!/bin/sh\necho mine\n");
  });

  it("an existing --out that is not an earlier copy: refused, unchanged; an earlier copy is replaced", () => {
    const out = join(dir, "other");
    writeFileSync(out, "not node");
    const r = stackts(["setcap", "--out", out, "--wrapper", join(dir, "w2")]);
    expect(r.stderr).toBe(`stackts: ${out} : exists and is not a copy made by 'stackts setcap'; pick another --out (or --force to replace it)\n`);
    expect(r.code).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("not node");
    expect(existsSync(join(dir, "w2"))).toBe(false);
    // --undo does not remove it either.
    const u = stackts(["setcap", "--undo", "--out", out, "--wrapper", join(dir, "w2")]);
    expect(u.code).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("not node");
    // A copy setcap made is one getcap shows with our capabilities, and a re-run replaces it.
    const copy = join(dir, "copy", "node");
    expect(stackts(["setcap", "--out", copy, "--wrapper", join(dir, "w3")]).code).toBe(0);
    expect(execFileSync("getcap", [copy], { encoding: "utf8" })).toMatch(/cap_net_admin,cap_net_raw=eip/);
    expect(stackts(["setcap", "--out", copy, "--wrapper", join(dir, "w3")]).code).toBe(0);
    expect(stackts(["setcap", "--undo", "--out", copy, "--wrapper", join(dir, "w3")]).code).toBe(0);
    expect(existsSync(copy) || existsSync(join(dir, "w3"))).toBe(false);
  });

  it.skipIf(!hasCommand("unshare"))("a failure after the copy is written (read-only wrapper directory) removes the copy and the directories it made", () => {
    const ro = join(dir, "ro");
    mkdirSync(ro);
    const out = join(dir, "made", "deeper", "node");
    const r = spawnSync("unshare", ["-m", "sh", "-c", `mount -t tmpfs -o ro none '${ro}' && exec '${process.execPath}' '${CLI}' setcap --out '${out}' --wrapper '${ro}/w'`], { encoding: "utf8" });
    expect(r.stderr).toBe(`stackts: ${ro}/w : read-only file system; nothing was left behind\n`);
    expect(r.status).toBe(1);
    expect(existsSync(join(dir, "made"))).toBe(false);
  });
});

describe.skipIf(!built)("./setup links stackts onto a bin directory", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "stackts-setup-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const setup = (bin: string, path = process.env["PATH"] ?? ""): Run => {
    const r = spawnSync(join(ROOT, "setup"), [], {
      encoding: "utf8",
      env: { ...process.env, PATH: path, STACKTS_SETUP_APT: "0", STACKTS_SETUP_BUILD: "0", STACKTS_BIN_DIR: bin },
    });
    return { stdout: r.stdout, stderr: r.stderr, code: r.status };
  };

  it("makes the link, says when its directory is off PATH, and the linked command runs", () => {
    const bin = join(dir, "bin");
    const target = join(ROOT, "bin", "stackts.js");
    const r = setup(bin);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`setup: linked ${bin}/stackts -> ${target}\n`);
    expect(r.stdout).toContain(`setup: ${bin} is not on PATH`);
    expect(lstatSync(join(bin, "stackts")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(bin, "stackts"))).toBe(target);
    const again = setup(bin, `${bin}:${process.env["PATH"] ?? ""}`);
    expect(again.stdout).toContain("already links to");
    expect(again.stdout).toContain("setup: done. Try: stackts read test/fixtures/sample.pcap");
    const v = spawnSync("stackts", ["--version"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` } });
    expect(v.stdout.split("\n")[0]).toBe(`stackts version ${VERSION}`);
  });

  it.skipIf(!root || !hasCommand("setpriv"))("as an ordinary user: ~/.local/bin, and the path to give sudo", () => {
    const home = join(dir, "home");
    mkdirSync(home);
    chmodSync(dir, 0o755); // mkdtemp's 0700 would keep the user out
    execFileSync("chown", ["65534:65534", home]);
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, STACKTS_SETUP_APT: "0", STACKTS_SETUP_BUILD: "0" };
    delete env["STACKTS_BIN_DIR"];
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", join(ROOT, "setup")], { encoding: "utf8", env });
    expect(r.status).toBe(0);
    const link = join(home, ".local", "bin", "stackts");
    expect(readlinkSync(link)).toBe(join(ROOT, "bin", "stackts.js"));
    expect(r.stdout).toContain(`setup: to capture as root: sudo ${link} capture ...`);
  });

  it("leaves an existing stackts it did not make alone", () => {
    const bin = join(dir, "bin2");
    mkdirSync(bin);
    writeFileSync(join(bin, "stackts"), "someone else's\n");
    const r = setup(bin);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("exists and is not a link to");
    expect(readFileSync(join(bin, "stackts"), "utf8")).toBe("someone else's\n");
  });
});

describe.skipIf(!existsSync(join(ROOT, "dist", "src", "mod.d.ts")))("the published types without @types/node", () => {
  it("a project with only typescript and the built package type-checks imports of stackts and stackts/layers", { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "stackts-types-"));
    try {
      // The package as npm would install it: package.json (its exports) and dist/.
      const pkg = join(dir, "node_modules", "stackts");
      mkdirSync(pkg, { recursive: true });
      cpSync(join(ROOT, "package.json"), join(pkg, "package.json"));
      cpSync(join(ROOT, "dist"), join(pkg, "dist"), { recursive: true });
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: [], typeRoots: [] },
          files: ["main.ts"],
        }),
      );
      writeFileSync(
        join(dir, "main.ts"),
        [
          'import { openCaptureFile, listDevices, openLive, Output, PacketPrinter, waitForFrame } from "stackts";',
          'import { decodePacket, encodePacket } from "stackts/layers";',
          'const frame: Uint8Array = encodePacket([{ layer: "ethernet" }, { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { layer: "udp", srcPort: 1, dstPort: 2 }]);',
          "export const layers = decodePacket(frame, 1).layers.map((l) => l.layer);",
          "export const api = [openCaptureFile, listDevices, openLive, Output, PacketPrinter, waitForFrame];",
          "",
        ].join("\n"),
      );
      const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
      const r = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8", cwd: dir });
      expect(r.stdout + r.stderr).toBe("");
      expect(r.status).toBe(0);
      // The check is real: the Node-only subpath does need @types/node here.
      writeFileSync(join(dir, "main.ts"), 'import { connectStream } from "stackts/stream";\nexport const c = connectStream;\n');
      const s = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8", cwd: dir });
      expect(s.stdout).toMatch(/Cannot find module 'node:stream'/);
      expect(s.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
