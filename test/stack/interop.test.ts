/**
 * Our stack against unmodified Linux, in two network namespaces joined by a
 * veth pair: the kernel owns 10.77.0.1 / fd77::1 in namespace A; our stack
 * lives on namespace B's end of the veth with 10.77.0.3 / fd77::3 and a MAC of
 * its own, so B's kernel takes our frames for another host's and never
 * answers or resets them. The kernel side's offloads are off (no partial
 * checksums, no 64 KB segments on the wire).
 *
 * Oracles: the kernel's replies (ping), real servers and clients (socat,
 * python3 -m http.server, nginx, curl), files compared by sha256, and the
 * kernel's own counters (nstat): no checksum errors and no resets for our
 * connections. Loss on the kernel's side comes from an nftables `numgen
 * random` drop rule (this kernel has no netem).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { impair, type ImpairedDevice } from "../../src/device/impair.ts";
import { openHost, type Host as StackHost } from "../../src/stack/host.ts";
import { bridgedLab, type BridgedLab } from "../helpers/bridged_lab.js";
import { connectStream } from "../../src/stack/stream.ts";
import { hasCommand, labSkipReason, makeLab, sleep, waitListening, type Lab } from "../helpers/lab.ts";
import { payload, sha } from "../helpers/run.ts";

const TOOLS = ["socat", "ping", "nft", "nstat", "curl", "nginx", "python3", "ethtool"];
const missing = TOOLS.filter((t) => !hasCommand(t));
const skip = labSkipReason ?? (missing.length > 0 ? `missing ${missing.join(", ")} (./setup installs them)` : null);

const OUR4 = "10.77.0.3";
const OUR6 = "fd77::3";
const MAC = "02:77:00:00:00:33";

describe.skipIf(skip !== null)(`interop with the Linux kernel${skip === null ? "" : ` (skipped: ${skip})`}`, () => {
  let lab: Lab;
  let host: StackHost;
  let dir: string;

  /** The kernel's TCP counters in namespace A (absolute since the namespace was made). */
  function nstat(): Record<string, number> {
    const out = execFileSync("ip", ["netns", "exec", lab.a.ns, "nstat", "-az"], { encoding: "utf8" });
    const r: Record<string, number> = {};
    for (const line of out.split("\n")) {
      const m = /^(\S+)\s+(\d+)/.exec(line);
      if (m !== null) r[m[1]!] = Number(m[2]);
    }
    return r;
  }

  beforeAll(async () => {
    lab = makeLab({ ipv6: true });
    for (const h of [lab.a, lab.b]) {
      // The kernel's side: whole segments with full checksums on the wire.
      execFileSync("ip", ["netns", "exec", h.ns, "ethtool", "-K", h.iface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"], { stdio: "ignore" });
    }
    dir = mkdtempSync(join(tmpdir(), "stackts-interop-"));
    host = openHost({ iface: lab.b.iface, netns: lab.b.ns, mac: MAC, ipv4: [`${OUR4}/24`], ipv6: [`${OUR6}/64`], tcp: { sendBuffer: 4 << 20, receiveBuffer: 4 << 20 } });
    await sleep(200);
  });

  afterAll(() => {
    host?.close();
    lab?.down();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const familyOf = (address: string): "inet" | "inet6" => (address.includes(":") ? "inet6" : "inet");
  const socatListen = (address: string, port: number): string => (address.includes(":") ? `TCP6-LISTEN:${port},reuseaddr` : `TCP-LISTEN:${port},reuseaddr`);
  const socatConnect = (address: string, port: number): string => (address.includes(":") ? `TCP6:[${address}]:${port}` : `TCP:${address}:${port}`);

  /** Read a socket to its end. */
  async function readAll(s: { recv(max?: number): Promise<Uint8Array> }): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for (let d = await s.recv(1 << 20); d.length > 0; d = await s.recv(1 << 20)) parts.push(d);
    return Buffer.concat(parts);
  }

  /** Our client sends `data` to a kernel server (socat writing a file); returns what the kernel got. */
  async function ourClientSends(address: string, port: number, data: Uint8Array): Promise<Buffer> {
    const out = join(dir, `a-${port}.bin`);
    const server = lab.a.spawn(["socat", "-u", socatListen(address, port), `OPEN:${out},creat,trunc`]);
    const exited = new Promise((r) => server.on("exit", r));
    await waitListening(lab.a.ns, port);
    const s = host.sockets.socket(familyOf(address), "stream");
    await s.connect(address, port);
    await s.send(data);
    s.close();
    await exited;
    return readFileSync(out);
  }

  /** A kernel server (socat reading a file) sends `data` to our client; returns what we got. */
  async function ourClientReceives(address: string, port: number, data: Uint8Array): Promise<Buffer> {
    const file = join(dir, `b-${port}.bin`);
    writeFileSync(file, data);
    const server = lab.a.spawn(["socat", "-u", `OPEN:${file}`, socatListen(address, port)]);
    await waitListening(lab.a.ns, port);
    const s = host.sockets.socket(familyOf(address), "stream");
    await s.connect(address, port);
    const got = await readAll(s);
    s.close();
    server.kill();
    return got;
  }

  /** Our server sends `data` to a kernel client (socat writing a file); returns what the kernel got. */
  async function kernelClientReceives(ourAddress: string, port: number, data: Uint8Array): Promise<Buffer> {
    const out = join(dir, `c-${port}.bin`);
    const listener = host.sockets.socket(familyOf(ourAddress), "stream");
    listener.bind(ourAddress, port);
    listener.listen(4);
    const client = lab.a.run(["socat", "-u", socatConnect(ourAddress, port), `OPEN:${out},creat,trunc`], { timeoutMs: 120_000 });
    const conn = await listener.accept();
    await conn.send(data);
    conn.close();
    const r = await client;
    listener.close();
    expect(r.stderr).toBe("");
    return readFileSync(out);
  }

  /** A kernel client (socat reading a file) sends `data` to our server; returns what we got. */
  async function kernelClientSends(ourAddress: string, port: number, data: Uint8Array): Promise<Buffer> {
    const file = join(dir, `d-${port}.bin`);
    writeFileSync(file, data);
    const listener = host.sockets.socket(familyOf(ourAddress), "stream");
    listener.bind(ourAddress, port);
    listener.listen(4);
    const client = lab.a.run(["socat", "-u", `OPEN:${file}`, socatConnect(ourAddress, port)], { timeoutMs: 120_000 });
    const conn = await listener.accept();
    const got = await readAll(conn);
    conn.close();
    const r = await client;
    listener.close();
    expect(r.stderr).toBe("");
    return got;
  }

  it("the kernel pings our host over IPv4 and IPv6, and every echo is answered", async () => {
    const v4 = await lab.a.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", OUR4]);
    expect(v4.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
    const v6 = await lab.a.run(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", OUR6]);
    expect(v6.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
  });

  for (const size of [1, 1_000_000, 50_000_000]) {
    it(`our client and a kernel server (socat), IPv4: ${size} bytes byte-exact each way`, async () => {
      const data = payload(size, size);
      expect(sha(await ourClientSends(lab.a.ip4, 6000 + (size % 997), data))).toBe(sha(data));
      expect(sha(await ourClientReceives(lab.a.ip4, 6100 + (size % 997), data))).toBe(sha(data));
    });
    it(`a kernel client (socat) and our server, IPv4: ${size} bytes byte-exact each way`, async () => {
      const data = payload(size, size + 1);
      expect(sha(await kernelClientReceives(OUR4, 7000 + (size % 997), data))).toBe(sha(data));
      expect(sha(await kernelClientSends(OUR4, 7100 + (size % 997), data))).toBe(sha(data));
    });
  }

  it("over IPv6 too: 1 MB byte-exact each way, our client and our server", async () => {
    const data = payload(1_000_000, 9);
    expect(sha(await ourClientSends(lab.a.ip6, 6300, data))).toBe(sha(data));
    expect(sha(await ourClientReceives(lab.a.ip6, 6301, data))).toBe(sha(data));
    expect(sha(await kernelClientReceives(OUR6, 7300, data))).toBe(sha(data));
    expect(sha(await kernelClientSends(OUR6, 7301, data))).toBe(sha(data));
  });

  it("Node's own http client runs over our stack: a file from python3 -m http.server and from nginx, sha256 equal", async () => {
    const root = join(dir, "www");
    execFileSync("mkdir", ["-p", root]);
    const file = payload(2_000_000, 3);
    writeFileSync(join(root, "file.bin"), file);
    const py = lab.a.spawn(["python3", "-m", "http.server", "8000", "--bind", lab.a.ip4, "--directory", root]);
    const conf = join(dir, "nginx.conf");
    writeFileSync(
      conf,
      [
        "daemon off;", "master_process off;", "worker_processes 1;", `pid ${join(dir, "nginx.pid")};`, `error_log ${join(dir, "nginx-error.log")};`,
        "events { worker_connections 64; }", "http {", "  access_log off;",
        `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
        `  server { listen ${lab.a.ip4}:8080; listen [${lab.a.ip6}]:8080; root ${root}; location / { } }`, "}", "",
      ].join("\n"),
    );
    const ng = lab.a.spawn(["nginx", "-c", conf, "-p", dir]);
    try {
      await sleep(800);
      const get = (hostname: string, port: number): Promise<{ status: number; body: Buffer }> =>
        new Promise((resolve, reject) => {
          const req = http.request(
            { hostname, port, path: "/file.bin", createConnection: () => connectStream(host.sockets, hostname, port) as never },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
              res.on("error", reject);
            },
          );
          req.on("error", reject);
          req.end();
        });
      for (const [h, p] of [[lab.a.ip4, 8000], [lab.a.ip4, 8080], [lab.a.ip6, 8080]] as const) {
        const r = await get(h, p);
        expect(r.status).toBe(200);
        expect(sha(r.body)).toBe(sha(file));
      }
    } finally {
      py.kill("SIGKILL");
      ng.kill("SIGKILL");
    }
  });

  it("curl fetches from an HTTP server written with our sockets (GET / HTTP/1.1 by hand)", async () => {
    const body = payload(300_000, 5);
    const listener = host.sockets.socket("inet", "stream");
    listener.bind(OUR4, 8081);
    listener.listen();
    const serve = (async () => {
      const c = await listener.accept();
      let request = "";
      while (!request.includes("\r\n\r\n")) {
        const d = await c.recv();
        if (d.length === 0) break;
        request += new TextDecoder().decode(d);
      }
      await c.send(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n`);
      await c.send(body);
      c.close();
      return request;
    })();
    const out = join(dir, "curl.bin");
    const r = await lab.a.run(["curl", "-sS", "-o", out, "-w", "%{http_code}", `http://${OUR4}:8081/x`]);
    const request = await serve;
    listener.close();
    expect(r.stdout).toBe("200");
    expect(request).toMatch(/^GET \/x HTTP\/1\.1\r\nHost: 10\.77\.0\.3:8081\r\n/);
    expect(sha(readFileSync(out))).toBe(sha(body));
  });

  it("the kernel counted no checksum errors and sent no resets for our connections", () => {
    const s = nstat();
    expect(s["TcpInCsumErrors"] ?? 0).toBe(0);
    expect(s["TcpInErrs"] ?? 0).toBe(0);
    expect(s["TcpOutRsts"] ?? 0).toBe(0);
    expect(s["TcpEstabResets"] ?? 0).toBe(0);
    expect(s["TcpAttemptFails"] ?? 0).toBe(0);
  });
});

describe.skipIf(skip !== null)(`interop with loss on the wire${skip === null ? "" : ` (skipped: ${skip})`}`, () => {
  // A switch between the kernel (A) and our stack (on B's link): R drops 5% of the frames it
  // forwards to our MAC (the kernel's loss, made by nftables' numgen in the bridge), and the
  // impairment wrapper drops 5% of what our stack sends (our side's loss). Both are losses
  // on the wire: neither sender can tell a drop from the network's.
  let lab: BridgedLab;
  let host: StackHost;
  let impaired: ImpairedDevice;
  let dir: string;

  beforeAll(async () => {
    lab = bridgedLab(`stl${process.pid % 100000}`);
    lab.loss(MAC, 5);
    dir = mkdtempSync(join(tmpdir(), "stackts-loss-"));
    host = openHost({
      iface: lab.ifs.b,
      netns: lab.ns.b,
      mac: MAC,
      ipv4: [`${OUR4}/24`],
      tcp: { sendBuffer: 4 << 20, receiveBuffer: 4 << 20 },
      wrap: (d) => (impaired = impair(d, { seed: 11, send: { drop: 0.05 } })),
    });
    await sleep(200);
  });

  afterAll(() => {
    host?.close();
    lab?.down();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const spawnInA = (argv: string[]): ReturnType<typeof spawn> => spawn("ip", ["netns", "exec", lab.ns.a, ...argv], { stdio: "ignore" });

  it("10 MB byte-exact each way with 5% loss each way; the kernel and our stack both retransmit", { timeout: 120_000 }, async () => {
    const data = payload(10_000_000, 21);
    const nstat = (): number => Number(/TcpRetransSegs\s+(\d+)/.exec(execFileSync("ip", ["netns", "exec", lab.ns.a, "nstat", "-az"], { encoding: "utf8" }))?.[1] ?? 0);
    const retransBefore = nstat();
    // Our client sends to a kernel socat server; then a kernel socat server sends to our client.
    const out = join(dir, "up.bin");
    const server = spawnInA(["socat", "-u", "TCP-LISTEN:6500,reuseaddr", `OPEN:${out},creat,trunc`]);
    const exited = new Promise((r) => server.on("exit", r));
    await waitListening(lab.ns.a, 6500);
    const up = host.sockets.socket("inet", "stream");
    await up.connect("10.77.0.1", 6500);
    await up.send(data);
    up.close();
    await exited;
    expect(sha(readFileSync(out))).toBe(sha(data));
    const file = join(dir, "down.bin");
    writeFileSync(file, data);
    const source = spawnInA(["socat", "-u", `OPEN:${file}`, "TCP-LISTEN:6501,reuseaddr"]);
    await waitListening(lab.ns.a, 6501);
    const down = host.sockets.socket("inet", "stream");
    await down.connect("10.77.0.1", 6501);
    const parts: Uint8Array[] = [];
    for (let d = await down.recv(1 << 20); d.length > 0; d = await down.recv(1 << 20)) parts.push(d);
    down.close();
    source.kill();
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
    // The losses were real: R dropped frames to us, the wrapper dropped ours, and the kernel
    // retransmitted what R dropped (it counts them: TcpRetransSegs).
    expect(lab.dropped(MAC)).toBeGreaterThan(50);
    expect(impaired.stats.send.dropped).toBeGreaterThan(50);
    expect(nstat() - retransBefore).toBeGreaterThan(50);
  });
});

describe.skipIf(skip !== null)(`interop with the kernel's offloads on (veth defaults)${skip === null ? "" : ` (skipped: ${skip})`}`, () => {
  // A veth peer with transmit checksum offload and TSO/GSO (the defaults) puts frames on the
  // "wire" that no NIC finished: TCP and UDP checksums hold only the pseudo-header sum, and a
  // TCP segment may be many MSS long. The kernel on the other end trusts its skb's flags;
  // we see only bytes. The oracles: the file, sha256 equal; the frame lengths as the capture
  // delivered them; the stack's counters of checksums taken as left for offload.
  let lab: Lab;
  let host: StackHost;
  let dir: string;
  let largest = 0;

  beforeAll(async () => {
    lab = makeLab({ ipv6: true, offload: "keep" });
    for (const h of [lab.a, lab.b]) {
      const k = execFileSync("ip", ["netns", "exec", h.ns, "ethtool", "-k", h.iface], { encoding: "utf8" });
      expect(k).toMatch(/^tx-checksumming: on/m);
      expect(k).toMatch(/^generic-segmentation-offload: on/m);
    }
    dir = mkdtempSync(join(tmpdir(), "stackts-offload-"));
    host = openHost({
      iface: lab.b.iface,
      netns: lab.b.ns,
      mac: MAC,
      ipv4: [`${OUR4}/24`],
      ipv6: [`${OUR6}/64`],
      wrap: (d) => {
        // a second reader of the same capture: the longest frame that came in
        d.onFrames((batch) => {
          for (let i = 0; i < batch.count; i++) largest = Math.max(largest, batch.length[i]!);
        });
        return d;
      },
    });
    await sleep(200);
  });

  afterAll(() => {
    host?.close();
    lab?.down();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("3 MB from a kernel server over IPv4 and IPv6 arrive byte-exact; checksums left for offload are taken, segments longer than the MTU too", { timeout: 60_000 }, async () => {
    const data = payload(3_000_000, 5);
    const file = join(dir, "src.bin");
    writeFileSync(file, data);
    for (const [address, listen] of [["10.77.0.1", "TCP-LISTEN:6600,reuseaddr"], ["fd77::1", "TCP6-LISTEN:6600,reuseaddr"]] as const) {
      const server = lab.a.spawn(["socat", "-u", `OPEN:${file}`, listen]);
      await waitListening(lab.a.ns, 6600);
      const s = host.sockets.socket(address.includes(":") ? "inet6" : "inet", "stream");
      await s.connect(address, 6600);
      const parts: Uint8Array[] = [];
      for (let d = await s.recv(1 << 20); d.length > 0; d = await s.recv(1 << 20)) parts.push(d);
      s.close();
      server.kill();
      expect(sha(Buffer.concat(parts))).toBe(sha(data));
    }
    expect(host.stack.tcp.stats.partialChecksum).toBeGreaterThan(100);
    expect(host.stack.tcp.stats.badChecksum).toBe(0);
    expect(largest).toBeGreaterThan(1514);
  });

  it("a UDP datagram from the kernel with its checksum left for offload is delivered", async () => {
    const s = host.sockets.socket("inet", "dgram");
    s.bind(OUR4, 6700);
    const got = s.recvfrom();
    await lab.a.run(["socat", "-u", "STDIN", "UDP:10.77.0.3:6700"], { input: "offloaded" });
    const { data } = await got;
    expect(Buffer.from(data).toString()).toBe("offloaded");
    expect(host.stack.udp.stats.partialChecksum).toBeGreaterThan(0);
    s.close();
  });
});
