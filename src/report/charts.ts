/**
 * The report's charts as Vega-Lite specifications, rendered to standalone SVG
 * by Vega's headless renderer: no browser, no network, and the SVG can be
 * opened on its own or inlined into HTML.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./charts.ts";
 * const svg = await renderSvg({
 *   data: { values: [{ x: "a", y: 1 }] },
 *   mark: "bar",
 *   encoding: { x: { field: "x", type: "nominal" }, y: { field: "y", type: "quantitative" } },
 * });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { BASELINES, type Comparison, type StylizedRecord } from "../study/types.ts";
import { CLASSIFIER_ORDER, configLabel, configOrder, type ConfigSummary } from "./summary.ts";

/** A stylization loss curve: `series` maps a component name ("total", "style", ...) to values at `steps`. */
export interface LossHistory {
  /** What was stylized, e.g. "crab/image_0001.jpg (heavy)". */
  label: string;
  steps: number[];
  series: Record<string, number[]>;
}

/**
 * Compile a Vega-Lite spec and render it to an SVG string.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./charts.ts";
 * const svg = await renderSvg({ data: { values: [] }, mark: "point" });
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = { config: { font: "Helvetica, Arial, sans-serif", view: { stroke: "#ddd" } } };

/**
 * Grouped bars of one per-class metric per configuration (mean over draws,
 * error bars ±1 sample standard deviation), one row of panels per classifier.
 *
 * @example
 * ```ts
 * import { metricBarSpec } from "./charts.ts";
 * const spec = metricBarSpec([], "recall");
 * ```
 */
