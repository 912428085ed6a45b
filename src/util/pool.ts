/**
 * A generic pool of Deno module workers fed from one FIFO queue, so that
 * CPU-bound work (one tfjs backend per worker) uses every core.
 *
 * The protocol is small: every worker first gets one `init` message (and
 * answers `ready` with some info) before any job; after that it holds at
 * most one job at a time, may send progress messages for it, and answers
 * with the job's result or its error. Worker code uses {@link serveWorker};
 * the main thread uses {@link WorkerPool}.
 *
 * Faults: a worker that dies (an uncaught error or rejection, `Deno.exit`,
 * `process.exit` or `self.close()` inside it, or {@link WorkerPool.terminateWorker})
 * is replaced by a fresh one and the job it held is redone, at most
 * `maxRetries` times, after which the run fails with a {@link WorkerDiedError}
 * naming the job. A job that throws inside a healthy worker is not retried:
 * the run fails with a {@link JobFailedError} carrying the remote error's
 * class name and message, and the caller decides what it means. No job runs
 * twice unless its worker died. Jobs are sent by structured clone (the pool
 * keeps them for a possible redo); results come back transferred.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "./pool.ts";
 * const pool = await WorkerPool.start<{ scale: number }, number, number>({
 *   url: new URL("./my_worker.ts", import.meta.url),
 *   size: 2,
 *   init: () => ({ scale: 10 }),
 * });
 * try {
 *   await pool.run([{ id: "a", job: 1 }, { id: "b", job: 2 }], ({ id, result }) => {
 *     console.log(id, result); // completion order
 *   });
 * } finally {
 *   pool.close();
 * }
 * ```
 * @module
 */
import process from "node:process";

/**
 * An error as it crosses the worker boundary: the class name, message and stack.
 *
 * @example
 * ```ts
 * import type { RemoteError } from "./pool.ts";
 * const e: RemoteError = { name: "UserError", message: "--size: expected a positive integer" };
 * ```
 */
export interface RemoteError {
  /** The thrown object's class name (`constructor.name`), e.g. "UserError". */
  name: string;
  message: string;
  stack?: string;
}

/**
 * A job that threw inside a healthy worker. Not retried; the run that ran it fails with this.
 *
 * @example
 * ```ts
 * import { JobFailedError } from "./pool.ts";
 * const e = new JobFailedError("a", { name: "UserError", message: "bad input" });
 * console.log(e.message); // job a: bad input
 * ```
 */
export class JobFailedError extends Error {
  constructor(readonly jobId: string, readonly remote: RemoteError) {
    super(`job ${jobId}: ${remote.message}`);
    this.name = "JobFailedError";
  }
}

/**
 * A job whose worker died more often than the pool's `maxRetries` allows.
 *
 * @example
 * ```ts
 * import { WorkerDiedError } from "./pool.ts";
 * console.log(new WorkerDiedError("a", 3, "terminated").message);
 * ```
 */
export class WorkerDiedError extends Error {
  constructor(readonly jobId: string, readonly attempts: number, readonly reason: string) {
    super(`job ${jobId}: its worker died ${attempts} time(s), last: ${reason}; giving up`);
    this.name = "WorkerDiedError";
  }
}

/**
 * A worker whose `init` failed (it threw, or the worker died before it was ready).
 *
 * @example
 * ```ts
 * import { WorkerInitError } from "./pool.ts";
 * const e = new WorkerInitError(0, { name: "UserError", message: "no weights" });
 * console.log(e.remote.name, e.message); // UserError worker 0: init failed: no weights
 * ```
 */
export class WorkerInitError extends Error {
  constructor(readonly worker: number, readonly remote: RemoteError) {
    super(`worker ${worker}: init failed: ${remote.message}`);
    this.name = "WorkerInitError";
  }
}

