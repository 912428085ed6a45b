/**
 * `deno task data`: download the official Caltech-101 archive, the style
 * paintings (the bank and held-out test styles, Composition VII among them,
 * each pinned to a repository commit) and the Tübingen content image into the user
 * cache, verifying every file against a published or pinned checksum.
 *
 * Nothing unverified or half-written ever sits at a final path: downloads go
 * through {@link downloadVerified} (temporary file, renamed after the checksum
 * matches), and the archive is unpacked into a temporary folder renamed into
 * place when complete. The formats are left to libraries (fflate reads the
 * zip, the platform's DecompressionStream the gzip, node-tar the tar); what
 * stays here is the policy: every tar entry path is checked before anything
 * is written, and absolute paths, `..` segments, links and device entries are
 * refused rather than silently skipped or rewritten.
 *
 * Usage: `deno task data [--dir DIR] [--keep-archive]`
 *
 * @example
 * ```ts
 * import { installCaltech } from "./download.ts";
 * console.log(await installCaltech("caltech-101.zip", "/tmp/caltech101"));
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import { basename, join, resolve } from "node:path";
import { flagHelp, type FlagTable, parseFlagTable } from "../util/flags.ts";
import { Unzip, UnzipInflate } from "fflate";
import { type ReadEntry, Unpack } from "tar";
import { runMain, UserError } from "../util/errors.ts";
import { cacheDir, exists, preflightWritable } from "../util/fs.ts";
import { ASSETS, STYLE_ASSETS } from "../util/assets.ts";
import { downloadVerified } from "../util/download.ts";
import { Progress } from "../util/progress.ts";
import { CALTECH_SUBDIR } from "./dataset.ts";

/**
 * CaltechDATA record 10.22002/D1.20086 ("Caltech 101", version 1.0). The md5
 * of caltech-101.zip is the one CaltechDATA lists for the file and that
 * mlverse/torchvision's caltech101_dataset pins
 * ("3138e1922a9193bfa496528edbbc45d0"). `?download=1` asks the repository for
 * the file itself rather than its preview page.
 *
 * @example
 * ```ts
 * import { CALTECH_ZIP } from "./download.ts";
 * console.log(CALTECH_ZIP.md5);
 * ```
 */
export const CALTECH_ZIP = {
  url: "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip?download=1",
  file: "caltech-101.zip",
  md5: "3138e1922a9193bfa496528edbbc45d0",
  /** The member holding the images; verified transitively by the zip's md5 and gzip's own CRC-32. */
  member: "101_ObjectCategories.tar.gz",
} as const;

/**
 * The checked, normalised relative path of an archive entry: `/`-separated,
 * without `.` or empty segments. Absolute paths (`/x`, `C:x`, `\x`),
 * backslashes, NUL and any `..` segment are a {@link UserError}, so no entry
 * can land outside the extraction folder. Returns `""` for the root itself.
 * node-tar already strips leading `/` and skips `..` entries; this check
 * turns both into a refusal of the whole archive instead.
 *
 * @example
 * ```ts
 * import { safeEntryPath } from "./download.ts";
 * console.log(safeEntryPath("./101_ObjectCategories/crab/")); // 101_ObjectCategories/crab
 * ```
 */
export function safeEntryPath(name: string): string {
  const refuse = (why: string) => new UserError(`unsafe archive entry '${name}': ${why}`);
  if (name.includes("\0")) throw refuse("contains NUL");
  if (name.includes("\\")) throw refuse("contains a backslash");
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) throw refuse("absolute path");
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw refuse("'..' escapes the target folder");
  return parts.join("/");
}

/** Entry types written to disk; node-tar's names. Everything else is refused. */
const EXTRACTED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory"]);

function checkEntry(path: string, type: string): void {
  safeEntryPath(path);
  if (type === "SymbolicLink" || type === "Link") {
    throw new UserError(`unsafe archive entry '${path}': links are not extracted`);
  }
  if (!EXTRACTED_TYPES.has(type)) {
    throw new UserError(`unsupported archive entry '${path}' (tar type ${type})`);
  }
}

/**
 * What {@link extractTar} wrote.
 *
 * @example
 * ```ts
 * import type { ExtractSummary } from "./download.ts";
 * const s: ExtractSummary = { files: 9144, directories: 102, bytes: 0 };
 * ```
 */
