import assert from "node:assert/strict";
import { join } from "node:path";
import { CSV_COLUMNS, csvField, resultsCsv } from "../../src/report/csv.ts";
import { renderSvg } from "../../src/report/charts.ts";
import { fmt, type ReportInput, signed, writeReport } from "../../src/report/report.ts";
import { meanStd, summarize } from "../../src/report/summary.ts";
import type { ClassifierKind, Comparison, RunResult, StyleGroup } from "../../src/study/types.ts";
import { exists } from "../../src/util/fs.ts";
/** Class names of the fixture. */
export const CLASSES = ["butterfly", "crab", "scorpion"];

/** A run whose metrics are computed from `confusion` (rows true, columns predicted). */
export function runFrom(
  subset: number,
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
    subset,
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

/** The synthetic results object. */
export function fixture(): ReportInput {
  const runs: RunResult[] = [];
  for (const subset of [0, 1]) {
    for (const classifier of ["transfer", "cnn"] as const) {
      for (const style of ["none", "heavy"] as const) {
        for (const aug of [false, true]) {
          const bonus = (style === "heavy" ? 2 : 0) + (aug ? 1 : 0) + subset;
          // The cnn control never predicts scorpion in subset 1: precision undefined there.
          const confusion = classifier === "cnn" && style === "none" && !aug && subset === 1
            ? [[12, 8, 0], [6, 14, 0], [9, 11, 0]]
            : [[12 + bonus, 5 - Math.min(bonus, 4), 3], [4, 13, 3], [2, 4, 14]];
          runs.push(runFrom(subset, style, aug, classifier, confusion));
        }
      }
    }
  }
  const comparisons: Comparison[] = [];
  for (const classifier of ["transfer", "cnn"] as const) {
    for (const [style, aug] of [["none", true], ["heavy", false], ["heavy", true]] as const) {
      const strong = style === "heavy" && aug && classifier === "transfer";
      comparisons.push({
        style,
        static_augmentation: aug,
        classifier,
        per_subset: [0, 1].map((subset) => ({
          subset,
          accuracy_diff: strong ? 0.05 : 0.01,
          macro_f1_diff: strong ? 0.04 : 0.005,
          mcnemar_b: 2,
          mcnemar_c: strong ? 9 : 3,
          mcnemar_p: strong ? 0.0654 : 1,
        })),
        mean_accuracy_diff: strong ? 0.05 : 0.01,
        mean_macro_f1_diff: strong ? 0.04 : 0.005,
        accuracy_diff_ci95: strong ? [0.01, 0.09] : [-0.04, 0.06],
        macro_f1_diff_ci95: strong ? [-0.002, 0.08] : [-0.05, 0.06],
      });
    }
  }
  return {
    config: { subsets: 2, seed: 1, classifiers: ["transfer", "cnn"] },
    environment: { backend: "wasm", deno: Deno.version.deno },
    runs,
    comparisons,
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

Deno.test("results.csv has one row per subset, configuration, classifier and class, with the named columns", () => {
  const input = fixture();
  const rows = parseCsv(resultsCsv(input.runs));
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  assert.deepEqual(rows[0].slice(0, 9), [
    "subset",
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
  assert.equal(body.length, 16 * 3);
  const col = (name: string) => CSV_COLUMNS.indexOf(name);
  const keys = new Set(body.map((r) => [0, 1, 2, 3, 4].map((i) => r[i]).join("|")));
  assert.equal(keys.size, body.length, "duplicate (subset, style, aug, classifier, class) rows");
  for (const r of body) assert.equal(r.length, CSV_COLUMNS.length);
  // A known row: subset 0, transfer, heavy + aug, crab.
  const run = input.runs.find((r) =>
    r.subset === 0 && r.classifier === "transfer" && r.style === "heavy" && r.static_augmentation
  )!;
  const row = body.find((r) =>
    r[0] === "0" && r[1] === "heavy" && r[2] === "true" && r[3] === "transfer" && r[4] === "crab"
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
  // Report order: subset first, then transfer before cnn, none before heavy.
  assert.deepEqual(body.slice(0, 3).map((r) => r.slice(0, 5).join("|")), [
    "0|none|false|transfer|butterfly",
    "0|none|false|transfer|crab",
    "0|none|false|transfer|scorpion",
  ]);
});

Deno.test("csvField quotes commas, quotes and line breaks", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField("x\ny"), '"x\ny"');
  assert.equal(csvField(NaN), "");
  assert.equal(csvField(1 / 3), "0.333333");
});

Deno.test("summarize gives mean ± sample SD per configuration and averages precision only where defined", () => {
  const s = summarize(fixture().runs);
  assert.equal(s.length, 8);
  assert.deepEqual(s.slice(0, 4).map((x) => `${x.classifier}:${x.label}`), [
    "transfer:none",
    "transfer:none + aug",
    "transfer:heavy",
    "transfer:heavy + aug",
  ]);
  const ctl = s.find((x) => x.classifier === "cnn" && x.label === "none")!;
  assert.equal(ctl.per_class.scorpion.precision.n, 1);
  assert.equal(ctl.per_class.scorpion.recall.n, 2);
  assert.deepEqual(meanStd([2, 4, 6]), { mean: 4, std: 2, n: 3 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0, n: 1 });
});

Deno.test("writeReport writes csv, md and html with the tables, valid SVG charts and honest wording", async () => {
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
    assert.deepEqual(files.charts.map((f) => f.slice(out.length + 1)).sort(), [
      "charts/comparison.svg",
      "charts/losses.svg",
      "charts/precision.svg",
      "charts/recall.svg",
    ]);
    for (const f of files.charts) {
      const svg = await Deno.readTextFile(f);
      assertWellFormedSvg(svg, f);
      assert.ok(svg.length > 2000, `${f} is suspiciously small`);
    }
    // The precision chart draws the classes it was given.
    const precisionSvg = await Deno.readTextFile(join(out, "charts", "precision.svg"));
    for (const c of CLASSES) assert.ok(precisionSvg.includes(c), `precision.svg lacks ${c}`);

    assert.equal(await Deno.readTextFile(files.csv), resultsCsv(input.runs));
    const md = await Deno.readTextFile(files.markdown);
    // Every chart the Markdown references exists.
    const refs = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => decodeURIComponent(m[1]));
    const chartRefs = refs.filter((r) => r.startsWith("charts/"));
    assert.deepEqual(chartRefs.sort(), [
      "charts/comparison.svg",
      "charts/losses.svg",
      "charts/precision.svg",
      "charts/recall.svg",
    ]);
    for (const r of refs) assert.ok(await exists(join(out, r)), `md references missing ${r}`);
    assert.ok(refs.includes("../examples/crab_original.png"));
    assert.ok(refs.includes("../examples/crab heavy.png"));
    assert.match(md, /\(missing: .*nope\.png\)/);
    // The tables: header rows and one row per configuration.
    assert.match(
      md,
      /\| classifier \| configuration \| subsets \| training images \(with augmentation copies\) \| accuracy \| macro-F1 \|/,
    );
    assert.match(
      md,
      /\| classifier \| configuration \| butterfly precision \| butterfly recall \| crab precision/,
    );
    const accRow = md.split("\n").find((l) => l.startsWith("| transfer | heavy + aug | 2 |"))!;
    assert.ok(accRow, "no accuracy row for transfer heavy + aug");
    const s = summarize(input.runs).find((x) =>
      x.classifier === "transfer" && x.label === "heavy + aug"
    )!;
    assert.ok(accRow.includes(`${s.accuracy.mean.toFixed(3)} ± ${s.accuracy.std.toFixed(3)}`));
    assert.match(md, /\| cnn \| none \| .*\(1\/2\)/); // precision defined in 1 of 2 subsets
    // The comparison table and its readings.
    assert.match(
      md,
      /\| classifier \| configuration \| Δ accuracy \| 95% CI \| Δ macro-F1 \| 95% CI \| McNemar/,
    );
    const strong = md.split("\n").find((l) => l.startsWith("| transfer | heavy + aug | +0.050 |"))!;
    assert.ok(strong, "no comparison row for transfer heavy + aug");
    assert.match(strong, /\[\+0\.010, \+0\.090\]/);
    assert.match(strong, /accuracy higher than the control.s on these test images .*excludes 0/);
    assert.match(strong, /macro-F1 95% CI \[-0\.002, \+0\.080\] includes 0/);
    assert.match(strong, /s0: 2, 9, p=0\.065/);
    const weak = md.split("\n").find((l) => l.startsWith("| cnn | none + aug | +0.010 |"))!;
    assert.match(weak, /includes 0.*no evidence of an effect at this sample size/);
    assert.match(
      md,
      /In 1 of 6 comparisons the 95% interval of the accuracy difference excludes 0: transfer heavy \+ aug \(higher\)/,
    );
    assert.match(md, /With 6 unadjusted 95% intervals, about 0\.3 would exclude 0 by chance alone/);
    assert.match(md, /McNemar: 0 of 12 per-subset tests have p < 0\.05/);
    assert.doesNotMatch(md, /significant(ly)? improve|proves?/i);
    assert.match(md, /## Configuration\n\n```json\n\{\n {2}"subsets": 2/);

    const html = await Deno.readTextFile(files.html);
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal((html.match(/<svg[\s>]/g) ?? []).length, 4, "html inlines the four charts");
    assert.ok(html.includes('<img src="../examples/crab_original.png"'));
    assert.ok(html.includes('<img src="../examples/crab%20heavy.png"'));
    assert.ok(html.includes("<th>Δ accuracy</th>"));
    assert.ok(
      !/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/xmlns(:\w+)?="[^"]*"/g, "")),
      "html loads something from the network",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeReport without comparisons, losses or images says so and draws only what it has", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    const input = fixture();
    const files = await writeReport(
      { ...input, comparisons: [], lossHistories: [], imageGrid: [] },
      dir,
    );
    assert.deepEqual(files.charts.map((f) => f.slice(dir.length + 1)).sort(), [
      "charts/precision.svg",
      "charts/recall.svg",
    ]);
    const md = await Deno.readTextFile(files.markdown);
    assert.match(md, /No comparisons were computed/);
    assert.match(md, /makes no claim about effects/);
    assert.doesNotMatch(md, /Training examples|Stylization loss/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
