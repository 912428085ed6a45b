/**
 * Stylization on every core: a {@link WorkerPool} of `src/style/worker.ts`
 * workers, each with its own tfjs backend and VGG19, fed stylization tasks
 * from one queue. tfjs-wasm runs one thread per instance here, so one
 * process uses one core; N workers use N. Images are decoded and encoded by
 * the caller (sharp stays on the main thread); a task carries RGB pixels in
 * and gets RGB pixels, loss histories and best steps back.
 *
 * Outputs are the same as in-process {@link stylizeBatch} on the same
 * backend: each task runs whole on one worker, and the wasm and cpu backends
 * are deterministic.
 *
 * @example
 * ```ts
 * import { StylePool } from "./pool.ts";
 * import { loadImage } from "../images/io.ts";
 * const style = await loadImage("../shared/data/styles/composition_vii.jpg", { longSide: 64 });
 * const content = await loadImage("photo.jpg", { exact: { width: 64, height: 64 } });
 * const pool = await StylePool.start({
 *   workers: 2, backend: "wasm", weights: "../shared/weights/vgg19-tfjs",
 *   contentLayer: "block3_conv4", styleLayers: ["block1_conv1", "block2_conv1", "block3_conv1"],
 *   style,
 * });
 * try {
 *   await pool.run([{
 *     id: "photo", contents: [content], iterations: 20, init: "content", seed: 0,
 *     settings: { alpha: 1e3, beta: 1, adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 } },
 *   }], (r) => console.log(r.id, r.images[0].width, r.bestSteps[0]));
 * } finally {
 *   pool.close();
 * }
 * ```
 * @module
 */
import { type BackendChoice, type BackendName, probeAdapter } from "../tf.ts";
import type { RgbImage } from "../images/io.ts";
import { UserError } from "../util/errors.ts";
import { type PoolStats, reviveRemoteError, WorkerPool } from "../util/pool.ts";
import type { JobPool } from "../util/runner.ts";
import { type GatysConfig, type LossValues, NonFiniteLossError } from "./engine.ts";
import type { LossRecord, ScaleInfo, ScaleStep } from "./run.ts";
import type { Pooling } from "../vgg/model.ts";

/**
 * The optimisation settings of a task: everything of {@link GatysConfig}
 * except the layers (fixed per pool), the start image and the seed (per
 * task). A plain, structured-cloneable object, e.g. `{ alpha, beta, adam }`
 * (plus the optimizer fields when the engine has them).
 *
 * @example
 * ```ts
 * import type { StyleSettings } from "./pool.ts";
 * const s: StyleSettings = {
 *   alpha: 1e3, beta: 1, adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 },
 * };
 * ```
 */
export type StyleSettings = Omit<GatysConfig, "contentLayer" | "styleLayers" | "init" | "seed">;

/**
 * One stylization: a batch of same-sized content images optimised together.
 *
 * @example
 * ```ts
 * import type { StyleTask } from "./pool.ts";
 * declare const img: import("../images/io.ts").RgbImage;
 * declare const settings: import("./pool.ts").StyleSettings;
 * const t: StyleTask = {
 *   id: "crab/image_0001.jpg@medium", contents: [img], settings, iterations: 100,
 *   init: "content", seed: 0,
 * };
 * ```
 */
export interface StyleTask {
  /** Unique within a run; results, ticks and errors name it. */
  id: string;
  /** RGB in [0, 255], all the same size. */
  contents: RgbImage[];
  settings: StyleSettings;
  /** Update steps; 0 evaluates iteration 0 only. */
  iterations: number;
  /** Start from the contents, seeded noise, or this image (the contents' size; used for every item). */
  init: "content" | "random" | RgbImage;
  seed: number;
  /** The style image for this task; default the pool's {@link StylePoolOptions.style}. */
  style?: RgbImage;
  /** Also send the current images every this many iterations (see {@link StyleRunEvents.onSnapshot}). */
  snapshotEvery?: number;
  /**
   * Coarse to fine, or several style images: the scales to run (see
   * `stylizeScales`); when given, `contents`, `style` and `iterations` are not used.
   */
  scales?: ScaleStep[];
}

/**
 * A finished task.
 *
 * @example
 * ```ts
 * import type { StyleResult } from "./pool.ts";
 * const onResult = (r: StyleResult) => console.log(r.id, r.bestSteps, r.histories[0].at(-1));
 * ```
 */
export interface StyleResult {
  id: string;
  /** The lowest-total-loss image of each batch item. */
  images: RgbImage[];
  /** Per batch item: iterations + 1 loss records, from iteration 0. */
  histories: LossRecord[][];
  /** Per batch item: the iteration whose image was returned (null when `iterations` is 0). */
  bestSteps: (number | null)[];
  /** Worker slot that ran it. */
  worker: number;
  /** Seconds the worker spent on it. */
  seconds: number;
  /** The last iteration evaluated when a stop ended the task early; null when it ran to the end. */
  stoppedAt: number | null;
}

