/**
 * `stackts/stream`: what joins our stack to Node's streams, apart from the
 * main entry because its types extend `node:stream`'s and so need
 * `@types/node` in a user's project (`stackts` and `stackts/layers` type-check
 * without it). A TCP connection of our stack as a Duplex (`TcpStream`,
 * `connectStream`), and the connection factory that lets Node's own HTTP
 * clients run over it: `createConnection` / `stackConnector`, the
 * `createConnection` of `http.request` and the `connect` of undici's `Agent`.
 *
 * @example
 * ```ts
 * import http from "node:http";
 * import { openHost } from "stackts";
 * import { stackConnector } from "stackts/stream";
 * const host = openHost({ iface: "eth0", ipv4: ["10.0.0.50/24"] });
 * http.get({ host: "10.0.0.7", path: "/", createConnection: stackConnector(host) }, (res) => res.pipe(process.stdout));
 * ```
 *
 * @module
 */
export { TcpStream, connectStream } from "./stack/stream.ts";
export { createConnection, stackConnector } from "./apps/http_node.ts";
export type { StackConnect, StackConnectOptions, StackConnectorOptions, SocketsOwner } from "./apps/http_node.ts";
