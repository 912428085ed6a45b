/**
 * `--kernels auto`: for every op and shape a step uses, the implementation
 * measured fastest on this adapter. The candidates are stock tfjs-webgpu, the
 * custom kernels' texture route (meant for CPU adapters) and their buffer
 * route with each conv GEMM tile configuration the device allows
 * (`convTileCandidates`). Choices are cached per adapter and kernel source
 * (`tuning.ts`); a shape met for the first time runs on the custom set's
 * default and is measured after the step that met it ({@link AutoKernels.tunePending},
 * called by the engine), which the run says in one line.
 *
 * Candidate names: `stock`, `texture`, `buffer` (an op without tiles) and
 * `buffer:<WG_Y>x<TILE_K>` (the conv GEMMs).
 *
 * Measuring: each candidate is warmed up (shader compilation, buffer pools) and probed once;
 * those slower than `prune` x the best probe are dropped, the rest timed as the bench does
 * (median of `runs` samples of `repeat` queued calls, one GPU wait each). A winner other than
 * the default is confirmed against the default, the two sampled in turn, and kept only when
 * {@link CONFIRM_MARGIN} faster: noise alone should not move a shape off the default.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { useKernels } from "../ops/active.ts";
 * import { openAutoKernels } from "./auto.ts";
 * await initBackend("webgpu");
 * const auto = await openAutoKernels();
 * useKernels(auto);
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import type { KernelSet } from "../ops/kernel_set.ts";
import { STOCK_KERNELS } from "../ops/stock_kernels.ts";
import { median } from "../util/median.ts";
import { GpuContext } from "./device.ts";
import { CUSTOM_KERNEL_DESCRIPTORS, CUSTOM_KERNELS, initCustomKernels } from "./kernels.ts";
import {
  compileConvTiles,
  CONV_GEMM_TILES,
  convCoverage,
  type ConvGemmTiles,
  convTileCandidates,
} from "./conv.ts";
import { releaseWeightTextures } from "./conv_texture.ts";
import { gramTexRows } from "./gram.ts";
import { type KernelVariant, textureRoute, withVariant } from "./registry.ts";
import {
  adapterIdentity,
  kernelSourceHash,
  opKey,
  type ParsedOpKey,
  parseOpKey,
  pickFastest,
  TuningCache,
  tuningCachePath,
  type TuningEntry,
  TuningLock,
} from "./tuning.ts";

/** How candidates are timed. */
export interface TuneSettings {
  warmup: number;
  runs: number;
  repeat: number;
  /** Candidates whose probe is slower than this multiple of the best probe are not timed. */
  prune: number;
}

/** What a run uses for shapes it meets untuned (the bench's `--tune` uses its own flags). */
export const RUN_TUNING: Readonly<TuneSettings> = Object.freeze({
  warmup: 1,
  runs: 3,
  repeat: 2,
  prune: 1.5,
});

const tilesName = (t: ConvGemmTiles) => `buffer:${t.WG_Y}x${t.TILE_K}`;

/**
 * The variant a candidate name means: `"stock"`, a {@link KernelVariant}, or null for a name
 * this version does not know.
 *
 * @example
 * ```ts
 * import { variantOf } from "./auto.ts";
 * console.log(variantOf("buffer:4x32")); // { route: "buffer", tiles: { WG_Y: 4, TILE_K: 32 } }
 * ```
 */
export function variantOf(name: string): KernelVariant | "stock" | null {
  if (name === "stock") return "stock";
  if (name === "texture" || name === "buffer") return { route: name };
  const m = /^buffer:(\d+)x(\d+)$/.exec(name);
  return m ? { route: "buffer", tiles: { WG_Y: Number(m[1]), TILE_K: Number(m[2]) } } : null;
}

/**
 * The candidates for one op and shape on `gpu`, and which of them the custom set runs by
 * default (its adapter's route and the default tiles).
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { candidatesFor } from "./auto.ts";
 * import { parseOpKey } from "./tuning.ts";
 * console.log(candidatesFor(GpuContext.sync(), parseOpKey("gram 1x4096x64")!).names);
 * ```
 */
