/**
 * The WGSL kernels as a tfjs plugin: {@link registerNstKernels} puts them into
 * tfjs's kernel registry for the `webgpu` backend, so any program (`tf.conv2d`,
 * a `tf.layers` model, the study's CNN) runs them, not only the code behind our
 * `KernelSet` seam. {@link unregisterNstKernels} puts the stock kernels back.
 *
 * Covered (everything else calls the stock kernel function saved before the
 * override, so its results are the stock ones bit for bit):
 * - `Conv2D`, `FusedConv2D`: a 3x3 filter, stride 1, `'same'` padding, dilation 1,
 *   NHWC, float32; `FusedConv2D` with no bias or a `[cOut]` one, activation
 *   `'linear'` or `'relu'`, no PReLU weights;
 * - `Conv2DBackpropInput` of those convs (tfjs applies a fused ReLU's mask
 *   before calling it, so it runs our gradient kernel without its mask);
 * - `MaxPool` 2x2, stride 2, `'valid'` (or `'same'` on even sizes, which pads nothing),
 *   channels a multiple of 4, and its
 *   gradient `MaxPoolGrad`;
 * - `BatchMatMul` computing a Gram `a^T a`: both inputs the same tensor (one
 *   data id, one shape), rank 2 or 3, `transposeA` and not `transposeB`, N a
 *   multiple of 4. A product of two different tensors that happen to be equal is
 *   not recognised (it runs stock, correctly).
 *
 * With `kernels: "auto"` each covered call goes where `--kernels auto` sends
 * the same op and shape (`auto.ts`: stock, or a custom route and tile
 * configuration); shapes not measured yet run the custom default until
 * {@link NstRegistration.tunePending} measures them.
 *
 * Kernels receive tensors (the ops pass `tf.Tensor`s); a call whose inputs are
 * bare `TensorInfo`s (a backend calling a kernel directly) goes to stock.
 *
 * @example
 * ```ts
 * import { initBackend, tf } from "../tf.ts";
 * import { registerNstKernels, unregisterNstKernels } from "./register.ts";
 * await initBackend("webgpu");
 * await registerNstKernels();
 * const x = tf.ones([1, 8, 8, 4]) as tf.Tensor4D;
 * const y = tf.conv2d(x, tf.ones([3, 3, 4, 8]) as tf.Tensor4D, 1, "same"); // our WGSL
 * console.log(y.shape); // [1, 8, 8, 8]
 * unregisterNstKernels();
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { UserError } from "../util/errors.ts";
import { type AutoKernels, openAutoKernels } from "./auto.ts";
import { conv3x3, conv3x3GradInput } from "./conv.ts";
import { releaseWeightTextures } from "./conv_texture.ts";
import { gramGpu } from "./gram.ts";
import { initCustomKernels } from "./kernels.ts";
import { maxPool2x2Forward, maxPool2x2Grad } from "./maxpool.ts";
import { type KernelVariant, withVariant } from "./registry.ts";
import { opKey } from "./tuning.ts";

/** The tfjs backend whose registry entries are overridden. */
const BACKEND = "webgpu";

/** The tfjs kernels the plugin overrides (for the shapes it covers). */
export const NST_KERNEL_NAMES: readonly string[] = [
  "Conv2D",
  "FusedConv2D",
  "Conv2DBackpropInput",
  "MaxPool",
  "MaxPoolGrad",
  "BatchMatMul",
];

/** What {@link registerNstKernels} takes. */
export interface NstKernelOptions {
  /**
   * `custom` (default): our kernels for every covered shape; `auto`: the per-shape choice of
   * `--kernels auto` (stock or a custom variant, measured on this adapter).
   */
  kernels?: "custom" | "auto";
  /** Where `auto` says what it measures (default: stderr). */
  log?: (line: string) => void;
  /** `auto`: the tuning cache's folder (default: the user cache, as `--kernels auto`). */
  cacheRoot?: string;
}

