/**
 * The study protocol end to end, as phases with one job each:
 * prepare (checks, styles, data, evaluation pool, draws) -> stylize (added
 * training images and stylized evaluation images through the cache) ->
 * evaluate (the conditions: texture shift, cue conflict, corruptions) ->
 * train (extract features, train and score every classifier on the clean test
 * set and every condition, on the worker pool) -> compare (every endpoint
 * against both baselines, draw-level statistics) -> report
 * (results.json, results.csv, report.md/html).
 *
 * Faults: added images live in a content-addressed cache and every trained
 * classifier's result in `OUT/runs/`, each written atomically, so a run
 * killed at any point and started again redoes only what was not finished.
 *
 * @example
 * ```ts
 * import { resolveStudyConfig } from "./config.ts";
 * import { runStudy } from "./run.ts";
 * const config = resolveStudyConfig({ preset: "smoke" }, {
 *   data: "../shared/data/caltech101", style: "../shared/data/styles/composition_vii.jpg",
 *   weights: "../shared/weights/vgg19-tfjs", cache: "out/cache",
 * });
 * const { resultsPath } = await runStudy(config, { shard: null });
 * console.log(resultsPath);
 * ```
 * @module
 */
import { type BackendChoice, initBackend } from "../tf.ts";
import { selectKernelsByName } from "../gpu/select.ts";
import type { StudyConfig } from "./config.ts";
import { StyleCache } from "./cache.ts";
import { selectShard, type Shard } from "./shard.ts";
import { prepareStudy } from "./prepare.ts";
import { characterize, loadAdded, planAddedJobs, runAddedJobs } from "./stylize.ts";
import { planRuns, trainAll } from "./train.ts";
import { compareConfigurations } from "./stats.ts";
import { writeOutputs } from "./outputs.ts";
import { buildEvaluation } from "./evaluation.ts";

/** Where the outputs went, for the closing summary. */
export interface StudyOutcome {
  /** The results JSON written, or null (a shard). */
  resultsPath: string | null;
  /** The per-run CSV written, or null. */
  csvPath: string | null;
  /** The reports written (Markdown, HTML). */
  reportPaths: string[];
  /** Images stylized by this run. */
  stylized: number;
  /** Stylized images taken from the cache. */
  cached: number;
}

/**
 * Run the study. With a shard, only that part of the stylization is done
 * (into the shared cache) and no classifier is trained.
 */
export async function runStudy(
  config: StudyConfig,
  opts: { shard: Shard | null; log?: (line: string) => void },
): Promise<StudyOutcome> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => (timings[name] = (performance.now() - since) / 1000);

  let t = performance.now();
  const prepared = await prepareStudy(config, { shard: opts.shard !== null, log });
  const backend = await initBackend(config.backend as BackendChoice);
  log(backend.line);
  const kernels = await selectKernelsByName(config.kernels, backend.name);
  lap("prepare_s", t);

  t = performance.now();
  const cache = new StyleCache(config.cache);
  const allJobs = planAddedJobs(prepared, config);
  const jobs = opts.shard ? selectShard(allJobs, (j) => j.key, opts.shard) : allJobs;
  const { done, cached } = await runAddedJobs(jobs, config, cache, prepared, log);
  lap("stylize_s", t);
  if (opts.shard) {
    log(
      `shard ${opts.shard.index}/${opts.shard.count}: ${jobs.length} of ${allJobs.length} jobs; stylized ${done}, ${cached} were cached`,
    );
    return { resultsPath: null, csvPath: null, reportPaths: [], stylized: done, cached };
  }
  const added = await loadAdded(allJobs, config, cache);
  const stylized = characterize(allJobs, prepared.data.squares, added, config);
  const evaluation = await buildEvaluation(prepared, config, added);
  log(
    `evaluation: ${evaluation.set.conditions.length} conditions on a pool of ${
      Object.values(evaluation.set.pool).flat().length
    } images (${evaluation.images.size} images in all)`,
  );

  t = performance.now();
  const runs = await trainAll(
    planRuns(prepared.samples, config),
    prepared.samples,
    config,
    prepared.data.images,
    added,
    evaluation,
    log,
  );
  lap("train_s", t);

  t = performance.now();
  const comparisons = compareConfigurations(runs, evaluation.set.conditions, {
    iterations: config.bootstrapIterations,
    seed: config.seed,
  });
  lap("compare_s", t);
  timings.total_s = (performance.now() - t0) / 1000;

  const written = await writeOutputs({
    config,
    prepared,
    backend,
    kernels,
    timings,
    stylization: { jobs: allJobs.length, run_now: done, cached },
    added,
    stylized,
    evaluation,
    runs,
    comparisons,
  });
  return { ...written, stylized: done, cached };
}
