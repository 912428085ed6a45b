/**
 * `deno task test`'s preflight (`tests/_preflight.ts`): a complete data
 * folder passes silently; missing data with the network unreachable gives
 * exit 1, exactly one line naming NST_SHARED and `deno task test-data`, and
 * no partial file anywhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT, SHARED } from "./_env.ts";
import { missingTestData } from "./_data.ts";
import { preflight } from "./_preflight.ts";

/** Every regular file under `dir` (relative paths). */
async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.isDirectory) out.push(...await filesUnder(join(dir, e.name), `${prefix}${e.name}/`));
    else out.push(prefix + e.name);
  }
  return out;
}

/** Run `args` with deno in the repo root, offline: every http(s) request goes to a closed port. */
async function runOffline(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env: {
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      https_proxy: "http://127.0.0.1:9",
      http_proxy: "http://127.0.0.1:9",
      NO_PROXY: "",
      no_proxy: "",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function assertOneLine(stderr: string, stdout: string): string {
  assert.deepEqual(stdout, "");
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  assert.deepEqual(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0], /NST_SHARED=\/path\/to\/shared/);
  assert.match(lines[0], /deno task test-data/);
  return lines[0];
}

Deno.test("preflight: a complete shared folder passes silently", async () => {
  assert.deepEqual(await missingTestData(SHARED), [], `the shared folder ${SHARED} is incomplete`);
  assert.deepEqual(await preflight({ env: SHARED }), 0);
});

Deno.test("preflight: NST_SHARED at an empty folder, offline: one line, exit 1, nothing written", async () => {
  const shared = await Deno.makeTempDir({ prefix: "nst-empty-shared-" });
  const cache = await Deno.makeTempDir({ prefix: "nst-cache-" });
  try {
    const r = await runOffline(["run", "-A", "--quiet", "tests/_preflight.ts"], {
      NST_SHARED: shared,
      NST_CACHE_DIR: cache,
    });
    assert.deepEqual(r.code, 1, r.stderr);
    const line = assertOneLine(r.stderr, r.stdout);
    assert.ok(line.includes(`NST_SHARED=${shared} lacks`), line);
    assert.deepEqual(await filesUnder(shared), []);
    assert.deepEqual(await filesUnder(cache), []);
  } finally {
    await Deno.remove(shared, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("preflight: no NST_SHARED, no ../shared, offline: the fetch fails cleanly, one line, exit 1", async () => {
  const cache = await Deno.makeTempDir({ prefix: "nst-cache-" });
  try {
    const url = pathToFileURL(join(REPO_ROOT, "tests", "_preflight.ts")).href;
    const noSibling = join(cache, "no-such-shared");
    const code = `import { preflight } from ${JSON.stringify(url)};\n` +
      `Deno.exit(await preflight({ sibling: ${JSON.stringify(noSibling)} }));`;
    const r = await runOffline(["eval", "--quiet", code], { NST_SHARED: "", NST_CACHE_DIR: cache });
    assert.deepEqual(r.code, 1, r.stderr);
    const line = assertOneLine(r.stderr, r.stdout);
    assert.match(line, /no NST_SHARED, no \.\.\/shared/);
    assert.match(line, /fetching it failed/);
    // Nothing partial: no file at all (temporary or final) and no empty folder left behind.
    assert.deepEqual(await filesUnder(cache), []);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(cache)), []);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