/**
 * An error class whose instances a pool can give back as themselves (see {@link reviveRemoteError}).
 *
 * @example
 * ```ts
 * import type { ErrorClass } from "./pool.ts";
 * const classes: ErrorClass[] = [RangeError, TypeError];
 * ```
 */
export type ErrorClass = new (message: string) => Error;

/**
 * A pool error as the error its job or init threw: a {@link JobFailedError} or
 * {@link WorkerInitError} whose remote class is one of `classes` becomes a new
 * error of that class (`cause`: the pool error), with the message
 * `<label(id)>: <message>` for a job and the remote message for an init. Any
 * other error is returned unchanged.
 *
 * @example
 * ```ts
 * import { JobFailedError, reviveRemoteError } from "./pool.ts";
 * const e = new JobFailedError("7", { name: "RangeError", message: "too big" });
 * const r = reviveRemoteError(e, [RangeError], (id) => `batch ${id}`);
 * console.log(r instanceof RangeError, (r as Error).message); // true batch 7: too big
 * ```
 */
export function reviveRemoteError(
  e: unknown,
  classes: readonly ErrorClass[],
  label: (id: string) => string = (id) => `job ${id}`,
): unknown {
  if (!(e instanceof JobFailedError || e instanceof WorkerInitError)) return e;
  const Class = classes.find((c) => c.name === e.remote.name);
  if (!Class) return e;
  const r = new Class(
    e instanceof JobFailedError ? `${label(e.jobId)}: ${e.remote.message}` : e.remote.message,
  );
  r.cause = e;
  return r;
}

/**
 * One unit of work: a unique id (per run) and a structured-cloneable payload.
 *
 * @example
 * ```ts
 * import type { PoolJob } from "./pool.ts";
 * const job: PoolJob<number[]> = { id: "job-1", job: [1, 2, 3] };
 * ```
 */
export interface PoolJob<Job> {
  id: string;
  job: Job;
}

/**
 * A finished job, delivered in completion order.
 *
 * @example
 * ```ts
 * import type { PoolResult } from "./pool.ts";
 * const onResult = (r: PoolResult<number>) => console.log(r.id, r.result, r.worker);
 * ```
 */
export interface PoolResult<Result> {
  id: string;
  result: Result;
  /** The worker slot (0-based) that ran it. */
  worker: number;
}

/**
 * How to start a {@link WorkerPool}.
 *
 * @example
 * ```ts
 * import type { WorkerPoolOptions } from "./pool.ts";
 * const opts: WorkerPoolOptions<{ scale: number }, string, number> = {
 *   url: new URL("./my_worker.ts", import.meta.url), size: navigator.hardwareConcurrency,
 *   init: () => ({ scale: 2 }), maxRetries: 2, onProgress: (id, pct) => console.log(id, pct),
 * };
 * ```
 */
export interface WorkerPoolOptions<Init, Info, Progress> {
  /** The worker module; it must call {@link serveWorker}. */
  url: URL | string;
  /** Number of workers (>= 1). */
  size: number;
  /** The init payload of worker `index` (called again for a replacement worker). */
  init: (index: number) => Init;
  /** Redos of one job after its worker died, before the run fails. Default 2. */
  maxRetries?: number;
  /** Progress sent by a worker for the job it holds. */
  onProgress?: (id: string, progress: Progress, worker: number) => void;
  /** Called whenever a job is sent to a worker (`attempt` 0 first, then 1.. for redos). */
  onJobStart?: (id: string, worker: number, attempt: number) => void;
  /** Called when a worker slot (replaced or not) produced `info` at init. */
  onWorkerReady?: (worker: number, info: Info) => void;
  /** Where fault notices go (a worker died, a job is redone). Default console.error. */
  log?: (line: string) => void;
  /** Worker name prefix, shown in Deno's error messages. Default "pool". */
  name?: string;
}

