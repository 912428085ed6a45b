/**
 * VGG19's feature stack on tfjs tensors, run only as deep as the deepest layer
 * asked for. Convolutions go through the active kernel set (`src/ops/active.ts`) and
 * carry their own gradient (input only: the weights are frozen), so a step on
 * any backend differentiates through the fast route.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { Vgg19, preprocess } from "./model.ts";
 * import { loadVggWeights } from "./weights.ts";
 * import { layersUpTo } from "./layers.ts";
 * const specs = layersUpTo(["block2_conv1"]);
 * const vgg = Vgg19.create(await loadVggWeights("../shared/weights/vgg19-tfjs", specs), specs);
 * const feats = tf.tidy(() => vgg.features(preprocess(tf.zeros([1, 32, 32, 3])), ["block2_conv1"]));
 * console.log(feats.block2_conv1.shape); // [1, 16, 16, 128]
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { activeKernels } from "../ops/active.ts";
import { CAFFE_MEAN_BGR, type ConvLayerSpec } from "./layers.ts";
import type { VggWeights } from "./weights.ts";

interface ConvLayer {
  spec: ConvLayerSpec;
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
  /** Kernel rotated 180 degrees with in/out swapped, for the input gradient. */
  flipped: tf.Tensor4D;
  apply: (x: tf.Tensor4D) => tf.Tensor4D;
}

/** RGB in [0, 255] to Keras 'caffe' input: BGR minus the ImageNet mean. */
export function preprocess(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.reverse(rgb, -1), tf.tensor1d([...CAFFE_MEAN_BGR])));
}

/** Inverse of {@link preprocess}, clipped to [0, 255]. */
export function deprocess(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() =>
    tf.clipByValue(tf.reverse(tf.add(x, tf.tensor1d([...CAFFE_MEAN_BGR])), -1), 0, 255)
  );
}

/** Per-channel bounds of a valid preprocessed pixel: [-mean, 255 - mean] in BGR. */
export function pixelBounds(): { lo: tf.Tensor1D; hi: tf.Tensor1D } {
  return {
    lo: tf.tensor1d(CAFFE_MEAN_BGR.map((m) => -m)),
    hi: tf.tensor1d(CAFFE_MEAN_BGR.map((m) => 255 - m)),
  };
}

/**
 * The 2x2 pool between VGG19's blocks: `max` as trained, or `avg`, which Gatys
 * et al. found gives smoother gradients and slightly better images.
 *
 * @example
 * ```ts
 * import type { Pooling } from "./model.ts";
 * const p: Pooling = "avg";
 * ```
 */
export type Pooling = "max" | "avg";

/**
 * 2x2 'valid' average pool from reshapes and a mean, so every backend
 * differentiates it (tfjs-wasm has no AvgPoolGrad kernel); an odd last row or
 * column is dropped, as the max pool drops it.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { avgPool2x2 } from "./model.ts";
 * avgPool2x2(tf.ones([1, 3, 3, 1])).print(); // [[[[1]]]]
 * ```
 */
export function avgPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const h2 = Math.floor(h / 2), w2 = Math.floor(w / 2);
    const even = h2 * 2 === h && w2 * 2 === w
      ? x
      : tf.slice(x, [0, 0, 0, 0], [b, h2 * 2, w2 * 2, c]);
    return tf.mean(tf.reshape(even, [b, h2, 2, w2, 2, c]), [2, 4]) as tf.Tensor4D;
  });
}

/** VGG19 conv stack holding its weights as tensors; call {@link Vgg19.dispose} when done. */
export class Vgg19 {
  /**
   * The uploaded layers: the engine's internals, left out of the library's docs.
   *
   * @ignore
   */
  readonly layers: ConvLayer[];

  private constructor(layers: ConvLayer[], readonly pooling: Pooling = "max") {
    this.layers = layers;
  }

  /**
   * Upload `specs` (a network-order prefix) from loaded weights; `pooling`
   * (default `max`, the trained network's) is the pool between blocks.
   */
  static create(
    weights: VggWeights,
    specs: readonly ConvLayerSpec[],
    pooling: Pooling = "max",
  ): Vgg19 {
    const layers = specs.map((spec): ConvLayer => {
      const w = weights.layers.get(spec.name);
      if (!w) throw new Error(`weights for ${spec.name} were not loaded`);
      const kernel = tf.tensor4d(w.kernel, [3, 3, spec.cIn, spec.cOut]);
      const bias = tf.tensor1d(w.bias);
      const flipped = tf.tidy(() =>
        tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D
      );
      const apply = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
        const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
        const y = activeKernels().conv3x3Relu(x, kernel, bias);
        save([y]);
        return {
          value: y,
          gradFunc: (dy, saved) =>
            activeKernels().conv3x3ReluGradInput(
              dy as tf.Tensor4D,
              saved[0] as tf.Tensor4D,
              kernel,
              flipped,
            ),
        };
      }) as (x: tf.Tensor4D) => tf.Tensor4D;
      return { spec, kernel, bias, flipped, apply };
    });
    return new Vgg19(layers, pooling);
  }

  /** Names of the layers this model can compute. */
  get layerNames(): string[] {
    return this.layers.map((l) => l.spec.name);
  }

  /**
   * Activations (after ReLU) of the named layers for a preprocessed batch.
   * Stops after the deepest requested layer. Tensor-level API for the engine: not part of the
   * library's documented surface (`mod.ts`), whose callers pass images.
   *
   * @ignore
   */
  features(x: tf.Tensor4D, outputs: readonly string[]): Record<string, tf.Tensor4D> {
    const want = new Set(outputs);
    const result: Record<string, tf.Tensor4D> = {};
    let h = x;
    for (const layer of this.layers) {
      if (want.size === Object.keys(result).length) break;
      if (layer.spec.poolBefore) {
        h = this.pooling === "avg" ? avgPool2x2(h) : activeKernels().maxPool2x2(h);
      }
      h = layer.apply(h);
      if (want.has(layer.spec.name)) result[layer.spec.name] = h;
    }
    for (const name of want) {
      if (!result[name]) throw new Error(`layer ${name} is not in this model`);
    }
    return result;
  }

  /** Release every weight tensor. */
  dispose(): void {
    for (const l of this.layers) tf.dispose([l.kernel, l.bias, l.flipped]);
  }
}
