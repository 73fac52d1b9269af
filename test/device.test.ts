/**
 * The device seam: the virtual clock, the in-memory pair, waiting for a frame,
 * and neighbour resolution and a DNS query run over a memory pair against a
 * small responder on the other end that answers with frames built by the
 * layers. Everything but the last block runs in virtual time: no sleeps, and
 * every timeout and retry lands on an exact millisecond. The last block opens
 * a live device in a two-namespace lab (root) with the kernel of the other host
 * as the responder.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePacket } from "../layers/decode.ts";
import { encodePacket } from "../layers/encode.ts";
import type { AnyLayer } from "../layers/mod.ts";
import { systemClock, VirtualClock, clockStamp } from "../src/device/clock.ts";
import type { Device } from "../src/device/device.ts";
import { openLiveDevice } from "../src/device/live_device.ts";
import { memoryPair, type MemoryDevice } from "../src/device/memory.ts";
import { waitForFrame } from "../src/device/wait.ts";
import { CaptureError } from "../src/errors.ts";
import { batchData, type FrameBatch } from "../src/frame.ts";
import { DnsTimeoutError, queryDnsOn } from "../src/send/dns_query.ts";
import { NeighborCache, NeighborError, nextFrame as oldNextFrame, resolveNeighborOn } from "../src/send/neighbor.ts";
import { nextFrame } from "../src/device/wait.ts";
import { labSkipReason, makeLab, type Lab } from "./helpers/lab.ts";

const A_MAC = "02:00:00:00:00:0a";
const B_MAC = "02:00:00:00:00:0b";
const A_IP = "10.0.0.1";
const B_IP = "10.0.0.2";
const A_IP6 = "fd00::1";
const B_IP6 = "fd00::2";

/** The frames of a batch, copied, with their decode. */
function framesOf(batch: FrameBatch): { data: Uint8Array; layers: AnyLayer[] }[] {
  const out = [];
  for (let i = 0; i < batch.count; i++) {
    const data = batchData(batch, i).slice();
    out.push({ data, layers: decodePacket(data, batch.linkType[i]!).layers });
  }
  return out;
}

function layer<K extends AnyLayer["layer"]>(layers: AnyLayer[], kind: K): Extract<AnyLayer, { layer: K }> | undefined {
  return layers.find((l) => l.layer === kind) as Extract<AnyLayer, { layer: K }> | undefined;
}

/** b's ARP reply to a request from (mac, ip), built by the layers. */
function arpReply(toMac: string, toIp: string, fromIp = B_IP, fromMac = B_MAC): Uint8Array {
  return encodePacket([
    { layer: "ethernet", src: fromMac, dst: toMac },
    { layer: "arp", op: 2, senderMac: fromMac, senderIp: fromIp, targetMac: toMac, targetIp: toIp },
  ]);
}

/** b's neighbor advertisement for `target`, with the target link-layer address option (RFC 4861 §4.4). */
function neighborAdvertisement(target: string, mac: string): Uint8Array {
  return encodePacket([
    { layer: "ethernet", src: mac, dst: A_MAC },
    { layer: "ipv6", src: target, dst: A_IP6, hopLimit: 255 },
    { layer: "icmpv6", type: 136, code: 0, solicited: true, override: true, targetAddress: target, options: [{ kind: "targetLinkLayerAddress", address: mac }] },
  ]);
}

interface Responder {
  /** the requests (ARP requests, neighbor solicitations, DNS queries) seen, decoded */
  seen: AnyLayer[][];
  /** when each was seen, in clock ms */
  at: number[];
}

/**
 * Answer ARP requests for B_IP and neighbor solicitations for B_IP6 on `b`,
 * except the first `ignore`; before each answer send `noise` (frames that
 * must not be taken for the answer).
 */
