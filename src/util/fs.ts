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
import { dirname, join } from "node:path";

let counter = 0;

/** A unique temporary path in the same directory as `path` (so rename stays on one file system). */
export function tempSibling(path: string): string {
  counter++;
  return join(dirname(path), `.${path.split("/").pop()}.${Deno.pid}.${counter}.tmp`);
}

/** Write bytes to `path` atomically, creating parent directories. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  try {
    await Deno.writeFile(tmp, data);
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
