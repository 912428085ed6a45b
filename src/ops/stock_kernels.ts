/**
 * The `stock` kernel set: the seam's operations built from tfjs ops, so they
 * run on every backend. It is the reference the WGSL kernels are tested
 * against and the fallback for shapes they do not cover.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { STOCK_KERNELS } from "./stock_kernels.ts";
 * STOCK_KERNELS.gram(tf.ones([1, 4, 2])).print(); // all 4
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import type { KernelSet } from "./kernel_set.ts";

/**
 * The input gradient of a 3x3 stride-1 'same' conv is a forward conv of dy
 * with the flipped, in/out-transposed kernel. tfjs-wasm's Conv2DBackpropInput
 * is about 10x slower than its forward conv, so on wasm this route is used;
 * elsewhere tfjs's own Conv2DBackpropInput kernel is.
 */
function gradInputStock(
  dy: tf.Tensor4D,
  y: tf.Tensor4D,
  kernel: tf.Tensor4D,
  flipped: tf.Tensor4D,
): tf.Tensor4D {
  return tf.tidy(() => {
    const masked = tf.mul(dy, tf.step(y)) as tf.Tensor4D;
    if (tf.getBackend() === "wasm") return tf.conv2d(masked, flipped, 1, "same");
    const [b, h, w] = y.shape;
    // conv2dTranspose is tfjs's public entry to its Conv2DBackpropInput kernel.
    return tf.conv2dTranspose(masked, kernel, [b, h, w, kernel.shape[2]], 1, "same");
  });
}

/** Gram matrices with tfjs's batched matMul. */
function gramStock(f: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(f, f, true, false);
}

/** Kernels made of tfjs's own ops: the reference and the fallback. */
export const STOCK_KERNELS: KernelSet = {
  name: "stock",
  conv3x3Relu: (x, kernel, bias) =>
    tf.fused.conv2d({ x, filter: kernel, strides: 1, pad: "same", bias, activation: "relu" }),
  conv3x3ReluGradInput: gradInputStock,
  maxPool2x2: (x) => tf.maxPool(x, 2, 2, "valid"),
  gram: gramStock,
  styleLoss(f, target) {
    return tf.tidy(() => {
      const [, m, n] = f.shape;
      const diff = tf.sub(gramStock(f), target);
      const loss = tf.div(tf.sum(tf.square(diff), [1, 2]), 4 * n * n * m * m) as tf.Tensor1D;
      const grad = tf.div(tf.matMul(f, diff), n * n * m * m) as tf.Tensor3D;
      return { loss, grad };
    });
  },
  adamUpdate(x, g, state, c, lo, hi) {
    return tf.tidy(() => {
      const t = state.t + 1;
      const m = tf.add(tf.mul(state.m, c.beta1), tf.mul(g, 1 - c.beta1)) as tf.Tensor4D;
      const v = tf.add(tf.mul(state.v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2)) as tf.Tensor4D;
      const lr = c.learningRate * Math.sqrt(1 - Math.pow(c.beta2, t)) / (1 - Math.pow(c.beta1, t));
      const step = tf.div(tf.mul(m, lr), tf.add(tf.sqrt(v), c.epsilon));
      const next = tf.minimum(tf.maximum(tf.sub(x, step), lo), hi) as tf.Tensor4D;
      return { x: next, m, v };
    });
  },
};
