/**
 * The 3x3 convolution (+ bias + ReLU) and its input gradient. On hardware
 * GPUs both go through the tiled implicit GEMM of kernels/conv3x3_gemm.wgsl
 * (included by conv3x3_relu.wgsl and conv3x3_grad_input.wgsl), a gradient
 * into at most 4 channels through conv3x3_grad_input_narrow.wgsl; on CPU
 * adapters through the texture kernels of `conv_texture.ts`.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3Relu } from "./conv.ts";
 * const y = conv3x3Relu(tf.ones([1, 4, 4, 3]), tf.ones([3, 3, 3, 8]), tf.zeros([8]));
 * console.log(y.shape); // [1, 4, 4, 8]
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { type DispatchStep, fold, GpuContext } from "./device.ts";
import {
  checkShape,
  chunks,
  defineKernel,
  dispatch,
  type KernelDescriptor,
  range,
  textureRoute,
} from "./registry.ts";
import { convTexture, convTextureNarrow, narrowTextureFits, textureFits } from "./conv_texture.ts";

/** The uniforms of the conv GEMMs (the narrow gradient reads the same struct). */
const GEMM_PARAMS = {
  batch: "u32",
  height: "u32",
  width: "u32",
  c_in: "u32",
  c_out: "u32",
  m_total: "u32",
  k_total: "u32",
  m_tiles: "u32",
} as const;

/**
 * The GEMM core's tunables: WG_Y threads along pixels (TILE_M = 8 * WG_Y pixels per workgroup),
 * TILE_K values of K per barrier. The 8 x 8 register block and WG_X = 8 are fixed in the WGSL.
 */
export interface ConvGemmTiles {
  WG_Y: number;
  TILE_K: number;
}

/** The tiles the buffer route uses (64 x 64 pixels x channels, 16 of K per barrier). */
export const CONV_GEMM_TILES: ConvGemmTiles = { WG_Y: 8, TILE_K: 16 };

const gemm = (file: string, tiles: ConvGemmTiles): KernelDescriptor =>
  defineKernel({
    file,
    workgroupSize: [8, tiles.WG_Y, 1],
    overrides: { ...tiles },
    fixed: { WG_X: 8, THREAD_M: 8, THREAD_N: 8 },
    params: GEMM_PARAMS,
    validate: (o) =>
      o.TILE_K % 4 !== 0
        ? `TILE_K = ${o.TILE_K} is not a multiple of 4`
        : (o.TILE_K * 16) % (8 * o.WG_Y) !== 0
        ? `TILE_K * 16 = ${o.TILE_K * 16} B vec4s do not split over ${8 * o.WG_Y} threads`
        : null,
  });

/** The forward conv GEMM. */
export const CONV_FORWARD: KernelDescriptor = gemm("conv3x3_relu.wgsl", CONV_GEMM_TILES);
/** The input-gradient conv GEMM. */
export const CONV_GRAD: KernelDescriptor = gemm("conv3x3_grad_input.wgsl", CONV_GEMM_TILES);
/** kernels/conv3x3_grad_input_narrow.wgsl: one pixel per thread, MAX_C channels of dy per tap. */
export const CONV_GRAD_NARROW: KernelDescriptor = defineKernel({
  file: "conv3x3_grad_input_narrow.wgsl",
  workgroupSize: [64, 1, 1],
  overrides: { WG: 64, MAX_C: 512 },
  params: GEMM_PARAMS,
});

