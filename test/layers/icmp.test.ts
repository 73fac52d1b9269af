/**
 * ICMP (IPv4): hand-worked messages of every named type decoded field by field
 * and built back byte for byte, quoted datagrams decoded as real layers, and
 * hostile input (short messages, truncated quotes, errors inside errors), and
 * the kernel's own echo replies to requests we build.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DecodeState, EncodeContext } from "../../layers/core.ts";
import { DISPATCH } from "../../layers/registry.ts";
import { decodeAs } from "../../layers/decode.ts";
import { decodeIcmp, icmpCodec, type Icmp, type IcmpInput } from "../../layers/icmp.ts";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { Frame } from "../../src/frame.ts";
import { openCaptureFile } from "../../src/capture_file.ts";
import { hasCommand, labSkipReason, makeLab, type Host, type Lab } from "../helpers/lab.ts";

const NO_CTX: EncodeContext = { inner: undefined, outer: undefined, ip: undefined };

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Build `value` over `payload` the way the pipeline does: header into a 0xa5-filled buffer. */
function build(value: IcmpInput, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = icmpCodec.headerLength(value, NO_CTX);
  const out = new Uint8Array(header + payload.length).fill(0xa5);
  out.set(payload, header);
  icmpCodec.write(value, out, NO_CTX);
  return out;
}

/** The user-settable fields of a decoded value (drops derived and decoded-only ones). */
function asInput(icmp: Icmp): IcmpInput {
  const { checksumValid: _v, checksumStatus: _s, quoted: _q, ...rest } = icmp;
  return rest;
}

// Echo request, id 0x1234, seq 1, data "abcd".
//   0800 + 0000 + 1234 + 0001 + 6162 + 6364 = defb -> complement 2104
const ECHO = hex("0800 2104 1234 0001 6162 6364");

// The UDP datagram 10.77.0.1:40000 -> 10.77.0.2:9999 "hi" (see udp.test.ts: checksum bf84)
// in an IPv4 header: total length 30, id 1, DF, TTL 64, protocol 17.
//   4500+001e+0001+4000+4011+0a4d+0001+0a4d+0002 = d9cd -> complement 2632
const QUOTE = hex("4500 001e 0001 4000 4011 2632 0a4d 0001 0a4d 0002  9c40 270f 000a bf84 6869");

// Port unreachable quoting it whole.
//   0303 + 0000 + 0000 + quoted IPv4 header (sums to ffff with its checksum)
//   + quoted UDP 9c40+270f+000a+bf84+6869 = 1eb46
//   0303 + ffff + 1eb46 = 2ee48 -> fold ee48+2 = ee4a -> complement 11b5
const UNREACHABLE = Uint8Array.of(...hex("0303 11b5 0000 0000"), ...QUOTE);

describe("icmp decode", () => {
  it("reads an echo request and hands its data on", () => {
    const { layers, issues } = decodeAs("icmp", ECHO);
    expect(issues).toEqual([]);
    expect(layers).toEqual([
      {
        layer: "icmp",
        type: 8,
        code: 0,
        checksum: 0x2104,
        checksumValid: true,
        checksumStatus: "good",
        identifier: 0x1234,
        sequence: 1,
      },
      { layer: "payload", data: hex("6162 6364") },
    ]);
  });

  it("reports a wrong checksum as bad", () => {
    const b = ECHO.slice();
    b[8] = 0x62;
    expect(decodeAs("icmp", b).layers[0]).toMatchObject({ checksumValid: false, checksumStatus: "bad" });
  });

  it("decodes an error's quoted datagram as real IPv4 and UDP layers", () => {
    const { layers, issues } = decodeAs("icmp", UNREACHABLE);
    expect(issues).toEqual([]);
    expect(layers).toHaveLength(1);
    const icmp = layers[0] as Icmp;
    expect(icmp).toMatchObject({ type: 3, code: 3, checksum: 0x11b5, checksumValid: true });
    expect(icmp.nextHopMtu).toBeUndefined();
    expect(icmp.quoted?.issues).toEqual([]);
    expect(icmp.quoted?.layers).toMatchObject([
      { layer: "ipv4", src: "10.77.0.1", dst: "10.77.0.2", protocol: 17, totalLength: 30, checksumValid: true },
      // The quote is whole, so its checksum can be (and is, as by tshark) verified.
      { layer: "udp", srcPort: 40000, dstPort: 9999, length: 10, checksumStatus: "good" },
      { layer: "payload", data: hex("6869") },
    ]);
  });

  it("decodes inside an IPv4 datagram too", () => {
    // 10.77.0.2 -> 10.77.0.1, total length 20 + 38 = 58 (003a), id 2, TTL 64, protocol 1
    //   4500+003a+0002+0000+4001+0a4d+0002+0a4d+0001 = 99da -> complement 6625
    const datagram = Uint8Array.of(...hex("4500 003a 0002 0000 4001 6625 0a4d 0002 0a4d 0001"), ...UNREACHABLE);
    const { layers, issues } = decodeAs("ipv4", datagram);
    expect(issues).toEqual([]);
    expect(layers.map((l) => l.layer)).toEqual(["ipv4", "icmp"]);
    expect(layers[1]).toMatchObject({ type: 3, code: 3, checksumStatus: "good" });
  });

  it("reads the fields of every other named type", () => {
    const cases: [string, Partial<Icmp>][] = [
      // 0d00 + 0007 + 0001 + 03e8 = 10f0 -> ef0f
      ["0d00 ef0f 0007 0001 0000 03e8 0000 0000 0000 0000", { type: 13, identifier: 7, sequence: 1, originate: 1000, receive: 0, transmit: 0 }],
      // 0304 + 05dc = 08e0 -> f71f
      ["0304 f71f 0000 05dc", { type: 3, code: 4, nextHopMtu: 1500 }],
      // 0501 + 0a4d + 00fe = 104c -> efb3
      ["0501 efb3 0a4d 00fe", { type: 5, code: 1, gateway: "10.77.0.254" }],
      // 0c00 + 1400 = 2000 -> dfff
      ["0c00 dfff 1400 0000", { type: 12, pointer: 20 }],
      // 1200 + 0001 + 0002 + ffff + ff00 = 21102 -> 1102+2 = 1104 -> eefb
      ["1200 eefb 0001 0002 ffff ff00", { type: 18, identifier: 1, sequence: 2, addressMask: "255.255.255.0" }],
      // unknown type 42: 2a01 + dead + beef = 1c79d -> c79d+1 = c79e -> 3861
      ["2a01 3861 dead beef", { type: 42, code: 1, restOfHeader: 0xdeadbeef }],
    ];
    for (const [bytes, fields] of cases) {
      const b = hex(bytes);
      const { layers, issues } = decodeAs("icmp", b);
      expect(issues).toEqual([]);
      expect(layers).toHaveLength(1);
      expect(layers[0]).toMatchObject({ ...fields, checksumValid: true });
      // Built back from the decoded fields, checksum recomputed: the same bytes.
      const { checksum: _c, ...input } = asInput(layers[0] as Icmp);
      expect([...build(input)]).toEqual([...b]);
    }
  });
});

