/**
 * The tuning cache's logic, without a GPU: its key (adapter identity and
 * kernel-source hash), persistence and invalidation, the fastest-candidate
 * choice, and the auto set's per-shape dispatch.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend, tf } from "../../src/tf.ts";
import { STOCK_KERNELS } from "../../src/stock_kernels.ts";
import type { KernelSet } from "../../src/kernel_set.ts";
import { CUSTOM_KERNEL_DESCRIPTORS } from "../../src/gpu/kernels.ts";
import { defineKernel } from "../../src/gpu/registry.ts";
import {
  type AdapterIdentity,
  autoKernels,
  caseKey,
  kernelSourceHash,
  opKey,
  pickFastest,
  TuningCache,
  tuningCachePath,
} from "../../src/gpu/tuning.ts";

const ID: AdapterIdentity = {
  vendor: "nvidia",
  architecture: "hopper",
  device: "",
  description: "NVIDIA H200",
  driver: "560.35",
};

Deno.test("kernelSourceHash: stable, and changed by any descriptor change", async () => {
  const a = await kernelSourceHash(CUSTOM_KERNEL_DESCRIPTORS);
  assert.equal(a, await kernelSourceHash([...CUSTOM_KERNEL_DESCRIPTORS].reverse()));
  assert.match(a, /^[0-9a-f]{64}$/);
  const [first, ...rest] = CUSTOM_KERNEL_DESCRIPTORS;
  const changed = defineKernel({ ...first, overrides: { ...first.overrides, TILE_K: 32 } });
  assert.notEqual(a, await kernelSourceHash([changed, ...rest]));
});

Deno.test("TuningCache: saved per adapter and source hash, ignored for another", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = tuningCachePath(ID, "a".repeat(64), root);
    assert.ok(path.startsWith(join(root, "tuning")));
    assert.notEqual(path, tuningCachePath({ ...ID, driver: "561" }, "a".repeat(64), root));
    const cache = await TuningCache.open(path, ID, "a".repeat(64));
    assert.equal(cache.size, 0);
    const key = opKey("conv3x3", [1, 56, 56, 128], 256);
    cache.set(key, { choice: "stock", ms: { stock: 1, custom: 2 }, tunedAt: "t" });
    await cache.save();
    const again = await TuningCache.open(path, ID, "a".repeat(64));
    assert.equal(again.get(key)?.choice, "stock");
    assert.deepEqual(again.unseen([key, "gram 1x10x4"]), ["gram 1x10x4"]);
    // The same file read for another kernel source or adapter: nothing applies.
    assert.equal((await TuningCache.open(path, ID, "b".repeat(64))).size, 0);
    assert.equal((await TuningCache.open(path, { ...ID, driver: "x" }, "a".repeat(64))).size, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pickFastest: the fastest that works; all failing is an error", async () => {
  const e = await pickFastest([
    { name: "stock", time: () => Promise.resolve(3) },
    { name: "custom", time: () => Promise.reject(new Error("no")) },
    { name: "custom-tk32", time: () => Promise.resolve(2) },
  ]);
  assert.equal(e.choice, "custom-tk32");
  assert.equal(e.ms.custom, Infinity);
  await assert.rejects(
    pickFastest([{ name: "x", time: () => Promise.reject(new Error("no")) }]),
    /every candidate failed/,
  );
});

Deno.test("autoKernels sends each shape to its choice, custom where none was measured", async () => {
  await initBackend("cpu");
  const root = await Deno.makeTempDir();
  try {
    const cache = await TuningCache.open(join(root, "t.json"), ID, "c".repeat(64));
    const calls: string[] = [];
    const custom: KernelSet = {
      ...STOCK_KERNELS,
      name: "custom",
      gram: (f) => {
        calls.push(`custom ${f.shape}`);
        return STOCK_KERNELS.gram(f);
      },
    };
    const small = tf.ones([1, 4, 8]) as tf.Tensor3D;
    const big = tf.ones([1, 16, 8]) as tf.Tensor3D;
    cache.set(caseKey("gram", [small])!, { choice: "stock", ms: {}, tunedAt: "t" });
    const auto = autoKernels(cache, custom);
    assert.equal(auto.label, "auto");
    tf.dispose([auto.gram(small), auto.gram(big)]);
    assert.deepEqual(calls, ["custom 1,16,8"]);
    assert.equal(
      caseKey("conv3x3_grad_input", [
        tf.zeros([1, 4, 4, 64]),
        tf.zeros([1, 4, 4, 64]),
        tf.zeros([3, 3, 3, 64]),
      ]),
      "conv3x3_grad_input 1x4x4x64->3",
    );
    tf.dispose([small, big]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
