/**
 * The Gatys objective of an image too big for one VGG pass, evaluated in
 * tiles. Each tile is a core (the positions it owns) plus a halo at least as
 * wide as the receptive field of the deepest layer, so its core features are
 * the untiled image's features exactly. The Gram matrices stay global: a first
 * pass sums the tiles' core Grams into G (the whole image's Gram, since the
 * cores partition the positions), the style loss is E(G, A) as untiled, and a
 * second pass back-propagates each tile through the surrogate
 * sum_ij C_ij (F_t^T F_t)_ij with C = dE/dG held fixed, whose gradient in F_t is
 * exactly the untiled dE/dF on the tile's positions. The content term is a sum
 * over positions and splits by core. So the tiled objective and gradient are
 * the untiled ones (to float rounding); only the peak memory falls, to about a
 * tile's activations. The cost is one extra forward pass per evaluation.
 *
 * The grid is shifted every evaluation (by whole multiples of the deepest
 * pool's stride, so the pools see the same 2x2 cells): the objective does not
 * depend on the grid, and float rounding at the borders does not pile up in
 * one place.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { tiledValueAndGrad, tileGrid } from "./tiles.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const x: tf.Tensor4D; // preprocessed [B, H, W, 3]
 * declare const terms: import("./tiles.ts").TiledTerms;
 * const grid = tileGrid(vgg, x.shape[1], x.shape[2], 256, 0);
 * const { value, grad, parts } = tiledValueAndGrad(vgg, x, { ...terms, grid });
 * tf.dispose([value, grad, parts]);
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { activeKernels } from "../ops/active.ts";
import type { ConvLayerSpec } from "../vgg/layers.ts";
import type { Vgg19 } from "../vgg/model.ts";
import { tvLoss } from "./losses.ts";
import { tileHaloOf } from "./limits.ts";

/**
 * One tile: its core `[y0, y1) x [x0, x1)` and the padded input region
 * `[py0, py1) x [px0, px1)` it is evaluated on (image pixels).
 *
 * @example
 * ```ts
 * import type { Tile } from "./tiles.ts";
 * const t: Tile = { y0: 0, y1: 64, x0: 0, x1: 64, py0: 0, py1: 92, px0: 0, px1: 92 };
 * ```
 */
export interface Tile {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  py0: number;
  py1: number;
  px0: number;
  px1: number;
}

/**
 * 2x2 pools before `name` in `vgg`.
 *
 * @example
 * ```ts
 * import { poolsBefore } from "./tiles.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * console.log(poolsBefore(vgg, "block3_conv1")); // 2
 * ```
 */
export function poolsBefore(vgg: Vgg19, name: string): number {
  let pools = 0;
  for (const l of vgg.layers) {
    if (l.spec.poolBefore) pools++;
    if (l.spec.name === name) return pools;
  }
  throw new Error(`layer ${name} is not in this model`);
}

/**
 * The stride of the deepest pool (2^pools): tile borders are multiples of it.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { tileAlign } from "./tiles.ts";
 * console.log(tileAlign(layersUpTo(["block3_conv4"]))); // 4
 * ```
 */
export function tileAlign(specs: readonly ConvLayerSpec[]): number {
  return 2 ** specs.filter((s) => s.poolBefore).length;
}

/**
 * The halo in input pixels: the receptive-field radius of the deepest layer
 * of `specs` (a 3x3 conv after p pools reaches 2^p pixels further, a pool at
 * most 2^p), rounded up to a multiple of {@link tileAlign}.
 *
 * @example
 * ```ts
 * import { layersUpTo } from "../vgg/layers.ts";
 * import { tileHalo } from "./tiles.ts";
 * console.log(tileHalo(layersUpTo(["block3_conv4"]))); // 28
 * ```
 */
export function tileHalo(specs: readonly ConvLayerSpec[]): number {
  return tileHaloOf(specs);
}

/** Core boundaries along one axis of length n: 0, n and every k*tile - shift strictly between. */
function cuts(n: number, tile: number, shift: number): number[] {
  const out = [0];
  for (let c = tile - shift; c < n; c += tile) if (c > 0) out.push(c);
  out.push(n);
  return out;
}

