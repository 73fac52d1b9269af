/**
 * TCP and its options: hand-worked bytes decoded field by field and built back
 * byte for byte, every option kind, hostile options and data offsets, and the
 * zero-copy view; then every transport field against tshark on real lab traffic.
 */
import { newState, type TestState } from "../helpers/decode_state.ts";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncodeContext, IpContext, LayerBase } from "../../layers/core.ts";
import { decodePacket } from "../../layers/decode.ts";
import { encodeContext } from "../../layers/encode.ts";
import type { Icmp } from "../../layers/icmp.ts";
import type { Icmpv6 } from "../../layers/icmpv6.ts";
import type { Udp } from "../../layers/udp.ts";
import { openCaptureFile } from "../../src/capture_file.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "../helpers/lab.ts";
import { decodeTcp, tcpCodec, TcpView, TCP_FLAGS, type Tcp, type TcpInput } from "../../layers/tcp.ts";
import { parseTcpOptions, writeTcpOptions, tcpOptionsLength, type TcpOption } from "../../layers/tcp_options.ts";

const A4 = Uint8Array.of(10, 77, 0, 1);
const B4 = Uint8Array.of(10, 77, 0, 2);

function ip4(upperLength: number, complete = true): IpContext {
  return { version: 4, src: A4, dst: B4, upperLength, complete, laterFragment: false };
}


function decode(bytes: Uint8Array, ip: IpContext | null) {
  const state = newState(bytes, ip);
  const next = decodeTcp(bytes, state);
  return { next, state, tcp: state.layers[0] as Tcp | undefined };
}

// A Linux-style SYN, 10.77.0.1:40000 -> 10.77.0.2:80, seq 0x01020304, window 64240,
// options MSS 1460, SACK-permitted, timestamps (1, 0), NOP, window scale 7.
//   data offset 10 words = 40 bytes -> byte 12 = a0; flags SYN = 02
//   pseudo-header: 0a4d+0001 + 0a4d+0002 + 0006 + 0028 (length 40) = 14cb
//   header words: 9c40+0050+0102+0304+0000+0000+a002+faf0+0000(cksum)+0000 = 23b88
//   option words: 0204+05b4+0402+080a+0000+0001+0000+0000+0103+0307 = 17cf
//   14cb + 23b88 + 17cf = 26822 -> fold 6822+2 = 6824 -> complement 97db
const SYN = Uint8Array.of(
  0x9c, 0x40, 0x00, 0x50, // ports 40000, 80
  0x01, 0x02, 0x03, 0x04, // seq
  0x00, 0x00, 0x00, 0x00, // ack
  0xa0, 0x02, 0xfa, 0xf0, // data offset 10, SYN, window 64240
  0x97, 0xdb, 0x00, 0x00, // checksum, urgent pointer
  0x02, 0x04, 0x05, 0xb4, // MSS 1460
  0x04, 0x02, // SACK permitted
  0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // timestamps 1, 0
  0x01, // NOP
  0x03, 0x03, 0x07, // window scale 7
);

const SYN_OPTIONS: TcpOption[] = [
  { kind: "mss", mss: 1460 },
  { kind: "sackPermitted" },
  { kind: "timestamps", tsval: 1, tsecr: 0 },
  { kind: "nop" },
  { kind: "windowScale", shift: 7 },
];

