/**
 * `stackts report` and `stackts view` against independent oracles, on captures
 * made here in the namespace lab (test/helpers/lab.ts) with tcpdump: a TCP
 * transfer under nftables-made loss (`numgen random mod 100 < N drop` on the
 * receiver's input, so the sender retransmits), a DNS exchange (dnsmasq and
 * dig, over IPv4 and IPv6) and a TFTP transfer (tftpd-hpa and tftp-hpa), with
 * the link's own IPv6 neighbour-discovery chatter.
 *
 * The report's numbers are checked against capinfos (packets, data size) and
 * tshark (`-z conv,tcp`, `-z conv,udp`, `-z conv,ip`, `-z io,phs`, and the
 * frames tshark flags `tcp.analysis.retransmission`); the page is opened from
 * disk in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core): no console errors, the conversation rows tshark lists,
 * the retransmissions tshark counts on the TCP connection's graph, two arrows
 * in the DNS exchange's flow diagram, DATA block 1 twice in the TFTP
 * transfer's (its first copy dropped by nftables on the client after the
 * capture saw it). The screenshots go to a scratch folder, or with
 * `npm run images` to docs/images/ (the README shows them: a plain test run
 * leaves the tree as it was). A capture cut in the middle of a record gives a report
 * of every packet before the cut and says where it stopped.
 *
 * Needs root (the lab), tcpdump, tshark, capinfos, dnsmasq, dig, in.tftpd,
 * tftp, socat, nft and chromium: ./setup installs them; CI runs as root.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReportData } from "../src/report/model.ts";
import { hasCommand, labSkipReason, makeLab, sleep, tcpdumpWhile, type Lab } from "./helpers/lab.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin/stackts.js");
/** docs/images with STACKTS_WRITE_IMAGES=1 (`npm run images`), else a scratch folder (see afterAll). */
const WRITE_IMAGES = process.env.STACKTS_WRITE_IMAGES === "1";
const IMAGES = WRITE_IMAGES ? join(ROOT, "docs/images") : mkdtempSync(join(tmpdir(), "stackts-report-images-"));
const CHROMIUM = "/usr/bin/chromium";
const TOOLS = ["tcpdump", "tshark", "capinfos", "dnsmasq", "dig", "in.tftpd", "tftp", "socat", "nft", "ethtool"];
const missing = TOOLS.filter((t) => !hasCommand(t));
const skip = labSkipReason ?? (missing.length > 0 ? `needs ${missing.join(", ")} (./setup)` : !existsSync(CHROMIUM) ? `needs ${CHROMIUM}` : null);

/** Loss on the receiver's input, percent. */
const LOSS = 4;
const TCP_PORT = 5001;

function stackts(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, STACKTS_DEBUG: "" } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function tshark(args: string[]): string {
  return execFileSync("tshark", ["-n", ...args], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] });
}

/** The JSON data inside a report page. */
function reportData(html: string): ReportJson {
  const m = /<script type="application\/json" id="stackts-data">([\s\S]*?)<\/script>/.exec(html);
  if (m === null) throw new Error("no data in the page");
  return JSON.parse(m[1]!) as ReportJson;
}

/** The page's data as `stackts report` embeds it (src/report/model.ts). */
type ReportJson = ReportData;

/** One row of a tshark conversation table: endpoints and frames each way (bytes only when tshark printed them exactly). */
interface TsharkConv {
  a: string;
  b: string;
  /** frames and bytes in tshark's "<-" columns (B to A) and "->" columns (A to B) */
  framesBA: number;
  bytesBA: number | null;
  framesAB: number;
  bytesAB: number | null;
}

/** Parse `tshark -q -z conv,X`: "A <-> B  frames bytes-with-unit  frames bytes  total ..." */
function tsharkConversations(file: string, kind: "tcp" | "udp" | "ip" | "ipv6"): TsharkConv[] {
  const out = tshark(["-r", file, "-q", "-z", `conv,${kind}`]);
  const rows: TsharkConv[] = [];
  for (const line of out.split("\n")) {
    const m = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d.,]+ \w+)\s+(\d+)\s+([\d.,]+ \w+)/.exec(line);
    if (m === null) continue;
    const exact = (s: string): number | null => (s.endsWith(" bytes") ? Number(s.slice(0, -6).replace(/,/g, "")) : null);
    rows.push({ a: m[1]!, b: m[2]!, framesBA: Number(m[3]), bytesBA: exact(m[4]!), framesAB: Number(m[5]), bytesAB: exact(m[6]!) });
  }
  return rows;
}

