import assert from "node:assert/strict";
import { SHARED_WEIGHTS, sharedPath } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { layersUpTo } from "../../src/vgg/layers.ts";
import { Vgg19 } from "../../src/vgg/model.ts";
import { loadVggWeights } from "../../src/vgg/weights.ts";
import { type GatysConfig, GatysOptimizer } from "../../src/style/engine.ts";
import { loadImage } from "../../src/images/io.ts";
import { DEFAULT_ADAM } from "../../src/style/options.ts";
import { STOCK_KERNELS, useKernels } from "../../src/ops/active.ts";
import { fromBatchTensor, stylizeBatch } from "../../src/style/run.ts";

const contentLayer = "block2_conv1";
const styleLayers = ["block1_conv1", "block2_conv1"];
const specs = layersUpTo([contentLayer, ...styleLayers]);
const weights = await loadVggWeights(SHARED_WEIGHTS, specs);

function seeded(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.randomUniform(shape, 0, 1, "float32", seed), 255) as tf.Tensor4D);
}

const config = (init: GatysConfig["init"]): GatysConfig => ({
  contentLayer,
  styleLayers,
  alpha: 1e3,
  beta: 1,
  adam: { ...DEFAULT_ADAM },
  init,
  seed: 0,
});

Deno.test("d(total loss)/d(pixels) agrees with central finite differences", async () => {
  await initBackend("cpu");
  const vgg = Vgg19.create(weights, specs);
  const content = seeded([1, 6, 6, 3], 1),
    style = seeded([1, 6, 6, 3], 2),
    start = seeded([1, 6, 6, 3], 3);
  const opt = GatysOptimizer.create(vgg, content, style, config(start));
  const { grad } = await opt.gradient();
  const g = await grad.data(); // BGR, preprocessed space: d/dRGB[c] = d/dx[2-c]
  opt.dispose();
  grad.dispose();
  const totalAt = async (img: tf.Tensor4D) => {
    const o = GatysOptimizer.create(vgg, content, style, config(img));
    const [l] = await o.evaluate();
    o.dispose();
    return l.total_loss;
  };
  const base = await start.data();
  // The 6 pixels with the largest gradients: finite differences are meaningful there in float32.
  const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 6);
  const h = 0.5;
  for (const k of order) {
    const p = Math.floor(k / 3), cBgr = k % 3, rgbIndex = p * 3 + (2 - cBgr);
    const plus = Float32Array.from(base), minus = Float32Array.from(base);
    plus[rgbIndex] += h;
    minus[rgbIndex] -= h;
    const tp = tf.tensor4d(plus, [1, 6, 6, 3]), tm = tf.tensor4d(minus, [1, 6, 6, 3]);
    const fd = ((await totalAt(tp)) - (await totalAt(tm))) / (2 * h);
    tf.dispose([tp, tm]);
    // float32 losses of ~1e7 with h = 0.5: a few percent is the attainable agreement.
    assert.ok(
      Math.abs(fd - g[k]) <= 0.03 * Math.abs(g[k]),
      `pixel ${k}: analytic ${g[k]} vs fd ${fd}`,
    );
  }
  tf.dispose([content, style, start]);
  vgg.dispose();
});

Deno.test("Adam lowers the total loss on a real image and leaks no tensors", async () => {
  await initBackend("wasm");
  const vgg = Vgg19.create(weights, specs);
  const img = await loadImage(sharedPath("data/caltech101/crab/image_0001.jpg"), { longSide: 32 });
  const sty = await loadImage(sharedPath("data/styles/composition_vii.jpg"), { longSide: 32 });
  const content = tf.tensor4d(img.data, [1, img.height, img.width, 3]);
  const style = tf.tensor4d(sty.data, [1, sty.height, sty.width, 3]);
  const opt = GatysOptimizer.create(vgg, content, style, config("content"));
  const first = (await opt.step())[0].total_loss;
  await opt.step(); // Adam's first steps settle the moments
  const before = tf.memory().numTensors;
  let last = 0;
  for (let i = 0; i < 8; i++) last = (await opt.step())[0].total_loss;
  assert.equal(tf.memory().numTensors, before, "tensor count changed across iterations");
  assert.ok(last < first, `loss did not fall: ${first} -> ${last}`);
  assert.ok(opt.bestLosses[0] <= last);
  const best = opt.best();
  assert.deepEqual(best.shape, [1, img.height, img.width, 3]);
  best.dispose();
  opt.dispose();
  tf.dispose([content, style]);
  vgg.dispose();
  assert.equal(tf.memory().numTensors, 0, "tensors left after dispose");
});

