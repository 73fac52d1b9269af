/**
 * The live report page of `stackts capture IF --view`: every captured batch
 * goes into a {@link ReportBuilder}, and a server on 127.0.0.1 (serve.ts)
 * serves the page, whose script polls `data.json` every two seconds and
 * redraws from the aggregation so far.
 *
 * @example
 * ```ts
 * import { startLiveView } from "./live_view.ts";
 * const view = await startLiveView("eth0", 0);
 * // capture.onBatch((batch) => view.addBatch(batch));
 * console.error(view.url);
 * await view.close();
 * ```
 *
 * @module
 */
import type { FrameBatch } from "../frame.ts";
import { ReportBuilder } from "./aggregate.ts";
import { reportHtml } from "./html.ts";
import type { ReportData } from "./model.ts";
import { serveReport } from "./serve.ts";

/** A live report being served. */
export interface LiveView {
  url: string;
  port: number;
  addBatch(batch: FrameBatch): void;
  close(): Promise<void>;
}

/** Serve the live report of a capture on `iface` on 127.0.0.1:`port` (0: any free port). */
export async function startLiveView(iface: string, port = 0): Promise<LiveView> {
  const builder = new ReportBuilder({ file: `live capture on ${iface}`, format: "live" });
  // The aggregation is redone at most once a second, whatever the polling.
  let cached: ReportData | null = null;
  let cachedAt = 0;
  const data = (): ReportData => {
    const now = Date.now();
    if (cached === null || now - cachedAt >= 1000) {
      cached = { ...builder.finish(null), live: true };
      cachedAt = now;
    }
    return cached;
  };
  const server = await serveReport({ port, page: () => reportHtml(data()), data });
  return {
    url: server.url,
    port: server.port,
    addBatch: (batch) => builder.addBatch(batch),
    close: () => server.close(),
  };
}
