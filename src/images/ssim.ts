/**
 * How much an added training image differs from its original: SSIM (Wang,
 * Bovik, Sheikh and Simoncelli 2004) on luma, mean absolute pixel difference,
 * and exact identity. The study records these for every copied or stylized
 * image, so a report can show how strong each style group really was and
 * catch a "stylized" image that came back unchanged.
 *
 * SSIM is computed on luma Y = 0.299 R + 0.587 G + 0.114 B (values 0-255,
 * L = 255, K1 = 0.01, K2 = 0.03) with an 11x11 Gaussian window, sigma 1.5,
 * normalized to sum 1, placed only where it fits inside the image ("valid"
 * windows, as the authors' reference MATLAB code): no padding, so border
 * pixels count less but no invented values enter. The result is the mean of
 * the SSIM map. An image narrower or shorter than 11 pixels gets a single
 * window covering the whole image with uniform weights (global SSIM).
 * Local variances and covariance are the window-weighted ones,
 * E_w[x^2] - E_w[x]^2 (no n - 1 correction), as in the reference code.
 *
 * @example
 * ```ts
 * import { ssim } from "./ssim.ts";
 * const a = { data: new Float32Array(16 * 16 * 3).fill(100), width: 16, height: 16 };
 * console.log(ssim(a, a)); // 1
 * ```
 * @module
 */
import type { RgbImage } from "./io.ts";

/** Side of the Gaussian window, in pixels. */
export const SSIM_WINDOW = 11;
/** Standard deviation of the Gaussian window, in pixels. */
export const SSIM_SIGMA = 1.5;
const L = 255;
const C1 = (0.01 * L) ** 2;
const C2 = (0.03 * L) ** 2;

function checkSameSize(name: string, a: RgbImage, b: RgbImage): void {
  for (const [which, img] of [["first", a], ["second", b]] as const) {
    if (img.data.length !== img.width * img.height * 3) {
      throw new Error(
        `${name}: ${which} image has ${img.data.length} values for ${img.width}x${img.height} RGB`,
      );
    }
  }
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(
      `${name}: image sizes differ (${a.width}x${a.height} vs ${b.width}x${b.height})`,
    );
  }
}

function luma(img: RgbImage): Float64Array {
  const n = img.width * img.height, d = img.data;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2];
  return y;
}

function ssimFromMoments(
  mx: number,
  my: number,
  vx: number,
  vy: number,
  cxy: number,
): number {
  return ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
}

/** The normalized 1-D Gaussian; the 2-D window is its outer product (which also sums to 1). */
function gaussian1d(): Float64Array {
  const g = new Float64Array(SSIM_WINDOW), r = (SSIM_WINDOW - 1) / 2;
  let sum = 0;
  for (let i = 0; i < SSIM_WINDOW; i++) {
    g[i] = Math.exp(-((i - r) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA));
    sum += g[i];
  }
  for (let i = 0; i < SSIM_WINDOW; i++) g[i] /= sum;
  return g;
}

/** Separable 'valid' filtering of an h x w map: output (h-10) x (w-10). */
function filterValid(src: Float64Array, w: number, h: number, g: Float64Array): Float64Array {
  const k = g.length, ow = w - k + 1, oh = h - k + 1;
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += g[i] * src[y * w + x + i];
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += g[i] * rows[(y + i) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

/**
 * Mean SSIM of two equal-size RGB images on luma (see the module notes for
 * the window and constants): 1 for identical images, lower as structure,
 * contrast or brightness differ. Different sizes are an Error naming both.
 *
 * @example
 * ```ts
 * import { ssim } from "./ssim.ts";
 * const a = { data: new Float32Array(4 * 4 * 3).fill(100), width: 4, height: 4 };
 * const b = { data: new Float32Array(4 * 4 * 3).fill(110), width: 4, height: 4 };
 * console.log(ssim(a, b).toFixed(4)); // 0.9955 (luminance term only)
 * ```
 */
export function ssim(a: RgbImage, b: RgbImage): number {
  checkSameSize("ssim", a, b);
  const w = a.width, h = a.height, n = w * h;
  if (n === 0) throw new Error("ssim: empty images");
  const x = luma(a), y = luma(b);
  if (w < SSIM_WINDOW || h < SSIM_WINDOW) {
    let mx = 0, my = 0;
    for (let i = 0; i < n; i++) {
      mx += x[i];
      my += y[i];
    }
    mx /= n;
    my /= n;
    let vx = 0, vy = 0, cxy = 0;
    for (let i = 0; i < n; i++) {
      const dx = x[i] - mx, dy = y[i] - my;
      vx += dx * dx;
      vy += dy * dy;
      cxy += dx * dy;
    }
    return ssimFromMoments(mx, my, vx / n, vy / n, cxy / n);
  }
  const g = gaussian1d();
  const xx = new Float64Array(n), yy = new Float64Array(n), xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const mx = filterValid(x, w, h, g), my = filterValid(y, w, h, g);
  const exx = filterValid(xx, w, h, g), eyy = filterValid(yy, w, h, g);
  const exy = filterValid(xy, w, h, g);
  let sum = 0;
  for (let i = 0; i < mx.length; i++) {
    const ux = mx[i], uy = my[i];
    sum += ssimFromMoments(ux, uy, exx[i] - ux * ux, eyy[i] - uy * uy, exy[i] - ux * uy);
  }
  return sum / mx.length;
}

/**
 * Mean |a - b| over every pixel and channel (0-255 scale). Different sizes
 * are an Error naming both.
 *
 * @example
 * ```ts
 * import { meanAbsDifference } from "./ssim.ts";
 * const a = { data: new Float32Array([0, 0, 0, 10, 10, 10]), width: 2, height: 1 };
 * const b = { data: new Float32Array([2, 2, 2, 10, 10, 10]), width: 2, height: 1 };
 * console.log(meanAbsDifference(a, b)); // 1
 * ```
 */
export function meanAbsDifference(a: RgbImage, b: RgbImage): number {
  checkSameSize("meanAbsDifference", a, b);
  const n = a.data.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / n;
}

/**
 * True when both images have every value equal (pixel-identical). Different
 * sizes are an Error naming both (a caller comparing an image with its own
 * copy has a bug if the sizes differ).
 *
 * @example
 * ```ts
 * import { identicalImages } from "./ssim.ts";
 * const a = { data: new Float32Array([1, 2, 3]), width: 1, height: 1 };
 * console.log(identicalImages(a, { ...a, data: a.data.slice() })); // true
 * ```
 */
export function identicalImages(a: RgbImage, b: RgbImage): boolean {
  checkSameSize("identicalImages", a, b);
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}
