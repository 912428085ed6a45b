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
import { join } from "node:path";
import { cacheDir, exists } from "../util/fs.ts";
import { runMain, UserError } from "../util/errors.ts";
import { optionsTable, parseFlags } from "../util/cli.ts";
import { assetPath, ASSETS } from "../util/assets.ts";
import { cachedWeightsPath } from "../vgg/download.ts";
import {
  parseFlagValue,
  resolveStudyConfig,
  STUDY_FLAGS,
  STUDY_PRESETS,
  type StudyConfig,
} from "./config.ts";
import { parseShard } from "./shard.ts";
import { runStudy } from "./run.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { imageSize, targetSize } from "../images/io.ts";
import { checkMinSide, smallestLongSide } from "../style/limits.ts";

/**
 * The study's size limits, before any work: the `--stylize-size` square and the
 * style image at `--style-size` (its own aspect ratio) must keep every needed
 * layer at least 1x1 after the pools.
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
  checkMinSide({ width: side, height: side }, specs, "--stylize-size", `a ${side}x${side} square`);
  const bytes = await Deno.readFile(config.style).catch((e) => {
    throw new UserError(`--style: cannot read ${config.style} (${e.message})`);
  });
  const dims = await imageSize(bytes, config.style);
  const min = 2 ** specs.filter((s) => s.poolBefore).length;
  checkMinSide(
    targetSize(dims, { longSide: config.styleSize }),
    specs,
    "--style-size",
    `the style image ${config.style} at long side ${config.styleSize}`,
    `use --style-size ${smallestLongSide(dims, min)} or more`,
  );
}

/** The options table as text. */
export function studyHelp(): string {
  const rows: Array<[string, string]> = [
    [
      "--preset full|cpu|quick|smoke",
      "protocol size (default quick); flags below override it",
    ],
    ["--draws N", "N seeded random training draws per class (may overlap) [quick: 3]"],
    ["--subsets N", "N disjoint training subsets per class instead (the plan's; full: 3)"],
    ...Object.entries(STUDY_FLAGS).map(([flag, f]) => {
      const q = STUDY_PRESETS.quick as unknown as Record<string, unknown>;
      const d = q[f.key] !== undefined
        ? ` [quick: ${
          Array.isArray(q[f.key])
            ? (q[f.key] as unknown[]).join(",")
            : typeof q[f.key] === "object"
            ? JSON.stringify(q[f.key])
            : q[f.key]
        }]`
        : "";
      return [`--${flag} X`, f.help + d] as [string, string];
    }),
    ["--classifier transfer|cnn|both", "classifiers to train"],
    ["--shard K/N", "stylize only part K of N into --cache, then stop (no training)"],
    ["--help", "print this table"],
  ];
  return optionsTable("deno task study [options]", rows);
}

async function defaultPath(path: string, flag: string, how: string): Promise<string> {
  if (await exists(path)) return path;
  throw new UserError(`--${flag}: not given and ${path} is missing; ${how}`);
}

/** Run `deno task study` with these arguments. */
export async function studyMain(args: string[]): Promise<void> {
  const options: Record<string, { type: "string" | "boolean" }> = {
    preset: { type: "string" },
    classifier: { type: "string" },
    shard: { type: "string" },
    draws: { type: "string" },
    subsets: { type: "string" },
    help: { type: "boolean" },
  };
  for (const k of Object.keys(STUDY_FLAGS)) options[k] = { type: "string" };
  const values = parseFlags(args, options);
  if (values.help) {
    console.log(studyHelp());
    return;
  }
  const presetName = values.preset as string | undefined;
  if (presetName !== undefined && !(presetName in STUDY_PRESETS)) {
    // Before the defaults of --data/--style/--weights, which a wrong preset would otherwise hide.
    throw new UserError(
      `--preset: unknown preset '${presetName}' (known: ${Object.keys(STUDY_PRESETS).join(", ")})`,
    );
  }
  const overrides: Partial<Omit<StudyConfig, "preset">> & { preset?: string } = {
    preset: presetName,
  };
  for (const [flag, f] of Object.entries(STUDY_FLAGS)) {
    const raw = values[flag];
    if (typeof raw === "string") {
      (overrides as Record<string, unknown>)[f.key] = parseFlagValue(flag, f.kind, raw);
    }
  }
  if (typeof values.draws === "string" && typeof values.subsets === "string") {
    throw new UserError("--draws and --subsets: give one of them, not both");
  }
  for (const mode of ["draws", "subsets"] as const) {
    const raw = values[mode];
    if (typeof raw === "string") {
      overrides.sampling = mode;
      overrides.samples = parseFlagValue(mode, "int", raw) as number;
    }
  }
  const classifier = values.classifier as string | undefined;
  if (classifier !== undefined) {
    if (!["transfer", "cnn", "both"].includes(classifier)) {
      throw new UserError(`--classifier: expected transfer, cnn or both, got '${classifier}'`);
    }
    overrides.classifiers = classifier === "both"
      ? ["transfer", "cnn"]
      : [classifier as "transfer" | "cnn"];
  }
  const shard = typeof values.shard === "string" ? parseShard(values.shard) : null;
  const config = resolveStudyConfig(overrides, {
    data: overrides.data ??
      await defaultPath(
        join(cacheDir(), "data", "caltech101"),
        "data",
        "run `deno task data` or pass --data DIR",
      ),
    style: overrides.style ??
      await defaultPath(
        assetPath(ASSETS.compositionVii),
        "style",
        "run `deno task data` or pass --style FILE",
      ),
    weights: overrides.weights ??
      await defaultPath(
        cachedWeightsPath(),
        "weights",
        "run `deno task weights` or pass --weights DIR|FILE",
      ),
    cache: overrides.cache ?? join(cacheDir(), "stylized"),
  });
  await checkStudySizes(config);
  console.error(
    `study: preset ${config.preset}, ${
      config.classes.join("/")
    }, ${config.samples} ${config.sampling} x ${config.trainPerClass} per class, ${config.iterations} ${config.optimizer} steps at ${config.stylizeSize}px (style ${config.styleSize}px), classifiers ${
      config.classifiers.join("+")
    }, ${config.workers} worker(s)`,
  );
  const outcome = await runStudy(config, { shard });
  if (outcome.resultsPath) {
    console.error(
      `done: ${outcome.resultsPath}, ${outcome.csvPath}, ${outcome.reportPaths.join(", ")}`,
    );
  }
}

if (import.meta.main) await runMain(() => studyMain(Deno.args));
