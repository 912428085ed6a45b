/**
 * nst-augment as a library: the few things a program composes.
 *
 * - Stylize: {@link stylizeBatch} optimises images towards a style with a VGG19
 *   ({@link Vgg19}) and a {@link GatysConfig}; {@link PROFILES},
 *   {@link resolveWeights} and {@link DEFAULT_ADAM} give the CLI's defaults.
 * - Load VGG19 weights: {@link loadVggWeights} (a tfjs directory or Keras's
 *   HDF5 file, `deno task weights`) for the layers {@link layersUpTo} names.
 * - Run the study: {@link resolveStudyConfig} then {@link runStudy}.
 * - Pick the backend ({@link initBackend}) and the kernel set of the seam
 *   ({@link selectKernelsByName}); images in and out with {@link loadImage} and
 *   {@link savePng}.
 *
 * The WGSL kernels as a plugin for any tfjs program are the `./kernels` export
 * (`registerNstKernels`), kept apart so that cpu and wasm programs never load them.
 *
 * @example
 * ```ts
 * import {
 *   DEFAULT_ADAM, initBackend, layersUpTo, loadImage, loadVggWeights, PROFILES,
 *   resolveWeights, savePng, stylizeBatch, Vgg19,
 * } from "./mod.ts";
 * await initBackend("auto");
 * const { contentLayer, styleLayers } = PROFILES.offline;
 * const specs = layersUpTo([contentLayer, ...styleLayers]);
 * const vgg = Vgg19.create(await loadVggWeights("../shared/weights/vgg19-tfjs", specs), specs);
 * const content = await loadImage("photo.jpg", { longSide: 256 });
 * const style = await loadImage("style.jpg", { longSide: 256 });
 * const config = { contentLayer, styleLayers, ...resolveWeights(1e3), adam: DEFAULT_ADAM };
 * const { images } = await stylizeBatch(vgg, [content], style, { ...config, init: "content", seed: 0 }, {
 *   iterations: 100,
 * });
 * await savePng("stylized.png", images[0]);
 * ```
 * @module
 */
export { type BackendChoice, type BackendInfo, type BackendName, initBackend } from "./src/tf.ts";
export type { AdamConfig, KernelSetName } from "./src/ops/kernel_set.ts";
export { selectKernelsByName } from "./src/gpu/select.ts";
export type { LbfgsConfig } from "./src/style/lbfgs.ts";
export { type CorruptionName, CORRUPTIONS } from "./src/images/corrupt.ts";
export { loadImage, type LoadOptions, type RgbImage, savePng } from "./src/images/io.ts";
export {
  type BatchResult,
  type BatchRunOptions,
  type LossRecord,
  type ScaleInfo,
  stylizeBatch,
} from "./src/style/run.ts";
export { type GatysConfig, type LossValues, type OptimizerName } from "./src/style/engine.ts";
export {
  DEFAULT_ADAM,
  type LayerProfile,
  profileByName,
  PROFILES,
  resolveWeights,
  type StylePresetName,
} from "./src/style/options.ts";
export { type ConvLayerSpec, layersUpTo, VGG19_CONV_LAYERS } from "./src/vgg/layers.ts";
export { type LayerWeights, loadVggWeights, type VggWeights } from "./src/vgg/weights.ts";
export { type Pooling, Vgg19 } from "./src/vgg/model.ts";
export { resolveStudyConfig, type StudyConfig, type StudyPresetName } from "./src/study/config.ts";
export {
  type ClassifierKind,
  type Endpoint,
  ENDPOINTS,
  STYLE_GROUPS,
  type StyleGroup,
} from "./src/report/schema.ts";
export type { Shard } from "./src/study/shard.ts";
export { runStudy, type StudyOutcome } from "./src/study/run.ts";
