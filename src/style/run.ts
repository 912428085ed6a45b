/**
 * Stylize a batch of same-sized images end to end: upload, optimise for a
 * number of iterations, report every iteration's losses, and return the
 * lowest-loss image of each. Used by `deno task stylize` and by the study.
 *
 * @example
 * ```ts
 * import { stylizeBatch } from "./run.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const contents: import("../images/io.ts").RgbImage[];
 * declare const style: import("../images/io.ts").RgbImage;
 * const { images, histories } = await stylizeBatch(vgg, contents, style, {
 *   contentLayer: "block3_conv4", styleLayers: ["block1_conv1"], alpha: 1e3, beta: 1,
 *   adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 }, init: "content", seed: 0,
 * }, { iterations: 10 });
 * console.log(images.length, histories[0].length); // contents.length, 11
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import type { RgbImage } from "../images/io.ts";
import type { Vgg19 } from "../vgg/model.ts";
import { type GatysConfig, GatysOptimizer, type LossValues } from "./engine.ts";

/** One line of the loss log. */
export interface LossRecord extends LossValues {
  iteration: number;
}

/** How long to optimise and what to tell the caller on the way. */
export interface BatchRunOptions {
  /** Update steps; 0 evaluates and reports iteration 0 only. */
  iterations: number;
  /** Called after every evaluation with the batch's losses (index = batch item). */
  onIteration?: (iteration: number, losses: LossValues[]) => void | Promise<void>;
  /** Called every `every` iterations with the current images (e.g. for --save-every). */
  snapshot?: { every: number; save: (iteration: number, images: RgbImage[]) => Promise<void> };
}

/** Batch RGB images (all the same size) into one `[B,H,W,3]` tensor. */
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

/** Split a `[B,H,W,3]` tensor back into RGB images (one readback). */
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
 * its own loss. Returns the lowest-total-loss image of each batch item and
 * its loss history (iterations + 1 records, starting with iteration 0).
 */
export async function stylizeBatch(
  vgg: Vgg19,
  contents: readonly RgbImage[],
  style: RgbImage,
  config: GatysConfig,
  opts: BatchRunOptions,
): Promise<{ images: RgbImage[]; histories: LossRecord[][] }> {
  const contentT = toBatchTensor(contents);
  const styleT = toBatchTensor([style]);
  let opt: GatysOptimizer;
  try {
    opt = GatysOptimizer.create(vgg, contentT, styleT, config);
  } finally {
    tf.dispose([contentT, styleT]);
  }
  const histories: LossRecord[][] = contents.map(() => []);
  try {
    for (let it = 0; it <= opts.iterations; it++) {
      const losses = it < opts.iterations ? await opt.step() : await opt.evaluate();
      losses.forEach((l, i) => histories[i].push({ iteration: it, ...l }));
      await opts.onIteration?.(it, losses);
      if (opts.snapshot && it > 0 && it % opts.snapshot.every === 0 && it < opts.iterations) {
        const cur = opt.current();
        const imgs = await fromBatchTensor(cur);
        cur.dispose();
        await opts.snapshot.save(it, imgs);
      }
    }
    const best = opt.best();
    const images = await fromBatchTensor(best);
    best.dispose();
    return { images, histories };
  } finally {
    opt.dispose();
  }
}
