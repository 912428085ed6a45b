/**
 * Adam against L-BFGS on the pixels, measured as total loss against wall time
 * on the wasm backend: the numbers that decide which optimiser the study's
 * CPU preset uses.
 *
 * Setup (fixed, so runs are comparable): the `offline` profile (content
 * block3_conv4, style block1_conv1, block2_conv1, block3_conv1), ratio 1e3,
 * the first Caltech image of butterfly, crab and scorpion resized to exactly
 * 64x64 and optimised together as one batch of 3 (as the study batches), the
 * style image at long side 128, start from the content image. Runs: Adam
 * (DEFAULT_ADAM) for 100 steps, L-BFGS (DEFAULT_LBFGS) for 100 iterations
 * (about the same wall time: an iteration rarely backtracks), and Adam at
 * learning rate 10 for 100 steps. Before timing, each optimiser
 * runs a few untimed steps on the same batch (wasm kernel set-up, buffer
 * pools); the clock starts after the optimiser is created (style and content
 * targets are the same work for all).
 *
 * The time of iterate k is when its loss is known: for Adam the end of the
 * step that evaluated it; for L-BFGS the end of the line search that accepted
 * it (its loss comes from the accepting evaluation).
 *
 * Writes docs/optimizers.json (rows + machine and settings) and
 * docs/optimizers.svg (total loss, log scale, against seconds, one panel per
 * image, one line per optimiser), and prints a summary.
 *
 * Flags: --adam-steps N (100), --lbfgs-iterations N (100), --runs LIST
 * (default `adam5,lbfgs,adam10`; also `lbfgs-h3`, `lbfgs-h30`: other history
 * sizes), --out-dir DIR (docs).
 *
 * @example
 * ```ts
 * // deno run -A bench/optimizers.ts
 * import { summarize } from "./optimizers.ts";
 * console.log(summarize([]));
 * ```
 * @module
 */
import { runMain, UserError } from "../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { join } from "node:path";
import { initBackend, tf } from "../src/tf.ts";
import { loadImage, type RgbImage } from "../src/images/io.ts";
import { layersUpTo } from "../src/vgg/layers.ts";
import { Vgg19 } from "../src/vgg/model.ts";
import { loadVggWeights } from "../src/vgg/weights.ts";
import { type GatysConfig, GatysOptimizer } from "../src/style/engine.ts";
import { toBatchTensor } from "../src/style/run.ts";
import { DEFAULT_ADAM, DEFAULT_LBFGS, PROFILES, resolveWeights } from "../src/style/options.ts";
import { renderSvg } from "../src/report/charts.ts";
import { cpuModel } from "../src/util/host.ts";

/**
 * One measured iterate of one image.
 *
 * @example
 * ```ts
 * import type { OptimizerRow } from "./optimizers.ts";
 * const r: OptimizerRow = {
 *   optimizer: "adam", image: "crab", iteration: 0, evaluations: 1, seconds: 0.1,
 *   total_loss: 1, content_loss: 0, style_loss: 1,
 * };
 * ```
 */
export interface OptimizerRow {
  optimizer: string;
  image: string;
  iteration: number;
  evaluations: number;
  seconds: number;
  total_loss: number;
  content_loss: number;
  style_loss: number;
}

/**
 * Per optimiser and image: the end loss, the time to reach the reference
 * run's final loss (the first run: Adam lr 5 by default), and the loss at
 * the common time (the end of the shortest run).
 *
 * @example
 * ```ts
 * import { summarize } from "./optimizers.ts";
 * console.log(summarize([]).length); // 0
 * ```
 */
