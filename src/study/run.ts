/**
 * The study protocol end to end: split, stylize (through the cache, one
 * shard or all), train and evaluate every classifier, compare with the
 * control, and write results.json, results.csv and the report.
 *
 * Faults: stylized images live in a content-addressed cache and every
 * trained classifier's result in `OUT/runs/`, each written atomically, so a
 * run killed at any point and started again redoes only what was not
 * finished. A corrupt or unreadable image is skipped with a warning before
 * the split and listed in results.json (`skipped_images`).
 *
 * @example
 * ```ts
 * import { resolveStudyConfig } from "./config.ts";
 * import { runStudy } from "./run.ts";
 * const config = resolveStudyConfig({ preset: "smoke" }, {
 *   data: "../shared/data/caltech101", style: "../shared/data/styles/composition_vii.jpg",
 *   weights: "../shared/weights/vgg19-tfjs", cache: "out/cache",
 * });
 * const { resultsPath } = await runStudy(config, { shard: null });
 * console.log(resultsPath);
 * ```
 * @module
 */
import { join } from "node:path";
import { type BackendChoice, initBackend, tf } from "../tf.ts";
import { selectKernelsByName } from "../ops.ts";
import { decodeImage, encodePng, loadImage, type RgbImage, savePng } from "../images/io.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { Vgg19 } from "../vgg/model.ts";
import { loadVggWeights, type VggWeights } from "../vgg/weights.ts";
import { type LossRecord, stylizeBatch } from "../style/run.ts";
import { resolveWeights } from "../style/options.ts";
import { UserError } from "../util/errors.ts";
import { exists, writeTextAtomic } from "../util/fs.ts";
import { Progress } from "../util/progress.ts";
import type { StudyConfig } from "./config.ts";
import { listClasses } from "./dataset.ts";
import { makeSubsets, type Subset } from "./split.ts";
import { cacheKey, canonicalJson, sha256Hex, StyleCache } from "./cache.ts";
import { selectShard, type Shard } from "./shard.ts";
import { augmentSet, staticTransforms } from "./augment.ts";
import {
  DEFAULT_CNN_CONFIG,
  DEFAULT_TRANSFER_CONFIG,
  type FeatureCache,
  loadBackbone,
  predict,
  trainClassifier,
} from "./classifier.ts";
import { computeMetrics } from "./metrics.ts";
import { compareToControl } from "./stats.ts";
import { type RunResult, SCHEMA_VERSION, STYLE_GROUPS, type StyleGroup } from "./types.ts";
import { type ImageGridRow, type LossHistory, writeReport } from "../report/report.ts";

/** The stylized groups (all but `none`). */
const STYLED: Exclude<StyleGroup, "none">[] = ["light", "medium", "heavy"];

/** One stylization: a training image at one preset's ratio. */
export interface StyleJob {
  image: string;
  style: Exclude<StyleGroup, "none">;
  ratio: number;
  key: string;
}

/** Where the outputs went, for the closing summary. */
export interface StudyOutcome {
  resultsPath: string | null;
  csvPath: string | null;
  reportPaths: string[];
  stylized: number;
  cached: number;
}