export interface ExtractSummary {
  files: number;
  directories: number;
  bytes: number;
}

/**
 * Unpack an uncompressed tar stream into `destDir` with node-tar, refusing
 * the whole archive with a {@link UserError} at the first entry that
 * {@link safeEntryPath} rejects or that is a link, device or other special
 * file; nothing from that entry on is written. A corrupt or truncated archive
 * is a {@link UserError} too. The promise settles only once node-tar has
 * finished every write, so the caller can delete `destDir` safely. Pipe a
 * `.tar.gz` through `DecompressionStream("gzip")` first.
 *
 * @example
 * ```ts
 * import { extractTar } from "./download.ts";
 * const f = await Deno.open("images.tar.gz");
 * await extractTar(f.readable.pipeThrough(new DecompressionStream("gzip")), "/tmp/images");
 * ```
 */
export async function extractTar(
  source: AsyncIterable<Uint8Array>,
  destDir: string,
): Promise<ExtractSummary> {
  const root = resolve(destDir);
  await Deno.mkdir(root, { recursive: true });
  const summary: ExtractSummary = { files: 0, directories: 0, bytes: 0 };
  let refused: UserError | null = null;
  let tarError: Error | null = null;
  const unpack = new Unpack({
    cwd: root,
    // Every node-tar warning (bad header, truncation, write failure) becomes an error.
    strict: true,
    // As root node-tar would chown to the archive's uids; the files are the user's data.
    preserveOwner: false,
    filter: (path, entry) => {
      if (refused) return false;
      const type = (entry as ReadEntry).type;
      try {
        checkEntry(path, type);
      } catch (e) {
        refused = e as UserError;
        return false;
      }
      if (type === "Directory") summary.directories++;
      else {
        summary.files++;
        summary.bytes += (entry as ReadEntry).size ?? 0;
      }
      return true;
    },
  });
  // node-tar goes on after an error in strict mode and still closes; keep the first.
  unpack.on("error", (e: Error) => tarError ??= e);
  const closed = new Promise<void>((res) => unpack.on("close", () => res()));
  let sourceError: unknown = null;
  try {
    for await (const chunk of source) {
      if (refused) break;
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (!unpack.write(buf)) await new Promise((res) => unpack.once("drain", res));
    }
  } catch (e) {
    sourceError = e;
  }
  // Ending even after a failure makes node-tar finish its pending writes and close.
  unpack.end();
  await closed;
  if (sourceError) {
    if (sourceError instanceof UserError) throw sourceError;
    throw new UserError(`archive is corrupt: ${(sourceError as Error).message}`);
  }
  if (refused) throw refused;
  if (tarError) throw new UserError(`archive is corrupt: ${(tarError as Error).message}`);
  return summary;
}

/**
 * The uncompressed bytes of the first zip member whose name `wanted` accepts,
 * streamed with fflate so neither the zip nor the member is held in memory.
 * Reading stops at the member's end. `onRead` sees the zip bytes read (for
 * progress).
 */
