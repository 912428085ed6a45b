/**
 * Coarse to fine against single scale (issue 14, §1): Tübingen styled with
 * Composition VII (offline profile by default, or `--profile paper` with the
 * full weights; Adam), once at the final size only and
 * once coarse to fine (`--scales`), timing every iteration. Reports the
 * wall time coarse to fine needs for a full-size total loss no higher than
 * single scale's final loss, as a fraction of single scale's time; writes
 * docs/coarse_to_fine.json and docs/coarse_to_fine.svg (total loss against
 * wall seconds; coarse to fine's points at the final size only, since losses
 * at other sizes are not comparable).
 *
 * @example
 * ```sh
 * deno run -A bench/coarse_to_fine.ts --size 512 --iterations 40 --scales 4 --scale-iterations 20,10,6,40
 * ```
 * @module
 */
import { join } from "node:path";
import { initBackend } from "../src/tf.ts";
import { loadImage } from "../src/images/io.ts";
import { layersUpTo } from "../src/vgg/layers.ts";
import { Vgg19 } from "../src/vgg/model.ts";
import { loadVggWeights } from "../src/vgg/weights.ts";
import { defaultWeightsPath } from "../src/vgg/download.ts";
import { type ScaleStep, stylizeScales } from "../src/style/run.ts";
import { scaleIterations, scaleLongSides } from "../src/style/scales.ts";
import { DEFAULT_ADAM, PROFILES, resolveWeights } from "../src/style/options.ts";
import { renderSvg } from "../src/report/charts.ts";
import { cpuModel } from "../src/util/host.ts";
import { runMain } from "../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { BENCH_BACKEND_FLAG } from "./_flags.ts";
import { strictNumber } from "../src/util/cli.ts";

const SHARED = Deno.env.get("NST_SHARED") ?? "../shared";
/** The flags. */
const FLAGS: FlagTable = {
  size: { kind: "int", min: 2, default: 512, help: "final long side (px)" },
  iterations: { kind: "int", min: 1, default: 40, help: "single-scale Adam steps" },
  scales: { kind: "int", min: 1, default: 4, help: "coarse-to-fine scales" },
  "scale-iterations": {
    kind: "list",
    default: ["20", "10", "6", "40"],
    help: "Adam steps per scale, coarsest first (non-negative integers)",
  },
  backend: BENCH_BACKEND_FLAG,
  profile: {
    kind: "enum",
    choices: ["offline", "paper"],
    noun: "profile",
    default: "offline",
    help: "layer profile (paper: block4/5 too, needs the full weights of `deno task weights`)",
  },
  weights: {
    kind: "path",
    defaultText: "offline: ../shared's blocks 1-3; paper: the `deno task weights` cache",
    help: "VGG19 weights (tfjs layers dir or Keras .h5)",
  },
  out: { kind: "path", default: "docs", help: "where to write coarse_to_fine.{json,svg}" },
  help: { kind: "boolean", help: "print this table" },
};

