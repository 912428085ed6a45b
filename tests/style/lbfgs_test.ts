import assert from "node:assert/strict";
import { SHARED_WEIGHTS, sharedPath } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { Lbfgs, type RowObjective } from "../../src/style/lbfgs.ts";
import { layersUpTo } from "../../src/vgg/layers.ts";
import { Vgg19 } from "../../src/vgg/model.ts";
import { loadVggWeights } from "../../src/vgg/weights.ts";
import { GatysOptimizer } from "../../src/style/engine.ts";
import { loadImage } from "../../src/images/io.ts";
import { DEFAULT_ADAM, DEFAULT_LBFGS } from "../../src/style/options.ts";
import { stylizeBatch } from "../../src/style/run.ts";

/** Wrap a tidy (values [B], grad [B, N]) function as a RowObjective. */
function rows(f: (x: tf.Tensor2D) => [tf.Tensor1D, tf.Tensor2D]): RowObjective {
  return async (x) => {
    const [v, grad] = tf.tidy(() => f(x));
    const values = Array.from(await v.data());
    v.dispose();
    return { values, grad };
  };
}

/** f = 0.5 (x - x*)^T A (x - x*) per row, scaled per row; A is SPD (condition ~ 30). */
function quadratic(xStar: number[][], scale: number[] = xStar.map(() => 1)) {
  const n = xStar[0].length;
  const a: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) a.push(i === j ? 1 + 4 * i : 0.5 / (1 + Math.abs(i - j)));
  }
  const A = tf.tensor2d(a, [n, n]);
  const target = tf.tensor2d(xStar);
  const s = tf.tensor2d(scale, [scale.length, 1]);
  const fn = rows((x) => {
    const d = tf.sub(x, target);
    const ad = tf.mul(tf.matMul(d, A), s) as tf.Tensor2D;
    return [tf.mul(tf.sum(tf.mul(d, ad), 1), 0.5) as tf.Tensor1D, ad];
  });
  return { fn, dispose: () => tf.dispose([A, target, s]) };
}

async function maxAbsDiff(a: tf.Tensor, b: number[][]): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, tf.tensor2d(b)))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

Deno.test("L-BFGS reaches a convex quadratic's minimiser to 1e-4 in few iterations", async () => {
  await initBackend("cpu");
  const xStar = [[1, -2, 3, 0.5, -1, 2]];
  const q = quadratic(xStar);
  const x0 = tf.zeros([1, 6]) as tf.Tensor2D;
  const opt = await Lbfgs.start(q.fn, x0);
  let it = 0;
  let err = Infinity;
  while (it < 15) {
    await opt.iterate();
    it++;
    const x = opt.current();
    err = await maxAbsDiff(x, xStar);
    x.dispose();
    if (err < 1e-4) break;
  }
  assert.ok(err < 1e-4, `|x - x*| = ${err} after ${it} iterations`);
  assert.ok(opt.evaluations >= it + 1);
  opt.dispose();
  q.dispose();
  x0.dispose();
});

Deno.test("L-BFGS finds the 2-D Rosenbrock minimum at (1, 1)", async () => {
  await initBackend("cpu");
  const fn = rows((x) => {
    const [a, b] = tf.split(x, 2, 1);
    const r = tf.sub(b, tf.square(a));
    const value = tf.add(tf.square(tf.sub(1, a)), tf.mul(tf.square(r), 100));
    const ga = tf.sub(tf.mul(tf.sub(a, 1), 2), tf.mul(tf.mul(r, a), 400));
    const gb = tf.mul(r, 200);
    return [tf.reshape(value, [-1]) as tf.Tensor1D, tf.concat([ga, gb], 1) as tf.Tensor2D];
  });
  const x0 = tf.tensor2d([[-1.2, 1]]);
  const opt = await Lbfgs.start(fn, x0);
  for (let i = 0; i < 150 && opt.values[0] > 1e-10; i++) await opt.iterate();
  const x = opt.current();
  const err = await maxAbsDiff(x, [[1, 1]]);
  assert.ok(err < 1e-3, `Rosenbrock: |x - (1,1)| = ${err}, f = ${opt.values[0]}`);
  assert.ok(opt.iteration < 150, `took ${opt.iteration} iterations`);
  tf.dispose([x, x0]);
  opt.dispose();
});

