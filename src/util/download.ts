/**
 * The project's one downloader: fetch a file from the first of its URLs that
 * answers, with a progress bar, and verify its md5 or sha256 before it
 * appears at its final path. The bytes go to a temporary sibling that is
 * renamed into place only after the digest matches, so a failed, tampered or
 * interrupted download never leaves a file that looks complete.
 *
 * @example
 * ```ts
 * import { downloadVerified } from "./download.ts";
 * await downloadVerified(["https://example.org/a.bin"], "/tmp/a.bin", { md5: "..." });
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "./errors.ts";
import { exists, tempSibling } from "./fs.ts";
import { Progress } from "./progress.ts";

/**
 * Expected digest, lowercase or uppercase hex: md5 (as Keras and CaltechDATA
 * publish) or sha256.
 *
 * @example
 * ```ts
 * import type { Checksum } from "./download.ts";
 * const sum: Checksum = { sha256: "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506" };
 * ```
 */
export type Checksum = { md5: string } | { sha256: string };

/**
 * Hash algorithms {@link fileDigest} accepts.
 *
 * @example
 * ```ts
 * import type { HashAlgorithm } from "./download.ts";
 * const algo: HashAlgorithm = "sha256";
 * ```
 */
export type HashAlgorithm = "md5" | "sha256";

/**
 * Options of {@link downloadVerified}.
 *
 * @example
 * ```ts
 * import type { DownloadOptions } from "./download.ts";
 * const opts: DownloadOptions = { label: "caltech-101.zip", quiet: false };
 * ```
 */
export interface DownloadOptions {
  /** Shown beside the progress bar; default the file name of `dest`. */
  label?: string;
  /** No progress output. */
  quiet?: boolean;
}

const HEX_LENGTH: Record<HashAlgorithm, number> = { md5: 32, sha256: 64 };

/** The algorithm and normalised hex of `sum`; a malformed one is a bug in the caller's constant. */
function expectedDigest(sum: Checksum): { algo: HashAlgorithm; hex: string } {
  const algo: HashAlgorithm = "md5" in sum ? "md5" : "sha256";
  const hex = String((sum as Record<string, unknown>)[algo] ?? "").toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${HEX_LENGTH[algo]}}$`).test(hex)) {
    throw new TypeError(
      `downloadVerified: ${algo} must be ${HEX_LENGTH[algo]} hex digits, got '${hex}'`,
    );
  }
  return { algo, hex };
}

/**
 * Hex digest (lowercase) of a file, read in chunks so large files stay out of memory.
 *
 * @example
 * ```ts
 * import { fileDigest } from "./download.ts";
 * console.log((await fileDigest("deno.json", "sha256")).length); // 64
 * ```
 */
export async function fileDigest(path: string, algo: HashAlgorithm): Promise<string> {
  const hash = createHash(algo);
  const f = await Deno.open(path, { read: true });
  // The readable closes the file when it ends or when the loop throws.
  for await (const chunk of f.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * True when `path` exists and has the expected digest.
 *
 * @example
 * ```ts
 * import { isVerified } from "./download.ts";
 * if (!await isVerified("/tmp/a.bin", { md5: "253f8cb515780f3b799900260a226db6" })) {
 *   console.log("needs a download");
 * }
 * ```
 */
export async function isVerified(path: string, sum: Checksum): Promise<boolean> {
  const { algo, hex } = expectedDigest(sum);
  if (!await exists(path)) return false;
  return (await fileDigest(path, algo)) === hex;
}

interface Source {
  body: ReadableStream<Uint8Array>;
  /** Byte count when known, for the bar. */
  total: number | null;
  /** Why a mismatch may have happened, when the response itself suggests it. */
  hint: string;
}

async function openSource(url: string): Promise<Source> {
  if (url.startsWith("file:")) {
    // fetch() reads file: URLs too but sends no length; the stat gives the bar a total.
    const f = await Deno.open(fileURLToPath(url), { read: true });
    try {
      return { body: f.readable, total: (await f.stat()).size, hint: "" };
    } catch (e) {
      f.close();
      throw e;
    }
  }
  const res = await fetch(url);
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText}`.trimEnd());
  }
  const length = Number(res.headers.get("content-length"));
  // Repositories answer a wrong or expired link with a 200 HTML page; say so.
  const hint = (res.headers.get("content-type") ?? "").includes("text/html")
    ? " (the server sent an HTML page, not the file)"
    : "";
  return { body: res.body, total: length > 0 ? length : null, hint };
}

/** The bytes of `url` into a new file `tmp`; returns their digest. */
async function fetchTo(
  url: string,
  tmp: string,
  algo: HashAlgorithm,
  label: string,
  quiet: boolean,
): Promise<{ actual: string; hint: string }> {
  const src = await openSource(url);
  const bar = quiet || src.total === null ? null : new Progress(label, src.total, "B");
  const hash = createHash(algo);
  let bytes = 0;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true });
  } catch (e) {
    await src.body.cancel();
    throw e;
  }
  try {
    // pipeTo writes every byte (FsFile.write may be partial) and closes the file either way.
    await src.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          hash.update(chunk);
          bytes += chunk.length;
          bar?.tick(chunk.length);
          ctl.enqueue(chunk);
        },
      }),
    ).pipeTo(file.writable);
  } finally {
    bar?.done();
  }
  if (!quiet && !bar) console.error(`${label}: ${(bytes / 1e6).toFixed(1)} MB`);
  return { actual: hash.digest("hex"), hint: src.hint };
}

/**
 * Fetch `dest` from the first of `urls` that delivers the expected bytes
 * (http(s) or `file:`), verifying `sum` before the file appears at `dest`;
 * returns `dest`. A `dest` that already verifies is kept without any request,
 * so reruns are cheap; one that does not is replaced. A URL that fails or
 * whose bytes mismatch is skipped for the next; when none succeeds the
 * {@link UserError} lists every URL with its reason, a mismatch naming the
 * expected and the actual digest. No temporary file is left behind.
 *
 * @example
 * ```ts
 * import { downloadVerified } from "./download.ts";
 * const path = await downloadVerified(
 *   "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/tubingen.jpg",
 *   "/tmp/tubingen.jpg",
 *   { sha256: "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506" },
 *   { label: "tubingen.jpg" },
 * );
 * console.log(path);
 * ```
 */
export async function downloadVerified(
  urls: string | string[],
  dest: string,
  sum: Checksum,
  opts: DownloadOptions = {},
): Promise<string> {
  const list = typeof urls === "string" ? [urls] : urls;
  if (list.length === 0) throw new TypeError(`downloadVerified: no URL given for ${dest}`);
  const { algo, hex } = expectedDigest(sum);
  if (await isVerified(dest, sum)) return dest;
  await Deno.mkdir(dirname(dest), { recursive: true });
  const label = opts.label ?? basename(dest);
  const failures: string[] = [];
  for (const url of list) {
    const tmp = tempSibling(dest);
    try {
      const { actual, hint } = await fetchTo(url, tmp, algo, label, !!opts.quiet);
      if (actual !== hex) {
        failures.push(
          `checksum mismatch for ${url}: expected ${algo} ${hex}, got ${actual}${hint}`,
        );
        continue;
      }
      await Deno.rename(tmp, dest);
      return dest;
    } catch (e) {
      failures.push(`${url}: ${(e as Error).message}`);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  }
  throw new UserError(
    failures.length === 1
      ? `download of ${dest} failed: ${failures[0]}`
      : `download of ${dest} failed from every URL: ${failures.join("; ")}`,
  );
}
