/**
 * TcpSeqTracker's cache of recent connections: connections whose keys share
 * a cache slot (ports 1001 and 2025 fold to the same low bits; the same
 * ports from another address share the whole key) keep their own bases
 * while their segments alternate. Expected numbers worked out by hand from
 * tcpdump's rule (the first ACK-carrying segment prints as it is and sets
 * the bases, ack - 1 kept as the other side's).
 */
import { describe, expect, it } from "vitest";
import { TcpSeqTracker } from "../src/tcp_seq_tracker.ts";

const ACK = 0x10;

describe("TcpSeqTracker: connections sharing a cache slot", () => {
  it("keeps each connection's bases while their segments alternate", () => {
    const t = new TcpSeqTracker();
    const ask = (src: string, port: number, seq: number): [number, number] => {
      t.relative(src, "10.0.0.2", port, 80, seq, 9000, ACK);
      return [t.seq, t.ack];
    };
    expect(ask("10.0.0.1", 1001, 5000)).toEqual([5000, 9000]);
    expect(ask("10.0.0.1", 2025, 7000)).toEqual([7000, 9000]);
    expect(ask("10.0.0.3", 1001, 100)).toEqual([100, 9000]);
    expect(ask("10.0.0.1", 1001, 5010)).toEqual([10, 1]);
    expect(ask("10.0.0.1", 2025, 7005)).toEqual([5, 1]);
    expect(ask("10.0.0.3", 1001, 120)).toEqual([20, 1]);
    expect(ask("10.0.0.1", 1001, 5011)).toEqual([11, 1]);
    expect(t.size).toBe(3);
  });

  it("forgets the cached connections with the rest on clear()", () => {
    const t = new TcpSeqTracker();
    t.relative("10.0.0.1", "10.0.0.2", 1001, 80, 5000, 9000, ACK);
    t.relative("10.0.0.1", "10.0.0.2", 1001, 80, 5010, 9000, ACK);
    expect([t.seq, t.ack]).toEqual([10, 1]);
    t.clear();
    t.relative("10.0.0.1", "10.0.0.2", 1001, 80, 5020, 9000, ACK);
    expect([t.seq, t.ack]).toEqual([5020, 9000]);
    expect(t.size).toBe(1);
  });
});
