/**
 * The study's two classifiers, trained only on the training set with every
 * hyper-parameter and the stopping rule fixed before training starts:
 *
 * - `transfer` (default): a frozen VGG19 backbone, global average pooling of
 *   the deepest conv layer the weights provide (block5_conv4 with Keras's full
 *   weights, block3_conv4 with blocks 1-3 only), features centred on the
 *   training set's mean and scaled by its overall spread, and a softmax head trained with
 *   full-batch Adam for a fixed number of steps with L2 on its weights.
 *   Backbone features are computed once per image and size and kept in an
 *   optional in-memory cache, so the head trains in well under a second.
 * - `cnn`: a small CNN from scratch (conv3x3-batchnorm-ReLU-maxpool blocks,
 *   global average pooling, dropout, dense softmax), mini-batch Adam for a
 *   fixed number of steps; see "The CNN's settings" below.
 *
 * Both stop after a fixed number of optimiser steps, not epochs: a bigger
 * training set (stylized copies, static augmentation) then gets the same
 * amount of training as the control, so a difference between configurations
 * cannot come from training length. There is no early stopping because there
 * is no validation split to stop on (ten images per class leave none), and
 * stopping on the test set would leak it. Every random choice (weight init,
 * batch order, dropout masks) comes from the seed.
 *
 * ## The CNN's settings ({@link DEFAULT_CNN_CONFIG})
 *
 * Chosen by bench/cnn_select.ts on validation folds cut from the training
 * originals only (per draw of the cpu preset, 3 of the 10 originals per class
 * held out, 2 rotating folds, 3 draws: 6 folds of 9 images; no test image is
 * read), under the cpu preset's budget (64 px input, no online augmentation,
 * a run of at most about 25 s on one core with wasm). Every candidate below
 * differs from the `reg` recipe (filters 16-32-64, 200 steps of 16 images,
 * Adam at peak 2e-3 with 10 warm-up steps and cosine decay to 0, per-channel
 * input mean/std from the training pixels, dropout 0.3 before the dense
 * layer, label smoothing 0.1, decoupled weight decay 0.05, no L2) in what its
 * name says; mean validation accuracy (sd over folds), seconds per run with
 * 21 training images on a shared, loaded 2-core machine (load 6-8, so about
 * 3x the uncontended time):
 *
 * | candidate       | change                                     | val acc       | s/run |
 * | --------------- | ------------------------------------------ | ------------- | ----- |
 * | baseline        | before: constant 1e-3, [-1,1] input, L2 1e-4 | 0.389 ± 0.136 | 77    |
 * | reg             | (the recipe)                               | 0.444 ± 0.122 | 125   |
 * | reg_lr5e3       | peak 5e-3                                  | 0.444 ± 0.122 | 98    |
 * | bn_narrow       | batch norm, filters 8-16-32, peak 3e-3     | 0.481 ± 0.135 | 55    |
 * | bn_narrow_lr1e2 | batch norm, filters 8-16-32, peak 1e-2     | 0.444 ± 0.099 | 74    |
 * | **bn_b8**       | batch norm, batches of 8, peak 3e-3        | 0.519 ± 0.091 | 117   |
 *
 * The chosen settings are `bn_b8` (the best mean validation accuracy; the
 * grid's spread between candidates is within the folds' noise, 9 images a
 * fold, but every regularised candidate beat the old settings): filters
 * 16-32-64 with batch norm, batches of 8, 200 steps, Adam peak 3e-3 with 10
 * warm-up steps then cosine decay to 0, per-channel input normalisation,
 * dropout 0.3, label smoothing 0.1, decoupled weight decay 0.05, no L2. One
 * more candidate (`reg` without dropout and label smoothing) was started and
 * stopped unfinished for time.
 *
 * Test-set figures of the chosen settings, measured once after the choice was
 * frozen (`bench/cnn_select.ts --mode eval`, docs/cnn_eval.json; the cpu
 * preset's 10 draws, 200 steps, each draw's real test set): `none` 0.493 ±
 * 0.056 (the old settings: 0.429 ± 0.040), `none + aug` 0.489 ± 0.052; about
 * 20 CPU seconds a run (training and predicting the ~218 test images) on one
 * core of an "Intel(R) Xeon(R) Processor" with the wasm backend, for 30 and
 * for 150 training images alike (fixed steps). The issue's target of 0.55 is
 * not reached within this budget.
 *
 * Batch norm roughly doubles a step's cost on wasm (its elementwise passes
 * over the first block's 64x64 maps), so it was only tried with half the
 * widths or half the batch. Batch norm trains on batch statistics; at predict
 * time each layer uses its mean and variance over the whole training set,
 * computed layer by layer after training ("precise" batch norm: no running
 * average momentum to pick, independent of batch order). Dropout masks, like
 * weight init and batch order, come from the seed.
 *
 * Images of any size are resized to a `size x size` square (bilinear,
 * half-pixel centres), without keeping the aspect ratio, so the whole object
 * stays in frame.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { loadBackbone, predict, trainClassifier } from "./classifier.ts";
 * await initBackend("wasm");
 * const backbone = await loadBackbone("../shared/weights/vgg19-tfjs");
 * const img = { data: new Float32Array(64 * 64 * 3).fill(128), width: 64, height: 64 };
 * const model = await trainClassifier("transfer", { images: [img, img], labels: [0, 1] }, {
 *   backbone,
 *   transfer: { size: 64 },
 * });
 * console.log(await predict(model, [img]));
 * model.dispose();
 * backbone.vgg.dispose();
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import type { RgbImage } from "../images/io.ts";
import { UserError } from "../util/errors.ts";
import { preprocess, Vgg19 } from "../vgg/model.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { loadVggWeights } from "../vgg/weights.ts";
import type { ClassifierKind } from "../report/schema.ts";
import { hash32, mulberry32 } from "../util/random.ts";

/** Hyper-parameters of the transfer classifier. */
export interface TransferConfig {
  /** Square input side, pixels. */
  size: number;
  /** Full-batch Adam steps (the stopping rule). */
  steps: number;
  learningRate: number;
  /** Weight of sum(W^2) added to the mean cross-entropy. */
  l2: number;
  /** Seed of the head's initial weights. */
  seed: number;
  /** Images per backbone forward pass (memory, not results). */
  featureBatch: number;
}