/**
 * The tiles of an `h` x `w` image with cores of `tile` pixels (a multiple of
 * the pool stride), shifted by a step that changes with `evaluation`.
 *
 * @example
 * ```ts
 * import { tileGrid } from "./tiles.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * console.log(tileGrid(vgg, 100, 100, 48, 0).length); // 9 (cores of 48, 48, 4)
 * ```
 */
export function tileGrid(
  vgg: Vgg19,
  h: number,
  w: number,
  tile: number,
  evaluation: number,
): Tile[] {
  const specs = vgg.layers.map((l) => l.spec);
  const a = tileAlign(specs), halo = tileHalo(specs);
  const core = Math.max(a, Math.floor(tile / a) * a);
  // A golden-ratio walk over the multiples of a below the core size: every
  // offset comes round, and consecutive grids are far apart.
  const slots = core / a;
  const shift = a * Math.floor((evaluation * 0.6180339887 % 1) * slots);
  const ys = cuts(h, core, shift), xs = cuts(w, core, shift);
  const out: Tile[] = [];
  for (let i = 0; i + 1 < ys.length; i++) {
    for (let j = 0; j + 1 < xs.length; j++) {
      const [y0, y1, x0, x1] = [ys[i], ys[i + 1], xs[j], xs[j + 1]];
      out.push({
        y0,
        y1,
        x0,
        x1,
        py0: Math.max(0, y0 - halo),
        py1: Math.min(h, y1 + halo),
        px0: Math.max(0, x0 - halo),
        px1: Math.min(w, x1 + halo),
      });
    }
  }
  return out;
}

/** [start, end) of a core along one axis at a layer after `pools` pools, in full-map coordinates. */
function coreRange(c0: number, c1: number, n: number, pools: number): [number, number] {
  const s = 2 ** pools;
  return [c0 / s, c1 === n ? Math.floor(n / s) : c1 / s];
}

/** The core of a tile's feature map `f` (computed on the tile's padded region) of a layer after `pools` pools. */
function cropCore(f: tf.Tensor4D, t: Tile, h: number, w: number, pools: number): tf.Tensor4D {
  const s = 2 ** pools;
  const [r0, r1] = coreRange(t.y0, t.y1, h, pools);
  const [c0, c1] = coreRange(t.x0, t.x1, w, pools);
  const [b, , , n] = f.shape;
  return tf.slice(f, [0, r0 - t.py0 / s, c0 - t.px0 / s, 0], [b, r1 - r0, c1 - c0, n]);
}

/** The padded input of a tile. */
function tileInput(x: tf.Tensor4D, t: Tile): tf.Tensor4D {
  return tf.slice(x, [0, t.py0, t.px0, 0], [x.shape[0], t.py1 - t.py0, t.px1 - t.px0, 3]);
}

/**
 * Features of `layer` for a preprocessed `x`, computed tile by tile and
 * stitched: equal to `vgg.features(x, [layer])[layer]`, at a tile's memory.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { tiledFeatures } from "./tiles.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * const f = tiledFeatures(vgg, tf.zeros([1, 300, 200, 3]), "block3_conv4", 128);
 * console.log(f.shape); // [1, 75, 50, 256]
 * ```
 */
export function tiledFeatures(
  vgg: Vgg19,
  x: tf.Tensor4D,
  layer: string,
  tile: number,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  const pools = poolsBefore(vgg, layer);
  const grid = tileGrid(vgg, h, w, tile, 0);
  const rows: tf.Tensor4D[] = [];
  let row: tf.Tensor4D[] = [];
  for (const [i, t] of grid.entries()) {
    row.push(
      tf.tidy(() => cropCore(vgg.features(tileInput(x, t), [layer])[layer], t, h, w, pools)),
    );
    if (i + 1 === grid.length || grid[i + 1].y0 !== t.y0) {
      rows.push(row.length === 1 ? row[0] : tf.concat(row, 2));
      if (row.length > 1) tf.dispose(row);
      row = [];
    }
  }
  const out = rows.length === 1 ? rows[0] : tf.concat(rows, 1);
  if (rows.length > 1) tf.dispose(rows);
  return out;
}

