/**
 * The texture route of the 3x3 convolutions, taken on CPU adapters
 * (llvmpipe, SwiftShader): kernels/conv3x3_tex.wgsl (both directions, split-K
 * for small gradient GEMMs) and kernels/conv3x3_tex_narrow.wgsl (the input
 * gradient into at most 4 channels). Activations are copied into pooled
 * rgba32f textures; weights into one texture per weight tensor, made once.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { textureFits } from "./conv_texture.ts";
 * console.log(textureFits(GpuContext.sync(), [1, 16, 16, 64], 64)); // true
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { type DispatchStep, fold, type GpuContext, type TextureCopyStep } from "./device.ts";
import {
  defineKernel,
  dispatch,
  type KernelDescriptor,
  SUM_SLICES,
  withoutRelu,
} from "./registry.ts";

/** Threads per workgroup of the texture convs. */
const TEX_WG = 64;
const TEX_PARAMS = {
  height: "u32",
  width: "u32",
  c: "u32",
  n: "u32",
  m_total: "u32",
  n_blocks: "u32",
  blocks: "u32",
  splits: "u32",
  threads: "u32",
} as const;
/** kernels/conv3x3_tex.wgsl: R = 16 output pixels by 4 * C4 = 16 channels per thread. */
const texConv = (grad: boolean): KernelDescriptor =>
  defineKernel({
    name: `conv3x3_tex.wgsl ${grad ? "gradient" : "forward"}`,
    file: "conv3x3_tex.wgsl",
    workgroupSize: [TEX_WG, 1, 1],
    overrides: { WG: TEX_WG, GRAD: grad ? 1 : 0 },
    fixed: { R: 16, C4: 4 },
    params: TEX_PARAMS,
  });
/** The forward texture conv (bias + ReLU). */
export const CONV_TEX: KernelDescriptor = texConv(false);
/** The input-gradient texture conv (ReLU mask), with split-K. */
export const CONV_TEX_GRAD: KernelDescriptor = texConv(true);
/** kernels/conv3x3_tex_narrow.wgsl: the gradient into <= 4 channels, R = 16 pixels per thread. */
export const CONV_TEX_NARROW: KernelDescriptor = defineKernel({
  file: "conv3x3_tex_narrow.wgsl",
  workgroupSize: [TEX_WG, 1, 1],
  overrides: { WG: TEX_WG },
  fixed: { R: 16 },
  params: { height: "u32", width: "u32", c: "u32", n: "u32", m_total: "u32", threads: "u32" },
});

/** Fewer conv3x3_tex.wgsl gradient threads than this and K is split over slices (split-K). */
const TEX_MIN_THREADS = 512;
/** Input channel groups (vec4s) each split-K slice keeps at least, per tap. */
const TEX_MIN_SLICE_C4 = 4;

/** Weight textures ([K, N] as N/4 x K texels), made once per weight tensor. */
const weightTextures = new WeakMap<object, { device: GPUDevice; texture: GPUTexture }>();

/**
 * Destroy the weight textures made for `tensors` now, before the tensors are disposed, instead
 * of when the garbage collector drops their entries (the tuner makes many short-lived weights).
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { releaseWeightTextures } from "./conv_texture.ts";
 * const k = tf.ones([3, 3, 4, 64]);
 * releaseWeightTextures([k]);
 * k.dispose();
 * ```
 */
export function releaseWeightTextures(tensors: readonly tf.Tensor[]): void {
  for (const t of tensors) {
    const hit = weightTextures.get(t.dataId);
    if (!hit) continue;
    hit.texture.destroy();
    weightTextures.delete(t.dataId);
  }
}

