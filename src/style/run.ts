/**
 * Stylize a batch of same-sized images end to end: upload, optimise for a
 * number of iterations (Adam or L-BFGS, `config.optimizer`), report every
 * iteration's losses, and return the lowest-loss image of each among the
 * iterates after at least one update. Used by `deno task stylize` and by the
 * study.
 *
 * @example
 * ```ts
 * import { stylizeBatch } from "./run.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const contents: import("../images/io.ts").RgbImage[];
 * declare const style: import("../images/io.ts").RgbImage;
 * const { images, histories, bestSteps } = await stylizeBatch(vgg, contents, style, {
 *   contentLayer: "block3_conv4", styleLayers: ["block1_conv1"], alpha: 1e3, beta: 1,
 *   adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 }, init: "content", seed: 0,
 * }, { iterations: 10 });
 * console.log(images.length, histories[0].length); // contents.length, 11
 * console.log(bestSteps[0]); // the iteration (1..10) whose image was returned
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import type { RgbImage } from "../images/io.ts";
import type { AdamState } from "../ops/active.ts";
import type { Vgg19 } from "../vgg/model.ts";
import { type GatysConfig, GatysOptimizer, type LossValues } from "./engine.ts";

/**
 * One line of the loss log.
 *
 * @example
 * ```ts
 * import type { LossRecord } from "./run.ts";
 * const r: LossRecord = {
 *   iteration: 3, evaluations: 5, content_loss: 1, style_loss: 2, total_loss: 1002,
 * };
 * ```
 */
export interface LossRecord extends LossValues {
  /** Updates taken before this image (0: the starting image), counted within its scale. */
  iteration: number;
  /** Coarse-to-fine only: the scale (0: the coarsest). */
  scale?: number;
  /** Coarse-to-fine only: the scale's image width, pixels. */
  width?: number;
  /** Coarse-to-fine only: the scale's image height, pixels. */
  height?: number;
  /**
   * Objective evaluations (VGG passes over the batch) spent up to and
   * including the one that gave these losses: iteration + 1 with Adam, more
   * with L-BFGS when its line search backtracks. Compare optimisers by this
   * (or wall time), not by iteration.
   */
  evaluations: number;
}

/**
 * What {@link stylizeBatch} returns, per batch item: the result image, the
 * loss history, and the iteration the image comes from (`null` when
 * `iterations` is 0: then the image is the starting image, unchanged).
 *
 * @example
 * ```ts
 * import type { BatchResult } from "./run.ts";
 * declare const r: BatchResult;
 * const { images, histories, bestSteps } = r;
 * ```
 */
export interface BatchResult {
  /** The best image of each content image, in order. */
  images: RgbImage[];
  /** Every iteration's losses, per image. */
  histories: LossRecord[][];
  /** The iteration each returned image comes from (null: no update ran). */
  bestSteps: (number | null)[];
  /** The last iteration evaluated when `shouldStop` ended the run early; null when it ran to the end. */
  stoppedAt?: number | null;
}

/**
 * How long to optimise and what to tell the caller on the way.
 *
 * @example
 * ```ts
 * import type { BatchRunOptions } from "./run.ts";
 * const opts: BatchRunOptions = { iterations: 100, onIteration: (it, l) => console.log(it, l) };
 * ```
 */
export interface BatchRunOptions {
  /** Update steps; 0 evaluates and reports iteration 0 only. */
  iterations: number;
  /**
   * Called after every evaluation with the batch's losses (index = batch item);
   * `scale` says which scale of a coarse-to-fine run (absent with one scale).
   */
  onIteration?: (
    iteration: number,
    losses: LossValues[],
    scale?: ScaleInfo,
  ) => void | Promise<void>;
  /** Called every `every` iterations with the current images (e.g. for --save-every). */
  snapshot?: { every: number; save: (iteration: number, images: RgbImage[]) => Promise<void> };
  /**
   * Asked after every evaluated iteration: true ends the run there (a graceful
   * stop), returning the best image so far (the current one before any update).
   */
  shouldStop?: () => boolean;
}

/**
 * Where a coarse-to-fine run is: the scale's index (0: coarsest), how many
 * there are, and the scale's image size.
 *
 * @example
 * ```ts
 * import type { ScaleInfo } from "./run.ts";
 * const s: ScaleInfo = { index: 0, count: 4, width: 181, height: 128 };
 * ```
 */
export interface ScaleInfo {
  /** The scale, 0 for the coarsest. */
  index: number;
  /** How many scales the run has. */
  count: number;
  /** The scale's image width, pixels. */
  width: number;
  /** The scale's image height, pixels. */
  height: number;
}