/** The plugin as registered. */
export interface NstRegistration {
  /** Which choice is registered. */
  readonly kernels: "custom" | "auto";
  /**
   * The `auto` set whose per-shape choices the kernels follow (null for `custom`): its cache, for
   * tests and tools; left out of the plugin's docs.
   *
   * @ignore
   */
  readonly auto: AutoKernels | null;
  /** With `auto`: measure the shapes met since the last call without a cached choice. */
  tunePending(): Promise<void>;
}

/** Calls per kernel name that ran our WGSL (`ours`) or went to the saved stock function. */
export interface NstKernelCounts {
  /** Calls that ran our WGSL, by tfjs kernel name. */
  ours: Record<string, number>;
  /** Calls that went to the saved stock kernel function, by tfjs kernel name. */
  stock: Record<string, number>;
}

type KernelFunc = tf.KernelConfig["kernelFunc"];
type Attrs = Record<string, unknown>;

/** The stock configs, saved before the override; empty while unregistered. */
const saved = new Map<string, tf.KernelConfig>();
let auto: AutoKernels | null = null;
/** The last registration's choice, kept after unregistering (for {@link withNstKernels}). */
let prepared: { backend: unknown; auto: AutoKernels | null } | null = null;
const counts: NstKernelCounts = { ours: {}, stock: {} };
/** Zero biases per channel count, for convs without one (kept until unregistered). */
const zeroBiases = new Map<number, tf.Tensor1D>();

/**
 * How many calls of each overridden kernel ran our WGSL and how many went to stock since the
 * last {@link resetNstKernelCounts}: the observable that proves a program runs our kernels.
 *
 * @example
 * ```ts
 * import { nstKernelCounts } from "./register.ts";
 * console.log(nstKernelCounts().ours.Conv2D ?? 0);
 * ```
 */
export function nstKernelCounts(): NstKernelCounts {
  return { ours: { ...counts.ours }, stock: { ...counts.stock } };
}

/**
 * Zero the counts of {@link nstKernelCounts}.
 *
 * @example
 * ```ts
 * import { resetNstKernelCounts } from "./register.ts";
 * resetNstKernelCounts();
 * ```
 */
export function resetNstKernelCounts(): void {
  counts.ours = {};
  counts.stock = {};
}

/**
 * Whether our kernels are registered now.
 *
 * @example
 * ```ts
 * import { nstKernelsRegistered } from "./register.ts";
 * console.log(nstKernelsRegistered()); // false until registerNstKernels()
 * ```
 */
export function nstKernelsRegistered(): boolean {
  return saved.size > 0;
}

const pair = (v: unknown): [number, number] | null =>
  typeof v === "number" ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : null;
const isOnes = (v: unknown, dflt: boolean) => {
  if (v === undefined || v === null) return dflt;
  const p = pair(v);
  return p !== null && p[0] === 1 && p[1] === 1;
};
const isF32Tensor = (t: unknown): t is tf.Tensor =>
  t instanceof tf.Tensor && t.dtype === "float32" && !t.isDisposed;

/** Whether a conv's attributes are ours: stride 1, 'same', dilation 1, NHWC. */
function convAttrsCovered(a: Attrs): boolean {
  return isOnes(a.strides, false) && a.pad === "same" && isOnes(a.dilations, true) &&
    (a.dataFormat === undefined || a.dataFormat === "NHWC");
}

/** Whether `filter` is a 3x3 float32 filter from `cIn` channels. */
function filter3x3(filter: unknown, cIn: number): filter is tf.Tensor4D {
  return isF32Tensor(filter) && filter.rank === 4 && filter.shape[0] === 3 &&
    filter.shape[1] === 3 && filter.shape[2] === cIn && (filter.shape[3] ?? 0) > 0;
}