/** Fail early when `dir` cannot be written, naming the flag. */
async function checkWritable(dir: string, flag: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-test-${Deno.pid}`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    throw new UserError(`${flag}: cannot write to ${dir} (${(e as Error).message})`);
  }
}

/** Decode every image once; corrupt ones are skipped (returned separately), with a warning. */
async function loadDataset(
  config: StudyConfig,
  log: (line: string) => void,
): Promise<
  {
    images: Map<string, RgbImage>;
    bytes: Map<string, string>;
    byClass: Record<string, string[]>;
    skipped: Array<{ image: string; reason: string }>;
  }
> {
  const listed = await listClasses(config.data, config.classes);
  const images = new Map<string, RgbImage>();
  const bytes = new Map<string, string>();
  const skipped: Array<{ image: string; reason: string }> = [];
  const byClass: Record<string, string[]> = {};
  const size = { width: config.imageSize, height: config.imageSize };
  for (const [cls, rels] of Object.entries(listed)) {
    byClass[cls] = [];
    for (const rel of rels) {
      try {
        const raw = await Deno.readFile(join(config.data, rel));
        images.set(rel, await decodeImage(raw, join(config.data, rel), { exact: size }));
        bytes.set(rel, sha256Hex(raw));
        byClass[cls].push(rel);
      } catch (e) {
        const reason = (e as Error).message;
        log(`warning: skipping ${join(config.data, rel)}: ${reason}`);
        skipped.push({ image: rel, reason });
      }
    }
  }
  // The class-size check runs on the decodable images, so a skipped image cannot leave a class short silently.
  const need = config.trainPerClass * config.subsets + 1;
  for (const [cls, rels] of Object.entries(byClass)) {
    if (rels.length < need) {
      throw new UserError(
        `class '${cls}' has ${rels.length} readable images; ${config.subsets} subsets of ${config.trainPerClass} training images plus one test image need ${need}`,
      );
    }
  }
  return { images, bytes, byClass, skipped };
}

/** Every stylization the study needs, keyed by everything the output depends on. */
export function styleJobs(
  subsets: Subset[],
  config: StudyConfig,
  contentSha: Map<string, string>,
  styleSha: string,
  weights: VggWeights,
): StyleJob[] {
  const train = [...new Set(subsets.flatMap((s) => Object.values(s.train).flat()))].sort();
  return train.flatMap((image) =>
    STYLED.map((style) => {
      const ratio = config.ratios[style];
      const key = cacheKey({
        content_sha256: contentSha.get(image)!,
        style_sha256: styleSha,
        weights: weights.identity,
        content_layer: config.contentLayer,
        style_layers: config.styleLayers,
        ratio,
        iterations: config.iterations,
        size: config.stylizeSize,
        seed: config.seed,
        adam: config.adam,
        init: "content",
      });
      return { image, style, ratio, key };
    })
  );
}

/** Run the stylization jobs not yet in the cache, in batches of one ratio. */
async function stylizeMissing(
  jobs: StyleJob[],
  config: StudyConfig,
  cache: StyleCache,
  weights: VggWeights,
  log: (line: string) => void,
): Promise<{ done: number; cached: number }> {
  const missing: StyleJob[] = [];
  for (const j of jobs) if (!(await cache.has(j.key))) missing.push(j);
  const cached = jobs.length - missing.length;
  log(`stylization: ${jobs.length} jobs, ${cached} cached, ${missing.length} to run`);
  if (missing.length === 0) return { done: 0, cached };
  const specs = layersUpTo([config.contentLayer, ...config.styleLayers]);
  const vgg = Vgg19.create(weights, specs);
  const square = { exact: { width: config.stylizeSize, height: config.stylizeSize } };
  const style = await loadImage(config.style, { longSide: config.stylizeSize });
  const progress = new Progress("stylize", missing.length * (config.iterations + 1), "it");
  let done = 0;
  try {
    for (const s of STYLED) {
      const group = missing.filter((j) => j.style === s);
      for (let i = 0; i < group.length; i += config.stylizeBatch) {
        const batch = group.slice(i, i + config.stylizeBatch);
        const contents = await Promise.all(
          batch.map((j) => loadImage(join(config.data, j.image), square)),
        );
        const { alpha, beta } = resolveWeights(batch[0].ratio);
        const { images, histories } = await stylizeBatch(vgg, contents, style, {
          contentLayer: config.contentLayer,
          styleLayers: config.styleLayers,
          alpha,
          beta,
          adam: config.adam,
          init: "content",
          seed: config.seed,
        }, {
          iterations: config.iterations,
          onIteration: () => progress.tick(batch.length, `${s}`),
        });
        for (let k = 0; k < batch.length; k++) {
          await cache.put(batch[k].key, await encodePng(images[k]), {
            image: batch[k].image,
            style: batch[k].style,
            ratio: batch[k].ratio,
            history: histories[k],
          });
          done++;
        }
      }
    }
  } finally {
    progress.done();
    vgg.dispose();
  }
  return { done, cached };
}

/** Stable id of one classifier run: the config that shapes it plus its coordinates. */
function runId(
  config: StudyConfig,
  subset: number,
  style: StyleGroup,
  aug: boolean,
  classifier: string,
): string {
  const { out: _o, cache: _c, backend: _b, kernels: _k, bootstrapIterations: _n, ...shaping } =
    config;
  return sha256Hex(canonicalJson({ shaping, subset, style, aug, classifier })).slice(0, 24);
}

/**
 * Run the study. With a shard, only that part of the stylization is done
 * (into the shared cache) and no classifier is trained.
 */
export async function runStudy(
  config: StudyConfig,
  opts: { shard: Shard | null; log?: (line: string) => void },
): Promise<StudyOutcome> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  if (!opts.shard) await checkWritable(config.out, "--out");
  await checkWritable(config.cache, "--cache");
  const specs = layersUpTo([config.contentLayer, ...config.styleLayers], "--style-layers");
  let weights: VggWeights;
  try {
    weights = await loadVggWeights(config.weights, specs);
  } catch (e) {
    if (e instanceof UserError && config.preset === "full") {
      throw new UserError(
        `--preset full needs VGG19 up to ${
          specs[specs.length - 1].name
        } (the research plan's layers): ${e.message}`,
      );
    }
    throw e;
  }
  const styleBytes = await Deno.readFile(config.style).catch((e) => {
    throw new UserError(`--style: cannot read ${config.style} (${e.message})`);
  });
  await decodeImage(styleBytes, config.style);

  const backend = await initBackend(config.backend as BackendChoice);
  log(backend.line);
  const kernels = await selectKernelsByName(config.kernels, backend.name);

  const data = await loadDataset(config, log);
  const subsets = makeSubsets(data.byClass, {
    trainPerClass: config.trainPerClass,
    subsets: config.subsets,
    seed: config.seed,
  });
  const cache = new StyleCache(config.cache);
  const allJobs = styleJobs(subsets, config, data.bytes, sha256Hex(styleBytes), weights);
  const jobs = opts.shard ? selectShard(allJobs, (j) => j.key, opts.shard) : allJobs;
  const ts = performance.now();
  const { done, cached } = await stylizeMissing(jobs, config, cache, weights, log);
  timings.stylize_s = (performance.now() - ts) / 1000;
  if (opts.shard) {
    log(
      `shard ${opts.shard.index}/${opts.shard.count}: ${jobs.length} of ${allJobs.length} jobs; stylized ${done}, ${cached} were cached`,
    );
    return { resultsPath: null, csvPath: null, reportPaths: [], stylized: done, cached };
  }

  // Training and evaluation.
  const tt = performance.now();
  const classes = config.classes;
  const transforms = staticTransforms(config.augmentSeed, config.augmentCount);
  const square = { exact: { width: config.imageSize, height: config.imageSize } };
  const stylized = new Map<string, RgbImage>();
  const histories = new Map<string, LossRecord[]>();
  for (const j of allJobs) {
    const entry = await cache.entry(j.key);
    if (!entry) {
      throw new Error(
        `stylized image ${j.image} (${j.style}) missing from the cache after stylization`,
      );
    }
    stylized.set(`${j.image}@${j.style}`, await loadImage(entry.path, square));
    histories.set(`${j.image}@${j.style}`, entry.meta.history as LossRecord[]);
  }
  const backbone = config.classifiers.includes("transfer")
    ? await loadBackbone(config.weights)
    : null;
  if (backbone) {
    log(
      `transfer backbone: global average pool of ${backbone.layer}${
        backbone.skipped.length ? ` (deeper layers unavailable: ${backbone.skipped[0]})` : ""
      }`,
    );
  }
  // Fixed before any training and recorded in results.json: the hyper-parameters and stopping rules.
  const classifierSettings = {
    transfer: {
      ...DEFAULT_TRANSFER_CONFIG,
      size: config.imageSize,
      steps: config.transferSteps,
      seed: config.seed + 1,
    },
    cnn: {
      ...DEFAULT_CNN_CONFIG,
      size: config.imageSize,
      steps: config.cnnSteps,
      seed: config.seed + 1,
    },
    stopping_rule:
      "a fixed number of Adam steps (transfer: full batch; cnn: mini-batches), no early stopping",
    transfer_backbone: backbone
      ? { layer: backbone.layer, pooling: "global average", feature_dim: backbone.featureDim }
      : null,
  };
  const features: FeatureCache = new Map();
  const runsDir = join(config.out, "runs");
  await Deno.mkdir(runsDir, { recursive: true });
  const runs: RunResult[] = [];
  const total = subsets.length * config.classifiers.length * STYLE_GROUPS.length * 2;
  const progress = new Progress("train", total, "classifiers");
  let reused = 0;
  try {
    for (const subset of subsets) {
      const trainOriginals = classes.flatMap((c, label) =>
        subset.train[c].map((image) => ({ image, label }))
      );
      const test = classes.flatMap((c, label) => subset.test[c].map((image) => ({ image, label })));
      for (const classifier of config.classifiers) {
        for (const style of STYLE_GROUPS) {
          for (const aug of [false, true]) {
            const id = runId(config, subset.index, style, aug, classifier);
            const file = join(runsDir, `${id}.json`);
            if (await exists(file)) {
              runs.push(JSON.parse(await Deno.readTextFile(file)));
              reused++;
              progress.tick(1, "reused");
              continue;
            }
            const items = [
              ...trainOriginals.map((t) => ({
                ...t,
                name: t.image,
                img: data.images.get(t.image)!,
              })),
            ];
            if (style !== "none") {
              for (const t of trainOriginals) {
                const name = `${t.image}@${style}`;
                items.push({ ...t, name, img: stylized.get(name)! });
              }
            }
            let set = {
              images: items.map((i) => i.img),
              labels: items.map((i) => i.label),
              names: items.map((i) => i.name),
            };
            if (aug) set = augmentSet(set, transforms) as typeof set;
            const started = performance.now();
            const model = await trainClassifier(classifier, set, {
              numClasses: classes.length,
              backbone: backbone ?? undefined,
              cache: features,
              transfer: {
                size: config.imageSize,
                steps: config.transferSteps,
                seed: config.seed + 1,
              },
              cnn: { size: config.imageSize, steps: config.cnnSteps, seed: config.seed + 1 },
            });
            let predictions: number[];
            try {
              predictions = await predict(
                model,
                test.map((t) => data.images.get(t.image)!),
                test.map((t) => t.image),
              );
            } finally {
              model.dispose();
            }
            const m = computeMetrics(test.map((t) => t.label), predictions, classes);
            const result: RunResult = {
              subset: subset.index,
              style,
              static_augmentation: aug,
              classifier,
              classes,
              train_images: items.map((i) => i.name),
              train_examples: set.images.length,
              test_images: test.map((t) => t.image),
              confusion: m.confusion,
              per_class: m.per_class,
              accuracy: m.accuracy,
              macro_f1: m.macro_f1,
              predictions,
              train_seconds: (performance.now() - started) / 1000,
            };
            await writeTextAtomic(file, JSON.stringify(result));
            runs.push(result);
            progress.tick(
              1,
              `subset ${subset.index} ${classifier} ${style}${aug ? "+aug" : ""} acc ${
                m.accuracy.toFixed(3)
              }`,
            );
          }
        }
      }
    }
  } finally {
    progress.done();
    backbone?.vgg.dispose();
  }
  timings.train_s = (performance.now() - tt) / 1000;
  if (reused) log(`reused ${reused} finished classifier run(s) from ${runsDir}`);
  const comparisons = compareToControl(runs, {
    iterations: config.bootstrapIterations,
    seed: config.seed,
  });

  // Examples for the report: the first training image of each class in subset 0.
  const exampleDir = join(config.out, "examples");
  const imageGrid: ImageGridRow[] = [];
  for (const cls of classes) {
    const image = subsets[0].train[cls][0];
    const cells: ImageGridRow["cells"] = [];
    const variants: Array<[string, RgbImage]> = [
      ["original", data.images.get(image)!],
      ...STYLED.map((s) => [s, stylized.get(`${image}@${s}`)!] as [string, RgbImage]),
    ];
    for (const [label, img] of variants) {
      const base = `${cls}_${label}`;
      await savePng(join(exampleDir, `${base}.png`), img);
      cells.push({ caption: label, path: join(exampleDir, `${base}.png`) });
      const augmented =
        augmentSet({ images: [img], labels: [0] }, transforms.slice(0, 1)).images[1];
      if (augmented) {
        await savePng(join(exampleDir, `${base}_${transforms[0].name}.png`), augmented);
        cells.push({
          caption: `${label} + ${transforms[0].name}`,
          path: join(exampleDir, `${base}_${transforms[0].name}.png`),
        });
      }
    }
    imageGrid.push({ label: image, cells });
  }
  const lossHistories: LossHistory[] = classes.flatMap((cls) =>
    STYLED.map((s) => {
      const image = subsets[0].train[cls][0];
      const h = histories.get(`${image}@${s}`) ?? [];
      return {
        label: `${image} (${s})`,
        steps: h.map((r) => r.iteration),
        series: {
          total: h.map((r) => r.total_loss),
          content: h.map((r) => r.content_loss),
          style: h.map((r) => r.style_loss),
        },
      };
    })
  );
  timings.total_s = (performance.now() - t0) / 1000;

  const results = {
    schema_version: SCHEMA_VERSION,
    created_at: new Date().toISOString(),
    config,
    environment: {
      backend: backend.name,
      adapter: backend.adapter,
      kernels,
      deno: Deno.version.deno,
      tfjs: tf.version_core,
      os: `${Deno.build.os}-${Deno.build.arch}`,
      cpus: navigator.hardwareConcurrency,
    },
    timings,
    stylization: {
      jobs: allJobs.length,
      run_now: done,
      cached,
      weights_identity: weights.identity,
      ratios: config.ratios,
      alpha_beta: Object.fromEntries(STYLED.map((s) => [s, resolveWeights(config.ratios[s])])),
    },
    static_augmentation: { transforms, fill: "reflect" },
    classifier_settings: classifierSettings,
    subsets: subsets.map((s) => ({ index: s.index, train: s.train })),
    skipped_images: data.skipped,
    runs,
    comparisons,
  };
  const resultsPath = join(config.out, "results.json");
  await writeTextAtomic(resultsPath, JSON.stringify(results, null, 1));
  const written = await writeReport({
    config: config as unknown as Record<string, unknown>,
    environment: results.environment,
    runs,
    comparisons,
    lossHistories,
    imageGrid,
  }, config.out);
  return {
    resultsPath,
    csvPath: written.csv,
    reportPaths: [written.markdown, written.html],
    stylized: done,
    cached,
  };
}
