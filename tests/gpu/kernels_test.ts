/**
 * Every WGSL kernel against the stock tfjs ops on the cpu backend, over
 * shapes that hit the edge cases: sizes that are not multiples of the tiles,
 * 1x1 and 2x2 images, C_in = 3, batch > 1, odd H/W for the pool.
 *
 * Tolerance: 1e-4 relative to the largest reference magnitude (f32 sums of
 * up to 9*512 terms in a different order). Adam is elementwise: 1e-5.
 */
import { HAS_WEBGPU } from "../_env.ts";
import { STOCK_KERNELS } from "../../src/ops/active.ts";
import {
  adamUpdateGpu,
  conv3x3Relu,
  conv3x3ReluGradInput,
  CUSTOM_KERNELS,
  gramGpu,
  maxPool2x2,
  maxPool2x2Grad,
  setConvRoute,
  styleLossGpu,
} from "../../src/gpu/kernels.ts";
import { assertClose, GPU_TEST, onBackend, randomArray } from "./_util.ts";
import type { tf as TF } from "../../src/tf.ts";

const TOL = 1e-4;
const ignore = !HAS_WEBGPU;

type Tf = typeof TF;

function flip(tf: Tf, k: TF.Tensor4D): TF.Tensor4D {
  return tf.transpose(tf.reverse(k, [0, 1]), [0, 1, 3, 2]) as TF.Tensor4D;
}

/** [batch, h, w, cIn, cOut] */
const CONV_SHAPES: Array<[number, number, number, number, number]> = [
  [1, 1, 1, 3, 64], // 1x1 image, C_in = 3
  [1, 2, 2, 3, 64], // 2x2 image
  [2, 5, 7, 3, 64], // batch > 1, odd sizes, first layer
  [1, 9, 11, 64, 64], // 99 pixels: not a multiple of the 64-pixel tile
  [2, 3, 3, 128, 256], // batch spanning one pixel tile
  [1, 4, 4, 512, 512], // deepest layer shape
  [1, 5, 6, 6, 20], // C_in not a multiple of 4, C_out not a multiple of 64 or 4
  [1, 17, 3, 16, 72], // a 72-wide output: one full and one ragged channel tile
  [2, 5, 16, 3, 64], // C_in = 3 padded to 4 for the texture route (16 * 4 channels: aligned rows)
  [1, 7, 32, 2, 16], // C_in = 2 padded to 4; a narrow gradient from 16 channels of dy
];

for (const [b, h, w, cIn, cOut] of CONV_SHAPES) {
  const x = randomArray(b * h * w * cIn, 1 + cIn);
  const k = randomArray(
    9 * cIn * cOut,
    2 + cOut,
    -Math.sqrt(3 / (9 * cIn)),
    Math.sqrt(3 / (9 * cIn)),
  );
  const bias = randomArray(cOut, 3, -0.2, 0.2);
  const dy = randomArray(b * h * w * cOut, 4);

  Deno.test({
    name: `conv3x3Relu [${b},${h},${w},${cIn}] -> ${cOut}`,
    ignore,
    ...GPU_TEST,
    fn: async () => {
      const make = (tf: Tf) =>
        [
          tf.tensor4d(x, [b, h, w, cIn]),
          tf.tensor4d(k, [3, 3, cIn, cOut]),
          tf.tensor1d(bias),
        ] as const;
      const want = await onBackend("cpu", (tf) => STOCK_KERNELS.conv3x3Relu(...make(tf)));
      const got = await onBackend("webgpu", (tf) => conv3x3Relu(...make(tf)));
      assertClose(got, want, TOL, "conv3x3Relu");
    },
  });

  Deno.test({
    name: `conv3x3ReluGradInput [${b},${h},${w},${cOut}] -> ${cIn}`,
    ignore,
    ...GPU_TEST,
    fn: async () => {
      // y: the forward output, so the ReLU mask has real zeros in it.
      const run = (tf: Tf, grad: typeof STOCK_KERNELS.conv3x3ReluGradInput) => {
        const kernel = tf.tensor4d(k, [3, 3, cIn, cOut]);
        const y = STOCK_KERNELS.conv3x3Relu(
          tf.tensor4d(x, [b, h, w, cIn]),
          kernel,
          tf.tensor1d(bias),
        );
        return grad(tf.tensor4d(dy, [b, h, w, cOut]), y, kernel, flip(tf, kernel));
      };
      const want = await onBackend("cpu", (tf) => run(tf, STOCK_KERNELS.conv3x3ReluGradInput));
      const got = await onBackend(
        "webgpu",
        (tf) => run(tf, (d, y, _k, f) => conv3x3ReluGradInput(d, y, f)),
      );
      assertClose(got, want, TOL, "conv3x3ReluGradInput");
    },
  });
}

