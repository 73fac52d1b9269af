/**
 * A DHCP client over our own stack (RFC 2131, options from RFC 2132): from
 * our own MAC, with one UDP socket on port 68, it broadcasts DISCOVER from
 * 0.0.0.0 (the stack sends a limited broadcast from 0.0.0.0 while it has no
 * IPv4 address), takes the first OFFER for its transaction, REQUESTs it and
 * on the ACK gives the stack the address, prefix and router
 * ({@link Stack.addIpv4}). Then it keeps the lease: a unicast REQUEST to the
 * server at T1 (RENEWING), a broadcast one at T2 (REBINDING), and at the
 * lease's end the address is given up. {@link DhcpClient.release} sends a
 * RELEASE and gives the address back.
 *
 * What it takes from the wire is checked first: a reply counts only with our
 * transaction id (xid), our MAC in chaddr, the magic cookie, a message type
 * and options that decode; anything else is ignored and noted on the trace
 * (`# dhcp: ignored ...`), so a server that answers another client, or
 * lies, costs nothing but its packets. Retransmissions follow RFC 2131
 * §4.1: 4 s, then doubled up to 64 s, each moved by up to ±1 s at random.
 *
 * The broadcast flag is set (RFC 2131 §4.1): before the ACK our stack has no
 * address, so the server's answers must come to 255.255.255.255.
 *
 * @example
 * ```ts
 * import { DhcpClient } from "./dhcp.ts";
 * const dhcp = new DhcpClient(host);
 * const lease = await dhcp.acquire(); // the stack now has lease.address
 * ...
 * await dhcp.release();
 * ```
 *
 * @module
 */
import { formatMac, parseIpv4 } from "../../layers/addr.ts";
import { decodeAs } from "../../layers/decode.ts";
import { DHCP_MAGIC_COOKIE, DHCP_MESSAGE_TYPE, dhcpMessageTypeName, dhcpOption, encodeDhcp, type Dhcp, type DhcpInput } from "../../layers/dhcp.ts";
import type { DhcpOptionInput } from "../../layers/dhcp_options.ts";
import { randomBelow } from "../stack/random.ts";
import type { Socket } from "../stack/sockets.ts";
import { TIMEOUT, race, sleepOn, type AppHost } from "./app.ts";

/** The ports of RFC 2131 §4.1. */
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
const BROADCAST = "255.255.255.255";
/** RFC 2132 §9.8: a lease of 0xffffffff seconds never ends. */
const INFINITE = 0xffffffff;
/** Parameter request list (RFC 2132 §9.8): mask, router, DNS, domain name, lease, server id, T1, T2. */
const REQUESTED = [1, 3, 6, 15, 51, 54, 58, 59];

/** A lease, as the ACK gave it. Times in seconds, counted from `start`. */
export interface DhcpLease {
  address: string;
  prefixLength: number;
  mask: string;
  router: string | null;
  dns: string[];
  domain: string | null;
  /** the server identifier (option 54): where renewals and the release go */
  server: string;
  /** seconds (Infinity: never ends) */
  leaseSeconds: number;
  /** T1 and T2 (RFC 2131 §4.4.5: 0.5 and 0.875 of the lease unless the server says) */
  renewSeconds: number;
  rebindSeconds: number;
  /** the clock's time when the REQUEST that got it was sent (RFC 2131 §4.4.1: the lease counts from it) */
  start: number;
}

/** Options of {@link DhcpClient}. */
export interface DhcpClientOptions {
  /** the first retransmission interval (default 4000 ms, RFC 2131 §4.1) */
  retransmitMs?: number | undefined;
  /** the largest interval (default 64000 ms) */
  maxRetransmitMs?: number | undefined;
  /** give up getting a lease after this long (default 60000 ms) */
  timeoutMs?: number | undefined;
  /** option 12, when set */
  hostname?: string | undefined;
}

/** A failed DHCP exchange. */
export class DhcpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DhcpError";
  }
}

/** What happened to a lease after {@link DhcpClient.acquire}. */
export type DhcpEvent = "renewed" | "rebound" | "expired" | "refused";

/** Prefix length of a mask, or null when its ones are not contiguous. */
function prefixOf(mask: Uint8Array): number | null {
  let n = 0;
  let zero = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((byte >> bit) & 1) {
        if (zero) return null;
        n++;
      } else zero = true;
    }
  }
  return n;
}