/** The conv GEMM both directions share: `gathered` [B,H,W,K/9] into [B,H,W,cOut]. */
function convGemm(
  kind: "forward" | "grad",
  gathered: tf.Tensor4D,
  second: tf.Tensor,
  weights: tf.Tensor4D,
  cOut: number,
): tf.Tensor4D {
  const gpu = GpuContext.sync();
  const [batch, h, w, cIn] = gathered.shape;
  if (textureRoute(gpu)) {
    if (kind === "grad" && cOut <= 4 && narrowTextureFits(gpu, gathered.shape)) {
      return convTextureNarrow(gpu, gathered, second, weights, cOut);
    }
    if (textureFits(gpu, gathered.shape, cOut)) {
      return convTexture(gpu, kind, gathered, second, weights, cOut);
    }
    // A forward pass from 1-3 channels (the image): pad them with zeros to 4 for the texture.
    const pad = (4 - cIn % 4) % 4;
    if (kind === "forward" && pad > 0 && textureFits(gpu, [batch, h, w, cIn + pad], cOut)) {
      const padded = tf.pad(gathered, [[0, 0], [0, 0], [0, 0], [0, pad]]) as tf.Tensor4D;
      try {
        return convTexture(gpu, kind, padded, second, weights, cOut, pad);
      } finally {
        padded.dispose();
      }
    }
  }
  const what = kind === "forward" ? "conv3x3" : "conv3x3 input gradient";
  const perIn = h * w * cIn * 4;
  const perOut = h * w * cOut * 4;
  const chunk = gpu.batchChunk(batch, [perIn, perOut], `${what} [${gathered.shape}]`);
  gpu.ensureFits(weights.size * 4, `${what} weights`);
  const out = gpu.output([batch, h, w, cOut]);
  const gBuf = gpu.bufferOf(gathered);
  const sBuf = gpu.bufferOf(second);
  const wBuf = gpu.bufferOf(weights);
  // A gradient into at most 4 channels (the image) would idle most of a 64-wide GEMM tile.
  const narrow = kind === "grad" && cOut <= 4 && cIn % 4 === 0 &&
    cIn <= CONV_GRAD_NARROW.overrides.MAX_C;
  const desc = kind === "forward" ? CONV_FORWARD : narrow ? CONV_GRAD_NARROW : CONV_GRAD;
  const tileM = CONV_FORWARD.workgroupSize[1] * CONV_FORWARD.fixed.THREAD_M;
  const tileN = CONV_FORWARD.fixed.WG_X * CONV_FORWARD.fixed.THREAD_N;
  const steps: DispatchStep[] = chunks(batch, chunk).map(([b0, nb]) => {
    const m = nb * h * w;
    const mTiles = Math.ceil(m / tileM);
    const [gy, gz] = fold(mTiles, gpu.maxWorkgroups);
    const gathers = range(gBuf, b0 * perIn, nb * perIn);
    // The forward pass binds bias second; the gradient binds y (same layout as dy) for the mask.
    const secondBinding = kind === "forward" ? sBuf : range(sBuf, b0 * perIn, nb * perIn);
    const bindings = kind === "forward"
      ? [gathers, wBuf, secondBinding, range(out.buffer, b0 * perOut, nb * perOut)]
      : [gathers, secondBinding, wBuf, range(out.buffer, b0 * perOut, nb * perOut)];
    return dispatch(
      gpu,
      desc,
      bindings,
      {
        batch: nb,
        height: h,
        width: w,
        c_in: cIn,
        c_out: cOut,
        m_total: m,
        k_total: 9 * cIn,
        m_tiles: mTiles,
      },
      narrow
        ? fold(Math.ceil(m / CONV_GRAD_NARROW.workgroupSize[0]), gpu.maxWorkgroups)
        : [Math.ceil(cOut / tileN), gy, gz],
    );
  });
  gpu.run(steps);
  return gpu.tensor<tf.Tensor4D>(out);
}

/**
 * relu(conv2d(x, kernel, 1, 'same') + bias) with kernels/conv3x3_relu.wgsl.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3Relu } from "./conv.ts";
 * const y = conv3x3Relu(tf.ones([1, 4, 4, 3]), tf.ones([3, 3, 3, 8]), tf.zeros([8]));
 * console.log(y.shape); // [1, 4, 4, 8]
 * ```
 */
export function conv3x3Relu(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const cIn = x.shape[3];
  const cOut = kernel.shape[3];
  checkShape("conv3x3 kernel", kernel.shape, [3, 3, cIn, cOut]);
  checkShape("conv3x3 bias", bias.shape, [cOut]);
  return convGemm("forward", x, bias, kernel, cOut);
}

/**
 * dL/dx of {@link conv3x3Relu} from dy and the forward output y (ReLU mask),
 * with kernels/conv3x3_grad_input.wgsl. `flipped` is `[3,3,cOut,cIn]`.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3ReluGradInput } from "./conv.ts";
 * const dx = conv3x3ReluGradInput(tf.ones([1, 4, 4, 8]), tf.ones([1, 4, 4, 8]), tf.ones([3, 3, 8, 3]));
 * console.log(dx.shape); // [1, 4, 4, 3]
 * ```
 */
export function conv3x3ReluGradInput(
  dy: tf.Tensor4D,
  y: tf.Tensor4D,
  flipped: tf.Tensor4D,
): tf.Tensor4D {
  const cOut = dy.shape[3];
  const cIn = flipped.shape[3];
  checkShape("conv3x3 grad y", y.shape, dy.shape);
  checkShape("conv3x3 grad flipped kernel", flipped.shape, [3, 3, cOut, cIn]);
  return convGemm("grad", dy, y, flipped, cIn);
}

/** Every kernel this module dispatches (compiled by `initCustomKernels`). */
export const CONV_KERNELS: readonly KernelDescriptor[] = [
  CONV_FORWARD,
  CONV_GRAD,
  CONV_GRAD_NARROW,
];
