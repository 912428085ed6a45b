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
  compileKernels,
  defineKernel,
  dispatch,
  type GemmTiles,
  type KernelDescriptor,
  range,
  textureRoute,
  variantTiles,
  withoutRelu,
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

/** The GEMM core's tunables (see {@link GemmTiles}); kept under this name for callers. */
export type ConvGemmTiles = GemmTiles;

/** The tiles the buffer route uses by default (64 x 64 pixels x channels, 16 of K per barrier). */
export const CONV_GEMM_TILES: ConvGemmTiles = Object.freeze({ WG_Y: 8, TILE_K: 16 });

const gemm = (file: string, tiles: ConvGemmTiles): KernelDescriptor =>
  defineKernel({
    file,
    workgroupSize: [8, tiles.WG_Y, 1],
    overrides: { WG_Y: tiles.WG_Y, TILE_K: tiles.TILE_K },
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

const tileKey = (t: ConvGemmTiles) => `${t.WG_Y}x${t.TILE_K}`;
const gemmVariants = new Map<string, { forward: KernelDescriptor; grad: KernelDescriptor }>([
  [tileKey(CONV_GEMM_TILES), { forward: CONV_FORWARD, grad: CONV_GRAD }],
]);

/**
 * The forward and gradient GEMM descriptors of `tiles` (one pair per tile configuration, made
 * once; compile them with {@link compileConvTiles} before a call uses them).
 *
 * @example
 * ```ts
 * import { convGemmKernels } from "./conv.ts";
 * console.log(convGemmKernels({ WG_Y: 4, TILE_K: 32 }).forward.workgroupSize); // [8, 4, 1]
 * ```
 */
export function convGemmKernels(
  tiles: ConvGemmTiles,
): { forward: KernelDescriptor; grad: KernelDescriptor } {
  const key = tileKey(tiles);
  let pair = gemmVariants.get(key);
  if (!pair) {
    pair = {
      forward: gemm("conv3x3_relu.wgsl", tiles),
      grad: gemm("conv3x3_grad_input.wgsl", tiles),
    };
    gemmVariants.set(key, pair);
  }
  return pair;
}

/**
 * Compile the conv GEMMs of `tiles` for `gpu` (checked against the WGSL like every kernel), with
 * their variants without ReLU (the registered tfjs kernels take those for plain convs).
 */
export async function compileConvTiles(gpu: GpuContext, tiles: ConvGemmTiles): Promise<void> {
  const { forward, grad } = convGemmKernels(tiles);
  await compileKernels(gpu, [forward, grad, withoutRelu(forward), withoutRelu(grad)]);
}

/** Bytes of workgroup memory the GEMM of `tiles` declares (its A and B tiles). */
export function convTileBytes(t: ConvGemmTiles): number {
  return t.TILE_K * (8 * t.WG_Y / 4) * 16 + t.TILE_K * 16 * 16;
}

/**
 * The GEMM tile configurations worth timing on `gpu`: WG_Y in 4, 8, 16 and TILE_K in 8, 16,
 * 32, less those the descriptor rejects or the device's workgroup limits (storage bytes,
 * invocations) do not allow. The default ({@link CONV_GEMM_TILES}) comes first.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { convTileCandidates } from "./conv.ts";
 * console.log(convTileCandidates(GpuContext.sync()).length);
 * ```
 */
export function convTileCandidates(gpu: GpuContext): ConvGemmTiles[] {
  const limits = gpu.device.limits;
  const out: ConvGemmTiles[] = [CONV_GEMM_TILES];
  for (const WG_Y of [4, 8, 16]) {
    for (const TILE_K of [8, 16, 32]) {
      const t = { WG_Y, TILE_K };
      if (tileKey(t) === tileKey(CONV_GEMM_TILES)) continue;
      if (convTileBytes(t) > limits.maxComputeWorkgroupStorageSize) continue;
      if (8 * WG_Y > limits.maxComputeInvocationsPerWorkgroup) continue;
      if (CONV_FORWARD.validate?.({ WG_Y, TILE_K })) continue;
      out.push(t);
    }
  }
  return out;
}

/** kernels/conv3x3_grad_input_narrow.wgsl: one pixel per thread, MAX_C channels of dy per tap. */
export const CONV_GRAD_NARROW: KernelDescriptor = defineKernel({
  file: "conv3x3_grad_input_narrow.wgsl",
  workgroupSize: [64, 1, 1],
  overrides: { WG: 64, MAX_C: 512 },
  params: GEMM_PARAMS,
});

/**
 * Which kernels a conv of `gathered` [B,H,W,C] into `cOut` channels can take on `gpu`: whether
 * a texture kernel covers it (the narrow gradient, the full one, or the forward pass with its
 * channels zero-padded to 4) and whether the buffer route's gradient is the narrow kernel. The
 * one statement of these conditions: the dispatch below and the tuner's candidates use it.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { convCoverage } from "./conv.ts";
 * console.log(convCoverage(GpuContext.sync(), "grad", [1, 64, 64, 64], 3)); // { texture: ..., narrow: true }
 * ```
 */
export function convCoverage(
  gpu: GpuContext,
  kind: "forward" | "grad",
  gathered: readonly number[],
  cOut: number,
): { texture: "narrow" | "full" | "padded" | null; narrow: boolean } {
  const [batch, h, w, cIn] = gathered;
  const pad = (4 - cIn % 4) % 4;
  const texture = kind === "grad" && cOut <= 4 && narrowTextureFits(gpu, gathered)
    ? "narrow"
    : textureFits(gpu, gathered, cOut)
    ? "full"
    : kind === "forward" && pad > 0 && textureFits(gpu, [batch, h, w, cIn + pad], cOut)
    ? "padded"
    : null;
  // A gradient into at most 4 channels (the image) would idle most of a 64-wide GEMM tile.
  const narrow = kind === "grad" && cOut <= 4 && cIn % 4 === 0 &&
    cIn <= CONV_GRAD_NARROW.overrides.MAX_C;
  return { texture, narrow };
}

/**
 * The conv GEMM both directions share: `gathered` [B,H,W,K/9] into [B,H,W,cOut]; `relu` false
 * drops the ReLU (forward) or its mask (gradient: `second` is then only bound, never read).
 */
function convGemm(
  kind: "forward" | "grad",
  gathered: tf.Tensor4D,
  second: tf.Tensor,
  weights: tf.Tensor4D,
  cOut: number,
  relu = true,
): tf.Tensor4D {
  const gpu = GpuContext.sync();
  const [batch, h, w, cIn] = gathered.shape;
  const { texture, narrow } = convCoverage(gpu, kind, gathered.shape, cOut);
  if (textureRoute(gpu) && texture !== null) {
    if (texture === "narrow") {
      return convTextureNarrow(gpu, gathered, second, weights, cOut, relu);
    }
    if (texture === "full") {
      return convTexture(gpu, kind, gathered, second, weights, cOut, 0, relu);
    }
    // A forward pass from 1-3 channels (the image): pad them with zeros to 4 for the texture.
    const pad = (4 - cIn % 4) % 4;
    const padded = tf.pad(gathered, [[0, 0], [0, 0], [0, 0], [0, pad]]) as tf.Tensor4D;
    try {
      return convTexture(gpu, kind, padded, second, weights, cOut, pad, relu);
    } finally {
      padded.dispose();
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
  // The narrow kernel has no tiles to choose; its m_tiles uniform is in default GEMM tiles.
  const tiled = convGemmKernels(narrow ? CONV_GEMM_TILES : variantTiles() ?? CONV_GEMM_TILES);
  const fused = kind === "forward" ? tiled.forward : narrow ? CONV_GRAD_NARROW : tiled.grad;
  const desc = relu ? fused : withoutRelu(fused);
  const tileM = tiled.forward.workgroupSize[1] * tiled.forward.fixed.THREAD_M;
  const tileN = tiled.forward.fixed.WG_X * tiled.forward.fixed.THREAD_N;
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
  return conv3x3(x, kernel, bias, true);
}

/**
 * conv2d(x, kernel, 1, 'same') + bias, then ReLU when `relu`: {@link conv3x3Relu}, or the same
 * kernel without its ReLU (what tfjs's Conv2D means, `register.ts`).
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3 } from "./conv.ts";
 * const y = conv3x3(tf.ones([1, 4, 4, 3]), tf.neg(tf.ones([3, 3, 3, 8])), tf.zeros([8]), false);
 * console.log(y.max().dataSync()[0]); // -12 (a corner: 4 taps of 3 channels)
 * ```
 */
export function conv3x3(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D,
  relu: boolean,
): tf.Tensor4D {
  const cIn = x.shape[3];
  const cOut = kernel.shape[3];
  checkShape("conv3x3 kernel", kernel.shape, [3, 3, cIn, cOut]);
  checkShape("conv3x3 bias", bias.shape, [cOut]);
  return convGemm("forward", x, bias, kernel, cOut, relu);
}

/**
 * The input gradient of a plain 3x3 stride-1 'same' conv (no ReLU mask): a conv of dy with
 * `flipped` `[3,3,cOut,cIn]` (what tfjs's Conv2DBackpropInput computes, `register.ts`).
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3GradInput } from "./conv.ts";
 * const dx = conv3x3GradInput(tf.neg(tf.ones([1, 4, 4, 8])), tf.ones([3, 3, 8, 3]));
 * console.log(dx.shape); // [1, 4, 4, 3]
 * ```
 */
export function conv3x3GradInput(dy: tf.Tensor4D, flipped: tf.Tensor4D): tf.Tensor4D {
  const cOut = dy.shape[3];
  const cIn = flipped.shape[3];
  checkShape("conv3x3 grad flipped kernel", flipped.shape, [3, 3, cOut, cIn]);
  // No mask: dy is bound in y's place and never read as such.
  return convGemm("grad", dy, dy, flipped, cIn, false);
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

/** The same kernels without ReLU (the registered tfjs kernels' plain convs). */
export const CONV_KERNELS_WITHOUT_RELU: readonly KernelDescriptor[] = CONV_KERNELS.map(
  withoutRelu,
);
