/**
 * Download a file with a progress bar and a checksum check. The bytes go to
 * a temporary sibling of the destination and are renamed into place only
 * after the checksum matches, so a failed or interrupted download never
 * leaves a file that looks complete.
 *
 * @example
 * ```ts
 * import { downloadVerified } from "./download.ts";
 * await downloadVerified(["https://example.org/a.bin"], "/tmp/a.bin", { md5: "..." });
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { UserError } from "./errors.ts";
import { exists, tempSibling } from "./fs.ts";
import { Progress } from "./progress.ts";

/** Expected digest, hex: md5 (as Keras publishes) or sha256. */
export type Checksum = { md5: string } | { sha256: string };

/** Hex digest of a file with the algorithm of `sum`. */
export async function fileDigest(path: string, sum: Checksum): Promise<string> {
  const hash = createHash("md5" in sum ? "md5" : "sha256");
  const f = await Deno.open(path);
  try {
    for await (const chunk of f.readable) hash.update(chunk);
  } catch (e) {
    throw e;
  }
  return hash.digest("hex");
}

/** True when `path` exists and has the expected digest. */
export async function isVerified(path: string, sum: Checksum): Promise<boolean> {
  if (!await exists(path)) return false;
  return (await fileDigest(path, sum)) === ("md5" in sum ? sum.md5 : sum.sha256);
}

/**
 * Fetch the first URL that answers into `dest`, verifying `sum`. Returns
 * `dest`. Skips the download when `dest` already exists with the right digest.
 */
export async function downloadVerified(urls: string[], dest: string, sum: Checksum): Promise<string> {
  if (await isVerified(dest, sum)) return dest;
  const expected = "md5" in sum ? sum.md5 : sum.sha256;
  const algo = "md5" in sum ? "md5" : "sha256";
  await Deno.mkdir(dirname(dest), { recursive: true });
  const errors: string[] = [];
  for (const url of urls) {
    const tmp = tempSibling(dest);
    try {
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const total = Number(res.headers.get("content-length") ?? 0);
      const progress = new Progress(`download ${dest.split("/").pop()}`, total || 1, "B");
      const hash = createHash(algo);
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        for await (const chunk of res.body) {
          hash.update(chunk);
          await file.write(chunk);
          if (total) progress.tick(chunk.length);
        }
      } finally {
        file.close();
        progress.done();
      }
      const actual = hash.digest("hex");
      if (actual !== expected) {
        throw new UserError(`${url}: ${algo} mismatch (expected ${expected}, got ${actual}); file discarded`);
      }
      await Deno.rename(tmp, dest);
      return dest;
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      if (e instanceof UserError) throw e;
      errors.push(`${url}: ${(e as Error).message}`);
    }
  }
  throw new UserError(`download of ${dest} failed: ${errors.join("; ")}`);
}
