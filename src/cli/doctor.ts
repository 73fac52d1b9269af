/**
 * `stackts doctor`: checks whether capture can work here and says, one line
 * per finding, what is wrong and how to fix it:
 *
 * ```text
 * ok    node: v22.12.0 (ABI 127, N-API 10)
 * ok    addon: loads (build/Release/stackts_pcap.node)
 * ok    libpcap: libpcap version 1.10.3 (with TPACKET_V3)
 * FAIL  capabilities: uid 1000, no CAP_NET_RAW; fix: run as root, or once 'sudo stackts setcap' and then use 'stackts-cap'
 * ok    container: none detected
 * ok    interfaces: up: eth0 (192.0.2.10), lo (127.0.0.1)
 * warn  offload eth0: tx-checksumming on, rx-checksumming on, gso on, gro on; ...
 * FAIL  capture: cannot capture here (1 problem above)
 * ```
 *
 * Exits 0 when capture can work, 1 when it cannot. Each check is also a
 * function ({@link diagnose}) for programs that want the same answers.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { listDevices, type Device } from "../devices.ts";
import { CaptureError, PERMISSION_HINT } from "../errors.ts";
import { openLive } from "../live.ts";
import { libpcapVersion, loadAddon } from "../native.ts";
import { processCapabilities, type Capabilities } from "../privileges.ts";
import { flag, formatHelp, parseArgs, type OptionSpec } from "./args.ts";
import { EXIT, UsageError } from "./errors.ts";

/** The verdict of one check. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One line of `stackts doctor`. */
export interface Check {
  status: CheckStatus;
  /** what was checked: "libpcap", "capabilities", "offload eth0" ... */
  topic: string;
  /** what was found */
  finding: string;
  /** what to do, when something is wrong */
  fix?: string;
}

/** Where the process runs: a container engine, or none. */
export interface ContainerInfo {
  /** "docker", "podman", "kubernetes", "containerd", "lxc", or null when none was detected */
  engine: string | null;
  /** the evidence: a file or a cgroup path */
  evidence: string | null;
}

/** Tell whether this process runs in a container, from the marks engines leave. */
export function detectContainer(): ContainerInfo {
  if (existsSync("/run/.containerenv")) return { engine: "podman", evidence: "/run/.containerenv" };
  if (existsSync("/.dockerenv")) return { engine: "docker", evidence: "/.dockerenv" };
  const env = process.env["container"];
  if (env !== undefined && env !== "") return { engine: env, evidence: `environment container=${env}` };
  for (const file of ["/proc/1/cgroup", "/proc/self/cgroup"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const [pattern, engine] of [
      [/kubepods/, "kubernetes"],
      [/docker/, "docker"],
      [/libpod/, "podman"],
      [/containerd/, "containerd"],
      [/\/lxc\//, "lxc"],
    ] as const) {
      if (pattern.test(text)) return { engine, evidence: `${file} mentions ${engine}` };
    }
  }
  return { engine: null, evidence: null };
}

/** Where a system tool is, also looking in the sbin directories a user's PATH often lacks. */
export function findTool(name: string): string | null {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const d of dirs) {
    if (d === "") continue;
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The offload features `ethtool -k` reports, by name ("tx-checksumming" → true). */
export function parseEthtoolFeatures(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of text.split("\n")) {
    const m = /^\s*([a-z0-9-]+):\s+(on|off)\b/.exec(line);
    if (m) out.set(m[1]!, m[2] === "on");
  }
  return out;
}

/** The offload settings of `iface`, or a reason they could not be read. */
export function readOffload(iface: string): { features: Map<string, boolean> } | { error: string } {
  const ethtool = findTool("ethtool");
  if (ethtool === null) return { error: "ethtool not found" };
  try {
    const text = execFileSync(ethtool, ["-k", iface], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 });
    return { features: parseEthtoolFeatures(text) };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { error: (e.stderr || e.message).trim().split("\n")[0] ?? "ethtool failed" };
  }
}

