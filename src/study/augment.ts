/**
 * Static augmentation: a fixed, seeded list of rotation-plus-translation
 * transforms, each applied once to every training image (originals and
 * stylized alike), the way CreateML's "rotate" and "translate" options add
 * fixed copies to the training set instead of fresh random ones per epoch.
 *
 * The default list has {@link DEFAULT_AUGMENT_COUNT} transforms. Transform `i`
 * rotates about the image centre by a magnitude drawn uniformly from
 * [{@link ROTATION_RANGE_DEG}] degrees with sign `+,-,+,-,...` (positive =
 * counter-clockwise on screen, PIL's convention), then translates by
 * magnitudes drawn uniformly from [{@link TRANSLATION_RANGE}] of the width and
 * height, with the sign pairs cycling through all four diagonal directions so
 * that the copies do not all lean one way. The draws come from
 * `mulberry32` (src/util/random.ts), so one seed gives one list, which results record.
 *
 * Sampling is bilinear. Pixels whose source falls outside the image are
 * filled by mirror reflection by default, because a constant border would add
 * the same artificial corner shape to every copy, a cue unrelated to the
 * class. Translations are rounded to whole pixels so that they add no blur of
 * their own.
 *
 * @example
 * ```ts
 * import { augmentSet, staticTransforms } from "./augment.ts";
 * const transforms = staticTransforms(7);
 * const img = { data: new Float32Array(32 * 32 * 3), width: 32, height: 32 };
 * const set = augmentSet({ images: [img], labels: [0] }, transforms);
 * console.log(set.images.length); // 1 original + 4 copies = 5
 * ```
 * @module
 */
import type { RgbImage } from "../images/io.ts";
import { mulberry32 } from "../util/random.ts";

/** How many augmented copies each training image gets by default. */
export const DEFAULT_AUGMENT_COUNT = 4;
/** Seed of the default transform list. */
export const DEFAULT_AUGMENT_SEED = 20240;
/** Range of rotation magnitudes, degrees. */
export const ROTATION_RANGE_DEG: readonly [number, number] = [10, 15];
/** Range of translation magnitudes, as a fraction of the image width (x) or height (y). */
export const TRANSLATION_RANGE: readonly [number, number] = [0.03, 0.08];

/** How pixels whose source lies outside the image are filled. */
export type FillMode = "reflect" | "edge" | "constant";

/** One rigid transform; JSON-serialisable so results can record it. */
export interface AugmentTransform {
  /** Short stable name, e.g. "aug0". */
  name: string;
  /** Rotation about the image centre, degrees, counter-clockwise on screen. */
  rotationDeg: number;
  /** Translation as a fraction of the width; positive moves content right. */
  translateX: number;
  /** Translation as a fraction of the height; positive moves content down. */
  translateY: number;
}

/** Options of {@link applyTransform}. */
export interface ApplyOptions {
  /** Default "reflect". */
  fill?: FillMode;
  /** Value of every channel for `fill: "constant"`; default 0. */
  constant?: number;
}

// Sign pairs of (x, y) translation: the four diagonal directions in turn.
const TRANSLATION_SIGNS: ReadonlyArray<[number, number]> = [[1, 1], [-1, -1], [-1, 1], [1, -1]];

/**
 * The seeded list of `count` transforms described in the module doc.
 *
 * @example
 * ```ts
 * import { staticTransforms } from "./augment.ts";
 * console.log(staticTransforms(1).map((t) => t.rotationDeg.toFixed(1)));
 * ```
 */
export function staticTransforms(
  seed: number = DEFAULT_AUGMENT_SEED,
  count: number = DEFAULT_AUGMENT_COUNT,
): AugmentTransform[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`augment count must be a non-negative integer, got ${count}`);
  }
  const rng = mulberry32(seed);
  const between = ([lo, hi]: readonly [number, number]) => lo + (hi - lo) * rng();
  const round = (v: number, digits: number) => Number(v.toFixed(digits));
  const out: AugmentTransform[] = [];
  for (let i = 0; i < count; i++) {
    const [sx, sy] = TRANSLATION_SIGNS[i % TRANSLATION_SIGNS.length];
    // Rounded so the recorded numbers are exactly the ones applied.
    out.push({
      name: `aug${i}`,
      rotationDeg: round((i % 2 === 0 ? 1 : -1) * between(ROTATION_RANGE_DEG), 2),
      translateX: round(sx * between(TRANSLATION_RANGE), 4),
      translateY: round(sy * between(TRANSLATION_RANGE), 4),
    });
  }
  return out;
}

/** The default transform list ({@link DEFAULT_AUGMENT_SEED}, {@link DEFAULT_AUGMENT_COUNT}). */
export const STATIC_TRANSFORMS: readonly AugmentTransform[] = Object.freeze(staticTransforms());

/**
 * Whole-pixel translation `transform` applies to an image of `width x height`.
 *
 * @example
 * ```ts
 * import { translationPixels } from "./augment.ts";
 * console.log(translationPixels({ name: "t", rotationDeg: 0, translateX: 0.05, translateY: -0.1 }, 100, 50));
 * // { dx: 5, dy: -5 }
 * ```
 */
