/**
 * `deno task study`: does style-transfer augmentation improve a small-data
 * classifier? Runs the whole protocol and writes results.json, results.csv,
 * report.md and report.html. `--help` prints the options table.
 *
 * @example
 * ```sh
 * deno task study --preset quick --data ../shared/data/caltech101 \
 *   --weights ../shared/weights/vgg19-tfjs --style ../shared/data/styles/composition_vii.jpg
 * deno task study --preset full --shard 3/8 --cache /shared/nst-cache   # one Slurm array task
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { cacheDir, exists } from "../util/fs.ts";
import { runMain, UserError } from "../util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../util/flags.ts";
import { assetPath, ASSETS } from "../util/assets.ts";
import { cachedWeightsPath } from "../vgg/download.ts";
import {
  DEFAULT_BANK,
  DEFAULT_TEST_STYLES,
  resolveStudyConfig,
  STUDY_FLAGS,
  STUDY_PRESETS,
  type StudyConfig,
} from "./config.ts";
import { parseShard } from "./shard.ts";
import { capWorkers } from "../util/host.ts";
import { installStudyStop } from "./stop.ts";
import { runStudy } from "./run.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { imageSize } from "../images/io.ts";
import { checkSizes, memoryLimit, smallestLongSide } from "../style/limits.ts";
import { type BackendChoice, resolveBackend } from "../tf.ts";

/**
 * The study's size limits, before any work: the `--stylize-size` square and the
 * style image at `--style-size` (its own aspect ratio) must keep every needed
 * layer at least 1x1 after the pools, and a `--batch` of squares must fit the
 * backend's memory (see `src/style/limits.ts`).
 *
 * @example
 * ```ts
 * import { checkStudySizes } from "./cli.ts";
 * import { resolveStudyConfig } from "./config.ts";
 * await checkStudySizes(resolveStudyConfig({ preset: "smoke" }, {
 *   data: "d", style: "../shared/data/styles/composition_vii.jpg", weights: "w", cache: "c",
 * }));
 * ```
 */
export async function checkStudySizes(config: StudyConfig): Promise<void> {
  const specs = layersUpTo([config.contentLayer, ...config.styleLayers]);
  const side = config.stylizeSize;
  const bytes = await Deno.readFile(config.style).catch((e) => {
    throw new UserError(`--style: cannot read ${config.style} (${e.message})`);
  });
  const resolved = await resolveBackend(config.backend as BackendChoice);
  // The check stylize makes too (src/style/limits.ts), with the study's flags and names.
  checkSizes(
    {
      contents: [{ name: "", size: { width: side, height: side } }],
      sizeFlag: "--stylize-size",
      describe: () => `a ${side}x${side} square`,
      suggestSize: false,
      styles: [{ path: config.style, dims: await imageSize(bytes, config.style) }],
      styleLongSide: () => config.styleSize,
      styleFlag: "--style-size",
      describeStyle: (p, long) => `the style image ${p} at long side ${long}`,
      styleFix: (dims, min) => `use --style-size ${smallestLongSide(dims, min)} or more`,
      batch: config.stylizeBatch,
      overBatch: "refuse",
      overOne: "refuse",
    },
    specs,
    memoryLimit(resolved.name, specs, resolved.adapter?.limits),
  );
}

/**
 * Every flag of `deno task study`, one row each: the preset, the sampling
 * mode, the preset overrides ({@link STUDY_FLAGS}), classifier and shard. The
 * help shows each override's value in the quick preset.
 *
 * @example
 * ```ts
 * import { STUDY_CLI_FLAGS } from "./cli.ts";
 * console.log(STUDY_CLI_FLAGS.preset.choices); // full, cpu, quick, smoke
 * ```
 */
export const STUDY_CLI_FLAGS: FlagTable = {
  preset: {
    kind: "enum",
    choices: Object.keys(STUDY_PRESETS),
    noun: "preset",
    defaultText: "quick",
    help: "protocol size; flags below override it",
  },
  draws: {
    kind: "int",
    min: 1,
    defaultText: "quick: 3",
    help: "N seeded random training draws per class (may overlap)",
  },
  subsets: {
    kind: "int",
    min: 1,
    help: "N disjoint training subsets per class instead (the plan's; full: 3)",
  },
  ...Object.fromEntries(
    Object.entries(STUDY_FLAGS).map(([flag, f]) => {
      const q = (STUDY_PRESETS.quick as unknown as Record<string, unknown>)[f.key];
      const shown = q === undefined
        ? undefined
        : Array.isArray(q)
        ? q.join(",")
        : typeof q === "object"
        ? JSON.stringify(q)
        : String(q);
      const { key: _key, ...spec } = f;
      return [flag, { ...spec, defaultText: shown !== undefined ? `quick: ${shown}` : undefined }];
    }),
  ),
  classifier: {
    kind: "enum",
    choices: ["transfer", "cnn", "both"],
    noun: "classifier",
    defaultText: "the preset's",
    help: "classifiers to train",
  },
  shard: {
    kind: "string",
    value: "K/N",
    help: "stylize only part K of N into --cache, then stop (no training)",
  },
  help: { kind: "boolean", help: "print this table" },
};

