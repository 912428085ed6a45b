/**
 * Colour control (`--original-colors`): luminance-only transfer after Gatys
 * et al. 2016, "Preserving color in neural artistic style transfer". The
 * content and style images are reduced to their luminance Y (YIQ, NTSC
 * weights), the style's Y is matched to the content's mean and standard
 * deviation so the style brings texture rather than a brightness shift, the
 * transfer runs on grey images, and the output's Y is recombined with the
 * content's I and Q. The output keeps the content's chrominance exactly,
 * except where the recombined pixel leaves [0, 255] and is clipped.
 *
 * @example
 * ```ts
 * import { luminanceImage, matchLuminance, recombineColors } from "./color.ts";
 * declare const content: import("../images/io.ts").RgbImage;
 * declare const style: import("../images/io.ts").RgbImage;
 * const grey = luminanceImage(content);
 * const greyStyle = matchLuminance(luminanceImage(style), grey);
 * // ... stylize grey towards greyStyle, giving out ...
 * declare const out: import("../images/io.ts").RgbImage;
 * const result = recombineColors(out, content);
 * ```
 * @module
 */
import type { RgbImage } from "../images/io.ts";

/**
 * RGB to YIQ (NTSC 1953 coefficients) of one pixel.
 *
 * @example
 * ```ts
 * import { rgbToYiq } from "./color.ts";
 * console.log(rgbToYiq(255, 255, 255)[0]); // 255 (white has no chroma)
 * ```
 */
export function rgbToYiq(r: number, g: number, b: number): [number, number, number] {
  return [
    0.299 * r + 0.587 * g + 0.114 * b,
    0.595716 * r - 0.274453 * g - 0.321263 * b,
    0.211456 * r - 0.522591 * g + 0.311135 * b,
  ];
}

/**
 * YIQ to RGB, the inverse of {@link rgbToYiq}.
 *
 * @example
 * ```ts
 * import { rgbToYiq, yiqToRgb } from "./color.ts";
 * console.log(yiqToRgb(...rgbToYiq(10, 200, 30)).map(Math.round)); // [10, 200, 30]
 * ```
 */
export function yiqToRgb(y: number, i: number, q: number): [number, number, number] {
  return [
    y + 0.9563 * i + 0.621 * q,
    y - 0.2721 * i - 0.6474 * q,
    y - 1.107 * i + 1.7046 * q,
  ];
}

/**
 * The image's luminance Y in all three channels (a grey RGB image).
 *
 * @example
 * ```ts
 * import { luminanceImage } from "./color.ts";
 * const g = luminanceImage({ width: 1, height: 1, data: new Float32Array([255, 0, 0]) });
 * console.log(g.data); // [76.245, 76.245, 76.245]
 * ```
 */
export function luminanceImage(img: RgbImage): RgbImage {
  const data = new Float32Array(img.data.length);
  for (let p = 0; p < data.length; p += 3) {
    const y = rgbToYiq(img.data[p], img.data[p + 1], img.data[p + 2])[0];
    data[p] = data[p + 1] = data[p + 2] = y;
  }
  return { width: img.width, height: img.height, data };
}

/** Mean and standard deviation of the first channel. */
function stats(img: RgbImage): { mean: number; std: number } {
  const n = img.data.length / 3;
  let s = 0, s2 = 0;
  for (let p = 0; p < img.data.length; p += 3) {
    s += img.data[p];
    s2 += img.data[p] * img.data[p];
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) };
}

/**
 * A grey `style` with its luminance shifted and scaled to `content`'s mean and
 * standard deviation (Gatys et al. 2016, eq. 1), clipped to [0, 255].
 *
 * @example
 * ```ts
 * import { luminanceImage, matchLuminance } from "./color.ts";
 * declare const style: import("../images/io.ts").RgbImage, content: import("../images/io.ts").RgbImage;
 * const s = matchLuminance(luminanceImage(style), luminanceImage(content));
 * ```
 */
export function matchLuminance(style: RgbImage, content: RgbImage): RgbImage {
  const a = stats(style), b = stats(content);
  const k = a.std > 0 ? b.std / a.std : 1;
  const data = new Float32Array(style.data.length);
  for (let p = 0; p < data.length; p++) {
    data[p] = Math.min(255, Math.max(0, (style.data[p] - a.mean) * k + b.mean));
  }
  return { width: style.width, height: style.height, data };
}

/**
 * The luminance of `stylized` (a grey result) with the chrominance (I, Q) of
 * `content` (same size), back to RGB clipped to [0, 255].
 *
 * @example
 * ```ts
 * import { recombineColors } from "./color.ts";
 * declare const out: import("../images/io.ts").RgbImage, content: import("../images/io.ts").RgbImage;
 * const colour = recombineColors(out, content);
 * ```
 */
export function recombineColors(stylized: RgbImage, content: RgbImage): RgbImage {
  if (stylized.width !== content.width || stylized.height !== content.height) {
    throw new Error("recombineColors: the images differ in size");
  }
  const data = new Float32Array(content.data.length);
  const d = stylized.data, c = content.data;
  for (let p = 0; p < data.length; p += 3) {
    const y = rgbToYiq(d[p], d[p + 1], d[p + 2])[0];
    const [, i, q] = rgbToYiq(c[p], c[p + 1], c[p + 2]);
    const rgb = yiqToRgb(y, i, q);
    for (let k = 0; k < 3; k++) data[p + k] = Math.min(255, Math.max(0, rgb[k]));
  }
  return { width: content.width, height: content.height, data };
}
