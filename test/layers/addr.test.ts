import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatHexColon, formatIpv4, formatIpv6, formatMac, parseIp, parseIpv4, parseIpv6, parseMac } from "../../layers/addr.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

/** WHATWG URL serialises IPv6 hosts with RFC 5952 compression (but never dotted quads): an independent oracle. */
function urlIpv6(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return new URL(`http://[${words.join(":")}]/`).hostname.slice(1, -1);
}

describe("MAC", () => {
  it("formats lower-case colon form at an offset", () => {
    const b = hex("ff02770000000a0b");
    expect(formatMac(b, 1)).toBe("02:77:00:00:00:0a");
    expect(formatMac(hex("ffffffffffff"))).toBe("ff:ff:ff:ff:ff:ff");
    expect(formatHexColon(hex("0102ab"))).toBe("01:02:ab");
  });
  it("parses colon and dash forms, either case", () => {
    expect([...parseMac("02:77:00:00:00:0A")]).toEqual([2, 0x77, 0, 0, 0, 10]);
    expect([...parseMac("aa-bb-cc-dd-ee-ff")]).toEqual([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
  });
  it("rejects bad text with a RangeError naming it", () => {
    for (const s of ["", "02:77:00:00:00", "02:77:00:00:00:0g", "02:77-00:00:00:00", "002:77:00:00:00:00"]) {
      expect(() => parseMac(s)).toThrow(new RangeError(`Invalid MAC address: "${s}"`));
    }
  });
});

describe("IPv4", () => {
  it("formats and parses", () => {
    expect(formatIpv4(hex("00c0a800ff"), 1)).toBe("192.168.0.255");
    expect([...parseIpv4("10.77.0.2")]).toEqual([10, 77, 0, 2]);
    expect([...parseIpv4("0.0.0.0")]).toEqual([0, 0, 0, 0]);
  });
  it("rejects bad text", () => {
    for (const s of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3", " 1.2.3.4"]) {
      expect(() => parseIpv4(s)).toThrow(new RangeError(`Invalid IPv4 address: "${s}"`));
    }
  });
  it("agrees with the kernel-style text for every byte value", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        expect(formatIpv4(b)).toBe(`${b[0]}.${b[1]}.${b[2]}.${b[3]}`);
        expect([...parseIpv4(formatIpv4(b))]).toEqual([...b]);
      }),
    );
  });
});

describe("IPv6 (RFC 5952)", () => {
  const cases: [string, string][] = [
    ["20010db8000000000000000000000001", "2001:db8::1"], // §4.2.1 longest run
    ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"], // §4.2.3 tie: leftmost
    ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"], // §4.2.2 one zero group not compressed
    ["20010db8000000000001000000000000", "2001:db8:0:0:1::"], // longer run wins over the first
    ["00000000000000000000000000000000", "::"],
    ["00000000000000000000000000000001", "::1"],
    ["fe800000000000000000000000000000", "fe80::"],
    ["00000000000000000000ffffc0000201", "::ffff:192.0.2.1"], // §5 IPv4-mapped
    ["fd770000000000000000000000000002", "fd77::2"],
    ["20010db8aaaabbbbccccddddeeeeffff", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"],
    ["0001000000000000000000000000ffff", "1::ffff"],
  ];
  it.each(cases)("%s → %s", (h, text) => {
    expect(formatIpv6(hex(h))).toBe(text);
    expect(formatIpv6(hex("ee" + h), 1)).toBe(text);
    expect([...parseIpv6(text)]).toEqual([...hex(h)]);
  });
  it("parses long forms, upper case and embedded IPv4", () => {
    expect(formatIpv6(parseIpv6("2001:0DB8:0000:0000:0000:0000:0000:0001"))).toBe("2001:db8::1");
    expect(formatIpv6(parseIpv6("::192.0.2.1"))).toBe("::c000:201");
    expect([...parseIpv6("1:2:3:4:5:6:1.2.3.4")]).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4]);
  });
  it("rejects bad text", () => {
    for (const s of ["", ":", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7::8", ":1::", "::1.2.3", "fe80::1%eth0"]) {
      expect(() => parseIpv6(s)).toThrow(new RangeError(`Invalid IPv6 address: "${s}"`));
    }
  });
  it("matches the WHATWG URL serialiser on random addresses (mapped ones aside)", () => {
    // Bias towards zero groups so compression cases are common.
    const word = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (words) => {
        const b = new Uint8Array(16);
        words.forEach((w, i) => {
          b[2 * i] = w >> 8;
          b[2 * i + 1] = w & 0xff;
        });
        const mapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
        if (!mapped) expect(formatIpv6(b)).toBe(urlIpv6(b));
        expect([...parseIpv6(formatIpv6(b))]).toEqual([...b]);
      }),
      { numRuns: 2000 },
    );
  });
  it("parseIp picks the family", () => {
    expect(parseIp("10.0.0.1").length).toBe(4);
    expect(parseIp("::1").length).toBe(16);
    expect(() => parseIp("1.2.3")).toThrow(RangeError);
  });
});
