/**
 * The stylize options of issue 14 against independent references: the blend
 * target (a hand-computed Gram blend), total variation (value by hand,
 * gradient by finite differences), average pooling, the scale schedule,
 * colour preservation (the output's chroma against the content's), coarse
 * to fine (warm start used, losses per scale, no tensor leak) and tiles (the
 * tiled objective and gradient equal the untiled ones).
 */
import assert from "node:assert/strict";
import { SHARED_WEIGHTS } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { layersUpTo } from "../../src/vgg/layers.ts";
import { avgPool2x2, preprocess, Vgg19 } from "../../src/vgg/model.ts";
import { loadVggWeights } from "../../src/vgg/weights.ts";
import { type GatysConfig, GatysOptimizer } from "../../src/style/engine.ts";
import { DEFAULT_ADAM } from "../../src/style/options.ts";
import { tvLoss } from "../../src/style/losses.ts";
import { scaleIterations, scaleLongSides } from "../../src/style/scales.ts";
import {
  luminanceImage,
  matchLuminance,
  recombineColors,
  rgbToYiq,
} from "../../src/style/color.ts";
import { residualWarmStart, stylizeScales } from "../../src/style/run.ts";
import type { RgbImage } from "../../src/images/io.ts";

// wasm: the tiled test runs many VGG passes, several times faster than on cpu.
await initBackend("wasm");

function seeded(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.randomUniform(shape, 0, 1, "float32", seed), 255) as tf.Tensor4D);
}
async function rgb(t: tf.Tensor4D): Promise<RgbImage> {
  return { width: t.shape[2], height: t.shape[1], data: await t.data() as Float32Array };
}

const base = (
  layers: { contentLayer: string; styleLayers: string[] },
  init: GatysConfig["init"],
) => ({
  ...layers,
  alpha: 1e2,
  beta: 1,
  adam: { ...DEFAULT_ADAM },
  init,
  seed: 0,
});

Deno.test("--style-blend: the style loss is against w1 A1 + w2 A2 (weights normalised), by hand", async () => {
  const specs = layersUpTo(["block1_conv1"]);
  const vgg = Vgg19.create(await loadVggWeights(SHARED_WEIGHTS, specs), specs);
  const x = seeded([1, 5, 4, 3], 1), s1 = seeded([1, 5, 4, 3], 2), s2 = seeded([1, 5, 4, 3], 3);
  const opt = GatysOptimizer.create(vgg, x, [s1, s2], {
    ...base({ contentLayer: "block1_conv1", styleLayers: ["block1_conv1"] }, "content"),
    styleWeights: [7, 3],
  });
  const [loss] = await opt.evaluate();
  opt.dispose();
  // By hand: Grams in plain JS from the features, E = sum (G - A)^2 / (4 N^2 M^2).
  const feats = async (t: tf.Tensor4D) => {
    const f = tf.tidy(() => vgg.features(preprocess(t), ["block1_conv1"]).block1_conv1);
    const d = await f.data();
    f.dispose();
    return d;
  };
  const n = 64, m = 20;
  const gram = (f: ArrayLike<number>) => {
    const g = new Float64Array(n * n);
    for (let p = 0; p < m; p++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) g[i * n + j] += f[p * n + i] * f[p * n + j];
      }
    }
    return g;
  };
  const [gx, g1, g2] = [gram(await feats(x)), gram(await feats(s1)), gram(await feats(s2))];
  let e = 0;
  for (let k = 0; k < n * n; k++) e += (gx[k] - (0.7 * g1[k] + 0.3 * g2[k])) ** 2;
  e /= 4 * n * n * m * m;
  assert.ok(Math.abs(loss.style_loss - e) / e < 1e-4, `${loss.style_loss} vs ${e}`);
  vgg.dispose();
  tf.dispose([x, s1, s2]);
});

Deno.test("--tv-weight: tvLoss by hand, and its gradient against finite differences", async () => {
  const x = seeded([1, 4, 5, 3], 4);
  const v = await x.data();
  const at = (y: number, xx: number, c: number) => v[(y * 5 + xx) * 3 + c];
  let want = 0;
  for (let y = 0; y < 4; y++) {
    for (let xx = 0; xx < 5; xx++) {
      for (let c = 0; c < 3; c++) {
        if (y + 1 < 4) want += Math.abs(at(y + 1, xx, c) - at(y, xx, c));
        if (xx + 1 < 5) want += Math.abs(at(y, xx + 1, c) - at(y, xx, c));
      }
    }
  }
  const got = (await tvLoss(x).data())[0];
  assert.ok(Math.abs(got - want) < 1e-2, `${got} vs ${want}`);
  const g = await tf.grad((t: tf.Tensor) => tf.sum(tvLoss(t as tf.Tensor4D)))(x).data();
  const h = 1e-2;
  for (const i of [0, 7, 22, 31, 59]) {
    const f = async (d: number) => {
      const w = Float32Array.from(v);
      w[i] += d;
      const t = tf.tensor4d(w, x.shape);
      const r = (await tvLoss(t).data())[0];
      t.dispose();
      return r;
    };
    const fd = (await f(h) - await f(-h)) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) < 0.05, `pixel ${i}: fd ${fd} vs grad ${g[i]}`);
  }
  // In the engine: the logged tv_loss is tvLoss of the image, and the total includes w * tv.
  const specs = layersUpTo(["block1_conv1"]);
  const vgg = Vgg19.create(await loadVggWeights(SHARED_WEIGHTS, specs), specs);
  const opt = GatysOptimizer.create(vgg, x, x, {
    ...base({ contentLayer: "block1_conv1", styleLayers: ["block1_conv1"] }, "content"),
    tvWeight: 0.5,
  });
  const [l] = await opt.evaluate();
  opt.dispose();
  vgg.dispose();
  assert.ok(Math.abs(l.tv_loss! - want) < 0.05);
  assert.ok(Math.abs(l.total_loss - (1e2 * l.content_loss + l.style_loss + 0.5 * want)) < 1e-2);
  x.dispose();
});

