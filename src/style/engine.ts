/**
 * The Gatys optimisation: Adam on the pixels of a batch of images, each
 * image with its own content target and loss, all sharing one style target.
 * One call to {@link GatysOptimizer.step} is one VGG forward and backward
 * pass over the whole batch.
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
 * const result = opt.best(); // RGB [0,255] of the lowest-loss image seen, per batch item
 * opt.dispose();
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { activeKernels, type AdamConfig, type AdamState } from "../ops.ts";
import { deprocess, pixelBounds, preprocess, type Vgg19 } from "../vgg/model.ts";
import { contentLoss, gram, styleLayerLoss } from "./losses.ts";

/** Everything that defines one optimisation. */
export interface GatysConfig {
  contentLayer: string;
  styleLayers: string[];
  /** Content weight. */
  alpha: number;
  /** Style weight. */
  beta: number;
  adam: AdamConfig;
  /** Start from the content image, seeded uniform noise over the valid range, or a given RGB image. */
  init: "content" | "random" | tf.Tensor4D;
  seed: number;
}

/** The unweighted losses of one image at one iteration, and their weighted total. */
export interface LossValues {
  content_loss: number;
  style_loss: number;
  total_loss: number;
}

/** Raised when a loss stops being a finite number. */
export class NonFiniteLossError extends Error {}

/** Adam on the pixels of a batch, tracking the lowest-loss image of every batch item. */
export class GatysOptimizer {
  private x: tf.Tensor4D;
  private adam: AdamState;
  private bestX: tf.Tensor4D;
  private bestLoss: number[];
  private readonly contentTarget: tf.Tensor4D;
  private readonly styleTargets: tf.Tensor2D[];
  private readonly bounds: { lo: tf.Tensor1D; hi: tf.Tensor1D };
  private readonly outputs: string[];
  private readonly valueAndGrad: (x: tf.Tensor4D) => { value: tf.Scalar; grad: tf.Tensor4D };
  private parts: tf.Tensor2D | null = null;
  /** Update steps taken. */
  iteration = 0;

  private constructor(
    private readonly vgg: Vgg19,
    content: tf.Tensor4D,
    style: tf.Tensor4D,
    private readonly config: GatysConfig,
  ) {
    if (config.styleLayers.length === 0) throw new Error("at least one style layer is needed");
    this.outputs = [...new Set([config.contentLayer, ...config.styleLayers])];
    this.bounds = pixelBounds();
    const [b, h, w] = content.shape;
    const pContent = preprocess(content);
    this.contentTarget = tf.tidy(() =>
      vgg.features(pContent, [config.contentLayer])[config.contentLayer]
    );
    // The Gram of the style image is scaled by M_x / M_style so that a style
    // image of another size than x gives targets on G's scale.
    this.styleTargets = tf.tidy(() => {
      const feats = vgg.features(preprocess(style), config.styleLayers);
      return config.styleLayers.map((name) => {
        const f = feats[name];
        const mStyle = f.shape[1] * f.shape[2];
        const pools = vggPoolsBefore(vgg, name);
        let hl = h, wl = w;
        for (let p = 0; p < pools; p++) [hl, wl] = [Math.floor(hl / 2), Math.floor(wl / 2)];
        const scale = (hl * wl) / mStyle;
        return tf.mul(gram(f).squeeze([0]), scale) as tf.Tensor2D;
      });
    });
    if (config.init === "content") this.x = pContent;
    else {
      const init = config.init;
      tf.dispose(pContent);
      this.x = init === "random"
        ? tf.tidy(() =>
          tf.add(
            this.bounds.lo,
            tf.mul(tf.randomUniform([b, h, w, 3], 0, 1, "float32", config.seed), 255),
          ) as tf.Tensor4D
        )
        : preprocess(init.shape[0] === b ? init : tf.tile(init, [b, 1, 1, 1]));
    }
    this.adam = { m: tf.zerosLike(this.x), v: tf.zerosLike(this.x), t: 0 };
    this.bestX = tf.clone(this.x);
    this.bestLoss = new Array(b).fill(Infinity);
    this.valueAndGrad = tf.valueAndGrad((x: tf.Tensor4D) => this.objective(x)) as unknown as (
      x: tf.Tensor4D,
    ) => { value: tf.Scalar; grad: tf.Tensor4D };
  }

