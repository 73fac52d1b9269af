/**
 * Privileges: which Linux capabilities this process holds, and giving up root
 * for good once a capture device is open (tcpdump's `-Z USER`).
 *
 * Capture and injection need CAP_NET_RAW (an AF_PACKET socket); CAP_NET_ADMIN
 * is only needed to change interface settings. Both are checked in the
 * effective set, which is what the kernel looks at.
 *
 * ```ts
 * import { openLive } from "./live.ts";
 * import { dropPrivileges, processCapabilities } from "./privileges.ts";
 * const cap = openLive("eth0");           // opened as root
 * dropPrivileges("nobody");               // from here on: uid nobody, no capabilities
 * processCapabilities().effective.size;   // 0
 * ```
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Linux capability numbers, from <linux/capability.h>. */
export const CAPABILITY_NAMES = [
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
  "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
  "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
  "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
  "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
  "CHECKPOINT_RESTORE",
] as const;

/** The capabilities of one process, as sets of names ("NET_RAW"; unknown bits as "CAP_41"). */
export interface Capabilities {
  effective: Set<string>;
  permitted: Set<string>;
  inheritable: Set<string>;
  /** the bounding set: what this process (and its children) could ever get */
  bounding: Set<string>;
  ambient: Set<string>;
  /** real, effective, saved and filesystem user ids */
  uids: [number, number, number, number];
  /** real, effective, saved and filesystem group ids */
  gids: [number, number, number, number];
  /** supplementary group ids */
  groups: number[];
}

/** Names of the bits set in a capability mask (hex, as in /proc/PID/status). */
export function capabilityNames(hexMask: string): Set<string> {
  const out = new Set<string>();
  let mask = BigInt(`0x${hexMask.trim() || "0"}`);
  for (let bit = 0; mask !== 0n; bit++, mask >>= 1n) {
    if ((mask & 1n) === 1n) out.add(CAPABILITY_NAMES[bit] ?? `CAP_${bit}`);
  }
  return out;
}

function ids(field: string | undefined): [number, number, number, number] {
  const n = (field ?? "").trim().split(/\s+/).map(Number);
  return [n[0] ?? -1, n[1] ?? -1, n[2] ?? -1, n[3] ?? -1];
}

/**
 * Parse the text of /proc/PID/status into {@link Capabilities}.
 * Fields that are missing read as empty sets.
 */
export function parseProcStatus(text: string): Capabilities {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const caps = (k: string): Set<string> => capabilityNames(fields.get(k) ?? "0");
  return {
    effective: caps("CapEff"),
    permitted: caps("CapPrm"),
    inheritable: caps("CapInh"),
    bounding: caps("CapBnd"),
    ambient: caps("CapAmb"),
    uids: ids(fields.get("Uid")),
    gids: ids(fields.get("Gid")),
    groups: (fields.get("Groups") ?? "").split(/\s+/).filter(Boolean).map(Number),
  };
}

/** The capabilities of process `pid` (default: this one), from /proc. Linux only. */
export function processCapabilities(pid: number | "self" = "self"): Capabilities {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
}

/** Why dropping privileges failed. */
export class PrivilegeError extends Error {
  override readonly name = "PrivilegeError";
  /** ENOUSER: no such user; EPERM: not root, cannot switch; EREGAIN: root could be regained (refused) */
  readonly code: "ENOUSER" | "EPERM" | "EREGAIN";
  constructor(code: "ENOUSER" | "EPERM" | "EREGAIN", message: string) {
    super(message);
    this.code = code;
  }
}

/** A user account: name, uid and primary gid. */
export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
}

function parsePasswdLine(line: string): UserAccount | undefined {
  const f = line.split(":");
  if (f.length < 4) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { name: f[0]!, uid, gid };
}

/**
 * Look up a user by name or numeric id: `getent passwd` (so NSS sources such
 * as LDAP count), falling back to /etc/passwd. Undefined when there is none.
 */
