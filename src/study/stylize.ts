/**
 * Study phase 2, stylize: the added training images of every group, made
 * once per (image, group) whatever the number of draws, through the
 * content-addressed cache.
 *
 * - `copy`: the original's `stylizeSize` square, PNG-encoded into the cache
 *   and decoded back, exactly the path a stylized image takes, with no
 *   optimisation: the "more images" control.
 * - light / medium / heavy: the Gatys optimiser from that same square, one
 *   job per image, run on a pool of workers (one tfjs backend each).
 *
 * Every added image is then characterised against its original
 * ({@link characterize}): pixel change, SSIM, losses, the best step.
 *
 * @example
 * ```ts
 * import { planAddedJobs } from "./stylize.ts";
 * declare const p: import("./prepare.ts").Prepared;
 * declare const config: import("./config.ts").StudyConfig;
 * const jobs = planAddedJobs(p, config);
 * console.log(jobs.filter((j) => j.group === "copy").length);
 * ```
 * @module
 */
import { encodePng, loadImage, type RgbImage } from "../images/io.ts";
import { identicalImages, meanAbsDifference, ssim } from "../images/ssim.ts";
import type { LossRecord } from "../style/run.ts";
import { resolveWeights } from "../style/options.ts";
import { Progress } from "../util/progress.ts";
import type { StudyConfig } from "./config.ts";
import { cacheKey, type StyleCache } from "./cache.ts";
import type { Prepared } from "./prepare.ts";
import { toClassifierSize } from "./prepare.ts";
import { STYLED_GROUPS, type StyledGroup, type StyleGroup, type StylizedRecord } from "./types.ts";
import { runStyleTasks } from "./style_tasks.ts";

/** An added group (everything but `none`). */
export type AddedGroup = Exclude<StyleGroup, "none">;

/** One added image: a training original in one group. */
export interface AddedJob {
  image: string;
  group: AddedGroup;
  /** Content:style ratio; null for `copy`. */
  ratio: number | null;
  key: string;
}

/** An added image as loaded from the cache. */
export interface AddedImage {
  /** At `stylizeSize`, as stored. */
  square: RgbImage;
  /** At the classifier's `imageSize`. */
  image: RgbImage;
  history: LossRecord[];
  bestStep: number | null;
}

/** The name an added image has in run records: `path@group`. */
export function addedName(image: string, group: AddedGroup): string {
  return `${image}@${group}`;
}

/** What changes an added image's pixels, beyond its group. */
function styleKeyFields(config: StudyConfig, p: Prepared) {
  return {
    style_sha256: p.styleSha256,
    weights: p.weights.identity,
    size: config.stylizeSize,
  };
}

/**
 * Every added image the samples need: each training original of any draw
 * once per added group (copy, light, medium, heavy), sorted by image.
 */
export function planAddedJobs(p: Prepared, config: StudyConfig): AddedJob[] {
  const train = [...new Set(p.samples.flatMap((s) => Object.values(s.train).flat()))].sort();
  const groups: AddedGroup[] = ["copy", ...STYLED_GROUPS];
  return train.flatMap((image) =>
    groups.map((group) => {
      const content_sha256 = p.data.sha256.get(image)!;
      if (group === "copy") {
        const key = cacheKey({ content_sha256, ...styleKeyFields(config, p), group: "copy" });
        return { image, group, ratio: null, key };
      }
      const ratio = config.ratios[group];
      const key = cacheKey({
        content_sha256,
        ...styleKeyFields(config, p),
        content_layer: config.contentLayer,
        style_layers: config.styleLayers,
        style_size: config.styleSize,
        ratio,
        iterations: config.iterations,
        seed: config.seed,
        optimizer: config.optimizer,
        ...(config.optimizer === "adam" ? { adam: config.adam } : { lbfgs: config.lbfgs }),
        init: "content",
        best_rule: "lowest total loss at step >= 1",
      });
      return { image, group, ratio, key };
    })
  );
}

