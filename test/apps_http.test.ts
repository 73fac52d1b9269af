/**
 * HTTP over our own TCP/IP stack against real servers, in a two-namespace lab
 * (test/helpers/lab.ts): nginx and a small python3 server in namespace A
 * (the kernel's 10.77.0.1), and in namespace B our stack (10.77.0.3 for
 * `stackts http`, 10.77.0.4 for the library in this process) beside B's
 * kernel (10.77.0.2), which runs curl as the oracle.
 *
 * Oracles: the files nginx serves (sha256), curl's bytes for the same URL,
 * gunzip for nginx's gzip (chunked) responses, what the python3 server
 * received (it echoes the request), hand-written literals for error lines.
 * nginx takes no POST to a static file: POST goes through its proxy_pass to
 * the python3 server, which answers with the body and its sha256. The same
 * server writes what nginx will not: chunked bodies with trailers, a bad
 * chunk size, an HTTP/1.0 body ended by closing, a stall, a cut body.
 * Needs root; skips with the reason otherwise.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Agent, request as undiciRequest } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest } from "../src/apps/http_client.ts";
import { createConnection, stackConnector } from "../src/apps/http_node.ts";
import { impair, type ImpairedDevice } from "../src/device/impair.ts";
import type { Device } from "../src/device/device.ts";
import type { LiveDevice } from "../src/device/live_device.ts";
import { openHost, type Host as StackHost } from "../src/stack/host.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";
import { runToEnd, sha, type Done } from "./helpers/run.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin/stackts.js");
const built = existsSync(join(ROOT, "dist/src/cli/main.js"));
const missing = ["nginx", "curl", "python3", "nft", "ethtool", "/usr/bin/time"].find((c) => !hasCommand(c));
const skip = labSkipReason ?? (!built ? "dist/ missing: run npm run build:ts (npm test does)" : null) ?? (missing !== undefined ? `needs ${missing} (./setup installs it)` : null);

const NGINX = "http://10.77.0.1:8080";
const PY = "http://10.77.0.1:8081";
const CLI_IP = "10.77.0.3";
const LIB_IP = "10.77.0.4";
const LOSSY_IP = "10.77.0.5";


/** The python3 server: one thread per connection, the request read by hand, answers written byte for byte. */
const SERVER_PY = String.raw`
import hashlib, socket, sys, threading, time
def serve(c):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            d = c.recv(65536)
            if not d:
                return
            data += d
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        method, path, version = lines[0].split(b" ")
        fields = {}
        for l in lines[1:]:
            k, v = l.split(b":", 1)
            fields[k.strip().lower()] = v.strip()
        n = int(fields.get(b"content-length", b"0"))
        while len(rest) < n:
            d = c.recv(65536)
            if not d:
                break
            rest += d
        body = rest[:n]
        p = path.decode()
        if p == "/echo":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Method: " + method + b"\r\nX-Sha256: " + hashlib.sha256(body).hexdigest().encode()
                      + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        elif p == "/request":
            # HTTP/1.0, no length: the body (the request head as received) ends when we close.
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            c.sendall(head + b"\r\n\r\n")
        elif p == "/http10":
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
            for i in range(100):
                c.sendall(bytes((i + k) % 256 for k in range(1000)))
        elif p == "/chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5;ext=1\r\nhello\r\n")
            time.sleep(0.05)
            c.sendall(b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 31\r\n\r\n")
            time.sleep(0.5)
        elif p == "/bad-chunk":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore")
            time.sleep(30)
        elif p == "/stall":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            time.sleep(30)
        elif p == "/cut":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
        elif p == "/bighead":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
            time.sleep(5)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

/**
 * Run `stackts http ... URL` on our stack's address in B to its end (killed after `ms`).
 * Runs at the same time need addresses of their own (each host has its own MAC from it).
 */
function stackts(lab: Lab, args: string[], ms = 60_000, ip = CLI_IP, wrapper: string[] = []): Promise<Done> {
  return runToEnd([...wrapper, process.execPath, BIN, "http", "--netns", lab.b.ns, "--iface", lab.b.iface, ...(ip.includes(":") ? ["--ip6", `${ip}/64`] : ["--ip", `${ip}/24`]), ...args], ms);
}

/** curl in B (B's kernel, 10.77.0.2): the bytes it writes to stdout. */
async function curl(lab: Lab, dir: string, args: string[]): Promise<Buffer> {
  const out = join(dir, `curl-${randomBytes(4).toString("hex")}`);
  const r = await lab.b.run(["curl", "-sS", "-o", out, ...args]);
  expect(r.code, r.stderr).toBe(0);
  const b = readFileSync(out);
  rmSync(out);
  return b;
}

/** A head's text with the Date field's value blanked (two requests a second apart differ there). */
const undated = (head: string): string => head.replace(/^Date: .*$/m, "Date: -");

describe.skipIf(skip !== null)(`HTTP over our stack against nginx and python3 (lab)${skip === null ? "" : ` (skipped: ${skip})`}`, () => {
  let lab: Lab;
  let dir = "";
  let www = "";
  let host: StackHost;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    lab = makeLab({ ipv6: true });
    dir = mkdtempSync(join(tmpdir(), "stackts-http-"));
    // Whole segments with full checksums from the kernel (see test/cli_stack.test.ts).
    for (const h of [lab.a, lab.b]) await h.run(["ethtool", "-K", h.iface, "tx", "off", "tso", "off", "gso", "off", "gro", "off"]);
    www = join(dir, "www");
    mkdirSync(www);
    files["empty"] = Buffer.alloc(0);
    files["1k.bin"] = randomBytes(1024);
    files["2m.bin"] = randomBytes(2_000_000);
    files["50m.bin"] = randomBytes(50 * 1024 * 1024);
    // Text compresses, so gzip has something to do (and its output is chunked).
    files["text.txt"] = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i} of a text that gzip will shrink\n`).join(""));
    for (const [name, b] of Object.entries(files)) writeFileSync(join(www, name), b);
    writeFileSync(join(dir, "server.py"), SERVER_PY);
    writeFileSync(
      join(dir, "nginx.conf"),
      [
        "daemon off;", "master_process off;", "worker_processes 1;", `pid ${dir}/nginx.pid;`, `error_log ${dir}/nginx-error.log;`,
        "events { worker_connections 64; }",
        "http {",
        "  access_log off; default_type application/octet-stream;",
        `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
        `  server { listen 10.77.0.1:8080; listen [fd77::1]:8080; root ${www};`,
        "    gzip on; gzip_types *; gzip_min_length 0;",
        "    location = /old { return 302 /1k.bin; }",
        "    location = /see-other { return 303 /echo; }",
        "    location = /loop { return 301 /loop; }",
        `    location = /echo { client_max_body_size 10m; proxy_pass ${PY}; }`,
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    lab.a.spawn(["nginx", "-c", join(dir, "nginx.conf"), "-p", dir]);
    lab.a.spawn(["python3", join(dir, "server.py"), "10.77.0.1", "8081"]);
    // A DNS server for the names in URLs: www.web.test has an A record, v6only.web.test only AAAA.
    lab.a.spawn([
      "dnsmasq", "-k", "--conf-file=/dev/null", `--interface=${lab.a.iface}`, "--bind-interfaces", "--no-resolv", "--no-hosts",
      "--address=/www.web.test/10.77.0.1", "--address=/v6only.web.test/fd77::1", "--local=/web.test/", `--pid-file=${join(dir, "dnsmasq.pid")}`,
    ]);
    for (let i = 0; ; i++) {
      const r = await lab.a.run(["ss", "-Hltn"]);
      if (r.stdout.includes("10.77.0.1:8080") && r.stdout.includes("10.77.0.1:8081") && r.stdout.includes(":53 ")) break;
      if (i > 100) throw new Error(`nginx or python3 did not start: ${r.stdout} ${existsSync(join(dir, "nginx-error.log")) ? readFileSync(join(dir, "nginx-error.log"), "utf8") : ""}`);
      await sleep(50);
    }
    // The library's host, in this process.
    host = openHost({ iface: lab.b.iface, netns: lab.b.ns, mac: "02:53:0a:4d:00:04", ipv4: [`${LIB_IP}/24`] });
    await sleep(100);
  }, 60_000);

  afterAll(() => {
    host?.close();
    lab?.down();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("GET of 0 B, 1 KB and 50 MB files: the bytes nginx serves, to stdout and with -o", { timeout: 90_000 }, async () => {
    const empty = await stackts(lab, [`${NGINX}/empty`]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout.length).toBe(0);
    expect(empty.stderr).toBe("");
    const small = await stackts(lab, [`${NGINX}/1k.bin`]);
    expect(small.code, small.stderr).toBe(0);
    expect(sha(small.stdout)).toBe(sha(files["1k.bin"]!));
    // GNU time reports the largest resident set the kernel saw: the 50 MB body never sits in memory whole.
    const maxRss = (r: Done): number => Number(/^(\d+)$/m.exec(r.stderr)?.[1]) * 1024;
    const base = await stackts(lab, [`${NGINX}/empty`], 30_000, CLI_IP, ["/usr/bin/time", "-f", "%M"]);
    const out = join(dir, "got-50m.bin");
    const big = await stackts(lab, ["-o", out, `${NGINX}/50m.bin`], 60_000, CLI_IP, ["/usr/bin/time", "-f", "%M"]);
    expect(big.code, big.stderr).toBe(0);
    expect(big.stdout.length).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(files["50m.bin"]!));
    expect(maxRss(big) - maxRss(base), `${big.stderr} ${base.stderr}`).toBeLessThan(files["50m.bin"]!.length);
    // -o makes the file even for an empty body, as curl does.
    const outEmpty = join(dir, "got-empty");
    expect((await stackts(lab, ["-o", outEmpty, `${NGINX}/empty`])).code).toBe(0);
    expect(readFileSync(outEmpty).length).toBe(0);
  });

  it("an IPv6 literal in brackets: the file over IPv6, Host field as curl sends it", async () => {
    const r = await stackts(lab, ["-i", "http://[fd77::1]:8080/1k.bin"], 30_000, "fd77::3");
    expect(r.code, r.stderr).toBe(0);
    const end = r.stdout.indexOf("\r\n\r\n") + 4;
    expect(r.stdout.subarray(0, end).toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(sha(r.stdout.subarray(end))).toBe(sha(files["1k.bin"]!));
    const noV6 = await stackts(lab, ["http://[fd77::1]:8080/1k.bin"]);
    expect(noV6.code).toBe(2);
    expect(noV6.stderr).toBe("stackts: --ip6 : an IPv6 address of ours is needed to reach fd77::1\n");
  });

  it("-i writes the head as received, then the body: what curl -i writes (Date aside)", async () => {
    const ours = await stackts(lab, ["-i", `${NGINX}/1k.bin`]);
    expect(ours.code, ours.stderr).toBe(0);
    const theirs = await curl(lab, dir, ["-i", `${NGINX}/1k.bin`]);
    const split = (b: Buffer): [string, Buffer] => {
      const end = b.indexOf("\r\n\r\n") + 4;
      return [b.subarray(0, end).toString("latin1"), b.subarray(end)];
    };
    const [oursHead, oursBody] = split(ours.stdout);
    const [curlHead, curlBody] = split(theirs);
    expect(undated(oursHead)).toBe(undated(curlHead));
    expect(oursHead).toMatch(/^HTTP\/1\.1 200 OK\r\nServer: nginx\/[\d.]+\r\n/);
    expect(oursBody.equals(curlBody)).toBe(true);
    expect(sha(oursBody)).toBe(sha(files["1k.bin"]!));
  });

  it("a chunked response (nginx gzip): gunzip gives the file; the raw bytes are curl's", async () => {
    const ours = await stackts(lab, ["-i", "-H", "Accept-Encoding: gzip", `${NGINX}/text.txt`]);
    expect(ours.code, ours.stderr).toBe(0);
    const end = ours.stdout.indexOf("\r\n\r\n") + 4;
    const head = ours.stdout.subarray(0, end).toString("latin1");
    expect(head).toMatch(/\r\nTransfer-Encoding: chunked\r\n/);
    expect(head).toMatch(/\r\nContent-Encoding: gzip\r\n/);
    const body = ours.stdout.subarray(end);
    expect(body.length).toBeLessThan(files["text.txt"]!.length / 4);
    expect(gunzipSync(body).equals(files["text.txt"]!)).toBe(true);
    expect(body.equals(await curl(lab, dir, ["-H", "Accept-Encoding: gzip", `${NGINX}/text.txt`]))).toBe(true);
  });

  it("chunked with extensions and trailers (python3): the data, and the trailers through the library", async () => {
    const cli = await stackts(lab, ["--trace", `${PY}/chunked`]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.toString()).toBe("helloabcdefghijklmnopqrstuvwxyz");
    // --trace: the frames, and a "# http" line per step. The request is 85 bytes: 23 (request line) + 22 (Host)
    // + 25 (User-Agent) + 13 (Accept) + 2 (the empty line).
    const t = cli.stderr;
    expect(t).toMatch(/^ +\d+\.\d{6} # http connect 10\.77\.0\.1 port 8081$/m);
    expect(t).toMatch(/^ +\d+\.\d{6} > IP 10\.77\.0\.3\.\d+ > 10\.77\.0\.1\.8081: Flags \[P\.\], .*length 85: HTTP: GET \/chunked HTTP\/1\.1$/m);
    expect(t).toMatch(/^ +\d+\.\d{6} # http > GET \/chunked HTTP\/1\.1 \(85 bytes\)$/m);
    expect(t).toMatch(/^ +\d+\.\d{6} # http < HTTP\/1\.1 200 OK \(body: chunked\)$/m);
    expect(t).toMatch(/^ +\d+\.\d{6} # http body ended: 31 bytes, 1 trailer fields$/m);
    const parts: Buffer[] = [];
    const r = await httpRequest(host.sockets, `${PY}/chunked`, { onData: (c) => void parts.push(Buffer.from(c)) });
    expect(Buffer.concat(parts).toString()).toBe("helloabcdefghijklmnopqrstuvwxyz");
    expect(r.framing).toEqual({ kind: "chunked" });
    expect(r.trailers).toEqual([{ name: "X-Sum", value: "31" }]);
  });

  it("HEAD (-I): the head nginx sends for GET, no body", async () => {
    const ours = await stackts(lab, ["-I", `${NGINX}/1k.bin`]);
    expect(ours.code, ours.stderr).toBe(0);
    const text = ours.stdout.toString("latin1");
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/\r\nContent-Length: 1024\r\n/);
    expect(text.endsWith("\r\n\r\n")).toBe(true);
    expect(text.indexOf("\r\n\r\n")).toBe(text.length - 4);
    expect(undated(text)).toBe(undated((await curl(lab, dir, ["-I", `${NGINX}/1k.bin`])).toString("latin1")));
  });

  it("-w writes curl's --write-out variables after the body: the numbers curl gives for the same URL", async () => {
    const format = "%{http_code} %{size_download} %{size_header} %{url_effective} %{num_redirects} %{remote_ip} %{remote_port} 100%%\\n";
    const ours = await stackts(lab, ["-o", "/dev/null", "-w", format, `${NGINX}/1k.bin`]);
    expect(ours.code, ours.stderr).toBe(0);
    const theirs = (await lab.b.run(["curl", "-sS", "-o", "/dev/null", "-w", format, `${NGINX}/1k.bin`])).stdout.toString();
    expect(ours.stdout.toString()).toBe(theirs);
    expect(theirs).toMatch(/^200 1024 \d+ http:\/\/10\.77\.0\.1:8080\/1k\.bin 0 10\.77\.0\.1 8080 100%\n$/);
    // The times: seconds with six decimals, connect <= first byte <= total, and the speed is size / total.
    const t = await stackts(lab, ["-o", "/dev/null", "-w", "%{time_connect} %{time_starttransfer} %{time_total} %{speed_download}", `${NGINX}/1k.bin`]);
    const [connect, start, total, speed] = t.stdout.toString().split(" ").map(Number) as [number, number, number, number];
    expect(t.stdout.toString()).toMatch(/^\d+\.\d{6} \d+\.\d{6} \d+\.\d{6} \d+$/);
    expect(0 < connect && connect <= start && start <= total).toBe(true);
    expect(Math.abs(speed - 1024 / total)).toBeLessThan(1024 / total / 100 + 1);
    const bad = await stackts(lab, ["-w", "%{nope}", `${NGINX}/1k.bin`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.toString().trim().split("\n")).toEqual([expect.stringMatching(/^stackts: -w : unknown variable '%\{nope\}'/)]);
  });

  it("tcpdump on our interface sees both directions of our connection (what our stack sends passes the kernel's taps)", async () => {
    const pcap = join(dir, "beside.pcap");
    const dump = spawn("ip", ["netns", "exec", lab.b.ns, "tcpdump", "-i", lab.b.iface, "-U", "-n", "-w", pcap, `tcp port 8080 and host ${CLI_IP}`], { stdio: "ignore" });
    await sleep(700);
    const ours = await stackts(lab, ["-o", "/dev/null", `${NGINX}/1k.bin`]);
    expect(ours.code, ours.stderr).toBe(0);
    await sleep(300);
    dump.kill("SIGINT");
    await new Promise((r) => dump.once("close", r));
    const lines = (await lab.b.run(["tcpdump", "-n", "-r", pcap])).stdout.split("\n");
    expect(lines.some((l) => l.includes(`${CLI_IP}.`) && l.includes("> 10.77.0.1.8080: Flags [S]"))).toBe(true);
    expect(lines.some((l) => l.includes(`> 10.77.0.1.8080: Flags [P.]`) && l.includes("HTTP: GET /1k.bin HTTP/1.1"))).toBe(true);
    expect(lines.some((l) => l.includes(`10.77.0.1.8080 > ${CLI_IP}.`) && l.includes("Flags [S.]"))).toBe(true);
  });

  it("404: nginx's page, exit 0 (as curl without -f)", async () => {
    const ours = await stackts(lab, ["-i", `${NGINX}/missing`]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stdout.toString()).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    const body = ours.stdout.subarray(ours.stdout.indexOf("\r\n\r\n") + 4);
    expect(body.equals(await curl(lab, dir, [`${NGINX}/missing`]))).toBe(true);
    expect(body.toString()).toContain("<title>404 Not Found</title>");
  });

  it("POST (-d, and -d @FILE of 2 MB) through nginx's proxy_pass: the server got the bytes (its sha256)", async () => {
    const form = await stackts(lab, ["-i", "-d", "a=1&b=two", `${NGINX}/echo`]);
    expect(form.code, form.stderr).toBe(0);
    const text = form.stdout.toString();
    expect(text).toMatch(/\r\nX-Method: POST\r\n/);
    expect(text).toContain(`\r\nX-Sha256: ${sha(Buffer.from("a=1&b=two"))}\r\n`);
    expect(text.endsWith("\r\n\r\na=1&b=two")).toBe(true);
    const big = await stackts(lab, ["-i", "-X", "PUT", "-d", `@${join(www, "2m.bin")}`, `${NGINX}/echo`]);
    expect(big.code, big.stderr).toBe(0);
    const head = big.stdout.subarray(0, big.stdout.indexOf("\r\n\r\n") + 4).toString();
    expect(head).toMatch(/\r\nX-Method: PUT\r\n/);
    expect(head).toContain(`\r\nX-Sha256: ${sha(files["2m.bin"]!)}\r\n`);
    expect(sha(big.stdout.subarray(head.length))).toBe(sha(files["2m.bin"]!));
  });

  it("the request on the wire (python3 echoes it): request line, Host, our fields, -H; --http1.0", async () => {
    const r = await stackts(lab, ["--http1.0", "-H", "X-Test: yes", "-H", "Accept: text/plain", `${PY}/request`]);
    expect(r.code, r.stderr).toBe(0);
    // A field given with -H replaces ours of that name; the caller's come after ours, in their order (as curl does).
    expect(r.stdout.toString()).toBe("GET /request HTTP/1.0\r\nHost: 10.77.0.1:8081\r\nUser-Agent: stackts/0.1\r\nX-Test: yes\r\nAccept: text/plain\r\n\r\n");
  });

  it("HTTP/1.0 close-delimited body (python3 writes and closes): 100 000 bytes exact", async () => {
    const r = await stackts(lab, [`${PY}/http10`]);
    expect(r.code, r.stderr).toBe(0);
    const want = Buffer.concat(Array.from({ length: 100 }, (_, i) => Buffer.from(Array.from({ length: 1000 }, (_, k) => (i + k) % 256))));
    expect(r.stdout.equals(want)).toBe(true);
  });

  it("-L follows redirects (302, 303 turns POST into GET), bounded by --max-redirs; without -L the 3xx is the answer", async () => {
    const followed = await stackts(lab, ["-L", `${NGINX}/old`]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(sha(followed.stdout)).toBe(sha(files["1k.bin"]!));
    const not = await stackts(lab, ["-i", `${NGINX}/old`]);
    expect(not.stdout.toString()).toMatch(/^HTTP\/1\.1 302 Moved Temporarily\r\n[\s\S]*\r\nLocation: http:\/\/10\.77\.0\.1:8080\/1k\.bin\r\n/);
    const seeOther = await stackts(lab, ["-L", "-i", "-d", "x=1", `${NGINX}/see-other`]);
    expect(seeOther.code, seeOther.stderr).toBe(0);
    // curl -i -L writes every head; the second request was a GET with no body.
    expect(seeOther.stdout.toString()).toMatch(/^HTTP\/1\.1 303 See Other\r\n[\s\S]*\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*X-Method: GET\r\nX-Sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n/);
    const loop = await stackts(lab, ["-L", "--max-redirs", "3", `${NGINX}/loop`]);
    expect(loop.code).toBe(1);
    expect(loop.stderr).toBe(`stackts: ${NGINX}/loop : more than 3 redirects (the last to http://10.77.0.1:8080/loop)\n`);
  });

  it("a lying or stalled server: one clear line and exit 1, never a hang past --timeout", async () => {
    const cases: [string, string[], string][] = [
      ["/bad-chunk", [], 'bad chunk size "zz" after 5 body bytes'],
      ["/cut", [], "connection closed after 10 of 1000 body bytes"],
      ["/bighead", [], "response head longer than 65536 bytes"],
      ["/stall", ["--timeout", "1"], "waiting for 10.77.0.1 port 8081: timed out after 1 s"],
    ];
    const runs = await Promise.all(cases.map(([path, extra], i) => stackts(lab, [...extra, `${PY}${path}`], 20_000, `10.77.0.${10 + i}`)));
    runs.forEach((r, i) => {
      const [path, , why] = cases[i]!;
      expect(r.code, `${path}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toBe(`stackts: ${PY}${path} : ${why}\n`);
    });
    // The good bytes before the bad ones were written, as they came.
    expect(runs[0]!.stdout.toString()).toBe("hello");
    expect(runs[1]!.stdout.toString()).toBe("0123456789");
    const refused = await stackts(lab, ["http://10.77.0.1:8099/"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("stackts: http://10.77.0.1:8099/ : Connection refused\n");
  });

  it("a host name is asked of the DNS server over our UDP (--server, or --gw): the same bytes as by address; a name with no address is one line", async () => {
    const byName = await stackts(lab, ["--server", "10.77.0.1", "http://www.web.test:8080/1k.bin"]);
    expect(byName.code, byName.stderr).toBe(0);
    expect(sha(byName.stdout)).toBe(sha(files["1k.bin"]!));
    const viaGateway = await stackts(lab, ["--gw", "10.77.0.1", "--trace", "http://www.web.test:8080/1k.bin"]);
    expect(viaGateway.code, viaGateway.stderr).toBe(0);
    expect(sha(viaGateway.stdout)).toBe(sha(files["1k.bin"]!));
    // The trace shows the question and its answer, as tcpdump prints DNS.
    expect(viaGateway.stderr).toMatch(/> IP 10\.77\.0\.3\.\d+ > 10\.77\.0\.1\.53: \d+\+ (\[1au\] )?A\? www\.web\.test\./);
    expect(viaGateway.stderr).toMatch(/< IP 10\.77\.0\.1\.53 > 10\.77\.0\.3\.\d+: \d+\*? .*A 10\.77\.0\.1/);
    // Only an AAAA record and no IPv6 address of ours: no usable address.
    const v6only = await stackts(lab, ["--server", "10.77.0.1", "http://v6only.web.test:8080/"]);
    expect(v6only.code).toBe(1);
    expect(v6only.stderr).toBe("stackts: v6only.web.test : no address of a family we have (fd77::1)\n");
    const nxdomain = await stackts(lab, ["--server", "10.77.0.1", "http://nosuch.web.test:8080/"]);
    expect(nxdomain.code).toBe(1);
    expect(nxdomain.stderr).toMatch(/^stackts: nosuch\.web\.test : .*\n$/);
  });

  it("bad input on the command line: a name with no DNS server to ask, https, a bad -H: one line each", async () => {
    const name = await stackts(lab, ["http://example.test/"]);
    expect(name.code).toBe(2);
    expect(name.stderr).toBe("stackts: --server : which DNS server for example.test? give --server (or --gw, or --dhcp for the lease's)\n");
    const tls = await stackts(lab, ["https://10.77.0.1/"]);
    expect(tls.code).toBe(2);
    expect(tls.stderr).toBe("stackts: https://10.77.0.1/ : https is not supported (no TLS over our stack): use http://\n");
    const h = await stackts(lab, ["-H", "no-colon", `${NGINX}/`]);
    expect(h.code).toBe(2);
    expect(h.stderr).toBe("stackts: -H : expected 'Name: value', got 'no-colon'\n");
  });

  it("Node's http.request and undici over our stack get the bytes curl gets", { timeout: 60_000 }, async () => {
    const connect = stackConnector(host);
    const nodeGet = (path: string, headers: Record<string, string> = {}): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: "10.77.0.1", port: 8080, path, headers, createConnection: connect }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks)));
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end();
      });
    const agent = new Agent({ connect });
    try {
      const undiciGet = async (path: string, headers: Record<string, string> = {}): Promise<Buffer> => {
        const r = await undiciRequest(`${NGINX}${path}`, { dispatcher: agent, headers });
        return Buffer.from(await r.body.arrayBuffer());
      };
      for (const [path, headers] of [["/1k.bin", {}], ["/2m.bin", {}], ["/missing", {}], ["/text.txt", { "accept-encoding": "gzip" }]] as const) {
        const want = await curl(lab, dir, [...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]), `${NGINX}${path}`]);
        expect((await nodeGet(path, headers)).equals(want), `http.request ${path}`).toBe(true);
        expect((await undiciGet(path, headers)).equals(want), `undici ${path}`).toBe(true);
      }
      // Node's keep-alive Agent: three requests, one connection of ours (it calls setKeepAlive, ref/unref, reads timeout).
      let opened = 0;
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      keepAlive.createConnection = (options, callback) => (opened++, connect(options, callback));
      const sockets = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const body = await new Promise<Buffer>((resolve, reject) => {
          http.get({ host: "10.77.0.1", port: 8080, path: "/1k.bin", agent: keepAlive }, (res) => {
            sockets.add(res.socket);
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve(Buffer.concat(chunks)));
          }).on("error", reject);
        });
        expect(sha(body)).toBe(sha(files["1k.bin"]!));
      }
      keepAlive.destroy();
      expect(opened).toBe(1);
      expect(sockets.size).toBe(1);
      // createConnection: a TcpStream at once (net.connect style), writes queued until the handshake is done.
      const raw = createConnection(host, { host: "10.77.0.1", port: 8080 });
      expect(raw.connecting).toBe(true);
      const got: Buffer[] = [];
      raw.on("data", (c: Buffer) => got.push(c));
      await new Promise((resolve, reject) => {
        raw.on("end", resolve).on("error", reject);
        raw.end("GET /1k.bin HTTP/1.0\r\nHost: 10.77.0.1\r\n\r\n");
      });
      const response = Buffer.concat(got);
      expect(sha(response.subarray(response.indexOf("\r\n\r\n") + 4))).toBe(sha(files["1k.bin"]!));
      expect(raw.bytesRead).toBe(response.length);
      expect(raw.bytesWritten).toBe(41);
      expect(raw.remoteAddress).toBe("10.77.0.1");
      expect(() => createConnection(host, { host: "example.test", port: 80 })).toThrow("Cannot connect to 'example.test': not an IP address (give stackConnector a resolver for names)");
      // A refused connection reaches undici as its error, with our errno.
      await expect(undiciRequest("http://10.77.0.1:8099/", { dispatcher: agent })).rejects.toMatchObject({ code: "ECONNREFUSED" });
    } finally {
      await agent.close();
    }
  });

  it("names go through the resolve hook (httpRequest, http.request and undici); the Host field keeps the name", async () => {
    const asked: string[] = [];
    const resolve = async (name: string): Promise<string> => {
      asked.push(name);
      if (name === "www.lab.test") return "10.77.0.1";
      throw new Error(`no such name: ${name}`);
    };
    const parts: Buffer[] = [];
    const r = await httpRequest(host.sockets, "http://www.lab.test:8081/request", { resolve, onData: (c) => void parts.push(Buffer.from(c)) });
    expect(r.head.status).toBe(200);
    expect(Buffer.concat(parts).toString()).toMatch(/^GET \/request HTTP\/1\.1\r\nHost: www\.lab\.test:8081\r\n/);
    await expect(httpRequest(host.sockets, "http://nowhere.test/", { resolve })).rejects.toThrow("no such name: nowhere.test");
    await expect(httpRequest(host.sockets, "http://nowhere.test/")).rejects.toThrow("cannot resolve host name 'nowhere.test' (no resolver given; use an IP address)");
    const connect = stackConnector(host, { resolve });
    const body = await new Promise<Buffer>((ok, fail) => {
      http.get({ host: "www.lab.test", port: 8080, path: "/1k.bin", createConnection: connect }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => ok(Buffer.concat(chunks)));
      }).on("error", fail);
    });
    expect(sha(body)).toBe(sha(files["1k.bin"]!));
    const agent = new Agent({ connect });
    try {
      const u = await undiciRequest("http://www.lab.test:8080/1k.bin", { dispatcher: agent });
      expect(sha(Buffer.from(await u.body.arrayBuffer()))).toBe(sha(files["1k.bin"]!));
      await expect(undiciRequest("http://nowhere.test:8080/", { dispatcher: agent })).rejects.toThrow("no such name: nowhere.test");
    } finally {
      await agent.close();
    }
    expect(asked).toEqual(["www.lab.test", "nowhere.test", "www.lab.test", "www.lab.test", "nowhere.test"]);
  });

  it("2 MB with loss both ways (nftables drops every 20th packet A sends us, the wrapper a quarter of ours: they are few, an ACK per capture batch): sha256 equal", { timeout: 60_000 }, async () => {
    await lab.a.run(["nft", "add table inet loss; add chain inet loss out { type filter hook output priority 0; }"]);
    // Every 20th packet to us (5%, counted, so the drops are there however few segments the kernel makes).
    const rule = await lab.a.run(["nft", `add rule inet loss out ip daddr ${LOSSY_IP} numgen inc mod 20 == 0 counter drop`]);
    expect(rule.code, rule.stderr).toBe(0);
    let impaired: ImpairedDevice | undefined;
    const lossy = openHost({
      iface: lab.b.iface,
      netns: lab.b.ns,
      mac: "02:53:0a:4d:00:05",
      ipv4: [`${LOSSY_IP}/24`],
      wrap: (d) => (impaired = impair(d, { seed: 7, send: { drop: 0.25 } })),
    });
    try {
      const h = createHash("sha256");
      const r = await httpRequest(lossy.sockets, `${NGINX}/2m.bin`, { onData: (c) => void h.update(c) });
      expect(r.head.status).toBe(200);
      expect(h.digest("hex")).toBe(sha(files["2m.bin"]!));
    } finally {
      lossy.close();
    }
    const counted = (await lab.a.run(["nft", "list table inet loss"])).stdout;
    expect(Number(/counter packets (\d+)/.exec(counted)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(impaired!.stats.send.dropped).toBeGreaterThan(0);
    await lab.a.run(["nft", "delete table inet loss"]);
  });

  it("the host's capture merges nginx's segments (software GRO) and the bytes stay nginx's: 50 MB with it and without, and over IPv6; the kernel counts the segments that arrived", { timeout: 60_000 }, async () => {
    const LAB_IP = "10.77.0.6";
    // The kernel's count of the segments reaching B's interface for us (netdev ingress: before any capture, after the wire).
    await lab.b.run(["nft", `add table netdev seen; add chain netdev seen in { type filter hook ingress device ${lab.b.iface} priority 0; }`]);
    const rule = await lab.b.run(["nft", `add rule netdev seen in ip daddr ${LAB_IP} tcp sport 8080 counter`]);
    expect(rule.code, rule.stderr).toBe(0);
    const arrived = async (): Promise<number> => Number(/counter packets (\d+)/.exec((await lab.b.run(["nft", "list table netdev seen"])).stdout)?.[1] ?? -1);
    // Whole segments on the wire (this lab keeps TSO, whose 64 KB segments would reach us unsplit).
    const offloads = async (on: "on" | "off"): Promise<void> => void (await lab.a.run(["ethtool", "-K", lab.a.iface, "tso", on, "gso", on]));
    await offloads("off");
    try {
      // On by default; off when asked, and by default under a wrap (which sees the wire's frames).
      for (const [gro, options] of [[true, {}], [false, { gro: false }], [false, { wrap: (d: Device) => d }]] as const) {
        const before = await arrived();
        const h = openHost({ iface: lab.b.iface, netns: lab.b.ns, mac: "02:53:0a:4d:00:06", ipv4: [`${LAB_IP}/24`], ipv6: ["fd77::6/64"], ...options });
        try {
          const digest = createHash("sha256");
          const r = await httpRequest(h.sockets, `${NGINX}/50m.bin`, { onData: (c) => void digest.update(c) });
          expect(r.head.status).toBe(200);
          expect(digest.digest("hex")).toBe(sha(files["50m.bin"]!));
          await sleep(100);
          const segments = (await arrived()) - before; // what reached us from nginx, the kernel's count
          const live = h.device as LiveDevice; // the wrap above is the identity
          const capture = live.capture.stats();
          const framesIn = h.stack.stats.framesIn;
          expect(segments).toBeGreaterThan(36_000); // 50 MiB in segments of at most 1448 bytes, offloads off
          if (gro) {
            // Each wire segment reached the stack on its own or merged into the one before it
            // (the stack's frames also count a few ARP ones).
            expect(framesIn + capture.merged - segments).toBeGreaterThanOrEqual(0);
            expect(framesIn + capture.merged - segments).toBeLessThan(20);
            expect(capture.merged).toBeGreaterThan(segments / 2);
            expect(framesIn).toBeLessThan(segments / 2);
            expect(h.stack.tcp.stats.badChecksum).toBe(0);
            // And over IPv6 (segments of 1428 bytes: ~36 700 for the file).
            const v6 = createHash("sha256");
            const r6 = await httpRequest(h.sockets, "http://[fd77::1]:8080/50m.bin", { onData: (c) => void v6.update(c) });
            expect(r6.head.status).toBe(200);
            expect(v6.digest("hex")).toBe(sha(files["50m.bin"]!));
            expect(live.capture.stats().merged - capture.merged).toBeGreaterThan(18_000);
          } else {
            expect(capture.merged).toBe(0);
            expect(framesIn).toBeGreaterThanOrEqual(segments);
          }
        } finally {
          await h.endConnections();
          h.close();
        }
      }
    } finally {
      await offloads("on");
      await lab.b.run(["nft", "delete table netdev seen"]);
    }
  });
});
