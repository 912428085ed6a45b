/**
 * The study's graceful stop (issue 16, 3), tested as tests/style/stop_test.ts
 * tests stylize's: the first SIGINT/SIGTERM stops at the next job boundary,
 * keeps every committed cache entry and run, leaves nothing half-written and
 * exits 130/143 with one line; a rerun resumes; a second signal exits at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, tinyStudyArgs } from "../_env.ts";

/** 2 images per class x groups light and heavy: 12 stylizations, then 5 classifier runs. */
const ARGS = tinyStudyArgs("none,light,heavy");
const JOBS = 12;

function start(dir: string, extra: string[] = []) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      join(REPO_ROOT, "src/study/cli.ts"),
      ...ARGS,
      "--cache",
      join(dir, "cache"),
      "--out",
      join(dir, "out"),
      ...extra,
    ],
    stdout: "null",
    stderr: "piped",
    env: { CI: "1" },
  }).spawn();
  let text = "";
  const reading = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) text += c;
  })();
  return { child, reading, stderr: () => text };
}

/** Files under `dir` (relative paths), recursively. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let list: Deno.DirEntry[] = [];
    try {
      list = [...Deno.readDirSync(d)];
    } catch {
      return;
    }
    for (const e of list) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, "");
  return out;
}

/** Committed cache entries, each checked whole; no temporary file anywhere. */
async function checkCache(dir: string): Promise<number> {
  const cache = join(dir, "cache");
  const all = files(cache);
  assert.deepEqual(all.filter((f) => f.endsWith(".tmp")), [], "temporary files left");
  let n = 0;
  for (const f of all.filter((f) => f.endsWith(".json"))) {
    const side = JSON.parse(await Deno.readTextFile(join(cache, f)));
    const png = await Deno.readFile(join(cache, f.replace(/[^/]+$/, side.png)));
    assert.equal(png.length, side.png_bytes, f);
    n++;
  }
  return n;
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 300_000; // generous: CI machines may be loaded
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("study SIGINT during stylization: exit 130 at a job boundary, entries kept, a rerun resumes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = start(dir);
    await waitFor(async () => (await checkCache(dir).catch(() => 0)) >= 2, "2 cache entries");
    r.child.kill("SIGINT");
    const status = await r.child.status;
    await r.reading;
    assert.equal(status.code, 130, r.stderr());
    const line = r.stderr().split("\n").filter((l) => l.startsWith("stopped by SIGINT"));
    assert.equal(line.length, 1, r.stderr());
    assert.match(
      line[0],
      /at a job boundary: kept \d+ stylization task\(s\) and 0 classifier run\(s\).*run the same command again to resume/,
    );
    assert.doesNotMatch(r.stderr(), /^\s+at .*:\d+:\d+/m, "a stack trace");
    const kept = await checkCache(dir);
    assert.ok(kept >= 2 && kept < JOBS, `kept ${kept}`);
    assert.deepEqual(files(join(dir, "out")).filter((f) => !f.startsWith("runs/")), []);
    // The rerun (here only its stylization: --shard 1/1) does only what is missing.
    const again = start(dir, ["--shard", "1/1"]);
    assert.equal((await again.child.status).code, 0);
    await again.reading;
    assert.match(again.stderr(), new RegExp(`stylized ${JOBS - kept}, ${kept} were cached`));
    assert.equal(await checkCache(dir), JOBS);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("study SIGTERM during training: exit 143, finished runs kept whole, no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Both classifiers: the CNN runs after the transfer runs and take seconds each, so the signal
    // lands while runs remain however fast the machine is. The first finished run file (written
    // atomically) is the cue; the progress line is throttled and may never say "1/".
    const r = start(dir, ["--classifier", "both"]);
    await waitFor(
      () => files(join(dir, "out", "runs")).some((f) => f.endsWith(".json")),
      "the first classifier run",
    );
    r.child.kill("SIGTERM");
    const status = await r.child.status;
    await r.reading;
    assert.equal(status.code, 143, r.stderr());
    assert.match(
      r.stderr(),
      /stopped by SIGTERM at a job boundary: kept \d+ stylization task\(s\) and [1-9]\d* classifier run\(s\)/,
    );
    const runs = files(join(dir, "out", "runs"));
    assert.ok(runs.length >= 1, r.stderr());
    assert.deepEqual(runs.filter((f) => !f.endsWith(".json")), [], "temporary files left");
    for (const f of runs) JSON.parse(await Deno.readTextFile(join(dir, "out", "runs", f)));
    assert.equal(await Deno.stat(join(dir, "out", "results.json")).catch(() => null), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("study: a second SIGINT exits at once with 130, nothing half-written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = start(dir);
    await waitFor(async () => (await checkCache(dir).catch(() => 0)) >= 1, "a cache entry");
    r.child.kill("SIGINT");
    await new Promise((res) => setTimeout(res, 50));
    try {
      r.child.kill("SIGINT");
    } catch {
      // the stop already ended it
    }
    const status = await r.child.status;
    await r.reading;
    assert.equal(status.code, 130, r.stderr());
    assert.match(r.stderr(), /SIGINT again: exiting now|stopped by SIGINT at a job boundary/);
    await checkCache(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
