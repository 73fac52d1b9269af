/**
 * What the applications over our stack (DNS, DHCP) share: the part of a
 * host they use ({@link AppHost}), and waiting with a bound on the device's
 * clock: each socket call is raced against the time left, so a server that
 * never answers, or answers forever with lies, ends in a clear error at the
 * deadline and never in a hang.
 *
 * @example
 * ```ts
 * import { race } from "./app.ts";
 * const got = await race(host.device.clock, 1000, sock.recvfrom());
 * if (got === TIMEOUT) ...
 * ```
 *
 * @module
 */
import type { Clock } from "../device/device.ts";
import type { Host } from "../stack/host.ts";

/** What an application over our stack needs: sockets, and the driver's clock, randomness and trace. */
export type AppHost = Pick<Host, "sockets" | "driver">;

/** What {@link race} resolves to when the time ran out first. */
export const TIMEOUT: unique symbol = Symbol("timeout");

/**
 * `p`'s value, or {@link TIMEOUT} after `ms` on `clock` (at once when `ms`
 * is 0 or less and `p` is still pending). `p` is left running: a later
 * rejection of it is swallowed here, so a socket closed under it costs
 * nothing.
 */
export function race<T>(clock: Clock, ms: number, p: Promise<T>): Promise<T | typeof TIMEOUT> {
  p.catch(() => {});
  return new Promise((resolve, reject) => {
    const cancel = clock.setTimer(Math.max(0, ms), () => resolve(TIMEOUT));
    p.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}

/** Resolve after `ms` on `clock`. */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(Math.max(0, ms), resolve));
}
