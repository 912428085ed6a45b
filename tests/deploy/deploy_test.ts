/**
 * The cluster recipes in deploy/ (docs/cluster.md), checked as far as a
 * machine without Slurm, Kubernetes or a Docker daemon allows: shell syntax;
 * the task-index -> `--shard K/N` arithmetic of deploy/shard.sh, run for every
 * task of several arrays and checked with src/study/shard.ts to cover every
 * job exactly once; the Slurm scripts with stub `sbatch` and `deno`; the
 * Kubernetes manifest parsed as YAML (python3's PyYAML; skipped without it) and
 * validated offline against the API schemas (npm kubernetes-models);
 * the Dockerfile's references.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../_env.ts";
import { parseShard, selectShard } from "../../src/study/shard.ts";

const DEPLOY = join(REPO_ROOT, "deploy");
const SCRIPTS = ["shard.sh", "slurm/study.sbatch", "slurm/submit.sh", "k8s/run.sh"];

async function bash(
  script: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "bash", ...args],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      ...env,
    },
    clearEnv: true,
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deploy scripts: bash -n", async () => {
  for (const s of SCRIPTS) {
    const r = await bash(`bash -n ${JSON.stringify(join(DEPLOY, s))}`);
    assert.equal(r.code, 0, `${s}: ${r.stderr}`);
  }
});

/** K/N of every task of one array, from deploy/shard.sh's nst_shard (one bash for all tasks). */
async function shardsOf(tasks: Array<Record<string, string>>): Promise<string[]> {
  const lines = tasks.map((env) =>
    `(${Object.entries(env).map(([k, v]) => `export ${k}=${v}; `).join("")}nst_shard)`
  );
  const r = await bash(`source deploy/shard.sh\n${lines.join("\n")}`);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n");
}

