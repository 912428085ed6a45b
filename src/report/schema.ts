/**
 * The `results.json` schema (see `SCHEMA_VERSION`), the report's input: style
 * groups, endpoints, one trained classifier's result, and the comparison of a
 * configuration against a baseline. The study writes these shapes and imports
 * them from here; the report owns them so that it never imports `src/study/`
 * (the folders form no cycle).
 *
 * @example
 * ```ts
 * import { STYLE_GROUPS, type RunResult } from "./schema.ts";
 * console.log(STYLE_GROUPS.join("|")); // none|copy|light|medium|heavy|bank
 * ```
 * @module
 */

/** Version of the results.json layout; bump on any incompatible change. */
export const SCHEMA_VERSION = 3;

/**
 * The style groups, in report order: `none` trains on originals only; `copy`
 * adds every original a second time through the stylization pipeline's
 * resize and PNG encode/decode with no optimisation (the "more images"
 * control); light/medium/heavy add one copy stylized with `--style` at that
 * fixed ratio (the plan's groups); `bank` adds one copy stylized with a style
 * drawn from the `--styles` bank at a ratio drawn log-uniformly between the
 * heavy and light ratios (style randomisation, Jackson et al. 2019).
 */
export const STYLE_GROUPS = ["none", "copy", "light", "medium", "heavy", "bank"] as const;
/** One style group. */
export type StyleGroup = typeof STYLE_GROUPS[number];
/** The plan's fixed-ratio groups: `--style` at the profile's light/medium/heavy ratio. */
export const STYLED_GROUPS = ["light", "medium", "heavy"] as const;
/** A fixed-ratio group. */
export type StyledGroup = typeof STYLED_GROUPS[number];
/** Every group whose added images come from the stylization optimiser. */
export const OPTIMISED_GROUPS = [...STYLED_GROUPS, "bank"] as const;
/** A group that runs the optimiser. */
export type OptimisedGroup = typeof OPTIMISED_GROUPS[number];

/**
 * The study's endpoints, each scored per classifier run and compared draw by
 * draw with the baselines:
 *
 * - `clean_accuracy`: accuracy on the draw's test images (its complement);
 * - `texture_shift_accuracy`: accuracy on the evaluation pool stylized with
 *   each held-out `--test-styles` style (medium ratio), pooled over styles;
 * - `corruption_accuracy`: accuracy on the evaluation pool under every
 *   corruption and severity, pooled (equal counts, so the mean over
 *   corruptions);
 * - `shape_bias`: on cue-conflict images (shape of class A, texture of
 *   class B), shape / (shape + texture) decisions (Geirhos et al. 2019).
 */
export const ENDPOINTS = [
  "clean_accuracy",
  "texture_shift_accuracy",
  "corruption_accuracy",
  "shape_bias",
] as const;
/** One endpoint. */
export type Endpoint = typeof ENDPOINTS[number];

/** Kinds of evaluation condition beyond the clean test set. */
export type ConditionKind = "texture_shift" | "corruption" | "cue_conflict";

/**
 * One evaluation condition: a fixed set of images scored by every run
 * (results.json `evaluation.conditions[]`; runs hold only their predictions).
 * Names: `texture:<style>`, `corruption:<name>:<severity>`, `cue_conflict`.
 */
export interface EvalCondition {
  name: string;
  kind: ConditionKind;
  /** `texture_shift`: the test style's file; `corruption`: the corruption's name. */
  source: string | null;
  /** `corruption`: 1..3; otherwise null. */
  severity: number | null;
  /** Image names, e.g. `crab/image_0003.jpg#texture:the_scream`. */
  images: string[];
  /** True (shape) class index per image, in `classes` order. */
  labels: number[];
  /** `cue_conflict`: the texture's class index per image; otherwise absent. */
  texture_labels?: number[];
}

/** One cue-conflict image: the shape of `image` (class `shape_class`), the texture of a centre crop of `texture_image`. */
export interface CueConflictPair {
  image: string;
  texture_image: string;
  shape_class: string;
  texture_class: string;
}

/**
 * The fixed evaluation material of a run (results.json `evaluation`): the pool
 * reserved from every draw's training set and the conditions made from it.
 */
export interface EvaluationSet {
  /** Class -> pool image ids (relative to `--data`), never in any draw's training set. */
  pool: Record<string, string[]>;
  /** Every condition beyond the clean test set, in report order: texture, cue conflict, corruptions. */
  conditions: EvalCondition[];
  /** Held-out style files of the texture-shift condition. */
  test_styles: string[];
  /** Content:style ratio of the texture-shift images (the profile's medium). */
  texture_ratio: number;
  /** Content:style ratio of the cue-conflict images (the profile's heavy). */
  cue_conflict_ratio: number;
  /** Side fraction of the centre crop taken from the texture image. */
  texture_crop: number;
  cue_conflict_pairs: CueConflictPair[];
  /** Corruption -> its parameter at severities 1, 2, 3 (see src/images/corrupt.ts; gaussian_blur: the sigma in pixels as applied at the classifier size). */
  corruption_params: Record<string, readonly number[]>;
  /** Seed of the corruptions (noise) and of the cue-conflict pairing. */
  seed: number;
}

/** Shape and texture decisions on cue-conflict images (shape_bias null when both are 0). */
export interface ShapeBiasCounts {
  shape: number;
  texture: number;
  other: number;
  shape_bias: number | null;
}

