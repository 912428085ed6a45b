/**
 * The report's general sections: what was run, the added training images,
 * accuracy and per-class metrics per configuration, caveats, image grids,
 * stylization losses, configuration and environment. Each takes the shared
 * {@link ReportContext} and returns its blocks.
 *
 * @example
 * ```ts
 * import { caveatsSection } from "./sections.ts";
 * import { reportContext } from "./input.ts";
 * const ctx = reportContext({ config: {}, environment: {}, runs: [], comparisons: [] }, "out");
 * console.log(caveatsSection(ctx)[0]); // { kind: "h", level: 2, text: "Caveats" }
 * ```
 * @module
 */
import { relative, resolve, sep } from "node:path";
import { type Baseline, BASELINES } from "./schema.ts";
import { exists } from "../util/fs.ts";
import { lossSpec, metricBarSpec, stylizedSpec } from "./charts.ts";
import type { Block, Cell } from "./document.ts";
import { fmt, meanSd } from "./format.ts";
import type { ImageGridRow, ReportContext } from "./input.ts";
import type { ConfigSummary, StylizedSummary } from "./summary.ts";

function baselineText(b: Baseline): string {
  return b === "none"
    ? "the plan's control (style none without static augmentation, same classifier, same draw)"
    : "the copy group at the same static augmentation setting (same classifier, same draw), which separates the effect of style from the effect of more images";
}

function evaluationItems(ctx: ReportContext): string[] {
  const ev = ctx.input.evaluation;
  if (!ev) return [];
  const pool = Object.entries(ev.pool);
  const corruptions = Object.entries(ev.corruption_params);
  const count = (k: string) => ev.conditions.filter((c) => c.kind === k).length;
  return [
    `Evaluation pool: ${
      pool.map(([c, ids]) => `${ids.length} ${c}`).join(", ")
    } images, reserved from every draw's training set; the texture-shift, corruption and cue-conflict conditions are made from it and are the same in every draw.`,
    `Texture shift: ${
      count("texture_shift")
    } condition(s), the pool stylized with the held-out paintings ${
      ev.test_styles.join(", ") || "none"
    } at content:style ratio ${ev.texture_ratio}.`,
    `Cue conflict: ${ev.cue_conflict_pairs.length} image(s) (shape of one class, texture from a centre crop of ${
      fmt(ev.texture_crop, 2)
    } of the side of an image of another class) at ratio ${ev.cue_conflict_ratio}.`,
    `Corruptions: ${
      corruptions.map(([name, p]) => `${name} (${p.join(", ")})`).join("; ") || "none"
    } at severities 1-3; seed ${ev.seed}.`,
  ];
}

/** "What was run": runs, sampling, classes, test images, baselines, evaluation material. */
export function whatWasRunSection(ctx: ReportContext): Block[] {
  const { input, draws, classes } = ctx;
  const testSizes = [...new Set(input.runs.map((r) => r.test_images.length))].sort((a, b) => a - b);
  const s = input.sampling;
  const sampling = !s ? [] : s.mode === "draws"
    ? [
      `Sampling: ${s.count} random training draws of ${s.train_per_class} images per class; draws may share images, and each draw's test set is every image of the class not in its training set or the evaluation pool.`,
    ]
    : [
      `Sampling: ${s.count} disjoint training subsets of ${s.train_per_class} images per class (stored as draws 0 to ${
        s.count - 1
      }).`,
    ];
  return [
    { kind: "h", level: 2, text: "What was run" },
    {
      kind: "ul",
      items: [
        `${input.runs.length} trained classifiers: ${ctx.summaries.length} configurations × ${draws.length} training draws (${
          draws.join(", ") || "none"
        }).`,
        ...sampling,
        `Classes: ${classes.join(", ") || "none"}.`,
        `Test images per draw: ${
          testSizes.join(", ") || "n/a"
        }; every configuration of a draw and its baselines are scored on the same test images.`,
        `Baselines: ${BASELINES.map((b) => `${b}, ${baselineText(b)}`).join("; ")}.`,
        ...evaluationItems(ctx),
      ],
    },
  ];
}

function ratioText(g: StylizedSummary): string {
  if (!g.ratio_range) return "n/a";
  if (g.style === "bank") return `${g.ratio_range[0]} to ${g.ratio_range[1]} (drawn per image)`;
  return g.ratios.join(", ");
}

function styleFileText(g: StylizedSummary): string {
  if (g.style_files.length === 0) return "n/a";
  if (g.style_files.length === 1) return g.style_files[0].file;
  return `${g.style_files.length} files (below)`;
}