export function summarize(rows: readonly OptimizerRow[], reference = "adam"): Array<{
  optimizer: string;
  image: string;
  end_seconds: number;
  end_loss: number;
  reference_loss: number;
  seconds_to_reference: number | null;
  evaluations_to_reference: number | null;
  common_seconds: number;
  loss_at_common_seconds: number;
}> {
  const opts = [...new Set(rows.map((r) => r.optimizer))];
  const images = [...new Set(rows.map((r) => r.image))];
  const series = (o: string, im: string) =>
    rows.filter((r) => r.optimizer === o && r.image === im).sort((a, b) => a.seconds - b.seconds);
  const out = [];
  for (const im of images) {
    const ref = series(reference, im);
    if (ref.length === 0) continue;
    const refLoss = ref[ref.length - 1].total_loss;
    const common = Math.min(...opts.map((o) => series(o, im).at(-1)?.seconds ?? Infinity));
    for (const o of opts) {
      const s = series(o, im);
      if (s.length === 0) continue;
      const reach = s.find((r) => r.total_loss <= refLoss);
      const atCommon = s.filter((r) => r.seconds <= common).at(-1) ?? s[0];
      out.push({
        optimizer: o,
        image: im,
        end_seconds: s[s.length - 1].seconds,
        end_loss: s[s.length - 1].total_loss,
        reference_loss: refLoss,
        seconds_to_reference: reach ? reach.seconds : null,
        evaluations_to_reference: reach ? reach.evaluations : null,
        common_seconds: common,
        loss_at_common_seconds: atCommon.total_loss,
      });
    }
  }
  return out;
}

/** Run one optimiser on the batch; rows per iterate and image. */
async function runOne(
  vgg: Vgg19,
  content: tf.Tensor4D,
  style: tf.Tensor4D,
  config: GatysConfig,
  label: string,
  names: string[],
  iterations: number,
): Promise<OptimizerRow[]> {
  const opt = GatysOptimizer.create(vgg, content, style, config);
  const rows: OptimizerRow[] = [];
  const push = (
    it: number,
    secs: number,
    evals: number,
    losses: Awaited<ReturnType<typeof opt.step>>,
  ) =>
    losses.forEach((l, i) =>
      rows.push({
        optimizer: label,
        image: names[i],
        iteration: it,
        evaluations: evals,
        seconds: secs,
        ...l,
      })
    );
  try {
    const t0 = performance.now();
    const now = () => (performance.now() - t0) / 1000;
    if (config.optimizer === "lbfgs") {
      // evaluate() computes x_0's loss and gradient (reused by the first step).
      const l0 = await opt.evaluate();
      push(0, now(), opt.reportedEvaluations, l0);
      const times: number[] = [];
      const evals: number[] = [];
      for (let k = 0; k < iterations; k++) {
        const l = await opt.step(); // losses of x_k; computes x_{k+1}
        times.push(now());
        evals.push(opt.evaluations);
        if (k > 0) push(k, times[k - 1], evals[k - 1], l);
      }
      push(iterations, times[iterations - 1], evals[iterations - 1], await opt.evaluate());
    } else {
      for (let k = 0; k < iterations; k++) {
        const l = await opt.step(); // losses of x_k, then the update
        push(k, now(), opt.reportedEvaluations, l);
      }
      const l = await opt.evaluate();
      push(iterations, now(), opt.reportedEvaluations, l);
    }
  } finally {
    opt.dispose();
  }
  return rows;
}

/**
 * The JSON document with its `rows` one per line (readable diffs, small file).
 *
 * @example
 * ```ts
 * import { formatDoc } from "./optimizers.ts";
 * console.log(formatDoc({ machine: {}, rows: [{ a: 1 }] }));
 * ```
 */
export function formatDoc(doc: { rows: readonly unknown[] } & Record<string, unknown>): string {
  const { rows, ...head } = doc;
  const top = JSON.stringify(head, null, 1).replace(/\n}$/, "");
  return `${top},\n "rows": [\n${rows.map((r) => "  " + JSON.stringify(r)).join(",\n")}\n ]\n}\n`;
}

/** The flags. */
const FLAGS: FlagTable = {
  "adam-steps": { kind: "int", min: 1, default: 100, help: "Adam steps per run" },
  "lbfgs-iterations": { kind: "int", min: 1, default: 100, help: "L-BFGS iterations per run" },
  runs: {
    kind: "list",
    default: ["adam5", "lbfgs", "adam10"],
    help: "runs to measure (adamLR, lbfgs, lbfgs-hN)",
  },
  "out-dir": { kind: "path", default: "docs", help: "where to write the chart and summary" },
  "from-json": { kind: "path", help: "re-render an earlier run's JSON without measuring" },
  help: { kind: "boolean", help: "print this table" },
};

