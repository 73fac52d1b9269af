/**
 * The packet list: one row per packet (number, time, length, the `stackts
 * read` line); a click shows its `-v` tree and its hex dump, laid out by the
 * same `hexDump` `stackts read -x` prints with (src/format/hex.ts).
 *
 * @module
 */
import { hexDump } from "../../format/hex.ts";
import type { PacketRow } from "../model.ts";
import { el, secs } from "./dom.ts";

function bytesOf(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Build the list into `box`; returns a function that selects packet `n` (false when it is not listed). */
export function drawPackets(box: HTMLElement, packets: readonly PacketRow[]): (n: number) => boolean {
  box.replaceChildren();
  const detail = el("div", { id: "packet-detail" }, el("p", { class: "note" }, "Click a packet for its layer tree and hex."));
  const body = el("tbody");
  const rows = new Map<number, HTMLTableRowElement>();
  const show = (p: PacketRow): void => {
    for (const r of body.querySelectorAll("tr.selected")) r.classList.remove("selected");
    rows.get(p.n)?.classList.add("selected");
    const hex = hexDump(bytesOf(p.bytes), "");
    const cut = p.caplen * 4 > p.bytes.length * 3 + 3 ? " (first bytes only)" : "";
    detail.replaceChildren(
      el("h3", {}, `packet ${p.n}: ${p.length} bytes on the wire, ${p.caplen} captured`),
      el("pre", { class: "tree" }, p.tree),
      el("h3", {}, "hex" + cut),
      el("pre", { class: "hex" }, hex),
    );
    detail.dataset["n"] = String(p.n);
  };
  for (const p of packets) {
    const tr = el("tr", { "data-n": p.n }, el("td", {}, String(p.n)), el("td", {}, secs(p.t)), el("td", {}, String(p.length)), el("td", { class: "line" }, p.summary));
    tr.addEventListener("click", () => show(p));
    rows.set(p.n, tr);
    body.append(tr);
  }
  const table = el("table", { class: "packets" }, el("thead", {}, el("tr", {}, el("th", {}, "No."), el("th", {}, "time"), el("th", {}, "length"), el("th", {}, "summary"))), body);
  box.append(el("div", { class: "scroll" }, table), detail);
  return (n) => {
    const p = packets.find((x) => x.n === n);
    if (p === undefined) return false;
    show(p);
    rows.get(n)?.scrollIntoView({ block: "center" });
    return true;
  };
}