describe("tcp decode", () => {
  it("reads every field and option of a hand-made SYN and verifies its checksum", () => {
    const { next, state, tcp } = decode(SYN, ip4(40));
    expect(tcp).toEqual({
      layer: "tcp",
      srcPort: 40000,
      dstPort: 80,
      seq: 0x01020304,
      ack: 0,
      headerLength: 40,
      flags: TCP_FLAGS.SYN,
      window: 64240,
      checksum: 0x97db,
      checksumValid: true,
      checksumStatus: "good",
      urgentPointer: 0,
      options: SYN_OPTIONS,
    });
    expect(state.issues).toEqual([]);
    expect(next).toBeNull(); // no data
  });

  it("reads 32-bit numbers unsigned and all 12 flag bits (NS is bit 8)", () => {
    const b = SYN.slice();
    b.set([0xff, 0xff, 0xff, 0xfe], 4); // seq 4294967294
    b.set([0x80, 0x00, 0x00, 0x01], 8); // ack 2147483649
    b[12] = 0xa1; // NS
    b[13] = 0xd2; // CWR ECE ACK SYN = 80+40+10+02
    const { tcp } = decode(b, ip4(40));
    expect(tcp?.seq).toBe(4294967294);
    expect(tcp?.ack).toBe(2147483649);
    expect(tcp?.flags).toBe(0x1d2);
    expect(tcp?.checksumStatus).toBe("bad");
  });

  it("recognises the offload case: the field holds the pseudo-header sum (0x14cb)", () => {
    const b = SYN.slice();
    b[16] = 0x14;
    b[17] = 0xcb;
    expect(decode(b, ip4(40)).tcp).toMatchObject({ checksumValid: null, checksumStatus: "partial" });
  });

  it("hands data on by port, then by sniffing, else as payload", () => {
    // SYN with the data "GET " appended and its data offset kept: port 80 -> http.
    const withData = Uint8Array.of(...SYN, 0x47, 0x45, 0x54, 0x20);
    const http = decode(withData, ip4(44));
    expect(http.next).toBe("http");
    expect([...http.state.rest]).toEqual([0x47, 0x45, 0x54, 0x20]);
    expect(http.tcp?.checksumStatus).toBe("bad"); // the data is not covered by 97db
    const other = withData.slice();
    other[2] = 0x1f; // destination port 0x1f91 = 8081, not in the port table
    other[3] = 0x91;
    expect(decode(other, ip4(44)).next).toBe("http"); // sniffed from "GET "
    other[40] = 0x58; // "XET "
    expect(decode(other, ip4(44)).next).toBe("payload");
  });
});

describe("tcp options", () => {
  function parse(bytes: number[]) {
    const out: TcpOption[] = [];
    const problem = parseTcpOptions(Uint8Array.from(bytes), 0, bytes.length, out);
    return { out, problem };
  }

  it("reads SACK blocks, unknown kinds raw, and stops at EOL", () => {
    const { out, problem } = parse([
      0x05, 0x12, // SACK, 2 + 2*8 = 18 bytes
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, // block 1..5
      0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff, 0xff, // block 4294967280..4294967295
      0x1e, 0x04, 0x10, 0x01, // kind 30 (MPTCP), 2 data bytes
      0x00, // EOL
      0x02, 0x00, // after EOL: padding, never read (a zero length here would be an error)
    ]);
    expect(problem).toBeNull();
    expect(out).toEqual([
      { kind: "sack", blocks: [{ left: 1, right: 5 }, { left: 4294967280, right: 4294967295 }] },
      { kind: "unknown", code: 30, data: Uint8Array.of(0x10, 0x01) },
      { kind: "eol" },
    ]);
  });

  it("zero and one length options stop the walk and keep what was read", () => {
    expect(parse([0x01, 0x02, 0x04, 0x05, 0xb4, 0x08, 0x00, 0x00])).toEqual({
      out: [{ kind: "nop" }, { kind: "mss", mss: 1460 }],
      problem: "option kind 8 has length 0",
    });
    expect(parse([0x1e, 0x01, 0x01, 0x01]).problem).toBe("option kind 30 has length 1");
  });

  it("an option past the end, or without its length byte, is reported", () => {
    expect(parse([0x01, 0x08, 0x0a, 0x00, 0x00])).toEqual({
      out: [{ kind: "nop" }],
      problem: "option kind 8 length 10 exceeds the 4 bytes left in the header",
    });
    expect(parse([0x01, 0x01, 0x01, 0x02]).problem).toBe("option kind 2 at offset 3 has no length byte");
  });

  it("a known kind with the wrong length is kept raw, reported, and the walk goes on", () => {
    expect(parse([0x02, 0x03, 0x05, 0x03, 0x03, 0x07])).toEqual({
      out: [{ kind: "unknown", code: 2, data: Uint8Array.of(0x05) }, { kind: "windowScale", shift: 7 }],
      problem: "option kind 2 has length 3",
    });
    expect(parse([0x05, 0x02]).problem).toBe("option kind 5 has length 2"); // SACK without blocks
  });

  it("writes every kind back as it was read", () => {
    const options: TcpOption[] = [
      ...SYN_OPTIONS,
      { kind: "sack", blocks: [{ left: 0xdeadbeef, right: 0xfeedface }] },
      { kind: "unknown", code: 30, data: Uint8Array.of(0x10, 0x01) },
      { kind: "eol" },
    ];
    const bytes = new Uint8Array(tcpOptionsLength(options)).fill(0xa5);
    expect(bytes.length).toBe(20 + 10 + 4 + 1);
    expect(writeTcpOptions(options, bytes, 0)).toBe(35);
    expect([...bytes.subarray(0, 20)]).toEqual([...SYN.subarray(20)]);
    expect([...bytes.subarray(20)]).toEqual([0x05, 0x0a, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed, 0xfa, 0xce, 0x1e, 0x04, 0x10, 0x01, 0x00]);
  });
});

