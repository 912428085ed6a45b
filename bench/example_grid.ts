/**
 * Compose a study's example images into one JPEG grid for the README: one row
 * per example image, each cell enlarged (nearest neighbour) so the pixels
 * show. The columns are those present for every row:
 *
 * - `OUT/examples/`: the training groups (original, copy, light, medium,
 *   heavy, bank);
 * - `OUT/examples/evaluation/`: the evaluation conditions (original, the
 *   held-out styles, the cue-conflict texture source and image, every
 *   corruption at severities 1-3).
 *
 * ```sh
 * deno run -A bench/example_grid.ts out/cpu/examples docs/cpu/examples.jpg
 * deno run -A bench/example_grid.ts out/cpu/examples/evaluation docs/cpu/evaluation.jpg --cell 96
 * ```
 * @module
 */
import { writeImageGrid } from "./_grid.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";

/** The flags; the positionals are EXAMPLES_DIR and OUT.jpg. */
const FLAGS: FlagTable = {
  cell: { kind: "int", min: 1, default: 128, help: "cell side (px)" },
  help: { kind: "boolean", help: "print this table" },
};
const USAGE = "deno run -A bench/example_grid.ts EXAMPLES_DIR OUT.jpg [--cell N]";

/** Entry point. */
async function main(): Promise<void> {
  const positionals: string[] = [];
  const values = parseFlagTable(Deno.args, FLAGS, { positionals }) as {
    cell: number;
    help?: boolean;
  };
  if (values.help) {
    console.log(flagHelp(USAGE, FLAGS));
    return;
  }
  if (positionals.length !== 2) {
    throw new UserError(
      `expected EXAMPLES_DIR and OUT.jpg, got ${positionals.length} argument(s) (usage: ${USAGE})`,
    );
  }
  const [dir, outPath] = positionals;
  const cell = values.cell;
  const candidates = [
    "original",
    "copy",
    "light",
    "medium",
    "heavy",
    "bank",
    "the_scream",
    "great_wave",
    "texture_source",
    "cue_conflict",
    ...["gaussian_noise", "gaussian_blur", "jpeg", "contrast", "pixelate"].flatMap((c) =>
      [1, 2, 3].map((s) => `${c}_${s}`)
    ),
  ];
  const names = new Set<string>();
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.add(e.name);
  const stems = [...names].map((n) => /^(.*)_original\.png$/.exec(n)?.[1]).filter((
    s,
  ): s is string => s !== undefined).sort();
  const columns = candidates.filter((c) => stems.every((s) => names.has(`${s}_${c}.png`)));
  await writeImageGrid(
    stems.map((stem) => columns.map((c) => `${dir}/${stem}_${c}.png`)),
    columns,
    cell,
    outPath,
    88,
  );
  console.log(`wrote ${outPath}: ${stems.length} rows`);
}

if (import.meta.main) await runMain(main);
