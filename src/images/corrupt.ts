/**
 * Image corruptions in the manner of ImageNet-C (Hendrycks and Dietterich
 * 2019, "Benchmarking Neural Network Robustness to Common Corruptions and
 * Perturbations"): the study scores each classifier on corrupted copies of
 * its test images, so robustness gained from style augmentation can be
 * measured against the clean score.
 *
 * Five corruptions, each at three severities. Severities 1, 2, 3 here are
 * ImageNet-C's severities 1, 3 and 5 (mild, middle, strongest), with its
 * parameters (`make_imagenet_c.py` in github.com/hendrycks/robustness):
 *
 * | corruption       | parameter                    | severity 1 | 2    | 3    |
 * | ---------------- | ---------------------------- | ---------- | ---- | ---- |
 * | `gaussian_noise` | noise sigma (on [0, 1])      | 0.08       | 0.18 | 0.38 |
 * | `gaussian_blur`  | sigma in px at 224 px wide   | 1          | 3    | 6    |
 * | `jpeg`           | JPEG quality                 | 25         | 15   | 7    |
 * | `contrast`       | contrast factor c            | 0.4        | 0.2  | 0.05 |
 * | `pixelate`       | downsampling factor          | 0.6        | 0.4  | 0.25 |
 *
 * Definitions (x in [0, 1] is a value / 255; every output is clipped to
 * [0, 255] and rounded to an integer, like a decoded 8-bit image; ImageNet-C
 * itself then stored JPEG quality 85, which is not reproduced here):
 *
 * - `gaussian_noise`: x + N(0, sigma) independently per pixel and channel.
 *   The standard normals come from mulberry32 seeded with
 *   `hash32(seed + ":gaussian_noise")` (Box-Muller), so the noise field
 *   depends on the seed only: the three severities of one seed are the same
 *   field scaled (common random numbers make severity comparisons less
 *   noisy), and a caller wanting independent noise per image passes a
 *   different seed per image. The other corruptions ignore the seed.
 * - `gaussian_blur`: sharp's (libvips) Gaussian blur, float precision, mask
 *   cut at amplitude 0.001 (about 3.7 sigma; ImageNet-C's skimage cuts at 4
 *   sigma), edges extended by copying, read back as floats and rounded here
 *   (libvips would truncate). ImageNet-C's sigma is for 224 px
 *   images; here it is scaled by width / 224 with a floor per severity
 *   ({@link BLUR_MIN_SIGMA}: 0.5, 0.75, 1 px) so that severity 1 still blurs
 *   visibly at 64 px and the severities stay strictly increasing at any size;
 *   {@link blurSigma} gives the sigma actually used (64 px: 0.5, 0.857, 1.714).
 * - `jpeg`: sharp JPEG encode at the quality (libjpeg-turbo, 4:2:0 chroma
 *   subsampling as PIL's default), decoded back.
 * - `contrast`: (x - m) * c + m where m is the mean of each channel over all
 *   pixels, exactly as ImageNet-C (`np.mean(x, axis=(0, 1))` on an HWC array
 *   gives one mean per channel, so the colour cast of the image is kept).
 * - `pixelate`: box-filter downsampling to floor(factor * size) per side
 *   (at least 1), then nearest-neighbour upsampling back with sharp.
 *   sharp has no box kernel (its kernels are nearest, linear, cubic, mitchell,
 *   lanczos2/3, mks2013/2021), so the way down is done here with PIL's BOX
 *   rule, the one ImageNet-C used: an output pixel is the plain mean of the
 *   input pixels whose centres lie inside its footprint (for integer ratios,
 *   the mean of each k x k block; rounded once, where PIL rounds after each
 *   of its two passes). ImageNet-C also used BOX for the way up,
 *   which blends two source pixels at block seams when the ratio is not an
 *   integer; nearest keeps every block one flat colour.
 *
 * @example
 * ```ts
 * import { corrupt } from "./corrupt.ts";
 * import { loadImage } from "./io.ts";
 * const img = await loadImage("../shared/data/caltech101/butterfly/image_0001.jpg", {
 *   exact: { width: 64, height: 64 },
 * });
 * const noisy = await corrupt(img, "gaussian_noise", 2, 7);
 * console.log(noisy.width, noisy.height); // 64 64
 * ```
 * @module
 */
