/**
 * The report's charts, drawn by uPlot: the I/O graph (packets/s and bits/s
 * per protocol over time, drag to zoom, double-click to reset) and, for one
 * TCP connection, the Stevens-style time-sequence graph (data segments as
 * points at their last sequence number, the other side's ACK line and
 * receive-window edge as steps, SACK blocks, retransmissions and duplicate
 * ACKs marked), throughput and RTT.
 *
 * uPlot was chosen for speed on large series (it draws tens of thousands of
 * points on a canvas in milliseconds, with no per-point DOM) and size (~50 kB
 * minified, no dependencies), so the page stays a single light file.
 *
 * @module
 */
import uPlot from "uplot";
import { TCP_MARK, type IoGraph, type TcpDirectionSeries } from "../model.ts";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

/** An axis whose numbers carry SI prefixes (1.5M rather than 1,500,000). */
function siAxis(label?: string): uPlot.Axis {
  const si = (v: number): string => {
    const a = Math.abs(v);
    if (a >= 1e9) return +(v / 1e9).toFixed(2) + "G";
    if (a >= 1e6) return +(v / 1e6).toFixed(2) + "M";
    if (a >= 1e3) return +(v / 1e3).toFixed(2) + "k";
    return String(+v.toFixed(3));
  };
  return { size: 70, values: (_u, vals) => vals.map(si), ...(label === undefined ? {} : { label }) };
}

function width(box: HTMLElement): number {
  return Math.max(400, Math.min(1100, box.clientWidth || 900));
}

/** Packets/s and bits/s per protocol; returns the two plots. */
export function drawIo(box: HTMLElement, io: IoGraph): uPlot[] {
  const n = io.packets[0]?.length ?? 0;
  const xs = Array.from({ length: n }, (_, i) => i * io.binSeconds);
  const make = (title: string, rows: number[][], scale: number): uPlot => {
    const data: uPlot.AlignedData = [xs, ...rows.map((r) => r.map((v) => (v * scale) / io.binSeconds))];
    const opts: uPlot.Options = {
      title,
      width: width(box),
      height: 220,
      scales: { x: { time: false } },
      axes: [{ label: "seconds" }, siAxis()],
      series: [{ label: "t" }, ...io.protocols.map((p, i) => ({ label: p, stroke: COLORS[i % COLORS.length]!, width: 1 }))],
    };
    return new uPlot(opts, data, box);
  };
  return [make("packets/s", io.packets, 1), make("bits/s", io.bytes, 8)];
}

/** Merge several (x, y) point lists into uPlot's aligned form: one x array, one y array per series with nulls. */
function align(series: { x: readonly number[]; y: readonly (number | null)[] }[]): uPlot.AlignedData {
  const all = new Set<number>();
  for (const s of series) for (const x of s.x) all.add(x);
  const xs = [...all].sort((p, q) => p - q);
  const at = new Map<number, number>();
  xs.forEach((x, i) => at.set(x, i));
  const ys = series.map((s) => {
    const y = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((x, i) => {
      const v = s.y[i];
      const k = at.get(x)!;
      // Several points at one time: keep the highest (the graph's envelope).
      if (v !== null && v !== undefined && (y[k] === null || v > y[k]!)) y[k] = v;
    });
    return y;
  });
  return [xs, ...ys];
}

function pick(s: TcpDirectionSeries, which: (mark: number) => boolean): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  s.dataT.forEach((t, i) => {
    if (which(s.dataMark[i]!)) {
      x.push(t);
      y.push(s.dataEnd[i]!);
    }
  });
  return { x, y };
}

const RETX = TCP_MARK.retransmission | TCP_MARK.fastRetransmission;

