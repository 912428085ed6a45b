/**
 * Where `deno task stylize` writes, decided and checked before any work:
 * the output name of each content image (x.jpg -> x.png; inputs sharing a
 * stem keep their whole name), the `--save-every` snapshot names, and the
 * refusal of outputs that would replace an input or each other.
 *
 * @example
 * ```ts
 * import { planOutputs } from "./outputs.ts";
 * const o = await planOutputs("photos", "styled", true, ["photos/a.jpg", "photos/a.png"]);
 * console.log(o.outPathOf("photos/a.jpg")); // styled/a.jpg.png
 * ```
 * @module
 */
import { basename, extname, join } from "node:path";
import { UserError } from "../util/errors.ts";
import { preflightWritable, realTarget } from "../util/fs.ts";

/**
 * The output paths of a run.
 *
 * @example
 * ```ts
 * import type { OutputPlan } from "./outputs.ts";
 * declare const o: OutputPlan;
 * console.log(o.snapshotPath("a.jpg", 100)); // out/a_iter0100.png
 * ```
 */
export interface OutputPlan {
  /** `--out`: the file, or the directory in directory mode. */
  out: string;
  outPathOf: (contentPath: string) => string;
  snapshotPath: (contentPath: string, iteration: number) => string;
}

/**
 * The output names: one file (`--out` a .png, or a directory to put
 * `<stem>_stylized.png` in), or one PNG per content image in the `--out`
 * directory; inputs sharing a stem keep their extension (said on stderr).
 *
 * @example
 * ```ts
 * import { planOutputs } from "./outputs.ts";
 * const o = await planOutputs("a.jpg", undefined, false, ["a.jpg"]);
 * console.log(o.out); // out/a_stylized.png
 * ```
 */
export async function planOutputs(
  content: string,
  outFlag: string | undefined,
  outIsDir: boolean,
  contentPaths: readonly string[],
): Promise<OutputPlan> {
  let out = outFlag ??
    (outIsDir ? "out" : join("out", `${basename(content, extname(content))}_stylized.png`));
  if (!outIsDir && extname(out).toLowerCase() !== ".png") {
    if ((await Deno.stat(out).catch(() => null))?.isDirectory) {
      out = join(out, `${basename(content, extname(content))}_stylized.png`);
    } else throw new UserError(`--out: ${out} must end in .png (output is 8-bit sRGB PNG)`);
  }
  const outNames = new Map<string, string>();
  if (outIsDir) {
    const stems = new Map<string, number>();
    for (const p of contentPaths) {
      const stem = basename(p, extname(p));
      stems.set(stem, (stems.get(stem) ?? 0) + 1);
    }
    const renamed: string[] = [];
    for (const p of contentPaths) {
      const stem = basename(p, extname(p));
      const name = stems.get(stem)! > 1 ? `${basename(p)}.png` : `${stem}.png`;
      if (stems.get(stem)! > 1) renamed.push(`${basename(p)} -> ${name}`);
      outNames.set(p, join(out, name));
    }
    if (renamed.length > 0) {
      console.error(`names: inputs sharing a name keep their extension: ${renamed.join(", ")}`);
    }
  }
  const outPathOf = (p: string) => outIsDir ? outNames.get(p)! : out;
  return {
    out,
    outPathOf,
    snapshotPath: (p, it) =>
      outPathOf(p).replace(/\.png$/i, `_iter${String(it).padStart(4, "0")}.png`),
  };
}

/**
 * Refuse, before any work, outputs that would replace an input or each other
 * (after symlinks), an `--out` directory that is the `--content` directory,
 * and outputs that cannot be written (each probed with {@link preflightWritable}).
 *
 * @example
 * ```ts
 * import { checkOutputs } from "./outputs.ts";
 * await checkOutputs({
 *   contentPaths: ["a.jpg"], contentDir: null, stylePaths: ["s.jpg"], initPath: null, outDir: null,
 *   outputs: ["out/a.png"], snapshots: [], log: null,
 * });
 * ```
 */
export async function checkOutputs(o: {
  contentPaths: readonly string[];
  contentDir: string | null;
  stylePaths: readonly string[];
  initPath: string | null;
  outDir: string | null;
  outputs: readonly string[];
  snapshots: readonly string[];
  log: string | null;
}): Promise<void> {
  const inputs = new Map<string, string>();
  for (const p of o.contentPaths) inputs.set(await realTarget(p), `the --content image ${p}`);
  for (const p of o.stylePaths) inputs.set(await realTarget(p), `the --style image ${p}`);
  if (o.initPath) inputs.set(await realTarget(o.initPath), `the --init image ${o.initPath}`);
  if (o.outDir && o.contentDir && await realTarget(o.outDir) === await realTarget(o.contentDir)) {
    throw new UserError(
      `--out: ${o.outDir} is the --content directory; outputs would mix with (and may replace) the inputs`,
    );
  }
  const seen = new Map<string, string>();
  const entries: Array<[string, string]> = [
    ...o.outputs.map((p): [string, string] => ["--out", p]),
    ...o.snapshots.map((p): [string, string] => ["--save-every", p]),
    ...(o.log ? [["--log", o.log] as [string, string]] : []),
  ];
  for (const [flag, p] of entries) {
    const real = await realTarget(p);
    const input = inputs.get(real);
    if (input) throw new UserError(`${flag}: ${p} is ${input}; refusing to overwrite an input`);
    const other = seen.get(real);
    if (other) throw new UserError(`${flag}: ${p} is also the output of ${other}`);
    seen.set(real, `${flag} (${p})`);
  }
  // One probe per directory is enough for the images; the log and single outputs each.
  const probed = new Set<string>();
  for (const [flag, p] of entries) {
    const key = flag === "--log" ? p : `${flag}:${await realTarget(join(p, ".."))}`;
    const st = await Deno.lstat(p).catch(() => null);
    if (probed.has(key) && !st?.isDirectory) continue;
    probed.add(key);
    await preflightWritable(p, flag);
  }
}