/**
 * Counters, mainly for tests and benchmarks.
 *
 * @example
 * ```ts
 * import type { PoolStats } from "./pool.ts";
 * declare const stats: PoolStats;
 * console.log(stats.jobsStarted - stats.jobsRedone); // jobs sent once
 * ```
 */
export interface PoolStats {
  /** Jobs sent to a worker, redos included. */
  jobsStarted: number;
  jobsCompleted: number;
  /** Jobs sent again because their worker died. */
  jobsRedone: number;
  /** Workers created, replacements included. */
  workersStarted: number;
  workerDeaths: number;
}

/**
 * What the pool sends to a worker.
 *
 * @example
 * ```ts
 * import type { ToWorker } from "./pool.ts";
 * const m: ToWorker<null, number> = { type: "job", id: "a", attempt: 0, job: 1 };
 * ```
 */
export type ToWorker<Init, Job> =
  | { type: "init"; index: number; init: Init }
  | { type: "job"; id: string; attempt: number; job: Job };

/**
 * What a worker sends to the pool.
 *
 * @example
 * ```ts
 * import type { FromWorker } from "./pool.ts";
 * const m: FromWorker<string, number, number> = { type: "result", id: "a", result: 2 };
 * ```
 */
export type FromWorker<Info, Result, Progress> =
  | { type: "ready"; info: Info }
  | { type: "init-error"; error: RemoteError }
  | { type: "progress"; id: string; progress: Progress }
  | { type: "result"; id: string; result: Result }
  | { type: "error"; id: string; error: RemoteError }
  | { type: "exit"; reason: string };

/**
 * What a worker's job handler gets besides the job.
 *
 * @example
 * ```ts
 * import type { JobContext } from "./pool.ts";
 * const tick = (ctx: JobContext<number>, it: number) => ctx.progress(it);
 * ```
 */
export interface JobContext<Progress> {
  id: string;
  /** 0 on the first try, 1.. when redone after a worker died. */
  attempt: number;
  /** Send progress for this job to the pool (the transfer list is optional). */
  progress(progress: Progress, transfer?: Transferable[]): void;
}

/**
 * The worker side: set up once, then run jobs one at a time.
 *
 * @example
 * ```ts
 * import type { WorkerHandlers } from "./pool.ts";
 * const h: WorkerHandlers<null, number, number, string, never> = {
 *   init: () => "ready",
 *   run: (job) => Promise.resolve({ result: job * 2 }),
 * };
 * ```
 */
export interface WorkerHandlers<Init, Job, Result, Info, Progress> {
  init(init: Init, index: number): Info | Promise<Info>;
  /** Run one job; `transfer` lists buffers of `result` to move rather than copy. */
  run(
    job: Job,
    ctx: JobContext<Progress>,
  ): Promise<{ result: Result; transfer?: Transferable[] }>;
}

/**
 * Environment variable (test hook): a job id whose first attempt crashes its worker.
 *
 * @example
 * ```ts
 * import { CRASH_ENV } from "./pool.ts";
 * Deno.env.set(CRASH_ENV, "job-3"); // set before the pool starts its workers
 * ```
 */
export const CRASH_ENV = "NST_POOL_CRASH_JOB";

/**
 * Serialise any thrown value into a {@link RemoteError}.
 *
 * @example
 * ```ts
 * import { toRemoteError } from "./pool.ts";
 * console.log(toRemoteError(new RangeError("x")).name); // RangeError
 * ```
 */
export function toRemoteError(e: unknown): RemoteError {
  if (e instanceof Error) {
    return { name: e.constructor?.name || e.name, message: e.message, stack: e.stack };
  }
  return { name: "Error", message: String(e) };
}

