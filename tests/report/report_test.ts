import assert from "node:assert/strict";
import { join } from "node:path";
import { CSV_COLUMNS, csvField, resultsCsv } from "../../src/report/csv.ts";
import { comparisonSpec, renderSvg, shapeBiasSpec, stylizedSpec } from "../../src/report/charts.ts";
import {
  decide,
  fmt,
  readComparison,
  type ReportFiles,
  type ReportInput,
  signed,
  writeReport,
} from "../../src/report/report.ts";
import { meanStd, strengthOrder, summarize, summarizeStylized } from "../../src/report/summary.ts";
import {
  type Baseline,
  type ClassifierKind,
  type Comparison,
  type Endpoint,
  ENDPOINTS,
  type EvalCondition,
  type EvaluationSet,
  type RunEvaluation,
  type RunResult,
  type ShapeBiasCounts,
  STYLE_GROUPS,
  type StyleGroup,
  type StylizedRecord,
} from "../../src/report/schema.ts";
import { exists } from "../../src/util/fs.ts";
/** Class names of the fixture. */
export const CLASSES = ["butterfly", "crab", "scorpion"];
/** Training draws of the fixture. */
export const DRAWS = [0, 1, 2, 3, 4, 5];

/** A run whose metrics are computed from `confusion` (rows true, columns predicted). */
export function runFrom(
  draw: number,
  style: StyleGroup,
  aug: boolean,
  classifier: ClassifierKind,
  confusion: number[][],
): RunResult {
  const k = CLASSES.length;
  const per_class: RunResult["per_class"] = {};
  let correct = 0, total = 0, f1sum = 0;
  const predictions: number[] = [], test_images: string[] = [];
  for (let i = 0; i < k; i++) {
    const tp = confusion[i][i];
    const support = confusion[i].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[i], 0);
    const precision_defined = predicted > 0;
    const precision = precision_defined ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    per_class[CLASSES[i]] = { precision, recall, f1, precision_defined };
    correct += tp;
    total += support;
    f1sum += f1;
    confusion[i].forEach((n, j) => {
      for (let r = 0; r < n; r++) {
        predictions.push(j);
        test_images.push(`${CLASSES[i]}/test_${test_images.length}.jpg`);
      }
    });
  }
  const nOriginal = (style === "none" ? 10 : 20) * k;
  return {
    draw,
    style,
    static_augmentation: aug,
    classifier,
    classes: CLASSES,
    train_images: Array.from({ length: nOriginal }, (_, i) => `train_${i}.jpg`),
    train_examples: nOriginal * (aug ? 5 : 1),
    test_images,
    confusion,
    per_class,
    accuracy: correct / total,
    macro_f1: f1sum / k,
    predictions,
    train_seconds: 1.5,
    evaluation: evaluationFor(draw, style, aug, classifier, correct / total),
  };
}

/** Held-out test styles of the fixture. */
export const TEST_STYLES = ["the_scream", "starry_night"];
/** Corruptions of the fixture. */
export const CORRUPTION_NAMES = ["gaussian_noise", "gaussian_blur", "jpeg", "contrast", "pixelate"];

/** Condition names of the fixture, in report order. */
export function conditionNames(): string[] {
  return [
    ...TEST_STYLES.map((s) => `texture:${s}`),
    "cue_conflict",
    ...CORRUPTION_NAMES.flatMap((c) => [1, 2, 3].map((sev) => `corruption:${c}:${sev}`)),
  ];
}

function counts(shape: number, texture: number, other: number): ShapeBiasCounts {
  return {
    shape,
    texture,
    other,
    shape_bias: shape + texture > 0 ? shape / (shape + texture) : null,
  };
}

/**
 * A run's evaluation: texture accuracy falls with the painting's index, corruption
 * accuracy with severity; shape decisions per class grow with the style group's index
 * and with static augmentation.
 */
export function evaluationFor(
  draw: number,
  style: StyleGroup,
  aug: boolean,
  classifier: ClassifierKind,
  clean: number,
): RunEvaluation {
  const g = STYLE_GROUPS.indexOf(style);
  const accuracy: Record<string, number> = {};
  TEST_STYLES.forEach((s, i) => accuracy[`texture:${s}`] = clean - 0.2 - 0.05 * i + 0.01 * g);
  CORRUPTION_NAMES.forEach((c, i) =>
    [1, 2, 3].forEach((sev) => accuracy[`corruption:${c}:${sev}`] = clean - 0.05 * sev - 0.01 * i)
  );
  accuracy.cue_conflict = 0.3;
  const per_class: Record<string, ShapeBiasCounts> = {};
  CLASSES.forEach((c, i) => per_class[c] = counts(2 + g + i + (aug ? 1 : 0), 8 - g, 2));
  const sum = (k: "shape" | "texture" | "other") =>
    Object.values(per_class).reduce((a, x) => a + x[k], 0);
  const overall = counts(sum("shape"), sum("texture"), sum("other"));
  const mean = (names: string[]) => names.reduce((a, n) => a + accuracy[n], 0) / names.length;
  const names = conditionNames();
  return {
    predictions: Object.fromEntries(names.map((n) => [n, [0, 1, 2]])),
    accuracy,
    endpoints: {
      clean_accuracy: clean,
      texture_shift_accuracy: mean(names.filter((n) => n.startsWith("texture:"))),
      corruption_accuracy: mean(names.filter((n) => n.startsWith("corruption:"))),
      // The cnn control makes no shape or texture decision in draw 1: shape bias undefined there.
      shape_bias: classifier === "cnn" && style === "none" && !aug && draw === 1
        ? null
        : overall.shape_bias,
    },
    shape_bias: { overall, per_class },
  };
}

/** The fixture's evaluation set. */
export function evaluationSet(): EvaluationSet {
  const conditions: EvalCondition[] = conditionNames().map((name) => {
    const [kind, a, b] = name.split(":");
    return {
      name,
      kind: kind === "texture"
        ? "texture_shift"
        : kind === "corruption"
        ? "corruption"
        : "cue_conflict",
      source: a ?? null,
      severity: b ? Number(b) : null,
      images: ["crab/image_0003.jpg#" + name],
      labels: [1],
    };
  });
  return {
    pool: Object.fromEntries(CLASSES.map((c) => [c, [`${c}/p1.jpg`, `${c}/p2.jpg`]])),
    conditions,
    test_styles: TEST_STYLES.map((s) => `${s}.jpg`),
    texture_ratio: 100,
    cue_conflict_ratio: 10,
    texture_crop: 0.5,
    cue_conflict_pairs: [{
      image: "crab/p1.jpg",
      texture_image: "scorpion/p1.jpg",
      shape_class: "crab",
      texture_class: "scorpion",
    }],
    corruption_params: Object.fromEntries(CORRUPTION_NAMES.map((c) => [c, [1, 2, 3]])),
    seed: 7,
  };
}