function maskOf(prefix: number): string {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
}

/** RFC 2131 §4.1 / RFC 2132 §3.3: with no subnet mask option, the address's class decides. */
function classfulPrefix(address: Uint8Array): number {
  const a = address[0]!;
  return a < 128 ? 8 : a < 192 ? 16 : 24;
}

/** A DHCP client on one host. See the module documentation. */
export class DhcpClient {
  readonly #host: AppHost;
  readonly #retransmitMs: number;
  readonly #maxRetransmitMs: number;
  readonly #timeoutMs: number;
  readonly #hostname: string | undefined;
  readonly #mac: Uint8Array;
  #sock: Socket | null = null;
  #pending: Promise<{ data: Uint8Array; from: { address: string } }> | null = null;
  #timer: (() => void) | null = null;
  #closed = false;
  /** the lease held now */
  lease: DhcpLease | null = null;
  /** called when a renewal, a rebinding or the lease's end changes it */
  onEvent: ((event: DhcpEvent, lease: DhcpLease) => void) | null = null;
  /** messages sent, by type name (DISCOVER, REQUEST, RELEASE) */
  readonly sent = new Map<string, number>();

  constructor(host: AppHost, options: DhcpClientOptions = {}) {
    this.#host = host;
    this.#retransmitMs = options.retransmitMs ?? 4000;
    this.#maxRetransmitMs = options.maxRetransmitMs ?? 64000;
    this.#timeoutMs = options.timeoutMs ?? 60000;
    this.#hostname = options.hostname;
    this.#mac = host.driver.stack.iface.mac;
  }

