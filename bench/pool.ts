/**
 * Side-by-side timing of the stylization pool: the same jobs (default 8
 * Caltech images at 64x64, the offline profile, 20 Adam steps, one image per
 * job) through a {@link StylePool} of 1 worker and of N workers, and the
 * speed-up. Pool start-up (backend and VGG19 per worker) is timed apart from
 * the run. Prints the CPU model so that figures can be compared.
 *
 * @example
 * ```sh
 * deno run -A bench/pool.ts --workers 1,2 --jobs 8 --size 64 --iterations 20
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadImage, type RgbImage } from "../src/images/io.ts";
import { defaultWorkerCount, StylePool, type StyleTask } from "../src/style/pool.ts";
import { DEFAULT_ADAM, PROFILES, resolveWeights } from "../src/style/options.ts";

const shared = Deno.env.get("NST_SHARED") ?? "../shared";
const { values } = parseArgs({
  args: Deno.args,
  options: {
    workers: { type: "string", default: `1,${await defaultWorkerCount("wasm")}` },
    jobs: { type: "string", default: "8" },
    size: { type: "string", default: "64" },
    iterations: { type: "string", default: "20" },
    rounds: { type: "string", default: "1" },
    backend: { type: "string", default: "wasm" },
    weights: { type: "string", default: join(shared, "weights/vgg19-tfjs") },
  },
});
const counts = values.workers!.split(",").map(Number);
const nJobs = Number(values.jobs), size = Number(values.size);
const iterations = Number(values.iterations), rounds = Number(values.rounds);

const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => "")).match(
  /model name\s*:\s*(.*)/,
)?.[1] ?? "unknown CPU";
console.log(`cpu: ${cpu}, ${navigator.hardwareConcurrency} logical cores`);

const classes = ["butterfly", "crab", "scorpion"];
const contents: RgbImage[] = [];
for (let i = 0; contents.length < nJobs; i++) {
  const cls = classes[i % classes.length];
  const n = String(Math.floor(i / classes.length) + 1).padStart(4, "0");
  const p = join(shared, `data/caltech101/${cls}/image_${n}.jpg`);
  contents.push(await loadImage(p, { exact: { width: size, height: size } }));
}
const style = await loadImage(join(shared, "data/styles/composition_vii.jpg"), { longSide: size });
const { contentLayer, styleLayers, presets } = PROFILES.offline;
const settings = { ...resolveWeights(presets.medium), adam: { ...DEFAULT_ADAM } };
const tasks = (): StyleTask[] =>
  contents.map((c, i) => ({
    id: `job${i}`,
    contents: [c],
    settings,
    iterations,
    init: "content",
    seed: 0,
  }));

const rate: Record<number, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const workers of counts) {
    const t0 = performance.now();
    const pool = await StylePool.start({
      workers,
      backend: values.backend as "wasm",
      kernels: "auto",
      weights: values.weights!,
      contentLayer,
      styleLayers,
      style,
      log: () => {},
    });
    const t1 = performance.now();
    let done = 0;
    try {
      await pool.run(tasks(), () => {
        done++;
      });
    } finally {
      pool.close();
    }
    const secs = (performance.now() - t1) / 1000;
    const itPerS = (done * iterations) / secs;
    (rate[workers] ??= []).push(itPerS);
    console.log(
      `workers ${workers}: start ${((t1 - t0) / 1000).toFixed(2)} s, ${done} jobs in ${
        secs.toFixed(2)
      } s = ${itPerS.toFixed(2)} it/s`,
    );
  }
}
const best = (w: number) => Math.max(...rate[w]);
for (const w of counts.slice(1)) {
  console.log(
    `speed-up ${w} vs ${counts[0]} worker(s): ${(best(w) / best(counts[0])).toFixed(2)}x ` +
      `(best of ${rounds} round(s); ${cpu})`,
  );
}
