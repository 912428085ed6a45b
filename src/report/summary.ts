/**
 * Aggregates of the study's runs: per configuration (classifier, style group,
 * static augmentation), the mean and sample standard deviation over training
 * draws of accuracy, macro-F1 and each class's precision and recall.
 * Precision is averaged only over draws where it is defined (the class was
 * predicted at least once), and how many those were is kept so the report can
 * say so. Also the per-group characterisation of the added (copy or
 * stylized) training images, and whether the stylized groups are ordered by
 * how much they change their originals.
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
  type Endpoint,
  ENDPOINTS,
  type RunResult,
  type ShapeBiasCounts,
  STYLE_GROUPS,
  STYLED_GROUPS,
  type StyledGroup,
  type StyleGroup,
  type StylizedRecord,
} from "./schema.ts";

/** Mean and sample standard deviation (n - 1; 0 when n < 2) of `n` values. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** One configuration's aggregates over its training draws. */
export interface ConfigSummary {
  classifier: ClassifierKind;
  style: StyleGroup;
  static_augmentation: boolean;
  /** {@link configLabel} of style and augmentation. */
  label: string;
  /** Draws aggregated (`RunResult.draw`), ascending. */
  draws: number[];
  classes: string[];
  accuracy: MeanStd;
  macro_f1: MeanStd;
  /** `precision.n` counts only draws where precision was defined; NaN mean when none. */
  per_class: Record<string, { precision: MeanStd; recall: MeanStd; f1: MeanStd }>;
  /** Each endpoint over the draws where it is defined (`n` says how many). */
  endpoints: Record<Endpoint, MeanStd>;
  /** Evaluation condition name -> accuracy over the draws that scored it. */
  conditions: Record<string, MeanStd>;
  /** Cue-conflict decisions summed over draws (shape_bias recomputed from the sums). */
  shape_counts: { overall: ShapeBiasCounts; per_class: Record<string, ShapeBiasCounts> };
}

/** A run's value of an endpoint; null when undefined or when the run has no evaluation. */
export function endpointValue(r: RunResult, e: Endpoint): number | null {
  const v = r.evaluation?.endpoints?.[e];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Sum cue-conflict counts and recompute shape / (shape + texture) (null when both are 0).
 *
 * @example
 * ```ts
 * import { poolShapeCounts } from "./summary.ts";
 * const s = { shape: 3, texture: 1, other: 0, shape_bias: 0.75 };
 * console.log(poolShapeCounts([s, s]).shape_bias); // 0.75
 * ```
 */
export function poolShapeCounts(counts: readonly ShapeBiasCounts[]): ShapeBiasCounts {
  const sum = (k: "shape" | "texture" | "other") => counts.reduce((a, c) => a + c[k], 0);
  const shape = sum("shape"), texture = sum("texture");
  return {
    shape,
    texture,
    other: sum("other"),
    shape_bias: shape + texture > 0 ? shape / (shape + texture) : null,
  };
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
 * import type { RunResult } from "./schema.ts";
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
    g.sort((a, b) => a.draw - b.draw);
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
      draws: g.map((r) => r.draw),
      classes,
      accuracy: meanStd(g.map((r) => r.accuracy)),
      macro_f1: meanStd(g.map((r) => r.macro_f1)),
      per_class,
      ...evaluationSummary(g, classes),
    });
  }
  return out.sort((a, b) =>
    configOrder(a.classifier, a.style, a.static_augmentation) -
    configOrder(b.classifier, b.style, b.static_augmentation)
  );
}

function evaluationSummary(
  g: readonly RunResult[],
  classes: readonly string[],
): Pick<ConfigSummary, "endpoints" | "conditions" | "shape_counts"> {
  const endpoints = Object.fromEntries(
    ENDPOINTS.map((e) => [e, meanStd(present(g.map((r) => endpointValue(r, e))))]),
  ) as Record<Endpoint, MeanStd>;
  const names = [...new Set(g.flatMap((r) => Object.keys(r.evaluation?.accuracy ?? {})))];
  const conditions = Object.fromEntries(
    names.map((n) => [n, meanStd(present(g.map((r) => r.evaluation?.accuracy?.[n] ?? null)))]),
  );
  const sb = g.map((r) => r.evaluation?.shape_bias).filter((x) => x !== undefined);
  const perClass = [...new Set([...classes, ...sb.flatMap((x) => Object.keys(x.per_class))])];
  return {
    endpoints,
    conditions,
    shape_counts: {
      overall: poolShapeCounts(sb.map((x) => x.overall)),
      per_class: Object.fromEntries(
        perClass.map((c) => [
          c,
          poolShapeCounts(sb.map((x) => x.per_class[c]).filter((x) => x !== undefined)),
        ]),
      ),
    },
  };
}

/** The groups whose runs add images, in report order. */
export type AddedGroup = Exclude<StyleGroup, "none">;