/** A synthetic comparison over {@link DRAWS}; `mcnemarHits` draws get McNemar p 0.03. */
function comparison(
  classifier: ClassifierKind,
  style: StyleGroup,
  aug: boolean,
  baseline: Baseline,
  acc: { mean: number; t: [number, number]; holm: number },
  mcnemarHits = 0,
  endpoint: Endpoint = "clean_accuracy",
): Comparison {
  const clean = endpoint === "clean_accuracy";
  const accuracyEndpoint = endpoint !== "shape_bias";
  return {
    endpoint,
    style,
    static_augmentation: aug,
    classifier,
    baseline,
    baseline_style: baseline,
    baseline_static_augmentation: baseline === "none" ? false : aug,
    per_draw: DRAWS.map((draw) => ({
      draw,
      config_value: 0.7 + acc.mean,
      baseline_value: 0.7,
      diff: acc.mean,
      macro_f1_diff: clean ? acc.mean / 2 : null,
      mcnemar_b: accuracyEndpoint ? 2 : null,
      mcnemar_c: accuracyEndpoint ? 3 : null,
      mcnemar_p: accuracyEndpoint ? (draw < mcnemarHits ? 0.03 : 0.7) : null,
    })),
    draws: DRAWS.length,
    mean_diff: acc.mean,
    sd_diff: 0.04,
    ci95_draws: acc.t,
    ci95_bootstrap: [acc.t[0] - 0.005, acc.t[1] + 0.004],
    p_wilcoxon: acc.holm / 4,
    p_holm: acc.holm,
    mde80: 0.061 + (acc.holm > 0.05 ? 0.01 : 0),
    // macro-F1 never passes: its interval always includes 0.
    macro_f1: clean
      ? {
        mean_diff: acc.mean / 2,
        sd_diff: 0.05,
        ci95_draws: [Math.min(-0.002, acc.mean), Math.max(0.002, acc.mean)],
        ci95_bootstrap: [Math.min(-0.004, acc.mean - 0.01), Math.max(0.004, acc.mean + 0.01)],
        p_wilcoxon: 0.0625,
        p_holm: 0.25,
        mde80: 0.08,
      }
      : null,
  };
}

/**
 * Added-image records: 3 per group, light < medium < heavy in change and in 1 - SSIM;
 * bank (3 records, ratio and painting drawn per image) is weaker than light, which must
 * not matter to the strength order.
 */
export function stylizedRecords(): StylizedRecord[] {
  const out: StylizedRecord[] = [];
  const table = {
    copy: { change: [0.5, 1, 1.5], ssim: [0.99, 0.98, 0.97] },
    light: { change: [10, 12, 14], ssim: [0.9, 0.8, 0.7] },
    medium: { change: [20, 22, 24], ssim: [0.6, 0.5, 0.4] },
    heavy: { change: [30, 33, 36], ssim: [0.3, 0.2, 0.1] },
    bank: { change: [5, 6, 7], ssim: [0.95, 0.94, 0.93] },
  } as const;
  for (
    const [style, v] of Object.entries(table) as [StylizedRecord["style"], typeof table.copy][]
  ) {
    v.change.forEach((change, i) => {
      const copy = style === "copy";
      out.push({
        image: `crab/image_000${i}.jpg`,
        style,
        ratio: copy
          ? null
          : style === "bank"
          ? [12.5, 300, 40][i]
          : { light: 1000, medium: 100, heavy: 10 }[style],
        style_file: copy ? null : style === "bank" ? ["b.jpg", "a.jpg", "b.jpg"][i] : "wave.jpg",
        steps: copy ? 0 : 300,
        best_step: copy ? null : [100, 150, 200][i],
        mean_abs_change: change,
        ssim: v.ssim[i],
        style_loss_ratio: copy ? null : [0.5, 0.4, 0.3][i],
        final_content_loss: copy ? null : [1000, 2000, 3000][i],
        identical: false,
      });
    });
  }
  return out;
}

/** The synthetic schema-3 results object: 6 draws, 6 groups × 2 augmentation settings, 2 classifiers. */
export function fixture(): ReportInput {
  const runs: RunResult[] = [];
  for (const draw of DRAWS) {
    for (const classifier of ["transfer", "cnn"] as const) {
      for (const style of STYLE_GROUPS) {
        for (const aug of [false, true]) {
          const bonus = STYLE_GROUPS.indexOf(style) + (aug ? 1 : 0) + (draw % 3);
          // The cnn control never predicts scorpion in draw 1: precision undefined there.
          const confusion = classifier === "cnn" && style === "none" && !aug && draw === 1
            ? [[12, 8, 0], [6, 14, 0], [9, 11, 0]]
            : [[12 + bonus, 5 - Math.min(bonus, 4), 3], [4, 13, 3], [2, 4, 14]];
          runs.push(runFrom(draw, style, aug, classifier, confusion));
        }
      }
    }
  }
  const comparisons: Comparison[] = [
    // Passes: t-interval excludes 0 and Holm p < 0.05.
    comparison("transfer", "heavy", true, "none", { mean: 0.05, t: [0.01, 0.09], holm: 0.02 }, 2),
    // Fails on Holm: the interval excludes 0 but Holm p = 0.09.
    comparison("transfer", "copy", false, "none", { mean: 0.03, t: [0.005, 0.06], holm: 0.09 }),
    // Fails on the interval: Holm p small but the interval includes 0.
    comparison("cnn", "light", false, "none", { mean: 0.01, t: [-0.03, 0.05], holm: 0.01 }),
    comparison("transfer", "heavy", true, "copy", { mean: 0.03, t: [-0.01, 0.07], holm: 0.4 }),
    // Passes, lower.
    comparison("cnn", "heavy", false, "copy", { mean: -0.05, t: [-0.08, -0.02], holm: 0.03 }),
    // Secondary endpoints: texture shift passes once; corruption and shape bias never.
    comparison(
      "transfer",
      "bank",
      false,
      "none",
      { mean: 0.08, t: [0.04, 0.12], holm: 0.01 },
      0,
      "texture_shift_accuracy",
    ),
    comparison(
      "cnn",
      "bank",
      true,
      "copy",
      { mean: 0.02, t: [-0.01, 0.05], holm: 0.3 },
      0,
      "corruption_accuracy",
    ),
    comparison(
      "cnn",
      "bank",
      true,
      "none",
      { mean: 0.1, t: [-0.02, 0.22], holm: 0.2 },
      0,
      "shape_bias",
    ),
  ];
  return {
    config: { draws: 6, seed: 1, classifiers: ["transfer", "cnn"] },
    environment: { backend: "wasm", deno: Deno.version.deno },
    runs,
    comparisons,
    primaryEndpoint: "clean_accuracy",
    evaluation: evaluationSet(),
    stylized: stylizedRecords(),
    sampling: { mode: "draws", count: 6, train_per_class: 10 },
    warnings: ["the style image was replaced by a fallback"],
    lossHistories: [
      {
        label: "crab/image_0001.jpg (heavy)",
        steps: [0, 10, 20],
        series: { total: [100, 40, 20], style: [80, 25, 9] },
      },
      {
        label: "crab/image_0001.jpg (light)",
        steps: [0, 10, 20],
        series: { total: [50, 30, 25], style: [0, 10, 5] },
      },
    ],
  };
}

