/**
 * The 2x2 stride-2 'valid' max pool and its gradient: kernels/maxpool2x2.wgsl
 * and kernels/maxpool2x2_grad.wgsl, joined by `tf.customGrad` so the pool is
 * differentiable through the WGSL gradient.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { maxPool2x2 } from "./maxpool.ts";
 * console.log(maxPool2x2(tf.ones([1, 5, 4, 8])).shape); // [1, 2, 2, 8]
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { STOCK_KERNELS } from "../ops/stock_kernels.ts";
import { type DispatchStep, fold, GpuContext } from "./device.ts";
import {
  checkShape,
  chunks,
  dispatch,
  elementwise,
  ELEMENTWISE_WG,
  type KernelDescriptor,
  range,
} from "./registry.ts";

/** kernels/maxpool2x2.wgsl: one thread per vec4 of output. */
export const POOL: KernelDescriptor = elementwise("maxpool2x2.wgsl", {
  height: "u32",
  width: "u32",
  c4: "u32",
  out_h: "u32",
  out_w: "u32",
  total4: "u32",
});
/** kernels/maxpool2x2_grad.wgsl: one thread per vec4 of a window. */
export const POOL_GRAD: KernelDescriptor = elementwise("maxpool2x2_grad.wgsl", {
  height: "u32",
  width: "u32",
  c4: "u32",
  out_h: "u32",
  out_w: "u32",
  win_h: "u32",
  win_w: "u32",
  total4: "u32",
});

function poolDims(x: tf.Tensor4D) {
  const [batch, h, w, c] = x.shape;
  return { batch, h, w, c, oh: Math.floor(h / 2), ow: Math.floor(w / 2) };
}

/**
 * The 2x2 stride-2 'valid' max pool with kernels/maxpool2x2.wgsl alone: no gradient attached and
 * no stock fallback (channels must be a multiple of 4). The registered tfjs MaxPool kernel
 * (`register.ts`) calls it, since tfjs attaches MaxPool's gradient itself.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { maxPool2x2Forward } from "./maxpool.ts";
 * console.log(maxPool2x2Forward(tf.ones([1, 5, 4, 8])).shape); // [1, 2, 2, 8]
 * ```
 */
export function maxPool2x2Forward(x: tf.Tensor4D): tf.Tensor4D {
  if (x.shape[3] % 4 !== 0) {
    throw new Error(`maxPool2x2: channels ${x.shape[3]} are not a multiple of 4`);
  }
  const gpu = GpuContext.sync();
  const { batch, h, w, c, oh, ow } = poolDims(x);
  const perIn = h * w * c * 4;
  const perOut = oh * ow * c * 4;
  const chunk = gpu.batchChunk(batch, [perIn, perOut], `maxpool [${x.shape}]`);
  const out = gpu.output([batch, oh, ow, c]);
  if (oh === 0 || ow === 0) return gpu.tensor(out);
  const xBuf = gpu.bufferOf(x);
  const steps: DispatchStep[] = chunks(batch, chunk).map(([b0, nb]) => {
    const total4 = nb * oh * ow * (c / 4);
    return dispatch(
      gpu,
      POOL,
      [range(xBuf, b0 * perIn, nb * perIn), range(out.buffer, b0 * perOut, nb * perOut)],
      { height: h, width: w, c4: c / 4, out_h: oh, out_w: ow, total4 },
      fold(Math.ceil(total4 / ELEMENTWISE_WG), gpu.maxWorkgroups),
    );
  });
  gpu.run(steps);
  return gpu.tensor(out);
}

/**
 * Gradient of the 2x2 max pool w.r.t. its input `x`, given dy, with
 * kernels/maxpool2x2_grad.wgsl (first maximum of a window wins, like tfjs).
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { maxPool2x2Grad } from "./maxpool.ts";
 * const dx = maxPool2x2Grad(tf.randomNormal([1, 5, 5, 4]), tf.ones([1, 2, 2, 4]));
 * console.log(dx.shape); // [1, 5, 5, 4]
 * ```
 */
export function maxPool2x2Grad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const gpu = GpuContext.sync();
  const { batch, h, w, c, oh, ow } = poolDims(x);
  checkShape("maxpool grad dy", dy.shape, [batch, oh, ow, c]);
  if (c % 4 !== 0) throw new Error(`maxPool2x2Grad: channels ${c} are not a multiple of 4`);
  const winH = Math.ceil(h / 2);
  const winW = Math.ceil(w / 2);
  const perIn = h * w * c * 4;
  const perOut = oh * ow * c * 4;
  const chunk = gpu.batchChunk(batch, [perIn, perOut], `maxpool gradient [${x.shape}]`);
  const out = gpu.output([batch, h, w, c]);
  const xBuf = gpu.bufferOf(x);
  // A pool of a 1-pixel-wide input has an empty dy, which has no buffer to bind.
  const dyBuf = dy.size > 0 ? gpu.bufferOf(dy) : gpu.scratch(16);
  const steps: DispatchStep[] = chunks(batch, chunk).map(([b0, nb]) => {
    const total4 = nb * winH * winW * (c / 4);
    return dispatch(
      gpu,
      POOL_GRAD,
      [
        range(xBuf, b0 * perIn, nb * perIn),
        dy.size > 0 ? range(dyBuf, b0 * perOut, nb * perOut) : dyBuf,
        range(out.buffer, b0 * perIn, nb * perIn),
      ],
      { height: h, width: w, c4: c / 4, out_h: oh, out_w: ow, win_h: winH, win_w: winW, total4 },
      fold(Math.ceil(total4 / ELEMENTWISE_WG), gpu.maxWorkgroups),
    );
  });
  gpu.run(steps, dy.size > 0 ? [] : [dyBuf]);
  return gpu.tensor(out);
}

const pooledWithGrad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  save([x]);
  return {
    value: maxPool2x2Forward(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      maxPool2x2Grad(saved[0] as tf.Tensor4D, dy as tf.Tensor4D),
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * 2x2 stride-2 'valid' max pool with kernels/maxpool2x2.wgsl, differentiable
 * through {@link maxPool2x2Grad}. Channels not a multiple of 4 use tf.maxPool.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { maxPool2x2 } from "./maxpool.ts";
 * console.log(maxPool2x2(tf.ones([1, 5, 4, 8])).shape); // [1, 2, 2, 8]
 * ```
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  if (x.shape[3] % 4 !== 0) return STOCK_KERNELS.maxPool2x2(x);
  return pooledWithGrad(x);
}

/** Every kernel this module dispatches. */
export const POOL_KERNELS: readonly KernelDescriptor[] = [POOL, POOL_GRAD];
