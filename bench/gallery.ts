/**
 * The README's gallery: Tübingen in six settings of `deno task stylize`
 * (Composition VII single scale and coarse to fine, Starry Night, Starry
 * Night with the content's colours, a 50/50 blend, Composition VII with total
 * variation), one stylize process at a time, each timed and its `--log` read;
 * then one JPEG grid (2 rows x 3, a caption per picture, each picture enlarged
 * `--cell-scale` times) and a markdown speed table on stdout. Every run:
 * `--profile offline --backend wasm --optimizer lbfgs --workers 1`, `--size
 * 384`, 60 iterations (coarse to fine: `--scales 3 --scale-iterations
 * 36,15,9`, the same 60 in all), `--tv-weight 30` for the TV picture.
 *
 * ```sh
 * deno run -A bench/gallery.ts                    # run all six, then grid and table
 * deno run -A bench/gallery.ts --only c7,c7_scales  # run some, then grid and table of what exists
 * deno run -A bench/gallery.ts --only none        # no runs: grid and table from out/gallery/
 * deno run -A bench/gallery.ts --help             # every flag and its default
 * ```
 * @module
 */
import { join } from "node:path";
import sharp from "sharp";
import { writeImageGrid } from "./_grid.ts";
import { runMain } from "../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";

/** One picture of the gallery. */
interface Shot {
  name: string;
  caption: (o: Options) => string;
  /** Flags beyond the shared ones. */
  flags: (o: Options) => string[];
}

interface Options {
  content: string;
  styles: string;
  weights: string;
  out: string;
  grid: string;
  size: number;
  iterations: number;
  scaleIterations: string;
  tvWeight: number;
  /** Each picture enlarged (nearest neighbour) this many times in the grid. */
  cellScale: number;
  /** The shots to run (`none`: none); null: all. */
  only: string[] | null;
}

/** What one run left: its wall time and its log's summary. */
interface RunRecord {
  name: string;
  wall_s: number;
}

const SHOTS: Shot[] = [
  {
    name: "c7",
    caption: () => "Composition VII",
    flags: (o) => ["--style", join(o.styles, "composition_vii.jpg")],
  },
  {
    name: "c7_scales",
    caption: () => "Composition VII, 3 scales",
    flags: (o) => [
      "--style",
      join(o.styles, "composition_vii.jpg"),
      "--scales",
      "3",
      "--scale-iterations",
      o.scaleIterations,
    ],
  },
  {
    name: "starry",
    caption: () => "Starry Night",
    flags: (o) => ["--style", join(o.styles, "starry_night.jpg")],
  },
  {
    name: "starry_colors",
    caption: () => "Starry Night, original colours",
    flags: (o) => ["--style", join(o.styles, "starry_night.jpg"), "--original-colors"],
  },
  {
    name: "blend",
    caption: () => "50/50 blend",
    flags: (o) => [
      "--style",
      `${join(o.styles, "composition_vii.jpg")},${join(o.styles, "starry_night.jpg")}`,
      "--style-blend",
      "0.5,0.5",
    ],
  },
  {
    name: "c7_tv",
    caption: (o) => `Composition VII, TV ${o.tvWeight}`,
    flags: (
      o,
    ) => ["--style", join(o.styles, "composition_vii.jpg"), "--tv-weight", `${o.tvWeight}`],
  },
];

const SHARED = Deno.env.get("NST_SHARED") ?? "../shared";
/** The flags. */
const FLAGS: FlagTable = {
  content: {
    kind: "path",
    default: join(SHARED, "data/content/tubingen.jpg"),
    help: "content image",
  },
  styles: {
    kind: "path",
    default: join(SHARED, "data/styles"),
    help: "folder with composition_vii.jpg and starry_night.jpg",
  },
  weights: { kind: "path", default: join(SHARED, "weights/vgg19-tfjs"), help: "VGG19 weights" },
  out: { kind: "path", default: "out/gallery", help: "where the runs write images, logs, times" },
  grid: { kind: "path", default: "docs/gallery.jpg", help: "the grid JPEG to write" },
  size: { kind: "int", min: 1, default: 384, help: "long side of every run (px)" },
  iterations: { kind: "int", min: 1, default: 60, help: "iterations of every run" },
  "scale-iterations": {
    kind: "list",
    default: ["36", "15", "9"],
    help: "iterations per scale of the 3-scale run, coarsest first",
  },
  "tv-weight": { kind: "number", min: 0, default: 30, help: "--tv-weight of the TV picture" },
  "cell-scale": {
    kind: "int",
    min: 1,
    default: 1,
    help: "each picture enlarged (nearest neighbour) this many times in the grid",
  },
  only: {
    kind: "list",
    choices: [...SHOTS.map((s) => s.name), "none"],
    noun: "shot",
    defaultText: "all",
    help: "the shots to run (none: only the grid and table from --out)",
  },
  help: { kind: "boolean", help: "print this table" },
};