/** [batch, M, N] */
const GRAM_SHAPES: Array<[number, number, number]> = [
  [1, 1, 64], // a 1x1 feature map
  [1, 4, 64], // 2x2
  [2, 100, 64], // batch, M not a multiple of the 16-row step
  [1, 37, 192], // 3x3 blocks: off-diagonal mirrors
  [1, 300, 68], // N not a multiple of the 64 block
  [1, 16, 512], // deepest layer at 64 px: 36 upper blocks
  [1, 5000, 64], // tall: split over M
  [3, 700, 128], // tall and batched
  [2, 600, 64], // batched split over M, M not a multiple of 16 (row blocks cross images)
];

// Both routes on any adapter: gram.wgsl and fd_matmul.wgsl (the buffer route, GPUs) and the
// texture kernels (CPU adapters), so each stays covered over every shape on either machine.
for (const [b, m, n] of GRAM_SHAPES) {
  const f = randomArray(b * m * n, 7 + n, 0, 1);
  const target = randomArray(n * n, 9 + m, 0, m / 3);
  for (const route of ["buffer", "texture"] as const) {
    const onRoute = async <T>(fn: () => Promise<T>): Promise<T> => {
      setConvRoute(route);
      try {
        return await fn();
      } finally {
        setConvRoute(null);
      }
    };
    Deno.test({
      name: `gram [${b},${m},${n}], ${route} route`,
      ignore,
      ...GPU_TEST,
      fn: async () => {
        const want = await onBackend("cpu", (tf) => STOCK_KERNELS.gram(tf.tensor3d(f, [b, m, n])));
        const got = await onRoute(() =>
          onBackend("webgpu", (tf) => CUSTOM_KERNELS.gram(tf.tensor3d(f, [b, m, n])))
        );
        assertClose(got, want, TOL, "gram");
        const scaled = await onRoute(() =>
          onBackend("webgpu", (tf) => gramGpu(tf.tensor3d(f, [b, m, n]), 0.25))
        );
        assertClose(scaled, [want[0].map((v) => v * 0.25)], TOL, "gram scaled");
      },
    });
    Deno.test({
      name: `styleLoss [${b},${m},${n}], ${route} route`,
      ignore,
      ...GPU_TEST,
      fn: async () => {
        const run = (tf: Tf, fn: typeof STOCK_KERNELS.styleLoss) => {
          const r = fn(tf.tensor3d(f, [b, m, n]), tf.tensor2d(target, [n, n]));
          return [r.loss, r.grad];
        };
        const want = await onBackend("cpu", (tf) => run(tf, STOCK_KERNELS.styleLoss));
        const got = await onRoute(() => onBackend("webgpu", (tf) => run(tf, styleLossGpu)));
        assertClose(got, want, TOL, "styleLoss");
      },
    });
  }
}

/** [batch, h, w, c] */
const POOL_SHAPES: Array<[number, number, number, number]> = [
  [1, 5, 7, 4], // odd H and W
  [2, 4, 4, 64],
  [1, 2, 2, 8], // 2x2 -> 1x1
  [1, 3, 2, 8],
  [2, 9, 9, 12],
];