/** Every job key lands in exactly one of the shards `specs` name. */
function assertCovers(specs: string[], n: number, label: string): void {
  const shards = specs.map(parseShard);
  assert.deepEqual(shards.map((s) => s.count), Array(specs.length).fill(n), `${label}: N`);
  assert.deepEqual(
    shards.map((s) => s.index).sort((a, b) => a - b),
    [...Array(n)].map((_, i) => i + 1),
    `${label}: K`,
  );
  const keys = [...Array(97)].map((_, i) => `style/${(i * 7919) % 1000}/img-${i}`);
  const seen = new Map<string, number>();
  for (const s of shards) {
    for (const k of selectShard(keys, (x) => x, s)) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  assert.equal(seen.size, keys.length, `${label}: every job`);
  assert.ok([...seen.values()].every((c) => c === 1), `${label}: exactly once`);
}

Deno.test("Slurm array ids -> --shard K/N cover every job exactly once", async () => {
  for (const n of [1, 3, 8]) {
    for (const [min, step] of [[1, 1], [0, 1], [10, 2]]) {
      const ids = [...Array(n)].map((_, i) => min + i * step);
      const tasks = ids.map((id) => ({
        SLURM_ARRAY_TASK_ID: `${id}`,
        SLURM_ARRAY_TASK_MIN: `${min}`,
        SLURM_ARRAY_TASK_MAX: `${ids[ids.length - 1]}`,
        SLURM_ARRAY_TASK_STEP: `${step}`,
        SLURM_ARRAY_TASK_COUNT: `${n}`,
      }));
      assertCovers(await shardsOf(tasks), n, `--array=${min}-${ids[ids.length - 1]}:${step}`);
    }
  }
});

Deno.test("Kubernetes completion indexes -> --shard K/N cover every job exactly once", async () => {
  for (const n of [1, 4, 8]) {
    const tasks = [...Array(n)].map((_, i) => ({
      JOB_COMPLETION_INDEX: `${i}`,
      NST_SHARDS: `${n}`,
    }));
    assertCovers(await shardsOf(tasks), n, `completions=${n}`);
  }
});

Deno.test("nst_shard: 1 outside an array, 2 with a clear message on a broken one", async () => {
  const run = (env: string) => bash(`source deploy/shard.sh; ${env} nst_shard`);
  assert.equal((await run("")).code, 1);
  const off = await run(
    "SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=3",
  );
  assert.equal(off.code, 2);
  assert.match(off.stderr, /not on the array's/);
  const k8s = await run("JOB_COMPLETION_INDEX=0");
  assert.equal(k8s.code, 2);
  assert.match(k8s.stderr, /NST_SHARDS/);
  const over = await run("JOB_COMPLETION_INDEX=4 NST_SHARDS=4");
  assert.equal(over.code, 2);
  assert.match(over.stderr, /outside 1\.\.4/);
  assert.equal((await run("NST_SHARD=2/5 JOB_COMPLETION_INDEX=0")).stdout.trim(), "2/5");
});

Deno.test("study.sbatch: shard tasks and the final run call deno task study", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const env = { NST_REPO: REPO_ROOT, NST_DENO: "echo", NST_CACHE: join(tmp, "c"), HOME: tmp };
    const sbatch = join(DEPLOY, "slurm/study.sbatch");
    const shard = await bash(`bash ${sbatch} "$@"`, {
      ...env,
      SLURM_ARRAY_TASK_ID: "3",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_COUNT: "4",
    }, ["--preset", "smoke"]);
    assert.equal(shard.code, 0, shard.stderr);
    assert.match(
      shard.stdout,
      new RegExp(`^task study --shard 3/4 --cache ${tmp}/c --preset smoke$`, "m"),
    );
    const final = await bash(`bash ${sbatch} "$@"`, { ...env, NST_OUT: join(tmp, "o") }, [
      "--preset",
      "smoke",
    ]);
    assert.equal(final.code, 0, final.stderr);
    assert.match(
      final.stdout,
      new RegExp(`^task study --cache ${tmp}/c --out ${tmp}/o --preset smoke$`, "m"),
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("submit.sh: an array of N, then the final run afterok on it", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // A stub sbatch: logs its arguments, answers job ids 101, 102.
    const stub = join(tmp, "sbatch");
    await Deno.writeTextFile(
      stub,
      `#!/usr/bin/env bash\necho "$*" >> ${tmp}/log\nn=$(wc -l < ${tmp}/log)\necho $((100 + n))\n`,
    );
    await Deno.chmod(stub, 0o755);
    const r = await bash(`bash deploy/slurm/submit.sh 6 --preset full`, {
      PATH: `${tmp}:${Deno.env.get("PATH")}`,
    });
    assert.equal(r.code, 0, r.stderr);
    const log = (await Deno.readTextFile(join(tmp, "log"))).trim().split("\n");
    assert.equal(log.length, 2);
    assert.match(log[0], /--array=1-6 .*study\.sbatch --preset full$/);
    assert.match(log[1], /--dependency=afterok:101 .*study\.sbatch --preset full$/);
    assert.match(r.stdout, /job array 101 \(1-6\); final run: job 102/);
    assert.notEqual((await bash(`bash deploy/slurm/submit.sh x`)).code, 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

async function parseYaml(file: string): Promise<K8sObject[] | null> {
  const py = "import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";
  try {
    const out = await new Deno.Command("python3", { args: ["-c", py, file], stderr: "piped" })
      .output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr);
      if (/No module named 'yaml'/.test(err)) return null;
      throw new Error(err);
    }
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

Deno.test("k8s/study.yaml: an Indexed Job of N shards and a final Job on one shared volume", async () => {
  const docs = await parseYaml(join(DEPLOY, "k8s/study.yaml"));
  if (docs === null) {
    console.warn("python3 with PyYAML not found: k8s/study.yaml not parsed");
    return;
  }
  const byName = new Map(docs.map((d) => [d.metadata.name, d]));
  assert.deepEqual(docs.map((d) => d.kind), ["PersistentVolumeClaim", "Job", "Job", "Job"]);
  type Pod = {
    containers: Array<{ command: string[]; env: Array<{ name: string; value: string }> }>;
    volumes: Array<{ persistentVolumeClaim: { claimName: string } }>;
  };
  const pod = (name: string) => (byName.get(name)!.spec.template as { spec: Pod }).spec;
  const env = (name: string) =>
    Object.fromEntries(pod(name).containers[0].env.map((e) => [e.name, e.value]));
  const shards = byName.get("nst-study-shards")!.spec;
  assert.equal(shards.completionMode, "Indexed");
  assert.equal(String(shards.completions), env("nst-study-shards").NST_SHARDS);
  assert.ok((shards.parallelism as number) <= (shards.completions as number));
  const shardCmd = pod("nst-study-shards").containers[0].command.join(" ");
  const finalCmd = pod("nst-study-final").containers[0].command.join(" ");
  assert.match(shardCmd, /source deploy\/shard\.sh/);
  assert.match(shardCmd, /--shard "\$shard" --cache \/shared\/cache\/stylized/);
  assert.doesNotMatch(finalCmd, /--shard/);
  assert.match(finalCmd, /--cache \/shared\/cache\/stylized --out /);
  assert.equal(env("nst-study-shards").NST_STUDY_ARGS, env("nst-study-final").NST_STUDY_ARGS);
  for (const job of ["nst-study-prepare", "nst-study-shards", "nst-study-final"]) {
    assert.equal(pod(job).volumes[0].persistentVolumeClaim.claimName, "nst-shared");
    assert.equal(byName.get(job)!.metadata.labels?.step, job.replace("nst-study-", ""));
  }
  // run.sh waits on these steps by label and name.
  const run = await Deno.readTextFile(join(DEPLOY, "k8s/run.sh"));
  for (const step of ["prepare", "shards", "final"]) assert.match(run, new RegExp(`step ${step}`));
});

Deno.test("Dockerfile: Debian, the pinned Deno, NVIDIA graphics capability, files that exist", async () => {
  const text = await Deno.readTextFile(join(DEPLOY, "Dockerfile"));
  assert.match(text, /^FROM debian:/m);
  assert.match(text, /ARG DENO_VERSION=2\.9\.6/);
  assert.match(text, /NVIDIA_DRIVER_CAPABILITIES=[\w,]*graphics/);
  assert.match(text, /libvulkan1/);
  for (const m of text.matchAll(/^COPY (?!--from)(\S+)/gm)) {
    const src = m[1].replace(/\/$/, "");
    await Deno.stat(join(REPO_ROOT, src)); // throws when missing
  }
  const entry = /--entrypoint ([^\n\\]+)\\\n\s+([^\n]+)/.exec(text)!;
  for (const f of `${entry[1]} ${entry[2]}`.trim().split(/\s+/)) {
    await Deno.stat(join(REPO_ROOT, f));
  }
  JSON.parse(await Deno.readTextFile(join(DEPLOY, "nvidia_icd.json")));
  const tasks = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json"))).tasks;
  assert.ok(tasks.study && tasks.bench, "the tasks the image runs");
});

Deno.test("k8s/study.yaml: every object validates against the Kubernetes API schemas (offline)", async () => {
  // kubernetes-models (npm) bundles the API's JSON schemas and validates without a cluster.
  const { Job } = await import("kubernetes-models/batch/v1");
  const { PersistentVolumeClaim } = await import("kubernetes-models/v1");
  const docs = await parseYaml(join(DEPLOY, "k8s/study.yaml"));
  if (docs === null) {
    console.warn("python3 with PyYAML not found: k8s/study.yaml not validated");
    return;
  }
  const models: Record<string, new (o: never) => { validate(): void }> = {
    "batch/v1 Job": Job,
    "v1 PersistentVolumeClaim": PersistentVolumeClaim,
  };
  assert.ok(docs.length >= 2);
  for (const doc of docs) {
    const Model = models[`${doc.apiVersion} ${doc.kind}`];
    assert.ok(Model, `no schema for ${doc.apiVersion} ${doc.kind}`);
    new Model(doc as never).validate();
  }
  // The validator does reject: a job whose completions is a string.
  const job = docs.find((d) => d.kind === "Job")!;
  assert.throws(
    () => new Job({ ...job, spec: { ...job.spec, completions: "3" } } as never).validate(),
    /completions must be integer/,
  );
});
