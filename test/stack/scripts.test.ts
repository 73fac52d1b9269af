/**
 * Every TCP script in test/stack/scripts/ (see script/parse.ts for the
 * language), each a test: the stack's deterministic core driven segment by
 * segment under a virtual clock, its every segment checked field by field
 * and at its time.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runScript } from "./script/run.ts";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "scripts");
const FILES = readdirSync(DIR).filter((f) => f.endsWith(".pkt")).sort();

describe("TCP scripts", () => {
  it("has scripts", () => {
    expect(FILES.length).toBeGreaterThanOrEqual(60);
  });
  for (const f of FILES) {
    const text = readFileSync(join(DIR, f), "utf8");
    const title = /^#\s*(.*)$/m.exec(text)?.[1] ?? "";
    it(`${f}: ${title}`, () => {
      runScript(text);
    });
  }
});

describe("the script runner itself", () => {
  const base = `
% timestamps=0 sack=0 windowScaling=0
0    listen 8080
0    < S 0:0(0) win 65535 <mss 1000>
0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
`;
  it("passes a right script", () => {
    runScript(base);
  });
  it("fails on a wrong field, naming the line", () => {
    expect(() => runScript(base.replace("ack 1 win 65535", "ack 2 win 65535"))).toThrow(/line 5 .*ack 1 differ/);
  });
  it("fails on a segment sent at another time", () => {
    expect(() => runScript(base.replace("0    > S.", "0.5  > S."))).toThrow(/sent at 0.000 s, not 0.500 s/);
  });
  it("takes a missing <...> on an outbound segment as no options", () => {
    expect(() => runScript(base.replace(" <mss 1460>\n", "\n"))).toThrow(/line 5 .*options <mss 1460> differ/);
    expect(() => runScript(base.replace("<mss 1460>\n", "<*>\n"))).not.toThrow();
  });
  it("wants ack and win stated on an outbound ACK", () => {
    expect(() => runScript(base.replace("ack 1 win 65535 <mss 1460>", "win 65535 <mss 1460>"))).toThrow(/states its ack/);
    expect(() => runScript(base.replace("ack 1 win 65535 <mss 1460>", "ack 1 <mss 1460>"))).toThrow(/states its win/);
  });
  it("checks the port a segment goes to", () => {
    expect(() => runScript(base.replace("ack 1 win 65535 <mss 1460>", "ack 1 win 65535 port 40001 <mss 1460>"))).toThrow(/sent to port 40000, not 40001/);
  });
  it("reads TSval relative to the stack's clock", () => {
    const ts = `
0    listen 8080
0    < S 0:0(0) win 65535 <mss 1000,sackOK,TS val 5 ecr 0,nop,wscale 7>
0    > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 0 ecr 5,nop,wscale 5>
`;
    expect(() => runScript(ts)).not.toThrow();
    expect(() => runScript(ts.replace("TS val 0 ecr 5", "TS val 1 ecr 5"))).toThrow(/TS val 0 ecr 5/);
  });
  it("rejects an unknown setting", () => {
    expect(() => runScript("% noSuchThing=1\n0 listen 1\n")).toThrow(/no such TCP setting/);
  });
  it("fails on a segment the script did not expect", () => {
    expect(() => runScript(base + "0.1 accept = EAGAIN\n")).not.toThrow();
    expect(() => runScript(base + "1.5 accept = EAGAIN\n")).toThrow(/did not expect/); // the SYN-ACK retransmission at 1 s
  });
});
