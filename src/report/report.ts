/**
 * The study's report: `results.csv`, `report.md`, `report.html` and the
 * charts under `charts/` (SVG), written into one output directory.
 *
 * The text states only what the numbers support: each difference from the
 * control is given with its bootstrap interval and McNemar's p-values, and a
 * difference is called a difference only when its 95% interval excludes 0;
 * otherwise the report says that there is no evidence of an effect at this
 * sample size (which is not evidence of no effect). The caveats that bound
 * the numbers (few subsets, unadjusted multiple comparisons, what the
 * intervals resample) are printed with them.
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
import type { Comparison, RunResult } from "../study/types.ts";
import { exists, writeTextAtomic } from "../util/fs.ts";
import { comparisonSpec, type LossHistory, lossSpec, metricBarSpec, renderSvg } from "./charts.ts";
import { resultsCsv } from "./csv.ts";
import {
  configLabel,
  configOrder,
  type ConfigSummary,
  type MeanStd,
  summarize,
} from "./summary.ts";

export type { LossHistory };

/** One row of the training-example grid: e.g. an image and its stylized and augmented versions. */
export interface ImageGridRow {
  /** e.g. "crab/image_0003.jpg". */
  label: string;
  /** Captions are column headers ("original", "light", ..., "augmented"); paths are files. */
  cells: Array<{ caption: string; path: string }>;
}

