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
import { basename, extname, join } from "node:path";
import { BACKEND_CHOICES, type BackendChoice, initBackend, tf } from "../tf.ts";
import {
  decodeImage,
  isImagePath,
  listImages,
  loadImage,
  type RgbImage,
  savePng,
} from "../images/io.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { loadVggWeights } from "../vgg/weights.ts";
import { Vgg19 } from "../vgg/model.ts";
import { defaultWeightsPath } from "../vgg/download.ts";
import { NonFiniteLossError } from "./engine.ts";
import { stylizeBatch } from "./run.ts";
import {
  DEFAULT_ADAM,
  PRESET_NAMES,
  type PresetName,
  profileByName,
  resolveWeights,
} from "./options.ts";
import { runMain, UserError } from "../util/errors.ts";
import { optionsTable, parseFlags } from "../util/cli.ts";
import { selectKernelsByName } from "../ops.ts";
import { tempSibling } from "../util/fs.ts";
import { defaultStylePath } from "../util/assets.ts";
import { Progress } from "../util/progress.ts";

/** One row of the options table: flag, value name, default, help. */
interface Opt {
  type: "string" | "boolean";
  value?: string;
  default?: string;
  help: string;
}

/** The options table: every knob of the algorithm, with the paper's default. */
export const STYLIZE_OPTIONS: Record<string, Opt> = {
  content: {
    type: "string",
    value: "FILE|DIR",
    help: "content image, or a directory of images (required)",
  },
  style: {
    type: "string",
    value: "FILE",
    help: "style image (default: Composition VII from `deno task data`)",
  },
  out: {
    type: "string",
    value: "FILE|DIR",
    help: "output PNG, or directory for a directory of content images (default out/)",
  },
  size: {
    type: "string",
    value: "N",
    help: "long side in pixels (default: the image's own, capped at 512)",
  },
  iterations: {
    type: "string",
    value: "N",
    default: "1000",
    help: "Adam steps; 0 only evaluates and logs the losses",
  },
  preset: {
    type: "string",
    value: "NAME",
    default: "medium",
    help: "content:style ratio preset: light | medium | heavy",
  },
  ratio: {
    type: "string",
    value: "R",
    help: "content:style weight ratio alpha/beta (overrides --preset)",
  },
  profile: {
    type: "string",
    value: "NAME",
    default: "paper",
    help: "layer profile: paper | offline (blocks 1-3 only)",
  },
  "content-layer": {
    type: "string",
    value: "LAYER",
    help: "content layer (default from the profile: block5_conv2)",
  },
  "style-layers": {
    type: "string",
    value: "L1,L2,..",
    help: "style layers (default from the profile: block1_conv1..block5_conv1)",
  },
  init: {
    type: "string",
    value: "content|random|FILE",
    default: "content",
    help: "starting image",
  },
  seed: { type: "string", value: "N", default: "0", help: "seed for --init random" },
  lr: {
    type: "string",
    value: "X",
    default: String(DEFAULT_ADAM.learningRate),
    help: "Adam learning rate",
  },
  beta1: { type: "string", value: "X", default: String(DEFAULT_ADAM.beta1), help: "Adam beta1" },
  beta2: { type: "string", value: "X", default: String(DEFAULT_ADAM.beta2), help: "Adam beta2" },
  epsilon: {
    type: "string",
    value: "X",
    default: String(DEFAULT_ADAM.epsilon),
    help: "Adam epsilon",
  },
  backend: { type: "string", value: "NAME", default: "auto", help: "auto | webgpu | wasm | cpu" },
  kernels: {
    type: "string",
    value: "NAME",
    default: "auto",
    help: "auto | custom (WGSL, webgpu only) | stock (tfjs's)",
  },
  weights: {
    type: "string",
    value: "DIR|FILE",
    help: "VGG19 weights: tfjs model dir or Keras .h5 (default: `deno task weights` cache)",
  },
  log: {
    type: "string",
    value: "FILE",
    help: "JSON Lines loss log, one line per iteration and image",
  },
  "save-every": {
    type: "string",
    value: "N",
    help: "also save the current image every N iterations",
  },
  batch: {
    type: "string",
    value: "N",
    default: "1",
    help: "images optimised together (same size after resizing)",
  },
  help: { type: "boolean", help: "print this table" },
};

