/**
 * Graceful stop of `deno task stylize`: the first SIGINT or SIGTERM sets a
 * shared flag that every running batch (here or on a worker) reads at its
 * next step, so the best images and the log so far get written; a second one
 * exits at once with the signal's code, removing temp files.
 *
 * @example
 * ```ts
 * import { StopSignals } from "./signals.ts";
 * const stop = StopSignals.install();
 * try {
 *   while (!stop.requested()) break; // ... work, checking stop.requested() ...
 * } finally {
 *   stop.remove();
 * }
 * console.log(stop.signal); // null, "SIGINT" or "SIGTERM"
 * ```
 * @module
 */
import { removeTempFilesSync } from "../util/fs.ts";

/**
 * Exit codes after a signal: 128 + its number, as shells report them.
 *
 * @example
 * ```ts
 * import { SIGNAL_EXIT } from "./signals.ts";
 * console.log(SIGNAL_EXIT.SIGINT); // 130
 * ```
 */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * The listeners and the shared stop flag of one run.
 *
 * @example
 * ```ts
 * import { StopSignals } from "./signals.ts";
 * const s = StopSignals.install();
 * console.log(s.buffer.byteLength); // 4: an Int32Array(1) the workers share
 * s.remove();
 * ```
 */
export class StopSignals {
  /** An `Int32Array(1)` over this buffer is non-zero once a stop is asked for (shared with workers). */
  readonly buffer = new SharedArrayBuffer(4);
  private readonly flag = new Int32Array(this.buffer);
  private listeners: Array<readonly ["SIGINT" | "SIGTERM", () => void]> = [];
  /** The first signal received, or null. */
  signal: "SIGINT" | "SIGTERM" | null = null;
  /**
   * Outputs of batches a stop ended early, added once written: a second signal removes them,
   * so it never leaves a partial image without its PARTIAL summary.
   */
  readonly partialOutputs = new Set<string>();

  private constructor() {}

  /** Listen for SIGINT and SIGTERM until {@link remove}. */
  static install(): StopSignals {
    const s = new StopSignals();
    s.listeners = (["SIGINT", "SIGTERM"] as const).map((sig) => {
      const f = () => s.receive(sig);
      Deno.addSignalListener(sig, f);
      return [sig, f] as const;
    });
    return s;
  }

  private receive(sig: "SIGINT" | "SIGTERM"): void {
    if (this.signal) {
      removeTempFilesSync();
      for (const p of this.partialOutputs) {
        try {
          Deno.removeSync(p);
        } catch {
          // already gone
        }
      }
      const n = this.partialOutputs.size;
      console.error(
        `\n${sig} again: exiting now (no partial output` +
          (n ? `; removed ${n} partial image(s)` : "") + ")",
      );
      // Intended: the second signal exits at once, outside runMain.
      Deno.exit(SIGNAL_EXIT[sig]);
    }
    this.signal = sig;
    Atomics.store(this.flag, 0, 1);
    console.error(
      `\n${sig}: stopping at the next step; writing the best images and the log so far ` +
        `(${sig} again exits at once)`,
    );
  }

  /** True once a stop was asked for. */
  requested = (): boolean => Atomics.load(this.flag, 0) !== 0;

  /** Stop listening. */
  remove(): void {
    for (const [sig, f] of this.listeners) Deno.removeSignalListener(sig, f);
    this.listeners = [];
  }
}
