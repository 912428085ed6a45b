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
import { capWorkers } from "../util/host.ts";
import { basename, dirname, extname, join } from "node:path";
import { BACKEND_CHOICES, type BackendChoice, initBackend, resolveBackend, tf } from "../tf.ts";
import {
  decodeImage,
  imageSize,
  isImagePath,
  listImages,
  loadImage,
  type RgbImage,
  savePng,
  targetSize,
} from "../images/io.ts";
import {
  checkMinSide,
  estimateStepBytes,
  fits,
  largestLongSide,
  maxBatch,
  type MemoryLimit,
  memoryLimit,
  type Size,
  smallestLongSide,
} from "./limits.ts";
import { type ConvLayerSpec, layersUpTo } from "../vgg/layers.ts";
import { loadStylizeWeights, RANDOM_WEIGHTS, RANDOM_WEIGHTS_MARK } from "../vgg/random_weights.ts";
import { Vgg19 } from "../vgg/model.ts";
import { defaultWeightsPath } from "../vgg/download.ts";
import { type LossValues, NonFiniteLossError } from "./engine.ts";
import { defaultWorkerCount, StylePool, type StyleSettings, type StyleTask } from "./pool.ts";
import { stylizeBatch } from "./run.ts";
import {
  DEFAULT_ADAM,
  DEFAULT_LBFGS,
  OPTIMIZER_NAMES,
  profileByName,
  PROFILES,
  resolveWeights,
  STYLE_PRESET_NAMES,
  type StylePresetName,
} from "./options.ts";
import { ExitError, runMain, UserError } from "../util/errors.ts";
import { strictNumber } from "../util/cli.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../util/flags.ts";
import { KERNEL_CHOICES, selectKernelsByName } from "../ops.ts";
import {
  preflightWritable,
  realTarget,
  removeTempFilesSync,
  tempSibling,
  trackTemp,
  userPathError,
} from "../util/fs.ts";
import { defaultStylePath } from "../util/assets.ts";
import { Progress } from "../util/progress.ts";

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
    kind: "path",
    value: "FILE",
    defaultText: "Composition VII",
    help: "style image (Composition VII comes from `deno task data`)",
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
    help: "optimiser steps; 0 evaluates and logs the losses, writes the start image",
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
 * Parse a flag as a number satisfying `ok`, or throw a UserError naming it;
 * strict decimal (an integer when `what` says so: no hex, no exponent).
 *
 * @example
 * ```ts
 * import { numberFlag } from "./cli.ts";
 * console.log(numberFlag("size", "64", (n) => n > 0, "a positive integer")); // 64
 * ```
 */
export function numberFlag(
  name: string,
  raw: string | undefined,
  ok: (n: number) => boolean,
  what: string,
): number | undefined {
  if (raw === undefined) return undefined;
  return strictNumber(name, raw, /\binteger\b/.test(what), ok, what);
}

/** Exit codes after a signal: 128 + its number, as shells report them. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
/** The limit in words: `the 3.2 GiB a step may use on wasm (wasm32 heap, 4 GiB ...)`. */
const budget = (l: MemoryLimit) =>
  Number.isFinite(l.total)
    ? `the ${gib(l.total)} a step may use on ${l.backend} (${l.why})`
    : `${l.backend}'s limit (${l.why})`;

/**
 * Check every content image (`targets`: its size after `--size`) and the style
 * image (resized to each content's long side, keeping its own aspect ratio)
 * against the layers' smallest side and the backend's memory, before any work.
 * Returns the batch size per `WxH` group: `batch`, or, in directory mode, the
 * largest that fits (said on stderr); a UserError names the flag, image and
 * layer, or the largest size that fits.
 *
 * @example
 * ```ts
 * import { checkSizes } from "./cli.ts";
 * import { memoryLimit } from "./limits.ts";
 * import { layersUpTo } from "../vgg/layers.ts";
 * const specs = layersUpTo(["block3_conv4"]);
 * const b = checkSizes(["a.png"], [{ width: 64, height: 48 }], { width: 400, height: 300 },
 *   "style.jpg", undefined, 1, specs, { limit: memoryLimit("wasm", specs), directory: false });
 * console.log(b.get("64x48")); // 1
 * ```
 */
