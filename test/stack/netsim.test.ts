/**
 * A simulated network: two stacks over a memory pair whose one end is
 * wrapped by `impair` (loss each way, 1 % duplication, 1 % of frames held
 * back by three, 5 ms each way), on a virtual clock, seeded. A sends 10 MiB of
 * seeded random bytes, half-closes, and B reads to end of file: the SHA-256 of
 * what B read must equal that of what A sent, at 0, 1, 5, 10 and 20 % loss,
 * with NewReno and CUBIC, over IPv4 and (one rate) IPv6. Virtual time runs as
 * long as the stack needs (the retransmission timer backs off to its 120 s
 * cap at 20 % loss); real time stays in seconds. The throughput per loss rate
 * is printed by `bench/stack_sim.js`; here only correctness is asserted, plus
 * that the link really did what it was told (the loss counted is binomial
 * around the rate) and that a run replays exactly from its seed.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EthernetView } from "../../layers/ethernet.ts";
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, IP_PROTOCOL_TCP } from "../../layers/dispatch.ts";
import { Ipv4View } from "../../layers/ipv4.ts";
import { Ipv6View } from "../../layers/ipv6.ts";
import { TcpView } from "../../layers/tcp.ts";
import { VirtualClock } from "../../src/device/clock.ts";
import { impair, type ImpairStats } from "../../src/device/impair.ts";
import { memoryPair } from "../../src/device/memory.ts";
import { StackDriver } from "../../src/stack/driver.ts";
import { seededRandom } from "../../src/stack/random.ts";
import { seqGt } from "../../src/stack/seq.ts";
import { Sockets } from "../../src/stack/sockets.ts";
import type { CongestionControl } from "../../src/stack/tcp/config.ts";
import type { TraceSink } from "../../src/stack/trace.ts";
import { settle } from "./helpers.ts";

/** 10 MiB: the "at least 10 MB". */
const SIZE = 10 * 1024 * 1024;
/** Everything but the loss: duplication, reordering (three frames pass a held one), 5 ms each way. */
const LINK = { duplicate: 0.01, reorder: 0.01, reorderFrames: 3, delayMs: 5 };
/** Virtual time allowed: at 20 % loss each way the timer sits near its 120 s cap (see the bench). */
const VIRTUAL_LIMIT_MS = 1e10;

const DATA = (() => {
  const r = seededRandom(2024);
  const words = new Uint32Array(SIZE / 4);
  for (let i = 0; i < words.length; i++) words[i] = r.u32();
  return new Uint8Array(words.buffer);
})();
const DATA_SHA = createHash("sha256").update(DATA).digest("hex");

/**
 * Watches A's frames out: a TCP segment with data that starts below the
 * highest sequence number sent so far is a retransmission; counts the
 * sender's timeouts too.
 */
class SenderWatch implements TraceSink {
  retransmits = 0;
  dataSegments = 0;
  timeouts = 0;
  #highest = -1;
  readonly #eth = new EthernetView(new Uint8Array(0));
  readonly #v4 = new Ipv4View(new Uint8Array(0));
  readonly #v6 = new Ipv6View(new Uint8Array(0));
  readonly #tcp = new TcpView(new Uint8Array(0));