function zeroBias(cOut: number): tf.Tensor1D {
  let z = zeroBiases.get(cOut);
  if (!z || z.isDisposed) {
    z = tf.keep(tf.zeros([cOut]) as tf.Tensor1D);
    zeroBiases.set(cOut, z);
  }
  return z;
}

/**
 * Run `ours` the way the registered choice says for `key`: custom (its default variant), auto's
 * measured variant, or stock (null: the caller runs the saved stock function).
 */
function routed<T>(key: string, ours: () => T): T | null {
  const v: KernelVariant | "stock" | null = auto ? auto.choiceFor(key) : null;
  if (v === "stock") return null;
  return v === null ? ours() : withVariant(v, ours);
}

/** Our implementation of one kernel: a tensor, or null when it does not cover the call. */
type Ours = (inputs: tf.NamedTensorInfoMap, attrs: Attrs) => tf.Tensor | null;

function conv(inputs: tf.NamedTensorInfoMap, attrs: Attrs, fused: boolean): tf.Tensor | null {
  const { x, filter, bias } = inputs as Record<string, unknown>;
  if (!isF32Tensor(x) || x.rank !== 4 || !convAttrsCovered(attrs)) return null;
  const [, , , cIn] = x.shape;
  if (!filter3x3(filter, cIn)) return null;
  const cOut = filter.shape[3];
  let relu = false;
  if (fused) {
    const act = attrs.activation ?? "linear";
    if ((act !== "linear" && act !== "relu") || inputs.preluActivationWeights != null) return null;
    relu = act === "relu";
    if (bias != null && !(isF32Tensor(bias) && bias.rank === 1 && bias.shape[0] === cOut)) {
      return null;
    }
  }
  const b = bias != null ? bias as tf.Tensor1D : zeroBias(cOut);
  return routed(
    opKey("conv3x3", x.shape, cOut),
    () => conv3x3(x as tf.Tensor4D, filter, b, relu),
  );
}

function convGradInput(inputs: tf.NamedTensorInfoMap, attrs: Attrs): tf.Tensor | null {
  const { dy, filter } = inputs as Record<string, unknown>;
  if (!isF32Tensor(dy) || dy.rank !== 4 || !convAttrsCovered(attrs)) return null;
  const shape = attrs.inputShape as number[] | undefined;
  if (!Array.isArray(shape) || shape.length !== 4) return null;
  const [b, h, w, cOut] = dy.shape;
  const cIn = shape[3];
  if (shape[0] !== b || shape[1] !== h || shape[2] !== w) return null;
  if (!filter3x3(filter, cIn) || filter.shape[3] !== cOut) return null;
  return routed(opKey("conv3x3_grad_input", dy.shape, cIn), () => {
    // The gradient is a forward conv of dy with the filter rotated 180 degrees, in/out swapped.
    const flipped = tf.tidy(() =>
      tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2])
    ) as tf.Tensor4D;
    try {
      return conv3x3GradInput(dy as tf.Tensor4D, flipped);
    } finally {
      // A fresh tensor per call: its weight texture (texture route) would only wait for the GC.
      releaseWeightTextures([flipped]);
      flipped.dispose();
    }
  });
}

/**
 * Whether a pool's attributes are 2x2, stride 2 and 'valid', or 'same' on an even-sized input
 * (no padding then: the same windows; the study's CNN pools so).
 */
function poolAttrsCovered(a: Attrs, shape: readonly number[]): boolean {
  const f = pair(a.filterSize);
  const s = pair(a.strides);
  const even = shape[1] % 2 === 0 && shape[2] % 2 === 0;
  return f !== null && f[0] === 2 && f[1] === 2 && s !== null && s[0] === 2 && s[1] === 2 &&
    (a.pad === "valid" || a.pad === 0 || (a.pad === "same" && even)) && a.dimRoundingMode == null;
}

