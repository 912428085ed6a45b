/**
 * `deno task test`'s first step: make sure the tests' data folder (see
 * `_data.ts`) is complete before hundreds of tests try to read it.
 *
 * A complete folder passes silently. Without `NST_SHARED` and `../shared`,
 * the data is fetched once into the project cache (`deno task test-data`).
 * When it is still missing (a wrong `NST_SHARED`, an incomplete `../shared`,
 * or a fetch that failed, e.g. offline), ONE line on stderr says what is
 * missing and how to provide it, and the exit code is 1.
 *
 * @example
 * ```ts
 * import { preflight } from "./_preflight.ts";
 * Deno.exit(await preflight());
 * ```
 * @module
 */
import {
  cachedSharedDir,
  fetchTestData,
  missingTestData,
  REQUIRED_TEST_DATA,
  resolveSharedDir,
} from "./_data.ts";

/**
 * Check (and in the cache case fetch) the test data; returns the exit code.
 * `env` and `sibling` override `NST_SHARED` and `../shared` (for tests).
 *
 * @example
 * ```ts
 * import { preflight } from "./_preflight.ts";
 * console.log(await preflight({ env: "/nonexistent" })); // 1, after one line on stderr
 * ```
 */
export async function preflight(opts: { env?: string; sibling?: string } = {}): Promise<number> {
  const { dir, source } = resolveSharedDir(opts);
  let missing = await missingTestData(dir);
  if (missing.length === 0) return 0;
  let failure = "";
  if (source === "cache") {
    let announced = false;
    const log = (line: string) => {
      if (!announced) {
        console.error(`tests: no ../shared; fetching the test data into ${dir} (once)`);
      }
      announced = true;
      console.error(line);
    };
    try {
      await fetchTestData(dir, { log });
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ");
      failure = `; fetching it failed (${why.length > 300 ? why.slice(0, 300) + "..." : why})`;
    }
    missing = await missingTestData(dir);
    if (missing.length === 0) return 0;
  }
  const where = source === "env"
    ? `NST_SHARED=${dir}`
    : source === "sibling"
    ? `../shared (${dir})`
    : `no NST_SHARED, no ../shared, and the cache ${dir}`;
  const fix = source === "cache"
    ? "run `deno task test-data` when online (downloads it once, checksum-verified), " +
      "or set NST_SHARED=/path/to/shared"
    : source === "sibling"
    ? "set NST_SHARED=/path/to/shared (a complete shared data folder)"
    : "set NST_SHARED=/path/to/shared (a complete shared data folder), or unset NST_SHARED " +
      `and run \`deno task test-data\` (downloads it, checksum-verified, into ${cachedSharedDir()})`;
  console.error(
    `tests: test data missing: ${where} lacks ${missing[0]} (${missing.length} of ` +
      `${REQUIRED_TEST_DATA.length} required files)${failure}; ${fix}`,
  );
  return 1;
}

if (import.meta.main) Deno.exit(await preflight());
