/**
 * A zoo of connections on stack A of a {@link Lab}, one (or two) in every
 * TCP state of RFC 9293 §3.3.2, each held there by what its applications do
 * (a peer that does not read keeps a FIN behind data; a half-close keeps the
 * other direction open), so hostile input arrives while they wait:
 *
 * | flow      | A's state     | how it is held                                   |
 * |-----------|---------------|--------------------------------------------------|
 * | listen    | LISTEN        | A listens on port 80 (v4, v6)                     |
 * | est4      | ESTABLISHED   | data both ways at 50 bytes/ms (timestamps, SACK)  |
 * | est6      | ESTABLISHED   | the same over IPv6, without timestamps            |
 * | synSent   | SYN-SENT      | A connects to the silent host C (v4, v6)          |
 * | synRcvd   | SYN-RECEIVED  | C's SYN to port 80 (v4, v6); C never answers      |
 * | fw1       | FIN-WAIT-1    | A wrote 40 kB and shut down; B does not read      |
 * | fw2       | FIN-WAIT-2    | A shut down; B still sends (half-close)           |
 * | cw        | CLOSE-WAIT    | B shut down; A still sends                        |
 * | la        | LAST-ACK      | B shut down; A wrote 40 kB and shut; B not reading|
 * | closing   | CLOSING       | both shut with data queued; A read B's FIN first  |
 * | tw, twl   | TIME-WAIT     | A closed first (twl on the listener's port)       |
 *
 * {@link finishZoo} then lets every application finish: each flow must
 * deliver every byte, in order, and end in the state its close leads to.
 */
import { parseIp } from "../../layers/addr.ts";
import type { TcpState } from "../../src/stack/tcp/config.ts";
import type { Tcb } from "../../src/stack/tcp/tcb.ts";
import type { Listener } from "../../src/stack/tcp_layer.ts";
import { IP, MAC, tcpFrame, type Flow, type Lab } from "./hostile_lab.ts";

const SYN = 0x02;

export interface Zoo {
  lab: Lab;
  /** A's listeners on port 80 */
  listen4: Listener;
  listen6: Listener;
  flows: Record<"est4" | "est6" | "fw1" | "fw2" | "cw" | "la" | "closing" | "tw" | "twl", Flow>;
  synSent: Tcb[];
  synRcvd: Tcb[];
  /** every connection of A in the zoo */
  all: Tcb[];
  /** the state each was built into */
  built: Map<Tcb, TcpState>;
}

/** Where each of A's connections may end up after {@link finishZoo}. */
export const FINAL: Record<keyof Zoo["flows"], readonly TcpState[]> = {
  est4: ["TIME-WAIT", "CLOSED"],
  est6: ["TIME-WAIT", "CLOSED"],
  fw1: ["TIME-WAIT", "CLOSED"],
  fw2: ["TIME-WAIT", "CLOSED"],
  cw: ["CLOSED"],
  la: ["CLOSED"],
  closing: ["TIME-WAIT", "CLOSED"],
  tw: ["TIME-WAIT", "CLOSED"],
  twl: ["TIME-WAIT", "CLOSED"],
};

function wait(lab: Lab, what: string, done: () => boolean, limitMs = 20_000): void {
  if (!lab.runUntil(done, limitMs)) throw new Error(`zoo: ${what} did not happen within ${limitMs} ms`);
}