async function* zipMember(
  zipPath: string,
  wanted: (name: string) => boolean,
  onRead?: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let found = false, ended = false;
  let failure: Error | null = null;
  const unzip = new Unzip((file) => {
    if (found || !wanted(file.name)) return;
    found = true;
    file.ondata = (err, data, final) => {
      if (err) failure = err;
      else out.push(data);
      if (final) ended = true;
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  const f = await Deno.open(zipPath, { read: true });
  const fail = (why: string) => new UserError(`${zipPath}: ${why}`);
  try {
    for await (const chunk of f.readable) {
      unzip.push(chunk);
      onRead?.(chunk.length);
      if (failure) throw fail((failure as Error).message);
      yield* out.splice(0);
      // Leaving the loop cancels the readable, which closes the file.
      if (ended) return;
    }
    unzip.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw fail(`not a readable zip file (${(e as Error).message})`);
  }
  if (failure) throw fail((failure as Error).message);
  yield* out.splice(0);
  if (!found) throw fail(`no ${CALTECH_ZIP.member} inside`);
  if (!ended) throw fail(`${CALTECH_ZIP.member} is truncated`);
}

/**
 * Unpack `101_ObjectCategories/` from the verified Caltech-101 zip into
 * `caltechDir`, via a temporary folder renamed into place when complete, so
 * an interrupted or refused run leaves nothing that looks like data. Returns
 * the `101_ObjectCategories` path; an existing one is kept as is.
 *
 * @example
 * ```ts
 * import { installCaltech } from "./download.ts";
 * console.log(await installCaltech("caltech-101.zip", "/tmp/caltech101"));
 * ```
 */
export async function installCaltech(
  zipPath: string,
  caltechDir: string,
  options: { quiet?: boolean } = {},
): Promise<string> {
  const target = join(caltechDir, CALTECH_SUBDIR);
  if (await exists(target)) return target;
  const tmp = join(caltechDir, `.extract-${randomUUID()}`);
  await Deno.mkdir(tmp, { recursive: true });
  const bar = options.quiet
    ? null
    : new Progress("unpacking", (await Deno.stat(zipPath)).size, "B");
  let summary: ExtractSummary;
  try {
    const member = zipMember(
      zipPath,
      (name) => basename(name) === CALTECH_ZIP.member,
      (n) => bar?.tick(n),
    );
    const tarStream = ReadableStream.from(member).pipeThrough(
      new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    );
    summary = await extractTar(tarStream, tmp);
    if (!(await exists(join(tmp, CALTECH_SUBDIR)))) {
      throw new UserError(`${CALTECH_ZIP.member} holds no ${CALTECH_SUBDIR}/ folder`);
    }
    try {
      await Deno.rename(join(tmp, CALTECH_SUBDIR), target);
    } catch (e) {
      // Another process finished first; its copy is equally complete.
      if (!(await exists(target))) throw e;
    }
  } finally {
    bar?.done();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  if (!options.quiet) console.error(`unpacked ${summary.files} files into ${target}`);
  return target;
}

const HELP = `Downloads Caltech-101 (CaltechDATA, CC BY 4.0), Kandinsky's Composition VII
and the Tübingen photograph, verifies their checksums and unpacks the archive.
`;

/**
 * `deno task data`'s flags, one row each.
 *
 * @example
 * ```ts
 * import { DATA_FLAGS } from "./download.ts";
 * console.log(DATA_FLAGS.dir.kind); // path
 * ```
 */
export const DATA_FLAGS: FlagTable = {
  dir: {
    kind: "path",
    value: "DIR",
    defaultText: "<cache>/data",
    help: "where to put the data (cache from $NST_CACHE_DIR, $XDG_CACHE_HOME/nst-augment or " +
      "~/.cache/nst-augment)",
  },
  "keep-archive": { kind: "boolean", help: "keep caltech-101.zip (137 MB) after unpacking" },
  help: { kind: "boolean", short: "h", help: "this text" },
};

async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, DATA_FLAGS);
  const parsed = { values: values as { dir?: string; "keep-archive"?: boolean; help?: boolean } };
  if (parsed.values.help) {
    console.log(flagHelp("deno task data [options]", DATA_FLAGS) + "\n\n" + HELP);
    return;
  }
  if (parsed.values.dir) await preflightWritable(join(parsed.values.dir, ".write-probe"), "--dir");
  const dir = resolve(parsed.values.dir ?? join(cacheDir(), "data"));
  // ASSETS holds the images' sources and sha256 (those of the shared data folder's copies).
  const images = [...STYLE_ASSETS, ASSETS.tubingen].map((a) => ({
    ...a,
    dest: join(dir, a.file.replace(/^data\//, "")),
  }));
  for (const img of images) {
    await downloadVerified(img.urls, img.dest, { sha256: img.sha256 });
    console.error(`ok ${img.dest}`);
  }
  const caltechDir = join(dir, "caltech101");
  if (!(await exists(join(caltechDir, CALTECH_SUBDIR)))) {
    const zip = join(dir, "downloads", CALTECH_ZIP.file);
    await downloadVerified(CALTECH_ZIP.url, zip, { md5: CALTECH_ZIP.md5 });
    await installCaltech(zip, caltechDir);
    if (!parsed.values["keep-archive"]) await Deno.remove(zip);
  }
  console.error(`ok ${join(caltechDir, CALTECH_SUBDIR)}`);
  console.log(`data ready: pass --data ${caltechDir}`);
  console.log(`style images: ${join(dir, "styles")}/ (bank and test styles)`);
  console.log(`content image: ${images[images.length - 1].dest}`);
}

if (import.meta.main) await runMain(main);
