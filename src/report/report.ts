/**
 * The study's report: `results.csv`, `report.md`, `report.html` and the
 * charts under `charts/` (SVG), written into one output directory.
 *
 * The analysis unit is the training draw. The report opens with a short
 * "Read this first" block: the caller's warnings, an error when a stylized
 * image is identical to its original, a warning when the style groups are
 * not ordered by how much they change their originals, the decision rule,
 * and which comparisons pass it. A configuration is said to differ from a
 * baseline only when the draw-level 95% t-interval of the mean difference
 * excludes 0 and the Holm-adjusted Wilcoxon p is below 0.05; otherwise the
 * report says that there is no evidence of an effect at this sample size
 * (which is not evidence of no effect). The caveats that bound the numbers
 * are printed with them.
 *
 * Both documents are built from one list of blocks so that they cannot
 * disagree. The HTML inlines the SVG charts (it reads with no network and
 * as a single file) and references training-example images by relative path;
 * the Markdown references both.
 *
 * @example
 * ```ts
 * import { writeReport } from "./report.ts";
 * const files = await writeReport({ config: {}, environment: {}, runs: [], comparisons: [] }, "out/report");
 * console.log(files.markdown); // out/report/report.md
 * ```
 * @module
 */
import { join, relative, resolve, sep } from "node:path";
import {
  type Baseline,
  BASELINES,
  type Comparison,
  type RunResult,
  STYLED_GROUPS,
  type StylizedRecord,
} from "../study/types.ts";
import { exists, writeTextAtomic } from "../util/fs.ts";
import {
  comparisonSpec,
  type LossHistory,
  lossSpec,
  metricBarSpec,
  renderSvg,
  stylizedSpec,
} from "./charts.ts";
import { resultsCsv } from "./csv.ts";
import {
  configLabel,
  configOrder,
  type ConfigSummary,
  type MeanStd,
  type StrengthOrder,
  strengthOrder,
  summarize,
  summarizeStylized,
} from "./summary.ts";

export type { LossHistory };

/** One row of the training-example grid: e.g. an image and its stylized and augmented versions. */
export interface ImageGridRow {
  /** e.g. "crab/image_0003.jpg". */
  label: string;
  /** Captions are column headers ("original", "light", ..., "augmented"); paths are files. */
  cells: Array<{ caption: string; path: string }>;
}

/** How the training sets were drawn. */
export interface SamplingInfo {
  /** `draws`: random, possibly overlapping draws; `subsets`: disjoint subsets. */
  mode: "draws" | "subsets";
  /** Draws (or subsets) planned. */
  count: number;
  /** Training originals per class in each draw. */
  train_per_class: number;
}

/** Everything the report is made from. */
export interface ReportInput {
  /** The resolved study configuration (printed as JSON). */
  config: Record<string, unknown>;
  /** Backend, versions, machine (printed as JSON). */
  environment: Record<string, unknown>;
  runs: RunResult[];
  comparisons: Comparison[];
  /** One record per added (copy or stylized) training image; omitted: the report says it cannot check them. */
  stylized?: StylizedRecord[];
  /** How the training draws were made; printed under "What was run". */
  sampling?: SamplingInfo;
  /** The caller's warnings, printed first. */
  warnings?: string[];
  lossHistories?: LossHistory[];
  imageGrid?: ImageGridRow[];
  /** Default "Neural style transfer as data augmentation: results". */
  title?: string;
  /** Threshold of the decision rule (Holm-adjusted Wilcoxon p) and of the McNemar counts; default 0.05. */
  alpha?: number;
}

/** Paths written by {@link writeReport}. */
export interface ReportFiles {
  csv: string;
  markdown: string;
  html: string;
  charts: string[];
}

type Cell = string | { img: string; alt: string } | { missing: string };
type Block =
  | { kind: "h"; level: 1 | 2 | 3; text: string }
  | { kind: "p"; text: string }
  | { kind: "ul"; items: string[] }
  | { kind: "table"; head: string[]; rows: Cell[][] }
  | { kind: "chart"; file: string; title: string; svg: string }
  | { kind: "code"; text: string };

