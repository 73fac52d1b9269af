/**
 * The parts of `stackts host/nc/ping` that need no network: option checking
 * (what a bad --ip or --mac says), the MAC made from an address, and ping's
 * arithmetic and text, against figures worked out by hand from iputils'
 * ping.c (print_timing and finish()). The lab test (cli_stack.test.ts)
 * checks the same text against a live iputils.
 */
import { describe, expect, it } from "vitest";
import { formatMac, parseIp } from "../layers/addr.ts";
import { parseArgs } from "../src/cli/args.ts";
import { UsageError } from "../src/cli/errors.ts";
import { PingStats, rttText } from "../src/cli/ping.ts";
import { STACK_SPEC, addressMac, hasFamily, hostOptions } from "../src/cli/stack_options.ts";

const options = (argv: string[]) => hostOptions(parseArgs(argv, STACK_SPEC));

describe("stack options", () => {
  it("fills the prefix (/24, /64), sorts addresses by family, takes gateways and a MAC", () => {
    const o = options(["--iface", "eth0", "--ip", "10.77.0.3", "--ip6", "fd77::3", "--gw", "10.77.0.1", "--gw6", "fe80::1", "--mac", "02:00:00:00:00:07", "--mtu", "1400", "--netns", "n"]);
    expect(o.iface).toBe("eth0");
    expect(o.netns).toBe("n");
    expect(o.ipv4).toEqual(["10.77.0.3/24"]);
    expect(o.ipv6).toEqual(["fd77::3/64"]);
    expect(o.gateway4).toEqual(Uint8Array.of(10, 77, 0, 1));
    expect(o.gateway6).toEqual(parseIp("fe80::1"));
    expect(o.mac).toEqual(Uint8Array.of(2, 0, 0, 0, 0, 7));
    expect(o.mtu).toBe(1400);
    // --ip takes an IPv6 address too; --gw an IPv6 gateway.
    const six = options(["--iface", "eth0", "--ip", "fd77::3/120", "--gw", "fd77::1"]);
    expect(six.ipv4).toEqual([]);
    expect(six.ipv6).toEqual(["fd77::3/120"]);
    expect(six.gateway6).toEqual(parseIp("fd77::1"));
    expect(six.gateway4).toBeUndefined();
  });

  it("makes the MAC from the first address: 02:53 and its last four bytes", () => {
    expect(formatMac(addressMac(parseIp("10.77.0.3")))).toBe("02:53:0a:4d:00:03");
    expect(formatMac(addressMac(parseIp("fd77::1:2:3")))).toBe("02:53:00:02:00:03");
    expect(formatMac(options(["--iface", "e", "--ip", "192.168.1.200/24"]).mac as Uint8Array)).toBe("02:53:c0:a8:01:c8");
    expect(formatMac(options(["--iface", "e", "--ip6", "fd00::abcd:ef01"]).mac as Uint8Array)).toBe("02:53:ab:cd:ef:01");
  });

  it("--dhcp: no address yet, IPv4 counted as ours, the MAC left to openHost (random) unless given", () => {
    const d = options(["--iface", "e", "--dhcp"]);
    expect(d.ipv4).toEqual([]);
    expect(d.dhcp).toBe(true);
    expect(d.mac).toBeUndefined();
    expect(hasFamily(d, 4)).toBe(true);
    expect(hasFamily(d, 6)).toBe(false);
    const withSix = options(["--iface", "e", "--dhcp", "--ip6", "fd77::3"]);
    expect(withSix.ipv6).toEqual(["fd77::3/64"]);
    expect(formatMac(options(["--iface", "e", "--dhcp", "--mac", "02:00:00:00:00:09"]).mac as Uint8Array)).toBe("02:00:00:00:00:09");
  });

  it("says what is wrong in one UsageError", () => {
    const bad: [string[], string, string][] = [
      [["--ip", "10.0.0.1/24"], "--iface", "is required (the interface our host lives on)"],
      [["--iface", "e"], "--ip", "is required (our address, e.g. --ip 10.77.0.3/24 or --ip6 fd77::3/64, or --dhcp)"],
      [["--iface", "e", "--dhcp", "--ip", "10.0.0.1"], "--dhcp", "cannot be used with an IPv4 --ip (DHCP gives the address)"],
      [["--iface", "e", "--ip", "10.0.0.256/24"], "--ip", 'Invalid IPv4 address: "10.0.0.256"'],
      [["--iface", "e", "--ip", "10.0.0.1/x"], "--ip", "10.0.0.1/x: the prefix length must be 0 to 32"],
      [["--iface", "e", "--ip6", "10.0.0.1"], "--ip6", "10.0.0.1 is not an IPv6 address"],
      [["--iface", "e", "--ip6", "fd77::3/129"], "--ip6", "fd77::3/129: the prefix length must be 0 to 128"],
      [["--iface", "e", "--ip", "10.0.0.1", "--gw6", "10.0.0.254"], "--gw6", "10.0.0.254 is not an IPv6 address"],
      [["--iface", "e", "--ip", "10.0.0.1", "--gw", "router"], "--gw", 'Invalid IPv4 address: "router"'],
      [["--iface", "e", "--ip", "10.0.0.1", "--mac", "02:00:00:00:00"], "--mac", 'Invalid MAC address: "02:00:00:00:00"'],
      [["--iface", "e", "--ip", "10.0.0.1", "--mac", "33:33:00:00:00:01"], "--mac", "33:33:00:00:00:01 is a multicast address"],
      [["--iface", "e", "--ip", "10.0.0.1", "--mtu", "100"], "--mtu", "100 is out of range (576..65535)"],
    ];
    for (const [argv, what, why] of bad) {
      let caught: unknown = null;
      try {
        options(argv);
      } catch (err) {
        caught = err;
      }
      expect(caught, argv.join(" ")).toBeInstanceOf(UsageError);
      expect((caught as UsageError).what, argv.join(" ")).toBe(what);
      expect((caught as UsageError).why, argv.join(" ")).toBe(why);
    }
  });
});

