/**
 * Frames that arrive together (one capture wake-up: one batch from the
 * device) are answered together: a run of in-order segments draws one
 * cumulative ACK at the batch's end, where one segment per batch still
 * gets an ACK every second full-sized segment (RFC 1122 §4.2.3.2), and
 * out-of-order segments keep their duplicate ACK each (RFC 5681 §3.2). Also
 * recv(2) into the caller's buffer (`recvInto`). A scripted peer on the
 * other end of an in-memory link, on a virtual clock; the numbers are
 * worked out from the segments sent.
 */
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import type { TcpOption } from "../../layers/tcp_options.ts";
import { VirtualClock } from "../../src/device/clock.ts";
import { memoryPair, type MemoryDevice } from "../../src/device/memory.ts";
import { StackDriver } from "../../src/stack/driver.ts";
import { seededRandom } from "../../src/stack/random.ts";
import { Sockets, type Socket } from "../../src/stack/sockets.ts";
import { settle, sleep } from "./helpers.ts";

const PEER_MAC = "02:00:00:00:00:01";
const OUR_MAC = "02:00:00:00:00:02";
const ISS = 7000;
/** a full-sized segment from the peer: our MSS (1460) less the timestamps option */
const MSS = 1448;

interface Heard {
  seq: number;
  ack: number;
  flags: number;
  sack: number;
}

