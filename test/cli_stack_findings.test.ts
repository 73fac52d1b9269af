/**
 * What writing `stackts nc` and `stackts host` found in the stack (src/stack/),
 * each pinned down on a memory link with no root needed (first as `it.fails`
 * while the stack had the fault; all three are fixed now).
 */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/device/clock.ts";
import { memoryPair } from "../src/device/memory.ts";
import { batchData } from "../src/frame.ts";
import { StackDriver } from "../src/stack/driver.ts";
import { seededRandom } from "../src/stack/random.ts";
import { Sockets } from "../src/stack/sockets.ts";

function stack(mtu = 1500, seen: Uint8Array[] = []): Sockets {
  const clock = new VirtualClock();
  const [d0, d1] = memoryPair({ clock, mtu });
  d1.onFrames((batch) => {
    for (let i = 0; i < batch.count; i++) seen.push(batchData(batch, i).slice());
  });
  const sockets = new Sockets(new StackDriver(d0, { mac: "02:00:00:00:00:0a", ipv4: ["10.9.0.1/24"], ipv6: ["fd09::1/64"], random: seededRandom(1) }));
  clock.advance(100);
  return sockets;
}

describe("stack findings from the CLI", () => {
  // The TCP layer keeps listeners per family (TcpLayer.listen lets an IPv4 and an IPv6 listener
  // share a port, as Linux does for an AF_INET socket and an IPV6_V6ONLY one, which is all our
  // inet6 sockets can be), but Socket.bind asks TcpLayer.portInUse(port), which ignores the family.
  // So `nc -l 8080` on both families fails with EADDRINUSE if the first socket listens before the
  // second binds. nc.ts binds both before either listens.
  it("an IPv6 socket binds a TCP port an IPv4 socket already listens on", () => {
    const s = stack();
    const four = s.socket("inet", "stream");
    four.bind("", 8080);
    four.listen();
    const six = s.socket("inet6", "stream");
    expect(() => six.bind("", 8080)).not.toThrow();
  });

  it("(the work-around: bind both, then listen both, works)", () => {
    const s = stack();
    const four = s.socket("inet", "stream");
    const six = s.socket("inet6", "stream");
    four.bind("", 8080);
    six.bind("", 8080);
    four.listen();
    expect(() => six.listen()).not.toThrow();
  });

  // Linux's loopback has an MTU of 65536. No IP datagram can be that long (the length fields stop
  // at 65535), so a link MTU above it means "anything fits"; the stack refuses it instead
  // (RangeError "MTU 65536 is outside 576..65535"), so openHost on "lo" fails. stack_options.ts
  // passes mtu 65535 when the interface reports more.
  it("a link MTU over 65535 (Linux's lo: 65536) is taken as 65535, not refused", () => {
    expect(() => stack(65536)).not.toThrow();
  });

  // A host coming up announces its IPv4 address (RFC 5227 §2.3: an ARP request with its own
  // address as sender and target), as it already does for IPv6 (unsolicited neighbor
  // advertisements, RFC 4861 §7.2.6). Without it a neighbor's cache keeps the MAC of whoever had
  // the address last for tens of seconds: a second `stackts nc` with a new random MAC was
  // unreachable from the kernel for ~30 s. The CLI's default MAC is now made from the address
  // (stack_options.ts addressMac), so it is the same on every run.
  it("announces its IPv4 address when it comes up (gratuitous ARP)", () => {
    const seen: Uint8Array[] = [];
    stack(1500, seen);
    // Ethernet type 0x0806, ARP sender protocol address (offset 14 + 14) = target protocol address (14 + 24) = 10.9.0.1.
    const ours = Uint8Array.of(10, 9, 0, 1);
    const announce = seen.find(
      (f) => f[12] === 0x08 && f[13] === 0x06 && ours.every((b, i) => f[28 + i] === b && f[38 + i] === b),
    );
    expect(seen.length).toBeGreaterThan(0); // the IPv6 announcements did leave
    expect(announce).toBeDefined();
  });
});