/**
 * One evaluated iteration of a running task (each iteration is reported once, redos excepted).
 *
 * @example
 * ```ts
 * import type { StyleTick } from "./pool.ts";
 * const onIteration = (t: StyleTick) => console.log(t.id, t.iteration, t.losses[0].total_loss);
 * ```
 */
export interface StyleTick {
  id: string;
  iteration: number;
  /** Per batch item. */
  losses: LossValues[];
  /** Seconds since the task started on its worker. */
  seconds: number;
  worker: number;
  /** Coarse to fine: the scale this iteration belongs to. */
  scale?: ScaleInfo;
}

/**
 * Intermediate images of a task with `snapshotEvery`.
 *
 * @example
 * ```ts
 * import type { StyleSnapshot } from "./pool.ts";
 * const onSnapshot = (s: StyleSnapshot) => console.log(s.id, s.iteration, s.images.length);
 * ```
 */
export interface StyleSnapshot {
  id: string;
  iteration: number;
  images: RgbImage[];
}

/**
 * Per-run callbacks besides the results. Called one at a time, in arrival order.
 *
 * @example
 * ```ts
 * import type { StyleRunEvents } from "./pool.ts";
 * import { Progress } from "../util/progress.ts";
 * const bar = new Progress("stylize", 10 * 101, "it");
 * const events: StyleRunEvents = { onIteration: () => bar.tick() };
 * ```
 */
export interface StyleRunEvents {
  /** After every evaluated iteration of every task (drives a Progress bar or a loss log). */
  onIteration?: (tick: StyleTick) => void | Promise<void>;
  onSnapshot?: (snapshot: StyleSnapshot) => void | Promise<void>;
}

/**
 * How to start a {@link StylePool}.
 *
 * @example
 * ```ts
 * import type { StylePoolOptions } from "./pool.ts";
 * const opts: StylePoolOptions = {
 *   workers: 2, backend: "wasm", kernels: "auto", weights: "../shared/weights/vgg19-tfjs",
 *   contentLayer: "block3_conv4", styleLayers: ["block1_conv1", "block2_conv1", "block3_conv1"],
 * };
 * ```
 */
export interface StylePoolOptions {
  /** Number of workers (see {@link defaultWorkerCount}). */
  workers: number;
  backend: BackendChoice;
  /** `--kernels`: auto | custom | stock. Default "auto". */
  kernels?: string;
  /** VGG19 weights: tfjs model dir or Keras .h5 (each worker loads it). */
  weights: string;
  contentLayer: string;
  styleLayers: string[];
  /** Default style image of every task (a task may bring its own). */
  style?: RgbImage;
  /** VGG19's pool between blocks (`--pooling`); default max. */
  pooling?: Pooling;
  /**
   * A graceful stop: an `Int32Array(1)` over this buffer; storing non-zero makes
   * every running task stop at its next step and return its best image so far
   * ({@link StyleResult.stoppedAt}). The caller stops feeding tasks.
   */
  stop?: SharedArrayBuffer;
  /** Redos of a task whose worker died. Default 2. */
  maxRetries?: number;
  /** Where the start line and fault notices go. Default console.error. */
  log?: (line: string) => void;
  /** Test hook: called whenever a task is sent to a worker. */
  onJobStart?: (id: string, worker: number, attempt: number) => void;
}

/**
 * The worker's init message.
 *
 * @example
 * ```ts
 * import type { StyleWorkerInit } from "./pool.ts";
 * const init: StyleWorkerInit = {
 *   backend: "wasm", kernels: "stock", weights: "w/", contentLayer: "block3_conv4",
 *   styleLayers: ["block1_conv1"], style: null, stop: null,
 * };
 * ```
 */
export interface StyleWorkerInit {
  backend: BackendChoice;
  kernels: string;
  weights: string;
  contentLayer: string;
  styleLayers: string[];
  style: RgbImage | null;
  /** VGG19's pool between blocks; absent: max. */
  pooling?: Pooling;
  /** Int32Array(1) flag: non-zero asks running tasks to stop at their next step. */
  stop: SharedArrayBuffer | null;
}

/**
 * What a worker reports once ready.
 *
 * @example
 * ```ts
 * import type { StyleWorkerInfo } from "./pool.ts";
 * const info: StyleWorkerInfo = {
 *   backend: "wasm", line: "backend: wasm [--backend wasm]", kernels: "stock", wasmThreads: 1,
 * };
 * ```
 */