/** Features `[B, H, W, N]` as `[B, H*W, N]`. */
function flat(f: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, n] = f.shape;
  return tf.reshape(f, [b, h * w, n]);
}

/**
 * The unnormalised Grams `[B, N, N]` of `layers` for a preprocessed `x`,
 * summed over the tiles' cores: the whole image's Grams at a tile's memory.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { tiledGrams } from "./tiles.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * const [g] = tiledGrams(vgg, tf.zeros([1, 300, 200, 3]), ["block1_conv1"], 128);
 * console.log(g.shape); // [1, 64, 64]
 * ```
 */
export function tiledGrams(
  vgg: Vgg19,
  x: tf.Tensor4D,
  layers: readonly string[],
  tile: number,
): tf.Tensor3D[] {
  const [, h, w] = x.shape;
  return sumGrams(vgg, x, layers, tileGrid(vgg, h, w, tile, 0), null).grams;
}

/** Pass 1: the Grams of `layers` summed over the grid's cores, and (with a target) the content SSE per image. */
function sumGrams(
  vgg: Vgg19,
  x: tf.Tensor4D,
  layers: readonly string[],
  grid: readonly Tile[],
  content: { layer: string; target: tf.Tensor4D } | null,
): { grams: tf.Tensor3D[]; sse: tf.Tensor1D | null } {
  const [, h, w] = x.shape;
  let grams: tf.Tensor3D[] | null = null;
  let sse: tf.Tensor1D | null = null;
  const outputs = [...new Set([...layers, ...(content ? [content.layer] : [])])];
  for (const t of grid) {
    const out = tf.tidy(() => {
      const feats = vgg.features(tileInput(x, t), outputs);
      const g = layers.map((name) =>
        activeKernels().gram(flat(cropCore(feats[name], t, h, w, poolsBefore(vgg, name))))
      );
      const e = content
        ? tf.sum(
          tf.squaredDifference(
            cropCore(feats[content.layer], t, h, w, poolsBefore(vgg, content.layer)),
            targetCore(content.target, t, h, w, poolsBefore(vgg, content.layer)),
          ),
          [1, 2, 3],
        ) as tf.Tensor1D
        : null;
      return { g, e: e ?? [] };
    });
    const g = out.g as tf.Tensor3D[];
    const e = Array.isArray(out.e) ? null : out.e as tf.Tensor1D;
    if (grams === null) grams = g;
    else {
      const prev: tf.Tensor3D[] = grams;
      grams = prev.map((p, i) => tf.add(p, g[i]) as tf.Tensor3D);
      tf.dispose([...prev, ...g]);
    }
    if (e) {
      const prev: tf.Tensor1D | null = sse;
      sse = prev ? tf.add(prev, e) as tf.Tensor1D : e;
      if (prev) tf.dispose([prev, e]);
    }
  }
  return { grams: grams!, sse };
}

/** The part of a full-size feature target `[B, Hl, Wl, N]` under a tile's core. */
function targetCore(
  target: tf.Tensor4D,
  t: Tile,
  h: number,
  w: number,
  pools: number,
): tf.Tensor4D {
  const [r0, r1] = coreRange(t.y0, t.y1, h, pools);
  const [c0, c1] = coreRange(t.x0, t.x1, w, pools);
  const [b, , , n] = target.shape;
  return tf.slice(target, [0, r0, c0, 0], [b, r1 - r0, c1 - c0, n]);
}

/**
 * What the tiled objective needs: the engine's layers and weights, its
 * targets (full size), and the grid of this evaluation.
 *
 * @example
 * ```ts
 * import type { TiledTerms } from "./tiles.ts";
 * declare const contentTarget: import("../tf.ts").tf.Tensor4D;
 * declare const styleTargets: import("../tf.ts").tf.Tensor2D[];
 * const terms: TiledTerms = {
 *   contentLayer: "block3_conv4", styleLayers: ["block1_conv1"], alpha: 1e3, beta: 1,
 *   contentTarget, styleTargets, grid: [],
 * };
 * ```
 */
export interface TiledTerms {
  contentLayer: string;
  styleLayers: string[];
  alpha: number;
  beta: number;
  tvWeight?: number;
  contentTarget: tf.Tensor4D;
  styleTargets: tf.Tensor2D[];
  grid: readonly Tile[];
}

