/**
 * Where the tests' read-only real data lives, and `deno task test-data`,
 * which fetches it for a fresh clone that has no `../shared`.
 *
 * The data folder is `NST_SHARED` when set; else `../shared` beside the repo
 * when it exists; else `<cache>/test-shared`, the project's own download cache
 * laid out like the shared folder:
 *
 * - `data/caltech101/{butterfly,crab,scorpion}/` (from the official
 *   Caltech-101 zip, md5-verified, via `deno task data`'s unpacker),
 * - `data/styles/*.jpg` and `data/content/tubingen.jpg` (sha256-verified),
 * - `weights/vgg19-tfjs/` (Keras's VGG19 notop HDF5, md5-verified, converted
 *   to the tfjs layers format).
 *
 * Nothing half-written sits at a final path: files go through
 * `downloadVerified`, folders are built under a temporary name and renamed
 * into place. What is already there is kept, so the download happens once.
 *
 * Usage: `deno task test-data [--dir DIR]`
 *
 * @example
 * ```ts
 * import { missingTestData, resolveSharedDir } from "./_data.ts";
 * const { dir } = resolveSharedDir();
 * console.log(await missingTestData(dir));
 * ```
 * @module
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cacheDir, exists } from "../src/util/fs.ts";
import { ASSETS, STYLE_ASSETS } from "../src/util/assets.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** The Caltech-101 classes the tests (and the study) use. */
export const TEST_CLASSES: readonly string[] = ["butterfly", "crab", "scorpion"];

/** Files whose presence means the data folder is complete (relative to it). */
export const REQUIRED_TEST_DATA: readonly string[] = [
  ...TEST_CLASSES.map((c) => `data/caltech101/${c}/image_0001.jpg`),
  ...STYLE_ASSETS.map((a) => a.file),
  ASSETS.tubingen.file,
  "weights/vgg19-tfjs/model.json",
];

/** The project's own cache folder in the shared layout (`deno task test-data`'s default). */
export function cachedSharedDir(): string {
  return join(cacheDir(), "test-shared");
}

/**
 * Where the data folder comes from: `env` (NST_SHARED), `sibling`
 * (`../shared`) or `cache` ({@link cachedSharedDir}).
 */
export type SharedSource = "env" | "sibling" | "cache";

/**
 * The tests' data folder and where it came from. `env` defaults to
 * `NST_SHARED` (an empty value counts as unset), `sibling` to `../shared`
 * beside the repo.
 *
 * @example
 * ```ts
 * import { resolveSharedDir } from "./_data.ts";
 * console.log(resolveSharedDir().source);
 * ```
 */
export function resolveSharedDir(
  opts: { env?: string; sibling?: string } = {},
): { dir: string; source: SharedSource } {
  const env = "env" in opts ? opts.env : Deno.env.get("NST_SHARED");
  if (env) return { dir: resolve(env), source: "env" };
  const sibling = opts.sibling ?? join(repoRoot, "..", "shared");
  if (existsSync(sibling)) return { dir: resolve(sibling), source: "sibling" };
  return { dir: cachedSharedDir(), source: "cache" };
}

/** The {@link REQUIRED_TEST_DATA} entries missing from `dir`. */
export async function missingTestData(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const rel of REQUIRED_TEST_DATA) {
    if (!(await exists(join(dir, rel)))) missing.push(rel);
  }
  return missing;
}

/** Remove the empty folders under `dir`, and `dir` itself when it ends up empty unless `keep`. */
async function pruneEmptyDirs(dir: string, keep = false): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory) await pruneEmptyDirs(join(dir, e.name));
  if (keep) return;
  for await (const _ of Deno.readDir(dir)) return;
  await Deno.remove(dir).catch(() => {});
}

