import { afterAll, describe, expect, it } from "vitest";
import { labSkipReason, makeLab, type Lab } from "./helpers/lab.ts";

describe.skipIf(labSkipReason !== null)(`network lab${labSkipReason ? ` (skipped: ${labSkipReason})` : ""}`, () => {
  let lab: Lab | undefined;
  afterAll(() => lab?.down());

  it("joins two namespaces: a ping from a reaches b and nothing else", async () => {
    lab = makeLab();
    const r = await lab.a.run(["ping", "-c", "1", "-W", "2", lab.b.ip4]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 received/);
    // No default route: an address outside the lab is unreachable, never sent.
    const out = await lab.a.run(["ip", "route", "get", "192.0.2.1"]);
    expect(out.code).not.toBe(0);
  });

  it("removes its namespaces on teardown", async () => {
    const l = makeLab();
    const ns = l.a.ns;
    l.down();
    const { execFileSync } = await import("node:child_process");
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(ns);
  });
});
