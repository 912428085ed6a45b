/**
 * The report's endpoint sections: every endpoint per configuration, the
 * comparisons with the baselines per endpoint (tables and a chart each),
 * accuracy per evaluation condition, and shape bias on cue-conflict images.
 *
 * @example
 * ```ts
 * import { robustnessSection } from "./endpoints.ts";
 * import { reportContext } from "./input.ts";
 * const ctx = reportContext({ config: {}, environment: {}, runs: [], comparisons: [] }, "out");
 * console.log(robustnessSection(ctx).length > 0); // true
 * ```
 * @module
 */
import {
  BASELINES,
  type Comparison,
  type Endpoint,
  ENDPOINTS,
  type EvalCondition,
} from "./schema.ts";
import { comparisonSpec, type ShapeBiasPoint, shapeBiasSpec } from "./charts.ts";
import { endpointTitle, mdeRange, readComparison } from "./decision.ts";
import type { Block, Cell } from "./document.ts";
import { ci, endpointDefinition, endpointLabel, fmt, meanSd, pValue, signed } from "./format.ts";
import type { ReportContext } from "./input.ts";
import { configLabel, type ConfigSummary, type MeanStd } from "./summary.ts";

const COLUMN: Record<Endpoint, string> = {
  clean_accuracy: "clean accuracy",
  texture_shift_accuracy: "texture shift",
  corruption_accuracy: "corruption (mean)",
  shape_bias: "shape bias",
};

/** mean ± sd, with "(k/n)" when the value is defined in only k of the n draws. */
function partial(m: MeanStd, draws: number): string {
  return m.n < draws && m.n > 0 ? `${meanSd(m)} (${m.n}/${draws})` : meanSd(m);
}

/** Every endpoint per classifier and configuration: mean ± sd over draws. */
export function robustnessSection(ctx: ReportContext): Block[] {
  const blocks: Block[] = [
    { kind: "h", level: 2, text: "Endpoints per configuration" },
    {
      kind: "p",
      text: `Mean ± sample standard deviation over training draws of each endpoint (${
        ctx.primaryDeclared
          ? `primary: ${endpointLabel(ctx.primary)}`
          : "no primary endpoint declared"
      }). (k/n): the endpoint is defined in only k of the n draws (shape bias is undefined when a classifier makes no shape or texture decision); "n/a": not scored.`,
    },
    {
      kind: "ul",
      items: ENDPOINTS.map((e) => `${COLUMN[e]}: ${endpointDefinition(e)}.`),
    },
  ];
  if (ctx.summaries.length === 0) {
    blocks.push({ kind: "p", text: "No runs were given." });
    return blocks;
  }
  blocks.push({
    kind: "table",
    head: ["classifier", "configuration", "draws", ...ENDPOINTS.map((e) => COLUMN[e])],
    rows: ctx.summaries.map((x) => [
      x.classifier,
      x.label,
      String(x.draws.length),
      ...ENDPOINTS.map((e) => partial(x.endpoints[e], x.draws.length)),
    ]),
  });
  return blocks;
}

/** The method paragraph and one sub-section per endpoint, primary first. */
export async function comparisonSections(ctx: ReportContext): Promise<Block[]> {
  const blocks: Block[] = [{ kind: "h", level: 2, text: "Comparison with the baselines" }];
  if (ctx.comps.length === 0) {
    blocks.push({
      kind: "p",
      text: "No comparisons were computed (the baselines or the other configurations are missing).",
    });
    return blocks;
  }
  const f1 = ctx.comps.filter((c) => c.macro_f1 !== null).length;
  blocks.push({
    kind: "p",
    text:
      "Differences are configuration minus baseline, paired within each draw (same training originals, same evaluation images) and averaged over draws. " +
      "Baseline none is the plan's control (style none without static augmentation); baseline copy is the copy group at the same static augmentation setting, which separates the effect of style from the effect of more images. " +
      "t-interval: 95% t-interval over the per-draw differences. Bootstrap: two-level percentile interval (resample draws, then evaluation images within each draw). " +
      `Wilcoxon: signed-rank test over draws, two-sided; Holm: adjusted across all ${ctx.comps.length} endpoint comparisons of the run (every endpoint, both baselines, every classifier)` +
      (f1 > 0 ? `; clean macro-F1 is its own family of ${f1}. ` : ". ") +
      "MDE80: smallest true mean difference a paired t-test at alpha 0.05 detects with 80% power, given the observed between-draw sd. " +
      `McNemar (accuracy endpoints): draws whose paired predictions differ at p < ${ctx.alpha} (exact test per draw, unadjusted; supporting detail only).`,
  });
  for (const e of ctx.endpoints) blocks.push(...await endpointComparisons(ctx, e));
  return blocks;
}