function neighborResponder(b: Device, options: { ignore?: number; noise?: () => Uint8Array[] } = {}): Responder {
  const r: Responder = { seen: [], at: [] };
  b.onFrames((batch) => {
    for (const { layers } of framesOf(batch)) {
      const arp = layer(layers, "arp");
      const icmp = layer(layers, "icmpv6");
      const isArp = arp !== undefined && arp.op === 1 && arp.targetIp === B_IP;
      const isNs = icmp !== undefined && icmp.type === 135 && icmp.targetAddress === B_IP6;
      if (!isArp && !isNs) continue;
      r.seen.push(layers);
      r.at.push(b.clock.now());
      if (r.seen.length <= (options.ignore ?? 0)) continue;
      b.sendMany(options.noise?.() ?? []);
      b.send(isArp ? arpReply(arp.senderMac, arp.senderIp) : neighborAdvertisement(B_IP6, B_MAC));
    }
  });
  return r;
}

/** Settle a promise while the virtual clock runs; its result or its error. */
async function drive<T>(clock: VirtualClock, p: Promise<T>, limitMs = 60_000): Promise<{ value?: T; error?: unknown }> {
  const settled = p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await clock.runUntilIdle(limitMs);
  return settled;
}

describe("VirtualClock", () => {
  it("runs timers in time order, same-time timers in the order they were set, each at its due time", () => {
    const clock = new VirtualClock(100);
    const log: string[] = [];
    clock.setTimer(50, () => log.push(`b@${clock.now()}`));
    clock.setTimer(10, () => log.push(`a@${clock.now()}`));
    clock.setTimer(50, () => log.push(`c@${clock.now()}`));
    clock.setTimer(0, () => log.push(`z@${clock.now()}`));
    expect(log).toEqual([]); // nothing runs inside setTimer, not even a 0 ms timer
    clock.advance(49);
    expect(log).toEqual(["z@100", "a@110"]);
    expect(clock.now()).toBe(149);
    clock.advance(1);
    expect(log).toEqual(["z@100", "a@110", "b@150", "c@150"]);
    expect(clock.pending).toBe(0);
  });

  it("runs a timer set by a timer within the same advance when it falls due before the target", () => {
    const clock = new VirtualClock();
    const log: number[] = [];
    clock.setTimer(10, () => {
      log.push(clock.now());
      clock.setTimer(5, () => log.push(clock.now()));
      clock.setTimer(100, () => log.push(clock.now()));
    });
    clock.advance(20);
    expect(log).toEqual([10, 15]);
    expect(clock.nextDue()).toBe(110);
    clock.advance(90);
    expect(log).toEqual([10, 15, 110]);
  });

  it("cancels: a cancelled timer never runs, cancelling twice or late is harmless", () => {
    const clock = new VirtualClock();
    let ran = 0;
    const cancel = clock.setTimer(10, () => ran++);
    const other = clock.setTimer(20, () => ran += 10);
    cancel();
    cancel();
    expect(clock.pending).toBe(1);
    clock.advance(30);
    expect(ran).toBe(10);
    other(); // after it ran
    expect(clock.pending).toBe(0);
    expect(clock.nextDue()).toBeNull();
  });

  it("refuses to go back in time", () => {
    expect(() => new VirtualClock().advance(-1)).toThrow(RangeError);
    expect(() => new VirtualClock().advance(Number.NaN)).toThrow(RangeError);
  });

  it("runUntilIdle lets promise continuations run between timers and stops at the limit", async () => {
    const clock = new VirtualClock();
    const sleep = (ms: number): Promise<void> => new Promise((r) => clock.setTimer(ms, r));
    const log: number[] = [];
    const task = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(1000); // each sleep is set only after the previous one's continuation ran
        log.push(clock.now());
      }
    })();
    expect(await clock.runUntilIdle(10_000)).toBe(true);
    await task;
    expect(log).toEqual([1000, 2000, 3000]);
    expect(clock.now()).toBe(3000);
    clock.setTimer(5000, () => log.push(-1));
    expect(await clock.runUntilIdle(1000)).toBe(false);
    expect(clock.now()).toBe(4000);
    expect(log).toEqual([1000, 2000, 3000]);
  });

  it("clockStamp splits milliseconds into seconds and nanoseconds; the system clock is Unix time", () => {
    expect(clockStamp(1500.25)).toEqual({ sec: 1, nsec: 500_250_000 });
    expect(clockStamp(0)).toEqual({ sec: 0, nsec: 0 });
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1000);
  });
});

