/**
 * Study phases 3 and 4, extract and train: every classifier of every draw
 * (classifier x style group x static augmentation), trained on the draw's
 * originals plus the group's added copies and evaluated on the draw's test
 * set. Each finished run is written to `OUT/runs/<id>.json` atomically, so
 * a killed study resumes with the runs it had.
 *
 * Runs go to a pool of workers (`--workers`), each with its own backend,
 * backbone and feature cache (the transfer head's frozen-VGG features are
 * computed once per image name and worker).
 *
 * @example
 * ```ts
 * import { planRuns } from "./train.ts";
 * declare const config: import("./config.ts").StudyConfig;
 * declare const samples: import("./split.ts").Subset[];
 * console.log(planRuns(samples, config).length); // draws x classifiers x 5 groups x 2
 * ```
 * @module
 */
import { join } from "node:path";
import type { RgbImage } from "../images/io.ts";
import { exists, writeTextAtomic } from "../util/fs.ts";
import { Progress } from "../util/progress.ts";
import type { StudyConfig } from "./config.ts";
import type { Subset } from "./split.ts";
import { canonicalJson, sha256Hex } from "./cache.ts";
import { augmentSet, type AugmentTransform, staticTransforms } from "./augment.ts";
import type { AddedImage } from "./stylize.ts";
import { addedName } from "./stylize.ts";
import type { ClassifierKind, EvalCondition, RunResult, StyleGroup } from "../report/schema.ts";
import { runTrainJobs, type TrainJob } from "./train_tasks.ts";
import type { Evaluation } from "./evaluation.ts";
import { scoreEvaluation } from "./endpoints.ts";

/** One classifier to train. */
export interface RunSpec {
  draw: number;
  classifier: ClassifierKind;
  style: StyleGroup;
  aug: boolean;
  id: string;
}

/** Stable id of one classifier run: the config that shapes it plus its coordinates. */
export function runId(
  config: StudyConfig,
  draw: number,
  style: StyleGroup,
  aug: boolean,
  classifier: string,
): string {
  const {
    out: _o,
    cache: _c,
    backend: _b,
    kernels: _k,
    bootstrapIterations: _n,
    workers: _w,
    ...shaping
  } = config;
  return sha256Hex(canonicalJson({ shaping, draw, style, aug, classifier })).slice(0, 24);
}

/** Every run of the study, in report order within each draw. */
export function planRuns(samples: Subset[], config: StudyConfig): RunSpec[] {
  return samples.flatMap((s) =>
    config.classifiers.flatMap((classifier) =>
      config.groups.flatMap((style) =>
        [false, true].map((aug) => ({
          draw: s.index,
          classifier,
          style,
          aug,
          id: runId(config, s.index, style, aug, classifier),
        }))
      )
    )
  );
}

/** Build one run's training set (before static augmentation) and test set. */
export function buildJob(
  spec: RunSpec,
  sample: Subset,
  config: StudyConfig,
  images: Map<string, RgbImage>,
  added: Map<string, AddedImage>,
  transforms: AugmentTransform[],
  evaluation?: Evaluation,
): TrainJob {
  const classes = config.classes;
  const originals = classes.flatMap((c, label) =>
    sample.train[c].map((image) => ({ image, label }))
  );
  const items = originals.map((t) => ({
    name: t.image,
    label: t.label,
    img: images.get(t.image)!,
  }));
  if (spec.style !== "none") {
    for (const t of originals) {
      const name = addedName(t.image, spec.style);
      items.push({ name, label: t.label, img: added.get(name)!.image });
    }
  }
  let set = {
    images: items.map((i) => i.img),
    labels: items.map((i) => i.label),
    names: items.map((i) => i.name),
  };
  if (spec.aug) set = augmentSet(set, transforms) as typeof set;
  const test = classes.flatMap((c, label) => sample.test[c].map((image) => ({ image, label })));
  return {
    id: spec.id,
    kind: spec.classifier,
    set,
    trainImages: items.map((i) => i.name),
    test: {
      images: test.map((t) => images.get(t.image)!),
      names: test.map((t) => t.image),
      labels: test.map((t) => t.label),
    },
    conditions: (evaluation?.set.conditions ?? []).map((c) => ({
      name: c.name,
      names: c.images,
      images: c.images.map((n) => evaluation!.images.get(n)!),
    })),
    classes,
    settings: {
      transfer: { size: config.imageSize, steps: config.transferSteps, seed: config.seed + 1 },
      cnn: { size: config.imageSize, steps: config.cnnSteps, seed: config.seed + 1 },
    },
  };
}

