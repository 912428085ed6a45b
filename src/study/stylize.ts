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
import { hash32, mulberry32 } from "../util/random.ts";
import type { StudyConfig } from "./config.ts";
import { cacheKey, type StyleCache } from "./cache.ts";
import type { Prepared } from "./prepare.ts";
import { TEXTURE_CROP, toClassifierSize } from "./prepare.ts";
import type { StyleGroup, StylizedRecord } from "../report/schema.ts";
import { runStyleTasks } from "./style_tasks.ts";

/** An added group (everything but `none`). */
export type AddedGroup = Exclude<StyleGroup, "none">;

/**
 * One image the study makes through the cache: a training original's added
 * copy in one group, or an evaluation image (a pool image stylized with a
 * held-out test style, or with a texture of another class).
 */
export interface AddedJob {
  image: string;
  group: AddedGroup | "texture" | "cue";
  /** The name runs and conditions use: `path@group`, `path#texture:NAME`, `path#cue`. */
  name: string;
  /** Content:style ratio; null for `copy`. */
  ratio: number | null;
  /** Key of the style image in {@link styleImages}; null for `copy`. */
  style: string | null;
  /** The style's file (for a cue-conflict texture, the texture's image id); null for `copy`. */
  styleFile: string | null;
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

/** The name of a pool image stylized with held-out test style `style` (its file's stem). */
export function textureName(image: string, style: string): string {
  return `${image}#texture:${style}`;
}

/** The name of a pool image's cue-conflict version. */
export function cueName(image: string): string {
  return `${image}#cue`;
}

/**
 * Every style image a job may use, by the key jobs carry: `main` (--style),
 * `bank:NAME`, `test:NAME`, `crop:IMAGE` (a cue-conflict texture).
 */
export function styleImages(p: Prepared): Map<string, RgbImage> {
  const m = new Map<string, RgbImage>([["main", p.style]]);
  for (const b of p.bank) m.set(`bank:${b.name}`, b.image);
  for (const t of p.testStyles) m.set(`test:${t.name}`, t.image);
  for (const [image, crop] of p.textures) m.set(`crop:${image}`, crop);
  return m;
}

/**
 * The `bank` group's draw for one training image: a style from the bank and a
 * ratio log-uniform between the profile's heavy and light ratios, seeded by
 * the study seed and the image id alone (so the same image gets the same
 * draw in every training draw and run).
 *
 * @example
 * ```ts
 * import { bankDraw } from "./stylize.ts";
 * const d = bankDraw("crab/image_0001.jpg", 3, { heavy: 100, light: 10000 }, 0);
 * console.log(d.index < 3, d.ratio >= 100 && d.ratio <= 10000); // true true
 * ```
 */
export function bankDraw(
  image: string,
  bankSize: number,
  ratios: { heavy: number; light: number },
  seed: number,
): { index: number; ratio: number } {
  const rand = mulberry32(hash32(`${seed}:bank:${image}`));
  const index = Math.floor(rand() * bankSize);
  const lo = Math.log(ratios.heavy), hi = Math.log(ratios.light);
  return { index, ratio: Math.exp(lo + rand() * (hi - lo)) };
}

/** The optimiser fields of a cache key (everything that shapes a stylized image but the style and ratio). */
function optimiserKeyFields(config: StudyConfig, p: Prepared) {
  return {
    weights: p.weights.identity,
    size: config.stylizeSize,
    content_layer: config.contentLayer,
    style_layers: config.styleLayers,
    style_size: config.styleSize,
    iterations: config.iterations,
    seed: config.seed,
    optimizer: config.optimizer,
    ...(config.optimizer === "adam" ? { adam: config.adam } : { lbfgs: config.lbfgs }),
    init: "content",
    best_rule: "lowest total loss at step >= 1",
  };
}

/**
 * Every image the study stylizes (or copies): each training original of any
 * draw once per added group that runs, sorted by image; then, for the
 * evaluation pool, one image per held-out test style (medium ratio) and one
 * cue-conflict image (heavy ratio, texture from another class).
 */
export function planAddedJobs(p: Prepared, config: StudyConfig): AddedJob[] {
  const train = [...new Set(p.samples.flatMap((s) => Object.values(s.train).flat()))].sort();
  const groups = config.groups.filter((g): g is AddedGroup => g !== "none");
  const opt = optimiserKeyFields(config, p);
  const jobs: AddedJob[] = train.flatMap((image) =>
    groups.map((group): AddedJob => {
      const content_sha256 = p.data.sha256.get(image)!;
      const name = addedName(image, group);
      if (group === "copy") {
        const key = cacheKey({
          content_sha256,
          style_sha256: p.styleSha256,
          weights: p.weights.identity,
          size: config.stylizeSize,
          group: "copy",
        });
        return { image, group, name, ratio: null, style: null, styleFile: null, key };
      }
      if (group === "bank") {
        const d = bankDraw(image, p.bank.length, config.ratios, config.seed);
        const b = p.bank[d.index];
        const key = cacheKey({ content_sha256, style_sha256: b.sha256, ratio: d.ratio, ...opt });
        return {
          image,
          group,
          name,
          ratio: d.ratio,
          style: `bank:${b.name}`,
          styleFile: b.file,
          key,
        };
      }
      const ratio = config.ratios[group];
      const key = cacheKey({ content_sha256, style_sha256: p.styleSha256, ratio, ...opt });
      return { image, group, name, ratio, style: "main", styleFile: config.style, key };
    })
  );
  const pool = config.classes.flatMap((c) => p.pool[c] ?? []);
  for (const image of pool) {
    const content_sha256 = p.data.sha256.get(image)!;
    for (const t of p.testStyles) {
      const ratio = config.ratios.medium;
      jobs.push({
        image,
        group: "texture",
        name: textureName(image, t.name),
        ratio,
        style: `test:${t.name}`,
        styleFile: t.file,
        key: cacheKey({ content_sha256, style_sha256: t.sha256, ratio, ...opt }),
      });
    }
  }
  for (const pair of p.cuePairs) {
    const ratio = config.ratios.heavy;
    jobs.push({
      image: pair.image,
      group: "cue",
      name: cueName(pair.image),
      ratio,
      style: `crop:${pair.texture_image}`,
      styleFile: pair.texture_image,
      key: cacheKey({
        content_sha256: p.data.sha256.get(pair.image)!,
        style_sha256: p.data.sha256.get(pair.texture_image)!,
        style_crop: TEXTURE_CROP,
        ratio,
        ...opt,
      }),
    });
  }
  return jobs;
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
  // A batch is one tensor of `stylizeBatch` squares sharing a style image and a ratio.
  const byTarget = new Map<string, AddedJob[]>();
  for (const j of styled) {
    const k = `${j.style}|${j.ratio}`;
    byTarget.set(k, [...(byTarget.get(k) ?? []), j]);
  }
  const tasks: Array<{ id: string; jobs: AddedJob[] }> = [];
  for (const group of byTarget.values()) {
    for (let i = 0; i < group.length; i += config.stylizeBatch) {
      tasks.push({ id: String(tasks.length), jobs: group.slice(i, i + config.stylizeBatch) });
    }
  }
  const styles = styleImages(p);
  const progress = new Progress("stylize", styled.length * (config.iterations + 1), "it");
  try {
    await runStyleTasks(
      tasks.map((t) => ({
        id: t.id,
        contents: t.jobs.map((j) => p.data.squares.get(j.image)!),
        weights: resolveWeights(t.jobs[0].ratio!),
        style: styles.get(t.jobs[0].style!)!,
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
            style_file: j.styleFile,
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
    out.set(j.name, {
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
  allJobs: AddedJob[],
  squares: Map<string, RgbImage>,
  added: Map<string, AddedImage>,
  config: StudyConfig,
): StylizedRecord[] {
  const jobs = allJobs.filter((j): j is AddedJob & { group: AddedGroup } =>
    j.group !== "texture" && j.group !== "cue"
  );
  return jobs.map((j) => {
    const a = added.get(j.name)!;
    const original = squares.get(j.image)!;
    const h = a.history;
    const best = a.bestStep === null ? null : h.find((r) => r.iteration === a.bestStep) ?? null;
    return {
      image: j.image,
      style: j.group,
      ratio: j.ratio,
      style_file: j.styleFile,
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