describe("memoryPair", () => {
  it("delivers what one end sends to the other as one batch on the next tick, never inside send", () => {
    const clock = new VirtualClock(2500);
    const [a, b] = memoryPair({ clock });
    const got: { count: number; frames: number[][]; sec: number; nsec: number; linkType: number }[] = [];
    b.onFrames((batch) => {
      const frames = [];
      for (let i = 0; i < batch.count; i++) frames.push([...batchData(batch, i)]);
      got.push({ count: batch.count, frames, sec: batch.sec[0]!, nsec: batch.nsec[0]!, linkType: batch.linkType[0]! });
    });
    const f1 = Uint8Array.of(1, 2, 3);
    a.send(f1);
    a.sendMany([Uint8Array.of(4), Uint8Array.of(5, 6)]);
    f1[0] = 99; // the device copied it: the wire carries what was sent
    expect(got).toEqual([]);
    clock.advance(0);
    expect(got).toEqual([{ count: 3, frames: [[1, 2, 3], [4], [5, 6]], sec: 2, nsec: 500_000_000, linkType: 1 }]);
    expect(a.sent).toBe(3);
    expect(b.received).toBe(3);
  });

  it("is a two-way link: b answers inside its handler, a gets it on a later tick", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    b.onFrames((batch) => {
      for (let i = 0; i < batch.count; i++) b.send(batchData(batch, i).map((x) => x + 1));
    });
    const back: number[] = [];
    a.onFrames((batch) => back.push(batchData(batch, 0)[0]!));
    a.send(Uint8Array.of(7));
    clock.advance(0);
    expect(back).toEqual([8]);
    // a's own frames never come back to a
    expect(a.received).toBe(1);
  });

  it("refuses a frame over MTU + 14 as the wire does (EMSGSIZE) and accepts one at the limit", () => {
    const [a, b] = memoryPair({ mtu: 100 });
    let n = 0;
    b.onFrames((batch) => (n += batch.count));
    a.send(new Uint8Array(114));
    let err: unknown;
    try {
      a.send(new Uint8Array(115));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe("EMSGSIZE");
    expect((err as CaptureError).message).toMatch(/^Cannot send on "mem0": frame of 115 bytes too long/);
    // sendMany checks every frame before any goes out
    expect(() => a.sendMany([new Uint8Array(10), new Uint8Array(200)])).toThrow(CaptureError);
    (a.clock as VirtualClock).advance(0);
    expect(n).toBe(1);
  });

  it("drops frames nobody listens for, and refuses to send once closed", () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock, names: ["left", "right"] });
    a.send(Uint8Array.of(1)); // b has no handler yet: dropped
    clock.advance(0);
    let n = 0;
    const off = b.onFrames((batch) => (n += batch.count));
    a.send(Uint8Array.of(2));
    clock.advance(0);
    expect(n).toBe(1);
    off();
    a.send(Uint8Array.of(3));
    clock.advance(0);
    expect(n).toBe(1);
    a.close();
    expect(() => a.send(Uint8Array.of(4))).toThrow(/Cannot send on "left": it is already closed/);
    expect(b.name).toBe("right");
    expect(b.mtu).toBe(1500);
  });
});

