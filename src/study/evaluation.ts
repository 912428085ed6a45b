/**
 * The study's evaluation conditions beyond the clean test set, all made from
 * the evaluation pool (images reserved from every draw's training set, so no
 * classifier ever trained on them or on a version of them):
 *
 * - `texture:NAME`: each pool image stylized with held-out test style NAME at
 *   the medium ratio (texture shift; Jackson et al. 2019);
 * - `cue_conflict`: each pool image stylized with a centre crop of a pool
 *   image of another class at the heavy ratio: shape of one class, texture
 *   of another (Geirhos et al. 2019);
 * - `corruption:NAME:S`: each pool image under corruption NAME at severity
 *   S (ImageNet-C's manner, Hendrycks and Dietterich 2019), seeded per image.
 *
 * Every run scores the same images; results.json keeps the image lists once
 * (`evaluation`) and each run only its predictions.
 *
 * @example
 * ```ts
 * import { buildEvaluation } from "./evaluation.ts";
 * declare const p: import("./prepare.ts").Prepared;
 * declare const config: import("./config.ts").StudyConfig;
 * declare const added: Map<string, import("./stylize.ts").AddedImage>;
 * const { set, images } = await buildEvaluation(p, config, added);
 * console.log(set.conditions.map((c) => `${c.name}: ${c.images.length}`), images.size);
 * ```
 * @module
 */
import type { RgbImage } from "../images/io.ts";
import { blurSigma, corrupt, CORRUPTION_PARAMS, SEVERITIES } from "../images/corrupt.ts";
import { hash32 } from "../util/random.ts";
import type { StudyConfig } from "./config.ts";
import type { Prepared } from "./prepare.ts";
import { TEXTURE_CROP } from "./prepare.ts";
import { type AddedImage, cueName, textureName } from "./stylize.ts";
import type { EvalCondition, EvaluationSet } from "../report/schema.ts";

/** The evaluation set and every condition image at the classifier's size, by name. */
export interface Evaluation {
  set: EvaluationSet;
  images: Map<string, RgbImage>;
}

/** The name of a pool image under a corruption. */
export function corruptionName(image: string, corruption: string, severity: number): string {
  return `${image}#${corruption}:${severity}`;
}

/** Build every condition from the pool, the cached stylized pool images and the corruptions. */
export async function buildEvaluation(
  p: Prepared,
  config: StudyConfig,
  added: Map<string, AddedImage>,
): Promise<Evaluation> {
  const classes = config.classes;
  const pool = classes.flatMap((c, label) => (p.pool[c] ?? []).map((image) => ({ image, label })));
  const images = new Map<string, RgbImage>();
  const conditions: EvalCondition[] = [];
  const fromCache = (name: string) => {
    const a = added.get(name);
    if (!a) throw new Error(`evaluation image ${name} missing after stylization`);
    images.set(name, a.image);
    return name;
  };
  for (const t of p.testStyles) {
    conditions.push({
      name: `texture:${t.name}`,
      kind: "texture_shift",
      source: t.file,
      severity: null,
      images: pool.map((x) => fromCache(textureName(x.image, t.name))),
      labels: pool.map((x) => x.label),
    });
  }
  if (p.cuePairs.length > 0) {
    conditions.push({
      name: "cue_conflict",
      kind: "cue_conflict",
      source: null,
      severity: null,
      images: p.cuePairs.map((c) => fromCache(cueName(c.image))),
      labels: p.cuePairs.map((c) => classes.indexOf(c.shape_class)),
      texture_labels: p.cuePairs.map((c) => classes.indexOf(c.texture_class)),
    });
  }
  if (pool.length > 0) {
    for (const corruption of config.corruptions) {
      for (const severity of SEVERITIES) {
        const names: string[] = [];
        for (const x of pool) {
          const name = corruptionName(x.image, corruption, severity);
          const seed = hash32(`${config.seed}:corrupt:${name}`);
          images.set(name, await corrupt(p.data.images.get(x.image)!, corruption, severity, seed));
          names.push(name);
        }
        conditions.push({
          name: `corruption:${corruption}:${severity}`,
          kind: "corruption",
          source: corruption,
          severity,
          images: names,
          labels: pool.map((x) => x.label),
        });
      }
    }
  }
  const set: EvaluationSet = {
    pool: Object.fromEntries(classes.map((c) => [c, p.pool[c] ?? []])),
    conditions,
    test_styles: p.testStyles.map((t) => t.file),
    texture_ratio: config.ratios.medium,
    cue_conflict_ratio: config.ratios.heavy,
    texture_crop: TEXTURE_CROP,
    cue_conflict_pairs: p.cuePairs,
    // The blur's sigma is in pixels at 224 px; recorded as applied at the classifier's size.
    corruption_params: Object.fromEntries(
      config.corruptions.map((c) => [
        c,
        c === "gaussian_blur"
          ? SEVERITIES.map((s) => blurSigma(config.imageSize, s))
          : CORRUPTION_PARAMS[c],
      ]),
    ),
    seed: config.seed,
  };
  return { set, images };
}
