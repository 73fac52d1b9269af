/**
 * scripts/bundle_consts.mjs: the bundle's top-level `var`s that nothing
 * writes become `const` again, with the same length; anything written (in
 * any scope, by any assignment form) stays `var`. Expected texts worked out
 * by hand.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error a build script in plain JavaScript, without types
import { constAgain } from "../scripts/bundle_consts.mjs";

type Result = { code: string; count: number };
const run = constAgain as (code: string) => Result;

describe("bundle_consts: top-level var back to const", () => {
  it("makes never-written top-level vars const, keeping each line's length", () => {
    const input = [
      "var A = 1;",
      "var CACHE = /* @__PURE__ */ new Map();",
      "var B = 2, C = 3;",
      "function f() { return A + B + C; }",
      "",
    ].join("\n");
    const { code, count } = run(input);
    expect(code).toBe(["const A=1;", "const CACHE=/* @__PURE__ */ new Map();", "const B=2, C = 3;", "function f() { return A + B + C; }", ""].join("\n"));
    expect(count).toBe(3);
    expect(code.split("\n").map((l) => l.length)).toEqual(input.split("\n").map((l) => l.length));
  });

  it("leaves a var alone when its name is written anywhere, or it has no initializer", () => {
    const input = [
      "var a = 1;",
      "var b = 2;",
      "var c = 3;",
      "var d = 4;",
      "var e = 5;",
      "var f = 6;",
      "var g;",
      "function h() { a = 2; b += 1; c++; for (d of []) ; ({ e } = {}); [f] = []; }",
      "",
    ].join("\n");
    expect(run(input)).toEqual({ code: input, count: 0 });
  });

  it("counts a write in an inner scope to the same name against the top-level var", () => {
    const input = "var i = 0;\nfunction g() { let i = 1; i--; return i; }\n";
    expect(run(input)).toEqual({ code: input, count: 0 });
  });

  it("leaves let, const and destructuring declarations as they are", () => {
    const input = "let x = 1;\nconst y = 2;\nvar { z } = { z: 3 };\n";
    expect(run(input)).toEqual({ code: input, count: 0 });
  });
});
