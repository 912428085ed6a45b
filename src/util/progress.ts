/**
 * Progress reporting: a bar with rate and ETA (cli-progress) when stderr is a
 * terminal, plain periodic lines otherwise (logs, CI, Slurm).
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress("stylize", 100, "it");
 * for (let i = 0; i < 100; i++) p.tick();
 * p.done();
 * ```
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";

/** A progress bar over `total` units of work. */
export class Progress {
  private count = 0;
  private readonly start = performance.now();
  private lastLine = 0;
  private readonly bar: cliProgress.SingleBar | null;

  constructor(readonly label: string, readonly total: number, readonly unit = "it") {
    const tty = Deno.stderr.isTerminal() && !Deno.env.get("CI");
    this.bar = tty
      ? new cliProgress.SingleBar({
        stream: process.stderr,
        format:
          `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} | {msg}`,
        hideCursor: true,
      }, cliProgress.Presets.shades_classic)
      : null;
    this.bar?.start(total, 0, { rate: "-", msg: "" });
  }

  /** Units done per second so far. */
  get rate(): number {
    return this.count / Math.max(1e-9, (performance.now() - this.start) / 1000);
  }

  /** Advance by `n` units; `msg` is shown beside the bar or in the periodic line. */
  tick(n = 1, msg = ""): void {
    this.count += n;
    const rate = this.rate;
    if (this.bar) {
      this.bar.update(this.count, { rate: rate.toFixed(2), msg });
      return;
    }
    const now = performance.now();
    if (now - this.lastLine > 10_000 || this.count >= this.total) {
      this.lastLine = now;
      const eta = rate > 0 ? (this.total - this.count) / rate : 0;
      console.error(
        `${this.label}: ${this.count}/${this.total} ${this.unit} (${
          rate.toFixed(2)
        } ${this.unit}/s, ETA ${eta.toFixed(0)} s) ${msg}`,
      );
    }
  }

  /** Print a line without breaking the bar. */
  note(line: string): void {
    if (this.bar) this.bar.stop();
    console.error(line);
    if (this.bar) this.bar.start(this.total, this.count, { rate: this.rate.toFixed(2), msg: "" });
  }

  /** Finish the bar. */
  done(): void {
    this.bar?.stop();
  }
}
