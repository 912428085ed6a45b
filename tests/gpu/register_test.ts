/**
 * The kernels registered in tfjs's registry (`src/gpu/register.ts`), proved with programs we did
 * not write: a `tf.layers` model (public layers API: conv2d 3x3 'same' + ReLU, max pooling,
 * global average pooling, dense) predicts, differentiates and trains one `model.fit` step the
 * same with the plugin on and off, within 1e-4 relative to the largest magnitude of each output
 * (fp32 sums in another order), on both routes (texture, llvmpipe's default, and buffer). Shapes
 * the plugin does not cover give stock's exact result; the call counts show the covered ones ran
 * our kernels; register, unregister and register again leave the registry as it was.
 */
import assert from "node:assert/strict";
import * as tfl from "@tensorflow/tfjs";
import { HAS_WEBGPU } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { setConvRoute } from "../../src/gpu/registry.ts";
import {
  NST_KERNEL_NAMES,
  nstKernelCounts,
  nstKernelsRegistered,
  registerNstKernels,
  resetNstKernelCounts,
  unregisterNstKernels,
} from "../../src/gpu/register.ts";
import { opKey } from "../../src/gpu/tuning.ts";
import { trainClassifier } from "../../src/study/classifier.ts";
import { assertClose, GPU_TEST, randomArray } from "./_util.ts";

const ignore = !HAS_WEBGPU;
const TOL = 1e-4;

/** Every webgpu kernel config by name: what "tfjs as it was" means. */
function registrySnapshot(): Map<string, tf.KernelConfig> {
  return new Map(tf.getKernelsForBackend("webgpu").map((k) => [k.kernelName, k]));
}

async function read(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return await Promise.all(ts.map(async (t) => new Float32Array(await t.data())));
}

/** conv2d 3x3 same + ReLU (64) -> max pool 2x2 -> conv2d 3x3 same + ReLU (64) -> GAP -> dense 3. */
function buildModel(): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [16, 16, 4],
        filters: 64,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: "same", activation: "relu" }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 3 }),
    ],
  });
  // Seeded weights (not the initializers' own randomness), biases off zero so ReLU masks vary.
  model.setWeights(
    model.getWeights().map((w, i) => {
      const fanIn = w.shape.length === 4 ? 9 * w.shape[2] : w.shape[0];
      const lim = w.shape.length === 1 ? 0.1 : Math.sqrt(6 / fanIn);
      return tf.tensor(randomArray(w.size, 10 + i, -lim, lim), w.shape);
    }),
  );
  return model;
}

