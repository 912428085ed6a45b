/**
 * How the flags of `deno task stylize` combine, after the flag table has
 * parsed and bounded each one: layers, weights, styles and their blend,
 * the coarse-to-fine schedule, and the content images. Every refusal here is
 * a UserError naming its flag, raised before any work.
 *
 * @example
 * ```ts
 * import { parseFlagTable } from "../util/flags.ts";
 * import { STYLIZE_OPTIONS } from "./cli.ts";
 * import { resolvePlan } from "./plan.ts";
 * const plan = await resolvePlan(parseFlagTable(
 *   ["--content", "a.jpg", "--style", "s.jpg,t.jpg", "--style-blend", "3,1", "--profile", "offline"],
 *   STYLIZE_OPTIONS,
 * ));
 * console.log(plan.styleWeights); // [0.75, 0.25]
 * ```
 * @module
 */
import { extname } from "node:path";
import type { BackendChoice } from "../tf.ts";
import { isImagePath, listImages } from "../images/io.ts";
import { type ConvLayerSpec, layersUpTo } from "../vgg/layers.ts";
import type { Pooling } from "../vgg/model.ts";
import { defaultWeightsPath } from "../vgg/download.ts";
import { defaultStylePath } from "../util/assets.ts";
import { strictNumber } from "../util/cli.ts";
import { UserError } from "../util/errors.ts";
import { capWorkers } from "../util/host.ts";
import type { FlagValues } from "../util/flags.ts";
import {
  DEFAULT_LBFGS,
  type LayerProfile,
  profileByName,
  resolveWeights,
  type StylePresetName,
} from "./options.ts";
import type { StyleSettings } from "./pool.ts";

/**
 * Everything a stylize run needs, from the flags.
 *
 * @example
 * ```ts
 * import type { StylizePlan } from "./plan.ts";
 * declare const p: StylizePlan;
 * console.log(p.contentPaths.length, p.outIsDir, p.stylePaths);
 * ```
 */
export interface StylizePlan {
  content: string;
  contentPaths: string[];
  outIsDir: boolean;
  out: string | undefined;
  log: string | undefined;
  iterations: number;
  size: number | undefined;
  batch: number;
  seed: number;
  saveEvery: number | undefined;
  profile: string;
  ratio: number;
  contentLayer: string;
  styleLayers: string[];
  specs: ConvLayerSpec[];
  settings: StyleSettings;
  backend: BackendChoice;
  kernels: string;
  workers: number | undefined;
  weights: string;
  stylePaths: string[];
  /** `--style-blend`, normalised to sum 1 (equal weights by default). */
  styleWeights: number[];
  styleScale: number;
  pooling: Pooling;
  originalColors: boolean;
  tvWeight: number;
  scales: { scales?: number; minSize?: number };
  scaleIterations: number[] | undefined;
  tile: number | undefined;
  init: string;
}

/** A list flag of finite numbers >= 0 (integers when `integer`), or a UserError naming it. */
function numberList(
  flag: string,
  items: string[] | undefined,
  integer: boolean,
): number[] | undefined {
  if (!items) return undefined;
  return items.map((raw) =>
    strictNumber(
      flag,
      raw,
      integer,
      (n) => Number.isFinite(n) && n >= 0,
      integer ? "a non-negative integer" : "a finite number >= 0",
    )
  );
}

/** The content images: one file, or the images of a directory. */
async function contentImages(
  content: string,
  out: string | undefined,
): Promise<{ contentPaths: string[]; outIsDir: boolean }> {
  const st = await Deno.stat(content).catch(() => null);
  if (!st) throw new UserError(`--content: ${content} does not exist`);
  if (st.isDirectory) {
    const contentPaths = await listImages(content);
    if (out && extname(out).toLowerCase() === ".png") {
      throw new UserError(`--out: ${out} must be a directory when --content is a directory`);
    }
    return { contentPaths, outIsDir: true };
  }
  if (!isImagePath(content)) {
    throw new UserError(`--content: ${content} is not a .jpg/.jpeg/.png file`);
  }
  return { contentPaths: [content], outIsDir: false };
}

/** The styles and their normalised blend weights. */
async function styles(v: FlagValues): Promise<{ stylePaths: string[]; styleWeights: number[] }> {
  const stylePaths = (v.style as string[] | undefined) ?? [await defaultStylePath()];
  const blend = numberList("--style-blend", v["style-blend"] as string[] | undefined, false);
  if (blend && blend.length !== stylePaths.length) {
    throw new UserError(
      `--style-blend: ${blend.length} weight(s) for ${stylePaths.length} --style image(s); give one per style`,
    );
  }
  const raw = blend ?? stylePaths.map(() => 1);
  const sum = raw.reduce((a, x) => a + x, 0);
  if (!(sum > 0)) {
    throw new UserError("--style-blend: the weights sum to 0; at least one must be > 0");
  }
  return { stylePaths, styleWeights: raw.map((x) => x / sum) };
}

