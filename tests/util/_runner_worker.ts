/** The worker of tests/util/runner_test.ts: {@link fakeJob} behind `serveWorker`. */
import { serveWorker } from "../../src/util/pool.ts";
import { type FakeJob, fakeJob } from "./_runner_job.ts";

serveWorker<null, FakeJob, number, string, number>({
  init: () => "ready",
  run: async (job, ctx) => ({ result: await fakeJob(job, (p) => ctx.progress(p)) }),
});