/** The options table as text. */
export function studyHelp(): string {
  return flagHelp("deno task study [options]", STUDY_CLI_FLAGS);
}

/**
 * The default style list for `flag`: the named files beside `--style` when
 * all are there (e.g. a shared `data/styles/` folder), else in the cache's
 * `data/styles/` (`deno task data`), else a UserError saying how to get them.
 */
async function defaultStyles(
  names: readonly string[],
  style: string,
  flag: string,
): Promise<string[]> {
  for (const dir of [dirname(style), join(cacheDir(), "data", "styles")]) {
    const files = names.map((n) => join(dir, n));
    if ((await Promise.all(files.map(exists))).every(Boolean)) return files;
  }
  throw new UserError(
    `--${flag}: not given and ${names.join(", ")} are not beside --style nor in ${
      join(cacheDir(), "data", "styles")
    }; run \`deno task data\` or pass --${flag}`,
  );
}

async function defaultPath(path: string, flag: string, how: string): Promise<string> {
  if (await exists(path)) return path;
  throw new UserError(`--${flag}: not given and ${path} is missing; ${how}`);
}

/** Run `deno task study` with these arguments. */
export async function studyMain(args: string[]): Promise<void> {
  const values = parseFlagTable(args, STUDY_CLI_FLAGS);
  if (values.help) {
    console.log(studyHelp());
    return;
  }
  const overrides: Partial<Omit<StudyConfig, "preset">> & { preset?: string } = {
    preset: values.preset as string | undefined,
  };
  for (const [flag, f] of Object.entries(STUDY_FLAGS)) {
    if (values[flag] !== undefined) (overrides as Record<string, unknown>)[f.key] = values[flag];
  }
  if (values.draws !== undefined && values.subsets !== undefined) {
    throw new UserError("--draws and --subsets: give one of them, not both");
  }
  for (const mode of ["draws", "subsets"] as const) {
    if (values[mode] !== undefined) {
      overrides.sampling = mode;
      overrides.samples = values[mode] as number;
    }
  }
  const classifier = values.classifier as string | undefined;
  if (classifier !== undefined) {
    overrides.classifiers = classifier === "both"
      ? ["transfer", "cnn"]
      : [classifier as "transfer" | "cnn"];
  }
  const shard = typeof values.shard === "string" ? parseShard(values.shard) : null;
  const style = overrides.style ??
    await defaultPath(
      assetPath(ASSETS.compositionVii),
      "style",
      "run `deno task data` or pass --style FILE",
    );
  const config = resolveStudyConfig(overrides, {
    data: overrides.data ??
      await defaultPath(
        join(cacheDir(), "data", "caltech101"),
        "data",
        "run `deno task data` or pass --data DIR",
      ),
    style,
    styles: overrides.styles ?? [],
    testStyles: overrides.testStyles ?? [],
    weights: overrides.weights ??
      await defaultPath(
        cachedWeightsPath(),
        "weights",
        "run `deno task weights` or pass --weights DIR|FILE",
      ),
    cache: overrides.cache ?? join(cacheDir(), "stylized"),
  });
  // The default lists are looked for only when the run uses them.
  if (!overrides.styles && config.groups.includes("bank")) {
    config.styles = await defaultStyles(DEFAULT_BANK, style, "styles");
  }
  if (!overrides.testStyles && config.evalPool > 0) {
    config.testStyles = await defaultStyles(DEFAULT_TEST_STYLES, style, "test-styles");
  }
  config.workers = capWorkers(config.workers);
  await checkStudySizes(config);
  console.error(
    `study: preset ${config.preset}, ${
      config.classes.join("/")
    }, ${config.samples} ${config.sampling} x ${config.trainPerClass} per class, ${config.iterations} ${config.optimizer} steps at ${config.stylizeSize}px (style ${config.styleSize}px), classifiers ${
      config.classifiers.join("+")
    }, groups ${
      config.groups.join(",")
    }, eval pool ${config.evalPool}/class, primary endpoint ${config.primaryEndpoint}, ${config.workers} worker(s)`,
  );
  // The first SIGINT/SIGTERM stops at the next job boundary, a second exits at once (stop.ts).
  const removeStop = installStudyStop();
  let outcome;
  try {
    outcome = await runStudy(config, { shard });
  } finally {
    removeStop();
  }
  if (outcome.resultsPath) {
    console.error(
      `done: ${outcome.resultsPath}, ${outcome.csvPath}, ${outcome.reportPaths.join(", ")}`,
    );
  }
}

if (import.meta.main) await runMain(() => studyMain(Deno.args));