/** Entry point. */
async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, FLAGS) as {
    "adam-steps": number;
    "lbfgs-iterations": number;
    runs: string[];
    "out-dir": string;
    "from-json"?: string;
    help?: boolean;
  };
  if (values.help) {
    console.log(flagHelp("deno run -A bench/optimizers.ts [options]", FLAGS));
    return;
  }
  const outDir = values["out-dir"];
  if (values["from-json"]) {
    // Re-render the chart and summary of an earlier run, without measuring.
    const doc = JSON.parse(await Deno.readTextFile(values["from-json"]));
    await writeOutputs(outDir, doc);
    return;
  }
  const adamSteps = values["adam-steps"];
  const lbfgsIts = values["lbfgs-iterations"];
  const shared = Deno.env.get("NST_SHARED") ?? "../shared";
  const info = await initBackend("wasm");
  console.error(info.line);
  const profile = PROFILES.offline;
  const specs = layersUpTo([profile.contentLayer, ...profile.styleLayers]);
  const vgg = Vgg19.create(await loadVggWeights(join(shared, "weights/vgg19-tfjs"), specs), specs);
  const classes = ["butterfly", "crab", "scorpion"];
  const size = 64, styleSide = 128, ratio = 1e3;
  const contents: RgbImage[] = [];
  const paths: string[] = [];
  for (const c of classes) {
    const p = join(shared, "data/caltech101", c, "image_0001.jpg");
    paths.push(p);
    contents.push(await loadImage(p, { exact: { width: size, height: size } }));
  }
  const stylePath = join(shared, "data/styles/composition_vii.jpg");
  const styleImg = await loadImage(stylePath, { longSide: styleSide });
  const content = toBatchTensor(contents);
  const style = toBatchTensor([styleImg]);
  const base: GatysConfig = {
    contentLayer: profile.contentLayer,
    styleLayers: profile.styleLayers,
    ...resolveWeights(ratio),
    adam: { ...DEFAULT_ADAM },
    init: "content",
    seed: 0,
  };
  const known: Record<string, { label: string; config: GatysConfig; iterations: number }> = {
    adam5: { label: "adam (lr 5)", config: base, iterations: adamSteps },
    lbfgs: {
      label: "lbfgs",
      config: { ...base, optimizer: "lbfgs", lbfgs: { ...DEFAULT_LBFGS } },
      iterations: lbfgsIts,
    },
    adam10: {
      label: "adam (lr 10)",
      config: { ...base, adam: { ...DEFAULT_ADAM, learningRate: 10 } },
      iterations: adamSteps,
    },
  };
  for (const h of [3, 30]) {
    known[`lbfgs-h${h}`] = {
      label: `lbfgs (history ${h})`,
      config: { ...base, optimizer: "lbfgs", lbfgs: { ...DEFAULT_LBFGS, history: h } },
      iterations: lbfgsIts,
    };
  }
  const runs = values.runs.map((k) => {
    const r = known[k.trim()];
    if (!r) {
      throw new UserError(`--runs: unknown run '${k}' (known: ${Object.keys(known).join(", ")})`);
    }
    return r;
  });
  const rows: OptimizerRow[] = [];
  try {
    for (const r of runs) {
      // Warm-up, untimed: the same batch, a few steps.
      const w = GatysOptimizer.create(vgg, content, style, r.config);
      for (let i = 0; i < 3; i++) await w.step();
      w.dispose();
      const got = await runOne(vgg, content, style, r.config, r.label, classes, r.iterations);
      const last = got.slice(-classes.length);
      console.error(
        `${r.label}: ${r.iterations} iterations, ${last[0].evaluations} evaluations, ` +
          `${last[0].seconds.toFixed(1)} s, final total ${
            last.map((l) => l.total_loss.toExponential(3)).join(" / ")
          }`,
      );
      rows.push(...got);
    }
  } finally {
    tf.dispose([content, style]);
    vgg.dispose();
  }

  const loadavg = await Deno.readTextFile("/proc/loadavg").catch(() => "unknown");
  const doc = {
    description: "total loss against wall time, Adam vs L-BFGS on the pixels (bench/optimizers.ts)",
    machine: {
      cpu: await cpuModel(),
      logical_cpus: navigator.hardwareConcurrency,
      loadavg_at_end: loadavg.trim(),
      deno: Deno.version.deno,
      backend: info.name,
    },
    settings: {
      profile: "offline",
      content_layer: profile.contentLayer,
      style_layers: profile.styleLayers,
      ratio,
      ...resolveWeights(ratio),
      content_size: [size, size],
      style_long_side: styleSide,
      style_size: [styleImg.width, styleImg.height],
      batch: classes.length,
      images: paths.map((p) => p.slice(shared.length + 1)),
      init: "content",
      warmup_steps: 3,
      runs: runs.map((r) => ({
        label: r.label,
        iterations: r.iterations,
        optimizer: r.config.optimizer ?? "adam",
        ...(r.config.optimizer === "lbfgs" ? { lbfgs: r.config.lbfgs } : { adam: r.config.adam }),
      })),
    },
    summary: [] as ReturnType<typeof summarize>,
    rows,
  };
  await writeOutputs(outDir, doc);
}