import { loadSharp, type Sharp } from "./vips.ts";
import type { RgbImage } from "./io.ts";
import { UserError } from "../util/errors.ts";
import { hash32, mulberry32 } from "../util/random.ts";

/**
 * The corruptions, in report order.
 *
 * @example
 * ```ts
 * import { CORRUPTIONS } from "./corrupt.ts";
 * console.log(CORRUPTIONS.length); // 5
 * ```
 */
export const CORRUPTIONS = [
  "gaussian_noise",
  "gaussian_blur",
  "jpeg",
  "contrast",
  "pixelate",
] as const;

/**
 * One corruption's name.
 *
 * @example
 * ```ts
 * import type { CorruptionName } from "./corrupt.ts";
 * const name: CorruptionName = "jpeg";
 * ```
 */
export type CorruptionName = typeof CORRUPTIONS[number];

/**
 * The severities, mild to strong.
 *
 * @example
 * ```ts
 * import { SEVERITIES } from "./corrupt.ts";
 * console.log(SEVERITIES.join(",")); // 1,2,3
 * ```
 */
export const SEVERITIES = [1, 2, 3] as const;

/**
 * One severity.
 *
 * @example
 * ```ts
 * import type { Severity } from "./corrupt.ts";
 * const s: Severity = 3;
 * ```
 */
export type Severity = typeof SEVERITIES[number];

/**
 * ImageNet-C's severity (1..5) behind each of ours.
 *
 * @example
 * ```ts
 * import { IMAGENET_C_SEVERITY } from "./corrupt.ts";
 * console.log(IMAGENET_C_SEVERITY[3]); // 5
 * ```
 */
export const IMAGENET_C_SEVERITY: Readonly<Record<Severity, number>> = { 1: 1, 2: 3, 3: 5 };

/**
 * Parameter per corruption and severity (index severity - 1), ImageNet-C's
 * values at its severities 1, 3, 5: noise sigma on [0, 1], blur sigma in
 * pixels at 224 px width (see {@link blurSigma} for the sigma used), JPEG
 * quality, contrast factor, pixelate downsampling factor.
 *
 * @example
 * ```ts
 * import { CORRUPTION_PARAMS } from "./corrupt.ts";
 * console.log(CORRUPTION_PARAMS.jpeg[2]); // 7
 * ```
 */
export const CORRUPTION_PARAMS: Readonly<
  Record<CorruptionName, readonly [number, number, number]>
> = Object.freeze(
  {
    gaussian_noise: [0.08, 0.18, 0.38],
    gaussian_blur: [1, 3, 6],
    jpeg: [25, 15, 7],
    contrast: [0.4, 0.2, 0.05],
    pixelate: [0.6, 0.4, 0.25],
  } as const,
);

/**
 * The smallest blur sigma (pixels) per severity: ImageNet-C's sigma scaled to
 * a 64 px image is 0.29 px at severity 1, which changes almost nothing after
 * rounding to 8 bits (and is under sharp's minimum of 0.3).
 *
 * @example
 * ```ts
 * import { BLUR_MIN_SIGMA } from "./corrupt.ts";
 * console.log(BLUR_MIN_SIGMA[0]); // 0.5
 * ```
 */
export const BLUR_MIN_SIGMA: readonly [number, number, number] = [0.5, 0.75, 1];

/** The width ImageNet-C's parameters are for. */
const IMAGENET_C_SIZE = 224;

/**
 * The Gaussian blur sigma in pixels used for an image `width` pixels wide:
 * max(CORRUPTION_PARAMS.gaussian_blur[s - 1] * width / 224, BLUR_MIN_SIGMA[s - 1]).
 *
 * @example
 * ```ts
 * import { blurSigma } from "./corrupt.ts";
 * console.log(blurSigma(224, 3), blurSigma(64, 1)); // 6 0.5
 * ```
 */
export function blurSigma(width: number, severity: Severity): number {
  const i = severityIndex(severity);
  return Math.max(
    CORRUPTION_PARAMS.gaussian_blur[i] * width / IMAGENET_C_SIZE,
    BLUR_MIN_SIGMA[i],
  );
}

