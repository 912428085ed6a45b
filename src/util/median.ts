/**
 * The median of a sample: what every timing in the benches and the tuner reports.
 *
 * @example
 * ```ts
 * import { median } from "./median.ts";
 * console.log(median([3, 1, 2, 10])); // 2.5
 * ```
 * @module
 */

/** The median of `xs` (the mean of the middle two for an even count; NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
