/**
 * VGG19 conv weights from either format Keras's ImageNet VGG19 ships in:
 *
 * - the TensorFlow.js layers format: a directory with `model.json` (whose
 *   `weightsManifest` lists groups of weights and their shard files) and the
 *   binary shards, float32 little-endian, in manifest order;
 * - Keras's HDF5 file `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`: one
 *   group per layer whose `weight_names` attribute lists kernel then bias.
 *
 * Only the layers a run needs are read. Every needed layer is checked for
 * presence and shape before any work starts; a missing one is an error that
 * names the layer and the missing file.
 *
 * @example
 * ```ts
 * import { loadVggWeights } from "./weights.ts";
 * import { layersUpTo } from "./layers.ts";
 * const w = await loadVggWeights("../shared/weights/vgg19-tfjs", layersUpTo(["block3_conv1"]));
 * console.log(w.layers.get("block1_conv1")!.kernel.length); // 3*3*3*64
 * ```
 * @module
 */
import { isAbsolute, join } from "node:path";
import { expectedLayer } from "./table.ts";
import { UserError } from "../util/errors.ts";
import type { ConvLayerSpec } from "./layers.ts";

/** One conv layer's parameters: kernel `[3, 3, cIn, cOut]` (HWIO) and bias `[cOut]`. */
export interface LayerWeights {
  /** `[3, 3, cIn, cOut]`, row-major. */
  kernel: Float32Array;
  /** `[cOut]`. */
  bias: Float32Array;
}

/** The loaded layers plus where they came from. */
export interface VggWeights {
  /** The file or directory given. */
  source: string;
  /** "tfjs" or "hdf5"; "random" for `randomVggWeights` (timing only). */
  format: "tfjs" | "hdf5" | "random";
  /** sha256 over the loaded layers' names and bytes: the identity used in cache keys. */
  identity: string;
  /** Kernel and bias of each loaded layer, by Keras name. */
  layers: Map<string, LayerWeights>;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

function checkShapes(
  layer: ConvLayerSpec,
  kernelShape: number[],
  biasShape: number[],
  where: string,
) {
  const want = expectedLayer(layer.name);
  if (kernelShape.join(",") !== want.kernel.join(",")) {
    throw new UserError(
      `weights ${where}: ${layer.name} kernel has shape [${kernelShape}], expected [${want.kernel}]`,
    );
  }
  if (biasShape.join(",") !== want.bias.join(",")) {
    throw new UserError(
      `weights ${where}: ${layer.name} bias has shape [${biasShape}], expected [${want.bias}]`,
    );
  }
}

/**
 * A UserError when `values` holds a NaN or an infinity, naming the layer, tensor and file.
 *
 * @example
 * ```ts
 * import { checkFinite } from "./weights.ts";
 * checkFinite(new Float32Array([1, 2]), "block1_conv1", "kernel", "group1-shard1of1");
 * ```
 */
export function checkFinite(values: Float32Array, layer: string, what: string, file: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new UserError(
        `weights ${file}: layer ${layer} ${what} has a non-finite value (${
          values[i]
        }) at index ${i}`,
      );
    }
  }
}

/** Bytes per element of the tfjs manifest dtypes. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 };

/**
 * Check a parsed model.json's `weightsManifest` as data: groups are objects
 * with `paths` (relative, inside the directory) and `weights` (name, integer
 * shape, known dtype). A UserError names the file and the group or weight.
 *
 * @example
 * ```ts
 * import { validateManifest } from "./weights.ts";
 * validateManifest({ weightsManifest: [] }, "model.json");
 * ```
 */
export function validateManifest(parsed: unknown, modelJson: string): ManifestGroup[] {
  const bad = (what: string): never => {
    throw new UserError(`weights ${modelJson}: ${what}`);
  };
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    bad("not a JSON object");
  }
  const manifest = (parsed as { weightsManifest?: unknown }).weightsManifest;
  if (!Array.isArray(manifest)) bad("no weightsManifest array");
  (manifest as unknown[]).forEach((g, i) => {
    const at = `weightsManifest[${i}]`;
    if (typeof g !== "object" || g === null || Array.isArray(g)) bad(`${at} is not an object`);
    const group = g as Record<string, unknown>;
    const names = Array.isArray(group.weights)
      ? ` (${
        (group.weights as unknown[]).map((w) => (w as { name?: unknown })?.name).filter((n) =>
          typeof n === "string"
        ).slice(0, 2).join(", ")
      })`
      : "";
    if (!Array.isArray(group.paths) || group.paths.length === 0) {
      bad(`${at}${names} has no 'paths' array of shard files`);
    }
    for (const p of group.paths as unknown[]) {
      if (typeof p !== "string" || p === "") bad(`${at}${names}: a shard path is not a string`);
      const parts = (p as string).split(/[\\/]/);
      if (isAbsolute(p as string) || parts.includes("..") || (p as string).includes("\0")) {
        bad(`${at}${names}: shard path '${p}' is outside the weights directory`);
      }
    }
    if (!Array.isArray(group.weights)) bad(`${at} has no 'weights' array`);
    (group.weights as unknown[]).forEach((w, j) => {
      const wat = `${at}.weights[${j}]`;
      if (typeof w !== "object" || w === null) bad(`${wat} is not an object`);
      const e = w as Record<string, unknown>;
      if (typeof e.name !== "string") bad(`${wat} has no name`);
      const name = e.name as string;
      if (
        !Array.isArray(e.shape) ||
        !e.shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
      ) {
        bad(`${name} (${wat}): shape ${JSON.stringify(e.shape)} is not an array of integers >= 0`);
      }
      if (typeof e.dtype !== "string" || !(e.dtype in DTYPE_BYTES)) {
        bad(`${name} (${wat}): unknown dtype ${JSON.stringify(e.dtype)}`);
      }
    });
  });
  return manifest as ManifestGroup[];
}

