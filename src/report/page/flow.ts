/**
 * The flow (ladder) diagram of one conversation: its two hosts as columns,
 * each packet an arrow from one to the other labelled with the summary line
 * `stackts read` prints, time at the left. Plain SVG; each arrow is a `g`
 * with `data-n` (packet number) and `data-dir` (0: A→B, 1: B→A).
 *
 * @module
 */
import type { Conversation, FlowRow } from "../model.ts";
import { el, svg } from "./dom.ts";

const ROW = 26;
const LEFT = 110;
const WIDTH = 980;

function endpoint(addr: string, port: number | null): string {
  if (port === null) return addr;
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Draw the diagram of `conv` into `box` (replacing what was there). */
export function drawFlow(box: HTMLElement, conv: Conversation, rows: readonly FlowRow[]): void {
  box.replaceChildren();
  box.dataset["conv"] = conv.id;
  box.dataset["arrows"] = String(rows.length);
  const a = endpoint(conv.a, conv.aPort);
  const b = endpoint(conv.b, conv.bPort);
  box.append(el("p", { class: "note" }, `${conv.kind.toUpperCase()} ${a} ⇄ ${b}: ${rows.length} packets shown`));
  const xa = LEFT + 60;
  const xb = WIDTH - 60;
  const height = 50 + rows.length * ROW;
  const root = svg("svg", { width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`, class: "flow" });
  const defs = svg("defs");
  for (const [id, color] of [["head-ab", "#1f77b4"], ["head-ba", "#d62728"]] as const) {
    const marker = svg("marker", { id, markerWidth: 10, markerHeight: 8, refX: 9, refY: 4, orient: "auto" });
    marker.append(svg("path", { d: "M0,0 L10,4 L0,8 z", fill: color }));
    defs.append(marker);
  }
  root.append(defs);
  for (const [x, name] of [[xa, a], [xb, b]] as const) {
    const label = svg("text", { x, y: 16, "text-anchor": "middle", class: "host" });
    label.textContent = name;
    root.append(label, svg("line", { x1: x, y1: 24, x2: x, y2: height, class: "lifeline" }));
  }
  rows.forEach((r, i) => {
    const y = 48 + i * ROW;
    const g = svg("g", { class: "arrow", "data-n": r.n, "data-dir": r.dir });
    const time = svg("text", { x: 4, y: y + 4, class: "time" });
    time.textContent = r.t.toFixed(6);
    const [x1, x2] = r.dir === 0 ? [xa, xb] : [xb, xa];
    g.append(time, svg("line", { x1, y1: y, x2, y2: y, "marker-end": r.dir === 0 ? "url(#head-ab)" : "url(#head-ba)" }));
    const text = svg("text", { x: (xa + xb) / 2, y: y - 4, "text-anchor": "middle", class: "label" });
    const line = r.text;
    text.textContent = line.length > 120 ? line.slice(0, 117) + "..." : line;
    const title = svg("title");
    title.textContent = `#${r.n} ${r.text}`;
    g.append(text, title);
    root.append(g);
  });
  box.append(root);
}
