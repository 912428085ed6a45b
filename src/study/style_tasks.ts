/**
 * Run the study's stylization tasks, each a batch of same-size squares at
 * one ratio: on a pool of workers (`--workers N`, one tfjs backend each),
 * or in this process when N is 1 (`runJobs`, `src/util/runner.ts`).
 *
 * @example
 * ```ts
 * import { runStyleTasks } from "./style_tasks.ts";
 * declare const opts: import("./style_tasks.ts").StyleTaskOptions;
 * declare const img: import("../images/io.ts").RgbImage;
 * await runStyleTasks([{ id: "0", contents: [img], weights: { alpha: 1e3, beta: 1 } }], opts,
 *   async (id, r) => console.log(id, r.bestSteps));
 * ```
 * @module
 */
import type { RgbImage } from "../images/io.ts";
import { type BackendChoice, initBackend } from "../tf.ts";
import { selectKernelsByName } from "../gpu/select.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { Vgg19 } from "../vgg/model.ts";
import type { VggWeights } from "../vgg/weights.ts";
import type { LossRecord } from "../style/run.ts";
import type { StudyConfig } from "./config.ts";
import { type StyleJob, StylePool } from "../style/pool.ts";
import { styleJobsHere } from "../style/job.ts";
import { runJobs } from "../util/runner.ts";
import { countFinished, jobStop } from "./stop.ts";

/** One batch to stylize. */
export interface StyleTask {
  id: string;
  contents: RgbImage[];
  weights: { alpha: number; beta: number };
  /** This task's style image; default {@link StyleTaskOptions.style}. */
  style?: RgbImage;
}

/** A finished task: per batch item, the kept image, its loss history and best step. */
export interface StyleTaskResult {
  images: RgbImage[];
  histories: LossRecord[][];
  bestSteps: (number | null)[];
}

/** What every task shares. */
export interface StyleTaskOptions {
  config: StudyConfig;
  /** Loaded weights (used in-process). */
  weights: VggWeights;
  /** Where workers load the weights from. */
  weightsPath: string;
  style: RgbImage;
  onTick?: (images: number, label: string) => void;
  log?: (line: string) => void;
}

/** The job of task `t`: everything but the weights' ratio and the style is fixed by the study. */
function jobOf(config: StudyConfig, t: StyleTask): StyleJob {
  return {
    contents: t.contents,
    iterations: config.iterations,
    init: "content",
    seed: config.seed,
    settings: { ...t.weights, adam: config.adam, optimizer: config.optimizer, lbfgs: config.lbfgs },
    ...(t.style ? { style: t.style } : {}),
  };
}

/** Run `tasks`, calling `onResult` as each finishes (in completion order). */
export async function runStyleTasks(
  tasks: StyleTask[],
  opts: StyleTaskOptions,
  onResult: (id: string, result: StyleTaskResult) => Promise<void>,
): Promise<void> {
  const { config } = opts;
  const sizes = new Map(tasks.map((t) => [t.id, t.contents.length]));
  await runJobs(tasks.map((t) => () => ({ id: t.id, job: jobOf(config, t) })), {
    // With more than one worker the main thread never runs tfjs compute itself (one path only).
    workers: config.workers > 1 ? config.workers : "here",
    here: async () => {
      const backend = await initBackend(config.backend as BackendChoice);
      await selectKernelsByName(config.kernels, backend.name);
      const specs = layersUpTo([config.contentLayer, ...config.styleLayers]);
      return styleJobsHere({
        vgg: Vgg19.create(opts.weights, specs),
        contentLayer: config.contentLayer,
        styleLayers: config.styleLayers,
        style: opts.style,
      });
    },
    pool: async (workers, onProgress) =>
      (await StylePool.start({
        workers,
        backend: config.backend as BackendChoice,
        kernels: config.kernels,
        weights: opts.weightsPath,
        contentLayer: config.contentLayer,
        styleLayers: config.styleLayers,
        style: opts.style,
        log: opts.log,
      })).jobPool(onProgress),
    onProgress: (id, p) => {
      if (p.kind === "tick") opts.onTick?.(sizes.get(id) ?? 1, "stylize");
    },
    onResult: async (id, r) => {
      await onResult(id, { images: r.images, histories: r.histories, bestSteps: r.bestSteps });
      countFinished("stylized");
    },
    stop: jobStop,
  });
}