Deno.test("each image of a batch keeps its own loss", async () => {
  await initBackend("wasm");
  const vgg = Vgg19.create(weights, specs);
  const a = seeded([1, 8, 8, 3], 4), b = seeded([1, 8, 8, 3], 5), style = seeded([1, 8, 8, 3], 6);
  const start = seeded([1, 8, 8, 3], 7); // one start image, tiled over the batch
  const single = async (c: tf.Tensor4D) => {
    const o = GatysOptimizer.create(vgg, c, style, config(start));
    const [l] = await o.evaluate();
    o.dispose();
    return l;
  };
  const both = tf.concat([a, b]) as tf.Tensor4D;
  const o = GatysOptimizer.create(vgg, both, style, config(start));
  const batch = await o.evaluate();
  o.dispose();
  const la = await single(a), lb = await single(b);
  for (const [got, want] of [[batch[0], la], [batch[1], lb]]) {
    for (const k of ["content_loss", "style_loss", "total_loss"] as const) {
      assert.ok(Math.abs(got[k] - want[k]) <= 1e-4 * want[k], `${k}: ${got[k]} vs ${want[k]}`);
    }
  }
  assert.notEqual(batch[0].content_loss, batch[1].content_loss);
  tf.dispose([a, b, style, both, start]);
  vgg.dispose();
});

Deno.test("the best image is chosen after at least one update, never the start", async () => {
  await initBackend("cpu");
  const vgg = Vgg19.create(weights, specs);
  const [content] = await fromBatchTensor(seeded([1, 8, 8, 3], 8));
  const [style] = await fromBatchTensor(seeded([1, 8, 8, 3], 9));
  // A huge learning rate: the first update throws the pixels to the bounds and the loss rises.
  const cfg = { ...config("content"), adam: { ...DEFAULT_ADAM, learningRate: 1e4 } };
  const r = await stylizeBatch(vgg, [content], style, cfg, { iterations: 2 });
  const h = r.histories[0];
  assert.ok(
    h[1].total_loss > h[0].total_loss,
    `loss did not rise: ${h[0].total_loss} -> ${h[1].total_loss}`,
  );
  assert.ok(r.bestSteps[0] !== null && r.bestSteps[0] >= 1, `best step ${r.bestSteps[0]}`);
  const best = Math.min(h[1].total_loss, h[2].total_loss);
  assert.equal(h[r.bestSteps[0]!].total_loss, best);
  const maxDiff = Math.max(...r.images[0].data.map((v, i) => Math.abs(v - content.data[i])));
  assert.ok(maxDiff > 10, `the result is the content image (max |diff| ${maxDiff})`);
  assert.deepEqual(h.map((l) => l.evaluations), [1, 2, 3]);

  // Zero iterations: no update, no best step, the starting image comes back.
  const z = await stylizeBatch(vgg, [content], style, cfg, { iterations: 0 });
  assert.deepEqual(z.bestSteps, [null]);
  assert.equal(z.histories[0].length, 1);
  const zDiff = Math.max(...z.images[0].data.map((v, i) => Math.abs(v - content.data[i])));
  assert.ok(zDiff < 1e-3, `zero iterations changed the image by ${zDiff}`);
  vgg.dispose();
});

Deno.test("every step, Adam or L-BFGS, lets the kernel set measure new shapes after it", async () => {
  await initBackend("cpu");
  const vgg = Vgg19.create(weights, specs);
  const content = seeded([1, 6, 6, 3], 1), style = seeded([1, 6, 6, 3], 2);
  let calls = 0;
  useKernels({
    ...STOCK_KERNELS,
    tunePending: () => {
      calls++;
      return Promise.resolve();
    },
  });
  try {
    for (const optimizer of ["adam", "lbfgs"] as const) {
      const opt = GatysOptimizer.create(vgg, content, style, {
        ...config("content"),
        ...(optimizer === "lbfgs" ? { optimizer, lbfgs: {} } : {}),
      });
      await opt.step();
      await opt.step();
      opt.dispose();
    }
  } finally {
    useKernels(STOCK_KERNELS);
    tf.dispose([content, style]);
    vgg.dispose();
  }
  assert.equal(calls, 4);
});
