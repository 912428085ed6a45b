import assert from "node:assert/strict";
import { scoreEvaluation, shapeBiasCounts, validateConditions } from "../../src/study/endpoints.ts";
import type { EvalCondition } from "../../src/report/schema.ts";

const CLASSES = ["butterfly", "crab", "scorpion"];

Deno.test("shapeBiasCounts: hand-counted table, per class and overall", () => {
  // shape, texture, prediction -> decision
  const table: [number, number, number, string][] = [
    [0, 1, 0, "shape"], // butterfly
    [0, 1, 1, "texture"],
    [0, 2, 1, "other"],
    [0, 2, 0, "shape"],
    [1, 0, 1, "shape"], // crab
    [1, 2, 2, "texture"],
    [1, 2, 2, "texture"],
    [1, 0, 2, "other"],
    [1, 0, 0, "texture"],
    [2, 0, 1, "other"], // scorpion: no shape or texture decision
  ];
  const r = shapeBiasCounts(
    table.map((t) => t[0]),
    table.map((t) => t[1]),
    table.map((t) => t[2]),
    CLASSES,
  );
  // butterfly: shape 2, texture 1, other 1 -> 2/3; crab: 1, 3, 1 -> 1/4; scorpion: 0, 0, 1 -> null.
  assert.deepEqual(r.per_class, {
    butterfly: { shape: 2, texture: 1, other: 1, shape_bias: 2 / 3 },
    crab: { shape: 1, texture: 3, other: 1, shape_bias: 1 / 4 },
    scorpion: { shape: 0, texture: 0, other: 1, shape_bias: null },
  });
  // overall: 3 shape, 4 texture, 3 other -> 3/7 (not the mean of the per-class values).
  assert.deepEqual(r.overall, { shape: 3, texture: 4, other: 3, shape_bias: 3 / 7 });
  const empty = shapeBiasCounts([], [], [], CLASSES);
  assert.deepEqual(empty.overall, { shape: 0, texture: 0, other: 0, shape_bias: null });
  assert.deepEqual(Object.keys(empty.per_class), CLASSES);
});

Deno.test("shapeBiasCounts: errors", () => {
  assert.throws(
    () => shapeBiasCounts([0], [1], [0, 1], CLASSES),
    /1 shape labels, 1 texture labels and 2 predictions/,
  );
  assert.throws(
    () => shapeBiasCounts([0], [0], [0], CLASSES),
    /image 0 has shape and texture class 0/,
  );
  assert.throws(
    () => shapeBiasCounts([0], [1], [3], CLASSES),
    /prediction: class index 3 outside 0..2/,
  );
  assert.throws(() => shapeBiasCounts([0], [-1], [0], CLASSES), /texture label: class index -1/);
});

const TEXTURE: EvalCondition = {
  name: "texture:a",
  kind: "texture_shift",
  source: "a.jpg",
  severity: null,
  images: [
    "butterfly/1.jpg#texture:a",
    "crab/1.jpg#texture:a",
    "scorpion/1.jpg#texture:a",
    "crab/2.jpg#texture:a",
  ],
  labels: [0, 1, 2, 1],
};
const TEXTURE_B: EvalCondition = {
  ...TEXTURE,
  name: "texture:b",
  source: "b.jpg",
  images: ["butterfly/1.jpg#texture:b", "crab/1.jpg#texture:b"],
  labels: [0, 1],
};
const CUE: EvalCondition = {
  name: "cue_conflict",
  kind: "cue_conflict",
  source: null,
  severity: null,
  images: ["butterfly/1.jpg#cue", "crab/1.jpg#cue", "scorpion/1.jpg#cue"],
  labels: [0, 1, 2],
  texture_labels: [1, 2, 0],
};

