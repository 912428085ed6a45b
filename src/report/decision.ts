/**
 * The report's decision rule. A configuration is said to differ from a
 * baseline on an endpoint only when the draw-level 95% t-interval of the mean
 * difference excludes 0 AND the Holm-adjusted Wilcoxon p is below alpha;
 * otherwise the report says that there is no evidence of an effect at this
 * sample size (which is not evidence of no effect).
 *
 * @example
 * ```ts
 * import { decide } from "./decision.ts";
 * import type { Comparison } from "./schema.ts";
 * declare const c: Comparison;
 * console.log(decide(c) ?? "no difference shown");
 * ```
 * @module
 */
import type { Comparison, DiffStats } from "./schema.ts";
import { ci, endpointLabel, NO_EVIDENCE, pValue, signed } from "./format.ts";
import { configLabel } from "./summary.ts";

/** What a decision is made on: the comparison's endpoint, or (clean endpoint only) macro-F1. */
export type DecisionMetric = "endpoint" | "macro_f1";

/** The statistics the rule reads: the endpoint's, or the clean endpoint's macro-F1 (null elsewhere). */
export function statsOf(c: Comparison, metric: DecisionMetric = "endpoint"): DiffStats | null {
  return metric === "endpoint" ? c : c.macro_f1;
}

/**
 * The decision rule: "higher" or "lower" when the draw-level 95% t-interval
 * of the mean difference excludes 0 AND the Holm-adjusted Wilcoxon p is
 * below `alpha`; null otherwise (including when there is no t-interval).
 *
 * @example
 * ```ts
 * import { decide } from "./decision.ts";
 * import type { Comparison } from "./schema.ts";
 * declare const c: Comparison;
 * console.log(decide(c, "endpoint") ?? "no difference shown");
 * ```
 */
export function decide(
  c: Comparison,
  metric: DecisionMetric = "endpoint",
  alpha = 0.05,
): "higher" | "lower" | null {
  const m = statsOf(c, metric);
  if (!m || !m.ci95_draws || !(m.p_holm < alpha)) return null;
  if (m.ci95_draws[0] > 0) return "higher";
  if (m.ci95_draws[1] < 0) return "lower";
  return null;
}

/**
 * The verdict cell of a comparison under {@link decide}: the direction and
 * why, or the no-evidence phrase with the condition that failed.
 *
 * @example
 * ```ts
 * import { readComparison } from "./decision.ts";
 * import type { Comparison } from "./schema.ts";
 * declare const c: Comparison;
 * console.log(readComparison(c));
 * ```
 */
export function readComparison(
  c: Comparison,
  metric: DecisionMetric = "endpoint",
  alpha = 0.05,
): string {
  const m = statsOf(c, metric);
  if (!m) return "n/a";
  const d = decide(c, metric, alpha);
  if (d) {
    return `differs: ${d} than baseline ${c.baseline} (t-interval excludes 0, Holm p ${
      pValue(m.p_holm)
    } < ${alpha})`;
  }
  const why: string[] = [];
  if (!m.ci95_draws) why.push("no t-interval with fewer than 2 draws");
  else if (m.ci95_draws[0] <= 0 && m.ci95_draws[1] >= 0) why.push("t-interval includes 0");
  if (!Number.isFinite(m.p_holm)) why.push("no Holm p");
  else if (!(m.p_holm < alpha)) why.push(`Holm p ${pValue(m.p_holm)} ≥ ${alpha}`);
  return `${NO_EVIDENCE}: ${why.join("; ")}`;
}

/** "transfer heavy + aug vs none". */
export function compName(c: Comparison): string {
  return `${c.classifier} ${configLabel(c.style, c.static_augmentation)} vs ${c.baseline}`;
}

/** "transfer heavy + aug vs none: higher (+0.050, t-interval [+0.010, +0.090], Holm p 0.020)". */
export function passText(
  c: Comparison,
  metric: DecisionMetric,
  alpha: number,
  name: (c: Comparison) => string = compName,
): string {
  const m = statsOf(c, metric)!;
  return `${name(c)}: ${decide(c, metric, alpha)} (${signed(m.mean_diff)}, t-interval ${
    ci(m.ci95_draws)
  }, Holm p ${pValue(m.p_holm)})`;
}

/**
 * True when the configuration scored exactly as its baseline in every draw:
 * the difference is 0 and (for accuracy endpoints) no image changed its
 * prediction. Its sd of 0 would read as "detects anything".
 */
export function sameAsBaseline(c: Comparison): boolean {
  return c.per_draw.length > 0 &&
    c.per_draw.every((d) =>
      d.diff === 0 && (d.mcnemar_b === null || d.mcnemar_b === 0) &&
      (d.mcnemar_c === null || d.mcnemar_c === 0)
    );
}

/** The MDE80 range of comparisons ("0.061 to 0.071"), leaving out those identical to their baseline; null when none. */
export function mdeRange(comps: readonly Comparison[]): { text: string; n: number } | null {
  const mdes = comps.filter((c) => !sameAsBaseline(c)).map((c) => c.mde80)
    .filter((m): m is number => m !== null && Number.isFinite(m));
  if (mdes.length === 0) return null;
  const lo = Math.min(...mdes), hi = Math.max(...mdes);
  return {
    text: lo === hi ? lo.toFixed(3) : `${lo.toFixed(3)} to ${hi.toFixed(3)}`,
    n: mdes.length,
  };
}

/** "For clean accuracy: ..." helper: the endpoint's label with a capital. */
export function endpointTitle(c: Comparison["endpoint"]): string {
  const l = endpointLabel(c);
  return `${l[0].toUpperCase()}${l.slice(1)}`;
}
