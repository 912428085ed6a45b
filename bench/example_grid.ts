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
import { writeImageGrid } from "./_grid.ts";

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
await writeImageGrid(
  stems.map((stem) => columns.map((c) => `${dir}/${stem}_${c}.png`)),
  columns,
  cell,
  outPath,
  88,
);
console.log(`wrote ${outPath}: ${stems.length} rows`);
