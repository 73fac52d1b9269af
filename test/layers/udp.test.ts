/**
 * UDP: hand-worked bytes decoded field by field and built back byte for byte,
 * checksum cases (good, bad, none, partial, RFC 768's 0 → 0xffff), hostile
 * lengths, and the zero-copy view. Then the kernel as the oracle: datagrams
 * built by the pipeline are accepted, a wrong checksum is dropped and counted.
 */
import { newState, type TestState } from "../helpers/decode_state.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DecodeOptions, EncodeContext, IpContext } from "../../layers/core.ts";
import { decodeUdp, udpCodec, UDP_FIELD, UdpView, type Udp } from "../../layers/udp.ts";
import { encodeContext, encodePacket } from "../../layers/encode.ts";
import { labSkipReason, makeLab, sleep, type Host, type Lab } from "../helpers/lab.ts";

const A4 = Uint8Array.of(10, 77, 0, 1);
const B4 = Uint8Array.of(10, 77, 0, 2);
const A6 = Uint8Array.of(0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const B6 = Uint8Array.of(0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

function ip4(upperLength: number, complete = true): IpContext {
  return { version: 4, src: A4, dst: B4, upperLength, complete, laterFragment: false };
}


// 10.77.0.1:40000 -> 10.77.0.2:9999, data "hi".
//   header words: 9c40 (40000) 270f (9999) 000a (length 8 + 2) cksum
//   pseudo-header: 0a4d+0001 + 0a4d+0002 + 0011 (proto 17) + 000a (length) = 14b8
//   header + data: 9c40+270f+000a+6869 ("hi") = 12bc2
//   14b8 + 12bc2 = 1407a -> fold 407a+1 = 407b -> complement bf84
const DATAGRAM = Uint8Array.of(0x9c, 0x40, 0x27, 0x0f, 0x00, 0x0a, 0xbf, 0x84, 0x68, 0x69);

function decode(bytes: Uint8Array, ip: IpContext | null, options: DecodeOptions = {}) {
  const state = newState(bytes, ip, options);
  const next = decodeUdp(bytes, state);
  return { next, state, udp: state.layers[0] as Udp | undefined };
}

describe("udp decode", () => {
  it("reads every field of a hand-made datagram and verifies its checksum", () => {
    const { next, state, udp } = decode(DATAGRAM, ip4(10));
    expect(udp).toEqual({
      layer: "udp",
      srcPort: 40000,
      dstPort: 9999,
      length: 10,
      checksum: 0xbf84,
      checksumValid: true,
      checksumStatus: "good",
    });
    expect(state.issues).toEqual([]);
    expect([...state.rest]).toEqual([0x68, 0x69]);
    // The payload is a range of the frame (the pipeline makes the one view of it), not a copy.
    expect([state.offset, state.end]).toEqual([8, 10]);
    expect(state.rest.buffer).toBe(DATAGRAM.buffer);
    expect(next).toBe("payload");
  });

  it("reports a wrong checksum as bad", () => {
    const b = DATAGRAM.slice();
    b[9] = 0x6a; // "hj" instead of "hi"
    expect(decode(b, ip4(10)).udp).toMatchObject({ checksumValid: false, checksumStatus: "bad" });
  });

  it("reports checksum 0 over IPv4 as none (RFC 768) and over IPv6 as bad (RFC 8200 §8.1)", () => {
    const b = DATAGRAM.slice();
    b[6] = 0;
    b[7] = 0;
    expect(decode(b, ip4(10)).udp).toMatchObject({ checksum: 0, checksumValid: null, checksumStatus: "none" });
    const ip6: IpContext = { version: 6, src: A6, dst: B6, upperLength: 10, complete: true, laterFragment: false };
    expect(decode(b, ip6).udp).toMatchObject({ checksumValid: false, checksumStatus: "bad" });
  });

  it("recognises the offload case: the field holds the pseudo-header sum (0x14b8)", () => {
    const b = DATAGRAM.slice();
    b[6] = 0x14;
    b[7] = 0xb8;
    expect(decode(b, ip4(10)).udp).toMatchObject({ checksumValid: null, checksumStatus: "partial" });
  });

  it("does not verify when told not to, or without an IP layer", () => {
    expect(decode(DATAGRAM, ip4(10), { verifyChecksums: false }).udp?.checksumStatus).toBe("unverified");
    expect(decode(DATAGRAM, null).udp?.checksumStatus).toBe("unverified");
  });

  it("drops link padding: payload is exactly length - 8 and the checksum covers only the datagram", () => {
    const padded = Uint8Array.of(...DATAGRAM, 0x00, 0x00);
    const { state, udp } = decode(padded, ip4(12));
    expect([...state.rest]).toEqual([0x68, 0x69]);
    expect(udp?.checksumStatus).toBe("good");
  });

  it("asks udpHint first, then the port table, and stops on an empty payload", () => {
    const hinted = decode(DATAGRAM, ip4(10), { udpHint: (s, d) => (s === 40000 && d === 9999 ? "tftp" : undefined) });
    expect(hinted.next).toBe("tftp");
    // Same datagram to port 53 (0x0035): the checksum is not what matters here.
    const dns = DATAGRAM.slice();
    dns[2] = 0x00;
    dns[3] = 0x35;
    expect(decode(dns, ip4(10)).next).toBe("dns");
    // Header only: length 8.
    const empty = Uint8Array.of(0x9c, 0x40, 0x27, 0x0f, 0x00, 0x08, 0x00, 0x00);
    const e = decode(empty, ip4(8));
    expect(e.next).toBeNull();
    expect(e.state.rest.length).toBe(0);
  });
});

describe("udp hostile input", () => {
  it("length field below 8 is malformed; the header is still reported", () => {
    const b = DATAGRAM.slice();
    b[5] = 7;
    const { next, state, udp } = decode(b, ip4(10));
    expect(next).toBeNull();
    expect(udp?.length).toBe(7);
    expect(state.issues).toEqual([{ layer: "udp", kind: "malformed", reason: "length field 7 is less than the 8-byte header" }]);
  });

  it("length field beyond the bytes: malformed when the IP datagram is whole", () => {
    const b = DATAGRAM.slice();
    b[5] = 200;
    const { next, state, udp } = decode(b, ip4(10));
    expect(next).toBeNull();
    expect(udp?.checksumStatus).toBe("unverified");
    expect(state.issues).toEqual([{ layer: "udp", kind: "malformed", reason: "length field 200 exceeds 10 bytes" }]);
  });

  it("length field beyond the bytes: truncated when the capture was cut", () => {
    // IP says 100 bytes follow, the capture holds 10.
    const b = DATAGRAM.slice();
    b[5] = 100;
    const { state } = decode(b, ip4(100, false));
    expect(state.issues).toEqual([{ layer: "udp", kind: "truncated", reason: "length field 100 exceeds 10 bytes" }]);
  });

  it("a first fragment is not an error: the data so far goes on raw", () => {
    // IP holds all 10 bytes it states, but more fragments follow (complete false).
    const b = DATAGRAM.slice();
    b[5] = 100;
    const { next, state, udp } = decode(b, ip4(10, false));
    expect(state.issues).toEqual([]);
    expect(udp?.checksumStatus).toBe("unverified");
    expect(next).toBe("payload");
    expect(state.rest.length).toBe(2);
  });

  it("fewer than 8 bytes: truncated without an IP layer, malformed inside a whole datagram", () => {
    const short = DATAGRAM.subarray(0, 5);
    expect(decode(short, null).state.issues).toEqual([{ layer: "udp", kind: "truncated", reason: "header needs 8 bytes, have 5" }]);
    expect(decode(short, ip4(5)).state.issues[0]?.kind).toBe("malformed");
    expect(decode(short, null).state.layers).toEqual([]);
  });
});

describe("udp encode", () => {
  const ctx4: EncodeContext = { inner: undefined, outer: undefined, ip: { version: 4, src: A4, dst: B4 } };

  function build(value: Parameters<typeof udpCodec.write>[0], payload: number[], ctx: EncodeContext = ctx4): Uint8Array {
    const header = udpCodec.headerLength(value, ctx);
    const out = new Uint8Array(header + payload.length).fill(0xa5);
    out.set(payload, header);
    udpCodec.write(value, out, ctx);
    return out;
  }

  it("builds the hand-made datagram byte for byte, filling length and checksum", () => {
    expect(udpCodec.headerLength({ layer: "udp" }, ctx4)).toBe(8);
    expect([...build({ layer: "udp", srcPort: 40000, dstPort: 9999 }, [0x68, 0x69])]).toEqual([...DATAGRAM]);
  });

  it("sends a computed checksum of 0 as 0xffff (RFC 768)", () => {
    // Everything but the data sums to 14b8 + 9c40+270f+000a = d811; data 27ee brings
    // the sum to ffff, whose complement is 0.
    const out = build({ layer: "udp", srcPort: 40000, dstPort: 9999 }, [0x27, 0xee]);
    expect([out[6], out[7]]).toEqual([0xff, 0xff]);
    expect(decode(out, ip4(10)).udp?.checksumStatus).toBe("good");
  });

  it("writes explicit fields as given, even a lying length and a wrong checksum", () => {
    const out = build({ layer: "udp", srcPort: 1, dstPort: 2, length: 300, checksum: 0xdead }, [0x68]);
    expect([...out]).toEqual([0x00, 0x01, 0x00, 0x02, 0x01, 0x2c, 0xde, 0xad, 0x68]);
  });

  it("defaults: ports 53, destination from the inner layer, checksum 0 without an IP layer", () => {
    const noIp: EncodeContext = encodeContext({ inner: { layer: "tftp" } });
    // 0035 (53) 0045 (69 for tftp) 0009 (8 + 1) 0000
    expect([...build({ layer: "udp" }, [0x01], noIp)]).toEqual([0x00, 0x35, 0x00, 0x45, 0x00, 0x09, 0x00, 0x00, 0x01]);
  });

  it("computes the IPv6 pseudo-header checksum", () => {
    // fd77::1 -> fd77::2, ports 40000 -> 9999, data "hi", length 10.
    //   pseudo: fd77+0001 + fd77+0002 + 0000+000a (length) + 0011 = 1fb0c
    //   header + data: 12bc2 (as for IPv4)
    //   1fb0c + 12bc2 = 326ce -> fold 26ce+3 = 26d1 -> complement d92e
    const ctx6: EncodeContext = { inner: undefined, outer: undefined, ip: { version: 6, src: A6, dst: B6 } };
    const out = build({ layer: "udp", srcPort: 40000, dstPort: 9999 }, [0x68, 0x69], ctx6);
    expect([out[6], out[7]]).toEqual([0xd9, 0x2e]);
  });
});

describe("UdpView", () => {
  it("reads every field at its offset and checks the length", () => {
    const v = new UdpView(DATAGRAM);
    expect(v.check()).toBeNull();
    expect([v.srcPort, v.dstPort, v.length, v.checksum]).toEqual([40000, 9999, 10, 0xbf84]);
    expect([...v.payload]).toEqual([0x68, 0x69]);
    expect(v.verifyChecksum(A4, B4)).toBe(true);
    expect(v.verifyChecksum(A4, A4)).toBe(false);
    expect(new UdpView(DATAGRAM.subarray(0, 7)).check()).toBe("header needs 8 bytes, have 7");
    expect(new UdpView(Uint8Array.of(0, 0, 0, 0, 0, 4, 0, 0)).check()).toBe("length field 4 is less than the 8-byte header");
    expect(new UdpView(Uint8Array.of(0, 0, 0, 0, 0, 9, 0, 0)).check()).toBe("length field 9 exceeds 8 bytes");
  });

  it("setters write exactly their bytes (buffer pre-filled with 0xa5)", () => {
    const b = new Uint8Array(12).fill(0xa5);
    const v = new UdpView(b);
    v.srcPort = 40000;
    v.dstPort = 9999;
    v.length = 10;
    b.set([0x68, 0x69], 8);
    v.fillChecksum(A4, B4);
    expect([...b]).toEqual([...DATAGRAM, 0xa5, 0xa5]);
    // reset() reuses the view on other bytes.
    expect(v.reset(Uint8Array.of(0, 7, 0, 9, 0, 8, 0, 0), 0, 8).dstPort).toBe(9);
  });

  it("each accessor uses its UDP_FIELD offset, for a header inside a larger buffer", () => {
    const fields = [["srcPort", UDP_FIELD.SRC_PORT], ["dstPort", UDP_FIELD.DST_PORT], ["length", UDP_FIELD.LENGTH], ["checksum", UDP_FIELD.CHECKSUM]] as const;
    for (const [name, offset] of fields) {
      const b = new Uint8Array(20).fill(0xa5);
      const v = new UdpView(b, 5, 20);
      v[name] = 0x1234;
      const want = new Uint8Array(20).fill(0xa5);
      want.set([0x12, 0x34], 5 + offset);
      expect([name, ...b]).toEqual([name, ...want]);
      expect(v[name]).toBe(0x1234);
    }
  });
});

// ---------------------------------------------------------------------------
// The kernel as the oracle: datagrams built by the pipeline, injected as whole
// Ethernet frames from host a (python3, AF_PACKET), received by host b's kernel.


const INJECT = "import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\ns.send(bytes.fromhex(sys.argv[2]))\n";

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function inject(host: Host, frame: Uint8Array): Promise<void> {
  const r = await host.run(["python3", "-c", INJECT, host.iface, toHex(frame)]);
  if (r.code !== 0) throw new Error(`inject failed: ${r.stderr}`);
}

/** Udp InCsumErrors and InDatagrams from /proc/net/snmp (IPv4) or /proc/net/snmp6 (IPv6) inside `host`. */
async function udpCounters(host: Host, v6: boolean): Promise<{ inDatagrams: number; inCsumErrors: number }> {
  if (v6) {
    const text = (await host.run(["cat", "/proc/net/snmp6"])).stdout;
    const get = (k: string): number => Number(new RegExp(`^${k}\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
    return { inDatagrams: get("Udp6InDatagrams"), inCsumErrors: get("Udp6InCsumErrors") };
  }
  const lines = (await host.run(["cat", "/proc/net/snmp"])).stdout.split("\n").filter((l) => l.startsWith("Udp:"));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  const get = (k: string): number => Number(values[names.indexOf(k)]);
  return { inDatagrams: get("InDatagrams"), inCsumErrors: get("InCsumErrors") };
}

/** Listen on [addr]:port in `host` for one datagram (1.5 s); resolves with its hex, or "timeout". */
async function receiveOne(host: Host, addr: string, port: number, send: () => Promise<void>): Promise<string> {
  const script =
    "import socket,sys\n" +
    `s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,socket.SOCK_DGRAM)\n` +
    "s.bind((sys.argv[1],int(sys.argv[2])))\ns.settimeout(1.5)\nprint('ready',flush=True)\n" +
    "try:\n  d,a=s.recvfrom(4096)\n  print(d.hex(),a[1],flush=True)\nexcept socket.timeout:\n  print('timeout',flush=True)\n";
  const child = host.spawn(["python3", "-c", script, addr, String(port)]);
  let out = "";
  const ready = new Promise<void>((resolve) => child.stdout!.on("data", (d: Buffer) => ((out += d.toString()), out.includes("ready") && resolve())));
  const done = new Promise<void>((resolve) => child.on("close", () => resolve()));
  await ready;
  await send();
  await done;
  return out.replace("ready\n", "").trim();
}

const HELLO = new TextEncoder().encode("hello stackts");

for (const v6 of [false, true]) {
  describe.skipIf(labSkipReason !== null)(`udp against the kernel (${v6 ? "IPv6" : "IPv4"})`, () => {
    let lab: Lab;
    beforeAll(() => {
      lab = makeLab({ ipv6: v6 });
    });
    afterAll(() => lab?.down());

    function frame(checksum?: number): Uint8Array {
      const ip = v6
        ? ({ layer: "ipv6", src: lab.a.ip6, dst: lab.b.ip6 } as const)
        : ({ layer: "ipv4", src: lab.a.ip4, dst: lab.b.ip4 } as const);
      return encodePacket([
        { layer: "ethernet", src: lab.a.mac, dst: lab.b.mac },
        ip,
        checksum === undefined ? { layer: "udp", srcPort: 40000, dstPort: 9999 } : { layer: "udp", srcPort: 40000, dstPort: 9999, checksum },
        { layer: "payload", data: HELLO },
      ]);
    }

    it("accepts a datagram built by the pipeline and drops one with a wrong checksum", async () => {
      const addr = v6 ? lab.b.ip6 : lab.b.ip4;
      if (v6) await sleep(200); // let the address settle (nodad) before binding
      const before = await udpCounters(lab.b, v6);
      const good = frame();
      expect(await receiveOne(lab.b, addr, 9999, () => inject(lab.a, good))).toBe(`${toHex(HELLO)} 40000`);
      const mid = await udpCounters(lab.b, v6);
      expect(mid.inDatagrams - before.inDatagrams).toBe(1);
      // The same datagram with its checksum off by one: the kernel drops and counts it.
      const udpOffset = 14 + (v6 ? 40 : 20);
      const right = (good[udpOffset + 6]! << 8) | good[udpOffset + 7]!;
      const bad = frame(right === 0xffff ? 0xfffe : right + 1);
      expect(await receiveOne(lab.b, addr, 9999, () => inject(lab.a, bad))).toBe("timeout");
      const after = await udpCounters(lab.b, v6);
      expect(after.inCsumErrors - mid.inCsumErrors).toBe(1);
      expect(after.inDatagrams).toBe(mid.inDatagrams);
    });
  });
}