/** Build the zoo on `lab` (about 2 s of virtual time). */
export function buildZoo(lab: Lab): Zoo {
  const now = (): number => lab.now;
  const listen4 = lab.a.tcpListen(4, 80, 8, now());
  const listen6 = lab.a.tcpListen(6, 80, 8, now());
  const b9000 = lab.b.tcpListen(4, 9000, 64, now());
  const b9000v6 = lab.b.tcpListen(6, 9000, 64, now());
  const b9001 = lab.b.tcpListen(4, 9001, 64, now(), { config: { receiveBuffer: 8192 } });

  // ESTABLISHED, data both ways.
  let c = lab.connectBA(listen4);
  const est4 = lab.flow("est4", c.a, c.b);
  for (const e of [est4.a, est4.b]) Object.assign(e, { total: 300_000, rate: 50 });
  c = lab.connectBA(listen6, { timestamps: false });
  const est6 = lab.flow("est6", c.a, c.b);
  for (const e of [est6.a, est6.b]) Object.assign(e, { total: 300_000, rate: 50 });

  // FIN-WAIT-1: the FIN waits behind data B's closed window holds back.
  c = lab.connectAB(b9001);
  const fw1 = lab.flow("fw1", c.a, c.b);
  Object.assign(fw1.a, { total: 40_000, shutdownWhenWritten: true });
  fw1.b.reading = false;

  // FIN-WAIT-2: A shut down; B keeps sending.
  c = lab.connectAB(b9000v6);
  const fw2 = lab.flow("fw2", c.a, c.b);
  Object.assign(fw2.a, { total: 4000, shutdownWhenWritten: true });
  Object.assign(fw2.b, { total: 300_000, rate: 50 });

  // CLOSE-WAIT: B shut down; A keeps sending.
  c = lab.connectBA(listen4);
  const cw = lab.flow("cw", c.a, c.b);
  Object.assign(cw.b, { total: 4000, shutdownWhenWritten: true });
  Object.assign(cw.a, { total: 300_000, rate: 50 });

  // LAST-ACK: B shut down; A writes 40 kB into B's small window and shuts down.
  c = lab.connectBA(listen6, { receiveBuffer: 8192 });
  const la = lab.flow("la", c.a, c.b);
  Object.assign(la.b, { shutdownWhenWritten: true, reading: false });

  // CLOSING: both write past the other's window and shut down; A reads B's data and FIN first.
  c = lab.connectAB(b9001, { receiveBuffer: 8192 });
  const closing = lab.flow("closing", c.a, c.b);
  Object.assign(closing.a, { total: 40_000, shutdownWhenWritten: true, reading: false });
  Object.assign(closing.b, { total: 40_000, shutdownWhenWritten: true, reading: false });

  // TIME-WAIT: A closes first (twl: on the listener's port, over IPv6).
  c = lab.connectAB(b9000);
  const tw = lab.flow("tw", c.a, c.b);
  Object.assign(tw.a, { total: 1000, shutdownWhenWritten: true });
  Object.assign(tw.b, { total: 1000 });
  c = lab.connectBA(listen6);
  const twl = lab.flow("twl", c.a, c.b);
  Object.assign(twl.a, { total: 1000, shutdownWhenWritten: true });

  wait(lab, "CLOSE-WAIT before LAST-ACK", () => la.a.tcb.state === "CLOSE-WAIT" && la.a.eof);
  Object.assign(la.a, { total: 40_000, shutdownWhenWritten: true });
  wait(lab, "both ends of the closing flow in FIN-WAIT-1", () => closing.a.tcb.state === "FIN-WAIT-1" && closing.b.tcb.state === "FIN-WAIT-1");
  closing.a.reading = true;
  wait(lab, "A's FIN-WAIT-2 (tw, twl)", () => tw.a.tcb.state === "FIN-WAIT-2" && twl.a.tcb.state === "FIN-WAIT-2");
  tw.b.shutdownWhenWritten = true;
  twl.b.shutdownWhenWritten = true;

  // SYN-SENT toward the silent host; SYN-RECEIVED from it.
  const synSent = [lab.a.tcpConnect(parseIp(IP.c4), 80, 0, now()), lab.a.tcpConnect(parseIp(IP.c6), 80, 0, now())];
  for (const [family, src] of [[4, IP.c4], [6, IP.c6]] as const) {
    lab.inject(
      tcpFrame({
        family,
        src,
        ethSrc: MAC.c,
        srcPort: 33_000 + family,
        dstPort: 80,
        seq: 0x7fff_0000 + family,
        flags: SYN,
        options: [{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }, { kind: "timestamps", tsval: 1000, tsecr: 0 }, { kind: "nop" }, { kind: "windowScale", shift: 7 }],
      }),
      "the zoo's SYN from C",
    );
  }
  const synRcvd = [...listen4.halfOpen, ...listen6.halfOpen];

  const flows = { est4, est6, fw1, fw2, cw, la, closing, tw, twl };
  const want: [Tcb, TcpState][] = [
    [est4.a.tcb, "ESTABLISHED"],
    [est6.a.tcb, "ESTABLISHED"],
    [fw1.a.tcb, "FIN-WAIT-1"],
    [fw2.a.tcb, "FIN-WAIT-2"],
    [cw.a.tcb, "CLOSE-WAIT"],
    [la.a.tcb, "LAST-ACK"],
    [closing.a.tcb, "CLOSING"],
    [tw.a.tcb, "TIME-WAIT"],
    [twl.a.tcb, "TIME-WAIT"],
    ...synSent.map((t): [Tcb, TcpState] => [t, "SYN-SENT"]),
    ...synRcvd.map((t): [Tcb, TcpState] => [t, "SYN-RECEIVED"]),
  ];
  wait(lab, "every connection in its state", () => want.every(([t, s]) => t.state === s), 5000);
  if (synRcvd.length !== 2) throw new Error(`zoo: ${synRcvd.length} SYN-RECEIVED connections, not 2`);
  return { lab, listen4, listen6, flows, synSent, synRcvd, all: want.map(([t]) => t), built: new Map(want) };
}

/**
 * Let every application finish (write the rest at full speed, read
 * everything, close) and check the outcome: throws naming the flow that did
 * not deliver all its bytes or did not reach a final state.
 */
export function finishZoo(zoo: Zoo, limitMs = 120_000): void {
  const { lab, flows: f } = zoo;
  for (const flow of Object.values(f)) {
    for (const e of [flow.a, flow.b]) {
      e.rate = Infinity;
      e.reading = true;
    }
  }
  for (const e of [f.est4.a, f.est4.b, f.est6.a, f.est6.b, f.fw1.b, f.fw2.b, f.cw.a]) e.shutdownWhenWritten = true;
  const ok = lab.runUntil(() => Object.entries(f).every(([name, flow]) => flow.complete && FINAL[name as keyof Zoo["flows"]].includes(flow.a.tcb.state)), limitMs);
  if (!ok) {
    const stuck = Object.entries(f)
      .filter(([name, flow]) => !(flow.complete && FINAL[name as keyof Zoo["flows"]].includes(flow.a.tcb.state)))
      .map(([, flow]) => flow.describe());
    throw new Error(`the zoo did not finish within ${limitMs} ms: ${stuck.join("; ")}`);
  }
  for (const flow of Object.values(f)) {
    if (flow.a.tcb.error !== null || flow.b.tcb.error !== null) throw new Error(`${flow.describe()}: an error was reported`);
  }
}
