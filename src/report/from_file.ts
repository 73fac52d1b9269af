/**
 * A report of a capture file: read it in zero-copy batches, keep the frames a
 * BPF filter matches (compiled by libpcap for the file's link type, as `stackts
 * read` does), aggregate them (aggregate.ts). A damaged file gives the report
 * of every good packet, with `summary.stopped` saying where reading stopped,
 * and the error itself beside it.
 *
 * @example
 * ```ts
 * import { reportFile } from "./from_file.ts";
 * const { data, error } = reportFile("trace.pcap", { filter: "tcp" });
 * ```
 *
 * @module
 */
import { BpfFilter } from "../bpf.ts";
import { CaptureFileError, openCaptureFile } from "../capture_file.ts";
import { ReportBuilder, type ReportOptions } from "./aggregate.ts";
import type { ReportData } from "./model.ts";

/** Options of {@link reportFile}. */
export interface ReportFileOptions extends Omit<ReportOptions, "file" | "format"> {
  /** called after each batch with the counts so far and the reader's byte offset and the file's size */
  onProgress?: (packets: number, bytes: number, position: number, size: number | null) => void;
}

/** What {@link reportFile} gives: the report, and the error that stopped reading early (else null). */
export interface FileReport {
  data: ReportData;
  error: CaptureFileError | null;
}

/**
 * Aggregate the file at `path` ("-": stdin). Throws {@link CaptureFileError}
 * when the file cannot be opened or is no capture at all, and the
 * `CaptureError` of a filter libpcap rejects.
 */
export function reportFile(path: string, options: ReportFileOptions = {}): FileReport {
  const reader = openCaptureFile(path);
  const expression = (options.filter ?? "").trim();
  const builder = new ReportBuilder({ ...options, file: path, format: reader.format, filter: expression });
  let filter: BpfFilter | null = null;
  let error: CaptureFileError | null = null;
  try {
    if (expression !== "" && reader.linkType !== null) filter = new BpfFilter(expression, reader.linkType);
    reader.readBatchesSync((batch) => {
      if (expression !== "" && filter === null) filter = new BpfFilter(expression, batch.linkType[0]!);
      builder.addBatch(batch, filter === null ? undefined : filter.matchBatch(batch));
      options.onProgress?.(builder.packets, builder.bytes, reader.position, reader.size);
    });
  } catch (err) {
    if (!(err instanceof CaptureFileError)) throw err;
    error = err;
  } finally {
    reader.close();
    filter?.close();
  }
  return { data: builder.finish(error === null ? null : `${error.message} (after packet ${builder.packets})`), error };
}
