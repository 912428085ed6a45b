/**
 * The fused style loss of one layer: E `[B]` = sum((G-A)^2)/(4N^2M^2) and
 * dE/dF = F(G-A)/(N^2M^2), from kernels gram (or gram_tex), style_diff,
 * fd_matmul (or fd_tex) and row_sum.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { styleLossGpu } from "./style_loss.ts";
 * const { loss, grad } = styleLossGpu(tf.ones([1, 16, 8]), tf.zeros([8, 8]));
 * console.log(loss.shape, grad.shape); // [1] [1, 16, 8]
 * ```
 * @module
 */
import type { tf } from "../tf.ts";
import { STOCK_KERNELS } from "../ops/stock_kernels.ts";
import { type DispatchStep, fold, GpuContext, type TextureCopyStep } from "./device.ts";
import {
  checkShape,
  chunks,
  defineKernel,
  dispatch,
  type KernelDescriptor,
  powerOfTwo,
  range,
  textureRoute,
} from "./registry.ts";
import { gramSplits, gramStep, gramTexRows, gramTexSplits, gramTexSteps } from "./gram.ts";

/** kernels/style_diff.wgsl: d = G - A, the loss partial sums; WG threads of PER_THREAD vec4s. */
export const STYLE_DIFF: KernelDescriptor = defineKernel({
  file: "style_diff.wgsl",
  workgroupSize: [256, 1, 1],
  overrides: { WG: 256 },
  fixed: { PER_THREAD: 4 },
  params: {
    len4: "u32",
    slices: "u32",
    groups: "u32",
    b_offset: "u32",
    grad_scale: "f32",
    loss_scale: "f32",
  },
  validate: powerOfTwo("WG"),
});
/** kernels/row_sum.wgsl: one workgroup per image adds its partial sums. */
export const ROW_SUM: KernelDescriptor = defineKernel({
  file: "row_sum.wgsl",
  workgroupSize: [256, 1, 1],
  overrides: { WG: 256 },
  params: { cols: "u32" },
  validate: powerOfTwo("WG"),
});
/** kernels/fd_matmul.wgsl: 64 x 64 tiles of F d (8 x 8 threads of 8 x 8 registers). */
export const FD_MATMUL: KernelDescriptor = defineKernel({
  file: "fd_matmul.wgsl",
  workgroupSize: [8, 8, 1],
  overrides: { TILE_K: 16 },
  fixed: { WG: 8, THREAD_M: 8, THREAD_N: 8 }, // THREAD_*: gemm_core.wgsl's register block
  params: { m: "u32", n: "u32", n4: "u32", m_tiles: "u32", total_tiles: "u32" },
  validate: (o) =>
    o.TILE_K % 4 === 0 && (o.TILE_K * 16) % 64 === 0 ? null : `TILE_K = ${o.TILE_K} does not tile`,
});
/** kernels/fd_tex.wgsl: one thread per R x 16 block of F d. */
export const FD_TEX: KernelDescriptor = defineKernel({
  file: "fd_tex.wgsl",
  workgroupSize: [64, 1, 1],
  overrides: { WG: 64 },
  fixed: { R: 16 },
  params: { m: "u32", n4: "u32", p: "u32", r_blocks: "u32", n_blocks: "u32", threads: "u32" },
});

/** Edge of an fd_matmul.wgsl output tile: WG threads of THREAD_M registers. */
const FD_TILE = FD_MATMUL.fixed.WG * FD_MATMUL.fixed.THREAD_M;
/** vec4s of G - A per style_diff.wgsl workgroup. */
const STYLE_DIFF_PER_GROUP = STYLE_DIFF.overrides.WG * STYLE_DIFF.fixed.PER_THREAD;

/**
 * Upload of d ([batch, N, N] in `diff`) and dispatch of fd_tex.wgsl writing F d into `out`; F is
 * the texture gramTexSteps filled (`rowsPer` rows of F per texture row).
 */
function fdTexSteps(
  gpu: GpuContext,
  f: tf.Tensor3D,
  rowsPer: number,
  diff: GPUBuffer,
  out: GPUBuffer,
): Array<DispatchStep | TextureCopyStep> {
  const [batch, m, n] = f.shape;
  const fTex = gpu.poolTexture("gram-f", (rowsPer * n) / 4, Math.ceil((batch * m) / rowsPer));
  const dTex = gpu.poolTexture("fd-d", n / 4, batch * n);
  const rBlocks = Math.ceil(m / FD_TEX.fixed.R);
  const nBlocks = n / 16; // 16 columns (4 vec4s) per thread
  const threads = batch * rBlocks * nBlocks;
  return [
    {
      toTexture: {
        src: diff,
        offset: 0,
        bytesPerRow: n * 4,
        rows: batch * n,
        texture: dTex,
        width: n / 4,
      },
    },
    dispatch(
      gpu,
      FD_TEX,
      [fTex.createView(), dTex.createView(), out],
      { m, n4: n / 4, p: rowsPer, r_blocks: rBlocks, n_blocks: nBlocks, threads },
      fold(Math.ceil(threads / FD_TEX.workgroupSize[0]), gpu.maxWorkgroups),
    ),
  ];
}

