/**
 * Size limits of a Gatys run, checked before any work: the smallest image
 * side that keeps every needed layer's feature map at least 1x1 after VGG19's
 * 2x2 'valid' max pools, and an upper bound on pixels x batch from a memory
 * estimate of the backend (wasm32: a 4 GiB heap; webgpu: the adapter's
 * largest buffer; cpu: the machine's memory).
 *
 * The memory model: one step keeps about {@link BYTES_PER_ACTIVATION} bytes per
 * activation value of the needed conv layers (forward outputs, ReLU masks,
 * gradients and Adam's moments; measured with `tf.profile` on the cpu backend
 * at about 4.9 x 4 bytes, rounded up), plus the weights.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { checkMinSide, estimateStepBytes, minImageSide } from "./limits.ts";
 * const specs = layersUpTo(["block3_conv4"]);
 * console.log(minImageSide(specs)); // { side: 4, layer: "block3_conv4", pools: 2 }
 * checkMinSide({ width: 64, height: 48 }, specs, "--size", "content image a.jpg");
 * console.log(estimateStepBytes(64, 48, 1, specs) > 0); // true
 * ```
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { ConvLayerSpec } from "../vgg/layers.ts";
import { fitLongSide } from "../images/io.ts";

/**
 * Width and height in pixels.
 *
 * @example
 * ```ts
 * import type { Size } from "./limits.ts";
 * const s: Size = { width: 64, height: 48 };
 * ```
 */
export interface Size {
  width: number;
  height: number;
}

/**
 * Bytes one step keeps per activation value of the needed layers (see the module doc).
 *
 * @example
 * ```ts
 * import { BYTES_PER_ACTIVATION } from "./limits.ts";
 * console.log(BYTES_PER_ACTIVATION); // 24
 * ```
 */
export const BYTES_PER_ACTIVATION = 24;

/**
 * wasm32's address space; tfjs-wasm's heap cannot grow past it.
 *
 * @example
 * ```ts
 * import { WASM_HEAP_BYTES } from "./limits.ts";
 * console.log(WASM_HEAP_BYTES / 1024 ** 3); // 4
 * ```
 */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/**
 * The smallest image side for `specs` (the prefix of VGG19 a run needs): the
 * deepest layer sees the image after `pools` 2x2 'valid' pools, so each side
 * must be at least 2^pools.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { minImageSide } from "./limits.ts";
 * console.log(minImageSide(layersUpTo(["block5_conv2"])).side); // 16
 * ```
 */
export function minImageSide(
  specs: readonly ConvLayerSpec[],
): { side: number; layer: string; pools: number } {
  const pools = specs.filter((s) => s.poolBefore).length;
  return { side: 2 ** pools, layer: specs[specs.length - 1].name, pools };
}

/**
 * The smallest long side at which an image of `orig` proportions (resized with
 * {@link fitLongSide}) has both sides >= `minSide`.
 *
 * @example
 * ```ts
 * import { smallestLongSide } from "./limits.ts";
 * console.log(smallestLongSide({ width: 200, height: 100 }, 4)); // 7
 * ```
 */
export function smallestLongSide(orig: Size, minSide: number): number {
  const long = Math.max(orig.width, orig.height);
  const short = Math.min(orig.width, orig.height);
  let l = Math.max(minSide, Math.floor(((minSide - 0.5) * long) / short) - 1);
  while (true) {
    const s = fitLongSide(orig.width, orig.height, l);
    if (Math.min(s.width, s.height) >= minSide) return l;
    l++;
  }
}

/**
 * Throw a UserError when `size` is too small for `specs`, naming the flag, the
 * image (`what`) and the layer. `fix`, when given, is appended (how to fix it).
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { checkMinSide } from "./limits.ts";
 * try {
 *   checkMinSide({ width: 5, height: 3 }, layersUpTo(["block3_conv4"]), "--size", "style image s.jpg");
 * } catch (e) {
 *   console.log((e as Error).message); // --size: style image s.jpg would be 5x3 px; block3_conv4 ...
 * }
 * ```
 */
export function checkMinSide(
  size: Size,
  specs: readonly ConvLayerSpec[],
  flag: string,
  what: string,
  fix?: string,
): void {
  const min = minImageSide(specs);
  if (size.width >= min.side && size.height >= min.side) return;
  throw new UserError(
    `${flag}: ${what} would be ${size.width}x${size.height} px; layer ${min.layer} (after ${min.pools} ` +
      `2x2 pools) needs both sides >= ${min.side} px${fix ? ` (${fix})` : ""}`,
  );
}

/** Activation values per pixel of the input for the layers `specs` (sum over layers). */
function activationsPerPixel(specs: readonly ConvLayerSpec[]): number {
  let scale = 1, sum = 0;
  for (const s of specs) {
    if (s.poolBefore) scale /= 4;
    sum += s.cOut * scale;
  }
  return sum;
}

/**
 * Bytes of the weights of `specs` (float32 kernels and biases).
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { weightBytes } from "./limits.ts";
 * console.log(weightBytes(layersUpTo(["block1_conv1"]))); // 7168
 * ```
 */