/** tshark's protocol hierarchy as "eth/ip/udp" → frames, bytes. */
function tsharkHierarchy(file: string): Map<string, { frames: number; bytes: number }> {
  const out = tshark(["-r", file, "-q", "-z", "io,phs"]);
  const map = new Map<string, { frames: number; bytes: number }>();
  const stack: string[] = [];
  for (const line of out.split("\n")) {
    const m = /^( *)(\S+)\s+frames:(\d+) bytes:(\d+)/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 2;
    stack.length = depth;
    stack.push(m[2]!);
    // IPv6 extension headers are nodes of their own in tshark's tree and fields of
    // the ipv6 layer in ours: leave them out of the path, add their children up.
    if (m[2]!.startsWith("ipv6.")) continue;
    const path = stack.filter((n) => !n.startsWith("ipv6.")).join("/");
    const have = map.get(path) ?? { frames: 0, bytes: 0 };
    map.set(path, { frames: have.frames + Number(m[3]), bytes: have.bytes + Number(m[4]) });
  }
  return map;
}

/** tshark's protocol names → ours, for the layers both name. */
const PHS_NAMES: Record<string, string> = { eth: "ethernet", arp: "arp", ip: "ipv4", ipv6: "ipv6", udp: "udp", tcp: "tcp", dns: "dns", tftp: "tftp", icmp: "icmp", icmpv6: "icmpv6" };

function endpoint(addr: string, port: number | null): string {
  return port === null ? addr : `${addr}:${port}`;
}

