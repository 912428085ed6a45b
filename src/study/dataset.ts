/**
 * Find the study's classes in a Caltech-101 layout. `--data DIR` may be the
 * unpacked archive's parent (`DIR/101_ObjectCategories/<class>/image_NNNN.jpg`)
 * or any folder of class folders (`DIR/<class>/*.jpg`). Image paths are
 * returned relative to DIR, `/`-separated and sorted, which is how results
 * record them.
 *
 * @example
 * ```ts
 * import { listClasses } from "./dataset.ts";
 * const images = await listClasses("../shared/data/caltech101", ["crab"], {
 *   trainPerClass: 10,
 *   mode: "subsets",
 *   count: 3,
 * });
 * console.log(images.crab[0]); // crab/image_0001.jpg
 * ```
 * @module
 */
import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { imagesNeeded } from "./split.ts";

/** The subdirectory name of the official archive. */
export const CALTECH_SUBDIR = "101_ObjectCategories";

const IMAGE_EXT = /\.(jpe?g|png)$/i;

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * The folder holding the class folders, relative to `dataDir`: `""` or `101_ObjectCategories`.
 *
 * @example
 * ```ts
 * import { classRoot } from "./dataset.ts";
 * console.log(await classRoot("../shared/data/caltech101")); // ""
 * ```
 */
export async function classRoot(dataDir: string): Promise<string> {
  if (!(await isDir(dataDir))) throw new UserError(`--data: ${dataDir} is not a directory`);
  return (await isDir(join(dataDir, CALTECH_SUBDIR))) ? CALTECH_SUBDIR : "";
}

/**
 * Sorted names of the class folders under `dataDir` (hidden folders skipped).
 *
 * @example
 * ```ts
 * import { availableClasses } from "./dataset.ts";
 * console.log(await availableClasses("../shared/data/caltech101")); // ["butterfly", "crab", "scorpion"]
 * ```
 */
export async function availableClasses(dataDir: string): Promise<string[]> {
  const root = join(dataDir, await classRoot(dataDir));
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.name.startsWith(".")) continue;
    if (e.isDirectory || (e.isSymlink && (await isDir(join(root, e.name))))) names.push(e.name);
  }
  return names.sort();
}

/** What each class must supply: `count` random draws (or disjoint subsets) of `trainPerClass`, plus a test image. */
export interface ClassRequirement {
  trainPerClass: number;
  mode: "draws" | "subsets";
  count: number;
  /** Images reserved per class for the evaluation pool (`--eval-pool`); default 0. */
  evalPool?: number;
}

/** Images a class must have for `need`: the sampling's plus the evaluation pool. */
export function imagesRequired(need: ClassRequirement): number {
  return imagesNeeded(need.mode, need.count, need.trainPerClass) + (need.evalPool ?? 0);
}

/** The requirement in words, for error messages. */
export function describeRequirement(need: ClassRequirement): string {
  const sampling = need.mode === "draws"
    ? `${need.count} draws of ${need.trainPerClass} training images plus one test image`
    : `${need.count} disjoint subsets of ${need.trainPerClass} training images plus one test image`;
  return need.evalPool
    ? `--eval-pool ${need.evalPool} (reserved from training) and ${sampling}`
    : sampling;
}

/**
 * Per requested class (in the order given), its sorted image paths relative
 * to `dataDir`. An unknown class, or one with too few images for `need`
 * (default: at least one image), is a {@link UserError} naming the class.
 *
 * @example
 * ```ts
 * import { listClasses } from "./dataset.ts";
 * const images = await listClasses("../shared/data/caltech101", ["butterfly"]);
 * console.log(images.butterfly.length); // 91
 * ```
 */
export async function listClasses(
  dataDir: string,
  classes: readonly string[],
  need?: ClassRequirement,
): Promise<Record<string, string[]>> {
  const sub = await classRoot(dataDir);
  const available = await availableClasses(dataDir);
  const required = need ? imagesRequired(need) : 1;
  const out: Record<string, string[]> = {};
  for (const name of classes) {
    if (Object.hasOwn(out, name)) throw new UserError(`class '${name}' is listed twice`);
    if (!available.includes(name)) {
      throw new UserError(
        `class '${name}' not found in ${join(dataDir, sub)}; available: ${
          available.join(", ") || "(none)"
        }`,
      );
    }
    const images: string[] = [];
    for await (const e of Deno.readDir(join(dataDir, sub, name))) {
      if (e.isFile && !e.name.startsWith(".") && IMAGE_EXT.test(e.name)) images.push(e.name);
    }
    images.sort();
    if (images.length < required) {
      const why = need ? describeRequirement(need) : "at least one image";
      throw new UserError(
        `class '${name}' has ${images.length} images; ${why} need ${required}`,
      );
    }
    out[name] = images.map((f) => [sub, name, f].filter((s) => s !== "").join("/"));
  }
  return out;
}
