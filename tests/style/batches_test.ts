import assert from "node:assert/strict";
import { join } from "node:path";
import { SHARED } from "../_env.ts";
import { type Batch, scaleSteps } from "../../src/style/batches.ts";
import type { StylizePlan } from "../../src/style/plan.ts";
import type { RgbImage } from "../../src/images/io.ts";

const TUBINGEN = join(SHARED, "data/content/tubingen.jpg");
const STYLE = join(SHARED, "data/styles/composition_vii.jpg");

/** The scales' long sides and tiles for a 1024 px batch from 256 px (256, 362, 512, 724, 1024). */
async function tilesPerScale(batch: Omit<Batch, "items">): Promise<Array<[number, number | null]>> {
  const plan = {
    scales: { minSize: 256 },
    iterations: 1,
    stylePaths: [STYLE],
    styleScale: 1,
    originalColors: false,
  } as unknown as StylizePlan;
  // Only the final scale's size is read from the batch's own image.
  const img = { width: 1024, height: 768 } as RgbImage;
  const steps = await scaleSteps(
    plan,
    { items: [{ path: TUBINGEN, img }], ...batch },
    [await Deno.readFile(STYLE)],
  );
  return steps.map((s) => [Math.max(s.contents[0].width, s.contents[0].height), s.tile ?? null]);
}

Deno.test("scaleSteps: --tile tiles every scale larger than the tile", async () => {
  assert.deepEqual(await tilesPerScale({ tile: 400 }), [
    [256, null],
    [362, null],
    [512, 400],
    [724, 400],
    [1024, 400],
  ]);
});

Deno.test("scaleSteps: automatic tiles only at the scales over the memory bound", async () => {
  assert.deepEqual(await tilesPerScale({ tile: 400, untiledUpTo: 800 }), [
    [256, null],
    [362, null],
    [512, null],
    [724, null],
    [1024, 400],
  ]);
});
