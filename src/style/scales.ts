/**
 * The coarse-to-fine schedule (`--scales N` or `--min-size PX`): long sides
 * growing by about √2 per scale up to `--size` (crowsonkb/style-transfer-pytorch
 * starts at 128 px and multiplies by √2), and the update steps of each scale.
 *
 * @example
 * ```ts
 * import { scaleLongSides, scaleIterations } from "./scales.ts";
 * console.log(scaleLongSides(512, { scales: 3 })); // [256, 362, 512]
 * console.log(scaleLongSides(512, { minSize: 128 })); // [128, 181, 256, 362, 512]
 * console.log(scaleIterations(3, 100, [300, 100])); // [300, 100, 100]
 * ```
 * @module
 */
import { UserError } from "../util/errors.ts";

/**
 * Long sides of the scales, smallest first, ending at `size`: `scales` of them
 * a factor √2 apart, or, with `minSize`, as many as it takes to go from
 * `minSize` to `size` in factors of at most √2 (evenly spaced in log size).
 *
 * @example
 * ```ts
 * import { scaleLongSides } from "./scales.ts";
 * console.log(scaleLongSides(400, { minSize: 400 })); // [400]
 * ```
 */
export function scaleLongSides(size: number, o: { scales?: number; minSize?: number }): number[] {
  if (o.minSize !== undefined) {
    if (o.minSize > size) {
      throw new UserError(
        `--min-size: ${o.minSize} px is above --size ${size}; it must be at most the final size`,
      );
    }
    const n = 1 + Math.ceil(Math.log(size / o.minSize) / Math.log(Math.SQRT2) - 1e-9);
    if (n === 1) return [size];
    const f = Math.pow(size / o.minSize, 1 / (n - 1));
    return Array.from(
      { length: n },
      (_, k) => k === n - 1 ? size : Math.round(o.minSize! * f ** k),
    );
  }
  const n = o.scales ?? 1;
  return Array.from({ length: n }, (_, k) => Math.round(size / Math.SQRT2 ** (n - 1 - k)));
}

/**
 * Update steps per scale: `perScale` (`--scale-iterations`) scale by scale,
 * its last value repeated for the scales it does not reach; without it,
 * `iterations` at every scale.
 *
 * @example
 * ```ts
 * import { scaleIterations } from "./scales.ts";
 * console.log(scaleIterations(2, 50)); // [50, 50]
 * ```
 */
export function scaleIterations(
  n: number,
  iterations: number,
  perScale?: readonly number[],
): number[] {
  if (!perScale || perScale.length === 0) return new Array(n).fill(iterations);
  if (perScale.length > n) {
    throw new UserError(
      `--scale-iterations: ${perScale.length} values for ${n} scale(s); give at most one per scale`,
    );
  }
  return Array.from({ length: n }, (_, k) => perScale[Math.min(k, perScale.length - 1)]);
}