/** Minimal XML well-formedness check: balanced tags, one root, nothing after it. */
function assertWellFormedSvg(text: string, what: string) {
  assert.match(text, /^<svg[\s>]/, `${what}: does not start with <svg`);
  assert.match(text, /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${what}: no SVG namespace`);
  const stack: string[] = [];
  const re =
    /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  let m: RegExpExecArray | null;
  let closedRootAt = -1;
  while ((m = re.exec(text))) {
    if (m[0].startsWith("<!")) continue;
    if (m[0] === "<") assert.fail(`${what}: stray '<' at ${m.index}`);
    if (m[0] === "&") assert.fail(`${what}: bare '&' at ${m.index}`);
    const [, close, name, , self] = m;
    if (close) {
      assert.equal(stack.pop(), name, `${what}: </${name}> at ${m.index} closes the wrong element`);
      if (stack.length === 0) closedRootAt = re.lastIndex;
    } else if (!self) stack.push(name);
  }
  assert.equal(stack.length, 0, `${what}: unclosed ${stack.join(", ")}`);
  assert.equal(text.slice(closedRootAt).trim(), "", `${what}: content after the root element`);
}

function parseCsv(text: string): string[][] {
  // The fixture has no quoted fields; a quote here would be a bug worth seeing.
  assert.ok(!text.includes('"'), "unexpected quoted field");
  return text.trimEnd().split("\n").map((l) => l.split(","));
}

/** The "Read this first" list items of a Markdown report, asserting it comes right after the title. */
function readFirst(md: string): string[] {
  const parts = md.split("\n\n");
  assert.match(parts[0], /^# /, "the report does not start with its title");
  assert.equal(parts[1], "## Read this first", "Read this first is not the first block");
  return parts[2].split("\n").map((l) => {
    assert.match(l, /^- /);
    return l.slice(2);
  });
}

/** Lines of the Markdown section under `heading` (up to the next heading of any level). */
function section(md: string, heading: string): string[] {
  const lines = md.split("\n");
  const at = lines.indexOf(heading);
  assert.ok(at >= 0, `no ${heading}`);
  const end = lines.findIndex((l, i) => i > at && /^#{1,3} /.test(l));
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

async function report(input: ReportInput) {
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    const files = await writeReport(input, dir);
    return {
      files: files.charts.map((f) => f.slice(dir.length + 1)).sort(),
      md: await Deno.readTextFile(files.markdown),
      html: await Deno.readTextFile(files.html),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PNG = new Uint8Array([137, 80, 78, 71]);

/** The fixture with training and evaluation grids (two real files, one missing), written to a temp dir. */
async function writeFixture(
  edit: (input: ReportInput) => void = () => {},
): Promise<
  { dir: string; out: string; input: ReportInput; files: ReportFiles; md: string; html: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  const input = fixture();
  const ex = (name: string) => join(dir, "examples", name);
  await Deno.mkdir(join(dir, "examples"), { recursive: true });
  for (const f of ["crab_original.png", "crab heavy.png", "scream.png", "cue.png", "noise3.png"]) {
    await Deno.writeFile(ex(f), PNG);
  }
  input.imageGrid = [{
    label: "crab/image_0001.jpg",
    cells: [
      { caption: "original", path: ex("crab_original.png") },
      { caption: "heavy", path: ex("crab heavy.png") },
      { caption: "augmented", path: ex("nope.png") },
    ],
  }];
  input.evalGrids = {
    textureShift: [{
      label: "crab/p1.jpg",
      cells: [{ caption: "original", path: ex("crab_original.png") }, {
        caption: "the_scream",
        path: ex("scream.png"),
      }],
    }],
    cueConflict: [{
      label: "crab shape, scorpion texture",
      cells: [{ caption: "cue conflict", path: ex("cue.png") }],
    }],
    corruptions: [{
      label: "crab/p1.jpg",
      cells: [{ caption: "gaussian_noise 3", path: ex("noise3.png") }],
    }],
  };
  edit(input);
  const out = join(dir, "out");
  const files = await writeReport(input, out);
  return {
    dir,
    out,
    input,
    files,
    md: await Deno.readTextFile(files.markdown),
    html: await Deno.readTextFile(files.html),
  };
}

const ALL_CHARTS = [
  "charts/comparison_clean_accuracy.svg",
  "charts/comparison_corruption_accuracy.svg",
  "charts/comparison_shape_bias.svg",
  "charts/comparison_texture_shift_accuracy.svg",
  "charts/losses.svg",
  "charts/precision.svg",
  "charts/recall.svg",
  "charts/shape_bias.svg",
  "charts/stylized.svg",
];

Deno.test("results.csv has one row per draw, configuration, classifier and class, with the named and endpoint columns", () => {
  const input = fixture();
  const rows = parseCsv(resultsCsv(input.runs));
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  assert.deepEqual(rows[0], [
    "draw",
    "style",
    "static_augmentation",
    "classifier",
    "class",
    "precision",
    "recall",
    "f1",
    "precision_defined",
    "support",
    "accuracy",
    "macro_f1",
    "clean_accuracy",
    "texture_shift_accuracy",
    "corruption_accuracy",
    "shape_bias",
  ]);
  const body = rows.slice(1);
  assert.equal(body.length, DRAWS.length * 2 * 12 * 3);
  const col = (name: string) => CSV_COLUMNS.indexOf(name);
  const keys = new Set(body.map((r) => [0, 1, 2, 3, 4].map((i) => r[i]).join("|")));
  assert.equal(keys.size, body.length, "duplicate (draw, style, aug, classifier, class) rows");
  for (const r of body) assert.equal(r.length, CSV_COLUMNS.length);
  assert.deepEqual([...new Set(body.map((r) => r[col("draw")]))], DRAWS.map(String));
  // A known row: draw 4, transfer, heavy + aug, crab.
  const run = input.runs.find((r) =>
    r.draw === 4 && r.classifier === "transfer" && r.style === "heavy" && r.static_augmentation
  )!;
  const row = body.find((r) =>
    r[0] === "4" && r[1] === "heavy" && r[2] === "true" && r[3] === "transfer" && r[4] === "crab"
  )!;
  const near = (cell: string, v: number) => assert.ok(Math.abs(Number(cell) - v) < 1e-6, cell);
  near(row[col("recall")], run.per_class.crab.recall);
  near(row[col("precision")], run.per_class.crab.precision);
  near(row[col("accuracy")], run.accuracy);
  near(row[col("macro_f1")], run.macro_f1);
  for (const e of ENDPOINTS) near(row[col(e)], run.evaluation.endpoints[e]!);
  // heavy (group 4) + aug: shape 7 + 8 + 9, texture 3 × 4 (see evaluationFor).
  near(row[col("shape_bias")], 24 / 36);
  assert.equal(row[col("support")], "20");
  // The never-predicted class: precision empty, flagged undefined; the undefined shape bias empty.
  const undef = body.find((r) =>
    r[0] === "1" && r[1] === "none" && r[2] === "false" && r[3] === "cnn" && r[4] === "scorpion"
  )!;
  assert.equal(undef[col("precision")], "");
  assert.equal(undef[col("precision_defined")], "false");
  assert.equal(undef[col("recall")], "0");
  assert.equal(undef[col("shape_bias")], "");
  assert.notEqual(undef[col("texture_shift_accuracy")], "");
  // Report order: draw first, then transfer before cnn, then the style groups.
  assert.deepEqual(body.slice(0, 3).map((r) => r.slice(0, 5).join("|")), [
    "0|none|false|transfer|butterfly",
    "0|none|false|transfer|crab",
    "0|none|false|transfer|scorpion",
  ]);
  assert.deepEqual(
    [
      ...new Set(
        body.filter((r) => r[0] === "0" && r[3] === "transfer").map((r) => `${r[1]}|${r[2]}`),
      ),
    ],
    STYLE_GROUPS.flatMap((g) => [`${g}|false`, `${g}|true`]),
  );
});

Deno.test("csvField quotes commas, quotes and line breaks", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField("x\ny"), '"x\ny"');
  assert.equal(csvField(NaN), "");
  assert.equal(csvField(1 / 3), "0.333333");
});

Deno.test("summarize gives mean ± sample SD over draws per configuration, endpoints and pooled shape counts", () => {
  const s = summarize(fixture().runs);
  assert.equal(s.length, 24);
  assert.deepEqual(
    s.slice(0, 12).map((x) => `${x.classifier}:${x.label}`),
    STYLE_GROUPS.flatMap((g) => [`transfer:${g}`, `transfer:${g} + aug`]),
  );
  for (const x of s) assert.deepEqual(x.draws, DRAWS);
  const ctl = s.find((x) => x.classifier === "cnn" && x.label === "none")!;
  assert.equal(ctl.per_class.scorpion.precision.n, 5);
  assert.equal(ctl.per_class.scorpion.recall.n, 6);
  assert.equal(ctl.endpoints.shape_bias.n, 5, "shape bias undefined in one draw");
  assert.equal(ctl.endpoints.clean_accuracy.n, 6);
  assert.ok(Math.abs(ctl.endpoints.clean_accuracy.mean - ctl.accuracy.mean) < 1e-12);
  // heavy (group 4) + aug: per class shape 2+4+i+1, texture 4, other 2; pooled over 6 draws.
  const heavy = s.find((x) => x.classifier === "transfer" && x.label === "heavy + aug")!;
  assert.deepEqual(heavy.shape_counts.per_class.crab, {
    shape: 6 * 8,
    texture: 6 * 4,
    other: 6 * 2,
    shape_bias: 8 / 12,
  });
  assert.equal(heavy.shape_counts.overall.shape, 6 * (7 + 8 + 9));
  assert.equal(heavy.conditions["corruption:jpeg:3"].n, 6);
  assert.deepEqual(meanStd([2, 4, 6]), { mean: 4, std: 2, n: 3 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0, n: 1 });
});

Deno.test("summarizeStylized and strengthOrder: hand-computed means and sds, bank ratios and paintings, order over light/medium/heavy only", () => {
  const g = summarizeStylized(stylizedRecords());
  assert.deepEqual(g.map((x) => x.style), ["copy", "light", "medium", "heavy", "bank"]);
  const light = g[1];
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);
  close(light.mean_abs_change.mean, 12);
  close(light.mean_abs_change.std, 2);
  close(light.ssim.mean, 0.8);
  close(light.ssim.std, 0.1);
  close(light.style_loss_ratio.mean, 0.4);
  close(light.best_step.mean, 150);
  close(light.best_step.std, 50);
  close(light.final_content_loss.mean, 2000);
  close(light.final_content_loss.std, 1000);
  assert.deepEqual(light.ratios, [1000]);
  assert.deepEqual(light.steps, [300]);
  assert.deepEqual(light.style_files, [{ file: "wave.jpg", n: 3, ratio_range: [1000, 1000] }]);
  assert.equal(g[0].style_loss_ratio.n, 0, "copy has no style loss");
  assert.deepEqual(g[0].style_files, []);
  assert.equal(g[0].ratio_range, null);
  close(g[3].mean_abs_change.std, 3);
  const bank = g[4];
  assert.deepEqual(bank.ratio_range, [12.5, 300]);
  assert.deepEqual(bank.style_files, [
    { file: "b.jpg", n: 2, ratio_range: [12.5, 40] },
    { file: "a.jpg", n: 1, ratio_range: [300, 300] },
  ]);
  // bank is weaker than light, but the order is over light < medium < heavy only.
  const [change, ssim] = strengthOrder(g);
  assert.ok(change.ordered && ssim.ordered);
  close(ssim.means.heavy, 0.8);
  assert.deepEqual(Object.keys(change.means), ["light", "medium", "heavy"]);
  // Means in order but within noise: not measurably ordered.
  const noisy = stylizedRecords().map((r) =>
    r.style === "medium" ? { ...r, mean_abs_change: r.mean_abs_change - 7 } : r
  );
  assert.equal(strengthOrder(summarizeStylized(noisy))[0].ordered, false);
  assert.equal(strengthOrder(summarizeStylized([]))[0].complete, false);
});

Deno.test("decide applies the rule to the endpoint: t-interval excludes 0 AND Holm p < 0.05", () => {
  const [pass, holmFails, ciFails, , lower, texture, , shape] = fixture().comparisons;
  assert.equal(decide(pass), "higher");
  assert.equal(decide(holmFails), null);
  assert.equal(decide(ciFails), null);
  assert.equal(decide(lower), "lower");
  assert.equal(decide(texture), "higher");
  assert.equal(decide(shape), null);
  assert.equal(decide(pass, "macro_f1"), null);
  assert.equal(decide(texture, "macro_f1"), null, "no macro-F1 off the clean endpoint");
  assert.equal(decide({ ...pass, ci95_draws: null }), null);
  assert.equal(decide(pass, "endpoint", 0.01), null);
  assert.match(readComparison(holmFails), /no evidence of an effect.*Holm p 0\.090 ≥ 0\.05/);
  assert.match(readComparison(ciFails), /t-interval includes 0/);
  assert.match(readComparison(pass), /^differs: higher than baseline none/);
  assert.equal(readComparison(texture, "macro_f1"), "n/a");
});

Deno.test("the report opens with the declared primary endpoint and its decision per classifier and baseline", async () => {
  const { dir, md, html } = await writeFixture();
  try {
    const first = readFirst(md);
    assert.equal(
      first[0],
      "Primary endpoint (declared before the run): clean accuracy, accuracy on the draw's own test images. The other endpoints are secondary and exploratory.",
    );
    assert.equal(
      first[1],
      "Decision rule: a configuration differs from a baseline only when the draw-level 95% t-interval of the mean difference excludes 0 AND the Holm-adjusted Wilcoxon p < 0.05.",
    );
    assert.equal(
      first[2],
      "transfer, clean accuracy against none: heavy + aug: higher (+0.050, t-interval [+0.010, +0.090], Holm p 0.020); 1 of 2 configuration(s) pass the rule; for the other 1, no evidence of an effect at this sample size (not evidence of no effect).",
    );
    assert.equal(
      first[3],
      "transfer, clean accuracy against copy: no configuration passes the rule (0 of 1); no evidence of an effect at this sample size (not evidence of no effect).",
    );
    assert.match(first[4], /^cnn, clean accuracy against none: no configuration passes/);
    assert.equal(
      first[5],
      "cnn, clean accuracy against copy: heavy: lower (-0.050, t-interval [-0.080, -0.020], Holm p 0.030); 1 of 1 configuration(s) pass the rule.",
    );
    assert.match(
      first[6],
      /detect clean accuracy differences of about 0\.061 to 0\.071 at 80% power/,
    );
    // Then the warnings, then the secondary endpoints.
    assert.equal(first[7], "Warning: the style image was replaced by a fallback");
    assert.ok(!first.some((l) => /^Error/.test(l)), "no record is identical");
    assert.ok(!first.some((l) => /not measurably ordered/.test(l)), "the groups are ordered");
    assert.ok(!first.some((l) => /cannot be below/.test(l)), "6 draws can reach p < 0.05");
    assert.ok(first.includes(
      "Secondary, texture-shift accuracy: transfer bank vs none: higher (+0.080, t-interval [+0.040, +0.120], Holm p 0.010) (1 of 1 comparisons).",
    ));
    assert.ok(first.some((l) => /^Secondary, shape bias: none of 1 comparisons passes/.test(l)));
    assert.ok(
      first.some((l) => /^Supporting detail, clean macro-F1: none of 5 comparisons/.test(l)),
    );
    assert.ok(
      first.findIndex((l) => l.startsWith("Secondary")) > first.indexOf(first[7]),
      "secondary endpoints come after the warnings",
    );
    assert.match(html, /<h1>[^<]*<\/h1>\n<h2>Read this first<\/h2>\n<ul>\n<li>Primary endpoint/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a secondary endpoint declared primary leads; an undeclared one is said to be exploratory", async () => {
  const input = fixture();
  const declared = readFirst(
    (await report({ ...input, primaryEndpoint: "texture_shift_accuracy" })).md,
  );
  assert.match(
    declared[0],
    /^Primary endpoint \(declared before the run\): texture-shift accuracy, accuracy on the evaluation pool stylized/,
  );
  assert.match(
    declared[2],
    /^transfer, texture-shift accuracy against none: bank: higher \(\+0\.080, t-interval \[\+0\.040, \+0\.120\], Holm p 0\.010\); 1 of 1/,
  );
  assert.match(
    declared[3],
    /^transfer, texture-shift accuracy against copy: no comparisons were computed\.$/,
  );
  assert.ok(
    declared.some((l) =>
      l.startsWith("Secondary, clean accuracy: transfer heavy + aug vs none: higher")
    ),
  );
  const { md } = await report({ ...input, primaryEndpoint: undefined });
  const undeclared = readFirst(md);
  assert.match(
    undeclared[0],
    /^No primary endpoint was declared before the run, so every result below is exploratory; the report leads with clean accuracy/,
  );
  assert.match(md, /### Clean accuracy \(exploratory\)/);
});

Deno.test("writeReport writes csv, md and html with every chart, the robustness table, comparison tables per endpoint and grids", async () => {
  const { dir, out, input, files, md, html } = await writeFixture();
  try {
    assert.deepEqual(files.charts.map((f) => f.slice(out.length + 1)).sort(), ALL_CHARTS);
    for (const f of files.charts) {
      const svg = await Deno.readTextFile(f);
      assertWellFormedSvg(svg, f);
      assert.ok(svg.length > 2000, `${f} is suspiciously small`);
    }
    const precisionSvg = await Deno.readTextFile(join(out, "charts", "precision.svg"));
    for (const c of CLASSES) assert.ok(precisionSvg.includes(c), `precision.svg lacks ${c}`);
    const cleanSvg = await Deno.readTextFile(join(out, "charts", "comparison_clean_accuracy.svg"));
    assert.ok(cleanSvg.includes("vs none") && cleanSvg.includes("vs copy"));
    assert.ok(cleanSvg.includes("transfer: heavy + aug"));
    const textureSvg = await Deno.readTextFile(
      join(out, "charts", "comparison_texture_shift_accuracy.svg"),
    );
    assert.ok(
      textureSvg.includes("transfer: bank") && !textureSvg.includes("transfer: heavy + aug"),
    );
    const stylizedSvg = await Deno.readTextFile(join(out, "charts", "stylized.svg"));
    for (const g of ["copy", "light", "medium", "heavy", "bank", "SSIM"]) {
      assert.ok(stylizedSvg.includes(g), `stylized.svg lacks ${g}`);
    }
    assert.equal(await Deno.readTextFile(files.csv), resultsCsv(input.runs));

    // What was run, with the evaluation material.
    assert.match(
      md,
      /Sampling: 6 random training draws of 10 images per class; draws may share images/,
    );
    assert.match(
      md,
      /144 trained classifiers: 24 configurations × 6 training draws \(0, 1, 2, 3, 4, 5\)/,
    );
    assert.match(md, /Evaluation pool: 2 butterfly, 2 crab, 2 scorpion images/);
    assert.match(
      md,
      /held-out paintings the_scream\.jpg, starry_night\.jpg at content:style ratio 100/,
    );
    assert.match(
      md,
      /Corruptions: gaussian_noise \(1, 2, 3\); .*pixelate \(1, 2, 3\) at severities 1-3; seed 7/,
    );

    // Stylized characterisation table, hand-computed; bank's ratio range and paintings.
    const sty = section(md, "## Stylized training images");
    assert.ok(sty.includes(
      "| group | added images | content:style ratio | style | steps | mean \\|change\\| | SSIM | style loss ratio | best step | final content loss | identical to original |",
    ));
    assert.ok(sty.includes(
      "| light | 3 | 1000 | wave.jpg | 300 | 12.00 ± 2.00 | 0.800 ± 0.100 | 0.400 ± 0.100 | 150.0 ± 50.0 | 2000 ± 1000 | 0 of 3 |",
    ));
    assert.ok(sty.includes(
      "| copy | 3 | n/a | n/a | 0 | 1.00 ± 0.50 | 0.980 ± 0.010 | n/a | n/a | n/a | 0 of 3 |",
    ));
    assert.ok(
      sty.some((l) =>
        l.startsWith(
          "| bank | 3 | 12.5 to 300 (drawn per image) | 2 files (below) | 300 | 6.00 ± 1.00 |",
        )
      ),
    );
    assert.ok(
      sty.includes("| b.jpg | 2 | 12.5 to 40 |") && sty.includes("| a.jpg | 1 | 300 to 300 |"),
    );
    assert.ok(sty.some((l) => l.startsWith("![Mean \\|change\\| and SSIM")));

    // Every image the Markdown references exists (the missing grid cell is named).
    const refs = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => decodeURIComponent(m[1]));
    assert.deepEqual(refs.filter((r) => r.startsWith("charts/")).sort(), ALL_CHARTS);
    for (const r of refs) assert.ok(await exists(join(out, r)), `md references missing ${r}`);
    assert.match(md, /\(missing: .*nope\.png\)/);

    // Per-configuration tables over draws, in group order.
    const acc = section(md, "## Accuracy and macro-F1 per configuration");
    const s = summarize(input.runs).find((x) =>
      x.classifier === "transfer" && x.label === "heavy + aug"
    )!;
    const accRow = acc.find((l) => l.startsWith("| transfer | heavy + aug | 6 | 300 |"))!;
    assert.ok(accRow.includes(`${s.accuracy.mean.toFixed(3)} ± ${s.accuracy.std.toFixed(3)}`));
    assert.deepEqual(
      acc.filter((l) => l.startsWith("| transfer |")).map((l) => l.split(" | ")[1]),
      STYLE_GROUPS.flatMap((g) => [g, `${g} + aug`]),
    );
    assert.match(md, /\| cnn \| none \| 6 \| .*\(5\/6\)/); // precision defined in 5 of 6 draws

    // Caveats.
    const cav = section(md, "## Caveats").join("\n");
    assert.match(cav, /analysis unit is the training draw/);
    assert.match(cav, /Holm's adjustment runs over all 8 endpoint comparisons/);
    assert.match(cav, /Only the primary endpoint \(clean accuracy\) was declared before the run/);
    assert.match(cav, /copy baseline separates "more images" from "style"/);
    assert.match(cav, /CNN trained from scratch is the plan's own classifier/);
    assert.doesNotMatch(md, /significant(ly)? improve|proves?/i);
    assert.match(md, /## Configuration\n\n```json\n\{\n {2}"draws": 6/);

    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal(
      (html.match(/<svg[\s>]/g) ?? []).length,
      ALL_CHARTS.length,
      "html inlines every chart",
    );
    assert.ok(html.includes('<img src="../examples/crab_original.png"'));
    assert.ok(html.includes('<img src="../examples/crab%20heavy.png"'));
    assert.ok(html.includes("<th>Δ clean accuracy</th>"));
    assert.ok(
      !/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/xmlns(:\w+)?="[^"]*"/g, "")),
      "html loads something from the network",
    );
    // HTML and Markdown carry the same numbers, in the same order.
    const numbers = (t: string) => t.match(/[-+]?\d+\.\d+/g) ?? [];
    const htmlText = html.replace(/<style>[\s\S]*?<\/style>/, "").replace(
      /<svg[\s\S]*?<\/svg>/g,
      "",
    )
      .replace(/<[^>]*>/g, " ").replaceAll("&lt;", "<").replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"').replaceAll("&amp;", "&");
    const mdText = md.replace(/!\[[^\]]*\]\([^)]*\)/g, " ");
    assert.ok(numbers(mdText).length > 400);
    assert.deepEqual(numbers(htmlText), numbers(mdText));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the robustness table has every endpoint, mean ± sd over draws per configuration", async () => {
  const input = fixture();
  const { md } = await report(input);
  const rob = section(md, "## Endpoints per configuration");
  assert.ok(rob.includes(
    "| classifier | configuration | draws | clean accuracy | texture shift | corruption (mean) | shape bias |",
  ));
  for (const e of ENDPOINTS) {
    assert.ok(rob.join("\n").includes(e.replaceAll("_", " ").replace(" accuracy", "")), e);
  }
  const sums = summarize(input.runs);
  for (const x of sums) {
    const row = rob.find((l) => l.startsWith(`| ${x.classifier} | ${x.label} | 6 |`));
    assert.ok(row, `no robustness row for ${x.classifier} ${x.label}`);
    const cells = row.split(" | ").slice(3);
    ENDPOINTS.forEach((e, i) => {
      const m = x.endpoints[e];
      const want = `${m.mean.toFixed(3)} ± ${m.std.toFixed(3)}${m.n < 6 ? ` (${m.n}/6)` : ""}`;
      assert.equal(cells[i].replace(/ \|$/, ""), want, `${x.classifier} ${x.label} ${e}`);
    });
  }
  assert.equal(rob.filter((l) => /^\| (transfer|cnn) \|/.test(l)).length, 24);
  assert.ok(rob.some((l) => l.startsWith("| cnn | none | 6 |") && l.endsWith("(5/6) |")));
});

