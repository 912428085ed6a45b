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
 * - `cnn`: a small CNN from scratch (conv3x3-ReLU-maxpool blocks, global
 *   average pooling, dense softmax), mini-batch Adam for a fixed number of
 *   steps.
 *
 * Both stop after a fixed number of optimiser steps, not epochs: a bigger
 * training set (stylized copies, static augmentation) then gets the same
 * amount of training as the control, so a difference between configurations
 * cannot come from training length. There is no early stopping because there
 * is no validation split to stop on (ten images per class leave none), and
 * stopping on the test set would leak it. Every random choice (weight init,
 * batch order) comes from the seed.
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
import type { ClassifierKind } from "./types.ts";
import { mulberry32 } from "../util/random.ts";

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
  /** Output channels of each conv3x3-ReLU-maxpool block. */
  filters: number[];
  /** Mini-batch Adam steps (the stopping rule). */
  steps: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  /** Seed of weight init and batch order. */
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

/** Defaults of the CNN. */
export const DEFAULT_CNN_CONFIG: Readonly<CnnConfig> = Object.freeze({
  size: 64,
  filters: [16, 32, 64],
  steps: 500,
  batchSize: 16,
  learningRate: 1e-3,
  l2: 1e-4,
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
  config: { steps: number; learningRate: number },
  lossAt: (step: number) => tf.Scalar,
  logEvery: number,
  onLoss?: (step: number, loss: number) => void,
): Promise<Array<{ step: number; loss: number }>> {
  const optimizer = tf.train.adam(config.learningRate);
  const history: Array<{ step: number; loss: number }> = [];
  try {
    for (let step = 1; step <= config.steps; step++) {
      const loss = optimizer.minimize(() => lossAt(step), true, vars)!;
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

/** `[n, s, s, 3]` scaled to [-1, 1], built in chunks so peak memory stays one chunk. */
function cnnInput(images: RgbImage[], size: number): tf.Tensor4D {
  const parts: tf.Tensor4D[] = [];
  for (let s = 0; s < images.length; s += 32) {
    parts.push(
      tf.tidy(() => tf.sub(tf.div(resizedBatch(images.slice(s, s + 32), size), 127.5), 1)),
    );
  }
  const all = tf.concat(parts, 0) as tf.Tensor4D;
  tf.dispose(parts);
  return all;
}

async function trainCnn(
  set: TrainSet,
  numClasses: number,
  opts: TrainOptions,
): Promise<Classifier> {
  const config: CnnConfig = { ...DEFAULT_CNN_CONFIG, ...opts.cnn };
  config.filters = [...config.filters];
  const logEvery = opts.logEvery ?? 10;
  const rng = mulberry32(config.seed);
  const kernels: tf.Variable[] = [], biases: tf.Variable[] = [];
  let cIn = 3;
  for (const cOut of config.filters) {
    // He-normal init for ReLU layers.
    kernels.push(variableFrom(randomNormal([3, 3, cIn, cOut], Math.sqrt(2 / (9 * cIn)), rng)));
    biases.push(variableFrom(tf.zeros([cOut])));
    cIn = cOut;
  }
  const wOut = variableFrom(
    randomNormal([cIn, numClasses], Math.sqrt(2 / (cIn + numClasses)), rng),
  );
  const bOut = variableFrom(tf.zeros([numClasses]));
  const vars = [...kernels, ...biases, wOut, bOut];
  const logits = (x: tf.Tensor4D): tf.Tensor2D => {
    let h = x;
    kernels.forEach((k, i) => {
      h = tf.relu(tf.add(conv3x3Same(h, k as tf.Tensor4D, undefined, i > 0), biases[i]));
      h = tf.maxPool(h, 2, 2, "same");
    });
    return tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, wOut), bOut) as tf.Tensor2D;
  };
  const x = cnnInput(set.images, config.size);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(set.labels, "int32"), numClasses).toFloat());
  const n = set.images.length;
  // Shuffled passes over the data, drawn from the seed, consumed batch by batch.
  let order: number[] = [];
  const nextBatch = (): number[] => {
    const batch: number[] = [];
    while (batch.length < Math.min(config.batchSize, n)) {
      if (order.length === 0) {
        order = Array.from({ length: n }, (_, i) => i);
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
      }
      batch.push(order.pop()!);
    }
    return batch;
  };
  let history: Array<{ step: number; loss: number }>;
  try {
    history = await adamLoop(
      vars,
      config,
      () => {
        const idx = tf.tensor1d(nextBatch(), "int32");
        const xb = tf.gather(x, idx) as tf.Tensor4D;
        const yb = tf.gather(y, idx);
        const l2 = tf.addN(kernels.map((k) => tf.sum(tf.square(k))));
        return tf.add(
          tf.losses.softmaxCrossEntropy(yb, logits(xb)),
          tf.mul(config.l2, l2),
        ) as tf.Scalar;
      },
      logEvery,
      opts.onLoss,
    );
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
        const xin = cnnInput(chunk, config.size);
        const p = tf.tidy(() => tf.softmax(logits(xin)));
        xin.dispose();
        const flat = await p.data() as Float32Array;
        p.dispose();
        chunk.forEach((_, i) => out.push(flat.slice(i * numClasses, (i + 1) * numClasses)));
      }
      return out;
    },
    dispose() {
      tf.dispose(vars);
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