/** The phrase used wherever the decision rule is not met. */
const NO_EVIDENCE = "no evidence of an effect at this sample size (not evidence of no effect)";

/**
 * A number with 3 decimals; "n/a" for NaN.
 *
 * @example
 * ```ts
 * import { fmt } from "./report.ts";
 * console.log(fmt(2 / 3)); // "0.667"
 * ```
 */
export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/**
 * A signed number with 3 decimals ("+0.033", "-0.100", "0.000"); a non-zero
 * value that would round to zero keeps two significant digits ("-0.00042"),
 * so an interval bound never reads as 0 when it is not.
 *
 * @example
 * ```ts
 * import { signed } from "./report.ts";
 * console.log(signed(0.1)); // "+0.100"
 * ```
 */
export function signed(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "n/a";
  if (x === 0) return (0).toFixed(digits);
  const fixed = x.toFixed(digits);
  const s = Number(fixed) === 0 ? x.toPrecision(2) : fixed;
  return x > 0 ? `+${s}` : s;
}

function meanSd(m: MeanStd, f: (x: number) => string = (x) => fmt(x)): string {
  if (m.n === 0 || !Number.isFinite(m.mean)) return "n/a";
  return m.n < 2 ? f(m.mean) : `${f(m.mean)} ± ${f(m.std)}`;
}

function ci(pair: [number, number] | null): string {
  return pair ? `[${signed(pair[0])}, ${signed(pair[1])}]` : "n/a (< 2 draws)";
}

