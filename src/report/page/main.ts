/**
 * The report page: reads the report's data from the page's JSON element (or,
 * for a live page, from `data.json` beside it, every two seconds) and draws
 * the summary, the protocol hierarchy, the conversation tables (sortable; a
 * click draws the conversation's flow diagram and, for TCP, its graphs), the
 * I/O graph and the packet list.
 *
 * For tests and tools the page says what it drew in data attributes:
 * `body[data-ready]`, each conversation row's numbers, `#tcp[data-retransmissions]`,
 * `#flow[data-arrows]`.
 *
 * @module
 */
import "uplot/dist/uPlot.min.css";
import "./page.css";
import type uPlot from "uplot";
import type { Conversation, ConversationKind, ReportData } from "../model.ts";
import { drawIo, drawTcp } from "./charts.ts";
import { bytes, el, int, secs, section } from "./dom.ts";
import { drawFlow } from "./flow.ts";
import { drawPackets } from "./packets.ts";

const KINDS: { kind: ConversationKind; title: string }[] = [
  { kind: "ipv4", title: "IPv4 hosts" },
  { kind: "ipv6", title: "IPv6 hosts" },
  { kind: "tcp", title: "TCP" },
  { kind: "udp", title: "UDP" },
];

interface Column {
  title: string;
  value: (c: Conversation) => number | string;
  text?: (c: Conversation) => string;
}

const COLUMNS: Column[] = [
  { title: "A", value: (c) => c.a, text: (c) => (c.aPort === null ? c.a : `${c.a} ${c.aPort}`) },
  { title: "B", value: (c) => c.b, text: (c) => (c.bPort === null ? c.b : `${c.b} ${c.bPort}`) },
  { title: "packets", value: (c) => c.packetsAB + c.packetsBA, text: (c) => int(c.packetsAB + c.packetsBA) },
  { title: "bytes", value: (c) => c.bytesAB + c.bytesBA, text: (c) => bytes(c.bytesAB + c.bytesBA) },
  { title: "packets A→B", value: (c) => c.packetsAB, text: (c) => int(c.packetsAB) },
  { title: "bytes A→B", value: (c) => c.bytesAB, text: (c) => bytes(c.bytesAB) },
  { title: "packets B→A", value: (c) => c.packetsBA, text: (c) => int(c.packetsBA) },
  { title: "bytes B→A", value: (c) => c.bytesBA, text: (c) => bytes(c.bytesBA) },
  { title: "start", value: (c) => c.start, text: (c) => secs(c.start) },
  { title: "duration", value: (c) => c.duration, text: (c) => c.duration.toFixed(4) },
  { title: "retransmissions", value: (c) => c.retransmissions, text: (c) => int(c.retransmissions) },
];

let plots: uPlot[] = [];
let selectPacket: (n: number) => boolean = () => false;

function packetLinks(numbers: readonly number[]): HTMLElement {
  const span = el("span", { class: "links" });
  for (const n of numbers) {
    const a = el("a", { href: `#packet-${n}`, "data-n": n }, `#${n}`);
    a.addEventListener("click", (e) => {
      e.preventDefault();
      if (!selectPacket(n)) alert(`packet ${n} is not in the page's packet list`);
    });
    span.append(a, " ");
  }
  return span;
}

