/**
 * Measured kernel selection, the skeleton: which implementation of each op
 * and shape is fastest is measured on the user's adapter (never guessed) and
 * cached per adapter identity and kernel-source hash under the cache
 * directory, so a driver, GPU or WGSL change invalidates it by itself.
 *
 * - {@link adapterIdentity}, {@link kernelSourceHash}, {@link tuningCachePath}: the cache key.
 * - {@link TuningCache}: the choices, one JSON file per key, written atomically.
 * - {@link pickFastest}: time each candidate and keep the fastest (failures are skipped).
 * - {@link opKey}: the canonical op + shape key both the tuner and the auto set use.
 * - {@link autoKernels}: a kernel set dispatching each call to its cached choice (custom where
 *   nothing was measured), what `--kernels auto` is meant to become.
 *
 * `bench/tune.ts` fills the cache (`deno run -A bench/tune.ts`; `deno task bench --tune` once
 * the bench's flag parsing takes it) and prints the table of choices with an `auto` row.
 * Candidates today are `stock` and `custom`; tile configurations of the custom kernels
 * (descriptor overrides, see `registry.ts`) are the next candidates to add.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { CUSTOM_KERNEL_DESCRIPTORS } from "./kernels.ts";
 * import { adapterIdentity, kernelSourceHash, TuningCache, tuningCachePath } from "./tuning.ts";
 * const id = adapterIdentity(GpuContext.sync());
 * const hash = await kernelSourceHash(CUSTOM_KERNEL_DESCRIPTORS);
 * const cache = await TuningCache.open(tuningCachePath(id, hash), id, hash);
 * console.log(cache.size);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { tf } from "../tf.ts";
import type { KernelSet, KernelSetName } from "../kernel_set.ts";
import { STOCK_KERNELS } from "../stock_kernels.ts";
import { cacheDir, writeTextAtomic } from "../util/fs.ts";
import type { GpuContext } from "./device.ts";
import type { KernelDescriptor } from "./registry.ts";
import { loadWgsl } from "./wgsl.ts";

/** Who the adapter is: what a tuning result is valid for. */
export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The driver, where the implementation reports one (wgpu: `driver` / `driverInfo`). */
  driver: string;
}

/** The ops the kernel seam has, as tuning keys name them. */
export type TunedOp = "conv3x3" | "conv3x3_grad_input" | "gram" | "style_loss" | "maxpool";

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The identity of `gpu`'s adapter (empty strings for what it does not report). */
export function adapterIdentity(gpu: GpuContext): AdapterIdentity {
  const info = ((gpu.device as unknown as { adapterInfo?: Record<string, unknown> }).adapterInfo ??
    gpu.backend.adapterInfo ?? {}) as Record<string, unknown>;
  const s = (k: string) => (typeof info[k] === "string" ? info[k] as string : "");
  return {
    vendor: s("vendor"),
    architecture: s("architecture"),
    device: s("device"),
    description: s("description") || gpu.adapterDescription,
    driver: [s("driver"), s("driverInfo")].filter(Boolean).join(" "),
  };
}

/**
 * sha256 of every descriptor (its overrides, fixed constants, workgroup size, Params) and its
 * expanded WGSL: any change to a kernel invalidates the tuning.
 */
export async function kernelSourceHash(descs: readonly KernelDescriptor[]): Promise<string> {
  const parts: string[] = [];
  for (const d of [...descs].sort((a, b) => a.name.localeCompare(b.name))) {
    const { file, entryPoint, workgroupSize, overrides, fixed, params } = d;
    parts.push(JSON.stringify({ file, entryPoint, workgroupSize, overrides, fixed, params }));
    parts.push((await loadWgsl(d.file)).code);
  }
  return sha256Hex(parts.join("\n\u0000\n"));
}

/**
 * `<cacheDir>/tuning/<adapter hash>-<source hash>.json`.
 *
 * @example
 * ```ts
 * import { tuningCachePath } from "./tuning.ts";
 * const id = { vendor: "nvidia", architecture: "hopper", device: "", description: "H200", driver: "" };
 * console.log(tuningCachePath(id, "ab".repeat(32)).endsWith("-abababababab.json")); // true
 * ```
 */
export function tuningCachePath(
  id: AdapterIdentity,
  sourceHash: string,
  root = cacheDir(),
): string {
  const adapter = sha256Hex(JSON.stringify(id)).slice(0, 12);
  return join(root, "tuning", `${adapter}-${sourceHash.slice(0, 12)}.json`);
}

/** One measured choice: the winner and every candidate's median milliseconds. */
export interface TuningEntry {
  choice: string;
  ms: Record<string, number>;
  tunedAt: string;
}

interface TuningFile {
  version: 1;
  adapter: AdapterIdentity;
  sourceHash: string;
  entries: Record<string, TuningEntry>;
}

/** The choices for one adapter and kernel source, keyed by {@link opKey}. */
export class TuningCache {
  private constructor(
    readonly path: string,
    readonly adapter: AdapterIdentity,
    readonly sourceHash: string,
    private readonly entries: Map<string, TuningEntry>,
  ) {}