describe("ping's figures, as iputils prints them", () => {
  it("round-trip times: three decimals under 1 ms, two under 10, one under 100, none above", () => {
    expect(rttText(0)).toBe("0.000");
    expect(rttText(412)).toBe("0.412");
    expect(rttText(999)).toBe("0.999");
    expect(rttText(1234)).toBe("1.23"); // (1234 + 5) / 1000 = 1, (1239 % 1000) / 10 = 23
    expect(rttText(1995)).toBe("2.00");
    expect(rttText(9994)).toBe("9.99"); // under 10000 - 5: still two decimals
    expect(rttText(9995)).toBe("10.0"); // (9995 + 50) / 1000 = 10, (10045 % 1000) / 100 = 0
    expect(rttText(12345)).toBe("12.3");
    expect(rttText(99949)).toBe("99.9");
    expect(rttText(99950)).toBe("100"); // (99950 + 500) / 1000
    expect(rttText(1_234_567)).toBe("1235");
  });

  it("the statistics lines: loss as C's %g of a float, min/avg/max/mdev in µs-exact thousandths", () => {
    const s = new PingStats();
    s.transmitted = 3;
    for (const us of [284, 399, 1977]) s.reply(us, false);
    // avg = floor(2660 / 3) = 886; mean of squares = floor((80656 + 159201 + 3908529) / 3) = 1382795;
    // mdev = floor(sqrt(1382795 - 886²)) = floor(sqrt(597799)) = 773.
    expect(s.summary(433.4)).toEqual(["3 packets transmitted, 3 received, 0% packet loss, time 433ms", "rtt min/avg/max/mdev = 0.284/0.886/1.977/0.773 ms"]);

    const lossy = new PingStats();
    lossy.transmitted = 3;
    lossy.reply(500, false);
    lossy.reply(700, false);
    lossy.reply(600, true);
    expect(lossy.summary(2000)[0]).toBe("3 packets transmitted, 2 received, +1 duplicates, 33.3333% packet loss, time 2000ms");
    const seven = new PingStats();
    seven.transmitted = 7;
    for (let i = 0; i < 5; i++) seven.reply(1000, false);
    expect(seven.summary(6000)[0]).toBe("7 packets transmitted, 5 received, 28.5714% packet loss, time 6000ms");
    expect(seven.summary(6000)[1]).toBe("rtt min/avg/max/mdev = 1.000/1.000/1.000/0.000 ms");

    const none = new PingStats();
    none.transmitted = 2;
    expect(none.summary(1237)).toEqual(["2 packets transmitted, 0 received, 100% packet loss, time 1237ms"]);
  });
});