function severityIndex(severity: number): number {
  // Callers may pass values from parsed JSON or flags: refuse anything but 1, 2, 3.
  if (!(SEVERITIES as readonly number[]).includes(severity)) {
    throw new Error(`corrupt: severity must be 1, 2 or 3, got ${severity}`);
  }
  return severity - 1;
}

/** Clamp to [0, 255] and round, as an 8-bit decoder would deliver. */
function to8bit(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

function toBytes(img: RgbImage): Uint8Array {
  const px = new Uint8Array(img.data.length);
  for (let i = 0; i < px.length; i++) px[i] = to8bit(img.data[i]);
  return px;
}

/** A sharp pipeline (the package's types are an `export =` namespace deno cannot name). */
type Pipeline = ReturnType<Sharp>;

/** A sharp pipeline reading raw 8-bit RGB. */
async function rawSharp(px: Uint8Array, width: number, height: number): Promise<Pipeline> {
  return (await loadSharp())(px, { raw: { width, height, channels: 3 } });
}

/**
 * Run a sharp pipeline and read its result back as floats, rounded here:
 * libvips truncates when it casts a float result (the blur) to 8 bits, which
 * would darken every blurred value by half a level on average.
 */
async function readRaw(pipeline: Pipeline): Promise<RgbImage> {
  const { data, info } = await pipeline.raw({ depth: "float" })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`corrupt: sharp returned ${info.channels} channels`);
  const f = new Float32Array(data.buffer, data.byteOffset, data.length / 4);
  return { data: f.map(to8bit), width: info.width, height: info.height };
}

function gaussianNoise(img: RgbImage, sigma: number, seed: number): RgbImage {
  const rand = mulberry32(hash32(`${seed}:gaussian_noise`));
  const n = img.data.length, out = new Float32Array(n), s = sigma * 255;
  for (let i = 0; i < n; i += 2) {
    // Box-Muller gives two independent normals per pair of uniforms; 1 - u keeps log's argument > 0.
    const r = Math.sqrt(-2 * Math.log(1 - rand())), t = 2 * Math.PI * rand();
    out[i] = to8bit(img.data[i] + s * r * Math.cos(t));
    if (i + 1 < n) out[i + 1] = to8bit(img.data[i + 1] + s * r * Math.sin(t));
  }
  return { data: out, width: img.width, height: img.height };
}

function contrast(img: RgbImage, c: number): RgbImage {
  const n = img.width * img.height, d = img.data;
  const mean = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) mean[ch] += d[3 * i + ch];
  }
  for (let ch = 0; ch < 3; ch++) mean[ch] /= n;
  const out = new Float32Array(d.length);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) {
      out[3 * i + ch] = to8bit((d[3 * i + ch] - mean[ch]) * c + mean[ch]);
    }
  }
  return { data: out, width: img.width, height: img.height };
}

/**
 * The input index range [lo, hi) of each of `outSize` box-filter outputs
 * (PIL's BOX rule: input i belongs to output o when its centre i + 0.5 lies
 * in (o * scale, (o + 1) * scale]).
 */
function boxRanges(inSize: number, outSize: number): [number, number][] {
  const scale = inSize / outSize, out: [number, number][] = [];
  for (let o = 0; o < outSize; o++) {
    const lo = Math.max(0, Math.floor(o * scale + 0.5));
    const hi = Math.min(inSize, Math.floor((o + 1) * scale + 0.5));
    // scale >= 1 (only ever downsampling), so every footprint holds at least one centre.
    out.push([lo, hi]);
  }
  return out;
}

/** Box-filter downsampling to `ow x oh` (plain mean of each output's input rectangle). */
function boxDownsample(img: RgbImage, ow: number, oh: number): RgbImage {
  const xs = boxRanges(img.width, ow), ys = boxRanges(img.height, oh);
  const out = new Float32Array(ow * oh * 3);
  for (let oy = 0; oy < oh; oy++) {
    const [y0, y1] = ys[oy];
    for (let ox = 0; ox < ow; ox++) {
      const [x0, x1] = xs[ox];
      let r = 0, g = 0, b = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * img.width + x) * 3;
          r += img.data[i];
          g += img.data[i + 1];
          b += img.data[i + 2];
        }
      }
      const k = (y1 - y0) * (x1 - x0), o = (oy * ow + ox) * 3;
      out[o] = r / k;
      out[o + 1] = g / k;
      out[o + 2] = b / k;
    }
  }
  return { data: out, width: ow, height: oh };
}

