/**
 * Property tests (fast-check) for the application layers written in one pass
 * (`Codec.append`): DNS (over UDP and TCP), DHCP, TFTP and HTTP, on random
 * valid inputs inside a whole frame.
 *
 * - `encodeInto` at an offset of a buffer full of 0xa5 and of one full of
 *   zeros gives the bytes `encodePacket` gives, and touches nothing outside
 *   them: no byte depends on what the buffer held (DHCP's padding, the
 *   zeros of its fixed part, the TCP prefix back-filled);
 * - the layer's bytes are those of the two-step path direct callers use
 *   (`headerLength`, then `write`), and of `encodeX`;
 * - `maxLength` is never under what `append` wrote;
 * - the decoder, an independent reader, gets the input's fields back.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Codec, LayerBase } from "../../layers/core.ts";
import { decodePacket } from "../../layers/decode.ts";
import { encodeContext, encodeInto, encodePacket } from "../../layers/encode.ts";
import { LINKTYPE } from "../../layers/dispatch.ts";
import type { AnyInput } from "../../layers/registry.ts";
import { dnsCodec, encodeDns, type Dns, type DnsInput } from "../../layers/dns.ts";
import { dhcpCodec, encodeDhcp, type Dhcp, type DhcpInput } from "../../layers/dhcp.ts";
import { encodeTftp, tftpCodec, type Tftp, type TftpInput } from "../../layers/tftp.ts";
import { encodeHttp, httpCodec, type Http, type HttpInput } from "../../layers/http.ts";

const RUNS = { numRuns: 300 } as const;

function frame(app: AnyInput, over: "udp" | "tcp", tail: boolean): AnyInput[] {
  const layers: AnyInput[] = [
    { layer: "ethernet" },
    { layer: "ipv4", src: "10.0.0.1", dst: "10.0.0.2" },
    over === "udp" ? { layer: "udp", srcPort: 40000 } : { layer: "tcp", srcPort: 40000 },
    app,
  ];
  // A payload after the layer: the appended run is two layers long.
  if (tail) layers.push({ layer: "payload", data: Uint8Array.of(1, 2, 3) });
  return layers;
}

/** Encoded every way there is; returns the frame and the app layer's bytes, after checking they all agree. */
function everyWay<V extends AnyInput>(app: V, over: "udp" | "tcp", tail: boolean, codec: Codec<V>, whole: (v: V) => Uint8Array): { bytes: Uint8Array; layer: Uint8Array } {
  const layers = frame(app, over, tail);
  const bytes = encodePacket(layers);
  for (const fill of [0xa5, 0x00]) {
    const buffer = new Uint8Array(bytes.length + 10).fill(fill);
    expect(encodeInto(layers, buffer, 3)).toBe(bytes.length);
    expect(buffer.subarray(3, 3 + bytes.length)).toEqual(bytes);
    expect([...buffer.subarray(0, 3), ...buffer.subarray(3 + bytes.length)]).toEqual(new Array(10).fill(fill));
  }
  const ctx = encodeContext({ outer: layers[2] as LayerBase, inner: layers[4] as LayerBase | undefined });
  const length = codec.headerLength(app, ctx);
  const start = 14 + 20 + (over === "udp" ? 8 : 20);
  const layer = bytes.subarray(start, start + length);
  expect(bytes.length).toBe(start + length + (tail ? 3 : 0));
  const out = new Uint8Array(length).fill(0xa5);
  codec.write(app, out, ctx);
  expect(out).toEqual(layer);
  expect(codec.maxLength!(app, ctx)).toBeGreaterThanOrEqual(length);
  const prefix = app.layer === "dns" && over === "tcp" ? 2 : 0;
  expect(whole(app)).toEqual(layer.subarray(prefix));
  return { bytes, layer };
}

function decoded<T extends LayerBase>(bytes: Uint8Array, kind: T["layer"]): T {
  const p = decodePacket(bytes, LINKTYPE.ETHERNET);
  const found = p.layers.find((l) => l.layer === kind);
  expect(found, `no ${kind} layer in ${JSON.stringify(p.issues)}`).toBeDefined();
  return found as unknown as T;
}