Deno.test("--pooling avg: the 2x2 average pool is tf.avgPool's, and the forward uses it", async () => {
  const x = seeded([1, 7, 6, 2], 5);
  const a = await avgPool2x2(x).data(), b = await tf.avgPool(x, 2, 2, "valid").data();
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4));
  const specs = layersUpTo(["block2_conv1"]);
  const w = await loadVggWeights(SHARED_WEIGHTS, specs);
  const [mx, av] = [Vgg19.create(w, specs), Vgg19.create(w, specs, "avg")];
  const fm = await tf.tidy(() =>
    mx.features(x.slice(0, [1, 6, 6, 2]).pad([[0, 0], [0, 0], [0, 0], [0, 1]]) as tf.Tensor4D, [
      "block2_conv1",
    ]).block2_conv1
  ).data();
  const fa = await tf.tidy(() =>
    av.features(x.slice(0, [1, 6, 6, 2]).pad([[0, 0], [0, 0], [0, 0], [0, 1]]) as tf.Tensor4D, [
      "block2_conv1",
    ]).block2_conv1
  ).data();
  assert.notDeepEqual(Array.from(fm), Array.from(fa));
  mx.dispose();
  av.dispose();
  x.dispose();
});

Deno.test("scale schedule: √2 apart up to --size; --min-size; iterations per scale", () => {
  assert.deepEqual(scaleLongSides(512, { scales: 4 }), [181, 256, 362, 512]);
  assert.deepEqual(scaleLongSides(512, { scales: 1 }), [512]);
  const m = scaleLongSides(512, { minSize: 128 });
  assert.deepEqual(m, [128, 181, 256, 362, 512]);
  const odd = scaleLongSides(500, { minSize: 100 });
  assert.equal(odd[0], 100);
  assert.equal(odd.at(-1), 500);
  for (let k = 1; k < odd.length; k++) assert.ok(odd[k] / odd[k - 1] <= Math.SQRT2 + 0.01);
  assert.throws(
    () => scaleLongSides(256, { minSize: 300 }),
    /--min-size: 300 px is above --size 256/,
  );
  assert.deepEqual(scaleIterations(3, 50), [50, 50, 50]);
  assert.deepEqual(scaleIterations(3, 50, [200, 80]), [200, 80, 80]);
});

Deno.test("--original-colors: the output's chroma (YIQ I, Q) is the content's", async () => {
  const content = await rgb(seeded([1, 8, 8, 3], 6));
  const style = await rgb(seeded([1, 8, 8, 3], 7));
  const grey = luminanceImage(content);
  const matched = matchLuminance(luminanceImage(style), grey);
  // Any grey "stylized" result: here the matched style itself.
  const out = recombineColors(matched, content);
  let worst = 0, inside = 0;
  for (let p = 0; p < out.data.length; p += 3) {
    const o = rgbToYiq(out.data[p], out.data[p + 1], out.data[p + 2]);
    const c = rgbToYiq(content.data[p], content.data[p + 1], content.data[p + 2]);
    const clipped = [0, 1, 2].some((k) => out.data[p + k] <= 0 || out.data[p + k] >= 255);
    if (clipped) continue;
    inside++;
    worst = Math.max(worst, Math.abs(o[1] - c[1]), Math.abs(o[2] - c[2]));
    assert.ok(Math.abs(o[0] - matched.data[p]) < 0.05); // the luminance is the result's
  }
  assert.ok(inside > 20);
  assert.ok(worst < 0.05, `chroma differs by ${worst}`);
});