/** The added (copy or stylized) training images measured against their originals. */
export async function stylizedSection(ctx: ReportContext): Promise<Block[]> {
  const blocks: Block[] = [{ kind: "h", level: 2, text: "Stylized training images" }];
  const groups = ctx.styleSummaries;
  if (groups.length === 0) {
    blocks.push({ kind: "p", text: "No records of the added training images were given." });
    return blocks;
  }
  blocks.push({
    kind: "p",
    text:
      "Each added image measured against its original: mean ± sample sd over the added images of the group. " +
      "mean |change| is over pixels and channels on 0-255; SSIM on luma (1 = identical); style loss ratio is the style loss at the kept step over that at step 0; " +
      "copy adds every original again through the same resize and encode with no stylization; bank stylizes each original with a painting drawn from the style bank at a ratio drawn per image.",
  });
  const distinct = (v: number[]) => v.length === 0 ? "n/a" : v.join(", ");
  const p4 = (x: number) => x.toPrecision(4);
  blocks.push({
    kind: "table",
    head: [
      "group",
      "added images",
      "content:style ratio",
      "style",
      "steps",
      "mean |change|",
      "SSIM",
      "style loss ratio",
      "best step",
      "final content loss",
      "identical to original",
    ],
    rows: groups.map((g) => [
      g.style,
      String(g.n),
      ratioText(g),
      styleFileText(g),
      distinct(g.steps),
      meanSd(g.mean_abs_change, (x) => fmt(x, 2)),
      meanSd(g.ssim),
      meanSd(g.style_loss_ratio),
      meanSd(g.best_step, (x) => fmt(x, 1)),
      meanSd(g.final_content_loss, p4),
      `${g.identical} of ${g.n}`,
    ]),
  });
  const bank = groups.find((g) => g.style === "bank");
  if (bank && bank.style_files.length > 1) {
    blocks.push({ kind: "p", text: "Paintings drawn for the bank group:" });
    blocks.push({
      kind: "table",
      head: ["style file", "added images", "content:style ratio range"],
      rows: bank.style_files.map((f) => [
        f.file,
        String(f.n),
        f.ratio_range ? `${f.ratio_range[0]} to ${f.ratio_range[1]}` : "n/a",
      ]),
    });
  }
  blocks.push(
    await ctx.chart(
      "stylized.svg",
      "Mean |change| and SSIM of the added images per group",
      stylizedSpec(ctx.input.stylized ?? []),
    ),
  );
  return blocks;
}

