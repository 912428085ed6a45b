/**
 * Study phase 1, prepare: everything checked before any compute (outputs
 * writable, weights deep enough, style image readable, every class big
 * enough for the sampling), then the dataset decoded once and the training
 * draws (or disjoint subsets) cut.
 *
 * One image path for every image the classifiers see: each image is decoded
 * to a `stylizeSize` square (Lanczos, 8-bit), which is what the stylizer
 * starts from and what a `copy` stores; originals, copies, stylized images
 * and test images then all reach `imageSize` through {@link toClassifierSize}.
 * So a stylized copy never differs from its original in resolution or
 * resampling, only in what the optimiser did.
 *
 * @example
 * ```ts
 * import { resolveStudyConfig } from "./config.ts";
 * import { prepareStudy } from "./prepare.ts";
 * const config = resolveStudyConfig({ preset: "smoke" }, {
 *   data: "../shared/data/caltech101", style: "../shared/data/styles/composition_vii.jpg",
 *   weights: "../shared/weights/vgg19-tfjs", cache: "out/cache",
 * });
 * const p = await prepareStudy(config, { shard: false, log: console.error });
 * console.log(p.samples.length); // 3
 * ```
 * @module
 */
import { isAbsolute, join, relative } from "node:path";
import { decodeImage, encodePng, type RgbImage } from "../images/io.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { loadVggWeights, type VggWeights } from "../vgg/weights.ts";
import { UserError } from "../util/errors.ts";
import { preflightWritable, realTarget } from "../util/fs.ts";
import type { StudyConfig } from "./config.ts";
import { describeRequirement, listClasses } from "./dataset.ts";
import { imagesNeeded, makeDraws, makeSubsets, type Subset } from "./split.ts";
import { sha256Hex } from "./cache.ts";

/** The decoded dataset: per image, its `stylizeSize` square and its classifier-size version. */
export interface Dataset {
  /** Image id (path relative to `--data`) -> `stylizeSize` square, 8-bit values. */
  squares: Map<string, RgbImage>;
  /** Image id -> the same image at the classifier's `imageSize`. */
  images: Map<string, RgbImage>;
  /** Image id -> sha256 of the file's bytes. */
  sha256: Map<string, string>;
  byClass: Record<string, string[]>;
  skipped: Array<{ image: string; reason: string }>;
}

/** What the later phases start from. */
export interface Prepared {
  weights: VggWeights;
  /** The style image at `--style-size` (long side). */
  style: RgbImage;
  styleSha256: string;
  data: Dataset;
  /** Training draws (or disjoint subsets); index = draw. */
  samples: Subset[];
}

/**
 * Fail early when files cannot be created in `dir`, naming the flag. Creates
 * nothing: a run that stops before its first output leaves no empty `dir`.
 */
export async function checkWritable(dir: string, flag: string): Promise<void> {
  await preflightWritable(join(dir, "results.json"), flag);
}

/**
 * Bring an image (a `stylizeSize` square, or a PNG of one) to the
 * classifier's input size through one path: PNG encode, then a Lanczos
 * resize on decode. The identity when the sizes already match.
 *
 * @example
 * ```ts
 * import { toClassifierSize } from "./prepare.ts";
 * const img = { data: new Float32Array(8 * 8 * 3).fill(100), width: 8, height: 8 };
 * console.log((await toClassifierSize(img, 4, "x")).width); // 4
 * ```
 */
export async function toClassifierSize(
  img: RgbImage,
  size: number,
  label: string,
): Promise<RgbImage> {
  if (img.width === size && img.height === size) return img;
  return await decodeImage(await encodePng(img), label, { exact: { width: size, height: size } });
}

/** The requirement every class must meet under `config`'s sampling. */
function requirement(config: StudyConfig) {
  return { trainPerClass: config.trainPerClass, mode: config.sampling, count: config.samples };
}

/** Decode every image once; corrupt ones are skipped (returned separately), with a warning. */
async function loadDataset(config: StudyConfig, log: (line: string) => void): Promise<Dataset> {
  // Counts from the listing first: an impossible sampling fails before any decoding.
  const listed = await listClasses(config.data, config.classes, requirement(config));
  const squares = new Map<string, RgbImage>();
  const images = new Map<string, RgbImage>();
  const sha256 = new Map<string, string>();
  const skipped: Array<{ image: string; reason: string }> = [];
  const byClass: Record<string, string[]> = {};
  const square = { exact: { width: config.stylizeSize, height: config.stylizeSize } };
  for (const [cls, rels] of Object.entries(listed)) {
    byClass[cls] = [];
    for (const rel of rels) {
      const path = join(config.data, rel);
      try {
        const raw = await Deno.readFile(path);
        const sq = await decodeImage(raw, path, square);
        squares.set(rel, sq);
        images.set(rel, await toClassifierSize(sq, config.imageSize, path));
        sha256.set(rel, sha256Hex(raw));
        byClass[cls].push(rel);
      } catch (e) {
        const reason = (e as Error).message;
        log(`warning: skipping ${path}: ${reason}`);
        skipped.push({ image: rel, reason });
      }
    }
  }
  // Again on the decodable images, so a skipped image cannot leave a class short silently.
  const need = imagesNeeded(config.sampling, config.samples, config.trainPerClass);
  for (const [cls, rels] of Object.entries(byClass)) {
    if (rels.length < need) {
      throw new UserError(
        `class '${cls}' has ${rels.length} readable images; ${
          describeRequirement(requirement(config))
        } need ${need}`,
      );
    }
  }
  return { squares, images, sha256, byClass, skipped };
}

/**
 * Refuse an `--out` or `--cache` that is `--data` or lies inside it (after symlinks): the study
 * would write PNGs into the dataset it reads, and a later run would take them for images of a
 * class.
 *
 * @example
 * ```ts
 * import { checkPathsApart } from "./prepare.ts";
 * await checkPathsApart({ data: "data/caltech101", out: "out/study", cache: "out/cache" }, false);
 * ```
 */
export async function checkPathsApart(
  paths: { data: string; out: string; cache: string },
  shard: boolean,
): Promise<void> {
  const data = await realTarget(paths.data);
  const flags: Array<["--out" | "--cache", string]> = [["--cache", paths.cache]];
  if (!shard) flags.unshift(["--out", paths.out]);
  for (const [flag, path] of flags) {
    const real = await realTarget(path);
    const rel = relative(data, real);
    if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
      throw new UserError(
        `${flag} ${path} is ${rel === "" ? "" : "inside "}--data ${paths.data}: the study would ` +
          `write into the dataset it reads; choose a ${flag} outside it`,
      );
    }
  }
}

/**
 * Check everything that can fail cheaply, then decode the data and cut the
 * samples. With `shard`, `--out` is not needed (a shard only fills the cache).
 */
export async function prepareStudy(
  config: StudyConfig,
  opts: { shard: boolean; log: (line: string) => void },
): Promise<Prepared> {
  await checkPathsApart(config, opts.shard);
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
  // Decoded once, at the size the stylization uses it.
  const style = await decodeImage(styleBytes, config.style, { longSide: config.styleSize });
  const data = await loadDataset(config, opts.log);
  const samples = config.sampling === "draws"
    ? makeDraws(data.byClass, {
      trainPerClass: config.trainPerClass,
      draws: config.samples,
      seed: config.seed,
    })
    : makeSubsets(data.byClass, {
      trainPerClass: config.trainPerClass,
      subsets: config.samples,
      seed: config.seed,
    });
  return { weights, style, styleSha256: sha256Hex(styleBytes), data, samples };
}