export interface StyleWorkerInfo {
  backend: BackendName;
  /** initBackend's log line. */
  line: string;
  kernels: "stock" | "custom" | "auto";
  /** tfjs-wasm's thread count (wasm only). */
  wasmThreads: number | null;
}

/**
 * A task as sent to a worker.
 *
 * @example
 * ```ts
 * import type { StyleJob, StyleTask } from "./pool.ts";
 * declare const task: StyleTask;
 * const { id, ...job }: { id: string } & StyleJob = task;
 * ```
 */
export type StyleJob = Omit<StyleTask, "id">;

/**
 * What a worker sends back for a task.
 *
 * @example
 * ```ts
 * import type { StyleJobResult } from "./pool.ts";
 * declare const r: StyleJobResult;
 * console.log(r.images.length, r.seconds);
 * ```
 */
export interface StyleJobResult {
  images: RgbImage[];
  histories: LossRecord[][];
  bestSteps: (number | null)[];
  seconds: number;
  stoppedAt: number | null;
}

/**
 * Progress messages from a worker.
 *
 * @example
 * ```ts
 * import type { StyleProgress } from "./pool.ts";
 * const p: StyleProgress = { kind: "tick", iteration: 0, losses: [], seconds: 0 };
 * ```
 */
export type StyleProgress =
  | {
    kind: "tick";
    iteration: number;
    /** Ticks of the task so far (iterations restart at every scale; this does not). */
    seq?: number;
    scale?: ScaleInfo;
    losses: LossValues[];
    seconds: number;
  }
  | { kind: "snapshot"; iteration: number; images: RgbImage[] };

/**
 * The default number of workers for a backend: one per core
 * (`navigator.hardwareConcurrency`) on the CPU backends; 1 on webgpu (and
 * `auto` when it would pick webgpu), where workers would share one GPU.
 *
 * @example
 * ```ts
 * import { defaultWorkerCount } from "./pool.ts";
 * console.log(await defaultWorkerCount("wasm")); // e.g. 2 on a 2-core machine
 * ```
 */
export async function defaultWorkerCount(backend: BackendChoice): Promise<number> {
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  if (backend === "webgpu") return 1;
  if (backend === "auto") {
    const found = await probeAdapter();
    if (found && !found.fallback) return 1;
  }
  return cores;
}

/** A remote error as a local one: UserError and NonFiniteLossError keep their class. */
function revive(e: unknown): unknown {
  return reviveRemoteError(e, [UserError, NonFiniteLossError]);
}

/**
 * A pool of stylization workers. Start it once (each worker sets up its
 * backend and VGG19), run any number of task lists through it, close it.
 *
 * @example
 * ```ts
 * import { StylePool } from "./pool.ts";
 * declare const style: import("../images/io.ts").RgbImage;
 * const pool = await StylePool.start({
 *   workers: 2, backend: "wasm", weights: "w/", contentLayer: "block3_conv4",
 *   styleLayers: ["block1_conv1"], style,
 * });
 * console.log(pool.workers, pool.backend); // 2 wasm
 * pool.close();
 * ```
 */
export class StylePool {
  private constructor(
    private readonly pool: WorkerPool<
      StyleWorkerInit,
      StyleJob,
      StyleJobResult,
      StyleWorkerInfo,
      StyleProgress
    >,
    private readonly hooks: {
      progress: ((id: string, p: StyleProgress, w: number) => void) | null;
    },
  ) {}

  /**
   * Start `workers` workers and wait until each has its backend, kernels and
   * VGG19 ready; logs one line with the count and the backend. A worker's
   * UserError (unknown kernels, no WebGPU adapter, missing weights) is
   * rethrown as a UserError with the same message.
   */
  static async start(opts: StylePoolOptions): Promise<StylePool> {
    const log = opts.log ?? ((l: string) => console.error(l));
    const init: StyleWorkerInit = {
      backend: opts.backend,
      kernels: opts.kernels ?? "auto",
      weights: opts.weights,
      contentLayer: opts.contentLayer,
      styleLayers: opts.styleLayers,
      style: opts.style ?? null,
      ...(opts.pooling ? { pooling: opts.pooling } : {}),
      stop: opts.stop ?? null,
    };
    const hooks: { progress: ((id: string, p: StyleProgress, w: number) => void) | null } = {
      progress: null,
    };
    let pool;
    try {
      pool = await WorkerPool.start<
        StyleWorkerInit,
        StyleJob,
        StyleJobResult,
        StyleWorkerInfo,
        StyleProgress
      >({
        url: new URL("./worker.ts", import.meta.url),
        size: opts.workers,
        init: () => init,
        maxRetries: opts.maxRetries,
        onProgress: (id, p, w) => hooks.progress?.(id, p, w),
        onJobStart: opts.onJobStart,
        log,
        name: "stylize",
      });
    } catch (e) {
      throw revive(e);
    }
    const sp = new StylePool(pool, hooks);
    const info = pool.infos[0];
    log(
      `stylize pool: ${opts.workers} worker(s), each ${
        info.line.replace(/^backend: /, "backend ")
      }` +
        `, kernels ${info.kernels}${
          info.wasmThreads !== null ? `, ${info.wasmThreads} wasm thread(s) each` : ""
        }`,
    );
    return sp;
  }