describe.skipIf(skip !== null)(`stackts report against tshark and capinfos, in Chromium${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let lab: Lab;
  let dir: string;
  let pcap: string;
  let html: string;
  let browser: Browser;

  /** Run `body` while tcpdump writes host a's interface to `file`. */
  const capture = (file: string, body: () => Promise<void>): Promise<void> => tcpdumpWhile(lab.a, file, body);

  async function ok(host: "a" | "b", argv: string[], timeoutMs = 30_000): Promise<string> {
    const r = await lab[host].run(argv, { timeoutMs });
    if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  beforeAll(async () => {
    // IPv6 on: a DNS exchange over it, and the link's own ND/MLD chatter, in the capture too.
    lab = makeLab({ ipv6: true });
    dir = mkdtempSync(join(tmpdir(), "stackts-report-"));
    pcap = join(dir, "lab.pcap");
    // Real segments on the wire: no offloads on either end.
    for (const h of [lab.a, lab.b]) await ok(h === lab.a ? "a" : "b", ["ethtool", "-K", h.iface, "tso", "off", "gso", "off", "gro", "off"]);
    // Loss on host b's input, segments to the TCP port only (the sender retransmits them).
    await ok("b", ["nft", "add", "table", "inet", "loss"]);
    await ok("b", ["nft", "add", "chain", "inet", "loss", "input", "{ type filter hook input priority 0 ; }"]);
    // Not the SYN: a lost SYN waits a whole second, and the graph is of the transfer.
    await ok("b", ["nft", "add", "rule", "inet", "loss", "input", "tcp", "dport", String(TCP_PORT), "tcp", "flags", "!=", "syn", "numgen", "random", "mod", "100", "<", String(LOSS), "drop"]);
    // On host a's input (after tcpdump saw it), drop the first TFTP DATA block
    // (UDP from b, not DNS), once: tftpd-hpa sends it again after its timeout.
    // nft adds a packet's bytes before it compares: the first (544 bytes) is
    // within 800, the second over.
    await ok("a", ["nft", "add", "table", "inet", "once"]);
    await ok("a", ["nft", "add", "chain", "inet", "once", "input", "{ type filter hook input priority 0 ; }"]);
    await ok("a", ["nft", "add", "rule", "inet", "once", "input", "ip", "saddr", lab.b.ip4, "udp", "sport", "!=", "53", "udp", "length", ">", "500", "quota", "until", "800", "bytes", "drop"]);

    const tftpRoot = join(dir, "tftp");
    mkdirSync(tftpRoot);
    writeFileSync(join(tftpRoot, "file.bin"), Uint8Array.from({ length: 1300 }, (_, i) => (i * 7) & 0xff));
    const dns = lab.b.spawn(["dnsmasq", "-k", "-C", "/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces", `--interface=${lab.b.iface}`, `--listen-address=${lab.b.ip4}`, `--listen-address=${lab.b.ip6}`, "--pid-file", "--user=root", "--address=/www.example.test/10.77.0.9"]);
    const tftpd = lab.b.spawn(["in.tftpd", "-L", "-s", tftpRoot, "--address", `${lab.b.ip4}:69`]);
    const sink = lab.b.spawn(["socat", "-u", `TCP-LISTEN:${TCP_PORT},reuseaddr`, "OPEN:/dev/null"]);
    await sleep(700);
    try {
      await capture(pcap, async () => {
        await ok("a", ["dig", `@${lab.b.ip4}`, "+tries=1", "+time=2", "www.example.test", "A"]);
        await ok("a", ["dig", `@${lab.b.ip6}`, "+tries=1", "+time=2", "www.example.test", "AAAA"]);
        await ok("a", ["tftp", lab.b.ip4, "-m", "octet", "-c", "get", "file.bin", join(dir, "got.bin")]);
        await ok("a", ["sh", "-c", `head -c 1500000 /dev/urandom | socat -u - TCP:${lab.b.ip4}:${TCP_PORT}`], 60_000);
      });
    } finally {
      for (const c of [dns, tftpd, sink]) c.kill("SIGKILL");
    }
    const r = stackts(["report", pcap, "-o", join(dir, "lab.html")]);
    if (r.status !== 0) throw new Error(`stackts report failed: ${r.stderr}`);
    html = readFileSync(join(dir, "lab.html"), "utf8");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    lab?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!WRITE_IMAGES) rmSync(IMAGES, { recursive: true, force: true });
  });

  /** Open a report from disk; collect console errors and page errors. */
  async function open(file: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    page.on("pageerror", (e) => errors.push(e.message));
    // No network: any request but the file itself is a failure.
    await page.route(/^(?!file:)/, (route) => {
      errors.push(`network request: ${route.request().url()}`);
      return route.abort();
    });
    await page.goto("file://" + file);
    await page.waitForSelector("body[data-ready]", { timeout: 20_000 });
    return { page, errors };
  }

  it("counts the packets and bytes capinfos counts", () => {
    const d = reportData(html);
    const info = execFileSync("capinfos", ["-M", "-c", "-d", pcap], { encoding: "utf8" });
    const packets = Number(/Number of packets:\s+(\d+)/.exec(info)![1]);
    const bytes = Number(/Data size:\s+(\d+)/.exec(info)![1]);
    expect(d.summary.packets).toBe(packets);
    expect(d.summary.bytes).toBe(bytes);
    expect(d.summary.stopped).toBeNull();
  });

  it("reports a pcapng copy of the capture (editcap -F pcapng) with the same numbers", () => {
    const ng = join(dir, "lab.pcapng");
    execFileSync("editcap", ["-F", "pcapng", pcap, ng]);
    const out = join(dir, "lab-ng.html");
    expect(stackts(["report", ng, "-o", out]).status).toBe(0);
    const a = reportData(html);
    const b = reportData(readFileSync(out, "utf8"));
    expect(b.summary.packets).toBe(a.summary.packets);
    expect(b.summary.bytes).toBe(a.summary.bytes);
    expect(b.conversations).toEqual(a.conversations);
    expect(b.hierarchy).toEqual(a.hierarchy);
  });

  it("has tshark's conversations: conv,tcp, conv,udp, conv,ip and conv,ipv6, frames and bytes each way", () => {
    const d = reportData(html);
    for (const [kind, ours] of [
      ["tcp", "tcp"],
      ["udp", "udp"],
      ["ip", "ipv4"],
      ["ipv6", "ipv6"],
    ] as const) {
      const theirs = tsharkConversations(pcap, kind);
      const mine = d.conversations.filter((c) => c.kind === ours);
      expect(mine.length, `${kind} conversations`).toBe(theirs.length);
      expect(theirs.length).toBeGreaterThan(0);
      for (const t of theirs) {
        const m = mine.find((c) => {
          const a = endpoint(c.a, c.aPort);
          const b = endpoint(c.b, c.bPort);
          return (a === t.a && b === t.b) || (a === t.b && b === t.a);
        });
        expect(m, `${kind} ${t.a} <-> ${t.b}`).toBeDefined();
        // Put ours in tshark's orientation (its A is the first packet's source, as ours).
        const same = endpoint(m!.a, m!.aPort) === t.a;
        const [fab, bab, fba, bba] = same ? [m!.packetsAB, m!.bytesAB, m!.packetsBA, m!.bytesBA] : [m!.packetsBA, m!.bytesBA, m!.packetsAB, m!.bytesAB];
        expect([fab, fba], `${kind} ${t.a} <-> ${t.b} frames`).toEqual([t.framesAB, t.framesBA]);
        if (t.bytesAB !== null) expect(bab).toBe(t.bytesAB);
        if (t.bytesBA !== null) expect(bba).toBe(t.bytesBA);
      }
    }
  });

  it("has tshark's bytes each way for every TCP and UDP conversation (frame.len summed by tshark's fields)", () => {
    const d = reportData(html);
    const out = tshark(["-r", pcap, "-Y", "tcp or udp", "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "udp.dstport", "-e", "frame.len", "-e", "icmp.type", "-e", "icmpv6.type"]);
    const sums = new Map<string, number>();
    for (const line of out.trim().split("\n")) {
      const [src4, src6, tsp, usp, dst4, dst6, tdp, udp, len, icmp, icmp6] = line.split(",");
      if (icmp !== "" || icmp6 !== "") continue; // a datagram quoted in an ICMP error
      const key = `${src4 || src6}:${tsp || usp}>${dst4 || dst6}:${tdp || udp}`;
      sums.set(key, (sums.get(key) ?? 0) + Number(len));
    }
    for (const c of d.conversations.filter((x) => x.kind === "tcp" || x.kind === "udp")) {
      expect(c.bytesAB, `${c.a}:${c.aPort} > ${c.b}:${c.bPort}`).toBe(sums.get(`${c.a}:${c.aPort}>${c.b}:${c.bPort}`) ?? 0);
      expect(c.bytesBA, `${c.b}:${c.bPort} > ${c.a}:${c.aPort}`).toBe(sums.get(`${c.b}:${c.bPort}>${c.a}:${c.aPort}`) ?? 0);
    }
  });

  it("has tshark's protocol hierarchy (io,phs) for the layers both name", () => {
    const d = reportData(html);
    const ours = new Map(d.hierarchy.map((h) => [h.path, h]));
    let compared = 0;
    for (const [path, t] of tsharkHierarchy(pcap)) {
      const names = path.split("/").map((n) => PHS_NAMES[n]);
      if (names.some((n) => n === undefined)) continue;
      const mine = ours.get(names.join("/"));
      expect(mine, path).toBeDefined();
      expect([mine!.packets, mine!.bytes], path).toEqual([t.frames, t.bytes]);
      compared++;
    }
    // eth, arp, ip, udp, dns, tftp, tcp at least
    expect(compared).toBeGreaterThanOrEqual(7);
  });

  it("counts the retransmissions tshark flags (tcp.analysis.retransmission)", () => {
    const d = reportData(html);
    const theirs = tshark(["-r", pcap, "-Y", "tcp.analysis.retransmission", "-T", "fields", "-e", "frame.number"]).trim().split("\n").filter(Boolean).length;
    const tcp = d.conversations.filter((c) => c.kind === "tcp");
    expect(tcp.reduce((s, c) => s + c.retransmissions, 0)).toBe(theirs);
    // The loss made some: the graph has something to show.
    expect(theirs).toBeGreaterThan(0);
  });

  it("opens from disk in Chromium: no console errors, tshark's TCP and UDP rows, the TCP graph with tshark's retransmissions, the DNS flow's two arrows, the TFTP flow's resent block", async () => {
    const file = join(dir, "lab.html");
    const { page, errors } = await open(file);
    mkdirSync(IMAGES, { recursive: true });
    await page.screenshot({ path: join(IMAGES, "report-overview.png"), clip: { x: 0, y: 0, width: 1280, height: 1400 }, fullPage: true });

    // The conversation tables hold tshark's rows.
    for (const kind of ["tcp", "udp"] as const) {
      const rows = await page.$$eval(`table.conv[data-kind=${kind}] tr[data-id]`, (trs) =>
        trs.map((tr) => {
          const d = (tr as unknown as { dataset: Record<string, string | undefined> }).dataset;
          return { a: `${d["a"]}:${d["aPort"]}`, b: `${d["b"]}:${d["bPort"]}`, ab: Number(d["packetsAb"]), ba: Number(d["packetsBa"]) };
        }),
      );
      const theirs = tsharkConversations(pcap, kind);
      expect(rows.length).toBe(theirs.length);
      for (const t of theirs) {
        const r = rows.find((x) => (x.a === t.a && x.b === t.b) || (x.a === t.b && x.b === t.a));
        expect(r, `${kind} row ${t.a} <-> ${t.b}`).toBeDefined();
        expect(r!.a === t.a ? [r!.ab, r!.ba] : [r!.ba, r!.ab]).toEqual([t.framesAB, t.framesBA]);
      }
    }

    // Click the TCP transfer: its graph, with tshark's retransmission count.
    const retx = tshark(["-r", pcap, "-Y", `tcp.analysis.retransmission and tcp.port == ${TCP_PORT}`, "-T", "fields", "-e", "frame.number"]).trim().split("\n").filter(Boolean).length;
    await page.click(`table.conv[data-kind=tcp] tr[data-b-port="${TCP_PORT}"]`);
    await page.waitForSelector("#tcp[data-retransmissions] canvas");
    expect(Number(await page.getAttribute("#tcp", "data-retransmissions"))).toBe(retx);
    const canvases = await page.$$eval("#tcp canvas", (cs) => cs.length);
    expect(canvases).toBeGreaterThan(0);
    await (await page.$("#tcp"))!.screenshot({ path: join(IMAGES, "report-tcp.png") });

    // Click the DNS exchange: two arrows, one each way.
    await page.click(`table.conv[data-kind=udp] tr[data-b-port="53"]`);
    await page.waitForSelector("#flow[data-arrows] svg");
    expect(await page.getAttribute("#flow", "data-arrows")).toBe("2");
    const dirs = await page.$$eval("#flow g.arrow", (gs) => gs.map((g) => g.getAttribute("data-dir")));
    expect(dirs).toEqual(["0", "1"]);
    await (await page.$("#flow"))!.screenshot({ path: join(IMAGES, "report-dns-flow.png") });

    // The TFTP transfer's flow: every packet tshark puts in that conversation,
    // DATA block 1 twice (the first copy was dropped on host a after capture).
    const transfer = tsharkConversations(pcap, "udp").find((t) => t.a.startsWith(`${lab.b.ip4}:`) && !t.a.endsWith(":53"))!;
    await page.click(`table.conv[data-kind=udp] tr[data-a="${lab.b.ip4}"]`);
    await page.waitForSelector("#flow[data-arrows] svg");
    expect(Number(await page.getAttribute("#flow", "data-arrows"))).toBe(transfer.framesAB + transfer.framesBA);
    const labels = await page.$$eval("#flow g.arrow text.label", (ts) => ts.map((t) => t.textContent ?? ""));
    expect(labels.filter((l) => l.endsWith("DATA block 1"))).toHaveLength(2);
    const resent = tshark(["-r", pcap, "-Y", "tftp.opcode == 3 && tftp.block == 1", "-T", "fields", "-e", "frame.number"]).trim().split("\n").length;
    expect(resent).toBe(2);
    await (await page.$("#flow"))!.screenshot({ path: join(IMAGES, "report-tftp-flow.png") });

    // A packet's tree and hex.
    await page.click(`table.conv[data-kind=udp] tr[data-b-port="69"]`);
    await page.click(`#packets tr[data-n="1"]`);
    const detail = await page.textContent("#packet-detail");
    expect(detail).toContain("ethernet");
    expect(detail).toContain("0x0000:");
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("gives the report of every good packet of a file cut in the middle of a record, and says where it stopped", async () => {
    const cut = join(dir, "cut.pcap");
    copyFileSync(pcap, cut);
    truncateSync(cut, statSync(pcap).size - 30);
    const good = Number(/Number of packets:\s+(\d+)/.exec(execFileSync("capinfos", ["-M", "-c", pcap], { encoding: "utf8" }))![1]) - 1;
    const out = join(dir, "cut.html");
    const r = stackts(["report", cut, "-o", out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n").pop()).toMatch(/^stackts: .*cut\.pcap : .+/);
    const d = reportData(readFileSync(out, "utf8"));
    expect(d.summary.packets).toBe(good);
    // tshark reads the same good packets before it stops at the damage.
    const theirs = spawnSync("tshark", ["-n", "-r", cut, "-T", "fields", "-e", "frame.number"], { encoding: "utf8", maxBuffer: 1 << 26 }).stdout.trim().split("\n").length;
    expect(d.summary.packets).toBe(theirs);
    expect(d.summary.stopped).toMatch(/after packet \d+/);
    const { page, errors } = await open(out);
    expect(await page.textContent("#stopped")).toContain(`after packet ${good}`);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("keeps a BPF filter's packets only (tcpdump's count for the same filter)", () => {
    const out = join(dir, "udp.html");
    const r = stackts(["report", pcap, "-o", out, "udp"]);
    expect(r.status).toBe(0);
    const d = reportData(readFileSync(out, "utf8"));
    const theirs = execFileSync("tcpdump", ["-n", "-r", pcap, "udp"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n").length;
    expect(d.summary.packets).toBe(theirs);
    expect(d.conversations.every((c) => c.kind !== "tcp")).toBe(true);
  });

  it("writes progress to stderr only: --progress with -o -, the page alone on stdout", () => {
    const r = stackts(["report", "--progress", pcap, "-o", "-"]);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("<!doctype html>")).toBe(true);
    expect(r.stdout).not.toMatch(/stackts report: \d+ packets, /);
    const d = reportData(r.stdout);
    expect(r.stderr).toMatch(new RegExp(`stackts report: ${d.summary.packets} packets, `));
  });

  it("serves a live page while capturing (capture --view): the page redraws as frames arrive", async () => {
    const file = join(dir, "live.pcap");
    const child = spawn(process.execPath, [BIN, "capture", "--netns", lab.a.ns, lab.a.iface, "--view", "-w", file, "icmp"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no live URL: ${err}`)), 20_000);
        child.stderr.on("data", (b: Buffer) => {
          err += b.toString();
          const m = /live report on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
          if (m !== null && err.includes("listening on")) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const packetsServed = async (): Promise<number> => ((await (await fetch(url + "data.json")).json()) as ReportJson).summary.packets;
      const waitFor = async (n: number): Promise<void> => {
        for (let i = 0; i < 100 && (await packetsServed()) < n; i++) await sleep(200);
      };
      await ok("b", ["ping", "-c", "3", "-i", "0.2", lab.a.ip4]);
      await waitFor(6);
      expect(await packetsServed()).toBe(6);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
      await page.goto(url);
      await page.waitForSelector("body[data-ready]");
      expect(await page.getAttribute("#summary", "data-packets")).toBe("6");
      // Two more echoes: the open page shows them without a reload.
      await ok("b", ["ping", "-c", "2", "-i", "0.2", lab.a.ip4]);
      await page.waitForSelector(`#summary[data-packets="10"]`, { timeout: 20_000 });
      const data = (await (await fetch(url + "data.json")).json()) as ReportJson;
      const icmp = data.hierarchy.find((h) => h.path === "ethernet/ipv4/icmp");
      expect(icmp?.packets).toBe(10);
      const pair = data.conversations.find((c) => c.kind === "ipv4")!;
      expect([pair.packetsAB, pair.packetsBA]).toEqual([5, 5]);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      const exited = new Promise<number | null>((r) => child.once("close", r));
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    }
    // The file holds what the page showed (capinfos).
    expect(Number(/Number of packets:\s+(\d+)/.exec(execFileSync("capinfos", ["-M", "-c", file], { encoding: "utf8" }))![1])).toBe(10);
  }, 90_000);

  it.skipIf(!hasCommand("script"))("shows the progress line on a terminal's stderr and erases it at the end (script(1) gives the terminal)", () => {
    const out = join(dir, "tty.html");
    const r = spawnSync("script", ["-qec", `${process.execPath} ${BIN} report ${pcap} -o ${out}`, "/dev/null"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const d = reportData(readFileSync(out, "utf8"));
    // Rewritten in place (carriage return, erase to end of line), then erased before the last line.
    expect(r.stdout).toContain(`\r\x1b[Kstackts report: ${d.summary.packets} packets, `);
    expect(r.stdout).toMatch(new RegExp(`\\r\\x1b\\[Kstackts report: ${d.summary.packets} packets, \\d+ conversations: `));
  });

  it("serves the page on 127.0.0.1 (stackts view): the URL it prints gives the page and its data", async () => {
    const child = spawn(process.execPath, [BIN, "view", "--no-open", pcap], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
        child.stdout.on("data", (b: Buffer) => {
          out += b.toString();
          const m = /(http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(out);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const port = Number(new URL(url).port);
      // Listening on the loopback address only.
      const ss = execFileSync("ss", ["-Hltn", `sport = :${port}`], { encoding: "utf8" }).trim().split("\n");
      expect(ss.length).toBe(1);
      expect(ss[0]).toContain(`127.0.0.1:${port}`);
      const page = await (await fetch(url)).text();
      const data = (await (await fetch(url + "data.json")).json()) as ReportJson;
      expect(reportData(page).summary.packets).toBe(data.summary.packets);
      expect((await fetch(url + "nothing")).status).toBe(404);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  }, 60_000);
});

describe.skipIf(!existsSync(CHROMIUM) || !hasCommand("tshark"))("the report's summary of problems", () => {
  it("lists the bad checksums tshark finds (checksum checks on), each a link to its packet's tree and hex", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stackts-report-sum-"));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const fixture = join(ROOT, "test/fixtures/sample.pcap");
      const out = join(dir, "sample.html");
      expect(stackts(["report", fixture, "-o", out]).status).toBe(0);
      const d = reportData(readFileSync(out, "utf8"));
      const bad = tshark(["-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-r", fixture, "-Y", "udp.checksum.status == 0 || tcp.checksum.status == 0 || ip.checksum.status == 0", "-T", "fields", "-e", "frame.number"])
        .trim()
        .split("\n")
        .filter(Boolean)
        .map(Number);
      expect(bad.length).toBeGreaterThan(0);
      expect(d.summary.checksumProblems.flatMap((p) => p.packets).sort((x, y) => x - y)).toEqual(bad);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
      await page.goto("file://" + out);
      await page.waitForSelector("body[data-ready]");
      await page.click(`#summary .links a[data-n="${bad[0]}"]`);
      expect(await page.getAttribute("#packet-detail", "data-n")).toBe(String(bad[0]));
      expect(await page.textContent("#packet-detail pre.tree")).toContain("checksumStatus: bad");
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("stackts report on bad input", () => {
  it("ends in one line and an exit code: not a capture, no file, a bad filter, an output it cannot write", () => {
    const dir = mkdtempSync(join(tmpdir(), "stackts-report-bad-"));
    try {
      const junk = join(dir, "junk.pcap");
      writeFileSync(junk, "hello\n");
      const fixture = join(ROOT, "test/fixtures/sample.pcap");
      const cases: [string[], number, RegExp][] = [
        [["report", junk, "-o", join(dir, "a.html")], 1, /^stackts: .*junk\.pcap : not a pcap or pcapng file \(magic 0x68656c6c\)$/],
        [["report", join(dir, "none.pcap")], 1, /^stackts: .*none\.pcap : no such file or directory$/],
        [["report", fixture, "-o", join(dir, "b.html"), "tcp", "port"], 2, /^stackts: filter 'tcp port' : .+$/],
        [["report", fixture, "-o", join(dir, "no/such/dir.html")], 1, /^stackts: .*dir\.html : cannot write: no such directory$/],
        [["report"], 2, /^stackts: report : missing FILE/],
      ];
      for (const [args, status, line] of cases) {
        const r = stackts(args);
        expect(r.status, args.join(" ")).toBe(status);
        expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
        expect(r.stderr.trim(), args.join(" ")).toMatch(line);
        expect(r.stdout).toBe("");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
