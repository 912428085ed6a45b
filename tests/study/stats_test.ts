import assert from "node:assert/strict";
import {
  compareConfigurations,
  discordantPairs,
  holm,
  labelsFromPaths,
  mcnemarExact,
  mde80,
  normalCdf,
  type PairedDraw,
  quantileSorted,
  tCdf,
  tInterval95,
  tQuantile,
  twoLevelBootstrap,
  twoLevelBootstrapSums,
  wilcoxonSignedRank,
  wilcoxonSignedRankTest,
} from "../../src/study/stats.ts";
import { computeMetrics } from "../../src/study/metrics.ts";
import { scoreEvaluation } from "../../src/study/endpoints.ts";
import type {
  ClassifierKind,
  EvalCondition,
  RunResult,
  StyleGroup,
} from "../../src/report/schema.ts";
import { ENDPOINTS } from "../../src/report/schema.ts";
import { UserError } from "../../src/util/errors.ts";
import { hash32, mulberry32, randomInt } from "../../src/util/random.ts";

function close(actual: number, expected: number, tol: number, what = ""): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what} ${actual} vs ${expected} (tol ${tol})`,
  );
}

// Expected p values: exact rationals with Python's math.comb and fractions.Fraction.
Deno.test("McNemar exact p against independently computed values", () => {
  assert.equal(mcnemarExact(1, 9), 0.021484375);
  assert.equal(mcnemarExact(9, 1), 0.021484375);
  assert.equal(mcnemarExact(0, 5), 0.0625);
  assert.equal(mcnemarExact(4, 4), 1);
  assert.equal(mcnemarExact(0, 0), 1);
  assert.equal(mcnemarExact(0, 1), 1);
  assert.equal(mcnemarExact(3, 5), 0.7265625);
  assert.equal(mcnemarExact(2, 10), 0.03857421875);
  const rel = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-14 * b, `${a} vs ${b}`);
  rel(mcnemarExact(7, 20), 0.0191572904586792);
  rel(mcnemarExact(40, 160), 3.3840159775152892e-18);
  rel(mcnemarExact(500, 600), 0.0028195449914364275);
  // Beyond 2^1024: the scaling must avoid overflow.
  rel(mcnemarExact(1500, 1600), 0.07537169707532781);
  assert.equal(mcnemarExact(0, 1100), 0); // 2^-1099 underflows a double
});

Deno.test("discordant pairs count control-right/config-wrong as b", () => {
  const truth = [0, 0, 1, 1, 2, 2];
  const control = [0, 1, 1, 0, 2, 0];
  const config = [1, 0, 1, 1, 0, 0];
  // i=0: ctl right, cfg wrong -> b; i=1: c; i=2 both right; i=3: c; i=4: b; i=5 both wrong.
  assert.deepEqual(discordantPairs(truth, control, config), { b: 2, c: 2 });
  assert.throws(() => discordantPairs([0], [0, 1], [0]), /lengths differ/);
});

Deno.test("quantileSorted interpolates like R type 7", () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([10], 0.975), 10);
  assert.equal(quantileSorted([0, 10, 20, 30, 40], 0.025), 1);
});

// Reference quantiles: textbook tables to the digits shown, and SciPy 1.17 / mpmath (30 digits)
// beyond. Note t_{0.8,9} = 0.8834038597 (mpmath); 0.88302791 sometimes quoted is wrong.
Deno.test("tQuantile matches textbook and mpmath values to 1e-9", () => {
  const cases: [number, number, number][] = [
    [0.975, 1, 12.706204736174694],
    [0.975, 2, 4.302652729749462],
    [0.975, 9, 2.2621571627982055],
    [0.975, 29, 2.045229642132703],
    [0.8, 9, 0.8834038596855345],
    [0.9995, 1, 636.6192487687897],
    [0.6, 3, 0.2766706623326898],
    [0.999, 100, 3.173739493738783],
  ];
  for (const [p, df, t] of cases) {
    close(tQuantile(p, df), t, 1e-9 * Math.max(1, t), `t_{${p},${df}}`);
    close(tQuantile(1 - p, df), -t, 1e-9 * Math.max(1, t), `t_{${1 - p},${df}}`);
  }
  assert.equal(tQuantile(0.5, 4), 0);
  // Large df approaches the normal quantile 1.959963984540054.
  close(tQuantile(0.975, 1e6), 1.9599663569829, 1e-9);
  assert.throws(() => tQuantile(1, 3), /outside/);
  assert.throws(() => tQuantile(0.5, 0), /df/);
});

Deno.test("tCdf matches closed forms and SciPy, and inverts tQuantile", () => {
  close(tCdf(1, 1), 0.75, 1e-14); // Cauchy: 1/2 + atan(1)/pi
  close(tCdf(3, 2), 0.5 + 3 / (2 * Math.sqrt(2 + 9)), 1e-14); // df 2: 1/2 + t / (2 sqrt(2 + t^2))
  close(tCdf(2, 5), 0.9490302605850708, 1e-13);
  close(tCdf(-1.5, 3), 0.11529193262241147, 1e-13);
  close(tCdf(0.5, 30), 0.6896384975574363, 1e-13);
  assert.equal(tCdf(0, 7), 0.5);
  for (const df of [1, 2, 5, 9, 29, 200]) {
    for (const p of [0.001, 0.2, 0.8, 0.975]) close(tCdf(tQuantile(p, df), df), p, 1e-12);
  }
});

Deno.test("normalCdf matches known values in the body and the tails", () => {
  close(normalCdf(1.959963984540054), 0.975, 1e-15);
  close(normalCdf(0), 0.5, 0);
  close(normalCdf(-1), 0.15865525393145707, 1e-15);
  // Phi(-8) = 6.22096057427178e-16: relative, not absolute, accuracy in the tail.
  const tail = normalCdf(-8);
  assert.ok(Math.abs(tail / 6.22096057427178e-16 - 1) < 1e-10, `${tail}`);
});

Deno.test("tInterval95: hand-computed mean, sd and interval; null for one value", () => {
  const r = tInterval95([1, 2, 3, 4]);
  assert.equal(r.mean, 2.5);
  close(r.sd!, Math.sqrt(5 / 3), 1e-14);
  // t_{0.975,3} = 3.182446305284263; half-width = 3.182446305284263 * sqrt(5/3) / 2.
  const half = (3.182446305284263 * Math.sqrt(5 / 3)) / 2;
  close(r.ci95![0], 2.5 - half, 1e-9);
  close(r.ci95![1], 2.5 + half, 1e-9);
  assert.deepEqual(tInterval95([0.3]), { mean: 0.3, sd: null, ci95: null });
  assert.deepEqual(tInterval95([0.1, 0.1]), { mean: 0.1, sd: 0, ci95: [0.1, 0.1] });
  assert.throws(() => tInterval95([]), /no values/);
});

/** Independent Wilcoxon: ranks by counting, then all 2^n sign patterns (exact ties only). */
function bruteWilcoxon(diffs: number[]): number {
  const d = diffs.filter((x) => x !== 0);
  const n = d.length;
  if (n === 0) return 1;
  const a = d.map(Math.abs);
  const ranks = a.map((v) =>
    a.filter((u) => u < v).length + (a.filter((u) => u === v).length + 1) / 2
  );
  const v = ranks.reduce((s, r, i) => s + (d[i] > 0 ? r : 0), 0);
  let le = 0, ge = 0;
  for (let mask = 0; mask < 1 << n; mask++) {
    let s = 0;
    for (let i = 0; i < n; i++) if (mask & (1 << i)) s += ranks[i];
    if (s <= v + 1e-9) le++;
    if (s >= v - 1e-9) ge++;
  }
  return Math.min(1, (2 * Math.min(le, ge)) / 2 ** n);
}

Deno.test("Wilcoxon signed-rank: hand-computed and R values", () => {
  // n = 5, all positive: V = 15 is the unique maximum, p = 2 / 32.
  assert.deepEqual(wilcoxonSignedRankTest([0.02, 0.01, 0.03, 0.04, 0.05]), {
    statistic: 15,
    nonzero: 5,
    exact: true,
    p: 0.0625,
  });
  assert.equal(wilcoxonSignedRank([-1, -2, -3, -4, -5]), 0.0625);
  // R: wilcox.test(x - y) on its paired example: V = 40, p-value = 0.03906 (= 20/512).
  const x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
  const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
  const r = wilcoxonSignedRankTest(x.map((v, i) => v - y[i]));
  assert.equal(r.statistic, 40);
  assert.equal(r.p, 0.0390625);
  // Zeros dropped; all zeros gives 1.
  assert.equal(wilcoxonSignedRank([0, 0, 0]), 1);
  assert.equal(wilcoxonSignedRank([]), 1);
  assert.equal(wilcoxonSignedRankTest([0, 1, 2, 0]).nonzero, 2);
  // 4 draws with ties: |d| = 1, 3, 4, 4 -> ranks 1, 2, 3.5, 3.5; V = 8 of 10; doubled-rank sums
  // >= 16 from {2, 4, 7, 7}: 16, 18, 20 -> 3 of 16 patterns, p = 6 / 16.
  assert.equal(wilcoxonSignedRank([4, 4, 1, -3, 0]), 0.375);
  // Floating-point near-ties (0.06 - 0.02 vs 0.10 - 0.06) count as ties.
  assert.notEqual(0.06 - 0.02, 0.1 - 0.06);
  assert.equal(wilcoxonSignedRank([0.06 - 0.02, 0.1 - 0.06, 0.01, -0.03]), 0.375);
  assert.throws(() => wilcoxonSignedRank([NaN]), /difference/);
});

Deno.test("Wilcoxon signed-rank: exact p equals brute-force enumeration", () => {
  const rand = mulberry32(42);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + randomInt(rand, 12);
    const diffs = Array.from({ length: n }, () => randomInt(rand, 9) - 4); // ties and zeros
    const got = wilcoxonSignedRank(diffs), want = bruteWilcoxon(diffs);
    close(got, want, 1e-15, `${diffs}`);
  }
  // Up to the exact limit of 20 non-zero values.
  const diffs = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? -1 : 1) * (1 + (i % 7)));
  const r = wilcoxonSignedRankTest(diffs);
  assert.ok(r.exact);
  close(r.p, bruteWilcoxon(diffs), 1e-15);
});

Deno.test("Wilcoxon signed-rank: normal approximation above 20, tie-corrected (SciPy)", () => {
  // scipy.stats.wilcoxon(d, method="approx", correction=True): zero dropped, ties corrected.
  const d = [
    1,
    2,
    2,
    3,
    3,
    3,
    -1,
    4,
    4,
    5,
    -2,
    6,
    6,
    7,
    8,
    -3,
    9,
    9,
    10,
    11,
    12,
    -4,
    13,
    14,
    0,
    15,
  ];
  const r = wilcoxonSignedRankTest(d);
  assert.equal(r.exact, false);
  assert.equal(r.nonzero, 25);
  close(r.p, 0.00020185209768857197, 1e-12);
  const d2 = [...Array.from({ length: 21 }, (_, i) => i + 1), -22, -5];
  close(wilcoxonSignedRank(d2), 0.0009150500596662361, 1e-12);
  assert.equal(wilcoxonSignedRank(Array.from({ length: 30 }, (_, i) => (i % 2 ? 1 : -1))), 1);
});

Deno.test("holm: hand-computed step-down values in input order", () => {
  const got = holm([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((v, i) => close(got[i], v, 1e-15));
  assert.deepEqual(holm([]), []);
  assert.deepEqual(holm([0.5, 0.9]), [1, 1]); // capped
  // Monotone: the larger raw p never gets the smaller adjusted p.
  const h = holm([0.001, 0.02, 0.019, 0.3]); // 0.004, 0.057 -> max(0.057, 0.04) , 0.057, 0.3
  close(h[0], 0.004, 1e-15);
  close(h[2], 0.057, 1e-15);
  close(h[1], 0.057, 1e-15);
  close(h[3], 0.3, 1e-15);
  assert.throws(() => holm([1.5]), /outside/);
});

// Reference: R power.t.test(n = 10, sd = 1, power = 0.8, type = "one.sample", strict = TRUE)
// and SciPy quad over the chi density: delta = 0.99600137.
Deno.test("mde80: noncentral t answer, approximations and edge cases", () => {
  const m = mde80(1, 10)!;
  close(m, 0.9960013714554438, 1e-8);
  const approx = (tQuantile(0.975, 9) + tQuantile(0.8, 9)) / Math.sqrt(10);
  assert.ok(Math.abs(m - approx) / m < 0.02, `${m} vs ${approx}`);
  close(mde80(1, 2)!, 11.549888435882561, 1e-6);
  close(mde80(1, 3)!, 3.264043549699572, 1e-7);
  close(mde80(1, 30)!, 0.5292356151129564, 1e-9);
  // Scales with sd.
  close(mde80(0.02, 10)!, 0.02 * m, 1e-12);
  // Large n: (z_{0.975} + z_{0.8}) / sqrt(n).
  const big = mde80(1, 10000)!;
  close(big * 100, 1.959963984540054 + 0.8416212335729143, 1e-3);
  close(big, 0.028018509036146333, 1e-10);
  assert.equal(mde80(1, 1), null);
  assert.equal(mde80(0.5, 0), null);
  assert.equal(mde80(0, 5), 0);
  assert.ok(mde80(1, 10, 0.01)! > m);
  assert.throws(() => mde80(-1, 5), /sd/);
});

function makeDraw(n: number, baseRight: number, configRight: number): PairedDraw {
  // Two classes alternating; baseline right on the first `baseRight` images, config on the
  // first `configRight` (so the sets nest and the pairing is strong).
  const truth = Array.from({ length: n }, (_, i) => i % 2);
  const baseline = truth.map((t, i) => (i < baseRight ? t : 1 - t));
  const config = truth.map((t, i) => (i < configRight ? t : 1 - t));
  return { truth, baseline, config };
}

Deno.test("two-level bootstrap: identical predictions give exactly [0, 0]", () => {
  const d = makeDraw(50, 30, 30);
  const r = twoLevelBootstrap([d, makeDraw(40, 10, 10)], {
    numClasses: 2,
    iterations: 500,
    seed: 3,
  });
  assert.deepEqual(r, {
    accuracy_diff: 0,
    macro_f1_diff: 0,
    accuracy_ci95: [0, 0],
    macro_f1_ci95: [0, 0],
  });
});

Deno.test("two-level bootstrap: point estimates, containment, determinism", () => {
  const draws = [makeDraw(120, 70, 85), makeDraw(110, 60, 70), makeDraw(130, 80, 81)];
  const opts = { numClasses: 2, iterations: 2000, seed: 11 };
  const r = twoLevelBootstrap(draws, opts);
  close(r.accuracy_diff, (15 / 120 + 10 / 110 + 1 / 130) / 3, 1e-12);
  const f1 = (d: PairedDraw, p: ArrayLike<number>) =>
    computeMetrics(d.truth as number[], Array.from(p), ["a", "b"]).macro_f1;
  const expectF1 = draws.reduce((acc, d) => acc + f1(d, d.config) - f1(d, d.baseline), 0) / 3;
  close(r.macro_f1_diff, expectF1, 1e-12);
  assert.ok(r.accuracy_ci95[0] <= r.accuracy_diff && r.accuracy_diff <= r.accuracy_ci95[1]);
  assert.ok(r.macro_f1_ci95[0] <= r.macro_f1_diff && r.macro_f1_diff <= r.macro_f1_ci95[1]);
  assert.ok(r.accuracy_ci95[0] < r.accuracy_ci95[1]);
  assert.deepEqual(twoLevelBootstrap(draws, opts), r);
  assert.notDeepEqual(
    twoLevelBootstrap(draws, { ...opts, seed: 12 }).accuracy_ci95,
    r.accuracy_ci95,
  );
  assert.throws(() => twoLevelBootstrap([], opts), /no draws/);
  assert.throws(
    () => twoLevelBootstrap([{ truth: [0, 1], baseline: [0], config: [0, 1] }], opts),
    /draw 0/,
  );
});

Deno.test("two-level bootstrap: with one draw it is the within-draw bootstrap", () => {
  const d = makeDraw(200, 120, 140);
  const opts = { numClasses: 2, iterations: 1000, seed: 4 };
  assert.deepEqual(
    twoLevelBootstrap([d], opts),
    twoLevelBootstrap([d], { ...opts, resampleDraws: false }),
  );
  // Config always right, baseline right on 300 of 400: diff = 1 - resampled baseline accuracy,
  // SE = sqrt(0.75 * 0.25 / 400) = 0.02165, so the 95% interval is about 0.25 +- 0.0424.
  const r = twoLevelBootstrap([makeDraw(400, 300, 400)], {
    numClasses: 2,
    iterations: 4000,
    seed: 5,
  });
  assert.equal(r.accuracy_diff, 0.25);
  close(r.accuracy_ci95[0], 0.25 - 0.0424, 0.008);
  close(r.accuracy_ci95[1], 0.25 + 0.0424, 0.008);
});

Deno.test("two-level bootstrap: resampling is paired (same indices for config and baseline)", () => {
  // 10 of 400 flipped wrong -> right. Paired SE ~ sqrt(10)/400 = 0.0079; unpaired it would be
  // ~0.035, giving an interval about 0.14 wide.
  const r = twoLevelBootstrap([makeDraw(400, 200, 210)], {
    numClasses: 2,
    iterations: 4000,
    seed: 9,
  });
  assert.ok(r.accuracy_ci95[0] >= 0, `${r.accuracy_ci95}`); // a paired improvement never reverses
  assert.ok(r.accuracy_ci95[1] - r.accuracy_ci95[0] < 0.05, `${r.accuracy_ci95}`);
});

Deno.test("two-level bootstrap: draws that disagree widen the interval", () => {
  // Per-draw diffs +0.15, -0.05, +0.25, -0.10, +0.05 (mean 0.06), each precise within its draw
  // (nested sets): the draw-level spread dominates.
  const draws = [
    makeDraw(400, 200, 260),
    makeDraw(400, 220, 200),
    makeDraw(400, 150, 250),
    makeDraw(400, 240, 200),
    makeDraw(400, 200, 220),
  ];
  const opts = { numClasses: 2, iterations: 3000, seed: 21 };
  const two = twoLevelBootstrap(draws, opts);
  const within = twoLevelBootstrap(draws, { ...opts, resampleDraws: false });
  close(two.accuracy_diff, 0.06, 1e-12);
  assert.equal(within.accuracy_diff, two.accuracy_diff);
  const w2 = two.accuracy_ci95[1] - two.accuracy_ci95[0];
  const w1 = within.accuracy_ci95[1] - within.accuracy_ci95[0];
  assert.ok(w2 > 3 * w1, `two-level ${two.accuracy_ci95} vs within ${within.accuracy_ci95}`);
  assert.ok(two.accuracy_ci95[0] < 0 && two.accuracy_ci95[1] > 0.12, `${two.accuracy_ci95}`);
  for (const r of [two, within]) {
    assert.ok(r.accuracy_ci95[0] <= r.accuracy_diff && r.accuracy_diff <= r.accuracy_ci95[1]);
    assert.ok(r.macro_f1_ci95[0] <= r.macro_f1_diff && r.macro_f1_diff <= r.macro_f1_ci95[1]);
  }
});

Deno.test("labelsFromPaths reads the class directory", () => {
  assert.deepEqual(
    labelsFromPaths(["101_ObjectCategories/crab/image_0002.jpg", "moth/x.jpg"], ["moth", "crab"]),
    [1, 0],
  );
  assert.throws(() => labelsFromPaths(["ant/x.jpg"], ["moth"]), /ant\/x.jpg/);
});

const CLASSES = ["butterfly", "crab"];
const TEST = ["butterfly/1.jpg", "butterfly/2.jpg", "butterfly/3.jpg", "crab/1.jpg", "crab/2.jpg"];
const TRUTH = [0, 0, 0, 1, 1];
const P5 = [0, 0, 0, 1, 1]; // 5/5 right
const P4 = [0, 0, 0, 1, 0]; // 4/5
const P3 = [0, 0, 1, 1, 0]; // 3/5
const P2 = [1, 0, 1, 1, 0]; // 2/5

function run(
  draw: number,
  style: StyleGroup,
  static_augmentation: boolean,
  classifier: ClassifierKind,
  predictions: number[],
): RunResult {
  const m = computeMetrics(TRUTH, predictions, CLASSES);
  return {
    evaluation: scoreEvaluation([], {}, CLASSES, m.accuracy),
    draw,
    style,
    static_augmentation,
    classifier,
    classes: CLASSES,
    train_images: [],
    train_examples: 0,
    test_images: TEST,
    confusion: m.confusion,
    per_class: m.per_class,
    accuracy: m.accuracy,
    macro_f1: m.macro_f1,
    predictions,
    train_seconds: 1,
  };
}

function studyRuns(): RunResult[] {
  const runs: RunResult[] = [];
  const heavy = [P5, P4, P3];
  for (const d of [0, 1, 2]) {
    runs.push(run(d, "none", false, "cnn", P3));
    runs.push(run(d, "heavy", false, "cnn", heavy[d])); // +0.4, +0.2, 0 vs none
    runs.push(run(d, "none", true, "cnn", P2)); // -0.2 each draw
    runs.push(run(d, "copy", false, "cnn", P4)); // +0.2 vs none
    runs.push(run(d, "copy", true, "cnn", P3));
    runs.push(run(d, "light", true, "cnn", P4)); // +0.2 vs copy/true
    runs.push(run(d, "none", false, "transfer", P5));
    runs.push(run(d, "light", true, "transfer", P5));
  }
  return runs;
}

Deno.test("compareConfigurations: order, baselines, per-draw diffs, summaries", () => {
  const runs = studyRuns();
  const out = compareConfigurations(runs, [], { iterations: 300, seed: 1 });
  assert.ok(out.every((c) => c.endpoint === "clean_accuracy"));
  assert.deepEqual(
    out.map((c) =>
      `${c.classifier}/${c.style}/${c.static_augmentation} vs ${c.baseline}:` +
      `${c.baseline_style}/${c.baseline_static_augmentation}`
    ),
    [
      "cnn/none/true vs none:none/false",
      "cnn/copy/false vs none:none/false",
      "cnn/copy/true vs none:none/false",
      "cnn/light/true vs none:none/false",
      "cnn/heavy/false vs none:none/false",
      "cnn/light/true vs copy:copy/true",
      "cnn/heavy/false vs copy:copy/false",
      "transfer/light/true vs none:none/false", // transfer has no copy runs: no copy baseline
    ],
  );
  const heavy = out[4];
  assert.equal(heavy.draws, 3);
  assert.deepEqual(heavy.per_draw.map((p) => p.draw), [0, 1, 2]);
  [0.4, 0.2, 0].forEach((v, i) => close(heavy.per_draw[i].diff, v, 1e-12));
  assert.deepEqual(heavy.per_draw.map((p) => [p.config_value, p.baseline_value]), [
    [1, 0.6],
    [0.8, 0.6],
    [0.6, 0.6],
  ]);
  assert.deepEqual(heavy.per_draw.map((p) => [p.mcnemar_b, p.mcnemar_c, p.mcnemar_p]), [
    [0, 2, 0.5],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  close(heavy.mean_diff, 0.2, 1e-12);
  close(heavy.sd_diff!, 0.2, 1e-12);
  const half = (4.302652729749462 * 0.2) / Math.sqrt(3);
  close(heavy.ci95_draws![0], 0.2 - half, 1e-9);
  close(heavy.ci95_draws![1], 0.2 + half, 1e-9);
  assert.equal(heavy.p_wilcoxon, 0.5); // zero dropped, two positive of two: 2 * 1/4
  close(heavy.mde80!, mde80(0.2, 3)!, 1e-15);
  const [lo, hi] = heavy.ci95_bootstrap;
  assert.ok(lo <= 0.2 && 0.2 <= hi && lo < hi, `${lo} ${hi}`);
  // Macro-F1 of P3: butterfly P 2/3 R 2/3 F1 2/3; crab P 1/2 R 1/2 F1 1/2 -> 7/12. P5: 1.
  close(heavy.per_draw[0].macro_f1_diff!, 5 / 12, 1e-12);
  close(heavy.per_draw[2].macro_f1_diff!, 0, 0);
  assert.equal(heavy.macro_f1!.p_wilcoxon, 0.5);
  // Constant differences: sd 0, zero-width t-interval, mde80 0.
  const aug = out[0];
  close(aug.mean_diff, -0.2, 1e-12);
  assert.equal(aug.sd_diff, 0);
  assert.equal(aug.mde80, 0);
  assert.equal(aug.p_wilcoxon, 0.25);
  assert.deepEqual([aug.per_draw[0].mcnemar_b, aug.per_draw[0].mcnemar_c], [1, 0]);
  const lightVsCopy = out[5];
  close(lightVsCopy.mean_diff, 0.2, 1e-12);
  const same = out[7];
  assert.deepEqual(same.ci95_bootstrap, [0, 0]);
  assert.deepEqual(same.macro_f1!.ci95_bootstrap, [0, 0]);
  assert.deepEqual(same.ci95_draws, [0, 0]);
  assert.equal(same.p_wilcoxon, 1);
  // Holm across every comparison returned, accuracy and macro-F1 separately.
  assert.deepEqual(out.map((c) => c.p_holm), holm(out.map((c) => c.p_wilcoxon)));
  assert.deepEqual(
    out.map((c) => c.macro_f1!.p_holm),
    holm(out.map((c) => c.macro_f1!.p_wilcoxon)),
  );
  assert.ok(out.some((c) => c.p_holm > c.p_wilcoxon));
  assert.deepEqual(compareConfigurations(runs, [], { iterations: 300, seed: 1 }), out);
  assert.deepEqual(compareConfigurations([], [], { iterations: 10 }), []);
});

Deno.test("compareConfigurations: one draw gives null sd, interval and mde80", () => {
  const runs = [run(0, "none", false, "cnn", P3), run(0, "medium", false, "cnn", P4)];
  const [c] = compareConfigurations(runs, [], { iterations: 200, seed: 2 });
  assert.equal(c.draws, 1);
  assert.equal(c.sd_diff, null);
  assert.equal(c.ci95_draws, null);
  assert.equal(c.mde80, null);
  assert.equal(c.macro_f1!.mde80, null);
  assert.equal(c.p_wilcoxon, 1); // one positive draw: p = 2 * 1/2
  assert.equal(c.p_holm, 1);
});

Deno.test("compareConfigurations: missing or mismatched baseline is a UserError", () => {
  const cfg = run(0, "light", false, "cnn", P5);
  assert.throws(() => compareConfigurations([cfg], []), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(
      e.message,
      /no baseline run \(cnn style=none static_augmentation=false\) for draw 0/,
    );
    return true;
  });
  const ctl = run(0, "none", false, "cnn", P3);
  // Copy runs exist (without static augmentation) but not the one light/true needs.
  assert.throws(
    () =>
      compareConfigurations([
        ctl,
        run(0, "copy", false, "cnn", P3),
        run(0, "none", true, "cnn", P3),
        run(0, "light", true, "cnn", P3),
      ], []),
    /vs copy: no baseline run \(cnn style=copy static_augmentation=true\) for draw 0/,
  );
  const shifted = { ...ctl, test_images: TEST.slice(1) };
  assert.throws(() => compareConfigurations([shifted, cfg], []), /draw 0: test images differ/);
  const renamed = { ...ctl, classes: ["crab", "butterfly"] };
  assert.throws(() => compareConfigurations([renamed, cfg], []), /classes differ/);
  const dup = run(0, "light", false, "cnn", P4);
  assert.throws(
    () => compareConfigurations([ctl, cfg, dup], []),
    /two results for .*light.* draw 0/,
  );
  const short = { ...cfg, predictions: [0, 0] };
  assert.throws(() => compareConfigurations([ctl, short], []), /2 predictions for 5 test images/);
});

// Output of the schema-2 compareConfigurations (git e4502b4, src/study/stats.ts) on studyRuns()
// with { iterations: 300, seed: 1 }: [accuracy bootstrap interval, macro-F1 bootstrap interval].
const SCHEMA2_INTERVALS: [string, [number, number], [number, number]][] = [
  ["cnn/none/true/none", [-0.4000000000000001, 0], [-0.38106150793650795, 0]],
  ["cnn/copy/false/none", [0, 0.4000000000000001], [0, 0.3696924603174603]],
  ["cnn/copy/true/none", [0, 0], [0, 0]],
  ["cnn/light/true/none", [0.06666666666666665, 0.4000000000000001], [
    0.018518518518518507,
    0.34736111111111095,
  ]],
  ["cnn/heavy/false/none", [0, 0.5333333333333333], [0, 0.5072023809523805]],
  ["cnn/light/true/copy", [0, 0.39999999999999997], [0, 0.3346626984126983]],
  ["cnn/heavy/false/copy", [-0.26666666666666666, 0.26666666666666666], [
    -0.19999999999999998,
    0.3593749999999995,
  ]],
  ["transfer/light/true/none", [0, 0], [0, 0]],
];

Deno.test("compareConfigurations: clean intervals identical to the schema-2 code's", () => {
  const out = compareConfigurations(studyRuns(), [], { iterations: 300, seed: 1 });
  assert.deepEqual(
    out.map((c) => [
      `${c.classifier}/${c.style}/${c.static_augmentation}/${c.baseline}`,
      c.ci95_bootstrap,
      c.macro_f1!.ci95_bootstrap,
    ]),
    SCHEMA2_INTERVALS,
  );
});

Deno.test("twoLevelBootstrapSums reproduces twoLevelBootstrap's accuracy interval exactly", () => {
  const draws = [makeDraw(60, 30, 41), makeDraw(50, 35, 30), makeDraw(70, 40, 52)];
  for (const seed of [0, 7, 123]) {
    for (const resampleDraws of [true, false]) {
      const old = twoLevelBootstrap(draws, { numClasses: 2, iterations: 700, seed, resampleDraws });
      const units = draws.map((d) => ({
        units: Array.from(d.truth, (t, i) => [
          1,
          d.config[i] === t ? 1 : 0,
          d.baseline[i] === t ? 1 : 0,
        ]),
      }));
      const r = twoLevelBootstrapSums(units, (s) => s[1] / s[0] - s[2] / s[0], {
        iterations: 700,
        seed,
        resampleDraws,
      });
      assert.equal(r.estimate, old.accuracy_diff);
      assert.deepEqual(r.ci95, old.accuracy_ci95);
      assert.equal(r.resamples, 700);
    }
  }
});

Deno.test("twoLevelBootstrapSums: undefined resamples are skipped; errors", () => {
  // One unit in two defines the statistic: a resample of 2 units misses it with probability 1/4.
  const draw = { units: [[1, 1], [0, 0]] };
  const stat = (s: Float64Array) => (s[0] > 0 ? s[1] / s[0] : null);
  const r = twoLevelBootstrapSums([draw], stat, { iterations: 4000, seed: 3 });
  assert.equal(r.estimate, 1);
  assert.deepEqual(r.ci95, [1, 1]);
  // Binomial(4000, 3/4): mean 3000, sd 27.4; +-150 is 5.5 sd.
  close(r.resamples, 3000, 150);
  // Two draws: a resample is dropped only when both picked draws are undefined.
  const two = twoLevelBootstrapSums([draw, draw], stat, { iterations: 4000, seed: 3 });
  close(two.resamples, 4000 * (1 - 1 / 16), 80);
  assert.throws(() => twoLevelBootstrapSums([], stat), /no draws/);
  assert.throws(() => twoLevelBootstrapSums([{ units: [[0, 0]] }], stat), /statistic null/);
  assert.throws(() => twoLevelBootstrapSums([{ units: [[1], [1, 1]] }], stat), /unit of 2/);
});

// ---------------------------------------------------------------------------
// Endpoints beyond clean accuracy.

const CLS3 = ["butterfly", "crab", "scorpion"];
const POOL = Array.from({ length: 30 }, (_, i) => `${CLS3[i % 3]}/pool_${i}.jpg`);
const POOL_LABELS = POOL.map((_, i) => i % 3);
const TEST3 = Array.from({ length: 24 }, (_, i) => `${CLS3[i % 3]}/test_${i}.jpg`);
const TEST3_TRUTH = TEST3.map((_, i) => i % 3);

function variant(kind: EvalCondition["kind"], name: string, source: string | null): EvalCondition {
  return {
    name,
    kind,
    source,
    severity: kind === "corruption" ? 1 : null,
    images: POOL.map((p) => `${p}#${name}`),
    labels: POOL_LABELS,
  };
}