/**
 * Fused style loss of one layer: E `[B]` = sum((G-A)^2)/(4N^2M^2) and dE/dF
 * = F(G-A)/(N^2M^2), G = F^T F, from kernels gram, style_diff, fd_matmul and
 * row_sum (on CPU adapters gram_tex and fd_tex instead of gram and fd_matmul,
 * sharing one texture of F). Only G (or its split-M slices) and G - A are
 * stored besides the outputs.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { styleLossGpu } from "./style_loss.ts";
 * const { loss, grad } = styleLossGpu(tf.ones([1, 16, 8]), tf.zeros([8, 8]));
 * console.log(loss.shape, grad.shape); // [1] [1, 16, 8]
 * ```
 */
export function styleLossGpu(
  f: tf.Tensor3D,
  target: tf.Tensor2D,
): { loss: tf.Tensor1D; grad: tf.Tensor3D } {
  const [batch, m, n] = f.shape;
  checkShape("style loss target", target.shape, [n, n]);
  if (n % 4 !== 0 || m === 0) return STOCK_KERNELS.styleLoss(f, target);
  const gpu = GpuContext.sync();
  const texRows = textureRoute(gpu) ? gramTexRows(gpu, batch, m, n) : 0;
  const split = texRows > 0 ? gramTexSplits(gpu, batch, m, n) : gramSplits(batch, m, n);
  const perF = m * n * 4;
  const perG = n * n * 4;
  const len4 = (n * n) / 4;
  const groups = Math.ceil(len4 / STYLE_DIFF_PER_GROUP);
  const chunk = gpu.batchChunk(batch, [perF, perG * split.splits], `style loss [${f.shape}]`);
  gpu.ensureFits(batch * groups * 4, "style loss partial sums");
  const parts = gpu.scratch(chunk * split.splits * perG);
  const diff = gpu.scratch(chunk * perG);
  const lossParts = gpu.scratch(batch * groups * 4);
  const loss = gpu.output([batch]);
  const grad = gpu.output([batch, m, n]);
  const fBuf = gpu.bufferOf(f);
  const tBuf = gpu.bufferOf(target);
  const steps: Array<DispatchStep | TextureCopyStep> = [];
  const scratch = [parts, diff, lossParts];
  // The texture Gram covers the whole batch at once: only with a single chunk.
  const texGram = texRows > 0 && chunk === batch;
  // F d through textures too when d fits one (rows of N*4 bytes, 256-byte aligned for the copy).
  const texFd = texGram && n % 64 === 0 && batch * n <= gpu.maxTextureSide;
  for (const [b0, nb] of chunks(batch, chunk)) {
    const partsRange = range(parts, 0, nb * split.splits * perG);
    const diffRange = range(diff, 0, nb * perG);
    if (texGram) steps.push(...gramTexSteps(gpu, f, texRows, split, partsRange, 1));
    else steps.push(gramStep(gpu, fBuf, b0 * perF, nb, m, n, split, partsRange, 1));
    steps.push(dispatch(
      gpu,
      STYLE_DIFF,
      [partsRange, tBuf, diffRange, lossParts],
      {
        len4,
        slices: split.splits,
        groups,
        b_offset: b0,
        grad_scale: 1 / (n * n * m * m),
        loss_scale: 1 / (2 * n * m),
      },
      [groups, nb],
    ));
    if (texFd) {
      steps.push(...fdTexSteps(gpu, f, texRows, diff, grad.buffer));
      continue;
    }
    const mTiles = Math.ceil(m / FD_TILE);
    const [gy, gz] = fold(nb * mTiles, gpu.maxWorkgroups);
    steps.push(dispatch(
      gpu,
      FD_MATMUL,
      [range(fBuf, b0 * perF, nb * perF), diffRange, range(grad.buffer, b0 * perF, nb * perF)],
      { m, n, n4: n / 4, m_tiles: mTiles, total_tiles: nb * mTiles },
      [Math.ceil(n / FD_TILE), gy, gz],
    ));
  }
  steps.push(dispatch(gpu, ROW_SUM, [lossParts, loss.buffer], { cols: groups }, [batch]));
  gpu.run(steps, scratch);
  return { loss: gpu.tensor(loss), grad: gpu.tensor(grad) };
}

/** Every kernel this module dispatches (besides the Gram kernels of `gram.ts`). */
export const STYLE_LOSS_KERNELS: readonly KernelDescriptor[] = [
  STYLE_DIFF,
  ROW_SUM,
  FD_MATMUL,
  FD_TEX,
];
