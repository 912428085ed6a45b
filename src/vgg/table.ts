/**
 * The project's `weights/vgg19.json` as typed data: the pinned sources of the
 * VGG19 weights (file, md5, URLs) and the expected layer table (name, kernel
 * and bias shape, dtype) that every weights loader validates against. The
 * table is checked once, at load, against the network {@link VGG19_CONV_LAYERS}
 * describes, so the two cannot drift apart.
 *
 * @example
 * ```ts
 * import { expectedLayer, WEIGHTS_TABLE } from "./table.ts";
 * console.log(WEIGHTS_TABLE.sources[0].md5, expectedLayer("block1_conv1").kernel); // ... [3, 3, 3, 64]
 * ```
 * @module
 */
import table from "../../weights/vgg19.json" with { type: "json" };
import { VGG19_CONV_LAYERS } from "./layers.ts";

/**
 * One expected layer: its name, shapes and dtype.
 *
 * @example
 * ```ts
 * import type { ExpectedLayer } from "./table.ts";
 * const l: ExpectedLayer = { name: "block1_conv1", kernel: [3, 3, 3, 64], bias: [64], dtype: "float32", pool_before: false };
 * ```
 */
export interface ExpectedLayer {
  name: string;
  kernel: number[];
  bias: number[];
  dtype: string;
  pool_before: boolean;
}

/**
 * A pinned download of the weights.
 *
 * @example
 * ```ts
 * import type { WeightsSource } from "./table.ts";
 * declare const s: WeightsSource;
 * console.log(s.file, s.md5, s.urls[0]);
 * ```
 */
export interface WeightsSource {
  name: string;
  file: string;
  format: string;
  md5: string;
  urls: string[];
}

/**
 * `weights/vgg19.json`.
 *
 * @example
 * ```ts
 * import { WEIGHTS_TABLE } from "./table.ts";
 * console.log(WEIGHTS_TABLE.layers.length); // 16
 * ```
 */
export const WEIGHTS_TABLE: { sources: WeightsSource[]; layers: ExpectedLayer[] } = table;

// The data and the network description must agree (a bug otherwise, not a user error).
VGG19_CONV_LAYERS.forEach((l, i) => {
  const t = WEIGHTS_TABLE.layers[i];
  const want = JSON.stringify([l.name, [3, 3, l.cIn, l.cOut], [l.cOut], "float32", l.poolBefore]);
  const got = t && JSON.stringify([t.name, t.kernel, t.bias, t.dtype, t.pool_before]);
  if (got !== want) throw new Error(`weights/vgg19.json layer ${i}: ${got} != ${want}`);
});
if (WEIGHTS_TABLE.layers.length !== VGG19_CONV_LAYERS.length) {
  throw new Error("weights/vgg19.json: layer count differs from VGG19_CONV_LAYERS");
}

/**
 * The expected entry of layer `name` (an Error for a name outside the table).
 *
 * @example
 * ```ts
 * import { expectedLayer } from "./table.ts";
 * console.log(expectedLayer("block5_conv4").bias); // [512]
 * ```
 */
export function expectedLayer(name: string): ExpectedLayer {
  const l = WEIGHTS_TABLE.layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name} in weights/vgg19.json`);
  return l;
}