function parseOptions(args: string[]): Options & { help: boolean } {
  const v = parseFlagTable(args, FLAGS);
  return {
    content: v.content as string,
    styles: v.styles as string,
    weights: v.weights as string,
    out: v.out as string,
    grid: v.grid as string,
    size: v.size as number,
    iterations: v.iterations as number,
    scaleIterations: (v["scale-iterations"] as string[]).join(","),
    tvWeight: v["tv-weight"] as number,
    cellScale: v["cell-scale"] as number,
    only: (v.only as string[] | undefined) ?? null,
    help: v.help === true,
  };
}

/** Run one shot as its own `deno task stylize` process; returns its wall time. */
async function stylize(shot: Shot, o: Options): Promise<RunRecord> {
  const args = [
    "run",
    "-A",
    "--quiet",
    "src/style/cli.ts",
    "--content",
    o.content,
    "--out",
    join(o.out, `${shot.name}.png`),
    "--log",
    join(o.out, `${shot.name}.jsonl`),
    "--size",
    `${o.size}`,
    "--iterations",
    `${o.iterations}`,
    "--profile",
    "offline",
    "--backend",
    "wasm",
    "--optimizer",
    "lbfgs",
    "--weights",
    o.weights,
    "--workers",
    "1",
    ...shot.flags(o),
  ];
  console.error(`[gallery] deno ${args.join(" ")}`);
  const t0 = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  const wall_s = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${shot.name}: stylize exited with ${code}`);
  const rec = { name: shot.name, wall_s };
  await Deno.writeTextFile(join(o.out, `${shot.name}.time.json`), JSON.stringify(rec) + "\n");
  return rec;
}

/** A run's summary from its `--log`: steps and the last scale's best loss. */
interface LogSummary {
  iterations: number;
  /** The lowest total loss of the last scale: the written image's. */
  final_loss: number;
  optimizer: string;
}

async function readLog(path: string): Promise<LogSummary> {
  const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
  const header = lines[0].header ?? {};
  const recs = lines.filter((l) => typeof l.total_loss === "number");
  const lastScale = Math.max(...recs.map((r) => r.scale ?? 0));
  const last = recs.filter((r) => (r.scale ?? 0) === lastScale);
  const scales = new Set(recs.map((r) => r.scale ?? 0));
  // Iteration 0 of each scale is an evaluation before the first update.
  const iterations = [...scales].reduce(
    (n, s) => n + Math.max(...recs.filter((r) => (r.scale ?? 0) === s).map((r) => r.iteration)),
    0,
  );
  return {
    iterations,
    final_loss: Math.min(...last.map((r) => r.total_loss)),
    optimizer: header.optimizer,
  };
}

/** An image's size, from its header. */
async function imageSize(path: string): Promise<{ width: number; height: number }> {
  const { width, height } = await sharp(path).metadata();
  return { width: width!, height: height! };
}

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

/** The 2 x 3 grid of the shots present, a caption above each. */
async function composeGrid(shots: Shot[], o: Options): Promise<void> {
  const px = await imageSize(join(o.out, `${shots[0].name}.png`));
  const cell = { width: px.width * o.cellScale, height: px.height * o.cellScale };
  const rows = [shots.slice(0, 3), shots.slice(3)].filter((r) => r.length > 0);
  await writeImageGrid(
    rows.map((r) => r.map((s) => join(o.out, `${s.name}.png`))),
    rows.map((r) => r.map((s) => s.caption(o))),
    cell,
    o.grid,
    85,
  );
  const kb = (await Deno.stat(o.grid)).size / 1024;
  console.error(`[gallery] ${o.grid}: ${kb.toFixed(0)} KB`);
}

/** The README's speed table (markdown) of the shots present. */
async function speedTable(shots: Shot[], o: Options): Promise<string> {
  const out = [
    "| image | iterations | size | optimizer | backend | wall time | final loss |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const s of shots) {
    const log = await readLog(join(o.out, `${s.name}.jsonl`));
    const time = await exists(join(o.out, `${s.name}.time.json`))
      ? JSON.parse(await Deno.readTextFile(join(o.out, `${s.name}.time.json`))).wall_s
      : NaN;
    const { width, height } = await imageSize(join(o.out, `${s.name}.png`));
    const iters = s.name === "c7_scales"
      ? `${log.iterations} (${o.scaleIterations})`
      : `${log.iterations}`;
    out.push(
      `| ${s.caption(o)} | ${iters} | ${width}x${height} | ${log.optimizer} | wasm | ${
        time.toFixed(0)
      } s | ${log.final_loss.toExponential(3)} |`,
    );
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  if (o.help) {
    console.log(flagHelp("deno run -A bench/gallery.ts [options]", FLAGS));
    return;
  }
  await Deno.mkdir(o.out, { recursive: true });
  const wanted = o.only === null ? SHOTS : SHOTS.filter((s) => o.only!.includes(s.name));
  for (const s of wanted) {
    const r = await stylize(s, o);
    console.error(`[gallery] ${s.name}: ${r.wall_s.toFixed(1)} s`);
  }
  const present: Shot[] = [];
  for (const s of SHOTS) if (await exists(join(o.out, `${s.name}.jsonl`))) present.push(s);
  if (present.length === 0) return;
  await composeGrid(present, o);
  console.log(await speedTable(present, o));
}

if (import.meta.main) await runMain(main);
