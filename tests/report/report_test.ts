import assert from "node:assert/strict";
import { join } from "node:path";
import { CSV_COLUMNS, csvField, resultsCsv } from "../../src/report/csv.ts";
import { comparisonSpec, renderSvg, stylizedSpec } from "../../src/report/charts.ts";
import {
  decide,
  fmt,
  readComparison,
  type ReportInput,
  signed,
  writeReport,
} from "../../src/report/report.ts";
import { meanStd, strengthOrder, summarize, summarizeStylized } from "../../src/report/summary.ts";
import {
  type Baseline,
  type ClassifierKind,
  type Comparison,
  type RunResult,
  STYLE_GROUPS,
  type StyleGroup,
  type StylizedRecord,
} from "../../src/study/types.ts";
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
): Comparison {
  return {
    style,
    static_augmentation: aug,
    classifier,
    baseline,
    baseline_style: baseline,
    baseline_static_augmentation: baseline === "none" ? false : aug,
    per_draw: DRAWS.map((draw) => ({
      draw,
      accuracy_diff: acc.mean,
      macro_f1_diff: acc.mean / 2,
      mcnemar_b: 2,
      mcnemar_c: 3,
      mcnemar_p: draw < mcnemarHits ? 0.03 : 0.7,
    })),
    draws: DRAWS.length,
    mean_accuracy_diff: acc.mean,
    sd_accuracy_diff: 0.04,
    accuracy_diff_ci95_draws: acc.t,
    accuracy_diff_ci95_bootstrap: [acc.t[0] - 0.005, acc.t[1] + 0.004],
    p_wilcoxon: acc.holm / 4,
    p_holm: acc.holm,
    mde80_accuracy: 0.061 + (acc.holm > 0.05 ? 0.01 : 0),
    mean_macro_f1_diff: acc.mean / 2,
    sd_macro_f1_diff: 0.05,
    // macro-F1 never passes: its interval always includes 0.
    macro_f1_diff_ci95_draws: [-0.002, acc.mean],
    macro_f1_diff_ci95_bootstrap: [-0.004, acc.mean + 0.01],
    p_wilcoxon_macro_f1: 0.0625,
    p_holm_macro_f1: 0.25,
    mde80_macro_f1: 0.08,
  };
}

