/**
 * The text forms: time stamps (oracle: GNU date), hex dumps and hex strings
 * (bytes worked out by hand), JSON conversion, TCP flag letters (tcpdump's, seen
 * in its regression output), netmask prefix lengths, the argument parser, and
 * the summary's byte-level fast path, which must print exactly what the full
 * decode path prints for every frame it accepts (sample capture and, when
 * present, the whole tcpdump corpus).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PacketDecoder } from "../layers/decode.ts";
import { encodePacket } from "../layers/encode.ts";
import { openCaptureFile } from "../src/capture_file.ts";
import { intOption, parseArgs, flagCount, stringOption } from "../src/cli/args.ts";
import { prefixLength } from "../src/cli/devices.ts";
import { appSummary } from "../src/format/app_summary.ts";
import { hexDump, toHex } from "../src/format/hex.ts";
import { packetJson, valueJson } from "../src/format/json.ts";
import { SummaryFormatter, tcpFlags } from "../src/format/summary.ts";
import { clockTime, isoTime } from "../src/format/time.ts";
import { packetTree } from "../src/format/tree.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SAMPLE = join(ROOT, "test/fixtures/sample.pcap");
const CORPUS = join(ROOT, "../shared/corpus/tcpdump");

function gnuDate(sec: number): string {
  return execFileSync("date", ["-u", "-d", `@${sec}`, "+%Y-%m-%dT%H:%M:%S"], { encoding: "utf8" }).trim();
}

describe("time stamps (UTC)", () => {
  it("agree with GNU date, with µs or ns digits", () => {
    for (const sec of [0, 1_795_576_851, 951_782_400 /* 2000-02-29 */, 4_294_967_295]) {
      const d = gnuDate(sec);
      expect(isoTime(sec, 123_456_789)).toBe(`${d}.123456789Z`);
      expect(clockTime(sec, 123_456_789, 6)).toBe(`${d.slice(11)}.123456`);
      expect(clockTime(sec, 123_456_789, 9)).toBe(`${d.slice(11)}.123456789`);
    }
    // Zeros kept on the left of the fraction; the µs form truncates like tcpdump.
    expect(clockTime(1_795_576_851, 999, 6)).toBe("03:20:51.000000");
    expect(clockTime(1_795_576_851, 1_000, 6)).toBe("03:20:51.000001");
    expect(clockTime(1_795_576_851, 5, 9)).toBe("03:20:51.000000005");
    expect(isoTime(1_795_576_851, 0)).toBe("2026-11-25T03:20:51.000000000Z");
  });
});

describe("hex", () => {
  it("toHex is lower case, two digits per byte, short and long", () => {
    expect(toHex(new Uint8Array([0x00, 0x0a, 0xff, 0x45]))).toBe("000aff45");
    expect(toHex(new Uint8Array(0))).toBe("");
    const long = Uint8Array.from({ length: 40 }, (_, i) => i * 6);
    expect(toHex(long)).toBe(Array.from(long, (b) => (b < 16 ? "0" : "") + b.toString(16)).join(""));
    // A view into a larger buffer: only its own bytes.
    expect(toHex(new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 3))).toBe("0203");
  });

  it("hexDump: offset, groups of two bytes, graphic ASCII (space shown as a dot)", () => {
    const bytes = new Uint8Array([0x45, 0x00, 0x00, 0x54, 0x20, 0x41, 0x7e, 0x7f, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x31]);
    expect(hexDump(bytes, "\t")).toBe(
      "\t0x0000:  4500 0054 2041 7e7f 6162 6364 6566 6768  E..T.A~.abcdefgh\n" +
        "\t0x0010:  31                                       1",
    );
    expect(hexDump(new Uint8Array(0))).toBe("");
  });
});

describe("JSON", () => {
  it("packetJson: the schema's keys in order, bytes as hex, quoted issues as errors", () => {
    const line = packetJson({
      index: 7,
      sec: 1_795_576_851,
      nsec: 5,
      caplen: 3,
      length: 60,
      layers: [
        { layer: "icmp", type: 3, quoted: { layers: [{ layer: "payload", data: new Uint8Array([0xab]) }], issues: [{ layer: "udp", kind: "truncated", reason: "cut" }] } } as never,
        { layer: "payload", data: new Uint8Array([0xde, 0xad]) } as never,
      ],
      issues: [{ layer: "tcp", kind: "malformed", reason: 'quote " and \\ kept' }],
    });
    expect(line).toBe(
      '{"index":7,"time":"2026-11-25T03:20:51.000000005Z","caplen":3,"length":60,' +
        '"layers":[{"layer":"icmp","type":3,"quoted":{"layers":[{"layer":"payload","data":"ab"}],"errors":[{"layer":"udp","kind":"truncated","reason":"cut"}]}},' +
        '{"layer":"payload","data":"dead"}],' +
        '"errors":[{"layer":"tcp","kind":"malformed","reason":"quote \\" and \\\\ kept"}]}',
    );
    expect(JSON.parse(line)).toBeTruthy();
  });

  it("valueJson: nested arrays and objects, undefined left out, non-finite numbers as null", () => {
    expect(valueJson([{ kind: "unknown", code: 30, data: new Uint8Array([1, 1]) }, { kind: "nop" }])).toBe('[{"kind":"unknown","code":30,"data":"0101"},{"kind":"nop"}]');
    expect(valueJson({ a: undefined, b: NaN, c: null, d: "x" })).toBe('{"b":null,"c":null,"d":"x"}');
  });
});

