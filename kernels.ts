/**
 * The WGSL kernels as a plugin for tfjs's webgpu backend: after
 * {@link registerNstKernels}, any tfjs program's 3x3 'same' convolutions (and
 * their input gradients), 2x2 max pools and Gram products run our kernels;
 * every other shape runs stock tfjs, unchanged. See `src/gpu/register.ts` for
 * what is covered.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import "@tensorflow/tfjs-backend-webgpu";
 * import { registerNstKernels, unregisterNstKernels } from "./kernels.ts";
 * await tf.setBackend("webgpu");
 * await registerNstKernels();
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 16, kernelSize: 3, padding: "same", activation: "relu" }),
 *   tf.layers.maxPooling2d({ poolSize: 2 }),
 * ] });
 * (model.predict(tf.ones([1, 32, 32, 3])) as tf.Tensor).print(); // our conv and pool kernels ran
 * unregisterNstKernels();
 * ```
 * @module
 */
export {
  NST_KERNEL_NAMES,
  type NstKernelCounts,
  nstKernelCounts,
  type NstKernelOptions,
  nstKernelsRegistered,
  type NstRegistration,
  registerForKernelChoice,
  registerNstKernels,
  resetNstKernelCounts,
  unregisterNstKernels,
  withNstKernels,
} from "./src/gpu/register.ts";
