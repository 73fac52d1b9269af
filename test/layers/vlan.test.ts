import { describe, expect, it } from "vitest";
import { decodePacket, MAX_LAYERS } from "../../layers/decode.ts";
import { encodePacket } from "../../layers/encode.ts";
import { MAX_VLAN_TAGS, vlanCodec, type Vlan } from "../../layers/vlan.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

// 802.1ad QinQ: outer S-tag (TPID 0x88a8), inner C-tag (0x8100), then type 0x88b5.
// S-tag TCI: pcp 3 → 3<<13 = 0x6000, dei → 0x1000, id 100 = 0x064: 0x7064
// C-tag TCI: pcp 0, dei 0, id 7: 0x0007
const QINQ = hex("027700000002 027700000001 88a8 7064 8100 0007 88b5 0102");

describe("VLAN tags", () => {
  it("decodes stacked tags field by field", () => {
    const { layers, issues } = decodePacket(QINQ, 1);
    expect(issues).toEqual([]);
    expect(layers.slice(1)).toEqual([
      { layer: "vlan", tpid: 0x88a8, id: 100, pcp: 3, dei: true, type: 0x8100 },
      { layer: "vlan", tpid: 0x8100, id: 7, pcp: 0, dei: false, type: 0x88b5 },
      { layer: "payload", data: hex("0102") },
    ]);
    expect(Object.keys(layers[1]!)).toEqual(["layer", "tpid", "id", "pcp", "dei", "type"]);
  });

  it("0x9100 tags are tags too", () => {
    const f = hex("027700000002 027700000001 9100 0fff 0800");
    expect(decodePacket(f, 1).layers[1]).toEqual({ layer: "vlan", tpid: 0x9100, id: 4095, pcp: 0, dei: false, type: 0x0800 });
  });

  it("encodes back byte for byte (types derived from the tags)", () => {
    expect(
      encodePacket([
        { layer: "ethernet", src: "02:77:00:00:00:01", dst: "02:77:00:00:00:02" },
        { layer: "vlan", tpid: 0x88a8, id: 100, pcp: 3, dei: true },
        { layer: "vlan", id: 7, type: 0x88b5 },
        { layer: "payload", data: hex("0102") },
      ]),
    ).toEqual(QINQ);
    const out = new Uint8Array(6).fill(0xa5);
    vlanCodec.write({ layer: "vlan", id: 100, pcp: 3, dei: true, type: 0x8100 }, out, { inner: undefined, outer: undefined, ip: undefined });
    expect(out).toEqual(hex("7064 8100 a5a5"));
    // the type of the layer inside: IPv4 → 0x0800
    expect(encodePacket([{ layer: "vlan", id: 1 }, { layer: "ipv4" }]).subarray(0, 4)).toEqual(hex("0001 0800"));
  });

  it("hostile: 400 stacked tags decode to the cap, the rest is payload, with a reason", () => {
    // Each tag says another tag follows (type 0x8100).
    const parts = ["027700000002 027700000001 8100"];
    for (let i = 0; i < 400; i++) parts.push(((i % 4095) + 1).toString(16).padStart(4, "0") + "8100");
    const f = hex(parts.join(""));
    const { layers, issues } = decodePacket(f, 1);
    const tags = layers.filter((l) => l.layer === "vlan") as Vlan[];
    expect(MAX_VLAN_TAGS).toBe(16);
    expect(tags.length).toBe(16);
    expect(layers.length).toBe(18); // ethernet, 16 tags, payload
    expect(tags[0]).toEqual({ layer: "vlan", tpid: 0x8100, id: 1, pcp: 0, dei: false, type: 0x8100 });
    expect(tags[15]).toEqual({ layer: "vlan", tpid: 0x8100, id: 16, pcp: 0, dei: false, type: 0x8100 });
    expect(issues).toEqual([{ layer: "vlan", kind: "malformed", reason: "more than 16 stacked tags" }]);
    // what was not decoded stays visible as payload: from the 17th tag on
    expect(layers[17]).toEqual({ layer: "payload", data: f.subarray(14 + 4 * 16) });
  });

  it("hostile: 16 tags decode whole, and a stack after an LLC/IP layer counts afresh", () => {
    const parts = ["027700000002 027700000001 8100"];
    for (let i = 0; i < 15; i++) parts.push("0001 8100");
    parts.push("0001 0800", "4500001400000000400000000a0000010a000002");
    const { layers, issues } = decodePacket(hex(parts.join("")), 1);
    expect(layers.filter((l) => l.layer === "vlan").length).toBe(16);
    expect(layers[layers.length - 1]!.layer).toBe("ipv4");
    expect(issues).toEqual([]);
  });

  it("hostile: a 64 KiB stack of tags stops at the cap, far below the walk's bound", () => {
    const count = MAX_LAYERS + 10;
    const f = new Uint8Array(14 + 4 * count + 20);
    f.set(hex("027700000002 027700000001 8100"));
    for (let i = 0; i < count; i++) f.set(hex("0064 8100"), 14 + 4 * i);
    const { layers, issues } = decodePacket(f, 1);
    expect(layers.filter((l) => l.layer === "vlan").length).toBe(MAX_VLAN_TAGS);
    expect(issues).toEqual([{ layer: "vlan", kind: "malformed", reason: `more than ${MAX_VLAN_TAGS} stacked tags` }]);
    expect(layers[layers.length - 1]).toEqual({ layer: "payload", data: f.subarray(14 + 4 * MAX_VLAN_TAGS) });
  });

  it("hostile: a cut tag", () => {
    const f = hex("027700000002 027700000001 8100 00");
    expect(decodePacket(f, 1).issues).toEqual([{ layer: "vlan", kind: "truncated", reason: "tag needs 4 bytes, got 1" }]);
  });

  it("a tag with an 802.3 length is followed by LLC", () => {
    // tag id 5, length 4: LLC 42 42 03 + 1 byte, then 2 bytes padding
    const f = hex("027700000002 027700000001 8100 0005 0004 424203 ff 0000");
    expect(decodePacket(f, 1).layers.slice(1).map((l) => l.layer)).toEqual(["vlan", "llc", "payload"]);
    expect(decodePacket(f, 1).layers[3]).toEqual({ layer: "payload", data: hex("ff") });
  });
});
