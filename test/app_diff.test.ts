// Differential test of the application layers against tshark (fields) and
// tcpdump (one-line summaries), over captures of real servers and clients from
// Debian's packages talking across the lab's veth pair:
//
//   dnsmasq (authoritative test zone) ← dig over UDP and TCP
//   dnsmasq (DHCP server)             ← busybox udhcpc
//   in.tftpd (tftpd-hpa)              ← tftp-hpa client, busybox tftp -b (RFC 2348 option), a missing file
//   nginx (own config)                ← curl GET, POST, 404, --http1.0
//
// Each capture is written by `tcpdump -w` inside host a's namespace, decoded by
// our pipeline (with the TFTP tracker fed packet by packet), and every field is
// compared with what tshark prints for the same frame, for every frame.
// Needs root (network namespaces); skips with the reason otherwise.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasCommand, labSkipReason, makeLab, sleep, tcpdumpWhile, type Lab } from "./helpers/lab.ts";
import { PacketDecoder, type DecodedPacket } from "../layers/decode.ts";
import { openCaptureFile } from "../src/capture_file.ts";
import { TftpTracker } from "../src/tftp_tracker.ts";
import { appSummary } from "../src/format/app_summary.ts";
import type { LayerBase } from "../layers/core.ts";
import type { Dns, DnsRecord, DnsOpt, DnsMx, DnsSrv } from "../layers/dns.ts";
import type { Dhcp } from "../layers/dhcp.ts";
import type { Tftp } from "../layers/tftp.ts";
import { header, type Http } from "../layers/http.ts";

const TOOLS = ["tcpdump", "tshark", "dnsmasq", "dig", "busybox", "in.tftpd", "tftp", "nginx", "curl"];
const missing = TOOLS.filter((t) => !hasCommand(t) && !hasCommand(`/usr/sbin/${t}`));
const skip = labSkipReason ?? (missing.length > 0 ? `needs ${missing.join(", ")} (run ./setup)` : null);

