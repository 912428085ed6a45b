/**
 * The study's options table and presets. A preset fills every knob; any
 * flag given overrides it; the preset name and every resolved value are
 * recorded in results.json.
 *
 * - `full`: the research plan's protocol (paper layers and ratios, 1000
 *   iterations, 3 subsets of 10, both classifiers, 224 px); for a GPU server.
 * - `quick`: real data on a 2-core CPU in about 20 minutes: offline layer
 *   profile, small images, few iterations, transfer classifier.
 * - `smoke`: a couple of minutes on a 2-core CPU; used by tests and CI.
 *
 * @example
 * ```ts
 * import { resolveStudyConfig } from "./config.ts";
 * const c = resolveStudyConfig({ preset: "smoke" });
 * console.log(c.subsets, c.iterations);
 * ```
 * @module
 */
import { UserError } from "../util/errors.ts";
import { PROFILES } from "../style/options.ts";
import { DEFAULT_ADAM } from "../style/options.ts";
import type { ClassifierKind } from "./types.ts";

/** Every resolved knob of a study run. */
export interface StudyConfig {
  preset: PresetName;
  data: string;
  classes: string[];
  trainPerClass: number;
  subsets: number;
  seed: number;
  style: string;
  weights: string;
  profile: "paper" | "offline";
  contentLayer: string;
  styleLayers: string[];
  ratios: { light: number; medium: number; heavy: number };
  iterations: number;
  /** Side of the square the training images are stylized at. */
  stylizeSize: number;
  stylizeBatch: number;
  adam: { learningRate: number; beta1: number; beta2: number; epsilon: number };
  classifiers: ClassifierKind[];
  /** Side of the square classifier input. */
  imageSize: number;
  transferSteps: number;
  cnnSteps: number;
  augmentCount: number;
  augmentSeed: number;
  bootstrapIterations: number;
  backend: string;
  kernels: string;
  out: string;
  cache: string;
}

/** Preset names. */
export type PresetName = "full" | "quick" | "smoke";

type PresetValues = Omit<
  StudyConfig,
  "preset" | "data" | "style" | "weights" | "out" | "cache" | "backend" | "kernels"
>;

const BASE = {
  classes: ["butterfly", "crab", "scorpion"],
  trainPerClass: 10,
  subsets: 3,
  seed: 0,
  stylizeBatch: 4,
  adam: { ...DEFAULT_ADAM },
  augmentCount: 4,
  augmentSeed: 20240,
  bootstrapIterations: 10000,
};

/** The presets' values. */
export const STUDY_PRESETS: Record<PresetName, PresetValues> = {
  full: {
    ...BASE,
    profile: "paper",
    contentLayer: PROFILES.paper.contentLayer,
    styleLayers: PROFILES.paper.styleLayers,
    ratios: { ...PROFILES.paper.presets },
    iterations: 1000,
    stylizeSize: 224,
    stylizeBatch: 8,
    classifiers: ["transfer", "cnn"],
    imageSize: 224,
    transferSteps: 300,
    cnnSteps: 500,
  },
  quick: {
    ...BASE,
    profile: "offline",
    contentLayer: PROFILES.offline.contentLayer,
    styleLayers: PROFILES.offline.styleLayers,
    ratios: { ...PROFILES.offline.presets },
    iterations: 16,
    stylizeSize: 32,
    stylizeBatch: 8,
    classifiers: ["transfer"],
    imageSize: 64,
    transferSteps: 300,
    cnnSteps: 300,
  },
  smoke: {
    ...BASE,
    profile: "offline",
    contentLayer: PROFILES.offline.contentLayer,
    styleLayers: PROFILES.offline.styleLayers,
    ratios: { ...PROFILES.offline.presets },
    trainPerClass: 4,
    subsets: 2,
    iterations: 8,
    stylizeSize: 32,
    classifiers: ["transfer"],
    imageSize: 48,
    transferSteps: 200,
    cnnSteps: 100,
    augmentCount: 2,
    bootstrapIterations: 1000,
  },
};

/** Flags that override a preset value, with how to parse them. */
export const STUDY_FLAGS: Record<
  string,
  { key: keyof StudyConfig; kind: "int" | "number" | "string" | "list"; help: string }