/** Entry point. */
async function main(): Promise<void> {
  const a = parseFlagTable(Deno.args, FLAGS) as {
    size: number;
    iterations: number;
    scales: number;
    "scale-iterations": string[];
    backend: "wasm" | "webgpu" | "cpu";
    profile: "offline" | "paper";
    weights?: string;
    out: string;
    help?: boolean;
  };
  if (a.help) {
    console.log(flagHelp("deno run -A bench/coarse_to_fine.ts [options]", FLAGS));
    return;
  }
  const size = a.size, iterations = a.iterations, nScales = a.scales;
  const perScale = a["scale-iterations"].map((s) =>
    strictNumber("scale-iterations", s, true, (n) => n >= 0, "non-negative integers")
  );
  const info = await initBackend(a.backend);
  const profile = PROFILES[a.profile];
  const specs = layersUpTo([profile.contentLayer, ...profile.styleLayers]);
  const weights = a.weights ??
    (a.profile === "offline" ? join(SHARED, "weights/vgg19-tfjs") : await defaultWeightsPath());
  const vgg = Vgg19.create(await loadVggWeights(weights, specs), specs);
  const config = {
    contentLayer: profile.contentLayer,
    styleLayers: profile.styleLayers,
    ...resolveWeights(profile.presets.medium),
    adam: { ...DEFAULT_ADAM },
    init: "content" as const,
    seed: 0,
  };
  const content = join(SHARED, "data/content/tubingen.jpg");
  const style = join(SHARED, "data/styles/composition_vii.jpg");

  async function steps(sides: number[], its: number[]): Promise<ScaleStep[]> {
    return await Promise.all(sides.map(async (s, k) => ({
      contents: [await loadImage(content, { longSide: s })],
      styles: [await loadImage(style, { longSide: s })],
      iterations: its[k],
    })));
  }

  interface Row {
    method: string;
    scale: number;
    width: number;
    iteration: number;
    seconds: number;
    total_loss: number;
  }
  const rows: Row[] = [];
  async function run(method: string, s: ScaleStep[]): Promise<void> {
    const t0 = performance.now();
    await stylizeScales(vgg, s, config, {
      iterations: 0,
      onIteration: (iteration, losses, scale) => {
        rows.push({
          method,
          scale: scale?.index ?? 0,
          width: scale?.width ?? s[0].contents[0].width,
          iteration,
          seconds: (performance.now() - t0) / 1000,
          total_loss: losses[0].total_loss,
        });
      },
    });
    const last = rows.at(-1)!;
    console.error(
      `${method}: ${last.seconds.toFixed(1)} s, final loss ${last.total_loss.toExponential(3)}`,
    );
  }

  const sides = scaleLongSides(size, { scales: nScales });
  await run("single scale", await steps([size], [iterations]));
  await run(
    `coarse to fine (${sides.join(", ")} px)`,
    await steps(sides, scaleIterations(sides.length, iterations, perScale)),
  );
  vgg.dispose();

  const single = rows.filter((r) => r.method === "single scale");
  const finalW = single[0].width;
  const c2f = rows.filter((r) => r.method !== "single scale" && r.width === finalW);
  const target = Math.min(...single.slice(1).map((r) => r.total_loss));
  const singleTime = single.at(-1)!.seconds;
  const reached = c2f.find((r) => r.iteration > 0 && r.total_loss <= target) ?? null;
  const summary = {
    single_scale_seconds: singleTime,
    single_scale_best_loss: target,
    coarse_to_fine_seconds_to_reach: reached?.seconds ?? null,
    fraction_of_single_scale_time: reached ? reached.seconds / singleTime : null,
    coarse_to_fine_final_loss: c2f.at(-1)!.total_loss,
    coarse_to_fine_seconds: c2f.at(-1)!.seconds,
  };
  console.log(JSON.stringify(summary, null, 2));
  const doc = {
    settings: {
      size,
      iterations,
      scales: sides,
      scale_iterations: perScale,
      profile: a.profile,
      preset: "medium",
    },
    machine: { backend: info.name, cpu: await cpuModel(), line: info.line },
    summary,
    rows,
  };
  await Deno.mkdir(a.out, { recursive: true });
  await Deno.writeTextFile(join(a.out, "coarse_to_fine.json"), JSON.stringify(doc, null, 1) + "\n");
  const svg = await renderSvg(
    {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title:
        `Full-size total loss vs wall time, Tübingen ${finalW} px, ${info.name} (${await cpuModel()})`,
      data: { values: [...single, ...c2f] },
      width: 480,
      height: 260,
      mark: { type: "line", strokeWidth: 1.5, point: { size: 8 } },
      encoding: {
        x: {
          field: "seconds",
          type: "quantitative",
          title: "wall seconds (coarse scales included)",
        },
        y: {
          field: "total_loss",
          type: "quantitative",
          title: "total loss at the final size (log)",
          scale: { type: "log" },
          axis: { format: ".1e" },
        },
        color: { field: "method", type: "nominal", legend: { orient: "top", title: null } },
        order: { field: "seconds", type: "quantitative" },
      },
      config: { font: "Helvetica, Arial, sans-serif", view: { stroke: "#ddd" } },
    } as Parameters<typeof renderSvg>[0],
  );
  await Deno.writeTextFile(join(a.out, "coarse_to_fine.svg"), svg);
}

if (import.meta.main) await runMain(main);
