/**
 * Study phase 5, report: results.json (schema 3, documented in the README),
 * the example grids (training images; evaluation conditions), and the report files (results.csv, report.md,
 * report.html) through `src/report`.
 *
 * @example
 * ```ts
 * import { writeOutputs } from "./outputs.ts";
 * console.log(typeof writeOutputs); // "function"
 * ```
 * @module
 */
import { join } from "node:path";
import { type RgbImage, savePng } from "../images/io.ts";
import { tf } from "../tf.ts";
import { resolveWeights } from "../style/options.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { cpuModel } from "../util/host.ts";
import { type ImageGridRow, type LossHistory, writeReport } from "../report/report.ts";
import type { StudyConfig } from "./config.ts";
import type { Prepared } from "./prepare.ts";
import { type AddedImage, addedName, cueName, textureName } from "./stylize.ts";
import { corruptionName, type Evaluation } from "./evaluation.ts";
import { SEVERITIES } from "../images/corrupt.ts";
import { augmentSet, staticTransforms } from "./augment.ts";
import { DEFAULT_CNN_CONFIG, DEFAULT_TRANSFER_CONFIG, loadBackbone } from "./classifier.ts";
import {
  type Comparison,
  type RunResult,
  SCHEMA_VERSION,
  STYLED_GROUPS,
  type StylizedRecord,
} from "../report/schema.ts";

/** Everything the report phase writes from. */
export interface OutputsInput {
  config: StudyConfig;
  prepared: Prepared;
  backend: { name: string; adapter: string };
  kernels: string;
  timings: Record<string, number>;
  stylization: { jobs: number; run_now: number; cached: number };
  added: Map<string, AddedImage>;
  stylized: StylizedRecord[];
  evaluation: Evaluation;
  runs: RunResult[];
  comparisons: Comparison[];
}

/** Example grid: the first training image of each class in draw 0, original and every added group. */
async function exampleGrid(input: OutputsInput): Promise<ImageGridRow[]> {
  const { config, prepared, added } = input;
  const dir = join(config.out, "examples");
  const transforms = staticTransforms(config.augmentSeed, config.augmentCount);
  const rows: ImageGridRow[] = [];
  for (const cls of config.classes) {
    for (const image of prepared.samples[0].train[cls].slice(0, 2)) {
      const cells: ImageGridRow["cells"] = [];
      const variants: Array<[string, RgbImage]> = [
        ["original", prepared.data.images.get(image)!],
        ...config.groups.filter((g) => g !== "none").map((g) =>
          [g, added.get(addedName(image, g))!.image] as [string, RgbImage]
        ),
      ];
      const stem = image.replace(/[\\/]/g, "_").replace(/\.[a-z]+$/i, "");
      for (const [label, img] of variants) {
        const path = join(dir, `${stem}_${label}.png`);
        await savePng(path, img);
        cells.push({ caption: label, path });
      }
      if (transforms.length > 0) {
        const aug = augmentSet({ images: [variants[0][1]], labels: [0] }, transforms.slice(0, 1))
          .images[1];
        const path = join(dir, `${stem}_original_${transforms[0].name}.png`);
        await savePng(path, aug);
        cells.push({ caption: `original + ${transforms[0].name}`, path });
      }
      rows.push({ label: image, cells });
    }
  }
  return rows;
}

/**
 * Example grids of the evaluation conditions, for the first pool images of
 * each class: the original and each texture-shift version; the original, its
 * texture source and the cue-conflict image; the original under each
 * corruption at severities 1-3.
 */
async function evalGrids(input: OutputsInput): Promise<{
  textureShift: ImageGridRow[];
  cueConflict: ImageGridRow[];
  corruptions: ImageGridRow[];
}> {
  const { config, prepared, evaluation } = input;
  const dir = join(config.out, "examples", "evaluation");
  const save = async (image: string, label: string, img: RgbImage) => {
    const stem = image.replace(/[\\/]/g, "_").replace(/\.[a-z]+$/i, "");
    const path = join(dir, `${stem}_${label.replace(/[^a-z0-9_]+/gi, "_")}.png`);
    await savePng(path, img);
    return { caption: label, path };
  };
  const firsts = config.classes.flatMap((c) => (prepared.pool[c] ?? []).slice(0, 1));
  const textureShift: ImageGridRow[] = [], cueConflict: ImageGridRow[] = [];
  const corruptions: ImageGridRow[] = [];
  for (const image of firsts) {
    const original = prepared.data.images.get(image)!;
    const row = [await save(image, "original", original)];
    for (const t of prepared.testStyles) {
      const name = textureName(image, t.name);
      row.push(await save(image, t.name, evaluation.images.get(name)!));
    }
    if (prepared.testStyles.length > 0) textureShift.push({ label: image, cells: row });
    const pair = prepared.cuePairs.find((c) => c.image === image);
    if (pair) {
      cueConflict.push({
        label: `${image} (shape: ${pair.shape_class}, texture: ${pair.texture_class})`,
        cells: [
          row[0],
          // The style image itself: the centre crop of the other class's image.
          await save(image, "texture source", prepared.textures.get(pair.texture_image)!),
          await save(image, "cue conflict", evaluation.images.get(cueName(image))!),
        ],
      });
    }
    for (const corruption of config.corruptions) {
      const cells = [row[0]];
      for (const severity of SEVERITIES) {
        const name = corruptionName(image, corruption, severity);
        cells.push(await save(image, `${corruption} ${severity}`, evaluation.images.get(name)!));
      }
      corruptions.push({ label: `${image}: ${corruption}`, cells });
    }
  }
  return { textureShift, cueConflict, corruptions };
}

