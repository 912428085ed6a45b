/**
 * Calibrate the offline profile's content:style ratios at the settings a
 * study preset stylizes with: square content at `--size`, the style image at
 * `--style-size`, `--iterations` steps of `--optimizer`. For each ratio it
 * stylizes one image per class and measures what the study records of every
 * copy (mean absolute pixel change, SSIM against the original, style-loss
 * ratio); it writes the rows as JSON and a picture grid (rows = images,
 * columns = original then ratios, strongest content weight first).
 *
 * Usage (defaults are the `cpu` preset's settings):
 * ```sh
 * deno run -A bench/calibrate.ts --ratios 1e5,1e4,1e3,1e2,1e1 --size 64 --style-size 128 \
 *   --iterations 40 --optimizer lbfgs --json docs/calibration.json --grid docs/offline_presets.jpg
 * ```
 * @module
 */
import { decodeImage, loadImage, type RgbImage } from "../src/images/io.ts";
import { meanAbsDifference, ssim } from "../src/images/ssim.ts";
import { StylePool } from "../src/style/pool.ts";
import { DEFAULT_ADAM, DEFAULT_LBFGS, PROFILES, resolveWeights } from "../src/style/options.ts";
import { cpuModel } from "../src/util/host.ts";
import { sharedPath } from "../tests/_env.ts";
import { writeTextAtomic } from "../src/util/fs.ts";
import { writeImageGrid } from "./_grid.ts";
import { runMain } from "../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { strictNumber } from "../src/util/cli.ts";

/** The flags; the defaults are the `cpu` preset's settings. */
const FLAGS: FlagTable = {
  ratios: {
    kind: "list",
    default: ["1e5", "1e4", "1e3", "1e2", "1e1"],
    help: "content:style ratios to calibrate (positive numbers)",
  },
  size: { kind: "int", min: 1, default: 64, help: "square content side (px)" },
  "style-size": { kind: "int", min: 1, default: 128, help: "style image long side (px)" },
  iterations: { kind: "int", min: 0, default: 40, help: "optimizer steps per image" },
  optimizer: { kind: "enum", choices: ["adam", "lbfgs"], default: "lbfgs", help: "optimizer" },
  workers: {
    kind: "int",
    min: 1,
    default: navigator.hardwareConcurrency || 1,
    defaultText: "logical cores",
    help: "pool workers",
  },
  images: {
    kind: "list",
    default: ["butterfly/image_0001.jpg", "crab/image_0001.jpg", "scorpion/image_0001.jpg"],
    help: "Caltech images (CLASS/FILE) to stylize",
  },
  json: { kind: "path", default: "docs/calibration.json", help: "where to write the rows" },
  grid: { kind: "path", default: "docs/offline_presets.jpg", help: "where to write the grid" },
  "cell-size": { kind: "int", min: 1, default: 128, help: "grid cell side (px)" },
  help: { kind: "boolean", help: "print this table" },
};

/** Entry point. */
async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, FLAGS) as {
    ratios: string[];
    size: number;
    "style-size": number;
    iterations: number;
    optimizer: "adam" | "lbfgs";
    workers: number;
    images: string[];
    json: string;
    grid: string;
    "cell-size": number;
    help?: boolean;
  };
  if (values.help) {
    console.log(flagHelp("deno run -A bench/calibrate.ts [options]", FLAGS));
    return;
  }
  const ratios = values.ratios.map((r) =>
    strictNumber("ratios", r, false, (n) => n > 0, "positive numbers")
  );
  const size = values.size, styleSize = values["style-size"];
  const iterations = values.iterations;
  const optimizer = values.optimizer;
  const names = values.images;
  const profile = PROFILES.offline;

  const data = sharedPath("data/caltech101");
  const originals: RgbImage[] = [];
  for (const n of names) {
    originals.push(await loadImage(`${data}/${n}`, { exact: { width: size, height: size } }));
  }
  const style = await decodeImage(
    await Deno.readFile(sharedPath("data/styles/composition_vii.jpg")),
    "style",
    { longSide: styleSize },
  );
  const pool = await StylePool.start({
    workers: values.workers,
    backend: "wasm",
    weights: sharedPath("weights/vgg19-tfjs"),
    contentLayer: profile.contentLayer,
    styleLayers: profile.styleLayers,
    style,
    log: (l) => console.error(l),
  });
  const results = new Map<string, { image: RgbImage; history: Array<Record<string, number>> }>();
  const t0 = performance.now();
  try {
    const tasks = ratios.flatMap((ratio) =>
      originals.map((content, i) => ({
        id: `${ratio}|${i}`,
        contents: [content],
        iterations,
        init: "content" as const,
        seed: 0,
        settings: {
          ...resolveWeights(ratio),
          adam: DEFAULT_ADAM,
          optimizer,
          lbfgs: DEFAULT_LBFGS,
        },
      }))
    );
    await pool.run(tasks, (r) => {
      results.set(r.id, {
        image: r.images[0],
        history: r.histories[0] as unknown as Array<Record<string, number>>,
      });
    });
  } finally {
    pool.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const rows = ratios.flatMap((ratio) =>
    names.map((image, i) => {
      const r = results.get(`${ratio}|${i}`)!;
      const h = r.history;
      const last = h[h.length - 1];
      return {
        ratio,
        image,
        mean_abs_change: meanAbsDifference(r.image, originals[i]),
        ssim: ssim(r.image, originals[i]),
        style_loss_ratio: last.style_loss / h[0].style_loss,
        content_loss: last.content_loss,
      };
    })
  );
  console.log("ratio   mean|change|  SSIM   style loss ratio (mean over images)");
  for (const ratio of ratios) {
    const rs = rows.filter((r) => r.ratio === ratio);
    const m = (k: "mean_abs_change" | "ssim" | "style_loss_ratio") =>
      rs.reduce((a, r) => a + r[k], 0) / rs.length;
    console.log(
      `${ratio.toExponential(0).padEnd(7)} ${m("mean_abs_change").toFixed(1).padStart(8)}  ${
        m("ssim").toFixed(3)
      }  ${m("style_loss_ratio").toFixed(3)}`,
    );
  }
  await writeTextAtomic(
    values.json,
    JSON.stringify(
      {
        machine: { cpu_model: await cpuModel(), cores: navigator.hardwareConcurrency },
        settings: {
          profile: "offline",
          size,
          style_size: styleSize,
          iterations,
          optimizer,
          workers: values.workers,
        },
        seconds,
        rows,
      },
      null,
      1,
    ),
  );

  // Grid: one row per image, columns original + each ratio.
  await writeImageGrid(
    names.map((_, i) => [originals[i], ...ratios.map((r) => results.get(`${r}|${i}`)!.image)]),
    ["original", ...ratios.map((r) => `ratio ${r.toExponential(0)}`)],
    values["cell-size"],
    values.grid,
  );
  console.log(`${seconds.toFixed(1)} s; wrote ${values.json} and ${values.grid}`);
}

if (import.meta.main) await runMain(main);