function comparisonTable(group: Comparison[], alpha: number, what: "endpoint" | "macro_f1"): Block {
  const mcnemar = what === "endpoint" &&
    group.some((c) => c.per_draw.some((d) => d.mcnemar_p !== null));
  const delta = what === "endpoint" ? `Δ ${endpointLabel(group[0].endpoint)}` : "Δ macro-F1";
  return {
    kind: "table",
    head: [
      "classifier",
      "configuration",
      "baseline run",
      "draws",
      delta,
      "t-interval (draws)",
      "bootstrap interval",
      "Wilcoxon p",
      "Holm p",
      "MDE80",
      ...(mcnemar ? ["McNemar p<0.05"] : []),
      "verdict",
    ],
    rows: group.map((c) => {
      const m = what === "endpoint" ? c : c.macro_f1!;
      const hits = c.per_draw.filter((d) => d.mcnemar_p !== null && d.mcnemar_p < alpha).length;
      return [
        c.classifier,
        configLabel(c.style, c.static_augmentation),
        configLabel(c.baseline_style, c.baseline_static_augmentation),
        String(c.draws),
        signed(m.mean_diff),
        ci(m.ci95_draws),
        ci(m.ci95_bootstrap),
        pValue(m.p_wilcoxon),
        pValue(m.p_holm),
        m.mde80 === null ? "n/a" : fmt(m.mde80),
        ...(mcnemar ? [`${hits} of ${c.per_draw.length} draws`] : []),
        readComparison(c, what, alpha),
      ];
    }),
  };
}

async function endpointComparisons(ctx: ReportContext, e: Endpoint): Promise<Block[]> {
  const comps = ctx.comps.filter((c) => c.endpoint === e);
  const role = e === ctx.primary && ctx.primaryDeclared
    ? "primary endpoint"
    : ctx.primaryDeclared
    ? "secondary endpoint"
    : "exploratory";
  const blocks: Block[] = [
    { kind: "h", level: 3, text: `${endpointTitle(e)} (${role})` },
    { kind: "p", text: `${endpointTitle(e)}: ${endpointDefinition(e)}.` },
  ];
  if (comps.length === 0) {
    blocks.push({ kind: "p", text: `No ${endpointLabel(e)} comparisons were computed.` });
    return blocks;
  }
  for (const b of BASELINES) {
    const group = comps.filter((c) => c.baseline === b);
    blocks.push({ kind: "p", text: `Against baseline ${b}:` });
    blocks.push(
      group.length === 0
        ? { kind: "p", text: `No comparisons with baseline ${b} were computed.` }
        : comparisonTable(group, ctx.alpha, "endpoint"),
    );
  }
  const f1 = comps.filter((c) => c.macro_f1 !== null);
  if (f1.length > 0) {
    blocks.push({ kind: "p", text: "Macro-F1 on the clean test images (supporting detail):" });
    blocks.push(comparisonTable(f1, ctx.alpha, "macro_f1"));
  }
  const mde = mdeRange(comps);
  blocks.push({
    kind: "p",
    text: mde
      ? `The smallest ${
        endpointLabel(e)
      } difference this run could detect with 80% power (paired t-test at alpha 0.05, from the between-draw sd) is ${mde.text} over the ${mde.n} comparisons with at least 2 draws; smaller true effects would usually go unseen.`
      : `No ${
        endpointLabel(e)
      } comparison has 2 or more draws, so the run's power to detect a difference cannot be estimated.`,
  });
  blocks.push(
    await ctx.chart(
      `comparison_${e}.svg`,
      `Difference in ${
        endpointLabel(e)
      } from each baseline: draw-level 95% t-interval and two-level bootstrap interval`,
      comparisonSpec(comps, e),
    ),
  );
  return blocks;
}

/** Condition names by kind, in the evaluation set's order (else the runs'). */
function conditionsByKind(ctx: ReportContext): { texture: string[]; corruption: string[] } {
  const given: Pick<EvalCondition, "name" | "kind">[] = ctx.input.evaluation?.conditions ??
    [...new Set(ctx.summaries.flatMap((s) => Object.keys(s.conditions)))].sort().map((name) => ({
      name,
      kind: name.startsWith("texture:")
        ? "texture_shift"
        : name.startsWith("corruption:")
        ? "corruption"
        : "cue_conflict",
    }));
  return {
    texture: given.filter((c) => c.kind === "texture_shift").map((c) => c.name),
    corruption: given.filter((c) => c.kind === "corruption").map((c) => c.name),
  };
}