  /** The cache at `path`, or an empty one when the file is missing or for another key. */
  static async open(path: string, adapter: AdapterIdentity, sourceHash: string) {
    let entries = new Map<string, TuningEntry>();
    try {
      const file = JSON.parse(await Deno.readTextFile(path)) as TuningFile;
      if (
        file.version === 1 && file.sourceHash === sourceHash &&
        JSON.stringify(file.adapter) === JSON.stringify(adapter)
      ) entries = new Map(Object.entries(file.entries));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
    }
    return new TuningCache(path, adapter, sourceHash, entries);
  }

  /** Number of tuned keys. */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): TuningEntry | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: TuningEntry): void {
    this.entries.set(key, entry);
  }

  /** The keys of `keys` with no entry yet: what a normal run would tune first. */
  unseen(keys: readonly string[]): string[] {
    return keys.filter((k) => !this.entries.has(k));
  }

  /** Every key and its choice, sorted by key. */
  choices(): Array<[string, TuningEntry]> {
    return [...this.entries].sort(([a], [b]) => a.localeCompare(b));
  }

  /** Write the file atomically (concurrent tuners: the last writer wins, both valid). */
  async save(): Promise<void> {
    const file: TuningFile = {
      version: 1,
      adapter: this.adapter,
      sourceHash: this.sourceHash,
      entries: Object.fromEntries(this.choices()),
    };
    await writeTextAtomic(this.path, JSON.stringify(file, null, 2) + "\n");
  }
}

/**
 * Time every candidate (`time` resolves to median milliseconds) and pick the fastest; a
 * candidate that throws is recorded as Infinity and never chosen. Throws when all fail.
 *
 * @example
 * ```ts
 * import { pickFastest } from "./tuning.ts";
 * const e = await pickFastest([
 *   { name: "stock", time: () => Promise.resolve(2) },
 *   { name: "custom", time: () => Promise.resolve(1) },
 * ]);
 * console.log(e.choice); // "custom"
 * ```
 */
export async function pickFastest(
  candidates: ReadonlyArray<{ name: string; time: () => Promise<number> }>,
): Promise<TuningEntry> {
  const ms: Record<string, number> = {};
  for (const c of candidates) {
    try {
      ms[c.name] = await c.time();
    } catch {
      ms[c.name] = Infinity;
    }
  }
  const best = candidates.map((c) => c.name).filter((n) => Number.isFinite(ms[n]))
    .sort((a, b) => ms[a] - ms[b])[0];
  if (best === undefined) throw new Error(`tuning: every candidate failed (${Object.keys(ms)})`);
  return { choice: best, ms, tunedAt: new Date().toISOString() };
}

/**
 * The canonical key of one op call: the op and the shapes that decide its cost.
 *
 * @example
 * ```ts
 * import { opKey } from "./tuning.ts";
 * console.log(opKey("conv3x3", [1, 56, 56, 128], 256)); // "conv3x3 1x56x56x128->256"
 * ```
 */
export function opKey(op: TunedOp, input: readonly number[], out?: number): string {
  return `${op} ${input.join("x")}${out === undefined ? "" : `->${out}`}`;
}

/**
 * A kernel set that sends each call to the implementation `cache` chose for its op and shape
 * (`custom` where nothing was measured). Its `name` is `custom`, since it may call the WGSL
 * kernels (it needs webgpu like them); `label` says `auto`.
 */
export function autoKernels(cache: TuningCache, custom: KernelSet): KernelSet & { label: "auto" } {
  const pick = (key: string): KernelSet =>
    cache.get(key)?.choice === "stock" ? STOCK_KERNELS : custom;
  const name: KernelSetName = "custom";
  return {
    name,
    label: "auto",
    conv3x3Relu: (x, k, b) => pick(opKey("conv3x3", x.shape, k.shape[3])).conv3x3Relu(x, k, b),
    conv3x3ReluGradInput: (dy, y, k, f) =>
      pick(opKey("conv3x3_grad_input", dy.shape, f.shape[3])).conv3x3ReluGradInput(dy, y, k, f),
    maxPool2x2: (x) => pick(opKey("maxpool", x.shape)).maxPool2x2(x),
    gram: (f) => pick(opKey("gram", f.shape)).gram(f),
    styleLoss: (f, t) => pick(opKey("style_loss", f.shape)).styleLoss(f, t),
    adamUpdate: (...args) => custom.adamUpdate(...args),
  };
}

/** The tuning key of a bench case's inputs (see bench/tune.ts), or null for untuned ops. */
export function caseKey(op: string, inputs: readonly tf.Tensor[]): string | null {
  switch (op) {
    case "conv3x3":
      return opKey(op, inputs[0].shape, inputs[1].shape[3]);
    case "conv3x3_grad_input":
      // Inputs dy, y, kernel [3,3,cIn,cOut], flipped [3,3,cOut,cIn]: the output has cIn channels.
      return opKey(op, inputs[0].shape, inputs[2].shape[2]);
    case "gram":
    case "style_loss":
    case "maxpool":
      return opKey(op, inputs[0].shape);
    default:
      return null;
  }
}
