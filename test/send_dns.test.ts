/**
 * `stackts send dns` against a real server: dnsmasq in host b of a lab answers
 * a query our stack builds (Ethernet/IP/UDP by the layers, b's MAC by our ARP),
 * and what we print must equal what `dig` from host a gets from the same server.
 * Needs root (network namespaces) and dnsmasq + dig (./setup installs them).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryDns } from "../src/send/dns_query.ts";
import { hasCommand, labSkipReason, makeLab, sleep, type Lab } from "./helpers/lab.ts";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "bin", "stackts.js");
const skip = labSkipReason ?? (!hasCommand("dnsmasq") || !hasCommand("dig") ? "needs dnsmasq and dig (run ./setup)" : null);

function stackts(args: string[]): { stdout: string; stderr: string; code: number | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

describe.skipIf(skip !== null)(`send dns against dnsmasq${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    if (!existsSync(join(ROOT, "dist", "src", "cli", "send.js"))) throw new Error("the CLI is not built: run 'npm run build:ts' first (npm test does)");
    lab = makeLab({ ipv6: true });
    lab.b.spawn([
      "dnsmasq",
      "--no-daemon",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      `--listen-address=${lab.b.ip4}`,
      `--listen-address=${lab.b.ip6}`,
      "--pid-file=",
      "--user=root",
      "--address=/www.example.test/10.77.0.9",
      "--host-record=www.example.test,fd77::9",
      "--host-record=v6.example.test,fd77::10,10.77.0.10",
      "--txt-record=txt.example.test,hello world,second",
      "--mx-host=example.test,mail.example.test,10",
    ]);
    // Wait until dnsmasq answers.
    for (let i = 0; i < 50; i++) {
      const r = await lab.a.run(["dig", `@${lab.b.ip4}`, "+short", "+time=1", "+tries=1", "www.example.test"]);
      if (r.stdout.trim() !== "") break;
      await sleep(100);
    }
  });
  afterAll(() => lab?.down());

  async function dig(server: string, name: string, type: string): Promise<string> {
    const r = await lab.a.run(["dig", `@${server}`, "+short", name, type]);
    expect(r.code).toBe(0);
    return r.stdout;
  }

  for (const [name, type] of [
    ["www.example.test", "A"],
    ["www.example.test", "AAAA"],
    ["v6.example.test", "AAAA"],
    ["v6.example.test", "A"],
    ["txt.example.test", "TXT"],
    ["example.test", "MX"],
    ["nothere.example.test", "A"],
  ] as const) {
    it(`${name} ${type}: --short prints what dig +short prints`, async () => {
      await lab.a.run(["ip", "neigh", "flush", "all"]);
      const ours = stackts(["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip4, "--type", type, "--short", name]);
      expect(ours.stderr).toBe("");
      expect(ours.code).toBe(0);
      const theirs = await dig(lab.b.ip4, name, type);
      expect(ours.stdout).toBe(theirs);
    });
  }

  it("prints the answer like dig, and every layer of query and answer with -v", async () => {
    const r = stackts(["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip4, "-v", "www.example.test"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+/);
    expect(r.stdout).toMatch(/^www\.example\.test\.\t\d+\tIN\tA\t10\.77\.0\.9$/m);
    // The query and the answer as layers: both UDP datagrams, the answer's DNS layer.
    expect(r.stdout).toMatch(new RegExp(`IP ${lab.a.ip4}\\.\\d+ > ${lab.b.ip4}\\.53: `));
    expect(r.stdout).toMatch(new RegExp(`IP ${lab.b.ip4}\\.53 > ${lab.a.ip4}\\.\\d+: `));
    expect(r.stdout).toMatch(/^ {4}dns$/m);
    expect(r.stdout).toMatch(/^ {6}response: true$/m);
  });

  it("a refused query still prints the status, like dig", async () => {
    const r = stackts(["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip4, "nothere.example.test"]);
    expect(r.code).toBe(0);
    const digStatus = /status: (\w+)/.exec((await lab.a.run(["dig", `@${lab.b.ip4}`, "nothere.example.test"])).stdout)?.[1];
    expect(digStatus).toBeDefined();
    expect(r.stdout).toContain(`status: ${digStatus},`);
  });

  it("asks over IPv6 (NDP for the server) and gets the same answer as dig", async () => {
    const r = stackts(["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip6, "--type", "AAAA", "--short", "v6.example.test"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(await dig(lab.b.ip6, "v6.example.test", "AAAA"));
  });

  it("the library matches the answer by id and ports", async () => {
    const r = await queryDns({ iface: lab.a.iface, netns: lab.a.ns, server: lab.b.ip4, name: "www.example.test", id: 0x4242, srcPort: 45353 });
    expect(r.response.id).toBe(0x4242);
    expect(r.response.answers.map((a) => a.data)).toEqual(["10.77.0.9"]);
    expect(r.reply.layers.find((l) => l.layer === "udp")).toMatchObject({ srcPort: 53, dstPort: 45353, checksumValid: true });
  });

  it("no server on the port: times out with one line and exit code 1", () => {
    const t0 = Date.now();
    const r = stackts(["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip4, "--port", "5999", "--timeout", "400", "www.example.test"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stackts: dns : No answer from 10\.77\.0\.2 port 5999 within 400 ms\n$/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });

  it("bad input: one line, usage exit code", () => {
    const cases: [string[], RegExp][] = [
      [["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip4], /^stackts: send dns : no NAME/],
      [["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", "nowhere", "x.test"], /^stackts: --server : Not an IPv4 or IPv6 address/],
      [["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip4, "--type", "BOGUS", "x.test"], /^stackts: --type : Unknown DNS record type/],
      [["send", "dns", "--iface", lab.a.iface, "--netns", lab.a.ns, "--server", lab.b.ip4, "a".repeat(64) + ".test"], /^stackts: NAME : Cannot put/],
    ];
    for (const [args, re] of cases) {
      const r = stackts(args);
      expect(r.stderr, args.join(" ")).toMatch(re);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.code, args.join(" ")).toBe(2);
    }
  });
});
