/**
 * Child process of device_test.ts: destroys tfjs's GPUDevice, then checks
 * that a custom kernel call and a GPU wait both fail with "device lost".
 *
 * @example
 * ```ts
 * // deno run -A tests/gpu/_lost_device_child.ts
 * ```
 * @module
 */
import { initBackend, tf } from "../../src/tf.ts";
import { GpuContext } from "../../src/gpu/device.ts";
import { conv3x3Relu } from "../../src/gpu/kernels.ts";
import { selectKernels } from "../../src/gpu/select.ts";

await initBackend("webgpu");
await selectKernels("custom");
const gpu = GpuContext.sync();
const x = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
const k = tf.ones([3, 3, 3, 8]) as tf.Tensor4D;
const b = tf.zeros([8]) as tf.Tensor1D;
await conv3x3Relu(x, k, b).data();
gpu.device.destroy();
await new Promise((r) => setTimeout(r, 100));
try {
  conv3x3Relu(x, k, b);
  console.log("kernel: no error");
} catch (e) {
  console.log(`kernel: ${(e as Error).message}`);
}
try {
  await gpu.idle();
  console.log("idle: no error");
} catch (e) {
  console.log(`idle: ${(e as Error).message}`);
}
Deno.exit(0);
