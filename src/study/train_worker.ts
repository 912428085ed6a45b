/**
 * Worker entry of the classifier-training pool: one tfjs backend, one
 * frozen backbone and one feature cache per worker, set up and run as in
 * this process ({@link trainJobsHere}).
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
import { serveWorker } from "../util/pool.ts";
import { type TrainJob, trainJobsHere, type TrainOutcome, type TrainSetup } from "./train_tasks.ts";

let trainer: Awaited<ReturnType<typeof trainJobsHere>> | null = null;

serveWorker<TrainSetup, TrainJob, TrainOutcome, string>({
  async init(init) {
    trainer = await trainJobsHere(init);
    return trainer.backend;
  },
  async run(job) {
    return { result: await trainer!.run(job) };
  },
});
