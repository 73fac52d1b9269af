// A three-namespace lab for loss that happens on the wire: A and B are hosts,
// R is a switch (a Linux bridge) between them, where nftables' bridge family
// drops frames at random (`numgen random`). A drop in R is a real loss for
// every sender: a host's own OUTPUT chain is not, as Linux TCP retries a send
// its own netfilter refused without counting a loss (and sees 64 KB GSO
// packets there, not segments). Shared by the interop tests and bench/stack.js.
//
//   A  (a0, 10.77.0.1, 02:77:00:00:00:01) --veth-- R (br0) --veth-- B (b0, 10.77.0.2, 02:77:00:00:00:02)
//
// Offloads are off on every port, so the wire carries whole segments with full
// checksums and R forwards them one by one. IPv6 stays on only when asked.
import { execFileSync } from "node:child_process";

const sh = (argv, quiet = false) => execFileSync(argv[0], argv.slice(1), { stdio: quiet ? "ignore" : "pipe", encoding: "utf8" });

/** Make the lab; `prefix` (a few letters + the pid) keeps concurrent runs apart. */
export function bridgedLab(prefix, { ipv6 = false } = {}) {
  const ns = { a: `${prefix}a`, r: `${prefix}r`, b: `${prefix}b` };
  const ifs = { a: `${prefix}a0`, ra: `${prefix}ra`, rb: `${prefix}rb`, b: `${prefix}b0` };
  for (const v of Object.values(ifs)) if (v.length > 15) throw new Error(`interface name ${v} is over 15 bytes`);
  const down = () => {
    for (const n of Object.values(ns)) {
      try {
        for (const pid of sh(["ip", "netns", "pids", n]).split(/\s+/).filter(Boolean)) process.kill(Number(pid), "SIGKILL");
      } catch {}
      try {
        sh(["ip", "netns", "del", n], true);
      } catch {}
    }
  };
  down();
  for (const n of Object.values(ns)) sh(["ip", "netns", "add", n]);
  sh(["ip", "-n", ns.a, "link", "add", ifs.a, "address", "02:77:00:00:00:01", "type", "veth", "peer", "name", ifs.ra, "netns", ns.r]);
  sh(["ip", "-n", ns.b, "link", "add", ifs.b, "address", "02:77:00:00:00:02", "type", "veth", "peer", "name", ifs.rb, "netns", ns.r]);
  sh(["ip", "-n", ns.r, "link", "add", "br0", "type", "bridge"]);
  for (const p of [ifs.ra, ifs.rb]) sh(["ip", "-n", ns.r, "link", "set", p, "master", "br0"]);
  const ports = [[ns.a, ifs.a], [ns.r, ifs.ra], [ns.r, ifs.rb], [ns.b, ifs.b]];
  for (const [n, i] of ports) {
    if (!ipv6) sh(["ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], true);
    sh(["ip", "netns", "exec", n, "ethtool", "-K", i, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off"], true);
  }
  sh(["ip", "-n", ns.a, "addr", "add", "10.77.0.1/24", "dev", ifs.a]);
  sh(["ip", "-n", ns.b, "addr", "add", "10.77.0.2/24", "dev", ifs.b]);
  if (ipv6) {
    sh(["ip", "-n", ns.a, "addr", "add", "fd77::1/64", "dev", ifs.a, "nodad"]);
    sh(["ip", "-n", ns.b, "addr", "add", "fd77::2/64", "dev", ifs.b, "nodad"]);
  }
  for (const [n, i] of [...ports, [ns.r, "br0"], [ns.a, "lo"], [ns.b, "lo"]]) sh(["ip", "-n", n, "link", "set", i, "up"]);
  // Wait for both bridge ports to forward. Without STP that takes the carrier event: a new
  // veth port stays NO-CARRIER and "disabled" until the kernel's link watch runs (up to ~1 s),
  // and what crosses the bridge before then is dropped (seen: the first ARP reply of a fresh
  // lab lost, the first connection a second late).
  for (let k = 0; k < 60; k++) {
    const ready = [ifs.ra, ifs.rb].every((p) => {
      const state = sh(["ip", "-n", ns.r, "-d", "link", "show", p]);
      return !/NO-CARRIER/.test(state) && /bridge_slave state forwarding/.test(state);
    });
    if (ready) break;
    execFileSync("sleep", ["0.05"]);
  }
  /** Drop `percent`% of the frames R forwards to `mac` (0: none). */
  const loss = (mac, percent) => {
    const table = `loss_${mac.replace(/:/g, "")}`;
    try {
      sh(["ip", "netns", "exec", ns.r, "nft", "delete", "table", "bridge", table], true);
    } catch {}
    if (percent <= 0) return;
    sh(["ip", "netns", "exec", ns.r, "nft", "add", "table", "bridge", table]);
    sh(["ip", "netns", "exec", ns.r, "nft", "add", "chain", "bridge", table, "f", "{ type filter hook forward priority 0 ; }"]);
    sh(["ip", "netns", "exec", ns.r, "nft", "add", "rule", "bridge", table, "f", "ether", "daddr", mac, "numgen", "random", "mod", "100", "<", String(percent), "counter", "drop"]);
  };
  /** Frames the rule for `mac` dropped so far. */
  const dropped = (mac) => {
    try {
      const out = sh(["ip", "netns", "exec", ns.r, "nft", "list", "table", "bridge", `loss_${mac.replace(/:/g, "")}`]);
      return Number(/counter packets (\d+)/.exec(out)?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  return { ns, ifs, down, loss, dropped, macA: "02:77:00:00:00:01", macB: "02:77:00:00:00:02" };
}
