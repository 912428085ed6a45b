/**
 * Run a list of jobs here (in this process, one after the other, on a backend
 * and model set up once, on the first job) or on a worker pool, with one
 * behaviour either way:
 *
 * - results are committed (`onResult`) one at a time, in completion order;
 *   progress and results never interleave their callbacks;
 * - a stop ({@link JobStop}) starts no further job: running ones finish and are
 *   committed, then {@link JobStop.onStopped} runs;
 * - a job's error surfaces with the same class in both modes: on a pool,
 *   `UserError` and the classes named in {@link RunJobsOptions.errors} come
 *   back as themselves (message `<label>: <message>`), see {@link reviveRemoteError};
 *   a worker that keeps dying is a `WorkerDiedError`;
 * - what was set up (the model here, the workers there) is disposed at the end.
 *
 * @example
 * ```ts
 * import { runJobs } from "./runner.ts";
 * import { WorkerPool } from "./pool.ts";
 * await runJobs([1, 2, 3].map((n) => () => ({ id: String(n), job: n })), {
 *   workers: navigator.hardwareConcurrency > 1 ? 2 : "here",
 *   here: () => Promise.resolve({ run: (n: number) => Promise.resolve(n * n) }),
 *   pool: (size) =>
 *     WorkerPool.start<null, number, number>({
 *       url: new URL("./square_worker.ts", import.meta.url), size, init: () => null,
 *     }),
 *   onResult: (id, square) => console.log(id, square),
 * });
 * ```
 * @module
 */
import { UserError } from "./errors.ts";
import { type ErrorClass, JobFailedError, type PoolJob, reviveRemoteError } from "./pool.ts";

/**
 * A job made when it is about to start (so a list of many holds no pixels until then).
 *
 * @example
 * ```ts
 * import type { LazyJob } from "./runner.ts";
 * const job: LazyJob<number[]> = () => ({ id: "a", job: [1, 2, 3] });
 * ```
 */
export type LazyJob<Job> = () => PoolJob<Job> | Promise<PoolJob<Job>>;

/**
 * What a job run here gets besides the job.
 *
 * @example
 * ```ts
 * import type { HereContext } from "./runner.ts";
 * const tick = (ctx: HereContext<number>, it: number) => ctx.progress(it);
 * ```
 */
export interface HereContext<Progress> {
  id: string;
  /** Report progress; resolves once the caller's progress callback has run. */
  progress(progress: Progress): Promise<void>;
}

/**
 * Runs jobs in this process, on what {@link RunJobsOptions.here} set up.
 *
 * @example
 * ```ts
 * import type { HereRunner } from "./runner.ts";
 * const squares: HereRunner<number, number> = { run: (n) => Promise.resolve(n * n) };
 * ```
 */
export interface HereRunner<Job, Result, Progress = never> {
  run(job: Job, ctx: HereContext<Progress>): Promise<Result>;
  /** Free what the setup made (a model's weights); called once, after the last job. */
  dispose?(): void;
}

/**
 * A started pool as the runner drives it: a {@link WorkerPool} is one as it is.
 * `run` delivers results one at a time and rejects with the first job's error.
 *
 * @example
 * ```ts
 * import type { JobPool } from "./runner.ts";
 * declare const pool: import("./pool.ts").WorkerPool<null, number, number>;
 * const p: JobPool<number, number> = pool;
 * ```
 */
export interface JobPool<Job, Result> {
  run(
    jobs: AsyncIterable<PoolJob<Job>>,
    onResult: (r: { id: string; result: Result }) => void | Promise<void>,
  ): Promise<void>;
  close(): void;
}

/**
 * A graceful stop: once `requested`, no further job starts.
 *
 * @example
 * ```ts
 * import type { JobStop } from "./runner.ts";
 * let asked = false;
 * const stop: JobStop = { requested: () => asked, onStopped: () => console.log("stopped") };
 * ```
 */
export interface JobStop {
  requested(): boolean;
  /** Runs after the running jobs finished and were committed, when a stop was requested (e.g. throw the exit error). */
  onStopped?(): void;
}

/**
 * How {@link runJobs} runs.
 *
 * @example
 * ```ts
 * import type { RunJobsOptions } from "./runner.ts";
 * const opts: RunJobsOptions<number, number> = {
 *   workers: "here",
 *   here: () => Promise.resolve({ run: (n) => Promise.resolve(n * n) }),
 *   pool: () => Promise.reject(new Error("not used here")),
 *   onResult: (id, r) => console.log(id, r),
 * };
 * ```
 */
