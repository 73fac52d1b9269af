/**
 * Live capture and injection in a two-namespace lab, from this one process
 * (the capture and the sender open their sockets inside the namespaces with
 * the `netns` option). Oracles: ping's own counts, tcpdump's file of the same
 * traffic, the kernel's echo replies and its drop counters.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../src/frame.ts";
import { CaptureError } from "../src/errors.ts";
import { openInjector, openLive, type LiveCapture } from "../src/live.ts";
import { labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ETH = 14;

function mac(s: string): number[] {
  return s.split(":").map((h) => parseInt(h, 16));
}

function ip4(s: string): number[] {
  return s.split(".").map(Number);
}

/** RFC 1071 Internet checksum of `b` (odd length padded with a zero byte). */
function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Frames of a classic pcap file written by tcpdump (little-endian, as on this host). */
function readPcap(path: string): { data: Uint8Array; sec: number; frac: number }[] {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0, true);
  expect([0xa1b2c3d4, 0xa1b23c4d]).toContain(magic);
  const out: { data: Uint8Array; sec: number; frac: number }[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const incl = dv.getUint32(off + 8, true);
    out.push({ sec: dv.getUint32(off, true), frac: dv.getUint32(off + 4, true), data: new Uint8Array(b.subarray(off + 16, off + 16 + incl)) });
    off += 16 + incl;
  }
  return out;
}

/** Collect copied frames from `cap` until `quietMs` pass without one (or `maxMs`). */
async function collect(cap: LiveCapture, quietMs: number, maxMs = 20_000): Promise<Frame[]> {
  const frames: Frame[] = [];
  let last = Date.now();
  const stop = cap.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const start = b.offset[i]!;
      frames.push({ data: b.buffer.slice(start, start + b.caplen[i]!), length: b.length[i]!, sec: b.sec[i]!, nsec: b.nsec[i]!, linkType: b.linkType[i]!, interfaceId: b.interfaceId[i]! });
    }
    last = Date.now();
  });
  const t0 = Date.now();
  while (Date.now() - last < quietMs && Date.now() - t0 < maxMs) await sleep(20);
  stop();
  return frames;
}

const ethertype = (f: Uint8Array): number => (f[12]! << 8) | f[13]!;
const ipProto = (f: Uint8Array): number => f[ETH + 9]!;

