/**
 * Batched Gram matrices `scale * f^T f` with kernels/gram.wgsl (hardware
 * GPUs) or kernels/gram_tex.wgsl (CPU adapters), split over M when a shape
 * leaves too few workgroups (kernels/sum_slices.wgsl adds the slices). The
 * step builders are shared with the fused style loss (`style_loss.ts`).
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { gramGpu } from "./gram.ts";
 * gramGpu(tf.ones([1, 10, 4]), 0.1).print(); // all 1
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { STOCK_KERNELS } from "../ops/stock_kernels.ts";
import {
  type Binding,
  type DispatchStep,
  fold,
  GpuContext,
  type TextureCopyStep,
} from "./device.ts";
import {
  chunks,
  defineKernel,
  dispatch,
  type KernelDescriptor,
  range,
  SUM_SLICES,
  textureRoute,
} from "./registry.ts";

/** kernels/gram.wgsl: 64 x 64 blocks of G (8 x 8 threads of 8 x 8 registers), TILE_K rows a step. */
export const GRAM: KernelDescriptor = defineKernel({
  file: "gram.wgsl",
  workgroupSize: [8, 8, 1],
  overrides: { TILE_K: 16 },
  fixed: { WG: 8, THREAD_M: 8, THREAD_N: 8 }, // THREAD_*: gemm_core.wgsl's register block
  params: {
    m: "u32",
    n: "u32",
    n4: "u32",
    blocks: "u32",
    splits: "u32",
    rows_per_split: "u32",
    scale: "f32",
  },
  validate: (o) =>
    (o.TILE_K * 16) % 64 === 0 ? null : `TILE_K = ${o.TILE_K}: 16 * TILE_K % 64 != 0`,
});
/** kernels/gram_tex.wgsl: one thread per 16 x 16 block of G (B4 = 4 vec4s a side). */
export const GRAM_TEX: KernelDescriptor = defineKernel({
  file: "gram_tex.wgsl",
  workgroupSize: [64, 1, 1],
  overrides: { WG: 64 },
  fixed: { B4: 4 },
  params: {
    m: "u32",
    n4: "u32",
    blocks: "u32",
    blocks_up: "u32",
    threads: "u32",
    p: "u32",
    splits: "u32",
    rows_per_split: "u32",
    scale: "f32",
  },
});

/** Edge of a G block of gram.wgsl: WG threads of THREAD_M x THREAD_N registers a side. */
const GRAM_TILE = GRAM.fixed.WG * GRAM.fixed.THREAD_M;
/** Enough workgroups to fill a large GPU; gram splits M until it has about this many. */
const GRAM_TARGET_WORKGROUPS = 256;
/** Fewer rows per split than this and the partial sums cost more than they save. */
const GRAM_MIN_ROWS = 256;
/** Upper bound on split-M partial Grams, so the scratch stays small next to the features. */
const GRAM_MAX_SCRATCH = 64 * 2 ** 20;
/** F rows per texture row for gram_tex.wgsl, or 0 when it does not cover the shape. */
export function gramTexRows(gpu: GpuContext, batch: number, m: number, n: number): number {
  if (n % 16 !== 0 || batch * m === 0 || batch * n * n * 4 > gpu.bindingLimit) return 0;
  const side = gpu.maxTextureSide;
  for (let rows = 1; rows * n / 4 <= side; rows *= 2) {
    if ((rows * n * 4) % 256 === 0 && Math.ceil((batch * m) / rows) <= side) return rows;
  }
  return 0;
}

/** Threads gram_tex.wgsl aims for: 2+ full 64-lane workgroups per core of a CPU adapter. */
const GRAM_TEX_TARGET_THREADS = 512;
/** Fewer rows per split than this and summing the slices costs more than the split saves
 * (style_diff.wgsl sums them with storage loads; 32 measured slower than 256 on llvmpipe). */
const GRAM_TEX_MIN_ROWS = 256;

