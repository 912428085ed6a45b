/**
 * One fused Adam step plus the per-channel clip, with kernels/adam.wgsl.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { adamUpdateGpu } from "./adam.ts";
 * const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
 * const s = { m: tf.zerosLike(x), v: tf.zerosLike(x), t: 0 };
 * const cfg = { learningRate: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
 * adamUpdateGpu(x, tf.onesLike(x), s, cfg, tf.fill([3], -1), tf.fill([3], 1)).x.print(); // all -1
 * ```
 * @module
 */
import type { tf } from "../tf.ts";
import type { AdamConfig, AdamState } from "../ops/kernel_set.ts";
import { type CopyStep, type DispatchStep, fold, GpuContext } from "./device.ts";
import {
  checkShape,
  chunks,
  dispatch,
  elementwise,
  ELEMENTWISE_WG,
  type KernelDescriptor,
  range,
} from "./registry.ts";

/** kernels/adam.wgsl: one thread per element. */
export const ADAM: KernelDescriptor = elementwise("adam.wgsl", {
  total: "u32",
  channels: "u32",
  lr_t: "f32",
  beta1: "f32",
  beta2: "f32",
  one_minus_beta1: "f32",
  one_minus_beta2: "f32",
  epsilon: "f32",
});

/**
 * One fused Adam step plus the per-channel clip; same contract and formula as
 * STOCK_KERNELS.adamUpdate (see the module example).
 */
export function adamUpdateGpu(
  x: tf.Tensor4D,
  g: tf.Tensor4D,
  state: AdamState,
  c: AdamConfig,
  lo: tf.Tensor1D,
  hi: tf.Tensor1D,
): { x: tf.Tensor4D; m: tf.Tensor4D; v: tf.Tensor4D } {
  const gpu = GpuContext.sync();
  for (const [name, t] of [["g", g], ["m", state.m], ["v", state.v]] as const) {
    checkShape(`adam ${name}`, t.shape, x.shape);
  }
  const [batch, h, w, ch] = x.shape;
  checkShape("adam lo", lo.shape, [ch]);
  checkShape("adam hi", hi.shape, [ch]);
  const per = h * w * ch * 4;
  const chunk = gpu.batchChunk(batch, [per], `adam [${x.shape}]`);
  const t = state.t + 1;
  const lr = c.learningRate * Math.sqrt(1 - Math.pow(c.beta2, t)) / (1 - Math.pow(c.beta1, t));
  const bounds = gpu.scratch(2 * ch * 4);
  const outs = [gpu.output(x.shape), gpu.output(x.shape), gpu.output(x.shape)];
  const ins = [x, g, state.m, state.v].map((t) => gpu.bufferOf(t));
  const steps: Array<DispatchStep | CopyStep> = [
    { copy: { src: gpu.bufferOf(lo), srcOffset: 0, dst: bounds, dstOffset: 0, size: ch * 4 } },
    { copy: { src: gpu.bufferOf(hi), srcOffset: 0, dst: bounds, dstOffset: ch * 4, size: ch * 4 } },
  ];
  for (const [b0, nb] of chunks(batch, chunk)) {
    const total = nb * h * w * ch;
    steps.push(dispatch(
      gpu,
      ADAM,
      [
        ...ins.map((b) => range(b, b0 * per, nb * per)),
        bounds,
        ...outs.map((o) => range(o.buffer, b0 * per, nb * per)),
      ],
      {
        total,
        channels: ch,
        lr_t: lr,
        beta1: c.beta1,
        beta2: c.beta2,
        one_minus_beta1: 1 - c.beta1,
        one_minus_beta2: 1 - c.beta2,
        epsilon: c.epsilon,
      },
      fold(Math.ceil(total / ELEMENTWISE_WG), gpu.maxWorkgroups),
    ));
  }
  gpu.run(steps, [bounds]);
  const [nx, nm, nv] = outs.map((o) => gpu.tensor<tf.Tensor4D>(o));
  return { x: nx, m: nm, v: nv };
}