/** Predictions, the gradients of a loss w.r.t. every weight and the input, one SGD step. */
async function runModel(): Promise<Float32Array[]> {
  const model = buildModel();
  const x = tf.tensor4d(randomArray(2 * 16 * 16 * 4, 7), [2, 16, 16, 4]);
  const labels = tf.oneHot(tf.tensor1d([0, 2], "int32"), 3);
  const loss = (input: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(labels, model.apply(input) as tf.Tensor) as tf.Scalar;
  const pred = model.predict(x) as tf.Tensor;
  const { grads } = tf.variableGrads(() => loss(x));
  const dx = tf.grad(loss)(x);
  const out = [pred, ...model.trainableWeights.map((w) => grads[w.originalName]), dx];
  const values = await read(out);
  tf.dispose([pred, dx, ...Object.values(grads)]);
  model.compile({ optimizer: tfl.train.sgd(0.5), loss: "categoricalCrossentropy" });
  await model.fit(x, labels, { epochs: 1, batchSize: 2, verbose: 0, shuffle: false });
  values.push(...await read(model.getWeights()));
  model.dispose();
  tf.dispose([x, labels]);
  return values;
}

Deno.test({
  name: "register, unregister, register again: the registry is as it was",
  ignore,
  ...GPU_TEST,
  async fn() {
    await initBackend("webgpu");
    const before = registrySnapshot();
    for (let round = 0; round < 2; round++) {
      await registerNstKernels();
      assert.ok(nstKernelsRegistered());
      const on = registrySnapshot();
      assert.deepEqual([...on.keys()].sort(), [...before.keys()].sort());
      for (const name of NST_KERNEL_NAMES) {
        assert.notEqual(on.get(name), before.get(name), `${name} is overridden`);
      }
      unregisterNstKernels();
      assert.ok(!nstKernelsRegistered());
      const after = registrySnapshot();
      assert.equal(after.size, before.size);
      for (const [name, config] of before) {
        assert.equal(after.get(name), config, `${name}: the same config object as before`);
      }
    }
    unregisterNstKernels(); // a no-op when unregistered
    assert.equal(registrySnapshot().size, before.size);
  },
});

for (const route of ["texture", "buffer"] as const) {
  Deno.test({
    name:
      `tf.layers model: predictions, gradients and one fit step equal with the plugin (${route})`,
    ignore,
    ...GPU_TEST,
    async fn() {
      await initBackend("webgpu");
      setConvRoute(route);
      try {
        // tfjs-layers keeps a few tensors per model (optimizer, setWeights' sources): the plugin
        // must keep no more than stock does.
        let tensors = tf.memory().numTensors;
        const stock = await runModel();
        const stockKept = tf.memory().numTensors - tensors;
        await registerNstKernels();
        resetNstKernelCounts();
        tensors = tf.memory().numTensors;
        let ours: Float32Array[];
        try {
          ours = await runModel();
        } finally {
          unregisterNstKernels();
        }
        assert.equal(tf.memory().numTensors - tensors, stockKept, "tensors leaked");
        const names = ["predictions", "dW1", "db1", "dW2", "db2", "dWd", "dbd", "dx"];
        ours.forEach((v, i) =>
          assertClose([v], [stock[i]], TOL, names[i] ?? `weights after one step [${i - 8}]`)
        );
        const n = nstKernelCounts().ours;
        for (
          const k of ["FusedConv2D", "Conv2D", "Conv2DBackpropInput", "MaxPool", "MaxPoolGrad"]
        ) {
          assert.ok((n[k] ?? 0) > 0, `${k} ran our kernels (${JSON.stringify(n)})`);
        }
      } finally {
        setConvRoute(null);
      }
    },
  });
}

Deno.test({
  name: "a Gram (tf.matMul(f, f, true, false)) runs our kernel, rank 2 and 3",
  ignore,
  ...GPU_TEST,
  async fn() {
    await initBackend("webgpu");
    const f3 = tf.tensor3d(randomArray(2 * 300 * 64, 5), [2, 300, 64]);
    const f2 = tf.tensor2d(randomArray(50 * 16, 6), [50, 16]);
    const grams = () => [tf.matMul(f3, f3, true, false), tf.matMul(f2, f2, true, false)];
    const stock = await read(grams());
    await registerNstKernels();
    resetNstKernelCounts();
    try {
      assertClose(await read(grams()), stock, TOL, "gram");
      assert.equal(nstKernelCounts().ours.BatchMatMul, 2);
    } finally {
      unregisterNstKernels();
      tf.dispose([f3, f2]);
    }
  },
});

Deno.test({
  name: "uncovered shapes and attributes give stock's exact result",
  ignore,
  ...GPU_TEST,
  async fn() {
    await initBackend("webgpu");
    const x = tf.tensor4d(randomArray(2 * 9 * 10 * 8, 1), [2, 9, 10, 8]);
    const k3 = tf.tensor4d(randomArray(9 * 8 * 16, 2), [3, 3, 8, 16]);
    const k5 = tf.tensor4d(randomArray(25 * 8 * 16, 3), [5, 5, 8, 16]);
    const bias = tf.tensor1d(randomArray(16, 4));
    const dy2 = tf.tensor4d(randomArray(2 * 5 * 5 * 16, 5), [2, 5, 5, 16]);
    const a = tf.tensor3d(randomArray(2 * 30 * 8, 6), [2, 30, 8]);
    const b = tf.tensor3d(randomArray(2 * 30 * 8, 7), [2, 30, 8]);
    const f6 = tf.tensor3d(randomArray(30 * 6, 8), [1, 30, 6]);
    const x6 = tf.tensor4d(randomArray(9 * 10 * 6, 9), [1, 9, 10, 6]);
    const calls = () => [
      tf.conv2d(x, k5, 1, "same"), // 5x5
      tf.conv2d(x, k3, 2, "same"), // stride 2
      tf.conv2d(x, k3, 1, "same", "NHWC", 2), // dilation 2
      tf.conv2d(x, k3, 1, "valid"), // valid padding
      tf.fused.conv2d({ x, filter: k3, strides: 1, pad: "same", bias, activation: "elu" }),
      tf.conv2dTranspose(dy2, k3, [2, 9, 10, 8], 2, "same"), // a stride-2 input gradient
      tf.maxPool(x, 3, 2, "valid"), // 3x3 window
      tf.maxPool(x, 2, 1, "valid"), // stride 1
      tf.maxPool(x6, 2, 2, "valid"), // 6 channels
      tf.maxPool(x, 2, 2, "same"), // 'same' on an odd height: padded
      tf.matMul(a, b, true, false), // a^T b, not a Gram
      tf.matMul(a, a, false, true), // a a^T
      tf.matMul(f6, f6, true, false), // a Gram with N = 6
    ];
    const stock = await read(calls());
    await registerNstKernels();
    resetNstKernelCounts();
    try {
      const got = await read(calls());
      got.forEach((v, i) => assert.deepEqual(v, stock[i], `call ${i}: bit-identical to stock`));
      assert.deepEqual(nstKernelCounts().ours, {});
    } finally {
      unregisterNstKernels();
      tf.dispose([x, k3, k5, bias, dy2, a, b, f6, x6]);
    }
  },
});

Deno.test({
  name: "kernels auto: the registry follows the per-shape choice (stock runs stock exactly)",
  ignore,
  ...GPU_TEST,
  async fn() {
    await initBackend("webgpu");
    const root = await Deno.makeTempDir();
    const x = tf.tensor4d(randomArray(8 * 8 * 8, 1), [1, 8, 8, 8]);
    const k = tf.tensor4d(randomArray(9 * 8 * 8, 2), [3, 3, 8, 8]);
    const stock = await read([tf.conv2d(x, k, 1, "same")]);
    const reg = await registerNstKernels({ kernels: "auto", cacheRoot: root, log: () => {} });
    try {
      resetNstKernelCounts();
      const key = opKey("conv3x3", x.shape, 8);
      // Not measured yet: the custom default runs and the shape waits for tunePending.
      assertClose(await read([tf.conv2d(x, k, 1, "same")]), stock, TOL, "untuned");
      assert.equal(nstKernelCounts().ours.Conv2D, 1);
      assert.deepEqual(reg.auto!.untuned, [key]);
      reg.auto!.cache.set(key, { choice: "stock", ms: {}, tunedAt: new Date().toISOString() });
      assert.deepEqual(await read([tf.conv2d(x, k, 1, "same")]), stock, "stock choice: exact");
      assert.equal(nstKernelCounts().stock.Conv2D, 1);
    } finally {
      unregisterNstKernels();
      tf.dispose([x, k]);
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "the study's CNN runs our registered kernels and trains as with stock",
  ignore,
  ...GPU_TEST,
  async fn() {
    await initBackend("webgpu");
    const img = (seed: number) => ({
      data: randomArray(16 * 16 * 3, seed, 0, 255),
      width: 16,
      height: 16,
    });
    const set = { images: [img(1), img(2), img(3), img(4)], labels: [0, 1, 0, 1] };
    const train = async () => {
      const losses: number[] = [];
      const m = await trainClassifier("cnn", set, {
        cnn: { size: 16, steps: 3, batchSize: 4, filters: [8, 16] },
        logEvery: 1,
        onLoss: (_, l) => losses.push(l),
      });
      const p = await m.probabilities(set.images);
      m.dispose();
      return [new Float32Array(losses), ...p];
    };
    const stock = await train();
    await registerNstKernels();
    resetNstKernelCounts();
    try {
      assertClose(await train(), stock, TOL, "losses and probabilities");
      const n = nstKernelCounts().ours;
      for (const k of ["Conv2D", "Conv2DBackpropInput", "MaxPool", "MaxPoolGrad"]) {
        assert.ok((n[k] ?? 0) > 0, `${k} ran our kernels (${JSON.stringify(n)})`);
      }
    } finally {
      unregisterNstKernels();
    }
  },
});
