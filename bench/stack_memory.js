// Two stackts stacks over the in-memory link, in one process, on a virtual
// clock (the link has no delay; time only orders the work): how fast the
// stack itself moves bytes, sender and receiver together. Used by stack.js.
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(join(ROOT, "dist", p));

/** Drive the clock until `p` settles. */
async function run(clock, p) {
  let done = false;
  let value;
  p.then((v) => {
    done = true;
    value = v;
  });
  while (!done) {
    for (let k = 0; k < 4; k++) await null;
    if (done) break;
    const due = clock.nextDue();
    if (due === null) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    clock.advance(Math.max(0, due - clock.now()));
  }
  return value;
}

/** MB/s of one transfer of `mb` MB between two stacks over a memory pair with this MTU. */
export async function memoryThroughput(mtu, mb) {
  const { VirtualClock } = await dist("src/device/clock.js");
  const { memoryPair } = await dist("src/device/memory.js");
  const { StackDriver } = await dist("src/stack/driver.js");
  const { seededRandom } = await dist("src/stack/random.js");
  const { Sockets } = await dist("src/stack/sockets.js");
  const clock = new VirtualClock();
  const [d0, d1] = memoryPair({ clock, mtu });
  const tcp = { sendBuffer: 4 << 20, receiveBuffer: 4 << 20 };
  const a = new StackDriver(d0, { mac: "02:00:00:00:00:0a", ipv4: ["10.9.0.1/24"], random: seededRandom(1), tcp });
  const b = new StackDriver(d1, { mac: "02:00:00:00:00:0b", ipv4: ["10.9.0.2/24"], random: seededRandom(2), tcp });
  const server = new Sockets(b).socket("inet", "stream");
  server.bind("0.0.0.0", 8080);
  server.listen(4);
  const client = new Sockets(a).socket("inet", "stream");
  const accepted = server.accept();
  await run(clock, client.connect("10.9.0.2", 8080));
  const conn = await run(clock, accepted);
  const total = mb * 1_000_000;
  const chunk = new Uint8Array(1 << 20);
  const t0 = performance.now();
  const sending = (async () => {
    for (let s = 0; s < total; s += chunk.length) await client.send(chunk.subarray(0, Math.min(chunk.length, total - s)));
  })();
  let got = 0;
  const reading = (async () => {
    while (got < total) {
      const d = await conn.recv(1 << 22);
      if (d.length === 0) break;
      got += d.length;
    }
  })();
  await run(clock, Promise.all([sending, reading]));
  const seconds = (performance.now() - t0) / 1000;
  a.close();
  b.close();
  return total / 1e6 / seconds;
}