/** Hyper-parameters of the from-scratch CNN. */
export interface CnnConfig {
  size: number;
  /** Output channels of each conv3x3-(batch norm)-ReLU-maxpool block. */
  filters: number[];
  /** Mini-batch Adam steps (the stopping rule). */
  steps: number;
  batchSize: number;
  /** Peak learning rate (see {@link cnnLearningRate}). */
  learningRate: number;
  /** `cosine`: half-cosine decay to `minLearningRateFraction` after warm-up; `constant`: none. */
  schedule: "constant" | "cosine";
  /** Steps of linear learning-rate warm-up (0: none). */
  warmupSteps: number;
  /** Learning rate at the last step as a fraction of the peak (cosine only). */
  minLearningRateFraction: number;
  /** Weight of sum(K^2) over the conv kernels added to the loss (coupled L2). */
  l2: number;
  /** Decoupled (AdamW) weight decay: kernels and dense weights shrink by lr * weightDecay per step. */
  weightDecay: number;
  /** Batch normalisation after each convolution (predict time: training-set statistics). */
  batchNorm: boolean;
  /** Dropout rate on the pooled features before the dense layer (training only). */
  dropout: number;
  /** Label smoothing of the cross-entropy targets. */
  labelSmoothing: number;
  /** `unit`: pixels to [-1, 1]; `channel`: per-channel mean/std of the training pixels. */
  inputNorm: "unit" | "channel";
  /** Seed of weight init, batch order and dropout masks. */
  seed: number;
}

/** Defaults of the transfer classifier. */
export const DEFAULT_TRANSFER_CONFIG: Readonly<TransferConfig> = Object.freeze({
  size: 224,
  steps: 300,
  learningRate: 0.01,
  l2: 1e-3,
  seed: 1,
  featureBatch: 8,
});

/** Defaults of the CNN: the selected settings (module doc); presets set `steps` and `size`. */
export const DEFAULT_CNN_CONFIG: Readonly<CnnConfig> = Object.freeze({
  size: 64,
  filters: [16, 32, 64],
  steps: 200,
  batchSize: 8,
  learningRate: 3e-3,
  schedule: "cosine",
  warmupSteps: 10,
  minLearningRateFraction: 0,
  l2: 0,
  weightDecay: 0.05,
  batchNorm: true,
  dropout: 0.3,
  labelSmoothing: 0.1,
  inputNorm: "channel",
  seed: 1,
});

/** Deepest-first layers a backbone may end at: the last conv of each block. */
export const BACKBONE_CANDIDATES: readonly string[] = [
  "block5_conv4",
  "block4_conv4",
  "block3_conv4",
  "block2_conv2",
  "block1_conv2",
];

/** A frozen VGG19 ending at `layer`. Dispose with `backbone.vgg.dispose()`. */
export interface Backbone {
  vgg: Vgg19;
  /** The layer whose pooled activations are the features. */
  layer: string;
  /** Channels of `layer`: the feature dimension. */
  featureDim: number;
  /** sha256 identity of the loaded weights (see `loadVggWeights`). */
  weightsIdentity: string;
  /** Deeper candidates that could not be loaded, each with the loader's reason. */
  skipped: string[];
}

