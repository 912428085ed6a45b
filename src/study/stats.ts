/**
 * Paired statistics for "configuration vs control on the same test images":
 * McNemar's exact test per subset, and a seeded bootstrap 95% percentile
 * interval of the mean (over subsets) accuracy and macro-F1 differences.
 *
 * The bootstrap resamples test images within each subset, with the same
 * resampled indices for configuration and control, so the pairing that makes
 * the comparison sensitive is kept. Subsets themselves are not resampled:
 * with three of them, resampling subsets would say little.
 *
 * @example
 * ```ts
 * import { mcnemarExact } from "./stats.ts";
 * console.log(mcnemarExact(1, 9)); // 0.021484375
 * ```
 * @module
 */
import { accuracyAndMacroF1 } from "./metrics.ts";
import { hash32, mulberry32, randomInt } from "../util/random.ts";
import type { ClassifierKind, Comparison, RunResult, StyleGroup } from "./types.ts";
import { STYLE_GROUPS } from "./types.ts";
import { UserError } from "../util/errors.ts";

/** `x * 2^e` without intermediate overflow or underflow for |e| up to a few thousand. */
function scalePow2(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/**
 * McNemar's exact test, two-sided: with b and c the discordant counts,
 * p = min(1, 2 * sum_{i <= min(b,c)} C(b+c, i) / 2^(b+c)), and p = 1 when
 * b + c = 0. Computed with exact integers (BigInt) and rounded once at the
 * end, so small cases give the exact binary fraction.
 *
 * @example
 * ```ts
 * import { mcnemarExact } from "./stats.ts";
 * console.log(mcnemarExact(0, 5)); // 0.0625
 * ```
 */
export function mcnemarExact(b: number, c: number): number {
  for (const [name, v] of [["b", b], ["c", c]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`mcnemarExact: ${name} = ${v}`);
  }
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let term = 1n, sum = 1n;
  for (let i = 0; i < k; i++) {
    term = (term * BigInt(n - i)) / BigInt(i + 1);
    sum += term;
  }
  const twice = 2n * sum;
  // Keep the top 64 bits of the numerator so Number() neither overflows nor loses the exponent.
  const bits = twice.toString(2).length;
  const drop = Math.max(0, bits - 64);
  const p = scalePow2(Number(twice >> BigInt(drop)), drop - n);
  return Math.min(1, p);
}

/**
 * Discordant pairs: b = images the control got right and the config wrong, c = vice versa.
 *
 * @example
 * ```ts
 * import { discordantPairs } from "./stats.ts";
 * console.log(discordantPairs([0, 1, 1], [0, 1, 0], [1, 1, 1])); // { b: 1, c: 1 }
 * ```
 */
export function discordantPairs(
  truth: ArrayLike<number>,
  control: ArrayLike<number>,
  config: ArrayLike<number>,
): { b: number; c: number } {
  if (truth.length !== control.length || truth.length !== config.length) {
    throw new Error(
      `discordantPairs: lengths differ (${truth.length}, ${control.length}, ${config.length})`,
    );
  }
  let b = 0, c = 0;
  for (let i = 0; i < truth.length; i++) {
    const ctl = control[i] === truth[i], cfg = config[i] === truth[i];
    if (ctl && !cfg) b++;
    else if (!ctl && cfg) c++;
  }
  return { b, c };
}

/**
 * The q-quantile (0..1) of ascending `sorted` values, linear interpolation
 * between order statistics (R's type 7, NumPy's default).
 *
 * @example
 * ```ts
 * import { quantileSorted } from "./stats.ts";
 * console.log(quantileSorted([1, 2, 3, 4], 0.5)); // 2.5
 * ```
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new Error("quantileSorted: no values");
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h), hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** One subset's test images: true classes and both classifiers' predictions, same order. */
export interface PairedSubset {
  truth: ArrayLike<number>;
  control: ArrayLike<number>;
  config: ArrayLike<number>;
}

/** Bootstrap settings. */
export interface BootstrapOptions {
  numClasses: number;
  /** Resamples; default 10000. */
  iterations?: number;
  /** PRNG seed; default 0. */
  seed?: number;
}

/** Point estimates (mean over subsets of config minus control) and their 95% intervals. */
export interface BootstrapResult {
  accuracy_diff: number;
  macro_f1_diff: number;
  accuracy_ci95: [number, number];
  macro_f1_ci95: [number, number];
}

function meanDiffs(
  subsets: readonly PairedSubset[],
  numClasses: number,
  indices?: Uint32Array[],
): [number, number] {
  let acc = 0, f1 = 0;
  subsets.forEach((s, k) => {
    const idx = indices?.[k];
    const a = accuracyAndMacroF1(s.truth, s.config, numClasses, idx);
    const b = accuracyAndMacroF1(s.truth, s.control, numClasses, idx);
    acc += a.accuracy - b.accuracy;
    f1 += a.macro_f1 - b.macro_f1;
  });
  return [acc / subsets.length, f1 / subsets.length];
}

/**
 * Seeded bootstrap 95% percentile intervals of the mean over subsets of the
 * per-subset accuracy and macro-F1 differences (config minus control).
 *
 * @example
 * ```ts
 * import { bootstrapDiffs } from "./stats.ts";
 * const s = { truth: [0, 1, 0, 1], control: [0, 0, 0, 1], config: [0, 1, 0, 1] };
 * const r = bootstrapDiffs([s], { numClasses: 2, iterations: 200, seed: 1 });
 * console.log(r.accuracy_diff); // 0.25
 * ```
 */
export function bootstrapDiffs(
  subsets: readonly PairedSubset[],
  options: BootstrapOptions,
): BootstrapResult {
  const { numClasses, iterations = 10000, seed = 0 } = options;
  if (subsets.length === 0) throw new Error("bootstrapDiffs: no subsets");
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`bootstrapDiffs: iterations = ${iterations}`);
  }
  for (const s of subsets) {
    if (s.truth.length === 0 || s.truth.length !== s.control.length) {
      throw new Error("bootstrapDiffs: empty or mismatched subset");
    }
    if (s.truth.length !== s.config.length) throw new Error("bootstrapDiffs: mismatched subset");
  }
  const [accuracy_diff, macro_f1_diff] = meanDiffs(subsets, numClasses);
  const rand = mulberry32(seed);
  const accs = new Float64Array(iterations), f1s = new Float64Array(iterations);
  const indices = subsets.map((s) => new Uint32Array(s.truth.length));
  for (let it = 0; it < iterations; it++) {
    subsets.forEach((s, k) => {
      const idx = indices[k];
      for (let j = 0; j < idx.length; j++) idx[j] = randomInt(rand, s.truth.length);
    });
    [accs[it], f1s[it]] = meanDiffs(subsets, numClasses, indices);
  }
  accs.sort();
  f1s.sort();
  return {
    accuracy_diff,
    macro_f1_diff,
    accuracy_ci95: [quantileSorted(accs, 0.025), quantileSorted(accs, 0.975)],
    macro_f1_ci95: [quantileSorted(f1s, 0.025), quantileSorted(f1s, 0.975)],
  };
}