function tshark(file: string, fields: string[], extra: string[] = []): string[][] {
  const out = execFileSync(
    "tshark",
    ["-r", file, "-n", ...extra, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|", ...fields.flatMap((f) => ["-e", f])],
    { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "ignore"] },
  );
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

function decodeFile(file: string): DecodedPacket[] {
  const tracker = new TftpTracker();
  const decoder = new PacketDecoder({ udpHint: tracker.udpHint });
  const packets: DecodedPacket[] = [];
  const reader = openCaptureFile(file);
  try {
    for (const f of reader.frames()) {
      const p = decoder.decode(f.data, f.linkType, f.length);
      tracker.observe(p, f.sec + f.nsec / 1e9);
      packets.push(p);
    }
  } finally {
    reader.close();
  }
  return packets;
}

/**
 * The packet's layers named `layer`, then those of a datagram quoted in an ICMP
 * error: tshark's fields cover the quote too (an ACK the server's closed port
 * bounced comes back as a quoted TFTP datagram).
 */
function find<T extends LayerBase>(p: { layers: readonly LayerBase[] }, layer: string): T[] {
  const found = (p.layers as LayerBase[]).filter((l) => l.layer === layer) as T[];
  for (const l of p.layers) {
    const quoted = (l as { quoted?: { layers: readonly LayerBase[] } }).quoted;
    if (quoted !== undefined) found.push(...find<T>(quoted, layer));
  }
  return found;
}

describe.skipIf(skip)("application layers against tshark and tcpdump", () => {
  let lab: Lab;
  let dir: string;

  beforeAll(() => {
    lab = makeLab();
    dir = mkdtempSync(join(tmpdir(), "stackts-app-"));
  });
  afterAll(() => {
    lab?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Run `body` while tcpdump writes host a's interface to a file; return the file. */
  async function capture(name: string, body: () => Promise<void>): Promise<string> {
    const file = join(dir, `${name}.pcap`);
    await tcpdumpWhile(lab.a, file, body);
    return file;
  }

  async function ok(host: "a" | "b", argv: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await lab[host].run(argv, opts);
    if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async function dnsScenario(): Promise<string> {
    const d = lab.a.spawn([
      "dnsmasq", "-k", "-C", "/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces", `--interface=${lab.a.iface}`,
      `--listen-address=${lab.a.ip4}`, "--pid-file", "--user=root",
      "--address=/www.example.test/10.77.0.9",
      "--host-record=host.example.test,10.77.0.10,fd77::10",
      "--txt-record=txt.example.test,hello world,second",
      "--mx-host=example.test,mail.example.test,10",
      "--srv-host=_http._tcp.example.test,web.example.test,80,1,5",
      "--cname=alias.example.test,host.example.test",
    ]);
    try {
      await sleep(500);
      return await capture("dns", async () => {
        const dig = ["dig", `@${lab.a.ip4}`, "+tries=1", "+time=2"];
        const queries = [
          ["www.example.test", "A"],
          ["host.example.test", "AAAA"],
          ["txt.example.test", "TXT"],
          ["example.test", "MX"],
          ["_http._tcp.example.test", "SRV"],
          ["alias.example.test", "A"],
          ["-x", "10.77.0.10"],
          ["nx.example.test", "A"],
          ["+noedns", "+norecurse", "www.example.test", "A"],
          ["+dnssec", "host.example.test", "A"],
        ];
        for (const q of queries) await ok("b", [...dig, ...q]);
        await ok("b", [...dig, "+tcp", "www.example.test", "A"]);
        await ok("b", [...dig, "+tcp", "txt.example.test", "TXT"]);
      });
    } finally {
      d.kill("SIGKILL");
    }
  }

  async function dhcpScenario(): Promise<string> {
    const d = lab.a.spawn([
      "dnsmasq", "-k", "-C", "/dev/null", "--no-resolv", "--no-hosts", "--port=0", "--bind-interfaces", `--interface=${lab.a.iface}`,
      "--pid-file", "--user=root", `--dhcp-leasefile=${join(dir, "leases")}`, "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,1h",
      "--dhcp-option=option:router,10.77.0.1", "--dhcp-option=option:dns-server,10.77.0.1", "--domain=example.test", "--dhcp-authoritative",
    ]);
    try {
      await sleep(500);
      return await capture("dhcp", async () => {
        // -s /bin/true: take the lease but leave host b's address alone.
        await ok("b", ["busybox", "udhcpc", "-i", lab.b.iface, "-n", "-q", "-f", "-s", "/bin/true", "-x", "hostname:labhost", "-V", "stackts-test"], { timeoutMs: 20_000 });
      });
    } finally {
      d.kill("SIGKILL");
    }
  }

  async function tftpScenario(): Promise<string> {
    const root = join(dir, "tftp");
    mkdirSync(root, { recursive: true });
    const big = new Uint8Array(1300);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    writeFileSync(join(root, "file.bin"), big);
    writeFileSync(join(root, "small.txt"), "hello tftp\n");
    const t = lab.a.spawn(["in.tftpd", "-L", "-s", root, "--address", `${lab.a.ip4}:69`]);
    try {
      await sleep(500);
      return await capture("tftp", async () => {
        const out = join(dir, "out");
        await ok("b", ["tftp", lab.a.ip4, "-m", "octet", "-c", "get", "file.bin", out]);
        await ok("b", ["tftp", lab.a.ip4, "-c", "get", "small.txt", out]);
        await ok("b", ["busybox", "tftp", "-g", "-r", "file.bin", "-l", out, "-b", "1024", lab.a.ip4]);
        await lab.b.run(["tftp", lab.a.ip4, "-c", "get", "missing.bin", out]);
      });
    } finally {
      t.kill("SIGKILL");
    }
  }

  async function httpScenario(): Promise<string> {
    const root = join(dir, "www");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "index.html"), "<html><body>hello</body></html>\n");
    const conf = join(dir, "nginx.conf");
    writeFileSync(
      conf,
      [
        "daemon off;",
        "master_process off;",
        "worker_processes 1;",
        `pid ${join(dir, "nginx.pid")};`,
        `error_log ${join(dir, "nginx-error.log")};`,
        "events { worker_connections 64; }",
        "http {",
        "  access_log off;",
        `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
        `  server { listen ${lab.a.ip4}:80; root ${root}; location / { } }`,
        "}",
        "",
      ].join("\n"),
    );
    const n = lab.a.spawn(["nginx", "-c", conf, "-p", dir]);
    try {
      await sleep(700);
      return await capture("http", async () => {
        const base = `http://${lab.a.ip4}`;
        await ok("b", ["curl", "-s", "-o", "/dev/null", "-H", "X-Mixed-Case: Yes", `${base}/index.html`]);
        await ok("b", ["curl", "-s", "-o", "/dev/null", "-d", "a=1&b=2", `${base}/index.html`]);
        await ok("b", ["curl", "-s", "-o", "/dev/null", `${base}/missing`]);
        await ok("b", ["curl", "-s", "-o", "/dev/null", "--http1.0", `${base}/index.html`]);
      });
    } finally {
      n.kill("SIGKILL");
    }
  }

  const hex = (n: number, digits: number): string => "0x" + n.toString(16).padStart(digits, "0");
  const bool = (b: boolean): string => (b ? "1" : "0");
  const bar = (xs: readonly (string | number)[]): string => xs.join("|");
  const rootName = (n: string): string => (n === "." ? "<Root>" : n);

  /** tshark's rows, and ours for the same fields, one row per frame, frame number first. */
  function compare(file: string, fields: string[], row: (p: DecodedPacket) => string[], extra: string[] = []): DecodedPacket[] {
    const theirs = tshark(file, ["frame.number", ...fields], extra).map((r) => {
      while (r.length < fields.length + 1) r.push("");
      return r;
    });
    const packets = decodeFile(file);
    const ours = packets.map((p, i) => [String(i + 1), ...row(p)]);
    expect(ours.length).toBe(theirs.length);
    // Keyed by field name, so a difference names the frame and the field.
    const named = (rows: string[][]): Record<string, string>[] =>
      rows.map((r) => Object.fromEntries(["frame.number", ...fields].map((f, i) => [f, r[i] ?? ""])));
    expect(named(ours)).toEqual(named(theirs));
    return packets;
  }

  /** Our summary must end each tcpdump line that shows the same protocol (tcpdump -n, one line per frame). */
  function compareSummaries(file: string, packets: DecodedPacket[], shows: RegExp): number {
    const lines = execFileSync("tcpdump", ["-n", "-r", file], { encoding: "utf8", env: { ...process.env, TZ: "UTC" }, stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .filter((l) => l !== "");
    expect(lines.length).toBe(packets.length);
    let compared = 0;
    packets.forEach((p, i) => {
      const line = lines[i]!;
      const app = (p.layers as LayerBase[]).find((l) => ["dns", "dhcp", "tftp", "http"].includes(l.layer));
      const text = app === undefined ? null : appSummary(app);
      if (!shows.test(line)) {
        // tcpdump did not recognise it (TFTP after the request: tcpdump keeps no conversations).
        if (text !== null) expect(app!.layer).toBe("tftp");
        return;
      }
      expect(text, `frame ${i + 1}: ${line}`).not.toBeNull();
      // The DHCP message type is our one addition to tcpdump's default line.
      expect(line, `frame ${i + 1}`).toMatch(new RegExp(escapeRe(text!.replace(/, DHCP \w+$/, "")) + "$"));
      compared++;
    });
    return compared;
  }
  const escapeRe = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  it("DNS over UDP and TCP: every field as tshark shows it, summaries as tcpdump prints them", async () => {
    const file = await dnsScenario();
    const fields = [
      "dns.id", "dns.flags", "dns.flags.response", "dns.flags.opcode", "dns.flags.rcode", "dns.flags.authoritative",
      "dns.flags.truncated", "dns.flags.recdesired", "dns.flags.recavail", "dns.flags.authenticated",
      "dns.count.queries", "dns.count.answers", "dns.count.auth_rr", "dns.count.add_rr",
      "dns.qry.name", "dns.qry.type", "dns.qry.class",
      "dns.resp.name", "dns.resp.type", "dns.resp.class", "dns.resp.ttl",
      "dns.a", "dns.aaaa", "dns.cname", "dns.txt", "dns.mx.preference", "dns.mx.mail_exchange",
      "dns.srv.priority", "dns.srv.weight", "dns.srv.port", "dns.srv.target", "dns.ptr.domain_name",
      "dns.rr.udp_payload_size", "dns.resp.ext_rcode", "dns.resp.edns0_version", "dns.resp.z.do", "dns.opt.code", "dns.opt.len",
    ];
    const packets = compare(file, fields, (p) => {
      const ds = find<Dns>(p, "dns");
      if (ds.length === 0) return fields.map(() => "");
      const all = (f: (d: Dns) => (string | number)[]): string => bar(ds.flatMap(f));
      const records = (d: Dns): DnsRecord[] => [...d.answers, ...d.authorities, ...d.additionals];
      const data = <T,>(type: number, f: (x: T) => string | number): string =>
        all((d) => records(d).filter((r) => r.type === type).map((r) => f(r.data as T)));
      const opts = (d: Dns): DnsOpt[] => records(d).filter((r) => r.type === 41).map((r) => r.data as DnsOpt);
      return [
        all((d) => [hex(d.id, 4)]),
        all((d) => [hex(d.flags, 4)]),
        all((d) => [bool(d.response)]),
        all((d) => [d.opcode]),
        all((d) => (d.response ? [d.rcode] : [])),
        all((d) => (d.response ? [bool(d.authoritative)] : [])),
        all((d) => [bool(d.truncated)]),
        all((d) => [bool(d.recursionDesired)]),
        all((d) => (d.response ? [bool(d.recursionAvailable)] : [])),
        all((d) => [bool(d.authenticData)]),
        all((d) => [d.questionCount]),
        all((d) => [d.answerCount]),
        all((d) => [d.authorityCount]),
        all((d) => [d.additionalCount]),
        all((d) => d.questions.map((q) => rootName(q.name))),
        all((d) => d.questions.map((q) => q.type)),
        all((d) => d.questions.map((q) => hex(q.class, 4))),
        // tshark files an SRV owner name under dns.srv.* instead of dns.resp.name.
        all((d) => records(d).filter((r) => r.type !== 33).map((r) => rootName(r.name))),
        all((d) => records(d).map((r) => r.type)),
        all((d) => records(d).filter((r) => r.type !== 41).map((r) => hex(r.class, 4))),
        all((d) => records(d).filter((r) => r.type !== 41).map((r) => r.ttl)),
        data<string>(1, (x) => x),
        data<string>(28, (x) => x),
        data<string>(5, (x) => x),
        all((d) => records(d).filter((r) => r.type === 16).flatMap((r) => r.data as string[])),
        data<DnsMx>(15, (x) => x.preference),
        data<DnsMx>(15, (x) => x.exchange),
        data<DnsSrv>(33, (x) => x.priority),
        data<DnsSrv>(33, (x) => x.weight),
        data<DnsSrv>(33, (x) => x.port),
        data<DnsSrv>(33, (x) => x.target),
        data<string>(12, (x) => x),
        all((d) => opts(d).map((o) => o.udpPayloadSize)),
        all((d) => opts(d).map((o) => hex(o.extendedRcode, 2))),
        all((d) => opts(d).map((o) => o.version)),
        all((d) => opts(d).map((o) => bool(o.dnssecOk))),
        all((d) => opts(d).flatMap((o) => o.options.map((x) => x.code))),
        all((d) => opts(d).flatMap((o) => o.options.map((x) => x.data.length))),
      ];
    });
    // What the capture must hold for the comparison to mean something.
    const dns = packets.flatMap((p) => find<Dns>(p, "dns"));
    expect(dns.length).toBe(24);
    expect(dns.filter((d) => d.tcpLength !== undefined)).toHaveLength(4);
    const types = new Set(dns.flatMap((d) => d.answers.map((r) => r.typeName)));
    expect([...types].sort()).toEqual(["A", "AAAA", "CNAME", "MX", "PTR", "SRV", "TXT"]);
    expect(packets.every((p) => p.issues.length === 0)).toBe(true);
    expect(compareSummaries(file, packets, /\.53[: ].*\(\d+\)$/)).toBe(24);
  });

  it("DHCP (dnsmasq and udhcpc): every field as tshark shows it", async () => {
    const file = await dhcpScenario();
    const byName: [string, string][] = [
      ["dhcp.option.dhcp", "messageType"],
      ["dhcp.option.requested_ip_address", "requestedIp"],
      ["dhcp.option.ip_address_lease_time", "leaseTime"],
      ["dhcp.option.dhcp_server_id", "serverId"],
      ["dhcp.option.router", "router"],
      ["dhcp.option.subnet_mask", "subnetMask"],
      ["dhcp.option.domain_name_server", "dnsServers"],
      ["dhcp.option.domain_name", "domainName"],
      ["dhcp.option.hostname", "hostname"],
      ["dhcp.option.request_list_item", "parameterRequestList"],
      ["dhcp.option.vendor_class_id", "vendorClass"],
      ["dhcp.option.renewal_time_value", "renewalTime"],
      ["dhcp.option.rebinding_time_value", "rebindingTime"],
      ["dhcp.option.broadcast_address", "broadcastAddress"],
      ["dhcp.option.dhcp_max_message_size", "maxMessageSize"],
    ];
    const fields = [
      "dhcp.type", "dhcp.hw.type", "dhcp.hw.len", "dhcp.hops", "dhcp.id", "dhcp.secs", "dhcp.flags", "dhcp.flags.bc",
      "dhcp.ip.client", "dhcp.ip.your", "dhcp.ip.server", "dhcp.ip.relay", "dhcp.hw.mac_addr", "dhcp.server", "dhcp.file", "dhcp.cookie",
      "dhcp.option.type", "dhcp.option.length", ...byName.map(([f]) => f),
    ];
    const packets = compare(file, fields, (p) => {
      const d = find<Dhcp>(p, "dhcp")[0];
      if (d === undefined) return fields.map(() => "");
      // tshark reuses dhcp.hw.type and dhcp.hw.mac_addr for an Ethernet client identifier (option 61).
      const ids = d.options.filter((o) => o.code === 61 && o.value instanceof Uint8Array && o.value.length === 7 && o.value[0] === 1);
      const macOf = (b: Uint8Array): string => [...b.subarray(1)].map((x) => x.toString(16).padStart(2, "0")).join(":");
      const c = d.magicCookie ?? 0;
      return [
        String(d.op),
        bar([hex(d.htype, 2), ...ids.map(() => "0x01")]),
        String(d.hlen),
        String(d.hops),
        hex(d.xid, 8),
        String(d.secs),
        hex(d.flags, 4),
        bool(d.broadcast),
        d.clientIp,
        d.yourIp,
        d.serverIp,
        d.relayIp,
        bar([d.clientMac, ...ids.map((o) => macOf(o.value as Uint8Array))]),
        d.sname,
        d.file,
        [c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff].join("."),
        // tshark shows the end option's type as 0 and gives it no length.
        bar([...d.options.map((o) => o.code), ...(p.issues.length === 0 ? [0] : [])]),
        bar(d.options.map((o) => o.length)),
        ...byName.map(([, name]) => {
          const v = d.options.find((o) => o.name === name)?.value;
          return v === undefined ? "" : Array.isArray(v) ? bar(v) : String(v);
        }),
      ];
    });
    const dhcp = packets.flatMap((p) => find<Dhcp>(p, "dhcp"));
    expect(dhcp.map((d) => d.messageTypeName)).toEqual(expect.arrayContaining(["DISCOVER", "OFFER", "REQUEST", "ACK"]));
    expect(dhcp.find((d) => d.messageTypeName === "ACK")).toMatchObject({ op: 2, clientMac: lab.b.mac, yourIp: expect.stringMatching(/^10\.77\.0\.(5\d|60)$/) });
    expect(compareSummaries(file, packets, /BOOTP\/DHCP/)).toBe(dhcp.length);
  });

  it("TFTP (tftpd-hpa, tftp-hpa and busybox clients): the tracker finds every transfer packet tshark finds", async () => {
    const file = await tftpScenario();
    const fields = ["tftp.opcode", "tftp.source_file", "tftp.type", "tftp.block", "tftp.error.code", "tftp.error.message", "tftp.option.name", "tftp.option.value", "data.len"];
    const packets = compare(file, fields, (p) => {
      const t = find<Tftp>(p, "tftp")[0];
      if (t === undefined) return fields.map(() => "");
      const name = t.filename ?? "";
      return [
        String(t.opcode),
        name,
        t.mode ?? "",
        t.block === undefined ? "" : String(t.block),
        t.errorCode === undefined ? "" : String(t.errorCode),
        t.errorMessage ?? "",
        bar((t.options ?? []).map((o) => o.name)),
        bar((t.options ?? []).map((o) => o.value)),
        t.dataLength === undefined || t.dataLength === 0 ? "" : String(t.dataLength),
      ];
    });
    const tftp = packets.flatMap((p) => find<Tftp>(p, "tftp"));
    expect(tftp.map((t) => t.opcodeName).filter((n, i, a) => a.indexOf(n) === i).sort()).toEqual(["ACK", "DATA", "ERROR", "OACK", "RRQ"]);
    expect(tftp.filter((t) => t.opcodeName === "DATA").map((t) => t.dataLength)).toEqual([512, 512, 276, 12, 1024, 276]);
    expect(compareSummaries(file, packets, /TFTP, /)).toBe(4);
  });

  it("HTTP/1.x (nginx and curl): request and status lines and headers as tshark shows them", async () => {
    const file = await httpScenario();
    const headerFields: [string, string][] = [
      ["http.host", "Host"],
      ["http.user_agent", "User-Agent"],
      ["http.server", "Server"],
      ["http.content_type", "Content-Type"],
      ["http.connection", "Connection"],
    ];
    const fields = [
      "http.request.method", "http.request.uri", "http.request.version", "http.response.version", "http.response.code",
      "http.response.phrase", "http.content_length", ...headerFields.map(([f]) => f),
    ];
    const packets = compare(file, fields, (p) => {
      const h = find<Http>(p, "http")[0];
      if (h === undefined) return fields.map(() => "");
      const req = h.type === "request";
      return [
        h.method ?? "",
        h.uri ?? "",
        req ? h.version : "",
        req ? "" : h.version,
        h.status === undefined ? "" : String(h.status),
        h.reason ?? "",
        h.contentLength === undefined ? "" : String(h.contentLength),
        ...headerFields.map(([, name]) => header(h, name) ?? ""),
      ];
    });
    const http = packets.flatMap((p) => find<Http>(p, "http"));
    expect(http.map((h) => (h.type === "request" ? `${h.method} ${h.uri} ${h.version}` : String(h.status)))).toEqual([
      "GET /index.html HTTP/1.1", "200", "POST /index.html HTTP/1.1", "405", "GET /missing HTTP/1.1", "404", "GET /index.html HTTP/1.0", "200",
    ]);
    // Header names keep their case; the body is what follows the head in the segment.
    expect(http[0]!.headers.map((x) => x.name)).toContain("X-Mixed-Case");
    expect(http[1]!.bodyLength).toBe(http[1]!.contentLength);
    expect(new TextDecoder().decode(http[2]!.body)).toBe("a=1&b=2");
    expect(packets.every((p) => p.issues.length === 0)).toBe(true);
    expect(compareSummaries(file, packets, /HTTP: /)).toBe(8);
  });
});