const CUE: EvalCondition = {
  name: "cue_conflict",
  kind: "cue_conflict",
  source: null,
  severity: null,
  images: Array.from({ length: 18 }, (_, i) => `${CLS3[i % 3]}/cue_${i}.jpg#cue`),
  labels: Array.from({ length: 18 }, (_, i) => i % 3),
  texture_labels: Array.from({ length: 18 }, (_, i) => (i + 1) % 3),
};

const CONDITIONS: EvalCondition[] = [
  variant("texture_shift", "texture:a", "a.jpg"),
  variant("texture_shift", "texture:b", "b.jpg"),
  CUE,
  variant("corruption", "corruption:noise:1", "noise"),
  variant("corruption", "corruption:blur:1", "blur"),
];

/** Predictions right with probability `p` (wrong: the next class). */
function noisy(rand: () => number, truth: readonly number[], p: number): number[] {
  return truth.map((t) => (rand() < p ? t : (t + 1) % 3));
}

/** Cue-conflict predictions: shape with probability `shape`, texture with `texture`, else other. */
function cue(rand: () => number, shape: number, texture: number): number[] {
  return CUE.labels.map((s, i) => {
    const u = rand();
    const x = CUE.texture_labels![i];
    return u < shape ? s : u < shape + texture ? x : 3 - s - x;
  });
}

