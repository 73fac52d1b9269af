/**
 * `stackts read` end to end, through bin/stackts.js (run `npm run build:ts` first;
 * `npm test` does). Oracles: tcpdump reading the same files, and values worked out
 * by hand from what scripts/make_sample.js builds.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePacket } from "../layers/encode.ts";
import { PcapWriter } from "../src/pcap.ts";
import { hasCommand } from "./helpers/lab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const SAMPLE = join(ROOT, "test/fixtures/sample.pcap");
const CORPUS = join(ROOT, "../shared/corpus/tcpdump");
const built = existsSync(join(ROOT, "dist/src/cli/main.js"));

function stackts(args: string[], input?: Buffer): { stdout: string; stderr: string; code: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 1 << 28, ...(input ? { input } : {}), env: { ...process.env, STACKTS_DEBUG: "" } });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

function tcpdump(args: string[]): string[] {
  const r = spawnSync("tcpdump", ["-n", ...args], { encoding: "utf8", env: { ...process.env, TZ: "UTC" }, maxBuffer: 1 << 28 });
  return r.stdout.split("\n").filter((l) => l !== "");
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/**
 * What we print beyond tcpdump without -e, removed before comparing: the VLAN tag
 * in front, and the checksum/decode flags at the end.
 */
function asTcpdump(line: string): string {
  return line.replace(/^(\S+ )(vlan \d+, p \d+, (DEI, )?)+/, "$1").replace(/( \[(bad \w+ cksum 0x[0-9a-f]+|truncated: [^\]]*|malformed: [^\]]*)\])+$/, "");
}

const skipNoBuild = built ? false : "dist/ missing: run npm run build:ts (npm test does)";
const skipNoTcpdump = hasCommand("tcpdump") ? false : "tcpdump not installed (./setup installs it)";

