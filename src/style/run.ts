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
  /** Updates taken before this image (0: the starting image). */
  iteration: number;
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
  /** Called after every evaluation with the batch's losses (index = batch item). */
  onIteration?: (iteration: number, losses: LossValues[]) => void | Promise<void>;
  /** Called every `every` iterations with the current images (e.g. for --save-every). */
  snapshot?: { every: number; save: (iteration: number, images: RgbImage[]) => Promise<void> };
  /**
   * Asked after every evaluated iteration: true ends the run there (a graceful
   * stop), returning the best image so far (the current one before any update).
   */
  shouldStop?: () => boolean;
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
export async function stylizeBatch(
  vgg: Vgg19,
  contents: readonly RgbImage[],
  style: RgbImage,
  config: GatysConfig,
  opts: BatchRunOptions,
): Promise<BatchResult> {
  const contentT = toBatchTensor(contents);
  const styleT = toBatchTensor([style]);
  let opt: GatysOptimizer;
  try {
    opt = GatysOptimizer.create(vgg, contentT, styleT, config);
  } finally {
    tf.dispose([contentT, styleT]);
  }
  const histories: LossRecord[][] = contents.map(() => []);
  let stoppedAt: number | null = null;
  try {
    for (let it = 0; it <= opts.iterations; it++) {
      const losses = it < opts.iterations ? await opt.step() : await opt.evaluate();
      const evaluations = opt.reportedEvaluations;
      losses.forEach((l, i) => histories[i].push({ iteration: it, evaluations, ...l }));
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
    const best = opt.best();
    const images = await fromBatchTensor(best);
    best.dispose();
    return { images, histories, bestSteps: opt.bestSteps, stoppedAt };
  } finally {
    opt.dispose();
  }
}