/** How gram_tex.wgsl splits M: rows per split and the split count (image slices). */
export function gramTexSplits(
  gpu: GpuContext,
  batch: number,
  m: number,
  n: number,
): { rows: number; splits: number } {
  const blocks = n / 16;
  const up = (blocks * (blocks + 1)) / 2;
  let splits = Math.ceil(GRAM_TEX_TARGET_THREADS / (batch * up));
  splits = Math.max(1, Math.min(splits, Math.floor(m / GRAM_TEX_MIN_ROWS)));
  const maxScratch = Math.min(GRAM_MAX_SCRATCH, gpu.bindingLimit);
  splits = Math.min(splits, Math.max(1, Math.floor(maxScratch / (batch * n * n * 4))));
  // A multiple of gram.wgsl's TILE_K, so that the style loss can fall back to it (batch chunks).
  const rows = Math.ceil(Math.ceil(m / splits) / GRAM.overrides.TILE_K) * GRAM.overrides.TILE_K;
  return { rows, splits: Math.ceil(m / rows) };
}

/**
 * Upload of f and dispatch of gram_tex.wgsl writing `scale * f^T f` into `out`, or with
 * `split.splits > 1` the unscaled partial Grams [batch * splits, N, N] (`scale` then 1).
 */
export function gramTexSteps(
  gpu: GpuContext,
  f: tf.Tensor3D,
  rowsPer: number,
  split: { rows: number; splits: number },
  out: Binding,
  scale: number,
): Array<DispatchStep | TextureCopyStep> {
  const [batch, m, n] = f.shape;
  const total = batch * m;
  const full = Math.floor(total / rowsPer);
  const rest = total - full * rowsPer;
  const texW = (rowsPer * n) / 4;
  const tex = gpu.poolTexture("gram-f", texW, Math.ceil(total / rowsPer));
  const fBuf = gpu.bufferOf(f);
  const bytesPerRow = rowsPer * n * 4;
  const steps: Array<DispatchStep | TextureCopyStep> = [];
  if (full > 0) {
    steps.push({
      toTexture: { src: fBuf, offset: 0, bytesPerRow, rows: full, texture: tex, width: texW },
    });
  }
  if (rest > 0) {
    steps.push({
      toTexture: {
        src: fBuf,
        offset: full * bytesPerRow,
        bytesPerRow,
        rows: 1,
        texture: tex,
        width: (rest * n) / 4,
        y: full,
      },
    });
  }
  const blocks = n / (4 * GRAM_TEX.fixed.B4);
  const up = (blocks * (blocks + 1)) / 2;
  const threads = batch * split.splits * up;
  steps.push(dispatch(
    gpu,
    GRAM_TEX,
    [tex.createView(), out],
    {
      m,
      n4: n / 4,
      blocks,
      blocks_up: up,
      threads,
      p: rowsPer,
      splits: split.splits,
      rows_per_split: split.rows,
      scale,
    },
    fold(Math.ceil(threads / GRAM_TEX.workgroupSize[0]), gpu.maxWorkgroups),
  ));
  return steps;
}

/** sum_slices.wgsl adding `slices` partial results of `len4` vec4s each, `total4` in all. */
function sumSlices(
  gpu: GpuContext,
  parts: Binding,
  out: Binding,
  len4: number,
  slices: number,
  total4: number,
  scale: number,
): DispatchStep {
  return dispatch(
    gpu,
    SUM_SLICES,
    [parts, out],
    { len4, slices, total4, scale },
    fold(Math.ceil(total4 / SUM_SLICES.workgroupSize[0]), gpu.maxWorkgroups),
  );
}

/** How gram.wgsl splits M: rows per split (a multiple of its TILE_K) and the split count. */
export function gramSplits(batch: number, m: number, n: number): { rows: number; splits: number } {
  const blocks = Math.ceil(n / GRAM_TILE);
  const upper = (blocks * (blocks + 1)) / 2;
  let splits = Math.ceil(GRAM_TARGET_WORKGROUPS / (batch * upper));
  splits = Math.max(1, Math.min(splits, Math.floor(m / GRAM_MIN_ROWS)));
  splits = Math.min(splits, Math.max(1, Math.floor(GRAM_MAX_SCRATCH / (batch * n * n * 4))));
  const rows = Math.ceil(Math.ceil(m / splits) / GRAM.overrides.TILE_K) * GRAM.overrides.TILE_K;
  return { rows, splits: Math.ceil(m / rows) };
}

