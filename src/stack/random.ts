/**
 * Randomness as an argument: the stack draws every random number (initial
 * sequence numbers' secret, ephemeral ports, timestamp offsets, the MAC it
 * makes up) from a {@link Random} it is given. Live, that is the platform's
 * cryptographic generator; in a test, a seeded generator, so a run replays
 * bit for bit.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./random.ts";
 * const r = seededRandom(42);
 * r.u32(); // the same number on every run
 * ```
 *
 * @module
 */

/** A source of random 32-bit numbers. */
export interface Random {
  /** a uniformly distributed unsigned 32-bit integer */
  u32(): number;
}

/** A number in `[0, n)` (n <= 2^32), without modulo bias. */
export function randomBelow(r: Random, n: number): number {
  if (n <= 1) return 0;
  // Reject the top slice of the 2^32 range that does not divide evenly by n.
  const limit = 0x100000000 - (0x100000000 % n);
  for (;;) {
    const x = r.u32();
    if (x < limit) return x % n;
  }
}

/** A number in `[0, 1)`. */
export function randomFraction(r: Random): number {
  return r.u32() / 0x100000000;
}

/**
 * A deterministic generator for tests and simulations: xoshiro128** (Blackman
 * and Vigna), its 128-bit state seeded from `seed` through splitmix32. Not
 * for secrets.
 */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return {
    u32(): number {
      const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
      const t = (b << 9) >>> 0;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d >>> 0, 11);
      a >>>= 0;
      b >>>= 0;
      c >>>= 0;
      return result;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The platform's cryptographic generator (Web Crypto), drawn 256 numbers at a time. */
export function systemRandom(): Random {
  const pool = new Uint32Array(256);
  let next = pool.length;
  return {
    u32(): number {
      if (next === pool.length) {
        globalThis.crypto.getRandomValues(pool);
        next = 0;
      }
      return pool[next++]!;
    },
  };
}