export function lookupUser(user: string): UserAccount | undefined {
  try {
    const out = execFileSync("getent", ["passwd", user], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const acct = parsePasswdLine(out.split("\n")[0] ?? "");
    if (acct) return acct;
  } catch {
    // getent missing or no such user: try the file
  }
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const acct = parsePasswdLine(line);
      if (acct && (acct.name === user || String(acct.uid) === user)) return acct;
    }
  } catch {
    // no /etc/passwd
  }
  return undefined;
}

/**
 * Become `user` for good: supplementary groups (the user's, as initgroups(3)
 * gives them), then gid, then uid, in that order (after setuid there is no
 * permission left to change groups). Meant to run right after a capture device
 * is opened: the open socket keeps working, and from here on the process has
 * no capabilities (the kernel clears them when all uids leave 0).
 *
 * Then it checks that root cannot be regained (setuid(0) and setgid(0) must
 * fail) and that no capability is left; if either is possible it throws
 * {@link PrivilegeError} "EREGAIN" and the caller must stop.
 *
 * Throws "ENOUSER" for an unknown user, and "EPERM" when not running as root
 * (unless already running as exactly that user, which is a no-op).
 */
export function dropPrivileges(user: string): UserAccount {
  const acct = checkDropPrivileges(user);
  const uid = process.getuid!();
  const euid = process.geteuid?.() ?? uid;
  if (uid === acct.uid && euid === acct.uid) return acct;
  try {
    // process.initgroups exists on Linux but is missing from some @types/node versions.
    const initgroups = (process as { initgroups?: (user: string, extraGroup: number) => void }).initgroups;
    if (initgroups !== undefined) initgroups.call(process, acct.name, acct.gid);
    else process.setgroups!([acct.gid]);
  } catch {
    // a numeric-only account unknown to NSS: groups are just its gid
    process.setgroups!([acct.gid]);
  }
  process.setgid!(acct.gid);
  process.setuid!(acct.uid);
  verifyDropped(acct);
  return acct;
}

/**
 * What {@link dropPrivileges} checks before it changes anything: that `user`
 * exists and that this process may become it (root, or already that user).
 * Throws the same {@link PrivilegeError}s ("ENOUSER", "EPERM"); changes
 * nothing. For a caller that wants to refuse before opening a device.
 */
export function checkDropPrivileges(user: string): UserAccount {
  const acct = lookupUser(user);
  if (acct === undefined) throw new PrivilegeError("ENOUSER", `Cannot drop privileges: no user "${user}"`);
  if (process.getuid === undefined || process.setuid === undefined || process.setgid === undefined || process.setgroups === undefined) {
    throw new PrivilegeError("EPERM", "Cannot drop privileges: this platform has no setuid/setgid");
  }
  const uid = process.getuid();
  const euid = process.geteuid?.() ?? uid;
  if (uid === acct.uid && euid === acct.uid) return acct;
  if (euid !== 0) {
    throw new PrivilegeError(
      "EPERM",
      `Cannot drop privileges to "${acct.name}": running as uid ${euid}, not root; -Z only works when started as root`,
    );
  }
  return acct;
}

function verifyDropped(acct: UserAccount): void {
  const regained: string[] = [];
  for (const [what, fn] of [
    ["setuid(0)", () => process.setuid!(0)],
    ["setgid(0)", () => process.setgid!(0)],
  ] as const) {
    try {
      fn();
      regained.push(what);
    } catch {
      // expected: EPERM
    }
  }
  const caps = processCapabilities();
  const ok =
    regained.length === 0 &&
    caps.uids.every((u) => u === acct.uid) &&
    caps.gids.every((g) => g === acct.gid) &&
    caps.effective.size === 0 &&
    caps.permitted.size === 0;
  if (!ok) {
    const left = [...caps.permitted].join(",") || "none";
    throw new PrivilegeError(
      "EREGAIN",
      `Dropped to "${acct.name}" but root can still be regained (${regained.join(", ") || "ids " + caps.uids.join("/")}; capabilities left: ${left}); refusing to go on`,
    );
  }
}
