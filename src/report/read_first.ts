/**
 * The "Read this first" block: the declared primary endpoint and, per
 * classifier, what passes the decision rule on it against each baseline;
 * then the caller's warnings and the report's own errors and warnings
 * (identical or unordered stylized images, missing records); then what
 * bounds the run's power; then the secondary endpoints and macro-F1.
 *
 * @example
 * ```ts
 * import { readFirstSection } from "./read_first.ts";
 * import { reportContext } from "./input.ts";
 * const ctx = reportContext({ config: {}, environment: {}, runs: [], comparisons: [] }, "out");
 * console.log(readFirstSection(ctx)[0]); // { kind: "h", level: 2, text: "Read this first" }
 * ```
 * @module
 */
import { BASELINES, type Comparison, OPTIMISED_GROUPS, STYLED_GROUPS } from "./schema.ts";
import {
  compName,
  decide,
  type DecisionMetric,
  mdeRange,
  passText,
  sameAsBaseline,
} from "./decision.ts";
import type { Block } from "./document.ts";
import { endpointDefinition, endpointLabel, fmt, NO_EVIDENCE } from "./format.ts";
import type { ReportContext } from "./input.ts";
import { configLabel, type StrengthOrder, strengthOrder } from "./summary.ts";

/** Smallest p any comparison could reach with `n` draws (exact two-sided Wilcoxon: 2 / 2^n). */
function minWilcoxonP(n: number): number {
  return 2 / 2 ** n;
}

const configName = (c: Comparison) => configLabel(c.style, c.static_augmentation);

/** The primary endpoint, the rule, and per classifier and baseline what passes it. */
function primaryItems(ctx: ReportContext): string[] {
  const { primary, alpha } = ctx;
  const label = endpointLabel(primary);
  const items = [
    ctx.primaryDeclared
      ? `Primary endpoint (declared before the run): ${label}, ${
        endpointDefinition(primary)
      }. The other endpoints are secondary and exploratory.`
      : `No primary endpoint was declared before the run, so every result below is exploratory; the report leads with ${label}, ${
        endpointDefinition(primary)
      }.`,
    `Decision rule: a configuration differs from a baseline only when the draw-level 95% t-interval of the mean difference excludes 0 AND the Holm-adjusted Wilcoxon p < ${alpha}.`,
  ];
  if (ctx.comps.length === 0) {
    items.push("No comparisons were computed, so the report makes no claim about effects.");
    return items;
  }
  const comps = ctx.comps.filter((c) => c.endpoint === primary);
  for (const k of ctx.classifiers) {
    for (const b of BASELINES) {
      const group = comps.filter((c) => c.classifier === k && c.baseline === b);
      const head = `${k}, ${label} against ${b}:`;
      if (group.length === 0) {
        items.push(`${head} no comparisons were computed.`);
        continue;
      }
      const pass = group.filter((c) => decide(c, "endpoint", alpha));
      items.push(
        pass.length === 0
          ? `${head} no configuration passes the rule (0 of ${group.length}); ${NO_EVIDENCE}.`
          : `${head} ${pass.map((c) => passText(c, "endpoint", alpha, configName)).join("; ")}; ` +
            `${pass.length} of ${group.length} configuration(s) pass the rule` +
            (pass.length < group.length
              ? `; for the other ${group.length - pass.length}, ${NO_EVIDENCE}.`
              : "."),
      );
    }
  }
  const mde = mdeRange(comps);
  items.push(
    mde
      ? `The run could detect ${label} differences of about ${mde.text} at 80% power (paired t-test at alpha 0.05, from the between-draw sd); smaller true effects would usually go unseen.`
      : `No ${label} comparison has 2 or more draws, so the run's power cannot be estimated.`,
  );
  return items;
}

function orderingWarning(o: StrengthOrder): string {
  const label = o.measure === "mean_abs_change" ? "mean |change| (0-255)" : "mean 1 − SSIM";
  const digits = o.measure === "mean_abs_change" ? 2 : 3;
  const means = STYLED_GROUPS.map((g) => `${g} ${fmt(o.means[g], digits)}`).join(", ");
  return `Warning: the stylized groups are not measurably ordered light < medium < heavy in ${label} ` +
    `(${means}; each step must exceed 1.96 standard errors of the difference), so the group names ` +
    `may not describe how strongly the added images differ from their originals.`;
}

