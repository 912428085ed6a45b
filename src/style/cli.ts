/**
 * `deno task stylize`: Gatys neural style transfer of one image or a
 * directory of images. Run with `--help` for the options table.
 *
 * @example
 * ```sh
 * deno task stylize --content photo.jpg --out photo_kandinsky.png
 * deno task stylize --content photos/ --out styled/ --batch 4 --preset heavy
 * ```
 * @module
 */
import { BACKEND_CHOICES, initBackend } from "../tf.ts";
import { decodeImage, loadImage } from "../images/io.ts";
import { loadStylizeWeights, RANDOM_WEIGHTS, RANDOM_WEIGHTS_MARK } from "../vgg/random_weights.ts";
import {
  DEFAULT_ADAM,
  DEFAULT_LBFGS,
  OPTIMIZER_NAMES,
  PROFILES,
  STYLE_PRESET_NAMES,
} from "./options.ts";
import { runMain } from "../util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../util/flags.ts";
import { KERNEL_CHOICES, selectKernelsByName } from "../gpu/select.ts";
import { resolvePlan, type StylizePlan } from "./plan.ts";
import { checkOutputs, type OutputPlan, planOutputs } from "./outputs.ts";
import { checkRunSizes } from "./sizes.ts";
import { makeBatches, runBatches } from "./batches.ts";
import { StopSignals } from "./signals.ts";
import { LossLog } from "./loss_log.ts";
import { RunReport } from "./results.ts";

/**
 * The options table: every knob of the algorithm, with the paper's default (one row per flag).
 *
 * @example
 * ```ts
 * import { STYLIZE_OPTIONS } from "./cli.ts";
 * console.log(STYLIZE_OPTIONS.iterations.default); // 1000
 * ```
 */