/**
 * One scale of a coarse-to-fine run: the content images and style images
 * resized for it (the caller resizes, with proper antialiasing), its update
 * steps, and its tile size when it is over the memory bound.
 *
 * @example
 * ```ts
 * import type { ScaleStep } from "./run.ts";
 * declare const c: import("../images/io.ts").RgbImage, s: import("../images/io.ts").RgbImage;
 * const step: ScaleStep = { contents: [c], styles: [s], iterations: 100 };
 * ```
 */
export interface ScaleStep {
  contents: RgbImage[];
  styles: RgbImage[];
  iterations: number;
  /** Evaluate in tiles of this many pixels (see `./tiles.ts`); absent: in one pass. */
  tile?: number;
}

/**
 * Batch RGB images (all the same size) into one `[B,H,W,3]` tensor.
 *
 * @example
 * ```ts
 * import { toBatchTensor } from "./run.ts";
 * const t = toBatchTensor([{ data: new Float32Array(12), width: 2, height: 2 }]);
 * console.log(t.shape); // [1, 2, 2, 3]
 * ```
 */
export function toBatchTensor(images: readonly RgbImage[]): tf.Tensor4D {
  const { width, height } = images[0];
  for (const im of images) {
    if (im.width !== width || im.height !== height) {
      throw new Error("a batch needs images of one size");
    }
  }
  const data = new Float32Array(images.length * width * height * 3);
  images.forEach((im, i) => data.set(im.data, i * im.data.length));
  return tf.tensor4d(data, [images.length, height, width, 3]);
}

/**
 * Split a `[B,H,W,3]` tensor back into RGB images (one readback).
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { fromBatchTensor } from "./run.ts";
 * const [im] = await fromBatchTensor(tf.zeros([1, 2, 2, 3]));
 * console.log(im.width, im.data.length); // 2 12
 * ```
 */
export async function fromBatchTensor(t: tf.Tensor4D): Promise<RgbImage[]> {
  const [b, height, width] = t.shape;
  const all = await t.data() as Float32Array;
  const n = width * height * 3;
  return Array.from(
    { length: b },
    (_, i) => ({ data: all.slice(i * n, (i + 1) * n), width, height }),
  );
}

/**
 * Optimise a batch of content images towards one style; each image keeps
 * its own loss. Returns, per batch item, the lowest-total-loss image among
 * iterations 1..`iterations` (the starting image is never chosen), the
 * iteration it comes from, and the loss history (iterations + 1 records,
 * starting with iteration 0). With `iterations` 0 there is no update: the
 * image returned is the current (starting) image and its best step is null.
 *
 * @example
 * ```ts
 * import { stylizeBatch } from "./run.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const contents: import("../images/io.ts").RgbImage[];
 * declare const style: import("../images/io.ts").RgbImage;
 * declare const config: import("./engine.ts").GatysConfig;
 * const r = await stylizeBatch(vgg, contents, style, { ...config, optimizer: "lbfgs" }, {
 *   iterations: 20,
 * });
 * console.log(r.bestSteps, r.histories[0].at(-1)?.evaluations);
 * ```
 */
export function stylizeBatch(
  vgg: Vgg19,
  contents: readonly RgbImage[],
  style: RgbImage,
  config: GatysConfig,
  opts: BatchRunOptions,
): Promise<BatchResult> {
  return stylizeScales(
    vgg,
    [{ contents: [...contents], styles: [style], iterations: opts.iterations }],
    config,
    opts,
  );
}

/**
 * Coarse to fine: optimise at each scale in turn, each scale starting from
 * the previous scale's best image upsampled (bilinear) and, with Adam, from
 * its moments upsampled the same way (they are per-pixel, so they keep their
 * meaning; L-BFGS's curvature pairs do not survive a change of dimension and
 * restart). The style targets are recomputed at each scale from that scale's
 * style images. Histories hold every scale's records (tagged with `scale`
 * when there is more than one); the image returned is the lowest-loss one of
 * the last scale, or, when a stop comes earlier, the best so far upsampled to
 * the last scale's size. `opts.iterations` is ignored (each step has its own);
 * snapshots are taken at the last scale only.
 *
 * @example
 * ```ts
 * import { stylizeScales } from "./run.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const steps: import("./run.ts").ScaleStep[];
 * declare const config: import("./engine.ts").GatysConfig;
 * const r = await stylizeScales(vgg, steps, config, { iterations: 0 });
 * console.log(r.histories[0].filter((h) => h.scale === 0).length);
 * ```
 */
