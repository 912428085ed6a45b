/**
 * Seeded pseudo-random numbers, identical on every platform (unlike
 * Math.random): every random choice of the project (splits, bootstrap,
 * augmentation transforms, weight init) draws from these.
 *
 * @example
 * ```ts
 * import { mulberry32, shuffled } from "./random.ts";
 * console.log(shuffled([1, 2, 3], mulberry32(7)));
 * ```
 * @module
 */

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit-state PRNG, fast and
 * good enough for shuffling and bootstrap resampling. Returns floats in [0, 1).
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./random.ts";
 * const rand = mulberry32(1);
 * console.log(rand() === mulberry32(1)()); // true
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * FNV-1a 32-bit hash of a string's UTF-16 code units: turns a seed plus a
 * name into a PRNG seed, so streams for different names are independent.
 *
 * @example
 * ```ts
 * import { hash32 } from "./random.ts";
 * console.log(hash32("a") !== hash32("b")); // true
 * ```
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A uniform integer in [0, n) from a PRNG.
 *
 * @example
 * ```ts
 * import { mulberry32, randomInt } from "./random.ts";
 * console.log(randomInt(mulberry32(3), 10) < 10); // true
 * ```
 */
export function randomInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/**
 * A shuffled copy (Fisher-Yates); the input is left untouched.
 *
 * @example
 * ```ts
 * import { mulberry32, shuffled } from "./random.ts";
 * console.log(shuffled([1, 2, 3], mulberry32(7)).length); // 3
 * ```
 */
export function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(rand, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
