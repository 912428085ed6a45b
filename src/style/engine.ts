/**
 * The Gatys optimisation: Adam or L-BFGS on the pixels of a batch of images,
 * each image with its own content target and loss, all sharing one style
 * target. With Adam, one call to {@link GatysOptimizer.step} is one VGG
 * forward and backward pass over the whole batch; with L-BFGS
 * (`optimizer: "lbfgs"`, see `./lbfgs.ts`) it is one iteration, which takes
 * one evaluation or more (line-search backtracks): {@link GatysOptimizer.evaluations}
 * counts them.
 *
 * The best image of a batch item is the lowest-loss iterate after at least
 * one update (iteration >= 1): the starting image is evaluated and logged
 * but never returned as the result.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { GatysOptimizer } from "./engine.ts";
 * // vgg: a Vgg19 with layers up to the deepest loss layer; content/style: RGB [0,255] tensors
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const content: tf.Tensor4D, style: tf.Tensor4D;
 * const opt = GatysOptimizer.create(vgg, content, style, {
 *   contentLayer: "block3_conv4", styleLayers: ["block1_conv1"], alpha: 1e4, beta: 1,
 *   adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 }, init: "content", seed: 0,
 * });
 * const losses = await opt.step(); // losses at the current image, then one update
 * await opt.step(); // iteration 1's losses: from here on an image can be the best
 * const result = opt.best(); // RGB [0,255] of the lowest-loss image after >= 1 update, per item
 * opt.dispose();
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { activeKernels, type AdamConfig, type AdamState } from "../ops/active.ts";
import { deprocess, pixelBounds, preprocess, type Vgg19 } from "../vgg/model.ts";
import { contentLoss, gram, styleLayerLoss, tvLoss } from "./losses.ts";
import {
  poolsBefore,
  tiledFeatures,
  tiledGrams,
  type TiledTerms,
  tiledValue,
  tiledValueAndGrad,
  tileGrid,
} from "./tiles.ts";
import { Lbfgs, LBFGS_DEFAULTS, type LbfgsConfig } from "./lbfgs.ts";

/**
 * The pixel optimisers.
 *
 * @example
 * ```ts
 * import type { OptimizerName } from "./engine.ts";
 * const o: OptimizerName = "lbfgs";
 * ```
 */
export type OptimizerName = "adam" | "lbfgs";

/**
 * Everything that defines one optimisation.
 *
 * @example
 * ```ts
 * import type { GatysConfig } from "./engine.ts";
 * import { DEFAULT_ADAM, DEFAULT_LBFGS } from "./options.ts";
 * const config: GatysConfig = {
 *   contentLayer: "block3_conv4", styleLayers: ["block1_conv1"], alpha: 1e3, beta: 1,
 *   adam: { ...DEFAULT_ADAM }, optimizer: "lbfgs", lbfgs: { ...DEFAULT_LBFGS, history: 5 },
 *   init: "content", seed: 0,
 * };
 * ```
 */
export interface GatysConfig {
  /** The VGG19 layer whose features the content loss compares (e.g. `block3_conv4`). */
  contentLayer: string;
  /** The VGG19 layers whose Gram matrices the style loss compares. */
  styleLayers: string[];
  /** Content weight. */
  alpha: number;
  /** Style weight. */
  beta: number;
  /** Adam's settings (used when `optimizer` is "adam"). */
  adam: AdamConfig;
  /** Which optimiser updates the pixels; default "adam". */
  optimizer?: OptimizerName;
  /** L-BFGS settings (used when `optimizer` is "lbfgs"); missing fields take `DEFAULT_LBFGS`. */
  lbfgs?: Partial<LbfgsConfig>;
  /**
   * Start from the content image, seeded uniform noise over the valid range, or a given RGB image
   * (a `[B,H,W,3]` tensor: tensor-level API, left out of the library's docs).
   *
   * @ignore
   */
  init: "content" | "random" | tf.Tensor4D;
  /** Seed of the random start (`init: "random"`). */
  seed: number;
  /**
   * Blend weights, one per style image (`--style-blend`); normalised to sum 1
   * here. The style target is sum_i w_i A_i. Default: equal weights.
   */
  styleWeights?: number[];
  /** Weight of the total variation term (`--tv-weight`, see {@link tvLoss}); default 0 (none). */
  tvWeight?: number;
  /**
   * Evaluate the objective in tiles of this many pixels a side (plus a halo),
   * for images over the memory bound; see `./tiles.ts`. The objective and its
   * gradient are the untiled ones; only the peak memory changes.
   */
  tile?: number;
}

