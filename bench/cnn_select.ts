/**
 * Hyper-parameter selection and final evaluation of the study's from-scratch
 * CNN (`cnn` in src/study/classifier.ts), on the cpu preset's data: the
 * butterfly/crab/scorpion classes, 10 random training draws of 10 originals
 * per class (makeDraws, seed 0), images decoded once to 64x64 with Lanczos as
 * src/study/prepare.ts does.
 *
 * `--mode select` never looks at a test image. Per draw, each class's 10
 * training originals are shuffled (seeded by draw and class) and cut into
 * folds; fold f holds out originals 3f..3f+2 of every class as the
 * validation set and trains on the other 7 per class. A candidate's score is
 * its mean validation accuracy over every (draw, fold) pair. Prints a table
 * and writes (merging with candidates already there) docs/cnn_selection.json.
 *
 * `--mode eval` (after the selection is frozen) trains the named candidate on
 * each draw's 30 originals (`none`) and on them plus the study's static
 * augmentation copies (`none + aug`: augmentSet with staticTransforms(20240,
 * 4), 150 images) and scores it on the draw's real test set (every other image
 * of each class). Writes docs/cnn_eval.json.
 *
 * Flags: --mode select|eval, --candidates a,b (select; default all),
 * --candidate NAME (eval; default `chosen`), --draws N (select 5, eval 10),
 * --folds N (2, at most 3), --aug off,on (eval: without and/or with static
 * augmentation), --backend wasm|cpu|webgpu|auto (wasm), --data DIR,
 * --out FILE.
 *
 * @example
 * ```ts
 * // deno run -A bench/cnn_select.ts --mode select --candidates baseline,chosen
 * import { CANDIDATES } from "./cnn_select.ts";
 * console.log(Object.keys(CANDIDATES));
 * ```
 * @module
 */
import { runMain } from "../src/util/errors.ts";
import { cpuModel } from "../src/util/host.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { join } from "node:path";
import { BACKEND_CHOICES, type BackendChoice, initBackend, tf } from "../src/tf.ts";
import { decodeImage, type RgbImage } from "../src/images/io.ts";
import { type CnnConfig, predict, trainClassifier } from "../src/study/classifier.ts";
import { listClasses } from "../src/study/dataset.ts";
import { makeDraws } from "../src/study/split.ts";
import { augmentSet, staticTransforms } from "../src/study/augment.ts";
import { hash32, mulberry32, shuffled } from "../src/util/random.ts";

const CLASSES = ["butterfly", "crab", "scorpion"];
const SIZE = 64;
const SEED = 0;
/** The cpu preset's CNN seed (config.seed + 1, see buildJob in src/study/train.ts). */
const CNN_SEED = SEED + 1;

/**
 * Selection candidates: every knob but size and seed (set by the script) given explicitly, so a
 * later change of DEFAULT_CNN_CONFIG does not change what a recorded candidate was.
 */
export const CANDIDATES: Record<string, Partial<CnnConfig>> = {
  // The study's CNN before this change: 200 constant-rate Adam steps, no regularisation.
  baseline: {
    filters: [16, 32, 64],
    batchSize: 16,
    steps: 200,
    schedule: "constant",
    learningRate: 1e-3,
    l2: 1e-4,
    batchNorm: false,
    dropout: 0,
    labelSmoothing: 0,
    weightDecay: 0,
    inputNorm: "unit",
    warmupSteps: 0,
    minLearningRateFraction: 0,
  },
};
/** The regularised recipe every other candidate varies (no batch norm). */
const REG: Partial<CnnConfig> = {
  filters: [16, 32, 64],
  steps: 200,
  batchSize: 16,
  schedule: "cosine",
  warmupSteps: 10,
  minLearningRateFraction: 0,
  learningRate: 2e-3,
  inputNorm: "channel",
  dropout: 0.3,
  labelSmoothing: 0.1,
  weightDecay: 0.05,
  l2: 0,
  batchNorm: false,
};
Object.assign(
  CANDIDATES,
  {
    reg: REG,
    reg_lr5e3: { ...REG, learningRate: 5e-3 },
    reg_nodrop: { ...REG, dropout: 0, labelSmoothing: 0 },
    // Batch norm costs about twice the step time on wasm, so it gets a narrower net or half-batches.
    bn_narrow: { ...REG, batchNorm: true, filters: [8, 16, 32], learningRate: 3e-3 },
    bn_narrow_lr1e2: { ...REG, batchNorm: true, filters: [8, 16, 32], learningRate: 1e-2 },
    bn_b8: { ...REG, batchNorm: true, batchSize: 8, learningRate: 3e-3 },
  } satisfies Record<string, Partial<CnnConfig>>,
);
/** The frozen choice: the best mean validation accuracy (docs/cnn_selection.json). */
CANDIDATES.chosen = CANDIDATES.bn_b8;