export async function stylizeScales(
  vgg: Vgg19,
  steps: readonly ScaleStep[],
  config: GatysConfig,
  opts: BatchRunOptions,
): Promise<BatchResult> {
  const many = steps.length > 1;
  const histories: LossRecord[][] = steps[0].contents.map(() => []);
  let init = config.init;
  let warm: AdamState | undefined;
  try {
    for (const [k, step] of steps.entries()) {
      const last = k === steps.length - 1;
      const { width, height } = step.contents[0];
      const scale: ScaleInfo = { index: k, count: steps.length, width, height };
      const r = await runScale(
        vgg,
        step,
        { ...config, init, tile: step.tile },
        warm,
        !last,
        {
          ...opts,
          iterations: step.iterations,
          snapshot: last ? opts.snapshot : undefined,
          onIteration: (it, losses) => opts.onIteration?.(it, losses, many ? scale : undefined),
        },
        many ? { scale: k, width, height } : {},
        histories,
      );
      warm = undefined;
      if (k > 0 && typeof init !== "string") init.dispose();
      if (last || r.stoppedAt !== null) {
        const final = steps[steps.length - 1].contents[0];
        const best = last ? r.best : resize(r.best, final.height, final.width);
        if (!last) r.best.dispose();
        r.adam && tf.dispose([r.adam.m, r.adam.v]);
        const images = await fromBatchTensor(best);
        best.dispose();
        return { images, histories, bestSteps: r.bestSteps, stoppedAt: r.stoppedAt };
      }
      const next = steps[k + 1].contents[0];
      init = resize(r.best, next.height, next.width);
      r.best.dispose();
      if (r.adam) {
        warm = {
          m: resize(r.adam.m, next.height, next.width, false),
          v: resize(r.adam.v, next.height, next.width, false),
          t: r.adam.t,
        };
        tf.dispose([r.adam.m, r.adam.v]);
      }
    }
    throw new Error("no scales");
  } finally {
    if (warm) tf.dispose([warm.m, warm.v]);
  }
}

/** Bilinear resize of `[B,H,W,C]` to `h` x `w`; pixel values clipped to [0, 255] unless `clip` is false. */
function resize(t: tf.Tensor4D, h: number, w: number, clip = true): tf.Tensor4D {
  return tf.tidy(() => {
    const r = tf.image.resizeBilinear(t, [h, w], false, true);
    return (clip ? tf.clipByValue(r, 0, 255) : r) as tf.Tensor4D;
  });
}

/** One scale: the optimisation loop of {@link stylizeBatch}, keeping the best image and Adam's state. */
async function runScale(
  vgg: Vgg19,
  step: ScaleStep,
  config: GatysConfig,
  warm: AdamState | undefined,
  keepAdam: boolean,
  opts: BatchRunOptions,
  tag: Partial<LossRecord>,
  histories: LossRecord[][],
): Promise<{
  best: tf.Tensor4D;
  adam: AdamState | null;
  bestSteps: (number | null)[];
  stoppedAt: number | null;
}> {
  const contentT = toBatchTensor(step.contents);
  const styleTs = step.styles.map((s) => toBatchTensor([s]));
  let opt: GatysOptimizer;
  try {
    opt = GatysOptimizer.create(vgg, contentT, styleTs, config, warm);
  } catch (e) {
    if (warm) tf.dispose([warm.m, warm.v]);
    throw e;
  } finally {
    tf.dispose([contentT, ...styleTs]);
  }
  let stoppedAt: number | null = null;
  try {
    for (let it = 0; it <= opts.iterations; it++) {
      const losses = it < opts.iterations ? await opt.step() : await opt.evaluate();
      const evaluations = opt.reportedEvaluations;
      losses.forEach((l, i) => histories[i].push({ iteration: it, evaluations, ...tag, ...l }));
      await opts.onIteration?.(it, losses);
      if (opts.snapshot && it > 0 && it % opts.snapshot.every === 0 && it < opts.iterations) {
        const cur = opt.current();
        const imgs = await fromBatchTensor(cur);
        cur.dispose();
        await opts.snapshot.save(it, imgs);
      }
      if (it < opts.iterations && opts.shouldStop?.()) {
        stoppedAt = it;
        break;
      }
    }
    const adam = keepAdam ? opt.adamState() : null;
    return { best: opt.best(), adam, bestSteps: opt.bestSteps, stoppedAt };
  } finally {
    opt.dispose();
  }
}