function evalRun(
  draw: number,
  style: StyleGroup,
  predictions: number[],
  evaluation: Record<string, number[]>,
): RunResult {
  const m = computeMetrics(TEST3_TRUTH, predictions, CLS3);
  return {
    draw,
    style,
    static_augmentation: false,
    classifier: "cnn",
    classes: CLS3,
    train_images: [],
    train_examples: 0,
    test_images: TEST3,
    confusion: m.confusion,
    per_class: m.per_class,
    accuracy: m.accuracy,
    macro_f1: m.macro_f1,
    predictions,
    train_seconds: 1,
    evaluation: scoreEvaluation(CONDITIONS, evaluation, CLS3, m.accuracy),
  };
}

/**
 * 8 draws of none vs heavy (and copy), equal clean accuracy (0.7) but heavy far better on the
 * texture-shifted images (0.8 vs 0.4) and more shape-biased (0.6/0.3 vs 0.3/0.6).
 */
function endpointRuns(): RunResult[] {
  const rand = mulberry32(2024);
  const runs: RunResult[] = [];
  for (let d = 0; d < 8; d++) {
    const groups: [StyleGroup, number, number, number][] = [
      ["none", 0.4, 0.3, 0.6],
      ["copy", 0.45, 0.35, 0.55],
      ["heavy", 0.8, 0.6, 0.3],
    ];
    for (const [style, texture, shape, tex] of groups) {
      runs.push(evalRun(d, style, noisy(rand, TEST3_TRUTH, 0.7), {
        "texture:a": noisy(rand, POOL_LABELS, texture),
        "texture:b": noisy(rand, POOL_LABELS, texture),
        cue_conflict: cue(rand, shape, tex),
        "corruption:noise:1": noisy(rand, POOL_LABELS, 0.5),
        "corruption:blur:1": noisy(rand, POOL_LABELS, 0.5),
      }));
    }
  }
  return runs;
}