/** The time-sequence graph, throughput and RTT of one direction. */
export function drawTcp(box: HTMLElement, s: TcpDirectionSeries): uPlot[] {
  const w = width(box);
  const points = (color: string, size: number) => ({ show: true, size, stroke: color, fill: color });
  const noLine = () => null;
  const data = pick(s, (m) => (m & (RETX | TCP_MARK.spuriousRetransmission)) === 0);
  const retx = pick(s, (m) => (m & RETX) !== 0);
  const spurious = pick(s, (m) => (m & TCP_MARK.spuriousRetransmission) !== 0);
  const dup = { x: [] as number[], y: [] as number[] };
  s.ackT.forEach((t, i) => {
    if (s.ackMark[i]! & TCP_MARK.dupAck) {
      dup.x.push(t);
      dup.y.push(s.ack[i]!);
    }
  });
  const sackX: number[] = [];
  const sackY: number[] = [];
  s.sackT.forEach((t, i) => {
    sackX.push(t);
    sackY.push(s.sackRight[i]!);
  });
  // Drawn in this order: the retransmissions last, on top of everything.
  const seq = align([
    data,
    { x: s.ackT, y: s.ack },
    { x: s.ackT, y: s.win },
    { x: sackX, y: sackY },
    dup,
    spurious,
    retx,
  ]);
  const stepped = uPlot.paths.stepped!({ align: 1 });
  const plots: uPlot[] = [];
  plots.push(
    new uPlot(
      {
        title: `time-sequence (Stevens): ${s.label}`,
        width: w,
        height: 360,
        scales: { x: { time: false } },
        axes: [{ label: "seconds" }, siAxis("relative sequence number")],
        series: [
          { label: "t" },
          { label: "data", stroke: "#1f77b4", paths: noLine, points: points("#1f77b4", 4) },
          { label: "ACK", stroke: "#7f7f7f", paths: stepped, spanGaps: true, points: { show: false } },
          { label: "receive window", stroke: "#2ca02c", paths: stepped, spanGaps: true, points: { show: false } },
          { label: "SACK", stroke: "#9467bd", paths: noLine, points: points("#9467bd", 5) },
          { label: "duplicate ACK", stroke: "#e377c2", paths: noLine, points: points("#e377c2", 5) },
          { label: "spurious retransmission", stroke: "#ff7f0e", paths: noLine, points: points("#ff7f0e", 8) },
          { label: "retransmission", stroke: "#d62728", paths: noLine, points: points("#d62728", 9) },
        ],
      },
      seq,
      box,
    ),
  );
  // Throughput: bytes per bin over the connection's span, 100 bins.
  if (s.dataT.length > 1) {
    const t0 = s.dataT[0]!;
    const t1 = s.dataT[s.dataT.length - 1]!;
    const bins = 100;
    const bw = Math.max((t1 - t0) / bins, 1e-6);
    const tp = new Array<number>(bins + 1).fill(0);
    s.dataT.forEach((t, i) => (tp[Math.min(bins, Math.floor((t - t0) / bw))]! += s.dataBytes[i]!));
    const xs = tp.map((_, i) => t0 + i * bw);
    plots.push(
      new uPlot(
        {
          title: "throughput (bits/s)",
          width: w,
          height: 180,
          scales: { x: { time: false } },
          axes: [{ label: "seconds" }, siAxis()],
          series: [{ label: "t" }, { label: "bits/s", stroke: "#1f77b4", fill: "rgba(31,119,180,0.15)" }],
        },
        [xs, tp.map((b) => (b * 8) / bw)],
        box,
      ),
    );
  }
  if (s.rttT.length > 0) {
    plots.push(
      new uPlot(
        {
          title: "round-trip time (ms)",
          width: w,
          height: 180,
          scales: { x: { time: false } },
          axes: [{ label: "seconds" }, { size: 70 }],
          series: [{ label: "t" }, { label: "RTT ms", stroke: "#8c564b", paths: noLine, points: points("#8c564b", 4) }],
        },
        [s.rttT, s.rtt.map((r) => r * 1000)],
        box,
      ),
    );
  }
  return plots;
}
