/**
 * Run the study's stylization tasks, each a batch of same-size squares at
 * one ratio: on a pool of workers (`--workers N`, one tfjs backend each),
 * or in this process when N is 1.
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
import type { GatysConfig } from "../style/engine.ts";
import { type LossRecord, stylizeBatch } from "../style/run.ts";
import type { StudyConfig } from "./config.ts";
import { StylePool, type StyleSettings } from "../style/pool.ts";
import { countFinished, stopRequested, throwIfStopped } from "./stop.ts";

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

/** The optimiser settings of a study task (everything but layers, init and seed, which the study fixes). */
function styleSettings(config: StudyConfig, w: { alpha: number; beta: number }): StyleSettings {
  return { ...w, adam: config.adam, optimizer: config.optimizer, lbfgs: config.lbfgs };
}

/** The full Gatys settings of a study task, for the in-process path. */
export function gatysConfig(config: StudyConfig, w: { alpha: number; beta: number }): GatysConfig {
  return {
    ...styleSettings(config, w),
    contentLayer: config.contentLayer,
    styleLayers: config.styleLayers,
    init: "content",
    seed: config.seed,
  };
}

/** Run `tasks`, calling `onResult` as each finishes (in completion order). */
export async function runStyleTasks(
  tasks: StyleTask[],
  opts: StyleTaskOptions,
  onResult: (id: string, result: StyleTaskResult) => Promise<void>,
): Promise<void> {
  if (tasks.length === 0) return;
  const { config } = opts;
  // With more than one worker the main thread never runs tfjs compute itself (one path only).
  if (config.workers > 1) {
    return await runOnPool(tasks, Math.min(config.workers, tasks.length), opts, onResult);
  }
  const backend = await initBackend(config.backend as BackendChoice);
  await selectKernelsByName(config.kernels, backend.name);
  const specs = layersUpTo([config.contentLayer, ...config.styleLayers]);
  const vgg = Vgg19.create(opts.weights, specs);
  try {
    for (const t of tasks) {
      if (stopRequested()) break;
      const style = t.style ?? opts.style;
      const r = await stylizeBatch(vgg, t.contents, style, gatysConfig(config, t.weights), {
        iterations: config.iterations,
        onIteration: () => opts.onTick?.(t.contents.length, "stylize"),
      });
      await onResult(t.id, { images: r.images, histories: r.histories, bestSteps: r.bestSteps });
      countFinished("stylized");
    }
  } finally {
    vgg.dispose();
  }
  throwIfStopped();
}

async function runOnPool(
  tasks: StyleTask[],
  workers: number,
  opts: StyleTaskOptions,
  onResult: (id: string, result: StyleTaskResult) => Promise<void>,
): Promise<void> {
  const { config } = opts;
  const pool = await StylePool.start({
    workers,
    backend: config.backend as BackendChoice,
    kernels: config.kernels,
    weights: opts.weightsPath,
    contentLayer: config.contentLayer,
    styleLayers: config.styleLayers,
    style: opts.style,
    log: opts.log,
  });
  const sizes = new Map(tasks.map((t) => [t.id, t.contents.length]));
  try {
    await pool.run(
      // Built as the pool pulls them: after a stop, none is started.
      (function* () {
        for (const t of tasks) {
          if (stopRequested()) return;
          yield {
            id: t.id,
            contents: t.contents,
            iterations: config.iterations,
            init: "content" as const,
            seed: config.seed,
            settings: styleSettings(config, t.weights),
            ...(t.style ? { style: t.style } : {}),
          };
        }
      })(),
      async (r) => {
        await onResult(r.id, r);
        countFinished("stylized");
      },
      { onIteration: (t) => opts.onTick?.(sizes.get(t.id) ?? 1, "stylize") },
    );
  } finally {
    pool.close();
  }
  throwIfStopped();
}