/**
 * Load VGG19 up to the deepest block end the weights at `path` provide (or
 * exactly up to `layer` when given). Say `skipped` in the log: it is why a
 * shallower layer than block5_conv4 was used.
 *
 * @example
 * ```ts
 * import { loadBackbone } from "./classifier.ts";
 * const b = await loadBackbone("../shared/weights/vgg19-tfjs");
 * console.log(b.layer, b.featureDim); // block3_conv4 256
 * b.vgg.dispose();
 * ```
 */
export async function loadBackbone(path: string, layer?: string): Promise<Backbone> {
  const candidates = layer ? [layer] : BACKBONE_CANDIDATES;
  const skipped: string[] = [];
  let last: unknown;
  for (const name of candidates) {
    const specs = layersUpTo([name], "--classifier-layer");
    try {
      const weights = await loadVggWeights(path, specs);
      return {
        vgg: Vgg19.create(weights, specs),
        layer: name,
        featureDim: specs[specs.length - 1].cOut,
        weightsIdentity: weights.identity,
        skipped,
      };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      skipped.push(`${name}: ${e.message}`);
      last = e;
    }
  }
  throw last;
}

/** Backbone features by cache key; share one across runs to featurize each image once. */
export type FeatureCache = Map<string, Float32Array>;

/** Options of {@link extractFeatures}. */
export interface FeatureOptions {
  size: number;
  /** Images per forward pass; default 8. */
  batchSize?: number;
  /** One stable name per image (e.g. its path); without names nothing is cached. */
  names?: string[];
  cache?: FeatureCache;
}

/** `[n, size, size, 3]` of the images resized to a square, values unchanged. */
function resizedBatch(images: RgbImage[], size: number): tf.Tensor4D {
  return tf.tidy(() =>
    tf.stack(images.map((img) => {
      if (img.data.length !== img.width * img.height * 3) {
        throw new RangeError(
          `image data has ${img.data.length} values, expected ${img.width}x${img.height}x3`,
        );
      }
      const t = tf.tensor3d(img.data, [img.height, img.width, 3]);
      if (img.width === size && img.height === size) return t;
      return tf.image.resizeBilinear(t, [size, size], false, true);
    })) as tf.Tensor4D
  );
}

/**
 * Global-average-pooled backbone activations, one vector per image. Cached
 * vectors are reused; new ones are stored under a key of weights identity,
 * layer, size and name.
 *
 * @example
 * ```ts
 * import { extractFeatures, loadBackbone, type FeatureCache } from "./classifier.ts";
 * const b = await loadBackbone("../shared/weights/vgg19-tfjs");
 * const cache: FeatureCache = new Map();
 * const img = { data: new Float32Array(32 * 32 * 3), width: 32, height: 32 };
 * const [f] = await extractFeatures(b, [img], { size: 32, names: ["x"], cache });
 * console.log(f.length, cache.size); // 256 1
 * ```
 */
export async function extractFeatures(
  backbone: Backbone,
  images: RgbImage[],
  opts: FeatureOptions,
): Promise<Float32Array[]> {
  const { size, names, cache } = opts;
  const batchSize = opts.batchSize ?? 8;
  if (names && names.length !== images.length) {
    throw new RangeError(`${images.length} images but ${names.length} names`);
  }
  const key = (i: number) =>
    names ? `${backbone.weightsIdentity}|${backbone.layer}|${size}|${names[i]}` : null;
  const out: Array<Float32Array | undefined> = images.map((_, i) => {
    const k = key(i);
    return k && cache ? cache.get(k) : undefined;
  });
  const todo = out.flatMap((f, i) => (f ? [] : [i]));
  for (let s = 0; s < todo.length; s += batchSize) {
    const idx = todo.slice(s, s + batchSize);
    const pooled = tf.tidy(() => {
      const x = preprocess(resizedBatch(idx.map((i) => images[i]), size));
      const f = backbone.vgg.features(x, [backbone.layer])[backbone.layer];
      return tf.mean(f, [1, 2]) as tf.Tensor2D;
    });
    const flat = await pooled.data() as Float32Array;
    pooled.dispose();
    const d = backbone.featureDim;
    idx.forEach((i, j) => {
      const v = flat.slice(j * d, (j + 1) * d);
      out[i] = v;
      const k = key(i);
      if (k && cache) cache.set(k, v);
    });
  }
  return out as Float32Array[];
}

/** Training images with class indices; `names` enable the feature cache. */
export interface TrainSet {
  images: RgbImage[];
  labels: number[];
  names?: string[];
}

