/**
 * `deno task bench`: the custom WGSL kernels against tfjs's own, per VGG19
 * layer shape, plus the end-to-end Gatys step per backend and kernel set.
 *
 * For each VGG19 conv layer at 64, 128 and 224 px (`--quick`, the default,
 * takes 64 px and six representative layers; `--full` takes everything) it
 * times conv3x3 + ReLU, its input gradient, the 2x2 max pools, and the Gram
 * and fused style loss of each style layer (the first conv of every block),
 * on custom WGSL, stock tfjs-webgpu, stock tfjs-wasm and stock tfjs-cpu.
 * Each case is warmed up (shader compilation, buffer pools) and its median
 * over several runs is reported; webgpu runs wait for the GPU to finish.
 * Weights and inputs are random: only shapes matter for speed.
 *
 * On webgpu three kernel sets are timed side by side, case by case: `custom`
 * (the WGSL kernels on the adapter's default route), `stock` and `auto` (what
 * `--kernels auto` runs: per shape, the candidate measured fastest on this
 * adapter, src/gpu/auto.ts). Shapes the tuning cache has not seen are
 * measured first, and the run says so; `--tune` measures every shape again
 * and prints the table of choices (bench/tune.ts). The JSON records the host
 * (CPU model, SIMD, cores) and the adapter's full info.
 *
 * A fourth webgpu column, `registered`, is the stock set (tfjs ops: `tf.fused.conv2d`,
 * `tf.maxPool`, `tf.matMul`, ...) with our kernels registered in tfjs's registry
 * (src/gpu/register.ts): what any tfjs program gets from the plugin. Against `custom` (the seam's
 * direct call, same shapes) it measures the registry's overhead; the run prints its median over
 * the conv3x3 cases.
 *
 * Flags: see {@link BENCH_FLAGS} (`--help`). Each timed sample queues `--repeat` (default 4)
 * calls and waits once, as a step does, so the fixed cost of a GPU round trip is shared;
 * `--repeat 1` times single calls.
 *
 * @example
 * ```ts
 * // deno task bench --json out/bench.json
 * import { benchCases } from "./bench.ts";
 * console.log(benchCases({ full: false, sizes: [64] }).length);
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BackendName, initBackend, tf } from "../src/tf.ts";
import { type KernelSet, STOCK_KERNELS, useKernels } from "../src/ops/active.ts";
import { selectKernels } from "../src/gpu/select.ts";
import { GpuContext } from "../src/gpu/device.ts";
import type { AutoKernels } from "../src/gpu/auto.ts";
import { registerNstKernels, unregisterNstKernels, withNstKernels } from "../src/gpu/register.ts";
import { median } from "../src/util/median.ts";
import { adapterReport } from "../src/gpu/tuning.ts";
import { hostInfo } from "../src/util/host.ts";
import { caseKeys, runTune, type TuneChoice } from "./tune.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { strictNumber } from "../src/util/cli.ts";
import { preflightWritable, userPathError, writeTextAtomic } from "../src/util/fs.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { layersUpTo, VGG19_CONV_LAYERS } from "../src/vgg/layers.ts";
import { Vgg19 } from "../src/vgg/model.ts";
import { loadVggWeights, type VggWeights } from "../src/vgg/weights.ts";
import { GatysOptimizer } from "../src/style/engine.ts";
import { PROFILES } from "../src/style/options.ts";
import { mulberry32 } from "../src/util/random.ts";

/**
 * Kernel names in the JSON output.
 *
 * @example
 * ```ts
 * import type { BenchKernel } from "./bench.ts";
 * const k: BenchKernel = "gram";
 * ```
 */
export type BenchKernel =
  | "conv3x3"
  | "conv3x3_grad_input"
  | "gram"
  | "maxpool"
  | "style_loss"
  | "step";

/**
 * One row of the results (the `--json` array holds these).
 *
 * @example
 * ```ts
 * import type { BenchRow } from "./bench.ts";
 * const r: BenchRow = { kernel: "conv3x3", shape: "1x64x64x3->64", backend: "webgpu", impl: "custom", ms: 50, gflops: 0.27 };
 * ```
 */