/**
 * True class indices of test images, read from each path's class directory
 * (`.../<class>/image_NNNN.jpg`), since a {@link RunResult} stores paths, not labels.
 *
 * @example
 * ```ts
 * import { labelsFromPaths } from "./stats.ts";
 * console.log(labelsFromPaths(["101_ObjectCategories/crab/image_0001.jpg"], ["butterfly", "crab"])); // [1]
 * ```
 */
export function labelsFromPaths(paths: readonly string[], classes: readonly string[]): number[] {
  return paths.map((p) => {
    const parts = p.split(/[\\/]/);
    const label = classes.indexOf(parts[parts.length - 2]);
    if (label < 0) throw new Error(`test image ${p}: class directory not in [${classes}]`);
    return label;
  });
}

/** Options for {@link compareToControl}. */
export interface CompareOptions {
  /** Bootstrap resamples per comparison; default 10000. */
  iterations?: number;
  /** Base seed; each comparison derives its own from it and its configuration. */
  seed?: number;
}

function configKey(r: { classifier: string; style: string; static_augmentation: boolean }) {
  return `${r.classifier}|${r.style}|${r.static_augmentation}`;
}

/**
 * Compare every (style, static_augmentation, classifier) configuration with
 * the control of the same classifier (style none, no static augmentation) on
 * each subset where the configuration ran. Output order: classifier as first
 * seen in `runs`, then style group order, then static augmentation off/on.
 * A missing control run, or a control with different test images or classes,
 * is a {@link UserError} (results from mismatched runs were merged).
 *
 * @example
 * ```ts
 * import { compareToControl } from "./stats.ts";
 * const comparisons = compareToControl([], { iterations: 1000, seed: 1 });
 * console.log(comparisons.length); // 0
 * ```
 */
