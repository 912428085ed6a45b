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
import { countFinished, jobStop } from "./stop.ts";
import { UserError } from "../util/errors.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { minImageSide } from "../style/limits.ts";
import type { StudyConfig } from "./config.ts";
import type { ClassifierKind, RunResult } from "../report/schema.ts";
import { WorkerPool } from "../util/pool.ts";
import { runJobs } from "../util/runner.ts";

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

/** What a training process is set up with, here or on a worker. */
export interface TrainSetup {
  backend: string;
  weights: string;
  /** Load the frozen VGG backbone (needed by transfer jobs). */
  backbone: boolean;
  /** `--kernels`: `custom` or `auto` on webgpu registers our kernels for the CNN's tfjs ops. */
  kernels?: string;
}

/**
 * Set up this process for {@link trainJob}: the backend, our kernels for the CNN on webgpu,
 * the backbone; one feature cache for every job. The same here and on a worker.
 *
 * @example
 * ```ts
 * import { trainJobsHere } from "./train_tasks.ts";
 * declare const job: import("./train_tasks.ts").TrainJob;
 * const trainer = await trainJobsHere({ backend: "wasm", weights: "w/", backbone: false });
 * console.log((await trainer.run(job)).accuracy);
 * trainer.dispose();
 * ```
 */
export async function trainJobsHere(
  setup: TrainSetup,
): Promise<{ backend: string; run(job: TrainJob): Promise<TrainOutcome>; dispose(): void }> {
  const { name } = await initBackend(setup.backend as BackendChoice);
  // --kernels custom|auto on webgpu: the CNN's tf.conv2d, pools and Grams run our WGSL kernels.
  const reg = name === "webgpu" ? await import("../gpu/register.ts") : null;
  const registration = await reg?.registerForKernelChoice(setup.kernels ?? "stock", name);
  const backbone = setup.backbone ? await loadBackbone(setup.weights) : null;
  const features: FeatureCache = new Map();
  return {
    backend: name,
    run: async (job) => {
      const outcome = await trainJob(job, { backbone, features });
      // `--kernels auto`: measure the op shapes this job met first, for the jobs (and runs) after it.
      await registration?.tunePending();
      return outcome;
    },
    dispose: () => backbone?.vgg.dispose(),
  };
}

/** Run every job (built on demand), calling `onDone` as each finishes. */
export async function runTrainJobs(
  jobs: Array<() => TrainJob>,
  opts: { config: StudyConfig; log?: (line: string) => void },
  onDone: (job: TrainJobRecord, outcome: TrainOutcome) => Promise<void>,
): Promise<void> {
  const { config } = opts;
  const setup: TrainSetup = {
    backend: config.backend,
    weights: config.weights,
    backbone: config.classifiers.includes("transfer"),
    kernels: config.kernels,
  };
  // Only the pixel-free record is kept here; the pixels live in the job until it ends.
  const records = new Map<string, TrainJobRecord>();
  await runJobs(
    jobs.map((make) => () => {
      const job = make();
      records.set(job.id, recordOf(job));
      return { id: job.id, job };
    }),
    {
      workers: config.workers > 1 ? config.workers : "here",
      here: () => trainJobsHere(setup),
      pool: (size) =>
        WorkerPool.start<TrainSetup, TrainJob, TrainOutcome, string>({
          url: new URL("./train_worker.ts", import.meta.url),
          size,
          init: () => setup,
          name: "train",
          log: opts.log,
        }),
      onResult: async (id, outcome) => {
        const record = records.get(id)!;
        records.delete(id);
        await onDone(record, outcome);
        countFinished("trained");
      },
      stop: jobStop,
    },
  );
}