const SHORT_FEATURE: Record<string, string> = {
  "tx-checksumming": "tx-checksumming",
  "rx-checksumming": "rx-checksumming",
  "tcp-segmentation-offload": "tso",
  "generic-segmentation-offload": "gso",
  "generic-receive-offload": "gro",
};

function offloadCheck(iface: string): Check {
  const topic = `offload ${iface}`;
  const r = readOffload(iface);
  if ("error" in r) {
    return r.error === "ethtool not found"
      ? { status: "warn", topic, finding: "ethtool not found, cannot tell whether checksum offload is on", fix: "install ethtool (apt-get install ethtool)" }
      : { status: "warn", topic, finding: `ethtool -k ${iface} failed: ${r.error}` };
  }
  const parts = Object.keys(SHORT_FEATURE)
    .filter((k) => r.features.has(k))
    .map((k) => `${SHORT_FEATURE[k]} ${r.features.get(k) ? "on" : "off"}`);
  const tx = r.features.get("tx-checksumming") === true;
  const seg = ["tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload"].some((k) => r.features.get(k) === true);
  if (tx) {
    return {
      status: "warn",
      topic,
      finding:
        `${parts.join(", ")}: packets sent from here are captured before their TCP/UDP checksums are filled in ` +
        `(they show as partial/wrong)${seg ? " and may be larger than the MTU" : ""}`,
      fix: `for final checksums: ethtool -K ${iface} tx off${seg ? " tso off gso off" : ""} (as root)`,
    };
  }
  return {
    status: "ok",
    topic,
    finding: `${parts.join(", ")}: captured checksums are the ones sent${seg ? " (segments may be larger than the MTU)" : ""}`,
  };
}

function has(caps: Capabilities, name: string): boolean {
  return caps.effective.has(name);
}

/** Interfaces worth a per-interface check: up, not loopback, with a link-layer address (not "any"). */
function realUp(devices: readonly Device[]): Device[] {
  return devices.filter((d) => d.flags.up && !d.flags.loopback && d.mac !== null);
}

function describeDevice(d: Device): string {
  const v4 = d.addresses.find((a) => a.family === "ipv4");
  return v4 ? `${d.name} (${v4.address})` : d.name;
}

/** Options of {@link diagnose}. */
export interface DiagnoseOptions {
  /** check this interface (offload, a test open) instead of every interface that is up */
  iface?: string;
}

