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
import { basename, dirname, join, resolve } from "node:path";
import { isOsError, UserError } from "./errors.ts";

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
  IN_FLIGHT.add(tmp);
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
    // An OS error (a full disk, say) names no path by itself: name the file.
    if (isOsError(e) && e instanceof Error && !e.message.startsWith("cannot write ")) {
      e.message = `cannot write ${path} (${e.message.replace(/\s+/g, " ")})`;
    }
    throw e;
  } finally {
    IN_FLIGHT.delete(tmp);
  }
}

/** Temporary files being written now (by {@link writeFileAtomic} or {@link trackTemp}). */
const IN_FLIGHT = new Set<string>();

/**
 * Register (`true`) or forget (`false`) a temporary file this process is
 * writing, so that {@link removeTempFilesSync} can remove it on an abrupt exit.
 *
 * @example
 * ```ts
 * import { trackTemp } from "./fs.ts";
 * trackTemp("out/.log.jsonl.1234.tmp", true);
 * ```
 */
export function trackTemp(path: string, on: boolean): void {
  if (on) IN_FLIGHT.add(path);
  else IN_FLIGHT.delete(path);
}

/**
 * Remove every temporary file still being written (synchronously: for a
 * second interrupt, right before `Deno.exit`).
 *
 * @example
 * ```ts
 * import { removeTempFilesSync } from "./fs.ts";
 * removeTempFilesSync();
 * Deno.exit(130);
 * ```
 */
export function removeTempFilesSync(): void {
  for (const p of IN_FLIGHT) {
    try {
      Deno.removeSync(p);
    } catch {
      // already renamed or never created
    }
  }
  IN_FLIGHT.clear();
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

/**
 * Where `path` really points: symlinks resolved for the longest existing
 * prefix, the rest appended (for outputs that do not exist yet).
 *
 * @example
 * ```ts
 * import { realTarget } from "./fs.ts";
 * console.log(await realTarget("out/new/x.png")); // e.g. /home/me/project/out/new/x.png
 * ```
 */
export async function realTarget(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await Deno.realPath(abs);
  } catch {
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(await realTarget(parent), basename(abs));
  }
}

/**
 * An OS error on a user's path as a one-line {@link UserError} naming the flag
 * and the path; anything else is returned unchanged.
 *
 * @example
 * ```ts
 * import { userPathError } from "./fs.ts";
 * try {
 *   await Deno.writeFile("/proc/x.png", new Uint8Array(1));
 * } catch (e) {
 *   console.log(userPathError(e, "--out", "/proc/x.png").message);
 * }
 * ```
 */
export function userPathError(
  e: unknown,
  flag: string,
  path: string,
  verb = "cannot write",
): Error {
  if (e instanceof UserError) return e;
  if (isOsError(e)) {
    const m = (e as Error).message.replace(/\s+/g, " ");
    return new UserError(
      m.startsWith("cannot write ") ? `${flag}: ${m}` : `${flag}: ${verb} ${path} (${m})`,
    );
  }
  return e as Error;
}

/**
 * Check, before any compute, that a file can be created at `path`: it is not a
 * directory, its first existing ancestor is a directory, and a temporary file
 * can be created and written (one byte: a full disk fails here) and is removed there. Creates nothing that stays. A
 * UserError names `flag` and the path.
 *
 * @example
 * ```ts
 * import { preflightWritable } from "./fs.ts";
 * await preflightWritable("out/x.png", "--out");
 * ```
 */
export async function preflightWritable(path: string, flag: string): Promise<void> {
  const st = await Deno.lstat(path).catch(() => null);
  if (st?.isDirectory) throw new UserError(`${flag}: ${path} is a directory, expected a file`);
  let dir = dirname(resolve(path));
  while (true) {
    const d = await Deno.stat(dir).catch((e) => e as Error);
    if (!(d instanceof Error)) {
      if (!d.isDirectory) {
        throw new UserError(`${flag}: cannot write ${path} (${dir} is not a directory)`);
      }
      break;
    }
    if (!(d instanceof Deno.errors.NotFound || d instanceof Deno.errors.NotADirectory)) {
      throw userPathError(d, flag, path);
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const probe = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const f = await Deno.open(probe, { write: true, createNew: true });
    try {
      await f.write(new Uint8Array(1)); // a full disk still creates empty files
    } finally {
      f.close();
    }
  } catch (e) {
    await Deno.remove(probe).catch(() => {});
    const why = e instanceof Error ? e.message.replace(/: \w+ '.*'$/, "") : String(e);
    throw new UserError(`${flag}: cannot write ${path} (cannot create a file in ${dir}: ${why})`);
  }
  await Deno.remove(probe).catch(() => {});
}