/**
 * The worker side of the protocol: call once at the top of a worker module.
 * Exits through `Deno.exit`, `process.exit` or `self.close()` are reported to
 * the pool first, so the job held is redone rather than lost. Test hook: when
 * the env variable {@link CRASH_ENV} names a job, the first attempt of that
 * job crashes the worker with an uncaught error at the job's first progress
 * message (and sends nothing more), so the worker dies holding the job.
 *
 * @example
 * ```ts
 * // my_worker.ts
 * import { serveWorker } from "./pool.ts";
 * let scale = 1;
 * serveWorker<{ scale: number }, number, number, string, number>({
 *   init(init) { scale = init.scale; return "ready"; },
 *   async run(job, ctx) { ctx.progress(50); return { result: job * scale }; },
 * });
 * ```
 */
export function serveWorker<Init, Job, Result, Info = unknown, Progress = unknown>(
  handlers: WorkerHandlers<Init, Job, Result, Info, Progress>,
): void {
  const scope = globalThis as unknown as {
    postMessage(m: unknown, transfer?: Transferable[]): void;
    close(): void;
    onmessage: ((e: MessageEvent) => void) | null;
  };
  const post = (m: FromWorker<Info, Result, Progress>, transfer: Transferable[] = []) =>
    scope.postMessage(m, transfer);
  // Make every orderly way out visible to the pool (Deno fires no event for them).
  const denoExit = Deno.exit.bind(Deno);
  (Deno as { exit: (code?: number) => never }).exit = (code?: number): never => {
    post({ type: "exit", reason: `Deno.exit(${code ?? 0})` });
    return denoExit(code);
  };
  const processExit = process.exit.bind(process);
  process.exit = ((code?: number) => {
    post({ type: "exit", reason: `process.exit(${code ?? 0})` });
    return processExit(code);
  }) as typeof process.exit;
  const close = scope.close.bind(scope);
  scope.close = () => {
    post({ type: "exit", reason: "self.close()" });
    close();
  };
  let crashJob: string | undefined;
  try {
    crashJob = Deno.env.get(CRASH_ENV);
  } catch {
    crashJob = undefined; // no env permission: the hook is off
  }

  let ready: Promise<unknown> | null = null;
  scope.onmessage = (e: MessageEvent) => {
    const msg = e.data as ToWorker<Init, Job>;
    if (msg.type === "init") {
      ready = (async () => {
        try {
          post({ type: "ready", info: await handlers.init(msg.init, msg.index) });
        } catch (err) {
          post({ type: "init-error", error: toRemoteError(err) });
        }
      })();
      return;
    }
    const { id, attempt, job } = msg;
    (async () => {
      await ready;
      // Test hook: at the job's first progress, crash with an uncaught error and send nothing more.
      let crashed = false;
      const crashing = crashJob === id && attempt === 0;
      try {
        const ctx: JobContext<Progress> = {
          id,
          attempt,
          progress: (p, transfer) => {
            if (crashed) return;
            post({ type: "progress", id, progress: p }, transfer);
            if (crashing) {
              crashed = true;
              setTimeout(() => {
                throw new Error(`${CRASH_ENV}: simulated crash in job ${id}`);
              }, 0);
            }
          },
        };
        const { result, transfer } = await handlers.run(job, ctx);
        if (!crashed) post({ type: "result", id, result }, transfer ?? []);
      } catch (err) {
        if (!crashed) post({ type: "error", id, error: toRemoteError(err) });
      }
    })();
  };
}

interface Held<Job> {
  id: string;
  job: Job;
  attempt: number;
}

type SlotState = "starting" | "idle" | "busy" | "dead";

interface Slot<Job> {
  index: number;
  worker: Worker | null;
  state: SlotState;
  held: Held<Job> | null;
  /** Settles when the current worker is ready or failed to start. */
  ready: Promise<void>;
}