export interface BenchRow {
  kernel: BenchKernel;
  shape: string;
  backend: BackendName;
  /**
   * `auto`: the per-shape measured choice (`--kernels auto`); `registered`: stock tfjs ops with
   * our kernels in tfjs's registry (`registerNstKernels`).
   */
  impl: "custom" | "stock" | "auto" | "registered";
  ms: number;
  gflops: number;
}

/**
 * One timed operation: how to make its inputs and run it with a kernel set.
 *
 * @example
 * ```ts
 * import { benchCases } from "./bench.ts";
 * const [first] = benchCases({ full: false, sizes: [64] });
 * console.log(first.kernel, first.flops);
 * ```
 */
export interface BenchCase {
  kernel: BenchKernel;
  shape: string;
  /** Floating-point operations of one run (nominal: a Gram counts all N^2 outputs). */
  flops: number;
  make(): tf.Tensor[];
  run(set: KernelSet, inputs: tf.Tensor[]): tf.Tensor | tf.Tensor[];
}

const ALL_KERNELS: BenchKernel[] = [
  "conv3x3",
  "conv3x3_grad_input",
  "gram",
  "maxpool",
  "style_loss",
  "step",
];
const QUICK_LAYERS = [
  "block1_conv1",
  "block1_conv2",
  "block2_conv1",
  "block3_conv1",
  "block4_conv1",
  "block5_conv1",
];
const STYLE_LAYERS = [
  "block1_conv1",
  "block2_conv1",
  "block3_conv1",
  "block4_conv1",
  "block5_conv1",
];
/** The last conv of blocks 1-4, whose outputs VGG19 pools. */
const POOLED_LAYERS = ["block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4"];
/** The step's loss layers: the offline profile, which the shared weights (blocks 1-3) can run. */
const STEP_CONTENT = PROFILES.offline.contentLayer;
const STEP_STYLE = PROFILES.offline.styleLayers;

function randn(shape: number[], std = 1): tf.Tensor {
  return tf.randomNormal(shape, 0, std, "float32");
}

/** Spatial size of a layer's input for a square image of `size` px. */
function layerSide(name: string, size: number): number {
  let side = size;
  for (const l of VGG19_CONV_LAYERS) {
    if (l.poolBefore) side = Math.floor(side / 2);
    if (l.name === name) return side;
  }
  throw new Error(`unknown layer ${name}`);
}

function spec(name: string) {
  const s = VGG19_CONV_LAYERS.find((l) => l.name === name);
  if (!s) throw new Error(`unknown layer ${name}`);
  return s;
}

function flipped(kernel: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
}

/**
 * The kernel cases for the given sizes: every VGG19 layer with `full`, a
 * representative subset otherwise.
 *
 * @example
 * ```ts
 * import { benchCases } from "./bench.ts";
 * for (const c of benchCases({ full: false, sizes: [64] })) console.log(c.kernel, c.shape);
 * ```
 */