  frame(_now: number, direction: "in" | "out", bytes: Uint8Array, start: number, end: number): void {
    if (direction !== "out") return;
    const eth = this.#eth.reset(bytes, start, end);
    let from: number;
    let to: number;
    if (eth.type === ETHERTYPE_IPV4) {
      const ip = this.#v4.reset(bytes, eth.payloadStart, end);
      if (ip.protocol !== IP_PROTOCOL_TCP) return;
      from = ip.payloadStart;
      to = ip.payloadEnd;
    } else if (eth.type === ETHERTYPE_IPV6) {
      const ip = this.#v6.reset(bytes, eth.payloadStart, end);
      if (ip.nextHeader !== IP_PROTOCOL_TCP) return;
      from = ip.payloadStart;
      to = ip.payloadEnd;
    } else return;
    const tcp = this.#tcp.reset(bytes, from, to);
    if (tcp.payloadEnd <= tcp.payloadStart) return;
    this.dataSegments++;
    const seq = tcp.seq;
    if (this.#highest >= 0 && !seqGt(seq, this.#highest)) {
      const last = (seq + (tcp.payloadEnd - tcp.payloadStart) - 1) >>> 0;
      if (!seqGt(last, this.#highest)) {
        this.retransmits++;
        return;
      }
    }
    this.#highest = (seq + (tcp.payloadEnd - tcp.payloadStart) - 1) >>> 0;
  }
  state(): void {}
  sender(_now: number, _tcb: unknown, why: string): void {
    if (why === "rto") this.timeouts++;
  }
  drop(): void {}
  note(): void {}
}

interface Run {
  sha: string;
  received: number;
  virtualMs: number;
  realMs: number;
  watch: SenderWatch;
  link: { send: ImpairStats; receive: ImpairStats };
}

/** One transfer A → B over the impaired link; see the module comment. */
async function transfer(loss: number, congestion: CongestionControl, family: "inet" | "inet6" = "inet", seed = 7): Promise<Run> {
  const clock = new VirtualClock();
  const [d0, d1] = memoryPair({ clock });
  const link = impair(d0, { seed, drop: loss, ...LINK });
  const watch = new SenderWatch();
  const tcp = { congestion };
  const a = new StackDriver(link, { mac: "02:00:00:00:00:0a", ipv4: ["10.9.0.1/24"], ipv6: ["fd09::1/64"], random: seededRandom(seed), tcp, trace: watch });
  const b = new StackDriver(d1, { mac: "02:00:00:00:00:0b", ipv4: ["10.9.0.2/24"], ipv6: ["fd09::2/64"], random: seededRandom(seed + 1000), tcp });
  const server = new Sockets(b).socket(family, "stream");
  server.bind(family === "inet" ? "0.0.0.0" : "::", 5001);
  server.listen();
  const accepted = server.accept();
  const client = new Sockets(a).socket(family, "stream");
  const started = performance.now();
  await settle(clock, client.connect(family === "inet" ? "10.9.0.2" : "fd09::2", 5001), VIRTUAL_LIMIT_MS);
  const conn = await settle(clock, accepted, VIRTUAL_LIMIT_MS);
  const hash = createHash("sha256");
  let received = 0;
  const sending = (async () => {
    for (let at = 0; at < SIZE; at += 1 << 18) await client.send(DATA.subarray(at, Math.min(SIZE, at + (1 << 18))));
    client.shutdown("write");
  })();
  const reading = (async () => {
    for (;;) {
      const chunk = await conn.recv(1 << 20);
      if (chunk.length === 0) return;
      hash.update(chunk);
      received += chunk.length;
    }
  })();
  await settle(clock, Promise.all([sending, reading]), VIRTUAL_LIMIT_MS);
  const realMs = performance.now() - started;
  client.close();
  conn.close();
  a.close();
  b.close();
  return { sha: hash.digest("hex"), received, virtualMs: clock.now(), realMs, watch, link: link.stats };
}

/** The link dropped about `loss` of what it was offered, each way (5 binomial sd, as in device_impair.test.ts). */
function expectLoss(stats: ImpairStats, loss: number): void {
  const n = stats.frames;
  expect(Math.abs(stats.dropped - n * loss)).toBeLessThanOrEqual(5 * Math.sqrt(n * loss * (1 - loss)) + 1e-9);
}

function expectIntact(run: Run, loss: number): void {
  expect(run.received).toBe(SIZE);
  expect(run.sha).toBe(DATA_SHA);
  expectLoss(run.link.send, loss);
  expectLoss(run.link.receive, loss);
  // the link did duplicate and reorder, both ways
  expect(run.link.send.duplicated).toBeGreaterThan(0);
  expect(run.link.send.reordered).toBeGreaterThan(0);
  expect(run.link.receive.duplicated).toBeGreaterThan(0);
  // at least every full segment of the file went out once (10 MiB / 1448 bytes)
  expect(run.watch.dataSegments - run.watch.retransmits).toBeGreaterThanOrEqual(Math.ceil(SIZE / 1448));
  // every data frame the link lost had to be sent again
  if (loss > 0) expect(run.watch.retransmits).toBeGreaterThan(0);
}

describe("simulated network: 10 MiB byte-exact through loss, duplication, reordering and delay", () => {
  for (const congestion of ["newreno", "cubic"] as const) {
    for (const loss of [0, 0.01, 0.05, 0.1, 0.2]) {
      it(`${congestion}, IPv4, ${loss * 100} % loss each way`, async () => {
        expectIntact(await transfer(loss, congestion), loss);
      });
    }
  }

  it("newreno and cubic over IPv6, 5 % loss each way", async () => {
    for (const congestion of ["newreno", "cubic"] as const) expectIntact(await transfer(0.05, congestion, "inet6"), 0.05);
  });

  it("a run replays exactly from its seed", async () => {
    const one = await transfer(0.05, "cubic", "inet", 11);
    const two = await transfer(0.05, "cubic", "inet", 11);
    expect(two.virtualMs).toBe(one.virtualMs);
    expect(two.watch.retransmits).toBe(one.watch.retransmits);
    expect(two.link).toEqual(one.link);
  });
});