describe("icmp hostile input", () => {
  it("fewer than 4 bytes or a short fixed part: an Issue, and the stream goes on", () => {
    expect(decodeAs("icmp", hex("0800 21")).issues).toEqual([{ layer: "icmp", kind: "truncated", reason: "header needs 4 bytes, have 3" }]);
    const short = decodeAs("icmp", hex("0d00 ef0f 0007 0001 0000 03e8"));
    expect(short.issues).toEqual([{ layer: "icmp", kind: "truncated", reason: "type 13 needs 20 bytes, have 12" }]);
    expect(short.layers[0]).toMatchObject({ type: 13 });
  });

  it("a truncated quote (IP header + 8 bytes, RFC 792) marks the quoted layers, not the ICMP message", () => {
    const msg = UNREACHABLE.subarray(0, 8 + 28);
    const { layers, issues } = decodeAs("icmp", msg);
    expect(issues).toEqual([]);
    const icmp = layers[0] as Icmp;
    expect(icmp.checksumStatus).toBe("bad"); // it covered the 2 bytes now missing
    expect(icmp.quoted?.layers).toMatchObject([{ layer: "ipv4", totalLength: 30 }, { layer: "udp", length: 10, checksumStatus: "unverified" }]);
    expect(icmp.quoted?.issues.some((i) => i.layer === "udp" && i.kind === "truncated")).toBe(true);
  });

  it("an error quoting an error: the inner quote stays raw (bounded depth)", () => {
    // Inner: the port unreachable above, from 10.77.0.2 to 10.77.0.1 (outer IPv4, checksum 6625).
    const inner = Uint8Array.of(...hex("4500 003a 0002 0000 4001 6625 0a4d 0002 0a4d 0001"), ...UNREACHABLE);
    const outer = Uint8Array.of(...hex("0b00 0000 0000 0000"), ...inner); // time exceeded, checksum left 0
    const { layers } = decodeAs("icmp", outer);
    const icmp = layers[0] as Icmp;
    expect(icmp.checksumStatus).toBe("bad");
    const quoted = icmp.quoted?.layers ?? [];
    expect(quoted.map((l) => l.layer)).toEqual(["ipv4", "icmp", "payload"]);
    expect((quoted[1] as Icmp).quoted).toBeUndefined();
  });

  it("a message cut by the capture is not verified", () => {
    const state: DecodeState = {
      dispatch: DISPATCH,
      layers: [],
      issues: [],
      offset: 0,
      end: ECHO.length,
      ip: { version: 4, src: new Uint8Array(4), dst: new Uint8Array(4), upperLength: 100, complete: false, laterFragment: false },
      depth: 0,
      options: {},
      nest: () => ({ layers: [], issues: [] }),
    };
    decodeIcmp(ECHO, state);
    expect(state.layers[0]).toMatchObject({ checksumValid: null, checksumStatus: "unverified" });
  });
});

