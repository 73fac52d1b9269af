/**
 * The report's aggregation pieces on literals worked out by hand: the TCP
 * analysis (the kinds of retransmission Wireshark tells apart, duplicate
 * ACKs, the window line, RTT samples under Karn's rule) and the I/O bins'
 * widening. The whole report is held to tshark and capinfos in
 * test/report.test.ts; these pin each rule on its own.
 */
import { describe, expect, it } from "vitest";
import { IoBins, MAX_BINS } from "../src/report/io_bins.ts";
import { TCP_MARK } from "../src/report/model.ts";
import { TcpAnalysis } from "../src/report/tcp_analysis.ts";

const SYN = 0x02;
const ACK = 0x10;
const PSH_ACK = 0x18;

describe("TcpAnalysis", () => {
  it("a segment sent again exactly one handshake RTT after the highest one is a retransmission, as tshark says (time stamps compared in whole nanoseconds)", () => {
    // The times of a capture where this went wrong (tcpdump, µs): RTT 40 µs, the repeat 40 µs after the highest segment.
    const c = new TcpAnalysis("A → B", "B → A");
    const a = (t: number, seq: number, flags: number, len: number): number => c.segment(0, t, seq, 5001, flags, 502, len, null, null);
    a(0, 1000, SYN, 0);
    c.segment(1, 0.000027, 5000, 1001, SYN | ACK, 65535, 0, null, null);
    a(0.00004, 1001, ACK, 0);
    expect(a(0.001414, 1001, ACK, 1448)).toBe(0);
    expect(a(0.001415, 2449, ACK, 952)).toBe(0); // the highest: 3401, at 1.415 ms
    expect(a(0.001455, 1001, ACK, 1448)).toBe(TCP_MARK.retransmission); // 40 µs later: not within the RTT
    expect(a(0.001494, 1001, ACK, 1448)).toBe(TCP_MARK.retransmission);
    expect(a(0.001500, 3401, ACK, 100)).toBe(0); // new: the highest moves to 3501 at 1.5 ms
    expect(a(0.001539, 3401, ACK, 50)).toBe(TCP_MARK.outOfOrder); // 39 µs later, not ending at the highest: out of order
  });

  it("tells a fast retransmission, a spurious one, a timeout one and an out-of-order segment apart", () => {
    const c = new TcpAnalysis("A → B", "B → A");
    const marks: number[] = [];
    const a = (t: number, seq: number, ack: number, flags: number, len: number, wscale: number | null = null): void => void marks.push(c.segment(0, t, seq, ack, flags, 502, len, wscale, null));
    const b = (t: number, ack: number, flags: number, win: number, wscale: number | null = null): number => c.segment(1, t, flags & SYN ? 5000 : 5001, ack, flags, win, 0, wscale, null);
    a(0, 1000, 0, SYN, 0, 7);
    expect(b(0.001, 1001, SYN | ACK, 65535, 7)).toBe(0);
    a(0.002, 1001, 5001, ACK, 0); // handshake RTT: 2 ms
    a(0.01, 1001, 5001, PSH_ACK, 100);
    a(0.011, 1101, 5001, PSH_ACK, 100);
    a(0.012, 1201, 5001, PSH_ACK, 100); // highest: relative 301
    expect(b(0.013, 1101, ACK, 500)).toBe(0);
    expect(b(0.014, 1101, ACK, 500)).toBe(TCP_MARK.dupAck);
    expect(b(0.015, 1101, ACK, 500)).toBe(TCP_MARK.dupAck);
    a(0.016, 1101, 5001, PSH_ACK, 100); // two dup ACKs for 101, 1 ms ago: fast
    a(0.5, 1001, 5001, PSH_ACK, 100); // wholly below the ACK (101): spurious
    expect(b(0.6, 1301, ACK, 500)).toBe(0);
    a(0.7, 1301, 5001, PSH_ACK, 100); // new: relative 301..401
    a(1.5, 1301, 5001, PSH_ACK, 100); // again, 0.8 s later, no dup ACKs: a retransmission
    a(1.5005, 1401, 5001, PSH_ACK, 100); // new: 401..501
    a(1.5006, 1351, 5001, PSH_ACK, 50); // 0.1 ms after the highest, within the 2 ms RTT: out of order
    expect(marks).toEqual([0, 0, 0, 0, 0, TCP_MARK.fastRetransmission, TCP_MARK.spuriousRetransmission, 0, TCP_MARK.retransmission, 0, TCP_MARK.outOfOrder]);
    // tcp.analysis.retransmission covers fast and spurious ones too.
    expect(c.retransmissions).toBe(3);
    expect(c.dupAcks).toBe(2);
    const { ab, ba } = c.series();
    expect(ab.dataSeq).toEqual([0, 1, 101, 201, 101, 1, 301, 301, 401, 351]);
    expect(ab.dataMark).toEqual([0, 0, 0, 0, 2, 4, 0, 1, 0, 8]);
    // B's ACKs on A's graph: relative to A's first number; the window's right
    // edge unscaled on the SYN-ACK (RFC 7323 §2.3), then scaled by 2^7.
    expect(ab.ack).toEqual([1, 101, 101, 101, 301]);
    expect(ab.win).toEqual([1 + 65535, 101 + 500 * 128, 101 + 500 * 128, 101 + 500 * 128, 301 + 500 * 128]);
    expect(ab.ackMark).toEqual([0, 0, TCP_MARK.dupAck, TCP_MARK.dupAck, 0]);
    // RTT: the SYN (1 ms) and the first segment (3 ms); the ACK of 301 covers
    // segments sent again, so it gives none (Karn's rule).
    expect(ab.rtt.length).toBe(2);
    expect(ab.rtt[0]).toBeCloseTo(0.001, 9);
    expect(ab.rtt[1]).toBeCloseTo(0.003, 9);
    expect(ab.retransmissions).toBe(3);
    expect(ba.dupAcks).toBe(0);
    expect(ab.dupAcks).toBe(2);
  });

  it("is not fooled by a keep-alive (one byte below the next number)", () => {
    const c = new TcpAnalysis("A → B", "B → A");
    c.segment(0, 0, 1000, 0, SYN, 502, 0, null, null);
    c.segment(1, 0.001, 5000, 1001, SYN | ACK, 502, 0, null, null);
    c.segment(0, 0.002, 1001, 5001, ACK, 502, 0, null, null);
    expect(c.segment(0, 60, 1000, 5001, ACK, 502, 0, null, null)).toBe(TCP_MARK.keepAlive);
    expect(c.segment(0, 120, 1000, 5001, ACK, 502, 1, null, null)).toBe(TCP_MARK.keepAlive);
    expect(c.retransmissions).toBe(0);
  });
});

describe("IoBins", () => {
  it("doubles the bin width until a late packet fits, merging neighbours", () => {
    const io = new IoBins();
    io.add(0.0005, "dns", 100); // bin 0 of 1 ms
    io.add(0.0015, "dns", 50); // bin 1
    io.add(2.5, "tcp", 1000); // past 2048 ms: width 2 ms, bin 1250
    const g = io.graph(5);
    expect(g.binSeconds).toBe(0.002);
    expect(g.protocols).toEqual(["tcp", "dns"]);
    expect(g.packets[1]!.length).toBe(1251);
    expect(g.packets[1]![0]).toBe(2); // the two 1 ms bins merged
    expect(g.bytes[1]![0]).toBe(150);
    expect(g.bytes[0]![1250]).toBe(1000);
    expect(g.packets[0]!.length).toBeLessThanOrEqual(MAX_BINS);
  });

  it("puts the protocols past the top ones under \"other\"", () => {
    const io = new IoBins();
    io.add(0, "a", 30);
    io.add(0, "b", 20);
    io.add(0, "c", 10);
    const g = io.graph(1);
    expect(g.protocols).toEqual(["a", "other"]);
    expect(g.bytes[1]![0]).toBe(30);
  });
});