export function checkSizes(
  paths: readonly string[],
  targets: readonly Size[],
  styleDims: Size,
  stylePath: string,
  size: number | undefined,
  batch: number,
  specs: readonly ConvLayerSpec[],
  opts: {
    limit: MemoryLimit;
    directory: boolean;
    /** The images' own sizes (for the smallest --size to suggest); default `targets`. */
    origs?: readonly Size[];
    log?: (line: string) => void;
  },
): Map<string, number> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const minSide = 2 ** specs.filter((s) => s.poolBefore).length;
  const longSides = new Set<number>();
  targets.forEach((t, i) => {
    const flag = size ? "--size" : "--content";
    checkMinSide(
      t,
      specs,
      flag,
      `content image ${paths[i]}`,
      `use --size ${smallestLongSide(opts.origs?.[i] ?? t, minSide)} or more`,
    );
    longSides.add(Math.max(t.width, t.height));
  });
  for (const long of longSides) {
    const st = targetSize(styleDims, { longSide: long });
    checkMinSide(
      st,
      specs,
      size ? "--size" : "--style",
      `the style image ${stylePath} (resized to the content's long side ${long}, keeping its aspect ratio)`,
      `use --size ${smallestLongSide(styleDims, minSide)} or more, or a less elongated style image`,
    );
  }
  const groups = new Map<string, { size: Size; paths: string[] }>();
  targets.forEach((t, i) => {
    const key = `${t.width}x${t.height}`;
    const g = groups.get(key) ?? { size: t, paths: [] };
    g.paths.push(paths[i]);
    groups.set(key, g);
  });
  const { limit } = opts;
  const out = new Map<string, number>();
  for (const [key, g] of groups) {
    const want = opts.directory ? Math.min(batch, g.paths.length) : 1;
    if (fits(g.size, want, specs, limit)) {
      out.set(key, batch);
      continue;
    }
    const mb = maxBatch(g.size, specs, limit);
    if (mb >= 1 && opts.directory) {
      log(
        `batch: ${want} image(s) of ${key} would need about ${
          gib(estimateStepBytes(g.size.width, g.size.height, want, specs))
        } per step, over ${budget(limit)}; running them in batches of ${mb}`,
      );
      out.set(key, mb);
      continue;
    }
    const largest = largestLongSide(g.size, 1, specs, limit);
    throw new UserError(
      `${size ? "--size" : "--content"}: ${g.paths[0]} at ${key} px would need about ${
        gib(estimateStepBytes(g.size.width, g.size.height, 1, specs))
      } per step, over ${budget(limit)}; the largest that fits is --size ${largest}`,
    );
  }
  return out;
}

/**
 * Refuse, before any work, outputs that would replace an input or each other
 * (after symlinks), an `--out` directory that is the `--content` directory,
 * and outputs that cannot be written (each probed with {@link preflightWritable}).
 *
 * @example
 * ```ts
 * import { checkOutputs } from "./cli.ts";
 * await checkOutputs({
 *   contentPaths: ["a.jpg"], contentDir: null, stylePath: "s.jpg", initPath: null, outDir: null,
 *   outputs: ["out/a.png"], snapshots: [], log: null,
 * });
 * ```
 */