/** Whether conv3x3_tex.wgsl covers this shape (texture sizes and copy row alignment). */
export function textureFits(gpu: GpuContext, shape: readonly number[], cOut: number): boolean {
  const [batch, h, w, c] = shape;
  const side = gpu.maxTextureSide;
  return c % 4 === 0 && (w * c * 4) % 256 === 0 && w * c / 4 <= side && batch * h <= side &&
    batch * h * w > 0 && (cOut * 4) % 256 === 0 && cOut / 4 <= side && 9 * c <= side &&
    // The output is one storage binding; bigger batches take the buffer route, which splits them.
    batch * h * w * cOut * 4 <= gpu.bindingLimit;
}

/** Whether conv3x3_tex_narrow.wgsl covers this shape of dy (texture sizes, row alignment). */
export function narrowTextureFits(gpu: GpuContext, shape: readonly number[]): boolean {
  const [batch, h, w, c] = shape;
  const side = gpu.maxTextureSide;
  return c % 16 === 0 && c > 0 && w * c / 4 <= side && batch * h <= side && batch * h * w > 0 &&
    c <= side;
}

/**
 * A weight texture of `width` x `rows` texels, made once per weight tensor from the
 * (possibly zero-padded) tensor `source()` gives, of `width * 16` bytes per row.
 */
