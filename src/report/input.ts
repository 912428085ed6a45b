/**
 * What the report is made from ({@link ReportInput}) and the context its
 * sections share ({@link ReportContext}).
 *
 * @example
 * ```ts
 * import type { ReportInput } from "./input.ts";
 * const input: ReportInput = { config: {}, environment: {}, runs: [], comparisons: [] };
 * console.log(input.primaryEndpoint ?? "clean_accuracy");
 * ```
 * @module
 */
import { join } from "node:path";
import {
  BASELINES,
  type ClassifierKind,
  type Comparison,
  type Endpoint,
  ENDPOINTS,
  type EvaluationSet,
  type RunResult,
  type StylizedRecord,
} from "./schema.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { type LossHistory, renderSvg } from "./charts.ts";
import type { Block } from "./document.ts";
import {
  CLASSIFIER_ORDER,
  configOrder,
  type ConfigSummary,
  type StylizedSummary,
  summarize,
  summarizeStylized,
} from "./summary.ts";

/** One row of an image grid: e.g. an image and its stylized and augmented versions. */
export interface ImageGridRow {
  /** e.g. "crab/image_0003.jpg". */
  label: string;
  /** Captions are column headers ("original", "light", ..., "augmented"); paths are files. */
  cells: Array<{ caption: string; path: string }>;
}

/** Example grids of the evaluation images (the caller writes the PNGs). */
export interface EvalGrids {
  /** Pool images and their texture-shift versions (one column per held-out style). */
  textureShift: ImageGridRow[];
  /** Cue-conflict images with their shape and texture sources. */
  cueConflict: ImageGridRow[];
  /** Pool images under each corruption (and severity). */
  corruptions: ImageGridRow[];
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
  /**
   * The endpoint declared primary before the run; the report opens with its
   * decisions. Omitted: the report leads with `clean_accuracy` and says that
   * no endpoint was declared, so every result is exploratory.
   */
  primaryEndpoint?: Endpoint;
  /** The run's evaluation material (results.json `evaluation`); described under "What was run". */
  evaluation?: EvaluationSet;
  /** Example grids of texture-shift, cue-conflict and corrupted images. */
  evalGrids?: EvalGrids;
  /** One record per added (copy or stylized) training image; omitted: the report says it cannot check them. */
  stylized?: StylizedRecord[];
  /** How the training draws were made; printed under "What was run". */
  sampling?: SamplingInfo;
  /** The caller's warnings, printed in "Read this first". */
  warnings?: string[];
  lossHistories?: LossHistory[];
  imageGrid?: ImageGridRow[];
  /** Default "Neural style transfer as data augmentation: results". */
  title?: string;
  /** Threshold of the decision rule (Holm-adjusted Wilcoxon p) and of the McNemar counts; default 0.05. */
  alpha?: number;
}

/** What every section of the report reads, computed once. */
export interface ReportContext {
  input: ReportInput;
  outDir: string;
  alpha: number;
  /** The declared primary endpoint, or `clean_accuracy` when none was declared. */
  primary: Endpoint;
  primaryDeclared: boolean;
  /** Every endpoint, primary first, then in {@link ENDPOINTS} order. */
  endpoints: Endpoint[];
  summaries: ConfigSummary[];
  draws: number[];
  classes: string[];
  /** Classifiers of the runs and comparisons, in report order. */
  classifiers: ClassifierKind[];
  /** Comparisons in report order: endpoint (primary first), baseline, configuration. */
  comps: Comparison[];
  styleSummaries: StylizedSummary[];
  /** Chart files written so far. */
  charts: string[];
  /** Render a chart to `charts/<name>`, record it, and return its block. */
  chart(name: string, title: string, spec: Parameters<typeof renderSvg>[0]): Promise<Block>;
}

/**
 * Compute the shared context of the report's sections.
 *
 * @example
 * ```ts
 * import { reportContext } from "./input.ts";
 * const ctx = reportContext({ config: {}, environment: {}, runs: [], comparisons: [] }, "out");
 * console.log(ctx.primary, ctx.primaryDeclared); // clean_accuracy false
 * ```
 */
export function reportContext(input: ReportInput, outDir: string): ReportContext {
  const primary = input.primaryEndpoint ?? "clean_accuracy";
  const endpoints = [primary, ...ENDPOINTS.filter((e) => e !== primary)];
  const comps = [...input.comparisons].sort((a, b) =>
    endpoints.indexOf(a.endpoint) - endpoints.indexOf(b.endpoint) ||
    BASELINES.indexOf(a.baseline) - BASELINES.indexOf(b.baseline) ||
    configOrder(a.classifier, a.style, a.static_augmentation) -
      configOrder(b.classifier, b.style, b.static_augmentation)
  );
  const kinds = new Set([...input.runs, ...comps].map((r) => r.classifier));
  const charts: string[] = [];
  return {
    input,
    outDir,
    alpha: input.alpha ?? 0.05,
    primary,
    primaryDeclared: input.primaryEndpoint !== undefined,
    endpoints,
    summaries: summarize(input.runs),
    draws: [...new Set(input.runs.map((r) => r.draw))].sort((a, b) => a - b),
    classes: input.runs[0]?.classes ?? [],
    classifiers: [
      ...CLASSIFIER_ORDER.filter((k) => kinds.has(k)),
      ...[...kinds].filter((k) => !CLASSIFIER_ORDER.includes(k)),
    ],
    comps,
    styleSummaries: summarizeStylized(input.stylized ?? []),
    charts,
    async chart(name, title, spec) {
      const svg = await renderSvg(spec);
      const file = join(outDir, "charts", name);
      await writeTextAtomic(file, svg);
      charts.push(file);
      return { kind: "chart", file: `charts/${name}`, title, svg };
    },
  };
}