/**
 * The unweighted losses of one image at one iteration, and their weighted total.
 *
 * @example
 * ```ts
 * import type { LossValues } from "./engine.ts";
 * const l: LossValues = { content_loss: 2, style_loss: 3, total_loss: 1e3 * 2 + 3 };
 * ```
 */
export interface LossValues {
  /** The content loss, unweighted. */
  content_loss: number;
  /** The style loss, unweighted (summed over the style layers). */
  style_loss: number;
  /** The unweighted total variation; present only when `tvWeight` > 0. */
  tv_loss?: number;
  /** alpha * content_loss + beta * style_loss (+ tvWeight * tv_loss). */
  total_loss: number;
}

/**
 * Raised when a loss stops being a finite number.
 *
 * @example
 * ```ts
 * import { NonFiniteLossError } from "./engine.ts";
 * const e = new NonFiniteLossError("loss is not finite");
 * console.log(e instanceof Error); // true
 * ```
 */
export class NonFiniteLossError extends Error {}

/**
 * Adam or L-BFGS on the pixels of a batch, tracking the lowest-loss image of
 * every batch item (among iterations >= 1).
 *
 * @example
 * ```ts
 * import { GatysOptimizer, type GatysConfig } from "./engine.ts";
 * declare const vgg: import("../vgg/model.ts").Vgg19;
 * declare const content: import("../tf.ts").tf.Tensor4D, style: import("../tf.ts").tf.Tensor4D;
 * declare const config: GatysConfig;
 * const opt = GatysOptimizer.create(vgg, content, style, { ...config, optimizer: "lbfgs" });
 * for (let i = 0; i < 5; i++) await opt.step();
 * await opt.evaluate();
 * console.log(opt.bestSteps, opt.evaluations); // [5], 6 or more
 * opt.dispose();
 * ```
 */
export class GatysOptimizer {
  private x: tf.Tensor4D;
  private adam: AdamState | null = null;
  private lbfgs: Lbfgs | null = null;
  /** L-BFGS only: per-image (content, style, total) at the current x, not yet reported. */
  private pending: { values: Float32Array; evaluations: number } | null = null;
  private lastParts: Float32Array | null = null;
  private bestX: tf.Tensor4D | null = null;
  private bestLoss: number[];
  private bestStep: (number | null)[];
  private readonly boundsFlat: { lo: tf.Tensor1D; hi: tf.Tensor1D } | null = null;
  private readonly contentTarget: tf.Tensor4D;
  private readonly styleTargets: tf.Tensor2D[];
  private readonly bounds: { lo: tf.Tensor1D; hi: tf.Tensor1D };
  private readonly outputs: string[];
  private readonly valueAndGrad: (x: tf.Tensor4D) => { value: tf.Scalar; grad: tf.Tensor4D };
  /** Per image, rows (content, style, tv, total) of the last evaluation, kept for reading. */
  private parts: tf.Tensor2D | null = null;
  /** Update steps taken. */
  iteration = 0;
  /** Objective evaluations (VGG passes over the batch) so far. */
  evaluations = 0;
  /** Cumulative evaluations behind the losses last returned by step() or evaluate(). */
  reportedEvaluations = 0;

