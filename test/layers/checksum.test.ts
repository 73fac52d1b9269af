import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  checksumOk,
  finishChecksum,
  foldSum,
  internetChecksum,
  ipPseudoHeaderSum,
  IpHeaderContext,
  onesSum,
  prepareWords,
  pseudoHeaderSum,
  rangeView,
  transportChecksum,
  transportChecksumStatus,
} from "../../layers/checksum.ts";
import type { IpContext } from "../../layers/core.ts";
import { hasCommand, labSkipReason, makeLab, type Host, type Lab } from "../helpers/lab.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

describe("Internet checksum primitives", () => {
  it("RFC 1071 §3 example: 0001 f203 f4f5 f6f7", () => {
    const b = hex("0001f203f4f5f6f7");
    // 0x0001 + 0xf203 + 0xf4f5 + 0xf6f7 = 0x2ddf0; fold: 0xddf0 + 0x2 = 0xddf2; ~ = 0x220d
    expect(onesSum(b)).toBe(0x2ddf0);
    expect(foldSum(0x2ddf0)).toBe(0xddf2);
    expect(finishChecksum(0x2ddf0)).toBe(0x220d);
  });
  it("pads an odd final byte with zero", () => {
    // 0x0102 + 0x0300 = 0x0402
    expect(onesSum(hex("010203"))).toBe(0x0402);
    expect(onesSum(hex("ff010203ff"), 1, 4)).toBe(0x0402);
  });
  it("IPv4 header 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7", () => {
    const h = hex("450000730000400040110000c0a80001c0a800c7");
    // 4500+0073+0000+4000+4011+c0a8+0001+c0a8+00c7 = 0x2479c → 0x479e → ~ = 0xb861
    expect(internetChecksum(h)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(checksumOk(h)).toBe(true);
    h[19] = h[19]! ^ 1;
    expect(checksumOk(h)).toBe(false);
  });
  it("folds sums far beyond 32 bits", () => {
    const b = new Uint8Array(1 << 20).fill(0xff);
    // 2^19 words of 0xffff: every fold of k*0xffff is 0xffff.
    expect(foldSum(onesSum(b))).toBe(0xffff);
  });
  it("matches a naive 16-bit end-around-carry loop on random data", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        let s = 0;
        for (let i = 0; i < b.length; i += 2) {
          s += (b[i]! << 8) | (b[i + 1] ?? 0);
          s = (s & 0xffff) + (s >>> 16);
        }
        expect(foldSum(onesSum(b))).toBe(s === 0 ? 0 : ((s - 1) % 0xffff) + 1);
      }),
    );
  });
  it("sums long ranges (read as 32-bit words) at every alignment the same as the naive loop", () => {
    // Ranges of 32 bytes and more (128 on a view not summed before) take the
    // word path; its end masks and byte swap depend on where the range sits in
    // the buffer, so vary that too, use a SharedArrayBuffer as well as a plain
    // one, and buffers that end with the range (a length not a multiple of 4
    // leaves the last bytes outside every whole word).
    const naive = (b: Uint8Array, start: number, end: number): number => {
      let s = 0;
      for (let i = start; i < end; i += 2) {
        s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
        s = (s & 0xffff) + (s >>> 16);
      }
      return s;
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 700 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (data, shift, trim, shared, tight, prepared) => {
          const size = shift + data.length + (tight ? 0 : 16);
          const backing = shared ? new Uint8Array(new SharedArrayBuffer(size)) : new Uint8Array(size);
          backing.set(data, shift);
          const view = backing.subarray(shift, shift + data.length);
          if (prepared) prepareWords(view);
          const start = trim;
          const end = view.length - (tight ? 0 : trim);
          const s = naive(view, start, end);
          expect(foldSum(onesSum(view, start, end))).toBe(s === 0 ? 0 : ((s - 1) % 0xffff) + 1);
        },
      ),
    );
  });
});

describe("rangeView", () => {
  class Tagged extends Uint8Array {}
  it("is the same view as subarray, before and after the words of its bytes are prepared", () => {
    const backing = new Uint8Array(64).map((_, i) => i);
    const frame = backing.subarray(5, 50);
    for (const prepared of [false, true]) {
      if (prepared) prepareWords(frame);
      const v = rangeView(frame, 3, 11);
      expect(v.constructor).toBe(Uint8Array);
      expect(v.buffer).toBe(backing.buffer);
      expect(v.byteOffset).toBe(8);
      expect([...v]).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
      expect(rangeView(frame, 45, 45).length).toBe(0);
      // Out of range or reversed: clamped as subarray clamps, never thrown.
      expect([...rangeView(frame, 43, 99)]).toEqual([48, 49]);
      expect(rangeView(frame, 7, 3).length).toBe(0);
    }
  });
  it("keeps a subclass's class (as subarray does, e.g. Node's Buffer)", () => {
    const frame = new Tagged(32).subarray(4);
    prepareWords(frame);
    const v = rangeView(frame, 1, 3);
    expect(v).toBeInstanceOf(Tagged);
    expect(v.byteOffset).toBe(5);
    expect(v.length).toBe(2);
  });
});

