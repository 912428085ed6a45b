/**
 * Fill the tuning cache (src/gpu/tuning.ts) for this adapter: for every op
 * and shape of the bench's cases, time the stock and custom implementations
 * (warm-up, then the median of queued calls, as the bench does), keep the
 * faster, save, and print the table with an `auto` column (the time of the
 * choice) and its ratio to the faster of the two. Shapes already in the cache
 * are skipped unless `--retune`, and the run says how many it tuned.
 *
 * `deno run -A bench/tune.ts [--full] [--sizes 64,128] [--runs N] [--retune] [--json FILE]`;
 * `deno task bench --tune` is meant to call {@link runTune} once bench.ts parses the flag.
 *
 * @example
 * ```ts
 * import { runTune } from "./tune.ts";
 * const rows = await runTune({ full: false, sizes: [64], runs: 3, warmup: 1, repeat: 2 });
 * console.log(rows.filter((r) => r.impl === "auto").length);
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend, tf } from "../src/tf.ts";
import type { KernelSet } from "../src/kernel_set.ts";
import { selectKernels, STOCK_KERNELS } from "../src/ops.ts";
import { GpuContext } from "../src/gpu/device.ts";
import { CUSTOM_KERNEL_DESCRIPTORS } from "../src/gpu/kernels.ts";
import {
  adapterIdentity,
  caseKey,
  kernelSourceHash,
  pickFastest,
  TuningCache,
  tuningCachePath,
} from "../src/gpu/tuning.ts";
import { runMain } from "../src/util/errors.ts";
import { writeTextAtomic } from "../src/util/fs.ts";
import { type BenchCase, benchCases } from "./bench.ts";

/** Options of one tuning run. */
export interface TuneOptions {
  full: boolean;
  sizes: number[];
  runs: number;
  warmup: number;
  repeat: number;
  /** Measure shapes that already have a choice again. */
  retune?: boolean;
  log?: (line: string) => void;
}

/** One row of the tuning table (the bench's row shape, with `auto` as an impl). */
export interface TuneRow {
  kernel: string;
  shape: string;
  backend: "webgpu";
  impl: "stock" | "custom" | "auto";
  ms: number;
  gflops: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median ms of `repeat` queued calls of `c` with `set`, after `warmup` samples. */
async function timeOn(c: BenchCase, set: KernelSet, inputs: tf.Tensor[], o: TuneOptions) {
  const gpu = GpuContext.sync();
  const times: number[] = [];
  for (let i = 0; i < o.warmup + o.runs; i++) {
    await gpu.idle();
    const t0 = performance.now();
    let outs: tf.Tensor[] = [];
    for (let r = 0; r < o.repeat; r++) {
      tf.dispose(outs);
      const out = c.run(set, inputs);
      outs = Array.isArray(out) ? out : [out];
    }
    await gpu.idle();
    const dt = (performance.now() - t0) / o.repeat;
    tf.dispose(outs);
    if (i >= o.warmup) times.push(dt);
  }
  return median(times);
}

/** Tune every case on the webgpu backend, save the cache and return the table's rows. */
export async function runTune(o: TuneOptions): Promise<TuneRow[]> {
  const log = o.log ?? console.log;
  await initBackend("webgpu");
  const custom = await selectKernels("custom", "webgpu");
  const gpu = GpuContext.sync();
  const id = adapterIdentity(gpu);
  const hash = await kernelSourceHash(CUSTOM_KERNEL_DESCRIPTORS);
  const cache = await TuningCache.open(tuningCachePath(id, hash), id, hash);
  const cases = benchCases({ full: o.full, sizes: o.sizes });
  const rows: TuneRow[] = [];
  let tuned = 0;
  for (const c of cases) {
    const inputs = c.make();
    try {
      const key = caseKey(c.kernel, inputs);
      if (key === null) continue;
      let entry = cache.get(key);
      if (!entry || o.retune) {
        entry = await pickFastest([
          { name: "stock", time: () => timeOn(c, STOCK_KERNELS, inputs, o) },
          { name: "custom", time: () => timeOn(c, custom, inputs, o) },
        ]);
        cache.set(key, entry);
        tuned++;
      }
      for (const impl of ["stock", "custom"] as const) {
        const ms = entry.ms[impl];
        rows.push({ kernel: c.kernel, shape: c.shape, backend: "webgpu", impl, ms, gflops: 0 });
      }
      const ms = entry.ms[entry.choice];
      rows.push({
        kernel: c.kernel,
        shape: c.shape,
        backend: "webgpu",
        impl: "auto",
        ms,
        gflops: 0,
      });
      for (const r of rows.slice(-3)) r.gflops = c.flops / (r.ms * 1e6);
      const best = Math.min(entry.ms.stock, entry.ms.custom);
      log(
        `${c.kernel.padEnd(20)} ${c.shape.padEnd(44)} stock ${entry.ms.stock.toFixed(2)} ` +
          `custom ${entry.ms.custom.toFixed(2)} -> ${entry.choice} (auto/best ${
            (ms / best).toFixed(2)
          })`,
      );
    } finally {
      tf.dispose(inputs);
    }
  }
  await cache.save();
  log(
    `tuning: ${tuned} shape(s) measured, ${cases.length - tuned} from the cache; ` +
      `${cache.size} in ${cache.path} (${id.description})`,
  );
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      full: { type: "boolean" },
      sizes: { type: "string" },
      runs: { type: "string" },
      warmup: { type: "string" },
      repeat: { type: "string" },
      retune: { type: "boolean" },
      json: { type: "string" },
    },
  });
  const full = values.full === true;
  const rows = await runTune({
    full,
    sizes: values.sizes ? values.sizes.split(",").map(Number) : full ? [64, 128, 224] : [64],
    runs: Number(values.runs ?? 5),
    warmup: Number(values.warmup ?? 2),
    repeat: Number(values.repeat ?? 4),
    retune: values.retune === true,
  });
  if (values.json) await writeTextAtomic(values.json, JSON.stringify(rows, null, 2) + "\n");
}

if (import.meta.main) await runMain(main);
