/**
 * One stylization job ({@link StyleJob}): the same code on a {@link StylePool}
 * worker (`worker.ts`) and in this process (`runJobs` with `workers: "here"`),
 * so both give the same pixels. Progress goes out as {@link StyleProgress},
 * what a worker sends the pool.
 *
 * @example
 * ```ts
 * import { runStyleJob } from "./job.ts";
 * declare const setup: import("./job.ts").StyleJobSetup;
 * declare const job: import("./pool.ts").StyleJob;
 * const r = await runStyleJob(setup, job, (p) => console.log(p.kind, p.iteration));
 * console.log(r.bestSteps, r.seconds);
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import type { RgbImage } from "../images/io.ts";
import type { Vgg19 } from "../vgg/model.ts";
import type { HereRunner } from "../util/runner.ts";
import type { LossValues } from "./engine.ts";
import type { StyleJob, StyleJobResult, StyleProgress } from "./pool.ts";
import { type ScaleInfo, stylizeBatch, stylizeScales } from "./run.ts";

/**
 * What every job of one worker (or of this process) shares.
 *
 * @example
 * ```ts
 * import type { StyleJobSetup } from "./job.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * const s: StyleJobSetup = { vgg, contentLayer: "block3_conv4", styleLayers: ["block1_conv1"], style: null };
 * ```
 */
export interface StyleJobSetup {
  vgg: Vgg19;
  contentLayer: string;
  styleLayers: string[];
  /** The style image of jobs that bring none. */
  style: RgbImage | null;
  /** Asked after every evaluated iteration: true ends the job there with its best images so far. */
  shouldStop?: () => boolean;
}

/**
 * Run `job`: `stylizeScales` when it has scales, else `stylizeBatch`; every
 * evaluated iteration (and snapshot) goes to `progress` (awaited).
 *
 * @example
 * ```ts
 * import { runStyleJob } from "./job.ts";
 * declare const setup: import("./job.ts").StyleJobSetup;
 * declare const job: import("./pool.ts").StyleJob;
 * const r = await runStyleJob(setup, job, () => {});
 * console.log(r.images.length);
 * ```
 */
export async function runStyleJob(
  setup: StyleJobSetup,
  job: StyleJob,
  progress: (p: StyleProgress, transfer?: Transferable[]) => void | Promise<void>,
): Promise<StyleJobResult> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const style = job.style ?? setup.style;
  if (!style && !job.scales) {
    throw new Error("no style image: give StylePoolOptions.style or StyleTask.style");
  }
  const init = job.init === "content" || job.init === "random"
    ? job.init
    : tf.tensor4d(job.init.data, [1, job.init.height, job.init.width, 3]);
  // Ticks of the job so far: iterations restart at every scale, this does not.
  let seq = 0;
  try {
    const config = {
      ...job.settings,
      contentLayer: setup.contentLayer,
      styleLayers: setup.styleLayers,
      init,
      seed: job.seed,
    };
    const opts = {
      iterations: job.iterations,
      shouldStop: setup.shouldStop,
      onIteration: (iteration: number, losses: LossValues[], scale?: ScaleInfo) =>
        progress({
          kind: "tick",
          iteration,
          seq: seq++,
          ...(scale ? { scale } : {}),
          losses,
          seconds: seconds(),
        }),
      snapshot: job.snapshotEvery
        ? {
          every: job.snapshotEvery,
          save: async (iteration: number, images: RgbImage[]) => {
            await progress(
              { kind: "snapshot", iteration, images },
              images.map((im) => im.data.buffer as ArrayBuffer),
            );
          },
        }
        : undefined,
    };
    const r = job.scales
      ? await stylizeScales(setup.vgg, job.scales, config, opts)
      : await stylizeBatch(setup.vgg, job.contents, style!, config, opts);
    return {
      images: r.images,
      histories: r.histories,
      bestSteps: r.bestSteps,
      seconds: seconds(),
      stoppedAt: r.stoppedAt ?? null,
    };
  } finally {
    if (typeof init !== "string") init.dispose();
  }
}

/**
 * The runner of style jobs in this process, on `setup`; disposing it disposes `setup.vgg`.
 *
 * @example
 * ```ts
 * import { styleJobsHere } from "./job.ts";
 * declare const setup: import("./job.ts").StyleJobSetup;
 * const here = styleJobsHere(setup);
 * here.dispose?.();
 * ```
 */
export function styleJobsHere(
  setup: StyleJobSetup,
): HereRunner<StyleJob, StyleJobResult, StyleProgress> {
  return {
    run: (job, ctx) => runStyleJob(setup, job, (p) => ctx.progress(p)),
    dispose: () => setup.vgg.dispose(),
  };
}