/**
 * A finished run from `OUT/runs/`, or null when the file is not one (empty,
 * truncated, another shape, other coordinates or conditions): such a run is
 * trained again, as an invalid cache entry is stylized again.
 */
async function readRun(
  file: string,
  spec: RunSpec,
  conditions: EvalCondition[],
): Promise<RunResult | null> {
  try {
    const r = JSON.parse(await Deno.readTextFile(file)) as RunResult;
    const ok = r !== null && typeof r === "object" && r.draw === spec.draw &&
      r.style === spec.style && r.static_augmentation === spec.aug &&
      r.classifier === spec.classifier && Array.isArray(r.predictions) &&
      Array.isArray(r.test_images) && r.predictions.length === r.test_images.length &&
      typeof r.accuracy === "number" && r.evaluation?.predictions !== undefined &&
      conditions.every((c) => r.evaluation.predictions[c.name]?.length === c.images.length);
    return ok ? r : null;
  } catch {
    return null;
  }
}

/** Train every run not yet in `OUT/runs/`; returns all runs in plan order. */
export async function trainAll(
  specs: RunSpec[],
  samples: Subset[],
  config: StudyConfig,
  images: Map<string, RgbImage>,
  added: Map<string, AddedImage>,
  evaluation: Evaluation,
  log: (line: string) => void,
): Promise<RunResult[]> {
  const runsDir = join(config.out, "runs");
  await Deno.mkdir(runsDir, { recursive: true });
  const transforms = staticTransforms(config.augmentSeed, config.augmentCount);
  const results = new Map<string, RunResult>();
  const todo: RunSpec[] = [];
  for (const spec of specs) {
    const file = join(runsDir, `${spec.id}.json`);
    const reused = await exists(file) ? await readRun(file, spec, evaluation.set.conditions) : null;
    if (reused) results.set(spec.id, reused);
    else todo.push(spec);
  }
  if (results.size) log(`reused ${results.size} finished classifier run(s) from ${runsDir}`);
  const progress = new Progress("train", todo.length, "classifiers");
  const bySpec = new Map(todo.map((s) => [s.id, s]));
  try {
    await runTrainJobs(
      // Built lazily per job: a job holds its augmented copies only while queued or running.
      todo.map((spec) => () =>
        buildJob(spec, samples[spec.draw], config, images, added, transforms, evaluation)
      ),
      { config, log },
      async (job, outcome) => {
        const spec = bySpec.get(job.id)!;
        const { condition_predictions, ...clean } = outcome;
        const result: RunResult = {
          draw: spec.draw,
          style: spec.style,
          static_augmentation: spec.aug,
          classifier: spec.classifier,
          classes: config.classes,
          train_images: job.trainImages,
          train_examples: job.examples,
          test_images: job.testImages,
          ...clean,
          evaluation: scoreEvaluation(
            evaluation.set.conditions,
            condition_predictions,
            config.classes,
            clean.accuracy,
          ),
        };
        await writeTextAtomic(join(runsDir, `${spec.id}.json`), JSON.stringify(result));
        results.set(spec.id, result);
        progress.tick(
          1,
          `draw ${spec.draw} ${spec.classifier} ${spec.style}${spec.aug ? "+aug" : ""} acc ${
            outcome.accuracy.toFixed(3)
          }`,
        );
      },
    );
  } finally {
    progress.done();
  }
  return specs.map((s) => results.get(s.id)!);
}