/**
 * The run's plan from parsed flag values; a UserError (naming the flag) for
 * combinations the table cannot check on its own.
 *
 * @example
 * ```ts
 * import { resolvePlan } from "./plan.ts";
 * import { parseFlagTable } from "../util/flags.ts";
 * import { STYLIZE_OPTIONS } from "./cli.ts";
 * await resolvePlan(parseFlagTable(["--content", "a.jpg", "--min-size", "900", "--size", "512"], STYLIZE_OPTIONS));
 * // throws: --min-size: 900 px is above --size 512 ...
 * ```
 */
export async function resolvePlan(v: FlagValues): Promise<StylizePlan> {
  const str = (k: string) => v[k] as string | undefined;
  const num = (k: string) => v[k] as number | undefined;
  const content = str("content");
  if (!content) throw new UserError("--content: required (an image file or a directory of images)");
  const profile = profileByName(str("profile")!);
  const ratio = num("ratio") ?? profile.presets[str("preset")! as StylePresetName];
  const { contentLayer, styleLayers, specs } = lossLayers(v, profile);
  const size = num("size");
  const scales = scaleSchedule(num("min-size"), num("scales")!, size);
  const tile = tileSize(num("tile"), specs);
  const { stylePaths, styleWeights } = await styles(v);
  const tvWeight = num("tv-weight")!;
  return {
    content,
    ...await contentImages(content, str("out")),
    out: str("out"),
    log: str("log"),
    iterations: num("iterations")!,
    size,
    batch: num("batch")!,
    seed: num("seed")!,
    saveEvery: num("save-every"),
    profile: str("profile")!,
    ratio,
    contentLayer,
    styleLayers,
    specs,
    settings: styleSettings(v, ratio, styleWeights, tvWeight),
    backend: str("backend")! as BackendChoice,
    kernels: str("kernels")!,
    workers: capWorkers(num("workers")),
    weights: str("weights") ?? await defaultWeightsPath(),
    stylePaths,
    styleWeights,
    styleScale: num("style-scale")!,
    pooling: str("pooling")! as Pooling,
    originalColors: v["original-colors"] === true,
    tvWeight,
    scales,
    scaleIterations: numberList(
      "--scale-iterations",
      v["scale-iterations"] as string[] | undefined,
      true,
    ),
    tile,
    init: str("init")!,
  };
}

/** The content and style layers (the profile's unless given) and the VGG layers up to the deepest. */
function lossLayers(
  v: FlagValues,
  profile: LayerProfile,
): { contentLayer: string; styleLayers: string[]; specs: ConvLayerSpec[] } {
  const contentLayer = (v["content-layer"] as string | undefined) ?? profile.contentLayer;
  const styleLayers = (v["style-layers"] as string[] | undefined) ?? profile.styleLayers;
  layersUpTo([contentLayer], "--content-layer");
  const specs = layersUpTo([contentLayer, ...styleLayers], "--style-layers");
  return { contentLayer, styleLayers, specs };
}

/** The coarse-to-fine schedule: `--scales N` or `--min-size PX` (at most `--size`), not both. */
function scaleSchedule(
  minSize: number | undefined,
  scales: number,
  size: number | undefined,
): { scales?: number; minSize?: number } {
  if (minSize !== undefined && scales > 1) {
    throw new UserError("--min-size: give --scales N or --min-size PX, not both");
  }
  if (minSize !== undefined && size !== undefined && minSize > size) {
    throw new UserError(
      `--min-size: ${minSize} px is above --size ${size}; it must be at most the final size`,
    );
  }
  return minSize !== undefined ? { minSize } : { scales };
}

/** `--tile` rounded down to a multiple of the deepest pool's stride, or a UserError when below it. */
function tileSize(tile: number | undefined, specs: readonly ConvLayerSpec[]): number | undefined {
  const align = 2 ** specs.filter((s) => s.poolBefore).length;
  if (tile !== undefined && tile < align) {
    throw new UserError(
      `--tile: ${tile} px is smaller than ${specs[specs.length - 1].name} allows (after ${
        Math.log2(align)
      } 2x2 pools a tile needs at least ${align} px)`,
    );
  }
  return tile === undefined ? undefined : Math.floor(tile / align) * align;
}

/** The optimiser's settings: weights from the ratio, Adam, L-BFGS, the blend and TV when in use. */
function styleSettings(
  v: FlagValues,
  ratio: number,
  styleWeights: number[],
  tvWeight: number,
): StyleSettings {
  const num = (k: string) => v[k] as number;
  const { alpha, beta } = resolveWeights(ratio);
  return {
    alpha,
    beta,
    adam: {
      learningRate: num("lr"),
      beta1: num("beta1"),
      beta2: num("beta2"),
      epsilon: num("epsilon"),
    },
    optimizer: v.optimizer as "adam" | "lbfgs",
    lbfgs: {
      ...DEFAULT_LBFGS,
      history: num("lbfgs-history"),
      maxBacktracks: num("lbfgs-backtracks"),
    },
    ...(styleWeights.length > 1 ? { styleWeights } : {}),
    ...(tvWeight > 0 ? { tvWeight } : {}),
  };
}
