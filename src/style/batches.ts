/**
 * The batches of `deno task stylize` and where they run: content images
 * grouped by size into batches (one tensor each, split to fit memory), the
 * scales of each batch (content and style images decoded at each size, grey
 * for `--original-colors`), and the choice between this process (one file)
 * and the worker pool (a directory).
 *
 * @example
 * ```ts
 * import { makeBatches } from "./batches.ts";
 * declare const images: import("./batches.ts").ContentImage[];
 * const batches = makeBatches(images, new Map([["64x48", { batch: 2 }]]), 1);
 * console.log(batches[0].items.length); // up to 2
 * ```
 * @module
 */
import { decodeImage, loadImage, type RgbImage } from "../images/io.ts";
import { Vgg19 } from "../vgg/model.ts";
import type { VggWeights } from "../vgg/weights.ts";
import { UserError } from "../util/errors.ts";
import { luminanceImage, matchLuminance } from "./color.ts";
import type { LossValues } from "./engine.ts";
import { NonFiniteLossError } from "./engine.ts";
import type { GroupPlan } from "./limits.ts";
import type { StylizePlan } from "./plan.ts";
import { defaultWorkerCount, type StyleJob, StylePool } from "./pool.ts";
import type { ScaleInfo, ScaleStep } from "./run.ts";
import { styleJobsHere } from "./job.ts";
import type { PoolJob } from "../util/pool.ts";
import { runJobs } from "../util/runner.ts";
import { scaleIterations, scaleLongSides } from "./scales.ts";

/**
 * A content image: its path and its pixels at the final size.
 *
 * @example
 * ```ts
 * import type { ContentImage } from "./batches.ts";
 * declare const img: import("../images/io.ts").RgbImage;
 * const c: ContentImage = { path: "a.jpg", img };
 * ```
 */
export interface ContentImage {
  path: string;
  img: RgbImage;
}

/**
 * A batch: images of one size optimised together, and its tile size when one
 * image is over the memory bound.
 *
 * @example
 * ```ts
 * import type { Batch } from "./batches.ts";
 * declare const b: Batch;
 * console.log(b.items.map((i) => i.path), b.tile);
 * ```
 */
export interface Batch {
  items: ContentImage[];
  tile?: number;
  /** Scales with a long side up to this run untiled (see `GroupPlan`). */
  untiledUpTo?: number;
}

/**
 * Group images by size and split each group into batches of the size
 * {@link checkSizes} allowed (`fallback` where it said nothing).
 *
 * @example
 * ```ts
 * import { makeBatches } from "./batches.ts";
 * console.log(makeBatches([], new Map(), 1)); // []
 * ```
 */
export function makeBatches(
  images: readonly ContentImage[],
  plans: Map<string, GroupPlan>,
  fallback: number,
): Batch[] {
  const groups = new Map<string, ContentImage[]>();
  for (const im of images) {
    const key = `${im.img.width}x${im.img.height}`;
    groups.set(key, [...(groups.get(key) ?? []), im]);
  }
  const out: Batch[] = [];
  for (const [key, g] of groups) {
    const p = plans.get(key) ?? { batch: fallback };
    for (let i = 0; i < g.length; i += p.batch) {
      out.push({
        items: g.slice(i, i + p.batch),
        ...(p.tile ? { tile: p.tile } : {}),
        ...(p.untiledUpTo ? { untiledUpTo: p.untiledUpTo } : {}),
      });
    }
  }
  return out;
}

/**
 * The scales of a batch: at each long side of the schedule, the contents
 * (decoded again at that size; the last scale is the batch's own images) and
 * each style image at that long side times `--style-scale`; grey and
 * luminance-matched with `--original-colors`. The tile applies at the scales
 * larger than it, and with automatic tiles only at those over the memory
 * bound (the coarser ones run in one pass).
 *
 * @example
 * ```ts
 * import { scaleSteps } from "./batches.ts";
 * declare const plan: import("./plan.ts").StylizePlan;
 * declare const batch: import("./batches.ts").Batch;
 * declare const styleBytes: Uint8Array[];
 * const steps = await scaleSteps(plan, batch, styleBytes);
 * console.log(steps.map((s) => s.contents[0].width));
 * ```
 */
