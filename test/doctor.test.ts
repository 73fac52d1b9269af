/**
 * `stackts doctor` against the real thing: the built CLI runs inside lab
 * namespaces, once as root (must pass and name the lab's interface, with the
 * offload state `ethtool -k` reports), once as uid 65534 (must fail on
 * capabilities and say how to fix it).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capabilityNames, parseProcStatus } from "../src/privileges.ts";
import { cliForOthers } from "./helpers/image.ts";
import { hasCommand, labSkipReason, makeLab, type Host, type Lab } from "./helpers/lab.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "bin", "stackts.js");
const BUILT = existsSync(join(ROOT, "dist", "src", "cli", "doctor.js"));

const skip = labSkipReason ?? (!hasCommand("setpriv") ? "needs setpriv (util-linux)" : !BUILT ? "needs 'npm run build:ts' first" : null);

/** tx-checksumming as `ethtool -k` prints it: the oracle, parsed here on its own. */
function ethtoolTx(host: Host): "on" | "off" {
  const out = execFileSync("ip", ["netns", "exec", host.ns, "ethtool", "-k", host.iface], { encoding: "utf8" });
  const m = /^tx-checksumming: (on|off)/m.exec(out);
  if (!m) throw new Error(`no tx-checksumming in ethtool -k output:\n${out}`);
  return m[1] as "on" | "off";
}

function line(out: string, topic: string): string {
  const l = out.split("\n").find((x) => new RegExp(`^\\S+\\s+${topic}: `).test(x));
  if (l === undefined) throw new Error(`no "${topic}" line in:\n${out}`);
  return l;
}

describe.skipIf(skip !== null)(`stackts doctor${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let withOffload: Lab;
  let noOffload: Lab;
  beforeAll(() => {
    withOffload = makeLab({ offload: "keep" });
    noOffload = makeLab(); // tx/rx checksum offload turned off by the lab
  });
  afterAll(() => {
    withOffload?.down();
    noOffload?.down();
  });

  it("as root in a lab: exit 0, names the lab interface and its offload state as ethtool -k reports it", async () => {
    for (const lab of [withOffload, noOffload]) {
      const h = lab.a;
      const r = await h.run(["node", CLI, "doctor"]);
      expect(r.stderr).toBe("");
      expect(r.code, r.stdout).toBe(0);
      expect(line(r.stdout, "capabilities")).toMatch(/^ok\s+capabilities: uid 0 .*NET_RAW yes/);
      expect(line(r.stdout, "libpcap")).toMatch(/^ok\s+libpcap: libpcap version \d+\.\d+/);
      // only this namespace's interfaces: the lab end and loopback, nothing of the root namespace
      const ifaces = line(r.stdout, "interfaces");
      expect(ifaces).toMatch(new RegExp(`^ok\\s+interfaces: up: ${h.iface} \\(${h.ip4.replace(/\./g, "\\.")}\\), lo \\(127\\.0\\.0\\.1\\)$`));
      const offload = line(r.stdout, `offload ${h.iface}`);
      const tx = ethtoolTx(h);
      expect(offload).toContain(`tx-checksumming ${tx}`);
      if (tx === "on") expect(offload).toMatch(new RegExp(`^warn .*partial.*; fix: .*ethtool -K ${h.iface} tx off`));
      else expect(offload).toMatch(/^ok\s+.*captured checksums are the ones sent/);
      expect(line(r.stdout, "open")).toMatch(new RegExp(`^ok\\s+open: opened a capture on ${h.iface}$`));
      expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/^ok\s+capture: should work here$/);
    }
    // the two labs really differ, so the comparison above covered both states
    expect([ethtoolTx(withOffload.a), ethtoolTx(noOffload.a)]).toEqual(["on", "off"]);
  });

  it("as uid 65534: non-zero, with the capability line and its fix", async () => {
    const h = noOffload.a;
    const pub = cliForOthers(ROOT); // uid 65534 must be able to read the CLI
    const r = await h.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "node", pub.cli, "doctor"]);
    pub.cleanup();
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const caps = line(r.stdout, "capabilities");
    expect(caps).toMatch(/^FAIL\s+capabilities: uid 65534 \(no privileges\): NET_RAW no, NET_ADMIN no; capture and send need CAP_NET_RAW; fix: run as root .*stackts setcap/);
    expect(line(r.stdout, "open")).toMatch(/^FAIL\s+open: .*no permission.*; fix: /);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/^FAIL\s+capture: cannot capture here \(\d+ problems? above\)$/);
  });

  it("names one interface when asked, and fails on an unknown one", async () => {
    const h = withOffload.a;
    const ok = await h.run(["node", CLI, "doctor", h.iface]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split("\n").filter((l) => l.includes(" offload ")).length).toBe(1);
    const bad = await h.run(["node", CLI, "doctor", "nosuch0"]);
    expect(bad.code).toBe(1);
    expect(line(bad.stdout, "interfaces")).toMatch(/^FAIL\s+interfaces: no interface "nosuch0" .*fix: pick one from 'stackts devices'/);
  });
});

describe("capability masks", () => {
  it("decodes Docker's default set, worked out by hand from the bit numbers in <linux/capability.h>", () => {
    // 0xa80425fb: bits 0,1,3-8,10,13,18,27,29,31
    expect([...capabilityNames("00000000a80425fb")].sort()).toEqual(
      ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"].sort(),
    );
    expect([...capabilityNames("0000000000003000")].sort()).toEqual(["NET_ADMIN", "NET_RAW"]);
    expect(capabilityNames("0000000000000000").size).toBe(0);
    // a bit past the last name this build knows stays visible as a number
    expect([...capabilityNames("0000080000000000")]).toEqual(["CAP_43"]);
  });

  it.skipIf(!hasCommand("capsh"))("agrees with capsh --decode on every single bit it knows", () => {
    for (let bit = 0; bit <= 40; bit++) {
      const hex = (1n << BigInt(bit)).toString(16).padStart(16, "0");
      const out = execFileSync("capsh", [`--decode=${hex}`], { encoding: "utf8" }); // "0x...=cap_net_raw"
      const name = out.trim().split("=")[1];
      expect([...capabilityNames(hex)].map((n) => `cap_${n.toLowerCase()}`)).toEqual([name]);
    }
  });

  it("parses a /proc/PID/status text", () => {
    const caps = parseProcStatus(
      "Name:\tnode\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\nGroups:\t65534 \n" +
        "CapInh:\t0000000000000000\nCapPrm:\t0000000000003000\nCapEff:\t0000000000003000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n",
    );
    expect(caps.uids).toEqual([65534, 65534, 65534, 65534]);
    expect(caps.groups).toEqual([65534]);
    expect([...caps.effective].sort()).toEqual(["NET_ADMIN", "NET_RAW"]);
    expect(caps.bounding.size).toBe(41);
    expect(caps.inheritable.size).toBe(0);
  });
});