export function candidatesFor(
  gpu: GpuContext,
  k: ParsedOpKey,
): { names: string[]; default: string } {
  const onTexture = textureRoute(gpu);
  if (k.op === "conv3x3" || k.op === "conv3x3_grad_input") {
    const kind = k.op === "conv3x3" ? "forward" : "grad";
    const { texture, narrow } = convCoverage(gpu, kind, k.input, k.out!);
    const fits = texture !== null;
    const buffers = narrow ? ["buffer"] : convTileCandidates(gpu).map(tilesName);
    const names = ["stock", ...(fits ? ["texture"] : []), ...buffers];
    const fallback = narrow ? "buffer" : tilesName(CONV_GEMM_TILES);
    return { names, default: onTexture && fits ? "texture" : fallback };
  }
  if (k.op === "gram" || k.op === "style_loss") {
    const [b, m, n] = k.input;
    // N % 4 != 0: the custom set itself runs the stock op.
    if (n % 4 !== 0) return { names: ["stock"], default: "stock" };
    const fits = gramTexRows(gpu, b, m, n) > 0;
    return {
      names: ["stock", ...(fits ? ["texture"] : []), "buffer"],
      default: onTexture && fits ? "texture" : "buffer",
    };
  }
  return { names: ["stock", "buffer"], default: "buffer" };
}

function randn(shape: number[], seed: number, std = 1): tf.Tensor {
  return tf.randomNormal(shape, 0, std, "float32", seed);
}

/** Seeded random inputs of an op's key (only shapes matter for speed). */
function inputsOf(k: ParsedOpKey): tf.Tensor[] {
  return tf.tidy(() => {
    const i = k.input;
    switch (k.op) {
      case "conv3x3":
        return [
          randn(i, 1),
          randn([3, 3, i[3], k.out!], 2, Math.sqrt(2 / (9 * i[3]))),
          randn([k.out!], 3, 0.1),
        ];
      case "conv3x3_grad_input": {
        const kernel = randn([3, 3, k.out!, i[3]], 2, Math.sqrt(2 / (9 * k.out!)));
        const flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]);
        return [randn(i, 1), randn(i, 4), kernel, flipped];
      }
      case "gram":
        return [tf.relu(randn(i, 1))];
      case "style_loss":
        return [tf.relu(randn(i, 1)), tf.relu(randn([i[2], i[2]], 5))];
      case "maxpool":
        return [randn(i, 1)];
    }
  });
}

/** One call of the op of `k` on `set` (outputs as a list). */
function callOp(k: ParsedOpKey, set: KernelSet, t: tf.Tensor[]): tf.Tensor[] {
  switch (k.op) {
    case "conv3x3":
      return [set.conv3x3Relu(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor1D)];
    case "conv3x3_grad_input":
      return [
        set.conv3x3ReluGradInput(
          t[0] as tf.Tensor4D,
          t[1] as tf.Tensor4D,
          t[2] as tf.Tensor4D,
          t[3] as tf.Tensor4D,
        ),
      ];
    case "gram":
      return [set.gram(t[0] as tf.Tensor3D)];
    case "style_loss": {
      const r = set.styleLoss(t[0] as tf.Tensor3D, t[1] as tf.Tensor2D);
      return [r.loss, r.grad];
    }
    case "maxpool":
      return [set.maxPool2x2(t[0] as tf.Tensor4D)];
  }
}

/** Run `fn` on the set a candidate name means (stock, or custom with its variant). */
function onCandidate<T>(name: string, custom: KernelSet, fn: (set: KernelSet) => T): T {
  const v = variantOf(name);
  if (v === "stock") return fn(STOCK_KERNELS);
  if (v === null) throw new Error(`tuning: unknown candidate '${name}'`);
  return withVariant(v, () => fn(custom));
}

/** Median ms per call: `runs` samples of `repeat` queued calls after `warmup` samples. */
async function timeCandidate(
  gpu: GpuContext,
  run: () => tf.Tensor[],
  warmup: number,
  runs: number,
  repeat: number,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    await gpu.idle();
    const t0 = performance.now();
    let outs: tf.Tensor[] = [];
    for (let r = 0; r < repeat; r++) {
      tf.dispose(outs);
      outs = run();
    }
    await gpu.idle();
    const dt = (performance.now() - t0) / repeat;
    tf.dispose(outs);
    if (i >= warmup) times.push(dt);
  }
  return median(times);
}

/** A non-default choice must beat the default by this factor in the paired confirmation. */
export const CONFIRM_MARGIN = 1.05;

/** Median ms per call of each run, one sample of each in turn, after one warm-up round. */
async function timeInTurn(
  gpu: GpuContext,
  runs: Array<() => tf.Tensor[]>,
  samples: number,
  repeat: number,
): Promise<number[]> {
  const times: number[][] = runs.map(() => []);
  for (let i = 0; i < 1 + samples; i++) {
    for (let r = 0; r < runs.length; r++) {
      const t = await timeCandidate(gpu, runs[r], 0, 1, repeat);
      if (i > 0) times[r].push(t);
    }
  }
  return times.map(median);
}