/** Run the jobs not yet in the cache; copies in-process, stylizations on the pool. */
export async function runAddedJobs(
  jobs: AddedJob[],
  config: StudyConfig,
  cache: StyleCache,
  p: Prepared,
  log: (line: string) => void,
): Promise<{ done: number; cached: number }> {
  const missing: AddedJob[] = [];
  for (const j of jobs) if (!(await cache.has(j.key))) missing.push(j);
  const cached = jobs.length - missing.length;
  log(`stylization: ${jobs.length} jobs, ${cached} cached, ${missing.length} to run`);
  let done = 0;
  for (const j of missing.filter((j) => j.group === "copy")) {
    await cache.put(j.key, await encodePng(p.data.squares.get(j.image)!), {
      image: j.image,
      style: "copy",
      ratio: null,
      steps: 0,
      best_step: null,
      history: [],
    });
    done++;
  }
  const styled = missing.filter((j) => j.group !== "copy");
  if (styled.length === 0) return { done, cached };
  // Batches of one ratio; a batch is one tensor of `stylizeBatch` squares.
  const tasks: Array<{ id: string; jobs: AddedJob[]; group: StyledGroup }> = [];
  for (const g of STYLED_GROUPS) {
    const group = styled.filter((j) => j.group === g);
    for (let i = 0; i < group.length; i += config.stylizeBatch) {
      const batch = group.slice(i, i + config.stylizeBatch);
      tasks.push({ id: String(tasks.length), jobs: batch, group: g });
    }
  }
  const progress = new Progress("stylize", styled.length * (config.iterations + 1), "it");
  try {
    await runStyleTasks(
      tasks.map((t) => ({
        id: t.id,
        contents: t.jobs.map((j) => p.data.squares.get(j.image)!),
        weights: resolveWeights(t.jobs[0].ratio!),
      })),
      {
        config,
        weights: p.weights,
        weightsPath: config.weights,
        style: p.style,
        onTick: (n, label) => progress.tick(n, label),
        log,
      },
      async (id, result) => {
        const t = tasks[Number(id)];
        for (let k = 0; k < t.jobs.length; k++) {
          const j = t.jobs[k];
          await cache.put(j.key, await encodePng(result.images[k]), {
            image: j.image,
            style: j.group,
            ratio: j.ratio,
            steps: config.iterations,
            optimizer: config.optimizer,
            best_step: result.bestSteps[k],
            history: result.histories[k],
          });
          done++;
        }
      },
    );
  } finally {
    progress.done();
  }
  return { done, cached };
}

/** Load every added image from the cache, at both sizes. */
export async function loadAdded(
  jobs: AddedJob[],
  config: StudyConfig,
  cache: StyleCache,
): Promise<Map<string, AddedImage>> {
  const out = new Map<string, AddedImage>();
  const square = { exact: { width: config.stylizeSize, height: config.stylizeSize } };
  for (const j of jobs) {
    const entry = await cache.entry(j.key);
    if (!entry) {
      throw new Error(
        `added image ${j.image} (${j.group}) missing from the cache after stylization`,
      );
    }
    const sq = await loadImage(entry.path, square);
    out.set(addedName(j.image, j.group), {
      square: sq,
      image: await toClassifierSize(sq, config.imageSize, entry.path),
      history: (entry.meta.history as LossRecord[] | undefined) ?? [],
      bestStep: (entry.meta.best_step as number | null | undefined) ?? null,
    });
  }
  return out;
}

/** Measure every added image against its original (at `stylizeSize`). */
export function characterize(
  jobs: AddedJob[],
  squares: Map<string, RgbImage>,
  added: Map<string, AddedImage>,
  config: StudyConfig,
): StylizedRecord[] {
  return jobs.map((j) => {
    const a = added.get(addedName(j.image, j.group))!;
    const original = squares.get(j.image)!;
    const h = a.history;
    const best = a.bestStep === null ? null : h.find((r) => r.iteration === a.bestStep) ?? null;
    return {
      image: j.image,
      style: j.group,
      ratio: j.ratio,
      steps: j.group === "copy" ? 0 : config.iterations,
      best_step: a.bestStep,
      mean_abs_change: meanAbsDifference(a.square, original),
      ssim: ssim(a.square, original),
      style_loss_ratio: best && h.length > 0 && h[0].style_loss > 0
        ? best.style_loss / h[0].style_loss
        : null,
      final_content_loss: best ? best.content_loss : null,
      identical: identicalImages(a.square, original),
    };
  });
}
