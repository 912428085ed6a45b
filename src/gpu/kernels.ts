/**
 * The `custom` kernel set: the hot operations of a Gatys step as hand-written
 * WGSL (`kernels/*.wgsl`) on tfjs's webgpu backend. Tensors stay on the GPU:
 * inputs are read from the backend's buffers and outputs are tfjs tensors
 * backed by buffers from its pool, so they mix freely with stock tfjs ops and
 * `tf.dispose` frees them.
 *
 * This module only assembles the set; each op lives in its own file (`conv.ts`
 * with `conv_texture.ts`, `maxpool.ts`, `gram.ts`, `style_loss.ts`, `adam.ts`),
 * each kernel is a descriptor (`registry.ts`), and the set is chosen in
 * `select.ts` (`selectKernels`). It depends on the seam's types and the stock
 * set (`src/ops/`), which never import this folder.
 *
 * Shapes a kernel does not cover (a channel count that is not a multiple of
 * 4 for the vec4 kernels) fall back to the stock op, so any caller works.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { useKernels } from "../ops/active.ts";
 * import { CUSTOM_KERNELS, initCustomKernels } from "./kernels.ts";
 * await initBackend("webgpu");
 * await initCustomKernels();
 * useKernels(CUSTOM_KERNELS);
 * ```
 * @module
 */
import type { KernelSet } from "../ops/kernel_set.ts";
import { GpuContext } from "./device.ts";
import { compileKernels, type KernelDescriptor, withoutRelu } from "./registry.ts";
import {
  conv3x3Relu,
  conv3x3ReluGradInput,
  CONV_KERNELS,
  CONV_KERNELS_WITHOUT_RELU,
} from "./conv.ts";
import { CONV_TEX, CONV_TEX_GRAD, CONV_TEX_NARROW } from "./conv_texture.ts";
import { maxPool2x2, POOL_KERNELS } from "./maxpool.ts";
import { GRAM_KERNELS, gramCustom } from "./gram.ts";
import { STYLE_LOSS_KERNELS, styleLossGpu } from "./style_loss.ts";
import { ADAM, adamUpdateGpu } from "./adam.ts";

export { conv3x3Relu, conv3x3ReluGradInput } from "./conv.ts";
export { maxPool2x2, maxPool2x2Grad } from "./maxpool.ts";
export { gramGpu } from "./gram.ts";
export { styleLossGpu } from "./style_loss.ts";
export { adamUpdateGpu } from "./adam.ts";
export { setConvRoute } from "./registry.ts";

/** Every kernel the custom set dispatches, one descriptor each. */
export const CUSTOM_KERNEL_DESCRIPTORS: readonly KernelDescriptor[] = [
  ...CONV_KERNELS,
  CONV_TEX,
  CONV_TEX_GRAD,
  CONV_TEX_NARROW,
  // Without ReLU: the plain convs of tfjs's Conv2D / Conv2DBackpropInput (`register.ts`).
  ...CONV_KERNELS_WITHOUT_RELU,
  ...[CONV_TEX, CONV_TEX_GRAD, CONV_TEX_NARROW].map(withoutRelu),
  ...POOL_KERNELS,
  ...GRAM_KERNELS,
  ...STYLE_LOSS_KERNELS,
  ADAM,
];

/**
 * Check every kernel descriptor against its WGSL and compile it for the active webgpu backend
 * (once per backend).
 *
 * @example
 * ```ts
 * import { initCustomKernels } from "./kernels.ts";
 * await initCustomKernels();
 * ```
 */
export async function initCustomKernels(): Promise<void> {
  await compileKernels(GpuContext.sync(), CUSTOM_KERNEL_DESCRIPTORS);
}

/**
 * The custom kernel set. Call `selectKernels("custom")` (`select.ts`) or
 * {@link initCustomKernels} once first: it compiles the WGSL.
 *
 * @example
 * ```ts
 * import { useKernels } from "../ops/active.ts";
 * import { CUSTOM_KERNELS, initCustomKernels } from "./kernels.ts";
 * await initCustomKernels();
 * useKernels(CUSTOM_KERNELS);
 * ```
 */
export const CUSTOM_KERNELS: KernelSet = {
  name: "custom",
  conv3x3Relu,
  conv3x3ReluGradInput: (dy, y, _kernel, flipped) => conv3x3ReluGradInput(dy, y, flipped),
  maxPool2x2,
  gram: gramCustom,
  styleLoss: styleLossGpu,
  adamUpdate: adamUpdateGpu,
};
