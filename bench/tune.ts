/**
 * `deno task bench --tune`: fill the tuning cache (src/gpu/tuning.ts) for this
 * adapter. For every op and shape of the bench's cases every candidate of
 * src/gpu/auto.ts (stock tfjs, the custom texture route, the buffer route with
 * each conv tile configuration) is measured again, with the bench's warm-up,
 * runs and queued calls; the fastest is cached, and the table of choices is
 * printed: the custom set's default, stock, the choice and its ratio to the
 * faster of stock and default.
 *
 * @example
 * ```ts
 * import { initBackend } from "../src/tf.ts";
 * import { openAutoKernels } from "../src/gpu/auto.ts";
 * import { benchCases } from "./bench.ts";
 * import { runTune } from "./tune.ts";
 * await initBackend("webgpu");
 * const auto = await openAutoKernels();
 * const table = await runTune(auto, benchCases({ full: false, sizes: [64] }), {
 *   warmup: 1, runs: 3, repeat: 2, prune: 1.5,
 * });
 * console.log(table.length);
 * ```
 * @module
 */
import type { AutoKernels, TuneSettings } from "../src/gpu/auto.ts";
import { caseKey, type TuningEntry } from "../src/gpu/tuning.ts";
import { tf } from "../src/tf.ts";
import { UserError } from "../src/util/errors.ts";
import type { BenchCase } from "./bench.ts";

/** One row of the table of choices. */
export interface TuneChoice {
  key: string;
  /** The bench case names of the shape (one key can serve several layers). */
  cases: string[];
  entry: TuningEntry;
  /** ms of the choice / the faster of stock and the custom default (1 when it is one of them). */
  vsBest: number;
}

/** The op key of each case (null for the step, which is not one op). */
export function caseKeys(cases: readonly BenchCase[]): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const c of cases) {
    if (c.kernel === "step") continue;
    const inputs = c.make();
    try {
      const key = caseKey(c.kernel, inputs);
      if (key !== null) keys.set(key, [...keys.get(key) ?? [], c.shape]);
    } finally {
      tf.dispose(inputs);
    }
  }
  return keys;
}

function fmt(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? "-" : ms.toFixed(2);
}

/** Measure every case's shape again, save the cache, print and return the table of choices. */
export async function runTune(
  auto: AutoKernels,
  cases: readonly BenchCase[],
  settings: TuneSettings,
  log: (line: string) => void = console.log,
): Promise<TuneChoice[]> {
  const keys = caseKeys(cases);
  const t0 = performance.now();
  log(
    `tune: measuring ${keys.size} op shape(s), every candidate (prune at ${settings.prune}x ` +
      `the best probe), median of ${settings.runs} x ${settings.repeat} queued calls`,
  );
  const done = await auto.tune([...keys.keys()], { retune: true, settings });
  if (done === null) {
    throw new UserError(
      `--tune: another process is measuring on this adapter (${auto.cache.path}.lock); ` +
        "run again when it has finished",
    );
  }
  const rows: TuneChoice[] = done.map(([key, entry]) => {
    const best = Math.min(entry.ms.stock ?? Infinity, entry.ms[entry.default ?? ""] ?? Infinity);
    return { key, cases: keys.get(key)!, entry, vsBest: entry.ms[entry.choice] / best };
  });
  const header = ["op shape", "default", "default ms", "stock ms", "choice", "ms", "vs best"];
  const lines = [
    header,
    ...rows.map((r) => [
      r.key,
      r.entry.default ?? "-",
      fmt(r.entry.ms[r.entry.default ?? ""]),
      fmt(r.entry.ms.stock),
      r.entry.choice,
      fmt(r.entry.ms[r.entry.choice]),
      r.vsBest.toFixed(2),
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  log(lines.map((l) => l.map((c, i) => c.padEnd(widths[i])).join("  ")).join("\n"));
  log(
    `tune: ${rows.length} shape(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      `${auto.cache.size} choice(s) cached in ${auto.cache.path}`,
  );
  return rows;
}
