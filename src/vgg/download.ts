/**
 * `deno task weights`: fetch Keras's ImageNet VGG19 conv weights (the
 * "notop" HDF5 file, about 80 MB) into the user cache, verified against the
 * md5 Keras publishes for it (keras/applications/vgg19.py).
 *
 * @example
 * ```sh
 * deno task weights          # downloads once, then reports the cached path
 * ```
 * @module
 */
import { join } from "node:path";
import { cacheDir, exists } from "../util/fs.ts";
import { downloadVerified } from "../util/download.ts";
import { runMain, UserError } from "../util/errors.ts";

/** File name Keras uses for the notop weights. */
export const KERAS_VGG19_NOTOP = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5";
/** md5 published by Keras for {@link KERAS_VGG19_NOTOP}. */
export const KERAS_VGG19_NOTOP_MD5 = "253f8cb515780f3b799900260a226db6";
/** Keras's current download location, then the original release it mirrors. */
export const KERAS_VGG19_NOTOP_URLS = [
  `https://storage.googleapis.com/tensorflow/keras-applications/vgg19/${KERAS_VGG19_NOTOP}`,
  `https://github.com/fchollet/deep-learning-models/releases/download/v0.1/${KERAS_VGG19_NOTOP}`,
];

/** Where `deno task weights` puts the file. */
export function cachedWeightsPath(): string {
  return join(cacheDir(), "weights", KERAS_VGG19_NOTOP);
}

/** The default `--weights`: the cached Keras file, or a UserError saying how to get it. */
export async function defaultWeightsPath(): Promise<string> {
  const p = cachedWeightsPath();
  if (await exists(p)) return p;
  throw new UserError(
    `--weights: not given and ${p} is missing; run \`deno task weights\` (80 MB download) or pass --weights DIR|FILE`,
  );
}

/** Download the weights if needed and return their path. */
export async function fetchWeights(): Promise<string> {
  return await downloadVerified(KERAS_VGG19_NOTOP_URLS, cachedWeightsPath(), {
    md5: KERAS_VGG19_NOTOP_MD5,
  });
}

if (import.meta.main) {
  await runMain(async () => {
    const p = await fetchWeights();
    console.log(`VGG19 weights ready: ${p} (md5 ${KERAS_VGG19_NOTOP_MD5})`);
  });
}
