/**
 * The kernel seam. The hot operations of a Gatys step (3x3 conv + ReLU, its
 * input gradient, the Gram matrix, the style loss with its gradient, the Adam
 * update) go through the active {@link KernelSet}. `stock` is built from
 * tfjs ops and runs on every backend; `src/gpu/` provides `custom`, made of
 * hand-written WGSL kernels for the webgpu backend. Callers never branch on
 * which set is active, exactly like tfjs's per-backend kernel registry.
 *
 * @example
 * ```ts
 * import { activeKernels, useKernels, STOCK_KERNELS } from "./ops.ts";
 * useKernels(STOCK_KERNELS);
 * console.log(activeKernels().name); // "stock"
 * ```
 * @module
 */
import { tf } from "./tf.ts";
import { UserError } from "./util/errors.ts";

/** Adam hyper-parameters (TensorFlow's formulation, epsilon outside the bias correction). */
export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
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
  readonly name: "stock" | "custom";
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

let active: KernelSet = STOCK_KERNELS;

/** Make `set` the kernel set every later op call uses. */
export function useKernels(set: KernelSet): void {
  active = set;
}

/** The kernel set in use. */
export function activeKernels(): KernelSet {
  return active;
}

/** Values `--kernels` accepts. */
export const KERNEL_CHOICES: readonly string[] = ["auto", "custom", "stock"];

/**
 * Activate the kernel set named by `--kernels` for `backend` and return its
 * name. `custom` (the WGSL kernels) needs the webgpu backend; `auto` picks
 * custom on webgpu, where `deno task bench` measures it faster than tfjs's
 * own kernels, and stock everywhere else.
 */
export async function selectKernelsByName(
  name: string,
  backend: string,
): Promise<"stock" | "custom"> {
  if (!KERNEL_CHOICES.includes(name)) {
    throw new UserError(
      `--kernels: unknown kernel set '${name}' (known: ${KERNEL_CHOICES.join(", ")})`,
    );
  }
  if (name === "custom" || (name === "auto" && backend === "webgpu")) {
    // Loaded on demand: the WGSL side imports this module, and wasm/cpu runs never need it.
    const { selectKernels } = await import("./gpu/kernels.ts");
    useKernels(await selectKernels("custom", backend));
    return "custom";
  }
  useKernels(STOCK_KERNELS);
  return "stock";
}