/** Options of {@link trainClassifier}. */
export interface TrainOptions {
  /** Number of classes; default max(label) + 1. */
  numClasses?: number;
  /** Required for `transfer`. */
  backbone?: Backbone;
  cache?: FeatureCache;
  transfer?: Partial<TransferConfig>;
  cnn?: Partial<CnnConfig>;
  /** Called every `logEvery` steps with the training loss. */
  onLoss?: (step: number, loss: number) => void;
  /** Default 10. */
  logEvery?: number;
}

/** What a trained classifier records about itself (JSON-serialisable). */
export interface ClassifierRecord {
  kind: ClassifierKind;
  numClasses: number;
  trainImages: number;
  /** The resolved hyper-parameters, plus the backbone layer for `transfer`. */
  config: (TransferConfig & { layer: string; featureDim: number }) | CnnConfig;
  stoppingRule: string;
  /** Training loss every `logEvery` steps, and after the last step. */
  lossHistory: Array<{ step: number; loss: number }>;
}

/** A trained classifier; call {@link Classifier.dispose} when done. */
export interface Classifier {
  readonly record: ClassifierRecord;
  /** Class probabilities `[n, numClasses]` for the images (internal; use {@link predict}). */
  probabilities(images: RgbImage[], names?: string[]): Promise<Float32Array[]>;
  dispose(): void;
}

function gaussian(rng: () => number): number {
  // Box-Muller; 1 - u keeps log away from 0.
  const u = 1 - rng(), v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function randomNormal(shape: number[], std: number, rng: () => number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = gaussian(rng) * std;
  return tf.tensor(data, shape);
}

/** A trainable variable owning `init`'s data (tf.variable alone would leave `init` counted). */
function variableFrom(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init);
  init.dispose();
  return v;
}

function checkSet(set: TrainSet, numClasses: number) {
  if (set.images.length === 0) throw new RangeError("empty training set");
  if (set.images.length !== set.labels.length) {
    throw new RangeError(`${set.images.length} images but ${set.labels.length} labels`);
  }
  for (const l of set.labels) {
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new RangeError(`label ${l} outside 0..${numClasses - 1}`);
    }
  }
}

function argmaxRows(probs: Float32Array[]): number[] {
  return probs.map((p) => p.reduce((best, v, i) => (v > p[best] ? i : best), 0));
}

/**
 * Runs an Adam loop of `steps` steps; returns the sampled loss history. The loss is read back
 * asynchronously: tfjs-webgpu's `dataSync` needs a 2d canvas, which Deno does not have.
 */
async function adamLoop(
  vars: tf.Variable[],
  config: { steps: number; learningRate: number | ((step: number) => number) },
  lossAt: (step: number) => tf.Scalar,
  logEvery: number,
  onLoss?: (step: number, loss: number) => void,
  afterStep?: (learningRate: number) => void,
): Promise<Array<{ step: number; loss: number }>> {
  const lrAt = typeof config.learningRate === "number"
    ? ((lr: number) => () => lr)(config.learningRate)
    : config.learningRate;
  const optimizer = tf.train.adam(lrAt(1));
  const history: Array<{ step: number; loss: number }> = [];
  try {
    for (let step = 1; step <= config.steps; step++) {
      const lr = lrAt(step);
      // tfjs's Adam reads its learning rate at every update.
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const loss = optimizer.minimize(() => lossAt(step), true, vars)!;
      afterStep?.(lr);
      if (step % logEvery === 0 || step === config.steps) {
        // Reading back every step would stall a GPU pipeline; a sample is enough for a curve.
        const value = (await loss.data())[0];
        history.push({ step, loss: value });
        onLoss?.(step, value);
      }
      loss.dispose();
    }
  } finally {
    optimizer.dispose();
  }
  return history;
}

