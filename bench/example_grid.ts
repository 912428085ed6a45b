/**
 * Compose a study's example images (`OUT/examples/*_{original,copy,light,medium,heavy}.png`)
 * into one JPEG grid for the README: one row per example image, columns in
 * group order, each cell enlarged (nearest neighbour) so the pixels show.
 *
 * ```sh
 * deno run -A bench/example_grid.ts out/cpu/examples docs/cpu/examples.jpg
 * ```
 * @module
 */
import sharp from "sharp";
import { Buffer } from "node:buffer";
import { writeFileAtomic } from "../src/util/fs.ts";

const [dir, outPath, cellArg] = Deno.args;
if (!dir || !outPath) {
  console.error("usage: deno run -A bench/example_grid.ts EXAMPLES_DIR OUT.jpg [CELL_PX]");
  Deno.exit(2);
}
const cell = Number(cellArg ?? 128);
const columns = ["original", "copy", "light", "medium", "heavy"];
const stems: string[] = [];
for await (const e of Deno.readDir(dir)) {
  const m = /^(.*)_original\.png$/.exec(e.name);
  if (m) stems.push(m[1]);
}
stems.sort();
const label = 20;
const composites: Array<{ input: Buffer; left: number; top: number }> = [];
for (let r = 0; r < stems.length; r++) {
  for (let c = 0; c < columns.length; c++) {
    const input = await sharp(`${dir}/${stems[r]}_${columns[c]}.png`)
      .resize(cell, cell, { kernel: "nearest" }).png().toBuffer();
    composites.push({ input, left: c * cell, top: label + r * cell });
  }
}
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${
  columns.length * cell
}" height="${label}">${
  columns.map((h, c) =>
    `<text x="${
      c * cell + cell / 2
    }" y="15" font-family="sans-serif" font-size="13" text-anchor="middle">${h}</text>`
  ).join("")
}</svg>`;
composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
const jpg = await sharp({
  create: {
    width: columns.length * cell,
    height: label + stems.length * cell,
    channels: 3,
    background: "#ffffff",
  },
}).composite(composites).jpeg({ quality: 88 }).toBuffer();
await writeFileAtomic(outPath, new Uint8Array(jpg));
console.log(`wrote ${outPath}: ${stems.length} rows`);