const label = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), fc.constantFrom("www", "example", "test", "MiXeD", "\\.", "a\\\\b", "\\000\\255"));
const name = fc.oneof(
  fc.constantFrom("www.example.test", "example.test", "mail.example.test", "."),
  fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join(".")),
  fc.tuple(label, fc.constantFrom("example.test", "www.example.test")).map(([a, b]) => `${a}.${b}`),
);
const ipv4 = fc.ipV4();
const record = fc.oneof(
  fc.record({ type: fc.constant("A"), data: ipv4 }),
  fc.record({ type: fc.constant("AAAA"), data: fc.constantFrom("::1", "2001:db8::5", "fe80::1:2") }),
  fc.record({ type: fc.constantFrom("CNAME", "NS", "PTR"), data: name }),
  fc.record({ type: fc.constant("MX"), data: fc.record({ preference: fc.nat(0xffff), exchange: name }) }),
  fc.record({ type: fc.constant("TXT"), data: fc.array(fc.string({ maxLength: 60 }), { minLength: 1, maxLength: 3 }) }),
  fc.record({ type: fc.constant("SRV"), data: fc.record({ priority: fc.nat(0xffff), weight: fc.nat(0xffff), port: fc.nat(0xffff), target: name }) }),
  fc.record({ type: fc.constant("TYPE99"), data: fc.uint8Array({ maxLength: 12 }) }),
).chain((r) => fc.record({ name, ttl: fc.nat() }).map((x) => ({ ...x, ...r })));
const dnsInput: fc.Arbitrary<DnsInput> = fc.record({
  layer: fc.constant("dns" as const),
  id: fc.nat(0xffff),
  response: fc.boolean(),
  compress: fc.boolean(),
  questions: fc.array(fc.record({ name, type: fc.constantFrom("A", "AAAA", "MX", "TXT") }), { maxLength: 3 }),
  answers: fc.array(record, { maxLength: 4 }),
  additionals: fc.array(record, { maxLength: 2 }),
});

describe("app layers written once: dns", () => {
  it("over UDP and TCP, every way of encoding agrees and the decoder reads it back", () => {
    fc.assert(
      fc.property(dnsInput, fc.constantFrom<"udp" | "tcp">("udp", "tcp"), fc.boolean(), (input, over, tail) => {
        const { bytes, layer } = everyWay(input, over, tail, dnsCodec, encodeDns);
        const d = decoded<Dns>(bytes, "dns");
        if (over === "tcp") expect(d.tcpLength).toBe(layer.length - 2);
        expect([d.id, d.response, d.answerCount]).toEqual([input.id, input.response, input.answers!.length]);
        expect(d.questions.map((q) => [q.name, q.typeName])).toEqual(input.questions!.map((q) => [q.name, q.type]));
        expect(d.answers.map((r) => [r.name, r.typeName])).toEqual(input.answers!.map((r) => [r.name, r.type]));
      }),
      RUNS,
    );
  });
});

const dhcpInput: fc.Arbitrary<DhcpInput> = fc.record({
  layer: fc.constant("dhcp" as const),
  xid: fc.nat(),
  messageType: fc.constantFrom("DISCOVER", "OFFER", "REQUEST", "ACK", "NAK"),
  clientMac: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":")),
  yourIp: ipv4,
  sname: fc.stringMatching(/^[a-z0-9.]{0,40}$/),
  file: fc.stringMatching(/^[a-z0-9./]{0,100}$/),
  options: fc.array(
    fc.oneof(
      fc.record({ name: fc.constantFrom("router", "dnsServers"), value: fc.array(ipv4, { minLength: 1, maxLength: 3 }) }),
      fc.record({ name: fc.constant("leaseTime"), value: fc.nat() }),
      fc.record({ name: fc.constant("hostname"), value: fc.stringMatching(/^[a-z0-9-]{1,30}$/) }),
      fc.record({ name: fc.constant("parameterRequestList"), value: fc.array(fc.integer({ min: 1, max: 254 }), { minLength: 1, maxLength: 8 }) }),
    ),
    { maxLength: 5 },
  ),
  length: fc.constantFrom(0, 300, 548),
});

