/**
 * The seam's types: what a kernel set implements ({@link KernelSet}) and the
 * Adam state it updates. Nothing here depends on a backend or on another
 * module of the project, so the stock set (`stock_kernels.ts`), the custom WGSL
 * set (`gpu/kernels.ts`) and the selection (`active.ts`) all import it without a cycle.
 *
 * @example
 * ```ts
 * import type { KernelSet } from "./kernel_set.ts";
 * const describe = (set: KernelSet) => `kernels: ${set.name}`;
 * ```
 * @module
 */
import type { tf } from "../tf.ts";

/** The kernel sets there are (`auto` is a choice among them, not a set). */
export type KernelSetName = "stock" | "custom";

/** Adam hyper-parameters (TensorFlow's formulation, epsilon outside the bias correction). */
export interface AdamConfig {
  /** Step size. */
  learningRate: number;
  /** Decay of the first-moment average. */
  beta1: number;
  /** Decay of the second-moment average. */
  beta2: number;
  /** Added to the root of the second moment (outside the bias correction). */
  epsilon: number;
}

/** Adam state of one optimised tensor. */
export interface AdamState {
  m: tf.Tensor4D;
  v: tf.Tensor4D;
  /** Steps taken so far. */
  t: number;
}

/** The operations a kernel set implements. All shapes are NHWC, float32. */
export interface KernelSet {
  readonly name: KernelSetName;
  /** How the set was chosen, where that differs from its name (`auto`: measured per shape). */
  readonly label?: string;
  /**
   * Measure the op shapes calls have met without a measured choice (the `auto` set; others
   * have nothing to measure). The engine awaits it after each step; cheap when nothing is new.
   */
  tunePending?(): Promise<void>;
  /** relu(conv2d(x, kernel, stride 1, 'same') + bias). kernel `[3,3,cIn,cOut]`. */
  conv3x3Relu(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D;
  /**
   * d(loss)/dx of {@link conv3x3Relu} given dy and its output y (for the ReLU
   * mask). `flipped` is the kernel rotated 180 degrees with in/out swapped,
   * `[3,3,cOut,cIn]`, precomputed once per layer.
   */
  conv3x3ReluGradInput(
    dy: tf.Tensor4D,
    y: tf.Tensor4D,
    kernel: tf.Tensor4D,
    flipped: tf.Tensor4D,
  ): tf.Tensor4D;
  /** 2x2 stride-2 max pool ('valid'); its gradient is tfjs's registered MaxPoolGrad. */
  maxPool2x2(x: tf.Tensor4D): tf.Tensor4D;
  /** Batched Gram matrices: f `[B, M, N]` to `[B, N, N]` = f^T f per image. */
  gram(f: tf.Tensor3D): tf.Tensor3D;
  /**
   * Style loss of one layer per image and its gradient:
   * E = sum((G - A)^2) / (4 N^2 M^2), dE/dF = F (G - A) / (N^2 M^2),
   * with G = F^T F; f `[B, M, N]`, target `[N, N]`. Returns E `[B]` and dE/dF.
   */
  styleLoss(f: tf.Tensor3D, target: tf.Tensor2D): { loss: tf.Tensor1D; grad: tf.Tensor3D };
  /**
   * One Adam step on x with gradient g, then x clipped per channel to [lo, hi]
   * (`[3]` each). Returns new tensors; the caller disposes the old ones.
   */
  adamUpdate(
    x: tf.Tensor4D,
    g: tf.Tensor4D,
    state: AdamState,
    config: AdamConfig,
    lo: tf.Tensor1D,
    hi: tf.Tensor1D,
  ): { x: tf.Tensor4D; m: tf.Tensor4D; v: tf.Tensor4D };
}