// UDP 10.0.0.1:1 → 10.0.0.2:2, "hi". Pseudo-header: 0a00+0001+0a00+0002 + 0011 + 000a = 0x141e.
// Segment: 0001+0002+000a+[0000]+6869 = 0x6876; total 0x7c94; checksum ~0x7c94 = 0x836b.
const SRC = hex("0a000001");
const DST = hex("0a000002");
const ctx = (over: Partial<IpContext> = {}): IpContext => ({ version: 4, src: SRC, dst: DST, upperLength: 10, complete: true, laterFragment: false, ...over });
const udp = (checksum: number): Uint8Array => {
  const b = hex("00010002000a00006869");
  b[6] = checksum >> 8;
  b[7] = checksum & 0xff;
  return b;
};

describe("pseudo-header and transport checksum status", () => {
  it("pseudo-header sums (v4 and v6)", () => {
    expect(foldSum(pseudoHeaderSum(SRC, DST, 17, 10))).toBe(0x141e);
    // ::1 → ::2, next header 58, length 0x10008 (jumbo): 1 + 2 + 58 + 0x0008 + 0x0001 = 0x46
    const v6a = new Uint8Array(16);
    v6a[15] = 1;
    const v6b = new Uint8Array(16);
    v6b[15] = 2;
    expect(pseudoHeaderSum(v6a, v6b, 58, 0x10008)).toBe(0x46);
  });
  it("computes the checksum to write", () => {
    expect(transportChecksum(udp(0), 10, 17, SRC, DST)).toBe(0x836b);
  });
  it("classifies good, bad, partial, none, unverified", () => {
    expect(transportChecksumStatus(udp(0x836b), 6, 17, ctx())).toBe("good");
    expect(transportChecksumStatus(udp(0x836c), 6, 17, ctx())).toBe("bad");
    expect(transportChecksumStatus(udp(0x141e), 6, 17, ctx())).toBe("partial");
    expect(transportChecksumStatus(udp(0), 6, 17, ctx())).toBe("none");
    // IPv6 has no "no checksum": zero is just wrong here (RFC 8200 §8.1)
    expect(transportChecksumStatus(udp(0), 6, 17, ctx({ version: 6 }))).toBe("bad");
    expect(transportChecksumStatus(udp(0x836b), 6, 17, null)).toBe("unverified");
    expect(transportChecksumStatus(udp(0x836b), 6, 17, ctx({ complete: false }))).toBe("unverified");
    expect(transportChecksumStatus(udp(0x836b).subarray(0, 9), 6, 17, ctx())).toBe("unverified");
  });
});

/** Test-local pcap reader (classic format, either byte order). */
function readPcap(file: string): { linkType: number; frames: Uint8Array[] } {
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const frames: Uint8Array[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const caplen = v.getUint32(off + 8, le);
    frames.push(new Uint8Array(b.subarray(off + 16, off + 16 + caplen)));
    off += 16 + caplen;
  }
  return { linkType: v.getUint32(20, le), frames };
}

/** Capture on `host` with tcpdump while `action` runs. */
async function capture(host: Host, filter: string, action: () => Promise<unknown>): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "stackts-ck-")), "c.pcap");
  const td = host.spawn(["tcpdump", "--immediate-mode", "-Z", "root", "-U", "-n", "-i", host.iface, "-w", file, filter]);
  await new Promise<void>((resolve, reject) => {
    let err = "";
    td.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("listening on")) resolve();
    });
    td.on("exit", () => reject(new Error(`tcpdump exited: ${err}`)));
  });
  await action();
  // Immediate mode: frames reach tcpdump at once (without it, up to its 1 s block timeout later).
  await new Promise((r) => setTimeout(r, 300));
  const done = new Promise((r) => td.on("exit", r));
  td.kill("SIGINT");
  await done;

  return file;
}