/**
 * The objective sum_b (alpha c_b + beta s_b + tv_w tv_b) of a preprocessed
 * `x` and its gradient, tile by tile (see the module doc), with the
 * per-image parts as rows (content, style, tv, total). Caller disposes all three.
 *
 * @example
 * ```ts
 * import { tiledValueAndGrad } from "./tiles.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const x: import("../tf.ts").tf.Tensor4D;
 * declare const terms: import("./tiles.ts").TiledTerms;
 * const r = tiledValueAndGrad(vgg, x, terms);
 * console.log(await r.value.data());
 * ```
 */
export function tiledValueAndGrad(
  vgg: Vgg19,
  x: tf.Tensor4D,
  terms: TiledTerms,
): { value: tf.Scalar; grad: tf.Tensor4D; parts: tf.Tensor2D } {
  const [b, h, w] = x.shape;
  const { c, s, coefs, count } = firstPass(vgg, x, terms);
  let grad = tf.zeros([b, h, w, 3]) as tf.Tensor4D;
  for (const t of terms.grid) {
    const g = tileGrad(vgg, x, t, terms, coefs, count);
    const prev = grad;
    grad = tf.tidy(() =>
      tf.add(prev, tf.pad(g, [[0, 0], [t.py0, h - t.py1], [t.px0, w - t.px1], [0, 0]]))
    );
    tf.dispose([prev, g]);
  }
  tf.dispose(coefs);
  const { tv, grad: withTv } = addTvGrad(x, grad, terms.tvWeight ?? 0, c);
  return { ...partsAndValue(c, s, tv, terms), grad: withTv };
}

/**
 * Pass 1 of the tiled objective: the content loss `c` and style loss `s` per
 * image, the second pass's coefficients, and the content target's size
 * (the content loss's divisor). Caller disposes `c`, `s` and `coefs`.
 */
function firstPass(
  vgg: Vgg19,
  x: tf.Tensor4D,
  terms: TiledTerms,
): { c: tf.Tensor1D; s: tf.Tensor1D; coefs: tf.Tensor3D[]; count: number } {
  const [, h, w] = x.shape;
  const { grams, sse } = sumGrams(vgg, x, terms.styleLayers, terms.grid, {
    layer: terms.contentLayer,
    target: terms.contentTarget,
  });
  const [s, coefs] = styleCoefficients(vgg, grams, terms, h, w);
  tf.dispose(grams);
  const [, hc, wc, nc] = terms.contentTarget.shape;
  const count = hc * wc * nc;
  const c = tf.div(sse!, count) as tf.Tensor1D;
  tf.dispose(sse!);
  return { c, s, coefs, count };
}

/**
 * The objective of {@link tiledValueAndGrad} without its gradient: the first
 * pass only (a forward pass per tile), for the losses of an image that is not
 * stepped from, such as the result's. Caller disposes both.
 *
 * @example
 * ```ts
 * import { tiledValue } from "./tiles.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const x: import("../tf.ts").tf.Tensor4D;
 * declare const terms: import("./tiles.ts").TiledTerms;
 * const { value, parts } = tiledValue(vgg, x, terms);
 * console.log(await value.data(), parts.shape); // parts: [4, batch]
 * ```
 */
export function tiledValue(
  vgg: Vgg19,
  x: tf.Tensor4D,
  terms: TiledTerms,
): { value: tf.Scalar; parts: tf.Tensor2D } {
  const { c, s, coefs } = firstPass(vgg, x, terms);
  tf.dispose(coefs);
  const tvW = terms.tvWeight ?? 0;
  const tv = tvW > 0 ? tvLoss(x) : tf.zerosLike(c);
  return partsAndValue(c, s, tv, terms);
}

/** Rows (content, style, tv, total) per image and the summed total, from the parts (which it disposes). */
function partsAndValue(
  c: tf.Tensor1D,
  s: tf.Tensor1D,
  tv: tf.Tensor1D,
  terms: TiledTerms,
): { value: tf.Scalar; parts: tf.Tensor2D } {
  const tvW = terms.tvWeight ?? 0;
  const parts = tf.tidy(() => {
    const total = tf.add(tf.add(tf.mul(c, terms.alpha), tf.mul(s, terms.beta)), tf.mul(tv, tvW));
    return tf.stack([c, s, tv, total]) as tf.Tensor2D;
  });
  const value = tf.tidy(() => tf.sum(parts.slice([3, 0], [1, c.shape[0]])) as tf.Scalar);
  tf.dispose([c, s, tv]);
  return { value, parts };
}

