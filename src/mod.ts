/**
 * stackts: a layered network protocol stack with native libpcap capture.
 *
 * This module is the package's public API (`import ... from "stackts"`): the pure
 * protocol layers (decode, build, checksums, zero-copy peeks) re-exported from
 * `layers/mod.ts`, and everything with I/O: capture files, live capture and
 * injection, BPF filters, devices, conversation tracking, and the text forms the
 * CLI prints. The CLI (`stackts`) is a thin shell over these calls.
 *
 * @example
 * ```ts
 * import { openCaptureFile, PacketDecoder, SummaryFormatter, appSummary, clockTime } from "stackts";
 * const reader = openCaptureFile("trace.pcap");
 * const decoder = new PacketDecoder();
 * const summary = new SummaryFormatter({ app: appSummary });
 * for await (const f of reader) {
 *   const p = decoder.decode(f.data, f.linkType, f.length);
 *   console.log(clockTime(f.sec, f.nsec), summary.format(p.layers, p.issues, f.length));
 * }
 * ```
 *
 * @module
 */
export * from "../layers/mod.ts";

// Frames and capture files
export * from "./frame.ts";
export { CaptureFileError, CaptureFileReader, openCaptureFile, openCaptureWriter, PCAPNG_LIMITS } from "./capture_file.ts";
export type { CaptureFileOptions, CaptureWriterOptions, CaptureInterface, CaptureSection, InterfaceSpec, CaptureWriter, PcapngLimits } from "./capture_file.ts";
export { PcapWriter, DEFAULT_SNAPLEN } from "./pcap.ts";
export type { PcapWriterOptions } from "./pcap.ts";
export { PcapngWriter } from "./pcapng.ts";
export type { PcapngWriterOptions } from "./pcapng.ts";

// Live capture, injection, filters, devices, privileges
export * from "./errors.ts";
export * from "./live.ts";
export * from "./bpf.ts";
export * from "./devices.ts";
export { libpcapVersion } from "./native.ts";
export { dropPrivileges, lookupUser, processCapabilities, PrivilegeError } from "./privileges.ts";
export type { Capabilities, UserAccount } from "./privileges.ts";

// The device seam: a link a stack talks on (live, in memory), its clock, waiting for a frame.
// `LinkDevice` is device/device.ts's `Device` (the name `Device` is devices.ts's interface listing).
export type { Device as LinkDevice, Clock } from "./device/device.ts";
export { systemClock, VirtualClock, clockStamp } from "./device/clock.ts";
export { memoryPair, MemoryDevice } from "./device/memory.ts";
export type { MemoryPairOptions } from "./device/memory.ts";
export { LiveDevice, openLiveDevice } from "./device/live_device.ts";
export type { LiveDeviceOptions } from "./device/live_device.ts";
export { waitForFrame } from "./device/wait.ts";
// A bad link around any device (seeded loss, duplication, corruption, reordering, delay, rate), and a capture of one.
export { impair, ImpairedDevice } from "./device/impair.ts";
export type { Impairment, ImpairOptions, ImpairStats } from "./device/impair.ts";
export { tap, openTap, TappedDevice } from "./device/tap.ts";
export type { TapOptions, TapWriter } from "./device/tap.ts";

// The userspace TCP/IP stack: a host of our own on a link (openHost), Beej's socket calls over it,
// a Node Duplex for http.request, the deterministic core and its driver, and the text trace.
export { openHost, Host, hostFilter } from "./stack/host.ts";
export type { HostOptions } from "./stack/host.ts";
export { Sockets, Socket } from "./stack/sockets.ts";
export type { Family as SocketFamily, SocketType, ShutdownHow, SocketOption, SocketAddress } from "./stack/sockets.ts";
export { SocketError, errorText } from "./stack/errors.ts";
export type { SocketErrorCode } from "./stack/errors.ts";
// TcpStream and connectStream (a Node Duplex) are in "stackts/stream": their
// types extend node:stream's, which need @types/node; everything here stands without.
export { StackDriver } from "./stack/driver.ts";
export { Stack } from "./stack/stack.ts";
export type { StackOptions, StackStats } from "./stack/stack.ts";
export type { InterfaceOptions, AddressSpec } from "./stack/interface.ts";
export { PingEndpoint } from "./stack/control.ts";
export type { EchoReply } from "./stack/control.ts";
export { DEFAULT_TCP_CONFIG } from "./stack/tcp/config.ts";
export type { TcpConfig, TcpState, CongestionControl } from "./stack/tcp/config.ts";
export { TextTrace, senderState } from "./stack/trace.ts";
export type { TraceSink } from "./stack/trace.ts";
export { systemRandom, seededRandom } from "./stack/random.ts";
export type { Random } from "./stack/random.ts";

