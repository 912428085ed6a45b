/**
 * Graceful stop of `deno task study`: the first SIGINT or SIGTERM stops at the next job
 * boundary (no new stylization task or classifier run is started; those running finish and
 * are committed: cache entries and `OUT/runs/` files are written atomically), then the study
 * exits 130 or 143 with one line saying what was kept and that a rerun resumes. A second
 * signal exits at once, removing temporary files (nothing half-written stays).
 *
 * The job runners (`style_tasks.ts`, `train_tasks.ts`) hand {@link jobStop} to `runJobs`
 * (`src/util/runner.ts`), which checks it before each job and calls {@link throwIfStopped}
 * once the running jobs have finished.
 *
 * @example
 * ```ts
 * import { installStudyStop, jobStop } from "./stop.ts";
 * const remove = installStudyStop();
 * console.log(jobStop.requested()); // false
 * remove();
 * ```
 * @module
 */
import { ExitError } from "../util/errors.ts";
import { removeTempFilesSync } from "../util/fs.ts";
import type { JobStop } from "../util/runner.ts";

/** The signals that stop a study, and their exit codes (128 + the signal's number). */
export const STOP_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof STOP_EXIT;

let signal: StopSignal | null = null;
const finished = { stylized: 0, trained: 0 };

/** Count one job committed in this process (for the closing line). */
export function countFinished(kind: "stylized" | "trained", n = 1): void {
  finished[kind] += n;
}

/**
 * After a stop: an ExitError (130/143) whose one line says what was kept. A no-op when no
 * stop was asked for.
 */
export function throwIfStopped(): void {
  if (!signal) return;
  throw new ExitError(
    STOP_EXIT[signal],
    `stopped by ${signal} at a job boundary: kept ${finished.stylized} stylization task(s) ` +
      `and ${finished.trained} classifier run(s) finished in this process (committed to --cache ` +
      `and OUT/runs/); run the same command again to resume`,
  );
}

/**
 * The study's stop as the job runner reads it: no job starts after a signal; then {@link throwIfStopped}.
 *
 * @example
 * ```ts
 * import { jobStop } from "./stop.ts";
 * console.log(jobStop.requested()); // false until SIGINT or SIGTERM
 * ```
 */
export const jobStop: JobStop = {
  requested: () => signal !== null,
  onStopped: throwIfStopped,
};

/** Listen for SIGINT/SIGTERM (see the module doc); returns the function that stops listening. */
export function installStudyStop(
  log: (line: string) => void = (l) => console.error(l),
): () => void {
  const listeners = (Object.keys(STOP_EXIT) as StopSignal[]).map((sig) => {
    const f = () => {
      if (signal) {
        removeTempFilesSync();
        log(`\n${sig} again: exiting now; committed cache entries and runs are kept`);
        // Intended: the second signal exits at once, outside runMain.
        Deno.exit(STOP_EXIT[sig]);
      }
      signal = sig;
      log(
        `\n${sig}: stopping at the next job boundary; running jobs finish and are kept ` +
          `(${sig} again exits at once)`,
      );
    };
    Deno.addSignalListener(sig, f);
    return [sig, f] as const;
  });
  return () => {
    for (const [sig, f] of listeners) Deno.removeSignalListener(sig, f);
  };
}
