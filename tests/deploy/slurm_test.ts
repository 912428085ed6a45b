/**
 * deploy/slurm/ under a real Slurm (docs/cluster.md): a throwaway single-node
 * cluster (./slurm_cluster.ts) runs `deploy/slurm/submit.sh 3` unchanged, with
 * a tiny smoke study: an array of 3 shard tasks, then the final run
 * `afterok`. Checked: every shard ran exactly once, the cache holds every
 * entry exactly once, and the final report's predictions equal those of a
 * single-process run with the same flags. Skipped with the reason printed
 * without root, `slurm-wlm` or `munge`, unless `NST_REQUIRE_SLURM=1`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS, sharedPath } from "../_env.ts";
import { REQUIRE_SLURM, type Run, slurmUnavailable, startSlurmCluster } from "./slurm_cluster.ts";

/** The tiny study of tests/study/study_test.ts (39 cache entries), on the shared data. */
const STUDY = [
  ...["--data", sharedPath("data/caltech101"), "--style"],
  ...[sharedPath("data/styles/composition_vii.jpg"), "--weights", SHARED_WEIGHTS],
  ...["--backend", "wasm", "--eval-pool", "1", "--preset", "smoke", "--subsets", "1"],
  ...["--train-per-class", "2", "--iterations", "3", "--image-size", "32", "--augment-count", "1"],
  ...["--bootstrap", "200"],
];
const JOBS = 39;
const SHARDS = 3;
/**
 * study.sbatch's #SBATCH lines ask for a GPU, 8 cores and 32 GB; the command line overrides them
 * through NST_SBATCH_ARGS, as docs/cluster.md says, to fit a small CPU node.
 */
const SBATCH_ARGS = "--gres=none --cpus-per-task=1 --mem=1G --time=20";
const WAIT_MS = 10 * 60_000;