/** Accuracy per texture style and per corruption x severity, mean over draws per configuration. */
export function conditionSection(ctx: ReportContext): Block[] {
  const { texture, corruption } = conditionsByKind(ctx);
  if (texture.length + corruption.length === 0 || ctx.summaries.length === 0) return [];
  const cell = (x: ConfigSummary, n: string) => fmt(x.conditions[n]?.mean ?? NaN);
  const lead = (x: ConfigSummary): Cell[] => [x.classifier, x.label];
  const blocks: Block[] = [
    { kind: "h", level: 2, text: "Accuracy per evaluation condition" },
    {
      kind: "p",
      text:
        "Mean accuracy over draws per configuration on each evaluation condition (the endpoints pool these).",
    },
  ];
  if (texture.length > 0) {
    blocks.push({ kind: "p", text: "Texture shift: one column per held-out painting." });
    blocks.push({
      kind: "table",
      head: ["classifier", "configuration", ...texture.map((n) => n.replace(/^texture:/, ""))],
      rows: ctx.summaries.map((x) => [...lead(x), ...texture.map((n) => cell(x, n))]),
    });
  }
  if (corruption.length > 0) {
    const byName = new Map<string, string[]>();
    for (const n of corruption) {
      const name = n.split(":")[1] ?? n;
      byName.set(name, [...(byName.get(name) ?? []), n]);
    }
    const sevs = (names: string[]) => names.map((n) => n.split(":")[2] ?? "?").join(" / ");
    blocks.push({
      kind: "p",
      text: "Corruptions: accuracy at each severity, in the order given in the column header.",
    });
    blocks.push({
      kind: "table",
      head: ["classifier", "configuration", ...[...byName].map(([k, v]) => `${k} (${sevs(v)})`)],
      rows: ctx.summaries.map((x) => [
        ...lead(x),
        ...[...byName.values()].map((ns) =>
          ns.map((n) => fmt(x.conditions[n]?.mean ?? NaN, 2)).join(" / ")
        ),
      ]),
    });
  }
  return blocks;
}

/** Shape bias per configuration (table) and per shape class (the Geirhos-style chart). */
export async function shapeBiasSection(ctx: ReportContext): Promise<Block[]> {
  const rows = ctx.summaries.filter((x) => {
    const o = x.shape_counts.overall;
    return o.shape + o.texture + o.other > 0;
  });
  if (rows.length === 0) return [];
  const classes = ctx.classes;
  const frac = (n: number, total: number) => (total > 0 ? fmt(n / total) : "n/a");
  const blocks: Block[] = [
    { kind: "h", level: 2, text: "Shape bias on cue-conflict images" },
    {
      kind: "p",
      text:
        "Cue-conflict images carry the shape of one class and the texture of another. A decision is a shape decision when the classifier picks the shape's class, a texture decision when it picks the texture's class, and other otherwise; " +
        "shape bias = shape / (shape + texture) (Geirhos et al. 2019). The endpoint column is the mean ± sd over draws of each run's shape bias; the decision fractions and the per-class columns pool the decisions of all draws.",
    },
    {
      kind: "table",
      head: [
        "classifier",
        "configuration",
        "shape bias (endpoint)",
        "shape decisions",
        "texture decisions",
        "other decisions",
        ...classes.map((c) => `${c} (shape class)`),
      ],
      rows: rows.map((x) => {
        const o = x.shape_counts.overall;
        const total = o.shape + o.texture + o.other;
        return [
          x.classifier,
          x.label,
          partial(x.endpoints.shape_bias, x.draws.length),
          frac(o.shape, total),
          frac(o.texture, total),
          frac(o.other, total),
          ...classes.map((c) => fmt(x.shape_counts.per_class[c]?.shape_bias ?? NaN)),
        ];
      }),
    },
  ];
  const points: ShapeBiasPoint[] = rows.flatMap((x) =>
    [...classes, "all classes"].map((cls) => {
      const s = cls === "all classes" ? x.shape_counts.overall : x.shape_counts.per_class[cls];
      return {
        classifier: x.classifier,
        style: x.style,
        static_augmentation: x.static_augmentation,
        class: cls,
        shape: s?.shape ?? 0,
        texture: s?.texture ?? 0,
      };
    })
  );
  blocks.push(
    await ctx.chart(
      "shape_bias.svg",
      "Shape bias per shape class and configuration: fraction of shape decisions (bottom axis) and of texture decisions (top axis)",
      shapeBiasSpec(points, classes),
    ),
  );
  return blocks;
}
