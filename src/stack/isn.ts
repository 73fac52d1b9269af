/**
 * Initial sequence numbers per RFC 6528 §3: `ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey)`, where M is a timer that ticks every 4
 * microseconds and F a keyed pseudorandom function of the connection's
 * addresses and ports. F here is HalfSipHash-2-4 (J.-P. Aumasson's 32-bit
 * SipHash) keyed with 64 random bits drawn once per stack: an off-path
 * attacker cannot guess another connection's ISN from its own, and a reused
 * 4-tuple still gets a number ahead of its last incarnation (the timer part).
 *
 * @example
 * ```ts
 * import { IsnGenerator } from "./isn.ts";
 * import { seededRandom } from "./random.ts";
 * const isn = new IsnGenerator(seededRandom(1));
 * isn.next(1000, local, 40000, remote, 80); // a 32-bit ISN
 * ```
 *
 * @module
 */
import type { Random } from "./random.ts";

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/**
 * HalfSipHash-2-4 with a 32-bit result over `data`, key `(k0, k1)` (the
 * key's bytes as two little-endian words). Checked against the reference
 * test vectors in test/stack/isn.test.ts.
 */
export function halfSipHash24(k0: number, k1: number, data: Uint8Array): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = (0x6c796765 ^ k0) | 0;
  let v3 = (0x74656462 ^ k1) | 0;
  const round = (): void => {
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  };
  const n = data.length;
  const whole = n - (n & 3);
  for (let i = 0; i < whole; i += 4) {
    const m = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let last = (n & 0xff) << 24;
  for (let i = whole; i < n; i++) last |= data[i]! << ((i - whole) * 8);
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}

/** RFC 6528 ISNs for one stack: the secret is drawn once, at construction. */
export class IsnGenerator {
  readonly #k0: number;
  readonly #k1: number;
  readonly #scratch = new Uint8Array(36);

  constructor(random: Random) {
    this.#k0 = random.u32();
    this.#k1 = random.u32();
  }

  /**
   * The ISN for a connection opened at `nowMs` between `local:localPort` and
   * `remote:remotePort` (addresses of 4 or 16 bytes).
   */
  next(nowMs: number, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): number {
    const b = this.#scratch;
    b.set(local, 0);
    b.set(remote, local.length);
    let at = local.length + remote.length;
    b[at++] = localPort >>> 8;
    b[at++] = localPort & 0xff;
    b[at++] = remotePort >>> 8;
    b[at++] = remotePort & 0xff;
    const f = halfSipHash24(this.#k0, this.#k1, b.subarray(0, at));
    // RFC 6528 §3: M, a timer that increments every 4 microseconds.
    const m = Math.floor(nowMs * 250) >>> 0;
    return (m + f) >>> 0;
  }
}