describe("app layers written once: dhcp", () => {
  it("every way of encoding agrees, padding included, and the decoder reads it back", () => {
    fc.assert(
      fc.property(dhcpInput, fc.boolean(), (input, tail) => {
        const { bytes, layer } = everyWay(input, "udp", tail, dhcpCodec, encodeDhcp);
        expect(layer.length).toBeGreaterThanOrEqual(input.length!);
        const d = decoded<Dhcp>(bytes, "dhcp");
        expect([d.xid, d.messageTypeName, d.clientMac, d.yourIp, d.sname, d.file]).toEqual([input.xid, input.messageType, input.clientMac, input.yourIp, input.sname, input.file]);
        expect(d.options.slice(1).map((o) => [o.name, o.value])).toEqual(input.options!.map((o) => [o.name, o.value]));
      }),
      RUNS,
    );
  });
});

const text = fc.string({ maxLength: 20 }).filter((s) => !s.includes("\0"));
const tftpInput: fc.Arbitrary<TftpInput> = fc.oneof(
  fc.record({ layer: fc.constant("tftp" as const), opcode: fc.constantFrom("RRQ", "WRQ"), filename: text, mode: fc.constantFrom("octet", "netascii"), options: fc.array(fc.record({ name: text, value: fc.oneof(text, fc.nat()) }), { maxLength: 3 }) }),
  fc.record({ layer: fc.constant("tftp" as const), opcode: fc.constant("DATA"), block: fc.nat(0xffff), data: fc.oneof(fc.uint8Array({ maxLength: 40 }), text) }),
  fc.record({ layer: fc.constant("tftp" as const), opcode: fc.constant("ACK"), block: fc.nat(0xffff) }),
  fc.record({ layer: fc.constant("tftp" as const), opcode: fc.constant("ERROR"), errorCode: fc.nat(8), errorMessage: text }),
);

describe("app layers written once: tftp", () => {
  it("every way of encoding agrees and the decoder reads it back", () => {
    fc.assert(
      fc.property(tftpInput, fc.boolean(), (input, tail) => {
        // A payload after a DATA packet would read as its data: no tail there.
        const { bytes } = everyWay(input, "udp", tail && input.opcode !== "DATA", tftpCodec, encodeTftp);
        const t = decoded<Tftp>(bytes, "tftp");
        expect(t.opcodeName).toBe(input.opcode);
        if (input.filename !== undefined) expect([t.filename, t.mode]).toEqual([input.filename, input.mode]);
        if (input.options !== undefined) expect(t.options).toEqual(input.options.map((o) => ({ name: o.name, value: String(o.value) })));
        if (input.block !== undefined) expect(t.block).toBe(input.block);
        if (input.errorMessage !== undefined) expect(t.errorMessage).toBe(input.errorMessage);
      }),
      RUNS,
    );
  });
});

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const fieldValue = fc.stringMatching(/^[\x21-\x7e\xa0-\xff]([\x20-\x7e\xa0-\xff]{0,20}[\x21-\x7e\xa0-\xff])?$/);
const httpInput: fc.Arbitrary<HttpInput> = fc.oneof(
  fc.record({ layer: fc.constant("http" as const), method: fc.constantFrom("GET", "POST", "PUT"), uri: fc.stringMatching(/^\/[a-z0-9/._-]{0,20}$/), headers: fc.array(fc.record({ name: token, value: fieldValue }), { maxLength: 4 }), body: fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.string({ maxLength: 10 })) }),
  fc.record({ layer: fc.constant("http" as const), status: fc.constantFrom(200, 204, 301, 404, 500), headers: fc.array(fc.record({ name: token, value: fieldValue }), { maxLength: 4 }), body: fc.string({ maxLength: 10 }) }),
);

describe("app layers written once: http", () => {
  it("every way of encoding agrees and the decoder reads it back", () => {
    fc.assert(
      fc.property(httpInput, (input) => {
        const { bytes, layer } = everyWay(input, "tcp", false, httpCodec, encodeHttp);
        const h = decoded<Http>(bytes, "http");
        expect(h.headComplete).toBe(true);
        if (input.status === undefined) expect([h.type, h.method, h.uri]).toEqual(["request", input.method, input.uri]);
        else expect([h.type, h.status]).toEqual(["response", input.status]);
        expect(h.headers.slice(0, input.headers!.length)).toEqual(input.headers);
        expect(h.headLength + h.bodyLength).toBe(layer.length);
      }),
      RUNS,
    );
  });
});
