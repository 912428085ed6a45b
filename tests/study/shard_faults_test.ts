/**
 * Concurrent shards on one cache, two of them killed with SIGKILL at seeded
 * random moments (issue 16, 4): after a rerun of the killed shards and a final
 * pass over all the work, the cache holds every entry exactly once, each whole
 * (its sidecar names a PNG of the recorded size and hash), and the same
 * entries, byte for byte, as an undisturbed single process writes. Training is
 * a deterministic function of these entries, so equal caches give the final
 * run the undisturbed run's predictions. Bounded: 12 jobs, 2 kills, 2 reruns, one final pass;
 * seeded: the victims and kill delays come from a fixed seed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, tinyStudyArgs } from "../_env.ts";

/** 2 images per class x groups light and heavy: 12 stylizations, 3 per shard of 4. */
const ARGS = tinyStudyArgs("none,light,heavy");
const JOBS = 12;

function shardCommand(cache: string, shard: string): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      join(REPO_ROOT, "src/study/cli.ts"),
      ...ARGS,
      "--cache",
      cache,
      "--out",
      cache + "-out",
      "--shard",
      shard,
    ],
    stdout: "null",
    stderr: "piped",
    env: { CI: "1" },
  });
}

async function runShard(cache: string, shard: string): Promise<string> {
  const out = await shardCommand(cache, shard).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return stderr;
}

/** Key -> png sha256 of every committed entry; asserts each is whole and unique. */
async function entries(cache: string): Promise<{ byKey: Map<string, string>; temps: number }> {
  const byKey = new Map<string, string>();
  let temps = 0;
  for await (const sub of Deno.readDir(cache)) {
    if (!sub.isDirectory) continue;
    const dir = join(cache, sub.name);
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
    for (const n of names) {
      if (n.endsWith(".tmp")) {
        temps++; // a killed writer's; never read as an entry, swept after a day
        continue;
      }
      if (!n.endsWith(".json")) continue;
      const side = JSON.parse(await Deno.readTextFile(join(dir, n)));
      const key = n.slice(0, -5);
      assert.equal(side.key, key);
      const png = await Deno.readFile(join(dir, side.png));
      assert.equal(png.length, side.png_bytes, `${n}: PNG size`);
      const hash = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", png)))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      assert.equal(hash, side.png_sha256, `${n}: PNG hash`);
      assert.ok(!byKey.has(key), `duplicate entry ${key}`);
      byKey.set(key, hash);
    }
    // One PNG per key: a killed writer's complete PNG without sidecar is the same bytes.
    const pngs = names.filter((n) => n.endsWith(".png"));
    const keys = new Set(pngs.map((n) => n.slice(0, 64)));
    assert.equal(pngs.length, keys.size, `several PNGs for one key in ${dir}: ${pngs}`);
  }
  return { byKey, temps };
}

Deno.test("4 shards on one cache, 2 killed with SIGKILL, rerun: no corrupt or duplicate entry, same cache as one process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const reference = join(dir, "reference"), shared = join(dir, "shared");
    await runShard(reference, "1/1");
    const want = (await entries(reference)).byKey;
    assert.equal(want.size, JOBS);

    // Seeded: which two shards die, and when (ms after their start).
    let s = 16;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const victims = new Set<number>();
    while (victims.size < 2) victims.add(1 + Math.floor(rand() * 4));
    const delays = new Map([...victims].map((v) => [v, 2000 + Math.floor(rand() * 6000)]));
    const children = [1, 2, 3, 4].map((k) => ({
      k,
      child: shardCommand(shared, `${k}/4`).spawn(),
    }));
    const killed: number[] = [];
    await Promise.all(children.map(async ({ k, child }) => {
      const reading = new Response(child.stderr).text();
      const delay = delays.get(k);
      if (delay !== undefined) {
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
            killed.push(k);
          } catch {
            // finished first
          }
        }, delay);
        await child.status;
        clearTimeout(timer);
      } else {
        assert.equal((await child.status).code, 0, await reading);
      }
      await reading;
    }));
    console.log(
      `victims ${
        [...delays].map(([k, d]) => `${k}/4 at ${d} ms`).join(", ")
      }; killed ${killed.length}`,
    );
    // Whatever the kills left must already be consistent.
    await entries(shared);
    for (const k of victims) await runShard(shared, `${k}/4`);
    // The final pass finds everything cached: nothing is missing.
    assert.match(await runShard(shared, "1/1"), new RegExp(`stylized 0, ${JOBS} were cached`));
    const got = await entries(shared);
    assert.deepEqual(
      [...got.byKey].sort(([a], [b]) => a.localeCompare(b)),
      [...want].sort(([a], [b]) => a.localeCompare(b)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
