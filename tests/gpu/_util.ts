/**
 * Helpers for the WGSL kernel tests: seeded inputs, running a computation on
 * the cpu backend (the reference) and on webgpu with the custom kernels, and
 * a tolerance check relative to the reference's magnitude.
 *
 * @example
 * ```ts
 * import { assertClose, onBackend, randomArray } from "./_util.ts";
 * const data = randomArray(16, 1);
 * const ref = await onBackend("cpu", (tf) => tf.tensor(data).mul(2));
 * assertClose(ref, ref, 1e-6, "self");
 * ```
 * @module
 */
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/tf.ts";
import { initCustomKernels } from "../../src/gpu/kernels.ts";
import { GpuContext } from "../../src/gpu/device.ts";

/**
 * Deno.test options for tests that need WebGPU (the device outlives single tests).
 *
 * @example
 * ```ts
 * import { GPU_TEST } from "./_util.ts";
 * Deno.test({ name: "gpu", ...GPU_TEST, fn: () => {} });
 * ```
 */
export const GPU_TEST = { sanitizeResources: false, sanitizeOps: false } as const;

/**
 * Deterministic uniform values in [lo, hi) (mulberry32), for inputs both backends share.
 *
 * @example
 * ```ts
 * import { randomArray } from "./_util.ts";
 * console.log(randomArray(3, 42, 0, 1).length); // 3
 * ```
 */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/**
 * Run `fn` on `backend` and read every tensor it returns back as a
 * Float32Array (webgpu also gets the custom kernels compiled first).
 *
 * @example
 * ```ts
 * import { onBackend } from "./_util.ts";
 * const [v] = await onBackend("cpu", (tf) => tf.ones([2]));
 * console.log(v); // Float32Array [1, 1]
 * ```
 */
export async function onBackend(
  backend: "cpu" | "webgpu",
  fn: (t: typeof tf) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await initBackend(backend);
  if (backend === "webgpu") {
    await initCustomKernels();
    GpuContext.sync().enableValidation();
  }
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const r = fn(tf);
    return Array.isArray(r) ? r : [r];
  });
  const values = await Promise.all(out.map(async (t) => new Float32Array(await t.data())));
  tf.dispose(out);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  if (backend === "webgpu") {
    const errors = await GpuContext.sync().takeValidationErrors();
    assert.deepEqual(errors, [], "WebGPU validation errors");
  }
  return values;
}

/**
 * Assert |actual - expected| <= tol * max(1e-3, max |expected|) element-wise:
 * relative to the tensor's magnitude, so sums over thousands of terms compare
 * fairly while an all-zero (or wrong-shaped) result still fails.
 *
 * @example
 * ```ts
 * import { assertClose } from "./_util.ts";
 * assertClose([new Float32Array([1.00001])], [new Float32Array([1])], 1e-4, "x");
 * ```
 */
export function assertClose(
  actual: Float32Array[],
  expected: Float32Array[],
  tol: number,
  label: string,
): void {
  assert.equal(actual.length, expected.length, `${label}: output count`);
  expected.forEach((e, k) => {
    const a = actual[k];
    assert.equal(a.length, e.length, `${label}[${k}]: length`);
    let scale = 1e-3;
    for (const v of e) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    let at = -1;
    for (let i = 0; i < e.length; i++) {
      const d = Math.abs(a[i] - e[i]);
      if (!(d <= worst)) {
        worst = d;
        at = i;
      }
    }
    assert.ok(
      worst <= tol * scale,
      `${label}[${k}]: max error ${worst} at ${at} (got ${a[at]}, want ${
        e[at]
      }) > ${tol} * ${scale}`,
    );
  });
}
