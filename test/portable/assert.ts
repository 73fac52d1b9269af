/**
 * The portable cases' only test helper: a few assertions in plain TypeScript
 * over web-standard APIs (no node:*, no Buffer, no test framework), so the same
 * cases run unchanged in Node (vitest), Deno, Bun and a browser.
 *
 * `equal` is deep equality as vitest's `toEqual` sees it (a key holding
 * `undefined` counts as absent, prototypes are not compared, a `Uint8Array`
 * equals another with the same bytes); `match` is the subset form of
 * `toMatchObject`. A failure throws an {@link AssertionError} naming the path
 * of the first difference, e.g. `layers[1].checksum: expected 0xf1a8, got 0xf1a9`.
 *
 * @example
 * ```ts
 * import { equal, hex } from "./assert.ts";
 * equal(decodePacket(hex("027700000002 027700000001 88b5"), 1).layers[0], { layer: "ethernet", ... }, "ethernet");
 * ```
 *
 * @module
 */

/** An assertion that did not hold; its message names what was compared and where it differs. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/**
 * Bytes from hex text; spaces, newlines and `# comments` are ignored.
 *
 * @example
 * ```ts
 * hex("0800 45") // Uint8Array [0x08, 0x00, 0x45]
 * ```
 */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new TypeError(`Invalid hex literal: "${text}"`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * The hex of an ASCII string, for splicing text into a {@link hex} literal.
 *
 * @example
 * ```ts
 * ascii("hi") // "6869"
 * ```
 */
export function ascii(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) out += text.charCodeAt(i).toString(16).padStart(2, "0");
  return out;
}

/**
 * A short readable form of a value for failure messages: bytes as hex, numbers
 * above 255 with their hex beside them.
 *
 * @example
 * ```ts
 * show({ type: 0x88b5, data: hex("0102") }) // '{ type: 34997 (0x88b5), data: <01 02> }'
 * ```
 */
export function show(value: unknown, depth = 0): string {
  if (value instanceof Uint8Array) {
    const shown = Array.from(value.subarray(0, 48), (b) => b.toString(16).padStart(2, "0")).join(" ");
    return `<${shown}${value.length > 48 ? ` … ${value.length} bytes` : ""}>`;
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Number.isInteger(value) && value > 255 ? `${value} (0x${value.toString(16)})` : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "[function]";
  if (value === null || typeof value !== "object") return String(value);
  if (depth > 3) return Array.isArray(value) ? "[…]" : "{…}";
  if (Array.isArray(value)) return `[${value.map((v) => show(v, depth + 1)).join(", ")}]`;
  const entries = Object.entries(value).map(([k, v]) => `${k}: ${show(v, depth + 1)}`);
  return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The first difference between `actual` and `expected` under `path`, or null. */
function difference(actual: unknown, expected: unknown, path: string, subset: boolean): string | null {
  if (Object.is(actual, expected)) return null;
  const differ = (): string => `${path}: expected ${show(expected)}, got ${show(actual)}`;
  if (expected instanceof Uint8Array || actual instanceof Uint8Array) {
    if (!(expected instanceof Uint8Array) || !(actual instanceof Uint8Array)) return differ();
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} bytes ${show(expected)}, got ${actual.length} bytes ${show(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] !== expected[i]) {
        return `${path}: byte ${i} is 0x${actual[i]!.toString(16).padStart(2, "0")}, expected 0x${expected[i]!.toString(16).padStart(2, "0")}; expected ${show(expected)}, got ${show(actual)}`;
      }
    }
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return differ();
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} items ${show(expected)}, got ${actual.length} items ${show(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const d = difference(actual[i], expected[i], `${path}[${i}]`, subset);
      if (d !== null) return d;
    }
    return null;
  }
  if (isRecord(expected)) {
    if (!isRecord(actual)) return differ();
    const keys = new Set(Object.keys(expected));
    if (!subset) for (const k of Object.keys(actual)) keys.add(k);
    for (const k of keys) {
      const d = difference(actual[k], expected[k], `${path}.${k}`, subset);
      if (d !== null) return d;
    }
    return null;
  }
  return differ();
}

/**
 * Deep equality (as vitest's `toEqual`); `what` names the value in the failure message.
 *
 * @example
 * ```ts
 * equal(decodeAs("arp", bytes).issues, [], "arp issues");
 * ```
 */
export function equal(actual: unknown, expected: unknown, what: string): void {
  const d = difference(actual, expected, what, false);
  if (d !== null) throw new AssertionError(d);
}

/**
 * Every key of `expected` holds an equal value in `actual`, recursively (as
 * vitest's `toMatchObject`); other keys of `actual` are not looked at.
 *
 * @example
 * ```ts
 * match(layers[1], { layer: "udp", checksumStatus: "good" }, "udp");
 * ```
 */
export function match(actual: unknown, expected: unknown, what: string): void {
  const d = difference(actual, expected, what, true);
  if (d !== null) throw new AssertionError(d);
}

/**
 * `condition` holds.
 *
 * @example
 * ```ts
 * ok(reason.includes("loop"), `reason ${reason}`);
 * ```
 */
export function ok(condition: boolean, what: string): void {
  if (!condition) throw new AssertionError(`${what}: not true`);
}

/**
 * `run` throws an instance of `type` with exactly `message`.
 *
 * @example
 * ```ts
 * throws(() => parseIpv4("1.2.3"), RangeError, 'Invalid IPv4 address: "1.2.3"', "parseIpv4");
 * ```
 */
export function throws(run: () => unknown, type: new (message?: string) => Error, message: string, what: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new AssertionError(`${what}: expected ${type.name} "${message}", nothing was thrown`);
  if (!(thrown instanceof type) || thrown.message !== message) {
    const got = thrown instanceof Error ? `${thrown.name} "${thrown.message}"` : show(thrown);
    throw new AssertionError(`${what}: expected ${type.name} "${message}", got ${got}`);
  }
}