for (const [b, h, w, c] of POOL_SHAPES) {
  const x = randomArray(b * h * w * c, 11 + h);
  const oh = Math.floor(h / 2), ow = Math.floor(w / 2);
  const dy = randomArray(b * oh * ow * c, 12 + w);
  Deno.test({
    name: `maxPool2x2 and its gradient [${b},${h},${w},${c}]`,
    ignore,
    ...GPU_TEST,
    fn: async () => {
      const run = (tf: Tf, pool: (x: TF.Tensor4D) => TF.Tensor4D) => {
        const xt = tf.tensor4d(x, [b, h, w, c]);
        const dyt = tf.tensor4d(dy, [b, oh, ow, c]);
        const g = tf.grad((z: TF.Tensor) => tf.sum(tf.mul(pool(z as TF.Tensor4D), dyt)))(xt);
        return [pool(xt), g];
      };
      const want = await onBackend("cpu", (tf) => run(tf, STOCK_KERNELS.maxPool2x2));
      const got = await onBackend("webgpu", (tf) => run(tf, maxPool2x2));
      assertClose(got, want, TOL, "maxPool2x2");
    },
  });
}

Deno.test({
  name: "maxPool2x2 of a 1x1 image: empty output, all-zero gradient",
  ignore,
  ...GPU_TEST,
  fn: async () => {
    // tfjs-webgpu's own sum of an empty tensor fails, so the gradient kernel is called directly.
    const x = randomArray(8, 5);
    const got = await onBackend("webgpu", (tf) => {
      const xt = tf.tensor4d(x, [1, 1, 1, 8]);
      return [maxPool2x2(xt), maxPool2x2Grad(xt, tf.zeros([1, 0, 0, 8]))];
    });
    assertClose(got, [new Float32Array(0), new Float32Array(8)], 0, "maxPool2x2 1x1");
  },
});

Deno.test({
  name: "maxPool2x2Grad breaks ties like tfjs: the first maximum of the window",
  ignore,
  ...GPU_TEST,
  fn: async () => {
    // ReLU outputs: whole windows of zeros and windows with repeated maxima.
    const x = randomArray(2 * 6 * 6 * 4, 21).map((v) => Math.max(0, Math.round(v * 2) / 2));
    const dy = randomArray(2 * 3 * 3 * 4, 22);
    const run = (tf: Tf, grad: (x: TF.Tensor4D, dy: TF.Tensor4D) => TF.Tensor4D) =>
      grad(tf.tensor4d(x, [2, 6, 6, 4]), tf.tensor4d(dy, [2, 3, 3, 4]));
    const want = await onBackend("cpu", (tf) =>
      run(
        tf,
        (xt, dyt) =>
          tf.grad((z: TF.Tensor) =>
            tf.sum(tf.mul(tf.maxPool(z as TF.Tensor4D, 2, 2, "valid"), dyt))
          )(xt) as TF.Tensor4D,
      ));
    const got = await onBackend("webgpu", (tf) => run(tf, maxPool2x2Grad));
    assertClose(got, want, 0, "maxPool2x2Grad ties");
  },
});

const ADAM_CASES: Array<[[number, number, number, number], number]> = [
  [[1, 4, 4, 3], 0],
  [[2, 7, 5, 3], 9],
  [[1, 1, 1, 3], 99],
];
for (const [shape, t] of ADAM_CASES) {
  Deno.test({
    name: `adamUpdate [${shape}] at t=${t}`,
    ignore,
    ...GPU_TEST,
    fn: async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const cfg = { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 };
      const run = (tf: Tf, fn: typeof STOCK_KERNELS.adamUpdate) => {
        const s = shape;
        const state = {
          m: tf.tensor4d(randomArray(n, 31), s),
          v: tf.tensor4d(randomArray(n, 32, 0, 2), s),
          t,
        };
        const r = fn(
          tf.tensor4d(randomArray(n, 33, -150, 150), s),
          tf.tensor4d(randomArray(n, 34, -3, 3), s),
          state,
          cfg,
          tf.tensor1d([-103.939, -116.779, -123.68]),
          tf.tensor1d([151.061, 138.221, 131.32]),
        );
        return [r.x, r.m, r.v];
      };
      const want = await onBackend("cpu", (tf) => run(tf, STOCK_KERNELS.adamUpdate));
      const got = await onBackend("webgpu", (tf) => run(tf, adamUpdateGpu));
      assertClose(got, want, 1e-5, "adamUpdate");
    },
  });
}