interface ActiveRun<Job, Result> {
  iter: AsyncIterator<PoolJob<Job>> | Iterator<PoolJob<Job>>;
  queue: Held<Job>[];
  seen: Set<string>;
  pulling: boolean;
  exhausted: boolean;
  inFlight: number;
  /** Result callbacks run one at a time, in completion order. */
  chain: Promise<void>;
  onResult: (r: PoolResult<Result>) => void | Promise<void>;
  settled: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * N module workers fed from one FIFO queue; see the module doc for the
 * protocol and the fault handling.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "./pool.ts";
 * const pool = await WorkerPool.start<null, string, string>({
 *   url: new URL("./echo_worker.ts", import.meta.url), size: 2, init: () => null,
 * });
 * const out: string[] = [];
 * await pool.run(["x", "y"].map((s) => ({ id: s, job: s })), (r) => { out.push(r.result); });
 * pool.close();
 * ```
 */
export class WorkerPool<Init, Job, Result, Info = unknown, Progress = unknown> {
  private readonly slots: Slot<Job>[] = [];
  private readonly maxRetries: number;
  private readonly log: (line: string) => void;
  private active: ActiveRun<Job, Result> | null = null;
  private closed = false;
  /** The info each worker slot's current worker gave at init. */
  readonly infos: Info[] = [];
  /** Counters since the pool started. */
  readonly stats: PoolStats = {
    jobsStarted: 0,
    jobsCompleted: 0,
    jobsRedone: 0,
    workersStarted: 0,
    workerDeaths: 0,
  };

  private constructor(private readonly opts: WorkerPoolOptions<Init, Info, Progress>) {
    this.maxRetries = opts.maxRetries ?? 2;
    this.log = opts.log ?? ((l) => console.error(l));
  }

  /**
   * Start `size` workers and wait until every one has answered its init.
   * If any init fails, every worker is terminated and this rejects with a
   * {@link WorkerInitError}.
   */
  static async start<Init, Job, Result, Info = unknown, Progress = unknown>(
    opts: WorkerPoolOptions<Init, Info, Progress>,
  ): Promise<WorkerPool<Init, Job, Result, Info, Progress>> {
    if (!Number.isInteger(opts.size) || opts.size < 1) {
      throw new RangeError(`worker pool size must be a positive integer, got ${opts.size}`);
    }
    const pool = new WorkerPool<Init, Job, Result, Info, Progress>(opts);
    for (let i = 0; i < opts.size; i++) {
      pool.slots.push({
        index: i,
        worker: null,
        state: "dead",
        held: null,
        ready: Promise.resolve(),
      });
    }
    try {
      await Promise.all(pool.slots.map((s) => pool.spawn(s)));
    } catch (e) {
      pool.close();
      throw e;
    }
    return pool;
  }

  /** Number of worker slots. */
  get size(): number {
    return this.slots.length;
  }

  /** Start (or restart) the worker of `slot`; resolves when it is ready, rejects if init fails. */
  private spawn(slot: Slot<Job>): Promise<void> {
    const w = new Worker(
      typeof this.opts.url === "string" ? this.opts.url : this.opts.url.href,
      { type: "module", name: `${this.opts.name ?? "pool"}-${slot.index}` },
    );
    slot.worker = w;
    slot.state = "starting";
    slot.held = null;
    this.stats.workersStarted++;
    slot.ready = new Promise<void>((resolve, reject) => {
      const failInit = (remote: RemoteError) => {
        if (slot.worker !== w) return;
        w.terminate();
        slot.worker = null;
        slot.state = "dead";
        reject(new WorkerInitError(slot.index, remote));
      };
      w.onmessage = (e: MessageEvent) => {
        if (slot.worker !== w) return;
        const msg = e.data as FromWorker<Info, Result, Progress>;
        if (slot.state === "starting") {
          if (msg.type === "ready") {
            slot.state = "idle";
            this.infos[slot.index] = msg.info;
            this.opts.onWorkerReady?.(slot.index, msg.info);
            resolve();
            this.pump();
          } else if (msg.type === "init-error") failInit(msg.error);
          else if (msg.type === "exit") failInit({ name: "Error", message: msg.reason });
          return;
        }
        this.onMessage(slot, msg);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault(); // keep the main thread alive; the pool handles it
        if (slot.worker !== w) return;
        const reason = e.message || "uncaught error";
        if (slot.state === "starting") failInit({ name: "Error", message: reason });
        else this.died(slot, reason);
      };
      w.onmessageerror = () => {
        if (slot.worker !== w) return;
        if (slot.state === "starting") failInit({ name: "Error", message: "unreadable message" });
        else this.died(slot, "a message could not be deserialised");
      };
    });
    const init: ToWorker<Init, Job> = {
      type: "init",
      index: slot.index,
      init: this.opts.init(slot.index),
    };
    w.postMessage(init);
    return slot.ready;
  }

  private onMessage(slot: Slot<Job>, msg: FromWorker<Info, Result, Progress>): void {
    const run = this.active;
    if (msg.type === "exit") {
      this.died(slot, msg.reason);
      return;
    }
    if (msg.type === "progress") {
      if (slot.held?.id === msg.id && run && !run.settled) {
        this.opts.onProgress?.(msg.id, msg.progress, slot.index);
      }
      return;
    }
    if (msg.type !== "result" && msg.type !== "error") return;
    if (slot.held?.id !== msg.id) return; // stale: cannot happen with one job per worker
    slot.held = null;
    slot.state = "idle";
    if (!run || run.settled) return;
    run.inFlight--;
    if (msg.type === "error") {
      this.failRun(new JobFailedError(msg.id, msg.error));
      return;
    }
    this.stats.jobsCompleted++;
    const r: PoolResult<Result> = { id: msg.id, result: msg.result, worker: slot.index };
    run.chain = run.chain.then(() => run.onResult(r));
    run.chain.catch((e) => this.failRun(e));
    this.pump();
    this.checkDone();
  }

  /** A worker is gone: replace it (while a run is active) and queue its job again. */
  private died(slot: Slot<Job>, reason: string): void {
    const w = slot.worker;
    if (!w) return;
    w.terminate();
    slot.worker = null;
    slot.state = "dead";
    this.stats.workerDeaths++;
    const held = slot.held;
    slot.held = null;
    const run = this.active;
    if (this.closed || !run || run.settled) return; // respawned by the next run
    if (held) {
      run.inFlight--;
      const attempt = held.attempt + 1;
      if (attempt > this.maxRetries) {
        this.failRun(new WorkerDiedError(held.id, attempt, reason));
        return;
      }
      this.log(
        `worker ${slot.index} died (${reason}) holding job ${held.id}; ` +
          `starting a replacement and redoing it (retry ${attempt}/${this.maxRetries})`,
      );
      run.queue.unshift({ ...held, attempt });
      this.stats.jobsRedone++;
    } else {
      this.log(`worker ${slot.index} died (${reason}); starting a replacement`);
    }
    this.spawn(slot).catch((e) => this.failRun(e));
  }

  /**
   * Test hook: terminate worker `index` now, as if it had crashed; a job it
   * holds is redone on its replacement. Returns false if that slot has no worker.
   */
  terminateWorker(index: number): boolean {
    const slot = this.slots[index];
    if (!slot?.worker) return false;
    this.died(slot, "terminated by terminateWorker()");
    return true;
  }

  private send(slot: Slot<Job>, held: Held<Job>): void {
    slot.state = "busy";
    slot.held = held;
    this.active!.inFlight++;
    this.stats.jobsStarted++;
    const msg: ToWorker<Init, Job> = {
      type: "job",
      id: held.id,
      attempt: held.attempt,
      job: held.job,
    };
    slot.worker!.postMessage(msg);
    this.opts.onJobStart?.(held.id, slot.index, held.attempt);
  }

  /** Give every idle worker a job, pulling from the caller's jobs when the queue is empty. */
  private pump(): void {
    const run = this.active;
    if (!run || run.settled) return;
    for (const slot of this.slots) {
      if (slot.state !== "idle") continue;
      const next = run.queue.shift();
      if (next) {
        this.send(slot, next);
        continue;
      }
      if (!run.exhausted && !run.pulling) this.pull(run);
      return;
    }
  }

  private pull(run: ActiveRun<Job, Result>): void {
    run.pulling = true;
    Promise.resolve(run.iter.next()).then((r) => {
      run.pulling = false;
      if (run.settled) return;
      if (r.done) {
        run.exhausted = true;
        this.checkDone();
        return;
      }
      const { id, job } = r.value;
      if (run.seen.has(id)) {
        this.failRun(new Error(`worker pool: duplicate job id '${id}'`));
        return;
      }
      run.seen.add(id);
      run.queue.push({ id, job, attempt: 0 });
      this.pump();
    }, (e) => {
      run.pulling = false;
      this.failRun(e);
    });
  }

  private checkDone(): void {
    const run = this.active;
    if (!run || run.settled) return;
    if (run.exhausted && run.queue.length === 0 && run.inFlight === 0) {
      run.chain.then(() => {
        if (run.settled) return;
        run.settled = true;
        this.active = null;
        run.resolve();
      }, () => {}); // a failing callback fails the run through failRun
    }
  }

  /** End the active run with `e`; busy workers are terminated (and restarted by the next run). */
  private failRun(e: unknown): void {
    const run = this.active;
    if (!run || run.settled) return;
    run.settled = true;
    this.active = null;
    for (const slot of this.slots) {
      if (slot.state === "busy" && slot.worker) {
        slot.worker.terminate();
        slot.worker = null;
        slot.state = "dead";
        slot.held = null;
      }
    }
    // Let already-delivered results finish their callbacks before reporting.
    run.chain.then(() => run.reject(e), () => run.reject(e));
    if (typeof (run.iter as AsyncIterator<unknown>).return === "function") {
      Promise.resolve((run.iter as AsyncIterator<unknown>).return!()).catch(() => {});
    }
  }

  /**
   * Run `jobs` (pulled one at a time as workers free up) and call `onResult`
   * for each finished job, one call at a time, in completion order. Resolves
   * when every job's result has been handled; rejects with the first
   * {@link JobFailedError}, {@link WorkerDiedError}, {@link WorkerInitError}
   * or error thrown by `onResult` or by the jobs iterable. Ids must be unique
   * within a run. One run at a time.
   */
  async run(
    jobs: Iterable<PoolJob<Job>> | AsyncIterable<PoolJob<Job>>,
    onResult: (r: PoolResult<Result>) => void | Promise<void>,
  ): Promise<void> {
    if (this.closed) throw new Error("worker pool: closed");
    if (this.active) throw new Error("worker pool: a run is already in progress");
    // Replace workers lost since the last run (a failed run terminates busy workers).
    const restarts = this.slots.filter((s) => s.state === "dead").map((s) => this.spawn(s));
    if (restarts.length) await Promise.all(restarts);
    const iter = Symbol.asyncIterator in jobs
      ? (jobs as AsyncIterable<PoolJob<Job>>)[Symbol.asyncIterator]()
      : (jobs as Iterable<PoolJob<Job>>)[Symbol.iterator]();
    await new Promise<void>((resolve, reject) => {
      this.active = {
        iter,
        queue: [],
        seen: new Set(),
        pulling: false,
        exhausted: false,
        inFlight: 0,
        chain: Promise.resolve(),
        onResult,
        settled: false,
        resolve,
        reject,
      };
      this.pump();
    });
  }

  /** Terminate every worker; an active run rejects. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) {
      slot.worker?.terminate();
      slot.worker = null;
      slot.state = "dead";
      slot.held = null;
    }
    const run = this.active;
    if (run && !run.settled) {
      run.settled = true;
      this.active = null;
      run.reject(new Error("worker pool: closed during a run"));
    }
  }
}