export async function checkOutputs(o: {
  contentPaths: readonly string[];
  contentDir: string | null;
  stylePath: string;
  initPath: string | null;
  outDir: string | null;
  outputs: readonly string[];
  snapshots: readonly string[];
  log: string | null;
}): Promise<void> {
  const inputs = new Map<string, string>();
  for (const p of o.contentPaths) inputs.set(await realTarget(p), `the --content image ${p}`);
  inputs.set(await realTarget(o.stylePath), `the --style image ${o.stylePath}`);
  if (o.initPath) inputs.set(await realTarget(o.initPath), `the --init image ${o.initPath}`);
  if (o.outDir && o.contentDir && await realTarget(o.outDir) === await realTarget(o.contentDir)) {
    throw new UserError(
      `--out: ${o.outDir} is the --content directory; outputs would mix with (and may replace) the inputs`,
    );
  }
  const seen = new Map<string, string>();
  const entries: Array<[string, string]> = [
    ...o.outputs.map((p): [string, string] => ["--out", p]),
    ...o.snapshots.map((p): [string, string] => ["--save-every", p]),
    ...(o.log ? [["--log", o.log] as [string, string]] : []),
  ];
  for (const [flag, p] of entries) {
    const real = await realTarget(p);
    const input = inputs.get(real);
    if (input) throw new UserError(`${flag}: ${p} is ${input}; refusing to overwrite an input`);
    const other = seen.get(real);
    if (other) throw new UserError(`${flag}: ${p} is also the output of ${other}`);
    seen.set(real, `${flag} (${p})`);
  }
  // One probe per directory is enough for the images; the log and single outputs each.
  const probed = new Set<string>();
  for (const [flag, p] of entries) {
    const key = flag === "--log" ? p : `${flag}:${await realTarget(join(p, ".."))}`;
    const st = await Deno.lstat(p).catch(() => null);
    if (probed.has(key) && !st?.isDirectory) continue;
    probed.add(key);
    await preflightWritable(p, flag);
  }
}

