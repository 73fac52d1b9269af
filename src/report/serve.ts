/**
 * Serving a report page over HTTP on 127.0.0.1 only (`stackts view`, `stackts
 * capture --view`): `/` (and `/index.html`) is the page, `/data.json` its
 * current data, anything else 404. The page and data are asked for at each
 * request, so a live capture serves what it has aggregated so far.
 *
 * @example
 * ```ts
 * import { serveReport } from "./serve.ts";
 * const s = await serveReport({ port: 0, page: () => html, data: () => data });
 * console.log(s.url); // http://127.0.0.1:40123/
 * await s.close();
 * ```
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dataJson } from "./html.ts";
import type { ReportData } from "./model.ts";

/** A running server. */
export interface ReportServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1:`port` (0: any free port). */
export function serveReport(options: { port: number; page: () => string; data: () => ReportData }): Promise<ReportServer> {
  const server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (url === "/" || url === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(options.page());
    } else if (url === "/data.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(dataJson(options.data()));
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