function lossHistories(input: OutputsInput): LossHistory[] {
  const { config, prepared, added } = input;
  return config.classes.flatMap((cls) =>
    STYLED_GROUPS.filter((g) => config.groups.includes(g)).map((g) => {
      const image = prepared.samples[0].train[cls][0];
      const h = added.get(addedName(image, g))?.history ?? [];
      return {
        label: `${image} (${g})`,
        steps: h.map((r) => r.iteration),
        series: {
          total: h.map((r) => r.total_loss),
          content: h.map((r) => r.content_loss),
          style: h.map((r) => r.style_loss),
        },
      };
    })
  );
}

/** Write results.json and the report; returns their paths. */
export async function writeOutputs(
  input: OutputsInput,
): Promise<{ resultsPath: string; csvPath: string; reportPaths: string[] }> {
  const { config, prepared, runs, comparisons, stylized } = input;
  const backbone = config.classifiers.includes("transfer")
    ? await loadBackbone(config.weights)
    : null;
  const backboneInfo = backbone
    ? { layer: backbone.layer, pooling: "global average", feature_dim: backbone.featureDim }
    : null;
  backbone?.vgg.dispose();
  const environment = {
    backend: input.backend.name,
    adapter: input.backend.adapter,
    kernels: input.kernels,
    deno: Deno.version.deno,
    tfjs: tf.version_core,
    os: `${Deno.build.os}-${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency,
    cpu_model: await cpuModel(),
    workers: config.workers,
  };
  const results = {
    schema_version: SCHEMA_VERSION,
    created_at: new Date().toISOString(),
    config,
    environment,
    timings: input.timings,
    sampling: {
      mode: config.sampling,
      count: config.samples,
      train_per_class: config.trainPerClass,
      seed: config.seed,
    },
    stylization: {
      ...input.stylization,
      weights_identity: prepared.weights.identity,
      optimizer: config.optimizer,
      optimizer_settings: config.optimizer === "adam" ? config.adam : config.lbfgs,
      ratios: config.ratios,
      alpha_beta: Object.fromEntries(
        STYLED_GROUPS.map((s) => [s, resolveWeights(config.ratios[s])]),
      ),
      content_size: config.stylizeSize,
      style_size: config.styleSize,
      classifier_size: config.imageSize,
      best_rule: "lowest total loss among steps >= 1",
    },
    stylized,
    style_bank: {
      styles: prepared.bank.map((b) => ({ file: b.file, sha256: b.sha256 })),
      ratio_range: [config.ratios.heavy, config.ratios.light],
      ratio_distribution: "log-uniform",
      draw: "per training image, seeded by the study seed and the image id",
    },
    evaluation: input.evaluation.set,
    static_augmentation: {
      transforms: staticTransforms(config.augmentSeed, config.augmentCount),
      fill: "reflect",
    },
    classifier_settings: {
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
      transfer_backbone: backboneInfo,
    },
    draws: prepared.samples.map((s) => ({ draw: s.index, train: s.train })),
    skipped_images: prepared.data.skipped,
    runs,
    comparisons,
  };
  const resultsPath = join(config.out, "results.json");
  await writeTextAtomic(resultsPath, JSON.stringify(results, null, 1));
  const written = await writeReport(
    {
      config: config as unknown as Record<string, unknown>,
      environment,
      runs,
      comparisons,
      stylized,
      sampling: {
        mode: config.sampling,
        count: config.samples,
        train_per_class: config.trainPerClass,
      },
      primaryEndpoint: config.primaryEndpoint,
      evaluation: input.evaluation.set,
      evalGrids: await evalGrids(input),
      lossHistories: lossHistories(input),
      imageGrid: await exampleGrid(input),
    } as Parameters<typeof writeReport>[0],
    config.out,
  );
  return { resultsPath, csvPath: written.csv, reportPaths: [written.markdown, written.html] };
}