export function benchCases(opts: { full: boolean; sizes: number[] }): BenchCase[] {
  const cases: BenchCase[] = [];
  const layers = opts.full ? VGG19_CONV_LAYERS.map((l) => l.name) : QUICK_LAYERS;
  for (const size of opts.sizes) {
    for (const name of layers) {
      const { cIn, cOut } = spec(name);
      const side = layerSide(name, size);
      const flops = 2 * side * side * 9 * cIn * cOut;
      const shape = `${name}@${size}: 1x${side}x${side}x${cIn}->${cOut}`;
      const std = Math.sqrt(2 / (9 * cIn));
      cases.push({
        kernel: "conv3x3",
        shape,
        flops,
        make:
          () => [randn([1, side, side, cIn]), randn([3, 3, cIn, cOut], std), randn([cOut], 0.1)],
        run: (set, [x, k, b]) =>
          set.conv3x3Relu(x as tf.Tensor4D, k as tf.Tensor4D, b as tf.Tensor1D),
      });
      cases.push({
        kernel: "conv3x3_grad_input",
        shape,
        flops,
        make: () => {
          const k = randn([3, 3, cIn, cOut], std);
          return [randn([1, side, side, cOut]), randn([1, side, side, cOut]), k, flipped(k)];
        },
        run: (set, [dy, y, k, f]) =>
          set.conv3x3ReluGradInput(
            dy as tf.Tensor4D,
            y as tf.Tensor4D,
            k as tf.Tensor4D,
            f as tf.Tensor4D,
          ),
      });
    }
    const styleLayers = opts.full ? STYLE_LAYERS : STYLE_LAYERS.filter((l) => layers.includes(l));
    for (const name of styleLayers) {
      const n = spec(name).cOut;
      const side = layerSide(name, size);
      const m = side * side;
      const shape = `${name}@${size}: 1x${m}x${n}`;
      cases.push({
        kernel: "gram",
        shape,
        flops: 2 * m * n * n,
        make: () => [tf.relu(randn([1, m, n]))],
        run: (set, [f]) => set.gram(f as tf.Tensor3D),
      });
      cases.push({
        kernel: "style_loss",
        shape,
        flops: 4 * m * n * n + 3 * n * n,
        make: () => [tf.relu(randn([1, m, n])), tf.relu(randn([n, n]))],
        run: (set, [f, a]) => {
          const r = set.styleLoss(f as tf.Tensor3D, a as tf.Tensor2D);
          return [r.loss, r.grad];
        },
      });
    }
    const pooled = opts.full ? POOLED_LAYERS : POOLED_LAYERS.slice(0, 2);
    for (const name of pooled) {
      const c = spec(name).cOut;
      const side = layerSide(name, size);
      const outs = Math.floor(side / 2) ** 2 * c;
      cases.push({
        kernel: "maxpool",
        shape: `${name}@${size}: 1x${side}x${side}x${c}`,
        flops: 3 * outs,
        make: () => [randn([1, side, side, c])],
        run: (set, [x]) => set.maxPool2x2(x as tf.Tensor4D),
      });
    }
  }
  return cases;
}

/** Wait until everything queued on the active backend has finished. */
async function settle(backend: BackendName, outs: tf.Tensor[]): Promise<void> {
  if (backend === "webgpu") await GpuContext.sync().idle();
  // wasm and cpu kernels run synchronously; reading one value also forces any lazy copy.
  else if (outs.length > 0 && outs[0].size > 0) await tf.slice(outs[0].flatten(), 0, 1).data();
}

/**
 * Median ms per call of `c` on each of `sets`, sampled round-robin (one sample of each set in
 * turn, on the same inputs), so drift over the run (clock, other processes) affects them alike.
 */
async function timeCase(
  c: BenchCase,
  backend: BackendName,
  sets: readonly KernelSet[],
  warmup: number,
  runs: number,
  repeat: number,
): Promise<number[]> {
  const inputs = c.make();
  const times: number[][] = sets.map(() => []);
  try {
    for (let i = 0; i < warmup + runs; i++) {
      for (let s = 0; s < sets.length; s++) {
        // One untimed call first: the set's own state (caches, buffer pools), not the previous
        // set's, is what the sample then sees.
        const primer = c.run(sets[s], inputs);
        await settle(backend, Array.isArray(primer) ? primer : [primer]);
        tf.dispose(primer);
        await settle(backend, inputs);
        const t0 = performance.now();
        // `repeat` calls queued back to back and one wait at the end, as inside a step: the
        // fixed cost of a GPU round trip (about 13 ms on llvmpipe) is then shared, not per call.
        let outs: tf.Tensor[] = [];
        for (let r = 0; r < repeat; r++) {
          tf.dispose(outs);
          const out = c.run(sets[s], inputs);
          outs = Array.isArray(out) ? out : [out];
        }
        await settle(backend, outs);
        const dt = (performance.now() - t0) / repeat;
        tf.dispose(outs);
        if (i >= warmup) times[s].push(dt);
      }
    }
  } finally {
    tf.dispose(inputs);
  }
  return times.map(median);
}

function repoPath(rel: string): string {
  return join(fileURLToPath(new URL("..", import.meta.url)), rel);
}

/** Real VGG19 weights for the step when the shared folder has them, else He-initialised noise. */
async function stepWeights(): Promise<{ weights: VggWeights; real: boolean }> {
  const specs = layersUpTo([STEP_CONTENT, ...STEP_STYLE]);
  const shared = Deno.env.get("NST_SHARED") ?? repoPath("../shared");
  try {
    return { weights: await loadVggWeights(join(shared, "weights/vgg19-tfjs"), specs), real: true };
  } catch {
    const layers = new Map<string, { kernel: Float32Array; bias: Float32Array }>();
    for (const s of specs) {
      // Plain JS noise: no tfjs backend is initialised yet at this point.
      const std = Math.sqrt(2 / (9 * s.cIn));
      const rand = mulberry32(s.cOut * 1000 + s.cIn);
      const kernel = Float32Array.from(
        { length: 9 * s.cIn * s.cOut },
        () => (rand() * 2 - 1) * std * Math.sqrt(3),
      );
      layers.set(s.name, { kernel, bias: new Float32Array(s.cOut) });
    }
    return {
      weights: { source: "random", format: "tfjs", identity: "random", layers },
      real: false,
    };
  }
}

