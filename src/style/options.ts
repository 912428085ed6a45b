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

/** The three style strengths of the study. */
export type PresetName = "light" | "medium" | "heavy";
/** All preset names, lightest first. */
export const PRESET_NAMES: readonly PresetName[] = ["light", "medium", "heavy"];

/** A layer profile: which layers carry content and style, and the ratio of each preset. */
export interface LayerProfile {
  contentLayer: string;
  styleLayers: string[];
  presets: Record<PresetName, number>;
  description: string;
}

/** The built-in profiles. */
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

/** A profile by name, or a UserError naming the flag. */
export function profileByName(name: string): LayerProfile {
  const p = (PROFILES as Record<string, LayerProfile>)[name];
  if (!p) {
    throw new UserError(
      `--profile: unknown profile '${name}' (known: ${Object.keys(PROFILES).join(", ")})`,
    );
  }
  return p;
}

/** Absolute content and style weights for a content:style ratio. */
export function resolveWeights(ratio: number): { alpha: number; beta: number } {
  return { alpha: ratio, beta: 1 };
}

/** The research plan's Adam settings (the TensorFlow eager-execution style-transfer tutorial). */
export const DEFAULT_ADAM = { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 } as const;