/** The options table as aligned text. */
export function helpText(): string {
  return optionsTable(
    "deno task stylize [options]",
    Object.entries(STYLIZE_OPTIONS).map(([k, o]) => [
      `--${k}${o.value ? " " + o.value : ""}`,
      o.help + (o.default !== undefined ? ` [default: ${o.default}]` : ""),
    ]),
  );
}

/** Parse a flag as a number satisfying `ok`, or throw a UserError naming it. */
export function numberFlag(
  name: string,
  raw: string | undefined,
  ok: (n: number) => boolean,
  what: string,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || !ok(n)) {
    throw new UserError(`--${name}: expected ${what}, got '${raw}'`);
  }
  return n;
}

const positiveInt = (n: number) => Number.isInteger(n) && n > 0;

/** Run `deno task stylize` with the given command-line arguments. */
export async function stylizeMain(args: string[]): Promise<void> {
  const options = Object.fromEntries(
    Object.entries(STYLIZE_OPTIONS).map(([k, o]) => [k, { type: o.type, default: o.default }]),
  ) as Record<string, { type: "string" | "boolean"; default?: string }>;
  const values = parseFlags(args, options);
  if (values.help) {
    console.log(helpText());
    return;
  }
  const str = (k: string) => values[k] as string | undefined;

  // Validate every flag before any work starts.
  const content = str("content");
  if (!content) throw new UserError("--content: required (an image file or a directory of images)");
  const iterations = numberFlag(
    "iterations",
    str("iterations"),
    (n) => Number.isInteger(n) && n >= 0,
    "an integer >= 0",
  )!;
  const size = numberFlag("size", str("size"), positiveInt, "a positive integer");
  const batch = numberFlag("batch", str("batch"), positiveInt, "a positive integer")!;
  const seed = numberFlag("seed", str("seed"), Number.isInteger, "an integer")!;
  const saveEvery = numberFlag("save-every", str("save-every"), positiveInt, "a positive integer");
  const adam = {
    learningRate: numberFlag("lr", str("lr"), (n) => n > 0, "a positive number")!,
    beta1: numberFlag("beta1", str("beta1"), (n) => n >= 0 && n < 1, "a number in [0, 1)")!,
    beta2: numberFlag("beta2", str("beta2"), (n) => n >= 0 && n < 1, "a number in [0, 1)")!,
    epsilon: numberFlag("epsilon", str("epsilon"), (n) => n > 0, "a positive number")!,
  };
  const profile = profileByName(str("profile")!);
  const preset = str("preset")!;
  if (!PRESET_NAMES.includes(preset as PresetName)) {
    throw new UserError(`--preset: unknown preset '${preset}' (known: ${PRESET_NAMES.join(", ")})`);
  }
  const ratio = numberFlag("ratio", str("ratio"), (n) => n > 0, "a positive number") ??
    profile.presets[preset as PresetName];
  const contentLayer = str("content-layer") ?? profile.contentLayer;
  const styleLayers = str("style-layers")?.split(",").map((s) => s.trim()).filter(Boolean) ??
    profile.styleLayers;
  if (styleLayers.length === 0) throw new UserError("--style-layers: give at least one layer");
  layersUpTo([contentLayer], "--content-layer");
  const allSpecs = layersUpTo([contentLayer, ...styleLayers], "--style-layers");
  const backendChoice = str("backend")! as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendChoice)) {
    throw new UserError(
      `--backend: unknown backend '${backendChoice}' (known: ${BACKEND_CHOICES.join(", ")})`,
    );
  }
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
  const outPathOf = (p: string) => outIsDir ? join(out, `${basename(p, extname(p))}.png`) : out;

  // Weights before images: a missing layer stops the run before any work.
  const weights = await loadVggWeights(weightsPath, allSpecs);
  const info = await initBackend(backendChoice);
  console.error(info.line);
  const kernels = await selectKernelsByName(str("kernels")!, info.name);
  console.error(`kernels: ${kernels}`);
  const { alpha, beta } = resolveWeights(ratio);
  console.error(
    `layers: content ${contentLayer}, style ${
      styleLayers.join(", ")
    }; ratio ${ratio} (alpha ${alpha}, beta ${beta})`,
  );

  const styleBytes = await Deno.readFile(stylePath).catch((e) => {
    throw new UserError(`--style: cannot read ${stylePath} (${e.message})`);
  });
  await decodeImage(styleBytes, stylePath); // a corrupt style image fails here, before any work
  const images: Array<{ path: string; img: RgbImage }> = [];
  for (const p of contentPaths) {
    images.push({
      path: p,
      img: await loadImage(p, size ? { longSide: size } : { maxLongSide: 512 }),
    });
  }

  const initImage = initFlag === "content" || initFlag === "random" ? null : initFlag;

  const vgg = Vgg19.create(weights, allSpecs);
  const logTmp = str("log") ? tempSibling(str("log")!) : null;
  const log = logTmp
    ? await Deno.open(logTmp, { write: true, create: true, truncate: true })
    : null;
  const enc = new TextEncoder();
  // Group by size: a batch is one tensor.
  const groups = new Map<string, typeof images>();
  for (const im of images) {
    const key = `${im.img.width}x${im.img.height}`;
    groups.set(key, [...(groups.get(key) ?? []), im]);
  }
  const batches: (typeof images)[] = [];
  for (const g of groups.values()) {
    for (let i = 0; i < g.length; i += batch) batches.push(g.slice(i, i + batch));
  }
  const progress = new Progress("stylize", batches.length * (iterations + 1), "it");
  const written: string[] = [];
  try {
    for (const group of batches) {
      const { width, height } = group[0].img;
      const longSide = Math.max(width, height);
      const styleSized = await decodeImage(styleBytes, stylePath, { longSide });
      const initT = initImage
        ? tf.tensor4d((await loadImage(initImage, { exact: { width, height } })).data, [
          1,
          height,
          width,
          3,
        ])
        : null;
      const t0 = performance.now();
      let result;
      try {
        result = await stylizeBatch(
          vgg,
          group.map((g) => g.img),
          styleSized,
          {
            contentLayer,
            styleLayers,
            alpha,
            beta,
            adam,
            init: initT ?? (initFlag as "content" | "random"),
            seed,
          },
          {
            iterations,
            onIteration: async (it, losses) => {
              const itPerS = it / ((performance.now() - t0) / 1000);
              progress.tick(
                1,
                `${group.length} img ${width}x${height} total ${
                  losses[0].total_loss.toExponential(3)
                }`,
              );
              if (log) {
                const lines = losses.map((l, i) =>
                  JSON.stringify({
                    iteration: it,
                    ...l,
                    image: group[i].path,
                    it_per_s: it > 0 ? itPerS : null,
                  }) + "\n"
                ).join("");
                await log.write(enc.encode(lines));
              }
            },
            snapshot: saveEvery
              ? {
                every: saveEvery,
                save: async (it, imgs) => {
                  for (let i = 0; i < imgs.length; i++) {
                    const p = outPathOf(group[i].path).replace(
                      /\.png$/i,
                      `_iter${String(it).padStart(4, "0")}.png`,
                    );
                    await savePng(p, imgs[i]);
                  }
                },
              }
              : undefined,
          },
        );
      } catch (e) {
        if (e instanceof NonFiniteLossError) {
          throw new UserError(`${e.message}; lower --lr or change --ratio`);
        }
        throw e;
      } finally {
        initT?.dispose();
      }
      for (let i = 0; i < group.length; i++) {
        const p = outPathOf(group[i].path);
        await savePng(p, result.images[i]);
        written.push(p);
      }
      const secs = (performance.now() - t0) / 1000;
      progress.note(
        `${group.length} image(s) ${width}x${height}: ${(iterations / secs).toFixed(2)} it/s`,
      );
    }
    progress.done();
    if (log && logTmp) {
      log.close();
      await Deno.rename(logTmp, str("log")!);
    }
  } catch (e) {
    progress.done();
    if (log && logTmp) {
      log.close();
      await Deno.remove(logTmp).catch(() => {});
    }
    throw e;
  } finally {
    vgg.dispose();
  }
  console.error(
    `wrote ${written.length} image(s): ${written.slice(0, 5).join(", ")}${
      written.length > 5 ? ", ..." : ""
    }`,
  );
}

if (import.meta.main) await runMain(() => stylizeMain(Deno.args));
