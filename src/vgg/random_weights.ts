/**
 * Random VGG19 weights of the exact Keras shapes, for timing only: `--weights random`
 * of `deno task stylize`. He-initialised (uniform, variance 2 / fan-in), zero biases,
 * seeded per layer, so two runs time the same arithmetic. A run on them produces
 * images that mean nothing; the CLI says so on stderr and in its `--log` lines.
 *
 * @example
 * ```ts
 * import { randomVggWeights } from "./random_weights.ts";
 * import { layersUpTo } from "./layers.ts";
 * const w = randomVggWeights(layersUpTo(["block5_conv2"]));
 * console.log(w.format, w.layers.get("block5_conv2")!.kernel.length); // random 2359296
 * ```
 * @module
 */
import { expectedLayer } from "./table.ts";
import type { ConvLayerSpec } from "./layers.ts";
import { type LayerWeights, loadVggWeights, type VggWeights } from "./weights.ts";
import { hash32, mulberry32 } from "../util/random.ts";

/**
 * The `--weights` value that selects random weights.
 *
 * @example
 * ```ts
 * import { RANDOM_WEIGHTS } from "./random_weights.ts";
 * console.log(RANDOM_WEIGHTS); // random
 * ```
 */
export const RANDOM_WEIGHTS = "random";

/**
 * The marker random-weights runs carry (stderr warning, `--log` lines).
 *
 * @example
 * ```ts
 * import { RANDOM_WEIGHTS_MARK } from "./random_weights.ts";
 * console.log(RANDOM_WEIGHTS_MARK); // random (timing only)
 * ```
 */
export const RANDOM_WEIGHTS_MARK = "random (timing only)";

/**
 * He-initialised seeded weights for the `needed` layers, shaped as Keras's
 * table (`weights/vgg19.json`) says: kernel [3, 3, cIn, cOut] flattened in
 * that order, bias [cOut] of zeros. Deterministic in (`seed`, layer name).
 *
 * @example
 * ```ts
 * import { randomVggWeights } from "./random_weights.ts";
 * import { layersUpTo } from "./layers.ts";
 * const a = randomVggWeights(layersUpTo(["block1_conv2"]), 7);
 * console.log(a.identity); // random:seed7
 * ```
 */
export function randomVggWeights(needed: readonly ConvLayerSpec[], seed = 0): VggWeights {
  const layers = new Map<string, LayerWeights>();
  for (const s of needed) {
    const e = expectedLayer(s.name);
    const n = e.kernel.reduce((a, b) => a * b, 1);
    const fanIn = e.kernel[0] * e.kernel[1] * e.kernel[2];
    // Uniform on [-b, b] with b = sqrt(6 / fan_in): variance 2 / fan_in (He).
    const bound = Math.sqrt(6 / fanIn);
    const rand = mulberry32(hash32(`${seed}:${s.name}`));
    const kernel = new Float32Array(n);
    for (let i = 0; i < n; i++) kernel[i] = (rand() * 2 - 1) * bound;
    const bias = new Float32Array(e.bias.reduce((a, b) => a * b, 1));
    layers.set(s.name, { kernel, bias });
  }
  return { source: RANDOM_WEIGHTS, format: "random", identity: `random:seed${seed}`, layers };
}

/**
 * `--weights PATH` as stylize reads it: {@link RANDOM_WEIGHTS} gives
 * {@link randomVggWeights}, anything else goes to `loadVggWeights`.
 *
 * @example
 * ```ts
 * import { loadStylizeWeights } from "./random_weights.ts";
 * import { layersUpTo } from "./layers.ts";
 * const w = await loadStylizeWeights("random", layersUpTo(["block1_conv1"]));
 * console.log(w.format); // random
 * ```
 */
export function loadStylizeWeights(
  path: string,
  needed: readonly ConvLayerSpec[],
): Promise<VggWeights> {
  if (path === RANDOM_WEIGHTS) return Promise.resolve(randomVggWeights(needed));
  return loadVggWeights(path, needed);
}
