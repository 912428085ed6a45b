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
import { describeRequirement, imagesRequired, listClasses } from "./dataset.ts";
import { makeDraws, makeSubsets, type Subset } from "./split.ts";
import { sha256Hex } from "./cache.ts";
import { basename, extname } from "node:path";
import { hash32, mulberry32, shuffled } from "../util/random.ts";
import type { CueConflictPair } from "../report/schema.ts";

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

/** A style image decoded at `--style-size` (long side), with what identifies it. */
export interface StyleImage {
  file: string;
  /** File name without extension, e.g. `the_scream`: used in image names and the report. */
  name: string;
  sha256: string;
  image: RgbImage;
}

/** What the later phases start from. */
export interface Prepared {
  weights: VggWeights;
  /** The style image at `--style-size` (long side). */
  style: RgbImage;
  styleSha256: string;
  /** The `bank` group's styles (empty when the group does not run). */
  bank: StyleImage[];
  /** Held-out texture-shift styles (empty without an evaluation pool). */
  testStyles: StyleImage[];
  data: Dataset;
  /** Class -> evaluation pool image ids, reserved from every draw's training set. */
  pool: Record<string, string[]>;
  /** Cue-conflict pairs over the pool: each pool image with a texture from another class's pool image. */
  cuePairs: CueConflictPair[];
  /** Texture image id -> its centre crop at `--style-size` (the cue-conflict style images). */
  textures: Map<string, RgbImage>;
  /** Training draws (or disjoint subsets); index = draw. */
  samples: Subset[];
}

/** Side fraction of the centre crop a cue-conflict texture is taken from (the object's middle). */
export const TEXTURE_CROP = 0.5;

/**
 * Fail early when files cannot be created in `dir`, naming the flag. Creates
 * nothing: a run that stops before its first output leaves no empty `dir`.
 */
export async function checkWritable(dir: string, flag: string): Promise<void> {
  const st = await Deno.stat(dir).catch(() => null);
  if (st && !st.isDirectory) throw new UserError(`${flag}: ${dir} is a file, not a directory`);
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
  return {
    trainPerClass: config.trainPerClass,
    mode: config.sampling,
    count: config.samples,
    evalPool: config.evalPool,
  };
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
  const need = imagesRequired(requirement(config));
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
  const bank = config.groups.includes("bank")
    ? await loadStyles(config.styles, "--styles", config.styleSize)
    : [];
  const testStyles = config.evalPool > 0
    ? await loadStyles(config.testStyles, "--test-styles", config.styleSize)
    : [];
  checkHeldOut(bank, testStyles, { file: config.style, sha256: sha256Hex(styleBytes) }, config);
  const data = await loadDataset(config, opts.log);
  const pool = reservePool(data.byClass, config.evalPool, config.seed);
  const trainable = Object.fromEntries(
    Object.entries(data.byClass).map(([c, ims]) => [c, ims.filter((x) => !pool[c].includes(x))]),
  );
  const samples = config.sampling === "draws"
    ? makeDraws(trainable, {
      trainPerClass: config.trainPerClass,
      draws: config.samples,
      seed: config.seed,
    })
    : makeSubsets(trainable, {
      trainPerClass: config.trainPerClass,
      subsets: config.samples,
      seed: config.seed,
    });
  // The pool is tested on in every draw: it joins each draw's test set.
  for (const s of samples) {
    for (const c of Object.keys(s.test)) {
      s.test[c] = data.byClass[c].filter((x) => !s.train[c].includes(x));
    }
  }
  const cuePairs = cueConflictPairs(pool, config.classes, config.seed);
  const textures = new Map<string, RgbImage>();
  for (const p of cuePairs) {
    if (textures.has(p.texture_image)) continue;
    const path = join(config.data, p.texture_image);
    textures.set(
      p.texture_image,
      await centreCrop(await Deno.readFile(path), path, TEXTURE_CROP, config.styleSize),
    );
  }
  return {
    weights,
    style,
    styleSha256: sha256Hex(styleBytes),
    bank,
    testStyles,
    data,
    pool,
    cuePairs,
    textures,
    samples,
  };
}

/**
 * Decode every style file of a list flag at `styleSize` (long side), or a
 * UserError naming the flag and the file. An entry that is a directory
 * stands for the images in it (sorted).
 */
export async function loadStyles(
  entries: readonly string[],
  flag: string,
  styleSize: number,
): Promise<StyleImage[]> {
  const files = await expandStyleFiles(entries, flag);
  if (files.length === 0) throw new UserError(`${flag}: no style images given`);
  const out: StyleImage[] = [];
  for (const file of files) {
    const bytes = await Deno.readFile(file).catch((e) => {
      throw new UserError(`${flag}: cannot read ${file} (${e.message})`);
    });
    let image: RgbImage;
    try {
      image = await decodeImage(bytes, file, { longSide: styleSize });
    } catch (e) {
      throw new UserError(`${flag}: cannot decode ${file} (${(e as Error).message})`);
    }
    out.push({ file, name: basename(file, extname(file)), sha256: sha256Hex(bytes), image });
  }
  return out;
}