/** Added-image records: 3 per group, light < medium < heavy in change and in 1 - SSIM. */
export function stylizedRecords(): StylizedRecord[] {
  const out: StylizedRecord[] = [];
  const table = {
    copy: { change: [0.5, 1, 1.5], ssim: [0.99, 0.98, 0.97] },
    light: { change: [10, 12, 14], ssim: [0.9, 0.8, 0.7] },
    medium: { change: [20, 22, 24], ssim: [0.6, 0.5, 0.4] },
    heavy: { change: [30, 33, 36], ssim: [0.3, 0.2, 0.1] },
  } as const;
  for (
    const [style, v] of Object.entries(table) as [StylizedRecord["style"], typeof table.copy][]
  ) {
    v.change.forEach((change, i) => {
      const copy = style === "copy";
      out.push({
        image: `crab/image_000${i}.jpg`,
        style,
        ratio: copy ? null : { light: 1000, medium: 100, heavy: 10 }[style],
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

/** The synthetic schema-2 results object: 6 draws, 5 groups × 2 augmentation settings, 2 classifiers. */
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
  ];
  return {
    config: { draws: 6, seed: 1, classifiers: ["transfer", "cnn"] },
    environment: { backend: "wasm", deno: Deno.version.deno },
    runs,
    comparisons,
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

Deno.test("results.csv has one row per draw, configuration, classifier and class, with the named columns", () => {
  const input = fixture();
  const rows = parseCsv(resultsCsv(input.runs));
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  assert.deepEqual(rows[0].slice(0, 9), [
    "draw",
    "style",
    "static_augmentation",
    "classifier",
    "class",
    "precision",
    "recall",
    "f1",
    "precision_defined",
  ]);
  assert.ok(rows[0].includes("accuracy") && rows[0].includes("macro_f1"));
  const body = rows.slice(1);
  assert.equal(body.length, DRAWS.length * 2 * 10 * 3);
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
  assert.ok(Math.abs(Number(row[col("recall")]) - run.per_class.crab.recall) < 1e-6);
  assert.ok(Math.abs(Number(row[col("precision")]) - run.per_class.crab.precision) < 1e-6);
  assert.ok(Math.abs(Number(row[col("accuracy")]) - run.accuracy) < 1e-6);
  assert.ok(Math.abs(Number(row[col("macro_f1")]) - run.macro_f1) < 1e-6);
  assert.equal(row[col("support")], "20");
  // The never-predicted class: precision empty, flagged undefined.
  const undef = body.find((r) =>
    r[0] === "1" && r[1] === "none" && r[2] === "false" && r[3] === "cnn" && r[4] === "scorpion"
  )!;
  assert.equal(undef[col("precision")], "");
  assert.equal(undef[col("precision_defined")], "false");
  assert.equal(undef[col("recall")], "0");
  // Report order: draw first, then transfer before cnn, then none, copy, light, medium, heavy.
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

Deno.test("summarize gives mean ± sample SD over draws per configuration, in group order, precision only where defined", () => {
  const s = summarize(fixture().runs);
  assert.equal(s.length, 20);
  assert.deepEqual(s.slice(0, 10).map((x) => `${x.classifier}:${x.label}`), [
    "transfer:none",
    "transfer:none + aug",
    "transfer:copy",
    "transfer:copy + aug",
    "transfer:light",
    "transfer:light + aug",
    "transfer:medium",
    "transfer:medium + aug",
    "transfer:heavy",
    "transfer:heavy + aug",
  ]);
  for (const x of s) assert.deepEqual(x.draws, DRAWS);
  const ctl = s.find((x) => x.classifier === "cnn" && x.label === "none")!;
  assert.equal(ctl.per_class.scorpion.precision.n, 5);
  assert.equal(ctl.per_class.scorpion.recall.n, 6);
  assert.deepEqual(meanStd([2, 4, 6]), { mean: 4, std: 2, n: 3 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0, n: 1 });
});

Deno.test("summarizeStylized and strengthOrder: hand-computed means and sds, ordering detected", () => {
  const g = summarizeStylized(stylizedRecords());
  assert.deepEqual(g.map((x) => x.style), ["copy", "light", "medium", "heavy"]);
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
  assert.equal(g[0].style_loss_ratio.n, 0, "copy has no style loss");
  close(g[3].mean_abs_change.std, 3);
  const [change, ssim] = strengthOrder(g);
  assert.ok(change.ordered && ssim.ordered);
  close(ssim.means.heavy, 0.8);
  // Means in order but within noise: not measurably ordered.
  const noisy = stylizedRecords().map((r) =>
    r.style === "medium" ? { ...r, mean_abs_change: r.mean_abs_change - 7 } : r
  );
  assert.equal(strengthOrder(summarizeStylized(noisy))[0].ordered, false);
  assert.equal(strengthOrder(summarizeStylized([]))[0].complete, false);
});

Deno.test("decide applies the rule: t-interval excludes 0 AND Holm p < 0.05", () => {
  const [pass, holmFails, ciFails, , lower] = fixture().comparisons;
  assert.equal(decide(pass), "higher");
  assert.equal(decide(holmFails), null);
  assert.equal(decide(ciFails), null);
  assert.equal(decide(lower), "lower");
  assert.equal(decide(pass, "macro_f1"), null);
  assert.equal(decide({ ...pass, accuracy_diff_ci95_draws: null }), null);
  assert.match(readComparison(holmFails), /no evidence of an effect.*Holm p 0\.090 ≥ 0\.05/);
  assert.match(readComparison(ciFails), /t-interval includes 0/);
  assert.match(readComparison(pass), /^differs: higher than baseline none/);
});

Deno.test("writeReport writes csv, md and html with Read this first, both baseline tables and valid SVG charts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    const input = fixture();
    // Two real images and one missing file for the grid.
    const img = join(dir, "examples", "crab_original.png");
    await Deno.mkdir(join(dir, "examples"), { recursive: true });
    await Deno.writeFile(img, new Uint8Array([137, 80, 78, 71]));
    await Deno.writeFile(
      join(dir, "examples", "crab heavy.png"),
      new Uint8Array([137, 80, 78, 71]),
    );
    input.imageGrid = [{
      label: "crab/image_0001.jpg",
      cells: [
        { caption: "original", path: img },
        { caption: "heavy", path: join(dir, "examples", "crab heavy.png") },
        { caption: "augmented", path: join(dir, "examples", "nope.png") },
      ],
    }];
    const out = join(dir, "out");
    const files = await writeReport(input, out);
    const allCharts = [
      "charts/comparison.svg",
      "charts/losses.svg",
      "charts/precision.svg",
      "charts/recall.svg",
      "charts/stylized.svg",
    ];
    assert.deepEqual(files.charts.map((f) => f.slice(out.length + 1)).sort(), allCharts);
    for (const f of files.charts) {
      const svg = await Deno.readTextFile(f);
      assertWellFormedSvg(svg, f);
      assert.ok(svg.length > 2000, `${f} is suspiciously small`);
    }
    const precisionSvg = await Deno.readTextFile(join(out, "charts", "precision.svg"));
    for (const c of CLASSES) assert.ok(precisionSvg.includes(c), `precision.svg lacks ${c}`);
    const comparisonSvg = await Deno.readTextFile(join(out, "charts", "comparison.svg"));
    assert.ok(comparisonSvg.includes("baseline none") && comparisonSvg.includes("baseline copy"));
    const stylizedSvg = await Deno.readTextFile(join(out, "charts", "stylized.svg"));
    for (const g of ["copy", "light", "medium", "heavy", "SSIM"]) {
      assert.ok(stylizedSvg.includes(g), `stylized.svg lacks ${g}`);
    }

    assert.equal(await Deno.readTextFile(files.csv), resultsCsv(input.runs));
    const md = await Deno.readTextFile(files.markdown);

    // Read this first: the caller's warning, the rule, the passing comparisons; no error or ordering warning.
    const first = readFirst(md);
    assert.equal(first[0], "Warning: the style image was replaced by a fallback");
    assert.ok(!first.some((l) => /^Error/.test(l)), "no record is identical");
    assert.ok(!first.some((l) => /not measurably ordered/.test(l)), "the groups are ordered");
    assert.ok(!first.some((l) => /cannot be below/.test(l)), "6 draws can reach p < 0.05");
    assert.ok(first.includes(
      "Decision rule: a configuration differs from a baseline only when the draw-level 95% t-interval of the mean difference excludes 0 AND the Holm-adjusted Wilcoxon p < 0.05.",
    ));
    const accPass = first.find((l) => l.startsWith("Passing the rule (accuracy)"))!;
    assert.match(
      accPass,
      /transfer heavy \+ aug vs none, higher \(\+0\.050, t-interval \[\+0\.010, \+0\.090\], Holm p 0\.020\)/,
    );
    assert.match(accPass, /cnn heavy vs copy, lower/);
    assert.match(accPass, /\(2 of 5 comparisons\)/);
    assert.doesNotMatch(
      accPass,
      /transfer copy vs none|cnn light vs none|transfer heavy \+ aug vs copy/,
    );
    const f1Pass = first.find((l) => l.startsWith("Passing the rule (macro-F1)"))!;
    assert.match(
      f1Pass,
      /none of 5 comparisons; no evidence of an effect at this sample size \(not evidence of no effect\)/,
    );

    // What was run.
    assert.match(
      md,
      /Sampling: 6 random training draws of 10 images per class; draws may share images/,
    );
    assert.match(
      md,
      /120 trained classifiers: 20 configurations × 6 training draws \(0, 1, 2, 3, 4, 5\)/,
    );

    // Stylized characterisation table, hand-computed: light change 12 ± 2, SSIM 0.8 ± 0.1, ...
    const sty = section(md, "## Stylized training images");
    assert.ok(sty.includes(
      "| group | added images | content:style ratio | steps | mean \\|change\\| | SSIM | style loss ratio | best step | final content loss | identical to original |",
    ));
    assert.ok(sty.includes(
      "| light | 3 | 1000 | 300 | 12.00 ± 2.00 | 0.800 ± 0.100 | 0.400 ± 0.100 | 150.0 ± 50.0 | 2000 ± 1000 | 0 of 3 |",
    ));
    assert.ok(sty.includes(
      "| copy | 3 | n/a | 0 | 1.00 ± 0.50 | 0.980 ± 0.010 | n/a | n/a | n/a | 0 of 3 |",
    ));
    assert.ok(
      sty.some((l) => l.startsWith("| heavy | 3 | 10 | 300 | 33.00 ± 3.00 | 0.200 ± 0.100 |")),
    );
    assert.ok(sty.some((l) => l.startsWith("![Mean \\|change\\| and SSIM")));

    // Every chart the Markdown references exists.
    const refs = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => decodeURIComponent(m[1]));
    assert.deepEqual(refs.filter((r) => r.startsWith("charts/")).sort(), allCharts);
    for (const r of refs) assert.ok(await exists(join(out, r)), `md references missing ${r}`);
    assert.ok(refs.includes("../examples/crab_original.png"));
    assert.ok(refs.includes("../examples/crab heavy.png"));
    assert.match(md, /\(missing: .*nope\.png\)/);

    // Per-configuration tables over draws, in group order.
    const acc = section(md, "## Accuracy and macro-F1 per configuration");
    assert.ok(acc.includes(
      "| classifier | configuration | draws | training images (with augmentation copies) | accuracy | macro-F1 |",
    ));
    const s = summarize(input.runs).find((x) =>
      x.classifier === "transfer" && x.label === "heavy + aug"
    )!;
    const accRow = acc.find((l) => l.startsWith("| transfer | heavy + aug | 6 | 300 |"))!;
    assert.ok(accRow, "no accuracy row for transfer heavy + aug");
    assert.ok(accRow.includes(`${s.accuracy.mean.toFixed(3)} ± ${s.accuracy.std.toFixed(3)}`));
    assert.deepEqual(
      acc.filter((l) => l.startsWith("| transfer |")).map((l) => l.split(" | ")[1]),
      STYLE_GROUPS.flatMap((g) => [g, `${g} + aug`]),
    );
    assert.match(md, /\| cnn \| none \| 6 \| .*\(5\/6\)/); // precision defined in 5 of 6 draws

    // One table per baseline (accuracy, then macro-F1), none before copy.
    const none = section(md, "### Against baseline none");
    const copy = section(md, "### Against baseline copy");
    assert.ok(md.indexOf("### Against baseline none") < md.indexOf("### Against baseline copy"));
    const head =
      "| classifier | configuration | baseline run | draws | Δ accuracy | t-interval (draws) | bootstrap interval | Wilcoxon p | Holm p | MDE80 | McNemar p<0.05 | verdict |";
    assert.ok(none.includes(head) && copy.includes(head));
    assert.ok(
      none.some((l) => l.startsWith("| classifier | configuration | draws | Δ macro-F1 |")),
    );
    assert.ok(none.includes(
      "| transfer | heavy + aug | none | 6 | +0.050 | [+0.010, +0.090] | [+0.005, +0.094] | 0.005 | 0.020 | 0.061 | 2 of 6 draws | differs: higher than baseline none (t-interval excludes 0, Holm p 0.020 < 0.05) |",
    ));
    const holmRow = none.find((l) => l.startsWith("| transfer | copy | none | 6 | +0.030 |"))!;
    assert.match(
      holmRow,
      /no evidence of an effect at this sample size \(not evidence of no effect\): Holm p 0\.090 ≥ 0\.05 \|$/,
    );
    const ciRow = none.find((l) => l.startsWith("| cnn | light | none | 6 |"))!;
    assert.match(ciRow, /no evidence of an effect.*: t-interval includes 0 \|$/);
    assert.ok(
      copy.some((l) => l.startsWith("| transfer | heavy + aug | copy + aug | 6 | +0.030 |")),
    );
    assert.ok(
      copy.some((l) =>
        l.startsWith("| cnn | heavy | copy | 6 | -0.050 |") && l.includes("differs: lower")
      ),
    );
    assert.ok(
      !copy.some((l) => l.includes("| none | 6 |")),
      "a none-baseline row in the copy table",
    );
    assert.match(md, /could detect with 80% power .* is 0\.061 to 0\.071 over the 5 comparisons/);

    // Caveats.
    const cav = section(md, "## Caveats").join("\n");
    assert.match(cav, /analysis unit is the training draw/);
    assert.match(cav, /Holm's adjustment runs over all 5 comparisons/);
    assert.match(cav, /copy baseline separates "more images" from "style"/);
    assert.match(
      cav,
      /same ImageNet-pretrained VGG19 that the style loss uses.*crab- and scorpion-like.*not the plan's classifier/,
    );
    assert.match(cav, /CNN trained from scratch is the plan's own classifier/);
    assert.doesNotMatch(md, /significant(ly)? improve|proves?/i);
    assert.match(md, /## Configuration\n\n```json\n\{\n {2}"draws": 6/);

    const html = await Deno.readTextFile(files.html);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal((html.match(/<svg[\s>]/g) ?? []).length, 5, "html inlines the five charts");
    assert.ok(html.includes('<img src="../examples/crab_original.png"'));
    assert.ok(html.includes('<img src="../examples/crab%20heavy.png"'));
    assert.ok(html.includes("<th>Δ accuracy</th>"));
    assert.match(
      html,
      /<h1>[^<]*<\/h1>\n<h2>Read this first<\/h2>\n<ul>\n<li>Warning: the style image/,
    );
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
    assert.ok(numbers(mdText).length > 200);
    assert.deepEqual(numbers(htmlText), numbers(mdText));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Read this first: an identical stylized copy is an error, unordered groups a warning", async () => {
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
  const first = readFirst(md).slice(1);
  assert.equal(readFirst(md)[0], "Error: the caller's own label is kept");
  assert.match(
    first[0],
    /^Error: stylized training images are pixel-identical to their originals \(heavy: 1 of 3\)/,
  );
  const order = first.filter((l) => /not measurably ordered/.test(l));
  assert.equal(order.length, 1, "only mean |change| is out of order");
  assert.match(
    order[0],
    /^Warning: .* light < medium < heavy in mean \|change\| \(0-255\) \(light 12\.00, medium 12\.00, heavy 33\.00/,
  );
  assert.ok(
    first.includes("No comparisons were computed, so the report makes no claim about effects."),
  );
  assert.match(
    section(md, "## Stylized training images").join("\n"),
    /\| heavy \| 3 \| .* \| 1 of 3 \|/,
  );
  assert.match(md, /\| copy \| 4 \| .* \| 1 of 4 \|/);
});

Deno.test("writeReport without comparisons, records, losses or images says so and draws only what it has", async () => {
  const input = fixture();
  const { files, md } = await report({
    ...input,
    comparisons: [],
    stylized: undefined,
    warnings: undefined,
    sampling: undefined,
    lossHistories: [],
    imageGrid: [],
  });
  assert.deepEqual(files, ["charts/precision.svg", "charts/recall.svg"]);
  const first = readFirst(md);
  assert.match(first[0], /no stylized-image records were given/);
  assert.match(md, /No comparisons were computed/);
  assert.match(md, /makes no claim about effects/);
  assert.match(md, /No records of the added training images were given/);
  assert.doesNotMatch(md, /Training examples|Stylization loss|Sampling:/);
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
    mde80_accuracy: 0.12,
  });
  const { md } = await report({
    ...input,
    runs: input.runs.filter((r) => draws.includes(r.draw)),
    comparisons: input.comparisons.map(c4),
    sampling: { mode: "subsets", count: 5, train_per_class: 10 },
    warnings: [],
  });
  const first = readFirst(md);
  assert.equal(first[0], "Warning: 5 subsets were planned but the results hold 4.");
  assert.ok(
    first.some((l) =>
      l.startsWith("With 4 draws the exact two-sided Wilcoxon p cannot be below 2/2^4 = 0.125") &&
      l.includes("at least 6 draws")
    ),
  );
  assert.ok(first.includes(
    "Passing the rule (accuracy): none of 5 comparisons; no evidence of an effect at this sample size (not evidence of no effect). The run could detect accuracy differences of about 0.120 at 80% power.",
  ));
  assert.match(md, /Sampling: 5 disjoint training subsets of 10 images per class/);
  assert.match(md, /the subsets are disjoint, but all come from one pool/);
});

Deno.test("comparisonSpec and stylizedSpec render, with and without a t-interval", async () => {
  const [c] = fixture().comparisons;
  const svg = await renderSvg(comparisonSpec([c, { ...c, accuracy_diff_ci95_draws: null }]));
  assertWellFormedSvg(svg, "comparison");
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

Deno.test("a comparison identical to its baseline in every draw is named, and left out of the MDE range", async () => {
  const input = fixture();
  const c4 = (c: Comparison): Comparison => ({
    ...c,
    per_draw: c.per_draw.slice(0, 4),
    draws: 4,
    p_wilcoxon: 0.125,
    p_holm: 0.5,
    mde80_accuracy: 0.12,
  });
  const base = input.comparisons.map(c4);
  const identical: Comparison = {
    ...base[0],
    per_draw: base[0].per_draw.map((d) => ({
      ...d,
      accuracy_diff: 0,
      macro_f1_diff: 0,
      mcnemar_b: 0,
      mcnemar_c: 0,
      mcnemar_p: 1,
    })),
    mean_accuracy_diff: 0,
    sd_accuracy_diff: 0,
    accuracy_diff_ci95_draws: [0, 0],
    p_wilcoxon: 1,
    p_holm: 1,
    mde80_accuracy: 0,
  };
  const { md } = await report({
    ...input,
    comparisons: [identical, ...base.slice(1)],
    warnings: [],
  });
  const first = readFirst(md);
  assert.ok(
    first.some((l) =>
      l.startsWith("1 comparison(s) predict every test image exactly as their baseline")
    ),
    first.join("\n"),
  );
  const range = first.find((l) => l.startsWith("Passing the rule (accuracy)"))!;
  assert.match(
    range,
    /about 0\.120 at 80% power/,
    "the 0 of the identical comparison entered the range",
  );
});