export function metricBarSpec(
  summaries: readonly ConfigSummary[],
  metric: "precision" | "recall",
): TopLevelSpec {
  const values = summaries.flatMap((s) =>
    s.classes.map((cls) => {
      const m = s.per_class[cls][metric];
      const ok = m.n > 0 && Number.isFinite(m.mean);
      return {
        classifier: s.classifier,
        config: s.label,
        order: configOrder(s.classifier, s.style, s.static_augmentation),
        class: cls,
        mean: ok ? m.mean : null,
        lo: ok ? Math.max(0, m.mean - m.std) : null,
        hi: ok ? Math.min(1, m.mean + m.std) : null,
      };
    })
  );
  const configs = [...new Map(values.map((v) => [v.config, v.order])).entries()]
    .sort((a, b) => (a[1] % 100) - (b[1] % 100)).map(([c]) => c);
  const x = {
    field: "config",
    type: "nominal",
    sort: configs,
    title: "configuration",
    axis: { labelAngle: -30 },
  } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${metric[0].toUpperCase()}${metric.slice(1)} per class (mean ± 1 SD over draws)`,
    data: { values },
    facet: {
      row: {
        field: "classifier",
        type: "nominal",
        title: "classifier",
        sort: [...CLASSIFIER_ORDER],
      },
    },
    spec: {
      width: 420,
      height: 180,
      layer: [
        {
          mark: "bar",
          encoding: {
            x,
            xOffset: { field: "class", type: "nominal" },
            y: { field: "mean", type: "quantitative", title: metric, scale: { domain: [0, 1] } },
            color: { field: "class", type: "nominal" },
          },
        },
        {
          mark: { type: "errorbar", ticks: true, color: "black" },
          encoding: {
            x,
            xOffset: { field: "class", type: "nominal" },
            y: { field: "lo", type: "quantitative", title: metric },
            y2: { field: "hi" },
          },
        },
      ],
    },
    ...FONT,
  } as TopLevelSpec;
}

/**
 * Mean difference from each baseline per configuration, for accuracy and
 * macro-F1 (columns) and each baseline (rows): the draw-level 95% t-interval
 * as black error bars, the two-level bootstrap interval as a thinner grey
 * bar beneath it, the mean as a point, and a rule at zero. Comparisons with
 * fewer than 2 draws have no t-interval and show only the bootstrap bar.
 *
 * @example
 * ```ts
 * import { comparisonSpec } from "./charts.ts";
 * const spec = comparisonSpec([]);
 * ```
 */
export function comparisonSpec(comparisons: readonly Comparison[]): TopLevelSpec {
  const sorted = [...comparisons].sort((a, b) =>
    BASELINES.indexOf(a.baseline) - BASELINES.indexOf(b.baseline) ||
    configOrder(a.classifier, a.style, a.static_augmentation) -
      configOrder(b.classifier, b.style, b.static_augmentation)
  );
  const values = sorted.flatMap((c) => {
    const config = `${c.classifier}: ${configLabel(c.style, c.static_augmentation)}`;
    const baseline = `baseline ${c.baseline}`;
    const row = (
      metric: string,
      diff: number,
      t: [number, number] | null,
      boot: [number, number],
    ) => ({
      config,
      baseline,
      metric,
      diff,
      lo: t ? t[0] : null,
      hi: t ? t[1] : null,
      blo: boot[0],
      bhi: boot[1],
    });
    return [
      row(
        "accuracy",
        c.mean_accuracy_diff,
        c.accuracy_diff_ci95_draws,
        c.accuracy_diff_ci95_bootstrap,
      ),
      row(
        "macro-F1",
        c.mean_macro_f1_diff,
        c.macro_f1_diff_ci95_draws,
        c.macro_f1_diff_ci95_bootstrap,
      ),
    ];
  });
  const configs = [...new Set(values.map((v) => v.config))];
  const y = { field: "config", type: "nominal", sort: configs, title: null } as const;
  const panel = (baseline: string) => ({
    title: baseline,
    transform: [{ filter: { field: "baseline", equal: baseline } }],
    facet: { column: { field: "metric", type: "nominal", title: null } },
    spec: {
      width: 260,
      height: { step: 22 },
      layer: [
        {
          mark: { type: "rule", color: "#888", strokeDash: [4, 3] },
          encoding: { x: { datum: 0 } },
        },
        {
          mark: { type: "errorbar", ticks: false, color: "#aaa", thickness: 5, opacity: 0.6 },
          encoding: {
            y,
            x: { field: "blo", type: "quantitative", title: "difference" },
            x2: { field: "bhi" },
          },
        },
        {
          transform: [{ filter: "isValid(datum.lo) && isValid(datum.hi)" }],
          mark: { type: "errorbar", ticks: true, color: "black", thickness: 1.5 },
          encoding: {
            y,
            x: { field: "lo", type: "quantitative", title: "difference" },
            x2: { field: "hi" },
          },
        },
        {
          mark: { type: "point", filled: true, color: "black" },
          encoding: { y, x: { field: "diff", type: "quantitative" } },
        },
      ],
    },
  });
  const present = BASELINES.map((b) => `baseline ${b}`).filter((b) =>
    values.some((v) => v.baseline === b)
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title:
      "Difference from baseline (configuration minus baseline): draw-level 95% t-interval (black), bootstrap (grey)",
    data: { values },
    vconcat: present.map(panel),
    ...FONT,
  } as TopLevelSpec;
}

/**
 * Box plots (whiskers at min and max) of each added image's mean |change|
 * (0-255) and SSIM against its original, per group (copy, light, medium,
 * heavy), one panel per measure.
 *
 * @example
 * ```ts
 * import { stylizedSpec } from "./charts.ts";
 * const spec = stylizedSpec([]);
 * ```
 */
export function stylizedSpec(records: readonly StylizedRecord[]): TopLevelSpec {
  const groups = ["copy", "light", "medium", "heavy"];
  const values = records.flatMap((r) => [
    { group: r.style, measure: "mean |change| (0-255)", value: r.mean_abs_change },
    { group: r.style, measure: "SSIM", value: r.ssim },
  ]).filter((v) => Number.isFinite(v.value));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Added training images against their originals",
    data: { values },
    facet: {
      column: {
        field: "measure",
        type: "nominal",
        title: null,
        sort: ["mean |change| (0-255)", "SSIM"],
      },
    },
    resolve: { scale: { x: "independent" } },
    spec: {
      width: 260,
      height: { step: 26 },
      mark: { type: "boxplot", extent: "min-max", size: 14 },
      encoding: {
        y: { field: "group", type: "nominal", sort: groups, title: null },
        x: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        color: { field: "group", type: "nominal", sort: groups, legend: null },
      },
    },
    ...FONT,
  } as TopLevelSpec;
}

/**
 * Stylization loss curves on a log scale, one line per stylized image, one
 * panel per loss component. Non-positive values cannot be drawn on a log
 * scale and are left out.
 *
 * @example
 * ```ts
 * import { lossSpec } from "./charts.ts";
 * const spec = lossSpec([{ label: "a", steps: [1, 2], series: { total: [10, 5] } }]);
 * ```
 */
export function lossSpec(histories: readonly LossHistory[]): TopLevelSpec {
  const values = histories.flatMap((h) =>
    Object.entries(h.series).flatMap(([component, ys]) =>
      ys.flatMap((
        v,
        i,
      ) => (v > 0 && Number.isFinite(v)
        ? [{ run: h.label, component, step: h.steps[i], value: v }]
        : [])
      )
    )
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Stylization loss",
    data: { values },
    facet: { column: { field: "component", type: "nominal", title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: "line", strokeWidth: 1.2 },
      encoding: {
        x: { field: "step", type: "quantitative", title: "step" },
        y: { field: "value", type: "quantitative", scale: { type: "log" }, title: "loss" },
        color: {
          field: "run",
          type: "nominal",
          title: null,
          legend: { orient: "bottom", columns: 2, labelLimit: 400 },
        },
      },
    },
    ...FONT,
  } as TopLevelSpec;
}
