/**
 * sharp (libvips), loaded on first use. A process that never decodes or
 * encodes an image (the WebGPU tests, a kernel benchmark) then never loads
 * libvips at all: libvips's ELF destructors, run by `exit()`, raced a libvips
 * thread in the one exit-time abort whose core was caught (README, Tests).
 *
 * @example
 * ```ts
 * import { loadSharp } from "./vips.ts";
 * const sharp = await loadSharp();
 * const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: "red" } })
 *   .png().toBuffer();
 * console.log(png.length > 0); // true
 * ```
 * @module
 */
import type sharpModule from "sharp";

/** The sharp function (the package's types are an `export =` namespace). */
export type Sharp = typeof sharpModule;

let sharp: Sharp | null = null;

/**
 * The sharp module, imported on the first call.
 *
 * @example
 * ```ts
 * import { loadSharp } from "./vips.ts";
 * console.log(typeof (await loadSharp())); // "function"
 * ```
 */
export async function loadSharp(): Promise<Sharp> {
  sharp ??= (await import("sharp")).default;
  return sharp;
}