  private constructor(
    private readonly vgg: Vgg19,
    content: tf.Tensor4D,
    styles: tf.Tensor4D[],
    private readonly config: GatysConfig,
  ) {
    if (config.styleLayers.length === 0) throw new Error("at least one style layer is needed");
    this.outputs = [...new Set([config.contentLayer, ...config.styleLayers])];
    this.bounds = pixelBounds();
    const [b, h, w] = content.shape;
    const pContent = preprocess(content);
    const tile = config.tile;
    this.contentTarget = tile
      ? tiledFeatures(vgg, pContent, config.contentLayer, tile)
      : tf.tidy(() => vgg.features(pContent, [config.contentLayer])[config.contentLayer]);
    this.styleTargets = styleTargets(vgg, styles, config, h, w);
    this.x = startImage(pContent, config, this.bounds.lo);
    const optimizer = config.optimizer ?? "adam";
    if (optimizer !== "adam" && optimizer !== "lbfgs") {
      throw new Error(`unknown optimizer '${optimizer}' (known: adam, lbfgs)`);
    }
    if (optimizer === "adam") {
      this.adam = { m: tf.zerosLike(this.x), v: tf.zerosLike(this.x), t: 0 };
    } else {
      this.boundsFlat = {
        lo: tf.tile(this.bounds.lo, [h * w]) as tf.Tensor1D,
        hi: tf.tile(this.bounds.hi, [h * w]) as tf.Tensor1D,
      };
    }
    this.bestLoss = new Array(b).fill(Infinity);
    this.bestStep = new Array(b).fill(null);
    this.valueAndGrad = tile
      ? this.tiledObjective(tile, h, w)
      : tf.valueAndGrad((x: tf.Tensor4D) => this.objective(x)) as unknown as (
        x: tf.Tensor4D,
      ) => { value: tf.Scalar; grad: tf.Tensor4D };
  }

  /** The objective and its gradient in tiles of `tile` px (see `./tiles.ts`); keeps the parts. */
  private tiledObjective(
    tile: number,
    h: number,
    w: number,
  ): (x: tf.Tensor4D) => { value: tf.Scalar; grad: tf.Tensor4D } {
    return (x) => {
      const r = tiledValueAndGrad(this.vgg, x, this.tiledTerms(tile, h, w));
      this.parts = r.parts;
      return { value: r.value, grad: r.grad };
    };
  }

  /** What the tiled objective needs for this evaluation. */
  private tiledTerms(tile: number, h: number, w: number): TiledTerms {
    return {
      ...this.config,
      contentTarget: this.contentTarget,
      styleTargets: this.styleTargets,
      // The grid moves every evaluation so that no tile border stays in one place.
      grid: tileGrid(this.vgg, h, w, tile, this.evaluations),
    };
  }

  /** The objective of `x` without its gradient, tiled like the steps (an untiled pass may not fit); keeps the parts. */
  private forward(x: tf.Tensor4D): void {
    const tile = this.config.tile;
    if (tile) {
      const [, h, w] = x.shape;
      const r = tiledValue(this.vgg, x, this.tiledTerms(tile, h, w));
      r.value.dispose();
      this.parts = r.parts;
    } else {
      tf.tidy(() => {
        this.objective(x);
      });
    }
  }

  /**
   * Set up an optimisation; `content` is `[B,H,W,3]` and `style` `[1,h,w,3]`
   * (or several, blended by `config.styleWeights`), RGB in [0, 255].
   */
  static create(
    vgg: Vgg19,
    content: tf.Tensor4D,
    style: tf.Tensor4D | tf.Tensor4D[],
    config: GatysConfig,
  ): GatysOptimizer {
    return new GatysOptimizer(vgg, content, Array.isArray(style) ? style : [style], config);
  }