Deno.test("L-BFGS with a box ends on the bound where the minimum lies outside", async () => {
  await initBackend("cpu");
  const c = tf.tensor1d([2, -3, 0.5, 0.9]);
  const fn = rows((x) => {
    const d = tf.sub(x, c);
    return [tf.sum(tf.square(d), 1) as tf.Tensor1D, tf.mul(d, 2) as tf.Tensor2D];
  });
  const lo = tf.zeros([4]), hi = tf.ones([4]);
  const x0 = tf.fill([1, 4], 0.3) as tf.Tensor2D;
  const opt = await Lbfgs.start(fn, x0, {}, { lo, hi });
  for (let i = 0; i < 20; i++) await opt.iterate();
  const x = opt.current();
  const v = await x.data();
  assert.equal(v[0], 1, `upper bound: ${v[0]}`);
  assert.equal(v[1], 0, `lower bound: ${v[1]}`);
  assert.ok(Math.abs(v[2] - 0.5) < 1e-4, `free: ${v[2]}`);
  assert.ok(Math.abs(v[3] - 0.9) < 1e-4, `free: ${v[3]}`);
  assert.ok(Math.abs(opt.values[0] - (1 + 9)) < 1e-4, `f = ${opt.values[0]}`);
  tf.dispose([x, x0, c, lo, hi]);
  opt.dispose();
});

Deno.test("each row of a batch is its own problem (same path as when run alone)", async () => {
  await initBackend("cpu");
  // Very different scales: a shared step size or shared curvature would break one of them.
  const stars = [[1, -2, 3, 0.5, -1, 2], [-5, 4, 0, 2, 8, -3]];
  const scales = [1, 1000];
  const run = async (idx: number[]) => {
    const q = quadratic(idx.map((i) => stars[i]), idx.map((i) => scales[i]));
    const x0 = tf.zeros([idx.length, 6]) as tf.Tensor2D;
    const opt = await Lbfgs.start(q.fn, x0);
    for (let i = 0; i < 6; i++) await opt.iterate();
    const x = opt.current();
    const v = Array.from(await x.data());
    tf.dispose([x, x0]);
    opt.dispose();
    q.dispose();
    return v;
  };
  const both = await run([0, 1]);
  const a = await run([0]), b = await run([1]);
  for (let j = 0; j < 6; j++) {
    assert.ok(Math.abs(both[j] - a[j]) <= 1e-5 * (1 + Math.abs(a[j])), `row 0[${j}]`);
    assert.ok(Math.abs(both[6 + j] - b[j]) <= 1e-5 * (1 + Math.abs(b[j])), `row 1[${j}]`);
  }
  // And both keep converging to their own minimisers.
  const q = quadratic(stars, scales);
  const x0 = tf.zeros([2, 6]) as tf.Tensor2D;
  const opt = await Lbfgs.start(q.fn, x0);
  for (let i = 0; i < 25; i++) await opt.iterate();
  const x = opt.current();
  const err = await maxAbsDiff(x, stars);
  assert.ok(err < 1e-3, `|x - x*| = ${err}`);
  tf.dispose([x, x0]);
  opt.dispose();
  q.dispose();
});