describe.skipIf(labSkipReason !== null)(`live capture in a lab${labSkipReason ? ` (skipped: ${labSkipReason})` : ""}`, () => {
  let lab: Lab;
  let tmp: string;
  beforeAll(() => {
    lab = makeLab();
    tmp = mkdtempSync(join(tmpdir(), "stackts-live-"));
  });
  afterAll(() => {
    lab?.down();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("sees exactly the pings from b, byte for byte as tcpdump does, with ns time stamps in order", async () => {
    const cap = openLive(lab.a.iface, { netns: lab.a.ns });
    expect(cap.linkType).toBe(1);
    expect(cap.linkTypeName).toBe("EN10MB");
    expect(cap.config.precision).toBe("nano");
    expect(cap.warnings).toEqual([]);
    const pcapFile = join(tmp, "ping.pcap");
    const tcpdump = lab.a.spawn(["tcpdump", "-i", lab.a.iface, "-U", "-n", "--time-stamp-precision", "nano", "-w", pcapFile, "icmp"]);
    await new Promise<void>((resolve) => tcpdump.stderr!.on("data", (d: Buffer) => d.toString().includes("listening on") && resolve()));
    const frames: Frame[] = [];
    const it = cap[Symbol.asyncIterator]();
    const t0 = Date.now();
    const ping = await lab.b.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", lab.a.ip4]);
    expect(ping.stdout).toMatch(/5 packets transmitted, 5 received/);
    const t1 = Date.now();
    // Everything seen: 10 ICMP frames plus ARP resolution; stop when quiet.
    for (;;) {
      const r = await Promise.race([it.next(), sleep(500).then(() => null)]);
      if (r === null || r.done) break;
      frames.push(r.value);
    }
    await it.return!();
    tcpdump.kill("SIGINT");
    await new Promise((r) => tcpdump.on("close", r));
    const stats = cap.stats();
    cap.close();

    const icmp = frames.filter((f) => ethertype(f.data) === 0x0800 && ipProto(f.data) === 1);
    const other = frames.filter((f) => !(ethertype(f.data) === 0x0800 && ipProto(f.data) === 1));
    // Nothing but ICMP and ARP on this link (IPv6 is off in the lab).
    expect(other.every((f) => ethertype(f.data) === 0x0806)).toBe(true);
    expect(icmp).toHaveLength(10);
    // ICMP type bytes: request (8) from b, reply (0) from a, alternating.
    expect(icmp.map((f) => f.data[ETH + 20])).toEqual([8, 0, 8, 0, 8, 0, 8, 0, 8, 0]);
    for (const f of icmp) {
      const src = [...f.data.subarray(ETH + 12, ETH + 16)].join(".");
      expect(src).toBe(f.data[ETH + 20] === 8 ? lab.b.ip4 : lab.a.ip4);
      expect(f.length).toBe(f.data.length); // 98 bytes, well under the snaplen
      expect(f.data.length).toBe(98);
    }
    // Time stamps: in order, inside the window of the ping run, with nanosecond digits.
    const ns = frames.map((f) => BigInt(f.sec) * 1_000_000_000n + BigInt(f.nsec));
    for (let i = 1; i < ns.length; i++) expect(ns[i]! >= ns[i - 1]!).toBe(true);
    for (const f of frames) {
      expect(f.nsec).toBeLessThan(1_000_000_000);
      const ms = f.sec * 1000 + f.nsec / 1e6;
      expect(ms).toBeGreaterThanOrEqual(t0 - 50);
      expect(ms).toBeLessThanOrEqual(t1 + 50);
    }
    expect(frames.some((f) => f.nsec % 1000 !== 0)).toBe(true);
    // tcpdump on the same interface wrote the same ICMP frames, in the same order.
    const oracle = readPcap(pcapFile);
    expect(oracle.map((o) => Buffer.from(o.data).toString("hex"))).toEqual(icmp.map((f) => Buffer.from(f.data).toString("hex")));
    // Every frame the kernel accepted was delivered; none dropped.
    expect(stats.dropped).toBe(0);
    expect(stats.received).toBe(frames.length);
    expect(stats.delivered).toBe(frames.length);
  });

  it("a BPF filter keeps only what it names: ping + UDP sent, only the UDP arrives", async () => {
    const cap = openLive(lab.a.iface, { netns: lab.a.ns, filter: "udp" });
    const got = collect(cap, 800);
    const ping = await lab.b.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", lab.a.ip4]);
    expect(ping.stdout).toMatch(/3 received/);
    for (const word of ["st-one", "st-two", "st-three"]) {
      const r = await lab.b.run(["bash", "-c", `printf ${word} > /dev/udp/${lab.a.ip4}/9999`]);
      expect(r.code).toBe(0);
    }
    const frames = await got;
    cap.close();
    expect(frames.map((f) => ipProto(f.data))).toEqual([17, 17, 17]);
    // UDP payload after 20 bytes of IPv4 header and 8 of UDP.
    expect(frames.map((f) => Buffer.from(f.data.subarray(ETH + 28)).toString())).toEqual(["st-one", "st-two", "st-three"]);
    expect(frames.map((f) => (f.data[ETH + 22]! << 8) | f.data[ETH + 23]!)).toEqual([9999, 9999, 9999]);
  });

  it("an ICMP echo request built by hand and injected from a gets the kernel's echo reply", async () => {
    // Ethernet: b's MAC, a's MAC, type 0x0800.
    // IPv4 header words: 4500 0024 1234 4000 4001 [csum] 0a4d 0001 0a4d 0002
    //   sum = 4500+0024+1234+4000+4001+0a4d+0001+0a4d+0002 = 0xebf6 (no carry), csum = ~0xebf6 = 0x1409
    // ICMP: 08 00 [csum] beef 0001 "stackts!" (73 74 61 63 6b 74 73 21)
    //   sum = 0800+beef+0001+7374+6163+6b74+7321 = 0x2_7a5c -> folded 0x7a5e, csum = ~0x7a5e = 0x85a1
    // The reply only changes the type 8 -> 0, so its checksum is 0x85a1 + 0x0800 = 0x8da1 (RFC 1624).
    const payload = [...Buffer.from("stackts!")];
    const ipHeader = [0x45, 0x00, 0x00, 0x24, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0x14, 0x09, ...ip4(lab.a.ip4), ...ip4(lab.b.ip4)];
    const icmp = [0x08, 0x00, 0x85, 0xa1, 0xbe, 0xef, 0x00, 0x01, ...payload];
    const frame = new Uint8Array([...mac(lab.b.mac), ...mac(lab.a.mac), 0x08, 0x00, ...ipHeader, ...icmp]);
    // The worked sums above, checked by the general algorithm: a right checksum sums to zero.
    expect(inetChecksum(frame.subarray(ETH, ETH + 20))).toBe(0);
    expect(inetChecksum(frame.subarray(ETH + 20))).toBe(0);
    // b must know a's MAC already, or its reply waits for ARP (which also works, but slower).
    await lab.b.run(["ip", "neigh", "replace", lab.a.ip4, "lladdr", lab.a.mac, "dev", lab.b.iface]);

    const sender = openLive(lab.a.iface, { netns: lab.a.ns, filter: "icmp" });
    const watcher = openLive(lab.a.iface, { netns: lab.a.ns, filter: "icmp" });
    const bySender = collect(sender, 600);
    const byWatcher = collect(watcher, 600);
    await sleep(50);
    sender.inject(frame);
    const [s, w] = await Promise.all([bySender, byWatcher]);
    sender.close();
    watcher.close();

    // The watcher sees our request going out, byte for byte, then the reply.
    expect(w).toHaveLength(2);
    expect(Buffer.from(w[0]!.data).equals(Buffer.from(frame))).toBe(true);
    const reply = w[1]!.data;
    expect([...reply.subarray(0, 12)]).toEqual([...mac(lab.a.mac), ...mac(lab.b.mac)]);
    expect([...reply.subarray(ETH + 12, ETH + 20)]).toEqual([...ip4(lab.b.ip4), ...ip4(lab.a.ip4)]);
    expect([...reply.subarray(ETH + 20)]).toEqual([0x00, 0x00, 0x8d, 0xa1, 0xbe, 0xef, 0x00, 0x01, ...payload]);
    expect(inetChecksum(reply.subarray(ETH, ETH + 20))).toBe(0);
    // The injecting handle does not see its own frame: only the reply.
    expect(s).toHaveLength(1);
    expect(Buffer.from(s[0]!.data).equals(Buffer.from(reply))).toBe(true);
  });

  it("refuses a frame longer than MTU + 14 with EMSGSIZE, and sends one of exactly that size", async () => {
    const cap = openLive(lab.a.iface, { netns: lab.a.ns });
    const inj = openInjector(lab.a.iface, { netns: lab.a.ns });
    const watcher = openLive(lab.b.iface, { netns: lab.b.ns, filter: "ether proto 0x88b5" });
    const got = collect(watcher, 500);
    // Ethertype 0x88b5 (IEEE 802 local experimental): nobody's stack reacts to it.
    const make = (n: number): Uint8Array => {
      const f = new Uint8Array(n).fill(0x5a);
      f.set([...mac(lab.b.mac), ...mac(lab.a.mac), 0x88, 0xb5]);
      return f;
    };
    for (const send of [(f: Uint8Array) => cap.inject(f), (f: Uint8Array) => inj.inject(f), (f: Uint8Array) => inj.injectMany([f])]) {
      let err: unknown;
      try {
        send(make(1515));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CaptureError);
      expect((err as CaptureError).code).toBe("EMSGSIZE");
      expect((err as CaptureError).message).toMatch(/frame of 1515 bytes too long.*Message too long/);
      send(make(1514));
    }
    const frames = await got;
    cap.close();
    inj.close();
    watcher.close();
    expect(frames.map((f) => f.data.length)).toEqual([1514, 1514, 1514]);
  });

  it("frames sent past the traffic-control queue (the default) are invisible to a capture on the same interface; with qdiscBypass: false a capture sees them", async () => {
    const watcher = openLive(lab.a.iface, { netns: lab.a.ns, filter: "ether proto 0x88b5", direction: "out" });
    const got = collect(watcher, 500);
    const frame = (tag: number): Uint8Array => {
      const f = new Uint8Array(60).fill(tag);
      f.set([...mac(lab.b.mac), ...mac(lab.a.mac), 0x88, 0xb5]);
      return f;
    };
    const bypass = openInjector(lab.a.iface, { netns: lab.a.ns });
    const queued = openInjector(lab.a.iface, { netns: lab.a.ns, qdiscBypass: false });
    expect(bypass.qdiscBypass).toBe(true);
    expect(queued.qdiscBypass).toBe(false);
    bypass.inject(frame(0x11));
    queued.inject(frame(0x22));
    const seen = await got;
    bypass.close();
    queued.close();
    watcher.close();
    // Only the frame that went through the queue passed the kernel's taps.
    expect(seen.map((f) => f.data[20])).toEqual([0x22]);
  });

  it("a capture of what comes in is not handed what the host sends: the kernel's own counter says it skipped them (PACKET_IGNORE_OUTGOING)", async () => {
    const inbound = openLive(lab.a.iface, { netns: lab.a.ns, direction: "in", filter: "ether proto 0x88b5" });
    const both = openLive(lab.a.iface, { netns: lab.a.ns, filter: "ether proto 0x88b5" });
    const inj = openInjector(lab.a.iface, { netns: lab.a.ns, qdiscBypass: false });
    const f = new Uint8Array(60).fill(0x33);
    f.set([...mac(lab.b.mac), ...mac(lab.a.mac), 0x88, 0xb5]);
    inj.injectMany(Array.from({ length: 100 }, () => f));
    await sleep(200);
    // The kernel's count of frames that reached each socket (before libpcap looks at them).
    expect(both.stats().received).toBe(100);
    expect(inbound.stats().received).toBe(0);
    inj.close();
    inbound.close();
    both.close();
  });

  it("a capture sends on its own socket (sendMany): the peer gets every frame in order, a capture beside sees them, the sender is not handed them back; errors name the frame", async () => {
    const N = 600;
    const sender = openLive(lab.b.iface, { netns: lab.b.ns, direction: "in", filter: "udp dst port 9" });
    const beside = openLive(lab.b.iface, { netns: lab.b.ns, filter: "udp dst port 9" });
    const peer = openLive(lab.a.iface, { netns: lab.a.ns, snaplen: 128, filter: "udp dst port 9" });
    const seqs: number[] = [];
    peer.onBatch((b) => {
      for (let i = 0; i < b.count; i++) seqs.push(new DataView(b.buffer.buffer, b.buffer.byteOffset + b.offset[i]! + 42, 4).getUint32(0));
    });
    let backToSender = 0;
    sender.onBatch((b) => void (backToSender += b.count));
    expect(sender.sendMany(udpFrames(lab, N))).toBe(N);
    for (let i = 0; i < 100 && seqs.length < N; i++) await sleep(20);
    await sleep(100);
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(beside.stats().received).toBe(N); // through the traffic-control path: the kernel's taps saw them
    expect(backToSender).toBe(0);
    const big = new Uint8Array(1515).fill(0x33);
    let err: unknown;
    try {
      sender.sendMany([udpFrames(lab, 1)[0]!, big]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe("EMSGSIZE");
    expect((err as CaptureError).message).toMatch(/\(frame 1; 1 sent before it\)/);
    for (const c of [sender, beside, peer]) c.close();
    expect(() => sender.sendMany([big])).toThrow(/closed/);
  });

  it("injectMany sends every frame: the receiving capture counts exactly what was sent", async () => {
    const N = 20_000;
    // A small snaplen makes small ring slots: 2 MiB hold ~8000 frames in immediate mode.
    const cap = openLive(lab.a.iface, { netns: lab.a.ns, snaplen: 128, filter: "udp dst port 9" });
    expect(cap.config.bufferSize).toBe(2 * 1024 * 1024);
    let count = 0;
    let bad = 0;
    let next = 0;
    cap.onBatch((b) => {
      for (let i = 0; i < b.count; i++) {
        const o = b.offset[i]!;
        const seq = new DataView(b.buffer.buffer, b.buffer.byteOffset + o + 42, 4).getUint32(0);
        if (seq !== next) bad++;
        next = seq + 1;
        count++;
      }
    });
    const frames = udpFrames(lab, N);
    const inj = openInjector(lab.b.iface, { netns: lab.b.ns });
    const rxDropBefore = rxDropped(lab);
    expect(inj.qdiscBypass).toBe(true);
    // injectMany blocks this thread; in chunks that fit the ring, the capture keeps up.
    let sent = 0;
    for (let i = 0; i < N; i += 500) {
      sent += inj.injectMany(frames.slice(i, i + 500));
      await new Promise((r) => setImmediate(r));
    }
    expect(sent).toBe(N);
    inj.close();
    for (let i = 0; i < 100 && count < N; i++) await sleep(20);
    await sleep(100);
    const st = cap.stats();
    cap.close();
    const lost = rxDropped(lab) - rxDropBefore;
    // Truthful accounting: sent = seen by the socket + dropped before it; seen = delivered + dropped by the ring.
    expect(st.received + lost).toBe(N);
    expect(st.delivered + st.dropped).toBe(st.received);
    expect(count).toBe(st.delivered);
    // ...and here nothing was lost: every frame arrived, in order.
    expect(lost).toBe(0);
    expect(st.dropped).toBe(0);
    expect(count).toBe(N);
    expect(bad).toBe(0);
  });

  it("a slow async-iterator consumer gets intact frames in order; what it misses the kernel counts", async () => {
    const N = 60_000;
    const cap = openLive(lab.a.iface, { netns: lab.a.ns, snaplen: 256, bufferSize: 256 * 1024, queueFrames: 2000, filter: "udp dst port 9" });
    const frames = udpFrames(lab, N);
    const inj = openInjector(lab.b.iface, { netns: lab.b.ns });
    const rxDropBefore = rxDropped(lab);
    let sent = 0;
    // Send in bursts from timers while the consumer below dawdles.
    const sender = (async () => {
      for (let i = 0; i < N; i += 2000) {
        sent += inj.injectMany(frames.slice(i, i + 2000));
        await sleep(2);
      }
    })();
    let delivered = 0;
    let last = -1;
    let corrupt = 0;
    let outOfOrder = 0;
    const it = cap[Symbol.asyncIterator]();
    for (;;) {
      const r = await Promise.race([it.next(), sleep(1000).then(() => null)]);
      if (r === null || r.done) break;
      const f = r.value;
      const seq = new DataView(f.data.buffer, f.data.byteOffset + 42, 4).getUint32(0);
      if (!Buffer.from(f.data).equals(Buffer.from(frames[seq] ?? []))) corrupt++;
      if (seq <= last) outOfOrder++;
      last = seq;
      delivered++;
      if (delivered % 500 === 0) await sleep(10);
    }
    await sender;
    await it.return!();
    inj.close();
    const st = cap.stats();
    cap.close();
    const lost = rxDropped(lab) - rxDropBefore;
    expect(sent).toBe(N);
    expect(corrupt).toBe(0);
    expect(outOfOrder).toBe(0);
    expect(st.delivered).toBe(delivered);
    // The consumer was too slow for everything: the kernel counted the rest.
    expect(st.dropped).toBeGreaterThan(0);
    expect(delivered + st.dropped).toBe(st.received);
    expect(st.received + lost).toBe(N);
  });

  it("survives the link going down and up; the interface vanishing ends iteration with ENODEV", async () => {
    const own = makeLab();
    try {
      const cap = openLive(own.a.iface, { netns: own.a.ns, filter: "ether proto 0x88b5" });
      const inj = openInjector(own.b.iface, { netns: own.b.ns });
      const f = new Uint8Array(60).fill(0x5a);
      f.set([...mac(own.a.mac), ...mac(own.b.mac), 0x88, 0xb5]);
      const seen: number[] = [];
      const errors: string[] = [];
      cap.onError((e) => errors.push(e instanceof CaptureError ? e.code : e.message));
      const it = cap[Symbol.asyncIterator]();
      const reader = (async () => {
        try {
          for (;;) {
            const r = await it.next();
            if (r.done) return "done";
            seen.push(r.value.data[20]!);
          }
        } catch (e) {
          return e instanceof CaptureError ? `${e.code}: ${e.message}` : String(e);
        }
      })();
      f[20] = 1;
      inj.inject(f);
      await sleep(200);
      execFileSync("ip", ["-n", own.a.ns, "link", "set", own.a.iface, "down"]);
      await sleep(200);
      execFileSync("ip", ["-n", own.a.ns, "link", "set", own.a.iface, "up"]);
      for (let i = 0; i < 100 && !/state UP/.test(execFileSync("ip", ["-n", own.a.ns, "link", "show", own.a.iface], { encoding: "utf8" })); i++) await sleep(20);
      f[20] = 2;
      inj.inject(f);
      await sleep(300);
      expect(seen).toEqual([1, 2]);
      expect(cap.closed).toBe(false);
      inj.close();
      execFileSync("ip", ["-n", own.a.ns, "link", "del", own.a.iface]);
      const end = await Promise.race([reader, sleep(5000).then(() => "still running")]);
      expect(end).toMatch(/^ENODEV: Cannot capture on ".*": no such interface \(The interface disappeared\)/);
      expect(errors).toEqual(["ENODEV"]);
      expect(cap.closed).toBe(true);
      cap.close();
    } finally {
      own.down();
    }
  });
});

/** a's interface receive-drop counter (frames the kernel dropped before any packet socket saw them). */
function rxDropped(lab: Lab): number {
  const j = JSON.parse(execFileSync("ip", ["-n", lab.a.ns, "-s", "-j", "link", "show", lab.a.iface], { encoding: "utf8" })) as {
    stats64: { rx: { dropped: number } };
  }[];
  return j[0]!.stats64.rx.dropped;
}

/**
 * `n` Ethernet/IPv4/UDP frames from b to a's port 9 (discard), 60 bytes each,
 * carrying their index as a 32-bit sequence number at byte 42 and a pattern
 * after it. Checksums: IPv4 computed; UDP 0 (RFC 768: no checksum).
 */
function udpFrames(lab: Lab, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = new Uint8Array(60);
    f.set([...mac(lab.a.mac), ...mac(lab.b.mac), 0x08, 0x00]);
    f.set([0x45, 0, 0, 46, (i >>> 8) & 0xff, i & 0xff, 0x40, 0, 64, 17, 0, 0, ...ip4(lab.b.ip4), ...ip4(lab.a.ip4)], ETH);
    const c = inetChecksum(f.subarray(ETH, ETH + 20));
    f[ETH + 10] = c >>> 8;
    f[ETH + 11] = c & 0xff;
    f.set([0x30, 0x39, 0x00, 0x09, 0x00, 26, 0, 0], ETH + 20);
    new DataView(f.buffer).setUint32(42, i);
    for (let k = 46; k < 60; k++) f[k] = (i * 7 + k) & 0xff;
    out.push(f);
  }
  return out;
}
