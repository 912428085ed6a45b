/**
 * A labelled picture grid for the README's figures: one row per image,
 * one column per header (or a caption above every cell), every cell resized
 * (nearest neighbour) to `cell` pixels so the pixels show, written as JPEG
 * atomically.
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

/** A cell's size: a side for square cells, or width and height. */
export type CellSize = number | { width: number; height: number };

function escapeXml(t: string): string {
  return t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Write `rows` as a JPEG grid at `outPath`. `headers` is one caption per
 * column above the grid, or (`string[][]`) one caption row above each image
 * row, a caption per cell.
 */
export async function writeImageGrid(
  rows: GridCell[][],
  headers: string[] | string[][],
  cell: CellSize,
  outPath: string,
  quality = 90,
): Promise<void> {
  const { width: cw, height: ch } = typeof cell === "number" ? { width: cell, height: cell } : cell;
  const perRow = headers.length > 0 && Array.isArray(headers[0]);
  const captionRows = perRow ? (headers as string[][]) : [headers as string[]];
  // Row r's images start below its caption line (or below the one header line).
  const rowTop = (r: number) => perRow ? r * (LABEL_PX + ch) + LABEL_PX : LABEL_PX + r * ch;
  const composites: Array<{ input: Buffer; left: number; top: number }> = [];
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < rows[r].length; c++) {
      const input = await cellInput(rows[r][c]).resize(cw, ch, { kernel: "nearest" }).png()
        .toBuffer();
      composites.push({ input, left: c * cw, top: rowTop(r) });
    }
  }
  const columns = Math.max(...captionRows.map((h) => h.length), ...rows.map((r) => r.length));
  const width = columns * cw;
  const height = perRow ? rows.length * (LABEL_PX + ch) : LABEL_PX + rows.length * ch;
  const text = captionRows.flatMap((hs, r) =>
    hs.map((h, c) =>
      `<text x="${c * cw + cw / 2}" y="${
        rowTop(r) - LABEL_PX + 15
      }" font-family="sans-serif" font-size="13" text-anchor="middle">${escapeXml(h)}</text>`
    )
  ).join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${text}</svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  const jpg = await sharp({
    create: { width, height, channels: 3, background: "#ffffff" },
  }).composite(composites).jpeg({ quality }).toBuffer();
  await writeFileAtomic(outPath, new Uint8Array(jpg));
}
