import assert from "node:assert/strict";
import {
  bootstrapDiffs,
  compareToControl,
  discordantPairs,
  labelsFromPaths,
  mcnemarExact,
  type PairedSubset,
  quantileSorted,
} from "../../src/study/stats.ts";
import { computeMetrics } from "../../src/study/metrics.ts";
import type { ClassifierKind, RunResult, StyleGroup } from "../../src/study/types.ts";
import { UserError } from "../../src/util/errors.ts";

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

function subset(n: number, controlRight: number, configRight: number): PairedSubset {
  // Two classes alternating; control right on the first `controlRight` images, config on the
  // first `configRight` (so the sets nest and the pairing is strong).
  const truth = Array.from({ length: n }, (_, i) => i % 2);
  const control = truth.map((t, i) => (i < controlRight ? t : 1 - t));
  const config = truth.map((t, i) => (i < configRight ? t : 1 - t));
  return { truth, control, config };
}

Deno.test("bootstrap: identical predictions give exactly [0, 0]", () => {
  const s = subset(50, 30, 30);
  const r = bootstrapDiffs([s, s], { numClasses: 2, iterations: 500, seed: 3 });
  assert.deepEqual(r, {
    accuracy_diff: 0,
    macro_f1_diff: 0,
    accuracy_ci95: [0, 0],
    macro_f1_ci95: [0, 0],
  });
});

Deno.test("bootstrap: point estimates, containment, determinism", () => {
  const subsets = [subset(120, 70, 85), subset(110, 60, 70), subset(130, 80, 81)];
  const opts = { numClasses: 2, iterations: 2000, seed: 11 };
  const r = bootstrapDiffs(subsets, opts);
  const expectAcc = (15 / 120 + 10 / 110 + 1 / 130) / 3;
  assert.ok(Math.abs(r.accuracy_diff - expectAcc) < 1e-12);
  const f1 = (s: PairedSubset, p: ArrayLike<number>) =>
    computeMetrics(s.truth as number[], Array.from(p), ["a", "b"]).macro_f1;
  const expectF1 = subsets.reduce((acc, s) => acc + f1(s, s.config) - f1(s, s.control), 0) / 3;
  assert.ok(Math.abs(r.macro_f1_diff - expectF1) < 1e-12);
  assert.ok(r.accuracy_ci95[0] <= r.accuracy_diff && r.accuracy_diff <= r.accuracy_ci95[1]);
  assert.ok(r.macro_f1_ci95[0] <= r.macro_f1_diff && r.macro_f1_diff <= r.macro_f1_ci95[1]);
  assert.ok(r.accuracy_ci95[0] < r.accuracy_ci95[1]);
  assert.deepEqual(bootstrapDiffs(subsets, opts), r);
  assert.notDeepEqual(
    bootstrapDiffs(subsets, { ...opts, seed: 12 }).accuracy_ci95,
    r.accuracy_ci95,
  );
});

Deno.test("bootstrap: interval width matches the binomial standard error", () => {
  // Config always right, control right on 300 of 400: diff = 1 - resampled control accuracy,
  // SE = sqrt(0.75 * 0.25 / 400) = 0.02165, so the 95% interval is about 0.25 +- 0.0424.
  const r = bootstrapDiffs([subset(400, 300, 400)], { numClasses: 2, iterations: 4000, seed: 5 });
  assert.equal(r.accuracy_diff, 0.25);
  assert.ok(Math.abs(r.accuracy_ci95[0] - (0.25 - 0.0424)) < 0.008, `${r.accuracy_ci95}`);
  assert.ok(Math.abs(r.accuracy_ci95[1] - (0.25 + 0.0424)) < 0.008, `${r.accuracy_ci95}`);
});

Deno.test("bootstrap: resampling is paired (same indices for config and control)", () => {
  // 10 of 400 flipped wrong -> right. Paired SE ~ sqrt(10)/400 = 0.0079; unpaired it would be
  // ~0.035, giving an interval about 0.14 wide.
  const r = bootstrapDiffs([subset(400, 200, 210)], { numClasses: 2, iterations: 4000, seed: 9 });
  assert.ok(r.accuracy_ci95[0] >= 0, `${r.accuracy_ci95}`); // a paired improvement never reverses
  assert.ok(r.accuracy_ci95[1] - r.accuracy_ci95[0] < 0.05, `${r.accuracy_ci95}`);
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

function run(
  subsetNo: number,
  style: StyleGroup,
  static_augmentation: boolean,
  classifier: ClassifierKind,
  predictions: number[],
): RunResult {
  const m = computeMetrics(TRUTH, predictions, CLASSES);
  return {
    subset: subsetNo,
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

Deno.test("compareToControl: every config against its classifier's control, per subset", () => {
  const runs: RunResult[] = [];
  for (const s of [0, 1]) {
    runs.push(run(s, "none", false, "cnn", [0, 0, 1, 1, 0])); // 3/5 right
    runs.push(run(s, "heavy", false, "cnn", [0, 0, 0, 1, 1])); // 5/5 right
    runs.push(run(s, "none", true, "cnn", [1, 0, 1, 1, 0])); // 2/5 right
    runs.push(run(s, "none", false, "transfer", [0, 0, 0, 1, 1]));
    runs.push(run(s, "light", true, "transfer", [0, 0, 0, 1, 1]));
  }
  const out = compareToControl(runs, { iterations: 300, seed: 1 });
  assert.deepEqual(
    out.map((c) => `${c.classifier}/${c.style}/${c.static_augmentation}`),
    ["cnn/none/true", "cnn/heavy/false", "transfer/light/true"],
  );
  const heavy = out[1];
  assert.deepEqual(heavy.per_subset.map((p) => p.subset), [0, 1]);
  for (const p of heavy.per_subset) {
    assert.ok(Math.abs(p.accuracy_diff - 0.4) < 1e-12);
    assert.equal(p.mcnemar_b, 0);
    assert.equal(p.mcnemar_c, 2);
    assert.equal(p.mcnemar_p, 0.5);
  }
  assert.ok(Math.abs(heavy.mean_accuracy_diff - 0.4) < 1e-12);
  // Control macro-F1: butterfly P 2/3 R 2/3 F1 2/3; crab P 1/2 R 1/2 F1 1/2 -> 7/12. Heavy: 1.
  assert.ok(Math.abs(heavy.mean_macro_f1_diff - 5 / 12) < 1e-12);
  const aug = out[0];
  assert.ok(Math.abs(aug.mean_accuracy_diff + 0.2) < 1e-12);
  assert.deepEqual([aug.per_subset[0].mcnemar_b, aug.per_subset[0].mcnemar_c], [1, 0]);
  const same = out[2];
  assert.deepEqual(same.accuracy_diff_ci95, [0, 0]);
  assert.deepEqual(same.macro_f1_diff_ci95, [0, 0]);
  assert.deepEqual(compareToControl(runs, { iterations: 300, seed: 1 }), out);
});

Deno.test("compareToControl: missing or mismatched control is a UserError", () => {
  const cfg = run(0, "light", false, "cnn", [0, 0, 0, 1, 1]);
  assert.throws(() => compareToControl([cfg]), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /no control run .* subset 0/);
    return true;
  });
  const ctl = { ...run(0, "none", false, "cnn", [0, 0, 0, 1, 1]), test_images: TEST.slice(1) };
  assert.throws(() => compareToControl([ctl, cfg]), /test images differ/);
  const dup = run(0, "light", false, "cnn", [0, 0, 0, 1, 1]);
  assert.throws(() => compareToControl([cfg, dup]), /two results/);
});