/** Dispatch of gram.wgsl for `nb` images of f starting at byte `fOffset`, into `out`. */
export function gramStep(
  gpu: GpuContext,
  fBuf: GPUBuffer,
  fOffset: number,
  nb: number,
  m: number,
  n: number,
  split: { rows: number; splits: number },
  out: Binding,
  scale: number,
): DispatchStep {
  const blocks = Math.ceil(n / GRAM_TILE);
  return dispatch(
    gpu,
    GRAM,
    [range(fBuf, fOffset, nb * m * n * 4), out],
    { m, n, n4: n / 4, blocks, splits: split.splits, rows_per_split: split.rows, scale },
    [(blocks * (blocks + 1)) / 2, split.splits, nb],
  );
}

/**
 * Batched Gram matrices `scale * f^T f` ([B,M,N] to [B,N,N]) with
 * kernels/gram.wgsl, or kernels/gram_tex.wgsl on CPU adapters (upper-triangle
 * blocks, mirrored; split over M when that leaves too few workgroups, the
 * slices added by sum_slices.wgsl). N not a multiple of 4 uses tf.matMul.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { gramGpu } from "./gram.ts";
 * gramGpu(tf.ones([1, 10, 4]), 0.1).print(); // all 1
 * ```
 */
export function gramGpu(f: tf.Tensor3D, scale = 1): tf.Tensor3D {
  const [batch, m, n] = f.shape;
  if (n % 4 !== 0 || m === 0) {
    return tf.tidy(() => tf.mul(tf.matMul(f, f, true, false), scale) as tf.Tensor3D);
  }
  const gpu = GpuContext.sync();
  const texRows = textureRoute(gpu) ? gramTexRows(gpu, batch, m, n) : 0;
  if (texRows > 0) {
    gpu.ensureFits(batch * n * n * 4, `gram [${f.shape}]`);
    const split = gramTexSplits(gpu, batch, m, n);
    const out = gpu.output([batch, n, n]);
    if (split.splits === 1) {
      gpu.run(gramTexSteps(gpu, f, texRows, split, out.buffer, scale));
      return gpu.tensor(out);
    }
    const parts = gpu.scratch(batch * split.splits * n * n * 4);
    const total4 = batch * (n * n / 4);
    gpu.run([
      ...gramTexSteps(gpu, f, texRows, split, parts, 1),
      sumSlices(gpu, parts, out.buffer, n * n / 4, split.splits, total4, scale),
    ], [parts]);
    return gpu.tensor(out);
  }
  const split = gramSplits(batch, m, n);
  const perF = m * n * 4;
  const perG = n * n * 4;
  const chunk = gpu.batchChunk(batch, [perF, perG * split.splits], `gram [${f.shape}]`);
  const out = gpu.output([batch, n, n]);
  const fBuf = gpu.bufferOf(f);
  const steps: DispatchStep[] = [];
  const scratch: GPUBuffer[] = [];
  const parts = split.splits > 1 ? gpu.scratch(chunk * split.splits * perG) : null;
  if (parts) scratch.push(parts);
  for (const [b0, nb] of chunks(batch, chunk)) {
    const target = range(out.buffer, b0 * perG, nb * perG);
    if (!parts) {
      steps.push(gramStep(gpu, fBuf, b0 * perF, nb, m, n, split, target, scale));
      continue;
    }
    const partsRange = range(parts, 0, nb * split.splits * perG);
    steps.push(gramStep(gpu, fBuf, b0 * perF, nb, m, n, split, partsRange, 1));
    const total4 = nb * (n * n / 4);
    steps.push(sumSlices(gpu, partsRange, target, n * n / 4, split.splits, total4, scale));
  }
  gpu.run(steps, scratch);
  return gpu.tensor(out);
}

const gramWithGrad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [f, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
  save([f]);
  return {
    value: gramGpu(f),
    // d(F^T F) = F (dG + dG^T): rarely needed (the style loss has its own), so stock ops.
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.matMul(saved[0] as tf.Tensor3D, tf.add(dy, tf.transpose(dy, [0, 2, 1])) as tf.Tensor3D),
  };
}) as (f: tf.Tensor3D) => tf.Tensor3D;

/** The Gram of the custom set: the WGSL kernels where N % 4 == 0, else the stock op. */
export function gramCustom(f: tf.Tensor3D): tf.Tensor3D {
  return f.shape[2] % 4 === 0 ? gramWithGrad(f) : STOCK_KERNELS.gram(f);
}

/** Every kernel this module dispatches. */
export const GRAM_KERNELS: readonly KernelDescriptor[] = [GRAM, GRAM_TEX, SUM_SLICES];
