/**
 * Two stacks talking over an in-memory link under a virtual clock: ARP,
 * the three-way handshake, data both ways byte for byte, half-close and
 * close, UDP both ways, ping, and the errors a closed port gives (RST:
 * ECONNREFUSED; ICMP port unreachable for UDP). Every run is deterministic.
 */
import { describe, expect, it } from "vitest";
import { memoryLab, settle, sleep } from "./helpers.ts";

const lab = (seed = 1) => memoryLab(seed);

describe("two stacks over memory", () => {
  it("TCP: handshake, data both ways, half-close, close", async () => {
    const { clock, sa, sb } = lab();
    const server = sb.socket("inet", "stream");
    server.bind("0.0.0.0", 8080);
    server.listen(4);
    const client = sa.socket("inet", "stream");
    const accepted = server.accept();
    await settle(clock, client.connect("10.9.0.2", 8080));
    const conn = await settle(clock, accepted);
    expect(client.getpeername()).toEqual({ family: "inet", address: "10.9.0.2", port: 8080 });
    expect(conn.getpeername().address).toBe("10.9.0.1");
    expect(conn.getpeername().port).toBe(client.getsockname().port);

    const big = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) & 0xff);
    const sending = client.send(big);
    const received: Uint8Array[] = [];
    let total = 0;
    const reading = (async () => {
      while (total < big.length) {
        const d = await conn.recv(65536);
        if (d.length === 0) break;
        received.push(d);
        total += d.length;
      }
    })();
    await settle(clock, Promise.all([sending, reading]));
    const got = new Uint8Array(total);
    let at = 0;
    for (const d of received) {
      got.set(d, at);
      at += d.length;
    }
    expect(got).toEqual(big);

    // The other way, then a half-close from the client: the server reads EOF, still sends.
    await settle(clock, conn.send("hello back"));
    expect(new TextDecoder().decode(await settle(clock, client.recv()))).toBe("hello back");
    client.shutdown("write");
    expect((await settle(clock, conn.recv())).length).toBe(0);
    await settle(clock, conn.send("after your FIN"));
    expect(new TextDecoder().decode(await settle(clock, client.recv()))).toBe("after your FIN");
    conn.close();
    expect((await settle(clock, client.recv())).length).toBe(0);
    client.close();
    await sleep(clock, 1000);
    expect(conn.connection!.state).toBe("CLOSED");
    expect(client.connection!.state).toBe("TIME-WAIT");
  });

  it("TCP over IPv6 (neighbor discovery first)", async () => {
    const { clock, sa, sb } = lab(5);
    const server = sb.socket("inet6", "stream");
    server.bind("::", 9000);
    server.listen();
    const client = sa.socket("inet6", "stream");
    const accepted = server.accept();
    await settle(clock, client.connect("fd09::2", 9000));
    const conn = await settle(clock, accepted);
    await settle(clock, client.send("over v6"));
    expect(new TextDecoder().decode(await settle(clock, conn.recv()))).toBe("over v6");
  });

  it("a closed port refuses: ECONNREFUSED from the peer's RST", async () => {
    const { clock, sa } = lab();
    const client = sa.socket("inet", "stream");
    await expect(settle(clock, client.connect("10.9.0.2", 7))).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("UDP both ways; a closed port answers with ICMP port unreachable (ECONNREFUSED on a connected socket)", async () => {
    const { clock, sa, sb } = lab();
    const server = sb.socket("inet", "dgram");
    server.bind("0.0.0.0", 5353);
    const client = sa.socket("inet", "dgram");
    await settle(clock, client.sendto("ping?", "10.9.0.2", 5353));
    const got = await settle(clock, server.recvfrom());
    expect(new TextDecoder().decode(got.data)).toBe("ping?");
    expect(got.from.address).toBe("10.9.0.1");
    await settle(clock, server.sendto("pong!", got.from.address, got.from.port));
    expect(new TextDecoder().decode((await settle(clock, client.recvfrom())).data)).toBe("pong!");
    const c2 = sa.socket("inet", "dgram");
    await c2.connect("10.9.0.2", 9);
    await settle(clock, c2.send("anyone?"));
    await expect(settle(clock, c2.recv())).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