Deno.test("one comparison table per endpoint and baseline, with the new fields and verdicts", async () => {
  const { md } = await report(fixture());
  assert.ok(
    md.indexOf("### Clean accuracy (primary endpoint)") <
      md.indexOf("### Texture-shift accuracy (secondary endpoint)"),
  );
  const clean = section(md, "### Clean accuracy (primary endpoint)");
  const head =
    "| classifier | configuration | baseline run | draws | Δ clean accuracy | t-interval (draws) | bootstrap interval | Wilcoxon p | Holm p | MDE80 | McNemar p<0.05 | verdict |";
  assert.equal(
    clean.filter((l) => l === head).length,
    2,
    "a table against none and one against copy",
  );
  assert.ok(clean.includes(
    "| transfer | heavy + aug | none | 6 | +0.050 | [+0.010, +0.090] | [+0.005, +0.094] | 0.005 | 0.020 | 0.061 | 2 of 6 draws | differs: higher than baseline none (t-interval excludes 0, Holm p 0.020 < 0.05) |",
  ));
  const holmRow = clean.find((l) => l.startsWith("| transfer | copy | none | 6 | +0.030 |"))!;
  assert.match(
    holmRow,
    /no evidence of an effect at this sample size \(not evidence of no effect\): Holm p 0\.090 ≥ 0\.05 \|$/,
  );
  assert.match(
    clean.find((l) => l.startsWith("| cnn | light | none | 6 |"))!,
    /: t-interval includes 0 \|$/,
  );
  assert.ok(
    clean.some((l) => l.startsWith("| transfer | heavy + aug | copy + aug | 6 | +0.030 |")),
  );
  assert.ok(
    clean.some((l) =>
      l.startsWith("| cnn | heavy | copy | 6 | -0.050 |") && l.includes("differs: lower")
    ),
  );
  assert.ok(
    clean.some((l) =>
      l.startsWith("| classifier | configuration | baseline run | draws | Δ macro-F1 |")
    ),
  );
  assert.match(
    clean.join("\n"),
    /detect with 80% power .* is 0\.061 to 0\.071 over the 5 comparisons/,
  );
  assert.ok(clean.some((l) => l.startsWith("![Difference in clean accuracy")));
  // Shape bias has no McNemar column; texture shift has no macro-F1 table.
  const shape = section(md, "### Shape bias (secondary endpoint)");
  assert.ok(shape.includes(
    "| classifier | configuration | baseline run | draws | Δ shape bias | t-interval (draws) | bootstrap interval | Wilcoxon p | Holm p | MDE80 | verdict |",
  ));
  assert.ok(shape.includes("No comparisons with baseline copy were computed."));
  const texture = section(md, "### Texture-shift accuracy (secondary endpoint)");
  assert.ok(!texture.some((l) => l.includes("macro-F1")));
  assert.ok(
    texture.some((l) =>
      l.startsWith("| transfer | bank | none | 6 | +0.080 |") && l.includes("differs: higher")
    ),
  );
  assert.match(
    md,
    /Holm: adjusted across all 8 endpoint comparisons of the run .*clean macro-F1 is its own family of 5/,
  );
});

