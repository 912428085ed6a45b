/**
 * File helpers that never leave a half-written file behind: everything is
 * written to a temporary sibling first and renamed into place, which is atomic
 * on POSIX file systems.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./fs.ts";
 * await writeFileAtomic("out/result.json", new TextEncoder().encode("{}"));
 * ```
 * @module
 */
import { randomUUID } from "node:crypto";
import { basename, dirname, join } from "node:path";

/**
 * A temporary path beside `path` (so the rename stays on one file system),
 * unique across processes and hosts (a pid alone is not, on a shared file
 * system), hidden and `.tmp`-suffixed so that no reader matches it.
 */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
}

/**
 * Write bytes to `path` atomically, creating parent directories. The data is
 * flushed before the rename, so a crash cannot expose a renamed but empty file.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  try {
    const f = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Write text to `path` atomically. */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

/** True when `path` exists (file or directory). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * The user cache directory for this project: `$NST_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/nst-augment`, else `~/.cache/nst-augment`.
 */
export function cacheDir(): string {
  const explicit = Deno.env.get("NST_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "nst-augment");
  const home = Deno.env.get("HOME") ?? ".";
  return join(home, ".cache", "nst-augment");
}
