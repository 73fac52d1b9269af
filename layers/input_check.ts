/**
 * Checks a build input against its layer's field rules before anything is
 * written: a value that does not fit its field (`udp srcPort: 70000`, `ipv4
 * ttl: 999`) is a `RangeError`, a value of the wrong type (`tcp flags: {
 * syn: true }`, a number where bytes go) a `TypeError`, each naming the layer
 * and the field. Without it the setters keep the low bits and the packet
 * silently carries another value (70000 becomes 4464).
 *
 * What stays allowed is what crafting is for: any value a field can hold,
 * even a wrong one (a bad checksum, a lying length, a reserved opcode).
 *
 * The rules are data: each protocol descriptor carries its table
 * (`Protocol.inputRules`), the registry collects them, and `encode.ts` runs
 * {@link checkInput} once per layer per packet. A check is a `typeof` and a
 * compare per field that is set; unset fields cost one property load.
 *
 * @example
 * ```ts
 * import { checkInput } from "./input_check.ts";
 * checkInput("udp", { layer: "udp", srcPort: 70000 }, { srcPort: 0xffff }); // RangeError: Cannot encode udp srcPort: 70000 does not fit in 0..65535
 * ```
 *
 * @module
 */

import type { FieldRule, FieldRules } from "./core.ts";

export type { FieldRule, FieldRules } from "./core.ts";

/** An integer field of `bits` bits: its largest value. */
export function bits(n: number): number {
  return n === 32 ? 0xffffffff : (1 << n) - 1;
}

function shown(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === "object") return "an object";
  return String(v);
}

/**
 * A broken rule on its way up: the path is put together as it unwinds (a
 * field name, an index), so a check that passes builds no string.
 */
class Broken {
  constructor(
    readonly range: boolean,
    public message: string,
  ) {}
}

function wrongType(v: unknown, expected: string): never {
  throw new Broken(false, `: expected ${expected}, got ${shown(v)}`);
}

function outOfRange(message: string): never {
  throw new Broken(true, ": " + message);
}

/** Prefix `part` to the path of a {@link Broken} (anything else passes through). */
function under(err: unknown, part: string): unknown {
  if (err instanceof Broken) err.message = part + err.message;
  return err;
}

const ADDRESS_LENGTH: { readonly [rule: string]: number } = { ipv4: 4, ipv6: 16, mac: 6 };

function checkInteger(v: unknown, max: number): asserts v is number {
  if (typeof v !== "number") wrongType(v, `an integer 0..${max}`);
  if (!Number.isInteger(v) || v < 0 || v > max) outOfRange(`${v} does not fit in 0..${max}`);
}

function checkField(v: unknown, rule: FieldRule): void {
  if (typeof rule === "number") {
    checkInteger(v, rule);
    return;
  }
  if (typeof rule === "string") {
    switch (rule) {
      case "int":
        if (typeof v !== "number") wrongType(v, "an integer");
        if (!Number.isSafeInteger(v)) outOfRange(`${v} is not an integer`);
        return;
      case "bool":
        if (typeof v !== "boolean") wrongType(v, "true or false");
        return;
      case "text":
        if (typeof v !== "string") wrongType(v, "a string");
        return;
      case "bytes":
        if (!(v instanceof Uint8Array)) wrongType(v, "a Uint8Array");
        return;
      case "data":
        if (typeof v !== "string" && !(v instanceof Uint8Array)) wrongType(v, "a Uint8Array or a string (written as UTF-8)");
        return;
      default: {
        // an address: text (parsed, with its own RangeError, when written) or bytes
        if (typeof v === "string") return;
        if (!(v instanceof Uint8Array)) wrongType(v, "an address as text or bytes");
        if (rule === "address") return;
        const n = ADDRESS_LENGTH[rule];
        if (n !== undefined ? v.length !== n : v.length !== 4 && v.length !== 16) outOfRange(`an address of ${v.length} bytes (expected ${n ?? "4 or 16"})`);
        return;
      }
    }
  }
  if (Array.isArray(rule)) {
    if (typeof v !== "string" || !rule.includes(v)) wrongType(v, "one of " + rule.map((r) => JSON.stringify(r)).join(", "));
    return;
  }
  const r = rule as Exclude<FieldRule, number | string | readonly string[]>;
  if ("multipleOf" in r) {
    checkInteger(v, r.max);
    if (v % r.multipleOf !== 0) outOfRange(`${v} is not a multiple of ${r.multipleOf}`);
    return;
  }
  if ("orName" in r) {
    if (typeof v !== "string") checkInteger(v, r.orName);
    return;
  }
  if (!Array.isArray(v)) wrongType(v, "an array");
  for (let i = 0; i < v.length; i++) {
    const entry: unknown = v[i];
    try {
      if ("each" in r) {
        checkField(entry, r.each);
      } else {
        if (typeof entry !== "object" || entry === null) wrongType(entry, "an object");
        checkFields(entry as Record<string, unknown>, compiled(r.list));
      }
    } catch (err) {
      throw under(err, `[${i}]`);
    }
  }
}

/** A rule table as checked: a map from field name to rule, made once per table. */
export type Compiled = ReadonlyMap<string, FieldRule>;
const COMPILED = new WeakMap<FieldRules, Compiled>();

function compiled(rules: FieldRules): Compiled {
  let c = COMPILED.get(rules);
  if (c === undefined) {
    c = new Map(Object.entries(rules));
    COMPILED.set(rules, c);
  }
  return c;
}

/**
 * Check the fields set on `value` (its own keys: a user sets a few of a
 * layer's many fields, so walking them costs less than walking the rules).
 */
function checkFields(value: Record<string, unknown>, c: Compiled): void {
  for (const name in value) {
    const rule = c.get(name);
    if (rule === undefined) continue; // "layer", or a field the layer does not have
    const v = value[name];
    if (v === undefined) continue;
    // The common cases pass without a call: an integer that fits, address or
    // text given as a string, bytes where bytes go.
    if (typeof rule === "number") {
      if (typeof v === "number" && v >= 0 && v <= rule && Math.floor(v) === v) continue;
    } else if (typeof rule === "string") {
      if (typeof v === "string" ? rule !== "int" && rule !== "bool" && rule !== "bytes" : rule === "bool" ? typeof v === "boolean" : false) continue;
    }
    try {
      checkField(v, rule);
    } catch (err) {
      throw under(err, " " + name);
    }
  }
}

/**
 * `rules` made ready for {@link checkCompiled}: the registry does this once
 * per protocol, so a packet's check does no lookup of its table.
 */
export function compileRules(rules: FieldRules): Compiled {
  return compiled(rules);
}

/** {@link checkInput} with rules from {@link compileRules}. */
export function checkCompiled(layer: string, value: object, c: Compiled): void {
  try {
    checkFields(value as Record<string, unknown>, c);
  } catch (err) {
    if (!(err instanceof Broken)) throw err;
    const message = "Cannot encode " + layer + err.message;
    throw err.range ? new RangeError(message) : new TypeError(message);
  }
}

/**
 * Throw a `RangeError` or `TypeError` naming `layer` and the field when a set
 * field of `value` breaks its rule; unset (undefined) fields pass.
 */
export function checkInput(layer: string, value: object, rules: FieldRules): void {
  checkCompiled(layer, value, compiled(rules));
}