> = {
  data: {
    key: "data",
    kind: "string",
    help: "Caltech-101 folder (101_ObjectCategories/<class>/ or <class>/)",
  },
  classes: { key: "classes", kind: "list", help: "classes, comma-separated" },
  "train-per-class": {
    key: "trainPerClass",
    kind: "int",
    help: "training originals per class and subset",
  },
  subsets: { key: "subsets", kind: "int", help: "disjoint training subsets per class" },
  seed: { key: "seed", kind: "int", help: "seed of the split and every other random choice" },
  style: { key: "style", kind: "string", help: "style image" },
  weights: { key: "weights", kind: "string", help: "VGG19 weights (tfjs dir or Keras .h5)" },
  profile: { key: "profile", kind: "string", help: "stylization layer profile: paper | offline" },
  "content-layer": { key: "contentLayer", kind: "string", help: "stylization content layer" },
  "style-layers": { key: "styleLayers", kind: "list", help: "stylization style layers" },
  iterations: { key: "iterations", kind: "int", help: "stylization Adam steps" },
  "stylize-size": {
    key: "stylizeSize",
    kind: "int",
    help: "side of the square images are stylized at",
  },
  batch: { key: "stylizeBatch", kind: "int", help: "images per stylization batch" },
  "image-size": { key: "imageSize", kind: "int", help: "side of the square classifier input" },
  "transfer-steps": { key: "transferSteps", kind: "int", help: "Adam steps of the transfer head" },
  "cnn-steps": { key: "cnnSteps", kind: "int", help: "Adam steps of the CNN" },
  "augment-count": {
    key: "augmentCount",
    kind: "int",
    help: "static augmentation copies per training image",
  },
  "augment-seed": {
    key: "augmentSeed",
    kind: "int",
    help: "seed of the static augmentation transforms",
  },
  bootstrap: {
    key: "bootstrapIterations",
    kind: "int",
    help: "bootstrap resamples per comparison",
  },
  backend: { key: "backend", kind: "string", help: "auto | webgpu | wasm | cpu" },
  kernels: { key: "kernels", kind: "string", help: "auto | custom | stock" },
  out: { key: "out", kind: "string", help: "output directory" },
  cache: {
    key: "cache",
    kind: "string",
    help: "stylized-image cache directory (shareable between machines)",
  },
};

/** Resolve a preset plus overrides (already parsed) into a full config. */
export function resolveStudyConfig(
  overrides: Partial<Omit<StudyConfig, "preset">> & { preset?: string },
  defaults: { data?: string; style?: string; weights?: string; cache?: string } = {},
): StudyConfig {
  const preset = (overrides.preset ?? "quick") as PresetName;
  if (!(preset in STUDY_PRESETS)) {
    throw new UserError(
      `--preset: unknown preset '${preset}' (known: ${Object.keys(STUDY_PRESETS).join(", ")})`,
    );
  }
  const p = STUDY_PRESETS[preset];
  const profileName = (overrides.profile ?? p.profile) as "paper" | "offline";
  const profile = PROFILES[profileName];
  if (!profile) {
    throw new UserError(`--profile: unknown profile '${profileName}' (known: paper, offline)`);
  }
  // Changing the profile changes its layers and ratios unless those are given too.
  const fromProfile = profileName === p.profile ? {} : {
    contentLayer: profile.contentLayer,
    styleLayers: profile.styleLayers,
    ratios: { ...profile.presets },
  };
  const config: StudyConfig = {
    ...p,
    ...fromProfile,
    data: defaults.data ?? "",
    style: defaults.style ?? "",
    weights: defaults.weights ?? "",
    cache: defaults.cache ?? "",
    backend: "auto",
    kernels: "auto",
    out: "out/study",
    ...stripUndefined(overrides),
    preset,
    profile: profileName,
  } as StudyConfig;
  for (
    const k of [
      "trainPerClass",
      "subsets",
      "iterations",
      "stylizeSize",
      "stylizeBatch",
      "imageSize",
      "transferSteps",
      "cnnSteps",
      "bootstrapIterations",
    ] as const
  ) {
    if (!(Number.isInteger(config[k]) && (config[k] as number) > (k === "iterations" ? -1 : 0))) {
      throw new UserError(`--${flagOf(k)}: expected a positive integer, got ${config[k]}`);
    }
  }
  if (!(Number.isInteger(config.augmentCount) && config.augmentCount >= 0)) {
    throw new UserError(`--augment-count: expected an integer >= 0, got ${config.augmentCount}`);
  }
  return config;
}

function flagOf(key: keyof StudyConfig): string {
  return Object.entries(STUDY_FLAGS).find(([, f]) => f.key === key)?.[0] ?? key;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Parse one flag's text by its kind, or a UserError naming it. */
export function parseFlagValue(
  flag: string,
  kind: "int" | "number" | "string" | "list",
  raw: string,
): unknown {
  if (kind === "string") return raw;
  if (kind === "list") {
    const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
    if (items.length === 0) {
      throw new UserError(`--${flag}: expected a comma-separated list, got '${raw}'`);
    }
    return items;
  }
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || (kind === "int" && !Number.isInteger(n))) {
    throw new UserError(
      `--${flag}: expected ${kind === "int" ? "an integer" : "a number"}, got '${raw}'`,
    );
  }
  return n;
}