// The image layer on the texture route on any adapter: C_in = 3 zero-padded to 4 for the forward
// pass, and the narrow texture kernel for its input gradient (into 3 channels).
Deno.test({
  name: "texture route: conv3x3 from 3 channels and its input gradient into them",
  ignore,
  ...GPU_TEST,
  fn: async () => {
    setConvRoute("texture");
    try {
      const [b, h, w, cIn, cOut] = [2, 5, 16, 3, 64];
      const x = randomArray(b * h * w * cIn, 51);
      const r = Math.sqrt(3 / (9 * cIn));
      const k = randomArray(9 * cIn * cOut, 52, -r, r);
      const bias = randomArray(cOut, 53, -0.2, 0.2);
      const dy = randomArray(b * h * w * cOut, 54);
      const run = (tf: Tf, set: typeof STOCK_KERNELS) => {
        const kernel = tf.tensor4d(k, [3, 3, cIn, cOut]);
        const y = set.conv3x3Relu(tf.tensor4d(x, [b, h, w, cIn]), kernel, tf.tensor1d(bias));
        const dx = set.conv3x3ReluGradInput(
          tf.tensor4d(dy, [b, h, w, cOut]),
          y,
          kernel,
          flip(tf, kernel),
        );
        return [y, dx];
      };
      const want = await onBackend("cpu", (tf) => run(tf, STOCK_KERNELS));
      const got = await onBackend("webgpu", (tf) => run(tf, CUSTOM_KERNELS));
      assertClose(got, want, TOL, "texture route, 3 channels");
    } finally {
      setConvRoute(null);
    }
  },
});

// The shapes above run the route this adapter picks (textures on llvmpipe, workgroup-memory
// GEMMs on GPUs); these run both routes explicitly, so each stays covered on either machine.
for (const route of ["buffer", "texture"] as const) {
  Deno.test({
    name: `${route} route: conv3x3, its input gradient, gram and style loss`,
    ignore,
    ...GPU_TEST,
    fn: async () => {
      setConvRoute(route);
      try {
        const [b, h, w, cIn, cOut] = [2, 5, 6, 64, 128];
        const x = randomArray(b * h * w * cIn, 41);
        const r = Math.sqrt(3 / (9 * cIn));
        const k = randomArray(9 * cIn * cOut, 42, -r, r);
        const bias = randomArray(cOut, 43, -0.2, 0.2);
        const dy = randomArray(b * h * w * cOut, 44);
        const target = randomArray(cOut * cOut, 45, 0, 10);
        const run = (tf: Tf, set: typeof STOCK_KERNELS) => {
          const kernel = tf.tensor4d(k, [3, 3, cIn, cOut]);
          const y = set.conv3x3Relu(tf.tensor4d(x, [b, h, w, cIn]), kernel, tf.tensor1d(bias));
          const dx = set.conv3x3ReluGradInput(
            tf.tensor4d(dy, [b, h, w, cOut]),
            y,
            kernel,
            flip(tf, kernel),
          );
          const f = tf.reshape(y, [b, h * w, cOut]) as TF.Tensor3D;
          const s = set.styleLoss(f, tf.tensor2d(target, [cOut, cOut]));
          return [y, dx, set.gram(f), s.loss, s.grad];
        };
        const want = await onBackend("cpu", (tf) => run(tf, STOCK_KERNELS));
        const got = await onBackend("webgpu", (tf) => run(tf, CUSTOM_KERNELS));
        assertClose(got, want, TOL, `${route} route`);
      } finally {
        setConvRoute(null);
      }
    },
  });
}