const unavailable = await slurmUnavailable();
if (unavailable && REQUIRE_SLURM) {
  throw new Error(`NST_REQUIRE_SLURM=1 but Slurm cannot run here: ${unavailable}`);
}
if (unavailable) console.warn(`tests: ${unavailable}; the real Slurm test is skipped`);

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...(await files(join(dir, e.name))).map((f) => join(e.name, f)));
    else out.push(e.name);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "deploy/slurm on a real single-node Slurm: 3 shards and the final run match one process",
  ignore: unavailable !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await startSlurmCluster({ cpus: 2 });
    if (typeof cluster === "string") {
      if (REQUIRE_SLURM) assert.fail(`NST_REQUIRE_SLURM=1 but no cluster: ${cluster}`);
      console.warn(`tests: Slurm did not start, the real Slurm test is skipped: ${cluster}`);
      return;
    }
    const tmp = await Deno.makeTempDir({ prefix: "nst-slurm-study-" });
    let ok = false;
    try {
      const cache = join(tmp, "cache"), submitDir = join(tmp, "submit");
      await Deno.mkdir(submitDir);
      const sub = await cluster.run("bash", [
        join(REPO_ROOT, "deploy/slurm/submit.sh"),
        `${SHARDS}`,
        ...STUDY,
      ], {
        cwd: submitDir, // the jobs' working directory: their logs land here
        env: {
          NST_CACHE: cache,
          NST_OUT: join(tmp, "slurm-out"),
          NST_DENO: Deno.execPath(),
          NST_SBATCH_ARGS: SBATCH_ARGS,
          CI: "1",
        },
      });
      assert.equal(sub.code, 0, sub.stderr);
      const ids = sub.stdout.match(/job array (\d+) \(1-3\); final run: job (\d+)/);
      assert.ok(ids, sub.stdout);
      const [arrayId, finalId] = [ids[1], ids[2]];

      // Wait until no job is pending or running; completed ones stay listed for MinJobAge.
      const deadline = Date.now() + WAIT_MS;
      let queue = "";
      for (;;) {
        const q: Run = await cluster.run("squeue", ["-h", "-o", "%i %T %r"]);
        assert.equal(q.code, 0, q.stderr);
        queue = q.stdout.trim();
        if (!queue) break;
        assert.ok(Date.now() < deadline, `jobs still queued after ${WAIT_MS / 1000} s:\n${queue}`);
        await sleep(1000);
      }
      const logs = (await files(submitDir)).filter((f) => f.endsWith(".log")).sort();
      const logText = async (f: string) => await Deno.readTextFile(join(submitDir, f));
      const all = await cluster.run("squeue", ["-h", "-t", "all", "-o", "%i %T"]);
      const states = all.stdout.trim().split("\n").sort();
      const dump = async () =>
        `${states.join("\n")}\n${
          (await Promise.all(logs.map(async (f) => `--- ${f}\n${await logText(f)}`))).join("\n")
        }`;
      assert.deepEqual(
        states,
        [1, 2, 3].map((k) => `${arrayId}_${k} COMPLETED`).concat(`${finalId} COMPLETED`).sort(),
        await dump(),
      );

      // Every shard ran exactly once: one log per array task, each stylizing its own share.
      const seen = new Map<number, number>();
      let total = 0;
      for (const f of logs.filter((f) => f.startsWith(`nst-study-${arrayId}_`))) {
        const text = await logText(f);
        const m = [...text.matchAll(/shard (\d)\/3: (\d+) of (\d+) jobs; stylized (\d+)/g)];
        assert.equal(m.length, 1, `${f}:\n${text}`);
        const [, k, n, of, stylized] = m[0];
        assert.equal(Number(of), JOBS, f);
        assert.equal(n, stylized, `${f}: every job of the shard stylized, none found cached`);
        seen.set(Number(k), (seen.get(Number(k)) ?? 0) + 1);
        total += Number(n);
      }
      assert.deepEqual([...seen.entries()].sort(), [[1, 1], [2, 1], [3, 1]], await dump());
      assert.equal(total, JOBS);
      // Not an array task: Slurm writes %a as 4294967294 (NO_VAL); match any index.
      const finalLogs = logs.filter((f) => f.startsWith(`nst-study-${finalId}_`));
      assert.equal(finalLogs.length, 1, logs.join("\n"));
      const final = await logText(finalLogs[0]);
      assert.match(final, new RegExp(`stylization: ${JOBS} jobs, ${JOBS} cached, 0 to run`), final);

      // The cache: one sidecar and one PNG per key (a key stylized twice would leave two PNGs).
      const entries = await files(cache);
      const sidecars = entries.filter((f) => f.endsWith(".json"));
      const pngs = entries.filter((f) => f.endsWith(".png"));
      assert.equal(sidecars.length, JOBS, entries.join("\n"));
      assert.equal(pngs.length, JOBS, entries.join("\n"));
      assert.equal(entries.length, 2 * JOBS, `no temporary files left:\n${entries.join("\n")}`);
      const keys = new Set(sidecars.map((f) => f.replace(/\.json$/, "")));
      assert.deepEqual(new Set(pngs.map((f) => f.replace(/\.[0-9a-f]+\.png$/, ""))), keys);

      // The same study in one process, from the same cache: the same predictions.
      const direct = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          join(REPO_ROOT, "src/study/cli.ts"),
          ...STUDY,
          "--cache",
          cache,
          "--out",
          join(tmp, "direct-out"),
        ],
        cwd: REPO_ROOT,
        env: { CI: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(direct.stderr);
      assert.equal(direct.code, 0, err);
      assert.match(err, new RegExp(`${JOBS} cached, 0 to run`));
      const runs = async (out: string) =>
        JSON.parse(await Deno.readTextFile(join(tmp, out, "results.json"))).runs as Array<
          { predictions: unknown }
        >;
      const [viaSlurm, single] = [await runs("slurm-out"), await runs("direct-out")];
      assert.ok(viaSlurm.length > 0);
      assert.deepEqual(viaSlurm.map((r) => r.predictions), single.map((r) => r.predictions));
      ok = true;
    } finally {
      if (!ok) console.error(await cluster.logs());
      await cluster.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