function weightTexture(
  gpu: GpuContext,
  weights: tf.Tensor4D,
  width: number,
  rows: number,
  source: () => tf.Tensor = () => weights,
): GPUTexture {
  const hit = weightTextures.get(weights.dataId);
  if (
    hit && hit.device === gpu.device && hit.texture.width === width &&
    hit.texture.height === rows
  ) return hit.texture;
  const texture = gpu.device.createTexture({
    label: `conv weights [${weights.shape}]`,
    size: [width, rows],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
  const src = source();
  try {
    gpu.run([{
      toTexture: {
        src: gpu.bufferOf(src),
        offset: 0,
        bytesPerRow: width * 16,
        rows,
        texture,
        width,
      },
    }]);
  } finally {
    if (src !== weights) src.dispose();
  }
  weightTextures.set(weights.dataId, { device: gpu.device, texture });
  return texture;
}

/** The conv GEMM through kernels/conv3x3_tex.wgsl (CPU adapters). */
export function convTexture(
  gpu: GpuContext,
  kind: "forward" | "grad",
  gathered: tf.Tensor4D,
  second: tf.Tensor,
  weights: tf.Tensor4D,
  cOut: number,
  padIn = 0,
  relu = true,
): tf.Tensor4D {
  const [batch, h, w, c] = gathered.shape;
  const texW = (w * c) / 4;
  const rows = batch * h;
  const m = batch * h * w;
  // The textures are no storage bindings, but the output is one (and not split over the batch).
  const what = kind === "forward" ? "conv3x3" : "conv3x3 input gradient";
  gpu.ensureFits(m * cOut * 4, `${what} [${gathered.shape}] output`);
  // `padIn` zero channels were appended to `gathered`: the weights get as many zero rows per tap.
  const wt = weightTexture(
    gpu,
    weights,
    cOut / 4,
    9 * c,
    padIn === 0 ? undefined : () => tf.pad(weights, [[0, 0], [0, 0], [0, padIn], [0, 0]]),
  );
  const out = gpu.output([batch, h, w, cOut]);
  const src = gpu.poolTexture("conv-src", texW, rows);
  const steps: Array<DispatchStep | TextureCopyStep> = [{
    toTexture: {
      src: gpu.bufferOf(gathered),
      offset: 0,
      bytesPerRow: w * c * 4,
      rows,
      texture: src,
      width: texW,
    },
  }];
  let live = src;
  const scratch: GPUBuffer[] = [];
  let bias: GPUBuffer;
  if (kind === "grad") {
    live = gpu.poolTexture("conv-live", texW, rows);
    steps.push({
      toTexture: {
        src: gpu.bufferOf(second),
        offset: 0,
        bytesPerRow: w * c * 4,
        rows,
        texture: live,
        width: texW,
      },
    });
    bias = gpu.scratch(16);
    scratch.push(bias);
  } else bias = gpu.bufferOf(second);
  const fused = kind === "forward" ? CONV_TEX : CONV_TEX_GRAD;
  // Without ReLU: no ReLU (forward) or no mask (gradient; `second` is copied but never read).
  const desc = relu ? fused : withoutRelu(fused);
  const nBlocks = cOut / (4 * desc.fixed.C4);
  const blocks = Math.ceil(m / desc.fixed.R) * nBlocks;
  // Few blocks (small images deep in the net) would leave cores idle: split K over slices, each
  // summing a range of input channels into its own partial output, then add them (gradient only:
  // the forward pass applies bias and ReLU to the full sum).
  const splits = kind === "grad" && blocks < TEX_MIN_THREADS
    ? Math.max(
      1,
      Math.min(Math.ceil(TEX_MIN_THREADS / blocks), Math.floor(c / 4 / TEX_MIN_SLICE_C4)),
    )
    : 1;
  const threads = blocks * splits;
  let target = out.buffer;
  if (splits > 1) {
    gpu.ensureFits(splits * m * cOut * 4, `${what} [${gathered.shape}] split-K partial sums`);
    target = gpu.scratch(splits * m * cOut * 4);
    scratch.push(target);
  }
  steps.push(dispatch(
    gpu,
    desc,
    [src.createView(), live.createView(), wt.createView(), bias, target],
    { height: h, width: w, c, n: cOut, m_total: m, n_blocks: nBlocks, blocks, splits, threads },
    fold(Math.ceil(threads / TEX_WG), gpu.maxWorkgroups),
  ));
  if (splits > 1) {
    const total4 = m * cOut / 4;
    steps.push(dispatch(
      gpu,
      SUM_SLICES,
      [target, out.buffer],
      { len4: total4, slices: splits, total4, scale: 1 },
      fold(Math.ceil(total4 / SUM_SLICES.workgroupSize[0]), gpu.maxWorkgroups),
    ));
  }
  gpu.run(steps, scratch);
  return gpu.tensor<tf.Tensor4D>(out);
}

/** The input gradient into <= 4 channels through kernels/conv3x3_tex_narrow.wgsl (CPU adapters). */
export function convTextureNarrow(
  gpu: GpuContext,
  dy: tf.Tensor4D,
  y: tf.Tensor,
  flipped: tf.Tensor4D,
  cOut: number,
  relu = true,
): tf.Tensor4D {
  const [batch, h, w, c] = dy.shape;
  const texW = (w * c) / 4;
  const rows = batch * h;
  const m = batch * h * w;
  gpu.ensureFits(m * cOut * 4, `conv3x3 input gradient [${dy.shape}] output`);
  // flipped [3,3,c,cOut] with cOut zero-padded to 4: c texels by 9 rows.
  const wt = weightTexture(
    gpu,
    flipped,
    c,
    9,
    () => tf.pad(flipped, [[0, 0], [0, 0], [0, 0], [0, 4 - cOut]]),
  );
  const out = gpu.output([batch, h, w, cOut]);
  const src = gpu.poolTexture("conv-src", texW, rows);
  const live = gpu.poolTexture("conv-live", texW, rows);
  const copy = (t: tf.Tensor, texture: GPUTexture): TextureCopyStep => ({
    toTexture: {
      src: gpu.bufferOf(t),
      offset: 0,
      bytesPerRow: w * c * 4,
      rows,
      texture,
      width: texW,
    },
  });
  const threads = Math.ceil(m / CONV_TEX_NARROW.fixed.R);
  gpu.run([
    copy(dy, src),
    copy(y, live),
    dispatch(
      gpu,
      relu ? CONV_TEX_NARROW : withoutRelu(CONV_TEX_NARROW),
      [src.createView(), live.createView(), wt.createView(), out.buffer],
      { height: h, width: w, c, n: cOut, m_total: m, threads },
      fold(Math.ceil(threads / TEX_WG), gpu.maxWorkgroups),
    ),
  ]);
  return gpu.tensor<tf.Tensor4D>(out);
}