// HTTP over our TCP: a client (bounded heads, Content-Length, chunked, close-delimited, redirects), the
// response reader it is built on.
export { httpRequest, parseHttpUrl, requestBytes, HttpError } from "./apps/http_client.ts";
export type { HttpRequestOptions, HttpResult, HttpTarget, HttpResponseHead, BodyFraming } from "./apps/http_client.ts";
export { BodyDecoder, bodyFraming, findHeadEnd, parseResponseHead } from "./apps/http_message.ts";
// The connection factory for Node's http.request and undici's Agent is in "stackts/stream" (src/stream.ts):
// its types extend node:stream's.

// Applications over the stack: a DNS stub resolver (UDP, TCP on truncation) and a DHCP client.
export { dnsQuery, resolveHost, answerAddresses, DnsError } from "./apps/dns.ts";
export type { DnsResolverOptions, DnsResult, ResolveOptions, AppHost, DnsErrorCode } from "./apps/dns.ts";
export { DhcpClient, DhcpError, describeLease } from "./apps/dhcp.ts";
export type { DhcpLease, DhcpClientOptions, DhcpEvent } from "./apps/dhcp.ts";

// TFTP over our stack (src/apps/tftp/): a client's get and put, a server, the deterministic transfer core.
export { tftpGet, tftpPut, TftpServer, runTransfer } from "./apps/tftp/driver.ts";
export type { TftpHost, ClientRun as TftpClientRun, TftpServerOptions, ServedRequest as TftpServedRequest } from "./apps/tftp/driver.ts";
export { TftpTransfer } from "./apps/tftp/transfer.ts";
export type { BlockSink, BlockSource, TftpMode, TransferResult as TftpResult, TransferStats as TftpStats } from "./apps/tftp/transfer.ts";
export type { ClientOptions as TftpOptions } from "./apps/tftp/options.ts";
export { TftpError, TftpTimeout } from "./apps/tftp/packet.ts";
export { directoryFiles as tftpDirectoryFiles, fileSink as tftpFileSink, fileSource as tftpFileSource } from "./apps/tftp/files.ts";
export { TftpTrace } from "./apps/tftp/trace.ts";

// Sending: routes, ARP/NDP resolution, UDP frames on the wire or through a raw IP socket, DNS queries
export { lookupRoute, findRoute, readRouteTable, longestPrefixMatch, RouteError } from "./send/route.ts";
export type { Route, RouteEntry, RouteMatch, RouteOptions } from "./send/route.ts";
export { resolveNeighbor, resolveNeighborOn, NeighborCache, NeighborError, defaultNeighborCache } from "./send/neighbor.ts";
export type { NeighborOptions, NeighborOnOptions, NeighborRequestOptions } from "./send/neighbor.ts";
export { buildUdpFrame, planUdp, sendUdp, SendError } from "./send/udp.ts";
export type { UdpSendOptions, UdpFrameInput, UdpFrameSpec, UdpPlan, UdpPlanAddresses } from "./send/udp.ts";
export { sendUdpL3 } from "./send/l3.ts";
export type { UdpL3Options, UdpL3Result } from "./send/l3.ts";
export { queryDns, queryDnsOn, DnsTimeoutError } from "./send/dns_query.ts";
export type { DnsQueryOptions, DnsQueryOnOptions, DnsQueryResult } from "./send/dns_query.ts";

// Conversation state
export * from "./tftp_tracker.ts";
export { TcpSeqTracker } from "./tcp_seq_tracker.ts";
export type { SeqBase } from "./tcp_seq_tracker.ts";

// Text forms (what the CLI prints)
export { SummaryFormatter, tcpFlags, tcpOptions } from "./format/summary.ts";
export type { SummaryOptions } from "./format/summary.ts";
export { appSummary } from "./format/app_summary.ts";
export { packetTree } from "./format/tree.ts";
export { hexDump, toHex } from "./format/hex.ts";
export { packetJson, layersJson, issuesJson, valueJson } from "./format/json.ts";
export type { JsonPacket } from "./format/json.ts";
export { clockTime, isoTime } from "./format/time.ts";
export { Output } from "./format/output.ts";
export { PacketPrinter } from "./format/printer.ts";
export type { PrinterOptions } from "./format/printer.ts";