/** One added-image group's characterisation: mean and sd over its {@link StylizedRecord}s. */
export interface StylizedSummary {
  style: AddedGroup;
  /** Records (added images) in the group. */
  n: number;
  mean_abs_change: MeanStd;
  ssim: MeanStd;
  /** Over records where it is not null (none for `copy`). */
  style_loss_ratio: MeanStd;
  best_step: MeanStd;
  final_content_loss: MeanStd;
  /** Added images pixel-identical to their originals. */
  identical: number;
  /** Distinct content:style ratios and step counts, ascending. */
  ratios: number[];
  steps: number[];
  /** Smallest and largest content:style ratio (null without ratios; `bank` draws one per image). */
  ratio_range: [number, number] | null;
  /** Style file -> added images stylized with it (none for `copy`), in descending count, then name. */
  style_files: Array<{ file: string; n: number; ratio_range: [number, number] | null }>;
}

function range(v: readonly number[]): [number, number] | null {
  return v.length === 0 ? null : [Math.min(...v), Math.max(...v)];
}

function styleFiles(g: readonly StylizedRecord[]): StylizedSummary["style_files"] {
  const by = new Map<string, StylizedRecord[]>();
  for (const r of g) {
    if (r.style_file === null || r.style_file === undefined) continue;
    by.set(r.style_file, [...(by.get(r.style_file) ?? []), r]);
  }
  return [...by.entries()]
    .map(([file, rs]) => ({
      file,
      n: rs.length,
      ratio_range: range(present(rs.map((r) => r.ratio))),
    }))
    .sort((a, b) => b.n - a.n || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function present(values: ReadonlyArray<number | null>): number[] {
  return values.filter((v): v is number => v !== null && Number.isFinite(v));
}

/**
 * Characterise the added images per group (copy, light, medium, heavy, bank;
 * groups without records are left out), in report order.
 *
 * @example
 * ```ts
 * import { summarizeStylized } from "./summary.ts";
 * const [copy] = summarizeStylized([{
 *   image: "crab/a.jpg", style: "copy", ratio: null, steps: 0, best_step: null,
 *   mean_abs_change: 0.4, ssim: 0.99, style_loss_ratio: null, final_content_loss: null, identical: false, style_file: null,
 * }]);
 * console.log(copy.n, copy.mean_abs_change.mean); // 1 0.4
 * ```
 */
export function summarizeStylized(records: readonly StylizedRecord[]): StylizedSummary[] {
  const out: StylizedSummary[] = [];
  for (const style of STYLE_GROUPS) {
    if (style === "none") continue;
    const g = records.filter((r) => r.style === style);
    if (g.length === 0) continue;
    const distinct = (v: number[]) => [...new Set(v)].sort((a, b) => a - b);
    out.push({
      style,
      n: g.length,
      mean_abs_change: meanStd(present(g.map((r) => r.mean_abs_change))),
      ssim: meanStd(present(g.map((r) => r.ssim))),
      style_loss_ratio: meanStd(present(g.map((r) => r.style_loss_ratio))),
      best_step: meanStd(present(g.map((r) => r.best_step))),
      final_content_loss: meanStd(present(g.map((r) => r.final_content_loss))),
      identical: g.filter((r) => r.identical).length,
      ratios: distinct(present(g.map((r) => r.ratio))),
      steps: distinct(present(g.map((r) => r.steps))),
      ratio_range: range(present(g.map((r) => r.ratio))),
      style_files: styleFiles(g),
    });
  }
  return out;
}

/** Whether the stylized groups are measurably ordered light < medium < heavy in one measure. */
export interface StrengthOrder {
  /** "mean_abs_change" or "1 - ssim". */
  measure: "mean_abs_change" | "1 - ssim";
  /** Group means of the measure (NaN where a group has no records). */
  means: Record<StyledGroup, number>;
  /** True when all three groups have records. */
  complete: boolean;
  /**
   * True when complete and each step (light to medium, medium to heavy)
   * raises the mean by more than 1.96 standard errors of the difference
   * (Welch; a group of one record contributes no variance).
   */
  ordered: boolean;
}

/**
 * Check the light < medium < heavy ordering in mean |change| and in mean 1 - SSIM.
 *
 * @example
 * ```ts
 * import { strengthOrder, summarizeStylized } from "./summary.ts";
 * const [byChange] = strengthOrder(summarizeStylized([]));
 * console.log(byChange.complete); // false
 * ```
 */
export function strengthOrder(
  summaries: readonly StylizedSummary[],
): [StrengthOrder, StrengthOrder] {
  const check = (measure: StrengthOrder["measure"]): StrengthOrder => {
    const stat = (g: StyledGroup): MeanStd | undefined => {
      const s = summaries.find((x) => x.style === g);
      if (!s) return undefined;
      // 1 - ssim has the mean 1 - mean(ssim) and the same sd.
      return measure === "mean_abs_change"
        ? s.mean_abs_change
        : { mean: 1 - s.ssim.mean, std: s.ssim.std, n: s.ssim.n };
    };
    const stats = STYLED_GROUPS.map(stat);
    const means = Object.fromEntries(
      STYLED_GROUPS.map((g, i) => [g, stats[i] && stats[i].n > 0 ? stats[i].mean : NaN]),
    ) as Record<StyledGroup, number>;
    const complete = stats.every((s) => s !== undefined && s.n > 0);
    let ordered = complete;
    for (let i = 1; complete && i < stats.length; i++) {
      const a = stats[i - 1]!, b = stats[i]!;
      const se = Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n);
      if (!(b.mean - a.mean > 1.96 * se)) ordered = false;
    }
    return { measure, means, complete, ordered };
  };
  return [check("mean_abs_change"), check("1 - ssim")];
}
