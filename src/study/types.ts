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
export const SCHEMA_VERSION = 1;

/** The four style groups of the research plan, in report order. */
export const STYLE_GROUPS = ["none", "light", "medium", "heavy"] as const;
/** One style group: `none` trains on originals only. */
export type StyleGroup = typeof STYLE_GROUPS[number];

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
  subset: number;
  style: StyleGroup;
  static_augmentation: boolean;
  classifier: ClassifierKind;
  classes: string[];
  /** Training images before static augmentation: originals as paths, stylized copies as `path@style`. */
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

/** A configuration compared with the control (style none, no static augmentation) on the same test images. */
export interface Comparison {
  style: StyleGroup;
  static_augmentation: boolean;
  classifier: ClassifierKind;
  /** Per subset: accuracy and macro-F1 differences (config minus control), and McNemar's exact p. */
  per_subset: Array<{
    subset: number;
    accuracy_diff: number;
    macro_f1_diff: number;
    /** Test images the control got right and the config wrong (b), and vice versa (c). */
    mcnemar_b: number;
    mcnemar_c: number;
    mcnemar_p: number;
  }>;
  mean_accuracy_diff: number;
  mean_macro_f1_diff: number;
  /** Bootstrap 95% intervals of the mean differences, resampling test images within subsets. */
  accuracy_diff_ci95: [number, number];
  macro_f1_diff_ci95: [number, number];
}
