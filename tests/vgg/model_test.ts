import assert from "node:assert/strict";
import { SHARED_WEIGHTS, TEST_BACKENDS } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { CAFFE_MEAN_BGR, layersUpTo } from "../../src/vgg/layers.ts";
import { deprocess, preprocess, Vgg19 } from "../../src/vgg/model.ts";
import { type LayerWeights, loadVggWeights } from "../../src/vgg/weights.ts";

const TARGET = "block2_conv1";
const specs = layersUpTo([TARGET]);
const weights = await loadVggWeights(SHARED_WEIGHTS, specs);

type Img = { h: number; w: number; c: number; d: Float64Array };

/** Naive 3x3 'same' conv + bias + ReLU in float64: the independent reference. */
function naiveConv(x: Img, lw: LayerWeights, cOut: number): Img {
  const out = new Float64Array(x.h * x.w * cOut);
  for (let i = 0; i < x.h; i++) {
    for (let j = 0; j < x.w; j++) {
      for (let o = 0; o < cOut; o++) {
        let s = lw.bias[o];
        for (let di = 0; di < 3; di++) {
          for (let dj = 0; dj < 3; dj++) {
            const ii = i + di - 1, jj = j + dj - 1;
            if (ii < 0 || jj < 0 || ii >= x.h || jj >= x.w) continue;
            for (let c = 0; c < x.c; c++) {
              s += x.d[(ii * x.w + jj) * x.c + c] * lw.kernel[((di * 3 + dj) * x.c + c) * cOut + o];
            }
          }
        }
        out[(i * x.w + j) * cOut + o] = Math.max(0, s);
      }
    }
  }
  return { h: x.h, w: x.w, c: cOut, d: out };
}

function naivePool(x: Img): Img {
  const h = Math.floor(x.h / 2), w = Math.floor(x.w / 2);
  const d = new Float64Array(h * w * x.c);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let c = 0; c < x.c; c++) {
        let m = -Infinity;
        for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          m = Math.max(m, x.d[((2 * i + a) * x.w + 2 * j + b) * x.c + c]);
        }
        d[(i * w + j) * x.c + c] = m;
      }
    }
  }
  return { h, w, c: x.c, d };
}

// A 7x5 RGB image (odd sizes exercise the pool's floor).
const H = 7, W = 5;
const rgb = Float32Array.from({ length: H * W * 3 }, (_, i) => (i * 37) % 256);

function reference(): Img {
  // caffe preprocessing by hand: BGR order minus the mean.
  const d = new Float64Array(H * W * 3);
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < 3; c++) d[p * 3 + c] = rgb[p * 3 + (2 - c)] - CAFFE_MEAN_BGR[c];
  }
  let x: Img = { h: H, w: W, c: 3, d };
  for (const s of specs) {
    if (s.poolBefore) x = naivePool(x);
    x = naiveConv(x, weights.layers.get(s.name)!, s.cOut);
  }
  return x;
}
const want = reference();

for (const backend of TEST_BACKENDS) {
  Deno.test(`VGG19 forward to ${TARGET} matches a naive float64 loop on ${backend}`, async () => {
    await initBackend(backend);
    const vgg = Vgg19.create(weights, specs);
    const out = tf.tidy(() =>
      vgg.features(preprocess(tf.tensor4d(rgb, [1, H, W, 3])), [TARGET])[TARGET]
    );
    assert.deepEqual(out.shape, [1, 3, 2, 128]);
    const got = await out.data();
    const scale = Math.max(...want.d.map(Math.abs));
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.d[i]));
    // float32 accumulation over up to 576 terms: 1e-4 of the largest activation.
    assert.ok(worst <= 1e-4 * scale, `max abs error ${worst} vs scale ${scale}`);
    out.dispose();
    vgg.dispose();
  });
}

Deno.test("preprocess and deprocess are inverse and follow Keras caffe order", async () => {
  await initBackend("cpu");
  const x = tf.tensor4d([10, 20, 30], [1, 1, 1, 3]);
  const p = preprocess(x);
  assert.deepEqual(
    Array.from(p.dataSync()).map((v) => +v.toFixed(3)),
    [30 - 103.939, 20 - 116.779, 10 - 123.68].map((v) => +v.toFixed(3)),
  );
  assert.deepEqual(Array.from(deprocess(p).dataSync()).map((v) => Math.round(v)), [10, 20, 30]);
});
