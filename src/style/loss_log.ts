/**
 * The `--log` file of `deno task stylize`: JSON Lines written to a temp
 * sibling and renamed into place at the end (or removed on an error). The
 * first line is a header with the settings that shape the result (layers,
 * weights, --style-scale, --pooling, scales, ...); then one line per
 * iteration and image; after a stop, a last `{"partial": true, "signal": ...}`.
 *
 * @example
 * ```ts
 * import { LossLog } from "./loss_log.ts";
 * const log = await LossLog.open("out/log.jsonl", { pooling: "max", style_scale: 1 });
 * await log.write([{ iteration: 0, total_loss: 1 }]);
 * await log.finish(null);
 * ```
 * @module
 */
import { dirname } from "node:path";
import { tempSibling, trackTemp, userPathError } from "../util/fs.ts";

/**
 * An open loss log.
 *
 * @example
 * ```ts
 * import { LossLog } from "./loss_log.ts";
 * declare const log: LossLog;
 * await log.abort(); // an error: no log is left behind
 * ```
 */
export class LossLog {
  private readonly enc = new TextEncoder();

  private constructor(
    private readonly path: string,
    private readonly tmp: string,
    private readonly file: Deno.FsFile,
    /** Written with the first record, so the file's first bytes mean the run has started. */
    private header: Record<string, unknown> | null,
  ) {}

  /** Create the temp file (and missing directories); the header line goes out with the first record. */
  static async open(path: string, header: Record<string, unknown>): Promise<LossLog> {
    const tmp = tempSibling(path);
    trackTemp(tmp, true);
    const file = await Deno.mkdir(dirname(tmp), { recursive: true }).then(() =>
      Deno.open(tmp, { write: true, createNew: true })
    ).catch((e) => {
      trackTemp(tmp, false);
      throw userPathError(e, "--log", path);
    });
    return new LossLog(path, tmp, file, header);
  }

  /** Append one JSON line per record. */
  async write(records: readonly Record<string, unknown>[]): Promise<void> {
    if (this.header) {
      records = [{ header: this.header }, ...records];
      this.header = null;
    }
    const bytes = this.enc.encode(records.map((r) => JSON.stringify(r) + "\n").join(""));
    let off = 0;
    try {
      while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
    } catch (e) {
      throw userPathError(e, "--log", this.path);
    }
  }

  /** Close and rename into place; after a stop, end with the partial marker. */
  async finish(signal: string | null): Promise<void> {
    if (signal) await this.write([{ partial: true, signal }]);
    this.file.close();
    await Deno.rename(this.tmp, this.path).catch((e) => {
      throw userPathError(e, "--log", this.path);
    });
    trackTemp(this.tmp, false);
  }

  /** Close and remove the temp file. */
  async abort(): Promise<void> {
    try {
      this.file.close();
    } catch { /* already closed */ }
    await Deno.remove(this.tmp).catch(() => {});
    trackTemp(this.tmp, false);
  }
}