export function translationPixels(
  transform: AugmentTransform,
  width: number,
  height: number,
): { dx: number; dy: number } {
  // `+ 0` turns -0 into 0 so results compare and print cleanly.
  return {
    dx: Math.round(transform.translateX * width) + 0,
    dy: Math.round(transform.translateY * height) + 0,
  };
}

function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  // Half-sample symmetric: ... c b a | a b c ... | z y x ..., period 2n.
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/**
 * Apply one transform to an RGB HWC image: output pixel p takes the bilinear
 * sample of the input at R^-1 (p - c - t) + c, with c the centre between the
 * middle pixels ((w-1)/2, (h-1)/2), R the rotation and t the translation.
 *
 * @example
 * ```ts
 * import { applyTransform } from "./augment.ts";
 * const img = { data: new Float32Array(8 * 8 * 3).fill(100), width: 8, height: 8 };
 * const out = applyTransform(img, { name: "r", rotationDeg: 12, translateX: 0, translateY: 0 });
 * console.log(out.data[3 * (4 * 8 + 4)]); // 100
 * ```
 */
export function applyTransform(
  img: RgbImage,
  transform: AugmentTransform,
  opts: ApplyOptions = {},
): RgbImage {
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 3) {
    throw new RangeError(`image data has ${data.length} values, expected ${w}x${h}x3`);
  }
  const fill = opts.fill ?? "reflect";
  const constant = opts.constant ?? 0;
  const { dx, dy } = translationPixels(transform, w, h);
  const theta = (transform.rotationDeg * Math.PI) / 180;
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  const out = new Float32Array(w * h * 3);
  // Index of a source pixel, or -1 for "use the constant".
  const idx = (x: number, y: number): number => {
    if (x < 0 || x >= w || y < 0 || y >= h) {
      if (fill === "constant") return -1;
      if (fill === "edge") {
        x = Math.min(w - 1, Math.max(0, x));
        y = Math.min(h - 1, Math.max(0, y));
      } else {
        x = reflectIndex(x, w);
        y = reflectIndex(y, h);
      }
    }
    return 3 * (y * w + x);
  };
  for (let oy = 0; oy < h; oy++) {
    for (let ox = 0; ox < w; ox++) {
      // Forward map (y down, CCW on screen): x' = cx + dx*cos + dy*sin, y' = cy - dx*sin + dy*cos.
      // Its inverse rotates by -theta.
      const ux = ox - dx - cx, uy = oy - dy - cy;
      const sx = cx + ux * cos - uy * sin;
      const sy = cy + ux * sin + uy * cos;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      let fx = sx - x0, fy = sy - y0;
      // Snap float noise so that exact grid hits (e.g. 90 degrees, pure shifts) stay exact.
      if (fx < 1e-9) fx = 0;
      else if (fx > 1 - 1e-9) fx = 1;
      if (fy < 1e-9) fy = 0;
      else if (fy > 1 - 1e-9) fy = 1;
      const i00 = idx(x0, y0),
        i10 = idx(x0 + 1, y0),
        i01 = idx(x0, y0 + 1),
        i11 = idx(x0 + 1, y0 + 1);
      const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
      const o = 3 * (oy * w + ox);
      for (let c = 0; c < 3; c++) {
        let v = 0;
        if (w00) v += w00 * (i00 < 0 ? constant : data[i00 + c]);
        if (w10) v += w10 * (i10 < 0 ? constant : data[i10 + c]);
        if (w01) v += w01 * (i01 < 0 ? constant : data[i01 + c]);
        if (w11) v += w11 * (i11 < 0 ? constant : data[i11 + c]);
        out[o + c] = v;
      }
    }
  }
  return { data: out, width: w, height: h };
}

/** Images with labels (and optional per-image names, e.g. paths, for records and caches). */
export interface LabeledSet {
  images: RgbImage[];
  labels: number[];
  /** One name per image; augmented copies get `name#transform`. */
  names?: string[];
}

/**
 * A training set with static augmentation: every original, in order, followed
 * by all copies of image 0, then of image 1, and so on; labels follow their
 * images.
 *
 * @example
 * ```ts
 * import { augmentSet, STATIC_TRANSFORMS } from "./augment.ts";
 * const img = { data: new Float32Array(4 * 4 * 3), width: 4, height: 4 };
 * const s = augmentSet({ images: [img], labels: [2], names: ["a.jpg"] }, STATIC_TRANSFORMS);
 * console.log(s.names); // ["a.jpg", "a.jpg#aug0", "a.jpg#aug1", "a.jpg#aug2", "a.jpg#aug3"]
 * ```
 */
export function augmentSet(
  set: LabeledSet,
  transforms: readonly AugmentTransform[] = STATIC_TRANSFORMS,
  opts: ApplyOptions = {},
): LabeledSet {
  if (set.images.length !== set.labels.length) {
    throw new RangeError(`${set.images.length} images but ${set.labels.length} labels`);
  }
  if (set.names && set.names.length !== set.images.length) {
    throw new RangeError(`${set.images.length} images but ${set.names.length} names`);
  }
  const images = [...set.images];
  const labels = [...set.labels];
  const names = set.names ? [...set.names] : undefined;
  set.images.forEach((img, i) => {
    for (const t of transforms) {
      images.push(applyTransform(img, t, opts));
      labels.push(set.labels[i]);
      names?.push(`${set.names![i]}#${t.name}`);
    }
  });
  return names ? { images, labels, names } : { images, labels };
}