export interface RunJobsOptions<Job, Result, Progress = never> {
  /** `"here"`: in this process, one job at a time; a number: a pool of that many workers (at most one per job). */
  workers: number | "here";
  /** Set up this process (backend, model) and return its runner; called once, before the first job here. */
  here: () => Promise<HereRunner<Job, Result, Progress>>;
  /** Start a pool of `size` workers that sends each job's progress to `onProgress`. */
  pool: (
    size: number,
    onProgress: (id: string, progress: Progress) => Promise<void>,
  ) => Promise<JobPool<Job, Result>>;
  /** Commit a finished job (called one at a time, in completion order). */
  onResult: (id: string, result: Result) => void | Promise<void>;
  /** Progress of a running job. */
  onProgress?: (id: string, progress: Progress) => void | Promise<void>;
  stop?: JobStop;
  /** Error classes a pool job's error keeps besides `UserError`. */
  errors?: readonly ErrorClass[];
  /** How a pool job's error names the job; default `job <id>`. */
  label?: (id: string) => string;
}

/**
 * Run `jobs` here or on a pool (see the module doc). Resolves when every job
 * started was committed; an empty list sets nothing up.
 *
 * @example
 * ```ts
 * import { runJobs } from "./runner.ts";
 * const out: number[] = [];
 * await runJobs([() => ({ id: "a", job: 3 })], {
 *   workers: "here",
 *   here: () => Promise.resolve({ run: (n: number) => Promise.resolve(n * n) }),
 *   pool: () => Promise.reject(new Error("not used here")),
 *   onResult: (_id, r) => {
 *     out.push(r);
 *   },
 * });
 * console.log(out); // [9]
 * ```
 */
export async function runJobs<Job, Result, Progress = never>(
  jobs: readonly LazyJob<Job>[],
  opts: RunJobsOptions<Job, Result, Progress>,
): Promise<void> {
  if (jobs.length === 0) return;
  try {
    if (opts.workers === "here") await runHere(jobs, opts);
    else await runOnPool(jobs, Math.min(opts.workers, jobs.length), opts);
  } catch (e) {
    throw revive(e, opts);
  }
  if (opts.stop?.requested()) opts.stop.onStopped?.();
}

async function runHere<Job, Result, Progress>(
  jobs: readonly LazyJob<Job>[],
  opts: RunJobsOptions<Job, Result, Progress>,
): Promise<void> {
  let runner: HereRunner<Job, Result, Progress> | null = null;
  try {
    for (const make of jobs) {
      if (opts.stop?.requested()) break;
      runner ??= await opts.here();
      const { id, job } = await make();
      const result = await runner.run(job, {
        id,
        progress: async (p) => await opts.onProgress?.(id, p),
      });
      await opts.onResult(id, result);
    }
  } finally {
    runner?.dispose?.();
  }
}

async function runOnPool<Job, Result, Progress>(
  jobs: readonly LazyJob<Job>[],
  size: number,
  opts: RunJobsOptions<Job, Result, Progress>,
): Promise<void> {
  // Progress and results go through one chain, so their callbacks never overlap.
  let chain: Promise<void> = Promise.resolve();
  const serial = (f: () => void | Promise<void>) => (chain = chain.then(f));
  const pool = await opts.pool(size, (id, p) => {
    // A failing progress callback fails the run at the next result, or at the end.
    const done = serial(() => opts.onProgress?.(id, p));
    done.catch(() => {});
    return done;
  });
  async function* feed(): AsyncGenerator<PoolJob<Job>> {
    // Made as the pool pulls them: after a stop, none is made or started.
    for (const make of jobs) {
      if (opts.stop?.requested()) return;
      yield await make();
    }
  }
  try {
    await pool.run(feed(), ({ id, result }) => serial(() => opts.onResult(id, result)));
    await chain;
  } finally {
    pool.close();
  }
}

/** A pool error as the job's own (see {@link reviveRemoteError}), naming the job with `label`. */
function revive(
  e: unknown,
  opts: { errors?: readonly ErrorClass[]; label?: (id: string) => string },
) {
  // Already revived by a pool of its own (StylePool): again from the source, to use `label`.
  if (e instanceof Error && e.cause instanceof JobFailedError) {
    return reviveRemoteError(e.cause, [e.constructor as ErrorClass], opts.label);
  }
  return reviveRemoteError(e, [UserError, ...opts.errors ?? []], opts.label);
}