/** One run's scores beyond the clean test set. */
export interface RunEvaluation {
  /** Condition name -> predicted class per image, in the condition's image order. */
  predictions: Record<string, number[]>;
  /** Condition name -> accuracy. */
  accuracy: Record<string, number>;
  /** Every endpoint's value (null when the run has no such condition, or shape bias is undefined). */
  endpoints: Record<Endpoint, number | null>;
  /** Cue-conflict decisions: overall and per shape class. */
  shape_bias: { overall: ShapeBiasCounts; per_class: Record<string, ShapeBiasCounts> };
}
/** The baselines every configuration is compared with. */
export const BASELINES = ["none", "copy"] as const;
/** `none`: the plan's control (no added images, no static augmentation); `copy`: the copy group at the same static augmentation setting. */
export type Baseline = typeof BASELINES[number];

/** Classifier kinds: frozen-VGG transfer learning, or a small CNN from scratch. */
export type ClassifierKind = "transfer" | "cnn";

/** Precision, recall and F1 of one class. `precision_defined` is false when the class was never predicted. */
export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  precision_defined: boolean;
}

/** One trained and evaluated classifier. Paths are relative to `--data`. */
export interface RunResult {
  /** Training draw (or disjoint subset, with `--subsets`) this run belongs to, 0-based. */
  draw: number;
  style: StyleGroup;
  static_augmentation: boolean;
  classifier: ClassifierKind;
  classes: string[];
  /** Training images before static augmentation: originals as paths, added copies as `path@group`. */
  train_images: string[];
  /** Images the classifier was trained on, static augmentation copies included. */
  train_examples: number;
  test_images: string[];
  /** rows = true class, columns = predicted class, in `classes` order. */
  confusion: number[][];
  per_class: Record<string, ClassMetrics>;
  accuracy: number;
  macro_f1: number;
  /** Predicted class index per test image, in `test_images` order (for paired tests). */
  predictions: number[];
  /** Seconds spent training this classifier. */
  train_seconds: number;
  /** Scores under the evaluation conditions (texture shift, corruptions, cue conflict). */
  evaluation: RunEvaluation;
}

/** One draw's paired difference of a configuration from its baseline on one endpoint (same images). */
export interface DrawDiff {
  draw: number;
  /** The endpoint's value for the configuration's run and the baseline's run of this draw. */
  config_value: number;
  baseline_value: number;
  /** config_value - baseline_value. */
  diff: number;
  /** `clean_accuracy` only: the macro-F1 difference; null otherwise. */
  macro_f1_diff: number | null;
  /**
   * Accuracy endpoints: images the baseline got right and the config wrong (b), and vice
   * versa (c), and McNemar's exact two-sided p (supporting detail only); null for shape bias.
   */
  mcnemar_b: number | null;
  mcnemar_c: number | null;
  mcnemar_p: number | null;
}

/** Draw-level statistics of one paired difference (an endpoint, or clean macro-F1). */
export interface DiffStats {
  /** Mean over draws of the per-draw differences. */
  mean_diff: number;
  /** Sample sd over draws (null when n < 2). */
  sd_diff: number | null;
  /** t-interval over draws of the mean difference (null when n < 2). */
  ci95_draws: [number, number] | null;
  /** Two-level bootstrap (draws, then evaluation images within draws) percentile interval. */
  ci95_bootstrap: [number, number];
  /** Wilcoxon signed-rank test over draws, two-sided (exact for n <= 20). */
  p_wilcoxon: number;
  /** Holm-adjusted `p_wilcoxon` across the run's family (see {@link Comparison}). */
  p_holm: number;
  /** Smallest true mean difference a paired t-test at alpha 0.05 detects with 80% power, given the observed sd (null when n < 2). */
  mde80: number | null;
}

/**
 * A configuration compared with one baseline on one endpoint, draw by draw;
 * the analysis unit is the draw. The endpoint's fields are at the top level;
 * Holm covers every endpoint's comparisons of the run as one family.
 * `macro_f1` (clean endpoint only) is its own Holm family, as supporting
 * detail.
 */
export interface Comparison extends DiffStats {
  endpoint: Endpoint;
  style: StyleGroup;
  static_augmentation: boolean;
  classifier: ClassifierKind;
  baseline: Baseline;
  /** The baseline run's coordinates (style and static augmentation). */
  baseline_style: StyleGroup;
  baseline_static_augmentation: boolean;
  per_draw: DrawDiff[];
  /** Number of draws (n). */
  draws: number;
  /** `clean_accuracy` only: the same analysis of macro-F1; null otherwise. */
  macro_f1: DiffStats | null;
}

/** What one added (copy or stylized) training image is, measured against its original. */
export interface StylizedRecord {
  /** Original, relative to `--data`. */
  image: string;
  style: Exclude<StyleGroup, "none">;
  /** Content:style ratio (null for `copy`); for `bank`, the ratio drawn for this copy. */
  ratio: number | null;
  /** Style image file (null for `copy`); for `bank`, the style drawn for this copy. */
  style_file: string | null;
  /** Optimiser steps taken (0 for `copy`). */
  steps: number;
  /** Step of the kept (lowest-loss) image; >= 1 for a stylized group (null for `copy`). */
  best_step: number | null;
  /** Mean |stylized - original| over pixels and channels, 0-255. */
  mean_abs_change: number;
  /** SSIM of the stylized image against its original (luma, 11x11 Gaussian window). */
  ssim: number;
  /** Style loss at the best step over the style loss at step 0 (null for `copy`). */
  style_loss_ratio: number | null;
  /** Content loss at the best step (null for `copy`). */
  final_content_loss: number | null;
  /** True when the added image is pixel-identical to its original (an error for a stylized group). */
  identical: boolean;
}
