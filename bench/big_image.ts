/**
 * A big image beyond the memory bound (issue 14, §6): run `deno task stylize`
 * as a user would, coarse to fine up to `--size` (2048 px by default, tiled
 * automatically where a scale is over the bound), and record its wall time,
 * peak resident memory (the process's VmHWM, polled) and the tile line; then
 * measure seams on the output.
 *
 * Seams: the tile grid moves every evaluation by multiples of the deepest
 * pool's stride `a`, so every pixel boundary at a multiple of `a` is at some
 * point a tile border and no other one ever is. For each boundary between
 * two columns (and rows) the mean absolute pixel step across it is taken;
 * the summary compares the mean step on border-capable boundaries with the
 * mean on the others, and the largest single boundary's step with the
 * median, for the output and, as a control, for the content resized to the
 * same size (which has no tiles).
 *
 * Writes `--json` (settings, machine, timings, memory, seam figures) and
 * `--preview` (the output at half size, JPEG) and `--crop` (a full-
 * resolution crop around a tile corner, JPEG), for looking at.
 *
 * @example
 * ```sh
 * deno run -A bench/big_image.ts --size 2048 --min-size 256 --scale-iterations 40,30,20,10,6,3,2
 * ```
 * @module
 */
import { join } from "node:path";
import sharp from "sharp";
import { decodeImage, loadImage, type RgbImage } from "../src/images/io.ts";
import { cpuModel } from "../src/util/host.ts";
import { writeTextAtomic } from "../src/util/fs.ts";
import { ExitError, runMain } from "../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { BENCH_BACKEND_FLAG } from "./_flags.ts";
import { sharedPath } from "../tests/_env.ts";

/** The flags. */
const FLAGS: FlagTable = {
  content: {
    kind: "path",
    default: sharedPath("data/content/tubingen.jpg"),
    help: "content image",
  },
  style: {
    kind: "path",
    default: sharedPath("data/styles/composition_vii.jpg"),
    help: "style image",
  },
  size: { kind: "int", min: 16, default: 2048, help: "final long side (px)" },
  "min-size": { kind: "int", min: 16, default: 256, help: "coarsest long side (px)" },
  "scale-iterations": {
    kind: "list",
    default: ["40", "30", "20", "10", "6", "3", "2"],
    help: "Adam steps per scale, coarsest first",
  },
  backend: BENCH_BACKEND_FLAG,
  tile: {
    kind: "int",
    min: 0,
    default: 0,
    help: "stylize --tile (0: the plan's automatic choice)",
  },
  align: {
    kind: "int",
    min: 1,
    default: 4,
    help: "the tile grid's step (the deepest pool's stride; 4 for the offline profile)",
  },
  json: { kind: "path", default: "docs/big_image.json", help: "where to write the summary" },
  preview: {
    kind: "path",
    default: "docs/big_image.jpg",
    help: "the output at half size (JPEG)",
  },
  crop: {
    kind: "path",
    default: "docs/big_image_crop.jpg",
    help: "a full-resolution crop around a tile corner (JPEG)",
  },
  help: { kind: "boolean", help: "print this table" },
};

/**
 * Mean absolute step across each boundary between neighbouring columns
 * (`axis` "x": entry p is between columns p-1 and p) or rows, over all
 * pixels and channels.
 */
export function boundarySteps(img: RgbImage, axis: "x" | "y"): Float64Array {
  const { width: w, height: h, data } = img;
  const n = axis === "x" ? w : h;
  const sums = new Float64Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = axis === "x" ? x : y;
      if (p === 0) continue;
      const i = (y * w + x) * 3, j = axis === "x" ? i - 3 : i - 3 * w;
      sums[p] += Math.abs(data[i] - data[j]) + Math.abs(data[i + 1] - data[j + 1]) +
        Math.abs(data[i + 2] - data[j + 2]);
    }
  }
  const per = (axis === "x" ? h : w) * 3;
  return sums.map((s) => s / per);
}

