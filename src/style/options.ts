/**
 * Named layer profiles and content:style presets of the stylization engine.
 *
 * `paper` is the research plan's configuration (content `block5_conv2`,
 * style `block1_conv1`..`block5_conv1`, ratios 1e9 / 1e8 / 1e7). `offline`
 * runs on weights that stop at block 3 (as `../shared/weights/vgg19-tfjs`
 * does): content `block3_conv4`, style `block1_conv1, block2_conv1,
 * block3_conv1`; its ratios were chosen by measurement (see README) because
 * the paper's were set for the deeper layers.
 *
 * The absolute weights are beta = 1 and alpha = ratio: with Adam the scale of
 * the objective only matters against epsilon, and this keeps the logged
 * total_loss = ratio * content_loss + style_loss easy to read.
 *
 * @example
 * ```ts
 * import { resolveWeights, PROFILES } from "./options.ts";
 * console.log(PROFILES.paper.contentLayer); // block5_conv2
 * console.log(resolveWeights(PROFILES.offline.presets.medium)); // { alpha: ..., beta: 1 }
 * ```
 * @module
 */
import { UserError } from "../util/errors.ts";
import { LBFGS_DEFAULTS, type LbfgsConfig } from "./lbfgs.ts";
import type { OptimizerName } from "./engine.ts";

/**
 * The three style strengths (content:style ratios) of `--preset` in stylize and of the study's
 * style groups; not the study's own `--preset` (`StudyPresetName`).
 *
 * @example
 * ```ts
 * import type { StylePresetName } from "./options.ts";
 * const p: StylePresetName = "heavy";
 * ```
 */
export type StylePresetName = "light" | "medium" | "heavy";
/**
 * All preset names, lightest first.
 *
 * @example
 * ```ts
 * import { STYLE_PRESET_NAMES } from "./options.ts";
 * console.log(STYLE_PRESET_NAMES[0]); // light
 * ```
 */
export const STYLE_PRESET_NAMES: readonly StylePresetName[] = ["light", "medium", "heavy"];

/**
 * A layer profile: which layers carry content and style, and the ratio of each preset.
 *
 * @example
 * ```ts
 * import type { LayerProfile } from "./options.ts";
 * declare const p: LayerProfile;
 * console.log(p.presets.medium);
 * ```
 */
export interface LayerProfile {
  /** The content loss's layer. */
  contentLayer: string;
  /** The style loss's layers. */
  styleLayers: string[];
  /** The content:style weight ratio of each preset. */
  presets: Record<StylePresetName, number>;
  /** One line for `--help`. */
  description: string;
}

/**
 * The built-in profiles.
 *
 * @example
 * ```ts
 * import { PROFILES } from "./options.ts";
 * console.log(PROFILES.offline.styleLayers.length); // 3
 * ```
 */
export const PROFILES: Record<"paper" | "offline", LayerProfile> = {
  paper: {
    contentLayer: "block5_conv2",
    styleLayers: ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"],
    presets: { light: 1e9, medium: 1e8, heavy: 1e7 },
    description: "the research plan's layers and ratios; needs the full VGG19 weights",
  },
  offline: {
    contentLayer: "block3_conv4",
    styleLayers: ["block1_conv1", "block2_conv1", "block3_conv1"],
    presets: { light: 1e4, medium: 1e3, heavy: 1e2 },
    description:
      "blocks 1-3 only (runs on ../shared/weights/vgg19-tfjs); ratios set by measurement",
  },
};

/**
 * A profile by name, or a UserError naming the flag.
 *
 * @example
 * ```ts
 * import { profileByName } from "./options.ts";
 * console.log(profileByName("offline").contentLayer); // block3_conv4
 * ```
 */
export function profileByName(name: string): LayerProfile {
  const p = (PROFILES as Record<string, LayerProfile>)[name];
  if (!p) {
    throw new UserError(
      `--profile: unknown profile '${name}' (known: ${Object.keys(PROFILES).join(", ")})`,
    );
  }
  return p;
}

/**
 * Absolute content and style weights for a content:style ratio.
 *
 * @example
 * ```ts
 * import { resolveWeights } from "./options.ts";
 * console.log(resolveWeights(1e3)); // { alpha: 1000, beta: 1 }
 * ```
 */
export function resolveWeights(ratio: number): { alpha: number; beta: number } {
  return { alpha: ratio, beta: 1 };
}

/**
 * The research plan's Adam settings (the TensorFlow eager-execution style-transfer tutorial).
 *
 * @example
 * ```ts
 * import { DEFAULT_ADAM } from "./options.ts";
 * console.log(DEFAULT_ADAM.learningRate); // 5
 * ```
 */
export const DEFAULT_ADAM = { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 } as const;

/**
 * The L-BFGS settings of `--optimizer lbfgs` (see src/style/lbfgs.ts for the
 * algorithm): history 10, projected backtracking Armijo with c1 = 1e-4, step
 * halving at most 10 times, initial step 1 (torch's min(1, 1/|g|_1) on a row's
 * first iteration), curvature pairs skipped when s·y <= 1e-8 |s| |y|.
 *
 * @example
 * ```ts
 * import { DEFAULT_LBFGS } from "./options.ts";
 * console.log(DEFAULT_LBFGS.history); // 10
 * ```
 */
export const DEFAULT_LBFGS: Readonly<LbfgsConfig> = LBFGS_DEFAULTS;

/**
 * Optimisers `--optimizer` accepts.
 *
 * @example
 * ```ts
 * import { OPTIMIZER_NAMES } from "./options.ts";
 * console.log(OPTIMIZER_NAMES.join(" | ")); // adam | lbfgs
 * ```
 */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ["adam", "lbfgs"];