/** Everything the report is made from. */
export interface ReportInput {
  /** The resolved study configuration (printed as JSON). */
  config: Record<string, unknown>;
  /** Backend, versions, machine (printed as JSON). */
  environment: Record<string, unknown>;
  runs: RunResult[];
  comparisons: Comparison[];
  lossHistories?: LossHistory[];
  imageGrid?: ImageGridRow[];
  /** Default "Neural style transfer as data augmentation: results". */
  title?: string;
  /** Significance level for the McNemar counts; default 0.05. */
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

function meanSd(m: MeanStd): string {
  if (m.n === 0 || !Number.isFinite(m.mean)) return "n/a";
  return m.n < 2 ? fmt(m.mean) : `${fmt(m.mean)} ± ${fmt(m.std)}`;
}

function ci(pair: [number, number]): string {
  return `[${signed(pair[0])}, ${signed(pair[1])}]`;
}

/** "higher", "lower", or null when the interval includes 0. */
function direction(pair: [number, number]): "higher" | "lower" | null {
  if (pair[0] > 0) return "higher";
  if (pair[1] < 0) return "lower";
  return null;
}

/**
 * One sentence on what a comparison supports.
 *
 * @example
 * ```ts
 * import { readComparison } from "./report.ts";
 * import type { Comparison } from "../study/types.ts";
 * declare const c: Comparison;
 * console.log(readComparison(c));
 * ```
 */
export function readComparison(c: Comparison): string {
  const acc = direction(c.accuracy_diff_ci95), f1 = direction(c.macro_f1_diff_ci95);
  const accCi = `95% CI ${ci(c.accuracy_diff_ci95)}`, f1Ci = `95% CI ${ci(c.macro_f1_diff_ci95)}`;
  if (!acc && !f1) {
    return `difference in accuracy ${signed(c.mean_accuracy_diff)}, ${accCi}, includes 0 ` +
      `(as does macro-F1's): no evidence of an effect at this sample size`;
  }
  const parts = [
    acc
      ? `accuracy ${acc} than the control's on these test images ` +
        `(${signed(c.mean_accuracy_diff)}, ${accCi} excludes 0)`
      : `accuracy ${accCi} includes 0`,
    f1
      ? `macro-F1 ${f1} than the control's (${signed(c.mean_macro_f1_diff)}, ${f1Ci} excludes 0)`
      : `macro-F1 ${f1Ci} includes 0`,
  ];
  return parts.join("; ");
}

function pValue(p: number): string {
  if (!Number.isFinite(p)) return "n/a";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

function relPath(outDir: string, path: string): string {
  return relative(resolve(outDir), resolve(path)).split(sep).join("/");
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

  blocks.push({
    kind: "h",
    level: 1,
    text: input.title ?? "Neural style transfer as data augmentation: results",
  });

  // What was run.
  const subsets = [...new Set(input.runs.map((r) => r.subset))].sort((a, b) => a - b);
  const classes = input.runs[0]?.classes ?? [];
  const testSizes = [...new Set(input.runs.map((r) => r.test_images.length))];
  blocks.push({ kind: "h", level: 2, text: "What was run" });
  blocks.push({
    kind: "ul",
    items: [
      `${input.runs.length} trained classifiers: ${summaries.length} configurations × ${subsets.length} training subsets (${
        subsets.join(", ") || "none"
      }).`,
      `Classes: ${classes.join(", ") || "none"}.`,
      `Test images per subset: ${
        testSizes.join(", ") || "n/a"
      }; the control and every configuration of a subset are scored on the same test images.`,
      "Control: style group none without static augmentation, same classifier, same subset.",
    ],
  });

  // Per-configuration tables.
  blocks.push({ kind: "h", level: 2, text: "Accuracy and macro-F1 per configuration" });
  blocks.push({
    kind: "p",
    text:
      `Mean ± sample standard deviation over the ${subsets.length} subsets. With this few subsets the standard deviation is itself a rough estimate.`,
  });
  blocks.push({
    kind: "table",
    head: [
      "classifier",
      "configuration",
      "subsets",
      "training images (with augmentation copies)",
      "accuracy",
      "macro-F1",
    ],
    rows: summaries.map((s) => {
      const runs = input.runs.filter((r) =>
        r.classifier === s.classifier && r.style === s.style &&
        r.static_augmentation === s.static_augmentation
      );
      const nTrain = runs.reduce((a, r) => a + (r.train_examples ?? r.train_images.length), 0) /
        Math.max(1, runs.length);
      return [
        s.classifier,
        s.label,
        String(s.subsets.length),
        fmt(nTrain, 0),
        meanSd(s.accuracy),
        meanSd(s.macro_f1),
      ];
    }),
  });

  blocks.push({ kind: "h", level: 2, text: "Precision and recall per class" });
  let undefinedPrecision = false;
  const precisionCell = (s: ConfigSummary, cls: string) => {
    const m = s.per_class[cls].precision;
    if (m.n < s.subsets.length) {
      undefinedPrecision = true;
      return `${meanSd(m)} (${m.n}/${s.subsets.length})`;
    }
    return meanSd(m);
  };
  blocks.push({
    kind: "table",
    head: [
      "classifier",
      "configuration",
      ...classes.flatMap((c) => [`${c} precision`, `${c} recall`]),
    ],
    rows: summaries.map((s) => [
      s.classifier,
      s.label,
      ...classes.flatMap((c) => [precisionCell(s, c), meanSd(s.per_class[c].recall)]),
    ]),
  });
  if (undefinedPrecision) {
    blocks.push({
      kind: "p",
      text:
        "(k/n): precision is undefined in the subsets where the classifier never predicted that class; the mean is over the k subsets where it is defined.",
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

  // Comparisons with the control.
  blocks.push({ kind: "h", level: 2, text: "Comparison with the control" });
  const comps = [...input.comparisons].sort((a, b) =>
    configOrder(a.classifier, a.style, a.static_augmentation) -
    configOrder(b.classifier, b.style, b.static_augmentation)
  );
  if (comps.length === 0) {
    blocks.push({
      kind: "p",
      text: "No comparisons were computed (the control or the other configurations are missing).",
    });
  } else {
    blocks.push({
      kind: "p",
      text:
        "Differences are configuration minus control, averaged over subsets. The 95% intervals come from a bootstrap " +
        "that resamples test images within each subset; McNemar's exact test compares the paired predictions per subset " +
        "(b: test images the control got right and the configuration wrong; c: the reverse).",
    });
    blocks.push({
      kind: "table",
      head: [
        "classifier",
        "configuration",
        "Δ accuracy",
        "95% CI",
        "Δ macro-F1",
        "95% CI",
        "McNemar per subset (b, c, p)",
        "what this supports",
      ],
      rows: comps.map((c) => [
        c.classifier,
        configLabel(c.style, c.static_augmentation),
        signed(c.mean_accuracy_diff),
        ci(c.accuracy_diff_ci95),
        signed(c.mean_macro_f1_diff),
        ci(c.macro_f1_diff_ci95),
        c.per_subset.map((p) =>
          `s${p.subset}: ${p.mcnemar_b}, ${p.mcnemar_c}, p=${pValue(p.mcnemar_p)}`
        ).join("; "),
        readComparison(c),
      ]),
    });
    await addChart(
      "comparison.svg",
      "Difference from the control with 95% intervals",
      comparisonSpec(comps),
    );
  }

  // Findings: only what the numbers support.
  blocks.push({ kind: "h", level: 2, text: "What the data support" });
  const findings: string[] = [];
  if (comps.length > 0) {
    const named = (c: Comparison, pair: [number, number]) =>
      `${c.classifier} ${configLabel(c.style, c.static_augmentation)} (${direction(pair)})`;
    const chanceIntervals = fmt(0.05 * comps.length, 1);
    for (
      const [metric, pick] of [
        ["accuracy", (c: Comparison) => c.accuracy_diff_ci95],
        ["macro-F1", (c: Comparison) => c.macro_f1_diff_ci95],
      ] as const
    ) {
      const excl = comps.filter((c) => direction(pick(c)));
      findings.push(
        excl.length === 0
          ? `In none of the ${comps.length} comparisons does the 95% interval of the ${metric} ` +
            `difference exclude 0: no evidence that any configuration changes ${metric} relative ` +
            `to the control at this sample size.`
          : `In ${excl.length} of ${comps.length} comparisons the 95% interval of the ${metric} ` +
            `difference excludes 0: ${excl.map((c) => named(c, pick(c))).join(", ")}. ` +
            `With ${comps.length} unadjusted 95% intervals, about ${chanceIntervals} would exclude 0 ` +
            `by chance alone if no configuration had any effect.`,
      );
    }
    const tests = comps.flatMap((c) => c.per_subset.map((p) => p.mcnemar_p)).filter(
      Number.isFinite,
    );
    const bonf = alpha / Math.max(1, tests.length);
    const sig = tests.filter((p) => p < alpha).length, sigB = tests.filter((p) => p < bonf).length;
    findings.push(
      `McNemar: ${sig} of ${tests.length} per-subset tests have p < ${alpha}; ` +
        `about ${
          fmt(alpha * tests.length, 1)
        } would be expected by chance alone if no configuration had any effect. ` +
        `With a Bonferroni threshold of ${alpha}/${tests.length} = ${
          bonf.toPrecision(2)
        }, ${sigB} ${sigB === 1 ? "remains" : "remain"}.`,
    );
  } else {
    findings.push("Without comparisons the report makes no claim about effects.");
  }
  findings.push(
    `The intervals resample test images, so they describe uncertainty from the finite test set for these ${subsets.length} training subsets; ` +
      `they do not cover the variation that drawing other training images would bring, for which the ${subsets.length} subsets are the only evidence.`,
    "Intervals and p-values are not adjusted for multiple comparisons (except the Bonferroni count above).",
    "A difference whose interval includes 0 is not evidence that the effect is zero, only that this study cannot tell it from zero.",
  );
  blocks.push({ kind: "ul", items: findings });

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