/** Run `deno task stylize` with the given command-line arguments. */
export async function stylizeMain(args: string[]): Promise<void> {
  const v = parseFlagTable(args, STYLIZE_OPTIONS);
  if (v.help) {
    console.log(helpText());
    return;
  }
  const str = (k: string) => v[k] as string | undefined;
  const num = (k: string) => v[k] as number | undefined;

  // Every flag was parsed and checked by the table; the rest is how the flags combine.
  const content = str("content");
  if (!content) throw new UserError("--content: required (an image file or a directory of images)");
  const iterations = num("iterations")!;
  const size = num("size");
  const batch = num("batch")!;
  const seed = num("seed")!;
  const saveEvery = num("save-every");
  const adam = {
    learningRate: num("lr")!,
    beta1: num("beta1")!,
    beta2: num("beta2")!,
    epsilon: num("epsilon")!,
  };
  const optimizer = str("optimizer")! as "adam" | "lbfgs";
  const lbfgs = {
    ...DEFAULT_LBFGS,
    history: num("lbfgs-history")!,
    maxBacktracks: num("lbfgs-backtracks")!,
  };
  const profile = profileByName(str("profile")!);
  const preset = str("preset")! as StylePresetName;
  const ratio = num("ratio") ?? profile.presets[preset];
  const contentLayer = str("content-layer") ?? profile.contentLayer;
  const styleLayers = (v["style-layers"] as string[] | undefined) ?? profile.styleLayers;
  layersUpTo([contentLayer], "--content-layer");
  const allSpecs = layersUpTo([contentLayer, ...styleLayers], "--style-layers");
  const backendChoice = str("backend")! as BackendChoice;
  const initFlag = str("init")!;
  const stylePath = str("style") ?? await defaultStylePath();
  const weightsPath = str("weights") ?? await defaultWeightsPath();

  let contentPaths: string[];
  let outIsDir: boolean;
  const contentStat = await Deno.stat(content).catch(() => null);
  if (!contentStat) throw new UserError(`--content: ${content} does not exist`);
  if (contentStat.isDirectory) {
    contentPaths = await listImages(content);
    outIsDir = true;
    if (str("out") && extname(str("out")!).toLowerCase() === ".png") {
      throw new UserError(`--out: ${str("out")} must be a directory when --content is a directory`);
    }
  } else {
    if (!isImagePath(content)) {
      throw new UserError(`--content: ${content} is not a .jpg/.jpeg/.png file`);
    }
    contentPaths = [content];
    outIsDir = false;
  }
  let out = str("out") ??
    (outIsDir ? "out" : join("out", `${basename(content, extname(content))}_stylized.png`));
  if (!outIsDir && extname(out).toLowerCase() !== ".png") {
    if ((await Deno.stat(out).catch(() => null))?.isDirectory) {
      out = join(out, `${basename(content, extname(content))}_stylized.png`);
    } else throw new UserError(`--out: ${out} must end in .png (output is 8-bit sRGB PNG)`);
  }
  // Output names: x.jpg -> x.png; when two inputs share a stem (x.jpg, x.png), each keeps its
  // whole name (x.jpg.png, x.png.png), said here and listed in the summary.
  const outNames = new Map<string, string>();
  if (outIsDir) {
    const stems = new Map<string, number>();
    for (const p of contentPaths) {
      const stem = basename(p, extname(p));
      stems.set(stem, (stems.get(stem) ?? 0) + 1);
    }
    const renamed: string[] = [];
    for (const p of contentPaths) {
      const stem = basename(p, extname(p));
      const name = stems.get(stem)! > 1 ? `${basename(p)}.png` : `${stem}.png`;
      if (stems.get(stem)! > 1) renamed.push(`${basename(p)} -> ${name}`);
      outNames.set(p, join(out, name));
    }
    if (renamed.length > 0) {
      console.error(`names: inputs sharing a name keep their extension: ${renamed.join(", ")}`);
    }
  }
  const outPathOf = (p: string) => outIsDir ? outNames.get(p)! : out;
  const snapshotPath = (p: string, it: number) =>
    outPathOf(p).replace(/\.png$/i, `_iter${String(it).padStart(4, "0")}.png`);
  await checkOutputs({
    contentPaths,
    contentDir: outIsDir ? content : null,
    stylePath,
    initPath: ["content", "random"].includes(str("init")!) ? null : str("init")!,
    outDir: outIsDir ? out : null,
    outputs: contentPaths.map(outPathOf),
    snapshots: saveEvery
      ? contentPaths.flatMap((p) => {
        const its: string[] = [];
        for (let it = saveEvery; it < iterations; it += saveEvery) its.push(snapshotPath(p, it));
        return its;
      })
      : [],
    log: str("log") ?? null,
  });

  const kernelsFlag = str("kernels")!;
  const workersFlag = capWorkers(num("workers"));

  // Sizes before anything else: every image side against the layers, pixels x batch against
  // the backend's memory, from the images' headers (no pixels decoded, nothing allocated).
  const styleBytes = await Deno.readFile(stylePath).catch((e) => {
    throw new UserError(`--style: cannot read ${stylePath} (${e.message})`);
  });
  const styleDims = await imageSize(styleBytes, stylePath);
  const loadOpts = size ? { longSide: size } : { maxLongSide: 512 };
  const targets: Size[] = [], origs: Size[] = [];
  for (const p of contentPaths) {
    const bytes = await Deno.readFile(p).catch((e) => {
      throw new UserError(`--content: cannot read ${p} (${e.message})`);
    });
    origs.push(await imageSize(bytes, p));
    targets.push(targetSize(origs[origs.length - 1], loadOpts));
  }
  const resolved = await resolveBackend(backendChoice);
  const limit = memoryLimit(resolved.name, allSpecs, resolved.adapter?.limits);
  const batchOf = checkSizes(contentPaths, targets, styleDims, stylePath, size, batch, allSpecs, {
    limit,
    directory: outIsDir,
    origs,
  });

  // Weights before images: a missing layer stops the run before any work.
  const weights = await loadStylizeWeights(weightsPath, allSpecs);
  const randomWeights = weightsPath === RANDOM_WEIGHTS;
  if (randomWeights) {
    console.error(
      `weights: ${RANDOM_WEIGHTS_MARK}: seeded He-initialised noise of the Keras VGG19 shapes; ` +
        "the images mean nothing, only the timings do",
    );
  }
  // A directory runs on the worker pool, each worker with its own backend; one file runs here.
  const info = outIsDir ? null : await initBackend(backendChoice);
  if (info) {
    console.error(info.line);
    const kernels = await selectKernelsByName(kernelsFlag, info.name);
    console.error(`kernels: ${kernels}`);
  }
  const { alpha, beta } = resolveWeights(ratio);
  console.error(
    `layers: content ${contentLayer}, style ${
      styleLayers.join(", ")
    }; ratio ${ratio} (alpha ${alpha}, beta ${beta})`,
  );
  const settings: StyleSettings = { alpha, beta, adam, optimizer, lbfgs };

  await decodeImage(styleBytes, stylePath); // a corrupt style image fails here, before any work
  const images: Array<{ path: string; img: RgbImage }> = [];
  for (const p of contentPaths) {
    images.push({
      path: p,
      img: await loadImage(p, loadOpts),
    });
  }

  const initImage = initFlag === "content" || initFlag === "random" ? null : initFlag;
  const logTmp = str("log") ? tempSibling(str("log")!) : null;
  // Graceful stop: the first SIGINT/SIGTERM stops every batch at its next step and writes the
  // best images and the log so far (marked partial); a second one exits at once, temp files removed.
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  let stopSignal: "SIGINT" | "SIGTERM" | null = null;
  const stopRequested = () => Atomics.load(stopFlag, 0) !== 0;
  // Outputs of batches a stop ended early, once written: a second signal removes them too.
  const partialOut = new Set<string>();
  const signalListeners = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const f = () => {
      if (stopSignal) {
        removeTempFilesSync();
        for (const p of partialOut) {
          try {
            Deno.removeSync(p);
          } catch {
            // already gone
          }
        }
        console.error(
          `\n${sig} again: exiting now (no partial output` +
            (partialOut.size ? `; removed ${partialOut.size} partial image(s)` : "") + ")",
        );
        Deno.exit(SIGNAL_EXIT[sig]);
      }
      stopSignal = sig;
      Atomics.store(stopFlag, 0, 1);
      console.error(
        `\n${sig}: stopping at the next step; writing the best images and the log so far ` +
          `(${sig} again exits at once)`,
      );
    };
    Deno.addSignalListener(sig, f);
    return [sig, f] as const;
  });
  const removeSignalListeners = () => {
    for (const [sig, f] of signalListeners) Deno.removeSignalListener(sig, f);
  };
  if (logTmp) trackTemp(logTmp, true);
  const log = logTmp
    ? await Deno.mkdir(dirname(logTmp), { recursive: true }).then(() =>
      Deno.open(logTmp, { write: true, createNew: true })
    ).catch((e) => {
      throw userPathError(e, "--log", str("log")!);
    })
    : null;
  const enc = new TextEncoder();
  // Group by size: a batch is one tensor.
  const groups = new Map<string, typeof images>();
  for (const im of images) {
    const key = `${im.img.width}x${im.img.height}`;
    groups.set(key, [...(groups.get(key) ?? []), im]);
  }
  const batches: (typeof images)[] = [];
  for (const [key, g] of groups) {
    const b = batchOf.get(key) ?? batch;
    for (let i = 0; i < g.length; i += b) batches.push(g.slice(i, i + b));
  }
  const progress = new Progress("stylize", batches.length * (iterations + 1), "it");
  // Per batch, the paths written (kept in batch order for the summary).
  const writtenBy: string[][] = batches.map(() => []);
  // Per batch, the iteration a stop ended it at (partial), when it did.
  const stoppedAt: (number | null)[] = batches.map(() => null);

  /** One evaluated iteration of `group`: the progress bar and the loss log. */
  const onIteration = async (
    group: typeof images,
    it: number,
    losses: LossValues[],
    seconds: number,
  ) => {
    const { width, height } = group[0].img;
    progress.tick(
      1,
      `${group.length} img ${width}x${height} total ${losses[0].total_loss.toExponential(3)}`,
    );
    if (log) {
      const itPerS = it / seconds;
      const lines = losses.map((l, i) =>
        JSON.stringify({
          iteration: it,
          ...l,
          image: group[i].path,
          it_per_s: it > 0 ? itPerS : null,
          ...(randomWeights ? { weights: RANDOM_WEIGHTS_MARK } : {}),
        }) + "\n"
      ).join("");
      const bytes = enc.encode(lines);
      let off = 0;
      try {
        while (off < bytes.length) off += await log.write(bytes.subarray(off));
      } catch (e) {
        throw userPathError(e, "--log", str("log")!);
      }
    }
  };
  const saveSnapshot = async (group: typeof images, it: number, imgs: RgbImage[]) => {
    for (let i = 0; i < imgs.length; i++) {
      const p = snapshotPath(group[i].path, it);
      await savePng(p, imgs[i]).catch((e) => {
        throw userPathError(e, "--save-every", p);
      });
    }
  };
  const saveResult = async (
    b: number,
    imgs: RgbImage[],
    seconds: number,
    stopped: number | null = null,
  ) => {
    const group = batches[b];
    stoppedAt[b] = stopped;
    const { width, height } = group[0].img;
    for (let i = 0; i < group.length; i++) {
      const p = outPathOf(group[i].path);
      await savePng(p, imgs[i]).catch((e) => {
        throw userPathError(e, "--out", p);
      });
      if (stopped !== null) partialOut.add(p);
      writtenBy[b].push(p);
    }
    const done = stopped ?? iterations;
    progress.note(
      `${group.length} image(s) ${width}x${height}: ` +
        (done === 0 ? "evaluated" : `${(done / seconds).toFixed(2)} it/s`) +
        (stopped !== null ? ` (stopped at iteration ${stopped})` : ""),
    );
  };
  const initOf = async (width: number, height: number) =>
    initImage ? await loadImage(initImage, { exact: { width, height } }) : null;

  try {
    try {
      if (outIsDir) {
        await stylizeOnPool();
      } else {
        await stylizeHere();
      }
    } catch (e) {
      if (e instanceof NonFiniteLossError) {
        throw new UserError(`${e.message}; lower --lr or change --ratio`);
      }
      throw e;
    }
    progress.done();
    if (log && logTmp) {
      if (stopSignal) {
        await log.write(enc.encode(JSON.stringify({ partial: true, signal: stopSignal }) + "\n"));
      }
      log.close();
      await Deno.rename(logTmp, str("log")!).catch((e) => {
        throw userPathError(e, "--log", str("log")!);
      });
      trackTemp(logTmp, false);
    }
  } catch (e) {
    progress.done();
    if (log && logTmp) {
      log.close();
      await Deno.remove(logTmp).catch(() => {});
      trackTemp(logTmp, false);
    }
    throw e;
  } finally {
    removeSignalListeners();
  }
  const written = writtenBy.flat();
  const list = (ps: string[]) => `${ps.slice(0, 5).join(", ")}${ps.length > 5 ? ", ..." : ""}`;
  if (!stopSignal) {
    console.error(
      `wrote ${written.length} image(s): ${list(written)}` +
        (randomWeights ? ` (weights: ${RANDOM_WEIGHTS_MARK})` : ""),
    );
    return;
  }
  const partial = batches.flatMap((_, b) => stoppedAt[b] !== null ? writtenBy[b] : []);
  const notStarted = batches.flatMap((g, b) => writtenBy[b].length ? [] : g.map((x) => x.path));
  const stops = [...new Set(stoppedAt.filter((s) => s !== null))];
  console.error(
    `stopped by ${stopSignal}: wrote ${written.length} image(s): ${list(written)}` +
      (partial.length
        ? `; PARTIAL (best so far, stopped at iteration ${stops.join("/")} of ${iterations}): ${
          list(partial)
        }`
        : "") +
      (notStarted.length
        ? `; not started: ${notStarted.length} image(s): ${list(notStarted)}`
        : "") +
      (str("log") ? `; log ${str("log")} (partial, ends with {"partial":true})` : ""),
  );
  throw new ExitError(SIGNAL_EXIT[stopSignal], "");

  /** Every batch in this process, one after the other (one file, or no pool). */
  async function stylizeHere(): Promise<void> {
    const vgg = Vgg19.create(weights, allSpecs);
    try {
      for (const [b, group] of batches.entries()) {
        if (stopRequested()) break;
        const { width, height } = group[0].img;
        const longSide = Math.max(width, height);
        const styleSized = await decodeImage(styleBytes, stylePath, { longSide });
        const initRgb = await initOf(width, height);
        const initT = initRgb ? tf.tensor4d(initRgb.data, [1, height, width, 3]) : null;
        const t0 = performance.now();
        let result;
        try {
          result = await stylizeBatch(
            vgg,
            group.map((g) => g.img),
            styleSized,
            {
              ...settings,
              contentLayer,
              styleLayers,
              init: initT ?? (initFlag as "content" | "random"),
              seed,
            },
            {
              iterations,
              shouldStop: stopRequested,
              onIteration: (it, losses) =>
                onIteration(group, it, losses, (performance.now() - t0) / 1000),
              snapshot: saveEvery
                ? { every: saveEvery, save: (it, imgs) => saveSnapshot(group, it, imgs) }
                : undefined,
            },
          );
        } finally {
          initT?.dispose();
        }
        await saveResult(
          b,
          result.images,
          (performance.now() - t0) / 1000,
          result.stoppedAt ?? null,
        );
      }
    } finally {
      vgg.dispose();
    }
  }

  /** Every batch on a pool of workers (`--workers`), one batch per task, results as they finish. */
  async function stylizeOnPool(): Promise<void> {
    const workers = Math.min(
      workersFlag ?? await defaultWorkerCount(backendChoice),
      batches.length,
    );
    const pool = await StylePool.start({
      workers,
      backend: backendChoice,
      kernels: kernelsFlag,
      weights: weightsPath,
      contentLayer,
      styleLayers,
      stop: stopFlag.buffer as SharedArrayBuffer,
    });
    const styleBySide = new Map<number, RgbImage>();
    // Built as the pool pulls them: the style at each batch's size, the --init image.
    async function* tasks(): AsyncGenerator<StyleTask> {
      for (const [b, group] of batches.entries()) {
        if (stopRequested()) return;
        const { width, height } = group[0].img;
        const longSide = Math.max(width, height);
        if (!styleBySide.has(longSide)) {
          styleBySide.set(longSide, await decodeImage(styleBytes, stylePath, { longSide }));
        }
        yield {
          id: String(b),
          contents: group.map((g) => g.img),
          settings,
          iterations,
          init: (await initOf(width, height)) ?? (initFlag as "content" | "random"),
          seed,
          style: styleBySide.get(longSide)!,
          snapshotEvery: saveEvery,
        };
      }
    }
    const groupOf = (id: string) => batches[Number(id)];
    try {
      await pool.run(tasks(), (r) => saveResult(Number(r.id), r.images, r.seconds, r.stoppedAt), {
        onIteration: (t) => onIteration(groupOf(t.id), t.iteration, t.losses, t.seconds),
        onSnapshot: (s) => saveSnapshot(groupOf(s.id), s.iteration, s.images),
      });
    } catch (e) {
      // Name the images of the failed batch rather than its index.
      const m = e instanceof Error ? /^job (\d+): /.exec(e.message) : null;
      if (m && (e instanceof UserError || e instanceof NonFiniteLossError)) {
        const names = groupOf(m[1]).map((g) => g.path).join(", ");
        const msg = `${names}: ${e.message.slice(m[0].length)}`;
        throw e instanceof UserError ? new UserError(msg) : new NonFiniteLossError(msg);
      }
      throw e;
    } finally {
      pool.close();
    }
  }
}

if (import.meta.main) await runMain(() => stylizeMain(Deno.args));