/**
 * From the global Grams: the style loss per image (sum_l w_l E_l) and, per
 * layer, C_l = beta w_l dE_l/dG = beta w_l (G - A) / (2 N^2 M^2), the fixed
 * coefficients of the second pass's surrogate.
 */
function styleCoefficients(
  vgg: Vgg19,
  grams: tf.Tensor3D[],
  terms: TiledTerms,
  h: number,
  w: number,
): readonly [tf.Tensor1D, tf.Tensor3D[]] {
  const wl = 1 / terms.styleLayers.length;
  return tf.tidy(() => {
    const es: tf.Tensor1D[] = [], cs: tf.Tensor3D[] = [];
    terms.styleLayers.forEach((name, l) => {
      const p = poolsBefore(vgg, name);
      const m = Math.floor(h / 2 ** p) * Math.floor(w / 2 ** p);
      const n = grams[l].shape[2];
      const d = tf.sub(grams[l], terms.styleTargets[l]);
      es.push(tf.div(tf.sum(tf.square(d), [1, 2]), 4 * n * n * m * m) as tf.Tensor1D);
      cs.push(tf.keep(tf.mul(d, (terms.beta * wl) / (2 * n * n * m * m)) as tf.Tensor3D));
    });
    return [tf.mul(tf.addN(es), wl) as tf.Tensor1D, cs] as const;
  });
}

/**
 * Pass 2 on one tile: the gradient, on the tile's padded input, of its content
 * SSE (times alpha / count) plus the surrogate sum_l sum_ij C_l (F_t^T F_t)_ij.
 */
function tileGrad(
  vgg: Vgg19,
  x: tf.Tensor4D,
  t: Tile,
  terms: TiledTerms,
  coefs: readonly tf.Tensor3D[],
  count: number,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  const { contentLayer, styleLayers } = terms;
  const cPools = poolsBefore(vgg, contentLayer);
  return tf.tidy(() => {
    // Sliced outside tf.grad: inside it, tfjs keeps a copy of every op's inputs for the
    // backward pass, and on wasm that copy of the whole content target (200 MB at
    // 2048 px) was made once per tile.
    const target = targetCore(terms.contentTarget, t, h, w, cPools);
    return tf.grad((xt: tf.Tensor) => {
      const feats = vgg.features(xt as tf.Tensor4D, [...new Set([contentLayer, ...styleLayers])]);
      const cf = cropCore(feats[contentLayer], t, h, w, cPools);
      let obj = tf.mul(tf.sum(tf.squaredDifference(cf, target)), terms.alpha / count);
      styleLayers.forEach((name, l) => {
        const f = flat(cropCore(feats[name], t, h, w, poolsBefore(vgg, name)));
        obj = tf.add(obj, tf.sum(tf.mul(coefs[l], tf.matMul(f, f, true, false))));
      });
      return obj as tf.Scalar;
    })(tileInput(x, t)) as tf.Tensor4D;
  });
}

/**
 * The total variation per image (zeros like `like` when `tvW` is 0) and
 * `grad` plus tvW times its gradient (the whole image at once: it is cheap);
 * `grad` is disposed when replaced.
 */
function addTvGrad(
  x: tf.Tensor4D,
  grad: tf.Tensor4D,
  tvW: number,
  like: tf.Tensor1D,
): { tv: tf.Tensor1D; grad: tf.Tensor4D } {
  if (!(tvW > 0)) return { tv: tf.zerosLike(like), grad };
  const { value, grad: tg } = tf.valueAndGrad((xx: tf.Tensor4D) => tf.sum(tvLoss(xx)))(x);
  value.dispose();
  const tv = tvLoss(x);
  const sum = tf.tidy(() => tf.add(grad, tf.mul(tg, tvW))) as tf.Tensor4D;
  tf.dispose([grad, tg]);
  return { tv, grad: sum };
}