const skip = labSkipReason ?? (hasCommand("tcpdump") && hasCommand("tshark") ? null : "needs tcpdump and tshark");
describe.skipIf(skip !== null)(`checksum offload on a real veth${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let lab: Lab | undefined;
  afterAll(() => lab?.down());

  it("a kernel-sent UDP datagram captured on the sender carries the partial sum", async () => {
    lab = makeLab({ offload: "keep" });
    const l = lab;
    const file = await capture(l.a, "udp", () => l.a.run(["bash", "-c", `echo hi > /dev/udp/${l.b.ip4}/9999`]));
    const { linkType, frames } = readPcap(file);
    expect(linkType).toBe(1);
    expect(frames.length).toBe(1);
    const f = frames[0]!;
    // Ethernet 14 + IPv4 (IHL from the header) → UDP
    const ihl = (f[14]! & 0x0f) * 4;
    const totalLength = (f[16]! << 8) | f[17]!;
    const ip: IpContext = {
      version: 4,
      src: f.subarray(26, 30),
      dst: f.subarray(30, 34),
      upperLength: totalLength - ihl,
      complete: true,
      laterFragment: false,
    };
    const seg = f.subarray(14 + ihl, 14 + totalLength);
    expect(transportChecksumStatus(seg, 6, 17, ip)).toBe("partial");
    // Oracle: tshark also finds the full checksum wrong (status 0 = Bad) and reads the same field.
    const out = execFileSync("tshark", ["-r", file, "-o", "udp.check_checksum:TRUE", "-T", "fields", "-e", "udp.checksum", "-e", "udp.checksum.status"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const [field, status] = out.split("\t");
    expect(status).toBe("0");
    expect(Number(field)).toBe((seg[6]! << 8) | seg[7]!);
    expect(Number(field)).toBe(foldSum(pseudoHeaderSum(ip.src, ip.dst, 17, ip.upperLength)));
  });
});

describe("IpHeaderContext reads the addresses at the views' offsets", () => {
  // IPv4 after 14 bytes: 10.0.0.1 → 10.0.0.2 at header offsets 12 and 16
  const v4 = hex("ee".repeat(14) + "4500 0020 0000 0000 4011 0000 0a000001 0a000002" + "00".repeat(12));
  // IPv6 after 4 bytes: fd77::1 → fd77::2 at header offsets 8 and 24
  const v6 = hex("eeeeeeee 60000000 000c 1140 fd770000000000000000000000000001 fd770000000000000000000000000002" + "00".repeat(12));

  it("IPv4: src/dst are views of the frame; the pseudo-header sum from the frame", () => {
    const ip = new IpHeaderContext(4, v4, 14, 12, true, false);
    expect(ip.src).toEqual(hex("0a000001"));
    expect(ip.dst).toEqual(hex("0a000002"));
    expect(ip.src.buffer).toBe(v4.buffer);
    // 0a00+0001+0a00+0002 = 0x1403, + protocol 17 + length 12 = 0x1420
    expect(ip.pseudoSum(17, 12)).toBe(0x1420);
    expect(ipPseudoHeaderSum(ip, 17, 12)).toBe(0x1420);
    // a plain copy keeps `bytes` and `headerOffset` only: the sum is read from the frame the same way
    expect(ipPseudoHeaderSum({ ...ip } as unknown as IpContext, 17, 12)).toBe(0x1420);
  });

  it("IPv6: 16-byte addresses at offsets 8 and 24; a length past 16 bits adds its high half", () => {
    const ip = new IpHeaderContext(6, v6, 4, 12, true, false);
    expect(ip.src).toEqual(hex("fd770000000000000000000000000001"));
    expect(ip.dst).toEqual(hex("fd770000000000000000000000000002"));
    // fd77+0001+fd77+0002 = 0x1faf1, + 17 + 12 = 0x1fb0e
    expect(ip.pseudoSum(17, 12)).toBe(0x1fb0e);
    expect(ipPseudoHeaderSum({ ...ip } as unknown as IpContext, 17, 12)).toBe(0x1fb0e);
    // length 0x10005: 0x0005 + 0x0001
    expect(ip.pseudoSum(17, 0x10005)).toBe(0x1faf1 + 17 + 5 + 1);
  });

  it("reset takes the address sum the IPv4 decoder already has; a replaced dst is summed instead", () => {
    const ip = new IpHeaderContext(6, v6, 4, 12, true, false);
    ip.reset(4, v4, 14, 12, true, false, 0x1234);
    expect(ip.pseudoSum(17, 12)).toBe(0x1234 + 17 + 12); // the given sum, not the frame's 0x1403
    expect(ip.src).toEqual(hex("0a000001"));
    ip.dst = hex("0a000009");
    // 0a00+0001 + 0a00+0009 = 0x140a, + 17 + 12
    expect(ip.pseudoSum(17, 12)).toBe(0x140a + 17 + 12);
  });
});