Deno.test("scoreEvaluation: hand-made texture-shift and cue-conflict example", () => {
  const predictions = {
    "texture:a": [0, 1, 0, 0], // 2 of 4
    "texture:b": [0, 1], // 2 of 2
    cue_conflict: [0, 2, 1], // shape, texture, other
  };
  const e = scoreEvaluation([TEXTURE, TEXTURE_B, CUE], predictions, CLASSES, 0.75);
  assert.equal(e.predictions, predictions);
  // cue_conflict accuracy counts shape decisions: 1 of 3.
  assert.deepEqual(e.accuracy, { "texture:a": 0.5, "texture:b": 1, cue_conflict: 1 / 3 });
  assert.deepEqual(e.endpoints, {
    clean_accuracy: 0.75,
    texture_shift_accuracy: 4 / 6, // pooled over 6 images, not the mean (0.75) of the two styles
    corruption_accuracy: null,
    shape_bias: 0.5,
  });
  assert.deepEqual(e.shape_bias.overall, { shape: 1, texture: 1, other: 1, shape_bias: 0.5 });
  assert.deepEqual(e.shape_bias.per_class.crab, { shape: 0, texture: 1, other: 0, shape_bias: 0 });
});

Deno.test("scoreEvaluation: corruption pooled equals the mean; no conditions gives nulls", () => {
  const corr = (name: string): EvalCondition => ({
    name,
    kind: "corruption",
    source: name.split(":")[1],
    severity: 1,
    images: ["butterfly/1.jpg", "crab/1.jpg", "scorpion/1.jpg"].map((i) => `${i}#${name}`),
    labels: [0, 1, 2],
  });
  const e = scoreEvaluation(
    [corr("corruption:noise:1"), corr("corruption:blur:1")],
    { "corruption:noise:1": [0, 1, 2], "corruption:blur:1": [0, 0, 0] },
    CLASSES,
    0.5,
  );
  assert.equal(e.endpoints.corruption_accuracy, 4 / 6);
  assert.equal(
    e.endpoints.corruption_accuracy,
    (e.accuracy["corruption:noise:1"] + e.accuracy["corruption:blur:1"]) / 2,
  );
  const none = scoreEvaluation([], {}, CLASSES, 0.9);
  assert.deepEqual(none.endpoints, {
    clean_accuracy: 0.9,
    texture_shift_accuracy: null,
    corruption_accuracy: null,
    shape_bias: null,
  });
  assert.deepEqual(none.shape_bias.overall, { shape: 0, texture: 0, other: 0, shape_bias: null });
  // Unequal corruption conditions are refused (pooled would not be the mean).
  const short = { ...corr("corruption:x:1"), images: ["a#x"], labels: [0] };
  assert.throws(
    () => validateConditions([corr("corruption:noise:1"), short], 3),
    /corruption:x:1: 1 images, other corruption conditions 3/,
  );
});

Deno.test("scoreEvaluation: mismatches are clear errors", () => {
  const good = { "texture:a": [0, 1, 2, 1], cue_conflict: [0, 1, 2] };
  assert.throws(
    () => scoreEvaluation([TEXTURE, CUE], { ...good, "texture:a": [0, 1] }, CLASSES, 1),
    /2 predictions for condition texture:a of 4 images/,
  );
  assert.throws(
    () => scoreEvaluation([TEXTURE, CUE], { "texture:a": good["texture:a"] }, CLASSES, 1),
    /no predictions for condition cue_conflict/,
  );
  assert.throws(
    () => scoreEvaluation([TEXTURE], good, CLASSES, 1),
    /predictions for unknown condition cue_conflict/,
  );
  assert.throws(
    () => scoreEvaluation([TEXTURE, { ...CUE, texture_labels: [1] }], good, CLASSES, 1),
    /cue_conflict: 1 texture labels for 3 images/,
  );
  assert.throws(
    () => scoreEvaluation([{ ...TEXTURE, labels: [0] }], good, CLASSES, 1),
    /texture:a: 1 labels for 4 images/,
  );
  assert.throws(
    () => scoreEvaluation([TEXTURE, TEXTURE], good, CLASSES, 1),
    /texture:a: name repeated/,
  );
  assert.throws(
    () => scoreEvaluation([TEXTURE, CUE, { ...CUE, name: "cue2" }], good, CLASSES, 1),
    /2 cue-conflict conditions/,
  );
  assert.throws(() => scoreEvaluation([], {}, CLASSES, 1.5), /clean accuracy 1.5/);
});
