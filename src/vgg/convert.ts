/**
 * Keras HDF5 to the TensorFlow.js layers format, without Python: the VGG19
 * conv layers a Keras file holds (a prefix of the table in
 * `weights/vgg19.json`), written as `model.json` (a Sequential topology and
 * the `weightsManifest`, one group per layer) plus float32 little-endian
 * shards of at most 4 MiB, as `tensorflowjs_converter` writes them. The
 * directory appears whole or not at all (built beside it, then renamed), and
 * is read back and compared with the source before it is kept.
 *
 * @example
 * ```ts
 * import { convertHdf5ToTfjs } from "./convert.ts";
 * const r = await convertHdf5ToTfjs("vgg19_notop.h5", "out/vgg19-tfjs");
 * console.log(r.layers.length, r.identity);
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";
import { randomUUID } from "node:crypto";
import { UserError } from "../util/errors.ts";
import { userPathError } from "../util/fs.ts";
import { VGG19_CONV_LAYERS } from "./layers.ts";
import { expectedLayer } from "./table.ts";
import { h5wasmQuiet, hasHdf5Signature, loadHdf5Weights, loadTfjsWeights } from "./weights.ts";

/**
 * tensorflowjs_converter's default shard size.
 *
 * @example
 * ```ts
 * import { SHARD_BYTES } from "./convert.ts";
 * console.log(SHARD_BYTES); // 4194304
 * ```
 */
export const SHARD_BYTES = 4 * 1024 * 1024;

/**
 * Convert the VGG19 layers of the Keras HDF5 file `h5Path` into a new tfjs
 * directory `outDir` (which must not exist, or be empty). Returns the layers
 * written and the weights identity (the same for both formats).
 *
 * @example
 * ```ts
 * import { convertHdf5ToTfjs } from "./convert.ts";
 * await convertHdf5ToTfjs("w.h5", "w-tfjs");
 * ```
 */
export async function convertHdf5ToTfjs(
  h5Path: string,
  outDir: string,
): Promise<{ layers: string[]; identity: string }> {
  const st = await Deno.stat(outDir).catch(() => null);
  if (st && !st.isDirectory) {
    throw new UserError(`--convert: ${outDir} exists and is not a directory`);
  }
  if (st) {
    for await (const _ of Deno.readDir(outDir)) {
      throw new UserError(`--convert: ${outDir} is not empty; give a new directory`);
    }
  }
  // The longest prefix of VGG19 the file holds.
  const h5wasm = await h5wasmQuiet();
  let present = 0;
  // Only a file with the signature is probed; loadHdf5Weights gives the error otherwise.
  if (await hasHdf5Signature(h5Path)) {
    try {
      const f = new h5wasm.File(h5Path, "r");
      try {
        const root = f.keys().includes("model_weights") ? "model_weights/" : "";
        while (
          present < VGG19_CONV_LAYERS.length && f.get(root + VGG19_CONV_LAYERS[present].name)
        ) {
          present++;
        }
      } finally {
        f.close();
      }
    } catch {
      // loadHdf5Weights below gives the clear error for an unreadable file.
    }
  }
  const specs = VGG19_CONV_LAYERS.slice(0, Math.max(1, present));
  const source = await loadHdf5Weights(h5Path, specs);

  const groups: Array<{ paths: string[]; weights: object[] }> = [];
  const shards: Array<[string, Uint8Array]> = [];
  specs.forEach((spec, i) => {
    const w = source.layers.get(spec.name)!;
    const t = expectedLayer(spec.name);
    const bytes = new Uint8Array(4 * (w.kernel.length + w.bias.length));
    const view = new DataView(bytes.buffer);
    let o = 0;
    for (const arr of [w.kernel, w.bias]) {
      for (const v of arr) {
        view.setFloat32(o, v, true);
        o += 4;
      }
    }
    const count = Math.max(1, Math.ceil(bytes.length / SHARD_BYTES));
    const paths: string[] = [];
    for (let s = 0; s < count; s++) {
      const name = `group${i + 1}-shard${s + 1}of${count}`;
      paths.push(name);
      shards.push([name, bytes.subarray(s * SHARD_BYTES, (s + 1) * SHARD_BYTES)]);
    }
    groups.push({
      paths,
      weights: [
        { name: `${spec.name}/kernel`, shape: t.kernel, dtype: "float32" },
        { name: `${spec.name}/bias`, shape: t.bias, dtype: "float32" },
      ],
    });
  });
  const layers = specs.map((spec, i) => ({
    class_name: "Conv2D",
    config: {
      name: spec.name,
      filters: spec.cOut,
      kernel_size: [3, 3],
      strides: [1, 1],
      padding: "same",
      activation: "relu",
      use_bias: true,
      dtype: "float32",
      ...(i === 0 ? { batch_input_shape: [null, null, null, 3] } : {}),
    },
  })).flatMap((l, i) =>
    i + 1 < specs.length && specs[i + 1].poolBefore
      ? [l, {
        class_name: "MaxPooling2D",
        config: {
          name: `block${specs[i].block}_pool`,
          pool_size: [2, 2],
          strides: [2, 2],
          padding: "valid",
        },
      }]
      : [l]
  );
  const model = {
    format: "layers-model",
    generatedBy: "nst-augment deno task weights --convert",
    convertedBy: `nst-augment from ${basename(h5Path)}`,
    modelTopology: {
      class_name: "Sequential",
      config: { name: "vgg19", layers },
      keras_version: "tfjs-layers 4.22.0",
      backend: "tensor_flow.js",
    },
    weightsManifest: groups,
  };

  const tmp = join(dirname(outDir), `.${basename(outDir)}.${randomUUID()}.tmp`);
  try {
    await Deno.mkdir(tmp, { recursive: true });
    for (const [name, data] of shards) await Deno.writeFile(join(tmp, name), data);
    await Deno.writeTextFile(join(tmp, "model.json"), JSON.stringify(model, null, 1) + "\n");
    const back = await loadTfjsWeights(tmp, specs);
    if (back.identity !== source.identity) {
      throw new Error("the converted weights read back differently from the source");
    }
    if (st) await Deno.remove(outDir);
    await Deno.rename(tmp, outDir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw userPathError(e, "--convert", outDir);
  }
  return { layers: specs.map((s) => s.name), identity: source.identity };
}