async function pixelate(img: RgbImage, factor: number): Promise<RgbImage> {
  // floor like ImageNet-C's int(224 * c).
  const ow = Math.max(1, Math.floor(img.width * factor));
  const oh = Math.max(1, Math.floor(img.height * factor));
  const small = boxDownsample(img, ow, oh);
  return await readRaw(
    (await rawSharp(toBytes(small), ow, oh)).resize(img.width, img.height, {
      fit: "fill",
      kernel: "nearest",
    }),
  );
}

/**
 * Corrupt `img` (left unmodified) with corruption `name` at `severity`: a new
 * image of the same size, values integers in [0, 255]. Deterministic for
 * (img, name, severity, seed); only `gaussian_noise` uses the seed (see the
 * module notes for every definition). Input values are clamped and rounded
 * to 8 bits first where sharp does the work (blur, jpeg, pixelate's way up).
 * An unknown name or severity, or data not matching width x height x 3, is an
 * Error (a caller bug).
 *
 * @example
 * ```ts
 * import { corrupt } from "./corrupt.ts";
 * const img = { data: new Float32Array(8 * 8 * 3).fill(100), width: 8, height: 8 };
 * const out = await corrupt(img, "contrast", 3, 0);
 * console.log(out.data[0]); // 100 (a flat image has nothing to lose)
 * ```
 */
export async function corrupt(
  img: RgbImage,
  name: CorruptionName,
  severity: Severity,
  seed: number,
): Promise<RgbImage> {
  const i = severityIndex(severity);
  if (!(CORRUPTIONS as readonly string[]).includes(name)) {
    throw new Error(`corrupt: unknown corruption '${name}' (known: ${CORRUPTIONS.join(", ")})`);
  }
  if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3) {
    throw new Error(
      `corrupt: image has ${img.data.length} values for ${img.width}x${img.height} RGB`,
    );
  }
  const p = CORRUPTION_PARAMS[name][i];
  switch (name) {
    case "gaussian_noise":
      return gaussianNoise(img, p, seed);
    case "contrast":
      return contrast(img, p);
    case "pixelate":
      return await pixelate(img, p);
    case "gaussian_blur": {
      const sigma = blurSigma(img.width, severity);
      return await readRaw(
        (await rawSharp(toBytes(img), img.width, img.height))
          .blur({ sigma, precision: "float", minAmplitude: 0.001 }),
      );
    }
    case "jpeg": {
      const jpg = await (await rawSharp(toBytes(img), img.width, img.height)).jpeg({ quality: p })
        .toBuffer();
      return await readRaw((await loadSharp())(jpg));
    }
  }
}

/**
 * Parse a comma-separated list of corruption names (`gaussian_noise,jpeg`),
 * kept in the given order. An unknown, repeated or missing name is a
 * UserError naming `flag`.
 *
 * @example
 * ```ts
 * import { parseCorruptions } from "./corrupt.ts";
 * console.log(parseCorruptions("--corruptions", "jpeg, contrast")); // ["jpeg", "contrast"]
 * ```
 */
export function parseCorruptions(flag: string, raw: string): CorruptionName[] {
  const items = raw.split(",").map((s) => s.trim());
  if (items.every((s) => s === "")) {
    throw new UserError(
      `${flag}: expected a comma-separated list of corruptions (known: ${
        CORRUPTIONS.join(", ")
      }), got '${raw}'`,
    );
  }
  const out: CorruptionName[] = [];
  for (const it of items) {
    if (it === "") throw new UserError(`${flag}: empty item in '${raw}'`);
    if (!(CORRUPTIONS as readonly string[]).includes(it)) {
      throw new UserError(
        `${flag}: unknown corruption '${it}' (known: ${CORRUPTIONS.join(", ")})`,
      );
    }
    const name = it as CorruptionName;
    // A repeat would score the same corruption twice and double its weight in averages.
    if (out.includes(name)) throw new UserError(`${flag}: corruption '${it}' given twice`);
    out.push(name);
  }
  return out;
}