  /** Number of workers. */
  get workers(): number {
    return this.pool.size;
  }

  /** The backend the workers run on. */
  get backend(): BackendName {
    return this.pool.infos[0].backend;
  }

  /** The kernel set the workers use. */
  get kernels(): "stock" | "custom" | "auto" {
    return this.pool.infos[0].kernels;
  }

  /** Job counters (started, completed, redone) and worker counters. */
  get stats(): PoolStats {
    return this.pool.stats;
  }

  /**
   * Run `tasks` (pulled as workers free up, so an async generator may decode
   * images lazily) and call `onResult` for each finished task in completion
   * order. Callbacks (results, ticks, snapshots) run one at a time. Rejects on
   * the first failed task: a UserError or NonFiniteLossError thrown in a
   * worker comes back as that class with the message prefixed by
   * `job <id>: `; other errors as `JobFailedError`; a task whose worker
   * died more than `maxRetries` times as a `WorkerDiedError`.
   */
  async run(
    tasks: Iterable<StyleTask> | AsyncIterable<StyleTask>,
    onResult: (result: StyleResult) => void | Promise<void>,
    events: StyleRunEvents = {},
  ): Promise<void> {
    // Per task, the last iteration reported: a redone task repeats none.
    const lastTick = new Map<string, number>();
    const lastSnap = new Map<string, number>();
    let chain: Promise<void> = Promise.resolve();
    const enqueue = (f: () => void | Promise<void>) => {
      chain = chain.then(f);
      return chain;
    };
    this.hooks.progress = (id, p, worker) => {
      const seen = p.kind === "tick" ? lastTick : lastSnap;
      const n = p.kind === "tick" ? p.seq ?? p.iteration : p.iteration;
      if (n <= (seen.get(id) ?? -1)) return;
      seen.set(id, n);
      if (p.kind === "tick") {
        const f = events.onIteration;
        if (f) {
          const { iteration, losses, seconds, scale } = p;
          enqueue(() => f({ id, iteration, losses, seconds, worker, ...(scale ? { scale } : {}) }))
            .catch(() => {}); // surfaces at the task's result
        }
      } else if (events.onSnapshot) {
        const f = events.onSnapshot;
        enqueue(() => f({ id, iteration: p.iteration, images: p.images })).catch(() => {});
      }
    };
    async function* jobs() {
      for await (const t of tasks) {
        const { id, ...job } = t;
        yield { id, job };
      }
    }
    try {
      await this.pool.run(jobs(), ({ id, result, worker }) =>
        enqueue(() =>
          onResult({
            id,
            images: result.images,
            histories: result.histories,
            bestSteps: result.bestSteps,
            seconds: result.seconds,
            stoppedAt: result.stoppedAt,
            worker,
          })
        ));
      await chain;
    } catch (e) {
      throw revive(e);
    } finally {
      this.hooks.progress = null;
    }
  }

  /**
   * This pool as `runJobs` (`src/util/runner.ts`) drives it: jobs as `{ id, job }`, and each
   * tick and snapshot to `onProgress` as the worker sent it.
   */
  jobPool(
    onProgress: (id: string, progress: StyleProgress) => Promise<void>,
  ): JobPool<StyleJob, StyleJobResult> {
    return {
      run: (jobs, onResult) => {
        async function* tasks(): AsyncGenerator<StyleTask> {
          for await (const { id, job } of jobs) {
            yield { id, ...job };
          }
        }
        return this.run(tasks(), (r) => onResult({ id: r.id, result: r }), {
          onIteration: ({ id, iteration, losses, seconds, scale }) =>
            onProgress(id, {
              kind: "tick",
              iteration,
              losses,
              seconds,
              ...(scale ? { scale } : {}),
            }),
          onSnapshot: ({ id, iteration, images }) =>
            onProgress(id, { kind: "snapshot", iteration, images }),
        });
      },
      close: () => this.close(),
    };
  }

  /** Test hook: kill worker `index` as if it crashed; its task is redone on a replacement. */
  terminateWorker(index: number): boolean {
    return this.pool.terminateWorker(index);
  }

  /** Terminate every worker. Safe to call twice. */
  close(): void {
    this.pool.close();
  }
}