Deno.test("L-BFGS iterations leak no tensors", async () => {
  await initBackend("cpu");
  const q = quadratic([[1, 2, 3, 4, 5, 6], [0, 0, 1, 1, 2, 2]]);
  const x0 = tf.zeros([2, 6]) as tf.Tensor2D;
  const lo = tf.fill([6], -1), hi = tf.fill([6], 2.5);
  const opt = await Lbfgs.start(q.fn, x0, { history: 3 }, { lo, hi });
  for (let i = 0; i < 3; i++) await opt.iterate(); // fill the 3 history slots
  const before = tf.memory().numTensors;
  // Pairs are now dropped as new ones arrive: the count must stay put.
  for (let i = 0; i < 8; i++) await opt.iterate();
  assert.equal(tf.memory().numTensors, before, "tensor count changed across iterations");
  opt.dispose();
  tf.dispose([x0, lo, hi]);
  q.dispose();
  assert.equal(tf.memory().numTensors, 0, "tensors left after dispose");
});

Deno.test("L-BFGS on the real weights (24 px) lowers the loss below Adam's", async () => {
  await initBackend("cpu");
  const contentLayer = "block2_conv1", styleLayers = ["block1_conv1", "block2_conv1"];
  const specs = layersUpTo([contentLayer, ...styleLayers]);
  const vgg = Vgg19.create(await loadVggWeights(SHARED_WEIGHTS, specs), specs);
  const img = await loadImage(sharedPath("data/caltech101/crab/image_0001.jpg"), {
    exact: { width: 24, height: 24 },
  });
  const sty = await loadImage(sharedPath("data/styles/composition_vii.jpg"), { longSide: 24 });
  const base = {
    contentLayer,
    styleLayers,
    alpha: 1e3,
    beta: 1,
    adam: { ...DEFAULT_ADAM },
    init: "content" as const,
    seed: 0,
  };
  const before = tf.memory().numTensors;
  const iterations = 10;
  const adam = await stylizeBatch(vgg, [img], sty, base, { iterations });
  const lb = await stylizeBatch(vgg, [img], sty, {
    ...base,
    optimizer: "lbfgs",
    lbfgs: { ...DEFAULT_LBFGS },
  }, { iterations });
  assert.equal(tf.memory().numTensors, before, "stylizeBatch leaked tensors");
  const h = lb.histories[0];
  assert.equal(h.length, iterations + 1);
  const start = h[0].total_loss, end = h[iterations].total_loss;
  const adamEnd = Math.min(...adam.histories[0].slice(1).map((r) => r.total_loss));
  assert.ok(end < start, `L-BFGS did not lower the loss: ${start} -> ${end}`);
  // Armijo: every accepted iterate is no worse than the one before.
  for (let i = 1; i < h.length; i++) assert.ok(h[i].total_loss <= h[i - 1].total_loss);
  assert.ok(end < adamEnd, `L-BFGS ${end} not below Adam's ${adamEnd} after ${iterations} steps`);
  assert.ok(h[iterations].evaluations >= iterations + 1);
  for (let i = 1; i < h.length; i++) assert.ok(h[i].evaluations > h[i - 1].evaluations);
  assert.equal(lb.bestSteps[0], iterations);
  vgg.dispose();
});

Deno.test("GatysOptimizer with L-BFGS keeps the tensor count constant across steps", async () => {
  await initBackend("cpu");
  const specs = layersUpTo(["block1_conv1"]);
  const vgg = Vgg19.create(await loadVggWeights(SHARED_WEIGHTS, specs), specs);
  const content = tf.tidy(() => tf.mul(tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 1), 255));
  const style = tf.tidy(() => tf.mul(tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 2), 255));
  const opt = GatysOptimizer.create(vgg, content as tf.Tensor4D, style as tf.Tensor4D, {
    contentLayer: "block1_conv1",
    styleLayers: ["block1_conv1"],
    alpha: 1e3,
    beta: 1,
    adam: { ...DEFAULT_ADAM },
    optimizer: "lbfgs",
    lbfgs: { history: 2 },
    init: "random",
    seed: 3,
  });
  await opt.step();
  await opt.step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) await opt.step();
  assert.equal(tf.memory().numTensors, before, "tensor count changed across L-BFGS steps");
  await opt.evaluate();
  assert.equal(opt.bestSteps.filter((s) => s !== null).length, 2);
  opt.dispose();
  tf.dispose([content, style]);
  vgg.dispose();
});