function summary(d: ReportData): HTMLElement {
  const s = d.summary;
  const start = s.start === null ? "-" : new Date(s.start * 1000).toISOString();
  const rows: [string, Node | string][] = [
    ["file", d.file + (d.filter ? `  (filter: ${d.filter})` : "")],
    ["format", s.format],
    ["first packet", start],
    ["time span", `${s.duration.toFixed(6)} s`],
    ["packets", int(s.packets)],
    ["bytes", `${int(s.bytes)} on the wire, ${int(s.capturedBytes)} captured`],
    ["link types", Object.entries(s.linkTypes).map(([k, v]) => `${k}: ${int(v)}`).join(", ")],
  ];
  for (const p of s.checksumProblems) rows.push([p.what, el("span", {}, `${int(p.count)} packets: `, packetLinks(p.packets))]);
  for (const p of s.issues) rows.push([p.what, el("span", {}, `${int(p.count)} packets: `, packetLinks(p.packets))]);
  if (s.checksumProblems.length === 0 && s.issues.length === 0) rows.push(["problems", "no bad checksums, no decode issues"]);
  const table = el("table", { class: "kv" }, el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
  const box = section("summary", "Summary", table);
  box.dataset["packets"] = String(s.packets);
  box.dataset["bytes"] = String(s.bytes);
  if (s.stopped !== null) box.append(el("p", { class: "stopped", id: "stopped" }, `Reading stopped early: ${s.stopped}. The report holds every packet before that point.`));
  for (const l of d.limits) box.append(el("p", { class: "note" }, `Left out to keep the page light: ${l}.`));
  return box;
}

function hierarchy(d: ReportData): HTMLElement {
  const total = Math.max(1, d.summary.packets);
  const body = el("tbody");
  for (const h of d.hierarchy) {
    const depth = h.path.split("/").length - 1;
    const name = h.path.split("/").pop()!;
    const share = (h.packets / total) * 100;
    body.append(
      el(
        "tr",
        { "data-path": h.path, "data-packets": h.packets, "data-bytes": h.bytes },
        el("td", { style: `padding-left:${0.4 + depth * 1.2}em` }, name),
        el("td", {}, int(h.packets)),
        el("td", {}, bytes(h.bytes)),
        el("td", { class: "barcell" }, el("div", { class: "bar", style: `width:${share.toFixed(1)}%` }), el("span", {}, `${share.toFixed(1)}%`)),
      ),
    );
  }
  return section("hierarchy", "Protocol hierarchy", el("table", { class: "hier" }, el("thead", {}, el("tr", {}, el("th", {}, "protocol"), el("th", {}, "packets"), el("th", {}, "bytes"), el("th", {}, "share of packets"))), body));
}

function conversationTable(d: ReportData, kind: ConversationKind, onPick: (c: Conversation) => void): HTMLElement | null {
  const convs = d.conversations.filter((c) => c.kind === kind);
  if (convs.length === 0) return null;
  const cols = kind === "tcp" ? COLUMNS : COLUMNS.filter((c) => c.title !== "retransmissions");
  const body = el("tbody");
  let sortCol = 3;
  let descending = true;
  const fill = (): void => {
    const col = cols[sortCol]!;
    const sorted = [...convs].sort((x, y) => {
      const a = col.value(x);
      const b = col.value(y);
      const r = a < b ? -1 : a > b ? 1 : 0;
      return descending ? -r : r;
    });
    body.replaceChildren(
      ...sorted.map((c) => {
        const tr = el(
          "tr",
          {
            "data-id": c.id,
            "data-a": c.a,
            "data-b": c.b,
            "data-a-port": c.aPort ?? "",
            "data-b-port": c.bPort ?? "",
            "data-packets-ab": c.packetsAB,
            "data-bytes-ab": c.bytesAB,
            "data-packets-ba": c.packetsBA,
            "data-bytes-ba": c.bytesBA,
            "data-retransmissions": c.retransmissions,
          },
          ...cols.map((col) => el("td", {}, col.text ? col.text(c) : String(col.value(c)))),
        );
        tr.addEventListener("click", () => {
          for (const r of document.querySelectorAll("table.conv tr.selected")) r.classList.remove("selected");
          tr.classList.add("selected");
          onPick(c);
        });
        return tr;
      }),
    );
  };
  const head = el(
    "tr",
    {},
    ...cols.map((col, i) => {
      const th = el("th", { title: "sort" }, col.title);
      th.addEventListener("click", () => {
        descending = sortCol === i ? !descending : true;
        sortCol = i;
        fill();
      });
      return th;
    }),
  );
  fill();
  const title = KINDS.find((k) => k.kind === kind)!.title;
  return el("div", { class: "convbox" }, el("h3", {}, `${title} (${convs.length})`), el("div", { class: "scroll" }, el("table", { class: "conv", "data-kind": kind }, el("thead", {}, head), body)));
}

function render(d: ReportData): void {
  const app = document.getElementById("app")!;
  for (const p of plots) p.destroy();
  plots = [];
  const tcpBox = section("tcp", "TCP connection", el("p", { class: "note" }, "Click a TCP conversation above for its time-sequence graph, throughput and RTT."));
  const flowBox = section("flow", "Flow diagram", el("p", { class: "note" }, "Click a conversation above for its flow diagram."));
  const tcpPlots: uPlot[] = [];
  const pick = (c: Conversation): void => {
    const rows = d.flows[c.id] ?? [];
    const flowInner = el("div", { id: "flow-diagram" });
    flowBox.replaceChildren(el("h2", {}, "Flow diagram"), flowInner);
    drawFlow(flowInner, c, rows);
    flowBox.dataset["arrows"] = String(rows.length);
    flowBox.dataset["conv"] = c.id;
    if (c.kind !== "tcp") return;
    for (const p of tcpPlots.splice(0)) p.destroy();
    const series = d.tcp[c.id];
    tcpBox.replaceChildren(el("h2", {}, "TCP connection"));
    tcpBox.dataset["conv"] = c.id;
    if (series === undefined) {
      tcpBox.append(el("p", { class: "note" }, "No graph for this connection (only the largest connections have one)."));
      return;
    }
    tcpBox.dataset["retransmissions"] = String(series.ab.retransmissions + series.ba.retransmissions);
    tcpBox.dataset["dupAcks"] = String(series.ab.dupAcks + series.ba.dupAcks);
    // Show the direction that carried more data first.
    const dirs = series.ab.dataBytes.reduce((x, y) => x + y, 0) >= series.ba.dataBytes.reduce((x, y) => x + y, 0) ? [series.ab, series.ba] : [series.ba, series.ab];
    for (const s of dirs) {
      const box = el("div", { class: "tcpdir", "data-label": s.label, "data-retransmissions": s.retransmissions, "data-points": s.dataT.length });
      tcpBox.append(box);
      box.append(el("p", { class: "note" }, `${s.label}: ${int(s.retransmissions)} retransmissions, ${int(s.dupAcks)} duplicate ACKs${s.downsampled ? " (points merged to keep the page light)" : ""}`));
      // A direction that sent no data (only ACKs) has no graph of its own: its ACKs are on the other's.
      if (!s.dataBytes.some((b) => b > 0)) continue;
      tcpPlots.push(...drawTcp(box, s));
    }
  };
  const convBox = section("conversations", "Conversations");
  for (const k of KINDS) convBox.append(conversationTable(d, k.kind, pick) ?? "");
  const ioBox = section("io", "I/O graph", el("p", { class: "note" }, `bins of ${d.io.binSeconds} s; drag to zoom, double-click to reset`));
  const packetBox = section("packets", "Packets");
  app.replaceChildren(
    el("header", {}, el("h1", {}, `stackts report: ${d.file}`), d.live ? el("p", { class: "live" }, "live: updating every 2 s") : ""),
    summary(d),
    hierarchy(d),
    convBox,
    ioBox,
    tcpBox,
    flowBox,
    packetBox,
  );
  plots.push(...drawIo(ioBox, d.io));
  selectPacket = drawPackets(packetBox, d.packets);
  document.body.dataset["ready"] = "1";
}

function load(): void {
  const node = document.getElementById("stackts-data");
  const d = JSON.parse(node?.textContent ?? "null") as ReportData | null;
  if (d === null) throw new Error("no report data in the page");
  render(d);
  if (d.live) {
    setInterval(() => {
      fetch("data.json", { cache: "no-store" })
        .then((r) => r.json() as Promise<ReportData>)
        .then((next) => render(next))
        .catch(() => undefined);
    }, 2000);
  }
}

load();