  /** Sum over the batch of alpha*content + beta*style (+ tv); keeps the per-image parts for reading. */
  private objective(x: tf.Tensor4D): tf.Scalar {
    const feats = this.vgg.features(x, this.outputs);
    const c = contentLoss(feats[this.config.contentLayer], this.contentTarget);
    const w = 1 / this.config.styleLayers.length;
    const s = tf.mul(
      tf.addN(
        this.config.styleLayers.map((name, i) => styleLayerLoss(feats[name], this.styleTargets[i])),
      ),
      w,
    ) as tf.Tensor1D;
    let total = tf.add(tf.mul(c, this.config.alpha), tf.mul(s, this.config.beta)) as tf.Tensor1D;
    const tvW = this.config.tvWeight ?? 0;
    const tv = tvW > 0 ? tvLoss(x) : tf.zerosLike(c);
    if (tvW > 0) total = tf.add(total, tf.mul(tv, tvW)) as tf.Tensor1D;
    this.parts = tf.keep(tf.stack([c, s, tv, total]) as tf.Tensor2D);
    return tf.sum(total) as tf.Scalar;
  }

  /** Read the kept per-image losses (then disposed). */
  private async readParts(): Promise<Float32Array> {
    const parts = this.parts!;
    this.parts = null;
    const values = await parts.data() as Float32Array;
    parts.dispose();
    return values;
  }

  /**
   * Check the losses of `x` (the iterate after `this.iteration` updates) and,
   * from iteration 1 on, remember it where it is the best so far.
   */
  private record(x: tf.Tensor4D, values: Float32Array): LossValues[] {
    const b = this.bestLoss.length;
    const out: LossValues[] = [];
    const improved: boolean[] = [];
    for (let i = 0; i < b; i++) {
      const v: LossValues = {
        content_loss: values[i],
        style_loss: values[b + i],
        ...((this.config.tvWeight ?? 0) > 0 ? { tv_loss: values[2 * b + i] } : {}),
        total_loss: values[3 * b + i],
      };
      if (![v.content_loss, v.style_loss, v.total_loss].every(Number.isFinite)) {
        throw new NonFiniteLossError(
          `loss is not finite at iteration ${this.iteration} (image ${i}): ${JSON.stringify(v)}`,
        );
      }
      // The starting image (iteration 0) is never the result.
      improved.push(this.iteration >= 1 && v.total_loss < this.bestLoss[i]);
      if (improved[i]) {
        this.bestLoss[i] = v.total_loss;
        this.bestStep[i] = this.iteration;
      }
      out.push(v);
    }
    if (improved.some(Boolean)) {
      const prev = this.bestX ?? x;
      this.bestX = tf.tidy(() =>
        tf.where(
          tf.tensor1d(improved, "bool").reshape([b, 1, 1, 1]).tile([1, ...x.shape.slice(1)]),
          x,
          prev,
        )
      ) as tf.Tensor4D;
      if (prev !== x) prev.dispose();
    }
    return out;
  }

  /** Losses of the current image and d(sum of totals)/dx in preprocessed (BGR, mean-free) space; caller disposes grad. */
  async gradient(): Promise<{ losses: LossValues[]; grad: tf.Tensor4D }> {
    const { value, grad } = this.valueAndGrad(this.x);
    value.dispose();
    this.evaluations++;
    try {
      const losses = this.record(this.x, await this.readParts());
      this.reportedEvaluations = this.evaluations;
      return { losses, grad };
    } catch (e) {
      grad.dispose();
      throw e;
    }
  }

  /**
   * Losses of the current image (no update). With Adam a forward pass only;
   * with L-BFGS the losses (and gradient) the last iteration already computed,
   * or a forward and backward pass before the first iteration, which the
   * next {@link step} then reuses.
   */
  async evaluate(): Promise<LossValues[]> {
    if (this.adam) {
      this.forward(this.x);
      this.evaluations++;
      const losses = this.record(this.x, await this.readParts());
      this.reportedEvaluations = this.evaluations;
      return losses;
    }
    await this.startLbfgs();
    this.reportedEvaluations = this.pending!.evaluations;
    return this.record(this.x, this.pending!.values);
  }

