/**
 * The bridge to tfjs-webgpu: kernel-set selection, splitting a batch that
 * exceeds maxStorageBufferBindingSize (with the limit lowered so small
 * tensors exercise it), refusing a single image that is too big, and
 * reporting a lost device instead of hanging.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { HAS_WEBGPU, REPO_ROOT } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { STOCK_KERNELS } from "../../src/ops/active.ts";
import { selectKernels } from "../../src/gpu/select.ts";
import { GpuContext } from "../../src/gpu/device.ts";
import { missingBackendMembers } from "../../src/gpu/backend.ts";
import {
  adamUpdateGpu,
  conv3x3Relu,
  conv3x3ReluGradInput,
  CUSTOM_KERNELS,
  gramGpu,
  maxPool2x2,
  styleLossGpu,
} from "../../src/gpu/kernels.ts";
import { UserError } from "../../src/util/errors.ts";
import { assertClose, GPU_TEST, onBackend, randomArray } from "./_util.ts";

Deno.test("selectKernels: stock anywhere, custom refused off webgpu with a UserError", async () => {
  await initBackend("cpu");
  assert.equal(await selectKernels("stock"), STOCK_KERNELS);
  await assert.rejects(selectKernels("custom"), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /--backend webgpu/);
    return true;
  });
  await assert.rejects(selectKernels("custom", "wasm"), UserError);
  await assert.rejects(selectKernels("fancy"), UserError);
});

Deno.test({
  name: "selectKernels on webgpu: custom is the custom set, auto the measured set over it",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    assert.equal(await selectKernels("custom", "webgpu"), CUSTOM_KERNELS);
    assert.equal(CUSTOM_KERNELS.name, "custom");
    const auto = await selectKernels("auto", "webgpu");
    assert.equal(auto.label, "auto");
    assert.equal(auto.name, "custom");
    assert.equal(typeof auto.tunePending, "function");
  },
});

Deno.test({
  name: "the running tfjs-backend-webgpu has every member the bridge uses",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    assert.deepEqual(missingBackendMembers(tf.backend()), []);
  },
});

Deno.test({
  name: "a batch over maxStorageBufferBindingSize is split into aligned per-image bindings",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    // Per image: conv/pool 16 KiB, gram/style 16 KiB, adam 19 KiB; under 24 KiB, two are not.
    const b = 3, h = 16, w = 16, c = 16, m = 256, ah = 40;
    const x = randomArray(b * h * w * c, 41);
    const k = randomArray(9 * c * c, 42, -0.05, 0.05);
    const bias = randomArray(c, 43, -0.1, 0.1);
    const f = randomArray(b * m * c, 44, 0, 1);
    const adamN = b * ah * ah * 3;
    const run = (t: typeof tf, custom: boolean) => {
      const ks = custom ? CUSTOM_KERNELS : STOCK_KERNELS;
      const xt = t.tensor4d(x, [b, h, w, c]);
      const kt = t.tensor4d(k, [3, 3, c, c]);
      const y = ks.conv3x3Relu(xt, kt, t.tensor1d(bias));
      const flipped = t.transpose(t.reverse(kt, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = ks.conv3x3ReluGradInput(y, y, kt, flipped);
      const ft = t.tensor3d(f, [b, m, c]);
      const s = ks.styleLoss(ft, t.eye(c) as tf.Tensor2D);
      const img = t.tensor4d(randomArray(adamN, 45, -50, 50), [b, ah, ah, 3]);
      const a = ks.adamUpdate(
        img,
        t.tensor4d(randomArray(adamN, 46), [b, ah, ah, 3]),
        { m: t.zerosLike(img), v: t.zerosLike(img), t: 0 },
        { learningRate: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
        t.fill([3], -10) as tf.Tensor1D,
        t.fill([3], 10) as tf.Tensor1D,
      );
      return [y, dx, ks.maxPool2x2(y), ks.gram(ft), s.loss, s.grad, a.x, a.m, a.v];
    };
    const want = await onBackend("cpu", (t) => run(t, false));
    await initBackend("webgpu");
    const gpu = GpuContext.sync();
    const saved = gpu.bindingLimit;
    gpu.bindingLimit = 24 * 1024;
    try {
      const got = await onBackend("webgpu", (t) => run(t, true));
      assertClose(got, want, 1e-4, "split batch");
    } finally {
      gpu.bindingLimit = saved;
    }
  },
});

Deno.test({
  name: "one image over maxStorageBufferBindingSize is refused with a UserError",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    await selectKernels("custom");
    const gpu = GpuContext.sync();
    const saved = gpu.bindingLimit;
    gpu.bindingLimit = 1024;
    const before = tf.memory().numTensors;
    try {
      tf.tidy(() => {
        const x = tf.zeros([1, 8, 8, 64]) as tf.Tensor4D;
        const k = tf.zeros([3, 3, 64, 64]) as tf.Tensor4D;
        for (
          const op of [
            () => conv3x3Relu(x, k, tf.zeros([64])),
            () => conv3x3ReluGradInput(x, x, k),
            () => maxPool2x2(x),
            () => gramGpu(tf.zeros([1, 64, 64])),
            () => styleLossGpu(tf.zeros([1, 64, 64]), tf.zeros([64, 64])),
          ]
        ) {
          assert.throws(op, (e: Error) => {
            assert.ok(e instanceof UserError, String(e));
            assert.match(e.message, /maxStorageBufferBindingSize/);
            return true;
          });
        }
        const img = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
        assert.throws(
          () =>
            adamUpdateGpu(
              img,
              img,
              { m: img, v: img, t: 0 },
              { learningRate: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
              tf.zeros([3]),
              tf.zeros([3]),
            ),
          UserError,
        );
      });
    } finally {
      gpu.bindingLimit = saved;
    }
    assert.equal(tf.memory().numTensors, before, "a refused op leaked tensors");
  },
});

Deno.test({
  name: "a lost device is reported as an error, not waited on",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    // In a child process: destroying the device would break every later test here.
    const child = fileURLToPath(new URL("./_lost_device_child.ts", import.meta.url));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", child],
      cwd: REPO_ROOT,
      env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? "/tmp" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /kernel: WebGPU device lost \(destroyed\)/);
    assert.match(text, /idle: WebGPU device lost/);
  },
});