export async function scaleSteps(
  plan: StylizePlan,
  batch: Batch,
  styleBytes: readonly Uint8Array[],
): Promise<ScaleStep[]> {
  const { width, height } = batch.items[0].img;
  const long = Math.max(width, height);
  const sides = scaleLongSides(long, plan.scales);
  const iters = scaleIterations(sides.length, plan.iterations, plan.scaleIterations);
  const steps: ScaleStep[] = [];
  for (const [k, side] of sides.entries()) {
    const last = k === sides.length - 1;
    let contents = last
      ? batch.items.map((i) => i.img)
      : await Promise.all(batch.items.map((i) => loadImage(i.path, { longSide: side })));
    let styles = await Promise.all(
      styleBytes.map((b, i) =>
        decodeImage(b, plan.stylePaths[i], {
          longSide: Math.max(1, Math.round(side * plan.styleScale)),
        })
      ),
    );
    if (plan.originalColors) {
      contents = contents.map(luminanceImage);
      styles = styles.map((s) => matchLuminance(luminanceImage(s), contents[0]));
    }
    const tile = batch.tile && side > Math.max(batch.tile, batch.untiledUpTo ?? 0)
      ? batch.tile
      : undefined;
    steps.push({ contents, styles, iterations: iters[k], ...(tile ? { tile } : {}) });
  }
  return steps;
}

/**
 * What {@link runBatches} reports: each evaluated iteration, each snapshot,
 * each finished batch.
 *
 * @example
 * ```ts
 * import type { BatchEvents } from "./batches.ts";
 * const ev: BatchEvents = {
 *   onIteration: () => {}, onSnapshot: async () => {}, onResult: async () => {},
 * };
 * ```
 */
export interface BatchEvents {
  onIteration: (
    b: number,
    it: number,
    losses: LossValues[],
    seconds: number,
    scale?: ScaleInfo,
  ) => void | Promise<void>;
  onSnapshot: (b: number, it: number, images: RgbImage[]) => Promise<void>;
  onResult: (
    b: number,
    images: RgbImage[],
    seconds: number,
    stoppedAt: number | null,
  ) => Promise<void>;
}

/**
 * Run every batch: in this process for one file, on a pool of `--workers`
 * workers (each its own backend) for a directory. Batches are prepared (the
 * images of each scale decoded) as they are started.
 *
 * @example
 * ```ts
 * import { runBatches } from "./batches.ts";
 * declare const a: Parameters<typeof runBatches>;
 * await runBatches(...a);
 * ```
 */
export async function runBatches(
  plan: StylizePlan,
  batches: readonly Batch[],
  weights: VggWeights,
  styleBytes: readonly Uint8Array[],
  stop: { requested: () => boolean; buffer: SharedArrayBuffer },
  ev: BatchEvents,
): Promise<void> {
  try {
    await runJobs(batches.map((batch, b) => () => jobOf(plan, b, batch, styleBytes)), {
      workers: plan.outIsDir ? plan.workers ?? await defaultWorkerCount(plan.backend) : "here",
      here: () =>
        Promise.resolve(styleJobsHere({
          vgg: Vgg19.create(weights, plan.specs, plan.pooling),
          contentLayer: plan.contentLayer,
          styleLayers: plan.styleLayers,
          style: null,
          shouldStop: stop.requested,
        })),
      pool: async (workers, onProgress) =>
        (await StylePool.start({
          workers,
          backend: plan.backend,
          kernels: plan.kernels,
          weights: plan.weights,
          contentLayer: plan.contentLayer,
          styleLayers: plan.styleLayers,
          ...(plan.pooling !== "max" ? { pooling: plan.pooling } : {}),
          stop: stop.buffer,
        })).jobPool(onProgress),
      onProgress: (id, p) =>
        p.kind === "tick"
          ? ev.onIteration(Number(id), p.iteration, p.losses, p.seconds, p.scale)
          : ev.onSnapshot(Number(id), p.iteration, p.images),
      onResult: (id, r) => ev.onResult(Number(id), r.images, r.seconds, r.stoppedAt),
      stop,
      errors: [NonFiniteLossError],
      // On a pool, an error names the images of its batch rather than its index.
      label: (id) => batches[Number(id)].items.map((g) => g.path).join(", "),
    });
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      throw new UserError(`${e.message}; lower --lr or change --ratio`);
    }
    throw e;
  }
}

/** The job of batch `b`: its scales decoded, its start image. */
async function jobOf(
  plan: StylizePlan,
  b: number,
  batch: Batch,
  styleBytes: readonly Uint8Array[],
): Promise<PoolJob<StyleJob>> {
  const steps = await scaleSteps(plan, batch, styleBytes);
  return {
    id: String(b),
    job: {
      contents: steps.at(-1)!.contents,
      settings: plan.settings,
      iterations: plan.iterations,
      init: await initOf(plan, steps),
      seed: plan.seed,
      scales: steps,
      snapshotEvery: plan.saveEvery,
    },
  };
}

/** The start image of a batch: content, random, or the --init image at the batch's size. */
async function initOf(
  plan: StylizePlan,
  steps: ScaleStep[],
): Promise<"content" | "random" | RgbImage> {
  if (plan.init === "content" || plan.init === "random") return plan.init;
  const { width, height } = steps[0].contents[0];
  const img = await loadImage(plan.init, { exact: { width, height } });
  return plan.originalColors ? luminanceImage(img) : img;
}