  /**
   * Losses of the current image, then one update: an Adam step (with the clip
   * to valid pixels), or an L-BFGS iteration (projected onto valid pixels).
   */
  async step(): Promise<LossValues[]> {
    const losses = this.adam ? await this.stepAdam() : await this.stepLbfgs();
    // `--kernels auto` measures the shapes this step met for the first time (once per adapter).
    await activeKernels().tunePending?.();
    return losses;
  }

  private async stepAdam(): Promise<LossValues[]> {
    const adam = this.adam!;
    const { losses, grad } = await this.gradient();
    const next = activeKernels().adamUpdate(
      this.x,
      grad,
      adam,
      this.config.adam,
      this.bounds.lo,
      this.bounds.hi,
    );
    tf.dispose([grad, adam.m, adam.v, this.x]);
    this.x = next.x;
    this.adam = { m: next.m, v: next.v, t: adam.t + 1 };
    this.iteration++;
    return losses;
  }

  /** The L-BFGS objective on `[B, N]` rows: per-image totals and the gradient; keeps the parts. */
  private lbfgsObjective = async (
    x2: tf.Tensor2D,
  ): Promise<{ values: number[]; grad: tf.Tensor2D }> => {
    const x4 = tf.reshape(x2, this.x.shape) as tf.Tensor4D;
    const { value, grad } = this.valueAndGrad(x4);
    tf.dispose([value, x4]);
    this.evaluations++;
    const grad2 = tf.reshape(grad, x2.shape) as tf.Tensor2D;
    grad.dispose();
    let parts: Float32Array;
    try {
      parts = await this.readParts();
    } catch (e) {
      grad2.dispose();
      throw e;
    }
    this.lastParts = parts;
    const b = x2.shape[0];
    return { values: Array.from(parts.subarray(3 * b, 4 * b)), grad: grad2 };
  };

  /** Create the L-BFGS state at the current x (one evaluation) unless it exists. */
  private async startLbfgs(): Promise<void> {
    if (this.lbfgs) return;
    const [b, h, w, c] = this.x.shape;
    const x2 = tf.reshape(this.x, [b, h * w * c]) as tf.Tensor2D;
    try {
      this.lbfgs = await Lbfgs.start(
        this.lbfgsObjective,
        x2,
        { ...LBFGS_DEFAULTS, ...this.config.lbfgs },
        this.boundsFlat!,
      );
    } finally {
      x2.dispose();
    }
    const start = this.lbfgs.current(); // x projected onto the valid pixels
    this.x.dispose();
    this.x = tf.reshape(start, this.x.shape) as tf.Tensor4D;
    start.dispose();
    this.pending = { values: this.lastParts!, evaluations: this.evaluations };
  }

  /** Report the cached losses of x, then one L-BFGS iteration. */
  private async stepLbfgs(): Promise<LossValues[]> {
    await this.startLbfgs();
    const losses = this.record(this.x, this.pending!.values);
    this.reportedEvaluations = this.pending!.evaluations;
    await this.lbfgs!.iterate();
    const cur = this.lbfgs!.current();
    this.x.dispose();
    this.x = tf.reshape(cur, this.x.shape) as tf.Tensor4D;
    cur.dispose();
    this.pending = { values: this.lastParts!, evaluations: this.evaluations };
    this.iteration++;
    return losses;
  }

  /**
   * The lowest-loss image per batch item among the iterates after at least
   * one update, RGB in [0, 255]; before any update has been evaluated (e.g.
   * zero iterations) the current image. Caller disposes.
   */
  best(): tf.Tensor4D {
    return deprocess(this.bestX ?? this.x);
  }

  /** Per batch item, the iteration of {@link best}'s image; null where it is the current one. */
  get bestSteps(): (number | null)[] {
    return [...this.bestStep];
  }

