import assert from "node:assert/strict";
import {
  accuracyAndMacroF1,
  computeMetrics,
  confusionMatrix,
  metricsFromConfusion,
} from "../../src/study/metrics.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

Deno.test("confusion matrix: rows are true classes, columns predicted", () => {
  const truth = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const pred = [0, 1, 0, 1, 2, 2, 2, 0, 2];
  assert.deepEqual(confusionMatrix(truth, pred, 3), [
    [2, 1, 0],
    [0, 1, 1],
    [1, 0, 3],
  ]);
});

Deno.test("metrics of a hand-computed 3-class case", () => {
  // Confusion [[2,1,0],[0,1,1],[1,0,3]]:
  // a: tp 2, predicted 3, actual 3 -> P 2/3, R 2/3, F1 2/3
  // b: tp 1, predicted 2, actual 2 -> P 1/2, R 1/2, F1 1/2
  // c: tp 3, predicted 4, actual 4 -> P 3/4, R 3/4, F1 3/4
  // accuracy 6/9; macro F1 (2/3 + 1/2 + 3/4) / 3 = 23/36
  const m = computeMetrics([0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 1, 0, 1, 2, 2, 2, 0, 2], [
    "a",
    "b",
    "c",
  ]);
  close(m.accuracy, 6 / 9);
  close(m.per_class.a.precision, 2 / 3);
  close(m.per_class.b.recall, 1 / 2);
  close(m.per_class.c.f1, 3 / 4);
  close(m.macro_f1, 23 / 36);
  close(m.macro_precision, 23 / 36);
  assert.ok(Object.values(m.per_class).every((c) => c.precision_defined));
});

Deno.test("metrics with asymmetric precision and recall", () => {
  // Confusion [[3,1],[2,4]]: a P 3/5 R 3/4 F1 2/3; b P 4/5 R 4/6 F1 8/11.
  const m = metricsFromConfusion([[3, 1], [2, 4]], ["a", "b"]);
  close(m.per_class.a.precision, 3 / 5);
  close(m.per_class.a.recall, 3 / 4);
  close(m.per_class.a.f1, 2 / 3);
  close(m.per_class.b.precision, 4 / 5);
  close(m.per_class.b.recall, 2 / 3);
  close(m.per_class.b.f1, 8 / 11);
  close(m.accuracy, 7 / 10);
  close(m.macro_f1, (2 / 3 + 8 / 11) / 2);
  close(m.macro_recall, (3 / 4 + 2 / 3) / 2);
});

Deno.test("a class never predicted: precision 0, precision_defined false, F1 0", () => {
  // Everything predicted as class 0: confusion [[2,0,0],[3,0,0],[1,0,0]].
  const m = computeMetrics([0, 0, 1, 1, 1, 2], [0, 0, 0, 0, 0, 0], ["a", "b", "c"]);
  assert.deepEqual(m.confusion, [[2, 0, 0], [3, 0, 0], [1, 0, 0]]);
  assert.deepEqual(m.per_class.b, { precision: 0, recall: 0, f1: 0, precision_defined: false });
  assert.deepEqual(m.per_class.c, { precision: 0, recall: 0, f1: 0, precision_defined: false });
  assert.equal(m.per_class.a.precision_defined, true);
  close(m.per_class.a.precision, 2 / 6);
  close(m.per_class.a.recall, 1);
  close(m.per_class.a.f1, 0.5);
  close(m.accuracy, 2 / 6);
  close(m.macro_f1, 0.5 / 3);
});

Deno.test("a class predicted but never right: precision defined and 0", () => {
  const m = computeMetrics([0, 0], [1, 0], ["a", "b"]);
  assert.deepEqual(m.per_class.b, { precision: 0, recall: 0, f1: 0, precision_defined: true });
});

Deno.test("accuracyAndMacroF1 agrees with computeMetrics, also with an index", () => {
  const truth = [0, 1, 2, 2, 1, 0, 1, 2, 0, 0];
  const pred = [0, 2, 2, 1, 1, 0, 0, 2, 0, 1];
  const classes = ["a", "b", "c"];
  const full = computeMetrics(truth, pred, classes);
  const fast = accuracyAndMacroF1(truth, pred, 3);
  close(fast.accuracy, full.accuracy);
  close(fast.macro_f1, full.macro_f1);
  const idx = [3, 3, 0, 9, 1, 1, 7];
  const sub = computeMetrics(idx.map((i) => truth[i]), idx.map((i) => pred[i]), classes);
  const fastSub = accuracyAndMacroF1(truth, pred, 3, idx);
  close(fastSub.accuracy, sub.accuracy);
  close(fastSub.macro_f1, sub.macro_f1);
});

Deno.test("bad input throws", () => {
  assert.throws(() => confusionMatrix([0, 1], [0], 2), /2 true labels but 1/);
  assert.throws(() => confusionMatrix([0, 3], [0, 1], 2), /outside/);
  assert.throws(() => metricsFromConfusion([[1]], ["a", "b"]), /not 2x2/);
});
