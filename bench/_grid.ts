/**
 * A labelled picture grid for the README's figures: one row per image,
 * one column per header, every cell enlarged (nearest neighbour) to `cell`
 * pixels so the pixels show, written as JPEG atomically.
 *
 * @example
 * ```ts
 * import { writeImageGrid } from "./_grid.ts";
 * await writeImageGrid([["a.png", "b.png"]], ["before", "after"], 128, "grid.jpg");
 * ```
 * @module
 */
import sharp from "sharp";
import { Buffer } from "node:buffer";
import type { RgbImage } from "../src/images/io.ts";
import { writeFileAtomic } from "../src/util/fs.ts";

const LABEL_PX = 20;

/** A cell: a PNG/JPEG file path, or RGB pixels (0-255 floats). */
export type GridCell = string | RgbImage;

function cellInput(c: GridCell): ReturnType<typeof sharp> {
  if (typeof c === "string") return sharp(c);
  const px = new Uint8Array(c.data.length);
  for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, Math.round(c.data[i])));
  return sharp(px, { raw: { width: c.width, height: c.height, channels: 3 } });
}

/** Write `rows` (each with one cell per header) as a JPEG grid at `outPath`. */
export async function writeImageGrid(
  rows: GridCell[][],
  headers: string[],
  cell: number,
  outPath: string,
  quality = 90,
): Promise<void> {
  const composites: Array<{ input: Buffer; left: number; top: number }> = [];
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < rows[r].length; c++) {
      const input = await cellInput(rows[r][c]).resize(cell, cell, { kernel: "nearest" }).png()
        .toBuffer();
      composites.push({ input, left: c * cell, top: LABEL_PX + r * cell });
    }
  }
  const width = headers.length * cell;
  const text = headers.map((h, c) =>
    `<text x="${
      c * cell + cell / 2
    }" y="15" font-family="sans-serif" font-size="13" text-anchor="middle">${h}</text>`
  ).join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LABEL_PX}">${text}</svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  const jpg = await sharp({
    create: {
      width,
      height: LABEL_PX + rows.length * cell,
      channels: 3,
      background: "#ffffff",
    },
  }).composite(composites).jpeg({ quality }).toBuffer();
  await writeFileAtomic(outPath, new Uint8Array(jpg));
}
