/**
 * The here-or-pool job runner on a fake job (no tfjs): both modes commit the
 * same results and progress; a job's error surfaces with the same class in
 * both (named after its job on a pool); a stop after job k leaves exactly the
 * started jobs committed and starts no other; what was set up is disposed.
 */
import assert from "node:assert/strict";
import { JobFailedError, WorkerPool } from "../../src/util/pool.ts";
import { type JobStop, runJobs, type RunJobsOptions } from "../../src/util/runner.ts";
import { UserError } from "../../src/util/errors.ts";
import { type FakeJob, fakeJob } from "./_runner_job.ts";

type Mode = "here" | 2;
const MODES: Mode[] = ["here", 2];

/** What a run did: commits in order, progress per job, jobs started, set-ups and disposals. */
interface Trace {
  committed: Array<[string, number]>;
  progress: Map<string, number[]>;
  started: string[];
  setUps: number;
  disposed: number;
  stopped: number;
}

function options(
  mode: Mode,
  trace: Trace,
  extra: Partial<RunJobsOptions<FakeJob, number, number>> = {},
): RunJobsOptions<FakeJob, number, number> {
  return {
    workers: mode,
    here: () => {
      trace.setUps++;
      return Promise.resolve({
        run: (job, ctx) => {
          trace.started.push(ctx.id);
          return fakeJob(job, ctx.progress);
        },
        dispose: () => void trace.disposed++,
      });
    },
    pool: async (size, onProgress) => {
      trace.setUps++;
      const pool = await WorkerPool.start<null, FakeJob, number, string, number>({
        url: new URL("./_runner_worker.ts", import.meta.url),
        size,
        init: () => null,
        onProgress: (id, p) => void onProgress(id, p),
        onJobStart: (id) => trace.started.push(id),
      });
      return {
        run: (jobs, onResult) => pool.run(jobs, onResult),
        close: () => {
          trace.disposed++;
          pool.close();
        },
      };
    },
    onProgress: (id, p) => {
      trace.progress.set(id, [...trace.progress.get(id) ?? [], p]);
    },
    onResult: (id, r) => {
      trace.committed.push([id, r]);
    },
    ...extra,
  };
}

function newTrace(): Trace {
  return { committed: [], progress: new Map(), started: [], setUps: 0, disposed: 0, stopped: 0 };
}

/** Jobs 0..count-1 squaring their index; varied waits so a pool finishes them out of order. */
function jobs(count: number, fail: Record<number, FakeJob["fail"]> = {}) {
  return Array.from({ length: count }, (_, i) => () => ({
    id: String(i),
    job: { n: i, ms: [40, 5, 25, 10][i % 4], ...(fail[i] ? { fail: fail[i] } : {}) },
  }));
}

Deno.test("here and a pool of 2 commit the same results and progress, each job once", async () => {
  const got = new Map<Mode, Trace>();
  for (const mode of MODES) {
    const trace = newTrace();
    await runJobs(jobs(7), options(mode, trace));
    got.set(mode, trace);
    // Independent reference: job i squares i.
    assert.deepEqual(
      trace.committed.map(([id, r]) => [id, r]).sort((a, b) => Number(a[0]) - Number(b[0])),
      Array.from({ length: 7 }, (_, i) => [String(i), i * i]),
      `mode ${mode}`,
    );
    assert.equal(trace.setUps, 1, `mode ${mode}: set up once`);
    assert.equal(trace.disposed, 1, `mode ${mode}: disposed once`);
  }
  const here = got.get("here")!;
  const pool = got.get(2)!;
  assert.deepEqual(here.committed.map(([id]) => id), ["0", "1", "2", "3", "4", "5", "6"]);
  assert.deepEqual(new Map([...pool.progress].sort()), new Map([...here.progress].sort()));
  assert.deepEqual(here.progress.get("3"), [3.5]);
});

Deno.test("an empty job list sets nothing up", async () => {
  for (const mode of MODES) {
    const trace = newTrace();
    await runJobs([], options(mode, trace));
    assert.equal(trace.setUps, 0);
  }
});

Deno.test("a job's UserError is a UserError in both modes, naming its job on a pool", async () => {
  for (const mode of MODES) {
    for (const label of [undefined, (id: string) => `batch ${id}.png`]) {
      const trace = newTrace();
      const err = await runJobs(jobs(4, { 2: "user" }), options(mode, trace, { label }))
        .then(() => null, (e) => e);
      assert.ok(err instanceof UserError, `mode ${mode}: ${err}`);
      const name = mode === "here" ? "" : label ? "batch 2.png: " : "job 2: ";
      assert.equal(err.message, `${name}--n: 2 is refused`);
      assert.equal(trace.disposed, 1, `mode ${mode}: disposed after the error`);
      assert.ok(!trace.committed.some(([id]) => id === "2"));
    }
  }
});

Deno.test("other error classes keep their class on a pool only when named in errors", async () => {
  for (const mode of MODES) {
    const err = await runJobs(
      jobs(3, { 1: "range" }),
      options(mode, newTrace(), { errors: [RangeError] }),
    ).then(() => null, (e) => e);
    assert.ok(err instanceof RangeError, `mode ${mode}: ${err}`);
  }
  const err = await runJobs(jobs(3, { 1: "range" }), options(2, newTrace()))
    .then(() => null, (e) => e);
  assert.ok(err instanceof JobFailedError, String(err));
  assert.equal(err.message, "job 1: 1 is out of range");
});

Deno.test("a stop after job k: every started job is committed, no later job starts", async () => {
  const k = 2;
  for (const mode of MODES) {
    const trace = newTrace();
    let asked = false;
    const stop: JobStop = { requested: () => asked, onStopped: () => void trace.stopped++ };
    await runJobs(
      jobs(10),
      options(mode, trace, {
        stop,
        onResult: (id, r) => {
          trace.committed.push([id, r]);
          if (Number(id) === k) asked = true;
        },
      }),
    );
    const committed = trace.committed.map(([id]) => id).sort((a, b) => Number(a) - Number(b));
    assert.deepEqual(committed, [...trace.started].sort((a, b) => Number(a) - Number(b)));
    // Jobs start in list order, so the started ones are a prefix of it, through job k.
    assert.deepEqual(committed, Array.from({ length: committed.length }, (_, i) => String(i)));
    if (mode === "here") assert.equal(committed.length, k + 1);
    // On a pool, the jobs running or already pulled when the stop came finish too.
    else {assert.ok(
        committed.length >= k + 1 && committed.length <= k + 1 + mode + 1,
        committed.join(),
      );}
    assert.equal(trace.stopped, 1, `mode ${mode}: onStopped once`);
    assert.equal(trace.disposed, 1);
  }
});

Deno.test("a stop before the first job starts none and still reports the stop", async () => {
  for (const mode of MODES) {
    const trace = newTrace();
    const stop: JobStop = { requested: () => true, onStopped: () => void trace.stopped++ };
    await runJobs(jobs(3), options(mode, trace, { stop }));
    assert.equal(trace.committed.length, 0);
    assert.deepEqual(trace.started, []);
    assert.equal(trace.stopped, 1);
  }
});
