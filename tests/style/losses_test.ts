import assert from "node:assert/strict";
import { tf } from "../../src/tf.ts";
import { contentLoss, gram, styleLayerLoss } from "../../src/style/losses.ts";

await tf.setBackend("cpu");

/** Naive Gram: G[i][j] = sum_m F[m][i] * F[m][j]. */
function naiveGram(f: number[][]): number[][] {
  const n = f[0].length;
  const g = Array.from({ length: n }, () => new Array(n).fill(0));
  for (const row of f) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i][j] += row[i] * row[j];
  }
  return g;
}

function close(a: number, b: number, rel = 1e-5, what = "") {
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

Deno.test("gram matches a naive loop on a 2x3x4 feature map", () => {
  const vals = Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i) * 3);
  const f = tf.tensor4d(vals, [1, 2, 3, 4]);
  const rows = Array.from({ length: 6 }, (_, m) => vals.slice(m * 4, m * 4 + 4));
  const want = naiveGram(rows);
  const got = gram(f).arraySync()[0];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) close(got[i][j], want[i][j], 1e-5, `G${i}${j}`);
  }
  f.dispose();
});

Deno.test("content loss is the mean squared error, per image", () => {
  // image 0: diffs 1,2,3,4 -> (1+4+9+16)/4 = 7.5; image 1: diffs all 0 -> 0
  const x = tf.tensor4d([1, 2, 3, 4, 5, 5, 5, 5], [2, 1, 2, 2]);
  const p = tf.tensor4d([0, 0, 0, 0, 5, 5, 5, 5], [2, 1, 2, 2]);
  assert.deepEqual(Array.from(contentLoss(x, p).dataSync()), [7.5, 0]);
});

Deno.test("style layer loss matches E = sum((G-A)^2)/(4 N^2 M^2) by hand", () => {
  // F: M = 2 positions, N = 2 channels: rows [1,2] and [3,4].
  // G = F^T F = [[1+9, 2+12], [2+12, 4+16]] = [[10,14],[14,20]]; A = identity.
  // (G-A) = [[9,14],[14,19]] -> squares 81+196+196+361 = 834; / (4 * 4 * 4) = 13.03125
  const f = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const a = tf.tensor2d([1, 0, 0, 1], [2, 2]);
  close(styleLayerLoss(f, a).dataSync()[0], 834 / 64, 1e-6, "E");
});

Deno.test("style loss gradient equals autodiff of the explicit formula", () => {
  const f = tf.randomNormal([2, 3, 3, 5], 0, 1, "float32", 7) as tf.Tensor4D;
  const a = tf.tidy(() =>
    gram(tf.randomNormal([1, 3, 3, 5], 0, 1, "float32", 8) as tf.Tensor4D).squeeze([0])
  ) as tf.Tensor2D;
  const explicit = (x: tf.Tensor) => {
    const m = 9, n = 5;
    const g = tf.matMul(tf.reshape(x, [2, m, n]), tf.reshape(x, [2, m, n]), true, false);
    return tf.sum(tf.div(tf.sum(tf.square(tf.sub(g, a)), [1, 2]), 4 * n * n * m * m));
  };
  const gotGrad = tf.grad((x: tf.Tensor) => tf.sum(styleLayerLoss(x as tf.Tensor4D, a)))(f)
    .dataSync();
  const wantGrad = tf.grad(explicit)(f).dataSync();
  for (let i = 0; i < wantGrad.length; i++) close(gotGrad[i], wantGrad[i], 1e-4, `dF[${i}]`);
});