/** Seam figures of an image for a grid step `align` (see the module doc). */
export function seamFigures(img: RgbImage, align: number): {
  border_mean_step: number;
  inside_mean_step: number;
  border_over_inside: number;
  max_over_median: number;
} {
  const border: number[] = [], inside: number[] = [], all: number[] = [];
  for (const axis of ["x", "y"] as const) {
    const s = boundarySteps(img, axis);
    for (let p = 1; p < s.length; p++) {
      (p % align === 0 ? border : inside).push(s[p]);
      all.push(s[p]);
    }
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const sorted = [...all].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    border_mean_step: mean(border),
    inside_mean_step: mean(inside),
    border_over_inside: mean(border) / mean(inside),
    max_over_median: sorted.at(-1)! / median,
  };
}

/** Entry point. */
async function main(): Promise<void> {
  const a = parseFlagTable(Deno.args, FLAGS) as {
    content: string;
    style: string;
    size: number;
    "min-size": number;
    "scale-iterations": string[];
    backend: string;
    tile: number;
    align: number;
    json: string;
    preview: string;
    crop: string;
    help?: boolean;
  };
  if (a.help) {
    console.log(flagHelp("deno run -A bench/big_image.ts [options]", FLAGS));
    return;
  }
  const tmp = await Deno.makeTempDir({ prefix: "nst-big-" });
  try {
    const out = join(tmp, "out.png"), log = join(tmp, "log.jsonl");
    const args = [
      "run",
      "-A",
      "--quiet",
      "src/style/cli.ts",
      "--content",
      a.content,
      "--style",
      a.style,
      "--size",
      String(a.size),
      "--min-size",
      String(a["min-size"]),
      "--scale-iterations",
      a["scale-iterations"].join(","),
      "--profile",
      "offline",
      "--weights",
      sharedPath("weights/vgg19-tfjs"),
      "--backend",
      a.backend,
      "--log",
      log,
      "--out",
      out,
      ...(a.tile > 0 ? ["--tile", String(a.tile)] : []),
    ];
    console.error(`deno ${args.join(" ")}`);
    const t0 = performance.now();
    const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
      .spawn();
    let peakKb = 0;
    const poll = setInterval(async () => {
      try {
        const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
        const m = status.match(/VmHWM:\s+(\d+) kB/);
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch { /* the process has ended */ }
    }, 1000);
    const res = await child.output();
    clearInterval(poll);
    const seconds = (performance.now() - t0) / 1000;
    const stderr = new TextDecoder().decode(res.stderr);
    console.error(stderr.trim());
    if (res.code !== 0) throw new ExitError(1, `stylize exited ${res.code}`);
    const tileLines = stderr.split("\n").filter((l) => l.includes("tiles:"));

    const records = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l));
    const perScale: Record<string, { width: number; iterations: number; final_loss: number }> = {};
    for (const r of records) {
      if (r.header || r.total_loss === undefined) continue;
      const key = String(r.scale ?? 0);
      perScale[key] = { width: r.width, iterations: r.iteration, final_loss: r.total_loss };
    }
    const png = await Deno.readFile(out);
    const img = await decodeImage(png, out);
    const reference = await loadImage(a.content, { longSide: Math.max(img.width, img.height) });
    const summary = {
      settings: {
        content: a.content,
        style: a.style,
        size: a.size,
        min_size: a["min-size"],
        scale_iterations: a["scale-iterations"].map(Number),
        profile: "offline",
        preset: "medium",
        backend: a.backend,
      },
      machine: { cpu: await cpuModel(), deno: Deno.version.deno },
      output: { width: img.width, height: img.height },
      wall_seconds: seconds,
      peak_rss_mib: peakKb / 1024,
      tile_lines: tileLines,
      scales: perScale,
      seams: {
        align: a.align,
        output: seamFigures(img, a.align),
        content_control: seamFigures(reference, a.align),
      },
    };
    console.log(JSON.stringify({ ...summary, scales: undefined }, null, 1));
    await writeTextAtomic(a.json, JSON.stringify(summary, null, 1) + "\n");
    await sharp(png).resize(Math.round(img.width / 2)).jpeg({ quality: 85 }).toFile(a.preview);
    const side = Math.min(512, img.width, img.height);
    const left = Math.max(0, Math.min(img.width - side, Math.round(img.width / 2 - side / 2)));
    const top = Math.max(0, Math.min(img.height - side, Math.round(img.height / 2 - side / 2)));
    await sharp(png).extract({ left, top, width: side, height: side }).jpeg({ quality: 90 })
      .toFile(a.crop);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) await runMain(main);
