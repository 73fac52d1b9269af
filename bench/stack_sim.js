// The simulated network of test/stack/netsim.test.ts as a table (smoltcp's
// netsim benchmark is the model): two stackts stacks over a memory pair whose
// one end is wrapped by `impair` (loss each way, 1 % duplication, 1 % of frames
// held back by three, 5 ms each way), on a virtual clock, seeded. A sends
// MiB of seeded random bytes to B at 0, 1, 5, 10 and 20 % loss, with NewReno
// and with CUBIC. Per row: the goodput in virtual time (what the protocol
// achieves on that link), how fast the simulation ran in real time, the data
// segments A sent again and its retransmission timeouts. Prints; asserts
// nothing (the byte-exact check is the test's).
//
//   npm run build:ts && node bench/stack_sim.js [--mib N] [--seed S]
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.join(HERE, "..", "dist");
const dist = (p) => import(path.join(DIST, p));

export const LOSSES = [0, 0.01, 0.05, 0.1, 0.2];
const LINK = { duplicate: 0.01, reorder: 0.01, reorderFrames: 3, delayMs: 5 };

async function load() {
  const { VirtualClock } = await dist("src/device/clock.js");
  const { memoryPair } = await dist("src/device/memory.js");
  const { impair } = await dist("src/device/impair.js");
  const { StackDriver } = await dist("src/stack/driver.js");
  const { seededRandom } = await dist("src/stack/random.js");
  const { Sockets } = await dist("src/stack/sockets.js");
  const { seqGt } = await dist("src/stack/seq.js");
  const { EthernetView } = await dist("layers/ethernet.js");
  const { Ipv4View } = await dist("layers/ipv4.js");
  const { TcpView } = await dist("layers/tcp.js");
  const { ETHERTYPE_IPV4, IP_PROTOCOL_TCP } = await dist("layers/dispatch.js");
  return { VirtualClock, memoryPair, impair, StackDriver, seededRandom, Sockets, seqGt, EthernetView, Ipv4View, TcpView, ETHERTYPE_IPV4, IP_PROTOCOL_TCP };
}

/** A trace sink that counts A's data segments sent below the highest sequence number sent, and its timeouts. */
function senderWatch(m) {
  const eth = new m.EthernetView(new Uint8Array(0));
  const ip = new m.Ipv4View(new Uint8Array(0));
  const tcp = new m.TcpView(new Uint8Array(0));
  let highest = -1;
  const w = {
    retransmits: 0,
    timeouts: 0,
    frame(_now, direction, bytes, start, end) {
      if (direction !== "out") return;
      eth.reset(bytes, start, end);
      if (eth.type !== m.ETHERTYPE_IPV4) return;
      ip.reset(bytes, eth.payloadStart, end);
      if (ip.protocol !== m.IP_PROTOCOL_TCP) return;
      tcp.reset(bytes, ip.payloadStart, ip.payloadEnd);
      const len = tcp.payloadEnd - tcp.payloadStart;
      if (len <= 0) return;
      const last = (tcp.seq + len - 1) >>> 0;
      if (highest >= 0 && !m.seqGt(last, highest)) w.retransmits++;
      else highest = last;
    },
    state() {},
    sender(_now, _tcb, why) {
      if (why === "rto") w.timeouts++;
    },
    drop() {},
    note() {},
  };
  return w;
}

/** Run the virtual clock until `p` settles (promise continuations between timers, as test/stack/helpers.ts settle). */
async function settle(clock, p) {
  let done = false;
  let failed = false;
  let value;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e) => {
      done = failed = true;
      value = e;
    },
  );
  for (let turn = 1; ; turn++) {
    for (let k = 0; k < 6; k++) await null;
    if (turn % 64 === 0) await new Promise((r) => setImmediate(r));
    if (done) break;
    const due = clock.nextDue();
    if (due === null) {
      await new Promise((r) => setImmediate(r));
      if (done) break;
      throw new Error(`nothing left to run at ${clock.now()} ms`);
    }
    clock.advance(Math.max(0, due - clock.now()));
  }
  if (failed) throw value;
  return value;
}