/**
 * Measure every candidate of `key` on the active webgpu backend and return the choice.
 *
 * @example
 * ```ts
 * import { CUSTOM_KERNELS } from "./kernels.ts";
 * import { measureKey, RUN_TUNING } from "./auto.ts";
 * const e = await measureKey("maxpool 1x64x64x64", CUSTOM_KERNELS, RUN_TUNING);
 * console.log(e.choice, e.ms);
 * ```
 */
export async function measureKey(
  key: string,
  custom: KernelSet,
  settings: TuneSettings,
): Promise<TuningEntry> {
  const k = parseOpKey(key);
  if (!k) throw new Error(`tuning: '${key}' is no op key`);
  const gpu = GpuContext.sync();
  const { names, default: def } = candidatesFor(gpu, k);
  const usable: string[] = [];
  for (const name of names) {
    const v = variantOf(name);
    try {
      if (v !== "stock" && v?.tiles) await compileConvTiles(gpu, v.tiles);
      usable.push(name);
    } catch {
      // A configuration this driver cannot compile is no candidate.
    }
  }
  const inputs = inputsOf(k);
  try {
    const run = (name: string) => () => onCandidate(name, custom, (set) => callOp(k, set, inputs));
    const entry = await pickFastest(
      usable.map((name) => ({
        name,
        probe: () => timeCandidate(gpu, run(name), 1, 1, 1),
        time: () => timeCandidate(gpu, run(name), settings.warmup, settings.runs, settings.repeat),
      })),
      { prune: settings.prune },
    );
    for (const name of names) if (!usable.includes(name)) entry.ms[name] = Infinity;
    if (entry.choice === def || !usable.includes(def)) return { ...entry, default: def };
    // Another candidate won: confirm against the default, the two sampled in turn (drift and
    // noise hit both alike), and switch only for a clear gain.
    const runs = Math.max(settings.runs, 5);
    const pair = [entry.choice, def];
    const [mine, theirs] = await timeInTurn(gpu, pair.map(run), runs, settings.repeat);
    const choice = mine * CONFIRM_MARGIN < theirs ? entry.choice : def;
    return { ...entry, choice, default: def, confirm: { [entry.choice]: mine, [def]: theirs } };
  } finally {
    releaseWeightTextures(inputs);
    tf.dispose(inputs);
  }
}

/**
 * The `auto` kernel set: each call goes to the candidate the tuning cache chose for its op and
 * shape, or to the custom set's default where none was measured yet (those shapes are
 * remembered for {@link AutoKernels.tunePending}). Its `name` is `custom`, since it may call
 * the WGSL kernels (it needs webgpu like them); `label` says `auto`.
 */
export class AutoKernels implements KernelSet {
  readonly name = "custom" as const;
  readonly label = "auto" as const;
  private readonly pending = new Set<string>();
  /** Another process held the tuning lock at the last attempt. */
  private waiting = false;

  constructor(
    readonly cache: TuningCache,
    private readonly custom: KernelSet,
    private readonly log: (line: string) => void = (l) => console.error(l),
    private readonly settings: TuneSettings = RUN_TUNING,
  ) {}

  /**
   * The choice measured for the op key `key`: `"stock"`, a custom {@link KernelVariant}, or null
   * where none was measured yet (the custom default then runs, and the key waits for
   * {@link AutoKernels.tunePending}). The registered tfjs kernels (`register.ts`) choose by it.
   */
  choiceFor(key: string): KernelVariant | "stock" | null {
    const choice = this.cache.get(key)?.choice;
    const v = choice === undefined ? null : variantOf(choice);
    if (v === null) this.pending.add(key);
    return v;
  }

  private pick<T>(key: string, fn: (set: KernelSet) => T): T {
    const v = this.choiceFor(key);
    if (v === null) return fn(this.custom);
    return v === "stock" ? fn(STOCK_KERNELS) : withVariant(v, () => fn(this.custom));
  }

  conv3x3Relu(x: tf.Tensor4D, k: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D {
    return this.pick(opKey("conv3x3", x.shape, k.shape[3]), (s) => s.conv3x3Relu(x, k, b));
  }

  conv3x3ReluGradInput(
    dy: tf.Tensor4D,
    y: tf.Tensor4D,
    k: tf.Tensor4D,
    f: tf.Tensor4D,
  ): tf.Tensor4D {
    return this.pick(
      opKey("conv3x3_grad_input", dy.shape, f.shape[3]),
      (s) => s.conv3x3ReluGradInput(dy, y, k, f),
    );
  }

  maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
    return this.pick(opKey("maxpool", x.shape), (s) => s.maxPool2x2(x));
  }

  gram(f: tf.Tensor3D): tf.Tensor3D {
    return this.pick(opKey("gram", f.shape), (s) => s.gram(f));
  }

  styleLoss(f: tf.Tensor3D, t: tf.Tensor2D): { loss: tf.Tensor1D; grad: tf.Tensor3D } {
    return this.pick(opKey("style_loss", f.shape), (s) => s.styleLoss(f, t));
  }