/** The caller's warnings and the checks of the added images. */
function warningItems(ctx: ReportContext): string[] {
  const { input, styleSummaries } = ctx;
  const out: string[] = [];
  for (const w of input.warnings ?? []) {
    // A warning that already says what it is ("error: ...") keeps its own label.
    out.push(
      /^(warning|error)\b/i.test(w) ? `${w[0].toUpperCase()}${w.slice(1)}` : `Warning: ${w}`,
    );
  }
  if (input.sampling && ctx.draws.length !== input.sampling.count && input.runs.length > 0) {
    out.push(
      `Warning: ${input.sampling.count} ${input.sampling.mode} were planned but the results hold ${ctx.draws.length}.`,
    );
  }
  if (
    ctx.primaryDeclared && ctx.comps.length > 0 &&
    !ctx.comps.some((c) => c.endpoint === ctx.primary)
  ) {
    out.push(`Warning: the primary endpoint ${endpointLabel(ctx.primary)} has no comparisons.`);
  }
  const optimised = (g: string) => (OPTIMISED_GROUPS as readonly string[]).includes(g);
  if (
    input.runs.some((r) => optimised(r.style)) && !styleSummaries.some((s) => optimised(s.style))
  ) {
    out.push(
      "Warning: no stylized-image records were given, so the report cannot check that the stylized images differ from their originals or are ordered by strength.",
    );
  }
  const identical = styleSummaries.filter((s) => s.style !== "copy" && s.identical > 0);
  if (identical.length > 0) {
    out.push(
      `Error: stylized training images are pixel-identical to their originals (${
        identical.map((s) => `${s.style}: ${s.identical} of ${s.n}`).join(", ")
      }); those groups trained partly on duplicates, not on stylized images.`,
    );
  }
  // The strength order is a claim about light/medium/heavy only; `bank` draws its ratio per image.
  // With fewer than two of them run (e.g. `--groups none,copy,heavy,bank`) there is no order to check.
  const fixed = new Set(
    styleSummaries.filter((s) => (STYLED_GROUPS as readonly string[]).includes(s.style)).map((s) =>
      s.style
    ),
  );
  if (fixed.size >= 2) {
    for (const o of strengthOrder(styleSummaries)) {
      if (!o.complete) {
        out.push(
          `Warning: not every stylized group has image records (light, medium, heavy), so their ordering by ${
            o.measure === "mean_abs_change" ? "mean |change|" : "1 − SSIM"
          } cannot be checked.`,
        );
        break;
      }
      if (!o.ordered) out.push(orderingWarning(o));
    }
  }
  return out;
}

/** What bounds every comparison: too few draws, configurations identical to their baseline. */
function powerItems(ctx: ReportContext): string[] {
  const { comps, alpha } = ctx;
  if (comps.length === 0) return [];
  const out: string[] = [];
  const maxDraws = Math.max(...comps.map((c) => c.draws));
  if (minWilcoxonP(maxDraws) >= alpha) {
    out.push(
      `With ${maxDraws} draws the exact two-sided Wilcoxon p cannot be below 2/2^${maxDraws} = ${
        fmt(minWilcoxonP(maxDraws))
      }, so no comparison can pass the rule; that needs at least ${
        Math.ceil(Math.log2(2 / alpha) + 1e-9)
      } draws.`,
    );
  }
  // A configuration is identical only when every endpoint's comparison with that baseline is.
  const names = [...new Set(comps.map(compName))];
  const identical = names.filter((n) =>
    comps.filter((c) => compName(c) === n).every(sameAsBaseline)
  );
  if (identical.length > 0) {
    out.push(
      `${identical.length} configuration(s) score exactly as their baseline in every draw on every endpoint compared: ${
        identical.join("; ")
      }. For the transfer head this is expected of \`copy\` vs \`none\`: its full-batch loss is a mean, so adding an exact duplicate of every image leaves training unchanged. They are left out of the power estimates.`,
    );
  }
  return out;
}

/** What passes on the secondary endpoints and on clean macro-F1 (supporting detail). */
function secondaryItems(ctx: ReportContext): string[] {
  const { comps, alpha } = ctx;
  if (comps.length === 0) return [];
  const line = (what: string, group: Comparison[], metric: DecisionMetric) => {
    const pass = group.filter((c) => decide(c, metric, alpha));
    return pass.length === 0
      ? `${what}: none of ${group.length} comparisons passes the rule; ${NO_EVIDENCE}.`
      : `${what}: ${
        pass.map((c) => passText(c, metric, alpha)).join("; ")
      } (${pass.length} of ${group.length} comparisons).`;
  };
  const out: string[] = [];
  for (const e of ctx.endpoints.slice(1)) {
    const group = comps.filter((c) => c.endpoint === e);
    if (group.length > 0) out.push(line(`Secondary, ${endpointLabel(e)}`, group, "endpoint"));
  }
  const f1 = comps.filter((c) => c.macro_f1 !== null);
  if (f1.length > 0) out.push(line("Supporting detail, clean macro-F1", f1, "macro_f1"));
  return out;
}

/**
 * The "Read this first" heading and list.
 */
export function readFirstSection(ctx: ReportContext): Block[] {
  return [
    { kind: "h", level: 2, text: "Read this first" },
    {
      kind: "ul",
      items: [
        ...primaryItems(ctx),
        ...warningItems(ctx),
        ...powerItems(ctx),
        ...secondaryItems(ctx),
      ],
    },
  ];
}
