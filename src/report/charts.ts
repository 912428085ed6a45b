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
import {
  BASELINES,
  type ClassifierKind,
  type Comparison,
  type Endpoint,
  STYLE_GROUPS,
  type StyleGroup,
  type StylizedRecord,
} from "./schema.ts";
import { endpointLabel } from "./format.ts";
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
 * Mean difference from each baseline per configuration on one endpoint, one
 * panel per baseline: the draw-level 95% t-interval as black error bars, the
 * two-level bootstrap interval as a thicker grey bar beneath it, the mean as
 * a point, and a rule at zero. Comparisons with fewer than 2 draws have no
 * t-interval and show only the bootstrap bar. Comparisons of other endpoints
 * are left out.
 *
 * @example
 * ```ts
 * import { comparisonSpec } from "./charts.ts";
 * const spec = comparisonSpec([], "clean_accuracy");
 * ```
 */
export function comparisonSpec(
  comparisons: readonly Comparison[],
  endpoint: Endpoint,
): TopLevelSpec {
  const sorted = comparisons.filter((c) => c.endpoint === endpoint).sort((a, b) =>
    BASELINES.indexOf(a.baseline) - BASELINES.indexOf(b.baseline) ||
    configOrder(a.classifier, a.style, a.static_augmentation) -
      configOrder(b.classifier, b.style, b.static_augmentation)
  );
  const values = sorted.map((c) => ({
    config: `${c.classifier}: ${configLabel(c.style, c.static_augmentation)}`,
    baseline: `vs ${c.baseline}`,
    diff: c.mean_diff,
    lo: c.ci95_draws ? c.ci95_draws[0] : null,
    hi: c.ci95_draws ? c.ci95_draws[1] : null,
    blo: c.ci95_bootstrap[0],
    bhi: c.ci95_bootstrap[1],
  }));
  const order = new Map(
    sorted.map((c) => [
      `${c.classifier}: ${configLabel(c.style, c.static_augmentation)}`,
      configOrder(c.classifier, c.style, c.static_augmentation),
    ]),
  );
  const configs = [...order.keys()].sort((a, b) => order.get(a)! - order.get(b)!);
  const y = { field: "config", type: "nominal", sort: configs, title: null } as const;
  const title = `Δ ${endpointLabel(endpoint)}`;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `${endpointLabel(endpoint)}: configuration minus baseline`,
      subtitle:
        "draw-level 95% t-interval (black), two-level bootstrap interval (grey), mean (dot)",
    },
    data: { values },
    facet: {
      column: {
        field: "baseline",
        type: "nominal",
        title: null,
        sort: BASELINES.map((b) => `vs ${b}`),
      },
    },
    spec: {
      width: 300,
      height: { step: 20 },
      layer: [
        {
          mark: { type: "rule", color: "#888", strokeDash: [4, 3] },
          encoding: { x: { datum: 0 } },
        },
        {
          mark: { type: "errorbar", ticks: false, color: "#aaa", thickness: 6, opacity: 0.6 },
          encoding: {
            y,
            x: { field: "blo", type: "quantitative", title },
            x2: { field: "bhi" },
          },
        },
        {
          transform: [{ filter: "isValid(datum.lo) && isValid(datum.hi)" }],
          mark: { type: "errorbar", ticks: true, color: "black", thickness: 1.5 },
          encoding: {
            y,
            x: { field: "lo", type: "quantitative", title },
            x2: { field: "hi" },
          },
        },
        {
          mark: { type: "point", filled: true, color: "black" },
          encoding: { y, x: { field: "diff", type: "quantitative", title } },
        },
      ],
    },
    ...FONT,
  } as TopLevelSpec;
}

/** One point of the shape-bias chart: a configuration's pooled decisions on one shape class. */
export interface ShapeBiasPoint {
  classifier: ClassifierKind;
  style: StyleGroup;
  static_augmentation: boolean;
  /** A shape class, or "all classes". */
  class: string;
  shape: number;
  texture: number;
}