interface Images {
  byClass: Record<string, string[]>;
  pixels: Map<string, RgbImage>;
}

async function loadImages(data: string): Promise<Images> {
  const byClass = await listClasses(data, CLASSES, {
    trainPerClass: 10,
    mode: "draws",
    count: 10,
  });
  const pixels = new Map<string, RgbImage>();
  for (const rel of Object.values(byClass).flat()) {
    const raw = await Deno.readFile(join(data, rel));
    pixels.set(rel, await decodeImage(raw, rel, { exact: { width: SIZE, height: SIZE } }));
  }
  return { byClass, pixels };
}

interface Split {
  train: Array<{ image: string; label: number }>;
  test: Array<{ image: string; label: number }>;
}

/** Mean and sample standard deviation. */
function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, sd: Math.sqrt(v) };
}

/**
 * CPU seconds this process has used (user + system, Linux /proc; NaN elsewhere): on a shared
 * machine the wall time of a run depends on the other load, its CPU time much less.
 */
function cpuSeconds(): number {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    // Fields 14 and 15 of stat (utime, stime) in clock ticks of 1/100 s.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Train on `split.train` (optionally with static augmentation), accuracy on `split.test`. */
async function runOne(
  imgs: Images,
  split: Split,
  config: Partial<CnnConfig>,
  aug: boolean,
): Promise<{ accuracy: number; seconds: number; cpuSeconds: number; trainImages: number }> {
  let set = {
    images: split.train.map((t) => imgs.pixels.get(t.image)!),
    labels: split.train.map((t) => t.label),
  };
  if (aug) set = augmentSet(set, staticTransforms(20240, 4));
  const before = tf.memory().numTensors;
  const t0 = performance.now(), c0 = cpuSeconds();
  const model = await trainClassifier("cnn", set, {
    numClasses: CLASSES.length,
    cnn: { ...config, size: SIZE, seed: CNN_SEED },
  });
  const pred = await predict(model, split.test.map((t) => imgs.pixels.get(t.image)!));
  model.dispose();
  const seconds = (performance.now() - t0) / 1000, cpu = cpuSeconds() - c0;
  if (tf.memory().numTensors !== before) throw new Error("tensors leaked");
  const correct = pred.filter((p, i) => p === split.test[i].label).length;
  return {
    accuracy: correct / split.test.length,
    seconds,
    cpuSeconds: cpu,
    trainImages: set.images.length,
  };
}

/** Validation folds of one draw's training originals (no test image involved). */
function folds(train: Record<string, string[]>, draw: number, count: number): Split[] {
  return Array.from({ length: count }, (_, f) => {
    const split: Split = { train: [], test: [] };
    CLASSES.forEach((cls, label) => {
      const order = shuffled(train[cls], mulberry32(hash32(`cnn-select:${draw}:${cls}`)));
      order.forEach((image, i) => {
        (i >= 3 * f && i < 3 * f + 3 ? split.test : split.train).push({ image, label });
      });
    });
    return split;
  });
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return {};
  }
}

/** The flags. */
const FLAGS: FlagTable = {
  mode: {
    kind: "enum",
    choices: ["select", "eval"],
    default: "select",
    noun: "mode",
    help: "select candidates or evaluate one",
  },
  candidates: {
    kind: "list",
    choices: Object.keys(CANDIDATES),
    noun: "candidate",
    defaultText: "all but chosen",
    help: "candidates to compare (select)",
  },
  candidate: {
    kind: "enum",
    choices: Object.keys(CANDIDATES),
    noun: "candidate",
    default: "chosen",
    help: "the candidate to evaluate (eval)",
  },
  draws: { kind: "int", min: 1, defaultText: "select 5, eval 10", help: "random draws" },
  folds: { kind: "int", min: 1, max: 3, default: 2, help: "folds per draw" },
  backend: {
    kind: "enum",
    choices: BACKEND_CHOICES,
    default: "wasm",
    noun: "backend",
    help: "tfjs backend",
  },
  data: {
    kind: "path",
    default: join(Deno.env.get("NST_SHARED") ?? "../shared", "data/caltech101"),
    defaultText: "$NST_SHARED/data/caltech101",
    help: "Caltech-101 folder",
  },
  aug: {
    kind: "list",
    choices: ["off", "on"],
    default: ["off", "on"],
    help: "eval: without and/or with static augmentation",
  },
  out: {
    kind: "path",
    defaultText: "docs/cnn_selection.json or docs/cnn_eval.json",
    help: "where to write the JSON",
  },
  help: { kind: "boolean", help: "print this table" },
};