export function weightBytes(specs: readonly ConvLayerSpec[]): number {
  return specs.reduce((n, s) => n + 4 * (9 * s.cIn * s.cOut + s.cOut), 0);
}

/**
 * Estimated peak bytes of one step on a `batch` of `width x height` images,
 * weights excluded.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { estimateStepBytes } from "./limits.ts";
 * console.log(estimateStepBytes(512, 384, 8, layersUpTo(["block3_conv4"])) > 4 * 1024 ** 3); // true
 * ```
 */
export function estimateStepBytes(
  width: number,
  height: number,
  batch: number,
  specs: readonly ConvLayerSpec[],
): number {
  return BYTES_PER_ACTIVATION * activationsPerPixel(specs) * width * height * batch;
}

/**
 * What a backend can hold: `total` bytes for a step (weights excluded) and
 * `perTensor`, the largest single tensor (webgpu: one storage buffer).
 *
 * @example
 * ```ts
 * import type { MemoryLimit } from "./limits.ts";
 * const m: MemoryLimit = { backend: "wasm", total: 3e9, perTensor: Infinity, why: "wasm32 heap" };
 * ```
 */
export interface MemoryLimit {
  backend: string;
  total: number;
  perTensor: number;
  /** Where the limit comes from, for the error message. */
  why: string;
}

/**
 * The memory limit of `backend` for `specs`. wasm: 4 GiB less the weights, with
 * a fifth kept for the allocator's fragmentation; webgpu: the adapter's
 * `maxStorageBufferBindingSize`/`maxBufferSize` per tensor (no total is
 * known); cpu: 80 % of the machine's memory.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { memoryLimit } from "./limits.ts";
 * console.log(memoryLimit("wasm", layersUpTo(["block3_conv4"])).why); // wasm32 heap of 4 GiB, less ...
 * ```
 */
export function memoryLimit(
  backend: "wasm" | "webgpu" | "cpu",
  specs: readonly ConvLayerSpec[],
  adapterLimits?: { maxBufferSize: number; maxStorageBufferBindingSize: number },
): MemoryLimit {
  const w = weightBytes(specs);
  if (backend === "wasm") {
    return {
      backend,
      total: 0.8 * WASM_HEAP_BYTES - w,
      perTensor: Infinity,
      why: "wasm32 heap of 4 GiB, less a fifth for fragmentation and the weights",
    };
  }
  if (backend === "webgpu") {
    const per = adapterLimits
      ? Math.min(adapterLimits.maxBufferSize, adapterLimits.maxStorageBufferBindingSize)
      : 128 * 1024 ** 2; // the WebGPU default maxStorageBufferBindingSize
    return {
      backend,
      total: Infinity,
      perTensor: per,
      why: `the adapter's largest storage buffer (${(per / 1024 ** 2).toFixed(0)} MiB)`,
    };
  }
  const total = 0.8 * Deno.systemMemoryInfo().total - w;
  return {
    backend,
    total,
    perTensor: Infinity,
    why: `80 % of this machine's memory (${(total / 1024 ** 3).toFixed(1)} GiB)`,
  };
}

/**
 * True when one step on `batch` images of `size` fits `limit`.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { fits, memoryLimit } from "./limits.ts";
 * const specs = layersUpTo(["block3_conv4"]);
 * console.log(fits({ width: 64, height: 64 }, 1, specs, memoryLimit("wasm", specs))); // true
 * ```
 */
export function fits(
  size: Size,
  batch: number,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
): boolean {
  const largestTensor = 4 * specs[0].cOut * size.width * size.height * batch;
  return estimateStepBytes(size.width, size.height, batch, specs) <= limit.total &&
    largestTensor <= limit.perTensor;
}

/**
 * The largest batch of `size` images that fits `limit` (0 when not even one does).
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { maxBatch, memoryLimit } from "./limits.ts";
 * const specs = layersUpTo(["block3_conv4"]);
 * console.log(maxBatch({ width: 512, height: 384 }, specs, memoryLimit("wasm", specs))); // 2
 * ```
 */
export function maxBatch(size: Size, specs: readonly ConvLayerSpec[], limit: MemoryLimit): number {
  const one = estimateStepBytes(size.width, size.height, 1, specs);
  const tensor = 4 * specs[0].cOut * size.width * size.height;
  return Math.floor(Math.min(limit.total / one, limit.perTensor / tensor));
}

/**
 * The largest long side at which `batch` images of `orig` proportions fit `limit`.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { largestLongSide, memoryLimit } from "./limits.ts";
 * const specs = layersUpTo(["block3_conv4"]);
 * console.log(largestLongSide({ width: 4, height: 3 }, 1, specs, memoryLimit("wasm", specs)));
 * ```
 */
export function largestLongSide(
  orig: Size,
  batch: number,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
): number {
  let lo = 1, hi = 1 << 20;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(fitLongSide(orig.width, orig.height, mid), batch, specs, limit)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