  /** The current image, RGB in [0, 255]. Caller disposes. */
  current(): tf.Tensor4D {
    return deprocess(this.x);
  }

  /** Lowest total loss so far per batch item among iterations >= 1 (Infinity before any). */
  get bestLosses(): number[] {
    return [...this.bestLoss];
  }

  /** Release every tensor this optimiser holds (not the VGG). */
  dispose(): void {
    tf.dispose([
      this.x,
      ...(this.adam ? [this.adam.m, this.adam.v] : []),
      ...(this.bestX ? [this.bestX] : []),
      ...(this.boundsFlat ? [this.boundsFlat.lo, this.boundsFlat.hi] : []),
      this.contentTarget,
      ...this.styleTargets,
      this.bounds.lo,
      this.bounds.hi,
    ]);
    this.lbfgs?.dispose();
    this.lbfgs = null;
    if (this.parts) this.parts.dispose();
  }
}

/**
 * The first iterate, preprocessed: the content itself (`pContent`, taken
 * over), seeded uniform noise over the valid range above `lo`, or the given
 * image (tiled over the batch when it is one image); `pContent` is disposed
 * when not used.
 */
function startImage(pContent: tf.Tensor4D, config: GatysConfig, lo: tf.Tensor1D): tf.Tensor4D {
  if (config.init === "content") return pContent;
  const init = config.init;
  const [b, h, w] = pContent.shape;
  tf.dispose(pContent);
  return init === "random"
    ? tf.tidy(() =>
      tf.add(
        lo,
        tf.mul(tf.randomUniform([b, h, w, 3], 0, 1, "float32", config.seed), 255),
      ) as tf.Tensor4D
    )
    : preprocess(init.shape[0] === b ? init : tf.tile(init, [b, 1, 1, 1]));
}

/**
 * The style target of each style layer: the blend sum_i w_i A_i of the
 * styles' Grams (weights normalised to sum 1), each Gram scaled by
 * M_x / M_style so that a style image of another size than x (`h` x `w`) gives
 * targets on G's scale.
 */
function styleTargets(
  vgg: Vgg19,
  styles: tf.Tensor4D[],
  config: GatysConfig,
  h: number,
  w: number,
): tf.Tensor2D[] {
  const raw = config.styleWeights ?? styles.map(() => 1);
  if (raw.length !== styles.length) {
    throw new Error(`${raw.length} style weights for ${styles.length} style images`);
  }
  const sum = raw.reduce((a, x) => a + x, 0);
  const weights = raw.map((x) => x / sum);
  const featureSide = (n: number, pools: number) => {
    for (let p = 0; p < pools; p++) n = Math.floor(n / 2);
    return n;
  };
  const perStyle = styles.map((style, si) =>
    tf.tidy(() => {
      const pStyle = preprocess(style);
      const grams = config.tile
        ? tiledGrams(vgg, pStyle, config.styleLayers, config.tile)
        : ((feats) => config.styleLayers.map((name) => gram(feats[name])))(
          vgg.features(pStyle, config.styleLayers),
        );
      return config.styleLayers.map((name, l) => {
        const pools = poolsBefore(vgg, name);
        const mStyle = featureSide(style.shape[1], pools) * featureSide(style.shape[2], pools);
        const scale = (featureSide(h, pools) * featureSide(w, pools)) / mStyle;
        // One style keeps the exact former arithmetic (no multiply by a weight of 1).
        const factor = styles.length === 1 ? scale : scale * weights[si];
        return tf.mul(grams[l].squeeze([0]), factor) as tf.Tensor2D;
      });
    })
  );
  if (perStyle.length === 1) return perStyle[0];
  return config.styleLayers.map((_, l) => {
    const t = tf.addN(perStyle.map((g) => g[l])) as tf.Tensor2D;
    tf.dispose(perStyle.map((g) => g[l]));
    return t;
  });
}
