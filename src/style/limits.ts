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
  return largestSideWhere(orig, 1 << 20, (s) => fits(s, batch, specs, limit));
}

/** The largest long side in [1, `hi`] (`orig`'s aspect ratio) where `ok` holds; 1 if none (binary search, `ok` monotone). */
function largestSideWhere(orig: Size, hi: number, ok: (size: Size) => boolean): number {
  let lo = 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(fitLongSide(orig.width, orig.height, mid))) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Bytes per pixel that a tiled run keeps at full size besides a tile's step:
 * the image, Adam's two moments, the gradient and its running sum, the best
 * image and the content (about a dozen 3-channel float32 planes), and the
 * content layer's target features (`contentFloats` per pixel).
 *
 * @example
 * ```ts
 * import { tiledResidentBytes } from "./limits.ts";
 * console.log(tiledResidentBytes(16)); // 16 * 4 * 2 + 12 * 3 * 4
 * ```
 */
export function tiledResidentBytes(contentFloats: number): number {
  return contentFloats * 4 * 2 + 12 * 3 * 4;
}

/** Room kept per tile step in a tiled run: the step's own estimate times this. */
const TILE_STEP_HEADROOM = 2;

/** The largest tile core (a multiple of `align`) whose step fits beside the resident bytes, or 0. */
function largestTile(
  size: Size,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
  halo: number,
  align: number,
): number {
  const deepest = specs[specs.length - 1];
  const pools = specs.filter((s) => s.poolBefore).length;
  const resident = tiledResidentBytes(deepest.cOut / 4 ** pools) * size.width * size.height;
  let best = 0;
  for (let t = align; t <= Math.max(size.width, size.height); t += align) {
    const side = {
      width: Math.min(size.width, t + 2 * halo),
      height: Math.min(size.height, t + 2 * halo),
    };
    const step = estimateStepBytes(side.width, side.height, 1, specs);
    if (
      // Twice the step: tiles change shape as the grid moves, and the wasm heap never
      // shrinks or compacts (a 2048 px run in 400 px tiles grew its heap to 3.0 GiB
      // around 1.7 GiB of live tensors).
      resident + TILE_STEP_HEADROOM * step > limit.total ||
      4 * specs[0].cOut * side.width * side.height > limit.perTensor
    ) break;
    best = t;
  }
  return best;
}

/**
 * The content and style images of a run, as {@link checkSizes} sees them.
 *
 * @example
 * ```ts
 * import type { SizeRequest } from "./limits.ts";
 * const r: SizeRequest = {
 *   contents: [{ name: "a.png", size: { width: 64, height: 48 } }], sizeFlag: "--size",
 *   styles: [{ path: "s.jpg", dims: { width: 400, height: 300 } }], styleLongSide: (l) => l,
 *   styleFlag: "--size", batch: 1, overBatch: "one", overOne: "refuse",
 * };
 * ```
 */
export interface SizeRequest {
  /** Each content image: a name for messages, its size after resizing, its own size. */
  contents: Array<{ name: string; size: Size; orig?: Size }>;
  /** The flag that sets the content size (`--size`, `--stylize-size`, `--content`). */
  sizeFlag: string;
  /** How a content image is named in a too-small message; default `content image NAME`. */
  describe?: (name: string, size: Size) => string;
  /** Suggest `SIZEFLAG N or more` when a content image is too small (stylize; default true). */
  suggestSize?: boolean;
  styles: Array<{ path: string; dims: Size }>;
  /** The style image's long side for a content long side (stylize: times --style-scale). */
  styleLongSide: (contentLong: number) => number;
  /** The flag named when a style image comes out too small. */
  styleFlag: string;
  /** How a resized style image is named; default: resized to the content's long side. */
  describeStyle?: (path: string, long: number) => string;
  /** What to suggest when a style image is too small (given its own size and the smallest side). */
  styleFix?: (dims: Size, minSide: number) => string;
  batch: number;
  /** A batch over the bound: `split` into the largest that fits, `refuse` (naming --batch), or `one` (batch is 1). */
  overBatch: "split" | "refuse" | "one";
  /** One image over the bound: `tile` it (see `./tiles.ts`) or `refuse` with the largest size that fits. */
  overOne: "tile" | "refuse";
  /** `--tile`: tiles of this core size (a multiple of the deepest pool's stride) for every image larger. */
  tile?: number;
}

/**
 * How one group of same-sized content images runs: its batch size, and its
 * tile size when one image is over the memory bound.
 *
 * @example
 * ```ts
 * import type { GroupPlan } from "./limits.ts";
 * const g: GroupPlan = { batch: 1, tile: 600 };
 * ```
 */