/** Nominal flops of one step: forward and input-gradient convs plus the style losses. */
function stepFlops(size: number): number {
  let flops = 0;
  for (const s of layersUpTo([STEP_CONTENT, ...STEP_STYLE])) {
    const side = layerSide(s.name, size);
    flops += 2 * 2 * side * side * 9 * s.cIn * s.cOut;
  }
  for (const name of STEP_STYLE) {
    const side = layerSide(name, size);
    const n = spec(name).cOut;
    flops += 4 * side * side * n * n;
  }
  return flops;
}

/**
 * Median ms per Gatys step at `size` with each of `sets`: one optimiser per set, their steps
 * taken in turn (each with its set active, an untimed step before each timed one), so drift
 * affects them alike. The first `warmup` rounds are untimed (`auto` measures the shapes it has
 * not seen after its first step).
 */
async function timeSteps(
  size: number,
  weights: VggWeights,
  sets: readonly KernelSet[],
  warmup: number,
  runs: number,
): Promise<number[]> {
  const specs = layersUpTo([STEP_CONTENT, ...STEP_STYLE]);
  const vgg = Vgg19.create(weights, specs);
  const content = tf.randomUniform([1, size, size, 3], 0, 255, "float32", 1) as tf.Tensor4D;
  const style = tf.randomUniform([1, size, size, 3], 0, 255, "float32", 2) as tf.Tensor4D;
  const opts: GatysOptimizer[] = [];
  const times: number[][] = sets.map(() => []);
  try {
    for (const set of sets) {
      useKernels(set); // the style targets are computed with the set, too
      opts.push(GatysOptimizer.create(vgg, content, style, {
        contentLayer: STEP_CONTENT,
        styleLayers: STEP_STYLE,
        alpha: 1e4,
        beta: 1,
        adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 },
        init: "content",
        seed: 0,
      }));
    }
    for (let i = 0; i < warmup + runs; i++) {
      for (let k = 0; k < sets.length; k++) {
        useKernels(sets[k]);
        // An untimed step first: measured after the previous set's step, the same step ran
        // about 8% slower on llvmpipe (caches, buffer pools), whichever set it was.
        await opts[k].step();
        const t0 = performance.now();
        await opts[k].step(); // reads the losses back, so the GPU has finished the step
        if (i >= warmup) times[k].push(performance.now() - t0);
      }
    }
  } finally {
    useKernels(STOCK_KERNELS);
    for (const o of opts) o.dispose();
    vgg.dispose();
    tf.dispose([content, style]);
  }
  return times.map(median);
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "-";
}