async function trainTransfer(
  set: TrainSet,
  numClasses: number,
  opts: TrainOptions,
): Promise<Classifier> {
  const backbone = opts.backbone;
  if (!backbone) throw new Error("trainClassifier('transfer') needs opts.backbone");
  const config: TransferConfig = { ...DEFAULT_TRANSFER_CONFIG, ...opts.transfer };
  const logEvery = opts.logEvery ?? 10;
  const feats = await extractFeatures(backbone, set.images, {
    size: config.size,
    batchSize: config.featureBatch,
    names: set.names,
    cache: opts.cache,
  });
  const d = backbone.featureDim;
  // Centred per dimension but scaled by one global factor, both from the training features
  // only: with far fewer images than dimensions, per-dimension scales are noisy and would
  // blow up channels that happen to be nearly silent on the training images.
  const mean = new Float32Array(d);
  for (const f of feats) for (let j = 0; j < d; j++) mean[j] += f[j] / feats.length;
  let sq = 0;
  for (const f of feats) for (let j = 0; j < d; j++) sq += (f[j] - mean[j]) ** 2;
  const scale = Math.sqrt(sq / (feats.length * d)) + 1e-6;
  const meanT = tf.tensor1d(mean);
  const standardise = (rows: Float32Array[]) =>
    tf.tidy(() => {
      const flat = new Float32Array(rows.length * d);
      rows.forEach((r, i) => flat.set(r, i * d));
      return tf.div(tf.sub(tf.tensor2d(flat, [rows.length, d]), meanT), scale) as tf.Tensor2D;
    });
  const x = standardise(feats);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(set.labels, "int32"), numClasses).toFloat());
  const rng = mulberry32(config.seed);
  // Glorot-normal init.
  const w = variableFrom(randomNormal([d, numClasses], Math.sqrt(2 / (d + numClasses)), rng));
  const b = variableFrom(tf.zeros([numClasses]));
  let history: Array<{ step: number; loss: number }>;
  try {
    history = await adamLoop(
      [w, b],
      config,
      () =>
        tf.add(
          tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)),
          tf.mul(config.l2, tf.sum(tf.square(w))),
        ) as tf.Scalar,
      logEvery,
      opts.onLoss,
    );
  } catch (e) {
    tf.dispose([x, y, w, b, meanT]);
    throw e;
  }
  tf.dispose([x, y]);
  const record: ClassifierRecord = {
    kind: "transfer",
    numClasses,
    trainImages: set.images.length,
    config: { ...config, layer: backbone.layer, featureDim: d },
    stoppingRule: `fixed ${config.steps} full-batch Adam steps`,
    lossHistory: history,
  };
  return {
    record,
    async probabilities(images, names) {
      const f = await extractFeatures(backbone, images, {
        size: config.size,
        batchSize: config.featureBatch,
        names,
        cache: opts.cache,
      });
      const p = tf.tidy(() => tf.softmax(tf.add(tf.matMul(standardise(f), w), b)));
      const flat = await p.data() as Float32Array;
      p.dispose();
      return images.map((_, i) => flat.slice(i * numClasses, (i + 1) * numClasses));
    },
    dispose() {
      tf.dispose([w, b, meanT]);
    },
  };
}

/**
 * The kernel gradient of a 3x3 stride-1 'same' convolution,
 * dK[i, j, c, o] = sum over b, h, w of Xpad[b, h+i, w+j, c] dY[b, h, w, o],
 * computed as one 'valid' forward convolution with batch and channels
 * swapped: Xpad as [c, H+2, W+2, b] convolved with dY as an [H, W, b, o]
 * filter. On wasm this is about 8x faster than nine shifted matrix products,
 * whose slices dominate.
 */
