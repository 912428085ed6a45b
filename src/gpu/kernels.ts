/**
 * The `custom` kernel set: the hot operations of a Gatys step as hand-written
 * WGSL (`kernels/*.wgsl`) on tfjs's webgpu backend. Tensors stay on the GPU:
 * inputs are read from the backend's buffers and outputs are tfjs tensors
 * backed by buffers from its pool, so they mix freely with stock tfjs ops and
 * `tf.dispose` frees them.
 *
 * Shapes a kernel does not cover (a channel count that is not a multiple of
 * 4 for the vec4 kernels) fall back to the stock op, so any caller works.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { useKernels } from "../ops.ts";
 * import { selectKernels } from "./kernels.ts";
 * await initBackend("webgpu");
 * useKernels(await selectKernels("custom"));
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { type AdamConfig, type AdamState, type KernelSet, STOCK_KERNELS } from "../ops.ts";
import { UserError } from "../util/errors.ts";
import {
  type Binding,
  type CopyStep,
  type DispatchStep,
  fold,
  GpuContext,
  packParams,
  type TextureCopyStep,
} from "./device.ts";

/** The compiled pipelines, one per kernel file. */
interface Pipelines {
  conv: GPUComputePipeline;
  convGrad: GPUComputePipeline;
  convGradNarrow: GPUComputePipeline;
  gram: GPUComputePipeline;
  sumSlices: GPUComputePipeline;
  styleDiff: GPUComputePipeline;
  rowSum: GPUComputePipeline;
  fdMatmul: GPUComputePipeline;
  pool: GPUComputePipeline;
  poolGrad: GPUComputePipeline;
  adam: GPUComputePipeline;
  convTex: GPUComputePipeline;
  convTexGrad: GPUComputePipeline;
  convTexNarrow: GPUComputePipeline;
  gramTex: GPUComputePipeline;
  fdTex: GPUComputePipeline;
}

const FILES: Record<keyof Pipelines, string | [string, Record<string, number>]> = {
  conv: "conv3x3_relu.wgsl",
  convGrad: "conv3x3_grad_input.wgsl",
  convGradNarrow: "conv3x3_grad_input_narrow.wgsl",
  gram: "gram.wgsl",
  sumSlices: "sum_slices.wgsl",
  styleDiff: "style_diff.wgsl",
  rowSum: "row_sum.wgsl",
  fdMatmul: "fd_matmul.wgsl",
  pool: "maxpool2x2.wgsl",
  poolGrad: "maxpool2x2_grad.wgsl",
  adam: "adam.wgsl",
  convTex: ["conv3x3_tex.wgsl", { GRAD: 0 }],
  convTexGrad: ["conv3x3_tex.wgsl", { GRAD: 1 }],
  convTexNarrow: "conv3x3_tex_narrow.wgsl",
  gramTex: "gram_tex.wgsl",
  fdTex: "fd_tex.wgsl",
};

// Tile edges of the kernels (their TILE_M / TILE_N / TILE constants), for dispatch sizes.
const CONV_TILE_M = 64;
const CONV_TILE_N = 64;
const GRAM_TILE = 64;
const GRAM_TILE_K = 16;
const FD_TILE = 64;
const ELEMENTWISE_WG = 256;
const NARROW_WG = 64; // pixels per workgroup of conv3x3_grad_input_narrow.wgsl
const NARROW_MAX_C = 512; // its MAX_C: channels of dy staged per tap
const STYLE_DIFF_PER_GROUP = 256 * 4; // vec4s per style_diff workgroup
const TEX_WG = 64; // threads per workgroup of conv3x3_tex.wgsl (and conv3x3_tex_narrow.wgsl)
const TEX_R = 16; // its R: output pixels per thread
const TEX_N = 16; // its 4 * C4: output channels per thread
const TEX_NARROW_R = 16; // pixels per thread of conv3x3_tex_narrow.wgsl
const FD_TEX_R = 16; // rows of out per thread of fd_tex.wgsl (it also takes 16 columns)
/** Fewer conv3x3_tex.wgsl gradient threads than this and K is split over slices (split-K). */
const TEX_MIN_THREADS = 512;
/** Input channel groups (vec4s) each split-K slice keeps at least, per tap. */
const TEX_MIN_SLICE_C4 = 4;