function maxPool(inputs: tf.NamedTensorInfoMap, attrs: Attrs): tf.Tensor | null {
  const { x } = inputs as Record<string, unknown>;
  if (
    !isF32Tensor(x) || x.rank !== 4 || (x.shape[3] ?? 1) % 4 !== 0 ||
    !poolAttrsCovered(attrs, x.shape)
  ) {
    return null;
  }
  return routed(opKey("maxpool", x.shape), () => maxPool2x2Forward(x as tf.Tensor4D));
}

function maxPoolGrad(inputs: tf.NamedTensorInfoMap, attrs: Attrs): tf.Tensor | null {
  const { dy, input } = inputs as Record<string, unknown>;
  if (!isF32Tensor(dy) || !isF32Tensor(input) || input.rank !== 4 || dy.rank !== 4) return null;
  const [b, h, w, c] = input.shape;
  const want = [b, Math.floor(h / 2), Math.floor(w / 2), c];
  if (
    c % 4 !== 0 || dy.shape.some((d, i) => d !== want[i]) || !poolAttrsCovered(attrs, input.shape)
  ) {
    return null;
  }
  // No tuned choice of its own: the pool's shape decides both directions in `auto`.
  return maxPool2x2Grad(input as tf.Tensor4D, dy as tf.Tensor4D);
}

function batchMatMul(inputs: tf.NamedTensorInfoMap, attrs: Attrs): tf.Tensor | null {
  const { a, b } = inputs as Record<string, unknown>;
  if (!isF32Tensor(a) || !isF32Tensor(b) || a.dataId !== b.dataId) return null;
  if (attrs.transposeA !== true || attrs.transposeB === true) return null;
  if ((a.rank !== 2 && a.rank !== 3) || a.shape.some((d, i) => d !== b.shape[i])) return null;
  const f = (a.rank === 2 ? [1, ...a.shape] : a.shape) as [number, number, number];
  // gramGpu would itself call tf.matMul for these: that would come back here.
  if (f[2] % 4 !== 0 || f[1] === 0 || f[2] === 0) return null;
  return routed(opKey("gram", f), () => {
    if (a.rank === 3) return gramGpu(a as tf.Tensor3D);
    const f3 = tf.reshape(a, f) as tf.Tensor3D;
    const g = gramGpu(f3);
    const out = tf.reshape(g, [f[2], f[2]]);
    tf.dispose([f3, g]);
    return out;
  });
}

const OURS: Record<string, Ours> = {
  Conv2D: (i, a) => conv(i, a, false),
  FusedConv2D: (i, a) => conv(i, a, true),
  Conv2DBackpropInput: convGradInput,
  MaxPool: maxPool,
  MaxPoolGrad: maxPoolGrad,
  BatchMatMul: batchMatMul,
};

/** The registered function of `name`: ours where it covers the call, else the saved stock one. */
function override(name: string, stock: KernelFunc): KernelFunc {
  const ours = OURS[name];
  return (args) => {
    // Only on the webgpu backend tfjs made active: our kernels bind its buffers.
    const out = tf.getBackend() === BACKEND && args.backend === tf.backend()
      ? ours(args.inputs, args.attrs as Attrs)
      : null;
    const tally = out === null ? counts.stock : counts.ours;
    tally[name] = (tally[name] ?? 0) + 1;
    return out ?? stock(args);
  };
}

/**
 * Register our kernels in tfjs's registry for the `webgpu` backend (see the module doc for
 * what they cover), after compiling them. Needs the webgpu backend active (`initBackend`
 * or `tf.setBackend("webgpu")`). Registering again replaces the previous registration; the
 * stock configs saved the first time stay the ones {@link unregisterNstKernels} restores.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { registerNstKernels } from "./register.ts";
 * await initBackend("webgpu");
 * const reg = await registerNstKernels({ kernels: "auto" });
 * // ... a training step ...
 * await reg.tunePending();
 * ```
 */
