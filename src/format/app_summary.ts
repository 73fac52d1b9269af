/**
 * One-line summaries of the application layers, in the words `tcpdump -n` uses
 * (print-domain.c, print-bootp.c, print-tftp.c, txtproto_print for HTTP), so a
 * line reads the same in both tools:
 *
 * ```text
 * 4660+ [1au] A? www.example.test. (45)
 * 4660* 1/0/1 A 10.77.0.9 (61)
 * BOOTP/DHCP, Request from 02:77:00:00:00:02, length 300, DHCP Discover
 * TFTP, length 19, RRQ "file.bin" octet blksize 1024
 * TFTP, length 516, DATA block 1
 * TFTP, length 20, ERROR ENOTFOUND "File not found"
 * HTTP: GET /index.html HTTP/1.1
 * HTTP: HTTP/1.1 200 OK
 * ```
 *
 * The one addition to tcpdump's default line is the DHCP message type at the end
 * (tcpdump shows it only with `-v`). Each line is written by its protocol
 * module in `layers/` (`dnsSummary`, `dhcpSummary`, `tftpSummary`,
 * `httpSummary`), as its descriptor's `summary`; this module is the printer's
 * way in.
 *
 * @example
 * ```ts
 * import { SummaryFormatter } from "./summary.ts";
 * import { appSummary } from "./app_summary.ts";
 * const f = new SummaryFormatter({ app: appSummary });
 * ```
 *
 * @module
 */
import type { LayerBase } from "../../layers/core.ts";
import { summaryOf } from "../../layers/registry.ts";

/** The summary of a `dns`, `dhcp`, `tftp` or `http` layer; null for any other layer. */
export function appSummary(layer: LayerBase): string | null {
  return summaryOf(layer);
}
