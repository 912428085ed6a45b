import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend, tf } from "../../src/tf.ts";
import { loadImage, type RgbImage } from "../../src/images/io.ts";
import {
  type Backbone,
  cnnLearningRate,
  conv3x3Same,
  type DEFAULT_CNN_CONFIG,
  extractFeatures,
  type FeatureCache,
  loadBackbone,
  predict,
  trainClassifier,
} from "../../src/study/classifier.ts";
import { mulberry32 } from "../../src/util/random.ts";
import { SHARED, SHARED_WEIGHTS } from "../_env.ts";

/**
 * Three classes told apart only by spatial pattern, not by mean colour:
 * horizontal stripes, vertical stripes, and a checkerboard, each with a
 * random phase and pixel noise.
 */
function synthetic(
  n: number,
  size: number,
  seed: number,
): { images: RgbImage[]; labels: number[] } {
  const rng = mulberry32(seed);
  const images: RgbImage[] = [], labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    const period = 4, phase = Math.floor(rng() * period);
    const data = new Float32Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = label === 0
          ? ((y + phase) % period) < period / 2
          : label === 1
          ? ((x + phase) % period) < period / 2
          : (Math.floor((x + phase) / 2) + Math.floor(y / 2)) % 2 === 0;
        for (let c = 0; c < 3; c++) {
          data[3 * (y * size + x) + c] = (on ? 200 : 60) + (rng() - 0.5) * 60;
        }
      }
    }
    images.push({ data, width: size, height: size });
    labels.push(label);
  }
  return { images, labels };
}

const accuracy = (pred: number[], truth: number[]) =>
  pred.filter((p, i) => p === truth[i]).length / truth.length;

await initBackend("wasm");

/** Reference 3x3 'same' convolution as patches times a matrix; tfjs differentiates it everywhere. */
function im2colConv(x: tf.Tensor4D, k: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const p = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const cols: tf.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++) {
    for (let dx = 0; dx < 3; dx++) cols.push(tf.slice(p, [0, dy, dx, 0], [b, h, w, c]));
  }
  const patches = tf.reshape(tf.concat(cols, 3), [b * h * w, 9 * c]);
  return tf.reshape(tf.matMul(patches, tf.reshape(k, [9 * c, k.shape[3]])), [b, h, w, k.shape[3]]);
}

Deno.test("conv3x3Same with its own gradients matches a reference convolution, values and gradients", () => {
  const rng = mulberry32(4);
  const rand = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng() - 0.5),
      shape,
    );
  const x = rand([2, 5, 6, 3]) as tf.Tensor4D, k = rand([3, 3, 3, 4]) as tf.Tensor4D;
  const r = rand([2, 5, 6, 4]); // random upstream gradient
  const maxErr = (a: tf.Tensor, b: tf.Tensor) =>
    tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(conv3x3Same(a as tf.Tensor4D, b as tf.Tensor4D, true), r))
  )([x, k]);
  const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(im2colConv(a as tf.Tensor4D, b as tf.Tensor4D), r))
  )([x, k]);
  const y = conv3x3Same(x, k, true), yRef = im2colConv(x, k);
  assert.ok(maxErr(y, yRef) < 1e-5, `value error ${maxErr(y, yRef)}`);
  assert.ok(maxErr(ours[0], ref[0]) < 1e-5, `input gradient error ${maxErr(ours[0], ref[0])}`);
  assert.ok(maxErr(ours[1], ref[1]) < 1e-5, `kernel gradient error ${maxErr(ours[1], ref[1])}`);
  tf.dispose([x, k, r, y, yRef, ...ours, ...ref]);
});