export const STYLIZE_OPTIONS: FlagTable = {
  content: {
    kind: "path",
    value: "FILE|DIR",
    defaultText: "(required)",
    help: "content image, or a directory of .jpg/.jpeg/.png images",
  },
  style: {
    kind: "list",
    value: "FILE[,FILE..]",
    defaultText: "Composition VII",
    help: "style image(s) (Composition VII comes from `deno task data`); several are blended",
  },
  "style-blend": {
    kind: "list",
    value: "W1,W2,..",
    defaultText: "equal",
    help: "blend weights, one per --style, normalised to sum 1: target sum_i w_i A_i",
  },
  "style-scale": {
    kind: "number",
    exclusiveMin: 0,
    value: "S",
    default: 1,
    help: "style image's long side relative to the content's",
  },
  "original-colors": {
    kind: "boolean",
    help: "luminance-only transfer (YIQ): the output keeps the content's colours",
  },
  "tv-weight": {
    kind: "number",
    min: 0,
    value: "W",
    default: 0,
    help: "total variation weight, on pixels in [0, 255] (the TF tutorial's 30 is 30/255 here)",
  },
  pooling: {
    kind: "enum",
    choices: ["max", "avg"],
    noun: "pooling",
    default: "max",
    help: "VGG19's pool between blocks (avg: as Gatys et al. suggest)",
  },
  scales: {
    kind: "int",
    min: 1,
    value: "N",
    default: 1,
    help: "coarse to fine: N sizes a factor √2 apart up to --size, each warm-started from the last",
  },
  "min-size": {
    kind: "int",
    min: 1,
    value: "PX",
    help:
      "coarse to fine from this long side up to --size in steps of at most √2 (instead of --scales)",
  },
  "scale-iterations": {
    kind: "list",
    value: "N1,N2,..",
    defaultText: "--iterations each",
    help: "steps per scale, coarsest first; the last value repeats",
  },
  tile: {
    kind: "int",
    min: 1,
    value: "PX",
    defaultText: "only over memory",
    help: "evaluate in tiles of PX (plus a halo): same objective, a tile's memory; " +
      "chosen automatically for an image over the memory bound",
  },
  out: {
    kind: "path",
    value: "FILE|DIR",
    defaultText: "out/",
    help: "output PNG (8-bit sRGB), or a directory for a directory of content images",
  },
  size: {
    kind: "int",
    min: 1,
    value: "N",
    defaultText: "own size, capped at 512",
    help: "long side in pixels; no resampling when the image already has it",
  },
  iterations: {
    kind: "int",
    min: 0,
    value: "N",
    default: 1000,
    help: "optimiser steps (per scale); 0 evaluates and logs the losses, writes the start image",
  },
  preset: {
    kind: "enum",
    choices: STYLE_PRESET_NAMES,
    noun: "preset",
    default: "medium",
    help: "content:style ratio of the profile",
  },
  ratio: {
    kind: "number",
    exclusiveMin: 0,
    value: "R",
    help: "content:style ratio alpha/beta (overrides --preset)",
  },
  profile: {
    kind: "enum",
    choices: Object.keys(PROFILES),
    noun: "profile",
    default: "paper",
    help: "layer profile (offline: blocks 1-3 only)",
  },
  "content-layer": {
    kind: "string",
    value: "LAYER",
    defaultText: "profile's",
    help: "content layer",
  },
  "style-layers": {
    kind: "list",
    value: "L1,L2,..",
    defaultText: "profile's",
    help: "style layers (weights w_l = 1/|L|)",
  },
  init: {
    kind: "string",
    value: "content|random|FILE",
    default: "content",
    help: "starting image (random: seeded uniform noise)",
  },
  seed: { kind: "int", value: "N", default: 0, help: "seed of --init random" },
  lr: {
    kind: "number",
    exclusiveMin: 0,
    default: DEFAULT_ADAM.learningRate,
    help: "Adam learning rate",
  },
  beta1: {
    kind: "number",
    min: 0,
    exclusiveMax: 1,
    default: DEFAULT_ADAM.beta1,
    help: "Adam beta1",
  },
  beta2: {
    kind: "number",
    min: 0,
    exclusiveMax: 1,
    default: DEFAULT_ADAM.beta2,
    help: "Adam beta2",
  },
  epsilon: { kind: "number", exclusiveMin: 0, default: DEFAULT_ADAM.epsilon, help: "Adam epsilon" },
  optimizer: {
    kind: "enum",
    choices: OPTIMIZER_NAMES,
    noun: "optimizer",
    default: "adam",
    help: "pixel optimiser (lbfgs: projected L-BFGS, Armijo backtracking)",
  },
  "lbfgs-history": {
    kind: "int",
    min: 1,
    default: DEFAULT_LBFGS.history,
    help: "L-BFGS curvature pairs kept per image",
  },
  "lbfgs-backtracks": {
    kind: "int",
    min: 0,
    default: DEFAULT_LBFGS.maxBacktracks,
    help: "L-BFGS most step halvings per line search",
  },
  backend: {
    kind: "enum",
    choices: BACKEND_CHOICES,
    noun: "backend",
    default: "auto",
    help: "tfjs backend",
  },
  kernels: {
    kind: "enum",
    choices: KERNEL_CHOICES,
    noun: "kernel set",
    default: "auto",
    help: "auto: per op shape, the fastest measured on this adapter (webgpu; cached)",
  },
  weights: {
    kind: "path",
    value: "DIR|FILE|random",
    defaultText: "cached Keras HDF5",
    help:
      "VGG19 weights: tfjs model dir or Keras .h5 (`deno task weights`); `random`: seeded He noise of the Keras shapes, for timing only (marked in stderr and --log)",
  },
  log: { kind: "path", value: "FILE", help: "JSON Lines, one line per iteration and image" },
  "save-every": {
    kind: "int",
    min: 1,
    value: "N",
    help: "also save the current image every N iterations",
  },
  batch: {
    kind: "int",
    min: 1,
    value: "N",
    default: 1,
    help: "images optimised together (one VGG pass; images of one size; split to fit memory)",
  },
  workers: {
    kind: "int",
    min: 1,
    value: "N",
    defaultText: "one per core, 1 on webgpu",
    help: "directory mode: batches run on N workers, one tfjs backend each (one file runs in " +
      "this process)",
  },
  help: { kind: "boolean", help: "print this table" },
};

/** The options table as aligned text. */
export function helpText(): string {
  return flagHelp("deno task stylize [options]", STYLIZE_OPTIONS);
}

/**
 * The `--log` header: the settings that shape the result.
 *
 * @example
 * ```ts
 * import { logHeader } from "./cli.ts";
 * declare const plan: import("./plan.ts").StylizePlan;
 * console.log(logHeader(plan).pooling); // max
 * ```
 */