/** Build a folder under a temporary sibling name, renamed to `target` once `fill` succeeds. */
async function buildDir(target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp-${randomUUID()}`;
  try {
    await fill(tmp);
    await Deno.rename(tmp, target);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * Fetch everything the tests need into `dir` in the shared layout, verified;
 * what is already there is kept. On failure the error propagates and no
 * partial file or empty folder is left in `dir`. Downloads reuse the
 * project cache: images already fetched by `deno task data` are copied
 * (still verified), the Caltech-101 archive is unpacked into `<cache>/data`
 * as `deno task data` does, and the HDF5 weights land where
 * `deno task weights` puts them.
 *
 * @example
 * ```ts
 * import { cachedSharedDir, fetchTestData } from "./_data.ts";
 * await fetchTestData(cachedSharedDir());
 * ```
 */
export async function fetchTestData(
  dir: string,
  opts: { log?: (line: string) => void } = {},
): Promise<void> {
  const log = opts.log ?? (() => {});
  // Lazy: only a fetch needs the archive, HDF5 and tfjs code.
  const { downloadVerified } = await import("../src/util/download.ts");
  const { CALTECH_ZIP, installCaltech } = await import("../src/study/download.ts");
  const { CALTECH_SUBDIR } = await import("../src/study/dataset.ts");
  const { fetchWeights } = await import("../src/vgg/download.ts");
  const { convertHdf5ToTfjs } = await import("../src/vgg/convert.ts");
  const cacheData = join(cacheDir(), "data");
  const existed = existsSync(dir);
  try {
    for (const a of [...STYLE_ASSETS, ASSETS.tubingen]) {
      const rel = a.file.replace(/^data\//, "");
      const local = join(cacheData, rel);
      const urls = existsSync(local) ? [pathToFileURL(local).href, ...a.urls] : a.urls;
      await downloadVerified(urls, join(dir, a.file), { sha256: a.sha256 });
      log(`ok ${join(dir, a.file)}`);
    }
    const classesDir = join(dir, "data", "caltech101");
    const absent = [];
    for (const c of TEST_CLASSES) if (!(await exists(join(classesDir, c)))) absent.push(c);
    if (absent.length > 0) {
      const caltechDir = join(cacheData, "caltech101");
      const all = join(caltechDir, CALTECH_SUBDIR);
      if (!(await exists(all))) {
        const zip = join(cacheData, "downloads", CALTECH_ZIP.file);
        await downloadVerified(CALTECH_ZIP.url, zip, { md5: CALTECH_ZIP.md5 });
        await installCaltech(zip, caltechDir);
        await Deno.remove(zip);
      }
      await Deno.mkdir(classesDir, { recursive: true });
      for (const c of absent) {
        await buildDir(join(classesDir, c), async (tmp) => {
          await Deno.mkdir(tmp);
          for await (const e of Deno.readDir(join(all, c))) {
            if (e.isFile) await Deno.copyFile(join(all, c, e.name), join(tmp, e.name));
          }
        });
        log(`ok ${join(classesDir, c)}`);
      }
    }
    const tfjsDir = join(dir, "weights", "vgg19-tfjs");
    if (!(await exists(join(tfjsDir, "model.json")))) {
      const h5 = await fetchWeights();
      await Deno.mkdir(join(dir, "weights"), { recursive: true });
      // An incomplete folder from an older run is rebuilt.
      await Deno.remove(tfjsDir, { recursive: true }).catch(() => {});
      await buildDir(tfjsDir, async (tmp) => void await convertHdf5ToTfjs(h5, tmp));
      log(`ok ${tfjsDir}`);
    }
  } finally {
    await pruneEmptyDirs(dir, existed);
  }
}

async function main(): Promise<void> {
  const { runMain, UserError } = await import("../src/util/errors.ts");
  await runMain(async () => {
    const args = [...Deno.args];
    let dir = cachedSharedDir();
    if (args[0] === "--dir" && args.length === 2) dir = resolve(args[1]);
    else if (args.length > 0) {
      throw new UserError(
        "usage: deno task test-data [--dir DIR] (default " + cachedSharedDir() + ")",
      );
    }
    await fetchTestData(dir, { log: (l) => console.error(l) });
    console.log(`test data ready in ${dir}`);
  });
}

if (import.meta.main) await main();