export interface GroupPlan {
  batch: number;
  tile?: number;
  /** With automatic tiles: the largest long side that fits untiled (coarser scales run in one pass). */
  untiledUpTo?: number;
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
/** The limit in words: `the 3.2 GiB a step may use on wasm (wasm32 heap, 4 GiB ...)`. */
const budget = (l: MemoryLimit) =>
  Number.isFinite(l.total)
    ? `the ${gib(l.total)} a step may use on ${l.backend} (${l.why})`
    : `${l.backend}'s limit (${l.why})`;

/**
 * The one size check of `deno task stylize` and `deno task study`, before
 * any work and from the images' headers: every content image and every style
 * image (at the long side `styleLongSide` gives) must keep the deepest layer
 * at least 1x1, and pixels x batch must fit the backend's memory. Returns the
 * plan per `WxH` group of content images; a UserError names the flag and the
 * image, and says what fits.
 *
 * @example
 * ```ts
 * import { checkSizes, memoryLimit } from "./limits.ts";
 * import { layersUpTo } from "../vgg/layers.ts";
 * const specs = layersUpTo(["block3_conv4"]);
 * const plan = checkSizes({
 *   contents: [{ name: "a.png", size: { width: 64, height: 48 } }], sizeFlag: "--size",
 *   styles: [{ path: "s.jpg", dims: { width: 400, height: 300 } }], styleLongSide: (l) => l,
 *   styleFlag: "--size", batch: 1, overBatch: "one", overOne: "tile",
 * }, specs, memoryLimit("wasm", specs));
 * console.log(plan.get("64x48")); // { batch: 1 }
 * ```
 */
export function checkSizes(
  req: SizeRequest,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
  log: (line: string) => void = (l) => console.error(l),
): Map<string, GroupPlan> {
  checkStyleSides(req, specs, checkContentSides(req, specs));
  const out = new Map<string, GroupPlan>();
  for (const [key, g] of sizeGroups(req.contents)) {
    out.set(key, planGroup(req, key, g, specs, limit, log));
  }
  return out;
}

/** Every content image keeps the deepest layer at least 1x1; returns their long sides. */
function checkContentSides(req: SizeRequest, specs: readonly ConvLayerSpec[]): Set<number> {
  const minSide = minImageSide(specs).side;
  const longSides = new Set<number>();
  for (const c of req.contents) {
    checkMinSide(
      c.size,
      specs,
      req.sizeFlag,
      req.describe?.(c.name, c.size) ?? `content image ${c.name}`,
      req.suggestSize === false
        ? undefined
        : `use --size ${smallestLongSide(c.orig ?? c.size, minSide)} or more`,
    );
    longSides.add(Math.max(c.size.width, c.size.height));
  }
  return longSides;
}

/** Every style image, at the long side each content long side gives it, keeps the deepest layer. */
function checkStyleSides(
  req: SizeRequest,
  specs: readonly ConvLayerSpec[],
  longSides: Set<number>,
): void {
  const minSide = minImageSide(specs).side;
  for (const long of longSides) {
    const sl = req.styleLongSide(long);
    for (const s of req.styles) {
      checkMinSide(
        fitLongSide(s.dims.width, s.dims.height, sl),
        specs,
        req.styleFlag,
        req.describeStyle?.(s.path, sl) ??
          `the style image ${s.path} (resized to the content's long side ${long}, keeping its aspect ratio)`,
        req.styleFix?.(s.dims, minSide) ??
          `use --size ${
            smallestLongSide(s.dims, minSide)
          } or more, or a less elongated style image`,
      );
    }
  }
}

/** The content images by `WxH`, in order of first appearance. */
function sizeGroups(
  contents: SizeRequest["contents"],
): Map<string, { size: Size; names: string[] }> {
  const groups = new Map<string, { size: Size; names: string[] }>();
  for (const c of contents) {
    const key = `${c.size.width}x${c.size.height}`;
    const g = groups.get(key) ?? { size: c.size, names: [] };
    g.names.push(c.name);
    groups.set(key, g);
  }
  return groups;
}

/** {@link checkSizes} for one group of same-sized images. */
function planGroup(
  req: SizeRequest,
  key: string,
  g: { size: Size; names: string[] },
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
  log: (line: string) => void,
): GroupPlan {
  if (req.tile !== undefined && Math.max(g.size.width, g.size.height) > req.tile) {
    return planUserTile(req.tile, key, g.size, specs, limit, log);
  }
  const want = req.overBatch === "one"
    ? 1
    : req.overBatch === "refuse"
    ? req.batch
    : Math.min(req.batch, g.names.length);
  if (fits(g.size, want, specs, limit)) return { batch: req.overBatch === "one" ? 1 : req.batch };
  const mb = maxBatch(g.size, specs, limit);
  const over = overMemory(g.size, specs, limit);
  if (mb >= 1 && req.overBatch === "split") {
    log(`batch: ${want} image(s) of ${key} ${over(want)}; running them in batches of ${mb}`);
    return { batch: mb };
  }
  if (mb >= 1) {
    throw new UserError(
      `--batch: ${want} images of ${key} px ${over(want)}; the largest batch that fits is ${mb}`,
    );
  }
  return planOne(req, key, g, specs, limit, log);
}

/** The halo, the tile alignment, and the largest tile core of `size` that fits (0 if none). */
function tileRoom(
  size: Size,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
): { halo: number; align: number; most: number } {
  const halo = tileHaloOf(specs), align = minImageSide(specs).side;
  return { halo, align, most: largestTile(size, specs, limit, halo, align) };
}

/** `--tile PX` for a group larger than PX: one image at a time, or a UserError when such tiles do not fit. */
function planUserTile(
  tile: number,
  key: string,
  size: Size,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
  log: (line: string) => void,
): GroupPlan {
  const { halo, align, most } = tileRoom(size, specs, limit);
  if (tile > most) {
    throw new UserError(
      most >= align
        ? `--tile: tiles of ${tile} px (+${halo} px halo) of ${key} px need more memory than ${limit.backend} has; the largest tile that fits is --tile ${most}`
        : `--tile: ${key} px needs more memory than ${limit.backend} has even in tiles of ${align} px`,
    );
  }
  log(`tiles: ${key} px in tiles of ${tile} px (+${halo} px halo) [--tile]`);
  return { batch: 1, tile };
}

/** `needs more memory than ...` for `n` images of `size`, in words. */
function overMemory(
  size: Size,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
): (n: number) => string {
  return (n) =>
    `need${n === 1 ? "s" : ""} more memory than ${limit.backend} has (about ${
      gib(estimateStepBytes(size.width, size.height, n, specs))
    } per step, over ${budget(limit)})`;
}

/** One image of a group is over the bound: tile it, or refuse with the largest size that fits. */
function planOne(
  req: SizeRequest,
  key: string,
  g: { size: Size; names: string[] },
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
  log: (line: string) => void,
): GroupPlan {
  const over = overMemory(g.size, specs, limit);
  const what = req.overBatch === "refuse" ? "" : `${g.names[0]} at `;
  if (req.overOne === "tile") {
    const { halo, align, most: tile } = tileRoom(g.size, specs, limit);
    if (tile >= align) {
      log(
        `tiles: ${what}${key} px ${over(1)}; running it in tiles of ${tile} px (+${halo} px halo)`,
      );
      return { batch: 1, tile, untiledUpTo: largestLongSide(g.size, 1, specs, limit) };
    }
    throw new UserError(
      `${req.sizeFlag}: ${what}${key} px, even in tiles, ${
        over(1)
      }; the largest that fits is ${req.sizeFlag} ${
        largestTiledLongSide(g.size, specs, limit)
      } (in tiles)`,
    );
  }
  throw new UserError(
    `${req.sizeFlag}: ${what}${key} px ${over(1)}; the largest that fits is ${req.sizeFlag} ${
      largestLongSide(g.size, 1, specs, limit)
    }`,
  );
}

/** The largest long side (`size`'s aspect ratio) whose tiles of at least `align` px fit; 1 if none. */
function largestTiledLongSide(
  size: Size,
  specs: readonly ConvLayerSpec[],
  limit: MemoryLimit,
): number {
  return largestSideWhere(size, Math.max(size.width, size.height), (s) => {
    const room = tileRoom(s, specs, limit);
    return room.most >= room.align;
  });
}

/**
 * The halo of a tile (see `tileHalo` in `./tiles.ts`, which this mirrors
 * without importing the tfjs side): the receptive-field radius of the deepest
 * layer, rounded up to a multiple of the deepest pool's stride.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { tileHaloOf } from "./limits.ts";
 * console.log(tileHaloOf(layersUpTo(["block3_conv4"]))); // 28
 * ```
 */
export function tileHaloOf(specs: readonly ConvLayerSpec[]): number {
  let pools = 0, r = 0;
  for (const s of specs) {
    if (s.poolBefore) {
      r += 2 ** pools;
      pools++;
    }
    r += 2 ** pools;
  }
  const a = 2 ** pools;
  return Math.ceil(r / a) * a;
}