describe("waitForFrame", () => {
  it("resolves with a copy of the first matching frame, passing over others", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const wait = waitForFrame(a, (f) => f[0] === 2, 1000);
    b.sendMany([Uint8Array.of(1, 0), Uint8Array.of(2, 1), Uint8Array.of(2, 2)]);
    const r = await drive(clock, wait);
    expect([...r.value!.data]).toEqual([2, 1]);
    expect(r.value!.linkType).toBe(1);
    expect(clock.pending).toBe(0); // the timeout was cancelled
  });

  it("resolves null at the timeout on the device's clock, after exactly timeoutMs", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    let at = -1;
    const wait = waitForFrame(a, () => false, 750).then((f) => ((at = clock.now()), f));
    b.send(Uint8Array.of(1));
    const r = await drive(clock, wait);
    expect(r.value).toBeNull();
    expect(at).toBe(750);
  });

  it("rejects with what the matcher throws, and resolves null when aborted", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const bad = waitForFrame(a, () => {
      throw new Error("matcher broke");
    }, 1000);
    b.send(Uint8Array.of(1));
    expect((await drive(clock, bad)).error).toMatchObject({ message: "matcher broke" });
    const stop = new AbortController();
    const aborted = waitForFrame(a, () => true, 1000, stop.signal);
    stop.abort();
    expect(await aborted).toBeNull();
    expect(clock.pending).toBe(0);
  });

  it("the old nextFrame export of send/neighbor.ts is the device module's", () => {
    expect(oldNextFrame).toBe(nextFrame);
  });
});

describe("resolveNeighborOn over a memory pair (virtual time)", () => {
  function pair(): { clock: VirtualClock; a: MemoryDevice; b: MemoryDevice } {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    return { clock, a, b };
  }

  it("ARP: one broadcast request from our MAC and address, answered at once", async () => {
    const { clock, a, b } = pair();
    const r = neighborResponder(b);
    const got = await drive(clock, resolveNeighborOn(a, B_IP, { srcMac: A_MAC, srcIp: A_IP }));
    expect(got.value).toBe(B_MAC);
    expect(r.seen).toHaveLength(1);
    const eth = layer(r.seen[0]!, "ethernet")!;
    const arp = layer(r.seen[0]!, "arp")!;
    expect([eth.src, eth.dst]).toEqual([A_MAC, "ff:ff:ff:ff:ff:ff"]);
    expect([arp.senderMac, arp.senderIp, arp.targetMac, arp.targetIp]).toEqual([A_MAC, A_IP, "00:00:00:00:00:00", B_IP]);
    expect(clock.now()).toBe(0); // answered on the delivery ticks, no timeout ran
  });

  it("takes the target and our addresses as bytes too", async () => {
    const { clock, a, b } = pair();
    neighborResponder(b);
    const got = await drive(clock, resolveNeighborOn(a, Uint8Array.of(10, 0, 0, 2), { srcMac: Uint8Array.of(2, 0, 0, 0, 0, 0x0a), srcIp: Uint8Array.of(10, 0, 0, 1) }));
    expect(got.value).toBe(B_MAC);
  });

  it("asks again after each timeout and takes the answer to the third request", async () => {
    const { clock, a, b } = pair();
    const r = neighborResponder(b, { ignore: 2 });
    const sent: number[] = [];
    const got = await drive(clock, resolveNeighborOn(a, B_IP, { srcMac: A_MAC, srcIp: A_IP, timeoutMs: 400, tries: 3, onRequest: () => sent.push(clock.now()) }));
    expect(got.value).toBe(B_MAC);
    expect(sent).toEqual([0, 400, 800]);
    expect(r.at).toEqual([0, 400, 800]);
  });

  it("gives up after `tries` requests with the NeighborError text of resolveNeighbor", async () => {
    const { clock, a, b } = pair();
    const r = neighborResponder(b, { ignore: 99 });
    const got = await drive(clock, resolveNeighborOn(a, "10.0.0.2", { srcMac: A_MAC, srcIp: A_IP, timeoutMs: 250, tries: 2 }));
    expect(got.error).toBeInstanceOf(NeighborError);
    expect((got.error as Error).message).toBe("No answer from 10.0.0.2 on mem0 to 2 ARP requests (250 ms each)");
    expect(r.seen).toHaveLength(2);
    expect(clock.now()).toBe(500);
    const one = await drive(clock, resolveNeighborOn(a, B_IP6, { srcMac: A_MAC, srcIp: A_IP6, tries: 1 }));
    expect((one.error as Error).message).toBe("No answer from fd00::2 on mem0 to 1 neighbor solicitation (1000 ms each)");
  });

  it("passes over frames that are not the answer: a reply about another address, a request, a reply from elsewhere", async () => {
    const { clock, a, b } = pair();
    neighborResponder(b, {
      noise: () => [
        arpReply(A_MAC, A_IP, "10.0.0.3", "02:00:00:00:00:33"), // another host's reply
        encodePacket([
          { layer: "ethernet", src: "02:00:00:00:00:44", dst: "ff:ff:ff:ff:ff:ff" },
          { layer: "arp", op: 1, senderMac: "02:00:00:00:00:44", senderIp: B_IP, targetIp: A_IP }, // a request, sender B_IP
        ]),
        neighborAdvertisement("fd00::3", "02:00:00:00:00:55"), // NDP about someone else
      ],
    });
    const got = await drive(clock, resolveNeighborOn(a, B_IP, { srcMac: A_MAC, srcIp: A_IP }));
    expect(got.value).toBe(B_MAC);
  });

  it("NDP: a solicitation to the solicited-node group, hop limit 255, answered by an advertisement", async () => {
    const { clock, a, b } = pair();
    const r = neighborResponder(b, {
      noise: () => [neighborAdvertisement("fd00::3", "02:00:00:00:00:55")],
    });
    const got = await drive(clock, resolveNeighborOn(a, "FD00:0:0::0002", { srcMac: A_MAC, srcIp: A_IP6 }));
    expect(got.value).toBe(B_MAC);
    const eth = layer(r.seen[0]!, "ethernet")!;
    const ip = layer(r.seen[0]!, "ipv6")!;
    const icmp = layer(r.seen[0]!, "icmpv6")!;
    // RFC 4291 §2.7.1: ff02::1:ff + the low 24 bits of fd00::2; RFC 2464 §7: 33:33 + the low 32 bits.
    expect([eth.src, eth.dst]).toEqual([A_MAC, "33:33:ff:00:00:02"]);
    expect([ip.src, ip.dst, ip.hopLimit]).toEqual([A_IP6, "ff02::1:ff00:2", 255]);
    expect(icmp.options).toEqual([{ kind: "sourceLinkLayerAddress", address: A_MAC }]);
  });

  it("keeps answers in a cache keyed by device and address bytes, until they expire on the device's clock", async () => {
    const { clock, a, b } = pair();
    const r = neighborResponder(b);
    const cache = new NeighborCache(10_000);
    expect((await drive(clock, resolveNeighborOn(a, B_IP, { srcMac: A_MAC, srcIp: A_IP, cache }))).value).toBe(B_MAC);
    expect(cache.get("mem0", Uint8Array.of(10, 0, 0, 2), undefined, clock.now())).toBe(B_MAC);
    expect((await drive(clock, resolveNeighborOn(a, B_IP, { srcMac: A_MAC, srcIp: A_IP, cache }))).value).toBe(B_MAC);
    expect(r.seen).toHaveLength(1); // the second answer came from the cache
    clock.advance(10_000);
    expect((await drive(clock, resolveNeighborOn(a, B_IP, { srcMac: A_MAC, srcIp: A_IP, cache }))).value).toBe(B_MAC);
    expect(r.seen).toHaveLength(2);
  });
});