Deno.test("cnn learns a synthetic three-class texture problem, deterministically and without leaks", async () => {
  const train = synthetic(30, 16, 1), test = synthetic(30, 16, 2);
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const opts = { cnn: { size: 16, filters: [8, 16], steps: 150, seed: 3 } };
  const m = await trainClassifier("cnn", train, opts);
  const pred = await predict(m, test.images);
  const acc = accuracy(pred, test.labels);
  assert.ok(acc >= 0.8, `cnn accuracy ${acc}, chance 0.33`);
  assert.equal(m.record.kind, "cnn");
  assert.equal(m.record.config.steps, 150);
  assert.deepEqual((m.record.config as typeof DEFAULT_CNN_CONFIG).filters, [8, 16]);
  assert.equal(m.record.lossHistory.at(-1)!.step, 150);
  assert.ok(m.record.lossHistory.at(-1)!.loss < m.record.lossHistory[0].loss);
  const m2 = await trainClassifier("cnn", train, opts);
  assert.deepEqual(await predict(m2, test.images), pred);
  assert.deepEqual(m2.record.lossHistory, m.record.lossHistory);
  m.dispose();
  m2.dispose();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  console.log(
    `  cnn: accuracy ${acc.toFixed(2)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
});

Deno.test("cnnLearningRate: warm-up, cosine and constant schedules match hand-computed values", () => {
  const close = (a: number[], b: number[]) =>
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-9, `step ${i + 1}: ${v} vs ${b[i]}`));
  const base = { learningRate: 1, warmupSteps: 0, minLearningRateFraction: 0 };
  // 0.5 * (1 + cos(pi * k / 4)) for k = 0..4.
  close([1, 2, 3, 4, 5].map((s) => cnnLearningRate(s, { ...base, steps: 5, schedule: "cosine" })), [
    1,
    0.8535533905932737,
    0.5,
    0.14644660940672624,
    0,
  ]);
  // Warm-up 0.05, 0.1; then 0.01 + 0.09 * 0.5 * (1 + cos(pi * k / 3)) for k = 0..3.
  const c = {
    steps: 6,
    learningRate: 0.1,
    warmupSteps: 2,
    minLearningRateFraction: 0.1,
    schedule: "cosine" as const,
  };
  close([1, 2, 3, 4, 5, 6].map((s) => cnnLearningRate(s, c)), [
    0.05,
    0.1,
    0.1,
    0.0775,
    0.0325,
    0.01,
  ]);
  const k = { ...c, schedule: "constant" as const };
  close([1, 2, 3, 6].map((s) => cnnLearningRate(s, k)), [0.05, 0.1, 0.1, 0.1]);
});

Deno.test("cnn with batch norm, dropout, label smoothing, weight decay and a cosine schedule: learns, predicts deterministically, no leaks", async () => {
  const train = synthetic(30, 16, 1), test = synthetic(30, 16, 2);
  const before = tf.memory().numTensors;
  const opts = {
    cnn: {
      size: 16,
      filters: [8, 16],
      steps: 150,
      seed: 3,
      batchNorm: true,
      dropout: 0.5,
      labelSmoothing: 0.1,
      weightDecay: 0.05,
      l2: 0,
      schedule: "cosine" as const,
      warmupSteps: 10,
      learningRate: 3e-3,
      inputNorm: "channel" as const,
    },
  };
  const m = await trainClassifier("cnn", train, opts);
  // Dropout is off at predict time: the same images give the same probabilities every call.
  const p1 = await m.probabilities(test.images), p2 = await m.probabilities(test.images);
  assert.deepEqual(p1, p2);
  for (const row of p1) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  // Predict-time batch norm uses frozen statistics: an image's prediction does not depend on
  // the other images of its batch.
  const alone = await m.probabilities(test.images.slice(0, 1));
  alone[0].forEach((v, j) => assert.ok(Math.abs(v - p1[0][j]) < 1e-5));
  const acc = accuracy(await predict(m, test.images), test.labels);
  assert.ok(acc >= 0.8, `cnn accuracy ${acc}, chance 0.33`);
  const m2 = await trainClassifier("cnn", train, opts);
  assert.deepEqual(m2.record.lossHistory, m.record.lossHistory);
  m.dispose();
  m2.dispose();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  await assert.rejects(
    () => trainClassifier("cnn", train, { cnn: { ...opts.cnn, dropout: 1 } }),
    RangeError,
  );
  assert.equal(tf.memory().numTensors, before, "tensors leaked after a rejected config");
});

Deno.test("the transfer head learns linearly separable synthetic features without leaks", async () => {
  // A stand-in backbone is not needed: the head trains on cached features, so
  // seeding the cache with separable vectors tests the head alone.
  const backbone = await loadBackbone(SHARED_WEIGHTS, "block1_conv2");
  const cache: FeatureCache = new Map();
  const rng = mulberry32(11);
  const d = backbone.featureDim;
  const make = (n: number, tag: string) => {
    const names: string[] = [], labels: number[] = [], images: RgbImage[] = [];
    for (let i = 0; i < n; i++) {
      const label = i % 3;
      const v = new Float32Array(d).map(() => rng());
      v[label] += 3; // a class-specific direction plus noise
      const name = `${tag}${i}`;
      cache.set(`${backbone.weightsIdentity}|${backbone.layer}|8|${name}`, v);
      names.push(name);
      labels.push(label);
      images.push({ data: new Float32Array(8 * 8 * 3), width: 8, height: 8 });
    }
    return { names, labels, images };
  };
  const train = make(30, "train"), test = make(60, "test");
  const before = tf.memory().numTensors;
  const m = await trainClassifier("transfer", train, { backbone, cache, transfer: { size: 8 } });
  const acc = accuracy(await predict(m, test.images, test.names), test.labels);
  assert.ok(acc >= 0.9, `head accuracy ${acc}`);
  m.dispose();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  backbone.vgg.dispose();
});

Deno.test("trainClassifier rejects bad labels and a transfer run without a backbone", async () => {
  const img = { data: new Float32Array(8 * 8 * 3), width: 8, height: 8 };
  await assert.rejects(() => trainClassifier("cnn", { images: [img], labels: [0, 1] }), RangeError);
  await assert.rejects(
    () => trainClassifier("cnn", { images: [img, img], labels: [0, 3] }, { numClasses: 3 }),
    RangeError,
  );
  await assert.rejects(
    () => trainClassifier("transfer", { images: [img], labels: [0] }),
    /backbone/,
  );
});

Deno.test("loadBackbone picks the deepest block end the shared weights hold and says why", async () => {
  const b = await loadBackbone(SHARED_WEIGHTS);
  assert.equal(b.layer, "block3_conv4");
  assert.equal(b.featureDim, 256);
  assert.equal(b.skipped.length, 2);
  assert.match(b.skipped[0], /^block5_conv4: .*block4_conv1/);
  b.vgg.dispose();
  await assert.rejects(() => loadBackbone("/nonexistent/weights"), /does not exist/);
});

const TRAIN = 10, TEST = 20;

/** Smallest k with P(Binomial(n, p) >= k) < alpha. */
function binomialThreshold(n: number, p: number, alpha: number): number {
  let tail = 1; // P(X >= k), starting at k = 0
  let pmf = (1 - p) ** n; // P(X = 0)
  for (let k = 0; k <= n; k++) {
    if (tail < alpha) return k;
    tail -= pmf;
    pmf *= ((n - k) / (k + 1)) * (p / (1 - p));
  }
  return n + 1;
}

let shared: Backbone | null = null;
Deno.test({
  name: "transfer on real Caltech-101 images (64 px, 10 train / 20 test per class) beats chance",
  sanitizeResources: false,
  async fn() {
    const t0 = performance.now();
    shared = await loadBackbone(SHARED_WEIGHTS);
    const classes = ["butterfly", "crab", "scorpion"];
    const train: { images: RgbImage[]; labels: number[]; names: string[] } = {
      images: [],
      labels: [],
      names: [],
    };
    const test = { images: [] as RgbImage[], labels: [] as number[], names: [] as string[] };
    for (const [label, cls] of classes.entries()) {
      const dir = join(SHARED, "data", "caltech101", cls);
      const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".jpg"))
        .sort();
      // Fixed, disjoint picks: the first TRAIN train, the next TEST test.
      for (const [i, f] of files.slice(0, TRAIN + TEST).entries()) {
        const into = i < TRAIN ? train : test;
        into.images.push(await loadImage(join(dir, f), { exact: { width: 64, height: 64 } }));
        into.labels.push(label);
        into.names.push(`${cls}/${f}`);
      }
    }
    const cache: FeatureCache = new Map();
    const before = tf.memory().numTensors;
    const m = await trainClassifier("transfer", train, {
      backbone: shared,
      cache,
      transfer: { size: 64 },
    });
    assert.equal(cache.size, 3 * TRAIN);
    const pred = await predict(m, test.images, test.names);
    assert.equal(cache.size, 3 * (TRAIN + TEST));
    const acc = accuracy(pred, test.labels);
    // Beating chance (1/3) means more correct answers than guessing gives with p < 0.01.
    const need = binomialThreshold(test.labels.length, 1 / 3, 0.01);
    const correct = Math.round(acc * test.labels.length);
    assert.ok(correct >= need, `transfer: ${correct}/${test.labels.length} correct, need ${need}`);
    // Cached features are reused: a second extraction gives the identical vectors.
    const again = await extractFeatures(shared, test.images.slice(0, 2), {
      size: 64,
      names: test.names.slice(0, 2),
      cache,
    });
    assert.equal(again[0], cache.get(`${shared.weightsIdentity}|block3_conv4|64|${test.names[0]}`));
    m.dispose();
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
    shared.vgg.dispose();
    console.log(
      `  transfer: ${correct}/${test.labels.length} (need ${need}) in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
  },
});