  /** Set up an optimisation; `content` is `[B,H,W,3]` and `style` `[1,h,w,3]`, RGB in [0, 255]. */
  static create(
    vgg: Vgg19,
    content: tf.Tensor4D,
    style: tf.Tensor4D,
    config: GatysConfig,
  ): GatysOptimizer {
    return new GatysOptimizer(vgg, content, style, config);
  }

  /** Sum over the batch of alpha*content + beta*style; keeps the per-image parts for reading. */
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
    const total = tf.add(tf.mul(c, this.config.alpha), tf.mul(s, this.config.beta)) as tf.Tensor1D;
    this.parts = tf.keep(tf.stack([c, s, total]) as tf.Tensor2D);
    return tf.sum(total) as tf.Scalar;
  }

  /** Read the kept per-image losses, check them, and remember the best image so far. */
  private async record(x: tf.Tensor4D): Promise<LossValues[]> {
    const parts = this.parts!;
    this.parts = null;
    const values = await parts.data();
    parts.dispose();
    const b = this.bestLoss.length;
    const out: LossValues[] = [];
    const improved: boolean[] = [];
    for (let i = 0; i < b; i++) {
      const v = {
        content_loss: values[i],
        style_loss: values[b + i],
        total_loss: values[2 * b + i],
      };
      if (![v.content_loss, v.style_loss, v.total_loss].every(Number.isFinite)) {
        throw new NonFiniteLossError(
          `loss is not finite at iteration ${this.iteration} (image ${i}): ${JSON.stringify(v)}`,
        );
      }
      improved.push(v.total_loss < this.bestLoss[i]);
      if (improved[i]) this.bestLoss[i] = v.total_loss;
      out.push(v);
    }
    if (improved.some(Boolean)) {
      const prev = this.bestX;
      this.bestX = tf.tidy(() =>
        tf.where(
          tf.tensor1d(improved, "bool").reshape([b, 1, 1, 1]).tile([1, ...x.shape.slice(1)]),
          x,
          prev,
        )
      ) as tf.Tensor4D;
      prev.dispose();
    }
    return out;
  }

  /** Losses of the current image and d(sum of totals)/dx in preprocessed (BGR, mean-free) space; caller disposes grad. */
  async gradient(): Promise<{ losses: LossValues[]; grad: tf.Tensor4D }> {
    const { value, grad } = this.valueAndGrad(this.x);
    value.dispose();
    try {
      return { losses: await this.record(this.x), grad };
    } catch (e) {
      grad.dispose();
      throw e;
    }
  }

  /** Losses of the current image (no update). */
  async evaluate(): Promise<LossValues[]> {
    tf.tidy(() => {
      this.objective(this.x);
    });
    return await this.record(this.x);
  }

  /** Losses of the current image, then one Adam update (with the clip to valid pixels). */
  async step(): Promise<LossValues[]> {
    const { losses, grad } = await this.gradient();
    const next = activeKernels().adamUpdate(
      this.x,
      grad,
      this.adam,
      this.config.adam,
      this.bounds.lo,
      this.bounds.hi,
    );
    tf.dispose([grad, this.adam.m, this.adam.v, this.x]);
    this.x = next.x;
    this.adam = { m: next.m, v: next.v, t: this.adam.t + 1 };
    this.iteration++;
    return losses;
  }

  /** The lowest-loss image seen so far per batch item, RGB in [0, 255]. Caller disposes. */
  best(): tf.Tensor4D {
    return deprocess(this.bestX);
  }

  /** The current image, RGB in [0, 255]. Caller disposes. */
  current(): tf.Tensor4D {
    return deprocess(this.x);
  }

  /** Lowest total loss seen so far per batch item. */
  get bestLosses(): number[] {
    return [...this.bestLoss];
  }

  /** Release every tensor this optimiser holds (not the VGG). */
  dispose(): void {
    tf.dispose([
      this.x,
      this.adam.m,
      this.adam.v,
      this.bestX,
      this.contentTarget,
      ...this.styleTargets,
      this.bounds.lo,
      this.bounds.hi,
    ]);
    if (this.parts) this.parts.dispose();
  }
}

/** Number of 2x2 pools before a layer. */
function vggPoolsBefore(vgg: Vgg19, name: string): number {
  let pools = 0;
  for (const l of vgg.layers) {
    if (l.spec.poolBefore) pools++;
    if (l.spec.name === name) return pools;
  }
  throw new Error(`layer ${name} is not in this model`);
}
