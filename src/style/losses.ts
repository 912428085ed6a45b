/**
 * The losses of Gatys et al. as the research plan defines them, per image of
 * a batch (each image of a batch keeps its own loss):
 *
 * - content: mean squared error between the content layer's features of x and
 *   of the content image;
 * - style: L_style = sum_l w_l E_l with E_l = 1/(4 N_l^2 M_l^2) sum_ij (G_ij - A_ij)^2,
 *   G = F^T F of x's features (N_l channels, M_l = height*width), w_l = 1/|L|;
 * - total: alpha * L_content + beta * L_style.
 *
 * The style loss carries its closed-form gradient dE/dF = F (G - A) / (N^2 M^2)
 * through the active kernel set, so a fused kernel can compute both at once.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { contentLoss, gram } from "./losses.ts";
 * const f = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
 * contentLoss(f, tf.zeros([1, 2, 2, 3])).print(); // [1]
 * gram(f).print(); // [[[4,4,4],[4,4,4],[4,4,4]]]
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { activeKernels } from "../ops/active.ts";

/** Features `[B, H, W, N]` viewed as `[B, M = H*W, N]`. */
function flatten(f: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, n] = f.shape;
  return tf.reshape(f, [b, h * w, n]);
}

/** Unnormalised Gram matrices `[B, N, N]` of features `[B, H, W, N]`. */
export function gram(f: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => activeKernels().gram(flatten(f)));
}

/** Per-image content loss `[B]`: mean of (F - P)^2; `target` may have batch 1 (broadcast) or B. */
export function contentLoss(f: tf.Tensor4D, target: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.squaredDifference(f, target), [1, 2, 3]) as tf.Tensor1D);
}

/** Per-image E_l `[B]` of one layer against the target Gram `[N, N]`, differentiable in f. */
export function styleLayerLoss(f: tf.Tensor4D, target: tf.Tensor2D): tf.Tensor1D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const { loss, grad } = activeKernels().styleLoss(flatten(x), target);
    save([grad]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.reshape(tf.mul(saved[0], tf.reshape(dy, [-1, 1, 1])), x.shape),
    };
  });
  return op(f) as tf.Tensor1D;
}

/**
 * Per-image total variation `[B]` of `x` `[B, H, W, C]`, the TensorFlow
 * tutorial's form (`tf.image.total_variation`): the sum of absolute
 * differences between vertical and between horizontal neighbours, over every
 * channel. On pixels in [0, 255] (ours) it is 255 times its value on [0, 1]
 * (the tutorial's), so the tutorial's weight 30 is 30/255 here.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { tvLoss } from "./losses.ts";
 * tvLoss(tf.tensor4d([0, 1, 3, 7], [1, 2, 2, 1])).print(); // [|3-0|+|7-1| + |1-0|+|7-3|] = [14]
 * ```
 */
export function tvLoss(x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const dh = tf.sub(
      tf.slice(x, [0, 1, 0, 0], [b, h - 1, w, c]),
      tf.slice(x, 0, [b, h - 1, w, c]),
    );
    const dw = tf.sub(
      tf.slice(x, [0, 0, 1, 0], [b, h, w - 1, c]),
      tf.slice(x, 0, [b, h, w - 1, c]),
    );
    return tf.add(tf.sum(tf.abs(dh), [1, 2, 3]), tf.sum(tf.abs(dw), [1, 2, 3])) as tf.Tensor1D;
  });
}
