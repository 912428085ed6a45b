/**
 * `deno task weights`: fetch Keras's ImageNet VGG19 conv weights (the
 * "notop" HDF5 file, about 80 MB) into the user cache, verified against the
 * md5 Keras publishes for it (keras/applications/vgg19.py).
 *
 * @example
 * ```sh
 * deno task weights          # downloads once, then reports the cached path
 * deno task weights --convert vgg19_notop.h5 vgg19-tfjs   # tfjs layers format, no Python
 * ```
 * @module
 */
import { join } from "node:path";
import { cacheDir, exists } from "../util/fs.ts";
import { downloadVerified } from "../util/download.ts";
import { runMain, UserError } from "../util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../util/flags.ts";
import { WEIGHTS_TABLE } from "./table.ts";
import { convertHdf5ToTfjs } from "./convert.ts";

const KERAS = WEIGHTS_TABLE.sources.find((s) => s.name === "keras-vgg19-notop")!;

/** File name Keras uses for the notop weights (from `weights/vgg19.json`). */
export const KERAS_VGG19_NOTOP: string = KERAS.file;
/** md5 published by Keras for {@link KERAS_VGG19_NOTOP} (from `weights/vgg19.json`). */
export const KERAS_VGG19_NOTOP_MD5: string = KERAS.md5;
/** Keras's current download location, then the original release it mirrors. */
export const KERAS_VGG19_NOTOP_URLS: string[] = KERAS.urls;

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

/**
 * `deno task weights`'s flags, one row each (`--convert` takes two positionals).
 *
 * @example
 * ```ts
 * import { WEIGHTS_FLAGS } from "./download.ts";
 * console.log(WEIGHTS_FLAGS.convert.kind); // boolean
 * ```
 */
export const WEIGHTS_FLAGS: FlagTable = {
  convert: {
    kind: "boolean",
    help: "FILE.h5 DIR: write the tfjs layers format (model.json + shards) into DIR",
  },
  help: { kind: "boolean", help: "print this table" },
};

/**
 * Run `deno task weights`: download (default), or `--convert FILE.h5 DIR`.
 *
 * @example
 * ```ts
 * import { weightsMain } from "./download.ts";
 * await weightsMain(["--convert", "vgg19_notop.h5", "out/vgg19-tfjs"]);
 * ```
 */
export async function weightsMain(args: string[]): Promise<void> {
  const positionals: string[] = [];
  const values = parseFlagTable(args, WEIGHTS_FLAGS, { positionals });
  if (values.help) {
    console.log(
      flagHelp("deno task weights [--convert FILE.h5 DIR]", WEIGHTS_FLAGS) +
        `\n\nWithout flags: download Keras's VGG19 notop HDF5 into ${cachedWeightsPath()}`,
    );
    return;
  }
  if (values.convert) {
    if (positionals.length !== 2) {
      throw new UserError("--convert: expected two arguments, FILE.h5 and DIR");
    }
    const [h5, dir] = positionals;
    if (!await exists(h5)) throw new UserError(`--convert: ${h5} does not exist`);
    const r = await convertHdf5ToTfjs(h5, dir);
    console.log(
      `wrote ${dir}: ${r.layers.length} layer(s) ${r.layers[0]}..${r.layers.at(-1)} (identity ${
        r.identity.slice(0, 12)
      })`,
    );
    return;
  }
  if (positionals.length > 0) {
    throw new UserError(`unexpected argument '${positionals[0]}' (see --help)`);
  }
  const p = await fetchWeights();
  console.log(`VGG19 weights ready: ${p} (md5 ${KERAS_VGG19_NOTOP_MD5})`);
}

if (import.meta.main) await runMain(() => weightsMain(Deno.args));