function pooledAccuracy(run: RunResult, names: string[]): number {
  let right = 0, n = 0;
  for (const name of names) {
    const c = CONDITIONS.find((x) => x.name === name)!;
    run.evaluation.predictions[name].forEach((p, i) => {
      if (p === c.labels[i]) right++;
      n++;
    });
  }
  return right / n;
}

Deno.test("compareConfigurations with conditions: endpoints, order, values, Holm family", () => {
  const runs = endpointRuns();
  const out = compareConfigurations(runs, CONDITIONS, { iterations: 1000, seed: 5 });
  // copy vs none, heavy vs none, heavy vs copy; four endpoints each, in ENDPOINTS order.
  assert.equal(out.length, 12);
  assert.deepEqual(
    out.map((c) => `${c.style} vs ${c.baseline}: ${c.endpoint}`),
    ["copy vs none", "heavy vs none", "heavy vs copy"].flatMap((k) =>
      ENDPOINTS.map((e) => `${k}: ${e}`)
    ),
  );
  const byRun = new Map(runs.map((r) => [`${r.style}|${r.draw}`, r]));
  const get = (style: string, draw: number) => byRun.get(`${style}|${draw}`)!;
  const [clean, texture, corruption, shape] = out.slice(4, 8); // heavy vs none
  // Per-draw values recomputed independently from the predictions.
  texture.per_draw.forEach((p, d) => {
    const names = ["texture:a", "texture:b"];
    close(p.config_value, pooledAccuracy(get("heavy", d), names), 1e-15);
    close(p.baseline_value, pooledAccuracy(get("none", d), names), 1e-15);
    close(p.diff, p.config_value - p.baseline_value, 0);
    assert.equal(p.macro_f1_diff, null);
    let b = 0, c = 0;
    for (const name of names) {
      const cond = CONDITIONS.find((x) => x.name === name)!;
      const cfg = get("heavy", d).evaluation.predictions[name];
      const ref = get("none", d).evaluation.predictions[name];
      cond.labels.forEach((t, i) => {
        if (ref[i] === t && cfg[i] !== t) b++;
        if (ref[i] !== t && cfg[i] === t) c++;
      });
    }
    assert.deepEqual([p.mcnemar_b, p.mcnemar_c, p.mcnemar_p], [b, c, mcnemarExact(b, c)]);
  });
  corruption.per_draw.forEach((p, d) => {
    const r = get("heavy", d);
    const mean = (r.evaluation.accuracy["corruption:noise:1"] +
      r.evaluation.accuracy["corruption:blur:1"]) / 2;
    close(p.config_value, mean, 1e-15); // equal counts: pooled = mean over corruptions
  });
  shape.per_draw.forEach((p, d) => {
    let s = 0, t = 0;
    get("heavy", d).evaluation.predictions.cue_conflict.forEach((x, i) => {
      if (x === CUE.labels[i]) s++;
      else if (x === CUE.texture_labels![i]) t++;
    });
    close(p.config_value, s / (s + t), 1e-15);
    close(p.baseline_value, get("none", d).evaluation.endpoints.shape_bias!, 1e-15);
    assert.deepEqual([p.mcnemar_b, p.mcnemar_c, p.mcnemar_p, p.macro_f1_diff], [
      null,
      null,
      null,
      null,
    ]);
  });
  // Planted effect: texture shift +0.4 (CI excludes 0); clean: none (CI includes 0).
  assert.ok(texture.ci95_bootstrap[0] > 0.2, `${texture.ci95_bootstrap}`);
  assert.ok(texture.ci95_draws![0] > 0.2, `${texture.ci95_draws}`);
  close(texture.mean_diff, 0.4, 0.1);
  assert.equal(texture.p_wilcoxon, 2 / 256); // all 8 draws positive, exact
  assert.ok(clean.ci95_bootstrap[0] < 0 && clean.ci95_bootstrap[1] > 0, `${clean.ci95_bootstrap}`);
  assert.ok(clean.p_wilcoxon > 0.05);
  assert.ok(corruption.ci95_bootstrap[0] < 0 && corruption.ci95_bootstrap[1] > 0);
  // Shape bias: 0.6/0.9 - 0.3/0.9 = +0.33 planted; the interval contains the point estimate.
  assert.ok(
    shape.ci95_bootstrap[0] <= shape.mean_diff && shape.mean_diff <= shape.ci95_bootstrap[1],
    `${shape.mean_diff} ${shape.ci95_bootstrap}`,
  );
  assert.ok(shape.ci95_bootstrap[0] > 0, `${shape.ci95_bootstrap}`);
  // macro_f1 only on clean.
  assert.deepEqual(
    out.map((c) => c.macro_f1 !== null),
    out.map((c) => c.endpoint === "clean_accuracy"),
  );
  // Holm: one family of all 12 endpoint comparisons; macro-F1 a family of the 3 clean ones.
  assert.deepEqual(out.map((c) => c.p_holm), holm(out.map((c) => c.p_wilcoxon)));
  const i = out.indexOf(texture);
  assert.ok(out.every((c) => c.p_wilcoxon >= texture.p_wilcoxon));
  const tied = out.filter((c) => c.p_wilcoxon === texture.p_wilcoxon).length;
  // The smallest p (with `tied` equal ones) is multiplied by at least m - tied + 1 = 12 - tied + 1.
  assert.ok(out[i].p_holm >= Math.min(1, (12 - tied + 1) * texture.p_wilcoxon) - 1e-15);
  const cleans = out.filter((c) => c.endpoint === "clean_accuracy");
  assert.deepEqual(
    cleans.map((c) => c.macro_f1!.p_holm),
    holm(cleans.map((c) => c.macro_f1!.p_wilcoxon)),
  );
  // The texture interval is the cluster bootstrap over pool images (variants resampled together)
  // seeded from the key with the endpoint.
  const units = texture.per_draw.map((p) => {
    const cfg = get("heavy", p.draw).evaluation.predictions;
    const ref = get("none", p.draw).evaluation.predictions;
    return {
      units: POOL.map((_, i) =>
        ["texture:a", "texture:b"].reduce(
          (
            u,
            n,
          ) => [
            u[0] + 1,
            u[1] + +(cfg[n][i] === POOL_LABELS[i]),
            u[2] + +(ref[n][i] === POOL_LABELS[i]),
          ],
          [0, 0, 0],
        )
      ),
    };
  });
  const want = twoLevelBootstrapSums(units, (s) => s[1] / s[0] - s[2] / s[0], {
    iterations: 1000,
    seed: hash32("5:cnn|heavy|false|vs:none|texture_shift_accuracy"),
  });
  assert.deepEqual(texture.ci95_bootstrap, want.ci95);
  close(want.estimate, texture.mean_diff, 1e-12);
  // Clean: the same as without conditions (key unchanged).
  const bare = runs.map((r) => ({ ...r, evaluation: scoreEvaluation([], {}, CLS3, r.accuracy) }));
  const cleanOnly = compareConfigurations(bare, [], { iterations: 1000, seed: 5 });
  assert.equal(cleanOnly.length, 3);
  assert.deepEqual(cleanOnly[1].ci95_bootstrap, clean.ci95_bootstrap);
});