describe("tcp hostile headers", () => {
  it("a bad option is an Issue, but the header and the payload still decode", () => {
    // 24-byte header: options NOP, then kind 8 with length 0, then 2 bytes; data "GET ".
    const b = Uint8Array.of(...SYN.subarray(0, 20), 0x01, 0x08, 0x00, 0x00, 0x47, 0x45, 0x54, 0x20);
    b[12] = 0x60;
    const { next, state, tcp } = decode(b, ip4(28));
    expect(tcp?.options).toEqual([{ kind: "nop" }]);
    expect(tcp?.headerLength).toBe(24);
    expect(state.issues).toEqual([{ layer: "tcp", kind: "malformed", reason: "option kind 8 has length 0" }]);
    expect(next).toBe("http");
    expect(state.rest.length).toBe(4);
  });

  it("a data offset below 5 is malformed", () => {
    const b = SYN.slice();
    b[12] = 0x40;
    const { next, state, tcp } = decode(b, ip4(40));
    expect(next).toBeNull();
    expect(tcp?.headerLength).toBe(16);
    expect(state.issues).toEqual([{ layer: "tcp", kind: "malformed", reason: "data offset 4 is less than 5" }]);
  });

  it("a data offset past the bytes: truncated when the capture was cut, malformed otherwise", () => {
    const cut = SYN.subarray(0, 30);
    const t = decode(cut, ip4(40, false));
    expect(t.state.issues).toEqual([{ layer: "tcp", kind: "truncated", reason: "header length 40 exceeds 30 bytes" }]);
    expect(t.tcp?.options).toEqual([{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }]);
    expect(t.tcp?.checksumStatus).toBe("unverified");
    const lying = SYN.slice();
    lying[12] = 0xf0; // 60 bytes claimed, 40 there, and IP says 40 is all
    expect(decode(lying, ip4(40)).state.issues).toEqual([{ layer: "tcp", kind: "malformed", reason: "header length 60 exceeds 40 bytes" }]);
  });

  it("fewer than 20 bytes reports nothing but the Issue", () => {
    const { state } = decode(SYN.subarray(0, 19), null);
    expect(state.layers).toEqual([]);
    expect(state.issues).toEqual([{ layer: "tcp", kind: "truncated", reason: "header needs 20 bytes, have 19" }]);
  });
});

