/**
 * Scoring of one classifier run under the evaluation conditions beyond the
 * clean test set: per-condition accuracy, the study's endpoints (pooled
 * texture-shift accuracy, pooled corruption accuracy, shape bias) and the
 * cue-conflict decision counts behind shape bias (Geirhos et al. 2019).
 *
 * Endpoint definitions (see `ENDPOINTS` in src/report/schema.ts):
 *
 * - `texture_shift_accuracy`: correct / images over every `texture_shift`
 *   condition's images together (pooled);
 * - `corruption_accuracy`: the same over every `corruption` condition. The
 *   corruption conditions must have equal image counts (checked by
 *   {@link validateConditions}), so the pooled accuracy equals the mean of
 *   the per-condition accuracies;
 * - `shape_bias`: on the `cue_conflict` condition, shape / (shape + texture)
 *   decisions, null when the run made neither kind of decision.
 *
 * An endpoint is null when the run has no condition of its kind.
 *
 * @example
 * ```ts
 * import { shapeBiasCounts } from "./endpoints.ts";
 * const r = shapeBiasCounts([0, 1], [1, 0], [0, 0], ["crab", "moth"]);
 * console.log(r.overall); // { shape: 1, texture: 1, other: 0, shape_bias: 0.5 }
 * ```
 * @module
 */
import type {
  ConditionKind,
  Endpoint,
  EvalCondition,
  RunEvaluation,
  ShapeBiasCounts,
} from "../report/schema.ts";

/** The condition kind each endpoint beyond clean accuracy is computed from. */
export const ENDPOINT_KINDS: Readonly<Record<Exclude<Endpoint, "clean_accuracy">, ConditionKind>> =
  {
    texture_shift_accuracy: "texture_shift",
    corruption_accuracy: "corruption",
    shape_bias: "cue_conflict",
  };

function checkIndices(what: string, values: readonly number[], numClasses: number): void {
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new Error(`${what}: class index ${v} outside 0..${numClasses - 1}`);
    }
  }
}

function emptyCounts(): ShapeBiasCounts {
  return { shape: 0, texture: 0, other: 0, shape_bias: null };
}

function finish(c: ShapeBiasCounts): ShapeBiasCounts {
  const decided = c.shape + c.texture;
  c.shape_bias = decided > 0 ? c.shape / decided : null;
  return c;
}

/**
 * Cue-conflict decisions (Geirhos et al. 2019): each prediction is a `shape`
 * decision when it equals the image's shape class (`labels`), a `texture`
 * decision when it equals its texture class (`textureLabels`), and `other`
 * otherwise; shape_bias = shape / (shape + texture), null when both are 0.
 * Counted overall and per shape class (every class of `classes` gets an
 * entry, all zero when it has no cue-conflict image). An image whose shape
 * and texture classes coincide is an Error (it cannot separate the cues).
 *
 * @example
 * ```ts
 * import { shapeBiasCounts } from "./endpoints.ts";
 * // Image 0: shape crab, texture moth, predicted crab (shape); image 1: predicted crab (texture).
 * const r = shapeBiasCounts([0, 1], [1, 0], [0, 0], ["crab", "moth"]);
 * console.log(r.per_class.moth); // { shape: 0, texture: 1, other: 0, shape_bias: 0 }
 * ```
 */
export function shapeBiasCounts(
  labels: readonly number[],
  textureLabels: readonly number[],
  predictions: readonly number[],
  classes: readonly string[],
): { overall: ShapeBiasCounts; per_class: Record<string, ShapeBiasCounts> } {
  const n = labels.length;
  if (textureLabels.length !== n || predictions.length !== n) {
    throw new Error(
      `shapeBiasCounts: ${n} shape labels, ${textureLabels.length} texture labels and ` +
        `${predictions.length} predictions`,
    );
  }
  const k = classes.length;
  checkIndices("shapeBiasCounts: shape label", labels, k);
  checkIndices("shapeBiasCounts: texture label", textureLabels, k);
  checkIndices("shapeBiasCounts: prediction", predictions, k);
  const overall = emptyCounts();
  const perClass = classes.map(emptyCounts);
  for (let i = 0; i < n; i++) {
    if (labels[i] === textureLabels[i]) {
      throw new Error(`shapeBiasCounts: image ${i} has shape and texture class ${labels[i]}`);
    }
    const kind = predictions[i] === labels[i]
      ? "shape"
      : predictions[i] === textureLabels[i]
      ? "texture"
      : "other";
    overall[kind]++;
    perClass[labels[i]][kind]++;
  }
  const per_class: Record<string, ShapeBiasCounts> = {};
  classes.forEach((name, c) => (per_class[name] = finish(perClass[c])));
  return { overall: finish(overall), per_class };
}

/**
 * Checks the conditions' own consistency: unique names, as many labels as
 * images, in-range labels, `texture_labels` (of the same length) on a
 * cue-conflict condition, at least one image per condition, at most one
 * cue-conflict condition, and equal image counts over the corruption
 * conditions (so pooled corruption accuracy is the mean over corruptions).
 * Throws an Error naming the condition.
 *
 * @example
 * ```ts
 * import { validateConditions } from "./endpoints.ts";
 * validateConditions([], 3); // nothing to check
 * ```
 */