/**
 * Which conv route tests force (`null`: by adapter, see {@link GpuContext.cpuAdapter}).
 *
 * @example
 * ```ts
 * import { setConvRoute } from "./kernels.ts";
 * setConvRoute("buffer"); // the workgroup-memory GEMMs even on llvmpipe
 * setConvRoute(null);
 * ```
 */
export function setConvRoute(route: "texture" | "buffer" | null): void {
  forcedRoute = route;
}
let forcedRoute: "texture" | "buffer" | null = null;

/** Weight textures ([K, N] as N/4 x K texels), made once per weight tensor. */
const weightTextures = new WeakMap<object, { device: GPUDevice; texture: GPUTexture }>();
/** Enough workgroups to fill a large GPU; gram splits M until it has about this many. */
const GRAM_TARGET_WORKGROUPS = 256;
/** Fewer rows per split than this and the partial sums cost more than they save. */
const GRAM_MIN_ROWS = 256;
/** Upper bound on split-M partial Grams, so the scratch stays small next to the features. */
const GRAM_MAX_SCRATCH = 64 * 2 ** 20;

const compiled = new WeakMap<GpuContext, Pipelines>();

/**
 * Compile every WGSL kernel for the active webgpu backend (once per backend).
 *
 * @example
 * ```ts
 * import { initCustomKernels } from "./kernels.ts";
 * await initCustomKernels();
 * ```
 */
export async function initCustomKernels(): Promise<void> {
  const gpu = GpuContext.sync();
  if (compiled.has(gpu)) return;
  const keys = Object.keys(FILES) as Array<keyof Pipelines>;
  const made = await Promise.all(keys.map((k) => {
    const f = FILES[k];
    return typeof f === "string" ? gpu.pipeline(f) : gpu.pipeline(f[0], "main", f[1]);
  }));
  compiled.set(gpu, Object.fromEntries(keys.map((k, i) => [k, made[i]])) as unknown as Pipelines);
}

function context(): { gpu: GpuContext; p: Pipelines } {
  const gpu = GpuContext.sync();
  const p = compiled.get(gpu);
  if (!p) {
    throw new Error(
      "the custom kernels are not compiled for this backend: call `await selectKernels('custom')` first",
    );
  }
  return { gpu, p };
}

function range(buffer: GPUBuffer, offset: number, size: number): Binding {
  return offset === 0 && size === buffer.size ? buffer : { buffer, offset, size };
}

function checkShape(what: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new Error(`${what}: shape [${got}], expected [${want}]`);
  }
}

/** Batch chunks `[first, count]` covering `batch` items `chunk` at a time. */
function chunks(batch: number, chunk: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let b0 = 0; b0 < batch; b0 += chunk) out.push([b0, Math.min(chunk, batch - b0)]);
  return out;
}