describe("queryDnsOn over a memory pair (virtual time)", () => {
  /** A DNS server on b that answers A questions for www.example.test with 10.0.0.9, `delayMs` after the query. */
  function dnsResponder(b: Device, clock: VirtualClock, delayMs: number, answer = true): AnyLayer[][] {
    const queries: AnyLayer[][] = [];
    neighborResponder(b);
    b.onFrames((batch) => {
      for (const { layers } of framesOf(batch)) {
        const ip = layer(layers, "ipv4");
        const udp = layer(layers, "udp");
        const dns = layer(layers, "dns");
        if (ip === undefined || udp === undefined || dns === undefined || dns.response) continue;
        queries.push(layers);
        if (!answer) continue;
        const reply = (id: number): Uint8Array =>
          encodePacket([
            { layer: "ethernet", src: B_MAC, dst: A_MAC },
            { layer: "ipv4", src: B_IP, dst: ip.src, ttl: 64 },
            { layer: "udp", srcPort: 53, dstPort: udp.srcPort },
            {
              layer: "dns",
              id,
              response: true,
              recursionDesired: true,
              questions: [{ name: "www.example.test", type: 1 }],
              answers: [{ name: "www.example.test", type: 1, ttl: 60, data: "10.0.0.9" }],
            },
          ]);
        // Another id first: it must not be taken for the answer (RFC 5452 §9.1).
        const wrong = reply(dns.id ^ 0xffff);
        clock.setTimer(delayMs, () => b.sendMany([wrong, reply(dns.id)]));
      }
    });
    return queries;
  }

  it("resolves the server with ARP, sends the query, takes the answer with our id; the RTT is virtual time", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    const queries = dnsResponder(b, clock, 35);
    const sent: number[] = [];
    const r = await drive(clock, queryDnsOn(a, { srcMac: A_MAC, src: A_IP, server: B_IP, name: "www.example.test", id: 0x1234, srcPort: 50000, onSent: (f) => sent.push(f.data.length) }));
    expect(r.error).toBeUndefined();
    expect(r.value!.response.answers.map((x) => x.data)).toEqual(["10.0.0.9"]);
    expect(r.value!.response.id).toBe(0x1234);
    expect(r.value!.rttMs).toBe(35);
    expect(r.value!.server).toBe(B_IP);
    expect(queries).toHaveLength(1);
    expect(layer(queries[0]!, "udp")).toMatchObject({ srcPort: 50000, dstPort: 53 });
    expect(layer(queries[0]!, "ethernet")).toMatchObject({ src: A_MAC, dst: B_MAC });
    expect(sent).toHaveLength(2); // the ARP request, then the query
  });

  it("times out after exactly timeoutMs with DnsTimeoutError", async () => {
    const clock = new VirtualClock();
    const [a, b] = memoryPair({ clock });
    dnsResponder(b, clock, 0, false);
    const r = await drive(clock, queryDnsOn(a, { srcMac: A_MAC, src: A_IP, server: B_IP, dstMac: B_MAC, name: "www.example.test", timeoutMs: 1200 }));
    expect(r.error).toBeInstanceOf(DnsTimeoutError);
    expect((r.error as Error).message).toBe("No answer from 10.0.0.2 port 53 within 1200 ms");
    expect(clock.now()).toBe(1200);
  });
});