export function validateConditions(conditions: readonly EvalCondition[], numClasses: number): void {
  const names = new Set<string>();
  let cueConflicts = 0;
  let corruptionSize: number | null = null;
  for (const c of conditions) {
    if (names.has(c.name)) throw new Error(`condition ${c.name}: name repeated`);
    names.add(c.name);
    if (c.images.length === 0) throw new Error(`condition ${c.name}: no images`);
    if (c.labels.length !== c.images.length) {
      throw new Error(
        `condition ${c.name}: ${c.labels.length} labels for ${c.images.length} images`,
      );
    }
    checkIndices(`condition ${c.name}: label`, c.labels, numClasses);
    if (c.kind === "cue_conflict") {
      cueConflicts++;
      if (!c.texture_labels || c.texture_labels.length !== c.images.length) {
        throw new Error(
          `condition ${c.name}: ${c.texture_labels?.length ?? 0} texture labels for ` +
            `${c.images.length} images`,
        );
      }
      checkIndices(`condition ${c.name}: texture label`, c.texture_labels, numClasses);
    }
    if (c.kind === "corruption") {
      if (corruptionSize !== null && c.images.length !== corruptionSize) {
        throw new Error(
          `condition ${c.name}: ${c.images.length} images, other corruption conditions ` +
            `${corruptionSize} (pooled accuracy would not be the mean over corruptions)`,
        );
      }
      corruptionSize = c.images.length;
    }
  }
  if (cueConflicts > 1) throw new Error(`${cueConflicts} cue-conflict conditions (at most 1)`);
}

/**
 * Checks that `predictions` holds, for every condition, one in-range class
 * index per image (extra entries are an error too); `who` prefixes the message.
 *
 * @example
 * ```ts
 * import { validatePredictions } from "./endpoints.ts";
 * validatePredictions([], {}, 3, "run 0"); // nothing to check
 * ```
 */
export function validatePredictions(
  conditions: readonly EvalCondition[],
  predictions: Readonly<Record<string, readonly number[]>> | undefined,
  numClasses: number,
  who: string,
): void {
  const preds = predictions ?? {};
  for (const c of conditions) {
    const p = preds[c.name];
    if (!p) throw new Error(`${who}: no predictions for condition ${c.name}`);
    if (p.length !== c.images.length) {
      throw new Error(
        `${who}: ${p.length} predictions for condition ${c.name} of ${c.images.length} images`,
      );
    }
    checkIndices(`${who}: condition ${c.name}: prediction`, p, numClasses);
  }
  const known = new Set(conditions.map((c) => c.name));
  for (const name of Object.keys(preds)) {
    if (!known.has(name)) throw new Error(`${who}: predictions for unknown condition ${name}`);
  }
}

/**
 * Scores a run's predictions under the evaluation conditions: accuracy per
 * condition, the endpoints (clean accuracy as given; texture-shift and
 * corruption accuracy pooled over their conditions' images; shape bias on the
 * cue-conflict condition; null when there is no condition of that kind) and
 * the cue-conflict decision counts (all zero, shape bias null, without a
 * cue-conflict condition). Conditions and predictions are validated with
 * {@link validateConditions} and {@link validatePredictions}; a mismatch
 * throws an Error. `predictions` is kept as given (not copied).
 *
 * @example
 * ```ts
 * import { scoreEvaluation } from "./endpoints.ts";
 * const cond = {
 *   name: "texture:a", kind: "texture_shift" as const, source: "a.jpg", severity: null,
 *   images: ["crab/1.jpg#texture:a", "moth/1.jpg#texture:a"], labels: [0, 1],
 * };
 * const e = scoreEvaluation([cond], { "texture:a": [0, 0] }, ["crab", "moth"], 0.9);
 * console.log(e.endpoints); // clean 0.9, texture shift 0.5, corruption and shape bias null
 * ```
 */
export function scoreEvaluation(
  conditions: readonly EvalCondition[],
  predictions: Record<string, number[]>,
  classes: readonly string[],
  cleanAccuracy: number,
): RunEvaluation {
  if (!(cleanAccuracy >= 0 && cleanAccuracy <= 1)) {
    throw new Error(`scoreEvaluation: clean accuracy ${cleanAccuracy} outside [0, 1]`);
  }
  validateConditions(conditions, classes.length);
  validatePredictions(conditions, predictions, classes.length, "scoreEvaluation");
  const accuracy: Record<string, number> = {};
  const pooled = new Map<ConditionKind, { correct: number; images: number }>();
  let shape_bias = {
    overall: emptyCounts(),
    per_class: Object.fromEntries(classes.map((c) => [c, emptyCounts()])),
  };
  for (const c of conditions) {
    const p = predictions[c.name];
    let correct = 0;
    for (let i = 0; i < p.length; i++) if (p[i] === c.labels[i]) correct++;
    accuracy[c.name] = correct / p.length;
    const pool = pooled.get(c.kind) ?? { correct: 0, images: 0 };
    pool.correct += correct;
    pool.images += p.length;
    pooled.set(c.kind, pool);
    if (c.kind === "cue_conflict") {
      shape_bias = shapeBiasCounts(c.labels, c.texture_labels!, p, classes);
    }
  }
  const pooledAccuracy = (kind: ConditionKind): number | null => {
    const pool = pooled.get(kind);
    return pool ? pool.correct / pool.images : null;
  };
  return {
    predictions,
    accuracy,
    endpoints: {
      clean_accuracy: cleanAccuracy,
      texture_shift_accuracy: pooledAccuracy("texture_shift"),
      corruption_accuracy: pooledAccuracy("corruption"),
      shape_bias: pooled.has("cue_conflict") ? shape_bias.overall.shape_bias : null,
    },
    shape_bias,
  };
}
