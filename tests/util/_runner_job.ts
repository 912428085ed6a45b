/**
 * The fake job of tests/util/runner_test.ts, run the same way here and in
 * `_runner_worker.ts`: square a number after a short wait, reporting one
 * progress value; a job can throw a UserError or a RangeError instead.
 */
import { UserError } from "../../src/util/errors.ts";

/** A fake job: the number to square, the wait in ms, and an optional failure. */
export interface FakeJob {
  n: number;
  ms: number;
  fail?: "user" | "range";
}

/** Run `job`: one progress value (n + 0.5), then n * n or the asked-for error. */
export async function fakeJob(
  job: FakeJob,
  progress: (p: number) => void | Promise<void>,
): Promise<number> {
  await progress(job.n + 0.5);
  await new Promise((r) => setTimeout(r, job.ms));
  if (job.fail === "user") throw new UserError(`--n: ${job.n} is refused`);
  if (job.fail === "range") throw new RangeError(`${job.n} is out of range`);
  return job.n * job.n;
}