/** Entry point. */
async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, FLAGS) as {
    mode: "select" | "eval";
    candidates?: string[];
    candidate: string;
    draws?: number;
    folds: number;
    backend: BackendChoice;
    data: string;
    aug: string[];
    out?: string;
    help?: boolean;
  };
  if (values.help) {
    console.log(flagHelp("deno run -A bench/cnn_select.ts [options]", FLAGS));
    return;
  }
  const mode = values.mode;
  const draws = values.draws ?? (mode === "select" ? 5 : 10);
  const nFolds = values.folds;
  const backend = await initBackend(values.backend);
  const imgs = await loadImages(values.data);
  const samples = makeDraws(imgs.byClass, { trainPerClass: 10, draws, seed: SEED });
  const machine = { cpu: await cpuModel(), backend: backend.name, deno: Deno.version.deno };
  console.log(`# ${machine.cpu}, backend ${backend.name}, ${draws} draws`);

  if (mode === "select") {
    const names = values.candidates ??
      Object.keys(CANDIDATES).filter((n) => n !== "chosen");
    const out = values.out ?? "docs/cnn_selection.json";
    for (const name of names) {
      const config = CANDIDATES[name];
      if (!config) throw new Error(`unknown candidate ${name}`);
      const accs: number[] = [], secs: number[] = [], cpus: number[] = [];
      for (const s of samples) {
        for (const split of folds(s.train, s.index, nFolds)) {
          const r = await runOne(imgs, split, config, false);
          accs.push(r.accuracy);
          secs.push(r.seconds);
          cpus.push(r.cpuSeconds);
        }
      }
      const acc = meanSd(accs), sec = meanSd(secs);
      console.log(
        `${name.padEnd(12)} val acc ${acc.mean.toFixed(3)} ± ${acc.sd.toFixed(3)} ` +
          `(${accs.length} folds)  ${sec.mean.toFixed(1)} s/run (21 images)`,
      );
      const doc = await readJson(out);
      const rows = (doc.candidates ?? {}) as Record<string, unknown>;
      rows[name] = {
        config,
        draws,
        folds: nFolds,
        validation_accuracy: acc,
        per_fold: accs,
        seconds_per_run: sec.mean,
        cpu_seconds_per_run: meanSd(cpus).mean,
      };
      await Deno.writeTextFile(
        out,
        JSON.stringify(
          {
            protocol: "per draw (makeDraws seed 0), originals 3f..3f+2 of each class " +
              "(seeded shuffle) held out as validation fold f; train on the other 7 per class",
            machine,
            candidates: rows,
          },
          null,
          2,
        ) + "\n",
      );
    }
    return;
  }

  const name = values.candidate;
  const config = CANDIDATES[name];
  if (!config) throw new Error(`unknown candidate ${name}`);
  const out = values.out ?? "docs/cnn_eval.json";
  const rows: Record<
    string,
    { accuracy: number[]; seconds: number[]; cpuSeconds: number[]; trainImages: number }
  > = {};
  for (const aug of values.aug.map((a) => a === "on")) {
    const key = aug ? "none + aug" : "none";
    rows[key] = { accuracy: [], seconds: [], cpuSeconds: [], trainImages: 0 };
    for (const s of samples) {
      const split: Split = {
        train: CLASSES.flatMap((c, label) => s.train[c].map((image) => ({ image, label }))),
        test: CLASSES.flatMap((c, label) => s.test[c].map((image) => ({ image, label }))),
      };
      const r = await runOne(imgs, split, config, aug);
      rows[key].accuracy.push(r.accuracy);
      rows[key].seconds.push(r.seconds);
      rows[key].cpuSeconds.push(r.cpuSeconds);
      rows[key].trainImages = r.trainImages;
      console.log(
        `  draw ${s.index} ${key}: ${r.accuracy.toFixed(3)} in ${r.seconds.toFixed(1)} s ` +
          `(${r.cpuSeconds.toFixed(1)} s CPU)`,
      );
    }
    const acc = meanSd(rows[key].accuracy), sec = meanSd(rows[key].seconds);
    const cpu = meanSd(rows[key].cpuSeconds);
    console.log(
      `${name} ${key.padEnd(10)} test acc ${acc.mean.toFixed(3)} ± ${acc.sd.toFixed(3)} ` +
        `over ${draws} draws, ${sec.mean.toFixed(1)} s/run wall, ${cpu.mean.toFixed(1)} s CPU ` +
        `(${rows[key].trainImages} images)`,
    );
  }
  await Deno.writeTextFile(
    out,
    JSON.stringify({ candidate: name, config, machine, draws, rows }, null, 2) + "\n",
  );
}

if (import.meta.main) await runMain(main);