describe.skipIf(skipNoBuild !== false)("stackts read", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "stackts-read-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(skipNoTcpdump !== false)("prints the sample like tcpdump -n (TZ=UTC)", () => {
    const ours = lines(stackts(["read", SAMPLE]).stdout);
    const theirs = tcpdump(["-r", SAMPLE]);
    expect(theirs.length).toBe(23);
    expect(ours.length).toBe(theirs.length);
    for (let i = 0; i < ours.length; i++) expect(asTcpdump(ours[i]!), `packet ${i + 1}`).toBe(theirs[i]);
  });

  it("flags what tcpdump does not show (a bad UDP checksum); the VLAN tag only with -e, as tcpdump", () => {
    const ours = lines(stackts(["read", SAMPLE]).stdout);
    // Built by scripts/make_sample.js: packet 17 carries checksum 0x1234 set by hand,
    // packet 23 an 802.1Q tag with VID 100 and PCP 3.
    expect(ours[16]).toMatch(/: UDP, length 9 \[bad udp cksum 0x1234\]$/);
    expect(ours[22]).toMatch(/^03:20:51\.161538 IP 10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request, id 3, seq 1, length 64$/);
    const e = lines(stackts(["read", "-e", SAMPLE]).stdout);
    expect(e[22]).toBe(
      "03:20:51.161538 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 102: vlan 100, p 3, ethertype IPv4 (0x0800), 10.0.0.1 > 10.0.0.2: ICMP echo request, id 3, seq 1, length 64",
    );
  });

  it.skipIf(skipNoTcpdump !== false)("agrees with tcpdump on corpus files (SLL, nanosecond, IPv6, DNS, HTTP)", () => {
    const files = ["tcp-handshake-nano.pcap", "icmpv6-ns-nonce.pcap", "gso-ipv6.pcap", "dns_udp.pcap", "dns_tcp.pcap", "ipv4_tcp_http_xml.pcap", "arp-too-long-tha.pcap"];
    const present = files.filter((f) => existsSync(join(CORPUS, f)));
    if (present.length === 0) {
      console.warn(`skipped: no corpus at ${CORPUS}`);
      return;
    }
    for (const f of present) {
      const path = join(CORPUS, f);
      const ours = lines(stackts(["read", path]).stdout).map(asTcpdump);
      // A nanosecond pcap file (magic a1b23c4d, either byte order): we print nine digits.
      const magic = readFileSync(path).readUInt32BE(0);
      const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
      const want = tcpdump([...(nano ? ["--time-stamp-precision=nano"] : []), "-r", path]);
      expect(ours.length, f).toBe(want.length);
      // Compare the fields tcpdump shows, packet by packet; lines whose protocol we
      // do not decode as deeply as tcpdump (MLD record counts, ...) are left out.
      let compared = 0;
      for (let i = 0; i < ours.length; i++) {
        if (/multicast listener|router advertisement/.test(want[i]!)) continue;
        expect(ours[i], `${f} packet ${i + 1}`).toBe(want[i]);
        compared++;
      }
      expect(compared, f).toBeGreaterThan(0);
    }
  });

  it("-c stops after N packets", () => {
    const r = stackts(["read", "-c", "3", SAMPLE]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toHaveLength(3);
    expect(lines(stackts(["read", SAMPLE, "-c1"]).stdout)).toHaveLength(1);
  });

  it.skipIf(skipNoTcpdump !== false)("ICMP port unreachable: the quoted port of UDP, and of other protocols as tcpdump reads it", () => {
    // What a ping to a host that answers "port unreachable" brings back, and the
    // same for UDP and for GRE: tcpdump prints "protocol P port N" for a quote
    // that is not UDP or TCP, N from bytes 2-3 after the quoted IP header.
    const quote = (protocol: number, inner: Parameters<typeof encodePacket>[0]): Uint8Array =>
      encodePacket([{ layer: "ipv4", src: "10.0.0.2", dst: "10.0.0.9", protocol }, ...inner]);
    const quotes = [
      quote(1, [{ layer: "icmp", type: 8, identifier: 7, sequence: 1 }, { layer: "payload", data: new Uint8Array(8) }]),
      quote(47, [{ layer: "payload", data: Uint8Array.from([0, 0, 0x08, 0x00, 1, 2, 3, 4]) }]),
      quote(17, [{ layer: "udp", srcPort: 40000, dstPort: 9999 }, { layer: "payload", data: new Uint8Array(4) }]),
    ];
    const file = join(dir, "unreachable.pcap");
    const w = new PcapWriter(file, { linkType: 1 });
    quotes.forEach((q, i) => {
      const data = encodePacket([
        { layer: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" },
        { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
        { layer: "icmp", type: 3, code: 3 },
        { layer: "payload", data: q },
      ]);
      w.write({ data, length: data.length, sec: 1_700_000_000 + i, nsec: 0, linkType: 1, interfaceId: 0 });
    });
    w.close();
    const ours = lines(stackts(["read", file]).stdout);
    expect(ours).toHaveLength(3);
    expect(ours[1]).toMatch(/: ICMP 10\.0\.0\.9 protocol 47 port 2048 unreachable, length 36$/);
    expect(ours).toEqual(tcpdump(["-r", file]));
  });

  it.skipIf(skipNoTcpdump !== false)("-x prints the frame like tcpdump -XX", () => {
    const ours = lines(stackts(["read", "-x", SAMPLE]).stdout).filter((l) => l.startsWith("\t"));
    const theirs = tcpdump(["-XX", "-r", SAMPLE]).filter((l) => l.startsWith("\t"));
    expect(ours.length).toBeGreaterThan(23);
    expect(ours).toEqual(theirs);
  });

  it("-v prints a tree of every field", () => {
    const out = stackts(["read", "-v", "-c", "3", SAMPLE]).stdout;
    // Packet 1, an ARP request built with these values.
    expect(out).toContain("    arp\n      hardwareType: 1\n      protocolType: 0x0800 (2048)\n");
    expect(out).toContain("      op: 1\n      senderMac: 02:00:00:00:00:01\n      senderIp: 10.0.0.1\n      targetMac: 00:00:00:00:00:00\n      targetIp: 10.0.0.2\n");
    // Packet 3: ICMP echo request id 1 seq 1, 56 data bytes 00 01 02 ... 37.
    expect(out).toContain("    icmp\n      type: 8\n      code: 0\n");
    expect(out).toContain("      identifier: 1\n      sequence: 1\n");
    expect(out).toContain("      data: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637 (56 bytes)");
  });

  it("--json follows the schema", () => {
    const r = stackts(["read", "--json", SAMPLE]);
    expect(r.code).toBe(0);
    const rows = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(23);
    rows.forEach((row, i) => {
      expect(Object.keys(row)).toEqual(["index", "time", "caplen", "length", "layers", "errors"]);
      expect(row["index"]).toBe(i + 1);
    });
    // Times: 2026-11-25T03:20:51.123456Z + i × 1731 µs (make_sample.js).
    expect(rows[0]!["time"]).toBe("2026-11-25T03:20:51.123456000Z");
    expect(rows[22]!["time"]).toBe("2026-11-25T03:20:51.161538000Z");
    const ping = rows[2]!;
    // 14 (Ethernet) + 20 (IPv4) + 8 (ICMP) + 56 bytes of data.
    expect(ping["caplen"]).toBe(98);
    expect(ping["length"]).toBe(98);
    const layers = ping["layers"] as Record<string, unknown>[];
    expect(layers.map((l) => l["layer"])).toEqual(["ethernet", "ipv4", "icmp", "payload"]);
    expect(layers[0]).toMatchObject({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", type: 0x0800 });
    expect(layers[1]).toMatchObject({ src: "10.0.0.1", dst: "10.0.0.2", ttl: 64, protocol: 1, id: 0x1c46, totalLength: 84, headerLength: 20, dontFragment: true, moreFragments: false, fragmentOffset: 0, checksumValid: true });
    expect(layers[2]).toMatchObject({ type: 8, code: 0, checksumValid: true });
    expect(layers[3]!["data"]).toBe(Array.from({ length: 56 }, (_, i) => i.toString(16).padStart(2, "0")).join(""));
    const bad = rows[16]!["layers"] as Record<string, unknown>[];
    expect(bad[2]).toMatchObject({ layer: "udp", srcPort: 5001, dstPort: 6001, checksum: 0x1234, checksumValid: false });
    const ns = rows[17]!["layers"] as Record<string, unknown>[];
    expect(ns[1]).toMatchObject({ layer: "ipv6", src: "fe80::1", dst: "ff02::1:ff00:2", hopLimit: 255, nextHeader: 58 });
    const vlan = rows[22]!["layers"] as Record<string, unknown>[];
    expect(vlan[1]).toMatchObject({ layer: "vlan", id: 100, pcp: 3, dei: false, type: 0x0800 });
  });

  it.skipIf(skipNoTcpdump !== false)("a BPF filter after the file keeps what libpcap's filter keeps", () => {
    for (const expr of [["tcp", "port", "80"], ["icmp6"], ["arp", "or", "udp"]]) {
      const ours = lines(stackts(["read", SAMPLE, ...expr]).stdout).map(asTcpdump);
      const theirs = tcpdump(["-r", SAMPLE, ...expr]);
      expect(theirs.length, expr.join(" ")).toBeGreaterThan(0);
      expect(ours, expr.join(" ")).toEqual(theirs);
    }
  });

  it.skipIf(skipNoTcpdump !== false)("a damaged file prints every good packet, then one error line, exit 1", () => {
    const whole = readFileSync(SAMPLE);
    // Cut 10 bytes into the record of packet 6: 24-byte file header, then 16-byte
    // record headers; tcpdump tells how many packets come before the cut.
    let off = 24;
    for (let i = 0; i < 5; i++) off += 16 + whole.readUInt32LE(off + 8);
    const cut = join(dir, "cut.pcap");
    writeFileSync(cut, whole.subarray(0, off + 10));
    const r = stackts(["read", cut]);
    const good = tcpdump(["-r", cut]);
    expect(good).toHaveLength(5);
    expect(lines(r.stdout).map(asTcpdump)).toEqual(good);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^stackts: .*cut\.pcap : .+\n$/);
  });

  it("reads stdin with '-'", () => {
    const r = stackts(["read", "-", "-c", "2"], readFileSync(SAMPLE));
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toBe("03:20:51.123456 ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28");
    expect(lines(r.stdout)).toHaveLength(2);
  });

  it("output into a pipe that closes ends quietly", () => {
    // Many packets: the sample 3000 times over (one file header, records repeated).
    const whole = readFileSync(SAMPLE);
    const big = join(dir, "big.pcap");
    writeFileSync(big, Buffer.concat([whole.subarray(0, 24), ...Array<Buffer>(3000).fill(whole.subarray(24))]));
    const out = execFileSync("bash", ["-c", `set -o pipefail; node '${BIN}' read '${big}' 2>'${dir}/err' | head -n 2; echo "status \${PIPESTATUS[0]}"`], { encoding: "utf8" });
    const l = lines(out);
    expect(l).toHaveLength(3);
    expect(l[2]).toBe("status 0");
    expect(readFileSync(join(dir, "err"), "utf8")).toBe("");
  });

  it("bad input ends in one line on stderr and exit code 2 (usage) or 1 (failure)", () => {
    const cases: [string[], number, RegExp][] = [
      [["read"], 2, /^stackts: read : missing FILE/],
      [["read", SAMPLE, "--bogus"], 2, /^stackts: --bogus : unknown option/],
      [["read", SAMPLE, "-c", "x"], 2, /^stackts: -c : expected an integer, got 'x'/],
      [["read", SAMPLE, "-c", "0"], 2, /^stackts: -c : 0 is out of range/],
      [["read", SAMPLE, "tcp", "prot", "80"], 2, /^stackts: filter 'tcp prot 80' : /],
      [["read", join(dir, "nope.pcap")], 1, /^stackts: .*nope\.pcap : no such file/],
      [["read", ROOT], 1, /^stackts: .* : /],
      [["read", BIN], 1, /^stackts: .*stackts\.js : not a pcap or pcapng file/],
      [["frobnicate"], 2, /^stackts: frobnicate : unknown command/],
    ];
    for (const [args, code, re] of cases) {
      const r = stackts(args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(lines(r.stderr), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).toMatch(re);
      expect(r.stdout, args.join(" ")).toBe("");
    }
  });

  it("--help describes the command and exits 0", () => {
    const r = stackts(["read", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: stackts read/);
    expect(r.stdout).toContain("--json");
  });
});
