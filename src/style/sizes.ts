/**
 * The size check of a stylize run, from the images' headers before any
 * pixel is decoded: the final size of each content image, each style image at
 * `--style-scale` times the content's long side, the coarsest scale of a
 * coarse-to-fine run, and the backend's memory (through the one
 * {@link checkSizes} the study uses too). Returns the style files' bytes and
 * the batch and tile size of each group.
 *
 * @example
 * ```ts
 * import { checkRunSizes } from "./sizes.ts";
 * declare const plan: import("./plan.ts").StylizePlan;
 * const { styleBytes, groups } = await checkRunSizes(plan);
 * ```
 * @module
 */
import { imageSize, targetSize } from "../images/io.ts";
import { resolveBackend } from "../tf.ts";
import { UserError } from "../util/errors.ts";
import { checkMinSide, checkSizes, type GroupPlan, memoryLimit, type Size } from "./limits.ts";
import type { StylizePlan } from "./plan.ts";
import { scaleLongSides } from "./scales.ts";

/**
 * See the module doc.
 *
 * @example
 * ```ts
 * import { checkRunSizes } from "./sizes.ts";
 * declare const plan: import("./plan.ts").StylizePlan;
 * console.log((await checkRunSizes(plan)).groups);
 * ```
 */
export async function checkRunSizes(plan: StylizePlan): Promise<{
  styleBytes: Uint8Array[];
  groups: Map<string, GroupPlan>;
  loadOpts: { longSide: number } | { maxLongSide: number };
}> {
  const styleBytes: Uint8Array[] = [];
  const styleDims: Size[] = [];
  for (const p of plan.stylePaths) {
    const bytes = await Deno.readFile(p).catch((e) => {
      throw new UserError(`--style: cannot read ${p} (${e.message})`);
    });
    styleBytes.push(bytes);
    styleDims.push(await imageSize(bytes, p));
  }
  const loadOpts = plan.size ? { longSide: plan.size } : { maxLongSide: 512 };
  const contents: Array<{ name: string; size: Size; orig: Size }> = [];
  for (const p of plan.contentPaths) {
    const bytes = await Deno.readFile(p).catch((e) => {
      throw new UserError(`--content: cannot read ${p} (${e.message})`);
    });
    const orig = await imageSize(bytes, p);
    contents.push({ name: p, size: targetSize(orig, loadOpts), orig });
  }
  const resolved = await resolveBackend(plan.backend);
  const limit = memoryLimit(resolved.name, plan.specs, resolved.adapter?.limits);
  const flag = plan.size ? "--size" : "--content";
  const groups = checkSizes(
    {
      contents,
      sizeFlag: flag,
      styles: plan.stylePaths.map((path, i) => ({ path, dims: styleDims[i] })),
      styleLongSide: (long) => Math.max(1, Math.round(long * plan.styleScale)),
      styleFlag: plan.styleScale !== 1 ? "--style-scale" : plan.size ? "--size" : "--style",
      batch: plan.batch,
      overBatch: plan.outIsDir ? "split" : "one",
      overOne: "tile",
      ...(plan.tile !== undefined ? { tile: plan.tile } : {}),
    },
    plan.specs,
    limit,
  );
  // The coarsest scale must keep the deepest layer too.
  const scaleFlag = plan.scales.minSize !== undefined ? "--min-size" : "--scales";
  for (const c of contents) {
    const long = Math.max(c.size.width, c.size.height);
    const first = scaleLongSides(long, plan.scales)[0];
    if (first === long) continue;
    checkMinSide(
      targetSize(c.size, { longSide: first }),
      plan.specs,
      scaleFlag,
      `the first scale of content image ${c.name} (long side ${first})`,
    );
  }
  return { styleBytes, groups, loadOpts };
}
