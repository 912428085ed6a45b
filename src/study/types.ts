/**
 * The study's shared vocabulary: style groups, one trained classifier's
 * result, and the comparison of a configuration against the control. These
 * are the shapes written to `results.json` (see `SCHEMA_VERSION`).
 *
 * @example
 * ```ts
 * import { STYLE_GROUPS, type RunResult } from "./types.ts";
 * console.log(STYLE_GROUPS.join("|")); // none|light|medium|heavy
 * ```
 * @module
 */

/** Version of the results.json layout; bump on any incompatible change. */
export const SCHEMA_VERSION = 2;

/**
 * The style groups, in report order: `none` trains on originals only; `copy`
 * adds every original a second time through the stylization pipeline's
 * resize and PNG encode/decode with no optimisation (the "more images"
 * control); light/medium/heavy add one stylized copy each.
 */
export const STYLE_GROUPS = ["none", "copy", "light", "medium", "heavy"] as const;
/** One style group. */
export type StyleGroup = typeof STYLE_GROUPS[number];
/** The groups whose added images come from the stylization optimiser. */
export const STYLED_GROUPS = ["light", "medium", "heavy"] as const;
/** A group that runs the optimiser. */
export type StyledGroup = typeof STYLED_GROUPS[number];
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
}

/** One draw's paired difference of a configuration from its baseline (same test images). */
export interface DrawDiff {
  draw: number;
  accuracy_diff: number;
  macro_f1_diff: number;
  /** Test images the baseline got right and the config wrong (b), and vice versa (c). */
  mcnemar_b: number;
  mcnemar_c: number;
  /** McNemar's exact two-sided p for this draw (supporting detail only). */
  mcnemar_p: number;
}

/** A configuration compared with one baseline, draw by draw. The analysis unit is the draw. */
export interface Comparison {
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
  mean_accuracy_diff: number;
  /** Sample sd over draws of the per-draw accuracy differences (null when n < 2). */
  sd_accuracy_diff: number | null;
  /** t-interval over draws of the mean accuracy difference (null when n < 2). */
  accuracy_diff_ci95_draws: [number, number] | null;
  /** Two-level bootstrap (draws, then test images within draws) percentile interval. */
  accuracy_diff_ci95_bootstrap: [number, number];
  /** Wilcoxon signed-rank test over draws, two-sided (exact for n <= 20). */
  p_wilcoxon: number;
  /** Holm-adjusted `p_wilcoxon` across all accuracy comparisons of the run. */
  p_holm: number;
  /** Smallest true mean accuracy difference a paired t-test at alpha 0.05 detects with 80% power, given the observed sd (null when n < 2). */
  mde80_accuracy: number | null;
  mean_macro_f1_diff: number;
  sd_macro_f1_diff: number | null;
  macro_f1_diff_ci95_draws: [number, number] | null;
  macro_f1_diff_ci95_bootstrap: [number, number];
  p_wilcoxon_macro_f1: number;
  /** Holm-adjusted across all macro-F1 comparisons of the run. */
  p_holm_macro_f1: number;
  mde80_macro_f1: number | null;
}

/** What one added (copy or stylized) training image is, measured against its original. */
export interface StylizedRecord {
  /** Original, relative to `--data`. */
  image: string;
  style: Exclude<StyleGroup, "none">;
  /** Content:style ratio (null for `copy`). */
  ratio: number | null;
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