describe("tree", () => {
  it("one field per line, hex for types and checksums, flags with letters, issues last", () => {
    const text = packetTree(
      [
        { layer: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", type: 0x0800 } as never,
        { layer: "tcp", srcPort: 80, flags: 0x012, checksum: 0xbeef, options: [{ kind: "mss", mss: 1460 }] } as never,
      ],
      [{ layer: "tcp", kind: "truncated", reason: "20 bytes needed, 8 left" }],
      "",
    );
    expect(text).toBe(
      [
        "ethernet",
        "  src: 02:00:00:00:00:01",
        "  dst: 02:00:00:00:00:02",
        "  type: 0x0800 (2048)",
        "tcp",
        "  srcPort: 80",
        "  flags: 0x012 [S.]",
        "  checksum: 0xbeef (48879)",
        "  options:",
        "    - kind=mss mss=1460",
        "errors",
        "  truncated: tcp: 20 bytes needed, 8 left",
      ].join("\n"),
    );
  });
});

describe("small helpers", () => {
  it("tcpFlags: tcpdump's letters and order", () => {
    expect(tcpFlags(0x002)).toBe("S");
    expect(tcpFlags(0x012)).toBe("S.");
    expect(tcpFlags(0x018)).toBe("P.");
    expect(tcpFlags(0x011)).toBe("F.");
    // tcp_eight_lowest_weight_flags_set.pcap prints "Flags [FSRP.UEW]" for 0xff.
    expect(tcpFlags(0x0ff)).toBe("FSRP.UEW");
    expect(tcpFlags(0)).toBe("none");
  });

  it("prefixLength of IPv4 and IPv6 netmasks", () => {
    expect(prefixLength("255.255.255.0")).toBe(24);
    expect(prefixLength("255.255.240.0")).toBe(20);
    expect(prefixLength("0.0.0.0")).toBe(0);
    expect(prefixLength("255.0.255.0")).toBe(null);
    expect(prefixLength("ffff:ffff:ffff:ffff::")).toBe(64);
    expect(prefixLength("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(128);
    expect(prefixLength("ffff:fffe::")).toBe(31);
  });

  it("parseArgs: bundled flags, attached and separate values, long forms, --, options after arguments", () => {
    const spec = [
      { name: "count", short: "c", value: "N", help: "" },
      { name: "verbose", short: "v", help: "" },
      { name: "hex", short: "x", help: "" },
      { name: "write", short: "w", value: "FILE", help: "" },
    ];
    const a = parseArgs(["-vvx", "-c5", "file.pcap", "tcp", "--write=out.pcap", "port", "80", "--", "-not-an-option"], spec);
    expect(flagCount(a, "verbose")).toBe(2);
    expect(flagCount(a, "hex")).toBe(1);
    expect(intOption(a, "count", 1)).toBe(5);
    expect(stringOption(a, "write")).toBe("out.pcap");
    expect(a.positionals).toEqual(["file.pcap", "tcp", "port", "80", "-not-an-option"]);
    expect(parseArgs(["-", "-c", "7"], spec).positionals).toEqual(["-"]);
    expect(() => parseArgs(["-q"], spec)).toThrow("unknown option");
    expect(() => parseArgs(["-c"], spec)).toThrow("needs a value");
    expect(() => intOption(parseArgs(["-c", "1k"], spec), "count", 1)).toThrow("-c : expected an integer, got '1k'");
    expect(intOption(parseArgs(["--count", "2k"], spec), "count", 1, 1e9, true)).toBe(2048);
  });
});

/** Compare the fast path (with the full decode as fallback) and the full decode alone, frame by frame. */
function fastEqualsSlow(path: string): { frames: number; fast: number; mismatches: string[] } {
  const decoder = new PacketDecoder();
  const withFast = new SummaryFormatter({ app: appSummary });
  const slowOnly = new SummaryFormatter({ app: appSummary });
  const viewOnly = new SummaryFormatter({ app: appSummary });
  let frames = 0;
  let fast = 0;
  const mismatches: string[] = [];
  let reader;
  try {
    reader = openCaptureFile(path);
  } catch {
    return { frames, fast, mismatches };
  }
  try {
    reader.readBatchesSync((b) => {
      for (let i = 0; i < b.count; i++) {
        const start = b.offset[i]!;
        const data = b.buffer.subarray(start, start + b.caplen[i]!);
        const p = decoder.decode(data, b.linkType[i]!, b.length[i]!);
        const slow = slowOnly.format(p.layers, p.issues, b.length[i]!);
        // As the CLI calls it: the batch buffer and the frame's range.
        const quick = withFast.formatFrame(b.buffer, b.linkType[i]!, b.length[i]!, false, start, start + b.caplen[i]!);
        frames++;
        // and on a view of just the frame: the same text
        const viewed = viewOnly.formatFrame(data, b.linkType[i]!, b.length[i]!);
        if (viewed === null) viewOnly.format(p.layers, p.issues, b.length[i]!);
        if (viewed !== quick && mismatches.length < 5) mismatches.push(`frame ${frames}: range "${quick}" / view "${viewed}"`);
        if (quick === null) {
          withFast.format(p.layers, p.issues, b.length[i]!);
          continue;
        }
        fast++;
        if (quick !== slow && mismatches.length < 5) mismatches.push(`frame ${frames}: fast "${quick}" / full "${slow}"`);
      }
    });
  } catch {
    // a damaged file: the frames before the damage were compared
  } finally {
    reader.close();
  }
  return { frames, fast, mismatches };
}

describe("summary fast path", () => {
  it("prints what the full decode prints on the sample capture", () => {
    const r = fastEqualsSlow(SAMPLE);
    expect(r.frames).toBe(23);
    // make_sample.js: all but the four the fast path leaves to the full decode:
    // the ICMP port unreachable, the UDP datagram with a bad checksum and the
    // ICMPv6 neighbor solicitation and advertisement. The DNS queries and answer
    // over UDP and the HTTP connection (its segments with a head too) are fast.
    expect(r.fast).toBe(19);
    expect(r.mismatches).toEqual([]);
  });

  it("DNS over UDP and HTTP over TCP: the app line, the transport line for a payload that is not the protocol, and problems left to the full decode", () => {
    const eth = { layer: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" } as const;
    const ip = { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" } as const;
    const udp = { layer: "udp", srcPort: 40000, dstPort: 53 } as const;
    const tcp = { layer: "tcp", srcPort: 40001, dstPort: 80, seq: 100, ack: 200, flags: 0x18, window: 1000 } as const;
    const text = (s: string): Uint8Array => new TextEncoder().encode(s);
    // id 0x1234, RD, one question: example.com A IN (12 + 13 + 4 = 29 bytes)
    const query = Uint8Array.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, ...text("example"), 3, ...text("com"), 0, 0, 1, 0, 1]);
    const cases: [Uint8Array, string | null][] = [
      [encodePacket([eth, ip, udp, { layer: "payload", data: query }]), "IP 10.0.0.1.40000 > 10.0.0.2.53: 4660+ A? example.com. (29)"],
      // the question is cut off: the full decode flags it, so the fast path leaves it
      [encodePacket([eth, ip, udp, { layer: "payload", data: query.subarray(0, 20) }]), null],
      [encodePacket([eth, ip, tcp, { layer: "payload", data: text("GET / HTTP/1.1\r\nHost: a\r\n\r\n") }]), "IP 10.0.0.1.40001 > 10.0.0.2.80: Flags [P.], seq 100:127, ack 200, win 1000, length 27: HTTP: GET / HTTP/1.1"],
      // data on port 80 that starts no message (the rest of a body): tcpdump's "HTTP" alone
      [encodePacket([eth, ip, tcp, { layer: "payload", data: text("hello world") }]), "IP 10.0.0.1.40001 > 10.0.0.2.80: Flags [P.], seq 100:111, ack 200, win 1000, length 11: HTTP"],
    ];
    const decoder = new PacketDecoder();
    for (const [frame, want] of cases) {
      const fast = new SummaryFormatter({ app: appSummary, absoluteSeq: true }).formatFrame(frame, 1, frame.length);
      const p = decoder.decode(frame, 1, frame.length);
      const full = new SummaryFormatter({ app: appSummary, absoluteSeq: true }).format(p.layers, p.issues, frame.length);
      expect(fast).toBe(want);
      if (want !== null) expect(full).toBe(want);
      // (the whole frame was captured, so running out of bytes is the sender's doing: malformed;
      // the message stops where tcpdump's does, with its mark)
      else expect(full).toMatch(/^IP 10\.0\.0\.1\.40000 > 10\.0\.0\.2\.53: 4660\+ \[\|domain\] \[malformed: dns: question 1 of 1: [^\]]+\]$/);
    }
    // without an app formatter (as -q), an app layer is the full decode's to print
    expect(new SummaryFormatter({ quiet: true }).formatFrame(cases[0]![0], 1, cases[0]![0].length)).toBeNull();
  });

  it("mutated and random frames: never throws, and what it prints is what the full decode prints", () => {
    const eth = { layer: "ethernet", src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02" } as const;
    const text = (s: string): Uint8Array => new TextEncoder().encode(s);
    const query = Uint8Array.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, ...text("example"), 3, ...text("com"), 0, 0, 1, 0, 1]);
    const seeds = [
      encodePacket([eth, { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { layer: "udp", srcPort: 40000, dstPort: 53 }, { layer: "payload", data: query }]),
      encodePacket([eth, { layer: "ipv6", src: "fd00::1", dst: "fd00::2" }, { layer: "udp", srcPort: 53, dstPort: 40000 }, { layer: "payload", data: query }]),
      encodePacket([eth, { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { layer: "tcp", srcPort: 40001, dstPort: 80, seq: 1, ack: 2, flags: 0x18, window: 9, options: [{ kind: "nop" }, { kind: "nop" }, { kind: "timestamps", tsval: 7, tsecr: 8 }] }, { layer: "payload", data: text("GET / HTTP/1.1\r\n\r\n") }]),
      encodePacket([eth, { layer: "ipv6", src: "fd00::1", dst: "fd00::2" }, { layer: "tcp", srcPort: 443, dstPort: 40002, seq: 5, ack: 6, flags: 0x12, window: 9, options: [{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }, { kind: "windowScale", shift: 7 }] }]),
      encodePacket([eth, { layer: "vlan", id: 5 }, { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" }, { layer: "icmp", type: 8, identifier: 1, sequence: 2 }, { layer: "payload", data: new Uint8Array(16) }]),
      encodePacket([eth, { layer: "arp", op: 1, senderMac: "02:00:00:00:00:01", senderIp: "10.0.0.1", targetIp: "10.0.0.2" }]),
    ];
    // Clean frames built around the app-layer cases: ports that pick an app
    // layer or not, payloads that are that protocol, nearly are, or are not.
    const port = fc.oneof(fc.constantFrom(53, 80, 8080, 5353, 67, 69), fc.integer({ min: 1, max: 65535 }));
    const payload = fc.oneof(
      fc.constantFrom(query, query.subarray(0, 20), text("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), text("HTTP/1.1 200 OK\r\n\r\n"), text("GET /"), new Uint8Array(0)),
      fc.uint8Array({ maxLength: 40 }),
    );
    const built = fc.tuple(fc.boolean(), fc.boolean(), port, port, payload).map(([v6, udp, sport, dport, data]) =>
      encodePacket([
        eth,
        v6 ? { layer: "ipv6", src: "fd00::1", dst: "fd00::2" } : { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
        udp ? { layer: "udp", srcPort: sport, dstPort: dport } : { layer: "tcp", srcPort: sport, dstPort: dport, seq: 1, ack: 2, flags: 0x18, window: 9 },
        { layer: "payload", data },
      ]),
    );
    const frame = fc.oneof(
      built,
      fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([seed, edits]) => {
        const f = seed.slice();
        for (const [at, v] of edits) f[at % f.length] = v;
        return f;
      }),
      fc.uint8Array({ minLength: 0, maxLength: 120 }),
    );
    const decoder = new PacketDecoder();
    let fast = 0;
    fc.assert(
      fc.property(frame, (f) => {
        // one formatter each, with no connection seen before: the same state on both sides
        const quick = new SummaryFormatter({ app: appSummary }).formatFrame(f, 1, f.length);
        if (quick === null) return;
        fast++;
        const p = decoder.decode(f, 1, f.length);
        expect(quick).toBe(new SummaryFormatter({ app: appSummary }).format(p.layers, p.issues, f.length));
      }),
      { numRuns: 3000 },
    );
    // the built frames are clean: most go the fast way (the rest have an app layer it leaves)
    expect(fast).toBeGreaterThan(600);
  });

  it.skipIf(!existsSync(CORPUS))("prints what the full decode prints on every corpus frame it accepts", () => {
    let frames = 0;
    let fast = 0;
    const mismatches: string[] = [];
    for (const f of readdirSync(CORPUS).sort()) {
      const r = fastEqualsSlow(join(CORPUS, f));
      frames += r.frames;
      fast += r.fast;
      for (const m of r.mismatches) mismatches.push(`${f} ${m}`);
    }
    console.log(`fast path: ${fast} of ${frames} corpus frames`);
    expect(fast).toBeGreaterThan(500);
    expect(mismatches).toEqual([]);
  });
});