/** The terminal table: one row per (kernel, shape), one column pair per backend/impl. */
function table(rows: BenchRow[]): string {
  const cols = [...new Set(rows.map((r) => `${r.backend}/${r.impl}`))];
  const keys = [...new Set(rows.map((r) => `${r.kernel}|${r.shape}`))];
  const header = [
    "kernel",
    "shape",
    ...cols.map((c) => `${c} ms (GFLOP/s)`),
    "custom vs webgpu",
    "auto vs best",
    "registered vs custom",
  ];
  const lines = [header];
  for (const key of keys) {
    const [kernel, shape] = key.split("|");
    const of = (col: string) =>
      rows.find((r) => `${r.kernel}|${r.shape}` === key && `${r.backend}/${r.impl}` === col);
    const custom = of("webgpu/custom");
    const stock = of("webgpu/stock");
    const auto = of("webgpu/auto");
    const registered = of("webgpu/registered");
    lines.push([
      kernel,
      shape,
      ...cols.map((c) => {
        const r = of(c);
        return r ? `${fmt(r.ms)} (${fmt(r.gflops)})` : "";
      }),
      custom && stock ? `${fmt(stock.ms / custom.ms)}x` : "",
      auto && custom && stock ? `${fmt(auto.ms / Math.min(custom.ms, stock.ms))}` : "",
      registered && custom ? `${fmt(registered.ms / custom.ms)}` : "",
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((cell, i) => cell.padEnd(widths[i])).join("  ")).join("\n");
}

/**
 * `deno task bench`'s flags, one row each.
 *
 * @example
 * ```ts
 * import { BENCH_FLAGS } from "./bench.ts";
 * console.log(Object.keys(BENCH_FLAGS)); // quick, full, json, backends, ...
 * ```
 */
export const BENCH_FLAGS: FlagTable = {
  quick: { kind: "boolean", help: "the default set: 64 px, 5 runs" },
  full: { kind: "boolean", help: "64, 128 and 224 px, 7 runs, the step at every size" },
  json: { kind: "path", value: "FILE", help: "also write the raw rows as JSON" },
  backends: {
    kind: "list",
    choices: ["webgpu", "wasm", "cpu"],
    defaultText: "webgpu,wasm,cpu",
    help: "backends to time (those unavailable are skipped)",
  },
  sizes: {
    kind: "list",
    value: "64,128,..",
    defaultText: "64 (--full: 64,128,224)",
    help: "square sizes",
  },
  kernels: {
    kind: "list",
    choices: ALL_KERNELS,
    defaultText: "all",
    help: "kernels to time",
  },
  runs: { kind: "int", min: 1, defaultText: "5 (--full: 7)", help: "timed samples per case" },
  warmup: { kind: "int", min: 0, default: 2, help: "untimed samples first" },
  repeat: {
    kind: "int",
    min: 1,
    default: 4,
    help: "kernel calls queued per sample (one GPU wait)",
  },
  "no-step": { kind: "boolean", help: "skip the full Gatys step" },
  tune: {
    kind: "boolean",
    help: "measure every shape's candidates again for `--kernels auto` and print the choices",
  },
  help: { kind: "boolean", short: "h", help: "print this table" },
};

async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, BENCH_FLAGS) as {
    quick?: boolean;
    full?: boolean;
    json?: string;
    backends?: BackendName[];
    sizes?: string[];
    kernels?: BenchKernel[];
    runs?: number;
    warmup: number;
    repeat: number;
    "no-step"?: boolean;
    tune?: boolean;
    help?: boolean;
  };
  if (values.help) {
    console.log(flagHelp("deno task bench [options]", BENCH_FLAGS));
    return;
  }
  if (values.quick && values.full) throw new UserError("--quick and --full exclude each other");
  const full = values.full === true;
  const sizes =
    values.sizes?.map((s) => strictNumber("sizes", s, true, (n) => n >= 2, "integers >= 2")) ??
      (full ? [64, 128, 224] : [64]);
  const kernels = values.kernels ?? ALL_KERNELS;
  const backends = values.backends ?? ["webgpu", "wasm", "cpu"];
  const runs = values.runs ?? (full ? 7 : 5);
  const warmup = values.warmup;
  // Kernel calls per timed sample (one GPU wait each sample); 1 times single round trips.
  const repeat = values.repeat;
  const withStep = kernels.includes("step") && !values["no-step"];
  if (values.json) await preflightWritable(values.json, "--json");
  const cases = benchCases({ full, sizes }).filter((c) => kernels.includes(c.kernel));
  const stepSizes = full ? sizes : [Math.min(...sizes)];

  const rows: BenchRow[] = [];
  const weights = withStep ? await stepWeights() : null;
  const host = await hostInfo();
  console.log(
    `bench: ${full ? "full" : "quick"}, sizes ${sizes.join(",")} px, median of ${runs} after ` +
      `${warmup} warm-up${
        weights ? `, step weights: ${weights.real ? "VGG19 (shared)" : "random"}` : ""
      }\nhost: ${host.cpu_model} (${host.cpu_id}, ${host.simd}), ${host.cores} cores, ` +
      `${host.os}, deno ${host.deno}`,
  );
  const adapters: Record<string, unknown> = {};
  let tuning: { path: string; retuned: TuneChoice[]; choices: Record<string, unknown> } | null =
    null;
  for (const backend of backends) {
    let info;
    try {
      info = await initBackend(backend);
    } catch (e) {
      if (e instanceof UserError) {
        console.log(`skipping ${backend}: ${e.message}`);
        continue;
      }
      throw e;
    }
    console.log(info.line);
    const impls: Array<[BenchRow["impl"], KernelSet]> = [["stock", STOCK_KERNELS]];
    let auto: AutoKernels | null = null;
    if (backend === "webgpu") {
      const gpu = GpuContext.sync();
      adapters.webgpu = adapterReport(gpu);
      auto = await selectKernels("auto", backend) as AutoKernels;
      impls.unshift(["custom", await selectKernels("custom", backend)]);
      impls.push(["auto", auto]);
      // Compiled once, then registered only around each call of the `registered` set.
      await registerNstKernels();
      unregisterNstKernels();
      impls.push(["registered", REGISTERED_KERNELS]);
      const settings = { warmup, runs, repeat, prune: 1.5 };
      let retuned: TuneChoice[] = [];
      if (values.tune) retuned = await runTune(auto, cases, settings);
      else {
        const unseen = auto.cache.unseen([...caseKeys(cases).keys()]);
        if (unseen.length > 0) {
          console.log(
            `auto: ${unseen.length} shape(s) not in the tuning cache (${auto.cache.path}); ` +
              "measuring them first (--tune measures all again)",
          );
          if ((await auto.tune(unseen, { settings })) === null) {
            console.log(
              "auto: another process is measuring on this adapter; unseen shapes run the defaults",
            );
          }
        }
      }
      tuning = { path: auto.cache.path, retuned, choices: {} };
    }
    // Case by case, the kernel sets sampled in turn: drift over the run affects them alike.
    for (const c of cases) {
      // The cpu backend's grad input is a JS loop nest: at 224 px one run takes minutes.
      const times = await timeCase(
        c,
        backend,
        impls.map(([, set]) => set),
        backend === "cpu" ? 1 : warmup,
        backend === "cpu" ? Math.min(runs, 3) : runs,
        backend === "cpu" ? 1 : repeat,
      );
      impls.forEach(([impl], i) => {
        const ms = times[i];
        const row: BenchRow = {
          kernel: c.kernel,
          shape: c.shape,
          backend,
          impl,
          ms,
          gflops: c.flops / ms / 1e6,
        };
        rows.push(row);
        console.log(
          `  ${backend}/${impl} ${c.kernel} ${c.shape}: ${fmt(ms)} ms, ${fmt(row.gflops)} GFLOP/s`,
        );
      });
    }
    if (weights) {
      for (const size of stepSizes) {
        // auto measures the step's untuned shapes after its first step: never a timed one.
        const times = await timeSteps(
          size,
          weights.weights,
          impls.map(([, set]) => set),
          backend === "cpu" ? 1 : Math.max(auto ? 1 : 0, warmup),
          backend === "cpu" ? Math.min(runs, 3) : runs,
        );
        const shape = `gatys@${size}: ${STEP_CONTENT} + ${STEP_STYLE.join(",")}`;
        impls.forEach(([impl], k) => {
          const ms = times[k];
          rows.push({
            kernel: "step",
            shape,
            backend,
            impl,
            ms,
            gflops: stepFlops(size) / ms / 1e6,
          });
          console.log(`  ${backend}/${impl} step ${shape}: ${fmt(ms)} ms/iteration`);
        });
      }
    }
    if (auto && tuning) tuning.choices = Object.fromEntries(auto.cache.choices());
  }
  console.log("\n" + table(rows));
  const overhead = registeredOverhead(rows);
  if (overhead !== null) {
    console.log(
      `\nregistered (tf.fused.conv2d through tfjs's registry) vs custom (the seam's direct call), ` +
        `conv3x3: median ${fmt(overhead.median, 3)}, worst ${fmt(overhead.worst, 3)} ` +
        `over ${overhead.cases} shapes`,
    );
  }
  const autoRatios = autoVsBest(rows);
  if (autoRatios.length > 0) {
    const worst = autoRatios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    console.log(
      `\nauto vs the faster of custom and stock: worst ${fmt(worst.ratio)} (${worst.kernel} ` +
        `${worst.shape}), ${autoRatios.filter((r) => r.ratio <= 1.1).length} of ` +
        `${autoRatios.length} within 1.1x`,
    );
  }
  if (values.json) {
    const doc = {
      schema: "nst-augment-bench/2",
      date: new Date().toISOString(),
      host,
      adapters,
      settings: {
        full,
        sizes,
        runs,
        warmup,
        repeat,
        step_weights: weights?.real ? "vgg19" : "random",
      },
      tuning,
      rows,
    };
    await writeTextAtomic(values.json, JSON.stringify(doc, null, 2) + "\n").catch((e) => {
      throw userPathError(e, "--json", values.json!);
    });
    console.log(`\nwrote ${rows.length} rows to ${values.json}`);
  }
}

