/**
 * Keras's VGG19 feature stack (`keras.applications.VGG19(include_top=False)`)
 * as data: 16 3x3 stride-1 'same' convolutions with ReLU and 4 2x2 max pools
 * between the blocks (the fifth pool is never needed for a loss and is left
 * out), plus Keras's 'caffe' preprocessing and its inverse.
 *
 * @example
 * ```ts
 * import { layersUpTo, VGG19_CONV_LAYERS } from "./layers.ts";
 * console.log(VGG19_CONV_LAYERS.length); // 16
 * console.log(layersUpTo(["block1_conv1", "block2_conv1"]).length); // 4
 * ```
 * @module
 */
import { UserError } from "../util/errors.ts";

/** One 3x3 conv layer of VGG19: its Keras name and channel counts. */
export interface ConvLayerSpec {
  /** Keras name, e.g. `block3_conv4`. */
  name: string;
  /** The block, 1-5. */
  block: number;
  /** Input channels. */
  cIn: number;
  /** Output channels. */
  cOut: number;
  /** True when a 2x2 max pool precedes this layer (first conv of blocks 2..5). */
  poolBefore: boolean;
}

const BLOCKS: Array<[number, number]> = [[2, 64], [2, 128], [4, 256], [4, 512], [4, 512]];

/** The 16 conv layers in network order. */
export const VGG19_CONV_LAYERS: readonly ConvLayerSpec[] = (() => {
  const out: ConvLayerSpec[] = [];
  let cIn = 3;
  BLOCKS.forEach(([count, cOut], b) => {
    for (let i = 1; i <= count; i++) {
      out.push({
        name: `block${b + 1}_conv${i}`,
        block: b + 1,
        cIn,
        cOut,
        poolBefore: b > 0 && i === 1,
      });
      cIn = cOut;
    }
  });
  return out;
})();

/** Keras 'caffe' mean, in BGR order. */
export const CAFFE_MEAN_BGR: readonly [number, number, number] = [103.939, 116.779, 123.68];

/** Index of a layer name in {@link VGG19_CONV_LAYERS}, or a UserError naming the flag. */
export function layerIndex(name: string, flag = "layer"): number {
  const i = VGG19_CONV_LAYERS.findIndex((l) => l.name === name);
  if (i < 0) {
    throw new UserError(
      `${flag}: unknown VGG19 layer '${name}' (known: ${
        VGG19_CONV_LAYERS.map((l) => l.name).join(", ")
      })`,
    );
  }
  return i;
}

/** The conv layers needed to compute every layer in `targets`: the prefix up to the deepest one. */
export function layersUpTo(targets: readonly string[], flag = "layer"): ConvLayerSpec[] {
  const deepest = Math.max(...targets.map((t) => layerIndex(t, flag)));
  return VGG19_CONV_LAYERS.slice(0, deepest + 1);
}
