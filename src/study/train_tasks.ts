/**
 * Train and evaluate classifier jobs, in this process or on a pool of
 * workers. A job is plain data (pixels, labels, settings), so the same
 * {@link trainJob} runs in either place and gives the same numbers.
 *
 * @example
 * ```ts
 * import { trainJob } from "./train_tasks.ts";
 * declare const job: import("./train_tasks.ts").TrainJob;
 * const outcome = await trainJob(job, { backbone: null, features: new Map() });
 * console.log(outcome.accuracy);
 * ```
 * @module
 */
import type { RgbImage } from "../images/io.ts";
import { type BackendChoice, initBackend } from "../tf.ts";
import {
  type Backbone,
  type FeatureCache,
  loadBackbone,
  predict,
  trainClassifier,
} from "./classifier.ts";
import { computeMetrics } from "./metrics.ts";
import { countFinished, stopRequested, throwIfStopped } from "./stop.ts";
import { UserError } from "../util/errors.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { minImageSide } from "../style/limits.ts";
import type { StudyConfig } from "./config.ts";
import type { ClassifierKind, RunResult } from "../report/schema.ts";
import { WorkerPool } from "../util/pool.ts";
import type { TrainWorkerInit } from "./train_worker.ts";

/** One classifier to train and evaluate. */
export interface TrainJob {
  id: string;
  kind: ClassifierKind;
  /** Training examples, static augmentation copies included; `names` key the feature cache. */
  set: { images: RgbImage[]; labels: number[]; names: string[] };
  /** Training images before static augmentation (originals and `path@group`). */
  trainImages: string[];
  test: { images: RgbImage[]; names: string[]; labels: number[] };
  /** Evaluation conditions (texture shift, cue conflict, corruptions): images and names per condition. */
  conditions: Array<{ name: string; images: RgbImage[]; names: string[] }>;
  classes: string[];
  settings: {
    transfer: { size: number; steps: number; seed: number };
    cnn: { size: number; steps: number; seed: number };
  };
}

/** What a finished job's caller needs of the job: no pixels, so it can be kept while the job runs. */
export interface TrainJobRecord {
  id: string;
  trainImages: string[];
  /** Training examples after static augmentation. */
  examples: number;
  testImages: string[];
}

/** The pixel-free record of `job`. */
function recordOf(job: TrainJob): TrainJobRecord {
  return {
    id: job.id,
    trainImages: job.trainImages,
    examples: job.set.images.length,
    testImages: job.test.names,
  };
}

/** What a job yields (the rest of a {@link RunResult} comes from its spec). */
export type TrainOutcome =
  & Pick<
    RunResult,
    "confusion" | "per_class" | "accuracy" | "macro_f1" | "predictions" | "train_seconds"
  >
  & {
    /** Condition name -> predicted class per image (scored by the caller). */
    condition_predictions: Record<string, number[]>;
  };

/** Train `job`'s classifier and evaluate it on the job's test set. */
export async function trainJob(
  job: TrainJob,
  ctx: { backbone: Backbone | null; features: FeatureCache },
): Promise<TrainOutcome> {
  const started = performance.now();
  const size = job.settings.transfer?.size;
  if (job.kind === "transfer" && ctx.backbone && size !== undefined) {
    // The backbone is the deepest the weights hold: its 2x2 'valid' pools set the smallest input.
    const min = minImageSide(layersUpTo([ctx.backbone.layer])).side;
    if (size < min) {
      throw new UserError(
        `--image-size: ${size} px is too small for the transfer classifier's backbone (VGG19 up to ${ctx.backbone.layer}); use --image-size ${min} or more`,
      );
    }
  }
  const model = await trainClassifier(job.kind, job.set, {
    numClasses: job.classes.length,
    backbone: ctx.backbone ?? undefined,
    cache: ctx.features,
    transfer: job.settings.transfer,
    cnn: job.settings.cnn,
  });
  let predictions: number[];
  const condition_predictions: Record<string, number[]> = {};
  try {
    predictions = await predict(model, job.test.images, job.test.names);
    for (const c of job.conditions) {
      condition_predictions[c.name] = await predict(model, c.images, c.names);
    }
  } finally {
    model.dispose();
  }
  const m = computeMetrics(job.test.labels, predictions, job.classes);
  return {
    confusion: m.confusion,
    per_class: m.per_class,
    accuracy: m.accuracy,
    macro_f1: m.macro_f1,
    predictions,
    train_seconds: (performance.now() - started) / 1000,
    condition_predictions,
  };
}

/** Run every job (built on demand), calling `onDone` as each finishes. */
export async function runTrainJobs(
  jobs: Array<() => TrainJob>,
  opts: { config: StudyConfig; log?: (line: string) => void },
  onDone: (job: TrainJobRecord, outcome: TrainOutcome) => Promise<void>,
): Promise<void> {
  if (jobs.length === 0) return;
  const { config } = opts;
  if (config.workers > 1) {
    return await runOnPool(jobs, Math.min(config.workers, jobs.length), opts, onDone);
  }
  const { name } = await initBackend(config.backend as BackendChoice);
  // --kernels custom|auto on webgpu: the CNN's tf.conv2d, pools and Grams run our WGSL kernels.
  const reg = name === "webgpu" ? await import("../gpu/register.ts") : null;
  await reg?.registerForKernelChoice(config.kernels, name);
  const backbone = config.classifiers.includes("transfer")
    ? await loadBackbone(config.weights)
    : null;
  const features: FeatureCache = new Map();
  try {
    for (const make of jobs) {
      if (stopRequested()) break;
      const job = make();
      await onDone(recordOf(job), await trainJob(job, { backbone, features }));
      countFinished("trained");
    }
  } finally {
    backbone?.vgg.dispose();
  }
  throwIfStopped();
}

/** The same jobs on `size` workers; jobs are built as the pool pulls them. */
async function runOnPool(
  jobs: Array<() => TrainJob>,
  size: number,
  opts: { config: StudyConfig; log?: (line: string) => void },
  onDone: (job: TrainJobRecord, outcome: TrainOutcome) => Promise<void>,
): Promise<void> {
  const { config } = opts;
  const pool = await WorkerPool.start<TrainWorkerInit, TrainJob, TrainOutcome, string>({
    url: new URL("./train_worker.ts", import.meta.url),
    size,
    init: () => ({
      backend: config.backend,
      weights: config.weights,
      backbone: config.classifiers.includes("transfer"),
      kernels: config.kernels,
    }),
    name: "train",
    log: opts.log,
  });
  // Only the pixel-free record is kept here; the pixels live in the pool's queue until the job ends.
  const pending = new Map<string, TrainJobRecord>();
  function* feed() {
    for (const make of jobs) {
      if (stopRequested()) return; // a stop: no new run starts, running ones finish
      const job = make();
      pending.set(job.id, recordOf(job));
      yield { id: job.id, job };
    }
  }
  try {
    await pool.run(feed(), async ({ id, result }) => {
      const job = pending.get(id)!;
      pending.delete(id);
      await onDone(job, result);
      countFinished("trained");
    });
  } finally {
    pool.close();
  }
  throwIfStopped();
}
