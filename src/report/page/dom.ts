/**
 * Small DOM helpers for the report page: element creation, number and time
 * formatting. Browser only (the page's tsconfig has the DOM library).
 *
 * @module
 */

/** A new element with attributes (strings; `class` included) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null) e.append(c);
  return e;
}

/** An SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** 1234567 → "1,234,567". */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Bytes with a unit: "1.5 MB". */
export function bytes(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " GB";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " MB";
  if (n >= 1e3) return (n / 1e3).toFixed(1) + " kB";
  return n + " B";
}

/** Seconds with six decimals. */
export function secs(t: number): string {
  return t.toFixed(6);
}

/** A section with a heading. */
export function section(id: string, title: string, ...children: (Node | string | null)[]): HTMLElement {
  return el("section", { id }, el("h2", {}, title), ...children);
}