describe.skipIf(labSkipReason !== null)(`a live device in a lab${labSkipReason ? ` (skipped: ${labSkipReason})` : ""}`, () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab();
  });
  afterAll(() => lab?.down());

  it("resolves b's MAC with our ARP on a live device; the kernel of b answers; own frames are not received", async () => {
    await lab.b.run(["ip", "neigh", "flush", "all"]);
    const device = openLiveDevice(lab.a.iface, { netns: lab.a.ns, filter: "arp" });
    try {
      expect(device.name).toBe(lab.a.iface);
      expect(device.mtu).toBe(1500);
      expect(device.linkType).toBe(1);
      const seen: AnyLayer[][] = [];
      device.onFrames((batch) => seen.push(...framesOf(batch).map((f) => f.layers)));
      const mac = await resolveNeighborOn(device, lab.b.ip4, { srcMac: lab.a.mac, srcIp: lab.a.ip4 });
      expect(mac).toBe(lab.b.mac);
      // Only b's reply came in: our broadcast request was not handed back.
      expect(seen.map((l) => layer(l, "arp")?.op)).toEqual([2]);
      // Host a's kernel resolves b itself (a datagram with an empty neighbour
      // table): its request goes out of a0, b's reply comes in. A device
      // receives what comes in only, as a NIC does.
      await lab.a.run(["ip", "neigh", "flush", "all"]);
      const kernelReply = waitForFrame(device, (f, lt) => layer(decodePacket(f, lt).layers, "arp")?.targetIp === lab.a.ip4, 3000);
      await lab.a.run(["python3", "-c", `import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("${lab.b.ip4}", 9))`]);
      expect(await kernelReply).not.toBeNull();
      expect(seen.map((l) => layer(l, "arp")?.op)).toEqual([2, 2]);
    } finally {
      device.close();
    }
  });
});