export async function registerNstKernels(opts: NstKernelOptions = {}): Promise<NstRegistration> {
  const kernels = opts.kernels ?? "custom";
  if (tf.getBackend() !== BACKEND) {
    throw new UserError(
      `registerNstKernels: the WGSL kernels need the webgpu backend (active: ${tf.getBackend()})`,
    );
  }
  const chosen = kernels === "auto"
    ? await openAutoKernels({ log: opts.log, cacheRoot: opts.cacheRoot })
    : null;
  if (!chosen) await initCustomKernels();
  prepared = { backend: tf.backend(), auto: chosen };
  install(chosen);
  return {
    kernels,
    auto: chosen,
    tunePending: async () => {
      if (auto) await auto.tunePending();
    },
  };
}

/**
 * Put the stock kernel configs saved by {@link registerNstKernels} back (the same objects, so
 * tfjs's registry is as it was) and free the plugin's own tensors. A no-op when unregistered.
 *
 * @example
 * ```ts
 * import { unregisterNstKernels } from "./register.ts";
 * unregisterNstKernels();
 * ```
 */
export function unregisterNstKernels(): void {
  uninstall();
  tf.dispose([...zeroBiases.values()]);
  zeroBiases.clear();
}

/** Save the stock configs (first time) and register ours over them: synchronous, no compiling. */
function install(chosen: AutoKernels | null): void {
  if (saved.size === 0) {
    for (const name of NST_KERNEL_NAMES) {
      const stock = tf.getKernel(name, BACKEND);
      if (!stock) throw new Error(`registerNstKernels: tfjs has no ${name} kernel for webgpu`);
      saved.set(name, stock);
    }
  }
  for (const [name, stock] of saved) {
    // Unregister first: registering over an entry only warns and replaces it.
    if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ ...stock, kernelFunc: override(name, stock.kernelFunc) });
  }
  auto = chosen;
}

/** Put the saved stock configs back (the same objects). */
function uninstall(): void {
  for (const [name, stock] of saved) {
    if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
    tf.registerKernel(stock);
  }
  saved.clear();
  auto = null;
}

/**
 * Run `fn` (synchronous) with our kernels registered as the last {@link registerNstKernels} on
 * this backend chose, then leave the registry as it was: for timing tfjs programs with and
 * without the plugin side by side (`bench/bench.ts`'s `registered` row). Needs one
 * {@link registerNstKernels} on this backend first (it compiles the kernels).
 *
 * @example
 * ```ts
 * import { initBackend, tf } from "../tf.ts";
 * import { registerNstKernels, unregisterNstKernels, withNstKernels } from "./register.ts";
 * await initBackend("webgpu");
 * await registerNstKernels();
 * unregisterNstKernels();
 * const x = tf.ones([1, 8, 8, 4]) as tf.Tensor4D;
 * const k = tf.ones([3, 3, 4, 8]) as tf.Tensor4D;
 * const y = withNstKernels(() => tf.conv2d(x, k, 1, "same"));
 * ```
 */
export function withNstKernels<T>(fn: () => T): T {
  if (nstKernelsRegistered()) return fn();
  if (prepared === null || prepared.backend !== tf.backend()) {
    throw new Error("withNstKernels: call registerNstKernels() once on this backend first");
  }
  install(prepared.auto);
  try {
    return fn();
  } finally {
    uninstall();
  }
}

/**
 * What `--kernels <choice>` means for programs outside the seam: on the webgpu backend,
 * `custom` and `auto` register our kernels ({@link registerNstKernels}); `stock`, or any other
 * backend, leaves tfjs's registry alone. Returns the registration, or null.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { registerForKernelChoice } from "./register.ts";
 * const { name } = await initBackend("auto");
 * await registerForKernelChoice("auto", name); // registered only on webgpu
 * ```
 */
export async function registerForKernelChoice(
  choice: string,
  backend: string,
): Promise<NstRegistration | null> {
  if (backend !== BACKEND || tf.getBackend() !== BACKEND) return null;
  if (choice !== "custom" && choice !== "auto") return null;
  return await registerNstKernels({ kernels: choice });
}
