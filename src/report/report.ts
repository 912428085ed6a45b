/**
 * The study's report: `results.csv`, `report.md`, `report.html` and the
 * charts under `charts/` (SVG), written into one output directory.
 *
 * The analysis unit is the training draw. The report opens with a short
 * "Read this first" block: the primary endpoint declared before the run and,
 * per classifier, which configurations pass the decision rule on it against
 * each baseline; then the caller's warnings, an error when a stylized image
 * is identical to its original, a warning when the style groups are not
 * ordered by how much they change their originals, and what passes on the
 * secondary endpoints. A configuration is said to differ from a
 * baseline only when the draw-level 95% t-interval of the mean difference
 * excludes 0 and the Holm-adjusted Wilcoxon p is below 0.05; otherwise the
 * report says that there is no evidence of an effect at this sample size
 * (which is not evidence of no effect). The caveats that bound the numbers
 * are printed with them.
 *
 * Both documents are built from one list of blocks (./document.ts) so that
 * they cannot disagree; each section is one function (./read_first.ts,
 * ./endpoints.ts, ./sections.ts). The HTML inlines the SVG charts (it reads
 * with no network and as a single file) and references example images by
 * relative path; the Markdown references both.
 *
 * @example
 * ```ts
 * import { writeReport } from "./report.ts";
 * const files = await writeReport({ config: {}, environment: {}, runs: [], comparisons: [] }, "out/report");
 * console.log(files.markdown); // out/report/report.md
 * ```
 * @module
 */
import { join } from "node:path";
import { writeTextAtomic } from "../util/fs.ts";
import type { LossHistory } from "./charts.ts";
import { type Block, toHtml, toMarkdown } from "./document.ts";
import {
  comparisonSections,
  conditionSection,
  robustnessSection,
  shapeBiasSection,
} from "./endpoints.ts";
import { reportContext, type ReportInput } from "./input.ts";
import { readFirstSection } from "./read_first.ts";
import { resultsCsv } from "./csv.ts";
import {
  accuracySection,
  caveatsSection,
  configSection,
  evalGridSection,
  lossSection,
  perClassSection,
  stylizedSection,
  trainingGridSection,
  whatWasRunSection,
} from "./sections.ts";

export type { LossHistory };
export type { EvalGrids, ImageGridRow, ReportInput, SamplingInfo } from "./input.ts";
export { fmt, signed } from "./format.ts";
export { decide, type DecisionMetric, readComparison } from "./decision.ts";

/** Paths written by {@link writeReport}. */
export interface ReportFiles {
  csv: string;
  markdown: string;
  html: string;
  charts: string[];
}

/** The report's blocks in order, one section function each, and the chart files written. */
async function buildBlocks(
  input: ReportInput,
  outDir: string,
): Promise<{ blocks: Block[]; charts: string[] }> {
  const ctx = reportContext(input, outDir);
  const title = input.title ?? "Neural style transfer as data augmentation: results";
  const blocks: Block[] = [
    { kind: "h", level: 1, text: title },
    ...readFirstSection(ctx),
    ...whatWasRunSection(ctx),
    ...robustnessSection(ctx),
    ...await comparisonSections(ctx),
    ...conditionSection(ctx),
    ...await shapeBiasSection(ctx),
    ...await stylizedSection(ctx),
    ...accuracySection(ctx),
    ...await perClassSection(ctx),
    ...caveatsSection(ctx),
    ...await trainingGridSection(ctx),
    ...await evalGridSection(ctx),
    ...await lossSection(ctx),
    ...configSection(ctx),
  ];
  return { blocks, charts: ctx.charts };
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