describe("icmp encode", () => {
  it("builds the echo request byte for byte (type 8 is the default)", () => {
    expect([...build({ layer: "icmp", identifier: 0x1234, sequence: 1 }, hex("6162 6364"))]).toEqual([...ECHO]);
  });

  it("builds an error over its quote, checksum covering the quote", () => {
    expect([...build({ layer: "icmp", type: 3, code: 3 }, QUOTE)]).toEqual([...UNREACHABLE]);
  });

  it("writes explicit fields as given: a wrong checksum, raw bytes 4-7", () => {
    expect([...build({ layer: "icmp", type: 0, checksum: 0xdead, restOfHeader: 0x01020304 })]).toEqual([0, 0, 0xde, 0xad, 1, 2, 3, 4]);
  });
});

// ---------------------------------------------------------------------------
// The kernel as the oracle: an echo request built by the pipeline, injected
// from host a (python3, AF_PACKET), answered by host b's kernel; the reply is
// captured with tcpdump and decoded by us. A wrong checksum gets no answer and
// is counted.

const INJECT = "import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\ns.send(bytes.fromhex(sys.argv[2]))\n";

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function inject(host: Host, frame: Uint8Array): Promise<void> {
  const r = await host.run(["python3", "-c", INJECT, host.iface, toHex(frame)]);
  if (r.code !== 0) throw new Error(`inject failed: ${r.stderr}`);
}

/** Run tcpdump on `host` with `filter` while `act` runs; the frames it saw (waits up to `ms` for `count`). */
async function captureWhile(host: Host, filter: string, count: number, ms: number, act: () => Promise<void>): Promise<Frame[]> {
  const dir = mkdtempSync(join(tmpdir(), "stackts-cap-"));
  const file = join(dir, "cap.pcap");
  try {
    const child = host.spawn(["tcpdump", "-i", host.iface, "-n", "-U", "--immediate-mode", "-c", String(count), "-w", file, filter]);
    let err = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => ((err += d.toString()), err.includes("listening on") && resolve()));
      child.on("close", () => reject(new Error(`tcpdump exited: ${err}`)));
    });
    const done = new Promise<void>((resolve) => child.on("close", () => resolve()));
    await act();
    const timer = setTimeout(() => child.kill("SIGINT"), ms);
    await done;
    clearTimeout(timer);
    const reader = openCaptureFile(file);
    const frames = [...reader.frames()];
    reader.close();
    return frames;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One counter from /proc/net/snmp ("Icmp", "InCsumErrors") or /proc/net/snmp6 ("Icmp6InCsumErrors") inside `host`. */
async function snmpCounter(host: Host, group: string, name: string): Promise<number> {
  if (group === "") {
    const text = (await host.run(["cat", "/proc/net/snmp6"])).stdout;
    return Number(new RegExp(`^${name}\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
  }
  const lines = (await host.run(["cat", "/proc/net/snmp"])).stdout.split("\n").filter((l) => l.startsWith(`${group}:`));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf(name)]);
}

const kernelSkip = labSkipReason ?? (hasCommand("tcpdump") ? null : "needs tcpdump");

describe.skipIf(kernelSkip !== null)("icmp against the kernel", () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab();
  });
  afterAll(() => lab?.down());

  function echo(checksum?: number): Uint8Array {
    return encodePacket([
      { layer: "ethernet", src: lab.a.mac, dst: lab.b.mac },
      { layer: "ipv4", src: lab.a.ip4, dst: lab.b.ip4 },
      checksum === undefined ? { layer: "icmp", identifier: 0x4242, sequence: 7 } : { layer: "icmp", identifier: 0x4242, sequence: 7, checksum },
      { layer: "payload", data: new TextEncoder().encode("stackts echo") },
    ]);
  }

  it("answers our echo request; we decode its reply", async () => {
    const frames = await captureWhile(lab.a, "icmp[icmptype] == 0", 1, 3000, () => inject(lab.a, echo()));
    expect(frames).toHaveLength(1);
    const { layers, issues } = decodePacket(frames[0]!.data, frames[0]!.linkType, { length: frames[0]!.length });
    expect(issues).toEqual([]);
    expect(layers.map((l) => l.layer)).toEqual(["ethernet", "ipv4", "icmp", "payload"]);
    expect(layers[2]).toMatchObject({ type: 0, code: 0, identifier: 0x4242, sequence: 7, checksumValid: true });
    expect(new TextDecoder().decode((layers[3] as { data: Uint8Array }).data)).toBe("stackts echo");
  });

  it("ignores and counts an echo request with a wrong checksum", async () => {
    const good = echo();
    const right = (good[14 + 20 + 2]! << 8) | good[14 + 20 + 3]!;
    const before = await snmpCounter(lab.b, "Icmp", "InCsumErrors");
    const frames = await captureWhile(lab.a, "icmp[icmptype] == 0", 1, 1500, () => inject(lab.a, echo(right ^ 0x0100)));
    expect(frames).toHaveLength(0);
    expect((await snmpCounter(lab.b, "Icmp", "InCsumErrors")) - before).toBe(1);
  });
});