Deno.test("per-condition accuracy: one column per painting, corruptions as severity 1 / 2 / 3", async () => {
  const input = fixture();
  const { md } = await report(input);
  const cond = section(md, "## Accuracy per evaluation condition");
  assert.ok(cond.includes("| classifier | configuration | the_scream | starry_night |"));
  assert.ok(cond.includes(
    "| classifier | configuration | gaussian_noise (1 / 2 / 3) | gaussian_blur (1 / 2 / 3) | jpeg (1 / 2 / 3) | contrast (1 / 2 / 3) | pixelate (1 / 2 / 3) |",
  ));
  const x = summarize(input.runs).find((s) => s.classifier === "cnn" && s.label === "medium")!;
  const c = (n: string, d = 3) => x.conditions[n].mean.toFixed(d);
  assert.ok(
    cond.includes(`| cnn | medium | ${c("texture:the_scream")} | ${c("texture:starry_night")} |`),
  );
  const row = cond.find((l) => l.startsWith("| cnn | medium |") && l.includes(" / "))!;
  assert.ok(
    row.includes(
      `| ${c("corruption:jpeg:1", 2)} / ${c("corruption:jpeg:2", 2)} / ${
        c("corruption:jpeg:3", 2)
      } |`,
    ),
  );
});

Deno.test("the shape-bias chart encodes the per-class fractions of shape decisions of a hand-made input", async () => {
  const classes = ["butterfly", "crab", "scorpion"];
  const base = fixture().runs.filter((r) =>
    r.draw < 2 && r.classifier === "transfer" && (r.style === "none" || r.style === "bank") &&
    !r.static_augmentation
  );
  // Per class shape/texture per run: none 1/3, 2/2, 0/4 (scorpion: no shape decision); bank 3/1, 4/0, 1/1.
  const made: Record<string, Array<[number, number]>> = {
    none: [[1, 3], [2, 2], [0, 4]],
    bank: [[3, 1], [4, 0], [1, 1]],
  };
  const runs = base.map((r) => {
    const per_class = Object.fromEntries(
      classes.map((c, i) => [c, counts(made[r.style][i][0], made[r.style][i][1], 1)]),
    );
    const shape = made[r.style].reduce((a, x) => a + x[0], 0);
    const texture = made[r.style].reduce((a, x) => a + x[1], 0);
    return {
      ...r,
      evaluation: {
        ...r.evaluation,
        shape_bias: { overall: counts(shape, texture, 3), per_class },
        endpoints: { ...r.evaluation.endpoints, shape_bias: shape / (shape + texture) },
      },
    };
  });
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    const files = await writeReport({ config: {}, environment: {}, runs, comparisons: [] }, dir);
    const svg = await Deno.readTextFile(join(dir, "charts", "shape_bias.svg"));
    assert.ok(files.charts.some((f) => f.endsWith("shape_bias.svg")));
    assertWellFormedSvg(svg, "shape_bias.svg");
    const labels = [...svg.matchAll(/aria-label="(fraction of shape decisions: [^"]*)"/g)].map((
      m,
    ) => m[1]);
    const point = (config: string, cls: string) =>
      labels.filter((l) => l.includes(`; shape class: ${cls};`) && l.includes(`config: ${config}`));
    const want: Array<[string, string, string]> = [
      ["none", "butterfly", "0.25"],
      ["none", "crab", "0.5"],
      ["none", "scorpion", "0"],
      ["bank", "butterfly", "0.75"],
      ["bank", "crab", "1"],
      ["bank", "scorpion", "0.5"],
      ["none", "all classes", "0.25"],
      ["bank", "all classes", "0.8"],
    ];
    for (const [config, cls, frac] of want) {
      const p = point(config, cls);
      assert.equal(p.length, 1, `one point for ${config} ${cls}: ${p.join(" || ")}`);
      assert.match(p[0], new RegExp(`^fraction of shape decisions: ${frac.replace(".", "\\.")};`));
    }
    assert.equal(labels.length, 8, "one mark per configuration and class (and all classes)");
    assert.match(svg, /fraction of texture decisions/);
    // The table pools draws: bank's per-class shape bias 0.750, 1.000, 0.500.
    const md = await Deno.readTextFile(join(dir, "report.md"));
    assert.ok(
      md.includes(
        "| transfer | bank | 0.800 ± 0.000 | 0.615 | 0.154 | 0.231 | 0.750 | 1.000 | 0.500 |",
      ),
      md,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shapeBiasSpec leaves out points with no shape or texture decision", async () => {
  const svg = await renderSvg(shapeBiasSpec([
    {
      classifier: "cnn",
      style: "copy",
      static_augmentation: true,
      class: "crab",
      shape: 0,
      texture: 0,
    },
    {
      classifier: "cnn",
      style: "copy",
      static_augmentation: true,
      class: "butterfly",
      shape: 1,
      texture: 1,
    },
  ], ["butterfly", "crab"]));
  assertWellFormedSvg(svg, "shape bias");
  assert.equal((svg.match(/aria-label="fraction of shape decisions: /g) ?? []).length, 1);
});

Deno.test("evaluation grids appear under their headings, with missing files named", async () => {
  const { dir, md, html } = await writeFixture((input) => {
    input.evalGrids!.corruptions[0].cells.push({
      caption: "jpeg 3",
      path: "/nonexistent/jpeg3.png",
    });
  });
  try {
    const ev = md.slice(md.indexOf("## Evaluation examples"));
    assert.ok(md.indexOf("## Training examples") < md.indexOf("## Evaluation examples"));
    for (const h of ["### Texture shift", "### Cue conflict", "### Corruptions"]) {
      assert.ok(ev.includes(h), h);
    }
    const texture = section(md, "### Texture shift");
    assert.ok(texture.includes("| image | original | the_scream |"));
    assert.ok(
      texture.includes(
        "| crab/p1.jpg | ![crab/p1.jpg original](../examples/crab_original.png) | ![crab/p1.jpg the_scream](../examples/scream.png) |",
      ),
    );
    assert.ok(section(md, "### Cue conflict").some((l) => l.includes("](../examples/cue.png)")));
    const corr = section(md, "### Corruptions");
    assert.ok(
      corr.some((l) =>
        l.includes("](../examples/noise3.png)") && l.includes("(missing: /nonexistent/jpeg3.png)")
      ),
    );
    assert.ok(html.includes('<img src="../examples/cue.png"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Without grids there is no section.
  const { md: bare } = await report({ ...fixture(), evalGrids: undefined });
  assert.doesNotMatch(bare, /Evaluation examples/);
});

Deno.test("Read this first: an identical stylized copy is an error, unordered groups a warning (bank not counted)", async () => {
  const input = fixture();
  const records = stylizedRecords().map((r, i) => ({
    ...r,
    // One heavy record identical; medium as weak as light.
    identical: r.style === "heavy" && i === 9,
    mean_abs_change: r.style === "medium" ? r.mean_abs_change - 10 : r.mean_abs_change,
  }));
  records.push({ ...records[0], identical: true }); // an identical copy is no error
  const { md } = await report({
    ...input,
    stylized: records,
    warnings: ["error: the caller's own label is kept"],
    comparisons: [],
  });
  const first = readFirst(md);
  assert.match(first[0], /^Primary endpoint/);
  assert.equal(
    first[2],
    "No comparisons were computed, so the report makes no claim about effects.",
  );
  assert.equal(first[3], "Error: the caller's own label is kept");
  assert.match(
    first[4],
    /^Error: stylized training images are pixel-identical to their originals \(heavy: 1 of 3\)/,
  );
  const order = first.filter((l) => /not measurably ordered/.test(l));
  assert.equal(order.length, 1, "only mean |change| is out of order");
  assert.match(
    order[0],
    /^Warning: .* light < medium < heavy in mean \|change\| \(0-255\) \(light 12\.00, medium 12\.00, heavy 33\.00; /,
  );
  assert.doesNotMatch(order[0], /bank/);
  assert.match(
    section(md, "## Stylized training images").join("\n"),
    /\| heavy \| 3 \| .* \| 1 of 3 \|/,
  );
  assert.match(md, /\| copy \| 4 \| .* \| 1 of 4 \|/);
  // Only bank records: no strength-order warning at all.
  const bankOnly = readFirst(
    (await report({ ...input, stylized: stylizedRecords().filter((r) => r.style === "bank") })).md,
  );
  assert.ok(!bankOnly.some((l) => /ordering|ordered/.test(l)), bankOnly.join("\n"));
});

Deno.test("writeReport without comparisons, records, losses, grids or evaluation says so and draws only what it has", async () => {
  const input = fixture();
  const { files, md } = await report({
    ...input,
    comparisons: [],
    stylized: undefined,
    warnings: undefined,
    sampling: undefined,
    evaluation: undefined,
    lossHistories: [],
    imageGrid: [],
  });
  assert.deepEqual(files, ["charts/precision.svg", "charts/recall.svg", "charts/shape_bias.svg"]);
  const first = readFirst(md);
  assert.ok(first.some((l) => /no stylized-image records were given/.test(l)));
  assert.match(md, /No comparisons were computed/);
  assert.match(md, /makes no claim about effects/);
  assert.match(md, /No records of the added training images were given/);
  assert.doesNotMatch(md, /Training examples|Stylization loss|Sampling:|Evaluation pool/);
  // Runs without any evaluation (a schema-2 style input) still report, with n/a endpoints.
  const old = input.runs.map((r) => {
    const { evaluation: _, ...rest } = r;
    return rest as RunResult;
  });
  const bare = await report({ config: {}, environment: {}, runs: old, comparisons: [] });
  assert.deepEqual(bare.files, ["charts/precision.svg", "charts/recall.svg"]);
  assert.match(bare.md, /\| transfer \| none \| 6 \| n\/a \| n\/a \| n\/a \| n\/a \|/);
  assert.doesNotMatch(bare.md, /Accuracy per evaluation condition|Shape bias on cue-conflict/);
  assert.ok(resultsCsv(old).split("\n")[1].endsWith(",,,,"));
});

Deno.test("with 4 draws the report says no comparison can pass, and lists none", async () => {
  const input = fixture();
  const draws = [0, 1, 2, 3];
  const c4 = (c: Comparison): Comparison => ({
    ...c,
    per_draw: c.per_draw.slice(0, 4),
    draws: 4,
    p_wilcoxon: 0.125,
    p_holm: 0.5,
    mde80: 0.12,
  });
  const { md } = await report({
    ...input,
    runs: input.runs.filter((r) => draws.includes(r.draw)),
    comparisons: input.comparisons.map(c4),
    sampling: { mode: "subsets", count: 5, train_per_class: 10 },
    warnings: [],
  });
  const first = readFirst(md);
  assert.ok(first.includes("Warning: 5 subsets were planned but the results hold 4."));
  assert.ok(
    first.some((l) =>
      l.startsWith("With 4 draws the exact two-sided Wilcoxon p cannot be below 2/2^4 = 0.125") &&
      l.includes("at least 6 draws")
    ),
  );
  assert.ok(
    first.slice(2, 6).every((l) => /no configuration passes the rule/.test(l)),
    first.join("\n"),
  );
  assert.ok(first.includes(
    "The run could detect clean accuracy differences of about 0.120 at 80% power (paired t-test at alpha 0.05, from the between-draw sd); smaller true effects would usually go unseen.",
  ));
  assert.match(md, /Sampling: 5 disjoint training subsets of 10 images per class/);
  assert.match(md, /the subsets are disjoint, but all come from one pool/);
});

Deno.test("comparisonSpec and stylizedSpec render, with and without a t-interval", async () => {
  const [c] = fixture().comparisons;
  const svg = await renderSvg(
    comparisonSpec([c, { ...c, classifier: "cnn", ci95_draws: null }], "clean_accuracy"),
  );
  assertWellFormedSvg(svg, "comparison");
  assert.match(svg, /cnn: heavy \+ aug/);
  assertWellFormedSvg(await renderSvg(stylizedSpec(stylizedRecords())), "stylized");
});

Deno.test("renderSvg renders a plain Vega-Lite spec offline", async () => {
  const svg = await renderSvg({
    data: { values: [{ x: "a", y: 1 }, { x: "b", y: 3 }] },
    mark: "bar",
    encoding: { x: { field: "x", type: "nominal" }, y: { field: "y", type: "quantitative" } },
  });
  assertWellFormedSvg(svg, "bar");
  assert.match(svg, /class="mark-rect/, "no bars drawn");
});

Deno.test("signed and fmt format as the tables print them", () => {
  assert.equal(signed(0.05), "+0.050");
  assert.equal(signed(-0.0001), "-0.00010"); // never printed as 0 when it is not
  assert.equal(signed(0), "0.000");
  assert.equal(signed(-0.2), "-0.200");
  assert.equal(fmt(NaN), "n/a");
});

Deno.test("a configuration identical to its baseline in every draw is named once, and left out of the MDE range", async () => {
  const input = fixture();
  const c4 = (c: Comparison): Comparison => ({
    ...c,
    per_draw: c.per_draw.slice(0, 4),
    draws: 4,
    p_wilcoxon: 0.125,
    p_holm: 0.5,
    mde80: 0.12,
  });
  const base = input.comparisons.map(c4);
  const same = (c: Comparison, endpoint: Endpoint): Comparison => ({
    ...c,
    endpoint,
    per_draw: c.per_draw.map((d) => ({
      ...d,
      diff: 0,
      config_value: d.baseline_value,
      macro_f1_diff: endpoint === "clean_accuracy" ? 0 : null,
      mcnemar_b: endpoint === "shape_bias" ? null : 0,
      mcnemar_c: endpoint === "shape_bias" ? null : 0,
      mcnemar_p: endpoint === "shape_bias" ? null : 1,
    })),
    mean_diff: 0,
    sd_diff: 0,
    ci95_draws: [0, 0],
    p_wilcoxon: 1,
    p_holm: 1,
    mde80: 0,
    macro_f1: endpoint === "clean_accuracy" ? c.macro_f1 : null,
  });
  const { md } = await report({
    ...input,
    comparisons: [same(base[0], "clean_accuracy"), same(base[0], "shape_bias"), ...base.slice(1)],
    warnings: [],
  });
  const first = readFirst(md);
  const named = first.find((l) =>
    l.startsWith("1 configuration(s) score exactly as their baseline")
  );
  assert.ok(named, first.join("\n"));
  assert.match(named, /: transfer heavy \+ aug vs none\. For the transfer head/);
  const range = first.find((l) => l.startsWith("The run could detect clean accuracy"))!;
  assert.match(
    range,
    /about 0\.120 at 80% power/,
    "the 0 of the identical comparison entered the range",
  );
});
