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
import { join } from "node:path";
import { loadImage, type RgbImage } from "../src/images/io.ts";
import { defaultWorkerCount, StylePool, type StyleTask } from "../src/style/pool.ts";
import { DEFAULT_ADAM, PROFILES, resolveWeights } from "../src/style/options.ts";
import { runMain } from "../src/util/errors.ts";
import { cpuModel } from "../src/util/host.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { BENCH_BACKEND_FLAG } from "./_flags.ts";
import { strictNumber } from "../src/util/cli.ts";

const shared = Deno.env.get("NST_SHARED") ?? "../shared";
/** The flags. */
const FLAGS: FlagTable = {
  workers: {
    kind: "list",
    defaultText: "1,the default worker count",
    help: "worker counts to time, the first is the baseline (positive integers)",
  },
  jobs: { kind: "int", min: 1, default: 8, help: "jobs (one image each)" },
  size: { kind: "int", min: 1, default: 64, help: "square content side (px)" },
  iterations: { kind: "int", min: 1, default: 20, help: "Adam steps per job" },
  rounds: { kind: "int", min: 1, default: 1, help: "rounds (the best is reported)" },
  backend: { ...BENCH_BACKEND_FLAG, help: "tfjs backend of the workers" },
  weights: {
    kind: "path",
    default: join(shared, "weights/vgg19-tfjs"),
    defaultText: "$NST_SHARED/weights/vgg19-tfjs",
    help: "VGG19 weights",
  },
  help: { kind: "boolean", help: "print this table" },
};

/** Entry point. */
async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, FLAGS) as {
    workers?: string[];
    jobs: number;
    size: number;
    iterations: number;
    rounds: number;
    backend: "wasm" | "webgpu" | "cpu";
    weights: string;
    help?: boolean;
  };
  if (values.help) {
    console.log(flagHelp("deno run -A bench/pool.ts [options]", FLAGS));
    return;
  }
  const counts = (values.workers ?? ["1", String(await defaultWorkerCount(values.backend))]).map((
    w,
  ) => strictNumber("workers", w, true, (n) => n >= 1, "positive integers"));
  const nJobs = values.jobs, size = values.size;
  const iterations = values.iterations, rounds = values.rounds;

  const cpu = await cpuModel();
  console.log(`cpu: ${cpu}, ${navigator.hardwareConcurrency} logical cores`);

  const classes = ["butterfly", "crab", "scorpion"];
  const contents: RgbImage[] = [];
  for (let i = 0; contents.length < nJobs; i++) {
    const cls = classes[i % classes.length];
    const n = String(Math.floor(i / classes.length) + 1).padStart(4, "0");
    const p = join(shared, `data/caltech101/${cls}/image_${n}.jpg`);
    contents.push(await loadImage(p, { exact: { width: size, height: size } }));
  }
  const style = await loadImage(join(shared, "data/styles/composition_vii.jpg"), {
    longSide: size,
  });
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
        backend: values.backend,
        kernels: "auto",
        weights: values.weights,
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
}

if (import.meta.main) await runMain(main);
