/**
 * Worker entry of the classifier-training pool: one tfjs backend, one
 * frozen backbone and one feature cache per worker; runs {@link trainJob}.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "../util/pool.ts";
 * const pool = await WorkerPool.start({
 *   url: new URL("./train_worker.ts", import.meta.url), size: 2,
 *   init: () => ({ backend: "wasm", weights: "../shared/weights/vgg19-tfjs", backbone: true }),
 * });
 * pool.close();
 * ```
 * @module
 */
import { type BackendChoice, initBackend } from "../tf.ts";
import { serveWorker } from "../util/pool.ts";
import { type Backbone, type FeatureCache, loadBackbone } from "./classifier.ts";
import { type TrainJob, trainJob, type TrainOutcome } from "./train_tasks.ts";

/** What every training worker is set up with. */
export interface TrainWorkerInit {
  backend: string;
  weights: string;
  /** Load the frozen VGG backbone (needed by transfer jobs). */
  backbone: boolean;
  /** `--kernels`: `custom` or `auto` on webgpu registers our kernels for the CNN's tfjs ops. */
  kernels?: string;
}

let backbone: Backbone | null = null;
const features: FeatureCache = new Map();

serveWorker<TrainWorkerInit, TrainJob, TrainOutcome, string>({
  async init(init) {
    const b = await initBackend(init.backend as BackendChoice);
    const reg = b.name === "webgpu" ? await import("../gpu/register.ts") : null;
    await reg?.registerForKernelChoice(init.kernels ?? "stock", b.name);
    if (init.backbone) backbone = await loadBackbone(init.weights);
    return b.name;
  },
  async run(job) {
    return { result: await trainJob(job, { backbone, features }) };
  },
});