describe("tcp encode", () => {
  const ctx: EncodeContext = { inner: undefined, outer: undefined, ip: { version: 4, src: A4, dst: B4 } };

  function build(value: TcpInput, payload: number[] = [], c: EncodeContext = ctx): Uint8Array {
    const header = tcpCodec.headerLength(value, c);
    const out = new Uint8Array(header + payload.length).fill(0xa5);
    out.set(payload, header);
    tcpCodec.write(value, out, c);
    return out;
  }

  it("builds the hand-made SYN byte for byte (SYN is the default flag)", () => {
    const value: TcpInput = { layer: "tcp", srcPort: 40000, dstPort: 80, seq: 0x01020304, window: 64240, options: SYN_OPTIONS };
    expect(tcpCodec.headerLength(value, ctx)).toBe(40);
    expect([...build(value)]).toEqual([...SYN]);
  });

  it("pads options with EOL to a 4-byte boundary and derives the data offset", () => {
    // MSS (4) + window scale (3) = 7 -> one zero byte -> 28-byte header, offset 7 -> 0x70
    const out = build({ layer: "tcp", options: [{ kind: "mss", mss: 1460 }, { kind: "windowScale", shift: 7 }], checksum: 0 });
    expect(out.length).toBe(28);
    expect(out[12]).toBe(0x70);
    expect([...out.subarray(20)]).toEqual([0x02, 0x04, 0x05, 0xb4, 0x03, 0x03, 0x07, 0x00]);
  });

  it("defaults: ports 20 -> 80, seq/ack 0, SYN, window 65535, checksum 0 without IP", () => {
    const out = build({ layer: "tcp" }, [], { inner: undefined, outer: undefined, ip: undefined });
    // 0014 0050 | 00000000 | 00000000 | 50 02 ffff | 0000 0000
    expect([...out]).toEqual([0, 0x14, 0, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    // The destination port follows the inner layer: dns -> 53.
    const dns = build({ layer: "tcp" }, [], encodeContext({ inner: { layer: "dns" } }));
    expect([dns[2], dns[3]]).toEqual([0, 53]);
  });

  it("writes explicit fields as given: a lying data offset, all flag bits, a wrong checksum", () => {
    const out = build({ layer: "tcp", headerLength: 60, flags: 0x1ff, checksum: 0xbeef, urgentPointer: 7 });
    expect(out.length).toBe(20); // the header written is still 20 bytes
    expect([out[12], out[13], out[16], out[17], out[18], out[19]]).toEqual([0xf1, 0xff, 0xbe, 0xef, 0x00, 0x07]);
  });

  it("fills a checksum that the decoder finds good, data included", () => {
    const out = build({ layer: "tcp", flags: TCP_FLAGS.ACK | TCP_FLAGS.PSH }, [1, 2, 3]);
    expect(decode(out, ip4(23)).tcp?.checksumStatus).toBe("good");
  });
});

describe("TcpView", () => {
  it("reads every field at its offset", () => {
    const v = new TcpView(SYN);
    expect(v.check()).toBeNull();
    expect([v.srcPort, v.dstPort, v.seq, v.ack, v.headerLength, v.flags, v.window, v.checksum, v.urgentPointer]).toEqual([
      40000, 80, 0x01020304, 0, 40, 2, 64240, 0x97db, 0,
    ]);
    expect([...v.optionBytes]).toEqual([...SYN.subarray(20)]);
    expect(v.payload.length).toBe(0);
    expect(v.verifyChecksum(A4, B4)).toBe(true);
    expect(new TcpView(SYN.subarray(0, 39)).check()).toBe("header length 40 exceeds 39 bytes");
    expect(new TcpView(SYN.subarray(0, 10)).check()).toBe("header needs 20 bytes, have 10");
  });

  it("setters write exactly their bytes (buffer pre-filled with 0xa5)", () => {
    const b = new Uint8Array(40).fill(0xa5);
    const v = new TcpView(b);
    v.srcPort = 40000;
    v.dstPort = 80;
    v.seq = 0x01020304;
    v.ack = 0;
    b[12] = 0;
    v.headerLength = 40;
    v.flags = TCP_FLAGS.SYN;
    v.window = 64240;
    v.urgentPointer = 0;
    b.set(SYN.subarray(20), 20);
    v.fillChecksum(A4, B4);
    expect([...b]).toEqual([...SYN]);
    // Each setter leaves the other half of byte 12 alone.
    v.flags = 0x1ff;
    expect(b[12]).toBe(0xa1);
    v.headerLength = 20;
    expect(b[12]).toBe(0x51);
  });
});

// ---------------------------------------------------------------------------
// Differential against tshark: real traffic between two network namespaces
// (TCP handshakes and data over IPv4 and IPv6, UDP to a closed port and the
// ICMP/ICMPv6 errors it draws, ping and ping -6 with neighbor discovery),
// captured with tcpdump; every field below must equal tshark's for every packet,
// quoted layers inside ICMP errors included (tshark lists them as further
// occurrences).

const SERVER =
  "import socket,sys\n" +
  "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n" +
  "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind((sys.argv[1],8080))\ns.listen(1)\nprint('ready',flush=True)\n" +
  "c,_=s.accept()\nc.recv(100)\nc.sendall(b'pong')\nc.close()\n";
const CLIENT =
  "import socket,sys\n" +
  "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n" +
  "s.connect((sys.argv[1],8080))\ns.sendall(b'ping')\ns.recv(100)\ns.close()\n" +
  "u=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,socket.SOCK_DGRAM)\nu.sendto(b'closed port',(sys.argv[1],9))\n";

/** tshark field → how to read it from our layers (one string per occurrence, top level then quoted). */
type Row = Record<string, string[]>;

const STATUS: Record<string, string> = { good: "1", bad: "0" };
const hex4 = (n: number): string => "0x" + n.toString(16).padStart(4, "0");

function ourRow(layers: readonly LayerBase[]): Row {
  const row: Row = {};
  const add = (k: string, v: string | number | undefined): void => {
    if (v === undefined) return;
    (row[k] ??= []).push(String(v));
  };
  const walk = (list: readonly LayerBase[]): void => {
    for (const l of list) {
      if (l.layer === "tcp") {
        const t = l as Tcp;
        add("tcp.srcport", t.srcPort);
        add("tcp.dstport", t.dstPort);
        add("tcp.seq_raw", t.seq);
        add("tcp.ack_raw", t.ack);
        add("tcp.hdr_len", t.headerLength);
        add("tcp.flags", hex4(t.flags));
        add("tcp.window_size_value", t.window);
        add("tcp.checksum", hex4(t.checksum));
        add("tcp.checksum.status", STATUS[t.checksumStatus] ?? "2");
        add("tcp.urgent_pointer", t.urgentPointer);
        for (const o of t.options) {
          if (o.kind === "mss") add("tcp.options.mss_val", o.mss);
          if (o.kind === "windowScale") add("tcp.options.wscale.shift", o.shift);
          if (o.kind === "timestamps") {
            add("tcp.options.timestamp.tsval", o.tsval);
            add("tcp.options.timestamp.tsecr", o.tsecr);
          }
        }
      } else if (l.layer === "udp") {
        const u = l as Udp;
        add("udp.srcport", u.srcPort);
        add("udp.dstport", u.dstPort);
        add("udp.length", u.length);
        add("udp.checksum", hex4(u.checksum));
        add("udp.checksum.status", STATUS[u.checksumStatus] ?? "2");
      } else if (l.layer === "icmp") {
        const i = l as Icmp;
        add("icmp.type", i.type);
        add("icmp.code", i.code);
        add("icmp.checksum", hex4(i.checksum));
        add("icmp.checksum.status", STATUS[i.checksumStatus] ?? "2");
        add("icmp.ident", i.identifier);
        add("icmp.seq", i.sequence);
        if (i.quoted) walk(i.quoted.layers);
      } else if (l.layer === "icmpv6") {
        const i = l as Icmpv6;
        add("icmpv6.type", i.type);
        add("icmpv6.code", i.code);
        add("icmpv6.checksum", hex4(i.checksum));
        add("icmpv6.checksum.status", STATUS[i.checksumStatus] ?? "2");
        add("icmpv6.echo.identifier", i.identifier === undefined ? undefined : hex4(i.identifier));
        add("icmpv6.echo.sequence_number", i.sequence);
        if (i.type === 135) add("icmpv6.nd.ns.target_address", i.targetAddress);
        if (i.type === 136) add("icmpv6.nd.na.target_address", i.targetAddress);
        for (const o of i.options ?? []) {
          if (o.kind === "sourceLinkLayerAddress") add("icmpv6.opt.src_linkaddr", o.address);
          if (o.kind === "targetLinkLayerAddress") add("icmpv6.opt.target_linkaddr", o.address);
        }
        if (i.quoted) walk(i.quoted.layers);
      }
    }
  };
  walk(layers);
  return row;
}

const FIELDS = [
  "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags", "tcp.window_size_value",
  "tcp.checksum", "tcp.checksum.status", "tcp.urgent_pointer", "tcp.options.mss_val", "tcp.options.wscale.shift",
  "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
  "udp.srcport", "udp.dstport", "udp.length", "udp.checksum", "udp.checksum.status",
  "icmp.type", "icmp.code", "icmp.checksum", "icmp.checksum.status", "icmp.ident", "icmp.seq",
  "icmpv6.type", "icmpv6.code", "icmpv6.checksum", "icmpv6.checksum.status", "icmpv6.echo.identifier",
  "icmpv6.echo.sequence_number", "icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address",
  "icmpv6.opt.src_linkaddr", "icmpv6.opt.target_linkaddr",
];

const diffSkip = labSkipReason ?? (hasCommand("tcpdump") && hasCommand("tshark") ? null : "needs tcpdump and tshark");

describe.skipIf(diffSkip !== null)("transport fields against tshark on lab traffic", () => {
  let lab: Lab;
  const dir = mkdtempSync(join(tmpdir(), "stackts-tcp-"));
  beforeAll(async () => {
    lab = makeLab({ ipv6: true });
    await sleep(300);
  });
  afterAll(() => {
    lab?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it("agrees on every packet", async () => {
    const file = join(dir, "lab.pcap");
    // --immediate-mode: without it the last frames wait in a TPACKET_V3 block and are lost on SIGINT.
    const dump = lab.b.spawn(["tcpdump", "-i", lab.b.iface, "-n", "-U", "--immediate-mode", "-w", file]);
    let err = "";
    await new Promise<void>((resolve) => dump.stderr!.on("data", (d: Buffer) => ((err += d.toString()), err.includes("listening on") && resolve())));
    for (const addr of [lab.b.ip4, lab.b.ip6]) {
      const server = lab.b.spawn(["python3", "-c", SERVER, addr]);
      let out = "";
      await new Promise<void>((resolve) => server.stdout!.on("data", (d: Buffer) => ((out += d.toString()), out.includes("ready") && resolve())));
      const client = await lab.a.run(["python3", "-c", CLIENT, addr], { timeoutMs: 10_000 });
      expect(client.code).toBe(0);
    }
    expect((await lab.a.run(["ping", "-c", "2", "-i", "0.2", lab.b.ip4])).code).toBe(0);
    expect((await lab.a.run(["ping", "-6", "-c", "2", "-i", "0.2", lab.b.ip6])).code).toBe(0);
    await sleep(500);
    const done = new Promise<void>((resolve) => dump.on("close", () => resolve()));
    dump.kill("SIGINT");
    await done;

    const tshark = execFileSync(
      "tshark",
      ["-n", "-r", file, "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE",
        "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,", ...FIELDS.flatMap((f) => ["-e", f])],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 },
    );
    const theirs = tshark.trimEnd().split("\n").map((line) => {
      const cells = line.split("|");
      const row: Row = {};
      FIELDS.forEach((f, k) => {
        const cell = cells[k] ?? "";
        if (cell !== "") row[f] = cell.split(",");
      });
      return row;
    });
    const reader = openCaptureFile(file);
    const frames = [...reader.frames()];
    reader.close();
    expect(frames.length).toBe(theirs.length);
    const seen = new Set<string>();
    frames.forEach((f, k) => {
      const { layers } = decodePacket(f.data, f.linkType, { length: f.length });
      for (const l of layers) seen.add(l.layer === "icmp" || l.layer === "icmpv6" ? `${l.layer}:${(l as Icmp).type}` : l.layer);
      expect({ frame: k + 1, layers: layers.map((l) => l.layer).join(" "), ...ourRow(layers) }).toEqual({ frame: k + 1, layers: layers.map((l) => l.layer).join(" "), ...theirs[k] });
    });
    // The capture holds what the test is about.
    for (const want of ["tcp", "udp", "icmp:8", "icmp:0", "icmp:3", "icmpv6:128", "icmpv6:129", "icmpv6:1", "icmpv6:135", "icmpv6:136"]) {
      expect(seen.has(want), `${want} among ${[...seen].join(" ")} in ${frames.length} frames`).toBe(true);
    }
  });
});