export function logHeader(plan: StylizePlan): Record<string, unknown> {
  return {
    profile: plan.profile,
    content_layer: plan.contentLayer,
    style_layers: plan.styleLayers,
    ratio: plan.ratio,
    styles: plan.stylePaths,
    style_blend: plan.styleWeights,
    style_scale: plan.styleScale,
    pooling: plan.pooling,
    tv_weight: plan.tvWeight,
    original_colors: plan.originalColors,
    optimizer: plan.settings.optimizer,
    iterations: plan.iterations,
    scales: plan.scales,
    scale_iterations: plan.scaleIterations ?? null,
    tile: plan.tile ?? null,
  };
}

/** Every file the run will read or write, checked before any work (see `./outputs.ts`). */
async function checkPlanOutputs(plan: StylizePlan, outputs: OutputPlan): Promise<void> {
  await checkOutputs({
    contentPaths: plan.contentPaths,
    contentDir: plan.outIsDir ? plan.content : null,
    stylePaths: plan.stylePaths,
    initPath: ["content", "random"].includes(plan.init) ? null : plan.init,
    outDir: plan.outIsDir ? outputs.out : null,
    outputs: plan.contentPaths.map(outputs.outPathOf),
    snapshots: plan.saveEvery
      ? plan.contentPaths.flatMap((p) => {
        const its: string[] = [];
        for (let it = plan.saveEvery!; it < plan.iterations; it += plan.saveEvery!) {
          its.push(outputs.snapshotPath(p, it));
        }
        return its;
      })
      : [],
    log: plan.log ?? null,
  });
}

/** Run `deno task stylize` with the given command-line arguments. */
export async function stylizeMain(args: string[]): Promise<void> {
  const v = parseFlagTable(args, STYLIZE_OPTIONS);
  if (v.help) {
    console.log(helpText());
    return;
  }
  // Every flag was parsed and bounded by the table; the plan checks how they combine.
  const plan = await resolvePlan(v);
  const outputs = await planOutputs(plan.content, plan.out, plan.outIsDir, plan.contentPaths);
  await checkPlanOutputs(plan, outputs);
  // Sizes before anything else, from the headers; then weights (a missing layer stops here).
  const { styleBytes, groups, loadOpts } = await checkRunSizes(plan);
  const weights = await loadStylizeWeights(plan.weights, plan.specs);
  const randomWeights = plan.weights === RANDOM_WEIGHTS;
  if (randomWeights) {
    console.error(
      `weights: ${RANDOM_WEIGHTS_MARK}: seeded He-initialised noise of the Keras VGG19 shapes; ` +
        "the images mean nothing, only the timings do",
    );
  }
  // A directory runs on the worker pool, each worker with its own backend; one file runs here.
  if (!plan.outIsDir) {
    const info = await initBackend(plan.backend);
    console.error(info.line);
    console.error(`kernels: ${await selectKernelsByName(plan.kernels, info.name)}`);
  }
  const { alpha, beta } = plan.settings;
  console.error(
    `layers: content ${plan.contentLayer}, style ${
      plan.styleLayers.join(", ")
    }; ratio ${plan.ratio} ` +
      `(alpha ${alpha}, beta ${beta})`,
  );
  // A corrupt style image fails here, before any work.
  for (const [i, b] of styleBytes.entries()) await decodeImage(b, plan.stylePaths[i]);
  const images = [];
  for (const path of plan.contentPaths) images.push({ path, img: await loadImage(path, loadOpts) });
  const batches = makeBatches(images, groups, plan.batch);

  const stop = StopSignals.install();
  let report: RunReport | null = null;
  let log: LossLog | null = null;
  try {
    log = plan.log ? await LossLog.open(plan.log, logHeader(plan)) : null;
    report = new RunReport(plan, batches, outputs, log, randomWeights, stop.partialOutputs);
    await runBatches(plan, batches, weights, styleBytes, stop, report.events);
    report.done();
    await log?.finish(stop.signal);
  } catch (e) {
    report?.done();
    await log?.abort();
    throw e;
  } finally {
    stop.remove();
  }
  report.summary(stop.signal);
}

if (import.meta.main) await runMain(() => stylizeMain(Deno.args));
