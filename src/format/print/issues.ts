/**
 * The flags at the end of a line: a checksum verified wrong
 * (`[bad udp cksum 0x1234]`; one left to offload is not flagged) and each
 * decode issue (`[truncated: tcp: ...]`, `[malformed: ipv4: ...]`).
 *
 * @example
 * ```ts
 * import { badChecksum, issueFlag } from "./issues.ts";
 * badChecksum("udp", 0x1234); // " [bad udp cksum 0x1234]"
 * issueFlag({ layer: "tcp", kind: "truncated", reason: "header needs 20 bytes, have 8" });
 * ```
 *
 * @module
 */
import type { Issue } from "../../../layers/core.ts";
import { HEX2 } from "../hex.ts";

/** Four lower-case hex digits of a 16-bit number. */
export function hex4(n: number): string {
  return HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;
}

/** The flag for a checksum verified wrong: `what` is tcpdump's word (ip, tcp, udp, icmp, icmp6). */
export function badChecksum(what: string, checksum: number): string {
  return " [bad " + what + " cksum 0x" + hex4(checksum) + "]";
}

/** The flag for one decode issue. */
export function issueFlag(e: Issue): string {
  return " [" + e.kind + ": " + e.layer + ": " + e.reason + "]";
}
