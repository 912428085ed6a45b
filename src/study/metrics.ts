/**
 * Classification metrics from true and predicted class indices: confusion
 * matrix, per-class precision/recall/F1, accuracy and macro averages.
 *
 * Conventions for empty denominators: a class never predicted has precision 0
 * with `precision_defined: false`; a class with no true images has recall 0;
 * F1 is 0 whenever precision + recall is 0. Macro averages include such
 * classes as 0, which penalises a classifier that ignores a class.
 *
 * @example
 * ```ts
 * import { computeMetrics } from "./metrics.ts";
 * const m = computeMetrics([0, 0, 1, 1], [0, 1, 1, 1], ["crab", "moth"]);
 * console.log(m.accuracy, m.per_class.moth.precision); // 0.75 0.6666666666666666
 * ```
 * @module
 */
import type { ClassMetrics } from "../report/schema.ts";

/** Everything {@link computeMetrics} derives. */
export interface Metrics {
  /** rows = true class, columns = predicted class. */
  confusion: number[][];
  per_class: Record<string, ClassMetrics>;
  accuracy: number;
  macro_precision: number;
  macro_recall: number;
  macro_f1: number;
}

function checkLabels(truth: readonly number[], predicted: readonly number[], n: number): void {
  if (truth.length !== predicted.length) {
    throw new Error(`metrics: ${truth.length} true labels but ${predicted.length} predictions`);
  }
  for (const x of [...truth, ...predicted]) {
    if (!Number.isInteger(x) || x < 0 || x >= n) {
      throw new Error(`metrics: class index ${x} outside 0..${n - 1}`);
    }
  }
}

/**
 * The confusion matrix, rows = true class, columns = predicted class.
 *
 * @example
 * ```ts
 * import { confusionMatrix } from "./metrics.ts";
 * console.log(confusionMatrix([0, 1], [1, 1], 2)); // [[0, 1], [0, 1]]
 * ```
 */
export function confusionMatrix(
  truth: readonly number[],
  predicted: readonly number[],
  numClasses: number,
): number[][] {
  checkLabels(truth, predicted, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][predicted[i]]++;
  return m;
}

/**
 * Per-class metrics and macro averages from a confusion matrix.
 *
 * @example
 * ```ts
 * import { metricsFromConfusion } from "./metrics.ts";
 * const m = metricsFromConfusion([[2, 0], [1, 1]], ["a", "b"]);
 * console.log(m.per_class.b.recall); // 0.5
 * ```
 */
export function metricsFromConfusion(confusion: number[][], classes: readonly string[]): Metrics {
  const n = classes.length;
  if (confusion.length !== n || confusion.some((row) => row.length !== n)) {
    throw new Error(`metrics: confusion matrix is not ${n}x${n}`);
  }
  const per_class: Record<string, ClassMetrics> = {};
  let correct = 0, total = 0, sumP = 0, sumR = 0, sumF = 0;
  for (let c = 0; c < n; c++) {
    const tp = confusion[c][c];
    let predictedC = 0, actualC = 0;
    for (let k = 0; k < n; k++) {
      predictedC += confusion[k][c];
      actualC += confusion[c][k];
      total += confusion[c][k];
    }
    correct += tp;
    const precision_defined = predictedC > 0;
    const precision = precision_defined ? tp / predictedC : 0;
    const recall = actualC > 0 ? tp / actualC : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    per_class[classes[c]] = { precision, recall, f1, precision_defined };
    sumP += precision;
    sumR += recall;
    sumF += f1;
  }
  return {
    confusion,
    per_class,
    accuracy: total > 0 ? correct / total : 0,
    macro_precision: n > 0 ? sumP / n : 0,
    macro_recall: n > 0 ? sumR / n : 0,
    macro_f1: n > 0 ? sumF / n : 0,
  };
}

/**
 * All metrics from true and predicted class indices (indices into `classes`).
 *
 * @example
 * ```ts
 * import { computeMetrics } from "./metrics.ts";
 * const m = computeMetrics([0, 1, 2], [0, 0, 0], ["a", "b", "c"]);
 * console.log(m.per_class.b.precision_defined); // false
 * ```
 */
export function computeMetrics(
  truth: readonly number[],
  predicted: readonly number[],
  classes: readonly string[],
): Metrics {
  return metricsFromConfusion(confusionMatrix(truth, predicted, classes.length), classes);
}

/**
 * Accuracy and macro-F1 only, for hot loops (the bootstrap); equal to
 * {@link computeMetrics}'s values. `index` selects which images to count (with
 * repeats); omitted, every image counts once.
 *
 * @example
 * ```ts
 * import { accuracyAndMacroF1 } from "./metrics.ts";
 * console.log(accuracyAndMacroF1([0, 1], [0, 1], 2).accuracy); // 1
 * ```
 */
export function accuracyAndMacroF1(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  numClasses: number,
  index?: ArrayLike<number>,
): { accuracy: number; macro_f1: number } {
  const tp = new Float64Array(numClasses);
  const predictedC = new Float64Array(numClasses);
  const actualC = new Float64Array(numClasses);
  const count = index ? index.length : truth.length;
  let correct = 0;
  for (let j = 0; j < count; j++) {
    const i = index ? index[j] : j;
    const t = truth[i], p = predicted[i];
    actualC[t]++;
    predictedC[p]++;
    if (t === p) {
      tp[t]++;
      correct++;
    }
  }
  let sumF = 0;
  for (let c = 0; c < numClasses; c++) {
    const precision = predictedC[c] > 0 ? tp[c] / predictedC[c] : 0;
    const recall = actualC[c] > 0 ? tp[c] / actualC[c] : 0;
    if (precision + recall > 0) sumF += (2 * precision * recall) / (precision + recall);
  }
  return {
    accuracy: count > 0 ? correct / count : 0,
    macro_f1: numClasses > 0 ? sumF / numClasses : 0,
  };
}