/**
 * The stock set with our kernels registered in tfjs's registry for each call (and only then, so
 * the `stock` column stays stock): what a tfjs program calling `tf.fused.conv2d`, `tf.maxPool`
 * or `tf.matMul` gets from the plugin.
 *
 * @example
 * ```ts
 * import { REGISTERED_KERNELS } from "./bench.ts";
 * console.log(REGISTERED_KERNELS.label); // "registered"
 * ```
 */
export const REGISTERED_KERNELS: KernelSet = {
  name: "stock",
  label: "registered",
  conv3x3Relu: (...a) => withNstKernels(() => STOCK_KERNELS.conv3x3Relu(...a)),
  conv3x3ReluGradInput: (...a) => withNstKernels(() => STOCK_KERNELS.conv3x3ReluGradInput(...a)),
  maxPool2x2: (...a) => withNstKernels(() => STOCK_KERNELS.maxPool2x2(...a)),
  gram: (...a) => withNstKernels(() => STOCK_KERNELS.gram(...a)),
  styleLoss: (...a) => withNstKernels(() => STOCK_KERNELS.styleLoss(...a)),
  adamUpdate: (...a) => withNstKernels(() => STOCK_KERNELS.adamUpdate(...a)),
};

/**
 * The `registered` row's ms over the `custom` row's for the webgpu conv3x3 cases: median, worst
 * and count, or null without such pairs.
 *
 * @example
 * ```ts
 * import { registeredOverhead } from "./bench.ts";
 * const r = (impl: "custom" | "registered", ms: number) =>
 *   ({ kernel: "conv3x3" as const, shape: "s", backend: "webgpu" as const, impl, ms, gflops: 0 });
 * console.log(registeredOverhead([r("custom", 2), r("registered", 2.04)])?.median); // 1.02
 * ```
 */
