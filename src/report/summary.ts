/**
 * Aggregates of the study's runs: per configuration (classifier, style group,
 * static augmentation), the mean and sample standard deviation over subsets
 * of accuracy, macro-F1 and each class's precision and recall. Precision is
 * averaged only over subsets where it is defined (the class was predicted at
 * least once), and how many those were is kept so the report can say so.
 *
 * @example
 * ```ts
 * import { summarize, configLabel } from "./summary.ts";
 * const rows = summarize([]);
 * console.log(rows.length, configLabel("light", true)); // 0 "light + aug"
 * ```
 * @module
 */
import {
  type ClassifierKind,
  type RunResult,
  STYLE_GROUPS,
  type StyleGroup,
} from "../study/types.ts";

/** Mean and sample standard deviation (n - 1; 0 when n < 2) of `n` values. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** One configuration's aggregates over its subsets. */
export interface ConfigSummary {
  classifier: ClassifierKind;
  style: StyleGroup;
  static_augmentation: boolean;
  /** {@link configLabel} of style and augmentation. */
  label: string;
  /** Subsets aggregated. */
  subsets: number[];
  classes: string[];
  accuracy: MeanStd;
  macro_f1: MeanStd;
  /** `precision.n` counts only subsets where precision was defined; NaN mean when none. */
  per_class: Record<string, { precision: MeanStd; recall: MeanStd; f1: MeanStd }>;
}

/** Order in which classifiers are reported. */
export const CLASSIFIER_ORDER: readonly ClassifierKind[] = ["transfer", "cnn"];

/**
 * Mean and sample standard deviation.
 *
 * @example
 * ```ts
 * import { meanStd } from "./summary.ts";
 * console.log(meanStd([1, 2, 3])); // { mean: 2, std: 1, n: 3 }
 * ```
 */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? 0 : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

/**
 * Human label of a configuration: the style group, plus " + aug" with static augmentation.
 *
 * @example
 * ```ts
 * import { configLabel } from "./summary.ts";
 * console.log(configLabel("none", false)); // "none"
 * ```
 */
export function configLabel(style: StyleGroup, staticAugmentation: boolean): string {
  return staticAugmentation ? `${style} + aug` : style;
}

/**
 * Sort key putting configurations in report order: classifier, style group, augmentation.
 *
 * @example
 * ```ts
 * import { configOrder } from "./summary.ts";
 * console.log(configOrder("transfer", "none", false) < configOrder("transfer", "light", false)); // true
 * ```
 */
export function configOrder(classifier: ClassifierKind, style: StyleGroup, aug: boolean): number {
  const c = CLASSIFIER_ORDER.indexOf(classifier);
  return (c < 0 ? CLASSIFIER_ORDER.length : c) * 100 + STYLE_GROUPS.indexOf(style) * 2 +
    (aug ? 1 : 0);
}

/**
 * Aggregate runs by configuration, in report order.
 *
 * @example
 * ```ts
 * import { summarize } from "./summary.ts";
 * import type { RunResult } from "../study/types.ts";
 * declare const runs: RunResult[];
 * for (const s of summarize(runs)) console.log(s.classifier, s.label, s.accuracy.mean);
 * ```
 */
export function summarize(runs: readonly RunResult[]): ConfigSummary[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = `${r.classifier}|${r.style}|${r.static_augmentation}`;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  const out: ConfigSummary[] = [];
  for (const g of groups.values()) {
    g.sort((a, b) => a.subset - b.subset);
    const first = g[0];
    const classes = first.classes;
    const per_class: ConfigSummary["per_class"] = {};
    for (const cls of classes) {
      const m = g.map((r) => r.per_class[cls]).filter((x) => x !== undefined);
      per_class[cls] = {
        precision: meanStd(m.filter((x) => x.precision_defined).map((x) => x.precision)),
        recall: meanStd(m.map((x) => x.recall)),
        f1: meanStd(m.map((x) => x.f1)),
      };
    }
    out.push({
      classifier: first.classifier,
      style: first.style,
      static_augmentation: first.static_augmentation,
      label: configLabel(first.style, first.static_augmentation),
      subsets: g.map((r) => r.subset),
      classes,
      accuracy: meanStd(g.map((r) => r.accuracy)),
      macro_f1: meanStd(g.map((r) => r.macro_f1)),
      per_class,
    });
  }
  return out.sort((a, b) =>
    configOrder(a.classifier, a.style, a.static_augmentation) -
    configOrder(b.classifier, b.style, b.static_augmentation)
  );
}