/** One transfer of `data` A → B at `loss` each way; returns the figures of one row. */
async function transfer(m, data, loss, congestion, seed) {
  const clock = new m.VirtualClock();
  const [d0, d1] = m.memoryPair({ clock });
  const link = m.impair(d0, { seed, drop: loss, ...LINK });
  const watch = senderWatch(m);
  const tcp = { congestion };
  const a = new m.StackDriver(link, { mac: "02:00:00:00:00:0a", ipv4: ["10.9.0.1/24"], random: m.seededRandom(seed), tcp, trace: watch });
  const b = new m.StackDriver(d1, { mac: "02:00:00:00:00:0b", ipv4: ["10.9.0.2/24"], random: m.seededRandom(seed + 1000), tcp });
  const server = new m.Sockets(b).socket("inet", "stream");
  server.bind("0.0.0.0", 5001);
  server.listen();
  const accepted = server.accept();
  const client = new m.Sockets(a).socket("inet", "stream");
  const real0 = performance.now();
  await settle(clock, client.connect("10.9.0.2", 5001));
  const conn = await settle(clock, accepted);
  const virtual0 = clock.now();
  let received = 0;
  const sending = (async () => {
    for (let at = 0; at < data.length; at += 1 << 18) await client.send(data.subarray(at, Math.min(data.length, at + (1 << 18))));
    client.shutdown("write");
  })();
  const reading = (async () => {
    for (;;) {
      const chunk = await conn.recv(1 << 20);
      if (chunk.length === 0) return;
      received += chunk.length;
    }
  })();
  await settle(clock, Promise.all([sending, reading]));
  const realS = (performance.now() - real0) / 1000;
  const virtualS = (clock.now() - virtual0) / 1000;
  client.close();
  conn.close();
  a.close();
  b.close();
  return { loss, congestion, received, virtualS, realS, goodput: received / 1e6 / virtualS, simRate: received / 1e6 / realS, retransmits: watch.retransmits, timeouts: watch.timeouts };
}

/**
 * Every row: each loss rate with NewReno and CUBIC. `log` gets the table.
 *
 * @returns the rows (for a caller that wants the figures)
 */
export async function runStackSimBench({ mib = 10, seed = 7, log = console.log } = {}) {
  const m = await load();
  const r = m.seededRandom(2024);
  const words = new Uint32Array((mib * 1024 * 1024) / 4);
  for (let i = 0; i < words.length; i++) words[i] = r.u32();
  const data = new Uint8Array(words.buffer);
  log(`== stack simulation: ${mib} MiB A -> B over impair (loss each way, 1 % duplicated, 1 % reordered by 3 frames, 5 ms each way), virtual clock, seed ${seed}`);
  log("goodput: MB/s of virtual time; sim: MB/s of real time the simulation ran at; rexmit: data segments sent again; rto: timeouts");
  const cols = `${"goodput".padStart(10)} ${"virtual s".padStart(10)} ${"sim".padStart(6)} ${"rexmit".padStart(6)} ${"rto".padStart(5)}`;
  const width = cols.length;
  log(`${"".padStart(5)} | ${"NewReno".padEnd(width)} | CUBIC`);
  log(`${"loss".padStart(5)} | ${cols} | ${cols}`);
  const rows = [];
  const fmt = (x) =>
    `${x.goodput.toPrecision(3).padStart(10)} ${x.virtualS.toFixed(1).padStart(10)} ${x.simRate.toFixed(1).padStart(6)} ${String(x.retransmits).padStart(6)} ${String(x.timeouts).padStart(5)}`;
  for (const loss of LOSSES) {
    const reno = await transfer(m, data, loss, "newreno", seed);
    const cubic = await transfer(m, data, loss, "cubic", seed);
    rows.push(reno, cubic);
    const short = [reno, cubic].filter((x) => x.received !== data.length).map((x) => ` (${x.congestion}: ${x.received} of ${data.length} bytes)`).join("");
    log(`${`${loss * 100}%`.padStart(5)} | ${fmt(reno)} | ${fmt(cubic)}${short}`);
  }
  return rows;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  await runStackSimBench({ mib: arg("--mib", 10), seed: arg("--seed", 7) });
}