/** Our stack on one end, a peer we script on the other; connected to the peer's port 80. */
async function connected(): Promise<{ clock: VirtualClock; peer: MemoryDevice; s: Socket; heard: Heard[]; data: (offset: number, len: number) => Uint8Array }> {
  const clock = new VirtualClock();
  const [peer, dev] = memoryPair({ clock, mtu: 1500 });
  const driver = new StackDriver(dev, { ipv4: ["10.0.0.2/24"], mac: OUR_MAC, random: seededRandom(3) });
  const s = new Sockets(driver).socket("inet", "stream");
  const heard: Heard[] = [];
  let ours = -1;
  let port = 0;
  const frame = (seq: number, flags: number, options: TcpOption[], payload = new Uint8Array(0)): Uint8Array =>
    encodePacket([
      { layer: "ethernet", src: PEER_MAC, dst: OUR_MAC },
      { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", ttl: 64 },
      { layer: "tcp", srcPort: 80, dstPort: port, seq: seq >>> 0, ack: (ours + 1) >>> 0, flags, window: 65535, options },
      { layer: "payload", data: payload },
    ]);
  peer.onFrames((batch) => {
    for (let i = 0; i < batch.count; i++) {
      const f = batch.buffer.slice(batch.offset[i]!, batch.offset[i]! + batch.caplen[i]!);
      const layers = decodePacket(f, 1).layers;
      if (layers[1]?.layer === "arp") {
        peer.send(encodePacket([{ layer: "ethernet", src: PEER_MAC, dst: OUR_MAC }, { layer: "arp", op: 2, senderMac: PEER_MAC, senderIp: "10.0.0.1", targetMac: OUR_MAC, targetIp: "10.0.0.2" }]));
        continue;
      }
      const tcp = layers[2];
      if (tcp?.layer !== "tcp") continue;
      if ((tcp.flags & 0x02) !== 0) {
        ours = tcp.seq;
        port = tcp.srcPort;
        peer.send(frame(ISS, 0x12, [{ kind: "mss", mss: 1460 }, { kind: "sackPermitted" }, { kind: "timestamps", tsval: 1, tsecr: 1 }, { kind: "nop" }, { kind: "windowScale", shift: 7 }]));
        continue;
      }
      const sack = tcp.options.find((o) => o.kind === "sack");
      heard.push({ seq: tcp.seq, ack: tcp.ack, flags: tcp.flags, sack: sack?.kind === "sack" ? sack.blocks.length : 0 });
    }
  });
  await settle(clock, s.connect("10.0.0.1", 80));
  await sleep(clock, 1);
  heard.length = 0; // the handshake's ACK
  const ts: TcpOption[] = [{ kind: "nop" }, { kind: "nop" }, { kind: "timestamps", tsval: 2, tsecr: 1 }];
  const data = (offset: number, len: number): Uint8Array => frame(ISS + 1 + offset, 0x10, ts, new Uint8Array(len).fill(offset & 0xff));
  return { clock, peer, s, heard, data };
}

describe("a batch of arriving frames is answered once", () => {
  it("20 full-sized in-order segments in one batch draw one ACK, for all of them", async () => {
    const { clock, peer, heard, data } = await connected();
    peer.sendMany(Array.from({ length: 20 }, (_, i) => data(i * MSS, MSS)));
    await sleep(clock, 1);
    expect(heard).toEqual([{ seq: expect.any(Number), ack: ISS + 1 + 20 * MSS, flags: 0x10, sack: 0 }]);
  });

  it("the same 20 segments one per batch draw an ACK every second segment, as before", async () => {
    const { clock, peer, heard, data } = await connected();
    for (let i = 0; i < 20; i++) {
      peer.sendMany([data(i * MSS, MSS)]);
      await sleep(clock, 1);
    }
    expect(heard.map((h) => h.ack)).toEqual(Array.from({ length: 10 }, (_, k) => ISS + 1 + (k + 1) * 2 * MSS));
  });

  it("out-of-order segments in a batch keep a duplicate ACK each, with SACK", async () => {
    const { clock, peer, heard, data } = await connected();
    // Segments 0 and 1, then 3..9: segment 2 is lost.
    peer.sendMany([0, 1, 3, 4, 5, 6, 7, 8, 9].map((i) => data(i * MSS, MSS)));
    await sleep(clock, 1);
    expect(heard).toHaveLength(7);
    for (const h of heard) expect(h).toMatchObject({ ack: ISS + 1 + 2 * MSS, sack: 1 });
    // The hole filled: everything acknowledged at once.
    heard.length = 0;
    peer.sendMany([data(2 * MSS, MSS)]);
    await sleep(clock, 1);
    expect(heard.map((h) => h.ack)).toEqual([ISS + 1 + 10 * MSS]);
  });
});

describe("recvInto: recv(2) into the caller's buffer", () => {
  it("moves the bytes in order, at most the length asked, and 0 at the end of the stream", async () => {
    const { clock, peer, s, data } = await connected();
    peer.sendMany([data(0, 1000), data(1000, 500)]);
    await sleep(clock, 1);
    const buf = new Uint8Array(2000).fill(0xee);
    expect(await settle(clock, s.recvInto(buf, 10, 800))).toBe(800);
    expect(buf.subarray(10, 810).every((b) => b === 0)).toBe(true); // segment 0's bytes are (0 & 0xff)
    expect(buf[9]).toBe(0xee);
    expect(buf[810]).toBe(0xee);
    expect(await settle(clock, s.recvInto(buf))).toBe(700);
    expect(buf.subarray(0, 200).every((b) => b === 0)).toBe(true);
    expect(buf.subarray(200, 700).every((b) => b === (1000 & 0xff))).toBe(true);
    // The peer's FIN: end of stream.
    peer.sendMany([encodeFin(data(1500, 0))]);
    expect(await settle(clock, s.recvInto(buf))).toBe(0);
  });

  it("refuses a buffer that is not bytes and a range outside it", async () => {
    const { s } = await connected();
    expect(() => s.recvInto([1, 2, 3] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => s.recvInto(new Uint8Array(10), 8, 4)).toThrow(/offset 8 and length 4 do not fit a buffer of 10 bytes/);
    expect(() => s.recvInto(new Uint8Array(10), 0, 0)).toThrow(RangeError);
  });
});

/** The same segment with FIN set (flags byte at Ethernet 14 + IPv4 20 + 13), its checksum made right again. */
function encodeFin(frame: Uint8Array): Uint8Array {
  const layers = decodePacket(frame, 1).layers;
  const tcp = layers[2]!;
  if (tcp.layer !== "tcp") throw new Error("not TCP");
  return encodePacket([
    { layer: "ethernet", src: PEER_MAC, dst: OUR_MAC },
    { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2", ttl: 64 },
    { layer: "tcp", srcPort: tcp.srcPort, dstPort: tcp.dstPort, seq: tcp.seq, ack: tcp.ack, flags: tcp.flags | 0x01, window: tcp.window, options: tcp.options },
    { layer: "payload", data: new Uint8Array(0) },
  ]);
}