/** What the JSON file holds. */
interface BenchDoc {
  machine: { cpu: string; backend: string };
  settings: { content_size: number[]; batch: number; runs: Array<{ label: string }> };
  summary: ReturnType<typeof summarize>;
  rows: OptimizerRow[];
  [key: string]: unknown;
}

/** Write optimizers.json (with a fresh summary) and optimizers.svg, and print the summary. */
async function writeOutputs(outDir: string, doc: BenchDoc): Promise<void> {
  const { rows } = doc;
  const reference = doc.settings.runs[0].label;
  const summary = summarize(rows, reference);
  doc.summary = summary;
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(join(outDir, "optimizers.json"), formatDoc(doc));
  const [w, h] = doc.settings.content_size;
  const svg = await renderSvg(
    {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title:
        `Total loss vs wall time, ${w}x${h} batch of ${doc.settings.batch}, ${doc.machine.backend} (${doc.machine.cpu})`,
      data: {
        values: rows.map((r) => ({
          optimizer: r.optimizer,
          image: r.image,
          iteration: r.iteration,
          seconds: Math.round(r.seconds * 1000) / 1000,
          total_loss: r.total_loss,
        })),
      },
      facet: { column: { field: "image", type: "nominal", title: null } },
      spec: {
        width: 260,
        height: 220,
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          x: { field: "seconds", type: "quantitative", title: "wall seconds (batch of 3)" },
          y: {
            field: "total_loss",
            type: "quantitative",
            title: "total loss (log)",
            scale: { type: "log" },
            axis: { format: ".1e" },
          },
          color: { field: "optimizer", type: "nominal" },
          order: { field: "iteration", type: "quantitative" },
        },
      },
      resolve: { scale: { y: "independent" } },
      config: { font: "Helvetica, Arial, sans-serif", view: { stroke: "#ddd" } },
    } as Parameters<typeof renderSvg>[0],
  );
  await Deno.writeTextFile(join(outDir, "optimizers.svg"), svg);

  console.log(
    `optimizer            image      end s   end loss  s (evals) to ${reference} end   loss at common s`,
  );
  for (const s of summary) {
    console.log(
      `${s.optimizer.padEnd(20)} ${s.image.padEnd(10)} ${s.end_seconds.toFixed(1).padStart(6)} ` +
        `${s.end_loss.toExponential(3).padStart(10)} ${
          (s.seconds_to_reference === null
            ? "never"
            : `${s.seconds_to_reference.toFixed(1)} (${s.evaluations_to_reference})`)
            .padStart(22)
        }   ${s.loss_at_common_seconds.toExponential(3)} @ ${s.common_seconds.toFixed(1)} s`,
    );
  }
}

if (import.meta.main) await runMain(main);