Deno.test("compareConfigurations: a draw with undefined shape bias leaves that endpoint only", () => {
  const runs = endpointRuns().filter((r) => r.style !== "copy");
  const r = runs.find((x) => x.style === "heavy" && x.draw === 3)!;
  const preds = { ...r.evaluation.predictions };
  preds.cue_conflict = CUE.labels.map((s, i) => 3 - s - CUE.texture_labels![i]); // all "other"
  const odd = { ...r, evaluation: scoreEvaluation(CONDITIONS, preds, CLS3, r.accuracy) };
  assert.equal(odd.evaluation.endpoints.shape_bias, null);
  const out = compareConfigurations(runs.map((x) => (x === r ? odd : x)), CONDITIONS, {
    iterations: 200,
    seed: 1,
  });
  assert.deepEqual(out.map((c) => c.draws), [8, 8, 8, 7]);
  assert.deepEqual(out[3].per_draw.map((p) => p.draw), [0, 1, 2, 4, 5, 6, 7]);
});

Deno.test("compareConfigurations: evaluation predictions must match the conditions", () => {
  const runs = endpointRuns();
  const r = runs.find((x) => x.style === "heavy" && x.draw === 2)!;
  const swap = (predictions: Record<string, number[]>): RunResult[] =>
    runs.map((x) => (x === r ? { ...r, evaluation: { ...r.evaluation, predictions } } : x));
  const short = { ...r.evaluation.predictions, "texture:b": [0, 1] };
  assert.throws(
    () => compareConfigurations(swap(short), CONDITIONS, { iterations: 10 }),
    (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /cnn style=heavy static_augmentation=false draw 2: 2 predictions for condition texture:b of 30 images/,
      );
      return true;
    },
  );
  const missing = { ...r.evaluation.predictions };
  delete missing.cue_conflict;
  assert.throws(
    () => compareConfigurations(swap(missing), CONDITIONS, { iterations: 10 }),
    /draw 2: no predictions for condition cue_conflict/,
  );
  const out = { ...r.evaluation.predictions, "corruption:noise:1": POOL.map(() => 3) };
  assert.throws(
    () => compareConfigurations(swap(out), CONDITIONS, { iterations: 10 }),
    /prediction: class index 3 outside 0..2/,
  );
  // Runs without the conditions' predictions (e.g. scored with no evaluation pool).
  assert.throws(
    () => compareConfigurations(swap({}), CONDITIONS, { iterations: 10 }),
    /draw 2: no predictions for condition texture:a/,
  );
  // Predictions for a condition the results do not list: runs of another evaluation set.
  assert.throws(
    () => compareConfigurations(runs, CONDITIONS.slice(0, 3), { iterations: 10 }),
    /draw 0: predictions for unknown condition corruption:noise:1/,
  );
  const uneven = [...CONDITIONS, {
    ...CONDITIONS[3],
    name: "corruption:x:1",
    images: ["a#x"],
    labels: [0],
  }];
  assert.throws(
    () => compareConfigurations(runs, uneven, { iterations: 10 }),
    /evaluation conditions: condition corruption:x:1: 1 images, other corruption conditions 30/,
  );
});
