/**
 * The whole Gatys step on the custom kernels against the stock step, and a
 * leak check over 200 iterations. 16x16 images and VGG19 blocks 1-2 (real
 * weights from the shared folder when present), so llvmpipe runs it in
 * seconds.
 *
 * Tolerance: losses and the image gradient within 1e-3 of the stock values
 * relative to their magnitude (different summation orders through 3 convs,
 * a pool, the Gram matrices and back).
 */
import assert from "node:assert/strict";
import { HAS_WEBGPU, SHARED_WEIGHTS } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { STOCK_KERNELS, useKernels } from "../../src/ops/active.ts";
import { selectKernels } from "../../src/gpu/select.ts";
import { GpuContext } from "../../src/gpu/device.ts";
import { layersUpTo } from "../../src/vgg/layers.ts";
import { preprocess, Vgg19 } from "../../src/vgg/model.ts";
import { loadVggWeights, type VggWeights } from "../../src/vgg/weights.ts";
import { type GatysConfig, GatysOptimizer } from "../../src/style/engine.ts";
import { contentLoss, gram, styleLayerLoss } from "../../src/style/losses.ts";
import { assertClose, GPU_TEST, randomArray } from "./_util.ts";

const CONTENT = "block2_conv1";
const STYLE = ["block1_conv1", "block1_conv2", "block2_conv1"];
const SPECS = layersUpTo([CONTENT, ...STYLE]);
const CONFIG: GatysConfig = {
  contentLayer: CONTENT,
  styleLayers: STYLE,
  alpha: 1e4,
  beta: 1,
  adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 },
  init: "content",
  seed: 0,
};

async function weights(): Promise<VggWeights> {
  try {
    return await loadVggWeights(SHARED_WEIGHTS, SPECS);
  } catch {
    console.warn(`step_test: no weights at ${SHARED_WEIGHTS}, using random ones`);
    const layers = new Map<string, { kernel: Float32Array; bias: Float32Array }>();
    for (const s of SPECS) {
      const r = Math.sqrt(6 / (9 * s.cIn));
      layers.set(s.name, {
        kernel: randomArray(9 * s.cIn * s.cOut, s.cOut + s.cIn, -r, r),
        bias: randomArray(s.cOut, s.cIn, -0.1, 0.1),
      });
    }
    return { source: "random", format: "tfjs", identity: "random", layers };
  }
}

function image(seed: number, h = 16, w = 16): tf.Tensor4D {
  return tf.tensor4d(randomArray(h * w * 3, seed, 0, 255), [1, h, w, 3]);
}

Deno.test({
  name: "Gatys objective: custom kernels give the stock losses and image gradient",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    const custom = await selectKernels("custom");
    const vgg = Vgg19.create(await weights(), SPECS);
    // 18x14: odd pooled sizes (9x7) on the way to block 2.
    const content = image(1, 18, 14), style = image(2, 18, 14), x0 = image(3, 18, 14);
    const results = [];
    try {
      for (const set of [STOCK_KERNELS, custom]) {
        useKernels(set);
        const out = tf.tidy(() => {
          const target = vgg.features(preprocess(content), [CONTENT])[CONTENT];
          const sFeats = vgg.features(preprocess(style), STYLE);
          const targets = STYLE.map((n) => tf.squeeze(gram(sFeats[n]), [0]) as tf.Tensor2D);
          const f = (x: tf.Tensor) => {
            const feats = vgg.features(x as tf.Tensor4D, [CONTENT, ...STYLE]);
            const c = contentLoss(feats[CONTENT], target);
            const s = tf.addN(STYLE.map((n, i) => styleLayerLoss(feats[n], targets[i])));
            return tf.stack([c, s]) as tf.Tensor;
          };
          const parts = f(preprocess(x0));
          const { grad } = tf.valueAndGrad((x: tf.Tensor) => {
            const p = f(x);
            return tf.add(tf.mul(p.gather(0), CONFIG.alpha), tf.mul(p.gather(1), CONFIG.beta))
              .sum() as tf.Scalar;
          })(preprocess(x0));
          return [parts, grad, ...targets];
        });
        results.push(await Promise.all(out.map(async (t) => new Float32Array(await t.data()))));
        tf.dispose(out);
      }
    } finally {
      useKernels(STOCK_KERNELS);
      vgg.dispose();
      tf.dispose([content, style, x0]);
    }
    const [stock, mine] = results;
    assert.ok(stock[0].every((v) => Number.isFinite(v) && v > 0), `losses ${stock[0]}`);
    assertClose(mine.slice(2), stock.slice(2), 1e-4, "style target Grams");
    assertClose([mine[0]], [stock[0]], 1e-3, "content and style losses");
    assertClose([mine[1]], [stock[1]], 1e-3, "image gradient");
  },
});

Deno.test({
  name: "GatysOptimizer: 3 custom steps follow the stock steps",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    const custom = await selectKernels("custom");
    const vgg = Vgg19.create(await weights(), SPECS);
    const content = image(4), style = image(5);
    const runs: number[][] = [];
    try {
      for (const set of [STOCK_KERNELS, custom]) {
        useKernels(set);
        const opt = GatysOptimizer.create(vgg, content, style, CONFIG);
        const losses: number[] = [];
        for (let i = 0; i < 3; i++) {
          for (const l of await opt.step()) losses.push(l.content_loss, l.style_loss, l.total_loss);
        }
        opt.dispose();
        runs.push(losses);
      }
    } finally {
      useKernels(STOCK_KERNELS);
      vgg.dispose();
      tf.dispose([content, style]);
    }
    const [stock, mine] = runs;
    for (let i = 0; i < stock.length; i++) {
      // The first content loss is exactly 0 (the image starts as the content image).
      const err = Math.abs(mine[i] - stock[i]);
      assert.ok(
        err <= 1e-3 * Math.max(Math.abs(stock[i]), 1e-6),
        `loss ${i}: custom ${mine[i]} vs stock ${stock[i]}`,
      );
    }
  },
});

Deno.test({
  name: "200 custom Gatys steps leak no tensors and no GPU buffers",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    useKernels(await selectKernels("custom"));
    const gpu = GpuContext.sync();
    const vgg = Vgg19.create(await weights(), SPECS);
    const content = image(6), style = image(7);
    try {
      const opt = GatysOptimizer.create(vgg, content, style, CONFIG);
      let tensors = 0, bytes = 0;
      for (let i = 0; i < 200; i++) {
        await opt.step();
        if (i === 4) {
          // After a few steps the best-image bookkeeping and the buffer pool are warm.
          await gpu.idle();
          tensors = tf.memory().numTensors;
          bytes = gpu.bytesInUse;
        }
      }
      await gpu.idle();
      assert.equal(tf.memory().numTensors, tensors, "tensors after 200 steps");
      assert.equal(gpu.bytesInUse, bytes, "GPU bytes in use after 200 steps");
      opt.dispose();
    } finally {
      useKernels(STOCK_KERNELS);
      vgg.dispose();
      tf.dispose([content, style]);
    }
  },
});