function pValue(p: number): string {
  if (!Number.isFinite(p)) return "n/a";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

function relPath(outDir: string, path: string): string {
  return relative(resolve(outDir), resolve(path)).split(sep).join("/");
}

/** The metric a decision is made on. */
export type DecisionMetric = "accuracy" | "macro_f1";

function metricOf(c: Comparison, metric: DecisionMetric) {
  return metric === "accuracy"
    ? {
      mean: c.mean_accuracy_diff,
      t: c.accuracy_diff_ci95_draws,
      boot: c.accuracy_diff_ci95_bootstrap,
      p: c.p_wilcoxon,
      holm: c.p_holm,
      mde: c.mde80_accuracy,
    }
    : {
      mean: c.mean_macro_f1_diff,
      t: c.macro_f1_diff_ci95_draws,
      boot: c.macro_f1_diff_ci95_bootstrap,
      p: c.p_wilcoxon_macro_f1,
      holm: c.p_holm_macro_f1,
      mde: c.mde80_macro_f1,
    };
}

/**
 * The decision rule: "higher" or "lower" when the draw-level 95% t-interval
 * of the mean difference excludes 0 AND the Holm-adjusted Wilcoxon p is
 * below `alpha`; null otherwise (including when there is no t-interval).
 *
 * @example
 * ```ts
 * import { decide } from "./report.ts";
 * import type { Comparison } from "../study/types.ts";
 * declare const c: Comparison;
 * console.log(decide(c, "accuracy") ?? "no difference shown");
 * ```
 */
export function decide(
  c: Comparison,
  metric: DecisionMetric = "accuracy",
  alpha = 0.05,
): "higher" | "lower" | null {
  const m = metricOf(c, metric);
  if (!m.t || !(m.holm < alpha)) return null;
  if (m.t[0] > 0) return "higher";
  if (m.t[1] < 0) return "lower";
  return null;
}

/**
 * The verdict cell of a comparison under {@link decide}: the direction and
 * why, or the no-evidence phrase with the condition that failed.
 *
 * @example
 * ```ts
 * import { readComparison } from "./report.ts";
 * import type { Comparison } from "../study/types.ts";
 * declare const c: Comparison;
 * console.log(readComparison(c, "accuracy"));
 * ```
 */
export function readComparison(
  c: Comparison,
  metric: DecisionMetric = "accuracy",
  alpha = 0.05,
): string {
  const m = metricOf(c, metric);
  const d = decide(c, metric, alpha);
  if (d) {
    return `differs: ${d} than baseline ${c.baseline} (t-interval excludes 0, Holm p ${
      pValue(m.holm)
    } < ${alpha})`;
  }
  const why: string[] = [];
  if (!m.t) why.push("no t-interval with fewer than 2 draws");
  else if (m.t[0] <= 0 && m.t[1] >= 0) why.push("t-interval includes 0");
  if (!Number.isFinite(m.holm)) why.push("no Holm p");
  else if (!(m.holm < alpha)) why.push(`Holm p ${pValue(m.holm)} ≥ ${alpha}`);
  return `${NO_EVIDENCE}: ${why.join("; ")}`;
}

/** "transfer heavy + aug vs none". */
function compName(c: Comparison): string {
  return `${c.classifier} ${configLabel(c.style, c.static_augmentation)} vs ${c.baseline}`;
}

function baselineText(b: Baseline): string {
  return b === "none"
    ? "the plan's control (style none without static augmentation, same classifier, same draw)"
    : "the copy group at the same static augmentation setting (same classifier, same draw), which separates the effect of style from the effect of more images";
}

/** Smallest Holm p any comparison could reach with `n` draws (exact two-sided Wilcoxon: 2 / 2^n). */
function minWilcoxonP(n: number): number {
  return 2 / 2 ** n;
}

function orderingWarning(o: StrengthOrder): string {
  const label = o.measure === "mean_abs_change" ? "mean |change| (0-255)" : "mean 1 − SSIM";
  const digits = o.measure === "mean_abs_change" ? 2 : 3;
  const means = STYLED_GROUPS.map((g) => `${g} ${fmt(o.means[g], digits)}`).join(", ");
  return `Warning: the stylized groups are not measurably ordered light < medium < heavy in ${label} ` +
    `(${means}; each step must exceed 1.96 standard errors of the difference), so the group names ` +
    `may not describe how strongly the added images differ from their originals.`;
}

async function buildBlocks(
  input: ReportInput,
  outDir: string,
): Promise<{ blocks: Block[]; charts: string[] }> {
  const alpha = input.alpha ?? 0.05;
  const summaries = summarize(input.runs);
  const blocks: Block[] = [];
  const charts: string[] = [];
  const chartsDir = join(outDir, "charts");
  const addChart = async (name: string, title: string, spec: Parameters<typeof renderSvg>[0]) => {
    const svg = await renderSvg(spec);
    const file = join(chartsDir, name);
    await writeTextAtomic(file, svg);
    charts.push(file);
    blocks.push({ kind: "chart", file: `charts/${name}`, title, svg });
  };
  const draws = [...new Set(input.runs.map((r) => r.draw))].sort((a, b) => a - b);
  const classes = input.runs[0]?.classes ?? [];
  const comps = [...input.comparisons].sort((a, b) =>
    BASELINES.indexOf(a.baseline) - BASELINES.indexOf(b.baseline) ||
    configOrder(a.classifier, a.style, a.static_augmentation) -
      configOrder(b.classifier, b.style, b.static_augmentation)
  );
  const stylized = input.stylized ?? [];
  const styleSummaries = summarizeStylized(stylized);
  // A configuration whose classifier predicts exactly as its baseline's in every draw (the
  // transfer head's `copy`: full-batch training on a mean loss is unchanged by duplicating every
  // image) says nothing about detectable effects; its sd of 0 would read as "detects anything".
  const sameAsBaseline = (c: Comparison) =>
    c.per_draw.length > 0 &&
    c.per_draw.every((d) => d.mcnemar_b === 0 && d.mcnemar_c === 0 && d.accuracy_diff === 0);
  const identicalComps = comps.filter(sameAsBaseline);
  const mdes = comps.filter((c) => !sameAsBaseline(c)).map((c) => c.mde80_accuracy).filter((
    m,
  ): m is number => m !== null && Number.isFinite(m));
  const mdeRange = mdes.length === 0
    ? null
    : mdes.length === 1 || Math.min(...mdes) === Math.max(...mdes)
    ? fmt(mdes[0])
    : `${fmt(Math.min(...mdes))} to ${fmt(Math.max(...mdes))}`;

  blocks.push({
    kind: "h",
    level: 1,
    text: input.title ?? "Neural style transfer as data augmentation: results",
  });

  // Read this first.
  const first: string[] = [];
  for (const w of input.warnings ?? []) {
    // A warning that already says what it is ("error: ...") keeps its own label.
    first.push(
      /^(warning|error)\b/i.test(w) ? `${w[0].toUpperCase()}${w.slice(1)}` : `Warning: ${w}`,
    );
  }
  if (input.sampling && draws.length !== input.sampling.count && input.runs.length > 0) {
    first.push(
      `Warning: ${input.sampling.count} ${input.sampling.mode} were planned but the results hold ${draws.length}.`,
    );
  }
  const styledRuns = input.runs.some((r) => (STYLED_GROUPS as readonly string[]).includes(r.style));
  if (styledRuns && styleSummaries.every((s) => s.style === "copy")) {
    first.push(
      "Warning: no stylized-image records were given, so the report cannot check that the stylized images differ from their originals or are ordered by strength.",
    );
  }
  const identical = styleSummaries.filter((s) => s.style !== "copy" && s.identical > 0);
  if (identical.length > 0) {
    first.push(
      `Error: stylized training images are pixel-identical to their originals (${
        identical.map((s) => `${s.style}: ${s.identical} of ${s.n}`).join(", ")
      }); those groups trained partly on duplicates, not on stylized images.`,
    );
  }
  if (styleSummaries.some((s) => s.style !== "copy")) {
    for (const o of strengthOrder(styleSummaries)) {
      if (!o.complete) {
        first.push(
          `Warning: not every stylized group has image records (light, medium, heavy), so their ordering by ${
            o.measure === "mean_abs_change" ? "mean |change|" : "1 − SSIM"
          } cannot be checked.`,
        );
        break;
      }
      if (!o.ordered) first.push(orderingWarning(o));
    }
  }
  first.push(
    `Decision rule: a configuration differs from a baseline only when the draw-level 95% t-interval of the mean difference excludes 0 AND the Holm-adjusted Wilcoxon p < ${alpha}.`,
  );
  if (comps.length === 0) {
    first.push("No comparisons were computed, so the report makes no claim about effects.");
  } else {
    const maxDraws = Math.max(...comps.map((c) => c.draws));
    if (minWilcoxonP(maxDraws) >= alpha) {
      first.push(
        `With ${maxDraws} draws the exact two-sided Wilcoxon p cannot be below 2/2^${maxDraws} = ${
          fmt(minWilcoxonP(maxDraws))
        }, so no comparison can pass the rule; that needs at least ${
          Math.ceil(Math.log2(2 / alpha) + 1e-9)
        } draws.`,
      );
    }
    if (identicalComps.length > 0) {
      first.push(
        `${identicalComps.length} comparison(s) predict every test image exactly as their baseline in every draw: ${
          identicalComps.map(compName).join("; ")
        }. For the transfer head this is expected of \`copy\` vs \`none\`: its full-batch loss is a mean, so adding an exact duplicate of every image leaves training unchanged.`,
      );
    }
    for (const [metric, name] of [["accuracy", "accuracy"], ["macro_f1", "macro-F1"]] as const) {
      const pass = comps.filter((c) => decide(c, metric, alpha));
      first.push(
        pass.length === 0
          ? `Passing the rule (${name}): none of ${comps.length} comparisons; ${NO_EVIDENCE}` +
            (metric === "accuracy" && mdeRange
              ? `. The run could detect accuracy differences of about ${mdeRange} at 80% power.`
              : ".")
          : `Passing the rule (${name}): ${
            pass.map((c) => {
              const m = metricOf(c, metric);
              return `${compName(c)}, ${decide(c, metric, alpha)} (${signed(m.mean)}, t-interval ${
                ci(m.t)
              }, Holm p ${pValue(m.holm)})`;
            }).join("; ")
          } (${pass.length} of ${comps.length} comparisons).`,
      );
    }
  }
  blocks.push({ kind: "h", level: 2, text: "Read this first" });
  blocks.push({ kind: "ul", items: first });

  // What was run.
  const testSizes = [...new Set(input.runs.map((r) => r.test_images.length))].sort((a, b) => a - b);
  const s = input.sampling;
  blocks.push({ kind: "h", level: 2, text: "What was run" });
  blocks.push({
    kind: "ul",
    items: [
      `${input.runs.length} trained classifiers: ${summaries.length} configurations × ${draws.length} training draws (${
        draws.join(", ") || "none"
      }).`,
      ...(s
        ? [
          s.mode === "draws"
            ? `Sampling: ${s.count} random training draws of ${s.train_per_class} images per class; draws may share images, and each draw's test set is every image of the class not in its training set.`
            : `Sampling: ${s.count} disjoint training subsets of ${s.train_per_class} images per class (stored as draws 0 to ${
              s.count - 1
            }).`,
        ]
        : []),
      `Classes: ${classes.join(", ") || "none"}.`,
      `Test images per draw: ${
        testSizes.join(", ") || "n/a"
      }; every configuration of a draw and its baselines are scored on the same test images.`,
      `Baselines: ${BASELINES.map((b) => `${b}, ${baselineText(b)}`).join("; ")}.`,
    ],
  });

  // Stylized training images.
  blocks.push({ kind: "h", level: 2, text: "Stylized training images" });
  if (styleSummaries.length === 0) {
    blocks.push({ kind: "p", text: "No records of the added training images were given." });
  } else {
    blocks.push({
      kind: "p",
      text:
        "Each added image measured against its original: mean ± sample sd over the added images of the group. " +
        "mean |change| is over pixels and channels on 0-255; SSIM on luma (1 = identical); style loss ratio is the style loss at the kept step over that at step 0; " +
        "copy adds every original again through the same resize and encode with no stylization.",
    });
    const distinct = (v: number[]) => v.length === 0 ? "n/a" : v.join(", ");
    const p4 = (x: number) => x.toPrecision(4);
    blocks.push({
      kind: "table",
      head: [
        "group",
        "added images",
        "content:style ratio",
        "steps",
        "mean |change|",
        "SSIM",
        "style loss ratio",
        "best step",
        "final content loss",
        "identical to original",
      ],
      rows: styleSummaries.map((g) => [
        g.style,
        String(g.n),
        distinct(g.ratios),
        distinct(g.steps),
        meanSd(g.mean_abs_change, (x) => fmt(x, 2)),
        meanSd(g.ssim),
        meanSd(g.style_loss_ratio),
        meanSd(g.best_step, (x) => fmt(x, 1)),
        meanSd(g.final_content_loss, p4),
        `${g.identical} of ${g.n}`,
      ]),
    });
    await addChart(
      "stylized.svg",
      "Mean |change| and SSIM of the added images per group",
      stylizedSpec(stylized),
    );
  }

  // Per-configuration tables.
  blocks.push({ kind: "h", level: 2, text: "Accuracy and macro-F1 per configuration" });
  blocks.push({
    kind: "p",
    text:
      `Mean ± sample standard deviation over training draws (n draws per row). With ${draws.length} draws the standard deviation is itself an estimate.`,
  });
  const runsOf = (x: ConfigSummary) =>
    input.runs.filter((r) =>
      r.classifier === x.classifier && r.style === x.style &&
      r.static_augmentation === x.static_augmentation
    );
  blocks.push({
    kind: "table",
    head: [
      "classifier",
      "configuration",
      "draws",
      "training images (with augmentation copies)",
      "accuracy",
      "macro-F1",
    ],
    rows: summaries.map((x) => {
      const runs = runsOf(x);
      const nTrain = runs.reduce((a, r) => a + (r.train_examples ?? r.train_images.length), 0) /
        Math.max(1, runs.length);
      return [
        x.classifier,
        x.label,
        String(x.draws.length),
        fmt(nTrain, 0),
        meanSd(x.accuracy),
        meanSd(x.macro_f1),
      ];
    }),
  });

  blocks.push({ kind: "h", level: 2, text: "Precision and recall per class" });
  let undefinedPrecision = false;
  const precisionCell = (x: ConfigSummary, cls: string) => {
    const m = x.per_class[cls].precision;
    if (m.n < x.draws.length) {
      undefinedPrecision = true;
      return `${meanSd(m)} (${m.n}/${x.draws.length})`;
    }
    return meanSd(m);
  };
  blocks.push({
    kind: "table",
    head: [
      "classifier",
      "configuration",
      "draws",
      ...classes.flatMap((c) => [`${c} precision`, `${c} recall`]),
    ],
    rows: summaries.map((x) => [
      x.classifier,
      x.label,
      String(x.draws.length),
      ...classes.flatMap((c) => [precisionCell(x, c), meanSd(x.per_class[c].recall)]),
    ]),
  });
  if (undefinedPrecision) {
    blocks.push({
      kind: "p",
      text:
        "(k/n): precision is undefined in the draws where the classifier never predicted that class; the mean is over the k draws where it is defined.",
    });
  }
  if (summaries.length > 0) {
    await addChart(
      "precision.svg",
      "Precision per class and configuration",
      metricBarSpec(summaries, "precision"),
    );
    await addChart(
      "recall.svg",
      "Recall per class and configuration",
      metricBarSpec(summaries, "recall"),
    );
  }

  // Comparisons with the baselines.
  blocks.push({ kind: "h", level: 2, text: "Comparison with the baselines" });
  if (comps.length === 0) {
    blocks.push({
      kind: "p",
      text: "No comparisons were computed (the baselines or the other configurations are missing).",
    });
  } else {
    blocks.push({
      kind: "p",
      text:
        "Differences are configuration minus baseline, paired within each draw (same training originals, same test images) and averaged over draws. " +
        "t-interval: 95% t-interval over the per-draw differences. Bootstrap: two-level percentile interval (resample draws, then test images within each draw). " +
        `Wilcoxon: signed-rank test over draws, two-sided; Holm: adjusted across all ${comps.length} comparisons of the run (accuracy and macro-F1 separately). ` +
        "MDE80: smallest true mean difference a paired t-test at alpha 0.05 detects with 80% power, given the observed between-draw sd. " +
        `McNemar: draws whose paired predictions differ at p < ${alpha} (exact test per draw, unadjusted; supporting detail only).`,
    });
    for (const b of BASELINES) {
      const group = comps.filter((c) => c.baseline === b);
      blocks.push({ kind: "h", level: 3, text: `Against baseline ${b}` });
      blocks.push({ kind: "p", text: `Baseline ${b}: ${baselineText(b)}.` });
      if (group.length === 0) {
        blocks.push({ kind: "p", text: `No comparisons with baseline ${b} were computed.` });
        continue;
      }
      const cfg = (c: Comparison) => configLabel(c.style, c.static_augmentation);
      const bl = (c: Comparison) => configLabel(c.baseline_style, c.baseline_static_augmentation);
      blocks.push({
        kind: "table",
        head: [
          "classifier",
          "configuration",
          "baseline run",
          "draws",
          "Δ accuracy",
          "t-interval (draws)",
          "bootstrap interval",
          "Wilcoxon p",
          "Holm p",
          "MDE80",
          "McNemar p<0.05",
          "verdict",
        ],
        rows: group.map((c) => [
          c.classifier,
          cfg(c),
          bl(c),
          String(c.draws),
          signed(c.mean_accuracy_diff),
          ci(c.accuracy_diff_ci95_draws),
          ci(c.accuracy_diff_ci95_bootstrap),
          pValue(c.p_wilcoxon),
          pValue(c.p_holm),
          c.mde80_accuracy === null ? "n/a" : fmt(c.mde80_accuracy),
          `${c.per_draw.filter((d) => d.mcnemar_p < alpha).length} of ${c.per_draw.length} draws`,
          readComparison(c, "accuracy", alpha),
        ]),
      });
      blocks.push({
        kind: "table",
        head: [
          "classifier",
          "configuration",
          "draws",
          "Δ macro-F1",
          "t-interval (draws)",
          "bootstrap interval",
          "Wilcoxon p",
          "Holm p",
          "MDE80",
          "verdict",
        ],
        rows: group.map((c) => [
          c.classifier,
          cfg(c),
          String(c.draws),
          signed(c.mean_macro_f1_diff),
          ci(c.macro_f1_diff_ci95_draws),
          ci(c.macro_f1_diff_ci95_bootstrap),
          pValue(c.p_wilcoxon_macro_f1),
          pValue(c.p_holm_macro_f1),
          c.mde80_macro_f1 === null ? "n/a" : fmt(c.mde80_macro_f1),
          readComparison(c, "macro_f1", alpha),
        ]),
      });
    }
    blocks.push({
      kind: "p",
      text: mdeRange
        ? `The smallest accuracy difference this run could detect with 80% power (paired t-test at alpha 0.05, from the between-draw sd) is ${mdeRange} over the ${mdes.length} comparisons with at least 2 draws; smaller true effects would usually go unseen.`
        : "No comparison has 2 or more draws, so the run's power to detect a difference cannot be estimated.",
    });
    await addChart(
      "comparison.svg",
      "Difference from each baseline: draw-level 95% t-interval and two-level bootstrap interval",
      comparisonSpec(comps),
    );
  }

  // Caveats.
  blocks.push({ kind: "h", level: 2, text: "Caveats" });
  blocks.push({
    kind: "ul",
    items: [
      `The analysis unit is the training draw: each configuration is trained once per draw, and its differences from a baseline are paired within the draw. There are ${draws.length} draws.`,
      `The t-intervals and the Wilcoxon tests are over draws, so they describe variation from drawing other training images from this image pool; ` +
      (s?.mode === "subsets"
        ? "the subsets are disjoint, but all come from one pool, so the intervals do not cover other data sets."
        : s?.mode === "draws"
        ? "random draws may share training images and test images, so they are not fully independent and the intervals may be somewhat too narrow; they do not cover other data sets."
        : "they do not cover other data sets."),
      "The bootstrap interval resamples draws and then test images within each draw; it is shown beside the t-interval, but the decision rule uses the t-interval.",
      `Holm's adjustment runs over all ${comps.length} comparisons of the run (both baselines, every classifier), separately for accuracy and macro-F1. McNemar's per-draw p-values are not adjusted and decide nothing.`,
      'The copy baseline separates "more images" from "style": a stylized group that differs from none but not from copy gives no evidence that the style, rather than the added images, made the difference.',
      "The transfer classifier reads features of the same ImageNet-pretrained VGG19 that the style loss uses, and ImageNet contains crab- and scorpion-like classes, so it is not the plan's classifier and its results may reflect what that pretraining already knows about these classes; the CNN trained from scratch is the plan's own classifier.",
      "A comparison that does not pass the decision rule is not evidence that the effect is zero, only that this study cannot tell it from zero.",
    ],
  });

  // Training examples.
  if (input.imageGrid && input.imageGrid.length > 0) {
    blocks.push({ kind: "h", level: 2, text: "Training examples" });
    const captions: string[] = [];
    for (const row of input.imageGrid) {
      for (const c of row.cells) if (!captions.includes(c.caption)) captions.push(c.caption);
    }
    const rows: Cell[][] = [];
    for (const row of input.imageGrid) {
      const cells: Cell[] = [row.label];
      for (const cap of captions) {
        const cell = row.cells.find((c) => c.caption === cap);
        if (!cell) cells.push("");
        else if (await exists(cell.path)) {
          cells.push({ img: relPath(outDir, cell.path), alt: `${row.label} ${cap}` });
        } else cells.push({ missing: cell.path });
      }
      rows.push(cells);
    }
    blocks.push({ kind: "table", head: ["image", ...captions], rows });
  }

  // Stylization losses.
  const histories = (input.lossHistories ?? []).filter((h) => h.steps.length > 0);
  if (histories.length > 0) {
    blocks.push({ kind: "h", level: 2, text: "Stylization loss" });
    await addChart("losses.svg", "Stylization loss curves", lossSpec(histories));
    const components = [...new Set(histories.flatMap((h) => Object.keys(h.series)))];
    blocks.push({
      kind: "table",
      head: ["image", "steps", ...components.map((c) => `final ${c}`)],
      rows: histories.map((h) => [
        h.label,
        String(h.steps.at(-1) ?? ""),
        ...components.map((c) => {
          const v = h.series[c]?.at(-1);
          return v === undefined ? "" : v.toPrecision(4);
        }),
      ]),
    });
  }

  blocks.push({ kind: "h", level: 2, text: "Configuration" });
  blocks.push({ kind: "code", text: JSON.stringify(input.config, null, 2) });
  blocks.push({ kind: "h", level: 2, text: "Environment" });
  blocks.push({ kind: "code", text: JSON.stringify(input.environment, null, 2) });
  return { blocks, charts };
}

function mdEscape(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function mdUrl(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function mdCell(c: Cell): string {
  if (typeof c === "string") return mdEscape(c);
  if ("img" in c) return `![${mdEscape(c.alt)}](${mdUrl(c.img)})`;
  return `(missing: ${mdEscape(c.missing)})`;
}

/**
 * Markdown of a block list.
 */
function toMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "h":
        out.push(`${"#".repeat(b.level)} ${b.text}`);
        break;
      case "p":
        out.push(b.text);
        break;
      case "ul":
        out.push(b.items.map((i) => `- ${i}`).join("\n"));
        break;
      case "table":
        out.push([
          `| ${b.head.map(mdEscape).join(" | ")} |`,
          `| ${b.head.map(() => "---").join(" | ")} |`,
          ...b.rows.map((r) => `| ${r.map(mdCell).join(" | ")} |`),
        ].join("\n"));
        break;
      case "chart":
        out.push(`![${mdEscape(b.title)}](${mdUrl(b.file)})`);
        break;
      case "code":
        out.push("```json\n" + b.text + "\n```");
        break;
    }
  }
  return out.join("\n\n") + "\n";
}

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}