  adamUpdate(...args: Parameters<KernelSet["adamUpdate"]>): ReturnType<KernelSet["adamUpdate"]> {
    return this.custom.adamUpdate(...args);
  }

  /** Shapes met since the last tuning with no measured choice. */
  get untuned(): string[] {
    return [...this.pending];
  }

  /**
   * Measure `keys` (those without a choice; every one with `retune`), save the cache and
   * return the entries measured, in order. Holds the tuning lock meanwhile; returns null,
   * measuring nothing, while another process holds it.
   */
  async tune(
    keys: readonly string[],
    options: { retune?: boolean; settings?: TuneSettings; onStart?: (n: number) => void } = {},
  ): Promise<Array<[string, TuningEntry]> | null> {
    await this.cache.reload();
    const todo = options.retune ? [...new Set(keys)] : this.cache.unseen([...new Set(keys)]);
    for (const key of keys) if (this.cache.get(key)) this.pending.delete(key);
    if (todo.length === 0) return [];
    const lock = await TuningLock.acquire(this.cache.path + ".lock");
    if (!lock) return null;
    options.onStart?.(todo.length);
    const done: Array<[string, TuningEntry]> = [];
    try {
      for (const key of todo) {
        const entry = await measureKey(key, this.custom, options.settings ?? this.settings);
        const v = variantOf(entry.choice);
        if (v !== "stock" && v?.tiles) await compileConvTiles(GpuContext.sync(), v.tiles);
        this.cache.set(key, entry);
        this.pending.delete(key);
        done.push([key, entry]);
      }
      await this.cache.save();
    } finally {
      await lock.release();
    }
    return done;
  }

  /**
   * Measure the shapes calls have met untuned, saying so before and after. While another
   * process measures on this adapter, this one runs on the defaults and takes that process's
   * choices from the cache at a later step. Cheap when nothing is new: the engine calls it
   * after every step.
   */
  async tunePending(): Promise<void> {
    if (this.pending.size === 0) return;
    if (this.waiting) {
      // Not worth a lock attempt every step: only once the other process is done.
      try {
        await Deno.stat(this.cache.path + ".lock");
        return;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    const t0 = performance.now();
    const done = await this.tune([...this.pending], {
      onStart: (n) =>
        this.log(
          `kernels auto: measuring ${n} op shape(s) new to this adapter ` +
            "(once: the choices are cached)",
        ),
    });
    if (done === null) {
      if (!this.waiting) {
        this.log(
          "kernels auto: another process is measuring on this adapter; the defaults run " +
            "until its choices are cached",
        );
      }
      this.waiting = true;
      return;
    }
    this.waiting = false;
    if (done.length === 0) return; // another process cached them all meanwhile
    const changed = done.filter(([, e]) => e.choice !== e.default).length;
    this.log(
      `kernels auto: measured ${done.length} new op shape(s) in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s, ${changed} away from the default ` +
        `(${this.cache.size} cached in ${this.cache.path})`,
    );
  }
}

/**
 * The auto set for the active webgpu backend, with this adapter's cached choices (their
 * kernels compiled).
 *
 * @example
 * ```ts
 * import { openAutoKernels } from "./auto.ts";
 * const auto = await openAutoKernels({ log: console.log });
 * console.log(auto.cache.size);
 * ```
 */
export async function openAutoKernels(
  options: { log?: (line: string) => void; settings?: TuneSettings; cacheRoot?: string } = {},
): Promise<AutoKernels> {
  await initCustomKernels();
  const gpu = GpuContext.sync();
  const id = adapterIdentity(gpu);
  const hash = await kernelSourceHash(CUSTOM_KERNEL_DESCRIPTORS);
  // A choice this adapter has no candidate for (a hand edit, another version) voids the file.
  const accept = (key: string, entry: TuningEntry) => {
    const k = parseOpKey(key);
    try {
      return k !== null && candidatesFor(gpu, k).names.includes(entry.choice);
    } catch {
      return false;
    }
  };
  const path = tuningCachePath(id, hash, options.cacheRoot);
  const cache = await TuningCache.open(path, id, hash, accept);
  if (cache.invalid) {
    (options.log ?? ((l: string) => console.error(l)))(
      `kernels auto: ignoring the tuning cache ${path} (${cache.invalid}); its shapes are measured again`,
    );
  }
  for (const [, entry] of cache.choices()) {
    const v = variantOf(entry.choice);
    if (v !== "stock" && v?.tiles) await compileConvTiles(gpu, v.tiles);
  }
  return new AutoKernels(cache, CUSTOM_KERNELS, options.log, options.settings);
}