/** Files of a style list: files as given, directories expanded to their images (sorted). */
export async function expandStyleFiles(entries: readonly string[], flag: string) {
  const files: string[] = [];
  for (const entry of entries) {
    const info = await Deno.stat(entry).catch((e) => {
      throw new UserError(`${flag}: cannot read ${entry} (${e.message})`);
    });
    if (!info.isDirectory) {
      files.push(entry);
      continue;
    }
    const inDir: string[] = [];
    for await (const e of Deno.readDir(entry)) {
      if (e.isFile && /\.(jpe?g|png)$/i.test(e.name)) inDir.push(join(entry, e.name));
    }
    if (inDir.length === 0) throw new UserError(`${flag}: no .jpg/.png images in ${entry}`);
    files.push(...inDir.sort());
  }
  return files;
}

/**
 * A held-out style must never shape a training image: refuse a test style
 * whose content equals a bank style or `--style` (compared by sha256, so a
 * renamed copy is caught), and a style listed twice.
 */
function checkHeldOut(
  bank: StyleImage[],
  testStyles: StyleImage[],
  style: { file: string; sha256: string },
  config: StudyConfig,
) {
  const training = [
    ...bank.map((b) => ({ file: b.file, sha256: b.sha256, flag: "--styles" })),
    ...(config.groups.some((g) => g === "light" || g === "medium" || g === "heavy")
      ? [{ ...style, flag: "--style" }]
      : []),
  ];
  for (const t of testStyles) {
    const hit = training.find((b) => b.sha256 === t.sha256);
    if (hit) {
      throw new UserError(
        `--test-styles: ${t.file} is the same image as ${hit.flag} ${hit.file}; a held-out style must not be used for training`,
      );
    }
  }
  for (const [flag, list] of [["--styles", bank], ["--test-styles", testStyles]] as const) {
    const seen = new Map<string, string>();
    for (const s of list) {
      const prev = seen.get(s.sha256);
      if (prev) throw new UserError(`${flag}: ${s.file} is the same image as ${prev}`);
      seen.set(s.sha256, s.file);
    }
  }
}

/**
 * Reserve `n` images per class for evaluation, seeded per class; they are
 * never drawn for training.
 *
 * @example
 * ```ts
 * import { reservePool } from "./prepare.ts";
 * console.log(reservePool({ a: ["a1", "a2", "a3"] }, 1, 0).a.length); // 1
 * ```
 */
export function reservePool(
  byClass: Record<string, string[]>,
  n: number,
  seed: number,
): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(byClass).map(([cls, images]) => {
      const chosen = new Set(
        shuffled(images, mulberry32(hash32(`${seed}:pool:${cls}`))).slice(0, n),
      );
      return [cls, images.filter((x) => chosen.has(x))];
    }),
  );
}

/**
 * Pair every pool image (the shape) with a pool image of another class (the
 * texture): the k-th image of class i takes its texture class in turn from
 * the other classes, and within it a seeded choice, so every texture class is
 * used about equally.
 *
 * @example
 * ```ts
 * import { cueConflictPairs } from "./prepare.ts";
 * const pairs = cueConflictPairs({ a: ["a/1", "a/2"], b: ["b/1"] }, ["a", "b"], 0);
 * console.log(pairs.map((p) => `${p.image}<-${p.texture_image}`)); // a/1<-b/1, a/2<-b/1, b/1<-a/?
 * ```
 */
export function cueConflictPairs(
  pool: Record<string, string[]>,
  classes: readonly string[],
  seed: number,
): CueConflictPair[] {
  const pairs: CueConflictPair[] = [];
  classes.forEach((shape_class, i) => {
    const others = classes.filter((c) => c !== shape_class && pool[c]?.length > 0);
    if (others.length === 0) return;
    const rand = mulberry32(hash32(`${seed}:cue:${shape_class}`));
    (pool[shape_class] ?? []).forEach((image, k) => {
      const texture_class = others[(k + i) % others.length];
      const candidates = pool[texture_class];
      const texture_image = candidates[Math.floor(rand() * candidates.length)];
      pairs.push({ image, texture_image, shape_class, texture_class });
    });
  });
  return pairs;
}

/** The centre `fraction` (of each side) of an image file, resized to long side `longSide`. */
async function centreCrop(
  bytes: Uint8Array,
  label: string,
  fraction: number,
  longSide: number,
): Promise<RgbImage> {
  const full = await decodeImage(bytes, label);
  const w = Math.max(1, Math.round(full.width * fraction));
  const h = Math.max(1, Math.round(full.height * fraction));
  const x0 = Math.floor((full.width - w) / 2), y0 = Math.floor((full.height - h) / 2);
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * full.width + x0) * 3;
    data.set(full.data.subarray(src, src + w * 3), y * w * 3);
  }
  return await decodeImage(await encodePng({ data, width: w, height: h }), label, { longSide });
}