/** Run every check; the last entry says whether capture can work. */
export function diagnose(options: DiagnoseOptions = {}): Check[] {
  const checks: Check[] = [];
  const add = (c: Check): void => void checks.push(c);

  add({
    status: "ok",
    topic: "node",
    finding: `${process.version} at ${process.execPath} (ABI ${process.versions.modules}, N-API ${process.versions.napi ?? "?"})`,
  });

  // The addon and, through it, libpcap.
  let addonOk = false;
  try {
    loadAddon();
    addonOk = true;
    add({ status: "ok", topic: "addon", finding: `native addon loads in this node (ABI ${process.versions.modules})` });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const missingLib = /libpcap\.so[^ ]*: cannot open shared object/.exec(msg);
    if (missingLib) {
      add({ status: "fail", topic: "addon", finding: `cannot load: ${missingLib[0]}`, fix: "install libpcap (apt-get install libpcap0.8)" });
      add({ status: "fail", topic: "libpcap", finding: "not installed", fix: "apt-get install libpcap0.8 (libpcap-dev to build the addon)" });
    } else {
      add({
        status: "fail",
        topic: "addon",
        finding: msg.replace(/\s*\n\s*/g, "; "),
        fix: "npm run build:native (in the stackts directory; needs libpcap-dev g++ make python3, which ./setup installs)",
      });
      add({ status: "fail", topic: "libpcap", finding: "cannot tell: the addon does not load" });
    }
  }
  if (addonOk) {
    try {
      add({ status: "ok", topic: "libpcap", finding: libpcapVersion() });
    } catch (err) {
      add({ status: "fail", topic: "libpcap", finding: err instanceof Error ? err.message : String(err), fix: "npm run build:native" });
    }
  }

  // Capabilities of this process.
  const container = detectContainer();
  let caps: Capabilities | null = null;
  try {
    caps = processCapabilities();
  } catch {
    // no /proc (not Linux)
  }
  let capsOk = false;
  if (caps === null) {
    add({ status: "warn", topic: "capabilities", finding: "cannot read /proc/self/status" });
  } else {
    const uid = caps.uids[1];
    const wanted = ["NET_RAW", "NET_ADMIN"].map((n) => `${n} ${has(caps!, n) ? "yes" : "no"}`).join(", ");
    const how = uid === 0 ? "root" : caps.effective.size > 0 ? "file capabilities" : "no privileges";
    if (has(caps, "NET_RAW")) {
      capsOk = true;
      add({
        status: "ok",
        topic: "capabilities",
        finding: `uid ${uid} (${how}): ${wanted}${has(caps, "NET_ADMIN") ? "" : " (NET_ADMIN is only needed to change interface settings)"}`,
      });
    } else {
      let fix: string;
      if (container.engine !== null && !caps.bounding.has("NET_RAW")) {
        fix = "start the container with --cap-add NET_RAW --cap-add NET_ADMIN (or --privileged); its bounding set lacks NET_RAW, so not even root inside can capture";
      } else if (uid === 0) {
        fix =
          container.engine !== null
            ? "start the container with --cap-add NET_RAW --cap-add NET_ADMIN (or --privileged)"
            : "this root process has no CAP_NET_RAW (dropped by a sandbox or capsh?): run from a full root shell";
      } else {
        fix =
          "run as root (sudo), or once 'sudo stackts setcap' and then use 'stackts-cap' as this user (see docs/privileges.md)" +
          (container.engine !== null ? "; in a container, stay root (the image's default user) and use -Z USER to drop it after opening" : "");
      }
      add({ status: "fail", topic: "capabilities", finding: `uid ${uid} (${how}): ${wanted}; capture and send need CAP_NET_RAW`, fix });
    }
  }

  // Container, and what its network looks like.
  let devices: Device[] | null = null;
  let devicesError: string | null = null;
  if (addonOk) {
    try {
      devices = listDevices();
    } catch (err) {
      devicesError = err instanceof Error ? err.message : String(err);
    }
  }
  if (container.engine === null) {
    add({ status: "ok", topic: "container", finding: "none detected" });
  } else {
    add({ status: "ok", topic: "container", finding: `${container.engine} (${container.evidence})` });
    let names: string[] = [];
    try {
      names = readdirSync("/sys/class/net").sort();
    } catch {
      names = (devices ?? []).filter((d) => d.mac !== null || d.flags.loopback).map((d) => d.name);
    }
    const nonLo = names.filter((n) => n !== "lo");
    if (nonLo.length === 0) {
      add({ status: "fail", topic: "network", finding: "only loopback: the container has no network (--network none?)", fix: "run with --network host to capture the host's interfaces" });
    } else if (nonLo.length === 1 && /^(eth0|tap0)$/.test(nonLo[0]!)) {
      add({
        status: "warn",
        topic: "network",
        finding: `interfaces ${names.join(", ")}: the container's own network, so only its own traffic is visible`,
        fix: "run with --network host to capture the host's traffic",
      });
    } else {
      add({ status: "ok", topic: "network", finding: `interfaces ${names.join(", ")}: host network or a shared namespace (--network host / ns:...)` });
    }
  }

  // Interfaces.
  let ifacesOk = false;
  let candidates: Device[] = [];
  if (devices === null) {
    add({
      status: "fail",
      topic: "interfaces",
      finding: devicesError ?? "cannot list interfaces: the addon does not load",
      ...(devicesError === null ? {} : { fix: "check the lines above" }),
    });
  } else {
    const real = devices.filter((d) => d.mac !== null || d.flags.loopback);
    const up = real.filter((d) => d.flags.up);
    const down = real.filter((d) => !d.flags.up);
    const finding = `up: ${up.map(describeDevice).join(", ") || "none"}${down.length ? `; down: ${down.map((d) => d.name).join(", ")}` : ""}`;
    if (options.iface !== undefined) {
      const d = devices.find((x) => x.name === options.iface);
      if (d === undefined) {
        add({ status: "fail", topic: "interfaces", finding: `no interface "${options.iface}" (${finding})`, fix: "pick one from 'stackts devices'" });
      } else if (!d.flags.up) {
        add({ status: "fail", topic: "interfaces", finding: `"${d.name}" is down (${finding})`, fix: `ip link set ${d.name} up (as root)` });
      } else {
        ifacesOk = true;
        candidates = [d];
        add({ status: "ok", topic: "interfaces", finding });
      }
    } else if (up.length === 0) {
      add({ status: "fail", topic: "interfaces", finding, fix: "bring an interface up: ip link set IFACE up (as root)" });
    } else {
      ifacesOk = true;
      candidates = realUp(devices).slice(0, 8);
      if (candidates.length === 0) {
        add({
          status: "warn",
          topic: "interfaces",
          finding: `${finding}; no non-loopback interface is up`,
          fix: "bring one up to see network traffic (ip link set IFACE up, as root), or capture on lo",
        });
      } else {
        add({ status: "ok", topic: "interfaces", finding });
      }
    }
  }

  for (const d of candidates) if (!d.flags.loopback) add(offloadCheck(d.name));

  // The real test: open a capture (and close it at once).
  let openOk = false;
  // A named interface is the one tested, or none when it is missing or down
  // (already a FAIL above): never another one in its place.
  const probe = options.iface !== undefined ? candidates[0] : (candidates[0] ?? devices?.find((d) => d.flags.up));
  if (addonOk && probe !== undefined) {
    try {
      const cap = openLive(probe.name, { promisc: false, snaplen: 128 });
      cap.close();
      openOk = true;
      add({ status: "ok", topic: "open", finding: `opened a capture on ${probe.name}` });
    } catch (err) {
      const perm = err instanceof CaptureError && err.code === "EPERM";
      const msg = err instanceof Error ? err.message : String(err);
      add({
        status: "fail",
        topic: "open",
        // the library's message ends in the same hint we give as the fix
        finding: perm && msg.endsWith(`; ${PERMISSION_HINT}`) ? msg.slice(0, -PERMISSION_HINT.length - 2) : msg,
        ...(perm ? { fix: PERMISSION_HINT } : {}),
      });
    }
  }

  const problems = checks.filter((c) => c.status === "fail").length;
  if (addonOk && capsOk && ifacesOk && openOk && problems === 0) {
    add({ status: "ok", topic: "capture", finding: "should work here" });
  } else {
    add({ status: "fail", topic: "capture", finding: `cannot capture here (${problems} problem${problems === 1 ? "" : "s"} above)` });
  }
  return checks;
}