Deno.test("coarse to fine: warm start used, losses per scale, no tensor leak", async () => {
  const layers = { contentLayer: "block2_conv1", styleLayers: ["block1_conv1", "block2_conv1"] };
  const specs = layersUpTo(["block2_conv1"]);
  const vgg = Vgg19.create(await loadVggWeights(SHARED_WEIGHTS, specs), specs);
  const img = (h: number, w: number, s: number) => rgb(seeded([1, h, w, 3], s));
  // A smooth content (a ramp) and a noise style: the style pulls the image away from the content.
  const ramp = (h: number, w: number): RgbImage => ({
    width: w,
    height: h,
    data: Float32Array.from({ length: h * w * 3 }, (_, i) => (Math.floor(i / 3) % w) * 255 / w),
  });
  const steps = [
    { contents: [ramp(12, 16)], styles: [await img(12, 16, 2)], iterations: 15 },
    { contents: [ramp(17, 23)], styles: [await img(17, 23, 2)], iterations: 2 },
  ];
  const before = tf.memory().numTensors;
  const warm = await stylizeScales(vgg, steps, base(layers, "content"), { iterations: 0 });
  assert.equal(tf.memory().numTensors, before, "tensors leaked across scales");
  const h = warm.histories[0];
  assert.equal(h.filter((r) => r.scale === 0).length, 16);
  assert.equal(h.filter((r) => r.scale === 1).length, 3);
  assert.deepEqual([h.at(-1)!.width, h.at(-1)!.height], [23, 17]);
  // A cold start at the second scale is the content itself (content loss 0, the full style
  // loss); the warm start carries the first scale's departure from its content: off the content,
  // nearer the style.
  const cold = await stylizeScales(vgg, [steps[1]], base(layers, "content"), { iterations: 0 });
  const w0 = h.find((r) => r.scale === 1)!, c0 = cold.histories[0][0];
  assert.ok(c0.content_loss < 1e-6); // 0 up to the BGR round trip
  assert.ok(w0.content_loss > 1);
  assert.ok(w0.style_loss < 0.8 * c0.style_loss, `warm ${w0.style_loss} vs cold ${c0.style_loss}`);
  vgg.dispose();
});

Deno.test("tiles: the tiled objective and gradient equal the untiled ones; no tensor leak", async () => {
  const layers = {
    contentLayer: "block3_conv4",
    styleLayers: ["block1_conv1", "block2_conv1", "block3_conv1"],
  };
  const specs = layersUpTo(["block3_conv4"]);
  const vgg = Vgg19.create(await loadVggWeights(SHARED_WEIGHTS, specs), specs);
  const content = seeded([1, 70, 90, 3], 8),
    style = seeded([1, 60, 80, 3], 9),
    start = seeded([1, 70, 90, 3], 10);
  const run = async (tile?: number) => {
    const opt = GatysOptimizer.create(vgg, content, style, {
      ...base(layers, start),
      tvWeight: 0.01,
      ...(tile ? { tile } : {}),
    });
    const { losses, grad } = await opt.gradient();
    const g = await grad.data();
    grad.dispose();
    // The losses without a step (the result's): tiled too, no pass over the whole image.
    const widths: number[] = [];
    const features = vgg.features.bind(vgg);
    vgg.features = (x, names) => (widths.push(x.shape[2]), features(x, names));
    const [e] = await opt.evaluate();
    vgg.features = features;
    opt.dispose();
    return { l: losses[0], e, widest: Math.max(...widths), g };
  };
  const before = tf.memory().numTensors;
  const plain = await run();
  const tiled = await run(24); // cores of 24 px: a 3 x 4 grid at the first evaluation, halo 28
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  assert.equal(plain.widest, 90);
  assert.ok(tiled.widest < 90, `evaluate() ran a ${tiled.widest} px wide pass on a 90 px image`);
  for (const k of ["content_loss", "style_loss", "tv_loss", "total_loss"] as const) {
    const a = plain.l[k]!, b = tiled.l[k]!;
    assert.ok(Math.abs(a - b) / Math.abs(a) < 1e-4, `${k}: ${a} vs ${b}`);
    const ea = plain.e[k]!, eb = tiled.e[k]!;
    assert.ok(Math.abs(ea - a) / Math.abs(a) < 1e-4, `evaluate() ${k}: ${ea} vs ${a}`);
    assert.ok(Math.abs(eb - a) / Math.abs(a) < 1e-4, `tiled evaluate() ${k}: ${eb} vs ${a}`);
  }
  let num = 0, den = 0;
  plain.g.forEach((v, i) => {
    num += (v - tiled.g[i]) ** 2;
    den += v * v;
  });
  assert.ok(Math.sqrt(num / den) < 1e-4, `gradient relative error ${Math.sqrt(num / den)}`);
  vgg.dispose();
  tf.dispose([content, style, start]);
});

Deno.test("coarse to fine: the warm start is the fine content plus the upsampled departure", async () => {
  // Hand-computed: a 1x2 coarse content (10, 30) whose result is (20, 20) departs by (+10, -10);
  // bilinear with half-pixel centres takes that to (+10, +5, -5, -10) on 1x4, added to the fine
  // content 100 everywhere, then clipped to [0, 255].
  const im = (w: number, vals: number[]) => ({
    data: Float32Array.from(vals.flatMap((v) => [v, v, v])),
    width: w,
    height: 1,
  });
  const best = tf.tensor4d([20, 20, 20, 20, 20, 20], [1, 1, 2, 3]);
  const x = residualWarmStart(best, [im(2, [10, 30])], [im(4, [100, 100, 100, 250])]);
  const got = Array.from(await x.data()).filter((_, i) => i % 3 === 0);
  assert.deepEqual(got, [110, 105, 95, 240]);
  tf.dispose([best, x]);
});