/** Clean accuracy and macro-F1 per configuration. */
export function accuracySection(ctx: ReportContext): Block[] {
  const runsOf = (x: ConfigSummary) =>
    ctx.input.runs.filter((r) =>
      r.classifier === x.classifier && r.style === x.style &&
      r.static_augmentation === x.static_augmentation
    );
  return [
    { kind: "h", level: 2, text: "Accuracy and macro-F1 per configuration" },
    {
      kind: "p",
      text:
        `Clean test images. Mean ± sample standard deviation over training draws (n draws per row). With ${ctx.draws.length} draws the standard deviation is itself an estimate.`,
    },
    {
      kind: "table",
      head: [
        "classifier",
        "configuration",
        "draws",
        "training images (with augmentation copies)",
        "accuracy",
        "macro-F1",
      ],
      rows: ctx.summaries.map((x) => {
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
    },
  ];
}

/** Precision and recall per class (table and two charts). */
export async function perClassSection(ctx: ReportContext): Promise<Block[]> {
  let undefinedPrecision = false;
  const precisionCell = (x: ConfigSummary, cls: string) => {
    const m = x.per_class[cls].precision;
    if (m.n < x.draws.length) {
      undefinedPrecision = true;
      return `${meanSd(m)} (${m.n}/${x.draws.length})`;
    }
    return meanSd(m);
  };
  const blocks: Block[] = [
    { kind: "h", level: 2, text: "Precision and recall per class" },
    {
      kind: "table",
      head: [
        "classifier",
        "configuration",
        "draws",
        ...ctx.classes.flatMap((c) => [`${c} precision`, `${c} recall`]),
      ],
      rows: ctx.summaries.map((x) => [
        x.classifier,
        x.label,
        String(x.draws.length),
        ...ctx.classes.flatMap((c) => [precisionCell(x, c), meanSd(x.per_class[c].recall)]),
      ]),
    },
  ];
  if (undefinedPrecision) {
    blocks.push({
      kind: "p",
      text:
        "(k/n): precision is undefined in the draws where the classifier never predicted that class; the mean is over the k draws where it is defined.",
    });
  }
  if (ctx.summaries.length > 0) {
    blocks.push(
      await ctx.chart(
        "precision.svg",
        "Precision per class and configuration",
        metricBarSpec(ctx.summaries, "precision"),
      ),
      await ctx.chart(
        "recall.svg",
        "Recall per class and configuration",
        metricBarSpec(ctx.summaries, "recall"),
      ),
    );
  }
  return blocks;
}

/** The caveats that bound the numbers. */
export function caveatsSection(ctx: ReportContext): Block[] {
  const s = ctx.input.sampling;
  const n = ctx.comps.length;
  return [
    { kind: "h", level: 2, text: "Caveats" },
    {
      kind: "ul",
      items: [
        `The analysis unit is the training draw: each configuration is trained once per draw, and its differences from a baseline are paired within the draw. There are ${ctx.draws.length} draws.`,
        `The t-intervals and the Wilcoxon tests are over draws, so they describe variation from drawing other training images from this image pool; ` +
        (s?.mode === "subsets"
          ? "the subsets are disjoint, but all come from one pool, so the intervals do not cover other data sets."
          : s?.mode === "draws"
          ? "random draws may share training images and test images, so they are not fully independent and the intervals may be somewhat too narrow; they do not cover other data sets."
          : "they do not cover other data sets."),
        "The bootstrap interval resamples draws and then evaluation images within each draw; it is shown beside the t-interval, but the decision rule uses the t-interval.",
        n === 0
          ? "No comparisons were computed, so no multiplicity adjustment applies."
          : `Holm's adjustment runs over all ${n} endpoint comparisons of the run (every endpoint, both baselines, every classifier); clean macro-F1 is adjusted as its own family. McNemar's per-draw p-values are not adjusted and decide nothing.`,
        ctx.primaryDeclared
          ? `Only the primary endpoint (${
            ctx.primary.replaceAll("_", " ")
          }) was declared before the run; results on the other endpoints are exploratory, whatever the rule says.`
          : "No primary endpoint was declared before the run, so every result is exploratory.",
        "The evaluation pool is the same in every draw, so the texture-shift, corruption and shape-bias endpoints vary between draws only through the trained classifier, and do not cover other images.",
        "The texture-shift and cue-conflict images are made by the same style-transfer pipeline as the stylized training images (with held-out paintings), so a stylized group's gain there may partly reflect familiarity with that pipeline's artefacts rather than robustness to texture in general.",
        'The copy baseline separates "more images" from "style": a stylized group that differs from none but not from copy gives no evidence that the style, rather than the added images, made the difference.',
        "The transfer classifier reads features of the same ImageNet-pretrained VGG19 that the style loss uses, and ImageNet contains crab- and scorpion-like classes, so it is not the plan's classifier and its results may reflect what that pretraining already knows about these classes; the CNN trained from scratch is the plan's own classifier.",
        "A comparison that does not pass the decision rule is not evidence that the effect is zero, only that this study cannot tell it from zero.",
      ],
    },
  ];
}

function relPath(outDir: string, path: string): string {
  return relative(resolve(outDir), resolve(path)).split(sep).join("/");
}

/** An image grid as a table: one column per caption (first-seen order), missing files marked. */
async function gridTable(outDir: string, grid: readonly ImageGridRow[]): Promise<Block> {
  const captions: string[] = [];
  for (const row of grid) {
    for (const c of row.cells) if (!captions.includes(c.caption)) captions.push(c.caption);
  }
  const rows: Cell[][] = [];
  for (const row of grid) {
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
  return { kind: "table", head: ["image", ...captions], rows };
}

/** Training examples (original, stylized, augmented). */
export async function trainingGridSection(ctx: ReportContext): Promise<Block[]> {
  const grid = ctx.input.imageGrid ?? [];
  if (grid.length === 0) return [];
  return [{ kind: "h", level: 2, text: "Training examples" }, await gridTable(ctx.outDir, grid)];
}

/** Examples of the texture-shift, cue-conflict and corrupted evaluation images. */
export async function evalGridSection(ctx: ReportContext): Promise<Block[]> {
  const g = ctx.input.evalGrids;
  const parts: Array<[string, string, ImageGridRow[]]> = g
    ? [
      [
        "Texture shift",
        "Pool images and their versions stylized with each held-out painting.",
        g.textureShift,
      ],
      [
        "Cue conflict",
        "Cue-conflict images: the shape of one class with the texture of another.",
        g.cueConflict,
      ],
      ["Corruptions", "Pool images under each corruption and severity.", g.corruptions],
    ]
    : [];
  const present = parts.filter(([, , rows]) => rows.length > 0);
  if (present.length === 0) return [];
  const blocks: Block[] = [{ kind: "h", level: 2, text: "Evaluation examples" }];
  for (const [title, text, rows] of present) {
    blocks.push({ kind: "h", level: 3, text: title }, { kind: "p", text });
    blocks.push(await gridTable(ctx.outDir, rows));
  }
  return blocks;
}

/** Stylization loss curves and their final values. */
export async function lossSection(ctx: ReportContext): Promise<Block[]> {
  const histories = (ctx.input.lossHistories ?? []).filter((h) => h.steps.length > 0);
  if (histories.length === 0) return [];
  const components = [...new Set(histories.flatMap((h) => Object.keys(h.series)))];
  return [
    { kind: "h", level: 2, text: "Stylization loss" },
    await ctx.chart("losses.svg", "Stylization loss curves", lossSpec(histories)),
    {
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
    },
  ];
}

/** The configuration and environment as JSON. */
export function configSection(ctx: ReportContext): Block[] {
  return [
    { kind: "h", level: 2, text: "Configuration" },
    { kind: "code", text: JSON.stringify(ctx.input.config, null, 2) },
    { kind: "h", level: 2, text: "Environment" },
    { kind: "code", text: JSON.stringify(ctx.input.environment, null, 2) },
  ];
}