  get #clock() {
    return this.#host.driver.device.clock;
  }

  #note(text: string): void {
    this.#host.driver.stack.trace?.note(this.#host.driver.now, `dhcp: ${text}`);
  }

  #socket(): Socket {
    if (this.#sock === null) {
      const s = this.#host.sockets.socket("inet", "dgram");
      s.bind("", DHCP_CLIENT_PORT);
      s.setsockopt("SO_BROADCAST", true);
      this.#sock = s;
    }
    return this.#sock;
  }

  #xid(): number {
    return this.#host.driver.stack.random.u32();
  }

  #message(type: number, xid: number, secs: number, fields: Partial<DhcpInput>, options: DhcpOptionInput[]): Uint8Array {
    const list: DhcpOptionInput[] = [
      // RFC 2132 §9.14: the client identifier, hardware type 1 and the MAC.
      { code: 61, value: Uint8Array.of(1, ...this.#mac) },
      ...options,
    ];
    if (type !== DHCP_MESSAGE_TYPE.RELEASE) {
      list.push({ code: 55, value: REQUESTED });
      if (this.#hostname !== undefined) list.push({ code: 12, value: this.#hostname });
    }
    return encodeDhcp({ layer: "dhcp", messageType: type, xid, secs: Math.min(secs, 0xffff), clientMac: formatMac(this.#mac), options: list, ...fields });
  }

  async #send(bytes: Uint8Array, to: string, type: number): Promise<void> {
    const name = dhcpMessageTypeName(type);
    this.sent.set(name, (this.sent.get(name) ?? 0) + 1);
    await this.#socket().sendto(bytes, to, DHCP_SERVER_PORT);
  }

  /** RFC 2131 §4.1: is this the reply we wait for? Null with a reason when not. */
  #judge(bytes: Uint8Array, xid: number, types: number[]): { dhcp: Dhcp } | { why: string } {
    const p = decodeAs("dhcp", bytes);
    const d = p.layers[0] as Dhcp | undefined;
    if (d === undefined) return { why: "does not decode" };
    if (d.op !== 2) return { why: "not a reply (op 1)" };
    if (d.xid !== xid) return { why: `${d.messageTypeName ?? "BOOTP"} for xid 0x${d.xid.toString(16).padStart(8, "0")}, not ours (0x${xid.toString(16).padStart(8, "0")})` };
    if (d.clientMac !== formatMac(this.#mac)) return { why: `${d.messageTypeName ?? "BOOTP"} for ${d.clientMac}, not our MAC` };
    if (d.magicCookie !== DHCP_MAGIC_COOKIE) return { why: "no DHCP magic cookie" };
    if (p.issues.length > 0) return { why: `malformed ${d.messageTypeName ?? "reply"}: ${p.issues[0]!.reason}` };
    if (d.messageType === undefined || !types.includes(d.messageType)) return { why: `${d.messageTypeName ?? "a reply without a message type"} while waiting for ${types.map(dhcpMessageTypeName).join(" or ")}` };
    return { dhcp: d };
  }

  /**
   * Send `build()` to `to` and wait for a reply of `types` with `xid` until
   * `deadline`, sending again with RFC 2131 §4.1's backoff (or at `every`
   * when given). Returns the reply, or null at the deadline.
   */
  async #exchange(build: () => Uint8Array, to: string, type: number, xid: number, types: number[], deadline: number, every?: (now: number) => number): Promise<Dhcp | null> {
    const clock = this.#clock;
    const random = this.#host.driver.stack.random;
    let interval = this.#retransmitMs;
    for (let attempt = 0; !this.#closed && clock.now() < deadline; attempt++) {
      if (attempt > 0) this.#note(`no answer: ${dhcpMessageTypeName(type)} again (xid 0x${xid.toString(16).padStart(8, "0")})`);
      await this.#send(build(), to, type);
      // RFC 2131 §4.1: the delay doubles to 64 s and is randomized by ±1 s.
      const jitter = Math.min(1000, interval / 4);
      const wait = every !== undefined ? every(clock.now()) : interval + (randomBelow(random, Math.round(2 * jitter) + 1) - jitter);
      interval = Math.min(interval * 2, this.#maxRetransmitMs);
      const until = Math.min(deadline, clock.now() + Math.max(1, wait));
      for (;;) {
        const sock = this.#socket();
        this.#pending ??= sock.recvfrom(65535);
        let got: { data: Uint8Array; from: { address: string } } | typeof TIMEOUT;
        try {
          got = await race(clock, until - clock.now(), this.#pending);
        } catch (err) {
          // close() closed the socket under the wait: stopped, not failed.
          if (this.#closed) return null;
          throw err;
        }
        if (got === TIMEOUT || this.#closed) break;
        this.#pending = null;
        const v = this.#judge(got.data, xid, types);
        if ("dhcp" in v) return v.dhcp;
        this.#note(`ignored a datagram from ${got.from.address}: ${v.why}`);
      }
    }
    return null;
  }

  /** The lease an ACK gives (RFC 2132 §9.2, §9.11, §9.12). */
  #leaseOf(ack: Dhcp, start: number, fallbackServer: string): DhcpLease {
    const address = parseIpv4(ack.yourIp);
    const maskOption = dhcpOption(ack, 1);
    const prefix = (typeof maskOption === "string" ? prefixOf(parseIpv4(maskOption)) : null) ?? classfulPrefix(address);
    const router = dhcpOption(ack, 3);
    const dns = dhcpOption(ack, 6);
    const domain = dhcpOption(ack, 15);
    const server = dhcpOption(ack, 54);
    const leaseOption = dhcpOption(ack, 51);
    const lease = typeof leaseOption === "number" ? (leaseOption === INFINITE ? Infinity : leaseOption) : Infinity;
    const t1 = dhcpOption(ack, 58);
    const t2 = dhcpOption(ack, 59);
    const rebind = typeof t2 === "number" && t2 <= lease ? t2 : lease * 0.875;
    const renew = typeof t1 === "number" && t1 <= rebind ? t1 : lease * 0.5;
    return {
      address: ack.yourIp,
      prefixLength: prefix,
      mask: maskOf(prefix),
      router: Array.isArray(router) && typeof router[0] === "string" ? router[0] : null,
      dns: Array.isArray(dns) ? dns.filter((x): x is string => typeof x === "string") : [],
      domain: typeof domain === "string" ? domain : null,
      server: typeof server === "string" ? server : fallbackServer,
      leaseSeconds: lease,
      renewSeconds: renew,
      rebindSeconds: rebind,
      start,
    };
  }

  /** Give the stack the lease's address and router; start the renewal timers. */
  #bind(lease: DhcpLease): void {
    const previous = this.lease;
    this.lease = lease;
    const d = this.#host.driver;
    if (previous !== null && previous.address !== lease.address) d.run((now) => d.stack.removeIpv4(parseIpv4(previous.address), now));
    d.run((now) => d.stack.addIpv4({ address: parseIpv4(lease.address), prefixLength: lease.prefixLength }, lease.router === null ? null : parseIpv4(lease.router), now));
    const life = Number.isFinite(lease.leaseSeconds) ? `${lease.leaseSeconds} s (renew at ${lease.renewSeconds} s, rebind at ${lease.rebindSeconds} s)` : "ever";
    this.#note(`bound to ${lease.address}/${lease.prefixLength} from ${lease.server} for ${life}`);
    this.#schedule();
  }

  #schedule(): void {
    this.#timer?.();
    this.#timer = null;
    const lease = this.lease;
    if (lease === null || this.#closed || !Number.isFinite(lease.leaseSeconds)) return;
    const at = lease.start + lease.renewSeconds * 1000;
    this.#timer = this.#clock.setTimer(at - this.#clock.now(), () => {
      this.#timer = null;
      void this.#renew(lease);
    });
  }

  /** Get a lease: DISCOVER, OFFER, REQUEST, ACK (RFC 2131 §3.1). Rejects with a {@link DhcpError} at the timeout. */
  async acquire(): Promise<DhcpLease> {
    const clock = this.#clock;
    const begin = clock.now();
    const deadline = begin + this.#timeoutMs;
    const secs = (): number => Math.floor((clock.now() - begin) / 1000);
    for (let round = 0; !this.#closed && clock.now() < deadline; round++) {
      const xid = this.#xid();
      // RFC 2131 §4.4.1: the client sets the broadcast bit; it cannot take unicast before it has an address.
      const offer = await this.#exchange(() => this.#message(DHCP_MESSAGE_TYPE.DISCOVER, xid, secs(), { broadcast: true }, []), BROADCAST, DHCP_MESSAGE_TYPE.DISCOVER, xid, [DHCP_MESSAGE_TYPE.OFFER], deadline);
      if (offer === null) break;
      const server = dhcpOption(offer, 54);
      if (typeof server !== "string") {
        this.#note(`an OFFER of ${offer.yourIp} without a server identifier: ignored`);
        continue;
      }
      this.#note(`offered ${offer.yourIp} by ${server}`);
      let start = clock.now();
      const request = (): Uint8Array => {
        start = clock.now();
        return this.#message(DHCP_MESSAGE_TYPE.REQUEST, xid, secs(), { broadcast: true }, [
          { code: 50, value: offer.yourIp },
          { code: 54, value: server },
        ]);
      };
      const ack = await this.#exchange(request, BROADCAST, DHCP_MESSAGE_TYPE.REQUEST, xid, [DHCP_MESSAGE_TYPE.ACK, DHCP_MESSAGE_TYPE.NAK], deadline);
      if (ack === null) break;
      if (ack.messageType === DHCP_MESSAGE_TYPE.NAK) {
        // RFC 2131 §4.4.1: a NAK sends the client back to INIT.
        this.#note(`${server} refused the REQUEST (NAK${typeof dhcpOption(ack, 56) === "string" ? `: ${String(dhcpOption(ack, 56))}` : ""}): starting over`);
        continue;
      }
      const lease = this.#leaseOf(ack, start, server);
      this.#bind(lease);
      return lease;
    }
    if (this.#closed) throw new DhcpError("Stopped before a lease was obtained");
    const discovers = this.sent.get("DISCOVER") ?? 0;
    throw new DhcpError(`No lease in ${Number((this.#timeoutMs / 1000).toFixed(3))} s (${discovers} DISCOVER${discovers === 1 ? "" : "s"}, ${this.sent.get("REQUEST") ?? 0} REQUEST${this.sent.get("REQUEST") === 1 ? "" : "s"} sent)`);
  }

  /** RFC 2131 §4.4.5: RENEWING at T1 (unicast to the server), REBINDING at T2 (broadcast), given up at the end. */
  async #renew(lease: DhcpLease): Promise<void> {
    const clock = this.#clock;
    const t2 = lease.start + lease.rebindSeconds * 1000;
    const end = lease.start + lease.leaseSeconds * 1000;
    const types = [DHCP_MESSAGE_TYPE.ACK, DHCP_MESSAGE_TYPE.NAK];
    const ask = async (to: string, until: number, phase: "renewing" | "rebinding"): Promise<Dhcp | null> => {
      const xid = this.#xid();
      let start = clock.now();
      this.#note(`${phase} ${lease.address} (${to === BROADCAST ? "broadcast" : `to ${to}`})`);
      // RFC 2131 §4.4.5: wait half the time left (at least 60 s) before asking again; here at least 1 s, so a short lease is kept too.
      const every = (now: number): number => Math.max(Math.min(60_000, until - now), (until - now) / 2, 1000);
      const reply = await this.#exchange(
        () => {
          start = clock.now();
          // RFC 2131 §4.3.2 table 5: ciaddr is ours, no requested address or server identifier.
          return this.#message(DHCP_MESSAGE_TYPE.REQUEST, xid, 0, { clientIp: lease.address }, []);
        },
        to,
        DHCP_MESSAGE_TYPE.REQUEST,
        xid,
        types,
        until,
        every,
      );
      if (reply !== null && reply.messageType === DHCP_MESSAGE_TYPE.ACK) {
        const next = this.#leaseOf(reply, start, lease.server);
        this.#bind(next);
        this.onEvent?.(phase === "renewing" ? "renewed" : "rebound", next);
      }
      return reply;
    };
    let reply = await ask(lease.server, t2, "renewing");
    if (reply === null && !this.#closed) reply = await ask(BROADCAST, end, "rebinding");
    if (this.#closed || (reply !== null && reply.messageType === DHCP_MESSAGE_TYPE.ACK)) return;
    // A NAK, or the lease ran out: the address is not ours any more (RFC 2131 §4.4.5).
    this.#note(reply === null ? `lease of ${lease.address} ended with no answer` : `${lease.address} refused by ${lease.server} (NAK)`);
    this.#unbind(lease);
    this.onEvent?.(reply === null ? "expired" : "refused", lease);
  }

  #unbind(lease: DhcpLease): void {
    const d = this.#host.driver;
    d.run((now) => d.stack.removeIpv4(parseIpv4(lease.address), now));
    if (this.lease === lease) this.lease = null;
  }

  /**
   * RFC 2131 §4.4.6: tell the server we are done with the address (a
   * RELEASE, unicast), then give it up. Waits (at most `waitMs`) until the
   * RELEASE has left: the server's MAC may still have to be asked for.
   */
  async release(waitMs = 1000): Promise<void> {
    const lease = this.lease;
    this.#timer?.();
    this.#timer = null;
    if (lease === null) return;
    const xid = this.#xid();
    const release = this.#message(DHCP_MESSAGE_TYPE.RELEASE, xid, 0, { clientIp: lease.address }, [{ code: 54, value: lease.server }]);
    try {
      await this.#send(release, lease.server, DHCP_MESSAGE_TYPE.RELEASE);
    } catch (err) {
      this.#note(`RELEASE not sent: ${err instanceof Error ? err.message : String(err)}`);
    }
    const d = this.#host.driver;
    const hop = d.stack.iface.nextHop(parseIpv4(lease.server));
    const clock = this.#clock;
    const until = clock.now() + waitMs;
    while (hop !== null && d.stack.neighbors.lookup(hop, d.now) === null && clock.now() < until) await sleepOn(clock, 10);
    this.#note(`released ${lease.address}`);
    this.#unbind(lease);
  }

  /** Stop: timers cancelled, the socket closed (the address stays unless {@link release} ran). */
  close(): void {
    this.#closed = true;
    this.#timer?.();
    this.#timer = null;
    this.#sock?.close();
    this.#sock = null;
  }
}

/** A lease as lines of `key value`, for `stackts dhcp` and traces. */
export function describeLease(lease: DhcpLease): string[] {
  const seconds = (n: number): string => (Number.isFinite(n) ? `${Math.round(n)}` : "infinite");
  return [
    `address ${lease.address}/${lease.prefixLength}`,
    `mask ${lease.mask}`,
    `router ${lease.router ?? "none"}`,
    `dns ${lease.dns.length === 0 ? "none" : lease.dns.join(" ")}`,
    ...(lease.domain === null ? [] : [`domain ${lease.domain}`]),
    `lease ${seconds(lease.leaseSeconds)} s (renew at ${seconds(lease.renewSeconds)} s, rebind at ${seconds(lease.rebindSeconds)} s)`,
    `server ${lease.server}`,
  ];
}

/** The lease's first DNS server, or null. */
export function leaseDnsServer(lease: DhcpLease | null): string | null {
  return lease?.dns[0] ?? null;
}