async function identityOf(layers: Map<string, LayerWeights>): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const [name, w] of layers) {
    parts.push(new TextEncoder().encode(name));
    parts.push(new Uint8Array(w.kernel.buffer, w.kernel.byteOffset, w.kernel.byteLength));
    parts.push(new Uint8Array(w.bias.buffer, w.bias.byteOffset, w.bias.byteLength));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Load the needed layers from a tfjs layers-format directory (or its model.json). */
export async function loadTfjsWeights(
  path: string,
  needed: readonly ConvLayerSpec[],
): Promise<VggWeights> {
  const modelJson = path.endsWith(".json") ? path : join(path, "model.json");
  const dir = modelJson.slice(0, modelJson.lastIndexOf("/") + 1) || "./";
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(modelJson));
  } catch (e) {
    throw new UserError(
      `weights ${modelJson}: cannot read a tfjs model.json (${(e as Error).message})`,
    );
  }
  const manifest = validateManifest(parsed, modelJson);
  const layers = new Map<string, LayerWeights>();
  const groupCache = new Map<ManifestGroup, ArrayBuffer>();
  for (const layer of needed) {
    const find = (suffix: string) => {
      for (const group of manifest) {
        const w = group.weights.find((w) => w.name === `${layer.name}/${suffix}`);
        if (w) return { group, w };
      }
      throw new UserError(
        `weights ${modelJson}: layer ${layer.name} has no '${suffix}' in weightsManifest`,
      );
    };
    const k = find("kernel");
    const b = find("bias");
    checkShapes(layer, k.w.shape, b.w.shape, modelJson);
    const read = async (group: ManifestGroup): Promise<ArrayBuffer> => {
      const cached = groupCache.get(group);
      if (cached) return cached;
      const chunks: Uint8Array[] = [];
      for (const p of group.paths) {
        const file = join(dir, p);
        try {
          chunks.push(await Deno.readFile(file));
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) {
            throw new UserError(`weights: layer ${layer.name} needs ${file}, which is missing`);
          }
          throw new UserError(
            `weights: cannot read ${file} for layer ${layer.name}: ${(e as Error).message}`,
          );
        }
      }
      const size = chunks.reduce((n, c) => n + c.length, 0);
      const expected = group.weights.reduce(
        (n, w) => n + DTYPE_BYTES[w.dtype] * w.shape.reduce((a, b) => a * b, 1),
        0,
      );
      if (size !== expected) {
        throw new UserError(
          `weights: shard files of layer ${layer.name} (${
            group.paths.map((p) => join(dir, p)).join(", ")
          }) hold ${size} bytes; the manifest's weights need exactly ${expected}`,
        );
      }
      const buf = new Uint8Array(size);
      let o = 0;
      for (const c of chunks) {
        buf.set(c, o);
        o += c.length;
      }
      groupCache.set(group, buf.buffer);
      return buf.buffer;
    };
    const slice = async (
      entry: { group: ManifestGroup; w: ManifestWeight },
    ): Promise<Float32Array> => {
      let offset = 0;
      for (const w of entry.group.weights) {
        if (w.dtype !== "float32" || w.quantization) {
          throw new UserError(
            `weights ${modelJson}: ${w.name} is ${w.dtype}${
              w.quantization ? " quantized" : ""
            }; only float32 is supported`,
          );
        }
        const n = w.shape.reduce((a, b) => a * b, 1);
        if (w === entry.w) {
          const buf = await read(entry.group);
          if (buf.byteLength < offset + 4 * n) {
            throw new UserError(
              `weights: shard files of ${entry.w.name} (${
                entry.group.paths.join(", ")
              }) hold ${buf.byteLength} bytes, expected at least ${offset + 4 * n}`,
            );
          }
          return new Float32Array(buf.slice(offset, offset + 4 * n));
        }
        offset += 4 * n;
      }
      throw new Error("unreachable");
    };
    const kernel = await slice(k), bias = await slice(b);
    const files = k.group.paths.map((p) => join(dir, p)).join(", ");
    checkFinite(kernel, layer.name, "kernel", files);
    checkFinite(bias, layer.name, "bias", b.group.paths.map((p) => join(dir, p)).join(", "));
    layers.set(layer.name, { kernel, bias });
  }
  return { source: path, format: "tfjs", identity: await identityOf(layers), layers };
}

