/**
 * What a stylize run reports and writes as it goes: the progress bar, the
 * `--log` lines, the `--save-every` snapshots, the result PNGs (recombined
 * with the content's colours under `--original-colors`), and the closing
 * summary (`PARTIAL` after a stop, with the signal's exit code).
 *
 * @example
 * ```ts
 * import { RunReport } from "./results.ts";
 * declare const plan: import("./plan.ts").StylizePlan;
 * declare const batches: import("./batches.ts").Batch[];
 * declare const outputs: import("./outputs.ts").OutputPlan;
 * const report = new RunReport(plan, batches, outputs, null, false);
 * // ... runBatches(..., report.events) ...
 * report.summary(null);
 * ```
 * @module
 */
import { type RgbImage, savePng } from "../images/io.ts";
import { RANDOM_WEIGHTS_MARK } from "../vgg/random_weights.ts";
import { ExitError } from "../util/errors.ts";
import { userPathError } from "../util/fs.ts";
import { Progress } from "../util/progress.ts";
import type { Batch, BatchEvents } from "./batches.ts";
import { recombineColors } from "./color.ts";
import type { LossLog } from "./loss_log.ts";
import type { OutputPlan } from "./outputs.ts";
import type { StylizePlan } from "./plan.ts";
import { scaleIterations, scaleLongSides } from "./scales.ts";
import { SIGNAL_EXIT } from "./signals.ts";

/**
 * The reporting side of one run; see the module doc.
 *
 * @example
 * ```ts
 * import type { RunReport } from "./results.ts";
 * declare const r: RunReport;
 * console.log(r.events.onResult);
 * ```
 */
export class RunReport {
  private readonly progress: Progress;
  /** Per batch, the paths written (kept in batch order for the summary). */
  private readonly writtenBy: string[][];
  /** Per batch, the iteration a stop ended it at (partial), when it did. */
  private readonly stoppedAt: (number | null)[];

  constructor(
    private readonly plan: StylizePlan,
    private readonly batches: readonly Batch[],
    private readonly outputs: OutputPlan,
    private readonly log: LossLog | null,
    private readonly randomWeights: boolean,
    /** Where a written partial output is recorded, for a second signal to remove (see StopSignals). */
    private readonly partialOutputs?: Set<string>,
  ) {
    const ticks = batches.reduce((n, b) => {
      const sides = scaleLongSides(
        Math.max(b.items[0].img.width, b.items[0].img.height),
        plan.scales,
      );
      const its = scaleIterations(sides.length, plan.iterations, plan.scaleIterations);
      return n + its.reduce((a, i) => a + i + 1, 0);
    }, 0);
    this.progress = new Progress("stylize", ticks, "it");
    this.writtenBy = batches.map(() => []);
    this.stoppedAt = batches.map(() => null);
  }

  /** The callbacks for `runBatches`. */
  readonly events: BatchEvents = {
    onIteration: async (b, it, losses, seconds, scale) => {
      const group = this.batches[b].items;
      const { width, height } = scale ?? group[0].img;
      this.progress.tick(
        1,
        `${group.length} img ${width}x${height}${
          scale ? ` (scale ${scale.index + 1}/${scale.count})` : ""
        } total ${losses[0].total_loss.toExponential(3)}`,
      );
      if (!this.log) return;
      await this.log.write(losses.map((l, i) => ({
        iteration: it,
        ...(scale ? { scale: scale.index, width: scale.width, height: scale.height } : {}),
        ...l,
        image: group[i].path,
        it_per_s: it > 0 ? it / seconds : null,
        ...(this.randomWeights ? { weights: RANDOM_WEIGHTS_MARK } : {}),
      })));
    },
    onSnapshot: async (b, it, imgs) => {
      const group = this.batches[b].items;
      for (let i = 0; i < imgs.length; i++) {
        const p = this.outputs.snapshotPath(group[i].path, it);
        await savePng(p, this.colours(imgs[i], group[i].img)).catch((e) => {
          throw userPathError(e, "--save-every", p);
        });
      }
    },
    onResult: async (b, imgs, seconds, stopped) => {
      const group = this.batches[b].items;
      this.stoppedAt[b] = stopped;
      const { width, height } = group[0].img;
      for (let i = 0; i < group.length; i++) {
        const p = this.outputs.outPathOf(group[i].path);
        await savePng(p, this.colours(imgs[i], group[i].img)).catch((e) => {
          throw userPathError(e, "--out", p);
        });
        // After the write, so an older complete file at p is never removed before it is replaced.
        if (stopped !== null) this.partialOutputs?.add(p);
        this.writtenBy[b].push(p);
      }
      const done = stopped ?? this.plan.iterations;
      this.progress.note(
        `${group.length} image(s) ${width}x${height}: ` +
          (done === 0 ? "evaluated" : `${(done / seconds).toFixed(2)} it/s`) +
          (stopped !== null ? ` (stopped at iteration ${stopped})` : ""),
      );
    },
  };

  /** `--original-colors`: the grey result's luminance with the content's chrominance. */
  private colours(out: RgbImage, content: RgbImage): RgbImage {
    return this.plan.originalColors ? recombineColors(out, content) : out;
  }

  /** End the progress bar. */
  done(): void {
    this.progress.done();
  }

  /** The closing line; after a stop, an ExitError with the signal's code. */
  summary(signal: "SIGINT" | "SIGTERM" | null): void {
    const written = this.writtenBy.flat();
    const list = (ps: string[]) => `${ps.slice(0, 5).join(", ")}${ps.length > 5 ? ", ..." : ""}`;
    if (!signal) {
      console.error(
        `wrote ${written.length} image(s): ${list(written)}` +
          (this.randomWeights ? ` (weights: ${RANDOM_WEIGHTS_MARK})` : ""),
      );
      return;
    }
    const partial = this.batches.flatMap((_, b) =>
      this.stoppedAt[b] !== null ? this.writtenBy[b] : []
    );
    const notStarted = this.batches.flatMap((g, b) =>
      this.writtenBy[b].length ? [] : g.items.map((x) => x.path)
    );
    const stops = [...new Set(this.stoppedAt.filter((s) => s !== null))];
    console.error(
      `stopped by ${signal}: wrote ${written.length} image(s): ${list(written)}` +
        (partial.length
          ? `; PARTIAL (best so far, stopped at iteration ${
            stops.join("/")
          } of ${this.plan.iterations}): ${list(partial)}`
          : "") +
        (notStarted.length
          ? `; not started: ${notStarted.length} image(s): ${list(notStarted)}`
          : "") +
        (this.plan.log ? `; log ${this.plan.log} (partial, ends with {"partial":true})` : ""),
    );
    throw new ExitError(SIGNAL_EXIT[signal], "");
  }
}