/** One check as one line: `ok    topic: finding; fix: ...`. */
export function formatCheck(c: Check): string {
  const label = c.status === "fail" ? "FAIL" : c.status;
  return `${label.padEnd(5)} ${c.topic}: ${c.finding}${c.fix === undefined ? "" : `; fix: ${c.fix}`}`;
}

const SPEC: OptionSpec[] = [{ name: "json", help: "print the checks as one JSON array" }];

export const help = formatHelp(
  "stackts doctor [IFACE] [--json]",
  "Check whether live capture can work here, one line per finding, with the fix\n" +
    "when something is wrong: the native addon and libpcap, this process's\n" +
    "capabilities, container and network, the interfaces that are up, checksum\n" +
    "offload (partial checksums in captures), and a test open of a capture.\n" +
    "Exits 0 when capture can work, 1 when it cannot. IFACE limits the interface checks to one.",
  SPEC,
);

/** Run `stackts doctor`. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length > 1) throw new UsageError(args.positionals[1]!, "doctor takes at most one interface");
  const iface = args.positionals[0];
  const checks = diagnose(iface === undefined ? {} : { iface });
  if (flag(args, "json")) {
    process.stdout.write(JSON.stringify(checks, null, 2) + "\n");
  } else {
    process.stdout.write(checks.map(formatCheck).join("\n") + "\n");
  }
  return checks.some((c) => c.status === "fail") ? EXIT.failure : EXIT.ok;
}