/**
 * The shape-bias chart in the manner of Geirhos et al. (2019, Fig. 4): one
 * row per shape class (and "all classes"), the fraction of shape decisions
 * shape / (shape + texture) on the bottom axis and the fraction of texture
 * decisions on the (reversed) top axis, one mark per configuration (colour:
 * style group; shape: static augmentation), one panel per classifier. A
 * dashed rule marks 0.5. Points with no shape or texture decision are left out.
 *
 * @example
 * ```ts
 * import { shapeBiasSpec } from "./charts.ts";
 * const spec = shapeBiasSpec([], ["crab"]);
 * ```
 */
export function shapeBiasSpec(
  points: readonly ShapeBiasPoint[],
  classes: readonly string[],
): TopLevelSpec {
  const values = points.filter((p) => p.shape + p.texture > 0).map((p) => ({
    classifier: p.classifier,
    group: p.style,
    augmentation: p.static_augmentation ? "with static aug" : "no static aug",
    config: configLabel(p.style, p.static_augmentation),
    class: p.class,
    shape_fraction: p.shape / (p.shape + p.texture),
    texture_fraction: p.texture / (p.shape + p.texture),
    decisions: p.shape + p.texture,
  }));
  const rows = [...classes, "all classes"];
  const y = { field: "class", type: "nominal", sort: rows, title: "shape class" } as const;
  const kinds = [...new Set(values.map((v) => v.classifier))].sort((a, b) =>
    CLASSIFIER_ORDER.indexOf(a) - CLASSIFIER_ORDER.indexOf(b)
  );
  // One panel per classifier (hconcat, not facet: facets of layers with independent scales fail).
  const panel = (kind: ClassifierKind) => ({
    title: kind,
    transform: [{ filter: { field: "classifier", equal: kind } }],
    width: 330,
    height: 44 * rows.length,
    layer: [{
      // The rule and the points share the shape scale (bottom axis).
      layer: [{
        mark: { type: "rule", color: "#999", strokeDash: [4, 3] },
        encoding: { x: { datum: 0.5, type: "quantitative" } },
      }, {
        mark: { type: "point", filled: true, size: 70, opacity: 0.85 },
        encoding: {
          y,
          x: {
            field: "shape_fraction",
            type: "quantitative",
            title: "fraction of shape decisions",
            scale: { domain: [0, 1] },
          },
          yOffset: { field: "config", type: "nominal", sort: configOrderLabels() },
          color: { field: "group", type: "nominal", sort: [...STYLE_GROUPS], title: "group" },
          shape: {
            field: "augmentation",
            type: "nominal",
            sort: ["no static aug", "with static aug"],
            title: "static augmentation",
          },
          tooltip: [
            { field: "config" },
            { field: "class" },
            { field: "shape_fraction", format: ".3f" },
            { field: "decisions" },
          ],
        },
      }],
    }, {
      // Invisible twin on the reversed texture scale: only its top axis shows.
      mark: { type: "point", opacity: 0, aria: false },
      encoding: {
        y,
        x: {
          field: "texture_fraction",
          type: "quantitative",
          title: "fraction of texture decisions",
          scale: { domain: [0, 1], reverse: true },
          axis: { orient: "top" },
        },
      },
    }],
    resolve: { scale: { x: "independent" } },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Shape bias on cue-conflict images",
      subtitle:
        "fraction of shape vs texture decisions per shape class, decisions pooled over draws",
    },
    data: { values },
    hconcat: kinds.map(panel),
    ...FONT,
  } as TopLevelSpec;
}

function configOrderLabels(): string[] {
  return STYLE_GROUPS.flatMap((g) => [configLabel(g, false), configLabel(g, true)]);
}

/**
 * Box plots (whiskers at min and max) of each added image's mean |change|
 * (0-255) and SSIM against its original, per group (copy, light, medium,
 * heavy, bank), one panel per measure.
 *
 * @example
 * ```ts
 * import { stylizedSpec } from "./charts.ts";
 * const spec = stylizedSpec([]);
 * ```
 */
export function stylizedSpec(records: readonly StylizedRecord[]): TopLevelSpec {
  const groups = STYLE_GROUPS.filter((g) => g !== "none");
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