function conv3x3KernelGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const out = tf.conv2d(
      tf.transpose(padded, [3, 1, 2, 0]) as tf.Tensor4D,
      tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D,
      1,
      "valid",
    );
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * A 3x3 stride-1 'same' convolution whose gradients exist on every backend.
 * tfjs-wasm has no Conv2DBackpropFilter kernel, so there (or when
 * `ownGrad` is set) the gradients are supplied here: the input gradient as a
 * forward convolution with the flipped kernel, the kernel gradient as a
 * forward convolution of the input with the output gradient. Elsewhere it
 * is plain tf.conv2d with tfjs's gradients. `inputGrad: false` returns a
 * zero input gradient, which a network's first layer never needs.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3Same } from "./classifier.ts";
 * const y = conv3x3Same(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 5]), true);
 * console.log(y.shape); // [1, 4, 4, 5]
 * ```
 */
export function conv3x3Same(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  ownGrad: boolean = !tf.getKernel("Conv2DBackpropFilter", tf.getBackend()),
  inputGrad = true,
): tf.Tensor4D {
  if (!ownGrad) return tf.conv2d(x, kernel, 1, "same");
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, kk, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xx, kk]);
    return {
      value: tf.conv2d(xx, kk, 1, "same"),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sk] = saved as [tf.Tensor4D, tf.Tensor4D];
        const flipped = tf.transpose(tf.reverse(sk, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        return [
          inputGrad ? tf.conv2d(dy as tf.Tensor4D, flipped, 1, "same") : tf.zerosLike(sx),
          conv3x3KernelGrad(sx, dy as tf.Tensor4D),
        ];
      },
    };
  }) as (x: tf.Tensor4D, k: tf.Tensor4D) => tf.Tensor4D;
  return f(x, kernel);
}

/** `[n, s, s, 3]` with values unchanged (0-255), built in chunks so peak memory stays one chunk. */
function cnnPixels(images: RgbImage[], size: number): tf.Tensor4D {
  const parts: tf.Tensor4D[] = [];
  for (let s = 0; s < images.length; s += 32) {
    parts.push(resizedBatch(images.slice(s, s + 32), size));
  }
  const all = tf.concat(parts, 0) as tf.Tensor4D;
  tf.dispose(parts);
  return all;
}

/**
 * The CNN's learning rate at `step` (1-based) of `config.steps`: a linear
 * warm-up from `learningRate / warmupSteps` to `learningRate` over the first
 * `warmupSteps` steps, then constant (`schedule: "constant"`) or a half
 * cosine from `learningRate` at the first step after warm-up down to
 * `learningRate * minLearningRateFraction` at the last step.
 *
 * @example
 * ```ts
 * import { cnnLearningRate } from "./classifier.ts";
 * const c = { steps: 5, learningRate: 1, schedule: "cosine" as const, warmupSteps: 0, minLearningRateFraction: 0 };
 * console.log([1, 2, 3, 4, 5].map((s) => cnnLearningRate(s, c))); // [1, 0.854, 0.5, 0.146, 0]
 * ```
 */
export function cnnLearningRate(
  step: number,
  config: Pick<
    CnnConfig,
    "steps" | "learningRate" | "schedule" | "warmupSteps" | "minLearningRateFraction"
  >,
): number {
  const { steps, learningRate: lr, warmupSteps: warm } = config;
  if (step <= warm) return (lr * step) / warm;
  if (config.schedule === "constant") return lr;
  const span = steps - warm - 1;
  const progress = span > 0 ? (step - warm - 1) / span : 1;
  const floor = lr * config.minLearningRateFraction;
  return floor + (lr - floor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
}

/** Per-channel statistics a batch-norm layer uses at predict time. */
interface BnStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

const BN_EPSILON = 1e-5;

/** The CNN's parameters and its forward pass, in training or predict mode. */
class CnnNet {
  readonly kernels: tf.Variable[] = [];
  /** Conv biases without batch norm; batch-norm shifts (beta) with it. */
  readonly shifts: tf.Variable[] = [];
  /** Batch-norm scales (gamma); empty without batch norm. */
  readonly scales: tf.Variable[] = [];
  readonly wOut: tf.Variable;
  readonly bOut: tf.Variable;
  /** Predict-time batch-norm statistics, set by {@link CnnNet.freezeStats}. */
  stats: BnStats[] = [];

  constructor(readonly config: CnnConfig, numClasses: number, rng: () => number) {
    let cIn = 3;
    for (const cOut of config.filters) {
      // He-normal init for ReLU layers.
      this.kernels.push(
        variableFrom(randomNormal([3, 3, cIn, cOut], Math.sqrt(2 / (9 * cIn)), rng)),
      );
      this.shifts.push(variableFrom(tf.zeros([cOut])));
      if (config.batchNorm) this.scales.push(variableFrom(tf.ones([cOut])));
      cIn = cOut;
    }
    this.wOut = variableFrom(
      randomNormal([cIn, numClasses], Math.sqrt(2 / (cIn + numClasses)), rng),
    );
    this.bOut = variableFrom(tf.zeros([numClasses]));
  }

  get variables(): tf.Variable[] {
    return [...this.kernels, ...this.shifts, ...this.scales, this.wOut, this.bOut];
  }

  /** The weights decoupled weight decay shrinks: kernels and the dense matrix. */
  get decayed(): tf.Variable[] {
    return [...this.kernels, this.wOut];
  }

  /** Block `i`'s convolution, before bias or batch norm. */
  private conv(h: tf.Tensor4D, i: number): tf.Tensor4D {
    return conv3x3Same(h, this.kernels[i] as tf.Tensor4D, undefined, i > 0);
  }

  /** Block `i` after its convolution: shift (or batch norm), ReLU, 2x2 max-pool. */
  private finish(c: tf.Tensor4D, i: number, train: boolean): tf.Tensor4D {
    let h: tf.Tensor4D;
    if (!this.config.batchNorm) {
      h = tf.add(c, this.shifts[i]);
    } else {
      const { mean, variance } = train ? tf.moments(c, [0, 1, 2]) : this.stats[i];
      const scale = tf.mul(this.scales[i], tf.rsqrt(tf.add(variance, BN_EPSILON)));
      h = tf.add(tf.mul(tf.sub(c, mean), scale), this.shifts[i]);
    }
    return tf.maxPool(tf.relu(h), 2, 2, "same");
  }

  /** Pooled features through the first `blocks` blocks (all by default). */
  private trunk(x: tf.Tensor4D, train: boolean, blocks = this.kernels.length): tf.Tensor4D {
    let h = x;
    for (let i = 0; i < blocks; i++) h = this.finish(this.conv(h, i), i, train);
    return h;
  }

  /** Logits `[n, classes]`; `dropMask` (training only) multiplies the pooled features. */
  logits(x: tf.Tensor4D, train: boolean, dropMask?: tf.Tensor2D): tf.Tensor2D {
    let f = tf.mean(this.trunk(x, train), [1, 2]) as tf.Tensor2D;
    if (dropMask) f = tf.mul(f, dropMask);
    return tf.add(tf.matMul(f, this.wOut), this.bOut) as tf.Tensor2D;
  }

  /**
   * Predict-time batch-norm statistics: each layer's per-channel mean and
   * variance over the whole training set `x`, layer by layer with the layers
   * before it already frozen (a "precise" batch norm: no running-average
   * momentum to choose, and the same numbers whatever the batch order).
   */
  async freezeStats(x: tf.Tensor4D): Promise<void> {
    if (!this.config.batchNorm) return;
    const n = x.shape[0];
    for (let i = 0; i < this.kernels.length; i++) {
      const c = this.config.filters[i];
      const sum = new Float64Array(c), sq = new Float64Array(c);
      let count = 0;
      for (let s = 0; s < n; s += 32) {
        const part = tf.tidy(() => {
          const xb = tf.slice(x, [s, 0, 0, 0], [Math.min(32, n - s), -1, -1, -1]);
          const conv = this.conv(this.trunk(xb, false, i), i);
          return tf.stack([tf.sum(conv, [0, 1, 2]), tf.sum(tf.square(conv), [0, 1, 2])]);
        });
        const v = await part.data();
        part.dispose();
        const [h, w] = this.spatial(x, i);
        count += Math.min(32, n - s) * h * w;
        for (let j = 0; j < c; j++) {
          sum[j] += v[j];
          sq[j] += v[c + j];
        }
      }
      const mean = Float32Array.from(sum, (a) => a / count);
      const variance = Float32Array.from(sq, (a, j) => Math.max(0, a / count - mean[j] ** 2));
      this.stats.push({ mean: tf.tensor1d(mean), variance: tf.tensor1d(variance) });
    }
  }

  /** Spatial size `[h, w]` of block `i`'s convolution output. */
  private spatial(x: tf.Tensor4D, i: number): [number, number] {
    let [h, w] = [x.shape[1], x.shape[2]];
    for (let k = 0; k < i; k++) [h, w] = [Math.ceil(h / 2), Math.ceil(w / 2)];
    return [h, w];
  }

  dispose(): void {
    tf.dispose(this.variables);
    tf.dispose(this.stats.flatMap((s) => [s.mean, s.variance]));
  }
}

/**
 * Per-channel input normalisation from the training pixels: `unit` maps 0-255
 * to [-1, 1]; `channel` subtracts each channel's training-set mean and divides
 * by its standard deviation.
 */
async function inputNormaliser(
  pixels: tf.Tensor4D,
  mode: CnnConfig["inputNorm"],
): Promise<{ shift: tf.Tensor1D; scale: tf.Tensor1D }> {
  if (mode === "unit") return { shift: tf.fill([3], 127.5), scale: tf.fill([3], 127.5) };
  const { mean, variance } = tf.moments(pixels, [0, 1, 2]);
  const m = await mean.data(), v = await variance.data();
  tf.dispose([mean, variance]);
  return {
    shift: tf.tensor1d(m as Float32Array),
    scale: tf.tensor1d(Float32Array.from(v, (a) => Math.sqrt(a) + 1e-3)),
  };
}

async function trainCnn(
  set: TrainSet,
  numClasses: number,
  opts: TrainOptions,
): Promise<Classifier> {
  const config: CnnConfig = { ...DEFAULT_CNN_CONFIG, ...opts.cnn };
  config.filters = [...config.filters];
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw new RangeError(`cnn dropout ${config.dropout} outside [0, 1)`);
  }
  const logEvery = opts.logEvery ?? 10;
  const rng = mulberry32(config.seed);
  // Dropout masks from their own stream, so the rate does not change init or batch order.
  const dropRng = mulberry32(hash32(`${config.seed}:dropout`));
  const pixels = cnnPixels(set.images, config.size);
  const norm = await inputNormaliser(pixels, config.inputNorm);
  const normalise = (p: tf.Tensor4D) =>
    tf.tidy(() => tf.div(tf.sub(p, norm.shift), norm.scale) as tf.Tensor4D);
  const x = normalise(pixels);
  pixels.dispose();
  // Created after the inputs, so a malformed image cannot leave its variables behind.
  const net = new CnnNet(config, numClasses, rng);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(set.labels, "int32"), numClasses).toFloat());
  const n = set.images.length;
  const batch = Math.min(config.batchSize, n);
  // Shuffled passes over the data, drawn from the seed, consumed batch by batch.
  let order: number[] = [];
  const nextBatch = (): number[] => {
    const out: number[] = [];
    while (out.length < batch) {
      if (order.length === 0) {
        order = Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
      }
      out.push(order.pop()!);
    }
    return out;
  };
  const width = config.filters[config.filters.length - 1];
  const keep = 1 - config.dropout;
  const dropMask = (): tf.Tensor2D | undefined =>
    config.dropout > 0
      ? tf.tensor2d(
        Float32Array.from({ length: batch * width }, () => (dropRng() < keep ? 1 / keep : 0)),
        [batch, width],
      )
      : undefined;
  let history: Array<{ step: number; loss: number }>;
  try {
    history = await adamLoop(
      net.variables,
      { steps: config.steps, learningRate: (s) => cnnLearningRate(s, config) },
      () => {
        const idx = tf.tensor1d(nextBatch(), "int32");
        const xb = tf.gather(x, idx) as tf.Tensor4D;
        const yb = tf.gather(y, idx);
        const ce = tf.losses.softmaxCrossEntropy(
          yb,
          net.logits(xb, true, dropMask()),
          undefined,
          config.labelSmoothing,
        );
        if (config.l2 === 0) return ce as tf.Scalar;
        const l2 = tf.addN(net.kernels.map((k) => tf.sum(tf.square(k))));
        return tf.add(ce, tf.mul(config.l2, l2)) as tf.Scalar;
      },
      logEvery,
      opts.onLoss,
      config.weightDecay > 0
        ? (lr) =>
          tf.tidy(() => {
            for (const v of net.decayed) v.assign(tf.mul(v, 1 - lr * config.weightDecay));
          })
        : undefined,
    );
    await net.freezeStats(x);
  } catch (e) {
    net.dispose();
    tf.dispose([norm.shift, norm.scale]);
    throw e;
  } finally {
    tf.dispose([x, y]);
  }
  const record: ClassifierRecord = {
    kind: "cnn",
    numClasses,
    trainImages: n,
    config,
    stoppingRule: `fixed ${config.steps} Adam steps of ${config.batchSize} images`,
    lossHistory: history,
  };
  return {
    record,
    async probabilities(images) {
      const out: Float32Array[] = [];
      for (let s = 0; s < images.length; s += 32) {
        const chunk = images.slice(s, s + 32);
        const pix = cnnPixels(chunk, config.size);
        const p = tf.tidy(() => tf.softmax(net.logits(normalise(pix), false)));
        pix.dispose();
        const flat = await p.data() as Float32Array;
        p.dispose();
        chunk.forEach((_, i) => out.push(flat.slice(i * numClasses, (i + 1) * numClasses)));
      }
      return out;
    },
    dispose() {
      net.dispose();
      tf.dispose([norm.shift, norm.scale]);
    },
  };
}

/**
 * Train a classifier of `kind` on `set` with fixed hyper-parameters (defaults
 * overridden by `opts.transfer` / `opts.cnn`); the result records them.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { predict, trainClassifier } from "./classifier.ts";
 * await initBackend("cpu");
 * const img = (v: number) => ({ data: new Float32Array(16 * 16 * 3).fill(v), width: 16, height: 16 });
 * const m = await trainClassifier("cnn", { images: [img(0), img(255)], labels: [0, 1] }, {
 *   cnn: { size: 16, steps: 50 },
 * });
 * console.log(await predict(m, [img(0), img(255)])); // [0, 1]
 * m.dispose();
 * ```
 */
export async function trainClassifier(
  kind: ClassifierKind,
  set: TrainSet,
  opts: TrainOptions = {},
): Promise<Classifier> {
  const numClasses = opts.numClasses ?? Math.max(...set.labels) + 1;
  checkSet(set, numClasses);
  return kind === "transfer"
    ? await trainTransfer(set, numClasses, opts)
    : await trainCnn(set, numClasses, opts);
}

/**
 * Predicted class index per image. `names` (e.g. test image paths) let a
 * transfer classifier reuse cached backbone features.
 *
 * @example
 * ```ts
 * import { predict, type Classifier } from "./classifier.ts";
 * declare const model: Classifier;
 * const img = { data: new Float32Array(16 * 16 * 3), width: 16, height: 16 };
 * console.log(await predict(model, [img]));
 * ```
 */
export async function predict(
  model: Classifier,
  images: RgbImage[],
  names?: string[],
): Promise<number[]> {
  if (images.length === 0) return [];
  return argmaxRows(await model.probabilities(images, names));
}
