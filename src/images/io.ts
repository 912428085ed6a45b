/**
 * Image decoding, resizing and encoding through sharp (libvips): JPEG and PNG
 * in, with EXIF orientation applied and grayscale, CMYK or alpha images turned
 * into 3-channel sRGB; 8-bit sRGB PNG out, written atomically.
 *
 * @example
 * ```ts
 * import { loadImage, savePng } from "./io.ts";
 * const img = await loadImage("../shared/data/content/tubingen.jpg", { longSide: 128 });
 * console.log(img.width, img.height); // 128 96
 * await savePng("out/copy.png", img);
 * ```
 * @module
 */
import { loadSharp } from "./vips.ts";
import { extname, join } from "node:path";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/fs.ts";

/** An RGB image: `data` is HWC, values in [0, 255] (float). */
export interface RgbImage {
  /** `height * width * 3` values, row by row. */
  data: Float32Array;
  /** Pixels. */
  width: number;
  /** Pixels. */
  height: number;
}

/** File extensions read as images. */
export const IMAGE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png"];

/** Options for {@link loadImage}. */
export interface LoadOptions {
  /** Resize so the long side is this many pixels (Lanczos-3); no resampling if it already is. */
  longSide?: number;
  /** Shrink (never enlarge) so the long side is at most this many pixels. */
  maxLongSide?: number;
  /** Resize to exactly this width and height (aspect ratio not kept). Wins over longSide. */
  exact?: { width: number; height: number };
}

/** Size of an image of `width x height` scaled so its long side is `longSide`. */
export function fitLongSide(width: number, height: number, longSide: number): {
  width: number;
  height: number;
} {
  const s = longSide / Math.max(width, height);
  return {
    width: Math.max(1, Math.round(width * s)),
    height: Math.max(1, Math.round(height * s)),
  };
}

/**
 * The size an image of `orig` size gets from {@link loadImage} with `opts`.
 *
 * @example
 * ```ts
 * import { targetSize } from "./io.ts";
 * console.log(targetSize({ width: 1000, height: 500 }, { maxLongSide: 512 })); // 512 x 256
 * ```
 */
export function targetSize(
  orig: { width: number; height: number },
  opts: LoadOptions,
): { width: number; height: number } {
  if (opts.exact) return opts.exact;
  if (opts.longSide) return fitLongSide(orig.width, orig.height, opts.longSide);
  if (opts.maxLongSide && Math.max(orig.width, orig.height) > opts.maxLongSide) {
    return fitLongSide(orig.width, orig.height, opts.maxLongSide);
  }
  return { width: orig.width, height: orig.height };
}

/**
 * Width and height of image bytes after the EXIF orientation, without decoding
 * the pixels; a UserError naming `label` when they are not a JPEG or PNG.
 *
 * @example
 * ```ts
 * import { imageSize } from "./io.ts";
 * const bytes = await Deno.readFile("../shared/data/content/tubingen.jpg");
 * console.log(await imageSize(bytes, "tubingen.jpg"));
 * ```
 */
export async function imageSize(
  bytes: Uint8Array,
  label: string,
): Promise<{ width: number; height: number }> {
  try {
    const meta = await (await loadSharp())(bytes, { failOn: "error" }).metadata();
    if (!meta.width || !meta.height) throw new Error("no image dimensions");
    const swap = (meta.orientation ?? 1) >= 5;
    return swap
      ? { width: meta.height, height: meta.width }
      : { width: meta.width, height: meta.height };
  } catch (e) {
    throw new UserError(`${label}: not a decodable JPEG or PNG image (${(e as Error).message})`);
  }
}

/** Decode an image file into RGB floats, optionally resized. */
export async function loadImage(path: string, opts: LoadOptions = {}): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read image (${(e as Error).message})`);
  }
  return await decodeImage(bytes, path, opts);
}

/** Decode image bytes (named `label` in errors) into RGB floats. */
export async function decodeImage(
  bytes: Uint8Array,
  label: string,
  opts: LoadOptions = {},
): Promise<RgbImage> {
  try {
    // rotate() with no angle applies the EXIF orientation.
    const base = (await loadSharp())(bytes, { failOn: "error" }).rotate();
    const meta = await base.metadata();
    if (!meta.width || !meta.height) throw new Error("no image dimensions");
    // EXIF orientations 5..8 swap width and height once applied.
    const swap = (meta.orientation ?? 1) >= 5;
    let width = swap ? meta.height : meta.width;
    let height = swap ? meta.width : meta.height;
    const target = targetSize({ width, height }, opts);
    let pipeline = base;
    if (target.width !== width || target.height !== height) {
      pipeline = pipeline.resize(target.width, target.height, { fit: "fill", kernel: "lanczos3" });
      width = target.width;
      height = target.height;
    }
    const { data, info } = await pipeline.toColourspace("srgb").removeAlpha().raw().toBuffer({
      resolveWithObject: true,
    });
    const out = new Float32Array(width * height * 3);
    if (info.channels === 3) {
      for (let i = 0; i < out.length; i++) out[i] = data[i];
    } else if (info.channels === 1) {
      for (let i = 0; i < width * height; i++) {
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i];
      }
    } else {
      throw new Error(`unexpected ${info.channels} channels after conversion`);
    }
    return { data: out, width, height };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${label}: not a decodable JPEG or PNG image (${(e as Error).message})`);
  }
}

/** Encode an RGB image (values clamped and rounded to 0..255) as 8-bit sRGB PNG bytes. */
export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  const px = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, Math.round(img.data[i])));
  const buf = await (await loadSharp())(px, {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .withMetadata({ icc: "srgb" }).png().toBuffer();
  return new Uint8Array(buf);
}

/** Write an RGB image as PNG to `path` atomically (temp file, then rename). */
export async function savePng(path: string, img: RgbImage): Promise<void> {
  await writeFileAtomic(path, await encodePng(img));
}

/** True when `path` has an image extension. */
export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** Image files directly inside `dir`, sorted by name; a UserError when there are none. */
export async function listImages(dir: string, flag = "--content"): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && isImagePath(e.name)) out.push(join(dir, e.name));
    }
  } catch (e) {
    throw new UserError(`${flag}: cannot read directory ${dir} (${(e as Error).message})`);
  }
  if (out.length === 0) {
    throw new UserError(`${flag}: directory ${dir} contains no .jpg/.jpeg/.png images`);
  }
  return out.sort();
}