/** The one conv GEMM both directions share: `gathered` [B,H,W,K/9] into [B,H,W,cOut]. */
function convGemm(
  kind: "forward" | "grad",
  gathered: tf.Tensor4D,
  second: tf.Tensor,
  weights: tf.Tensor4D,
  cOut: number,
): tf.Tensor4D {
  const { gpu, p } = context();
  const [batch, h, w, cIn] = gathered.shape;
  const texture = forcedRoute === null ? gpu.cpuAdapter : forcedRoute === "texture";
  if (texture) {
    if (kind === "grad" && cOut <= 4 && narrowTextureFits(gpu, gathered.shape)) {
      return convTextureNarrow(gathered, second, weights, cOut);
    }
    if (textureFits(gpu, gathered.shape, cOut)) {
      return convTexture(kind, gathered, second, weights, cOut);
    }
    // A forward pass from 1-3 channels (the image): pad them with zeros to 4 for the texture.
    const pad = (4 - cIn % 4) % 4;
    if (kind === "forward" && pad > 0 && textureFits(gpu, [batch, h, w, cIn + pad], cOut)) {
      const padded = tf.pad(gathered, [[0, 0], [0, 0], [0, 0], [0, pad]]) as tf.Tensor4D;
      try {
        return convTexture(kind, padded, second, weights, cOut, pad);
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
  const narrow = kind === "grad" && cOut <= 4 && cIn % 4 === 0 && cIn <= NARROW_MAX_C;
  const steps: DispatchStep[] = chunks(batch, chunk).map(([b0, nb]) => {
    const m = nb * h * w;
    const mTiles = Math.ceil(m / CONV_TILE_M);
    const [gy, gz] = fold(mTiles, gpu.maxWorkgroups);
    const gathers = range(gBuf, b0 * perIn, nb * perIn);
    // The forward pass binds bias second; the gradient binds y (same layout as dy) for the mask.
    const secondBinding = kind === "forward" ? sBuf : range(sBuf, b0 * perIn, nb * perIn);
    const bindings = kind === "forward"
      ? [gathers, wBuf, secondBinding, range(out.buffer, b0 * perOut, nb * perOut)]
      : [gathers, secondBinding, wBuf, range(out.buffer, b0 * perOut, nb * perOut)];
    return {
      pipeline: kind === "forward" ? p.conv : narrow ? p.convGradNarrow : p.convGrad,
      bindings,
      uniforms: packParams([
        { u32: nb },
        { u32: h },
        { u32: w },
        { u32: cIn },
        { u32: cOut },
        { u32: m },
        { u32: 9 * cIn },
        { u32: mTiles },
      ]),
      workgroups: narrow
        ? fold(Math.ceil(m / NARROW_WG), gpu.maxWorkgroups)
        : [Math.ceil(cOut / CONV_TILE_N), gy, gz],
    };
  });
  gpu.run(steps);
  return gpu.tensor<tf.Tensor4D>(out);
}

/** Whether conv3x3_tex.wgsl covers this shape (texture sizes and copy row alignment). */
function textureFits(gpu: GpuContext, shape: readonly number[], cOut: number): boolean {
  const [batch, h, w, c] = shape;
  const side = gpu.maxTextureSide;
  return c % 4 === 0 && (w * c * 4) % 256 === 0 && w * c / 4 <= side && batch * h <= side &&
    batch * h * w > 0 && (cOut * 4) % 256 === 0 && cOut / 4 <= side && 9 * c <= side &&
    // The output is one storage binding; bigger batches take the buffer route, which splits them.
    batch * h * w * cOut * 4 <= gpu.bindingLimit;
}

/** Whether conv3x3_tex_narrow.wgsl covers this shape of dy (texture sizes, row alignment). */
function narrowTextureFits(gpu: GpuContext, shape: readonly number[]): boolean {
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
function convTexture(
  kind: "forward" | "grad",
  gathered: tf.Tensor4D,
  second: tf.Tensor,
  weights: tf.Tensor4D,
  cOut: number,
  padIn = 0,
): tf.Tensor4D {
  const { gpu, p } = context();
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
  const nBlocks = cOut / TEX_N;
  const blocks = Math.ceil(m / TEX_R) * nBlocks;
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
  steps.push({
    pipeline: kind === "forward" ? p.convTex : p.convTexGrad,
    bindings: [src.createView(), live.createView(), wt.createView(), bias, target],
    uniforms: packParams([
      { u32: h },
      { u32: w },
      { u32: c },
      { u32: cOut },
      { u32: m },
      { u32: nBlocks },
      { u32: blocks },
      { u32: splits },
      { u32: threads },
    ]),
    workgroups: fold(Math.ceil(threads / TEX_WG), gpu.maxWorkgroups),
  });
  if (splits > 1) {
    const total4 = m * cOut / 4;
    steps.push({
      pipeline: p.sumSlices,
      bindings: [target, out.buffer],
      uniforms: packParams([{ u32: total4 }, { u32: splits }, { u32: total4 }, { f32: 1 }]),
      workgroups: fold(Math.ceil(total4 / ELEMENTWISE_WG), gpu.maxWorkgroups),
    });
  }
  gpu.run(steps, scratch);
  return gpu.tensor<tf.Tensor4D>(out);
}

/** The input gradient into <= 4 channels through kernels/conv3x3_tex_narrow.wgsl (CPU adapters). */
function convTextureNarrow(
  dy: tf.Tensor4D,
  y: tf.Tensor,
  flipped: tf.Tensor4D,
  cOut: number,
): tf.Tensor4D {
  const { gpu, p } = context();
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
  const threads = Math.ceil(m / TEX_NARROW_R);
  gpu.run([copy(dy, src), copy(y, live), {
    pipeline: p.convTexNarrow,
    bindings: [src.createView(), live.createView(), wt.createView(), out.buffer],
    uniforms: packParams([
      { u32: h },
      { u32: w },
      { u32: c },
      { u32: cOut },
      { u32: m },
      { u32: threads },
    ]),
    workgroups: fold(Math.ceil(threads / TEX_WG), gpu.maxWorkgroups),
  }]);
  return gpu.tensor<tf.Tensor4D>(out);
}

/**
 * relu(conv2d(x, kernel, 1, 'same') + bias) with kernels/conv3x3_relu.wgsl.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3Relu } from "./kernels.ts";
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
 * import { conv3x3ReluGradInput } from "./kernels.ts";
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

function poolDims(x: tf.Tensor4D) {
  const [batch, h, w, c] = x.shape;
  return { batch, h, w, c, oh: Math.floor(h / 2), ow: Math.floor(w / 2) };
}

function poolForward(x: tf.Tensor4D): tf.Tensor4D {
  const { gpu, p } = context();
  const { batch, h, w, c, oh, ow } = poolDims(x);
  const perIn = h * w * c * 4;
  const perOut = oh * ow * c * 4;
  const chunk = gpu.batchChunk(batch, [perIn, perOut], `maxpool [${x.shape}]`);
  const out = gpu.output([batch, oh, ow, c]);
  if (oh === 0 || ow === 0) return gpu.tensor(out);
  const xBuf = gpu.bufferOf(x);
  const steps: DispatchStep[] = chunks(batch, chunk).map(([b0, nb]) => {
    const total4 = nb * oh * ow * (c / 4);
    return {
      pipeline: p.pool,
      bindings: [range(xBuf, b0 * perIn, nb * perIn), range(out.buffer, b0 * perOut, nb * perOut)],
      uniforms: packParams([
        { u32: h },
        { u32: w },
        { u32: c / 4 },
        { u32: oh },
        { u32: ow },
        { u32: total4 },
      ]),
      workgroups: fold(Math.ceil(total4 / ELEMENTWISE_WG), gpu.maxWorkgroups),
    };
  });
  gpu.run(steps);
  return gpu.tensor(out);
}

/**
 * Gradient of the 2x2 max pool w.r.t. its input `x`, given dy, with
 * kernels/maxpool2x2_grad.wgsl (first maximum of a window wins, like tfjs).
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { maxPool2x2Grad } from "./kernels.ts";
 * const dx = maxPool2x2Grad(tf.randomNormal([1, 5, 5, 4]), tf.ones([1, 2, 2, 4]));
 * console.log(dx.shape); // [1, 5, 5, 4]
 * ```
 */
export function maxPool2x2Grad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const { gpu, p } = context();
  const { batch, h, w, c, oh, ow } = poolDims(x);
  checkShape("maxpool grad dy", dy.shape, [batch, oh, ow, c]);
  if (c % 4 !== 0) throw new Error(`maxPool2x2Grad: channels ${c} are not a multiple of 4`);
  const winH = Math.ceil(h / 2);
  const winW = Math.ceil(w / 2);
  const perIn = h * w * c * 4;
  const perOut = oh * ow * c * 4;
  const chunk = gpu.batchChunk(batch, [perIn, perOut], `maxpool gradient [${x.shape}]`);
  const out = gpu.output([batch, h, w, c]);
  const xBuf = gpu.bufferOf(x);
  // A pool of a 1-pixel-wide input has an empty dy, which has no buffer to bind.
  const dyBuf = dy.size > 0 ? gpu.bufferOf(dy) : gpu.scratch(16);
  const steps: DispatchStep[] = chunks(batch, chunk).map(([b0, nb]) => {
    const total4 = nb * winH * winW * (c / 4);
    return {
      pipeline: p.poolGrad,
      bindings: [
        range(xBuf, b0 * perIn, nb * perIn),
        dy.size > 0 ? range(dyBuf, b0 * perOut, nb * perOut) : dyBuf,
        range(out.buffer, b0 * perIn, nb * perIn),
      ],
      uniforms: packParams([
        { u32: h },
        { u32: w },
        { u32: c / 4 },
        { u32: oh },
        { u32: ow },
        { u32: winH },
        { u32: winW },
        { u32: total4 },
      ]),
      workgroups: fold(Math.ceil(total4 / ELEMENTWISE_WG), gpu.maxWorkgroups),
    };
  });
  gpu.run(steps, dy.size > 0 ? [] : [dyBuf]);
  return gpu.tensor(out);
}

const pooledWithGrad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  save([x]);
  return {
    value: poolForward(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      maxPool2x2Grad(saved[0] as tf.Tensor4D, dy as tf.Tensor4D),
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * 2x2 stride-2 'valid' max pool with kernels/maxpool2x2.wgsl, differentiable
 * through {@link maxPool2x2Grad}. Channels not a multiple of 4 use tf.maxPool.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { maxPool2x2 } from "./kernels.ts";
 * console.log(maxPool2x2(tf.ones([1, 5, 4, 8])).shape); // [1, 2, 2, 8]
 * ```
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  if (x.shape[3] % 4 !== 0) return STOCK_KERNELS.maxPool2x2(x);
  return pooledWithGrad(x);
}

function textureRoute(gpu: GpuContext): boolean {
  return forcedRoute === null ? gpu.cpuAdapter : forcedRoute === "texture";
}

/** F rows per texture row for gram_tex.wgsl, or 0 when it does not cover the shape. */
function gramTexRows(gpu: GpuContext, batch: number, m: number, n: number): number {
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
function gramTexSplits(
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
  const rows = Math.ceil(Math.ceil(m / splits) / GRAM_TILE_K) * GRAM_TILE_K;
  return { rows, splits: Math.ceil(m / rows) };
}

/**
 * Upload of f and dispatch of gram_tex.wgsl writing `scale * f^T f` into `out`, or with
 * `split.splits > 1` the unscaled partial Grams [batch * splits, N, N] (`scale` then 1).
 */
function gramTexSteps(
  gpu: GpuContext,
  p: Pipelines,
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
  const blocks = n / 16;
  const up = (blocks * (blocks + 1)) / 2;
  const threads = batch * split.splits * up;
  steps.push({
    pipeline: p.gramTex,
    bindings: [tex.createView(), out],
    uniforms: packParams([
      { u32: m },
      { u32: n / 4 },
      { u32: blocks },
      { u32: up },
      { u32: threads },
      { u32: rowsPer },
      { u32: split.splits },
      { u32: split.rows },
      { f32: scale },
    ]),
    workgroups: fold(Math.ceil(threads / TEX_WG), gpu.maxWorkgroups),
  });
  return steps;
}

/** How gram.wgsl splits M: rows per split (a multiple of its TILE_K) and the split count. */
function gramSplits(batch: number, m: number, n: number): { rows: number; splits: number } {
  const blocks = Math.ceil(n / GRAM_TILE);
  const upper = (blocks * (blocks + 1)) / 2;
  let splits = Math.ceil(GRAM_TARGET_WORKGROUPS / (batch * upper));
  splits = Math.max(1, Math.min(splits, Math.floor(m / GRAM_MIN_ROWS)));
  splits = Math.min(splits, Math.max(1, Math.floor(GRAM_MAX_SCRATCH / (batch * n * n * 4))));
  const rows = Math.ceil(Math.ceil(m / splits) / GRAM_TILE_K) * GRAM_TILE_K;
  return { rows, splits: Math.ceil(m / rows) };
}

/** Dispatch of gram.wgsl for `nb` images of f starting at byte `fOffset`, into `out`. */
function gramStep(
  p: Pipelines,
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
  return {
    pipeline: p.gram,
    bindings: [range(fBuf, fOffset, nb * m * n * 4), out],
    uniforms: packParams([
      { u32: m },
      { u32: n },
      { u32: n / 4 },
      { u32: blocks },
      { u32: split.splits },
      { u32: split.rows },
      { f32: scale },
    ]),
    workgroups: [(blocks * (blocks + 1)) / 2, split.splits, nb],
  };
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
 * import { gramGpu } from "./kernels.ts";
 * gramGpu(tf.ones([1, 10, 4]), 0.1).print(); // all 1
 * ```
 */
export function gramGpu(f: tf.Tensor3D, scale = 1): tf.Tensor3D {
  const [batch, m, n] = f.shape;
  if (n % 4 !== 0 || m === 0) {
    return tf.tidy(() => tf.mul(tf.matMul(f, f, true, false), scale) as tf.Tensor3D);
  }
  const { gpu, p } = context();
  const texRows = textureRoute(gpu) ? gramTexRows(gpu, batch, m, n) : 0;
  if (texRows > 0) {
    gpu.ensureFits(batch * n * n * 4, `gram [${f.shape}]`);
    const split = gramTexSplits(gpu, batch, m, n);
    const out = gpu.output([batch, n, n]);
    if (split.splits === 1) {
      gpu.run(gramTexSteps(gpu, p, f, texRows, split, out.buffer, scale));
      return gpu.tensor(out);
    }
    const parts = gpu.scratch(batch * split.splits * n * n * 4);
    const total4 = batch * (n * n / 4);
    gpu.run([
      ...gramTexSteps(gpu, p, f, texRows, split, parts, 1),
      {
        pipeline: p.sumSlices,
        bindings: [parts, out.buffer],
        uniforms: packParams([
          { u32: n * n / 4 },
          { u32: split.splits },
          { u32: total4 },
          { f32: scale },
        ]),
        workgroups: fold(Math.ceil(total4 / ELEMENTWISE_WG), gpu.maxWorkgroups),
      },
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
      steps.push(gramStep(p, fBuf, b0 * perF, nb, m, n, split, target, scale));
      continue;
    }
    const partsRange = range(parts, 0, nb * split.splits * perG);
    steps.push(gramStep(p, fBuf, b0 * perF, nb, m, n, split, partsRange, 1));
    const total4 = nb * (n * n / 4);
    steps.push({
      pipeline: p.sumSlices,
      bindings: [partsRange, target],
      uniforms: packParams([
        { u32: n * n / 4 },
        { u32: split.splits },
        { u32: total4 },
        { f32: scale },
      ]),
      workgroups: fold(Math.ceil(total4 / ELEMENTWISE_WG), gpu.maxWorkgroups),
    });
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

/**
 * Upload of d ([batch, N, N] in `diff`) and dispatch of fd_tex.wgsl writing F d into `out`; F is
 * the texture gramTexSteps filled (`rowsPer` rows of F per texture row).
 */
function fdTexSteps(
  gpu: GpuContext,
  p: Pipelines,
  f: tf.Tensor3D,
  rowsPer: number,
  diff: GPUBuffer,
  out: GPUBuffer,
): Array<DispatchStep | TextureCopyStep> {
  const [batch, m, n] = f.shape;
  const fTex = gpu.poolTexture("gram-f", (rowsPer * n) / 4, Math.ceil((batch * m) / rowsPer));
  const dTex = gpu.poolTexture("fd-d", n / 4, batch * n);
  const rBlocks = Math.ceil(m / FD_TEX_R);
  const nBlocks = n / 16;
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
    {
      pipeline: p.fdTex,
      bindings: [fTex.createView(), dTex.createView(), out],
      uniforms: packParams([
        { u32: m },
        { u32: n / 4 },
        { u32: rowsPer },
        { u32: rBlocks },
        { u32: nBlocks },
        { u32: threads },
      ]),
      workgroups: fold(Math.ceil(threads / TEX_WG), gpu.maxWorkgroups),
    },
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
 * import { styleLossGpu } from "./kernels.ts";
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
  const { gpu, p } = context();
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
    if (texGram) steps.push(...gramTexSteps(gpu, p, f, texRows, split, partsRange, 1));
    else steps.push(gramStep(p, fBuf, b0 * perF, nb, m, n, split, partsRange, 1));
    steps.push({
      pipeline: p.styleDiff,
      bindings: [partsRange, tBuf, diffRange, lossParts],
      uniforms: packParams([
        { u32: len4 },
        { u32: split.splits },
        { u32: groups },
        { u32: b0 },
        { f32: 1 / (n * n * m * m) },
        { f32: 1 / (2 * n * m) },
      ]),
      workgroups: [groups, nb],
    });
    if (texFd) {
      steps.push(...fdTexSteps(gpu, p, f, texRows, diff, grad.buffer));
      continue;
    }
    const mTiles = Math.ceil(m / FD_TILE);
    const [gy, gz] = fold(nb * mTiles, gpu.maxWorkgroups);
    steps.push({
      pipeline: p.fdMatmul,
      bindings: [
        range(fBuf, b0 * perF, nb * perF),
        diffRange,
        range(grad.buffer, b0 * perF, nb * perF),
      ],
      uniforms: packParams([
        { u32: m },
        { u32: n },
        { u32: n / 4 },
        { u32: mTiles },
        { u32: nb * mTiles },
      ]),
      workgroups: [Math.ceil(n / FD_TILE), gy, gz],
    });
  }
  steps.push({
    pipeline: p.rowSum,
    bindings: [lossParts, loss.buffer],
    uniforms: packParams([{ u32: groups }]),
    workgroups: [batch],
  });
  gpu.run(steps, scratch);
  return { loss: gpu.tensor(loss), grad: gpu.tensor(grad) };
}

/**
 * One fused Adam step plus the per-channel clip, with kernels/adam.wgsl;
 * same contract and formula as STOCK_KERNELS.adamUpdate.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { adamUpdateGpu } from "./kernels.ts";
 * const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
 * const s = { m: tf.zerosLike(x), v: tf.zerosLike(x), t: 0 };
 * const cfg = { learningRate: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
 * const r = adamUpdateGpu(x, tf.onesLike(x), s, cfg, tf.fill([3], -1), tf.fill([3], 1));
 * r.x.print(); // all -1
 * ```
 */
export function adamUpdateGpu(
  x: tf.Tensor4D,
  g: tf.Tensor4D,
  state: AdamState,
  c: AdamConfig,
  lo: tf.Tensor1D,
  hi: tf.Tensor1D,
): { x: tf.Tensor4D; m: tf.Tensor4D; v: tf.Tensor4D } {
  const { gpu, p } = context();
  for (const [name, t] of [["g", g], ["m", state.m], ["v", state.v]] as const) {
    checkShape(`adam ${name}`, t.shape, x.shape);
  }
  const [batch, h, w, ch] = x.shape;
  checkShape("adam lo", lo.shape, [ch]);
  checkShape("adam hi", hi.shape, [ch]);
  const per = h * w * ch * 4;
  const chunk = gpu.batchChunk(batch, [per], `adam [${x.shape}]`);
  const t = state.t + 1;
  const lr = c.learningRate * Math.sqrt(1 - Math.pow(c.beta2, t)) / (1 - Math.pow(c.beta1, t));
  const bounds = gpu.scratch(2 * ch * 4);
  const outs = [gpu.output(x.shape), gpu.output(x.shape), gpu.output(x.shape)];
  const ins = [x, g, state.m, state.v].map((t) => gpu.bufferOf(t));
  const steps: Array<DispatchStep | CopyStep> = [
    { copy: { src: gpu.bufferOf(lo), srcOffset: 0, dst: bounds, dstOffset: 0, size: ch * 4 } },
    { copy: { src: gpu.bufferOf(hi), srcOffset: 0, dst: bounds, dstOffset: ch * 4, size: ch * 4 } },
  ];
  for (const [b0, nb] of chunks(batch, chunk)) {
    const total = nb * h * w * ch;
    steps.push({
      pipeline: p.adam,
      bindings: [
        ...ins.map((b) => range(b, b0 * per, nb * per)),
        bounds,
        ...outs.map((o) => range(o.buffer, b0 * per, nb * per)),
      ],
      uniforms: packParams([
        { u32: total },
        { u32: ch },
        { f32: lr },
        { f32: c.beta1 },
        { f32: c.beta2 },
        { f32: 1 - c.beta1 },
        { f32: 1 - c.beta2 },
        { f32: c.epsilon },
      ]),
      workgroups: fold(Math.ceil(total / ELEMENTWISE_WG), gpu.maxWorkgroups),
    });
  }
  gpu.run(steps, [bounds]);
  const [nx, nm, nv] = outs.map((o) => gpu.tensor<tf.Tensor4D>(o));
  return { x: nx, m: nm, v: nv };
}

/**
 * The custom kernel set. Call {@link selectKernels} (or
 * {@link initCustomKernels}) once first: it compiles the WGSL.
 *
 * @example
 * ```ts
 * import { useKernels } from "../ops.ts";
 * import { CUSTOM_KERNELS, initCustomKernels } from "./kernels.ts";
 * await initCustomKernels();
 * useKernels(CUSTOM_KERNELS);
 * ```
 */
export const CUSTOM_KERNELS: KernelSet = {
  name: "custom",
  conv3x3Relu,
  conv3x3ReluGradInput: (dy, y, _kernel, flipped) => conv3x3ReluGradInput(dy, y, flipped),
  maxPool2x2,
  gram: (f) => (f.shape[2] % 4 === 0 ? gramWithGrad(f) : STOCK_KERNELS.gram(f)),
  styleLoss: styleLossGpu,
  adamUpdate: adamUpdateGpu,
};

/**
 * The kernel set called `name` for `backend` (default: the active one),
 * compiled and ready for `useKernels`. `custom` needs webgpu; asking for it
 * elsewhere is a {@link UserError} that names the fix.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { useKernels } from "../ops.ts";
 * import { selectKernels } from "./kernels.ts";
 * const { name } = await initBackend("auto");
 * useKernels(await selectKernels(name === "webgpu" ? "custom" : "stock", name));
 * ```
 */
export async function selectKernels(
  name: "custom" | "stock",
  backend: string = tf.getBackend(),
): Promise<KernelSet> {
  if (name === "stock") return STOCK_KERNELS;
  if (name !== "custom") {
    throw new UserError(`--kernels: unknown kernel set '${name}' (known: custom, stock)`);
  }
  if (backend !== "webgpu" || tf.getBackend() !== "webgpu") {
    throw new UserError(
      `--kernels custom: the WGSL kernels need --backend webgpu (got ${backend}); ` +
        "use --kernels stock",
    );
  }
  await initCustomKernels();
  return CUSTOM_KERNELS;
}