export function compareToControl(
  runs: readonly RunResult[],
  options: CompareOptions = {},
): Comparison[] {
  const { iterations = 10000, seed = 0 } = options;
  const byKey = new Map<string, Map<number, RunResult>>();
  for (const r of runs) {
    const key = configKey(r);
    const m = byKey.get(key) ?? new Map<number, RunResult>();
    if (m.has(r.subset)) throw new UserError(`two results for ${key} subset ${r.subset}`);
    m.set(r.subset, r);
    byKey.set(key, m);
  }
  const classifiers = [...new Set(runs.map((r) => r.classifier))];
  const out: Comparison[] = [];
  for (const classifier of classifiers) {
    const controlKey = configKey({ classifier, style: "none", static_augmentation: false });
    const controls = byKey.get(controlKey) ?? new Map<number, RunResult>();
    for (const style of STYLE_GROUPS) {
      for (const static_augmentation of [false, true]) {
        if (style === "none" && !static_augmentation) continue;
        const key = configKey({ classifier, style, static_augmentation });
        const configs = byKey.get(key);
        if (!configs) continue;
        out.push(
          compareOne(classifier, style, static_augmentation, configs, controls, {
            iterations,
            seed: hash32(`${seed}:${key}`),
          }),
        );
      }
    }
  }
  return out;
}

function compareOne(
  classifier: ClassifierKind,
  style: StyleGroup,
  static_augmentation: boolean,
  configs: Map<number, RunResult>,
  controls: Map<number, RunResult>,
  boot: { iterations: number; seed: number },
): Comparison {
  const name = `${classifier} style=${style} static_augmentation=${static_augmentation}`;
  const paired: PairedSubset[] = [];
  const per_subset: Comparison["per_subset"] = [];
  let classes: string[] | undefined;
  for (const subset of [...configs.keys()].sort((a, b) => a - b)) {
    const cfg = configs.get(subset)!;
    const ctl = controls.get(subset);
    if (!ctl) throw new UserError(`${name}: no control run (style none) for subset ${subset}`);
    if (ctl.classes.join("\n") !== cfg.classes.join("\n")) {
      throw new UserError(`${name} subset ${subset}: classes differ from the control's`);
    }
    if (classes && classes.join("\n") !== cfg.classes.join("\n")) {
      throw new UserError(`${name}: classes differ between subsets`);
    }
    classes = cfg.classes;
    if (ctl.test_images.join("\n") !== cfg.test_images.join("\n")) {
      throw new UserError(`${name} subset ${subset}: test images differ from the control's`);
    }
    const truth = labelsFromPaths(cfg.test_images, cfg.classes);
    const pair = { truth, control: ctl.predictions, config: cfg.predictions };
    const { b, c } = discordantPairs(truth, ctl.predictions, cfg.predictions);
    // Point estimates from predictions, so they and the interval share one definition.
    const a = accuracyAndMacroF1(truth, cfg.predictions, cfg.classes.length);
    const z = accuracyAndMacroF1(truth, ctl.predictions, cfg.classes.length);
    per_subset.push({
      subset,
      accuracy_diff: a.accuracy - z.accuracy,
      macro_f1_diff: a.macro_f1 - z.macro_f1,
      mcnemar_b: b,
      mcnemar_c: c,
      mcnemar_p: mcnemarExact(b, c),
    });
    paired.push(pair);
  }
  const r = bootstrapDiffs(paired, { numClasses: classes!.length, ...boot });
  return {
    style,
    static_augmentation,
    classifier,
    per_subset,
    mean_accuracy_diff: r.accuracy_diff,
    mean_macro_f1_diff: r.macro_f1_diff,
    accuracy_diff_ci95: r.accuracy_ci95,
    macro_f1_diff_ci95: r.macro_f1_ci95,
  };
}