function htmlCell(c: Cell): string {
  if (typeof c === "string") return esc(c);
  if ("img" in c) return `<img src="${esc(encodeURI(c.img))}" alt="${esc(c.alt)}" loading="lazy">`;
  return `<span class="missing">missing: ${esc(c.missing)}</span>`;
}

function toHtml(blocks: Block[], title: string): string {
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "h":
        body.push(`<h${b.level}>${esc(b.text)}</h${b.level}>`);
        break;
      case "p":
        body.push(`<p>${esc(b.text)}</p>`);
        break;
      case "ul":
        body.push(`<ul>\n${b.items.map((i) => `<li>${esc(i)}</li>`).join("\n")}\n</ul>`);
        break;
      case "table":
        body.push(
          `<table>\n<thead><tr>${
            b.head.map((h) => `<th>${esc(h)}</th>`).join("")
          }</tr></thead>\n<tbody>\n` +
            b.rows.map((r) => `<tr>${r.map((c) => `<td>${htmlCell(c)}</td>`).join("")}</tr>`).join(
              "\n",
            ) +
            "\n</tbody>\n</table>",
        );
        break;
      case "chart":
        body.push(
          `<figure>\n${b.svg}\n<figcaption>${esc(b.title)} (<a href="${
            esc(b.file)
          }">SVG</a>)</figcaption>\n</figure>`,
        );
        break;
      case "code":
        body.push(`<pre><code>${esc(b.text)}</code></pre>`);
        break;
    }
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td img { max-width: 160px; max-height: 160px; }
figure { margin: 1.5em 0; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
.missing { color: #a00; }
</style>
</head>
<body>
${body.join("\n")}
</body>
</html>
`;
}

/**
 * Write results.csv, report.md, report.html and charts/*.svg into `outDir`
 * (created if needed; every file is written atomically).
 *
 * @example
 * ```ts
 * import { writeReport } from "./report.ts";
 * import type { ReportInput } from "./report.ts";
 * declare const results: ReportInput;
 * const files = await writeReport(results, "out/study");
 * console.log(files.charts);
 * ```
 */
export async function writeReport(input: ReportInput, outDir: string): Promise<ReportFiles> {
  const { blocks, charts } = await buildBlocks(input, outDir);
  const csv = join(outDir, "results.csv");
  const markdown = join(outDir, "report.md");
  const html = join(outDir, "report.html");
  await writeTextAtomic(csv, resultsCsv(input.runs));
  await writeTextAtomic(markdown, toMarkdown(blocks));
  const title = blocks[0].kind === "h" ? blocks[0].text : "report";
  await writeTextAtomic(html, toHtml(blocks, title));
  return { csv, markdown, html, charts };
}