/**
 * h5wasm, with HDF5's error stack thrown as a JS Error instead of printed (its default
 * prints dozens of HDF5-DIAG lines to the console from wasm before any message of ours).
 *
 * @example
 * ```ts
 * import { h5wasmQuiet } from "./weights.ts";
 * const h5wasm = await h5wasmQuiet();
 * console.log(typeof h5wasm.File); // function
 * ```
 */
export async function h5wasmQuiet() {
  const h5wasm = (await import("h5wasm/node")).default;
  const module = await h5wasm.ready;
  module.activate_throwing_error_handler();
  return h5wasm;
}

/**
 * The last (innermost) reason of an HDF5 error stack, in one line: a truncated file says
 * how many of its bytes are there.
 *
 * @example
 * ```ts
 * import { hdf5Reason } from "./weights.ts";
 * console.log(hdf5Reason("HDF5-DIAG: ...\n  #006: H5Fsuper.c line 1 in f(): truncated file: eof = 10, sblock->base_addr = 0, stored_eof = 20\n"));
 * // truncated: only 10 of its 20 bytes are there
 * ```
 */
export function hdf5Reason(message: string): string {
  const t = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(message);
  if (t) return `truncated: only ${t[1]} of its ${t[2]} bytes are there`;
  const reasons = [...message.matchAll(/#\d+: .* in \w+\(\): (.*)$/gm)].map((m) => m[1].trim());
  return reasons.at(-1) ?? message.split("\n")[0];
}

/** HDF5's superblock signature sits at byte 0, 512, 1024, 2048, ... of the file. */
export async function hasHdf5Signature(path: string): Promise<boolean> {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path);
  } catch (e) {
    throw new UserError(`weights: cannot open ${path} (${(e as Error).message})`);
  }
  try {
    const size = (await f.stat()).size;
    const buf = new Uint8Array(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      await f.seek(off, Deno.SeekMode.Start);
      if ((await f.read(buf)) === 8 && sig.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    f.close();
  }
}

/** Load the needed layers from a Keras HDF5 weights file. */
export async function loadHdf5Weights(
  path: string,
  needed: readonly ConvLayerSpec[],
): Promise<VggWeights> {
  const h5wasm = await h5wasmQuiet();
  if (!await hasHdf5Signature(path)) {
    throw new UserError(`weights ${path}: not an HDF5 file (no HDF5 signature)`);
  }
  let file;
  try {
    file = new h5wasm.File(path, "r");
  } catch (e) {
    throw new UserError(
      `weights ${path}: not a readable HDF5 file (${hdf5Reason((e as Error).message)})`,
    );
  }
  try {
    // Full-model saves nest the layers under "model_weights"; weight-only files do not.
    const root = file.keys().includes("model_weights") ? "model_weights/" : "";
    const layers = new Map<string, LayerWeights>();
    for (const layer of needed) {
      const group = file.get(root + layer.name);
      if (!group || !(group instanceof h5wasm.Group)) {
        throw new UserError(`weights ${path}: layer ${layer.name} is missing from the HDF5 file`);
      }
      const attr = group.attrs["weight_names"];
      let names: string[] = attr ? ([] as string[]).concat(attr.value as string | string[]) : [];
      if (names.length === 0) names = group.keys();
      const datasets = names.map((n) => file!.get(`${root}${layer.name}/${n}`))
        .filter((d) => d instanceof h5wasm.Dataset) as InstanceType<typeof h5wasm.Dataset>[];
      const kernel = datasets.find((d) => d.shape?.length === 4);
      const bias = datasets.find((d) => d.shape?.length === 1);
      if (!kernel || !bias) {
        throw new UserError(
          `weights ${path}: layer ${layer.name} lacks a 4-D kernel and a 1-D bias`,
        );
      }
      checkShapes(layer, kernel.shape!, bias.shape!, path);
      const k = kernel.value, b = bias.value;
      if (!(k instanceof Float32Array) || !(b instanceof Float32Array)) {
        throw new UserError(`weights ${path}: layer ${layer.name} is not float32`);
      }
      checkFinite(k, layer.name, "kernel", path);
      checkFinite(b, layer.name, "bias", path);
      layers.set(layer.name, { kernel: new Float32Array(k), bias: new Float32Array(b) });
    }
    return { source: path, format: "hdf5", identity: await identityOf(layers), layers };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `weights ${path}: cannot read the HDF5 file (${hdf5Reason((e as Error).message)})`,
    );
  } finally {
    file.close();
  }
}

/**
 * Load VGG19 weights from a tfjs directory / model.json or an HDF5 file,
 * deciding by what `path` is.
 */
export async function loadVggWeights(
  path: string,
  needed: readonly ConvLayerSpec[],
): Promise<VggWeights> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch {
    throw new UserError(
      `--weights: ${path} does not exist (run \`deno task weights\` to download Keras's VGG19, or point --weights at a tfjs directory or .h5 file)`,
    );
  }
  if (stat.isDirectory || path.endsWith(".json")) return loadTfjsWeights(path, needed);
  return loadHdf5Weights(path, needed);
}