export function registeredOverhead(
  rows: readonly BenchRow[],
): { median: number; worst: number; cases: number } | null {
  const gpu = rows.filter((r) => r.backend === "webgpu" && r.kernel === "conv3x3");
  const ratios = gpu.filter((r) => r.impl === "registered").flatMap((r) => {
    const c = gpu.find((x) => x.impl === "custom" && x.shape === r.shape);
    return c ? [r.ms / c.ms] : [];
  });
  if (ratios.length === 0) return null;
  return { median: median(ratios), worst: Math.max(...ratios), cases: ratios.length };
}

/**
 * Per webgpu case that has all three rows: auto's ms over the faster of custom and stock.
 *
 * @example
 * ```ts
 * import { autoVsBest } from "./bench.ts";
 * const r = (impl: "custom" | "stock" | "auto", ms: number) =>
 *   ({ kernel: "gram" as const, shape: "s", backend: "webgpu" as const, impl, ms, gflops: 0 });
 * console.log(autoVsBest([r("custom", 2), r("stock", 4), r("auto", 2.1)])[0].ratio); // 1.05
 * ```
 */
export function autoVsBest(
  rows: readonly BenchRow[],
): Array<{ kernel: BenchKernel; shape: string; ratio: number }> {
  const out: Array<{ kernel: BenchKernel; shape: string; ratio: number }> = [];
  const gpuRows = rows.filter((r) => r.backend === "webgpu");
  for (const a of gpuRows.filter((r) => r.impl === "auto")) {
    const same = (impl: string) =>
      gpuRows.find((r) => r.impl === impl && r.kernel === a.kernel && r.shape === a.shape);
    const c = same("custom");
    const s = same("stock");
    if (c && s) out.push({ kernel: a.kernel, shape: a.shape, ratio: a.ms / Math.min(c.ms, s.ms) });
  }
  return out;
}

if (import.meta.main) await runMain(main);
